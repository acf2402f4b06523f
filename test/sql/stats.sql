--
-- stats: abt_variant_stats and abt_experiment_stats.  Counts are made exact
-- by steering every batch of visitors to chosen variants with the weights
-- (assignments are sticky, so later weight changes keep them); every number
-- is checked against a reference computed here from the formulas, never
-- against the function's own output:
--   Wilson 95%       roots of (phat - p)^2 = z^2 p (1 - p) / n (numeric);
--   z-test p-value   z from the pooled formula, 2 * upper normal tail by
--                    Simpson integration of the normal density;
--   chance to beat   Evan Miller's closed-form sum in exact numeric
--                    arithmetic (factorials) for small counts; for counts in
--                    the millions, values from test/unit-independent node
--                    code (exact sum from a Stirling lgamma, cross-checked
--                    by brute-force integration) hard-coded below;
--   SRM              chi-square statistic from the counts and the normalised
--                    weights, survival function by the closed forms for
--                    df 1, 2, 3 (normal tail, exp(-x/2), ...).
-- Ids of this file: c5a70000-....
--
SET client_min_messages = warning;

\i test/sql/include/sqlstate_of.sql

-- steer new visitors: in every element of the experiment that has one of the
-- given variants, that variant gets weight 1 and its siblings weight 0
CREATE FUNCTION pg_temp.steer(exp uuid, variants uuid[]) RETURNS void LANGUAGE sql AS $$
    UPDATE abtest.element_variants v
       SET weight = CASE WHEN v.id = ANY (variants) THEN 1 ELSE 0 END
      FROM abtest.experiment_elements el
     WHERE el.id = v.element_id AND el.experiment_id = exp
       AND EXISTS (SELECT 1 FROM abtest.element_variants o
                    WHERE o.element_id = v.element_id AND o.id = ANY (variants));
$$;
-- assign visitors prefix1..prefixN, convert prefix1..prefixK; returns "N/K"
CREATE FUNCTION pg_temp.batch(exp uuid, prefix text, n int, k int) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s/%s',
        (SELECT count(*) FROM abt_assign_bulk(exp, ARRAY(SELECT prefix || i FROM generate_series(1, n) i),
                                              '2024-06-01 12:00:00+00') b
          WHERE (b.assignment->>'new')::boolean),
        (SELECT count(*) FROM generate_series(1, k) i
          WHERE abt_convert(exp, prefix || i, 'conversion', NULL, '2024-06-01 13:00:00+00')));
$$;

--
-- Experiment 1 (active): element "cta" (position 1) with control X and Y,
-- element "headline" (position 2) with control A, B, C (variant positions
-- deliberately out of id order).
--
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('c5a70000-0000-0000-0000-000000000001', 'stats one', 'active', 'st-e1');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
    ('c5a70000-0000-0000-0001-000000000011', 'c5a70000-0000-0000-0000-000000000001', 'headline', 'h1', 2),
    ('c5a70000-0000-0000-0001-000000000012', 'c5a70000-0000-0000-0000-000000000001', 'cta', NULL, 1);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('c5a70000-0000-0000-0002-000000000113', 'c5a70000-0000-0000-0001-000000000011', 'A', true, 1),
    ('c5a70000-0000-0000-0002-000000000111', 'c5a70000-0000-0000-0001-000000000011', 'B', false, 2),
    ('c5a70000-0000-0000-0002-000000000112', 'c5a70000-0000-0000-0001-000000000011', 'C', false, 3),
    ('c5a70000-0000-0000-0002-000000000121', 'c5a70000-0000-0000-0001-000000000012', 'X', true, 1),
    ('c5a70000-0000-0000-0002-000000000122', 'c5a70000-0000-0000-0001-000000000012', 'Y', false, 2);
-- 400 visitors see A and X (40 convert), 380 B and Y (57), 220 C and X (0)
SELECT pg_temp.steer('c5a70000-0000-0000-0000-000000000001',
                     '{c5a70000-0000-0000-0002-000000000113,c5a70000-0000-0000-0002-000000000121}');
SELECT pg_temp.batch('c5a70000-0000-0000-0000-000000000001', 'e1a-', 400, 40) AS a_x;
SELECT pg_temp.steer('c5a70000-0000-0000-0000-000000000001',
                     '{c5a70000-0000-0000-0002-000000000111,c5a70000-0000-0000-0002-000000000122}');
SELECT pg_temp.batch('c5a70000-0000-0000-0000-000000000001', 'e1b-', 380, 57) AS b_y;
SELECT pg_temp.steer('c5a70000-0000-0000-0000-000000000001',
                     '{c5a70000-0000-0000-0002-000000000112,c5a70000-0000-0000-0002-000000000121}');
SELECT pg_temp.batch('c5a70000-0000-0000-0000-000000000001', 'e1c-', 220, 0) AS c_x;
-- final weights: headline A 2, B 1, C 1 (a strong SRM); cta X 1.6, Y 1
UPDATE abtest.element_variants SET weight = CASE name WHEN 'A' THEN 2 WHEN 'X' THEN 1.6 ELSE 1 END
 WHERE element_id IN ('c5a70000-0000-0000-0001-000000000011', 'c5a70000-0000-0000-0001-000000000012');

