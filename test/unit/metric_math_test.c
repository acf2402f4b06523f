/*
 * metric_math_test.c
 *		Standalone TAP unit test of src/metric_math.c.
 *
 * Build and run from the repository root:
 *	 gcc -O2 -Wall -Wextra -Werror -Isrc test/unit/metric_math_test.c \
 *		 src/metric_math.c src/special_math.c -lm && ./a.out
 *
 * Reference values are NOT taken from this code:
 * - the t CDF, t quantile and full test results come from
 *	 test/unit/metric_reference.py (50-digit mpmath: the regularized
 *	 incomplete beta, its root, and GrowthBook's gbstats formulas re-derived
 *	 in mpmath);
 * - the rounded test results are those of GrowthBook's own unit tests,
 *	 packages/stats/tests/frequentist/test_tests.py (TestTwoSidedTTest,
 *	 TestSequentialTTest), which issue 9 also quotes;
 * - the Holm and Benjamini-Hochberg cases are those of GrowthBook's
 *	 packages/shared/test/experiments.test.ts ("pvalue correction method");
 * - closed forms (t with 1 and 2 degrees of freedom), hand-computed small
 *	 cases and a brute-force O(n^2) adjustment for larger families;
 * - the Bayesian results, power, MDE and sample sizes come from
 *	 metric_reference.py bayes (gbstats' EffectBayesianABTest with the
 *	 risks integrated numerically, the power's root, the smallest whole
 *	 sample size past the real root), and the rounded ones from gbstats'
 *	 tests/bayesian/test_tests.py, tests/test_midexperimentpower.py and
 *	 GrowthBook's packages/shared/test/power.test.ts;
 * - the percentile against the sorted whole, zeros included, by brute
 *	 force (test/sql/metric_capping.sql holds it equal to PostgreSQL's
 *	 percentile_cont);
 * - CUPED (theta, the adjusted fixed-horizon and sequential tests) from
 *	 gbstats' own code run by test/unit/cuped_reference.py on its unit
 *	 tests' aggregates and on a random experiment's, and the rounded values
 *	 of those unit tests (tests/test_gbstats.py,
 *	 tests/frequentist/test_tests.py).
 * Exit status is non-zero when any test fails.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric_math.h"
#include "tap.h"


/* size of the pseudo-random family checked against brute force */
#define NBIG 300

/* pi, as C99 has no M_PI */
#define TEST_PI 3.14159265358979323846

/* qsort comparator of doubles, ascending (the test's own). */
static int
test_double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Check that every field of a test result is NAN. */
static void
check_null(const char *name, const AbtMetricTest *r)
{
	bool		ok = isnan(r->uplift) && isnan(r->se) && isnan(r->dof) &&
		isnan(r->p_value) && isnan(r->ci_low) && isnan(r->ci_high) &&
		isnan(r->chance_to_beat);
	char		diag[MAX_LINE];

	snprintf(diag, sizeof(diag), "uplift %g se %g p %g ci %g..%g",
			 r->uplift, r->se, r->p_value, r->ci_low, r->ci_high);
	record(ok, diag, "%s", name);
}

/* Moments of mean and proportion metrics, and their NAN and rounding cases. */
static void
test_moments(void)
{
	double		mean;
	double		var;

	/* gbstats' test aggregates: exact means 0.41, 0.7 and variances 15.21, 38.44 */
	abt_metric_mean_moments(3407, 1396.87, 52377.9767, &mean, &var);
	check_close("mean moments A: mean", mean, 0.41, 1e-15);
	check_rel("mean moments A: variance", var, 15.21, 1e-12);
	abt_metric_mean_moments(3461, 2422.7, 134698.29, &mean, &var);
	check_close("mean moments B: mean", mean, 0.7, 1e-15);
	check_rel("mean moments B: variance", var, 38.44, 1e-12);

	/* per visitor y = 20, 0, 5: mean 25/3, variance (425 - 625/3) / 2 = 325/3 */
	abt_metric_mean_moments(3, 25.0, 425.0, &mean, &var);
	check_rel("mean moments 20, 0, 5: variance 325/3", var, 325.0 / 3.0, 1e-14);

	abt_metric_mean_moments(1, 49.9, 49.9 * 49.9, &mean, &var);
	check_true("mean moments n = 1: mean = sum, variance 0",
			   mean == 49.9 && var == 0.0, "");
	abt_metric_mean_moments(0, 0.0, 0.0, &mean, &var);
	check_true("mean moments n = 0: NAN", isnan(mean) && isnan(var), "");
	abt_metric_mean_moments(3, 0.3, 0.03, &mean, &var);
	check_true("mean moments constant 0.1 x 3: variance exactly 0 (rounding is not variance)",
			   var == 0.0, "");
	abt_metric_mean_moments(3, 3.0 * 49.9, 3.0 * 49.9 * 49.9, &mean, &var);
	check_true("mean moments constant 49.9 x 3: variance exactly 0", var == 0.0, "");
	/* gbstats' "missing variance" aggregates: impossible (sum^2/n > sum of squares) */
	abt_metric_mean_moments(2, 1396.87, 52377.9767, &mean, &var);
	check_true("mean moments impossible aggregates: variance NAN", isnan(var), "");
	abt_metric_mean_moments(5, NAN, 1.0, &mean, &var);
	check_true("mean moments NAN sum: NAN", isnan(mean) && isnan(var), "");
	abt_metric_mean_moments(5, 1.0, INFINITY, &mean, &var);
	check_true("mean moments infinite sum of squares: NAN", isnan(mean) && isnan(var), "");
	abt_metric_mean_moments(4, -10.0, 100.0, &mean, &var);
	check_true("mean moments negative values (refunds): mean -2.5, variance 25",
			   mean == -2.5 && fabs(var - 25.0) < 1e-13, "");

	abt_metric_proportion_moments(28, 14, &mean, &var);
	check_true("proportion moments 14/28: 0.5, 0.25", mean == 0.5 && var == 0.25, "");
	abt_metric_proportion_moments(30, 16, &mean, &var);
	check_rel("proportion moments 16/30: variance (8/15)(7/15)", var, 56.0 / 225.0, 1e-15);
	abt_metric_proportion_moments(10, 0, &mean, &var);
	check_true("proportion moments 0/10: 0, 0", mean == 0.0 && var == 0.0, "");
	abt_metric_proportion_moments(0, 0, &mean, &var);
	check_true("proportion moments 0/0: NAN", isnan(mean) && isnan(var), "");
	abt_metric_proportion_moments(10, 11, &mean, &var);
	check_true("proportion moments 11/10: NAN", isnan(mean) && isnan(var), "");
	abt_metric_proportion_moments(10, -1, &mean, &var);
	check_true("proportion moments -1/10: NAN", isnan(mean) && isnan(var), "");
}

