/*
 * config_cache.c
 *		Per-backend cache of experiment configurations: elements, variants
 *		and their GrowthBook bucket ranges (set by growthbook.c).
 *
 * An entry is used only while the experiment row read in the same call
 * carries the config_version the entry was built from.  Triggers give the
 * experiment a new version (from a sequence: never reused, not even after a
 * rollback) on every change of the experiment, its elements or its variants,
 * so a cached configuration is always the one the caller's snapshot sees.
 *
 * A configuration is loaded as the owner of abtest.experiments, as
 * ri_triggers.c runs its checks as the table owner: an entry must be the
 * whole configuration whoever's call loaded it, since any later call in the
 * backend (under another role, say) may use it.  Callers decide who may see
 * an experiment before they ask for its configuration.
 *
 * Memory: the cache, with the answers answer.c keeps in each configuration,
 * takes at most abtest.cache_memory bytes of the backend (every context it
 * owns counted whole: what pg_backend_memory_contexts shows as "abtest
 * config cache" and below).  Entries are kept in least-recently-used order;
 * whatever would take the cache over its budget evicts the coldest entries.
 * A configuration handed out stays valid until the next abt_config_get*
 * call, which may evict any entry (so a caller fetches a configuration
 * again after fetching another's, as assign.c does); abt_answer and
 * abt_config_load_goals, which add to the configuration they are given,
 * evict only others.  So the configuration of the call in progress always
 * stays, even when it alone exceeds the budget: the next call evicts it.
 * One configuration's answers take at most half the budget (answer.c builds
 * the others on every call), so a many-variant experiment cannot crowd out
 * every other experiment of the backend.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "config_cache.h"
#include "experiment_config.h"
#include "growthbook.h"
#include "owner.h"
#include "relations.h"
#include "spi_plans.h"

/* GUC abtest.cache_memory, in kB: the cache's budget */
int			abt_cache_memory = ABT_CACHE_MEMORY_DEFAULT;

static HTAB *config_cache = NULL;
static MemoryContext config_cache_context = NULL;	/* parent of all below */
static MemoryContext config_index_context = NULL;	/* holds config_cache */
static dlist_head config_lru = DLIST_STATIC_INIT(config_lru);	/* most recent first */
static Size cache_bytes = 0;	/* memory of the contexts above and every entry's */
static Size index_bytes = 0;	/* part of it: the two contexts and the hash */
static uint64 experiments_changes_seen = 0;	/* abt_relation_changes: see config_get */
static SPIPlanPtr load_plans[ABT_NUM_VERSIONS];
static SPIPlanPtr goals_plan = NULL;

/* Result columns of the load query (SPI numbers columns from 1). */
enum
{
	LOAD_CONFIG_VERSION = 1,
	LOAD_ELEMENT_ID,
	LOAD_ELEMENT_NAME,
	LOAD_ELEMENT_SELECTOR,
	LOAD_ELEMENT_SEED,
	LOAD_VARIANT_ID,
	LOAD_VARIANT_NAME,
	LOAD_VARIANT_CONTENT,
	LOAD_VARIANT_WEIGHT,
	LOAD_VARIANT_IS_CONTROL,
	LOAD_VARIANT_POSITION,
	LOAD_HAS_FORCED,			/* 1.1 */
	LOAD_HAS_LOOKBACK			/* 1.1 */
};

/*
 * The load query of each version: the experiment's elements and variants,
 * in order, with the columns LATER adds after them.
 */
#define LOAD_SQL(LATER) \
"SELECT e.config_version, el.id, el.name, el.selector, el.seed," \
"       v.id, v.name, v.content, v.weight, v.is_control, v.position" LATER \
"  FROM abtest.experiments e" \
"  LEFT JOIN abtest.experiment_elements el" \
"         ON el.experiment_id OPERATOR(pg_catalog.=) e.id" \
"  LEFT JOIN abtest.element_variants v" \
"         ON v.element_id OPERATOR(pg_catalog.=) el.id" \
" WHERE e.id OPERATOR(pg_catalog.=) $1" \
" ORDER BY el.position, el.id, v.position, v.id"

