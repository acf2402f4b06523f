-- abtest demo: one experiment with two page elements, visitors, conversions,
-- live statistics and the hourly timeline.  Run by scripts/demo.
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

\echo '== A page view: one call, every element''s variant with its content'
SELECT jsonb_pretty(abt_assign('00000000-0000-0000-0000-00000000e001', 'visitor-123'));

\echo '== The same visitor again: same variants, "new": false'
SELECT abt_assign('00000000-0000-0000-0000-00000000e001', 'visitor-123') -> 'new' AS new,
       abt_assign('00000000-0000-0000-0000-00000000e001', 'visitor-123') #> '{elements,0,variant}' AS headline;

\echo '== The visitor converts: true the first time, false after, NULL for a visitor never assigned'
SELECT abt_convert('00000000-0000-0000-0000-00000000e001', 'visitor-123') AS first,
       abt_convert('00000000-0000-0000-0000-00000000e001', 'visitor-123', 'purchase', 49.90) AS later,
       abt_convert('00000000-0000-0000-0000-00000000e001', 'stranger') AS unassigned;

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

\echo '== Purchases with values: about 4% of the visitors buy, a third of them twice; the green button''s buyers spend more'
SELECT count(*) AS purchases, sum(value) AS revenue
  FROM (SELECT a.user_id, round((20 + 60 * abt_gbhash('demo-amount-' || n, a.user_id)
                                 + CASE WHEN a.variants ->> '00000000-0000-0000-0000-0000000000b1'
                                             = '00000000-0000-0000-0000-0000000000b3' THEN 8 ELSE 0 END)::numeric, 2) AS value
          FROM abtest.assignments a, generate_series(1, 2) n
         WHERE a.experiment_id = '00000000-0000-0000-0000-00000000e001'
           AND abt_gbhash('demo-purchase', a.user_id) < 0.04
           AND (n = 1 OR abt_gbhash('demo-repeat', a.user_id) < 0.33)) p
 WHERE abt_convert('00000000-0000-0000-0000-00000000e001', p.user_id, 'purchase', p.value) IS NOT NULL;

\echo '== Metrics per goal: conversion rate and value per visitor against each element''s control'
SELECT element_name AS element, variant_name AS variant, goal, metric, visitors, converters,
       round(mean::numeric, 4) AS mean, round(uplift::numeric, 3) AS uplift,
       round(ci_low::numeric, 3) AS ci_low, round(ci_high::numeric, 3) AS ci_high,
       round(p_value::numeric, 4) AS p_value, round(p_value_holm::numeric, 4) AS holm,
       round(p_value_bh::numeric, 4) AS bh
  FROM abt_metric_stats(ARRAY['00000000-0000-0000-0000-00000000e001'::uuid]);

\echo '== The same for purchases, safe to look at every hour (sequential)'
SELECT element_name AS element, variant_name AS variant, metric, round(uplift::numeric, 3) AS uplift,
       round(ci_low::numeric, 3) AS ci_low, round(ci_high::numeric, 3) AS ci_high,
       round(p_value::numeric, 4) AS p_value, is_sequential
  FROM abt_metric_stats(ARRAY['00000000-0000-0000-0000-00000000e001'::uuid], goals => ARRAY['purchase'],
                        sequential => true)
 WHERE NOT is_control;
