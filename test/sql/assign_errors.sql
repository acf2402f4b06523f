--
-- assign_errors: every documented error of abt_assign, abt_assign_batch and
-- abt_assign_bulk with its SQLSTATE, the configurations that can't enrol,
-- and the table constraints.  After each group the rows of every table a
-- call writes are counted again: an error writes nothing.
-- Ids of this file: a3000000-....
--
\i test/sql/include/err.sql
-- rows of every table abt_assign writes, for this file's experiments but
-- the huge-weights one
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
    SELECT format('assignments=%s counters=%s timeline=%s variant_rollups=%s',
                  (SELECT count(*) FROM abtest.assignments WHERE experiment_id::text LIKE 'a3000000-%' AND experiment_id <> 'a3000000-0000-0000-0000-000000000005'),
                  (SELECT count(*) FROM abtest.variant_counters WHERE experiment_id::text LIKE 'a3000000-%' AND experiment_id <> 'a3000000-0000-0000-0000-000000000005'),
                  (SELECT count(*) FROM abtest.experiment_timeline WHERE experiment_id::text LIKE 'a3000000-%' AND experiment_id <> 'a3000000-0000-0000-0000-000000000005'),
                  (SELECT count(*) FROM abtest.variant_rollups WHERE experiment_id::text LIKE 'a3000000-%' AND experiment_id <> 'a3000000-0000-0000-0000-000000000005'))
$$;

