--
-- metric_power: abt_metric_power (the power of each variant's two-sided
-- test at the current sample size, and its MDE at 80%) and abt_sample_size
-- (visitors per variant, for planning), issue 23.
--
-- Checked against:
--   gbstats' tests/test_midexperimentpower.py: its data (n 500, sum
--     499.99999999999994, sum of squares 1499.999999999999 against n 500,
--     525.0000000000008, 1551.2499999999998; here exactly 500, 1500 and
--     525, 1551.25) reach power 0.8 at delta 0.05 after 25.45703125 times
--     more visitors, i.e. at delta 0.05 sqrt(1 + 25.45703125) now;
--   GrowthBook's packages/shared/test/power.test.ts: its revenue metric
--     (mean 0.1, variance 0.5, effect 0.3, 1,500 users per variation a
--     week) first reaches 80% in week 8, its click-through rate (0.1, 0.05)
--     not in 9 weeks; metric_reference.py's sample sizes;
--   consistency: power at mde_at_80 is 0.8; mde_at_80 is the same multiple
--     of every row's standard error (abt_mean_test and abt_proportion_test
--     on abt_metric_stats' sums, capping included);
--   the argument errors, by SQLSTATE.
-- Ids of this file: b9250000-....
--
SET client_min_messages = warning;

\i test/sql/include/sqlstate_of.sql
CREATE FUNCTION pg_temp.e(e int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9250000-0000-0000-0000-%s', lpad(e::text, 12, '0'))::uuid $$;
-- an experiment with one element and variants names, the first the control (control: false, none)
CREATE FUNCTION pg_temp.experiment(e int, names text[], control boolean DEFAULT true) RETURNS void LANGUAGE sql AS $$
    INSERT INTO abtest.experiments (id, name, status) VALUES (pg_temp.e(e), 'power ' || e, 'active');
    INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
    VALUES (format('b9250000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid, pg_temp.e(e), 'el', 1);
    INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
    SELECT format('b9250000-0000-%s-0002-%s', lpad(i::text, 4, '0'), lpad(e::text, 12, '0'))::uuid,
           format('b9250000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid, names[i], control AND i = 1, i
      FROM generate_series(1, array_length(names, 1)) i;
$$;
-- assign visitors prefix1..prefixN to variant i (the others get weight 0 meanwhile)
CREATE FUNCTION pg_temp.assign_to(e int, i int, prefix text, n int) RETURNS bigint LANGUAGE sql AS $$
    UPDATE abtest.element_variants v SET weight = CASE WHEN v.position = i THEN 1 ELSE 0 END
     WHERE v.element_id = format('b9250000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid;
    SELECT count(*) FROM abt_assign_bulk(pg_temp.e(e), ARRAY(SELECT prefix || k FROM generate_series(1, n) k)) b
     WHERE (b.assignment->>'new')::boolean;
$$;

--
-- Planning: abt_sample_size(mean, variance, mde, alpha, power, variants),
-- visitors per variant.  GrowthBook's revenue metric needs 11,730 (its
-- week 8, 12,000, is the first week past 80%; week 7, 10,500, is not);
-- its click-through rate 59,409 (beyond week 9's 13,500).  A conversion
-- rate p has variance p (1 - p).  The number of variants does not change
-- the answer: no correction, and the answer is per variant.
--
SELECT abt_sample_size(0.1, 0.5, 0.3) AS revenue, abt_sample_size(0.1, 0.1 * 0.9, 0.05) AS click_through,
       abt_sample_size(10, 3909.9997749994377, 0.05) AS mean_10,
       abt_sample_size(0.2, 0.16, -0.1, power => 0.9) AS decrease_of_10pct,
       abt_sample_size(50, 2500, 2, alpha => 0.1, power => 0.5) AS large_effect,
       abt_sample_size(0.1, 0.5, 0.3, variants => 5) AS five_variants;
-- STRICT: a NULL argument gives NULL
SELECT abt_sample_size(NULL, 0.5, 0.3) IS NULL AS null_mean, abt_sample_size(0.1, 0.5, 0.3, NULL) IS NULL AS null_alpha;
SELECT pg_temp.sqlstate_of($$SELECT abt_sample_size(0, 0.5, 0.3)$$) AS mean_0,
       pg_temp.sqlstate_of($$SELECT abt_sample_size('NaN', 0.5, 0.3)$$) AS mean_nan,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0, 0.3)$$) AS variance_0,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, -1, 0.3)$$) AS variance_negative,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0.5, 0)$$) AS mde_0,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0.5, 'Infinity')$$) AS mde_infinite,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0.5, 0.3, 0)$$) AS alpha_0,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0.5, 0.3, power => 0.05)$$) AS power_alpha,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0.5, 0.3, power => 1)$$) AS power_1,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0.5, 0.3, variants => 1)$$) AS variants_1,
       pg_temp.sqlstate_of($$SELECT abt_sample_size(0.1, 0.5, 1e-12)$$) AS beyond_bigint;
