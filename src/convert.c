/*
 * convert.c
 *		abt_convert: records a conversion event of an assigned visitor.
 *
 * Every event is stored in abtest.conversions.  The visitor's first one also
 * sets the assignment's converted_at and adds one to the conversion counters
 * of each variant the visitor saw (and to the timeline rollup of the
 * assignment's bucket), in this backend's slot rows.  Concurrent first
 * conversions of one visitor meet on the assignment row: the UPDATE that
 * finds converted_at still NULL wins, exactly once.  The UPDATE reaches the
 * row by the ctid the lookup read (a TID scan whatever the statistics say;
 * under READ COMMITTED a row updated meanwhile is re-checked on its newest
 * version, where converted_at is no longer NULL).
 *
 * Since 1.1 (abt_convert_1_1) one statement records the event (and, when
 * due, the first conversion) and keeps the per-goal sums of
 * abt_metric_stats: the visitor's running total of the goal
 * (abtest.visitor_goals, one row per visitor and goal) and, in this
 * backend's slot rows of abtest.goal_counters, for each variant the visitor
 * saw: converters (+1 on the visitor's first event of the goal), the sum of
 * the visitors' totals y (+v) and of their squares (+ y^2 - (y - v)^2 with
 * y the new total).  Concurrent events of one visitor and goal serialise on
 * its visitor_goals row, so the squares stay exact.  Their values are
 * bounded (ABT_MAX_EVENT_VALUE, rules.h): no caller's event can make a sum
 * overflow and leave the experiment unfoldable.  The 1.0 symbol abt_convert
 * (a database still at 1.0 has none of these tables) writes only the event,
 * with any finite value as in 1.0.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "citus.h"
#include "config_cache.h"
#include "convert.h"
#include "deltas.h"
#include "experiment_config.h"
#include "experiment_lock.h"
#include "lookup.h"
#include "owner.h"
#include "rules.h"
#include "statement.h"

PG_FUNCTION_INFO_V1(abt_convert);
PG_FUNCTION_INFO_V1(abt_convert_1_1);

/*
 * The parameters of every statement here but event_sql (unused ones are
 * allowed): $1 experiment, $2 visitor, $3 time, $4 slot, $5 rollup bucket
 * width (as an interval: ABT_ROLLUP_BUCKET_USECS, date_bin from the epoch
 * as abt_rollup_bucket computes it for new visitors), $6 the assignment
 * row's ctid as the lookup read it, and for 1.1: $7 goal, $8 value (NULL
 * stored as NULL), $9 the variants the visitor saw (the assignment's jsonb
 * map, as the lookup read it), $10 the value counted (0 for NULL), $11
 * whether the goal has a CUPED lookback in the experiment (its covariate
 * row is read only then).
 */
enum
{
	P_EXPERIMENT,
	P_VISITOR,
	P_AT,
	P_SLOT,
	P_ROLLUP_WIDTH,
	P_CTID,
	P_GOAL,
	P_VALUE,
	P_VARIANTS,
	P_COUNTED,
	P_COVARIATES,
	NUM_PARAMS
};
#define NUM_PARAMS_1_0 (P_CTID + 1)

static Oid	param_types[NUM_PARAMS] = {
	[P_EXPERIMENT] = UUIDOID,[P_VISITOR] = TEXTOID,[P_AT] = TIMESTAMPTZOID,
	[P_SLOT] = INT4OID,[P_ROLLUP_WIDTH] = INTERVALOID,[P_CTID] = TIDOID,
	[P_GOAL] = TEXTOID,[P_VALUE] = NUMERICOID,[P_VARIANTS] = JSONBOID,
	[P_COUNTED] = NUMERICOID,[P_COVARIATES] = BOOLOID
};

