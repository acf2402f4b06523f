/*
 * timeline.c
 *		abt_timeline and abt_timeline_variants: assignments and conversions per
 *		time bucket of assigned_at, with zero rows for empty buckets.
 *
 * Buckets are those of the session TimeZone: '1 hour' is exactly
 * date_trunc('hour', assigned_at), '1 day' local calendar days, widths that
 * divide an hour count from the local hour, multi-hour widths from local
 * midnight.  Whenever every bucket boundary falls on the 15-minute UTC grid
 * of the rollups (always, for widths that are multiples of 15 minutes in a
 * zone whose offset is a multiple of 15 minutes: every zone today), the
 * counts come from the rollup rows, so the cost grows with the number of
 * buckets and counter slots, not with traffic; the one partial rollup bucket
 * at the window's start is corrected from the assignments themselves.  Other
 * widths (1, 5, 10 minutes...) count the window's assignments directly.
 *
 * Bounded whoever calls: at most MAX_BUCKETS buckets and, per variant,
 * ABT_MAX_RESULT_ROWS rows (variants x buckets), checked before the counts
 * are allocated; the queries' rows come through a cursor, so a call keeps
 * its counts and FETCH_ROWS rows, whatever the traffic.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/itup.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "access/xact.h"

#include "analytics.h"
#include "checks.h"
#include "citus.h"
#include "pg_compat.h"
#include "relations.h"
#include "rules.h"
#include "spi_plans.h"
#include "version.h"

PG_FUNCTION_INFO_V1(abt_timeline);
PG_FUNCTION_INFO_V1(abt_timeline_variants);
PG_FUNCTION_INFO_V1(abt_timeline_variants_1_1);

/*
 * Longest window, in hours (ten years), and most buckets one call returns;
 * abt_timeline_variants returns them once per variant, and at most
 * ABT_MAX_RESULT_ROWS rows (rules.h) in all.
 */
#define MAX_HOURS	87600
#define MAX_BUCKETS 100000

/* Rows of the timeline's queries fetched at a time (what the call keeps of them). */
#define FETCH_ROWS	1000

typedef enum BucketKind
{
	BUCKET_PART_OF_HOUR,		/* width divides an hour: from the local hour */
	BUCKET_HOURS,				/* whole hours dividing a day: from local midnight */
	BUCKET_DAY					/* local calendar day */
} BucketKind;

typedef struct BucketSpec
{
	BucketKind	kind;
	int64		width;			/* nominal width in microseconds */
	int			hours;			/* BUCKET_HOURS: hours per bucket */
} BucketSpec;

/* One series: the whole experiment, or one variant. */
typedef struct Series
{
	pg_uuid_t	variant_id;
	Datum		element_id;
	Datum		variant_name;
	int64	   *assignments;
	int64	   *conversions;
} Series;

/* The series of a call, and (per variant) where each variant's is. */
typedef struct SeriesSet
{
	Series	   *series;
	int			nseries;
	HTAB	   *by_variant;		/* SeriesEntry by variant id; NULL: one series */
} SeriesSet;

typedef struct SeriesEntry
{
	pg_uuid_t	variant_id;		/* hash key */
	Series	   *series;
} SeriesEntry;

static SPIPlanPtr exists_plan = NULL;
static SPIPlanPtr variants_plan = NULL;
static SPIPlanPtr rollup_plan[3] = {NULL, NULL, NULL};
static SPIPlanPtr direct_plan[2] = {NULL, NULL};
static SPIPlanPtr correction_plan[2] = {NULL, NULL};

static const char *exists_sql =
"SELECT 1 FROM abtest.experiments WHERE id OPERATOR(pg_catalog.=) $1";

static const char *variants_sql =
"SELECT v.id, el.id, v.name"
"  FROM abtest.experiment_elements el"
"  JOIN abtest.element_variants v ON v.element_id OPERATOR(pg_catalog.=) el.id"
" WHERE el.experiment_id OPERATOR(pg_catalog.=) $1"
" ORDER BY el.position, el.id, v.position, v.id";

/*
 * [0]: experiment level, [1]: per variant (1.0), [2]: per variant (1.1: the
 * slot rows packed in experiment_timeline too, packed_rollup.c, as
 * abtest.variant_rollups unites them; read from the two tables, so that a
 * role granted them, as 1.0's documents say, reads it; only slot rows carry
 * packed counts, which the partial index experiment_timeline_unsettled
 * finds); rollups in [$2, $3)
 */