SELECT abt_sample_size(0.1, 0.5, 0.3, power => 0.01);
SELECT abt_sample_size(0.1, 0.5, 1e-12);

--
-- At the current sample size.  Experiment 1: gbstats' mid-experiment data,
-- A (control) and B, 500 visitors each, 'revenue' with values of exactly
-- its sums (refunds: a trusted caller's), and 'signup' without values.
--
SELECT pg_temp.experiment(1, ARRAY['A', 'B']);
SELECT pg_temp.assign_to(1, 1, 'a', 500) AS a_new, pg_temp.assign_to(1, 2, 'b', 500) AS b_new;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(1), p || i,  'revenue',
                                          CASE WHEN i <= 125 THEN d + 2 WHEN i <= 250 THEN d - 2 ELSE d END))
           AS first_conversions
  FROM (VALUES ('a', 1), ('b', 1.05)) x(p, d), generate_series(1, 500) i;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(1), p || i, 'signup') IS NOT NULL) AS signups
  FROM (VALUES ('a', 40), ('b', 55)) x(p, n), generate_series(1, 500) i WHERE i <= n;
SELECT variant_name, visitors, value_sum, value_sum_squares
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)], goals => '{revenue}') WHERE metric = 'value_per_visitor';
-- rows: each non-control variant and metric ('signup' has no value row);
-- every visitor of both bought: the conversion rate's test, and its power,
-- are NULL (a standard error of 0)
SELECT right(experiment_id::text, 1) AS e, metric, variant_id = 'b9250000-0000-0002-0002-000000000001' AS is_b,
       round(power::numeric, 5) AS power, round(mde_at_80::numeric, 5) AS mde_at_80
  FROM abt_metric_power(ARRAY[pg_temp.e(1)], 'revenue', 0.05);
SELECT metric, round(power::numeric, 5) AS power, round(mde_at_80::numeric, 5) AS mde_at_80
  FROM abt_metric_power(ARRAY[pg_temp.e(1)], 'signup', 0.3);
-- gbstats: 0.8 at delta 0.05 with 25.45703125 times more visitors, i.e. at
-- 0.05 sqrt(1 + 25.45703125) now (the power depends on delta / se, and se on
-- 1/sqrt(n)); its bisection stops within 1e-5 of 0.8
SELECT round(power::numeric, 4) AS gbstats_power, round((mde_at_80 / sqrt(1 + 25.45703125))::numeric, 4) AS gbstats_delta
  FROM abt_metric_power(ARRAY[pg_temp.e(1)], 'revenue', 0.05 * sqrt(1 + 25.45703125)) WHERE metric = 'value_per_visitor';
-- power at mde_at_80 is 0.8; the sign of mde does not matter; a larger
-- alpha has more power; mde 0 has power alpha
SELECT abs(p80.power - 0.8) < 1e-12 AS power_at_mde_80,
       neg.power = pos.power AS symmetric,
       a10.power > pos.power AS larger_alpha_more_power,
       abs(zero.power - 0.05) < 1e-15 AS mde_0_is_alpha
  FROM abt_metric_power(ARRAY[pg_temp.e(1)], 'revenue', 0.05) pos
  JOIN abt_metric_power(ARRAY[pg_temp.e(1)], 'revenue', -0.05) neg USING (variant_id, metric)
  JOIN abt_metric_power(ARRAY[pg_temp.e(1)], 'revenue', 0.05, 0.1) a10 USING (variant_id, metric)
  JOIN abt_metric_power(ARRAY[pg_temp.e(1)], 'revenue', 0) zero USING (variant_id, metric)
  JOIN LATERAL abt_metric_power(ARRAY[pg_temp.e(1)], 'revenue', pos.mde_at_80) p80 USING (variant_id, metric)
 WHERE pos.metric = 'value_per_visitor';

