/*
 * settler.c
 *		The settler: background workers that fold the striped counters
 *		(settle.c) every abtest.settle_interval, so that element_variants'
 *		totals follow the live counts and the counter and rollup tables stay
 *		small.
 *
 * With shared_preload_libraries = 'abtest', _PG_init registers a launcher
 * (backend_type "abtest launcher"), connected to no database: every
 * LAUNCHER_NAPTIME, and whenever a settler stops or CREATE / ALTER
 * EXTENSION abtest commits, it lists pg_database and starts one dynamic
 * worker per database (backend_type and application_name "abtest
 * settler").  A settler whose database has no abtest at 1.1 or later exits
 * at once and its database is not tried again for ABSENT_RETRY (or until
 * the extension is created there).  The launcher restarts a settler that
 * stopped (SIGTERM, an error); the postmaster restarts the launcher after a
 * crash.  DROP DATABASE (and the other commands that need a database
 * without connections) first stops that database's settler: the hook runs
 * in every backend, as the library is preloaded.  It does so only for a
 * command that will run: one its caller may run (PostgreSQL's own
 * permission checks, repeated before the settler is touched) where it may
 * run (outside a transaction block, for those that must be); and the
 * settler comes back when the transaction that stopped it ends, at once
 * if the command failed or was rolled back.
 *
 * Without preloading, abt_settler_start() starts a settler for the current
 * database; nothing restarts it after a server restart or crash.
 *
 * A settler sleeps on its latch between rounds (no CPU when idle); a round
 * is one short transaction that folds the experiments with slot rows, and
 * retries those it had to skip.  SIGHUP rereads the settings, SIGTERM ends
 * it; DROP EXTENSION ends it at its next round.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "citus.h"
#include "pg_compat.h"
#include "settle.h"
#include "settler.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(abt_settler_start);
PG_FUNCTION_INFO_V1(abt_settler_wake);

/* Entry points of the workers, named in their registrations. */
pg_noreturn PGDLLEXPORT void abt_settler_launcher_main(Datum main_arg);
pg_noreturn PGDLLEXPORT void abt_settler_main(Datum main_arg);

#define SETTLER_TYPE "abtest settler"
#define LAUNCHER_TYPE "abtest launcher"

/* How often the launcher lists the databases without being woken. */
#define LAUNCHER_NAPTIME_MS 10000
/* How long a database without abtest (or at 1.0) is left alone. */
#define ABSENT_RETRY_MS 60000
/* Least time between two starts of one database's settler. */
#define RESTART_DELAY_MS 1000
/* Databases the launcher serves at once. */
#define SETTLER_MAX_DBS 128

/* GUC abtest.settle_interval, in milliseconds; 0: the settler does nothing */
static int	abt_settle_interval = 1000;

/* One database's settler, in shared memory (preloaded only). */
typedef struct SettlerDb
{
	Oid			dbid;			/* InvalidOid: free entry */
	pid_t		pid;			/* the running settler, or 0 */
	TimestampTz not_before;		/* start no settler before this time */
} SettlerDb;

typedef struct SettlerShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	SettlerDb	dbs[SETTLER_MAX_DBS];
} SettlerShared;

static SettlerShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;
static bool wake_at_commit = false;

/*
 * Databases whose settler a command of this transaction stopped (in
 * TopMemoryContext): let back when the transaction ends, except a dropped
 * database's at commit (it is gone).
 */
static List *held_dbs = NIL;
static List *dropped_dbs = NIL;

/* The launcher's handles of the settlers it started, by entry of shared->dbs. */
static BackgroundWorkerHandle *handles[SETTLER_MAX_DBS];

/* ------------------------------------------------------------ shared state */

/* Asks for the shared state (shmem_request_hook). */
static void
settler_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SettlerShared)));
}

