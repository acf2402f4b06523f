--
-- event_value_bound: the bound of every event value that enters the goal
-- sums (issue 24: two visitors' 9e65535 overflowed a sum of squares and
-- left the experiment unfoldable).  ABT_MAX_EVENT_VALUE (src/rules.h) is
-- 1e15: a visitor's value lies in [0, 1e15] where its goal declares no
-- max_value, a trusted caller's in [-1e15, 1e15]; abtest.goals' CHECK holds
-- a max_value to 1e15.  At the bound every one of them accepts, just above
-- it every one refuses (22003; 23514 for the CHECK): that holds the C and
-- SQL copies equal.  A refused call writes nothing.  And abt_metric_stats
-- on goal sums beyond numeric's or float8's range (rows written by hand:
-- no call can make them now) answers with NULL columns instead of failing.
-- Ids of this file: b0b00000-....
--
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN detail <> '' THEN ' (' || detail || ')' ELSE '' END;
END $$;
-- what this file's experiments hold, to show that a refused call wrote nothing
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
SELECT format('conversions %s, visitor totals %s, converted %s, goal sum rows %s',
              (SELECT count(*) FROM abtest.conversions WHERE experiment_id::text LIKE 'b0b00000-%'),
              (SELECT count(*) FROM abtest.visitor_goals WHERE experiment_id::text LIKE 'b0b00000-%'),
              (SELECT count(converted_at) FROM abtest.assignments WHERE experiment_id::text LIKE 'b0b00000-%'),
              (SELECT count(*) FROM abtest.goal_counters WHERE experiment_id::text LIKE 'b0b00000-%'))
$$;

-- e1: no declared goals; e2: 'capped' (max_value at the bound), 'open'
-- (max_value NULL), 'small' (max_value 10); e3: sums written by hand below
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('b0b00000-0000-0000-0000-000000000001', 'no goals', 'active'),
    ('b0b00000-0000-0000-0000-000000000002', 'declared goals', 'active'),
    ('b0b00000-0000-0000-0000-000000000003', 'hand-written sums', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
SELECT ('b0b00000-0000-0000-0001-00000000000' || right(id::text, 1))::uuid, id, 'headline'
  FROM abtest.experiments WHERE id::text LIKE 'b0b00000-%';
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
SELECT ('b0b00000-0000-0000-0002-0000000000' || right(el.id::text, 1) || v.position)::uuid,
       el.id, v.name, v.position = 0, v.position
  FROM abtest.experiment_elements el, (VALUES ('A', 0), ('B', 1)) v(name, position)
 WHERE el.id::text LIKE 'b0b00000-%';

-- The CHECK on a goal's max_value: the bound is the largest.
SELECT label, split_part(pg_temp.err(q), ' (', 1) AS result FROM (VALUES
    ('max_value 1e15', $$INSERT INTO abtest.goals VALUES ('b0b00000-0000-0000-0000-000000000002', 'capped', 1e15)$$),
    ('max_value 1e15 + 1', $$INSERT INTO abtest.goals VALUES ('b0b00000-0000-0000-0000-000000000002', 'over', 1e15 + 1)$$),
    ('max_value 1e15 + 0.000001', $$INSERT INTO abtest.goals VALUES ('b0b00000-0000-0000-0000-000000000002', 'over', 1000000000000000.000001)$$),
    ('max_value 9e65535', $$INSERT INTO abtest.goals VALUES ('b0b00000-0000-0000-0000-000000000002', 'over', ('9e' || 65535)::numeric)$$),
    ('max_value NULL', $$INSERT INTO abtest.goals VALUES ('b0b00000-0000-0000-0000-000000000002', 'open', NULL)$$),
    ('max_value 10', $$INSERT INTO abtest.goals VALUES ('b0b00000-0000-0000-0000-000000000002', 'small', 10)$$)
  ) t(label, q);
SELECT goal, max_value FROM abtest.goals WHERE experiment_id = 'b0b00000-0000-0000-0000-000000000002' ORDER BY goal;

DROP ROLE IF EXISTS regress_abtest_bound_visitor;
DROP ROLE IF EXISTS regress_abtest_bound_server;
CREATE ROLE regress_abtest_bound_visitor;
CREATE ROLE regress_abtest_bound_server;
-- a trusted server-side role: may insert conversions itself
GRANT USAGE ON SCHEMA abtest TO regress_abtest_bound_server;
GRANT INSERT ON abtest.conversions TO regress_abtest_bound_server;

SET ROLE regress_abtest_bound_visitor;
SELECT abt_assign('b0b00000-0000-0000-0000-000000000001', 'v1') ->> 'new' AS e1_v1,
       abt_assign('b0b00000-0000-0000-0000-000000000002', 'v1') ->> 'new' AS e2_v1;
RESET ROLE;
SELECT pg_temp.written() AS before_refusals;

-- A visitor, just outside the bounds: refused, with nothing written.
SET ROLE regress_abtest_bound_visitor;
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('no goals, 1e15 + 1', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 1e15 + 1)$$),
    ('no goals, 1e15 + 0.000001', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 1000000000000000.000001)$$),
    ('no goals, 9e65535', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', ('9e' || 65535)::numeric)$$),
    ('no goals, -0.000001', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', -0.000001)$$),
    ('no goals, unassigned, 9e65535', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'nobody', 'revenue', ('9e' || 65535)::numeric)$$),
    ('no goals, NaN', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 'NaN')$$),
    ('open, 1e15 + 1', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'open', 1e15 + 1)$$),
    ('open, -1', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'open', -1)$$),
    ('capped, 1e15 + 1', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'capped', 1e15 + 1)$$),
    ('small, 10.000001', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'small', 10.000001)$$)
  ) t(label, q);
