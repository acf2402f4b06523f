/*
 * abtest.h
 *		Shared declarations of the abtest extension: hashing, the cached
 *		experiment configuration, prepared SPI plans and the answer builder.
 */
#ifndef ABTEST_H
#define ABTEST_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* Longest visitor id (and conversion goal) accepted, in characters. */
#define ABT_MAX_ID_CHARS 256

/* Width of the timeline rollup buckets: 15 minutes divides every modern UTC offset. */
#define ABT_ROLLUP_BUCKET_USECS (INT64CONST(15) * 60 * USECS_PER_SEC)

/* Text form of a uuid plus its terminating zero. */
#define ABT_UUID_TEXT_LEN 37

/* GUC: publication the install script and abt_realtime_publish() use */
extern char *abt_publication;

/* gbhash.c: GrowthBook-compatible hashing and bucketing */
extern double abt_gbhash(const char *seed, int seed_len, const char *id, int id_len);
extern bool abt_in_coverage(double hash, double coverage);

/* One variant of an element, as cached by config_cache.c. */
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

/* The configuration of one experiment at one config_version. */
typedef struct AbtConfig
{
	pg_uuid_t	experiment_id;	/* hash key */
	int64		version;
	MemoryContext context;		/* holds everything below */
	int			nelements;
	AbtElement *elements;
	HTAB	   *answers;		/* answers built so far, see answer.c */
} AbtConfig;

/* experiment_lock.c */
extern void abt_lock_experiment_shared(pg_uuid_t *experiment_id);

/* config_cache.c */
extern AbtConfig *abt_config_get(pg_uuid_t *experiment_id, int64 version);
extern int	abt_choose_variant(AbtElement *element, const char *user_id, int user_id_len);

/* spi_plans.c: prepared, kept SPI plans */
extern SPIPlanPtr abt_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr abt_plan_custom(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr abt_plan_generic(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern void abt_check_spi(int rc, int expected, const char *what);

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

/* assign.c */
extern void abt_lookup(pg_uuid_t *experiment_id, text *user_id, AbtLookup *out);
extern void abt_check_visitor(text *user_id, const char *what);
extern void abt_report_unknown_experiment(pg_uuid_t *experiment_id) pg_attribute_noreturn();
extern void abt_check_finite_time(TimestampTz ts, const char *what);

/* answer.c: the jsonb abt_assign returns */
extern Jsonb *abt_answer(pg_uuid_t *experiment_id, AbtLookup *lookup, AbtConfig *config,
						 bool enrolled, bool is_new);

#endif							/* ABTEST_H */
