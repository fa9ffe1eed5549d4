/*
 * supervise.c -- gw-supervise's event loop: the start of a node in
 * order (Redis, gw-bridge, gw-presence, the gw-listen workers), signals,
 * the reload on SIGHUP and the drain on SIGTERM or SIGINT.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "supervise.h"
#include "xmalloc.h"

struct supervise	*gs;

static void	sup_children(void);
static void	sup_boot_next(void);
static void	sup_boot_cb(struct ev_loop *, ev_timer *, int);
static void	sup_signal_cb(struct ev_loop *, ev_signal *, int);
static void	sup_reload(void);
static void	sup_drain_step(void);
static void	sup_drain_cb(struct ev_loop *, ev_timer *, int);
static int	sup_phase_of(const struct child *);
static int	sup_probe_listen(void);

/* The workers wanted: workers, or max(cores, ceil(max_connections/15000)). */
size_t
sup_nworkers(const struct conf *c)
{
	unsigned long	 w, conns;
	long		 cores;

	w = strtoul(conf_get(c, "workers"), NULL, 10);
	if (w > 0)
		return w;
	conns = strtoul(conf_get(c, "max_connections"), NULL, 10);
	w = (conns + 14999) / 15000;
	if ((cores = sysconf(_SC_NPROCESSORS_ONLN)) > (long)w)
		w = cores;
	return w > SUP_MAXWORKERS ? SUP_MAXWORKERS : w;
}

/* Make the table of children: Redis if embedded, bridge, presence, N. */
static void
sup_children(void)
{
	struct child	*ch;
	size_t		 i, n = sup_nworkers(&gs->s_conf);

	gs->s_nchild = n + 2 + gs->s_embedded;
	gs->s_child = xcalloc(gs->s_nchild, sizeof(*gs->s_child));
	for (i = 0; i < gs->s_nchild; i++) {
		ch = &gs->s_child[i];
		ch->ch_readyfd = -1;
		ch->ch_backoff = SUP_BACKOFF0;
		ch->ch_state = CHILD_ST_STOPPED;
		ev_timer_init(&ch->ch_timer, NULL, 1, 0);
		if (i == 0 && gs->s_embedded) {
			ch->ch_kind = CHILD_REDIS;
			ch->ch_prog = "redis-server";
		} else if (i == (size_t)gs->s_embedded) {
			ch->ch_kind = CHILD_BRIDGE;
			ch->ch_prog = "gw-bridge";
		} else if (i == (size_t)gs->s_embedded + 1) {
			ch->ch_kind = CHILD_PRESENCE;
			ch->ch_prog = "gw-presence";
		} else {
			ch->ch_kind = CHILD_LISTEN;
			ch->ch_prog = "gw-listen";
			ch->ch_index = i - gs->s_embedded - 2;
		}
		if (ch->ch_kind == CHILD_LISTEN)
			snprintf(ch->ch_name, sizeof(ch->ch_name), "%s[%d]",
			    ch->ch_prog, ch->ch_index);
		else
			snprintf(ch->ch_name, sizeof(ch->ch_name), "%s",
			    ch->ch_prog);
	}
}

/*
 * Run the node described by s (its configuration checked by main.c)
 * until SIGTERM or SIGINT has drained it.  Return value: 0 after a clean
 * drain, -1 if the node could not start (logged).
 */
/*
 * Is each listen address free?  The workers bind with SO_REUSEPORT, which
 * the kernel grants to any process of the same user: a second node
 * started on the address of a running one would share its port, and
 * take half its clients, without a word.  A bind without it fails
 * then.  Port 0 (the kernel picks) is not tried.  Return value: 0, or -1
 * after saying which address is taken.
 */
static int
sup_probe_listen(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*s, *comma;
	char			 addr[128];
	int			 fd, on = 1, rv = 0;

	for (s = conf_get(&gs->s_conf, "listen"); rv == 0; s = comma + 1) {
		comma = strchr(s, ',');
		snprintf(addr, sizeof(addr), "%.*s", comma == NULL ?
		    (int)strlen(s) : (int)(comma - s), s);
		/* sin_port and sin6_port lie at the same place. */
		if (parse_sockaddr(addr, &ss, &len) == 0 &&
		    ((struct sockaddr_in *)&ss)->sin_port != 0 &&
		    (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) != -1) {
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
			if (bind(fd, (struct sockaddr *)&ss, len) == -1 &&
			    errno == EADDRINUSE) {
				log_errx("listen %s: the address is in use (by "
				    "another node?): not started", addr);
				rv = -1;
			}
			close(fd);
		}
		if (comma == NULL)
			break;
	}
	return rv;
}

