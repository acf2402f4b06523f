/*
 * special_math.c
 *		Special functions the two statistics files share: the standard
 *		normal's upper tail (stats_math.c's normal CDF and z-test,
 *		metric_math.c's t distribution beyond Hill's threshold and its
 *		chance to beat) and lgamma(x + d) - lgamma(x) (the chance to beat's
 *		exact sum, the Student t density).
 *
 * Plain C99 using only the C library (no PostgreSQL headers), so the same
 * file builds inside the extension and in the standalone unit tests
 * test/unit/stats_math_test.c and test/unit/metric_math_test.c.
 */
#include <math.h>

#include "special_math.h"

/* Standard normal upper tail P(Z > z), via erfc for accurate tails. */
double
abt_normal_sf(double z)
{
	return 0.5 * erfc(z / ABT_SQRT2);
}

/*
 * Stirling remainder lgamma(x) - ((x - 0.5) log x - x + log(2 pi) / 2), for
 * x >= 10: the series 1/(12x) - 1/(360x^3) + 1/(1260x^5) - 1/(1680x^7) +
 * 1/(1188x^9), whose next term is below 1e-13 there.
 */
static double
stirling_tail(double x)
{
	double		r = 1.0 / x;
	double		r2 = r * r;
	double		series = 1.0 / 1680.0 - r2 / 1188.0;

	series = 1.0 / 1260.0 - r2 * series;
	series = 1.0 / 360.0 - r2 * series;
	return r * (1.0 / 12.0 - r2 * series);
}

/*
 * lgamma(x + d) - lgamma(x) for x > 0, d >= 0.  For large x this avoids
 * subtracting two huge lgamma values (lgamma(1e9) ~ 2e10 carries an
 * absolute rounding error ~ 4e-6); the error is then ~ d log(x) * eps.
 */
double
abt_lgamma_shift(double x, double d)
{
	if (x < 10.0)
		return lgamma(x + d) - lgamma(x);
	return (x - 0.5) * log1p(d / x) + d * (log(x + d) - 1.0) +
		(stirling_tail(x + d) - stirling_tail(x));
}
