/*
 * redis.c -- gw-presence's one Redis connection (hiredis async on the
 * libev loop): the scripts of lua.h, the lease, the sweep of dead
 * instances (the entries' commands are rentry.c's, the sessions'
 * rsess.c's, the queue of commands rqueue.c's).  A lost link is
 * reconnected with backoff, 100 ms doubling to 5 s; each connect loads
 * the scripts again (a restarted Redis has forgotten them), and once
 * they are loaded the node's entries are declared again, quietly, since
 * Redis may have lost them (a pass that keeps pace with Redis: rqueue.c).  A NOSCRIPT
 * answer (a SCRIPT FLUSH) drops the link, which does the same.
 *
 * Lease: every node_ttl/3 the lease script sets gw:lease:INST for
 * node_ttl and the instance's expiry in gw:nodes.  A lease found lapsed
 * while the link was up means this instance may have been swept: its
 * entries are declared again, with events for the users it brings back.
 *
 * Sweep: every min(1 s, node_ttl/3) the claim script looks for instances
 * whose lease has lapsed and locks the ones nobody sweeps yet; for each,
 * the sweep script is run batch after batch until its index is empty,
 * then its session set.
 *
 * Sessions: each save, drop or load is one command on the one link, so
 * that they reach Redis in the order the workers sent them; none waits
 * for a reply before the next message is served.  After a reconnect or a
 * lapsed lease, the sessions held here are owned again (a sweep may have
 * closed them meanwhile).
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "log.h"
#include "lua.h"
#include "presence.h"
#include "xmalloc.h"

#define REDIS_WAIT_MIN	0.1
#define REDIS_WAIT_MAX	5.0
#define REDIS_SETUP_MAX	5.0	/* seconds for a link to come up */
#define REDIS_SWEEPLOCK	"30000"	/* ms a sweeper holds an instance */
#define REDIS_SWEEPBATCH "200"	/* index members per sweep script */
#define REDIS_TRIM_AFTER 4096	/* commands awaited at once: a burst */
#define REDIS_TRIM_EVERY 60.0	/* seconds between two trims, at least */

static int	redis_stopping;		/* no reconnects: exiting */
static unsigned long redis_hiwater;	/* most awaited since a trim */

static void	redis_connect(void);
static void	redis_connected(const redisAsyncContext *, int);
static void	redis_disconnected(const redisAsyncContext *, int);
static void	redis_schedule(void);
static void	redis_retry_cb(struct ev_loop *, ev_timer *, int);
static void	redis_drop_cb(struct ev_loop *, ev_timer *, int);
static void	redis_lease_cb(struct ev_loop *, ev_timer *, int);
static void	redis_sweep_cb(struct ev_loop *, ev_timer *, int);
static void	redis_setup_cb(redisAsyncContext *, void *, void *);
static void	redis_lease(int);
static void	redis_sweep_batch(const char *, size_t);
static void	redis_trim(void);

/* Open the link and start the lease and sweep timers. */
void
redis_start(void)
{
	double	 ttl = gp->p_conf->pc_nodettl;

	gp->p_wait = REDIS_WAIT_MIN;
	rqueue_init();
	ev_init(&gp->p_retry, redis_retry_cb);
	ev_init(&gp->p_drop, redis_drop_cb);
	ev_timer_init(&gp->p_lease, redis_lease_cb, ttl / 3, ttl / 3);
	ev_timer_start(gp->p_loop, &gp->p_lease);
	ev_timer_init(&gp->p_sweep, redis_sweep_cb, fmin(1., ttl / 3),
	    fmin(1., ttl / 3));
	ev_timer_start(gp->p_loop, &gp->p_sweep);
	redis_connect();
}

/* Close the link (at exit).  The lease is kept: see gw-presence(8). */
void
redis_stop(void)
{
	redis_stopping = 1;
	gp->p_up = 0;
	ev_timer_stop(gp->p_loop, &gp->p_lease);
	ev_timer_stop(gp->p_loop, &gp->p_sweep);
	ev_timer_stop(gp->p_loop, &gp->p_retry);
	ev_timer_stop(gp->p_loop, &gp->p_drop);
	if (gp->p_redis != NULL)
		redisAsyncFree(gp->p_redis);
	gp->p_redis = NULL;
	rqueue_fail();
	rsess_free();
}

