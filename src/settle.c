/*
 * settle.c
 *		The fold: adds an experiment's slot rows (the live, striped counters
 *		and rollups each backend writes, slots 1 and up) into its slot 0 rows,
 *		deletes them, and copies the live totals into element_variants.
 *
 * A fold of one experiment runs in the caller's transaction:
 *  1. without `wait` (the settler, abt_settle), first the locks on the
 *     tables it writes and, on Citus, those Citus takes before it updates
 *     element_variants (lock_fold_tables_nowait): it skips the experiment
 *     when one is held, and so never waits for them later with rows or
 *     locks held that a visitor or a client may wait for;
 *     then the experiment's shared lock and its fold lock
 *     (experiment_lock.c): a deletion or status change of the experiment
 *     and another fold of it are never in progress at the same time;
 *     without `wait` it takes neither and skips the experiment when one is
 *     held;
 *  2. the slot rows of variant_counters, and the rollup rows of closed
 *     15-minute buckets (before the current one), are locked FOR UPDATE SKIP
 *     LOCKED, deleted, and their sums added into slot 0 rows (an upsert per
 *     variant, bucket); a row a visitor's transaction holds is skipped and
 *     folded next time, so the fold never waits for a visitor;
 *     The per-goal sums of abt_metric_stats (goal_counters) are folded the
 *     same way;
 *  3. element_variants.total_allocations, total_conversions and
 *     conversion_rate of every variant whose totals changed are set to the
 *     sum of all its counter rows, once; a variant row someone else holds
 *     (an edit in progress) is skipped and counted in variants_skipped.
 * Readers see the slot rows before the fold's commit and slot 0 after it,
 * never both nor neither: live = settled + unsettled stays exact at every
 * instant.  Visitors add to their slot's rows with UPDATEs and create
 * missing rows with an upsert (assign.c), so a row deleted under them is
 * recreated with the right count.
 *
 * Waits (without `wait`): only for slot 0 rows and element_variants rows,
 * which visitors never lock and clients lock only under the locks of step
 * 1, so a fold cannot be part of a deadlock with visitors
 * (test/specs/settle-visitors.spec) nor with configuration changes and
 * TRUNCATE (test/specs/settle-truncate.spec; on Citus:
 * test/client/citus_settler_race.sh).  Every query names its
 * experiment: Citus can route it to the experiment's shard.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "citus.h"
#include "experiment_lock.h"
#include "relations.h"
#include "rules.h"
#include "settle.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(abt_settle_counters_1_1);
PG_FUNCTION_INFO_V1(abt_settle);

static SPIPlanPtr fold_counters_plan = NULL;
static SPIPlanPtr fold_experiment_rollups_plan = NULL;
static SPIPlanPtr fold_variant_rollups_plan = NULL;
static SPIPlanPtr fold_goal_counters_plan = NULL;
static SPIPlanPtr settle_variants_plan = NULL;
static SPIPlanPtr changed_plan = NULL;
static SPIPlanPtr all_plan = NULL;

/* $1 experiment: folds its slot counter rows into slot 0; returns rows folded. */
static const char *fold_counters_sql =
"WITH locked AS MATERIALIZED ("
"  SELECT l.slot, l.variant_id FROM abtest.variant_counters l"
"   WHERE l.experiment_id OPERATOR(pg_catalog.=) $1 AND l.slot OPERATOR(pg_catalog.<>) 0"
"     FOR UPDATE SKIP LOCKED),"
" taken AS ("
"  DELETE FROM abtest.variant_counters c USING locked"
"   WHERE c.experiment_id OPERATOR(pg_catalog.=) $1 AND c.slot OPERATOR(pg_catalog.=) locked.slot"
"     AND c.variant_id OPERATOR(pg_catalog.=) locked.variant_id"
"  RETURNING c.variant_id, c.allocations, c.conversions),"
" sums AS ("
"  SELECT taken.variant_id, pg_catalog.sum(taken.allocations)::pg_catalog.int8 AS allocations,"
"         pg_catalog.sum(taken.conversions)::pg_catalog.int8 AS conversions,"
"         pg_catalog.count(*) AS nrows"
"    FROM taken GROUP BY taken.variant_id),"
" settled AS ("
"  INSERT INTO abtest.variant_counters AS s (experiment_id, variant_id, slot, allocations, conversions)"
"  SELECT $1, sums.variant_id, 0, sums.allocations, sums.conversions FROM sums"
"   ORDER BY sums.variant_id"
"  ON CONFLICT ON CONSTRAINT variant_counters_pkey"
"  DO UPDATE SET allocations = s.allocations OPERATOR(pg_catalog.+) excluded.allocations,"
"                conversions = s.conversions OPERATOR(pg_catalog.+) excluded.conversions)"
"SELECT COALESCE(pg_catalog.sum(sums.nrows), 0)::pg_catalog.int8 FROM sums";