RESET ROLE;
SELECT pg_temp.written() AS after_visitor_refusals;

-- A visitor at the bounds: accepted.
SET ROLE regress_abtest_bound_visitor;
SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 1e15) AS no_goals_1e15,
       abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 0) AS no_goals_0,
       abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'open', 1000000000000000) AS open_1e15,
       abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'capped', 1e15) AS capped_1e15,
       abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'small', 10) AS small_10;
RESET ROLE;

-- A trusted caller, just outside [-1e15, 1e15]: refused (before its
-- lookup: an unassigned visitor too), with nothing written.
SELECT pg_temp.written() AS before_trusted_refusals;
SET ROLE regress_abtest_bound_server;
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('1e15 + 1', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 1e15 + 1)$$),
    ('-1e15 - 1', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'refund', -1e15 - 1)$$),
    ('-1e15 - 0.000001', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'refund', -1000000000000000.000001)$$),
    ('9e65535, unassigned', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'nobody', 'revenue', ('9e' || 65535)::numeric)$$),
    ('undeclared goal, 1e15 + 1', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'import', 1e15 + 1)$$),
    ('NaN', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 'NaN')$$),
    ('-Infinity', $$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', '-Infinity')$$)
  ) t(label, q);
RESET ROLE;
SELECT pg_temp.written() AS after_trusted_refusals;
-- the extension owner (a superuser here) is held to it too
SELECT split_part(pg_temp.err($$SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 1e15 + 1)$$), ':', 1) AS owner_1e15_plus_1;

-- A trusted caller at the bounds, refunds included: accepted.
SET ROLE regress_abtest_bound_server;
SELECT abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', 1e15) AS trusted_1e15,
       abt_convert('b0b00000-0000-0000-0000-000000000001', 'v1', 'revenue', -1e15) AS trusted_minus_1e15,
       abt_convert('b0b00000-0000-0000-0000-000000000002', 'v1', 'small', 1e15) AS over_a_goals_maximum;
RESET ROLE;
SELECT goal, value_total, events FROM abtest.visitor_goals
 WHERE experiment_id::text LIKE 'b0b00000-%' ORDER BY experiment_id, goal;
SELECT right(experiment_id::text, 1) AS e, goal, sum(converters) AS converters, sum(value_sum) AS value_sum,
       sum(value_sum_squares) AS value_sum_squares
  FROM abtest.goal_counters WHERE experiment_id::text LIKE 'b0b00000-%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT abt_settle_counters('b0b00000-0000-0000-0000-000000000001') >= 0 AS e1_settles,
       abt_settle_counters('b0b00000-0000-0000-0000-000000000002') >= 0 AS e2_settles;

-- Sums beyond numeric's range over slots (A: two slot rows of 9e131071,
-- the largest magnitude numeric has) or beyond float8's (B: one row):
-- rows no call can write now.  abt_metric_stats answers for the
-- experiment, with NULL where a sum or what depends on it has no value.
INSERT INTO abtest.variant_counters (experiment_id, variant_id, slot, allocations)
VALUES ('b0b00000-0000-0000-0000-000000000003', 'b0b00000-0000-0000-0002-000000000030', 0, 10),
       ('b0b00000-0000-0000-0000-000000000003', 'b0b00000-0000-0000-0002-000000000031', 0, 10);
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares)
VALUES ('b0b00000-0000-0000-0000-000000000003', 1, 'b0b00000-0000-0000-0002-000000000030', 'revenue', 2,
        ('9e' || 131071)::numeric, ('9e' || 131071)::numeric),
       ('b0b00000-0000-0000-0000-000000000003', 2, 'b0b00000-0000-0000-0002-000000000030', 'revenue', 3,
        ('9e' || 131071)::numeric, ('9e' || 131071)::numeric),
       ('b0b00000-0000-0000-0000-000000000003', 1, 'b0b00000-0000-0000-0002-000000000031', 'revenue', 4,
        1e400, 1e800);
SELECT variant_name, metric, visitors, converters, value_sum IS NULL AS sum_null,
       value_sum_squares IS NULL AS squares_null, mean, variance IS NULL AS variance_null,
       uplift IS NULL AS uplift_null, p_value IS NULL AS p_null
  FROM abt_metric_stats(ARRAY['b0b00000-0000-0000-0000-000000000003']::uuid[]);

RESET ROLE;
DROP OWNED BY regress_abtest_bound_server;
DROP ROLE regress_abtest_bound_visitor;
DROP ROLE regress_abtest_bound_server;
DELETE FROM abtest.experiments WHERE id::text LIKE 'b0b00000-%';
SELECT pg_temp.written() AS left_behind;
