/*
 * track.c
 *		abt_track: one event of a visitor, attributed to every experiment
 *		where the visitor has an assignment made at or before the event; and
 *		CUPED's pre-exposure history and covariates (issue 20).
 *
 * Attribution.  The visitor's experiments are found by probing each
 * experiment's primary key of abtest.assignments (experiment_id, user_id):
 * a nested loop from abtest.experiments, no index on user_id, so that no
 * new visitor pays for one (docs/conversions.md has the measured cost, which
 * grows with the number of experiments, completed ones included).  The
 * event is recorded in each as abt_convert would record it (convert.c's
 * abt_event_record: the event, first conversion, goal sums, timeline,
 * realtime).  A visitor's event (owner.c) is counted only where the
 * experiment accepts the goal: an experiment that declares goals without
 * this one skips it (as GrowthBook attributes a metric only to experiments
 * that have it); a value out of an accepting experiment's bounds is an
 * error for the whole call.  Every rule is checked before anything is
 * written: a rejected event has written nothing.
 *
 * History.  When some experiment declares the goal with a CUPED lookback
 * (abtest.goals.cuped_lookback; one probe of a partial index), the event
 * is kept in abtest.visitor_events.  A new visitor of an experiment with
 * such goals (a cached boolean of its configuration: others pay nothing)
 * takes, per goal with a lookback, x = the sum of its history's values in
 * [assigned_at - lookback, assigned_at) (NULL counts 0) and the flag "had
 * an event there" (abt_take_covariates, from assign.c): a row of
 * abtest.visitor_covariates, and covariate_visitors, covariate_sum,
 * covariate_sum_squares and covariate_converters of goal_counters for the
 * variants it got.  Each later event of the goal adds x v to cross_sum, and
 * 1 to cross_converters when it makes a converter of a visitor whose flag is
 * 1 (convert.c).  An event at exactly assigned_at is an outcome.
 *
 * One role per event.  An event racing the visitor's first assignment must
 * be counted as a covariate or as an outcome, exactly once.  abt_track of a
 * goal with a lookback, abt_convert of such a goal and the taking of a new
 * visitor's covariates hold the visitor's lock (experiment_lock.c) until
 * their transaction ends, so they run one after the other, each reading
 * (READ COMMITTED: a statement after the lock sees every earlier holder's
 * commit) what the earlier ones wrote:
 *  - the assignment second: it sees the event in the history; before
 *    assigned_at it is part of x; at or after it (the event's transaction
 *    could not see the assignment) it is recorded now as an outcome;
 *  - the event second: it sees the assignment; at or after assigned_at it
 *    is an outcome, as any; before it but inside the window (the
 *    assignment could not see it, or a trusted caller adds history late)
 *    it moves the visitor's covariate: x, the flag, and every sum that
 *    holds them (backfill_covariate).
 * Both orders: test/specs/track-first-assign.spec.  The sums' changes go
 * through deltas.c, which writes them before commit.  On Citus the event
 * runs on the coordinator and the assignment on its experiment's worker:
 * the lock is taken on the node of the visitor's history, wherever the
 * call runs (experiment_lock.c; test/client/citus.sh, and docs/citus.md for
 * the race of Citus's commits left).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "checks.h"
#include "convert.h"
#include "deltas.h"
#include "experiment_config.h"
#include "experiment_lock.h"
#include "lookup.h"
#include "owner.h"
#include "spi_plans.h"
#include "statement.h"
#include "track.h"

PG_FUNCTION_INFO_V1(abt_track);

/* Whether some experiment looks back on the goal $1. */
static const char *is_history_sql =
"SELECT EXISTS (SELECT FROM abtest.goals g"
"                WHERE g.goal OPERATOR(pg_catalog.=) $1 AND g.cuped_lookback IS NOT NULL)";

/*
 * The visitor $1's experiments: one probe of each experiment's key of
 * assignments, in experiment order (the order their locks are taken in).
 */
