/*
 * listen.c -- gw-listen's event loop: listening sockets, the timeout lists,
 * the per-iteration flush, signals and shutdown.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htab.h"
#include "listen.h"
#include "log.h"
#include "uring.h"

struct listen	*gl;

static int	listen_bind(struct listen_addr *);
static void	listen_accept_cb(struct ev_loop *, ev_io *, int);
static void	listen_resume_cb(struct ev_loop *, ev_timer *, int);
static long	listen_fdlimit(void);
static long	listen_fdspare(long);
static void	listen_full(int);
static void	listen_full_cb(struct ev_loop *, ev_timer *, int);
static void	listen_unlisten(void);
static void	listen_prepare_cb(struct ev_loop *, ev_prepare *, int);
static void	listen_turn(struct ev_loop *);
static void	listen_signal_cb(struct ev_loop *, ev_signal *, int);
static void	listen_stop_cb(struct ev_loop *, ev_timer *, int);
static void	tlist_timer_cb(struct ev_loop *, ev_timer *, int);
static int	listen_open(struct listen *);
static void	listen_ring_cb(struct ev_loop *, ev_io *, int);
static void	listen_ringidle_cb(struct ev_loop *, ev_idle *, int);
static void	listen_close(struct listen *);

static int
listen_bind(struct listen_addr *la)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];
	int			 fd, on = 1;
	uint16_t		 port;

	fd = socket(la->la_ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("socket");
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		log_warn("setsockopt");
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&la->la_ss, la->la_len) == -1) {
		log_warn("bind %s", la->la_name);
		close(fd);
		return -1;
	}
	if (listen(fd, 4096) == -1) {
		log_warn("listen %s", la->la_name);
		close(fd);
		return -1;
	}
	/*
	 * Port 0 asks the kernel for one: log the one it chose, and keep it
	 * for a listen again after listen_full().
	 */
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (sslen <= sizeof(la->la_ss)) {
			memcpy(&la->la_ss, &ss, sslen);
			la->la_len = sslen;
		}
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
			log_info("listening on [%s]:%u", host, port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
			log_info("listening on %s:%u", host, port);
		}
	}
	return fd;
}

/*
 * Run gw-listen with the given configuration until SIGTERM or SIGINT.
 * Return value: 0 after a clean shutdown, -1 if it could not start.
 */
int
listen_main(struct listen_conf *conf)
{
	static struct listen	 l;

	gl = &l;
	l.l_conf = conf;
	if (listen_open(&l) == -1)
		return -1;
	link_start();
	ctl_start();
	ev_prepare_init(&l.l_prepare, listen_prepare_cb);
	ev_prepare_start(l.l_loop, &l.l_prepare);

	if (conf->lc_readyfd != -1) {
		if (write(conf->lc_readyfd, "\n", 1) == -1)
			log_warn("ready fd %d", conf->lc_readyfd);
		close(conf->lc_readyfd);
	}
	log_info("ready: node %s, auth %s, max message %zu, max outbound %zu",
	    conf->lc_node, conf->lc_authnone ? "none" : "jwt",
	    conf->lc_maxmsg, conf->lc_maxout);
	ev_run(l.l_loop, 0);
	listen_close(&l);
	return 0;
}

/*
 * The descriptors, the loop, the signals, the listening sockets and the
 * timeout lists of l: 0, or -1 (logged) if a socket could not be bound.
 */
