/*
 * spi_plans.c
 *		Prepared SPI plans kept for the life of the backend, and the check of
 *		SPI return codes.  Every query abtest runs is schema-qualified and
 *		parameterised: values never reach SQL text.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "citus.h"
#include "spi_plans.h"

/*
 * Where abtest's rows live decides how its plans are made.  On one server
 * a plan is kept and, as a rule, planned once.  Once abt_distribute() made
 * the tables Citus tables (citus.c), every plan is made for its parameter
 * values (CURSOR_OPT_CUSTOM_PLAN): Citus routes a statement to the shard of
 * its experiment_id only when it sees the value, and cannot plan some
 * parameterised queries at all.  The kept plans are registered so that the
 * change replans them all.
 */
static SPIPlanPtr **kept_caches = NULL;
static int	nkept = 0;
static int	kept_capacity = 0;
static bool kept_for_citus = false;

/* Whether plans are made for Citus; drops the plans made for the other case. */
bool
abt_plans_for_citus(void)
{
	bool		citus = abt_on_citus();

	if (citus != kept_for_citus)
	{
		for (int i = 0; i < nkept; i++)
		{
			SPIPlanPtr	plan = *kept_caches[i];

			*kept_caches[i] = NULL;
			if (plan != NULL)
				SPI_freeplan(plan);
		}
		nkept = 0;
		kept_for_citus = citus;
	}
	return citus;
}

/* Prepares and keeps a plan in *cache on first use; returns it. */
static SPIPlanPtr
kept_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan;

	if (abt_plans_for_citus())
		cursor_options = CURSOR_OPT_CUSTOM_PLAN;
	if (*cache != NULL)
		return *cache;
	if (nkept == kept_capacity)
	{
		kept_capacity = Max(32, kept_capacity * 2);
		kept_caches = kept_caches == NULL ?
			MemoryContextAlloc(TopMemoryContext, kept_capacity * sizeof(SPIPlanPtr *)) :
			repalloc(kept_caches, kept_capacity * sizeof(SPIPlanPtr *));
	}
	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*cache = plan;
	kept_caches[nkept++] = cache;
	return plan;
}

/* Returns the kept plan of sql (the plan cache may settle on a generic plan). */
SPIPlanPtr
abt_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	return kept_plan(cache, sql, nargs, argtypes, 0);
}

/*
 * Returns the kept query of sql, planned anew for its parameter values on
 * every execution: for a query whose best plan depends on the values (a
 * narrow time range wants a range scan, a generic plan does not know it is
 * narrow).
 */
SPIPlanPtr
abt_plan_custom(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	return kept_plan(cache, sql, nargs, argtypes, CURSOR_OPT_CUSTOM_PLAN);
}

/*
 * Returns the kept plan of sql, planned once for any parameter values: for
 * a query taking an array whose custom plan would look cheaper than the
 * generic one (it knows the array's length), so that the plan cache would
 * plan it anew on every call.
 */
SPIPlanPtr
abt_plan_generic(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	return kept_plan(cache, sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/* Raises a can't-happen error when an SPI call did not return what it must. */
void
abt_check_spi(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "SPI_execute_plan failed for %s: %s",
			 what, SPI_result_code_string(rc));
}
