/*
 * stats.c
 *		abt_variant_stats: per-variant results of a dashboard page of
 *		experiments in one call, from the live striped counters.
 *
 * One SPI query reads the configuration of every requested experiment and
 * sums all their counter rows in one pass; the statistics (stats_math.c) are
 * computed per element against its control variant.  Cost grows with the number of
 * variants and counter slots, never with the number of assignments.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "abtest.h"
#include "stats_math.h"

PG_FUNCTION_INFO_V1(abt_variant_stats);

#define STATS_COLUMNS 19

static SPIPlanPtr stats_plan = NULL;

/*
 * Experiments in the order first given (unknown ids too: their rows come back
 * with a NULL status), then elements and variants by position.
 */
static const char *stats_sql =
"WITH ids AS ("
"  SELECT u.id, pg_catalog.min(u.ord) AS ord"
"    FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(id, ord)"
"   GROUP BY u.id),"
" counts AS ("
"  SELECT vc.experiment_id, vc.variant_id,"
"         pg_catalog.sum(vc.allocations)::pg_catalog.int8 AS allocations,"
"         pg_catalog.sum(vc.conversions)::pg_catalog.int8 AS conversions"
"    FROM abtest.variant_counters vc"
"   WHERE vc.experiment_id OPERATOR(pg_catalog.=) ANY ($1)"
"   GROUP BY vc.experiment_id, vc.variant_id)"
"SELECT ids.id, e.status, el.id, el.name, el.selector,"
"       v.id, v.name, v.is_control, v.weight, v.position,"
"       COALESCE(c.allocations, 0), COALESCE(c.conversions, 0)"
"  FROM ids"
"  LEFT JOIN abtest.experiments e ON e.id OPERATOR(pg_catalog.=) ids.id"
"  LEFT JOIN abtest.experiment_elements el ON el.experiment_id OPERATOR(pg_catalog.=) e.id"
"  LEFT JOIN abtest.element_variants v ON v.element_id OPERATOR(pg_catalog.=) el.id"
"  LEFT JOIN counts c ON c.experiment_id OPERATOR(pg_catalog.=) e.id"
"                    AND c.variant_id OPERATOR(pg_catalog.=) v.id"
" ORDER BY ids.ord, el.position, el.id, v.position, v.id";

/* One variant row as read, and the statistics computed for it. */
typedef struct StatsRow
{
	HeapTuple	tuple;
	bool		has_variant;
	bool		is_control;
	double		weight;
	int64		allocations;
	int64		conversions;
} StatsRow;

