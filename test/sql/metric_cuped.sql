--
-- metric_cuped: CUPED in abt_metric_stats (issue 20): GrowthBook's
-- regression adjustment of conversion_rate and value_per_visitor on each
-- visitor's pre-exposure covariate, for goals with a cuped_lookback.
--
-- The covariate sums of abtest.goal_counters (covariate_visitors, ...,
-- cross_converters; their meaning is the schema's) are written here by
-- INSERT as superuser: this is test data for the statistics, the sums a
-- write path keeps, not a stand-in for it (abt_track's own tests check
-- that it writes them).  Outcome sums come from real events where the
-- test says so.
--
-- Checked:
--   a random three-variant experiment (test/unit/cuped_reference.py made
--     the sums and ran gbstats' own code on them: compute_theta,
--     TwoSidedTTest, SequentialTwoSidedTTest, EffectBayesianABTest):
--     every adjusted number within 1e-9 relative of gbstats', fixed,
--     sequential and Bayesian; Holm and BH over the adjusted p-values;
--     mean unadjusted, covariate_mean; a goal without lookback unadjusted;
--   cuped => false gives today's numbers (abt_mean_test / abt_proportion_test
--     on the same sums) with cuped false and theta NULL;
--   cuped false where covariate_visitors does not cover every visitor of
--     both variants (1.0 data: 0; a lookback declared late: fewer), and for
--     a capped value metric (docs/analytics.md, "CUPED");
--   the variance reduction on simulated data with rho = 0.7 (generated
--     deterministically here from md5, outcomes through real abt_convert
--     events): the adjusted interval is about sqrt(1 - rho^2) as wide as the
--     unadjusted one (docs/analytics.md shows these rows);
--   cuped_lookback's bounds (CHECK: 23514), the argument's NULL (22004).
-- Ids of this file: b9200000-....
--
SET client_min_messages = warning;

