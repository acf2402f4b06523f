/*
 * local_shards.h
 *		A new visitor's statements on this node's shards, on a Citus node
 *		that holds them (local_shards.c).
 */
#ifndef ABT_LOCAL_SHARDS_H
#define ABT_LOCAL_SHARDS_H

#include "executor/spi.h"
#include "utils/uuid.h"

/* local_shards.c: a new visitor's statements on this node's shards (Citus) */
typedef enum AbtShardStatement
{
	ABT_SHARD_INSERT,			/* assign.c insert_sql */
	ABT_SHARD_FILL,				/* fill_sql */
	ABT_SHARD_INSERT_ONLY,		/* insert_only_sql */
	ABT_SHARD_ADD_COUNTS,		/* add_counts_sql */
	ABT_SHARD_EVENT_METRICS,	/* convert.c event_metrics_sql */
	ABT_SHARD_FIRST_EVENT_METRICS,	/* first_event_metrics_sql */
	ABT_NSHARD_STATEMENTS
} AbtShardStatement;
extern SPIPlanPtr abt_local_shard_plan(pg_uuid_t *experiment_id, AbtShardStatement which,
									   const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr abt_plan_on_shards(SPIPlanPtr *cache, pg_uuid_t *experiment_id,
									 AbtShardStatement which, const char *sql,
									 int nargs, Oid *argtypes);

#endif							/* ABT_LOCAL_SHARDS_H */
