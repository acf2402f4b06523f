/*
 * settle.h
 *		The fold (settle.c): adds an experiment's slot rows into its slot 0
 *		rows and copies the live totals into element_variants.  A service:
 *		abt_settle_counters, abt_settle and the settler (settler.c) call it.
 */
#ifndef ABT_SETTLE_H
#define ABT_SETTLE_H

#include "utils/uuid.h"

/* What folds did: summed over experiments. */
typedef struct AbtSettleCounts
{
	int64		experiments;	/* experiments folded */
	int64		rows_folded;	/* slot rows added into slot 0 and deleted */
	int64		variants_updated;	/* element_variants rows whose totals changed */
	int64		variants_skipped;	/* stale element_variants rows locked by others */
	int64		experiments_busy;	/* skipped: being folded, deleted or changing status */
} AbtSettleCounts;

extern bool abt_settle_experiment(pg_uuid_t *experiment_id, bool wait, AbtSettleCounts *counts);
extern pg_uuid_t *abt_settle_list(bool all, bool wait, Datum retry, int *n);
extern void abt_settle_changed(bool wait, bool all, Datum retry, AbtSettleCounts *counts,
							   pg_uuid_t **stale, int *nstale);

#endif							/* ABT_SETTLE_H */
