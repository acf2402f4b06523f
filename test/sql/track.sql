--
-- track: abt_track -- one event attributed to every experiment the visitor
-- was assigned in at or before it (0, 1, several), visitors' rules and
-- errors (nothing written on rejection), and CUPED's history: covariates
-- taken at assignment, each experiment's own window, events at exactly
-- assigned_at as outcomes, late history, abt_convert's cross sums, many
-- calls in one transaction, the fold and the rebuild; the six sums always
-- equal their recomputation from the events and the history.
-- Ids of this file: af200000-....
--
\i test/sql/include/err.sql
-- everything abt_track may write for this file's experiments and visitors
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
    SELECT format('events=%s converted=%s counters=%s timeline=%s goal_rows=%s history=%s covariates=%s',
                  (SELECT count(*) FROM abtest.conversions WHERE experiment_id::text LIKE 'af200000-%'),
                  (SELECT count(converted_at) FROM abtest.assignments WHERE experiment_id::text LIKE 'af200000-%'),
                  (SELECT coalesce(sum(conversions), 0) FROM abtest.variant_counters WHERE experiment_id::text LIKE 'af200000-%'),
                  (SELECT coalesce(sum(conversions), 0) FROM abtest.experiment_timeline WHERE experiment_id::text LIKE 'af200000-%'),
                  (SELECT count(*) FROM abtest.visitor_goals WHERE experiment_id::text LIKE 'af200000-%'),
                  (SELECT count(*) FROM abtest.visitor_events WHERE user_id LIKE 'tr-%'),
                  (SELECT count(*) FROM abtest.visitor_covariates WHERE experiment_id::text LIKE 'af200000-%'))
$$;
-- The one recomputation of goal_counters from the rows: y per visitor and
-- goal from its events (abtest.conversions), x and the flag from its
-- history (abtest.visitor_events) in each lookback window before its
-- assignment, summed per variant it saw; returns the (experiment, variant,
-- goal) groups where any of the nine sums differs from goal_counters'.
CREATE FUNCTION pg_temp.sums_differ() RETURNS bigint LANGUAGE sql AS $$
    WITH a AS (
        SELECT experiment_id, user_id, assigned_at, variants FROM abtest.assignments
         WHERE experiment_id::text LIKE 'af200000-%'),
    y AS (
        SELECT c.experiment_id, c.user_id, c.goal, sum(coalesce(c.value, 0)) AS y
          FROM abtest.conversions c WHERE c.experiment_id::text LIKE 'af200000-%'
         GROUP BY 1, 2, 3),
    x AS (
        SELECT a.experiment_id, a.user_id, g.goal, coalesce(sum(coalesce(h.value, 0)), 0) AS x,
               count(h.at) > 0 AS flag
          FROM a JOIN abtest.goals g ON g.experiment_id = a.experiment_id AND g.cuped_lookback IS NOT NULL
          LEFT JOIN abtest.visitor_events h
            ON h.user_id = a.user_id AND h.goal = g.goal
           AND h.at >= a.assigned_at - g.cuped_lookback AND h.at < a.assigned_at
         GROUP BY 1, 2, 3),
    per AS (
        SELECT coalesce(y.experiment_id, x.experiment_id) AS e, coalesce(y.user_id, x.user_id) AS u,
               coalesce(y.goal, x.goal) AS goal, y.y, x.x, x.flag
          FROM y FULL JOIN x
            ON x.experiment_id = y.experiment_id AND x.user_id = y.user_id AND x.goal = y.goal),
    want AS (
        SELECT per.e, v.value::uuid AS variant, per.goal, count(per.y) AS n, coalesce(sum(per.y), 0) AS s,
               coalesce(sum(per.y * per.y), 0) AS q, count(per.x) AS cv, coalesce(sum(per.x), 0) AS cs,
               coalesce(sum(per.x * per.x), 0) AS cq, count(*) FILTER (WHERE per.flag) AS cc,
               coalesce(sum(per.x * per.y), 0) AS xs,
               count(*) FILTER (WHERE per.flag AND per.y IS NOT NULL) AS xc
          FROM per JOIN a ON a.experiment_id = per.e AND a.user_id = per.u,
               jsonb_each_text(a.variants) v
         GROUP BY 1, 2, 3),
    have AS (
        SELECT experiment_id AS e, variant_id AS variant, goal, -sum(converters) AS n,
               -sum(value_sum) AS s, -sum(value_sum_squares) AS q, -sum(covariate_visitors) AS cv,
               -sum(covariate_sum) AS cs, -sum(covariate_sum_squares) AS cq,
               -sum(covariate_converters) AS cc, -sum(cross_sum) AS xs, -sum(cross_converters) AS xc
          FROM abtest.goal_counters WHERE experiment_id::text LIKE 'af200000-%'
         GROUP BY 1, 2, 3)
    SELECT count(*) FROM (
        SELECT e, variant, goal FROM (SELECT * FROM want UNION ALL SELECT * FROM have) d
         GROUP BY 1, 2, 3
        HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0 OR sum(cv) <> 0 OR sum(cs) <> 0
            OR sum(cq) <> 0 OR sum(cc) <> 0 OR sum(xs) <> 0 OR sum(xc) <> 0) bad
