/*
 * metric_sums.c
 *		What abt_metric_stats and abt_metric_power read of a page of
 *		experiments: the per-goal sums of abtest.goal_counters summed over
 *		slots, the goals' settings in abtest.goals (the Bayesian prior, the
 *		capping), the capped sums of a capped goal, and each variant's
 *		aggregates and moments of both metrics.
 *
 * CUPED (issue 20) reads the same rows' covariate sums (the schema's
 * comments on abtest.goal_counters, kept by the write path) and
 * whether a goal has a cuped_lookback; metric_math.c adjusts.
 *
 * Two queries whatever the number of experiments: the goal counters' slot
 * rows (summed here) and the goals' settings, both under kept generic
 * plans; the variants' allocations come from analytics.c.  abt_convert
 * keeps the sums in its write path (convert.c): per (variant, goal) the
 * visitors with an event of the goal, the sum of the visitors' totals y
 * and the sum of y^2; so an uncapped goal costs a few rows per variant,
 * never the visitors or events.
 *
 * A capped goal (GrowthBook's capping: each visitor's y becomes min(y, cap)
 * before it enters the value sums) is computed at analysis, live and exact,
 * from the same snapshot: the sums above minus, per variant, the excess of
 * the visitors above the cap, sum(y - cap) and sum(y^2 - cap^2), which one
 * query reads from abtest.visitor_goals (the visitors' totals) joined to
 * their assignments (their variants).  Only visitors above the cap reach
 * the join; a negative cap also caps the visitors without events (y = 0):
 * n - converters of them per variant.  A percentile cap is first computed
 * as GrowthBook's SQL does on PostgreSQL, PERCENTILE_CONT(p) over every
 * assigned visitor of the experiment, variants pooled, a visitor without
 * events counting 0 (with ignore-zeros, every visitor whose total is 0 left
 * out): the totals of the goal's visitor_goals rows, read through a cursor,
 * and as many zeros as the experiment has visitors without a row (the live
 * counters count the visitors: metric_math.c's abt_metric_percentile takes
 * the zeros as a number).  Every per-experiment query names its
 * experiment, so Citus routes it to the experiment's shards.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "analytics.h"
#include "metric_sums.h"
#include "spi_plans.h"

const char *const abt_metric_names[ABT_NUM_METRICS] = {"conversion_rate", "value_per_visitor"};

/* GrowthBook's defaults of a metric's prior (packages/shared/src/constants.ts) */
#define DEFAULT_PRIOR_STDDEV 0.3

/* Rows of a capped goal's visitors fetched at a time */
#define PERCENTILE_FETCH 10000

/* Result columns of goal_sums_sql and settings_sql (SPI numbers from 1). */
enum
{
	SUMS_EXPERIMENT_ID = 1,
	SUMS_GOAL,
	SUMS_VARIANT_ID,
	SUMS_CONVERTERS,
	SUMS_VALUE_SUM,
	SUMS_VALUE_SUM_SQUARES,
	SUMS_COVARIATE_VISITORS,
	SUMS_COVARIATE_SUM,
	SUMS_COVARIATE_SUM_SQUARES,
	SUMS_COVARIATE_CONVERTERS,
	SUMS_CROSS_SUM,
	SUMS_CROSS_CONVERTERS
};
enum
{
	SETTINGS_EXPERIMENT_ID = 1,
	SETTINGS_GOAL,
	SETTINGS_PRIOR_PROPER,
	SETTINGS_PRIOR_MEAN,
	SETTINGS_PRIOR_STDDEV,
	SETTINGS_CAP_TYPE,
	SETTINGS_CAP_VALUE,
	SETTINGS_CAP_IGNORE_ZEROS,
	SETTINGS_CUPED
};
enum
{
	EXCESS_VARIANT_ID = 1,
	EXCESS_SUM,
	EXCESS_SUM_SQUARES
};

static SPIPlanPtr goal_sums_plan = NULL;
static SPIPlanPtr settings_plan = NULL;
static SPIPlanPtr totals_plan = NULL;
static SPIPlanPtr excess_plan = NULL;

/*
 * Every slot's goal counter row of the requested experiments ($1), of the
 * goals in $2 (NULL: every goal); sorted and summed over slots in C (the
 * SQL aggregate and sort cost more than the rest of a page's call).
 */