-- 1: a working experiment; 2: no elements; 3: an element without variants;
-- 4: only weight-0 variants; 5: huge but finite weights
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('a3000000-0000-0000-0000-000000000001', 'ok', 'active'),
    ('a3000000-0000-0000-0000-000000000002', 'no elements', 'active'),
    ('a3000000-0000-0000-0000-000000000003', 'no variants', 'active'),
    ('a3000000-0000-0000-0000-000000000004', 'zero weights', 'active'),
    ('a3000000-0000-0000-0000-000000000005', 'huge weights', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('a3000000-0000-0000-0001-000000000011', 'a3000000-0000-0000-0000-000000000001', 'el', 0),
    ('a3000000-0000-0000-0001-000000000031', 'a3000000-0000-0000-0000-000000000003', 'has variants', 0),
    ('a3000000-0000-0000-0001-000000000032', 'a3000000-0000-0000-0000-000000000003', 'empty', 1),
    ('a3000000-0000-0000-0001-000000000041', 'a3000000-0000-0000-0000-000000000004', 'weightless', 0),
    ('a3000000-0000-0000-0001-000000000051', 'a3000000-0000-0000-0000-000000000005', 'heavy', 0);
INSERT INTO abtest.element_variants (id, element_id, name, weight, is_control) VALUES
    ('a3000000-0000-0000-0002-000000000111', 'a3000000-0000-0000-0001-000000000011', 'A', 1, true),
    ('a3000000-0000-0000-0002-000000000112', 'a3000000-0000-0000-0001-000000000011', 'B', 1, false),
    ('a3000000-0000-0000-0002-000000000311', 'a3000000-0000-0000-0001-000000000031', 'A', 1, false),
    ('a3000000-0000-0000-0002-000000000411', 'a3000000-0000-0000-0001-000000000041', 'A', 0, false),
    ('a3000000-0000-0000-0002-000000000412', 'a3000000-0000-0000-0001-000000000041', 'B', 0, false),
    ('a3000000-0000-0000-0002-000000000511', 'a3000000-0000-0000-0001-000000000051', 'A', 1e308, false),
    ('a3000000-0000-0000-0002-000000000512', 'a3000000-0000-0000-0001-000000000051', 'B', 1e308, false);

-- visitor ids of 256 characters are accepted (counted in characters)
SELECT length(v) AS chars, octet_length(v) AS bytes,
       abt_assign('a3000000-0000-0000-0000-000000000001', v, '2024-06-01')->>'enrolled' AS enrolled
  FROM (VALUES (repeat('x', 256)), (repeat(U&'\00e9', 256)), (repeat(U&'\+01f600', 256))) t(v);
SELECT pg_temp.written();

-- abt_assign
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('null experiment', $$SELECT abt_assign(NULL, 'v')$$),
    ('null visitor', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000001', NULL)$$),
    ('null time', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000001', 'v', NULL)$$),
    ('empty visitor', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000001', '')$$),
    ('257 characters', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000001', repeat('x', 257))$$),
    ('257 multibyte', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000001', repeat(U&'\+01f600', 257))$$),
    ('unknown experiment', $$SELECT abt_assign('a3000000-0000-0000-0000-0000000000ff', 'v')$$),
    ('no elements', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000002', 'v')$$),
    ('element without variants', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000003', 'v')$$),
    ('all weights zero', $$SELECT abt_assign('a3000000-0000-0000-0000-000000000004', 'v')$$)
  ) t(label, q);
SELECT pg_temp.written();

-- abt_assign_batch: one bad experiment fails the call, the good one included
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('null array', $$SELECT abt_assign_batch(NULL, 'v')$$),
    ('null in array', $$SELECT abt_assign_batch(ARRAY['a3000000-0000-0000-0000-000000000001', NULL]::uuid[], 'v')$$),
    ('null visitor', $$SELECT abt_assign_batch(ARRAY['a3000000-0000-0000-0000-000000000001']::uuid[], NULL)$$),
    ('null time', $$SELECT abt_assign_batch(ARRAY['a3000000-0000-0000-0000-000000000001']::uuid[], 'v', NULL)$$),
    ('empty visitor', $$SELECT abt_assign_batch(ARRAY['a3000000-0000-0000-0000-000000000001']::uuid[], '')$$),
    ('257 characters', $$SELECT abt_assign_batch(ARRAY['a3000000-0000-0000-0000-000000000001']::uuid[], repeat('x', 257))$$),
    ('unknown experiment', $$SELECT abt_assign_batch(ARRAY['a3000000-0000-0000-0000-000000000001',
                                                           'a3000000-0000-0000-0000-0000000000ff']::uuid[], 'v')$$),
    ('no elements', $$SELECT abt_assign_batch(ARRAY['a3000000-0000-0000-0000-000000000001',
                                                    'a3000000-0000-0000-0000-000000000002']::uuid[], 'v')$$)
  ) t(label, q);
SELECT pg_temp.written();

-- abt_assign_bulk: one bad visitor id fails the call, the good ones included
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('null experiment', $$SELECT * FROM abt_assign_bulk(NULL, ARRAY['v'])$$),
    ('null array', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-000000000001', NULL)$$),
    ('null time', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-000000000001', ARRAY['v'], NULL)$$),
    ('null in array', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-000000000001', ARRAY['v', NULL])$$),
    ('empty in array', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-000000000001', ARRAY['v', ''])$$),
    ('257 in array', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-000000000001', ARRAY['v', repeat('x', 257)])$$),
    ('unknown experiment', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-0000000000ff', ARRAY['v'])$$),
    ('no elements', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-000000000002', ARRAY['v'])$$),
    ('all weights zero', $$SELECT * FROM abt_assign_bulk('a3000000-0000-0000-0000-000000000004', ARRAY['v'])$$)
  ) t(label, q);
SELECT pg_temp.written();

-- An unenrollable configuration only fails when a new visitor would be
-- enrolled: not at coverage 0, not when paused or draft, and not for a
-- visitor assigned before an element lost its variants.
UPDATE abtest.experiments SET coverage = 0 WHERE id = 'a3000000-0000-0000-0000-000000000002';
SELECT pg_temp.err($$SELECT abt_assign('a3000000-0000-0000-0000-000000000002', 'v')$$) AS coverage_0;
UPDATE abtest.experiments SET coverage = 1, status = 'paused' WHERE id = 'a3000000-0000-0000-0000-000000000002';
SELECT pg_temp.err($$SELECT abt_assign('a3000000-0000-0000-0000-000000000002', 'v')$$) AS paused;
UPDATE abtest.experiments SET status = 'draft' WHERE id = 'a3000000-0000-0000-0000-000000000002';
SELECT pg_temp.err($$SELECT abt_assign('a3000000-0000-0000-0000-000000000002', 'v')$$) AS draft;
SELECT abt_assign('a3000000-0000-0000-0000-000000000001', 'early', '2024-06-01')->'elements'->0->>'variant' AS early;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('a3000000-0000-0000-0001-000000000012', 'a3000000-0000-0000-0000-000000000001', 'late empty', 1);
SELECT pg_temp.err($$SELECT abt_assign('a3000000-0000-0000-0000-000000000001', 'early')$$) AS returning_visitor,
       pg_temp.err($$SELECT abt_assign('a3000000-0000-0000-0000-000000000001', 'late')$$) AS new_visitor;
DELETE FROM abtest.experiment_elements WHERE id = 'a3000000-0000-0000-0001-000000000012';
SELECT pg_temp.written();

-- Weights of 1e308 are valid (finite); normalised they are 0.5 and 0.5.
SELECT abt_assign('a3000000-0000-0000-0000-000000000005', 'h' || i, '2024-06-01')->'elements'->0->>'variant'
       = CASE WHEN abt_gbhash('a3000000-0000-0000-0001-000000000051', 'h' || i) < 0.5 THEN 'A' ELSE 'B' END AS ok,
       count(*)
  FROM generate_series(1, 20) i GROUP BY 1;

-- An infinite time must not corrupt the rollups: it is either rejected or
-- counted, with its conversion, in one bucket (the infinite one).
DO $$
BEGIN
    PERFORM abt_assign('a3000000-0000-0000-0000-000000000001', 'inf', 'infinity');
    PERFORM abt_convert('a3000000-0000-0000-0000-000000000001', 'inf', 'conversion', NULL, '2024-06-02');
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
DO $$
BEGIN
    PERFORM abt_assign('a3000000-0000-0000-0000-000000000001', 'ninf', '-infinity');
    PERFORM abt_convert('a3000000-0000-0000-0000-000000000001', 'ninf', 'conversion', NULL, '2024-06-02');
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
SELECT count(*) AS timeline_mismatches
  FROM (SELECT bucket, sum(assignments) AS a, sum(conversions) AS c FROM abtest.experiment_timeline
         WHERE experiment_id = 'a3000000-0000-0000-0000-000000000001' GROUP BY 1) t
  FULL JOIN (SELECT CASE WHEN isfinite(assigned_at)
                         THEN to_timestamp(floor(extract(epoch FROM assigned_at) / 900) * 900)
                         ELSE assigned_at END AS bucket,
                    count(*) AS a, count(converted_at) AS c
               FROM abtest.assignments WHERE experiment_id = 'a3000000-0000-0000-0000-000000000001'
              GROUP BY 1) d USING (bucket)
 WHERE (t.a, t.c) IS DISTINCT FROM (d.a, d.c);
DELETE FROM abtest.assignments WHERE user_id IN ('inf', 'ninf');
DELETE FROM abtest.experiment_timeline WHERE experiment_id = 'a3000000-0000-0000-0000-000000000001'
   AND (NOT isfinite(bucket) OR bucket > '10000-01-01');
DELETE FROM abtest.variant_timeline WHERE experiment_id = 'a3000000-0000-0000-0000-000000000001'
   AND (NOT isfinite(bucket) OR bucket > '10000-01-01');

--
-- Table constraints reject invalid configurations.
--
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('negative weight', $$UPDATE abtest.element_variants SET weight = -1 WHERE id = 'a3000000-0000-0000-0002-000000000112'$$),
    ('NaN weight', $$UPDATE abtest.element_variants SET weight = 'NaN' WHERE id = 'a3000000-0000-0000-0002-000000000112'$$),
    ('infinite weight', $$UPDATE abtest.element_variants SET weight = 'Infinity' WHERE id = 'a3000000-0000-0000-0002-000000000112'$$),
    ('null weight', $$UPDATE abtest.element_variants SET weight = NULL WHERE id = 'a3000000-0000-0000-0002-000000000112'$$),
    ('second control', $$UPDATE abtest.element_variants SET is_control = true WHERE id = 'a3000000-0000-0000-0002-000000000112'$$),
    ('second control insert', $$INSERT INTO abtest.element_variants (element_id, name, is_control)
                                VALUES ('a3000000-0000-0000-0001-000000000011', 'C', true)$$),
    ('coverage above 1', $$UPDATE abtest.experiments SET coverage = 1.0001 WHERE id = 'a3000000-0000-0000-0000-000000000001'$$),
    ('negative coverage', $$UPDATE abtest.experiments SET coverage = -0.1 WHERE id = 'a3000000-0000-0000-0000-000000000001'$$),
    ('NaN coverage', $$UPDATE abtest.experiments SET coverage = 'NaN' WHERE id = 'a3000000-0000-0000-0000-000000000001'$$),
    ('unknown status', $$UPDATE abtest.experiments SET status = 'running' WHERE id = 'a3000000-0000-0000-0000-000000000001'$$),
    ('null status', $$UPDATE abtest.experiments SET status = NULL WHERE id = 'a3000000-0000-0000-0000-000000000001'$$),
    ('empty experiment seed', $$UPDATE abtest.experiments SET seed = '' WHERE id = 'a3000000-0000-0000-0000-000000000001'$$),
    ('empty element seed', $$UPDATE abtest.experiment_elements SET seed = '' WHERE id = 'a3000000-0000-0000-0001-000000000011'$$),
    ('element of no experiment', $$INSERT INTO abtest.experiment_elements (experiment_id, name)
                                   VALUES ('a3000000-0000-0000-0000-0000000000ff', 'x')$$),
    ('variant of no element', $$INSERT INTO abtest.element_variants (element_id, name)
                                VALUES ('a3000000-0000-0000-0001-0000000000ff', 'x')$$),
    ('empty visitor row', $$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                            VALUES ('a3000000-0000-0000-0000-000000000001', '', '{}')$$),
    ('257-character visitor row', $$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                                    VALUES ('a3000000-0000-0000-0000-000000000001', repeat('x', 257), '{}')$$),
    ('unknown lead status', $$INSERT INTO abtest.leads (status) VALUES ('lost')$$)
  ) t(label, q);
-- valid edge values are accepted (and rolled back)
BEGIN;
SELECT pg_temp.err($$UPDATE abtest.element_variants SET weight = 0 WHERE id = 'a3000000-0000-0000-0002-000000000112'$$) AS weight_0,
       pg_temp.err($$UPDATE abtest.element_variants SET weight = 1e308 WHERE id = 'a3000000-0000-0000-0002-000000000112'$$) AS weight_1e308,
       pg_temp.err($$UPDATE abtest.experiments SET coverage = 0 WHERE id = 'a3000000-0000-0000-0000-000000000001'$$) AS coverage_0,
       pg_temp.err($$UPDATE abtest.experiments SET coverage = 1 WHERE id = 'a3000000-0000-0000-0000-000000000001'$$) AS coverage_1,
       pg_temp.err($$UPDATE abtest.element_variants SET is_control = true WHERE id = 'a3000000-0000-0000-0002-000000000311'$$) AS control_other_element;
ROLLBACK;
SELECT v.name, v.weight, v.is_control FROM abtest.element_variants v
 WHERE v.element_id = 'a3000000-0000-0000-0001-000000000011' ORDER BY v.id;
SELECT pg_temp.written();