/* Student t CDF against 50-digit incomplete beta values (metric_reference.py). */
static void
test_t_cdf(void)
{
	static const struct
	{
		double		dof;
		double		t;
		double		cdf;
	}			cases[] = {
		{1, -40, 0.0079560899120258133},
		{1, -12, 0.026464676059589875},
		{1, -3.5, 0.088585532782904749},
		{1, -1.96, 0.15017144588801657},
		{1, -0.7, 0.30559988778578521},
		{1, -1e-3, 0.49968169021991944},
		{1, 0.4, 0.62111894159084340},
		{1, 1.3, 0.79128559983984726},
		{1, 2.5, 0.87888105840915660},
		{1, 8, 0.96041657583943446},
		{1, 50, 0.99363465089902720},
		{1.5, -40, 0.0014898121954656227},
		{1.5, -12, 0.0090210146370139320},
		{1.5, -3.5, 0.054112977494828879},
		{1.5, -1.96, 0.11482994867335711},
		{1.5, -0.7, 0.28821912044134331},
		{1.5, -1e-3, 0.49965926511335987},
		{1.5, 0.4, 0.63063953099856791},
		{1.5, 1.3, 0.82098530439920953},
		{1.5, 2.5, 0.91509674869265197},
		{1.5, 8, 0.98354082452954659},
		{1.5, 50, 0.99893378454485557},
		{2, -40, 3.1220733609237032e-4},
		{2, -12, 0.0034364668385792301},
		{2, -3.5, 0.036413675027234668},
		{2, -1.96, 0.094528654800866132},
		{2, -0.7, 0.27819651231643273},
		{2, -1e-3, 0.49964644669779504},
		{2, 0.4, 0.63608276348795434},
		{2, 1.3, 0.83837648409197981},
		{2, 2.5, 0.93519413988924460},
		{2, 8, 0.99236596391733093},
		{2, 50, 0.99980011992005596},
		{2.5, -40, 7.0978171452466915e-5},
		{2.5, -12, 0.0014181075150391619},
		{2.5, -3.5, 0.026172773480160169},
		{2.5, -1.96, 0.081473782236406993},
		{2.5, -0.7, 0.27170247159477403},
		{2.5, -1e-3, 0.49963819136039244},
		{2.5, 0.4, 0.63959036553463850},
		{2.5, 1.3, 0.84975660536464588},
		{2.5, 2.5, 0.94771501846092231},
		{2.5, 8, 0.99617167793447828},
		{2.5, 50, 0.99995934752457521},
		{3, -40, 1.7190340394579264e-5},
		{3, -12, 6.2250790039466837e-4},
		{3, -3.5, 0.019740518809641400},
		{3, -1.96, 0.072426104282426825},
		{3, -0.7, 0.26716349915238181},
		{3, -1e-3, 0.49963244748473047},
		{3, 0.4, 0.64203242301281492},
		{3, 1.3, 0.85776624563605130},
		{3, 2.5, 0.95614667649596723},
		{3, 8, 0.99796171120610727},
		{3, 50, 0.99999119142397936},
		{7.3, -40, 4.0185675839568595e-10},
		{7.3, -12, 2.2778926147852750e-6},
		{7.3, -3.5, 0.0046715692642427786},
		{7.3, -1.96, 0.044561436050009334},
		{7.3, -0.7, 0.25280857009312917},
		{7.3, -1e-3, 0.49961444849051221},
		{7.3, 0.4, 0.64969812895656591},
		{7.3, 1.3, 0.88342922496691709},
		{7.3, 2.5, 0.98017488266719976},
		{7.3, 8, 0.99996369013395904},
		{7.3, 50, 0.99999999992076020},
		{30, -40, 6.8630225972032014e-28},
		{30, -12, 2.7900927075996280e-13},
		{30, -3.5, 7.3840371882212653e-4},
		{30, -1.96, 0.029671156448025236},
		{30, -0.7, 0.24466022174983575},
		{30, -1e-3, 0.49960436788324255},
		{30, 0.4, 0.65400474174290400},
		{30, 1.3, 0.89824952073094155},
		{30, 2.5, 0.99094217546596665},
		{30, 8, 0.99999999686708876},
		{30, 50, 1.0000000000000000},
		{5841.74, -40, 0.0},
		{5841.74, -12, 4.3053491207122625e-33},
		{5841.74, -3.5, 2.3436514441555468e-4},
		{5841.74, -1.96, 0.025021630107017978},
		{5841.74, -0.7, 0.24197758943548303},
		{5841.74, -1e-3, 0.49960107485865386},
		{5841.74, 0.4, 0.65541442901268912},
		{5841.74, 1.3, 0.90317387027215706},
		{5841.74, 2.5, 0.99377673285564190},
		{5841.74, 8, 0.99999999999999926},
		{5841.74, 50, 1.0000000000000000},
		{19999, -40, 0.0},
		{19999, -12, 2.3075488625542064e-33},
		{19999, -3.5, 2.3313533766097078e-4},
		{19999, -1.96, 0.025004827845844239},
		{19999, -0.7, 0.24196772339870530},
		{19999, -1e-3, 0.49960106277308811},
		{19999, 0.4, 0.65541960555192664},
		{19999, 1.3, 0.90319202418866155},
		{19999, 2.5, 0.99378636273538171},
		{19999, 8, 0.99999999999999934},
		{19999, 50, 1.0000000000000000},
		{20001, -40, 0.0},
		{20001, -12, 2.3074887991991225e-33},
		{20001, -3.5, 2.3313528700263119e-4},
		{20001, -1.96, 0.025004827152595850},
		{20001, -0.7, 0.24196772299161195},
		{20001, -1e-3, 0.49960106277258944},
		{20001, 0.4, 0.65541960576552028},
		{20001, 1.3, 0.90319202493773683},
		{20001, 2.5, 0.99378636313260420},
		{20001, 8, 0.99999999999999934},
		{20001, 50, 1.0000000000000000},
		{1e5, -40, 0.0},
		{1e5, -12, 1.8722529059781755e-33},
		{1e5, -3.5, 2.3273026968555012e-4},
		{1e5, -1.96, 0.024999281597150817},
		{1e5, -0.7, 0.24196446642366107},
		{1e5, -1e-3, 0.49960105878344389},
		{1e5, 0.4, 0.65542131441757013},
		{1e5, 1.3, 0.90319801722840999},
		{1e5, 2.5, 0.99378954040372048},
		{1e5, 8, 0.99999999999999937},
		{1e5, 50, 1.0000000000000000},
		{1e7, -40, 0.0},
		{1e7, -12, 1.7774160254673177e-33},
		{1e7, -3.5, 2.3263009080342457e-4},
		{1e7, -1.96, 0.024997909012657094},
		{1e7, -0.7, 0.24196366036509417},
		{1e7, -1e-3, 0.49960105779606250},
		{1e7, 0.4, 0.65542173733839060},
		{1e7, 1.3, 0.90319950043249090},
		{1e7, 2.5, 0.99379032673171076},
		{1e7, 8, 0.99999999999999938},
		{1e7, 50, 1.0000000000000000},
		{1e10, -40, 0.0},
		{1e10, -12, 1.7764830457548404e-33},
		{1e10, -3.5, 2.3262908004729154e-4},
		{1e10, -1.96, 0.024997895162084870},
		{1e10, -0.7, 0.24196365223121504},
		{1e10, -1e-3, 0.49960105778609891},
		{1e10, 0.4, 0.65542174160605223},
		{1e10, 1.3, 0.90319951539940777},
		{1e10, 2.5, 0.99379033466628135},
		{1e10, 8, 0.99999999999999938},
		{1e10, 50, 1.0000000000000000},
		{1e15, -40, 0.0},
		{1e15, -12, 1.7764821120870158e-33},
		{1e15, -3.5, 2.3262907903553515e-4},
		{1e15, -1.96, 0.024997895148220573},
		{1e15, -0.7, 0.24196365222307310},
		{1e15, -1e-3, 0.49960105778608894},
		{1e15, 0.4, 0.65542174161032412},
		{1e15, 1.3, 0.90319951541438952},
		{1e15, 2.5, 0.99379033467422379},
		{1e15, 8, 0.99999999999999938},
		{1e15, 50, 1.0000000000000000},
		{INFINITY, -40, 0.0},
		{INFINITY, -12, 1.7764821120776790e-33},
		{INFINITY, -3.5, 2.3262907903552504e-4},
		{INFINITY, -1.96, 0.024997895148220434},
		{INFINITY, -0.7, 0.24196365222307301},
		{INFINITY, -1e-3, 0.49960105778608894},
		{INFINITY, 0.4, 0.65542174161032417},
		{INFINITY, 1.3, 0.90319951541438967},
		{INFINITY, 2.5, 0.99379033467422386},
		{INFINITY, 8, 0.99999999999999938},
		{INFINITY, 50, 1.0000000000000000},
	};
	size_t		ncases = sizeof(cases) / sizeof(cases[0]);
	size_t		i = 0;

	/* one TAP line per dof: abs error <= 1e-12, lower tails relative <= 1e-10 */
	while (i < ncases)
	{
		double		dof = cases[i].dof;
		double		worst_abs = 0.0;
		double		worst_rel = 0.0;
		bool		ok = true;
		char		diag[MAX_LINE] = "";
		char		name[MAX_LINE];

		for (; i < ncases && (cases[i].dof == dof || (isinf(dof) && isinf(cases[i].dof))); i++)
		{
			double		got = abt_metric_t_cdf(cases[i].t, dof);
			double		want = cases[i].cdf;
			double		err = fabs(got - want);
			bool		this_ok = !isnan(got) && err <= 1e-12;

			worst_abs = fmax(worst_abs, err);
			if (want < 0.5)
			{
				if (want > 1e-290)
				{
					worst_rel = fmax(worst_rel, err / want);
					this_ok = this_ok && err <= 1e-10 * want;
				}
				else
					this_ok = this_ok && got <= 1e-290;
			}
			if (!this_ok && ok)
				snprintf(diag, sizeof(diag), "t = %g: got %.17g, want %.17g",
						 cases[i].t, got, want);
			ok = ok && this_ok;
		}
		snprintf(name, sizeof(name),
				 "t_cdf dof %g at 11 points (worst abs %.1e, worst tail rel %.1e)",
				 dof, worst_abs, worst_rel);
		record(ok, diag, "%s", name);
	}

	check_close("t_cdf(0, 3) = 0.5", abt_metric_t_cdf(0.0, 3.0), 0.5, 0.0);
	check_close("t_cdf(+Inf, 3) = 1", abt_metric_t_cdf(INFINITY, 3.0), 1.0, 0.0);
	check_close("t_cdf(-Inf, 3) = 0", abt_metric_t_cdf(-INFINITY, 3.0), 0.0, 0.0);
	check_close("t_cdf(NAN, 3) is NAN", abt_metric_t_cdf(NAN, 3.0), NAN, 0.0);
	check_close("t_cdf(1, 0) is NAN", abt_metric_t_cdf(1.0, 0.0), NAN, 0.0);
	check_close("t_cdf(1, -2) is NAN", abt_metric_t_cdf(1.0, -2.0), NAN, 0.0);
	check_close("t_cdf(1, NAN) is NAN", abt_metric_t_cdf(1.0, NAN), NAN, 0.0);
	/* closed forms: dof 1 is Cauchy, 1/2 + atan(t)/pi; tail ~ 1/(pi |t|) */
	check_rel("t_cdf(-1e200, 1) = 1/(pi 1e200) (no overflow)",
			  abt_metric_t_cdf(-1e200, 1.0), 1.0 / (TEST_PI * 1e200), 1e-12);
	check_close("t_cdf(0.75, 1) = 1/2 + atan(0.75)/pi",
				abt_metric_t_cdf(0.75, 1.0), 0.5 + atan(0.75) / TEST_PI, 1e-15);
	/* dof 2: 1/2 + t / (2 sqrt(2 + t^2)) */
	check_close("t_cdf(1.5, 2) = 1/2 + t/(2 sqrt(2 + t^2))",
				abt_metric_t_cdf(1.5, 2.0), 0.5 + 1.5 / (2.0 * sqrt(2.0 + 2.25)), 1e-15);
	check_rel("t_cdf(-1e-8, 2) near 1/2 keeps its digits",
			  0.5 - abt_metric_t_cdf(-1e-8, 2.0), 1e-8 / (2.0 * sqrt(2.0 + 1e-16)), 1e-7);
}

