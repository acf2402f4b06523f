/*
 * growthbook.c
 *		GrowthBook-compatible hashing (hash version 2), coverage and
 *		bucketing: everything that decides which variant a visitor sees,
 *		given the configuration.  A leaf: it reads no table.
 *
 * GrowthBook's SDKs hash JavaScript strings, i.e. UTF-16 code units, with
 * 32-bit FNV-1a.  To give a visitor the same bucket as a GrowthBook SDK, the
 * server-encoded text is decoded to code points and fed to FNV-1a as UTF-16
 * units (surrogate pairs for code points above U+FFFF).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "experiment_config.h"
#include "growthbook.h"

#define FNV32_OFFSET_BASIS	((uint32) 2166136261U)
#define FNV32_PRIME			((uint32) 16777619U)

PG_FUNCTION_INFO_V1(abt_gbhash_sql);
PG_FUNCTION_INFO_V1(abt_in_namespace_sql);

/* Feeds one UTF-16 code unit into an FNV-1a state. */
static inline uint32
fnv1a_unit(uint32 hash, uint32 unit)
{
	return (hash ^ unit) * FNV32_PRIME;
}

/* Feeds UTF-8 bytes, as UTF-16 code units, into an FNV-1a state. */
static uint32
fnv1a_utf8(uint32 hash, const unsigned char *s, int len)
{
	const unsigned char *end = s + len;

	while (s < end)
	{
		pg_wchar	cp;
		int			n = pg_utf_mblen(s);

		if (n > end - s || !pg_utf8_islegal(s, n))
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 in hashed text")));
		cp = utf8_to_unicode(s);
		s += n;
		if (cp > 0xFFFF)
		{
			cp -= 0x10000;
			hash = fnv1a_unit(hash, 0xD800 + (cp >> 10));
			hash = fnv1a_unit(hash, 0xDC00 + (cp & 0x3FF));
		}
		else
			hash = fnv1a_unit(hash, cp);
	}
	return hash;
}

/* Feeds server-encoded text, as UTF-16 code units, into an FNV-1a state. */
static uint32
fnv1a_text(uint32 hash, const char *s, int len)
{
	char	   *utf8;
	uint32		result;

	if (GetDatabaseEncoding() == PG_UTF8)
		return fnv1a_utf8(hash, (const unsigned char *) s, len);
	if (GetDatabaseEncoding() == PG_SQL_ASCII)
	{
		/* no declared encoding: each byte is one code unit */
		for (int i = 0; i < len; i++)
			hash = fnv1a_unit(hash, (unsigned char) s[i]);
		return hash;
	}
	utf8 = (char *) pg_do_encoding_conversion((unsigned char *) s, len,
											  GetDatabaseEncoding(), PG_UTF8);
	result = fnv1a_utf8(hash, (unsigned char *) utf8, strlen(utf8));
	if (utf8 != s)
		pfree(utf8);
	return result;
}

/*
 * GrowthBook hash v2: (fnv1a32(decimal(fnv1a32(seed || id))) % 10000) / 10000,
 * a number in [0, 0.9999] with four decimals.
 */
double
abt_gbhash(const char *seed, int seed_len, const char *id, int id_len)
{
	uint32		inner;
	uint32		outer;
	char		digits[16];
	int			ndigits;

	inner = fnv1a_text(FNV32_OFFSET_BASIS, seed, seed_len);
	inner = fnv1a_text(inner, id, id_len);
	ndigits = snprintf(digits, sizeof(digits), "%u", inner);
	outer = FNV32_OFFSET_BASIS;
	for (int i = 0; i < ndigits; i++)
		outer = fnv1a_unit(outer, (unsigned char) digits[i]);
	return (double) (outer % 10000) / 10000.0;
}

/*
 * GrowthBook hash v1: (fnv1a32(id || seed) % 1000) / 1000, a number in
 * [0, 0.999] with three decimals (the id comes first, unlike v2).
 */
double
abt_gbhash_v1(const char *seed, int seed_len, const char *id, int id_len)
{
	uint32		h;

	h = fnv1a_text(FNV32_OFFSET_BASIS, id, id_len);
	h = fnv1a_text(h, seed, seed_len);
	return (double) (h % 1000) / 1000.0;
}

