/*
 * growthbook.h
 *		GrowthBook-compatible hashing, coverage and bucketing (growthbook.c):
 *		a leaf, it reads no table.
 */
#ifndef ABT_GROWTHBOOK_H
#define ABT_GROWTHBOOK_H

#include "experiment_config.h"

/* growthbook.c: GrowthBook-compatible hashing, coverage and bucketing */
extern double abt_gbhash(const char *seed, int seed_len, const char *id, int id_len);
extern double abt_gbhash_v1(const char *seed, int seed_len, const char *id, int id_len);
extern bool abt_in_namespace(const char *namespace, int namespace_len, const char *id, int id_len,
							 double range_start, double range_end);
extern bool abt_in_coverage(double hash, double coverage);
extern void abt_set_bucket_ranges(AbtElement *element, double *weights);
extern int	abt_choose_variant(AbtElement *element, const char *user_id, int user_id_len);

#endif							/* ABT_GROWTHBOOK_H */
