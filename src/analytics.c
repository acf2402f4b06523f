/*
 * analytics.c
 *		What the analytics entry points (stats.c: abt_variant_stats,
 *		metric_stats.c: abt_metric_stats) share: the privilege check on the
 *		configuration the cache stands in for, the requested experiments as
 *		the caller may see them, and the variants' live counters summed over
 *		slots.  Both queries take the array of ids as one parameter and run
 *		under kept generic plans, whatever the number of experiments.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"

#include "analytics.h"
#include "relations.h"
#include "spi_plans.h"

/* Result columns of experiments_sql and counters_sql (SPI numbers from 1). */
enum
{
	EXPERIMENTS_ID = 1,
	EXPERIMENTS_STATUS,
	EXPERIMENTS_CONFIG_VERSION
};
enum
{
	COUNTERS_EXPERIMENT_ID = 1,
	COUNTERS_VARIANT_ID,
	COUNTERS_ALLOCATIONS,
	COUNTERS_CONVERSIONS
};

static SPIPlanPtr experiments_plan = NULL;
static SPIPlanPtr counters_plan = NULL;

/* The requested experiments the caller can see (row-level security applies). */
static const char *experiments_sql =
"SELECT e.id, e.status, e.config_version"
"  FROM abtest.experiments e"
" WHERE e.id OPERATOR(pg_catalog.=) ANY ($1)";

/* Every slot's counter row; summed in C (sum(bigint) would go through numeric). */
static const char *counters_sql =
"SELECT vc.experiment_id, vc.variant_id, vc.allocations, vc.conversions"
"  FROM abtest.variant_counters vc"
" WHERE vc.experiment_id OPERATOR(pg_catalog.=) ANY ($1)";

/*
 * The caller must be allowed to read what the configuration cache stands in
 * for: the columns of the table that the statistics show.  A table-level
 * grant or grants on each of those columns will do, as for a query.
 */
static void
check_select(AbtRelation table, const char *const *columns)
{
	Oid			relid = abt_relation_required(table);
	Oid			user = GetUserId();

	if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK)
		return;
	for (const char *const *c = columns; *c != NULL; c++)
	{
		AttrNumber	attnum = get_attnum(relid, *c);

		if (attnum == InvalidAttrNumber ||
			pg_attribute_aclcheck(relid, attnum, user, ACL_SELECT) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, abt_relation_name(table));
	}
}

/* The caller may read the elements' and variants' configuration columns. */
static void
check_config_privileges(void)
{
	static const char *const element_columns[] =
	{"id", "experiment_id", "name", "selector", "position", NULL};
	static const char *const variant_columns[] =
	{"id", "element_id", "name", "weight", "is_control", "position", NULL};

	check_select(ABT_REL_EXPERIMENT_ELEMENTS, element_columns);
	check_select(ABT_REL_ELEMENT_VARIANTS, variant_columns);
}

/* A hash table with binary keys that lives as long as the call's memory. */
HTAB *
abt_call_hash(const char *name, Size keysize, Size entrysize, long nelem)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(nelem, 16), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Reads which of the requested experiments (ids, an uuid[] datum, and its
 * nids elements) the caller can see, with their status and config_version:
 * a hash table of AbtRequestedExperiment by id.  The status values point
 * into the query's result, which SPI keeps until SPI_finish.
 */
HTAB *
abt_read_experiments(Datum ids, Datum *id_values, int nids)
{
	Oid			argtypes[1] = {UUIDARRAYOID};
	Datum		args[1] = {ids};
	HTAB	   *requested;
	TupleDesc	desc;
	int			rc;

	requested = abt_call_hash("abtest requested experiments", sizeof(pg_uuid_t),
							  sizeof(AbtRequestedExperiment), nids);
	for (int i = 0; i < nids; i++)
	{
		bool		found;
		AbtRequestedExperiment *r;

		CHECK_FOR_INTERRUPTS();
		r = hash_search(requested, DatumGetUUIDP(id_values[i]), HASH_ENTER, &found);
		if (!found)
			r->visible = r->emitted = false;
	}

	rc = SPI_execute_plan(abt_plan_generic(&experiments_plan, experiments_sql, 1, argtypes),
						  args, NULL, true, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "reading experiments");
	desc = SPI_tuptable->tupdesc;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;
		AbtRequestedExperiment *r = hash_search(requested,
												DatumGetUUIDP(SPI_getbinval(tuple, desc, EXPERIMENTS_ID, &isnull)),
												HASH_FIND, NULL);

		CHECK_FOR_INTERRUPTS();
		r->visible = true;
		r->status = SPI_getbinval(tuple, desc, EXPERIMENTS_STATUS, &isnull);
		r->version = DatumGetInt64(SPI_getbinval(tuple, desc, EXPERIMENTS_CONFIG_VERSION, &isnull));
	}
	return requested;
}

/*
 * Reads and sums the variant counter rows of the experiments in `ids`: a
 * hash table of AbtCounterSum by (experiment, variant).
 */
HTAB *
abt_read_variant_counters(Datum ids)
{
	Oid			argtypes[1] = {UUIDARRAYOID};
	Datum		args[1] = {ids};
	HTAB	   *sums;
	TupleDesc	desc;
	int			rc;

	rc = SPI_execute_plan(abt_plan_generic(&counters_plan, counters_sql, 1, argtypes),
						  args, NULL, true, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "reading variant counters");
	desc = SPI_tuptable->tupdesc;

	sums = abt_call_hash("abtest variant counters", sizeof(AbtCounterKey), sizeof(AbtCounterSum),
						 SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		AbtCounterKey key;
		AbtCounterSum *sum;
		bool		found;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		memcpy(&key.experiment_id, DatumGetUUIDP(SPI_getbinval(tuple, desc, COUNTERS_EXPERIMENT_ID, &isnull)),
			   UUID_LEN);
		memcpy(&key.variant_id, DatumGetUUIDP(SPI_getbinval(tuple, desc, COUNTERS_VARIANT_ID, &isnull)), UUID_LEN);
		sum = hash_search(sums, &key, HASH_ENTER, &found);
		if (!found)
			sum->allocations = sum->conversions = 0;
		if (pg_add_s64_overflow(sum->allocations,
								DatumGetInt64(SPI_getbinval(tuple, desc, COUNTERS_ALLOCATIONS, &isnull)),
								&sum->allocations) ||
			pg_add_s64_overflow(sum->conversions,
								DatumGetInt64(SPI_getbinval(tuple, desc, COUNTERS_CONVERSIONS, &isnull)),
								&sum->conversions))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range")));
	}
	SPI_freetuptable(SPI_tuptable);
	return sums;
}

/*
 * Starts the result of an analytics entry point: a materialised set whose
 * row type must have the `ncolumns` the C code fills (a library meeting
 * another SQL type fails here, not by writing past its arrays), after the
 * caller's privilege check on the configuration.
 */
void
abt_begin_analytics_result(FunctionCallInfo fcinfo, int ncolumns, const char *function)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != ncolumns)
		elog(ERROR, "%s: the result type has %d columns, expected %d",
			 function, rsinfo->setDesc->natts, ncolumns);
	check_config_privileges();
}
