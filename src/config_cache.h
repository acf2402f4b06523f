/*
 * config_cache.h
 *		The per-backend cache of experiment configurations (config_cache.c)
 *		and its setting, abtest.cache_memory.
 */
#ifndef ABT_CONFIG_CACHE_H
#define ABT_CONFIG_CACHE_H

#include "lib/ilist.h"
#include "utils/hsearch.h"
#include "utils/uuid.h"

#include "experiment_config.h"
#include "version.h"

/* GUC abtest.cache_memory (config_cache.c), in kB: 8 MB by default */
#define ABT_CACHE_MEMORY_DEFAULT 8192
extern int	abt_cache_memory;

/*
 * The configuration of one experiment at one config_version.  A pointer
 * from abt_config_get* is valid until the next abt_config_get* call (which
 * may evict it: see config_cache.c).
 */
typedef struct AbtConfig
{
	pg_uuid_t	experiment_id;	/* hash key */
	int64		version;
	dlist_node	lru_node;		/* in the cache's recency list */
	Size		bytes;			/* memory of context, as last measured */
	MemoryContext context;		/* holds everything below */
	int			nelements;
	AbtElement *elements;
	HTAB	   *answers;		/* answers built so far, see answer.c */
	bool		goals_loaded;	/* goals below are loaded (on first need) */
	int			ngoals;			/* 0: the experiment declares no goals */
	AbtGoal    *goals;
	AbtVersion	loaded;			/* the columns loaded: 1.1 knows has_forced */
	bool		has_forced;		/* abtest.forced_variants pins someone (1.1) */
	bool		has_lookback;	/* a goal has a CUPED lookback (1.1, issue 20) */
} AbtConfig;

/* config_cache.c */
extern void abt_config_cache_init(void);
extern AbtConfig *abt_config_get(pg_uuid_t *experiment_id, int64 config_version,
								 AbtVersion api_version);
extern void abt_config_load_goals(AbtConfig *config);
extern bool abt_config_reserve(AbtConfig *config, Size size);
extern void abt_config_charge(AbtConfig *config);

#endif							/* ABT_CONFIG_CACHE_H */