static void
redis_connect(void)
{
	const struct redis_addr	*ra = &gp->p_addr;
	const char		*scripts[SC_N] = { LUA_JOIN, LUA_LEAVE,
				    LUA_LEASE, LUA_CLAIM,
				    LUA_SWEEP, LUA_SSAVE, LUA_SLOAD,
				    LUA_SFREE, LUA_SOWN };
	redisAsyncContext	*ac;
	struct rreq		*rq;
	int			 i;

	if (ra->ra_port == 0)
		ac = redisAsyncConnectUnix(ra->ra_host);
	else
		ac = redisAsyncConnect(ra->ra_host, ra->ra_port);
	if (ac == NULL)
		fatalx("redisAsyncConnect: out of memory");
	if (ac->err) {
		log_warnx("redis %s: %s", ra->ra_host, ac->errstr);
		redisAsyncFree(ac);
		redis_schedule();
		return;
	}
	gp->p_redis = ac;
	gp->p_start = ev_now(gp->p_loop);
	redisLibevAttach(gp->p_loop, ac);
	redisAsyncSetConnectCallback(ac, redis_connected);
	redisAsyncSetDisconnectCallback(ac, redis_disconnected);
	/* Sent once connected; hiredis queues them. */
	if (ra->ra_pass[0] != '\0')
		redisAsyncCommand(ac, redis_setup_cb, "AUTH", "AUTH %s",
		    ra->ra_pass);
	if (ra->ra_db != 0)
		redisAsyncCommand(ac, redis_setup_cb, "SELECT", "SELECT %d",
		    ra->ra_db);
	rsess_setname(ac);
	for (i = 0; i < SC_N; i++) {
		rq = xcalloc(1, sizeof(*rq));
		rq->rq_kind = RQ_LOAD;
		rq->rq_id = i;
		if (redisAsyncCommand(ac, redis_reply_cb, rq, "SCRIPT LOAD %s",
		    scripts[i]) != REDIS_OK)
			free(rq);
	}
}

static void
redis_schedule(void)
{
	if (ev_is_active(&gp->p_retry) || redis_stopping)
		return;
	ev_timer_set(&gp->p_retry, gp->p_wait, 0.);
	ev_timer_start(gp->p_loop, &gp->p_retry);
	gp->p_wait = fmin(gp->p_wait * 2, REDIS_WAIT_MAX);
}

static void
redis_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (gp->p_redis == NULL)
		redis_connect();
}

static void
redis_connected(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		log_warnx("redis link: %s", ac->errstr);
		/* hiredis frees the context after this callback. */
		gp->p_redis = NULL;
		redis_schedule();
	}
	/* Up once the scripts are loaded (RQ_LOAD replies). */
}

static void
redis_disconnected(const redisAsyncContext *ac, int status)
{
	(void)status;
	if (gp->p_up)
		log_info("redis link down: %s", ac->err ? ac->errstr :
		    "closed");
	gp->p_redis = NULL;
	gp->p_up = 0;
	gp->p_leasesent = 0;
	gp->p_claiming = 0;
	gp->p_reconnects++;
	rqueue_fail();
	presence_drain_check();
	redis_schedule();
}

/* Drop the link, from outside hiredis's callbacks, after a log line. */
static void
redis_drop(const char *why)
{
	if (gp->p_redis == NULL || ev_is_active(&gp->p_drop))
		return;
	log_warnx("redis link: %s; reconnecting", why);
	gp->p_drop.data = gp->p_redis;
	ev_timer_set(&gp->p_drop, 0., 0.);
	ev_timer_start(gp->p_loop, &gp->p_drop);
}

static void
redis_drop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	redisAsyncContext	*ac = t->data;

	(void)loop;
	(void)revents;
	if (ac == NULL || ac != gp->p_redis)
		return;
	/*
	 * Not redisAsyncDisconnect(): it waits for the replies, which a
	 * wedged link never sends.  Freeing fails pending commands with a
	 * NULL reply and runs the disconnect callback, if it had connected.
	 */
	redisAsyncFree(ac);
	if (gp->p_redis == ac) {
		gp->p_redis = NULL;
		gp->p_up = 0;
		rqueue_fail();
		redis_schedule();
	}
}

