/*
 * checks.h
 *		Argument checks and errors that every entry point shares (checks.c).
 */
#ifndef ABT_CHECKS_H
#define ABT_CHECKS_H

#include "fmgr.h"
#include "datatype/timestamp.h"
#include "utils/uuid.h"

#include "owner.h"
#include "pg_compat.h"

/* checks.c: argument checks and errors every entry point shares */
extern pg_uuid_t *abt_arg_experiment_id(FunctionCallInfo fcinfo, int argno);
extern Datum *abt_arg_experiment_ids(FunctionCallInfo fcinfo, int argno, int *n);
extern TimestampTz abt_arg_time(FunctionCallInfo fcinfo, int argno, const char *what);
extern void abt_check_visitor(text *user_id, const char *what);
pg_noreturn extern void abt_report_unknown_experiment(pg_uuid_t *experiment_id);

/* Only a trusted caller (owner.c) chooses an event's time. */
extern void abt_check_time_choice(TimestampTz at, AbtTable table, const char *what);

#endif							/* ABT_CHECKS_H */
