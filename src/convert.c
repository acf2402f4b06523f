/*
 * convert.c
 *		abt_convert: records a conversion event of an assigned visitor.
 *
 * Every event is stored in abtest.conversions.  The visitor's first one also
 * sets the assignment's converted_at and adds one to the conversion counters
 * of each variant the visitor saw (and to the timeline rollup of the
 * assignment's bucket), in this backend's slot rows.  Concurrent first
 * conversions of one visitor meet on the assignment row: the UPDATE that
 * finds converted_at still NULL wins, exactly once.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "storage/backendid.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "abtest.h"

PG_FUNCTION_INFO_V1(abt_convert);

static SPIPlanPtr first_conversion_plan = NULL;
static SPIPlanPtr event_plan = NULL;

/*
 * $1 experiment, $2 visitor, $3 time, $4 slot, $5 rollup bucket width (as
 * an interval: ABT_ROLLUP_BUCKET_USECS, date_bin from the epoch as
 * abt_rollup_bucket computes it for new visitors)
 */
static const char *first_conversion_sql =
"WITH conv AS ("
"  UPDATE abtest.assignments SET converted_at = $3"
"   WHERE experiment_id OPERATOR(pg_catalog.=) $1"
"     AND user_id OPERATOR(pg_catalog.=) $2"
"     AND converted_at IS NULL"
"  RETURNING variants, pg_catalog.date_bin($5, assigned_at,"
"                                          '2000-01-01 00:00:00+00') AS bucket),"
" seen AS ("
"  SELECT v.value::pg_catalog.uuid AS variant_id, conv.bucket"
"    FROM conv, pg_catalog.jsonb_each_text(conv.variants) AS v"
"   ORDER BY 1),"
" counters AS ("
"  INSERT INTO abtest.variant_counters AS c (experiment_id, variant_id, slot, conversions)"
"  SELECT $1, seen.variant_id, $4, 1 FROM seen"
"  ON CONFLICT ON CONSTRAINT variant_counters_pkey"
"  DO UPDATE SET conversions = c.conversions OPERATOR(pg_catalog.+) 1),"
" experiment_rollup AS ("
"  INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, conversions)"
"  SELECT $1, conv.bucket, $4, 1 FROM conv"
"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey"
"  DO UPDATE SET conversions = t.conversions OPERATOR(pg_catalog.+) 1),"
" variant_rollup AS ("
"  INSERT INTO abtest.variant_timeline AS t (experiment_id, variant_id, bucket, slot, conversions)"
"  SELECT $1, seen.variant_id, seen.bucket, $4, 1 FROM seen"
"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey"
"  DO UPDATE SET conversions = t.conversions OPERATOR(pg_catalog.+) 1)"
"SELECT pg_catalog.count(*) FROM conv";

static const char *event_sql =
"INSERT INTO abtest.conversions (experiment_id, user_id, goal, value, created_at)"
" VALUES ($1, $2, $3, $4, $5)";

/*
 * The rules a visitor's event must meet (owner.c: a caller that may not
 * insert into abtest.conversions itself):
 * a goal of at most ABT_MAX_VISITOR_GOAL_CHARS characters and, when the
 * experiment declares goals (abtest.goals), one of them, with a value
 * between 0 and the goal's max_value when it has one.  Trusted callers'
 * events are not held to them: refunds, imports, any goal.
 */
static void
check_visitor_event(pg_uuid_t *experiment_id, int64 version, text *goal, Numeric value)
{
	AbtConfig  *config;
	AbtGoal    *declared = NULL;
	int			nchars = pg_mbstrlen_with_len(VARDATA_ANY(goal), VARSIZE_ANY_EXHDR(goal));

	if (nchars > ABT_MAX_VISITOR_GOAL_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversion goal is too long"),
				 errdetail("It has %d characters; a visitor's event may have at most %d.",
						   nchars, ABT_MAX_VISITOR_GOAL_CHARS)));
	config = abt_config_get(experiment_id, version);
	abt_config_load_goals(config);
	if (config->ngoals == 0)
		return;					/* no declared goals: any goal, any value */
	for (int i = 0; i < config->ngoals && declared == NULL; i++)
		if (strlen(config->goals[i].name) == VARSIZE_ANY_EXHDR(goal) &&
			memcmp(config->goals[i].name, VARDATA_ANY(goal), VARSIZE_ANY_EXHDR(goal)) == 0)
			declared = &config->goals[i];
	if (declared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversion goal \"%s\" is not declared for this experiment",
						text_to_cstring(goal)),
				 errdetail("The experiment declares its goals in abtest.goals; a visitor's event must name one of them.")));
	if (value == NULL || declared->max_value == NULL)
		return;
	if (DatumGetBool(DirectFunctionCall2(numeric_lt, NumericGetDatum(value),
										 DirectFunctionCall1(int4_numeric, Int32GetDatum(0)))) ||
		DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(value),
										 NumericGetDatum(declared->max_value))))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("conversion value is out of range for goal \"%s\"", declared->name),
				 errdetail("A visitor's event may carry a value from 0 to %s.",
						   DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(declared->max_value))))));
}

