--
-- metrics: abt_metric_stats, abt_mean_test, abt_proportion_test, the
-- per-goal sums abt_convert keeps, and the first conversion's plan.
--
-- Checked against:
--   GrowthBook's published values (gbstats' unit tests, quoted in issue 9)
--     through the pure functions and through abt_metric_stats on visitors
--     built to have exactly those sums (values found offline: 40 and 60
--     visitors whose cent values have the sum and the sum of squares);
--   an independent reference for random data: the gbstats formulas
--     re-derived here in SQL (means, variances, uplift, delta-method se,
--     Welch dof, the sequential interval and p-value, Holm and BH by window
--     functions) from the events themselves (abtest.conversions grouped per
--     visitor), within 1e-9; the fixed-horizon p-value and interval need
--     Student's t (unit-tested in test/unit/metric_math_test.c): they are
--     compared with abt_mean_test / abt_proportion_test fed with the SQL
--     aggregates.
-- Ids of this file: b9000000-....
--
SET client_min_messages = warning;

\i test/sql/include/sqlstate_of.sql

-- steer new visitors of an element to one variant (weight 1, siblings 0)
CREATE FUNCTION pg_temp.steer(variant uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE abtest.element_variants v
       SET weight = CASE WHEN v.id = variant THEN 1 ELSE 0 END
     WHERE v.element_id = (SELECT element_id FROM abtest.element_variants WHERE id = variant);
$$;
-- assign visitors prefix1..prefixN (new ones counted)
CREATE FUNCTION pg_temp.assign(exp uuid, prefix text, n int) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM abt_assign_bulk(exp, ARRAY(SELECT prefix || i FROM generate_series(1, n) i)) b
     WHERE (b.assignment->>'new')::boolean;
$$;
-- an experiment with one element and variants A (control), B, ... (names given)
CREATE FUNCTION pg_temp.experiment(e int, names text[], control boolean DEFAULT true) RETURNS void LANGUAGE sql AS $$
    INSERT INTO abtest.experiments (id, name, status, seed)
    VALUES (format('b9000000-0000-0000-0000-%s', lpad(e::text, 12, '0'))::uuid, 'metrics ' || e, 'active', 'm' || e);
    INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
    VALUES (format('b9000000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid,
            format('b9000000-0000-0000-0000-%s', lpad(e::text, 12, '0'))::uuid, 'el', 1);
    INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
    SELECT format('b9000000-0000-0000-0002-%s%s', lpad(e::text, 10, '0'), lpad(i::text, 2, '0'))::uuid,
           format('b9000000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid, names[i], control AND i = 1, i
      FROM generate_series(1, array_length(names, 1)) i;
$$;
CREATE FUNCTION pg_temp.e(e int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9000000-0000-0000-0000-%s', lpad(e::text, 12, '0'))::uuid $$;
CREATE FUNCTION pg_temp.v(e int, i int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9000000-0000-0000-0002-%s%s', lpad(e::text, 10, '0'), lpad(i::text, 2, '0'))::uuid $$;

--
-- The engine on GrowthBook's published values (gbstats' own unit tests):
-- mean metric A = (3407, 1396.87, 52377.9767), B = (3461, 2422.7,
-- 134698.29): uplift 0.70732, se 0.37879, dof 5841.74, p 0.06191,
-- CI (-0.03526, 1.44989); proportion 14/28 vs 16/30: uplift 0.06667,
-- p 0.80707, CI (-0.47767, 0.61101).
--
SELECT round(uplift::numeric, 5) AS uplift, round(se::numeric, 5) AS se, round(dof::numeric, 2) AS dof,
       round(p_value::numeric, 5) AS p_value, round(ci_low::numeric, 5) AS ci_low, round(ci_high::numeric, 5) AS ci_high
  FROM abt_mean_test(3407, 1396.87, 52377.9767, 3461, 2422.7, 134698.29);
SELECT round(uplift::numeric, 5) AS uplift, round(p_value::numeric, 5) AS p_value,
       round(ci_low::numeric, 5) AS ci_low, round(ci_high::numeric, 5) AS ci_high
  FROM abt_proportion_test(28, 14, 30, 16);
-- sequential: wider than the fixed interval, larger p; N* widens it further
-- when N is far below it
SELECT s.ci_low < f.ci_low AND s.ci_high > f.ci_high AS wider, s.p_value > f.p_value AS larger_p,
       round(s.p_value::numeric, 5) AS seq_p, round(s.ci_low::numeric, 5) AS seq_ci_low,
       round(s.ci_high::numeric, 5) AS seq_ci_high
  FROM abt_mean_test(3407, 1396.87, 52377.9767, 3461, 2422.7, 134698.29, true) s,
       abt_mean_test(3407, 1396.87, 52377.9767, 3461, 2422.7, 134698.29, false) f;
-- the SQL default of tuning is the setting's default (one value, two places)
SELECT pg_get_function_arguments('abt_mean_test'::regproc) LIKE '%tuning double precision DEFAULT ' ||
       current_setting('abtest.sequential_tuning') || ',%' AS mean_tuning_default,
       pg_get_function_arguments('abt_proportion_test'::regproc) LIKE '%tuning double precision DEFAULT ' ||
       current_setting('abtest.sequential_tuning') || ',%' AS proportion_tuning_default;
-- the NULL cases: fewer than 2 visitors on a side, control mean 0, se 0
SELECT 'n_b = 1' AS "case", uplift, p_value, ci_low, chance_to_beat_control, mean_b FROM abt_mean_test(10, 5, 5, 1, 1, 1)
UNION ALL SELECT 'n_a = 0', uplift, p_value, ci_low, chance_to_beat_control, mean_b FROM abt_proportion_test(0, 0, 10, 5)
UNION ALL SELECT 'control mean 0', uplift, p_value, ci_low, chance_to_beat_control, mean_b FROM abt_proportion_test(10, 0, 10, 5)
UNION ALL SELECT 'se 0', uplift, p_value, ci_low, chance_to_beat_control, mean_b FROM abt_mean_test(10, 20, 40, 10, 30, 90)
UNION ALL SELECT 'sequential, se 0', uplift, p_value, ci_low, chance_to_beat_control, mean_b FROM abt_mean_test(10, 20, 40, 10, 30, 90, true)
UNION ALL SELECT 'NULL argument', uplift, p_value, ci_low, chance_to_beat_control, mean_b FROM abt_mean_test(10, 20, 40, 10, NULL, 90);
-- argument errors
SELECT pg_temp.sqlstate_of($$SELECT abt_proportion_test(10, 1, 10, 2, false, 0)$$) AS alpha_0,
       pg_temp.sqlstate_of($$SELECT abt_proportion_test(10, 1, 10, 2, false, 1)$$) AS alpha_1,
       pg_temp.sqlstate_of($$SELECT abt_proportion_test(10, 1, 10, 2, true, 0.05, 0)$$) AS tuning_0,
       pg_temp.sqlstate_of($$SELECT abt_proportion_test(10, 1, 10, 2, true, 0.05, 'NaN')$$) AS tuning_nan;

--
-- The same values through abt_metric_stats, from real events.  Experiment
-- 1: control A with 3407 visitors, B with 3461.  The first 40 of A and 60 of
-- B buy ("purchase") for the cent values found offline; every other buyer
-- buys in two events (value + 10, then a refund of -10: y is the visitor's
-- sum), some also send an event without a value (counts 0).  Per event
-- squares would give other sums: value_sum_squares is per visitor.
--
SELECT pg_temp.experiment(1, ARRAY['A', 'B']);
SELECT pg_temp.steer(pg_temp.v(1, 1));
SELECT pg_temp.assign(pg_temp.e(1), 'a', 3407) AS a_new;
SELECT pg_temp.steer(pg_temp.v(1, 2));
SELECT pg_temp.assign(pg_temp.e(1), 'b', 3461) AS b_new;
CREATE TEMP TABLE buys (visitor text, value numeric);
INSERT INTO buys
SELECT 'a' || i, v FROM unnest(ARRAY[47.16, 29.07, 45.81, 47.15, 24.71, 34.71, 36.60, 42.54, 21.99, 43.36, 9.69, 36.86,
    31.94, 34.35, 41.93, 33.50, 41.09, 44.62, 20.40, 45.84, 33.74, 27.12, 56.13, 27.99, 34.29, 33.81, 40.61, 34.73, 33.78,
    36.93, 24.22, 21.49, 44.69, 32.30, 31.27, 44.86, 14.28, 34.11, 41.39, 35.81]) WITH ORDINALITY x(v, i)
UNION ALL
SELECT 'b' || i, v FROM unnest(ARRAY[30.25, 52.32, 94.22, 0.01, 5.38, 26.96, 39.57, 54.97, 71.83, 9.22, 65.44, 22.63,
    15.35, 32.67, 41.95, 52.30, 14.05, 22.59, 51.15, 10.20, 42.12, 44.55, 23.54, 48.29, 53.83, 27.59, 64.05, 64.14, 49.48,
    35.73, 15.16, 60.53, 43.91, 61.27, 90.93, 48.28, 51.61, 80.77, 39.21, 39.62, 18.41, 3.10, 37.83, 5.85, 38.51, 12.70,
    47.06, 91.67, 76.24, 38.26, 8.73, 21.46, 21.12, 14.46, 46.30, 52.37, 13.51, 52.31, 110.87, 14.27]) WITH ORDINALITY x(v, i);
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(1), visitor, 'purchase', value + CASE WHEN n % 2 = 0 THEN 10 ELSE 0 END))
           AS first_conversions
  FROM (SELECT b.*, row_number() OVER (ORDER BY visitor) AS n FROM buys b) b;
SELECT count(*) AS refunds, count(*) FILTER (WHERE abt_convert(pg_temp.e(1), visitor, 'purchase', -10)) AS first
  FROM (SELECT b.*, row_number() OVER (ORDER BY visitor) AS n FROM buys b) b WHERE n % 2 = 0;
SELECT count(*) AS without_value FROM buys
 WHERE abt_convert(pg_temp.e(1), visitor, 'purchase') IS NOT NULL AND visitor LIKE '%7';
SELECT metric, variant_name, is_control, visitors, converters, value_sum, value_sum_squares,
       round(mean::numeric, 6) AS mean, round(variance::numeric, 6) AS variance,
       round(uplift::numeric, 5) AS uplift, round(ci_low::numeric, 5) AS ci_low, round(ci_high::numeric, 5) AS ci_high,
       round(p_value::numeric, 5) AS p_value, round(chance_to_beat_control::numeric, 5) AS ctb,
       round(p_value_holm::numeric, 5) AS holm, round(p_value_bh::numeric, 5) AS bh, is_sequential
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)]);
-- the family of experiment 1: its two non-control rows, p 0.06191 and the
-- conversion rate's p: Holm min(1, 2 p_min), then max with p_max; BH
SELECT metric, round(p_value::numeric, 6) AS p, round(p_value_holm::numeric, 6) AS holm,
       round(p_value_bh::numeric, 6) AS bh,
       abs(p_value_holm - CASE WHEN p_value = min(p_value) OVER () THEN least(1, 2 * p_value)
                               ELSE greatest(p_value, least(1, 2 * min(p_value) OVER ())) END) < 1e-12 AS holm_ok,
       abs(p_value_bh - CASE WHEN p_value = max(p_value) OVER () THEN p_value
                             ELSE least(2 * p_value, max(p_value) OVER ()) END) < 1e-12 AS bh_ok
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)]) WHERE NOT is_control;