\i test/sql/include/sqlstate_of.sql
CREATE FUNCTION pg_temp.e(e int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9200000-0000-0000-0000-%s', lpad(e::text, 12, '0'))::uuid $$;
CREATE FUNCTION pg_temp.v(e int, i int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT format('b9200000-0000-%s-0001-%s', lpad(i::text, 4, '0'), lpad(e::text, 12, '0'))::uuid $$;
-- experiment e with one element whose variants are named names, the first the control
CREATE FUNCTION pg_temp.experiment(e int, name text, names text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO abtest.experiments (id, name, status) VALUES (pg_temp.e(e), name, 'active');
    INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
    VALUES (format('b9200000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid, pg_temp.e(e), 'el', 1);
    INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
    SELECT pg_temp.v(e, i), format('b9200000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid,
           names[i], i = 1, i
      FROM generate_series(1, array_length(names, 1)) i;
$$;
-- assign visitors prefix1..prefixN to variant i (the others get weight 0 meanwhile)
CREATE FUNCTION pg_temp.assign_to(e int, i int, prefix text, n int) RETURNS bigint LANGUAGE sql AS $$
    UPDATE abtest.element_variants v SET weight = CASE WHEN v.position = i THEN 1 ELSE 0 END
     WHERE v.element_id = format('b9200000-0000-0000-0001-%s', lpad(e::text, 12, '0'))::uuid;
    SELECT count(*) FROM abt_assign_bulk(pg_temp.e(e), ARRAY(SELECT prefix || k FROM generate_series(1, n) k)) b
     WHERE (b.assignment->>'new')::boolean;
$$;
-- relative closeness: |a - b| <= 1e-9 |b| (1e-15 absolute at 0)
CREATE FUNCTION pg_temp.close(a float8, b float8) RETURNS boolean LANGUAGE sql AS
$$ SELECT abs(a - b) <= greatest(1e-9 * abs(b), 1e-15) $$;

--
-- The random experiment: A (control) 1,500 visitors, B 1,400, C 1,600;
-- goals purchase and signup with a 14-day lookback, and plain (purchase's
-- sums again) without.  cuped_reference.py's sums: per variant n, then
-- value sums y, y^2, x, x^2, xy and conversion sums converters,
-- covariate_converters, cross_converters.  B's purchase row is split over
-- two slots (the sums add up over slots, as every goal counter).
--
SELECT pg_temp.experiment(1, 'random', ARRAY['A', 'B', 'C']);
SELECT pg_temp.assign_to(1, 1, 'a', 1500) AS a_new, pg_temp.assign_to(1, 2, 'b', 1400) AS b_new,
       pg_temp.assign_to(1, 3, 'c', 1600) AS c_new;
INSERT INTO abtest.goals (experiment_id, goal, cuped_lookback)
VALUES (pg_temp.e(1), 'purchase', '14 days'), (pg_temp.e(1), 'signup', '14 days'), (pg_temp.e(1), 'plain', NULL);
CREATE TEMP TABLE sums (goal text, variant int, n bigint, sy numeric, sy2 numeric, sx numeric, sx2 numeric,
                        sxy numeric, cy bigint, cx bigint, cxy bigint);
INSERT INTO sums VALUES
('purchase', 1, 1500, 20301.16, 912612.6548, 21166.62, 954991.0432, 503756.1671, 525, 544, 300),
('purchase', 2, 1400, 21578.97, 1033057.6777, 20449.90, 933728.0514, 547531.2425, 507, 515, 296),
('purchase', 3, 1600, 21002.03, 922969.4453, 21986.75, 997250.1431, 494286.0096, 547, 556, 310),
('signup', 1, 1500, 818.10, 2733.4156, 855.59, 2784.4147, 884.7163, 273, 291, 106),
('signup', 2, 1400, 822.98, 2871.9408, 751.36, 2526.0190, 873.6975, 259, 253, 96),
('signup', 3, 1600, 991.69, 3530.2205, 984.20, 3286.4890, 1250.9049, 306, 325, 108);
INSERT INTO sums SELECT 'plain', variant, n, sy, sy2, sx, sx2, sxy, cy, cx, cxy FROM sums WHERE goal = 'purchase';
-- B's purchase: slot 0 holds all but 100 visitors' worth of each sum, slot 7 the rest
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares,
                                  covariate_visitors, covariate_sum, covariate_sum_squares, covariate_converters,
                                  cross_sum, cross_converters)
SELECT pg_temp.e(1), s.slot, pg_temp.v(1, variant), goal,
       CASE s.slot WHEN 7 THEN 20 ELSE cy - 20 * split END,
       CASE s.slot WHEN 7 THEN 1000 ELSE sy - 1000 * split END,
       CASE s.slot WHEN 7 THEN 50000 ELSE sy2 - 50000 * split END,
       CASE s.slot WHEN 7 THEN 100 ELSE n - 100 * split END,
       CASE s.slot WHEN 7 THEN 900 ELSE sx - 900 * split END,
       CASE s.slot WHEN 7 THEN 40000 ELSE sx2 - 40000 * split END,
       CASE s.slot WHEN 7 THEN 21 ELSE cx - 21 * split END,
       CASE s.slot WHEN 7 THEN 30000 ELSE sxy - 30000 * split END,
       CASE s.slot WHEN 7 THEN 12 ELSE cxy - 12 * split END
  FROM (SELECT sums.*, (goal = 'purchase' AND variant = 2)::int AS split FROM sums) x
  CROSS JOIN LATERAL (SELECT 0 AS slot UNION ALL SELECT 7 WHERE x.split = 1) s;
-- gbstats' results (cuped_reference.py sql): per goal, variant and metric
CREATE TEMP TABLE gb (goal text, variant int, metric text, theta float8, uplift float8, p float8, ci_low float8,
                      ci_high float8, seq_p float8, seq_ci_low float8, seq_ci_high float8, b_uplift float8,
                      b_ci_low float8, b_ci_high float8, ctw float8, risk_control float8, risk_variant float8);
INSERT INTO gb VALUES
('purchase', 2, 'value_per_visitor', 0.34865312930716102, 0.12608991577222989, 0.033135921856409345, 0.010096328467327095, 0.24208350307713267, 0.3662228421564106, -0.055190952767384005, 0.30737078431184378, 0.12608991577222989, 0.010145793163716457, 0.24203403838074328, 0.98347487680347001, 0.12644055773670801, 0.00035064196447811939),
('purchase', 2, 'conversion_rate', 0.32596727873497339, 0.029859804982025659, 0.5409323803749464, -0.065889935582144774, 0.12560954554619608, 1, -0.11978392897015568, 0.17950353893420701, 0.029859804982025659, -0.065849751005433943, 0.12556936096948523, 0.72955790756865257, 0.037943854416345284, 0.0080840494343196213),
('purchase', 3, 'value_per_visitor', 0.31304106718869379, -0.021590835951382781, 0.66865743203558958, -0.12049432639331807, 0.07731265449055251, 1, -0.17582297153179374, 0.13264129962902818, -0.021590835951382781, -0.12045544431886138, 0.077273772416095801, 0.33431374644983636, 0.011143840629640351, 0.032734676581023137),
('purchase', 3, 'conversion_rate', 0.32354545454545458, -0.0091939826839826377, 0.84037145114291789, -0.098686490588985695, 0.08029852522102042, 1, -0.14875047363697849, 0.13036250826901322, -0.0091939826839826377, -0.098651330669767057, 0.080263365301801767, 0.42017907623340173, 0.013979844112195579, 0.023173826796178205),
('signup', 2, 'value_per_visitor', 0.19209489677182334, 0.089691820213115878, 0.30958790694835803, -0.083360271696649904, 0.26274391212288167, 1, -0.18076374057498656, 0.36014738100121835, 0.089691820213115878, -0.083286900336855749, 0.26267054076308743, 0.84524910726445124, 0.096819937644305951, 0.0071281174311900921),
('signup', 2, 'conversion_rate', 0.23125561769699388, 0.033364813536750797, 0.66672388504279922, -0.11853299369150716, 0.18526262076500877, 1, -0.20403059212477462, 0.2707602191982762, 0.033364813536750797, -0.11846920095387903, 0.18519882802738061, 0.66665416106535724, 0.050410468180770246, 0.017045654644019432),
('signup', 3, 'value_per_visitor', 0.21320360680473485, 0.11893893899574534, 0.18098704723405823, -0.055353361076043911, 0.29323123906753457, 1, -0.15285669800106963, 0.39073457599256034, 0.11893893899574534, -0.055285253041522792, 0.29316313103301345, 0.90955558711377971, 0.12266963933621958, 0.0037307003404742304),
('signup', 3, 'conversion_rate', 0.20046217872304828, 0.040773530874462574, 0.59742668855142211, -0.11059355103515049, 0.19214061278407563, 1, -0.19527187357209735, 0.27681893532102253, 0.040773530874462574, -0.11053434267427288, 0.19208140442319799, 0.70130559273951742, 0.055383292126468288, 0.0146097612520057);

CREATE TEMP TABLE fixed AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(1)]);
CREATE TEMP TABLE seq AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(1)], sequential => true);
CREATE TEMP TABLE bayes AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(1)], engine => 'bayesian');
CREATE TEMP TABLE plain AS SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(1)], cuped => false);
-- the rows: every goal, metric and variant; the adjusted ones are the goals with a lookback
SELECT goal, count(*) AS rows, count(*) FILTER (WHERE cuped) AS cuped, count(theta) AS theta,
       count(covariate_mean) AS covariate_mean
  FROM fixed GROUP BY goal ORDER BY goal;
