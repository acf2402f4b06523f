/*
 * local_shards.c
 *		On a Citus node that holds an experiment's shards (abt_distribute(),
 *		a page view Citus delegated here), the hot-path statements
 *		(statement.h; statement.c asks here) run on the shards themselves, as
 *		they run on one server, and the lookup reads them directly
 *		(abt_rows_here, lookup.c).  Citus plans every statement on a
 *		distributed table anew, about half a millisecond each on a worker,
 *		and a new visitor needs three of them (assign.c), a conversion's one
 *		statement is planned in steps through intermediate results
 *		(convert.c); the same statement naming the shards is a plain kept
 *		plan.  (A shard's copy of conversions has no identity column:
 *		the statements give conversions.id from the table's sequence.)
 *
 * The shards are found as Citus finds them, and where pg_dist_placement
 * places them (citus.c).  A writer takes the lock Citus's executor takes
 * before it writes a shard (the co-located shards' placement metadata lock,
 * shared), so that moving or splitting the shards waits for it; a change of
 * the shards that committed meanwhile (an invalidation of the tables) sends
 * the call back to the statements Citus routes, and so does a transaction
 * block.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "citus.h"
#include "local_shards.h"
#include "relations.h"
#include "spi_plans.h"

/* The tables a new visitor writes or reads, and the constraints it names. */
enum
{
	T_EXPERIMENTS,
	T_ASSIGNMENTS,
	T_VARIANT_COUNTERS,
	T_EXPERIMENT_TIMELINE,
	T_VARIANT_TIMELINE,
	T_CONVERSIONS,
	T_VISITOR_GOALS,
	T_GOAL_COUNTERS,
	T_VISITOR_COVARIATES,
	NTABLES
};

static const AbtRelation table_relations[NTABLES] = {
	ABT_REL_EXPERIMENTS, ABT_REL_ASSIGNMENTS, ABT_REL_VARIANT_COUNTERS, ABT_REL_EXPERIMENT_TIMELINE,
	ABT_REL_VARIANT_TIMELINE, ABT_REL_CONVERSIONS, ABT_REL_VISITOR_GOALS, ABT_REL_GOAL_COUNTERS,
	ABT_REL_VISITOR_COVARIATES
};

/* Constraints of the statements, by the table whose shard carries them. */
static const struct
{
	const char *name;
	int			table;
}			constraint_names[] = {
	{"idx_assignments_lookup", T_ASSIGNMENTS},
	{"variant_counters_pkey", T_VARIANT_COUNTERS},
	{"experiment_timeline_pkey", T_EXPERIMENT_TIMELINE},
	{"variant_timeline_pkey", T_VARIANT_TIMELINE},
	{"visitor_goals_pkey", T_VISITOR_GOALS},
	{"goal_counters_pkey", T_GOAL_COUNTERS},
	{"visitor_covariates_pkey", T_VISITOR_COVARIATES},
};

/*
 * Kept plans on one set of co-located shards, by statement (its index,
 * given on its first use here): room for the hot path's statements.
 */
#define MAX_SHARD_STATEMENTS 24
static int	nshard_statements = 0;

typedef struct ShardPlans
{
	int64		shards[NTABLES];
	SPIPlanPtr	plans[MAX_SHARD_STATEMENTS];
} ShardPlans;

#define MAX_SHARD_SETS 64
static ShardPlans shard_sets[MAX_SHARD_SETS];
static int	nshard_sets = 0;

static bool
is_identifier_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/*
 * sql with every whole-word occurrence of `name` followed by "_<shard>":
 * the name Citus gives a table's or constraint's copy on a shard.
 */
static char *
rename_to_shard(const char *sql, const char *name, int64 shard)
{
	StringInfoData out;
	size_t		len = strlen(name);
	const char *p = sql;
	const char *hit;

	initStringInfo(&out);
	while ((hit = strstr(p, name)) != NULL)
	{
		bool		whole = (hit == sql || !is_identifier_char(hit[-1])) &&
			!is_identifier_char(hit[len]);

		appendBinaryStringInfo(&out, p, hit - p + len);
		if (whole)
			appendStringInfo(&out, "_" INT64_FORMAT, shard);
		p = hit + len;
	}
	appendStringInfoString(&out, p);
	return out.data;
}

/* Frees every kept plan (the shards changed). */
static void
forget_shard_plans(void)
{
	for (int i = 0; i < nshard_sets; i++)
		for (int k = 0; k < nshard_statements; k++)
			if (shard_sets[i].plans[k] != NULL)
				SPI_freeplan(shard_sets[i].plans[k]);
	nshard_sets = 0;
}

/*
 * Whether a call may work on this node's shards: on Citus, and not in a
 * transaction block: Citus does not know of these writes, and a later
 * statement of the block could reach the same shards through a connection
 * of its own.  (Citus delegates calls made outside one.)
 */
static bool
shards_usable(void)
{
	return abt_on_citus() && !IsTransactionBlock();
}