/*
 * $1 experiment, $2 current rollup bucket: folds closed buckets' slot rows,
 * and unpacks their per-variant assignments (packed_rollup.c) into
 * variant_timeline's settled rows.
 */
static const char *fold_experiment_rollups_sql =
"WITH locked AS MATERIALIZED ("
"  SELECT l.bucket, l.slot FROM abtest.experiment_timeline l"
"   WHERE l.experiment_id OPERATOR(pg_catalog.=) $1 AND l.slot OPERATOR(pg_catalog.<>) 0"
"     AND l.bucket OPERATOR(pg_catalog.<) $2"
"     FOR UPDATE SKIP LOCKED),"
" taken AS ("
"  DELETE FROM abtest.experiment_timeline t USING locked"
"   WHERE t.experiment_id OPERATOR(pg_catalog.=) $1 AND t.bucket OPERATOR(pg_catalog.=) locked.bucket"
"     AND t.slot OPERATOR(pg_catalog.=) locked.slot"
"  RETURNING t.bucket, t.assignments, t.conversions, t.variant_ids, t.variant_assignments),"
" unpacked AS ("
"  INSERT INTO abtest.variant_timeline AS s (experiment_id, variant_id, bucket, slot, assignments)"
"  SELECT $1, p.variant_id, taken.bucket, 0, pg_catalog.sum(p.assignments)::pg_catalog.int8"
"    FROM taken, ROWS FROM (pg_catalog.unnest(taken.variant_ids),"
"                           pg_catalog.unnest(taken.variant_assignments)) AS p(variant_id, assignments)"
"   GROUP BY taken.bucket, p.variant_id ORDER BY taken.bucket, p.variant_id"
"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey"
"  DO UPDATE SET assignments = s.assignments OPERATOR(pg_catalog.+) excluded.assignments),"
" sums AS ("
"  SELECT taken.bucket, pg_catalog.sum(taken.assignments)::pg_catalog.int8 AS assignments,"
"         pg_catalog.sum(taken.conversions)::pg_catalog.int8 AS conversions,"
"         pg_catalog.count(*) AS nrows"
"    FROM taken GROUP BY taken.bucket),"
" settled AS ("
"  INSERT INTO abtest.experiment_timeline AS s (experiment_id, bucket, slot, assignments, conversions)"
"  SELECT $1, sums.bucket, 0, sums.assignments, sums.conversions FROM sums"
"   ORDER BY sums.bucket"
"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey"
"  DO UPDATE SET assignments = s.assignments OPERATOR(pg_catalog.+) excluded.assignments,"
"                conversions = s.conversions OPERATOR(pg_catalog.+) excluded.conversions)"
"SELECT COALESCE(pg_catalog.sum(sums.nrows), 0)::pg_catalog.int8 FROM sums";