/* Student t quantile against 50-digit roots (metric_reference.py) and closed forms. */
static void
test_t_quantile(void)
{
	static const struct
	{
		double		dof;
		double		p;
		double		t;
	}			cases[] = {
		{1, 1e-12, -3.1830988618379067e+11},
		{1, 1e-6, -318309.88618274347},
		{1, 0.001, -318.30883898555045},
		{1, 0.025, -12.706204736174705},
		{1, 0.3, -0.72654252800536089},
		{1, 0.7, 0.72654252800536089},
		{1, 0.975, 12.706204736174705},
		{1, 0.999, 318.30883898555045},
		{1, 0.999999, 318309.88618274347},
		{1.5, 1e-12, -5.2194694273446354e+7},
		{1.5, 1e-6, -5219.4693247069458},
		{1.5, 0.001, -52.184430008992648},
		{1.5, 0.025, -6.0166631044279319},
		{1.5, 0.3, -0.65179548260235705},
		{1.5, 0.7, 0.65179548260235705},
		{1.5, 0.975, 6.0166631044279319},
		{1.5, 0.999, 52.184430008992648},
		{1.5, 0.999999, 5219.4693247069458},
		{2, 1e-12, -707106.78118548686},
		{2, 1e-6, -707.10572052593380},
		{2, 0.001, -22.327124770119875},
		{2, 0.025, -4.3026527297494639},
		{2, 0.3, -0.61721339984836764},
		{2, 0.7, 0.61721339984836764},
		{2, 0.975, 4.3026527297494639},
		{2, 0.999, 22.327124770119875},
		{2, 0.999999, 707.10572052593380},
		{2.5, 1e-12, -55306.174076515815},
		{2.5, 1e-6, -220.17342917823684},
		{2.5, 0.001, -13.822193110865965},
		{2.5, 0.025, -3.5746548420036832},
		{2.5, 0.3, -0.59730773825231746},
		{2.5, 0.7, 0.59730773825231746},
		{2.5, 0.975, 3.5746548420036832},
		{2.5, 0.999, 13.822193110865965},
		{2.5, 0.999999, 220.17342917823684},
		{3, 1e-12, -10331.108244292486},
		{3, 1e-6, -103.29946778041934},
		{3, 0.001, -10.214531852407387},
		{3, 0.025, -3.1824463052837096},
		{3, 0.3, -0.58438972743981867},
		{3, 0.7, 0.58438972743981867},
		{3, 0.975, 3.1824463052837096},
		{3, 0.999, 10.214531852407387},
		{3, 0.999999, 103.29946778041934},
		{7.3, 1e-12, -91.094866593897543},
		{7.3, 1e-6, -13.493523060744642},
		{7.3, 0.001, -4.6888659935383738},
		{7.3, 0.025, -2.3450667365477036},
		{7.3, 0.3, -0.54806289794217735},
		{7.3, 0.7, 0.54806289794217735},
		{7.3, 0.975, 2.3450667365477036},
		{7.3, 0.999, 4.6888659935383738},
		{7.3, 0.999999, 13.493523060744642},
		{30, 1e-12, -11.397217523311411},
		{30, 1e-6, -5.8711171204188826},
		{30, 0.001, -3.3851848668293051},
		{30, 0.025, -2.0422724563012383},
		{30, 0.3, -0.53001900390650448},
		{30, 0.7, 0.53001900390650448},
		{30, 0.975, 2.0422724563012383},
		{30, 0.999, 3.3851848668293051},
		{30, 0.999999, 5.8711171204188826},
		{5841.74, 1e-12, -7.0497097542858834},
		{5841.74, 1e-6, -4.7582283663237508},
		{5841.74, 0.001, -3.0916280377610003},
		{5841.74, 0.025, -1.9603701570958002},
		{5841.74, 0.3, -0.52442912736709376},
		{5841.74, 0.7, 0.52442912736709376},
		{5841.74, 0.975, 1.9603701570958002},
		{5841.74, 0.999, 3.0916280377610003},
		{5841.74, 0.999999, 4.7582283663237508},
		{19999, 1e-12, -7.0389255446222030},
		{19999, 1e-6, -4.7548267057585357},
		{19999, 0.001, -3.0906398822355961},
		{19999, 0.025, -1.9600826110898155},
		{19999, 0.3, -0.52440887083845105},
		{19999, 0.7, 0.52440887083845105},
		{19999, 0.975, 1.9600826110898155},
		{19999, 0.999, 3.0906398822355961},
		{19999, 0.999999, 4.7548267057585357},
		{20001, 1e-12, -7.0389251002334583},
		{20001, 1e-6, -4.7548265654897306},
		{20001, 0.001, -3.0906398414751033},
		{20001, 0.025, -1.9600825992270480},
		{20001, 0.3, -0.52440887000266918},
		{20001, 0.7, 0.52440887000266918},
		{20001, 0.975, 1.9600825992270480},
		{20001, 0.999, 3.0906398414751033},
		{20001, 0.999999, 4.7548265654897306},
		{1e5, 1e-12, -7.0353717423935763},
		{1e5, 1e-6, -4.7537047163912883},
		{1e5, 0.001, -3.0903138094272376},
		{1e5, 0.025, -1.9599877075346096},
		{1e5, 0.3, -0.52440218423354571},
		{1e5, 0.7, 0.52440218423354571},
		{1e5, 0.975, 1.9599877075346096},
		{1e5, 0.999, 3.0903138094272376},
		{1e5, 0.999999, 4.7537047163912883},
		{1e7, 1e-12, -7.0344927035261599},
		{1e7, 1e-6, -4.7534271127555771},
		{1e7, 0.001, -3.0902331211809118},
		{1e7, 0.025, -1.9599642217672055},
		{1e7, 0.3, -0.52440052942325377},
		{1e7, 0.7, 0.52440052942325377},
		{1e7, 0.975, 1.9599642217672055},
		{1e7, 0.999, 3.0902331211809118},
		{1e7, 0.999999, 4.7534271127555771},
		{1e10, 1e-12, -7.0344838341793474},
		{1e10, 1e-6, -4.7534243116268302},
		{1e10, 0.001, -3.0902323069828264},
		{1e10, 0.025, -1.9599639847772814},
		{1e10, 0.3, -0.52440051272475600},
		{1e10, 0.7, 0.52440051272475600},
		{1e10, 0.975, 1.9599639847772814},
		{1e10, 0.999, 3.0902323069828264},
		{1e10, 0.999999, 4.7534243116268302},
		{1e15, 1e-12, -7.0344838253012207},
		{1e15, 1e-6, -4.7534243088229270},
		{1e15, 0.001, -3.0902323061678217},
		{1e15, 0.025, -1.9599639845400566},
		{1e15, 0.3, -0.52440051270804095},
		{1e15, 0.7, 0.52440051270804095},
		{1e15, 0.975, 1.9599639845400566},
		{1e15, 0.999, 3.0902323061678217},
		{1e15, 0.999999, 4.7534243088229270},
		{INFINITY, 1e-12, -7.0344838253011319},
		{INFINITY, 1e-6, -4.7534243088228989},
		{INFINITY, 0.001, -3.0902323061678135},
		{INFINITY, 0.025, -1.9599639845400542},
		{INFINITY, 0.3, -0.52440051270804078},
		{INFINITY, 0.7, 0.52440051270804078},
		{INFINITY, 0.975, 1.9599639845400542},
		{INFINITY, 0.999, 3.0902323061678135},
		{INFINITY, 0.999999, 4.7534243088228989},
	};
	static const double round_trip_p[] = {1e-300, 1e-20, 1e-9, 0.01, 0.4999999, 0.5000001, 0.8, 0.99};
	static const double round_trip_dof[] = {1.0, 1.2, 2.0, 4.5, 17.0, 300.0, 19999.5, 20000.5, 3e6, 1e12};
	size_t		ncases = sizeof(cases) / sizeof(cases[0]);
	size_t		i = 0;
	size_t		j;
	double		worst = 0.0;
	char		name[MAX_LINE];
	char		diag[MAX_LINE];

	/* one TAP line per dof: relative error <= 1e-10 */
	while (i < ncases)
	{
		double		dof = cases[i].dof;
		double		worst_rel = 0.0;
		bool		ok = true;

		diag[0] = '\0';
		for (; i < ncases && (cases[i].dof == dof || (isinf(dof) && isinf(cases[i].dof))); i++)
		{
			double		got = abt_metric_t_quantile(cases[i].p, dof);
			double		rel = fabs(got - cases[i].t) / fabs(cases[i].t);
			bool		this_ok = !isnan(got) && rel <= 1e-10;

			worst_rel = fmax(worst_rel, isnan(got) ? INFINITY : rel);
			if (!this_ok && ok)
				snprintf(diag, sizeof(diag), "p = %g: got %.17g, want %.17g",
						 cases[i].p, got, cases[i].t);
			ok = ok && this_ok;
		}
		snprintf(name, sizeof(name), "t_quantile dof %g at 9 points (worst rel %.1e)",
				 dof, worst_rel);
		record(ok, diag, "%s", name);
	}

	/* closed forms: dof 1 is tan(pi (p - 1/2)), dof 2 is (2p - 1) / sqrt(2 p (1 - p)) */
	check_rel("t_quantile(0.75, 1) = 1", abt_metric_t_quantile(0.75, 1.0), 1.0, 1e-13);
	check_rel("t_quantile(1e-300, 1) = -1/(pi 1e-300)",
			  abt_metric_t_quantile(1e-300, 1.0), -1.0 / (TEST_PI * 1e-300), 1e-10);
	check_rel("t_quantile(0.9, 2) closed form", abt_metric_t_quantile(0.9, 2.0),
			  0.8 / sqrt(2.0 * 0.9 * 0.1), 1e-13);
	check_rel("t_quantile(1e-12, 2) closed form", abt_metric_t_quantile(1e-12, 2.0),
			  (2e-12 - 1.0) / sqrt(2e-12 * (1.0 - 1e-12)), 1e-10);

	/* round trip cdf(quantile(p)) = p over fractional, moderate and huge dof */
	for (i = 0; i < sizeof(round_trip_dof) / sizeof(round_trip_dof[0]); i++)
		for (j = 0; j < sizeof(round_trip_p) / sizeof(round_trip_p[0]); j++)
		{
			double		p = round_trip_p[j];
			double		back = abt_metric_t_cdf(abt_metric_t_quantile(p, round_trip_dof[i]),
												round_trip_dof[i]);

			worst = fmax(worst, fabs(back - p) / fmin(p, 1.0 - p));
		}
	snprintf(diag, sizeof(diag), "worst relative error %.2e", worst);
	check_true("t_cdf(t_quantile(p)) = p (relative to min(p, 1-p)) over 10 dof x 8 p",
			   worst <= 1e-9, diag);

	check_close("t_quantile(0.5, 7) = 0", abt_metric_t_quantile(0.5, 7.0), 0.0, 0.0);
	check_close("t_quantile(0, 7) = -Inf", abt_metric_t_quantile(0.0, 7.0), -INFINITY, 0.0);
	check_close("t_quantile(1, 7) = +Inf", abt_metric_t_quantile(1.0, 7.0), INFINITY, 0.0);
	check_close("t_quantile(1.5, 7) is NAN", abt_metric_t_quantile(1.5, 7.0), NAN, 0.0);
	check_close("t_quantile(-0.1, 7) is NAN", abt_metric_t_quantile(-0.1, 7.0), NAN, 0.0);
	check_close("t_quantile(NAN, 7) is NAN", abt_metric_t_quantile(NAN, 7.0), NAN, 0.0);
	check_close("t_quantile(0.3, 0) is NAN", abt_metric_t_quantile(0.3, 0.0), NAN, 0.0);
}

/* Fixed and sequential tests against gbstats' formulas in 50 digits (metric_reference.py). */
static void
test_reference_tests(void)
{
	static const struct
	{
		const char *label;
		int64_t		n_a;
		double		mean_a;
		double		var_a;
		int64_t		n_b;
		double		mean_b;
		double		var_b;
		double		alpha;
		bool		sequential;
		double		tuning;
		double		want[7];	/* uplift, se, dof, p, ci_low, ci_high, ctb */
	}			cases[] = {
		{"mean 3407 vs 3461",
			3407, 0.41000000000000000, 15.210000000000000, 3461, 0.70000000000000000, 38.440000000000000, 0.05, false, 5000,
			{0.70731707317073171, 0.37879436166814280, 5841.7420320935644, 0.061911827456183551,
			-0.035260089066117919, 1.4498942354075813, 0.96906910853238147}},
		{"mean 3407 vs 3461, alpha 0.1",
			3407, 0.41000000000000000, 15.210000000000000, 3461, 0.70000000000000000, 38.440000000000000, 0.1, false, 5000,
			{0.70731707317073171, 0.37879436166814280, 5841.7420320935644, 0.061911827456183551,
			0.084156972431159035, 1.3304771739103044, 0.96906910853238147}},
		{"proportion 14/28 vs 16/30",
			28, 0.50000000000000000, 0.25000000000000000, 30, 0.53333333333333333, 0.24888888888888889, 0.05, false, 5000,
			{0.066666666666666667, 0.27169855689735605, 55.707449148622057, 0.80707168320218873,
			-0.47767402827067862, 0.61100736160401195, 0.59691501044424005}},
		{"sequential mean 3000 vs 3461, N* 1000",
			3000, 0.46562333333333333, 17.248269901422696, 3461, 0.70000000000000000, 38.440000000000000, 0.05, true, 1000,
			{0.50336108585623573, 0.33341221464007344, 6087.3825491597706, 1.0000000000000000,
			-0.55844050510773140, 1.5651626768202029, 0.93444332168574064}},
		{"sequential mean 3000 vs 3461, N* 5000",
			3000, 0.46562333333333333, 17.248269901422696, 3461, 0.70000000000000000, 38.440000000000000, 0.05, true, 5000,
			{0.50336108585623573, 0.33341221464007344, 6087.3825491597706, 1.0000000000000000,
			-0.50971776085564249, 1.5164399325681139, 0.93444332168574064}},
		{"sequential proportion 1396/3000 vs 2422/3461",
			3000, 0.46533333333333333, 0.24879822222222222, 3461, 0.69979774631609361, 0.21008086056700990, 0.05, true, 5000,
			{0.50386335168214960, 0.033860214798231226, 6143.1608848605041, 5.1747166828397680e-44,
			0.40097849668594152, 0.60674820667835769, 1.0000000000000000}},
		{"proportion 50000/1e6 vs 50600/1e6",
			1000000, 0.050000000000000000, 0.047500000000000000, 1000000, 0.050600000000000000, 0.048039640000000000, 0.05, false, 5000,
			{0.012000000000000000, 0.0062188899330989932, 1.9999341946974664e+6, 0.053655962223086096,
			-1.8880766938667149e-4, 0.024188807669386671, 0.97317208952584971}},
		{"sequential proportion 50000/1e6 vs 50600/1e6",
			1000000, 0.050000000000000000, 0.047500000000000000, 1000000, 0.050600000000000000, 0.048039640000000000, 0.05, true, 5000,
			{0.012000000000000000, 0.0062188899330989932, 1.9999341946974664e+6, 1.0000000000000000,
			-0.011318018121067915, 0.035318018121067915, 0.97317208952584971}},
		{"negative control mean",
			50, -2.0000000000000000, 4.0816326530612245, 60, -1.5000000000000000, 2.7966101694915254, 0.05, false, 5000,
			{0.25000000000000000, 0.15209251858528759, 95.163920753035736, 0.10353060470043013,
			-0.051935117069018893, 0.55193511706901889, 0.94988466207681520}},
	};
	static const char *const fields[] = {"uplift", "se", "dof", "p", "ci_low", "ci_high",
	"chance_to_beat"};
	size_t		i;
	int			f;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		AbtMetricTest r;
		double		got[7];

		if (cases[i].sequential)
			abt_metric_sequential_ttest(cases[i].n_a, cases[i].mean_a, cases[i].var_a,
										cases[i].n_b, cases[i].mean_b, cases[i].var_b,
										cases[i].alpha, cases[i].tuning, &r);
		else
			abt_metric_ttest(cases[i].n_a, cases[i].mean_a, cases[i].var_a,
							 cases[i].n_b, cases[i].mean_b, cases[i].var_b,
							 cases[i].alpha, &r);
		got[0] = r.uplift;
		got[1] = r.se;
		got[2] = r.dof;
		got[3] = r.p_value;
		got[4] = r.ci_low;
		got[5] = r.ci_high;
		got[6] = r.chance_to_beat;
		for (f = 0; f < 7; f++)
		{
			char		name[MAX_LINE];
			double		want = cases[i].want[f];

			snprintf(name, sizeof(name), "%s: %s", cases[i].label, fields[f]);
			/* relative 1e-10, or 1e-12 absolute for values near 0 */
			check_close(name, got[f], want, fmax(1e-10 * fabs(want), 1e-12));
		}
	}
}

