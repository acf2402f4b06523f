--
-- truncate: TRUNCATE of the configuration tables leaves no orphan rows
-- (issue 24, item 7).  TRUNCATE abtest.experiments CASCADE empties the
-- per-visitor, counter and rollup tables too (leads are kept, as on DELETE);
-- an experiment created again with the same id starts afresh, in a backend
-- that had its old configuration cached; the version sequence moves past
-- the truncated rows' versions; a configuration table truncated alone while
-- experiments are left is refused (SQLSTATE 55000), nothing truncated.
-- All in one transaction, rolled back at the end: the other tests' rows in
-- this database are left as they were.  Ids of this file: 7c000000-....
--
BEGIN;

-- what a visitor sees: flags and element:variant names
CREATE FUNCTION pg_temp.sees(v text) RETURNS text LANGUAGE sql AS $$
    SELECT format('enrolled=%s new=%s %s', a->>'enrolled', a->>'new',
                  coalesce((SELECT string_agg((x->>'element') || ':' || (x->>'variant'), ' '
                                              ORDER BY x->>'element')
                              FROM jsonb_array_elements(a->'elements') x), '(no elements)'))
      FROM abt_assign('7c000000-0000-4000-8000-000000000001', v) a
$$;
-- rows of the experiment in every table keyed by experiment_id
CREATE FUNCTION pg_temp.counts() RETURNS TABLE (table_name text, n bigint) LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['experiment_elements', 'goals', 'forced_variants', 'assignments',
                             'conversions', 'variant_counters', 'experiment_timeline',
                             'variant_timeline', 'visitor_goals', 'goal_counters', 'leads'] LOOP
        table_name := t;
        EXECUTE format('SELECT count(*) FROM abtest.%I WHERE experiment_id = %L', t,
                       '7c000000-0000-4000-8000-000000000001') INTO n;
        RETURN NEXT;
    END LOOP;
    table_name := 'element_variants';
    SELECT count(*) INTO n FROM abtest.element_variants v
      JOIN abtest.experiment_elements el ON el.id = v.element_id
     WHERE el.experiment_id = '7c000000-0000-4000-8000-000000000001';
    RETURN NEXT;
END $$;
-- rows left in each per-visitor, counter and rollup table, any experiment
CREATE FUNCTION pg_temp.all_rows() RETURNS text LANGUAGE sql AS $$
    SELECT format('assignments=%s conversions=%s variant_counters=%s experiment_timeline=%s '
                  'variant_timeline=%s visitor_goals=%s goal_counters=%s',
                  (SELECT count(*) FROM abtest.assignments), (SELECT count(*) FROM abtest.conversions),
                  (SELECT count(*) FROM abtest.variant_counters),
                  (SELECT count(*) FROM abtest.experiment_timeline),
                  (SELECT count(*) FROM abtest.variant_timeline),
                  (SELECT count(*) FROM abtest.visitor_goals), (SELECT count(*) FROM abtest.goal_counters))
$$;

-- an experiment (2 elements x 1 variant: every answer is known), a goal, a pin
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('7c000000-0000-4000-8000-000000000001', 'truncate', 'active', 'tr');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('7c000000-0000-4000-8001-000000000011', '7c000000-0000-4000-8000-000000000001', 'headline', 0),
    ('7c000000-0000-4000-8001-000000000012', '7c000000-0000-4000-8000-000000000001', 'button', 1);
INSERT INTO abtest.element_variants (id, element_id, name, is_control) VALUES
    ('7c000000-0000-4000-8002-000000000111', '7c000000-0000-4000-8001-000000000011', 'old-headline', true),
    ('7c000000-0000-4000-8002-000000000121', '7c000000-0000-4000-8001-000000000012', 'old-button', true);
INSERT INTO abtest.goals (experiment_id, goal, max_value) VALUES
    ('7c000000-0000-4000-8000-000000000001', 'revenue', 1000);
INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id) VALUES
    ('7c000000-0000-4000-8000-000000000001', 'pinned', '7c000000-0000-4000-8001-000000000011',
     '7c000000-0000-4000-8002-000000000111');

-- visitors, conversions with values, a fold (slot 0 rows, settled totals),
-- then more visitors (slot rows), a lead
SELECT count(abt_assign('7c000000-0000-4000-8000-000000000001', 'v' || g)) AS assigned
  FROM generate_series(1, 20) g;
