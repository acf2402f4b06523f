-- pgTAP: the abtest schema -- tables, primary keys, columns (type, NOT NULL,
-- default), the distribution key experiment_id in every primary key and
-- unique constraint of the per-visitor and counter tables, CHECK constraints,
-- and plain INSERTs naming only the documented columns.
BEGIN;
SELECT plan(299);

CREATE EXTENSION abtest;

SELECT has_schema('abtest', 'schema abtest exists');

-- every documented table exists and has a primary key on the documented columns
SELECT has_table('abtest', 'experiments', 'table abtest.experiments exists');
SELECT has_pk('abtest', 'experiments', 'abtest.experiments has a primary key');
SELECT col_is_pk('abtest', 'experiments', ARRAY['id']::name[], 'abtest.experiments primary key is (id)');
SELECT has_table('abtest', 'experiment_elements', 'table abtest.experiment_elements exists');
SELECT has_pk('abtest', 'experiment_elements', 'abtest.experiment_elements has a primary key');
SELECT col_is_pk('abtest', 'experiment_elements', ARRAY['id']::name[], 'abtest.experiment_elements primary key is (id)');
SELECT has_table('abtest', 'element_variants', 'table abtest.element_variants exists');
SELECT has_pk('abtest', 'element_variants', 'abtest.element_variants has a primary key');
SELECT col_is_pk('abtest', 'element_variants', ARRAY['id']::name[], 'abtest.element_variants primary key is (id)');
SELECT has_table('abtest', 'assignments', 'table abtest.assignments exists');
SELECT has_pk('abtest', 'assignments', 'abtest.assignments has a primary key');
SELECT col_is_pk('abtest', 'assignments', ARRAY['experiment_id', 'user_id']::name[], 'abtest.assignments primary key is (experiment_id, user_id)');
SELECT has_table('abtest', 'conversions', 'table abtest.conversions exists');
SELECT has_pk('abtest', 'conversions', 'abtest.conversions has a primary key');
SELECT col_is_pk('abtest', 'conversions', ARRAY['experiment_id', 'id']::name[], 'abtest.conversions primary key is (experiment_id, id)');
SELECT has_table('abtest', 'leads', 'table abtest.leads exists');
SELECT has_pk('abtest', 'leads', 'abtest.leads has a primary key');
SELECT col_is_pk('abtest', 'leads', ARRAY['id']::name[], 'abtest.leads primary key is (id)');
SELECT has_table('abtest', 'variant_counters', 'table abtest.variant_counters exists');
SELECT has_pk('abtest', 'variant_counters', 'abtest.variant_counters has a primary key');
SELECT col_is_pk('abtest', 'variant_counters', ARRAY['experiment_id', 'slot', 'variant_id']::name[], 'abtest.variant_counters primary key is (experiment_id, slot, variant_id)');
SELECT has_table('abtest', 'experiment_timeline', 'table abtest.experiment_timeline exists');
SELECT has_pk('abtest', 'experiment_timeline', 'abtest.experiment_timeline has a primary key');
SELECT col_is_pk('abtest', 'experiment_timeline', ARRAY['experiment_id', 'bucket', 'slot']::name[], 'abtest.experiment_timeline primary key is (experiment_id, bucket, slot)');
SELECT has_table('abtest', 'variant_timeline', 'table abtest.variant_timeline exists');
SELECT has_pk('abtest', 'variant_timeline', 'abtest.variant_timeline has a primary key');
SELECT col_is_pk('abtest', 'variant_timeline', ARRAY['experiment_id', 'bucket', 'slot', 'variant_id']::name[], 'abtest.variant_timeline primary key is (experiment_id, bucket, slot, variant_id)');
SELECT is(constraint_name, 'idx_assignments_lookup', 'the primary key of abtest.assignments is named idx_assignments_lookup')
  FROM information_schema.table_constraints
 WHERE table_schema = 'abtest' AND table_name = 'assignments' AND constraint_type = 'PRIMARY KEY';
SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind IN ('r', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
$$, 'every table of schema abtest has a primary key');

-- columns: type, NOT NULL, default

-- abtest.experiments
SELECT col_type_is('abtest', 'experiments', 'id', 'uuid', 'abtest.experiments.id is uuid');
SELECT col_not_null('abtest', 'experiments', 'id', 'abtest.experiments.id is NOT NULL');
SELECT col_default_is('abtest', 'experiments', 'id', 'gen_random_uuid()'::text, 'abtest.experiments.id defaults to gen_random_uuid()');
SELECT col_type_is('abtest', 'experiments', 'user_id', 'uuid', 'abtest.experiments.user_id is uuid');
SELECT col_is_null('abtest', 'experiments', 'user_id', 'abtest.experiments.user_id is nullable');
SELECT col_hasnt_default('abtest', 'experiments', 'user_id', 'abtest.experiments.user_id has no default');
SELECT col_type_is('abtest', 'experiments', 'name', 'text', 'abtest.experiments.name is text');
SELECT col_not_null('abtest', 'experiments', 'name', 'abtest.experiments.name is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiments', 'name', 'abtest.experiments.name has no default');
SELECT col_type_is('abtest', 'experiments', 'status', 'text', 'abtest.experiments.status is text');
SELECT col_not_null('abtest', 'experiments', 'status', 'abtest.experiments.status is NOT NULL');
SELECT col_default_is('abtest', 'experiments', 'status', 'draft'::text, 'abtest.experiments.status defaults to draft');
SELECT col_type_is('abtest', 'experiments', 'seed', 'text', 'abtest.experiments.seed is text');
SELECT col_not_null('abtest', 'experiments', 'seed', 'abtest.experiments.seed is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiments', 'seed', 'abtest.experiments.seed has no default');
SELECT col_type_is('abtest', 'experiments', 'coverage', 'double precision', 'abtest.experiments.coverage is double precision');
SELECT col_not_null('abtest', 'experiments', 'coverage', 'abtest.experiments.coverage is NOT NULL');
SELECT col_default_is('abtest', 'experiments', 'coverage', '1'::text, 'abtest.experiments.coverage defaults to 1');
SELECT col_type_is('abtest', 'experiments', 'created_at', 'timestamp with time zone', 'abtest.experiments.created_at is timestamp with time zone');
SELECT col_not_null('abtest', 'experiments', 'created_at', 'abtest.experiments.created_at is NOT NULL');
SELECT col_default_is('abtest', 'experiments', 'created_at', 'now()'::text, 'abtest.experiments.created_at defaults to now()');
SELECT col_type_is('abtest', 'experiments', 'config_version', 'bigint', 'abtest.experiments.config_version is bigint');
SELECT col_not_null('abtest', 'experiments', 'config_version', 'abtest.experiments.config_version is NOT NULL');
SELECT col_default_is('abtest', 'experiments', 'config_version', 'nextval(''abtest.config_version_seq''::regclass)'::text, 'abtest.experiments.config_version defaults to nextval(''abtest.config_version_seq''::regclass)');