/*
 * 1.1 adds whether an owner pinned any visitor of the experiment
 * (abtest.forced_variants, which a 1.0 database lacks), so that only
 * experiments with pins pay for looking a visitor's pins up.  A pin's
 * change gives the experiment a new config_version.  It also adds whether
 * a goal of the experiment has a CUPED lookback (issue 20), so that only
 * such experiments pay for taking a new visitor's covariates.
 */
static const char *const load_sql[ABT_NUM_VERSIONS] = {
	[ABT_VERSION_1_0] = LOAD_SQL(""),
	[ABT_VERSION_1_1] = LOAD_SQL(","
								 "       EXISTS (SELECT FROM abtest.forced_variants f"
								 "                WHERE f.experiment_id OPERATOR(pg_catalog.=) e.id),"
								 "       EXISTS (SELECT FROM abtest.goals g"
								 "                WHERE g.experiment_id OPERATOR(pg_catalog.=) e.id"
								 "                  AND g.cuped_lookback IS NOT NULL)"),
};

/* The goals an experiment declares for visitors' conversions (1.1: abtest.goals). */
static const char *goals_sql =
"SELECT g.goal, g.max_value, g.cuped_lookback"
"  FROM abtest.goals g"
" WHERE g.experiment_id OPERATOR(pg_catalog.=) $1";

enum
{
	GOALS_GOAL = 1,
	GOALS_MAX_VALUE,
	GOALS_CUPED_LOOKBACK
};

/*
 * Module initialisation (_PG_init): defines the cache's setting.  The
 * budget is checked whenever the cache is used, so a lowered one takes
 * effect at the backend's next call.
 */
