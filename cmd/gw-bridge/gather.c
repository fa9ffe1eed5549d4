/*
 * gather.c -- a question for every gw-listen worker of the node, or of
 * every node.
 *
 * The HTTP API's /api/disconnect and /api/channels are asked of one
 * worker, the one the kernel gave the request to, but are about the
 * node (/api/channels) or the cluster (/api/disconnect): that worker
 * sends GW_MSG_BRIDGE_GATHER (a control request, the JSON that gwctl
 * would send to each worker's socket); the bridge, which every worker is
 * linked to, passes it to each of them as GW_MSG_CTL_REQUEST, collects
 * their GW_MSG_CTL_REPLY, and answers the asker with
 * GW_MSG_BRIDGE_GATHERED: every reply, for the asker to add up.  A
 * worker that goes away meanwhile counts for nothing; one that does not
 * answer within GATHER_TIMEOUT is not waited for (logged).
 *
 * With GW_GATHER_CLUSTER the bridge also publishes the question in Redis
 * on GATHER_CH, which every bridge subscribes to; each of the others asks
 * its own workers the same way and publishes their replies on the
 * asking bridge's own channel (gb->b_gatherch).  PUBLISH answers how
 * many bridges got the question: the asking one waits for that many,
 * less itself, within the same GATHER_TIMEOUT (gw-ipc(7)).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "buf.h"
#include "log.h"
#include "xmalloc.h"

#define GATHER_TIMEOUT	2.0		/* seconds to wait for the workers */
#define GATHER_TIMEOUT_REMOTE 1.5	/* ... for another node's question:
					   its answer must reach the asker
					   within the asker's GATHER_TIMEOUT,
					   a stuck worker or not */
#define GATHER_MAXREQ	4096		/* bytes of a request */
#define GATHER_MAX	64		/* under way at once, of each kind */
#define GATHER_MAXREP	(1024 * 1024)	/* bytes of a node's replies */
#define GATHER_MAXKEEP	(4 * 1024 * 1024)	/* bytes of replies kept for
					   one gather: its answer must fit
					   in an IPC message */
#define GATHER_MAXWAIT	10000		/* other nodes' questions waiting
					   for one of the GATHER_MAX */

struct gather {
	struct gather	*g_next;
	uint32_t	 g_id;		/* the workers' requests' id */
	uint64_t	 g_asker;	/* serial */
	uint32_t	 g_reqid;	/* the asker's request id */
	uint64_t	*g_wait;	/* serials not answered yet */
	size_t		 g_nwait;
	char		**g_rep;	/* the replies so far */
	uint32_t	*g_replen;
	size_t		 g_nrep;
	size_t		 g_caprep;
	int		 g_cluster;	/* GW_GATHER_CLUSTER: other nodes too */
	int64_t		 g_expect;	/* other nodes to wait for; -1 until
					   PUBLISH has answered */
	uint32_t	 g_got;		/* other nodes that have answered */
	int		 g_unasked;	/* the question was not published */
	char		*g_replyto;	/* asked by another node: its channel */
	uint32_t	 g_rid;		/* and its gather's id */
	size_t		 g_keptbytes;	/* of g_rep */
	ev_timer	 g_timer;
};

/*
 * Another node's question waiting for a place (GATHER_MAX under way): a
 * bridge that was stuck gets them all at once, and a kick must not be
 * dropped for that.
 */
struct gwait {
	struct gwait	*gw_next;
	char		*gw_replyto;
	uint32_t	 gw_rid;
	size_t		 gw_reqlen;
	char		 gw_req[];
};

static struct gather	*gathers;
static size_t		 ngathers;	/* asked by a worker of ours */
static size_t		 nremote;	/* asked by another node */
static uint32_t		 gather_lastid;
static struct gwait	*gwaits, **gwaits_tail = &gwaits;
static size_t		 ngwaits;
static ev_tstamp	 gather_lastwarn;	/* gather_warnx() */
static unsigned		 gather_unsaid;

static struct gather *gather_new(const char *, size_t);
static void	gather_arm(struct gather *);
static void	gather_check(struct gather *);
static void	gather_done(struct gather *);
static void	gather_free(struct gather *);
static void	gather_answer(struct gather *);
static void	gather_publish_reply(struct gather *);
static void	gather_timeout_cb(struct ev_loop *, ev_timer *, int);
static void	gather_remote(const char *, size_t, uint32_t, const char *,
		    size_t);
