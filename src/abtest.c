/*
 * abtest.c
 *		Module entry of the abtest extension: PG_MODULE_MAGIC and the GUCs.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "abtest.h"

PG_MODULE_MAGIC;

char	   *abt_publication = NULL;

void		_PG_init(void);

/* Defines the abtest.* settings. */
void
_PG_init(void)
{
	DefineCustomStringVariable("abtest.publication",
							   "Publication that CREATE EXTENSION abtest puts the realtime tables into.",
							   "Created when it does not exist; an empty string opts out.",
							   &abt_publication,
							   "supabase_realtime",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("abtest");
}
