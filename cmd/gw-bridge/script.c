/*
 * script.c -- the commands that run gw-bridge's scripts (lua.h) on the
 * command link: publish, subscribe, history.  The replies come to
 * redis_reply_cb() (redis.c).
 *
 * Replays (a subscribe with since, a history read, the bridge's own
 * catch-up) go through a window (lib/rwin.c): at most REDIS_WINDOW
 * commands awaited at a time, the rest kept here in order.  Publishes
 * and plain subscribes skip it: in a reconnect storm, tens of thousands
 * of replays pipelined at once held every publish behind them on the
 * link (a publish's answer hundreds of milliseconds late).  A plain
 * subscribe skips it too, so that a client's publish never overtakes its
 * own subscribe; one that overtakes its subscribe with since is in the
 * replay.
 *
 * Publishes go in batches: those of one loop turn, up to PUB_MAX, run
 * as one script (one EVALSHA, the clock read once), sent before the loop
 * sleeps, or sooner if the batch is full or another command is to go
 * on the link (so the link keeps the order the requests came in).  One
 * script for ten messages costs Redis about 0.7 of ten scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <openssl/rand.h>

#include "bridge.h"
#include "buf.h"
#include "log.h"
#include "resp.h"
#include "rwin.h"
#include "xmalloc.h"

#define REDIS_MAXREPLAY	10000	/* messages in one replay */
#define REDIS_WINDOW	64	/* commands awaited before a replay waits */
#define PUB_MAX		32	/* messages in one publish script */
#define PUB_MAXBYTES	(256 * 1024)	/* or fewer, once their bytes pass it */

static unsigned char redis_rand[512];	/* random bytes for epochs */
static size_t	redis_randused = sizeof(redis_rand);
static struct rwin redis_win;		/* the command link's window */
static char	redis_histsize[16];	/* the configuration, as text */
static char	redis_histttl[16];

/* The publishes not yet sent: one script's keys and arguments. */
static struct {
	struct rreq	*pb_rq;		/* NULL: none */
	struct buf	 pb_keys;	/* two a message */
	struct buf	 pb_args;	/* six a message */
	struct buf	 pb_cmd;	/* the whole command, at the flush;
					   redis_eval()'s, between */
} pb;

static int	redis_win_put(void *, const char *, size_t, void *);
static void	redis_win_fail(void *, void *);
static void	pub_reset(struct buf *);

/* Set up the window and the configuration's text (at start). */
void
script_init(void)
{
	snprintf(redis_histsize, sizeof(redis_histsize), "%u",
	    gb->b_conf->bc_histsize);
	snprintf(redis_histttl, sizeof(redis_histttl), "%u",
	    gb->b_conf->bc_histttl);
	rwin_init(&redis_win, REDIS_WINDOW, redis_win_put, redis_win_fail,
	    NULL);
}

/* Send queued replays while the window has room (each loop turn). */
void
script_pump(void)
{
	rwin_pump(&redis_win);
}

/* The command link is gone: every queued replay fails, in order. */
void
script_fail(void)
{
	script_flush();		/* the link is down: they fail */
	rwin_fail(&redis_win);
}

/* A command that was put on the link has its reply (or failed there). */
void
script_replied(void)
{
	rwin_replied(&redis_win);
}

/*
 * A new history's epoch: 16 hex digits drawn from a batch of random
 * bytes.  Every publish and subscribe carries one, in case its channel
 * has no history yet; a RAND_bytes() call each cost thousands of
 * instructions and a getpid() (OpenSSL's fork check), one per message.
 */
static void
redis_epoch(char e[17])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		*r;
	int			 i;

	if (redis_randused + 8 > sizeof(redis_rand)) {
		if (RAND_bytes(redis_rand, sizeof(redis_rand)) != 1)
			fatalx("RAND_bytes");
		redis_randused = 0;
	}
	r = redis_rand + redis_randused;
	redis_randused += 8;
	for (i = 0; i < 8; i++) {
		e[2 * i] = hex[r[i] >> 4];
		e[2 * i + 1] = hex[r[i] & 0xf];
	}
	e[16] = '\0';
}

