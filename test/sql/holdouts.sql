--
-- holdouts: a kind 'holdout' experiment holds a share of an account's
-- visitors out of the experiments that name it (holdout_id): they see the
-- controls and are stored in none of them; an equal comparison share is
-- enrolled normally; both groups are stored and counted in the holdout.
-- The groups are checked visitor by visitor against GrowthBook's rule
-- computed in SQL (abt_gbhash: coverage, then the element's ranges), and
-- their sizes against the nominal 5% within 3 standard deviations.
-- Ids of this file: d1220000-....
--
\i test/sql/include/err.sql

-- account A: holdout H (5% held out, 5% comparison: coverage 0.1), and two
-- experiments it covers; E3 is not covered
INSERT INTO abtest.experiments (id, user_id, name, status, seed, coverage, kind) VALUES
    ('d1220000-0000-0000-0000-0000000000f0', 'd1220000-0000-0000-0000-0000000000aa', 'holdout H', 'active', 'hold-seed', 0.1, 'holdout');
INSERT INTO abtest.experiments (id, user_id, name, status, seed, holdout_id) VALUES
    ('d1220000-0000-0000-0000-000000000001', 'd1220000-0000-0000-0000-0000000000aa', 'E1', 'active', 'e1', 'd1220000-0000-0000-0000-0000000000f0'),
    ('d1220000-0000-0000-0000-000000000002', 'd1220000-0000-0000-0000-0000000000aa', 'E2', 'active', 'e2', 'd1220000-0000-0000-0000-0000000000f0'),
    ('d1220000-0000-0000-0000-000000000003', 'd1220000-0000-0000-0000-0000000000aa', 'E3', 'active', 'e3', NULL);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed) VALUES
    ('d1220000-0000-0000-0001-0000000000f0', 'd1220000-0000-0000-0000-0000000000f0', 'group', 'hold-el'),
    ('d1220000-0000-0000-0001-000000000001', 'd1220000-0000-0000-0000-000000000001', 'price', 'e1-el'),
    ('d1220000-0000-0000-0001-000000000002', 'd1220000-0000-0000-0000-000000000002', 'banner', 'e2-el'),
    ('d1220000-0000-0000-0001-000000000003', 'd1220000-0000-0000-0000-000000000003', 'footer', 'e3-el');
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('d1220000-0000-0000-0002-0000000000f1', 'd1220000-0000-0000-0001-0000000000f0', 'holdout', true, 0),
    ('d1220000-0000-0000-0002-0000000000f2', 'd1220000-0000-0000-0001-0000000000f0', 'comparison', false, 1),
    ('d1220000-0000-0000-0002-000000000011', 'd1220000-0000-0000-0001-000000000001', 'old price', true, 0),
    ('d1220000-0000-0000-0002-000000000012', 'd1220000-0000-0000-0001-000000000001', 'new price', false, 1),
    ('d1220000-0000-0000-0002-000000000021', 'd1220000-0000-0000-0001-000000000002', 'old banner', true, 0),
    ('d1220000-0000-0000-0002-000000000022', 'd1220000-0000-0000-0001-000000000002', 'new banner', false, 1),
    ('d1220000-0000-0000-0002-000000000031', 'd1220000-0000-0000-0001-000000000003', 'old footer', true, 0),
    ('d1220000-0000-0000-0002-000000000032', 'd1220000-0000-0000-0001-000000000003', 'new footer', false, 1);

-- 20,000 visitors into E1 (bulk), with GrowthBook's rule in SQL: in the
-- holdout's coverage, then its element's half [0, 0.5) (control) or the rest
CREATE TEMP TABLE e1 AS
SELECT b.user_id, b.assignment,
       CASE WHEN abt_gbhash('hold-seed', b.user_id) > 0.1 THEN 'none'
            WHEN abt_gbhash('hold-el', b.user_id) < 0.5 THEN 'holdout'
            ELSE 'comparison' END AS expected
  FROM abt_assign_bulk('d1220000-0000-0000-0000-000000000001',
                       ARRAY(SELECT 'h-' || i FROM generate_series(1, 20000) i)) b;
-- fresh statistics: the checks below join 20,000 rows (a stale estimate of
-- one row for E1 makes a nested loop over both)
ANALYZE e1;
ANALYZE abtest.assignments;
SELECT expected, count(*) AS visitors,
       count(*) FILTER (WHERE coalesce((assignment->>'holdout')::bool, false) <> (expected = 'holdout')
                           OR (assignment->>'enrolled')::bool = (expected = 'holdout')) AS wrong,
       -- nominal 5% of 20,000 each, sd = sqrt(n p (1 - p))
       abs(count(*) - 20000 * 0.05) <= 3 * sqrt(20000 * 0.05 * 0.95) AS within_3_sd
  FROM e1 WHERE expected <> 'none' GROUP BY 1 ORDER BY 1;