/* Creates or attaches to the shared state (shmem_startup_hook). */
static void
settler_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("abtest settler", sizeof(SettlerShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(SettlerShared));
		SpinLockInit(&shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* The entry of a database (created when `create`), or NULL; mutex held. */
static SettlerDb *
db_entry(Oid dbid, bool create)
{
	SettlerDb  *free_entry = NULL;

	for (int i = 0; i < SETTLER_MAX_DBS; i++)
	{
		if (shared->dbs[i].dbid == dbid)
			return &shared->dbs[i];
		if (shared->dbs[i].dbid == InvalidOid && free_entry == NULL)
			free_entry = &shared->dbs[i];
	}
	if (create && free_entry != NULL)
	{
		free_entry->dbid = dbid;
		free_entry->pid = 0;
		free_entry->not_before = 0;
		return free_entry;
	}
	return NULL;
}

/* Sets when a database's settler may start next (preloaded only). */
static void
set_not_before(Oid dbid, TimestampTz when)
{
	SettlerDb  *entry;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	entry = db_entry(dbid, true);
	if (entry != NULL)
		entry->not_before = when;
	SpinLockRelease(&shared->mutex);
}

/* Wakes the launcher, if there is one. */
static void
wake_launcher(void)
{
	Latch	   *latch = NULL;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	latch = shared->launcher_latch;
	SpinLockRelease(&shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * Stops a database's settler and keeps the launcher from starting it for a
 * while: before a command that needs the database free of connections.
 * The transaction's end lets it back (release_held_settlers); the delay
 * only bounds what a backend that never ends its transaction cleanly holds.
 */
static void
stop_settler(Oid dbid, bool dropping)
{
	SettlerDb  *entry;
	pid_t		pid = 0;
	MemoryContext old;

	SpinLockAcquire(&shared->mutex);
	entry = db_entry(dbid, true);
	if (entry != NULL)
	{
		entry->not_before = GetCurrentTimestamp() + ABSENT_RETRY_MS * INT64CONST(1000);
		pid = entry->pid;
	}
	SpinLockRelease(&shared->mutex);

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (dropping)
		dropped_dbs = lappend_oid(dropped_dbs, dbid);
	else
		held_dbs = lappend_oid(held_dbs, dbid);
	MemoryContextSwitchTo(old);

	/* the command itself waits (up to 5 s) for connections to go */
	if (pid != 0)
		kill(pid, SIGTERM);
}

/* Lets the launcher start a database's settler again now. */
static void
let_settler_back(Oid dbid)
{
	SettlerDb  *entry;

	SpinLockAcquire(&shared->mutex);
	entry = db_entry(dbid, false);
	if (entry != NULL)
		entry->not_before = 0;
	SpinLockRelease(&shared->mutex);
}

/*
 * At the end of the transaction: the settlers its commands stopped may come
 * back (a dropped database's only if the drop did not commit).
 */
static void
release_held_settlers(bool committed)
{
	ListCell   *lc;

	if (held_dbs == NIL && dropped_dbs == NIL)
		return;
	foreach(lc, held_dbs)
		let_settler_back(lfirst_oid(lc));
	if (!committed)
		foreach(lc, dropped_dbs)
			let_settler_back(lfirst_oid(lc));
	list_free(held_dbs);
	list_free(dropped_dbs);
	held_dbs = NIL;
	dropped_dbs = NIL;
	wake_launcher();
}

/* Whether the current user owns the database (or is a superuser), as PostgreSQL checks it. */
static bool
owns_database(Oid dbid)
{
	return abt_database_ownercheck(dbid, GetUserId());
}

/* Whether the database is marked a template (anyone with CREATEDB may copy it). */
static bool
database_is_template(Oid dbid)
{
	HeapTuple	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	bool		is_template = false;

	if (HeapTupleIsValid(tuple))
	{
		is_template = ((Form_pg_database) GETSTRUCT(tuple))->datistemplate;
		ReleaseSysCache(tuple);
	}
	return is_template;
}

/*
 * Whether a command that PostgreSQL refuses inside a transaction block (or
 * from a function) runs here: PreventInTransactionBlock's conditions.
 */
static bool
outside_transaction_block(ProcessUtilityContext context)
{
	return context == PROCESS_UTILITY_TOPLEVEL && !IsTransactionBlock() && !IsSubTransaction();
}

/*
 * DROP DATABASE: the database, when the drop will run (dbcommands.c's
 * dropdb: it exists, the caller owns it, it is not the current one, and
 * the command is not in a transaction block); else InvalidOid.
 */
static Oid
drop_target(DropdbStmt *stmt, ProcessUtilityContext context)
{
	Oid			dbid;

	if (!outside_transaction_block(context))
		return InvalidOid;
	dbid = get_database_oid(stmt->dbname, true);
	if (!OidIsValid(dbid) || dbid == MyDatabaseId || !owns_database(dbid))
		return InvalidOid;
	return dbid;
}

/*
 * ALTER DATABASE ... RENAME: the database, when the rename will run
 * (RenameDatabase: the caller owns it and has CREATEDB, it is not the
 * current one, the new name is free; a transaction block is allowed).
 */
static Oid
rename_target(RenameStmt *stmt)
{
	Oid			dbid = get_database_oid(stmt->subname, true);

	if (!OidIsValid(dbid) || dbid == MyDatabaseId || !owns_database(dbid) ||
		!have_createdb_privilege() || OidIsValid(get_database_oid(stmt->newname, true)))
		return InvalidOid;
	return dbid;
}

/*
 * CREATE DATABASE ... TEMPLATE: the template, when the copy will run
 * (createdb: the caller has CREATEDB, the template is marked a template or
 * the caller owns it, the new name is free, TEMPLATE is given once, and
 * the command is not in a transaction block).  An OWNER the caller cannot
 * become, an unknown option and the like fail later: the settler then
 * comes back at once.
 */
static Oid
template_target(CreatedbStmt *stmt, ProcessUtilityContext context)
{
	DefElem    *template = NULL;
	ListCell   *lc;
	Oid			dbid;

	if (!outside_transaction_block(context) || !have_createdb_privilege())
		return InvalidOid;
	foreach(lc, stmt->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		if (strcmp(option->defname, "template") != 0)
			continue;
		if (template != NULL)
			return InvalidOid;	/* given twice: refused */
		template = option;
	}
	/* none, or DEFAULT: template1, which has no settler */
	if (template == NULL || template->arg == NULL)
		return InvalidOid;
	dbid = get_database_oid(defGetString(template), true);
	if (!OidIsValid(dbid) || OidIsValid(get_database_oid(stmt->dbname, true)))
		return InvalidOid;
	if (!database_is_template(dbid) && !owns_database(dbid))
		return InvalidOid;
	return dbid;
}

/* The database whose settler the command must stop first, or InvalidOid. */
static Oid
settler_to_stop(Node *parsetree, ProcessUtilityContext context, bool *dropping)
{
	*dropping = false;
	if (IsA(parsetree, DropdbStmt))
	{
		*dropping = true;
		return drop_target((DropdbStmt *) parsetree, context);
	}
	if (IsA(parsetree, RenameStmt) &&
		((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
		return rename_target((RenameStmt *) parsetree);
	if (IsA(parsetree, CreatedbStmt))
		return template_target((CreatedbStmt *) parsetree, context);
	return InvalidOid;
}

/* Runs a utility command with the hook before ours, or PostgreSQL's own. */
static void
next_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context, params,
								  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

/*
 * ProcessUtility hook: DROP DATABASE, ALTER DATABASE ... RENAME and CREATE
 * DATABASE ... TEMPLATE need the database without connections: its settler
 * goes first (it would otherwise make them fail after 5 seconds), when the
 * command will run.  If it fails, the settler comes back at once.
 */
static void
settler_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						ProcessUtilityContext context, ParamListInfo params,
						QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		dropping = false;
	volatile Oid target = InvalidOid;

	if (shared != NULL)
		target = settler_to_stop(pstmt->utilityStmt, context, &dropping);
	if (!OidIsValid(target))
	{
		next_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
		return;
	}
	stop_settler(target, dropping);
	PG_TRY();
	{
		next_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		/* failed: back now (a subtransaction's rename would wait for the top one) */
		let_settler_back(target);
		wake_launcher();
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * At the end of a transaction: the settlers its commands stopped come back;
 * at commit of CREATE / ALTER EXTENSION abtest, the launcher tries this
 * database now.
 */
static void
settler_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
		release_held_settlers(true);
	else if (event == XACT_EVENT_ABORT)
		release_held_settlers(false);
	if (!wake_at_commit)
		return;
	if (event == XACT_EVENT_COMMIT)
	{
		wake_at_commit = false;
		set_not_before(MyDatabaseId, 0);
		wake_launcher();
	}
	else if (event == XACT_EVENT_ABORT)
		wake_at_commit = false;
}

/*
 * From _PG_init: abtest.settle_interval; when preloading, the shared state,
 * the launcher and the DROP DATABASE hook; always, the commit callback of
 * abt_settler_wake.
 */
void
abt_settler_init(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("abtest.settle_interval",
							"Time between two rounds of the settler, which folds the counters into element_variants.",
							"0 makes the settler do nothing (see src/settler.c).",
							&abt_settle_interval,
							1000,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	RegisterXactCallback(settler_xact_callback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = settler_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = settler_shmem_startup;
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = settler_process_utility;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "abtest");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "abt_settler_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, LAUNCHER_TYPE);
	snprintf(worker.bgw_type, BGW_MAXLEN, LAUNCHER_TYPE);
	RegisterBackgroundWorker(&worker);
}

/* ---------------------------------------------------------------- launcher */

/* The databases a settler may serve: connectable, not templates. */
static List *
database_list(void)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	MemoryContext caller = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);
		MemoryContext old;

		if (db->datistemplate || !db->datallowconn)
			continue;
		old = MemoryContextSwitchTo(caller);
		dbs = lappend_oid(dbs, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbs;
}

/* Starts a dynamic settler for dbid; notify: the pid told when it starts and stops. */
static BackgroundWorkerHandle *
start_settler(Oid dbid, pid_t notify)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "abtest");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "abt_settler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, SETTLER_TYPE " of database %u", dbid);
	snprintf(worker.bgw_type, BGW_MAXLEN, SETTLER_TYPE);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_notify_pid = notify;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

/* One pass of the launcher: a settler for every database that needs one. */
static void
launch_settlers(void)
{
	List	   *dbs = database_list();
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	/* forget dropped databases */
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < SETTLER_MAX_DBS; i++)
		if (shared->dbs[i].dbid != InvalidOid && !list_member_oid(dbs, shared->dbs[i].dbid))
			shared->dbs[i].dbid = InvalidOid;
	SpinLockRelease(&shared->mutex);
	for (int i = 0; i < SETTLER_MAX_DBS; i++)
		if (shared->dbs[i].dbid == InvalidOid && handles[i] != NULL)
		{
			pfree(handles[i]);
			handles[i] = NULL;
		}

	foreach(lc, dbs)
	{
		Oid			dbid = lfirst_oid(lc);
		SettlerDb  *entry;
		int			i;
		pid_t		pid;
		bool		due;

		SpinLockAcquire(&shared->mutex);
		entry = db_entry(dbid, true);
		due = entry != NULL && entry->not_before <= now && entry->pid == 0;
		if (due)
			entry->not_before = now + RESTART_DELAY_MS * INT64CONST(1000);
		i = entry != NULL ? (int) (entry - shared->dbs) : -1;
		SpinLockRelease(&shared->mutex);
		if (i < 0)
		{
			ereport(LOG,
					(errmsg("abtest launcher: more than %d databases, database %u has no settler",
							SETTLER_MAX_DBS, dbid)));
			continue;
		}
		if (handles[i] != NULL)
		{
			BgwHandleStatus status = GetBackgroundWorkerPid(handles[i], &pid);

			if (status == BGWH_STARTED || status == BGWH_NOT_YET_STARTED)
				continue;
			pfree(handles[i]);
			handles[i] = NULL;
		}
		if (!due)
			continue;
		handles[i] = start_settler(dbid, MyProcPid);
		if (handles[i] == NULL)
			ereport(LOG,
					(errmsg("abtest launcher: could not start a settler for database %u", dbid),
					 errhint("Raise max_worker_processes.")));
	}
	list_free(dbs);
}

/* Main of the launcher: lists databases and starts their settlers, until SIGTERM. */
void
abt_settler_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname(LAUNCHER_TYPE);

	SpinLockAcquire(&shared->mutex);
	shared->launcher_latch = MyLatch;
	SpinLockRelease(&shared->mutex);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		launch_settlers();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_NAPTIME_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ----------------------------------------------------------------- settler */

/* This settler's totals since it started, written to abtest.settler_status. */
static AbtSettleCounts totals;
static int64 rounds_with_work = 0;
static TimestampTz started_at;

/* Experiments the last round skipped, retried by the next (TopMemoryContext). */
static pg_uuid_t *retry_ids = NULL;
static int	nretry = 0;

static SPIPlanPtr extension_plan = NULL;
static SPIPlanPtr status_plan = NULL;

static const char *extension_sql =
"SELECT e.extversion FROM pg_catalog.pg_extension e"
" WHERE e.extname OPERATOR(pg_catalog.=) 'abtest'";

/* $1 pid, $2 started, $3 rounds, $4 rows folded, $5 variants updated, $6 skipped */
static const char *status_sql =
"INSERT INTO abtest.settler_status AS s (id, pid, started_at, last_fold_at, rounds,"
"                                        rows_folded, variants_updated, variants_skipped)"
" VALUES (true, $1, $2, pg_catalog.now(), $3, $4, $5, $6)"
" ON CONFLICT ON CONSTRAINT settler_status_pkey DO UPDATE"
" SET pid = excluded.pid, started_at = excluded.started_at,"
"     last_fold_at = excluded.last_fold_at, rounds = excluded.rounds,"
"     rows_folded = excluded.rows_folded, variants_updated = excluded.variants_updated,"
"     variants_skipped = excluded.variants_skipped";

/* Whether this database has abtest at 1.1 or later (1.0 has no settler); SPI connected. */
static bool
extension_ready(void)
{
	int			rc;
	bool		ready = false;

	rc = SPI_execute_plan(abt_plan(&extension_plan, extension_sql, 0, NULL), NULL, NULL, true, 1);
	abt_check_spi(rc, SPI_OK_SELECT, "looking up the extension");
	if (SPI_processed == 1)
	{
		char	   *version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		ready = version != NULL && strcmp(version, "1.0") != 0;
	}
	SPI_freetuptable(SPI_tuptable);
	return ready;
}

/* Clears this settler's pid in the shared state (on exit). */
static void
settler_detach(int code, Datum arg)
{
	SettlerDb  *entry;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	entry = db_entry(MyDatabaseId, false);
	if (entry != NULL && entry->pid == MyProcPid)
		entry->pid = 0;
	SpinLockRelease(&shared->mutex);
	wake_launcher();
}

/* Starts a transaction of the settler's, connected to SPI, with a snapshot. */
static void
begin_settler_transaction(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
commit_settler_transaction(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Folds one experiment in a transaction of its own; returns false when it
 * was skipped (held by someone), left rows stale, or failed (reported: the
 * round goes on with the next experiment, and this one is retried).
 */
static bool
settle_one(pg_uuid_t *experiment_id, AbtSettleCounts *counts, MemoryContext round_context)
{
	/* what this fold did, added to *counts once it has committed */
	AbtSettleCounts done = {0};
	volatile bool folded = false;
	volatile bool failed = false;

	PG_TRY();
	{
		begin_settler_transaction("abtest: folding counters");
		folded = abt_settle_experiment(experiment_id, false, &done);
		commit_settler_transaction();
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(round_context);
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		RESUME_INTERRUPTS();
		failed = true;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(round_context);
	if (failed)
		return false;
	counts->experiments += done.experiments;
	counts->rows_folded += done.rows_folded;
	counts->variants_updated += done.variants_updated;
	counts->variants_skipped += done.variants_skipped;
	counts->experiments_busy += done.experiments_busy;
	return folded;
}

/* Records this settler's totals in abtest.settler_status (its own transaction). */
static void
record_status(void)
{
	Oid			argtypes[6] = {INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		args[6];
	int			rc;

	begin_settler_transaction("abtest: recording status");
	args[0] = Int32GetDatum(MyProcPid);
	args[1] = TimestampTzGetDatum(started_at);
	args[2] = Int64GetDatum(rounds_with_work);
	args[3] = Int64GetDatum(totals.rows_folded);
	args[4] = Int64GetDatum(totals.variants_updated);
	args[5] = Int64GetDatum(totals.variants_skipped);
	rc = SPI_execute_plan(abt_plan(&status_plan, status_sql, 6, argtypes), args, NULL, false, 0);
	abt_check_spi(rc, SPI_OK_INSERT, "recording the settler's status");
	commit_settler_transaction();
}

/*
 * One round: lists the experiments that changed and those skipped last
 * time, in one transaction, then folds each in a transaction of its own: a
 * visitor that meets a row the fold holds waits for one experiment's fold,
 * never for a whole round over many experiments, and one experiment that
 * fails does not hold up the others.  Runs in the caller's round memory
 * context.  Returns false when the extension is gone (or was never there
 * at 1.1): the settler then exits.
 */
static bool
settle_round(void)
{
	MemoryContext round_context = CurrentMemoryContext;
	AbtSettleCounts counts = {0};
	pg_uuid_t  *ids = NULL;
	int			n = 0;
	pg_uuid_t  *stale;
	int			nstale = 0;
	bool		ready;
	bool		tables_locked = false;

	begin_settler_transaction("abtest: listing experiments to fold");
	ready = extension_ready();
	if (ready)
	{
		Datum		retry = (Datum) 0;
		pg_uuid_t  *listed;

		if (nretry > 0)
		{
			Datum	   *retry_datums = palloc(sizeof(Datum) * nretry);

			for (int i = 0; i < nretry; i++)
				retry_datums[i] = UUIDPGetDatum(&retry_ids[i]);
			retry = PointerGetDatum(construct_array(retry_datums, nretry, UUIDOID, UUID_LEN,
													false, TYPALIGN_CHAR));
		}
		/* on Citus the coordinator settles; a worker's settler idles */
		listed = NULL;
		if (!abt_on_citus() || !abt_is_citus_worker())
		{
			listed = abt_settle_list(false, false, retry, &n);
			tables_locked = listed == NULL;
		}
		ids = MemoryContextAlloc(round_context, sizeof(pg_uuid_t) * (n + 1));
		if (n > 0)
			memcpy(ids, listed, sizeof(pg_uuid_t) * n);
	}
	commit_settler_transaction();
	MemoryContextSwitchTo(round_context);
	if (!ready)
	{
		pgstat_report_activity(STATE_IDLE, NULL);
		return false;
	}
	if (tables_locked)
	{
		/* a TRUNCATE or a schema change: next round, the retries kept */
		pgstat_report_activity(STATE_IDLE, NULL);
		return true;
	}

	/*
	 * The experiments to retry next round: gathered here, kept (in the
	 * settler's lifetime context) once the round got through them all (a
	 * round cut short keeps the last list; what changed is listed anyway).
	 */
	stale = MemoryContextAlloc(round_context, sizeof(pg_uuid_t) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!settle_one(&ids[i], &counts, round_context))
			stale[nstale++] = ids[i];
	}
	if (retry_ids != NULL)
		pfree(retry_ids);
	retry_ids = MemoryContextAlloc(TopMemoryContext, sizeof(pg_uuid_t) * (nstale + 1));
	memcpy(retry_ids, stale, sizeof(pg_uuid_t) * nstale);
	nretry = nstale;

	if (counts.rows_folded > 0 || counts.variants_updated > 0)
	{
		rounds_with_work++;
		totals.rows_folded += counts.rows_folded;
		totals.variants_updated += counts.variants_updated;
		totals.variants_skipped += counts.variants_skipped;
		record_status();
		MemoryContextSwitchTo(round_context);
	}
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return true;
}

/*
 * Main of a settler of one database (main_arg: its oid): a round every
 * abtest.settle_interval until SIGTERM, DROP EXTENSION or the postmaster's
 * death.  An error ends the round, not the settler.
 */
void
abt_settler_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	MemoryContext loop_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname(SETTLER_TYPE);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION);
	started_at = GetCurrentTimestamp();

	if (shared != NULL)
	{
		SettlerDb  *entry;

		SpinLockAcquire(&shared->mutex);
		entry = db_entry(MyDatabaseId, true);
		if (entry != NULL)
			entry->pid = MyProcPid;
		SpinLockRelease(&shared->mutex);
		before_shmem_exit(settler_detach, (Datum) 0);
	}

	loop_context = AllocSetContextCreate(TopMemoryContext, "abtest settler round",
										 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		bool		ready = true;
		long		timeout;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (abt_settle_interval > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(loop_context);

			PG_TRY();
			{
				ready = settle_round();
			}
			PG_CATCH();
			{
				/* report, and try again next round */
				HOLD_INTERRUPTS();
				MemoryContextSwitchTo(loop_context);
				EmitErrorReport();
				FlushErrorState();
				AbortOutOfAnyTransaction();
				RESUME_INTERRUPTS();
				pgstat_report_activity(STATE_IDLE, NULL);
			}
			PG_END_TRY();
			MemoryContextSwitchTo(old);
			MemoryContextReset(loop_context);
		}
		if (!ready)
		{
			/* no abtest 1.1 here (any more): leave the database alone a while */
			ereport(DEBUG1,
					(errmsg("abtest settler: no abtest 1.1 or later in database %u, exiting",
							MyDatabaseId)));
			set_not_before(MyDatabaseId,
						   GetCurrentTimestamp() + ABSENT_RETRY_MS * INT64CONST(1000));
			proc_exit(0);
		}
		timeout = abt_settle_interval > 0 ? abt_settle_interval : -1;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout > 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------- SQL functions */

/*
 * SQL (1.1): abt_settler_start() returns integer: the pid of the current
 * database's settler, started now when none runs.  Without
 * shared_preload_libraries nothing restarts it after a server restart.
 */
Datum
abt_settler_start(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	BackgroundWorkerHandle *handle;
	pid_t		pid = 0;
	int			rc;
	BgwHandleStatus status;

	SPI_connect();
	args[0] = ObjectIdGetDatum(MyDatabaseId);
	rc = SPI_execute_with_args("SELECT a.pid FROM pg_catalog.pg_stat_activity a"
							   " WHERE a.datid OPERATOR(pg_catalog.=) $1"
							   "   AND a.backend_type OPERATOR(pg_catalog.=) '" SETTLER_TYPE "'",
							   1, argtypes, args, NULL, true, 1);
	abt_check_spi(rc, SPI_OK_SELECT, "looking for a settler");
	if (SPI_processed == 1)
	{
		bool		isnull;

		pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	if (pid != 0)
		PG_RETURN_INT32(pid);

	set_not_before(MyDatabaseId, 0);
	handle = start_settler(MyDatabaseId, MyProcPid);
	if (handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start the abtest settler"),
				 errdetail("No background worker slot is free."),
				 errhint("Raise max_worker_processes.")));
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start the abtest settler"),
				 errhint("See the server log.")));
	PG_RETURN_INT32(pid);
}

/*
 * SQL (1.1, internal): abtest.settler_wake() returns void: when the calling
 * transaction commits, the launcher starts this database's settler without
 * waiting (CREATE and ALTER EXTENSION abtest call it).
 */
Datum
abt_settler_wake(PG_FUNCTION_ARGS)
{
	wake_at_commit = true;
	PG_RETURN_VOID();
}