/*
 * The first conversion: sets converted_at of the row the lookup read (the
 * ctid is the way in, a TID scan whatever the statistics say; the key
 * columns and converted_at IS NULL stay in the condition, so a row updated
 * since is re-checked on its newest version and not updated twice), and
 * counts it for each variant the visitor saw and in its assignment's
 * bucket.  The assignment row is only ever updated here, so a row the lookup
 * read that changed since has been converted.
 */
#define CONV_CTE \
"WITH conv AS (" \
"  UPDATE abtest.assignments SET converted_at = $3" \
"   WHERE ctid OPERATOR(pg_catalog.=) $6" \
"     AND experiment_id OPERATOR(pg_catalog.=) $1" \
"     AND user_id OPERATOR(pg_catalog.=) $2" \
"     AND converted_at IS NULL" \
"  RETURNING variants, pg_catalog.date_bin($5, assigned_at," \
"                                          '2000-01-01 00:00:00+00') AS bucket)"

/* The counts of a first conversion, each in its row of this backend's slot. */
#define FIRST_CONVERSION_COUNT_CTES \
"," \
" seen AS (" \
"  SELECT v.value::pg_catalog.uuid AS variant_id, conv.bucket" \
"    FROM conv, pg_catalog.jsonb_each_text(conv.variants) AS v" \
"   ORDER BY 1)," \
" counters AS (" \
"  INSERT INTO abtest.variant_counters AS c (experiment_id, variant_id, slot, conversions)" \
"  SELECT $1, seen.variant_id, $4, 1 FROM seen" \
"  ON CONFLICT ON CONSTRAINT variant_counters_pkey" \
"  DO UPDATE SET conversions = c.conversions OPERATOR(pg_catalog.+) 1)," \
" experiment_rollup AS (" \
"  INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, conversions)" \
"  SELECT $1, conv.bucket, $4, 1 FROM conv" \
"  ON CONFLICT ON CONSTRAINT experiment_timeline_pkey" \
"  DO UPDATE SET conversions = t.conversions OPERATOR(pg_catalog.+) 1)," \
" variant_rollup AS (" \
"  INSERT INTO abtest.variant_timeline AS t (experiment_id, variant_id, bucket, slot, conversions)" \
"  SELECT $1, seen.variant_id, seen.bucket, $4, 1 FROM seen" \
"  ON CONFLICT ON CONSTRAINT variant_timeline_pkey" \
"  DO UPDATE SET conversions = t.conversions OPERATOR(pg_catalog.+) 1)"

#define FIRST_CONVERSION_CTES CONV_CTE FIRST_CONVERSION_COUNT_CTES

/*
 * The event and the per-goal sums (1.1).  visitor: the visitor's new total
 * y of the goal, and whether this is its first event of the goal (events =
 * 1 after the upsert).  cov: its CUPED covariate x and flag, if the goal
 * has a lookback and the visitor's were taken (issue 20).  sums: per
 * variant, in variant order (as variant_counters), converters, y's sum and
 * y^2's sum moved from (y - v) to y: y^2 - (y - v)^2 = (2y - v) v, x y's
 * sum moved by x v, and converters with the flag.
 * The event's id is given from the identity's sequence: the statement also
 * runs on a shard, whose copy of the table has no identity
 * (local_shards.c).
 */
#define EVENT_VISITOR_CTES \
" event AS (" \
"  INSERT INTO abtest.conversions (experiment_id, id, user_id, goal, value, created_at)" \
"  OVERRIDING SYSTEM VALUE" \
"  VALUES ($1, pg_catalog.nextval('abtest.conversions_id_seq'), $2, $7, $8, $3))," \
" visitor AS (" \
"  INSERT INTO abtest.visitor_goals AS g (experiment_id, user_id, goal, value_total, events)" \
"  VALUES ($1, $2, $7, $10, 1)" \
"  ON CONFLICT ON CONSTRAINT visitor_goals_pkey" \
"  DO UPDATE SET value_total = g.value_total OPERATOR(pg_catalog.+) $10," \
"                events = g.events OPERATOR(pg_catalog.+) 1" \
"  RETURNING g.events OPERATOR(pg_catalog.=) 1 AS first, g.value_total AS y)," \
" cov AS (" \
"  SELECT k.covariate AS x, k.had_event AS flag FROM abtest.visitor_covariates k" \
"   WHERE $11 AND k.experiment_id OPERATOR(pg_catalog.=) $1" \
"     AND k.user_id OPERATOR(pg_catalog.=) $2 AND k.goal OPERATOR(pg_catalog.=) $7)"