static void	gather_remote_start(const char *, size_t, uint32_t,
		    const char *, size_t);
static void	gather_remote_next(void);
static void	gather_warnx(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

/*
 * Warn about what Redis brought (malformed or surplus questions and
 * answers, which any Redis client can publish): once a second at most,
 * with the number left unsaid, so that a flood does not flood the log.
 */
static void
gather_warnx(const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	if (ev_now(gb->b_loop) - gather_lastwarn < 1.0) {
		gather_unsaid++;
		return;
	}
	gather_lastwarn = ev_now(gb->b_loop);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (gather_unsaid > 0)
		log_warnx("%s (and %u such lines unsaid in the last second)",
		    msg, gather_unsaid);
	else
		log_warnx("%s", msg);
	gather_unsaid = 0;
}

/*
 * Worker w asks request id of every worker (rd: str request, a JSON
 * object; u32 flags).  Return value: 0, or -1 if the message is
 * malformed.
 */
int
gather_start(struct worker *w, uint32_t id, struct ipc_rd *rd)
{
	struct gather	*g;
	struct buf	 b;
	const char	*req;
	size_t		 reqlen;
	uint32_t	 flags;
	char		 num[16];

	if (ipc_get_str(rd, &req, &reqlen) == -1 ||
	    ipc_get_u32(rd, &flags) == -1 || ipc_end(rd) == -1)
		return -1;
	if (reqlen == 0 || reqlen > GATHER_MAXREQ) {
		bridge_send_fail(w, id, "bad_request", "a request of 1 to "
		    "4096 bytes");
		return 0;
	}
	if (ngathers >= GATHER_MAX) {
		bridge_send_fail(w, id, "unavailable", "too many node-wide "
		    "requests under way");
		return 0;
	}
	if ((flags & GW_GATHER_CLUSTER) && !(gb->b_cmdup && gb->b_subup)) {
		/* Nothing done rather than this node's part alone. */
		bridge_send_fail(w, id, "unavailable", "Redis is not "
		    "reachable: no node was asked");
		return 0;
	}
	g = gather_new(req, reqlen);
	ngathers++;
	g->g_asker = w->w_serial;
	g->g_reqid = id;
	if (flags & GW_GATHER_CLUSTER) {
		g->g_cluster = 1;
		g->g_expect = -1;
		memset(&b, 0, sizeof(b));
		snprintf(num, sizeof(num), "\n%" PRIu32 "\n", g->g_id);
		buf_addstr(&b, gb->b_gatherch);
		buf_addstr(&b, num);
		buf_add(&b, req, reqlen);
		if (redis_gather_publish(GATHER_CH, b.b_p, b.b_len,
		    g->g_id) == -1) {
			g->g_unasked = 1;
			g->g_expect = 0;
		}
		buf_free(&b);
	}
	gather_arm(g);
	return 0;
}

/*
 * A gather of request req: on the list, its question sent to every
 * worker of the node; the caller says whom it answers, then arms it.
 */
static struct gather *
gather_new(const char *req, size_t reqlen)
{
	struct gather	*g;
	struct worker	*k;
	struct ipc_msg	*m;
	size_t		 n = 0;

	for (k = gb->b_workers; k != NULL; k = k->w_next)
		n += k->w_listen && !k->w_dead;
	g = xcalloc(1, sizeof(*g));
	if (++gather_lastid == 0)
		gather_lastid = 1;
	g->g_id = gather_lastid;
	g->g_wait = xcalloc(n + 1, sizeof(*g->g_wait));
	g->g_caprep = n + 1;
	g->g_rep = xcalloc(g->g_caprep, sizeof(*g->g_rep));
	g->g_replen = xcalloc(g->g_caprep, sizeof(*g->g_replen));
	g->g_next = gathers;
	gathers = g;
	ev_timer_init(&g->g_timer, gather_timeout_cb, GATHER_TIMEOUT, 0.);
	g->g_timer.data = g;
	for (k = gb->b_workers; k != NULL && g->g_nwait < n; k = k->w_next) {
		if (!k->w_listen || k->w_dead)
			continue;
		g->g_wait[g->g_nwait++] = k->w_serial;
		m = ipc_create(GW_MSG_CTL_REQUEST, g->g_id);
		ipc_add_str(m, req, reqlen);
		bridge_send(k, m);	/* may drop k: then gather_gone() */
	}
	return g;
}

/* Answer g now if nothing is awaited, or start its timeout. */
static void
gather_arm(struct gather *g)
{
	if (g->g_nwait == 0 && g->g_expect == (int64_t)g->g_got)
		gather_done(g);
	else {
		ev_timer_set(&g->g_timer, g->g_replyto != NULL ?
		    GATHER_TIMEOUT_REMOTE : GATHER_TIMEOUT, 0.);
		ev_timer_start(gb->b_loop, &g->g_timer);
	}
}

/* g has what it waited for: answer. */
static void
gather_check(struct gather *g)
{
	if (g->g_nwait == 0 && g->g_expect >= 0 &&
	    (int64_t)g->g_got >= g->g_expect)
		gather_done(g);
}

/* Keep reply (len bytes) in g. */
static void
gather_keep(struct gather *g, const char *rep, size_t len)
{
	if (g->g_nrep == g->g_caprep) {
		g->g_caprep *= 2;
		g->g_rep = xrealloc(g->g_rep, g->g_caprep *
		    sizeof(*g->g_rep));
		g->g_replen = xrealloc(g->g_replen, g->g_caprep *
		    sizeof(*g->g_replen));
	}
	g->g_keptbytes += len;
	g->g_rep[g->g_nrep] = xmalloc(len + 1);
	memcpy(g->g_rep[g->g_nrep], rep, len);
	g->g_rep[g->g_nrep][len] = '\0';
	g->g_replen[g->g_nrep++] = (uint32_t)len;
}

/* Take serial off g's list of workers to wait for; 1 if it was on it. */
static int
gather_unwait(struct gather *g, uint64_t serial)
{
	size_t	i;

	for (i = 0; i < g->g_nwait; i++)
		if (g->g_wait[i] == serial) {
			g->g_wait[i] = g->g_wait[--g->g_nwait];
			return 1;
		}
	return 0;
}

/*
 * Worker w's GW_MSG_CTL_REPLY to gather id (rd: str reply).  Return
 * value: 0, or -1 if the message is malformed.
 */
int
gather_reply(struct worker *w, uint32_t id, struct ipc_rd *rd)
{
	struct gather	*g;
	const char	*rep;
	size_t		 replen;

	if (ipc_get_str(rd, &rep, &replen) == -1 || ipc_end(rd) == -1)
		return -1;
	for (g = gathers; g != NULL && g->g_id != id; g = g->g_next)
		;
	if (g == NULL || !gather_unwait(g, w->w_serial))
		return 0;	/* late, after the timeout */
	gather_keep(g, rep, replen);
	gather_check(g);
	return 0;
}

/* Worker w has gone: no gather waits for it. */
void
gather_gone(struct worker *w)
{
	struct gather	*g, *next;

	for (g = gathers; g != NULL; g = next) {
		next = g->g_next;
		if (gather_unwait(g, w->w_serial))
			gather_check(g);
	}
}

/*
 * PUBLISH of cluster gather id's question answered: count bridges got
 * it (this one among them), or -1 if the link failed on the way.
 */
void
gather_published(uint32_t id, long long count)
{
	struct gather	*g;

	for (g = gathers; g != NULL; g = g->g_next)
		if (g->g_id == id && g->g_cluster && g->g_expect == -1)
			break;
	if (g == NULL)
		return;		/* answered already: timed out */
	if (count < 0)
		g->g_unasked = 1;
	g->g_expect = count > 1 ? count - 1 : 0;
	gather_check(g);
}

/*
 * A question published on GATHER_CH (msg, len): "REPLYCH\nID\nREQUEST".
 * Another node's: ask our workers, answer on REPLYCH.
 */
void
gather_cluster_request(const char *msg, size_t len)
{
	const char	*nl, *nl2, *end = msg + len;
	char		*ep;
	unsigned long	 rid;

	if ((nl = memchr(msg, '\n', len)) == NULL ||
	    (nl2 = memchr(nl + 1, '\n', (size_t)(end - nl - 1))) == NULL ||
	    nl == msg || (size_t)(nl - msg) >= sizeof(gb->b_gatherch) ||
	    end - nl2 - 1 <= 0 || end - nl2 - 1 > GATHER_MAXREQ) {
		gather_warnx("%s: a malformed question ignored", GATHER_CH);
		return;
	}
	if ((size_t)(nl - msg) == strlen(gb->b_gatherch) &&
	    memcmp(msg, gb->b_gatherch, (size_t)(nl - msg)) == 0)
		return;		/* ours, back to us */
	rid = strtoul(nl + 1, &ep, 10);
	if (ep != nl2 || rid == 0 || rid > UINT32_MAX) {
		gather_warnx("%s: a malformed question ignored", GATHER_CH);
		return;
	}
	gather_remote(msg, (size_t)(nl - msg), (uint32_t)rid, nl2 + 1,
	    (size_t)(end - nl2 - 1));
}

/*
 * Ask our workers the question req of the bridge whose channel is
 * replyto (its gather rid), now if fewer than GATHER_MAX are under way,
 * else in turn.
 */
static void
gather_remote(const char *replyto, size_t rtlen, uint32_t rid,
    const char *req, size_t reqlen)
{
	struct gwait	*w;

	if (nremote >= GATHER_MAX || ngwaits > 0) {
		if (ngwaits >= GATHER_MAXWAIT) {
			gather_warnx("%s: a question of another node ignored: "
			    "%d waiting", GATHER_CH, GATHER_MAXWAIT);
			return;
		}
		w = xmalloc(sizeof(*w) + reqlen);
		w->gw_next = NULL;
		w->gw_replyto = xstrndup(replyto, rtlen);
		w->gw_rid = rid;
		w->gw_reqlen = reqlen;
		memcpy(w->gw_req, req, reqlen);
		*gwaits_tail = w;
		gwaits_tail = &w->gw_next;
		ngwaits++;
		return;
	}
	gather_remote_start(replyto, rtlen, rid, req, reqlen);
}

/* Ask our workers another node's question now. */
static void
gather_remote_start(const char *replyto, size_t rtlen, uint32_t rid,
    const char *req, size_t reqlen)
{
	struct gather	*g;

	g = gather_new(req, reqlen);
	nremote++;
	g->g_replyto = xstrndup(replyto, rtlen);
	g->g_rid = rid;
	gather_arm(g);
}

/* A place is free: start the questions that waited for one, in turn. */
static void
gather_remote_next(void)
{
	static int	 busy;
	struct gwait	*w;

	if (busy)
		return;		/* gather_arm() below may answer at once */
	busy = 1;
	while (nremote < GATHER_MAX && (w = gwaits) != NULL) {
		if ((gwaits = w->gw_next) == NULL)
			gwaits_tail = &gwaits;
		ngwaits--;
		gather_remote_start(w->gw_replyto, strlen(w->gw_replyto),
		    w->gw_rid, w->gw_req, w->gw_reqlen);
		free(w->gw_replyto);
		free(w);
	}
	busy = 0;
}

/*
 * Another node's answer to our cluster gather, on our b_gatherch (msg,
 * len): "ID N\n", then N times "LEN\n" and LEN bytes of a reply.
 */
void
gather_cluster_reply(const char *msg, size_t len)
{
	const char	*p = msg, *end = msg + len;
	struct gather	*g;
	unsigned long	 id, n, rl, i;
	char		*ep;

	id = strtoul(p, &ep, 10);
	if (ep == p || *ep != ' ' || id == 0 || id > UINT32_MAX)
		goto bad;
	n = strtoul(ep + 1, &ep, 10);
	if (ep >= end || *ep != '\n' || n > len)
		goto bad;
	for (g = gathers; g != NULL; g = g->g_next)
		if (g->g_id == id && g->g_cluster && g->g_replyto == NULL)
			break;
	if (g == NULL)
		return;		/* late, after the timeout */
	if (g->g_keptbytes + len > GATHER_MAXKEEP) {
		gather_warnx("%s: an answer of %zu bytes over the %d kept for "
		    "a request ignored", gb->b_gatherch, len, GATHER_MAXKEEP);
		return;
	}
	p = ep + 1;
	for (i = 0; i < n; i++) {
		rl = strtoul(p, &ep, 10);
		if (ep == p || ep >= end || *ep != '\n' ||
		    rl > (size_t)(end - ep - 1))
			goto bad;
		gather_keep(g, ep + 1, rl);
		p = ep + 1 + rl;
	}
	g->g_got++;
	gather_check(g);
	return;
bad:
	gather_warnx("%s: a malformed answer ignored", gb->b_gatherch);
}

static void
gather_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gather	*g = t->data;

	(void)loop;
	(void)revents;
	if (g->g_nwait > 0)
		log_warnx("a node-wide request: %zu workers did not answer "
		    "within %.1f s", g->g_nwait, g->g_replyto != NULL ?
		    GATHER_TIMEOUT_REMOTE : GATHER_TIMEOUT);
	if (g->g_expect == -1)
		log_warnx("a cluster-wide request: Redis did not say within "
		    "%.0f s whether it was published", GATHER_TIMEOUT);
	else if ((int64_t)g->g_got < g->g_expect)
		log_warnx("a cluster-wide request: %" PRId64 " other nodes "
		    "did not answer within %.0f s", g->g_expect -
		    (int64_t)g->g_got, GATHER_TIMEOUT);
	gather_done(g);
}

