--
-- call_limits: what one call may ask for and what the configuration tables
-- hold (issue 24, items 5 and 6), with the limits of src/rules.h as
-- abtest.limits() shows them:
--   - abt_metric_stats takes at most 1,000 goals (as given, repeats
--     included: 54000) and removes repeats in linear time; a 150,000-goal
--     call ends at once with that error, not at statement_timeout;
--   - an analytics call returns at most 1,000,000 rows: abt_metric_stats
--     (54000) and abt_timeline_variants, whose bucket cap counts variants x
--     buckets (22023, as its other window errors);
--   - an element has at most 100 variants and an experiment at most 50
--     elements (triggers, 54000): the 100th / 50th is accepted, the next
--     one rejected, whether inserted, moved in or part of a larger
--     statement; an upsert of a row already there and an update that keeps
--     a row in its parent are not growth; a restore (row_security off)
--     loads anything, and the limit then stops further growth only.
-- Ids of this file: ca110000-....
--
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- runs a statement, returns its one value, or its SQLSTATE, message and detail
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    d text;
BEGIN
    EXECUTE q INTO r;
    RETURN coalesce(r, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' / ' || nullif(d, ''), '');
END $$;

SELECT name, value, applies_to FROM abtest.limits() ORDER BY name;

-- experiment 1: one element, a control and a variant, 40 visitors, some of
-- whom sign up (no value) or purchase (a value)
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('ca110000-0000-0000-0000-000000000001', 'call limits', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
    ('ca110000-0000-0000-0001-000000000001', 'ca110000-0000-0000-0000-000000000001', 'hero');
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('ca110000-0000-0000-0002-000000000001', 'ca110000-0000-0000-0001-000000000001', 'A', true, 0),
    ('ca110000-0000-0000-0002-000000000002', 'ca110000-0000-0000-0001-000000000001', 'B', false, 1);
SELECT count(*) AS assigned
  FROM generate_series(1, 40) i, abt_assign('ca110000-0000-0000-0000-000000000001', 'u' || i) a;
SELECT count(*) FILTER (WHERE c) AS first_conversions
  FROM (SELECT abt_convert('ca110000-0000-0000-0000-000000000001', 'u' || i, 'signup') c
          FROM generate_series(1, 40, 3) i
        UNION ALL
        SELECT abt_convert('ca110000-0000-0000-0000-000000000001', 'u' || i, 'purchase', i)
          FROM generate_series(2, 40, 5) i) t;

-- goals g1 .. g1000 with a value (sums written by hand, as abt_convert
-- would keep them for one visitor of A with a total of 1): each has both
-- metrics (a goal whose every visitor total is 0 has no value rows)
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares)
SELECT 'ca110000-0000-0000-0000-000000000001', 0, 'ca110000-0000-0000-0002-000000000001', 'g' || i, 1, 1, 1
  FROM generate_series(1, 1000) i;

--
-- Goals per call.  1,001 goals: rejected before anything is read; 1,000
-- distinct goals: every one of them, two metrics and two variants each.
--
SELECT pg_temp.try($$SELECT count(*) FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000001}',
                     (SELECT array_agg('g' || i) FROM generate_series(1, 1001) i))$$) AS goals_1001;
SELECT pg_temp.try($$SELECT count(*) FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000001}',
                     (SELECT array_agg('g' || i) FROM generate_series(1, 1000) i))$$) AS goals_1000;
-- 1,000 goals given, two of them: the answer of the two, in the order of
-- their first places
SELECT goal, metric, variant_name, visitors, converters, value_sum, round(p_value::numeric, 6) AS p_value
  FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000001}',
                        (SELECT array_agg(CASE WHEN i % 2 = 0 THEN 'purchase' ELSE 'signup' END)
                           FROM generate_series(0, 999) i));
SELECT (SELECT string_agg(m::text, ' ; ' ORDER BY m.ordinality)
          FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000001}',
                                (SELECT array_agg(CASE WHEN i % 2 = 0 THEN 'purchase' ELSE 'signup' END)
                                   FROM generate_series(0, 999) i)) WITH ORDINALITY m)
       = (SELECT string_agg(m::text, ' ; ' ORDER BY m.ordinality)
            FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000001}', '{purchase, signup}')
                 WITH ORDINALITY m)
       AS repeats_removed;
-- 150,000 goals under a 5 s statement_timeout: the limit's error, at once
-- (before, their repeats were looked for in quadratic time, deaf to the
-- timeout)
SET statement_timeout = '5s';
SELECT pg_temp.try($$SELECT count(*) FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000001}',
                     (SELECT array_agg('goal-' || i) FROM generate_series(1, 150000) i))$$) AS goals_150000;