--
-- Experiment 2 (paused at the end): the edge cases.
--   price (pos 1)     P1, P2, control Pc (position 3), P4 never shown: df 3,
--                     a control with rate 0, a variant with rate 1, a variant
--                     with no allocations;
--   solo (pos 2)      a single variant (the control);
--   nocontrol (pos 2, after solo by id)   no control;
--   zerocontrol (pos 3)   control with weight 0 and no allocations;
--   zeroweight (pos 4)    traffic on a variant whose weight is now 0;
--   allzero (pos 5)       every weight 0 now (normalised weights undefined);
--   empty (pos 6)         no variants at all (added after the traffic).
--
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('c5a70000-0000-0000-0000-000000000002', 'stats two', 'active', 'st-e2');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
    ('c5a70000-0000-0000-0001-000000000021', 'c5a70000-0000-0000-0000-000000000002', 'price', '.price', 1),
    ('c5a70000-0000-0000-0001-000000000023', 'c5a70000-0000-0000-0000-000000000002', 'nocontrol', '#nc', 2),
    ('c5a70000-0000-0000-0001-000000000022', 'c5a70000-0000-0000-0000-000000000002', 'solo', '#solo', 2),
    ('c5a70000-0000-0000-0001-000000000024', 'c5a70000-0000-0000-0000-000000000002', 'zerocontrol', NULL, 3),
    ('c5a70000-0000-0000-0001-000000000025', 'c5a70000-0000-0000-0000-000000000002', 'zeroweight', NULL, 4),
    ('c5a70000-0000-0000-0001-000000000026', 'c5a70000-0000-0000-0000-000000000002', 'allzero', NULL, 5);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position, weight) VALUES
    ('c5a70000-0000-0000-0002-000000000211', 'c5a70000-0000-0000-0001-000000000021', 'P1', false, 1, 1),
    ('c5a70000-0000-0000-0002-000000000212', 'c5a70000-0000-0000-0001-000000000021', 'P2', false, 2, 1),
    ('c5a70000-0000-0000-0002-000000000213', 'c5a70000-0000-0000-0001-000000000021', 'Pc', true, 3, 1),
    ('c5a70000-0000-0000-0002-000000000214', 'c5a70000-0000-0000-0001-000000000021', 'P4', false, 4, 1),
    ('c5a70000-0000-0000-0002-000000000221', 'c5a70000-0000-0000-0001-000000000022', 'S1', true, 1, 1),
    ('c5a70000-0000-0000-0002-000000000231', 'c5a70000-0000-0000-0001-000000000023', 'N1', false, 1, 1),
    ('c5a70000-0000-0000-0002-000000000232', 'c5a70000-0000-0000-0001-000000000023', 'N2', false, 2, 1),
    ('c5a70000-0000-0000-0002-000000000241', 'c5a70000-0000-0000-0001-000000000024', 'Zc', true, 1, 0),
    ('c5a70000-0000-0000-0002-000000000242', 'c5a70000-0000-0000-0001-000000000024', 'Z1', false, 2, 1),
    ('c5a70000-0000-0000-0002-000000000243', 'c5a70000-0000-0000-0001-000000000024', 'Z2', false, 3, 1),
    ('c5a70000-0000-0000-0002-000000000251', 'c5a70000-0000-0000-0001-000000000025', 'W1', true, 1, 1),
    ('c5a70000-0000-0000-0002-000000000252', 'c5a70000-0000-0000-0001-000000000025', 'W2', false, 2, 1),
    ('c5a70000-0000-0000-0002-000000000261', 'c5a70000-0000-0000-0001-000000000026', 'Q1', true, 1, 1),
    ('c5a70000-0000-0000-0002-000000000262', 'c5a70000-0000-0000-0001-000000000026', 'Q2', false, 2, 1);
-- 50 visitors (none converts): Pc S1 N1 Z1 W1 Q1
SELECT pg_temp.steer('c5a70000-0000-0000-0000-000000000002',
                     '{c5a70000-0000-0000-0002-000000000213,c5a70000-0000-0000-0002-000000000221,
                       c5a70000-0000-0000-0002-000000000231,c5a70000-0000-0000-0002-000000000242,
                       c5a70000-0000-0000-0002-000000000251,c5a70000-0000-0000-0002-000000000261}');
SELECT pg_temp.batch('c5a70000-0000-0000-0000-000000000002', 'e2a-', 50, 0) AS first;
-- 60 visitors (30 convert): P1 S1 N2 Z2 W1 Q2
SELECT pg_temp.steer('c5a70000-0000-0000-0000-000000000002',
                     '{c5a70000-0000-0000-0002-000000000211,c5a70000-0000-0000-0002-000000000221,
                       c5a70000-0000-0000-0002-000000000232,c5a70000-0000-0000-0002-000000000243,
                       c5a70000-0000-0000-0002-000000000251,c5a70000-0000-0000-0002-000000000262}');
