/*
 * metric_math.c
 *		Dependency-free statistics for per-goal metrics: the moments of a
 *		mean or proportion metric, the frequentist two-sample test on the
 *		relative uplift (fixed-horizon and sequential), the Bayesian one,
 *		power, MDE and sample size, the percentile of a percentile cap,
 *		Student's t distribution, Holm-Bonferroni / Benjamini-Hochberg
 *		adjusted p-values, and CUPED's regression adjustment.
 *
 * The test is GrowthBook's frequentist engine (gbstats, frequentist/tests.py:
 * TwoSidedTTest and SequentialTwoSidedTTest with difference_type
 * "relative"), re-derived from its formulas so that a team moving from
 * GrowthBook sees the same numbers:
 *	 uplift = (m_B - m_A) / |m_A|
 *	 se^2	= v_B / (n_B m_A^2) + v_A m_B^2 / (n_A m_A^4)	(delta method)
 *	 dof	= (v_B/n_B + v_A/n_A)^2 /
 *			  (v_B^2 / (n_B^2 (n_B-1)) + v_A^2 / (n_A^2 (n_A-1)))	(Welch)
 *	 p		= 2 (1 - T_dof(|uplift / se|)),	CI = uplift -+ t_{1-alpha/2,dof} se
 * The sequential variant replaces p and CI by an always-valid confidence
 * sequence (Waudby-Smith et al., arXiv 2103.06476v7, eqs. 9, 155, 161).
 * One deliberate difference: gbstats also gives up when either variant's
 * own variance is 0; here only a zero standard error does (a control with
 * rate 1 against a variant with rate 0.9 still gets a result).
 *
 * The Bayesian engine is gbstats' EffectBayesianABTest (bayesian/tests.py,
 * prior_type "relative"): the same uplift and delta-method se are the data
 * (d, se^2), a normal likelihood of the relative effect; with a proper
 * Gaussian prior N(mu0, s0^2) the posterior is normal with precision
 * 1/se^2 + 1/s0^2 and mean (d/se^2 + mu0/s0^2) / precision, with the flat
 * (improper) prior N(d, se^2).  Chance to win P(effect > 0), the credible
 * interval mean -+ z_{1-alpha/2} sd, and the risks (get_risk) E[max(X, 0)]
 * (keeping the control) and E[max(-X, 0)] (choosing the variant), whose
 * closed forms are mu Phi(mu/sd) + sd phi(mu/sd) and the same minus mu;
 * beyond |mu/sd| > 37 gbstats takes their limits max(mu, 0), max(-mu, 0).
 * Where gbstats returns its uninformative default (chance 0.5, effect 0),
 * the result here is NAN, as for the frequentist test.
 *
 * Power (gbstats power/midexperimentpower.py, MidExperimentPower.power
 * without prior or sequential, and GrowthBook's planning calculator,
 * packages/shared/src/power/power.ts powerFrequentist): a two-sided test at
 * level alpha of a true relative effect m whose estimate has standard
 * error se rejects with probability 1 - Phi(z - m/se) + Phi(-z - m/se),
 * z = Phi^-1(1 - alpha/2).  The MDE at a power is that equation solved for
 * m; the planning standard error of n visitors per variant is
 * powerStandardError's: se^2 = v (1 + (1 + m)^2) / (mean^2 n).
 *
 * CUPED is gbstats' regression adjustment (models/statistics.py,
 * RegressionAdjustedStatistic and compute_theta; models/tests.py,
 * frequentist_variance_relative_cuped): each visitor's outcome y is paired
 * with a pre-exposure covariate x, theta is the regression slope of y on x
 * over control and variant together, the adjusted means y - theta x enter
 * the uplift over the control's unadjusted mean, and the variance is the
 * delta method's on the control's (y, x) and the variant's y - theta x
 * (abt_metric_cuped_effect).  The adjusted effect then goes through the
 * same fixed-horizon, sequential or Bayesian test as an unadjusted one.
 *
 * The percentile of a percentile cap is PostgreSQL's percentile_cont, the
 * function GrowthBook's SQL uses on PostgreSQL (its dialect's
 * percentileApprox): linear interpolation between the order statistics at
 * floor and ceil of p (N - 1).
 *
 * Plain C99 using only the C library (no PostgreSQL headers), so the same
 * file builds inside the extension and in the standalone unit test
 * test/unit/metric_math_test.c.  Functions return NAN where the result is
 * meaningless; the SQL layer maps NAN to NULL.  No file-global state: the
 * p-value adjustments sort an index array that the caller provides.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "metric_math.h"
#include "special_math.h"

/* pi; M_PI is POSIX, not C99 */
#define ABT_PI 3.14159265358979323846

/* log(sqrt(2 pi)) */
#define ABT_LN_SQRT_2PI 0.91893853320467274178

/*
 * Student t: above this many degrees of freedom use Hill's normalising
 * expansion.  Below it the incomplete beta continued fraction is accurate
 * to ~1e-12 relative; above it the continued fraction cancels (its error
 * grows like eps * dof) while Hill's expansion is accurate to ~1e-13.
 */
#define T_HILL_MIN_DOF 2e4

/* Incomplete beta: iteration cap and tiny number for Lentz's method */
#define BETA_CF_MAX_ITER 100000
#define BETA_CF_FPMIN (DBL_MIN / DBL_EPSILON)

/* t quantile: iteration cap of the safeguarded Newton search */
#define T_QUANTILE_MAX_ITER 200

/* MDE: iteration cap of the safeguarded Newton search */
#define MDE_MAX_ITER 200

/* Risk: beyond |mu/sigma| this gbstats takes the limits (get_risk) */
#define RISK_LIMIT_Z 37.0

