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
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "citus.h"
#include "deltas.h"
#include "owner.h"
#include "rules.h"
#include "relations.h"
#include "spi_plans.h"
#include "statement.h"

/* What a delta counts */
typedef enum DeltaKind
{
	DELTA_COUNTS,				/* counter and rollup rows of a bucket */
	DELTA_GOAL					/* goal_counters rows of a goal (1.1) */
} DeltaKind;

/* Room for a goal: ABT_MAX_ID_CHARS characters of up to 4 bytes, zero-padded */
#define GOAL_BYTES (ABT_MAX_ID_CHARS * 4 + 1)

/*
 * One delta: of a variant (the nil id: the experiment's rollup row) in a
 * bucket (DELTA_COUNTS) or of a goal (DELTA_GOAL).
 */
typedef struct DeltaKey
{
	pg_uuid_t	experiment_id;
	pg_uuid_t	variant_id;
	TimestampTz bucket;			/* DELTA_COUNTS */
	int32		kind;			/* DeltaKind */
	int32		own_level;		/* nesting level that counted it */
	int32		write_level;	/* nesting level that wrote it; 0: pending */
	char		goal[GOAL_BYTES];	/* DELTA_GOAL */
} DeltaKey;

typedef struct Delta
{
	DeltaKey	key;			/* hash key */
	int64		allocations;	/* new visitors (the experiment's row: assignments) */
	int64		conversions;	/* first conversions */
	AbtGoalSums goal;			/* DELTA_GOAL, numerics in TopTransactionContext */
} Delta;

/* The goal_counters columns of AbtGoalSums, in its order */
#define GOAL_SUMS_COLUMNS "converters, value_sum, value_sum_squares, covariate_visitors," \
	" covariate_sum, covariate_sum_squares, covariate_converters, cross_sum, cross_converters"
#define NUM_GOAL_SUMS 9

/* In TopTransactionContext; NULL outside a transaction that counted here. */
static HTAB *deltas = NULL;
static int64 npending = 0;		/* additions to deltas with write_level 0: none when 0 */
/* experiments counted in their own statement: the first, then the others */
static pg_uuid_t first_counted;
static bool first_counted_valid = false;
static HTAB *inline_counted = NULL;

static bool flushing = false;

static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * $1 experiment, $2 slot, $3 bucket, $4 variant ids, $5 their allocations,
 * $6 their conversions, $7 the experiment's assignments, $8 its conversions
 */
static Oid	write_types[8] = {UUIDOID, INT4OID, TIMESTAMPTZOID, UUIDARRAYOID, INT8ARRAYOID,
INT8ARRAYOID, INT8OID, INT8OID};

static AbtStatement write_counts = {
	.what = "adding counts",
	.sql =
	"WITH counters AS ("
	"  INSERT INTO abtest.variant_counters AS c (experiment_id, variant_id, slot, allocations, conversions)"
	"  SELECT $1, u.id, $2, u.a, u.c"
	"    FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6)) AS u(id, a, c)"
	"  ON CONFLICT ON CONSTRAINT variant_counters_pkey"
	"  DO UPDATE SET allocations = c.allocations OPERATOR(pg_catalog.+) excluded.allocations,"
	"                conversions = c.conversions OPERATOR(pg_catalog.+) excluded.conversions),"
	" variant_rollup AS ("
	"  INSERT INTO abtest.variant_timeline AS t (experiment_id, variant_id, bucket, slot, assignments, conversions)"
	"  SELECT $1, u.id, $3, $2, u.a, u.c"
	"    FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6)) AS u(id, a, c)"
	"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) excluded.assignments,"
	"                conversions = t.conversions OPERATOR(pg_catalog.+) excluded.conversions)"
	"INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, assignments, conversions)"
	"  VALUES ($1, $3, $2, $7, $8)"
	"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) excluded.assignments,"
	"                conversions = t.conversions OPERATOR(pg_catalog.+) excluded.conversions",
	.nargs = 8, .argtypes = write_types, .result = SPI_OK_INSERT, .on_shards = true
};

