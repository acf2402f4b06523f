/*
 * stats.c
 *		abt_variant_stats: per-variant results of a dashboard page of
 *		experiments in one call, from the live striped counters.
 *
 * Two SPI queries, whatever the number of experiments (analytics.c): the
 * experiment rows as the caller may see them (status, config_version), and
 * every counter row of those experiments in one index pass, summed there.  Elements and
 * variants come from the backend's configuration cache at that
 * config_version (config_cache.c), so a dashboard polling its page reads no
 * configuration table.  The statistics (stats_math.c) are computed per
 * element against its control variant.  Cost grows with the number of
 * variants and counter slots, never with the number of assignments.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "analytics.h"
#include "checks.h"
#include "config_cache.h"
#include "experiment_config.h"
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

/* What one output row shares with the other rows of its experiment. */
typedef struct StatsOutput
{
	ReturnSetInfo *rsinfo;
	Datum		experiment_id;
	Datum		status;
	HTAB	   *sums;
} StatsOutput;

/* Starts a row with the experiment's columns; everything else NULL. */
static void
begin_row(StatsOutput *out, Datum *values, bool *nulls)
{
	memset(nulls, true, sizeof(bool) * STATS_COLUMNS);
	abt_set_column(values, nulls, STATS_EXPERIMENT_ID, out->experiment_id);
	abt_set_column(values, nulls, STATS_STATUS, out->status);
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
	AbtCounterKey key;

	memcpy(&key.experiment_id, &config->experiment_id, UUID_LEN);
	for (int i = 0; i < n; i++)
	{
		AbtVariant *v = &element->variants[i];
		AbtCounterSum *sum;

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
		abt_set_column(values, nulls, STATS_ELEMENT_ID, UUIDPGetDatum(&element->id));
		abt_set_column(values, nulls, STATS_ELEMENT_NAME, name);
		if (element->selector != NULL)
			abt_set_column(values, nulls, STATS_SELECTOR, selector);
		if (n == 0)
		{
			tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
			break;
		}
		abt_set_column(values, nulls, STATS_VARIANT_ID, UUIDPGetDatum(&v->id));
		abt_set_column(values, nulls, STATS_VARIANT_NAME, CStringGetTextDatum(v->name));
		abt_set_column(values, nulls, STATS_IS_CONTROL, BoolGetDatum(v->is_control));
		abt_set_column(values, nulls, STATS_ALLOCATIONS, Int64GetDatum(allocations[i]));
		abt_set_column(values, nulls, STATS_CONVERSIONS, Int64GetDatum(conversions[i]));
		abt_set_column(values, nulls, STATS_VARIANT_POSITION, Int32GetDatum(v->position));
		if (weight_sum > 0.0)
			abt_set_column(values, nulls, STATS_WEIGHT, Float8GetDatum(v->weight / weight_sum));

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
		abt_set_float_column(values, nulls, STATS_CONVERSION_RATE, rate);
		abt_set_float_column(values, nulls, STATS_CI_LOW, low);
		abt_set_float_column(values, nulls, STATS_CI_HIGH, high);
		abt_set_float_column(values, nulls, STATS_UPLIFT, uplift);
		abt_set_float_column(values, nulls, STATS_P_VALUE, p);
		abt_set_float_column(values, nulls, STATS_CHANCE_TO_BEAT, ctb);
		abt_set_float_column(values, nulls, STATS_SRM_P_VALUE, srm);
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
	abt_begin_analytics_result(fcinfo, STATS_COLUMNS, "abt_variant_stats");

	SPI_connect();
	requested = abt_read_experiments(ids, id_values, nids);
	out.rsinfo = rsinfo;
	out.sums = abt_read_variant_counters(ids);
	rows_context = AllocSetContextCreate(CurrentMemoryContext, "abt_variant_stats rows",
										 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nids; i++)
	{
		AbtRequestedExperiment *r = hash_search(requested, DatumGetUUIDP(id_values[i]),
											 HASH_FIND, NULL);
		AbtConfig  *config = NULL;
		MemoryContext oldcontext;

		CHECK_FOR_INTERRUPTS();
		if (r->emitted)
			continue;
		r->emitted = true;
		out.experiment_id = id_values[i];
		out.status = r->status;
		/* SPI calls return to SPI's context: load first, then switch */
		if (r->visible)
			config = abt_config_get(&r->id, r->version, ABT_VERSION_1_0);
		oldcontext = MemoryContextSwitchTo(rows_context);
		emit_experiment(&out, config);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rows_context);
	}
	SPI_finish();
	return (Datum) 0;
}