void
abt_config_cache_init(void)
{
	DefineCustomIntVariable("abtest.cache_memory",
							"Memory each backend may keep for cached experiment configurations and answers.",
							"Least recently used experiments are evicted beyond it; one experiment's answers take at most half of it. 0 keeps nothing between calls.",
							&abt_cache_memory,
							ABT_CACHE_MEMORY_DEFAULT,
							0,
							MAX_KILOBYTES,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

/* Forgets every cached configuration and frees the cache's memory. */
static void
config_cache_reset(void)
{
	if (config_cache_context != NULL)
		MemoryContextDelete(config_cache_context);
	config_cache_context = NULL;
	config_index_context = NULL;
	config_cache = NULL;
	dlist_init(&config_lru);
	cache_bytes = 0;
	index_bytes = 0;
}

/* The cache's budget in bytes (abtest.cache_memory). */
static inline Size
cache_budget(void)
{
	return (Size) abt_cache_memory * 1024;
}

/*
 * Measures the memory of the cache's own contexts and the hash table of
 * entries again (it grows with the entries and keeps its high-water mark).
 */
static void
measure_index(void)
{
	Size		now = MemoryContextMemAllocated(config_cache_context, false) +
		MemoryContextMemAllocated(config_index_context, true);

	cache_bytes = cache_bytes - index_bytes + now;
	index_bytes = now;
}

/* Removes one entry from the cache and frees its memory. */
static void
config_evict(AbtConfig *config)
{
	dlist_delete(&config->lru_node);
	cache_bytes -= config->bytes;
	MemoryContextDelete(config->context);
	hash_search(config_cache, &config->experiment_id, HASH_REMOVE, NULL);
}

/*
 * Evicts least recently used entries until the cache takes at most `limit`
 * bytes, never `keep` (the configuration of the call in progress, or NULL
 * at the start of a call, when no configuration is in use).  With nothing
 * left to evict and still over (the budget was lowered below what the hash
 * table of entries keeps), it frees the whole cache, unless keep is in it.
 */
static void
config_cache_trim(AbtConfig *keep, Size limit)
{
	while (cache_bytes > limit && !dlist_is_empty(&config_lru))
	{
		AbtConfig  *victim = dlist_tail_element(AbtConfig, lru_node, &config_lru);

		if (victim == keep)
			break;				/* keep is the most recent: the only one left */
		config_evict(victim);
	}
	if (cache_bytes > limit && dlist_is_empty(&config_lru))
		config_cache_reset();
}

/*
 * Measures a cached configuration again after something was added to it
 * (built, goals, an answer), and evicts others if the cache went over its
 * budget.  The caller keeps using the configuration.
 */
static void
config_charge(AbtConfig *config)
{
	Size		now = MemoryContextMemAllocated(config->context, true);

	cache_bytes = cache_bytes - config->bytes + now;
	config->bytes = now;
	if (cache_bytes > cache_budget())
	{
		dlist_move_head(&config_lru, &config->lru_node);
		config_cache_trim(config, cache_budget());
	}
}

/*
 * Whether the configuration in use may keep `size` more bytes (an answer,
 * answer.c): within half the budget for one configuration, making room by
 * evicting others.  Otherwise the caller builds what it would have kept on
 * every call.  After adding, the caller calls abt_config_charge.
 */
bool
abt_config_reserve(AbtConfig *config, Size size)
{
	Size		budget = cache_budget();

	if (config->bytes + size > budget / 2)
		return false;
	if (cache_bytes + size > budget)
	{
		dlist_move_head(&config_lru, &config->lru_node);
		config_cache_trim(config, budget - size);
	}
	return cache_bytes + size <= budget;
}

/* Measures the configuration in use after the caller added to it (answer.c). */
void
abt_config_charge(AbtConfig *config)
{
	config_charge(config);
}

/* Creates the hash table. */
static void
config_cache_create(void)
{
	HASHCTL		ctl;

	/* the two hold nothing themselves: the smallest first block */
	config_cache_context = AllocSetContextCreate(CacheMemoryContext,
												 "abtest config cache",
												 ALLOCSET_SMALL_SIZES);
	config_index_context = AllocSetContextCreate(config_cache_context,
												 "abtest config index",
												 ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(AbtConfig);
	ctl.hcxt = config_index_context;
	config_cache = hash_create("abtest configs", 16, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	dlist_init(&config_lru);
	cache_bytes = 0;
	index_bytes = 0;
	measure_index();
}

/* Copies a text column of the current SPI row into the config's context. */
static char *
copy_text(HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Writes the canonical text of a uuid into buf. */
static void
uuid_to_text(const pg_uuid_t *uuid, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	int			j = 0;

	for (int i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[j++] = '-';
		buf[j++] = hex[uuid->data[i] >> 4];
		buf[j++] = hex[uuid->data[i] & 0x0F];
	}
	buf[j] = '\0';
}


/*
 * The number of rows from row `from` on that belong to the same element
 * (load_sql orders rows by element), 0 for the row of an experiment
 * without elements.
 */
static uint64
element_rows(SPITupleTable *tuptable, uint64 from, uint64 nrows)
{
	bool		isnull;
	Datum		first = SPI_getbinval(tuptable->vals[from], tuptable->tupdesc,
									  LOAD_ELEMENT_ID, &isnull);
	uint64		r = from + 1;

	if (isnull)
		return 0;
	while (r < nrows)
	{
		Datum		id = SPI_getbinval(tuptable->vals[r], tuptable->tupdesc,
									   LOAD_ELEMENT_ID, &isnull);

		if (isnull || memcmp(DatumGetUUIDP(id), DatumGetUUIDP(first), UUID_LEN) != 0)
			break;
		r++;
	}
	return r - from;
}

/*
 * Builds the configuration of one experiment from the rows of load_sql, in
 * the current memory context (arrays of their exact sizes: the cache's
 * budget counts every byte).
 */
static void
config_build(AbtConfig *config, SPITupleTable *tuptable, uint64 nrows)
{
	TupleDesc	desc = tuptable->tupdesc;
	double	   *weights;
	int			nelements = 0;
	AbtElement *element = NULL;
	bool		isnull;
	uint64		count = 0;
	uint64		maxrows = 0;

	for (uint64 r = 0; r < nrows; r += Max(count, 1))
	{
		count = element_rows(tuptable, r, nrows);
		nelements += count > 0;
		maxrows = Max(maxrows, count);
	}
	weights = palloc(sizeof(double) * (maxrows + 1));
	config->elements = palloc0(sizeof(AbtElement) * (nelements + 1));
	nelements = 0;
	for (uint64 r = 0; r < nrows; r++)
	{
		HeapTuple	tuple = tuptable->vals[r];
		Datum		element_id = SPI_getbinval(tuple, desc, LOAD_ELEMENT_ID, &isnull);
		Datum		variant_id;
		AbtVariant *variant;

		if (isnull)
			break;				/* an experiment without elements */
		if (element == NULL ||
			memcmp(&element->id, DatumGetUUIDP(element_id), UUID_LEN) != 0)
		{
			if (element != NULL)
				abt_set_bucket_ranges(element, weights);
			element = &config->elements[nelements++];
			memcpy(&element->id, DatumGetUUIDP(element_id), UUID_LEN);
			uuid_to_text(&element->id, element->id_text);
			element->name = copy_text(tuple, desc, LOAD_ELEMENT_NAME);
			element->selector = copy_text(tuple, desc, LOAD_ELEMENT_SELECTOR);
			element->seed = copy_text(tuple, desc, LOAD_ELEMENT_SEED);
			element->variants = palloc0(sizeof(AbtVariant) * element_rows(tuptable, r, nrows));
		}
		variant_id = SPI_getbinval(tuple, desc, LOAD_VARIANT_ID, &isnull);
		if (isnull)
			continue;			/* an element without variants */
		variant = &element->variants[element->nvariants];
		memcpy(&variant->id, DatumGetUUIDP(variant_id), UUID_LEN);
		uuid_to_text(&variant->id, variant->id_text);
		variant->name = copy_text(tuple, desc, LOAD_VARIANT_NAME);
		variant->content = DatumGetJsonbPCopy(SPI_getbinval(tuple, desc, LOAD_VARIANT_CONTENT, &isnull));
		variant->weight = DatumGetFloat8(SPI_getbinval(tuple, desc, LOAD_VARIANT_WEIGHT, &isnull));
		weights[element->nvariants] = variant->weight;
		variant->is_control = DatumGetBool(SPI_getbinval(tuple, desc, LOAD_VARIANT_IS_CONTROL, &isnull));
		variant->position = DatumGetInt32(SPI_getbinval(tuple, desc, LOAD_VARIANT_POSITION, &isnull));
		element->nvariants++;
	}
	if (element != NULL)
		abt_set_bucket_ranges(element, weights);
	config->nelements = nelements;
	pfree(weights);
	config->version = DatumGetInt64(SPI_getbinval(tuptable->vals[0], desc, LOAD_CONFIG_VERSION, &isnull));
}

/*
 * Runs a read-only query of the configuration as the owner of the tables,
 * past row-level security (an error restores the user); the rows are in
 * SPI_tuptable.
 */
static void
execute_as_owner(SPIPlanPtr plan, Datum *args, const char *what)
{
	AbtUserContext saved;
	int			rc;

	abt_act_as_owner(&saved);
	rc = SPI_execute_plan(plan, args, NULL, true, 0);
	abt_restore_user(&saved);
	abt_check_spi(rc, SPI_OK_SELECT, what);
}

/*
 * A configuration built from the rows of the load query, in a new context
 * under the caller's (freed with it if anything fails before the caller
 * moves it into the cache).
 */
static void
config_load(AbtConfig *config, pg_uuid_t *experiment_id, AbtVersion api_version)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1];
	MemoryContext oldcontext;

	args[0] = UUIDPGetDatum(experiment_id);
	execute_as_owner(abt_plan(&load_plans[api_version], load_sql[api_version], 1, argtypes),
					 args, "loading an experiment configuration");
	if (SPI_processed == 0)
		abt_report_unknown_experiment(experiment_id);	/* deleted meanwhile */

	memset(config, 0, sizeof(AbtConfig));
	memcpy(&config->experiment_id, experiment_id, UUID_LEN);
	config->context = AllocSetContextCreate(CurrentMemoryContext, "abtest config",
											ALLOCSET_SMALL_SIZES);
	config->loaded = api_version;
	if (api_version >= ABT_VERSION_1_1)
	{
		bool		isnull;

		config->has_forced = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc,
														LOAD_HAS_FORCED, &isnull));
		config->has_lookback = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc,
														  LOAD_HAS_LOOKBACK, &isnull));
	}
	oldcontext = MemoryContextSwitchTo(config->context);
	config_build(config, SPI_tuptable, SPI_processed);
	MemoryContextSwitchTo(oldcontext);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Returns the configuration of an experiment whose row carries
 * config_version, from the cache or freshly loaded, with the columns of
 * api_version (1.1: has_forced; a database at 1.0 lacks what 1.1 reads).
 * The caller is connected to SPI.
 */