-- what a held-out visitor sees: every control, not enrolled
SELECT assignment - 'experiment_id' AS held_out_answer FROM e1 WHERE expected = 'holdout' ORDER BY user_id LIMIT 1;
-- stored and counted: held-out visitors in H only, the others in E1, both
-- groups in H
SELECT (SELECT count(*) FROM e1
         WHERE e1.expected = 'holdout'
           AND EXISTS (SELECT FROM abtest.assignments a
                        WHERE a.experiment_id = 'd1220000-0000-0000-0000-000000000001'
                          AND a.user_id = e1.user_id)) AS held_out_in_e1,
       (SELECT count(*) FROM abtest.assignments a
         WHERE a.experiment_id = 'd1220000-0000-0000-0000-000000000001') AS e1_assignments,
       (SELECT sum(total_allocations) FROM abtest.variant_totals
         WHERE experiment_id = 'd1220000-0000-0000-0000-000000000001') AS e1_allocations,
       (SELECT count(*) FROM abtest.assignments a
         WHERE a.experiment_id = 'd1220000-0000-0000-0000-0000000000f0') AS h_assignments;
SELECT variant_name, allocations FROM abt_variant_stats('{d1220000-0000-0000-0000-0000000000f0}') ORDER BY 1;

-- a page with E1, E2 (covered) and E3 (not): every 20th visitor (returning
-- to E1, new to E2 and E3) is held out of E1 and E2 exactly when E1 held
-- them out, never out of E3
SELECT count(*) AS visitors,
       count(*) FILTER (WHERE e1.expected = 'holdout') AS held_out,
       count(*) FILTER (WHERE coalesce((p.a->0->>'holdout')::bool, false) <> (e1.expected = 'holdout')
                           OR coalesce((p.a->1->>'holdout')::bool, false) <> (e1.expected = 'holdout')
                           OR (p.a->2->>'enrolled')::bool IS NOT TRUE) AS wrong
  FROM e1, LATERAL (SELECT abt_assign_batch(ARRAY['d1220000-0000-0000-0000-000000000001',
                                                  'd1220000-0000-0000-0000-000000000002',
                                                  'd1220000-0000-0000-0000-000000000003']::uuid[], e1.user_id) AS a) p
 WHERE substr(e1.user_id, 3)::int % 20 = 0;
-- counters equal rows in every experiment (held-out visitors counted in H only)
SELECT e.name,
       (SELECT count(*) FROM abtest.assignments a WHERE a.experiment_id = e.id) AS assignments,
       (SELECT sum(t.total_allocations) FROM abtest.variant_totals t WHERE t.experiment_id = e.id) AS allocations
  FROM abtest.experiments e WHERE e.id::text LIKE 'd1220000-%' ORDER BY e.name;

-- bad input: SQLSTATE, nothing written
SELECT label, pg_temp.err(q) AS result
  FROM (VALUES
    ('holdout_id of a plain experiment',
     $$UPDATE abtest.experiments SET holdout_id = 'd1220000-0000-0000-0000-000000000003' WHERE id = 'd1220000-0000-0000-0000-000000000002'$$),
    ('holdout of another account',
     $$INSERT INTO abtest.experiments (user_id, name, seed, holdout_id)
       VALUES ('d1220000-0000-0000-0000-0000000000bb', 'B', 's', 'd1220000-0000-0000-0000-0000000000f0')$$),
    ('a covered holdout',
     $$INSERT INTO abtest.experiments (user_id, name, seed, kind, holdout_id)
       VALUES ('d1220000-0000-0000-0000-0000000000aa', 'H2', 's', 'holdout', 'd1220000-0000-0000-0000-0000000000f0')$$),
    ('a holdout in use stops being one',
     $$UPDATE abtest.experiments SET kind = 'experiment' WHERE id = 'd1220000-0000-0000-0000-0000000000f0'$$),
    ('a holdout in use moves account',
     $$UPDATE abtest.experiments SET user_id = 'd1220000-0000-0000-0000-0000000000bb' WHERE id = 'd1220000-0000-0000-0000-0000000000f0'$$),
    ('unknown kind',
     $$INSERT INTO abtest.experiments (name, seed, kind) VALUES ('K', 's', 'holdback')$$)
  ) v(label, q);
SELECT count(*) AS experiments, count(holdout_id) AS covered, count(*) FILTER (WHERE kind = 'holdout') AS holdouts
  FROM abtest.experiments WHERE user_id IN ('d1220000-0000-0000-0000-0000000000aa', 'd1220000-0000-0000-0000-0000000000bb')
     OR name IN ('K', 'H2');

-- a paused holdout keeps its groups and takes nobody new; a completed one
-- releases everyone: held-out visitors are then enrolled normally
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'd1220000-0000-0000-0000-0000000000f0';
SELECT count(*) FILTER (WHERE (abt_assign('d1220000-0000-0000-0000-000000000002', e1.user_id)->>'holdout')::bool) AS still_held_out
  FROM e1 WHERE e1.expected = 'holdout' AND substr(e1.user_id, 3)::int % 20 = 1;
SELECT count(*) FILTER (WHERE (abt_assign('d1220000-0000-0000-0000-000000000002', 'new-' || i)->>'holdout')::bool) AS new_held_out
  FROM generate_series(1, 500) i;
UPDATE abtest.experiments SET status = 'completed' WHERE id = 'd1220000-0000-0000-0000-0000000000f0';
SELECT count(*) AS released, count(*) FILTER (WHERE (a->>'new')::bool AND (a->>'enrolled')::bool) AS now_enrolled
  FROM (SELECT abt_assign('d1220000-0000-0000-0000-000000000002', e1.user_id) AS a
          FROM e1 WHERE e1.expected = 'holdout' AND substr(e1.user_id, 3)::int % 20 = 2) s;
