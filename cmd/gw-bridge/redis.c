/*
 * redis.c -- gw-bridge's two Redis connections (hiredis async on the libev
 * loop): one for commands (the scripts of lua.h, sent by script.c; the
 * health probe), one for pub/sub.  Either one lost is reconnected with backoff, 100 ms
 * doubling to 5 s; the pub/sub one then re-subscribes every live channel
 * and catches up from history (chan.c).
 *
 * Health: every probe interval the command link publishes a probe on a
 * channel private to this process, which the pub/sub link subscribes to.
 * A probe not answered on the command link, or not seen on the pub/sub
 * link, within three intervals marks the link dead: the node turns
 * unhealthy and the link is reconnected.  This catches a pub/sub link that
 * stopped delivering while publishes still succeed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/sds.h>
#include <openssl/rand.h>

#include "bridge.h"
#include "htab.h"
#include "log.h"
#include "lua.h"
#include "xmalloc.h"

#define REDIS_WAIT_MIN	0.1
#define REDIS_WAIT_MAX	5.0

static int	redis_stopping;		/* no reconnects: exiting */

static void	redis_connect_cmd(void);
static void	redis_connect_sub(void);
static redisAsyncContext *redis_connect(const struct redis_addr *);
static void	redis_cmd_connected(const redisAsyncContext *, int);
static void	redis_cmd_disconnected(const redisAsyncContext *, int);
static void	redis_sub_connected(const redisAsyncContext *, int);
static void	redis_sub_disconnected(const redisAsyncContext *, int);
static void	redis_retry_cb(struct ev_loop *, ev_timer *, int);
static void	redis_probe_cb(struct ev_loop *, ev_timer *, int);
static void	redis_beat_cb(struct ev_loop *, ev_timer *, int);
static void	redis_flush_cb(struct ev_loop *, ev_prepare *, int);
static void	redis_flush(redisAsyncContext *);
static void	redis_push_cb(redisAsyncContext *, void *, void *);
static void	redis_setup_cb(redisAsyncContext *, void *, void *);
static void	redis_drop_cb(struct ev_loop *, ev_timer *, int);