$$;
-- an experiment's goal sums over slots, one line per goal
CREATE FUNCTION pg_temp.sums(e text) RETURNS TABLE (goal text, line text) LANGUAGE sql AS $$
    SELECT goal, format('n=%s s=%s q=%s cv=%s cs=%s cq=%s cc=%s xs=%s xc=%s',
                        sum(converters), sum(value_sum), sum(value_sum_squares), sum(covariate_visitors),
                        sum(covariate_sum), sum(covariate_sum_squares), sum(covariate_converters),
                        sum(cross_sum), sum(cross_converters))
      FROM abtest.goal_counters WHERE experiment_id = e::uuid GROUP BY goal ORDER BY goal
$$;

-- Six experiments of one element and one variant each (every visitor sees
-- it): 1-3 without goals, 4 declares purchase (at most 100) and signup, 5
-- and 6 look back on purchase (7 days, 1 day), 6 also on signup.
INSERT INTO abtest.experiments (id, name, status, seed)
SELECT ('af200000-0000-0000-0000-00000000000' || i)::uuid, 'track ' || i, 'active', 'tr-' || i
  FROM generate_series(1, 6) i;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed, position)
SELECT ('af200000-0000-0000-0001-00000000000' || i)::uuid, ('af200000-0000-0000-0000-00000000000' || i)::uuid,
       'headline', 'tr-h' || i, 1
  FROM generate_series(1, 6) i;
INSERT INTO abtest.element_variants (id, element_id, name, position)
SELECT ('af200000-0000-0000-0002-00000000000' || i)::uuid, ('af200000-0000-0000-0001-00000000000' || i)::uuid, 'A', 1
  FROM generate_series(1, 6) i;
INSERT INTO abtest.goals (experiment_id, goal, max_value, cuped_lookback) VALUES
    ('af200000-0000-0000-0000-000000000004', 'purchase', 100, NULL),
    ('af200000-0000-0000-0000-000000000004', 'signup', NULL, NULL),
    ('af200000-0000-0000-0000-000000000005', 'purchase', NULL, '7 days'),
    ('af200000-0000-0000-0000-000000000006', 'purchase', NULL, '1 day'),
    ('af200000-0000-0000-0000-000000000006', 'signup', NULL, '1 day');
-- the lookback's bounds
SELECT pg_temp.err($$INSERT INTO abtest.goals (experiment_id, goal, cuped_lookback)
                     VALUES ('af200000-0000-0000-0000-000000000001', 'x', '0')$$) AS zero_lookback,
       pg_temp.err($$INSERT INTO abtest.goals (experiment_id, goal, cuped_lookback)
                     VALUES ('af200000-0000-0000-0000-000000000001', 'x', '366 days')$$) AS lookback_over_a_year;

-- A visitor in no experiment: 0, nothing written (no experiment looks back
-- on the goal: no history either).
SELECT abt_track('tr-nobody', 'visit') AS counted;
SELECT pg_temp.written();

-- One experiment: before assigned_at 0, at exactly assigned_at and after 1;
-- the first counted event converts.
SELECT abt_assign('af200000-0000-0000-0000-000000000001', 'tr-one', '2026-01-10 12:00+00') ->> 'new' AS new;
SELECT abt_track('tr-one', 'signup', NULL, '2026-01-10 11:59:59.999999+00') AS before,
       abt_track('tr-one', 'signup', 2, '2026-01-10 12:00+00') AS at_assignment,
       abt_track('tr-one', 'signup', 3, '2026-01-11 00:00+00') AS after;
SELECT user_id, goal, value, created_at FROM abtest.conversions
 WHERE experiment_id = 'af200000-0000-0000-0000-000000000001' ORDER BY id;
SELECT converted_at FROM abtest.assignments
 WHERE experiment_id = 'af200000-0000-0000-0000-000000000001' AND user_id = 'tr-one';

-- Several experiments, each counting from its own assignment on.
SELECT abt_assign('af200000-0000-0000-0000-000000000001', 'tr-many', '2026-01-10 00:00+00') ->> 'new' AS e1,
       abt_assign('af200000-0000-0000-0000-000000000002', 'tr-many', '2026-01-11 00:00+00') ->> 'new' AS e2,
       abt_assign('af200000-0000-0000-0000-000000000003', 'tr-many', '2026-01-12 00:00+00') ->> 'new' AS e3;
