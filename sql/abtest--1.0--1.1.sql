/* abtest 1.0 -> 1.1: what 1.1 adds to and changes in a 1.0 installation */

\echo Use "ALTER EXTENSION abtest UPDATE TO '1.1'" to load this file. \quit

/*
 * There is no full abtest--1.1.sql: CREATE EXTENSION abtest runs
 * abtest--1.0.sql and then this script (PostgreSQL chains an install script
 * and update scripts by itself), and ALTER EXTENSION abtest UPDATE runs this
 * script alone in a database installed at 1.0.  So every statement here runs
 * both on a fresh, empty installation and on a 1.0 database full of rows:
 * a new column needs a default or a backfill that is right for existing
 * rows, a new constraint must hold for them.
 *
 * What goes here: every change of release 1.1, one section per concern:
 * GRANTs and REVOKEs, new tables and columns, new and replaced functions
 * and triggers.
 *
 * The rules of abtest--1.0.sql apply, and it is never edited:
 *  - schema-qualify every reference as 1.0 does: tables as abtest.x,
 *    functions as @extschema@.f (internal ones abtest.f),
 *    built-ins as pg_catalog.f, operators as OPERATOR(pg_catalog.=), so a
 *    hostile search_path changes nothing; SECURITY DEFINER functions get
 *    SET search_path = pg_catalog, pg_temp;
 *  - COMMENT ON every new table and function; explain every GRANT/REVOKE;
 *  - tables holding user data: pg_catalog.pg_extension_config_dump;
 *  - a new realtime table joins the publications listed in
 *    abtest.realtime_publications (a 1.0 database's setting
 *    abtest.publication may have changed since it was installed);
 *  - CREATE OR REPLACE FUNCTION only where the argument types stay (other
 *    argument types make a second function, not a replacement);
 * The newest abtest.so also serves databases still at 1.0 until they are
 * updated: C code must not need an object this script creates without
 * checking for it (or failing with an error that names
 * ALTER EXTENSION abtest UPDATE); test/client/upgrade.sh checks both.
 * Once 1.1 is released this file is frozen too: its sha256 goes into the
 * checksums of test/client/upgrade.sh, and 1.2 gets abtest--1.1--1.2.sql.
 */

/* ----------------------------------------------- Supabase's roles (1.1) */

/*
 * Where Supabase's roles exist (anon, authenticated, service_role), each
 * section below that creates objects first takes from the roles every
 * privilege Supabase's default privileges may have given them on those
 * objects, then grants what each role gets, as abtest--1.0.sql's access
 * model does (docs/access-and-leads.md).  Only the roles that exist when
 * this script runs: a role created later gets nothing (the document lists
 * the GRANTs to run for it).  One helper states how, so that each section
 * lists only its objects and grants:
 *   revoke_all: objects as GRANT names them ('TABLE abtest.goals',
 *     'FUNCTION abtest.f(uuid)'), each REVOKE ALL ... FROM the role;
 *   grants: privileges on objects ('SELECT ON abtest.goals'), each
 *     GRANT ... TO the role, after the revokes.
 * Its arguments are SQL text: only this script calls it (PUBLIC may not),
 * with constants.  It runs as its caller, whose privileges decide.
 */
CREATE FUNCTION abtest.grant_to_roles(roles name[], revoke_all text[] DEFAULT '{}',
                                      grants text[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    role_name name;
    item text;
BEGIN
    FOREACH role_name IN ARRAY roles LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_roles r
                                   WHERE r.rolname OPERATOR(pg_catalog.=) role_name);
        FOREACH item IN ARRAY revoke_all LOOP
            EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %I', item, role_name);
        END LOOP;
        FOREACH item IN ARRAY grants LOOP
            EXECUTE pg_catalog.format('GRANT %s TO %I', item, role_name);
        END LOOP;
    END LOOP;
END $$;
COMMENT ON FUNCTION abtest.grant_to_roles(name[], text[], text[]) IS
'Install and update scripts: for each of the roles that exists, REVOKE ALL on each object of revoke_all, then each GRANT of grants';
-- The scripts' tool, not an API: the owner's (and, as every function, the
-- server side's).
REVOKE ALL ON FUNCTION abtest.grant_to_roles(name[], text[], text[]) FROM PUBLIC;
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated'],
    revoke_all => ARRAY['FUNCTION abtest.grant_to_roles(name[], text[], text[])']);
SELECT abtest.grant_to_roles(ARRAY['service_role'],
    grants => ARRAY['EXECUTE ON FUNCTION abtest.grant_to_roles(name[], text[], text[])']);

/* ------------------------------------ whose rows an owner reaches (1.1) */

/*
 * The row-level security policies of abtest--1.0.sql spell out, table by
 * table, the subquery that finds the owner of a row's experiment.  Citus
 * refuses subqueries in the policies of its tables (abt_distribute(),
 * below), so from 1.1 each policy calls a function that holds the subquery
 * once; being plain SQL (no SET, no SECURITY DEFINER) the planner inlines it
 * back into the same lookup, with "(SELECT abtest.current_owner())"
 * evaluated once per query.  1.0's policies are replaced here; each table
 * 1.1 adds gets its policy where the table is created, in one line that
 * reads as the rule it states.
 */
CREATE FUNCTION abtest.owns_experiment(experiment_id uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) $1
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner()))
$$;
COMMENT ON FUNCTION abtest.owns_experiment(uuid) IS
'Row-level security: the experiment belongs to the session''s owner (abtest.current_owner())';

CREATE FUNCTION abtest.owns_element(element_id uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT FROM abtest.experiment_elements el
                     JOIN abtest.experiments e ON e.id OPERATOR(pg_catalog.=) el.experiment_id
                    WHERE el.id OPERATOR(pg_catalog.=) $1
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner()))
$$;
COMMENT ON FUNCTION abtest.owns_element(uuid) IS
'Row-level security: the element''s experiment belongs to the session''s owner (abtest.current_owner())';

CREATE FUNCTION abtest.is_owner(user_id uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT $1 OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())
$$;
COMMENT ON FUNCTION abtest.is_owner(uuid) IS
'Row-level security: the account is the session''s owner (abtest.current_owner())';

DROP POLICY owner_all ON abtest.experiments;
CREATE POLICY owner_all ON abtest.experiments
    USING (abtest.is_owner(user_id))
    WITH CHECK (abtest.is_owner(user_id));
DROP POLICY owner_all ON abtest.element_variants;
CREATE POLICY owner_all ON abtest.element_variants
    USING (abtest.owns_element(element_id))
    WITH CHECK (abtest.owns_element(element_id));
DROP POLICY owner_all ON abtest.experiment_elements;
CREATE POLICY owner_all ON abtest.experiment_elements
    USING (abtest.owns_experiment(experiment_id))
    WITH CHECK (abtest.owns_experiment(experiment_id));
-- The six tables owners only read: the same policy each, so one loop.
DO $$
DECLARE
    table_name name;
BEGIN
    FOREACH table_name IN ARRAY ARRAY['assignments', 'conversions', 'variant_counters',
                                      'experiment_timeline', 'variant_timeline', 'leads']::name[] LOOP
        EXECUTE pg_catalog.format('DROP POLICY owner_read ON abtest.%I', table_name);
        EXECUTE pg_catalog.format('CREATE POLICY owner_read ON abtest.%I FOR SELECT'
                                  ' USING (abtest.owns_experiment(experiment_id))', table_name);
    END LOOP;
END $$;

/* ------------------------------------------- what a visitor may do (1.1) */

/*
 * The writing functions run as their caller and act as the tables' owner
 * from inside (src/owner.c), so that they can tell a visitor from a trusted
 * caller: one that may INSERT into abtest.assignments (for abt_assign*) or
 * abtest.conversions (for abt_convert) directly, i.e. the extension owner,
 * service_role where it exists, and any role granted that.  Only a trusted
 * caller may pass an `at` other than now(), call abt_assign_batch with more
 * than 50 experiments, or record a conversion outside the experiment's
 * declared goals (abtest.goals below).  Their signatures do not change:
 * SELECT abt_assign(e, v) stays what it was.  They still need no SET
 * search_path: their C code resolves no name through it.
 */
ALTER FUNCTION @extschema@.abt_assign(uuid, text, timestamptz) SECURITY INVOKER;
ALTER FUNCTION @extschema@.abt_assign_batch(uuid[], text, timestamptz) SECURITY INVOKER;
ALTER FUNCTION @extschema@.abt_assign_bulk(uuid, text[], timestamptz) SECURITY INVOKER;
ALTER FUNCTION @extschema@.abt_convert(uuid, text, text, numeric, timestamptz) SECURITY INVOKER;
COMMENT ON FUNCTION @extschema@.abt_assign(uuid, text, timestamptz) IS
'Sticky deterministic assignment of a visitor: the variant of each element, with its content, as jsonb (at: trusted callers only)';
COMMENT ON FUNCTION @extschema@.abt_assign_batch(uuid[], text, timestamptz) IS
'abt_assign for one visitor in several experiments (at most 50 for visitors): a jsonb array of answers in the order given (at: trusted callers only)';
COMMENT ON FUNCTION @extschema@.abt_assign_bulk(uuid, text[], timestamptz) IS
'abt_assign for many visitors of one experiment in one call, rows in the order given (trusted callers only)';
COMMENT ON FUNCTION @extschema@.abt_convert(uuid, text, text, numeric, timestamptz) IS
'Records a conversion: true for the visitor''s first, false for a later one, NULL (nothing recorded) without an assignment (a value within -1e15 and 1e15; visitors: now, declared goals, values from 0)';

-- Many visitors in one request is an import: not for visitors (one call
-- could enrol any number of made-up visitors).
REVOKE ALL ON FUNCTION @extschema@.abt_assign_bulk(uuid, text[], timestamptz) FROM PUBLIC;

/*
 * Goals an experiment declares for visitors' conversions.  Without rows
 * here a visitor's event may name any goal (of at most 64 characters), as
 * in 1.0; with rows, only a declared goal, and a value from 0 to its
 * max_value when that is set, so that one forged value cannot own a
 * revenue metric.  Trusted callers are not limited.  Every value is within
 * the bound of event values, 1e15 (ABT_MAX_EVENT_VALUE, src/rules.h: a
 * visitor's from 0 to 1e15 where no max_value says less, a trusted caller's
 * from -1e15 to 1e15), so that no event can make a goal sum overflow; a
 * max_value is at most that bound.  Part of the experiment's configuration:
 * a change gives the experiment a new config_version, so every backend's
 * cache reloads the goals.  The row also says how abt_metric_stats
 * analyses the goal (issue 23, GrowthBook's per-metric settings): the prior
 * of the Bayesian engine and the capping of the value metric; the analysis
 * reads them in its own snapshot, so a change applies to the next call.
 */
CREATE TABLE abtest.goals (
    experiment_id   uuid        NOT NULL,
    goal            text        NOT NULL,
    max_value       numeric,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- how abt_metric_stats analyses the goal (section "metrics" below)
    prior_proper    boolean     NOT NULL DEFAULT false,
    prior_mean      float8      NOT NULL DEFAULT 0,
    prior_stddev    float8      NOT NULL DEFAULT 0.3,
    cap_type        text,
    cap_value       float8,
    cap_ignore_zeros boolean    NOT NULL DEFAULT false,
    -- CUPED (issue 20): the pre-exposure window of the goal's covariate
    cuped_lookback  interval,
    CONSTRAINT goals_pkey PRIMARY KEY (experiment_id, goal),
    CONSTRAINT goals_experiment_fkey FOREIGN KEY (experiment_id)
        REFERENCES abtest.experiments (id) ON DELETE CASCADE,
    -- ABT_MAX_VISITOR_GOAL_CHARS (src/rules.h): a longer goal could never
    -- come from a visitor (test/sql/visitor_limits.sql holds the two equal)
    CONSTRAINT goals_goal_check CHECK (pg_catalog.length(goal) OPERATOR(pg_catalog.>=) 1
                                       AND pg_catalog.length(goal) OPERATOR(pg_catalog.<=) 64),
    -- at most ABT_MAX_EVENT_VALUE (src/rules.h), the bound of every event
    -- value (test/sql/event_value_bound.sql holds the two equal); NaN and
    -- Infinity sort above it in numeric: this rejects both
    CONSTRAINT goals_max_value_check CHECK (max_value OPERATOR(pg_catalog.>=) 0
                                            AND max_value OPERATOR(pg_catalog.<=) '1e15'::pg_catalog.numeric),
    -- GrowthBook's prior on the relative effect: a finite mean and a finite,
    -- positive stddev (float8's NaN sorts above Infinity: both rejected)
    CONSTRAINT goals_prior_check CHECK (prior_mean OPERATOR(pg_catalog.>) '-Infinity'::pg_catalog.float8
                                        AND prior_mean OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.float8
                                        AND prior_stddev OPERATOR(pg_catalog.>) 0
                                        AND prior_stddev OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.float8),
    -- GrowthBook's capping: none (no value, no ignoring zeros), an absolute
    -- cap (finite, above 0: GrowthBook's 0 means no cap) or a percentile in
    -- (0, 1), which alone may leave zeros out
    CONSTRAINT goals_cap_check CHECK (
        CASE WHEN cap_type IS NULL
             THEN cap_value IS NULL AND NOT cap_ignore_zeros
             WHEN cap_type OPERATOR(pg_catalog.=) 'absolute'
             THEN cap_value IS NOT NULL AND NOT cap_ignore_zeros
                  AND cap_value OPERATOR(pg_catalog.>) 0
                  AND cap_value OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.float8
             WHEN cap_type OPERATOR(pg_catalog.=) 'percentile'
             THEN cap_value IS NOT NULL
                  AND cap_value OPERATOR(pg_catalog.>) 0 AND cap_value OPERATOR(pg_catalog.<) 1
             ELSE false END),
    -- GrowthBook's lookback: some time before the assignment, at most a year
    CONSTRAINT goals_cuped_lookback_check CHECK (
        cuped_lookback OPERATOR(pg_catalog.>) '0'::pg_catalog.interval
        AND cuped_lookback OPERATOR(pg_catalog.<=) '365 days'::pg_catalog.interval)
);
COMMENT ON TABLE abtest.goals IS
'Goals an experiment accepts from visitors'' conversions, with the largest value a visitor may send (none declared: any goal), and how abt_metric_stats analyses each (prior, capping)';
COMMENT ON COLUMN abtest.goals.max_value IS
'Largest value a visitor''s event of this goal may carry (from 0), at most 1e15; NULL: the bound of every event value, 1e15';
COMMENT ON COLUMN abtest.goals.prior_proper IS
'abt_metric_stats(engine => ''bayesian''): a Gaussian prior N(prior_mean, prior_stddev^2) on the relative effect; false: a flat prior (GrowthBook''s default)';
COMMENT ON COLUMN abtest.goals.prior_mean IS 'Mean of the proper prior on the relative effect (0.1: +10%)';
COMMENT ON COLUMN abtest.goals.prior_stddev IS 'Standard deviation of the proper prior on the relative effect, finite and above 0 (GrowthBook''s default 0.3)';
COMMENT ON COLUMN abtest.goals.cap_type IS
'Capping of each visitor''s total before the value sums: NULL (none), ''absolute'' (at cap_value) or ''percentile'' (at that percentile of every assigned visitor''s total)';
COMMENT ON COLUMN abtest.goals.cap_value IS 'The absolute cap (above 0), or the percentile in (0, 1) (0.99: P99)';
COMMENT ON COLUMN abtest.goals.cap_ignore_zeros IS 'Percentile caps only: leave visitors whose total is 0 out of the percentile';
COMMENT ON COLUMN abtest.goals.cuped_lookback IS
'CUPED: a new visitor''s covariate for the goal is the sum of its abt_track events of the goal in [assigned_at - cuped_lookback, assigned_at) (NULL: no covariate; GrowthBook''s default is 14 days)';
SELECT pg_catalog.pg_extension_config_dump('abtest.goals', '');

-- abtest.element_changed() reads only experiment_id: it serves goals too.
CREATE TRIGGER goal_changed AFTER INSERT OR UPDATE OR DELETE ON abtest.goals
    FOR EACH ROW EXECUTE FUNCTION abtest.element_changed();

-- Owners declare the goals of their own experiments (as their elements).
ALTER TABLE abtest.goals ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON abtest.goals
    USING (abtest.owns_experiment(experiment_id))
    WITH CHECK (abtest.owns_experiment(experiment_id));

/*
 * Supabase's roles, when they exist.  As in 1.0, each first loses what
 * Supabase's default privileges may have given it on the new table; then
 * visitors lose the bulk import (1.0 granted it to them), experiment owners
 * get their goals, and the server side gets everything.
 */
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'],
    revoke_all => ARRAY['TABLE abtest.goals']);
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated'],
    revoke_all => ARRAY['FUNCTION @extschema@.abt_assign_bulk(uuid, text[], timestamptz)']);