/* Open both links and start the probe. */
void
redis_start(void)
{
	unsigned char	r[8];

	snprintf(gb->b_probech, sizeof(gb->b_probech), "gw:probe:%s:%d",
	    gb->b_conf->bc_node, (int)getpid());
	if (RAND_bytes(r, sizeof(r)) != 1)
		fatalx("RAND_bytes");
	snprintf(gb->b_gatherch, sizeof(gb->b_gatherch),
	    "%s:%s:%02x%02x%02x%02x%02x%02x%02x%02x", GATHER_CH,
	    gb->b_conf->bc_node, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	script_init();
	gb->b_cmdwait = gb->b_subwait = REDIS_WAIT_MIN;
	ev_init(&gb->b_cmdtimer, redis_retry_cb);
	gb->b_cmdtimer.data = &gb->b_cmd;
	ev_init(&gb->b_subtimer, redis_retry_cb);
	gb->b_subtimer.data = &gb->b_sub;
	ev_timer_init(&gb->b_probetimer, redis_probe_cb, gb->b_conf->bc_probe,
	    gb->b_conf->bc_probe);
	ev_timer_start(gb->b_loop, &gb->b_probetimer);
	/* The workers take a bridge silent for long for a stuck one. */
	ev_timer_init(&gb->b_beattimer, redis_beat_cb, BRIDGE_BEAT,
	    BRIDGE_BEAT);
	ev_timer_start(gb->b_loop, &gb->b_beattimer);
	ev_unref(gb->b_loop);	/* it keeps nothing alive */
	ev_prepare_init(&gb->b_rflush, redis_flush_cb);
	ev_prepare_start(gb->b_loop, &gb->b_rflush);
	ev_unref(gb->b_loop);	/* it keeps nothing alive */
	redis_connect_cmd();
	redis_connect_sub();
}

/* Close both links (at exit). */
void
redis_stop(void)
{
	redis_stopping = 1;
	gb->b_cmdup = gb->b_subup = 0;	/* no "link lost" on the way out */
	ev_timer_stop(gb->b_loop, &gb->b_probetimer);
	ev_ref(gb->b_loop);
	ev_timer_stop(gb->b_loop, &gb->b_beattimer);
	ev_prepare_stop(gb->b_loop, &gb->b_rflush);
	ev_timer_stop(gb->b_loop, &gb->b_cmdtimer);
	ev_timer_stop(gb->b_loop, &gb->b_subtimer);
	if (gb->b_cmd != NULL)
		redisAsyncFree(gb->b_cmd);
	if (gb->b_sub != NULL)
		redisAsyncFree(gb->b_sub);
	gb->b_cmd = gb->b_sub = NULL;
	script_fail();
}

static redisAsyncContext *
redis_connect(const struct redis_addr *ra)
{
	redisAsyncContext	*ac;

	if (ra->ra_port == 0)
		ac = redisAsyncConnectUnix(ra->ra_host);
	else
		ac = redisAsyncConnect(ra->ra_host, ra->ra_port);
	if (ac == NULL)
		fatalx("redisAsyncConnect: out of memory");
	if (ac->err) {
		log_warnx("redis %s: %s", ra->ra_host, ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	redisLibevAttach(gb->b_loop, ac);
	/* Sent once connected; hiredis queues them. */
	if (ra->ra_pass[0] != '\0')
		redisAsyncCommand(ac, redis_setup_cb, "AUTH", "AUTH %s",
		    ra->ra_pass);
	if (ra->ra_db != 0)
		redisAsyncCommand(ac, redis_setup_cb, "SELECT", "SELECT %d",
		    ra->ra_db);
	return ac;
}

static void
redis_schedule(ev_timer *t, double *wait)
{
	if (ev_is_active(t) || redis_stopping)
		return;
	ev_timer_set(t, *wait, 0.);
	ev_timer_start(gb->b_loop, t);
	*wait = *wait * 2 > REDIS_WAIT_MAX ? REDIS_WAIT_MAX : *wait * 2;
}

static void
redis_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	if (t->data == &gb->b_cmd)
		redis_connect_cmd();
	else
		redis_connect_sub();
}

static void
redis_connect_cmd(void)
{
	struct rreq	*rq;
	const char	*scripts[3] = { LUA_PUBLISH, LUA_SUBSCRIBE, LUA_HISTORY };
	int		 i;

	if ((gb->b_cmd = redis_connect(&gb->b_addr)) == NULL) {
		redis_schedule(&gb->b_cmdtimer, &gb->b_cmdwait);
		return;
	}
	gb->b_cmdstart = ev_now(gb->b_loop);
	redisAsyncSetConnectCallback(gb->b_cmd, redis_cmd_connected);
	redisAsyncSetDisconnectCallback(gb->b_cmd, redis_cmd_disconnected);
	for (i = 0; i < 3; i++) {
		rq = xcalloc(1, sizeof(*rq));
		rq->rq_kind = RQ_LOAD;
		rq->rq_id = i;
		redisAsyncCommand(gb->b_cmd, redis_reply_cb, rq,
		    "SCRIPT LOAD %s", scripts[i]);
	}
}

static void
redis_connect_sub(void)
{
	if ((gb->b_sub = redis_connect(&gb->b_subaddr)) == NULL) {
		redis_schedule(&gb->b_subtimer, &gb->b_subwait);
		return;
	}
	gb->b_substart = ev_now(gb->b_loop);
	redisAsyncSetConnectCallback(gb->b_sub, redis_sub_connected);
	redisAsyncSetDisconnectCallback(gb->b_sub, redis_sub_disconnected);
	/*
	 * One command: Redis has taken all three when the probe's is
	 * confirmed, and b_subup says the gathers' are in place too.
	 */
	redisAsyncCommand(gb->b_sub, redis_push_cb, NULL, "SUBSCRIBE %s %s %s",
	    gb->b_probech, GATHER_CH, gb->b_gatherch);
}

static void
redis_cmd_connected(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		log_warnx("redis command link: %s", ac->errstr);
		/* hiredis frees the context after this callback. */
		gb->b_cmd = NULL;
		redis_schedule(&gb->b_cmdtimer, &gb->b_cmdwait);
		return;
	}
	/* Ready once the scripts are loaded (RQ_LOAD replies). */
}

static void
redis_cmd_disconnected(const redisAsyncContext *ac, int status)
{
	(void)status;
	if (gb->b_cmdup)
		log_warnx("redis command link lost: %s",
		    ac->err ? ac->errstr : "closed");
	gb->b_cmd = NULL;
	gb->b_cmdup = 0;
	gb->b_probesent = 0;
	gb->b_reconnects++;
	script_fail();	/* the sent ones failed before this */
	bridge_health_update();
	redis_schedule(&gb->b_cmdtimer, &gb->b_cmdwait);
}

static void
redis_sub_connected(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		log_warnx("redis pub/sub link: %s", ac->errstr);
		gb->b_sub = NULL;
		redis_schedule(&gb->b_subtimer, &gb->b_subwait);
		return;
	}
}