-- fixed horizon, sequential and Bayesian against gbstats, within 1e-9
SELECT count(*) AS compared,
       bool_and(f.cuped AND pg_temp.close(f.theta, gb.theta)) AS theta,
       bool_and(pg_temp.close(f.uplift, gb.uplift) AND pg_temp.close(f.p_value, gb.p)
                AND pg_temp.close(f.ci_low, gb.ci_low) AND pg_temp.close(f.ci_high, gb.ci_high)) AS fixed,
       bool_and(pg_temp.close(s.uplift, gb.uplift) AND pg_temp.close(s.p_value, gb.seq_p)
                AND pg_temp.close(s.ci_low, gb.seq_ci_low) AND pg_temp.close(s.ci_high, gb.seq_ci_high)
                AND s.theta = f.theta) AS sequential,
       bool_and(pg_temp.close(b.uplift, gb.b_uplift) AND pg_temp.close(b.ci_low, gb.b_ci_low)
                AND pg_temp.close(b.ci_high, gb.b_ci_high) AND pg_temp.close(b.chance_to_win, gb.ctw)
                AND b.theta = f.theta AND b.cuped) AS bayesian,
       -- gbstats' risks come through scipy's truncnorm: 1e-7
       bool_and(abs(b.risk_control - gb.risk_control) <= 1e-7 * gb.risk_control
                AND abs(b.risk_variant - gb.risk_variant) <= 1e-7 * gb.risk_variant) AS risks
  FROM gb
  JOIN fixed f ON f.goal = gb.goal AND f.variant_id = pg_temp.v(1, gb.variant) AND f.metric = gb.metric
  JOIN seq s ON s.goal = gb.goal AND s.variant_id = pg_temp.v(1, gb.variant) AND s.metric = gb.metric
  JOIN bayes b ON b.goal = gb.goal AND b.variant_id = pg_temp.v(1, gb.variant) AND b.metric = gb.metric;
