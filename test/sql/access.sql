--
-- access: the access model on plain PostgreSQL (no auth.uid(), no Supabase
-- roles; test/pgtap/access.sql has the Supabase case).  Row-level security
-- through abtest.current_owner() and the request.jwt.claim.sub /
-- request.jwt.claims settings; a dashboard role granted exactly as
-- docs/access-and-leads.md shows; a visitor role without any grant; a
-- hostile search_path; crafted visitor ids and goals (stored verbatim or
-- rejected, never executed) and invalid UTF-8 from the client.
-- Ids of this file: a8000000-....
--
-- runs a statement, returns its SQLSTATE, message and detail (or 'ok')
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
-- Which of this file's experiments the current role sees rows of in a
-- table: the last two characters of their ids ('none': a lead without
-- experiment; '-': no rows; or the SQLSTATE of the error).  The ids of
-- elements and variants end like their experiment's.
CREATE FUNCTION pg_temp.seen(rel text, id_column text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
    EXECUTE format($q$SELECT string_agg(DISTINCT coalesce(right(%1$I::text, 2), 'none'), ',')
                        FROM %2$s WHERE %1$I IS NULL OR %1$I::text LIKE 'a8000000-%%'$q$, id_column, rel)
       INTO ids;
    RETURN coalesce(ids, '-');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
CREATE FUNCTION pg_temp.visible() RETURNS TABLE ("table" text, experiments text) LANGUAGE sql AS $$
SELECT rel, pg_temp.seen(rel, id_column)
  FROM (VALUES ('abtest.experiments', 'id'), ('abtest.experiment_elements', 'id'),
               ('abtest.element_variants', 'id'), ('abtest.assignments', 'experiment_id'),
               ('abtest.conversions', 'experiment_id'), ('abtest.variant_counters', 'experiment_id'),
               ('abtest.experiment_timeline', 'experiment_id'), ('abtest.variant_timeline', 'experiment_id'),
               ('abtest.variant_totals', 'experiment_id'), ('abtest.leads', 'experiment_id')) t(rel, id_column)
$$;

-- This database has no auth.uid(): the owner is the user id of the
-- request's claims, read as Supabase's auth.uid() reads it.
SELECT to_regprocedure('auth.uid()') AS auth_uid, abtest.current_owner() AS no_claims;
SET request.jwt.claims = '{"sub": "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "role": "authenticated"}';
SELECT abtest.current_owner() AS from_claims;
SET request.jwt.claim.sub = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
SELECT abtest.current_owner() AS claim_sub_first;
SET request.jwt.claim.sub = '';
SELECT abtest.current_owner() AS empty_claim_sub;
RESET request.jwt.claims;
SELECT abtest.current_owner() AS empty_settings;
SET request.jwt.claim.sub = 'not a uuid';
SELECT pg_temp.err('SELECT abtest.current_owner()') AS bad_claim_sub;
SET request.jwt.claim.sub = '';
SET request.jwt.claims = '{"sub": ';
SELECT pg_temp.err('SELECT abtest.current_owner()') AS bad_claims;
RESET request.jwt.claims;
RESET request.jwt.claim.sub;
-- the "abtest." prefix is the module's own (reserved once the module is
-- loaded): it cannot carry the owner
SELECT abt_gbhash('', '') IS NOT NULL AS loaded,
       pg_temp.err($$SET abtest.owner_id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'$$) AS abtest_prefix;

-- Experiments: a1 active, a2 draft, d1 paused, d2 completed (owner A);
-- b1 active (owner B); c1 active (no owner).
INSERT INTO abtest.experiments (id, user_id, name, status) VALUES
    ('a8000000-0000-0000-0000-0000000000a1', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A active', 'active'),
    ('a8000000-0000-0000-0000-0000000000a2', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A draft', 'draft'),
    ('a8000000-0000-0000-0000-0000000000d1', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A paused', 'active'),
    ('a8000000-0000-0000-0000-0000000000d2', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A completed', 'active'),
    ('a8000000-0000-0000-0000-0000000000b1', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'B active', 'active'),
    ('a8000000-0000-0000-0000-0000000000c1', NULL, 'nobody''s', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
SELECT ('a8000000-0000-0000-0001-0000000000' || right(id::text, 2))::uuid, id, 'headline of ' || name
  FROM abtest.experiments WHERE id::text LIKE 'a8000000-%';
INSERT INTO abtest.element_variants (id, element_id, name, is_control, content)
SELECT ('a8000000-0000-0000-0002-0000000000' || right(el.id::text, 2))::uuid, el.id, 'control', true,
       jsonb_build_object('secret', 'content of ' || el.name)
  FROM abtest.experiment_elements el WHERE el.id::text LIKE 'a8000000-%';
SELECT abt_assign(id, 'visitor-1', '2024-10-01 10:00+00')->>'new' AS assigned,
       abt_convert(id, 'visitor-1', 'signup', 1, '2024-10-01 11:00+00') AS converted,
       abt_lead_capture(jsonb_build_object('email', 'v1@example.com'), id, 'visitor-1') > 0 AS lead
  FROM abtest.experiments WHERE id::text LIKE 'a8000000-%' ORDER BY id;
SELECT abt_lead_capture('{"email": "no-experiment@example.com"}') > 0 AS lead;
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'a8000000-0000-0000-0000-0000000000d1';
UPDATE abtest.experiments SET status = 'completed' WHERE id = 'a8000000-0000-0000-0000-0000000000d2';
-- the owner of the tables sees everything
SELECT * FROM pg_temp.visible();

--
-- The dashboard role, granted as docs/access-and-leads.md shows.
--
SET client_min_messages = error;
DROP ROLE IF EXISTS regress_abtest_dashboard;
DROP ROLE IF EXISTS regress_abtest_visitor;
RESET client_min_messages;
CREATE ROLE regress_abtest_dashboard;
CREATE ROLE regress_abtest_visitor;
GRANT USAGE ON SCHEMA abtest TO regress_abtest_dashboard;
GRANT SELECT, DELETE ON abtest.experiments, abtest.experiment_elements,
                        abtest.element_variants TO regress_abtest_dashboard;
GRANT INSERT (id, user_id, name, status, seed, coverage, created_at),
      UPDATE (user_id, name, status, seed, coverage)
    ON abtest.experiments TO regress_abtest_dashboard;
GRANT INSERT (id, experiment_id, name, selector, seed, position, created_at),
      UPDATE (experiment_id, name, selector, seed, position)
    ON abtest.experiment_elements TO regress_abtest_dashboard;
GRANT INSERT (id, element_id, name, content, weight, is_control, position, created_at),
      UPDATE (element_id, name, content, weight, is_control, position)
    ON abtest.element_variants TO regress_abtest_dashboard;
GRANT USAGE ON SEQUENCE abtest.config_version_seq TO regress_abtest_dashboard;
GRANT SELECT ON abtest.assignments, abtest.conversions, abtest.variant_counters,
                abtest.experiment_timeline, abtest.variant_timeline,
                abtest.variant_totals, abtest.leads TO regress_abtest_dashboard;
GRANT EXECUTE ON FUNCTION abt_variant_stats(uuid[]), abt_experiment_stats(uuid),
                          abt_timeline(uuid, integer, interval),
                          abt_timeline_variants(uuid, integer, interval)
    TO regress_abtest_dashboard;
GRANT SELECT, DELETE ON abtest.goals TO regress_abtest_dashboard;
GRANT INSERT (experiment_id, goal, max_value, created_at), UPDATE (goal, max_value)
    ON abtest.goals TO regress_abtest_dashboard;

SET ROLE regress_abtest_dashboard;
-- without claims: no owner, no rows
SELECT * FROM pg_temp.visible();
-- as owner A (per transaction, as PostgREST does it): A's rows only
BEGIN;
SELECT set_config('request.jwt.claim.sub', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', true) IS NOT NULL AS owner_a;
SELECT * FROM pg_temp.visible();
SELECT right(experiment_id::text, 2) AS experiment, status, variant_name, allocations, conversions
  FROM abt_variant_stats(ARRAY['a8000000-0000-0000-0000-0000000000a1', 'a8000000-0000-0000-0000-0000000000b1',
                               'a8000000-0000-0000-0000-0000000000c1']::uuid[]);
SELECT count(*) AS rows_of_b FROM abt_experiment_stats('a8000000-0000-0000-0000-0000000000b1') WHERE status IS NOT NULL;
SELECT pg_temp.err($$SELECT abt_timeline('a8000000-0000-0000-0000-0000000000a1')$$) AS timeline_of_a1,
       pg_temp.err($$SELECT abt_timeline('a8000000-0000-0000-0000-0000000000b1')$$) AS timeline_of_b1;
COMMIT;
-- the setting was local to the transaction
SELECT * FROM pg_temp.visible() WHERE "table" = 'abtest.assignments';

-- as owner B, through request.jwt.claims (PostgREST 9 and later)
SET request.jwt.claims = '{"sub": "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"}';
SELECT * FROM pg_temp.visible();

-- A cannot change B's rows: they are invisible (0 rows) or fail the check
SET request.jwt.claims = '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"}';
WITH renamed AS (UPDATE abtest.experiments SET name = 'taken over'
                   WHERE id = 'a8000000-0000-0000-0000-0000000000b1' RETURNING 1),
     defaced AS (UPDATE abtest.element_variants SET content = '{"defaced": true}'
                  WHERE id = 'a8000000-0000-0000-0002-0000000000b1' RETURNING 1),
     unstyled AS (DELETE FROM abtest.experiment_elements
                   WHERE id = 'a8000000-0000-0000-0001-0000000000b1' RETURNING 1),
     removed AS (DELETE FROM abtest.experiments
                  WHERE id IN ('a8000000-0000-0000-0000-0000000000b1', 'a8000000-0000-0000-0000-0000000000c1')
                 RETURNING 1)
SELECT (SELECT count(*) FROM renamed) AS renamed, (SELECT count(*) FROM defaced) AS defaced,
       (SELECT count(*) FROM unstyled) AS unstyled, (SELECT count(*) FROM removed) AS removed;
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('create an experiment for B', $$INSERT INTO abtest.experiments (user_id, name) VALUES ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'x')$$),
    ('create an unowned experiment', $$INSERT INTO abtest.experiments (name) VALUES ('x')$$),
    ('give an experiment to B', $$UPDATE abtest.experiments SET user_id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' WHERE id = 'a8000000-0000-0000-0000-0000000000a1'$$),
    ('add an element to B''s', $$INSERT INTO abtest.experiment_elements (experiment_id, name) VALUES ('a8000000-0000-0000-0000-0000000000b1', 'x')$$),
    ('move an element to B''s', $$UPDATE abtest.experiment_elements SET experiment_id = 'a8000000-0000-0000-0000-0000000000b1' WHERE id = 'a8000000-0000-0000-0001-0000000000a1'$$),
    ('add a variant to B''s', $$INSERT INTO abtest.element_variants (element_id, name) VALUES ('a8000000-0000-0000-0001-0000000000b1', 'x')$$),
    ('set config_version', $$UPDATE abtest.experiments SET config_version = 1 WHERE id = 'a8000000-0000-0000-0000-0000000000a1'$$),
    ('set settled counters', $$UPDATE abtest.element_variants SET total_allocations = 1000000 WHERE id = 'a8000000-0000-0000-0002-0000000000a1'$$),
    ('forge an assignment', $$INSERT INTO abtest.assignments (experiment_id, user_id, variants) VALUES ('a8000000-0000-0000-0000-0000000000a1', 'forged', '{}')$$),
    ('forge a counter', $$UPDATE abtest.variant_counters SET allocations = 1000000$$),
    ('delete a conversion', $$DELETE FROM abtest.conversions$$),
    ('change a lead', $$UPDATE abtest.leads SET status = 'done'$$),
    ('settle counters', $$SELECT abt_settle_counters()$$),
    ('claim leads', $$SELECT abt_leads_claim('dashboard')$$),
    ('publish', $$SELECT abt_realtime_publish('x')$$)
  ) t(label, q);

-- A manages its own experiments: create, configure, activate, pause (which
-- settles its counters), delete (which deletes its visitors' rows).
INSERT INTO abtest.experiments (id, user_id, name)
VALUES ('a8000000-0000-0000-0000-0000000000a9', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'A new');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
VALUES ('a8000000-0000-0000-0001-0000000000a9', 'a8000000-0000-0000-0000-0000000000a9', 'button');
INSERT INTO abtest.element_variants (id, element_id, name, content)
VALUES ('a8000000-0000-0000-0002-0000000000a9', 'a8000000-0000-0000-0001-0000000000a9', 'green', '{"color": "green"}');
UPDATE abtest.element_variants SET weight = 2 WHERE id = 'a8000000-0000-0000-0002-0000000000a9';
UPDATE abtest.experiments SET status = 'active' WHERE id = 'a8000000-0000-0000-0000-0000000000a9';
SELECT abt_assign('a8000000-0000-0000-0000-0000000000a9', 'visitor-9')->'elements'->0->'content' AS content;
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'a8000000-0000-0000-0000-0000000000a9';
SELECT name, total_allocations FROM abtest.element_variants WHERE id = 'a8000000-0000-0000-0002-0000000000a9';
DELETE FROM abtest.experiments WHERE id = 'a8000000-0000-0000-0000-0000000000a9';
-- A declares goals for visitors' conversions of its own experiments only
INSERT INTO abtest.goals (experiment_id, goal, max_value)
VALUES ('a8000000-0000-0000-0000-0000000000a1', 'purchase', 100);
SELECT pg_temp.err($$INSERT INTO abtest.goals (experiment_id, goal) VALUES ('a8000000-0000-0000-0000-0000000000b1', 'purchase')$$)
    AS goal_for_b;
SELECT pg_temp.err($$UPDATE abtest.goals SET experiment_id = 'a8000000-0000-0000-0000-0000000000b1'$$)
    AS move_goal_to_b;
SELECT right(experiment_id::text, 2) AS experiment, goal, max_value FROM abtest.goals;
DELETE FROM abtest.goals WHERE experiment_id = 'a8000000-0000-0000-0000-0000000000a1';

-- A hostile search_path cannot widen what A sees: the policies were bound
-- to their functions and operators when they were created, and
-- abtest.current_owner() sets its own search_path.
RESET ROLE;
CREATE SCHEMA regress_abtest_hostile AUTHORIZATION regress_abtest_dashboard;
SET ROLE regress_abtest_dashboard;
CREATE FUNCTION regress_abtest_hostile.always(uuid, uuid) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR regress_abtest_hostile.= (LEFTARG = uuid, RIGHTARG = uuid, PROCEDURE = regress_abtest_hostile.always);
CREATE FUNCTION regress_abtest_hostile.current_setting(text, boolean) RETURNS text LANGUAGE sql
    AS $$SELECT 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'$$;
SET search_path = regress_abtest_hostile, pg_catalog, public;
SELECT abtest.current_owner() AS owner;
SELECT * FROM pg_temp.visible();
RESET search_path;
RESET request.jwt.claims;
RESET ROLE;
SET client_min_messages = warning;
DROP SCHEMA regress_abtest_hostile CASCADE;
RESET client_min_messages;
-- B's and nobody's experiments are as they were; A's deleted experiment
-- left no rows behind
SELECT e.name, v.content FROM abtest.experiments e
  JOIN abtest.experiment_elements el ON el.experiment_id = e.id
  JOIN abtest.element_variants v ON v.element_id = el.id
 WHERE e.id IN ('a8000000-0000-0000-0000-0000000000b1', 'a8000000-0000-0000-0000-0000000000c1') ORDER BY e.id;
SELECT * FROM pg_temp.visible() WHERE experiments LIKE '%a9%';

--
-- A visitor role without any grant: the visitor API, nothing else; no
-- enrolment into draft, paused or completed experiments.
--
SET ROLE regress_abtest_visitor;
SET request.jwt.claim.sub = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
SELECT * FROM pg_temp.visible();
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('insert an experiment', $$INSERT INTO abtest.experiments (name) VALUES ('x')$$),
    ('stats', $$SELECT abt_experiment_stats('a8000000-0000-0000-0000-0000000000a1')$$),
    ('timeline', $$SELECT abt_timeline('a8000000-0000-0000-0000-0000000000a1')$$),
    ('capture a lead', $$SELECT abt_lead_capture('{}')$$),
    ('owner function', $$SELECT abtest.current_owner()$$)
  ) t(label, q);
SELECT right(id, 2) AS experiment, a->>'status' AS status, a->>'enrolled' AS enrolled, a->>'new' AS new,
       jsonb_array_length(a->'elements') AS elements,
       abt_convert(id::uuid, 'visitor-2') AS converted
  FROM (VALUES ('a8000000-0000-0000-0000-0000000000a1'), ('a8000000-0000-0000-0000-0000000000a2'),
               ('a8000000-0000-0000-0000-0000000000d1'), ('a8000000-0000-0000-0000-0000000000d2')) v(id),
       abt_assign(id::uuid, 'visitor-2') a;
-- visitor-1, assigned before the pause, still sees its variant
SELECT right(id, 2) AS experiment, a->>'enrolled' AS enrolled, a->>'new' AS new
  FROM (VALUES ('a8000000-0000-0000-0000-0000000000d1'), ('a8000000-0000-0000-0000-0000000000d2')) v(id),
       abt_assign(id::uuid, 'visitor-1') a;
RESET request.jwt.claim.sub;
RESET ROLE;
SELECT right(experiment_id::text, 2) AS experiment, user_id
  FROM abtest.assignments WHERE experiment_id::text LIKE 'a8000000-%' AND user_id = 'visitor-2';

--
-- Crafted visitor ids and goals: assigned and converted by the visitor role,
-- stored verbatim (same characters, same bytes), never executed.  (A
-- visitor's goal has at most 64 characters: the goals are the ids' first 64.)
--
CREATE TEMP TABLE crafted (label text, v text);
GRANT SELECT ON crafted TO PUBLIC;
INSERT INTO crafted VALUES
    ('single quote', 'it''s'),
    ('double quotes', 'say "hi"'),
    ('backslashes', E'back\\slash \\x41 \\'),
    ('SQL injection', '''); DROP TABLE abtest.assignments; --'),
    ('dollar quoting', '$$; DROP TABLE abtest.conversions; $$'),
    ('JSON injection', '"}, "variants": {"x": 1'),
    ('format specifiers', '%s %I %L %%'),
    ('LIKE patterns', '100%_\_'),
    ('tab, newline, CR', E'a\tb\nc\rd'),
    ('control characters', E'\x01\x02\x1b[31m\x7f\x08'),
    ('only spaces', '   '),
    ('non-ASCII', U&'Zo\00eb \65e5\672c \+01f600'),
    ('256 characters', repeat('x', 255) || U&'\+01f600');
SET ROLE regress_abtest_visitor;
SELECT c.label, abt_assign('a8000000-0000-0000-0000-0000000000a1', c.v)->>'new' AS new,
       abt_convert('a8000000-0000-0000-0000-0000000000a1', c.v, left(c.v, 64), 1) AS converted
  FROM crafted c ORDER BY c.label;
RESET ROLE;
SELECT c.label, a.user_id = c.v AS id_verbatim, octet_length(a.user_id) = octet_length(c.v) AS same_bytes,
       v.goal = left(c.v, 64) AS goal_verbatim, octet_length(v.goal) = octet_length(left(c.v, 64)) AS goal_same_bytes,
       length(c.v) AS chars
  FROM crafted c
  LEFT JOIN abtest.assignments a
    ON a.experiment_id = 'a8000000-0000-0000-0000-0000000000a1' AND a.user_id = c.v
  LEFT JOIN abtest.conversions v
    ON v.experiment_id = 'a8000000-0000-0000-0000-0000000000a1' AND v.user_id = c.v
 ORDER BY c.label;
-- nothing was executed: the tables are there, with one row per id
SELECT to_regclass('abtest.assignments') IS NOT NULL AND to_regclass('abtest.conversions') IS NOT NULL AS tables_exist,
       (SELECT count(*) FROM abtest.assignments WHERE experiment_id = 'a8000000-0000-0000-0000-0000000000a1'
          AND user_id IN (SELECT v FROM crafted)) AS assignments,
       (SELECT count(*) FROM abtest.conversions WHERE experiment_id = 'a8000000-0000-0000-0000-0000000000a1'
          AND user_id IN (SELECT v FROM crafted)) AS conversions;
-- the same for leads: crafted visitor ids and payload values
SELECT count(*) FILTER (WHERE abt_lead_capture(jsonb_build_object('label', c.label, 'value', c.v),
                                               'a8000000-0000-0000-0000-0000000000a1', c.v) > 0) AS captured
  FROM crafted c;
SELECT count(*) AS verbatim_leads
  FROM crafted c JOIN abtest.leads l
    ON l.user_id = c.v AND l.payload->>'value' = c.v AND l.payload->>'label' = c.label
   AND l.variant_id = 'a8000000-0000-0000-0002-0000000000a1';

-- Too long, or impossible in a text value at all: rejected with a clear
-- error, nothing stored.
SET ROLE regress_abtest_visitor;
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('257-character id', $$SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', repeat('x', 257))$$),
    ('1 MB id', $$SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', repeat('x', 1048576))$$),
    ('1 MB id, batch', $$SELECT abt_assign_batch('{a8000000-0000-0000-0000-0000000000a1}', repeat('x', 1048576))$$),
    ('1 MB id, bulk', $$SELECT abt_assign_bulk('a8000000-0000-0000-0000-0000000000a1', ARRAY['ok', repeat('x', 1048576)])$$),
    ('1 MB id, convert', $$SELECT abt_convert('a8000000-0000-0000-0000-0000000000a1', repeat('x', 1048576))$$),
    ('1 MB goal', $$SELECT abt_convert('a8000000-0000-0000-0000-0000000000a1', 'visitor-1', repeat('g', 1048576))$$),
    ('NUL in a literal', $$SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', E'a\x00b')$$),
    ('NUL from chr(0)', $$SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', 'a' || chr(0))$$),
    ('invalid UTF-8 literal', $$SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', E'\xc3\x28')$$),
    ('invalid UTF-8 bytes', $$SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', convert_from('\xc328', 'UTF8'))$$),
    ('invalid UTF-8 goal', $$SELECT abt_convert('a8000000-0000-0000-0000-0000000000a1', 'visitor-1', convert_from('\xff', 'UTF8'))$$),
    ('UTF-16 surrogate', $$SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', convert_from('\xeda080', 'UTF8'))$$)
  ) t(label, q);
RESET ROLE;
-- Raw invalid bytes from the client.  psql refuses to interpolate a
-- variable holding them (it sends the statement without the value, which
-- then fails to parse); bytes sent as COPY data are rejected by the server
-- before any row is stored.
\set invalid_utf8 `printf 'v\303('`
SET ROLE regress_abtest_visitor;
SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', :'invalid_utf8');
RESET ROLE;
CREATE TEMP TABLE raw_ids (v text);
\copy raw_ids FROM PROGRAM 'printf "v\\303(\\n"'
\copy raw_ids FROM PROGRAM 'printf "\\300\\257\\n"'
\copy raw_ids FROM PROGRAM 'printf "id\\377\\n"'
\copy raw_ids FROM PROGRAM 'printf "\\355\\240\\200\\n"'
SELECT count(*) AS rows_stored FROM raw_ids;
DROP TABLE raw_ids;
-- Bytes in another client encoding are converted, not stored raw: LATIN1
-- 0xE9 arrives as U+00E9.
\set latin1 `printf 'caf\351'`
SET client_encoding = 'LATIN1';
SET ROLE regress_abtest_visitor;
SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', :'latin1')->>'new' AS new;
RESET ROLE;
RESET client_encoding;
SELECT user_id, octet_length(user_id) AS bytes FROM abtest.assignments
 WHERE experiment_id = 'a8000000-0000-0000-0000-0000000000a1' AND user_id LIKE 'caf%';
-- nothing else reached the tables: every assignment and conversion of a1
-- is one of the above
SELECT count(*) AS unexpected_assignments FROM abtest.assignments
 WHERE experiment_id = 'a8000000-0000-0000-0000-0000000000a1'
   AND user_id NOT IN (SELECT v FROM crafted UNION ALL VALUES ('visitor-1'), ('visitor-2'), (U&'caf\00e9'));
SELECT count(*) AS unexpected_conversions FROM abtest.conversions
 WHERE experiment_id = 'a8000000-0000-0000-0000-0000000000a1'
   AND goal NOT IN (SELECT left(v, 64) FROM crafted UNION ALL VALUES ('signup'), ('conversion'));

--
-- abt_variant_stats takes elements and variants from the backend's
-- configuration cache, yet asks for the caller's privileges on those tables
-- as a query would: without SELECT on element_variants the call fails, even
-- with the configuration cached (by the call below); SELECT on the columns
-- it shows is enough.
--
SELECT count(*) AS cached_rows FROM abt_experiment_stats('a8000000-0000-0000-0000-0000000000a1');
REVOKE SELECT ON abtest.element_variants FROM regress_abtest_dashboard;
SET ROLE regress_abtest_dashboard;
SET request.jwt.claims = '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"}';
SELECT pg_temp.err($$SELECT count(*) FROM abt_experiment_stats('a8000000-0000-0000-0000-0000000000a1')$$)
    AS without_select_on_variants;
RESET ROLE;
GRANT SELECT (id, element_id, name, weight, is_control, position) ON abtest.element_variants
    TO regress_abtest_dashboard;
SET ROLE regress_abtest_dashboard;
SELECT variant_name, allocations FROM abt_experiment_stats('a8000000-0000-0000-0000-0000000000a1')
    AS with_column_grants;
RESET ROLE;
GRANT SELECT ON abtest.element_variants TO regress_abtest_dashboard;

-- A configuration is cached whole whoever's call loaded it: loaded as the
-- tables' owner, not through the caller's row policies.  Here a policy hides
-- every variant from the dashboard role; the dashboard's stats call (after a
-- configuration change, so it loads) caches a1's configuration, and a new
-- visitor of a1 then still gets its variant.  (The stats call shows the
-- variant too: the variants' row policies are not applied on top of the
-- experiment's, see README "Access".)
CREATE POLICY regress_hide_variants ON abtest.element_variants AS RESTRICTIVE FOR SELECT
    TO regress_abtest_dashboard USING (false);
UPDATE abtest.element_variants SET name = 'control (renamed)'
 WHERE id = 'a8000000-0000-0000-0002-0000000000a1';
SET ROLE regress_abtest_dashboard;
SELECT count(*) AS variants_the_dashboard_reads FROM abtest.element_variants;
SELECT variant_name FROM abt_experiment_stats('a8000000-0000-0000-0000-0000000000a1') AS loaded_by_dashboard;
RESET ROLE;
SELECT abt_assign('a8000000-0000-0000-0000-0000000000a1', 'visitor-after-dashboard-load', '2024-10-04')
         #>> '{elements,0,variant}' AS new_visitor_variant;
DROP POLICY regress_hide_variants ON abtest.element_variants;
RESET request.jwt.claims;

DROP TABLE crafted;
DELETE FROM abtest.leads WHERE experiment_id::text LIKE 'a8000000-%' OR payload->>'email' = 'no-experiment@example.com';
DELETE FROM abtest.experiments WHERE id::text LIKE 'a8000000-%';
REVOKE ALL ON SCHEMA abtest FROM regress_abtest_dashboard;
REVOKE ALL ON ALL TABLES IN SCHEMA abtest FROM regress_abtest_dashboard;
REVOKE ALL ON SEQUENCE abtest.config_version_seq FROM regress_abtest_dashboard;
REVOKE ALL ON FUNCTION abt_variant_stats(uuid[]), abt_experiment_stats(uuid),
                       abt_timeline(uuid, integer, interval),
                       abt_timeline_variants(uuid, integer, interval)
    FROM regress_abtest_dashboard;
DROP ROLE regress_abtest_dashboard;
DROP ROLE regress_abtest_visitor;
