/*
 * stats_math.c
 *		Dependency-free statistics for A/B test results: Wilson intervals,
 *		uplift, the two-proportion z-test, the Bayesian chance to beat the
 *		control, chi-square tail probabilities and the sample ratio
 *		mismatch (SRM) test.
 *
 * Plain C99 using only the C library (no PostgreSQL headers), so the same
 * file builds inside the extension and in the standalone unit test
 * test/unit/stats_math_test.c.  Functions return NAN where the result is
 * meaningless (no data, invalid counts); the SQL layer maps NAN to NULL.
 *
 * Counts are int64_t; a count is valid when 0 <= conversions <= trials.
 * Invalid counts give NAN.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "special_math.h"
#include "stats_math.h"

/*
 * Chance to beat: use the exact closed-form sum when the smallest of the
 * four beta parameters is at most this (the sum has that many terms).
 */
#define CTB_EXACT_MAX_TERMS 1500

/* Chance to beat: grid intervals per posterior for numerical integration */
#define CTB_GRID_STEPS 150

/* Chance to beat: half-width of each posterior's grid, in standard deviations */
#define CTB_GRID_SDS 12.0

/* Chance to beat: exact-sum terms this far (e^-40) below the sum are negligible */
#define CTB_NEGLIGIBLE 4.2483542552915889e-18

/* Chance to beat: fold terms above this into the exact sum's scale */
#define CTB_RESCALE_ABOVE 1e200

/* Incomplete gamma: iteration cap and tiny number for Lentz's method */
#define IGAMMA_MAX_ITER 100000
#define IGAMMA_FPMIN (DBL_MIN / DBL_EPSILON)

/* One beta posterior's integration grid and log-density parameters. */
typedef struct BetaGrid
{
	double		am1;			/* alpha - 1 */
	double		bm1;			/* beta - 1 */
	double		mode;			/* (alpha - 1) / (alpha + beta - 2) */
	double		cmode;			/* 1 - mode, computed without cancellation */
	double		lo;				/* first grid point */
	double		step;			/* grid spacing */
} BetaGrid;

/* True when 0 <= conversions <= trials. */
static bool
counts_valid(int64_t conversions, int64_t trials)
{
	return conversions >= 0 && trials >= conversions;
}

/* Clamp a probability into [0, 1] (NAN passes through). */
static double
clamp01(double p)
{
	if (p < 0.0)
		return 0.0;
	if (p > 1.0)
		return 1.0;
	return p;
}

/* Standard normal cumulative distribution function, via erfc for accurate tails. */
double
abt_stats_normal_cdf(double z)
{
	return abt_normal_sf(-z);
}

/* Wilson score interval of conversions/trials; both bounds NAN when trials == 0 or counts are invalid. */
void
abt_stats_wilson(int64_t conversions, int64_t trials, double z,
				 double *low, double *high)
{
	double		n;
	double		phat;
	double		z2;
	double		denom;
	double		center;
	double		half;

	if (trials <= 0 || !counts_valid(conversions, trials) || isnan(z))
	{
		*low = NAN;
		*high = NAN;
		return;
	}

	n = (double) trials;
	phat = (double) conversions / n;
	z2 = z * z;
	denom = 1.0 + z2 / n;
	center = (phat + z2 / (2.0 * n)) / denom;
	half = fabs(z) * sqrt(phat * (1.0 - phat) / n + z2 / (4.0 * n * n)) / denom;

	*low = (conversions == 0) ? 0.0 : clamp01(center - half);
	*high = (conversions == trials) ? 1.0 : clamp01(center + half);
}

/* Relative uplift (rv - rc) / rc; NAN when rate_control == 0. */
double
abt_stats_uplift(double rate_variant, double rate_control)
{
	if (rate_control == 0.0)
		return NAN;
	return (rate_variant - rate_control) / rate_control;
}

/*
 * Two-sided p-value of the pooled two-proportion z-test.  NAN when either
 * group has no trials (or counts are invalid); 1.0 when the pooled rate is
 * 0 or 1, since the standard error is then 0 and there is no evidence of a
 * difference.
 */
