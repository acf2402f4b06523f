/*
 * deltas.c
 *		A transaction's counts kept in the backend and written once: what
 *		makes N new visitors in one statement cost O(N).
 *
 * A new visitor adds one to its backend slot's counter and rollup rows
 * (assign.c).  The first new visitor of an experiment in a transaction does
 * so in its own statement, as always.  Every later one in the same
 * transaction would update the same rows again, and no version a running
 * transaction made can be pruned: the k-th update walks the k versions
 * before it, N calls cost O(N^2) and leave the rows bloated for every later
 * visitor.  So later ones add their counts here instead, and the deltas are
 * written with one upsert per (experiment, bucket) (abt_deltas_write):
 *  - before any query of this backend that reads the counter or rollup
 *    tables (an ExecutorStart hook, outside abtest's own statements), whose
 *    snapshot then sees them: a statement sees the counts of everything
 *    before it, as when each call wrote its rows;
 *  - before any utility command but transaction control (a TRUNCATE, a COPY
 *    of the tables), and before the transaction commits or is prepared
 *    (the pre-commit callback): the counts commit with the assignments, or
 *    neither does.
 * The writes act as the tables' owner, as the calls that counted them.
 * Subtransactions: each delta remembers the nesting level that counted it
 * and the level that wrote it (0: not yet).  A subtransaction that aborts
 * drops the deltas it counted and makes those it wrote pending again (its
 * writes are rolled back); one that commits hands both to its parent.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "citus.h"
#include "deltas.h"
#include "owner.h"
#include "relations.h"
#include "spi_plans.h"
#include "statement.h"

/* One delta: a count of a variant (nil id: the experiment's assignments) */
typedef struct DeltaKey
{
	pg_uuid_t	experiment_id;
	TimestampTz bucket;
	pg_uuid_t	variant_id;
	int			own_level;		/* nesting level that counted it */
	int			write_level;	/* nesting level that wrote it; 0: pending */
} DeltaKey;

typedef struct Delta
{
	DeltaKey	key;			/* hash key */
	int64		count;
} Delta;

/* In TopTransactionContext; NULL outside a transaction that counted here. */
static HTAB *deltas = NULL;
static int64 npending = 0;		/* additions to deltas with write_level 0: none when 0 */
static HTAB *inline_counted = NULL; /* experiments counted in their own statement */

static int	run_depth = 0;		/* inside abt_run: abtest's own statements */
static bool flushing = false;

static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/* $1 experiment, $2 slot, $3 bucket, $4 variant ids, $5 their counts, $6 assignments */
static Oid	write_types[6] = {UUIDOID, INT4OID, TIMESTAMPTZOID, UUIDARRAYOID, INT8ARRAYOID,
INT8OID};

static AbtStatement write_counts = {
	.what = "adding counts",
	.sql =
	"WITH counters AS ("
	"  INSERT INTO abtest.variant_counters AS c (experiment_id, variant_id, slot, allocations)"
	"  SELECT $1, u.id, $2, u.n FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5)) AS u(id, n)"
	"  ON CONFLICT ON CONSTRAINT variant_counters_pkey"
	"  DO UPDATE SET allocations = c.allocations OPERATOR(pg_catalog.+) excluded.allocations),"
	" variant_rollup AS ("
	"  INSERT INTO abtest.variant_timeline AS t (experiment_id, variant_id, bucket, slot, assignments)"
	"  SELECT $1, u.id, $3, $2, u.n FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5)) AS u(id, n)"
	"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) excluded.assignments)"
	"INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, assignments)"
	"  VALUES ($1, $3, $2, $6)"
	"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) excluded.assignments",
	.nargs = 6, .argtypes = write_types, .result = SPI_OK_INSERT, .on_shards = true
};

/*
 * Adds counts to this backend's slot rows of one experiment and bucket:
 * nvariants variant ids (sorted: a fixed lock order) with their allocations,
 * and assignments to the experiment's rollup.  The caller is connected to SPI.
 */