/* gbstats' own published results (5 decimals), from raw sums through the moments. */
static void
test_gbstats_published(void)
{
	/* rounding to 5 decimals leaves at most half a unit in the last place */
	const double tol = 5.0e-6 + 1e-12;
	double		ma;
	double		va;
	double		mb;
	double		vb;
	AbtMetricTest r;
	AbtMetricTest below;
	AbtMetricTest near;
	AbtMetricTest above;

	/* TestTwoSidedTTest.test_two_sided_ttest (issue 9's mean metric values) */
	abt_metric_mean_moments(3407, 1396.87, 52377.9767, &ma, &va);
	abt_metric_mean_moments(3461, 2422.7, 134698.29, &mb, &vb);
	abt_metric_ttest(3407, ma, va, 3461, mb, vb, 0.05, &r);
	check_close("gbstats two-sided mean: uplift 0.70732", r.uplift, 0.70732, tol);
	check_close("gbstats two-sided mean: se 0.37879", r.se, 0.37879, tol);
	check_close("gbstats two-sided mean: dof 5841.74 (issue 9)", r.dof, 5841.74, 0.005);
	check_close("gbstats two-sided mean: p 0.06191", r.p_value, 0.06191, tol);
	check_close("gbstats two-sided mean: ci_low -0.03526", r.ci_low, -0.03526, tol);
	check_close("gbstats two-sided mean: ci_high 1.44989", r.ci_high, 1.44989, tol);

	/* TestTwoSidedTTest.test_two_sided_ttest_binom */
	abt_metric_proportion_moments(28, 14, &ma, &va);
	abt_metric_proportion_moments(30, 16, &mb, &vb);
	abt_metric_ttest(28, ma, va, 30, mb, vb, 0.05, &r);
	check_close("gbstats two-sided proportion: uplift 0.06667", r.uplift, 0.06667, tol);
	check_close("gbstats two-sided proportion: se 0.2717", r.se, 0.2717, tol);
	check_close("gbstats two-sided proportion: p 0.80707", r.p_value, 0.80707, tol);
	check_close("gbstats two-sided proportion: ci_low -0.47767", r.ci_low, -0.47767, tol);
	check_close("gbstats two-sided proportion: ci_high 0.61101", r.ci_high, 0.61101, tol);

	/* TestTwoSidedTTest.test_two_sided_ttest_missing_variance: no result */
	abt_metric_mean_moments(2, 1396.87, 52377.9767, &ma, &va);
	abt_metric_mean_moments(3461, 2422.7, 134698.29, &mb, &vb);
	abt_metric_ttest(2, ma, va, 3461, mb, vb, 0.05, &r);
	check_null("gbstats missing variance (impossible aggregates): all NAN", &r);

	/* TestSequentialTTest.test_sequential_test_runs (N* = 1000) */
	abt_metric_mean_moments(3000, 1396.87, 52377.9767, &ma, &va);
	abt_metric_mean_moments(3461, 2422.7, 134698.29, &mb, &vb);
	abt_metric_sequential_ttest(3000, ma, va, 3461, mb, vb, 0.05, 1000.0, &r);
	check_close("gbstats sequential mean: uplift 0.50336", r.uplift, 0.50336, tol);
	check_close("gbstats sequential mean: se 0.33341", r.se, 0.33341, tol);
	check_close("gbstats sequential mean: ci_low -0.55844", r.ci_low, -0.55844, tol);
	check_close("gbstats sequential mean: ci_high 1.56516", r.ci_high, 1.56516, tol);
	check_close("gbstats sequential mean: p 1", r.p_value, 1.0, 0.0);

	/* TestSequentialTTest.test_sequential_test_tuning_as_expected */
	abt_metric_sequential_ttest(3000, ma, va, 3461, mb, vb, 0.05, 10.0, &below);
	abt_metric_sequential_ttest(3000, ma, va, 3461, mb, vb, 0.05, 6461.0, &near);
	abt_metric_sequential_ttest(3000, ma, va, 3461, mb, vb, 0.05, 10000.0, &above);
	check_true("gbstats sequential tuning: N* 10 wider than N* 10000",
			   below.ci_low < above.ci_low && below.ci_high > above.ci_high, "");
	check_true("gbstats sequential tuning: N* 10 wider than N* = N",
			   below.ci_low < near.ci_low && below.ci_high > near.ci_high, "");
	check_true("gbstats sequential tuning: N* 10000 wider than N* = N",
			   above.ci_low < near.ci_low && above.ci_high > near.ci_high, "");

	/* TestSequentialTTest.test_sequential_test_runs_prop (default N* = 5000) */
	abt_metric_proportion_moments(3000, 1396, &ma, &va);
	abt_metric_proportion_moments(3461, 2422, &mb, &vb);
	abt_metric_sequential_ttest(3000, ma, va, 3461, mb, vb, 0.05,
								ABT_METRIC_SEQUENTIAL_TUNING_DEFAULT, &r);
	check_close("gbstats sequential proportion: uplift 0.50386", r.uplift, 0.50386, tol);
	check_close("gbstats sequential proportion: se 0.03386", r.se, 0.03386, tol);
	check_close("gbstats sequential proportion: ci_low 0.40098", r.ci_low, 0.40098, tol);
	check_close("gbstats sequential proportion: ci_high 0.60675", r.ci_high, 0.60675, tol);
	check_close("gbstats sequential proportion: p 0.0", r.p_value, 0.0, tol);

	/* the sequential interval is wider than the fixed one at the same data */
	abt_metric_ttest(3000, ma, va, 3461, mb, vb, 0.05, &r);
	check_true("sequential interval contains the fixed-horizon one",
			   below.ci_low < r.ci_low && near.ci_high > r.ci_high, "");
}

/* The documented NULL cases of both tests. */
static void
test_null_cases(void)
{
	AbtMetricTest r;

	abt_metric_ttest(1, 0.5, 0.0, 100, 0.6, 0.24, 0.05, &r);
	check_null("ttest n_a = 1: NAN", &r);
	abt_metric_ttest(100, 0.5, 0.25, 1, 0.6, 0.0, 0.05, &r);
	check_null("ttest n_b = 1: NAN", &r);
	abt_metric_ttest(0, NAN, NAN, 100, 0.6, 0.24, 0.05, &r);
	check_null("ttest n_a = 0: NAN", &r);
	abt_metric_ttest(100, 0.0, 0.0, 100, 0.1, 0.09, 0.05, &r);
	check_null("ttest control mean 0: NAN", &r);
	abt_metric_ttest(100, 5.0, 0.0, 100, 10.0, 0.0, 0.05, &r);
	check_null("ttest se 0 (constant values on both sides): NAN", &r);
	abt_metric_ttest(100, 0.5, 0.25, 100, NAN, 0.24, 0.05, &r);
	check_null("ttest NAN mean: NAN", &r);
	abt_metric_ttest(100, 0.5, -0.25, 100, 0.6, 0.24, 0.05, &r);
	check_null("ttest negative variance: NAN", &r);
	abt_metric_ttest(100, 0.5, 0.25, 100, 0.6, 0.24, 0.0, &r);
	check_null("ttest alpha 0: NAN", &r);
	abt_metric_ttest(100, 0.5, 0.25, 100, 0.6, 0.24, 1.0, &r);
	check_null("ttest alpha 1: NAN", &r);
	abt_metric_sequential_ttest(1, 0.5, 0.0, 100, 0.6, 0.24, 0.05, 5000.0, &r);
	check_null("sequential n_a = 1: NAN", &r);
	abt_metric_sequential_ttest(100, 0.0, 0.0, 100, 0.6, 0.24, 0.05, 5000.0, &r);
	check_null("sequential control mean 0: NAN", &r);
	abt_metric_sequential_ttest(100, 5.0, 0.0, 100, 10.0, 0.0, 0.05, 5000.0, &r);
	check_null("sequential se 0: NAN", &r);
	abt_metric_sequential_ttest(100, 0.5, 0.25, 100, 0.6, 0.24, 0.05, 0.0, &r);
	check_null("sequential tuning 0: NAN", &r);
	abt_metric_sequential_ttest(100, 0.5, 0.25, 100, 0.6, 0.24, 0.05, INFINITY, &r);
	check_null("sequential tuning +Inf: NAN", &r);

	/* a control with variance 0 but a variant without is a result (see the file header) */
	abt_metric_ttest(100, 1.0, 0.0, 100, 0.9, 0.09, 0.05, &r);
	check_true("ttest control 100/100 vs 90/100: defined, uplift -0.1, dof n_b - 1",
			   fabs(r.uplift + 0.1) < 1e-15 && fabs(r.dof - 99.0) < 1e-9 &&
			   r.p_value > 0.0 && r.p_value < 0.01, "");
	/* equal groups: uplift 0, p 1, chance 0.5 */
	abt_metric_ttest(500, 2.0, 3.0, 500, 2.0, 3.0, 0.05, &r);
	check_true("ttest identical groups: uplift 0, p 1, chance 0.5, symmetric CI",
			   r.uplift == 0.0 && r.p_value == 1.0 && r.chance_to_beat == 0.5 &&
			   r.ci_low == -r.ci_high, "");
	/* a huge effect: p underflows to 0, not NAN */
	abt_metric_ttest(1000000, 0.01, 0.0099, 1000000, 0.5, 0.25, 0.05, &r);
	check_true("ttest huge effect: p = 0 and chance 1, not NAN",
			   r.p_value == 0.0 && r.chance_to_beat == 1.0, "");
	abt_metric_sequential_ttest(1000000, 0.01, 0.0099, 1000000, 0.5, 0.25, 0.05, 5000.0, &r);
	check_true("sequential huge effect: p = 0, not NAN (e-value in logs)",
			   r.p_value == 0.0, "");
}

/* Holm adjustment by brute force: sorted copy, then the running maximum. */
static void
brute_holm(const double *p, int n, double *out)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		/* rank-free definition: max over j with p_j <= p_i of min(1, (m - rank_j) p_j) */
		double		best = 0.0;
		int			j;

		for (j = 0; j < n; j++)
		{
			int			below = 0;
			int			k;

			if (!(p[j] <= p[i]))
				continue;
			/* rank of j = number of k before it in a stable ascending order */
			for (k = 0; k < n; k++)
				if (p[k] < p[j] || (p[k] == p[j] && k < j))
					below++;
			best = fmax(best, fmin(1.0, p[j] * (double) (n - below)));
		}
		out[i] = best;
	}
}

