/*
 * stats.c
 *		abt_variant_stats: per-variant results of a dashboard page of
 *		experiments in one call, from the live striped counters.
 *
 * Two SPI queries, whatever the number of experiments: the experiment rows
 * as the caller may see them (status, config_version), and every counter
 * row of those experiments in one index pass, summed here.  Elements and
 * variants come from the backend's configuration cache at that
 * config_version (config_cache.c), so a dashboard polling its page reads no
 * configuration table.  The statistics (stats_math.c) are computed per
 * element against its control variant.  Cost grows with the number of
 * variants and counter slots, never with the number of assignments.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "abtest.h"
#include "stats_math.h"

PG_FUNCTION_INFO_V1(abt_variant_stats);

/* Columns of abtest.variant_stats, in its order (0-based values[] indexes). */
enum
{
	STATS_EXPERIMENT_ID,
	STATS_STATUS,
	STATS_ELEMENT_ID,
	STATS_ELEMENT_NAME,
	STATS_SELECTOR,
	STATS_VARIANT_ID,
	STATS_VARIANT_NAME,
	STATS_IS_CONTROL,
	STATS_WEIGHT,
	STATS_ALLOCATIONS,
	STATS_CONVERSIONS,
	STATS_CONVERSION_RATE,
	STATS_CI_LOW,
	STATS_CI_HIGH,
	STATS_UPLIFT,
	STATS_P_VALUE,
	STATS_CHANCE_TO_BEAT,
	STATS_SRM_P_VALUE,
	STATS_VARIANT_POSITION,
	STATS_COLUMNS
};

/* Result columns of experiments_sql and counters_sql (SPI numbers from 1). */
enum
{
	EXPERIMENTS_ID = 1,
	EXPERIMENTS_STATUS,
	EXPERIMENTS_CONFIG_VERSION
};
enum
{
	COUNTERS_EXPERIMENT_ID = 1,
	COUNTERS_VARIANT_ID,
	COUNTERS_ALLOCATIONS,
	COUNTERS_CONVERSIONS
};

static SPIPlanPtr experiments_plan = NULL;
static SPIPlanPtr counters_plan = NULL;

/* The requested experiments the caller can see (row-level security applies). */
static const char *experiments_sql =
"SELECT e.id, e.status, e.config_version"
"  FROM abtest.experiments e"
" WHERE e.id OPERATOR(pg_catalog.=) ANY ($1)";

/* Every slot's counter row; summed in C (sum(bigint) would go through numeric). */
static const char *counters_sql =
"SELECT vc.experiment_id, vc.variant_id, vc.allocations, vc.conversions"
"  FROM abtest.variant_counters vc"
" WHERE vc.experiment_id OPERATOR(pg_catalog.=) ANY ($1)";

/* The counters of one variant, summed over slots. */
typedef struct CounterKey
{
	pg_uuid_t	experiment_id;
	pg_uuid_t	variant_id;
} CounterKey;

typedef struct CounterSum
{
	CounterKey	key;
	int64		allocations;
	int64		conversions;
} CounterSum;

/* One requested experiment id. */
typedef struct RequestedExperiment
{
	pg_uuid_t	id;				/* hash key */
	bool		visible;		/* the caller can see the experiment */
	bool		emitted;		/* its rows are out (an id may repeat) */
	Datum		status;			/* when visible */
	int64		version;
} RequestedExperiment;

/* What one output row shares with the other rows of its experiment. */
typedef struct StatsOutput
{
	ReturnSetInfo *rsinfo;
	Datum		experiment_id;
	Datum		status;
	HTAB	   *sums;
} StatsOutput;

/*
 * The caller must be allowed to read what the configuration cache stands in
 * for: the columns of `relname` that the statistics show.  A table-level
 * grant or grants on each of those columns will do, as for a query.
 */