-- Experiment 2: the proportion reference, 14/28 vs 16/30 ("signup", no values)
SELECT pg_temp.experiment(2, ARRAY['A', 'B']);
SELECT pg_temp.steer(pg_temp.v(2, 1));
SELECT pg_temp.assign(pg_temp.e(2), 'a', 28) AS a_new;
SELECT pg_temp.steer(pg_temp.v(2, 2));
SELECT pg_temp.assign(pg_temp.e(2), 'b', 30) AS b_new;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(2), 'a' || i, 'signup')) AS a_first FROM generate_series(1, 14) i;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(2), 'b' || i, 'signup')) AS b_first FROM generate_series(1, 16) i;
SELECT metric, variant_name, visitors, converters, round(mean::numeric, 6) AS mean,
       round(uplift::numeric, 5) AS uplift, round(p_value::numeric, 5) AS p_value,
       round(ci_low::numeric, 5) AS ci_low, round(ci_high::numeric, 5) AS ci_high, p_value_holm IS NULL AS holm_null
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)], goals => ARRAY['signup']);

--
-- Which rows, and the NULL rules.
--
-- unknown ids: one row with the id alone; a repeated id once; the order given
SELECT experiment_id, status, goal, metric, variant_name
  FROM abt_metric_stats(ARRAY[pg_temp.e(2), 'b9000000-0000-0000-0000-00000000dead', pg_temp.e(2)], goals => ARRAY['signup'])
 WHERE metric IS DISTINCT FROM 'value_per_visitor';
