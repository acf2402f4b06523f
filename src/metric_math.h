/*
 * metric_math.h
 *		Dependency-free statistics for per-goal metrics: the moments of a
 *		mean or proportion metric, GrowthBook's frequentist two-sample test
 *		on the relative uplift (fixed-horizon and sequential) and its
 *		Bayesian one (with or without a Gaussian prior), power, minimum
 *		detectable effect and sample size, the percentile of a percentile
 *		cap, Student's t distribution, Holm-Bonferroni /
 *		Benjamini-Hochberg adjusted p-values, and CUPED (GrowthBook's
 *		regression adjustment on a pre-exposure covariate).
 *
 * Plain C99 with no PostgreSQL headers, so that the same file builds inside
 * the extension and in the standalone unit test (test/unit).  Every function
 * returns NAN where the result is meaningless; the SQL layer maps NAN to
 * NULL.
 */
#ifndef ABT_METRIC_MATH_H
#define ABT_METRIC_MATH_H

#include <stdbool.h>
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

/*
 * GrowthBook's Bayesian result of a variant against its control, on the
 * relative effect.  Every field is NAN when the comparison is undefined (see
 * abt_metric_bayesian_test).
 */
typedef struct AbtMetricBayes
{
	double		uplift;			/* posterior mean of the relative effect */
	double		sd;				/* posterior standard deviation */
	double		ci_low;			/* credible interval at 1 - alpha */
	double		ci_high;
	double		chance_to_win;	/* P(effect > 0) */
	double		risk_control;	/* E[max(effect, 0)]: expected loss of keeping the control */
	double		risk_variant;	/* E[max(-effect, 0)]: expected loss of choosing the variant */
} AbtMetricBayes;

/* Gaussian prior on the relative effect (GrowthBook's defaults: improper, 0, 0.3) */
typedef struct AbtMetricPrior
{
	bool		proper;			/* false: flat (improper) prior, mean and stddev unused */
	double		mean;
	double		stddev;
} AbtMetricPrior;

/*
 * One variant's sums for CUPED: n visitors, their outcomes y and their
 * pre-exposure covariates x (both 0/1 for a proportion metric, where
 * sum_y2 and sum_x2 are unused: y^2 = y).
 */
typedef struct AbtCupedSums
{
	int64_t		n;
	double		sum_y;
	double		sum_y2;
	double		sum_x;
	double		sum_x2;
	double		sum_xy;
} AbtCupedSums;

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

/*
 * The effect alone (uplift, delta-method se, Welch dof, chance to beat; p
 * and interval NAN): false, all NAN, when the comparison is undefined
 */
extern bool abt_metric_effect(int64_t n_a, double mean_a, double var_a,
							  int64_t n_b, double mean_b, double var_b,
							  AbtMetricTest *result);

/* CUPED's theta pooled over control A and variant B (gbstats compute_theta) */
extern double abt_metric_cuped_theta(bool proportion, const AbtCupedSums *a,
									 const AbtCupedSums *b);

/* CUPED's effect of B against A under theta (gbstats RegressionAdjustedStatistic) */
extern bool abt_metric_cuped_effect(bool proportion, const AbtCupedSums *a,
									const AbtCupedSums *b, double theta,
									AbtMetricTest *result);

/* A variant's covariate mean x/n (CUPED), NAN without visitors */
extern double abt_metric_cuped_covariate_mean(const AbtCupedSums *s);

/* Completes an effect into the fixed-horizon or sequential test (n: n_A + n_B) */
extern void abt_metric_effect_test(int64_t n, bool sequential, double alpha, double tuning,
								   AbtMetricTest *result);

/* Bayesian test of B against A: normal posterior of the relative effect */
extern void abt_metric_bayesian_test(int64_t n_a, double mean_a, double var_a,
									 int64_t n_b, double mean_b, double var_b,
									 double alpha, const AbtMetricPrior *prior,
									 AbtMetricBayes *result);

/* The Bayesian test from an effect (abt_metric_effect, abt_metric_cuped_effect) */
extern void abt_metric_bayesian_effect(const AbtMetricTest *effect, double alpha,
									   const AbtMetricPrior *prior, AbtMetricBayes *result);

/* Expected losses of a N(mu, sigma^2) effect: of keeping the control, of choosing the variant */
extern void abt_metric_risk(double mu, double sigma, double *risk_control,
							double *risk_variant);

/* Power of the two-sided test at level alpha for the relative effect mde, standard error se */
extern double abt_metric_test_power(double se, double mde, double alpha);

/* The relative effect with the given power for standard error se (inverse of abt_metric_test_power) */
extern double abt_metric_mde(double se, double alpha, double power);

/* Visitors per variant for the given power at the relative effect mde (planning) */
extern double abt_metric_sample_size(double mean, double variance, double mde,
									 double alpha, double power);

/* PostgreSQL's percentile_cont(p) of values[0..n) and `zeros` more zeros; sorts values */
extern double abt_metric_percentile(double *values, int64_t n, int64_t zeros, double p);

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
