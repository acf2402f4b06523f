--
-- goal_sums_restore: the per-goal sums (abtest.visitor_goals,
-- abtest.goal_counters) are derived from the events and assignments by
-- abtest.rebuild_goal_sums(); pg_dump does not keep them, and a restore
-- rebuilds them once it has loaded events (issue 24: a 1.0 dump restored
-- into 1.1 came back with empty sums).  A restore is a session with
-- row_security off (pg_dump and pg_restore set it) writing
-- abtest.conversions or abtest.assignments itself: after each such
-- statement (COPY, INSERT) the sums equal the events'.  In normal
-- operation the trigger does nothing, and a visitor who turns row_security
-- off does not make abt_convert or abt_assign rebuild (their writes run
-- under the owner switch): a hand-written marker row of goal_counters shows
-- whether a rebuild ran.  test/client/goal_sums_restore.sh restores real
-- dumps.  All in one transaction, rolled back: a rebuild replaces the sums
-- of every experiment of the database.  Ids of this file: de570000-....
--
BEGIN;
CREATE ROLE regress_abtest_restore_visitor;

INSERT INTO abtest.experiments (id, name) VALUES ('de570000-0000-0000-0000-000000000001', 'restore');
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
    ('de570000-0000-0000-0001-000000000001', 'de570000-0000-0000-0000-000000000001', 'headline');
INSERT INTO abtest.element_variants (id, element_id, name, is_control) VALUES
    ('de570000-0000-0000-0002-000000000001', 'de570000-0000-0000-0001-000000000001', 'a', true),
    ('de570000-0000-0000-0002-000000000002', 'de570000-0000-0000-0001-000000000001', 'b', false);
UPDATE abtest.experiments SET status = 'active' WHERE id = 'de570000-0000-0000-0000-000000000001';
SELECT count(abt_assign('de570000-0000-0000-0000-000000000001', 'v' || g)) AS assigned
  FROM generate_series(1, 6) g;
SELECT count(abt_convert('de570000-0000-0000-0000-000000000001', 'v' || g, 'purchase', g * 1.5)) AS converted
  FROM generate_series(1, 6) g;
SELECT count(abt_convert('de570000-0000-0000-0000-000000000001', 'v' || g, 'purchase', NULL)) AS converted
  FROM generate_series(1, 3) g;

-- The sums against the events they derive from ('' when equal): per visitor
-- and goal, and per variant and goal summed over slots.
CREATE FUNCTION pg_temp.mismatches() RETURNS text LANGUAGE sql AS $$
WITH y AS (
    SELECT c.user_id, c.goal, sum(coalesce(c.value, 0)) AS y, count(*) AS events, a.variants
      FROM abtest.conversions c
      JOIN abtest.assignments a ON a.experiment_id = c.experiment_id AND a.user_id = c.user_id
     WHERE c.experiment_id = 'de570000-0000-0000-0000-000000000001'
     GROUP BY c.user_id, c.goal, a.variants),
d AS (
    SELECT v.value::uuid AS variant_id, y.goal, count(*) AS n, sum(y.y) AS s, sum(y.y * y.y) AS q
      FROM y, jsonb_each_text(y.variants) v GROUP BY 1, 2),
t AS (
    SELECT variant_id, goal, sum(converters) AS n, sum(value_sum) AS s, sum(value_sum_squares) AS q
      FROM abtest.goal_counters WHERE experiment_id = 'de570000-0000-0000-0000-000000000001'
     GROUP BY 1, 2),
g AS (
    SELECT user_id, goal, value_total, events FROM abtest.visitor_goals
     WHERE experiment_id = 'de570000-0000-0000-0000-000000000001')
SELECT concat_ws('; ',
    (SELECT string_agg(format('%s %s: sums %s/%s/%s, events %s/%s/%s', coalesce(t.variant_id, d.variant_id),
                              coalesce(t.goal, d.goal), t.n, t.s, t.q, d.n, d.s, d.q), '; ')
       FROM t FULL JOIN d USING (variant_id, goal)
      WHERE (t.n, t.s, t.q) IS DISTINCT FROM (d.n, d.s, d.q)),
    (SELECT string_agg(format('visitor %s %s: %s/%s, events %s/%s', coalesce(g.user_id, y.user_id),
                              coalesce(g.goal, y.goal), g.value_total, g.events, y.y, y.events), '; ')
       FROM g FULL JOIN y USING (user_id, goal)
      WHERE (g.value_total, g.events) IS DISTINCT FROM (y.y, y.events)))
$$;
-- A row no event accounts for: only a rebuild removes it.
CREATE FUNCTION pg_temp.put_marker() RETURNS void LANGUAGE sql AS $$
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares)
VALUES ('de570000-0000-0000-0000-000000000001', 0, 'de570000-0000-0000-0002-000000000001', 'marker', 99, 99, 99)
$$;
CREATE FUNCTION pg_temp.marker() RETURNS text LANGUAGE sql AS $$
SELECT CASE WHEN EXISTS (SELECT FROM abtest.goal_counters WHERE goal = 'marker')
            THEN 'marker kept (no rebuild)' ELSE 'marker gone (rebuilt)' END