/* The same for the per-variant rollups. */
static const char *fold_variant_rollups_sql =
"WITH locked AS MATERIALIZED ("
"  SELECT l.bucket, l.slot, l.variant_id FROM abtest.variant_timeline l"
"   WHERE l.experiment_id OPERATOR(pg_catalog.=) $1 AND l.slot OPERATOR(pg_catalog.<>) 0"
"     AND l.bucket OPERATOR(pg_catalog.<) $2"
"     FOR UPDATE SKIP LOCKED),"
" taken AS ("
"  DELETE FROM abtest.variant_timeline t USING locked"
"   WHERE t.experiment_id OPERATOR(pg_catalog.=) $1 AND t.bucket OPERATOR(pg_catalog.=) locked.bucket"
"     AND t.slot OPERATOR(pg_catalog.=) locked.slot"
"     AND t.variant_id OPERATOR(pg_catalog.=) locked.variant_id"
"  RETURNING t.bucket, t.variant_id, t.assignments, t.conversions),"
" sums AS ("
"  SELECT taken.bucket, taken.variant_id,"
"         pg_catalog.sum(taken.assignments)::pg_catalog.int8 AS assignments,"
"         pg_catalog.sum(taken.conversions)::pg_catalog.int8 AS conversions,"
"         pg_catalog.count(*) AS nrows"
"    FROM taken GROUP BY taken.bucket, taken.variant_id),"
" settled AS ("
"  INSERT INTO abtest.variant_timeline AS s (experiment_id, variant_id, bucket, slot, assignments, conversions)"
"  SELECT $1, sums.variant_id, sums.bucket, 0, sums.assignments, sums.conversions FROM sums"
"   ORDER BY sums.bucket, sums.variant_id"
"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey"
"  DO UPDATE SET assignments = s.assignments OPERATOR(pg_catalog.+) excluded.assignments,"
"                conversions = s.conversions OPERATOR(pg_catalog.+) excluded.conversions)"
"SELECT COALESCE(pg_catalog.sum(sums.nrows), 0)::pg_catalog.int8 FROM sums";

/*
 * $1 experiment: folds its slot rows of the per-goal sums (abt_metric_stats)
 * into slot 0, as fold_counters_sql does for the variant counters.
 */
static const char *fold_goal_counters_sql =
"WITH locked AS MATERIALIZED ("
"  SELECT l.slot, l.variant_id, l.goal FROM abtest.goal_counters l"
"   WHERE l.experiment_id OPERATOR(pg_catalog.=) $1 AND l.slot OPERATOR(pg_catalog.<>) 0"
"     FOR UPDATE SKIP LOCKED),"
" taken AS ("
"  DELETE FROM abtest.goal_counters g USING locked"
"   WHERE g.experiment_id OPERATOR(pg_catalog.=) $1 AND g.slot OPERATOR(pg_catalog.=) locked.slot"
"     AND g.variant_id OPERATOR(pg_catalog.=) locked.variant_id"
"     AND g.goal OPERATOR(pg_catalog.=) locked.goal"
"  RETURNING g.variant_id, g.goal, g.converters, g.value_sum, g.value_sum_squares,"
"            g.covariate_visitors, g.covariate_sum, g.covariate_sum_squares,"
"            g.covariate_converters, g.cross_sum, g.cross_converters),"
" sums AS ("
"  SELECT taken.variant_id, taken.goal,"
"         pg_catalog.sum(taken.converters)::pg_catalog.int8 AS converters,"
"         pg_catalog.sum(taken.value_sum) AS value_sum,"
"         pg_catalog.sum(taken.value_sum_squares) AS value_sum_squares,"
"         pg_catalog.sum(taken.covariate_visitors)::pg_catalog.int8 AS covariate_visitors,"
"         pg_catalog.sum(taken.covariate_sum) AS covariate_sum,"
"         pg_catalog.sum(taken.covariate_sum_squares) AS covariate_sum_squares,"
"         pg_catalog.sum(taken.covariate_converters)::pg_catalog.int8 AS covariate_converters,"
"         pg_catalog.sum(taken.cross_sum) AS cross_sum,"
"         pg_catalog.sum(taken.cross_converters)::pg_catalog.int8 AS cross_converters,"
"         pg_catalog.count(*) AS nrows"
"    FROM taken GROUP BY taken.variant_id, taken.goal),"
" settled AS ("
"  INSERT INTO abtest.goal_counters AS s"
"         (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares,"
"          covariate_visitors, covariate_sum, covariate_sum_squares, covariate_converters,"
"          cross_sum, cross_converters)"
"  SELECT $1, 0, sums.variant_id, sums.goal, sums.converters, sums.value_sum, sums.value_sum_squares,"
"         sums.covariate_visitors, sums.covariate_sum, sums.covariate_sum_squares,"
"         sums.covariate_converters, sums.cross_sum, sums.cross_converters"
"    FROM sums ORDER BY sums.variant_id, sums.goal"
"  ON CONFLICT ON CONSTRAINT goal_counters_pkey"
"  DO UPDATE SET converters = s.converters OPERATOR(pg_catalog.+) excluded.converters,"
"                value_sum = s.value_sum OPERATOR(pg_catalog.+) excluded.value_sum,"
"                value_sum_squares = s.value_sum_squares OPERATOR(pg_catalog.+) excluded.value_sum_squares,"
"                covariate_visitors = s.covariate_visitors OPERATOR(pg_catalog.+) excluded.covariate_visitors,"
"                covariate_sum = s.covariate_sum OPERATOR(pg_catalog.+) excluded.covariate_sum,"
"                covariate_sum_squares = s.covariate_sum_squares OPERATOR(pg_catalog.+) excluded.covariate_sum_squares,"
"                covariate_converters = s.covariate_converters OPERATOR(pg_catalog.+) excluded.covariate_converters,"
"                cross_sum = s.cross_sum OPERATOR(pg_catalog.+) excluded.cross_sum,"
"                cross_converters = s.cross_converters OPERATOR(pg_catalog.+) excluded.cross_converters)"
"SELECT COALESCE(pg_catalog.sum(sums.nrows), 0)::pg_catalog.int8 FROM sums";

