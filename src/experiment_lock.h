/*
 * experiment_lock.h
 *		The locks that keep visitors' writes and the deletion of their
 *		experiment apart, and one fold of an experiment at a time
 *		(experiment_lock.c).
 */
#ifndef ABT_EXPERIMENT_LOCK_H
#define ABT_EXPERIMENT_LOCK_H

#include "utils/uuid.h"

/*
 * experiment_lock.c.  An entry point's version: the script its SQL function
 * belongs to (1.0's functions call the 1.0 C symbols, 1.1's the _1_1 ones),
 * which decides the locks a writer takes (a database at 1.0 has 1.0's
 * trigger).
 */
typedef enum AbtVersion
{
	ABT_VERSION_1_0,
	ABT_VERSION_1_1
} AbtVersion;

extern void abt_lock_experiment_shared(pg_uuid_t *experiment_id, AbtVersion version);
extern bool abt_lock_experiment_fold(pg_uuid_t *experiment_id, bool wait);

#endif							/* ABT_EXPERIMENT_LOCK_H */
