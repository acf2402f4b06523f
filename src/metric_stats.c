/*
 * metric_stats.c
 *		abt_metric_stats: per-goal results of a page of experiments in one
 *		call (conversion rate and value per visitor of every variant against
 *		its element's control, fixed-horizon or sequential, with Holm and
 *		Benjamini-Hochberg adjusted p-values), and the engine alone as the
 *		pure functions abt_mean_test and abt_proportion_test.
 *
 * Three SPI queries, whatever the number of experiments: the experiment
 * rows as the caller may see them and the variants' allocations (both
 * shared with abt_variant_stats, analytics.c), and the per-goal slot rows
 * of abtest.goal_counters, summed here.  abt_convert keeps those sums in
 * its write path (convert.c): per (variant, goal) the visitors with an event
 * of the goal, the sum of the visitors' totals y and the sum of y^2.  So the
 * cost grows with the numbers of variants, goals and slots, never with the
 * number of visitors or events.  Elements and variants come from the
 * configuration cache.  The statistics are metric_math.c's (GrowthBook's
 * gbstats formulas).
 *
 * Bounded whoever calls: at most ABT_MAX_GOALS_PER_CALL goals (their
 * repeats dropped through a hash table) and ABT_MAX_RESULT_ROWS rows, both
 * checked before the rows are built, and a call keeps a few numbers per
 * row (the rows go to the result as they are made).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "analytics.h"
#include "checks.h"
#include "config_cache.h"
#include "experiment_config.h"
#include "metric_math.h"
#include "metric_stats.h"
#include "rules.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(abt_metric_stats);
PG_FUNCTION_INFO_V1(abt_mean_test);
PG_FUNCTION_INFO_V1(abt_proportion_test);

/* GUC abtest.sequential_tuning: the tuning N* of the confidence sequences */
static int	abt_sequential_tuning = (int) ABT_METRIC_SEQUENTIAL_TUNING_DEFAULT;

/* Columns of abt_metric_stats' result, in its order (0-based values[] indexes). */
enum
{
	MS_EXPERIMENT_ID,
	MS_STATUS,
	MS_ELEMENT_ID,
	MS_ELEMENT_NAME,
	MS_VARIANT_ID,
	MS_VARIANT_NAME,
	MS_IS_CONTROL,
	MS_GOAL,
	MS_METRIC,
	MS_VISITORS,
	MS_CONVERTERS,
	MS_VALUE_SUM,
	MS_VALUE_SUM_SQUARES,
	MS_MEAN,
	MS_VARIANCE,
	MS_UPLIFT,
	MS_CI_LOW,
	MS_CI_HIGH,
	MS_P_VALUE,
	MS_CHANCE_TO_BEAT,
	MS_P_VALUE_HOLM,
	MS_P_VALUE_BH,
	MS_IS_SEQUENTIAL,
	MS_COLUMNS
};

/* Columns of abt_mean_test's and abt_proportion_test's result. */
enum
{
	TEST_MEAN_A,
	TEST_VARIANCE_A,
	TEST_MEAN_B,
	TEST_VARIANCE_B,
	TEST_UPLIFT,
	TEST_SE,
	TEST_DOF,
	TEST_P_VALUE,
	TEST_CI_LOW,
	TEST_CI_HIGH,
	TEST_CHANCE_TO_BEAT,
	TEST_COLUMNS
};

/* Result columns of goal_sums_sql (SPI numbers from 1). */
enum
{
	SUMS_EXPERIMENT_ID = 1,
	SUMS_GOAL,
	SUMS_VARIANT_ID,
	SUMS_CONVERTERS,
	SUMS_VALUE_SUM,
	SUMS_VALUE_SUM_SQUARES
};

/* The two metrics of a goal, in output order. */
#define NUM_METRICS 2
static const char *const metric_names[NUM_METRICS] = {"conversion_rate", "value_per_visitor"};

static SPIPlanPtr goal_sums_plan = NULL;

/*
 * Every slot's goal counter row of the requested experiments ($1), of the
 * goals in $2 (NULL: every goal); sorted and summed over slots in C (the
 * SQL aggregate and sort cost more than the rest of a page's call).
 */
static const char *goal_sums_sql =
"SELECT gc.experiment_id, gc.goal, gc.variant_id, gc.converters, gc.value_sum, gc.value_sum_squares"
"  FROM abtest.goal_counters gc"
" WHERE gc.experiment_id OPERATOR(pg_catalog.=) ANY ($1)"
"   AND ($2 IS NULL OR gc.goal OPERATOR(pg_catalog.=) ANY ($2))";