static const char *experiments_sql =
"SELECT e.id, e.config_version, a.assigned_at"
"  FROM abtest.experiments e"
"  JOIN abtest.assignments a ON a.experiment_id OPERATOR(pg_catalog.=) e.id"
" WHERE a.user_id OPERATOR(pg_catalog.=) $1"
" ORDER BY e.id";

enum
{
	EXPERIMENTS_ID = 1,
	EXPERIMENTS_CONFIG_VERSION,
	EXPERIMENTS_ASSIGNED_AT
};

/* $1 visitor, $2 goal, $3 value, $4 time */
static const char *history_insert_sql =
"INSERT INTO abtest.visitor_events (user_id, goal, value, at) VALUES ($1, $2, $3, $4)";

/* $1 visitor, $2 goal, $3 the window's start: its history from there on */
static const char *window_sql =
"SELECT h.value, h.at FROM abtest.visitor_events h"
" WHERE h.user_id OPERATOR(pg_catalog.=) $1 AND h.goal OPERATOR(pg_catalog.=) $2"
"   AND h.at OPERATOR(pg_catalog.>=) $3";

/* $1 experiment, $2 visitor, $3 goals, $4 their x, $5 their flags */
static Oid	covariates_types[5] = {UUIDOID, TEXTOID, TEXTARRAYOID, NUMERICARRAYOID, BOOLARRAYOID};

static AbtStatement covariates_insert = {
	.what = "keeping a visitor's covariates",
	.sql =
	"INSERT INTO abtest.visitor_covariates (experiment_id, user_id, goal, covariate, had_event)"
	" SELECT $1, $2, u.goal, u.x, u.flag"
	"   FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5))"
	"        AS u(goal, x, flag)",
	.nargs = 5, .argtypes = covariates_types, .result = SPI_OK_INSERT
};

/*
 * $1 experiment, $2 visitor, $3 goal, $4 the value counted: moves the
 * visitor's covariate by it; returns the covariate and flag before, and the
 * visitor's total y of the goal (NULL: not a converter).  No row: the
 * visitor's covariates were not taken (a lookback declared since).
 */
static Oid	backfill_types[4] = {UUIDOID, TEXTOID, TEXTOID, NUMERICOID};

static AbtStatement backfill = {
	.what = "moving a visitor's covariate",
	.sql =
	"WITH old AS ("
	"  SELECT k.covariate, k.had_event FROM abtest.visitor_covariates k"
	"   WHERE k.experiment_id OPERATOR(pg_catalog.=) $1 AND k.user_id OPERATOR(pg_catalog.=) $2"
	"     AND k.goal OPERATOR(pg_catalog.=) $3),"
	" moved AS ("
	"  UPDATE abtest.visitor_covariates k"
	"     SET covariate = k.covariate OPERATOR(pg_catalog.+) $4, had_event = true"
	"   WHERE k.experiment_id OPERATOR(pg_catalog.=) $1 AND k.user_id OPERATOR(pg_catalog.=) $2"
	"     AND k.goal OPERATOR(pg_catalog.=) $3"
	"  RETURNING 1)"
	"SELECT old.covariate, old.had_event,"
	"       (SELECT g.value_total FROM abtest.visitor_goals g"
	"         WHERE g.experiment_id OPERATOR(pg_catalog.=) $1"
	"           AND g.user_id OPERATOR(pg_catalog.=) $2 AND g.goal OPERATOR(pg_catalog.=) $3),"
	"       (SELECT pg_catalog.count(*) FROM moved)"
	"  FROM old",
	.nargs = 4, .argtypes = backfill_types, .result = SPI_OK_SELECT
};

/* One of the visitor's experiments, and what the event does there. */
typedef struct TrackTarget
{
	pg_uuid_t	id;
	int64		config_version;
	TimestampTz assigned_at;
	bool		outcome;		/* assigned at or before the event: counted */
	bool		covariate;		/* assigned after it, within a lookback: x moves */
} TrackTarget;

