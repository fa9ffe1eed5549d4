/*
 * supervise.h -- gw-supervise: starts a node's processes, restarts those
 * that die, reloads and drains them.  See gw-supervise(8).
 */
#ifndef GW_SUPERVISE_H
#define GW_SUPERVISE_H

#include <sys/types.h>

#include <limits.h>

#include <ev.h>

#include "conf.h"
#include "ipc.h"

#define SUP_MAXWORKERS	256
#define SUP_LOOPN	5	/* restarts within SUP_LOOPSECS: a crash loop */
#define SUP_LOOPSECS	60.0
#define SUP_BACKOFF0	0.1	/* first restart delay, doubled up to: */
#define SUP_BACKOFFMAX	10.0
#define SUP_HEALTHY	30.0	/* uptime that resets the backoff */
#define SUP_READYMAX	10.0	/* seconds the start of a child may take */
#define SUP_STOPMAX	5.0	/* seconds after SIGTERM before SIGKILL */

enum child_kind {
	CHILD_REDIS,
	CHILD_BRIDGE,
	CHILD_PRESENCE,
	CHILD_LISTEN
};

enum child_state {
	CHILD_ST_RUNNING,
	CHILD_ST_RESTARTING,
	CHILD_ST_CRASHLOOP,
	CHILD_ST_STOPPED
};

struct logpipe;

struct child {
	enum child_kind	 ch_kind;
	int		 ch_index;	/* worker number */
	char		 ch_name[32];	/* "gw-listen[0]" */
	const char	*ch_prog;	/* "gw-listen" */
	pid_t		 ch_pid;	/* 0: not running */
	enum child_state ch_state;
	int		 ch_crashloop;	/* reported as one, not yet healed */
	int		 ch_stop;	/* being stopped: never restarted */
	int		 ch_ready;	/* ready since its last start */
	int		 ch_readyeof;	/* its ready pipe ended, not ready:
					   its exit goes on with the start */
	ev_tstamp	 ch_started;
	double		 ch_backoff;	/* next restart delay */
	ev_tstamp	 ch_hist[SUP_LOOPN];	/* times of the last restarts */
	unsigned	 ch_nhist;	/* restarts recorded in ch_hist */
	unsigned	 ch_restarts;
	int		 ch_readyfd;	/* read end of its --ready-fd pipe */
	int		 ch_polls;	/* Redis: socket probes so far */
	struct logpipe	*ch_log;	/* its stderr, until EOF */
	ev_child	 ch_watch;
	ev_timer	 ch_timer;	/* restart backoff; Redis socket probe */
	ev_io		 ch_readyio;
};

struct supervise {
	struct ev_loop	*s_loop;
	struct conf	 s_conf;	/* in effect */
	struct conf	 s_flags;	/* the command line's, for SIGHUP */
	const char	*s_file;	/* -c FILE, or NULL */
	char		 s_bindir[PATH_MAX];
	char		 s_sharedir[PATH_MAX + 64];
	char		 s_rundir[128];	/* at most 90 bytes: see conf.c */
	char		 s_node[64];
	char		 s_redis[PATH_MAX + 16];	/* the children's --redis */
	int		 s_embedded;	/* we run the Redis */
	int		 s_quiet;	/* log_level quiet */
	struct child	*s_child;	/* redis?, bridge, presence, workers */
	size_t		 s_nchild;
	size_t		 s_boot;	/* the child the start waits for */
	int		 s_booted;
	int		 s_drain;	/* 0, or SIGTERM or SIGINT */
	int		 s_status;	/* gw-supervise's exit status */
	int		 s_phase;	/* of the drain: 1 workers, 2, 3 Redis */
	ev_timer	 s_boottimer;
	ev_timer	 s_draintimer;
	ev_signal	 s_sigterm;
	ev_signal	 s_sigint;
	ev_signal	 s_sighup;
	struct ipc_acceptor s_accept;	/* supervise.sock */
	char		 s_sock[PATH_MAX];
};

extern struct supervise	*gs;

/* main.c */
int		 sup_config(struct conf *, const char *, const struct conf *,
		    char [CONF_ERRLEN]);

/* supervise.c */
int		 supervise_main(struct supervise *);
void		 sup_child_ready(struct child *, int);
void		 sup_stop(int);
void		 sup_child_gone(struct child *);
size_t		 sup_nworkers(const struct conf *);

/* child.c */
int		 child_argv(const struct child *, int, char ***);
void		 child_argv_free(char **);
int		 child_spawn(struct child *);
void		 child_signal(struct child *, int);
void		 child_cancel(struct child *);
const char	*child_state_name(const struct child *);
int		 child_verbosity(const struct conf *);

/* ctl.c */
int		 ctl_start(void);
void		 ctl_stop(void);
void		 ctl_reload(const struct conf *);

#endif
