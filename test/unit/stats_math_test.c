/*
 * stats_math_test.c
 *		Standalone TAP unit test of src/stats_math.c.
 *
 * Build and run from the repository root:
 *	 gcc -O2 -Wall -Wextra -Werror -Isrc test/unit/stats_math_test.c \
 *		 src/stats_math.c src/special_math.c -lm && ./a.out
 *
 * Reference values are NOT taken from this code: they come from
 * test/unit/stats_reference.js (independent methods: Simpson-integrated
 * normal tails, closed-form chi-square tails for integer df, Wilson by
 * bisection, exact BigInt rational sums and brute-force integration for the
 * chance to beat) or from published critical values.  Exit status is
 * non-zero when any test fails.  Nothing here is timed: bench/ measures
 * speed (bench/analytics.sh, the chance to beat included).
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "stats_math.h"
#include "tap.h"


/* Normal CDF against Simpson-integrated tails (stats_reference.js). */
static void
test_normal_cdf(void)
{
	check_close("normal_cdf(0) = 0.5", abt_stats_normal_cdf(0.0), 0.5, 1e-15);
	check_close("normal_cdf(-1.96) = 0.025",
				abt_stats_normal_cdf(-1.959963984540054), 0.025, 1e-12);
	check_close("normal_cdf(1.96) = 0.975",
				abt_stats_normal_cdf(1.959963984540054), 0.975, 1e-12);
	check_rel("normal_cdf(-5) tail", abt_stats_normal_cdf(-5.0),
			  2.8665157187910344e-7, 1e-9);
}

/* Wilson intervals against bisection roots (stats_reference.js). */
static void
test_wilson(void)
{
	static const struct
	{
		int64_t		c;
		int64_t		n;
		double		low;
		double		high;
	}			cases[] = {
		{50, 100, 0.40383153036599562, 0.59616846963400438},
		{0, 10, 0.0, 0.27753279986288926},
		{10, 10, 0.72246720013711085, 1.0},
		{1, 1000, 0.00017654637062607803, 0.0056425585979579355},
		{9990, 10000, 0.99816005561256205, 0.99945671401350267},
		{123456, 10000000, 0.012277347608366313, 0.012414227052349028},
	};
	size_t		i;
	double		low;
	double		high;
	char		name[MAX_LINE];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		abt_stats_wilson(cases[i].c, cases[i].n, ABT_STATS_Z95, &low, &high);
		snprintf(name, sizeof(name), "wilson %lld/%lld low",
				 (long long) cases[i].c, (long long) cases[i].n);
		check_close(name, low, cases[i].low, 1e-12);
		snprintf(name, sizeof(name), "wilson %lld/%lld high",
				 (long long) cases[i].c, (long long) cases[i].n);
		check_close(name, high, cases[i].high, 1e-12);
	}

	abt_stats_wilson(0, 0, ABT_STATS_Z95, &low, &high);
	check_true("wilson 0/0 is NAN", isnan(low) && isnan(high), "");
	abt_stats_wilson(5, 3, ABT_STATS_Z95, &low, &high);
	check_true("wilson 5/3 (invalid) is NAN", isnan(low) && isnan(high), "");
}

/* Uplift arithmetic and its NAN case. */
static void
test_uplift(void)
{
	check_close("uplift 0.12 vs 0.10 = 0.2", abt_stats_uplift(0.12, 0.10), 0.2, 1e-12);
	check_close("uplift 0 vs 0.1 = -1", abt_stats_uplift(0.0, 0.1), -1.0, 1e-15);
	check_close("uplift vs 0 is NAN", abt_stats_uplift(0.1, 0.0), NAN, 0.0);
}

