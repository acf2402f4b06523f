/*
 * track.h
 *		abt_track (track.c): one event of a visitor for every experiment it
 *		is in, and CUPED's pre-exposure history and covariates (issue 20),
 *		which a new visitor's assignment takes (assign.c).
 */
#ifndef ABT_TRACK_H
#define ABT_TRACK_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/uuid.h"

#include "config_cache.h"

extern void abt_take_covariates(pg_uuid_t *experiment_id, text *user_id, TimestampTz assigned_at,
								AbtConfig *config, pg_uuid_t *chosen, int nchosen);

#endif							/* ABT_TRACK_H */
