-- The seed's timeline query (assignments and conversions per hour of the
-- last :hours hours), verbatim. -D exp=<experiment> -D hours=168
SELECT DATE_TRUNC('hour', assigned_at), COUNT(*), COUNT(converted_at) FROM abtest.assignments WHERE experiment_id = :exp AND assigned_at >= NOW() - INTERVAL '1 hour' * :hours GROUP BY DATE_TRUNC('hour', assigned_at);
