/*
 * deltas.h
 *		A transaction's counts kept in the backend (deltas.c): the second and
 *		later new visitors of an experiment in one transaction add their
 *		counts here, written once per statement (before any query that reads
 *		the counter tables) and before commit, so that N calls in one
 *		statement touch each counter row once instead of N times.
 */
#ifndef ABT_DELTAS_H
#define ABT_DELTAS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

/*
 * A change of a goal's sums in goal_counters (1.1; numerics NULL: 0): an
 * event's, and the CUPED columns (issue 20) of a covariate taken or moved.
 */
typedef struct AbtGoalSums
{
	int64		converters;
	Numeric		value_sum;
	Numeric		value_sum_squares;
	int64		covariate_visitors;
	Numeric		covariate_sum;
	Numeric		covariate_sum_squares;
	int64		covariate_converters;
	Numeric		cross_sum;
	int64		cross_converters;
} AbtGoalSums;

extern void abt_deltas_init(void);
extern void abt_goal_sums_add(AbtGoalSums *to, const AbtGoalSums *from);
extern bool abt_deltas_counted_inline(pg_uuid_t *experiment_id);
extern void abt_deltas_add_assignment(pg_uuid_t *experiment_id, TimestampTz bucket,
									  pg_uuid_t *chosen, int n);
extern void abt_deltas_flush(void);
extern void abt_deltas_add_conversion(pg_uuid_t *experiment_id, TimestampTz bucket,
									  pg_uuid_t *seen, int n);
extern void abt_deltas_add_goal(pg_uuid_t *experiment_id, text *goal, pg_uuid_t *seen, int n,
								const AbtGoalSums *sums);
extern void abt_deltas_write(pg_uuid_t *experiment_id, TimestampTz bucket, Datum *variant_ids,
							 Datum *allocations, Datum *conversions, int nvariants,
							 int64 assignments, int64 experiment_conversions);

#endif							/* ABT_DELTAS_H */
