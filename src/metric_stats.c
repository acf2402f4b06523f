/*
 * metric_stats.c
 *		abt_metric_stats: per-goal results of a page of experiments in one
 *		call (conversion rate and value per visitor of every variant against
 *		its element's control: GrowthBook's frequentist engine, fixed-horizon
 *		or sequential, with Holm and Benjamini-Hochberg adjusted p-values, or
 *		its Bayesian engine; CUPED, its regression adjustment, for goals with
 *		a lookback); abt_metric_power, the power of those tests at
 *		the current sample size; and the engine alone as the pure functions
 *		abt_mean_test, abt_proportion_test and abt_sample_size.
 *
 * What a call reads (the experiments and the variants' allocations, shared
 * with abt_variant_stats, analytics.c; the goal sums, the goals' settings
 * and a capped goal's capped sums, metric_sums.c) costs a few queries
 * whatever the number of experiments, and one or two more per capped goal
 * shown.  Elements and variants come from the configuration cache.  The
 * statistics are metric_math.c's (GrowthBook's gbstats formulas).
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
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "analytics.h"
#include "checks.h"
#include "config_cache.h"
#include "experiment_config.h"
#include "metric_math.h"
#include "metric_stats.h"
#include "metric_sums.h"
#include "rules.h"

PG_FUNCTION_INFO_V1(abt_metric_stats);
PG_FUNCTION_INFO_V1(abt_metric_power);
PG_FUNCTION_INFO_V1(abt_sample_size);
PG_FUNCTION_INFO_V1(abt_mean_test);
PG_FUNCTION_INFO_V1(abt_proportion_test);

/* GUC abtest.sequential_tuning: the tuning N* of the confidence sequences */
static int	abt_sequential_tuning = (int) ABT_METRIC_SEQUENTIAL_TUNING_DEFAULT;

/* abt_metric_power's second number: the MDE at this power (GrowthBook's target) */
#define POWER_TARGET 0.8

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
	MS_CHANCE_TO_WIN,
	MS_RISK_CONTROL,
	MS_RISK_VARIANT,
	MS_CAP,
	MS_CUPED,
	MS_THETA,
	MS_COVARIATE_MEAN,
	MS_COLUMNS
};

