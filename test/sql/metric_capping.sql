--
-- metric_capping: capping of value metrics per goal in abtest.goals
-- (GrowthBook's absolute and percentile capping, issue 23).
--
-- Checked:
--   a regression: one visitor's huge value flips the uncapped result (the
--     variant that wins loses, in both engines), and a P99 cap restores it
--     (docs/analytics.md shows these rows);
--   against a plain SQL computation, exactly (numeric sums, the float8
--     cap): PERCENTILE_CONT over every assigned visitor's total (0 without
--     events), with and without ignoring zeros, a negative cap (refunds),
--     an absolute cap; each visitor's min(y, cap) summed per variant;
--   live and exact: new events move a percentile cap; the same numbers
--     before and after a settler round (abt_settle_counters()); an owner's
--     role reads the same through row-level security;
--   the settings' errors (CHECK constraints: 23514).
-- Ids of this file: b9240000-....
--
SET client_min_messages = warning;
SET extra_float_digits = 1;		-- float8 as text: the shortest exact decimal

\i test/sql/include/sqlstate_of.sql
CREATE FUNCTION pg_temp.e(e int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9240000-0000-0000-0000-%s', lpad(e::text, 12, '0'))::uuid $$;
-- an element (position p) of experiment e with variants named names, the first the control
CREATE FUNCTION pg_temp.element(e int, p int, names text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
    VALUES (format('b9240000-0000-0000-%s-%s', lpad(p::text, 4, '0'), lpad(e::text, 12, '0'))::uuid,
            pg_temp.e(e), 'el' || p, p);
    INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
    SELECT format('b9240000-0000-%s-%s-%s', lpad(i::text, 4, '0'), lpad(p::text, 4, '0'), lpad(e::text, 12, '0'))::uuid,
           format('b9240000-0000-0000-%s-%s', lpad(p::text, 4, '0'), lpad(e::text, 12, '0'))::uuid, names[i], i = 1, i
      FROM generate_series(1, array_length(names, 1)) i;
$$;
-- assign visitors prefix1..prefixN to variant i of element 1 (the others get weight 0 meanwhile)
CREATE FUNCTION pg_temp.assign_to(e int, i int, prefix text, n int) RETURNS bigint LANGUAGE sql AS $$
    UPDATE abtest.element_variants v SET weight = CASE WHEN v.position = i THEN 1 ELSE 0 END
     WHERE v.element_id = format('b9240000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid;
    SELECT count(*) FROM abt_assign_bulk(pg_temp.e(e), ARRAY(SELECT prefix || k FROM generate_series(1, n) k)) b
     WHERE (b.assignment->>'new')::boolean;
$$;

--
-- The whale.  Experiment 1, checkout: 1,000 visitors see A (the control),
-- 1,000 see B; 100 of A's and 150 of B's buy for 10.  B wins.
--
INSERT INTO abtest.experiments (id, name, status) VALUES (pg_temp.e(1), 'checkout', 'active');
SELECT pg_temp.element(1, 1, ARRAY['A', 'B']);
SELECT pg_temp.assign_to(1, 1, 'a', 1000) AS a_new, pg_temp.assign_to(1, 2, 'b', 1000) AS b_new;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(1), v, 'revenue', 10)) AS buyers
  FROM (SELECT 'a' || i FROM generate_series(1, 100) i UNION ALL SELECT 'b' || i FROM generate_series(1, 150) i) x(v);
CREATE FUNCTION pg_temp.revenue(engine text DEFAULT 'frequentist')
RETURNS TABLE (variant text, visitors bigint, mean numeric, uplift numeric, p_value numeric,
               chance_to_win numeric, cap float8) LANGUAGE sql AS $$
    SELECT variant_name, visitors, round(mean::numeric, 2), round(uplift::numeric, 3), round(p_value::numeric, 4),
           round(chance_to_win::numeric, 4), cap
      FROM abt_metric_stats(ARRAY[pg_temp.e(1)], goals => ARRAY['revenue'], engine => engine)
     WHERE metric = 'value_per_visitor';
$$;
SELECT * FROM pg_temp.revenue();
SELECT * FROM pg_temp.revenue('bayesian');
-- one of A's visitors buys for 100,000: A's mean jumps to 101, and B now
-- looks 98.5% worse, "significantly" so (p < 0.0001), with no chance to
-- win.  The owner caps revenue at its 99th percentile of every visitor of
-- the experiment (a visitor without a purchase counts 0): here 10, so the
-- whale counts 10 and B wins again; the cap applies from the next call.
-- (docs/analytics.md shows these statements and their output.)
SELECT abt_convert(pg_temp.e(1), 'a101', 'revenue', 100000) AS whale;
SELECT variant_name AS variant, round(mean::numeric, 2) AS mean, round(uplift::numeric, 3) AS uplift,
       round(p_value::numeric, 4) AS p_value, cap
  FROM abt_metric_stats('{b9240000-0000-0000-0000-000000000001}', goals => '{revenue}')
 WHERE metric = 'value_per_visitor';
SELECT variant_name AS variant, round(uplift::numeric, 3) AS uplift, round(chance_to_win::numeric, 4) AS chance_to_win,
       round(risk_variant::numeric, 4) AS risk_variant, cap
  FROM abt_metric_stats('{b9240000-0000-0000-0000-000000000001}', goals => '{revenue}', engine => 'bayesian')
 WHERE metric = 'value_per_visitor';
INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value)
VALUES ('b9240000-0000-0000-0000-000000000001', 'revenue', 'percentile', 0.99);
SELECT variant_name AS variant, round(mean::numeric, 2) AS mean, round(uplift::numeric, 3) AS uplift,
       round(p_value::numeric, 4) AS p_value, cap
  FROM abt_metric_stats('{b9240000-0000-0000-0000-000000000001}', goals => '{revenue}')
 WHERE metric = 'value_per_visitor';
