/*
 * rqueue.c -- the commands to Redis: at most RQUEUE_WINDOW awaited on
 * the link at a time, the rest waiting here in order.
 *
 * Without a bound, a burst (a storm of connections, or every entry
 * declared again after a reconnect: hundreds of thousands of joins and
 * session saves) went to Redis at once, and the lease, sent behind it on
 * the same link, waited for all of it: unanswered past its limit, the
 * link was dropped, the entries declared again, and so on.  The lease,
 * the sweep claims and the sweeps (a handful at a time) are urgent: they
 * skip the queue, so they wait for at most RQUEUE_WINDOW commands, which
 * a loaded Redis (scripts of 20 ms, preempted) answers in a few seconds
 * at worst.
 * The others keep their order, which the entries' joins and leaves need.
 * The window itself is lib/rwin.c (gw-bridge's replays use one too).
 */
#include <stdlib.h>

#include "log.h"
#include "presence.h"
#include "rwin.h"

static int	rqueue_put(void *, const char *, size_t, void *);
static void	rqueue_failed(void *, void *);

/* Set up the window (once, before the link is first opened). */
void
rqueue_init(void)
{
	rwin_init(&gp->p_win, RQUEUE_WINDOW, rqueue_put, rqueue_failed, NULL);
}

/* Free rq, its command not sent. */
static void
rqueue_drop(struct rreq *rq)
{
	free(rq->rq_str);
	free(rq->rq_user);
	free(rq);
}

/* rwin's put: rq's command (cmd, len) on the link. */
static int
rqueue_put(void *arg, const char *cmd, size_t len, void *priv)
{
	struct rreq	*rq = priv;

	(void)arg;
	if (gp->p_redis == NULL || !gp->p_up ||
	    redisAsyncFormattedCommand(gp->p_redis, redis_reply_cb, rq, cmd,
	    len) != REDIS_OK)
		return -1;
	rq->rq_sent = 1;
	return 0;
}

/* rwin's fail: a queued rq is never sent; it fails as the sent ones did. */
static void
rqueue_failed(void *arg, void *priv)
{
	(void)arg;
	redis_reply_cb(NULL, NULL, priv);
}

/*
 * Send argv with rq for the reply (redis_reply_cb()), now or once fewer
 * than RQUEUE_WINDOW commands are awaited; rq is freed here if it cannot
 * be.  Return value: 0, or -1 if the link is not up.
 */
int
redis_send(struct rreq *rq, int argc, const char **argv,
    const size_t *lens)
{
	char		*cmd;
	int		 len, urgent, rv;

	if (gp->p_redis == NULL || !gp->p_up) {
		rqueue_drop(rq);
		return -1;
	}
	if ((len = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0)
		fatalx("redisFormatCommandArgv: out of memory");
	urgent = rq->rq_kind == RQ_LEASE || rq->rq_kind == RQ_CLAIM ||
	    rq->rq_kind == RQ_SWEEP;
	rv = rwin_send(&gp->p_win, urgent, cmd, (size_t)len, rq);
	redisFreeCommand(cmd);
	if (rv == -1) {
		rqueue_drop(rq);
		return -1;
	}
	gp->p_pending++;
	return 0;
}

/* Send queued commands while fewer than RQUEUE_WINDOW are awaited. */
void
rqueue_pump(void)
{
	rwin_pump(&gp->p_win);
}

/*
 * The link is gone: every queued command fails, in order, as the sent
 * ones did (redis_reply_cb() with no reply).
 */
void
rqueue_fail(void)
{
	rwin_fail(&gp->p_win);
}