/* BH adjustment by brute force: min over j with p_j >= p_i of min(1, m p_j / rank_j). */
static void
brute_bh(const double *p, int n, double *out)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		double		best = 1.0;
		int			j;

		for (j = 0; j < n; j++)
		{
			int			rank = 1;
			int			k;

			if (!(p[j] >= p[i]))
				continue;
			for (k = 0; k < n; k++)
				if (p[k] < p[j] || (p[k] == p[j] && k < j))
					rank++;
			best = fmin(best, fmin(1.0, p[j] * (double) n / (double) rank));
		}
		out[i] = best;
	}
}

/* Holm-Bonferroni and Benjamini-Hochberg adjustments. */
static void
test_adjustments(void)
{
	/* GrowthBook experiments.test.ts, in input order */
	static const double holm_in[] = {0.01, 0.04, 0.03, 0.005, 0.55, 0.6};
	static const double holm_want[] = {0.05, 0.12, 0.12, 0.03, 1.0, 1.0};
	static const double bh_in[] = {0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138};
	static const double bh_want[] = {0.964, 0.2415, 0.0245, 0.964, 0.7532, 0.0245, 0.2415};
	/* hand-computed: NAN skipped, m = 3 */
	static const double nan_in[] = {0.01, NAN, 0.04, 0.03};
	static const double nan_holm[] = {0.03, NAN, 0.06, 0.06};
	static const double nan_bh[] = {0.03, NAN, 0.04, 0.04};
	double		out[NBIG];
	double		want[NBIG];
	double		big[NBIG];
	double		alias[8];
	int			order[NBIG];
	int			i;
	int			m;
	double		worst;
	bool		ok;
	char		diag[MAX_LINE];
	uint64_t	state = 88172645463325252ULL;

	m = abt_metric_adjust_holm(holm_in, 6, order, out);
	worst = 0.0;
	for (i = 0; i < 6; i++)
		worst = fmax(worst, fabs(out[i] - holm_want[i]));
	snprintf(diag, sizeof(diag), "worst error %.2e, m %d", worst, m);
	check_true("holm: GrowthBook's case", m == 6 && worst <= 1e-15, diag);

	m = abt_metric_adjust_bh(bh_in, 7, order, out);
	worst = 0.0;
	for (i = 0; i < 7; i++)
		worst = fmax(worst, fabs(out[i] - bh_want[i]));
	snprintf(diag, sizeof(diag), "worst error %.2e, m %d", worst, m);
	/* GrowthBook's test compares after toFixed(8) */
	check_true("bh: GrowthBook's case (8 decimals)", m == 7 && worst <= 5e-9, diag);

	m = abt_metric_adjust_holm(nan_in, 4, order, out);
	ok = m == 3 && isnan(out[1]);
	for (i = 0; i < 4; i++)
		if (i != 1)
			ok = ok && fabs(out[i] - nan_holm[i]) <= 1e-15;
	check_true("holm: NAN entries skipped (m = 3) and left NAN", ok, "");
	m = abt_metric_adjust_bh(nan_in, 4, order, out);
	ok = m == 3 && isnan(out[1]);
	for (i = 0; i < 4; i++)
		if (i != 1)
			ok = ok && fabs(out[i] - nan_bh[i]) <= 1e-15;
	check_true("bh: NAN entries skipped (m = 3) and left NAN", ok, "");

	alias[0] = NAN;
	alias[1] = NAN;
	m = abt_metric_adjust_holm(alias, 2, order, alias);
	check_true("holm: all NAN gives m = 0, all NAN", m == 0 && isnan(alias[0]) && isnan(alias[1]), "");
	check_true("holm and bh: n = 0 gives 0",
			   abt_metric_adjust_holm(NULL, 0, NULL, NULL) == 0 &&
			   abt_metric_adjust_bh(NULL, 0, NULL, NULL) == 0, "");
	alias[0] = 0.2;
	m = abt_metric_adjust_bh(alias, 1, order, alias);
	check_true("bh: single p unchanged", m == 1 && alias[0] == 0.2, "");

	memcpy(alias, holm_in, sizeof(holm_in));
	abt_metric_adjust_holm(alias, 6, order, alias);
	worst = 0.0;
	for (i = 0; i < 6; i++)
		worst = fmax(worst, fabs(alias[i] - holm_want[i]));
	check_true("holm: output may be the input array", worst <= 1e-15, "");
	memcpy(alias, bh_in, sizeof(bh_in));
	abt_metric_adjust_bh(alias, 7, order, alias);
	worst = 0.0;
	for (i = 0; i < 7; i++)
		worst = fmax(worst, fabs(alias[i] - bh_want[i]));
	check_true("bh: output may be the input array", worst <= 5e-9, "");

	/* a larger family with ties and tiny values against the O(n^2) definitions */
	for (i = 0; i < NBIG; i++)
	{
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		big[i] = (double) (state % 1000) / 1000.0;	/* many ties */
		if (i % 7 == 0)
			big[i] *= 1e-6;
	}
	abt_metric_adjust_holm(big, NBIG, order, out);
	brute_holm(big, NBIG, want);
	worst = 0.0;
	ok = true;
	for (i = 0; i < NBIG; i++)
	{
		worst = fmax(worst, fabs(out[i] - want[i]));
		ok = ok && out[i] >= big[i] && out[i] <= 1.0;
	}
	snprintf(diag, sizeof(diag), "worst error %.2e", worst);
	check_true("holm: 300 p-values with ties equal the brute-force definition, p <= adj <= 1",
			   ok && worst <= 1e-15, diag);
	abt_metric_adjust_bh(big, NBIG, order, want);
	brute_bh(big, NBIG, out);
	worst = 0.0;
	ok = true;
	for (i = 0; i < NBIG; i++)
	{
		worst = fmax(worst, fabs(out[i] - want[i]));
		ok = ok && want[i] >= big[i] && want[i] <= 1.0;
	}
	snprintf(diag, sizeof(diag), "worst error %.2e", worst);
	check_true("bh: 300 p-values with ties equal the brute-force definition, p <= adj <= 1",
			   ok && worst <= 1e-15, diag);
}

/* The Bayesian engine against gbstats' formulas in 50 digits (metric_reference.py bayes). */
static void
test_reference_bayesian(void)
{
	static const struct
	{
		const char *label;
		int64_t		n_a;
		double		mean_a;
		double		var_a;
		int64_t		n_b;
		double		mean_b;
		double		var_b;
		double		alpha;
		bool		proper;
		double		prior_mean;
		double		prior_sd;
		double		want[7];	/* uplift, sd, ci_low, ci_high, chance, risk_control, risk_variant */
	}			cases[] = {
		{"flat: proportion 49/100 vs 51/100 (gbstats)",
			100, 0.49000000000000000, 0.24990000000000000, 100, 0.51000000000000000, 0.24990000000000000, 0.05, false, 0.0, 0.30000000000000000,
			{0.040816326530612245, 0.14725254573469445, -0.24779335974122606, 0.32942601280245055,
			0.60918130958089802, 0.081395849155163071, 0.040579522624550826}},
		{"flat: mean 10 vs 10 (gbstats)",
			10, 10.000000000000000, 0.25000000000000000, 10, 10.500000000000000, 1.0000000000000000, 0.05, false, 0.0, 0.30000000000000000,
			{0.050000000000000000, 0.035715892820983770, -0.020001863604820868, 0.12000186360482087,
			0.91923390815662454, 0.051309817163926532, 0.0013098171639265325}},
		{"proper N(0.1, 0.1): mean 10 vs 10 (gbstats)",
			10, 10.000000000000000, 0.25000000000000000, 10, 10.500000000000000, 1.0000000000000000, 0.05, true, 0.10000000000000000, 0.31622776601683793,
			{0.050629778883122173, 0.035490248889580157, -0.018929830742817587, 0.12018938850906193,
			0.92314990857729564, 0.051856806429433579, 0.0012270275463114067}},
		{"proper N(0, 0.3^2): mean 3407 vs 3461",
			3407, 0.41000000000000000, 15.210000000000000, 3461, 0.70000000000000000, 38.440000000000000, 0.05, true, 0.0, 0.30000000000000000,
			{0.27264488366858030, 0.23517714374509555, -0.18829384805880626, 0.73358361539596687,
			0.87683652245750454, 0.28697825842311632, 0.014333374754536017}},
		{"flat: mean 3407 vs 3461, alpha 0.1",
			3407, 0.41000000000000000, 15.210000000000000, 3461, 0.70000000000000000, 38.440000000000000, 0.1, false, 0.0, 0.30000000000000000,
			{0.70731707317073171, 0.37879436166814280, 0.084255793512119121, 1.3303783528293443,
			0.96906910853238147, 0.71187384013881850, 0.0045567669680867929}},
		{"proper N(0.02, 0.05^2): proportion 50000/1e6 vs 50600/1e6",
			1000000, 0.050000000000000000, 0.047500000000000000, 1000000, 0.050600000000000000, 0.048039640000000000, 0.05, true, 0.020000000000000000, 0.050000000000000000,
			{0.012121873333815601, 0.0061713383327585622, 2.6272465197354113e-5, 0.024217474202433847,
			0.97524777497700732, 0.012179514059479747, 5.7640725664146392e-5}},
		{"proper N(0, 0.3^2): negative control mean",
			50, -2.0000000000000000, 4.0816326530612245, 60, -1.5000000000000000, 2.7966101694915254, 0.05, true, 0.0, 0.30000000000000000,
			{0.19888248513292465, 0.13565509703710778, -0.066996619379092813, 0.46476158964494211,
			0.92868801869709581, 0.20317569944295306, 0.0042932143100284094}},
		{"proper N(-0.5, 0.001^2): the prior dominates",
			28, 0.50000000000000000, 0.25000000000000000, 30, 0.53333333333333333, 0.24888888888888889, 0.05, true, -0.50000000000000000, 0.0010000000000000000,
			{-0.49999232378517808, 9.9999322684633697e-4, -0.50195227449458090, -0.49803237307577527,
			0.0, 0.0, 0.49999232378517808}},
		{"flat: proportion 1000/20000 vs 1150/20000 (z = 3.3)",
			20000, 0.050000000000000000, 0.047500000000000000, 20000, 0.057500000000000000, 0.054193750000000000, 0.05, false, 0.0, 0.30000000000000000,
			{0.15000000000000000, 0.048376130477746977, 0.055184526552205477, 0.24481547344779452,
			0.99903468999045943, 0.15001289562192064, 1.2895621920642809e-5}},
	};
	static const char *const fields[] = {"uplift", "sd", "ci_low", "ci_high", "chance_to_win",
	"risk_control", "risk_variant"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		AbtMetricPrior prior = {cases[i].proper, cases[i].prior_mean, cases[i].prior_sd};
		AbtMetricBayes r;
		double		got[7];

		abt_metric_bayesian_test(cases[i].n_a, cases[i].mean_a, cases[i].var_a,
								 cases[i].n_b, cases[i].mean_b, cases[i].var_b,
								 cases[i].alpha, &prior, &r);
		got[0] = r.uplift;
		got[1] = r.sd;
		got[2] = r.ci_low;
		got[3] = r.ci_high;
		got[4] = r.chance_to_win;
		got[5] = r.risk_control;
		got[6] = r.risk_variant;
		for (int f = 0; f < 7; f++)
		{
			char		name[MAX_LINE];
			double		want = cases[i].want[f];

			snprintf(name, sizeof(name), "bayesian %s: %s", cases[i].label, fields[f]);
			/* relative 1e-10, or 1e-13 absolute for values near 0 */
			check_close(name, got[f], want, fmax(1e-10 * fabs(want), 1e-13));
		}
	}
}

