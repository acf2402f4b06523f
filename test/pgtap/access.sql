-- pgTAP: the access model on a Supabase-like database.  Before CREATE
-- EXTENSION the transaction creates what a Supabase project has: the roles
-- anon, authenticated and service_role (BYPASSRLS), auth.uid() reading the
-- request's JWT claim, and the default privileges that grant the API roles
-- everything created in schema public.  Checked: what the install grants
-- each role (and that the default privileges are undone); row-level
-- security on every table; anon and a role without grants can assign,
-- convert (anon: capture leads) and nothing else, and enrol nobody into
-- draft, paused or completed experiments; authenticated sees and changes
-- only its own experiments and their elements, variants, visitors' rows,
-- counters, rollups, leads and statistics; service_role sees everything.
-- test/sql/access.sql has the plain-PostgreSQL case.
BEGIN;
SELECT plan(179);

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
END $$;
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
CREATE ROLE abt_tap_nobody NOLOGIN NOINHERIT;

CREATE EXTENSION abtest;

--
-- What the install did.
--
SELECT ok(pg_get_functiondef('abtest.current_owner()'::regprocedure) ~ 'SELECT auth\.uid\(\)',
          'abtest.current_owner() calls auth.uid(), which existed at install time');
SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.oid = ANY ('{abtest.experiments, abtest.experiment_elements, abtest.element_variants,
                          abtest.assignments, abtest.conversions, abtest.variant_counters,
                          abtest.experiment_timeline, abtest.variant_timeline, abtest.leads,
                          abtest.visitor_goals, abtest.goal_counters}'::regclass[])
       AND NOT (c.relrowsecurity AND NOT c.relforcerowsecurity)
$$, 'row-level security is enabled (not forced) on every table but realtime_publications');
SELECT policies_are('abtest', t, ARRAY[p], 'abtest.' || t || ' has exactly the policy ' || p)
  FROM (VALUES ('experiments', 'owner_all'), ('experiment_elements', 'owner_all'),
               ('element_variants', 'owner_all'), ('assignments', 'owner_read'),
               ('conversions', 'owner_read'), ('variant_counters', 'owner_read'),
               ('experiment_timeline', 'owner_read'), ('variant_timeline', 'owner_read'),
               ('leads', 'owner_read'), ('visitor_goals', 'owner_read'), ('goal_counters', 'owner_read')) v(t, p);
SELECT policy_cmd_is('abtest', t, 'owner_read', 'SELECT', 'abtest.' || t || ': owners may only read')
  FROM unnest(ARRAY['assignments', 'conversions', 'variant_counters', 'experiment_timeline',
                    'variant_timeline', 'leads', 'visitor_goals', 'goal_counters']::name[]) t;

-- functions of the extension in schema public each role may execute
CREATE FUNCTION pg_temp.executable(r name) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(p.proname::text ORDER BY p.proname::text)
      FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
     WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest') AND d.deptype = 'e'
       AND p.pronamespace = 'public'::regnamespace
       AND has_function_privilege(r, p.oid, 'EXECUTE')
$$;
SELECT is(pg_temp.executable('anon'),
    ARRAY['abt_assign', 'abt_assign_batch', 'abt_convert', 'abt_gbhash', 'abt_lead_capture', 'abt_mean_test',
          'abt_proportion_test', 'abt_sample_size', 'abt_track'],
    'anon may execute the visitor API, abt_lead_capture and the pure metric tests, nothing else (the default privileges are undone)');
SELECT is(pg_temp.executable('authenticated'),
    ARRAY['abt_assign', 'abt_assign_batch', 'abt_convert', 'abt_experiment_stats',
          'abt_gbhash', 'abt_lead_capture', 'abt_mean_test', 'abt_metric_power', 'abt_metric_stats',
          'abt_proportion_test', 'abt_sample_size', 'abt_timeline', 'abt_timeline_variants', 'abt_track',
          'abt_variant_stats'],
    'authenticated may execute the visitor API, abt_lead_capture and the analytics, nothing else');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
     WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest') AND d.deptype = 'e'
       AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
       AND NOT has_function_privilege('service_role', p.oid, 'EXECUTE')
