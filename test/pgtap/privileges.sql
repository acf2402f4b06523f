-- pgTAP: privileges.  PUBLIC (every visitor-facing role) can call the
-- visitor API -- abt_assign, abt_assign_batch, abt_convert, abt_gbhash --
-- and the pure metric tests (abt_mean_test, abt_proportion_test), and
-- nothing else: not the bulk import, no USAGE on schema abtest, no
-- privilege on its tables, views or sequences, no EXECUTE on the
-- administrative and analytics functions.  The visitor API runs as its
-- caller and acts as the tables' owner inside (src/owner.c), so a role
-- without any grant can assign and convert, now, within the visitor limits.
-- Also: every table and sequence is registered with pg_extension_config_dump
-- but the goal sums (derived data, rebuilt by a restore).
BEGIN;
SELECT plan(73);

CREATE EXTENSION abtest;

SELECT is((SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'abtest'), 'public',
          'the functions are installed in schema public (the default)');

-- schema abtest: nothing for PUBLIC
SELECT schema_privs_are('abtest', 'public', ARRAY[]::name[], 'PUBLIC has no privilege on schema abtest');
SELECT ok(NOT has_schema_privilege('public', 'abtest', 'USAGE'), 'PUBLIC has no USAGE on schema abtest');

-- tables, views and sequences: nothing for PUBLIC
SELECT table_privs_are('abtest', t, 'public', ARRAY[]::name[], 'PUBLIC has no privilege on abtest.' || t)
  FROM unnest(ARRAY['experiments', 'experiment_elements', 'element_variants', 'assignments', 'conversions',
                    'leads', 'goals', 'variant_counters', 'experiment_timeline', 'variant_timeline',
                    'variant_totals', 'config_version_seq', 'conversions_id_seq', 'leads_id_seq',
                    'visitor_goals', 'goal_counters']::name[]) AS t;
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND (has_table_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
            OR has_any_column_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES')
            OR c.relacl::text ~ '(^|[{,])=')
$$, 'PUBLIC has no table, column or sequence privilege on any relation of schema abtest');

-- functions: the visitor API for PUBLIC, nothing else
SELECT function_privs_are('public', 'abt_assign', ARRAY['uuid', 'text', 'timestamptz'], 'public', ARRAY['EXECUTE'],
                          'PUBLIC can execute abt_assign');
SELECT function_privs_are('public', 'abt_assign_batch', ARRAY['uuid[]', 'text', 'timestamptz'], 'public', ARRAY['EXECUTE'],
                          'PUBLIC can execute abt_assign_batch');
SELECT function_privs_are('public', 'abt_assign_bulk', ARRAY['uuid', 'text[]', 'timestamptz'], 'public', ARRAY[]::name[],
                          'PUBLIC cannot execute abt_assign_bulk (an import: trusted callers only)');
SELECT function_privs_are('public', 'abt_convert', ARRAY['uuid', 'text', 'text', 'numeric', 'timestamptz'], 'public',
                          ARRAY['EXECUTE'], 'PUBLIC can execute abt_convert');
SELECT function_privs_are('public', 'abt_gbhash', ARRAY['text', 'text'], 'public', ARRAY['EXECUTE'],
                          'PUBLIC can execute abt_gbhash');
SELECT function_privs_are('public', 'abt_settle_counters', ARRAY['uuid'], 'public', ARRAY[]::name[],
                          'PUBLIC cannot execute abt_settle_counters');
SELECT function_privs_are('public', 'abt_realtime_publish', ARRAY['name'], 'public', ARRAY[]::name[],
                          'PUBLIC cannot execute abt_realtime_publish');
-- 1.1 (issue 12): pins are the owners' business; the namespace check is
-- for owners and the server side, the exclusion constraint's expression for
-- whoever writes experiments
SELECT table_privs_are('abtest', 'forced_variants', 'public', ARRAY[]::name[],
                       'PUBLIC has no privilege on abtest.forced_variants');
SELECT function_privs_are('abtest', 'in_namespace', ARRAY['text', 'text', 'float8', 'float8'], 'public',
                          ARRAY[]::name[], 'PUBLIC cannot execute abtest.in_namespace');