-- abtest.experiment_elements
SELECT col_type_is('abtest', 'experiment_elements', 'id', 'uuid', 'abtest.experiment_elements.id is uuid');
SELECT col_not_null('abtest', 'experiment_elements', 'id', 'abtest.experiment_elements.id is NOT NULL');
SELECT col_default_is('abtest', 'experiment_elements', 'id', 'gen_random_uuid()'::text, 'abtest.experiment_elements.id defaults to gen_random_uuid()');
SELECT col_type_is('abtest', 'experiment_elements', 'experiment_id', 'uuid', 'abtest.experiment_elements.experiment_id is uuid');
SELECT col_not_null('abtest', 'experiment_elements', 'experiment_id', 'abtest.experiment_elements.experiment_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiment_elements', 'experiment_id', 'abtest.experiment_elements.experiment_id has no default');
SELECT col_type_is('abtest', 'experiment_elements', 'name', 'text', 'abtest.experiment_elements.name is text');
SELECT col_not_null('abtest', 'experiment_elements', 'name', 'abtest.experiment_elements.name is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiment_elements', 'name', 'abtest.experiment_elements.name has no default');
SELECT col_type_is('abtest', 'experiment_elements', 'selector', 'text', 'abtest.experiment_elements.selector is text');
SELECT col_is_null('abtest', 'experiment_elements', 'selector', 'abtest.experiment_elements.selector is nullable');
SELECT col_hasnt_default('abtest', 'experiment_elements', 'selector', 'abtest.experiment_elements.selector has no default');
SELECT col_type_is('abtest', 'experiment_elements', 'seed', 'text', 'abtest.experiment_elements.seed is text');
SELECT col_not_null('abtest', 'experiment_elements', 'seed', 'abtest.experiment_elements.seed is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiment_elements', 'seed', 'abtest.experiment_elements.seed has no default');
SELECT col_type_is('abtest', 'experiment_elements', 'position', 'integer', 'abtest.experiment_elements.position is integer');
SELECT col_not_null('abtest', 'experiment_elements', 'position', 'abtest.experiment_elements.position is NOT NULL');
SELECT col_default_is('abtest', 'experiment_elements', 'position', '0'::text, 'abtest.experiment_elements.position defaults to 0');
SELECT col_type_is('abtest', 'experiment_elements', 'created_at', 'timestamp with time zone', 'abtest.experiment_elements.created_at is timestamp with time zone');
SELECT col_not_null('abtest', 'experiment_elements', 'created_at', 'abtest.experiment_elements.created_at is NOT NULL');
SELECT col_default_is('abtest', 'experiment_elements', 'created_at', 'now()'::text, 'abtest.experiment_elements.created_at defaults to now()');