-- goals: as given (duplicates once), unknown goals with zero sums (and no values: no
-- value_per_visitor rows); NULL: every goal with events
SELECT goal, metric, variant_name, visitors, converters, value_sum, mean
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)], goals => ARRAY['nothing', 'signup', 'nothing']);
SELECT DISTINCT goal FROM abt_metric_stats(ARRAY[pg_temp.e(1), pg_temp.e(2)]) ORDER BY 1;
-- an empty goals array, or an experiment without events: one row with its status
SELECT experiment_id, status, goal FROM abt_metric_stats(ARRAY[pg_temp.e(2)], goals => '{}');
-- an experiment whose only element has no variant, asked for a goal: the same one row
INSERT INTO abtest.experiments (id, name, status) VALUES (pg_temp.e(8), 'metrics 8', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES ('b9000000-0000-0000-0001-000000000008', pg_temp.e(8), 'el', 1);
SELECT experiment_id, status, goal FROM abt_metric_stats(ARRAY[pg_temp.e(8)], goals => ARRAY['purchase']);
-- experiment 3: no control; experiment 4: control and B with one visitor each, C empty
SELECT pg_temp.experiment(3, ARRAY['A', 'B'], false);
SELECT experiment_id, status, goal FROM abt_metric_stats(ARRAY[pg_temp.e(3)]);
SELECT pg_temp.assign(pg_temp.e(3), 'x', 20) AS new;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(3), 'x' || i, 'purchase', i)) FROM generate_series(1, 10) i;
SELECT count(*) AS rows, count(uplift) AS uplifts, count(p_value_holm) AS holm, count(p_value_bh) AS bh,
       count(mean) AS means FROM abt_metric_stats(ARRAY[pg_temp.e(3)]);