/* Sample size: the largest answer (2^62, within bigint) */
#define SAMPLE_SIZE_MAX 4611686018427387904.0

/*
 * Mean metric: a numerator sum_squares - sum^2/n within this fraction of
 * sum_squares is rounding (constant values), not variance.
 */
#define VARIANCE_ROUNDING_SLACK (64.0 * DBL_EPSILON)

/* Standard normal density. */
static double
normal_pdf(double z)
{
	return exp(-0.5 * z * z - ABT_LN_SQRT_2PI);
}

/*
 * Standard normal upper quantile: the z with P(Z > z) = q, 0 < q <= 0.5.
 * Starts from Abramowitz-Stegun 26.2.23 (error < 4.5e-4) and polishes with
 * Halley's method on erfc, which triples the correct digits per step.
 */
static double
normal_upper_quantile(double q)
{
	double		r = sqrt(-2.0 * log(q));
	double		z;
	int			i;

	z = r - (2.515517 + r * (0.802853 + r * 0.010328)) /
		(1.0 + r * (1.432788 + r * (0.189269 + r * 0.001308)));
	for (i = 0; i < 8; i++)
	{
		double		u = (abt_normal_sf(z) - q) / normal_pdf(z);
		double		dz = u / (1.0 - 0.5 * z * u);

		z += dz;
		if (fabs(dz) <= 2.0 * DBL_EPSILON * fabs(z) || !isfinite(z))
			break;
	}
	return z;
}

/* log B(a, b) for a small b (here 1/2) and any a > 0, without cancellation. */
static double
log_beta(double a, double b)
{
	double		lo = fmin(a, b);
	double		hi = fmax(a, b);

	return lgamma(lo) - abt_lgamma_shift(hi, lo);
}

/*
 * Continued fraction of the regularized incomplete beta I_x(a, b) by the
 * modified Lentz method; y = 1 - x is passed separately so that the first
 * term keeps its precision when x is near 1.
 */
static double
beta_contfrac(double a, double b, double x, double y)
{
	double		qab = a + b;
	double		qap = a + 1.0;
	double		qam = a - 1.0;
	double		c = 1.0;
	double		d;
	double		h;
	int			m;

	/* 1 - qab x / qap, rewritten as (1 - b + qab y) / qap when x is near 1 */
	d = (x > 0.5) ? (1.0 - b + qab * y) / qap : 1.0 - qab * x / qap;
	if (fabs(d) < BETA_CF_FPMIN)
		d = BETA_CF_FPMIN;
	d = 1.0 / d;
	h = d;

	for (m = 1; m <= BETA_CF_MAX_ITER; m++)
	{
		double		dm = (double) m;
		double		m2 = 2.0 * dm;
		double		aa;
		double		del;

		/* even step */
		aa = dm * (b - dm) * x / ((qam + m2) * (a + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < BETA_CF_FPMIN)
			d = BETA_CF_FPMIN;
		c = 1.0 + aa / c;
		if (fabs(c) < BETA_CF_FPMIN)
			c = BETA_CF_FPMIN;
		d = 1.0 / d;
		h *= d * c;

		/* odd step */
		aa = -(a + dm) * (qab + dm) * x / ((a + m2) * (qap + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < BETA_CF_FPMIN)
			d = BETA_CF_FPMIN;
		c = 1.0 + aa / c;
		if (fabs(c) < BETA_CF_FPMIN)
			c = BETA_CF_FPMIN;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) <= DBL_EPSILON)
			break;
	}
	return h;
}

/* log(1 + t^2 / dof) for t >= 0, without overflow for huge t. */
static double
log1p_t2_over_dof(double t, double dof)
{
	if (t <= sqrt(dof))
		return log1p((t / dof) * t);
	return 2.0 * log(t) - log(dof) + log1p((dof / t) / t);
}

/*
 * Upper tail P(T > t) of Student's t, t >= 0, 0 < dof (may be +Inf).
 * P(T > t) = I_x(dof/2, 1/2) / 2 with x = dof / (dof + t^2), evaluated by
 * the continued fraction on whichever side of the symmetry
 * I_x(a, b) = 1 - I_{1-x}(b, a) converges fast; for large dof, Hill's
 * normalising expansion (G. W. Hill, Algorithm 395, CACM 13 (1970)):
 * w = sqrt((dof - 1/2) log(1 + t^2/dof)) is normal up to a series in
 * 1 / (48 (dof - 1/2)^2).
 */
static double
t_sf(double t, double dof)
{
	double		a;
	double		b;
	double		x;
	double		y;
	double		lnx;
	double		lny;
	double		front;

	if (t == 0.0)
		return 0.5;
	if (isinf(t))
		return 0.0;
	if (isinf(dof))
		return abt_normal_sf(t);

	if (dof > T_HILL_MIN_DOF)
	{
		double		ah = dof - 0.5;
		double		bh = 48.0 * ah * ah;
		double		w2 = ah * log1p_t2_over_dof(t, dof);
		double		w;
		double		z;

		/* beyond w = 40 the tail is below the smallest double */
		if (!(w2 < 1600.0))
			return 0.0;
		w = sqrt(w2);
		z = w + (w2 + 3.0) * w / bh -
			(((4.0 * w2 + 33.0) * w2 + 240.0) * w2 + 855.0) * w /
			(10.0 * bh * (bh + 0.8 * w2 * w2 + 100.0));
		return abt_normal_sf(z);
	}

	a = 0.5 * dof;
	b = 0.5;
	/* ln x and ln y from t and dof themselves: v or u may underflow */
	if (t <= sqrt(dof))
	{
		double		v = (t / dof) * t;

		x = 1.0 / (1.0 + v);
		y = v / (1.0 + v);
		lnx = -log1p(v);
		lny = 2.0 * log(t) - log(dof) - log1p(v);
	}
	else
	{
		double		u = (dof / t) / t;

		x = u / (1.0 + u);
		y = 1.0 / (1.0 + u);
		lnx = log(dof) - 2.0 * log(t) - log1p(u);
		lny = -log1p(u);
	}

	front = exp(a * lnx + b * lny - log_beta(a, b));
	if (y > (b + 1.0) / (a + b + 2.0))
		return 0.5 * front * beta_contfrac(a, b, x, y) / a;
	return 0.5 * (1.0 - front * beta_contfrac(b, a, y, x) / b);
}