/*
 * One (experiment, goal, variant) of goal_sums_sql, summed over slots,
 * pointing into SPI's result (sums: into the call's memory).
 */
typedef struct GoalSum
{
	pg_uuid_t  *experiment_id;
	text	   *goal;
	pg_uuid_t  *variant_id;
	int64		converters;
	Datum		value_sum;		/* numeric; (Datum) 0 when the slots' sum overflowed */
	Datum		value_sum_squares;	/* numeric, or (Datum) 0 likewise */
} GoalSum;

/* An experiment's rows in the GoalSum array: [start, start + count). */
typedef struct ExperimentSums
{
	pg_uuid_t	experiment_id;	/* hash key */
	int			start;
	int			count;
} ExperimentSums;

/* What the rows of one call share. */
typedef struct MetricOutput
{
	ReturnSetInfo *rsinfo;
	HTAB	   *allocations;	/* AbtCounterSum by (experiment, variant) */
	GoalSum    *sums;
	HTAB	   *experiment_sums;	/* ExperimentSums by experiment */
	text	  **goal_filter;	/* the goals argument, duplicates removed; or NULL */
	int			ngoal_filter;
	int64		nrows;			/* rows of the result so far (ABT_MAX_RESULT_ROWS) */
	bool		sequential;
	double		alpha;
	double		tuning;
	Datum		zero;			/* numeric 0 */
} MetricOutput;

/* The aggregates of one variant for one goal. */
typedef struct VariantGoal
{
	int64		n;
	int64		converters;
	Datum		value_sum;
	Datum		value_sum_squares;
	double		mean[NUM_METRICS];
	double		variance[NUM_METRICS];
} VariantGoal;

/* True when two texts hold the same bytes. */
static bool
text_equal(text *a, text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/*
 * A numeric datum as a double: infinite when out of double's range, NAN
 * for (Datum) 0 (a sum that overflowed); the moments of either are NAN and
 * their columns NULL.
 */
static double
numeric_to_double(Datum value)
{
	if (value == (Datum) 0)
		return NAN;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, value));
}

/*
 * Adds two numeric datums, (Datum) 0 standing for a sum that overflowed:
 * a result out of numeric's range is (Datum) 0 too, not an error.  Events'
 * values are bounded (ABT_MAX_EVENT_VALUE), so only rows written into
 * abtest.goal_counters by hand could get here; their experiment still gets
 * its rows, with these sums and what depends on them NULL.
 */
static Datum
add_sums(Datum a, Datum b)
{
	bool		overflow = false;
	Numeric		sum;

	if (a == (Datum) 0 || b == (Datum) 0)
		return (Datum) 0;
	sum = numeric_add_opt_error(DatumGetNumeric(a), DatumGetNumeric(b), &overflow);
	return overflow ? (Datum) 0 : NumericGetDatum(sum);
}

/* Orders goal texts by their bytes (as COLLATE "C"). */
static int
goal_cmp(text *a, text *b)
{
	int			la = VARSIZE_ANY_EXHDR(a);
	int			lb = VARSIZE_ANY_EXHDR(b);
	int			c = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));

	return c != 0 ? c : (la > lb) - (la < lb);
}

/* qsort order of GoalSum: experiment, goal (bytes), variant. */
static int
goal_sum_cmp(const void *a, const void *b)
{
	const GoalSum *x = a;
	const GoalSum *y = b;
	int			c = memcmp(x->experiment_id, y->experiment_id, UUID_LEN);

	if (c == 0)
		c = goal_cmp(x->goal, y->goal);
	if (c == 0)
		c = memcmp(x->variant_id, y->variant_id, UUID_LEN);
	return c;
}

/* The key of a (experiment, goal, variant) while summing its slot rows. */
typedef struct GoalSumKey
{
	pg_uuid_t  *experiment_id;
	pg_uuid_t  *variant_id;
	text	   *goal;
} GoalSumKey;

typedef struct GoalSumEntry
{
	GoalSumKey	key;
	int			index;			/* in out->sums */
} GoalSumEntry;

