#!/usr/bin/env node
/*
 * stats_reference.js
 *		Independent reference values for test/unit/stats_math_test.c.
 *
 * Run with plain node (no packages): `node test/unit/stats_reference.js`.
 * Nothing here shares code with src/stats_math.c; the methods are chosen to
 * differ from it where possible:
 *   - lgamma: own Stirling series with upward recurrence (not the C library);
 *   - normal tail: composite Simpson integration of the density;
 *   - chi-square sf: exact finite closed forms for integer df;
 *   - Wilson: bisection on (phat - p)^2 = z^2 p (1 - p) / n;
 *   - chance to beat, small counts: Evan Miller's sum as exact rationals
 *     (BigInt factorials, 60 fixed-point decimals);
 *   - chance to beat with a zero-conversion side: exact products
 *     E[(1 - X)^k] = prod (b + j) / (a + b + j);
 *   - chance to beat, larger counts: (a) the same sum in floating point with
 *     every term computed from lgamma directly (no recurrence), and
 *     (b) brute-force integration of f_v(x) F_c(x) on a uniform grid of
 *     step <= sd/200 with Richardson extrapolation.
 * The reference printed for a large case is the closed form if one applies,
 * else the integral (Richardson, the most precise here), else the sum; the
 * '#' lines show how far the methods agree (the sum loses ~1e-7 to lgamma
 * rounding at arguments near 1e8).
 * The printed values are pasted into the C test as literals.
 */
'use strict';

/* ---------- lgamma ---------- */
function lgamma(x) {
	let shift = 0;
	while (x < 15) { shift += Math.log(x); x += 1; }
	const x2 = x * x;
	const series = 1 / (12 * x) - 1 / (360 * x * x2) + 1 / (1260 * x * x2 * x2)
		- 1 / (1680 * x * x2 * x2 * x2) + 1 / (1188 * x * x2 * x2 * x2 * x2);
	return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}
function lbeta(a, b) { return lgamma(a) + lgamma(b) - lgamma(a + b); }

/* ---------- normal upper tail Q(z), z >= 0, by Simpson ---------- */
function normalUpper(z) {
	const hi = z + 40, n = 2000000, h = (hi - z) / n;
	const f = t => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
	let s = f(z) + f(hi);
	for (let i = 1; i < n; i++) s += f(z + i * h) * (i % 2 ? 4 : 2);
	return s * h / 3;
}

/* ---------- chi-square survival function, integer df ---------- */
function chisqSf(x, df) {
	const y = x / 2;
	if (df % 2 === 0) {
		let term = 1, sum = 1;
		for (let j = 1; j < df / 2; j++) { term *= y / j; sum += term; }
		return Math.exp(-y) * sum;
	}
	/* Q(k + 1/2, y) = erfc(sqrt y) + e^-y sum_{j=1}^{k} y^{j-1/2} / Gamma(j + 1/2) */
	const k = (df - 1) / 2;
	let sum = 2 * normalUpper(Math.sqrt(2 * y));
	let g = Math.sqrt(Math.PI);			/* Gamma(1/2) */
	for (let j = 1; j <= k; j++) {
		g *= (j - 0.5);					/* Gamma(j + 1/2) */
		sum += Math.exp(-y + (j - 0.5) * Math.log(y)) / g;
	}
	return sum;
}

/* ---------- Wilson by bisection ---------- */
function wilsonBisect(c, n, z) {
	const ph = c / n;
	const g = p => (ph - p) * (ph - p) - z * z * p * (1 - p) / n;
	function root(lo, hi) {	/* g(lo) and g(hi) of opposite sign */
		for (let i = 0; i < 200; i++) {
			const mid = (lo + hi) / 2;
			if ((g(lo) > 0) === (g(mid) > 0)) lo = mid; else hi = mid;
		}
		return (lo + hi) / 2;
	}
	const low = c === 0 ? 0 : root(0, ph);
	const high = c === n ? 1 : root(ph, 1);
	return [low, high];
}

