--
-- trigger_functions: abtest's trigger functions fire for abtest's own
-- triggers only.  CREATE TRIGGER needs EXECUTE on the function and firing
-- does not, so PUBLIC has no EXECUTE on any of them (issue 24: an owner with
-- USAGE on schema abtest attached the SECURITY DEFINER experiment_deleted()
-- to a temporary table of its own and fired it with another owner's
-- experiment id); the extension's triggers still fire for every writer.
-- Ids of this file: a9000000-....
--
-- every trigger and event trigger function of the extension that PUBLIC
-- may execute (none)
SELECT p.oid::regprocedure AS executable_by_public
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
                             AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'abtest'
 WHERE p.prorettype IN ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
   AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1::text;
-- there are some
SELECT count(*) > 10 AS has_trigger_functions
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
                             AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'abtest'
 WHERE p.prorettype = 'pg_catalog.trigger'::regtype;
-- An owner-like role: USAGE on schema abtest, its own temporary table.
CREATE ROLE abt_trigger_owner;
GRANT USAGE ON SCHEMA abtest TO abt_trigger_owner;
GRANT TEMPORARY ON DATABASE contrib_regression TO abt_trigger_owner;
INSERT INTO abtest.experiments (id, user_id, name, status)
VALUES ('a9000000-0000-4000-8000-000000000001', gen_random_uuid(), 'victim', 'active');
INSERT INTO abtest.assignments (experiment_id, user_id, variants)
VALUES ('a9000000-0000-4000-8000-000000000001', 'v1', '{}');
SET ROLE abt_trigger_owner;
CREATE TEMPORARY TABLE my_rows (id uuid);
\set VERBOSITY terse
CREATE TRIGGER steal AFTER DELETE ON my_rows FOR EACH ROW EXECUTE FUNCTION abtest.experiment_deleted();
CREATE TRIGGER steal BEFORE DELETE ON my_rows FOR EACH ROW EXECUTE FUNCTION abtest.lock_experiment();
CREATE TRIGGER steal AFTER UPDATE ON my_rows FOR EACH ROW EXECUTE FUNCTION abtest.element_changed();
\set VERBOSITY default
RESET ROLE;
-- the victim's visitor is still there
SELECT count(*) AS victim_assignments FROM abtest.assignments
 WHERE experiment_id = 'a9000000-0000-4000-8000-000000000001';
-- abtest's own triggers still fire, whoever writes: deleting the experiment
-- deletes its rows
DELETE FROM abtest.experiments WHERE id = 'a9000000-0000-4000-8000-000000000001';
SELECT count(*) AS after_delete FROM abtest.assignments
 WHERE experiment_id = 'a9000000-0000-4000-8000-000000000001';
DROP TABLE pg_temp.my_rows;
REVOKE ALL ON DATABASE contrib_regression FROM abt_trigger_owner;
REVOKE USAGE ON SCHEMA abtest FROM abt_trigger_owner;
DROP ROLE abt_trigger_owner;