/* Columns of abt_metric_power's result. */
enum
{
	MP_EXPERIMENT_ID,
	MP_ELEMENT_ID,
	MP_VARIANT_ID,
	MP_METRIC,
	MP_POWER,
	MP_MDE_AT_80,
	MP_COLUMNS
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

/* abt_metric_stats' engine argument */
typedef enum MetricEngine
{
	ENGINE_FREQUENTIST,
	ENGINE_BAYESIAN
} MetricEngine;

/* What the rows of one call share. */
typedef struct MetricOutput
{
	ReturnSetInfo *rsinfo;
	AbtMetricSums sums;
	int64		nrows;			/* rows of the result so far (ABT_MAX_RESULT_ROWS) */
	MetricEngine engine;
	bool		sequential;
	bool		cuped;			/* CUPED for goals with a lookback (abt_metric_stats' argument) */
	double		alpha;
	double		tuning;
	double		mde;			/* abt_metric_power's */
	Datum		metric_datums[ABT_NUM_METRICS];
} MetricOutput;

/* One experiment's goals, ready for its rows. */
typedef struct ExperimentGoals
{
	pg_uuid_t  *experiment_id;
	AbtConfig  *config;
	int			ngoals;
	AbtGoalData *goals;
	AbtVariantGoal *vg;			/* workspace: one element's variants for one goal */
} ExperimentGoals;

/* What a comparison row shows, NAN where its column is NULL. */
typedef struct RowResult
{
	double		uplift;
	double		ci_low;
	double		ci_high;
	double		p_value;
	double		chance_to_beat;
	double		chance_to_win;
	double		risk_control;
	double		risk_variant;
	bool		cuped;			/* regression adjusted */
	double		theta;			/* CUPED's theta; NAN: not adjusted or undefined */
} RowResult;

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
add_rows(MetricOutput *out, int64 n, const char *function)
{
	out->nrows += n;
	if (out->nrows > ABT_MAX_RESULT_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s would return more than %d rows", function, ABT_MAX_RESULT_ROWS),
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

/*
 * Reads the settings (and number of metrics) of an experiment's eg->ngoals
 * goals into eg; returns the rows they make, a row per variant and metric
 * (comparisons_only, abt_metric_power's: per non-control variant of an
 * element with a control).  The caps come after the row count is checked
 * (experiment_caps).
 */
static int64
experiment_goals(MetricOutput *out, ExperimentGoals *eg, text **goals, bool comparisons_only)
{
	int64		nrows = 0;
	int64		metrics = 0;
	int			maxvariants = 1;

	eg->goals = palloc(sizeof(AbtGoalData) * Max(eg->ngoals, 1));
	for (int g = 0; g < eg->ngoals; g++)
	{
		abt_metric_goal_settings(&out->sums, eg->experiment_id, goals[g], &eg->goals[g]);
		metrics += eg->goals[g].nmetrics;
	}
	for (int e = 0; e < eg->config->nelements; e++)
	{
		AbtElement *element = &eg->config->elements[e];
		int			rows = element->nvariants;

		if (comparisons_only)
			rows = element_control(element) < 0 ? 0 : element->nvariants - 1;
		nrows += (int64) rows * metrics;
		maxvariants = Max(maxvariants, element->nvariants);
	}
	eg->vg = palloc(sizeof(AbtVariantGoal) * maxvariants);
	return nrows;
}

/* Caps the capped goals of an experiment (SPI: back in the caller's memory). */
static void
experiment_caps(MetricOutput *out, ExperimentGoals *eg)
{
	int64		visitors = abt_metric_experiment_visitors(&out->sums, eg->experiment_id,
														  eg->config->elements, eg->config->nelements);

	for (int g = 0; g < eg->ngoals; g++)
	{
		CHECK_FOR_INTERRUPTS();
		abt_metric_goal_cap(&out->sums, eg->experiment_id, visitors, &eg->goals[g]);
	}
}

/* Fills eg->vg with the aggregates and moments of an element's variants for goal g. */
static void
element_goal(MetricOutput *out, ExperimentGoals *eg, AbtElement *element, int g)
{
	CHECK_FOR_INTERRUPTS();
	for (int v = 0; v < element->nvariants; v++)
		abt_metric_variant_goal(&out->sums, eg->experiment_id, &eg->goals[g],
								&element->variants[v], &eg->vg[v]);
}

/*
 * Whether variant vg's metric m of goal gd enters CUPED: the call asks for
 * it, the goal has a lookback, every visitor of the variant has its
 * covariate, and the metric is not capped (the covariate would have to be
 * capped as well, per visitor: docs/analytics.md, "CUPED").
 */
static bool
variant_cuped(MetricOutput *out, AbtGoalData *gd, AbtVariantGoal *vg, int m)
{
	return out->cuped && gd->settings.cuped && vg->covariates &&
		!(m == ABT_METRIC_VALUE_PER_VISITOR && !isnan(gd->cap));
}

/*
 * The effect of variant v against the control for metric m of goal gd
 * (uplift, se, dof, chance to beat): CUPED's, with theta pooled over the
 * two, when both enter CUPED; else the unadjusted one.  Sets r->cuped and
 * r->theta.
 */
static void
variant_effect(MetricOutput *out, AbtGoalData *gd, AbtVariantGoal *vg, int control, int v, int m,
			   AbtMetricTest *t, RowResult *r)
{
	bool		proportion = (m == ABT_METRIC_CONVERSION_RATE);

	r->cuped = variant_cuped(out, gd, &vg[control], m) && variant_cuped(out, gd, &vg[v], m);
	r->theta = NAN;
	if (r->cuped)
	{
		r->theta = abt_metric_cuped_theta(proportion, &vg[control].cuped[m], &vg[v].cuped[m]);
		abt_metric_cuped_effect(proportion, &vg[control].cuped[m], &vg[v].cuped[m], r->theta, t);
	}
	else
		abt_metric_effect(vg[control].n, vg[control].mean[m], vg[control].variance[m],
						  vg[v].n, vg[v].mean[m], vg[v].variance[m], t);
}

/*
 * What the row of variant v against the control shows for metric m of
 * goal gd: the frequentist test's uplift, interval, p-value and chance to
 * beat (fixed-horizon or sequential, as the call asks), or the Bayesian
 * engine's posterior mean, credible interval, chance to win and risks
 * (gd's prior); both on CUPED's effect where it applies.
 */
static void
variant_result(MetricOutput *out, AbtGoalData *gd, AbtVariantGoal *vg, int control, int v, int m,
			   RowResult *r)
{
	AbtMetricTest t;

	variant_effect(out, gd, vg, control, v, m, &t, r);
	if (out->engine == ENGINE_BAYESIAN)
	{
		AbtMetricBayes b;

		abt_metric_bayesian_effect(&t, out->alpha, &gd->settings.prior, &b);
		r->uplift = b.uplift;
		r->ci_low = b.ci_low;
		r->ci_high = b.ci_high;
		r->p_value = NAN;
		r->chance_to_beat = NAN;
		r->chance_to_win = b.chance_to_win;
		r->risk_control = b.risk_control;
		r->risk_variant = b.risk_variant;
	}
	else
	{
		abt_metric_effect_test(vg[control].n + vg[v].n, out->sequential, out->alpha, out->tuning, &t);
		r->uplift = t.uplift;
		r->ci_low = t.ci_low;
		r->ci_high = t.ci_high;
		r->p_value = t.p_value;
		r->chance_to_beat = t.chance_to_beat;
		r->chance_to_win = NAN;
		r->risk_control = NAN;
		r->risk_variant = NAN;
	}
}

/*
 * The p-values of an experiment's family, every non-control row of an
 * element with a control, in row order (a NULL p counts in none: NAN);
 * returns their number.  All NAN under the Bayesian engine.
 */
static int
family_p_values(MetricOutput *out, ExperimentGoals *eg, double *p)
{
	int			nfamily = 0;

	for (int e = 0; e < eg->config->nelements; e++)
	{
		AbtElement *element = &eg->config->elements[e];
		int			control = element_control(element);

		if (control < 0)
			continue;
		for (int g = 0; g < eg->ngoals; g++)
		{
			element_goal(out, eg, element, g);
			for (int m = 0; m < eg->goals[g].nmetrics; m++)
				for (int v = 0; v < element->nvariants; v++)
				{
					RowResult r;

					if (v == control)
						continue;
					variant_result(out, &eg->goals[g], eg->vg, control, v, m, &r);
					p[nfamily++] = isinf(r.p_value) ? NAN : r.p_value;
				}
		}
	}
	return nfamily;
}

/* Sets a row's variant, goal and aggregate columns (the same in both engines). */
static void
set_variant_columns(MetricOutput *out, ExperimentGoals *eg, AbtElement *element, int v, int g, int m,
					Datum element_name, Datum variant_name, Datum *values, bool *nulls)
{
	AbtVariant *variant = &element->variants[v];
	AbtVariantGoal *vg = &eg->vg[v];
	AbtGoalData *gd = &eg->goals[g];
	Datum		sum = (m == ABT_METRIC_VALUE_PER_VISITOR) ? vg->capped_sum : vg->value_sum;
	Datum		squares = (m == ABT_METRIC_VALUE_PER_VISITOR) ? vg->capped_sum_squares : vg->value_sum_squares;

	abt_set_column(values, nulls, MS_ELEMENT_ID, UUIDPGetDatum(&element->id));
	abt_set_column(values, nulls, MS_ELEMENT_NAME, element_name);
	abt_set_column(values, nulls, MS_VARIANT_ID, UUIDPGetDatum(&variant->id));
	abt_set_column(values, nulls, MS_VARIANT_NAME, variant_name);
	abt_set_column(values, nulls, MS_IS_CONTROL, BoolGetDatum(variant->is_control));
	abt_set_column(values, nulls, MS_GOAL, PointerGetDatum(gd->goal));
	abt_set_column(values, nulls, MS_METRIC, out->metric_datums[m]);
	abt_set_column(values, nulls, MS_VISITORS, Int64GetDatum(vg->n));
	abt_set_column(values, nulls, MS_CONVERTERS, Int64GetDatum(vg->converters));
	if (sum != (Datum) 0)
		abt_set_column(values, nulls, MS_VALUE_SUM, sum);
	if (squares != (Datum) 0)
		abt_set_column(values, nulls, MS_VALUE_SUM_SQUARES, squares);
	abt_set_column(values, nulls, MS_IS_SEQUENTIAL, BoolGetDatum(out->sequential));
	abt_set_float_column(values, nulls, MS_MEAN, vg->mean[m]);
	abt_set_float_column(values, nulls, MS_VARIANCE, vg->variance[m]);
	if (m == ABT_METRIC_VALUE_PER_VISITOR)
		abt_set_float_column(values, nulls, MS_CAP, gd->cap);

	/*
	 * CUPED: the variant's own eligibility (a comparison row's becomes the
	 * pair's in set_result_columns), and its covariate mean where its
	 * covariates are complete.
	 */
	abt_set_column(values, nulls, MS_CUPED, BoolGetDatum(variant_cuped(out, gd, vg, m)));
	if (gd->settings.cuped && vg->covariates)
		abt_set_float_column(values, nulls, MS_COVARIATE_MEAN,
							 abt_metric_cuped_covariate_mean(&vg->cuped[m]));
}

/* Sets a comparison row's result columns, with its adjusted p-values. */
static void
set_result_columns(RowResult *r, double holm, double bh, Datum *values, bool *nulls)
{
	abt_set_float_column(values, nulls, MS_UPLIFT, r->uplift);
	abt_set_float_column(values, nulls, MS_CI_LOW, r->ci_low);
	abt_set_float_column(values, nulls, MS_CI_HIGH, r->ci_high);
	abt_set_float_column(values, nulls, MS_P_VALUE, r->p_value);
	abt_set_float_column(values, nulls, MS_CHANCE_TO_BEAT, r->chance_to_beat);
	abt_set_float_column(values, nulls, MS_P_VALUE_HOLM, holm);
	abt_set_float_column(values, nulls, MS_P_VALUE_BH, bh);
	abt_set_float_column(values, nulls, MS_CHANCE_TO_WIN, r->chance_to_win);
	abt_set_float_column(values, nulls, MS_RISK_CONTROL, r->risk_control);
	abt_set_float_column(values, nulls, MS_RISK_VARIANT, r->risk_variant);
	abt_set_column(values, nulls, MS_CUPED, BoolGetDatum(r->cuped));
	abt_set_float_column(values, nulls, MS_THETA, r->theta);
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
emit_experiment(MetricOutput *out, Datum experiment_id, Datum status, ExperimentGoals *eg,
				text **goals)
{
	int64		nrows = experiment_goals(out, eg, goals, false);
	double	   *p;
	double	   *holm;
	double	   *bh;
	int		   *order;
	int			nfamily;
	int			f = 0;
	Datum		values[MS_COLUMNS];
	bool		nulls[MS_COLUMNS];

	if (nrows == 0)
		return false;
	add_rows(out, nrows, "abt_metric_stats");
	experiment_caps(out, eg);
	p = palloc(sizeof(double) * nrows);
	holm = palloc(sizeof(double) * nrows);
	bh = palloc(sizeof(double) * nrows);
	order = palloc(sizeof(int) * nrows);

	nfamily = family_p_values(out, eg, p);
	abt_metric_adjust_holm(p, nfamily, order, holm);
	abt_metric_adjust_bh(p, nfamily, order, bh);

	for (int e = 0; e < eg->config->nelements; e++)
	{
		AbtElement *element = &eg->config->elements[e];
		int			control = element_control(element);
		Datum		element_name = CStringGetTextDatum(element->name);
		Datum	   *variant_names = palloc(sizeof(Datum) * Max(element->nvariants, 1));

		for (int v = 0; v < element->nvariants; v++)
			variant_names[v] = CStringGetTextDatum(element->variants[v].name);
		for (int g = 0; g < eg->ngoals; g++)
		{
			element_goal(out, eg, element, g);
			for (int m = 0; m < eg->goals[g].nmetrics; m++)
				for (int v = 0; v < element->nvariants; v++)
				{
					begin_row(experiment_id, status, false, values, nulls);
					set_variant_columns(out, eg, element, v, g, m, element_name, variant_names[v],
										values, nulls);
					if (control >= 0 && v != control)
					{
						RowResult r;

						/* the same result as the first pass: the f-th of the family */
						variant_result(out, &eg->goals[g], eg->vg, control, v, m, &r);
						Assert(f < nfamily);
						set_result_columns(&r, holm[f], bh[f], values, nulls);
						f++;
					}
					tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc,
										 values, nulls);
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
	return !abt_metric_goal_equal(*(text *const *) key1, *(text *const *) key2);
}

/*
 * Reads the goals argument: NULL (every goal), or its elements without
 * duplicates, in the order given; an element may not be NULL, and at most
 * ABT_MAX_GOALS_PER_CALL may be given (repeats included: the array is
 * rejected before it is read).
 */
static void
read_goal_filter(FunctionCallInfo fcinfo, int argno, AbtMetricSums *out)
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

/*
 * Reads the engine argument: 'frequentist' or 'bayesian' (GrowthBook's
 * names); the Bayesian engine has no sequential mode.
 */
static MetricEngine
arg_engine(FunctionCallInfo fcinfo, int argno, bool sequential)
{
	char	   *engine;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("engine must not be null")));
	engine = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(engine, "frequentist") == 0)
		return ENGINE_FREQUENTIST;
	if (strcmp(engine, "bayesian") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown engine \"%s\"", engine),
				 errhint("The engines are 'frequentist' and 'bayesian'.")));
	if (sequential)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the Bayesian engine has no sequential mode"),
				 errdetail("Sequential testing (confidence sequences) is a frequentist method."),
				 errhint("Call with sequential => false, or with engine => 'frequentist'.")));
	return ENGINE_BAYESIAN;
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

