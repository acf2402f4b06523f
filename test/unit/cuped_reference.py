#!/usr/bin/python3
"""
cuped_reference.py
    Reference values of CUPED (issue 20) for test/unit/metric_math_test.c
    and test/sql/metric_cuped.sql, computed by GrowthBook's own gbstats code.

gbstats is not vendored: point the script at a checkout's packages/stats
(GrowthBook's repository, github.com/growthbook/growthbook).  It needs
numpy, scipy, pandas and pydantic (Debian: python3-numpy python3-scipy
python3-pandas python3-pydantic).  Nothing in the build or the suite runs
it; its output was pasted into the tests.

    /usr/bin/python3 test/unit/cuped_reference.py GROWTHBOOK/packages/stats c
        C initialisers of test_cuped_reference() (metric_math_test.c)
    /usr/bin/python3 test/unit/cuped_reference.py GROWTHBOOK/packages/stats sql
        the sums and gbstats' results of metric_cuped.sql's random experiment

The values of the issue's tests were made with the snapshot at commit
8f1db4456915a8e7b7faf23d5632ca7219d2f469 (2026-08-21).

What runs is gbstats' own classes: SampleMeanStatistic /
ProportionStatistic for y and x, RegressionAdjustedStatistic,
compute_theta, TwoSidedTTest, SequentialTwoSidedTTest (N* 5000) and
EffectBayesianABTest (flat prior), difference type relative, alpha 0.05.
The random data are per-visitor pairs (x, y) from a seeded generator,
rounded to cents so that the sums are exact decimals: the tests hold the
sums as numeric, and gbstats gets the same doubles.
"""
import sys
from decimal import Decimal

import numpy as np

sys.path.insert(0, sys.argv[1])

