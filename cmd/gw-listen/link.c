/*
 * link.c -- gw-listen's links to its node's gw-bridge (<rundir>/bridge.sock)
 * and gw-presence (<rundir>/presence.sock): connect with backoff (100 ms
 * doubling to 5 s), declare what this worker has (the channels it has
 * subscribers on, catching up from the last offset each one delivered;
 * the users in them), again after a reconnect, send requests, and route
 * the answers back to the connections that asked.  The bridge's messages
 * are read here; gw-presence's in presence.c.
 */
#include <sys/ioctl.h>

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
#define LINK_SILENT	5.0	/* s: a bridge that says nothing is stuck */

/* A link to one of the node's daemons, reconnected with backoff. */
struct link {
	const char	*lk_what;	/* "gw-bridge" */
	const char	*lk_sock;	/* its socket in the run directory */
	struct ipc_peer	*lk_peer;
	int		 lk_fd;		/* lk_peer's socket */
	ev_timer	 lk_timer;
	double		 lk_wait;
	uint32_t	 lk_lastid;
	int		 lk_ever;	/* was connected once */
	struct htab	*lk_pends;	/* request id -> struct pend */
	ipc_msg_cb	 lk_dispatch;
	void		(*lk_connected)(void);
	void		(*lk_lost)(struct pend *);
	char		 lk_path[PATH_MAX];
};

static int		 link_healthy;	/* the bridge reaches Redis */
static ev_tstamp	 link_beat;	/* the bridge's last health */
static int		 link_silent;	/* ... too long ago (logged) */

static void	link_connect(struct link *);
static void	link_retry_cb(struct ev_loop *, ev_timer *, int);
static void	link_dispatch(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
static void	link_closed(struct ipc_peer *, const char *);
static void	link_bridge_lost(struct pend *);
static void	link_flush_cb(struct ev_loop *, ev_timer *, int);

static struct link	bridge_link = {
	.lk_what = "gw-bridge",
	.lk_sock = "bridge.sock",
	.lk_dispatch = link_dispatch,
	.lk_connected = client_restore_all,
	.lk_lost = link_bridge_lost,
};
static struct link	presence_link = {
	.lk_what = "gw-presence",
	.lk_sock = "presence.sock",
	.lk_dispatch = pres_dispatch,
	.lk_connected = pres_redeclare,
	.lk_lost = pres_lost,
};

static void
link_init(struct link *lk)
{
	snprintf(lk->lk_path, sizeof(lk->lk_path), "%s/%s",
	    gl->l_conf->lc_rundir, lk->lk_sock);
	lk->lk_pends = htab_new();
	lk->lk_wait = LINK_WAIT_MIN;
	ev_init(&lk->lk_timer, link_retry_cb);
	lk->lk_timer.data = lk;
	link_connect(lk);
}

static void
link_fini(struct link *lk)
{
	ev_timer_stop(gl->l_loop, &lk->lk_timer);
	if (lk->lk_peer != NULL)
		ipc_peer_free(lk->lk_peer);
	lk->lk_peer = NULL;
	if (lk->lk_pends != NULL)
		htab_free(lk->lk_pends);
	lk->lk_pends = NULL;
}

/* Start connecting to the bridge and presence daemon of the run directory. */
void
link_start(void)
{
	link_init(&bridge_link);
	link_init(&presence_link);
}

static void
link_flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

/*
 * At exit: give the loop up to timeout seconds to write what is queued
 * for gw-presence (the sessions of the connections just closed).
 */
void
link_flush(double timeout)
{
	ev_timer	t;

	/* The timer bounds each wait of the loop, and the whole. */
	ev_timer_init(&t, link_flush_cb, timeout, 0.);
	ev_timer_start(gl->l_loop, &t);
	while (presence_link.lk_peer != NULL &&
	    ipc_peer_queued(presence_link.lk_peer) > 0 && ev_is_active(&t))
		ev_run(gl->l_loop, EVRUN_ONCE);
	ev_timer_stop(gl->l_loop, &t);
}

/* At exit. */
void
link_stop(void)
{
	link_fini(&bridge_link);
	link_fini(&presence_link);
}

/*
 * Is the node able to serve: bridge connected, Redis reachable, and the
 * bridge alive?  It tells its health every second (BRIDGE_BEAT): one
 * silent for LINK_SILENT (stopped, stuck) would take requests and never
 * answer them.
 */
int
link_up(void)
{
	int	n = 0;

	if (bridge_link.lk_peer == NULL || !link_healthy)
		return 0;
	if (ev_now(gl->l_loop) - link_beat <= LINK_SILENT)
		return 1;
	/*
	 * Not heard of for long, but perhaps because this process was: a
	 * turn of its loop that took long (a million connections) leaves
	 * the health messages in the socket, to be read.
	 */
	if (ioctl(bridge_link.lk_fd, FIONREAD, &n) == 0 && n > 0)
		return 1;
	if (!link_silent)
		log_warnx("gw-bridge silent for %.0f s: unavailable until it "
		    "answers", ev_now(gl->l_loop) - link_beat);
	link_silent = 1;
	return 0;
}

/*
 * Is the bridge connected and alive, whether or not it reaches Redis?
 * (What a question about the node's workers needs: gather.c.)
 */
int
link_connected(void)
{
	return bridge_link.lk_peer != NULL &&
	    ev_now(gl->l_loop) - link_beat <= LINK_SILENT;
}

/* Did link_up() find the bridge connected but silent? */
int
link_silent_now(void)
{
	return link_silent;
}

/* Is gw-presence connected? */
int
plink_up(void)
{
	return presence_link.lk_peer != NULL;
}

/* Was gw-presence ever connected (does this node run one)? */
int
plink_ever(void)
{
	return presence_link.lk_ever;
}

static void
link_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	link_connect(t->data);
}

