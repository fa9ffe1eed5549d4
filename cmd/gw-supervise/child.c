/*
 * child.c -- one supervised process: its command line from the
 * configuration, its start with a pipe for its stderr and one for its
 * --ready-fd, its end, and its restart with backoff.
 *
 * A child's output is read line by line and written to our stderr.  The
 * gw daemons start their lines with "gw-listen[PID]: " already; those
 * pass as they are, and any other line (Redis, a sanitizer report, a
 * script) gets "PROG[PID]: " in front, so that every line says which
 * process wrote it.  The reader lives until the pipe's EOF, which may
 * come after the child's end has been seen: it is a separate object.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervise.h"
#include "xmalloc.h"

#define LOG_LINEMAX	4096
#define LOG_BUDGET	(64 * 1024)	/* bytes read per event */
#define REDIS_POLL	0.05		/* seconds between socket probes */

struct logpipe {
	ev_io		 lp_io;
	struct child	*lp_child;	/* while it runs */
	char		 lp_tag[48];	/* "gw-listen[123]" */
	size_t		 lp_proglen;	/* of "gw-listen" */
	size_t		 lp_len;
	char		 lp_buf[LOG_LINEMAX];
};

struct argv {
	char	**a_v;
	size_t	  a_n;
};

static void	arg_add(struct argv *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static void	arg_keys(struct argv *, const struct conf *, const char *);
static void	arg_share(struct argv *, const struct conf *, const char *,
		    const char *);
static void	arg_redis(struct argv *, const struct conf *);
static void	arg_listen(struct argv *, const struct conf *);
static void	log_line(struct logpipe *, const char *, size_t);
static void	log_read_cb(struct ev_loop *, ev_io *, int);
static void	child_exit_cb(struct ev_loop *, ev_child *, int);
static void	child_ready_cb(struct ev_loop *, ev_io *, int);
static void	child_timer_cb(struct ev_loop *, ev_timer *, int);
static void	child_exec(struct child *, char **, int, int);
static void	child_schedule(struct child *, int);

static void
arg_add(struct argv *a, const char *fmt, ...)
{
	va_list	ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	a->a_v = xrealloc(a->a_v, (a->a_n + 2) * sizeof(*a->a_v));
	a->a_v[a->a_n++] = s;
	a->a_v[a->a_n] = NULL;
}

/* --key value for each key of the space-separated list that is set. */
static void
arg_keys(struct argv *a, const struct conf *c, const char *list)
{
	char		 key[64], *p;
	const char	*s, *v;
	size_t		 n;

	for (s = list; *s != '\0'; s += n + (s[n] == ' ')) {
		n = strcspn(s, " ");
		snprintf(key, sizeof(key), "%.*s", (int)n, s);
		if ((v = conf_raw(c, key)) == NULL)
			continue;
		for (p = key; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		arg_add(a, "--%s", key);
		arg_add(a, "%s", v);
	}
}

/* 0 for quiet and info, 1 for verbose, 2 for debug. */
int
child_verbosity(const struct conf *c)
{
	const char	*l = conf_get(c, "log_level");

	if (strcmp(l, "debug") == 0)
		return 2;
	return strcmp(l, "verbose") == 0;
}

/* The private redis-server's command line. */
static void
arg_redis(struct argv *a, const struct conf *c)
{
	arg_add(a, "redis-server");
	arg_add(a, "--port");
	arg_add(a, "0");
	arg_add(a, "--unixsocket");
	arg_add(a, "%s/redis.sock", gs->s_rundir);
	arg_add(a, "--unixsocketperm");
	arg_add(a, "700");
	arg_add(a, "--dir");
	arg_add(a, "%s", gs->s_rundir);
	arg_add(a, "--save");
	arg_add(a, "%s", "");
	arg_add(a, "--appendonly");
	arg_add(a, "no");
	/*
	 * Redis gives each new stream node a buffer of stream-node-max-bytes
	 * (4 096) at once; a channel's first message after its history
	 * expired pays for it.  1 024 holds about four messages of 200
	 * bytes: 0.78 of the time per publish and half the memory for
	 * 10 000 channels of four messages each (gw-bridge(8),
	 * docs/BENCH.md).
	 */
	arg_add(a, "--stream-node-max-bytes");
	arg_add(a, "1024");
	arg_add(a, "--daemonize");
	arg_add(a, "no");
	arg_add(a, "--loglevel");
	arg_add(a, child_verbosity(c) ? "notice" : "warning");
}

/* A worker's options of its own. */
static void
arg_listen(struct argv *a, const struct conf *c)
{
	const char	*s, *comma;

	for (s = conf_get(c, "listen"); ; s = comma + 1) {
		comma = strchr(s, ',');
		arg_add(a, "-l");
		arg_add(a, "%.*s", comma == NULL ? (int)strlen(s) :
		    (int)(comma - s), s);
		if (comma == NULL)
			break;
	}
	arg_add(a, "--auth");
	arg_add(a, "%s", conf_get(c, "auth"));
	if (conf_bool(conf_get(c, "demo")) == 1) {
		arg_add(a, "--demo");
		arg_add(a, "%s", gs->s_sharedir);
	}
	if (conf_bool(conf_get(c, "io_uring")) == 0)
		arg_add(a, "--no-io-uring");
	/* Workers sharing a port: a full one lets the others take. */
	if (sup_nworkers(c) > 1)
		arg_add(a, "--spill");
	arg_keys(a, c, "secret_file allow_origin max_message max_outbound "
	    "max_subscriptions ping_interval pong_timeout publish_rate "
	    "publish_burst drain_time api_key_file metrics_allow "
	    "max_conns_per_ip socket_group");
	/* The node's limit and rate, shared by its workers. */
	arg_share(a, c, "max_connections", "--max-connections");
	arg_share(a, c, "upgrade_rate", "--upgrade-rate");
}

/* If key is set, give flag each worker's share of it: key / N, rounded up. */
static void
arg_share(struct argv *a, const struct conf *c, const char *key,
    const char *flag)
{
	unsigned long	 v;
	size_t		 n = sup_nworkers(c);

	if (conf_raw(c, key) == NULL)
		return;
	v = strtoul(conf_get(c, key), NULL, 10);
	arg_add(a, "%s", flag);
	arg_add(a, "%lu", (v + n - 1) / n);
}

/*
 * Build in *argvp the command line of ch from gs's configuration: with
 * --ready-fd 3 unless check, else with -n (check the configuration
 * only).  The array and its strings are the caller's, to free with
 * child_argv_free().  Return value: 0.
 */
int
child_argv(const struct child *ch, int check, char ***argvp)
{
	struct argv	 a = { NULL, 0 };
	const struct conf *c = &gs->s_conf;
	int		 v;

	if (ch->ch_kind == CHILD_REDIS) {
		arg_redis(&a, c);
		*argvp = a.a_v;
		return 0;
	}
	arg_add(&a, "%s/%s", gs->s_bindir, ch->ch_prog);
	arg_add(&a, check ? "-n" : "--ready-fd");
	if (!check)
		arg_add(&a, "3");
	for (v = child_verbosity(c); v > 0; v--)
		arg_add(&a, "-v");
	arg_add(&a, "--rundir");
	arg_add(&a, "%s", gs->s_rundir);
	arg_add(&a, "--node");
	arg_add(&a, "%s", gs->s_node);
	switch (ch->ch_kind) {
	case CHILD_BRIDGE:
	case CHILD_PRESENCE:
		arg_add(&a, "--redis");
		arg_add(&a, "%s", gs->s_redis);
		arg_keys(&a, c, ch->ch_kind == CHILD_BRIDGE ?
		    "history_size history_ttl socket_group" : "node_ttl "
		    "presence_grace typing_ttl presence_max_users "
		    "resume_window drain_time socket_group");
		break;
	case CHILD_LISTEN:
		arg_listen(&a, c);
		break;
	default:
		break;
	}
	*argvp = a.a_v;
	return 0;
}

/* Free a command line of child_argv(). */
void
child_argv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* In the new process: set up its descriptors and run argv. */
static __dead void
child_exec(struct child *ch, char **argv, int logw, int readyw)
{
	sigset_t	 none;
	int		 null;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Its own group: a terminal's ^C reaches only us, and we drain. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if ((null = open("/dev/null", O_RDONLY)) != -1 && null != 0)
		dup2(null, 0);
	dup2(logw, 1);
	dup2(logw, 2);
	if (readyw == 3)
		fcntl(3, F_SETFD, 0);
	else if (readyw != -1)
		dup2(readyw, 3);
	if (ch->ch_kind == CHILD_REDIS)
		execvp(argv[0], argv);
	else
		execv(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Start ch.  Its stderr (and stdout) go through a pipe to our stderr, a
 * gw daemon gets a --ready-fd pipe, and the Redis socket is probed
 * until it answers; either way sup_child_ready() is told.  Return
 * value: 0, or -1 if no process could be made (logged).
 */
int
child_spawn(struct child *ch)
{
	struct logpipe	*lp;
	char		**argv;
	int		 logp[2], readyp[2] = { -1, -1 };
	pid_t		 pid;

	if (pipe2(logp, O_CLOEXEC) == -1) {
		log_warn("%s: pipe", ch->ch_name);
		return -1;
	}
	if (ch->ch_kind != CHILD_REDIS && pipe2(readyp, O_CLOEXEC) == -1) {
		log_warn("%s: pipe", ch->ch_name);
		close(logp[0]);
		close(logp[1]);
		return -1;
	}
	child_argv(ch, 0, &argv);
	if ((pid = fork()) == -1) {
		log_warn("%s: fork", ch->ch_name);
		child_argv_free(argv);
		close(logp[0]);
		close(logp[1]);
		if (readyp[0] != -1) {
			close(readyp[0]);
			close(readyp[1]);
		}
		return -1;
	}
	if (pid == 0)
		child_exec(ch, argv, logp[1], readyp[1]);
	child_argv_free(argv);
	close(logp[1]);
	ch->ch_pid = pid;
	ch->ch_started = ev_now(gs->s_loop);
	ch->ch_ready = 0;
	ch->ch_readyeof = 0;
	ch->ch_state = ch->ch_crashloop ? CHILD_ST_CRASHLOOP : CHILD_ST_RUNNING;

	lp = xcalloc(1, sizeof(*lp));
	snprintf(lp->lp_tag, sizeof(lp->lp_tag), "%s[%d]", ch->ch_prog,
	    (int)pid);
	lp->lp_proglen = strlen(ch->ch_prog);
	lp->lp_child = ch;
	ch->ch_log = lp;
	fcntl(logp[0], F_SETFL, O_NONBLOCK);
	ev_io_init(&lp->lp_io, log_read_cb, logp[0], EV_READ);
	ev_io_start(gs->s_loop, &lp->lp_io);

	ev_child_init(&ch->ch_watch, child_exit_cb, pid, 0);
	ch->ch_watch.data = ch;
	ev_child_start(gs->s_loop, &ch->ch_watch);
	ch->ch_timer.data = ch;
	if (ch->ch_kind == CHILD_REDIS) {
		ch->ch_polls = 0;
		ev_timer_init(&ch->ch_timer, child_timer_cb, REDIS_POLL,
		    REDIS_POLL);
		ev_timer_start(gs->s_loop, &ch->ch_timer);
	} else {
		close(readyp[1]);
		ch->ch_readyfd = readyp[0];
		ev_io_init(&ch->ch_readyio, child_ready_cb, readyp[0], EV_READ);
		ch->ch_readyio.data = ch;
		ev_io_start(gs->s_loop, &ch->ch_readyio);
	}
	log_info("%s: started, pid %d", ch->ch_name, (int)pid);
	return 0;
}

/* Write one line of a child's output to our stderr; see the top. */
static void
log_line(struct logpipe *lp, const char *s, size_t n)
{
	const char	*p;

	if (n >= lp->lp_proglen + 1 && memcmp(s, lp->lp_tag,
	    lp->lp_proglen + 1) == 0) {
		/* "gw-listen[PID]: info: ..." at log_level quiet: dropped. */
		if (gs->s_quiet && (p = memchr(s, ']', n)) != NULL &&
		    (size_t)(s + n - p) > 9 && memcmp(p, "]: info: ", 9) == 0)
			return;
		fprintf(stderr, "%.*s\n", (int)n, s);
	} else
		fprintf(stderr, "%s: %.*s\n", lp->lp_tag, (int)n, s);
}

static void
log_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct logpipe	*lp = (struct logpipe *)io;
	size_t		 total = 0, i, start;
	ssize_t		 n;

	(void)revents;
	while (total < LOG_BUDGET) {
		n = read(io->fd, lp->lp_buf + lp->lp_len,
		    sizeof(lp->lp_buf) - lp->lp_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (lp->lp_len > 0)
				log_line(lp, lp->lp_buf, lp->lp_len);
			ev_io_stop(loop, io);
			close(io->fd);
			if (lp->lp_child != NULL)
				lp->lp_child->ch_log = NULL;
			free(lp);
			return;
		}
		total += n;
		lp->lp_len += n;
		for (i = start = 0; i < lp->lp_len; i++)
			if (lp->lp_buf[i] == '\n') {
				log_line(lp, lp->lp_buf + start, i - start);
				start = i + 1;
			}
		/* A line longer than the buffer is cut in pieces. */
		if (start == 0 && lp->lp_len == sizeof(lp->lp_buf)) {
			log_line(lp, lp->lp_buf, lp->lp_len);
			start = lp->lp_len;
		}
		memmove(lp->lp_buf, lp->lp_buf + start, lp->lp_len - start);
		lp->lp_len -= start;
	}
}

/*
 * The --ready-fd pipe: a newline means ready, EOF alone that it died.
 * revents 0: the child has gone, so decide now.
 */
static void
child_ready_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct child	*ch = io->data;
	char		 c;
	ssize_t		 n;

	if ((n = read(io->fd, &c, 1)) == -1 && (errno == EAGAIN ||
	    errno == EINTR) && revents != 0)
		return;
	ev_io_stop(loop, io);
	close(io->fd);
	ch->ch_readyfd = -1;
	if (n == 1)
		log_verbose("%s: ready", ch->ch_name);
	ch->ch_ready = n == 1;
	if (n != 1 && revents != 0) {
		/*
		 * EOF: it is dying.  Its exit, not this, goes on with the
		 * start (child_exit_cb()): an exit 2 must stop the node
		 * before the next child starts or the node is said up.
		 */
		ch->ch_readyeof = 1;
		return;
	}
	sup_child_ready(ch, n == 1);
}

/* Probe the Redis socket; or, when no process runs, restart it. */
static void
child_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct child		*ch = t->data;
	struct sockaddr_un	 sun;
	int			 fd, up;

	(void)revents;
	if (ch->ch_pid == 0) {
		ev_timer_stop(loop, t);
		if (!ch->ch_stop && !gs->s_drain && child_spawn(ch) == -1)
			child_schedule(ch, 0);
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%.90s/redis.sock",
	    gs->s_rundir);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	up = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	if (!up && ++ch->ch_polls < SUP_READYMAX / REDIS_POLL)
		return;
	ev_timer_stop(loop, t);
	if (up)
		log_verbose("%s: ready on %s", ch->ch_name, sun.sun_path);
	else
		log_warnx("%s: no socket %s after %.0f s", ch->ch_name,
		    sun.sun_path, SUP_READYMAX);
	ch->ch_ready = up;
	sup_child_ready(ch, up);
}

/*
 * Plan ch's restart: after the backoff, or every SUP_BACKOFFMAX seconds
 * once it has been restarted SUP_LOOPN times within SUP_LOOPSECS.
 * uptime is how long its last run lasted.
 */
static void
child_schedule(struct child *ch, int uptime)
{
	ev_tstamp	 now = ev_now(gs->s_loop), delay;

	if (uptime >= SUP_HEALTHY) {
		ch->ch_backoff = SUP_BACKOFF0;
		ch->ch_crashloop = 0;
	}
	if (ch->ch_nhist >= SUP_LOOPN &&
	    now - ch->ch_hist[ch->ch_nhist % SUP_LOOPN] < SUP_LOOPSECS) {
		if (!ch->ch_crashloop)
			log_warnx("%s: crash loop: %d restarts in %.0f s; "
			    "retrying every %.0f s", ch->ch_name, SUP_LOOPN,
			    SUP_LOOPSECS, SUP_BACKOFFMAX);
		ch->ch_crashloop = 1;
		delay = SUP_BACKOFFMAX;
	} else {
		delay = ch->ch_backoff;
		ch->ch_backoff *= 2;
		if (ch->ch_backoff > SUP_BACKOFFMAX)
			ch->ch_backoff = SUP_BACKOFFMAX;
	}
	ch->ch_state = ch->ch_crashloop ? CHILD_ST_CRASHLOOP :
	    CHILD_ST_RESTARTING;
	ch->ch_hist[ch->ch_nhist % SUP_LOOPN] = now + delay;
	ch->ch_nhist++;
	ch->ch_restarts++;
	log_info("%s: restart in %.1f s", ch->ch_name, delay);
	ev_timer_stop(gs->s_loop, &ch->ch_timer);
	ev_timer_init(&ch->ch_timer, child_timer_cb, delay, 0);
	ch->ch_timer.data = ch;
	ev_timer_start(gs->s_loop, &ch->ch_timer);
}

static void
child_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct child	*ch = w->data;
	struct logpipe	*lp;
	int		 st = w->rstatus, uptime;

	(void)revents;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &ch->ch_timer);
	uptime = (int)(ev_now(loop) - ch->ch_started);
	/* Its last words first, then ours about its end. */
	if (ch->ch_log != NULL) {
		lp = ch->ch_log;
		ch->ch_log = NULL;
		lp->lp_child = NULL;
		log_read_cb(loop, &lp->lp_io, 0);	/* may free lp */
	}
	if (WIFSIGNALED(st))
		log_warnx("%s: pid %d killed by signal %d (%s) after %d s",
		    ch->ch_name, (int)ch->ch_pid, WTERMSIG(st),
		    strsignal(WTERMSIG(st)), uptime);
	else if (WEXITSTATUS(st) != 0 || !(ch->ch_stop || gs->s_drain))
		log_warnx("%s: pid %d exited %d after %d s", ch->ch_name,
		    (int)ch->ch_pid, WEXITSTATUS(st), uptime);
	else
		log_info("%s: pid %d exited 0", ch->ch_name, (int)ch->ch_pid);
	if (ch->ch_kind == CHILD_LISTEN && WIFSIGNALED(st)) {
		char	path[PATH_MAX + 32];

		/* Killed: its control socket is left; nobody answers it. */
		snprintf(path, sizeof(path), "%s/listen-%d.sock",
		    gs->s_rundir, (int)ch->ch_pid);
		(void)unlink(path);
	}
	ch->ch_pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2 && !gs->s_booted &&
	    !(ch->ch_stop || gs->s_drain)) {
		/*
		 * Its configuration is the node's: the others would fail
		 * alike, and a node up without them would say it is up.
		 */
		log_errx("%s: bad usage or configuration (exit 2) before the "
		    "node was up: stopping the node; see its message above",
		    ch->ch_name);
		gs->s_status = 2;
		sup_stop(SIGINT);
	}
	if (ch->ch_readyfd != -1) {
		/* Its ready pipe is at EOF too: child_ready_cb() says so. */
		child_ready_cb(loop, &ch->ch_readyio, 0);
	} else if (ch->ch_readyeof) {
		ch->ch_readyeof = 0;
		sup_child_ready(ch, 0);
	}
	if (ch->ch_stop || gs->s_drain) {
		ch->ch_state = CHILD_ST_STOPPED;
		sup_child_gone(ch);
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
		log_errx("%s: bad usage or configuration (exit 2): not "
		    "restarted; see its message above", ch->ch_name);
		ch->ch_state = CHILD_ST_STOPPED;
		return;
	}
	child_schedule(ch, uptime);
	if (ch->ch_kind == CHILD_REDIS && !ch->ch_ready)
		sup_child_ready(ch, 0);
}

/* Send signal sig to ch if it runs. */
void
child_signal(struct child *ch, int sig)
{
	if (ch->ch_pid > 0 && kill(ch->ch_pid, sig) == -1 && errno != ESRCH)
		log_warn("%s: kill %d", ch->ch_name, (int)ch->ch_pid);
}

/* Mark ch as being stopped: no more restarts, no pending one. */
void
child_cancel(struct child *ch)
{
	ch->ch_stop = 1;
	if (ch->ch_pid == 0) {
		ev_timer_stop(gs->s_loop, &ch->ch_timer);
		ch->ch_state = CHILD_ST_STOPPED;
	}
}

/* The state of ch as gwctl status shows it. */
const char *
child_state_name(const struct child *ch)
{
	switch (ch->ch_state) {
	case CHILD_ST_RUNNING:
		return "running";
	case CHILD_ST_RESTARTING:
		return "restarting";
	case CHILD_ST_CRASHLOOP:
		/* Healed once it has run long enough again. */
		if (ch->ch_pid != 0 &&
		    ev_now(gs->s_loop) - ch->ch_started >= SUP_HEALTHY)
			return "running";
		return "crashloop";
	case CHILD_ST_STOPPED:
		break;
	}
	return "stopped";
}