static const char *rollup_sql[3] = {
	"SELECT t.bucket, NULL::pg_catalog.uuid,"
	"       pg_catalog.sum(t.assignments)::pg_catalog.int8,"
	"       pg_catalog.sum(t.conversions)::pg_catalog.int8"
	"  FROM abtest.experiment_timeline t"
	" WHERE t.experiment_id OPERATOR(pg_catalog.=) $1"
	"   AND t.bucket OPERATOR(pg_catalog.>=) $2 AND t.bucket OPERATOR(pg_catalog.<) $3"
	" GROUP BY t.bucket ORDER BY t.bucket",
	"SELECT t.bucket, t.variant_id,"
	"       pg_catalog.sum(t.assignments)::pg_catalog.int8,"
	"       pg_catalog.sum(t.conversions)::pg_catalog.int8"
	"  FROM abtest.variant_timeline t"
	" WHERE t.experiment_id OPERATOR(pg_catalog.=) $1"
	"   AND t.bucket OPERATOR(pg_catalog.>=) $2 AND t.bucket OPERATOR(pg_catalog.<) $3"
	" GROUP BY t.bucket, t.variant_id ORDER BY t.bucket",
	"SELECT r.bucket, r.variant_id,"
	"       pg_catalog.sum(r.assignments)::pg_catalog.int8,"
	"       pg_catalog.sum(r.conversions)::pg_catalog.int8"
	"  FROM (SELECT t.bucket, t.variant_id, t.assignments, t.conversions"
	"          FROM abtest.variant_timeline t"
	"         WHERE t.experiment_id OPERATOR(pg_catalog.=) $1"
	"           AND t.bucket OPERATOR(pg_catalog.>=) $2 AND t.bucket OPERATOR(pg_catalog.<) $3"
	"        UNION ALL"
	"        SELECT t.bucket, p.variant_id, p.assignments, 0"
	"          FROM abtest.experiment_timeline t,"
	"               ROWS FROM (pg_catalog.unnest(t.variant_ids),"
	"                          pg_catalog.unnest(t.variant_assignments)) AS p(variant_id, assignments)"
	"         WHERE t.experiment_id OPERATOR(pg_catalog.=) $1 AND t.slot OPERATOR(pg_catalog.<>) 0"
	"           AND t.bucket OPERATOR(pg_catalog.>=) $2 AND t.bucket OPERATOR(pg_catalog.<) $3) r"
	" GROUP BY r.bucket, r.variant_id ORDER BY r.bucket"
};

/* Assignments themselves in [$2, $3), one row per assignment (and variant). */
static const char *direct_sql[2] = {
	"SELECT a.assigned_at, NULL::pg_catalog.uuid, 1::pg_catalog.int8,"
	"       (a.converted_at IS NOT NULL)::pg_catalog.int4::pg_catalog.int8"
	"  FROM abtest.assignments a"
	" WHERE a.experiment_id OPERATOR(pg_catalog.=) $1"
	"   AND a.assigned_at OPERATOR(pg_catalog.>=) $2 AND a.assigned_at OPERATOR(pg_catalog.<) $3"
	" ORDER BY a.assigned_at",
	"SELECT a.assigned_at, v.value::pg_catalog.uuid, 1::pg_catalog.int8,"
	"       (a.converted_at IS NOT NULL)::pg_catalog.int4::pg_catalog.int8"
	"  FROM abtest.assignments a, pg_catalog.jsonb_each_text(a.variants) AS v"
	" WHERE a.experiment_id OPERATOR(pg_catalog.=) $1"
	"   AND a.assigned_at OPERATOR(pg_catalog.>=) $2 AND a.assigned_at OPERATOR(pg_catalog.<) $3"
	" ORDER BY a.assigned_at"
};

/*
 * The assignments in [$2, $3) for the correction of the window's partial
 * first rollup bucket: never more than 15 minutes, read as two range scans,
 * the unconverted ones through idx_assignments_unconverted and the converted
 * ones through assignments_converted (1.1), both btrees on (experiment_id,
 * assigned_at) whose predicates the two halves repeat.  Each half is one
 * range of one index whatever the heap's order, the table's size or its
 * statistics, and neither index costs a new visitor anything more: the first
 * index was there, and a new visitor's row (converted_at NULL) has no entry
 * in the second, which a first conversion adds (its UPDATE of converted_at
 * was never HOT: the first index's predicate names the column).
 */
