/*
 * packed_rollup.c
 *		The per-variant assignments of a slot's timeline row, packed into the
 *		row (1.1, issue 22).  A new visitor's statement (assign.c) writes one
 *		row of abtest.experiment_timeline for its experiment, slot and
 *		15-minute bucket instead of that row and one variant_timeline row
 *		per element: the row carries variant_ids (sorted, distinct) and
 *		variant_assignments (the count of each, same positions).  The fold
 *		(settle.c) unpacks them into variant_timeline's settled rows;
 *		abt_timeline_variants (timeline.c) and the view abtest.variant_rollups
 *		read both (SQL: unnest of the two arrays).
 *
 * These two functions are the statement's whole arithmetic on the arrays:
 * given the row's arrays and the sorted ids a visitor adds one to, the ids
 * and the counts afterwards.  An UPDATE's right-hand sides all see the old
 * row, so each computes its array from the same old pair.  A NULL pair (a
 * new row, or a row written before 1.1) is empty.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(abt_variant_ids_add);
PG_FUNCTION_INFO_V1(abt_variant_counts_add);

/* The uuids of an array argument (NULL: none); rejects NULL elements. */
static pg_uuid_t *
uuids_of(FunctionCallInfo fcinfo, int arg, int *n)
{
	ArrayType  *array;
	Datum	   *elements;
	bool	   *nulls;
	pg_uuid_t  *uuids;

	*n = 0;
	if (PG_ARGISNULL(arg))
		return NULL;
	array = PG_GETARG_ARRAYTYPE_P(arg);
	deconstruct_array(array, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elements, &nulls, n);
	uuids = palloc(sizeof(pg_uuid_t) * (*n + 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("variant ids must not be null")));
		uuids[i] = *DatumGetUUIDP(elements[i]);
	}
	return uuids;
}

/*
 * Rejects ids that are not sorted and distinct, the row's as well as the
 * added ones: the merge needs them so, and a row edited by hand must not
 * merge into a wrong count.
 */
static void
check_sorted(pg_uuid_t *ids, int n)
{
	for (int i = 1; i < n; i++)
		if (memcmp(&ids[i - 1], &ids[i], UUID_LEN) >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("variant ids must be sorted and distinct")));
}

/* A row's ids merged with the ids a visitor adds (see merge_ids). */
typedef struct Merged
{
	int			n;				/* ids in the result */
	pg_uuid_t  *ids;			/* the result, sorted */
	int		   *from_old;		/* per result id: its position in the row's, or -1 */
	bool	   *is_added;		/* per result id: whether the visitor adds it */
	int			nold;			/* ids in the row */
} Merged;

/*
 * Merges the row's ids (argument old_arg) and the sorted, distinct ids a
 * visitor adds (added_arg): for each position of the result, which old
 * position it comes from and whether it was added.
 */
static Merged
merge_ids(FunctionCallInfo fcinfo, int old_arg, int added_arg)
{
	Merged		m;
	int			nadded;
	pg_uuid_t  *old = uuids_of(fcinfo, old_arg, &m.nold);
	pg_uuid_t  *added = uuids_of(fcinfo, added_arg, &nadded);
	int			i = 0;
	int			j = 0;

	check_sorted(old, m.nold);
	check_sorted(added, nadded);
	m.ids = palloc(sizeof(pg_uuid_t) * (m.nold + nadded + 1));
	m.from_old = palloc(sizeof(int) * (m.nold + nadded + 1));
	m.is_added = palloc(sizeof(bool) * (m.nold + nadded + 1));
	m.n = 0;
	while (i < m.nold || j < nadded)
	{
		int			c = i >= m.nold ? 1 : j >= nadded ? -1 : memcmp(&old[i], &added[j], UUID_LEN);

		m.ids[m.n] = c <= 0 ? old[i] : added[j];
		m.from_old[m.n] = c <= 0 ? i : -1;
		m.is_added[m.n] = c >= 0;
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		m.n++;
	}
	return m;
}

/*
 * SQL: abtest.variant_ids_add(variant_ids uuid[], added uuid[]) returns
 * uuid[]: the sorted union (added: sorted and distinct).
 */
Datum
abt_variant_ids_add(PG_FUNCTION_ARGS)
{
	Merged		m = merge_ids(fcinfo, 0, 1);
	Datum	   *datums = palloc(sizeof(Datum) * (m.n + 1));

	for (int k = 0; k < m.n; k++)
		datums[k] = UUIDPGetDatum(&m.ids[k]);
	PG_RETURN_ARRAYTYPE_P(construct_array(datums, m.n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
}

/*
 * SQL: abtest.variant_counts_add(variant_ids uuid[], counts bigint[],
 * added uuid[]) returns bigint[]: the counts at the positions of
 * variant_ids_add(variant_ids, added), one more for each added id.
 */
Datum
abt_variant_counts_add(PG_FUNCTION_ARGS)
{
	Merged		m = merge_ids(fcinfo, 0, 2);
	Datum	   *counts = NULL;
	bool	   *count_nulls = NULL;
	int			ncounts = 0;
	Datum	   *datums = palloc(sizeof(Datum) * (m.n + 1));

	if (!PG_ARGISNULL(1))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &counts, &count_nulls, &ncounts);
	if (ncounts != m.nold)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%d counts for %d variant ids", ncounts, m.nold)));
	for (int k = 0; k < m.n; k++)
	{
		int64		count = 0;

		if (m.from_old[k] >= 0)
		{
			if (count_nulls[m.from_old[k]])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("variant counts must not be null")));
			count = DatumGetInt64(counts[m.from_old[k]]);
		}
		if (m.is_added[k] && pg_add_s64_overflow(count, 1, &count))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range")));
		datums[k] = Int64GetDatum(count);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(datums, m.n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}
