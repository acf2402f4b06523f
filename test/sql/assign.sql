--
-- assign: abt_assign, abt_assign_batch and abt_assign_bulk -- the answer,
-- stickiness, status semantics, counters, timeline rollups and settling.
-- Every id is fixed and every call passes its time, so the output is stable.
-- Ids of this file: a2000000-....
--
-- one line per answer: status, flags, element=variant in answer order
CREATE FUNCTION pg_temp.show(a jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s enrolled=%s new=%s converted=%s [%s]', a->>'status', a->>'enrolled',
                  a->>'new', coalesce(a->>'converted', '-'),
                  (SELECT string_agg((e->>'element') || '=' || (e->>'variant'), ' ' ORDER BY o)
                     FROM jsonb_array_elements(a->'elements') WITH ORDINALITY x(e, o)))
$$;
-- rows an assignment call may write, over every table it writes
CREATE FUNCTION pg_temp.written(exp uuid) RETURNS text LANGUAGE sql AS $$
    SELECT format('assignments=%s counters=%s timeline=%s variant_timeline=%s',
                  (SELECT count(*) FROM abtest.assignments WHERE experiment_id = exp),
                  (SELECT coalesce(sum(allocations), 0) FROM abtest.variant_counters WHERE experiment_id = exp),
                  (SELECT coalesce(sum(assignments), 0) FROM abtest.experiment_timeline WHERE experiment_id = exp),
                  (SELECT coalesce(sum(assignments), 0) FROM abtest.variant_rollups WHERE experiment_id = exp))
$$;

-- experiments 1, 2 and 3 share every seed, weight and position
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('a2000000-0000-0000-0000-000000000001', 'landing', 'active', 'as-exp'),
    ('a2000000-0000-0000-0000-000000000002', 'landing copy', 'active', 'as-exp'),
    ('a2000000-0000-0000-0000-000000000003', 'landing draft', 'draft', 'as-exp');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, seed, position)
SELECT ('a2000000-0000-0000-0001-0000000000' || e || el)::uuid,
       ('a2000000-0000-0000-0000-00000000000' || e)::uuid,
       (ARRAY['headline', 'cta'])[el], (ARRAY['h1', NULL])[el], 'as-el-' || el, el
  FROM generate_series(1, 3) e, generate_series(1, 2) el;
INSERT INTO abtest.element_variants (id, element_id, name, content, is_control, position)
SELECT ('a2000000-0000-0000-0002-000000000' || e || el || v)::uuid,
       ('a2000000-0000-0000-0001-0000000000' || e || el)::uuid,
       (ARRAY['A', 'B', 'C'])[v], jsonb_build_object('text', 'el' || el || ' v' || v), v = 1, v
  FROM generate_series(1, 3) e, generate_series(1, 2) el, generate_series(1, el + 1) v;

--
-- The answer.  A new visitor: new = true, then the same answer with new =
-- false; converted only when enrolled; no per-visitor timestamp (README).
--
SELECT jsonb_pretty(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice',
                               '2024-05-01 10:00:00+00') - 'assigned_at');
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 11:00:00+00'));
SELECT array_agg(k ORDER BY k) AS enrolled_keys
  FROM jsonb_object_keys(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice')) k;
SELECT array_agg(k ORDER BY k) AS not_enrolled_keys
  FROM jsonb_object_keys(abt_assign('a2000000-0000-0000-0000-000000000003', 'alice')) k;
-- assigned_at is the time of the first call, in the table
SELECT assigned_at, converted_at, variants = '{"a2000000-0000-0000-0001-000000000011": "a2000000-0000-0000-0002-000000000111",
                                              "a2000000-0000-0000-0001-000000000012": "a2000000-0000-0000-0002-000000000123"}' AS variants_ok
  FROM abtest.assignments WHERE experiment_id = 'a2000000-0000-0000-0000-000000000001' AND user_id = 'alice';
