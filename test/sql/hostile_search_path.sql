--
-- hostile_search_path: a hostile search_path changes nothing.
--
-- abt_assign, abt_assign_batch, abt_assign_bulk and abt_convert run their
-- queries as the extension owner (SECURITY DEFINER, or switching to the
-- owner themselves) with the caller's search_path, and the configuration
-- load (config_cache.c) runs as the tables' owner whoever calls
-- (abt_variant_stats and abt_metric_stats too, whose own queries run as
-- the caller, under the same path).  So every name in every query their C code
-- can run must be schema-qualified: the lookup (also the re-lookup after a
-- lost insert), the configuration load, the new visitor's insert, the
-- statement that creates a new slot's or a new bucket's counter rows, the
-- bulk form's insert and its counts, the first conversion and the event;
-- 1.1 (issue 12): the lookup with namespace and holdout columns, a visitor's
-- pins, a holdout's group and its insert.
-- The other SECURITY DEFINER functions (lead queue, triggers) pin
-- search_path = pg_catalog, pg_temp; they run under the hostile path too.
--
-- A role creates in schema hostile a look-alike of every operator of
-- pg_catalog over the types these queries use (exact operand types), of the
-- functions and the aggregate they call, and of the types they name.  Each
-- look-alike records that it ran, and as whom, in hostile.calls, then does
-- what the real one does, as an attacker's would: only the record shows it
-- ran.  The path puts hostile before pg_catalog.  Tables named like
-- abtest's, with statement triggers recording every write, shadow them in
-- pg_temp (searched first for relations) in round 1 and in hostile (pg_temp
-- last) in round 2.  Each round runs every entry point on experiments of its
-- own (a fresh configuration and a slot without counter rows).
--
-- Then hostile.calls must be empty, the answers as expected, and the real
-- tables must hold exactly what the calls wrote.  Ids: a0000000-....
--
SET client_min_messages = warning;

-- every SECURITY DEFINER function of the extension: each is called below
-- (a new one must be too), as are the visitor functions
SELECT p.oid::regprocedure AS security_definer, p.proconfig
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest') AND d.deptype = 'e'
   AND p.prosecdef
 ORDER BY 1::text;

CREATE ROLE abt_hostile;
CREATE SCHEMA hostile AUTHORIZATION abt_hostile;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;
-- The role may call every visitor and lead queue function (whatever PUBLIC
-- may), and write the tables (it chooses the calls' times, as a trusted
-- server may): what the functions do as their owner must not depend on it.
GRANT USAGE ON SCHEMA abtest TO abt_hostile;
GRANT INSERT ON abtest.assignments, abtest.conversions TO abt_hostile;
GRANT EXECUTE ON FUNCTION abt_assign(uuid, text, timestamptz), abt_assign_batch(uuid[], text, timestamptz),
                          abt_assign_bulk(uuid, text[], timestamptz),
                          abt_convert(uuid, text, text, numeric, timestamptz),
                          abt_lead_capture(jsonb, uuid, text), abt_leads_claim(text, integer, interval),
                          abt_lead_complete(bigint, text), abt_lead_fail(bigint, text, text, boolean),
                          abt_leads_requeue_expired(integer) TO abt_hostile;

-- Experiments: two per round (r = 1, 2), elements "headline" (A, B) and
-- "cta" (X, Y, Z), every weight 1.
CREATE FUNCTION pg_temp.experiment(r int, e int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO abtest.experiments (id, name, status, seed)
    VALUES (format('a0000000-0000-0000-0000-0000000000%s%s', r, e)::uuid, 'hostile ' || r || e, 'active', 'hs' || r || e);
    INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position)
    SELECT format('a0000000-0000-0000-0001-000000000%s%s%s', r, e, el)::uuid,
           format('a0000000-0000-0000-0000-0000000000%s%s', r, e)::uuid,
           (ARRAY['headline', 'cta'])[el], (ARRAY['h1', NULL])[el], el
      FROM generate_series(1, 2) el;
    INSERT INTO abtest.element_variants (id, element_id, name, content, is_control, position)
    SELECT format('a0000000-0000-0000-0002-00000000%s%s%s%s', r, e, el, v)::uuid,
           format('a0000000-0000-0000-0001-000000000%s%s%s', r, e, el)::uuid,
           (ARRAY[ARRAY['A', 'B', NULL], ARRAY['X', 'Y', 'Z']])[el][v], jsonb_build_object('v', v), v = 1, v
      FROM generate_series(1, 2) el, generate_series(1, 3) v
     WHERE v <= el + 1;