/*
 * $1 experiment: sets element_variants' totals of the variants whose totals
 * differ from the sum of their counter rows; returns the rows updated and
 * the rows that differed.
 */
static const char *settle_variants_sql =
"WITH live AS ("
"  SELECT c.variant_id, pg_catalog.sum(c.allocations)::pg_catalog.int8 AS allocations,"
"         pg_catalog.sum(c.conversions)::pg_catalog.int8 AS conversions"
"    FROM abtest.variant_counters c"
"   WHERE c.experiment_id OPERATOR(pg_catalog.=) $1"
"   GROUP BY c.variant_id),"
" stale AS MATERIALIZED ("
"  SELECT v.id, live.allocations, live.conversions"
"    FROM abtest.element_variants v JOIN live ON v.id OPERATOR(pg_catalog.=) live.variant_id"
"   WHERE v.total_allocations OPERATOR(pg_catalog.<>) live.allocations"
"      OR v.total_conversions OPERATOR(pg_catalog.<>) live.conversions),"
" locked AS MATERIALIZED ("
"  SELECT v.id FROM abtest.element_variants v"
"   WHERE v.id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT stale.id FROM stale))"
"   ORDER BY v.id"
"     FOR NO KEY UPDATE SKIP LOCKED),"
" updated AS ("
"  UPDATE abtest.element_variants v"
"     SET total_allocations = stale.allocations, total_conversions = stale.conversions,"
"         conversion_rate = CASE WHEN stale.allocations OPERATOR(pg_catalog.>) 0"
"                                THEN stale.conversions::pg_catalog.float8"
"                                     OPERATOR(pg_catalog./) stale.allocations::pg_catalog.float8"
"                                ELSE 0 END"
"    FROM stale JOIN locked ON locked.id OPERATOR(pg_catalog.=) stale.id"
"   WHERE v.id OPERATOR(pg_catalog.=) stale.id"
"  RETURNING 1)"
"SELECT (SELECT pg_catalog.count(*) FROM updated) AS updated,"
"       (SELECT pg_catalog.count(*) FROM stale) AS stale";

/*
 * $1 current rollup bucket, $2 experiments to retry (uuid[], may be NULL):
 * the experiments with slot rows to fold, in uuid order.  Slot rows are few
 * (the settler deletes them): the partial indexes WHERE slot <> 0 find them.
 */
