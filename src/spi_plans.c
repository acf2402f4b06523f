/*
 * spi_plans.c
 *		Prepared SPI plans kept for the life of the backend, and the check of
 *		SPI return codes.  Every query abtest runs is schema-qualified and
 *		parameterised: values never reach SQL text.
 */
#include "postgres.h"

#include "abtest.h"

/* Returns the kept plan in *cache, preparing and keeping it on first use. */
SPIPlanPtr
abt_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;
	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*cache = plan;
	return plan;
}

/* Raises a can't-happen error when an SPI call did not return what it must. */
void
abt_check_spi(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "SPI_execute_plan failed for %s: %s",
			 what, SPI_result_code_string(rc));
}
