-- pgTAP: CREATE EXTENSION puts the realtime tables into the publication named
-- by abtest.publication (default supabase_realtime); every published table
-- can be updated and deleted from (it has a usable replica identity).
BEGIN;
SELECT plan(32);

CREATE EXTENSION abtest;

-- with the default setting
SELECT is(current_setting('abtest.publication'), 'supabase_realtime',
          'abtest.publication defaults to supabase_realtime');
-- The default publication is written twice: the setting's boot value (C,
-- _PG_init) and abt_realtime_publish's default argument (the released 1.0
-- script, which cannot change): they must stay equal.
SELECT isnt((SELECT boot_val FROM pg_settings WHERE name = 'abtest.publication'), NULL,
            'the library defines abtest.publication (it has a boot value)');
SELECT is(pg_get_function_arg_default('abt_realtime_publish(name)'::regprocedure, 1),
          (SELECT format('%L::name', boot_val) FROM pg_settings WHERE name = 'abtest.publication'),
          'abt_realtime_publish''s default publication is abtest.publication''s boot value');
SELECT ok(EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime'),
          'CREATE EXTENSION created the publication supabase_realtime');
SELECT results_eq(
    $$SELECT schemaname::text COLLATE "default", tablename::text COLLATE "default"
        FROM pg_publication_tables
       WHERE pubname = 'supabase_realtime' ORDER BY 1, 2$$,
    $$VALUES ('abtest', 'assignments'), ('abtest', 'conversions'),
             ('abtest', 'element_variants'), ('abtest', 'variant_counters')$$,
    'supabase_realtime publishes exactly assignments, conversions, element_variants and variant_counters');
SELECT results_eq(
    $$SELECT puballtables, pubinsert, pubupdate, pubdelete FROM pg_publication
       WHERE pubname = 'supabase_realtime'$$,
    $$VALUES (false, true, true, true)$$,
    'supabase_realtime is not FOR ALL TABLES and publishes inserts, updates and deletes');
SELECT is_empty($$
    SELECT d.objid FROM pg_depend d JOIN pg_publication p ON p.oid = d.objid
     WHERE d.classid = 'pg_publication'::regclass AND p.pubname = 'supabase_realtime'
       AND d.deptype = 'e'
$$, 'the publication is not a member of the extension');

-- every published table has a replica identity that UPDATE and DELETE can use:
-- FULL, DEFAULT with a primary key, or USING INDEX with a valid index
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_publication_tables t
      JOIN pg_class c ON c.oid = format('%I.%I', t.schemaname, t.tablename)::regclass
     WHERE t.pubname = 'supabase_realtime'
       AND NOT (c.relreplident = 'f'
                OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i
                                                       WHERE i.indrelid = c.oid AND i.indisprimary))
                OR (c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index i
                                                       WHERE i.indrelid = c.oid AND i.indisreplident
                                                         AND i.indisvalid)))
$$, 'every published table has a usable replica identity');
SELECT has_pk('abtest', 'assignments', 'published abtest.assignments has a primary key');
SELECT has_pk('abtest', 'conversions', 'published abtest.conversions has a primary key');
SELECT has_pk('abtest', 'element_variants', 'published abtest.element_variants has a primary key');
SELECT has_pk('abtest', 'variant_counters', 'published abtest.variant_counters has a primary key');

