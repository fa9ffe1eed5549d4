/*
 * bridge.c -- gw-bridge's event loop: the workers' socket in the run
 * directory, their messages, the node's health, signals.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "htab.h"
#include "log.h"
#include "parse.h"
#include "xmalloc.h"

#define BRIDGE_CTLQUEUE	(1024 * 1024)	/* bytes queued to a peer that still
					   gets control replies */

struct bridge	*gb;

static void	bridge_accept(struct ev_loop *, int, const char *, void *);
static int	bridge_publish(struct worker *, uint32_t, struct ipc_rd *);
static void	bridge_dispatch(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
static void	bridge_closed(struct ipc_peer *, const char *);
static void	bridge_signal_cb(struct ev_loop *, ev_signal *, int);
static void	bridge_send_health(struct worker *);
static void	bridge_reap_cb(struct ev_loop *, ev_prepare *, int);

/*
 * Run gw-bridge, with Redis at addr (commands) and subaddr (pub/sub),
 * until SIGTERM or SIGINT.  Return value: 0 after a clean
 * shutdown, -1 if it could not start.
 */
int
bridge_main(struct bridge_conf *conf, const struct redis_addr *addr,
    const struct redis_addr *subaddr)
{
	static struct bridge	 b;
	char			 path[PATH_MAX], err[PATH_MAX + 64];
	struct worker		*w;
	int			 lfd;

	gb = &b;
	b.b_conf = conf;
	b.b_addr = *addr;
	b.b_subaddr = *subaddr;
	signal(SIGPIPE, SIG_IGN);
	if ((b.b_loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_warnx("cannot create the event loop");
		return -1;
	}
	ev_signal_init(&b.b_sigterm, bridge_signal_cb, SIGTERM);
	ev_signal_start(b.b_loop, &b.b_sigterm);
	ev_signal_init(&b.b_sigint, bridge_signal_cb, SIGINT);
	ev_signal_start(b.b_loop, &b.b_sigint);
	b.b_chans = htab_new();
	ev_prepare_init(&b.b_reap, bridge_reap_cb);

	if (ipc_rundir(conf->bc_rundir, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/bridge.sock", conf->bc_rundir);
	if ((lfd = ipc_listen(path)) == -1) {
		log_warn("listen on %s", path);
		return -1;
	}
	ipc_acceptor_start(b.b_loop, &b.b_accept, lfd, 0, bridge_accept, NULL);
	redis_start();

	if (conf->bc_readyfd != -1) {
		if (write(conf->bc_readyfd, "\n", 1) == -1)
			log_warn("ready fd %d", conf->bc_readyfd);
		close(conf->bc_readyfd);
	}
	log_info("ready: node %s, workers on %s, history %u messages for %u s",
	    conf->bc_node, path, conf->bc_histsize, conf->bc_histttl);
	ev_run(b.b_loop, 0);

	log_info("stopped: %llu published, %llu delivered, %llu events, "
	    "%llu Redis reconnects", (unsigned long long)b.b_published,
	    (unsigned long long)b.b_delivered,
	    (unsigned long long)b.b_events,
	    (unsigned long long)b.b_reconnects);
	redis_stop();
	gather_stop();
	while ((w = b.b_workers) != NULL) {
		b.b_workers = w->w_next;
		chan_worker_gone(w);
		ipc_peer_free(w->w_peer);
		free(w);
	}
	htab_free(b.b_chans);
	ipc_acceptor_stop(b.b_loop, &b.b_accept);
	unlink(path);
	return 0;
}

static void
bridge_stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	log_info("workers still connected after the drain time: stopping");
	ev_break(loop, EVBREAK_ALL);
}

/*
 * SIGTERM: the node is draining, and its workers still deliver to the
 * connections they are closing; stop once they have all gone (at most
 * --drain-time and 5 s).  SIGINT, a second signal, or no worker: stop at
 * once.
 */
static void
bridge_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct worker	*wk;
	int		 n = 0;

	(void)revents;
	for (wk = gb->b_workers; wk != NULL; wk = wk->w_next)
		n += !wk->w_dead;
	if (gb->b_stopping || n == 0 || w->signum == SIGINT) {
		log_info("%s: shutting down", strsignal(w->signum));
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("%s: shutting down once %d workers have gone",
	    strsignal(w->signum), n);
	gb->b_stopping = 1;
	ev_timer_init(&gb->b_stoptimer, bridge_stop_cb,
	    gb->b_conf->bc_drain + 5, 0.);
	ev_timer_start(loop, &gb->b_stoptimer);
}

/* A worker connected (or fd -1 and a line to log). */
static void
bridge_accept(struct ev_loop *loop, int fd, const char *why, void *arg)
{
	struct worker	*w;

	(void)arg;
	if (fd == -1) {
		log_warnx("%s", why);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->w_serial = ++gb->b_wserial;
	snprintf(w->w_name, sizeof(w->w_name), "worker#%llu",
	    (unsigned long long)w->w_serial);
	w->w_peer = ipc_peer_new(loop, fd, bridge_dispatch, bridge_closed, w);
	w->w_next = gb->b_workers;
	gb->b_workers = w;
	bridge_send_health(w);
}

/* The worker of a serial number, or NULL if it has gone. */
struct worker *
bridge_worker(uint64_t serial)
{
	struct worker	*w;

	for (w = gb->b_workers; w != NULL; w = w->w_next)
		if (w->w_serial == serial && !w->w_dead)
			return w;
	return NULL;
}

/*
 * Mark w dead, logging why (NULL: the caller has logged it); it is freed
 * at the end of this loop iteration, because callers may be walking a
 * channel's workers or be inside w's dispatch.
 */
static void
bridge_drop(struct worker *w, const char *why)
{
	if (w->w_dead)
		return;
	if (why != NULL)
		log_info("%s: %s", w->w_name, why);
	w->w_dead = 1;
	ev_prepare_start(gb->b_loop, &gb->b_reap);
}

static void
bridge_reap_cb(struct ev_loop *loop, ev_prepare *pw, int revents)
{
	struct worker	**pp, *w;

	(void)revents;
	ev_prepare_stop(loop, pw);
	for (pp = &gb->b_workers; (w = *pp) != NULL; ) {
		if (!w->w_dead) {
			pp = &w->w_next;
			continue;
		}
		*pp = w->w_next;
		chan_worker_gone(w);
		gather_gone(w);
		ipc_peer_free(w->w_peer);
		free(w);
	}
	if (gb->b_stopping && gb->b_workers == NULL) {
		log_info("the last worker has gone: shutting down");
		ev_break(loop, EVBREAK_ALL);
	}
}

static void
bridge_closed(struct ipc_peer *p, const char *why)
{
	bridge_drop(ipc_peer_arg(p), why);
}

/*
 * Queue m for w; a worker whose queue overflows is dropped.  A message
 * over GW_IPC_MAXMSG is not sent (and logged): the worker would get it
 * again if it caught up after a drop.
 */
void
bridge_send(struct worker *w, struct ipc_msg *m)
{
	uint32_t	 type;

	if (w->w_dead) {
		ipc_msg_free(m);
		return;
	}
	memcpy(&type, m->m_buf, sizeof(type));
	if (ipc_send(w->w_peer, m) == 0)
		return;
	if (errno == EMSGSIZE)
		log_warnx("%s: %s over %d bytes: not sent", w->w_name,
		    ipc_type_name(type), GW_IPC_MAXMSG);
	else
		bridge_drop(w, "output queue full");
}

/* Answer w's request id with an error code and message. */
void
bridge_send_fail(struct worker *w, uint32_t id, const char *code,
    const char *msg)
{
	struct ipc_msg	*m;

	m = ipc_create(GW_MSG_BRIDGE_FAIL, id);
	ipc_add_cstr(m, code);
	ipc_add_cstr(m, msg);
	bridge_send(w, m);
}

static void
bridge_send_health(struct worker *w)
{
	struct ipc_msg	*m;

	m = ipc_create(GW_MSG_BRIDGE_HEALTH, 0);
	ipc_add_u32(m, gb->b_healthy);
	bridge_send(w, m);
}

/* Tell every worker the health as it is (a sign of life, redis.c). */
void
bridge_health_beat(void)
{
	struct worker	*w, *next;

	for (w = gb->b_workers; w != NULL; w = next) {
		next = w->w_next;
		if (w->w_listen && !w->w_dead)
			bridge_send_health(w);
	}
}

/* Recompute health; tell every worker when it changed. */
void
bridge_health_update(void)
{
	struct worker	*w, *next;
	int		 up = gb->b_cmdup && gb->b_subup;

	if (up == gb->b_healthy)
		return;
	gb->b_healthy = up;
	log_info("node %s", up ? "healthy: Redis reachable both ways" :
	    "unhealthy: Redis link down");
	for (w = gb->b_workers; w != NULL; w = next) {
		next = w->w_next;
		bridge_send_health(w);
	}
}

/*
 * A worker's GW_MSG_BRIDGE_PUBLISH (request id, payload rd): publish it,
 * or answer why not.  Return value: 0, or -1 if the payload is malformed.
 */
static int
bridge_publish(struct worker *w, uint32_t id, struct ipc_rd *rd)
{
	const char	*ch, *data, *from;
	size_t		 chlen, datalen, fromlen;
	uint64_t	 ts;

	if (ipc_get_str(rd, &ch, &chlen) == -1 ||
	    ipc_get_str(rd, &data, &datalen) == -1 ||
	    ipc_get_str(rd, &from, &fromlen) == -1 ||
	    ipc_get_u64(rd, &ts) == -1 || ipc_end(rd) == -1 ||
	    !parse_channel(ch, chlen))
		return -1;
	/* The message frame must fit in one GW_MSG_BRIDGE_DELIVER. */
	if (datalen > BRIDGE_MAXDATA || fromlen > BRIDGE_MAXFROM)
		bridge_send_fail(w, id, "too_large",
		    "the message is over 4 MiB; not published");
	else if (redis_publish(w, id, ch, chlen, data, datalen, from,
	    fromlen, ts) == -1)
		bridge_send_fail(w, id, "unavailable",
		    "Redis is not reachable; not published");
	return 0;
}

static void
bridge_dispatch(struct ipc_peer *p, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	struct worker	*w = ipc_peer_arg(p);
	const char	*ch, *since, *name;
	size_t		 chlen, sincelen, namelen;
	uint32_t	 flags, limit, pid;

	if (w->w_dead)
		return;
	switch (h->type) {
	case GW_MSG_HELLO:
		if (ipc_get_u32(rd, &pid) == -1 ||
		    ipc_get_str(rd, &name, &namelen) == -1 || ipc_end(rd) == -1)
			break;
		ipc_printable(w->w_name, sizeof(w->w_name), name, namelen);
		w->w_listen = namelen > 10 && memcmp(name, "gw-listen[", 10) == 0;
		log_info("%s connected", w->w_name);
		return;
	case GW_MSG_BRIDGE_SUB:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_str(rd, &since, &sincelen) == -1 ||
		    ipc_get_u32(rd, &flags) == -1 || ipc_end(rd) == -1 ||
		    !parse_channel(ch, chlen))
			break;
		chan_sub(w, h->id, ch, chlen, since, sincelen, flags);
		return;
	case GW_MSG_BRIDGE_UNSUB:
	case GW_MSG_BRIDGE_NOEVENTS:
		if (ipc_get_str(rd, &ch, &chlen) == -1 || ipc_end(rd) == -1 ||
		    !parse_channel(ch, chlen))
			break;
		if (h->type == GW_MSG_BRIDGE_UNSUB)
			chan_unsub(w, ch, chlen);
		else
			chan_noevents(w, ch, chlen);
		return;
	case GW_MSG_BRIDGE_PUBLISH:
		if (bridge_publish(w, h->id, rd) == -1)
			break;
		return;
	case GW_MSG_BRIDGE_HISTORY:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_str(rd, &since, &sincelen) == -1 ||
		    ipc_get_u32(rd, &limit) == -1 || ipc_end(rd) == -1 ||
		    !parse_channel(ch, chlen) || limit == 0)
			break;
		if (redis_history(w, h->id, ch, chlen, since, sincelen,
		    limit) == -1)
			bridge_send_fail(w, h->id, "unavailable",
			    "Redis is not reachable");
		return;
	case GW_MSG_BRIDGE_GATHER:
		if (gather_start(w, h->id, rd) == -1)
			break;
		return;
	case GW_MSG_CTL_REPLY:
		/* A worker's answer to a gather's question. */
		if (!w->w_listen || gather_reply(w, h->id, rd) == -1)
			break;
		return;
	case GW_MSG_CTL_REQUEST:
		/* A client that sends requests and reads no reply is cut. */
		if (ipc_peer_queued(p) > BRIDGE_CTLQUEUE) {
			log_warnx("%s: reads no control replies: link dropped",
			    w->w_name);
			bridge_drop(w, NULL);
			return;
		}
		ctl_request(w, h->id, rd);
		return;
	default:
		break;
	}
	/*
	 * A worker never sends this: a bug of ours, or another peer of the
	 * socket (gwctl, a member of the socket group).  Either way only
	 * this link goes: the bridge serves every worker of the node.
	 */
	log_warnx("%s: malformed %s (len %u): link dropped", w->w_name,
	    ipc_type_name(h->type), h->len);
	bridge_drop(w, NULL);
}
