--
-- metric_bayesian: abt_metric_stats(engine => 'bayesian') and the prior of
-- each goal in abtest.goals (issue 23).
--
-- Checked against:
--   gbstats' own unit tests (tests/bayesian/test_tests.py, 5 decimals):
--     through abt_metric_stats on visitors built to have exactly their sums
--     (49/100 vs 51/100; n 10, sum 100, sum of squares 1002.25 vs n 10,
--     105, 1111.5, with a flat prior and with a proper N(0.1, 0.1) one);
--   random data: the posterior re-derived here in SQL from the frequentist
--     reference (uplift d and delta-method se: the posterior mean
--     (d/se^2 + m/s^2) / (1/se^2 + 1/s^2), its sd, the credible interval
--     mean -+ 1.959963984540054 sd), the flat prior's chance to win against
--     the frequentist chance to beat, and the risks against their closed
--     forms given the chance to win (E[max(X, 0)] = mu Phi + sd phi;
--     risk_control - risk_variant = mu), within 1e-9;
--   the argument and setting errors, by SQLSTATE.
-- Ids of this file: b9230000-....
--
SET client_min_messages = warning;

\i test/sql/include/sqlstate_of.sql
CREATE FUNCTION pg_temp.e(e int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9230000-0000-0000-0000-%s', lpad(e::text, 12, '0'))::uuid $$;
CREATE FUNCTION pg_temp.v(e int, i int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9230000-0000-0000-0002-%s%s', lpad(e::text, 10, '0'), lpad(i::text, 2, '0'))::uuid $$;
-- an experiment with one element and variants A (control), B, ...
CREATE FUNCTION pg_temp.experiment(e int, names text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO abtest.experiments (id, name, status, seed) VALUES (pg_temp.e(e), 'bayes ' || e, 'active', 'b' || e);
    INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
    VALUES (format('b9230000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid, pg_temp.e(e), 'el', 1);
    INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
    SELECT pg_temp.v(e, i), format('b9230000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid, names[i], i = 1, i
      FROM generate_series(1, array_length(names, 1)) i;
$$;
-- assign visitors prefix1..prefixN to one variant (its siblings get weight 0 meanwhile)
CREATE FUNCTION pg_temp.assign_to(variant uuid, prefix text, n int) RETURNS bigint LANGUAGE sql AS $$
    UPDATE abtest.element_variants v SET weight = CASE WHEN v.id = variant THEN 1 ELSE 0 END
     WHERE v.element_id = (SELECT element_id FROM abtest.element_variants WHERE id = variant);
    SELECT count(*) FROM abt_assign_bulk((SELECT el.experiment_id FROM abtest.experiment_elements el
                                            JOIN abtest.element_variants v ON v.element_id = el.id
                                           WHERE v.id = variant),
                                          ARRAY(SELECT prefix || i FROM generate_series(1, n) i)) b
     WHERE (b.assignment->>'new')::boolean;
$$;

--
-- gbstats TestBinom.test_bayesian_binomial_ab_test: 49/100 vs 51/100,
-- flat prior: expected 0.04082, CI (-0.24779, 0.32943), chance to win
-- 0.60918, risk [0.0814, 0.04058].  p-values are the frequentist
-- engine's: NULL here; the control row has no chance or risk.
--
SELECT pg_temp.experiment(1, ARRAY['A', 'B']);
SELECT pg_temp.assign_to(pg_temp.v(1, 1), 'a', 100) AS a_new, pg_temp.assign_to(pg_temp.v(1, 2), 'b', 100) AS b_new;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(1), 'a' || i, 'signup')) AS a_first FROM generate_series(1, 49) i;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(1), 'b' || i, 'signup')) AS b_first FROM generate_series(1, 51) i;
SELECT metric, variant_name, visitors, converters, round(uplift::numeric, 5) AS expected,
       round(ci_low::numeric, 5) AS ci_low, round(ci_high::numeric, 5) AS ci_high,
       round(chance_to_win::numeric, 5) AS chance_to_win, round(risk_control::numeric, 5) AS risk_control,
       round(risk_variant::numeric, 5) AS risk_variant, p_value, p_value_holm, p_value_bh,
       chance_to_beat_control, is_sequential
  FROM abt_metric_stats(ARRAY[pg_temp.e(1)], engine => 'bayesian');

--
-- gbstats TestNorm: n 10, sum 100, sum of squares 1002.25 (A) against n 10,
-- 105, 1111.5 (B): values with exactly those sums ("revenue").  Flat
-- prior: expected 0.05, CI (-0.02, 0.12), chance 0.91923, risk [0.05131,
-- 0.00131]; GrowthBook's default prior is flat (prior_proper false, mean 0,
-- stddev 0.3 in abtest.goals).
--
SELECT pg_temp.experiment(2, ARRAY['A', 'B']);
SELECT pg_temp.assign_to(pg_temp.v(2, 1), 'a', 10) AS a_new, pg_temp.assign_to(pg_temp.v(2, 2), 'b', 10) AS b_new;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(2), visitor, 'revenue', value)) AS first_conversions
  FROM (VALUES ('a1', 11), ('a2', 9), ('a3', 10.25), ('a4', 9.75), ('a5', 10.25), ('a6', 9.75), ('a7', 10),
               ('a8', 10), ('a9', 10), ('a10', 10),
               ('b1', 12.5), ('b2', 8.5), ('b3', 11), ('b4', 10), ('b5', 11), ('b6', 10), ('b7', 10.5),
               ('b8', 10.5), ('b9', 10.5), ('b10', 10.5)) x(visitor, value);