SELECT function_privs_are('abtest', 'namespace_slot', ARRAY['uuid', 'text', 'float8', 'float8'], 'public',
                          ARRAY['EXECUTE'], 'PUBLIC can execute abtest.namespace_slot (the exclusion constraint''s expression)');
SELECT ok((SELECT extconfig FROM pg_extension WHERE extname = 'abtest') @> ARRAY['abtest.forced_variants'::regclass::oid],
          'pg_dump keeps the rows of abtest.forced_variants');
-- 1.1 (issue 9): the goal metrics are the owners' business; the engine's
-- pure functions (aggregates in, statistics out) read nothing
SELECT function_privs_are('public', 'abt_metric_stats', ARRAY['uuid[]', 'text[]', 'boolean', 'float8', 'text', 'boolean'], 'public',
                          ARRAY[]::name[], 'PUBLIC cannot execute abt_metric_stats');
SELECT function_privs_are('public', 'abt_metric_power', ARRAY['uuid[]', 'text', 'float8', 'float8'], 'public',
                          ARRAY[]::name[], 'PUBLIC cannot execute abt_metric_power');
SELECT function_privs_are('public', 'abt_sample_size',
                          ARRAY['float8', 'float8', 'float8', 'float8', 'float8', 'integer'],
                          'public', ARRAY['EXECUTE'], 'PUBLIC can execute abt_sample_size (pure)');
SELECT function_privs_are('public', 'abt_mean_test',
                          ARRAY['bigint', 'float8', 'float8', 'bigint', 'float8', 'float8', 'boolean', 'float8', 'float8'],
                          'public', ARRAY['EXECUTE'], 'PUBLIC can execute abt_mean_test (pure)');
SELECT function_privs_are('public', 'abt_proportion_test',
                          ARRAY['bigint', 'bigint', 'bigint', 'bigint', 'boolean', 'float8', 'float8'],
                          'public', ARRAY['EXECUTE'], 'PUBLIC can execute abt_proportion_test (pure)');
SELECT results_eq($$
    SELECT p.proname::text COLLATE "default"
      FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
     WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest') AND d.deptype = 'e'
       AND p.pronamespace = 'public'::regnamespace
       AND has_function_privilege('public', p.oid, 'EXECUTE')
     ORDER BY 1$$,
    $$VALUES ('abt_assign'), ('abt_assign_batch'), ('abt_convert'), ('abt_gbhash'), ('abt_mean_test'),
             ('abt_proportion_test'), ('abt_sample_size'), ('abt_track')$$,
    'PUBLIC can execute exactly the visitor API and the pure metric tests among the extension''s functions in schema public');

-- the writing functions run as their caller (so they can tell a visitor from
-- a trusted caller) and act as the tables' owner inside, without name
-- lookups through the caller's search_path
SELECT isnt_definer('public', 'abt_assign', ARRAY['uuid', 'text', 'timestamp with time zone'],
                    'abt_assign is SECURITY INVOKER (it acts as the owner inside)');
SELECT isnt_definer('public', 'abt_assign_batch', ARRAY['uuid[]', 'text', 'timestamp with time zone'],
                    'abt_assign_batch is SECURITY INVOKER (it acts as the owner inside)');
SELECT isnt_definer('public', 'abt_assign_bulk', ARRAY['uuid', 'text[]', 'timestamp with time zone'],
                    'abt_assign_bulk is SECURITY INVOKER (it acts as the owner inside)');
SELECT isnt_definer('public', 'abt_convert', ARRAY['uuid', 'text', 'text', 'numeric', 'timestamp with time zone'],
                    'abt_convert is SECURITY INVOKER (it acts as the owner inside)');
SELECT isnt_definer('public', 'abt_gbhash', ARRAY['text', 'text'], 'abt_gbhash is not SECURITY DEFINER (it reads nothing)');
-- The C entry points either pin search_path to pg_catalog, pg_temp or set
-- nothing at all (commit 6b13313: their SQL schema-qualifies every name, see
-- test/sql/hostile_search_path.sql); never a path the caller could write to.
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.oid IN ('public.abt_assign(uuid, text, timestamptz)'::regprocedure,
                     'public.abt_assign_batch(uuid[], text, timestamptz)'::regprocedure,
                     'public.abt_assign_bulk(uuid, text[], timestamptz)'::regprocedure,
                     'public.abt_convert(uuid, text, text, numeric, timestamptz)'::regprocedure)
       AND p.proconfig IS NOT NULL
       AND p.proconfig <> ARRAY['search_path=pg_catalog, pg_temp']