SELECT pg_temp.experiment(4, ARRAY['A', 'B', 'C']);
SELECT pg_temp.steer(pg_temp.v(4, 1));
SELECT pg_temp.assign(pg_temp.e(4), 'a', 1) AS a_new;
SELECT pg_temp.steer(pg_temp.v(4, 2));
SELECT pg_temp.assign(pg_temp.e(4), 'b', 1) AS b_new;
SELECT abt_convert(pg_temp.e(4), 'a1', 'purchase', 5), abt_convert(pg_temp.e(4), 'b1', 'purchase', 7);
SELECT metric, variant_name, visitors, converters, mean, variance, uplift, p_value, p_value_holm
  FROM abt_metric_stats(ARRAY[pg_temp.e(4)]);
-- a goal whose events carry no value ('signup') has no value_per_visitor
-- rows (they would show mean 0 and no test); a control mean of 0 or an se
-- of 0 leave the test NULL, and out of the family
SELECT metric, variant_name, round(mean::numeric, 4) AS mean, uplift IS NULL AS uplift_null,
       p_value IS NULL AS p_null, p_value_holm IS NULL AS holm_null
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)]) WHERE NOT is_control;
-- argument errors
SELECT pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats(NULL)$$) AS ids_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats(ARRAY[NULL::uuid])$$) AS id_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', ARRAY[NULL])$$) AS goal_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', NULL, NULL)$$) AS sequential_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', NULL, false, 1.5)$$) AS alpha_out,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', NULL, false, NULL)$$) AS alpha_null;
SELECT count(*) AS no_ids FROM abt_metric_stats('{}');

--
-- Sequential: abtest.sequential_tuning is N*; is_sequential says which kind.
--
SELECT DISTINCT is_sequential FROM abt_metric_stats(ARRAY[pg_temp.e(1)], sequential => true);
SELECT abs(m.p_value - t.p_value) < 1e-12 AS same_p, abs(m.ci_low - t.ci_low) < 1e-12 AS same_ci
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)], sequential => true) m,
       abt_mean_test(3407, 1396.87, 52377.9767, 3461, 2422.7, 134698.29, true) t
 WHERE m.metric = 'value_per_visitor' AND NOT m.is_control;
SET abtest.sequential_tuning = 100000;
SELECT abs(m.p_value - t.p_value) < 1e-12 AS same_p_tuned, abs(m.ci_low - t.ci_low) < 1e-12 AS same_ci_tuned
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)], sequential => true) m,
       abt_mean_test(3407, 1396.87, 52377.9767, 3461, 2422.7, 134698.29, true, 0.05, 100000) t
 WHERE m.metric = 'value_per_visitor' AND NOT m.is_control;
