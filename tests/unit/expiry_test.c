/*
 * expiry_test.c -- unit tests for cmd/gw-listen/expiry.c, the heap of
 * connections whose tokens expire: once their second has come, the
 * connections still in it are closed in the order of their exp, each
 * once, the ones removed first (freed for another reason) not at all,
 * the ones still to come left open; and the heap is empty at the end.
 * ws_close() is this file's: it records whom the timer closed.
 */
#include <stdlib.h>
#include <time.h>

#include <ev.h>

#include "listen.h"
#include "tap.h"

struct listen	*gl;

#define NCONN	2000

static struct conn	*closed[NCONN];
static int		 nclosed, twice;

void
ws_close(struct conn *c, int code, const char *reason)
{
	int	 i;

	(void)reason;
	for (i = 0; i < nclosed; i++)
		if (closed[i] == c)
			twice++;
	if (code == 1008 && nclosed < NCONN)
		closed[nclosed++] = c;
	c->c_flags |= CONN_F_DEAD;
}

int
main(void)
{
	static struct listen	 l;
	static struct conn	 conns[NCONN];
	static int		 removed[NCONN];
	int64_t			 now = (int64_t)time(NULL);
	int			 i, n, inorder = 1, wrong = 0, due = 0;

	l.l_loop = ev_default_loop(0);
	gl = &l;
	/* Past seconds in a shuffled order, a tenth in an hour. */
	for (i = 0; i < NCONN; i++) {
		conns[i].c_state = CONN_ST_WS;
		conns[i].c_id = calloc(1, sizeof(struct ident) + 2);
		if (conns[i].c_id == NULL)
			return 1;
		conns[i].c_id->id_exp = i % 10 == 9 ? now + 3600 :
		    now - 1 - (int64_t)(tap_rand() % 1000);
		expiry_add(&conns[i]);
	}
	expiry_add(&conns[0]);	/* twice: one entry all the same */
	/* Every third freed first, from anywhere in the heap. */
	for (i = 0; i < NCONN; i += 3) {
		expiry_remove(&conns[i]);
		removed[i] = 1;
	}
	for (i = 0; i < NCONN; i++)
		if (!removed[i] && i % 10 != 9)
			due++;
	ev_run(l.l_loop, EVRUN_NOWAIT);
	ok(nclosed == due, "%d of %d due closed", nclosed, due);
	for (i = 1; i < nclosed; i++)
		if (closed[i]->c_id->id_exp < closed[i - 1]->c_id->id_exp)
			inorder = 0;
	ok(inorder, "closed in the order of their exp");
	for (i = 0; i < nclosed; i++) {
		n = (int)(closed[i] - conns);
		if (removed[n] || n % 10 == 9)
			wrong++;
	}
	ok(wrong == 0, "none removed or still to come closed (%d)", wrong);
	ok(twice == 0, "none closed twice");
	wrong = 0;
	for (i = 0; i < NCONN; i++)
		if ((conns[i].c_id->id_hidx != 0) != (i % 10 == 9 && !removed[i]))
			wrong++;
	ok(wrong == 0, "only those still to come are still watched (%d)",
	    wrong);
	for (i = 0; i < NCONN; i++) {
		expiry_remove(&conns[i]);
		free(conns[i].c_id);
	}
	nclosed = 0;
	ev_run(l.l_loop, EVRUN_NOWAIT);
	ok(nclosed == 0, "nothing closed once all are removed");
	expiry_cleanup();
	ev_loop_destroy(l.l_loop);
	return tap_done();
}