$$;

-- abt_convert keeps the sums live
SELECT pg_temp.mismatches() AS live_sums_mismatches;

-- not dumped: derived data (every other table of the schema is)
SELECT c.relname, c.oid = ANY (x.extconfig) AS dumped
  FROM pg_class c, pg_extension x
 WHERE x.extname = 'abtest' AND c.relnamespace = 'abtest'::regnamespace
   AND c.relname IN ('conversions', 'assignments', 'visitor_goals', 'goal_counters')
 ORDER BY 1;
-- the triggers: after each INSERT (or COPY) statement on the two tables
SELECT tgrelid::regclass AS table_name, tgname, tgfoid::regproc AS function,
       (tgtype & 1) = 0 AS per_statement, (tgtype & 2) = 0 AS after, (tgtype & 4) <> 0 AS on_insert,
       (tgtype & (8 | 16 | 32)) = 0 AS only_insert
  FROM pg_trigger WHERE tgname = 'goal_sums_after_restore' ORDER BY 1;

SELECT pg_temp.put_marker();

-- normal operation (row_security on): a trusted caller's own INSERT into
-- conversions changes no sum (abt_convert is what keeps them)
INSERT INTO abtest.conversions (experiment_id, user_id, goal, value)
VALUES ('de570000-0000-0000-0000-000000000001', 'v1', 'direct', 4);
SELECT pg_temp.marker();
SELECT count(*) AS direct_visitor_rows FROM abtest.visitor_goals WHERE goal = 'direct';

-- row_security off in a visitor's session: abt_convert and abt_assign write
-- as usual and rebuild nothing
SET row_security = off;
SET ROLE regress_abtest_restore_visitor;
SELECT abt_convert('de570000-0000-0000-0000-000000000001', 'v2', 'purchase', 3) AS converted;
SELECT (abt_assign('de570000-0000-0000-0000-000000000001', 'v7')->>'new')::boolean AS new_visitor;
SELECT abt_convert('de570000-0000-0000-0000-000000000001', 'v7', 'signup') AS converted;
RESET ROLE;
SELECT pg_temp.marker();
-- nor as the superuser: abtest's functions write under the owner switch
SELECT abt_convert('de570000-0000-0000-0000-000000000001', 'v3', 'purchase', 2) AS converted;
SELECT pg_temp.marker();
-- the visitor may not call the rebuild itself
SELECT p.oid::regprocedure AS function,
       has_function_privilege('regress_abtest_restore_visitor', p.oid, 'EXECUTE') AS visitor_may_execute
  FROM pg_proc p WHERE p.pronamespace = 'abtest'::regnamespace AND p.proname = 'rebuild_goal_sums';

-- a restore's COPY (row_security off, loading events itself): the sums are
-- rebuilt from every event, the hand-inserted 'direct' one included, into
-- slot 0
COPY abtest.conversions (experiment_id, user_id, goal, value) FROM stdin;
de570000-0000-0000-0000-000000000001	v4	purchase	10.25
de570000-0000-0000-0000-000000000001	v4	refund	-3
de570000-0000-0000-0000-000000000001	v5	purchase	\N
de570000-0000-0000-0000-000000000001	nobody	purchase	8
\.
SELECT pg_temp.marker();
SELECT pg_temp.mismatches() AS restored_sums_mismatches;
SELECT goal, sum(events) AS events, sum(value_total) AS value_total
  FROM abtest.visitor_goals WHERE experiment_id = 'de570000-0000-0000-0000-000000000001'
 GROUP BY goal ORDER BY goal;
SELECT slot, count(*) AS goal_counter_rows FROM abtest.goal_counters
 WHERE experiment_id = 'de570000-0000-0000-0000-000000000001' GROUP BY slot;

-- an INSERT into assignments (pg_dump --inserts, or assignments loaded
-- after the events): rebuilt again; the new visitor's earlier event counts
SELECT pg_temp.put_marker();
INSERT INTO abtest.assignments (experiment_id, user_id, variants)
SELECT 'de570000-0000-0000-0000-000000000001', 'nobody', variants
  FROM abtest.assignments WHERE experiment_id = 'de570000-0000-0000-0000-000000000001' AND user_id = 'v1';
SELECT pg_temp.marker();
SELECT pg_temp.mismatches() AS restored_sums_mismatches;
SELECT value_total, events FROM abtest.visitor_goals
 WHERE experiment_id = 'de570000-0000-0000-0000-000000000001' AND user_id = 'nobody';
RESET row_security;

-- after the restore, a visitor's next event continues from its rebuilt total
SELECT abt_convert('de570000-0000-0000-0000-000000000001', 'v4', 'purchase', 1.75) AS converted;
SELECT value_total, events FROM abtest.visitor_goals
 WHERE experiment_id = 'de570000-0000-0000-0000-000000000001' AND user_id = 'v4' AND goal = 'purchase';
SELECT pg_temp.mismatches() AS sums_mismatches_after_restore;
ROLLBACK;