static void
redis_sub_disconnected(const redisAsyncContext *ac, int status)
{
	(void)status;
	if (gb->b_subup)
		log_warnx("redis pub/sub link lost: %s",
		    ac->err ? ac->errstr : "closed");
	gb->b_sub = NULL;
	gb->b_subup = 0;
	gb->b_reconnects++;
	bridge_health_update();
	redis_schedule(&gb->b_subtimer, &gb->b_subwait);
}

/* Drop a link that stopped answering; its disconnect callback reconnects. */
static void
redis_drop(redisAsyncContext *ac, const char *why)
{
	if (ac == NULL)
		return;
	log_warnx("redis %s link: %s; reconnecting",
	    ac == gb->b_cmd ? "command" : "pub/sub", why);
	/*
	 * Not redisAsyncDisconnect(): it waits for the replies, which a
	 * wedged link never sends.  Freeing fails pending commands with a
	 * NULL reply and runs the disconnect callback, which reconnects.
	 */
	redisAsyncFree(ac);
	/* Not connected yet: hiredis ran no disconnect callback. */
	if (gb->b_cmd == ac) {
		gb->b_cmd = NULL;
		script_fail();
		redis_schedule(&gb->b_cmdtimer, &gb->b_cmdwait);
	} else if (gb->b_sub == ac) {
		gb->b_sub = NULL;
		redis_schedule(&gb->b_subtimer, &gb->b_subwait);
	}
}

/*
 * AUTH or SELECT failed (wrong password, no such database): say so, and
 * drop the link from outside hiredis's callback; it is retried with
 * backoff, so that fixing Redis's side is enough.
 */
static void
redis_setup_cb(redisAsyncContext *ac, void *r, void *what)
{
	redisReply	*reply = r;
	static ev_timer	 t[2];	/* one per link */
	ev_timer	*tp = &t[ac == gb->b_cmd ? 0 : 1];

	if (reply == NULL || reply->type != REDIS_REPLY_ERROR ||
	    ev_is_active(tp))
		return;
	log_warnx("redis %s link: %s failed: %s", ac == gb->b_cmd ?
	    "command" : "pub/sub", (const char *)what, reply->str);
	ev_timer_init(tp, redis_drop_cb, 0., 0.);
	tp->data = ac;
	ev_timer_start(gb->b_loop, tp);
}

static void
redis_drop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	if (t->data == gb->b_cmd || t->data == gb->b_sub) {
		if (t->data == gb->b_cmd)
			gb->b_cmdup = 0;
		else
			gb->b_subup = 0;
		bridge_health_update();
		redis_drop(t->data, "setup refused");
	}
}

/*
 * Is the command link stuck: its probe unanswered for more than limit
 * seconds at now, and no other reply either?  A link that answers is
 * alive, however long its backlog: the probe's answer waits behind every
 * reply sent before it (a storm of since-replays held 85 MB of them), and
 * dropping a busy link fails all of its requests, which come again.
 */
static int
redis_cmd_stuck(ev_tstamp now, double limit)
{
	return gb->b_cmdup && gb->b_probesent != 0 &&
	    now - gb->b_probesent > limit && now - gb->b_cmdlast > limit;
}

/* The same for the pub/sub link: a published probe not back, nor else. */
static int
redis_sub_stuck(ev_tstamp now, double limit)
{
	return gb->b_subup && gb->b_probeunseen != 0 &&
	    now - gb->b_probeunseen > limit && now - gb->b_sublast > limit;
}

/*
 * Is link ac (up: its flag, start: when it was opened) still not up
 * after limit seconds at now?  A wedged route is retried too.
 */
static int
redis_setup_late(const redisAsyncContext *ac, int up, ev_tstamp start,
    ev_tstamp now, double limit)
{
	return ac != NULL && !up && now - start > limit;
}

/*
 * Is a link overdue (an answer, a probe back, or its setup) by more than
 * limit seconds at now?
 */
static int
redis_overdue(ev_tstamp now, double limit)
{
	return redis_setup_late(gb->b_cmd, gb->b_cmdup, gb->b_cmdstart, now,
	    limit) || redis_setup_late(gb->b_sub, gb->b_subup, gb->b_substart,
	    now, limit) || redis_cmd_stuck(now, limit) ||
	    redis_sub_stuck(now, limit);
}

