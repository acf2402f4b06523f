/*
 * assign.c
 *		abt_assign and its batch (one visitor, many experiments) and bulk (one
 *		experiment, many visitors) forms: sticky, deterministic assignment of a
 *		visitor to one variant per element.
 *
 * A returning visitor costs one index lookup (experiment row joined with the
 * visitor's assignment) and the cached configuration.  A new visitor costs
 * one more statement that inserts the assignment and, only if this call won
 * the insert, adds one to the counters and timeline rollups in the rows of
 * this backend's slot.  Slots are backend ids (abt_slot(): made unique
 * across the nodes of a cluster), unique among live backends, so
 * concurrent visitors never wait on each other's counter rows and cannot
 * deadlock; concurrent first calls for one visitor meet on the primary key,
 * and the loser returns the winner's assignment.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "analytics.h"
#include "answer.h"
#include "checks.h"
#include "citus.h"
#include "config_cache.h"
#include "deltas.h"
#include "experiment_config.h"
#include "experiment_lock.h"
#include "growthbook.h"
#include "lookup.h"
#include "owner.h"
#include "rules.h"
#include "statement.h"
#include "track.h"

PG_FUNCTION_INFO_V1(abt_assign);
PG_FUNCTION_INFO_V1(abt_assign_batch);
PG_FUNCTION_INFO_V1(abt_assign_bulk);
PG_FUNCTION_INFO_V1(abt_assign_1_1);
PG_FUNCTION_INFO_V1(abt_assign_batch_1_1);
PG_FUNCTION_INFO_V1(abt_assign_bulk_1_1);

/* Allocations of one bulk call, summed per variant, added once at the end. */
typedef struct BulkVariant
{
	pg_uuid_t	variant_id;		/* hash key */
	int64		allocations;
} BulkVariant;

typedef struct BulkCounts
{
	HTAB	   *variants;		/* BulkVariant by variant id */
	int64		assignments;
} BulkCounts;

/*
 * $1 experiment, $2 visitor, $3 variant map, $4 assigned_at, $5 slot,
 * $6 chosen variant ids (sorted), $7 rollup bucket of $4: the parameters of
 * insert and of the statements that stand in for it (insert_only takes the
 * first four).
 */
static Oid	insert_types[7] = {UUIDOID, TEXTOID, JSONBOID, TIMESTAMPTZOID, INT4OID,
UUIDARRAYOID, TIMESTAMPTZOID};

/*
 * count, the last of insert's routed steps (below): plain UPDATEs of the
 * slot's rows, each reporting what it found, so that fill creates the rows
 * that were missing (an upsert fed from an INSERT is not routed in one step).
 */
#define COUNT_CTES \
" counters AS (" \
"  UPDATE abtest.variant_counters c SET allocations = c.allocations OPERATOR(pg_catalog.+) 1" \
"   WHERE c.experiment_id OPERATOR(pg_catalog.=) $1 AND c.slot OPERATOR(pg_catalog.=) $5" \
"     AND c.variant_id OPERATOR(pg_catalog.=) ANY ($6)" \
"  RETURNING c.variant_id)," \
" experiment_rollup AS (" \
"  UPDATE abtest.experiment_timeline t SET assignments = t.assignments OPERATOR(pg_catalog.+) 1" \
"   WHERE t.experiment_id OPERATOR(pg_catalog.=) $1 AND t.bucket OPERATOR(pg_catalog.=) $7" \
"     AND t.slot OPERATOR(pg_catalog.=) $5" \
"  RETURNING 1)," \
" variant_rollup AS (" \
"  UPDATE abtest.variant_timeline t SET assignments = t.assignments OPERATOR(pg_catalog.+) 1" \
"   WHERE t.experiment_id OPERATOR(pg_catalog.=) $1 AND t.variant_id OPERATOR(pg_catalog.=) ANY ($6)" \
"     AND t.bucket OPERATOR(pg_catalog.=) $7 AND t.slot OPERATOR(pg_catalog.=) $5" \
"  RETURNING t.variant_id)"

#define COUNT_RESULT \
"SELECT 1::pg_catalog.int8 AS inserted," \
"       (SELECT pg_catalog.array_agg(variant_id) FROM counters) AS counters_found," \
"       (SELECT pg_catalog.count(*) FROM experiment_rollup) AS experiment_rollup_found," \
"       (SELECT pg_catalog.array_agg(variant_id) FROM variant_rollup) AS variant_rollups_found"

/*
 * Where the tables are distributed and insert or insert_only must be routed
 * to the experiment's shard (statement.h), its SQL would not get there in
 * one step: only a SELECT, UPDATE or DELETE inside a WITH is routed, and an
 * INSERT ... SELECT only between distributed tables.  These statements,
 * each routed, do the same in this order: the status re-check, the INSERT,
 * and, when it inserted, count (insert_only: the first two).
 */
static AbtStatement active = {
	.what = "checking the experiment's status",
	.sql = "SELECT FROM abtest.experiments e"
	" WHERE e.id OPERATOR(pg_catalog.=) $1 AND e.status OPERATOR(pg_catalog.=) 'active'",
	.nargs = 1, .argtypes = insert_types, .result = SPI_OK_SELECT
};