/*
 * GrowthBook's inNamespace(visitor, [namespace, start, end]): hash v1 of the
 * visitor with the seed "__" || namespace falls in [start, end).
 */
bool
abt_in_namespace(const char *namespace, int namespace_len, const char *id, int id_len,
				 double range_start, double range_end)
{
	char	   *seed = palloc(namespace_len + 3);
	double		n;

	seed[0] = '_';
	seed[1] = '_';
	memcpy(seed + 2, namespace, namespace_len);
	seed[namespace_len + 2] = '\0';
	n = abt_gbhash_v1(seed, namespace_len + 2, id, id_len);
	pfree(seed);
	return n >= range_start && n < range_end;
}

/* GrowthBook's isIncludedInRollout: coverage 0 enrols no one, else hash <= coverage. */
bool
abt_in_coverage(double hash, double coverage)
{
	if (coverage <= 0.0)
		return false;
	return hash <= coverage;
}

/*
 * Sets each variant's bucket range as GrowthBook's getBucketRanges(n, 1,
 * weights) does with the weights normalised to sum 1 (w / sum, summed in
 * order, so that weights that already sum to 1 give GrowthBook's ranges to
 * the last bit), or records why the element can't bucket anyone.
 */
void
abt_set_bucket_ranges(AbtElement *element, double *weights)
{
	double		largest = 0.0;
	double		total = 0.0;
	double		cumulative = 0.0;

	if (element->nvariants == 0)
	{
		element->problem = "has no variants";
		return;
	}
	for (int i = 0; i < element->nvariants; i++)
	{
		largest = Max(largest, weights[i]);
		total += weights[i];
	}
	if (!(largest > 0.0))
	{
		element->problem = "has only variants of weight 0";
		return;
	}
	/* a sum of huge finite weights can overflow: scale by the largest first */
	if (isinf(total))
	{
		total = 0.0;
		for (int i = 0; i < element->nvariants; i++)
		{
			weights[i] /= largest;
			total += weights[i];
		}
	}
	for (int i = 0; i < element->nvariants; i++)
	{
		double		w = weights[i] / total;

		element->variants[i].range_start = cumulative;
		cumulative += w;
		element->variants[i].range_end = element->variants[i].range_start + w;
	}
}

/*
 * GrowthBook's chooseVariation(gbhash(element seed, visitor), ranges): the
 * index of the variant whose range holds the visitor's hash.
 */
int
abt_choose_variant(AbtElement *element, const char *user_id, int user_id_len)
{
	double		n = abt_gbhash(element->seed, strlen(element->seed), user_id, user_id_len);
	int			last_positive = -1;

	Assert(element->problem == NULL);
	for (int i = 0; i < element->nvariants; i++)
	{
		AbtVariant *v = &element->variants[i];

		if (n >= v->range_start && n < v->range_end)
			return i;
		if (v->range_end > v->range_start)
			last_positive = i;
	}
	/* only rounding can leave the top of [0, 1) uncovered: it is the last range's */
	return last_positive;
}

/* SQL: abt_gbhash(seed text, id text) returns the GrowthBook v2 hash. */
Datum
abt_gbhash_sql(PG_FUNCTION_ARGS)
{
	text	   *seed = PG_GETARG_TEXT_PP(0);
	text	   *id = PG_GETARG_TEXT_PP(1);

	PG_RETURN_FLOAT8(abt_gbhash(VARDATA_ANY(seed), VARSIZE_ANY_EXHDR(seed),
								VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id)));
}

/*
 * SQL: abtest.in_namespace(user_id text, namespace text, range_start float8,
 * range_end float8) returns whether the visitor is in that namespace range.
 */
Datum
abt_in_namespace_sql(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);
	text	   *namespace = PG_GETARG_TEXT_PP(1);

	PG_RETURN_BOOL(abt_in_namespace(VARDATA_ANY(namespace), VARSIZE_ANY_EXHDR(namespace),
									VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id),
									PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3)));
}