/* Emits the rows of one experiment with elements and goals (one of each function). */
typedef bool (*EmitExperiment) (MetricOutput *out, Datum experiment_id, Datum status,
								ExperimentGoals *eg, text **goals);

/*
 * What abt_metric_stats and abt_metric_power share: reads what the call
 * needs (SPI) and hands each requested experiment, once, in its first
 * place's order, to emit; an experiment emit leaves without rows (not
 * visible, no variants, no goals) gets one row from `empty` (or none).
 */
static void
emit_experiments(FunctionCallInfo fcinfo, MetricOutput *out, Datum ids, Datum *id_values, int nids,
				 Datum goals, bool goals_null, EmitExperiment emit,
				 void (*empty) (MetricOutput *out, Datum experiment_id, Datum status, bool visible))
{
	HTAB	   *requested;
	MemoryContext rows_context;

	out->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	out->nrows = 0;
	for (int m = 0; m < ABT_NUM_METRICS; m++)
		out->metric_datums[m] = CStringGetTextDatum(abt_metric_names[m]);
	SPI_connect();
	requested = abt_read_experiments(ids, id_values, nids);
	abt_metric_sums_read(&out->sums, ids, goals, goals_null);
	rows_context = AllocSetContextCreate(CurrentMemoryContext, "abtest metric rows",
										 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nids; i++)
	{
		AbtRequestedExperiment *r = hash_search(requested, DatumGetUUIDP(id_values[i]),
												HASH_FIND, NULL);
		ExperimentGoals eg;
		MemoryContext oldcontext;
		text	  **experiment_goals = NULL;

		CHECK_FOR_INTERRUPTS();
		if (r->emitted)
			continue;
		r->emitted = true;
		eg.experiment_id = &r->id;
		eg.config = NULL;
		/* SPI calls return to SPI's context: load first, then switch */
		if (r->visible)
			eg.config = abt_config_get(&r->id, r->version, ABT_VERSION_1_1);
		oldcontext = MemoryContextSwitchTo(rows_context);
		eg.ngoals = eg.config ? abt_metric_experiment_goals(&out->sums, &r->id, &experiment_goals) : 0;
		if (eg.config == NULL || eg.config->nelements == 0 || eg.ngoals == 0 ||
			!emit(out, id_values[i], r->status, &eg, experiment_goals))
		{
			if (empty != NULL)
				empty(out, id_values[i], r->status, eg.config != NULL);
		}
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(rows_context);
	}
	SPI_finish();
}

