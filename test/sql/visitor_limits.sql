--
-- visitor_limits: what a caller that is not trusted (one that may not
-- INSERT into abtest.assignments / abtest.conversions itself: a visitor)
-- may do with the writing functions, and that trusted callers (the owner,
-- a role granted those INSERTs) keep every form.  Every rejected call names
-- its SQLSTATE and writes nothing.  Ids of this file: ad000000-....
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
-- rows of this file's experiments, to show that a rejected call wrote nothing
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
SELECT format('assignments %s, conversions %s, allocations %s',
              (SELECT count(*) FROM abtest.assignments WHERE experiment_id::text LIKE 'ad000000-%'),
              (SELECT count(*) FROM abtest.conversions WHERE experiment_id::text LIKE 'ad000000-%'),
              (SELECT coalesce(sum(allocations), 0) FROM abtest.variant_counters
                WHERE experiment_id::text LIKE 'ad000000-%'))
$$;

-- e1: no declared goals; e2: declares 'purchase' (at most 1000) and 'signup'
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('ad000000-0000-0000-0000-000000000001', 'open goals', 'active'),
    ('ad000000-0000-0000-0000-000000000002', 'declared goals', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
SELECT ('ad000000-0000-0000-0001-00000000000' || right(id::text, 1))::uuid, id, 'headline'
  FROM abtest.experiments WHERE id::text LIKE 'ad000000-%';
INSERT INTO abtest.element_variants (element_id, name, position)
SELECT el.id, v.name, v.position
  FROM abtest.experiment_elements el, (VALUES ('A', 0), ('B', 1)) v(name, position)
 WHERE el.id::text LIKE 'ad000000-%';
INSERT INTO abtest.goals (experiment_id, goal, max_value) VALUES
    ('ad000000-0000-0000-0000-000000000002', 'purchase', 1000),
    ('ad000000-0000-0000-0000-000000000002', 'signup', NULL);

-- The goals table's own rules: its length limit is the visitor goal limit.
-- (The errors' details, which show the row with its created_at, are cut.)
SELECT label, split_part(pg_temp.err(q), ' (', 1) AS result FROM (VALUES
    ('64 characters', $$INSERT INTO abtest.goals (experiment_id, goal) VALUES ('ad000000-0000-0000-0000-000000000001', repeat('g', 64))$$),
    ('65 characters', $$INSERT INTO abtest.goals (experiment_id, goal) VALUES ('ad000000-0000-0000-0000-000000000001', repeat('g', 65))$$),
    ('empty', $$INSERT INTO abtest.goals (experiment_id, goal) VALUES ('ad000000-0000-0000-0000-000000000001', '')$$),
    ('negative maximum', $$INSERT INTO abtest.goals VALUES ('ad000000-0000-0000-0000-000000000001', 'n', -1)$$),
    ('NaN maximum', $$INSERT INTO abtest.goals VALUES ('ad000000-0000-0000-0000-000000000001', 'n', 'NaN')$$),
    ('infinite maximum', $$INSERT INTO abtest.goals VALUES ('ad000000-0000-0000-0000-000000000001', 'n', 'Infinity')$$),
    ('unknown experiment', $$INSERT INTO abtest.goals VALUES ('ad000000-0000-0000-0000-0000000000ff', 'n', 1)$$)
  ) t(label, q);
-- (the 64-character goal was a test of the constraint, not a declaration)
DELETE FROM abtest.goals WHERE experiment_id = 'ad000000-0000-0000-0000-000000000001';

DROP ROLE IF EXISTS regress_abtest_anon;
DROP ROLE IF EXISTS regress_abtest_importer;
CREATE ROLE regress_abtest_anon;
CREATE ROLE regress_abtest_importer;
-- a trusted server-side role: may write the tables itself, and import
GRANT USAGE ON SCHEMA abtest TO regress_abtest_importer;
GRANT INSERT ON abtest.assignments, abtest.conversions TO regress_abtest_importer;
GRANT EXECUTE ON FUNCTION abt_assign_bulk(uuid, text[], timestamptz) TO regress_abtest_importer;

-- A visitor: the plain calls work, and take the server's time.
SET ROLE regress_abtest_anon;
SELECT abt_assign('ad000000-0000-0000-0000-000000000001', 'v1') ->> 'new' AS new_visitor,
       abt_assign('ad000000-0000-0000-0000-000000000001', 'v1', now()) ->> 'new' AS at_now_is_allowed,
       abt_convert('ad000000-0000-0000-0000-000000000001', 'v1', repeat('g', 64)) AS goal_of_64,
       jsonb_array_length(abt_assign_batch(array_fill('ad000000-0000-0000-0000-000000000002'::uuid,
                                                      ARRAY[50]), 'v1')) AS batch_of_50;
RESET ROLE;
SELECT pg_temp.written() AS before_rejections;
SET ROLE regress_abtest_anon;
-- Every form a visitor may not use, each rejected with its SQLSTATE.
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('assign in 2001', $$SELECT abt_assign('ad000000-0000-0000-0000-000000000001', 'x1', '2001-01-01')$$),
    ('assign in the future', $$SELECT abt_assign('ad000000-0000-0000-0000-000000000001', 'x1', now() + interval '1 microsecond')$$),
    ('batch in 2030', $$SELECT abt_assign_batch(ARRAY['ad000000-0000-0000-0000-000000000001'::uuid], 'x2', '2030-01-01')$$),
    ('batch of 51', $$SELECT abt_assign_batch(array_fill('ad000000-0000-0000-0000-000000000001'::uuid, ARRAY[51]), 'x3')$$),
    ('bulk', $$SELECT * FROM abt_assign_bulk('ad000000-0000-0000-0000-000000000001', ARRAY['x4', 'x5'])$$),
    ('bulk in 2030', $$SELECT * FROM abt_assign_bulk('ad000000-0000-0000-0000-000000000001', ARRAY['x4'], '2030-01-01')$$),
    ('convert in 1999', $$SELECT abt_convert('ad000000-0000-0000-0000-000000000001', 'v1', 'purchase', 1e12, '1999-01-01')$$),
    ('goal of 65', $$SELECT abt_convert('ad000000-0000-0000-0000-000000000001', 'v1', repeat('g', 65))$$),
    ('undeclared goal', $$SELECT abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'conversion')$$),
    ('value over the maximum', $$SELECT abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'purchase', 1000.01)$$),
    ('negative value', $$SELECT abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'purchase', -0.01)$$),
    ('undeclared goal, unassigned visitor', $$SELECT abt_convert('ad000000-0000-0000-0000-000000000002', 'nobody', 'conversion')$$)
  ) t(label, q);