/* Log of the Student t density, 0 < dof (may be +Inf): finite where the density underflows. */
static double
t_log_pdf(double t, double dof)
{
	if (isinf(dof))
		return -0.5 * t * t - ABT_LN_SQRT_2PI;
	return abt_lgamma_shift(0.5 * dof, 0.5) - 0.5 * log(dof * ABT_PI) -
		0.5 * (dof + 1.0) * log1p_t2_over_dof(fabs(t), dof);
}

/* Student t cumulative distribution function; NAN for NAN t or dof <= 0. */
double
abt_metric_t_cdf(double t, double dof)
{
	if (isnan(t) || isnan(dof) || !(dof > 0.0))
		return NAN;
	if (t >= 0.0)
		return 1.0 - t_sf(t, dof);
	return t_sf(-t, dof);
}

/*
 * Cornish-Fisher start for the t quantile from the normal one
 * (Abramowitz-Stegun 26.7.5); the Newton search corrects what it misses.
 */
static double
cornish_fisher_t(double z, double dof)
{
	double		z2 = z * z;
	double		g1 = (z2 + 1.0) * z / 4.0;
	double		g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
	double		g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
	double		g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) *
		z / 92160.0;

	return z + (g1 + (g2 + (g3 + g4 / dof) / dof) / dof) / dof;
}

/*
 * Upper quantile of Student's t: the t > 0 with P(T > t) = q, 0 < q < 0.5.
 * Newton's method on log P(T > t) from the Cornish-Fisher start, kept inside
 * a bracket [lo, hi] that every evaluation narrows; a step that leaves the
 * bracket is replaced by doubling (no upper bound yet) or by bisection
 * (geometric while the bracket spans more than a factor 2).
 */
static double
t_upper_quantile(double q, double dof)
{
	double		z = normal_upper_quantile(q);
	double		t;
	double		lo = 0.0;
	double		hi = INFINITY;
	double		prev_step = INFINITY;
	int			i;

	if (isinf(dof))
		return z;

	t = (dof >= 1.0) ? cornish_fisher_t(z, dof) : z;
	if (!(t > 0.0) || !isfinite(t))
		t = (z > 0.0) ? z : 1.0;

	for (i = 0; i < T_QUANTILE_MAX_ITER; i++)
	{
		double		s = t_sf(t, dof);
		double		next = NAN;
		double		step;

		if (s == q)
			return t;
		if (s > q)
			lo = t;
		else
			hi = t;

		/*
		 * Newton on log P(T > t): in t near 0, in log t beyond 1, where the
		 * tail is close to a power of t (heavy tails converge in few steps).
		 * The ratio tail / density is taken in logs: far out both underflow.
		 */
		if (s > 0.0)
		{
			double		ls = log(s);
			double		g = ls - log(q);

			if (t > 1.0)
				next = t * exp(g * exp(ls - log(t) - t_log_pdf(t, dof)));
			else
				next = t + g * exp(ls - t_log_pdf(t, dof));
			if (next == t)
				return t;		/* converged to the last bit */
		}
		if (!(next > lo && next < hi))
		{
			if (isinf(hi))
				next = 2.0 * lo;
			else if (lo > 0.0 && hi > 2.0 * lo)
				next = sqrt(lo) * sqrt(hi);	/* lo * hi may overflow */
			else
				next = 0.5 * (lo + hi);
		}

		step = fabs(next - t);
		if (step <= 2.0 * DBL_EPSILON * next ||
			(isfinite(hi) && hi - lo <= 2.0 * DBL_EPSILON * hi))
			return next;

		/*
		 * Newton converges quadratically until the steps reach the noise of
		 * t_sf (~1e-13 relative); a step no smaller than half the previous
		 * one there means the noise floor.
		 */
		if (step <= 1e-11 * next && step > 0.5 * prev_step)
			return next;
		prev_step = step;
		t = next;
	}
	return t;
}

/*
 * Student t quantile: the t with abt_metric_t_cdf(t, dof) = p.  -Inf for
 * p = 0, +Inf for p = 1; NAN for p outside [0, 1], NAN p or dof <= 0.
 */
