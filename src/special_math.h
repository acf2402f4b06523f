/*
 * special_math.h
 *		Special functions the two statistics files share (stats_math.c for
 *		abt_variant_stats, metric_math.c for abt_metric_stats): the standard
 *		normal's upper tail and differences of lgamma.
 *
 * Plain C99 with no PostgreSQL headers, as the files that use it, so that
 * it builds inside the extension and in their standalone unit tests
 * (test/unit).
 */
#ifndef ABT_SPECIAL_MATH_H
#define ABT_SPECIAL_MATH_H

/* sqrt(2); M_SQRT2 is POSIX, not C99 */
#define ABT_SQRT2 1.41421356237309504880

/* Standard normal upper tail P(Z > z), via erfc for accurate tails */
extern double abt_normal_sf(double z);

/* lgamma(x + d) - lgamma(x) for x > 0, d >= 0, accurate when x is large */
extern double abt_lgamma_shift(double x, double d);

#endif							/* ABT_SPECIAL_MATH_H */