$$, 'service_role may execute every function of the extension');
SELECT is(pg_temp.executable('abt_tap_nobody'),
    ARRAY['abt_assign', 'abt_assign_batch', 'abt_convert', 'abt_gbhash', 'abt_mean_test', 'abt_proportion_test',
          'abt_sample_size', 'abt_track'],
    'a role without grants may execute the assignment and conversion API, nothing else');
-- who may choose an event's time, import, and send any goal: a role that may
-- insert into assignments and conversions itself (src/owner.c)
SELECT is(array_agg(r ORDER BY r), ARRAY['service_role'],
          'of Supabase''s roles only service_role may insert into abtest.assignments and abtest.conversions (trusted)')
  FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) r
 WHERE has_table_privilege(r, 'abtest.assignments', 'INSERT')
   AND has_table_privilege(r, 'abtest.conversions', 'INSERT');
SELECT table_privs_are('abtest', 'goals', 'authenticated', ARRAY['SELECT', 'DELETE'],
                       'authenticated may read and delete abtest.goals (insert and update: by column)');
SELECT ok(has_column_privilege('authenticated', 'abtest.goals', 'goal', 'INSERT, UPDATE')
          AND has_column_privilege('authenticated', 'abtest.goals', 'max_value', 'INSERT, UPDATE')
          AND has_column_privilege('authenticated', 'abtest.goals', 'experiment_id', 'INSERT')
          AND NOT has_column_privilege('authenticated', 'abtest.goals', 'experiment_id', 'UPDATE'),
          'authenticated declares goals and their maximum, and cannot move a goal to another experiment');
SELECT ok(bool_and(has_column_privilege('authenticated', 'abtest.goals', c, 'INSERT, UPDATE')),
          'authenticated sets its goals'' analysis: prior and capping (issue 23)')
  FROM unnest(ARRAY['prior_proper', 'prior_mean', 'prior_stddev', 'cap_type', 'cap_value', 'cap_ignore_zeros']) c;
SELECT table_privs_are('abtest', 'goals', 'anon', ARRAY[]::name[], 'anon has no privilege on abtest.goals');
-- 1.1 (issue 12): pins and namespaces are the owners' configuration
SELECT table_privs_are('abtest', 'forced_variants', 'authenticated', ARRAY['SELECT', 'DELETE'],
                       'authenticated may read and delete abtest.forced_variants (insert and update: by column)');
SELECT ok(has_column_privilege('authenticated', 'abtest.forced_variants', 'variant_id', 'INSERT, UPDATE')
          AND has_column_privilege('authenticated', 'abtest.forced_variants', 'experiment_id', 'INSERT')
          AND NOT has_column_privilege('authenticated', 'abtest.forced_variants', 'experiment_id', 'UPDATE')
          AND NOT has_column_privilege('authenticated', 'abtest.forced_variants', 'user_id', 'UPDATE'),
          'authenticated pins visitors, and cannot move a pin to another experiment or visitor');
SELECT table_privs_are('abtest', 'forced_variants', 'anon', ARRAY[]::name[],
                       'anon has no privilege on abtest.forced_variants');
SELECT ok(has_column_privilege('authenticated', 'abtest.experiments', c, 'INSERT, UPDATE'),
          'authenticated may insert and update experiments.' || c)
  FROM unnest(ARRAY['namespace', 'namespace_start', 'namespace_end', 'kind', 'holdout_id']) c;
SELECT policies_are('abtest', 'forced_variants', ARRAY['owner_all'],
                    'abtest.forced_variants has exactly the policy owner_all');

SELECT schema_privs_are('abtest', 'anon', ARRAY[]::name[], 'anon has no privilege on schema abtest');
SELECT schema_privs_are('abtest', 'authenticated', ARRAY['USAGE'], 'authenticated may use schema abtest');
SELECT schema_privs_are('abtest', 'service_role', ARRAY['USAGE'], 'service_role may use schema abtest');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind IN ('r', 'v', 'S')
       AND (has_table_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
            OR has_any_column_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
$$, 'anon has no privilege on any table, view or sequence of schema abtest');
SELECT table_privs_are('abtest', t, 'authenticated', ARRAY['SELECT', 'DELETE'],
                       'authenticated may read and delete abtest.' || t || ' (insert and update: by column)')
  FROM unnest(ARRAY['experiments', 'experiment_elements', 'element_variants']::name[]) t;