-- abtest.element_variants
SELECT col_type_is('abtest', 'element_variants', 'id', 'uuid', 'abtest.element_variants.id is uuid');
SELECT col_not_null('abtest', 'element_variants', 'id', 'abtest.element_variants.id is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'id', 'gen_random_uuid()'::text, 'abtest.element_variants.id defaults to gen_random_uuid()');
SELECT col_type_is('abtest', 'element_variants', 'element_id', 'uuid', 'abtest.element_variants.element_id is uuid');
SELECT col_not_null('abtest', 'element_variants', 'element_id', 'abtest.element_variants.element_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'element_variants', 'element_id', 'abtest.element_variants.element_id has no default');
SELECT col_type_is('abtest', 'element_variants', 'name', 'text', 'abtest.element_variants.name is text');
SELECT col_not_null('abtest', 'element_variants', 'name', 'abtest.element_variants.name is NOT NULL');
SELECT col_hasnt_default('abtest', 'element_variants', 'name', 'abtest.element_variants.name has no default');
SELECT col_type_is('abtest', 'element_variants', 'content', 'jsonb', 'abtest.element_variants.content is jsonb');
SELECT col_not_null('abtest', 'element_variants', 'content', 'abtest.element_variants.content is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'content', '{}'::text, 'abtest.element_variants.content defaults to {}');
SELECT col_type_is('abtest', 'element_variants', 'weight', 'double precision', 'abtest.element_variants.weight is double precision');
SELECT col_not_null('abtest', 'element_variants', 'weight', 'abtest.element_variants.weight is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'weight', '1'::text, 'abtest.element_variants.weight defaults to 1');
SELECT col_type_is('abtest', 'element_variants', 'is_control', 'boolean', 'abtest.element_variants.is_control is boolean');
SELECT col_not_null('abtest', 'element_variants', 'is_control', 'abtest.element_variants.is_control is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'is_control', 'false'::text, 'abtest.element_variants.is_control defaults to false');
SELECT col_type_is('abtest', 'element_variants', 'position', 'integer', 'abtest.element_variants.position is integer');
SELECT col_not_null('abtest', 'element_variants', 'position', 'abtest.element_variants.position is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'position', '0'::text, 'abtest.element_variants.position defaults to 0');
SELECT col_type_is('abtest', 'element_variants', 'total_allocations', 'bigint', 'abtest.element_variants.total_allocations is bigint');
SELECT col_not_null('abtest', 'element_variants', 'total_allocations', 'abtest.element_variants.total_allocations is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'total_allocations', '0'::text, 'abtest.element_variants.total_allocations defaults to 0');
SELECT col_type_is('abtest', 'element_variants', 'total_conversions', 'bigint', 'abtest.element_variants.total_conversions is bigint');
SELECT col_not_null('abtest', 'element_variants', 'total_conversions', 'abtest.element_variants.total_conversions is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'total_conversions', '0'::text, 'abtest.element_variants.total_conversions defaults to 0');
SELECT col_type_is('abtest', 'element_variants', 'conversion_rate', 'double precision', 'abtest.element_variants.conversion_rate is double precision');
SELECT col_not_null('abtest', 'element_variants', 'conversion_rate', 'abtest.element_variants.conversion_rate is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'conversion_rate', '0'::text, 'abtest.element_variants.conversion_rate defaults to 0');
SELECT col_type_is('abtest', 'element_variants', 'created_at', 'timestamp with time zone', 'abtest.element_variants.created_at is timestamp with time zone');
SELECT col_not_null('abtest', 'element_variants', 'created_at', 'abtest.element_variants.created_at is NOT NULL');
SELECT col_default_is('abtest', 'element_variants', 'created_at', 'now()'::text, 'abtest.element_variants.created_at defaults to now()');

-- abtest.assignments
SELECT col_type_is('abtest', 'assignments', 'experiment_id', 'uuid', 'abtest.assignments.experiment_id is uuid');
SELECT col_not_null('abtest', 'assignments', 'experiment_id', 'abtest.assignments.experiment_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'assignments', 'experiment_id', 'abtest.assignments.experiment_id has no default');
SELECT col_type_is('abtest', 'assignments', 'user_id', 'text', 'abtest.assignments.user_id is text');
SELECT col_not_null('abtest', 'assignments', 'user_id', 'abtest.assignments.user_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'assignments', 'user_id', 'abtest.assignments.user_id has no default');
SELECT col_type_is('abtest', 'assignments', 'variants', 'jsonb', 'abtest.assignments.variants is jsonb');
SELECT col_not_null('abtest', 'assignments', 'variants', 'abtest.assignments.variants is NOT NULL');
SELECT col_hasnt_default('abtest', 'assignments', 'variants', 'abtest.assignments.variants has no default');
SELECT col_type_is('abtest', 'assignments', 'assigned_at', 'timestamp with time zone', 'abtest.assignments.assigned_at is timestamp with time zone');
SELECT col_not_null('abtest', 'assignments', 'assigned_at', 'abtest.assignments.assigned_at is NOT NULL');
SELECT col_default_is('abtest', 'assignments', 'assigned_at', 'now()'::text, 'abtest.assignments.assigned_at defaults to now()');
SELECT col_type_is('abtest', 'assignments', 'converted_at', 'timestamp with time zone', 'abtest.assignments.converted_at is timestamp with time zone');
SELECT col_is_null('abtest', 'assignments', 'converted_at', 'abtest.assignments.converted_at is nullable');
SELECT col_hasnt_default('abtest', 'assignments', 'converted_at', 'abtest.assignments.converted_at has no default');

-- abtest.conversions
SELECT col_type_is('abtest', 'conversions', 'experiment_id', 'uuid', 'abtest.conversions.experiment_id is uuid');
SELECT col_not_null('abtest', 'conversions', 'experiment_id', 'abtest.conversions.experiment_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'conversions', 'experiment_id', 'abtest.conversions.experiment_id has no default');
SELECT col_type_is('abtest', 'conversions', 'id', 'bigint', 'abtest.conversions.id is bigint');
SELECT col_not_null('abtest', 'conversions', 'id', 'abtest.conversions.id is NOT NULL');
SELECT is((SELECT attidentity FROM pg_attribute WHERE attrelid = 'abtest.conversions'::regclass AND attname = 'id'), 'a'::"char", 'abtest.conversions.id is GENERATED ALWAYS AS IDENTITY');
SELECT col_type_is('abtest', 'conversions', 'user_id', 'text', 'abtest.conversions.user_id is text');
SELECT col_not_null('abtest', 'conversions', 'user_id', 'abtest.conversions.user_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'conversions', 'user_id', 'abtest.conversions.user_id has no default');
SELECT col_type_is('abtest', 'conversions', 'goal', 'text', 'abtest.conversions.goal is text');
SELECT col_not_null('abtest', 'conversions', 'goal', 'abtest.conversions.goal is NOT NULL');
SELECT col_default_is('abtest', 'conversions', 'goal', 'conversion'::text, 'abtest.conversions.goal defaults to conversion');
SELECT col_type_is('abtest', 'conversions', 'value', 'numeric', 'abtest.conversions.value is numeric');
SELECT col_is_null('abtest', 'conversions', 'value', 'abtest.conversions.value is nullable');
SELECT col_hasnt_default('abtest', 'conversions', 'value', 'abtest.conversions.value has no default');
SELECT col_type_is('abtest', 'conversions', 'created_at', 'timestamp with time zone', 'abtest.conversions.created_at is timestamp with time zone');
SELECT col_not_null('abtest', 'conversions', 'created_at', 'abtest.conversions.created_at is NOT NULL');
SELECT col_default_is('abtest', 'conversions', 'created_at', 'now()'::text, 'abtest.conversions.created_at defaults to now()');

-- abtest.leads
SELECT col_type_is('abtest', 'leads', 'id', 'bigint', 'abtest.leads.id is bigint');
SELECT col_not_null('abtest', 'leads', 'id', 'abtest.leads.id is NOT NULL');
SELECT is((SELECT attidentity FROM pg_attribute WHERE attrelid = 'abtest.leads'::regclass AND attname = 'id'), 'a'::"char", 'abtest.leads.id is GENERATED ALWAYS AS IDENTITY');
SELECT col_type_is('abtest', 'leads', 'status', 'text', 'abtest.leads.status is text');
SELECT col_not_null('abtest', 'leads', 'status', 'abtest.leads.status is NOT NULL');
SELECT col_default_is('abtest', 'leads', 'status', 'new'::text, 'abtest.leads.status defaults to new');
SELECT col_type_is('abtest', 'leads', 'payload', 'jsonb', 'abtest.leads.payload is jsonb');
SELECT col_not_null('abtest', 'leads', 'payload', 'abtest.leads.payload is NOT NULL');
SELECT col_default_is('abtest', 'leads', 'payload', '{}'::text, 'abtest.leads.payload defaults to {}');
SELECT col_type_is('abtest', 'leads', 'experiment_id', 'uuid', 'abtest.leads.experiment_id is uuid');
SELECT col_is_null('abtest', 'leads', 'experiment_id', 'abtest.leads.experiment_id is nullable');
SELECT col_hasnt_default('abtest', 'leads', 'experiment_id', 'abtest.leads.experiment_id has no default');
SELECT col_type_is('abtest', 'leads', 'variant_id', 'uuid', 'abtest.leads.variant_id is uuid');
SELECT col_is_null('abtest', 'leads', 'variant_id', 'abtest.leads.variant_id is nullable');
SELECT col_hasnt_default('abtest', 'leads', 'variant_id', 'abtest.leads.variant_id has no default');
SELECT col_type_is('abtest', 'leads', 'user_id', 'text', 'abtest.leads.user_id is text');
SELECT col_is_null('abtest', 'leads', 'user_id', 'abtest.leads.user_id is nullable');
SELECT col_hasnt_default('abtest', 'leads', 'user_id', 'abtest.leads.user_id has no default');
SELECT col_type_is('abtest', 'leads', 'created_at', 'timestamp with time zone', 'abtest.leads.created_at is timestamp with time zone');
SELECT col_not_null('abtest', 'leads', 'created_at', 'abtest.leads.created_at is NOT NULL');
SELECT col_default_is('abtest', 'leads', 'created_at', 'now()'::text, 'abtest.leads.created_at defaults to now()');

-- abtest.variant_counters
SELECT col_type_is('abtest', 'variant_counters', 'experiment_id', 'uuid', 'abtest.variant_counters.experiment_id is uuid');
SELECT col_not_null('abtest', 'variant_counters', 'experiment_id', 'abtest.variant_counters.experiment_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'variant_counters', 'experiment_id', 'abtest.variant_counters.experiment_id has no default');
SELECT col_type_is('abtest', 'variant_counters', 'variant_id', 'uuid', 'abtest.variant_counters.variant_id is uuid');
SELECT col_not_null('abtest', 'variant_counters', 'variant_id', 'abtest.variant_counters.variant_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'variant_counters', 'variant_id', 'abtest.variant_counters.variant_id has no default');
SELECT col_type_is('abtest', 'variant_counters', 'slot', 'integer', 'abtest.variant_counters.slot is integer');
SELECT col_not_null('abtest', 'variant_counters', 'slot', 'abtest.variant_counters.slot is NOT NULL');
SELECT col_hasnt_default('abtest', 'variant_counters', 'slot', 'abtest.variant_counters.slot has no default');
SELECT col_type_is('abtest', 'variant_counters', 'allocations', 'bigint', 'abtest.variant_counters.allocations is bigint');
SELECT col_not_null('abtest', 'variant_counters', 'allocations', 'abtest.variant_counters.allocations is NOT NULL');
SELECT col_default_is('abtest', 'variant_counters', 'allocations', '0'::text, 'abtest.variant_counters.allocations defaults to 0');
SELECT col_type_is('abtest', 'variant_counters', 'conversions', 'bigint', 'abtest.variant_counters.conversions is bigint');
SELECT col_not_null('abtest', 'variant_counters', 'conversions', 'abtest.variant_counters.conversions is NOT NULL');
SELECT col_default_is('abtest', 'variant_counters', 'conversions', '0'::text, 'abtest.variant_counters.conversions defaults to 0');

-- abtest.experiment_timeline
SELECT col_type_is('abtest', 'experiment_timeline', 'experiment_id', 'uuid', 'abtest.experiment_timeline.experiment_id is uuid');
SELECT col_not_null('abtest', 'experiment_timeline', 'experiment_id', 'abtest.experiment_timeline.experiment_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiment_timeline', 'experiment_id', 'abtest.experiment_timeline.experiment_id has no default');
SELECT col_type_is('abtest', 'experiment_timeline', 'bucket', 'timestamp with time zone', 'abtest.experiment_timeline.bucket is timestamp with time zone');
SELECT col_not_null('abtest', 'experiment_timeline', 'bucket', 'abtest.experiment_timeline.bucket is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiment_timeline', 'bucket', 'abtest.experiment_timeline.bucket has no default');
SELECT col_type_is('abtest', 'experiment_timeline', 'slot', 'integer', 'abtest.experiment_timeline.slot is integer');
SELECT col_not_null('abtest', 'experiment_timeline', 'slot', 'abtest.experiment_timeline.slot is NOT NULL');
SELECT col_hasnt_default('abtest', 'experiment_timeline', 'slot', 'abtest.experiment_timeline.slot has no default');
SELECT col_type_is('abtest', 'experiment_timeline', 'assignments', 'bigint', 'abtest.experiment_timeline.assignments is bigint');
SELECT col_not_null('abtest', 'experiment_timeline', 'assignments', 'abtest.experiment_timeline.assignments is NOT NULL');
SELECT col_default_is('abtest', 'experiment_timeline', 'assignments', '0'::text, 'abtest.experiment_timeline.assignments defaults to 0');
SELECT col_type_is('abtest', 'experiment_timeline', 'conversions', 'bigint', 'abtest.experiment_timeline.conversions is bigint');
SELECT col_not_null('abtest', 'experiment_timeline', 'conversions', 'abtest.experiment_timeline.conversions is NOT NULL');
SELECT col_default_is('abtest', 'experiment_timeline', 'conversions', '0'::text, 'abtest.experiment_timeline.conversions defaults to 0');

-- abtest.variant_timeline
SELECT col_type_is('abtest', 'variant_timeline', 'experiment_id', 'uuid', 'abtest.variant_timeline.experiment_id is uuid');
SELECT col_not_null('abtest', 'variant_timeline', 'experiment_id', 'abtest.variant_timeline.experiment_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'variant_timeline', 'experiment_id', 'abtest.variant_timeline.experiment_id has no default');
SELECT col_type_is('abtest', 'variant_timeline', 'variant_id', 'uuid', 'abtest.variant_timeline.variant_id is uuid');
SELECT col_not_null('abtest', 'variant_timeline', 'variant_id', 'abtest.variant_timeline.variant_id is NOT NULL');
SELECT col_hasnt_default('abtest', 'variant_timeline', 'variant_id', 'abtest.variant_timeline.variant_id has no default');
SELECT col_type_is('abtest', 'variant_timeline', 'bucket', 'timestamp with time zone', 'abtest.variant_timeline.bucket is timestamp with time zone');
SELECT col_not_null('abtest', 'variant_timeline', 'bucket', 'abtest.variant_timeline.bucket is NOT NULL');
SELECT col_hasnt_default('abtest', 'variant_timeline', 'bucket', 'abtest.variant_timeline.bucket has no default');
SELECT col_type_is('abtest', 'variant_timeline', 'slot', 'integer', 'abtest.variant_timeline.slot is integer');
SELECT col_not_null('abtest', 'variant_timeline', 'slot', 'abtest.variant_timeline.slot is NOT NULL');
SELECT col_hasnt_default('abtest', 'variant_timeline', 'slot', 'abtest.variant_timeline.slot has no default');
SELECT col_type_is('abtest', 'variant_timeline', 'assignments', 'bigint', 'abtest.variant_timeline.assignments is bigint');
SELECT col_not_null('abtest', 'variant_timeline', 'assignments', 'abtest.variant_timeline.assignments is NOT NULL');
SELECT col_default_is('abtest', 'variant_timeline', 'assignments', '0'::text, 'abtest.variant_timeline.assignments defaults to 0');
SELECT col_type_is('abtest', 'variant_timeline', 'conversions', 'bigint', 'abtest.variant_timeline.conversions is bigint');
SELECT col_not_null('abtest', 'variant_timeline', 'conversions', 'abtest.variant_timeline.conversions is NOT NULL');
SELECT col_default_is('abtest', 'variant_timeline', 'conversions', '0'::text, 'abtest.variant_timeline.conversions defaults to 0');

-- experiment_id (the distribution key) is part of every primary key, unique
-- and exclusion constraint and of every unique index of the per-visitor and
-- counter tables
SELECT is_empty($$
    SELECT k.conname FROM pg_constraint k
     WHERE k.conrelid = 'abtest.assignments'::regclass AND k.contype IN ('p', 'u', 'x')
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = k.conrelid AND a.attname = 'experiment_id') = ANY (k.conkey)
$$, 'every primary key/unique constraint of abtest.assignments includes experiment_id');
SELECT is_empty($$
    SELECT i.indexrelid::regclass::text FROM pg_index i
     WHERE i.indrelid = 'abtest.assignments'::regclass AND i.indisunique
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = i.indrelid AND a.attname = 'experiment_id') = ANY (i.indkey::int2[])
$$, 'every unique index of abtest.assignments includes experiment_id');
SELECT is_empty($$
    SELECT k.conname FROM pg_constraint k
     WHERE k.conrelid = 'abtest.conversions'::regclass AND k.contype IN ('p', 'u', 'x')
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = k.conrelid AND a.attname = 'experiment_id') = ANY (k.conkey)
$$, 'every primary key/unique constraint of abtest.conversions includes experiment_id');
SELECT is_empty($$
    SELECT i.indexrelid::regclass::text FROM pg_index i
     WHERE i.indrelid = 'abtest.conversions'::regclass AND i.indisunique
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = i.indrelid AND a.attname = 'experiment_id') = ANY (i.indkey::int2[])
$$, 'every unique index of abtest.conversions includes experiment_id');
SELECT is_empty($$
    SELECT k.conname FROM pg_constraint k
     WHERE k.conrelid = 'abtest.variant_counters'::regclass AND k.contype IN ('p', 'u', 'x')
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = k.conrelid AND a.attname = 'experiment_id') = ANY (k.conkey)
$$, 'every primary key/unique constraint of abtest.variant_counters includes experiment_id');
SELECT is_empty($$
    SELECT i.indexrelid::regclass::text FROM pg_index i
     WHERE i.indrelid = 'abtest.variant_counters'::regclass AND i.indisunique
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = i.indrelid AND a.attname = 'experiment_id') = ANY (i.indkey::int2[])
$$, 'every unique index of abtest.variant_counters includes experiment_id');
SELECT is_empty($$
    SELECT k.conname FROM pg_constraint k
     WHERE k.conrelid = 'abtest.experiment_timeline'::regclass AND k.contype IN ('p', 'u', 'x')
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = k.conrelid AND a.attname = 'experiment_id') = ANY (k.conkey)
$$, 'every primary key/unique constraint of abtest.experiment_timeline includes experiment_id');
SELECT is_empty($$
    SELECT i.indexrelid::regclass::text FROM pg_index i
     WHERE i.indrelid = 'abtest.experiment_timeline'::regclass AND i.indisunique
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = i.indrelid AND a.attname = 'experiment_id') = ANY (i.indkey::int2[])
$$, 'every unique index of abtest.experiment_timeline includes experiment_id');
SELECT is_empty($$
    SELECT k.conname FROM pg_constraint k
     WHERE k.conrelid = 'abtest.variant_timeline'::regclass AND k.contype IN ('p', 'u', 'x')
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = k.conrelid AND a.attname = 'experiment_id') = ANY (k.conkey)
$$, 'every primary key/unique constraint of abtest.variant_timeline includes experiment_id');
SELECT is_empty($$
    SELECT i.indexrelid::regclass::text FROM pg_index i
     WHERE i.indrelid = 'abtest.variant_timeline'::regclass AND i.indisunique
       AND NOT (SELECT a.attnum FROM pg_attribute a
                 WHERE a.attrelid = i.indrelid AND a.attname = 'experiment_id') = ANY (i.indkey::int2[])
$$, 'every unique index of abtest.variant_timeline includes experiment_id');

-- CHECK constraints reject bad values (SQLSTATE 23514)
INSERT INTO abtest.experiments (id, name) VALUES ('b0000000-0000-4000-8000-000000000001', 'schema test');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
VALUES ('b0000000-0000-4000-8000-000000000011', 'b0000000-0000-4000-8000-000000000001', 'headline');

SELECT throws_ok($$INSERT INTO abtest.element_variants (element_id, name, weight)
                   VALUES ('b0000000-0000-4000-8000-000000000011', 'v', -1)$$,
                 '23514', NULL, 'weight -1 is rejected');
SELECT throws_ok($$INSERT INTO abtest.element_variants (element_id, name, weight)
                   VALUES ('b0000000-0000-4000-8000-000000000011', 'v', 'Infinity')$$,
                 '23514', NULL, 'weight Infinity is rejected');
SELECT throws_ok($$INSERT INTO abtest.element_variants (element_id, name, weight)
                   VALUES ('b0000000-0000-4000-8000-000000000011', 'v', 'NaN')$$,
                 '23514', NULL, 'weight NaN is rejected');
SELECT lives_ok($$INSERT INTO abtest.element_variants (element_id, name, weight)
                  VALUES ('b0000000-0000-4000-8000-000000000011', 'zero', 0)$$,
                'weight 0 is accepted');
SELECT throws_ok($$INSERT INTO abtest.experiments (name, coverage) VALUES ('x', 1.5)$$,
                 '23514', NULL, 'coverage 1.5 is rejected');
SELECT throws_ok($$INSERT INTO abtest.experiments (name, coverage) VALUES ('x', -0.1)$$,
                 '23514', NULL, 'coverage -0.1 is rejected');
SELECT throws_ok($$INSERT INTO abtest.experiments (name, coverage) VALUES ('x', 'NaN')$$,
                 '23514', NULL, 'coverage NaN is rejected');
SELECT lives_ok($$INSERT INTO abtest.experiments (name, coverage) VALUES ('x0', 0), ('x1', 1)$$,
                'coverage 0 and 1 are accepted');
SELECT throws_ok($$INSERT INTO abtest.experiments (name, status) VALUES ('x', 'bogus')$$,
                 '23514', NULL, 'experiment status bogus is rejected');
SELECT throws_ok($$UPDATE abtest.experiments SET status = 'bogus'
                    WHERE id = 'b0000000-0000-4000-8000-000000000001'$$,
                 '23514', NULL, 'updating an experiment status to bogus is rejected');
SELECT throws_ok($$INSERT INTO abtest.experiments (name, seed) VALUES ('x', '')$$,
                 '23514', NULL, 'an empty experiment seed is rejected');
SELECT throws_ok($$INSERT INTO abtest.experiment_elements (experiment_id, name, seed)
                   VALUES ('b0000000-0000-4000-8000-000000000001', 'e', '')$$,
                 '23514', NULL, 'an empty element seed is rejected');
SELECT throws_ok($$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                   VALUES ('b0000000-0000-4000-8000-000000000001', '', '{}')$$,
                 '23514', NULL, 'an empty visitor id is rejected');
SELECT throws_ok($$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                   VALUES ('b0000000-0000-4000-8000-000000000001', repeat('x', 257), '{}')$$,
                 '23514', NULL, 'a visitor id of 257 characters is rejected');
SELECT lives_ok($$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                  VALUES ('b0000000-0000-4000-8000-000000000001', repeat('é', 256), '{}')$$,
                'a visitor id of 256 (multibyte) characters is accepted');
SELECT throws_ok($$INSERT INTO abtest.leads (status) VALUES ('bogus')$$,
                 '23514', NULL, 'lead status bogus is rejected');
SELECT throws_ok($$INSERT INTO abtest.element_variants (element_id, name, is_control)
                   VALUES ('b0000000-0000-4000-8000-000000000011', 'c1', true),
                          ('b0000000-0000-4000-8000-000000000011', 'c2', true)$$,
                 '23505', NULL, 'an element has at most one control variant');
SELECT throws_ok($$INSERT INTO abtest.experiment_elements (experiment_id, name)
                   VALUES ('b0000000-0000-4000-8000-0000000000ff', 'orphan')$$,
                 '23503', NULL, 'an element of an unknown experiment is rejected');

-- a plain INSERT naming only the documented columns works for every table
SELECT lives_ok($$INSERT INTO abtest.experiments (id, user_id, name, status, coverage)
                  VALUES ('b0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-0000000000aa',
                          'plain', 'active', 0.5)$$,
                'plain INSERT into abtest.experiments');
SELECT lives_ok($$INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position)
                  VALUES ('b0000000-0000-4000-8000-000000000021', 'b0000000-0000-4000-8000-000000000002',
                          'button', '.cta', 1)$$,
                'plain INSERT into abtest.experiment_elements');
SELECT lives_ok($$INSERT INTO abtest.element_variants (id, element_id, name, content, weight, is_control, position)
                  VALUES ('b0000000-0000-4000-8000-000000000211', 'b0000000-0000-4000-8000-000000000021',
                          'red', '{"color": "red"}', 2, true, 1)$$,
                'plain INSERT into abtest.element_variants');
SELECT lives_ok($$INSERT INTO abtest.assignments (experiment_id, user_id, variants, assigned_at)
                  VALUES ('b0000000-0000-4000-8000-000000000002', 'visitor-1',
                          '{"b0000000-0000-4000-8000-000000000021": "b0000000-0000-4000-8000-000000000211"}',
                          '2024-01-01 00:00:00+00')$$,
                'plain INSERT into abtest.assignments');
SELECT lives_ok($$INSERT INTO abtest.conversions (experiment_id, user_id, goal, value)
                  VALUES ('b0000000-0000-4000-8000-000000000002', 'visitor-1', 'purchase', 9.99)$$,
                'plain INSERT into abtest.conversions');
SELECT lives_ok($$INSERT INTO abtest.leads (status, payload, experiment_id, variant_id, user_id)
                  VALUES ('new', '{"email": "a@example.com"}', 'b0000000-0000-4000-8000-000000000002',
                          'b0000000-0000-4000-8000-000000000211', 'visitor-1')$$,
                'plain INSERT into abtest.leads');
SELECT lives_ok($$INSERT INTO abtest.variant_counters (experiment_id, variant_id, slot, allocations, conversions)
                  VALUES ('b0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000211', 1, 1, 0)$$,
                'plain INSERT into abtest.variant_counters');
SELECT lives_ok($$INSERT INTO abtest.experiment_timeline (experiment_id, bucket, slot, assignments, conversions)
                  VALUES ('b0000000-0000-4000-8000-000000000002', '2024-01-01 00:00:00+00', 1, 1, 0)$$,
                'plain INSERT into abtest.experiment_timeline');
SELECT lives_ok($$INSERT INTO abtest.variant_timeline (experiment_id, variant_id, bucket, slot, assignments, conversions)
                  VALUES ('b0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000211',
                          '2024-01-01 00:00:00+00', 1, 1, 0)$$,
                'plain INSERT into abtest.variant_timeline');

-- ... and the smallest INSERTs get the documented defaults
SELECT lives_ok($$INSERT INTO abtest.experiments (id, name) VALUES ('b0000000-0000-4000-8000-000000000003', 'minimal')$$,
                'INSERT into abtest.experiments naming only id and name');
SELECT results_eq($$SELECT status, seed, coverage, user_id IS NULL, config_version IS NOT NULL, created_at = now()
                      FROM abtest.experiments WHERE id = 'b0000000-0000-4000-8000-000000000003'$$,
                  $$VALUES ('draft', 'b0000000-0000-4000-8000-000000000003', 1::float8, true, true, true)$$,
                  'experiment defaults: status draft, seed = id::text, coverage 1, created_at now()');
SELECT lives_ok($$INSERT INTO abtest.experiments (name) VALUES ('no id')$$,
                'INSERT into abtest.experiments naming only name (id from gen_random_uuid())');
SELECT is((SELECT seed = id::text FROM abtest.experiments WHERE name = 'no id'), true,
          'a generated experiment id is also its seed');
SELECT lives_ok($$INSERT INTO abtest.experiment_elements (id, experiment_id, name)
                  VALUES ('b0000000-0000-4000-8000-000000000031', 'b0000000-0000-4000-8000-000000000003', 'minimal')$$,
                'INSERT into abtest.experiment_elements naming only id, experiment_id and name');
SELECT results_eq($$SELECT seed, position, selector IS NULL
                      FROM abtest.experiment_elements WHERE id = 'b0000000-0000-4000-8000-000000000031'$$,
                  $$VALUES ('b0000000-0000-4000-8000-000000000031', 0, true)$$,
                  'element defaults: seed = id::text, position 0');
SELECT lives_ok($$INSERT INTO abtest.element_variants (id, element_id, name)
                  VALUES ('b0000000-0000-4000-8000-000000000311', 'b0000000-0000-4000-8000-000000000031', 'minimal')$$,
                'INSERT into abtest.element_variants naming only id, element_id and name');
SELECT results_eq($$SELECT content, weight, is_control, position, total_allocations, total_conversions, conversion_rate
                      FROM abtest.element_variants WHERE id = 'b0000000-0000-4000-8000-000000000311'$$,
                  $$VALUES ('{}'::jsonb, 1::float8, false, 0, 0::bigint, 0::bigint, 0::float8)$$,
                  'variant defaults: content {}, weight 1, not control, position 0, zero settled counters');
SELECT lives_ok($$INSERT INTO abtest.conversions (experiment_id, user_id)
                  VALUES ('b0000000-0000-4000-8000-000000000003', 'visitor-9')$$,
                'INSERT into abtest.conversions naming only experiment_id and user_id');
SELECT results_eq($$SELECT goal, value IS NULL, id IS NOT NULL FROM abtest.conversions
                     WHERE experiment_id = 'b0000000-0000-4000-8000-000000000003'$$,
                  $$VALUES ('conversion', true, true)$$,
                  'conversion defaults: goal conversion, value NULL, id from the identity');
SELECT throws_ok($$INSERT INTO abtest.conversions (experiment_id, id, user_id)
                   VALUES ('b0000000-0000-4000-8000-000000000003', 1, 'visitor-9')$$,
                 '428C9', NULL, 'conversions.id is GENERATED ALWAYS');
SELECT lives_ok($$INSERT INTO abtest.leads DEFAULT VALUES$$, 'INSERT into abtest.leads DEFAULT VALUES');
SELECT results_eq($$SELECT status, payload FROM abtest.leads WHERE experiment_id IS NULL$$,
                  $$VALUES ('new', '{}'::jsonb)$$,
                  'lead defaults: status new, payload {}');
SELECT lives_ok($$INSERT INTO abtest.variant_counters (experiment_id, variant_id, slot)
                  VALUES ('b0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000311', 7)$$,
                'INSERT into abtest.variant_counters naming only its key');
SELECT results_eq($$SELECT allocations, conversions FROM abtest.variant_counters
                     WHERE experiment_id = 'b0000000-0000-4000-8000-000000000003'$$,
                  $$VALUES (0::bigint, 0::bigint)$$, 'counter defaults: 0 allocations, 0 conversions');

-- 1.1 (issue 12): namespaces and pins
SELECT col_type_is('abtest', 'experiments', c, t, 'abtest.experiments.' || c || ' is ' || t)
  FROM (VALUES ('namespace', 'text'), ('namespace_start', 'double precision'),
               ('namespace_end', 'double precision')) v(c, t);
SELECT col_is_null('abtest', 'experiments', c, 'abtest.experiments.' || c || ' may be NULL (no namespace)')
  FROM unnest(ARRAY['namespace', 'namespace_start', 'namespace_end']::name[]) c;
SELECT col_hasnt_default('abtest', 'experiments', c, 'abtest.experiments.' || c || ' has no default')
  FROM unnest(ARRAY['namespace', 'namespace_start', 'namespace_end']::name[]) c;
SELECT has_check('abtest', 'experiments', 'abtest.experiments has CHECK constraints');
SELECT ok(EXISTS (SELECT FROM pg_constraint WHERE conrelid = 'abtest.experiments'::regclass
                     AND conname = c AND contype = k), format('abtest.experiments has constraint %s (%s)', c, k))
  FROM (VALUES ('experiments_namespace_all_or_none', 'c'), ('experiments_namespace_name_check', 'c'),
               ('experiments_namespace_range_check', 'c'), ('experiments_namespace_exclusive', 'x')) v(c, k);
SELECT has_table('abtest', 'forced_variants', 'table abtest.forced_variants exists');
SELECT col_is_pk('abtest', 'forced_variants', ARRAY['experiment_id', 'user_id', 'element_id']::name[],
                 'abtest.forced_variants primary key is (experiment_id, user_id, element_id)');
SELECT col_type_is('abtest', 'forced_variants', c, t, 'abtest.forced_variants.' || c || ' is ' || t)
  FROM (VALUES ('experiment_id', 'uuid'), ('user_id', 'text'), ('element_id', 'uuid'), ('variant_id', 'uuid'),
               ('note', 'text'), ('created_at', 'timestamp with time zone')) v(c, t);
SELECT col_not_null('abtest', 'forced_variants', c, 'abtest.forced_variants.' || c || ' is NOT NULL')
  FROM unnest(ARRAY['experiment_id', 'user_id', 'element_id', 'variant_id', 'created_at']::name[]) c;
SELECT fk_ok('abtest', 'forced_variants', c, 'abtest', t, 'id', 'abtest.forced_variants.' || c || ' references ' || t)
  FROM (VALUES ('experiment_id', 'experiments'), ('element_id', 'experiment_elements'),
               ('variant_id', 'element_variants')) v(c, t);
SELECT triggers_are('abtest', 'forced_variants', ARRAY['forced_variant_check', 'forced_variant_changed',
                                                       'configuration_truncated'],
                    'abtest.forced_variants: the pin check, the config_version bump and the TRUNCATE check');
SELECT col_type_is('abtest', 'experiments', 'kind', 'text', 'abtest.experiments.kind is text');
SELECT col_not_null('abtest', 'experiments', 'kind', 'abtest.experiments.kind is NOT NULL');
SELECT col_default_is('abtest', 'experiments', 'kind', 'experiment', 'abtest.experiments.kind defaults to experiment');
SELECT col_type_is('abtest', 'experiments', 'holdout_id', 'uuid', 'abtest.experiments.holdout_id is uuid');
SELECT fk_ok('abtest', 'experiments', 'holdout_id', 'abtest', 'experiments', 'id',
             'abtest.experiments.holdout_id references experiments (a holdout)');
SELECT has_trigger('abtest', 'experiments', 'holdout_check', 'abtest.experiments has trigger holdout_check');

SELECT * FROM finish();
ROLLBACK;