SELECT variant_name AS variant, round(uplift::numeric, 3) AS uplift, round(chance_to_win::numeric, 4) AS chance_to_win,
       round(risk_variant::numeric, 4) AS risk_variant, cap
  FROM abt_metric_stats('{b9240000-0000-0000-0000-000000000001}', goals => '{revenue}', engine => 'bayesian')
 WHERE metric = 'value_per_visitor';
-- the same as the helper shows them, in both engines
SELECT * FROM pg_temp.revenue();
SELECT * FROM pg_temp.revenue('bayesian');
-- the conversion rate is never capped; the value rows show capped sums
SELECT metric, variant_name, converters, value_sum, value_sum_squares, cap
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)]) ORDER BY metric, variant_name;
-- an absolute cap: at 1,000 the whale still counts 1,000 (A's mean 2.0)
UPDATE abtest.goals SET cap_type = 'absolute', cap_value = 1000 WHERE experiment_id = pg_temp.e(1);
SELECT * FROM pg_temp.revenue();

--
-- Against a plain SQL computation.  Experiment 2: two elements (A, B, C;
-- X, Y), 600 visitors, random events with refunds (trusted caller), repeat
-- buyers and NULL values, and four capped goals: 'purchase' at P90,
-- 'upgrade' at P50 ignoring zeros, 'refund' at P2 (a negative cap: every
-- visitor without events counts the cap), 'tip' at an absolute 25.
--
INSERT INTO abtest.experiments (id, name, status) VALUES (pg_temp.e(2), 'random', 'active');
SELECT pg_temp.element(2, 1, ARRAY['A', 'B', 'C']);
SELECT pg_temp.element(2, 2, ARRAY['X', 'Y']);
UPDATE abtest.element_variants SET weight = 1
 WHERE element_id IN (SELECT id FROM abtest.experiment_elements WHERE experiment_id = pg_temp.e(2));
SELECT count(*) AS new FROM abt_assign_bulk(pg_temp.e(2), ARRAY(SELECT 'r' || i FROM generate_series(1, 600) i)) b
 WHERE (b.assignment->>'new')::boolean;
SELECT setseed(0.24);
CREATE TEMP TABLE events AS
SELECT 'r' || (1 + floor(random() * 600))::int AS visitor,
       (ARRAY['purchase', 'upgrade', 'refund', 'tip'])[1 + floor(random() * 4)::int] AS goal,
       CASE WHEN random() < 0.1 THEN NULL
            WHEN random() < 0.15 THEN -round((random() * 40)::numeric, 3)
            ELSE round((random() * 100)::numeric, 3) END AS value,
       n
  FROM generate_series(1, 900) n;
UPDATE events SET value = -abs(value) WHERE goal = 'refund';
SELECT count(*) AS events, count(*) FILTER (WHERE abt_convert(pg_temp.e(2), visitor, goal, value) IS NULL) AS unrecorded
  FROM (SELECT * FROM events ORDER BY n) e;
CREATE TEMP TABLE uncapped AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(2)]);
INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value, cap_ignore_zeros) VALUES
    (pg_temp.e(2), 'purchase', 'percentile', 0.9, false),
    (pg_temp.e(2), 'upgrade', 'percentile', 0.5, true),
    (pg_temp.e(2), 'refund', 'percentile', 0.02, false),
    (pg_temp.e(2), 'tip', 'absolute', 25, false);
