/*
 * tap.h
 *		TAP output for abtest's C unit tests (test/unit/NAME_test.c): results
 *		are recorded as the checks run and printed after the plan by
 *		tap_finish(), which main() returns.  Included once per test program,
 *		so everything here is static (and may go unused in one of them).
 */
#ifndef ABTEST_UNIT_TAP_H
#define ABTEST_UNIT_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define TAP_HELPER static __attribute__((unused))

#define MAX_TESTS 512
#define MAX_LINE 256
#define MAX_NOTES 64

/* One recorded TAP result line (printed after the plan). */
typedef struct TestResult
{
	bool		ok;
	char		desc[MAX_LINE];
	char		diag[MAX_LINE];
} TestResult;

static TestResult results[MAX_TESTS];
static int	ntests = 0;
static char notes[MAX_NOTES][MAX_LINE];
static int	nnotes = 0;

/* Record a test result with a printf-style description. */
TAP_HELPER void
record(bool ok, const char *diag, const char *fmt,...)
{
	va_list		ap;
	TestResult *r;

	if (ntests >= MAX_TESTS)
		return;
	r = &results[ntests++];
	r->ok = ok;
	va_start(ap, fmt);
	vsnprintf(r->desc, sizeof(r->desc), fmt, ap);
	va_end(ap);
	snprintf(r->diag, sizeof(r->diag), "%s", diag ? diag : "");
}

/* Record a TAP comment printed after the results. */
TAP_HELPER void
note(const char *fmt,...)
{
	va_list		ap;

	if (nnotes >= MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(notes[nnotes++], MAX_LINE, fmt, ap);
	va_end(ap);
}

/* True when |got - want| <= tol (NAN matches NAN only, infinities match exactly). */
TAP_HELPER bool
close_enough(double got, double want, double tol)
{
	if (isnan(want))
		return isnan(got);
	if (isinf(want))
		return got == want;
	return !isnan(got) && fabs(got - want) <= tol;
}

/* Check |got - want| <= tol (NAN matches NAN only); returns the error. */
TAP_HELPER double
check_close(const char *name, double got, double want, double tol)
{
	char		diag[MAX_LINE];
	bool		ok = close_enough(got, want, tol);

	snprintf(diag, sizeof(diag), "got %.17g, want %.17g, tol %g", got, want, tol);
	record(ok, diag, "%s", name);
	if (isnan(want) || isinf(want))
		return ok ? 0.0 : INFINITY;
	return isnan(got) ? INFINITY : fabs(got - want);
}

/* Check got against want with a relative tolerance (for tiny tails). */
TAP_HELPER void
check_rel(const char *name, double got, double want, double rtol)
{
	check_close(name, got, want, fabs(want) * rtol);
}

/* Check a boolean condition. */
TAP_HELPER void
check_true(const char *name, bool cond, const char *diag)
{
	record(cond, diag, "%s", name);
}

/* Print the plan, the results and the notes; the program's exit status. */
TAP_HELPER int
tap_finish(void)
{
	int			failed = 0;

	printf("1..%d\n", ntests);
	for (int i = 0; i < ntests; i++)
	{
		printf("%sok %d - %s\n", results[i].ok ? "" : "not ", i + 1, results[i].desc);
		if (!results[i].ok)
		{
			printf("#   %s\n", results[i].diag);
			failed++;
		}
	}
	for (int i = 0; i < nnotes; i++)
		printf("# %s\n", notes[i]);
	if (failed)
		printf("# %d of %d tests failed\n", failed, ntests);
	return failed ? 1 : 0;
}

#endif							/* ABTEST_UNIT_TAP_H */