int
supervise_main(struct supervise *s)
{
	char	err[PATH_MAX + 64];

	gs = s;
	signal(SIGPIPE, SIG_IGN);
	if ((s->s_loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_warnx("cannot create the event loop");
		return -1;
	}
	if (ipc_rundir(s->s_rundir, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	if (ctl_start() == -1)
		return -1;
	if (sup_probe_listen() == -1) {
		ctl_stop();
		return -1;
	}
	ev_signal_init(&s->s_sigterm, sup_signal_cb, SIGTERM);
	ev_signal_start(s->s_loop, &s->s_sigterm);
	ev_signal_init(&s->s_sigint, sup_signal_cb, SIGINT);
	ev_signal_start(s->s_loop, &s->s_sigint);
	ev_signal_init(&s->s_sighup, sup_signal_cb, SIGHUP);
	ev_signal_start(s->s_loop, &s->s_sighup);
	ev_timer_init(&s->s_boottimer, sup_boot_cb, SUP_READYMAX, 0);
	ev_timer_init(&s->s_draintimer, sup_drain_cb, 1, 0);

	sup_children();
	log_info("starting node %s in %s: %s, %zu gw-listen on %s",
	    s->s_node, s->s_rundir, s->s_embedded ? "private Redis" :
	    s->s_redis, s->s_nchild - 2 - s->s_embedded,
	    conf_get(&s->s_conf, "listen"));
	s->s_boot = 0;
	sup_boot_next();
	ev_run(s->s_loop, 0);

	ctl_stop();
	if (s->s_embedded) {
		char	path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/redis.sock", s->s_rundir);
		(void)unlink(path);
	}
	free(s->s_child);
	log_info("stopped");
	return s->s_status;
}

/* Start the next child of the boot order, or say the node is up. */
static void
sup_boot_next(void)
{
	struct child	*ch;

	while (gs->s_boot < gs->s_nchild && !gs->s_drain) {
		ch = &gs->s_child[gs->s_boot];
		if (child_spawn(ch) == 0) {
			ev_timer_set(&gs->s_boottimer, SUP_READYMAX, 0);
			ev_timer_start(gs->s_loop, &gs->s_boottimer);
			return;
		}
		if (ch->ch_kind == CHILD_REDIS) {
			log_warnx("cannot start the private Redis: stopping");
			ev_break(gs->s_loop, EVBREAK_ALL);
			return;
		}
		gs->s_boot++;
	}
	if (!gs->s_drain && !gs->s_booted) {
		gs->s_booted = 1;
		log_info("node %s up: %zu processes", gs->s_node,
		    gs->s_nchild);
	}
}

/* A start that takes too long: go on with the next one. */
static void
sup_boot_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (gs->s_boot >= gs->s_nchild)
		return;
	log_warnx("%s: not ready after %.0f s; going on",
	    gs->s_child[gs->s_boot].ch_name, SUP_READYMAX);
	gs->s_boot++;
	sup_boot_next();
}

/*
 * ch said it is ready (ok) or died before it was.  During the start of
 * the node, that lets the next child start: a child that does not come
 * up is restarted with backoff meanwhile, and does not hold up the rest.
 */
void
sup_child_ready(struct child *ch, int ok)
{
	if (gs->s_boot >= gs->s_nchild || &gs->s_child[gs->s_boot] != ch)
		return;
	if (!ok && ch->ch_kind == CHILD_REDIS && ch->ch_state ==
	    CHILD_ST_STOPPED) {
		log_warnx("the private Redis did not start: stopping");
		ev_break(gs->s_loop, EVBREAK_ALL);
		return;
	}
	ev_timer_stop(gs->s_loop, &gs->s_boottimer);
	gs->s_boot++;
	sup_boot_next();
}

static void
sup_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	size_t	i;

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		if (!gs->s_drain)
			sup_reload();
		return;
	}
	if (gs->s_drain != 0) {
		/* A ^C during a drain: the workers stop at once. */
		if (w->signum == SIGINT && gs->s_phase == 1) {
			log_info("SIGINT: the workers stop now");
			for (i = 0; i < gs->s_nchild; i++)
				if (gs->s_child[i].ch_kind == CHILD_LISTEN)
					child_signal(&gs->s_child[i], SIGINT);
		}
		return;
	}
	log_info("%s: %s the node", strsignal(w->signum),
	    w->signum == SIGTERM ? "draining" : "stopping");
	sup_stop(w->signum);
}

