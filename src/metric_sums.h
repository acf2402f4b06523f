/*
 * metric_sums.h
 *		What abt_metric_stats and abt_metric_power read of a page of
 *		experiments (metric_sums.c): the per-goal sums over slots, each
 *		goal's settings (abtest.goals: prior, capping, CUPED), the capped
 *		sums of a capped goal, and each variant's aggregates and moments of
 *		both metrics, with its CUPED sums.
 */
#ifndef ABT_METRIC_SUMS_H
#define ABT_METRIC_SUMS_H

#include "utils/hsearch.h"
#include "utils/uuid.h"

#include "experiment_config.h"
#include "metric_math.h"

/* The two metrics of a goal, in output order. */
typedef enum AbtMetric
{
	ABT_METRIC_CONVERSION_RATE,
	ABT_METRIC_VALUE_PER_VISITOR,
	ABT_NUM_METRICS
} AbtMetric;

extern const char *const abt_metric_names[ABT_NUM_METRICS];

/* abtest.goals.cap_type */
typedef enum AbtCapType
{
	ABT_CAP_NONE,
	ABT_CAP_ABSOLUTE,
	ABT_CAP_PERCENTILE
} AbtCapType;

/* How a goal is analysed: its abtest.goals row, or the defaults without one. */
typedef struct AbtGoalSettings
{
	AbtMetricPrior prior;
	AbtCapType	cap_type;
	double		cap_value;		/* the cap, or the percentile */
	bool		cap_ignore_zeros;
	bool		cuped;			/* a cuped_lookback: visitors carry a covariate */
} AbtGoalSettings;

/* One variant's capped excess over the cap: sum of (y - cap) and of (y^2 - cap^2). */
typedef struct AbtCapExcess
{
	pg_uuid_t	variant_id;
	Datum		sum;
	Datum		sum_squares;
} AbtCapExcess;

/* One goal of one experiment, ready for its rows. */
typedef struct AbtGoalData
{
	text	   *goal;
	AbtGoalSettings settings;
	int			nmetrics;		/* 2, or 1 (conversion_rate) when every visitor's total is 0 */
	double		cap;			/* the cap of value_per_visitor; NAN: uncapped */
	Datum		cap_numeric;	/* the same as numeric */
	int			nexcess;
	AbtCapExcess *excess;		/* the variants with visitors above the cap */
} AbtGoalData;

/* One variant's aggregates and moments for a goal. */
typedef struct AbtVariantGoal
{
	int64		n;
	int64		converters;
	Datum		value_sum;		/* numeric; (Datum) 0 when the sum overflowed */
	Datum		value_sum_squares;
	Datum		capped_sum;		/* value_per_visitor's sums: capped, or the same */
	Datum		capped_sum_squares;
	double		mean[ABT_NUM_METRICS];
	double		variance[ABT_NUM_METRICS];
	bool		covariates;		/* every visitor's covariate was taken (CUPED may apply) */
	AbtCupedSums cuped[ABT_NUM_METRICS];	/* outcome and covariate sums (uncapped) */
} AbtVariantGoal;

/* What a call reads once, for all its experiments. */
typedef struct AbtMetricSums
{
	HTAB	   *allocations;	/* AbtCounterSum by (experiment, variant) */
	struct AbtGoalSum *sums;	/* sorted by experiment, goal, variant */
	HTAB	   *experiment_sums;	/* an experiment's range of sums */
	HTAB	   *settings;		/* AbtGoalSettings by (experiment, goal) */
	text	  **goal_filter;	/* the goals asked for, repeats removed; or NULL */
	int			ngoal_filter;
	Datum		zero;			/* numeric 0 */
} AbtMetricSums;

/* metric_sums.c */
extern bool abt_metric_goal_equal(text *a, text *b);
extern void abt_metric_sums_read(AbtMetricSums *sums, Datum ids, Datum goals, bool goals_null);
extern int	abt_metric_experiment_goals(AbtMetricSums *sums, pg_uuid_t *experiment_id, text ***goals);
extern void abt_metric_goal_settings(AbtMetricSums *sums, pg_uuid_t *experiment_id, text *goal,
									 AbtGoalData *gd);
extern int64 abt_metric_experiment_visitors(AbtMetricSums *sums, pg_uuid_t *experiment_id,
											 AbtElement *elements, int nelements);
extern void abt_metric_goal_cap(AbtMetricSums *sums, pg_uuid_t *experiment_id, int64 visitors,
								AbtGoalData *gd);
extern void abt_metric_variant_goal(AbtMetricSums *sums, pg_uuid_t *experiment_id, AbtGoalData *gd,
									AbtVariant *variant, AbtVariantGoal *vg);

#endif							/* ABT_METRIC_SUMS_H */