RESET abtest.sequential_tuning;
SELECT pg_temp.sqlstate_of($$SET abtest.sequential_tuning = 0$$) AS tuning_0;
-- alpha: 0.1 narrows the fixed interval
SELECT m.ci_high - m.ci_low < f.ci_high - f.ci_low AS narrower
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)], alpha => 0.1) m, abt_metric_stats(ARRAY[pg_temp.e(1)]) f
 WHERE m.metric = f.metric AND m.variant_id = f.variant_id AND NOT m.is_control;

--
-- Random data against the formulas re-derived in SQL.  Experiment 5: two
-- elements (A control, B, C; X control, Y): every family row spans both
-- elements, two goals and both metrics.  Visitors assigned by the real path,
-- events with random values (some NULL, some refunds, repeat buyers).
--
SELECT pg_temp.experiment(5, ARRAY['A', 'B', 'C']);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES ('b9000000-0000-0000-0001-000000000055', pg_temp.e(5), 'el2', 2);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('b9000000-0000-0000-0002-000000005501', 'b9000000-0000-0000-0001-000000000055', 'X', true, 1),
    ('b9000000-0000-0000-0002-000000005502', 'b9000000-0000-0000-0001-000000000055', 'Y', false, 2);
SELECT pg_temp.assign(pg_temp.e(5), 'r', 900) AS new;
SELECT setseed(0.42);
CREATE TEMP TABLE events AS
SELECT 'r' || (1 + floor(random() * 900))::int AS visitor,
       CASE WHEN random() < 0.7 THEN 'purchase' ELSE 'signup' END AS goal,
       CASE WHEN random() < 0.15 THEN NULL
            WHEN random() < 0.1 THEN -round((random() * 30)::numeric, 2)
            ELSE round((random() * 100)::numeric, 3) END AS value,
       n
  FROM generate_series(1, 700) n;
-- and a real effect: a third of C's visitors buy once more, for 40
INSERT INTO events
SELECT a.user_id, 'purchase', 40, 1000 + row_number() OVER (ORDER BY a.user_id)
  FROM abtest.assignments a
 WHERE a.experiment_id = pg_temp.e(5) AND a.variants->>'b9000000-0000-0000-0001-000000000005' = pg_temp.v(5, 3)::text
   AND random() < 0.33;
SELECT count(*) AS events, count(DISTINCT visitor) AS visitors,
       count(*) FILTER (WHERE abt_convert(pg_temp.e(5), visitor, goal, value) IS NULL) AS unrecorded
  FROM (SELECT * FROM events ORDER BY n) e;
CREATE TEMP TABLE ref AS
WITH n AS (
    SELECT v.key::uuid AS element_id, v.value::uuid AS variant_id, count(*) AS n
      FROM abtest.assignments a, jsonb_each_text(a.variants) v
     WHERE a.experiment_id = pg_temp.e(5) GROUP BY 1, 2),
y AS (
    SELECT user_id, goal, sum(coalesce(value, 0)) AS y
      FROM abtest.conversions WHERE experiment_id = pg_temp.e(5) GROUP BY 1, 2),
g AS (
    SELECT y.goal, v.value::uuid AS variant_id, count(*) AS c, sum(y.y) AS s, sum(y.y * y.y) AS q
      FROM y JOIN abtest.assignments a ON a.experiment_id = pg_temp.e(5) AND a.user_id = y.user_id,
           jsonb_each_text(a.variants) v
     GROUP BY 1, 2),
cells AS (
    SELECT n.element_id, n.variant_id, ev.is_control, goals.goal, n.n, coalesce(g.c, 0) AS c,
           coalesce(g.s, 0) AS s, coalesce(g.q, 0) AS q
      FROM n JOIN abtest.element_variants ev ON ev.id = n.variant_id
      CROSS JOIN (SELECT DISTINCT goal FROM y) goals
      LEFT JOIN g ON g.goal = goals.goal AND g.variant_id = n.variant_id),
moments AS (
    SELECT cells.*, 'conversion_rate' AS metric, c::float8 / n AS mean,
           (c::float8 / n) * (1 - c::float8 / n) AS var FROM cells
    UNION ALL
    SELECT cells.*, 'value_per_visitor', (s / n)::float8, ((q - s * s / n) / (n - 1))::float8 FROM cells),
pairs AS (
    SELECT b.*, a.n AS n_a, a.mean AS mean_a, a.var AS var_a, a.c AS c_a, a.s AS s_a, a.q AS q_a
      FROM moments b JOIN moments a
        ON a.element_id = b.element_id AND a.goal = b.goal AND a.metric = b.metric AND a.is_control),
