-- A hostile search_path changes nothing: abt_assign and abt_convert run as
-- the extension owner without SET search_path, so every name their SQL uses
-- must be schema-qualified.  Shadow everything they use and call them.
SET client_min_messages = warning;
CREATE ROLE abt_hostile;
CREATE SCHEMA hostile AUTHORIZATION abt_hostile;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;

INSERT INTO abtest.experiments (id, name, status) VALUES
    ('a0000000-0000-0000-0000-000000000001', 'hostile path', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector) VALUES
    ('a0000000-0000-0000-0000-000000000002', 'a0000000-0000-0000-0000-000000000001', 'headline', 'h1');
INSERT INTO abtest.element_variants (id, element_id, name, content, is_control, position) VALUES
    ('a0000000-0000-0000-0000-000000000003', 'a0000000-0000-0000-0000-000000000002', 'A', '{"t": "a"}', true, 0),
    ('a0000000-0000-0000-0000-000000000004', 'a0000000-0000-0000-0000-000000000002', 'B', '{"t": "b"}', false, 1);

SET ROLE abt_hostile;
-- operators that always answer false, functions and tables shadowing ours
CREATE FUNCTION hostile.never(uuid, uuid) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR hostile.= (LEFTARG = uuid, RIGHTARG = uuid, PROCEDURE = hostile.never);
CREATE FUNCTION hostile.never(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, PROCEDURE = hostile.never);
CREATE FUNCTION hostile.plus(bigint, integer) RETURNS bigint LANGUAGE sql AS 'SELECT 1000000::bigint';
CREATE OPERATOR hostile.+ (LEFTARG = bigint, RIGHTARG = integer, PROCEDURE = hostile.plus);
CREATE FUNCTION hostile.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE sql AS 'SELECT NULL::anyelement WHERE false';
CREATE FUNCTION hostile.jsonb_each_text(jsonb, OUT key text, OUT value text) RETURNS SETOF record
    LANGUAGE sql AS 'SELECT NULL::text, NULL::text WHERE false';
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT '1999-01-01'::timestamptz$$;
CREATE TABLE hostile.assignments (experiment_id uuid, user_id text, variants jsonb,
                                  assigned_at timestamptz, converted_at timestamptz);
CREATE TABLE hostile.variant_counters (experiment_id uuid, variant_id uuid, slot int,
                                       allocations bigint, conversions bigint);
SET search_path = hostile, pg_catalog, public;

SELECT public.abt_assign('a0000000-0000-0000-0000-000000000001', 'visitor-1') -> 'enrolled' AS enrolled;
SELECT public.abt_assign('a0000000-0000-0000-0000-000000000001', 'visitor-1') -> 'new' AS new_second_time;
SELECT public.abt_convert('a0000000-0000-0000-0000-000000000001', 'visitor-1') AS first_conversion;
SELECT public.abt_convert('a0000000-0000-0000-0000-000000000001', 'visitor-1') AS later_conversion;
SELECT count(*) AS hostile_rows FROM hostile.assignments;
RESET ROLE;
RESET search_path;

-- the real tables got exactly one assignment, counted once
SELECT count(*) AS assignments FROM abtest.assignments
 WHERE experiment_id = 'a0000000-0000-0000-0000-000000000001';
SELECT sum(total_allocations) AS allocations, sum(total_conversions) AS conversions
  FROM abtest.variant_totals WHERE experiment_id = 'a0000000-0000-0000-0000-000000000001';
SELECT count(*) AS events FROM abtest.conversions
 WHERE experiment_id = 'a0000000-0000-0000-0000-000000000001';
SELECT assigned_at > '2000-01-01' AS assigned_now FROM abtest.assignments
 WHERE experiment_id = 'a0000000-0000-0000-0000-000000000001';

DELETE FROM abtest.experiments WHERE id = 'a0000000-0000-0000-0000-000000000001';
DROP SCHEMA hostile CASCADE;
DROP ROLE abt_hostile;
