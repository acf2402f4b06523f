/*
 * relations.h
 *		abtest's relations and indexes, resolved once per backend, and the
 *		module's one relcache callback (relations.c).
 */
#ifndef ABT_RELATIONS_H
#define ABT_RELATIONS_H

#include "access/attnum.h"
#include "utils/relcache.h"

/* The relations of schema abtest the C code opens or checks, by name. */
typedef enum AbtRelation
{
	ABT_REL_EXPERIMENTS,
	ABT_REL_EXPERIMENTS_PKEY,
	ABT_REL_EXPERIMENT_ELEMENTS,
	ABT_REL_ELEMENT_VARIANTS,
	ABT_REL_ASSIGNMENTS,
	ABT_REL_ASSIGNMENTS_LOOKUP, /* idx_assignments_lookup, the primary key */
	ABT_REL_ASSIGNMENTS_UNCONVERTED,	/* idx_assignments_unconverted */
	ABT_REL_ASSIGNMENTS_CONVERTED,	/* assignments_converted (1.1) */
	ABT_REL_CONVERSIONS,
	ABT_REL_VARIANT_COUNTERS,
	ABT_REL_EXPERIMENT_TIMELINE,
	ABT_REL_VARIANT_TIMELINE,
	ABT_REL_VISITOR_GOALS,		/* 1.1 */
	ABT_REL_GOAL_COUNTERS,		/* 1.1 */
	ABT_REL_VISITOR_COVARIATES, /* 1.1 */
	ABT_NUM_RELATIONS
} AbtRelation;

/* What a subsystem does on an invalidation of relid (InvalidOid: of every relation) */
typedef void (*AbtRelcacheHandler) (Oid relid);

extern void abt_relations_init(void);
extern void abt_relations_on_change(AbtRelcacheHandler handler);
extern Oid	abt_namespace(void);
extern Oid	abt_relation(AbtRelation which);
extern Oid	abt_relation_required(AbtRelation which);
extern const char *abt_relation_name(AbtRelation which);
extern uint64 abt_relation_changes(AbtRelation which);
extern bool abt_index_has_shape(Relation index, Oid heap, int ncolumns, const AttrNumber *columns,
								bool unique_key);

#endif							/* ABT_RELATIONS_H */
