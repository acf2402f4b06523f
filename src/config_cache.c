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
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "abtest.h"

/* Drop the whole cache past this many experiments (a backend serves a few). */
#define MAX_CACHED_CONFIGS 1024

static HTAB *config_cache = NULL;
static MemoryContext config_cache_context = NULL;
static Oid	experiments_relid = InvalidOid;
static Oid	experiments_owner = InvalidOid;
static bool config_cache_stale = false;
static SPIPlanPtr load_plan = NULL;

/* Result columns of load_sql (SPI numbers columns from 1). */
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
	LOAD_VARIANT_POSITION
};

static const char *load_sql =
"SELECT e.config_version, el.id, el.name, el.selector, el.seed,"
"       v.id, v.name, v.content, v.weight, v.is_control, v.position"
"  FROM abtest.experiments e"
"  LEFT JOIN abtest.experiment_elements el"
"         ON el.experiment_id OPERATOR(pg_catalog.=) e.id"
"  LEFT JOIN abtest.element_variants v"
"         ON v.element_id OPERATOR(pg_catalog.=) el.id"
" WHERE e.id OPERATOR(pg_catalog.=) $1"
" ORDER BY el.position, el.id, v.position, v.id";

/* Forgets every cached configuration. */
static void
config_cache_reset(void)
{
	if (config_cache_context != NULL)
		MemoryContextDelete(config_cache_context);
	config_cache_context = NULL;
	config_cache = NULL;
}

/*
 * Relcache callback: the experiments table was altered, dropped or recreated
 * (or analyzed).  It can run inside any SPI call, while a caller still holds
 * a configuration, so it only marks the cache; abt_config_get empties it.
 */
static void
config_cache_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == experiments_relid)
		config_cache_stale = true;
}

/* Looks up abtest.experiments and its owner once (until the relcache callback). */
static void
lookup_experiments_table(void)
{
	HeapTuple	tuple;

	if (experiments_relid != InvalidOid)
		return;
	experiments_relid = get_relname_relid("experiments",
										  get_namespace_oid("abtest", false));
	if (experiments_relid == InvalidOid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table abtest.experiments does not exist")));
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(experiments_relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", experiments_relid);
	experiments_owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
}

/* Creates the hash table, registering the invalidation callback once. */
static void
config_cache_init(void)
{
	static bool callback_registered = false;
	HASHCTL		ctl;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(config_cache_relcache_callback, (Datum) 0);
		callback_registered = true;
	}
	lookup_experiments_table();
	config_cache_context = AllocSetContextCreate(CacheMemoryContext,
												 "abtest config cache",
												 ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(AbtConfig);
	ctl.hcxt = config_cache_context;
	config_cache = hash_create("abtest configs", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
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


/* Builds the configuration of one experiment from the rows of load_sql. */
static void
config_build(AbtConfig *config, SPITupleTable *tuptable, uint64 nrows)
{
	TupleDesc	desc = tuptable->tupdesc;
	double	   *weights = palloc(sizeof(double) * (nrows + 1));
	int			nelements = 0;
	AbtElement *element = NULL;
	bool		isnull;

	config->elements = palloc0(sizeof(AbtElement) * nrows);
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
			element->variants = palloc0(sizeof(AbtVariant) * nrows);
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
	/* last: the entry is valid only once fully built */
	config->version = DatumGetInt64(SPI_getbinval(tuptable->vals[0], desc, LOAD_CONFIG_VERSION, &isnull));
}

/*
 * Returns the configuration of an experiment whose row carries `version`,
 * from the cache or freshly loaded.  The caller is connected to SPI.
 */
AbtConfig *
abt_config_get(pg_uuid_t *experiment_id, int64 version)
{
	AbtConfig  *config;
	bool		found;
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1];
	int			rc;
	MemoryContext oldcontext;
	Oid			save_userid;
	int			save_sec_context;

	/* a configuration handed out before is not used past this point */
	if (config_cache_stale)
	{
		config_cache_reset();
		experiments_relid = InvalidOid;
		experiments_owner = InvalidOid;
		config_cache_stale = false;
	}
	if (config_cache == NULL)
		config_cache_init();
	config = hash_search(config_cache, experiment_id, HASH_FIND, NULL);
	if (config != NULL && config->version == version)
		return config;

	/* as the table owner, past row-level security (an error restores the user) */
	lookup_experiments_table();
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(experiments_owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
	args[0] = UUIDPGetDatum(experiment_id);
	rc = SPI_execute_plan(abt_plan(&load_plan, load_sql, 1, argtypes), args, NULL, true, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	abt_check_spi(rc, SPI_OK_SELECT, "loading an experiment configuration");
	if (SPI_processed == 0)
		abt_report_unknown_experiment(experiment_id);	/* deleted meanwhile */

	if (config == NULL && hash_get_num_entries(config_cache) >= MAX_CACHED_CONFIGS)
	{
		config_cache_reset();
		config_cache_init();
	}
	config = hash_search(config_cache, experiment_id, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(config->context);
	config->context = AllocSetContextCreate(config_cache_context, "abtest config",
											ALLOCSET_SMALL_SIZES);
	config->nelements = 0;
	config->elements = NULL;
	config->answers = NULL;
	config->version = -1;		/* not valid until fully built */
	oldcontext = MemoryContextSwitchTo(config->context);
	config_build(config, SPI_tuptable, SPI_processed);
	MemoryContextSwitchTo(oldcontext);
	SPI_freetuptable(SPI_tuptable);
	return config;
}