/* dynahash hash function of a GoalSumKey: the bytes it points to. */
static uint32
goal_sum_key_hash(const void *key, Size keysize)
{
	const GoalSumKey *k = key;

	return hash_combine(hash_combine(hash_bytes(k->experiment_id->data, UUID_LEN),
									 hash_bytes(k->variant_id->data, UUID_LEN)),
						hash_bytes((unsigned char *) VARDATA_ANY(k->goal), VARSIZE_ANY_EXHDR(k->goal)));
}

/* dynahash match function of GoalSumKeys: 0 when they point to equal bytes. */
static int
goal_sum_key_match(const void *key1, const void *key2, Size keysize)
{
	const GoalSumKey *a = key1;
	const GoalSumKey *b = key2;

	return memcmp(a->experiment_id, b->experiment_id, UUID_LEN) != 0 ||
		memcmp(a->variant_id, b->variant_id, UUID_LEN) != 0 ||
		!text_equal(a->goal, b->goal);
}

/*
 * Reads the per-goal sums: the slot rows summed per (experiment, goal,
 * variant) into out->sums (a hash table on the way), sorted so that each
 * experiment's entries, and within them each goal's, are contiguous (goals
 * in byte order); each experiment's range into out->experiment_sums.
 */
static void
read_goal_sums(MetricOutput *out, Datum ids, Datum goals, bool goals_null)
{
	Oid			argtypes[2] = {UUIDARRAYOID, TEXTARRAYOID};
	Datum		args[2] = {ids, goals};
	char		nulls[2] = {' ', goals_null ? 'n' : ' '};
	TupleDesc	desc;
	int			rc;
	int			n = 0;
	HASHCTL		ctl;
	HTAB	   *keys;
	ExperimentSums *current = NULL;

	rc = SPI_execute_plan(abt_plan_generic(&goal_sums_plan, goal_sums_sql, 2, argtypes),
						  args, nulls, true, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "reading goal counters");
	desc = SPI_tuptable->tupdesc;
	out->sums = palloc(sizeof(GoalSum) * Max(SPI_processed, 1));
	out->experiment_sums = abt_call_hash("abt_metric_stats goal sums", sizeof(pg_uuid_t),
										 sizeof(ExperimentSums), 16);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(GoalSumKey);
	ctl.entrysize = sizeof(GoalSumEntry);
	ctl.hash = goal_sum_key_hash;
	ctl.match = goal_sum_key_match;
	ctl.hcxt = CurrentMemoryContext;
	keys = hash_create("abt_metric_stats goal keys", Max(SPI_processed, 16), &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);

	/* sum the slots of each (experiment, goal, variant) */
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		GoalSumKey	key;
		GoalSumEntry *entry;
		GoalSum    *s;
		bool		found;
		bool		isnull;
		int64		converters = DatumGetInt64(SPI_getbinval(tuple, desc, SUMS_CONVERTERS, &isnull));
		Datum		value_sum = SPI_getbinval(tuple, desc, SUMS_VALUE_SUM, &isnull);
		Datum		value_sum_squares = SPI_getbinval(tuple, desc, SUMS_VALUE_SUM_SQUARES, &isnull);

		CHECK_FOR_INTERRUPTS();
		key.experiment_id = DatumGetUUIDP(SPI_getbinval(tuple, desc, SUMS_EXPERIMENT_ID, &isnull));
		key.variant_id = DatumGetUUIDP(SPI_getbinval(tuple, desc, SUMS_VARIANT_ID, &isnull));
		key.goal = DatumGetTextPP(SPI_getbinval(tuple, desc, SUMS_GOAL, &isnull));
		entry = hash_search(keys, &key, HASH_ENTER, &found);
		if (!found)
		{
			entry->index = n++;
			s = &out->sums[entry->index];
			s->experiment_id = key.experiment_id;
			s->variant_id = key.variant_id;
			s->goal = key.goal;
			s->converters = converters;
			s->value_sum = value_sum;
			s->value_sum_squares = value_sum_squares;
			continue;
		}
		s = &out->sums[entry->index];
		if (pg_add_s64_overflow(s->converters, converters, &s->converters))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range")));
		s->value_sum = add_sums(s->value_sum, value_sum);
		s->value_sum_squares = add_sums(s->value_sum_squares, value_sum_squares);
	}
	hash_destroy(keys);
	if (n > 1)
		qsort(out->sums, n, sizeof(GoalSum), goal_sum_cmp);

	for (int i = 0; i < n; i++)
	{
		if (current == NULL || memcmp(&current->experiment_id, out->sums[i].experiment_id, UUID_LEN) != 0)
		{
			current = hash_search(out->experiment_sums, out->sums[i].experiment_id, HASH_ENTER, NULL);
			current->start = i;
			current->count = 0;
		}
		current->count++;
	}
}