static const char *correction_sql[2] = {
	"SELECT a.assigned_at, NULL::pg_catalog.uuid, 1::pg_catalog.int8, 0::pg_catalog.int8"
	"  FROM abtest.assignments a"
	" WHERE a.experiment_id OPERATOR(pg_catalog.=) $1 AND a.converted_at IS NULL"
	"   AND a.assigned_at OPERATOR(pg_catalog.>=) $2 AND a.assigned_at OPERATOR(pg_catalog.<) $3"
	" UNION ALL "
	"SELECT a.assigned_at, NULL::pg_catalog.uuid, 1::pg_catalog.int8, 1::pg_catalog.int8"
	"  FROM abtest.assignments a"
	" WHERE a.experiment_id OPERATOR(pg_catalog.=) $1 AND a.converted_at IS NOT NULL"
	"   AND a.assigned_at OPERATOR(pg_catalog.>=) $2 AND a.assigned_at OPERATOR(pg_catalog.<) $3"
	" ORDER BY 1",
	"SELECT a.assigned_at, v.value::pg_catalog.uuid, 1::pg_catalog.int8, 0::pg_catalog.int8"
	"  FROM abtest.assignments a, pg_catalog.jsonb_each_text(a.variants) AS v"
	" WHERE a.experiment_id OPERATOR(pg_catalog.=) $1 AND a.converted_at IS NULL"
	"   AND a.assigned_at OPERATOR(pg_catalog.>=) $2 AND a.assigned_at OPERATOR(pg_catalog.<) $3"
	" UNION ALL "
	"SELECT a.assigned_at, v.value::pg_catalog.uuid, 1::pg_catalog.int8, 1::pg_catalog.int8"
	"  FROM abtest.assignments a, pg_catalog.jsonb_each_text(a.variants) AS v"
	" WHERE a.experiment_id OPERATOR(pg_catalog.=) $1 AND a.converted_at IS NOT NULL"
	"   AND a.assigned_at OPERATOR(pg_catalog.>=) $2 AND a.assigned_at OPERATOR(pg_catalog.<) $3"
	" ORDER BY 1"
};

/* Validates the bucket width and tells how buckets align. */
static BucketSpec
parse_bucket(Interval *bucket)
{
	BucketSpec	spec;
	int64		t = bucket->time;

	if (bucket->month == 0 && ((bucket->day == 1 && t == 0) ||
							   (bucket->day == 0 && t == USECS_PER_DAY)))
	{
		spec.kind = BUCKET_DAY;
		spec.width = USECS_PER_DAY;
		spec.hours = 24;
		return spec;
	}
	if (bucket->month != 0 || bucket->day != 0 || t < USECS_PER_MINUTE || t > USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket must be between 1 minute and 1 day"),
				 errhint("Use a width such as '15 minutes', '1 hour', '6 hours' or '1 day'.")));
	if (t % USECS_PER_MINUTE != 0 ||
		(t < USECS_PER_HOUR && USECS_PER_HOUR % t != 0) ||
		(t >= USECS_PER_HOUR && (t % USECS_PER_HOUR != 0 || 24 % (t / USECS_PER_HOUR) != 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket must divide an hour or a day into whole minutes"),
				 errdetail("Buckets are aligned to the local hour or to local midnight.")));
	spec.width = t;
	spec.kind = t < USECS_PER_HOUR ? BUCKET_PART_OF_HOUR : BUCKET_HOURS;
	spec.hours = (int) (t / USECS_PER_HOUR);
	return spec;
}

/* date_trunc(unit, ts) in the session TimeZone. */
static TimestampTz
trunc_local(const char *unit, TimestampTz ts)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_trunc,
												   CStringGetTextDatum(unit),
												   TimestampTzGetDatum(ts)));
}

/*
 * The earliest instant at or before ts whose local wall time is *wall (when
 * clocks go back, a wall time happens twice and a bucket starts at the
 * first); when *wall does not exist (clocks went forward), the instant it
 * maps to with the offset before the change.
 */
