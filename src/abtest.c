/*
 * abtest.c
 *		Module entry of the abtest extension: PG_MODULE_MAGIC, and _PG_init,
 *		which runs each subsystem's initialisation (each defines its own
 *		abtest.* settings and registers its own callbacks).
 *
 * The C code, by layer.  Entry points (the SQL-callable functions:
 * assign.c, convert.c, stats.c, metric_stats.c, timeline.c, settle.c's
 * abt_settle, restore.c's trigger, and the settler's workers in settler.c)
 * call down into the shared services (argument checks, the lookup, the
 * configuration cache, the answer builder, the analytics' shared reads,
 * the hot-path statements (statement.c: one server or Citus), SPI plans
 * and the plans on shards, the experiment locks, the owner switch,
 * Citus's metadata), which call down into the leaves (abtest's relations
 * in relations.c; GrowthBook hashing and bucketing in growthbook.c;
 * statistics in stats_math.c, metric_math.c and special_math.c; the rules
 * with one definition each in rules.h; the PostgreSQL versions in
 * pg_compat.h).  Nothing calls upward: each .c includes the headers of what
 * it calls, and each header is its subsystem's.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "citus.h"
#include "config_cache.h"
#include "deltas.h"
#include "lookup.h"
#include "metric_stats.h"
#include "relations.h"
#include "settler.h"

PG_MODULE_MAGIC;

/* GUC: publication the install script and abt_realtime_publish() use */
static char *abt_publication = NULL;

void		_PG_init(void);

/*
 * abtest.publication: read by the SQL scripts (CREATE EXTENSION's and the
 * update's), by no C code, so the extension as a whole defines it.
 */
static void
define_publication(void)
{
	DefineCustomStringVariable("abtest.publication",
							   "Publication that CREATE EXTENSION abtest puts the realtime tables into.",
							   "Created when it does not exist; an empty string opts out.",
							   &abt_publication,
							   "supabase_realtime",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
}

/*
 * Runs each subsystem's initialisation: relations.c registers the module's
 * one relcache callback, which the lookup and Citus's state hand their
 * handlers to; the configuration cache, abt_metric_stats and the settler
 * define their settings.
 */
void
_PG_init(void)
{
	define_publication();
	abt_relations_init();
	abt_lookup_init();
	abt_citus_init();
	abt_config_cache_init();
	abt_deltas_init();
	abt_metric_stats_init();
	abt_settler_init();
	MarkGUCPrefixReserved("abtest");
}