/*
 * SQL: abt_convert(experiment_id uuid, user_id text, goal text, value numeric,
 * at timestamptz) returns boolean: true for the visitor's first
 * conversion, false for a later one, NULL (nothing recorded) when the
 * visitor has no assignment in the experiment.  A visitor (owner.c) sends
 * events now, within check_visitor_event's rules; a trusted caller chooses
 * any time, goal and value.
 */
Datum
abt_convert(PG_FUNCTION_ARGS)
{
	static Oid	first_types[5] = {UUIDOID, TEXTOID, TIMESTAMPTZOID, INT4OID, INTERVALOID};
	static Oid	event_types[5] = {UUIDOID, TEXTOID, TEXTOID, NUMERICOID, TIMESTAMPTZOID};
	pg_uuid_t  *experiment_id;
	text	   *user_id = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	text	   *goal = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	TimestampTz at;
	AbtLookup	lookup;
	bool		first = false;
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int			rc;
	bool		trusted;
	AbtUserContext saved;

	experiment_id = abt_arg_experiment_id(fcinfo, 0);
	abt_check_visitor(user_id, "visitor id");
	abt_check_visitor(goal, "conversion goal");
	if (!PG_ARGISNULL(3))
	{
		Numeric		value = PG_GETARG_NUMERIC(3);

		if (numeric_is_nan(value) || numeric_is_inf(value))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("conversion value must be a finite number")));
	}
	at = abt_arg_time(fcinfo, 4, "conversion time");
	trusted = abt_caller_may_insert(ABT_TABLE_CONVERSIONS);
	if (!trusted)
		abt_check_time_choice(at, ABT_TABLE_CONVERSIONS, "conversion time");

	/* before the lookup: a concurrent deletion of the experiment goes first */
	abt_lock_experiment_shared(experiment_id);
	SPI_connect();
	abt_act_as_owner(&saved);
	abt_lookup(experiment_id, user_id, &lookup);
	if (!lookup.experiment_found)
		abt_report_unknown_experiment(experiment_id);
	if (!trusted)
		check_visitor_event(experiment_id, lookup.version, goal,
							PG_ARGISNULL(3) ? NULL : PG_GETARG_NUMERIC(3));
	if (!lookup.assigned)
	{
		abt_restore_user(&saved);
		SPI_finish();
		PG_RETURN_NULL();
	}

	if (!lookup.converted)
	{
		Interval	rollup_width = {.time = ABT_ROLLUP_BUCKET_USECS};
		bool		isnull;

		args[0] = UUIDPGetDatum(experiment_id);
		args[1] = PointerGetDatum(user_id);
		args[2] = TimestampTzGetDatum(at);
		args[3] = Int32GetDatum(MyBackendId);
		args[4] = IntervalPGetDatum(&rollup_width);
		rc = SPI_execute_plan(abt_plan(&first_conversion_plan, first_conversion_sql, 5, first_types),
							  args, NULL, false, 0);
		abt_check_spi(rc, SPI_OK_SELECT, "recording a first conversion");
		first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											1, &isnull)) == 1;
	}

	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = PointerGetDatum(user_id);
	args[2] = PointerGetDatum(goal);
	if (PG_ARGISNULL(3))
	{
		args[3] = (Datum) 0;
		nulls[3] = 'n';
	}
	else
		args[3] = PG_GETARG_DATUM(3);
	args[4] = TimestampTzGetDatum(at);
	rc = SPI_execute_plan(abt_plan(&event_plan, event_sql, 5, event_types), args, nulls, false, 0);
	abt_check_spi(rc, SPI_OK_INSERT, "recording a conversion event");
	abt_restore_user(&saved);
	SPI_finish();
	PG_RETURN_BOOL(first);
}