double
abt_stats_ztest_p(int64_t conv_a, int64_t n_a, int64_t conv_b, int64_t n_b)
{
	double		na;
	double		nb;
	double		pooled;
	double		se;
	double		z;

	if (n_a <= 0 || n_b <= 0 ||
		!counts_valid(conv_a, n_a) || !counts_valid(conv_b, n_b))
		return NAN;

	if (conv_a + conv_b == 0 || conv_a + conv_b == n_a + n_b)
		return 1.0;

	na = (double) n_a;
	nb = (double) n_b;
	pooled = ((double) conv_a + (double) conv_b) / (na + nb);
	se = sqrt(pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb));
	if (!(se > 0.0))
		return 1.0;
	z = ((double) conv_b / nb - (double) conv_a / na) / se;

	return clamp01(erfc(fabs(z) / ABT_SQRT2));
}

/*
 * P(X1 > X2) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2) with a1 a positive
 * integer: Evan Miller's closed form
 *	 sum_{i=0}^{a1-1} B(a2+i, b1+b2) / ((b1+i) B(1+i, b1) B(a2, b2)),
 * each term the previous one times a rational ratio.  Terms are held as
 * multiples of exp(lscale): the first term's log, moved up whenever a term
 * grows large, so nothing overflows and a term costs a multiplication, not a
 * log and an exp.
 */
static double
beta_gt_exact(double a1, double b1, double a2, double b2)
{
	int64_t		nterms = (int64_t) a1;
	int64_t		i;
	double		lscale;			/* log of the unit the terms are counted in */
	double		term = 1.0;		/* the current term, in that unit */
	double		sum = 1.0;		/* the sum of terms so far, in that unit */

	/*
	 * log B(a2, b1+b2) - log b1 - log B(1, b1) - log B(a2, b2)
	 * = lgamma(b1+b2) - lgamma(b2) - (lgamma(a2+b1+b2) - lgamma(a2+b2)),
	 * grouped as two differences over the smaller shift.
	 */
	if (b1 <= a2)
		lscale = abt_lgamma_shift(b2, b1) - abt_lgamma_shift(a2 + b2, b1);
	else
		lscale = abt_lgamma_shift(b2, a2) - abt_lgamma_shift(b1 + b2, a2);

	for (i = 0; i + 1 < nterms; i++)
	{
		double		di = (double) i;
		double		ratio;

		ratio = ((a2 + di) * (b1 + di)) / ((a2 + b1 + b2 + di) * (1.0 + di));
		term *= ratio;
		if (term > CTB_RESCALE_ABOVE)
		{
			lscale += log(term);
			sum /= term;
			term = 1.0;
		}
		sum += term;

		/*
		 * Once the ratio drops below 1 it stays below 1, so every later term
		 * is smaller still; stop when they no longer matter.
		 */
		if (ratio < 1.0 && term < sum * CTB_NEGLIGIBLE)
			break;
	}

	return exp(lscale + log(sum));
}

/* Set up a grid of mean +- CTB_GRID_SDS sd for Beta(a, b), a and b > 1. */
static void
beta_grid_init(BetaGrid *g, double a, double b)
{
	double		n = a + b;
	double		mean = a / n;
	double		sd = sqrt(a * b / (n * n * (n + 1.0)));
	double		lo = mean - CTB_GRID_SDS * sd;
	double		hi = mean + CTB_GRID_SDS * sd;

	if (lo < 0.0)
		lo = 0.0;
	if (hi > 1.0)
		hi = 1.0;

	g->am1 = a - 1.0;
	g->bm1 = b - 1.0;
	g->mode = (a - 1.0) / (n - 2.0);
	g->cmode = (b - 1.0) / (n - 2.0);
	g->lo = lo;
	g->step = (hi - lo) / CTB_GRID_STEPS;
}

/* Beta density at x divided by its value at the mode (so at most 1). */
static double
beta_rel_density(const BetaGrid *g, double x)
{
	if (x <= 0.0 || x >= 1.0)
		return 0.0;
	return exp(g->am1 * log1p((x - g->mode) / g->mode) +
			   g->bm1 * log1p((g->mode - x) / g->cmode));
}