SELECT NOT (abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2030-01-01') ? 'assigned_at')
       AS answer_has_no_timestamp;
-- the default time is now()
BEGIN;
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'carol'));
SELECT assigned_at = now() AS assigned_now FROM abtest.assignments
 WHERE experiment_id = 'a2000000-0000-0000-0000-000000000001' AND user_id = 'carol';
ROLLBACK;

-- Same seeds, same choices: experiments 1 and 2 agree on 200 visitors.
SELECT count(*) AS visitors,
       count(*) FILTER (WHERE pg_temp.show(a1) <> pg_temp.show(a2)) AS differ,
       count(DISTINCT pg_temp.show(a1)) AS combinations
  FROM (SELECT abt_assign('a2000000-0000-0000-0000-000000000001', 'same-' || i, '2024-05-01 10:05:00+00') AS a1,
               abt_assign('a2000000-0000-0000-0000-000000000002', 'same-' || i, '2024-05-01 10:05:00+00') AS a2
          FROM generate_series(1, 200) i) s;

-- ... and the choices are GrowthBook's, computed here independently of the
-- C code: each element picks the variant whose range [lo, lo + w) holds
-- abt_gbhash(element seed, visitor), w the weight divided by the element's
-- total, ranges laid end to end in (position, id) order (getBucketRanges,
-- chooseVariation).  A deterministic choice that ignored weights, seeds or
-- order would still pass the check above, not this one.
CREATE FUNCTION pg_temp.gb_choice(el uuid, visitor text) RETURNS text LANGUAGE sql AS $$
    WITH v AS (SELECT v.name, v.position, v.id, v.weight / sum(v.weight) OVER () AS w
                 FROM abtest.element_variants v WHERE v.element_id = el),
         r AS (SELECT name, w, coalesce(sum(w) OVER (ORDER BY position, id
                                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS lo
                 FROM v)
    SELECT r.name FROM r, abtest.experiment_elements e
     WHERE e.id = el AND abt_gbhash(e.seed, visitor) >= r.lo AND abt_gbhash(e.seed, visitor) < r.lo + r.w
$$;
-- the variant each element shows, against the one computed
CREATE FUNCTION pg_temp.gb_mismatches(exp uuid, visitors text[]) RETURNS TABLE (answers bigint, mismatches bigint)
LANGUAGE sql AS $$
    SELECT count(*), count(*) FILTER (WHERE (e->>'variant') IS DISTINCT FROM pg_temp.gb_choice((e->>'element_id')::uuid, u))
      FROM unnest(visitors) u, jsonb_array_elements(abt_assign(exp, u, '2024-05-01 10:05:00+00')->'elements') e
$$;
SELECT * FROM pg_temp.gb_mismatches('a2000000-0000-0000-0000-000000000001', ARRAY(SELECT 'same-' || i FROM generate_series(1, 200) i));
-- Weighted elements: promo 90/10, layout 1/0/1 (a weight-0 variant between
-- two others), split 3/2 (normalised by the sum, as GrowthBook's weights
-- are: visitor b3906 hashes to exactly 0.6, the boundary, and gets S2, as in
-- GrowthBook; scaling by the largest weight first put it at 0.6000000000000001);
-- 1000 visitors.
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('a2000000-0000-0000-0000-000000000004', 'weighted', 'active', 'as-w');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed, position) VALUES
    ('a2000000-0000-0000-0001-000000000041', 'a2000000-0000-0000-0000-000000000004', 'promo', 'as-w-1', 1),
    ('a2000000-0000-0000-0001-000000000042', 'a2000000-0000-0000-0000-000000000004', 'layout', 'as-w-2', 2),
    ('a2000000-0000-0000-0001-000000000043', 'a2000000-0000-0000-0000-000000000004', 'split', 'bseed', 3);
INSERT INTO abtest.element_variants (id, element_id, name, weight, is_control, position) VALUES
    ('a2000000-0000-0000-0002-000000000411', 'a2000000-0000-0000-0001-000000000041', 'P90', 9, true, 1),
    ('a2000000-0000-0000-0002-000000000412', 'a2000000-0000-0000-0001-000000000041', 'P10', 1, false, 2),
    ('a2000000-0000-0000-0002-000000000421', 'a2000000-0000-0000-0001-000000000042', 'L1', 1, true, 1),
    ('a2000000-0000-0000-0002-000000000422', 'a2000000-0000-0000-0001-000000000042', 'L0', 0, false, 2),
    ('a2000000-0000-0000-0002-000000000423', 'a2000000-0000-0000-0001-000000000042', 'L2', 1, false, 3),
    ('a2000000-0000-0000-0002-000000000431', 'a2000000-0000-0000-0001-000000000043', 'S3', 3, true, 1),
    ('a2000000-0000-0000-0002-000000000432', 'a2000000-0000-0000-0001-000000000043', 'S2', 2, false, 2);
SELECT * FROM pg_temp.gb_mismatches('a2000000-0000-0000-0000-000000000004', ARRAY(SELECT 'w-' || i FROM generate_series(1, 1000) i));
SELECT abt_gbhash('bseed', 'b3906') AS boundary_hash, e->>'variant' AS variant
  FROM jsonb_array_elements(abt_assign('a2000000-0000-0000-0000-000000000004', 'b3906')->'elements') e
 WHERE e->>'element' = 'split';
SELECT e->>'element' AS element, e->>'variant' AS variant, count(*)
  FROM generate_series(1, 1000) i,
       jsonb_array_elements(abt_assign('a2000000-0000-0000-0000-000000000004', 'w-' || i)->'elements') e
 GROUP BY 1, 2 ORDER BY 1 DESC, 2;
DELETE FROM abtest.experiments WHERE id = 'a2000000-0000-0000-0000-000000000004';

--
-- Stickiness: make headline B and cta B certain.  alice (A, C) keeps her
-- variants; new visitors all get B and B.
--
UPDATE abtest.element_variants SET weight = 0
 WHERE element_id IN ('a2000000-0000-0000-0001-000000000011', 'a2000000-0000-0000-0001-000000000012')
   AND name <> 'B';
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 12:00:00+00'));
SELECT pg_temp.show(a), count(*)
  FROM (SELECT abt_assign('a2000000-0000-0000-0000-000000000001', 'sticky-' || i, '2024-05-01 12:00:00+00') AS a
          FROM generate_series(1, 50) i) s GROUP BY 1;
-- returning visitors of the old weights keep theirs: same as experiment 2
SELECT count(*) FILTER (WHERE pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'same-' || i, '2024-05-01 12:00:00+00'))
                        <> pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000002', 'same-' || i, '2024-05-01 12:00:00+00'))) AS changed
  FROM generate_series(1, 200) i;