-- every assigned visitor's total per goal (0 without events), the cap as
-- GrowthBook's SQL computes it on PostgreSQL, and min(y, cap) per variant
CREATE FUNCTION pg_temp.reference(exp uuid)
RETURNS TABLE (variant_id uuid, goal text, cap float8, value_sum numeric, value_sum_squares numeric)
LANGUAGE sql AS $$
    WITH totals AS (
        SELECT a.variants, g.goal, coalesce(vg.value_total, 0) AS y
          FROM abtest.assignments a
          JOIN abtest.goals g ON g.experiment_id = a.experiment_id
          LEFT JOIN abtest.visitor_goals vg
            ON vg.experiment_id = a.experiment_id AND vg.user_id = a.user_id AND vg.goal = g.goal
         WHERE a.experiment_id = exp),
    caps AS MATERIALIZED (
        SELECT g.goal,
               CASE g.cap_type
                    WHEN 'absolute' THEN g.cap_value
                    ELSE (SELECT percentile_cont(g.cap_value) WITHIN GROUP (ORDER BY t.y::float8)
                            FROM totals t WHERE t.goal = g.goal AND (NOT g.cap_ignore_zeros OR t.y <> 0)) END AS cap
          FROM abtest.goals g WHERE g.experiment_id = exp)
    SELECT v.value::uuid, t.goal, c.cap, sum(l.y), sum(l.y * l.y)
      FROM totals t JOIN caps c ON c.goal = t.goal,
           LATERAL (SELECT least(t.y, c.cap::text::numeric) AS y) l, jsonb_each_text(t.variants) v
     GROUP BY 1, 2, 3
$$;
CREATE TEMP TABLE capped AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(2)]);
CREATE TEMP TABLE ref AS SELECT * FROM pg_temp.reference(pg_temp.e(2));
CREATE FUNCTION pg_temp.close(a float8, b float8) RETURNS boolean LANGUAGE sql AS
$$ SELECT abs(a - b) <= 1e-12 * greatest(1, abs(b)) $$;
SELECT r.goal, min(r.cap) AS cap, count(*) AS variants,
       bool_and(m.cap = r.cap) AS same_cap,
       bool_and(m.value_sum = r.value_sum AND m.value_sum_squares = r.value_sum_squares) AS exact_sums,
       bool_and(pg_temp.close(m.mean, (r.value_sum / m.visitors)::float8)
                AND pg_temp.close(m.variance,
                                  ((r.value_sum_squares - r.value_sum * r.value_sum / m.visitors) / (m.visitors - 1))::float8))
           AS moments,
       bool_and(m.value_sum <> u.value_sum) AS every_variant_capped
  FROM ref r
  JOIN capped m ON m.variant_id = r.variant_id AND m.goal = r.goal AND m.metric = 'value_per_visitor'
  JOIN uncapped u ON u.variant_id = r.variant_id AND u.goal = r.goal AND u.metric = 'value_per_visitor'
 GROUP BY 1 ORDER BY 1;