static const char *changed_sql =
"SELECT c.experiment_id FROM abtest.variant_counters c WHERE c.slot OPERATOR(pg_catalog.<>) 0"
" UNION "
"SELECT t.experiment_id FROM abtest.experiment_timeline t"
" WHERE t.slot OPERATOR(pg_catalog.<>) 0 AND t.bucket OPERATOR(pg_catalog.<) $1"
" UNION "
"SELECT t.experiment_id FROM abtest.variant_timeline t"
" WHERE t.slot OPERATOR(pg_catalog.<>) 0 AND t.bucket OPERATOR(pg_catalog.<) $1"
" UNION "
"SELECT g.experiment_id FROM abtest.goal_counters g WHERE g.slot OPERATOR(pg_catalog.<>) 0"
" UNION "
"SELECT r.id FROM pg_catalog.unnest($2) AS r(id)"
" ORDER BY 1";

/* Every experiment with counter rows (abt_settle_counters() without an experiment). */
static const char *all_sql =
"SELECT c.experiment_id FROM abtest.variant_counters c"
" UNION "
"SELECT t.experiment_id FROM abtest.experiment_timeline t"
"  WHERE t.slot OPERATOR(pg_catalog.<>) 0"
" UNION "
"SELECT g.experiment_id FROM abtest.goal_counters g"
"  WHERE g.slot OPERATOR(pg_catalog.<>) 0"
" ORDER BY 1";

/* Result columns of settle_variants_sql (SPI numbers from 1). */
enum
{
	SETTLE_COL_UPDATED = 1,
	SETTLE_COL_STALE,
	SETTLE_NCOLS = SETTLE_COL_STALE
};

/*
 * The tables a fold writes: first the counter and rollup tables (the
 * listing reads those), then element_variants.
 */
static const AbtRelation fold_tables[] = {
	ABT_REL_VARIANT_COUNTERS,
	ABT_REL_EXPERIMENT_TIMELINE,
	ABT_REL_VARIANT_TIMELINE,
	ABT_REL_GOAL_COUNTERS,
	ABT_REL_ELEMENT_VARIANTS
};
#define FOLD_TABLES ((int) lengthof(fold_tables))
#define LISTED_TABLES (FOLD_TABLES - 1)

/*
 * Takes now, without waiting, `mode` on the first n tables of fold_tables;
 * returns false, holding none of them, when one is held in a conflicting
 * mode (a TRUNCATE, a schema change).
 */
static bool
lock_tables_nowait(int n, LOCKMODE mode)
{
	int			taken = 0;

	while (taken < n && ConditionalLockRelationOid(abt_relation_required(fold_tables[taken]), mode))
		taken++;
	if (taken == n)
		return true;
	while (taken-- > 0)
		UnlockRelationOid(abt_relation_required(fold_tables[taken]), mode);
	return false;
}

/*
 * Takes now, without waiting, the table locks a fold takes (RowExclusiveLock
 * on each table it writes) and, on Citus, the locks Citus takes before it
 * updates element_variants (citus.c), before any lock someone could wait
 * for: from then on the fold waits only for rows no client holds.  Returns
 * false, holding none of them, when one is held (a TRUNCATE, a
 * configuration change in progress through the coordinator).  Without it a
 * fold that waited for them while holding slot rows, the experiment's lock
 * or another table's lock closed cycles with the transactions holding them
 * (test/specs/settle-truncate.spec, test/client/citus_settler_race.sh).
 */
static bool
lock_fold_tables_nowait(void)
{
	if (!lock_tables_nowait(FOLD_TABLES, RowExclusiveLock))
		return false;
	if (abt_citus_lock_reference_update(abt_relation_required(ABT_REL_ELEMENT_VARIANTS)))
		return true;
	for (int i = 0; i < FOLD_TABLES; i++)
		UnlockRelationOid(abt_relation_required(fold_tables[i]), RowExclusiveLock);
	return false;
}

