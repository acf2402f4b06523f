/*
 * local_shards.h
 *		A new visitor's statements on this node's shards, on a Citus node
 *		that holds them (local_shards.c).
 */
#ifndef ABT_LOCAL_SHARDS_H
#define ABT_LOCAL_SHARDS_H

#include "executor/spi.h"
#include "utils/uuid.h"

#include "relations.h"

/* local_shards.c: an experiment's shards on this node (Citus) */
extern SPIPlanPtr abt_local_shard_plan(pg_uuid_t *experiment_id, const char *sql, int nargs,
									   Oid *argtypes, int *index);
extern Oid	abt_shard_copy(AbtRelation which, int64 shard);
extern bool abt_rows_here(pg_uuid_t *experiment_id, int n, const AbtRelation *tables,
						  int64 *shards, Oid *here);

#endif							/* ABT_LOCAL_SHARDS_H */
