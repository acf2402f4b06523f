--
-- install: what CREATE EXTENSION abtest creates and where, the realtime
-- publication and the abtest.publication setting, a non-default schema,
-- privileges, and what DROP EXTENSION leaves.  It drops and re-creates the
-- extension (all abtest data is lost) and ends with the extension and the
-- publication as --load-extension made them.  CREATE PUBLICATION warns when
-- wal_level is not logical, so client_min_messages hides warnings around
-- whatever may create one.  Ids of this file: a5000000-....
--
CREATE VIEW pg_temp.pubs AS
SELECT p.pubname, p.puballtables,
       (SELECT string_agg(r.prrelid::regclass::text, ', ' ORDER BY r.prrelid::regclass::text)
          FROM pg_publication_rel r WHERE r.prpubid = p.oid) AS tables
  FROM pg_publication p
 WHERE p.pubname IN ('supabase_realtime', 'other_pub', 'Realtime "Pub"', 'all_pub', 'partial_pub')
 ORDER BY p.pubname;

-- --load-extension installed it with the default setting (the setting
-- exists once the library is loaded)
SELECT abt_gbhash('', '') IS NOT NULL AS loaded;
SHOW abtest.publication;
SELECT e.extversion, e.extnamespace::regnamespace AS schema, e.extrelocatable
  FROM pg_extension e WHERE e.extname = 'abtest';
SELECT * FROM pg_temp.pubs;
SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime' ORDER BY 1, 2;
-- the publication is not a member of the extension
SELECT count(*) AS publication_members FROM pg_depend d
 WHERE d.classid = 'pg_publication'::regclass AND d.deptype = 'e';

-- Members: the functions in the extension's schema (public), everything
-- else in schema abtest.
SELECT DISTINCT o.type, o.schema
  FROM pg_depend d, pg_identify_object(d.classid, d.objid, 0) o
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest')
 ORDER BY 1, 2;
CREATE TEMP TABLE documented_functions (f text, public_execute boolean);
INSERT INTO documented_functions VALUES
    ('abt_gbhash(text,text)', true),
    ('abt_assign(uuid,text,timestamptz)', true),
    ('abt_assign_batch(uuid[],text,timestamptz)', true),
    ('abt_assign_bulk(uuid,text[],timestamptz)', false),
    ('abt_convert(uuid,text,text,numeric,timestamptz)', true),
    ('abt_settle_counters(uuid)', false),
    ('abt_realtime_publish(name)', false);
-- privileges: the visitors' functions for everyone, the bulk import, the
-- administrative ones and the abtest schema not
SELECT f AS function, p.pronamespace::regnamespace AS schema, p.prosecdef AS security_definer,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
       has_function_privilege('public', p.oid, 'EXECUTE') = public_execute AS ok
  FROM documented_functions LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f);
SELECT t AS relation, to_regclass('abtest.' || t) IS NOT NULL AS in_abtest,
       has_table_privilege('public', 'abtest.' || t, 'SELECT') AS public_select
  FROM unnest(ARRAY['experiments', 'experiment_elements', 'element_variants', 'assignments', 'conversions',
                    'leads', 'variant_counters', 'experiment_timeline', 'variant_timeline', 'variant_totals']) t;
SELECT has_schema_privilege('public', 'abtest', 'USAGE') AS public_schema_usage;