/* gbstats' own Bayesian results (5 decimals): tests/bayesian/test_tests.py. */
static void
test_gbstats_bayesian(void)
{
	const double tol = 5.0e-6 + 1e-12;
	AbtMetricPrior flat = {false, 0.0, 0.3};
	AbtMetricPrior informative = {true, 0.1, sqrt(0.1)};
	AbtMetricBayes r;
	AbtMetricTest t;
	double		ma;
	double		va;
	double		mb;
	double		vb;
	double		rc;
	double		rv;

	/* TestBinom.test_bayesian_binomial_ab_test */
	abt_metric_proportion_moments(100, 49, &ma, &va);
	abt_metric_proportion_moments(100, 51, &mb, &vb);
	abt_metric_bayesian_test(100, ma, va, 100, mb, vb, 0.05, &flat, &r);
	check_close("gbstats binomial: expected 0.04082", r.uplift, 0.04082, tol);
	check_close("gbstats binomial: ci_low -0.24779", r.ci_low, -0.24779, tol);
	check_close("gbstats binomial: ci_high 0.32943", r.ci_high, 0.32943, tol);
	check_close("gbstats binomial: stddev 0.14725", r.sd, 0.14725, tol);
	check_close("gbstats binomial: chance to win 0.60918", r.chance_to_win, 0.60918, tol);
	check_close("gbstats binomial: risk control 0.0814", r.risk_control, 0.0814, tol);
	check_close("gbstats binomial: risk variant 0.04058", r.risk_variant, 0.04058, tol);
	/* the flat prior's chance to win is the frequentist row's chance to beat */
	abt_metric_ttest(100, ma, va, 100, mb, vb, 0.05, &t);
	check_true("flat prior: uplift and chance equal the frequentist test's",
			   r.uplift == t.uplift && fabs(r.chance_to_win - t.chance_to_beat) <= 1e-15, "");

	/* TestNorm.test_bayesian_gaussian_ab_test */
	abt_metric_mean_moments(10, 100.0, 1002.25, &ma, &va);
	abt_metric_mean_moments(10, 105.0, 1111.5, &mb, &vb);
	abt_metric_bayesian_test(10, ma, va, 10, mb, vb, 0.05, &flat, &r);
	check_close("gbstats gaussian: expected 0.05", r.uplift, 0.05, tol);
	check_close("gbstats gaussian: ci_low -0.02", r.ci_low, -0.02, tol);
	check_close("gbstats gaussian: ci_high 0.12", r.ci_high, 0.12, tol);
	check_close("gbstats gaussian: stddev 0.03572", r.sd, 0.03572, tol);
	check_close("gbstats gaussian: chance to win 0.91923", r.chance_to_win, 0.91923, tol);
	check_close("gbstats gaussian: risk control 0.05131", r.risk_control, 0.05131, tol);
	check_close("gbstats gaussian: risk variant 0.00131", r.risk_variant, 0.00131, tol);

	/* TestNorm.test_bayesian_gaussian_ab_test_informative: N(0.1, variance 0.1) */
	abt_metric_bayesian_test(10, ma, va, 10, mb, vb, 0.05, &informative, &r);
	check_close("gbstats informative prior: expected 0.05063", r.uplift, 0.05063, tol);
	check_close("gbstats informative prior: ci_low -0.01893", r.ci_low, -0.01893, tol);
	check_close("gbstats informative prior: ci_high 0.12019", r.ci_high, 0.12019, tol);
	check_close("gbstats informative prior: stddev 0.03549", r.sd, 0.03549, tol);
	check_close("gbstats informative prior: chance to win 0.92315", r.chance_to_win, 0.92315, tol);
	check_close("gbstats informative prior: risk control 0.05186", r.risk_control, 0.05186, tol);
	check_close("gbstats informative prior: risk variant 0.00123", r.risk_variant, 0.00123, tol);

	/* TestGetRiskNumericalStability: the normal regime to 10 decimals, and the limits */
	abt_metric_risk(0.1, 0.05, &rc, &rv);
	check_close("gbstats get_risk(0.1, 0.05): control 0.1004245351", rc, 0.1004245351, 5.0e-11 + 1e-15);
	check_close("gbstats get_risk(0.1, 0.05): variant 0.0004245351", rv, 0.0004245351, 5.0e-11 + 1e-15);
	abt_metric_risk(0.01, 4.5e-9, &rc, &rv);
	check_true("gbstats get_risk(0.01, 4.5e-9) = [0.01, 0]", rc == 0.01 && rv == 0.0, "");
	abt_metric_risk(-0.01, 4.5e-9, &rc, &rv);
	check_true("gbstats get_risk(-0.01, 4.5e-9) = [0, 0.01]", rc == 0.0 && rv == 0.01, "");
	/* either side of the limit |mu/sigma| = 37 the losses agree with the limits */
	abt_metric_risk(37.0, 1.0, &rc, &rv);
	check_true("risk at mu/sigma = 37: closed form, variant's loss below 1e-290",
			   rc == 37.0 && rv >= 0.0 && rv < 1e-290, "");
	abt_metric_risk(-36.5, 1.0, &rc, &rv);
	check_true("risk at mu/sigma = -36.5: closed form, control's loss tiny, variant's 36.5",
			   rc >= 0.0 && rc < 1e-280 && fabs(rv - 36.5) <= 1e-14, "");
	abt_metric_risk(0.0, 2.0, &rc, &rv);
	check_rel("risk of N(0, 4): both 2 phi(0) = 2/sqrt(2 pi)", rc, 2.0 / sqrt(2.0 * TEST_PI), 1e-15);
	check_true("risk of N(0, 4): symmetric", rc == rv, "");

	/* TestBinom.test_missing_data: gbstats' default output, NAN here */
	abt_metric_bayesian_test(0, NAN, NAN, 0, NAN, NAN, 0.05, &flat, &r);
	check_true("bayesian missing data (n = 0): all NAN",
			   isnan(r.uplift) && isnan(r.sd) && isnan(r.chance_to_win) && isnan(r.risk_control) &&
			   isnan(r.risk_variant) && isnan(r.ci_low) && isnan(r.ci_high), "");
}

/* The NULL cases of the Bayesian test, the risk and the power functions. */
static void
test_bayesian_null_cases(void)
{
	AbtMetricPrior flat = {false, 0.0, 0.3};
	AbtMetricPrior zero_sd = {true, 0.0, 0.0};
	AbtMetricPrior nan_mean = {true, NAN, 0.3};
	AbtMetricPrior inf_sd = {true, 0.0, INFINITY};
	AbtMetricPrior unused = {false, NAN, -1.0};
	AbtMetricBayes r;
	double		rc;
	double		rv;

	abt_metric_bayesian_test(1, 0.5, 0.0, 100, 0.6, 0.24, 0.05, &flat, &r);
	check_true("bayesian n_a = 1: NAN", isnan(r.uplift) && isnan(r.risk_variant), "");
	abt_metric_bayesian_test(100, 0.0, 0.0, 100, 0.1, 0.09, 0.05, &flat, &r);
	check_true("bayesian control mean 0: NAN", isnan(r.uplift) && isnan(r.chance_to_win), "");
	abt_metric_bayesian_test(100, 5.0, 0.0, 100, 10.0, 0.0, 0.05, &flat, &r);
	check_true("bayesian se 0: NAN", isnan(r.uplift) && isnan(r.ci_low), "");
	abt_metric_bayesian_test(100, 0.5, 0.25, 100, 0.6, 0.24, 0.0, &flat, &r);
	check_true("bayesian alpha 0: NAN", isnan(r.uplift), "");
	abt_metric_bayesian_test(100, 0.5, 0.25, 100, 0.6, 0.24, 0.05, &zero_sd, &r);
	check_true("bayesian proper prior with stddev 0: NAN", isnan(r.uplift), "");
	abt_metric_bayesian_test(100, 0.5, 0.25, 100, 0.6, 0.24, 0.05, &nan_mean, &r);
	check_true("bayesian proper prior with NAN mean: NAN", isnan(r.uplift), "");
	abt_metric_bayesian_test(100, 0.5, 0.25, 100, 0.6, 0.24, 0.05, &inf_sd, &r);
	check_true("bayesian proper prior with infinite stddev: NAN", isnan(r.uplift), "");
	abt_metric_bayesian_test(100, 0.5, 0.25, 100, 0.6, 0.24, 0.05, &unused, &r);
	check_true("bayesian improper prior ignores its mean and stddev", isfinite(r.uplift), "");
	abt_metric_risk(0.1, 0.0, &rc, &rv);
	check_true("risk sigma 0: NAN", isnan(rc) && isnan(rv), "");
	abt_metric_risk(INFINITY, 1.0, &rc, &rv);
	check_true("risk infinite mu: NAN", isnan(rc) && isnan(rv), "");
	check_true("power se 0, NAN mde, alpha 1: NAN",
			   isnan(abt_metric_test_power(0.0, 0.05, 0.05)) && isnan(abt_metric_test_power(0.1, NAN, 0.05)) &&
			   isnan(abt_metric_test_power(0.1, 0.05, 1.0)), "");
	check_close("power at mde 0 is alpha", abt_metric_test_power(0.1, 0.0, 0.05), 0.05, 1e-15);
	check_true("mde power <= alpha, power 1, se infinite: NAN",
			   isnan(abt_metric_mde(0.1, 0.05, 0.05)) && isnan(abt_metric_mde(0.1, 0.05, 1.0)) &&
			   isnan(abt_metric_mde(INFINITY, 0.05, 0.8)), "");
	check_true("sample size mean 0, variance 0, mde 0, power <= alpha: NAN",
			   isnan(abt_metric_sample_size(0.0, 1.0, 0.1, 0.05, 0.8)) &&
			   isnan(abt_metric_sample_size(1.0, 0.0, 0.1, 0.05, 0.8)) &&
			   isnan(abt_metric_sample_size(1.0, 1.0, 0.0, 0.05, 0.8)) &&
			   isnan(abt_metric_sample_size(1.0, 1.0, 0.1, 0.05, 0.05)), "");
	check_true("sample size beyond 2^62: +Inf",
			   isinf(abt_metric_sample_size(1.0, 1.0, 1e-12, 0.05, 0.8)), "");
}

