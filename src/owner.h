/*
 * owner.h
 *		Whom abtest's writing functions act as (the owner of the abtest
 *		tables), and what their caller may do (owner.c).
 */
#ifndef ABT_OWNER_H
#define ABT_OWNER_H

/* owner.c: whom the writing functions act as, and what their caller may do */
typedef enum AbtTable
{
	ABT_TABLE_EXPERIMENTS,
	ABT_TABLE_ASSIGNMENTS,
	ABT_TABLE_CONVERSIONS,
	ABT_NUM_TABLES
} AbtTable;

typedef struct AbtUserContext
{
	Oid			userid;
	int			sec_context;
} AbtUserContext;

extern bool abt_caller_may_insert(AbtTable table);
extern void abt_act_as_owner(AbtUserContext *saved);
extern void abt_restore_user(const AbtUserContext *saved);

#endif							/* ABT_OWNER_H */