SELECT ok(has_column_privilege('authenticated', 'abtest.experiments', c, 'INSERT, UPDATE'),
          'authenticated may insert and update experiments.' || c)
  FROM unnest(ARRAY['user_id', 'name', 'status', 'seed', 'coverage']) c;
SELECT ok(NOT has_column_privilege('authenticated', 'abtest.experiments', 'config_version', 'INSERT')
          AND NOT has_column_privilege('authenticated', 'abtest.experiments', 'config_version', 'UPDATE'),
          'authenticated may not write experiments.config_version');
SELECT ok(has_column_privilege('authenticated', 'abtest.element_variants', c, 'INSERT, UPDATE'),
          'authenticated may insert and update element_variants.' || c)
  FROM unnest(ARRAY['element_id', 'name', 'content', 'weight', 'is_control', 'position']) c;
SELECT ok(NOT has_column_privilege('authenticated', 'abtest.element_variants', c, 'INSERT')
          AND NOT has_column_privilege('authenticated', 'abtest.element_variants', c, 'UPDATE'),
          'authenticated may not write element_variants.' || c)
  FROM unnest(ARRAY['total_allocations', 'total_conversions', 'conversion_rate']) c;
SELECT table_privs_are('abtest', t, 'authenticated', ARRAY['SELECT'], 'authenticated may only read abtest.' || t)
  FROM unnest(ARRAY['assignments', 'conversions', 'variant_counters', 'experiment_timeline',
                    'variant_timeline', 'variant_totals', 'leads', 'visitor_goals', 'goal_counters']::name[]) t;
SELECT table_privs_are('abtest', 'realtime_publications', 'authenticated', ARRAY[]::name[],
                       'authenticated has no privilege on abtest.realtime_publications');
SELECT sequence_privs_are('abtest', 'config_version_seq', 'authenticated', ARRAY['USAGE'],
                          'authenticated may use config_version_seq (config_version''s default)');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind IN ('r', 'v')
       AND NOT has_table_privilege('service_role', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
$$, 'service_role has every privilege on every table and view of schema abtest');
SELECT ok((SELECT rolbypassrls FROM pg_roles WHERE rolname = 'service_role'),
          'service_role has BYPASSRLS (as on Supabase; the extension does not set it)');

