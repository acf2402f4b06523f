/*
 * abtest.h
 *		Shared declarations of the abtest extension, by layer: entry points
 *		(assign.c, convert.c, stats.c, timeline.c: the SQL-callable functions)
 *		call down into the shared services (argument checks, the lookup, the
 *		configuration cache, the answer builder, SPI plans, the experiment
 *		lock), which call down into the leaves (GrowthBook hashing and
 *		bucketing, statistics in stats_math.h).  Nothing calls upward.
 */
#ifndef ABTEST_H
#define ABTEST_H

#include "postgres.h"

#include <math.h>

#include "pg_compat.h"
#include "version.h"

#include "executor/spi.h"
#include "lib/ilist.h"
#include "storage/itemptr.h"
#include "fmgr.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* ---------------------------------------------------------------------
 * Rules with one definition each
 * ---------------------------------------------------------------------
 */

/*
 * Longest visitor id (and conversion goal) accepted, in characters.  The
 * released install script repeats it in CHECK constraints and PL/pgSQL
 * (it cannot be edited): tests at 256 and 257 characters hold the copies
 * equal.
 */
#define ABT_MAX_ID_CHARS 256

/*
 * What a visitor's call (owner.c: a caller that may not write the tables
 * directly) accepts beyond that: experiments in one abt_assign_batch call,
 * characters of a conversion goal (abtest.goals' CHECK repeats it).
 */
#define ABT_MAX_PAGE_EXPERIMENTS 50
#define ABT_MAX_VISITOR_GOAL_CHARS 64

/*
 * Largest absolute value of a conversion event's value that enters the
 * per-goal sums of abt_metric_stats (1.1): 10^15, within float8's
 * exact-integer range (2^53 ~ 9.007e15) and far from any overflow of the
 * sums.  With every event within it, a visitor's total after n events is at
 * most n 10^15, and a sum of squares over m visitors at most m (n 10^15)^2:
 * below 1e87 even for n and m at bigint's limit, where numeric overflows
 * at 1e131072 and float8 at 1.8e308.  So no caller can make a sum, its
 * fold or its statistics fail.  abt_convert_1_1 takes from a visitor a
 * value in [0, it] (or in [0, max_value] of a declared goal, which is at
 * most it), from a trusted caller one in [-it, it] (refunds); 22003
 * otherwise.  Copies in sql/abtest--1.0--1.1.sql: abtest.goals' CHECK on
 * max_value and abtest.rebuild_goal_sums() (the update's backfill, a
 * restore's rebuild), which clamps 1.0's stored values to [-it, it];
 * test/sql/event_value_bound.sql holds them equal.
 */
#define ABT_MAX_EVENT_VALUE INT64CONST(1000000000000000)

/*
 * What one call of an analytics function may cost, whoever calls it
 * (SQLSTATE 54000 beyond it, except where noted): goals in the goals
 * argument of abt_metric_stats (as given, repeats included), and rows of
 * one call's result: abt_metric_stats' rows, and abt_timeline_variants'
 * variants x buckets (22023 there, as the timeline's other window errors).
 * The arrays a call keeps cost a few tens of bytes a row, so a call stays
 * within a few tens of MB (the result itself spills to disk beyond
 * work_mem).
 */
#define ABT_MAX_GOALS_PER_CALL 1000
#define ABT_MAX_RESULT_ROWS 1000000

/*
 * What the configuration tables hold: variants of one element, elements of
 * one experiment (SQLSTATE 54000 beyond them).  The 1.1 script's triggers
 * (abtest.variant_limit_check, abtest.element_limit_check) read the numbers
 * through abtest.limits() (checks.c), which shows every limit here to SQL;
 * test/sql/call_limits.sql inserts up to each and one more.
 */
#define ABT_MAX_VARIANTS_PER_ELEMENT 100
#define ABT_MAX_ELEMENTS_PER_EXPERIMENT 50

/* The largest experiment the tables allow gets a week of hourly buckets. */
StaticAssertDecl((int64) ABT_MAX_ELEMENTS_PER_EXPERIMENT * ABT_MAX_VARIANTS_PER_ELEMENT * 7 * 24
				 <= ABT_MAX_RESULT_ROWS,
				 "a week's hourly timeline of every variant fits in one call");

