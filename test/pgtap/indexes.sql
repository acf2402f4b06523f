-- pgTAP: the indexes of the seed plan ("Proposed Index Optimizations") exist
-- with exactly its definitions, and the assignments lookup is the primary key.
BEGIN;
SELECT plan(49);

CREATE EXTENSION abtest;

-- pg_get_indexdef() qualifies the table unless its schema is on the path.
SET LOCAL search_path = public, pg_catalog;

-- the six indexes of the seed plan
-- (pgTAP's has_index() lists the INCLUDE columns after the key columns;
-- pg_get_indexdef() below tells them apart)
SELECT has_index('abtest', 'experiment_elements', 'idx_elements_experiment_covering',
                 ARRAY['experiment_id', 'id', 'name', 'selector'],
                 'idx_elements_experiment_covering exists on experiment_elements (experiment_id) INCLUDE (id, name, selector)');
SELECT has_index('abtest', 'element_variants', 'idx_variants_element_covering',
                 ARRAY['element_id', 'total_allocations', 'total_conversions', 'conversion_rate'],
                 'idx_variants_element_covering exists on element_variants (element_id) INCLUDE (total_allocations, total_conversions, conversion_rate)');
SELECT has_index('abtest', 'assignments', 'idx_assignments_assigned_at_brin', ARRAY['assigned_at'],
                 'idx_assignments_assigned_at_brin exists on assignments (assigned_at)');
SELECT has_index('abtest', 'experiments', 'idx_experiments_active', ARRAY['user_id', 'created_at'],
                 'idx_experiments_active exists on experiments (user_id, created_at)');
SELECT has_index('abtest', 'assignments', 'idx_assignments_unconverted', ARRAY['experiment_id', 'assigned_at'],
                 'idx_assignments_unconverted exists on assignments (experiment_id, assigned_at)');
SELECT has_index('abtest', 'leads', 'idx_leads_status_created', ARRAY['status', 'created_at'],
                 'idx_leads_status_created exists on leads (status, created_at)');

SELECT is(pg_get_indexdef('abtest.idx_elements_experiment_covering'::regclass),
          'CREATE INDEX idx_elements_experiment_covering ON abtest.experiment_elements USING btree (experiment_id) INCLUDE (id, name, selector)',
          'idx_elements_experiment_covering: btree (experiment_id) INCLUDE (id, name, selector)');
SELECT is(pg_get_indexdef('abtest.idx_variants_element_covering'::regclass),
          'CREATE INDEX idx_variants_element_covering ON abtest.element_variants USING btree (element_id) INCLUDE (total_allocations, total_conversions, conversion_rate)',
          'idx_variants_element_covering: btree (element_id) INCLUDE (total_allocations, total_conversions, conversion_rate)');
SELECT is(pg_get_indexdef('abtest.idx_assignments_assigned_at_brin'::regclass),
          'CREATE INDEX idx_assignments_assigned_at_brin ON abtest.assignments USING brin (assigned_at)',
          'idx_assignments_assigned_at_brin: brin (assigned_at)');
SELECT is(pg_get_indexdef('abtest.idx_experiments_active'::regclass),
          'CREATE INDEX idx_experiments_active ON abtest.experiments USING btree (user_id, created_at DESC) WHERE (status = ''active''::text)',
          'idx_experiments_active: btree (user_id, created_at DESC) WHERE status = ''active''');
SELECT is(pg_get_indexdef('abtest.idx_assignments_unconverted'::regclass),
          'CREATE INDEX idx_assignments_unconverted ON abtest.assignments USING btree (experiment_id, assigned_at DESC) WHERE (converted_at IS NULL)',
          'idx_assignments_unconverted: btree (experiment_id, assigned_at DESC) WHERE converted_at IS NULL');
SELECT is(pg_get_indexdef('abtest.idx_leads_status_created'::regclass),
          'CREATE INDEX idx_leads_status_created ON abtest.leads USING btree (status, created_at DESC)',
          'idx_leads_status_created: btree (status, created_at DESC)');

SELECT index_is_type('abtest', 'assignments', 'idx_assignments_assigned_at_brin', 'brin',
                     'idx_assignments_assigned_at_brin is a BRIN index');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index
            WHERE indexrelid = 'abtest.idx_experiments_active'::regclass),
          '(status = ''active''::text)', 'idx_experiments_active is partial: WHERE status = ''active''');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index
            WHERE indexrelid = 'abtest.idx_assignments_unconverted'::regclass),
          '(converted_at IS NULL)', 'idx_assignments_unconverted is partial: WHERE converted_at IS NULL');