UPDATE abtest.element_variants SET weight = 1
 WHERE element_id IN ('a2000000-0000-0000-0001-000000000011', 'a2000000-0000-0000-0001-000000000012');

--
-- Content edits reach returning visitors, also through a rolled-back edit;
-- elements added later are not shown to earlier visitors.
--
UPDATE abtest.element_variants SET content = '{"text": "new copy"}', name = 'A2'
 WHERE id = 'a2000000-0000-0000-0002-000000000111';
UPDATE abtest.experiment_elements SET name = 'title', selector = 'h2'
 WHERE id = 'a2000000-0000-0000-0001-000000000011';
SELECT e->>'element' AS element, e->>'selector' AS selector, e->>'variant' AS variant, e->'content' AS content
  FROM jsonb_array_elements(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice')->'elements') e;
BEGIN;
UPDATE abtest.element_variants SET content = '{"text": "rolled back"}' WHERE id = 'a2000000-0000-0000-0002-000000000111';
SELECT abt_assign('a2000000-0000-0000-0000-000000000001', 'alice')->'elements'->0->'content' AS in_transaction;
ROLLBACK;
SELECT abt_assign('a2000000-0000-0000-0000-000000000001', 'alice')->'elements'->0->'content' AS after_rollback;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('a2000000-0000-0000-0001-000000000013', 'a2000000-0000-0000-0000-000000000001', 'footer', 3);
INSERT INTO abtest.element_variants (id, element_id, name) VALUES
    ('a2000000-0000-0000-0002-000000000131', 'a2000000-0000-0000-0001-000000000013', 'F');
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 13:00:00+00'));
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'dave', '2024-05-01 13:00:00+00'));
SELECT user_id, (SELECT count(*) FROM jsonb_object_keys(variants)) AS elements
  FROM abtest.assignments WHERE experiment_id = 'a2000000-0000-0000-0000-000000000001'
   AND user_id IN ('alice', 'dave') ORDER BY user_id;

