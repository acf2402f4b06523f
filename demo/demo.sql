-- abtest demo: one experiment with two page elements, visitors, conversions,
-- live statistics, the hourly timeline, and purchases tracked with abt_track
-- whose statistics CUPED adjusts with the visitors' purchases before the
-- test.  Run by scripts/demo.  Every number is deterministic: visitors'
-- behaviour comes from abt_gbhash of their ids, never random().
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION abtest;

\echo '== An experiment: a headline and a button, each with a control and a challenger'
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('00000000-0000-0000-0000-00000000e001', 'Homepage hero', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
    ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000e001', 'headline', 'h1.hero', 0),
    ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-00000000e001', 'button', '#signup', 1);
INSERT INTO abtest.element_variants (id, element_id, name, content, is_control, position) VALUES
    ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000a1', 'original', '{"text": "Welcome"}', true, 0),
    ('00000000-0000-0000-0000-0000000000a3', '00000000-0000-0000-0000-0000000000a1', 'bold', '{"text": "Ship twice as fast"}', false, 1),
    ('00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-0000000000b1', 'blue', '{"color": "#1d4ed8"}', true, 0),
    ('00000000-0000-0000-0000-0000000000b3', '00000000-0000-0000-0000-0000000000b1', 'green', '{"color": "#15803d"}', false, 1);

\echo '== Its goals, declared before the first visitor: purchases with a 14-day CUPED lookback'
INSERT INTO abtest.goals (experiment_id, goal, cuped_lookback) VALUES
    ('00000000-0000-0000-0000-00000000e001', 'conversion', NULL),
    ('00000000-0000-0000-0000-00000000e001', 'purchase', '14 days');

\echo '== A page view: one call, every element''s variant with its content'
SELECT jsonb_pretty(abt_assign('00000000-0000-0000-0000-00000000e001', 'visitor-123'));

\echo '== The same visitor again: same variants, "new": false'
SELECT abt_assign('00000000-0000-0000-0000-00000000e001', 'visitor-123') -> 'new' AS new,
       abt_assign('00000000-0000-0000-0000-00000000e001', 'visitor-123') #> '{elements,0,variant}' AS headline;

\echo '== The visitor converts: true the first time, false after, NULL for a visitor never assigned'
SELECT abt_convert('00000000-0000-0000-0000-00000000e001', 'visitor-123') AS first,
       abt_convert('00000000-0000-0000-0000-00000000e001', 'visitor-123', 'purchase', 49.90) AS later,
       abt_convert('00000000-0000-0000-0000-00000000e001', 'stranger') AS unassigned;

\echo '== Before the test: 6% of the next visitors are customers who bought in the last two weeks'
\echo '   (abt_track with a past time, as a trusted import: in no experiment yet, kept as CUPED history)'
SELECT count(*) AS purchases, sum(value) AS revenue, sum(experiments) AS experiments_counted
  FROM (SELECT abt_track(c.user_id, 'purchase', c.value, c.at) AS experiments, c.value
          FROM (SELECT 'v' || h || '-' || g AS user_id, n,
                       round(((20 + 100 * abt_gbhash('demo-level', 'v' || h || '-' || g))
                              * (0.6 + 0.8 * abt_gbhash('demo-pre-value-' || n, 'v' || h || '-' || g)))::numeric, 2) AS value,
                       now() - make_interval(hours => 6 + (300 * abt_gbhash('demo-pre-at-' || n, 'v' || h || '-' || g))::int) AS at
                  FROM generate_series(0, 5) h, generate_series(1, 3334) g, generate_series(1, 3) n
                 WHERE abt_gbhash('demo-customer', 'v' || h || '-' || g) < 0.06
                   AND (n = 1 OR abt_gbhash('demo-pre-' || n, 'v' || h || '-' || g) < 0.5 / (n - 1))) c
       ) t;

\echo '== 20,000 more visitors over the last 6 hours (bulk form), about 10% (bold headline: 12%) converting'
SELECT count(*) AS assigned
  FROM generate_series(0, 5) AS h,
       abt_assign_bulk('00000000-0000-0000-0000-00000000e001',
                       ARRAY(SELECT 'v' || h || '-' || g FROM generate_series(1, 3334) g),
                       now() - make_interval(hours => h, mins => 10));
SELECT count(*) FILTER (WHERE converted) AS converted
  FROM (SELECT abt_convert('00000000-0000-0000-0000-00000000e001', a.user_id) AS converted
          FROM abtest.assignments a
         WHERE a.experiment_id = '00000000-0000-0000-0000-00000000e001'
           AND abt_gbhash('demo-conversions', a.user_id) < CASE WHEN a.variants ->> '00000000-0000-0000-0000-0000000000a1'
                                                     = '00000000-0000-0000-0000-0000000000a3' THEN 0.12 ELSE 0.10 END) s;

\echo '== Live statistics per variant'
SELECT element_name AS element, variant_name AS variant, is_control AS control,
       allocations, conversions, round(conversion_rate::numeric, 4) AS rate,
       round(ci_low::numeric, 4) AS ci_low, round(ci_high::numeric, 4) AS ci_high,
       round(uplift::numeric, 3) AS uplift, round(p_value::numeric, 4) AS p_value,
       round(chance_to_beat_control::numeric, 3) AS beat_control, round(srm_p_value::numeric, 3) AS srm_p
  FROM abt_experiment_stats('00000000-0000-0000-0000-00000000e001');

\echo '== Hourly timeline, zero-filled, answered from rollups'
SELECT to_char(bucket, 'HH24:MI') AS hour, assignments, conversions,
       round(conversion_rate::numeric, 4) AS rate
  FROM abt_timeline('00000000-0000-0000-0000-00000000e001', 8);

\echo '== Purchases since, one abt_track call each (every experiment the visitor is in counts it):'
\echo '   half of the customers buy again, spending as before; 1% of the others buy; a third of the buyers'
\echo '   buy twice; the green button''s buyers spend 8 more'
SELECT count(*) AS purchases, sum(value) AS revenue, sum(experiments) AS experiments_counted
  FROM (SELECT abt_track(p.user_id, 'purchase', p.value) AS experiments, p.value
          FROM (SELECT a.user_id,
                       round(((20 + 100 * abt_gbhash('demo-level', a.user_id))
                              * (0.6 + 0.8 * abt_gbhash('demo-amount-' || n, a.user_id))
                              + CASE WHEN a.variants ->> '00000000-0000-0000-0000-0000000000b1'
                                          = '00000000-0000-0000-0000-0000000000b3' THEN 8 ELSE 0 END)::numeric, 2) AS value
                  FROM abtest.assignments a, generate_series(1, 2) n
                 WHERE a.experiment_id = '00000000-0000-0000-0000-00000000e001'
                   AND abt_gbhash('demo-purchase', a.user_id)
                       < CASE WHEN abt_gbhash('demo-customer', a.user_id) < 0.06 THEN 0.5 ELSE 0.01 END
                   AND (n = 1 OR abt_gbhash('demo-repeat', a.user_id) < 0.33)) p) t;

\echo '== Metrics per goal: conversion rate and value per visitor against each element''s control'
\echo '   (purchase''s comparisons are CUPED-adjusted: cuped = t)'
SELECT element_name AS element, variant_name AS variant, goal, metric, visitors, converters,
       round(mean::numeric, 4) AS mean, round(uplift::numeric, 3) AS uplift,
       round(ci_low::numeric, 3) AS ci_low, round(ci_high::numeric, 3) AS ci_high,
       round(p_value::numeric, 4) AS p_value, round(p_value_holm::numeric, 4) AS holm,
       round(p_value_bh::numeric, 4) AS bh, cuped
  FROM abt_metric_stats(ARRAY['00000000-0000-0000-0000-00000000e001'::uuid]);

\echo '== CUPED: purchases adjusted for what each visitor bought before the test, against unadjusted'
\echo '   (width: the interval''s width relative to the unadjusted one)'
SELECT element_name AS element, variant_name AS variant, metric, cuped,
       round(uplift::numeric, 3) AS uplift, round(ci_low::numeric, 3) AS ci_low,
       round(ci_high::numeric, 3) AS ci_high,
       round(((ci_high - ci_low) / first_value(ci_high - ci_low)
              OVER (PARTITION BY variant_id, metric ORDER BY cuped))::numeric, 2) AS width,
       round(p_value::numeric, 4) AS p_value, round(theta::numeric, 3) AS theta,
       round(covariate_mean::numeric, 3) AS covariate_mean
  FROM (SELECT * FROM abt_metric_stats(ARRAY['00000000-0000-0000-0000-00000000e001'::uuid], goals => ARRAY['purchase'],
                                       cuped => false)
        UNION ALL
        SELECT * FROM abt_metric_stats(ARRAY['00000000-0000-0000-0000-00000000e001'::uuid], goals => ARRAY['purchase'])) m
 WHERE NOT is_control
 ORDER BY element_name DESC, metric, cuped;

\echo '== The same for purchases, safe to look at every hour (sequential, CUPED-adjusted)'
SELECT element_name AS element, variant_name AS variant, metric, round(uplift::numeric, 3) AS uplift,
       round(ci_low::numeric, 3) AS ci_low, round(ci_high::numeric, 3) AS ci_high,
       round(p_value::numeric, 4) AS p_value, is_sequential, cuped
  FROM abt_metric_stats(ARRAY['00000000-0000-0000-0000-00000000e001'::uuid], goals => ARRAY['purchase'],
                        sequential => true)
 WHERE NOT is_control;