static int
redis_eval(struct rreq *rq, const char *sha, const char *ch, size_t chlen,
    int nargs, const char **args, const size_t *lens)
{
	const char	*argv[16];
	size_t		 argl[16];
	char		 skey[256], mkey[256];
	int		 i, n = 0, rv, urgent;

	script_flush();		/* the publishes that came before it */
	if (gb->b_cmd == NULL || !gb->b_cmdup) {
		free(rq->rq_chan);
		free(rq);
		return -1;
	}
	chan_key(skey, sizeof(skey), ch, chlen, 's');
	chan_key(mkey, sizeof(mkey), ch, chlen, 'm');
	argv[n] = "EVALSHA"; argl[n++] = 7;
	argv[n] = sha; argl[n++] = 40;
	argv[n] = "2"; argl[n++] = 1;
	argv[n] = skey; argl[n++] = strlen(skey);
	argv[n] = mkey; argl[n++] = strlen(mkey);
	for (i = 0; i < nargs; i++) {
		argv[n] = args[i];
		argl[n++] = lens[i];
	}
	/* pb_cmd is free: script_flush() above sent the batch it held. */
	resp_argv(&pb.pb_cmd, n, argv, argl);
	/* A subscribe's first argument is since: empty, a plain one. */
	urgent = rq->rq_kind == RQ_SUB && nargs > 0 && lens[0] == 0;
	rv = rwin_send(&redis_win, urgent, pb.pb_cmd.b_p, pb.pb_cmd.b_len, rq);
	pub_reset(&pb.pb_cmd);
	if (rv == -1) {
		free(rq->rq_chan);
		free(rq);
		return -1;
	}
	return 0;
}

/*
 * The command link's window: commands awaited on it (publishes
 * included), and replays waiting in gw-bridge.
 */
void
redis_window_counts(size_t *awaited, size_t *queued)
{
	*awaited = redis_win.rw_inflight;
	*queued = redis_win.rw_queued;
}

/* rwin's put: rq's command (cmd, len) on the command link. */
static int
redis_win_put(void *arg, const char *cmd, size_t len, void *priv)
{
	struct rreq	*rq = priv;

	(void)arg;
	if (gb->b_cmd == NULL || !gb->b_cmdup ||
	    redisAsyncFormattedCommand(gb->b_cmd, redis_reply_cb, rq, cmd,
	    len) != REDIS_OK)
		return -1;
	rq->rq_sent = 1;
	return 0;
}

/* rwin's fail: queued rq is never sent; it fails as a lost link's do. */
static void
redis_win_fail(void *arg, void *priv)
{
	(void)arg;
	redis_reply_cb(NULL, NULL, priv);
}

/* Empty b, and give its memory back if a big batch grew it. */
static void
pub_reset(struct buf *b)
{
	b->b_len = 0;
	if (b->b_cap > 4 * PUB_MAXBYTES)
		buf_free(b);
}

/*
 * Publish data (JSON text) from (a user id of at most BRIDGE_MAXFROM
 * bytes, or empty for the server) on channel ch for worker w's request
 * id: it joins this loop turn's batch (see above).  The reply goes back
 * to w.  Return value: 0 if taken, -1 if Redis is not reachable.
 */
int
redis_publish(struct worker *w, uint32_t id, const char *ch, size_t chlen,
    const char *data, size_t datalen, const char *from, size_t fromlen,
    uint64_t ts)
{
	struct rreq	*rq;
	struct pubreq	*p;
	char		 tsbuf[24], epoch[17], key[256];

	if (gb->b_cmd == NULL || !gb->b_cmdup)
		return -1;
	if ((rq = pb.pb_rq) == NULL) {
		rq = pb.pb_rq = xcalloc(1, sizeof(*rq));
		rq->rq_kind = RQ_PUBLISH;
		rq->rq_pubs = xcalloc(PUB_MAX, sizeof(*rq->rq_pubs));
	}
	p = &rq->rq_pubs[rq->rq_npubs++];
	p->pr_worker = w->w_serial;
	p->pr_id = id;
	chan_key(key, sizeof(key), ch, chlen, 's');
	resp_bulk(&pb.pb_keys, key, strlen(key));
	chan_key(key, sizeof(key), ch, chlen, 'm');
	resp_bulk(&pb.pb_keys, key, strlen(key));
	snprintf(tsbuf, sizeof(tsbuf), "%llu", (unsigned long long)ts);
	redis_epoch(epoch);
	chan_key(key, sizeof(key), ch, chlen, 'p');
	resp_bulk(&pb.pb_args, ch, chlen);
	resp_bulk(&pb.pb_args, data, datalen);
	/* gw-listen counted its bytes against max_message: same escapes. */
	if (fromlen == 0)
		resp_bulk(&pb.pb_args, "null", 4);
	else
		resp_bulkjson(&pb.pb_args, from, fromlen);
	resp_bulk(&pb.pb_args, tsbuf, strlen(tsbuf));
	resp_bulk(&pb.pb_args, epoch, 16);
	resp_bulk(&pb.pb_args, key, strlen(key));
	if (rq->rq_npubs == PUB_MAX || pb.pb_args.b_len >= PUB_MAXBYTES)
		script_flush();
	return 0;
}

/*
 * Send the batch of publishes, if any: one EVALSHA.  If the link is
 * down, each of them fails back to its worker.
 */