/*
 * The goals an experiment's rows show, in output order: the goals argument
 * as given, or every goal with sums (byte order).  Returns their number.
 */
static int
experiment_goals(MetricOutput *out, ExperimentSums *range, text ***goals)
{
	int			n = 0;

	if (out->goal_filter != NULL)
	{
		*goals = out->goal_filter;
		return out->ngoal_filter;
	}
	if (range == NULL)
		return 0;
	*goals = palloc(sizeof(text *) * range->count);
	for (int i = range->start; i < range->start + range->count; i++)
		if (n == 0 || !text_equal((*goals)[n - 1], out->sums[i].goal))
			(*goals)[n++] = out->sums[i].goal;
	return n;
}

/*
 * The sums of a variant for a goal within an experiment's range, or NULL:
 * a binary search, the range being sorted by goal and variant
 * (goal_sum_cmp).
 */
static GoalSum *
find_sum(MetricOutput *out, ExperimentSums *range, text *goal, pg_uuid_t *variant_id)
{
	int			low;
	int			high;

	if (range == NULL)
		return NULL;
	low = range->start;
	high = range->start + range->count;
	while (low < high)
	{
		int			mid = low + (high - low) / 2;
		GoalSum    *s = &out->sums[mid];
		int			c = goal_cmp(s->goal, goal);

		if (c == 0)
			c = memcmp(s->variant_id, variant_id, UUID_LEN);
		if (c == 0)
			return s;
		if (c < 0)
			low = mid + 1;
		else
			high = mid;
	}
	return NULL;
}

/* Fills a variant's aggregates and moments for a goal. */
static void
variant_goal(MetricOutput *out, AbtConfig *config, ExperimentSums *range, text *goal,
			 AbtVariant *variant, VariantGoal *vg)
{
	AbtCounterKey key;
	AbtCounterSum *counters;
	GoalSum    *s = find_sum(out, range, goal, &variant->id);

	memcpy(&key.experiment_id, &config->experiment_id, UUID_LEN);
	memcpy(&key.variant_id, &variant->id, UUID_LEN);
	counters = hash_search(out->allocations, &key, HASH_FIND, NULL);
	vg->n = counters ? counters->allocations : 0;
	vg->converters = s ? s->converters : 0;
	vg->value_sum = s ? s->value_sum : out->zero;
	vg->value_sum_squares = s ? s->value_sum_squares : out->zero;
	abt_metric_proportion_moments(vg->n, vg->converters, &vg->mean[0], &vg->variance[0]);
	abt_metric_mean_moments(vg->n, numeric_to_double(vg->value_sum),
							numeric_to_double(vg->value_sum_squares),
							&vg->mean[1], &vg->variance[1]);
}

/* Starts a row with the experiment's columns; everything else NULL. */
static void
begin_row(Datum experiment_id, Datum status, bool status_null, Datum *values, bool *nulls)
{
	memset(nulls, true, sizeof(bool) * MS_COLUMNS);
	abt_set_column(values, nulls, MS_EXPERIMENT_ID, experiment_id);
	if (!status_null)
		abt_set_column(values, nulls, MS_STATUS, status);
}

/*
 * Counts n more rows of the call's result, rejecting a call that would
 * return more than ABT_MAX_RESULT_ROWS before their rows are built.
 */
static void
add_rows(MetricOutput *out, int64 n)
{
	out->nrows += n;
	if (out->nrows > ABT_MAX_RESULT_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("abt_metric_stats would return more than %d rows", ABT_MAX_RESULT_ROWS),
				 errdetail("It would return at least %lld rows, one per experiment, element, goal, metric and variant.",
						   (long long) out->nrows),
				 errhint("Ask for fewer experiments or goals in one call (goals => ...); declaring an experiment's goals in abtest.goals keeps visitors from inventing others.")));
}

/* The position of an element's control among its variants, or -1. */
static int
element_control(AbtElement *element)
{
	for (int v = 0; v < element->nvariants; v++)
		if (element->variants[v].is_control)
			return v;			/* at most one: element_variants_one_control */
	return -1;
}