static void
check_select(Oid namespace, const char *relname, const char *const *columns)
{
	Oid			relid = get_relname_relid(relname, namespace);
	Oid			user = GetUserId();

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table abtest.%s does not exist", relname)));
	if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK)
		return;
	for (const char *const *c = columns; *c != NULL; c++)
	{
		AttrNumber	attnum = get_attnum(relid, *c);

		if (attnum == InvalidAttrNumber ||
			pg_attribute_aclcheck(relid, attnum, user, ACL_SELECT) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, relname);
	}
}

static void
check_config_privileges(void)
{
	static const char *const element_columns[] =
	{"id", "experiment_id", "name", "selector", "position", NULL};
	static const char *const variant_columns[] =
	{"id", "element_id", "name", "weight", "is_control", "position", NULL};
	Oid			namespace = get_namespace_oid("abtest", false);

	check_select(namespace, "experiment_elements", element_columns);
	check_select(namespace, "element_variants", variant_columns);
}

/* A hash table with binary keys that lives as long as the call's memory. */
static HTAB *
call_hash(const char *name, Size keysize, Size entrysize, long nelem)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(nelem, 16), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Reads and sums the counter rows of the experiments in `ids`. */
static HTAB *
read_counters(Datum ids)
{
	Oid			argtypes[1] = {UUIDARRAYOID};
	Datum		args[1] = {ids};
	HTAB	   *sums;
	TupleDesc	desc;
	int			rc;

	rc = SPI_execute_plan(abt_plan_generic(&counters_plan, counters_sql, 1, argtypes),
						  args, NULL, true, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "reading variant counters");
	desc = SPI_tuptable->tupdesc;

	sums = call_hash("abt_variant_stats counters", sizeof(CounterKey), sizeof(CounterSum),
					 SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		CounterKey	key;
		CounterSum *sum;
		bool		found;
		bool		isnull;

		memcpy(&key.experiment_id, DatumGetUUIDP(SPI_getbinval(tuple, desc, COUNTERS_EXPERIMENT_ID, &isnull)),
			   UUID_LEN);
		memcpy(&key.variant_id, DatumGetUUIDP(SPI_getbinval(tuple, desc, COUNTERS_VARIANT_ID, &isnull)), UUID_LEN);
		sum = hash_search(sums, &key, HASH_ENTER, &found);
		if (!found)
			sum->allocations = sum->conversions = 0;
		if (pg_add_s64_overflow(sum->allocations,
								DatumGetInt64(SPI_getbinval(tuple, desc, COUNTERS_ALLOCATIONS, &isnull)),
								&sum->allocations) ||
			pg_add_s64_overflow(sum->conversions,
								DatumGetInt64(SPI_getbinval(tuple, desc, COUNTERS_CONVERSIONS, &isnull)),
								&sum->conversions))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range")));
	}
	SPI_freetuptable(SPI_tuptable);
	return sums;
}

/* Sets one column of a row being built. */
static inline void
set_column(Datum *values, bool *nulls, int column, Datum value)
{
	values[column] = value;
	nulls[column] = false;
}

/* Sets a float8 column, leaving it NULL where the value is meaningless (NaN). */
static inline void
set_float_column(Datum *values, bool *nulls, int column, double value)
{
	if (!isnan(value) && !isinf(value))
		set_column(values, nulls, column, Float8GetDatum(value));
}

/* Starts a row with the experiment's columns; everything else NULL. */
static void
begin_row(StatsOutput *out, Datum *values, bool *nulls)
{
	memset(nulls, true, sizeof(bool) * STATS_COLUMNS);
	set_column(values, nulls, STATS_EXPERIMENT_ID, out->experiment_id);
	set_column(values, nulls, STATS_STATUS, out->status);
}