/*
 * Whether the shards of the n tables (in abtest's schema `namespace`) that
 * hold experiment_id's rows are all on this node: their ids into shards[],
 * their copies here into here[] (unless NULL).
 */
static bool
shards_on_this_node(pg_uuid_t *experiment_id, Oid namespace, int n, const AbtRelation *tables,
					int64 *shards, Oid *here)
{
	for (int t = 0; t < n; t++)
	{
		Oid			table = abt_relation(tables[t]);
		Oid			copy;

		shards[t] = OidIsValid(table) ? abt_citus_local_shard(table, experiment_id) : 0;
		if (shards[t] == 0)
			return false;		/* on another node */
		copy = abt_shard_relation(namespace, abt_relation_name(tables[t]), shards[t]);
		if (!OidIsValid(copy))
			return false;
		if (here != NULL)
			here[t] = copy;
	}
	return true;
}

/* The copy on this node of abtest's relation `which` (an index too) on shard `shard`. */
Oid
abt_shard_copy(AbtRelation which, int64 shard)
{
	return abt_shard_relation(abt_namespace(), abt_relation_name(which), shard);
}

/*
 * The relations that hold experiment_id's rows of the n tables on this
 * node, for a direct read (lookup.c): the tables themselves on one server
 * (shards[] zero), their shards where Citus places them on this node and a
 * call may work on them (shards_usable); false where they are elsewhere
 * (the caller runs a query Citus routes).
 */
bool
abt_rows_here(pg_uuid_t *experiment_id, int n, const AbtRelation *tables, int64 *shards,
			  Oid *here)
{
	if (!abt_on_citus())
	{
		for (int t = 0; t < n; t++)
			here[t] = abt_relation(tables[t]);
		memset(shards, 0, n * sizeof(int64));
		return true;
	}
	if (!shards_usable() || !OidIsValid(abt_namespace()))
		return false;
	return shards_on_this_node(experiment_id, abt_namespace(), n, tables, shards, here);
}

/*
 * The kept plan of a statement (sql, naming abtest's tables as on one
 * server; *index, its place among the plans on shards, 0 until its first
 * use here) on the shards of experiment_id, when they are all on this node,
 * with the shards to be written locked as Citus locks them; NULL when they
 * are not (statement.c runs what Citus routes).  Caller in SPI.
 */
SPIPlanPtr
abt_local_shard_plan(pg_uuid_t *experiment_id, const char *sql, int nargs, Oid *argtypes,
					 int *index)
{
	static uint64 invalidations_seen = 0;
	Oid			namespace;
	Oid			tables[NTABLES];
	int64		shards[NTABLES];
	uint64		invalidations_before = abt_citus_invalidations();
	ShardPlans *set = NULL;
	int			k;

	if (!shards_usable())
		return NULL;
	if (invalidations_before != invalidations_seen)
	{
		forget_shard_plans();
		invalidations_seen = invalidations_before;
	}
	namespace = abt_namespace();
	if (!OidIsValid(namespace))
		return NULL;
	for (int t = 0; t < NTABLES; t++)
	{
		tables[t] = abt_relation(table_relations[t]);
		if (!shards_on_this_node(experiment_id, namespace, 1, &table_relations[t], &shards[t],
								 NULL))
			return NULL;
	}

	/* as Citus's executor, before writing (one lock for the co-located shards) */
	abt_citus_lock_shard_group(tables[T_ASSIGNMENTS], experiment_id);
	AcceptInvalidationMessages();
	if (abt_citus_invalidations() != invalidations_before)
		return NULL;			/* the shards changed while we waited */

	for (int i = 0; i < nshard_sets && set == NULL; i++)
		if (memcmp(shard_sets[i].shards, shards, sizeof(shards)) == 0)
			set = &shard_sets[i];
	if (set == NULL)
	{
		if (nshard_sets == MAX_SHARD_SETS)
			forget_shard_plans();
		set = &shard_sets[nshard_sets++];
		memcpy(set->shards, shards, sizeof(shards));
		memset(set->plans, 0, sizeof(set->plans));
	}
	if (*index == 0)
	{
		if (nshard_statements == MAX_SHARD_STATEMENTS)
			elog(ERROR, "more than %d statements run on shards", MAX_SHARD_STATEMENTS);
		*index = ++nshard_statements;
	}
	k = *index - 1;
	if (set->plans[k] == NULL)
	{
		char	   *shard_sql = pstrdup(sql);
		SPIPlanPtr	plan;

		for (int t = 0; t < NTABLES; t++)
			shard_sql = rename_to_shard(shard_sql,
										psprintf("abtest.%s", abt_relation_name(table_relations[t])),
										shards[t]);
		for (size_t c = 0; c < lengthof(constraint_names); c++)
			shard_sql = rename_to_shard(shard_sql, constraint_names[c].name,
										shards[constraint_names[c].table]);
		plan = SPI_prepare(shard_sql, nargs, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 shard_sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		set->plans[k] = plan;
	}
	return set->plans[k];
}