AbtConfig *
abt_config_get(pg_uuid_t *experiment_id, int64 config_version, AbtVersion api_version)
{
	AbtConfig  *config;
	AbtConfig	loaded;
	bool		found;

	/*
	 * The experiments table was altered, dropped or recreated (or analyzed)
	 * since the last call (relations.c counts its invalidations, which can
	 * come inside any SPI call, while a caller still holds a
	 * configuration): empty the cache.  A configuration handed out before is
	 * not used past this point.
	 */
	if (abt_relation_changes(ABT_REL_EXPERIMENTS) != experiments_changes_seen)
	{
		config_cache_reset();
		experiments_changes_seen = abt_relation_changes(ABT_REL_EXPERIMENTS);
	}
	/* over budget only when it was lowered, or one entry alone exceeds it */
	if (cache_bytes > cache_budget())
		config_cache_trim(NULL, cache_budget());
	if (config_cache == NULL)
		config_cache_create();
	config = hash_search(config_cache, experiment_id, HASH_FIND, NULL);
	if (config != NULL && config->version == config_version && config->loaded >= api_version)
	{
		dlist_move_head(&config_lru, &config->lru_node);
		return config;
	}

	config_load(&loaded, experiment_id, api_version);
	if (config != NULL)
		config_evict(config);	/* an older version */
	config = hash_search(config_cache, experiment_id, HASH_ENTER, &found);
	Assert(!found);
	*config = loaded;
	MemoryContextSetParent(config->context, config_cache_context);
	dlist_push_head(&config_lru, &config->lru_node);
	measure_index();
	config_charge(config);
	return config;
}