from gbstats.models.statistics import (  # noqa: E402
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
)
from gbstats.frequentist.tests import (  # noqa: E402
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.bayesian.tests import EffectBayesianABTest  # noqa: E402


def ra(proportion, n, sy, sy2, sx, sx2, sxy):
    """A variant's RegressionAdjustedStatistic from its sums (floats)."""
    if proportion:
        post = ProportionStatistic(n=n, sum=sy)
        pre = ProportionStatistic(n=n, sum=sx)
    else:
        post = SampleMeanStatistic(n=n, sum=sy, sum_squares=sy2)
        pre = SampleMeanStatistic(n=n, sum=sx, sum_squares=sx2)
    return RegressionAdjustedStatistic(n=n, post_statistic=post, pre_statistic=pre,
                                       post_pre_sum_of_products=sxy, theta=None)


def results(proportion, a, b):
    """theta, then (uplift, se, dof, p, ci_low, ci_high) fixed and sequential, and the Bayesian result."""
    sa = ra(proportion, *a)
    sb = ra(proportion, *b)
    theta = compute_theta(sa, sb)
    fixed = TwoSidedTTest([(sa, sb)])
    rf = fixed.compute_result()
    rs = SequentialTwoSidedTTest([(sa, sb)], SequentialConfig(sequential_tuning_parameter=5000)).compute_result()
    rb = EffectBayesianABTest([(sa, sb)]).compute_result()
    out = {
        "theta": theta,
        "uplift": rf.expected, "se": rf.uplift.stddev, "dof": fixed.dof,
        "p": rf.pValue, "ci_low": rf.ci[0], "ci_high": rf.ci[1],
        "seq_p": rs.pValue, "seq_ci_low": rs.ci[0], "seq_ci_high": rs.ci[1],
        "bayes_uplift": rb.expected, "bayes_ci_low": rb.ci[0], "bayes_ci_high": rb.ci[1],
        "ctw": rb.chanceToWin, "risk_control": rb.risk[0], "risk_variant": rb.risk[1],
        "error": rf.errorMessage,
    }
    return out


# gbstats' own test aggregates: tests/test_gbstats.py RA_STATISTICS_DF
# (control "zero", variant "one"; as count and as binomial) and
# tests/frequentist/test_tests.py test_sequential_test_runs_ra.
GBSTATS_CASES = [
    ("gbstats RA_STATISTICS_DF count", False,
     (3001, 300.0, 600.0, 210.0, 415.0, -20.0), (3000, 222.0, 555.0, 120.0, 405.0, -10.0)),
    ("gbstats RA_STATISTICS_DF binomial", True,
     (3001, 300.0, 300.0, 210.0, 210.0, -20.0), (3000, 222.0, 222.0, 120.0, 120.0, -10.0)),
    ("gbstats test_sequential_test_runs_ra", False,
     (3000, 1396.87, 52377.9767, 16.87, 527.9767, 1.0), (3461, 2422.7, 134698.29, 22.7, 1348.29, 1.0)),
]


def visitors(rng, n, base, lift, rho, spread, convert):
    """n visitors' (x, y) in cents: y correlated with x at about rho; zero for non-converters."""
    z1 = rng.standard_normal(n)
    z2 = rng.standard_normal(n)
    x = base + spread * z1
    y = base * (1 + lift) + spread * (rho * z1 + np.sqrt(1 - rho * rho) * z2)
    had = rng.random(n) < convert           # an event before the assignment
    buys = rng.random(n) < np.where(had, convert * 1.6, convert * 0.7)
    x = np.where(had, np.maximum(x, 0.01), 0.0)
    y = np.where(buys, np.maximum(y, 0.01), 0.0)
    return [Decimal(str(round(v, 2))) for v in x], [Decimal(str(round(v, 2))) for v in y]


def sums(xs, ys):
    """Exact sums of a variant: value metric and the 0/1 conversion metric."""
    n = len(xs)
    value = (n, sum(ys), sum(y * y for y in ys), sum(xs), sum(x * x for x in xs),
             sum(x * y for x, y in zip(xs, ys)))
    cx = [1 if x != 0 else 0 for x in xs]
    cy = [1 if y != 0 else 0 for y in ys]
    conv = (n, sum(cy), sum(cy), sum(cx), sum(cx), sum(a * b for a, b in zip(cx, cy)))
    return value, conv


def random_experiment():
    """Three variants (A control), two goals with a covariate: their exact sums."""
    rng = np.random.default_rng(20)
    plan = {
        # goal: per variant (n, lift), base, rho, spread, convert
        "purchase": ([(1500, 0.0), (1400, 0.04), (1600, -0.02)], 40.0, 0.7, 15.0, 0.35),
        "signup": ([(1500, 0.0), (1400, 0.10), (1600, 0.05)], 3.0, 0.5, 1.0, 0.2),
    }
    out = {}
    for goal, (variants, base, rho, spread, convert) in plan.items():
        out[goal] = []
        for n, lift in variants:
            xs, ys = visitors(rng, n, base, lift, rho, spread, convert)
            out[goal].append(sums(xs, ys))
    return out


def fl(t):
    return tuple(float(v) if not isinstance(v, int) else v for v in t)


def c_output():
    print("/* cuped_reference.py c: gbstats' own aggregates, then the random experiment's pairs */")
    cases = list(GBSTATS_CASES)
    exp = random_experiment()
    for goal, vs in exp.items():
        for v in (1, 2):
            for m, proportion in (("value", False), ("conversion", True)):
                a = vs[0][1 if proportion else 0]
                b = vs[v][1 if proportion else 0]
                cases.append(("random %s %s variant %d" % (goal, m, v), proportion, fl(a), fl(b)))
    for label, proportion, a, b in cases:
        r = results(proportion, a, b)
        print('{"%s", %s,' % (label, "true" if proportion else "false"))
        print("\t{%d, %.17g, %.17g, %.17g, %.17g, %.17g}," % a)
        print("\t{%d, %.17g, %.17g, %.17g, %.17g, %.17g}," % b)
        print("\t{%.17g, %.17g, %.17g, %.17g, %.17g, %.17g, %.17g}," % (
            r["theta"], r["uplift"], r["se"], r["dof"], r["p"], r["ci_low"], r["ci_high"]))
        print("\t{%.17g, %.17g, %.17g}}," % (r["seq_p"], r["seq_ci_low"], r["seq_ci_high"]))


def sql_output():
    exp = random_experiment()
    print("-- cuped_reference.py sql: goal, variant (1: control), metric, n, sums y, y^2, x, x^2, xy")
    for goal, vs in exp.items():
        for i, (value, conv) in enumerate(vs):
            print("('%s', %d, %s)," % (goal, i + 1, ", ".join(str(v) for v in value)))
            print("--   conversions: %s" % ", ".join(str(v) for v in conv))
    print("-- gbstats: goal, variant, metric, theta, uplift, p, ci_low, ci_high, seq_p, seq_ci_low,"
          " seq_ci_high, bayes_uplift, bayes_ci_low, bayes_ci_high, chance_to_win, risk_control, risk_variant")
    for goal, vs in exp.items():
        for v in (1, 2):
            for m, proportion in (("value_per_visitor", False), ("conversion_rate", True)):
                a = fl(vs[0][1 if proportion else 0])
                b = fl(vs[v][1 if proportion else 0])
                r = results(proportion, a, b)
                keys = ["theta", "uplift", "p", "ci_low", "ci_high", "seq_p", "seq_ci_low", "seq_ci_high",
                        "bayes_uplift", "bayes_ci_low", "bayes_ci_high", "ctw", "risk_control", "risk_variant"]
                print("('%s', %d, '%s', %s)," % (goal, v + 1, m, ", ".join("%.17g" % r[k] for k in keys)))


if __name__ == "__main__":
    mode = sys.argv[2] if len(sys.argv) > 2 else "c"
    c_output() if mode == "c" else sql_output()