/* Width of the timeline rollup buckets: 15 minutes divides every modern UTC offset. */
#define ABT_ROLLUP_BUCKET_USECS (INT64CONST(15) * 60 * USECS_PER_SEC)

/*
 * The start of the rollup bucket holding ts: buckets are aligned to the
 * PostgreSQL epoch (2000-01-01 00:00 UTC), as date_bin(width, ts, epoch).
 */
static inline TimestampTz
abt_rollup_bucket(TimestampTz ts)
{
	int64		r = ts % ABT_ROLLUP_BUCKET_USECS;

	if (r < 0)
		r += ABT_ROLLUP_BUCKET_USECS;
	return ts - r;
}

/* Text form of a uuid plus its terminating zero. */
#define ABT_UUID_TEXT_LEN 37

/* GUC: publication the install script and abt_realtime_publish() use */
extern char *abt_publication;

/* GUC: the tuning N* of abt_metric_stats' confidence sequences (abtest.c) */
extern int	abt_sequential_tuning;

/* GUC abtest.cache_memory (config_cache.c), in kB: 8 MB by default */
#define ABT_CACHE_MEMORY_DEFAULT 8192
extern int	abt_cache_memory;

/* ---------------------------------------------------------------------
 * The cached configuration of an experiment (config_cache.c)
 * ---------------------------------------------------------------------
 */

/* One variant of an element. */
typedef struct AbtVariant
{
	pg_uuid_t	id;
	char		id_text[ABT_UUID_TEXT_LEN];
	char	   *name;
	Jsonb	   *content;
	double		weight;			/* as stored (abt_variant_stats normalises it) */
	int32		position;
	bool		is_control;
	double		range_start;	/* bucket range [start, end) of gbhash values */
	double		range_end;
} AbtVariant;

/* One element of an experiment with its variants in position order. */
typedef struct AbtElement
{
	pg_uuid_t	id;
	char		id_text[ABT_UUID_TEXT_LEN];
	char	   *name;
	char	   *selector;		/* NULL when the element has none */
	char	   *seed;
	int			nvariants;
	AbtVariant *variants;
	const char *problem;		/* why no new visitor can be bucketed, or NULL */
} AbtElement;

/* A goal an experiment declares for visitors' conversions (abtest.goals). */
typedef struct AbtGoal
{
	char	   *name;
	struct NumericData *max_value;	/* largest value a visitor may send, or NULL */
} AbtGoal;

/*
 * The configuration of one experiment at one config_version.  A pointer
 * from abt_config_get* is valid until the next abt_config_get* call (which
 * may evict it: see config_cache.c).
 */
typedef struct AbtConfig
{
	pg_uuid_t	experiment_id;	/* hash key */
	int64		version;
	dlist_node	lru_node;		/* in the cache's recency list */
	Size		bytes;			/* memory of context, as last measured */
	MemoryContext context;		/* holds everything below */
	int			nelements;
	AbtElement *elements;
	HTAB	   *answers;		/* answers built so far, see answer.c */
	bool		goals_loaded;	/* goals below are loaded (on first need) */
	int			ngoals;			/* 0: the experiment declares no goals */
	AbtGoal    *goals;
	AbtVersion	loaded;			/* the columns loaded: 1.1 knows has_forced */
	bool		has_forced;		/* abtest.forced_variants pins someone (1.1) */
} AbtConfig;

/* The experiment row and the visitor's assignment, as read by abt_lookup(). */
typedef struct AbtLookup
{
	bool		experiment_found;
	char		status[16];
	char	   *seed;
	double		coverage;
	int64		version;
	bool		assigned;
	Jsonb	   *variants;		/* stored {"element id": "variant id"} */
	bool		converted;
	ItemPointerData ctid;		/* the assignment row's version read */
	char	   *namespace;		/* 1.1 lookup: namespace, or NULL for none */
	double		namespace_start;	/* its range [start, end) */
	double		namespace_end;
	bool		forced;			/* variants are an owner's pins (1.1) */
	bool		held_out;		/* variants are the controls: in a holdout (1.1) */
	/* 1.1: the experiment's holdout (a kind 'holdout' experiment), if any */
	bool		holdout_found;
	pg_uuid_t	holdout_id;
	char		holdout_status[16];
	char	   *holdout_seed;
	double		holdout_coverage;
	int64		holdout_version;
} AbtLookup;

