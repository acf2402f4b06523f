/*
 * version.h
 *		The version of abtest's SQL API a call serves: the script its SQL
 *		function belongs to (1.0's functions call the 1.0 C symbols, 1.1's
 *		the _1_1 ones, so that the library serves a database at either).
 *		Each SQL-callable symbol sets it and the call carries it down (the
 *		lookup, the configuration cache, the experiment lock), which ask
 *		`api_version >= ABT_VERSION_1_1` where 1.1 reads or does more, as
 *		pg_stat_statements asks of its pgssVersion.
 */
#ifndef ABTEST_VERSION_H
#define ABTEST_VERSION_H

typedef enum AbtVersion
{
	ABT_VERSION_1_0,
	ABT_VERSION_1_1
} AbtVersion;

/* For arrays of what differs by version, [ABT_VERSION_1_0] ... */
#define ABT_NUM_VERSIONS (ABT_VERSION_1_1 + 1)

#endif							/* ABTEST_VERSION_H */