/* Fills vg[] with the aggregates and moments of an element's variants for a goal. */
static void
element_goal(MetricOutput *out, AbtConfig *config, ExperimentSums *range, AbtElement *element,
			 text *goal, VariantGoal *vg)
{
	CHECK_FOR_INTERRUPTS();
	for (int v = 0; v < element->nvariants; v++)
		variant_goal(out, config, range, goal, &element->variants[v], &vg[v]);
}

/* The test of variant v against the control for metric m, as the call asks. */
static void
variant_test(MetricOutput *out, VariantGoal *vg, int control, int v, int m, AbtMetricTest *t)
{
	if (out->sequential)
		abt_metric_sequential_ttest(vg[control].n, vg[control].mean[m], vg[control].variance[m],
									vg[v].n, vg[v].mean[m], vg[v].variance[m],
									out->alpha, out->tuning, t);
	else
		abt_metric_ttest(vg[control].n, vg[control].mean[m], vg[control].variance[m],
						 vg[v].n, vg[v].mean[m], vg[v].variance[m], out->alpha, t);
}

/*
 * The p-values of an experiment's family, every non-control row of an
 * element with a control, in row order (a NULL p counts in none: NAN);
 * returns their number.
 */
static int
family_p_values(MetricOutput *out, AbtConfig *config, text **goals, int ngoals,
				ExperimentSums *range, VariantGoal *vg, double *p)
{
	int			nfamily = 0;

	for (int e = 0; e < config->nelements; e++)
	{
		AbtElement *element = &config->elements[e];
		int			control = element_control(element);

		if (control < 0)
			continue;
		for (int g = 0; g < ngoals; g++)
		{
			element_goal(out, config, range, element, goals[g], vg);
			for (int m = 0; m < NUM_METRICS; m++)
				for (int v = 0; v < element->nvariants; v++)
				{
					AbtMetricTest t;

					if (v == control)
						continue;
					variant_test(out, vg, control, v, m, &t);
					p[nfamily++] = isinf(t.p_value) ? NAN : t.p_value;
				}
		}
	}
	return nfamily;
}

/*
 * Emits the rows of one visible experiment with elements and goals: every
 * element, goal, metric and variant (in that order), with the adjusted
 * p-values over the experiment's family of non-control rows.  Returns
 * false, emitting nothing, when no element has a variant.
 *
 * Two passes, so that what the call keeps is a few numbers a row, not the
 * rows: the first computes the family's p-values and adjusts them, the
 * second computes each row again and hands it to the result at once.
 */