SELECT pg_temp.batch('c5a70000-0000-0000-0000-000000000002', 'e2b-', 60, 30) AS second;
-- 40 visitors (all convert): P2 S1 N1 Z1 W2 Q2
SELECT pg_temp.steer('c5a70000-0000-0000-0000-000000000002',
                     '{c5a70000-0000-0000-0002-000000000212,c5a70000-0000-0000-0002-000000000221,
                       c5a70000-0000-0000-0002-000000000231,c5a70000-0000-0000-0002-000000000242,
                       c5a70000-0000-0000-0002-000000000252,c5a70000-0000-0000-0002-000000000262}');
SELECT pg_temp.batch('c5a70000-0000-0000-0000-000000000002', 'e2c-', 40, 40) AS third;
-- final weights: price all 1 (P4 never shown); nocontrol N1 3, N2 2 (exactly
-- the observed 90:60); zerocontrol Zc 0, Z1 1, Z2 1; zeroweight W1 0, W2 1;
-- allzero all 0
UPDATE abtest.element_variants SET weight = CASE name WHEN 'N1' THEN 3 WHEN 'N2' THEN 2
                                                      WHEN 'Zc' THEN 0 WHEN 'W1' THEN 0
                                                      WHEN 'Q1' THEN 0 WHEN 'Q2' THEN 0 ELSE 1 END
 WHERE element_id IN (SELECT id FROM abtest.experiment_elements
                       WHERE experiment_id = 'c5a70000-0000-0000-0000-000000000002');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
    ('c5a70000-0000-0000-0001-000000000027', 'c5a70000-0000-0000-0000-000000000002', 'empty', NULL, 6);
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'c5a70000-0000-0000-0000-000000000002';

-- Experiment 3 (draft): no traffic at all; D3 and D2 share a position (D3
-- first by id).  Experiment 4 (completed): no elements.
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('c5a70000-0000-0000-0000-000000000003', 'stats three', 'draft', 'st-e3'),
    ('c5a70000-0000-0000-0000-000000000004', 'stats four', 'completed', 'st-e4');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
    ('c5a70000-0000-0000-0001-000000000031', 'c5a70000-0000-0000-0000-000000000003', 'hero', 'img', 0);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position, weight) VALUES
    ('c5a70000-0000-0000-0002-000000000311', 'c5a70000-0000-0000-0001-000000000031', 'D1', true, 0, 1),
    ('c5a70000-0000-0000-0002-000000000312', 'c5a70000-0000-0000-0001-000000000031', 'D2', false, 1, 3),
    ('c5a70000-0000-0000-0002-000000000310', 'c5a70000-0000-0000-0001-000000000031', 'D3', false, 1, 2);

--
-- Experiment 5 (active): counts in the millions, far beyond what a test can
-- assign, written straight into the striped counter rows (several slots per
-- variant; the statistics read nothing else).
--   big     1,000,000 / 50,000 vs 1,001,000 / 51,000  (every Beta parameter > 5000)
--   mid       200,000 / 3,000  vs   200,000 / 3,150
--   huge   50,000,000 / 2,500,000 vs 50,000,000 / 2,502,000
--   even       12,000 / 6,000  vs    12,000 / 6,100
--   none        1,000 / 0      vs     1,000 / 0      (pooled rate 0)
--   all            10 / 10     vs        20 / 20     (pooled rate 1)
--
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('c5a70000-0000-0000-0000-000000000005', 'stats five', 'active', 'st-e5');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
SELECT ('c5a70000-0000-0000-0001-00000000005' || i)::uuid, 'c5a70000-0000-0000-0000-000000000005',
       (ARRAY['big', 'mid', 'huge', 'even', 'none', 'all'])[i], i
  FROM generate_series(1, 6) i;
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
SELECT ('c5a70000-0000-0000-0002-0000000005' || i || v)::uuid, ('c5a70000-0000-0000-0001-00000000005' || i)::uuid,
       (ARRAY['big', 'mid', 'huge', 'even', 'none', 'all'])[i] || '-' || (ARRAY['control', 'variant'])[v], v = 1, v
  FROM generate_series(1, 6) i, generate_series(1, 2) v;
CREATE TEMP TABLE big_counts (variant_id uuid PRIMARY KEY, allocations bigint, conversions bigint);
INSERT INTO big_counts VALUES
    ('c5a70000-0000-0000-0002-000000000511', 1000000, 50000),
    ('c5a70000-0000-0000-0002-000000000512', 1001000, 51000),
    ('c5a70000-0000-0000-0002-000000000521', 200000, 3000),
    ('c5a70000-0000-0000-0002-000000000522', 200000, 3150),
    ('c5a70000-0000-0000-0002-000000000531', 50000000, 2500000),
    ('c5a70000-0000-0000-0002-000000000532', 50000000, 2502000),
    ('c5a70000-0000-0000-0002-000000000541', 12000, 6000),
    ('c5a70000-0000-0000-0002-000000000542', 12000, 6100),
    ('c5a70000-0000-0000-0002-000000000551', 1000, 0),
    ('c5a70000-0000-0000-0002-000000000552', 1000, 0),
    ('c5a70000-0000-0000-0002-000000000561', 10, 10),
    ('c5a70000-0000-0000-0002-000000000562', 20, 20);