/* Answer g's asker (a worker, or another node), and free g. */
static void
gather_done(struct gather *g)
{
	int	remote = g->g_replyto != NULL;

	if (remote)
		gather_publish_reply(g);
	else
		gather_answer(g);
	gather_free(g);
	if (remote)
		gather_remote_next();
}

/* Take g off the list and free it. */
static void
gather_free(struct gather *g)
{
	struct gather	**pp;
	size_t		 i;

	for (pp = &gathers; *pp != g; pp = &(*pp)->g_next)
		;
	*pp = g->g_next;
	ev_timer_stop(gb->b_loop, &g->g_timer);
	if (g->g_replyto != NULL)
		nremote--;
	else
		ngathers--;
	for (i = 0; i < g->g_nrep; i++)
		free(g->g_rep[i]);
	free(g->g_replyto);
	free(g->g_rep);
	free(g->g_replen);
	free(g->g_wait);
	free(g);
}

/* GW_MSG_BRIDGE_GATHERED to g's asker, if it is still there. */
static void
gather_answer(struct gather *g)
{
	struct worker	*w;
	struct ipc_msg	*m;
	uint32_t	 unanswered = 0;
	size_t		 i;

	if ((w = bridge_worker(g->g_asker)) == NULL)
		return;
	if (g->g_unasked || g->g_expect == -1)
		unanswered = GW_GATHER_UNASKED;
	else if ((int64_t)g->g_got < g->g_expect)
		unanswered = (uint32_t)(g->g_expect - (int64_t)g->g_got);
	m = ipc_create(GW_MSG_BRIDGE_GATHERED, g->g_reqid);
	ipc_add_u32(m, (uint32_t)g->g_nrep);
	for (i = 0; i < g->g_nrep; i++)
		ipc_add_str(m, g->g_rep[i], g->g_replen[i]);
	ipc_add_u32(m, 1 + g->g_got);
	ipc_add_u32(m, unanswered);
	bridge_send(w, m);
}