/* abt_metric_stats' one row of an experiment with nothing to show: its id (and status). */
static void
emit_empty_stats(MetricOutput *out, Datum experiment_id, Datum status, bool visible)
{
	Datum		values[MS_COLUMNS];
	bool		nulls[MS_COLUMNS];

	add_rows(out, 1, "abt_metric_stats");
	begin_row(experiment_id, status, !visible, values, nulls);
	tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
}

/*
 * SQL: abt_metric_stats(experiment_ids uuid[], goals text[], sequential
 * boolean, alpha float8, engine text, cuped boolean) returns a row per (experiment,
 * element, goal, metric, variant), in the experiments' first places in the
 * array, element position, goal (as given, or byte order), metric, variant
 * position.  With cuped (the default), a goal with a cuped_lookback has
 * its rows regression adjusted where both sides' covariates are complete
 * and the metric is not capped (variant_cuped): the comparison's uplift,
 * interval, p-value (and so Holm and BH) or posterior use CUPED's effect;
 * mean and variance stay the unadjusted ones.  cuped says whether a
 * comparison row is adjusted (a control's row: whether its own data
 * qualify), theta is the pair's (comparison rows), covariate_mean the
 * variant's mean covariate (goals with a lookback, complete covariates).
 * An id the caller can't see gets one row with its id alone
 * (status NULL); a visible experiment without variants or without goals to
 * show gets one row with its id and status.  STABLE: every query reads the
 * caller's snapshot.
 */