static int
listen_open(struct listen *l)
{
	struct listen_conf	*conf = l->l_conf;
	struct rlimit		 rl;
	int			 i, fd;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * Take every descriptor the hard limit allows: a node holds more
	 * connections by running more workers, not by raising the limit.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((l->l_loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_warnx("cannot create the event loop");
		return -1;
	}
	if (uring_init() == -1)
		log_info("no io_uring (%s): a writev per connection",
		    strerror(errno));
	else if (!uring_ms_on())
		log_info("io_uring without multishot receives: the readable "
		    "connections are read in batches");
	if (uring_ms_on()) {
		log_info("io_uring: multishot receives");
		ev_io_init(&l->l_ring, listen_ring_cb, uring_fd(), EV_READ);
		ev_io_start(l->l_loop, &l->l_ring);
		ev_unref(l->l_loop);
		ev_idle_init(&l->l_ringidle, listen_ringidle_cb);
	}
	/*
	 * Catch SIGTERM before the first client can connect: a supervisor
	 * that stops us at once must still get a clean exit.
	 */
	ev_signal_init(&l->l_sigterm, listen_signal_cb, SIGTERM);
	ev_signal_start(l->l_loop, &l->l_sigterm);
	ev_signal_init(&l->l_sigint, listen_signal_cb, SIGINT);
	ev_signal_start(l->l_loop, &l->l_sigint);
	ev_unref(l->l_loop);	/* signal watchers do not keep the loop alive */
	ev_unref(l->l_loop);
	for (i = 0; i < conf->lc_naddrs; i++) {
		if ((fd = listen_bind(&conf->lc_addrs[i])) == -1)
			return -1;
		ev_io_init(&l->l_accept[i], listen_accept_cb, fd, EV_READ);
		ev_io_start(l->l_loop, &l->l_accept[i]);
		l->l_naccept++;
	}
	ev_timer_init(&l->l_acceptpause, listen_resume_cb, 0.1, 0.);
	ev_timer_init(&l->l_fulltimer, listen_full_cb, LISTEN_FULL_CHECK,
	    LISTEN_FULL_CHECK);
	l->l_chans = htab_new();
	tlist_init(&l->l_heads, conf->lc_headtmo, handshake_expire);
	tlist_init(&l->l_live, conf->lc_ping, ws_ping_expire);
	/*
	 * Pings go out in batches, up to a tenth of the interval early (at
	 * most LISTEN_PING_EARLY): one timer run and a few system calls
	 * for many (conn.c, uring.c) rather than one of each per ping; the
	 * pongs come back together too.
	 */
	l->l_live.tl_early = conf->lc_ping / 10 < LISTEN_PING_EARLY ?
	    conf->lc_ping / 10 : LISTEN_PING_EARLY;
	tlist_init(&l->l_pinged, conf->lc_pong, ws_pong_expire);
	tlist_init(&l->l_closing, LISTEN_CLOSE_TIMEOUT, conn_kill);
	return 0;
}

/* After the loop: free what is left and flush the sessions just saved. */
static void
listen_close(struct listen *l)
{
	int	 i;

	/* Connections the stop timer cut short are freed here. */
	for (i = 0; i < 4; i++) {
		struct tlist *tl[] = { &l->l_heads, &l->l_live, &l->l_pinged,
		    &l->l_closing };

		while (tl[i]->tl_head != NULL)
			conn_kill(tl[i]->tl_head);
	}
	conn_reap_all();
	/*
	 * Its ev_break() would end every loop iteration of the flush before
	 * any I/O or timer ran.
	 */
	ev_prepare_stop(l->l_loop, &l->l_prepare);
	link_flush(1.0);	/* the sessions just saved */
	link_stop();
	ctl_stop();
	ws_cleanup();
	expiry_cleanup();
	log_info("stopped after %llu connections",
	    (unsigned long long)l->l_served);
	htab_free(l->l_chans);
	if (l->l_syncpends != NULL)
		htab_free(l->l_syncpends);
	if (l->l_late != NULL)
		htab_free(l->l_late);	/* empty: every connection is freed */
	sess_free_kept();
}

static void
listen_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	static ev_tstamp	 logged = -1e9;
	long			 lim;
	int			 i, fd;

	(void)revents;
	/* Bounded: the other listeners and the clients get their turn. */
	for (i = 0; i < 64; i++) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			/*
			 * Out of descriptors or memory: pause accepting
			 * instead of spinning on a readable listener.
			 */
			/* Once per 10 s: the pause repeats while it lasts. */
			if (ev_now(loop) - logged >= 10) {
				log_warn("accept (paused 0.1 s at a time)");
				logged = ev_now(loop);
			}
			for (i = 0; i < gl->l_naccept; i++)
				ev_io_stop(loop, &gl->l_accept[i]);
			/* A spent one-shot timer must be set again. */
			ev_timer_set(&gl->l_acceptpause, 0.1, 0.);
			ev_timer_start(loop, &gl->l_acceptpause);
			return;
		}
		conn_accept(fd);
		lim = listen_fdlimit();
		if (fd >= lim - listen_fdspare(lim)) {
			listen_full(fd);
			return;
		}
	}
}