/*
 * $1 experiment, $2 slot, $3 goal, $4 variant ids, then one array per
 * column of AbtGoalSums (1.1; the CUPED ones: issue 20)
 */
static Oid	write_goal_types[4 + NUM_GOAL_SUMS] = {UUIDOID, INT4OID, TEXTOID, UUIDARRAYOID,
	INT8ARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID, INT8ARRAYOID, NUMERICARRAYOID,
NUMERICARRAYOID, INT8ARRAYOID, NUMERICARRAYOID, INT8ARRAYOID};

#define ADD_EXCLUDED(col) " " col " = c." col " OPERATOR(pg_catalog.+) excluded." col

static AbtStatement write_goal_sums = {
	.what = "adding goal sums",
	.sql =
	"INSERT INTO abtest.goal_counters AS c"
	"       (experiment_id, slot, variant_id, goal, " GOAL_SUMS_COLUMNS ")"
	" SELECT $1, $2, u.id, $3, u.n, u.s, u.q, u.cv, u.cs, u.cq, u.cc, u.xs, u.xc"
	"  FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6),"
	"                  pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9),"
	"                  pg_catalog.unnest($10), pg_catalog.unnest($11), pg_catalog.unnest($12),"
	"                  pg_catalog.unnest($13)) AS u(id, n, s, q, cv, cs, cq, cc, xs, xc)"
	" ON CONFLICT ON CONSTRAINT goal_counters_pkey"
	" DO UPDATE SET" ADD_EXCLUDED("converters") "," ADD_EXCLUDED("value_sum") ","
	ADD_EXCLUDED("value_sum_squares") "," ADD_EXCLUDED("covariate_visitors") ","
	ADD_EXCLUDED("covariate_sum") "," ADD_EXCLUDED("covariate_sum_squares") ","
	ADD_EXCLUDED("covariate_converters") "," ADD_EXCLUDED("cross_sum") ","
	ADD_EXCLUDED("cross_converters"),
	.nargs = 4 + NUM_GOAL_SUMS, .argtypes = write_goal_types, .result = SPI_OK_INSERT,
	.on_shards = true
};