effects AS (
    SELECT pairs.*, (mean - mean_a) / abs(mean_a) AS uplift,
           sqrt(var / (n * mean_a ^ 2) + var_a * mean ^ 2 / (n_a * mean_a ^ 4)) AS se,
           (var / n + var_a / n_a) ^ 2 / ((var / n) ^ 2 / (n - 1) + (var_a / n_a) ^ 2 / (n_a - 1)) AS dof,
           (n + n_a)::float8 AS big_n,
           (-2 * ln(0.05) + ln(-2 * ln(0.05) + 1)) / 5000 AS rho2
      FROM pairs WHERE NOT is_control AND mean_a <> 0)
SELECT effects.*,
       -- the sequential interval: s = se sqrt(N)
       se * sqrt(big_n) * sqrt(2 * (big_n * rho2 + 1) * ln(sqrt(big_n * rho2 + 1) / 0.05) / (big_n ^ 2 * rho2))
           AS seq_half,
       least(1, 1 / (exp(rho2 * (uplift ^ 2 * big_n / se ^ 2) / (2 * (big_n * rho2 + 1))) / sqrt(big_n * rho2 + 1)))
           AS seq_p
  FROM effects WHERE se > 0;
SELECT count(*) AS reference_rows, count(DISTINCT goal) AS goals, count(DISTINCT element_id) AS elements FROM ref;
CREATE FUNCTION pg_temp.close(a float8, b float8) RETURNS boolean LANGUAGE sql AS
$$ SELECT abs(a - b) <= 1e-9 * greatest(1, abs(b)) $$;
-- fixed horizon: every column against the reference
CREATE TEMP TABLE fixed AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(5)]);
SELECT count(*) AS rows, count(*) FILTER (WHERE f.is_control) AS control_rows,
       count(r.variant_id) AS compared,
       count(*) FILTER (WHERE NOT f.is_control AND r.variant_id IS NULL) AS unreferenced,
       bool_and(f.visitors = r.n AND f.converters = r.c AND f.value_sum = r.s AND f.value_sum_squares = r.q)
           AS sums_exact,
       bool_and(pg_temp.close(f.mean, r.mean) AND pg_temp.close(f.variance, r.var)) AS moments,
       bool_and(pg_temp.close(f.uplift, r.uplift)) AS uplift,
       bool_and(pg_temp.close((f.ci_high - f.ci_low) / 2 / r.se,
                              (t.ci_high - t.ci_low) / 2 / t.se) AND pg_temp.close(t.se, r.se)) AS se,
       bool_and(pg_temp.close(f.p_value, t.p_value) AND pg_temp.close(f.ci_low, t.ci_low)
                AND pg_temp.close(f.ci_high, t.ci_high)
                AND pg_temp.close(f.chance_to_beat_control, t.chance_to_beat_control)) AS p_ci_ctb,
       bool_and(pg_temp.close(t.dof, r.dof)) AS dof
  FROM fixed f
  LEFT JOIN ref r ON r.variant_id = f.variant_id AND r.goal = f.goal AND r.metric = f.metric
  LEFT JOIN LATERAL (
        SELECT * FROM abt_mean_test(r.n_a, r.s_a::float8, r.q_a::float8, r.n, r.s::float8, r.q::float8)
         WHERE r.metric = 'value_per_visitor'
        UNION ALL
        SELECT * FROM abt_proportion_test(r.n_a, r.c_a, r.n, r.c) WHERE r.metric = 'conversion_rate') t ON true;
-- rows without a result are exactly those the NULL rules name
SELECT count(*) AS null_uplift_rows,
       bool_and(p_value IS NULL AND p_value_holm IS NULL AND p_value_bh IS NULL) AS all_null
  FROM fixed WHERE NOT is_control AND uplift IS NULL;
-- Holm and BH over the family (every non-control row with a p-value)
WITH fam AS (
    SELECT f.*, count(*) OVER () AS m, row_number() OVER (ORDER BY p_value) AS r
      FROM fixed f WHERE NOT is_control AND p_value IS NOT NULL),
adj AS (
    SELECT fam.*,
           max(least(1, p_value * (m - r + 1))) OVER (ORDER BY p_value ROWS UNBOUNDED PRECEDING) AS holm,
           min(least(1, p_value * m / r)) OVER (ORDER BY p_value DESC ROWS UNBOUNDED PRECEDING) AS bh
      FROM fam)