-- none of them is unique, all are valid and ready
SELECT is_empty($$
    SELECT i.indexrelid::regclass::text FROM pg_index i
     WHERE i.indexrelid IN ('abtest.idx_elements_experiment_covering'::regclass,
                            'abtest.idx_variants_element_covering'::regclass,
                            'abtest.idx_assignments_assigned_at_brin'::regclass,
                            'abtest.idx_experiments_active'::regclass,
                            'abtest.idx_assignments_unconverted'::regclass,
                            'abtest.idx_leads_status_created'::regclass)
       AND (i.indisunique OR NOT i.indisvalid OR NOT i.indisready)
$$, 'the six seed-plan indexes are valid, ready and not unique');

-- the assignment lookup is the unique primary key index on (experiment_id, user_id)
SELECT has_index('abtest', 'assignments', 'idx_assignments_lookup', ARRAY['experiment_id', 'user_id'],
                 'idx_assignments_lookup exists on assignments (experiment_id, user_id)');
SELECT index_is_unique('abtest', 'assignments', 'idx_assignments_lookup', 'idx_assignments_lookup is unique');
SELECT index_is_primary('abtest', 'assignments', 'idx_assignments_lookup', 'idx_assignments_lookup is the primary key index');
SELECT is(pg_get_indexdef('abtest.idx_assignments_lookup'::regclass),
          'CREATE UNIQUE INDEX idx_assignments_lookup ON abtest.assignments USING btree (experiment_id, user_id)',
          'idx_assignments_lookup: UNIQUE btree (experiment_id, user_id)');
SELECT is((SELECT conname::text FROM pg_constraint
            WHERE conrelid = 'abtest.assignments'::regclass AND contype = 'p'),
          'idx_assignments_lookup', 'the primary key constraint of abtest.assignments is idx_assignments_lookup');
SELECT is((SELECT conindid FROM pg_constraint
            WHERE conrelid = 'abtest.assignments'::regclass AND contype = 'p'),
          'abtest.idx_assignments_lookup'::regclass::oid,
          'the primary key constraint uses the index idx_assignments_lookup');
SELECT col_is_pk('abtest', 'assignments', ARRAY['experiment_id', 'user_id'],
                 'abtest.assignments primary key is (experiment_id, user_id)');

-- the other indexes of the schema, also with exact definitions
SELECT is(pg_get_indexdef('abtest.element_variants_one_control'::regclass),
          'CREATE UNIQUE INDEX element_variants_one_control ON abtest.element_variants USING btree (element_id) WHERE is_control',
          'element_variants_one_control: UNIQUE btree (element_id) WHERE is_control');
SELECT is(pg_get_indexdef('abtest.conversions_visitor'::regclass),
          'CREATE INDEX conversions_visitor ON abtest.conversions USING btree (experiment_id, user_id)',
          'conversions_visitor: btree (experiment_id, user_id)');
SELECT is(pg_get_indexdef('abtest.conversions_pkey'::regclass),
          'CREATE UNIQUE INDEX conversions_pkey ON abtest.conversions USING btree (experiment_id, id)',
          'conversions_pkey: UNIQUE btree (experiment_id, id)');
SELECT is(pg_get_indexdef('abtest.variant_counters_pkey'::regclass),
          'CREATE UNIQUE INDEX variant_counters_pkey ON abtest.variant_counters USING btree (experiment_id, slot, variant_id)',
          'variant_counters_pkey: UNIQUE btree (experiment_id, slot, variant_id)');
SELECT is(pg_get_indexdef('abtest.experiment_timeline_pkey'::regclass),
          'CREATE UNIQUE INDEX experiment_timeline_pkey ON abtest.experiment_timeline USING btree (experiment_id, bucket, slot)',
          'experiment_timeline_pkey: UNIQUE btree (experiment_id, bucket, slot)');
SELECT is(pg_get_indexdef('abtest.variant_timeline_pkey'::regclass),
          'CREATE UNIQUE INDEX variant_timeline_pkey ON abtest.variant_timeline USING btree (experiment_id, bucket, slot, variant_id)',
          'variant_timeline_pkey: UNIQUE btree (experiment_id, bucket, slot, variant_id)');

-- exactly these indexes on each table (a new index on a hot table must be
-- added here on purpose)
SELECT indexes_are('abtest', 'experiments', ARRAY['experiments_pkey', 'idx_experiments_active',
                                                   'experiments_namespace_exclusive'],
                   'abtest.experiments has exactly its documented indexes');
SELECT indexes_are('abtest', 'experiment_elements',
                   ARRAY['experiment_elements_pkey', 'idx_elements_experiment_covering'],
                   'abtest.experiment_elements has exactly its documented indexes');
SELECT indexes_are('abtest', 'element_variants',
                   ARRAY['element_variants_pkey', 'element_variants_one_control', 'idx_variants_element_covering'],
                   'abtest.element_variants has exactly its documented indexes');
SELECT indexes_are('abtest', 'assignments',
                   ARRAY['idx_assignments_lookup', 'idx_assignments_assigned_at_brin', 'idx_assignments_unconverted',
                         'assignments_converted'],
                   'abtest.assignments has exactly its documented indexes');
