/*
 * spi_plans.h
 *		Prepared SPI plans kept for the life of the backend, and the check of
 *		SPI return codes (spi_plans.c).
 */
#ifndef ABT_SPI_PLANS_H
#define ABT_SPI_PLANS_H

#include "executor/spi.h"

/* spi_plans.c: prepared, kept SPI plans */
extern SPIPlanPtr abt_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr abt_plan_custom(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr abt_plan_generic(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern void abt_check_spi(int rc, int expected, const char *what);
extern bool abt_plans_for_citus(void);

#endif							/* ABT_SPI_PLANS_H */
