--
-- forced_variants: an owner pins a visitor to a variant of an element.
-- Pinned visitors see the pins ("forced": true), in draft, active and
-- paused experiments, not in completed ones; they are never stored nor
-- counted; unpinning restores normal assignment; a pin change reaches a
-- backend's cached configuration; a pin to a variant of another element or
-- experiment is rejected (SQLSTATE 23503), nothing written.
-- Ids of this file: d1210000-....
--
\i test/sql/include/err.sql
-- what the visitor sees: flags and variant per element
CREATE FUNCTION pg_temp.sees(e uuid, v text) RETURNS text LANGUAGE sql AS $$
    SELECT format('enrolled=%s new=%s forced=%s %s', a->>'enrolled', a->>'new',
                  coalesce(a->>'forced', '-'),
                  (SELECT string_agg((x->>'element') || ':' || (x->>'variant'), ' ' ORDER BY x->>'element')
                     FROM jsonb_array_elements(a->'elements') x))
      FROM abt_assign(e, v) a
$$;
-- rows the assignment path writes for this file's experiments
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
    SELECT format('assignments=%s allocations=%s timeline=%s',
                  (SELECT count(*) FROM abtest.assignments WHERE experiment_id::text LIKE 'd1210000-%'),
                  (SELECT coalesce(sum(allocations), 0) FROM abtest.variant_counters WHERE experiment_id::text LIKE 'd1210000-%'),
                  (SELECT coalesce(sum(assignments), 0) FROM abtest.experiment_timeline WHERE experiment_id::text LIKE 'd1210000-%'))
$$;

INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('d1210000-0000-0000-0000-000000000001', 'pins', 'active', 'pins'),
    ('d1210000-0000-0000-0000-000000000002', 'other', 'active', 'other');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed, position) VALUES
    ('d1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0000-000000000001', 'headline', 'h', 0),
    ('d1210000-0000-0000-0001-000000000012', 'd1210000-0000-0000-0000-000000000001', 'button', 'b', 1),
    ('d1210000-0000-0000-0001-000000000021', 'd1210000-0000-0000-0000-000000000002', 'other', 'o', 0);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, weight) VALUES
    ('d1210000-0000-0000-0002-000000000111', 'd1210000-0000-0000-0001-000000000011', 'h-control', true, 1),
    ('d1210000-0000-0000-0002-000000000112', 'd1210000-0000-0000-0001-000000000011', 'h-never', false, 0),
    ('d1210000-0000-0000-0002-000000000121', 'd1210000-0000-0000-0001-000000000012', 'b-control', true, 1),
    ('d1210000-0000-0000-0002-000000000122', 'd1210000-0000-0000-0001-000000000012', 'b-never', false, 0),
    ('d1210000-0000-0000-0002-000000000211', 'd1210000-0000-0000-0001-000000000021', 'o-control', true, 1);

-- before any pin: normal assignment (weight 0 variants are never chosen)
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'returning');
SELECT pg_temp.written();

-- bad pins: SQLSTATE, nothing written
SELECT label, pg_temp.err(format($$INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id)
                                   VALUES (%L, %L, %L, %L)$$, e, u, el, v)) AS result
  FROM (VALUES
    ('variant of another element', 'd1210000-0000-0000-0000-000000000001', 'qa', 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000121'),
    ('element of another experiment', 'd1210000-0000-0000-0000-000000000001', 'qa', 'd1210000-0000-0000-0001-000000000021', 'd1210000-0000-0000-0002-000000000211'),
    ('unknown variant', 'd1210000-0000-0000-0000-000000000001', 'qa', 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000999'),
    ('unknown experiment', 'd1210000-0000-0000-0000-000000000009', 'qa', 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000112'),
    ('empty visitor', 'd1210000-0000-0000-0000-000000000001', '', 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000112'),
    ('257-character visitor', 'd1210000-0000-0000-0000-000000000001', repeat('x', 257), 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000112')
  ) v(label, e, u, el, v);
SELECT count(*) AS pins FROM abtest.forced_variants WHERE experiment_id::text LIKE 'd1210000-%';

-- pins: a new visitor (qa) on one element, the returning visitor on both;
-- the configuration cached above is replaced (config_version)
INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id, note) VALUES
    ('d1210000-0000-0000-0000-000000000001', 'qa', 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000112', 'QA'),
    ('d1210000-0000-0000-0000-000000000001', 'returning', 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000112', NULL),
    ('d1210000-0000-0000-0000-000000000001', 'returning', 'd1210000-0000-0000-0001-000000000012', 'd1210000-0000-0000-0002-000000000122', NULL);
SELECT pg_temp.err($$UPDATE abtest.forced_variants SET variant_id = 'd1210000-0000-0000-0002-000000000121'
                      WHERE user_id = 'qa'$$) AS bad_update;
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'qa');
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'qa');
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'returning');
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'someone else');
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000002', 'qa');
-- the batch applies them too
SELECT jsonb_path_query_array(abt_assign_batch(ARRAY['d1210000-0000-0000-0000-000000000002',
                                                     'd1210000-0000-0000-0000-000000000001']::uuid[], 'qa'),
                              '$[*].forced') AS forced_flags;
-- pinned visitors are neither stored nor counted (someone else and qa's
-- visit of the other experiment are)
SELECT pg_temp.written();
SELECT user_id FROM abtest.assignments WHERE experiment_id = 'd1210000-0000-0000-0000-000000000001' ORDER BY 1;
-- a conversion of the pinned new visitor records nothing
SELECT abt_convert('d1210000-0000-0000-0000-000000000001', 'qa') AS qa_converted;

-- paused and draft experiments show pins (QA previews), completed ones not
UPDATE abtest.experiments SET status = 'draft' WHERE id = 'd1210000-0000-0000-0000-000000000001';
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'qa');
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'nobody');
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'd1210000-0000-0000-0000-000000000001';
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'qa');
UPDATE abtest.experiments SET status = 'completed' WHERE id = 'd1210000-0000-0000-0000-000000000001';
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'qa');
UPDATE abtest.experiments SET status = 'active' WHERE id = 'd1210000-0000-0000-0000-000000000001';

-- unpinning restores normal assignment: qa is a new visitor now, returning
-- sees its stored variants again
DELETE FROM abtest.forced_variants WHERE experiment_id = 'd1210000-0000-0000-0000-000000000001';
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'qa');
SELECT pg_temp.sees('d1210000-0000-0000-0000-000000000001', 'returning');
SELECT pg_temp.written();

-- deleting a variant deletes its pins
INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id) VALUES
    ('d1210000-0000-0000-0000-000000000001', 'qa2', 'd1210000-0000-0000-0001-000000000011', 'd1210000-0000-0000-0002-000000000112');
DELETE FROM abtest.element_variants WHERE id = 'd1210000-0000-0000-0002-000000000112';
SELECT count(*) AS pins_left FROM abtest.forced_variants WHERE experiment_id::text LIKE 'd1210000-%';
