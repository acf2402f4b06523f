--
-- packed_rollup: a new visitor's per-variant assignments packed into its
-- slot's experiment_timeline row (1.1, issue 22; src/packed_rollup.c).  The
-- two functions of the write, their errors, a new visitor's row, a visitor
-- adding to a row written before 1.1 (NULL arrays), and the fold that
-- unpacks the rows into variant_timeline: abtest.variant_rollups and
-- abt_timeline_variants equal the assignment rows throughout.
-- Ids of this file: 7e000000-....
--
\i test/sql/include/sqlstate_of.sql

-- the merge: sorted union, counts at the union's positions, one more per id added
SELECT abtest.variant_ids_add(NULL, '{7e000000-0000-4000-8000-000000000002}') AS first_ids,
       abtest.variant_counts_add(NULL, NULL, '{7e000000-0000-4000-8000-000000000002}') AS first_counts;
SELECT abtest.variant_ids_add('{7e000000-0000-4000-8000-000000000002,7e000000-0000-4000-8000-000000000004}',
                              '{7e000000-0000-4000-8000-000000000001,7e000000-0000-4000-8000-000000000004,7e000000-0000-4000-8000-000000000005}') AS ids,
       abtest.variant_counts_add('{7e000000-0000-4000-8000-000000000002,7e000000-0000-4000-8000-000000000004}', '{7,9}',
                                 '{7e000000-0000-4000-8000-000000000001,7e000000-0000-4000-8000-000000000004,7e000000-0000-4000-8000-000000000005}') AS counts;
SELECT abtest.variant_counts_add('{7e000000-0000-4000-8000-000000000002}', '{7}', '{}') AS nothing_added,
       abtest.variant_counts_add('{7e000000-0000-4000-8000-000000000002}', '{7}', NULL) AS null_added;

-- errors: ids added out of order or twice, counts that do not match the ids, NULL ids
SELECT pg_temp.sqlstate_of($$SELECT abtest.variant_ids_add(NULL, '{7e000000-0000-4000-8000-000000000002,7e000000-0000-4000-8000-000000000001}')$$) AS unsorted,
       pg_temp.sqlstate_of($$SELECT abtest.variant_counts_add(NULL, NULL, '{7e000000-0000-4000-8000-000000000001,7e000000-0000-4000-8000-000000000001}')$$) AS repeated,
       pg_temp.sqlstate_of($$SELECT abtest.variant_counts_add('{7e000000-0000-4000-8000-000000000001}', '{1,2}', '{}')$$) AS counts_mismatch,
       pg_temp.sqlstate_of($$SELECT abtest.variant_ids_add('{NULL}', '{}')$$) AS null_id;
-- ... and a row's own arrays that a merge cannot trust: ids out of order,
-- a NULL count, a count that would pass bigint's end
SELECT pg_temp.sqlstate_of($$SELECT abtest.variant_counts_add('{7e000000-0000-4000-8000-000000000002,7e000000-0000-4000-8000-000000000001}', '{1,2}', '{}')$$) AS row_unsorted,
       pg_temp.sqlstate_of($$SELECT abtest.variant_counts_add('{7e000000-0000-4000-8000-000000000001}', '{NULL}', '{}')$$) AS null_count,
       pg_temp.sqlstate_of($$SELECT abtest.variant_counts_add('{7e000000-0000-4000-8000-000000000001}', '{9223372036854775807}', '{7e000000-0000-4000-8000-000000000001}')$$) AS count_overflow;