/* ---------- z-test ---------- */
function ztestP(ca, na, cb, nb) {
	const p = (ca + cb) / (na + nb);
	const se = Math.sqrt(p * (1 - p) * (1 / na + 1 / nb));
	const z = Math.abs(cb / nb - ca / na) / se;
	return 2 * normalUpper(z);
}

/* ---------- chance to beat: exact rational (BigInt) ---------- */
const factCache = [1n];
function fact(n) {
	while (factCache.length <= n) factCache.push(factCache[factCache.length - 1] * BigInt(factCache.length));
	return factCache[n];
}
/* P(X1 > X2), X1 ~ Beta(a1,b1), X2 ~ Beta(a2,b2), integers; B(x,y) = (x-1)!(y-1)!/(x+y-1)! */
function ctbExactBig(a1, b1, a2, b2) {
	const SCALE = 10n ** 60n;
	let total = 0n;
	for (let i = 0; i < a1; i++) {
		/* B(a2+i, b1+b2) / ((b1+i) B(1+i, b1) B(a2, b2)) */
		const num = fact(a2 + i - 1) * fact(b1 + b2 - 1) * fact(i + b1) * fact(a2 + b2 - 1);
		const den = fact(a2 + i + b1 + b2 - 1) * BigInt(b1 + i) * fact(i) * fact(b1 - 1) * fact(a2 - 1) * fact(b2 - 1);
		total += SCALE * num / den;
	}
	return Number(total * 10n ** 17n / SCALE) / 1e17;
}

/* ---------- chance to beat: the sum in floating point, each term from lgamma ---------- */
function ctbSumTerms(a1, b1, a2, b2) {
	const lb2 = lbeta(a2, b2);
	let terms = [], m = -Infinity;
	for (let i = 0; i < a1; i++) {
		const lt = lbeta(a2 + i, b1 + b2) - Math.log(b1 + i) - lbeta(1 + i, b1) - lb2;
		terms.push(lt);
		if (lt > m) m = lt;
	}
	let s = 0;
	for (const lt of terms) s += Math.exp(lt - m);
	return Math.exp(m) * s;
}
/* P(v > c) with the symmetric form of fewest terms */
function ctbSum(cv, nv, cc, nc) {
	const av = 1 + cv, bv = 1 + nv - cv, ac = 1 + cc, bc = 1 + nc - cc;
	const mn = Math.min(av, bv, ac, bc);
	if (mn === av) return ctbSumTerms(av, bv, ac, bc);
	if (mn === bc) return ctbSumTerms(bc, ac, bv, av);
	if (mn === ac) return 1 - ctbSumTerms(ac, bc, av, bv);
	return 1 - ctbSumTerms(bv, av, bc, ac);
}
function ctbBig(cv, nv, cc, nc) {
	return ctbExactBig(1 + cv, 1 + nv - cv, 1 + cc, 1 + nc - cc);
}

/*
 * ---------- chance to beat: closed forms when one side has a = 1 ----------
 * If Xv ~ Beta(1, bv) then P(Xv > y) = (1 - y)^bv, so
 *   P(v > c) = E[(1 - Xc)^bv] = prod_{j<bv} (bc + j) / (ac + bc + j);
 * if Xc ~ Beta(1, bc) then P(v > c) = 1 - E[(1 - Xv)^bc].
 */
function momentOneMinus(a, b, k) {	/* E[(1 - X)^k], X ~ Beta(a, b), as a log-sum */
	let l = 0;
	for (let j = 0; j < k; j++) l += Math.log1p(-a / (a + b + j));
	return Math.exp(l);
}
function ctbAnalytic(cv, nv, cc, nc) {
	const av = 1 + cv, bv = 1 + nv - cv, ac = 1 + cc, bc = 1 + nc - cc;
	if (av === 1) return momentOneMinus(ac, bc, bv);
	if (ac === 1) return 1 - momentOneMinus(av, bv, bc);
	return NaN;
}