static bool
emit_experiment(MetricOutput *out, Datum experiment_id, Datum status, AbtConfig *config,
				text **goals, int ngoals, ExperimentSums *range)
{
	int64		nrows = 0;
	int			maxvariants = 1;
	VariantGoal *vg;
	double	   *p;
	double	   *holm;
	double	   *bh;
	int		   *order;
	int			nfamily;
	int			f = 0;
	Datum		metric_datums[NUM_METRICS];
	Datum		values[MS_COLUMNS];
	bool		nulls[MS_COLUMNS];

	for (int e = 0; e < config->nelements; e++)
	{
		nrows += (int64) config->elements[e].nvariants * ngoals * NUM_METRICS;
		maxvariants = Max(maxvariants, config->elements[e].nvariants);
	}
	if (nrows == 0)
		return false;
	add_rows(out, nrows);
	vg = palloc(sizeof(VariantGoal) * maxvariants);
	p = palloc(sizeof(double) * nrows);
	holm = palloc(sizeof(double) * nrows);
	bh = palloc(sizeof(double) * nrows);
	order = palloc(sizeof(int) * nrows);
	for (int m = 0; m < NUM_METRICS; m++)
		metric_datums[m] = CStringGetTextDatum(metric_names[m]);

	nfamily = family_p_values(out, config, goals, ngoals, range, vg, p);
	abt_metric_adjust_holm(p, nfamily, order, holm);
	abt_metric_adjust_bh(p, nfamily, order, bh);

	for (int e = 0; e < config->nelements; e++)
	{
		AbtElement *element = &config->elements[e];
		int			control = element_control(element);
		Datum		element_name = CStringGetTextDatum(element->name);
		Datum	   *variant_names = palloc(sizeof(Datum) * Max(element->nvariants, 1));

		for (int v = 0; v < element->nvariants; v++)
			variant_names[v] = CStringGetTextDatum(element->variants[v].name);
		for (int g = 0; g < ngoals; g++)
		{
			element_goal(out, config, range, element, goals[g], vg);
			for (int m = 0; m < NUM_METRICS; m++)
			{
				for (int v = 0; v < element->nvariants; v++)
				{
					AbtVariant *variant = &element->variants[v];

					begin_row(experiment_id, status, false, values, nulls);
					abt_set_column(values, nulls, MS_ELEMENT_ID, UUIDPGetDatum(&element->id));
					abt_set_column(values, nulls, MS_ELEMENT_NAME, element_name);
					abt_set_column(values, nulls, MS_VARIANT_ID, UUIDPGetDatum(&variant->id));
					abt_set_column(values, nulls, MS_VARIANT_NAME, variant_names[v]);
					abt_set_column(values, nulls, MS_IS_CONTROL, BoolGetDatum(variant->is_control));
					abt_set_column(values, nulls, MS_GOAL, PointerGetDatum(goals[g]));
					abt_set_column(values, nulls, MS_METRIC, metric_datums[m]);
					abt_set_column(values, nulls, MS_VISITORS, Int64GetDatum(vg[v].n));
					abt_set_column(values, nulls, MS_CONVERTERS, Int64GetDatum(vg[v].converters));
					if (vg[v].value_sum != (Datum) 0)
						abt_set_column(values, nulls, MS_VALUE_SUM, vg[v].value_sum);
					if (vg[v].value_sum_squares != (Datum) 0)
						abt_set_column(values, nulls, MS_VALUE_SUM_SQUARES, vg[v].value_sum_squares);
					abt_set_column(values, nulls, MS_IS_SEQUENTIAL, BoolGetDatum(out->sequential));
					abt_set_float_column(values, nulls, MS_MEAN, vg[v].mean[m]);
					abt_set_float_column(values, nulls, MS_VARIANCE, vg[v].variance[m]);
					if (control >= 0 && v != control)
					{
						AbtMetricTest t;

						/* the same test as the first pass: the f-th of the family */
						variant_test(out, vg, control, v, m, &t);
						abt_set_float_column(values, nulls, MS_UPLIFT, t.uplift);
						abt_set_float_column(values, nulls, MS_CI_LOW, t.ci_low);
						abt_set_float_column(values, nulls, MS_CI_HIGH, t.ci_high);
						abt_set_float_column(values, nulls, MS_P_VALUE, t.p_value);
						abt_set_float_column(values, nulls, MS_CHANCE_TO_BEAT, t.chance_to_beat);
						Assert(f < nfamily);
						abt_set_float_column(values, nulls, MS_P_VALUE_HOLM, holm[f]);
						abt_set_float_column(values, nulls, MS_P_VALUE_BH, bh[f]);
						f++;
					}
					tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc,
										 values, nulls);
				}
			}
		}
	}
	Assert(f == nfamily);
	return true;
}

/* dynahash hash function of a goal (a text pointer): its bytes. */
static uint32
goal_key_hash(const void *key, Size keysize)
{
	text	   *goal = *(text *const *) key;

	return hash_bytes((unsigned char *) VARDATA_ANY(goal), VARSIZE_ANY_EXHDR(goal));
}

/* dynahash match function of goals: 0 when they hold the same bytes. */
static int
goal_key_match(const void *key1, const void *key2, Size keysize)
{
	return !text_equal(*(text *const *) key1, *(text *const *) key2);
}

/*
 * Reads the goals argument: NULL (every goal), or its elements without
 * duplicates, in the order given; an element may not be NULL, and at most
 * ABT_MAX_GOALS_PER_CALL may be given (repeats included: the array is
 * rejected before it is read).
 */
static void
read_goal_filter(FunctionCallInfo fcinfo, int argno, MetricOutput *out)
{
	ArrayType  *goals;
	Datum	   *elems;
	int			n;
	HASHCTL		ctl;
	HTAB	   *seen;

	out->goal_filter = NULL;
	out->ngoal_filter = 0;
	if (PG_ARGISNULL(argno))
		return;
	goals = PG_GETARG_ARRAYTYPE_P(argno);
	n = ArrayGetNItems(ARR_NDIM(goals), ARR_DIMS(goals));
	if (n > ABT_MAX_GOALS_PER_CALL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many goals in one call"),
				 errdetail("%d goals were given; a call takes at most %d.", n, ABT_MAX_GOALS_PER_CALL),
				 errhint("Ask for the goals over several calls.")));
	if (array_contains_nulls(goals))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("goals must not contain null")));
	deconstruct_array(goals, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &n);
	out->goal_filter = palloc(sizeof(text *) * Max(n, 1));
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(text *);
	ctl.entrysize = sizeof(text *);
	ctl.hash = goal_key_hash;
	ctl.match = goal_key_match;
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("abt_metric_stats goals", Max(n, 16), &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	for (int i = 0; i < n; i++)
	{
		text	   *goal = DatumGetTextPP(elems[i]);
		bool		found;

		CHECK_FOR_INTERRUPTS();
		(void) hash_search(seen, &goal, HASH_ENTER, &found);
		if (!found)
			out->goal_filter[out->ngoal_filter++] = goal;
	}
	hash_destroy(seen);
}