/*
 * Loads, once per configuration, the goals the experiment declares for
 * visitors' conversions (abtest.goals, new in 1.1: only the 1.1 visitor
 * form of abt_convert asks, so a database still at 1.0 never runs this).
 * Changing a goal gives the experiment a new config_version, as changing an
 * element does.  The caller is connected to SPI.
 */
void
abt_config_load_goals(AbtConfig *config)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1];
	MemoryContext oldcontext;

	if (config->goals_loaded)
		return;
	args[0] = UUIDPGetDatum(&config->experiment_id);
	execute_as_owner(abt_plan(&goals_plan, goals_sql, 1, argtypes), args,
					 "loading an experiment's goals");
	oldcontext = MemoryContextSwitchTo(config->context);
	config->goals = palloc0(sizeof(AbtGoal) * (SPI_processed + 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		max_value;
		Datum		lookback;

		config->goals[r].name = copy_text(tuple, desc, GOALS_GOAL);
		max_value = SPI_getbinval(tuple, desc, GOALS_MAX_VALUE, &isnull);
		config->goals[r].max_value = isnull ? NULL : DatumGetNumericCopy(max_value);
		lookback = SPI_getbinval(tuple, desc, GOALS_CUPED_LOOKBACK, &isnull);
		config->goals[r].lookback = isnull ? NULL : DatumGetIntervalP(datumCopy(lookback, false, sizeof(Interval)));
	}
	config->ngoals = (int) SPI_processed;
	MemoryContextSwitchTo(oldcontext);
	SPI_freetuptable(SPI_tuptable);
	config->goals_loaded = true;
	config_charge(config);
}