/* ---------- chance to beat: brute-force uniform-grid integration ---------- */
function betaInfo(a, b) {
	const n = a + b, mean = a / n, sd = Math.sqrt(a * b / (n * n * (n + 1)));
	return { a, b, mean, sd, lb: lbeta(a, b) };
}
function logDens(d, x) {
	if (x <= 0 || x >= 1) {
		if (x === 0 && d.a === 1) return -d.lb;
		if (x === 1 && d.b === 1) return -d.lb;
		return -Infinity;
	}
	return (d.a === 1 ? 0 : (d.a - 1) * Math.log(x)) + (d.b === 1 ? 0 : (d.b - 1) * Math.log1p(-x)) - d.lb;
}
function integrateOnce(dv, dc, L, H, M) {
	const h = (H - L) / M;
	let Fc = 0, zv = 0, num = 0;
	let fvp = Math.exp(logDens(dv, L)), fcp = Math.exp(logDens(dc, L));
	for (let k = 1; k <= M; k++) {
		const x = L + k * h;
		const fv = Math.exp(logDens(dv, x)), fc = Math.exp(logDens(dc, x));
		const Fn = Fc + 0.5 * h * (fcp + fc);
		zv += 0.5 * h * (fvp + fv);
		num += 0.5 * h * (fvp * Fc + fv * Fn);
		Fc = Fn; fvp = fv; fcp = fc;
	}
	return { p: num / (zv * Fc), zv, zc: Fc };
}
function ctbIntegrate(cv, nv, cc, nc) {
	const dv = betaInfo(1 + cv, 1 + nv - cv), dc = betaInfo(1 + cc, 1 + nc - cc);
	const R = 25;
	const L = Math.max(0, Math.min(dv.mean - R * dv.sd, dc.mean - R * dc.sd));
	const H = Math.min(1, Math.max(dv.mean + R * dv.sd, dc.mean + R * dc.sd));
	const h = Math.min(dv.sd, dc.sd) / 200;
	const M = Math.ceil((H - L) / h);
	if (M > 4e7) throw new Error('grid too large: ' + M);
	const r1 = integrateOnce(dv, dc, L, H, M), r2 = integrateOnce(dv, dc, L, H, 2 * M);
	return { p: (4 * r2.p - r1.p) / 3, raw: r2.p, zv: r2.zv, zc: r2.zc, M };
}

/* ---------- print ---------- */
const out = (label, v) => console.log(label.padEnd(46) + ' ' + v.toPrecision(17));
const which = process.argv[2] || 'all';

if (which === 'all' || which === 'basic') {
	const Z = 1.959963984540054;
	for (const [c, n] of [[50, 100], [0, 10], [10, 10], [1, 1000], [9990, 10000], [123456, 10000000]]) {
		const [lo, hi] = wilsonBisect(c, n, Z);
		out(`wilson ${c}/${n} low`, lo);
		out(`wilson ${c}/${n} high`, hi);
	}
	for (const t of [[100, 1000, 130, 1000], [200, 1000, 200, 1000], [5000, 100000, 5200, 100000],
		[1, 50, 9, 60], [100000, 1000000, 101000, 1000000], [100, 10000, 180, 10000]])
		out(`ztest ${t.join(',')}`, ztestP(...t));
	out('normal upper tail 1.959963984540054', normalUpper(1.959963984540054));
	out('normal upper tail 5', normalUpper(5));
	for (const [x, df] of [[3.841458820694124, 1], [5.991464547107979, 2], [11.344866730144373, 3],
		[18.307038053275146, 10], [0.5, 1], [0.5, 3], [2.0, 4], [100, 1], [100, 2], [40, 7],
		[1e-8, 1], [15, 5], [30, 30]])
		out(`chisq_sf ${x} ${df}`, chisqSf(x, df));
	/* SRM: chi-square statistic by hand, then the closed-form sf */
	for (const [obs, w] of [[[5000, 5000], [1, 1]], [[5100, 4900], [1, 1]], [[50000, 51000], [1, 1]],
		[[3000, 3100, 2900], [1, 1, 1]], [[2000, 6000, 2100], [1, 3, 1]], [[9950, 10050, 0], [50, 50, 0]],
		[[1000, 2000, 3000, 4100], [0.1, 0.2, 0.3, 0.4]]]) {
		const tot = obs.reduce((s, o) => s + o, 0);
		const ws = w.reduce((s, x) => s + x, 0);
		let chi = 0, k = 0;
		obs.forEach((o, i) => { if (w[i] > 0) { const e = tot * w[i] / ws; chi += (o - e) * (o - e) / e; k++; } });
		out(`srm ${JSON.stringify(obs)} ${JSON.stringify(w)}`, chisqSf(chi, k - 1));
	}
}