/* Pooled z-test against Simpson-integrated tails (stats_reference.js). */
static void
test_ztest(void)
{
	static const struct
	{
		int64_t		ca;
		int64_t		na;
		int64_t		cb;
		int64_t		nb;
		double		p;
	}			cases[] = {
		{100, 1000, 130, 1000, 0.035488450466461499},
		{200, 1000, 200, 1000, 0.99999999999954803},
		{5000, 100000, 5200, 100000, 0.042071715304700226},
		{1, 50, 9, 60, 0.018197869700047338},
		{100000, 1000000, 101000, 1000000, 0.018682544912610389},
		{100, 10000, 180, 10000, 0.0000014739433370994668},
	};
	size_t		i;
	char		name[MAX_LINE];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		snprintf(name, sizeof(name), "ztest %lld/%lld vs %lld/%lld",
				 (long long) cases[i].ca, (long long) cases[i].na,
				 (long long) cases[i].cb, (long long) cases[i].nb);
		check_close(name,
					abt_stats_ztest_p(cases[i].ca, cases[i].na, cases[i].cb, cases[i].nb),
					cases[i].p, fmax(1e-11, cases[i].p * 1e-9));
	}
	check_close("ztest symmetric in a/b", abt_stats_ztest_p(130, 1000, 100, 1000),
				0.035488450466461499, 1e-11);
	check_close("ztest n_a = 0 is NAN", abt_stats_ztest_p(0, 0, 5, 10), NAN, 0.0);
	check_close("ztest n_b = 0 is NAN", abt_stats_ztest_p(5, 10, 0, 0), NAN, 0.0);
	check_close("ztest pooled rate 0 gives 1", abt_stats_ztest_p(0, 100, 0, 200), 1.0, 0.0);
	check_close("ztest pooled rate 1 gives 1", abt_stats_ztest_p(100, 100, 50, 50), 1.0, 0.0);
	check_close("ztest invalid counts NAN", abt_stats_ztest_p(-1, 10, 5, 10), NAN, 0.0);
}

/* Chi-square tails against published critical values and closed forms. */
static void
test_chisq(void)
{
	static const struct
	{
		double		x;
		double		df;
		double		sf;
	}			cases[] = {
		/* published critical values: 0.05, 0.05, 0.01, 0.05 */
		{3.841458820694124, 1, 0.05},
		{5.991464547107979, 2, 0.05},
		{11.344866730144373, 3, 0.01},
		{18.307038053275146, 10, 0.05},
		/* closed forms (stats_reference.js) */
		{0.5, 1, 0.47950012218672294},
		{0.5, 3, 0.91889141165444532},
		{2.0, 4, 0.73575888234288467},
		{100, 1, 1.5239706048317137e-23},
		{100, 2, 1.9287498479639178e-22},
		{40, 7, 0.0000012587903873713069},
		{1e-8, 1, 0.99992021154356181},
		{15, 5, 0.010362337915786383},
		{30, 30, 0.46565370894400965},
	};
	size_t		i;
	char		name[MAX_LINE];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		snprintf(name, sizeof(name), "chisq_sf(%g, %g)", cases[i].x, cases[i].df);
		check_close(name, abt_stats_chisq_sf(cases[i].x, cases[i].df),
					cases[i].sf, fmax(1e-13, cases[i].sf * 1e-9));
	}
	check_close("chisq_sf df = 0 is NAN", abt_stats_chisq_sf(3.0, 0.0), NAN, 0.0);
	check_close("chisq_sf df < 0 is NAN", abt_stats_chisq_sf(3.0, -1.0), NAN, 0.0);
	check_close("chisq_sf(0, 3) = 1", abt_stats_chisq_sf(0.0, 3.0), 1.0, 0.0);
	check_close("chisq_sf(inf, 2) = 0", abt_stats_chisq_sf(INFINITY, 2.0), 0.0, 0.0);
	/* non-integer df lies between its integer neighbours */
	check_true("chisq_sf(4, 2.5) between df 2 and df 3",
			   abt_stats_chisq_sf(4.0, 2.5) > abt_stats_chisq_sf(4.0, 2.0) &&
			   abt_stats_chisq_sf(4.0, 2.5) < abt_stats_chisq_sf(4.0, 3.0), "");
}