Datum
abt_metric_stats(PG_FUNCTION_ARGS)
{
	Datum	   *id_values;
	int			nids;
	MetricOutput out;

	id_values = abt_arg_experiment_ids(fcinfo, 0, &nids);
	read_goal_filter(fcinfo, 1, &out.sums);
	out.sequential = arg_bool(fcinfo, 2, "sequential");
	out.alpha = arg_alpha(fcinfo, 3);
	out.engine = arg_engine(fcinfo, 4, out.sequential);
	out.cuped = arg_bool(fcinfo, 5, "cuped");
	out.tuning = (double) abt_sequential_tuning;
	out.mde = NAN;
	abt_begin_analytics_result(fcinfo, MS_COLUMNS, "abt_metric_stats");
	emit_experiments(fcinfo, &out, PG_GETARG_DATUM(0), id_values, nids,
					 PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1),
					 emit_experiment, emit_empty_stats);
	return (Datum) 0;
}

/*
 * Emits abt_metric_power's rows of one experiment: per element with a
 * control, metric and non-control variant, the power of the fixed-horizon
 * test at the current sample size for the relative effect out->mde, and
 * the relative effect with 80% power (NULL where the test is: fewer than 2
 * visitors a side, a control mean or standard error of 0).
 */
static bool
emit_power(MetricOutput *out, Datum experiment_id, Datum status, ExperimentGoals *eg, text **goals)
{
	int64		nrows = experiment_goals(out, eg, goals, true);
	Datum		values[MP_COLUMNS];
	bool		nulls[MP_COLUMNS];

	if (nrows == 0)
		return false;
	add_rows(out, nrows, "abt_metric_power");
	experiment_caps(out, eg);
	for (int e = 0; e < eg->config->nelements; e++)
	{
		AbtElement *element = &eg->config->elements[e];
		int			control = element_control(element);

		if (control < 0)
			continue;
		element_goal(out, eg, element, 0);
		for (int m = 0; m < eg->goals[0].nmetrics; m++)
			for (int v = 0; v < element->nvariants; v++)
			{
				AbtMetricTest t;

				if (v == control)
					continue;
				abt_metric_ttest(eg->vg[control].n, eg->vg[control].mean[m], eg->vg[control].variance[m],
								 eg->vg[v].n, eg->vg[v].mean[m], eg->vg[v].variance[m], out->alpha, &t);
				memset(nulls, true, sizeof(nulls));
				abt_set_column(values, nulls, MP_EXPERIMENT_ID, experiment_id);
				abt_set_column(values, nulls, MP_ELEMENT_ID, UUIDPGetDatum(&element->id));
				abt_set_column(values, nulls, MP_VARIANT_ID, UUIDPGetDatum(&element->variants[v].id));
				abt_set_column(values, nulls, MP_METRIC, out->metric_datums[m]);
				abt_set_float_column(values, nulls, MP_POWER, abt_metric_test_power(t.se, out->mde, out->alpha));
				abt_set_float_column(values, nulls, MP_MDE_AT_80,
									 abt_metric_mde(t.se, out->alpha, POWER_TARGET));
				tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
			}
	}
	return true;
}