static const char *goal_sums_sql =
"SELECT gc.experiment_id, gc.goal, gc.variant_id, gc.converters, gc.value_sum, gc.value_sum_squares,"
"       gc.covariate_visitors, gc.covariate_sum, gc.covariate_sum_squares, gc.covariate_converters,"
"       gc.cross_sum, gc.cross_converters"
"  FROM abtest.goal_counters gc"
" WHERE gc.experiment_id OPERATOR(pg_catalog.=) ANY ($1)"
"   AND ($2 IS NULL OR gc.goal OPERATOR(pg_catalog.=) ANY ($2))";

/* The settings of the requested experiments' goals ($2 as above). */
static const char *settings_sql =
"SELECT g.experiment_id, g.goal, g.prior_proper, g.prior_mean, g.prior_stddev,"
"       g.cap_type, g.cap_value, g.cap_ignore_zeros, g.cuped_lookback IS NOT NULL"
"  FROM abtest.goals g"
" WHERE g.experiment_id OPERATOR(pg_catalog.=) ANY ($1)"
"   AND ($2 IS NULL OR g.goal OPERATOR(pg_catalog.=) ANY ($2))";

/*
 * $1 experiment, $2 goal: the totals of the goal's visitors, those whose
 * total is 0 left out when $3 (ignore zeros).
 */
static const char *totals_sql =
"SELECT vg.value_total FROM abtest.visitor_goals vg"
" WHERE vg.experiment_id OPERATOR(pg_catalog.=) $1 AND vg.goal OPERATOR(pg_catalog.=) $2"
"   AND (NOT $3 OR vg.value_total OPERATOR(pg_catalog.<>) 0)";

/*
 * $1 experiment, $2 goal, $3 cap: per variant, the excess over the cap of
 * the visitors above it, sum(y - cap) and sum(y^2 - cap^2).  Each of them
 * looks its assignment up through the primary key (the LATERAL with OFFSET
 * 0 keeps the planner from hashing all the experiment's assignments for a
 * few visitors above a cap).
 */
static const char *excess_sql =
"SELECT v.value::pg_catalog.uuid,"
"       pg_catalog.sum(vg.value_total OPERATOR(pg_catalog.-) $3),"
"       pg_catalog.sum((vg.value_total OPERATOR(pg_catalog.*) vg.value_total)"
"                      OPERATOR(pg_catalog.-) ($3 OPERATOR(pg_catalog.*) $3))"
"  FROM abtest.visitor_goals vg,"
"       LATERAL (SELECT a.variants FROM abtest.assignments a"
"                 WHERE a.experiment_id OPERATOR(pg_catalog.=) $1"
"                   AND a.user_id OPERATOR(pg_catalog.=) vg.user_id OFFSET 0) a,"
"       pg_catalog.jsonb_each_text(a.variants) v"
" WHERE vg.experiment_id OPERATOR(pg_catalog.=) $1 AND vg.goal OPERATOR(pg_catalog.=) $2"
"   AND vg.value_total OPERATOR(pg_catalog.>) $3"
" GROUP BY v.value";

/*
 * One (experiment, goal, variant) of goal_sums_sql, summed over slots,
 * pointing into SPI's result (sums: into the call's memory).
 */
typedef struct AbtGoalSum
{
	pg_uuid_t  *experiment_id;
	text	   *goal;
	pg_uuid_t  *variant_id;
	int64		converters;
	Datum		value_sum;		/* numeric; (Datum) 0 when the slots' sum overflowed */
	Datum		value_sum_squares;	/* numeric, or (Datum) 0 likewise */
	/* CUPED's (the schema's comments): the same for the covariate x and x y */
	int64		covariate_visitors;
	int64		covariate_converters;
	int64		cross_converters;
	Datum		covariate_sum;
	Datum		covariate_sum_squares;
	Datum		cross_sum;
} AbtGoalSum;

/* An experiment's rows in the AbtGoalSum array: [start, start + count). */
typedef struct ExperimentSums
{
	pg_uuid_t	experiment_id;	/* hash key */
	int			start;
	int			count;
} ExperimentSums;

/* The key of an (experiment, goal[, variant]) in the call's hash tables. */
typedef struct GoalKey
{
	pg_uuid_t  *experiment_id;
	pg_uuid_t  *variant_id;		/* NULL for a goal's settings */
	text	   *goal;
} GoalKey;

typedef struct GoalSumEntry
{
	GoalKey		key;
	int			index;			/* in sums->sums */
} GoalSumEntry;