static AbtStatement insert_values = {
	.what = "storing an assignment",
	.sql = "INSERT INTO abtest.assignments (experiment_id, user_id, variants, assigned_at)"
	" VALUES ($1, $2, $3, $4)"
	" ON CONFLICT ON CONSTRAINT idx_assignments_lookup DO NOTHING",
	.nargs = 4, .argtypes = insert_types, .result = SPI_OK_INSERT
};

static AbtStatement count = {
	.what = "storing an assignment",
	.sql = "WITH" COUNT_CTES COUNT_RESULT,
	.nargs = 7, .argtypes = insert_types, .result = SPI_OK_SELECT
};

static AbtStatement *const insert_routed[] = {&active, &insert_values, &count, NULL};
static AbtStatement *const insert_only_routed[] = {&active, &insert_values, NULL};

/*
 * insert: inserts the assignment and, only if this call inserted it (each
 * count's rows come from the INSERT's RETURNING), adds one to the slot's
 * counter and rollup rows by upserts: a row that is missing (a new slot, a
 * new 15-minute bucket, or the settler folded the slot's rows,
 * src/settle.c) is created, one that exists gets one more.  Returns a
 * row (of no column) when it inserted the assignment.  The variant ids are
 * sorted, so the counter rows are locked in one order whoever writes them.
 *
 * Upserts fed from the INSERT, rather than plain UPDATEs whose misses a
 * second statement fills: the UPDATEs needed a guard on the INSERT each and
 * a result reporting what they found, and that statement cost a new
 * visitor about a fifth more (bench/floors.sh, issue 22).  The set-returning
 * unnest sits in the select list (a ProjectSet node), not in FROM (a
 * function scan that first copies its rows into a tuplestore).
 *
 * 1.1 writes the per-variant rollup into the slot's experiment_timeline
 * row (packed_rollup.c): E + 2 rows for E elements instead of 2E + 2.
 */
#define INSERT_ASSIGNMENT \
"WITH ins AS (" \
"  INSERT INTO abtest.assignments AS a (experiment_id, user_id, variants, assigned_at)" \
"  SELECT $1, $2, $3, $4 WHERE EXISTS (" \
"    SELECT FROM abtest.experiments e" \
"     WHERE e.id OPERATOR(pg_catalog.=) $1 AND e.status OPERATOR(pg_catalog.=) 'active')" \
"  ON CONFLICT ON CONSTRAINT idx_assignments_lookup DO NOTHING" \
"  RETURNING 1)," \
" counters AS (" \
"  INSERT INTO abtest.variant_counters AS c (experiment_id, variant_id, slot, allocations)" \
"  SELECT $1, pg_catalog.unnest($6), $5, 1 FROM ins" \
"  ON CONFLICT ON CONSTRAINT variant_counters_pkey" \
"  DO UPDATE SET allocations = c.allocations OPERATOR(pg_catalog.+) 1),"

static AbtStatement insert_1_0 = {
	.what = "storing an assignment",
	.sql =
	INSERT_ASSIGNMENT
	" variant_rollup AS ("
	"  INSERT INTO abtest.variant_timeline AS t (experiment_id, variant_id, bucket, slot, assignments)"
	"  SELECT $1, pg_catalog.unnest($6), $7, $5, 1 FROM ins"
	"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) 1),"
	" experiment_rollup AS ("
	"  INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, assignments)"
	"  SELECT $1, $7, $5, 1 FROM ins"
	"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) 1)"
	"SELECT FROM ins",
	.nargs = 7, .argtypes = insert_types, .result = SPI_OK_SELECT,
	.on_shards = true, .routed = insert_routed
};

static AbtStatement insert = {
	.what = "storing an assignment",
	.sql =
	INSERT_ASSIGNMENT
	" experiment_rollup AS ("
	"  INSERT INTO abtest.experiment_timeline AS t"
	"         (experiment_id, bucket, slot, assignments, variant_ids, variant_assignments)"
	"  SELECT $1, $7, $5, 1, $6, abtest.variant_counts_add(NULL, NULL, $6) FROM ins"
	"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) 1,"
	"                variant_ids = abtest.variant_ids_add(t.variant_ids, $6),"
	"                variant_assignments ="
	"                  abtest.variant_counts_add(t.variant_ids, t.variant_assignments, $6))"
	"SELECT FROM ins",
	.nargs = 7, .argtypes = insert_types, .result = SPI_OK_SELECT,
	.on_shards = true, .routed = insert_routed
};

/* Result columns of count, insert's routed last step (SPI numbers from 1). */
enum
{
	INSERT_COL_INSERTED = 1,
	INSERT_COL_COUNTERS_FOUND,
	INSERT_COL_EXPERIMENT_ROLLUP_FOUND,
	INSERT_COL_VARIANT_ROLLUPS_FOUND,
	COUNT_NCOLS = INSERT_COL_VARIANT_ROLLUPS_FOUND
};