SELECT abtest.grant_to_roles(ARRAY['authenticated'], grants => ARRAY[
    'SELECT, DELETE ON abtest.goals',
    'INSERT (experiment_id, goal, max_value, created_at, prior_proper, prior_mean, prior_stddev,
             cap_type, cap_value, cap_ignore_zeros, cuped_lookback),
     UPDATE (goal, max_value, prior_proper, prior_mean, prior_stddev, cap_type, cap_value,
             cap_ignore_zeros, cuped_lookback) ON abtest.goals']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY['ALL ON abtest.goals']);

/* ------------------------------- experiments that share a page (1.1, issue 12) */

/*
 * Namespaces (GrowthBook's mutually exclusive experiments).  An experiment
 * may take the range [namespace_start, namespace_end) of a namespace: a new
 * visitor is enrolled only if GrowthBook's inNamespace holds, i.e. hash v1
 * of the visitor with the seed '__' || namespace falls in the range
 * (checked before coverage; an assigned visitor is never re-checked).  All
 * three columns NULL: no namespace, as in 1.0.
 */
ALTER TABLE abtest.experiments
    ADD COLUMN namespace text,
    ADD COLUMN namespace_start float8,
    ADD COLUMN namespace_end float8,
    ADD CONSTRAINT experiments_namespace_all_or_none CHECK (
        (namespace IS NULL) OPERATOR(pg_catalog.=) (namespace_start IS NULL)
        AND (namespace IS NULL) OPERATOR(pg_catalog.=) (namespace_end IS NULL)),
    ADD CONSTRAINT experiments_namespace_name_check CHECK (
        pg_catalog.length(namespace) OPERATOR(pg_catalog.>=) 1
        AND pg_catalog.length(namespace) OPERATOR(pg_catalog.<=) 64),
    -- NaN sorts above every number in float8: "end <= 1" rejects it
    ADD CONSTRAINT experiments_namespace_range_check CHECK (
        namespace_start OPERATOR(pg_catalog.>=) 0::float8
        AND namespace_start OPERATOR(pg_catalog.<) namespace_end
        AND namespace_end OPERATOR(pg_catalog.<=) 1::float8);
COMMENT ON COLUMN abtest.experiments.namespace IS
'Namespace of mutually exclusive experiments (1 to 64 characters), NULL: none; see namespace_start';
COMMENT ON COLUMN abtest.experiments.namespace_start IS
'Start of the experiment''s range [start, end) of its namespace: GrowthBook inNamespace, hash v1 of visitor || ''__'' || namespace';
COMMENT ON COLUMN abtest.experiments.namespace_end IS
'End (exclusive) of the experiment''s range of its namespace, 0 <= start < end <= 1';

/*
 * The slot an experiment takes, as a numrange that overlaps another's
 * exactly when both are in one namespace of one account and their ranges
 * overlap: the account and namespace are numbered injectively (the code
 * points, plus one, as digits of base 0x110001), and the range is added to
 * that whole number; a range lies within [k, k + 1).  Floats become numeric
 * through their shortest exact text (extra_float_digits 1), which keeps
 * their order.  Only the exclusion constraint below uses it (an expression
 * index: PostgreSQL's built-in GiST range support, no btree_gist needed).
 */
CREATE FUNCTION abtest.namespace_slot(owner uuid, namespace text,
                                      range_start float8, range_end float8)
RETURNS pg_catalog.numrange
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 1
AS $$
DECLARE
    name_ text := pg_catalog.concat(owner::text, ':', namespace);
    key_ numeric := 0;
BEGIN
    IF namespace IS NULL OR range_start IS NULL OR range_end IS NULL THEN
        RETURN NULL;
    END IF;
    FOR i IN 1 .. pg_catalog.length(name_) LOOP
        key_ := key_ OPERATOR(pg_catalog.*) 1114113::numeric
                OPERATOR(pg_catalog.+) (pg_catalog.ascii(pg_catalog.substr(name_, i, 1))
                                        OPERATOR(pg_catalog.+) 1)::numeric;
    END LOOP;
    RETURN pg_catalog.numrange(key_ OPERATOR(pg_catalog.+) range_start::text::numeric,
                               key_ OPERATOR(pg_catalog.+) range_end::text::numeric, '[)');
END $$;
COMMENT ON FUNCTION abtest.namespace_slot(uuid, text, float8, float8) IS
'The range an experiment takes of its account''s namespace, as a numrange that only slots of the same account and namespace can overlap (for experiments_namespace_exclusive)';

/*
 * Experiments of one account and namespace whose ranges overlap could share
 * a visitor: rejected (SQLSTATE 23P01), unless one of them is completed (a
 * completed experiment shows nobody a variant, so its range is free again;
 * reopening it checks again).  An exclusion constraint, not a trigger: two
 * transactions that create overlapping ranges at once cannot both commit
 * at any isolation level (the second waits for the first, then fails).
 */
ALTER TABLE abtest.experiments
    ADD CONSTRAINT experiments_namespace_exclusive EXCLUDE USING gist (
        (abtest.namespace_slot(user_id, namespace, namespace_start, namespace_end))
            WITH OPERATOR(pg_catalog.&&))
        WHERE (namespace IS NOT NULL AND status OPERATOR(pg_catalog.<>) 'completed');

-- Names the experiment whose range a write would overlap, before the
-- exclusion constraint's own error (which shows only numeric keys); the
-- constraint stays what decides, concurrent writers included.
CREATE FUNCTION abtest.namespace_overlap_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other record;
BEGIN
    -- a row the CHECK constraints reject: they say why
    IF NEW.namespace_start IS NULL OR NEW.namespace_end IS NULL
       OR NOT (NEW.namespace_start OPERATOR(pg_catalog.>=) 0::float8
               AND NEW.namespace_start OPERATOR(pg_catalog.<) NEW.namespace_end
               AND NEW.namespace_end OPERATOR(pg_catalog.<=) 1::float8) THEN
        RETURN NEW;
    END IF;
    SELECT e.id, e.name, e.namespace_start, e.namespace_end INTO other
      FROM abtest.experiments e
     WHERE abtest.namespace_slot(e.user_id, e.namespace, e.namespace_start, e.namespace_end)
           OPERATOR(pg_catalog.&&)
           abtest.namespace_slot(NEW.user_id, NEW.namespace, NEW.namespace_start, NEW.namespace_end)
       AND e.namespace IS NOT NULL AND e.status OPERATOR(pg_catalog.<>) 'completed'
       AND e.id OPERATOR(pg_catalog.<>) NEW.id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'range [%, %) of namespace "%" overlaps experiment "%" (%), which has [%, %)',
                        NEW.namespace_start, NEW.namespace_end, NEW.namespace,
                        other.name, other.id, other.namespace_start, other.namespace_end
            USING ERRCODE = 'exclusion_violation',
                  CONSTRAINT = 'experiments_namespace_exclusive',
                  HINT = 'Experiments of one namespace that are not completed need ranges that do not overlap.';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION abtest.namespace_overlap_check() IS
'Trigger: a clear error naming the experiment whose namespace range a write would overlap';
CREATE TRIGGER namespace_overlap_check BEFORE INSERT ON abtest.experiments
    FOR EACH ROW WHEN (NEW.namespace IS NOT NULL AND NEW.status OPERATOR(pg_catalog.<>) 'completed')
    EXECUTE FUNCTION abtest.namespace_overlap_check();
CREATE TRIGGER namespace_overlap_check_update BEFORE UPDATE ON abtest.experiments
    FOR EACH ROW WHEN (NEW.namespace IS NOT NULL AND NEW.status OPERATOR(pg_catalog.<>) 'completed'
                       AND (OLD.namespace, OLD.namespace_start, OLD.namespace_end, OLD.status, OLD.user_id)
                           IS DISTINCT FROM
                           (NEW.namespace, NEW.namespace_start, NEW.namespace_end, NEW.status, NEW.user_id))
    EXECUTE FUNCTION abtest.namespace_overlap_check();

-- Whether a visitor is in a namespace range, as abt_assign decides it (for
-- owners' checks and the tests; the server side may call it, PUBLIC not).
CREATE FUNCTION abtest.in_namespace(user_id text, namespace text,
                                    range_start float8, range_end float8)
RETURNS boolean
AS 'MODULE_PATHNAME', 'abt_in_namespace_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION abtest.in_namespace(text, text, float8, float8) IS
'GrowthBook inNamespace: hash v1 ((fnv1a32(user_id || ''__'' || namespace) % 1000) / 1000, UTF-16 code units) in [range_start, range_end)';
REVOKE ALL ON FUNCTION abtest.in_namespace(text, text, float8, float8) FROM PUBLIC;

/*
 * Forced variants: an owner pins a visitor (QA, a sales demo) to a variant
 * of an element.  A pinned visitor sees the pins (other elements: the
 * stored variant, else the one bucketing chooses) in any experiment but a
 * completed one, flagged "forced": true, and nothing is stored or counted,
 * so counters and statistics leave the visitor out.  Deleting the pins
 * restores normal assignment.  Part of the configuration: a change gives the
 * experiment a new config_version, and only experiments with pins pay for
 * looking a visitor's pins up.
 */
CREATE TABLE abtest.forced_variants (
    experiment_id   uuid        NOT NULL,
    user_id         text        NOT NULL,
    element_id      uuid        NOT NULL,
    variant_id      uuid        NOT NULL,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT forced_variants_pkey PRIMARY KEY (experiment_id, user_id, element_id),
    CONSTRAINT forced_variants_experiment_fkey FOREIGN KEY (experiment_id)
        REFERENCES abtest.experiments (id) ON DELETE CASCADE,
    CONSTRAINT forced_variants_element_fkey FOREIGN KEY (element_id)
        REFERENCES abtest.experiment_elements (id) ON DELETE CASCADE,
    CONSTRAINT forced_variants_variant_fkey FOREIGN KEY (variant_id)
        REFERENCES abtest.element_variants (id) ON DELETE CASCADE,
    -- ABT_MAX_ID_CHARS (src/rules.h), as abtest.assignments
    CONSTRAINT forced_variants_user_id_check
        CHECK (pg_catalog.length(user_id) OPERATOR(pg_catalog.>=) 1
               AND pg_catalog.length(user_id) OPERATOR(pg_catalog.<=) 256)
);
COMMENT ON TABLE abtest.forced_variants IS
'Visitors an owner pinned to a variant of an element (QA, demos): shown with "forced": true, never stored or counted';
COMMENT ON COLUMN abtest.forced_variants.variant_id IS
'The pinned variant: one of element_id''s variants, element_id one of experiment_id''s elements';
COMMENT ON COLUMN abtest.forced_variants.note IS 'Why the visitor is pinned (free text)';
SELECT pg_catalog.pg_extension_config_dump('abtest.forced_variants', '');

-- A pin names its variant, element and experiment: they must belong together.
CREATE FUNCTION abtest.forced_variant_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM abtest.element_variants v
                     JOIN abtest.experiment_elements el
                       ON el.id OPERATOR(pg_catalog.=) v.element_id
                    WHERE v.id OPERATOR(pg_catalog.=) NEW.variant_id
                      AND el.id OPERATOR(pg_catalog.=) NEW.element_id
                      AND el.experiment_id OPERATOR(pg_catalog.=) NEW.experiment_id) THEN
        RAISE EXCEPTION 'variant % is not a variant of element % of experiment %',
                        NEW.variant_id, NEW.element_id, NEW.experiment_id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Pin a visitor to one of the variants of an element of the same experiment.';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION abtest.forced_variant_check() IS
'Trigger: a pin''s variant belongs to its element, and the element to its experiment';
CREATE TRIGGER forced_variant_check BEFORE INSERT OR UPDATE ON abtest.forced_variants
    FOR EACH ROW EXECUTE FUNCTION abtest.forced_variant_check();

-- abtest.element_changed() reads only experiment_id: it serves pins too.
CREATE TRIGGER forced_variant_changed AFTER INSERT OR UPDATE OR DELETE ON abtest.forced_variants
    FOR EACH ROW EXECUTE FUNCTION abtest.element_changed();

-- Owners pin visitors of their own experiments (as their elements).
ALTER TABLE abtest.forced_variants ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON abtest.forced_variants
    USING (abtest.owns_experiment(experiment_id))
    WITH CHECK (abtest.owns_experiment(experiment_id));

/*
 * Holdouts (GrowthBook's, with the differences the README lists).  A
 * holdout is an experiment row of kind 'holdout' of an account, with one
 * element whose control is the holdout group and whose other variant is the
 * comparison group, equal weights, and coverage twice the held-out share
 * (0.1 for GrowthBook's default 5%).  An experiment covered by it
 * (holdout_id) enrols it first for every new visitor: a visitor in the
 * holdout group sees the control of every element of every covered
 * experiment and is stored in none of them; a visitor in the comparison
 * group is enrolled normally.  Both groups are stored and counted in the
 * holdout itself, so abt_variant_stats(holdout) reports comparison against
 * holdout like any experiment (conversions: abt_convert(holdout, ...)).
 */
ALTER TABLE abtest.experiments
    ADD COLUMN kind text NOT NULL DEFAULT 'experiment',
    ADD COLUMN holdout_id uuid,
    ADD CONSTRAINT experiments_kind_check
        CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['experiment', 'holdout']::text[])),
    ADD CONSTRAINT experiments_holdout_fkey FOREIGN KEY (holdout_id)
        REFERENCES abtest.experiments (id) ON DELETE SET NULL;
