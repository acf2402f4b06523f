/*
 * lookup.h
 *		abt_lookup (lookup.c): the experiment row and the visitor's stored
 *		assignment in one index lookup, the first step of every page view
 *		and every conversion.
 */
#ifndef ABT_LOOKUP_H
#define ABT_LOOKUP_H

#include "storage/itemptr.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "version.h"

/* The experiment row and the visitor's assignment, as read by abt_lookup(). */
typedef struct AbtLookup
{
	bool		experiment_found;
	char		status[16];
	char	   *seed;
	double		coverage;
	int64		version;
	bool		assigned;
	Jsonb	   *variants;		/* stored {"element id": "variant id"} */
	bool		converted;
	ItemPointerData ctid;		/* the assignment row's version read */
	char	   *namespace;		/* 1.1 lookup: namespace, or NULL for none */
	double		namespace_start;	/* its range [start, end) */
	double		namespace_end;
	bool		forced;			/* variants are an owner's pins (1.1) */
	bool		held_out;		/* variants are the controls: in a holdout (1.1) */
	/* 1.1: the experiment's holdout (a kind 'holdout' experiment), if any */
	bool		holdout_found;
	pg_uuid_t	holdout_id;
	char		holdout_status[16];
	char	   *holdout_seed;
	double		holdout_coverage;
	int64		holdout_version;
} AbtLookup;

/* lookup.c: the experiment row joined with the visitor's assignment */
extern void abt_lookup_init(void);
extern void abt_lookup(pg_uuid_t *experiment_id, text *user_id, AbtVersion api_version,
					   AbtLookup *out);
extern Jsonb *abt_lookup_forced(pg_uuid_t *experiment_id, text *user_id);
extern Jsonb *abt_lookup_holdout_group(pg_uuid_t *holdout_id, text *user_id);

#endif							/* ABT_LOOKUP_H */
