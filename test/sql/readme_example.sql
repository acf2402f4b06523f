-- an experiment with one element, the signup button, in two variants
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('ee000000-0000-0000-0000-000000000001', 'signup button', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector) VALUES
    ('ee000000-0000-0000-0001-000000000001', 'ee000000-0000-0000-0000-000000000001', 'button', '#signup');
INSERT INTO abtest.element_variants (id, element_id, name, content, is_control) VALUES
    ('ee000000-0000-0000-0002-000000000001', 'ee000000-0000-0000-0001-000000000001', 'blue', '{"color": "blue"}', true),
    ('ee000000-0000-0000-0002-000000000002', 'ee000000-0000-0000-0001-000000000001', 'green', '{"color": "green"}', false);
-- a page view: the visitor's variant of every element, with its content
SELECT jsonb_pretty(abt_assign('ee000000-0000-0000-0000-000000000001', 'alice')) \g (format=unaligned tuples_only)
-- the visitor converts: true the first time
SELECT abt_convert('ee000000-0000-0000-0000-000000000001', 'alice');
-- 2,000 more visitors, every tenth of them converting
SELECT count(abt_assign('ee000000-0000-0000-0000-000000000001', 'visitor-' || i)) AS visitors
  FROM generate_series(1, 2000) i;
SELECT count(abt_convert('ee000000-0000-0000-0000-000000000001', 'visitor-' || i)) AS conversions
  FROM generate_series(1, 2000, 10) i;
-- the results, live
SELECT variant_name, allocations, conversions, round(conversion_rate::numeric, 3) AS rate,
       round(p_value::numeric, 3) AS p_value, round(chance_to_beat_control::numeric, 3) AS beat_control
  FROM abt_variant_stats('{ee000000-0000-0000-0000-000000000001}');