#define GOAL_SUMS_CTES \
" goal_seen AS (" \
"  SELECT v.value::pg_catalog.uuid AS variant_id" \
"    FROM pg_catalog.jsonb_each_text($9) AS v" \
"   ORDER BY 1)," \
" sums AS (" \
"  INSERT INTO abtest.goal_counters AS c" \
"         (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares," \
"          cross_sum, cross_converters)" \
"  SELECT $1, $4, goal_seen.variant_id, $7, CASE WHEN visitor.first THEN 1 ELSE 0 END, $10," \
"         (visitor.y OPERATOR(pg_catalog.+) visitor.y OPERATOR(pg_catalog.-) $10)" \
"           OPERATOR(pg_catalog.*) $10," \
"         COALESCE((SELECT cov.x FROM cov), 0) OPERATOR(pg_catalog.*) $10," \
"         CASE WHEN visitor.first AND COALESCE((SELECT cov.flag FROM cov), false) THEN 1 ELSE 0 END" \
"    FROM visitor, goal_seen" \
"  ON CONFLICT ON CONSTRAINT goal_counters_pkey" \
"  DO UPDATE SET converters = c.converters OPERATOR(pg_catalog.+) excluded.converters," \
"                value_sum = c.value_sum OPERATOR(pg_catalog.+) excluded.value_sum," \
"                value_sum_squares = c.value_sum_squares OPERATOR(pg_catalog.+) excluded.value_sum_squares," \
"                cross_sum = c.cross_sum OPERATOR(pg_catalog.+) excluded.cross_sum," \
"                cross_converters = c.cross_converters OPERATOR(pg_catalog.+) excluded.cross_converters)"

#define EVENT_METRICS_CTES EVENT_VISITOR_CTES "," GOAL_SUMS_CTES

/* 1.0: the first conversion, then event; returns 1 when it converted. */
static AbtStatement first_conversion = {
	.what = "recording a first conversion",
	.sql = FIRST_CONVERSION_CTES " SELECT pg_catalog.count(*) FROM conv",
	.nargs = NUM_PARAMS_1_0, .argtypes = param_types, .result = SPI_OK_SELECT
};

/* 1.0: $1 experiment, $2 visitor, $3 goal, $4 value, $5 time */
static Oid	event_types[5] = {UUIDOID, TEXTOID, TEXTOID, NUMERICOID, TIMESTAMPTZOID};

static AbtStatement event_1_0 = {
	.what = "recording a conversion event",
	.sql = "INSERT INTO abtest.conversions (experiment_id, user_id, goal, value, created_at)"
	" VALUES ($1, $2, $3, $4, $5)",
	.nargs = 5, .argtypes = event_types, .result = SPI_OK_INSERT
};

/* 1.1, a returning converter: the event and its sums. */
static AbtStatement event_metrics = {
	.what = "recording a conversion event and its sums",
	.sql = "WITH" EVENT_METRICS_CTES " SELECT 0::pg_catalog.int8 FROM visitor",
	.nargs = NUM_PARAMS, .argtypes = param_types, .result = SPI_OK_SELECT, .on_shards = true
};

/*
 * 1.1, a visitor the lookup saw unconverted: the first conversion, the
 * event and its sums in one statement; returns 1 when it converted.  The
 * result's first column runs conv before visitor: like the two statements
 * of 1.0, a session takes the assignment row before the visitor's
 * visitor_goals row, so that two sessions converting one visitor queue on
 * the first and cannot deadlock on the second.
 */