/*
 * $1 experiment, $2 slot, $3 variant ids of the missing counter rows,
 * $4 rollup bucket, $5 variant ids of the missing variant rollup rows,
 * $6 whether the experiment rollup row is missing.
 *
 * Adds one to each row count did not find: it creates the row, or,
 * when the row exists after all, adds to it.  The row can exist only when
 * another transaction wrote this slot: a prepared transaction of an earlier
 * backend with the same id, or a connection another node of a cluster
 * opened for this backend; a row the settler deleted meanwhile is simply
 * created again.  So the counts are exact whoever writes a slot.
 */
static Oid	fill_types[6] = {UUIDOID, INT4OID, UUIDARRAYOID, TIMESTAMPTZOID, UUIDARRAYOID,
BOOLOID};

static AbtStatement fill = {
	.what = "creating counter rows",
	.sql =
	"WITH counters AS ("
	"  INSERT INTO abtest.variant_counters AS c (experiment_id, variant_id, slot, allocations)"
	"  SELECT $1, v.id, $2, 1 FROM pg_catalog.unnest($3) AS v(id)"
	"  ON CONFLICT ON CONSTRAINT variant_counters_pkey"
	"  DO UPDATE SET allocations = c.allocations OPERATOR(pg_catalog.+) 1),"
	" variant_rollup AS ("
	"  INSERT INTO abtest.variant_timeline AS t (experiment_id, variant_id, bucket, slot, assignments)"
	"  SELECT $1, v.id, $4, $2, 1 FROM pg_catalog.unnest($5) AS v(id)"
	"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) 1)"
	"INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, assignments)"
	"  SELECT $1, $4, $2, 1 WHERE $6"
	"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey"
	"  DO UPDATE SET assignments = t.assignments OPERATOR(pg_catalog.+) 1",
	.nargs = 6, .argtypes = fill_types, .result = SPI_OK_INSERT, .on_shards = true
};

/*
 * The bulk form inserts assignments alone and adds the counts once per call:
 * updating one counter row once per visitor in a single transaction would
 * walk an ever longer chain of the transaction's own row versions.
 */
static AbtStatement insert_only = {
	.what = "storing an assignment",
	.sql =
	"INSERT INTO abtest.assignments (experiment_id, user_id, variants, assigned_at)"
	" SELECT $1, $2, $3, $4 WHERE EXISTS ("
	"   SELECT FROM abtest.experiments e"
	"    WHERE e.id OPERATOR(pg_catalog.=) $1 AND e.status OPERATOR(pg_catalog.=) 'active')"
	" ON CONFLICT ON CONSTRAINT idx_assignments_lookup DO NOTHING",
	.nargs = 4, .argtypes = insert_types, .result = SPI_OK_INSERT,
	.on_shards = true, .routed = insert_only_routed
};

/* Orders uuids bytewise, for a fixed lock order of counter rows. */
static int
uuid_cmp_bytes(const void *a, const void *b)
{
	return memcmp(a, b, UUID_LEN);
}

/* Orders indexes into the uuid array `arg` by the uuids' bytes. */
static int
index_cmp_uuid(const void *a, const void *b, void *arg)
{
	const pg_uuid_t *uuids = (const pg_uuid_t *) arg;
	int			ia = *(const int *) a;
	int			ib = *(const int *) b;
	int			c = memcmp(&uuids[ia], &uuids[ib], UUID_LEN);

	/* ties in given order: a repeated id's first occurrence is processed first */
	return c != 0 ? c : (ia > ib) - (ia < ib);
}

/* Adds one allocation of each chosen variant to a bulk call's sums. */
static void
bulk_count(BulkCounts *bulk, pg_uuid_t *chosen, int n)
{
	for (int i = 0; i < n; i++)
	{
		bool		found;
		BulkVariant *v = hash_search(bulk->variants, &chosen[i], HASH_ENTER, &found);

		if (!found)
			v->allocations = 0;
		v->allocations++;
	}
	bulk->assignments++;
}

/* Adds a bulk call's sums to the counters and rollups of this backend's slot. */
static void
bulk_apply(pg_uuid_t *experiment_id, TimestampTz at, BulkCounts *bulk)
{
	int			nvariants = (int) hash_get_num_entries(bulk->variants);
	pg_uuid_t  *variant_ids = palloc(sizeof(pg_uuid_t) * (nvariants + 1));
	int64	   *allocations = palloc(sizeof(int64) * (nvariants + 1));
	Datum	   *ids = palloc(sizeof(Datum) * (nvariants + 1));
	Datum	   *counts = palloc(sizeof(Datum) * (nvariants + 1));
	int		   *order = palloc(sizeof(int) * (nvariants + 1));
	HASH_SEQ_STATUS seq;
	BulkVariant *v;
	int			n = 0;

	if (bulk->assignments == 0)
		return;
	hash_seq_init(&seq, bulk->variants);
	while ((v = hash_seq_search(&seq)) != NULL)
	{
		variant_ids[n] = v->variant_id;
		allocations[n] = v->allocations;
		order[n] = n;
		n++;
	}
	qsort_arg(order, nvariants, sizeof(int), index_cmp_uuid, variant_ids);
	for (int i = 0; i < nvariants; i++)
	{
		ids[i] = UUIDPGetDatum(&variant_ids[order[i]]);
		counts[i] = Int64GetDatum(allocations[order[i]]);
	}
	abt_deltas_write(experiment_id, abt_rollup_bucket(at), ids, counts, NULL, nvariants,
					 bulk->assignments, 0);
}

