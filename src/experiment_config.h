/*
 * experiment_config.h
 *		An experiment's configuration as the C code holds it: its elements,
 *		each with its variants and their GrowthBook bucket ranges, and the
 *		goals it declares.  config_cache.c loads and keeps it, growthbook.c
 *		buckets visitors with it, answer.c and the statistics read it.
 */
#ifndef ABT_EXPERIMENT_CONFIG_H
#define ABT_EXPERIMENT_CONFIG_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "rules.h"

/* One variant of an element. */
typedef struct AbtVariant
{
	pg_uuid_t	id;
	char		id_text[ABT_UUID_TEXT_LEN];
	char	   *name;
	Jsonb	   *content;
	double		weight;			/* as stored (abt_variant_stats normalises it) */
	int32		position;
	bool		is_control;
	double		range_start;	/* bucket range [start, end) of gbhash values */
	double		range_end;
} AbtVariant;

/* One element of an experiment with its variants in position order. */
typedef struct AbtElement
{
	pg_uuid_t	id;
	char		id_text[ABT_UUID_TEXT_LEN];
	char	   *name;
	char	   *selector;		/* NULL when the element has none */
	char	   *seed;
	int			nvariants;
	AbtVariant *variants;
	const char *problem;		/* why no new visitor can be bucketed, or NULL */
} AbtElement;

/* A goal an experiment declares for visitors' conversions (abtest.goals). */
typedef struct AbtGoal
{
	char	   *name;
	struct NumericData *max_value;	/* largest value a visitor may send, or NULL */
	Interval   *lookback;	/* CUPED's pre-exposure window, or NULL (1.1) */
} AbtGoal;

#endif							/* ABT_EXPERIMENT_CONFIG_H */