static TimestampTz
earliest_instant(struct pg_tm *wall, TimestampTz ts, int64 width)
{
	TimestampTz best = DT_NOEND;
	TimestampTz probes[3] = {ts, ts - width, ts - 2 * width};
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	for (int i = 0; i < (int) lengthof(probes); i++)
	{
		TimestampTz candidate;
		struct pg_tm back;

		/* the wall time read with the UTC offset in force at the probe */
		if (timestamp2tm(probes[i], &tz, &tm, &fsec, NULL, NULL) != 0)
			continue;
		back = *wall;
		if (tm2timestamp(&back, 0, &tz, &candidate) != 0 || candidate > ts)
			continue;
		if (timestamp2tm(candidate, &tz, &tm, &fsec, NULL, NULL) == 0 &&
			tm.tm_mday == wall->tm_mday && tm.tm_hour == wall->tm_hour &&
			tm.tm_min == wall->tm_min && candidate < best)
			best = candidate;
	}
	if (best == DT_NOEND)
	{
		tm = *wall;
		tz = DetermineTimeZoneOffset(&tm, session_timezone);
		if (tm2timestamp(&tm, 0, &tz, &best) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
	}
	return best;
}

/* The start of the bucket holding ts. */
static TimestampTz
bucket_start(BucketSpec *spec, TimestampTz ts)
{
	TimestampTz hour;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	switch (spec->kind)
	{
		case BUCKET_DAY:
			return trunc_local("day", ts);
		case BUCKET_PART_OF_HOUR:
			hour = trunc_local("hour", ts);
			return hour + ((ts - hour) / spec->width) * spec->width;
		case BUCKET_HOURS:
			/* date_trunc's hours: the hour repeated when clocks go back is two */
			if (spec->hours == 1)
				return trunc_local("hour", ts);
			/* on the local wall clock, so that daylight saving days stay on the grid */
			if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, NULL) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("timestamp out of range")));
			tm.tm_hour -= tm.tm_hour % spec->hours;
			tm.tm_min = 0;
			tm.tm_sec = 0;
			return earliest_instant(&tm, ts, spec->width);
	}
	return ts;					/* keep compiler quiet */
}

/*
 * The buckets from the one holding `from` to the one holding `to`; *end is
 * where the last one ends.
 */
static TimestampTz *
bucket_series(BucketSpec *spec, TimestampTz from, TimestampTz to, int *nbuckets,
			  TimestampTz *end)
{
	int			capacity = 64;
	int			n = 0;
	TimestampTz *starts = palloc(sizeof(TimestampTz) * capacity);
	TimestampTz b = bucket_start(spec, from);

	while (b <= to)
	{
		int64		step = spec->width;
		TimestampTz next;

		CHECK_FOR_INTERRUPTS();
		if (n == MAX_BUCKETS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeline would have more than %d buckets", MAX_BUCKETS),
					 errhint("Use a wider bucket or fewer hours.")));
		if (n == capacity)
		{
			capacity *= 2;
			starts = repalloc(starts, sizeof(TimestampTz) * capacity);
		}
		starts[n++] = b;
		/* a daylight saving change can make a local bucket longer */
		while ((next = bucket_start(spec, b + step)) <= b)
			step += ABT_ROLLUP_BUCKET_USECS;
		b = next;
	}
	*nbuckets = n;
	*end = b;
	return starts;
}

/* Whether every bucket boundary lies on the rollups' 15-minute UTC grid. */
static bool
rollups_fit(BucketSpec *spec, TimestampTz *starts, int nbuckets)
{
	if (spec->width % ABT_ROLLUP_BUCKET_USECS != 0)
		return false;
	for (int i = 0; i < nbuckets; i++)
		if (starts[i] % ABT_ROLLUP_BUCKET_USECS != 0)
			return false;
	return true;
}

/* The series of a variant, or NULL for one not (or no longer) configured. */
static Series *
variant_series(SeriesSet *set, pg_uuid_t *variant_id)
{
	SeriesEntry *entry = hash_search(set->by_variant, variant_id, HASH_FIND, NULL);

	return entry ? entry->series : NULL;
}

/* Finds the series of a row's variant (column 2), or NULL. */
static Series *
find_series(SeriesSet *set, HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	Datum		d;

	if (set->by_variant == NULL)
		return &set->series[0];
	d = SPI_getbinval(tuple, desc, 2, &isnull);
	if (isnull)
		return NULL;
	return variant_series(set, DatumGetUUIDP(d));
}

