/*
 * stats_math.h
 *		Dependency-free statistics for A/B test results: Wilson intervals,
 *		uplift, the two-proportion z-test, the Bayesian chance to beat the
 *		control, chi-square tail probabilities and the sample ratio
 *		mismatch test.
 *
 * Plain C99 with no PostgreSQL headers, so that the same file builds inside
 * the extension and in the standalone unit test (test/unit).  Every function
 * returns NAN where the result is meaningless; the SQL layer maps NAN to
 * NULL.
 */
#ifndef ABT_STATS_MATH_H
#define ABT_STATS_MATH_H

#include <stdint.h>

/* z quantile of a two-sided 95% interval */
#define ABT_STATS_Z95 1.959963984540054

/* Wilson score interval of conversions/trials; both bounds NAN when trials == 0 */
extern void abt_stats_wilson(int64_t conversions, int64_t trials, double z,
							 double *low, double *high);

/* Relative uplift (rv - rc) / rc; NAN when rate_control == 0 */
extern double abt_stats_uplift(double rate_variant, double rate_control);

/* Two-sided p-value of the pooled two-proportion z-test */
extern double abt_stats_ztest_p(int64_t conv_a, int64_t n_a,
								int64_t conv_b, int64_t n_b);

/* P(p_v > p_c) under independent Beta(1 + conv, 1 + n - conv) posteriors */
extern double abt_stats_chance_to_beat(int64_t conv_v, int64_t n_v,
									   int64_t conv_c, int64_t n_c);

/* Chi-square survival function P(X > x) with df degrees of freedom */
extern double abt_stats_chisq_sf(double x, double df);

/* Sample ratio mismatch p-value of observed counts against allocation weights */
extern double abt_stats_srm_p(const int64_t *observed, const double *weights,
							  int n);

/* Standard normal cumulative distribution function */
extern double abt_stats_normal_cdf(double z);

#endif							/* ABT_STATS_MATH_H */