/* Numeric helpers */
static Numeric
num_add(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(a),
											   NumericGetDatum(b)));
}

static Numeric
num_mul(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_mul, NumericGetDatum(a),
											   NumericGetDatum(b)));
}

static Numeric
num_zero(void)
{
	return int64_to_numeric(0);
}

/* Runs a kept plan of plain SQL (not experiment-keyed) and checks its code. */
static void
run_plain(SPIPlanPtr *cache, const char *sql, int nargs, Oid *types, Datum *args,
		  const char *nulls, bool read_only, int expected, const char *what)
{
	int			rc = SPI_execute_plan(abt_plan(cache, sql, nargs, types), args, nulls,
									  read_only, 0);

	abt_check_spi(rc, expected, what);
}

/* Whether some experiment declares the goal with a lookback: then the event is history. */
static bool
goal_is_history(text *goal)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(goal)};
	bool		isnull;

	run_plain(&plan, is_history_sql, 1, types, args, NULL, true, SPI_OK_SELECT,
			  "looking up a goal's lookback");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The visitor's experiments (assignments), in *n. */
static TrackTarget *
visitor_experiments(text *user_id, int *n)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(user_id)};
	TrackTarget *targets;

	/* not read-only: a snapshot taken now, after the visitor's lock */
	run_plain(&plan, experiments_sql, 1, types, args, NULL, false, SPI_OK_SELECT,
			  "finding a visitor's experiments");
	targets = palloc0(sizeof(TrackTarget) * (SPI_processed + 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		targets[r].id = *DatumGetUUIDP(SPI_getbinval(tuple, desc, EXPERIMENTS_ID, &isnull));
		targets[r].config_version = DatumGetInt64(SPI_getbinval(tuple, desc,
																EXPERIMENTS_CONFIG_VERSION,
																&isnull));
		targets[r].assigned_at = DatumGetTimestampTz(SPI_getbinval(tuple, desc,
																   EXPERIMENTS_ASSIGNED_AT,
																   &isnull));
	}
	*n = (int) SPI_processed;
	SPI_freetuptable(SPI_tuptable);
	return targets;
}

/* assigned_at - lookback */
static TimestampTz
window_start(TimestampTz assigned_at, Interval *lookback)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
												   TimestampTzGetDatum(assigned_at),
												   IntervalPGetDatum(lookback)));
}

/*
 * An event before the visitor's assignment in an experiment, inside the
 * goal's window, seen after the assignment took the covariates: moves x by
 * the value v (and sets the flag), and the sums that hold x: covariate_sum
 * + v, covariate_sum_squares + (2x + v) v, covariate_converters + 1 if the
 * flag was 0, cross_sum + v y, cross_converters + 1 if the flag was 0 and
 * the visitor is a converter of the goal.
 */
static void
backfill_covariate(TrackTarget *target, const AbtEvent *event)
{
	AbtLookup	lookup;
	Datum		args[4];
	Numeric		v = event->value != NULL ? event->value : num_zero();
	AbtGoalSums sums = {0};
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	bool		no_total;
	Numeric		x;
	bool		had_event;
	Datum		y;
	pg_uuid_t  *seen;
	int			nseen;

	abt_lock_experiment_shared(&target->id, ABT_VERSION_1_1);
	abt_lookup(&target->id, event->user_id, ABT_VERSION_1_0, &lookup);
	if (!lookup.experiment_found || !lookup.assigned)
		return;					/* deleted meanwhile */
	args[0] = UUIDPGetDatum(&target->id);
	args[1] = PointerGetDatum(event->user_id);
	args[2] = PointerGetDatum(event->goal);
	args[3] = NumericGetDatum(v);
	if (abt_run(&backfill, &target->id, args, NULL) == 0)
		return;					/* its covariates were not taken */
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	x = DatumGetNumeric(SPI_getbinval(tuple, desc, 1, &isnull));
	had_event = DatumGetBool(SPI_getbinval(tuple, desc, 2, &isnull));
	y = SPI_getbinval(tuple, desc, 3, &no_total);
	sums.covariate_sum = v;
	sums.covariate_sum_squares = num_mul(num_add(num_add(x, x), v), v);
	sums.covariate_converters = had_event ? 0 : 1;
	if (!no_total)
	{
		sums.cross_sum = num_mul(v, DatumGetNumeric(y));
		sums.cross_converters = had_event ? 0 : 1;
	}
	SPI_freetuptable(SPI_tuptable);
	seen = abt_seen_variants(lookup.variants, &nseen);
	abt_deltas_add_goal(&target->id, event->goal, seen, nseen, &sums);
}

