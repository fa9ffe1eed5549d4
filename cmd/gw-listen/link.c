/*
 * link.c -- gw-listen's link to its node's gw-bridge, over
 * <rundir>/bridge.sock: connect with backoff (100 ms doubling to 5 s),
 * declare the channels this worker has subscribers on (again after a
 * reconnect, catching up from the last offset each one delivered), send
 * requests, and route the answers back to the connections that asked.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "xmalloc.h"

#define LINK_WAIT_MIN	0.1
#define LINK_WAIT_MAX	5.0

static struct ipc_peer	*link_peer;
static ev_timer		 link_timer;
static double		 link_wait = LINK_WAIT_MIN;
static int		 link_healthy;
static uint32_t		 link_lastid;
static struct htab	*link_pends;	/* request id -> struct pend */
static char		 link_path[PATH_MAX];

static void	link_connect(void);
static void	link_retry_cb(struct ev_loop *, ev_timer *, int);
static void	link_dispatch(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
static void	link_closed(struct ipc_peer *, const char *);

/* Start connecting to the bridge of the run directory. */
void
link_start(void)
{
	snprintf(link_path, sizeof(link_path), "%s/bridge.sock",
	    gl->l_conf->lc_rundir);
	link_pends = htab_new();
	ev_init(&link_timer, link_retry_cb);
	link_connect();
}

/* At exit. */
void
link_stop(void)
{
	ev_timer_stop(gl->l_loop, &link_timer);
	if (link_peer != NULL)
		ipc_peer_free(link_peer);
	link_peer = NULL;
	if (link_pends != NULL)
		htab_free(link_pends);
	link_pends = NULL;
}

/* Is the node able to serve: bridge connected and Redis reachable? */
int
link_up(void)
{
	return link_peer != NULL && link_healthy;
}

static void
link_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	link_connect();
}

static void
link_connect(void)
{
	struct ipc_msg	*m;
	char		 name[64];
	int		 fd;

	if ((fd = ipc_connect(link_path)) == -1) {
		ev_timer_set(&link_timer, link_wait, 0.);
		ev_timer_start(gl->l_loop, &link_timer);
		link_wait = link_wait * 2 > LINK_WAIT_MAX ? LINK_WAIT_MAX :
		    link_wait * 2;
		return;
	}
	link_wait = LINK_WAIT_MIN;
	link_peer = ipc_peer_new(gl->l_loop, fd, link_dispatch, link_closed,
	    NULL);
	log_info("connected to gw-bridge at %s", link_path);
	m = ipc_create(GW_MSG_HELLO, 0);
	ipc_add_u32(m, getpid());
	snprintf(name, sizeof(name), "gw-listen[%d]", (int)getpid());
	ipc_add_cstr(m, name);
	(void)ipc_send(link_peer, m);
	client_restore_all();
}

/* The bridge went away: fail what waited on it, and reconnect. */
static void
link_closed(struct ipc_peer *p, const char *why)
{
	struct htab_iter	 it;
	const char		*k;
	size_t			 klen;
	void			*v;

	log_warnx("lost gw-bridge: %s; reconnecting", why);
	ipc_peer_free(p);
	link_peer = NULL;
	link_healthy = 0;
	htab_iter_init(link_pends, &it);
	while (htab_iter_next(&it, &k, &klen, &v)) {
		htab_del(link_pends, k, klen);
		client_fail(v, "unavailable",
		    "lost the node's bridge; the request may not have been done");
	}
	ev_timer_set(&link_timer, LINK_WAIT_MIN, 0.);
	ev_timer_start(gl->l_loop, &link_timer);
}

/*
 * Send m (built with request id 0) as a request whose answer goes to pend;
 * pend is owned by the link until the answer or a failure comes back.
 * Return value: 0, or -1 if the bridge is not there (pend is not taken).
 */
int
link_request(struct ipc_msg *m, struct pend *pd)
{
	struct gw_msg_hdr	*h = (struct gw_msg_hdr *)m->m_buf;

	if (link_peer == NULL) {
		ipc_msg_free(m);
		return -1;
	}
	if (++link_lastid == 0)
		link_lastid = 1;
	h->id = link_lastid;
	pd->pd_id = link_lastid;
	htab_put(link_pends, (char *)&pd->pd_id, sizeof(pd->pd_id), pd);
	if (ipc_send(link_peer, m) == -1) {
		htab_del(link_pends, (char *)&pd->pd_id, sizeof(pd->pd_id));
		return -1;
	}
	return 0;
}

/* Forget a request whose asker went away; its answer will be dropped. */
void
link_forget(struct pend *pd)
{
	if (link_pends != NULL)
		htab_del(link_pends, (char *)&pd->pd_id, sizeof(pd->pd_id));
}

/* Send a message that needs no answer; dropped if the bridge is away. */
void
link_send(struct ipc_msg *m)
{
	if (link_peer == NULL) {
		ipc_msg_free(m);
		return;
	}
	(void)ipc_send(link_peer, m);
}

static void
link_dispatch(struct ipc_peer *p, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	struct pend	*pd = NULL;
	const char	*ch, *off, *msg, *code, *text;
	size_t		 chlen, offlen, msglen, codelen, textlen;
	uint32_t	 up;

	(void)p;
	if (h->id != 0 &&
	    (pd = htab_del(link_pends, (char *)&h->id, sizeof(h->id))) == NULL
	    && h->type != GW_MSG_BRIDGE_DELIVER)
		return;		/* its asker has gone */
	switch (h->type) {
	case GW_MSG_BRIDGE_DELIVER:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_str(rd, &off, &offlen) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1 || ipc_end(rd) == -1)
			break;
		client_deliver(ch, chlen, off, offlen, msg, msglen);
		return;
	case GW_MSG_BRIDGE_HEALTH:
		if (ipc_get_u32(rd, &up) == -1 || ipc_end(rd) == -1)
			break;
		if (up != (uint32_t)link_healthy)
			log_info("node %s", up ? "healthy" :
			    "unhealthy: Redis not reachable both ways");
		link_healthy = up != 0;
		return;
	case GW_MSG_BRIDGE_GAP:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_str(rd, &off, &offlen) == -1 || ipc_end(rd) == -1)
			break;
		client_gap(ch, chlen, off, offlen);
		return;
	case GW_MSG_BRIDGE_FAIL:
		if (pd == NULL || ipc_get_str(rd, &code, &codelen) == -1 ||
		    ipc_get_str(rd, &text, &textlen) == -1 || ipc_end(rd) == -1)
			break;
		{
			char c[32], t[160];

			snprintf(c, sizeof(c), "%.*s", (int)codelen, code);
			snprintf(t, sizeof(t), "%.*s", (int)textlen, text);
			client_fail(pd, c, t);
		}
		return;
	case GW_MSG_BRIDGE_PUBLISHED:
	case GW_MSG_BRIDGE_SUBSCRIBED:
	case GW_MSG_BRIDGE_HISTORY_REPLY:
		if (pd == NULL)
			break;
		if (client_answer(pd, h->type, rd) == -1)
			break;
		return;
	default:
		break;
	}
	fatalx("gw-bridge: bad %s (len %u)", ipc_type_name(h->type), h->len);
}