/* Sample ratio mismatch against hand-computed statistics (stats_reference.js). */
static void
test_srm(void)
{
	int64_t		o2a[] = {5000, 5000};
	int64_t		o2b[] = {5100, 4900};
	int64_t		o2c[] = {50000, 51000};
	int64_t		o3a[] = {3000, 3100, 2900};
	int64_t		o3b[] = {2000, 6000, 2100};
	int64_t		o3c[] = {9950, 10050, 0};
	int64_t		o4[] = {1000, 2000, 3000, 4100};
	int64_t		o3d[] = {9950, 10050, 3};
	int64_t		ozero[] = {0, 0};
	int64_t		oneg[] = {5, -1};
	double		w11[] = {1, 1};
	double		w111[] = {1, 1, 1};
	double		w131[] = {1, 3, 1};
	double		w550[] = {50, 50, 0};
	double		w4[] = {0.1, 0.2, 0.3, 0.4};
	double		w10[] = {1, 0};
	double		w1neg[] = {1, -1};
	int64_t		o10[] = {7, 0};

	check_close("srm 5000/5000 even", abt_stats_srm_p(o2a, w11, 2), 0.99999999999954803, 1e-11);
	check_close("srm 5100/4900 even", abt_stats_srm_p(o2b, w11, 2), 0.045500263896345428, 1e-11);
	check_close("srm 50000/51000 even", abt_stats_srm_p(o2c, w11, 2), 0.0016518987323569656, 1e-12);
	check_close("srm 3 arms even", abt_stats_srm_p(o3a, w111, 3), 0.035673993347252395, 1e-11);
	check_close("srm 1:3:1", abt_stats_srm_p(o3b, w131, 3), 0.13804189957465685, 1e-11);
	check_close("srm zero-weight arm without traffic ignored",
				abt_stats_srm_p(o3c, w550, 3), 0.47950012218672294, 1e-11);
	check_close("srm 4 arms fractional weights", abt_stats_srm_p(o4, w4, 4),
				0.68570226297911197, 1e-11);
	check_close("srm traffic on zero-weight arm gives 0",
				abt_stats_srm_p(o3d, w550, 3), 0.0, 0.0);
	check_close("srm n < 2 is NAN", abt_stats_srm_p(o2a, w11, 1), NAN, 0.0);
	check_close("srm total 0 is NAN", abt_stats_srm_p(ozero, w11, 2), NAN, 0.0);
	check_close("srm one positive weight is NAN", abt_stats_srm_p(o10, w10, 2), NAN, 0.0);
	check_close("srm negative weight is NAN", abt_stats_srm_p(o2a, w1neg, 2), NAN, 0.0);
	check_close("srm negative count is NAN", abt_stats_srm_p(oneg, w11, 2), NAN, 0.0);
}

