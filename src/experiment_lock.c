/*
 * experiment_lock.c
 *		The locks that keep visitors' writes and the deletion of their
 *		experiment apart, and one fold of an experiment at a time.
 *
 * The per-visitor and counter tables carry no foreign key to experiments
 * (every new visitor would share-lock the experiment row).  Instead, a call
 * that writes for an experiment holds the experiment's lock shared until
 * its transaction ends, and deleting an experiment (or changing its status)
 * takes the same lock exclusively in a BEFORE trigger
 * (abtest.lock_experiment()): the delete waits for writers in flight, and
 * later writers wait for the delete, then find the experiment gone.  A fold
 * (settle.c) holds it shared too, and its own fold lock exclusively.
 *
 * The locks' tag (1.1).  A lock of the lock manager's advisory kind, which
 * pg_locks shows as "advisory" and waits show as wait event "advisory":
 *	 field1	MyDatabaseId,
 *	 field2	bytes 0-3 of SHA-256 of the uuid's 16 bytes (big-endian),
 *	 field3	bytes 4-7 of the same,
 *	 field4	ABT_LOCK_EXPERIMENT or ABT_LOCK_FOLD (pg_locks.objsubid).
 * Two properties, each one of the bugs of 1.0's tag (issue 24):
 *  - SQL cannot name it: pg_advisory_lock() and its relatives set field4 to
 *	  1 (one int8 key) or 2 (two int4 keys) and nothing else, so no role can
 *	  hold an experiment's lock from SQL and stall its owner's pause,
 *	  deletion or abt_settle_counters (test/specs/lock-sql-advisory.spec).
 *	  Citus's own advisory classes are 4 to 15 (its resource_lock.h); ours
 *	  are far above them.
 *  - No owner can choose an id whose lock is another experiment's: that
 *	  needs a second preimage of 64 bits of SHA-256 (about 2^64 hashes, and
 *	  2^64 / n against any one of n experiments), where 1.0's key, the
 *	  uuid's first four bytes, was the owner's to choose
 *	  (test/specs/lock-collision.spec).
 * The hash costs about 0.6 microseconds (PostgreSQL 15 with OpenSSL, the
 * context's creation included; a lock's acquisition and release about 0.3
 * more), well under 1% of a visitor's call with its round trip, but a
 * fifth of abt_convert's own work for a visitor without an assignment:
 * the last experiment's key is kept, which serves a hot experiment.
 *
 * A database still at 1.0.  Its trigger is 1.0's PL/pgSQL, which takes
 * pg_advisory_xact_lock(1094866003 ('ABTS'), <the uuid's first four bytes
 * as int4>): its writers (the 1.0 entry points, ABT_VERSION_1_0) take that
 * lock shared, as 1.0's library did.  They take the 1.1 lock shared too:
 * a call that started before ALTER EXTENSION UPDATE committed runs 1.0's
 * code to its end, and a deletion right after the update, by 1.1's trigger,
 * must wait for it as well.  1.0 has no fold lock (its abt_settle_counters
 * is SQL and the settler serves 1.1 databases only).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "common/hashfn.h"
#include "storage/lock.h"

#include "citus.h"
#include "experiment_lock.h"
#include "relations.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(abt_lock_experiment_1_1);

/* field4 of an experiment's lock: 'AS' (abtest, shared by writers). */
#define ABT_LOCK_EXPERIMENT 0x4153

/* field4 of an experiment's fold lock: 'AF' (abtest, fold). */
#define ABT_LOCK_FOLD 0x4146

/* field4 of a visitor's CUPED lock: 'AV' (abtest, visitor; issue 20). */
#define ABT_LOCK_VISITOR 0x4156

/* 1.0's lock, pg_advisory_xact_lock(int4, int4): its first key, 'ABTS'. */
#define ABT_LOCK_1_0_KEY1 0x41425453

/* field4 PostgreSQL's lockfuncs.c gives a lock of two int4 keys. */
#define ADVISORY_INT4_KEYS 2

/* The last experiment experiment_key() hashed, and its key. */
static bool last_valid = false;
static pg_uuid_t last_id;
static uint64 last_key;