/* AUTH or SELECT refused: say so and retry with backoff. */
static void
redis_setup_cb(redisAsyncContext *ac, void *r, void *what)
{
	redisReply	*reply = r;
	char		 why[256];

	if (reply == NULL || reply->type != REDIS_REPLY_ERROR ||
	    ac != gp->p_redis)
		return;
	snprintf(why, sizeof(why), "%s failed: %s", (const char *)what,
	    reply->str);
	redis_drop(why);
}

/*
 * All replies are in after a burst (a storm of connections: joins and
 * session saves by the ten thousand): hand the memory that held the
 * queued commands and replies back to the system.  glibc only returns
 * the top of its heap by itself; the rest would stay in the process's
 * RSS, about a third of it after 100 000 connections (docs/BENCH.md).
 */
static void
redis_trim(void)
{
	static ev_tstamp last;
	ev_tstamp	 now = ev_now(gp->p_loop), t;

	/*
	 * At most once a minute: malloc_trim() walks the whole heap, and
	 * the pages it gives back fault in again as soon as the storm goes
	 * on.  Called whenever the queue ran dry in a storm of a million
	 * connections, it held the loop long enough for the lease to lapse.
	 */
	if (redis_hiwater < REDIS_TRIM_AFTER || now - last < REDIS_TRIM_EVERY)
		return;
	redis_hiwater = 0;
	last = now;
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
	ev_now_update(gp->p_loop);
	if ((t = ev_now(gp->p_loop) - now) > 0.1)
		log_verbose("malloc_trim took %.2f s", t);
}

/* A command whose reply matters only if it is an error. */
int
redis_send_event(int argc, const char **argv, const size_t *lens)
{
	struct rreq	*rq;

	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_EVENT;
	return redis_send(rq, argc, argv, lens);
}

/* Renew the lease; first: the link just came up (a lapse is expected). */
static void
redis_lease(int first)
{
	const char	*argv[7];
	size_t		 lens[7];
	char		 lkey[128], ttl[24];
	struct rreq	*rq;

	snprintf(lkey, sizeof(lkey), "gw:lease:%s", gp->p_inst);
	snprintf(ttl, sizeof(ttl), "%.0f", gp->p_conf->pc_nodettl * 1000);
	argv[0] = "EVALSHA"; lens[0] = 7;
	argv[1] = gp->p_sha[SC_LEASE]; lens[1] = 40;
	argv[2] = "2"; lens[2] = 1;
	argv[3] = lkey; lens[3] = strlen(lkey);
	argv[4] = "gw:nodes"; lens[4] = 8;
	argv[5] = gp->p_inst; lens[5] = strlen(gp->p_inst);
	argv[6] = ttl; lens[6] = strlen(ttl);
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_LEASE;
	rq->rq_id = first;
	if (redis_send(rq, 7, argv, lens) == 0)
		gp->p_leasesent = ev_now(gp->p_loop);
}

static void
redis_claim(void)
{
	const char	*argv[6];
	size_t		 lens[6];
	struct rreq	*rq;

	if (gp->p_claiming)
		return;
	argv[0] = "EVALSHA"; lens[0] = 7;
	argv[1] = gp->p_sha[SC_CLAIM]; lens[1] = 40;
	argv[2] = "1"; lens[2] = 1;
	argv[3] = "gw:nodes"; lens[3] = 8;
	argv[4] = gp->p_inst; lens[4] = strlen(gp->p_inst);
	argv[5] = REDIS_SWEEPLOCK; lens[5] = strlen(REDIS_SWEEPLOCK);
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_CLAIM;
	if (redis_send(rq, 6, argv, lens) == 0)
		gp->p_claiming = 1;
}