$$, 'abt_assign*/abt_convert run with search_path = pg_catalog, pg_temp or with no SET clause at all');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
      JOIN pg_language l ON l.oid = p.prolang
     WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest') AND d.deptype = 'e'
       AND l.lanname IN ('sql', 'plpgsql')
       AND (p.prosecdef OR p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)
            OR p.proname IN ('abt_settle_counters', 'abt_realtime_publish'))
       AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
$$, 'every SQL/PL/pgSQL SECURITY DEFINER, trigger, event trigger and administrative function pins search_path = pg_catalog, pg_temp');

-- a role with no grant at all
INSERT INTO abtest.experiments (id, name, status)
VALUES ('d0000000-0000-4000-8000-000000000001', 'privileges test', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
VALUES ('d0000000-0000-4000-8000-000000000011', 'd0000000-0000-4000-8000-000000000001', 'headline');
INSERT INTO abtest.element_variants (id, element_id, name, is_control) VALUES
    ('d0000000-0000-4000-8000-000000000111', 'd0000000-0000-4000-8000-000000000011', 'A', true),
    ('d0000000-0000-4000-8000-000000000112', 'd0000000-0000-4000-8000-000000000011', 'B', false);
CREATE ROLE abt_tap_nobody NOLOGIN NOSUPERUSER NOINHERIT;
SET LOCAL ROLE abt_tap_nobody;

SELECT is(current_user::text, 'abt_tap_nobody', 'running as a role without grants');
SELECT is(abt_assign('d0000000-0000-4000-8000-000000000001', 'visitor-1')->>'new', 'true',
          'a role without grants can call abt_assign (new visitor stored)');
SELECT is(abt_assign('d0000000-0000-4000-8000-000000000001', 'visitor-1')->>'new', 'false',
          'a role without grants gets the stored assignment back');
SELECT is(abt_convert('d0000000-0000-4000-8000-000000000001', 'visitor-1', 'purchase', 12.5), true,
          'a role without grants can call abt_convert (first conversion)');
SELECT is(abt_convert('d0000000-0000-4000-8000-000000000001', 'visitor-1'), false,
          'a role without grants can call abt_convert (later conversion)');
SELECT is(jsonb_array_length(abt_assign_batch(ARRAY['d0000000-0000-4000-8000-000000000001']::uuid[], 'visitor-2')), 1,
          'a role without grants can call abt_assign_batch');
SELECT throws_ok($$SELECT * FROM abt_assign_bulk('d0000000-0000-4000-8000-000000000001',
                                                  ARRAY['visitor-3', 'visitor-4'])$$, '42501', NULL,
                 'a role without grants cannot call abt_assign_bulk');
SELECT throws_ok($$SELECT abt_assign('d0000000-0000-4000-8000-000000000001', 'visitor-3', '2001-01-01')$$,
                 '42501', NULL, 'a role without grants cannot choose an assignment time');
SELECT throws_ok($$SELECT abt_assign_batch(ARRAY['d0000000-0000-4000-8000-000000000001']::uuid[], 'visitor-3',
                                           '2030-01-01')$$,
                 '42501', NULL, 'a role without grants cannot choose a batch''s time');
SELECT throws_ok($$SELECT abt_convert('d0000000-0000-4000-8000-000000000001', 'visitor-1', 'x', 1, '1999-01-01')$$,
                 '42501', NULL, 'a role without grants cannot choose a conversion time');
SELECT throws_ok($$SELECT abt_assign_batch(array_fill('d0000000-0000-4000-8000-000000000001'::uuid, ARRAY[51]),
                                           'visitor-3')$$,
                 '54000', NULL, 'a role without grants may ask for at most 50 experiments in one batch');
SELECT is(abt_gbhash('seed', 'a'), 0.0505::float8, 'a role without grants can call abt_gbhash');
SELECT throws_ok('SELECT * FROM abtest.experiments', '42501', NULL,
                 'a role without grants cannot read abtest.experiments');
SELECT throws_ok('SELECT * FROM abtest.assignments', '42501', NULL,
                 'a role without grants cannot read abtest.assignments');
SELECT throws_ok('SELECT * FROM abtest.variant_totals', '42501', NULL,
                 'a role without grants cannot read abtest.variant_totals');
SELECT throws_ok($$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                   VALUES ('d0000000-0000-4000-8000-000000000001', 'forged', '{}')$$, '42501', NULL,
                 'a role without grants cannot write abtest.assignments');
SELECT throws_ok($$UPDATE abtest.variant_counters SET allocations = 1000000$$, '42501', NULL,
                 'a role without grants cannot change the counters');
SELECT throws_ok('SELECT abt_settle_counters()', '42501', NULL,
                 'a role without grants cannot call abt_settle_counters()');
SELECT throws_ok($$SELECT abt_settle_counters('d0000000-0000-4000-8000-000000000001')$$, '42501', NULL,
                 'a role without grants cannot call abt_settle_counters(experiment)');
SELECT throws_ok('SELECT abt_realtime_publish()', '42501', NULL,
                 'a role without grants cannot call abt_realtime_publish()');
SELECT throws_ok($$SET abtest.publication = 'other'$$, '42501', NULL,
                 'a role without grants cannot change abtest.publication');

RESET ROLE;
SELECT is(current_user::text, 'postgres', 'back to the superuser');
SELECT results_eq($$SELECT user_id, converted_at IS NOT NULL FROM abtest.assignments
                     WHERE experiment_id = 'd0000000-0000-4000-8000-000000000001' ORDER BY 1$$,
                  $$VALUES ('visitor-1', true), ('visitor-2', false)$$,
                  'the calls of the role without grants were stored, and only those it may make');
SELECT results_eq($$SELECT goal, value FROM abtest.conversions
                     WHERE experiment_id = 'd0000000-0000-4000-8000-000000000001' ORDER BY id$$,
                  $$VALUES ('purchase', 12.5), ('conversion', NULL)$$,
                  'both conversion events of the role without grants were stored');
SELECT is((SELECT sum(total_allocations)::int || '/' || sum(total_conversions)::int FROM abtest.variant_totals
            WHERE experiment_id = 'd0000000-0000-4000-8000-000000000001'), '2/1',
          'the live counters count the role''s 2 visitors and 1 converted visitor');

-- pg_dump: every table and sequence of schema abtest is user data, but for
-- the goal sums, derived from the events and rebuilt by a restore (issue 24)
SELECT ok((SELECT extconfig FROM pg_extension WHERE extname = 'abtest')
           @> ARRAY['abtest.experiments', 'abtest.experiment_elements', 'abtest.element_variants',
                    'abtest.assignments', 'abtest.conversions', 'abtest.leads', 'abtest.goals', 'abtest.variant_counters',
                    'abtest.experiment_timeline', 'abtest.variant_timeline', 'abtest.config_version_seq',
                    'abtest.conversions_id_seq', 'abtest.leads_id_seq']::regclass[]::oid[],
          'pg_extension.extconfig lists the documented tables and sequences');
SELECT results_eq($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind IN ('r', 'p', 'S')
       AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'abtest')::oid[])
     ORDER BY 1
$$, $$VALUES ('abtest.goal_counters'), ('abtest.visitor_goals')$$,
   'the goal sums (derived data) are the only tables or sequences of schema abtest pg_dump does not keep');
SELECT function_privs_are('abtest', 'rebuild_goal_sums', ARRAY[]::text[], 'public', ARRAY[]::name[],
                          'PUBLIC cannot execute abtest.rebuild_goal_sums');
SELECT is((SELECT array_length(extconfig, 1) = array_length(extcondition, 1)
                  AND '' = ALL (extcondition)
             FROM pg_extension WHERE extname = 'abtest'), true,
          'every table is dumped whole (empty filter condition)');

SELECT * FROM finish();
ROLLBACK;