SELECT indexes_are('abtest', 'conversions', ARRAY['conversions_pkey', 'conversions_visitor'],
                   'abtest.conversions has exactly its documented indexes');
SELECT indexes_are('abtest', 'leads', ARRAY['leads_pkey', 'idx_leads_status_created'],
                   'abtest.leads has exactly its documented indexes');
SELECT indexes_are('abtest', 'variant_counters', ARRAY['variant_counters_pkey', 'variant_counters_unsettled'],
                   'abtest.variant_counters has exactly its documented indexes');
SELECT indexes_are('abtest', 'experiment_timeline', ARRAY['experiment_timeline_pkey', 'experiment_timeline_unsettled'],
                   'abtest.experiment_timeline has exactly its documented indexes');
SELECT indexes_are('abtest', 'variant_timeline', ARRAY['variant_timeline_pkey', 'variant_timeline_unsettled'],
                   'abtest.variant_timeline has exactly its documented indexes');
-- 1.1 (issue 11): the timeline's partial first bucket reads converted
-- assignments here; the settler finds the rows not folded yet (slots 1 and up)
SELECT is(pg_get_indexdef('abtest.assignments_converted'::regclass),
          'CREATE INDEX assignments_converted ON abtest.assignments USING btree (experiment_id, assigned_at) WHERE (converted_at IS NOT NULL)',
          'assignments_converted: btree (experiment_id, assigned_at) WHERE converted_at IS NOT NULL');
SELECT is(pg_get_indexdef('abtest.variant_counters_unsettled'::regclass),
          'CREATE INDEX variant_counters_unsettled ON abtest.variant_counters USING btree (experiment_id) WHERE (slot <> 0)',
          'variant_counters_unsettled: btree (experiment_id) WHERE slot <> 0');
SELECT is(pg_get_indexdef('abtest.experiment_timeline_unsettled'::regclass),
          'CREATE INDEX experiment_timeline_unsettled ON abtest.experiment_timeline USING btree (experiment_id) WHERE (slot <> 0)',
          'experiment_timeline_unsettled: btree (experiment_id) WHERE slot <> 0');
SELECT is(pg_get_indexdef('abtest.variant_timeline_unsettled'::regclass),
          'CREATE INDEX variant_timeline_unsettled ON abtest.variant_timeline USING btree (experiment_id) WHERE (slot <> 0)',
          'variant_timeline_unsettled: btree (experiment_id) WHERE slot <> 0');
-- the per-goal sums of abt_metric_stats are folded by the settler too
SELECT indexes_are('abtest', 'goal_counters', ARRAY['goal_counters_pkey', 'goal_counters_unsettled'],
                   'abtest.goal_counters has exactly its documented indexes');
SELECT is(pg_get_indexdef('abtest.goal_counters_unsettled'::regclass),
          'CREATE INDEX goal_counters_unsettled ON abtest.goal_counters USING btree (experiment_id) WHERE (slot <> 0)',
          'goal_counters_unsettled: btree (experiment_id) WHERE slot <> 0');
-- 1.1 (issue 12): the pins, and the namespace exclusion (a GiST expression
-- index, partial: completed experiments free their range)
SELECT indexes_are('abtest', 'forced_variants', ARRAY['forced_variants_pkey'],
                   'abtest.forced_variants has exactly its documented indexes');
SELECT is(pg_get_indexdef('abtest.experiments_namespace_exclusive'::regclass),
          'CREATE INDEX experiments_namespace_exclusive ON abtest.experiments USING gist (abtest.namespace_slot(user_id, namespace, namespace_start, namespace_end)) WHERE ((namespace IS NOT NULL) AND (status <> ''completed''::text))',
          'experiments_namespace_exclusive: gist (namespace_slot(...)) WHERE namespace IS NOT NULL AND status <> ''completed''');

-- the planner can use the partial indexes for the queries they were made for
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $fn$;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT matches(pg_temp.plan_of($$SELECT user_id FROM abtest.assignments
                                  WHERE experiment_id = '00000000-0000-4000-8000-000000000001'
                                    AND converted_at IS NULL
                                  ORDER BY assigned_at DESC LIMIT 10$$),
               'idx_assignments_unconverted',
               'the latest unconverted visitors of an experiment are read from idx_assignments_unconverted');
SELECT matches(pg_temp.plan_of($$SELECT id FROM abtest.experiments
                                  WHERE user_id = '00000000-0000-4000-8000-000000000002'
                                    AND status = 'active'
                                  ORDER BY created_at DESC$$),
               'idx_experiments_active',
               'an account''s active experiments are read from idx_experiments_active');
SELECT matches(pg_temp.plan_of($$SELECT id FROM abtest.leads WHERE status = 'new'
                                  ORDER BY created_at DESC LIMIT 10$$),
               'idx_leads_status_created',
               'the newest leads of a status are read from idx_leads_status_created');
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT * FROM finish();
ROLLBACK;