/* Every BRIDGE_BEAT: the health to every worker, as a sign of life. */
static void
redis_beat_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	bridge_health_beat();
}

static void
redis_probe_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_tstamp	now = ev_now(loop);
	double		limit = 3 * gb->b_conf->bc_probe;
	struct rreq	*rq;
	char		 seq[24];

	(void)t;
	(void)revents;
	/*
	 * Before judging a link, read what it holds: after this process
	 * was held up past the limit (a loaded machine, SIGSTOP), libev
	 * runs this timer before the read events of the same iteration,
	 * and an answer waiting in the socket would look like none.
	 * Reading may drop a link (EOF): the tests below look again.
	 */
	if (redis_overdue(now, limit)) {
		if (gb->b_cmd != NULL)
			redisAsyncHandleRead(gb->b_cmd);
		if (gb->b_sub != NULL)
			redisAsyncHandleRead(gb->b_sub);
	}
	if (redis_setup_late(gb->b_cmd, gb->b_cmdup, gb->b_cmdstart, now,
	    limit)) {
		redis_drop(gb->b_cmd, "no answer while setting up");
		return;
	}
	if (redis_setup_late(gb->b_sub, gb->b_subup, gb->b_substart, now,
	    limit)) {
		redis_drop(gb->b_sub, "no answer while setting up");
		return;
	}
	if (redis_cmd_stuck(now, limit)) {
		gb->b_cmdup = 0;
		bridge_health_update();
		redis_drop(gb->b_cmd, "no answer to the health probe");
		return;
	}
	if (redis_sub_stuck(now, limit)) {
		gb->b_subup = 0;
		bridge_health_update();
		redis_drop(gb->b_sub, "health probes stopped arriving");
		gb->b_probeunseen = 0;
	}
	if (!gb->b_cmdup || gb->b_probesent != 0)
		return;
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_PROBE;
	rq->rq_id = (uint32_t)++gb->b_probeseq;
	snprintf(seq, sizeof(seq), "%u", rq->rq_id);
	gb->b_probesent = now;
	redisAsyncCommand(gb->b_cmd, redis_reply_cb, rq, "PUBLISH %s %s",
	    gb->b_probech, seq);
}

/*
 * Before the loop sleeps: write what the links have queued.  hiredis
 * writes a command only once the loop says the socket is writable: a
 * watcher started, a loop turn, a write, the watcher stopped, so two
 * epoll_ctl() and a wake-up for every turn that sent commands.  The
 * socket almost always takes them at once: write now, and the watcher is
 * started and stopped within the turn, which libev never tells the
 * kernel.  What does not fit waits for the watcher as before.
 */
static void
redis_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	script_flush();	/* this turn's publishes */
	script_pump();	/* the replies of this turn made room */
	redis_flush(gb->b_cmd);
	redis_flush(gb->b_sub);	/* b_cmd's may have freed itself, not this */
}

static void
redis_flush(redisAsyncContext *ac)
{
	if (ac != NULL && (ac->c.flags & REDIS_CONNECTED) &&
	    !(ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) &&
	    ac->c.obuf != NULL && sdslen(ac->c.obuf) > 0)
		redisAsyncHandleWrite(ac);
}

/* Everything that arrives on the pub/sub link. */
static void
redis_push_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	const char	*kind;

	(void)ac;
	(void)priv;
	if (reply != NULL)
		gb->b_sublast = ev_now(gb->b_loop);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	kind = reply->element[0]->str;
	if (strcmp(kind, "message") == 0) {
		redisReply *ch = reply->element[1], *msg = reply->element[2];

		if (strcmp(ch->str, gb->b_probech) == 0) {
			gb->b_probeseen = (uint32_t)strtoul(msg->str, NULL,
			    10);
			gb->b_probeunseen = 0;
			return;
		}
		if (strcmp(ch->str, GATHER_CH) == 0)
			gather_cluster_request(msg->str, msg->len);
		else if (strcmp(ch->str, gb->b_gatherch) == 0)
			gather_cluster_reply(msg->str, msg->len);
		else
			chan_message(ch->str, ch->len, msg->str, msg->len);
	} else if (strcmp(kind, "subscribe") == 0) {
		redisReply *ch = reply->element[1];

		if (strcmp(ch->str, gb->b_probech) == 0) {
			/* The link works: declare the channels again. */
			log_info("redis pub/sub link up");
			gb->b_subup = 1;
			gb->b_subgen++;
			gb->b_subwait = REDIS_WAIT_MIN;
			gb->b_probeunseen = 0;
			chan_resubscribe_all();
			bridge_health_update();
			return;
		}
		if (strcmp(ch->str, GATHER_CH) != 0 &&
		    strcmp(ch->str, gb->b_gatherch) != 0)
			chan_confirmed(ch->str, ch->len);
	}
}