double
abt_metric_t_quantile(double p, double dof)
{
	if (isnan(p) || isnan(dof) || !(dof > 0.0) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;
	if (p == 0.5)
		return 0.0;
	if (p < 0.5)
		return -t_upper_quantile(p, dof);
	return t_upper_quantile(1.0 - p, dof);
}

/*
 * Mean and sample variance of a metric from its n, sum y and sum y^2:
 * mean = sum/n, variance = (sum_squares - sum^2/n) / (n - 1), 0 when n = 1.
 * A numerator that is negative only by rounding (or positive only by
 * rounding, for constant values) counts as 0; clearly negative (impossible
 * aggregates) gives variance NAN.  Both NAN when n <= 0 or an input is not
 * finite.
 */
void
abt_metric_mean_moments(int64_t n, double sum, double sum_squares,
						double *mean, double *variance)
{
	double		dn;
	double		num;

	if (n <= 0 || !isfinite(sum) || !isfinite(sum_squares))
	{
		*mean = NAN;
		*variance = NAN;
		return;
	}
	dn = (double) n;
	*mean = sum / dn;
	if (n == 1)
	{
		*variance = 0.0;
		return;
	}
	num = sum_squares - sum * (sum / dn);
	if (fabs(num) <= VARIANCE_ROUNDING_SLACK * fabs(sum_squares))
		num = 0.0;
	*variance = (num >= 0.0) ? num / (dn - 1.0) : NAN;
}

/*
 * Mean x/n and variance mean (1 - mean) of a 0/1 metric (no n - 1, as
 * gbstats' ProportionStatistic).  Both NAN when n <= 0 or converters is
 * outside [0, n].
 */
void
abt_metric_proportion_moments(int64_t n, int64_t converters,
							  double *mean, double *variance)
{
	double		m;

	if (n <= 0 || converters < 0 || converters > n)
	{
		*mean = NAN;
		*variance = NAN;
		return;
	}
	m = (double) converters / (double) n;
	*mean = m;
	*variance = m * (1.0 - m);
}

/* Set every field of a test result to NAN (the comparison is undefined). */
static void
test_set_null(AbtMetricTest *result)
{
	result->uplift = NAN;
	result->se = NAN;
	result->dof = NAN;
	result->p_value = NAN;
	result->ci_low = NAN;
	result->ci_high = NAN;
	result->chance_to_beat = NAN;
}

/*
 * Fills the rest of an effect from its uplift and se and the two sides'
 * variances of the mean (w = variance / n): the Welch dof
 * (w_A + w_B)^2 / (w_A^2/(n_A - 1) + w_B^2/(n_B - 1)) and the chance to
 * beat Phi(uplift / se).  False (all NAN) for an se or dof that is not
 * finite and positive.
 */
static bool
effect_finish(double uplift, double se, double na, double wa, double nb, double wb,
			  AbtMetricTest *result)
{
	double		dof;

	if (!(se > 0.0) || !isfinite(se) || !isfinite(uplift))
		return false;
	dof = (wb + wa) * (wb + wa) / (wb * wb / (nb - 1.0) + wa * wa / (na - 1.0));
	if (!(dof > 0.0))
		return false;
	result->uplift = uplift;
	result->se = se;
	result->dof = dof;
	result->chance_to_beat = abt_normal_sf(-uplift / se);
	return true;
}

/*
 * Uplift, delta-method standard error, Welch dof and chance to beat shared
 * by every test (p and interval NAN).  False (result all NAN) with fewer
 * than 2 visitors on either side, a NAN, infinite or negative moment, a
 * control mean of 0, or a standard error of 0.
 */
bool
abt_metric_effect(int64_t n_a, double mean_a, double var_a,
				  int64_t n_b, double mean_b, double var_b,
				  AbtMetricTest *result)
{
	double		na;
	double		nb;
	double		ratio;
	double		se;

	test_set_null(result);
	if (n_a < 2 || n_b < 2)
		return false;
	if (!isfinite(mean_a) || !isfinite(mean_b) ||
		!isfinite(var_a) || !isfinite(var_b) ||
		var_a < 0.0 || var_b < 0.0 || mean_a == 0.0)
		return false;

	na = (double) n_a;
	nb = (double) n_b;

	/*
	 * se^2 = v_B/(n_B m_A^2) + v_A m_B^2/(n_A m_A^4), written with
	 * m_B/m_A so that m_A^4 cannot overflow or underflow.
	 */
	ratio = mean_b / mean_a;
	se = sqrt((var_b / nb + var_a * ratio * ratio / na) / (mean_a * mean_a));
	return effect_finish((mean_b - mean_a) / fabs(mean_a), se, na, var_a / na, nb, var_b / nb,
						 result);
}

/*
 * Completes an effect (abt_metric_effect, abt_metric_cuped_effect) into the
 * frequentist test: the fixed-horizon two-sided Welch t-test,
 * p = 2 P(T_dof > |uplift/se|) and the 1 - alpha interval
 * uplift -+ t_{1-alpha/2, dof} se; or, sequential, the confidence
 * sequence of gbstats' SequentialTwoSidedTTest: with N = n_A + n_B (n),
 * rho^2 = (-2 ln alpha + ln(-2 ln alpha + 1)) / N*,
 * halfwidth = se sqrt(N) sqrt(2 (N rho^2 + 1) ln(sqrt(N rho^2 + 1)/alpha)
 * / (N rho)^2), p = min(1, 1/e) with
 * e = exp(rho^2 st^2 / (2 (N rho^2 + 1))) / sqrt(N rho^2 + 1),
 * st^2 = uplift^2 N / se^2; p is taken in logs, so a huge e cannot
 * overflow.  All NAN for an undefined effect, alpha outside (0, 1), or
 * (sequential) a tuning that is not finite and positive.
 */
void
abt_metric_effect_test(int64_t n_total, bool sequential, double alpha, double tuning,
					   AbtMetricTest *result)
{
	double		half;

	if (isnan(result->se) || !(alpha > 0.0 && alpha < 1.0) ||
		(sequential && (!(tuning > 0.0) || !isfinite(tuning))))
	{
		test_set_null(result);
		return;
	}
	if (!sequential)
	{
		double		p = 2.0 * t_sf(fabs(result->uplift / result->se), result->dof);

		result->p_value = fmin(p, 1.0);
		half = abt_metric_t_quantile(1.0 - 0.5 * alpha, result->dof) * result->se;
	}
	else
	{
		double		n = (double) n_total;
		double		l = -2.0 * log(alpha);
		double		rho2 = (l + log(l + 1.0)) / tuning;
		double		nr = n * rho2 + 1.0;
		double		st2;
		double		log_inv_e;

		/* s sqrt(X / (N^2 rho^2)) with s = se sqrt(N) is se sqrt(X / (N rho^2)) */
		half = result->se * sqrt(2.0 * nr * (0.5 * log(nr) - log(alpha)) / (n * rho2));
		st2 = (result->uplift / result->se) * (result->uplift / result->se) * n;
		log_inv_e = 0.5 * log(nr) - rho2 * st2 / (2.0 * nr);
		result->p_value = exp(fmin(log_inv_e, 0.0));
	}
	result->ci_low = result->uplift - half;
	result->ci_high = result->uplift + half;
}

/*
 * Fixed-horizon two-sided Welch t-test of B (variant) against A (control)
 * on the relative uplift (abt_metric_effect, then abt_metric_effect_test).
 */
void
abt_metric_ttest(int64_t n_a, double mean_a, double var_a,
				 int64_t n_b, double mean_b, double var_b,
				 double alpha, AbtMetricTest *result)
{
	abt_metric_effect(n_a, mean_a, var_a, n_b, mean_b, var_b, result);
	abt_metric_effect_test(n_a + n_b, false, alpha, 0.0, result);
}

/*
 * Sequential two-sided test (gbstats SequentialTwoSidedTTest) with tuning
 * N*: abt_metric_effect, then abt_metric_effect_test.
 */
void
abt_metric_sequential_ttest(int64_t n_a, double mean_a, double var_a,
							int64_t n_b, double mean_b, double var_b,
							double alpha, double tuning,
							AbtMetricTest *result)
{
	abt_metric_effect(n_a, mean_a, var_a, n_b, mean_b, var_b, result);
	abt_metric_effect_test(n_a + n_b, true, alpha, tuning, result);
}

/*
 * One variant's CUPED moments from its sums, as gbstats' statistics: the
 * means of y and x, their variances and their covariance.  A proportion's
 * (ProportionStatistic) are the population's: m (1 - m) and
 * sum_xy/n - sum_x sum_y/n^2; a mean's (SampleMeanStatistic) the sample's,
 * with n - 1 (abt_metric_mean_moments, and (sum_xy - sum_x sum_y/n)/(n - 1)).
 * False for n < 1, sums that are not finite or impossible.
 */
typedef struct CupedMoments
{
	double		mean_y;
	double		var_y;
	double		mean_x;
	double		var_x;
	double		cov;
} CupedMoments;

static bool
cuped_moments(bool proportion, int64_t n, double sum_y, double sum_y2, double sum_x,
			  double sum_x2, double sum_xy, CupedMoments *m)
{
	double		dn = (double) n;

	if (n < 1 || !isfinite(sum_y) || !isfinite(sum_x) || !isfinite(sum_xy))
		return false;
	if (proportion)
	{
		m->mean_y = sum_y / dn;
		m->mean_x = sum_x / dn;
		m->var_y = m->mean_y * (1.0 - m->mean_y);
		m->var_x = m->mean_x * (1.0 - m->mean_x);
		m->cov = sum_xy / dn - sum_x * sum_y / (dn * dn);
	}
	else
	{
		abt_metric_mean_moments(n, sum_y, sum_y2, &m->mean_y, &m->var_y);
		abt_metric_mean_moments(n, sum_x, sum_x2, &m->mean_x, &m->var_x);
		m->cov = (n > 1) ? (sum_xy - sum_x * sum_y / dn) / (dn - 1.0) : 0.0;
	}
	return isfinite(m->var_y) && isfinite(m->var_x) && isfinite(m->cov);
}

/*
 * CUPED's theta pooled over control A and variant B, gbstats' compute_theta:
 * the covariance of y and x over both variants' visitors together divided
 * by the variance of x there (the joint statistics of n_A + n_B visitors
 * from the summed sums), 0 when either joint variance is 0 (no covariate
 * or no outcome variation: no adjustment).  NAN for sums that are not
 * finite or impossible, or no visitor.
 */
double
abt_metric_cuped_theta(bool proportion, const AbtCupedSums *a, const AbtCupedSums *b)
{
	CupedMoments joint;

	if (a->n < 0 || b->n < 0 ||
		!cuped_moments(proportion, a->n + b->n, a->sum_y + b->sum_y, a->sum_y2 + b->sum_y2,
					   a->sum_x + b->sum_x, a->sum_x2 + b->sum_x2, a->sum_xy + b->sum_xy,
					   &joint))
		return NAN;
	if (joint.var_x == 0.0 || joint.var_y == 0.0)
		return 0.0;
	return joint.cov / joint.var_x;
}

/*
 * CUPED's effect of B (variant) against A (control) under theta, as gbstats
 * with RegressionAdjustedStatistic on both sides (models/tests.py,
 * EffectMoments with frequentist_variance_relative_cuped):
 *	 adjusted mean	a_V = y_V - theta x_V,	uplift = (a_B - a_A) / |y_A|
 *	 adjusted var	v_V = var_y + theta^2 var_x - 2 theta cov	(per variant)
 *	 se^2 = (v_B / n_B + (var_yA r^2 - 2 theta cov_A r + theta^2 var_xA) / n_A) / y_A^2,
 *			r = y_B / y_A (the delta method on the control's y and x)
 *	 dof	= Welch's on v_A / n_A and v_B / n_B.
 * With theta 0 it is abt_metric_effect on the unadjusted moments.  False
 * (all NAN) as abt_metric_effect (fewer than 2 visitors a side, impossible
 * sums, y_A = 0, se 0), for a theta that is not finite, or, as gbstats, an
 * adjusted control mean of 0.
 */
bool
abt_metric_cuped_effect(bool proportion, const AbtCupedSums *a, const AbtCupedSums *b,
						double theta, AbtMetricTest *result)
{
	CupedMoments ma;
	CupedMoments mb;
	double		na;
	double		nb;
	double		adj_a;
	double		adj_b;
	double		var_adj_a;
	double		var_adj_b;
	double		r;
	double		ctrl;
	double		se;

	test_set_null(result);
	if (a->n < 2 || b->n < 2 || !isfinite(theta) ||
		!cuped_moments(proportion, a->n, a->sum_y, a->sum_y2, a->sum_x, a->sum_x2, a->sum_xy, &ma) ||
		!cuped_moments(proportion, b->n, b->sum_y, b->sum_y2, b->sum_x, b->sum_x2, b->sum_xy, &mb) ||
		ma.mean_y == 0.0)
		return false;
	na = (double) a->n;
	nb = (double) b->n;
	adj_a = ma.mean_y - theta * ma.mean_x;
	adj_b = mb.mean_y - theta * mb.mean_x;
	if (adj_a == 0.0)
		return false;
	var_adj_a = ma.var_y + theta * theta * ma.var_x - 2.0 * theta * ma.cov;
	var_adj_b = mb.var_y + theta * theta * mb.var_x - 2.0 * theta * mb.cov;
	r = mb.mean_y / ma.mean_y;
	ctrl = ma.var_y * r * r - 2.0 * theta * ma.cov * r + theta * theta * ma.var_x;
	se = sqrt((var_adj_b / nb + ctrl / na) / (ma.mean_y * ma.mean_y));
	return effect_finish((adj_b - adj_a) / fabs(ma.mean_y), se, na, var_adj_a / na,
						 nb, var_adj_b / nb, result);
}

/* A variant's covariate mean x/n (CUPED), NAN without visitors or with a sum that is not finite. */
double
abt_metric_cuped_covariate_mean(const AbtCupedSums *s)
{
	if (s->n < 1 || !isfinite(s->sum_x))
		return NAN;
	return s->sum_x / (double) s->n;
}

/* Standard normal quantile Phi^-1(p), 0 < p < 1. */
static double
normal_quantile(double p)
{
	if (p < 0.5)
		return -normal_upper_quantile(p);
	if (p > 0.5)
		return normal_upper_quantile(1.0 - p);
	return 0.0;
}

/* Set every field of a Bayesian result to NAN (the comparison is undefined). */
static void
bayes_set_null(AbtMetricBayes *result)
{
	result->uplift = NAN;
	result->sd = NAN;
	result->ci_low = NAN;
	result->ci_high = NAN;
	result->chance_to_win = NAN;
	result->risk_control = NAN;
	result->risk_variant = NAN;
}

/*
 * GrowthBook's Bayesian test of B (variant) against A (control) on the
 * relative effect (gbstats EffectBayesianABTest.compute_result, see the file
 * header): abt_metric_effect, then abt_metric_bayesian_effect.
 */
void
abt_metric_bayesian_test(int64_t n_a, double mean_a, double var_a,
						 int64_t n_b, double mean_b, double var_b,
						 double alpha, const AbtMetricPrior *prior,
						 AbtMetricBayes *result)
{
	AbtMetricTest data;

	abt_metric_effect(n_a, mean_a, var_a, n_b, mean_b, var_b, &data);
	abt_metric_bayesian_effect(&data, alpha, prior, result);
}

/*
 * The Bayesian result from an effect (abt_metric_effect,
 * abt_metric_cuped_effect): the posterior of the relative effect from its
 * uplift and se (the data) and the prior.  All NAN for an undefined effect,
 * alpha outside (0, 1), or a proper prior whose mean is not finite or whose
 * stddev is not finite and positive.
 */
void
abt_metric_bayesian_effect(const AbtMetricTest *data, double alpha, const AbtMetricPrior *prior,
						   AbtMetricBayes *result)
{
	double		mean;
	double		sd;
	double		half;

	bayes_set_null(result);
	if (!(alpha > 0.0 && alpha < 1.0))
		return;
	if (prior->proper &&
		(!isfinite(prior->mean) || !(prior->stddev > 0.0) || !isfinite(prior->stddev)))
		return;
	if (isnan(data->se))
		return;

	if (prior->proper)
	{
		/*
		 * (d/se^2 + mu0/s0^2) / (1/se^2 + 1/s0^2) and 1/sqrt(1/se^2 +
		 * 1/s0^2), written with q = (se/s0)^2 so that neither precision can
		 * overflow: (d + mu0 q) / (1 + q) and se / sqrt(1 + q).  A q beyond
		 * double's range leaves the prior alone.
		 */
		double		r = data->se / prior->stddev;
		double		q = r * r;

		if (isinf(q))
		{
			mean = prior->mean;
			sd = prior->stddev;
		}
		else
		{
			mean = (data->uplift + prior->mean * q) / (1.0 + q);
			sd = data->se / sqrt(1.0 + q);
		}
	}
	else
	{
		mean = data->uplift;
		sd = data->se;
	}

	half = normal_upper_quantile(0.5 * alpha) * sd;
	result->uplift = mean;
	result->sd = sd;
	result->ci_low = mean - half;
	result->ci_high = mean + half;
	result->chance_to_win = abt_normal_sf(-mean / sd);
	abt_metric_risk(mean, sd, &result->risk_control, &result->risk_variant);
}

/*
 * The expected losses of a N(mu, sigma^2) relative effect X (gbstats
 * EffectBayesianABTest.get_risk): of keeping the control, E[max(X, 0)] =
 * mu Phi(mu/sigma) + sigma phi(mu/sigma), and of choosing the variant,
 * E[max(-X, 0)] = -mu Phi(-mu/sigma) + sigma phi(mu/sigma).  Beyond
 * |mu/sigma| > RISK_LIMIT_Z, as gbstats, their limits max(mu, 0) and
 * max(-mu, 0).  Both NAN unless mu is finite and sigma finite and positive.
 */
void
abt_metric_risk(double mu, double sigma, double *risk_control, double *risk_variant)
{
	double		z;
	double		density;

	if (!isfinite(mu) || !(sigma > 0.0) || !isfinite(sigma))
	{
		*risk_control = NAN;
		*risk_variant = NAN;
		return;
	}
	z = mu / sigma;
	if (fabs(z) > RISK_LIMIT_Z)
	{
		*risk_control = fmax(mu, 0.0);
		*risk_variant = fmax(-mu, 0.0);
		return;
	}
	density = sigma * normal_pdf(z);
	*risk_control = mu * abt_normal_sf(-z) + density;
	*risk_variant = density - mu * abt_normal_sf(z);
}

/* Power of the two-sided test at the standardized effect d >= 0: P(|Z + d| > z). */
static double
power_at(double d, double z)
{
	return abt_normal_sf(z - d) + abt_normal_sf(z + d);
}

/*
 * The standardized effect d >= 0 at which the two-sided test at level
 * alpha (z = Phi^-1(1 - alpha/2)) has the given power, alpha < power < 1:
 * power_at increases from alpha at d = 0.  Newton's method from the
 * one-tail solution z + Phi^-1(power), kept inside a bracket that every
 * evaluation narrows (bisection where a step would leave it).
 */
static double
standardized_effect(double z, double power)
{
	double		lo = 0.0;
	double		hi = fmax(z + normal_quantile(power), 0.0) + 1.0;
	double		d;

	while (power_at(hi, z) < power)
		hi *= 2.0;
	d = z + normal_quantile(power);
	if (!(d > lo && d < hi))
		d = 0.5 * hi;
	for (int i = 0; i < MDE_MAX_ITER; i++)
	{
		double		f = power_at(d, z) - power;
		double		slope = normal_pdf(z - d) - normal_pdf(z + d);
		double		next;

		if (f == 0.0)
			return d;
		if (f < 0.0)
			lo = d;
		else
			hi = d;
		next = (slope > 0.0) ? d - f / slope : NAN;
		if (!(next > lo && next < hi))
			next = 0.5 * (lo + hi);
		if (fabs(next - d) <= 4.0 * DBL_EPSILON * next || hi - lo <= 4.0 * DBL_EPSILON * hi)
			return next;
		d = next;
	}
	return d;
}

/*
 * Power of the two-sided test at level alpha for a true relative effect
 * mde whose estimate has standard error se (gbstats
 * MidExperimentPower.power at the current sample size, GrowthBook's
 * powerFrequentist): 1 - Phi(z - |mde|/se) + Phi(-z - |mde|/se).  NAN
 * unless se is finite and positive, mde finite and alpha in (0, 1).
 */
double
abt_metric_test_power(double se, double mde, double alpha)
{
	if (!(se > 0.0) || !isfinite(se) || !isfinite(mde) || !(alpha > 0.0 && alpha < 1.0))
		return NAN;
	return power_at(fabs(mde) / se, normal_upper_quantile(0.5 * alpha));
}

/*
 * The relative effect (positive) that the two-sided test at level alpha
 * detects with the given power, standard error se: abt_metric_test_power solved
 * for mde.  NAN unless se is finite and positive, alpha in (0, 1) and
 * alpha < power < 1.
 */
double
abt_metric_mde(double se, double alpha, double power)
{
	if (!(se > 0.0) || !isfinite(se) || !(alpha > 0.0 && alpha < 1.0) ||
		!(power > alpha && power < 1.0))
		return NAN;
	return se * standardized_effect(normal_upper_quantile(0.5 * alpha), power);
}

/*
 * Visitors per variant for a planned test (GrowthBook's power calculator,
 * packages/shared/src/power/power.ts: powerEstFrequentist with
 * powerStandardError, relative): the smallest whole n at which
 * abt_metric_test_power with se^2 = variance (1 + (1 + mde)^2) / (mean^2 n)
 * reaches the power; no correction for the number of variants.  NAN for a
 * mean that is 0 or not finite, a variance that is not finite and
 * positive, an mde that is 0 or not finite, alpha outside (0, 1) or a power
 * outside (alpha, 1); +Inf beyond SAMPLE_SIZE_MAX.
 */
double
abt_metric_sample_size(double mean, double variance, double mde,
					   double alpha, double power)
{
	double		z;
	double		k;
	double		d;
	double		n;

	if (!isfinite(mean) || mean == 0.0 || !(variance > 0.0) || !isfinite(variance) ||
		!isfinite(mde) || mde == 0.0 || !(alpha > 0.0 && alpha < 1.0) ||
		!(power > alpha && power < 1.0))
		return NAN;
	z = normal_upper_quantile(0.5 * alpha);
	/* se = k / sqrt(n): the test's standardized effect is |mde| sqrt(n) / k */
	k = sqrt(variance * (1.0 + (1.0 + mde) * (1.0 + mde))) / fabs(mean);
	d = standardized_effect(z, power);
	n = ceil((d * k / fabs(mde)) * (d * k / fabs(mde)));
	if (!(n <= SAMPLE_SIZE_MAX))
		return INFINITY;
	n = fmax(n, 1.0);
	/* the rounding of n's formula may be one off either way */
	while (n > 1.0 && power_at(fabs(mde) * sqrt(n - 1.0) / k, z) >= power)
		n -= 1.0;
	while (power_at(fabs(mde) * sqrt(n) / k, z) < power && n < SAMPLE_SIZE_MAX)
		n += 1.0;
	return n;
}

/* qsort comparator of doubles, ascending. */
static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * The k-th smallest (from 0) of sorted[0..n) together with `zeros` more
 * zeros, `negatives` being the count of sorted values below 0: the zeros
 * sit right after them.
 */
static double
order_statistic(const double *sorted, int64_t negatives, int64_t zeros, int64_t k)
{
	if (k < negatives)
		return sorted[k];
	if (k < negatives + zeros)
		return 0.0;
	return sorted[k - zeros];
}

/*
 * PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY x) over
 * values[0..n) together with `zeros` more values 0 (orderedsetaggs.c,
 * percentile_cont_final_common, in the same float8 arithmetic): with N
 * values in all, the order statistics at floor and ceil of p (N - 1)
 * (from 0), interpolated as lo + (p (N - 1) - floor(p (N - 1))) (hi - lo).
 * Sorts values in place.  NAN for no values at all, a negative count or p
 * outside [0, 1].
 */
double
abt_metric_percentile(double *values, int64_t n, int64_t zeros, double p)
{
	int64_t		negatives = 0;
	int64_t		high;
	int64_t		first;
	int64_t		second;
	double		position;
	double		lo;
	double		hi;

	if (n < 0 || zeros < 0 || n + zeros == 0 || !(p >= 0.0 && p <= 1.0))
		return NAN;
	if (n > 1)
		qsort(values, (size_t) n, sizeof(double), double_cmp);
	/* the first value not below 0 (binary search) */
	high = n;
	while (negatives < high)
	{
		int64_t		mid = negatives + (high - negatives) / 2;

		if (values[mid] < 0.0)
			negatives = mid + 1;
		else
			high = mid;
	}
	position = p * (double) (n + zeros - 1);
	first = (int64_t) floor(position);
	second = (int64_t) ceil(position);
	lo = order_statistic(values, negatives, zeros, first);
	if (second == first)
		return lo;
	hi = order_statistic(values, negatives, zeros, second);
	return lo + ((position - (double) first) * (hi - lo));
}

/* Restore the max-heap below root in order[0..end), keyed on p[order[]]. */
static void
sift_down(const double *p, int *order, int root, int end)
{
	for (;;)
	{
		int			child = 2 * root + 1;
		int			tmp;

		if (child >= end)
			break;
		if (child + 1 < end && p[order[child + 1]] > p[order[child]])
			child++;
		if (!(p[order[child]] > p[order[root]]))
			break;
		tmp = order[root];
		order[root] = order[child];
		order[child] = tmp;
		root = child;
	}
}

/*
 * Fill order[] with the indexes of the non-NAN p[i], by ascending p
 * (heapsort: O(n log n), no allocation, no global comparator state); returns
 * how many.  Ties may come in any order: neither adjustment depends on it.
 */
static int
sort_pvalues(const double *p, int n, int *order)
{
	int			m = 0;
	int			i;

	for (i = 0; i < n; i++)
		if (!isnan(p[i]))
			order[m++] = i;
	for (i = m / 2 - 1; i >= 0; i--)
		sift_down(p, order, i, m);
	for (i = m - 1; i > 0; i--)
	{
		int			tmp = order[0];

		order[0] = order[i];
		order[i] = tmp;
		sift_down(p, order, 0, i);
	}
	return m;
}

/*
 * Holm-Bonferroni adjusted p-values over the family of the non-NAN p[i]
 * (m of them), as GrowthBook's adjustPValuesHolmBonferroni: by ascending p,
 * min(1, p (m - k)) for rank k = 0.., made non-decreasing by a running
 * maximum.  NAN entries stay NAN and do not count in m.  order is caller
 * workspace of n ints; adjusted may be the same array as p.  Returns m.
 */
int
abt_metric_adjust_holm(const double *p, int n, int *order, double *adjusted)
{
	int			m;
	int			k;
	double		running = 0.0;

	if (n <= 0)
		return 0;
	m = sort_pvalues(p, n, order);
	for (k = 0; k < n; k++)
		if (isnan(p[k]))
			adjusted[k] = NAN;
	for (k = 0; k < m; k++)
	{
		int			idx = order[k];
		double		v = fmin(p[idx] * (double) (m - k), 1.0);

		if (v > running)
			running = v;
		adjusted[idx] = running;
	}
	return m;
}

/*
 * Benjamini-Hochberg adjusted p-values over the family of the non-NAN p[i]
 * (m of them), as GrowthBook's adjustPValuesBenjaminiHochberg: by
 * descending p, min(1, p m / r) for ascending rank r = m..1, made
 * non-increasing by a running minimum.  NAN entries stay NAN and do not
 * count in m.  order is caller workspace of n ints; adjusted may be the
 * same array as p.  Returns m.
 */
int
abt_metric_adjust_bh(const double *p, int n, int *order, double *adjusted)
{
	int			m;
	int			k;
	double		running = INFINITY;

	if (n <= 0)
		return 0;
	m = sort_pvalues(p, n, order);
	for (k = 0; k < n; k++)
		if (isnan(p[k]))
			adjusted[k] = NAN;
	for (k = m - 1; k >= 0; k--)
	{
		int			idx = order[k];
		double		v = fmin(p[idx] * (double) m / (double) (k + 1), 1.0);

		if (v < running)
			running = v;
		adjusted[idx] = running;
	}
	return m;
}