-- split over slots 7, 8 and 9: a third each, the remainder in slot 9
INSERT INTO abtest.variant_counters (experiment_id, variant_id, slot, allocations, conversions)
SELECT 'c5a70000-0000-0000-0000-000000000005', b.variant_id, s,
       CASE WHEN s < 9 THEN b.allocations / 3 ELSE b.allocations - 2 * (b.allocations / 3) END,
       CASE WHEN s < 9 THEN b.conversions / 3 ELSE b.conversions - 2 * (b.conversions / 3) END
  FROM big_counts b, generate_series(7, 9) s;

--
-- Order and shape: experiments in the order of their first place in the
-- array (the repeated experiment 2 appears once), elements by (position, id),
-- variants by (position, id); an unknown id gives one row with only its id;
-- an experiment without elements and an element without variants give one
-- row with the variant columns NULL.  "nulls" shows, for conversion_rate,
-- ci_low, ci_high, uplift, p_value, chance_to_beat_control and srm_p_value,
-- v for a value and - for NULL.
--
SELECT n, right(experiment_id::text, 2) AS exp, status, element_name, selector, variant_name,
       is_control, variant_position AS pos, allocations, conversions,
       concat_ws('', CASE WHEN conversion_rate IS NULL THEN '-' ELSE 'v' END,
                     CASE WHEN ci_low IS NULL THEN '-' ELSE 'v' END,
                     CASE WHEN ci_high IS NULL THEN '-' ELSE 'v' END,
                     CASE WHEN uplift IS NULL THEN '-' ELSE 'v' END,
                     CASE WHEN p_value IS NULL THEN '-' ELSE 'v' END,
                     CASE WHEN chance_to_beat_control IS NULL THEN '-' ELSE 'v' END,
                     CASE WHEN srm_p_value IS NULL THEN '-' ELSE 'v' END) AS nulls,
       weight IS NULL AS weight_null
  FROM abt_variant_stats(ARRAY['c5a70000-0000-0000-0000-000000000002', 'c5a70000-0000-0000-0000-0000000000ff',
                               'c5a70000-0000-0000-0000-000000000001', 'c5a70000-0000-0000-0000-000000000004',
                               'c5a70000-0000-0000-0000-000000000002', 'c5a70000-0000-0000-0000-000000000003']::uuid[])
       WITH ORDINALITY AS s(experiment_id, status, element_id, element_name, selector, variant_id, variant_name,
                            is_control, weight, allocations, conversions, conversion_rate, ci_low, ci_high,
                            uplift, p_value, chance_to_beat_control, srm_p_value, variant_position, n)
 ORDER BY n;
-- the unknown id's row: everything but the id is NULL
SELECT count(*) AS rows,
       bool_and(s.experiment_id IS NOT NULL
                AND ROW(s.status, s.element_id, s.element_name, s.selector, s.variant_id, s.variant_name,
                        s.is_control, s.weight, s.allocations, s.conversions, s.conversion_rate, s.ci_low,
                        s.ci_high, s.uplift, s.p_value, s.chance_to_beat_control, s.srm_p_value,
                        s.variant_position) IS NULL) AS only_id_set
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-0000000000ff}') s;
-- element and variant ids are the right ones
SELECT count(*) AS variant_rows,
       count(*) FILTER (WHERE v.id IS NULL OR v.element_id <> s.element_id OR el.experiment_id <> s.experiment_id
                        OR v.name <> s.variant_name OR v.position <> s.variant_position
                        OR v.is_control <> s.is_control OR el.name <> s.element_name
                        OR el.selector IS DISTINCT FROM s.selector
                        OR e.status <> s.status) AS wrong
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001,c5a70000-0000-0000-0000-000000000002,
                           c5a70000-0000-0000-0000-000000000003,c5a70000-0000-0000-0000-000000000005}') s
  LEFT JOIN abtest.element_variants v ON v.id = s.variant_id
  LEFT JOIN abtest.experiment_elements el ON el.id = v.element_id
  LEFT JOIN abtest.experiments e ON e.id = el.experiment_id
 WHERE s.variant_id IS NOT NULL;
-- never NaN or infinite, anywhere
SELECT count(*) FILTER (WHERE x = 'NaN'::float8 OR x IN ('Infinity', '-Infinity')) AS nan_or_inf,
       count(*) AS numbers
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001,c5a70000-0000-0000-0000-000000000002,
                           c5a70000-0000-0000-0000-000000000003,c5a70000-0000-0000-0000-000000000005}') s,
       unnest(ARRAY[s.weight, s.conversion_rate, s.ci_low, s.ci_high, s.uplift, s.p_value,
                    s.chance_to_beat_control, s.srm_p_value]) x
 WHERE x IS NOT NULL;
