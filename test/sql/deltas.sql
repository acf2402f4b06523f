--
-- deltas: many new visitors in one transaction (issue 22).  The first new
-- visitor of an experiment in a transaction counts in its own statement;
-- later ones keep their counts in the backend (src/deltas.c), written
-- before any query that reads the counter or rollup tables and before
-- commit.  Whatever the shape, the live totals and the rollups equal the
-- assignment rows: within the transaction after each statement, after a
-- savepoint rolled back (its visitors and their counts gone, the counts
-- written inside it pending again), inside a PL/pgSQL loop, after commit.
-- Ids of this file: 7d000000-....
--
INSERT INTO abtest.experiments (id, name, status)
VALUES ('7d000000-0000-4000-8000-000000000001', 'deltas', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('7d000000-0000-4000-8000-000000000011', '7d000000-0000-4000-8000-000000000001', 'h', 1),
    ('7d000000-0000-4000-8000-000000000012', '7d000000-0000-4000-8000-000000000001', 'b', 2);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('7d000000-0000-4000-8000-000000000111', '7d000000-0000-4000-8000-000000000011', 'A', true, 1),
    ('7d000000-0000-4000-8000-000000000112', '7d000000-0000-4000-8000-000000000011', 'B', false, 2),
    ('7d000000-0000-4000-8000-000000000121', '7d000000-0000-4000-8000-000000000012', 'C', true, 1),
    ('7d000000-0000-4000-8000-000000000122', '7d000000-0000-4000-8000-000000000012', 'D', false, 2);

-- 'exact' when every count equals the rows: per variant (variant_totals,
-- abt_variant_stats, the variant rollups) and per experiment (its rollups)
CREATE FUNCTION pg_temp.check() RETURNS text LANGUAGE sql AS $$
    WITH rows AS (
        SELECT v.value::uuid AS variant_id, count(*) AS n
          FROM abtest.assignments a, jsonb_each_text(a.variants) v
         WHERE a.experiment_id = '7d000000-0000-4000-8000-000000000001' GROUP BY 1),
    live AS (
        SELECT t.variant_id, t.total_allocations AS n FROM abtest.variant_totals t
          JOIN rows USING (variant_id)),
    stats AS (
        SELECT s.variant_id, s.allocations AS n
          FROM abt_variant_stats(ARRAY['7d000000-0000-4000-8000-000000000001'::uuid]) s),
    rollups AS (
        SELECT variant_id, sum(assignments) AS n FROM abtest.variant_timeline
         WHERE experiment_id = '7d000000-0000-4000-8000-000000000001' GROUP BY 1)
    SELECT format('%s visitors: %s', (SELECT count(*) FROM abtest.assignments
                                       WHERE experiment_id = '7d000000-0000-4000-8000-000000000001'),
           CASE WHEN (SELECT count(*) FROM rows r
                       WHERE r.n IS DISTINCT FROM (SELECT l.n FROM live l WHERE l.variant_id = r.variant_id)
                          OR r.n IS DISTINCT FROM (SELECT s.n FROM stats s WHERE s.variant_id = r.variant_id)
                          OR r.n IS DISTINCT FROM (SELECT o.n FROM rollups o WHERE o.variant_id = r.variant_id)) = 0
                 AND (SELECT count(*) FROM abtest.assignments
                       WHERE experiment_id = '7d000000-0000-4000-8000-000000000001')
                     = (SELECT coalesce(sum(assignments), 0) FROM abtest.experiment_timeline
                         WHERE experiment_id = '7d000000-0000-4000-8000-000000000001')
                THEN 'exact' ELSE 'MISMATCH' END)
$$;

BEGIN;
SELECT count(abt_assign('7d000000-0000-4000-8000-000000000001', 'one-' || g)) FROM generate_series(1, 500) g;
SELECT pg_temp.check();
-- 500 new visitors wrote each counter row at most twice (their first
-- statement, then the deltas), not once per visitor
SELECT n_tup_ins + n_tup_upd <= 8 AS counter_rows_written_twice_at_most
  FROM pg_stat_xact_user_tables WHERE relid = 'abtest.variant_counters'::regclass;
SELECT count(abt_assign('7d000000-0000-4000-8000-000000000001', 'two-' || g)) FROM generate_series(1, 300) g;
SAVEPOINT s;
SELECT count(abt_assign('7d000000-0000-4000-8000-000000000001', 'three-' || g)) FROM generate_series(1, 200) g;
SELECT pg_temp.check();
ROLLBACK TO SAVEPOINT s;
SELECT pg_temp.check();
-- deltas counted before a savepoint and written inside it (by the read
-- above) are pending again once it is rolled back
SELECT count(abt_assign('7d000000-0000-4000-8000-000000000001', 'four-' || g)) FROM generate_series(1, 100) g;
SAVEPOINT t;
SELECT pg_temp.check();
ROLLBACK TO SAVEPOINT t;
COMMIT;
SELECT pg_temp.check();

-- a PL/pgSQL loop, an error caught in it (its subtransaction's visitor and
-- count gone), a read of the totals inside the loop
DO $$
DECLARE
    r text;
BEGIN
    FOR i IN 1..50 LOOP
        PERFORM abt_assign('7d000000-0000-4000-8000-000000000001', 'five-' || i);
        IF i % 10 = 0 THEN
            BEGIN
                PERFORM abt_assign('7d000000-0000-4000-8000-000000000001', 'six-' || i);
                RAISE EXCEPTION 'undone';
            EXCEPTION WHEN raise_exception THEN
                NULL;
            END;
        END IF;
        IF i = 25 THEN
            SELECT pg_temp.check() INTO r;
            RAISE NOTICE 'in the loop: %', r;
        END IF;
    END LOOP;
END $$;
SELECT pg_temp.check();

-- the counts commit with the visitors or not at all
BEGIN;
SELECT count(abt_assign('7d000000-0000-4000-8000-000000000001', 'seven-' || g)) FROM generate_series(1, 100) g;
ROLLBACK;
SELECT pg_temp.check();

-- the settler's fold meets pending deltas: they are written first
BEGIN;
SELECT count(abt_assign('7d000000-0000-4000-8000-000000000001', 'eight-' || g)) FROM generate_series(1, 100) g;
SELECT experiments FROM abt_settle('7d000000-0000-4000-8000-000000000001');
SELECT pg_temp.check();
COMMIT;
SELECT pg_temp.check();

DELETE FROM abtest.experiments WHERE id = '7d000000-0000-4000-8000-000000000001';
