/*
 * checks.c
 *		Argument checks and errors that every entry point shares, so that a
 *		rule (what a visitor id may be, what a NULL means) and its message
 *		have one definition.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "abtest.h"

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