SELECT count(*) FILTER (WHERE abt_convert('7c000000-0000-4000-8000-000000000001', 'v' || g, 'revenue', g)) AS converted
  FROM generate_series(1, 20, 3) g;
SELECT abt_settle_counters('7c000000-0000-4000-8000-000000000001') > 0 AS settled;
SELECT count(abt_assign('7c000000-0000-4000-8000-000000000001', 'w' || g)) AS assigned
  FROM generate_series(1, 5) g;
SELECT abt_lead_capture('{"email": "ann@example.com"}', '7c000000-0000-4000-8000-000000000001', 'v1') > 0 AS lead;
-- the returning visitor's answer (this backend caches the configuration)
SELECT pg_temp.sees('v1') AS returning_before;
SELECT sum(assignments) AS timeline_before FROM abt_timeline('7c000000-0000-4000-8000-000000000001', 24);
SELECT * FROM pg_temp.counts() ORDER BY 1;
SELECT sum(total_allocations) AS settled_allocations FROM abtest.element_variants
 WHERE element_id = '7c000000-0000-4000-8001-000000000011';

-- a config_version beyond the sequence's (set explicitly; on a Citus node
-- the copies' "+ 1" bumps get there too)
SELECT pg_catalog.nextval('abtest.config_version_seq') + 1000000 AS high_version \gset
UPDATE abtest.experiments SET config_version = :high_version
 WHERE id = '7c000000-0000-4000-8000-000000000001';

--
-- A configuration table alone, while experiments are left: refused, with
-- the way out in the hint; nothing truncated.
--
SAVEPOINT refused;
TRUNCATE abtest.element_variants CASCADE;
ROLLBACK TO SAVEPOINT refused;
TRUNCATE abtest.experiment_elements CASCADE;
ROLLBACK TO SAVEPOINT refused;
TRUNCATE abtest.goals;
ROLLBACK TO SAVEPOINT refused;
TRUNCATE abtest.forced_variants;
ROLLBACK TO SAVEPOINT refused;
\set VERBOSITY sqlstate
TRUNCATE abtest.goals;
ROLLBACK TO SAVEPOINT refused;
\set VERBOSITY default
SELECT * FROM pg_temp.counts() ORDER BY 1;

--
-- TRUNCATE abtest.experiments CASCADE: the experiment's configuration, and
-- every per-visitor, counter and rollup row (of every experiment); its lead
-- is kept.
--
TRUNCATE abtest.experiments CASCADE;
SELECT * FROM pg_temp.counts() ORDER BY 1;
SELECT pg_temp.all_rows();

-- the same id again, with other elements: the returning visitor of before
-- is a new visitor, sees the new elements, and the timeline starts afresh
INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('7c000000-0000-4000-8000-000000000001', 'truncate again', 'active', 'tr');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('7c000000-0000-4000-8001-000000000031', '7c000000-0000-4000-8000-000000000001', 'banner', 0);
INSERT INTO abtest.element_variants (id, element_id, name, is_control) VALUES
    ('7c000000-0000-4000-8002-000000000311', '7c000000-0000-4000-8001-000000000031', 'new-banner', true);
SELECT config_version > :high_version AS version_never_seen
  FROM abtest.experiments WHERE id = '7c000000-0000-4000-8000-000000000001';
SELECT pg_temp.sees('v1') AS returning_after;
SELECT pg_temp.sees('v1') AS returning_again;
SELECT sum(assignments) AS timeline_after FROM abt_timeline('7c000000-0000-4000-8000-000000000001', 24);
SELECT total_allocations FROM abtest.variant_totals
 WHERE experiment_id = '7c000000-0000-4000-8000-000000000001';

-- refused again now that an experiment exists
SAVEPOINT refused_again;
TRUNCATE abtest.element_variants CASCADE;
ROLLBACK TO SAVEPOINT refused_again;
SELECT pg_temp.sees('v1') AS unchanged;

-- experiments and a per-visitor table in one statement: the trigger leaves
-- the table the statement truncated itself
TRUNCATE abtest.experiments, abtest.assignments CASCADE;
SELECT pg_temp.all_rows();
-- no experiment left: a configuration table may be truncated alone
TRUNCATE abtest.goals;
SELECT count(*) AS experiments FROM abtest.experiments;

ROLLBACK;