COMMENT ON COLUMN abtest.experiments.kind IS
'experiment, or holdout: a share of the account''s visitors held out of the experiments that name it in holdout_id';
COMMENT ON COLUMN abtest.experiments.holdout_id IS
'The holdout (kind holdout, same account) that holds its share of visitors out of this experiment; NULL: none';

-- A holdout covers experiments of its own account, and is not itself covered.
-- An AFTER trigger: it checks at the end of the statement, so a restore's
-- COPY may load an experiment before its holdout.
CREATE FUNCTION abtest.holdout_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.holdout_id IS NOT NULL THEN
        IF NEW.kind OPERATOR(pg_catalog.<>) 'experiment' THEN
            RAISE EXCEPTION 'a holdout cannot be covered by a holdout'
                USING ERRCODE = 'check_violation';
        END IF;
        IF NOT EXISTS (SELECT FROM abtest.experiments h
                        WHERE h.id OPERATOR(pg_catalog.=) NEW.holdout_id
                          AND h.kind OPERATOR(pg_catalog.=) 'holdout'
                          AND h.user_id IS NOT DISTINCT FROM NEW.user_id) THEN
            RAISE EXCEPTION 'experiment % is not a holdout of the same account', NEW.holdout_id
                USING ERRCODE = 'foreign_key_violation',
                      HINT = 'Name an experiment of kind holdout with the same user_id.';
        END IF;
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND OLD.kind OPERATOR(pg_catalog.=) 'holdout'
       AND (NEW.kind OPERATOR(pg_catalog.<>) 'holdout' OR NEW.user_id IS DISTINCT FROM OLD.user_id)
       AND EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.holdout_id OPERATOR(pg_catalog.=) OLD.id) THEN
        RAISE EXCEPTION 'holdout % still covers experiments', OLD.id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Clear holdout_id of the experiments it covers first.';
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.holdout_check() IS
'Trigger: holdout_id names a holdout of the same account; a holdout that covers experiments stays one';
CREATE TRIGGER holdout_check AFTER INSERT OR UPDATE OF holdout_id, kind, user_id ON abtest.experiments
    FOR EACH ROW EXECUTE FUNCTION abtest.holdout_check();

/*
 * The visitor functions at 1.1 run new C symbols (src/assign.c: the 1.0
 * symbols keep 1.0's queries for databases not yet updated, which lack the
 * columns and table above).  CREATE OR REPLACE with the same signature keeps
 * each function's OID, comment and grants; every property is restated.
 */
CREATE OR REPLACE FUNCTION @extschema@.abt_assign(experiment_id uuid, user_id text,
                                                   at timestamptz DEFAULT pg_catalog.now())
RETURNS jsonb
AS 'MODULE_PATHNAME', 'abt_assign_1_1'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY INVOKER;
CREATE OR REPLACE FUNCTION @extschema@.abt_assign_batch(experiment_ids uuid[], user_id text,
                                                         at timestamptz DEFAULT pg_catalog.now())
RETURNS jsonb
AS 'MODULE_PATHNAME', 'abt_assign_batch_1_1'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY INVOKER;
CREATE OR REPLACE FUNCTION @extschema@.abt_assign_bulk(experiment_id uuid, user_ids text[],
                                                        at timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (user_id text, assignment jsonb)
AS 'MODULE_PATHNAME', 'abt_assign_bulk_1_1'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY INVOKER
ROWS 1000;

/*
 * Supabase's roles, when they exist: each first loses what Supabase's
 * default privileges may have given it on the new table and functions;
 * experiment owners get their pins and the namespace and holdout columns
 * of their experiments, the server side everything.  abtest.namespace_slot keeps PUBLIC's EXECUTE: whoever
 * writes abtest.experiments evaluates the constraint's expression.
 */
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'],
    revoke_all => ARRAY['TABLE abtest.forced_variants']);
SELECT abtest.grant_to_roles(ARRAY['authenticated'], grants => ARRAY[
    'INSERT (namespace, namespace_start, namespace_end, kind, holdout_id),
     UPDATE (namespace, namespace_start, namespace_end, kind, holdout_id) ON abtest.experiments',
    'SELECT, DELETE ON abtest.forced_variants',
    'INSERT (experiment_id, user_id, element_id, variant_id, note, created_at),
     UPDATE (element_id, variant_id, note) ON abtest.forced_variants']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'ALL ON abtest.forced_variants',
    'EXECUTE ON FUNCTION abtest.in_namespace(text, text, float8, float8)']);

/* ---------------------------------------------------------- metrics (1.1) */

/*
 * Per-goal metrics (abt_metric_stats, README "Metrics").  The unit is the
 * visitor: for a goal, y is the sum of the visitor's event values (NULL
 * counts 0).  abt_convert keeps, in the statement that records the event:
 *  - the visitor's running total y and event count per goal
 *    (abtest.visitor_goals), whose row also serialises concurrent events of
 *    one visitor and goal;
 *  - per variant and goal, striped by backend slot as variant_counters
 *    (abtest.goal_counters): visitors with an event of the goal, the sum of
 *    their y and the sum of y^2 (an event of value v moves a visitor from
 *    y - v to y: + y^2 - (y - v)^2).
 * So the statistics read a few rows per variant and goal, never the events,
 * and abt_assign writes nothing more.  Both tables are keyed by
 * experiment_id first (the distribution column on Citus) and carry no
 * foreign key, as the other per-visitor tables; experiment_metrics_deleted()
 * removes their rows with the experiment.
 */
CREATE TABLE abtest.visitor_goals (
    experiment_id   uuid    NOT NULL,
    user_id         text    NOT NULL,
    goal            text    NOT NULL,
    value_total     numeric NOT NULL DEFAULT 0,
    events          bigint  NOT NULL DEFAULT 0,
    CONSTRAINT visitor_goals_pkey PRIMARY KEY (experiment_id, user_id, goal)
);
COMMENT ON TABLE abtest.visitor_goals IS
'Per visitor and goal: the sum of the visitor''s event values (NULL counts 0) and the number of events (abt_convert keeps it)';
COMMENT ON COLUMN abtest.visitor_goals.value_total IS
'The visitor''s y for the goal: the sum of its events'' values';

CREATE TABLE abtest.goal_counters (
    experiment_id       uuid    NOT NULL,
    slot                integer NOT NULL,
    variant_id          uuid    NOT NULL,
    goal                text    NOT NULL,
    converters          bigint  NOT NULL DEFAULT 0,
    value_sum           numeric NOT NULL DEFAULT 0,
    value_sum_squares   numeric NOT NULL DEFAULT 0,
    -- CUPED (issue 20, abt_track): x, the visitor's pre-exposure value
    covariate_visitors  bigint  NOT NULL DEFAULT 0,
    covariate_sum       numeric NOT NULL DEFAULT 0,
    covariate_sum_squares numeric NOT NULL DEFAULT 0,
    covariate_converters bigint NOT NULL DEFAULT 0,
    cross_sum           numeric NOT NULL DEFAULT 0,
    cross_converters    bigint  NOT NULL DEFAULT 0,
    CONSTRAINT goal_counters_pkey PRIMARY KEY (experiment_id, slot, variant_id, goal)
) WITH (fillfactor = 50);
COMMENT ON TABLE abtest.goal_counters IS
'Per variant and goal: visitors with an event of the goal, sum of their values y and of y^2; one row per writing backend slot (slot 0: abtest.rebuild_goal_sums(), the update''s or a restore''s); sum over slots';

/*
 * Not registered with pg_extension_config_dump, unlike the other tables:
 * both hold derived data, exactly what abtest.rebuild_goal_sums() computes
 * from abtest.conversions and abtest.assignments (section "Hardening
 * (issue 24): goal sums after a restore", at the end).  A dump cannot be
 * relied on for them: pg_dump writes CREATE EXTENSION without a version,
 * so a dump of 1.0 restores into 1.1 (this update then ran on empty
 * tables) with no rows of them.  Instead every restore rebuilds them once
 * it has loaded the events (the trigger goal_sums_after_restore), whatever
 * version the dump came from; rows a dump carried as well would collide
 * with the rebuilt ones.  A 1.0 database's update fills them at the end of
 * this script.
 */

-- Owners read their experiments' rows; only abt_convert writes them.
ALTER TABLE abtest.visitor_goals ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.goal_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_read ON abtest.visitor_goals FOR SELECT
    USING (abtest.owns_experiment(experiment_id));
CREATE POLICY owner_read ON abtest.goal_counters FOR SELECT
    USING (abtest.owns_experiment(experiment_id));

-- Removes a deleted experiment's metric rows (no foreign key, as
-- experiment_deleted() for the 1.0 tables).  Runs as the extension owner:
-- an owner deletes the experiment but may not write these tables.
CREATE FUNCTION abtest.experiment_metrics_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM abtest.visitor_goals WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    DELETE FROM abtest.goal_counters WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    DELETE FROM abtest.visitor_covariates WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    RETURN OLD;
END $$;
COMMENT ON FUNCTION abtest.experiment_metrics_deleted() IS
'Trigger: deleting an experiment deletes its visitor_goals, goal_counters and visitor_covariates rows';
CREATE TRIGGER experiment_metrics_deleted AFTER DELETE ON abtest.experiments
    FOR EACH ROW EXECUTE FUNCTION abtest.experiment_metrics_deleted();

/*
 * abt_convert's 1.1 behaviour has its own C symbol: the event and the sums
 * above in one statement.  The 1.0 symbol keeps writing the event alone, so
 * that the same library serves a database still at 1.0 (which has no such
 * tables).  Same signature and defaults: the function keeps its oid, its
 * grants and its comment; it runs as its caller (the section "what a
 * visitor may do" above).
 */
CREATE OR REPLACE FUNCTION @extschema@.abt_convert(experiment_id uuid, user_id text,
                                                    goal text DEFAULT 'conversion',
                                                    value numeric DEFAULT NULL,
                                                    at timestamptz DEFAULT pg_catalog.now())
RETURNS boolean
AS 'MODULE_PATHNAME', 'abt_convert_1_1'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY INVOKER;

/*
 * The analytics of goals.  Runs as the caller, like abt_variant_stats:
 * row-level security decides whose experiments a dashboard role sees.
 */
CREATE FUNCTION @extschema@.abt_metric_stats(experiment_ids uuid[], goals text[] DEFAULT NULL,
                                              sequential boolean DEFAULT false,
                                              alpha float8 DEFAULT 0.05,
                                              engine text DEFAULT 'frequentist',
                                              cuped boolean DEFAULT true)
RETURNS TABLE (experiment_id uuid, status text, element_id uuid, element_name text,
               variant_id uuid, variant_name text, is_control boolean, goal text, metric text,
               visitors bigint, converters bigint, value_sum numeric, value_sum_squares numeric,
               mean float8, variance float8, uplift float8, ci_low float8, ci_high float8,
               p_value float8, chance_to_beat_control float8, p_value_holm float8,
               p_value_bh float8, is_sequential boolean, chance_to_win float8,
               risk_control float8, risk_variant float8, cap float8,
               cuped boolean, theta float8, covariate_mean float8)
AS 'MODULE_PATHNAME', 'abt_metric_stats'
LANGUAGE C STABLE PARALLEL SAFE SECURITY INVOKER
ROWS 24;
COMMENT ON FUNCTION @extschema@.abt_metric_stats(uuid[], text[], boolean, float8, text, boolean) IS
'Live per-goal results (conversion rate and value per visitor, capped as abtest.goals says) of several experiments against each element''s control: GrowthBook''s frequentist t-test on the relative uplift, fixed-horizon or sequential, with Holm and BH adjusted p-values, or its Bayesian engine (engine => ''bayesian'': chance to win, risks, credible interval); CUPED (GrowthBook''s regression adjustment on the visitors'' pre-exposure values) for goals with a cuped_lookback, unless cuped => false';

/*
 * Power (issue 23): for one goal, each variant against its element's
 * control at the current sample size (the same numbers as
 * abt_metric_stats, capping included), and sample sizes for planning.
 * abt_sample_size is a pure function: anyone may call it.
 */
CREATE FUNCTION @extschema@.abt_metric_power(experiment_ids uuid[], goal text, mde float8,
                                              alpha float8 DEFAULT 0.05)
