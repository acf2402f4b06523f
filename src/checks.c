/*
 * checks.c
 *		Argument checks and errors that every entry point shares, so that a
 *		rule (what a visitor id may be, what a NULL means) and its message
 *		have one definition; and abtest.limits(), which shows the limits of
 *		rules.h to SQL (the configuration tables' triggers read theirs there).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "owner.h"
#include "rules.h"

PG_FUNCTION_INFO_V1(abt_limits);

/* Columns of abtest.limits()' result. */
enum
{
	LIMITS_NAME,
	LIMITS_VALUE,
	LIMITS_APPLIES_TO,
	LIMITS_COLUMNS
};

/*
 * SQL (1.1): abtest.limits() returns table (name text, value bigint,
 * applies_to text): every limit of rules.h, one row each.  The triggers
 * abtest.element_limit_check and abtest.variant_limit_check take theirs from
 * here, so that the C definition is the only one.
 */
Datum
abt_limits(PG_FUNCTION_ARGS)
{
	static const struct
	{
		const char *name;
		int64		value;
		const char *applies_to;
	}			limits[] =
	{
		{"id characters", ABT_MAX_ID_CHARS,
		"visitor ids (every caller), conversion goals of trusted callers"},
		{"visitor goal characters", ABT_MAX_VISITOR_GOAL_CHARS,
		"conversion goals of a visitor's abt_convert"},
		{"experiments per visitor batch", ABT_MAX_PAGE_EXPERIMENTS,
		"experiment ids of a visitor's abt_assign_batch"},
		{"goals per call", ABT_MAX_GOALS_PER_CALL,
		"the goals argument of abt_metric_stats, repeats included"},
		{"rows per call", ABT_MAX_RESULT_ROWS,
		"rows of abt_metric_stats, variants x buckets of abt_timeline_variants"},
		{"variants per element", ABT_MAX_VARIANTS_PER_ELEMENT,
		"rows of abtest.element_variants with one element_id"},
		{"elements per experiment", ABT_MAX_ELEMENTS_PER_EXPERIMENT,
		"rows of abtest.experiment_elements with one experiment_id"},
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != LIMITS_COLUMNS)
		elog(ERROR, "abtest.limits: the result type has %d columns, expected %d",
			 rsinfo->setDesc->natts, LIMITS_COLUMNS);
	for (int i = 0; i < (int) lengthof(limits); i++)
	{
		Datum		values[LIMITS_COLUMNS];
		bool		nulls[LIMITS_COLUMNS] = {false, false, false};

		values[LIMITS_NAME] = CStringGetTextDatum(limits[i].name);
		values[LIMITS_VALUE] = Int64GetDatum(limits[i].value);
		values[LIMITS_APPLIES_TO] = CStringGetTextDatum(limits[i].applies_to);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Reads a non-null experiment id argument. */
pg_uuid_t *
abt_arg_experiment_id(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("experiment id must not be null")));
	return PG_GETARG_UUID_P(argno);
}

/*
 * Reads a uuid[] argument of experiment ids, neither NULL nor holding NULL;
 * returns its elements (uuid datums, in the given order) and their number.
 */
Datum *
abt_arg_experiment_ids(FunctionCallInfo fcinfo, int argno, int *n)
{
	ArrayType  *ids;
	Datum	   *elems;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("experiment ids must not be null")));
	ids = PG_GETARG_ARRAYTYPE_P(argno);
	if (array_contains_nulls(ids))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("experiment ids must not contain null")));
	deconstruct_array(ids, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, NULL, n);
	return elems;
}

/*
 * Reads a time argument (`what` names it in errors): NULL is an error, not
 * "now", and so is an infinite time, which has no timeline bucket.
 */
TimestampTz
abt_arg_time(FunctionCallInfo fcinfo, int argno, const char *what)
{
	TimestampTz ts;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	ts = PG_GETARG_TIMESTAMPTZ(argno);
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be finite", what)));
	return ts;
}

/*
 * Only a trusted caller (owner.c) chooses an event's time: a visitor's call
 * happens now (the default of `at`, now(), is the transaction's start), so
 * that nobody can write into a past or future bucket of a timeline.
 */
void
abt_check_time_choice(TimestampTz at, AbtTable table, const char *what)
{
	if (at != GetCurrentTransactionStartTimestamp() && !abt_caller_may_insert(table))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to choose the %s", what),
				 errdetail("A visitor's call takes the time from the server."),
				 errhint("Leave \"at\" out, or call as a role that may insert into abtest.assignments and abtest.conversions (the extension owner, service_role).")));
}

/* Rejects a visitor id (or goal, as `what` says) that is NULL, empty or too long. */
void
abt_check_visitor(text *user_id, const char *what)
{
	int			nchars;

	if (user_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	if (VARSIZE_ANY_EXHDR(user_id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	nchars = pg_mbstrlen_with_len(VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id));
	if (nchars > ABT_MAX_ID_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", what),
				 errdetail("It has %d characters; at most %d are allowed.",
						   nchars, ABT_MAX_ID_CHARS)));
}

/* Raises the error for an experiment id that matches no experiment. */
void
abt_report_unknown_experiment(pg_uuid_t *experiment_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("experiment %s does not exist",
					DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(experiment_id))))));
}
