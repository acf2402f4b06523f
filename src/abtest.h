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

#include "executor/spi.h"
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

/* The configuration of one experiment at one config_version. */
typedef struct AbtConfig
{
	pg_uuid_t	experiment_id;	/* hash key */
	int64		version;
	MemoryContext context;		/* holds everything below */
	int			nelements;
	AbtElement *elements;
	HTAB	   *answers;		/* answers built so far, see answer.c */
	bool		goals_loaded;	/* goals below are loaded (on first need) */
	int			ngoals;			/* 0: the experiment declares no goals */
	AbtGoal    *goals;
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
} AbtLookup;

/* ---------------------------------------------------------------------
 * Leaves
 * ---------------------------------------------------------------------
 */

/* growthbook.c: GrowthBook-compatible hashing, coverage and bucketing */
extern double abt_gbhash(const char *seed, int seed_len, const char *id, int id_len);
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

/* experiment_lock.c */
extern void abt_lock_experiment_shared(pg_uuid_t *experiment_id);

/* checks.c: argument checks and errors every entry point shares */
extern pg_uuid_t *abt_arg_experiment_id(FunctionCallInfo fcinfo, int argno);
extern Datum *abt_arg_experiment_ids(FunctionCallInfo fcinfo, int argno, int *n);
extern TimestampTz abt_arg_time(FunctionCallInfo fcinfo, int argno, const char *what);
extern void abt_check_visitor(text *user_id, const char *what);
extern void abt_report_unknown_experiment(pg_uuid_t *experiment_id) pg_attribute_noreturn();

/* lookup.c: the experiment row joined with the visitor's assignment */
extern void abt_lookup(pg_uuid_t *experiment_id, text *user_id, AbtLookup *out);

/* config_cache.c */
extern AbtConfig *abt_config_get(pg_uuid_t *experiment_id, int64 version);
extern void abt_config_load_goals(AbtConfig *config);

/* answer.c: the jsonb abt_assign returns */
extern Jsonb *abt_answer(pg_uuid_t *experiment_id, AbtLookup *lookup, AbtConfig *config,
						 bool enrolled, bool is_new);

#endif							/* ABTEST_H */
