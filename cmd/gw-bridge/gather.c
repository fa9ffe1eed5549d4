/*
 * gather.c -- a question for every gw-listen worker of the node.
 *
 * The HTTP API's /api/disconnect and /api/channels are asked of one
 * worker, the one the kernel gave the request to, but are about the
 * node: that worker sends GW_MSG_BRIDGE_GATHER (a control request, the
 * JSON that gwctl would send to each worker's socket); the bridge, which
 * every worker is linked to, passes it to each of them as
 * GW_MSG_CTL_REQUEST, collects their GW_MSG_CTL_REPLY, and answers the
 * asker with GW_MSG_BRIDGE_GATHERED: every reply, for the asker to add
 * up.  A worker that goes away meanwhile counts for nothing; one that
 * does not answer within GATHER_TIMEOUT is not waited for (logged).
 */
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "log.h"
#include "xmalloc.h"

#define GATHER_TIMEOUT	2.0		/* seconds to wait for the workers */
#define GATHER_MAXREQ	4096		/* bytes of a request */
#define GATHER_MAX	64		/* under way at once */

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
	ev_timer	 g_timer;
};

static struct gather	*gathers;
static size_t		 ngathers;
static uint32_t		 gather_lastid;

static void	gather_done(struct gather *);
static void	gather_timeout_cb(struct ev_loop *, ev_timer *, int);

/*
 * Worker w asks request id of every worker (rd: str request, a JSON
 * object).  Return value: 0, or -1 if the message is malformed.
 */
int
gather_start(struct worker *w, uint32_t id, struct ipc_rd *rd)
{
	struct gather	*g;
	struct worker	*k;
	struct ipc_msg	*m;
	const char	*req;
	size_t		 reqlen, n = 0;

	if (ipc_get_str(rd, &req, &reqlen) == -1 || ipc_end(rd) == -1)
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
	for (k = gb->b_workers; k != NULL; k = k->w_next)
		n += k->w_listen && !k->w_dead;
	g = xcalloc(1, sizeof(*g));
	if (++gather_lastid == 0)
		gather_lastid = 1;
	g->g_id = gather_lastid;
	g->g_asker = w->w_serial;
	g->g_reqid = id;
	g->g_wait = xcalloc(n + 1, sizeof(*g->g_wait));
	g->g_rep = xcalloc(n + 1, sizeof(*g->g_rep));
	g->g_replen = xcalloc(n + 1, sizeof(*g->g_replen));
	g->g_next = gathers;
	gathers = g;
	ngathers++;
	for (k = gb->b_workers; k != NULL && g->g_nwait < n; k = k->w_next) {
		if (!k->w_listen || k->w_dead)
			continue;
		g->g_wait[g->g_nwait++] = k->w_serial;
		m = ipc_create(GW_MSG_CTL_REQUEST, g->g_id);
		ipc_add_str(m, req, reqlen);
		bridge_send(k, m);	/* may drop k: then gather_gone() */
	}
	if (g->g_nwait == 0) {
		gather_done(g);
		return 0;
	}
	ev_timer_init(&g->g_timer, gather_timeout_cb, GATHER_TIMEOUT, 0.);
	g->g_timer.data = g;
	ev_timer_start(gb->b_loop, &g->g_timer);
	return 0;
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
	g->g_rep[g->g_nrep] = xmalloc(replen + 1);
	memcpy(g->g_rep[g->g_nrep], rep, replen);
	g->g_replen[g->g_nrep++] = (uint32_t)replen;
	if (g->g_nwait == 0)
		gather_done(g);
	return 0;
}

/* Worker w has gone: no gather waits for it. */
void
gather_gone(struct worker *w)
{
	struct gather	*g, *next;

	for (g = gathers; g != NULL; g = next) {
		next = g->g_next;
		if (gather_unwait(g, w->w_serial) && g->g_nwait == 0)
			gather_done(g);
	}
}

static void
gather_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gather	*g = t->data;

	(void)loop;
	(void)revents;
	log_warnx("a node-wide request: %zu workers did not answer within "
	    "%.0f s", g->g_nwait, GATHER_TIMEOUT);
	gather_done(g);
}

/* Answer g's asker, if it is still there, and free g. */
static void
gather_done(struct gather *g)
{
	struct gather	**pp;
	struct worker	*w;
	struct ipc_msg	*m;
	size_t		 i;

	for (pp = &gathers; *pp != g; pp = &(*pp)->g_next)
		;
	*pp = g->g_next;
	ngathers--;
	ev_timer_stop(gb->b_loop, &g->g_timer);
	if ((w = bridge_worker(g->g_asker)) != NULL) {
		m = ipc_create(GW_MSG_BRIDGE_GATHERED, g->g_reqid);
		ipc_add_u32(m, (uint32_t)g->g_nrep);
		for (i = 0; i < g->g_nrep; i++)
			ipc_add_str(m, g->g_rep[i], g->g_replen[i]);
		bridge_send(w, m);
	}
	for (i = 0; i < g->g_nrep; i++)
		free(g->g_rep[i]);
	free(g->g_rep);
	free(g->g_replen);
	free(g->g_wait);
	free(g);
}

/* The bridge stops: answer nothing more, free everything. */
void
gather_stop(void)
{
	struct gather	*g;

	while ((g = gathers) != NULL) {
		g->g_asker = 0;		/* no worker has serial 0 */
		gather_done(g);
	}
}
