/*
 * spi_plans.c
 *		Prepared SPI plans kept for the life of the backend, and the check of
 *		SPI return codes.  Every query abtest runs is schema-qualified and
 *		parameterised: values never reach SQL text.
 */
#include "postgres.h"

#include "abtest.h"

/* Prepares and keeps a plan in *cache on first use; returns it. */
static SPIPlanPtr
kept_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;
	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*cache = plan;
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