--
-- The same numbers as abt_metric_stats, capping included.  Experiment 2: A,
-- B, C (300 visitors each), random purchases and one of 100,000 in B,
-- 'purchase' capped at P95: the
-- MDE at 80% is z(0.975) + z(0.8) - (the far tail) = 2.8015817870... times
-- each comparison's standard error, the se of abt_mean_test /
-- abt_proportion_test on abt_metric_stats' (capped) sums.
--
SELECT pg_temp.experiment(2, ARRAY['A', 'B', 'C']);
SELECT pg_temp.assign_to(2, 1, 'a', 300) AS a_new, pg_temp.assign_to(2, 2, 'b', 300) AS b_new,
       pg_temp.assign_to(2, 3, 'c', 300) AS c_new;
SELECT setseed(0.25);
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(2), v, 'purchase', round((random() * 50)::numeric, 2) + b))
           AS buyers
  FROM (SELECT p || (1 + floor(random() * 300))::int AS v, b
          FROM (VALUES ('a', 0), ('b', 2), ('c', 5)) x(p, b), generate_series(1, 150)) y;
SELECT abt_convert(pg_temp.e(2), 'b1', 'purchase', 100000) IS NOT NULL AS whale;
INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value) VALUES (pg_temp.e(2), 'purchase', 'percentile', 0.95);
SELECT p.metric, count(*) AS rows,
       bool_and(abs(p.mde_at_80 / t.se - 2.8015817870135789) < 1e-9) AS mde_is_se_multiple,
       bool_and(m.cap IS NOT NULL OR p.metric = 'conversion_rate') AS capped
  FROM abt_metric_power(ARRAY[pg_temp.e(2)], 'purchase', 0.1) p
  JOIN abt_metric_stats(ARRAY[pg_temp.e(2)], goals => '{purchase}') m USING (variant_id, metric)
  JOIN abt_metric_stats(ARRAY[pg_temp.e(2)], goals => '{purchase}') c ON c.metric = p.metric AND c.is_control
  CROSS JOIN LATERAL (
        SELECT * FROM abt_mean_test(c.visitors, c.value_sum::float8, c.value_sum_squares::float8,
                                    m.visitors, m.value_sum::float8, m.value_sum_squares::float8)
         WHERE p.metric = 'value_per_visitor'
        UNION ALL
        SELECT * FROM abt_proportion_test(c.visitors, c.converters, m.visitors, m.converters)
         WHERE p.metric = 'conversion_rate') t
 GROUP BY 1 ORDER BY 1;
-- uncapped, the whale's variance (in B) makes B's MDE on the value metric
-- far larger: no effect short of +7,000% would be seen
DELETE FROM abtest.goals WHERE experiment_id = pg_temp.e(2);
CREATE TEMP TABLE uncapped AS SELECT * FROM abt_metric_power(ARRAY[pg_temp.e(2)], 'purchase', 0.1);
INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value) VALUES (pg_temp.e(2), 'purchase', 'percentile', 0.95);
SELECT p.variant_id = 'b9250000-0000-0002-0002-000000000002' AS is_b, round(p.mde_at_80::numeric, 3) AS capped_mde,
       round(u.mde_at_80::numeric, 3) AS uncapped_mde
  FROM abt_metric_power(ARRAY[pg_temp.e(2)], 'purchase', 0.1) p JOIN uncapped u USING (variant_id, metric)
 WHERE p.metric = 'value_per_visitor' ORDER BY 1;

--
-- Which experiments get rows: an unknown id and an experiment without a
-- control get none; an id twice, one set.
--
SELECT pg_temp.experiment(3, ARRAY['A', 'B'], false);
SELECT count(*) AS rows, count(DISTINCT experiment_id) AS experiments
  FROM abt_metric_power(ARRAY[pg_temp.e(1), pg_temp.e(3), 'b9250000-0000-0000-0000-00000000dead', pg_temp.e(1)],
                        'revenue', 0.05);
SELECT count(*) AS no_ids FROM abt_metric_power('{}', 'revenue', 0.05);

-- argument errors
SELECT pg_temp.sqlstate_of($$SELECT * FROM abt_metric_power(NULL, 'revenue', 0.05)$$) AS ids_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_power('{}', NULL, 0.05)$$) AS goal_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_power('{}', 'revenue', NULL)$$) AS mde_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_power('{}', 'revenue', 'NaN')$$) AS mde_nan,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_power('{}', 'revenue', '-Infinity')$$) AS mde_infinite,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_power('{}', 'revenue', 0.05, 0)$$) AS alpha_0,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_power('{}', 'revenue', 0.05, NULL)$$) AS alpha_null;
SELECT * FROM abt_metric_power('{}', 'revenue', 'NaN');