--
-- Status: paused answers the assigned and enrols nobody; draft and
-- completed show nobody anything; nothing is written for any of them.
--
SELECT pg_temp.written('a2000000-0000-0000-0000-000000000001');
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'a2000000-0000-0000-0000-000000000001';
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 14:00:00+00'));
SELECT jsonb_pretty(abt_assign('a2000000-0000-0000-0000-000000000001', 'erin', '2024-05-01 14:00:00+00'));
UPDATE abtest.experiments SET status = 'completed' WHERE id = 'a2000000-0000-0000-0000-000000000001';
SELECT abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 14:00:00+00');
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'erin', '2024-05-01 14:00:00+00'));
UPDATE abtest.experiments SET status = 'draft' WHERE id = 'a2000000-0000-0000-0000-000000000001';
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 14:00:00+00'));
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'erin', '2024-05-01 14:00:00+00'));
SELECT pg_temp.written('a2000000-0000-0000-0000-000000000001');
UPDATE abtest.experiments SET status = 'active' WHERE id = 'a2000000-0000-0000-0000-000000000001';
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 14:00:00+00'));
-- coverage 0: nobody new is enrolled, nothing written; alice still answered
UPDATE abtest.experiments SET coverage = 0 WHERE id = 'a2000000-0000-0000-0000-000000000001';
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'nobody-' || i, '2024-05-01 14:00:00+00')), count(*)
  FROM generate_series(1, 30) i GROUP BY 1;
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000001', 'alice', '2024-05-01 14:00:00+00'));
SELECT pg_temp.written('a2000000-0000-0000-0000-000000000001');
UPDATE abtest.experiments SET coverage = 1 WHERE id = 'a2000000-0000-0000-0000-000000000001';

--
-- Batch: answers in the order given; a repeated experiment is new once.
--
SELECT o, a->>'experiment_id' AS experiment_id, pg_temp.show(a)
  FROM jsonb_array_elements(abt_assign_batch(ARRAY['a2000000-0000-0000-0000-000000000003',
                                                   'a2000000-0000-0000-0000-000000000002',
                                                   'a2000000-0000-0000-0000-000000000001',
                                                   'a2000000-0000-0000-0000-000000000002']::uuid[],
                                             'frank', '2024-05-01 15:00:00+00')) WITH ORDINALITY x(a, o);
-- a longer batch (the internal order is a sort): still only the first
-- occurrence of each experiment is new
SELECT o, a->>'experiment_id' AS experiment_id, a->>'new' AS new
  FROM jsonb_array_elements(abt_assign_batch(ARRAY['a2000000-0000-0000-0000-000000000002', 'a2000000-0000-0000-0000-000000000001',
                                                   'a2000000-0000-0000-0000-000000000002', 'a2000000-0000-0000-0000-000000000001',
                                                   'a2000000-0000-0000-0000-000000000002', 'a2000000-0000-0000-0000-000000000001',
                                                   'a2000000-0000-0000-0000-000000000002', 'a2000000-0000-0000-0000-000000000001',
                                                   'a2000000-0000-0000-0000-000000000002']::uuid[],
                                             'gina', '2024-05-01 15:00:00+00')) WITH ORDINALITY x(a, o);