if (which === 'all' || which === 'small') {
	for (const t of [[0, 0, 0, 0], [1, 10, 0, 10], [0, 10, 1, 10], [5, 20, 3, 20], [10, 100, 20, 100],
		[30, 50, 20, 40], [0, 5, 5, 5], [0, 0, 5, 10], [3, 3, 0, 0], [100, 1000, 120, 1000],
		[250, 1000, 200, 1000], [700, 1000, 690, 1000], [40, 400, 50, 500]])
		out(`ctb exact ${t.join(',')}`, ctbBig(...t));
}

if (which === 'all' || which === 'large') {
	const cases = [
		/* integration branch in C, checked against the exact sum and integration here */
		[5500, 100000, 5600, 100000],
		[5000, 50000, 5050, 50000],
		[60000, 1000000, 5001, 80000],
		[2000, 20000, 2100, 20000],		/* (exact-sum branch in C) */
		[500, 10000, 520, 10000],		/* (exact-sum branch in C) a typical test */
		[4999, 10000, 5001, 10002],		/* near 0.5 */
		[10000, 1000000, 10200, 1000000],
		[50000, 1000000, 50500, 1000000],
		[100000, 10000000, 100300, 10000000],
		[6000, 100000000, 6500, 100000000],
		[5000000, 100000000, 6200, 120000],
		[500000, 10000000, 500000, 10010000],
		[1000000, 100000000, 1001000, 100000000],
		[5000000, 10000000, 5002000, 10000000],
		[5000001, 10000000, 5000000, 10000000],
		[50000000, 100000000, 50005000, 100000000],
		[99990000, 100000000, 99990300, 100000000],
		/* exact-sum branch in C with huge n */
		[3, 100000000, 10, 100000000],
		[10, 100000000, 3, 100000000],
		[0, 100000000, 1, 100000000],
		[100000000, 100000000, 99999990, 100000000],
		[0, 0, 5, 100000000],
		[0, 100000000, 0, 50000000],
		[0, 1000000, 30, 10000000],
		[5000000, 100000000, 110, 2000],
		[2, 100000000, 0, 1000],
	];
	for (const t of cases) {
		let I = { p: NaN, raw: NaN, zv: NaN, zc: NaN, M: 0 };
		try { I = ctbIntegrate(...t); } catch (e) { /* grid too fine: sum only */ }
		const av = 1 + t[0], bv = 1 + t[1] - t[0], ac = 1 + t[2], bc = 1 + t[3] - t[2];
		const mn = Math.min(av, bv, ac, bc);
		let s = NaN;
		if (mn <= 2e6) s = ctbSum(...t);
		const an = ctbAnalytic(...t);
		console.log(`# ${t.join(',')}: analytic ${an.toPrecision(12)} integ ${I.p.toPrecision(12)} (raw ${I.raw.toPrecision(12)}, zv ${I.zv.toPrecision(10)}, zc ${I.zc.toPrecision(10)}, M ${I.M}) sum ${s.toPrecision(12)} diff ${(I.p - s).toExponential(2)}`);
		/* the Richardson-extrapolated integral is the more precise of the two when available */
		out(`ctb ref ${t.join(',')}`, !isNaN(an) ? an : isNaN(I.p) ? s : I.p);
	}
}