-- A role without any privilege on abtest's tables can assign and convert.
SET client_min_messages = error;
DROP ROLE IF EXISTS regress_abtest_visitor;
RESET client_min_messages;
CREATE ROLE regress_abtest_visitor;
INSERT INTO abtest.experiments (id, name, status) VALUES ('a5000000-0000-0000-0000-000000000001', 'roles', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
    ('a5000000-0000-0000-0001-000000000001', 'a5000000-0000-0000-0000-000000000001', 'el');
INSERT INTO abtest.element_variants (id, element_id, name) VALUES
    ('a5000000-0000-0000-0002-000000000001', 'a5000000-0000-0000-0001-000000000001', 'only');
SET ROLE regress_abtest_visitor;
SELECT abt_assign('a5000000-0000-0000-0000-000000000001', 'r1')->'elements'->0->>'variant' AS variant,
       abt_convert('a5000000-0000-0000-0000-000000000001', 'r1') AS first_conversion,
       abt_gbhash('seed', 'a') AS gbhash;
SELECT count(*) FROM abtest.assignments;
SELECT abt_settle_counters();
SELECT abt_realtime_publish('other_pub');
RESET ROLE;
DROP ROLE regress_abtest_visitor;

--
-- abtest.publication = '' opts out; DROP EXTENSION takes the tables out of
-- the publication but leaves the publication.
--
SET abtest.publication = '';
DROP EXTENSION abtest;
SELECT * FROM pg_temp.pubs;
DROP PUBLICATION supabase_realtime;
CREATE EXTENSION abtest;
SELECT count(*) AS publications FROM pg_publication WHERE pubname = 'supabase_realtime';
-- the default (RESET) creates it again, with exactly the four tables
DROP EXTENSION abtest;
RESET abtest.publication;
SET client_min_messages = error;
CREATE EXTENSION abtest;
RESET client_min_messages;
SELECT * FROM pg_temp.pubs;
SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime' ORDER BY 1, 2;

-- abt_realtime_publish: creates a publication, is idempotent, quotes names,
-- completes a publication that has some of the tables and keeps its others.
SET client_min_messages = error;
SELECT abt_realtime_publish('other_pub');
SELECT abt_realtime_publish('other_pub');
SELECT abt_realtime_publish('Realtime "Pub"');
CREATE PUBLICATION partial_pub FOR TABLE abtest.assignments, abtest.leads;
SELECT abt_realtime_publish('partial_pub');
RESET client_min_messages;
SELECT * FROM pg_temp.pubs;

-- A publication abt_realtime_publish used that is dropped and created
-- again (as a restore of a dump does) gets the tables back.
DROP PUBLICATION other_pub;
SET client_min_messages = error;
CREATE PUBLICATION other_pub;
RESET client_min_messages;
SELECT * FROM pg_temp.pubs;
-- A FOR ALL TABLES publication is left alone: by CREATE EXTENSION and by
-- abt_realtime_publish.
SET client_min_messages = error;
CREATE PUBLICATION all_pub FOR ALL TABLES;
RESET client_min_messages;
SET abtest.publication = 'all_pub';
DROP EXTENSION abtest;
SELECT * FROM pg_temp.pubs;
SET client_min_messages = error;
CREATE EXTENSION abtest;
RESET client_min_messages;
SELECT abt_realtime_publish('all_pub');
SELECT * FROM pg_temp.pubs;
SELECT count(*) AS realtime_tables_published_by_all_pub
  FROM pg_publication_tables WHERE pubname = 'all_pub' AND schemaname = 'abtest'
   AND tablename IN ('assignments', 'element_variants', 'conversions', 'variant_counters');
DROP PUBLICATION all_pub, other_pub, "Realtime ""Pub""", partial_pub;

--
-- A non-default schema: the functions go there, the tables stay in abtest,
-- and the internal callers (the settle trigger) find the functions.
--
SET abtest.publication = '';
DROP EXTENSION abtest;
CREATE SCHEMA abt_functions;
CREATE EXTENSION abtest SCHEMA abt_functions;
SELECT f AS function, to_regprocedure('abt_functions.' || f) IS NOT NULL AS in_abt_functions,
       to_regprocedure('public.' || f) IS NOT NULL AS in_public
  FROM documented_functions;
SELECT count(*) AS relations_in_abtest FROM pg_class c
 WHERE c.relnamespace = 'abtest'::regnamespace
   AND c.relname IN ('experiments', 'experiment_elements', 'element_variants', 'assignments', 'conversions',
                     'leads', 'variant_counters', 'experiment_timeline', 'variant_timeline', 'variant_totals');
INSERT INTO abtest.experiments (id, name, status, seed) VALUES ('a5000000-0000-0000-0000-000000000002', 'schema', 'active', 'v1');
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
    ('a5000000-0000-0000-0001-000000000002', 'a5000000-0000-0000-0000-000000000002', 'el');
INSERT INTO abtest.element_variants (id, element_id, name) VALUES
    ('a5000000-0000-0000-0002-000000000002', 'a5000000-0000-0000-0001-000000000002', 'first');
SELECT abt_functions.abt_assign('a5000000-0000-0000-0000-000000000002', 'c1', '2024-08-01')->'elements'->0->>'variant' AS c1;
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'a5000000-0000-0000-0000-000000000002';
SELECT name, total_allocations FROM abtest.element_variants WHERE id = 'a5000000-0000-0000-0002-000000000002';

-- Re-created in the same session with the same ids and a different
-- configuration (config_version starts again): nothing cached survives.
DROP EXTENSION abtest;
DROP SCHEMA abt_functions;
RESET abtest.publication;
SET client_min_messages = error;
CREATE EXTENSION abtest;
RESET client_min_messages;
INSERT INTO abtest.experiments (id, name, status, seed) VALUES ('a5000000-0000-0000-0000-000000000002', 'schema', 'active', 'v1');
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
    ('a5000000-0000-0000-0001-000000000002', 'a5000000-0000-0000-0000-000000000002', 'el');
INSERT INTO abtest.element_variants (id, element_id, name) VALUES
    ('a5000000-0000-0000-0002-000000000002', 'a5000000-0000-0000-0001-000000000002', 'second');
SELECT abt_assign('a5000000-0000-0000-0000-000000000002', 'c1', '2024-08-01')->'elements'->0->>'variant' AS c1;
SELECT count(*) AS assignments FROM abtest.assignments;

-- the end state: as --load-extension left it
SELECT * FROM pg_temp.pubs;
SELECT e.extversion, e.extnamespace::regnamespace AS schema FROM pg_extension e WHERE e.extname = 'abtest';
DELETE FROM abtest.experiments WHERE id = 'a5000000-0000-0000-0000-000000000002';