/*
 * Adds (sign = +1) or subtracts (-1) rows of (time, variant, assignments,
 * conversions), ordered by time, into the buckets holding their times.  The
 * rows come through a cursor, FETCH_ROWS at a time: the direct query reads
 * one row per assignment of the window, however many.
 */
static void
accumulate(SPIPlanPtr plan, pg_uuid_t *experiment_id, TimestampTz from, TimestampTz to,
		   TimestampTz *starts, int nbuckets, SeriesSet *set, int sign)
{
	Datum		args[3];
	Portal		portal;
	int			b = 0;

	args[0] = UUIDPGetDatum(experiment_id);
	args[1] = TimestampTzGetDatum(from);
	args[2] = TimestampTzGetDatum(to);
	portal = SPI_cursor_open(NULL, plan, args, NULL, true);
	if (portal == NULL)
		elog(ERROR, "reading timeline rows: SPI_cursor_open failed: %s",
			 SPI_result_code_string(SPI_result));
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			TimestampTz ts = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 1, &isnull));
			Series	   *s;

			CHECK_FOR_INTERRUPTS();
			if (ts < starts[0])
				continue;
			while (b + 1 < nbuckets && starts[b + 1] <= ts)
				b++;
			s = find_series(set, tuple, desc);
			if (s == NULL)
				continue;
			s->assignments[b] += sign * DatumGetInt64(SPI_getbinval(tuple, desc, 3, &isnull));
			s->conversions[b] += sign * DatumGetInt64(SPI_getbinval(tuple, desc, 4, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_cursor_close(portal);
}

/* The series of the variant whose id is the text `id`, or NULL. */
static Series *
find_series_text(SeriesSet *set, const char *id, int len)
{
	char		buf[ABT_UUID_TEXT_LEN];

	if (len != ABT_UUID_TEXT_LEN - 1)
		return NULL;
	memcpy(buf, id, len);
	buf[len] = '\0';
	return variant_series(set, DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(buf))));
}

/*
 * Whether the index's predicate is exactly "converted_at IS NOT NULL"
 * (converted) or "converted_at IS NULL": only then does an index entry say
 * which count its row belongs to without the heap.
 */
static bool
predicate_is_null_test(Relation index, AttrNumber converted_att, bool converted)
{
	List	   *predicate = RelationGetIndexPredicate(index);
	NullTest   *test;
	Var		   *var;

	if (list_length(predicate) != 1 || !IsA(linitial(predicate), NullTest))
		return false;
	test = (NullTest *) linitial(predicate);
	if (!IsA(test->arg, Var) || test->argisrow ||
		test->nulltesttype != (converted ? IS_NOT_NULL : IS_NULL))
		return false;
	var = (Var *) test->arg;
	return var->varattno == converted_att;
}

/*
 * The next assignment of an index scan of correct_from_indexes that counts,
 * its assigned_at in *ts.  Index-only: the index entry gives assigned_at
 * where the visibility map says its heap page is all-visible (then the
 * entry's row is visible to every snapshot, and its converted_at meets the
 * index's predicate); elsewhere the heap row is fetched and, like every row
 * of a heap read, counts only if its converted_at meets the scan's
 * condition (converted: NOT NULL).
 */
static bool
next_assignment(IndexScanDesc scan, TupleTableSlot *slot, bool index_only, Buffer *vm_buffer,
				AttrNumber assigned_att, AttrNumber converted_att, bool converted, TimestampTz *ts)
{
	ItemPointer tid;

	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (index_only && !scan->xs_recheck &&
			VM_ALL_VISIBLE(scan->heapRelation, ItemPointerGetBlockNumber(tid), vm_buffer))
		{
			/* assigned_at is the index's second key column */
			*ts = DatumGetTimestampTz(index_getattr(scan->xs_itup, 2, scan->xs_itupdesc, &isnull));
			return true;
		}
		if (!index_fetch_heap(scan, slot))
			continue;
		(void) slot_getattr(slot, converted_att, &isnull);
		if (isnull == converted)
			continue;
		*ts = DatumGetTimestampTz(slot_getattr(slot, assigned_att, &isnull));
		return true;
	}
	return false;
}