SELECT max(m) AS family, bool_and(pg_temp.close(p_value_holm, holm)) AS holm, bool_and(pg_temp.close(p_value_bh, bh)) AS bh,
       bool_and(p_value_holm >= p_value - 1e-12 AND p_value_bh >= p_value - 1e-12) AS not_below_p,
       count(*) FILTER (WHERE p_value_holm < 0.05) AS holm_significant,
       count(*) FILTER (WHERE p_value_bh < 0.05) AS bh_significant
  FROM adj;
-- sequential: interval and p-value against the reference, entirely in SQL
SELECT count(*) AS compared,
       bool_and(pg_temp.close(s.ci_high - s.uplift, r.seq_half) AND pg_temp.close(s.uplift - s.ci_low, r.seq_half))
           AS seq_interval,
       bool_and(pg_temp.close(s.p_value, r.seq_p)) AS seq_p,
       bool_and(s.ci_high - s.ci_low > f.ci_high - f.ci_low) AS wider_than_fixed
  FROM abt_metric_stats(ARRAY[pg_temp.e(5)], sequential => true) s
  JOIN ref r ON r.variant_id = s.variant_id AND r.goal = s.goal AND r.metric = s.metric
  JOIN fixed f ON f.variant_id = s.variant_id AND f.goal = s.goal AND f.metric = s.metric;
-- one call for several experiments: each experiment's rows and family as alone
SELECT count(*) AS rows,
       bool_and(a.p_value_holm IS NOT DISTINCT FROM s.p_value_holm AND a.p_value_bh IS NOT DISTINCT FROM s.p_value_bh
                AND a.uplift IS NOT DISTINCT FROM s.uplift) AS same_as_alone
  FROM abt_metric_stats(ARRAY[pg_temp.e(1), pg_temp.e(5)]) a
  JOIN fixed s ON s.variant_id = a.variant_id AND s.goal = a.goal AND s.metric = a.metric;

--
-- Many digits (up to the bound of event values, 1e15) and refunds stay
-- exact (numeric sums); NaN and infinity are rejected; a rolled-back event
-- leaves nothing.
--
SELECT pg_temp.experiment(6, ARRAY['A', 'B']);
SELECT pg_temp.steer(pg_temp.v(6, 1));
SELECT pg_temp.assign(pg_temp.e(6), 'a', 2) AS a_new;
SELECT abt_convert(pg_temp.e(6), 'a1', 'purchase', 123456789012345.000000000000000001),
       abt_convert(pg_temp.e(6), 'a1', 'purchase', -0.000000000000000001),
       abt_convert(pg_temp.e(6), 'a2', 'purchase', -5.5);
BEGIN;
SELECT abt_convert(pg_temp.e(6), 'a2', 'purchase', 1000);
ROLLBACK;
SELECT pg_temp.sqlstate_of($$SELECT abt_convert(pg_temp.e(6), 'a2', 'purchase', 'NaN')$$) AS nan,
       pg_temp.sqlstate_of($$SELECT abt_convert(pg_temp.e(6), 'a2', 'purchase', 'Infinity')$$) AS inf;
SELECT variant_name, visitors, converters, value_sum, value_sum_squares
  FROM abt_metric_stats(ARRAY[pg_temp.e(6)]) WHERE metric = 'value_per_visitor';
SELECT user_id, goal, value_total, events FROM abtest.visitor_goals WHERE experiment_id = pg_temp.e(6) ORDER BY 1;

--
-- Row-level security: an owner sees their own experiments' metrics only
-- (the function runs as the caller).
--
CREATE ROLE abt_metrics_owner;
GRANT USAGE ON SCHEMA abtest TO abt_metrics_owner;
GRANT SELECT ON ALL TABLES IN SCHEMA abtest TO abt_metrics_owner;
GRANT EXECUTE ON FUNCTION abt_metric_stats(uuid[], text[], boolean, float8, text, boolean) TO abt_metrics_owner;
UPDATE abtest.experiments SET user_id = '00000000-0000-0000-0000-0000000000aa' WHERE id = pg_temp.e(6);
CREATE FUNCTION pg_temp.as_owner() RETURNS void LANGUAGE sql AS
$$ SELECT set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-0000000000aa"}', false) $$;
SELECT pg_temp.as_owner();
SET ROLE abt_metrics_owner;
SELECT right(experiment_id::text, 1) AS e, status, count(*) AS rows, sum(converters) AS converters
  FROM abt_metric_stats(ARRAY[pg_temp.e(6), pg_temp.e(1)]) GROUP BY 1, 2 ORDER BY 1;