/* Descriptors kept free below limit lim: LISTEN_FD_SPARE, or an eighth. */
static long
listen_fdspare(long lim)
{
	return lim / 8 < LISTEN_FD_SPARE ? lim / 8 : LISTEN_FD_SPARE;
}

/* The limit of open files, read each time (prlimit(1) may change it). */
static long
listen_fdlimit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX)
		return INT_MAX;
	return (long)rl.rlim_cur;
}

/*
 * Descriptor fd is one of the last listen_fdspare() below the limit of
 * open files: clients take no more, so that gwctl and the links to
 * gw-bridge and gw-presence (which reconnect after a restart) always
 * have descriptors.  With --spill (gw-supervise gives it to the
 * workers of a port): close the listening sockets, so that the kernel
 * hands new connections to the node's other workers (SO_REUSEPORT)
 * instead of queueing them here; connections still in the closed
 * socket's queue are reset, unless net.ipv4.tcp_migrate_req hands them
 * to another worker.  Without: stop accepting, new connections wait in
 * the queue.  Either until connections have gone (listen_full_cb()).
 */
static void
listen_full(int fd)
{
	int	i;

	if (gl->l_full || gl->l_stopping)
		return;
	gl->l_full = 1;
	gl->l_fdbase = fd + 1 - (int)gl->l_nconns;
	if (gl->l_conf->lc_spill) {
		log_warnx("%d files open, the limit is %ld: not listening "
		    "until connections close", fd + 1, listen_fdlimit());
		listen_unlisten();
	} else {
		log_warnx("%d files open, the limit is %ld: not accepting "
		    "until connections close", fd + 1, listen_fdlimit());
		for (i = 0; i < gl->l_naccept; i++)
			ev_io_stop(gl->l_loop, &gl->l_accept[i]);
		ev_timer_stop(gl->l_loop, &gl->l_acceptpause);
	}
	ev_timer_start(gl->l_loop, &gl->l_fulltimer);
}

/* While full: listen again once enough connections have closed. */
static void
listen_full_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	long	lim;
	int	i, fd;

	(void)revents;
	if (gl->l_stopping) {
		ev_timer_stop(loop, w);
		return;
	}
	lim = listen_fdlimit();
	if ((long)gl->l_nconns + gl->l_fdbase >= lim - 2 * listen_fdspare(lim))
		return;
	for (i = 0; i < gl->l_naccept; i++) {
		if (gl->l_accept[i].fd == -1) {
			/* Closed by --spill; the next tick tries again. */
			if ((fd = listen_bind(&gl->l_conf->lc_addrs[i])) == -1)
				return;
			ev_io_set(&gl->l_accept[i], fd, EV_READ);
		}
		ev_io_start(loop, &gl->l_accept[i]);
	}
	ev_timer_stop(loop, w);
	gl->l_full = 0;
	log_info("%llu connections: %s again",
	    (unsigned long long)gl->l_nconns,
	    gl->l_conf->lc_spill ? "listening" : "accepting");
}

static void
listen_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int	i;

	(void)w;
	(void)revents;
	if (gl->l_stopping || gl->l_full)
		return;		/* listen_full_cb() starts them */
	for (i = 0; i < gl->l_naccept; i++)
		ev_io_start(loop, &gl->l_accept[i]);
}

/* The ring has completions of the multishot receives: handle them. */
static void
listen_ring_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	uring_ms_submit();
	conn_ms_drain();
}

/* Completions taken by a turn's sends wait: handle them without sleeping. */
static void
listen_ringidle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
	conn_ms_drain();
}

/*
 * Once per loop iteration, before the loop sleeps: read the connections
 * found readable (together, through the ring), free what was closed
 * during the iteration, then write everything queued, one send per
 * connection (DESIGN.md: syscalls are the currency).
 */