-- mean and variance stay unadjusted; covariate_mean is x/n; the sums are the slots' sums
SELECT bool_and(f.visitors = s.n AND f.converters = s.cy AND f.value_sum = s.sy AND f.value_sum_squares = s.sy2)
           AS sums_exact,
       bool_and(CASE f.metric WHEN 'value_per_visitor' THEN pg_temp.close(f.mean, (s.sy / s.n)::float8)
                                                          AND pg_temp.close(f.covariate_mean, (s.sx / s.n)::float8)
                              ELSE f.mean = s.cy::float8 / s.n AND f.covariate_mean = s.cx::float8 / s.n END)
           AS means,
       bool_and(f.variance = p.variance AND f.mean = p.mean) AS moments_as_unadjusted
  FROM fixed f
  JOIN sums s ON s.goal = f.goal AND pg_temp.v(1, s.variant) = f.variant_id
  JOIN plain p ON p.goal = f.goal AND p.variant_id = f.variant_id AND p.metric = f.metric
 WHERE f.goal <> 'plain';
-- the control rows: cuped (their data qualify), no theta, no result
SELECT goal, metric, cuped, theta, uplift, round(covariate_mean::numeric, 6) AS covariate_mean
  FROM fixed WHERE is_control ORDER BY goal, metric;
-- plain (no lookback): cuped false, theta and covariate_mean NULL, today's numbers
SELECT bool_and(NOT f.cuped AND f.theta IS NULL AND f.covariate_mean IS NULL) AS unadjusted,
       bool_and(f.uplift IS NOT DISTINCT FROM p.uplift AND f.p_value IS NOT DISTINCT FROM p.p_value
                AND f.ci_low IS NOT DISTINCT FROM p.ci_low) AS same_as_cuped_false
  FROM fixed f JOIN plain p ON p.goal = f.goal AND p.variant_id = f.variant_id AND p.metric = f.metric
 WHERE f.goal = 'plain';
-- Holm and BH over the family of the adjusted p-values (every non-control row)
WITH fam AS (
    SELECT f.*, count(*) OVER () AS m, row_number() OVER (ORDER BY p_value) AS r
      FROM fixed f WHERE NOT is_control AND p_value IS NOT NULL),
holm AS (
    SELECT fam.*, max(least(1, p_value * (m - r + 1))) OVER (ORDER BY r) AS holm_ref,
           min(least(1, p_value * m / r)) OVER (ORDER BY r DESC) AS bh_ref FROM fam)
SELECT count(*) AS family, bool_and(pg_temp.close(p_value_holm, holm_ref)) AS holm,
       bool_and(pg_temp.close(p_value_bh, bh_ref)) AS bh
  FROM holm;
-- ... which CUPED moved: the adjusted family's adjustments are not the unadjusted ones
SELECT count(*) FILTER (WHERE f.p_value_holm <> p.p_value_holm) AS holm_moved,
       count(*) FILTER (WHERE f.p_value_bh <> p.p_value_bh) AS bh_moved
  FROM fixed f JOIN plain p ON p.goal = f.goal AND p.variant_id = f.variant_id AND p.metric = f.metric
 WHERE NOT f.is_control AND f.goal <> 'plain';
-- cuped => false: today's numbers (the pure tests on the same sums), nothing adjusted
SELECT count(*) AS compared, bool_and(NOT p.cuped AND p.theta IS NULL) AS unadjusted,
       bool_and(p.covariate_mean IS NOT DISTINCT FROM f.covariate_mean) AS covariate_mean_shown,
       bool_and(p.uplift = t.uplift AND p.p_value = t.p_value AND p.ci_low = t.ci_low AND p.ci_high = t.ci_high
                AND p.chance_to_beat_control = t.chance_to_beat_control) AS todays
  FROM plain p
  JOIN fixed f ON f.goal = p.goal AND f.variant_id = p.variant_id AND f.metric = p.metric
  JOIN sums b ON b.goal = p.goal AND pg_temp.v(1, b.variant) = p.variant_id
  JOIN sums a ON a.goal = p.goal AND a.variant = 1
  CROSS JOIN LATERAL (
        SELECT * FROM abt_mean_test(a.n, a.sy::float8, a.sy2::float8, b.n, b.sy::float8, b.sy2::float8)
         WHERE p.metric = 'value_per_visitor'
        UNION ALL
        SELECT * FROM abt_proportion_test(a.n, a.cy, b.n, b.cy) WHERE p.metric = 'conversion_rate') t
 WHERE NOT p.is_control;

