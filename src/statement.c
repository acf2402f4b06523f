/*
 * statement.c
 *		Runs a hot-path statement (statement.h) wherever abtest's rows live.
 *		This is the one place that chooses how:
 *
 *		- on one server: the statement's kept plan;
 *		- on Citus (abt_distribute()), where the experiment's shards are on
 *		  this node (a call Citus delegated here, outside a transaction
 *		  block): a kept plan naming the shards (local_shards.c), as on one
 *		  server;
 *		- on Citus elsewhere (the coordinator, a node without the shards):
 *		  a plan made for the parameter values, which Citus routes to the
 *		  experiment's shard (spi_plans.c), or, for a statement Citus would
 *		  not route in one step, its routed steps.
 *
 * Every choice costs a flag on one server: the hot path is measured in
 * tens of microseconds.
 */
#include "postgres.h"

#include "local_shards.h"
#include "spi_plans.h"
#include "statement.h"

/* Executes a plan of statement and checks its SPI code; returns the rows processed. */
static uint64
execute(AbtStatement *statement, SPIPlanPtr plan, Datum *args, const char *nulls)
{
	abt_check_spi(SPI_execute_plan(plan, args, nulls, false, 0), statement->result,
				  statement->what);
	return SPI_processed;
}

/*
 * Executes statement's kept plan (made for Citus to route, on Citus).  Only
 * after abt_plans_for_citus(), which drops the plans made for the other
 * deployment: a plan still kept is the right one.
 */
static uint64
execute_kept(AbtStatement *statement, Datum *args, const char *nulls)
{
	SPIPlanPtr	plan = statement->plan;

	if (plan == NULL)
		plan = abt_plan(&statement->plan, statement->sql, statement->nargs,
						statement->argtypes);
	return execute(statement, plan, args, nulls);
}

/* Runs routed steps in order until one finds or writes no row; its rows. */
static uint64
run_routed(AbtStatement *const *steps, Datum *args, const char *nulls)
{
	uint64		rows = 0;

	for (; *steps != NULL; steps++)
		if ((rows = execute_kept(*steps, args, nulls)) == 0)
			break;
	return rows;
}

/* Runs statement where its rows are (see abt_run). */
static uint64
run(AbtStatement *statement, pg_uuid_t *experiment_id, Datum *args, const char *nulls)
{
	if (abt_plans_for_citus())
	{
		SPIPlanPtr	plan = NULL;

		if (statement->on_shards)
			plan = abt_local_shard_plan(experiment_id, statement->sql, statement->nargs,
										statement->argtypes, &statement->shard_index);
		if (plan != NULL)
			return execute(statement, plan, args, nulls);
		if (statement->routed != NULL)
			return run_routed(statement->routed, args, nulls);
	}
	return execute_kept(statement, args, nulls);
}

/* abt_run calls in progress (nested: a user's trigger calling abtest) */
static int	running = 0;

/* See statement.h. */
uint64
abt_run(AbtStatement *statement, pg_uuid_t *experiment_id, Datum *args, const char *nulls)
{
	volatile uint64 rows = 0;

	running++;
	PG_TRY();
	{
		rows = run(statement, experiment_id, args, nulls);
	}
	PG_FINALLY();
	{
		running--;
	}
	PG_END_TRY();
	return rows;
}

/* See statement.h. */
bool
abt_run_in_progress(void)
{
	return running > 0;
}
