/*
 * citus.c
 *		Whether a table of abtest is a Citus table (see abt_distribute() in
 *		the 1.1 script).  Its rows then live in shards, which Citus reaches
 *		through queries: the direct reads of lookup.c and timeline.c would
 *		find the local table empty, so they leave such a table to the query.
 *		Nothing here links to Citus: its metadata is a table in pg_catalog.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/backendid.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "abtest.h"

/* Whether relid is distributed or replicated by Citus (in pg_dist_partition). */
bool
abt_is_citus_table(Oid relid)
{
	Oid			partitions_oid = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	AttrNumber	logicalrelid;
	Relation	partitions;
	SysScanDesc scan;
	ScanKeyData key;
	bool		found;

	if (!OidIsValid(partitions_oid))
		return false;			/* no Citus in this database */
	logicalrelid = get_attnum(partitions_oid, "logicalrelid");
	if (logicalrelid == InvalidAttrNumber)
		return false;
	partitions = table_open(partitions_oid, AccessShareLock);
	ScanKeyInit(&key, logicalrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(partitions, InvalidOid, false, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(partitions, AccessShareLock);
	return found;
}

/* This node's Citus group (0: the coordinator, or no Citus). */
static int32
local_group(void)
{
	Oid			group_oid = get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE);
	AttrNumber	groupid;
	Relation	group_rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	int32		group = 0;

	if (!OidIsValid(group_oid))
		return 0;
	groupid = get_attnum(group_oid, "groupid");
	if (groupid == InvalidAttrNumber)
		return 0;
	group_rel = table_open(group_oid, AccessShareLock);
	scan = systable_beginscan(group_rel, InvalidOid, false, NULL, 0, NULL);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, groupid, RelationGetDescr(group_rel), &isnull);

		if (!isnull)
			group = DatumGetInt32(value);
	}
	systable_endscan(scan);
	table_close(group_rel, AccessShareLock);
	return group;
}

/* Whether this server is a Citus worker (false without Citus). */
bool
abt_is_citus_worker(void)
{
	return local_group() != 0;
}

/*
 * Whether abtest's tables are Citus tables here, and this node's group,
 * resolved once and again after a relcache invalidation of
 * abtest.assignments (abt_distribute() sends one).
 */
static bool state_stale = true;
static bool distributed = false;
static int32 node_group = 0;
static Oid	assignments_oid = InvalidOid;

/* Relcache callback (abtest.c): the table may have become a Citus table. */
void
abt_citus_relcache_changed(Oid relid)
{
	if (relid == InvalidOid || relid == assignments_oid)
		state_stale = true;
}

static void
resolve_state(void)
{
	Oid			namespace;

	if (!state_stale)
		return;
	state_stale = false;
	namespace = get_namespace_oid("abtest", true);
	assignments_oid = OidIsValid(namespace) ? get_relname_relid("assignments", namespace) : InvalidOid;
	distributed = OidIsValid(assignments_oid) && abt_is_citus_table(assignments_oid);
	node_group = distributed ? local_group() : 0;
}

/* Whether abtest's tables are Citus tables (abt_distribute() ran). */
bool
abt_on_citus(void)
{
	resolve_state();
	return distributed;
}

/*
 * The counter slot of this backend (see abtest.variant_counters): its
 * backend id, unique among the live backends of one server.  On Citus the
 * coordinator's and every worker's backends write the same shards, so a
 * worker's slots start at its group times 2^18 (MAX_BACKENDS is below):
 * two transactions never share a slot, and so never wait on each other's
 * counter rows.
 */
int32
abt_slot(void)
{
	resolve_state();
	return node_group * (MAX_BACKENDS + 1) + MyBackendId;
}

/*
 * For the rest of the transaction, Citus reads the shards of a statement one
 * at a time: it refuses a transaction that writes a reference table (settling
 * writes element_variants) after reading shards in parallel.  Nothing
 * without Citus.
 */
void
abt_citus_one_shard_at_a_time(void)
{
	if (GetConfigOption("citus.multi_shard_modify_mode", true, false) != NULL)
		(void) set_config_option("citus.multi_shard_modify_mode", "sequential",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
}