/*
 * SUBSCRIBE to a channel's pub/sub name on the pub/sub link.  Return
 * value: 0 if sent, -1 if the link is down (chan_resubscribe_all() will
 * do it when it is back).
 */
int
redis_subscribe(const char *pubsub)
{
	if (gb->b_sub == NULL || !gb->b_subup)
		return -1;
	redisAsyncCommand(gb->b_sub, redis_push_cb, NULL, "SUBSCRIBE %s",
	    pubsub);
	return 0;
}

/*
 * PUBLISH msg (len bytes) on pub/sub channel ch, for gather.c: the answer
 * (how many got it) goes to gather_published() for gather id, unless id
 * is 0.  Return value: 0 if sent, -1 if the link is down.
 */
int
redis_gather_publish(const char *ch, const char *msg, size_t len,
    uint32_t id)
{
	struct rreq	*rq;

	if (gb->b_cmd == NULL || !gb->b_cmdup)
		return -1;
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_GATHER;
	rq->rq_id = id;
	redisAsyncCommand(gb->b_cmd, redis_reply_cb, rq, "PUBLISH %s %b", ch,
	    msg, len);
	return 0;
}

/* UNSUBSCRIBE; nothing to do if the link is down. */
int
redis_unsubscribe(const char *pubsub)
{
	if (gb->b_sub == NULL || !gb->b_subup)
		return -1;
	redisAsyncCommand(gb->b_sub, NULL, NULL, "UNSUBSCRIBE %s", pubsub);
	return 0;
}

/*
 * The reply to a command of the command link (NULL: it failed, the link
 * is gone), sent to whom it belongs; rq is freed.
 */
void
redis_reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	struct rreq	*rq = priv;
	struct worker	*w = NULL;

	(void)ac;
	if (reply != NULL)
		gb->b_cmdlast = ev_now(gb->b_loop);
	if (rq->rq_sent)
		script_replied();
	if (rq->rq_worker != 0)
		w = bridge_worker(rq->rq_worker);	/* NULL if gone */
	switch (rq->rq_kind) {
	case RQ_LOAD:
		if (reply == NULL || reply->type != REDIS_REPLY_STRING ||
		    reply->len != 40) {
			if (reply != NULL)
				log_warnx("SCRIPT LOAD: %s", reply->type ==
				    REDIS_REPLY_ERROR ? reply->str : "bad reply");
			break;
		}
		memcpy(rq->rq_id == 0 ? gb->b_shapub : rq->rq_id == 1 ?
		    gb->b_shasub : gb->b_shahist, reply->str, 40);
		if (rq->rq_id == 2) {
			log_info("redis command link up");
			gb->b_cmdup = 1;
			gb->b_cmdwait = REDIS_WAIT_MIN;
			/* No probe ran while it was down. */
			gb->b_probeunseen = 0;
			chan_resubscribe_all();
			bridge_health_update();
		}
		break;
	case RQ_PROBE:
		if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
			break;
		gb->b_probesent = 0;
		/*
		 * Published: the pub/sub link owes it, unless it has
		 * brought it (or a later one) back already (the two links
		 * are read in no set order).  Sequence numbers compared
		 * modulo 2^32.
		 */
		if (gb->b_probeunseen == 0 && gb->b_subup &&
		    (int32_t)(gb->b_probeseen - rq->rq_id) < 0)
			gb->b_probeunseen = ev_now(gb->b_loop);
		break;
	case RQ_PUBLISH:
		script_published(rq, reply);
		break;
	case RQ_GATHER:
		if (rq->rq_id != 0)
			gather_published(rq->rq_id, reply != NULL &&
			    reply->type == REDIS_REPLY_INTEGER ?
			    reply->integer : -1);
		break;
	case RQ_SUB:
		chan_sub_reply(rq->rq_chan, w, rq->rq_worker, rq->rq_id,
		    rq->rq_flags, reply);
		break;
	case RQ_HISTORY:
		if (w == NULL)
			break;
		chan_history_reply(w, rq->rq_id, reply);
		break;
	}
	free(rq->rq_chan);
	free(rq->rq_pubs);
	free(rq);
}