SELECT abt_assign_batch('{}', 'frank') AS empty_batch;
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000002', 'frank')) AS after_batch;

--
-- Bulk: one row per id in the order given; of repeated ids only the first
-- is new; every row is what abt_assign answers the visitor afterwards.
--
CREATE TEMP TABLE bulk AS
SELECT o, b.user_id, b.assignment
  FROM abt_assign_bulk('a2000000-0000-0000-0000-000000000002',
                       ARRAY['z3', 'z2', 'z1', 'z2', 'z3', 'z1', 'same-1', 'z1', 'z2', 'z3', 'frank', 'z0'],
                       '2024-05-01 15:20:00+00') WITH ORDINALITY b(user_id, assignment, o);
SELECT o, user_id, pg_temp.show(assignment) FROM bulk ORDER BY o;
SELECT count(*) AS differ FROM bulk
 WHERE assignment - 'new' <> abt_assign('a2000000-0000-0000-0000-000000000002', user_id) - 'new';
SELECT count(*) AS bulk_rows FROM abt_assign_bulk('a2000000-0000-0000-0000-000000000002', '{}');

--
-- Counters: abtest.variant_totals equals the counts derived from the
-- assignments; the timeline rollups equal the assignments per 15-minute
-- UTC bucket of assigned_at (before 2000 too).
--
SELECT user_id, pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000002', user_id, at))
  FROM (VALUES ('t1', '2024-05-01 10:14:59.999999+00'::timestamptz), ('t2', '2024-05-01 10:15:00+00'),
               ('t3', '2024-05-01 10:29:59+00'), ('t4', '1999-12-31 23:45:00+00'),
               ('t5', '1999-12-31 23:44:59.999999+00'), ('t6', '1970-01-01 00:00:00+00')) v(user_id, at);
CREATE TEMP VIEW derived AS
SELECT a.experiment_id, v.value::uuid AS variant_id, count(*) AS n
  FROM abtest.assignments a, jsonb_each_text(a.variants) v
 WHERE a.experiment_id::text LIKE 'a2000000-%' GROUP BY 1, 2;
SELECT t.experiment_id, v.name, t.total_allocations, coalesce(d.n, 0) AS derived
  FROM abtest.variant_totals t
  JOIN abtest.element_variants v ON v.id = t.variant_id
  LEFT JOIN derived d USING (experiment_id, variant_id)
 WHERE t.experiment_id::text LIKE 'a2000000-%'
 ORDER BY t.experiment_id, t.variant_id;
SELECT count(*) AS counter_rows_of_unknown_variants FROM abtest.variant_counters c
 WHERE c.experiment_id::text LIKE 'a2000000-%' AND c.variant_id NOT IN (SELECT id FROM abtest.element_variants);
CREATE TEMP VIEW buckets AS
SELECT experiment_id, to_timestamp(floor(extract(epoch FROM assigned_at) / 900) * 900) AS bucket, count(*) AS n
  FROM abtest.assignments WHERE experiment_id::text LIKE 'a2000000-%' GROUP BY 1, 2;
SELECT experiment_id, bucket AT TIME ZONE 'UTC' AS bucket_utc, t.assignments, b.n AS derived
  FROM (SELECT experiment_id, bucket, sum(assignments) AS assignments FROM abtest.experiment_timeline
         WHERE experiment_id::text LIKE 'a2000000-%' GROUP BY 1, 2) t
  FULL JOIN buckets b USING (experiment_id, bucket)
 ORDER BY experiment_id, bucket;