/* Run one batch of the sweep of dead instance inst. */
static void
redis_sweep_batch(const char *inst, size_t len)
{
	const char	*argv[10];
	size_t		 lens[10];
	char		 idx[160], lock[160], sidx[160], win[24];
	struct rreq	*rq;

	snprintf(idx, sizeof(idx), "gw:inst:%.*s", (int)len, inst);
	snprintf(lock, sizeof(lock), "gw:sweep:%.*s", (int)len, inst);
	snprintf(sidx, sizeof(sidx), "gw:isess:%.*s", (int)len, inst);
	redis_window(win, sizeof(win));
	argv[0] = "EVALSHA"; lens[0] = 7;
	argv[1] = gp->p_sha[SC_SWEEP]; lens[1] = 40;
	argv[2] = "4"; lens[2] = 1;
	argv[3] = idx; lens[3] = strlen(idx);
	argv[4] = "gw:nodes"; lens[4] = 8;
	argv[5] = lock; lens[5] = strlen(lock);
	argv[6] = sidx; lens[6] = strlen(sidx);
	argv[7] = inst; lens[7] = len;
	argv[8] = REDIS_SWEEPBATCH; lens[8] = strlen(REDIS_SWEEPBATCH);
	argv[9] = win; lens[9] = strlen(win);
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_SWEEP;
	rq->rq_str = xmalloc(len + 1);
	memcpy(rq->rq_str, inst, len);
	rq->rq_str[len] = '\0';
	rq->rq_len = len;
	(void)redis_send(rq, 10, argv, lens);
}

/*
 * Read what the link holds before judging it overdue: after this process
 * was held up past a limit (a loaded machine, SIGSTOP), libev runs the
 * timer before the read events of the same iteration, and an answer
 * waiting in the socket would look like none.  Reading may drop the link.
 */
static void
redis_catch_up(void)
{
	if (gp->p_redis != NULL)
		redisAsyncHandleRead(gp->p_redis);
}

/*
 * The lease timer.  A lease unanswered for two periods means the link is
 * wedged: drop it.
 */
static void
redis_lease_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	double	limit = gp->p_conf->pc_nodettl * 2 / 3;

	(void)t;
	(void)revents;
	if (!gp->p_up)
		return;
	if (gp->p_leasesent == 0) {
		redis_lease(0);
		return;
	}
	/*
	 * Overdue, and nothing else came either (a link that keeps
	 * answering is busy, not wedged: the lease waits behind what was
	 * sent before it).  Read first, then judge.
	 */
	if (ev_now(loop) - gp->p_leasesent <= limit ||
	    ev_now(loop) - gp->p_lastreply <= limit)
		return;
	redis_catch_up();
	if (gp->p_up && gp->p_leasesent != 0 &&
	    ev_now(loop) - gp->p_lastreply > limit)
		redis_drop("no answer to the lease");
}

/* Is the link still not up REDIS_SETUP_MAX after it was opened? */
static int
redis_setup_late(struct ev_loop *loop)
{
	return gp->p_redis != NULL && !gp->p_up &&
	    ev_now(loop) - gp->p_start > REDIS_SETUP_MAX;
}

/* The sweep timer; it also retries a link that never came up. */
static void
redis_sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	if (redis_setup_late(loop)) {
		redis_catch_up();
		if (redis_setup_late(loop)) {
			redis_drop("no answer while setting up");
			return;
		}
	}
	if (gp->p_up)
		redis_claim();
}

/* The scripts are loaded: the link is up. */
static void
redis_link_up(void)
{
	log_info("redis link up: instance %s", gp->p_inst);
	gp->p_up = 1;
	gp->p_wait = REDIS_WAIT_MIN;
	gp->p_leasesent = 0;
	redis_lease(1);
	entry_redeclare(1);
	session_reown();
	redis_claim();
	presence_ready();
}

/* Log a script's error; NOSCRIPT (a SCRIPT FLUSH) reloads them all. */
int
redis_failed(const redisReply *reply, const char *what)
{
	if (reply == NULL)
		return 1;
	if (reply->type != REDIS_REPLY_ERROR)
		return 0;
	log_warnx("%s: %s", what, reply->str);
	if (strncmp(reply->str, "NOSCRIPT", 8) == 0)
		redis_drop("scripts flushed");
	return 1;
}