RETURNS TABLE (experiment_id uuid, element_id uuid, variant_id uuid, metric text,
               power float8, mde_at_80 float8)
AS 'MODULE_PATHNAME', 'abt_metric_power'
LANGUAGE C STABLE PARALLEL SAFE SECURITY INVOKER
ROWS 4;
COMMENT ON FUNCTION @extschema@.abt_metric_power(uuid[], text, float8, float8) IS
'Power of the two-sided frequentist test of each variant against its control for a relative effect mde at the current sample size, and the relative effect it detects with 80% power (GrowthBook''s gbstats/power formulas)';

CREATE FUNCTION @extschema@.abt_sample_size(mean float8, variance float8, mde float8,
                                             alpha float8 DEFAULT 0.05, power float8 DEFAULT 0.8,
                                             variants integer DEFAULT 2)
RETURNS bigint
AS 'MODULE_PATHNAME', 'abt_sample_size'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abt_sample_size(float8, float8, float8, float8, float8, integer) IS
'Visitors per variant for a two-sided test to detect the relative effect mde of a metric with this mean and variance at this power (GrowthBook''s power calculator; no correction for the number of variants)';

/*
 * The engine alone, on aggregates from anywhere (A: control, B: variant).
 * tuning is the sequential N* (abt_metric_stats takes it from the setting
 * abtest.sequential_tuning, whose default is this 5000: test/sql/metrics.sql
 * holds the two equal).  Pure functions: anyone may call them.
 */
CREATE FUNCTION @extschema@.abt_mean_test(n_a bigint, sum_a float8, sum_squares_a float8,
                                           n_b bigint, sum_b float8, sum_squares_b float8,
                                           sequential boolean DEFAULT false,
                                           alpha float8 DEFAULT 0.05, tuning float8 DEFAULT 5000,
                                           OUT mean_a float8, OUT variance_a float8,
                                           OUT mean_b float8, OUT variance_b float8,
                                           OUT uplift float8, OUT se float8, OUT dof float8,
                                           OUT p_value float8, OUT ci_low float8, OUT ci_high float8,
                                           OUT chance_to_beat_control float8)
RETURNS record
AS 'MODULE_PATHNAME', 'abt_mean_test'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abt_mean_test(bigint, float8, float8, bigint, float8, float8, boolean, float8, float8) IS
'GrowthBook''s t-test of a mean metric (n, sum, sum of squares per variant) on the relative uplift of B over A';

CREATE FUNCTION @extschema@.abt_proportion_test(n_a bigint, converters_a bigint,
                                                 n_b bigint, converters_b bigint,
                                                 sequential boolean DEFAULT false,
                                                 alpha float8 DEFAULT 0.05, tuning float8 DEFAULT 5000,
                                                 OUT mean_a float8, OUT variance_a float8,
                                                 OUT mean_b float8, OUT variance_b float8,
                                                 OUT uplift float8, OUT se float8, OUT dof float8,
                                                 OUT p_value float8, OUT ci_low float8, OUT ci_high float8,
                                                 OUT chance_to_beat_control float8)
RETURNS record
AS 'MODULE_PATHNAME', 'abt_proportion_test'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abt_proportion_test(bigint, bigint, bigint, bigint, boolean, float8, float8) IS
'GrowthBook''s test of a conversion rate (visitors, converters per variant) on the relative uplift of B over A';

-- Results are the experiment owners' business (as abt_variant_stats).
REVOKE ALL ON FUNCTION @extschema@.abt_metric_stats(uuid[], text[], boolean, float8, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_metric_power(uuid[], text, float8, float8) FROM PUBLIC;

/*
 * Supabase's roles, when they exist: each first loses what Supabase's
 * default privileges may have given it on the new objects; then experiment
 * owners read their metric rows and get the analytics, the server side
 * everything.  The pure test functions and abt_sample_size stay executable
 * by PUBLIC.
 */
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'], revoke_all => ARRAY[
    'TABLE abtest.visitor_goals, abtest.goal_counters',
    'FUNCTION @extschema@.abt_metric_stats(uuid[], text[], boolean, float8, text, boolean),
              @extschema@.abt_metric_power(uuid[], text, float8, float8), abtest.experiment_metrics_deleted()']);
SELECT abtest.grant_to_roles(ARRAY['authenticated'], grants => ARRAY[
    'SELECT ON abtest.visitor_goals, abtest.goal_counters',
    'EXECUTE ON FUNCTION @extschema@.abt_metric_stats(uuid[], text[], boolean, float8, text, boolean),
                         @extschema@.abt_metric_power(uuid[], text, float8, float8)']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'ALL ON abtest.visitor_goals, abtest.goal_counters',
    'EXECUTE ON FUNCTION @extschema@.abt_metric_stats(uuid[], text[], boolean, float8, text, boolean),
                         @extschema@.abt_metric_power(uuid[], text, float8, float8),
                         abtest.experiment_metrics_deleted()']);

/* ----------------------------------- many conversions in one call (1.1, issue 22) */

/*
 * The bulk form of abt_convert, for imports (as abt_assign_bulk is
 * abt_assign's): row i is abt_convert(experiment_id, user_ids[i], goals[i],
 * "values"[i], ats[i]), rows in the order given.  A NULL array means the
 * default for every row (goal 'conversion', no value, now()); an array
 * shorter than user_ids is an error, not padding.  N rows cost O(N): the
 * counts of a transaction's later conversions are kept in the backend and
 * written once per row they touch (src/deltas.c).  Not for visitors: one
 * call could record any number of made-up events; abt_convert's own rules
 * (declared goals, bounds, who may pass an at) apply to every row.
 */
CREATE FUNCTION @extschema@.abt_convert_bulk(experiment_id uuid, user_ids text[],
                                              goals text[] DEFAULT NULL,
                                              "values" numeric[] DEFAULT NULL,
                                              ats timestamptz[] DEFAULT NULL)
RETURNS TABLE (user_id text, first_conversion boolean)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
ROWS 1000 AS $$
DECLARE
    n integer := pg_catalog.cardinality(user_ids);
BEGIN
    IF user_ids IS NULL
       OR (goals IS NOT NULL AND pg_catalog.cardinality(goals) OPERATOR(pg_catalog.<>) n)
       OR ("values" IS NOT NULL AND pg_catalog.cardinality("values") OPERATOR(pg_catalog.<>) n)
       OR (ats IS NOT NULL AND pg_catalog.cardinality(ats) OPERATOR(pg_catalog.<>) n) THEN
        RAISE EXCEPTION 'abt_convert_bulk: user_ids must not be NULL, and goals, values and ats must be NULL or as long as user_ids (%)', n
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT u.id, @extschema@.abt_convert(abt_convert_bulk.experiment_id, u.id,
                                         COALESCE(u.goal, 'conversion'), u.value,
                                         COALESCE(u.at, pg_catalog.now()))
      FROM ROWS FROM (pg_catalog.unnest(user_ids), pg_catalog.unnest(goals),
                      pg_catalog.unnest("values"), pg_catalog.unnest(ats)) AS u(id, goal, value, at);
END $$;
COMMENT ON FUNCTION @extschema@.abt_convert_bulk(uuid, text[], text[], numeric[], timestamptz[]) IS
'abt_convert for many events of one experiment in one call, rows in the order given (NULL arrays: the defaults; trusted callers only)';
REVOKE ALL ON FUNCTION @extschema@.abt_convert_bulk(uuid, text[], text[], numeric[], timestamptz[]) FROM PUBLIC;
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated'], revoke_all => ARRAY[
    'FUNCTION @extschema@.abt_convert_bulk(uuid, text[], text[], numeric[], timestamptz[])']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'EXECUTE ON FUNCTION @extschema@.abt_convert_bulk(uuid, text[], text[], numeric[], timestamptz[])']);

/* ------------------- one event for every experiment, CUPED's history (1.1, issue 20) */

/*
 * abt_track(user_id, goal, value, at) records one event of a visitor in
 * every experiment where the visitor has an assignment made at or before
 * the event, as abt_convert would in each (docs/conversions.md).  It also
 * keeps the event as pre-exposure history when some experiment declares
 * its goal with a CUPED lookback (abtest.goals.cuped_lookback): a new
 * visitor of such an experiment takes, per goal with a lookback, its
 * covariate x from that history (the sum of its values in
 * [assigned_at - lookback, assigned_at), and whether there was any), kept
 * in abtest.visitor_covariates and summed into goal_counters' covariate
 * columns; each later event of the goal adds x times its value to
 * cross_sum (and 1 to cross_converters when the visitor becomes a
 * converter with a covariate flag of 1).  abt_metric_stats reads the sums
 * only.  Events of goals no experiment looks back on are not kept.
 */
CREATE TABLE abtest.visitor_events (
    user_id     text        NOT NULL,
    goal        text        NOT NULL,
    value       numeric,
    at          timestamptz NOT NULL,
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    -- a new visitor's window of a goal: one range scan of the key (user_id
    -- first: the distribution column on Citus)
    CONSTRAINT visitor_events_pkey PRIMARY KEY (user_id, goal, at, id)
);
COMMENT ON TABLE abtest.visitor_events IS
'abt_track''s events of goals some experiment declares with a CUPED lookback: the history a new visitor''s covariates are taken from';
SELECT pg_catalog.pg_extension_config_dump('abtest.visitor_events', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.visitor_events_id_seq', '');

CREATE TABLE abtest.visitor_covariates (
    experiment_id   uuid    NOT NULL,
    user_id         text    NOT NULL,
    goal            text    NOT NULL,
    covariate       numeric NOT NULL DEFAULT 0,
    had_event       boolean NOT NULL DEFAULT false,
    CONSTRAINT visitor_covariates_pkey PRIMARY KEY (experiment_id, user_id, goal)
);
COMMENT ON TABLE abtest.visitor_covariates IS
'Per visitor and goal with a CUPED lookback, taken at its assignment: x, the sum of its history''s values in the lookback window (NULL counts 0), and whether it had an event there';
-- kept by pg_dump: its rows are not derivable once the history is gone;
-- abtest.rebuild_goal_sums() sums them again into goal_counters
SELECT pg_catalog.pg_extension_config_dump('abtest.visitor_covariates', '');

-- abt_track's check whether an event is history: one probe of a small index
CREATE INDEX goals_cuped_goal ON abtest.goals (goal)
    WHERE cuped_lookback IS NOT NULL;

-- History is the server side's; owners read their experiments' covariates.
ALTER TABLE abtest.visitor_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.visitor_covariates ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_read ON abtest.visitor_covariates FOR SELECT
    USING (abtest.owns_experiment(experiment_id));

/*
 * abt_track runs as its caller and acts as the tables' owner from inside
 * (src/owner.c), as abt_convert: a caller that may INSERT into
 * abtest.conversions is trusted (any time, goal and value within 1e15 in
 * absolute value); anyone else is a visitor: now(), a value from 0 to the
 * goal's max_value (else 1e15), attributed only to experiments that accept
 * the goal (docs/conversions.md).  Visitors need it: PUBLIC keeps EXECUTE,
 * as for abt_convert.
 */
CREATE FUNCTION @extschema@.abt_track(user_id text, goal text, value numeric DEFAULT NULL,
                                      at timestamptz DEFAULT pg_catalog.now())
RETURNS integer
AS 'MODULE_PATHNAME', 'abt_track'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY INVOKER;
COMMENT ON FUNCTION @extschema@.abt_track(text, text, numeric, timestamptz) IS
'Records one event of a visitor in every experiment where it was assigned at or before the event (as abt_convert in each), keeps it as CUPED history when a goal looks back on it; returns the number of experiments counted (visitors: now, declared goals, values from 0)';

/*
 * Supabase's roles, when they exist: each first loses what Supabase's
 * default privileges may have given it; visitors and signed-in users get
 * abt_track (as abt_convert), owners read their covariates, the server
 * side gets everything.
 */
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'], revoke_all => ARRAY[
    'TABLE abtest.visitor_events, abtest.visitor_covariates',
    'FUNCTION @extschema@.abt_track(text, text, numeric, timestamptz)']);
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'], grants => ARRAY[
    'EXECUTE ON FUNCTION @extschema@.abt_track(text, text, numeric, timestamptz)']);
SELECT abtest.grant_to_roles(ARRAY['authenticated'], grants => ARRAY[
    'SELECT ON abtest.visitor_covariates']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'ALL ON abtest.visitor_events, abtest.visitor_covariates']);

/* ------------------------------------------- the settler (1.1, issue 11) */

/*
 * The settler (src/settle.c, src/settler.c) folds the striped counters:
 * each round, per experiment with slot rows, it adds the slot rows (slots
 * 1 and up: backend ids) of variant_counters, and of the rollups' closed
 * 15-minute buckets, into slot 0 rows, deletes them, and copies the live
 * totals into element_variants, all in one transaction.  Readers that sum
 * all rows (abtest.variant_totals, abt_variant_stats, abt_timeline) are
 * exact at every instant, and read slot 0 plus the few live rows.
 *
 * The settler finds the slot rows through these partial indexes: they hold
 * only rows not folded yet, so they stay small.  A visitor's UPDATE of its
 * slot's row changes no indexed column (a HOT update); only the creation of
 * a slot row (once per interval per backend and experiment) inserts into
 * them.
 */
CREATE INDEX variant_counters_unsettled ON abtest.variant_counters (experiment_id)
    WHERE slot OPERATOR(pg_catalog.<>) 0;
CREATE INDEX experiment_timeline_unsettled ON abtest.experiment_timeline (experiment_id)
    WHERE slot OPERATOR(pg_catalog.<>) 0;
CREATE INDEX variant_timeline_unsettled ON abtest.variant_timeline (experiment_id)
    WHERE slot OPERATOR(pg_catalog.<>) 0;
CREATE INDEX goal_counters_unsettled ON abtest.goal_counters (experiment_id)
    WHERE slot OPERATOR(pg_catalog.<>) 0;