INSERT INTO abtest.goals (experiment_id, goal) VALUES (pg_temp.e(2), 'revenue');
SELECT prior_proper, prior_mean, prior_stddev, cap_type, cap_value, cap_ignore_zeros
  FROM abtest.goals WHERE experiment_id = pg_temp.e(2);
SELECT variant_name, value_sum, value_sum_squares, round(uplift::numeric, 5) AS expected,
       round(ci_low::numeric, 5) AS ci_low, round(ci_high::numeric, 5) AS ci_high,
       round(chance_to_win::numeric, 5) AS chance_to_win, round(risk_control::numeric, 5) AS risk_control,
       round(risk_variant::numeric, 5) AS risk_variant
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)], engine => 'bayesian') WHERE metric = 'value_per_visitor';
-- test_bayesian_gaussian_ab_test_informative: the prior N(0.1, variance
-- 0.1): expected 0.05063, CI (-0.01893, 0.12019), chance 0.92315, risk
-- [0.05186, 0.00123].  It applies to this goal only, from the next call on.
UPDATE abtest.goals SET prior_proper = true, prior_mean = 0.1, prior_stddev = sqrt(0.1)
 WHERE experiment_id = pg_temp.e(2);
SELECT variant_name, round(uplift::numeric, 5) AS expected,
       round(ci_low::numeric, 5) AS ci_low, round(ci_high::numeric, 5) AS ci_high,
       round(chance_to_win::numeric, 5) AS chance_to_win, round(risk_control::numeric, 5) AS risk_control,
       round(risk_variant::numeric, 5) AS risk_variant
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)], engine => 'bayesian') WHERE metric = 'value_per_visitor';
-- the frequentist rows ignore the prior
SELECT variant_name, round(uplift::numeric, 5) AS uplift, round(p_value::numeric, 5) AS p_value,
       chance_to_win IS NULL AND risk_control IS NULL AND risk_variant IS NULL AS no_bayesian_columns
  FROM abt_metric_stats(ARRAY[pg_temp.e(2)]) WHERE metric = 'value_per_visitor' AND NOT is_control;

--
-- Random data: experiment 3, A (control), B, C; two goals with values
-- (refunds, repeat buyers, NULL values), one without; 'purchase' with a
-- proper prior, 'upgrade' with the flat one.
--
SELECT pg_temp.experiment(3, ARRAY['A', 'B', 'C']);
UPDATE abtest.element_variants SET weight = 1 WHERE element_id = 'b9230000-0000-0000-0001-000000000003';
SELECT count(*) AS new FROM abt_assign_bulk(pg_temp.e(3), ARRAY(SELECT 'r' || i FROM generate_series(1, 900) i)) b
 WHERE (b.assignment->>'new')::boolean;