/* Emits the rows of one element, with its statistics. */
static void
emit_element(StatsOutput *out, AbtConfig *config, AbtElement *element)
{
	int			n = element->nvariants;
	int64	   *allocations = palloc(sizeof(int64) * (n + 1));
	int64	   *conversions = palloc(sizeof(int64) * (n + 1));
	double	   *weights = palloc(sizeof(double) * (n + 1));
	double		weight_sum = 0.0;
	double		srm = NAN;
	int			control = -1;
	Datum		values[STATS_COLUMNS];
	bool		nulls[STATS_COLUMNS];
	Datum		name = CStringGetTextDatum(element->name);
	Datum		selector = element->selector ? CStringGetTextDatum(element->selector) : (Datum) 0;
	CounterKey	key;

	memcpy(&key.experiment_id, &config->experiment_id, UUID_LEN);
	for (int i = 0; i < n; i++)
	{
		AbtVariant *v = &element->variants[i];
		CounterSum *sum;

		memcpy(&key.variant_id, &v->id, UUID_LEN);
		sum = hash_search(out->sums, &key, HASH_FIND, NULL);
		allocations[i] = sum ? sum->allocations : 0;
		conversions[i] = sum ? sum->conversions : 0;
		weights[i] = v->weight;
		weight_sum += v->weight;
		if (v->is_control)
			control = i;		/* at most one: element_variants_one_control */
	}
	/* with every weight 0 there is no allocation to compare against */
	if (n >= 2 && weight_sum > 0.0)
		srm = abt_stats_srm_p(allocations, weights, n);

	/* an element without variants has one row, variant columns NULL */
	for (int i = 0; i < Max(n, 1); i++)
	{
		AbtVariant *v = &element->variants[i];
		double		rate = NAN,
					low = NAN,
					high = NAN,
					uplift = NAN,
					p = NAN,
					ctb = NAN;

		begin_row(out, values, nulls);
		set_column(values, nulls, STATS_ELEMENT_ID, UUIDPGetDatum(&element->id));
		set_column(values, nulls, STATS_ELEMENT_NAME, name);
		if (element->selector != NULL)
			set_column(values, nulls, STATS_SELECTOR, selector);
		if (n == 0)
		{
			tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
			break;
		}
		set_column(values, nulls, STATS_VARIANT_ID, UUIDPGetDatum(&v->id));
		set_column(values, nulls, STATS_VARIANT_NAME, CStringGetTextDatum(v->name));
		set_column(values, nulls, STATS_IS_CONTROL, BoolGetDatum(v->is_control));
		set_column(values, nulls, STATS_ALLOCATIONS, Int64GetDatum(allocations[i]));
		set_column(values, nulls, STATS_CONVERSIONS, Int64GetDatum(conversions[i]));
		set_column(values, nulls, STATS_VARIANT_POSITION, Int32GetDatum(v->position));
		if (weight_sum > 0.0)
			set_column(values, nulls, STATS_WEIGHT, Float8GetDatum(v->weight / weight_sum));

		if (allocations[i] > 0)
		{
			rate = (double) conversions[i] / (double) allocations[i];
			abt_stats_wilson(conversions[i], allocations[i], ABT_STATS_Z95, &low, &high);
		}
		if (control >= 0 && i != control && allocations[i] > 0 && allocations[control] > 0)
		{
			double		control_rate = (double) conversions[control] / (double) allocations[control];

			uplift = abt_stats_uplift(rate, control_rate);
			p = abt_stats_ztest_p(conversions[i], allocations[i],
								  conversions[control], allocations[control]);
			ctb = abt_stats_chance_to_beat(conversions[i], allocations[i],
										   conversions[control], allocations[control]);
		}
		set_float_column(values, nulls, STATS_CONVERSION_RATE, rate);
		set_float_column(values, nulls, STATS_CI_LOW, low);
		set_float_column(values, nulls, STATS_CI_HIGH, high);
		set_float_column(values, nulls, STATS_UPLIFT, uplift);
		set_float_column(values, nulls, STATS_P_VALUE, p);
		set_float_column(values, nulls, STATS_CHANCE_TO_BEAT, ctb);
		set_float_column(values, nulls, STATS_SRM_P_VALUE, srm);
		tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
	}
}

/*
 * Emits the rows of one requested experiment; config NULL: the caller can't
 * see it (no such experiment, or row-level security).
 */
