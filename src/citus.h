/*
 * citus.h
 *		What abtest knows of Citus (citus.c): whether its tables are Citus
 *		tables, this node's counter slot, which shard holds an experiment's
 *		rows and whether it is on this node.
 */
#ifndef ABT_CITUS_H
#define ABT_CITUS_H

#include "utils/uuid.h"

/* citus.c: whether a table's rows live in Citus shards (abt_distribute) */
extern void abt_citus_init(void);
extern bool abt_is_citus_table(Oid relid);
extern bool abt_is_citus_worker(void);
extern bool abt_on_citus(void);
extern int32 abt_slot(void);
extern int64 abt_citus_shard(Oid relid, pg_uuid_t *experiment_id);
extern int64 abt_citus_local_shard(Oid relid, pg_uuid_t *experiment_id);
extern Oid	abt_shard_relation(Oid namespace, const char *name, int64 shard);
extern void abt_citus_lock_shard_group(Oid relid, pg_uuid_t *experiment_id);
extern bool abt_citus_lock_reference_update(Oid relid);
extern uint64 abt_citus_invalidations(void);
extern void abt_citus_one_shard_at_a_time(void);

#endif							/* ABT_CITUS_H */