/* Reads a non-null float8 argument that must be finite (`what` names it). */
static double
arg_finite(FunctionCallInfo fcinfo, int argno, const char *what)
{
	double		value;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	value = PG_GETARG_FLOAT8(argno);
	if (!isfinite(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what)));
	return value;
}

/*
 * SQL: abt_metric_power(experiment_ids uuid[], goal text, mde float8, alpha
 * float8) returns, for the goal, a row per (experiment, element, metric,
 * non-control variant) in abt_metric_stats' order, with the same numbers
 * (capping included): the power of its two-sided fixed-horizon test for
 * the relative effect mde (its sign does not matter) and the relative
 * effect it detects with 80% power.  Experiments the caller can't see, or
 * without a comparison, have no rows.  STABLE.
 */
Datum
abt_metric_power(PG_FUNCTION_ARGS)
{
	Datum	   *id_values;
	int			nids;
	MetricOutput out;
	Datum		goal;

	id_values = abt_arg_experiment_ids(fcinfo, 0, &nids);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("goal must not be null")));
	goal = PG_GETARG_DATUM(1);
	out.sums.goal_filter = palloc(sizeof(text *));
	out.sums.goal_filter[0] = DatumGetTextPP(goal);
	out.sums.ngoal_filter = 1;
	out.mde = arg_finite(fcinfo, 2, "mde");
	out.alpha = arg_alpha(fcinfo, 3);
	out.sequential = false;
	out.cuped = false;
	out.engine = ENGINE_FREQUENTIST;
	out.tuning = (double) abt_sequential_tuning;
	abt_begin_analytics_result(fcinfo, MP_COLUMNS, "abt_metric_power");
	emit_experiments(fcinfo, &out, PG_GETARG_DATUM(0), id_values, nids,
					 PointerGetDatum(construct_array(&goal, 1, TEXTOID, -1, false, TYPALIGN_INT)),
					 false, emit_power, NULL);
	return (Datum) 0;
}