RESET statement_timeout;

--
-- Experiment 2: six elements of 100 variants (the first of each the
-- control): 600 variants.
--
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('ca110000-0000-0000-0000-000000000002', 'call limits, wide', 'draft');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
SELECT ('ca110000-0002-0000-0000-' || lpad(e::text, 12, '0'))::uuid,
       'ca110000-0000-0000-0000-000000000002', 'el ' || e, e
  FROM generate_series(1, 6) e;
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
SELECT ('ca110000-0002-' || lpad(e::text, 4, '0') || '-0000-' || lpad(v::text, 12, '0'))::uuid,
       ('ca110000-0002-0000-0000-' || lpad(e::text, 12, '0'))::uuid, 'v' || v, v = 1, v
  FROM generate_series(1, 6) e, generate_series(1, 100) v;
SELECT count(*) AS variants FROM abtest.element_variants v
  JOIN abtest.experiment_elements el ON el.id = v.element_id
 WHERE el.experiment_id = 'ca110000-0000-0000-0000-000000000002';
-- ... and goals g1 .. g1000 with a value, as in experiment 1
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares)
SELECT 'ca110000-0000-0000-0000-000000000002', 0, 'ca110000-0002-0001-0000-000000000001', 'g' || i, 1, 1, 1
  FROM generate_series(1, 1000) i;

-- Rows per call: 600 variants x 1,000 goals x 2 metrics is 1,200,000 rows
SELECT pg_temp.try($$SELECT count(*) FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000002}',
                     (SELECT array_agg('g' || i) FROM generate_series(1, 1000) i))$$) AS metric_rows;
-- ... and the rows of every experiment of the call count: 831 goals are
-- 997,200 rows of experiment 2, and 3,324 more of experiment 1
SELECT pg_temp.try($$SELECT count(*) FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000001, ca110000-0000-0000-0000-000000000002}',
                     (SELECT array_agg('g' || i) FROM generate_series(1, 831) i))$$) AS metric_rows_two;
SELECT pg_temp.try($$SELECT count(*) FROM abt_metric_stats('{ca110000-0000-0000-0000-000000000002}',
                     (SELECT array_agg('g' || i) FROM generate_series(1, 10) i))$$) AS metric_rows_ok;

-- abt_timeline_variants: 600 variants x 2,001 hourly buckets is
-- 1,200,600 rows, rejected before any bucket is counted; so are 1,667
-- buckets (1,000,200 rows), while 1,666 (999,600 rows) are within it
SELECT pg_temp.try($$SELECT count(*) FROM abt_timeline_variants('ca110000-0000-0000-0000-000000000002', 2000, '1 hour')$$)
       AS timeline_2001_buckets;
SELECT pg_temp.try($$SELECT count(*) FROM abt_timeline_variants('ca110000-0000-0000-0000-000000000002', 1666, '1 hour')$$)
       AS timeline_1667_buckets;
SELECT pg_temp.try($$SELECT count(*) FROM abt_timeline_variants('ca110000-0000-0000-0000-000000000002', 1665, '1 hour')$$)
       AS timeline_1666_buckets;
SELECT pg_temp.try($$SELECT count(*) FROM abt_timeline_variants('ca110000-0000-0000-0000-000000000002', 48, '2 hours')$$)
       AS timeline_rows_ok;
-- abt_timeline has one series: its bucket cap (100,000) comes first
SELECT pg_temp.try($$SELECT count(*) FROM abt_timeline('ca110000-0000-0000-0000-000000000002', 87600, '1 hour')$$)
       AS timeline_one_series;

--
-- Variants per element.  Element 1 of experiment 2 has 100: a 101st is
-- rejected, so is a statement of two whose first would be the 100th.
--
SELECT pg_temp.try($$INSERT INTO abtest.element_variants (element_id, name)
                     VALUES ('ca110000-0002-0000-0000-000000000001', 'v101') RETURNING 'inserted'$$) AS variant_101;
SELECT pg_temp.try($$DELETE FROM abtest.element_variants
                      WHERE id = 'ca110000-0002-0001-0000-000000000100' RETURNING 'deleted'$$) AS variant_100_deleted;
SELECT pg_temp.try($$INSERT INTO abtest.element_variants (element_id, name)
                     VALUES ('ca110000-0002-0000-0000-000000000001', 'new 100'),
                            ('ca110000-0002-0000-0000-000000000001', 'new 101') RETURNING 'inserted'$$) AS variants_100_101;