static AbtStatement first_event_metrics = {
	.what = "recording a conversion event and its sums",
	.sql = FIRST_CONVERSION_CTES "," EVENT_METRICS_CTES
	" SELECT (SELECT pg_catalog.count(*) FROM conv), (SELECT pg_catalog.count(*) FROM visitor)",
	.nargs = NUM_PARAMS, .argtypes = param_types, .result = SPI_OK_SELECT, .on_shards = true
};

/*
 * The same statements for a later conversion call of an experiment in one
 * transaction (deltas.c): nothing counted, the counts returned for the
 * backend's deltas.  Columns: converted (1 when this call set
 * converted_at), the assignment's bucket, and (1.1) whether this is the
 * visitor's first event of the goal, its new total y, and its covariate x
 * and flag (NULL: none).
 */
enum
{
	DEFERRED_COL_CONVERTED = 1,
	DEFERRED_COL_BUCKET,
	DEFERRED_COL_FIRST_OF_GOAL,
	DEFERRED_COL_TOTAL,
	DEFERRED_COL_COVARIATE,
	DEFERRED_COL_FLAG
};

static AbtStatement first_conversion_deferred = {
	.what = "recording a first conversion",
	.sql = CONV_CTE " SELECT (SELECT pg_catalog.count(*) FROM conv), (SELECT bucket FROM conv)",
	.nargs = NUM_PARAMS_1_0, .argtypes = param_types, .result = SPI_OK_SELECT
};

static AbtStatement event_visitor_deferred = {
	.what = "recording a conversion event",
	.sql = "WITH" EVENT_VISITOR_CTES
	" SELECT 0::pg_catalog.int8, NULL::pg_catalog.timestamptz, visitor.first, visitor.y,"
	"        (SELECT x FROM cov), (SELECT flag FROM cov) FROM visitor",
	.nargs = NUM_PARAMS, .argtypes = param_types, .result = SPI_OK_SELECT, .on_shards = true
};

static AbtStatement first_event_visitor_deferred = {
	.what = "recording a conversion event",
	.sql = CONV_CTE "," EVENT_VISITOR_CTES
	" SELECT (SELECT pg_catalog.count(*) FROM conv), (SELECT bucket FROM conv),"
	"        (SELECT first FROM visitor), (SELECT y FROM visitor),"
	"        (SELECT x FROM cov), (SELECT flag FROM cov)",
	.nargs = NUM_PARAMS, .argtypes = param_types, .result = SPI_OK_SELECT, .on_shards = true
};

/* The variant ids of a stored variant map, in *n. */
pg_uuid_t *
abt_seen_variants(Jsonb *variants, int *n)
{
	JsonbIterator *it = JsonbIteratorInit(&variants->root);
	JsonbValue	v;
	JsonbIteratorToken token;
	pg_uuid_t  *ids = palloc(sizeof(pg_uuid_t) * (JB_ROOT_COUNT(variants) + 1));

	*n = 0;
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (token == WJB_VALUE && v.type == jbvString)
			ids[(*n)++] = *DatumGetUUIDP(DirectFunctionCall1(uuid_in,
															 CStringGetDatum(pnstrdup(v.val.string.val,
																					  v.val.string.len))));
	return ids;
}

/*
 * Runs a deferred statement and adds what it returned to the deltas: the
 * first conversion's counts, and (1.1, with_goal) the event's share of the
 * goal sums, as GOAL_SUMS_CTES computes it: y^2 - (y - v)^2 = (2y - v) v,
 * x v.  Returns whether this call converted the visitor.
 */