-- the conversion rate rows are those of the uncapped call, column for
-- column (their adjusted p-values may move: the family holds the capped
-- value rows too)
SELECT count(*) AS conversion_rows,
       count(*) FILTER (WHERE (c.visitors, c.converters, c.value_sum, c.value_sum_squares, c.mean, c.variance,
                               c.uplift, c.ci_low, c.ci_high, c.p_value, c.chance_to_beat_control, c.cap)
                              IS DISTINCT FROM
                              (u.visitors, u.converters, u.value_sum, u.value_sum_squares, u.mean, u.variance,
                               u.uplift, u.ci_low, u.ci_high, u.p_value, u.chance_to_beat_control, u.cap)) AS differ,
       count(*) FILTER (WHERE c.p_value_holm IS DISTINCT FROM u.p_value_holm) AS holm_moved
  FROM capped c JOIN uncapped u ON u.variant_id = c.variant_id AND u.goal = c.goal AND u.metric = c.metric
 WHERE c.metric = 'conversion_rate';
-- ignoring zeros matters: the same P50 over every visitor is 0
UPDATE abtest.goals SET cap_ignore_zeros = false WHERE experiment_id = pg_temp.e(2) AND goal = 'upgrade';
TRUNCATE ref;
INSERT INTO ref SELECT * FROM pg_temp.reference(pg_temp.e(2));
SELECT DISTINCT m.cap, r.cap AS reference_cap,
       bool_and(m.value_sum = r.value_sum AND m.value_sum_squares = r.value_sum_squares) AS exact_sums
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)], goals => '{upgrade}') m
  JOIN ref r ON r.variant_id = m.variant_id AND r.goal = m.goal
 WHERE m.metric = 'value_per_visitor' GROUP BY 1, 2;
UPDATE abtest.goals SET cap_ignore_zeros = true WHERE experiment_id = pg_temp.e(2) AND goal = 'upgrade';

--
-- Live: the percentile moves with the data.  40 of B's visitors buy for 90
-- each: P90 of 'purchase' rises, and the numbers equal the plain
-- computation again.
--
SELECT count(*) AS new_buyers FROM generate_series(1, 40) i
 WHERE abt_convert(pg_temp.e(2), 'r' || (i * 13), 'purchase', 90) IS NOT NULL;
TRUNCATE ref;
INSERT INTO ref SELECT * FROM pg_temp.reference(pg_temp.e(2));
SELECT m.cap > c.cap AS cap_rose,
       bool_and(m.cap = r.cap AND m.value_sum = r.value_sum AND m.value_sum_squares = r.value_sum_squares) AS exact
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)], goals => '{purchase}') m
  JOIN ref r ON r.variant_id = m.variant_id AND r.goal = m.goal
  JOIN capped c ON c.variant_id = m.variant_id AND c.goal = m.goal AND c.metric = m.metric
 WHERE m.metric = 'value_per_visitor' GROUP BY m.cap, c.cap;

--
-- The settler: a round folds the goal sums of the backends' slots into
-- slot 0; every number of both engines, capped or not, stays the same.
--
CREATE TEMP TABLE before_fold AS
SELECT 'frequentist' AS engine, * FROM abt_metric_stats(ARRAY[pg_temp.e(1), pg_temp.e(2)])
UNION ALL
SELECT 'bayesian', * FROM abt_metric_stats(ARRAY[pg_temp.e(1), pg_temp.e(2)], engine => 'bayesian');
SELECT slot = 0 AS settled, count(*) AS goal_rows FROM abtest.goal_counters
 WHERE experiment_id IN (pg_temp.e(1), pg_temp.e(2)) GROUP BY 1 ORDER BY 1;
