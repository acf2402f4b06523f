/*
 * citus.c
 *		What abtest knows of Citus (see abt_distribute() in the 1.1 script):
 *		whether its tables are Citus tables, whose rows live in shards (the
 *		local table is empty, so direct reads of it must step aside); this
 *		node's group and counter slot; which shard holds an experiment's
 *		rows and whether it is on this node (lookup.c and local_shards.c
 *		then work on it directly); the lock Citus takes before writing it,
 *		and those it takes before an UPDATE of a reference table (taken
 *		first, without waiting, by the settler's fold).
 *		Nothing here links to Citus: its metadata is a table in pg_catalog.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "citus.h"
#include "pg_compat.h"
#include "relations.h"

/*
 * The shards of a Citus table as this backend last read them from
 * pg_dist_shard: hash ranges in ascending order (a reference table: one
 * shard, no range).  Rebuilt after a relcache invalidation of the table,
 * which Citus sends when its shards change.
 */
typedef struct ShardRange
{
	int32		min;
	int32		max;
	int64		shardid;
	bool		local;			/* pg_dist_placement puts it on this node */
} ShardRange;

typedef struct ShardMap
{
	Oid			relid;
	bool		valid;
	uint32		colocation_id;	/* pg_dist_partition.colocationid */
	int			nshards;
	ShardRange *shards;			/* in TopMemoryContext */
} ShardMap;

/* abtest's Citus tables: 5 reference and 7 distributed ones, and room */
#define MAX_SHARD_MAPS 16
static ShardMap shard_maps[MAX_SHARD_MAPS];

/*
 * The int4 column `column` of the row of Citus's metadata table `table`
 * whose `key_column` is the oid `key` (key_column NULL: its first row);
 * false, *value untouched, where Citus, the table, a column or the row is
 * missing, and where the value is NULL.
 */