static bool
run_deferred(AbtStatement *statement, pg_uuid_t *experiment_id, Datum *args, char *nulls,
			 Jsonb *variants, text *goal, bool with_goal)
{
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	bool		converted;
	int			n;
	pg_uuid_t  *seen = abt_seen_variants(variants, &n);

	(void) abt_run(statement, experiment_id, args, nulls);
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	converted = DatumGetInt64(SPI_getbinval(tuple, desc, DEFERRED_COL_CONVERTED, &isnull)) == 1;
	if (converted)
		abt_deltas_add_conversion(experiment_id,
								  DatumGetTimestampTz(SPI_getbinval(tuple, desc,
																	DEFERRED_COL_BUCKET, &isnull)),
								  seen, n);
	if (with_goal)
	{
		bool		first_of_goal = DatumGetBool(SPI_getbinval(tuple, desc,
															   DEFERRED_COL_FIRST_OF_GOAL, &isnull));
		Datum		y = SPI_getbinval(tuple, desc, DEFERRED_COL_TOTAL, &isnull);
		Datum		v = args[P_COUNTED];
		Datum		squares = DirectFunctionCall2(numeric_mul,
												  DirectFunctionCall2(numeric_sub,
																	  DirectFunctionCall2(numeric_add, y, y),
																	  v),
												  v);
		AbtGoalSums sums = {0};
		bool		no_covariate;
		Datum		x = SPI_getbinval(tuple, desc, DEFERRED_COL_COVARIATE, &no_covariate);

		sums.converters = first_of_goal ? 1 : 0;
		sums.value_sum = DatumGetNumeric(v);
		sums.value_sum_squares = DatumGetNumeric(squares);
		if (!no_covariate)
		{
			sums.cross_sum = DatumGetNumeric(DirectFunctionCall2(numeric_mul, x, v));
			sums.cross_converters = first_of_goal &&
				DatumGetBool(SPI_getbinval(tuple, desc, DEFERRED_COL_FLAG, &isnull)) ? 1 : 0;
		}
		abt_deltas_add_goal(experiment_id, goal, seen, n, &sums);
	}
	SPI_freetuptable(SPI_tuptable);
	return converted;
}

/* -1, 0 or 1 as a numeric is below, equal to or above an int64. */
static int
numeric_cmp_int64(Numeric value, int64 bound)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(value),
											 NumericGetDatum(int64_to_numeric(bound))));
}

/*
 * A trusted caller's value, before it enters the sums (1.1): at most
 * ABT_MAX_EVENT_VALUE in absolute value, refunds included.
 */
static void
check_trusted_value(Numeric value)
{
	if (numeric_cmp_int64(value, -ABT_MAX_EVENT_VALUE) < 0 ||
		numeric_cmp_int64(value, ABT_MAX_EVENT_VALUE) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("conversion value is out of range"),
				 errdetail("An event's value must be between -" INT64_FORMAT " and " INT64_FORMAT
						   " (1e15), so that the goal sums of abt_metric_stats cannot overflow.",
						   ABT_MAX_EVENT_VALUE, ABT_MAX_EVENT_VALUE)));
}

/*
 * A visitor's goal: at most ABT_MAX_VISITOR_GOAL_CHARS characters
 * (abt_track checks it once, before looking for experiments).
 */
void
abt_check_visitor_goal(text *goal)
{
	int			nchars = pg_mbstrlen_with_len(VARDATA_ANY(goal), VARSIZE_ANY_EXHDR(goal));

	if (nchars > ABT_MAX_VISITOR_GOAL_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversion goal is too long"),
				 errdetail("It has %d characters; a visitor's event may have at most %d.",
						   nchars, ABT_MAX_VISITOR_GOAL_CHARS)));
}

/* The goal of that name the configuration declares, or NULL (goals loaded). */
static AbtGoal *
declared_goal(AbtConfig *config, text *goal)
{
	for (int i = 0; i < config->ngoals; i++)
		if (strlen(config->goals[i].name) == VARSIZE_ANY_EXHDR(goal) &&
			memcmp(config->goals[i].name, VARDATA_ANY(goal), VARSIZE_ANY_EXHDR(goal)) == 0)
			return &config->goals[i];
	return NULL;
}