static void
link_connect(struct link *lk)
{
	struct ipc_msg	*m;
	char		 name[64];
	int		 fd;

	if ((fd = ipc_connect(lk->lk_path)) == -1) {
		ev_timer_set(&lk->lk_timer, lk->lk_wait, 0.);
		ev_timer_start(gl->l_loop, &lk->lk_timer);
		lk->lk_wait = lk->lk_wait * 2 > LINK_WAIT_MAX ? LINK_WAIT_MAX :
		    lk->lk_wait * 2;
		return;
	}
	lk->lk_wait = LINK_WAIT_MIN;
	lk->lk_ever = 1;
	lk->lk_fd = fd;
	if (lk == &bridge_link)
		link_beat = ev_now(gl->l_loop);
	lk->lk_peer = ipc_peer_new(gl->l_loop, fd, lk->lk_dispatch,
	    link_closed, lk);
	log_info("connected to %s at %s", lk->lk_what, lk->lk_path);
	m = ipc_create(GW_MSG_HELLO, 0);
	ipc_add_u32(m, getpid());
	snprintf(name, sizeof(name), "gw-listen[%d]", (int)getpid());
	ipc_add_cstr(m, name);
	(void)ipc_send(lk->lk_peer, m);
	lk->lk_connected();
}

/* A request to the bridge cannot be answered: it is gone. */
static void
link_bridge_lost(struct pend *pd)
{
	client_fail(pd, "unavailable",
	    "lost the node's bridge; the request may not have been done");
}

/* A daemon went away: fail what waited on it, and reconnect. */
static void
link_closed(struct ipc_peer *p, const char *why)
{
	struct link		*lk = ipc_peer_arg(p);
	struct htab_iter	 it;
	const char		*k;
	size_t			 klen;
	void			*v;

	log_warnx("lost %s: %s; reconnecting", lk->lk_what, why);
	ipc_peer_free(p);
	lk->lk_peer = NULL;
	if (lk == &bridge_link)
		link_healthy = 0;
	htab_iter_init(lk->lk_pends, &it);
	while (htab_iter_next(&it, &k, &klen, &v)) {
		htab_del(lk->lk_pends, k, klen);
		lk->lk_lost(v);
	}
	ev_timer_set(&lk->lk_timer, LINK_WAIT_MIN, 0.);
	ev_timer_start(gl->l_loop, &lk->lk_timer);
}

/* Which link a request goes on. */
static struct link *
link_of(const struct pend *pd)
{
	return pd->pd_kind == PD_PRESENCE || pd->pd_kind == PD_SUBPRES ||
	    pd->pd_kind == PD_SESSION ? &presence_link : &bridge_link;
}