/*
 * The chosen variants (n, sorted) whose ids are not in the uuid[] column
 * `col` of tuple (NULL counts as empty): an array of them, or NULL when
 * every one was found.
 */
static ArrayType *
missing_variants(HeapTuple tuple, TupleDesc desc, int col, pg_uuid_t *chosen, int n)
{
	bool		isnull;
	Datum		found_datum = SPI_getbinval(tuple, desc, col, &isnull);
	Datum	   *found = NULL;
	int			nfound = 0;
	Datum	   *missing = palloc(sizeof(Datum) * (n + 1));
	int			nmissing = 0;

	if (!isnull)
		deconstruct_array(DatumGetArrayTypeP(found_datum), UUIDOID, UUID_LEN, false,
						  TYPALIGN_CHAR, &found, NULL, &nfound);
	if (nfound == n)
		return NULL;
	for (int i = 0; i < n; i++)
	{
		bool		was_found = false;

		for (int j = 0; j < nfound && !was_found; j++)
			was_found = memcmp(DatumGetUUIDP(found[j]), &chosen[i], UUID_LEN) == 0;
		if (!was_found)
			missing[nmissing++] = UUIDPGetDatum(&chosen[i]);
	}
	if (nmissing == 0)
		return NULL;
	return construct_array(missing, nmissing, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR);
}

/*
 * Buckets a new visitor into every element and inserts the assignment with
 * its counts, or, for the bulk form (bulk != NULL), adds the counts to *bulk.
 * Returns true when this call stored it (*stored_map is what it stored), false
 * when a concurrent call for the same visitor had stored one first, or the
 * experiment was deleted or stopped enrolling since the caller's lookup (the
 * insert re-checks it after taking the experiment's lock: the lock of the
 * caller's api_version, experiment_lock.c).
 */
static bool
store_assignment_rows(pg_uuid_t *experiment_id, text *user_id, TimestampTz at,
					  AbtConfig *config, Jsonb **stored_map, BulkCounts *bulk,
					  pg_uuid_t *chosen, AbtVersion api_version)
{
	JsonbParseState *state = NULL;
	JsonbValue *map;
	Datum	   *chosen_datums;
	Datum		args[7];
	bool		inserted;

	if (config->nelements == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("experiment has no elements"),
				 errhint("Add elements with variants before activating the experiment.")));

	chosen_datums = palloc(sizeof(Datum) * config->nelements);
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < config->nelements; i++)
	{
		AbtElement *element = &config->elements[i];
		AbtVariant *variant;
		JsonbValue	v;

		if (element->problem != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("element \"%s\" (%s) %s", element->name, element->id_text,
							element->problem),
					 errdetail("No new visitor can be assigned to the experiment."),
					 errhint("Give every element at least one variant of positive weight.")));
		variant = &element->variants[abt_choose_variant(element, VARDATA_ANY(user_id),
														VARSIZE_ANY_EXHDR(user_id))];
		v.type = jbvString;
		v.val.string.val = element->id_text;
		v.val.string.len = ABT_UUID_TEXT_LEN - 1;
		pushJsonbValue(&state, WJB_KEY, &v);
		v.val.string.val = variant->id_text;
		pushJsonbValue(&state, WJB_VALUE, &v);
		chosen[i] = variant->id;
	}
	map = pushJsonbValue(&state, WJB_END_OBJECT, NULL);

	qsort(chosen, config->nelements, sizeof(pg_uuid_t), uuid_cmp_bytes);
	for (int i = 0; i < config->nelements; i++)
		chosen_datums[i] = UUIDPGetDatum(&chosen[i]);

	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = PointerGetDatum(user_id);
	*stored_map = JsonbValueToJsonb(map);
	args[2] = JsonbPGetDatum(*stored_map);
	args[3] = TimestampTzGetDatum(at);
	args[4] = Int32GetDatum(abt_slot());
	args[5] = PointerGetDatum(construct_array(chosen_datums, config->nelements, UUIDOID,
											  UUID_LEN, false, TYPALIGN_CHAR));
	args[6] = TimestampTzGetDatum(abt_rollup_bucket(at));
	abt_lock_experiment_shared(experiment_id, api_version);
	if (bulk == NULL && abt_deltas_counted_inline(experiment_id))
	{
		/* a later new visitor of the experiment in this transaction: counted in deltas.c */
		inserted = abt_run(&insert_only, experiment_id, args, NULL) == 1;
		if (inserted)
			abt_deltas_add_assignment(experiment_id, abt_rollup_bucket(at), chosen,
									  config->nelements);
		return inserted;
	}
	if (bulk == NULL)
	{
		HeapTuple	tuple;
		TupleDesc	desc;
		bool		isnull;
		ArrayType  *counters_missing;
		ArrayType  *rollups_missing;
		bool		experiment_rollup_missing;

		/*
		 * No row: the experiment is not active or the visitor was stored
		 * first.  A row of no column: insert stored and counted it.
		 */
		if (abt_run(api_version >= ABT_VERSION_1_1 ? &insert : &insert_1_0, experiment_id,
					args, NULL) == 0)
			return false;
		tuple = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		if (desc->natts != COUNT_NCOLS)
		{
			SPI_freetuptable(SPI_tuptable);
			return true;
		}
		/* the routed steps stored it; count reported the rows it found */
		counters_missing = missing_variants(tuple, desc, INSERT_COL_COUNTERS_FOUND,
											chosen, config->nelements);
		rollups_missing = missing_variants(tuple, desc, INSERT_COL_VARIANT_ROLLUPS_FOUND,
										   chosen, config->nelements);
		experiment_rollup_missing =
			DatumGetInt64(SPI_getbinval(tuple, desc, INSERT_COL_EXPERIMENT_ROLLUP_FOUND,
										&isnull)) == 0;
		SPI_freetuptable(SPI_tuptable);
		if (counters_missing != NULL || rollups_missing != NULL || experiment_rollup_missing)
		{
			Datum		fill_args[6];
			char		fill_nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

			fill_args[0] = args[0];
			fill_args[1] = args[4];
			fill_args[2] = PointerGetDatum(counters_missing);
			fill_nulls[2] = counters_missing == NULL ? 'n' : ' ';
			fill_args[3] = args[6];
			fill_args[4] = PointerGetDatum(rollups_missing);
			fill_nulls[4] = rollups_missing == NULL ? 'n' : ' ';
			fill_args[5] = BoolGetDatum(experiment_rollup_missing);
			(void) abt_run(&fill, experiment_id, fill_args, fill_nulls);
		}
		return true;
	}

	inserted = abt_run(&insert_only, experiment_id, args, NULL) == 1;
	if (inserted)
		bulk_count(bulk, chosen, config->nelements);
	return inserted;
}