/* ---------------------------------------------------------------------
 * Leaves
 * ---------------------------------------------------------------------
 */

/* growthbook.c: GrowthBook-compatible hashing, coverage and bucketing */
extern double abt_gbhash(const char *seed, int seed_len, const char *id, int id_len);
extern double abt_gbhash_v1(const char *seed, int seed_len, const char *id, int id_len);
extern bool abt_in_namespace(const char *namespace, int namespace_len, const char *id, int id_len,
							 double range_start, double range_end);
extern bool abt_in_coverage(double hash, double coverage);
extern void abt_set_bucket_ranges(AbtElement *element, double *weights);
extern int	abt_choose_variant(AbtElement *element, const char *user_id, int user_id_len);

/* ---------------------------------------------------------------------
 * Shared services
 * ---------------------------------------------------------------------
 */

/* spi_plans.c: prepared, kept SPI plans */
extern SPIPlanPtr abt_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr abt_plan_custom(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr abt_plan_generic(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern void abt_check_spi(int rc, int expected, const char *what);
extern bool abt_plans_for_citus(void);

/* owner.c: whom the writing functions act as, and what their caller may do */
typedef enum AbtTable
{
	ABT_TABLE_EXPERIMENTS,
	ABT_TABLE_ASSIGNMENTS,
	ABT_TABLE_CONVERSIONS,
	ABT_NUM_TABLES
} AbtTable;

typedef struct AbtUserContext
{
	Oid			userid;
	int			sec_context;
} AbtUserContext;

extern bool abt_is_table(Oid relid, AbtTable table);
extern bool abt_caller_may_insert(AbtTable table);
extern void abt_act_as_owner(AbtUserContext *saved);
extern void abt_restore_user(const AbtUserContext *saved);

/* checks.c, needing AbtTable */
extern void abt_check_time_choice(TimestampTz at, AbtTable table, const char *what);

/*
 * experiment_lock.c.  An entry point's version (version.h) decides the
 * locks a writer takes (a database at 1.0 has 1.0's trigger).
 */
extern void abt_lock_experiment_shared(pg_uuid_t *experiment_id, AbtVersion version);
extern bool abt_lock_experiment_fold(pg_uuid_t *experiment_id, bool wait);

/* checks.c: argument checks and errors every entry point shares */
extern pg_uuid_t *abt_arg_experiment_id(FunctionCallInfo fcinfo, int argno);
extern Datum *abt_arg_experiment_ids(FunctionCallInfo fcinfo, int argno, int *n);
extern TimestampTz abt_arg_time(FunctionCallInfo fcinfo, int argno, const char *what);
extern void abt_check_visitor(text *user_id, const char *what);
pg_noreturn extern void abt_report_unknown_experiment(pg_uuid_t *experiment_id);

/* citus.c: whether a table's rows live in Citus shards (abt_distribute) */
extern bool abt_is_citus_table(Oid relid);
extern bool abt_is_citus_worker(void);
extern void abt_citus_relcache_changed(Oid relid);
extern bool abt_on_citus(void);
extern int32 abt_slot(void);
extern int64 abt_citus_shard(Oid relid, pg_uuid_t *experiment_id);
extern int64 abt_citus_local_shard(Oid relid, pg_uuid_t *experiment_id);
extern Oid	abt_shard_relation(Oid namespace, const char *name, int64 shard);
extern void abt_citus_lock_shard_group(Oid relid, pg_uuid_t *experiment_id);
extern uint64 abt_citus_invalidations(void);

/* local_shards.c: an experiment's shards on this node (Citus) */
extern SPIPlanPtr abt_local_shard_plan(pg_uuid_t *experiment_id, const char *sql, int nargs,
									   Oid *argtypes, int *index);
extern bool abt_rows_here(pg_uuid_t *experiment_id, int n, const Oid *tables,
						  const char *const *names, int64 *shards, Oid *here);
extern void abt_citus_one_shard_at_a_time(void);

/* lookup.c: the experiment row joined with the visitor's assignment */
extern void abt_lookup_relcache_changed(Oid relid);
extern void abt_lookup(pg_uuid_t *experiment_id, text *user_id, AbtVersion api_version,
					   AbtLookup *out);
extern Jsonb *abt_lookup_forced(pg_uuid_t *experiment_id, text *user_id);
extern Jsonb *abt_lookup_holdout_group(pg_uuid_t *holdout_id, text *user_id);

/* config_cache.c */
extern void abt_config_cache_init(void);
extern AbtConfig *abt_config_get(pg_uuid_t *experiment_id, int64 config_version,
								 AbtVersion api_version);
extern void abt_config_load_goals(AbtConfig *config);
extern bool abt_config_reserve(AbtConfig *config, Size size);
extern void abt_config_charge(AbtConfig *config);

/* analytics.c: what the analytics entry points (stats.c, metric_stats.c) share */

/* Sets one column of a result row being built. */
static inline void
abt_set_column(Datum *values, bool *nulls, int column, Datum value)
{
	values[column] = value;
	nulls[column] = false;
}

/* Sets a float8 column, leaving it NULL where the value is meaningless (NaN, infinite). */
static inline void
abt_set_float_column(Datum *values, bool *nulls, int column, double value)
{
	if (!isnan(value) && !isinf(value))
		abt_set_column(values, nulls, column, Float8GetDatum(value));
}

typedef struct AbtRequestedExperiment
{
	pg_uuid_t	id;				/* hash key */
	bool		visible;		/* the caller can see the experiment */
	bool		emitted;		/* its rows are out (an id may repeat) */
	Datum		status;			/* when visible */
	int64		version;
} AbtRequestedExperiment;

/* The counters of one variant, summed over slots. */
typedef struct AbtCounterKey
{
	pg_uuid_t	experiment_id;
	pg_uuid_t	variant_id;
} AbtCounterKey;

typedef struct AbtCounterSum
{
	AbtCounterKey key;
	int64		allocations;
	int64		conversions;
} AbtCounterSum;

extern void abt_begin_analytics_result(FunctionCallInfo fcinfo, int ncolumns, const char *function);
extern HTAB *abt_call_hash(const char *name, Size keysize, Size entrysize, long nelem);
extern HTAB *abt_read_experiments(Datum ids, Datum *id_values, int nids);
extern HTAB *abt_read_variant_counters(Datum ids);

/* answer.c: the jsonb abt_assign returns */
extern Jsonb *abt_answer(pg_uuid_t *experiment_id, AbtLookup *lookup, AbtConfig *config,
						 bool enrolled, bool is_new);

/* ---------------------------------------------------------------------
 * The settler (settle.c: the fold, a service; settler.c: the background
 * workers, an entry point)
 * ---------------------------------------------------------------------
 */

/* GUC abtest.settle_interval, in milliseconds; 0: the settler does nothing */
extern int	abt_settle_interval;

/* What folds did: summed over experiments. */
typedef struct AbtSettleCounts
{
	int64		experiments;	/* experiments folded */
	int64		rows_folded;	/* slot rows added into slot 0 and deleted */
	int64		variants_updated;	/* element_variants rows whose totals changed */
	int64		variants_skipped;	/* stale element_variants rows locked by others */
	int64		experiments_busy;	/* skipped: being folded, deleted or changing status */
} AbtSettleCounts;

extern bool abt_settle_experiment(pg_uuid_t *experiment_id, bool wait, AbtSettleCounts *counts);
extern pg_uuid_t *abt_settle_list(bool all, Datum retry, int *n);
extern void abt_settle_changed(bool wait, bool all, Datum retry, AbtSettleCounts *counts,
							   pg_uuid_t **stale, int *nstale);
extern void abt_settler_init(void);

#endif							/* ABTEST_H */
