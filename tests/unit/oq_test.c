/*
 * oq_test.c -- unit tests for cmd/gw-listen/oq.c, the free list of
 * outbound queue entries: an entry given back is the next one taken, the
 * idle list never holds more than OQ_POOLMAX, and oq_drain() empties it.
 */
#include <stdlib.h>

#include "listen.h"
#include "tap.h"

int
main(void)
{
	struct oq	**all, *a, *b;
	uint32_t	  i, n = OQ_POOLMAX + 5;
	int		  fresh = 1;

	a = oq_get();
	ok(a != NULL && a->oq_next == NULL, "a new entry, unlinked");
	ok(oq_idle() == 0, "nothing idle yet");
	a->oq_next = a;		/* as if it had been queued */
	oq_put(a);
	ok(oq_idle() == 1, "one idle after a put");
	b = oq_get();
	ok(b == a, "the entry given back is taken again");
	ok(b->oq_next == NULL, "... unlinked");
	ok(oq_idle() == 0, "nothing idle after taking it");

	if ((all = calloc(n, sizeof(*all))) == NULL)
		return 1;
	all[0] = b;
	for (i = 1; i < n; i++)
		all[i] = oq_get();
	for (i = 1; i < n; i++)
		if (all[i] == NULL || all[i] == all[i - 1] ||
		    all[i]->oq_next != NULL)
			fresh = 0;
	ok(fresh, "%u entries taken, each its own", n);
	for (i = 0; i < n; i++)
		oq_put(all[i]);
	ok(oq_idle() == OQ_POOLMAX, "at most OQ_POOLMAX idle (%u)",
	    oq_idle());
	ok(oq_drain() == OQ_POOLMAX, "drain frees every idle entry");
	ok(oq_idle() == 0, "nothing idle after a drain");
	ok(oq_drain() == 0, "a second drain has nothing to free");
	a = oq_get();
	ok(a != NULL && a->oq_next == NULL, "an entry after a drain");
	oq_put(a);
	(void)oq_drain();
	free(all);
	return tap_done();
}