SELECT setseed(0.23);
CREATE TEMP TABLE events AS
SELECT 'r' || (1 + floor(random() * 900))::int AS visitor,
       (ARRAY['purchase', 'upgrade', 'signup'])[1 + floor(random() * 3)::int] AS goal,
       CASE WHEN random() < 0.1 THEN NULL
            WHEN random() < 0.1 THEN -round((random() * 20)::numeric, 2)
            ELSE round((random() * 80)::numeric, 2) END AS value,
       n
  FROM generate_series(1, 1200) n;
UPDATE events SET value = NULL WHERE goal = 'signup';
SELECT count(*) AS events, count(*) FILTER (WHERE abt_convert(pg_temp.e(3), visitor, goal, value) IS NULL) AS unrecorded
  FROM (SELECT * FROM events ORDER BY n) e;
INSERT INTO abtest.goals (experiment_id, goal, prior_proper, prior_mean, prior_stddev) VALUES
    (pg_temp.e(3), 'purchase', true, 0.05, 0.2), (pg_temp.e(3), 'upgrade', false, 0.7, 0.01),
    (pg_temp.e(3), 'signup', false, 0, 0.3);
CREATE TEMP TABLE freq AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(3)]);
CREATE TEMP TABLE bayes AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(3)], engine => 'bayesian');
CREATE FUNCTION pg_temp.close(a float8, b float8) RETURNS boolean LANGUAGE sql AS
$$ SELECT abs(a - b) <= 1e-9 * greatest(1, abs(b)) $$;
-- the same rows in the same order, sums and moments; 'signup' has no value rows
SELECT (SELECT count(*) FROM freq) AS rows, (SELECT count(*) FROM bayes) AS bayes_rows,
       (SELECT string_agg(DISTINCT goal || ':' || metric, ' ' ORDER BY goal || ':' || metric) FROM bayes) AS metrics,
       (SELECT count(*) FROM (SELECT experiment_id, element_id, variant_id, goal, metric, visitors, converters, value_sum,
                                     value_sum_squares, mean, variance FROM freq
                              EXCEPT ALL
                              SELECT experiment_id, element_id, variant_id, goal, metric, visitors, converters, value_sum,
                                     value_sum_squares, mean, variance FROM bayes) d) AS differ;
-- the posterior from the frequentist reference: d and se from abt_mean_test /
-- abt_proportion_test on the same aggregates (se is what gbstats' effect
-- moments give), the prior of the goal's row
CREATE TEMP TABLE post AS
SELECT b.goal, b.metric, b.variant_id, b.uplift, b.ci_low, b.ci_high, b.chance_to_win, b.risk_control, b.risk_variant,
       b.p_value, b.p_value_holm, b.p_value_bh, b.chance_to_beat_control, t.uplift AS d, t.se,
       t.chance_to_beat_control AS flat_chance, g.prior_proper, g.prior_mean, g.prior_stddev
  FROM bayes b
  JOIN abtest.goals g ON g.experiment_id = b.experiment_id AND g.goal = b.goal
  JOIN bayes c ON c.goal = b.goal AND c.metric = b.metric AND c.is_control
  CROSS JOIN LATERAL (
        SELECT * FROM abt_mean_test(c.visitors, c.value_sum::float8, c.value_sum_squares::float8,
                                    b.visitors, b.value_sum::float8, b.value_sum_squares::float8)
         WHERE b.metric = 'value_per_visitor'
        UNION ALL
        SELECT * FROM abt_proportion_test(c.visitors, c.converters, b.visitors, b.converters)
         WHERE b.metric = 'conversion_rate') t
 WHERE NOT b.is_control;
