/*
 * presence.c -- gw-presence's event loop: the workers' socket in the run
 * directory, their messages, readiness, signals and the drain.
 *
 * SIGTERM or SIGINT starts the drain: the workers are served as before
 * until the last has gone and Redis has answered all that was sent, or
 * drain_time + 5 s have passed; a second signal ends it at once.
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

#include <openssl/rand.h>

#include "htab.h"
#include "log.h"
#include "parse.h"
#include "pjson.h"
#include "presence.h"
#include "utf8.h"
#include "xmalloc.h"

#define PRESENCE_CTLQUEUE	(1024 * 1024)	/* bytes queued to a peer
						   that still gets control
						   replies */

struct presence	*gp;

static void	presence_accept(struct ev_loop *, int, const char *, void *);
static void	presence_dispatch(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
static void	presence_closed(struct ipc_peer *, const char *);
static void	presence_signal_cb(struct ev_loop *, ev_signal *, int);
static void	presence_reap_cb(struct ev_loop *, ev_prepare *, int);
static void	presence_drain_cb(struct ev_loop *, ev_timer *, int);

#define PRESENCE_DRAINMORE	5.	/* seconds past drain_time */

/* Draw this run's instance id, NODE/RAND. */
static void
presence_instance(const char *node)
{
	unsigned char	 r[4];

	if (RAND_bytes(r, sizeof(r)) != 1)
		fatalx("RAND_bytes");
	snprintf(gp->p_inst, sizeof(gp->p_inst), "%s/%02x%02x%02x%02x", node,
	    r[0], r[1], r[2], r[3]);
}

static void
presence_free_peer(struct peer *p)
{
	entry_peer_gone(p);
	session_peer_gone(p);
	ipc_peer_free(p->pr_ipc);
	free(p);
}

/*
 * Run gw-presence with Redis at addr until SIGTERM or SIGINT.  Return
 * value: 0 after a clean shutdown, -1 if it could not start.
 */
int
presence_main(struct presence_conf *conf, const struct redis_addr *addr)
{
	static struct presence	 g;
	char			 path[PATH_MAX], err[PATH_MAX + 64];
	struct peer		*p;
	int			 lfd;

	gp = &g;
	g.p_conf = conf;
	g.p_addr = *addr;
	presence_instance(conf->pc_node);
	signal(SIGPIPE, SIG_IGN);
	if ((g.p_loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_warnx("cannot create the event loop");
		return -1;
	}
	ev_signal_init(&g.p_sigterm, presence_signal_cb, SIGTERM);
	ev_signal_start(g.p_loop, &g.p_sigterm);
	ev_signal_init(&g.p_sigint, presence_signal_cb, SIGINT);
	ev_signal_start(g.p_loop, &g.p_sigint);
	ev_prepare_init(&g.p_reap, presence_reap_cb);
	ev_init(&g.p_dtimer, presence_drain_cb);
	entry_init();
	typing_init();
	session_init();

	if (ipc_rundir(conf->pc_rundir, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/presence.sock", conf->pc_rundir);
	if ((lfd = ipc_listen(path)) == -1) {
		log_warn("listen on %s", path);
		return -1;
	}
	ipc_acceptor_start(g.p_loop, &g.p_accept, lfd, 0, presence_accept,
	    NULL);
	log_info("listening: node %s, instance %s, workers on %s, node ttl "
	    "%g s, grace %g s, typing ttl %g s, resume window %g s",
	    conf->pc_node, g.p_inst, path, conf->pc_nodettl, conf->pc_grace,
	    conf->pc_typingttl, conf->pc_window);
	redis_start();
	ev_run(g.p_loop, 0);

	log_info("stopped: %llu joins, %llu leaves, %llu users swept, %llu "
	    "sessions saved, %llu resumed, %llu closed by sweeps, %llu Redis "
	    "reconnects", (unsigned long long)g.p_joins,
	    (unsigned long long)g.p_leaves, (unsigned long long)g.p_swept,
	    (unsigned long long)g.p_ssaved, (unsigned long long)g.p_sresumed,
	    (unsigned long long)g.p_sexpired,
	    (unsigned long long)g.p_reconnects);
	ev_timer_stop(g.p_loop, &g.p_dtimer);
	redis_stop();
	/* Redis keeps our sessions too: the sweep closes them. */
	session_free_all();
	while ((p = g.p_peers) != NULL) {
		g.p_peers = p->pr_next;
		/* Redis keeps our entries: nothing to undo. */
		htab_free(p->pr_decl);
		p->pr_decl = NULL;
		presence_free_peer(p);
	}
	ev_prepare_stop(g.p_loop, &g.p_reap);
	typing_free_all();
	entry_free_all();
	ipc_acceptor_stop(g.p_loop, &g.p_accept);
	unlink(path);
	return 0;
}

/*
 * Tell the supervisor, once, that workers may connect and be served:
 * the socket listens and Redis is up.
 */
void
presence_ready(void)
{
	if (gp->p_ready)
		return;
	gp->p_ready = 1;
	log_info("ready");
	if (gp->p_conf->pc_readyfd != -1) {
		if (write(gp->p_conf->pc_readyfd, "\n", 1) == -1)
			log_warn("ready fd %d", gp->p_conf->pc_readyfd);
		close(gp->p_conf->pc_readyfd);
	}
}

/* The live peers. */
static unsigned
presence_npeers(void)
{
	struct peer	*p;
	unsigned	 n = 0;

	for (p = gp->p_peers; p != NULL; p = p->pr_next)
		if (!p->pr_dead)
			n++;
	return n;
}

/*
 * While draining: stop once no worker is connected and Redis has
 * answered every command sent (the last sessions saved), or is down.
 */
void
presence_drain_check(void)
{
	if (gp->p_draining != 1 || presence_npeers() > 0 ||
	    (gp->p_up && gp->p_pending > 0))
		return;
	log_info("drained: no worker left");
	gp->p_draining = 2;
	ev_break(gp->p_loop, EVBREAK_ALL);
}

/*
 * Stop reading the workers (on non-zero), or read them again: the queue
 * of commands for Redis is long (rqueue.c).  Their messages wait in the
 * sockets and in the workers' queues, so that a storm of connections
 * costs memory there, bounded per worker, not here without bound; and
 * a loop turn reads a bounded amount, so that Redis's answers, a window
 * of them a turn, are read often enough to keep up.  gwctl's requests
 * are still read.
 */
void
presence_pause(int on)
{
	struct peer	*p;

	on = on != 0;
	if (gp->p_paused == on)
		return;
	gp->p_paused = on;
	if (on)
		gp->p_pauses++;
	for (p = gp->p_peers; p != NULL; p = p->pr_next)
		if (p->pr_fed && !p->pr_dead)
			ipc_peer_pause(p->pr_ipc, on);
}

static void
presence_drain_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	log_warnx("drain time passed with %u workers connected, %lu Redis "
	    "replies awaited: stopping", presence_npeers(), gp->p_pending);
	ev_break(loop, EVBREAK_ALL);
}

/* First SIGTERM or SIGINT: drain; the second: stop at once. */
static void
presence_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	double	 most = gp->p_conf->pc_drain + PRESENCE_DRAINMORE;

	(void)revents;
	if (gp->p_draining) {
		log_info("%s again: stopping now", strsignal(w->signum));
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	gp->p_draining = 1;
	log_info("%s: draining: %u workers connected, stopping when they "
	    "have gone, within %g s", strsignal(w->signum), presence_npeers(),
	    most);
	ev_timer_set(&gp->p_dtimer, most, 0.);
	ev_timer_start(loop, &gp->p_dtimer);
	presence_drain_check();
}

/* A worker connected (or fd -1 and a line to log). */
static void
presence_accept(struct ev_loop *loop, int fd, const char *why, void *arg)
{
	struct peer	*p;

	(void)arg;
	if (fd == -1) {
		log_warnx("%s", why);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->pr_serial = ++gp->p_pserial;
	p->pr_decl = htab_new();
	snprintf(p->pr_name, sizeof(p->pr_name), "worker#%llu",
	    (unsigned long long)p->pr_serial);
	p->pr_ipc = ipc_peer_new(loop, fd, presence_dispatch, presence_closed,
	    p);
	p->pr_next = gp->p_peers;
	gp->p_peers = p;
}

/* The peer of a serial number, or NULL if it has gone. */
struct peer *
presence_peer(uint64_t serial)
{
	struct peer	*p;

	for (p = gp->p_peers; p != NULL; p = p->pr_next)
		if (p->pr_serial == serial && !p->pr_dead)
			return p;
	return NULL;
}

/*
 * Mark p dead, logging why (NULL: the caller has logged it); it is
 * freed, and what it declared undone, at the end of this loop iteration,
 * since we may be inside its dispatch.
 */
static void
presence_drop(struct peer *p, const char *why)
{
	if (p->pr_dead)
		return;
	if (why != NULL)
		log_info("%s: %s", p->pr_name, why);
	p->pr_dead = 1;
	ev_prepare_start(gp->p_loop, &gp->p_reap);
}

static void
presence_reap_cb(struct ev_loop *loop, ev_prepare *pw, int revents)
{
	struct peer	**pp, *p;

	(void)revents;
	ev_prepare_stop(loop, pw);
	for (pp = &gp->p_peers; (p = *pp) != NULL; ) {
		if (!p->pr_dead) {
			pp = &p->pr_next;
			continue;
		}
		*pp = p->pr_next;
		presence_free_peer(p);
	}
	presence_drain_check();
}

static void
presence_closed(struct ipc_peer *ip, const char *why)
{
	presence_drop(ipc_peer_arg(ip), why);
}

/* Queue m for p; a peer whose queue overflows is dropped. */
void
presence_send(struct peer *p, struct ipc_msg *m)
{
	if (p->pr_dead) {
		ipc_msg_free(m);
		return;
	}
	if (ipc_send(p->pr_ipc, m) == -1)
		presence_drop(p, "output queue full");
}

/* Answer p's request id with an error code and message. */
void
presence_send_fail(struct peer *p, uint32_t id, const char *code,
    const char *msg)
{
	struct ipc_msg	*m;

	m = ipc_create(GW_MSG_PRESENCE_FAIL, id);
	ipc_add_cstr(m, code);
	ipc_add_cstr(m, msg);
	presence_send(p, m);
}

/* Channel and user of JOIN, LEAVE and TYPING, checked. */
static int
presence_get_cu(struct ipc_rd *rd, const char **ch, size_t *chlen,
    const char **user, size_t *userlen)
{
	if (ipc_get_str(rd, ch, chlen) == -1 ||
	    ipc_get_str(rd, user, userlen) == -1)
		return -1;
	/* A user goes into JSON frames as it is: it must be UTF-8. */
	if (!parse_channel(*ch, *chlen) || *userlen == 0 ||
	    *userlen > PRESENCE_MAXUSER || !utf8_valid(*user, *userlen))
		return -1;
	return 0;
}

static int
presence_do_join(struct peer *p, struct ipc_rd *rd)
{
	const char	*ch, *user, *info;
	size_t		 chlen, userlen, infolen;
	uint64_t	 since, actor;

	if (presence_get_cu(rd, &ch, &chlen, &user, &userlen) == -1 ||
	    ipc_get_str(rd, &info, &infolen) == -1 ||
	    ipc_get_u64(rd, &since) == -1 || ipc_get_u64(rd, &actor) == -1 ||
	    ipc_end(rd) == -1)
		return -1;
	if (infolen < 2 || infolen > PRESENCE_MAXINFO || info[0] != '{' ||
	    info[infolen - 1] != '}' || since >= PRESENCE_MAXSINCE)
		return -1;
	entry_join(p, ch, chlen, user, userlen, info, infolen, since, actor);
	return 0;
}

static int
presence_do_leave(struct peer *p, struct ipc_rd *rd)
{
	const char	*ch, *user;
	size_t		 chlen, userlen;
	uint64_t	 actor;

	if (presence_get_cu(rd, &ch, &chlen, &user, &userlen) == -1 ||
	    ipc_get_u64(rd, &actor) == -1 || ipc_end(rd) == -1)
		return -1;
	entry_leave(p, ch, chlen, user, userlen, actor);
	return 0;
}

static int
presence_do_typing(struct ipc_rd *rd)
{
	const char	*ch, *user;
	size_t		 chlen, userlen;
	uint64_t	 actor;
	uint32_t	 stop;

	if (presence_get_cu(rd, &ch, &chlen, &user, &userlen) == -1 ||
	    ipc_get_u64(rd, &actor) == -1 || ipc_get_u32(rd, &stop) == -1 ||
	    ipc_end(rd) == -1 || stop > GW_TYPING_DECLARE)
		return -1;
	typing_update(ch, chlen, user, userlen, actor, stop);
	return 0;
}

static int
presence_do_query(struct peer *p, uint32_t id, struct ipc_rd *rd)
{
	const char	*ch, *sync;
	size_t		 chlen, synclen, i;

	if (ipc_get_str(rd, &ch, &chlen) == -1 ||
	    ipc_get_str(rd, &sync, &synclen) == -1 || ipc_end(rd) == -1 ||
	    !parse_channel(ch, chlen) || synclen > PRESENCE_MAXSYNC)
		return -1;
	for (i = 0; i < synclen; i++)
		if (sync[i] <= ' ' || sync[i] > '~')
			return -1;
	if (redis_query(p, id, ch, chlen, sync, synclen) == -1)
		presence_send_fail(p, id, "unavailable",
		    "presence is not reachable: Redis is down");
	return 0;
}

/* A session id from rd into sid (33 bytes), checked. */
static int
presence_get_sid(struct ipc_rd *rd, char *sid)
{
	const char	*s;
	size_t		 n;

	if (ipc_get_str(rd, &s, &n) == -1 || !pjson_sid_ok(s, n))
		return -1;
	memcpy(sid, s, n);
	sid[n] = '\0';
	return 0;
}

static int
presence_do_ssave(struct peer *p, struct ipc_rd *rd)
{
	const char	*user, *state;
	size_t		 userlen, statelen;
	uint32_t	 live;
	uint64_t	 conn;
	char		 sid[PJSON_SIDLEN + 1];

	if (presence_get_sid(rd, sid) == -1 ||
	    ipc_get_str(rd, &user, &userlen) == -1 ||
	    ipc_get_str(rd, &state, &statelen) == -1 ||
	    ipc_get_u32(rd, &live) == -1 || ipc_get_u64(rd, &conn) == -1 ||
	    ipc_end(rd) == -1)
		return -1;
	if (userlen == 0 || userlen > PRESENCE_MAXUSER || live > 1 ||
	    !pjson_state_ok(state, statelen))
		return -1;
	session_save(p, sid, user, userlen, state, statelen, live, conn);
	return 0;
}

static int
presence_do_sdrop(struct peer *p, struct ipc_rd *rd)
{
	char	 sid[PJSON_SIDLEN + 1];

	if (presence_get_sid(rd, sid) == -1 || ipc_end(rd) == -1)
		return -1;
	session_drop(p, sid);
	return 0;
}

static int
presence_do_sload(struct peer *p, uint32_t id, struct ipc_rd *rd)
{
	const char	*user;
	size_t		 userlen;
	uint64_t	 conn;
	char		 sid[PJSON_SIDLEN + 1];

	if (presence_get_sid(rd, sid) == -1 ||
	    ipc_get_str(rd, &user, &userlen) == -1 ||
	    ipc_get_u64(rd, &conn) == -1 || ipc_end(rd) == -1 ||
	    userlen == 0 || userlen > PRESENCE_MAXUSER)
		return -1;
	session_load(p, id, sid, user, userlen, conn);
	return 0;
}

/* Does a message of this type make work for Redis (a worker's)? */
static int
presence_is_work(uint32_t type)
{
	switch (type) {
	case GW_MSG_PRESENCE_JOIN:
	case GW_MSG_PRESENCE_LEAVE:
	case GW_MSG_PRESENCE_TYPING:
	case GW_MSG_SESSION_SAVE:
	case GW_MSG_SESSION_DROP:
	case GW_MSG_SESSION_LOAD:
		return 1;
	default:
		return 0;
	}
}

static void
presence_dispatch(struct ipc_peer *ip, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	struct peer	*p = ipc_peer_arg(ip);
	const char	*name;
	size_t		 namelen;
	uint32_t	 pid;
	int		 rv = -1;

	if (p->pr_dead)
		return;
	if (!p->pr_fed && presence_is_work(h->type)) {
		/* A worker: paused with the others while Redis is behind. */
		p->pr_fed = 1;
		if (gp->p_paused)
			ipc_peer_pause(ip, 1);
	}
	switch (h->type) {
	case GW_MSG_HELLO:
		if (ipc_get_u32(rd, &pid) == -1 ||
		    ipc_get_str(rd, &name, &namelen) == -1 ||
		    ipc_end(rd) == -1)
			break;
		ipc_printable(p->pr_name, sizeof(p->pr_name), name, namelen);
		log_info("%s connected", p->pr_name);
		rv = 0;
		break;
	case GW_MSG_PRESENCE_JOIN:
		rv = presence_do_join(p, rd);
		break;
	case GW_MSG_PRESENCE_LEAVE:
		rv = presence_do_leave(p, rd);
		break;
	case GW_MSG_PRESENCE_TYPING:
		rv = presence_do_typing(rd);
		break;
	case GW_MSG_PRESENCE_QUERY:
		rv = presence_do_query(p, h->id, rd);
		break;
	case GW_MSG_SESSION_SAVE:
		rv = presence_do_ssave(p, rd);
		break;
	case GW_MSG_SESSION_DROP:
		rv = presence_do_sdrop(p, rd);
		break;
	case GW_MSG_SESSION_LOAD:
		rv = presence_do_sload(p, h->id, rd);
		break;
	case GW_MSG_CTL_REQUEST:
		/* A client that sends requests and reads no reply is cut. */
		if (ipc_peer_queued(ip) > PRESENCE_CTLQUEUE) {
			log_warnx("%s: reads no control replies: link dropped",
			    p->pr_name);
			presence_drop(p, NULL);
			return;
		}
		ctl_request(p, h->id, rd);
		rv = 0;
		break;
	default:
		break;
	}
	if (rv == -1) {
		log_warnx("%s: malformed %s (len %u): link dropped",
		    p->pr_name, ipc_type_name(h->type), h->len);
		presence_drop(p, NULL);
	}
}