/* Runs a fold statement of one experiment; returns its one int8 result. */
static int64
run_fold(SPIPlanPtr plan, int nargs, Datum *args, const char *what)
{
	bool		isnull;
	int64		n;
	int			rc;

	rc = SPI_execute_plan(plan, args, NULL, false, 0);
	abt_check_spi(rc, SPI_OK_SELECT, what);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return n;
}

/*
 * Folds one experiment in the caller's transaction (connected to SPI), and
 * adds what it did to *counts.  Returns false, having done nothing, when
 * !wait and the experiment's lock or fold lock is held by another.
 */
bool
abt_settle_experiment(pg_uuid_t *experiment_id, bool wait, AbtSettleCounts *counts)
{
	Oid			argtypes[2] = {UUIDOID, TIMESTAMPTZOID};
	Datum		args[2];
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	int			rc;
	int64		stale;
	int64		updated;
	int			guc_level;

	abt_citus_one_shard_at_a_time();

	/* the settings lock_fold_tables_nowait() changes, put back at the end */
	guc_level = NewGUCNestLevel();
	if (!(wait || lock_fold_tables_nowait()) || !abt_lock_experiment_fold(experiment_id, wait))
	{
		AtEOXact_GUC(true, guc_level);
		counts->experiments_busy++;
		return false;
	}
	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = TimestampTzGetDatum(abt_rollup_bucket(GetCurrentTransactionStartTimestamp()));
	counts->rows_folded += run_fold(abt_plan(&fold_counters_plan, fold_counters_sql, 1, argtypes),
									1, args, "folding counters");
	counts->rows_folded += run_fold(abt_plan(&fold_experiment_rollups_plan,
											 fold_experiment_rollups_sql, 2, argtypes),
									2, args, "folding experiment rollups");
	counts->rows_folded += run_fold(abt_plan(&fold_variant_rollups_plan,
											 fold_variant_rollups_sql, 2, argtypes),
									2, args, "folding variant rollups");
	counts->rows_folded += run_fold(abt_plan(&fold_goal_counters_plan,
											 fold_goal_counters_sql, 1, argtypes),
									1, args, "folding goal sums");

	/* a new command: it sees the folded rows */
	CommandCounterIncrement();
	rc = SPI_execute_plan(abt_plan(&settle_variants_plan, settle_variants_sql, 1, argtypes),
						  args, NULL, false, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "settling element_variants");
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	Assert(desc->natts == SETTLE_NCOLS);
	updated = DatumGetInt64(SPI_getbinval(tuple, desc, SETTLE_COL_UPDATED, &isnull));
	stale = DatumGetInt64(SPI_getbinval(tuple, desc, SETTLE_COL_STALE, &isnull));
	SPI_freetuptable(SPI_tuptable);
	counts->variants_updated += updated;
	counts->variants_skipped += stale - updated;
	counts->experiments++;
	AtEOXact_GUC(true, guc_level);
	return updated == stale;
}

/*
 * The experiments with slot rows to fold (all: every experiment with
 * counter rows) and those of the uuid[] `retry` (or (Datum) 0), in uuid
 * order; palloc'd, *n long.  Without `wait`, NULL (*n 0) when one of the
 * tables it reads is locked by a TRUNCATE or a schema change: the read does
 * not wait for it.  The caller is connected to SPI.
 */
pg_uuid_t *
abt_settle_list(bool all, bool wait, Datum retry, int *n)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, UUIDARRAYOID};
	Datum		args[2];
	char		nulls[2] = {' ', retry == (Datum) 0 ? 'n' : ' '};
	pg_uuid_t  *ids;
	int			rc;

	*n = 0;
	if (!wait && !lock_tables_nowait(LISTED_TABLES, AccessShareLock))
		return NULL;
	abt_citus_one_shard_at_a_time();

	args[0] = TimestampTzGetDatum(abt_rollup_bucket(GetCurrentTransactionStartTimestamp()));
	args[1] = retry;
	if (all)
		rc = SPI_execute_plan(abt_plan(&all_plan, all_sql, 0, NULL), NULL, NULL, true, 0);
	else
		rc = SPI_execute_plan(abt_plan(&changed_plan, changed_sql, 2, argtypes),
							  args, nulls, true, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "listing experiments to fold");
	*n = (int) SPI_processed;
	ids = palloc(sizeof(pg_uuid_t) * (*n + 1));
	for (int i = 0; i < *n; i++)
	{
		bool		isnull;

		memcpy(&ids[i], DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull)),
			   UUID_LEN);
	}
	SPI_freetuptable(SPI_tuptable);
	return ids;
}