/*
 * SQL: abt_sample_size(mean, variance, mde, alpha, power, variants): the
 * visitors each variant needs for the two-sided test to detect the
 * relative effect mde with that power (metric_math.c's
 * abt_metric_sample_size).  No correction for the number of variants:
 * `variants` (at least 2) does not change the answer, which is per
 * variant.  STRICT.
 */
Datum
abt_sample_size(PG_FUNCTION_ARGS)
{
	double		mean = PG_GETARG_FLOAT8(0);
	double		variance = PG_GETARG_FLOAT8(1);
	double		mde = PG_GETARG_FLOAT8(2);
	double		alpha = arg_alpha(fcinfo, 3);
	double		power = PG_GETARG_FLOAT8(4);
	int32		variants = PG_GETARG_INT32(5);
	double		n;

	if (!isfinite(mean) || mean == 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean must be a finite number other than 0"),
				 errdetail("The effect is relative to the mean.")));
	if (!(variance > 0.0) || !isfinite(variance))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("variance must be a finite number above 0"),
				 errhint("A conversion rate p has variance p (1 - p).")));
	if (!isfinite(mde) || mde == 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mde must be a finite number other than 0"),
				 errhint("It is relative: 0.05 is a 5%% change.")));
	if (!(power > alpha && power < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("power must be above alpha and below 1"),
				 errdetail("It is %g, alpha %g.", power, alpha)));
	if (variants < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("variants must be at least 2"),
				 errdetail("It counts the control too.")));
	n = abt_metric_sample_size(mean, variance, mde, alpha, power);
	if (!(n <= (double) PG_INT64_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the sample size is out of range for bigint"),
				 errhint("Plan for a larger effect.")));
	PG_RETURN_INT64((int64) n);
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
