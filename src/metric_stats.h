/*
 * metric_stats.h
 *		abt_metric_stats (metric_stats.c): per-goal results of a page of
 *		experiments.
 */
#ifndef ABT_METRIC_STATS_H
#define ABT_METRIC_STATS_H

/* From _PG_init: abtest.sequential_tuning */
extern void abt_metric_stats_init(void);

#endif							/* ABT_METRIC_STATS_H */
