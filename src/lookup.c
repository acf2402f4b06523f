/*
 * lookup.c
 *		abt_lookup: one index lookup reads the experiment row and the
 *		visitor's stored assignment, the first step of every page view
 *		(abt_assign) and of every conversion (abt_convert).  It also returns
 *		the assignment row's ctid, so that abt_convert's first-conversion
 *		UPDATE reaches the row by a TID scan, a plan no statistics change.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "local_shards.h"
#include "lookup.h"
#include "pg_compat.h"
#include "relations.h"
#include "spi_plans.h"

/* Result columns of the lookup query (SPI numbers columns from 1). */
enum
{
	LOOKUP_STATUS = 1,
	LOOKUP_SEED,
	LOOKUP_COVERAGE,
	LOOKUP_CONFIG_VERSION,
	LOOKUP_VARIANTS,
	LOOKUP_CONVERTED,
	LOOKUP_CTID,
	LOOKUP_NAMESPACE,			/* 1.1 */
	LOOKUP_NAMESPACE_START,
	LOOKUP_NAMESPACE_END,
	LOOKUP_HOLDOUT_ID
};

/*
 * The lookup query of each version: the experiment row joined with the
 * visitor's assignment, with the experiment's columns LATER adds.
 */
#define LOOKUP_SQL(LATER) \
"SELECT e.status, e.seed, e.coverage, e.config_version," \
"       a.variants, a.converted_at IS NOT NULL, a.ctid" LATER \
"  FROM abtest.experiments e" \
"  LEFT JOIN abtest.assignments a" \
"         ON a.experiment_id OPERATOR(pg_catalog.=) e.id" \
"        AND a.user_id OPERATOR(pg_catalog.=) $2" \
" WHERE e.id OPERATOR(pg_catalog.=) $1"

/*
 * 1.1 adds the experiment's namespace range and its holdout's id (columns a
 * 1.0 database lacks).  Still one query for an experiment without a
 * holdout: the holdout's row is read by holdout_sql only where there is one
 * (a join here cost every page view about a tenth of its time), and the
 * visitor's group in the holdout, another experiment's assignment, by
 * abt_lookup_holdout_group when needed.
 */
static const char *const lookup_sql[ABT_NUM_VERSIONS] = {
	[ABT_VERSION_1_0] = LOOKUP_SQL(""),
	[ABT_VERSION_1_1] = LOOKUP_SQL(","
								   "       e.namespace, e.namespace_start, e.namespace_end, e.holdout_id"),
};

static SPIPlanPtr lookup_plans[ABT_NUM_VERSIONS];

/* 1.1: an experiment's holdout row, $1 its id. */
static SPIPlanPtr holdout_plan = NULL;

enum
{
	HOLDOUT_STATUS = 1,
	HOLDOUT_SEED,
	HOLDOUT_COVERAGE,
	HOLDOUT_CONFIG_VERSION
};

static const char *holdout_sql =
"SELECT h.status, h.seed, h.coverage, h.config_version"
"  FROM abtest.experiments h"
" WHERE h.id OPERATOR(pg_catalog.=) $1 AND h.kind OPERATOR(pg_catalog.=) 'holdout'";

/* 1.1: a visitor's stored assignment in one experiment (a holdout's group). */
static SPIPlanPtr group_plan = NULL;

static const char *group_sql =
"SELECT a.variants FROM abtest.assignments a"
" WHERE a.experiment_id OPERATOR(pg_catalog.=) $1"
"   AND a.user_id OPERATOR(pg_catalog.=) $2";

/* 1.1: the owner's pins of a visitor, {"element id": "variant id"}, or NULL. */
static SPIPlanPtr forced_plan = NULL;

static const char *forced_sql =
"SELECT pg_catalog.jsonb_object_agg(f.element_id, f.variant_id)"
"  FROM abtest.forced_variants f"
" WHERE f.experiment_id OPERATOR(pg_catalog.=) $1"
"   AND f.user_id OPERATOR(pg_catalog.=) $2";

static void lookup_run(AbtVersion api_version, pg_uuid_t *experiment_id, text *user_id,
					   AbtLookup *out);