SELECT pg_temp.try($$INSERT INTO abtest.element_variants (id, element_id, name)
                     VALUES ('ca110000-0002-0001-0000-000000000100', 'ca110000-0002-0000-0000-000000000001', 'v100')
                     RETURNING 'inserted'$$) AS variant_100;
-- not growth: an upsert of a variant already there, an update in place
SELECT pg_temp.try($$INSERT INTO abtest.element_variants (id, element_id, name)
                     VALUES ('ca110000-0002-0001-0000-000000000100', 'ca110000-0002-0000-0000-000000000001', 'v100')
                     ON CONFLICT (id) DO UPDATE SET name = 'v100 again' RETURNING name$$) AS upsert;
SELECT pg_temp.try($$UPDATE abtest.element_variants SET name = 'v99', weight = 2
                      WHERE id = 'ca110000-0002-0001-0000-000000000099' RETURNING 'updated'$$) AS update_in_place;
-- moving a variant of experiment 1 into the full element: rejected
SELECT pg_temp.try($$UPDATE abtest.element_variants SET element_id = 'ca110000-0002-0000-0000-000000000001'
                      WHERE id = 'ca110000-0000-0000-0002-000000000002' RETURNING 'moved'$$) AS variant_moved_in;

--
-- Elements per experiment.  Experiment 3 gets 49, then the 50th, then a
-- 51st is rejected; so is moving an element of experiment 1 into it.
--
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('ca110000-0000-0000-0000-000000000003', 'call limits, many elements', 'draft');
INSERT INTO abtest.experiment_elements (experiment_id, name, position)
SELECT 'ca110000-0000-0000-0000-000000000003', 'el ' || e, e FROM generate_series(1, 49) e;
SELECT pg_temp.try($$INSERT INTO abtest.experiment_elements (experiment_id, name)
                     VALUES ('ca110000-0000-0000-0000-000000000003', 'el 50') RETURNING 'inserted'$$) AS element_50;
SELECT pg_temp.try($$INSERT INTO abtest.experiment_elements (experiment_id, name)
                     VALUES ('ca110000-0000-0000-0000-000000000003', 'el 51') RETURNING 'inserted'$$) AS element_51;
SELECT pg_temp.try($$UPDATE abtest.experiment_elements SET experiment_id = 'ca110000-0000-0000-0000-000000000003'
                      WHERE id = 'ca110000-0000-0000-0001-000000000001' RETURNING 'moved'$$) AS element_moved_in;
SELECT pg_temp.try($$UPDATE abtest.experiment_elements SET name = 'renamed'
                      WHERE experiment_id = 'ca110000-0000-0000-0000-000000000003' AND position = 1
                     RETURNING 'updated'$$) AS element_update_in_place;

--
-- A restore (pg_dump's SET row_security = off) loads rows beyond a limit;
-- they stay, and only further growth is refused.
--
BEGIN;
SET LOCAL row_security = off;
INSERT INTO abtest.experiment_elements (experiment_id, name)
SELECT 'ca110000-0000-0000-0000-000000000003', 'restored ' || e FROM generate_series(1, 2) e;
INSERT INTO abtest.element_variants (element_id, name)
VALUES ('ca110000-0002-0000-0000-000000000001', 'restored 101');
COMMIT;
SELECT (SELECT count(*) FROM abtest.experiment_elements
         WHERE experiment_id = 'ca110000-0000-0000-0000-000000000003') AS elements,
       (SELECT count(*) FROM abtest.element_variants
         WHERE element_id = 'ca110000-0002-0000-0000-000000000001') AS variants;
SELECT pg_temp.try($$INSERT INTO abtest.experiment_elements (experiment_id, name)
                     VALUES ('ca110000-0000-0000-0000-000000000003', 'el 53') RETURNING 'inserted'$$) AS element_53;
SELECT pg_temp.try($$INSERT INTO abtest.element_variants (element_id, name)
                     VALUES ('ca110000-0002-0000-0000-000000000001', 'v102') RETURNING 'inserted'$$) AS variant_102;
SELECT pg_temp.try($$WITH u AS (UPDATE abtest.element_variants SET content = '{"x": 1}'
                                 WHERE element_id = 'ca110000-0002-0000-0000-000000000001' RETURNING 1)
                     SELECT count(*) FROM u$$) AS over_limit_rows_updated;

-- the error as a client sees it
\set SHOW_CONTEXT never
INSERT INTO abtest.element_variants (element_id, name)
VALUES ('ca110000-0002-0000-0000-000000000001', 'v102');
\set SHOW_CONTEXT errors

DELETE FROM abtest.experiments WHERE id::text LIKE 'ca110000-%';
