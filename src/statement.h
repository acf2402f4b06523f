/*
 * statement.h
 *		A statement of the hot path (a new visitor's insert and counts, a
 *		conversion's), declared once where it is used, and the one call that
 *		runs it wherever abtest's rows live: on one server, on a Citus
 *		coordinator, on a Citus node holding the experiment's shards.  The
 *		choice is made in statement.c; its callers read as on one server.
 */
#ifndef ABTEST_STATEMENT_H
#define ABTEST_STATEMENT_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/uuid.h"

/*
 * One hot-path statement: a static of the file that runs it, written as on
 * one server (its SQL names abtest's tables, schema-qualified, with $1 the
 * experiment's id).  Adding a statement is adding one of these next to its
 * SQL.  The last two fields are kept by statement.c and local_shards.c
 * (zero in the initializer).
 */
typedef struct AbtStatement AbtStatement;

struct AbtStatement
{
	const char *what;			/* what it does, for a can't-happen error */
	const char *sql;
	int			nargs;
	Oid		   *argtypes;
	int			result;			/* the SPI_OK_* code it returns */

	/*
	 * Where Citus places the experiment's shards on this node: whether the
	 * statement runs on them, as a kept plan naming them (local_shards.c),
	 * instead of a plan Citus makes anew on every call.
	 */
	bool		on_shards;

	/*
	 * On Citus, where it does not run on shards here and Citus would not
	 * route its SQL to the experiment's shard in one step (an INSERT ...
	 * SELECT, a WITH holding an INSERT): statements Citus routes that do its
	 * work, in order, NULL-terminated.  Each takes the first (its nargs) of
	 * this statement's parameters; one that finds or writes no row ends the
	 * run, which then answers no row.  NULL: the statement itself is routed.
	 */
	AbtStatement *const *routed;

	SPIPlanPtr	plan;			/* its kept plan (spi_plans.c) */
	int			shard_index;	/* its plans' index on shards, from 1 (local_shards.c) */
};

/*
 * Runs statement with args and nulls (SPI_execute_plan's; nulls may be
 * NULL) for the experiment experiment_id, where its rows are, and checks
 * the SPI code; returns the rows processed, with the rows of a query in
 * SPI_tuptable.  The caller is connected to SPI.
 */
extern uint64 abt_run(AbtStatement *statement, pg_uuid_t *experiment_id, Datum *args,
					  const char *nulls);

/*
 * Whether an abt_run statement is executing: its queries are abtest's own,
 * which write their counts themselves (deltas.c writes the transaction's
 * kept counts before other queries only).
 */
extern bool abt_run_in_progress(void);

#endif							/* ABTEST_STATEMENT_H */
