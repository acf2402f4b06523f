/*
 * analytics.h
 *		What the analytics entry points (stats.c: abt_variant_stats,
 *		metric_stats.c: abt_metric_stats) share (analytics.c).
 */
#ifndef ABT_ANALYTICS_H
#define ABT_ANALYTICS_H

#include <math.h>

#include "fmgr.h"
#include "utils/hsearch.h"
#include "utils/uuid.h"

/* analytics.c: what the analytics entry points (stats.c, metric_stats.c) share */

/* Sets one column of a result row being built. */
static inline void
abt_set_column(Datum *values, bool *nulls, int column, Datum value)
{
	values[column] = value;
	nulls[column] = false;
}

/* Sets a float8 column, leaving it NULL where the value is meaningless (NaN, infinite). */
static inline void
abt_set_float_column(Datum *values, bool *nulls, int column, double value)
{
	if (!isnan(value) && !isinf(value))
		abt_set_column(values, nulls, column, Float8GetDatum(value));
}

typedef struct AbtRequestedExperiment
{
	pg_uuid_t	id;				/* hash key */
	bool		visible;		/* the caller can see the experiment */
	bool		emitted;		/* its rows are out (an id may repeat) */
	Datum		status;			/* when visible */
	int64		version;
} AbtRequestedExperiment;

/* The counters of one variant, summed over slots. */
typedef struct AbtCounterKey
{
	pg_uuid_t	experiment_id;
	pg_uuid_t	variant_id;
} AbtCounterKey;

typedef struct AbtCounterSum
{
	AbtCounterKey key;
	int64		allocations;
	int64		conversions;
} AbtCounterSum;

extern void abt_begin_analytics_result(FunctionCallInfo fcinfo, int ncolumns, const char *function);
extern HTAB *abt_call_hash(const char *name, Size keysize, Size entrysize, long nelem);
extern HTAB *abt_read_experiments(Datum ids, Datum *id_values, int nids);
extern HTAB *abt_read_variant_counters(Datum ids);

#endif							/* ABT_ANALYTICS_H */
