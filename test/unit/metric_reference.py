#!/usr/bin/python3
"""
metric_reference.py
    Independent reference values for test/unit/metric_math_test.c.

Computes, in 50-digit arithmetic with mpmath (Debian: python3-mpmath), the
Student t CDF (regularized incomplete beta), its quantile (root of the CDF)
and GrowthBook's gbstats frequentist formulas (TwoSidedTTest and
SequentialTwoSidedTTest, relative difference, as re-derived in
src/metric_math.c's header), its Bayesian engine (EffectBayesianABTest: the
posterior by its precisions, as gbstats writes it; the risks by numerical
integration of the posterior, not by their closed forms), the power of the
two-sided test (gbstats power/, GrowthBook's powerFrequentist), its MDE (a
root of the power) and the planning sample size (the smallest whole n past
the real root), and prints them as C initialisers to paste into the test.
Test-only: nothing in the build runs it.

    apt-get install -y python3-mpmath && /usr/bin/python3 test/unit/metric_reference.py
    /usr/bin/python3 test/unit/metric_reference.py bayes   # Bayesian, power, MDE, sample size
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


def z_upper(q):
    """The z with P(Z > z) = q."""
    return -mp.sqrt(2) * mp.erfinv(2 * mp.mpf(q) - 1)


def bayes(na, ma, va, nb, mb, vb, alpha, proper=False, prior_mean=0, prior_sd="0.3"):
    """gbstats EffectBayesianABTest (relative, prior_type relative) in mpmath."""
    na, nb = mp.mpf(na), mp.mpf(nb)
    d = (mb - ma) / abs(ma)
    dv = vb / (nb * ma ** 2) + va * mb ** 2 / (na * ma ** 4)
    if proper:
        pv = mp.mpf(prior_sd) ** 2
        prec = 1 / dv + 1 / pv
        mean = (d / dv + mp.mpf(prior_mean) / pv) / prec
    else:
        prec = 1 / dv
        mean = d
    sd = mp.sqrt(1 / prec)
    half = z_upper(mp.mpf(alpha) / 2) * sd
    ctw = 1 - mp.ncdf(0, mean, sd)
    pdf = lambda x: mp.npdf(x, mean, sd)
    # expected losses by integration (split where the density is)
    pts_pos = [0] + [p for p in (mean - 8 * sd, mean, mean + 8 * sd) if p > 0] + [mp.inf]
    pts_neg = [-mp.inf] + [p for p in (mean - 8 * sd, mean, mean + 8 * sd) if p < 0] + [0]
    risk_ctrl = mp.quad(lambda x: x * pdf(x), pts_pos)
    risk_var = mp.quad(lambda x: -x * pdf(x), pts_neg)
    return [mean, sd, mean - half, mean + half, ctw, risk_ctrl, risk_var]


def power(se, mde, alpha):
    z = z_upper(mp.mpf(alpha) / 2)
    d = abs(mp.mpf(mde)) / mp.mpf(se)
    return 1 - mp.ncdf(z - d) + mp.ncdf(-z - d)


def mde(se, alpha, pw):
    z = z_upper(mp.mpf(alpha) / 2)
    d = mp.findroot(lambda d: 1 - mp.ncdf(z - d) + mp.ncdf(-z - d) - mp.mpf(pw), z + mp.sqrt(2) * mp.erfinv(2 * mp.mpf(pw) - 1))
    return d * mp.mpf(se)


def sample_size(mean, var, m, alpha, pw):
    """Smallest whole n per variant whose planned power reaches pw."""
    mean, var, m = mp.mpf(mean), mp.mpf(var), mp.mpf(m)
    k2 = var * (1 + (1 + m) ** 2) / mean ** 2
    f = lambda n: power(mp.sqrt(k2 / n), m, alpha) - mp.mpf(pw)
    root = mp.findroot(f, k2 * (z_upper(mp.mpf(alpha) / 2) + z_upper(1 - mp.mpf(pw))) ** 2 / m ** 2)
    n = int(mp.ceil(root))
    assert f(n) >= 0 and (n == 1 or f(n - 1) < 0)
    return n, power(mp.sqrt(k2 / n), m, alpha)


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


def bayes_main():
    a = mean_moments(3407, "1396.87", "52377.9767")
    b = mean_moments(3461, "2422.7", "134698.29")
    na10 = mean_moments(10, 100, "1002.25")
    nb10 = mean_moments(10, 105, "1111.5")
    cases = [
        ("flat: proportion 49/100 vs 51/100 (gbstats)", 100, prop_moments(100, 49), 100, prop_moments(100, 51),
         "0.05", False, 0, "0.3"),
        ("flat: mean 10 vs 10 (gbstats)", 10, na10, 10, nb10, "0.05", False, 0, "0.3"),
        ("proper N(0.1, 0.1): mean 10 vs 10 (gbstats)", 10, na10, 10, nb10, "0.05", True, "0.1", mp.sqrt(mp.mpf("0.1"))),
        ("proper N(0, 0.3^2): mean 3407 vs 3461", 3407, a, 3461, b, "0.05", True, 0, "0.3"),
        ("flat: mean 3407 vs 3461, alpha 0.1", 3407, a, 3461, b, "0.1", False, 0, "0.3"),
        ("proper N(0.02, 0.05^2): proportion 50000/1e6 vs 50600/1e6", 1000000, prop_moments(1000000, 50000),
         1000000, prop_moments(1000000, 50600), "0.05", True, "0.02", "0.05"),
        ("proper N(0, 0.3^2): negative control mean", 50, mean_moments(50, "-100", "400"), 60,
         mean_moments(60, "-90", "300"), "0.05", True, 0, "0.3"),
        ("proper N(-0.5, 0.001^2): the prior dominates", 28, prop_moments(28, 14), 30, prop_moments(30, 16),
         "0.05", True, "-0.5", "0.001"),
        ("flat: proportion 1000/20000 vs 1150/20000 (z = 3.3)", 20000, prop_moments(20000, 1000), 20000,
         prop_moments(20000, 1150), "0.05", False, 0, "0.3"),
    ]
    print("/* bayesian: {label, n_a, mean_a, var_a, n_b, mean_b, var_b, alpha, proper, prior mean, prior sd,"
          " uplift, sd, ci_low, ci_high, chance_to_win, risk_control, risk_variant} */")
    for label, na, (ma, va), nb, (mb, vb), alpha, proper, pm, psd in cases:
        r = bayes(na, ma, va, nb, mb, vb, alpha, proper, pm, psd)
        print('\t\t{"%s",\n\t\t\t%d, %s, %s, %d, %s, %s, %s, %s, %s, %s,\n\t\t\t{%s}},'
              % (label, na, c(ma), c(va), nb, c(mb), c(vb), alpha, "true" if proper else "false",
                 c(mp.mpf(pm)), c(mp.mpf(psd)),
                 ", ".join(c(x) for x in r[:4]) + ",\n\t\t\t" + ", ".join(c(x) for x in r[4:])))
    print("/* power: {se, mde, alpha, power} */")
    for se, m, alpha in [("0.02", "0.05", "0.05"), ("0.1", "0.05", "0.1"), ("0.01", "-0.03", "0.05"),
                         ("0.5", "0.01", "0.01"), ("0.001", "0.05", "0.05")]:
        print("\t\t{%s, %s, %s, %s}," % (se, m, alpha, c(power(se, m, alpha))))
    print("/* mde: {se, alpha, power, mde} */")
    for se, alpha, pw in [("0.02", "0.05", "0.8"), ("1", "0.01", "0.9"), ("0.5", "0.2", "0.3"),
                          ("0.03", "0.05", "0.999999"), ("7", "0.5", "0.6")]:
        print("\t\t{%s, %s, %s, %s}," % (se, alpha, pw, c(mde(se, alpha, pw))))
    print("/* sample size: {mean, variance, mde, alpha, power, n, power at n} */")
    for mean, var, m, alpha, pw in [("0.1", "0.09", "0.05", "0.05", "0.8"), ("0.1", "0.5", "0.3", "0.05", "0.8"),
                                    ("10", "3909.9997749994377", "0.05", "0.05", "0.8"),
                                    ("0.2", "0.16", "-0.1", "0.05", "0.9"), ("50", "2500", "2", "0.1", "0.5")]:
        n, p = sample_size(mean, var, m, alpha, pw)
        print("\t\t{%s, %s, %s, %s, %s, %d, %s}," % (mean, var, m, alpha, pw, n, c(p)))


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["bayes"]:
        bayes_main()
    else:
        main()
