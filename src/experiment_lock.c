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

/* Takes the shared lock on an experiment until the end of the transaction. */
void
abt_lock_experiment_shared(pg_uuid_t *experiment_id)
{
	LOCKTAG		tag;
	uint32		key = ((uint32) experiment_id->data[0] << 24) |
		((uint32) experiment_id->data[1] << 16) |
		((uint32) experiment_id->data[2] << 8) |
		(uint32) experiment_id->data[3];

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ABT_LOCK_CLASS, key, 2);
	(void) LockAcquire(&tag, ShareLock, false, false);
}