--
-- Data: owner A has a1 (active), a2 (draft), a3 (paused), a4 (completed);
-- owner B has b1 (active).  One visitor assigned and converted, and a lead,
-- in a1 and b1; a lead without experiment.
--
INSERT INTO abtest.experiments (id, user_id, name, status) VALUES
    ('a9000000-0000-4000-8000-0000000000a1', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A active', 'active'),
    ('a9000000-0000-4000-8000-0000000000a2', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A draft', 'draft'),
    ('a9000000-0000-4000-8000-0000000000a3', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A paused', 'paused'),
    ('a9000000-0000-4000-8000-0000000000a4', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A completed', 'completed'),
    ('a9000000-0000-4000-8000-0000000000b1', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'B active', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
SELECT ('a9000000-0000-4000-8001-0000000000' || right(id::text, 2))::uuid, id, 'headline'
  FROM abtest.experiments;
INSERT INTO abtest.element_variants (id, element_id, name, is_control, content)
SELECT ('a9000000-0000-4000-8002-0000000000' || right(el.id::text, 2))::uuid, el.id, 'control', true,
       jsonb_build_object('secret', right(el.id::text, 2))
  FROM abtest.experiment_elements el;
DO $$
BEGIN
    PERFORM abt_assign(id, 'visitor-1', '2024-10-01 10:00+00'), abt_convert(id, 'visitor-1', at => '2024-10-01 11:00+00'),
            abt_lead_capture('{"email": "v1@example.com"}', id, 'visitor-1')
       FROM unnest('{a9000000-0000-4000-8000-0000000000a1, a9000000-0000-4000-8000-0000000000b1}'::uuid[]) id;
    PERFORM abt_lead_capture('{"email": "no-experiment@example.com"}');
END $$;

CREATE TEMP TABLE tables (t text, experiment_of text);
GRANT SELECT ON tables TO PUBLIC;
INSERT INTO tables VALUES
    ('abtest.experiments', 'id'), ('abtest.experiment_elements', 'experiment_id'),
    ('abtest.element_variants', '(''a9000000-0000-4000-8000-0000000000'' || right(id::text, 2))::uuid'),
    ('abtest.assignments', 'experiment_id'), ('abtest.conversions', 'experiment_id'),
    ('abtest.variant_counters', 'experiment_id'), ('abtest.experiment_timeline', 'experiment_id'),
    ('abtest.variant_timeline', 'experiment_id'), ('abtest.variant_totals', 'experiment_id'),
    ('abtest.leads', 'experiment_id'), ('abtest.visitor_goals', 'experiment_id'),
    ('abtest.goal_counters', 'experiment_id');
-- experiments whose rows of table t the current role sees (NULL: a lead
-- without experiment)
CREATE FUNCTION pg_temp.seen(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    experiment_of text := (SELECT tables.experiment_of FROM tables WHERE tables.t = seen.t);
    ids text;
BEGIN
    EXECUTE format('SELECT string_agg(DISTINCT coalesce(right((%s)::text, 2), ''none''), '','') FROM %s',
                   experiment_of, t) INTO ids;
    RETURN ids;
END $$;

--
-- anon, and a role without grants: no table, no analytics, no queue; they
-- assign and convert; nobody is enrolled into draft, paused or completed
-- experiments.
--
SET LOCAL ROLE anon;
SELECT throws_ok(format('SELECT count(*) FROM %s', t), '42501', NULL, 'anon cannot read ' || t) FROM tables;
SELECT throws_ok($$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                   VALUES ('a9000000-0000-4000-8000-0000000000a1', 'forged', '{}')$$, '42501', NULL,
                 'anon cannot write abtest.assignments');
SELECT throws_ok($$SELECT abt_variant_stats('{a9000000-0000-4000-8000-0000000000a1}')$$, '42501', NULL,
                 'anon cannot read statistics');
SELECT throws_ok($$SELECT abt_timeline('a9000000-0000-4000-8000-0000000000a1')$$, '42501', NULL,
                 'anon cannot read timelines');
SELECT throws_ok($$SELECT abt_metric_stats('{a9000000-0000-4000-8000-0000000000a1}')$$, '42501', NULL,
                 'anon cannot read goal metrics');
SELECT throws_ok('SELECT abt_settle_counters()', '42501', NULL, 'anon cannot settle counters');
SELECT throws_ok($$SELECT abt_leads_claim('anon')$$, '42501', NULL, 'anon cannot claim leads');
SELECT is(abt_assign('a9000000-0000-4000-8000-0000000000a1', 'anon-1')->>'enrolled', 'true',
          'anon enrols a visitor into an active experiment');
SELECT is(abt_convert('a9000000-0000-4000-8000-0000000000a1', 'anon-1', 'signup', 5), true,
          'anon records the visitor''s conversion');
SELECT throws_ok($$SELECT abt_assign('a9000000-0000-4000-8000-0000000000a1', 'anon-3', '2001-01-01')$$,
                 '42501', NULL, 'anon cannot backdate an assignment');
SELECT throws_ok($$SELECT abt_convert('a9000000-0000-4000-8000-0000000000a1', 'anon-1', 'purchase', 1e12, '1999-01-01')$$,
                 '42501', NULL, 'anon cannot backdate a conversion');
SELECT throws_ok($$SELECT * FROM abt_assign_bulk('a9000000-0000-4000-8000-0000000000a1', ARRAY['anon-4', 'anon-5'])$$,
                 '42501', NULL, 'anon cannot import visitors in bulk');
SELECT ok(abt_lead_capture('{"email": "anon-1@example.com"}', 'a9000000-0000-4000-8000-0000000000a1', 'anon-1') > 0,
          'anon captures a lead');
SELECT is(abt_assign(id, 'anon-2') - 'experiment_id',
          jsonb_build_object('status', status, 'enrolled', false, 'new', false, 'elements', '[]'::jsonb),
          'anon cannot enrol a visitor into a ' || status || ' experiment, nor read its variants')
  FROM (VALUES ('a9000000-0000-4000-8000-0000000000a2'::uuid, 'draft'),
               ('a9000000-0000-4000-8000-0000000000a3', 'paused'),
               ('a9000000-0000-4000-8000-0000000000a4', 'completed')) v(id, status);
SELECT is(abt_convert(id, 'anon-2'), NULL,
          'a visitor of a ' || status || ' experiment has no conversion recorded')
  FROM (VALUES ('a9000000-0000-4000-8000-0000000000a2'::uuid, 'draft'),
               ('a9000000-0000-4000-8000-0000000000a3', 'paused'),
               ('a9000000-0000-4000-8000-0000000000a4', 'completed')) v(id, status);

SET LOCAL ROLE abt_tap_nobody;
SELECT throws_ok(format('SELECT count(*) FROM %s', t), '42501', NULL, 'a role without grants cannot read ' || t)
  FROM tables WHERE t IN ('abtest.experiments', 'abtest.assignments', 'abtest.leads');
SELECT throws_ok($$SELECT abt_lead_capture('{}')$$, '42501', NULL, 'a role without grants cannot capture leads');
SELECT is(abt_assign('a9000000-0000-4000-8000-0000000000a2', 'nobody-1')->>'enrolled', 'false',
          'a role without grants cannot enrol a visitor into a draft experiment');
SELECT is(abt_assign('a9000000-0000-4000-8000-0000000000a1', 'nobody-1')->>'enrolled', 'true',
          'a role without grants enrols a visitor into an active experiment');
RESET ROLE;

SELECT results_eq($$SELECT right(experiment_id::text, 2), user_id FROM abtest.assignments
                     WHERE user_id IN ('anon-1', 'anon-2', 'nobody-1') ORDER BY 1, 2$$,
                  $$VALUES ('a1', 'anon-1'), ('a1', 'nobody-1')$$,
                  'only the active experiment got assignments; draft, paused and completed ones none');
SELECT is((SELECT count(*)::int FROM abtest.variant_counters
            WHERE experiment_id IN ('a9000000-0000-4000-8000-0000000000a2', 'a9000000-0000-4000-8000-0000000000a3',
                                    'a9000000-0000-4000-8000-0000000000a4')), 0,
          'nor counters for draft, paused and completed experiments');

--
-- authenticated as owner A: A's rows only, in every table and in the
-- statistics; B's experiment is reported as unknown.
--
SET LOCAL ROLE authenticated;
SET LOCAL request.jwt.claim.sub = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
SELECT is(abtest.current_owner(), 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'the owner is auth.uid()');
SELECT is(pg_temp.seen(t), CASE WHEN t IN ('abtest.experiments', 'abtest.experiment_elements',
                                           'abtest.element_variants', 'abtest.variant_totals')
                                THEN 'a1,a2,a3,a4' ELSE 'a1' END,
          'authenticated as A sees only A''s rows of ' || t)
  FROM tables;
SELECT results_eq($$SELECT right(experiment_id::text, 2), status, variant_name, allocations::int, conversions::int
                      FROM abt_variant_stats('{a9000000-0000-4000-8000-0000000000a1, a9000000-0000-4000-8000-0000000000b1}')$$,
                  $$VALUES ('a1', 'active', 'control', 3, 2), ('b1', NULL, NULL, NULL, NULL)$$,
                  'abt_variant_stats: A''s experiment with its numbers, B''s as an unknown id (status NULL)');
SELECT results_eq($$SELECT right(experiment_id::text, 2), status, goal, metric, visitors::int, converters::int
                      FROM abt_metric_stats('{a9000000-0000-4000-8000-0000000000a1, a9000000-0000-4000-8000-0000000000b1}')$$,
                  $$VALUES ('a1', 'active', 'conversion', 'conversion_rate', 3, 1),
                           ('a1', 'active', 'signup', 'conversion_rate', 3, 1),
                           ('a1', 'active', 'signup', 'value_per_visitor', 3, 1),
                           ('b1', NULL, NULL, NULL, NULL, NULL)$$,
                  'abt_metric_stats: A''s experiment with its goals (no value rows for ''conversion'', whose events carry no value), B''s as an unknown id (status NULL)');
SELECT results_eq($$SELECT experiment_id, status, element_id, variant_id, allocations
                      FROM abt_experiment_stats('a9000000-0000-4000-8000-0000000000b1')$$,
                  $$VALUES ('a9000000-0000-4000-8000-0000000000b1'::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint)$$,
                  'abt_experiment_stats of B''s experiment: the unknown-id row');
SELECT throws_ok($$SELECT abt_timeline('a9000000-0000-4000-8000-0000000000b1')$$, 'P0002', NULL,
                 'abt_timeline of B''s experiment: unknown experiment');
SELECT lives_ok($$SELECT abt_timeline_variants('a9000000-0000-4000-8000-0000000000a1')$$,
                'abt_timeline_variants of A''s experiment');
WITH u AS (UPDATE abtest.experiments SET status = 'completed'
            WHERE id = 'a9000000-0000-4000-8000-0000000000b1' RETURNING 1)
SELECT is(count(*)::int, 0, 'A cannot update B''s experiment') FROM u;
WITH u AS (UPDATE abtest.element_variants SET content = '{"defaced": true}'
            WHERE id = 'a9000000-0000-4000-8002-0000000000b1' RETURNING 1)
SELECT is(count(*)::int, 0, 'A cannot update B''s variants') FROM u;
WITH d AS (DELETE FROM abtest.experiments WHERE id = 'a9000000-0000-4000-8000-0000000000b1' RETURNING 1)
SELECT is(count(*)::int, 0, 'A cannot delete B''s experiment') FROM d;
SELECT throws_ok($$INSERT INTO abtest.experiment_elements (experiment_id, name)
                   VALUES ('a9000000-0000-4000-8000-0000000000b1', 'x')$$, '42501', NULL,
                 'A cannot add an element to B''s experiment');
SELECT throws_ok($$INSERT INTO abtest.experiments (user_id, name) VALUES ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'x')$$,
                 '42501', NULL, 'A cannot create an experiment for B');
SELECT throws_ok($$UPDATE abtest.experiments SET user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
                    WHERE id = 'a9000000-0000-4000-8000-0000000000a1'$$,
                 '42501', NULL, 'A cannot give its experiment to B');
SELECT throws_ok($$UPDATE abtest.experiments SET config_version = 1$$, '42501', NULL,
                 'A cannot set config_version');
SELECT throws_ok($$UPDATE abtest.variant_counters SET allocations = 1000$$, '42501', NULL,
                 'A cannot change counters');
SELECT throws_ok($$SELECT abt_leads_claim('A')$$, '42501', NULL, 'A cannot claim leads');
-- A's own experiment, end to end
SELECT lives_ok($$
    INSERT INTO abtest.experiments (id, user_id, name)
    VALUES ('a9000000-0000-4000-8000-0000000000a9', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A new');
    INSERT INTO abtest.experiment_elements (id, experiment_id, name)
    VALUES ('a9000000-0000-4000-8001-0000000000a9', 'a9000000-0000-4000-8000-0000000000a9', 'button');
    INSERT INTO abtest.element_variants (id, element_id, name, content)
    VALUES ('a9000000-0000-4000-8002-0000000000a9', 'a9000000-0000-4000-8001-0000000000a9', 'green', '{"c": "green"}');
    UPDATE abtest.experiments SET status = 'active' WHERE id = 'a9000000-0000-4000-8000-0000000000a9'
$$, 'A creates, configures and activates an experiment');
SELECT is(abt_assign('a9000000-0000-4000-8000-0000000000a9', 'visitor-9')->'elements'->0->'content',
          '{"c": "green"}'::jsonb, 'its visitors see its variant');
SELECT lives_ok($$UPDATE abtest.experiments SET status = 'paused' WHERE id = 'a9000000-0000-4000-8000-0000000000a9'$$,
                'A pauses it (the counters are settled)');
SELECT is((SELECT total_allocations::int FROM abtest.element_variants WHERE id = 'a9000000-0000-4000-8002-0000000000a9'),
          1, 'the settled counters count its visitor');
SELECT lives_ok($$DELETE FROM abtest.experiments WHERE id = 'a9000000-0000-4000-8000-0000000000a9'$$,
                'A deletes it (its visitors'' rows are deleted)');
-- A's pins and namespaces (1.1, issue 12)
SELECT lives_ok($$
    INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id)
    VALUES ('a9000000-0000-4000-8000-0000000000a1', 'qa', 'a9000000-0000-4000-8001-0000000000a1',
            'a9000000-0000-4000-8002-0000000000a1');
    UPDATE abtest.experiments SET namespace = 'checkout', namespace_start = 0, namespace_end = 1
     WHERE id = 'a9000000-0000-4000-8000-0000000000a1'
$$, 'A pins a visitor in its experiment and gives it a namespace range (all of it)');
SELECT is(abt_assign('a9000000-0000-4000-8000-0000000000a1', 'qa')->>'forced', 'true',
          'A''s pinned visitor is answered as forced');
SELECT throws_ok($$INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id)
                   VALUES ('a9000000-0000-4000-8000-0000000000b1', 'qa', 'a9000000-0000-4000-8001-0000000000b1',
                           'a9000000-0000-4000-8002-0000000000b1')$$, '23503', NULL,
                 'A cannot pin a visitor in B''s experiment (A sees none of its variants)');
SELECT throws_ok($$INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id)
                   VALUES ('a9000000-0000-4000-8000-0000000000a1', 'qa2', 'a9000000-0000-4000-8001-0000000000a1',
                           'a9000000-0000-4000-8002-0000000000b1')$$, '23503', NULL,
                 'A cannot pin a visitor to B''s variant');
-- no claim: no owner, no rows
SET LOCAL request.jwt.claim.sub = '';
SELECT is((SELECT count(*)::int FROM abtest.forced_variants), 0, 'authenticated without a user id sees no pins');
SELECT is(pg_temp.seen(t), NULL, 'authenticated without a user id sees no rows of ' || t) FROM tables;
RESET ROLE;

SELECT results_eq($$SELECT e.name, v.content FROM abtest.experiments e
                      JOIN abtest.element_variants v ON v.id = 'a9000000-0000-4000-8002-0000000000b1'
                     WHERE e.id = 'a9000000-0000-4000-8000-0000000000b1'$$,
                  $$VALUES ('B active', '{"secret": "b1"}'::jsonb)$$,
                  'B''s experiment and variant are unchanged');
SELECT is_empty($$SELECT 1 FROM abtest.assignments WHERE experiment_id = 'a9000000-0000-4000-8000-0000000000a9'
                  UNION ALL SELECT 1 FROM abtest.variant_counters WHERE experiment_id = 'a9000000-0000-4000-8000-0000000000a9'
                  UNION ALL SELECT 1 FROM abtest.experiment_timeline WHERE experiment_id = 'a9000000-0000-4000-8000-0000000000a9'$$,
                'A''s deleted experiment left no visitors'' rows');

--
-- service_role: every row (BYPASSRLS), the leads queue.
--
SET LOCAL ROLE service_role;
SELECT is(pg_temp.seen(t), CASE WHEN t IN ('abtest.experiments', 'abtest.experiment_elements',
                                           'abtest.element_variants', 'abtest.variant_totals')
                                THEN 'a1,a2,a3,a4,b1'
                                WHEN t = 'abtest.leads' THEN 'a1,b1,none' ELSE 'a1,b1' END,
          'service_role sees every row of ' || t)
  FROM tables;
SELECT is((SELECT count(*)::int FROM abt_leads_claim('edge-function', 10)), 4, 'service_role claims the leads');
SELECT is(abt_assign('a9000000-0000-4000-8000-0000000000a1', 'svc-1', '2001-01-01')->>'new', 'true',
          'service_role may choose an assignment''s time (trusted)');
SELECT is((SELECT count(*)::int FROM abt_assign_bulk('a9000000-0000-4000-8000-0000000000a1', ARRAY['svc-2', 'svc-3'])),
          2, 'service_role imports visitors in bulk');
SELECT is(abt_convert('a9000000-0000-4000-8000-0000000000a1', 'svc-1', 'refund', -10, '2001-01-02'), true,
          'service_role records any goal and value at any time');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
