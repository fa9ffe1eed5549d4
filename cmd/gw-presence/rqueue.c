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

#include "htab.h"
#include "log.h"
#include "presence.h"
#include "resp.h"
#include "rwin.h"

static int	rqueue_put(void *, const char *, size_t, void *);
static void	rqueue_failed(void *, void *);
static void	rpass_step(struct rpass *);

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
	static struct buf	 cmd;	/* rwin_send() copies it */
	int			 urgent, rv;

	if (gp->p_redis == NULL || !gp->p_up) {
		rqueue_drop(rq);
		return -1;
	}
	cmd.b_len = 0;
	resp_argv(&cmd, argc, argv, lens);
	urgent = rq->rq_kind == RQ_LEASE || rq->rq_kind == RQ_CLAIM ||
	    rq->rq_kind == RQ_SWEEP;
	rv = rwin_send(&gp->p_win, urgent, cmd.b_p, cmd.b_len, rq);
	if (cmd.b_cap > 1024 * 1024)
		buf_free(&cmd);		/* a big state's: not kept */
	if (rv == -1) {
		rqueue_drop(rq);
		return -1;
	}
	gp->p_pending++;
	if (gp->p_win.rw_queued >= RQUEUE_HIGH)
		presence_pause(1);
	return 0;
}

/*
 * Send queued commands while fewer than RQUEUE_WINDOW are awaited; read
 * the workers again once the queue is short (they are paused when it
 * reaches RQUEUE_HIGH: presence_pause()), and let the passes under way
 * queue some more.
 */
void
rqueue_pump(void)
{
	rwin_pump(&gp->p_win);
	if (gp->p_win.rw_queued <= RQUEUE_LOW)
		presence_pause(0);
	rpass_step(&gp->p_epass);
	rpass_step(&gp->p_spass);
}

/*
 * Start pass rp over its table (quiet: its joins publish no presence
 * event), or start it again from the first bucket if it is under way:
 * the entries it has sent may have been lost since (a lapsed lease, a
 * new link).  A pass that was not quiet stays so: the entries it has not
 * reached yet still need their events.
 *
 * Queueing a command per entry at once made a million entries a
 * gigabyte of queue built in seconds of the loop; the lease lapsed
 * meanwhile, and the next pass queued them all again.
 */
void
rpass_start(struct rpass *rp, int quiet)
{
	rp->rp_quiet = rp->rp_active ? rp->rp_quiet && quiet : quiet;
	rp->rp_active = 1;
	rp->rp_slot = 0;
	rp->rp_count = 0;
	rpass_step(rp);
}

/*
 * Go on with pass rp while fewer than RQUEUE_LOW commands are queued,
 * a bucket at a time, so that the next step starts at a bucket (entries
 * may come and go between steps, the table may grow: see htab_iter_at()).
 * While the link is down the pass waits; a new link starts it again.
 */
static void
rpass_step(struct rpass *rp)
{
	struct htab_iter	 it;
	const char		*k;
	size_t			 klen;
	void			*v;

	if (!rp->rp_active || !gp->p_up)
		return;
	htab_iter_at(rp->rp_tab, &it, rp->rp_slot);
	for (;;) {
		if (it.hi_ent == NULL) {
			/* Between two buckets: stop here if the queue is full. */
			rp->rp_slot = it.hi_slot;
			if (gp->p_win.rw_queued >= RQUEUE_LOW)
				return;
		}
		if (!htab_iter_next(&it, &k, &klen, &v))
			break;
		if (rp->rp_fn(k, klen, v, rp->rp_quiet) == -1)
			return;
		rp->rp_count++;
	}
	rp->rp_active = 0;
	if (rp->rp_count > 0)
		log_info("%s: %zu", rp->rp_what, rp->rp_count);
}

/*
 * The link is gone: every queued command fails, in order, as the sent
 * ones did (redis_reply_cb() with no reply); the workers are read again.
 */
void
rqueue_fail(void)
{
	rwin_fail(&gp->p_win);
	presence_pause(0);
}
