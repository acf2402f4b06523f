--
-- lookup_paths: the page view's lookup reads the experiment and the
-- visitor's assignment through the two primary keys directly; where those
-- keys are not as the install script made them it runs its query instead.
-- Both give the same answers: stored variants, the converted flag, a new
-- visitor, a paused and an unknown experiment, a visitor id that differs
-- only in case (the key compares in the column's collation), and
-- abt_convert's first-conversion update through the row's ctid.
-- Ids of this file: d1a00000-....
--
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
-- what a visitor sees: flags and variant per element
CREATE FUNCTION pg_temp.sees(e uuid, v text) RETURNS text LANGUAGE sql AS $$
    SELECT format('enrolled=%s new=%s converted=%s %s', a->>'enrolled', a->>'new', a->>'converted',
                  (SELECT string_agg((x->>'element') || ':' || (x->>'variant'), ' ' ORDER BY x->>'element')
                     FROM jsonb_array_elements(a->'elements') x))
      FROM abt_assign(e, v) a
$$;

INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('d1a00000-0000-0000-0000-000000000001', 'lookup', 'active', 'lookup'),
    ('d1a00000-0000-0000-0000-000000000002', 'lookup paused', 'active', 'lookup-p');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed, position) VALUES
    ('d1a00000-0000-0000-0001-000000000011', 'd1a00000-0000-0000-0000-000000000001', 'headline', 'h', 0),
    ('d1a00000-0000-0000-0001-000000000021', 'd1a00000-0000-0000-0000-000000000002', 'banner', 'b', 0);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('d1a00000-0000-0000-0002-000000000111', 'd1a00000-0000-0000-0001-000000000011', 'A', true, 0),
    ('d1a00000-0000-0000-0002-000000000112', 'd1a00000-0000-0000-0001-000000000011', 'B', false, 1),
    ('d1a00000-0000-0000-0002-000000000211', 'd1a00000-0000-0000-0001-000000000021', 'C', true, 0),
    ('d1a00000-0000-0000-0002-000000000212', 'd1a00000-0000-0000-0001-000000000021', 'D', false, 1);

-- Visitors v1..v6 assigned, v1 converted, 'P1' in the paused one; then paused.
SELECT count(abt_assign('d1a00000-0000-0000-0000-000000000001', 'v' || g)) FROM generate_series(1, 6) g;
SELECT abt_convert('d1a00000-0000-0000-0000-000000000001', 'v1') IS NOT NULL AS converted;
SELECT abt_assign('d1a00000-0000-0000-0000-000000000002', 'P1') ->> 'new' AS paused_visitor_new;
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'd1a00000-0000-0000-0000-000000000002';

-- What every case answers, for the two paths to be compared.
CREATE TEMP TABLE cases (o int, e uuid, v text);
INSERT INTO cases VALUES
    (1, 'd1a00000-0000-0000-0000-000000000001', 'v1'), (2, 'd1a00000-0000-0000-0000-000000000001', 'v2'),
    (3, 'd1a00000-0000-0000-0000-000000000001', 'V2'), (4, 'd1a00000-0000-0000-0000-000000000001', 'v6'),
    (5, 'd1a00000-0000-0000-0000-000000000002', 'P1'), (6, 'd1a00000-0000-0000-0000-000000000002', 'P2');
CREATE FUNCTION pg_temp.answers() RETURNS TABLE (o int, v text, sees text) LANGUAGE sql AS $$
    SELECT c.o, c.v, pg_temp.sees(c.e, c.v) FROM cases c ORDER BY c.o
$$;
CREATE TEMP TABLE direct_answers AS SELECT * FROM pg_temp.answers();
SELECT o, v, sees FROM direct_answers ORDER BY o;
SELECT pg_temp.err($$SELECT abt_assign('d1a00000-0000-0000-0000-0000000000ff', 'v1')$$) AS unknown_direct;

-- The query path: the keys renamed (inside a transaction, rolled back).
-- 'V2' was stored by the direct path's first call above: the query must see it.
BEGIN;
ALTER INDEX abtest.experiments_pkey RENAME TO experiments_pkey_renamed;
ALTER INDEX abtest.idx_assignments_lookup RENAME TO idx_assignments_lookup_renamed;
SELECT count(*) AS mismatches
  FROM pg_temp.answers() q FULL JOIN direct_answers d USING (o)
 WHERE q.sees IS DISTINCT FROM replace(d.sees, 'new=true', 'new=false');
SELECT pg_temp.err($$SELECT abt_assign('d1a00000-0000-0000-0000-0000000000ff', 'v1')$$) AS unknown_query;
SELECT abt_convert('d1a00000-0000-0000-0000-000000000001', 'v2') IS NOT NULL AS converted_by_query;
SELECT converted_at IS NOT NULL AS stored FROM abtest.assignments
 WHERE experiment_id = 'd1a00000-0000-0000-0000-000000000001' AND user_id = 'v2';
ROLLBACK;

-- Back on the direct path (the rename's invalidation is seen again): the
-- same answers, and abt_convert through the direct lookup's ctid.
SELECT count(*) AS mismatches_after
  FROM pg_temp.answers() q FULL JOIN direct_answers d USING (o)
 WHERE q.sees IS DISTINCT FROM replace(d.sees, 'new=true', 'new=false');
SELECT abt_convert('d1a00000-0000-0000-0000-000000000001', 'v3') IS NOT NULL AS converted_direct;
SELECT converted_at IS NOT NULL AS stored FROM abtest.assignments
 WHERE experiment_id = 'd1a00000-0000-0000-0000-000000000001' AND user_id = 'v3';
SELECT pg_temp.sees('d1a00000-0000-0000-0000-000000000001', 'v3') AS v3_after_conversion;

-- REPEATABLE READ: the lookup sees what this transaction wrote since its
-- snapshot (as the query did): a second call finds the visitor stored by
-- the first, a second conversion finds the first.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT abt_assign('d1a00000-0000-0000-0000-000000000001', 'rr1') ->> 'new' AS first_call_new;
SELECT abt_assign('d1a00000-0000-0000-0000-000000000001', 'rr1') ->> 'new' AS second_call_new;
SELECT abt_convert('d1a00000-0000-0000-0000-000000000001', 'rr1') AS first_conversion;
SELECT abt_convert('d1a00000-0000-0000-0000-000000000001', 'rr1') AS second_conversion;
SELECT pg_temp.sees('d1a00000-0000-0000-0000-000000000001', 'rr1') AS rr1_sees;
COMMIT;