$$;
SELECT pg_temp.experiment(r, e) FROM generate_series(1, 2) r, generate_series(1, 2) e;
-- 1.1: experiment 3 of each round is covered by holdout 9 (coverage 1: a
-- new visitor of 3 is looked up in it, then stored in it)
SELECT pg_temp.experiment(r, e) FROM generate_series(1, 2) r, unnest(ARRAY[3, 9]) e;
UPDATE abtest.experiments SET kind = 'holdout', coverage = 1
 WHERE id IN ('a0000000-0000-0000-0000-000000000019', 'a0000000-0000-0000-0000-000000000029');
UPDATE abtest.experiments e SET holdout_id = format('a0000000-0000-0000-0000-0000000000%s9', r)::uuid
  FROM generate_series(1, 2) r WHERE e.id = format('a0000000-0000-0000-0000-0000000000%s3', r)::uuid;
-- 1.1: each experiment takes all of a namespace of its own (the
-- exclusion constraint's expression runs on every write below), and visitor
-- "pinned" is pinned in the first of each round (the forced variant lookup)
UPDATE abtest.experiments SET namespace = 'ns-' || name, namespace_start = 0, namespace_end = 1
 WHERE id::text LIKE 'a0000000-%';
INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id)
SELECT format('a0000000-0000-0000-0000-0000000000%s1', r)::uuid, 'pinned',
       format('a0000000-0000-0000-0001-000000000%s11', r)::uuid,
       format('a0000000-0000-0000-0002-00000000%s112', r)::uuid
  FROM generate_series(1, 2) r;

-- A lost insert, as when a concurrent first call for the visitor commits
-- first: visitors "lost-..." are never stored, so the call falls back to
-- the re-lookup (the visitor is then not enrolled).
CREATE FUNCTION public.abt_hostile_lose_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NEW.user_id LIKE 'lost-%' THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER abt_hostile_lose_insert BEFORE INSERT ON abtest.assignments
    FOR EACH ROW EXECUTE FUNCTION public.abt_hostile_lose_insert();

-- what the calls answered, stored as they come (no operator of ours runs
-- under the hostile path)
CREATE TEMP TABLE answers (n serial, round int, label text, visitor text, answer jsonb);

--
-- The look-alikes.
--
SET ROLE abt_hostile;
CREATE TABLE hostile.calls (what text, by_role name);
GRANT INSERT ON hostile.calls TO PUBLIC;
CREATE FUNCTION hostile.ran(what text) RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO hostile.calls (what, by_role) VALUES (what, current_user) RETURNING true
$$;

-- every operator of pg_catalog over these types, the same operand types
DO $do$
DECLARE
    o record;
    i int := 0;
BEGIN
    FOR o IN
        SELECT oprname, oprleft, oprright, oprresult
          FROM pg_operator
         WHERE oprnamespace = 'pg_catalog'::regnamespace
           AND (oprleft = 0 OR oprleft::regtype = ANY (ARRAY['uuid', 'text', 'int2', 'int4', 'int8', 'float8', 'numeric',
                                                             'timestamptz', 'interval', 'jsonb', 'bool', 'name']::regtype[]))
           AND oprright::regtype = ANY (ARRAY['uuid', 'text', 'int2', 'int4', 'int8', 'float8', 'numeric',
                                              'timestamptz', 'interval', 'jsonb', 'bool', 'name']::regtype[])
         ORDER BY 1, 2, 3
    LOOP
        i := i + 1;
        IF o.oprleft = 0 THEN
            EXECUTE format($f$CREATE FUNCTION hostile.op%s(%s) RETURNS %s LANGUAGE plpgsql AS $b$
                              BEGIN PERFORM hostile.ran(%L); RETURN OPERATOR(pg_catalog.%s) $1; END $b$$f$,
                           i, o.oprright::regtype, o.oprresult::regtype,
                           format('%s %s', o.oprname, o.oprright::regtype), o.oprname);
            EXECUTE format('CREATE OPERATOR hostile.%s (RIGHTARG = %s, FUNCTION = hostile.op%s)',
                           o.oprname, o.oprright::regtype, i);
        ELSE
            EXECUTE format($f$CREATE FUNCTION hostile.op%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS $b$
                              BEGIN PERFORM hostile.ran(%L); RETURN $1 OPERATOR(pg_catalog.%s) $2; END $b$$f$,
                           i, o.oprleft::regtype, o.oprright::regtype, o.oprresult::regtype,
                           format('%s %s %s', o.oprleft::regtype, o.oprname, o.oprright::regtype), o.oprname);
            EXECUTE format('CREATE OPERATOR hostile.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = hostile.op%s)',
                           o.oprname, o.oprleft::regtype, o.oprright::regtype, i);
        END IF;
    END LOOP;