static void
redis_claim_reply(const redisReply *reply)
{
	size_t	 i;

	gp->p_claiming = 0;
	if (redis_failed(reply, "sweep claim") ||
	    reply->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		log_verbose("sweeping instance %s: its lease has lapsed",
		    reply->element[i]->str);
		redis_sweep_batch(reply->element[i]->str,
		    reply->element[i]->len);
	}
}

static void
redis_sweep_reply(struct rreq *rq, const redisReply *reply)
{
	long long	 taken, gone, done, closed;

	if (redis_failed(reply, "sweep"))
		return;		/* its lock lapses; somebody sweeps again */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER ||
	    reply->element[2]->type != REDIS_REPLY_INTEGER ||
	    reply->element[3]->type != REDIS_REPLY_INTEGER) {
		log_warnx("sweep %s: bad reply", rq->rq_str);
		return;
	}
	taken = reply->element[0]->integer;
	gone = reply->element[1]->integer;
	done = reply->element[2]->integer;
	closed = reply->element[3]->integer;
	gp->p_swept += gone;
	gp->p_sexpired += closed;
	log_verbose("swept %lld entries of instance %s: %lld users left, "
	    "%lld sessions closed%s", taken, rq->rq_str, gone, closed,
	    done ? "; done" : "");
	if (!done)
		redis_sweep_batch(rq->rq_str, rq->rq_len);
}

/*
 * Every reply, and every command that failed (no reply: the link went,
 * or a queued command was never sent).
 */
void
redis_reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	struct rreq	*rq = priv;

	(void)ac;
	if (reply != NULL)
		gp->p_lastreply = ev_now(gp->p_loop);
	if (gp->p_pending > redis_hiwater)
		redis_hiwater = gp->p_pending;
	if (rq->rq_kind != RQ_LOAD && gp->p_pending > 0)
		gp->p_pending--;
	if (rq->rq_sent)
		rwin_replied(&gp->p_win);
	if (redis_stopping)
		goto done;
	switch (rq->rq_kind) {
	case RQ_LOAD:
		if (reply == NULL || reply->type != REDIS_REPLY_STRING ||
		    reply->len != 40) {
			if (reply != NULL)
				log_warnx("SCRIPT LOAD: %s",
				    reply->type == REDIS_REPLY_ERROR ?
				    reply->str : "bad reply");
			break;
		}
		memcpy(gp->p_sha[rq->rq_id], reply->str, 40);
		gp->p_sha[rq->rq_id][40] = '\0';
		if (rq->rq_id == SC_N - 1 && ac == gp->p_redis)
			redis_link_up();
		break;
	case RQ_EVENT:
		(void)redis_failed(reply, "redis");
		break;
	case RQ_LEAVE:
		entry_leave_done(rq->rq_str, rq->rq_len, rq->rq_gen,
		    !redis_failed(reply, "leave"));
		break;
	case RQ_QLEN:
		redis_qlen_reply(rq, reply);
		break;
	case RQ_QUERY:
		redis_query_reply(rq, reply);
		break;
	case RQ_LEASE:
		if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
			gp->p_leasesent = 0;
		if (redis_failed(reply, "lease") ||
		    reply->type != REDIS_REPLY_INTEGER)
			break;
		if (reply->integer != 1 && !rq->rq_id) {
			/*
			 * Swept: its users left, they join again (events).
			 * Lost by Redis: nobody saw them go, so quietly.
			 */
			log_warnx("the lease of %s had lapsed (%s); declaring "
			    "its entries again", gp->p_inst,
			    reply->integer == 0 ? "swept" : "Redis lost it");
			entry_redeclare(reply->integer == 2);
			session_reown();
		}
		break;
	case RQ_CLAIM:
		redis_claim_reply(reply);
		break;
	case RQ_SWEEP:
		redis_sweep_reply(rq, reply);
		break;
	case RQ_SLOAD:
		redis_sload_reply(rq, reply);
		break;
	}
	if (reply != NULL)
		rqueue_pump();
	if (gp->p_pending == 0) {
		redis_trim();
		presence_drain_check();
	}
done:
	free(rq->rq_str);
	free(rq->rq_user);
	free(rq);
}
