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
 */
#include <stdlib.h>

#include "log.h"
#include "presence.h"
#include "xmalloc.h"

struct rqueued {
	struct rqueued	*q_next;
	struct rreq	*q_rq;
	char		*q_cmd;		/* in Redis protocol */
	size_t		 q_len;
};

static struct rqueued	*rqueue_head;
static struct rqueued	**rqueue_tail = &rqueue_head;

/* Free rq, its command not sent. */
static void
rqueue_drop(struct rreq *rq)
{
	free(rq->rq_str);
	free(rq->rq_user);
	free(rq);
}

/* Put rq's command (cmd, len) on the link; cmd stays the caller's. */
static int
rqueue_put(struct rreq *rq, const char *cmd, size_t len)
{
	if (redisAsyncFormattedCommand(gp->p_redis, redis_reply_cb, rq, cmd,
	    len) != REDIS_OK)
		return -1;
	rq->rq_sent = 1;
	gp->p_inflight++;
	return 0;
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
	struct rqueued	*q;
	char		*cmd;
	int		 len, urgent;

	if (gp->p_redis == NULL || !gp->p_up) {
		rqueue_drop(rq);
		return -1;
	}
	if ((len = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0)
		fatalx("redisFormatCommandArgv: out of memory");
	urgent = rq->rq_kind == RQ_LEASE || rq->rq_kind == RQ_CLAIM ||
	    rq->rq_kind == RQ_SWEEP;
	if (urgent || (rqueue_head == NULL &&
	    gp->p_inflight < RQUEUE_WINDOW)) {
		if (rqueue_put(rq, cmd, (size_t)len) == -1) {
			redisFreeCommand(cmd);
			rqueue_drop(rq);
			return -1;
		}
		redisFreeCommand(cmd);
	} else {
		q = xmalloc(sizeof(*q));
		q->q_next = NULL;
		q->q_rq = rq;
		q->q_cmd = cmd;
		q->q_len = (size_t)len;
		*rqueue_tail = q;
		rqueue_tail = &q->q_next;
		gp->p_queued++;
	}
	gp->p_pending++;
	return 0;
}

/* Send queued commands while fewer than RQUEUE_WINDOW are awaited. */
void
rqueue_pump(void)
{
	struct rqueued	*q;

	while ((q = rqueue_head) != NULL && gp->p_inflight < RQUEUE_WINDOW &&
	    gp->p_redis != NULL && gp->p_up) {
		if ((rqueue_head = q->q_next) == NULL)
			rqueue_tail = &rqueue_head;
		gp->p_queued--;
		if (rqueue_put(q->q_rq, q->q_cmd, q->q_len) == -1)
			redis_reply_cb(NULL, NULL, q->q_rq);
		redisFreeCommand(q->q_cmd);
		free(q);
	}
}

/*
 * The link is gone: every queued command fails, in order, as the sent
 * ones did (redis_reply_cb() with no reply).
 */
void
rqueue_fail(void)
{
	struct rqueued	*q;

	while ((q = rqueue_head) != NULL) {
		if ((rqueue_head = q->q_next) == NULL)
			rqueue_tail = &rqueue_head;
		gp->p_queued--;
		redis_reply_cb(NULL, NULL, q->q_rq);
		redisFreeCommand(q->q_cmd);
		free(q);
	}
}