/*
 * Adds (sign = +1) or subtracts (-1) the assignments in [from, to) to or
 * from the buckets holding them,
 * reading the two partial btrees on assignments (experiment_id,
 * assigned_at) directly: idx_assignments_unconverted (converted_at IS NULL)
 * and assignments_converted (IS NOT NULL, 1.1).  Each is one index range,
 * so the cost depends neither on the heap's order nor on the table's size,
 * nor, unlike a query, on what the planner believes of the table (before
 * its first ANALYZE it believes an extension's table empty, and picks the
 * primary key: every assignment of the experiment).  A row counts only in
 * the scan whose condition its converted_at meets.  Returns false, having
 * read nothing, where this does not apply: an index missing (a database at
 * 1.0), of another shape or not valid, or a caller under row-level security or without
 * SELECT on assignments (the query then applies the policies).
 */
static bool
correct_from_indexes(pg_uuid_t *experiment_id, TimestampTz from, TimestampTz to,
					 TimestampTz *starts, int nbuckets, SeriesSet *set, int sign)
{
	Oid			heap_oid = abt_relation(ABT_REL_ASSIGNMENTS);
	Oid			index_oids[2];
	Relation	heap;
	AttrNumber	key[2];			/* experiment_id, assigned_at: both indexes' */
	AttrNumber	converted_att;
	AttrNumber	variants_att;
	Relation	indexes[2];
	Buffer		vm_buffer = InvalidBuffer;

	/*
	 * The experiment's series needs only assigned_at, which both indexes
	 * hold: read them index-only, as an index-only scan does (a heap fetch
	 * only where a page is not all-visible), so that the part's cost is that
	 * of its index entries, not of as many random heap pages.  A
	 * serializable transaction reads the heap (no predicate locks here).
	 */
	bool		per_variant = set->by_variant != NULL;
	bool		index_only = !per_variant && !IsolationIsSerializable();

	index_oids[0] = abt_relation(ABT_REL_ASSIGNMENTS_UNCONVERTED);
	index_oids[1] = abt_relation(ABT_REL_ASSIGNMENTS_CONVERTED);
	if (!OidIsValid(heap_oid) || !OidIsValid(index_oids[0]) || !OidIsValid(index_oids[1]))
		return false;
	if (abt_on_citus() ||
		pg_class_aclcheck(heap_oid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(heap_oid, InvalidOid, true) == RLS_ENABLED)
		return false;
	key[0] = get_attnum(heap_oid, "experiment_id");
	key[1] = get_attnum(heap_oid, "assigned_at");
	converted_att = get_attnum(heap_oid, "converted_at");
	variants_att = get_attnum(heap_oid, "variants");

	heap = table_open(heap_oid, AccessShareLock);
	for (int k = 0; k < 2; k++)
		indexes[k] = index_open(index_oids[k], AccessShareLock);

	/*
	 * Both (experiment_id, assigned_at [DESC]) btrees, complete (not left
	 * invalid by a failed CREATE INDEX CONCURRENTLY), or the query does it
	 */
	for (int k = 0; k < 2; k++)
	{
		if (!abt_index_has_shape(indexes[k], heap_oid, 2, key, false))
		{
			for (int j = 0; j < 2; j++)
				index_close(indexes[j], AccessShareLock);
			table_close(heap, AccessShareLock);
			return false;
		}
	}

	for (int k = 0; k < 2; k++)
	{
		Relation	index = indexes[k];
		bool		converted = (k == 1);
		ScanKeyData keys[3];
		IndexScanDesc scan;
		TupleTableSlot *slot;
		TimestampTz ts;
		bool		entries_suffice;

		ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(experiment_id));
		ScanKeyInit(&keys[1], 2, BTGreaterEqualStrategyNumber, F_TIMESTAMPTZ_GE,
					TimestampTzGetDatum(from));
		ScanKeyInit(&keys[2], 2, BTLessStrategyNumber, F_TIMESTAMPTZ_LT, TimestampTzGetDatum(to));
		entries_suffice = index_only && predicate_is_null_test(index, converted_att, converted);
		scan = abt_index_beginscan(heap, index, GetActiveSnapshot(), 3, 0);
		scan->xs_want_itup = entries_suffice;	/* before the rescan: btree reads it there */
		index_rescan(scan, keys, 3, NULL, 0);
		slot = table_slot_create(heap, NULL);
		while (next_assignment(scan, slot, entries_suffice, &vm_buffer, key[1],
							   converted_att, converted, &ts))
		{
			int			b = 0;

			if (ts < starts[0])
				continue;
			while (b + 1 < nbuckets && starts[b + 1] <= ts)
				b++;
			if (!per_variant)
			{
				set->series[0].assignments[b] += sign;
				set->series[0].conversions[b] += converted ? sign : 0;
				continue;
			}
			{
				bool		isnull;
				Jsonb	   *map = DatumGetJsonbP(slot_getattr(slot, variants_att, &isnull));
				JsonbIterator *it = JsonbIteratorInit(&map->root);
				JsonbValue	v;
				JsonbIteratorToken token;

				while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
				{
					Series	   *s;

					if (token != WJB_VALUE || v.type != jbvString)
						continue;
					s = find_series_text(set, v.val.string.val, v.val.string.len);
					if (s == NULL)
						continue;
					s->assignments[b] += sign;
					s->conversions[b] += converted ? sign : 0;
				}
			}
		}
		ExecDropSingleTupleTableSlot(slot);
		index_endscan(scan);
		index_close(index, AccessShareLock);
	}
	if (BufferIsValid(vm_buffer))
		ReleaseBuffer(vm_buffer);
	table_close(heap, AccessShareLock);
	return true;
}