/*
 * store_assignment_rows, then (1.1) the new visitor's CUPED covariates
 * where the experiment has goals with a lookback (track.c; one cached
 * boolean: other experiments pay nothing).
 */
static bool
store_new_assignment(pg_uuid_t *experiment_id, text *user_id, TimestampTz at,
					 AbtConfig *config, Jsonb **stored_map, BulkCounts *bulk,
					 AbtVersion api_version)
{
	pg_uuid_t  *chosen = palloc(sizeof(pg_uuid_t) * (config->nelements + 1));
	bool		has_lookback = api_version >= ABT_VERSION_1_1 && config->has_lookback;

	if (!store_assignment_rows(experiment_id, user_id, at, config, stored_map, bulk, chosen,
							   api_version))
		return false;
	if (has_lookback)
	{
		/* the configuration may have been evicted meanwhile: fetched again */
		int64		version = config->version;

		config = abt_config_get(experiment_id, version, api_version);
		abt_take_covariates(experiment_id, user_id, at, config, chosen, config->nelements);
	}
	return true;
}

/*
 * The variant map a pinned visitor sees (1.1): per element, the owner's pin,
 * else the visitor's stored variant, else the variant bucketing would choose
 * (shown, never stored).
 */
static Jsonb *
forced_map(AbtConfig *config, Jsonb *pins, AbtLookup *lookup, text *user_id)
{
	JsonbParseState *state = NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < config->nelements; i++)
	{
		AbtElement *element = &config->elements[i];
		JsonbValue	buf;
		JsonbValue *v = getKeyJsonValueFromContainer(&pins->root, element->id_text,
													 ABT_UUID_TEXT_LEN - 1, &buf);
		JsonbValue	key;

		if (v == NULL && lookup->assigned)
			v = getKeyJsonValueFromContainer(&lookup->variants->root, element->id_text,
											 ABT_UUID_TEXT_LEN - 1, &buf);
		if (v == NULL && element->problem == NULL)
		{
			buf.type = jbvString;
			buf.val.string.val = element->variants[abt_choose_variant(element, VARDATA_ANY(user_id),
																	  VARSIZE_ANY_EXHDR(user_id))].id_text;
			buf.val.string.len = ABT_UUID_TEXT_LEN - 1;
			v = &buf;
		}
		if (v == NULL)
			continue;
		key.type = jbvString;
		key.val.string.val = element->id_text;
		key.val.string.len = ABT_UUID_TEXT_LEN - 1;
		pushJsonbValue(&state, WJB_KEY, &key);
		pushJsonbValue(&state, WJB_VALUE, v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * The variant map of a visitor held out (1.1): the control of each element
 * that has one.
 */
static Jsonb *
control_map(AbtConfig *config)
{
	JsonbParseState *state = NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < config->nelements; i++)
	{
		AbtElement *element = &config->elements[i];

		for (int j = 0; j < element->nvariants; j++)
		{
			JsonbValue	v;

			if (!element->variants[j].is_control)
				continue;
			v.type = jbvString;
			v.val.string.val = element->id_text;
			v.val.string.len = ABT_UUID_TEXT_LEN - 1;
			pushJsonbValue(&state, WJB_KEY, &v);
			v.val.string.val = element->variants[j].id_text;
			pushJsonbValue(&state, WJB_VALUE, &v);
			break;
		}
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * Whether a holdout's stored group is the holdout group: the holdout's
 * first element shows its control (the other variant is the comparison).
 */
static bool
group_is_holdout(AbtConfig *holdout, Jsonb *group)
{
	AbtElement *element = &holdout->elements[0];
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&group->root, element->id_text,
												 ABT_UUID_TEXT_LEN - 1, &buf);

	if (v == NULL || v->type != jbvString || v->val.string.len != ABT_UUID_TEXT_LEN - 1)
		return false;
	for (int i = 0; i < element->nvariants; i++)
		if (memcmp(element->variants[i].id_text, v->val.string.val, ABT_UUID_TEXT_LEN - 1) == 0)
			return element->variants[i].is_control;
	return false;
}

/*
 * 1.1: whether the experiment's holdout holds a visitor new to the
 * experiment out of it.  The holdout enrols the visitor as any experiment
 * does (its seed and coverage, then its element's bucketing into the
 * holdout group, its control, or the comparison group), once: a visitor it
 * has a group for keeps it.  Only a visitor within the holdout's coverage
 * is looked up in it (a second query, of the holdout's experiment_id): as in
 * GrowthBook, lowering a holdout's coverage releases the visitors above it
 * from experiments they have not seen yet.  A paused holdout keeps its
 * groups and enrols nobody new; a draft or completed one, or one that
 * cannot bucket anyone, holds nobody.
 */
static bool
holdout_holds(AbtLookup *lookup, text *user_id, TimestampTz at, AbtVersion api_version)
{
	AbtConfig  *holdout;
	Jsonb	   *group;

	if (!lookup->holdout_found ||
		(strcmp(lookup->holdout_status, "active") != 0 &&
		 strcmp(lookup->holdout_status, "paused") != 0) ||
		!abt_in_coverage(abt_gbhash(lookup->holdout_seed, strlen(lookup->holdout_seed),
									VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id)),
						 lookup->holdout_coverage))
		return false;
	holdout = abt_config_get(&lookup->holdout_id, lookup->holdout_version, api_version);
	if (holdout->nelements == 0)
		return false;
	for (int i = 0; i < holdout->nelements; i++)
		if (holdout->elements[i].problem != NULL)
			return false;
	group = abt_lookup_holdout_group(&lookup->holdout_id, user_id);
	if (group == NULL)
	{
		if (strcmp(lookup->holdout_status, "active") != 0)
			return false;

		/*
		 * a concurrent first call that stored the group first chose the same
		 * one (the choice is deterministic)
		 */
		(void) store_new_assignment(&lookup->holdout_id, user_id, at, holdout, &group, NULL,
									api_version);
	}
	return group_is_holdout(holdout, group);
}

/*
 * Whether a visitor not assigned yet may be enrolled by the namespace rule
 * (1.1): GrowthBook's inNamespace, true for an experiment without one.
 */
static bool
namespace_admits(AbtLookup *lookup, text *user_id)
{
	if (lookup->namespace == NULL)
		return true;
	return abt_in_namespace(lookup->namespace, strlen(lookup->namespace),
							VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id),
							lookup->namespace_start, lookup->namespace_end);
}