/* Power, MDE and sample size against metric_reference.py and GrowthBook's own tests. */
static void
test_power(void)
{
	static const struct
	{
		double		se;
		double		mde;
		double		alpha;
		double		power;
	}			power_cases[] = {
		{0.02, 0.05, 0.05, 0.70541800111380021},
		{0.1, 0.05, 0.1, 0.14211717416200870},
		{0.01, -0.03, 0.05, 0.85083876832705609},
		{0.5, 0.01, 0.01, 0.010014900137005559},
		{0.001, 0.05, 0.05, 1.0000000000000000},
	};
	static const struct
	{
		double		se;
		double		alpha;
		double		power;
		double		mde;
	}			mde_cases[] = {
		{0.02, 0.05, 0.8, 0.056031635740271578},
		{1, 0.01, 0.9, 3.8573808687375528},
		{0.5, 0.2, 0.3, 0.34246221263983597},
		{0.03, 0.05, 0.999999, 0.20140164880087588},
		{7, 0.5, 0.6, 5.0474993647802445},
	};
	static const struct
	{
		double		mean;
		double		variance;
		double		mde;
		double		alpha;
		double		power;
		double		n;
		double		power_at_n;
	}			size_cases[] = {
		{0.1, 0.09, 0.05, 0.05, 0.8, 59409, 0.80000643476591354},
		{0.1, 0.5, 0.3, 0.05, 0.8, 11730, 0.80001049838823654},
		{10, 3909.9997749994377, 0.05, 0.05, 0.8, 258095, 0.80000022767116774},
		{0.2, 0.16, -0.1, 0.05, 0.9, 7608, 0.90002349140456111},
		{50, 2500, 2, 0.1, 0.5, 7, 0.51180796800231291},
	};
	/* GrowthBook packages/shared/test/power.test.ts "checks power": weeks 1..9 of 4,500 users, 3 variations */
	static const double week_power[] = {
		0.073, 0.17053, 0.0965, 0.29389, 0.1204, 0.41122, 0.14458, 0.51749,
		0.16895, 0.61037, 0.19342, 0.68938, 0.21791, 0.75513, 0.24235, 0.80886,
		0.26666, 0.85213,
	};
	char		name[MAX_LINE];
	double		worst = 0.0;
	double		ma;
	double		va;
	double		mb;
	double		vb;
	double		se;
	AbtMetricTest t;

	for (size_t i = 0; i < sizeof(power_cases) / sizeof(power_cases[0]); i++)
	{
		snprintf(name, sizeof(name), "power se %g, mde %g, alpha %g", power_cases[i].se,
				 power_cases[i].mde, power_cases[i].alpha);
		check_close(name, abt_metric_test_power(power_cases[i].se, power_cases[i].mde, power_cases[i].alpha),
					power_cases[i].power, 1e-13);
	}
	for (size_t i = 0; i < sizeof(mde_cases) / sizeof(mde_cases[0]); i++)
	{
		double		m = abt_metric_mde(mde_cases[i].se, mde_cases[i].alpha, mde_cases[i].power);

		snprintf(name, sizeof(name), "mde se %g, alpha %g, power %g", mde_cases[i].se,
				 mde_cases[i].alpha, mde_cases[i].power);
		check_rel(name, m, mde_cases[i].mde, 1e-10);
		snprintf(name, sizeof(name), "power(mde) = %g (se %g, alpha %g)", mde_cases[i].power,
				 mde_cases[i].se, mde_cases[i].alpha);
		check_close(name, abt_metric_test_power(mde_cases[i].se, m, mde_cases[i].alpha),
					mde_cases[i].power, 1e-13);
	}
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++)
	{
		snprintf(name, sizeof(name), "sample size mean %g, variance %g, mde %g, alpha %g, power %g: %.0f",
				 size_cases[i].mean, size_cases[i].variance, size_cases[i].mde, size_cases[i].alpha,
				 size_cases[i].power, size_cases[i].n);
		check_close(name, abt_metric_sample_size(size_cases[i].mean, size_cases[i].variance,
												 size_cases[i].mde, size_cases[i].alpha,
												 size_cases[i].power),
					size_cases[i].n, 0.0);
	}

	/*
	 * GrowthBook's planning power, powerEstFrequentist with
	 * powerStandardError: se^2 = v (1 + (1 + m)^2) / (mean^2 n) with n per
	 * variation.  "calculates power correctly": mean 10, variance
	 * 3909.9997749994377, effect 0.05, 400,000 users in 3 variations.
	 */
	se = sqrt(3909.9997749994377 * (1.0 + 1.05 * 1.05) / (100.0 * (400000.0 / 3.0)));
	check_close("GrowthBook powerEstFrequentist 400,000 users, 3 variations: 0.52144",
				abt_metric_test_power(se, 0.05, 0.05), 0.52144, 5.0e-6 + 1e-12);
	/* "checks power": click_through_rate (rate 0.1, effect 0.05), revenue (0.1, variance 0.5, effect 0.3) */
	for (int w = 1; w <= 9; w++)
	{
		double		n = 1500.0 * w;
		double		click = abt_metric_test_power(sqrt(0.09 * (1.0 + 1.05 * 1.05) / (0.01 * n)), 0.05, 0.05);
		double		revenue = abt_metric_test_power(sqrt(0.5 * (1.0 + 1.3 * 1.3) / (0.01 * n)), 0.3, 0.05);

		worst = fmax(worst, fmax(fabs(click - week_power[2 * (w - 1)]),
								 fabs(revenue - week_power[2 * (w - 1) + 1])));
	}
	snprintf(name, sizeof(name), "worst error %.2e", worst);
	check_true("GrowthBook power.test.ts: 9 weeks x 2 metrics to 5 decimals", worst <= 5.0e-6 + 1e-12, name);
	/* ... revenue first reaches 80% in week 8 (12,000 per variation), click never in 9 */
	check_true("sample size of GrowthBook's revenue metric: in week 8 (10,500 < n <= 12,000)",
			   abt_metric_sample_size(0.1, 0.5, 0.3, 0.05, 0.8) > 10500.0 &&
			   abt_metric_sample_size(0.1, 0.5, 0.3, 0.05, 0.8) <= 12000.0, "");
	check_true("sample size of GrowthBook's click-through rate: beyond week 9 (n > 13,500)",
			   abt_metric_sample_size(0.1, 0.09, 0.05, 0.05, 0.8) > 13500.0, "");

	/*
	 * gbstats tests/test_midexperimentpower.py: the frequentist test's
	 * scaling factor 25.45703125 (users added as a multiple of the current
	 * ones) gives power 0.8 at delta 0.05: the power of se / sqrt(1 + 25.457).
	 */
	abt_metric_mean_moments(500, 499.99999999999994, 1499.999999999999, &ma, &va);
	abt_metric_mean_moments(500, 525.0000000000008, 1551.2499999999998, &mb, &vb);
	abt_metric_ttest(500, ma, va, 500, mb, vb, 0.05, &t);
	se = t.se / sqrt(1.0 + 25.45703125);
	check_close("gbstats mid-experiment power: 0.8 at scaling factor 25.45703125 (4 places)",
				abt_metric_test_power(se, 0.05, 0.05), 0.8, 5e-5);
	check_close("gbstats mid-experiment power: MDE at 80% there is delta 0.05",
				abt_metric_mde(se, 0.05, 0.8), 0.05, 1e-5);
}

/* PostgreSQL's percentile_cont over values and zeros: by hand and by brute force. */
static void
test_percentile(void)
{
	double		v[8];
	double		values[NBIG];
	double		full[NBIG + 200];
	uint64_t	state = 1181783497276652981ULL;
	int			nfull = 0;
	bool		ok = true;
	char		diag[MAX_LINE] = "";

	memcpy(v, (double[]) {3, 1, 2}, 3 * sizeof(double));
	check_close("percentile {3, 1, 2} at 0.5: 2", abt_metric_percentile(v, 3, 0, 0.5), 2.0, 0.0);
	check_close("percentile {1, 2, 3} at 0.25: 1.5", abt_metric_percentile(v, 3, 0, 0.25), 1.5, 0.0);
	memcpy(v, (double[]) {20, -5, 10}, 3 * sizeof(double));
	/* with two zeros: -5, 0, 0, 10, 20 */
	check_close("percentile {20, -5, 10} + 2 zeros at 0.5: 0", abt_metric_percentile(v, 3, 2, 0.5), 0.0, 0.0);
	check_close("... at 0.9: 10 + 0.6 (20 - 10) = 16", abt_metric_percentile(v, 3, 2, 0.9), 16.0, 1e-14);
	check_close("... at 0.1: -5 + 0.4 (0 + 5) = -3", abt_metric_percentile(v, 3, 2, 0.1), -3.0, 1e-15);
	check_close("... at 0: the minimum", abt_metric_percentile(v, 3, 2, 0.0), -5.0, 0.0);
	check_close("... at 1: the maximum", abt_metric_percentile(v, 3, 2, 1.0), 20.0, 0.0);
	check_close("percentile of zeros only: 0", abt_metric_percentile(v, 0, 4, 0.99), 0.0, 0.0);
	check_close("percentile of one value: it", abt_metric_percentile(v, 1, 0, 0.3), v[0], 0.0);
	check_true("percentile of nothing, p outside [0, 1], NAN p: NAN",
			   isnan(abt_metric_percentile(v, 0, 0, 0.5)) && isnan(abt_metric_percentile(v, 3, 0, 1.5)) &&
			   isnan(abt_metric_percentile(v, 3, 0, -0.1)) && isnan(abt_metric_percentile(v, 3, 0, NAN)), "");

	/* NBIG values with ties and negatives, plus 200 zeros: against the sorted whole */
	for (int i = 0; i < NBIG; i++)
	{
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		values[i] = (double) ((int64_t) (state % 2001) - 400) / 8.0;	/* ties, zeros, negatives */
		full[nfull++] = values[i];
	}
	for (int i = 0; i < 200; i++)
		full[nfull++] = 0.0;
	qsort(full, nfull, sizeof(double), test_double_cmp);
	for (int k = 0; k <= 1000; k++)
	{
		double		p = k / 1000.0;
		double		pos = p * (double) (nfull - 1);
		int64_t		first = (int64_t) floor(pos);
		int64_t		second = (int64_t) ceil(pos);
		double		want = full[first] + ((pos - (double) first) * (full[second] - full[first]));
		double		got = abt_metric_percentile(values, NBIG, 200, p);

		if (first == second)
			want = full[first];
		if (got != want && ok)
		{
			snprintf(diag, sizeof(diag), "p %g: got %.17g, want %.17g", p, got, want);
			ok = false;
		}
	}
	check_true("percentile of 300 values and 200 zeros at 1,001 p: exactly the sorted whole's", ok, diag);
}

/*
 * CUPED against gbstats' own code (test/unit/cuped_reference.py, run on
 * GrowthBook's packages/stats): its unit tests' regression-adjustment
 * aggregates and the pairs of a random three-variant experiment, value
 * (mean) and conversion (0/1) metrics: theta (compute_theta), then
 * TwoSidedTTest's uplift, se, dof, p and interval, and
 * SequentialTwoSidedTTest's p and interval (N* 5000), alpha 0.05.
 */
