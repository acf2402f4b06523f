/*
 * experiment_lock.c
 *		The lock that keeps visitors' writes and the deletion of their
 *		experiment apart.
 *
 * The per-visitor and counter tables carry no foreign key to experiments
 * (every new visitor would share-lock the experiment row).  Instead, a call
 * that writes for an experiment holds a shared transaction-level advisory
 * lock on it, and deleting an experiment (or changing its status) takes the
 * same lock exclusively in a BEFORE trigger: the delete waits for writers in
 * flight, and later writers wait for the delete, then find the experiment
 * gone.  The lock is pg_advisory_xact_lock(1094866003, <first four bytes of
 * the uuid as int4>), the key abtest.lock_experiment() takes in SQL.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"

#include "abtest.h"

/* First key of abtest's advisory locks: 'ABTS'. */
#define ABT_LOCK_CLASS 0x41425453

/*
 * First key of the lock that lets one fold of an experiment's counters run
 * at a time (src/settle.c): 'ABTF', pg_advisory_xact_lock(1094865990, key)
 * in SQL, with the same second key.
 */
#define ABT_FOLD_LOCK_CLASS 0x41425446

/* The second key of an experiment's locks: the uuid's first four bytes. */
static uint32
experiment_key(pg_uuid_t *experiment_id)
{
	return ((uint32) experiment_id->data[0] << 24) |
		((uint32) experiment_id->data[1] << 16) |
		((uint32) experiment_id->data[2] << 8) |
		(uint32) experiment_id->data[3];
}

/* Takes the shared lock on an experiment until the end of the transaction. */
void
abt_lock_experiment_shared(pg_uuid_t *experiment_id)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ABT_LOCK_CLASS, experiment_key(experiment_id), 2);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/*
 * Takes the shared lock on an experiment and then its fold lock, until the
 * end of the transaction; without `wait`, takes neither and returns false
 * when either is held in a conflicting mode (a deletion or status change
 * of the experiment, another fold).  The shared lock first: a status
 * change holds the experiment's lock exclusively when its trigger folds.
 */
bool
abt_lock_experiment_fold(pg_uuid_t *experiment_id, bool wait)
{
	LOCKTAG		tag;
	LOCKTAG		fold_tag;
	uint32		key = experiment_key(experiment_id);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ABT_LOCK_CLASS, key, 2);
	SET_LOCKTAG_ADVISORY(fold_tag, MyDatabaseId, ABT_FOLD_LOCK_CLASS, key, 2);
	if (LockAcquire(&tag, ShareLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	if (LockAcquire(&fold_tag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
	{
		LockRelease(&tag, ShareLock, false);
		return false;
	}
	return true;
}