SELECT abt_track('tr-many', 'signup', 1, '2026-01-09 00:00+00') AS in_none,
       abt_track('tr-many', 'signup', 1, '2026-01-11 12:00+00') AS in_two,
       abt_track('tr-many', 'signup', 1, '2026-01-12 00:00+00') AS in_three;
SELECT experiment_id, count(*) AS events FROM abtest.conversions WHERE user_id = 'tr-many'
 GROUP BY 1 ORDER BY 1;
-- the same as abt_convert in each: its goal sums
SELECT * FROM pg_temp.sums('af200000-0000-0000-0000-000000000003');

-- A visitor (no INSERT on abtest.conversions): server time, declared goals
-- and bounds.  Experiment 4 declares purchase (at most 100) and signup: an
-- event of another goal skips it and counts elsewhere; a value above 100 is
-- an error for the whole call.
SELECT abt_assign('af200000-0000-0000-0000-000000000001', 'tr-visitor', '2026-01-01 00:00+00') ->> 'new' AS e1,
       abt_assign('af200000-0000-0000-0000-000000000004', 'tr-visitor', '2026-01-01 00:00+00') ->> 'new' AS e4;
DROP ROLE IF EXISTS regress_abtest_track_visitor;
CREATE ROLE regress_abtest_track_visitor;
SELECT pg_temp.written() AS before_rejections;
SET ROLE regress_abtest_track_visitor;
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('value above a maximum', $$SELECT abt_track('tr-visitor', 'purchase', 100.01)$$),
    ('negative value', $$SELECT abt_track('tr-visitor', 'purchase', -1)$$),
    ('value above 1e15', $$SELECT abt_track('tr-visitor', 'other', 1e15 + 1)$$),
    ('infinite value', $$SELECT abt_track('tr-visitor', 'purchase', 'Infinity')$$),
    ('NaN', $$SELECT abt_track('tr-visitor', 'purchase', 'NaN')$$),
    ('a time of its own', $$SELECT abt_track('tr-visitor', 'purchase', 1, '2026-01-02')$$),
    ('goal of 65', $$SELECT abt_track('tr-visitor', repeat('g', 65))$$),
    ('visitor id of 257', $$SELECT abt_track(repeat('v', 257), 'purchase')$$),
    ('no visitor', $$SELECT abt_track(NULL, 'purchase')$$),
    ('no goal', $$SELECT abt_track('tr-visitor', NULL)$$)
  ) t(label, q);
RESET ROLE;
SELECT pg_temp.written() AS after_rejections;
SET ROLE regress_abtest_track_visitor;
SELECT abt_track('tr-visitor', 'purchase', 100) AS purchase_in_both,
       abt_track('tr-visitor', 'other', 5) AS other_skips_e4,
       abt_track('tr-visitor', repeat('g', 64)) AS goal_of_64;
RESET ROLE;
SELECT experiment_id, goal, value FROM abtest.conversions WHERE user_id = 'tr-visitor' ORDER BY id;
-- a trusted caller: any goal, refunds
SELECT abt_track('tr-visitor', 'other', -5) AS refund_everywhere;
SELECT pg_temp.err($$SELECT abt_track('tr-visitor', 'purchase', 1e15 + 1)$$) AS trusted_bound;

-- CUPED.  Experiment 6 looks back 1 day on purchase and signup, 5 looks
-- back 7 days on purchase.  History before any assignment: kept for
-- purchase and signup (some experiment looks back on them), counted nowhere.
SELECT abt_track('tr-c1', 'purchase', 10, '2026-02-01 00:00+00') AS eight_days_before,
       abt_track('tr-c1', 'purchase', 20, '2026-02-05 00:00+00') AS four_days_before,
       abt_track('tr-c1', 'purchase', NULL, '2026-02-08 12:00+00') AS half_a_day_before,
       abt_track('tr-c1', 'purchase', 7, '2026-02-09 00:00+00') AS at_assignment,
       abt_track('tr-c1', 'other', 1, '2026-02-08 13:00+00') AS no_lookback_goal;
SELECT goal, value, at FROM abtest.visitor_events WHERE user_id = 'tr-c1' ORDER BY at;
-- Assigned in 5 and 6 at 2026-02-09: each its own window.  The event at
-- exactly assigned_at (already in the history) is an outcome in both.
SELECT abt_assign('af200000-0000-0000-0000-000000000005', 'tr-c1', '2026-02-09 00:00+00') ->> 'new' AS e5,
       abt_assign('af200000-0000-0000-0000-000000000006', 'tr-c1', '2026-02-09 00:00+00') ->> 'new' AS e6;