static void
emit_experiment(StatsOutput *out, AbtConfig *config)
{
	if (config == NULL || config->nelements == 0)
	{
		Datum		values[STATS_COLUMNS];
		bool		nulls[STATS_COLUMNS];

		/* one row: the id alone, or the experiment without elements */
		begin_row(out, values, nulls);
		nulls[STATS_STATUS] = config == NULL;
		tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
		return;
	}
	for (int i = 0; i < config->nelements; i++)
		emit_element(out, config, &config->elements[i]);
}

/*
 * Reads which of the requested experiments the caller can see, with their
 * status and config_version.  The status values point into the query's
 * result, which SPI keeps until SPI_finish.
 */
static HTAB *
read_experiments(Datum ids, Datum *id_values, int nids)
{
	Oid			argtypes[1] = {UUIDARRAYOID};
	Datum		args[1] = {ids};
	HTAB	   *requested;
	TupleDesc	desc;
	int			rc;

	requested = call_hash("abt_variant_stats experiments", sizeof(pg_uuid_t),
						  sizeof(RequestedExperiment), nids);
	for (int i = 0; i < nids; i++)
	{
		bool		found;
		RequestedExperiment *r = hash_search(requested, DatumGetUUIDP(id_values[i]),
											 HASH_ENTER, &found);

		if (!found)
			r->visible = r->emitted = false;
	}

	rc = SPI_execute_plan(abt_plan_generic(&experiments_plan, experiments_sql, 1, argtypes),
						  args, NULL, true, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "reading experiments");
	desc = SPI_tuptable->tupdesc;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;
		RequestedExperiment *r = hash_search(requested,
											 DatumGetUUIDP(SPI_getbinval(tuple, desc, EXPERIMENTS_ID, &isnull)),
											 HASH_FIND, NULL);

		r->visible = true;
		r->status = SPI_getbinval(tuple, desc, EXPERIMENTS_STATUS, &isnull);
		r->version = DatumGetInt64(SPI_getbinval(tuple, desc, EXPERIMENTS_CONFIG_VERSION, &isnull));
	}
	return requested;
}

/*
 * SQL: abt_variant_stats(experiment_ids uuid[]) returns one row per variant
 * of each experiment, ordered by the experiment's first place in the array,
 * element position and variant position.  An id that matches no experiment
 * the caller can see gets one row with its id and NULL everywhere else
 * (status NULL tells it apart); an experiment without elements or an
 * element without variants gets one row with the variant columns NULL.
 *
 * The function is STABLE: both queries and any configuration load read the
 * caller's snapshot, so counters and configuration are of one moment.
 */
Datum
abt_variant_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		ids;
	Datum	   *id_values;
	int			nids;
	HTAB	   *requested;
	StatsOutput out;
	MemoryContext rows_context;

	id_values = abt_arg_experiment_ids(fcinfo, 0, &nids);
	ids = PG_GETARG_DATUM(0);
	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != STATS_COLUMNS)
		elog(ERROR, "abt_variant_stats: the result type has %d columns, expected %d",
			 rsinfo->setDesc->natts, STATS_COLUMNS);
	check_config_privileges();

	SPI_connect();
	requested = read_experiments(ids, id_values, nids);
	out.rsinfo = rsinfo;
	out.sums = read_counters(ids);
	rows_context = AllocSetContextCreate(CurrentMemoryContext, "abt_variant_stats rows",
										 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nids; i++)
	{
		RequestedExperiment *r = hash_search(requested, DatumGetUUIDP(id_values[i]),
											 HASH_FIND, NULL);
		AbtConfig  *config = NULL;
		MemoryContext oldcontext;

		if (r->emitted)
			continue;
		r->emitted = true;
		out.experiment_id = id_values[i];
		out.status = r->status;
		/* SPI calls return to SPI's context: load first, then switch */
		if (r->visible)
			config = abt_config_get(&r->id, r->version);
		oldcontext = MemoryContextSwitchTo(rows_context);
		emit_experiment(&out, config);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rows_context);
	}
	SPI_finish();
	return (Datum) 0;
}