SELECT count(*) AS variant_timeline_mismatches
  FROM (SELECT experiment_id, variant_id, bucket, sum(assignments) AS n FROM abtest.variant_rollups
         WHERE experiment_id::text LIKE 'a2000000-%' GROUP BY 1, 2, 3) t
  FULL JOIN (SELECT a.experiment_id, v.value::uuid AS variant_id,
                    to_timestamp(floor(extract(epoch FROM a.assigned_at) / 900) * 900) AS bucket, count(*) AS n
               FROM abtest.assignments a, jsonb_each_text(a.variants) v
              WHERE a.experiment_id::text LIKE 'a2000000-%' GROUP BY 1, 2, 3) d
    USING (experiment_id, variant_id, bucket)
 WHERE t.n IS DISTINCT FROM d.n;

--
-- Settling: element_variants.total_* are copies made by
-- abt_settle_counters, and automatically when an experiment is paused or
-- completed; settling is not a configuration change.
--
SELECT abt_convert('a2000000-0000-0000-0000-000000000002', 'same-' || i, 'signup', NULL, '2024-05-02')
  FROM generate_series(1, 10) i GROUP BY 1;
SELECT v.name, v.total_allocations, v.total_conversions, v.conversion_rate
  FROM abtest.element_variants v JOIN abtest.experiment_elements el ON el.id = v.element_id
 WHERE el.experiment_id = 'a2000000-0000-0000-0000-000000000002' ORDER BY v.id;
CREATE TEMP TABLE version_before AS
SELECT config_version FROM abtest.experiments WHERE id = 'a2000000-0000-0000-0000-000000000002';
SELECT abt_settle_counters('a2000000-0000-0000-0000-000000000002') AS changed;
SELECT abt_settle_counters('a2000000-0000-0000-0000-000000000002') AS changed_again;
SELECT e.config_version = b.config_version AS version_unchanged
  FROM abtest.experiments e, version_before b WHERE e.id = 'a2000000-0000-0000-0000-000000000002';
CREATE TEMP VIEW settled_vs_live AS
SELECT count(*) FILTER (WHERE (v.total_allocations, v.total_conversions) IS DISTINCT FROM
                              (t.total_allocations, t.total_conversions)
                           OR v.conversion_rate <> t.conversion_rate) AS stale,
       sum(v.total_allocations) AS allocations, sum(v.total_conversions) AS conversions
  FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
 WHERE t.experiment_id = 'a2000000-0000-0000-0000-000000000002';
SELECT * FROM settled_vs_live;
SELECT v.name, v.total_allocations, v.total_conversions, v.conversion_rate
  FROM abtest.element_variants v JOIN abtest.experiment_elements el ON el.id = v.element_id
 WHERE el.experiment_id = 'a2000000-0000-0000-0000-000000000002' ORDER BY v.id;
-- new visitors make the copies stale until the experiment is paused
SELECT count(*) FROM abt_assign_bulk('a2000000-0000-0000-0000-000000000002',
                                     ARRAY['late-1', 'late-2', 'late-3'], '2024-05-03');
SELECT * FROM settled_vs_live;
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'a2000000-0000-0000-0000-000000000002';
SELECT * FROM settled_vs_live;
UPDATE abtest.experiments SET status = 'active' WHERE id = 'a2000000-0000-0000-0000-000000000002';
SELECT pg_temp.show(abt_assign('a2000000-0000-0000-0000-000000000002', 'late-4', '2024-05-03'));
SELECT abt_convert('a2000000-0000-0000-0000-000000000002', 'late-4', 'signup', NULL, '2024-05-03');
UPDATE abtest.experiments SET status = 'completed' WHERE id = 'a2000000-0000-0000-0000-000000000002';
SELECT * FROM settled_vs_live;
-- with no argument every experiment is settled
SELECT abt_settle_counters() > 0 AS settled_some;
SELECT count(*) AS stale_anywhere
  FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
 WHERE (v.total_allocations, v.total_conversions) IS DISTINCT FROM (t.total_allocations, t.total_conversions);