/* Our workers' replies to another node's question, on its channel. */
static void
gather_publish_reply(struct gather *g)
{
	struct buf	 b;
	size_t		 i;
	char		 num[40];

	memset(&b, 0, sizeof(b));
	snprintf(num, sizeof(num), "%" PRIu32 " %zu\n", g->g_rid, g->g_nrep);
	buf_addstr(&b, num);
	for (i = 0; i < g->g_nrep && b.b_len < GATHER_MAXREP; i++) {
		snprintf(num, sizeof(num), "%" PRIu32 "\n", g->g_replen[i]);
		buf_addstr(&b, num);
		buf_add(&b, g->g_rep[i], g->g_replen[i]);
	}
	if (i < g->g_nrep)
		log_warnx("%s: an answer of %zu replies over %d bytes not sent",
		    g->g_replyto, g->g_nrep, GATHER_MAXREP);
	else
		(void)redis_gather_publish(g->g_replyto, b.b_p, b.b_len, 0);
	buf_free(&b);
}

/* The bridge stops: answer nothing more, free everything. */
void
gather_stop(void)
{
	struct gwait	*w;

	while (gathers != NULL)
		gather_free(gathers);
	while ((w = gwaits) != NULL) {
		gwaits = w->gw_next;
		free(w->gw_replyto);
		free(w);
	}
	gwaits_tail = &gwaits;
	ngwaits = 0;
}