/*
 * Assigns one visitor in one experiment; the caller is connected to SPI and
 * the answer is built in `answer_context`.  From api_version 1.1 on, pins,
 * holdouts and namespaces apply.
 */
static Jsonb *
assign_one(pg_uuid_t *experiment_id, text *user_id, TimestampTz at,
		   MemoryContext answer_context, BulkCounts *bulk, AbtVersion api_version)
{
	AbtLookup	lookup;
	AbtConfig  *config = NULL;
	bool		enrolled = false;
	bool		is_new = false;
	MemoryContext oldcontext;
	Jsonb	   *answer;

	abt_lookup(experiment_id, user_id, api_version, &lookup);
	if (!lookup.experiment_found)
		abt_report_unknown_experiment(experiment_id);

	/*
	 * 1.1: a visitor an owner pinned sees the pins in any experiment but a
	 * completed one (QA may preview a draft), and nothing is stored or
	 * counted; only experiments with pins pay for the second query
	 */
	if (api_version >= ABT_VERSION_1_1 && strcmp(lookup.status, "completed") != 0)
	{
		config = abt_config_get(experiment_id, lookup.version, api_version);
		if (config->has_forced)
		{
			Jsonb	   *pins = abt_lookup_forced(experiment_id, user_id);

			if (pins != NULL)
			{
				lookup.variants = forced_map(config, pins, &lookup, user_id);
				lookup.converted = lookup.assigned && lookup.converted;
				lookup.assigned = true;
				lookup.forced = true;
				enrolled = true;
			}
		}
	}

	/* draft and completed experiments show nobody a variant */
	if (!lookup.forced &&
		(strcmp(lookup.status, "active") == 0 || strcmp(lookup.status, "paused") == 0))
	{
		if (lookup.assigned)
			enrolled = true;
		else if (strcmp(lookup.status, "active") == 0 &&
				 holdout_holds(&lookup, user_id, at, api_version))
		{
			/* 1.1: held out: the controls, nothing stored in this experiment */
			config = abt_config_get(experiment_id, lookup.version, api_version);
			lookup.variants = control_map(config);
			lookup.held_out = true;
		}
		else if (strcmp(lookup.status, "active") == 0 &&
				 namespace_admits(&lookup, user_id) &&
				 abt_in_coverage(abt_gbhash(lookup.seed, strlen(lookup.seed),
											VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id)),
								 lookup.coverage))
		{
			Jsonb	   *stored_map;

			config = abt_config_get(experiment_id, lookup.version, api_version);
			is_new = store_new_assignment(experiment_id, user_id, at, config, &stored_map, bulk,
										  api_version);
			if (is_new)
			{
				lookup.assigned = true;
				lookup.variants = stored_map;
				lookup.converted = false;
			}
			else
			{
				/*
				 * a concurrent first call won: answer with what it stored; or
				 * the experiment is gone or no longer active: say so (what
				 * every version reads: the enrolment rules were applied)
				 */
				abt_lookup(experiment_id, user_id, ABT_VERSION_1_0, &lookup);
				if (!lookup.experiment_found)
					abt_report_unknown_experiment(experiment_id);
			}
			enrolled = lookup.assigned;
		}
		if (enrolled)
			config = abt_config_get(experiment_id, lookup.version, api_version);
	}

	/*
	 * 1.1: the holdout's configuration, fetched since, may have emptied the
	 * cache (a full or invalidated cache is dropped whole): fetch ours again
	 */
	if (api_version >= ABT_VERSION_1_1 && config != NULL && !enrolled && !lookup.held_out)
		config = abt_config_get(experiment_id, lookup.version, api_version);

	oldcontext = MemoryContextSwitchTo(answer_context);
	answer = abt_answer(experiment_id, &lookup, config, enrolled, is_new);
	MemoryContextSwitchTo(oldcontext);
	return answer;
}