/*
 * Stop the node: SIGTERM drains the workers first (drain_time), SIGINT
 * stops them at once; then gw-bridge and gw-presence, then Redis.
 */
void
sup_stop(int how)
{
	size_t	i;

	if (gs->s_drain != 0)
		return;
	gs->s_drain = how;
	ev_timer_stop(gs->s_loop, &gs->s_boottimer);
	for (i = 0; i < gs->s_nchild; i++)
		child_cancel(&gs->s_child[i]);
	gs->s_phase = 0;
	sup_drain_step();
}

/* 1: the workers; 2: gw-bridge and gw-presence; 3: Redis. */
static int
sup_phase_of(const struct child *ch)
{
	switch (ch->ch_kind) {
	case CHILD_LISTEN:
		return 1;
	case CHILD_REDIS:
		return 3;
	default:
		return 2;
	}
}

/*
 * Go on with the drain: when no child of the current phase runs, signal
 * those of the next (SIGKILL after a while), and stop the loop after the
 * last.
 */
static void
sup_drain_step(void)
{
	size_t	i;
	int	alive, sig;
	double	wait;

	for (;;) {
		for (i = alive = 0; i < gs->s_nchild; i++)
			if (sup_phase_of(&gs->s_child[i]) == gs->s_phase &&
			    gs->s_child[i].ch_pid != 0)
				alive++;
		if (alive > 0 && gs->s_phase > 0)
			return;
		ev_timer_stop(gs->s_loop, &gs->s_draintimer);
		if (++gs->s_phase > 3) {
			ev_break(gs->s_loop, EVBREAK_ALL);
			return;
		}
		sig = gs->s_phase == 1 ? gs->s_drain : SIGTERM;
		wait = SUP_STOPMAX;
		if (gs->s_phase == 1 && sig == SIGTERM)
			wait += strtod(conf_get(&gs->s_conf, "drain_time"),
			    NULL);
		for (i = 0; i < gs->s_nchild; i++)
			if (sup_phase_of(&gs->s_child[i]) == gs->s_phase)
				child_signal(&gs->s_child[i], sig);
		ev_timer_set(&gs->s_draintimer, wait, 0);
		ev_timer_start(gs->s_loop, &gs->s_draintimer);
	}
}

/* A phase of the drain took too long: SIGKILL what is left of it. */
static void
sup_drain_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	size_t	i;

	(void)loop;
	(void)t;
	(void)revents;
	for (i = 0; i < gs->s_nchild; i++)
		if (sup_phase_of(&gs->s_child[i]) == gs->s_phase &&
		    gs->s_child[i].ch_pid != 0) {
			log_warnx("%s: pid %d still there: SIGKILL",
			    gs->s_child[i].ch_name, (int)gs->s_child[i].ch_pid);
			child_signal(&gs->s_child[i], SIGKILL);
		}
}

/* ch has ended and is not restarted: the drain may go on. */
void
sup_child_gone(struct child *ch)
{
	(void)ch;
	if (gs->s_drain)
		sup_drain_step();
}

/*
 * SIGHUP: read the configuration again.  The live settings are taken
 * and sent to every worker; a change to any other is only reported,
 * since it needs a restart of gw-supervise.
 */
static void
sup_reload(void)
{
	const struct conf_key	*keys;
	struct conf		 next;
	char			 err[CONF_ERRLEN];
	const char		*a, *b;
	size_t			 n, i;

	log_info("SIGHUP: reading the configuration again");
	if (sup_config(&next, gs->s_file, &gs->s_flags, err) == -1) {
		log_warnx("%s: the configuration in effect is kept", err);
		conf_free(&next);
		return;
	}
	keys = conf_keys(&n);
	for (i = 0; i < n; i++) {
		a = conf_get(&gs->s_conf, keys[i].k_name);
		b = conf_get(&next, keys[i].k_name);
		if ((a == NULL && b == NULL) || (a != NULL && b != NULL &&
		    strcmp(a, b) == 0) || keys[i].k_live)
			continue;
		log_warnx("%s changed (%s -> %s): needs a restart of "
		    "gw-supervise; kept as it was", keys[i].k_name,
		    a == NULL ? "unset" : a, b == NULL ? "unset" : b);
	}
	ctl_reload(&next);
	conf_free(&next);
}