RESET ROLE;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS reset;
-- PUBLIC may not call it
SELECT has_function_privilege('public', 'abt_metric_stats(uuid[], text[], boolean, float8, text, boolean)', 'EXECUTE') AS public_stats,
       has_function_privilege('public', 'abt_mean_test(bigint, float8, float8, bigint, float8, float8, boolean, float8, float8)', 'EXECUTE') AS public_mean_test;

--
-- The first conversion's plan does not depend on the statistics: 20,000
-- bulk-assigned visitors, none converted, before and after the first
-- ANALYZE.  The real call, counted by the index scans of its transaction:
-- the lookup's one scan of the primary key, and no scan of
-- idx_assignments_unconverted (the UPDATE goes by the ctid the lookup
-- read).  And the UPDATE as abt_convert prepares it (generic plan): a TID
-- scan both times.
--
SELECT pg_temp.experiment(7, ARRAY['A', 'B']);
SELECT pg_temp.assign(pg_temp.e(7), 'p', 20000) AS new;
PREPARE first_conversion(uuid, text, tid) AS
UPDATE abtest.assignments SET converted_at = now()
 WHERE ctid OPERATOR(pg_catalog.=) $3 AND experiment_id OPERATOR(pg_catalog.=) $1
   AND user_id OPERATOR(pg_catalog.=) $2 AND converted_at IS NULL;
SET plan_cache_mode = force_generic_plan;
-- (index scans counted by the backend's pending statistics: the difference
-- over the call, within one transaction, is the call's)
CREATE FUNCTION pg_temp.first_conversion_scans(visitor text) RETURNS TABLE (first boolean, index text, scans bigint)
LANGUAGE plpgsql AS $$
DECLARE
    before bigint[];
    f boolean;
BEGIN
    SELECT array_agg(pg_stat_get_xact_numscans(i) ORDER BY i::text) INTO before
      FROM unnest(ARRAY['abtest.idx_assignments_lookup'::regclass, 'abtest.idx_assignments_unconverted']) i;
    f := abt_convert(pg_temp.e(7), visitor, 'purchase', 1);
    RETURN QUERY SELECT f, i::text, pg_stat_get_xact_numscans(i) - before[o]
                   FROM unnest(ARRAY['abtest.idx_assignments_lookup'::regclass, 'abtest.idx_assignments_unconverted'])
                        WITH ORDINALITY x(i, o)
                  ORDER BY 2;
END $$;
SELECT * FROM pg_temp.first_conversion_scans('p1');
EXPLAIN (COSTS OFF) EXECUTE first_conversion(pg_temp.e(7), 'p2', '(0,1)');
ANALYZE abtest.assignments;
SELECT * FROM pg_temp.first_conversion_scans('p2');
EXPLAIN (COSTS OFF) EXECUTE first_conversion(pg_temp.e(7), 'p2', '(0,1)');
RESET plan_cache_mode;
DEALLOCATE first_conversion;

-- The settler's fold moves the per-goal sums of the slots into slot 0 (as
-- it does the variant counters) and changes no number of abt_metric_stats.
CREATE TEMP TABLE metrics_before_fold AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(3), pg_temp.e(4)]);
SELECT slot = 0 AS settled, count(*) AS goal_rows FROM abtest.goal_counters
 WHERE experiment_id IN (pg_temp.e(3), pg_temp.e(4)) GROUP BY 1 ORDER BY 1;
SELECT sum(experiments) AS experiments, sum(rows_folded) > 0 AS folded
  FROM (SELECT * FROM abt_settle(pg_temp.e(3)) UNION ALL SELECT * FROM abt_settle(pg_temp.e(4))) s;
SELECT slot = 0 AS settled, count(*) AS goal_rows FROM abtest.goal_counters
 WHERE experiment_id IN (pg_temp.e(3), pg_temp.e(4)) GROUP BY 1 ORDER BY 1;
SELECT (SELECT count(*) FROM metrics_before_fold) AS rows,
       (SELECT count(*) FROM (SELECT * FROM metrics_before_fold
                              EXCEPT ALL SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(3), pg_temp.e(4)])) d)
       AS differ_after_fold;

DROP OWNED BY abt_metrics_owner;
DROP ROLE abt_metrics_owner;