/*
 * The rules a visitor's event must meet (owner.c: a caller that may not
 * insert into abtest.conversions itself):
 * a goal of at most ABT_MAX_VISITOR_GOAL_CHARS characters and, when the
 * experiment declares goals (abtest.goals), one of them, with a value
 * between 0 and the goal's max_value when it has one.  From api_version
 * 1.1 on (the value enters the goal sums) a value without a declared
 * max_value lies between 0 and ABT_MAX_EVENT_VALUE.  Trusted callers'
 * events are not held to them: refunds, imports, any goal.  Reads only:
 * a rejected event has written nothing.  An undeclared goal is an error,
 * or (skip_undeclared: abt_track) makes it return false: the experiment
 * does not count the event.
 */
static bool
check_visitor_event(pg_uuid_t *experiment_id, int64 config_version, text *goal, Numeric value,
					AbtVersion api_version, bool skip_undeclared)
{
	AbtConfig  *config;
	AbtGoal    *declared;

	abt_check_visitor_goal(goal);
	config = abt_config_get(experiment_id, config_version, api_version);
	abt_config_load_goals(config);
	declared = declared_goal(config, goal);
	if (declared == NULL && config->ngoals > 0)
	{
		if (skip_undeclared)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversion goal \"%s\" is not declared for this experiment",
						text_to_cstring(goal)),
				 errdetail("The experiment declares its goals in abtest.goals; a visitor's event must name one of them.")));
	}
	if (value == NULL)
		return true;
	if (declared != NULL && declared->max_value != NULL)
	{
		if (numeric_cmp_int64(value, 0) < 0 ||
			DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(value),
											  NumericGetDatum(declared->max_value))) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("conversion value is out of range for goal \"%s\"", declared->name),
					 errdetail("A visitor's event may carry a value from 0 to %s.",
							   DatumGetCString(DirectFunctionCall1(numeric_out,
																   NumericGetDatum(declared->max_value))))));
	}
	else if (api_version >= ABT_VERSION_1_1 &&
			 (numeric_cmp_int64(value, 0) < 0 || numeric_cmp_int64(value, ABT_MAX_EVENT_VALUE) > 0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("conversion value is out of range"),
				 errdetail("A visitor's event may carry a value from 0 to " INT64_FORMAT
						   " (1e15) when its goal declares no max_value.", ABT_MAX_EVENT_VALUE),
				 errhint("A goal's max_value in abtest.goals sets a lower maximum; negative values (refunds) come from a trusted caller.")));
	return true;
}

/*
 * Reads and checks an event's arguments (user_id, goal, value and at from
 * argument `first` on), before anything is read: the ids' limits, a finite
 * value, the time a visitor may give (now) and a trusted caller's value
 * (1.1: within ABT_MAX_EVENT_VALUE); fills *event.
 */
