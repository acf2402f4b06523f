/*
 * lookup.c
 *		abt_lookup: one index lookup reads the experiment row and the
 *		visitor's stored assignment, the first step of every page view
 *		(abt_assign) and of every conversion (abt_convert).  It also returns
 *		the assignment row's ctid, so that abt_convert's first-conversion
 *		UPDATE reaches the row by a TID scan, a plan no statistics change.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "abtest.h"

static SPIPlanPtr lookup_plan = NULL;

/* Result columns of lookup_sql (SPI numbers columns from 1). */
enum
{
	LOOKUP_STATUS = 1,
	LOOKUP_SEED,
	LOOKUP_COVERAGE,
	LOOKUP_CONFIG_VERSION,
	LOOKUP_VARIANTS,
	LOOKUP_CONVERTED,
	LOOKUP_CTID
};

static const char *lookup_sql =
"SELECT e.status, e.seed, e.coverage, e.config_version,"
"       a.variants, a.converted_at IS NOT NULL, a.ctid"
"  FROM abtest.experiments e"
"  LEFT JOIN abtest.assignments a"
"         ON a.experiment_id OPERATOR(pg_catalog.=) e.id"
"        AND a.user_id OPERATOR(pg_catalog.=) $2"
" WHERE e.id OPERATOR(pg_catalog.=) $1";

/*
 * 1.1: lookup_sql's columns, then the experiment's namespace range and its
 * holdout's id (columns a 1.0 database lacks: only the 1.1 entry points
 * run this).  Still one query for an experiment without a holdout: the
 * holdout's row is read by holdout_sql only where there is one (a join here
 * cost every page view about a tenth of its time), and the visitor's group
 * in the holdout, another experiment's assignment, by
 * abt_lookup_holdout_group when needed.
 */
static SPIPlanPtr lookup_1_1_plan = NULL;

enum
{
	LOOKUP_NAMESPACE = LOOKUP_CTID + 1,
	LOOKUP_NAMESPACE_START,
	LOOKUP_NAMESPACE_END,
	LOOKUP_HOLDOUT_ID
};

static const char *lookup_1_1_sql =
"SELECT e.status, e.seed, e.coverage, e.config_version,"
"       a.variants, a.converted_at IS NOT NULL, a.ctid,"
"       e.namespace, e.namespace_start, e.namespace_end, e.holdout_id"
"  FROM abtest.experiments e"
"  LEFT JOIN abtest.assignments a"
"         ON a.experiment_id OPERATOR(pg_catalog.=) e.id"
"        AND a.user_id OPERATOR(pg_catalog.=) $2"
" WHERE e.id OPERATOR(pg_catalog.=) $1";

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

static void lookup_run(SPIPlanPtr *plan, const char *sql, bool v11,
					   pg_uuid_t *experiment_id, text *user_id, AbtLookup *out);

/* Reads the experiment row and the visitor's assignment (caller is in SPI). */
void
abt_lookup(pg_uuid_t *experiment_id, text *user_id, AbtLookup *out)
{
	lookup_run(&lookup_plan, lookup_sql, false, experiment_id, user_id, out);
}

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
 * abt_lookup plus the experiment's namespace range and its holdout's row
 * (1.1 databases only; the holdout costs a second query where there is one).
 */
void
abt_lookup_1_1(pg_uuid_t *experiment_id, text *user_id, AbtLookup *out)
{
	lookup_run(&lookup_1_1_plan, lookup_1_1_sql, true, experiment_id, user_id, out);
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

/* Runs a lookup query; v11: it has the namespace and holdout columns too. */
static void
lookup_run(SPIPlanPtr *plan, const char *sql, bool v11,
		   pg_uuid_t *experiment_id, text *user_id, AbtLookup *out)
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
	rc = SPI_execute_plan(abt_plan(plan, sql, 2, argtypes), args, NULL, false, 1);
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
	if (v11)
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