-- an empty array: no rows; experiment 5 alone: its 12 variants
SELECT count(*) AS rows FROM abt_variant_stats('{}');
SELECT (SELECT count(*) FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000005}')) AS exp5_rows;

--
-- Counts: the exact counts from the assignments themselves (one visitor
-- counts for every variant in its variants map; conversions = visitors with
-- converted_at), the counter rows for experiment 5, and abtest.variant_totals.
--
CREATE TEMP TABLE truth AS
SELECT v.id AS variant_id, el.experiment_id, v.element_id, v.is_control,
       v.weight / nullif(sum(v.weight) OVER (PARTITION BY v.element_id), 0) AS norm_weight,
       coalesce(a.allocations, b.allocations, 0) AS allocations,
       coalesce(a.conversions, b.conversions, 0) AS conversions
  FROM abtest.element_variants v
  JOIN abtest.experiment_elements el ON el.id = v.element_id
  LEFT JOIN (SELECT m.value::uuid AS variant_id, count(*) AS allocations, count(a.converted_at) AS conversions
               FROM abtest.assignments a, jsonb_each_text(a.variants) m
              WHERE a.experiment_id::text LIKE 'c5a70000-%'
              GROUP BY 1) a ON a.variant_id = v.id
  LEFT JOIN big_counts b ON b.variant_id = v.id
 WHERE el.experiment_id::text LIKE 'c5a70000-%';
SELECT count(*) AS variants,
       count(*) FILTER (WHERE s.allocations <> t.allocations OR s.conversions <> t.conversions) AS differ_from_assignments,
       count(*) FILTER (WHERE s.allocations <> vt.total_allocations OR s.conversions <> vt.total_conversions) AS differ_from_totals
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001,c5a70000-0000-0000-0000-000000000002,
                           c5a70000-0000-0000-0000-000000000003,c5a70000-0000-0000-0000-000000000005}') s
  JOIN truth t ON t.variant_id = s.variant_id
  JOIN abtest.variant_totals vt ON vt.variant_id = s.variant_id;

--
-- References.
--
-- Wilson bounds: the roots of (1 + z^2/n) p^2 - (2 phat + z^2/n) p + phat^2 = 0
CREATE FUNCTION pg_temp.wilson(c bigint, n bigint, upper boolean) RETURNS float8 LANGUAGE sql AS $$
    SELECT ((-b + CASE WHEN upper THEN 1 ELSE -1 END * sqrt(b * b - 4 * a * cc)) / (2 * a))::float8
      FROM (SELECT 1 + z2 / n AS a, -(2 * ph + z2 / n) AS b, ph * ph AS cc
              FROM (SELECT 1.959963984540054::numeric ^ 2 AS z2, c::numeric / n AS ph) q) r
     WHERE n > 0
$$;
-- upper tail of the standard normal, z >= 0: Simpson's rule over [z, z + 12]
CREATE FUNCTION pg_temp.normal_tail(z float8) RETURNS float8 LANGUAGE sql AS $$
    SELECT sum(CASE WHEN k IN (0, 6000) THEN 1 WHEN k % 2 = 1 THEN 4 ELSE 2 END
               * exp(-0.5 * (z + k * 0.002) ^ 2)) * 0.002 / 3 / sqrt(2 * pi())
      FROM generate_series(0, 6000) k
$$;
-- two-sided p-value of the pooled two-proportion z-test (1 when the pooled rate is 0 or 1)
CREATE FUNCTION pg_temp.ztest_p(cv bigint, nv bigint, cc bigint, nc bigint) RETURNS float8 LANGUAGE sql AS $$
    SELECT CASE WHEN pooled IN (0, 1) THEN 1
                ELSE 2 * pg_temp.normal_tail(abs((cv::float8 / nv - cc::float8 / nc)
                                                 / sqrt(pooled * (1 - pooled) * (1.0 / nv + 1.0 / nc)))) END
      FROM (SELECT (cv + cc)::float8 / (nv + nc) AS pooled) p
     WHERE nv > 0 AND nc > 0
$$;
-- P(p_v > p_c), Beta(1 + c, 1 + n - c) posteriors, Evan Miller's sum
--   sum_{i=0}^{av-1} B(ac+i, bc+bv) / ((bv+i) B(1+i, bv) B(ac, bc)),
-- every term an exact ratio of factorials, truncated at 1e-40
CREATE FUNCTION pg_temp.ctb_exact(cv bigint, nv bigint, cc bigint, nc bigint) RETURNS numeric LANGUAGE sql AS $$
    SELECT sum(div(factorial(ac + i - 1) * factorial(bc + bv - 1) * factorial(i + bv) * factorial(ac + bc - 1)
                   * 10::numeric ^ 40,
                   factorial(ac + i + bc + bv - 1) * (bv + i) * factorial(i) * factorial(bv - 1)
                   * factorial(ac - 1) * factorial(bc - 1))) / 10::numeric ^ 40
      FROM (SELECT 1 + cv AS av, 1 + nv - cv AS bv, 1 + cc AS ac, 1 + nc - cc AS bc) p,
           generate_series(0, av - 1) i
