/*
 * rqueue_test.c -- gw-presence's queue of Redis commands
 * (cmd/gw-presence/rqueue.c) and its passes over a table: a pass over
 * thousands of entries keeps the queue short while Redis has not
 * answered, sends every entry once when it runs through, starts again
 * from the first bucket when asked during a run, and waits while the
 * link is down.
 *
 * The link is a stand-in: redisAsyncFormattedCommand() records each
 * command's reply callback argument, and the test answers them in order
 * as redis_reply_cb() would.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "htab.h"
#include "../../cmd/gw-presence/presence.h"

#define NKEYS	20000

struct presence	*gp;
static struct presence	 pres;

static struct rreq	*sent[10 * NKEYS];
static size_t		 nsent, nanswered;
static int		 link_refuses;

int
redisAsyncFormattedCommand(redisAsyncContext *ac, redisCallbackFn *fn,
    void *priv, const char *cmd, size_t len)
{
	(void)ac;
	(void)fn;
	(void)cmd;
	(void)len;
	if (link_refuses || nsent >= sizeof(sent) / sizeof(sent[0]))
		return REDIS_ERR;
	sent[nsent++] = priv;
	return REDIS_OK;
}

static int	 paused, pauses;

void
presence_pause(int on)
{
	if (on && !paused)
		pauses++;
	paused = on;
}

/* What redis.c's callback does for the queue: free, count, pump. */
void
redis_reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rreq	*rq = priv;

	(void)ac;
	if (gp->p_pending > 0)
		gp->p_pending--;
	if (rq->rq_sent)
		rwin_replied(&gp->p_win);
	if (r != NULL)
		rqueue_pump();
	free(rq->rq_str);
	free(rq);
}

/* Per key: how many commands the pass sent for it. */
static unsigned	 calls[NKEYS];
static size_t	 maxqueued;

static void
note_queue(void)
{
	if (gp->p_win.rw_queued > maxqueued)
		maxqueued = gp->p_win.rw_queued;
}

/* The pass's function: two commands per entry, as a join and its index. */
static int
send_two(const char *k, size_t klen, void *v, int quiet)
{
	const char	*argv[2] = { "SADD", k };
	size_t		 lens[2] = { 4, klen };
	struct rreq	*rq;
	int		 i;

	(void)quiet;
	calls[(uintptr_t)v - 1]++;
	for (i = 0; i < 2; i++) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			abort();
		rq->rq_kind = RQ_EVENT;
		if (redis_send(rq, 2, argv, lens) == -1)
			return -1;
		note_queue();
	}
	return 0;
}

/* Answer up to n awaited commands, in order; return how many. */
static size_t
answer(size_t n)
{
	static int	 dummy;
	size_t		 i;

	for (i = 0; i < n && nanswered < nsent; i++) {
		redis_reply_cb(NULL, &dummy, sent[nanswered++]);
		note_queue();
	}
	return i;
}

static size_t
count_calls(unsigned want_at_least, unsigned *most)
{
	size_t	 i, n = 0;

	*most = 0;
	for (i = 0; i < NKEYS; i++) {
		if (calls[i] >= want_at_least)
			n++;
		if (calls[i] > *most)
			*most = calls[i];
	}
	return n;
}