--
-- Covariates that do not cover every visitor: experiment 2 holds the same
-- sums as purchase with covariate_visitors 0 (1.0 data, updated to 1.1:
-- no history), experiment 3 with one visitor of B short (a lookback
-- declared after the start).  cuped is false wherever a side is short;
-- the numbers are the unadjusted ones.
--
SELECT pg_temp.experiment(2, 'from 1.0', ARRAY['A', 'B']), pg_temp.experiment(3, 'late lookback', ARRAY['A', 'B']);
SELECT pg_temp.assign_to(e, 1, 'a', 1500) + pg_temp.assign_to(e, 2, 'b', 1400) AS assigned
  FROM generate_series(2, 3) e;
INSERT INTO abtest.goals (experiment_id, goal, cuped_lookback)
VALUES (pg_temp.e(2), 'purchase', '14 days'), (pg_temp.e(3), 'purchase', '14 days');
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares,
                                  covariate_visitors, covariate_sum, covariate_sum_squares, covariate_converters,
                                  cross_sum, cross_converters)
SELECT pg_temp.e(e), 0, pg_temp.v(e, variant), goal, cy, sy, sy2,
       CASE WHEN e = 2 THEN 0 WHEN variant = 2 THEN n - 1 ELSE n END,
       CASE WHEN e = 2 THEN 0 ELSE sx END, CASE WHEN e = 2 THEN 0 ELSE sx2 END,
       CASE WHEN e = 2 THEN 0 ELSE cx END, CASE WHEN e = 2 THEN 0 ELSE sxy END,
       CASE WHEN e = 2 THEN 0 ELSE cxy END
  FROM sums, generate_series(2, 3) e WHERE goal = 'purchase' AND variant <= 2;
SELECT s.name AS experiment, m.variant_name, m.metric, m.cuped, m.theta, round(m.covariate_mean::numeric, 6) AS covariate_mean,
       m.uplift IS NOT DISTINCT FROM p.uplift AND m.p_value IS NOT DISTINCT FROM p.p_value AS as_unadjusted
  FROM abt_metric_stats(ARRAY[pg_temp.e(2), pg_temp.e(3)]) m
  JOIN abt_metric_stats(ARRAY[pg_temp.e(1)], goals => '{purchase}', cuped => false) p
    ON p.metric = m.metric AND p.variant_name = m.variant_name
  JOIN abtest.experiments s ON s.id = m.experiment_id
 ORDER BY m.experiment_id, m.metric, m.variant_name;

--
-- The variance reduction.  Experiment 4, checkout: 2,000 visitors see A
-- (the control), 2,000 see B.  Each visitor spent x before its assignment
-- and spends y after it, correlated at rho = 0.7: x = 50 + 20 z1,
-- y = 50 + 20 (0.7 z1 + sqrt(0.51) z2), B's y 4% more, z1, z2 standard
-- normal (Box-Muller on md5 of the visitor: the same data everywhere),
-- cents, at least 0.01.  y goes through abt_convert (the real sums); x's
-- sums are inserted as a slot of their own (test data, as above).
--
SELECT pg_temp.experiment(4, 'checkout', ARRAY['A', 'B']);
SELECT pg_temp.assign_to(4, 1, 'a', 2000) AS a_new, pg_temp.assign_to(4, 2, 'b', 2000) AS b_new;
INSERT INTO abtest.goals (experiment_id, goal, cuped_lookback) VALUES (pg_temp.e(4), 'revenue', '14 days');
CREATE TEMP TABLE spend AS
WITH u AS (
    SELECT p || k AS visitor, p = 'b' AS is_b,
           ('x' || substr(md5(p || k || ':1'), 1, 8))::bit(32)::bigint / 4294967296.0 + 1e-12 AS u1,
           ('x' || substr(md5(p || k || ':2'), 1, 8))::bit(32)::bigint / 4294967296.0 AS u2,
           ('x' || substr(md5(p || k || ':3'), 1, 8))::bit(32)::bigint / 4294967296.0 + 1e-12 AS u3,
           ('x' || substr(md5(p || k || ':4'), 1, 8))::bit(32)::bigint / 4294967296.0 AS u4
      FROM unnest(ARRAY['a', 'b']) p, generate_series(1, 2000) k),
z AS (
    SELECT visitor, is_b, sqrt(-2 * ln(u1)) * cos(2 * pi() * u2) AS z1, sqrt(-2 * ln(u3)) * cos(2 * pi() * u4) AS z2
      FROM u)