END $do$;
SELECT count(*) > 200 AS operators FROM pg_operator WHERE oprnamespace = 'hostile'::regnamespace;
SELECT count(*) AS shadowed_equalities FROM pg_operator
 WHERE oprnamespace = 'hostile'::regnamespace AND oprname = '='
   AND format('%s, %s', oprleft::regtype, oprright::regtype)
       IN ('uuid, uuid', 'text, text', 'integer, integer', 'timestamp with time zone, timestamp with time zone',
           'bigint, bigint');

-- the functions and the aggregate the queries call, and a few more
CREATE FUNCTION hostile.count_step(bigint) RETURNS bigint LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('count(*)'); RETURN $1 OPERATOR(pg_catalog.+) 1; END$$;
CREATE AGGREGATE hostile.count(*) (SFUNC = hostile.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION hostile.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('unnest(anyarray)'); RETURN QUERY SELECT u FROM pg_catalog.unnest($1) u; END$$;
CREATE FUNCTION hostile.jsonb_each_text(jsonb, OUT key text, OUT value text) RETURNS SETOF record LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('jsonb_each_text(jsonb)'); RETURN QUERY SELECT * FROM pg_catalog.jsonb_each_text($1); END$$;
CREATE FUNCTION hostile.date_bin(interval, timestamptz, timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('date_bin(interval, timestamptz, timestamptz)'); RETURN pg_catalog.date_bin($1, $2, $3); END$$;
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('now()'); RETURN pg_catalog.now(); END$$;
CREATE FUNCTION hostile.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('clock_timestamp()'); RETURN pg_catalog.clock_timestamp(); END$$;
CREATE FUNCTION hostile.length(text) RETURNS integer LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('length(text)'); RETURN pg_catalog.length($1); END$$;
CREATE FUNCTION hostile.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('nextval(regclass)'); RETURN pg_catalog.nextval($1); END$$;
CREATE FUNCTION hostile.gen_random_uuid() RETURNS uuid LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('gen_random_uuid()'); RETURN pg_catalog.gen_random_uuid(); END$$;
CREATE FUNCTION hostile.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('jsonb_typeof(jsonb)'); RETURN pg_catalog.jsonb_typeof($1); END$$;
-- abt_metric_stats' and the 1.1 upgrade's sums
CREATE FUNCTION hostile.sum_numeric_step(numeric, numeric) RETURNS numeric LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('sum(numeric)'); RETURN COALESCE($1, 0) OPERATOR(pg_catalog.+) $2; END$$;
CREATE AGGREGATE hostile.sum(numeric) (SFUNC = hostile.sum_numeric_step, STYPE = numeric);
CREATE FUNCTION hostile.sum_bigint_step(numeric, bigint) RETURNS numeric LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran('sum(bigint)'); RETURN COALESCE($1, 0) OPERATOR(pg_catalog.+) $2; END$$;
CREATE AGGREGATE hostile.sum(bigint) (SFUNC = hostile.sum_bigint_step, STYPE = numeric);

-- types named without a schema resolve here: a cast to one of these runs its check
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['uuid', 'text', 'jsonb', 'timestamptz', 'int4', 'int8', 'float8', 'bool', 'name', 'regclass'] LOOP
        EXECUTE format('CREATE DOMAIN hostile.%s AS pg_catalog.%s CHECK (hostile.ran(%L))', t, t, 'type ' || t);
    END LOOP;
END $do$;
RESET ROLE;

-- tables named like abtest's: in pg_temp (round 1), in hostile (round 2);
-- every write to one is recorded
CREATE FUNCTION hostile.wrote() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN PERFORM hostile.ran(TG_OP OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) TG_ARGV[0]); RETURN NULL; END$$;
ALTER FUNCTION hostile.wrote() OWNER TO abt_hostile;
DO $do$
DECLARE
    t text;
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['pg_temp', 'hostile'] LOOP
        FOREACH t IN ARRAY ARRAY['experiments', 'experiment_elements', 'element_variants', 'assignments',
                                 'conversions', 'leads', 'variant_counters', 'experiment_timeline',
                                 'variant_timeline', 'variant_totals', 'realtime_publications',
                                 'visitor_goals', 'goal_counters', 'forced_variants'] LOOP
            EXECUTE format('CREATE TABLE %s.%s (LIKE abtest.%s)', s, t, t);
            EXECUTE format('CREATE TRIGGER wrote BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s.%s
                            FOR EACH STATEMENT EXECUTE FUNCTION hostile.wrote(%L)', s, t, s || '.' || t);
            EXECUTE format('ALTER TABLE %s.%s OWNER TO abt_hostile', s, t);
            EXECUTE format('GRANT ALL ON %s.%s TO PUBLIC', s, t);
        END LOOP;
    END LOOP;
END $do$;

--
-- The look-alikes are what an unqualified name finds: the expressions the
-- queries use, with the operand types they use, unqualified.
--
SET ROLE abt_hostile;
SET search_path = hostile, pg_catalog, public;
CREATE TEMP TABLE probe AS
SELECT '00000000-0000-0000-0000-000000000001'::pg_catalog.uuid AS id, 'v'::pg_catalog.text AS visitor,
       7 AS slot, 41::bigint AS n, pg_catalog.now() AS at, '{"k": "00000000-0000-0000-0000-000000000001"}'::pg_catalog.jsonb AS map;
SELECT p.id = p.id AS uuid_eq, p.visitor = 'v' AS text_eq, p.slot = 7 AS int_eq, p.at = p.at AS timestamptz_eq,
       p.n + 1 AS bigint_plus_int, p.n + p.n AS bigint_plus_bigint, p.id = ANY (ARRAY[p.id]) AS uuid_any,
       (SELECT count(*) FROM unnest(ARRAY[p.id]) u) AS unnest_count,
       (SELECT e.value::uuid FROM jsonb_each_text(p.map) e) AS each_text_uuid,
       date_bin('15 minutes', p.at, '2000-01-01 00:00:00+00') = date_bin('15 minutes', p.at, '2000-01-01 00:00:00+00') AS date_bin,
       p.visitor::text AS text_cast, (SELECT sum(x.n) FROM pg_temp.probe x) AS bigint_sum,
       (SELECT sum(x.n::numeric) FROM pg_temp.probe x) AS numeric_sum
  FROM pg_temp.probe p;
UPDATE variant_counters SET allocations = 0 WHERE false;
SET search_path = hostile, pg_catalog, public, pg_temp;
INSERT INTO assignments SELECT * FROM pg_temp.assignments WHERE false;
RESET search_path;
RESET ROLE;
SELECT what, count(*) > 0 AS ran FROM hostile.calls GROUP BY 1 ORDER BY 1;
DELETE FROM hostile.calls;
DROP TABLE probe;

--
-- Round 1: search_path = hostile, pg_catalog, public (pg_temp first for
-- relations).  Round 2: hostile, pg_catalog, public, pg_temp.
--
-- Each round, as abt_hostile: new visitors (the configuration load, the
-- insert and, for the slot's first visitor, the counter rows' creation; a
-- later 15-minute bucket creates rollup rows again); a returning visitor; a
-- lost insert; a batch of two experiments (new in the second) and a batch of
-- a returning visitor; a bulk call with new, repeated, returning and lost
-- visitors (inserts, then the counts once), and another adding to the
-- counter and rollup rows the first made; first and later conversions (the
-- rows of the visitor's bucket and of this slot exist), a conversion of an
-- unknown visitor.
--
CREATE FUNCTION pg_temp.round(r int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    e1 pg_catalog.uuid := pg_catalog.format('a0000000-0000-0000-0000-0000000000%s1', r);
    e2 pg_catalog.uuid := pg_catalog.format('a0000000-0000-0000-0000-0000000000%s2', r);
    e3 pg_catalog.uuid := pg_catalog.format('a0000000-0000-0000-0000-0000000000%s3', r);
BEGIN
    -- the caller's path and role are in effect: nothing here may use an
    -- operator or name that resolves through them, so values go straight
    -- into pg_temp.answers
    INSERT INTO pg_temp.answers (round, label, visitor, answer)
    VALUES (r, 'assign', 'v1', public.abt_assign(e1, 'v1', '2024-07-01 10:00:00+00')),
           (r, 'assign', 'v2', public.abt_assign(e1, 'v2', '2024-07-01 10:01:00+00')),
           (r, 'assign again', 'v1', public.abt_assign(e1, 'v1', '2024-07-01 10:02:00+00')),
           (r, 'assign, later bucket', 'v3', public.abt_assign(e1, 'v3', '2024-07-01 10:20:00+00')),
           (r, 'assign, lost insert', 'lost-1', public.abt_assign(e1, 'lost-1', '2024-07-01 10:20:00+00')),
           (r, 'assign, pinned', 'pinned', public.abt_assign(e1, 'pinned', '2024-07-01 10:21:00+00')),
           (r, 'assign, holdout', 'h1', public.abt_assign(e3, 'h1', '2024-07-01 10:22:00+00')),
           (r, 'assign, holdout', 'h2', public.abt_assign(e3, 'h2', '2024-07-01 10:22:00+00')),
           (r, 'assign, holdout', 'h3', public.abt_assign(e3, 'h3', '2024-07-01 10:22:00+00')),
           (r, 'assign, holdout again', 'h1', public.abt_assign(e3, 'h1', '2024-07-01 10:23:00+00')),
           (r, 'batch', 'v4', public.abt_assign_batch(ARRAY[e2, e1], 'v4', '2024-07-01 10:30:00+00')),
           (r, 'batch again', 'v4', public.abt_assign_batch(ARRAY[e1, e2], 'v4', '2024-07-01 10:31:00+00'));
    INSERT INTO pg_temp.answers (round, label, visitor, answer)
    SELECT r, 'bulk', b.user_id, b.assignment
      FROM public.abt_assign_bulk(e2, ARRAY['b1', 'b2', 'b1', 'v4', 'lost-2', 'b3'], '2024-07-01 10:50:00+00') b;
    -- again in the same bucket: the counts add to the rows the first call made
    INSERT INTO pg_temp.answers (round, label, visitor, answer)
    SELECT r, 'bulk, same bucket', b.user_id, b.assignment
      FROM public.abt_assign_bulk(e2, ARRAY['b4', 'b5', 'b6'], '2024-07-01 10:55:00+00') b;
    INSERT INTO pg_temp.answers (round, label, visitor, answer)
    VALUES (r, 'convert', 'v1', pg_catalog.to_jsonb(public.abt_convert(e1, 'v1', 'signup', 5, '2024-07-01 11:00:00+00'))),
           (r, 'convert again', 'v1', pg_catalog.to_jsonb(public.abt_convert(e1, 'v1', 'buy', NULL, '2024-07-01 11:01:00+00'))),
           -- the same goal again: the visitor's total and the sums are updated (1.1)
           (r, 'convert, same goal', 'v1', pg_catalog.to_jsonb(public.abt_convert(e1, 'v1', 'signup', 2.5, '2024-07-01 11:01:30+00'))),
           (r, 'convert', 'b2', pg_catalog.to_jsonb(public.abt_convert(e2, 'b2', 'conversion', NULL, '2024-07-01 11:02:00+00'))),
           (r, 'convert unknown', 'nobody', pg_catalog.to_jsonb(public.abt_convert(e2, 'nobody', 'conversion', NULL, '2024-07-01 11:03:00+00'))),
           (r, 'assign converted', 'v1', public.abt_assign(e1, 'v1', '2024-07-01 11:04:00+00'));
END $$;
GRANT ALL ON answers TO abt_hostile;
GRANT ALL ON SEQUENCE answers_n_seq TO abt_hostile;

SET ROLE abt_hostile;
SET search_path = hostile, pg_catalog, public;
SELECT pg_temp.round(1);
-- the lead queue: capture (with the visitor's variant), claim, complete, fail, requeue
INSERT INTO pg_temp.answers (round, label, answer)
VALUES (1, 'lead capture', pg_catalog.to_jsonb(public.abt_lead_capture('{"email": "a@example.com"}',
                                                                        'a0000000-0000-0000-0000-000000000011', 'v1'))),
       (1, 'lead capture', pg_catalog.to_jsonb(public.abt_lead_capture('{"email": "b@example.com"}')));
INSERT INTO pg_temp.answers (round, label, answer)
SELECT 1, 'leads claim', pg_catalog.to_jsonb(l.status) FROM public.abt_leads_claim('hostile-worker', 2, '1 hour') l;
RESET ROLE;
-- (the role reads no leads: their ids come from here)
SELECT pg_catalog.count(*) AS claimed FROM abtest.leads WHERE claimed_by OPERATOR(pg_catalog.=) 'hostile-worker';
CREATE TEMP TABLE lead_ids AS
SELECT pg_catalog.min(id) AS first, pg_catalog.max(id) AS last FROM abtest.leads
 WHERE claimed_by OPERATOR(pg_catalog.=) 'hostile-worker';
GRANT SELECT ON lead_ids TO abt_hostile;
SET ROLE abt_hostile;
INSERT INTO pg_temp.answers (round, label, answer)
SELECT 1, 'lead complete', pg_catalog.to_jsonb(public.abt_lead_complete(first, 'hostile-worker')) FROM pg_temp.lead_ids
UNION ALL
SELECT 1, 'lead fail', pg_catalog.to_jsonb(public.abt_lead_fail(last, 'hostile-worker', 'oops', true)) FROM pg_temp.lead_ids
UNION ALL
SELECT 1, 'leads requeue', pg_catalog.to_jsonb(public.abt_leads_requeue_expired());
RESET ROLE;

-- the statistics load the configuration as the tables' owner: a new
-- configuration version of each experiment, read under the hostile path;
-- the trigger functions (SECURITY DEFINER) run for these changes too
SET search_path = hostile, pg_catalog, public;
UPDATE abtest.element_variants SET content = '{"v": "edited"}'
 WHERE id OPERATOR(pg_catalog.=) 'a0000000-0000-0000-0002-000000001111';
UPDATE abtest.experiment_elements SET selector = 'h2'
 WHERE id OPERATOR(pg_catalog.=) 'a0000000-0000-0000-0001-000000000121';
INSERT INTO pg_temp.answers (round, label, visitor, answer)
SELECT 1, 'stats', s.variant_name, pg_catalog.jsonb_build_array(s.allocations, s.conversions)
  FROM public.abt_variant_stats('{a0000000-0000-0000-0000-000000000011,a0000000-0000-0000-0000-000000000012}') s;
-- abt_metric_stats (1.1) reads the goal sums too
INSERT INTO pg_temp.answers (round, label, visitor, answer)
SELECT 1, 'metric stats', pg_catalog.concat_ws(' ', s.variant_name, s.goal),
       pg_catalog.jsonb_build_array(s.visitors, s.converters, s.value_sum, s.value_sum_squares)
  FROM public.abt_metric_stats('{a0000000-0000-0000-0000-000000000011,a0000000-0000-0000-0000-000000000012}') s
 WHERE s.metric OPERATOR(pg_catalog.=) 'conversion_rate';

SET ROLE abt_hostile;
SET search_path = hostile, pg_catalog, public, pg_temp;
SELECT pg_temp.round(2);
RESET ROLE;
SET search_path = hostile, pg_catalog, public, pg_temp;
-- an element and a variant added, the experiment paused (its counters are
-- settled), another one deleted
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES ('a0000000-0000-0000-0001-000000000213', 'a0000000-0000-0000-0000-000000000021', 'footer', 3);
INSERT INTO abtest.element_variants (id, element_id, name)
VALUES ('a0000000-0000-0000-0002-000000002131', 'a0000000-0000-0000-0001-000000000213', 'F');
UPDATE abtest.experiments SET status = 'paused' WHERE id OPERATOR(pg_catalog.=) 'a0000000-0000-0000-0000-000000000021';
INSERT INTO pg_temp.answers (round, label, visitor, answer)
SELECT 2, 'stats', s.variant_name, pg_catalog.jsonb_build_array(s.allocations, s.conversions)
  FROM public.abt_variant_stats('{a0000000-0000-0000-0000-000000000021,a0000000-0000-0000-0000-000000000022}') s;
INSERT INTO pg_temp.answers (round, label, visitor, answer)
SELECT 2, 'metric stats', pg_catalog.concat_ws(' ', s.variant_name, s.goal),
       pg_catalog.jsonb_build_array(s.visitors, s.converters, s.value_sum, s.value_sum_squares)
  FROM public.abt_metric_stats('{a0000000-0000-0000-0000-000000000021,a0000000-0000-0000-0000-000000000022}',
                               sequential => true) s
 WHERE s.metric OPERATOR(pg_catalog.=) 'conversion_rate';
-- capping and the Bayesian engine (1.1, issue 23) read abtest.goals,
-- abtest.visitor_goals and abtest.assignments too: a P90 cap of the
-- experiment's visitors (one 7.5 among zeros)
INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value) VALUES
    ('a0000000-0000-0000-0000-000000000021', 'signup', 'percentile', 0.9);
INSERT INTO pg_temp.answers (round, label, visitor, answer)
SELECT 2, 'metric capped', pg_catalog.concat_ws(' ', s.variant_name, s.goal),
       pg_catalog.jsonb_build_array(s.value_sum, s.value_sum_squares, s.cap,
                                    s.chance_to_win IS NOT NULL OR s.is_control)
  FROM public.abt_metric_stats('{a0000000-0000-0000-0000-000000000021,a0000000-0000-0000-0000-000000000022}',
                               goals => '{signup}', engine => 'bayesian') s
 WHERE s.metric OPERATOR(pg_catalog.=) 'value_per_visitor';
DELETE FROM abtest.goals WHERE goal OPERATOR(pg_catalog.=) 'signup';
DELETE FROM abtest.experiments WHERE id OPERATOR(pg_catalog.=) 'a0000000-0000-0000-0000-000000000012';
-- TRUNCATE (1.1): its statement triggers (SECURITY DEFINER) run under the
-- hostile path too: a configuration table alone is refused, the
-- experiments take the per-visitor rows along.  Rolled back (the checks
-- below need the rows), after reading what ran.
BEGIN;
SAVEPOINT alone;
TRUNCATE abtest.goals;
ROLLBACK TO SAVEPOINT alone;
TRUNCATE abtest.experiments CASCADE;
RESET search_path;
SELECT (SELECT count(*) FROM abtest.assignments) AS assignments_after_truncate,
       (SELECT count(*) FROM abtest.goal_counters) AS goal_counters_after_truncate;
SELECT what, by_role, count(*) AS times FROM hostile.calls GROUP BY 1, 2 ORDER BY 1, 2;
ROLLBACK;
-- (the rollback took the RESET back)
RESET search_path;
-- a restore's rebuild of the goal sums (1.1, issue 24) under the hostile
-- path: with row_security off, a statement loading events (here none: the
-- trigger fires once per statement) runs abtest.rebuild_goal_sums(), which
-- moves every goal sum into slot 0 (checked against the events below)
SELECT count(*) > 0 AS goal_sums_in_slots FROM abtest.goal_counters
 WHERE slot <> 0 AND experiment_id::text LIKE 'a0000000-%';
SET search_path = hostile, pg_catalog, public, pg_temp;
SET row_security = off;
INSERT INTO abtest.conversions (experiment_id, user_id)
SELECT c.experiment_id, c.user_id FROM abtest.conversions c WHERE false;
RESET row_security;
RESET search_path;
SELECT count(*) > 0 AS goal_sums_in_slots FROM abtest.goal_counters
 WHERE slot <> 0 AND experiment_id::text LIKE 'a0000000-%';

--
-- Nothing of the role's ran, and no shadow table was written.
--
SELECT what, by_role, count(*) AS times FROM hostile.calls GROUP BY 1, 2 ORDER BY 1, 2;

--
-- The answers.  One line each: status, flags, element=variant.
--
SELECT round, label, visitor,
       CASE jsonb_typeof(answer)
            WHEN 'object' THEN format('%s enrolled=%s new=%s converted=%s [%s]', answer->>'status',
                                      answer->>'enrolled', answer->>'new', coalesce(answer->>'converted', '-'),
                                      (SELECT string_agg((e->>'element') || '=' || (e->>'variant'), ' ' ORDER BY o)
                                         FROM jsonb_array_elements(answer->'elements') WITH ORDINALITY x(e, o)))
            WHEN 'array' THEN (SELECT string_agg(format('%s: %s new=%s [%s]', right(a->>'experiment_id', 2),
                                                        a->>'enrolled', a->>'new',
                                                        (SELECT string_agg(e->>'variant', ' ' ORDER BY o)
                                                           FROM jsonb_array_elements(a->'elements') WITH ORDINALITY x(e, o))),
                                                 '; ' ORDER BY i)
                                 FROM jsonb_array_elements(answer) WITH ORDINALITY y(a, i))
            ELSE answer::text END AS answer
  FROM answers
 WHERE label NOT IN ('stats', 'metric stats', 'metric capped', 'lead capture')
 ORDER BY n;
SELECT round, count(*) AS lead_ids FROM answers WHERE label = 'lead capture' AND jsonb_typeof(answer) = 'number' GROUP BY 1;
SELECT status, claimed_by, attempts, last_error, variant_id IS NOT NULL AS has_variant
  FROM abtest.leads WHERE claimed_by = 'hostile-worker' ORDER BY id;
-- what abt_variant_stats answered under the hostile path: the live counts
SELECT round, visitor AS variant, answer AS "[allocations, conversions]" FROM answers WHERE label = 'stats' ORDER BY n;
-- what abt_metric_stats answered: the goal sums, and capped
SELECT round, visitor AS "variant goal", answer AS "[visitors, converters, value_sum, value_sum_squares]"
  FROM answers WHERE label = 'metric stats' ORDER BY n;
SELECT round, visitor AS "variant goal", answer AS "[capped value_sum, value_sum_squares, cap, chance to win]"
  FROM answers WHERE label = 'metric capped' ORDER BY n;

--
-- The real tables hold exactly what the calls wrote: the assignments, and
-- counters and rollups that agree with them.
--
SELECT right(experiment_id::text, 2) AS exp, user_id, assigned_at, converted_at
  FROM abtest.assignments WHERE experiment_id::text LIKE 'a0000000-%' ORDER BY 1, 2;
SELECT right(experiment_id::text, 2) AS exp, user_id, goal, value, created_at
  FROM abtest.conversions WHERE experiment_id::text LIKE 'a0000000-%' ORDER BY 1, created_at;
SELECT right(t.experiment_id::text, 2) AS exp, v.name, t.total_allocations, t.total_conversions,
       (SELECT count(*) FROM abtest.assignments a
         WHERE a.experiment_id = t.experiment_id AND a.variants->>t.element_id::text = t.variant_id::text) AS rows,
       (SELECT count(a.converted_at) FROM abtest.assignments a
         WHERE a.experiment_id = t.experiment_id AND a.variants->>t.element_id::text = t.variant_id::text) AS converted_rows,
       v.total_allocations AS settled_allocations, v.total_conversions AS settled_conversions
  FROM abtest.variant_totals t JOIN abtest.element_variants v ON v.id = t.variant_id
 WHERE t.experiment_id::text LIKE 'a0000000-%'
 ORDER BY t.experiment_id, t.variant_id;
-- rollups per 15-minute bucket of assigned_at: experiment and variant
SELECT count(*) AS experiment_timeline_mismatches
  FROM (SELECT experiment_id, bucket, sum(assignments) AS n, sum(conversions) AS c
          FROM abtest.experiment_timeline WHERE experiment_id::text LIKE 'a0000000-%' GROUP BY 1, 2) t
  FULL JOIN (SELECT experiment_id, date_bin('15 minutes', assigned_at, '2000-01-01 00:00:00+00') AS bucket,
                    count(*) AS n, count(converted_at) AS c
               FROM abtest.assignments WHERE experiment_id::text LIKE 'a0000000-%' GROUP BY 1, 2) d
    USING (experiment_id, bucket)
 WHERE (t.n, t.c) IS DISTINCT FROM (d.n, d.c);
SELECT count(*) FILTER (WHERE (t.n, t.c) IS DISTINCT FROM (d.n, d.c)) AS variant_timeline_mismatches,
       sum(t.n) AS variant_timeline_assignments, sum(t.c) AS variant_timeline_conversions
  FROM (SELECT experiment_id, variant_id, bucket, sum(assignments) AS n, sum(conversions) AS c
          FROM abtest.variant_rollups WHERE experiment_id::text LIKE 'a0000000-%' GROUP BY 1, 2, 3) t
  FULL JOIN (SELECT a.experiment_id, v.value::uuid AS variant_id,
                    date_bin('15 minutes', a.assigned_at, '2000-01-01 00:00:00+00') AS bucket,
                    count(*) AS n, count(a.converted_at) AS c
               FROM abtest.assignments a, jsonb_each_text(a.variants) v
              WHERE a.experiment_id::text LIKE 'a0000000-%' GROUP BY 1, 2, 3) d
    USING (experiment_id, variant_id, bucket);
-- the goal sums (1.1) agree with the events
SELECT count(*) AS goal_counter_mismatches
  FROM (SELECT experiment_id, variant_id, goal, sum(converters) AS c, sum(value_sum) AS s, sum(value_sum_squares) AS q
          FROM abtest.goal_counters WHERE experiment_id::text LIKE 'a0000000-%' GROUP BY 1, 2, 3) t
  FULL JOIN (SELECT y.experiment_id, v.value::uuid AS variant_id, y.goal, count(*) AS c, sum(y.y) AS s, sum(y.y * y.y) AS q
               FROM (SELECT experiment_id, user_id, goal, sum(coalesce(value, 0)) AS y
                       FROM abtest.conversions WHERE experiment_id::text LIKE 'a0000000-%' GROUP BY 1, 2, 3) y
               JOIN abtest.assignments a USING (experiment_id, user_id), jsonb_each_text(a.variants) v
              GROUP BY 1, 2, 3) d
    USING (experiment_id, variant_id, goal)
 WHERE (t.c, t.s, t.q) IS DISTINCT FROM (d.c, d.s, d.q);
-- the deleted experiment left nothing behind
SELECT (SELECT count(*) FROM abtest.visitor_goals WHERE experiment_id = 'a0000000-0000-0000-0000-000000000012') AS visitor_goals,
       (SELECT count(*) FROM abtest.goal_counters WHERE experiment_id = 'a0000000-0000-0000-0000-000000000012') AS goal_counters;
SELECT (SELECT count(*) FROM abtest.assignments WHERE experiment_id = 'a0000000-0000-0000-0000-000000000012') AS assignments,
       (SELECT count(*) FROM abtest.variant_counters WHERE experiment_id = 'a0000000-0000-0000-0000-000000000012') AS counters,
       (SELECT count(*) FROM abtest.experiment_timeline WHERE experiment_id = 'a0000000-0000-0000-0000-000000000012') AS timeline;

DROP TRIGGER abt_hostile_lose_insert ON abtest.assignments;
DROP FUNCTION public.abt_hostile_lose_insert();
DELETE FROM abtest.leads WHERE id IN (SELECT answer::text::bigint FROM answers WHERE label = 'lead capture');
DELETE FROM abtest.experiments WHERE id::text LIKE 'a0000000-%';
DROP OWNED BY abt_hostile;
DROP ROLE abt_hostile;
