/*
 * abtest.c
 *		Module entry of the abtest extension: PG_MODULE_MAGIC, the GUCs
 *		that belong to no subsystem, and the subsystems' initialisation.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"
#include "utils/inval.h"

#include "abtest.h"
#include "metric_math.h"

PG_MODULE_MAGIC;

char	   *abt_publication = NULL;
int			abt_sequential_tuning = (int) ABT_METRIC_SEQUENTIAL_TUNING_DEFAULT;

void		_PG_init(void);

/*
 * The one relcache callback of the module, for everything that resolves
 * relations once and keeps what it found: a backend has room for only ten
 * (MAX_RELCACHE_CALLBACKS), and Citus takes most of them.
 */
static void
relcache_changed(Datum arg, Oid relid)
{
	abt_lookup_relcache_changed(relid);
	abt_citus_relcache_changed(relid);
}

/*
 * Defines the module's abtest.* settings and runs each subsystem's own
 * initialisation (the configuration cache defines abtest.cache_memory).
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("abtest.publication",
							   "Publication that CREATE EXTENSION abtest puts the realtime tables into.",
							   "Created when it does not exist; an empty string opts out.",
							   &abt_publication,
							   "supabase_realtime",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("abtest.sequential_tuning",
							"Tuning N* of abt_metric_stats' sequential confidence sequences.",
							"The total number of visitors (both variants) at which the sequential interval is narrowest relative to the fixed-horizon one (GrowthBook's default: 5000).",
							&abt_sequential_tuning,
							(int) ABT_METRIC_SEQUENTIAL_TUNING_DEFAULT,
							1,
							INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("abtest.settle_interval",
							"Time between two rounds of the settler, which folds the counters into element_variants.",
							"0 makes the settler do nothing (see src/settler.c).",
							&abt_settle_interval,
							1000,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	abt_config_cache_init();
	abt_settler_init();
	CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
	MarkGUCPrefixReserved("abtest");
}