/*
 * abt_timeline corrects the window's partial first 15-minute rollup from the
 * assignments themselves (at most 15 minutes of one experiment's): the
 * unconverted ones through idx_assignments_unconverted (experiment_id,
 * assigned_at DESC) WHERE converted_at IS NULL, the converted ones through
 * this index, so that the read is two index ranges whatever the heap's
 * order, the table's size or its statistics.  A new visitor's row is not in
 * it (converted_at is NULL); a first conversion adds one entry (its UPDATE
 * was never HOT: the other index's predicate names converted_at).
 */
CREATE INDEX assignments_converted ON abtest.assignments (experiment_id, assigned_at)
    WHERE converted_at IS NOT NULL;

/*
 * abt_timeline reads those two indexes index-only where the visibility map
 * marks a page all-visible.  Assignments are mostly inserted, so what sets
 * the map is autovacuum's insert threshold: by default 20% of the table
 * (1.6M new visitors at 8M rows), here 2%, so that pages hours old are
 * all-visible at any traffic.  A vacuum of an insert-mostly table visits
 * only the pages not yet all-visible.
 */
ALTER TABLE abtest.assignments SET (autovacuum_vacuum_insert_scale_factor = 0.02);

COMMENT ON TABLE abtest.variant_counters IS
'Per-variant allocation and conversion counts: slot 0 the settled sum, slots 1 and up one row per writing backend not folded yet; sum over slots';
COMMENT ON TABLE abtest.experiment_timeline IS
'Assignments and converted assignments per 15-minute bucket of assigned_at: slot 0 settled, slots 1 and up per backend; sum over slots';
COMMENT ON TABLE abtest.variant_timeline IS
'Per-variant assignments and converted assignments per 15-minute bucket: slot 0 settled, slots 1 and up per backend; sum over slots';
COMMENT ON COLUMN abtest.element_variants.total_allocations IS
'Settled copy of the live count (abtest.variant_totals): at most about abtest.settle_interval behind while the settler runs, else as of the last abt_settle_counters or pause';
COMMENT ON COLUMN abtest.element_variants.total_conversions IS
'Settled copy of the live count (abtest.variant_totals): at most about abtest.settle_interval behind while the settler runs, else as of the last abt_settle_counters or pause';

/*
 * abt_settle_counters keeps its signature, its OID and its grants (owner
 * only): in 1.1 it folds as the settler does (same locks, so the two never
 * count a row twice), waiting for a fold or status change in progress, and
 * still returns the element_variants rows it changed.  The pause/complete
 * trigger calls it as in 1.0.
 */
CREATE OR REPLACE FUNCTION @extschema@.abt_settle_counters(experiment_id uuid DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'abt_settle_counters_1_1'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.abt_settle_counters(uuid) IS
'Folds the live counters into the settled ones and copies the totals into element_variants.total_* (one experiment, or all); returns the variant rows changed';

CREATE FUNCTION @extschema@.abt_settle(experiment_id uuid DEFAULT NULL,
                                        OUT experiments bigint, OUT rows_folded bigint,
                                        OUT variants_updated bigint, OUT variants_skipped bigint,
                                        OUT experiments_busy bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'abt_settle'
LANGUAGE C VOLATILE ROWS 1
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.abt_settle(uuid) IS
'One round of the settler now (one experiment, or all that changed), waiting for nobody: rows held by others are left for the next round';

CREATE FUNCTION @extschema@.abt_settler_start() RETURNS integer
AS 'MODULE_PATHNAME', 'abt_settler_start'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.abt_settler_start() IS
'Starts the settler of the current database (when shared_preload_libraries does not hold abtest; again after every server restart); returns its pid';

CREATE FUNCTION abtest.settler_wake() RETURNS void
AS 'MODULE_PATHNAME', 'abt_settler_wake'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION abtest.settler_wake() IS
'Internal: at commit, asks the launcher to start this database''s settler now (CREATE and ALTER EXTENSION call it)';

/*
 * What the settler did since it started, one row, written by the settler
 * after each round that folded something (never when idle).  Unlogged: it
 * is a status display, not data (a crash empties it).
 */
CREATE UNLOGGED TABLE abtest.settler_status (
    id                  boolean     NOT NULL DEFAULT true,
    pid                 integer     NOT NULL,
    started_at          timestamptz NOT NULL,
    last_fold_at        timestamptz NOT NULL,
    rounds              bigint      NOT NULL,
    rows_folded         bigint      NOT NULL,
    variants_updated    bigint      NOT NULL,
    variants_skipped    bigint      NOT NULL,
    CONSTRAINT settler_status_pkey PRIMARY KEY (id),
    CONSTRAINT settler_status_one_row CHECK (id)
);
COMMENT ON TABLE abtest.settler_status IS
'What the settler of this database did since it started: rounds that folded something, slot rows folded, element_variants rows updated and skipped';
-- dumped whole like every table of the schema: a restored row shows the
-- old settler's pid (abtest.settler.status_is_current false) until the new
-- one's first fold
SELECT pg_catalog.pg_extension_config_dump('abtest.settler_status', '');

CREATE VIEW abtest.settler WITH (security_invoker = true) AS
SELECT a.pid, a.backend_start, a.state, a.wait_event,
       s.pid OPERATOR(pg_catalog.=) a.pid AS status_is_current,
       s.last_fold_at, s.rounds, s.rows_folded, s.variants_updated, s.variants_skipped
  FROM pg_catalog.pg_stat_activity a
  LEFT JOIN abtest.settler_status s ON true
 WHERE a.datid OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                        WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
   AND a.backend_type OPERATOR(pg_catalog.=) 'abtest settler';
COMMENT ON VIEW abtest.settler IS
'The running settler of this database (none: no row) and what it did since it started (abtest.settler_status)';

-- Starting a background worker, or a round of it, is the owner's decision
-- (and, on Supabase, the server side's, which gets every function); the
-- status is theirs to read.
REVOKE ALL ON FUNCTION @extschema@.abt_settler_start() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_settle(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION abtest.settler_wake() FROM PUBLIC;
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'], revoke_all => ARRAY[
    'TABLE abtest.settler_status, abtest.settler',
    'FUNCTION @extschema@.abt_settler_start(), @extschema@.abt_settle(uuid)']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'SELECT ON abtest.settler_status, abtest.settler',
    'EXECUTE ON FUNCTION @extschema@.abt_settler_start(), @extschema@.abt_settle(uuid),
                         abtest.settler_wake()']);

-- The launcher starts this database's settler when the script commits.
SELECT abtest.settler_wake();

/* ------------------------------- the packed per-variant timeline (1.1, issue 22) */

/*
 * A new visitor wrote a row of experiment_timeline and one of
 * variant_timeline per element, each in its slot, bucket (and variant); it
 * now writes the first alone, which carries the per-variant assignments of
 * its slot and bucket in two arrays of the same length: variant_ids (sorted,
 * distinct) and variant_assignments (src/packed_rollup.c; bench/floors.sh
 * measured the rows a new visitor writes, docs/settler.md).  The fold
 * unpacks them into variant_timeline's settled rows (slot 0).  Slot rows of
 * variant_timeline still come from conversions, from many calls in one
 * transaction (deltas.c), from Citus's routed steps and from 1.0's
 * functions; abtest.variant_rollups reads both kinds.  Rows of 1.0 have
 * NULL arrays, which count as empty: the update carries nothing over.
 */
ALTER TABLE abtest.experiment_timeline ADD COLUMN variant_ids uuid[],
                                       ADD COLUMN variant_assignments bigint[];
COMMENT ON COLUMN abtest.experiment_timeline.variant_ids IS
'Slot rows (slot <> 0): the variants assigned in the bucket, sorted; their counts are variant_assignments (abtest.variant_rollups unpacks them)';
COMMENT ON COLUMN abtest.experiment_timeline.variant_assignments IS
'Slot rows: assignments of each of variant_ids, at the same positions';

CREATE FUNCTION abtest.variant_ids_add(variant_ids uuid[], added uuid[]) RETURNS uuid[]
AS 'MODULE_PATHNAME', 'abt_variant_ids_add'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION abtest.variant_ids_add(uuid[], uuid[]) IS
'A slot row''s variant_ids after a visitor of the sorted, distinct ids added (NULL: none)';
CREATE FUNCTION abtest.variant_counts_add(variant_ids uuid[], counts bigint[], added uuid[])
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'abt_variant_counts_add'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION abtest.variant_counts_add(uuid[], bigint[], uuid[]) IS
'A slot row''s variant_assignments after a visitor of the sorted, distinct ids added: at the positions of variant_ids_add, one more for each';
-- the hot path's arithmetic, run as the tables' owner: nobody else's to call
REVOKE ALL ON FUNCTION abtest.variant_ids_add(uuid[], uuid[]),
                       abtest.variant_counts_add(uuid[], bigint[], uuid[]) FROM PUBLIC;

/*
 * The per-variant rollups, live: variant_timeline's rows and the packed
 * ones (slot rows only: the fold never packs into slot 0).  Its reader's
 * privileges apply to both tables (security_invoker), as when reading them.
 */
CREATE VIEW abtest.variant_rollups WITH (security_invoker = true) AS
SELECT t.experiment_id, t.variant_id, t.bucket, t.slot, t.assignments, t.conversions
  FROM abtest.variant_timeline t
UNION ALL
SELECT t.experiment_id, p.variant_id, t.bucket, t.slot, p.assignments, 0::bigint
  FROM abtest.experiment_timeline t,
       ROWS FROM (pg_catalog.unnest(t.variant_ids), pg_catalog.unnest(t.variant_assignments))
         AS p(variant_id, assignments)
 WHERE t.slot OPERATOR(pg_catalog.<>) 0;
COMMENT ON VIEW abtest.variant_rollups IS
'Per-variant assignments and converted assignments per 15-minute bucket and slot: abtest.variant_timeline and the slot rows packed in abtest.experiment_timeline; sum over slots';
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'],
    revoke_all => ARRAY['TABLE abtest.variant_rollups']);
SELECT abtest.grant_to_roles(ARRAY['authenticated'], grants => ARRAY['SELECT ON abtest.variant_rollups']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'ALL ON abtest.variant_rollups',
    'EXECUTE ON FUNCTION abtest.variant_ids_add(uuid[], uuid[]),
                         abtest.variant_counts_add(uuid[], bigint[], uuid[])']);

-- abt_timeline_variants reads them (1.0's symbol reads variant_timeline)
CREATE OR REPLACE FUNCTION @extschema@.abt_timeline_variants(experiment_id uuid, hours integer DEFAULT 24,
                                                              bucket interval DEFAULT '1 hour')
RETURNS TABLE (bucket timestamptz, element_id uuid, variant_id uuid, variant_name text,
               assignments bigint, conversions bigint, conversion_rate float8)
AS 'MODULE_PATHNAME', 'abt_timeline_variants_1_1'
LANGUAGE C STABLE PARALLEL SAFE;

/* ------------------------------------------- scale-out on Citus (1.1, issue 10) */

/*
 * abt_distribute() (below) makes abtest's tables Citus tables: the
 * configuration becomes reference tables (a copy on every node), the
 * per-visitor, counter and rollup tables are distributed by experiment_id,
 * co-located, and the page-view functions are delegated to the node that
 * holds the experiment.  Citus never propagates DDL on tables an extension
 * owns: what the tables need to be distributable is here, and runs on every
 * node (Citus creates the extension on each).  The policies are ready
 * already (section "whose rows an owner reaches", at the top).
 */

/*
 * Triggers on Citus tables run on the shards, on every node that holds a
 * copy: a change of a reference table fires its trigger once per node, on
 * that node's copy, and a trigger there may change local shards only.
 * abtest.on_shard(TG_RELID) tells a trigger it runs on such a copy (a
 * shard is not a member of the extension); abtest.local_shard() names this
 * node's shard of a table for a key (NULL when another node holds it).
 */
CREATE FUNCTION abtest.on_shard(relation oid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                          AND d.objid OPERATOR(pg_catalog.=) $1
                          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                          AND d.deptype OPERATOR(pg_catalog.=) 'e')
$$;
COMMENT ON FUNCTION abtest.on_shard(oid) IS
'Triggers: the table is a Citus shard (a copy on one node), not the extension''s own table';

CREATE FUNCTION abtest.local_shard(relation regclass, experiment_id uuid) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shard bigint;
BEGIN
    -- Citus's functions, looked up only on a Citus node
    EXECUTE 'SELECT pg_catalog.get_shard_id_for_distribution_column($1, $2)'
       INTO shard USING relation, experiment_id;
    RETURN pg_catalog.to_regclass(pg_catalog.shard_name(relation, shard));
END $$;
COMMENT ON FUNCTION abtest.local_shard(regclass, uuid) IS
'Triggers on Citus: this node''s shard of relation holding experiment_id (a reference table: its copy), NULL when on another node';

/*
 * A new config_version for an experiment whose elements, variants, goals or
 * pins changed.  On a Citus node each copy of the changed table bumps its
 * own copy of the experiment by one, so that the copies stay equal (a
 * sequence's next value differs from node to node).
 */
CREATE FUNCTION abtest.bump_config_version(experiment_id uuid, on_shard boolean) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT on_shard THEN
        UPDATE abtest.experiments SET config_version = pg_catalog.nextval('abtest.config_version_seq')
         WHERE id OPERATOR(pg_catalog.=) bump_config_version.experiment_id;
    ELSIF abtest.local_shard('abtest.experiments', experiment_id) IS NOT NULL THEN
        EXECUTE pg_catalog.format('UPDATE %s SET config_version = config_version OPERATOR(pg_catalog.+) 1'
                                  ' WHERE id OPERATOR(pg_catalog.=) $1',
                                  abtest.local_shard('abtest.experiments', experiment_id))
          USING experiment_id;
    END IF;
END $$;
COMMENT ON FUNCTION abtest.bump_config_version(uuid, boolean) IS
'Triggers: a new config_version for the experiment (on a Citus copy: this node''s copy, by one)';

CREATE OR REPLACE FUNCTION abtest.bump_experiment_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF abtest.on_shard(TG_RELID) THEN
        NEW.config_version := OLD.config_version OPERATOR(pg_catalog.+) 1;
    ELSE
        NEW.config_version := pg_catalog.nextval('abtest.config_version_seq');
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION abtest.element_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    on_shard boolean := abtest.on_shard(TG_RELID);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM abtest.bump_config_version(OLD.experiment_id, on_shard);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM abtest.bump_config_version(NEW.experiment_id, on_shard);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION abtest.variant_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    on_shard boolean := abtest.on_shard(TG_RELID);
    experiment uuid;
BEGIN
    -- the old row's experiment, then the new row's
    FOR experiment IN
        SELECT el.experiment_id FROM abtest.experiment_elements el
         WHERE (TG_OP IN ('UPDATE', 'DELETE') AND el.id OPERATOR(pg_catalog.=) OLD.element_id)
            OR (TG_OP IN ('INSERT', 'UPDATE') AND el.id OPERATOR(pg_catalog.=) NEW.element_id)
    LOOP
        PERFORM abtest.bump_config_version(experiment, on_shard);
    END LOOP;
    RETURN NULL;
END $$;

/*
 * A deleted experiment's rows: on a Citus node, each node's copy of the
 * experiment deletes the rows of the shards it holds (one node holds them).
 */
CREATE FUNCTION abtest.delete_experiment_rows(experiment_id uuid, on_shard boolean,
                                              tables name[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    table_name name;
    target regclass;
BEGIN
    FOREACH table_name IN ARRAY tables LOOP
        target := pg_catalog.format('abtest.%I', table_name)::pg_catalog.regclass;
        IF on_shard THEN
            target := abtest.local_shard(target, experiment_id);
            CONTINUE WHEN target IS NULL;
        END IF;
        EXECUTE pg_catalog.format('DELETE FROM %s WHERE experiment_id OPERATOR(pg_catalog.=) $1', target)
          USING experiment_id;
    END LOOP;
END $$;
COMMENT ON FUNCTION abtest.delete_experiment_rows(uuid, boolean, name[]) IS
'Triggers: deletes a deleted experiment''s rows from the tables named (on a Citus copy: from this node''s shards)';

CREATE OR REPLACE FUNCTION abtest.experiment_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM abtest.delete_experiment_rows(OLD.id, abtest.on_shard(TG_RELID),
        ARRAY['assignments', 'conversions', 'variant_counters',
              'experiment_timeline', 'variant_timeline']::name[]);
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION abtest.experiment_metrics_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM abtest.delete_experiment_rows(OLD.id, abtest.on_shard(TG_RELID),
        ARRAY['visitor_goals', 'goal_counters', 'visitor_covariates']::name[]);
    RETURN OLD;
END $$;

/*
 * Pausing settles the experiment's counters on one server.  On a Citus
 * node's copy it cannot (settling writes every copy of element_variants):
 * the live totals stay exact, and abt_settle_counters() on the coordinator
 * settles.
 */
CREATE OR REPLACE FUNCTION abtest.experiment_stopped() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT abtest.on_shard(TG_RELID) THEN
        PERFORM @extschema@.abt_settle_counters(NEW.id);
    END IF;
    RETURN NULL;
END $$;

-- The triggers' helpers keep PUBLIC's EXECUTE: they run as their caller (the
-- role whose change fired the trigger), whose privileges decide.

/*
 * The one step that distributes abtest, on the Citus coordinator, on an
 * empty installation or one with data; calling it again distributes what is
 * not yet distributed (after ALTER EXTENSION UPDATE, say) and changes
 * nothing else.
 */
CREATE FUNCTION @extschema@.abt_distribute(shard_count integer DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    table_name name;
    target regclass;
    colocate_with text := 'none';
    grants text;
    failure text;
    previous text[];
BEGIN
    IF pg_catalog.to_regproc('pg_catalog.create_distributed_table') IS NULL THEN
        RAISE EXCEPTION 'Citus is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Install Citus, CREATE EXTENSION citus, add the worker nodes, then call abt_distribute() again (README, "Scaling out").';
    END IF;
    IF NOT pg_catalog.citus_is_coordinator() THEN
        RAISE EXCEPTION 'abt_distribute() runs on the Citus coordinator'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- settings for this call, put back as they were at its end
    SELECT pg_catalog.array_agg(ARRAY[c.name, pg_catalog.current_setting(c.name)])
      INTO previous
      FROM pg_catalog.unnest(ARRAY['citus.enable_unsafe_triggers', 'client_min_messages',
                                   'citus.enable_local_reference_table_foreign_keys',
                                   'citus.shard_count']) AS c(name);
    -- abtest's triggers are written for shards (see abtest.on_shard)
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- Citus's notices on copying and truncating are about its own steps
    PERFORM pg_catalog.set_config('client_min_messages', 'warning', true);
    -- foreign keys only between reference tables, never to a local table
    PERFORM pg_catalog.set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    IF shard_count IS NOT NULL THEN
        PERFORM pg_catalog.set_config('citus.shard_count', shard_count::text, true);
    END IF;

    -- what each node needs of its own (abtest.citus_node_setup), first: its
    -- DDL on a worker runs in a session of its own, which would wait for
    -- the locks this transaction takes below
    PERFORM abtest.citus_node_setup();
    SELECT r.nodename OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) r.nodeport
           OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) r.result
      INTO failure
      FROM pg_catalog.run_command_on_workers('SELECT abtest.citus_node_setup()') r
     WHERE NOT r.success LIMIT 1;
    IF failure IS NOT NULL THEN
        RAISE EXCEPTION 'preparing a worker for abtest failed: %', failure
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Every worker needs abtest at the coordinator''s version (Citus creates it when the node is added).';
    END IF;

    -- configuration, small and read on every page view: a copy on every
    -- node; referenced tables before the tables that reference them
    FOREACH table_name IN ARRAY ARRAY['experiments', 'experiment_elements', 'element_variants',
                                      'goals', 'forced_variants']::name[] LOOP
        target := pg_catalog.format('abtest.%I', table_name)::pg_catalog.regclass;
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                               WHERE p.logicalrelid OPERATOR(pg_catalog.=) target);
        PERFORM pg_catalog.create_reference_table(target);
    END LOOP;

    -- what grows with traffic: by experiment, all on the same nodes
    FOREACH table_name IN ARRAY ARRAY['assignments', 'conversions', 'variant_counters',
                                      'experiment_timeline', 'variant_timeline',
                                      'visitor_goals', 'goal_counters',
                                      'visitor_covariates']::name[] LOOP
        target := pg_catalog.format('abtest.%I', table_name)::pg_catalog.regclass;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                        WHERE p.logicalrelid OPERATOR(pg_catalog.=) target) THEN
            PERFORM pg_catalog.create_distributed_table(target, 'experiment_id',
                                                        colocate_with => colocate_with);
        END IF;
        colocate_with := 'abtest.assignments';
    END LOOP;

    -- a visitor's history (abt_track, CUPED): by visitor, read and written
    -- by one visitor's id at a time, on no experiment's nodes in particular
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'abtest.visitor_events'::pg_catalog.regclass) THEN
        PERFORM pg_catalog.create_distributed_table('abtest.visitor_events', 'user_id',
                                                    colocate_with => 'none');
    END IF;

    -- Citus copied the rows into the shards and left them in the local
    -- tables too: removed once every table is distributed (the foreign keys
    -- between local tables would stop it before)
    FOREACH table_name IN ARRAY ARRAY['forced_variants', 'goals', 'element_variants',
                                      'experiment_elements', 'experiments', 'assignments',
                                      'conversions', 'variant_counters', 'experiment_timeline',
                                      'variant_timeline', 'visitor_goals', 'goal_counters',
                                      'visitor_covariates', 'visitor_events']::name[] LOOP
        PERFORM pg_catalog.truncate_local_data_after_distributing_table(
            pg_catalog.format('abtest.%I', table_name)::pg_catalog.regclass);
    END LOOP;

    -- what roles may do here, they may do on every node (see
    -- abtest.grant_commands)
    SELECT pg_catalog.string_agg(g.c, '; ' ORDER BY g.n) INTO grants
      FROM abtest.grant_commands() WITH ORDINALITY AS g(c, n);
    IF grants IS NOT NULL THEN
        SELECT r.nodename OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) r.nodeport
               OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) r.result
          INTO failure
          FROM pg_catalog.run_command_on_workers(grants) r
         WHERE NOT r.success LIMIT 1;
        IF failure IS NOT NULL THEN
            RAISE EXCEPTION 'copying the privileges to a worker failed: %', failure
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;

    -- a page view runs on the node holding its experiment
    PERFORM pg_catalog.create_distributed_function(
        '@extschema@.abt_assign(uuid, text, timestamptz)'::pg_catalog.regprocedure,
        'experiment_id', colocate_with => 'abtest.assignments');
    PERFORM pg_catalog.create_distributed_function(
        '@extschema@.abt_convert(uuid, text, text, numeric, timestamptz)'::pg_catalog.regprocedure,
        'experiment_id', colocate_with => 'abtest.assignments');
    PERFORM pg_catalog.create_distributed_function(
        '@extschema@.abt_timeline(uuid, integer, interval)'::pg_catalog.regprocedure,
        'experiment_id', colocate_with => 'abtest.assignments');
    FOR i IN 1 .. pg_catalog.array_length(previous, 1) LOOP
        PERFORM pg_catalog.set_config(previous[i][1], previous[i][2], true);
    END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.abt_distribute(integer) IS