/*
 * The first 64 bits of SHA-256 of the uuid's 16 bytes, big-endian; the last
 * one is kept (a hot experiment's visitors would hash it call after call).
 */
static uint64
experiment_key(const pg_uuid_t *experiment_id)
{
	pg_cryptohash_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	uint64		key = 0;

	if (last_valid && memcmp(&last_id, experiment_id, UUID_LEN) == 0)
		return last_key;
	ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, experiment_id->data, UUID_LEN) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
	{
		char	   *why = pstrdup(pg_cryptohash_error(ctx));

		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute the lock key of an experiment: %s", why);
	}
	pg_cryptohash_free(ctx);
	for (int i = 0; i < 8; i++)
		key = (key << 8) | digest[i];
	last_id = *experiment_id;
	last_key = key;
	last_valid = true;
	return key;
}

/*
 * The tag of the lock (ABT_LOCK_EXPERIMENT) or fold lock (ABT_LOCK_FOLD) of
 * the experiment whose experiment_key() is `key`.
 */
static void
experiment_tag(LOCKTAG *tag, uint64 key, uint16 kind)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (key >> 32), (uint32) key, kind);
}

/* The tag of 1.0's lock of an experiment (see the file comment). */
static void
experiment_tag_1_0(LOCKTAG *tag, const pg_uuid_t *experiment_id)
{
	uint32		key = ((uint32) experiment_id->data[0] << 24) |
		((uint32) experiment_id->data[1] << 16) |
		((uint32) experiment_id->data[2] << 8) |
		(uint32) experiment_id->data[3];

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, ABT_LOCK_1_0_KEY1, key, ADVISORY_INT4_KEYS);
}

/*
 * Takes the shared lock on an experiment until the end of the transaction:
 * the lock of the script `version` the caller's SQL function belongs to.
 */
