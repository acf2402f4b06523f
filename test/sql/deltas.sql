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
        SELECT variant_id, sum(assignments) AS n FROM abtest.variant_rollups
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

-- conversions: first conversions and events of many visitors in one
-- statement; converted counts and the goal sums of abt_metric_stats equal
-- what the rows say (converters, the sum of the visitors' totals and of
-- their squares per variant and goal)
CREATE FUNCTION pg_temp.check_conversions() RETURNS text LANGUAGE sql AS $$
    WITH rows AS (
        SELECT v.value::uuid AS variant_id, count(*) FILTER (WHERE a.converted_at IS NOT NULL) AS n
          FROM abtest.assignments a, jsonb_each_text(a.variants) v
         WHERE a.experiment_id = '7d000000-0000-4000-8000-000000000001' GROUP BY 1),
    live AS (
        SELECT t.variant_id, t.total_conversions AS n FROM abtest.variant_totals t JOIN rows USING (variant_id)),
    rollups AS (
        SELECT variant_id, sum(conversions) AS n FROM abtest.variant_rollups
         WHERE experiment_id = '7d000000-0000-4000-8000-000000000001' GROUP BY 1),
    totals AS (
        SELECT c.user_id, c.goal, sum(coalesce(c.value, 0)) AS y FROM abtest.conversions c
         WHERE c.experiment_id = '7d000000-0000-4000-8000-000000000001' GROUP BY 1, 2),
    goal_rows AS (
        SELECT v.value::uuid AS variant_id, t.goal, count(*) AS converters, sum(t.y) AS s, sum(t.y * t.y) AS q
          FROM totals t JOIN abtest.assignments a
            ON a.experiment_id = '7d000000-0000-4000-8000-000000000001' AND a.user_id = t.user_id,
               jsonb_each_text(a.variants) v GROUP BY 1, 2),
    goal_live AS (
        SELECT variant_id, goal, sum(converters) AS converters, sum(value_sum) AS s,
               sum(value_sum_squares) AS q
          FROM abtest.goal_counters WHERE experiment_id = '7d000000-0000-4000-8000-000000000001'
         GROUP BY 1, 2)
    SELECT format('%s converted, %s events: %s',
                  (SELECT count(*) FROM abtest.assignments
                    WHERE experiment_id = '7d000000-0000-4000-8000-000000000001' AND converted_at IS NOT NULL),
                  (SELECT count(*) FROM abtest.conversions
                    WHERE experiment_id = '7d000000-0000-4000-8000-000000000001'),
           CASE WHEN (SELECT count(*) FROM rows r
                       WHERE r.n IS DISTINCT FROM (SELECT l.n FROM live l WHERE l.variant_id = r.variant_id)
                          OR r.n IS DISTINCT FROM (SELECT o.n FROM rollups o WHERE o.variant_id = r.variant_id)) = 0
                 AND (SELECT count(*) FROM goal_rows g FULL JOIN goal_live l USING (variant_id, goal)
                       WHERE g.converters IS DISTINCT FROM l.converters OR g.s IS DISTINCT FROM l.s
                          OR g.q IS DISTINCT FROM l.q) = 0
                THEN 'exact' ELSE 'MISMATCH' END)
$$;
BEGIN;
SELECT count(abt_convert('7d000000-0000-4000-8000-000000000001', 'one-' || g, 'buy', g % 7))
  FROM generate_series(1, 300) g;
SELECT pg_temp.check_conversions();
-- again: later events of the same visitors and goal, then another goal
SELECT count(abt_convert('7d000000-0000-4000-8000-000000000001', 'one-' || g, 'buy', 2.5))
  FROM generate_series(1, 400) g;
SAVEPOINT c;
SELECT count(abt_convert('7d000000-0000-4000-8000-000000000001', 'two-' || g, 'buy', 1))
  FROM generate_series(1, 300) g;