static void
test_cuped_reference(void)
{
	static const struct
	{
		const char *label;
		bool		proportion;
		double		a[6];		/* n, sum y, sum y^2, sum x, sum x^2, sum xy */
		double		b[6];
		double		want[7];	/* theta, uplift, se, dof, p, ci_low, ci_high */
		double		seq[3];		/* p, ci_low, ci_high */
	}			cases[] = {
		{"gbstats RA_STATISTICS_DF count", false,
			{3001, 300, 600, 210, 415, -20},
			{3000, 222, 555, 120, 405, -10},
			{-0.073211940348135454, -0.28170715384572759, 0.097104876445109622, 5995.2404225074397, 0.0037325486152390841, -0.47206764569207416, -0.091346661999381046},
			{0.071978827876605866, -0.57658247907456439, 0.013168171383109217}},
		{"gbstats RA_STATISTICS_DF binomial", true,
			{3001, 300, 300, 210, 210, -20},
			{3000, 222, 222, 120, 120, -10},
			{-0.18824642118593798, -0.31620216016628988, 0.062015549489114259, 5904.4503394378808, 3.5255068531192535e-07, -0.43777532507774308, -0.19462899525483665},
			{2.5248307658570884e-05, -0.50452282947051974, -0.12788149086205999}},
		{"gbstats test_sequential_test_runs_ra", false,
			{3000, 1396.8699999999999, 52377.976699999999, 16.870000000000001, 527.97670000000005, 1},
			{3461, 2422.6999999999998, 134698.29000000001, 22.699999999999999, 1348.29, 1},
			{-0.011403222553755095, 0.50338399560199698, 0.33341199182116854, 6087.3819612476618, 0.13114746054543458, -0.15022145744574433, 1.1569894486497383},
			{1, -0.50969417407074102, 1.516462165274735}},
		{"random purchase value variant 1", false,
			{1500, 20301.16, 912612.65480000002, 21166.619999999999, 954991.04319999996, 503756.16710000002},
			{1400, 21578.970000000001, 1033057.6777, 20449.900000000001, 933728.0514, 547531.24250000005},
			{0.34865312930716102, 0.12608991577222989, 0.059156251606185553, 2838.2569914812402, 0.033135921856409345, 0.010096328467327095, 0.24208350307713267},
			{0.3662228421564106, -0.055190952767384005, 0.30737078431184378}},
		{"random purchase conversion variant 1", true,
			{1500, 525, 525, 544, 544, 300},
			{1400, 507, 507, 515, 515, 296},
			{0.32596727873497339, 0.029859804982025659, 0.048832303421085466, 2883.9740117634428, 0.5409323803749464, -0.065889935582144774, 0.12560954554619608},
			{1, -0.11978392897015568, 0.17950353893420701}},
		{"random purchase value variant 2", false,
			{1500, 20301.16, 912612.65480000002, 21166.619999999999, 954991.04319999996, 503756.16710000002},
			{1600, 21002.029999999999, 922969.44530000002, 21986.75, 997250.14309999999, 494286.00959999999},
			{0.31304106718869379, -0.021590835951382781, 0.050442053602673315, 3078.7577917274325, 0.66865743203558958, -0.12049432639331807, 0.07731265449055251},
			{1, -0.17582297153179374, 0.13264129962902818}},
		{"random purchase conversion variant 2", true,
			{1500, 525, 525, 544, 544, 300},
			{1600, 547, 547, 556, 556, 310},
			{0.32354545454545458, -0.0091939826839826377, 0.045642342763138791, 3080.7194100150718, 0.84037145114291789, -0.098686490588985695, 0.08029852522102042},
			{1, -0.14875047363697849, 0.13036250826901322}},
		{"random signup value variant 1", false,
			{1500, 818.10000000000002, 2733.4155999999998, 855.59000000000003, 2784.4146999999998, 884.71630000000005},
			{1400, 822.98000000000002, 2871.9407999999999, 751.36000000000001, 2526.0189999999998, 873.69749999999999},
			{0.19209489677182334, 0.089691820213115878, 0.088256070986204679, 2854.7191481559839, 0.30958790694835803, -0.083360271696649904, 0.26274391212288167},
			{1, -0.18076374057498656, 0.36014738100121835}},
		{"random signup conversion variant 1", true,
			{1500, 273, 273, 291, 291, 106},
			{1400, 259, 259, 253, 253, 96},
			{0.23125561769699388, 0.033364813536750797, 0.077467757412012228, 2881.9961539944411, 0.66672388504279922, -0.11853299369150716, 0.18526262076500877},
			{1, -0.20403059212477462, 0.2707602191982762}},
		{"random signup value variant 2", false,
			{1500, 818.10000000000002, 2733.4155999999998, 855.59000000000003, 2784.4146999999998, 884.71630000000005},
			{1600, 991.69000000000005, 3530.2204999999999, 984.20000000000005, 3286.489, 1250.9049},
			{0.21320360680473485, 0.11893893899574534, 0.088891527299239326, 3097.3708309298263, 0.18098704723405823, -0.055353361076043911, 0.29323123906753457},
			{1, -0.15285669800106963, 0.39073457599256034}},
		{"random signup conversion variant 2", true,
			{1500, 273, 273, 291, 291, 106},
			{1600, 306, 306, 325, 325, 108},
			{0.20046217872304828, 0.040773530874462574, 0.077199313223218713, 3094.2952302074546, 0.59742668855142211, -0.11059355103515049, 0.19214061278407563},
			{1, -0.19527187357209735, 0.27681893532102253}},
	};
	static const char *const fields[] = {"theta", "uplift", "se", "dof", "p", "ci_low", "ci_high",
	"sequential p", "sequential ci_low", "sequential ci_high"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		AbtCupedSums a = {(int64_t) cases[i].a[0], cases[i].a[1], cases[i].a[2], cases[i].a[3],
		cases[i].a[4], cases[i].a[5]};
		AbtCupedSums b = {(int64_t) cases[i].b[0], cases[i].b[1], cases[i].b[2], cases[i].b[3],
		cases[i].b[4], cases[i].b[5]};
		AbtMetricTest fixed;
		AbtMetricTest seq;
		double		got[10];
		double		want[10];

		got[0] = abt_metric_cuped_theta(cases[i].proportion, &a, &b);
		abt_metric_cuped_effect(cases[i].proportion, &a, &b, got[0], &fixed);
		seq = fixed;
		abt_metric_effect_test(a.n + b.n, false, 0.05, 0.0, &fixed);
		abt_metric_effect_test(a.n + b.n, true, 0.05, 5000.0, &seq);
		got[1] = fixed.uplift;
		got[2] = fixed.se;
		got[3] = fixed.dof;
		got[4] = fixed.p_value;
		got[5] = fixed.ci_low;
		got[6] = fixed.ci_high;
		got[7] = seq.p_value;
		got[8] = seq.ci_low;
		got[9] = seq.ci_high;
		memcpy(want, cases[i].want, sizeof(cases[i].want));
		memcpy(want + 7, cases[i].seq, sizeof(cases[i].seq));
		for (int f = 0; f < 10; f++)
		{
			char		name[MAX_LINE];

			snprintf(name, sizeof(name), "cuped %s: %s", cases[i].label, fields[f]);
			/* relative 1e-9, or 1e-14 absolute near 0 (gbstats' p is 1 - cdf) */
			check_close(name, got[f], want[f], fmax(1e-9 * fabs(want[f]), 1e-14));
		}
	}
}

/*
 * CUPED: gbstats' published values (rounded as its tests round: 9 decimals
 * in tests/test_gbstats.py, 5 in tests/frequentist/test_tests.py), theta 0
 * (no covariate variance, gbstats' TestComputeTheta) giving exactly the
 * unadjusted test, and the undefined cases.
 */
static void
test_cuped_cases(void)
{
	AbtCupedSums a = {3001, 300.0, 600.0, 210.0, 415.0, -20.0};
	AbtCupedSums b = {3000, 222.0, 555.0, 120.0, 405.0, -10.0};
	AbtCupedSums pa = {3001, 300.0, 300.0, 210.0, 210.0, -20.0};
	AbtCupedSums pb = {3000, 222.0, 222.0, 120.0, 120.0, -10.0};
	AbtCupedSums sa = {3000, 1396.87, 52377.9767, 16.87, 527.9767, 1.0};
	AbtCupedSums sb = {3461, 2422.7, 134698.29, 22.7, 1348.29, 1.0};
	AbtCupedSums za = {3001, 300.0, 600.0, 0.0, 0.0, 0.0};
	AbtCupedSums zb = {3000, 222.0, 555.0, 0.0, 0.0, 0.0};
	AbtMetricTest t;
	AbtMetricTest u;
	double		mean_a,
				var_a,
				mean_b,
				var_b;

	abt_metric_cuped_effect(false, &a, &b, abt_metric_cuped_theta(false, &a, &b), &t);
	abt_metric_effect_test(a.n + b.n, false, 0.05, 0.0, &t);
	check_close("cuped gbstats test_analyze_metric_df_ra: uplift -0.281707154", t.uplift, -0.281707154, 5e-10);
	check_close("cuped gbstats test_analyze_metric_df_ra: p 0.003732549", t.p_value, 0.003732549, 5e-10);
	abt_metric_cuped_effect(true, &pa, &pb, abt_metric_cuped_theta(true, &pa, &pb), &t);
	abt_metric_effect_test(pa.n + pb.n, false, 0.05, 0.0, &t);
	check_close("cuped gbstats test_analyze_metric_df_ra_proportion: uplift -0.31620216", t.uplift, -0.31620216, 5e-9);
	check_close("cuped gbstats test_analyze_metric_df_ra_proportion: p 0.000000353", t.p_value, 0.000000353, 5e-10);
	abt_metric_cuped_effect(false, &sa, &sb, abt_metric_cuped_theta(false, &sa, &sb), &t);
	abt_metric_effect_test(sa.n + sb.n, true, 0.05, 5000.0, &t);
	check_true("cuped gbstats test_sequential_test_runs_ra: 0.50338 (se 0.33341), ci -0.50969..1.51646, p 1",
			   fabs(t.uplift - 0.50338) <= 5e-6 && fabs(t.se - 0.33341) <= 5e-6 &&
			   fabs(t.ci_low + 0.50969) <= 5e-6 && fabs(t.ci_high - 1.51646) <= 5e-6 && t.p_value == 1.0, "");

	/* no covariate variance: theta 0, and the adjusted test is the unadjusted one, bit for bit */
	check_true("cuped theta of covariates all 0: 0 (gbstats TestComputeTheta)",
			   abt_metric_cuped_theta(false, &za, &zb) == 0.0 && abt_metric_cuped_theta(true, &za, &zb) == 0.0, "");
	abt_metric_cuped_effect(false, &a, &b, 0.0, &t);
	abt_metric_mean_moments(a.n, a.sum_y, a.sum_y2, &mean_a, &var_a);
	abt_metric_mean_moments(b.n, b.sum_y, b.sum_y2, &mean_b, &var_b);
	abt_metric_effect(a.n, mean_a, var_a, b.n, mean_b, var_b, &u);
	check_true("cuped with theta 0 = the unadjusted effect exactly",
			   t.uplift == u.uplift && t.se == u.se && t.dof == u.dof && t.chance_to_beat == u.chance_to_beat, "");

	/* undefined: NAN, as the unadjusted test */
	za.n = 1;
	check_true("cuped with 1 visitor a side: NAN",
			   !abt_metric_cuped_effect(false, &za, &b, 0.1, &t) && isnan(t.uplift) && isnan(t.se), "");
	za = (AbtCupedSums) {10, 0.0, 0.0, 3.0, 5.0, 0.0};
	check_true("cuped with a control mean of 0: NAN", !abt_metric_cuped_effect(false, &za, &b, 0.1, &t), "");
	za = (AbtCupedSums) {10, 5.0, 5.0, 5.0, 5.0, 5.0};
	check_true("cuped with an adjusted control mean of 0 (gbstats' baseline rule): NAN",
			   !abt_metric_cuped_effect(true, &za, &pb, 1.0, &t), "");
	check_true("cuped with theta NAN or infinite: NAN",
			   !abt_metric_cuped_effect(false, &a, &b, NAN, &t) && !abt_metric_cuped_effect(false, &a, &b, INFINITY, &t), "");
	za = (AbtCupedSums) {10, 5.0, 5.0, 5.0, 5.0, NAN};
	check_true("cuped with a NAN sum (an overflowed numeric): theta and effect NAN",
			   isnan(abt_metric_cuped_theta(false, &za, &b)) && !abt_metric_cuped_effect(false, &za, &b, 0.1, &t), "");
	za = (AbtCupedSums) {0, 0.0, 0.0, 0.0, 0.0, 0.0};
	zb = za;
	check_true("cuped without visitors: theta and covariate mean NAN",
			   isnan(abt_metric_cuped_theta(true, &za, &zb)) && isnan(abt_metric_cuped_covariate_mean(&za)), "");
	check_close("cuped covariate mean 210/3001", abt_metric_cuped_covariate_mean(&a), 210.0 / 3001.0, 0.0);
}

int
main(void)
{
	test_moments();
	test_t_cdf();
	test_t_quantile();
	test_reference_tests();
	test_gbstats_published();
	test_null_cases();
	test_adjustments();
	test_reference_bayesian();
	test_gbstats_bayesian();
	test_bayesian_null_cases();
	test_power();
	test_percentile();
	test_cuped_reference();
	test_cuped_cases();

	return tap_finish();
}
