/*
 * lookup.c
 *		abt_lookup: one index lookup reads the experiment row and the
 *		visitor's stored assignment, the first step of every page view
 *		(abt_assign) and of every conversion (abt_convert).
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
	LOOKUP_CONVERTED
};

static const char *lookup_sql =
"SELECT e.status, e.seed, e.coverage, e.config_version,"
"       a.variants, a.converted_at IS NOT NULL"
"  FROM abtest.experiments e"
"  LEFT JOIN abtest.assignments a"
"         ON a.experiment_id OPERATOR(pg_catalog.=) e.id"
"        AND a.user_id OPERATOR(pg_catalog.=) $2"
" WHERE e.id OPERATOR(pg_catalog.=) $1";

/* Reads the experiment row and the visitor's assignment (caller is in SPI). */
void
abt_lookup(pg_uuid_t *experiment_id, text *user_id, AbtLookup *out)
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
	rc = SPI_execute_plan(abt_plan(&lookup_plan, lookup_sql, 2, argtypes), args, NULL, false, 1);
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
	variants = SPI_getbinval(tuple, desc, LOOKUP_VARIANTS, &isnull);
	if (isnull)
	{
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	out->assigned = true;
	out->variants = DatumGetJsonbPCopy(variants);
	out->converted = DatumGetBool(SPI_getbinval(tuple, desc, LOOKUP_CONVERTED, &isnull));
	SPI_freetuptable(SPI_tuptable);
}