void
abt_lock_experiment_shared(pg_uuid_t *experiment_id, AbtVersion version)
{
	LOCKTAG		tag;

	if (version == ABT_VERSION_1_0)
	{
		experiment_tag_1_0(&tag, experiment_id);
		(void) LockAcquire(&tag, ShareLock, false, false);
	}
	experiment_tag(&tag, experiment_key(experiment_id), ABT_LOCK_EXPERIMENT);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/*
 * Takes the shared lock on an experiment and then its fold lock, until the
 * end of the transaction; without `wait`, takes neither and returns false
 * when either is held in a conflicting mode (a deletion or status change
 * of the experiment, another fold).  The shared lock first: a status
 * change holds the experiment's lock exclusively when its trigger folds.
 * 1.1's locks: the fold is 1.1's alone (settle.c's entry points are 1.1
 * functions, and the settler serves databases at 1.1 only).
 */
bool
abt_lock_experiment_fold(pg_uuid_t *experiment_id, bool wait)
{
	uint64		key = experiment_key(experiment_id);
	LOCKTAG		tag;
	LOCKTAG		fold_tag;

	experiment_tag(&tag, key, ABT_LOCK_EXPERIMENT);
	experiment_tag(&fold_tag, key, ABT_LOCK_FOLD);
	if (LockAcquire(&tag, ShareLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	if (LockAcquire(&fold_tag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
	{
		LockRelease(&tag, ShareLock, false);
		return false;
	}
	return true;
}

/*
 * On Citus, a visitor's lock on the node holding the visitor's shard of
 * abtest.visitor_events: a query Citus routes to that one shard (its one
 * row evaluates the lock there, even for a visitor without history), run
 * in the distributed transaction, so the lock is held until it ends.  From
 * the coordinator, from a worker running a delegated call, from the node
 * itself (Citus's local execution: this backend): one node, one lock.  A
 * later statement of the transaction on that shard uses the connection that
 * took it (Citus keeps a placement's connection for the transaction), so
 * taking it again does not wait for itself.  pg_advisory_xact_lock's key,
 * of one int8 (pg_locks' objsubid 1): SQL can name it (see abt_lock_visitor).
 */
static const char *visitor_lock_sql =
"SELECT pg_catalog.pg_advisory_xact_lock($2)"
"  FROM (SELECT pg_catalog.count(*)"
"          FROM (SELECT FROM abtest.visitor_events h"
"                 WHERE h.user_id OPERATOR(pg_catalog.=) $1 LIMIT 1) x) y";

/*
 * Takes a visitor's CUPED lock exclusively until the end of the transaction
 * (issue 20): abt_track and abt_convert of a goal with a lookback, and the
 * covariates of a new visitor's assignment, hold it, so that an event
 * racing the visitor's first assignment is counted in exactly one role,
 * covariate or outcome (track.c).  Its key is a 64-bit hash of the id, not
 * a secret one: two visitors who share it only wait for each other.  On
 * one server a tag SQL cannot name (as an experiment's lock); on Citus,
 * where the event runs on the coordinator and the assignment on the
 * experiment's worker, on the node of the visitor's history (above), with
 * pg_advisory_xact_lock's tag: a role that may run SQL on that node can
 * hold a visitor's lock and stall that visitor's events and first
 * assignments in experiments with CUPED goals (docs/citus.md).  The caller
 * is connected to SPI and acts as the tables' owner.
 */
void
abt_lock_visitor(text *user_id)
{
	LOCKTAG		tag;
	uint64		key = hash_bytes_extended((const unsigned char *) VARDATA_ANY(user_id),
										  VARSIZE_ANY_EXHDR(user_id), 0);

	if (abt_on_citus())
	{
		static SPIPlanPtr plan = NULL;
		Oid			types[2] = {TEXTOID, INT8OID};
		Datum		args[2] = {PointerGetDatum(user_id), Int64GetDatum((int64) key)};

		abt_check_spi(SPI_execute_plan(abt_plan(&plan, visitor_lock_sql, 2, types), args, NULL,
									   false, 0),
					  SPI_OK_SELECT, "taking a visitor's lock");
		if (SPI_processed != 1)
			elog(ERROR, "taking a visitor's lock: no row from the node of its history");
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	experiment_tag(&tag, key, ABT_LOCK_VISITOR);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * SQL (1.1): abtest.lock_experiment() returns trigger, BEFORE DELETE OR
 * UPDATE OF status ON abtest.experiments FOR EACH ROW: takes the
 * experiment's lock (OLD.id) exclusively until the end of the transaction,
 * and returns the row (OLD for a delete, NEW for an update) unchanged.
 * PUBLIC may not execute it (1.1 revokes that from every trigger function,
 * so no role but the extension's owner or one granted EXECUTE can attach
 * it to a table); where it is attached anyway, it refuses every table
 * outside schema abtest.
 */
Datum
abt_lock_experiment_1_1(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			attnum;
	Datum		id;
	bool		isnull;
	LOCKTAG		tag;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("abtest.lock_experiment() was not called by a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("abtest.lock_experiment() must be fired BEFORE DELETE OR UPDATE FOR EACH ROW")));

	/*
	 * abtest.experiments, or its copy on a Citus node (a shard in the same
	 * schema): never a table a role could create, such as a temporary one,
	 * whose rows name any experiment
	 */
	if (RelationGetNamespace(trigdata->tg_relation) != abt_namespace())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("abtest.lock_experiment() fires only for tables of schema abtest"),
				 errdetail("Table \"%s\" is not abtest's.",
						   RelationGetRelationName(trigdata->tg_relation))));
	desc = trigdata->tg_relation->rd_att;
	attnum = SPI_fnumber(desc, "id");
	if (attnum <= 0 || SPI_gettypeid(desc, attnum) != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("abtest.lock_experiment() needs a uuid column \"id\" in table \"%s\"",
						RelationGetRelationName(trigdata->tg_relation))));
	id = heap_getattr(trigdata->tg_trigtuple, attnum, desc, &isnull);
	if (!isnull)
	{
		experiment_tag(&tag, experiment_key(DatumGetUUIDP(id)), ABT_LOCK_EXPERIMENT);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_newtuple);
	return PointerGetDatum(trigdata->tg_trigtuple);
}