$$;
-- chi-square survival function for df 1, 2, 3
CREATE FUNCTION pg_temp.chisq_sf(x float8, df int) RETURNS float8 LANGUAGE sql AS $$
    SELECT CASE df WHEN 1 THEN 2 * pg_temp.normal_tail(sqrt(x))
                   WHEN 2 THEN exp(-x / 2)
                   WHEN 3 THEN 2 * pg_temp.normal_tail(sqrt(x)) + sqrt(2 * x / pi()) * exp(-x / 2) END
$$;
-- the references themselves are right: a few textbook values
SELECT abs(2 * pg_temp.normal_tail(1.959963984540054) - 0.05) < 1e-12 AS tail_196,
       abs(pg_temp.normal_tail(0) - 0.5) < 1e-12 AS tail_0,
       abs(pg_temp.normal_tail(5) / 2.866515718791946e-7 - 1) < 1e-9 AS tail_5,
       abs(pg_temp.normal_tail(10) / 7.619853024160527e-24 - 1) < 1e-8 AS tail_10,
       pg_temp.ctb_exact(0, 0, 0, 0) = 0.5 AS ctb_uniform,
       -- Beta(2,1) vs Beta(1,1): P(X > Y) = integral of 2x * x = 2/3
       abs(pg_temp.ctb_exact(1, 1, 0, 0) - 2 / 3.0) < 1e-19 AS ctb_two_thirds,
       -- Wilson 0 of 10: upper bound z^2 / (n + z^2)
       abs(pg_temp.wilson(0, 10, true) - 1.959963984540054 ^ 2 / (10 + 1.959963984540054 ^ 2)) < 1e-15 AS wilson_zero,
       abs(pg_temp.chisq_sf(3.841458820694124, 1) - 0.05) < 1e-12 AS chisq_1,
       abs(pg_temp.chisq_sf(7.814727903251179, 3) - 0.05) < 1e-12 AS chisq_3;

-- chance to beat for the large counts of experiment 5 (node, see above:
-- the exact sum with a Stirling lgamma and brute-force integration agree
-- to 2e-7 on each)
CREATE TEMP TABLE ctb_large (variant_id uuid PRIMARY KEY, ref float8);
INSERT INTO ctb_large VALUES
    ('c5a70000-0000-0000-0002-000000000512', 0.998915834),
    ('c5a70000-0000-0000-0002-000000000522', 0.973042598),
    ('c5a70000-0000-0000-0002-000000000532', 0.820556780),
    ('c5a70000-0000-0000-0002-000000000542', 0.901646162);

CREATE TEMP TABLE reference AS
WITH t AS (
    SELECT t.*, c.allocations AS c_alloc, c.conversions AS c_conv,
           count(*) FILTER (WHERE t.norm_weight > 0) OVER w AS positive_weights,
           sum(t.allocations) OVER w AS element_total,
           bool_or(t.allocations > 0 AND NOT t.norm_weight > 0) OVER w AS impossible,
           sum(CASE WHEN t.norm_weight > 0 AND s.total > 0 THEN (t.allocations - t.norm_weight * s.total) ^ 2 / (t.norm_weight * s.total) END)
               OVER w AS chi2
      FROM truth t
      JOIN (SELECT element_id, sum(allocations) AS total FROM truth GROUP BY 1) s USING (element_id)
      LEFT JOIN truth c ON c.element_id = t.element_id AND c.is_control AND NOT t.is_control
    WINDOW w AS (PARTITION BY t.element_id))
SELECT variant_id, norm_weight,
       CASE WHEN allocations > 0 THEN conversions::float8 / allocations END AS rate,
       pg_temp.wilson(conversions, allocations, false) AS ci_low,
       pg_temp.wilson(conversions, allocations, true) AS ci_high,
       CASE WHEN allocations > 0 AND c_alloc > 0 AND c_conv > 0
            THEN (conversions::float8 / allocations - c_conv::float8 / c_alloc) / (c_conv::float8 / c_alloc) END AS uplift,
       pg_temp.ztest_p(conversions, allocations, c_conv, c_alloc) AS p_value,
       CASE WHEN allocations > 0 AND c_alloc > 0
            THEN coalesce((SELECT ref FROM ctb_large l WHERE l.variant_id = t.variant_id),
                          pg_temp.ctb_exact(conversions, allocations, c_conv, c_alloc)) END AS ctb,
       CASE WHEN element_total = 0 OR positive_weights IS NULL THEN NULL
            WHEN count(*) OVER (PARTITION BY element_id) < 2 THEN NULL
            WHEN positive_weights = 0 THEN NULL
            WHEN impossible THEN 0
            WHEN positive_weights < 2 THEN NULL
            ELSE pg_temp.chisq_sf(chi2, (positive_weights - 1)::int) END AS srm
  FROM t;

