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
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_namespace.h"
#include "utils/fmgroids.h"
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