/*
 * P(Xv > Xc) = integral of f_v(x) F_c(x) dx by Simpson's rule on each
 * interval of the merged grids of both posteriors (so each density is
 * resolved on its own scale), with F_c accumulated on the same intervals.  Densities are normalised
 * numerically.  All parameters must be large (> CTB_EXACT_MAX_TERMS), so
 * both posteriors are nearly normal and lie well inside (0, 1).
 */
static double
beta_gt_integrate(double av, double bv, double ac, double bc)
{
	BetaGrid	gv;
	BetaGrid	gc;
	int			iv = 0;
	int			ic = 0;
	bool		first = true;
	double		x_prev = 0.0;
	double		fv_prev = 0.0;
	double		fc_prev = 0.0;
	double		cum_c = 0.0;	/* integral of f_c up to x_prev */
	double		zv = 0.0;		/* integral of f_v up to x_prev */
	double		num = 0.0;		/* integral of f_v * cum_c up to x_prev */

	beta_grid_init(&gv, av, bv);
	beta_grid_init(&gc, ac, bc);

	while (iv <= CTB_GRID_STEPS || ic <= CTB_GRID_STEPS)
	{
		double		xv = (iv <= CTB_GRID_STEPS) ? gv.lo + iv * gv.step : HUGE_VAL;
		double		xc = (ic <= CTB_GRID_STEPS) ? gc.lo + ic * gc.step : HUGE_VAL;
		double		x;
		double		fv;
		double		fc;

		if (xv <= xc)
		{
			x = xv;
			iv++;
		}
		else
		{
			x = xc;
			ic++;
		}

		fv = beta_rel_density(&gv, x);
		fc = beta_rel_density(&gc, x);

		if (!first && x > x_prev)
		{
			double		h = x - x_prev;
			double		xm = x_prev + 0.5 * h;
			double		fvm = beta_rel_density(&gv, xm);
			double		fcm = beta_rel_density(&gc, xm);

			/* F_c at the midpoint from the parabola through fc_prev, fcm, fc */
			double		cum_mid = cum_c + h / 24.0 * (5.0 * fc_prev + 8.0 * fcm - fc);
			double		cum_next = cum_c + h / 6.0 * (fc_prev + 4.0 * fcm + fc);

			zv += h / 6.0 * (fv_prev + 4.0 * fvm + fv);
			num += h / 6.0 * (fv_prev * cum_c + 4.0 * fvm * cum_mid + fv * cum_next);
			cum_c = cum_next;
		}
		first = false;
		x_prev = x;
		fv_prev = fv;
		fc_prev = fc;
	}

	if (!(zv > 0.0) || !(cum_c > 0.0))
		return 0.5;				/* cannot happen for valid parameters */
	return num / (zv * cum_c);
}

/*
 * Bayesian chance to beat the control: P(p_v > p_c) with independent
 * posteriors p ~ Beta(1 + conv, 1 + n - conv) (uniform priors).  Uses the
 * exact sum (in whichever of its four symmetric forms has fewest terms) when
 * some parameter is small, numerical integration otherwise.  NAN for invalid
 * counts; 0 of 0 is a valid uniform posterior.
 */
double
abt_stats_chance_to_beat(int64_t conv_v, int64_t n_v,
						 int64_t conv_c, int64_t n_c)
{
	double		av;
	double		bv;
	double		ac;
	double		bc;
	double		smallest;
	double		p;

	if (!counts_valid(conv_v, n_v) || !counts_valid(conv_c, n_c))
		return NAN;

	av = 1.0 + (double) conv_v;
	bv = 1.0 + (double) (n_v - conv_v);
	ac = 1.0 + (double) conv_c;
	bc = 1.0 + (double) (n_c - conv_c);

	if (av == ac && bv == bc)
		return 0.5;

	smallest = fmin(fmin(av, bv), fmin(ac, bc));
	if (smallest <= CTB_EXACT_MAX_TERMS)
	{
		/* P(v > c) = P(1-c > 1-v) = 1 - P(c > v) = 1 - P(1-v > 1-c) */
		if (av == smallest)
			p = beta_gt_exact(av, bv, ac, bc);
		else if (bc == smallest)
			p = beta_gt_exact(bc, ac, bv, av);
		else if (ac == smallest)
			p = 1.0 - beta_gt_exact(ac, bc, av, bv);
		else
			p = 1.0 - beta_gt_exact(bv, av, bc, ac);
	}
	else
		p = beta_gt_integrate(av, bv, ac, bc);

	return clamp01(p);
}