SELECT experiment_id, goal, covariate, had_event FROM abtest.visitor_covariates
 WHERE user_id = 'tr-c1' ORDER BY 1, 2;
SELECT experiment_id, goal, value, created_at FROM abtest.conversions WHERE user_id = 'tr-c1' ORDER BY 1, id;
-- Outcomes after the assignment: abt_track and abt_convert add x v.
SELECT abt_track('tr-c1', 'purchase', 5, '2026-02-10 00:00+00') AS counted;
SELECT abt_convert('af200000-0000-0000-0000-000000000005', 'tr-c1', 'purchase', 3, '2026-02-10 01:00+00') AS later;
-- Late history (a trusted import): before assigned_at, inside 5's window
-- only, it moves 5's covariate and the sums that hold it.
SELECT abt_track('tr-c1', 'purchase', 4, '2026-02-07 00:00+00') AS late_history;
SELECT experiment_id, goal, covariate, had_event FROM abtest.visitor_covariates
 WHERE user_id = 'tr-c1' ORDER BY 1, 2;
SELECT * FROM pg_temp.sums('af200000-0000-0000-0000-000000000005');
SELECT * FROM pg_temp.sums('af200000-0000-0000-0000-000000000006');
-- A signup seen first as a covariate flag (6 looks back on signup).
SELECT abt_track('tr-c1', 'signup', NULL, '2026-02-08 20:00+00') AS late_signup,
       abt_track('tr-c1', 'signup', NULL, '2026-02-09 10:00+00') AS signup_converts;
SELECT * FROM pg_temp.sums('af200000-0000-0000-0000-000000000006');
SELECT pg_temp.sums_differ() AS groups_differing;

-- A future event in the history (a trusted caller's) becomes an outcome of
-- a later assignment.
SELECT abt_track('tr-c2', 'purchase', 9, '2026-03-02 00:00+00') AS future_event;
SELECT abt_assign('af200000-0000-0000-0000-000000000005', 'tr-c2', '2026-03-01 00:00+00') ->> 'new' AS e5;
SELECT experiment_id, goal, value, created_at FROM abtest.conversions WHERE user_id = 'tr-c2';
SELECT pg_temp.sums_differ() AS groups_differing;

-- Many new visitors and events in one transaction (deltas.c keeps the sums
-- and writes them before commit).
BEGIN;
SELECT count(abt_track('tr-m' || i, 'purchase', i, '2026-04-01 00:00+00'::timestamptz - i * interval '1 hour'))
  FROM generate_series(1, 30) i;
SELECT count(abt_assign(('af200000-0000-0000-0000-00000000000' || e)::uuid, 'tr-m' || i, '2026-04-01 00:00+00'))
  FROM generate_series(1, 30) i, generate_series(5, 6) e;
SELECT sum(abt_track('tr-m' || i, 'purchase', i % 7, '2026-04-02 00:00+00')) AS counted
  FROM generate_series(1, 30) i;
SELECT sum(abt_track('tr-m' || i, 'purchase', 1, '2026-03-31 12:00+00')) AS late_history
  FROM generate_series(1, 30, 3) i;
COMMIT;
SELECT pg_temp.sums_differ() AS groups_differing;
SELECT * FROM pg_temp.sums('af200000-0000-0000-0000-000000000006');

-- An experiment without lookback goals keeps no covariates.
SELECT count(*) AS covariates_without_lookback FROM abtest.visitor_covariates
 WHERE experiment_id IN ('af200000-0000-0000-0000-000000000001', 'af200000-0000-0000-0000-000000000004');

-- The fold moves every column into slot 0; the rebuild (a restore's)
-- recomputes the same sums from the events and visitor_covariates.
SELECT abt_settle_counters('af200000-0000-0000-0000-000000000006') >= 0 AS folded;
SELECT count(*) AS slot_rows_left FROM abtest.goal_counters
 WHERE experiment_id = 'af200000-0000-0000-0000-000000000006' AND slot <> 0;
SELECT pg_temp.sums_differ() AS groups_differing;
SELECT abtest.rebuild_goal_sums();
SELECT pg_temp.sums_differ() AS groups_differing;
SELECT * FROM pg_temp.sums('af200000-0000-0000-0000-000000000006');

-- Deleting an experiment deletes its covariates.
DELETE FROM abtest.experiments WHERE id = 'af200000-0000-0000-0000-000000000006';
SELECT count(*) AS covariates_left FROM abtest.visitor_covariates
 WHERE experiment_id = 'af200000-0000-0000-0000-000000000006';

DROP ROLE regress_abtest_track_visitor;