int
main(void)
{
	struct htab	*t;
	char		 key[32];
	size_t		 i, n;
	unsigned	 most;
	int		 len;

	gp = &pres;
	gp->p_redis = (redisAsyncContext *)&pres;	/* never dereferenced */
	gp->p_up = 1;
	rqueue_init();
	t = htab_new();
	for (i = 0; i < NKEYS; i++) {
		len = snprintf(key, sizeof(key), "ch\nuser%zu", i);
		htab_put(t, key, (size_t)len, (void *)(uintptr_t)(i + 1));
	}
	gp->p_epass.rp_tab = t;
	gp->p_epass.rp_fn = send_two;
	gp->p_epass.rp_what = "test";

	/* Redis answers nothing yet: a window on the link, a short queue. */
	rpass_start(&gp->p_epass, 0);
	ok(gp->p_win.rw_inflight == RQUEUE_WINDOW, "%zu awaited on the "
	    "link", gp->p_win.rw_inflight);
	ok(gp->p_win.rw_queued >= RQUEUE_LOW &&
	    gp->p_win.rw_queued < RQUEUE_LOW + 32,
	    "%zu queued for %d entries (not all of them)",
	    gp->p_win.rw_queued, NKEYS);
	ok(gp->p_epass.rp_active, "the pass waits for answers");

	/* Answers make room: the pass goes on, every entry sent once. */
	while (answer(7) > 0)
		;
	n = count_calls(1, &most);
	ok(n == NKEYS && most == 1, "every entry sent once: %zu of %d, at "
	    "most %u times", n, NKEYS, most);
	ok(!gp->p_epass.rp_active && gp->p_epass.rp_count == NKEYS,
	    "the pass is done after %zu entries", gp->p_epass.rp_count);
	ok(maxqueued < RQUEUE_LOW + 32 && pauses == 0, "the queue never "
	    "held more than %zu commands (workers paused %d times)",
	    maxqueued, pauses);
	ok(gp->p_pending == 0 && gp->p_win.rw_queued == 0,
	    "nothing pending at the end");

	/* Started again halfway: the rest of the run begins at bucket 0. */
	memset(calls, 0, sizeof(calls));
	rpass_start(&gp->p_epass, 0);
	while (gp->p_epass.rp_count < NKEYS / 2 && answer(1) > 0)
		;
	memset(calls, 0, sizeof(calls));
	rpass_start(&gp->p_epass, 1);
	ok(gp->p_epass.rp_quiet == 0, "a loud pass started again quietly "
	    "stays loud");
	while (answer(7) > 0)
		;
	n = count_calls(1, &most);
	ok(n == NKEYS, "started again: every entry sent after the restart "
	    "(%zu of %d)", n, NKEYS);

	/* The link goes down during a pass: it waits, then starts again. */
	memset(calls, 0, sizeof(calls));
	rpass_start(&gp->p_epass, 1);
	(void)answer(50);
	gp->p_up = 0;
	rqueue_fail();
	while (nanswered < nsent)	/* the link's failures */
		redis_reply_cb(NULL, NULL, sent[nanswered++]);
	n = gp->p_epass.rp_count;
	rqueue_pump();
	ok(gp->p_epass.rp_active && gp->p_epass.rp_count == n &&
	    gp->p_win.rw_queued == 0, "link down: the pass waits (%zu "
	    "sent)", n);
	gp->p_up = 1;
	memset(calls, 0, sizeof(calls));
	rpass_start(&gp->p_epass, 1);
	while (answer(7) > 0)
		;
	n = count_calls(1, &most);
	ok(n == NKEYS && !gp->p_epass.rp_active, "link back: every entry "
	    "sent (%zu of %d)", n, NKEYS);

	/*
	 * The workers' burst: paused once RQUEUE_HIGH commands are queued,
	 * read again once answers bring it down to RQUEUE_LOW.
	 */
	for (i = 0; i < RQUEUE_HIGH + RQUEUE_WINDOW - 1; i++) {
		(void)send_two("ch\nuser0", 9, (void *)(uintptr_t)1, 0);
		if (paused)
			break;
	}
	ok(paused && pauses == 1 && gp->p_win.rw_queued >= RQUEUE_HIGH &&
	    gp->p_win.rw_queued <= RQUEUE_HIGH + 1, "workers paused with "
	    "%zu commands queued", gp->p_win.rw_queued);
	while (paused && answer(1) > 0)
		;
	ok(!paused && gp->p_win.rw_queued == RQUEUE_LOW, "read again with "
	    "%zu queued", gp->p_win.rw_queued);
	while (answer(7) > 0)
		;
	for (i = 0; i < RQUEUE_HIGH; i++)
		(void)send_two("ch\nuser0", 9, (void *)(uintptr_t)1, 0);
	ok(paused && pauses == 2, "paused again");
	gp->p_up = 0;
	rqueue_fail();
	ok(!paused && gp->p_win.rw_queued == 0, "the link lost: queue "
	    "failed, workers read again");
	while (nanswered < nsent)
		redis_reply_cb(NULL, NULL, sent[nanswered++]);
	gp->p_up = 1;

	/* A link that refuses the command: the pass stops there. */
	link_refuses = 1;
	rpass_start(&gp->p_epass, 1);
	ok(gp->p_epass.rp_active && gp->p_epass.rp_count == 0,
	    "a refused command stops the step");
	link_refuses = 0;
	gp->p_epass.rp_active = 0;
	htab_free(t);
	return tap_done();
}