RESET ROLE;
SELECT pg_temp.written() AS after_rejections;
SET ROLE regress_abtest_anon;
-- Declared goals within their limits (signup has none).
SELECT abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'purchase', 1000) AS purchase_at_max,
       abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'purchase', 0) AS purchase_of_0,
       abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'purchase') AS purchase_without_value,
       abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'signup', 1e12) AS signup_any_value;
RESET ROLE;

-- The owner changes a maximum: a visitor's next call (same backend, cached
-- configuration) follows the new one.
UPDATE abtest.goals SET max_value = 2000
 WHERE experiment_id = 'ad000000-0000-0000-0000-000000000002' AND goal = 'purchase';
SET ROLE regress_abtest_anon;
SELECT pg_temp.err($$SELECT abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'purchase', 1500)$$) AS raised_maximum;
RESET ROLE;
DELETE FROM abtest.goals WHERE experiment_id = 'ad000000-0000-0000-0000-000000000002';
SET ROLE regress_abtest_anon;
SELECT pg_temp.err($$SELECT abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'conversion', 1e9)$$) AS no_goals_declared_any;
RESET ROLE;
INSERT INTO abtest.goals VALUES ('ad000000-0000-0000-0000-000000000002', 'purchase', 1000);

-- A trusted role keeps every form: any time, any number, any goal and value.
SET ROLE regress_abtest_importer;
SELECT abt_assign('ad000000-0000-0000-0000-000000000001', 't1', '2001-01-01') ->> 'new' AS assign_in_2001,
       jsonb_array_length(abt_assign_batch(array_fill('ad000000-0000-0000-0000-000000000001'::uuid,
                                                      ARRAY[51]), 't2', '2030-01-01')) AS batch_of_51_in_2030,
       (SELECT count(*) FROM abt_assign_bulk('ad000000-0000-0000-0000-000000000001',
                                             ARRAY['t3', 't4'], '2024-01-01')) AS bulk,
       abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'refund', -49.90, '1999-01-01') AS any_goal_in_1999,
       abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'purchase', 1e12) AS over_the_maximum;
RESET ROLE;
SELECT user_id, assigned_at FROM abtest.assignments
 WHERE experiment_id = 'ad000000-0000-0000-0000-000000000001' AND user_id LIKE 't%' ORDER BY user_id;
SELECT goal, value, created_at < '2000-01-01' AS backdated FROM abtest.conversions
 WHERE experiment_id = 'ad000000-0000-0000-0000-000000000002' ORDER BY id;

-- The extension owner (here a superuser) is trusted too.
SELECT abt_assign('ad000000-0000-0000-0000-000000000001', 'o1', '2002-02-02') ->> 'new' AS owner_assign_in_2002,
       abt_convert('ad000000-0000-0000-0000-000000000002', 'v1', 'anything', 5e9, '2002-02-02') AS owner_any_goal;

-- The writing functions run as their caller and act as the owner inside.
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer
  FROM pg_proc p
 WHERE p.proname IN ('abt_assign', 'abt_assign_batch', 'abt_assign_bulk', 'abt_convert')
 ORDER BY p.proname, p.oid::regprocedure::text;

DROP OWNED BY regress_abtest_importer;
DROP ROLE regress_abtest_anon;
DROP ROLE regress_abtest_importer;
DELETE FROM abtest.experiments WHERE id::text LIKE 'ad000000-%';