/*
 * Rejects a timeline of more than ABT_MAX_RESULT_ROWS rows, before its
 * series are allocated: the bucket cap, counting variants times buckets.
 */
static void
check_rows(int nseries, int nbuckets)
{
	int64		rows = (int64) nseries * nbuckets;

	if (rows > ABT_MAX_RESULT_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeline would have more than %d rows", ABT_MAX_RESULT_ROWS),
				 errdetail("The experiment has %d variants and the window %d buckets: %lld rows, one per variant and bucket.",
						   nseries, nbuckets, (long long) rows),
				 errhint("Use a wider bucket or fewer hours.")));
}

/*
 * Loads the series into *set: one for the experiment, or one per configured
 * variant, each with nbuckets zero counts.
 */
static void
load_series(pg_uuid_t *experiment_id, bool per_variant, int nbuckets, SeriesSet *set)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1];
	int			rc;
	Series	   *series;
	int			n;

	args[0] = UUIDPGetDatum(experiment_id);
	rc = SPI_execute_plan(abt_plan(&exists_plan, exists_sql, 1, argtypes), args, NULL, true, 1);
	abt_check_spi(rc, SPI_OK_SELECT, "looking up an experiment");
	if (SPI_processed == 0)
		abt_report_unknown_experiment(experiment_id);
	if (!per_variant)
		n = 1;
	else
	{
		rc = SPI_execute_plan(abt_plan(&variants_plan, variants_sql, 1, argtypes), args, NULL, true, 0);
		abt_check_spi(rc, SPI_OK_SELECT, "reading an experiment's variants");
		n = (int) SPI_processed;
	}
	check_rows(n, nbuckets);
	series = palloc0(sizeof(Series) * (n + 1));
	set->by_variant = per_variant ?
		abt_call_hash("abt_timeline_variants series", sizeof(pg_uuid_t), sizeof(SeriesEntry), n) :
		NULL;
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		series[i].assignments = palloc0(sizeof(int64) * nbuckets);
		series[i].conversions = palloc0(sizeof(int64) * nbuckets);
		if (per_variant)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			memcpy(&series[i].variant_id,
				   DatumGetUUIDP(SPI_getbinval(tuple, desc, 1, &isnull)), UUID_LEN);
			series[i].element_id = SPI_getbinval(tuple, desc, 2, &isnull);
			series[i].variant_name = SPI_getbinval(tuple, desc, 3, &isnull);
			((SeriesEntry *) hash_search(set->by_variant, &series[i].variant_id,
										 HASH_ENTER, NULL))->series = &series[i];
		}
	}
	set->series = series;
	set->nseries = n;
}