/* Emits the rows of one element (rows[first..last)), with its statistics. */
static void
emit_element(ReturnSetInfo *rsinfo, TupleDesc spidesc, StatsRow *rows, int first, int last)
{
	int			n = last - first;
	int64	   *observed = palloc(sizeof(int64) * (n + 1));
	double	   *weights = palloc(sizeof(double) * (n + 1));
	double		weight_sum = 0.0;
	double		srm = NAN;
	StatsRow   *control = NULL;

	for (int i = 0; i < n; i++)
	{
		StatsRow   *r = &rows[first + i];

		observed[i] = r->allocations;
		weights[i] = r->weight;
		weight_sum += r->weight;
		if (r->has_variant && r->is_control)
			control = r;
	}
	/* with every weight 0 there is no allocation to compare against */
	if (n >= 2 && rows[first].has_variant && weight_sum > 0.0)
		srm = abt_stats_srm_p(observed, weights, n);

	for (int i = first; i < last; i++)
	{
		StatsRow   *r = &rows[i];
		Datum		values[STATS_COLUMNS];
		bool		nulls[STATS_COLUMNS];
		bool		isnull;
		double		rate = NAN,
					low = NAN,
					high = NAN,
					uplift = NAN,
					p = NAN,
					ctb = NAN;
		double		derived[7];

		memset(nulls, true, sizeof(nulls));
		/* experiment_id, status, element_id, element_name, selector */
		for (int c = 0; c < 5; c++)
		{
			values[c] = SPI_getbinval(r->tuple, spidesc, c + 1, &isnull);
			nulls[c] = isnull;
		}
		if (r->has_variant)
		{
			/* variant_id, variant_name, is_control */
			for (int c = 5; c < 8; c++)
			{
				values[c] = SPI_getbinval(r->tuple, spidesc, c + 1, &isnull);
				nulls[c] = isnull;
			}
			if (weight_sum > 0.0)
			{
				values[8] = Float8GetDatum(r->weight / weight_sum);
				nulls[8] = false;
			}
			values[9] = Int64GetDatum(r->allocations);
			values[10] = Int64GetDatum(r->conversions);
			nulls[9] = nulls[10] = false;

			if (r->allocations > 0)
			{
				rate = (double) r->conversions / (double) r->allocations;
				abt_stats_wilson(r->conversions, r->allocations, ABT_STATS_Z95, &low, &high);
			}
			if (control != NULL && r != control &&
				r->allocations > 0 && control->allocations > 0)
			{
				double		control_rate = (double) control->conversions / (double) control->allocations;

				uplift = abt_stats_uplift(rate, control_rate);
				p = abt_stats_ztest_p(r->conversions, r->allocations,
									  control->conversions, control->allocations);
				ctb = abt_stats_chance_to_beat(r->conversions, r->allocations,
											   control->conversions, control->allocations);
			}
			derived[0] = rate;
			derived[1] = low;
			derived[2] = high;
			derived[3] = uplift;
			derived[4] = p;
			derived[5] = ctb;
			derived[6] = srm;
			/* conversion_rate .. srm_p_value: NULL where meaningless (NaN) */
			for (int c = 0; c < 7; c++)
			{
				if (!isnan(derived[c]) && !isinf(derived[c]))
				{
					values[11 + c] = Float8GetDatum(derived[c]);
					nulls[11 + c] = false;
				}
			}
			values[18] = SPI_getbinval(r->tuple, spidesc, 10, &isnull);
			nulls[18] = isnull;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * SQL: abt_variant_stats(experiment_ids uuid[]) returns one row per variant
 * of each experiment, ordered by the experiment's first place in the array,
 * element position and variant position.  An id that matches no experiment
 * gets one row with its id and NULL everywhere else (status NULL tells it
 * apart); an experiment without elements or an element without variants
 * gets one row with the variant columns NULL.
 */
Datum
abt_variant_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[1];
	Datum		args[1];
	int			rc;
	uint64		nrows;
	StatsRow   *rows;
	TupleDesc	spidesc;
	int			first = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("experiment ids must not be null")));
	if (array_contains_nulls(PG_GETARG_ARRAYTYPE_P(0)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("experiment ids must not contain null")));
	InitMaterializedSRF(fcinfo, 0);

	argtypes[0] = get_array_type(UUIDOID);
	args[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	rc = SPI_execute_plan(abt_plan(&stats_plan, stats_sql, 1, argtypes), args, NULL, true, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "reading variant statistics");
	nrows = SPI_processed;
	spidesc = SPI_tuptable->tupdesc;
	rows = palloc0(sizeof(StatsRow) * (nrows + 1));
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;

		rows[i].tuple = tuple;
		(void) SPI_getbinval(tuple, spidesc, 6, &isnull);
		rows[i].has_variant = !isnull;
		if (!isnull)
		{
			rows[i].is_control = DatumGetBool(SPI_getbinval(tuple, spidesc, 8, &isnull));
			rows[i].weight = DatumGetFloat8(SPI_getbinval(tuple, spidesc, 9, &isnull));
			rows[i].allocations = DatumGetInt64(SPI_getbinval(tuple, spidesc, 11, &isnull));
			rows[i].conversions = DatumGetInt64(SPI_getbinval(tuple, spidesc, 12, &isnull));
		}
	}

	/* rows of one element (or of one element-less experiment) are adjacent */
	for (uint64 i = 1; i <= nrows; i++)
	{
		bool		same = false;

		if (i < nrows)
		{
			bool		n1,
						n2;
			Datum		e1 = SPI_getbinval(rows[i].tuple, spidesc, 3, &n1);
			Datum		e2 = SPI_getbinval(rows[first].tuple, spidesc, 3, &n2);
			Datum		x1 = SPI_getbinval(rows[i].tuple, spidesc, 1, &n1);
			Datum		x2 = SPI_getbinval(rows[first].tuple, spidesc, 1, &n2);

			same = memcmp(DatumGetUUIDP(x1), DatumGetUUIDP(x2), UUID_LEN) == 0;
			(void) SPI_getbinval(rows[i].tuple, spidesc, 3, &n1);
			(void) SPI_getbinval(rows[first].tuple, spidesc, 3, &n2);
			if (same)
				same = !n1 && !n2 &&
					memcmp(DatumGetUUIDP(e1), DatumGetUUIDP(e2), UUID_LEN) == 0;
		}
		if (!same)
		{
			emit_element(rsinfo, spidesc, rows, first, i);
			first = i;
		}
	}
	SPI_finish();
	return (Datum) 0;
}