SELECT abt_settle_counters() >= 0 AS settled;
SELECT slot = 0 AS settled, count(*) AS goal_rows FROM abtest.goal_counters
 WHERE experiment_id IN (pg_temp.e(1), pg_temp.e(2)) GROUP BY 1 ORDER BY 1;
SELECT (SELECT count(*) FROM before_fold) AS rows,
       (SELECT count(*) FROM (SELECT * FROM before_fold
                              EXCEPT ALL
                              (SELECT 'frequentist', * FROM abt_metric_stats(ARRAY[pg_temp.e(1), pg_temp.e(2)])
                               UNION ALL
                               SELECT 'bayesian', * FROM abt_metric_stats(ARRAY[pg_temp.e(1), pg_temp.e(2)],
                                                                          engine => 'bayesian'))) d)
       AS differ_after_fold;

--
-- Row-level security: the capped call runs as its caller; an owner's role
-- reads its experiment's numbers through the policies of visitor_goals and
-- assignments, and sees the same.
--
CREATE ROLE abt_capping_owner;
GRANT USAGE ON SCHEMA abtest TO abt_capping_owner;
GRANT SELECT ON ALL TABLES IN SCHEMA abtest TO abt_capping_owner;
GRANT EXECUTE ON FUNCTION abt_metric_stats(uuid[], text[], boolean, float8, text, boolean) TO abt_capping_owner;
UPDATE abtest.experiments SET user_id = '00000000-0000-0000-0000-0000000000cc' WHERE id = pg_temp.e(2);
SELECT set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-0000000000cc"}', false) IS NOT NULL AS owner;
SET ROLE abt_capping_owner;
CREATE TEMP TABLE as_owner AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(2), pg_temp.e(1)]);
RESET ROLE;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS reset;
SELECT (SELECT count(*) FROM as_owner WHERE experiment_id = pg_temp.e(2)) AS owner_rows,
       (SELECT count(*) FROM as_owner WHERE experiment_id = pg_temp.e(1) AND status IS NULL) AS other_hidden,
       (SELECT count(*) FROM (SELECT * FROM as_owner WHERE experiment_id = pg_temp.e(2)
                              EXCEPT ALL SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(2)])) d) AS differ;
DROP TABLE as_owner;
DROP OWNED BY abt_capping_owner;
DROP ROLE abt_capping_owner;

--
-- The settings' errors: CHECK constraints (23514).  No capping: no value and
-- no ignoring zeros; absolute: a finite cap above 0 (GrowthBook's 0 means
-- no cap), without ignoring zeros; percentile: in (0, 1).
--
SELECT s AS setting, pg_temp.sqlstate_of(format('UPDATE abtest.goals SET %s WHERE experiment_id = %L AND goal = %L',
                                                 s, pg_temp.e(2), 'tip')) AS sqlstate
  FROM unnest(ARRAY[$$cap_type = 'winsorize'$$, $$cap_type = 'Absolute'$$, 'cap_value = NULL', 'cap_value = 0',
                    'cap_value = -5', $$cap_value = 'Infinity'$$, $$cap_value = 'NaN'$$,
                    'cap_ignore_zeros = true', 'cap_ignore_zeros = NULL', 'cap_type = NULL',
                    $$cap_type = 'percentile', cap_value = 0$$, $$cap_type = 'percentile', cap_value = 1$$,
                    $$cap_type = 'percentile', cap_value = 1.5$$, $$cap_type = 'percentile', cap_value = 'NaN'$$,
                    $$cap_type = 'percentile', cap_value = 0.999, cap_ignore_zeros = true$$,
                    'cap_type = NULL, cap_value = NULL, cap_ignore_zeros = false',
                    $$cap_type = 'absolute', cap_value = 1e300$$]) s;
\set VERBOSITY terse
INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value) VALUES (pg_temp.e(2), 'other', 'percentile', 99);
\set VERBOSITY default