void
script_flush(void)
{
	struct rreq	*rq = pb.pb_rq;
	struct buf	*c = &pb.pb_cmd;
	char		 num[24];
	int		 n;

	if (rq == NULL)
		return;
	pb.pb_rq = NULL;
	/* EVALSHA sha numkeys keys... size ttl args... */
	c->b_len = 0;
	resp_head(c, 5 + 8 * rq->rq_npubs);
	resp_bulk(c, "EVALSHA", 7);
	resp_bulk(c, gb->b_shapub, 40);
	n = snprintf(num, sizeof(num), "%zu", 2 * rq->rq_npubs);
	resp_bulk(c, num, (size_t)n);
	buf_add(c, pb.pb_keys.b_p, pb.pb_keys.b_len);
	resp_bulk(c, redis_histsize, strlen(redis_histsize));
	resp_bulk(c, redis_histttl, strlen(redis_histttl));
	buf_add(c, pb.pb_args.b_p, pb.pb_args.b_len);
	pub_reset(&pb.pb_keys);
	pub_reset(&pb.pb_args);
	gb->b_pubscripts++;
	if (gb->b_cmd == NULL || !gb->b_cmdup ||
	    rwin_send(&redis_win, 1, c->b_p, c->b_len, rq) == -1)
		redis_reply_cb(NULL, NULL, rq);	/* each one fails */
	pub_reset(c);
}

/*
 * A publish script's reply (NULL: the link failed): each message's
 * offset, or an error, back to its worker.
 */
void
script_published(struct rreq *rq, redisReply *reply)
{
	struct pubreq	*p;
	struct worker	*w = NULL;
	struct ipc_msg	*m;
	redisReply	*e;
	uint64_t	 serial = 0;
	size_t		 i;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("publish: %s", reply->str);
	for (i = 0; i < rq->rq_npubs; i++) {
		p = &rq->rq_pubs[i];
		e = NULL;
		if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
		    i < reply->elements)
			e = reply->element[i];
		if (e != NULL && e->type == REDIS_REPLY_STRING)
			gb->b_published++;
		else if (e != NULL && e->type == REDIS_REPLY_ERROR)
			log_warnx("publish: %s", e->str);
		/* A batch's messages mostly come from one worker: looked up once. */
		if (p->pr_worker != serial) {
			serial = p->pr_worker;
			w = bridge_worker(serial);
		}
		if (w == NULL || w->w_dead)
			continue;
		if (e != NULL && e->type == REDIS_REPLY_STRING) {
			m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, p->pr_id);
			ipc_add_str(m, e->str, e->len);
			bridge_send(w, m);
		} else if (e != NULL)
			bridge_send_fail(w, p->pr_id, "unavailable",
			    "the message store refused the message");
		else
			/* The link went with the batch: sent, or not. */
			bridge_send_fail(w, p->pr_id, "unavailable",
			    "the message store did not answer: the message "
			    "may have been published");
	}
}

/*
 * Run the subscribe script for channel c: its latest offset and, with
 * since, what followed it.  w is NULL for the bridge's own catch-up.
 * Return value: 0 if sent, -1 if Redis is not reachable.
 */
int
redis_sub_script(struct bchan *c, struct worker *w, uint32_t id,
    uint32_t flags, const char *since)
{
	struct rreq	*rq;
	const char	*args[4];
	size_t		 lens[4];
	char		 epoch[17], max[16];

	redis_epoch(epoch);
	/*
	 * Not our history size: another node may keep a longer history, and
	 * a replay cut short must say so, not claim it recovered.
	 */
	snprintf(max, sizeof(max), "%u", (unsigned)REDIS_MAXREPLAY);
	args[0] = since != NULL ? since : ""; lens[0] = strlen(args[0]);
	args[1] = epoch; lens[1] = 16;
	args[2] = redis_histttl; lens[2] = strlen(redis_histttl);
	args[3] = max; lens[3] = strlen(max);
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_SUB;
	rq->rq_worker = w != NULL ? w->w_serial : 0;
	rq->rq_id = id;
	rq->rq_flags = flags;
	rq->rq_chan = xstrdup(c->ch_name);
	return redis_eval(rq, gb->b_shasub, c->ch_name, strlen(c->ch_name), 4,
	    args, lens);
}

/* Read history for worker w; the reply goes back to it. */
int
redis_history(struct worker *w, uint32_t id, const char *ch, size_t chlen,
    const char *since, size_t sincelen, uint32_t limit)
{
	struct rreq	*rq;
	const char	*args[2];
	size_t		 lens[2];
	char		 lim[16];

	snprintf(lim, sizeof(lim), "%u", limit);
	args[0] = since; lens[0] = sincelen;
	args[1] = lim; lens[1] = strlen(lim);
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_HISTORY;
	rq->rq_worker = w->w_serial;
	rq->rq_id = id;
	return redis_eval(rq, gb->b_shahist, ch, chlen, 2, args, lens);
}
