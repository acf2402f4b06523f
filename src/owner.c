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

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "abtest.h"

static const char *const table_names[ABT_NUM_TABLES] = {
	[ABT_TABLE_EXPERIMENTS] = "experiments",
	[ABT_TABLE_ASSIGNMENTS] = "assignments",
	[ABT_TABLE_CONVERSIONS] = "conversions",
};

/* Last known oids (kept for abt_is_table); valid only while !relids_stale. */
static Oid	relids[ABT_NUM_TABLES];
static bool relids_stale = true;
static Oid	tables_owner = InvalidOid;

/* Relcache callback: a table may have been dropped, recreated or altered. */
static void
owner_relcache_callback(Datum arg, Oid relid)
{
	for (int t = 0; t < ABT_NUM_TABLES; t++)
		if (relid == InvalidOid || relid == relids[t])
			relids_stale = true;
}

/* Looks up the tables' oids and the owner of abtest.experiments. */
static void
resolve_tables(void)
{
	static bool callback_registered = false;
	Oid			namespace;
	HeapTuple	tuple;

	if (!relids_stale)
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(owner_relcache_callback, (Datum) 0);
		callback_registered = true;
	}
	namespace = get_namespace_oid("abtest", false);
	for (int t = 0; t < ABT_NUM_TABLES; t++)
	{
		relids[t] = get_relname_relid(table_names[t], namespace);
		if (!OidIsValid(relids[t]))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table abtest.%s does not exist", table_names[t])));
	}
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relids[ABT_TABLE_EXPERIMENTS]));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relids[ABT_TABLE_EXPERIMENTS]);
	tables_owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	relids_stale = false;
}

/*
 * Whether relid is (or was, until the last invalidation) the given table:
 * for relcache callbacks, which must not look anything up.
 */
bool
abt_is_table(Oid relid, AbtTable table)
{
	return OidIsValid(relid) && relid == relids[table];
}

/* Whether the current user may INSERT into the table directly: a trusted caller. */
bool
abt_caller_may_insert(AbtTable table)
{
	resolve_tables();
	return pg_class_aclcheck(relids[table], GetUserId(), ACL_INSERT) == ACLCHECK_OK;
}

/* Acts as the owner of the abtest tables, past row-level security, until restored. */
void
abt_act_as_owner(AbtUserContext *saved)
{
	resolve_tables();
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
