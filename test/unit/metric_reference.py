#!/usr/bin/python3
"""
metric_reference.py
    Independent reference values for test/unit/metric_math_test.c.

Computes, in 50-digit arithmetic with mpmath (Debian: python3-mpmath), the
Student t CDF (regularized incomplete beta), its quantile (root of the CDF)
and GrowthBook's gbstats frequentist formulas (TwoSidedTTest and
SequentialTwoSidedTTest, relative difference, as re-derived in
src/metric_math.c's header), and prints them as C initialisers to paste into
the test.  Test-only: nothing in the build runs it.

    apt-get install -y python3-mpmath && /usr/bin/python3 test/unit/metric_reference.py
"""
import mpmath as mp

mp.mp.dps = 50

DOFS = ["1", "1.5", "2", "2.5", "3", "7.3", "30", "5841.74", "19999", "20001",
        "1e5", "1e7", "1e10", "1e15", "inf"]
TS = ["-40", "-12", "-3.5", "-1.96", "-0.7", "-1e-3", "0.4", "1.3", "2.5", "8", "50"]
PS = ["1e-12", "1e-6", "0.001", "0.025", "0.3", "0.7", "0.975", "0.999", "0.999999"]


def t_cdf(t, dof):
    """P(T <= t) for Student's t with dof degrees of freedom (dof may be inf)."""
    if mp.isinf(dof):
        return mp.ncdf(t)
    x = dof / (dof + t * t)
    tail = mp.betainc(dof / 2, mp.mpf("0.5"), 0, x, regularized=True) / 2
    return 1 - tail if t > 0 else tail


def t_quantile(p, dof):
    """The t with t_cdf(t, dof) = p, by the secant method from a normal start."""
    if mp.isinf(dof):
        return mp.sqrt(2) * mp.erfinv(2 * p - 1)
    # start: the normal quantile stretched for heavy tails; refine by bisection
    # on a bracket first so the secant method starts close
    lo, hi = mp.mpf(-1), mp.mpf(1)
    while t_cdf(lo, dof) > p:
        lo *= 2
    while t_cdf(hi, dof) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if t_cdf(mid, dof) < p:
            lo = mid
        else:
            hi = mid
    return mp.findroot(lambda t: t_cdf(t, dof) - p, (lo, hi), solver="anderson")


def ttest(na, ma, va, nb, mb, vb, alpha, sequential=False, tuning=5000):
    """gbstats relative two-sided t-test (or sequential test) in mpmath."""
    na, nb = mp.mpf(na), mp.mpf(nb)
    uplift = (mb - ma) / abs(ma)
    se = mp.sqrt(vb / (nb * ma ** 2) + va * mb ** 2 / (na * ma ** 4))
    dof = (vb / nb + va / na) ** 2 / (vb ** 2 / (nb ** 2 * (nb - 1)) + va ** 2 / (na ** 2 * (na - 1)))
    ctb = mp.ncdf(uplift / se)
    if not sequential:
        p = 2 * (1 - t_cdf(abs(uplift / se), dof))
        half = t_quantile(1 - alpha / 2, dof) * se
    else:
        n = na + nb
        rho2 = (-2 * mp.log(alpha) + mp.log(-2 * mp.log(alpha) + 1)) / tuning
        s2 = se ** 2 * n
        half = mp.sqrt(s2) * mp.sqrt(2 * (n * rho2 + 1) * mp.log(mp.sqrt(n * rho2 + 1) / alpha) / (n ** 2 * rho2))
        st2 = uplift ** 2 * n / se ** 2
        tr = n * rho2 + 1
        e = mp.exp(rho2 * st2 / (2 * tr)) / mp.sqrt(tr)
        p = min(1 / e, mp.mpf(1))
    return [uplift, se, dof, p, uplift - half, uplift + half, ctb]


def mean_moments(n, s, ss):
    n, s, ss = mp.mpf(n), mp.mpf(s), mp.mpf(ss)
    return s / n, (ss - s ** 2 / n) / (n - 1)