void
abt_event_init(AbtEvent *event, FunctionCallInfo fcinfo, int first, AbtVersion api_version)
{
	text	   *user_id = PG_ARGISNULL(first) ? NULL : PG_GETARG_TEXT_PP(first);
	text	   *goal = PG_ARGISNULL(first + 1) ? NULL : PG_GETARG_TEXT_PP(first + 1);
	Numeric		value = PG_ARGISNULL(first + 2) ? NULL : PG_GETARG_NUMERIC(first + 2);
	TimestampTz at;

	abt_check_visitor(user_id, "visitor id");
	abt_check_visitor(goal, "conversion goal");
	if (value != NULL && (numeric_is_nan(value) || numeric_is_inf(value)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversion value must be a finite number")));
	at = abt_arg_time(fcinfo, first + 3, "conversion time");
	event->user_id = user_id;
	event->goal = goal;
	event->value = value;
	event->at = at;
	event->trusted = abt_caller_may_insert(ABT_TABLE_CONVERSIONS);
	if (!event->trusted)
		abt_check_time_choice(at, ABT_TABLE_CONVERSIONS, "conversion time");
	else if (api_version >= ABT_VERSION_1_1 && value != NULL)
		check_trusted_value(value);
}

/*
 * Whether the experiment counts the event: always for a trusted caller;
 * a visitor's within check_visitor_event's rules (an error, or false for an
 * undeclared goal with skip_undeclared).  The caller is connected to SPI.
 */
bool
abt_event_accepted(pg_uuid_t *experiment_id, int64 config_version, const AbtEvent *event,
				   AbtVersion api_version, bool skip_undeclared)
{
	if (event->trusted)
		return true;
	return check_visitor_event(experiment_id, config_version, event->goal, event->value,
							   api_version, skip_undeclared);
}

/*
 * The CUPED lookback with which the experiment declares the goal (1.1,
 * issue 20), in *lookback; false when it declares none.  Only experiments
 * with a lookback (one cached boolean) load their goals here.  The caller
 * is connected to SPI.
 */
bool
abt_goal_lookback(pg_uuid_t *experiment_id, int64 config_version, text *goal, Interval *lookback)
{
	AbtConfig  *config = abt_config_get(experiment_id, config_version, ABT_VERSION_1_1);
	AbtGoal    *declared;

	if (!config->has_lookback)
		return false;
	abt_config_load_goals(config);
	declared = declared_goal(config, goal);
	if (declared == NULL || declared->lookback == NULL)
		return false;
	*lookback = *declared->lookback;
	return true;
}

/*
 * Records the event of an assigned visitor in one experiment (lookup: the
 * visitor's assignment there, as read after the experiment's shared lock)
 * and returns whether it was the visitor's first conversion.  1.1: the
 * event and its goal sums in one statement, or through deltas.c for a
 * later call of the experiment in the transaction; a goal with a CUPED
 * lookback takes the visitor's lock first (track.c), then reads the
 * visitor's covariate in the statement.  The caller is connected to SPI
 * and acts as the tables' owner.
 */
bool
abt_event_record(pg_uuid_t *experiment_id, const AbtEvent *event, AbtLookup *lookup,
				 AbtVersion api_version)
{
	Interval	rollup_width = {.time = ABT_ROLLUP_BUCKET_USECS};
	Datum		args[NUM_PARAMS];
	char		nulls[NUM_PARAMS];
	bool		first = false;
	bool		isnull;
	bool		covariates = false;

	if (api_version >= ABT_VERSION_1_1)
	{
		Interval	lookback;

		covariates = abt_goal_lookback(experiment_id, lookup->version, event->goal, &lookback);
		if (covariates)
			abt_lock_visitor(event->user_id);
	}
	memset(nulls, ' ', sizeof(nulls));
	args[P_EXPERIMENT] = UUIDPGetDatum(experiment_id);
	args[P_VISITOR] = PointerGetDatum(event->user_id);
	args[P_AT] = TimestampTzGetDatum(event->at);
	args[P_SLOT] = Int32GetDatum(abt_slot());
	args[P_ROLLUP_WIDTH] = IntervalPGetDatum(&rollup_width);
	args[P_CTID] = PointerGetDatum(&lookup->ctid);
	args[P_GOAL] = PointerGetDatum(event->goal);
	args[P_VALUE] = event->value == NULL ? (Datum) 0 : NumericGetDatum(event->value);
	nulls[P_VALUE] = event->value == NULL ? 'n' : ' ';
	args[P_VARIANTS] = JsonbPGetDatum(lookup->variants);
	args[P_COUNTED] = event->value == NULL ? DirectFunctionCall1(int4_numeric, Int32GetDatum(0))
		: NumericGetDatum(event->value);
	args[P_COVARIATES] = BoolGetDatum(covariates);

	if (abt_deltas_counted_inline(experiment_id))
	{
		/* a later call of the experiment in this transaction: counted in deltas.c */
		if (api_version >= ABT_VERSION_1_1)
			first = run_deferred(lookup->converted ? &event_visitor_deferred :
								 &first_event_visitor_deferred, experiment_id, args, nulls,
								 lookup->variants, event->goal, true);
		else
		{
			Datum		event_args[5] = {args[P_EXPERIMENT], args[P_VISITOR], args[P_GOAL],
			args[P_VALUE], args[P_AT]};
			char		event_nulls[5] = {' ', ' ', ' ', nulls[P_VALUE], ' '};

			if (!lookup->converted)
				first = run_deferred(&first_conversion_deferred, experiment_id, args, nulls,
									 lookup->variants, event->goal, false);
			(void) abt_run(&event_1_0, experiment_id, event_args, event_nulls);
		}
	}
	else if (api_version >= ABT_VERSION_1_1)
	{
		/* one statement: the event, its sums and, if due, the first conversion */
		(void) abt_run(lookup->converted ? &event_metrics : &first_event_metrics, experiment_id,
					   args, nulls);
		first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											1, &isnull)) == 1;
	}
	else
	{
		Datum		event_args[5] = {args[P_EXPERIMENT], args[P_VISITOR], args[P_GOAL],
		args[P_VALUE], args[P_AT]};
		char		event_nulls[5] = {' ', ' ', ' ', nulls[P_VALUE], ' '};

		if (!lookup->converted)
		{
			(void) abt_run(&first_conversion, experiment_id, args, NULL);
			first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												1, &isnull)) == 1;
		}
		(void) abt_run(&event_1_0, experiment_id, event_args, event_nulls);
	}
	return first;
}

