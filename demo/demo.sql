-- Placeholder demo (scripts/demo runs this with psql -f); the lead replaces it.
CREATE EXTENSION abtest;
SELECT extversion FROM pg_extension WHERE extname = 'abtest';