static void
listen_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)w;
	(void)revents;
	conn_ms_drain();
	conn_read_all();
	conn_reap_all();
	conn_flush_all();
	conn_reap_all();
	if (uring_ms_on())
		uring_ms_submit();	/* what is queued, and what came */
	if (uring_ms_pending())
		ev_idle_start(loop, &gl->l_ringidle);
	listen_turn(loop);
	if (gl->l_stopping && gl->l_nconns == 0 &&
	    !ev_is_active(&gl->l_draintimer))
		ev_break(loop, EVBREAK_ALL);
}

/*
 * How long the turn now ending took, from the poll's return (ev_now) to
 * here: a client's ping, pong or message waits that long at worst.  A
 * process that was not given the CPU during the turn counts that too.
 * One clock read a turn.
 */
static void
listen_turn(struct ev_loop *loop)
{
	ev_tstamp	 t = ev_time() - ev_now(loop);
	uint64_t	 us;

	if (t < 0.1)
		return;
	us = (uint64_t)(t * 1e6);
	if (us > gst.st_turn_max_us)
		gst.st_turn_max_us = us;
	gst.st_turns_100ms++;
	if (t >= 1.)
		gst.st_turns_1s++;
}

/* Stop accepting: the last step of a drain or of a shutdown. */
static void
listen_unlisten(void)
{
	int	i;

	for (i = 0; i < gl->l_naccept; i++) {
		if (gl->l_accept[i].fd == -1)
			continue;
		ev_io_stop(gl->l_loop, &gl->l_accept[i]);
		close(gl->l_accept[i].fd);
		gl->l_accept[i].fd = -1;
	}
	ev_timer_stop(gl->l_loop, &gl->l_acceptpause);
}

/* Close up to n WebSocket connections with code and reason, oldest first. */
static uint64_t
listen_close_some(uint64_t n, const char *reason)
{
	struct tlist	*tl[] = { &gl->l_live, &gl->l_pinged };
	struct conn	*c;
	uint64_t	 done = 0;
	int		 i;

	for (i = 0; i < 2 && done < n; i++)
		while (done < n && (c = tl[i]->tl_head) != NULL) {
			ws_close(c, 1001, reason);
			if (tl[i]->tl_head == c)
				tlist_remove(c);
			done++;
		}
	return done;
}

/* One tick of a drain: close the next share of the connections. */
static void
listen_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn	*c, *next;

	(void)revents;
	if (listen_close_some(gl->l_drainper, "draining") < gl->l_drainper) {
		/*
		 * None left open: no more requests are taken, and those
		 * still sending their head do not hold up the exit.
		 */
		ev_timer_stop(loop, w);
		listen_unlisten();
		for (c = gl->l_heads.tl_head; c != NULL; c = next) {
			next = c->c_tnext;
			conn_kill(c);
		}
	}
}

/*
 * SIGTERM drains: /healthz and upgrades answer 503 at once, and the open
 * connections are closed with 1001 spread over --drain-time, so that their
 * clients do not all reconnect elsewhere in the same moment; each close
 * saves the session for a resume.  SIGINT (or a second signal) closes
 * every connection at once.  The process exits when none is left.
 */