static Datum assign_entry(FunctionCallInfo fcinfo, AbtVersion api_version);
static Datum assign_batch_entry(FunctionCallInfo fcinfo, AbtVersion api_version);
static Datum assign_bulk_entry(FunctionCallInfo fcinfo, AbtVersion api_version);

/* SQL (1.0): abt_assign(experiment_id uuid, user_id text, at timestamptz) returns jsonb */
Datum
abt_assign(PG_FUNCTION_ARGS)
{
	return assign_entry(fcinfo, ABT_VERSION_1_0);
}

/* SQL (1.1): abt_assign, with namespaces and forced variants */
Datum
abt_assign_1_1(PG_FUNCTION_ARGS)
{
	return assign_entry(fcinfo, ABT_VERSION_1_1);
}

/* SQL (1.0): abt_assign_batch; see assign_batch_entry */
Datum
abt_assign_batch(PG_FUNCTION_ARGS)
{
	return assign_batch_entry(fcinfo, ABT_VERSION_1_0);
}

/* SQL (1.1): abt_assign_batch, with namespaces and forced variants */
Datum
abt_assign_batch_1_1(PG_FUNCTION_ARGS)
{
	return assign_batch_entry(fcinfo, ABT_VERSION_1_1);
}

/* SQL (1.0): abt_assign_bulk; see assign_bulk_entry */
Datum
abt_assign_bulk(PG_FUNCTION_ARGS)
{
	return assign_bulk_entry(fcinfo, ABT_VERSION_1_0);
}

/* SQL (1.1): abt_assign_bulk, with namespaces and forced variants */
Datum
abt_assign_bulk_1_1(PG_FUNCTION_ARGS)
{
	return assign_bulk_entry(fcinfo, ABT_VERSION_1_1);
}

/* abt_assign(experiment_id uuid, user_id text, at timestamptz) returns jsonb */
static Datum
assign_entry(FunctionCallInfo fcinfo, AbtVersion api_version)
{
	pg_uuid_t  *experiment_id = abt_arg_experiment_id(fcinfo, 0);
	text	   *user_id = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	TimestampTz at = abt_arg_time(fcinfo, 2, "assignment time");
	MemoryContext caller = CurrentMemoryContext;
	Jsonb	   *answer;
	AbtUserContext saved;

	abt_check_visitor(user_id, "visitor id");
	abt_check_time_choice(at, ABT_TABLE_ASSIGNMENTS, "assignment time");
	SPI_connect();
	abt_act_as_owner(&saved);
	answer = assign_one(experiment_id, user_id, at, caller, NULL, api_version);
	abt_restore_user(&saved);
	SPI_finish();
	PG_RETURN_JSONB_P(answer);
}

/*
 * SQL: abt_assign_batch(experiment_ids uuid[], user_id text, at timestamptz)
 * returns jsonb: an array with abt_assign's answer for each experiment, in
 * the order given.  Experiments are processed in uuid order so that
 * concurrent batches take row locks in one order.
 */
