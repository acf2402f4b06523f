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

extern void abt_deltas_init(void);
extern bool abt_deltas_counted_inline(pg_uuid_t *experiment_id);
extern void abt_deltas_add_assignment(pg_uuid_t *experiment_id, TimestampTz bucket,
									  pg_uuid_t *chosen, int n);
extern void abt_deltas_flush(void);
extern void abt_deltas_add_conversion(pg_uuid_t *experiment_id, TimestampTz bucket,
									  pg_uuid_t *seen, int n);
extern void abt_deltas_add_goal(pg_uuid_t *experiment_id, text *goal, pg_uuid_t *seen, int n,
								bool first, Numeric value, Numeric squares);
extern void abt_deltas_write(pg_uuid_t *experiment_id, TimestampTz bucket, Datum *variant_ids,
							 Datum *allocations, Datum *conversions, int nvariants,
							 int64 assignments, int64 experiment_conversions);

#endif							/* ABT_DELTAS_H */