void
abt_deltas_write(pg_uuid_t *experiment_id, TimestampTz bucket, Datum *variant_ids,
				 Datum *counts, int nvariants, int64 assignments)
{
	Datum		args[6];

	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = Int32GetDatum(abt_slot());
	args[2] = TimestampTzGetDatum(bucket);
	args[3] = PointerGetDatum(construct_array(variant_ids, nvariants, UUIDOID,
											  UUID_LEN, false, TYPALIGN_CHAR));
	args[4] = PointerGetDatum(construct_array(counts, nvariants, INT8OID,
											  8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[5] = Int64GetDatum(assignments);
	(void) abt_run(&write_counts, experiment_id, args, NULL);
}

/* A new, empty table of deltas in TopTransactionContext. */
static HTAB *
new_deltas(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(DeltaKey);
	ctl.entrysize = sizeof(Delta);
	ctl.hcxt = TopTransactionContext;
	return hash_create("abtest deltas", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Adds count to the delta of key (created at 0). */
static void
add_delta(HTAB *table, DeltaKey *key, int64 count)
{
	bool		found;
	Delta	   *d = hash_search(table, key, HASH_ENTER, &found);

	if (!found)
		d->count = 0;
	d->count += count;
	if (key->write_level == 0)
		npending++;
}

/*
 * Whether the experiment's counts were already written in their own
 * statement in this transaction; if not, notes that the caller does so now.
 */
bool
abt_deltas_counted_inline(pg_uuid_t *experiment_id)
{
	bool		found;

	if (inline_counted == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(pg_uuid_t);
		ctl.hcxt = TopTransactionContext;
		inline_counted = hash_create("abtest counted inline", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	(void) hash_search(inline_counted, experiment_id, HASH_ENTER, &found);
	return found;
}

/* Counts one new visitor of the experiment in bucket who saw the n variants chosen. */
void
abt_deltas_add_assignment(pg_uuid_t *experiment_id, TimestampTz bucket, pg_uuid_t *chosen, int n)
{
	DeltaKey	key;

	if (deltas == NULL)
		deltas = new_deltas();
	memset(&key, 0, sizeof(key));
	key.experiment_id = *experiment_id;
	key.bucket = bucket;
	key.own_level = GetCurrentTransactionNestLevel();
	add_delta(deltas, &key, 1);
	for (int i = 0; i < n; i++)
	{
		key.variant_id = chosen[i];
		add_delta(deltas, &key, 1);
	}
}

/* Orders deltas by experiment, bucket, variant (the nil id, the experiment's, first). */
static int
delta_cmp(const void *a, const void *b)
{
	const DeltaKey *ka = &(*(Delta *const *) a)->key;
	const DeltaKey *kb = &(*(Delta *const *) b)->key;
	int			c = memcmp(&ka->experiment_id, &kb->experiment_id, UUID_LEN);

	if (c != 0)
		return c;
	if (ka->bucket != kb->bucket)
		return ka->bucket < kb->bucket ? -1 : 1;
	return memcmp(&ka->variant_id, &kb->variant_id, UUID_LEN);
}

/* Writes the pending deltas, sorted, one statement per (experiment, bucket). */
static void
write_pending(Delta **pending, int n)
{
	static const pg_uuid_t nil;
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *counts = palloc(sizeof(Datum) * n);
	int			i = 0;

	qsort(pending, n, sizeof(Delta *), delta_cmp);
	while (i < n)
	{
		DeltaKey   *group = &pending[i]->key;
		int64		assignments = 0;
		int			nvariants = 0;

		for (; i < n && memcmp(&pending[i]->key.experiment_id, &group->experiment_id, UUID_LEN) == 0
			 && pending[i]->key.bucket == group->bucket; i++)
		{
			if (memcmp(&pending[i]->key.variant_id, &nil, UUID_LEN) == 0)
				assignments += pending[i]->count;
			else if (nvariants > 0 &&
					 memcmp(DatumGetUUIDP(ids[nvariants - 1]), &pending[i]->key.variant_id,
							UUID_LEN) == 0)
				counts[nvariants - 1] =
					Int64GetDatum(DatumGetInt64(counts[nvariants - 1]) + pending[i]->count);
			else
			{
				ids[nvariants] = UUIDPGetDatum(&pending[i]->key.variant_id);
				counts[nvariants++] = Int64GetDatum(pending[i]->count);
			}
		}
		abt_deltas_write(&group->experiment_id, group->bucket, ids, counts, nvariants,
						 assignments);
	}
}

/*
 * Writes every pending delta in the current (sub)transaction, then marks
 * them written at its level.
 */
void
abt_deltas_flush(void)
{
	HTAB	   *table = deltas;
	HTAB	   *after;
	HASH_SEQ_STATUS seq;
	Delta	   *d;
	Delta	  **pending;
	int			n = 0;
	int			level = GetCurrentTransactionNestLevel();

	if (table == NULL || npending == 0 || flushing)
		return;
	pending = palloc(sizeof(Delta *) * hash_get_num_entries(table));
	hash_seq_init(&seq, table);
	while ((d = hash_seq_search(&seq)) != NULL)
		if (d->key.write_level == 0 && d->count != 0)
			pending[n++] = d;
	flushing = true;
	PG_TRY();
	{
		AbtUserContext saved;
		bool		pushed = false;

		/* before commit there is no statement's snapshot */
		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "abtest: SPI_connect failed");
		abt_act_as_owner(&saved);
		write_pending(pending, n);
		abt_restore_user(&saved);
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "abtest: SPI_finish failed");
		if (pushed)
			PopActiveSnapshot();
	}
	PG_FINALLY();
	{
		flushing = false;
	}
	PG_END_TRY();
	after = new_deltas();
	npending = 0;
	hash_seq_init(&seq, table);
	while ((d = hash_seq_search(&seq)) != NULL)
	{
		DeltaKey	key = d->key;

		if (key.write_level == 0)
			key.write_level = level;
		add_delta(after, &key, d->count);
	}
	hash_destroy(table);
	deltas = after;
	pfree(pending);
}

/* abt_run: abtest's own statements write their counts themselves: no flush before them. */
void
abt_deltas_run_begin(void)
{
	run_depth++;
}

void
abt_deltas_run_end(void)
{
	run_depth--;
}

/* Whether plan reads or writes a counter or rollup table. */
static bool
touches_counters(PlannedStmt *plan)
{
	Oid			counters = abt_relation(ABT_REL_VARIANT_COUNTERS);
	Oid			experiment_rollups = abt_relation(ABT_REL_EXPERIMENT_TIMELINE);
	Oid			variant_rollups = abt_relation(ABT_REL_VARIANT_TIMELINE);
	ListCell   *lc;

	foreach(lc, plan->relationOids)
	{
		Oid			relid = lfirst_oid(lc);

		if (relid == counters || relid == experiment_rollups || relid == variant_rollups)
			return true;
	}
	return false;
}

/* Whether deltas are pending and may be written now. */
static bool
flush_due(void)
{
	return npending > 0 && run_depth == 0 && !flushing && IsTransactionState() &&
		!IsAbortedTransactionBlockState();
}

/*
 * ExecutorStart hook: a query that reads the counters sees the pending
 * deltas: they are written, and the query's snapshot moved past them.
 */
static void
deltas_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (flush_due() && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		touches_counters(queryDesc->plannedstmt))
	{
		abt_deltas_flush();
		if (queryDesc->snapshot != NULL)
			queryDesc->snapshot->curcid = GetCurrentCommandId(false);
	}
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* ProcessUtility hook: pending deltas are written before a utility command but transaction control. */
static void
deltas_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					   ProcessUtilityContext context, ParamListInfo params,
					   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (flush_due() && !IsA(pstmt->utilityStmt, TransactionStmt))
		abt_deltas_flush();
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							 dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}

/* Forgets everything at the end of the transaction (the memory goes with it). */
static void
deltas_reset(void)
{
	deltas = NULL;
	inline_counted = NULL;
	npending = 0;
	run_depth = 0;
	flushing = false;
}

/* Writes pending deltas before commit or prepare; forgets them at the end. */
static void
deltas_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (npending > 0)
				abt_deltas_flush();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			deltas_reset();
			break;
		default:
			break;
	}
}

/*
 * A subtransaction's end: an abort drops the deltas it counted and makes
 * those it wrote pending again; a commit hands both to the parent.
 */
static void
deltas_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	HTAB	   *after;
	HASH_SEQ_STATUS seq;
	Delta	   *d;

	if (deltas == NULL || (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	after = new_deltas();
	npending = 0;
	hash_seq_init(&seq, deltas);
	while ((d = hash_seq_search(&seq)) != NULL)
	{
		DeltaKey	key = d->key;

		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			if (key.own_level >= level)
				continue;
			if (key.write_level >= level)
				key.write_level = 0;
		}
		else
		{
			if (key.own_level == level)
				key.own_level = level - 1;
			if (key.write_level == level)
				key.write_level = level - 1;
		}
		add_delta(after, &key, d->count);
	}
	hash_destroy(deltas);
	deltas = after;
}

/* From _PG_init: the hooks and callbacks. */
void
abt_deltas_init(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = deltas_executor_start;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = deltas_process_utility;
	RegisterXactCallback(deltas_xact_callback, NULL);
	RegisterSubXactCallback(deltas_subxact_callback, NULL);
}