/* An int8[] of n Datums */
static Datum
int8_array(Datum *values, int n)
{
	return PointerGetDatum(construct_array(values, n, INT8OID, 8, FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/*
 * Adds counts to this backend's slot rows of one experiment and bucket:
 * nvariants variant ids (sorted: a fixed lock order) with their allocations
 * and conversions (conversions NULL: none), and assignments and
 * conversions to the experiment's rollup.  The caller is connected to SPI.
 */
void
abt_deltas_write(pg_uuid_t *experiment_id, TimestampTz bucket, Datum *variant_ids,
				 Datum *allocations, Datum *conversions, int nvariants, int64 assignments,
				 int64 experiment_conversions)
{
	Datum		args[8];
	Datum	   *zeros = NULL;

	if (conversions == NULL)
	{
		zeros = palloc(sizeof(Datum) * (nvariants + 1));
		for (int i = 0; i < nvariants; i++)
			zeros[i] = Int64GetDatum(0);
		conversions = zeros;
	}
	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = Int32GetDatum(abt_slot());
	args[2] = TimestampTzGetDatum(bucket);
	args[3] = PointerGetDatum(construct_array(variant_ids, nvariants, UUIDOID,
											  UUID_LEN, false, TYPALIGN_CHAR));
	args[4] = int8_array(allocations, nvariants);
	args[5] = int8_array(conversions, nvariants);
	args[6] = Int64GetDatum(assignments);
	args[7] = Int64GetDatum(experiment_conversions);
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

/* a + b (either NULL: 0), in TopTransactionContext */
static Numeric
add_numeric(Numeric a, Numeric b)
{
	MemoryContext old;
	Numeric		sum;

	if (b == NULL)
		return a;
	old = MemoryContextSwitchTo(TopTransactionContext);
	sum = a == NULL ? DatumGetNumericCopy(NumericGetDatum(b)) :
		DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(a), NumericGetDatum(b)));
	MemoryContextSwitchTo(old);
	return sum;
}

/* Adds the goal sums from to to (numerics: NULL is 0; the sums in TopTransactionContext). */
void
abt_goal_sums_add(AbtGoalSums *to, const AbtGoalSums *from)
{
	to->converters += from->converters;
	to->value_sum = add_numeric(to->value_sum, from->value_sum);
	to->value_sum_squares = add_numeric(to->value_sum_squares, from->value_sum_squares);
	to->covariate_visitors += from->covariate_visitors;
	to->covariate_sum = add_numeric(to->covariate_sum, from->covariate_sum);
	to->covariate_sum_squares = add_numeric(to->covariate_sum_squares,
											from->covariate_sum_squares);
	to->covariate_converters += from->covariate_converters;
	to->cross_sum = add_numeric(to->cross_sum, from->cross_sum);
	to->cross_converters += from->cross_converters;
}

/* Adds from's counts to the delta of key in table (created empty). */
static void
add_delta(HTAB *table, DeltaKey *key, const Delta *from)
{
	bool		found;
	Delta	   *d = hash_search(table, key, HASH_ENTER, &found);

	if (!found)
	{
		d->allocations = d->conversions = 0;
		memset(&d->goal, 0, sizeof(d->goal));
	}
	d->allocations += from->allocations;
	d->conversions += from->conversions;
	abt_goal_sums_add(&d->goal, &from->goal);
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

	/* a page view's transaction: one experiment, no table made */
	if (!first_counted_valid)
	{
		first_counted = *experiment_id;
		first_counted_valid = true;
		return false;
	}
	if (memcmp(&first_counted, experiment_id, UUID_LEN) == 0)
		return true;
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

/* A key of this (sub)transaction's pending deltas of the experiment. */
static void
init_key(DeltaKey *key, DeltaKind kind, pg_uuid_t *experiment_id)
{
	if (deltas == NULL)
		deltas = new_deltas();
	memset(key, 0, sizeof(*key));
	key->kind = kind;
	key->experiment_id = *experiment_id;
	key->own_level = GetCurrentTransactionNestLevel();
}

/*
 * Counts new visitors (allocations) or first conversions (conversions),
 * one each, of the experiment in bucket, who saw the n variants chosen.
 */
static void
add_counts(pg_uuid_t *experiment_id, TimestampTz bucket, pg_uuid_t *chosen, int n,
		   bool conversion)
{
	DeltaKey	key;
	Delta		one = {0};

	if (conversion)
		one.conversions = 1;
	else
		one.allocations = 1;
	init_key(&key, DELTA_COUNTS, experiment_id);
	key.bucket = bucket;
	add_delta(deltas, &key, &one);
	for (int i = 0; i < n; i++)
	{
		key.variant_id = chosen[i];
		add_delta(deltas, &key, &one);
	}
}

/* Counts one new visitor of the experiment in bucket who saw the n variants chosen. */
void
abt_deltas_add_assignment(pg_uuid_t *experiment_id, TimestampTz bucket, pg_uuid_t *chosen, int n)
{
	add_counts(experiment_id, bucket, chosen, n, false);
}

/* Counts the first conversion of a visitor assigned in bucket who saw the n variants. */
void
abt_deltas_add_conversion(pg_uuid_t *experiment_id, TimestampTz bucket, pg_uuid_t *seen, int n)
{
	add_counts(experiment_id, bucket, seen, n, true);
}

/*
 * Adds a visitor's change of the goal sums (1.1) for each of the n variants
 * the visitor saw: an event's (converters: 1 on its first event of the
 * goal, the value counted, the change of its squared total, CUPED's cross
 * terms) or a covariate's (issue 20).
 */
void
abt_deltas_add_goal(pg_uuid_t *experiment_id, text *goal, pg_uuid_t *seen, int n,
					const AbtGoalSums *sums)
{
	DeltaKey	key;
	Delta		event = {0};

	event.goal = *sums;
	init_key(&key, DELTA_GOAL, experiment_id);
	Assert(VARSIZE_ANY_EXHDR(goal) < GOAL_BYTES);
	memcpy(key.goal, VARDATA_ANY(goal), VARSIZE_ANY_EXHDR(goal));
	for (int i = 0; i < n; i++)
	{
		key.variant_id = seen[i];
		add_delta(deltas, &key, &event);
	}
}

/*
 * Orders deltas by kind, experiment, bucket or goal, variant (the nil id,
 * the experiment's, first).
 */
static int
delta_cmp(const void *a, const void *b)
{
	const DeltaKey *ka = &(*(Delta *const *) a)->key;
	const DeltaKey *kb = &(*(Delta *const *) b)->key;
	int			c;

	if (ka->kind != kb->kind)
		return ka->kind < kb->kind ? -1 : 1;
	if ((c = memcmp(&ka->experiment_id, &kb->experiment_id, UUID_LEN)) != 0)
		return c;
	if (ka->bucket != kb->bucket)
		return ka->bucket < kb->bucket ? -1 : 1;
	if ((c = strcmp(ka->goal, kb->goal)) != 0)
		return c;
	return memcmp(&ka->variant_id, &kb->variant_id, UUID_LEN);
}

/* Whether two deltas belong to one row group: same kind, experiment, bucket and goal. */
static bool
same_group(const DeltaKey *a, const DeltaKey *b)
{
	return a->kind == b->kind && memcmp(&a->experiment_id, &b->experiment_id, UUID_LEN) == 0 &&
		a->bucket == b->bucket && strcmp(a->goal, b->goal) == 0;
}

/* A numeric 0 when NULL */
static Datum
numeric_or_zero(Numeric n)
{
	return n != NULL ? NumericGetDatum(n) : DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
}

/* A numeric[] of the field at offset of n sums */
static Datum
numeric_column(AbtGoalSums *sums, int n, size_t offset)
{
	Datum	   *values = palloc(sizeof(Datum) * (n + 1));

	for (int i = 0; i < n; i++)
		values[i] = numeric_or_zero(*(Numeric *) ((char *) &sums[i] + offset));
	return PointerGetDatum(construct_array(values, n, NUMERICOID, -1, false, TYPALIGN_INT));
}

/* An int8[] of the field at offset of n sums */
static Datum
int8_column(AbtGoalSums *sums, int n, size_t offset)
{
	Datum	   *values = palloc(sizeof(Datum) * (n + 1));

	for (int i = 0; i < n; i++)
		values[i] = Int64GetDatum(*(int64 *) ((char *) &sums[i] + offset));
	return int8_array(values, n);
}

/* Writes a goal's sums, one row per variant (sorted); the caller is connected to SPI. */
static void
write_goal(DeltaKey *group, Datum *ids, AbtGoalSums *sums, int n)
{
	Datum		args[4 + NUM_GOAL_SUMS];
	int			i = 0;

	args[i++] = UUIDPGetDatum(&group->experiment_id);
	args[i++] = Int32GetDatum(abt_slot());
	args[i++] = PointerGetDatum(cstring_to_text(group->goal));
	args[i++] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	args[i++] = int8_column(sums, n, offsetof(AbtGoalSums, converters));
	args[i++] = numeric_column(sums, n, offsetof(AbtGoalSums, value_sum));
	args[i++] = numeric_column(sums, n, offsetof(AbtGoalSums, value_sum_squares));
	args[i++] = int8_column(sums, n, offsetof(AbtGoalSums, covariate_visitors));
	args[i++] = numeric_column(sums, n, offsetof(AbtGoalSums, covariate_sum));
	args[i++] = numeric_column(sums, n, offsetof(AbtGoalSums, covariate_sum_squares));
	args[i++] = int8_column(sums, n, offsetof(AbtGoalSums, covariate_converters));
	args[i++] = numeric_column(sums, n, offsetof(AbtGoalSums, cross_sum));
	args[i++] = int8_column(sums, n, offsetof(AbtGoalSums, cross_converters));
	Assert(i == 4 + NUM_GOAL_SUMS);
	(void) abt_run(&write_goal_sums, &group->experiment_id, args, NULL);
}

/*
 * Writes the pending deltas, sorted, one statement per (experiment, bucket)
 * and per (experiment, goal).  Within a group a variant appears once per
 * own_level: summed here.
 */
static void
write_pending(Delta **pending, int n)
{
	static const pg_uuid_t nil;
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *first = palloc(sizeof(Datum) * n);
	Datum	   *second = palloc(sizeof(Datum) * n);
	AbtGoalSums *goal_sums = palloc(sizeof(AbtGoalSums) * n);
	int			i = 0;

	qsort(pending, n, sizeof(Delta *), delta_cmp);
	while (i < n)
	{
		DeltaKey   *group = &pending[i]->key;
		int64		assignments = 0;
		int64		conversions = 0;
		int			nvariants = 0;

		for (; i < n && same_group(&pending[i]->key, group); i++)
		{
			Delta	   *d = pending[i];

			if (d->key.kind == DELTA_COUNTS && memcmp(&d->key.variant_id, &nil, UUID_LEN) == 0)
			{
				assignments += d->allocations;
				conversions += d->conversions;
				continue;
			}
			if (nvariants == 0 ||
				memcmp(DatumGetUUIDP(ids[nvariants - 1]), &d->key.variant_id, UUID_LEN) != 0)
			{
				ids[nvariants] = UUIDPGetDatum(&d->key.variant_id);
				first[nvariants] = Int64GetDatum(0);
				second[nvariants] = Int64GetDatum(0);
				memset(&goal_sums[nvariants], 0, sizeof(AbtGoalSums));
				nvariants++;
			}
			first[nvariants - 1] = Int64GetDatum(DatumGetInt64(first[nvariants - 1]) +
												 d->allocations);
			second[nvariants - 1] = Int64GetDatum(DatumGetInt64(second[nvariants - 1]) +
												  d->conversions);
			abt_goal_sums_add(&goal_sums[nvariants - 1], &d->goal);
		}
		if (group->kind == DELTA_COUNTS)
			abt_deltas_write(&group->experiment_id, group->bucket, ids, first, second, nvariants,
							 assignments, conversions);
		else
			write_goal(group, ids, goal_sums, nvariants);
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
		if (d->key.write_level == 0)
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
		add_delta(after, &key, d);
	}
	hash_destroy(table);
	deltas = after;
	pfree(pending);
}

/* Whether plan reads or writes a counter, rollup or goal sums table. */
static bool
touches_counters(PlannedStmt *plan)
{
	Oid			counters = abt_relation(ABT_REL_VARIANT_COUNTERS);
	Oid			experiment_rollups = abt_relation(ABT_REL_EXPERIMENT_TIMELINE);
	Oid			variant_rollups = abt_relation(ABT_REL_VARIANT_TIMELINE);
	Oid			goal_sums = abt_relation(ABT_REL_GOAL_COUNTERS);
	ListCell   *lc;

	foreach(lc, plan->relationOids)
	{
		Oid			relid = lfirst_oid(lc);

		if (relid == counters || relid == experiment_rollups || relid == variant_rollups ||
			(relid == goal_sums && OidIsValid(goal_sums)))
			return true;
	}
	return false;
}

/* Whether deltas are pending and may be written now. */
static bool
flush_due(void)
{
	return npending > 0 && !abt_run_in_progress() && !flushing && IsTransactionState() &&
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
	first_counted_valid = false;
	inline_counted = NULL;
	npending = 0;
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
		add_delta(after, &key, d);
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