/* Reads the row of the experiment's holdout into *out (none: holdout_found false). */
static void
read_holdout(AbtLookup *out)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1];
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	int			rc;

	args[0] = UUIDPGetDatum(&out->holdout_id);
	rc = SPI_execute_plan(abt_plan(&holdout_plan, holdout_sql, 1, argtypes), args, NULL, false, 1);
	abt_check_spi(rc, SPI_OK_SELECT, "the holdout lookup");
	if (SPI_processed == 0)
	{
		out->holdout_found = false;
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	strlcpy(out->holdout_status,
			TextDatumGetCString(SPI_getbinval(tuple, desc, HOLDOUT_STATUS, &isnull)),
			sizeof(out->holdout_status));
	out->holdout_seed = TextDatumGetCString(SPI_getbinval(tuple, desc, HOLDOUT_SEED, &isnull));
	out->holdout_coverage = DatumGetFloat8(SPI_getbinval(tuple, desc, HOLDOUT_COVERAGE, &isnull));
	out->holdout_version = DatumGetInt64(SPI_getbinval(tuple, desc, HOLDOUT_CONFIG_VERSION, &isnull));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Reads the experiment row and the visitor's assignment (caller is in SPI);
 * 1.1 also the experiment's namespace range and its holdout's row (the
 * holdout costs a second query where there is one).
 */
void
abt_lookup(pg_uuid_t *experiment_id, text *user_id, AbtVersion api_version, AbtLookup *out)
{
	lookup_run(api_version, experiment_id, user_id, out);
	if (out->holdout_found)
		read_holdout(out);
}

/*
 * The variants an experiment's owner pinned the visitor to (1.1 databases
 * only), as a variant map in the current memory context, or NULL.
 */
Jsonb *
abt_lookup_forced(pg_uuid_t *experiment_id, text *user_id)
{
	Oid			argtypes[2] = {UUIDOID, TEXTOID};
	Datum		args[2];
	Datum		map;
	bool		isnull;
	Jsonb	   *result = NULL;
	int			rc;

	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = PointerGetDatum(user_id);
	rc = SPI_execute_plan(abt_plan(&forced_plan, forced_sql, 2, argtypes), args, NULL, false, 1);
	abt_check_spi(rc, SPI_OK_SELECT, "the forced variant lookup");
	map = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		result = DatumGetJsonbPCopy(map);
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The visitor's stored group in a holdout (1.1 databases only), in the
 * current memory context, or NULL.
 */
Jsonb *
abt_lookup_holdout_group(pg_uuid_t *holdout_id, text *user_id)
{
	Oid			argtypes[2] = {UUIDOID, TEXTOID};
	Datum		args[2];
	Jsonb	   *result = NULL;
	int			rc;

	args[0] = UUIDPGetDatum(holdout_id);
	args[1] = PointerGetDatum(user_id);
	rc = SPI_execute_plan(abt_plan(&group_plan, group_sql, 2, argtypes), args, NULL, false, 1);
	abt_check_spi(rc, SPI_OK_SELECT, "the holdout group lookup");
	if (SPI_processed == 1)
	{
		bool		isnull;

		result = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												  1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The lookup read directly through the two primary keys, without the
 * executor: starting a plan of a join and two index scans for every page
 * view cost about a third of a returning visitor's call in a profile.  It
 * reads what the lookup query reads, as the caller's SPI query would (the owner,
 * past row-level security, a fresh snapshot after a command counter
 * increment), and is used only while the tables and keys have the shape
 * the 1.0 script gave them; otherwise the query runs.
 */
typedef struct DirectLookup
{
	bool		ready;			/* the fields below are resolved and usable */
	AbtVersion	columns;		/* the newest version whose columns exist */
	Oid			experiments;
	Oid			experiments_pkey;
	Oid			assignments;
	Oid			assignments_pkey;
	AttrNumber	e_status;
	AttrNumber	e_seed;
	AttrNumber	e_coverage;
	AttrNumber	e_version;
	AttrNumber	e_namespace;
	AttrNumber	e_namespace_start;
	AttrNumber	e_namespace_end;
	AttrNumber	e_holdout_id;
	AttrNumber	a_variants;
	AttrNumber	a_converted_at;
} DirectLookup;

static DirectLookup direct = {false};
static bool direct_stale = true;

/*
 * The same read of an experiment's shards, where this node holds them
 * (abt_rows_here): one entry per pair of shards seen, forgotten after a
 * relcache invalidation of any of them.
 */
#define MAX_SHARD_LOOKUPS 64
static DirectLookup shard_lookups[MAX_SHARD_LOOKUPS];
static int	nshard_lookups = 0;

/* Bumped by every invalidation of a relation a direct read may be using. */
static uint64 invalidations = 0;

static bool
uses_relation(const DirectLookup *d, Oid relid)
{
	return relid == d->experiments || relid == d->experiments_pkey ||
		relid == d->assignments || relid == d->assignments_pkey;
}

/* Relcache handler (relations.c): one of the relations read may have changed. */
static void
lookup_relcache_changed(Oid relid)
{
	if (relid == InvalidOid || uses_relation(&direct, relid))
	{
		direct_stale = true;
		nshard_lookups = 0;
		invalidations++;
		return;
	}
	for (int i = 0; i < nshard_lookups; i++)
		if (uses_relation(&shard_lookups[i], relid))
		{
			nshard_lookups = 0;
			invalidations++;
			return;
		}
}

/* From _PG_init: the lookup forgets what it resolved on an invalidation. */
void
abt_lookup_init(void)
{
	abt_relations_on_change(lookup_relcache_changed);
}

/* Whether index is a valid unique btree on exactly the given columns of heap. */
static bool
is_key_on(Oid index_oid, Oid heap_oid, int nkeys, const AttrNumber *columns)
{
	Relation	index;
	bool		ok;

	if (!OidIsValid(index_oid))
		return false;
	index = index_open(index_oid, AccessShareLock);
	ok = abt_index_has_shape(index, heap_oid, nkeys, columns, true);
	index_close(index, AccessShareLock);
	return ok;
}

/*
 * Resolves the columns of the four relations into *d, and whether a direct
 * read of them is possible (d->ready).
 */
static void
resolve_relations(DirectLookup *d, Oid experiments, Oid experiments_pkey,
				  Oid assignments, Oid assignments_pkey)
{
	AttrNumber	e_key[1];
	AttrNumber	a_key[2];

	memset(d, 0, sizeof(*d));
	d->experiments = experiments;
	d->experiments_pkey = experiments_pkey;
	d->assignments = assignments;
	d->assignments_pkey = assignments_pkey;
	if (!OidIsValid(experiments) || !OidIsValid(assignments))
		return;
	e_key[0] = get_attnum(experiments, "id");
	a_key[0] = get_attnum(assignments, "experiment_id");
	a_key[1] = get_attnum(assignments, "user_id");
	d->e_status = get_attnum(experiments, "status");
	d->e_seed = get_attnum(experiments, "seed");
	d->e_coverage = get_attnum(experiments, "coverage");
	d->e_version = get_attnum(experiments, "config_version");
	d->e_namespace = get_attnum(experiments, "namespace");
	d->e_namespace_start = get_attnum(experiments, "namespace_start");
	d->e_namespace_end = get_attnum(experiments, "namespace_end");
	d->e_holdout_id = get_attnum(experiments, "holdout_id");
	d->a_variants = get_attnum(assignments, "variants");
	d->a_converted_at = get_attnum(assignments, "converted_at");
	d->columns = d->e_namespace != InvalidAttrNumber && d->e_namespace_start != InvalidAttrNumber &&
		d->e_namespace_end != InvalidAttrNumber && d->e_holdout_id != InvalidAttrNumber ?
		ABT_VERSION_1_1 : ABT_VERSION_1_0;
	d->ready = d->e_status != InvalidAttrNumber && d->e_seed != InvalidAttrNumber &&
		d->e_coverage != InvalidAttrNumber && d->e_version != InvalidAttrNumber &&
		d->a_variants != InvalidAttrNumber && d->a_converted_at != InvalidAttrNumber &&
		is_key_on(experiments_pkey, experiments, 1, e_key) &&
		is_key_on(assignments_pkey, assignments, 2, a_key);
}

/* Resolves the install script's relations into direct (direct.ready: usable). */
static void
resolve_direct(void)
{
	if (!direct_stale)
		return;
	direct_stale = false;
	resolve_relations(&direct,
					  abt_relation(ABT_REL_EXPERIMENTS),
					  abt_relation(ABT_REL_EXPERIMENTS_PKEY),
					  abt_relation(ABT_REL_ASSIGNMENTS),
					  abt_relation(ABT_REL_ASSIGNMENTS_LOOKUP));
}

/*
 * The direct read of experiment_id's rows where this node holds them
 * (abt_rows_here, local_shards.c): the tables' (direct), or the
 * experiment's shards' (a shard's index is named by the index's name and
 * the shard id); NULL where neither.  What moves the shards sends
 * invalidations.
 */
static DirectLookup *
resolve_here(pg_uuid_t *experiment_id)
{
	static const AbtRelation tables[2] = {ABT_REL_EXPERIMENTS, ABT_REL_ASSIGNMENTS};
	Oid			here[2];
	int64		shards[2];
	DirectLookup *d;

	if (!abt_rows_here(experiment_id, 2, tables, shards, here))
		return NULL;
	if (here[0] == direct.experiments && here[1] == direct.assignments)
		return &direct;
	for (int i = 0; i < nshard_lookups; i++)
		if (shard_lookups[i].experiments == here[0] && shard_lookups[i].assignments == here[1])
			return &shard_lookups[i];
	if (nshard_lookups == MAX_SHARD_LOOKUPS)
		nshard_lookups = 0;
	d = &shard_lookups[nshard_lookups++];
	resolve_relations(d,
					  here[0], abt_shard_copy(ABT_REL_EXPERIMENTS_PKEY, shards[0]),
					  here[1], abt_shard_copy(ABT_REL_ASSIGNMENTS_LOOKUP, shards[1]));
	return d;
}

/*
 * Fetches the one row of heap whose unique key index equals keys into slot
 * (false: none visible to snapshot).  Key columns compare in the index's
 * collations.
 */
static bool
fetch_by_key(Relation heap, Relation index, int nkeys, const Oid *eq_procs, const Datum *values,
			 Snapshot snapshot, TupleTableSlot *slot)
{
	ScanKeyData keys[2];
	IndexScanDesc scan;
	bool		found;

	for (int k = 0; k < nkeys; k++)
		ScanKeyEntryInitialize(&keys[k], 0, k + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[k], eq_procs[k], values[k]);
	scan = abt_index_beginscan(heap, index, snapshot, nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	return found;
}

/*
 * Whether this transaction may use the index, as the planner decides: an
 * index built over broken HOT chains (indcheckxmin) only once every
 * snapshot that might see those rows is gone.
 */
static bool
index_usable(Relation index)
{
	return !index->rd_index->indcheckxmin ||
		TransactionIdPrecedes(HeapTupleHeaderGetXmin(index->rd_indextuple->t_data),
							  TransactionXmin);
}

/* A text column of the slot as a C string (NULL for SQL NULL). */
static char *
slot_text(TupleTableSlot *slot, AttrNumber column)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, column, &isnull);

	return isnull ? NULL : TextDatumGetCString(value);
}

/* Reads the experiment's columns of api_version's lookup query from slot. */
static void
read_experiment(const DirectLookup *d, TupleTableSlot *slot, AbtVersion api_version,
				AbtLookup *out)
{
	bool		isnull;
	Datum		holdout;

	out->experiment_found = true;
	strlcpy(out->status, slot_text(slot, d->e_status), sizeof(out->status));
	out->seed = slot_text(slot, d->e_seed);
	out->coverage = DatumGetFloat8(slot_getattr(slot, d->e_coverage, &isnull));
	out->version = DatumGetInt64(slot_getattr(slot, d->e_version, &isnull));
	if (api_version < ABT_VERSION_1_1)
		return;
	out->namespace = slot_text(slot, d->e_namespace);
	if (out->namespace != NULL)
	{
		out->namespace_start = DatumGetFloat8(slot_getattr(slot, d->e_namespace_start, &isnull));
		out->namespace_end = DatumGetFloat8(slot_getattr(slot, d->e_namespace_end, &isnull));
	}
	holdout = slot_getattr(slot, d->e_holdout_id, &isnull);
	if (!isnull)
	{
		out->holdout_found = true;	/* until read_holdout finds no row */
		memcpy(&out->holdout_id, DatumGetUUIDP(holdout), UUID_LEN);
	}
}

/*
 * api_version's lookup query read directly; false, having read nothing,
 * where the direct read does not apply.
 */
static bool
lookup_direct(AbtVersion api_version, pg_uuid_t *experiment_id, text *user_id, AbtLookup *out)
{
	static const Oid experiment_eq[1] = {F_UUID_EQ};
	static const Oid assignment_eq[2] = {F_UUID_EQ, F_TEXTEQ};
	Relation	experiments;
	Relation	experiments_pkey;
	Relation	assignments;
	Relation	assignments_pkey;
	TupleTableSlot *slot;
	Snapshot	snapshot;
	Datum		values[2];
	bool		usable;

	DirectLookup *d;
	uint64		invalidations_before = invalidations;	/* before resolving */

	resolve_direct();
	d = resolve_here(experiment_id);
	if (d == NULL || !d->ready || api_version > d->columns)
		return false;

	/*
	 * What a non-read-only SPI query sees: a fresh snapshot under READ
	 * COMMITTED (the transaction's under REPEATABLE READ), with this
	 * transaction's writes up to now (the command id brought up to date)
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	snapshot = GetActiveSnapshot();

	/*
	 * Locked as a query locks them, to the end of the transaction.  Taking
	 * the locks may have processed invalidations of DDL that committed
	 * meanwhile: then what resolve_direct found may be stale, and the query
	 * (which replans) does this lookup.
	 */
	experiments = table_open(d->experiments, AccessShareLock);
	experiments_pkey = index_open(d->experiments_pkey, AccessShareLock);
	assignments = table_open(d->assignments, AccessShareLock);
	assignments_pkey = index_open(d->assignments_pkey, AccessShareLock);
	usable = invalidations == invalidations_before &&
		index_usable(experiments_pkey) && index_usable(assignments_pkey);

	memset(out, 0, sizeof(*out));
	if (usable)
	{
		slot = table_slot_create(experiments, NULL);
		values[0] = UUIDPGetDatum(experiment_id);
		if (fetch_by_key(experiments, experiments_pkey, 1, experiment_eq, values, snapshot, slot))
			read_experiment(d, slot, api_version, out);
		ExecDropSingleTupleTableSlot(slot);
	}
	if (usable && out->experiment_found)
	{
		bool		isnull;

		slot = table_slot_create(assignments, NULL);
		values[1] = PointerGetDatum(user_id);
		if (fetch_by_key(assignments, assignments_pkey, 2, assignment_eq, values, snapshot, slot))
		{
			out->assigned = true;
			out->variants = DatumGetJsonbPCopy(slot_getattr(slot, d->a_variants, &isnull));
			(void) slot_getattr(slot, d->a_converted_at, &isnull);
			out->converted = !isnull;
			ItemPointerCopy(&slot->tts_tid, &out->ctid);
		}
		ExecDropSingleTupleTableSlot(slot);
	}
	index_close(assignments_pkey, NoLock);
	table_close(assignments, NoLock);
	index_close(experiments_pkey, NoLock);
	table_close(experiments, NoLock);
	PopActiveSnapshot();
	return usable;
}

/* Reads api_version's lookup, directly or by its query. */
static void
lookup_run(AbtVersion api_version, pg_uuid_t *experiment_id, text *user_id, AbtLookup *out)
{
	Oid			argtypes[2] = {UUIDOID, TEXTOID};
	Datum		args[2];
	int			rc;
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	char	   *status;
	Datum		variants;

	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = PointerGetDatum(user_id);
	if (lookup_direct(api_version, experiment_id, user_id, out))
		return;
	rc = SPI_execute_plan(abt_plan(&lookup_plans[api_version], lookup_sql[api_version], 2,
								   argtypes),
						  args, NULL, false, 1);
	abt_check_spi(rc, SPI_OK_SELECT, "the assignment lookup");

	memset(out, 0, sizeof(*out));
	if (SPI_processed == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	out->experiment_found = true;
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	status = TextDatumGetCString(SPI_getbinval(tuple, desc, LOOKUP_STATUS, &isnull));
	strlcpy(out->status, status, sizeof(out->status));
	out->seed = TextDatumGetCString(SPI_getbinval(tuple, desc, LOOKUP_SEED, &isnull));
	out->coverage = DatumGetFloat8(SPI_getbinval(tuple, desc, LOOKUP_COVERAGE, &isnull));
	out->version = DatumGetInt64(SPI_getbinval(tuple, desc, LOOKUP_CONFIG_VERSION, &isnull));
	if (api_version >= ABT_VERSION_1_1)
	{
		Datum		namespace = SPI_getbinval(tuple, desc, LOOKUP_NAMESPACE, &isnull);
		Datum		holdout;

		if (!isnull)
		{
			out->namespace = TextDatumGetCString(namespace);
			out->namespace_start = DatumGetFloat8(SPI_getbinval(tuple, desc,
																LOOKUP_NAMESPACE_START, &isnull));
			out->namespace_end = DatumGetFloat8(SPI_getbinval(tuple, desc,
															  LOOKUP_NAMESPACE_END, &isnull));
		}
		holdout = SPI_getbinval(tuple, desc, LOOKUP_HOLDOUT_ID, &isnull);
		if (!isnull)
		{
			out->holdout_found = true;	/* until read_holdout finds no row */
			memcpy(&out->holdout_id, DatumGetUUIDP(holdout), UUID_LEN);
		}
	}
	variants = SPI_getbinval(tuple, desc, LOOKUP_VARIANTS, &isnull);
	if (isnull)
	{
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	out->assigned = true;
	out->variants = DatumGetJsonbPCopy(variants);
	out->converted = DatumGetBool(SPI_getbinval(tuple, desc, LOOKUP_CONVERTED, &isnull));
	ItemPointerCopy((ItemPointer) DatumGetPointer(SPI_getbinval(tuple, desc, LOOKUP_CTID, &isnull)),
					&out->ctid);
	SPI_freetuptable(SPI_tuptable);
}