/* Chance to beat against exact rationals and high-resolution integration. */
static void
test_chance_to_beat(void)
{
	/* exact BigInt rational sums (stats_reference.js "small") */
	static const struct
	{
		int64_t		cv;
		int64_t		nv;
		int64_t		cc;
		int64_t		nc;
		double		p;
	}			exact[] = {
		{0, 0, 0, 0, 0.5},
		{1, 10, 0, 10, 0.76190476190476197},
		{0, 10, 1, 10, 0.23809523809523808},
		{5, 20, 3, 20, 0.77313523654987071},
		{10, 100, 20, 100, 0.024826966847125379},
		{30, 50, 20, 40, 0.82646504536986387},
		{0, 5, 5, 5, 0.0010822510822510801},
		{0, 0, 5, 10, 0.5},
		{3, 3, 0, 0, 0.8},
		{100, 1000, 120, 1000, 0.076816561026440244},
		{250, 1000, 200, 1000, 0.99628332913044015},
		{700, 1000, 690, 1000, 0.68627366644610299},
		{40, 400, 50, 500, 0.50524874860334656},
	};

	/*
	 * Large counts (stats_reference.js "large"): closed form where one side
	 * has no conversions, otherwise Richardson-extrapolated uniform-grid
	 * integration cross-checked against the lgamma sum (agree to <= 3e-7).
	 */
	static const struct
	{
		int64_t		cv;
		int64_t		nv;
		int64_t		cc;
		int64_t		nc;
		double		p;
	}			large[] = {
		{5500, 100000, 5600, 100000, 0.16438242088571400},
		{5000, 50000, 5050, 50000, 0.29949506997513664},
		{60000, 1000000, 5001, 80000, 0.0020710633161445803},
		{2000, 20000, 2100, 20000, 0.049638299957982544},
		/* a typical test (exact sum, ~500 terms) and one near 0.5 (integration) */
		{500, 10000, 520, 10000, 0.26027315917169030},
		{4999, 10000, 5001, 10002, 0.49435831577394801},
		{10000, 1000000, 10200, 1000000, 0.078632989697073330},
		{50000, 1000000, 50500, 1000000, 0.052790249259898080},
		{100000, 10000000, 100300, 10000000, 0.25025164474940903},
		{6000, 100000000, 6500, 100000000, 0.0000038625643700372231},
		{5000000, 100000000, 6200, 120000, 0.0041261734599224347},
		{500000, 10000000, 500000, 10010000, 0.69592865154267491},
		{1000000, 100000000, 1001000, 100000000, 0.23869921718055917},
		{5000000, 10000000, 5002000, 10000000, 0.18554669213610944},
		{5000001, 10000000, 5000000, 10000000, 0.50017841239009242},
		{50000000, 100000000, 50005000, 100000000, 0.23975006188430270},
		{99990000, 100000000, 99990300, 100000000, 0.016278884409369587},
		{3, 100000000, 10, 100000000, 0.028686519160869835},
		{10, 100000000, 3, 100000000, 0.97131348083915758},
		{0, 100000000, 1, 100000000, 0.24999999875010190},
		{100000000, 100000000, 99999990, 100000000, 0.99951171888427692},
		{0, 0, 5, 100000000, 0.99999994000000125},
		{0, 100000000, 0, 50000000, 0.33333333555554101},
		{0, 1000000, 30, 10000000, 0.052098332443313772},
		{5000000, 100000000, 110, 2000, 0.14229964493943401},
		{2, 100000000, 0, 1000, 0.000030029398809472418},
		/* far apart (1400 sd): 1 and 0 to far below double precision */
		{60000000, 100000000, 50000000, 100000000, 1.0},
		{50000000, 100000000, 60000000, 100000000, 0.0},
	};
	size_t		i;
	char		name[MAX_LINE];
	double		max_exact_err = 0.0;
	double		max_large_err = 0.0;

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
	{
		double		err;

		snprintf(name, sizeof(name), "ctb %lld/%lld vs %lld/%lld (exact rational)",
				 (long long) exact[i].cv, (long long) exact[i].nv,
				 (long long) exact[i].cc, (long long) exact[i].nc);
		err = check_close(name,
						  abt_stats_chance_to_beat(exact[i].cv, exact[i].nv,
												   exact[i].cc, exact[i].nc),
						  exact[i].p, 1e-9);
		max_exact_err = fmax(max_exact_err, err);
	}

	for (i = 0; i < sizeof(large) / sizeof(large[0]); i++)
	{
		double		err;

		snprintf(name, sizeof(name), "ctb %lld/%lld vs %lld/%lld (reference integral)",
				 (long long) large[i].cv, (long long) large[i].nv,
				 (long long) large[i].cc, (long long) large[i].nc);
		err = check_close(name,
						  abt_stats_chance_to_beat(large[i].cv, large[i].nv,
												   large[i].cc, large[i].nc),
						  large[i].p, 1e-3);
		max_large_err = fmax(max_large_err, err);
	}
	note("chance_to_beat max abs error: %.3g vs exact rationals, %.3g vs large-count references",
		 max_exact_err, max_large_err);

	/* identical posteriors */
	check_close("ctb identical 5e7/1e8 = 0.5",
				abt_stats_chance_to_beat(50000000, 100000000, 50000000, 100000000), 0.5, 1e-12);
	check_close("ctb identical 12345678/1e8 = 0.5",
				abt_stats_chance_to_beat(12345678, 100000000, 12345678, 100000000), 0.5, 1e-12);
	check_close("ctb identical 0/1e8 = 0.5",
				abt_stats_chance_to_beat(0, 100000000, 0, 100000000), 0.5, 1e-12);
	check_close("ctb identical 1e8/1e8 = 0.5",
				abt_stats_chance_to_beat(100000000, 100000000, 100000000, 100000000), 0.5, 1e-12);
	check_close("ctb invalid counts NAN", abt_stats_chance_to_beat(11, 10, 1, 10), NAN, 0.0);
	check_close("ctb negative count NAN", abt_stats_chance_to_beat(1, 10, -1, 10), NAN, 0.0);
}