ROLLBACK TO SAVEPOINT c;
SELECT count(abt_convert('7d000000-0000-4000-8000-000000000001', 'two-' || g, 'signup', NULL))
  FROM generate_series(1, 300) g;
COMMIT;
SELECT pg_temp.check_conversions();
SELECT pg_temp.check();

-- abt_convert_bulk: rows in the order given, true for a first conversion,
-- false for a later one, NULL without an assignment; per-row goals, values
-- and times; the counts exact afterwards
SELECT user_id, first_conversion
  FROM abt_convert_bulk('7d000000-0000-4000-8000-000000000001',
                        ARRAY['one-450', 'one-1', 'nobody', 'two-300', 'one-451'],
                        ARRAY['buy', 'buy', 'buy', 'signup', NULL],
                        ARRAY[4, 1.5, 9, NULL, 2]::numeric[],
                        ARRAY[now(), now(), now(), now(), NULL]::timestamptz[]);
SELECT user_id, goal, value FROM abtest.conversions
 WHERE experiment_id = '7d000000-0000-4000-8000-000000000001' AND user_id IN ('one-450', 'one-451')
 ORDER BY user_id;
-- 2,000 events of one statement over the 100 visitors one-401 to one-500,
-- 98 of them not converted yet; the NULL arrays mean the defaults
BEGIN;
SELECT count(*) FILTER (WHERE first_conversion) AS first, count(*) AS rows
  FROM abt_convert_bulk('7d000000-0000-4000-8000-000000000001',
                        ARRAY(SELECT 'one-' || (401 + g % 100) FROM generate_series(1, 2000) g));
-- O(N): the 98 first conversions and 2,000 events wrote the counter rows
-- (4 variants) and the goal sums rows a few times in all, not once per
-- first conversion or event (one write each would be 196 and 4,000)
SELECT relname, n_tup_ins + n_tup_upd < 98 AS fewer_writes_than_first_conversions
  FROM pg_stat_xact_user_tables
 WHERE relid IN ('abtest.variant_counters'::regclass, 'abtest.goal_counters'::regclass)
 ORDER BY relname;
COMMIT;
SELECT pg_temp.check_conversions();
SELECT pg_temp.check();
-- bad arrays: 22023, nothing recorded
SELECT count(*) AS events_before FROM abtest.conversions
 WHERE experiment_id = '7d000000-0000-4000-8000-000000000001' \gset
DO $$
DECLARE state text;
BEGIN
    FOR state IN
        SELECT s FROM (VALUES
            ($q$SELECT * FROM abt_convert_bulk('7d000000-0000-4000-8000-000000000001', ARRAY['one-1', 'one-2'], ARRAY['buy'])$q$),
            ($q$SELECT * FROM abt_convert_bulk('7d000000-0000-4000-8000-000000000001', ARRAY['one-1'], NULL, ARRAY[1, 2]::numeric[])$q$),
            ($q$SELECT * FROM abt_convert_bulk('7d000000-0000-4000-8000-000000000001', ARRAY['one-1'], NULL, NULL, '{}')$q$),
            ($q$SELECT * FROM abt_convert_bulk('7d000000-0000-4000-8000-000000000001', NULL)$q$)) v(s)
    LOOP
        BEGIN
            EXECUTE state;
            RAISE NOTICE 'no error: %', state;
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE NOTICE '22023: %', SQLERRM;
        END;
    END LOOP;
END $$;
SELECT count(*) = :events_before AS nothing_recorded FROM abtest.conversions
 WHERE experiment_id = '7d000000-0000-4000-8000-000000000001';
-- a visitor role (PUBLIC's rights) may not call it: 42501
CREATE ROLE regress_abtest_deltas_visitor;
SET ROLE regress_abtest_deltas_visitor;
SELECT * FROM abt_convert_bulk('7d000000-0000-4000-8000-000000000001', ARRAY['one-1']);
RESET ROLE;

DELETE FROM abtest.experiments WHERE id = '7d000000-0000-4000-8000-000000000001';
DROP ROLE regress_abtest_deltas_visitor;