static Datum
assign_batch_entry(FunctionCallInfo fcinfo, AbtVersion api_version)
{
	text	   *user_id = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	TimestampTz at = abt_arg_time(fcinfo, 2, "assignment time");
	MemoryContext caller = CurrentMemoryContext;
	Datum	   *elems;
	int			n;
	int		   *order;
	pg_uuid_t  *uuids;
	Jsonb	  **answers;
	MemoryContext per_call;
	JsonbParseState *state = NULL;
	JsonbValue *result;
	AbtUserContext saved;

	elems = abt_arg_experiment_ids(fcinfo, 0, &n);
	abt_check_visitor(user_id, "visitor id");
	abt_check_time_choice(at, ABT_TABLE_ASSIGNMENTS, "assignment time");
	if (n > ABT_MAX_PAGE_EXPERIMENTS && !abt_caller_may_insert(ABT_TABLE_ASSIGNMENTS))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many experiments in one call"),
				 errdetail("%d experiments were given; a visitor's call takes at most %d.",
						   n, ABT_MAX_PAGE_EXPERIMENTS),
				 errhint("Split the page's experiments over several calls, or call as a role that may insert into abtest.assignments.")));
	uuids = palloc(sizeof(pg_uuid_t) * (n + 1));
	order = palloc(sizeof(int) * (n + 1));
	answers = palloc(sizeof(Jsonb *) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		uuids[i] = *DatumGetUUIDP(elems[i]);
		order[i] = i;
	}
	qsort_arg(order, n, sizeof(int), index_cmp_uuid, uuids);

	SPI_connect();
	abt_act_as_owner(&saved);
	per_call = AllocSetContextCreate(CurrentMemoryContext, "abtest per experiment",
									 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		MemoryContext oldcontext;

		CHECK_FOR_INTERRUPTS();
		oldcontext = MemoryContextSwitchTo(per_call);
		answers[order[i]] = assign_one(&uuids[order[i]], user_id, at, caller, NULL, api_version);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(per_call);
	}
	abt_restore_user(&saved);
	SPI_finish();

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		JsonbValue	v;

		CHECK_FOR_INTERRUPTS();
		v.type = jbvBinary;
		v.val.binary.data = &answers[i]->root;
		v.val.binary.len = VARSIZE(answers[i]) - VARHDRSZ;
		pushJsonbValue(&state, WJB_ELEM, &v);
	}
	result = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(result));
}

/*
 * Orders indexes into the text datum array `arg` bytewise (any fixed order
 * keeps lock order consistent).
 */
static int
index_cmp_text(const void *a, const void *b, void *arg)
{
	const Datum *texts = (const Datum *) arg;
	int			ia = *(const int *) a;
	int			ib = *(const int *) b;
	text	   *ta = DatumGetTextPP(texts[ia]);
	text	   *tb = DatumGetTextPP(texts[ib]);
	int			la = VARSIZE_ANY_EXHDR(ta);
	int			lb = VARSIZE_ANY_EXHDR(tb);
	int			c = memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), Min(la, lb));

	if (c == 0)
		c = (la > lb) - (la < lb);
	/* ties in given order: a repeated id's first occurrence is processed first */
	return c != 0 ? c : (ia > ib) - (ia < ib);
}

/*
 * SQL: abt_assign_bulk(experiment_id uuid, user_ids text[], at timestamptz)
 * returns table (user_id text, assignment jsonb): abt_assign for many
 * visitors in one call and one transaction, rows in the order given.
 */
static Datum
assign_bulk_entry(FunctionCallInfo fcinfo, AbtVersion api_version)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_uuid_t  *experiment_id = abt_arg_experiment_id(fcinfo, 0);
	TimestampTz at = abt_arg_time(fcinfo, 2, "assignment time");
	MemoryContext caller = CurrentMemoryContext;
	ArrayType  *ids;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int		   *order;
	Jsonb	  **answers;
	MemoryContext per_call;
	BulkCounts	bulk;
	AbtUserContext saved;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("visitor ids must not be null")));
	ids = PG_GETARG_ARRAYTYPE_P(1);
	InitMaterializedSRF(fcinfo, 0);
	deconstruct_array(ids, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	order = palloc(sizeof(int) * (n + 1));
	answers = palloc(sizeof(Jsonb *) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		abt_check_visitor(nulls[i] ? NULL : DatumGetTextPP(elems[i]), "visitor id");
		order[i] = i;
	}
	qsort_arg(order, n, sizeof(int), index_cmp_text, elems);

	bulk.variants = abt_call_hash("abt_assign_bulk allocations", sizeof(pg_uuid_t),
								  sizeof(BulkVariant), 16);
	bulk.assignments = 0;
	SPI_connect();
	abt_act_as_owner(&saved);
	per_call = AllocSetContextCreate(CurrentMemoryContext, "abtest per visitor",
									 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		MemoryContext oldcontext;

		CHECK_FOR_INTERRUPTS();
		oldcontext = MemoryContextSwitchTo(per_call);
		answers[order[i]] = assign_one(experiment_id, DatumGetTextPP(elems[order[i]]), at,
									   caller, &bulk, api_version);
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(per_call);
	}
	bulk_apply(experiment_id, at, &bulk);
	abt_restore_user(&saved);
	SPI_finish();

	for (int i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		isnull[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = elems[i];
		values[1] = JsonbPGetDatum(answers[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}