/*
 * Folds, in the caller's transaction, the experiments abt_settle_list
 * names.  *stale (palloc'd, *nstale long) receives the experiments skipped
 * or left with stale element_variants rows, to retry.  (The settler folds
 * each experiment in a transaction of its own instead.)
 */
void
abt_settle_changed(bool wait, bool all, Datum retry, AbtSettleCounts *counts,
				   pg_uuid_t **stale, int *nstale)
{
	int			n;
	pg_uuid_t  *ids = abt_settle_list(all, wait, retry, &n);

	*stale = palloc(sizeof(pg_uuid_t) * (n + 1));
	*nstale = 0;
	for (int i = 0; i < n; i++)
		if (!abt_settle_experiment(&ids[i], wait, counts))
			(*stale)[(*nstale)++] = ids[i];
}

/*
 * SQL (1.1): abt_settle_counters(experiment_id uuid DEFAULT NULL) returns
 * bigint: folds the experiment (or every experiment with counters), waiting
 * for a fold or status change in progress; returns the element_variants
 * rows whose totals changed, as 1.0's did.
 */
Datum
abt_settle_counters_1_1(PG_FUNCTION_ARGS)
{
	AbtSettleCounts counts = {0};

	SPI_connect();
	if (PG_ARGISNULL(0))
	{
		pg_uuid_t  *stale;
		int			nstale;

		abt_settle_changed(true, true, (Datum) 0, &counts, &stale, &nstale);
	}
	else
		(void) abt_settle_experiment(PG_GETARG_UUID_P(0), true, &counts);
	SPI_finish();
	PG_RETURN_INT64(counts.variants_updated);
}

/* Result columns of abt_settle. */
enum
{
	SETTLE_OUT_EXPERIMENTS,
	SETTLE_OUT_ROWS_FOLDED,
	SETTLE_OUT_VARIANTS_UPDATED,
	SETTLE_OUT_VARIANTS_SKIPPED,
	SETTLE_OUT_EXPERIMENTS_SKIPPED,
	SETTLE_OUT_NCOLS
};

/*
 * SQL (1.1): abt_settle(experiment_id uuid DEFAULT NULL) returns one row
 * (experiments, rows_folded, variants_updated, variants_skipped,
 * experiments_skipped): one round of the settler, now, in the caller's
 * transaction: it waits for nobody (an experiment being folded, deleted or
 * changing status is skipped).
 */
Datum
abt_settle(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AbtSettleCounts counts = {0};
	Datum		values[SETTLE_OUT_NCOLS];
	bool		nulls[SETTLE_OUT_NCOLS] = {false};

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	if (PG_ARGISNULL(0))
	{
		pg_uuid_t  *stale;
		int			nstale;

		abt_settle_changed(false, false, (Datum) 0, &counts, &stale, &nstale);
	}
	else
		(void) abt_settle_experiment(PG_GETARG_UUID_P(0), false, &counts);
	SPI_finish();
	values[SETTLE_OUT_EXPERIMENTS] = Int64GetDatum(counts.experiments);
	values[SETTLE_OUT_ROWS_FOLDED] = Int64GetDatum(counts.rows_folded);
	values[SETTLE_OUT_VARIANTS_UPDATED] = Int64GetDatum(counts.variants_updated);
	values[SETTLE_OUT_VARIANTS_SKIPPED] = Int64GetDatum(counts.variants_skipped);
	values[SETTLE_OUT_EXPERIMENTS_SKIPPED] = Int64GetDatum(counts.experiments_busy);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