def prop_moments(n, x):
    m = mp.mpf(x) / n
    return m, m * (1 - m)


def c(x):
    """A double literal with 17 significant digits."""
    if mp.isinf(x):
        return "INFINITY" if x > 0 else "-INFINITY"
    if abs(x) < mp.mpf("1e-300"):
        return "0.0"            # below the normal doubles: the test wants ~0
    return mp.nstr(mp.mpf(x), 17, min_fixed=-4, max_fixed=6, strip_zeros=False).replace("'", "")


def dof_literal(d):
    return "INFINITY" if d == "inf" else d


def main():
    print("/* t CDF: {dof, t, cdf} */")
    for d in DOFS:
        dof = mp.inf if d == "inf" else mp.mpf(d)
        for t in TS:
            print("\t\t{%s, %s, %s}," % (dof_literal(d), t, c(t_cdf(mp.mpf(t), dof))))
    print("/* t quantile: {dof, p, t} */")
    for d in DOFS:
        dof = mp.inf if d == "inf" else mp.mpf(d)
        for p in PS:
            print("\t\t{%s, %s, %s}," % (dof_literal(d), p, c(t_quantile(mp.mpf(p), dof))))

    a = mean_moments(3407, "1396.87", "52377.9767")
    b = mean_moments(3461, "2422.7", "134698.29")
    print("/* moments A, B: mean, variance */")
    print("\t%s, %s\n\t%s, %s" % (c(a[0]), c(a[1]), c(b[0]), c(b[1])))

    cases = []
    cases.append(("mean 3407 vs 3461", 3407, a, 3461, b, "0.05", False, 5000))
    cases.append(("mean 3407 vs 3461, alpha 0.1", 3407, a, 3461, b, "0.1", False, 5000))
    pa, pb = prop_moments(28, 14), prop_moments(30, 16)
    cases.append(("proportion 14/28 vs 16/30", 28, pa, 30, pb, "0.05", False, 5000))
    a3 = mean_moments(3000, "1396.87", "52377.9767")
    cases.append(("sequential mean 3000 vs 3461, N* 1000", 3000, a3, 3461, b, "0.05", True, 1000))
    cases.append(("sequential mean 3000 vs 3461, N* 5000", 3000, a3, 3461, b, "0.05", True, 5000))
    sa, sb = prop_moments(3000, 1396), prop_moments(3461, 2422)
    cases.append(("sequential proportion 1396/3000 vs 2422/3461", 3000, sa, 3461, sb, "0.05", True, 5000))
    ba, bb = prop_moments(1000000, 50000), prop_moments(1000000, 50600)
    cases.append(("proportion 50000/1e6 vs 50600/1e6", 1000000, ba, 1000000, bb, "0.05", False, 5000))
    cases.append(("sequential proportion 50000/1e6 vs 50600/1e6", 1000000, ba, 1000000, bb, "0.05", True, 5000))
    na_, nb_ = mean_moments(50, "-100", "400"), mean_moments(60, "-90", "300")
    cases.append(("negative control mean", 50, na_, 60, nb_, "0.05", False, 5000))
    print("/* tests: {label, n_a, mean_a, var_a, n_b, mean_b, var_b, alpha, sequential, tuning,"
          " uplift, se, dof, p, ci_low, ci_high, ctb} */")
    for label, na, (ma, va), nb, (mb, vb), alpha, seq, tuning in cases:
        r = ttest(na, ma, va, nb, mb, vb, mp.mpf(alpha), seq, tuning)
        print('\t\t{"%s",\n\t\t\t%d, %s, %s, %d, %s, %s, %s, %s, %s,\n\t\t\t{%s}},'
              % (label, na, c(ma), c(va), nb, c(mb), c(vb), alpha,
                 "true" if seq else "false", tuning,
                 ", ".join(c(x) for x in r[:4]) + ",\n\t\t\t" + ", ".join(c(x) for x in r[4:])))


if __name__ == "__main__":
    main()
