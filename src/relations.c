/*
 * relations.c
 *		abtest's relations and indexes, the one place that finds them by
 *		name: the lookup (lookup.c), the timeline (timeline.c), the owner
 *		switch (owner.c), the analytics' privilege check (analytics.c), the
 *		Citus state (citus.c), the shard statements (local_shards.c) and the
 *		configuration cache (config_cache.c) ask here.  And the module's one
 *		relcache callback.
 *
 * Names are resolved together, once per backend, and again after an
 * invalidation of any relation found or of schema abtest (a syscache
 * callback).  A relation not found (a database at 1.0 lacks what 1.1 adds)
 * is looked for again on every call, so that one created since, by ALTER
 * EXTENSION UPDATE say, is found at once.
 *
 * A backend has room for only ten relcache callbacks (MAX_RELCACHE_CALLBACKS),
 * and Citus takes most of them: abtest registers one, here.  It counts the
 * invalidations of each of abtest's relations (abt_relation_changes: what a
 * subsystem derived from a relation is stale once its count moved), then
 * hands the invalidation on to the handlers of the subsystems that keep
 * state on other relations too (abt_relations_on_change: lookup.c and
 * citus.c, for Citus's shards).  Like the callback, a handler must not look
 * anything up: it only marks what it keeps.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "relations.h"

/* Names of the relations, as the install and update scripts create them. */
static const char *const relation_names[ABT_NUM_RELATIONS] = {
	[ABT_REL_EXPERIMENTS] = "experiments",
	[ABT_REL_EXPERIMENTS_PKEY] = "experiments_pkey",
	[ABT_REL_EXPERIMENT_ELEMENTS] = "experiment_elements",
	[ABT_REL_ELEMENT_VARIANTS] = "element_variants",
	[ABT_REL_ASSIGNMENTS] = "assignments",
	[ABT_REL_ASSIGNMENTS_LOOKUP] = "idx_assignments_lookup",
	[ABT_REL_ASSIGNMENTS_UNCONVERTED] = "idx_assignments_unconverted",
	[ABT_REL_ASSIGNMENTS_CONVERTED] = "assignments_converted",
	[ABT_REL_CONVERSIONS] = "conversions",
	[ABT_REL_VARIANT_COUNTERS] = "variant_counters",
	[ABT_REL_EXPERIMENT_TIMELINE] = "experiment_timeline",
	[ABT_REL_VARIANT_TIMELINE] = "variant_timeline",
	[ABT_REL_VISITOR_GOALS] = "visitor_goals",
	[ABT_REL_GOAL_COUNTERS] = "goal_counters",
	[ABT_REL_VISITOR_COVARIATES] = "visitor_covariates",
};

/* Last resolved oids (kept for the callback); looked up again while stale. */
static Oid	namespace_oid = InvalidOid;
static uint32 namespace_hash = 0;	/* its syscache hash value */
static Oid	relids[ABT_NUM_RELATIONS];
static bool stale = true;

/* Invalidations of each relation seen (abt_relation_changes). */
static uint64 changes[ABT_NUM_RELATIONS];

/* The subsystems' handlers: lookup.c and citus.c, and room. */
#define MAX_HANDLERS 4
static AbtRelcacheHandler handlers[MAX_HANDLERS];
static int	nhandlers = 0;

/* The relcache callback: relid (InvalidOid: every relation) may have changed. */
static void
relcache_changed(Datum arg, Oid relid)
{
	for (int r = 0; r < ABT_NUM_RELATIONS; r++)
		if (relid == InvalidOid || (OidIsValid(relids[r]) && relid == relids[r]))
		{
			changes[r]++;
			stale = true;
		}
	for (int h = 0; h < nhandlers; h++)
		handlers[h] (relid);
}

/* The syscache callback of pg_namespace: schema abtest may have been renamed or dropped. */
static void
namespace_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	if (hashvalue == 0 || hashvalue == namespace_hash)
		stale = true;
}