'Citus: distributes abtest''s tables (configuration as reference tables, the rest by experiment_id) and delegates each page view to the node holding its experiment';
REVOKE ALL ON FUNCTION @extschema@.abt_distribute(integer) FROM PUBLIC;


-- The shard the page view reads directly on a Citus node (src/citus.c),
-- for the test that holds it equal to Citus's own choice.
CREATE FUNCTION abtest.citus_shard(relation regclass, experiment_id uuid) RETURNS bigint
AS 'MODULE_PATHNAME', 'abt_citus_shard_sql'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION abtest.citus_shard(regclass, uuid) IS
'Citus: the shard of relation holding experiment_id, as abtest finds it (equal to get_shard_id_for_distribution_column)';
REVOKE ALL ON FUNCTION abtest.citus_shard(regclass, uuid) FROM PUBLIC;

/*
 * The privileges granted on schema abtest, its tables, views and sequences
 * and the extension's functions, as GRANT commands.  Citus propagates a
 * GRANT made once a table or function is distributed, not the ones made
 * before (at install time every node's script granted the same, but a role
 * created since was granted on the coordinator alone): abt_distribute()
 * runs these on the workers.  A REVOKE from PUBLIC is replayed too; one from
 * a role is not, nor are column privileges.
 */
CREATE FUNCTION abtest.grant_commands() RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH granted AS (
        SELECT 'SCHEMA abtest' AS object, n.nspowner AS owner, n.nspacl AS acl
          FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'abtest'
        UNION ALL
        SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END
               OPERATOR(pg_catalog.||) c.oid::pg_catalog.regclass::text, c.relowner, c.relacl
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace OPERATOR(pg_catalog.=) 'abtest'::pg_catalog.regnamespace
           AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'S']::"char"[])
        UNION ALL
        SELECT 'FUNCTION ' OPERATOR(pg_catalog.||) p.oid::pg_catalog.regprocedure::text,
               p.proowner, p.proacl
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_depend d
            ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) p.oid
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.deptype OPERATOR(pg_catalog.=) 'e'
          JOIN pg_catalog.pg_extension x ON x.oid OPERATOR(pg_catalog.=) d.refobjid
         WHERE x.extname OPERATOR(pg_catalog.=) 'abtest')
    -- PUBLIC's privileges as here (a REVOKE from PUBLIC made here), then the grants
    SELECT c FROM (
        SELECT 0 AS step, g.object, pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', g.object) AS c
          FROM granted g WHERE g.acl IS NOT NULL
        UNION ALL
        SELECT 1, g.object,
               pg_catalog.format('GRANT %s ON %s TO %s', a.privilege_type, g.object,
                                 CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                      ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END)
          FROM granted g, pg_catalog.aclexplode(g.acl) a
         WHERE a.grantee OPERATOR(pg_catalog.<>) g.owner) commands
     ORDER BY commands.step, commands.object
$$;
COMMENT ON FUNCTION abtest.grant_commands() IS
'Citus: the GRANTs on schema abtest, its relations and the extension''s functions, which abt_distribute() runs on the workers';
REVOKE ALL ON FUNCTION abtest.grant_commands() FROM PUBLIC;

/*
 * Run on every node by abt_distribute() (again by each call):
 *  - conversions.id comes from each node's own identity sequence (where the
 *    statement runs), so each node group takes a range of its own, 2^48 ids
 *    wide;
 *  - the policies' functions read abtest.experiments from inside a query on
 *    a shard, which Citus refuses unless allowed: the read is of a reference
 *    table, whose copy on this node is current (Citus's worry, a shard
 *    moved away meanwhile, does not apply to it);
 *  - abtest.variant_totals sums without a lateral join, which Citus cannot
 *    plan between a reference table and a distributed subquery (on one
 *    server the lateral sums stay: a filter on element_id or variant_id
 *    then reads only those variants' rows).
 */
CREATE FUNCTION abtest.citus_node_setup() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    node_group bigint;
    sequence_name text := pg_catalog.pg_get_serial_sequence('abtest.conversions', 'id');
    propagation text;
BEGIN
    EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO node_group;
    IF node_group OPERATOR(pg_catalog.>) 0 THEN
        PERFORM pg_catalog.setval(sequence_name,
            GREATEST(node_group OPERATOR(pg_catalog.<<) 48,
                     (SELECT s.last_value FROM pg_catalog.pg_sequences s
                       WHERE pg_catalog.format('%I.%I', s.schemaname, s.sequencename)
                             OPERATOR(pg_catalog.=) sequence_name)));
    END IF;
    -- this node's own objects: Citus is not to send the DDL on
    propagation := pg_catalog.current_setting('citus.enable_ddl_propagation', true);
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    ALTER FUNCTION abtest.owns_experiment(uuid) SET citus.allow_nested_distributed_execution = on;
    ALTER FUNCTION abtest.owns_element(uuid) SET citus.allow_nested_distributed_execution = on;
    CREATE OR REPLACE VIEW abtest.variant_totals WITH (security_invoker = true) AS
    SELECT el.experiment_id,
           v.element_id,
           v.id AS variant_id,
           COALESCE(s.allocations, 0)::bigint AS total_allocations,
           COALESCE(s.conversions, 0)::bigint AS total_conversions,
           CASE WHEN COALESCE(s.allocations, 0) OPERATOR(pg_catalog.>) 0
                THEN s.conversions::float8 OPERATOR(pg_catalog./) s.allocations::float8
                ELSE 0 END AS conversion_rate
      FROM abtest.element_variants v
      JOIN abtest.experiment_elements el ON el.id OPERATOR(pg_catalog.=) v.element_id
      LEFT JOIN (SELECT c.experiment_id, c.variant_id,
                        pg_catalog.sum(c.allocations) AS allocations,
                        pg_catalog.sum(c.conversions) AS conversions
                   FROM abtest.variant_counters c
                  GROUP BY c.experiment_id, c.variant_id) s
             ON s.experiment_id OPERATOR(pg_catalog.=) el.experiment_id
            AND s.variant_id OPERATOR(pg_catalog.=) v.id;
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', propagation, true);
END $$;
COMMENT ON FUNCTION abtest.citus_node_setup() IS
'Citus, run on every node by abt_distribute(): the node''s range of conversions.id';
REVOKE ALL ON FUNCTION abtest.citus_node_setup() FROM PUBLIC;