/* Regularized lower incomplete gamma P(a, x) by its series (x < a + 1). */
static double
gamma_p_series(double a, double x)
{
	double		ap = a;
	double		term = 1.0 / a;
	double		sum = term;
	int			i;

	for (i = 0; i < IGAMMA_MAX_ITER; i++)
	{
		ap += 1.0;
		term *= x / ap;
		sum += term;
		if (fabs(term) < fabs(sum) * DBL_EPSILON)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Regularized upper incomplete gamma Q(a, x) by its continued fraction (x >= a + 1). */
static double
gamma_q_contfrac(double a, double x)
{
	double		b = x + 1.0 - a;
	double		c = 1.0 / IGAMMA_FPMIN;
	double		d = 1.0 / b;
	double		h = d;
	int			i;

	for (i = 1; i <= IGAMMA_MAX_ITER; i++)
	{
		double		an = -i * (i - a);
		double		del;

		b += 2.0;
		d = an * d + b;
		if (fabs(d) < IGAMMA_FPMIN)
			d = IGAMMA_FPMIN;
		c = b + an / c;
		if (fabs(c) < IGAMMA_FPMIN)
			c = IGAMMA_FPMIN;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < DBL_EPSILON)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

/*
 * Chi-square survival function P(X > x) = Q(df/2, x/2).  NAN when df <= 0,
 * df is not finite or x is NAN; 1 for x <= 0; 0 for x = +Inf.
 */
double
abt_stats_chisq_sf(double x, double df)
{
	double		a;
	double		hx;

	if (isnan(x) || !isfinite(df) || !(df > 0.0))
		return NAN;
	if (x <= 0.0)
		return 1.0;
	if (isinf(x))
		return 0.0;

	a = 0.5 * df;
	hx = 0.5 * x;
	if (hx < a + 1.0)
		return clamp01(1.0 - gamma_p_series(a, hx));
	return clamp01(gamma_q_contfrac(a, hx));
}

/*
 * Sample ratio mismatch: chi-square goodness-of-fit p-value of observed
 * counts against expected = total * w_i / sum(w), df = (variants with
 * weight > 0) - 1.  Returns 0 when a variant with weight 0 has traffic
 * (impossible under the allocation).  NAN when n < 2, an observed count is
 * negative, a weight is negative or not finite, total == 0, or fewer than
 * two weights are positive.
 */
double
abt_stats_srm_p(const int64_t *observed, const double *weights, int n)
{
	double		total = 0.0;
	double		wsum = 0.0;
	int			npos = 0;
	bool		impossible = false;
	double		chi2 = 0.0;
	int			i;

	if (n < 2 || observed == NULL || weights == NULL)
		return NAN;

	for (i = 0; i < n; i++)
	{
		if (observed[i] < 0 || !isfinite(weights[i]) || weights[i] < 0.0)
			return NAN;
		total += (double) observed[i];
		if (weights[i] > 0.0)
		{
			wsum += weights[i];
			npos++;
		}
		else if (observed[i] > 0)
			impossible = true;
	}

	if (total == 0.0)
		return NAN;
	if (impossible)
		return 0.0;
	if (npos < 2)
		return NAN;

	for (i = 0; i < n; i++)
	{
		double		expected;
		double		diff;

		if (!(weights[i] > 0.0))
			continue;
		expected = total * (weights[i] / wsum);
		diff = (double) observed[i] - expected;
		chi2 += diff * diff / expected;
	}

	return abt_stats_chisq_sf(chi2, (double) (npos - 1));
}
