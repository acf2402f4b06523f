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
'Records a conversion: true for the visitor''s first, false for a later one, NULL (nothing recorded) without an assignment (visitors: now, declared goals and values)';

-- Many visitors in one request is an import: not for visitors (one call
-- could enrol any number of made-up visitors).
REVOKE ALL ON FUNCTION @extschema@.abt_assign_bulk(uuid, text[], timestamptz) FROM PUBLIC;

/*
 * Goals an experiment declares for visitors' conversions.  Without rows
 * here a visitor's event may name any goal (of at most 64 characters) with
 * any value, as in 1.0; with rows, only a declared goal, and a value from 0
 * to its max_value when that is set, so that one forged value cannot own a
 * revenue metric.  Trusted callers are not limited.  Part of the
 * experiment's configuration: a change gives the experiment a new
 * config_version, so every backend's cache reloads the goals.
 */
CREATE TABLE abtest.goals (
    experiment_id   uuid        NOT NULL,
    goal            text        NOT NULL,
    max_value       numeric,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT goals_pkey PRIMARY KEY (experiment_id, goal),
    CONSTRAINT goals_experiment_fkey FOREIGN KEY (experiment_id)
        REFERENCES abtest.experiments (id) ON DELETE CASCADE,
    -- ABT_MAX_VISITOR_GOAL_CHARS (src/abtest.h): a longer goal could never
    -- come from a visitor (test/sql/visitor_limits.sql holds the two equal)
    CONSTRAINT goals_goal_check CHECK (pg_catalog.length(goal) OPERATOR(pg_catalog.>=) 1
                                       AND pg_catalog.length(goal) OPERATOR(pg_catalog.<=) 64),
    -- NaN sorts above Infinity in numeric: this rejects both
    CONSTRAINT goals_max_value_check CHECK (max_value OPERATOR(pg_catalog.>=) 0
                                            AND max_value OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.numeric)
);
COMMENT ON TABLE abtest.goals IS
'Goals an experiment accepts from visitors'' conversions, with the largest value a visitor may send; none declared: any goal';
COMMENT ON COLUMN abtest.goals.max_value IS
'Largest value a visitor''s event of this goal may carry (from 0); NULL: no limit';
SELECT pg_catalog.pg_extension_config_dump('abtest.goals', '');

-- abtest.element_changed() reads only experiment_id: it serves goals too.
CREATE TRIGGER goal_changed AFTER INSERT OR UPDATE OR DELETE ON abtest.goals
    FOR EACH ROW EXECUTE FUNCTION abtest.element_changed();

-- Owners declare the goals of their own experiments (as their elements).
ALTER TABLE abtest.goals ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON abtest.goals
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) goals.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())))
    WITH CHECK (EXISTS (SELECT FROM abtest.experiments e
                         WHERE e.id OPERATOR(pg_catalog.=) goals.experiment_id
                           AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));

/*
 * Supabase's roles, when they exist.  As in 1.0, each first loses what
 * Supabase's default privileges may have given it on the new table; then
 * visitors lose the bulk import (1.0 granted it to them), experiment owners
 * get their goals, and the server side gets everything.
 */
DO $$
DECLARE
    role_name name;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['anon', 'authenticated', 'service_role']::name[] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_roles r
                                   WHERE r.rolname OPERATOR(pg_catalog.=) role_name);
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE abtest.goals FROM %I', role_name);
        IF role_name OPERATOR(pg_catalog.<>) 'service_role' THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %I',
                '@extschema@.abt_assign_bulk(uuid, text[], timestamptz)'::pg_catalog.regprocedure,
                role_name);
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'authenticated') THEN
        GRANT SELECT, DELETE ON abtest.goals TO authenticated;
        GRANT INSERT (experiment_id, goal, max_value, created_at), UPDATE (goal, max_value)
            ON abtest.goals TO authenticated;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'service_role') THEN
        GRANT ALL ON abtest.goals TO service_role;
    END IF;
END $$;
