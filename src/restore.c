/*
 * restore.c
 *		What a restore of pg_dump output needs from the C code: the trigger
 *		that rebuilds the per-goal sums (abtest.visitor_goals and
 *		abtest.goal_counters, 1.1) once the restore has loaded the events or
 *		the assignments they are derived from.
 *
 * The sums are derived data: abtest.rebuild_goal_sums() (the 1.1 script)
 * computes them exactly from abtest.conversions and abtest.assignments, and
 * pg_dump does not keep them, so that a dump of any version restores into
 * any later one (the restore's CREATE EXTENSION installs the newest, whose
 * update ran on empty tables).  The trigger fires once per statement that
 * inserts into either table (a COPY is one statement) and rebuilds only
 * while a dump is being restored: pg_dump and pg_restore run with
 * row_security off, which normal sessions leave on.  In normal operation
 * it reads that one setting and returns.
 *
 * Any session may turn row_security off, visitors' included.  Their writes
 * run under the owner switch of owner.c (SECURITY_LOCAL_USERID_CHANGE, as
 * inside any SECURITY DEFINER function), which a restore's COPY or INSERT
 * at the top level never is: such writes never rebuild, so that no visitor
 * can make every call rebuild the sums of every experiment.  On a Citus
 * node the trigger also fires on the shards, copies that are not members
 * of the extension: it leaves them alone (the rebuild is the coordinator's,
 * on its own tables).
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/dependency.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "owner.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(abt_goal_sums_after_restore);

/* Whether relid is one of the extension's own tables (not a Citus shard). */
static bool
is_extension_table(Oid relid)
{
	Oid			extension = get_extension_oid("abtest", true);

	return OidIsValid(extension) &&
		getExtensionOfObject(RelationRelationId, relid) == extension;
}

/*
 * Trigger abtest.goal_sums_after_restore(), AFTER INSERT FOR EACH STATEMENT
 * on abtest.conversions and abtest.assignments: while a dump is restored,
 * rebuilds the goal sums from what the tables now hold.
 */
Datum
abt_goal_sums_after_restore(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr rebuild_plan = NULL;
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	AbtUserContext saved;
	int			rc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		elog(ERROR, "abt_goal_sums_after_restore: not fired as an AFTER ... FOR EACH STATEMENT trigger");

	/* normal operation: one setting, read from its variable */
	if (row_security)
		return PointerGetDatum(NULL);
	/* a write of abtest's functions (owner.c) or of any SECURITY DEFINER code */
	if (InLocalUserIdChange())
		return PointerGetDatum(NULL);
	if (!is_extension_table(RelationGetRelid(trigdata->tg_relation)))
		return PointerGetDatum(NULL);

	/*
	 * As the tables' owner: the restoring role loaded the table itself (it
	 * may write the events), but EXECUTE on the rebuild is not PUBLIC's.
	 */
	SPI_connect();
	abt_act_as_owner(&saved);
	rc = SPI_execute_plan(abt_plan(&rebuild_plan, "SELECT abtest.rebuild_goal_sums()", 0, NULL),
						  NULL, NULL, false, 0);
	abt_check_spi(rc, SPI_OK_SELECT, "rebuilding the goal sums");
	abt_restore_user(&saved);
	SPI_finish();
	return PointerGetDatum(NULL);
}
