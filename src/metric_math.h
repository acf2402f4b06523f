/*
 * metric_math.h
 *		Dependency-free statistics for per-goal metrics: the moments of a
 *		mean or proportion metric, GrowthBook's frequentist two-sample test
 *		on the relative uplift (fixed-horizon and sequential), Student's t
 *		distribution, and Holm-Bonferroni / Benjamini-Hochberg adjusted
 *		p-values.
 *
 * Plain C99 with no PostgreSQL headers, so that the same file builds inside
 * the extension and in the standalone unit test (test/unit).  Every function
 * returns NAN where the result is meaningless; the SQL layer maps NAN to
 * NULL.
 */
#ifndef ABT_METRIC_MATH_H
#define ABT_METRIC_MATH_H

#include <stdint.h>

/* GrowthBook's default tuning N* of the sequential confidence sequence */
#define ABT_METRIC_SEQUENTIAL_TUNING_DEFAULT 5000.0

/*
 * A variant against its control, on the relative uplift.  Every field is
 * NAN when the comparison is undefined (see abt_metric_ttest).
 */
typedef struct AbtMetricTest
{
	double		uplift;			/* (mean_b - mean_a) / |mean_a| */
	double		se;				/* delta-method standard error of uplift */
	double		dof;			/* Welch-Satterthwaite degrees of freedom */
	double		p_value;		/* two-sided */
	double		ci_low;			/* two-sided interval at 1 - alpha */
	double		ci_high;
	double		chance_to_beat; /* Phi(uplift / se) */
} AbtMetricTest;

/* Mean and sample variance (n - 1) of a metric from n, sum y and sum y^2 */
extern void abt_metric_mean_moments(int64_t n, double sum, double sum_squares,
									double *mean, double *variance);

/* Mean x/n and variance mean (1 - mean) of a 0/1 metric */
extern void abt_metric_proportion_moments(int64_t n, int64_t converters,
										  double *mean, double *variance);

/* Fixed-horizon two-sided Welch t-test of B (variant) against A (control) */
extern void abt_metric_ttest(int64_t n_a, double mean_a, double var_a,
							 int64_t n_b, double mean_b, double var_b,
							 double alpha, AbtMetricTest *result);

/* Sequential (always-valid) version: confidence sequence with tuning N* */
extern void abt_metric_sequential_ttest(int64_t n_a, double mean_a, double var_a,
										int64_t n_b, double mean_b, double var_b,
										double alpha, double tuning,
										AbtMetricTest *result);

/* Student t cumulative distribution function; dof may be fractional or +Inf */
extern double abt_metric_t_cdf(double t, double dof);

/* Student t quantile: the t with abt_metric_t_cdf(t, dof) = p */
extern double abt_metric_t_quantile(double p, double dof);

/* Holm-Bonferroni adjusted p-values; returns the family size (non-NAN count) */
extern int	abt_metric_adjust_holm(const double *p, int n, int *order,
								   double *adjusted);

/* Benjamini-Hochberg adjusted p-values; returns the family size (non-NAN count) */
extern int	abt_metric_adjust_bh(const double *p, int n, int *order,
								 double *adjusted);

#endif							/* ABT_METRIC_MATH_H */
