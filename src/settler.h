/*
 * settler.h
 *		The settler (settler.c): background workers that fold the striped
 *		counters (settle.c) every abtest.settle_interval.
 */
#ifndef ABT_SETTLER_H
#define ABT_SETTLER_H

/* From _PG_init: abtest.settle_interval, and the workers when preloaded */
extern void abt_settler_init(void);

#endif							/* ABT_SETTLER_H */
