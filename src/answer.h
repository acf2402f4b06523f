/*
 * answer.h
 *		The jsonb document abt_assign returns for one experiment (answer.c).
 */
#ifndef ABT_ANSWER_H
#define ABT_ANSWER_H

#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "config_cache.h"
#include "lookup.h"

/* answer.c: the jsonb abt_assign returns */
extern Jsonb *abt_answer(pg_uuid_t *experiment_id, AbtLookup *lookup, AbtConfig *config,
						 bool enrolled, bool is_new);

#endif							/* ABT_ANSWER_H */
