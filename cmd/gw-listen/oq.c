/*
 * oq.c -- the entries of gw-listen's outbound queues.
 *
 * A fan-out queues one entry per subscriber and frees it once written:
 * with malloc() that was a malloc and a free per delivery, a fifth of the
 * instructions of a delivery.  Written entries go to a free list instead
 * and are taken from it again, at most OQ_POOLMAX of them kept idle (the
 * rest are freed: 1 MiB at most, so that one burst does not hold its memory for ever).
 * When the last connection is gone, conn.c empties the list: an idle
 * process holds none, and at exit nothing is left for leak checkers.
 */
#include <stdlib.h>

#include "listen.h"
#include "xmalloc.h"

static struct oq	*oq_pool;
static uint32_t		 oq_npool;

/*
 * An entry for a frame, from the free list or newly allocated, with
 * oq_next set to NULL.  The caller owns it until oq_put().
 */
struct oq *
oq_get(void)
{
	struct oq	*q;

	if ((q = oq_pool) != NULL) {
		oq_pool = q->oq_next;
		oq_npool--;
	} else
		q = xmalloc(sizeof(*q));
	q->oq_next = NULL;
	return q;
}

/*
 * Give back an entry taken with oq_get(); its frame is the caller's to
 * release.  Kept for reuse while the free list is short, else freed.
 */
void
oq_put(struct oq *q)
{
	if (oq_npool >= OQ_POOLMAX) {
		free(q);
		return;
	}
	q->oq_next = oq_pool;
	oq_pool = q;
	oq_npool++;
}

/* Free every idle entry.  Return value: how many were freed. */
uint32_t
oq_drain(void)
{
	struct oq	*q;
	uint32_t	 n = 0;

	while ((q = oq_pool) != NULL) {
		oq_pool = q->oq_next;
		free(q);
		n++;
	}
	oq_npool = 0;
	return n;
}

/* How many entries the free list holds now. */
uint32_t
oq_idle(void)
{
	return oq_npool;
}