/* Keeps the event in the visitor's history. */
static void
keep_history(const AbtEvent *event)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {TEXTOID, TEXTOID, NUMERICOID, TIMESTAMPTZOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	args[0] = PointerGetDatum(event->user_id);
	args[1] = PointerGetDatum(event->goal);
	args[2] = event->value != NULL ? NumericGetDatum(event->value) : (Datum) 0;
	nulls[2] = event->value != NULL ? ' ' : 'n';
	args[3] = TimestampTzGetDatum(event->at);
	run_plain(&plan, history_insert_sql, 4, types, args, nulls, false, SPI_OK_INSERT,
			  "keeping a visitor's event");
}

/*
 * abt_track(user_id text, goal text, value numeric, at timestamptz) returns
 * integer: the number of experiments that counted the event as an outcome.
 */
Datum
abt_track(PG_FUNCTION_ARGS)
{
	AbtEvent	event;
	AbtUserContext saved;
	TrackTarget *targets;
	int			ntargets;
	bool		history;
	int32		counted = 0;

	abt_event_init(&event, fcinfo, 0, ABT_VERSION_1_1);
	if (!event.trusted)
		abt_check_visitor_goal(event.goal);

	SPI_connect();
	abt_act_as_owner(&saved);
	history = goal_is_history(event.goal);
	if (history)
		abt_lock_visitor(event.user_id);	/* before reading the assignments */
	targets = visitor_experiments(event.user_id, &ntargets);

	/* every rule first: a rejected event writes nothing */
	for (int i = 0; i < ntargets; i++)
	{
		TrackTarget *t = &targets[i];
		Interval	lookback;

		if (t->assigned_at <= event.at)
			t->outcome = abt_event_accepted(&t->id, t->config_version, &event, ABT_VERSION_1_1,
											true);
		else if (history &&
				 abt_goal_lookback(&t->id, t->config_version, event.goal, &lookback))
			t->covariate = event.at >= window_start(t->assigned_at, &lookback);
	}

	if (history)
		keep_history(&event);
	for (int i = 0; i < ntargets; i++)
	{
		TrackTarget *t = &targets[i];

		if (t->outcome)
		{
			AbtLookup	lookup;

			/* before the lookup: a concurrent deletion of the experiment goes first */
			abt_lock_experiment_shared(&t->id, ABT_VERSION_1_1);
			abt_lookup(&t->id, event.user_id, ABT_VERSION_1_0, &lookup);
			if (!lookup.experiment_found || !lookup.assigned)
				continue;		/* deleted meanwhile */
			(void) abt_event_record(&t->id, &event, &lookup, ABT_VERSION_1_1);
			counted++;
		}
		else if (t->covariate)
			backfill_covariate(t, &event);
	}
	abt_restore_user(&saved);
	SPI_finish();
	PG_RETURN_INT32(counted);
}

/*
 * A new visitor's covariates in an experiment with CUPED goals (from
 * assign.c, after the assignment's insert): per goal with a lookback, x
 * and the flag from the visitor's history in [assigned_at - lookback,
 * assigned_at), kept in visitor_covariates and added to the covariate sums
 * of the n variants chosen.  History at or after assigned_at, which no
 * abt_track could attribute to this assignment (see the file comment), is
 * recorded as outcomes.  The caller is connected to SPI and acts as the
 * tables' owner.
 */