/*
 * From _PG_init: registers the module's one relcache callback, and the
 * syscache callback of schema abtest.
 */
void
abt_relations_init(void)
{
	CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, namespace_changed, (Datum) 0);
}

/*
 * From a subsystem's initialisation: handler is called on every relcache
 * invalidation, after this file's own bookkeeping.
 */
void
abt_relations_on_change(AbtRelcacheHandler handler)
{
	if (nhandlers == MAX_HANDLERS)
		elog(ERROR, "abtest: too many relcache handlers");
	handlers[nhandlers++] = handler;
}

/*
 * Resolves every name again when stale.  A relation found under another oid
 * than before counts as changed: what was derived from the old one is stale.
 */
static void
resolve(void)
{
	/* a schema not found is looked for again (its creation is no invalidation of ours) */
	if (!stale && OidIsValid(namespace_oid))
		return;
	stale = false;				/* before the lookups: they may take invalidations */
	namespace_oid = get_namespace_oid("abtest", true);
	namespace_hash = OidIsValid(namespace_oid) ?
		GetSysCacheHashValue1(NAMESPACEOID, ObjectIdGetDatum(namespace_oid)) : 0;
	for (int r = 0; r < ABT_NUM_RELATIONS; r++)
	{
		Oid			relid = OidIsValid(namespace_oid) ?
			get_relname_relid(relation_names[r], namespace_oid) : InvalidOid;

		if (OidIsValid(relids[r]) && relid != relids[r])
			changes[r]++;
		relids[r] = relid;
	}
}

/* The oid of schema abtest, or InvalidOid where there is none. */
Oid
abt_namespace(void)
{
	resolve();
	return namespace_oid;
}

/* The oid of one of abtest's relations, or InvalidOid where there is none. */
Oid
abt_relation(AbtRelation which)
{
	resolve();
	/* not found when last looked for: perhaps created since */
	if (!OidIsValid(relids[which]) && OidIsValid(namespace_oid))
		relids[which] = get_relname_relid(relation_names[which], namespace_oid);
	return relids[which];
}

/* abt_relation, raising an error where the schema or the relation is missing. */
Oid
abt_relation_required(AbtRelation which)
{
	Oid			relid = abt_relation(which);

	if (OidIsValid(relid))
		return relid;
	(void) get_namespace_oid("abtest", false);	/* its error where the schema is missing */
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("table abtest.%s does not exist", relation_names[which])));
}

/* The name of one of abtest's relations (without the schema). */
const char *
abt_relation_name(AbtRelation which)
{
	return relation_names[which];
}

/*
 * How many invalidations of the relation this backend has seen (without
 * resolving anything: a relation not resolved yet counts none).  What a
 * subsystem derived from the relation is stale once this number moved.
 */
uint64
abt_relation_changes(AbtRelation which)
{
	return changes[which];
}

/*
 * The one check of an index's shape before abtest reads it directly: a
 * valid, live btree of heap whose first key columns are `columns`, in
 * order.  unique_key: also a unique, immediately enforced index on exactly
 * those columns, without predicate or expressions, which a lookup can
 * fetch one row by.  The index is open.
 */
bool
abt_index_has_shape(Relation index, Oid heap, int ncolumns, const AttrNumber *columns,
					bool unique_key)
{
	Form_pg_index form = index->rd_index;
	bool		ok;

	ok = index->rd_rel->relam == BTREE_AM_OID && form->indrelid == heap &&
		form->indisvalid && form->indislive && form->indnkeyatts >= ncolumns;
	if (ok && unique_key)
		ok = form->indisunique && form->indimmediate &&
			form->indnatts == ncolumns && form->indnkeyatts == ncolumns &&
			RelationGetIndexPredicate(index) == NIL && RelationGetIndexExpressions(index) == NIL;
	for (int k = 0; ok && k < ncolumns; k++)
		ok = columns[k] != InvalidAttrNumber && form->indkey.values[k] == columns[k];
	return ok;
}