/* Reads a non-null alpha argument in (0, 1). */
static double
arg_alpha(FunctionCallInfo fcinfo, int argno)
{
	double		alpha;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("alpha must not be null")));
	alpha = PG_GETARG_FLOAT8(argno);
	if (!(alpha > 0.0 && alpha < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be between 0 and 1 (exclusive)"),
				 errdetail("It is %g; 0.05 gives 95%% intervals.", alpha)));
	return alpha;
}

/* Reads a non-null boolean argument (`what` names it in the error). */
static bool
arg_bool(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return PG_GETARG_BOOL(argno);
}

/* From _PG_init: abtest.sequential_tuning. */
void
abt_metric_stats_init(void)
{
	DefineCustomIntVariable("abtest.sequential_tuning",
							"Tuning N* of abt_metric_stats' sequential confidence sequences.",
							"The total number of visitors (both variants) at which the sequential interval is narrowest relative to the fixed-horizon one (GrowthBook's default: 5000).",
							&abt_sequential_tuning,
							(int) ABT_METRIC_SEQUENTIAL_TUNING_DEFAULT,
							1,
							INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
}

/*
 * SQL: abt_metric_stats(experiment_ids uuid[], goals text[], sequential
 * boolean, alpha float8) returns a row per (experiment, element, goal,
 * metric, variant), in the experiments' first places in the array, element
 * position, goal (as given, or byte order), metric, variant position.  An id
 * the caller can't see gets one row with its id alone (status NULL); a
 * visible experiment without variants or without goals to show gets one row
 * with its id and status.  STABLE: every query reads the caller's snapshot.
 */
Datum
abt_metric_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		ids;
	Datum	   *id_values;
	int			nids;
	HTAB	   *requested;
	MetricOutput out;
	MemoryContext rows_context;

	id_values = abt_arg_experiment_ids(fcinfo, 0, &nids);
	ids = PG_GETARG_DATUM(0);
	read_goal_filter(fcinfo, 1, &out);
	out.nrows = 0;
	out.sequential = arg_bool(fcinfo, 2, "sequential");
	out.alpha = arg_alpha(fcinfo, 3);
	out.tuning = (double) abt_sequential_tuning;
	out.zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	abt_begin_analytics_result(fcinfo, MS_COLUMNS, "abt_metric_stats");

	SPI_connect();
	requested = abt_read_experiments(ids, id_values, nids);
	out.rsinfo = rsinfo;
	out.allocations = abt_read_variant_counters(ids);
	read_goal_sums(&out, ids, PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	rows_context = AllocSetContextCreate(CurrentMemoryContext, "abt_metric_stats rows",
										 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nids; i++)
	{
		AbtRequestedExperiment *r = hash_search(requested, DatumGetUUIDP(id_values[i]),
												HASH_FIND, NULL);
		AbtConfig  *config = NULL;
		ExperimentSums *range;
		MemoryContext oldcontext;
		text	  **goals = NULL;
		int			ngoals;

		CHECK_FOR_INTERRUPTS();
		if (r->emitted)
			continue;
		r->emitted = true;
		/* SPI calls return to SPI's context: load first, then switch */
		if (r->visible)
			config = abt_config_get(&r->id, r->version, ABT_VERSION_1_1);
		oldcontext = MemoryContextSwitchTo(rows_context);
		range = hash_search(out.experiment_sums, &r->id, HASH_FIND, NULL);
		ngoals = config ? experiment_goals(&out, range, &goals) : 0;
		if (config == NULL || config->nelements == 0 || ngoals == 0 ||
			!emit_experiment(&out, id_values[i], r->status, config, goals, ngoals, range))
		{
			Datum		values[MS_COLUMNS];
			bool		nulls[MS_COLUMNS];

			/* one row: the id alone, or the experiment with nothing to show */
			add_rows(&out, 1);
			begin_row(id_values[i], r->status, config == NULL, values, nulls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rows_context);
	}
	SPI_finish();
	return (Datum) 0;
}

/* Builds the result tuple of a pure test function from its moments and test. */
static Datum
test_result(FunctionCallInfo fcinfo, double mean_a, double var_a, double mean_b, double var_b,
			AbtMetricTest *t)
{
	TupleDesc	desc;
	Datum		values[TEST_COLUMNS];
	bool		nulls[TEST_COLUMNS];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (desc->natts != TEST_COLUMNS)
		elog(ERROR, "the result type has %d columns, expected %d", desc->natts, TEST_COLUMNS);
	memset(nulls, true, sizeof(nulls));
	abt_set_float_column(values, nulls, TEST_MEAN_A, mean_a);
	abt_set_float_column(values, nulls, TEST_VARIANCE_A, var_a);
	abt_set_float_column(values, nulls, TEST_MEAN_B, mean_b);
	abt_set_float_column(values, nulls, TEST_VARIANCE_B, var_b);
	abt_set_float_column(values, nulls, TEST_UPLIFT, t->uplift);
	abt_set_float_column(values, nulls, TEST_SE, t->se);
	abt_set_float_column(values, nulls, TEST_DOF, t->dof);
	abt_set_float_column(values, nulls, TEST_P_VALUE, t->p_value);
	abt_set_float_column(values, nulls, TEST_CI_LOW, t->ci_low);
	abt_set_float_column(values, nulls, TEST_CI_HIGH, t->ci_high);
	abt_set_float_column(values, nulls, TEST_CHANCE_TO_BEAT, t->chance_to_beat);
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* Runs the fixed-horizon or sequential test on two variants' moments. */
static void
run_test(int64 n_a, double mean_a, double var_a, int64 n_b, double mean_b, double var_b,
		 bool sequential, double alpha, double tuning, AbtMetricTest *t)
{
	if (!(tuning > 0.0) || isinf(tuning))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tuning must be a positive number")));
	if (sequential)
		abt_metric_sequential_ttest(n_a, mean_a, var_a, n_b, mean_b, var_b, alpha, tuning, t);
	else
		abt_metric_ttest(n_a, mean_a, var_a, n_b, mean_b, var_b, alpha, t);
}

/*
 * SQL: abt_mean_test(n_a, sum_a, sum_squares_a, n_b, sum_b, sum_squares_b,
 * sequential, alpha, tuning): the test abt_metric_stats runs for
 * value_per_visitor, on aggregates from anywhere (A the control, B the
 * variant).  STRICT: a NULL argument gives NULL.
 */
Datum
abt_mean_test(PG_FUNCTION_ARGS)
{
	double		mean_a,
				var_a,
				mean_b,
				var_b;
	AbtMetricTest t;

	abt_metric_mean_moments(PG_GETARG_INT64(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
							&mean_a, &var_a);
	abt_metric_mean_moments(PG_GETARG_INT64(3), PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5),
							&mean_b, &var_b);
	run_test(PG_GETARG_INT64(0), mean_a, var_a, PG_GETARG_INT64(3), mean_b, var_b,
			 PG_GETARG_BOOL(6), arg_alpha(fcinfo, 7), PG_GETARG_FLOAT8(8), &t);
	PG_RETURN_DATUM(test_result(fcinfo, mean_a, var_a, mean_b, var_b, &t));
}

/*
 * SQL: abt_proportion_test(n_a, converters_a, n_b, converters_b, sequential,
 * alpha, tuning): the test abt_metric_stats runs for conversion_rate.
 * STRICT.
 */
Datum
abt_proportion_test(PG_FUNCTION_ARGS)
{
	double		mean_a,
				var_a,
				mean_b,
				var_b;
	AbtMetricTest t;

	abt_metric_proportion_moments(PG_GETARG_INT64(0), PG_GETARG_INT64(1), &mean_a, &var_a);
	abt_metric_proportion_moments(PG_GETARG_INT64(2), PG_GETARG_INT64(3), &mean_b, &var_b);
	run_test(PG_GETARG_INT64(0), mean_a, var_a, PG_GETARG_INT64(2), mean_b, var_b,
			 PG_GETARG_BOOL(4), arg_alpha(fcinfo, 5), PG_GETARG_FLOAT8(6), &t);
	PG_RETURN_DATUM(test_result(fcinfo, mean_a, var_a, mean_b, var_b, &t));
}
