/*
 * rwin_test.c -- the command window against a fake link that records
 * what was put on it: the window's bound, the order kept, urgent
 * commands skipping the queue, refusals, and every queued command failed
 * once, in order, when the link goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rwin.h"
#include "tap.h"

struct link {
	char	put[64][16];	/* commands put, in order */
	int	nput;
	int	failed[64];	/* privs failed, in order */
	int	nfail;
	int	refuse;		/* the link refuses what comes */
};

static int
fake_put(void *arg, const char *cmd, size_t len, void *priv)
{
	struct link	*l = arg;

	(void)priv;
	if (l->refuse || l->nput == 64 || len >= 16)
		return -1;
	memcpy(l->put[l->nput], cmd, len);
	l->put[l->nput++][len] = '\0';
	return 0;
}

static void
fake_fail(void *arg, void *priv)
{
	struct link	*l = arg;

	l->failed[l->nfail++] = *(int *)priv;
}

static int	 ids[64];

static int
send(struct rwin *w, int urgent, int i)
{
	char	cmd[16];

	ids[i] = i;
	snprintf(cmd, sizeof(cmd), "c%d", i);
	return rwin_send(w, urgent, cmd, strlen(cmd), &ids[i]);
}

int
main(void)
{
	struct link	 l;
	struct rwin	 w;
	int		 i, rv, inorder;

	memset(&l, 0, sizeof(l));
	rwin_init(&w, 3, fake_put, fake_fail, &l);
	for (i = 0; i < 3; i++)
		ok(send(&w, 0, i) == 1, "command %d is put at once", i);
	ok(send(&w, 0, 3) == 0 && send(&w, 0, 4) == 0 && l.nput == 3 &&
	    w.rw_queued == 2 && w.rw_inflight == 3,
	    "the window full: the next two wait (%d put)", l.nput);
	ok(send(&w, 1, 5) == 1 && l.nput == 4 && strcmp(l.put[3], "c5") == 0,
	    "an urgent one skips the queue (%s)", l.put[3]);
	rwin_replied(&w);
	rwin_pump(&w);
	ok(l.nput == 4 && w.rw_queued == 2,
	    "a reply with the urgent one still awaited: nothing more");
	rwin_replied(&w);
	rwin_pump(&w);
	ok(l.nput == 5 && strcmp(l.put[4], "c3") == 0 && w.rw_queued == 1,
	    "one reply more: the first queued goes (%s)", l.put[4]);
	ok(send(&w, 0, 6) == 0 && w.rw_queued == 2,
	    "room or not, a new one waits behind the queued");
	rwin_replied(&w);
	rwin_replied(&w);
	rwin_pump(&w);
	ok(l.nput == 7 && strcmp(l.put[5], "c4") == 0 &&
	    strcmp(l.put[6], "c6") == 0 && w.rw_queued == 0 &&
	    w.rw_inflight == 3, "then the rest, in order");

	/* The link goes: queued ones fail in order, once. */
	ok(send(&w, 0, 7) == 0 && send(&w, 0, 8) == 0 && send(&w, 0, 9) == 0,
	    "three more wait");
	l.refuse = 1;
	ok(send(&w, 1, 10) == -1 && w.rw_inflight == 3,
	    "a refused urgent one is the caller's again, not counted");
	rwin_replied(&w);
	rwin_pump(&w);
	ok(l.nfail == 1 && l.failed[0] == 7 && w.rw_queued == 2,
	    "a pump the link refuses fails that one and stops (%d)",
	    l.nfail);
	rwin_fail(&w);
	inorder = l.nfail == 3 && l.failed[1] == 8 && l.failed[2] == 9;
	ok(inorder && w.rw_queued == 0 && w.rw_head == NULL,
	    "the link gone: the rest fail, in order");
	rwin_fail(&w);
	ok(l.nfail == 3, "twice: nothing failed twice");

	/* Replies past the count do not wrap it. */
	for (i = 0; i < 5; i++)
		rwin_replied(&w);
	ok(w.rw_inflight == 0, "the count stops at 0");
	l.refuse = 0;
	rv = send(&w, 0, 11);
	ok(rv == 1 && strcmp(l.put[l.nput - 1], "c11") == 0,
	    "after it all, a command goes at once again");
	return tap_done();
}