-- close: absolute difference below tol, or both NULL
CREATE FUNCTION pg_temp.close(got float8, ref float8, tol float8) RETURNS boolean LANGUAGE sql AS $$
    SELECT CASE WHEN got IS NULL OR ref IS NULL THEN got IS NULL AND ref IS NULL
                ELSE abs(got - ref) < tol END
$$;
-- relative: within rel of ref (for p-values down to 1e-20), or both NULL
CREATE FUNCTION pg_temp.rel(got float8, ref float8, rel float8) RETURNS boolean LANGUAGE sql AS $$
    SELECT CASE WHEN got IS NULL OR ref IS NULL THEN got IS NULL AND ref IS NULL
                ELSE abs(got - ref) <= rel * abs(ref) + 1e-300 END
$$;

--
-- Every variant's numbers against the references: the weight normalised
-- (1e-15), the rate (1e-15), the Wilson bounds (1e-12), the uplift
-- (relative 1e-12), the p-value (relative 1e-7: the Simpson reference), the
-- chance to beat (0.001, the requirement) and the SRM p-value (relative
-- 1e-7).  Both NULL counts as agreeing; the references are NULL exactly
-- where the number is meaningless (the shape above shows which).
--
SELECT right(s.experiment_id::text, 1) AS exp, s.element_name, s.variant_name,
       pg_temp.close(s.weight, r.norm_weight, 1e-15) AS weight,
       pg_temp.close(s.conversion_rate, r.rate, 1e-15) AS rate,
       pg_temp.close(s.ci_low, r.ci_low, 1e-12) AND pg_temp.close(s.ci_high, r.ci_high, 1e-12) AS wilson,
       pg_temp.rel(s.uplift, r.uplift, 1e-12) AS uplift,
       pg_temp.rel(s.p_value, r.p_value, 1e-7) AS p_value,
       pg_temp.close(s.chance_to_beat_control, r.ctb, 0.001) AS ctb,
       pg_temp.rel(s.srm_p_value, r.srm, 1e-7) AS srm
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001,c5a70000-0000-0000-0000-000000000002,
                           c5a70000-0000-0000-0000-000000000003,c5a70000-0000-0000-0000-000000000005}')
       WITH ORDINALITY s
  JOIN reference r USING (variant_id)
 ORDER BY s.ordinality;

-- Some of the references the checks above compare with (rounded; these are
-- the reference's values, not the function's): cta's SRM (df 1),
-- headline's (df 2), Y, B and C against their controls, and two pairs with
-- counts in the millions.
SELECT s.variant_name, to_char(r.srm, '9.999EEEE') AS srm_ref, to_char(r.p_value, '9.999EEEE') AS p_ref,
       round(r.ctb::numeric, 6) AS ctb_ref, round(r.ci_low::numeric, 6) AS ci_low_ref, round(r.ci_high::numeric, 6) AS ci_high_ref
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001,c5a70000-0000-0000-0000-000000000005}') WITH ORDINALITY s
  JOIN reference r USING (variant_id)
 WHERE s.variant_name IN ('B', 'Y', 'C', 'huge-variant', 'big-variant')
 ORDER BY s.ordinality;

-- abt_experiment_stats for one experiment (2: the edge cases), row by row
-- against what is computed here, not against abt_variant_stats: the rows in
-- element (position, id) and variant (position, id) order, one row for the
-- element without variants; ids, names, status and positions from the
-- tables; counts from the assignments (truth); the weight, rate, Wilson
-- bounds, uplift, p-value, chance to beat and SRM from the references, with
-- the tolerances above.  A missing or extra row shows as a row of f.
CREATE TEMP VIEW exp2_expected AS
SELECT row_number() OVER (ORDER BY el.position, el.id, v.position, v.id) AS n,
       e.id AS experiment_id, e.status, el.id AS element_id, el.name AS element_name, el.selector,
       v.id AS variant_id, v.name AS variant_name, v.is_control, v.position AS variant_position
  FROM abtest.experiments e
  JOIN abtest.experiment_elements el ON el.experiment_id = e.id
  LEFT JOIN abtest.element_variants v ON v.element_id = el.id
 WHERE e.id = 'c5a70000-0000-0000-0000-000000000002';
