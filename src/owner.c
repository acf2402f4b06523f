/*
 * owner.c
 *		Whom abtest's writing functions act as, and what their caller may do.
 *
 * The visitor functions write tables a visitor has no privilege on.  In 1.0
 * they were SECURITY DEFINER; since 1.1 they run as their caller and switch
 * to the owner of the abtest tables themselves (as ri_triggers.c does for
 * its checks), after asking what the caller may do: a caller that may
 * INSERT into abtest.assignments (or abtest.conversions) directly is
 * trusted to choose an event's time and to import in bulk, others are
 * visitors.  In a database still at 1.0 the functions are SECURITY DEFINER,
 * so their caller is the owner, trusted, and they behave as in 1.0.
 *
 * The switch is undone by the caller's restore, or by the (sub)transaction
 * abort of an error, which restores the user id it began with.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/syscache.h"

#include "owner.h"
#include "relations.h"

static const AbtRelation table_relations[ABT_NUM_TABLES] = {
	[ABT_TABLE_EXPERIMENTS] = ABT_REL_EXPERIMENTS,
	[ABT_TABLE_ASSIGNMENTS] = ABT_REL_ASSIGNMENTS,
	[ABT_TABLE_CONVERSIONS] = ABT_REL_CONVERSIONS,
};

/* The owner of abtest.experiments, known while its changes are those seen. */
static Oid	tables_owner = InvalidOid;
static bool owner_known = false;
static uint64 owner_changes_seen = 0;

/* The tables' oids (an error where one is missing), and the owner of abtest.experiments. */
static void
resolve_tables(Oid *relids)
{
	uint64		changes;
	HeapTuple	tuple;

	for (int t = 0; t < ABT_NUM_TABLES; t++)
		relids[t] = abt_relation_required(table_relations[t]);
	changes = abt_relation_changes(ABT_REL_EXPERIMENTS);	/* after resolving */
	if (owner_known && changes == owner_changes_seen)
		return;
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relids[ABT_TABLE_EXPERIMENTS]));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relids[ABT_TABLE_EXPERIMENTS]);
	tables_owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	owner_known = true;
	owner_changes_seen = changes;
}

/* Whether the current user may INSERT into the table directly: a trusted caller. */
bool
abt_caller_may_insert(AbtTable table)
{
	Oid			relids[ABT_NUM_TABLES];

	resolve_tables(relids);
	return pg_class_aclcheck(relids[table], GetUserId(), ACL_INSERT) == ACLCHECK_OK;
}

/* Acts as the owner of the abtest tables, past row-level security, until restored. */
void
abt_act_as_owner(AbtUserContext *saved)
{
	Oid			relids[ABT_NUM_TABLES];

	resolve_tables(relids);
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(tables_owner,
						   saved->sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
}

/* Acts as the user abt_act_as_owner saved again. */
void
abt_restore_user(const AbtUserContext *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}
