/*
 * abtest-indexes-concurrently.sql: the seed plan's indexes, built without
 * blocking writes.  Run with psql, outside a transaction block, by the owner
 * of the abtest tables:
 *
 *     psql -d yourdb -f sql/abtest-indexes-concurrently.sql
 *
 * CREATE EXTENSION abtest builds these indexes itself (plainly: CREATE INDEX
 * CONCURRENTLY cannot run inside the extension's script, which is one
 * transaction).  This script is for large live tables: after dropping one of
 * them to bulk-load assignments, or to replace an invalid index left behind
 * by an interrupted build (drop that one with DROP INDEX CONCURRENTLY first).
 * Every statement is a no-op where the index exists.
 */
\set ON_ERROR_STOP on

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_elements_experiment_covering
    ON abtest.experiment_elements (experiment_id) INCLUDE (id, name, selector);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_variants_element_covering
    ON abtest.element_variants (element_id) INCLUDE (total_allocations, total_conversions, conversion_rate);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_assignments_assigned_at_brin
    ON abtest.assignments USING BRIN (assigned_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_experiments_active
    ON abtest.experiments (user_id, created_at DESC)
    WHERE status = 'active';
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_assignments_unconverted
    ON abtest.assignments (experiment_id, assigned_at DESC)
    WHERE converted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_leads_status_created
    ON abtest.leads (status, created_at DESC);

-- An index an interrupted build left invalid is not used by queries: list any.
SELECT c.relname AS invalid_index
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'abtest' AND NOT i.indisvalid;