SELECT visitor, is_b,
       greatest(0.01, round((50 + 20 * z1)::numeric, 2)) AS x,
       greatest(0.01, round(((50 + 20 * (0.7 * z1 + sqrt(0.51) * z2)) * CASE WHEN is_b THEN 1.04 ELSE 1 END)::numeric, 2)) AS y
  FROM z;
SELECT count(*) FILTER (WHERE abt_convert(pg_temp.e(4), visitor, 'revenue', y)) AS buyers,
       round(corr(x, y)::numeric, 2) AS rho
  FROM spend;
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, covariate_visitors, covariate_sum,
                                  covariate_sum_squares, covariate_converters, cross_sum, cross_converters)
SELECT pg_temp.e(4), 999, pg_temp.v(4, CASE WHEN is_b THEN 2 ELSE 1 END), 'revenue', count(*), sum(x), sum(x * x),
       count(*), sum(x * y), count(*)
  FROM spend GROUP BY is_b;
-- what the docs show: B's value per visitor, adjusted and not
SELECT m.cuped, round(m.mean::numeric, 2) AS mean, round(m.covariate_mean::numeric, 2) AS covariate_mean,
       round(m.theta::numeric, 3) AS theta, round(m.uplift::numeric, 4) AS uplift,
       round(m.ci_low::numeric, 4) AS ci_low, round(m.ci_high::numeric, 4) AS ci_high,
       round(m.p_value::numeric, 4) AS p_value
  FROM (SELECT * FROM abt_metric_stats('{b9200000-0000-0000-0000-000000000004}', goals => '{revenue}')
        UNION ALL
        SELECT * FROM abt_metric_stats('{b9200000-0000-0000-0000-000000000004}', goals => '{revenue}', cuped => false)) m
 WHERE m.variant_name = 'B' AND m.metric = 'value_per_visitor'
 ORDER BY m.cuped DESC;
-- the adjusted interval is sqrt(1 - rho^2) of the unadjusted one, within 10% (rho the sample's)
SELECT round(((a.ci_high - a.ci_low) / (u.ci_high - u.ci_low))::numeric, 3) AS width_ratio,
       round(sqrt(1 - r.rho ^ 2)::numeric, 3) AS sqrt_1_minus_rho2,
       (a.ci_high - a.ci_low) / (u.ci_high - u.ci_low) BETWEEN 0.9 * sqrt(1 - r.rho ^ 2) AND 1.1 * sqrt(1 - r.rho ^ 2)
           AS within_10_percent
  FROM abt_metric_stats(ARRAY[pg_temp.e(4)], goals => '{revenue}') a,
       abt_metric_stats(ARRAY[pg_temp.e(4)], goals => '{revenue}', cuped => false) u,
       (SELECT corr(x, y) AS rho FROM spend) r
 WHERE a.variant_name = 'B' AND u.variant_name = 'B'
   AND a.metric = 'value_per_visitor' AND u.metric = 'value_per_visitor';
-- capped, the value metric is not adjusted (its covariate would need the
-- same cap per visitor); conversion_rate still is
UPDATE abtest.goals SET cap_type = 'absolute', cap_value = 80 WHERE experiment_id = pg_temp.e(4);
SELECT metric, variant_name, cuped, theta IS NOT NULL AS has_theta, cap
  FROM abt_metric_stats(ARRAY[pg_temp.e(4)]) ORDER BY metric, variant_name;

-- errors: the lookback's bounds (above 0, at most 365 days), a NULL cuped
SELECT pg_temp.sqlstate_of($$UPDATE abtest.goals SET cuped_lookback = '0' WHERE experiment_id = pg_temp.e(4)$$) AS zero,
       pg_temp.sqlstate_of($$UPDATE abtest.goals SET cuped_lookback = '-1 day' WHERE experiment_id = pg_temp.e(4)$$) AS negative,
       pg_temp.sqlstate_of($$UPDATE abtest.goals SET cuped_lookback = '366 days' WHERE experiment_id = pg_temp.e(4)$$) AS too_long,
       pg_temp.sqlstate_of($$UPDATE abtest.goals SET cuped_lookback = '365 days' WHERE experiment_id = pg_temp.e(4)$$) AS year,
       pg_temp.sqlstate_of($$SELECT * FROM abt_metric_stats(ARRAY[pg_temp.e(4)], cuped => NULL)$$) AS cuped_null;

DELETE FROM abtest.experiments WHERE id IN (pg_temp.e(1), pg_temp.e(2), pg_temp.e(3), pg_temp.e(4));
