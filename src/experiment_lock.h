/*
 * experiment_lock.h
 *		The locks that keep visitors' writes and the deletion of their
 *		experiment apart, and one fold of an experiment at a time
 *		(experiment_lock.c).
 */
#ifndef ABT_EXPERIMENT_LOCK_H
#define ABT_EXPERIMENT_LOCK_H

#include "utils/uuid.h"

#include "version.h"

/*
 * An entry point's version (version.h) decides the locks a writer takes (a
 * database at 1.0 has 1.0's trigger).
 */
extern void abt_lock_experiment_shared(pg_uuid_t *experiment_id, AbtVersion version);
extern bool abt_lock_experiment_fold(pg_uuid_t *experiment_id, bool wait);
extern void abt_lock_visitor(text *user_id);

#endif							/* ABT_EXPERIMENT_LOCK_H */
