/*
 * convert.h
 *		One event of a visitor recorded in one experiment (convert.c): what
 *		abt_convert does for its experiment and abt_track (track.c) for each
 *		experiment the visitor is in.
 */
#ifndef ABT_CONVERT_H
#define ABT_CONVERT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "lookup.h"
#include "version.h"

/* An event as its caller gave it, checked by abt_event_init. */
typedef struct AbtEvent
{
	text	   *user_id;
	text	   *goal;
	Numeric		value;			/* NULL: none (counts 0 in the sums) */
	TimestampTz at;
	bool		trusted;		/* the caller may insert into abtest.conversions */
} AbtEvent;

extern void abt_event_init(AbtEvent *event, FunctionCallInfo fcinfo, int first,
						   AbtVersion api_version);
extern void abt_check_visitor_goal(text *goal);
extern pg_uuid_t *abt_seen_variants(Jsonb *variants, int *n);
extern bool abt_event_accepted(pg_uuid_t *experiment_id, int64 config_version,
							   const AbtEvent *event, AbtVersion api_version,
							   bool skip_undeclared);
extern bool abt_event_record(pg_uuid_t *experiment_id, const AbtEvent *event,
							 AbtLookup *lookup, AbtVersion api_version);
extern bool abt_goal_lookback(pg_uuid_t *experiment_id, int64 config_version, text *goal,
							  Interval *lookback);

#endif							/* ABT_CONVERT_H */