-- rows in every published table, through the API
INSERT INTO abtest.experiments (id, name, status)
VALUES ('c0000000-0000-4000-8000-000000000001', 'publication test', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
VALUES ('c0000000-0000-4000-8000-000000000011', 'c0000000-0000-4000-8000-000000000001', 'headline');
INSERT INTO abtest.element_variants (id, element_id, name, is_control) VALUES
    ('c0000000-0000-4000-8000-000000000111', 'c0000000-0000-4000-8000-000000000011', 'A', true),
    ('c0000000-0000-4000-8000-000000000112', 'c0000000-0000-4000-8000-000000000011', 'B', false);
SELECT is(abt_assign('c0000000-0000-4000-8000-000000000001', 'visitor-1')->>'new', 'true',
          'abt_assign stores a new visitor');
SELECT is(abt_convert('c0000000-0000-4000-8000-000000000001', 'visitor-1'), true,
          'abt_convert records the first conversion');
SELECT is((SELECT sum(allocations)::int || '/' || sum(conversions)::int FROM abtest.variant_counters
            WHERE experiment_id = 'c0000000-0000-4000-8000-000000000001'), '1/1',
          'the counters have the allocation and the conversion');

-- UPDATE and DELETE work on every published table (no "cannot update table
-- ... because it does not have a replica identity and publishes updates")
SELECT lives_ok($$UPDATE abtest.assignments SET converted_at = converted_at + interval '1 second'
                   WHERE experiment_id = 'c0000000-0000-4000-8000-000000000001'$$,
                'UPDATE abtest.assignments works');
SELECT lives_ok($$UPDATE abtest.conversions SET value = 1
                   WHERE experiment_id = 'c0000000-0000-4000-8000-000000000001'$$,
                'UPDATE abtest.conversions works');
SELECT lives_ok($$UPDATE abtest.element_variants SET content = '{"text": "Buy now"}'
                   WHERE id = 'c0000000-0000-4000-8000-000000000112'$$,
                'UPDATE abtest.element_variants works');
SELECT lives_ok($$UPDATE abtest.variant_counters SET allocations = allocations
                   WHERE experiment_id = 'c0000000-0000-4000-8000-000000000001'$$,
                'UPDATE abtest.variant_counters works');
SELECT is(abt_convert('c0000000-0000-4000-8000-000000000001', 'visitor-1'), false,
          'abt_convert (UPDATE of the assignment WHERE converted_at IS NULL) works on a published table');
SELECT lives_ok($$SELECT abt_settle_counters('c0000000-0000-4000-8000-000000000001')$$,
                'abt_settle_counters (UPDATE of element_variants) works on a published table');
SELECT lives_ok($$DELETE FROM abtest.element_variants WHERE id = 'c0000000-0000-4000-8000-000000000112'$$,
                'DELETE FROM abtest.element_variants works');
SELECT lives_ok($$DELETE FROM abtest.experiments WHERE id = 'c0000000-0000-4000-8000-000000000001'$$,
                'deleting the experiment (which deletes from every published table) works');
SELECT is((SELECT count(*)::int FROM abtest.assignments) + (SELECT count(*)::int FROM abtest.conversions)
          + (SELECT count(*)::int FROM abtest.variant_counters) + (SELECT count(*)::int FROM abtest.element_variants),
          0, 'the experiment''s rows are gone from every published table');

-- abt_realtime_publish is idempotent and adds to other publications too
SELECT lives_ok($$SELECT abt_realtime_publish()$$, 'abt_realtime_publish() again works');
SELECT is((SELECT count(*)::int FROM pg_publication_tables WHERE pubname = 'supabase_realtime'), 4,
          'abt_realtime_publish() again adds nothing');
SELECT lives_ok($$SELECT abt_realtime_publish('abtest_other_pub')$$,
                'abt_realtime_publish(name) creates a missing publication');
SELECT results_eq(
    $$SELECT tablename::text COLLATE "default" FROM pg_publication_tables
       WHERE pubname = 'abtest_other_pub' ORDER BY 1$$,
    $$VALUES ('assignments'), ('conversions'), ('element_variants'), ('variant_counters')$$,
    'the new publication has the four realtime tables');
CREATE PUBLICATION abtest_all_pub FOR ALL TABLES;
SELECT lives_ok($$SELECT abt_realtime_publish('abtest_all_pub')$$,
                'abt_realtime_publish on a FOR ALL TABLES publication works (nothing to add)');

-- abtest.publication = '' opts out; another name is used instead
DROP EXTENSION abtest;
DROP PUBLICATION supabase_realtime;
DROP PUBLICATION abtest_other_pub;
DROP PUBLICATION abtest_all_pub;
SET LOCAL abtest.publication = '';
CREATE EXTENSION abtest;
SELECT is_empty($$SELECT pubname FROM pg_publication$$,
                'with abtest.publication = '''' CREATE EXTENSION creates no publication');
DROP EXTENSION abtest;
SET LOCAL abtest.publication = 'realtime_custom';
CREATE EXTENSION abtest;
SELECT results_eq(
    $$SELECT pubname::text COLLATE "default", tablename::text COLLATE "default"
        FROM pg_publication_tables ORDER BY 1, 2$$,
    $$VALUES ('realtime_custom', 'assignments'), ('realtime_custom', 'conversions'),
             ('realtime_custom', 'element_variants'), ('realtime_custom', 'variant_counters')$$,
    'with abtest.publication = realtime_custom the tables go to that publication only');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime'),
          'and no supabase_realtime publication is created');

SELECT * FROM finish();
ROLLBACK;