SELECT coalesce(x.n, s.ordinality) AS n, x.element_name, x.variant_name,
       (s.experiment_id, s.status, s.element_id, s.element_name, s.selector, s.variant_id, s.variant_name,
        s.is_control, s.variant_position)
         IS NOT DISTINCT FROM (x.experiment_id, x.status, x.element_id, x.element_name, x.selector, x.variant_id,
                               x.variant_name, x.is_control, x.variant_position)
         AND s.ordinality IS NOT NULL AND x.n IS NOT NULL AS identity,
       (s.allocations, s.conversions) IS NOT DISTINCT FROM (t.allocations, t.conversions) AS counts,
       pg_temp.close(s.weight, r.norm_weight, 1e-15) AS weight,
       pg_temp.close(s.conversion_rate, r.rate, 1e-15) AS rate,
       pg_temp.close(s.ci_low, r.ci_low, 1e-12) AND pg_temp.close(s.ci_high, r.ci_high, 1e-12) AS wilson,
       pg_temp.rel(s.uplift, r.uplift, 1e-12) AS uplift,
       pg_temp.rel(s.p_value, r.p_value, 1e-7) AS p_value,
       pg_temp.close(s.chance_to_beat_control, r.ctb, 0.001) AS ctb,
       pg_temp.rel(s.srm_p_value, r.srm, 1e-7) AS srm
  FROM abt_experiment_stats('c5a70000-0000-0000-0000-000000000002') WITH ORDINALITY s
  FULL JOIN exp2_expected x ON x.n = s.ordinality
  LEFT JOIN truth t ON t.variant_id = x.variant_id
  LEFT JOIN reference r ON r.variant_id = x.variant_id
 ORDER BY 1;
SELECT count(*) AS rows, bool_and(status IS NULL AND experiment_id = 'c5a70000-0000-0000-0000-0000000000fe') AS unknown
  FROM abt_experiment_stats('c5a70000-0000-0000-0000-0000000000fe');

--
-- Live: a committed conversion or assignment is in the very next call; a
-- rolled-back one never is.  (e1c-1 sees C and X; e1a-1 has converted.)
--
CREATE FUNCTION pg_temp.counts(variant uuid) RETURNS text LANGUAGE sql AS $$
    SELECT allocations || '/' || conversions
      FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001}') WHERE variant_id = variant
$$;
SELECT pg_temp.counts('c5a70000-0000-0000-0002-000000000112') AS c,
       pg_temp.counts('c5a70000-0000-0000-0002-000000000121') AS x;
BEGIN;
SELECT abt_convert('c5a70000-0000-0000-0000-000000000001', 'e1c-1') AS first_conversion;
-- the transaction sees its own conversion
SELECT pg_temp.counts('c5a70000-0000-0000-0002-000000000112') AS c_in_transaction;
ROLLBACK;
SELECT pg_temp.counts('c5a70000-0000-0000-0002-000000000112') AS c_after_rollback,
       pg_temp.counts('c5a70000-0000-0000-0002-000000000121') AS x_after_rollback;
SELECT abt_convert('c5a70000-0000-0000-0000-000000000001', 'e1c-1') AS first_conversion;
SELECT pg_temp.counts('c5a70000-0000-0000-0002-000000000112') AS c,
       pg_temp.counts('c5a70000-0000-0000-0002-000000000121') AS x;
-- a later conversion of the same visitor counts nothing more
SELECT abt_convert('c5a70000-0000-0000-0000-000000000001', 'e1c-1') AS first_conversion;
SELECT pg_temp.counts('c5a70000-0000-0000-0002-000000000112') AS c;
-- a new visitor (weights now A 2, B 1, C 1: whichever it gets, one more allocation)
BEGIN;
SELECT abt_assign('c5a70000-0000-0000-0000-000000000001', 'late-1') ->> 'new' AS new;
ROLLBACK;
SELECT sum(allocations) AS headline_after_rollback
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001}') WHERE element_name = 'headline';
SELECT abt_assign('c5a70000-0000-0000-0000-000000000001', 'late-1') ->> 'new' AS new;
SELECT sum(allocations) AS headline, sum(conversions) AS headline_conversions
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001}') WHERE element_name = 'headline';
-- still equal to the assignments and to variant_totals
SELECT count(*) FILTER (WHERE s.allocations <> a.allocations OR s.conversions <> a.conversions
                        OR s.allocations <> vt.total_allocations OR s.conversions <> vt.total_conversions) AS differ
  FROM abt_variant_stats('{c5a70000-0000-0000-0000-000000000001}') s
  JOIN (SELECT m.value::uuid AS variant_id, count(*) AS allocations, count(a.converted_at) AS conversions
          FROM abtest.assignments a, jsonb_each_text(a.variants) m
         WHERE a.experiment_id = 'c5a70000-0000-0000-0000-000000000001' GROUP BY 1) a USING (variant_id)
  JOIN abtest.variant_totals vt USING (variant_id);

-- Errors: a NULL array or a NULL in it (22004).
SELECT pg_temp.sqlstate_of('SELECT * FROM abt_variant_stats(NULL)') AS null_array,
       pg_temp.sqlstate_of('SELECT * FROM abt_variant_stats(''{c5a70000-0000-0000-0000-000000000001,NULL}'')') AS null_element,
       pg_temp.sqlstate_of('SELECT * FROM abt_experiment_stats(NULL)') AS null_id;

-- clean up
DELETE FROM abtest.experiments WHERE id::text LIKE 'c5a70000-%';
SELECT count(*) AS leftover_counters FROM abtest.variant_counters WHERE experiment_id::text LIKE 'c5a70000-%';