typedef struct GoalSettingsEntry
{
	GoalKey		key;
	AbtGoalSettings settings;
} GoalSettingsEntry;

/* True when two goals hold the same bytes. */
bool
abt_metric_goal_equal(text *a, text *b)
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
 * Combines two numeric datums with op (numeric_add_opt_error, ...),
 * (Datum) 0 standing for a sum that overflowed: a result out of numeric's
 * range is (Datum) 0 too, not an error.  Events' values are bounded
 * (ABT_MAX_EVENT_VALUE), so only rows written into abtest.goal_counters by
 * hand could get here; their experiment still gets its rows, with these
 * sums and what depends on them NULL.
 */
static Datum
combine_sums(Datum a, Datum b, Numeric (*op) (Numeric, Numeric, bool *))
{
	bool		overflow = false;
	Numeric		result;

	if (a == (Datum) 0 || b == (Datum) 0)
		return (Datum) 0;
	result = op(DatumGetNumeric(a), DatumGetNumeric(b), &overflow);
	return overflow ? (Datum) 0 : NumericGetDatum(result);
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

/* qsort order of AbtGoalSum: experiment, goal (bytes), variant. */
static int
goal_sum_cmp(const void *a, const void *b)
{
	const AbtGoalSum *x = a;
	const AbtGoalSum *y = b;
	int			c = memcmp(x->experiment_id, y->experiment_id, UUID_LEN);

	if (c == 0)
		c = goal_cmp(x->goal, y->goal);
	if (c == 0)
		c = memcmp(x->variant_id, y->variant_id, UUID_LEN);
	return c;
}

/* dynahash hash function of a GoalKey: the bytes it points to. */
static uint32
goal_key_hash(const void *key, Size keysize)
{
	const GoalKey *k = key;
	uint32		h = hash_combine(hash_bytes(k->experiment_id->data, UUID_LEN),
								 hash_bytes((unsigned char *) VARDATA_ANY(k->goal),
											VARSIZE_ANY_EXHDR(k->goal)));

	return k->variant_id ? hash_combine(h, hash_bytes(k->variant_id->data, UUID_LEN)) : h;
}

/* dynahash match function of GoalKeys: 0 when they point to equal bytes. */
static int
goal_key_match(const void *key1, const void *key2, Size keysize)
{
	const GoalKey *a = key1;
	const GoalKey *b = key2;

	if ((a->variant_id == NULL) != (b->variant_id == NULL))
		return 1;
	return memcmp(a->experiment_id, b->experiment_id, UUID_LEN) != 0 ||
		(a->variant_id && memcmp(a->variant_id, b->variant_id, UUID_LEN) != 0) ||
		!abt_metric_goal_equal(a->goal, b->goal);
}

/* A hash table of GoalKey-keyed entries in the call's memory. */
static HTAB *
goal_key_hash_table(const char *name, Size entrysize, long nelem)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(GoalKey);
	ctl.entrysize = entrysize;
	ctl.hash = goal_key_hash;
	ctl.match = goal_key_match;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(nelem, 16), &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/*
 * Runs a kept plan read-only and checks it returned rows; back in the
 * caller's memory context (SPI returns to its own).
 */
static void
run_select(SPIPlanPtr plan, Datum *args, const char *nulls, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_plan(plan, args, nulls, true, 0);

	MemoryContextSwitchTo(cxt);
	abt_check_spi(rc, SPI_OK_SELECT, what);
}

/* Adds two counts of a goal sum, an error when the total is out of bigint's range. */
static int64
add_counts(int64 a, int64 b)
{
	int64		result;

	if (pg_add_s64_overflow(a, b, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range")));
	return result;
}

/* The counts and sums of one goal_sums_sql row (pointing into SPI's result). */
static void
read_goal_sum_row(HeapTuple tuple, TupleDesc desc, AbtGoalSum *row)
{
	bool		isnull;

	row->converters = DatumGetInt64(SPI_getbinval(tuple, desc, SUMS_CONVERTERS, &isnull));
	row->value_sum = SPI_getbinval(tuple, desc, SUMS_VALUE_SUM, &isnull);
	row->value_sum_squares = SPI_getbinval(tuple, desc, SUMS_VALUE_SUM_SQUARES, &isnull);
	row->covariate_visitors = DatumGetInt64(SPI_getbinval(tuple, desc, SUMS_COVARIATE_VISITORS, &isnull));
	row->covariate_sum = SPI_getbinval(tuple, desc, SUMS_COVARIATE_SUM, &isnull);
	row->covariate_sum_squares = SPI_getbinval(tuple, desc, SUMS_COVARIATE_SUM_SQUARES, &isnull);
	row->covariate_converters = DatumGetInt64(SPI_getbinval(tuple, desc, SUMS_COVARIATE_CONVERTERS, &isnull));
	row->cross_sum = SPI_getbinval(tuple, desc, SUMS_CROSS_SUM, &isnull);
	row->cross_converters = DatumGetInt64(SPI_getbinval(tuple, desc, SUMS_CROSS_CONVERTERS, &isnull));
}

/* Adds another slot's row of the same (experiment, goal, variant) into s. */
static void
add_goal_sum(AbtGoalSum *s, AbtGoalSum *row)
{
	s->converters = add_counts(s->converters, row->converters);
	s->covariate_visitors = add_counts(s->covariate_visitors, row->covariate_visitors);
	s->covariate_converters = add_counts(s->covariate_converters, row->covariate_converters);
	s->cross_converters = add_counts(s->cross_converters, row->cross_converters);
	s->value_sum = combine_sums(s->value_sum, row->value_sum, numeric_add_opt_error);
	s->value_sum_squares = combine_sums(s->value_sum_squares, row->value_sum_squares,
										numeric_add_opt_error);
	s->covariate_sum = combine_sums(s->covariate_sum, row->covariate_sum, numeric_add_opt_error);
	s->covariate_sum_squares = combine_sums(s->covariate_sum_squares, row->covariate_sum_squares,
											numeric_add_opt_error);
	s->cross_sum = combine_sums(s->cross_sum, row->cross_sum, numeric_add_opt_error);
}

/*
 * Reads the per-goal sums: the slot rows summed per (experiment, goal,
 * variant) into sums->sums (a hash table on the way), sorted so that each
 * experiment's entries, and within them each goal's, are contiguous (goals
 * in byte order); each experiment's range into sums->experiment_sums.
 */
static void
read_goal_sums(AbtMetricSums *sums, Datum ids, Datum goals, bool goals_null)
{
	Oid			argtypes[2] = {UUIDARRAYOID, TEXTARRAYOID};
	Datum		args[2] = {ids, goals};
	char		nulls[2] = {' ', goals_null ? 'n' : ' '};
	TupleDesc	desc;
	int			n = 0;
	HTAB	   *keys;
	ExperimentSums *current = NULL;

	run_select(abt_plan_generic(&goal_sums_plan, goal_sums_sql, 2, argtypes), args, nulls,
			   "reading goal counters");
	desc = SPI_tuptable->tupdesc;
	sums->sums = palloc(sizeof(AbtGoalSum) * Max(SPI_processed, 1));
	sums->experiment_sums = abt_call_hash("abtest goal sums", sizeof(pg_uuid_t),
										  sizeof(ExperimentSums), 16);
	keys = goal_key_hash_table("abtest goal keys", sizeof(GoalSumEntry), SPI_processed);

	/* sum the slots of each (experiment, goal, variant) */
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		GoalKey		key;
		GoalSumEntry *entry;
		AbtGoalSum *s;
		bool		found;
		bool		isnull;
		AbtGoalSum	row;

		CHECK_FOR_INTERRUPTS();
		read_goal_sum_row(tuple, desc, &row);
		key.experiment_id = DatumGetUUIDP(SPI_getbinval(tuple, desc, SUMS_EXPERIMENT_ID, &isnull));
		key.variant_id = DatumGetUUIDP(SPI_getbinval(tuple, desc, SUMS_VARIANT_ID, &isnull));
		key.goal = DatumGetTextPP(SPI_getbinval(tuple, desc, SUMS_GOAL, &isnull));
		entry = hash_search(keys, &key, HASH_ENTER, &found);
		if (!found)
		{
			entry->index = n++;
			s = &sums->sums[entry->index];
			*s = row;
			s->experiment_id = key.experiment_id;
			s->variant_id = key.variant_id;
			s->goal = key.goal;
			continue;
		}
		add_goal_sum(&sums->sums[entry->index], &row);
	}
	hash_destroy(keys);
	if (n > 1)
		qsort(sums->sums, n, sizeof(AbtGoalSum), goal_sum_cmp);

	for (int i = 0; i < n; i++)
	{
		if (current == NULL || memcmp(&current->experiment_id, sums->sums[i].experiment_id, UUID_LEN) != 0)
		{
			current = hash_search(sums->experiment_sums, sums->sums[i].experiment_id, HASH_ENTER, NULL);
			current->start = i;
			current->count = 0;
		}
		current->count++;
	}
}

/* A text column's value as a C string compared with what, false when NULL. */
static bool
column_is(HeapTuple tuple, TupleDesc desc, int column, const char *what)
{
	bool		isnull;
	Datum		value = SPI_getbinval(tuple, desc, column, &isnull);

	return !isnull && strcmp(TextDatumGetCString(value), what) == 0;
}

/*
 * Reads the settings of the requested experiments' goals from
 * abtest.goals into sums->settings.  The keys point into SPI's result,
 * kept until SPI_finish.
 */
static void
read_settings(AbtMetricSums *sums, Datum ids, Datum goals, bool goals_null)
{
	Oid			argtypes[2] = {UUIDARRAYOID, TEXTARRAYOID};
	Datum		args[2] = {ids, goals};
	char		nulls[2] = {' ', goals_null ? 'n' : ' '};
	TupleDesc	desc;

	run_select(abt_plan_generic(&settings_plan, settings_sql, 2, argtypes), args, nulls,
			   "reading goal settings");
	desc = SPI_tuptable->tupdesc;
	sums->settings = goal_key_hash_table("abtest goal settings", sizeof(GoalSettingsEntry),
										 SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		GoalKey		key;
		GoalSettingsEntry *entry;
		AbtGoalSettings *s;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		key.experiment_id = DatumGetUUIDP(SPI_getbinval(tuple, desc, SETTINGS_EXPERIMENT_ID, &isnull));
		key.variant_id = NULL;
		key.goal = DatumGetTextPP(SPI_getbinval(tuple, desc, SETTINGS_GOAL, &isnull));
		entry = hash_search(sums->settings, &key, HASH_ENTER, NULL);
		s = &entry->settings;
		/* the table's NOT NULL and CHECK constraints hold every value in range */
		s->prior.proper = DatumGetBool(SPI_getbinval(tuple, desc, SETTINGS_PRIOR_PROPER, &isnull));
		s->prior.mean = DatumGetFloat8(SPI_getbinval(tuple, desc, SETTINGS_PRIOR_MEAN, &isnull));
		s->prior.stddev = DatumGetFloat8(SPI_getbinval(tuple, desc, SETTINGS_PRIOR_STDDEV, &isnull));
		s->cap_type = column_is(tuple, desc, SETTINGS_CAP_TYPE, "absolute") ? ABT_CAP_ABSOLUTE :
			column_is(tuple, desc, SETTINGS_CAP_TYPE, "percentile") ? ABT_CAP_PERCENTILE : ABT_CAP_NONE;
		s->cap_value = DatumGetFloat8(SPI_getbinval(tuple, desc, SETTINGS_CAP_VALUE, &isnull));
		if (isnull)
			s->cap_type = ABT_CAP_NONE;
		s->cap_ignore_zeros = DatumGetBool(SPI_getbinval(tuple, desc, SETTINGS_CAP_IGNORE_ZEROS, &isnull));
		s->cuped = DatumGetBool(SPI_getbinval(tuple, desc, SETTINGS_CUPED, &isnull));
	}
}

/*
 * Reads what a call needs of the experiments in `ids` (an uuid[] datum),
 * for the goals in `goals` (a text[] datum; goals_null: every goal): the
 * variants' allocations, the goal sums and the goals' settings.
 * sums->goal_filter must be set (NULL for every goal).
 */
void
abt_metric_sums_read(AbtMetricSums *sums, Datum ids, Datum goals, bool goals_null)
{
	sums->zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	sums->allocations = abt_read_variant_counters(ids);
	read_goal_sums(sums, ids, goals, goals_null);
	read_settings(sums, ids, goals, goals_null);
}

/* The range of an experiment's goal sums, or NULL without any. */
static ExperimentSums *
experiment_range(AbtMetricSums *sums, pg_uuid_t *experiment_id)
{
	return hash_search(sums->experiment_sums, experiment_id, HASH_FIND, NULL);
}

/*
 * The goals an experiment's rows show, in output order: the goals asked
 * for as given, or every goal with sums (byte order).  Returns their number.
 */
int
abt_metric_experiment_goals(AbtMetricSums *sums, pg_uuid_t *experiment_id, text ***goals)
{
	ExperimentSums *range = experiment_range(sums, experiment_id);
	int			n = 0;

	if (sums->goal_filter != NULL)
	{
		*goals = sums->goal_filter;
		return sums->ngoal_filter;
	}
	if (range == NULL)
		return 0;
	*goals = palloc(sizeof(text *) * range->count);
	for (int i = range->start; i < range->start + range->count; i++)
		if (n == 0 || !abt_metric_goal_equal((*goals)[n - 1], sums->sums[i].goal))
			(*goals)[n++] = sums->sums[i].goal;
	return n;
}

/*
 * The sums of a variant for a goal within an experiment's range, or NULL:
 * a binary search, the range being sorted by goal and variant
 * (goal_sum_cmp).
 */
static AbtGoalSum *
find_sum(AbtMetricSums *sums, ExperimentSums *range, text *goal, pg_uuid_t *variant_id)
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
		AbtGoalSum *s = &sums->sums[mid];
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

/*
 * Whether some visitor of the experiment has a total other than 0 for the
 * goal: a sum of squares that is not 0 (or overflowed) in any of its
 * variants' sums, deleted variants included.  Without, the goal's events
 * carried no value (or values that cancel out per visitor) and it has no
 * value_per_visitor rows.
 */
static bool
goal_has_values(AbtMetricSums *sums, ExperimentSums *range, text *goal)
{
	if (range == NULL)
		return false;
	for (int i = range->start; i < range->start + range->count; i++)
	{
		AbtGoalSum *s = &sums->sums[i];

		if (!abt_metric_goal_equal(s->goal, goal))
			continue;
		if (s->value_sum_squares == (Datum) 0 ||
			DatumGetInt32(DirectFunctionCall2(numeric_cmp, s->value_sum_squares, sums->zero)) != 0)
			return true;
	}
	return false;
}

/*
 * Fills gd with a goal's settings (the defaults without an abtest.goals
 * row) and its number of metrics; uncapped until abt_metric_goal_cap.
 */
void
abt_metric_goal_settings(AbtMetricSums *sums, pg_uuid_t *experiment_id, text *goal, AbtGoalData *gd)
{
	GoalKey		key = {experiment_id, NULL, goal};
	GoalSettingsEntry *entry = hash_search(sums->settings, &key, HASH_FIND, NULL);

	gd->goal = goal;
	if (entry != NULL)
		gd->settings = entry->settings;
	else
	{
		gd->settings.prior.proper = false;
		gd->settings.prior.mean = 0.0;
		gd->settings.prior.stddev = DEFAULT_PRIOR_STDDEV;
		gd->settings.cap_type = ABT_CAP_NONE;
		gd->settings.cap_value = NAN;
		gd->settings.cap_ignore_zeros = false;
		gd->settings.cuped = false;
	}
	gd->nmetrics = goal_has_values(sums, experiment_range(sums, experiment_id), goal) ?
		ABT_NUM_METRICS : ABT_METRIC_CONVERSION_RATE + 1;
	gd->cap = NAN;
	gd->cap_numeric = (Datum) 0;
	gd->nexcess = 0;
	gd->excess = NULL;
}

/*
 * The experiment's visitors: those of its element with the most (every
 * visitor has a variant of each element that existed when it was
 * assigned), from the live counters, which equal the assignment rows.
 */
int64
abt_metric_experiment_visitors(AbtMetricSums *sums, pg_uuid_t *experiment_id,
							   AbtElement *elements, int nelements)
{
	int64		visitors = 0;

	for (int e = 0; e < nelements; e++)
	{
		AbtElement *element = &elements[e];
		int64		n = 0;

		for (int v = 0; v < element->nvariants; v++)
		{
			AbtCounterKey key;
			AbtCounterSum *counters;

			memcpy(&key.experiment_id, experiment_id, UUID_LEN);
			memcpy(&key.variant_id, &element->variants[v].id, UUID_LEN);
			counters = hash_search(sums->allocations, &key, HASH_FIND, NULL);
			if (counters != NULL)
				n += counters->allocations;
		}
		visitors = Max(visitors, n);
	}
	return visitors;
}

/*
 * A percentile cap: PostgreSQL's percentile_cont(p) of the totals of the
 * experiment's `visitors` (0 for those without events), or, ignoring
 * zeros, of the totals that are not 0; NAN when there is none.  The totals
 * come through a cursor, PERCENTILE_FETCH rows at a time, as doubles (8
 * bytes a visitor).
 */
static double
percentile_cap(pg_uuid_t *experiment_id, int64 visitors, AbtGoalData *gd)
{
	Oid			argtypes[3] = {UUIDOID, TEXTOID, BOOLOID};
	Datum		args[3] = {UUIDPGetDatum(experiment_id), PointerGetDatum(gd->goal),
	BoolGetDatum(gd->settings.cap_ignore_zeros)};
	MemoryContext cxt = CurrentMemoryContext;
	Portal		portal;
	Size		capacity = 1024;
	int64		n = 0;
	int64		zeros = 0;
	double	   *values = palloc(sizeof(double) * capacity);
	double		cap;

	portal = SPI_cursor_open(NULL, abt_plan_custom(&totals_plan, totals_sql, 3, argtypes),
							 args, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, PERCENTILE_FETCH);
		MemoryContextSwitchTo(cxt);
		if (SPI_processed == 0)
			break;
		if (n + SPI_processed > capacity)
		{
			capacity = Max(capacity * 2, n + SPI_processed);
			values = repalloc_huge(values, sizeof(double) * capacity);
		}
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			values[n++] = numeric_to_double(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(cxt);
	if (!gd->settings.cap_ignore_zeros)
		zeros = Max(visitors - n, 0);
	cap = abt_metric_percentile(values, n, zeros, gd->settings.cap_value);
	pfree(values);
	return cap;
}

/*
 * A double as numeric: its shortest decimal that reads back as the same
 * double (what float8out prints), so that an absolute cap of 49.99 caps at
 * 49.99, not at the binary value's 49.99000000000000198951966012828052043914794921875.
 */
static Datum
double_to_numeric(double value)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(value, buf);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/*
 * Caps a goal's value metric as its settings say: the cap (an absolute
 * one, or the percentile of the experiment's `visitors`,
 * abt_metric_experiment_visitors) and, per variant, the excess of the
 * visitors above it (see the file header).  Nothing for an uncapped goal,
 * one without value rows, or a percentile of no visitor.
 */
void
abt_metric_goal_cap(AbtMetricSums *sums, pg_uuid_t *experiment_id, int64 visitors, AbtGoalData *gd)
{
	Oid			argtypes[3] = {UUIDOID, TEXTOID, NUMERICOID};
	Datum		args[3];
	TupleDesc	desc;

	if (gd->settings.cap_type == ABT_CAP_NONE || gd->nmetrics <= ABT_METRIC_VALUE_PER_VISITOR)
		return;
	if (gd->settings.cap_type == ABT_CAP_ABSOLUTE)
		gd->cap = gd->settings.cap_value;
	else
		gd->cap = percentile_cap(experiment_id, visitors, gd);
	if (isnan(gd->cap))
		return;
	gd->cap_numeric = double_to_numeric(gd->cap);

	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = PointerGetDatum(gd->goal);
	args[2] = gd->cap_numeric;
	run_select(abt_plan_custom(&excess_plan, excess_sql, 3, argtypes), args, NULL,
			   "reading the excess over a cap");
	desc = SPI_tuptable->tupdesc;
	gd->nexcess = (int) SPI_processed;
	gd->excess = palloc(sizeof(AbtCapExcess) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		AbtCapExcess *e = &gd->excess[i];
		bool		isnull;

		memcpy(&e->variant_id, DatumGetUUIDP(SPI_getbinval(tuple, desc, EXCESS_VARIANT_ID, &isnull)),
			   UUID_LEN);
		e->sum = datumCopy(SPI_getbinval(tuple, desc, EXCESS_SUM, &isnull), false, -1);
		e->sum_squares = datumCopy(SPI_getbinval(tuple, desc, EXCESS_SUM_SQUARES, &isnull), false, -1);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * A variant's capped value sums: its sums minus its visitors' excess over
 * the cap, and, for a negative cap, the cap for each of its visitors
 * without events (whose 0 is above it).
 */
static void
cap_sums(AbtGoalData *gd, pg_uuid_t *variant_id, AbtVariantGoal *vg)
{
	vg->capped_sum = vg->value_sum;
	vg->capped_sum_squares = vg->value_sum_squares;
	for (int i = 0; i < gd->nexcess; i++)
		if (memcmp(&gd->excess[i].variant_id, variant_id, UUID_LEN) == 0)
		{
			vg->capped_sum = combine_sums(vg->capped_sum, gd->excess[i].sum, numeric_sub_opt_error);
			vg->capped_sum_squares = combine_sums(vg->capped_sum_squares, gd->excess[i].sum_squares,
												  numeric_sub_opt_error);
		}
	if (gd->cap < 0.0 && vg->n > vg->converters)
	{
		Datum		zeros = NumericGetDatum(int64_to_numeric(vg->n - vg->converters));
		Datum		capped = combine_sums(zeros, gd->cap_numeric, numeric_mul_opt_error);

		vg->capped_sum = combine_sums(vg->capped_sum, capped, numeric_add_opt_error);
		vg->capped_sum_squares = combine_sums(vg->capped_sum_squares,
											  combine_sums(capped, gd->cap_numeric, numeric_mul_opt_error),
											  numeric_add_opt_error);
	}
}

/*
 * A variant's CUPED sums of both metrics (metric_math.h's AbtCupedSums,
 * from its goal sums s, NULL: none) and whether its covariates are
 * complete: taken for every one of its visitors (covariate_visitors = n).
 * conversion_rate pairs the 0/1 outcome (converters) with the 0/1
 * covariate (covariate_converters, their product cross_converters);
 * value_per_visitor the visitor's total with its total in the lookback
 * window, uncapped.
 */
static void
variant_cuped_sums(AbtGoalSum *s, AbtVariantGoal *vg)
{
	AbtCupedSums *c = &vg->cuped[ABT_METRIC_CONVERSION_RATE];
	AbtCupedSums *v = &vg->cuped[ABT_METRIC_VALUE_PER_VISITOR];

	vg->covariates = (s ? s->covariate_visitors : 0) == vg->n;
	c->n = v->n = vg->n;
	c->sum_y = c->sum_y2 = (double) vg->converters;
	c->sum_x = c->sum_x2 = s ? (double) s->covariate_converters : 0.0;
	c->sum_xy = s ? (double) s->cross_converters : 0.0;
	v->sum_y = numeric_to_double(vg->value_sum);
	v->sum_y2 = numeric_to_double(vg->value_sum_squares);
	v->sum_x = s ? numeric_to_double(s->covariate_sum) : 0.0;
	v->sum_x2 = s ? numeric_to_double(s->covariate_sum_squares) : 0.0;
	v->sum_xy = s ? numeric_to_double(s->cross_sum) : 0.0;
}

/* Fills a variant's aggregates and moments for a goal (capped as gd says). */
void
abt_metric_variant_goal(AbtMetricSums *sums, pg_uuid_t *experiment_id, AbtGoalData *gd,
						AbtVariant *variant, AbtVariantGoal *vg)
{
	AbtCounterKey key;
	AbtCounterSum *counters;
	AbtGoalSum *s = find_sum(sums, experiment_range(sums, experiment_id), gd->goal, &variant->id);

	memcpy(&key.experiment_id, experiment_id, UUID_LEN);
	memcpy(&key.variant_id, &variant->id, UUID_LEN);
	counters = hash_search(sums->allocations, &key, HASH_FIND, NULL);
	vg->n = counters ? counters->allocations : 0;
	vg->converters = s ? s->converters : 0;
	vg->value_sum = s ? s->value_sum : sums->zero;
	vg->value_sum_squares = s ? s->value_sum_squares : sums->zero;
	if (isnan(gd->cap))
	{
		vg->capped_sum = vg->value_sum;
		vg->capped_sum_squares = vg->value_sum_squares;
	}
	else
		cap_sums(gd, &variant->id, vg);
	variant_cuped_sums(s, vg);
	abt_metric_proportion_moments(vg->n, vg->converters,
								  &vg->mean[ABT_METRIC_CONVERSION_RATE],
								  &vg->variance[ABT_METRIC_CONVERSION_RATE]);
	abt_metric_mean_moments(vg->n, numeric_to_double(vg->capped_sum),
							numeric_to_double(vg->capped_sum_squares),
							&vg->mean[ABT_METRIC_VALUE_PER_VISITOR],
							&vg->variance[ABT_METRIC_VALUE_PER_VISITOR]);
}