static bool
citus_metadata_int(const char *table, const char *key_column, Oid key, const char *column,
				   int32 *value)
{
	Oid			table_oid = get_relname_relid(table, PG_CATALOG_NAMESPACE);
	AttrNumber	key_att = InvalidAttrNumber;
	AttrNumber	value_att;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData scan_key;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(table_oid))
		return false;			/* no Citus in this database */
	value_att = get_attnum(table_oid, column);
	if (key_column != NULL)
		key_att = get_attnum(table_oid, key_column);
	if (value_att == InvalidAttrNumber || (key_column != NULL && key_att == InvalidAttrNumber))
		return false;
	rel = table_open(table_oid, AccessShareLock);
	if (key_column != NULL)
		ScanKeyInit(&scan_key, key_att, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(key));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, key_column != NULL ? 1 : 0,
							  key_column != NULL ? &scan_key : NULL);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		datum = heap_getattr(tuple, value_att, RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			*value = DatumGetInt32(datum);
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* Whether relid is distributed or replicated by Citus (in pg_dist_partition). */
bool
abt_is_citus_table(Oid relid)
{
	int32		colocation;

	/* colocationid is never NULL in a row */
	return citus_metadata_int("pg_dist_partition", "logicalrelid", relid, "colocationid",
							  &colocation);
}

/* This node's Citus group (0: the coordinator, or no Citus). */
static int32
local_group(void)
{
	int32		group = 0;

	(void) citus_metadata_int("pg_dist_local_group", NULL, InvalidOid, "groupid", &group);
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
static uint64 invalidations = 0;

/* Relcache handler (relations.c): the table may have become a Citus table. */
static void
citus_relcache_changed(Oid relid)
{
	if (relid == InvalidOid || relid == assignments_oid)
	{
		state_stale = true;
		invalidations++;
	}
	for (int i = 0; i < MAX_SHARD_MAPS; i++)
		if (OidIsValid(shard_maps[i].relid) && (relid == InvalidOid || relid == shard_maps[i].relid))
		{
			shard_maps[i].valid = false;
			invalidations++;
		}
}

/* From _PG_init: the shard maps and the state are read again after an invalidation. */
void
abt_citus_init(void)
{
	abt_relations_on_change(citus_relcache_changed);
}

/*
 * How many invalidations of the Citus tables this backend has seen: what
 * was derived from their shards is stale once it changes.
 */
uint64
abt_citus_invalidations(void)
{
	return invalidations;
}

static void
resolve_state(void)
{
	if (!state_stale)
		return;
	state_stale = false;
	assignments_oid = abt_relation(ABT_REL_ASSIGNMENTS);
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
	return node_group * (MAX_BACKENDS + 1) + ABT_MY_BACKEND_NUMBER;
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
	if (abt_on_citus() && GetConfigOption("citus.multi_shard_modify_mode", true, false) != NULL)
		(void) set_config_option("citus.multi_shard_modify_mode", "sequential",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
}

static int
shard_range_cmp(const void *a, const void *b)
{
	const ShardRange *x = a;
	const ShardRange *y = b;

	return x->min < y->min ? -1 : x->min > y->min ? 1 : 0;
}

/* relid's colocationid in pg_dist_partition (0: none). */
static uint32
colocation_of(Oid relid)
{
	int32		colocation = 0;

	(void) citus_metadata_int("pg_dist_partition", "logicalrelid", relid, "colocationid",
							  &colocation);
	return (uint32) colocation;
}

/*
 * Marks the shards of map that pg_dist_placement places on this node's
 * group.  Not whether a relation of the shard's name exists here: a moved
 * shard's old copy stays until Citus cleans it up, and the new one exists
 * before the move commits.
 */
static void
mark_local_shards(ShardMap *map)
{
	Oid			placements_oid = get_relname_relid("pg_dist_placement", PG_CATALOG_NAMESPACE);
	AttrNumber	att_shardid;
	AttrNumber	att_groupid;
	Relation	placements;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;

	if (!OidIsValid(placements_oid))
		return;
	att_shardid = get_attnum(placements_oid, "shardid");
	att_groupid = get_attnum(placements_oid, "groupid");
	if (att_shardid == InvalidAttrNumber || att_groupid == InvalidAttrNumber)
		return;
	placements = table_open(placements_oid, AccessShareLock);
	ScanKeyInit(&key, att_groupid, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(local_group()));
	scan = systable_beginscan(placements, InvalidOid, false, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		int64		shardid = DatumGetInt64(heap_getattr(tuple, att_shardid,
														 RelationGetDescr(placements), &isnull));

		for (int i = 0; i < map->nshards; i++)
			if (map->shards[i].shardid == shardid)
				map->shards[i].local = true;
	}
	systable_endscan(scan);
	table_close(placements, AccessShareLock);
}

/* Reads relid's shards from pg_dist_shard into map. */
static void
load_shard_map(ShardMap *map, Oid relid)
{
	Oid			shards_oid = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
	AttrNumber	att_relid;
	AttrNumber	att_shardid;
	AttrNumber	att_min;
	AttrNumber	att_max;
	Relation	shards_rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	int			capacity = 16;

	if (map->shards != NULL)
		pfree(map->shards);
	map->relid = relid;
	map->valid = false;
	map->nshards = 0;
	map->shards = MemoryContextAlloc(TopMemoryContext, capacity * sizeof(ShardRange));
	if (!OidIsValid(shards_oid))
		return;
	att_relid = get_attnum(shards_oid, "logicalrelid");
	att_shardid = get_attnum(shards_oid, "shardid");
	att_min = get_attnum(shards_oid, "shardminvalue");
	att_max = get_attnum(shards_oid, "shardmaxvalue");
	if (att_relid == InvalidAttrNumber || att_shardid == InvalidAttrNumber ||
		att_min == InvalidAttrNumber || att_max == InvalidAttrNumber)
		return;
	shards_rel = table_open(shards_oid, AccessShareLock);
	ScanKeyInit(&key, att_relid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(shards_rel, InvalidOid, false, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		TupleDesc	desc = RelationGetDescr(shards_rel);
		bool		min_null;
		bool		max_null;
		bool		isnull;
		Datum		min = heap_getattr(tuple, att_min, desc, &min_null);
		Datum		max = heap_getattr(tuple, att_max, desc, &max_null);
		ShardRange *range;

		if (map->nshards == capacity)
		{
			capacity *= 2;
			map->shards = repalloc(map->shards, capacity * sizeof(ShardRange));
		}
		range = &map->shards[map->nshards++];
		range->shardid = DatumGetInt64(heap_getattr(tuple, att_shardid, desc, &isnull));
		range->local = false;
		range->min = min_null ? PG_INT32_MIN : pg_strtoint32(TextDatumGetCString(min));
		range->max = max_null ? PG_INT32_MAX : pg_strtoint32(TextDatumGetCString(max));
	}
	systable_endscan(scan);
	table_close(shards_rel, AccessShareLock);
	qsort(map->shards, map->nshards, sizeof(ShardRange), shard_range_cmp);
	map->colocation_id = colocation_of(relid);
	mark_local_shards(map);
	map->valid = true;
}

/*
 * The shard of Citus table relid that holds rows of experiment_id (a
 * reference table: its one shard), as Citus finds it: the range holding the
 * uuid's hash (the type's hash function); NULL when there is none.
 */
static ShardRange *
find_shard(Oid relid, pg_uuid_t *experiment_id, ShardMap **map_out)
{
	ShardMap   *map = NULL;
	int32		hash;

	for (int i = 0; i < MAX_SHARD_MAPS && map == NULL; i++)
		if (shard_maps[i].relid == relid || !OidIsValid(shard_maps[i].relid))
			map = &shard_maps[i];
	if (map == NULL)
		map = &shard_maps[0];
	if (map->relid != relid || !map->valid)
		load_shard_map(map, relid);
	*map_out = map;
	if (map->nshards == 1)
		return &map->shards[0];
	hash = DatumGetInt32(DirectFunctionCall1(uuid_hash, UUIDPGetDatum(experiment_id)));
	for (int lo = 0, hi = map->nshards - 1; lo <= hi;)
	{
		int			mid = (lo + hi) / 2;

		if (hash < map->shards[mid].min)
			hi = mid - 1;
		else if (hash > map->shards[mid].max)
			lo = mid + 1;
		else
			return &map->shards[mid];
	}
	return NULL;
}

/* The shard of relid holding experiment_id's rows (find_shard), 0: none. */
int64
abt_citus_shard(Oid relid, pg_uuid_t *experiment_id)
{
	ShardMap   *map;
	ShardRange *shard = find_shard(relid, experiment_id, &map);

	return shard != NULL ? shard->shardid : 0;
}

/* The same shard when Citus places it on this node, else 0. */
int64
abt_citus_local_shard(Oid relid, pg_uuid_t *experiment_id)
{
	ShardMap   *map;
	ShardRange *shard = find_shard(relid, experiment_id, &map);

	return shard != NULL && shard->local ? shard->shardid : 0;
}

/* Citus's lock class of co-located shards' placement metadata (resource_lock.h). */
#define CITUS_COLOCATED_SHARDS_METADATA_LOCK_CLASS 8

/*
 * Takes, shared, the lock Citus's executor takes before it writes a shard of
 * distributed table relid (the placement metadata lock of the shard's index
 * in its co-location group, one lock for the co-located shards): moving or
 * splitting the shards waits for the transaction.
 */
void
abt_citus_lock_shard_group(Oid relid, pg_uuid_t *experiment_id)
{
	ShardMap   *map;
	ShardRange *shard = find_shard(relid, experiment_id, &map);
	LOCKTAG		tag;

	if (shard == NULL)
		return;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (shard - map->shards), map->colocation_id,
						 CITUS_COLOCATED_SHARDS_METADATA_LOCK_CLASS);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/* Citus's lock class of the writes of a shard (resource_lock.h). */
#define CITUS_SHARD_LOCK_CLASS 5

/*
 * relid and every table it references through foreign keys, directly or
 * not (what Citus locks with a reference table it writes); palloc'd, *n long.
 */
static Oid *
referenced_tables(Oid relid, int *n)
{
	int			capacity = 8;
	int			count = 0;
	Oid		   *rels = palloc(capacity * sizeof(Oid));
	Relation	constraints = table_open(ConstraintRelationId, AccessShareLock);

	rels[count++] = relid;
	for (int i = 0; i < count; i++)
	{
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;

		ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(rels[i]));
		scan = systable_beginscan(constraints, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			Form_pg_constraint constraint = (Form_pg_constraint) GETSTRUCT(tuple);
			bool		seen = false;

			if (constraint->contype != CONSTRAINT_FOREIGN)
				continue;
			for (int j = 0; j < count; j++)
				seen = seen || rels[j] == constraint->confrelid;
			if (seen)
				continue;
			if (count == capacity)
			{
				capacity *= 2;
				rels = repalloc(rels, capacity * sizeof(Oid));
			}
			rels[count++] = constraint->confrelid;
		}
		systable_endscan(scan);
	}
	table_close(constraints, AccessShareLock);
	*n = count;
	return rels;
}

/* The one shard of a reference table (a Citus table of one shard), else 0. */
static int64
single_shard(Oid relid)
{
	ShardMap   *map;
	pg_uuid_t	any = {{0}};
	ShardRange *shard = find_shard(relid, &any, &map);

	return shard != NULL && map->nshards == 1 ? shard->shardid : 0;
}

/*
 * Takes now, without waiting, the locks Citus's executor takes before an
 * UPDATE of reference table relid: its shard's write lock and that of every
 * reference table relid references, directly or not, all ExclusiveLock
 * (Citus's SerializeNonCommutativeWrites and
 * LockReferencedReferenceShardResources), so that the UPDATE waits for
 * none of them.  Returns false, holding none of them, when another
 * transaction holds one (or waits for one).  Citus takes them on this node
 * and, first, on the first worker, where they cannot be had without
 * waiting: on the coordinator, until the caller's GUC nest level ends,
 * citus.allow_modifications_from_workers_to_replicated_tables is off, with
 * which Citus takes them here only (writes through the coordinator take
 * them here too, and so wait for the caller's; writes made through a
 * worker do not).  On a worker that setting would refuse the write: Citus
 * still takes them on the first worker there, waiting.  Nothing without
 * Citus.
 */
bool
abt_citus_lock_reference_update(Oid relid)
{
	int			n;
	Oid		   *rels;
	LOCKTAG    *tags;
	int			taken = 0;

	if (!abt_on_citus())
		return true;
	if (!abt_is_citus_worker() &&
		GetConfigOption("citus.allow_modifications_from_workers_to_replicated_tables", true, false) != NULL)
		(void) set_config_option("citus.allow_modifications_from_workers_to_replicated_tables", "off",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	rels = referenced_tables(relid, &n);
	tags = palloc(n * sizeof(LOCKTAG));
	for (int i = 0; i < n; i++)
	{
		int64		shard = single_shard(rels[i]);

		if (shard == 0)
			continue;
		SET_LOCKTAG_ADVISORY(tags[taken], MyDatabaseId, (uint32) (shard >> 32), (uint32) shard,
							 CITUS_SHARD_LOCK_CLASS);
		if (LockAcquire(&tags[taken], ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		{
			while (taken-- > 0)
				LockRelease(&tags[taken], ExclusiveLock, false);
			return false;
		}
		taken++;
	}
	return true;
}

/*
 * The relation (or index) `name`_<shard> of namespace, as Citus names a
 * table's or an index's copy on a shard; InvalidOid where there is none.
 */
Oid
abt_shard_relation(Oid namespace, const char *name, int64 shard)
{
	char		shard_name[NAMEDATALEN];

	if (shard == 0)
		return InvalidOid;
	snprintf(shard_name, sizeof(shard_name), "%s_" INT64_FORMAT, name, shard);
	return get_relname_relid(shard_name, namespace);
}

PG_FUNCTION_INFO_V1(abt_citus_shard_sql);

/*
 * abtest.citus_shard(relation, experiment_id): abt_citus_shard in SQL, for
 * the test that holds it equal to Citus's get_shard_id_for_distribution_column.
 */
Datum
abt_citus_shard_sql(PG_FUNCTION_ARGS)
{
	int64		shard = abt_citus_shard(PG_GETARG_OID(0), PG_GETARG_UUID_P(1));

	if (shard == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(shard);
}