/*
 * abt_convert(experiment_id uuid, user_id text, goal text, value numeric,
 * at timestamptz) returns boolean: true for the visitor's first
 * conversion, false for a later one, NULL (nothing recorded) when the
 * visitor has no assignment in the experiment.  A visitor (owner.c) sends
 * events now, within check_visitor_event's rules; a trusted caller chooses
 * any time, goal and value.  From api_version 1.1 on the event's statement
 * also keeps the per-goal sums, and every value entering them lies within
 * ABT_MAX_EVENT_VALUE (checked, as every rule here, before anything is
 * written).
 */
static Datum
convert(FunctionCallInfo fcinfo, AbtVersion api_version)
{
	pg_uuid_t  *experiment_id;
	AbtEvent	event;
	AbtLookup	lookup;
	bool		first;
	AbtUserContext saved;

	experiment_id = abt_arg_experiment_id(fcinfo, 0);
	abt_event_init(&event, fcinfo, 1, api_version);

	/* before the lookup: a concurrent deletion of the experiment goes first */
	abt_lock_experiment_shared(experiment_id, api_version);
	SPI_connect();
	abt_act_as_owner(&saved);
	/* what every version reads: a conversion applies no enrolment rule */
	abt_lookup(experiment_id, event.user_id, ABT_VERSION_1_0, &lookup);
	if (!lookup.experiment_found)
		abt_report_unknown_experiment(experiment_id);
	(void) abt_event_accepted(experiment_id, lookup.version, &event, api_version, false);
	if (!lookup.assigned)
	{
		abt_restore_user(&saved);
		SPI_finish();
		PG_RETURN_NULL();
	}
	first = abt_event_record(experiment_id, &event, &lookup, api_version);
	abt_restore_user(&saved);
	SPI_finish();
	PG_RETURN_BOOL(first);
}

/* SQL (1.0): abt_convert, the event alone (a 1.0 database has no goal sums). */
Datum
abt_convert(PG_FUNCTION_ARGS)
{
	return convert(fcinfo, ABT_VERSION_1_0);
}

/* SQL (1.1): abt_convert, the event and the per-goal sums of abt_metric_stats. */
Datum
abt_convert_1_1(PG_FUNCTION_ARGS)
{
	return convert(fcinfo, ABT_VERSION_1_1);
}