/*
 * Send m (built with request id 0) as a request whose answer goes to pend;
 * pend is owned by the link until the answer or a failure comes back.
 * The link is the bridge's, or gw-presence's for PD_PRESENCE and
 * PD_SUBPRES.  Return value: 0, or -1 if the daemon is not there (pend is
 * not taken).
 */
int
link_request(struct ipc_msg *m, struct pend *pd)
{
	struct gw_msg_hdr	*h = (struct gw_msg_hdr *)m->m_buf;
	struct link		*lk = link_of(pd);

	if (lk->lk_peer == NULL) {
		ipc_msg_free(m);
		return -1;
	}
	if (++lk->lk_lastid == 0)
		lk->lk_lastid = 1;
	h->id = lk->lk_lastid;
	pd->pd_id = lk->lk_lastid;
	htab_put(lk->lk_pends, (char *)&pd->pd_id, sizeof(pd->pd_id), pd);
	if (ipc_send(lk->lk_peer, m) == -1) {
		htab_del(lk->lk_pends, (char *)&pd->pd_id, sizeof(pd->pd_id));
		return -1;
	}
	return 0;
}

/* Forget a request whose asker went away; its answer will be dropped. */
void
link_forget(struct pend *pd)
{
	struct link	*lk = link_of(pd);

	if (lk->lk_pends != NULL)
		htab_del(lk->lk_pends, (char *)&pd->pd_id, sizeof(pd->pd_id));
}

/*
 * Take the request that an answer of gw-presence is for, or NULL if its
 * asker has gone.
 */
struct pend *
plink_take(uint32_t id)
{
	if (id == 0 || presence_link.lk_pends == NULL)
		return NULL;
	return htab_del(presence_link.lk_pends, (char *)&id, sizeof(id));
}

static void
link_send_on(struct link *lk, struct ipc_msg *m)
{
	if (lk->lk_peer == NULL) {
		ipc_msg_free(m);
		return;
	}
	(void)ipc_send(lk->lk_peer, m);
}

/* Send a message that needs no answer; dropped if the bridge is away. */
void
link_send(struct ipc_msg *m)
{
	link_send_on(&bridge_link, m);
}

/* The same to gw-presence. */
void
plink_send(struct ipc_msg *m)
{
	link_send_on(&presence_link, m);
}

static void
link_dispatch(struct ipc_peer *p, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	struct pend	*pd = NULL;
	const char	*ch, *off, *msg, *code, *text;
	size_t		 chlen, offlen, msglen, codelen, textlen;
	uint32_t	 up;
	uint64_t	 actor;

	(void)p;
	if (h->type == GW_MSG_CTL_REQUEST) {
		/* A gather's question, asked of every worker: answered. */
		link_send(ctl_gather(h->id, rd));
		return;
	}
	if (h->id != 0 && (pd = htab_del(bridge_link.lk_pends,
	    (char *)&h->id, sizeof(h->id))) == NULL &&
	    h->type != GW_MSG_BRIDGE_DELIVER)
		return;		/* its asker has gone */
	switch (h->type) {
	case GW_MSG_BRIDGE_DELIVER:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_str(rd, &off, &offlen) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1 || ipc_end(rd) == -1)
			break;
		client_deliver(ch, chlen, off, offlen, msg, msglen);
		return;
	case GW_MSG_BRIDGE_EVENT:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_u64(rd, &actor) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1 || ipc_end(rd) == -1)
			break;
		gst.st_events_in++;
		pres_event(ch, chlen, actor, msg, msglen);
		return;
	case GW_MSG_BRIDGE_HEALTH:
		if (ipc_get_u32(rd, &up) == -1 || ipc_end(rd) == -1)
			break;
		if (up != (uint32_t)link_healthy)
			log_info("node %s", up ? "healthy" :
			    "unhealthy: Redis not reachable both ways");
		link_healthy = up != 0;
		link_beat = ev_now(gl->l_loop);
		if (link_silent)
			log_info("gw-bridge answers again");
		link_silent = 0;
		/*
		 * Resumes' subscribes that wait for the store: each beat
		 * while it is reachable (one the bridge refused in the
		 * instant Redis was away is asked again within a second).
		 */
		if (link_healthy && gl->l_nreswait > 0)
			client_sub_resend_all();
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
	case GW_MSG_BRIDGE_GATHERED:
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