/*
 * Supabase's roles, when they exist: distributing is the owner's decision
 * and the server side's (which gets every function), never a visitor's or
 * an experiment owner's.
 */
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated'], revoke_all => ARRAY[
    'FUNCTION @extschema@.abt_distribute(integer), abtest.citus_node_setup(), abtest.grant_commands(),
              abtest.citus_shard(regclass, uuid)']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'EXECUTE ON FUNCTION @extschema@.abt_distribute(integer), abtest.citus_node_setup(),
                         abtest.grant_commands(), abtest.citus_shard(regclass, uuid)']);

-- Hardening (issue 24): bounded calls

/*
 * The limits of src/rules.h, one row each: what one call may ask for (ids,
 * goals, experiments of a visitor's batch, rows of an analytics call) and
 * what the configuration tables hold (variants per element, elements per
 * experiment).  The C definition is the only one: the triggers below read
 * theirs here.
 */
CREATE FUNCTION abtest.limits(OUT name text, OUT value bigint, OUT applies_to text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'abt_limits'
LANGUAGE C IMMUTABLE PARALLEL SAFE
ROWS 7;
COMMENT ON FUNCTION abtest.limits() IS
'abtest''s limits (src/rules.h): name, value and what each applies to';

/*
 * At most 100 variants per element and 50 elements per experiment (typical
 * experiments have 2 to 4 variants of 1 to 3 elements), so that what one
 * experiment costs the configuration cache, the answers and the analytics
 * stays bounded.  A BEFORE trigger counts the parent's other rows after
 * locking the parent row (FOR NO KEY UPDATE: a foreign key check's FOR KEY
 * SHARE does not wait for it), so that concurrent inserts into one parent
 * count one after the other: under READ COMMITTED the second waits for the
 * first to commit, then counts its row (each statement of the trigger reads
 * a new snapshot); under REPEATABLE READ or SERIALIZABLE it fails with 40001
 * (the first one's config_version bump updated the experiment row).  An
 * element locks its experiment's row, which its config_version bump updates
 * anyway; a variant locks its element's row, so that moving the element to
 * another experiment meanwhile changes nothing.  Rejected: SQLSTATE 54000.
 *
 * Only growth is stopped: rows already beyond a limit (a database that had
 * them at 1.0) stay, and so does the update that keeps a row in its parent;
 * inserting another, or moving a row into such a parent, fails.  A restore
 * loads what was dumped: pg_dump's scripts SET row_security = off, and
 * with it the triggers count nothing (a role under row-level security
 * cannot write these tables at all with it off; only roles that bypass it,
 * the extension owner and service_role, are not limited that way).
 *
 * On a Citus node (abt_distribute() makes both tables reference tables) the
 * trigger runs on each node's copy, counts in that copy and locks the
 * parent in the node's copy of the parent table, as the config_version
 * bumps update it there (abtest.on_shard, abtest.local_shard).
 *
 * The lock and the count, on one server or a Citus copy, are one helper,
 * abtest.count_siblings (the parent's table and key column its arguments);
 * each trigger function keeps its limit, its message and its hint.
 */
CREATE FUNCTION abtest.count_siblings(child regclass, parent_table regclass, parent_column name,
                                      parent_id uuid, row_id uuid) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent regclass := parent_table;
    siblings bigint;
BEGIN
    IF abtest.on_shard(child) THEN
        parent := abtest.local_shard(parent_table, parent_id);
    END IF;
    IF parent IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT FROM %s WHERE id OPERATOR(pg_catalog.=) $1'
                                  ' FOR NO KEY UPDATE', parent)
          USING parent_id;
    END IF;
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s'
                              ' WHERE %I OPERATOR(pg_catalog.=) $1'
                              '   AND id IS DISTINCT FROM $2', child, parent_column)
       INTO siblings USING parent_id, row_id;
    RETURN siblings;
END $$;
COMMENT ON FUNCTION abtest.count_siblings(regclass, regclass, name, uuid, uuid) IS
'Limit triggers: locks the parent row (FOR NO KEY UPDATE; on a Citus copy, in this node''s copy of parent_table), then counts the rows of child with that parent other than row_id';

CREATE FUNCTION abtest.element_limit_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    max_elements bigint;
    elements bigint;
BEGIN
    IF pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off' THEN
        RETURN NEW;
    END IF;
    SELECT l.value INTO max_elements FROM abtest.limits() l
     WHERE l.name OPERATOR(pg_catalog.=) 'elements per experiment';
    elements := abtest.count_siblings(TG_RELID, 'abtest.experiments', 'experiment_id',
                                      NEW.experiment_id, NEW.id);
    IF elements OPERATOR(pg_catalog.>=) max_elements THEN
        RAISE EXCEPTION 'too many elements in experiment %', NEW.experiment_id
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = pg_catalog.format('An experiment has at most %s elements; this one has %s.',
                                             max_elements, elements),
                  HINT = 'Delete elements the experiment no longer needs, or vary the page in another experiment.';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION abtest.element_limit_check() IS
'Trigger: an experiment has at most 50 elements (abtest.limits()); 54000 beyond, checked with the experiment row locked';

CREATE FUNCTION abtest.variant_limit_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    max_variants bigint;
    variants bigint;
BEGIN
    IF pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off' THEN
        RETURN NEW;
    END IF;
    SELECT l.value INTO max_variants FROM abtest.limits() l
     WHERE l.name OPERATOR(pg_catalog.=) 'variants per element';
    variants := abtest.count_siblings(TG_RELID, 'abtest.experiment_elements', 'element_id',
                                      NEW.element_id, NEW.id);
    IF variants OPERATOR(pg_catalog.>=) max_variants THEN
        RAISE EXCEPTION 'too many variants in element %', NEW.element_id
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = pg_catalog.format('An element has at most %s variants; this one has %s.',
                                             max_variants, variants),
                  HINT = 'Delete variants the element no longer needs, or vary the page with another element.';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION abtest.variant_limit_check() IS
'Trigger: an element has at most 100 variants (abtest.limits()); 54000 beyond, checked with the element row locked';

CREATE TRIGGER element_limit_check BEFORE INSERT ON abtest.experiment_elements
    FOR EACH ROW EXECUTE FUNCTION abtest.element_limit_check();
CREATE TRIGGER element_limit_check_update BEFORE UPDATE OF experiment_id ON abtest.experiment_elements
    FOR EACH ROW WHEN (OLD.experiment_id IS DISTINCT FROM NEW.experiment_id)
    EXECUTE FUNCTION abtest.element_limit_check();
CREATE TRIGGER variant_limit_check BEFORE INSERT ON abtest.element_variants
    FOR EACH ROW EXECUTE FUNCTION abtest.variant_limit_check();
CREATE TRIGGER variant_limit_check_update BEFORE UPDATE OF element_id ON abtest.element_variants
    FOR EACH ROW WHEN (OLD.element_id IS DISTINCT FROM NEW.element_id)
    EXECUTE FUNCTION abtest.variant_limit_check();

-- The triggers' functions lose PUBLIC's EXECUTE at the end of this script
-- (a trigger runs them whoever writes).  abtest.limits() shows constants: PUBLIC's too
-- (a visitor has no USAGE on schema abtest).  abtest.count_siblings keeps
-- PUBLIC's EXECUTE, as the other triggers' helpers: it runs as its caller
-- (from the triggers, the extension owner), whose privileges decide.

-- Hardening (issue 24): experiment locks

/*
 * The experiment lock that writers hold shared and this trigger takes
 * exclusively, so that deleting an experiment or changing its status waits
 * for the visitors' writes in flight.  1.0 keyed it on the uuid's first four
 * bytes in a tag pg_advisory_lock() could take: an owner could choose an id
 * sharing them with another owner's experiment and block its visitors, and
 * any role could hold it and stall an owner's pause (issue 24).  1.1's tag
 * (src/experiment_lock.c) hashes the whole uuid and carries a class code the
 * SQL advisory lock functions never set.  The function is C from now on;
 * it looks up no name (so it needs no SET search_path) and, wherever it is
 * attached, fires only for tables of schema abtest: a trigger on a table of
 * someone else's cannot take an experiment's lock.  PUBLIC loses EXECUTE on
 * it, as on every trigger function, at the end of this script.
 */
CREATE OR REPLACE FUNCTION abtest.lock_experiment() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'abt_lock_experiment_1_1';
COMMENT ON FUNCTION abtest.lock_experiment() IS
'Trigger: wait for writes in flight before deleting an experiment or changing its status';

/* ---------------------------------- restores made by pg_dump 17 and later */

/*
 * pg_dump 15 and 16 write no ALTER PUBLICATION ... ADD TABLE for an
 * extension's tables: the event trigger abtest_publication_created (1.0)
 * puts them back when the dump creates the publication.  pg_dump 17 and
 * later write those statements too, and each failed with "already member"
 * on a table the trigger had added.  Both kinds of dump restore: while a dump
 * is restored (row_security off, as for the install script's publication),
 * a statement adding one of abtest's realtime tables that is already a member
 * of that publication first drops it, so that the dump's own ADD puts it
 * back as dumped.  The statement is read from current_query(): pg_dump
 * writes it as "ALTER PUBLICATION name ADD TABLE ONLY abtest.table".
 */
CREATE FUNCTION abtest.publication_table_restoring() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    added text[];
    publication name;
BEGIN
    IF pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.<>) 'off'
       OR pg_catalog.current_setting('abtest_restore.dropping', true) OPERATOR(pg_catalog.=) 'on' THEN
        RETURN;                 -- not a restore, or our own DROP below
    END IF;
    FOR added IN
        SELECT pg_catalog.regexp_matches(pg_catalog.current_query(),
            'ALTER PUBLICATION\s+("(?:[^"]|"")+"|[^\s"]+)\s+ADD TABLE ONLY abtest\.(assignments|element_variants|conversions|variant_counters)\M',
            'gi')
    LOOP
        publication := (pg_catalog.parse_ident(added[1]))[1];
        IF EXISTS (SELECT FROM pg_catalog.pg_publication_rel r
                     JOIN pg_catalog.pg_publication p ON p.oid OPERATOR(pg_catalog.=) r.prpubid
                    WHERE p.pubname OPERATOR(pg_catalog.=) publication
                      AND r.prrelid OPERATOR(pg_catalog.=) ('abtest.' OPERATOR(pg_catalog.||) added[2])::pg_catalog.regclass) THEN
            PERFORM pg_catalog.set_config('abtest_restore.dropping', 'on', true);
            EXECUTE pg_catalog.format('ALTER PUBLICATION %I DROP TABLE abtest.%I', publication, added[2]);
            PERFORM pg_catalog.set_config('abtest_restore.dropping', 'off', true);
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION abtest.publication_table_restoring() IS
'Event trigger: while a dump is restored, a realtime table the dump adds to a publication is dropped from it first when already there (pg_dump 17 and later)';

CREATE EVENT TRIGGER abtest_publication_table_restoring ON ddl_command_start
    WHEN TAG IN ('ALTER PUBLICATION')
    EXECUTE FUNCTION abtest.publication_table_restoring();

-- Hardening (issue 24): goal sums after a restore

/*
 * abtest.visitor_goals and abtest.goal_counters hold derived data (section
 * "metrics"), which pg_dump does not keep.  Their one definition is
 * abtest.rebuild_goal_sums(): the events, per visitor and goal, into
 * visitor_goals, and their sums into slot 0 of goal_counters (no backend
 * has slot 0), for the visitors with an assignment (abt_convert records
 * nothing for others); the variants a visitor saw are those of its
 * assignment.  One statement, so the events are read once.  1.0 stored any
 * value a trusted caller gave, up to numeric's limit: each event's value
 * enters the sums clamped to the bound of event values, [-1e15, 1e15]
 * (ABT_MAX_EVENT_VALUE, src/rules.h; an infinite value to the nearer end),
 * and a NaN counts 0 as NULL does, so that no stored value can make a sum
 * overflow now or in any later fold.  abtest.conversions keeps the values
 * as they were.  For events written through abt_convert at 1.1 (within the
 * bound) the result equals what abt_convert kept, summed over slots.
 * CUPED's columns (issue 20) are summed from abtest.visitor_covariates
 * (which pg_dump keeps: the history they were taken from may be gone) with
 * the rebuilt totals y: the same sums abt_track and abt_convert kept.
 *
 * It replaces every row, under an EXCLUSIVE lock on both tables: the
 * writers of the sums (abt_convert, the settler's fold) wait for it, and it
 * starts computing only once those in flight have committed, so that
 * nothing is lost or counted twice, and two rebuilds run one after the
 * other (the second sees what the first's transaction loaded: pg_restore
 * -j loads assignments and conversions in two transactions at once, in
 * either order, and the rebuild of whichever comes second sees both).
 * Meant for a quiet database: the update, a restore, a repair by hand.
 */