/* The common body of abt_timeline and abt_timeline_variants. */
static Datum
timeline(FunctionCallInfo fcinfo, bool per_variant, AbtVersion api_version)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[3] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	pg_uuid_t  *experiment_id;
	int32		hours;
	BucketSpec	spec;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TimestampTz from;
	TimestampTz end;
	TimestampTz *starts;
	int			nbuckets;
	SeriesSet	set;
	int			kind = per_variant ? 1 : 0;
	int			rollup_kind = per_variant && api_version >= ABT_VERSION_1_1 ? 2 : kind;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("experiment id, hours and bucket must not be null")));
	experiment_id = PG_GETARG_UUID_P(0);
	hours = PG_GETARG_INT32(1);
	if (hours <= 0 || hours > MAX_HOURS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hours must be between 1 and %d", MAX_HOURS)));
	spec = parse_bucket(PG_GETARG_INTERVAL_P(2));
	InitMaterializedSRF(fcinfo, 0);

	from = now - (int64) hours * USECS_PER_HOUR;
	starts = bucket_series(&spec, from, now, &nbuckets, &end);

	SPI_connect();
	load_series(experiment_id, per_variant, nbuckets, &set);
	if (rollups_fit(&spec, starts, nbuckets))
	{
		TimestampTz first_rollup = abt_rollup_bucket(from);
		TimestampTz rollups_from = first_rollup;
		TimestampTz part_from = first_rollup;
		TimestampTz part_to = from;
		int			sign = -1;

		/*
		 * The seed's query starts at `from` exactly: drop the partial first
		 * rollup's part before it, or, when that is the larger part, read
		 * the rollups from the next one and count the part after `from`
		 * itself: at most 7.5 minutes of assignments either way.
		 */
		if (from - first_rollup > ABT_ROLLUP_BUCKET_USECS / 2)
		{
			rollups_from = first_rollup + ABT_ROLLUP_BUCKET_USECS;
			part_from = from;
			part_to = rollups_from;
			sign = 1;
		}

		/*
		 * to the end of the last bucket: a READ COMMITTED reader sees rows
		 * committed after its now(), which the seed's query counts too
		 */
		accumulate(abt_plan(&rollup_plan[rollup_kind], rollup_sql[rollup_kind], 3, argtypes),
				   experiment_id,
				   rollups_from, end, starts, nbuckets, &set, 1);
		if (part_from < part_to &&
			!correct_from_indexes(experiment_id, part_from, part_to, starts, nbuckets, &set, sign))
			accumulate(abt_plan(&correction_plan[kind], correction_sql[kind], 3, argtypes),
					   experiment_id, part_from, part_to, starts, nbuckets, &set, sign);
	}
	else
		accumulate(abt_plan_custom(&direct_plan[kind], direct_sql[kind], 3, argtypes), experiment_id,
				   from, end, starts, nbuckets, &set, 1);

	for (int b = 0; b < nbuckets; b++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int s = 0; s < set.nseries; s++)
		{
			Series	   *series = &set.series[s];
			Datum		values[7];
			bool		nulls[7] = {false, false, false, false, false, false, false};
			int			c = 0;
			int64		a = series->assignments[b];
			int64		v = series->conversions[b];

			values[c++] = TimestampTzGetDatum(starts[b]);
			if (per_variant)
			{
				values[c++] = series->element_id;
				values[c++] = UUIDPGetDatum(&series->variant_id);
				values[c++] = series->variant_name;
			}
			values[c++] = Int64GetDatum(a);
			values[c++] = Int64GetDatum(v);
			values[c] = Float8GetDatum(a > 0 ? (double) v / (double) a : 0.0);
			nulls[c++] = (a == 0);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * SQL: abt_timeline(experiment_id uuid, hours int, bucket interval) returns
 * table (bucket, assignments, conversions, conversion_rate).
 */
Datum
abt_timeline(PG_FUNCTION_ARGS)
{
	return timeline(fcinfo, false, ABT_VERSION_1_0);
}

/*
 * SQL: abt_timeline_variants(experiment_id uuid, hours int, bucket interval)
 * returns table (bucket, element_id, variant_id, variant_name, assignments,
 * conversions, conversion_rate): the same buckets, one series per variant.
 */
Datum
abt_timeline_variants(PG_FUNCTION_ARGS)
{
	return timeline(fcinfo, true, ABT_VERSION_1_0);
}

/* 1.1's: its rollups include the slot rows packed in experiment_timeline. */
Datum
abt_timeline_variants_1_1(PG_FUNCTION_ARGS)
{
	return timeline(fcinfo, true, ABT_VERSION_1_1);
}