-- the write path: an experiment of two elements
INSERT INTO abtest.experiments (id, name, status)
VALUES ('7e000000-0000-4000-8000-000000000001', 'packed', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('7e000000-0000-4000-8000-000000000011', '7e000000-0000-4000-8000-000000000001', 'h', 1),
    ('7e000000-0000-4000-8000-000000000012', '7e000000-0000-4000-8000-000000000001', 'b', 2);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('7e000000-0000-4000-8000-000000000111', '7e000000-0000-4000-8000-000000000011', 'A', true, 1),
    ('7e000000-0000-4000-8000-000000000112', '7e000000-0000-4000-8000-000000000011', 'B', false, 2),
    ('7e000000-0000-4000-8000-000000000121', '7e000000-0000-4000-8000-000000000012', 'C', true, 1),
    ('7e000000-0000-4000-8000-000000000122', '7e000000-0000-4000-8000-000000000012', 'D', false, 2);

-- 'exact' when the per-variant rollups (the view, and abt_timeline_variants
-- over the last day) equal the assignment rows per variant and bucket
CREATE FUNCTION pg_temp.check() RETURNS text LANGUAGE sql AS $$
    WITH rows AS (
        SELECT v.value::uuid AS variant_id, date_bin('15 minutes', a.assigned_at, '2000-01-01') AS bucket,
               count(*) AS n
          FROM abtest.assignments a, jsonb_each_text(a.variants) v
         WHERE a.experiment_id = '7e000000-0000-4000-8000-000000000001' GROUP BY 1, 2),
    rollups AS (
        SELECT variant_id, bucket, sum(assignments) AS n FROM abtest.variant_rollups
         WHERE experiment_id = '7e000000-0000-4000-8000-000000000001' GROUP BY 1, 2),
    per_variant AS (
        SELECT variant_id, sum(n) AS n FROM rows GROUP BY 1),
    timeline AS (
        SELECT variant_id, sum(assignments) AS n
          FROM abt_timeline_variants('7e000000-0000-4000-8000-000000000001', 24) GROUP BY 1)
    SELECT CASE WHEN NOT EXISTS (SELECT FROM rows FULL JOIN rollups USING (variant_id, bucket)
                                  WHERE rows.n IS DISTINCT FROM rollups.n)
                 AND NOT EXISTS (SELECT FROM per_variant p JOIN timeline t USING (variant_id)
                                  WHERE p.n IS DISTINCT FROM t.n)
                THEN 'exact' ELSE 'MISMATCH' END
$$;

-- one visitor per transaction: the packed row alone, no variant_timeline row
SELECT abt_assign('7e000000-0000-4000-8000-000000000001', 'v' || g) IS NOT NULL FROM generate_series(1, 1) g;
SELECT abt_assign('7e000000-0000-4000-8000-000000000001', 'v2') IS NOT NULL;
SELECT abt_assign('7e000000-0000-4000-8000-000000000001', 'v3') IS NOT NULL;
-- (the settler may fold a row whose bucket closed meanwhile: only what holds either way)
SELECT sum(assignments) AS assignments,
       bool_and(cardinality(variant_ids) <= 4) FILTER (WHERE slot <> 0) AS ids_at_most_four,
       bool_and(cardinality(variant_ids) = cardinality(variant_assignments)) FILTER (WHERE slot <> 0) AS aligned,
       bool_and(variant_ids = (SELECT array_agg(x ORDER BY x) FROM unnest(variant_ids) x))
         FILTER (WHERE slot <> 0) AS sorted
  FROM abtest.experiment_timeline WHERE experiment_id = '7e000000-0000-4000-8000-000000000001';
SELECT count(*) AS variant_timeline_slot_rows FROM abtest.variant_timeline
 WHERE experiment_id = '7e000000-0000-4000-8000-000000000001' AND slot <> 0;
SELECT pg_temp.check();

-- rows as 1.0 wrote them: the slot rows' arrays NULL, their counts in
-- variant_timeline rows of the same slot; the next visitors add to them
WITH unpacked AS (
    UPDATE abtest.experiment_timeline t SET variant_ids = NULL, variant_assignments = NULL
      FROM abtest.experiment_timeline old
     WHERE t.experiment_id = '7e000000-0000-4000-8000-000000000001' AND t.slot <> 0
       AND (old.experiment_id, old.bucket, old.slot) = (t.experiment_id, t.bucket, t.slot)
    RETURNING t.experiment_id, t.bucket, t.slot, old.variant_ids, old.variant_assignments)
INSERT INTO abtest.variant_timeline (experiment_id, variant_id, bucket, slot, assignments)
SELECT u.experiment_id, p.variant_id, u.bucket, u.slot, p.n
  FROM unpacked u, ROWS FROM (unnest(u.variant_ids), unnest(u.variant_assignments)) AS p(variant_id, n);
SELECT pg_temp.check();
SELECT abt_assign('7e000000-0000-4000-8000-000000000001', 'v4') IS NOT NULL;
SELECT abt_assign('7e000000-0000-4000-8000-000000000001', 'v5') IS NOT NULL;
SELECT pg_temp.check();

-- the fold unpacks closed buckets' rows: move them an hour back, fold
BEGIN;
UPDATE abtest.experiment_timeline SET bucket = bucket - interval '1 hour'
 WHERE experiment_id = '7e000000-0000-4000-8000-000000000001';
UPDATE abtest.variant_timeline SET bucket = bucket - interval '1 hour'
 WHERE experiment_id = '7e000000-0000-4000-8000-000000000001';
UPDATE abtest.assignments SET assigned_at = assigned_at - interval '1 hour'
 WHERE experiment_id = '7e000000-0000-4000-8000-000000000001';
COMMIT;
SELECT pg_temp.check();
SELECT 1 AS settled FROM abt_settle('7e000000-0000-4000-8000-000000000001');
SELECT count(*) AS slot_rows_left FROM abtest.experiment_timeline
 WHERE experiment_id = '7e000000-0000-4000-8000-000000000001' AND slot <> 0;
SELECT bool_and(variant_ids IS NULL) AS settled_rows_unpacked FROM abtest.experiment_timeline
 WHERE experiment_id = '7e000000-0000-4000-8000-000000000001';
SELECT sum(assignments) AS settled_variant_assignments FROM abtest.variant_timeline
 WHERE experiment_id = '7e000000-0000-4000-8000-000000000001' AND slot = 0;
SELECT pg_temp.check();

-- a dashboard role granted the tables as 1.0's documents say, not the view:
-- abt_timeline_variants reads the packed rollups for it too
CREATE ROLE abt_packed_reader BYPASSRLS;
GRANT USAGE ON SCHEMA abtest TO abt_packed_reader;
GRANT SELECT ON abtest.experiments, abtest.experiment_elements, abtest.element_variants,
                abtest.assignments, abtest.experiment_timeline, abtest.variant_timeline
    TO abt_packed_reader;
GRANT EXECUTE ON FUNCTION abt_timeline_variants(uuid, integer, interval) TO abt_packed_reader;
SELECT abt_assign('7e000000-0000-4000-8000-000000000001', 'v6') IS NOT NULL;
SET ROLE abt_packed_reader;
SELECT sum(assignments) AS timeline_variants_assignments
  FROM abt_timeline_variants('7e000000-0000-4000-8000-000000000001', 24);
RESET ROLE;
DROP OWNED BY abt_packed_reader;
DROP ROLE abt_packed_reader;

DELETE FROM abtest.experiments WHERE id = '7e000000-0000-4000-8000-000000000001';
