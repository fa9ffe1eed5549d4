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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <openssl/rand.h>

#include "bridge.h"
#include "log.h"
#include "rwin.h"
#include "xmalloc.h"

#define REDIS_MAXREPLAY	10000	/* messages in one replay */
#define REDIS_WINDOW	64	/* commands awaited before a replay waits */

static unsigned char redis_rand[512];	/* random bytes for epochs */
static size_t	redis_randused = sizeof(redis_rand);
static struct rwin redis_win;		/* the command link's window */
static char	redis_histsize[16];	/* the configuration, as text */
static char	redis_histttl[16];

static int	redis_win_put(void *, const char *, size_t, void *);
static void	redis_win_fail(void *, void *);

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

/*
 * The publisher's user id as JSON: null if empty; quoted as it is if it
 * needs no escape (printable ASCII without quote or backslash, the ids
 * clients have), into buf of len + 3 bytes at least; else escaped by
 * jansson into *dyn, which the caller frees.  Returns the text.
 */
static const char *
redis_from_json(const char *from, size_t len, char *buf, char **dyn)
{
	json_t	*s;
	size_t	 i;

	*dyn = NULL;
	if (len == 0)
		return "null";
	for (i = 0; i < len; i++)
		if (from[i] < 0x20 || from[i] > 0x7e || from[i] == '"' ||
		    from[i] == '\\')
			break;
	if (i == len) {
		buf[0] = '"';
		memcpy(buf + 1, from, len);
		buf[len + 1] = '"';
		buf[len + 2] = '\0';
		return buf;
	}
	if ((s = json_stringn(from, len)) == NULL ||
	    (*dyn = json_dumps(s, JSON_ENCODE_ANY)) == NULL)
		fatalx("redis_publish: json");
	json_decref(s);
	return *dyn;
}

static int
redis_eval(struct rreq *rq, const char *sha, const char *ch, size_t chlen,
    int nargs, const char **args, const size_t *lens)
{
	const char	*argv[16];
	size_t		 argl[16];
	char		 skey[256], mkey[256], *cmd;
	int		 i, n = 0, len, rv, urgent;

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
	if ((len = redisFormatCommandArgv(&cmd, n, argv, argl)) < 0)
		fatalx("redisFormatCommandArgv: out of memory");
	/* A subscribe's first argument is since: empty, a plain one. */
	urgent = rq->rq_kind == RQ_PUBLISH || (rq->rq_kind == RQ_SUB &&
	    nargs > 0 && lens[0] == 0);
	rv = rwin_send(&redis_win, urgent, cmd, (size_t)len, rq);
	redisFreeCommand(cmd);
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

/*
 * Publish data (JSON text) from (a user id of at most BRIDGE_MAXFROM
 * bytes, or empty for the server) on channel ch for worker w's request id.  The reply goes back to w.
 * Return value: 0 if sent, -1 if Redis is not reachable.
 */
int
redis_publish(struct worker *w, uint32_t id, const char *ch, size_t chlen,
    const char *data, size_t datalen, const char *from, size_t fromlen,
    uint64_t ts)
{
	struct rreq	*rq;
	const char	*args[8], *fromjson;
	size_t		 lens[8];
	char		 tsbuf[24], epoch[17], pub[256];
	char		 frombuf[BRIDGE_MAXFROM + 3], *fromdyn;
	int		 rv;

	fromjson = redis_from_json(from, fromlen, frombuf, &fromdyn);
	snprintf(tsbuf, sizeof(tsbuf), "%llu", (unsigned long long)ts);
	redis_epoch(epoch);
	chan_key(pub, sizeof(pub), ch, chlen, 'p');
	args[0] = ch; lens[0] = chlen;
	args[1] = data; lens[1] = datalen;
	args[2] = fromjson; lens[2] = strlen(fromjson);
	args[3] = tsbuf; lens[3] = strlen(tsbuf);
	args[4] = redis_histsize; lens[4] = strlen(redis_histsize);
	args[5] = redis_histttl; lens[5] = strlen(redis_histttl);
	args[6] = epoch; lens[6] = 16;
	args[7] = pub; lens[7] = strlen(pub);
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_PUBLISH;
	rq->rq_worker = w->w_serial;
	rq->rq_id = id;
	rv = redis_eval(rq, gb->b_shapub, ch, chlen, 8, args, lens);
	free(fromdyn);
	return rv;
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