/* Deterministic pseudo-random numbers (64-bit LCG) for invariant sweeps. */
static uint64_t lcg_state = 0x9E3779B97F4A7C15ULL;

/* Next pseudo-random double in [0, 1). */
static double
lcg_uniform(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double) (lcg_state >> 11) / 9007199254740992.0;
}

/* P(v > c) + P(c > v) = 1 and monotonicity in conv_v. */
static void
test_ctb_invariants(void)
{
	static const int64_t scales[] = {10, 1000, 100000, 10000000, 100000000};
	size_t		s;
	char		name[MAX_LINE];
	char		diag[MAX_LINE];

	for (s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
	{
		double		maxdev = 0.0;
		int			k;

		for (k = 0; k < 60; k++)
		{
			int64_t		nv = (int64_t) (scales[s] * (0.5 + lcg_uniform()));
			int64_t		nc = (int64_t) (scales[s] * (0.5 + lcg_uniform()));
			double		rate = pow(10.0, -4.0 * lcg_uniform());
			double		lift = 1.0 + 0.02 * (lcg_uniform() - 0.5);
			int64_t		cv = (int64_t) (nv * fmin(1.0, rate * lift));
			int64_t		cc = (int64_t) (nc * rate);
			double		sum;

			if (k % 4 == 3)
			{
				/* also the mirrored, high-rate side */
				cv = nv - cv;
				cc = nc - cc;
			}
			sum = abt_stats_chance_to_beat(cv, nv, cc, nc) +
				abt_stats_chance_to_beat(cc, nc, cv, nv);
			maxdev = fmax(maxdev, fabs(sum - 1.0));
		}
		snprintf(name, sizeof(name), "ctb complement P(v>c)+P(c>v)=1, 60 pairs, n ~ %lld",
				 (long long) scales[s]);
		snprintf(diag, sizeof(diag), "max deviation %.3g", maxdev);
		check_true(name, maxdev <= 1e-6, diag);
		note("complement max deviation at n ~ %lld: %.3g", (long long) scales[s], maxdev);
	}

	/* monotone sweeps, some crossing the exact/integration switch */
	{
		static const struct
		{
			int64_t		from;
			int64_t		to;
			int64_t		step;
			int64_t		nv;
			int64_t		cc;
			int64_t		nc;
		}			sweeps[] = {
			{0, 20, 1, 20, 3, 20},
			{0, 1000, 1, 1000, 100, 1000},
			{4800, 5400, 1, 100000, 5000, 100000},
			{0, 3000, 1, 100000000, 1000, 100000000},
			{49990000, 50010000, 97, 100000000, 50000000, 100000000},
			{99980000, 100000000, 53, 100000000, 99990000, 100000000},
		};
		size_t		w;

		for (w = 0; w < sizeof(sweeps) / sizeof(sweeps[0]); w++)
		{
			int64_t		cv;
			double		prev = -1.0;
			double		worst = 0.0;

			for (cv = sweeps[w].from; cv <= sweeps[w].to; cv += sweeps[w].step)
			{
				double		p = abt_stats_chance_to_beat(cv, sweeps[w].nv,
														 sweeps[w].cc, sweeps[w].nc);

				if (prev >= 0.0)
					worst = fmax(worst, prev - p);
				prev = p;
			}
			snprintf(name, sizeof(name), "ctb non-decreasing in conv_v over %lld..%lld of %lld vs %lld/%lld",
					 (long long) sweeps[w].from, (long long) sweeps[w].to,
					 (long long) sweeps[w].nv, (long long) sweeps[w].cc,
					 (long long) sweeps[w].nc);
			snprintf(diag, sizeof(diag), "largest decrease %.3g", worst);
			check_true(name, worst <= 1e-9, diag);
		}
	}
}

int
main(void)
{
	test_normal_cdf();
	test_wilson();
	test_uplift();
	test_ztest();
	test_chisq();
	test_srm();
	test_chance_to_beat();
	test_ctb_invariants();

	return tap_finish();
}