void
abt_take_covariates(pg_uuid_t *experiment_id, text *user_id, TimestampTz assigned_at,
					AbtConfig *config, pg_uuid_t *chosen, int nchosen)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};
	int			ngoals;
	Datum	   *goals;
	Datum	   *xs;
	Datum	   *flags;
	int			n = 0;
	AbtEvent   *outcomes = NULL;
	int			noutcomes = 0;
	int			outcomes_room = 0;

	abt_lock_visitor(user_id);
	abt_config_load_goals(config);
	ngoals = config->ngoals;
	goals = palloc(sizeof(Datum) * (ngoals + 1));
	xs = palloc(sizeof(Datum) * (ngoals + 1));
	flags = palloc(sizeof(Datum) * (ngoals + 1));
	for (int g = 0; g < ngoals; g++)
	{
		AbtGoal    *goal = &config->goals[g];
		text	   *name;
		Datum		args[3];
		Numeric		x = num_zero();
		bool		had_event = false;
		AbtGoalSums sums = {0};

		if (goal->lookback == NULL)
			continue;
		name = cstring_to_text(goal->name);
		args[0] = PointerGetDatum(user_id);
		args[1] = PointerGetDatum(name);
		args[2] = TimestampTzGetDatum(window_start(assigned_at, goal->lookback));
		run_plain(&plan, window_sql, 3, types, args, NULL, false, SPI_OK_SELECT,
				  "reading a visitor's history");
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		null_value;
			bool		isnull;
			Datum		value = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1,
											  &null_value);
			TimestampTz at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[r],
															   SPI_tuptable->tupdesc, 2,
															   &isnull));

			if (at < assigned_at)
			{
				had_event = true;
				if (!null_value)
					x = num_add(x, DatumGetNumeric(value));
				continue;
			}
			if (noutcomes == outcomes_room)
			{
				outcomes_room = outcomes_room * 2 + 4;
				outcomes = outcomes == NULL ? palloc(sizeof(AbtEvent) * outcomes_room) :
					repalloc(outcomes, sizeof(AbtEvent) * outcomes_room);
			}
			outcomes[noutcomes].user_id = user_id;
			outcomes[noutcomes].goal = name;
			outcomes[noutcomes].value = null_value ? NULL : DatumGetNumericCopy(value);
			outcomes[noutcomes].at = at;
			outcomes[noutcomes].trusted = true;
			noutcomes++;
		}
		SPI_freetuptable(SPI_tuptable);
		goals[n] = PointerGetDatum(name);
		xs[n] = NumericGetDatum(x);
		flags[n] = BoolGetDatum(had_event);
		n++;
		sums.covariate_visitors = 1;
		sums.covariate_sum = x;
		sums.covariate_sum_squares = num_mul(x, x);
		sums.covariate_converters = had_event ? 1 : 0;
		abt_deltas_add_goal(experiment_id, name, chosen, nchosen, &sums);
	}
	if (n > 0)
	{
		Datum		args[5];

		args[0] = UUIDPGetDatum(experiment_id);
		args[1] = PointerGetDatum(user_id);
		args[2] = PointerGetDatum(construct_array(goals, n, TEXTOID, -1, false, TYPALIGN_INT));
		args[3] = PointerGetDatum(construct_array(xs, n, NUMERICOID, -1, false, TYPALIGN_INT));
		args[4] = PointerGetDatum(construct_array(flags, n, BOOLOID, 1, true, TYPALIGN_CHAR));
		(void) abt_run(&covariates_insert, experiment_id, args, NULL);
	}
	for (int i = 0; i < noutcomes; i++)
	{
		AbtLookup	lookup;

		/* the assignment this transaction just stored, with its ctid */
		abt_lookup(experiment_id, user_id, ABT_VERSION_1_0, &lookup);
		if (lookup.assigned)
			(void) abt_event_record(experiment_id, &outcomes[i], &lookup, ABT_VERSION_1_1);
	}
}