CREATE FUNCTION abtest.rebuild_goal_sums() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    LOCK TABLE abtest.visitor_goals, abtest.goal_counters, abtest.visitor_covariates
        IN EXCLUSIVE MODE;
    DELETE FROM abtest.visitor_goals;
    DELETE FROM abtest.goal_counters;
    WITH per_visitor AS (
        SELECT c.experiment_id, c.user_id, c.goal,
               pg_catalog.sum(LEAST(GREATEST(CASE WHEN c.value OPERATOR(pg_catalog.=) 'NaN'::pg_catalog.numeric
                                                  THEN 0::pg_catalog.numeric
                                                  ELSE COALESCE(c.value, 0::pg_catalog.numeric) END,
                                             '-1e15'::pg_catalog.numeric),
                                    '1e15'::pg_catalog.numeric)) AS y,
               pg_catalog.count(*) AS events
          FROM abtest.conversions c
         GROUP BY c.experiment_id, c.user_id, c.goal),
    assigned AS (
        SELECT p.*, a.variants
          FROM per_visitor p
          JOIN abtest.assignments a
            ON a.experiment_id OPERATOR(pg_catalog.=) p.experiment_id
           AND a.user_id OPERATOR(pg_catalog.=) p.user_id),
    visitors AS (
        INSERT INTO abtest.visitor_goals (experiment_id, user_id, goal, value_total, events)
        SELECT s.experiment_id, s.user_id, s.goal, s.y, s.events FROM assigned s),
    -- CUPED's covariates (issue 20), taken at assignment and kept by pg_dump
    covariates AS (
        SELECT k.experiment_id, k.user_id, k.goal, k.covariate AS x, k.had_event, a.variants
          FROM abtest.visitor_covariates k
          JOIN abtest.assignments a
            ON a.experiment_id OPERATOR(pg_catalog.=) k.experiment_id
           AND a.user_id OPERATOR(pg_catalog.=) k.user_id),
    per_goal AS (
        SELECT COALESCE(s.experiment_id, k.experiment_id) AS experiment_id,
               COALESCE(s.goal, k.goal) AS goal, COALESCE(s.variants, k.variants) AS variants,
               s.y, k.x, k.had_event
          FROM assigned s
          FULL JOIN covariates k
            ON k.experiment_id OPERATOR(pg_catalog.=) s.experiment_id
           AND k.user_id OPERATOR(pg_catalog.=) s.user_id
           AND k.goal OPERATOR(pg_catalog.=) s.goal)
    INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters,
                                      value_sum, value_sum_squares, covariate_visitors,
                                      covariate_sum, covariate_sum_squares, covariate_converters,
                                      cross_sum, cross_converters)
    SELECT s.experiment_id, 0, v.value::pg_catalog.uuid, s.goal, pg_catalog.count(s.y),
           COALESCE(pg_catalog.sum(s.y), 0),
           COALESCE(pg_catalog.sum(s.y OPERATOR(pg_catalog.*) s.y), 0),
           pg_catalog.count(s.x), COALESCE(pg_catalog.sum(s.x), 0),
           COALESCE(pg_catalog.sum(s.x OPERATOR(pg_catalog.*) s.x), 0),
           pg_catalog.count(*) FILTER (WHERE s.had_event),
           COALESCE(pg_catalog.sum(s.x OPERATOR(pg_catalog.*) s.y), 0),
           pg_catalog.count(*) FILTER (WHERE s.had_event AND s.y IS NOT NULL)
      FROM per_goal s, pg_catalog.jsonb_each_text(s.variants) v
     GROUP BY s.experiment_id, v.value, s.goal;
END $$;
COMMENT ON FUNCTION abtest.rebuild_goal_sums() IS
'Recomputes abtest.visitor_goals and abtest.goal_counters (slot 0) from the events in abtest.conversions and the visitors'' assignments; run by the update to 1.1 and after a restore loads events';
-- A repair of the whole schema's sums is the owner's (and the server
-- side's) decision, never a visitor's or an experiment owner's.
REVOKE ALL ON FUNCTION abtest.rebuild_goal_sums() FROM PUBLIC;

/*
 * While a dump is restored, every statement that loads events or
 * assignments (a COPY is one) rebuilds the sums: whichever table is loaded
 * last, the sums are whole once it is in.  pg_dump and pg_restore run with
 * row_security off, which normal sessions leave on (as the publication in
 * sql/abtest--1.0.sql tells a restore apart); in normal operation the
 * trigger reads that one setting and returns, once per INSERT statement
 * (a new visitor's or a conversion's), nothing per row.  A C function
 * (src/restore.c), because the setting is not enough: any session may turn
 * it off, a visitor's too, and the writes of abtest's own functions (owner
 * switch) or of any SECURITY DEFINER code never rebuild; nor does a Citus
 * shard's copy of the trigger.  Like every trigger function, it loses
 * PUBLIC's EXECUTE at the end of this script (only a trigger can call it).
 */
CREATE FUNCTION abtest.goal_sums_after_restore() RETURNS trigger
AS 'MODULE_PATHNAME', 'abt_goal_sums_after_restore'
LANGUAGE C;
COMMENT ON FUNCTION abtest.goal_sums_after_restore() IS
'Trigger: while a dump is restored (row_security off), rebuilds the goal sums after events or assignments are loaded';
CREATE TRIGGER goal_sums_after_restore AFTER INSERT ON abtest.conversions
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.goal_sums_after_restore();
CREATE TRIGGER goal_sums_after_restore AFTER INSERT ON abtest.assignments
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.goal_sums_after_restore();
CREATE TRIGGER goal_sums_after_restore AFTER INSERT ON abtest.visitor_covariates
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.goal_sums_after_restore();

-- The update of a 1.0 database: its events' sums (a fresh installation's
-- tables are empty).
SELECT abtest.rebuild_goal_sums();

/*
 * Supabase's roles, when they exist: the rebuild is the server side's (which
 * gets every function), never a visitor's or an experiment owner's.
 */
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated'],
    revoke_all => ARRAY['FUNCTION abtest.rebuild_goal_sums()']);
SELECT abtest.grant_to_roles(ARRAY['service_role'],
    grants => ARRAY['EXECUTE ON FUNCTION abtest.rebuild_goal_sums()']);

-- Hardening (issue 24): TRUNCATE of the configuration tables

/*
 * TRUNCATE fires no row trigger: TRUNCATE abtest.experiments CASCADE ran
 * neither experiment_deleted() nor experiment_metrics_deleted(), and left
 * every visitor's assignment, conversion, counter and rollup row behind (the
 * per-visitor tables carry no foreign key to experiments, see
 * abtest.assignments).  An experiment created again with the same id then
 * found its old visitors.  Statement triggers do for TRUNCATE what those do
 * for DELETE:
 *  - TRUNCATE abtest.experiments (with CASCADE, which takes the elements,
 *    variants, goals and pins) empties the per-visitor, counter and rollup
 *    tables too;
 *  - a configuration table truncated without abtest.experiments is refused
 *    (SQLSTATE 55000) unless no experiment is left: an experiment would keep
 *    visitors assigned to variants that are gone, and backends would keep
 *    its cached configuration (a TRUNCATE bumps no config_version);
 *  - abtest.leads is kept, as when an experiment is deleted: leads are the
 *    contacts an application collected, a work queue of their own, not
 *    statistics.
 * On one server every backend drops its cached configurations when
 * abtest.experiments is truncated (the relcache invalidation of the table,
 * src/config_cache.c); a Citus node's backends serve from a shard, whose
 * truncation they do not watch.  So before the truncation
 * config_version_seq moves past the highest config_version of the rows
 * (set explicitly, or on a Citus node's copy by the "+ 1" bumps of
 * abtest.bump_config_version, which run ahead of the sequence): an
 * experiment created again never carries a version a backend may still
 * hold.
 *
 * On Citus the triggers act on the coordinator, where the statement runs:
 * its TRUNCATE of the distributed tables reaches their shards.  They do
 * nothing on a node's copy of a table (a shard: abtest.on_shard), nor when
 * Citus truncates only the coordinator's local copy of a table it has
 * distributed (truncate_local_data_after_distributing_table in
 * abt_distribute(), with citus.enable_ddl_propagation off).
 */
CREATE FUNCTION abtest.truncating_local_copy(relation oid) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    distributed boolean := false;
BEGIN
    IF abtest.on_shard(relation) THEN
        RETURN true;
    END IF;
    IF pg_catalog.current_setting('citus.enable_ddl_propagation', true) OPERATOR(pg_catalog.=) 'off'
       AND pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        -- Citus's catalog, named only where it exists
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p'
                ' WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1)'
           INTO distributed USING relation;
    END IF;
    RETURN distributed;
END $$;
COMMENT ON FUNCTION abtest.truncating_local_copy(oid) IS
'TRUNCATE triggers: the statement truncates only one node''s copy of a Citus table (a shard, or the coordinator''s local rows without DDL propagation): nothing to do';

-- Before abtest.experiments is truncated: the version sequence past every
-- config_version of its rows.
CREATE FUNCTION abtest.experiments_truncating() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    highest bigint;
BEGIN
    IF abtest.truncating_local_copy(TG_RELID) THEN
        RETURN NULL;
    END IF;
    SELECT pg_catalog.max(e.config_version) INTO highest FROM abtest.experiments e;
    IF highest OPERATOR(pg_catalog.>) (SELECT s.last_value FROM abtest.config_version_seq s) THEN
        PERFORM pg_catalog.setval('abtest.config_version_seq', highest);
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.experiments_truncating() IS
'Trigger: before abtest.experiments is truncated, config_version_seq moves past every config_version of its rows';

-- After abtest.experiments is truncated: the per-visitor, counter and
-- rollup tables too (runs as the extension owner, as experiment_deleted()).
-- A table the statement truncated itself is empty and may not be truncated
-- again in it: only those with rows are.
CREATE FUNCTION abtest.experiments_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    table_name name;
    has_rows boolean;
    targets text[] := ARRAY[]::text[];
BEGIN
    IF abtest.truncating_local_copy(TG_RELID) THEN
        RETURN NULL;
    END IF;
    FOREACH table_name IN ARRAY ARRAY['assignments', 'conversions', 'variant_counters',
                                      'experiment_timeline', 'variant_timeline',
                                      'visitor_goals', 'goal_counters', 'visitor_covariates']::name[] LOOP
        -- a select list: Citus cannot plan an empty one over a distributed table
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM abtest.%I)', table_name) INTO has_rows;
        IF has_rows THEN
            targets := targets OPERATOR(pg_catalog.||) pg_catalog.format('abtest.%I', table_name);
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(targets) OPERATOR(pg_catalog.>) 0 THEN
        EXECUTE 'TRUNCATE ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(targets, ', ');
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.experiments_truncated() IS
'Trigger: truncating abtest.experiments truncates the per-visitor, counter and rollup tables (leads are kept)';

-- A configuration table truncated while experiments are left: refused.
CREATE FUNCTION abtest.configuration_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT abtest.truncating_local_copy(TG_RELID) AND EXISTS (SELECT 1 FROM abtest.experiments) THEN
        RAISE EXCEPTION 'cannot truncate abtest.% alone', TG_TABLE_NAME
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Experiments are left: their visitors'' rows and the backends'' cached configurations would still refer to its rows.',
                  HINT = 'DELETE its rows, or TRUNCATE abtest.experiments CASCADE.';
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.configuration_truncated() IS
'Trigger: TRUNCATE of an experiment''s elements, variants, goals or pins alone is refused while any experiment is left';

-- BEFORE: the statement's locks are taken, no table is truncated yet.
-- AFTER: every table of the statement (CASCADE included) is truncated.
CREATE TRIGGER experiments_truncating BEFORE TRUNCATE ON abtest.experiments
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.experiments_truncating();
CREATE TRIGGER experiments_truncated AFTER TRUNCATE ON abtest.experiments
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.experiments_truncated();
CREATE TRIGGER configuration_truncated AFTER TRUNCATE ON abtest.experiment_elements
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.configuration_truncated();
CREATE TRIGGER configuration_truncated AFTER TRUNCATE ON abtest.element_variants
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.configuration_truncated();
CREATE TRIGGER configuration_truncated AFTER TRUNCATE ON abtest.goals
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.configuration_truncated();
CREATE TRIGGER configuration_truncated AFTER TRUNCATE ON abtest.forced_variants
    FOR EACH STATEMENT EXECUTE FUNCTION abtest.configuration_truncated();

/*
 * Supabase's roles, when they exist: each first loses what Supabase's
 * default privileges may have given it on the trigger functions (a trigger
 * function cannot be called directly; the triggers run them whoever
 * truncates); the server side gets every function, as elsewhere.  The
 * helper keeps PUBLIC's EXECUTE, as abtest.on_shard.
 */
SELECT abtest.grant_to_roles(ARRAY['anon', 'authenticated', 'service_role'], revoke_all => ARRAY[
    'FUNCTION abtest.experiments_truncating(), abtest.experiments_truncated(),
              abtest.configuration_truncated()']);
SELECT abtest.grant_to_roles(ARRAY['service_role'], grants => ARRAY[
    'EXECUTE ON FUNCTION abtest.experiments_truncating(), abtest.experiments_truncated(),
                         abtest.configuration_truncated()']);


-- Hardening (issue 24): trigger functions

/*
 * abtest's trigger functions serve abtest's own triggers only.  CREATE
 * TRIGGER checks EXECUTE on the function and firing a trigger does not, so
 * without PUBLIC's EXECUTE nobody but the extension's owner can attach one
 * to a table of their own (an owner with USAGE on schema abtest attached the
 * SECURITY DEFINER abtest.experiment_deleted() to a temporary table and
 * fired it with another owner's experiment id), while abtest's triggers
 * still fire for every writer.  Last in the script, so that it covers every
 * trigger function the script made (test/sql/trigger_functions.sql).
 */
DO $$
DECLARE
    fn pg_catalog.regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::pg_catalog.regprocedure
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                     AND d.objid OPERATOR(pg_catalog.=) p.oid
                                     AND d.deptype OPERATOR(pg_catalog.=) 'e'
          JOIN pg_catalog.pg_extension x ON x.oid OPERATOR(pg_catalog.=) d.refobjid
                                        AND x.extname OPERATOR(pg_catalog.=) 'abtest'
         WHERE p.prorettype OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.trigger'::pg_catalog.regtype,
                                                              'pg_catalog.event_trigger'::pg_catalog.regtype])
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
END $$;
