/*
 * rules.h
 *		abtest's rules with one definition each: how long a visitor id may
 *		be, what one call and the configuration tables may hold (checks.c's
 *		abtest.limits() shows these limits to SQL), the bound of an event's
 *		value, and the timeline rollups' bucket.  Where the SQL scripts
 *		repeat one, the test named with it holds the copies equal.
 */
#ifndef ABT_RULES_H
#define ABT_RULES_H

#include "datatype/timestamp.h"

/*
 * Longest visitor id (and conversion goal) accepted, in characters.  The
 * released install script repeats it in CHECK constraints and PL/pgSQL
 * (it cannot be edited): tests at 256 and 257 characters hold the copies
 * equal.
 */
#define ABT_MAX_ID_CHARS 256

/*
 * What a visitor's call (owner.c: a caller that may not write the tables
 * directly) accepts beyond that: experiments in one abt_assign_batch call,
 * characters of a conversion goal (abtest.goals' CHECK repeats it).
 */
#define ABT_MAX_PAGE_EXPERIMENTS 50
#define ABT_MAX_VISITOR_GOAL_CHARS 64

/*
 * Largest absolute value of a conversion event's value that enters the
 * per-goal sums of abt_metric_stats (1.1): 10^15, within float8's
 * exact-integer range (2^53 ~ 9.007e15) and far from any overflow of the
 * sums.  With every event within it, a visitor's total after n events is at
 * most n 10^15, and a sum of squares over m visitors at most m (n 10^15)^2:
 * below 1e87 even for n and m at bigint's limit, where numeric overflows
 * at 1e131072 and float8 at 1.8e308.  So no caller can make a sum, its
 * fold or its statistics fail.  abt_convert_1_1 takes from a visitor a
 * value in [0, it] (or in [0, max_value] of a declared goal, which is at
 * most it), from a trusted caller one in [-it, it] (refunds); 22003
 * otherwise.  Copies in sql/abtest--1.0--1.1.sql: abtest.goals' CHECK on
 * max_value and abtest.rebuild_goal_sums() (the update's backfill, a
 * restore's rebuild), which clamps 1.0's stored values to [-it, it];
 * test/sql/event_value_bound.sql holds them equal.
 */
#define ABT_MAX_EVENT_VALUE INT64CONST(1000000000000000)

/*
 * What one call of an analytics function may cost, whoever calls it
 * (SQLSTATE 54000 beyond it, except where noted): goals in the goals
 * argument of abt_metric_stats (as given, repeats included), and rows of
 * one call's result: abt_metric_stats' rows, and abt_timeline_variants'
 * variants x buckets (22023 there, as the timeline's other window errors).
 * The arrays a call keeps cost a few tens of bytes a row, so a call stays
 * within a few tens of MB (the result itself spills to disk beyond
 * work_mem).
 */
#define ABT_MAX_GOALS_PER_CALL 1000
#define ABT_MAX_RESULT_ROWS 1000000

/*
 * What the configuration tables hold: variants of one element, elements of
 * one experiment (SQLSTATE 54000 beyond them).  The 1.1 script's triggers
 * (abtest.variant_limit_check, abtest.element_limit_check) read the numbers
 * through abtest.limits() (checks.c), which shows every limit here to SQL;
 * test/sql/call_limits.sql inserts up to each and one more.
 */
#define ABT_MAX_VARIANTS_PER_ELEMENT 100
#define ABT_MAX_ELEMENTS_PER_EXPERIMENT 50

/* The largest experiment the tables allow gets a week of hourly buckets. */
StaticAssertDecl((int64) ABT_MAX_ELEMENTS_PER_EXPERIMENT * ABT_MAX_VARIANTS_PER_ELEMENT * 7 * 24
				 <= ABT_MAX_RESULT_ROWS,
				 "a week's hourly timeline of every variant fits in one call");

/* Width of the timeline rollup buckets: 15 minutes divides every modern UTC offset. */
#define ABT_ROLLUP_BUCKET_USECS (INT64CONST(15) * 60 * USECS_PER_SEC)

/*
 * The start of the rollup bucket holding ts: buckets are aligned to the
 * PostgreSQL epoch (2000-01-01 00:00 UTC), as date_bin(width, ts, epoch).
 */
static inline TimestampTz
abt_rollup_bucket(TimestampTz ts)
{
	int64		r = ts % ABT_ROLLUP_BUCKET_USECS;

	if (r < 0)
		r += ABT_ROLLUP_BUCKET_USECS;
	return ts - r;
}

/* Text form of a uuid plus its terminating zero. */
#define ABT_UUID_TEXT_LEN 37

#endif							/* ABT_RULES_H */