static void
listen_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct conn	*c, *next;
	uint64_t	 n = 0;
	double		 tick;

	(void)revents;
	if (gl->l_stopping == 2)
		return;
	if (w->signum == SIGTERM && !gl->l_stopping &&
	    gl->l_conf->lc_drain > 0) {
		gl->l_stopping = 1;
		limit_drain();
		for (c = gl->l_live.tl_head; c != NULL; c = c->c_tnext)
			n++;
		for (c = gl->l_pinged.tl_head; c != NULL; c = c->c_tnext)
			n++;
		log_info("%s: draining %llu connections over %.1f s",
		    strsignal(w->signum), (unsigned long long)n,
		    gl->l_conf->lc_drain);
		/* Ticks of at least 10 ms, each closing its share. */
		tick = n > 0 ? gl->l_conf->lc_drain / n : 0.01;
		if (tick < 0.01)
			tick = 0.01;
		gl->l_drainper = (uint64_t)(n * tick / gl->l_conf->lc_drain +
		    0.5);
		if (gl->l_drainper == 0)
			gl->l_drainper = 1;
		ev_timer_init(&gl->l_draintimer, listen_drain_cb, 0., tick);
		ev_timer_start(loop, &gl->l_draintimer);
		ev_timer_init(&gl->l_stoptimer, listen_stop_cb,
		    gl->l_conf->lc_drain + LISTEN_CLOSE_TIMEOUT + 0.5, 0.);
		ev_timer_start(loop, &gl->l_stoptimer);
		ev_unref(loop);
		return;
	}
	log_info("%s: shutting down", strsignal(w->signum));
	ev_timer_stop(loop, &gl->l_draintimer);
	if (!ev_is_active(&gl->l_stoptimer)) {
		/* Connections left after the close timeout are cut. */
		ev_timer_init(&gl->l_stoptimer, listen_stop_cb,
		    LISTEN_CLOSE_TIMEOUT + 0.5, 0.);
		ev_timer_start(loop, &gl->l_stoptimer);
		ev_unref(loop);
	}
	gl->l_stopping = 2;
	listen_unlisten();
	for (c = gl->l_heads.tl_head; c != NULL; c = next) {
		next = c->c_tnext;
		conn_kill(c);
	}
	(void)listen_close_some(UINT64_MAX, "node shutting down");
}

static void
listen_stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Make tl an empty list whose members expire after timeout seconds. */
void
tlist_init(struct tlist *tl, ev_tstamp timeout, void (*expire)(struct conn *))
{
	memset(tl, 0, sizeof(*tl));
	tl->tl_timeout = timeout;
	tl->tl_expire = expire;
	ev_init(&tl->tl_timer, tlist_timer_cb);
	tl->tl_timer.data = tl;
}

/*
 * Append c to tl, stamped now: every list has one timeout, so appending
 * keeps it ordered by deadline and one timer per list is enough (the libev
 * manual's "be smart about timeouts").
 */
void
tlist_add(struct tlist *tl, struct conn *c, ev_tstamp now)
{
	if (c->c_tlist != NULL)
		tlist_remove(c);
	c->c_tlist = tl;
	c->c_tstamp = now;
	c->c_tnext = NULL;
	c->c_tprev = tl->tl_tail;
	if (tl->tl_tail != NULL)
		tl->tl_tail->c_tnext = c;
	else
		tl->tl_head = c;
	tl->tl_tail = c;
	if (!ev_is_active(&tl->tl_timer)) {
		ev_timer_set(&tl->tl_timer, tl->tl_timeout, 0.);
		ev_timer_start(gl->l_loop, &tl->tl_timer);
	}
}

/* Take c off whatever timeout list it is on. */
void
tlist_remove(struct conn *c)
{
	struct tlist	*tl = c->c_tlist;

	if (tl == NULL)
		return;
	if (c->c_tprev != NULL)
		c->c_tprev->c_tnext = c->c_tnext;
	else
		tl->tl_head = c->c_tnext;
	if (c->c_tnext != NULL)
		c->c_tnext->c_tprev = c->c_tprev;
	else
		tl->tl_tail = c->c_tprev;
	c->c_tnext = c->c_tprev = NULL;
	c->c_tlist = NULL;
}

static void
tlist_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tlist	*tl = w->data;
	struct conn	*c;
	ev_tstamp	 now = ev_now(loop), t;
	int		 n = 0;

	(void)revents;
	/*
	 * Expire callbacks move the head to another list, back to this one
	 * stamped anew, or remove it; if one did none of that, take it off
	 * here, so that this always terminates.
	 */
	while ((c = tl->tl_head) != NULL &&
	    (t = c->c_tstamp) + tl->tl_timeout <= now + tl->tl_early &&
	    n++ < 10000) {
		tl->tl_expire(c);
		if (tl->tl_head == c && c->c_tstamp == t)
			tlist_remove(c);
	}
	if ((c = tl->tl_head) != NULL) {
		ev_tstamp after = c->c_tstamp + tl->tl_timeout - now;

		ev_timer_set(w, after > 0.001 ? after : 0.001, 0.);
		ev_timer_start(loop, w);
	}
}