SELECT goal, metric, count(*) AS compared,
       bool_and(pg_temp.close(uplift, CASE WHEN prior_proper
                                           THEN (d / se ^ 2 + prior_mean / prior_stddev ^ 2) / (1 / se ^ 2 + 1 / prior_stddev ^ 2)
                                           ELSE d END)) AS posterior_mean,
       bool_and(pg_temp.close((ci_high - ci_low) / 2 / 1.959963984540054,
                              CASE WHEN prior_proper THEN 1 / sqrt(1 / se ^ 2 + 1 / prior_stddev ^ 2) ELSE se END))
           AS posterior_sd,
       bool_and(prior_proper OR pg_temp.close(chance_to_win, flat_chance)) AS flat_chance,
       bool_and(pg_temp.close(risk_control - risk_variant, uplift)) AS risk_difference,
       bool_and(pg_temp.close(risk_control,
                              uplift * chance_to_win + (ci_high - ci_low) / 2 / 1.959963984540054
                              * exp(-0.5 * (uplift / ((ci_high - ci_low) / 2 / 1.959963984540054)) ^ 2) / sqrt(2 * pi())))
           AS risk_closed_form,
       bool_and(p_value IS NULL AND p_value_holm IS NULL AND p_value_bh IS NULL AND chance_to_beat_control IS NULL)
           AS no_frequentist_columns
  FROM post WHERE se > 0 GROUP BY 1, 2 ORDER BY 1, 2;
-- the proper prior pulls the estimate toward its mean and narrows the interval
SELECT bool_and(abs(uplift - 0.05) < abs(d - 0.05)) AS toward_prior_mean,
       bool_and((ci_high - ci_low) / 2 / 1.959963984540054 < se) AS narrower
  FROM post WHERE goal = 'purchase' AND se > 0;
-- a comparison without a result (fewer than 2 visitors, control mean 0,
-- se 0) is NULL in both engines; control rows carry no Bayesian columns
SELECT count(*) FILTER (WHERE NOT is_control AND (uplift IS NULL) <> (chance_to_win IS NULL)) AS mismatched_nulls,
       count(*) FILTER (WHERE is_control AND (chance_to_win IS NOT NULL OR risk_control IS NOT NULL
                                                OR risk_variant IS NOT NULL OR uplift IS NOT NULL)) AS control_results
  FROM bayes;
-- the prior is per goal: 'upgrade' (flat, its mean and stddev unused)
-- equals the flat prior's numbers
SELECT bool_and(pg_temp.close(uplift, d) AND pg_temp.close(chance_to_win, flat_chance)) AS upgrade_flat
  FROM post WHERE goal = 'upgrade' AND se > 0;

--
-- Errors.  The engine: NULL 22004, unknown 22023 (names are lower case),
-- with sequential 22023 (the Bayesian engine has no sequential mode).
--
SELECT pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', engine => NULL)$$) AS engine_null,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', engine => 'bootstrap')$$) AS engine_unknown,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', engine => 'Bayesian')$$) AS engine_case,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', sequential => true, engine => 'bayesian')$$)
           AS bayesian_sequential,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats('{}', engine => 'frequentist')$$) AS frequentist;
SELECT * FROM abt_metric_stats('{}', engine => 'bootstrap');
SELECT * FROM abt_metric_stats('{}', sequential => true, engine => 'bayesian');
-- The prior in abtest.goals (CHECK constraints: 23514; NOT NULL: 23502):
-- a finite mean, a finite stddev above 0
SELECT s AS setting, pg_temp.sqlstate_of(format('UPDATE abtest.goals SET %s WHERE experiment_id = %L AND goal = %L',
                                                 s, pg_temp.e(3), 'purchase')) AS sqlstate
  FROM unnest(ARRAY['prior_stddev = 0', 'prior_stddev = -0.3', $$prior_stddev = 'NaN'$$,
                    $$prior_stddev = 'Infinity'$$, $$prior_mean = 'NaN'$$, $$prior_mean = '-Infinity'$$,
                    'prior_mean = NULL', 'prior_proper = NULL', 'prior_stddev = NULL',
                    'prior_mean = -2, prior_stddev = 1e-6', 'prior_proper = false']) s;
-- (terse: the row in the error's detail has a timestamp)
\set VERBOSITY terse
UPDATE abtest.goals SET prior_stddev = 0 WHERE experiment_id = pg_temp.e(3) AND goal = 'purchase';
\set VERBOSITY default
