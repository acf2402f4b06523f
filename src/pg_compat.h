/*
 * pg_compat.h
 *		What differs between the PostgreSQL majors abtest builds against
 *		(15 to 18), each behind one name, so that callers read the same on
 *		every major (the way Citus keeps pg_version_compat.h).
 *
 * Tested: 15 (Debian) and 18 (built from source in CI).  The guards for 16
 * and 17 follow PostgreSQL's API history: each names the release whose
 * change it covers.
 */
#ifndef ABT_PG_COMPAT_H
#define ABT_PG_COMPAT_H

#include "postgres.h"

/* 18: pg_noreturn before a declaration replaces pg_attribute_noreturn() after it */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * This backend's number among the live backends of the server, from 1
 * (0 is no backend's: abtest's counter slot 0 holds settled rows).  17
 * replaced BackendId (1-based) by ProcNumber (0-based).
 */
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#define ABT_MY_BACKEND_NUMBER ((int32) MyProcNumber + 1)
#else
#include "storage/backendid.h"
#define ABT_MY_BACKEND_NUMBER ((int32) MyBackendId)
#endif

/* 18: index_beginscan takes the scan's instrumentation (none here) */
#if PG_VERSION_NUM >= 180000
#define abt_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define abt_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/* 16: object_ownercheck() replaced the per-kind pg_*_ownercheck() */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_database.h"
#include "utils/acl.h"
#define abt_database_ownercheck(dbid, roleid) \
	object_ownercheck(DatabaseRelationId, (dbid), (roleid))
#else
#include "utils/acl.h"
#define abt_database_ownercheck(dbid, roleid) pg_database_ownercheck((dbid), (roleid))
#endif

#endif							/* ABT_PG_COMPAT_H */
