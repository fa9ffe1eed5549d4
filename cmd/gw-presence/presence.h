/*
 * presence.h -- gw-presence: the node's presence and typing state.
 * Workers (gw-listen) connect over <rundir>/presence.sock and declare
 * which users they have in which channels (JOIN, LEAVE), who types
 * (TYPING), and ask who is in a channel (QUERY).  gw-presence keeps one
 * entry per (channel, user) for the whole node and the cluster-wide view
 * in Redis, under this process's instance id NODE/RAND, held alive by a
 * lease that the other nodes sweep when it lapses.
 *
 * It also stores the workers' sessions (SESSION_SAVE, _DROP, _LOAD) in
 * Redis: a session that a connection of this node holds is owned by the
 * instance, with no expiry, and given resume_window to live when the
 * connection closes, its worker goes, or the instance is swept.
 */
#ifndef GW_PRESENCE_H
#define GW_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ipc.h"
#include "parse.h"
#include "rurl.h"
#include "rwin.h"

#define PRESENCE_MAXCHAN	PARSE_MAXCHAN	/* bytes of a channel name */
#define PRESENCE_MAXUSER	128	/* bytes of a user id */
#define PRESENCE_MAXINFO	(64 * 1024)	/* bytes of a user's info */
#define PRESENCE_MAXSINCE	(1ULL << 53)	/* exact in a Lua number */
#define PRESENCE_MAXREPLY	(4 * 1024 * 1024)	/* bytes of an answer */
#define PRESENCE_MAXSYNC	64	/* bytes of a query's sync mark */
#define PRESENCE_NODELEN	64
#define PRESENCE_INSTLEN	(PRESENCE_NODELEN + 10)	/* NODE/8 hex */

struct presence_conf {
	char		*pc_rundir;
	char		*pc_redis;
	char		 pc_node[PRESENCE_NODELEN];
	double		 pc_nodettl;	/* seconds */
	double		 pc_grace;
	double		 pc_typingttl;
	unsigned	 pc_maxusers;
	int		 pc_readyfd;
	double		 pc_window;	/* resume window, seconds */
	double		 pc_drain;	/* drain time, seconds */
};

/* A worker connected to us. */
struct peer {
	struct ipc_peer	*pr_ipc;
	struct peer	*pr_next;
	uint64_t	 pr_serial;	/* never reused: replies find it */
	int		 pr_dead;	/* freed at the end of the iteration */
	int		 pr_held;	/* has held a session (a worker) */
	int		 pr_fed;	/* has sent work for Redis */
	struct htab	*pr_decl;	/* the entries it declared, keyed by
					   their address (the key's bytes) */
	char		 pr_name[64];
};

enum entry_state {
	E_LIVE,		/* refs > 0 */
	E_GRACE,	/* refs 0, waiting for the grace to pass */
	E_LEAVING	/* refs 0, leave to run (or running) in Redis */
};

/*
 * A (channel, user) of this node.  e_key is "C\nU" (channel names never
 * hold a newline), e_chlen the length of C.  Entries in E_GRACE sit on
 * one list in deadline order, since they all wait the same time.
 */
struct entry {
	char		*e_key;		/* "C\nU", in e_buf */
	char		*e_info;	/* in e_buf, after the key */
	uint32_t	 e_keylen;
	uint32_t	 e_chlen;
	uint32_t	 e_infolen;
	unsigned	 e_refs;	/* peers that declared it */
	uint64_t	 e_since;	/* ms since the epoch */
	ev_tstamp	 e_deadline;	/* E_GRACE: when it leaves */
	struct entry	*e_prev, *e_next;	/* grace list */
	uint64_t	 e_gen;		/* bumped at each leave sent */
	uint8_t		 e_state;	/* enum entry_state */
	uint8_t		 e_sent;	/* E_LEAVING: the leave is in Redis */
	char		 e_buf[];	/* the key, NUL, the info, NUL: one
					   allocation for the three */
};

/*
 * The sessions that connections of this node hold (live), in p_sess:
 * keyed by the session id, the value the holding worker's serial (never
 * 0), stored in the pointer itself (PSESS_PEER, PSESS_VAL): a session
 * costs its table entry only.
 */
#define PSESS_VAL(serial)	((void *)(uintptr_t)(serial))
#define PSESS_PEER(v)		((uint64_t)(uintptr_t)(v))

/* Someone typing: (channel, user), on one list in deadline order. */
struct typing {
	char		*t_key;		/* "C\nU" */
	size_t		 t_keylen;
	size_t		 t_chlen;
	uint64_t	 t_actor;
	ev_tstamp	 t_deadline;
	struct typing	*t_prev, *t_next;
};

/* The scripts, by their index in p_sha. */
/*
 * A pass over a table that sends Redis a command or two for each of its
 * entries (every entry declared again, every session owned again): fed to
 * the queue a bucket at a time as Redis answers (rqueue.c), not queued
 * all at once.
 */
struct rpass {
	struct htab	*rp_tab;
	int		(*rp_fn)(const char *, size_t, void *, int);
					/* key, its length, value, quiet;
					   -1: the link is down */
	const char	*rp_what;	/* for the log */
	size_t		 rp_slot;	/* the next bucket */
	size_t		 rp_count;	/* entries sent so far */
	int		 rp_active;
	int		 rp_quiet;
};

enum { SC_JOIN, SC_LEAVE, SC_LEASE, SC_CLAIM, SC_SWEEP,
    SC_SSAVE, SC_SLOAD, SC_SFREE, SC_SOWN, SC_N };

struct presence {
	struct ev_loop		*p_loop;
	struct presence_conf	*p_conf;
	struct redis_addr	 p_addr;
	char			 p_inst[PRESENCE_INSTLEN];
	struct ipc_acceptor	 p_accept;	/* presence.sock */
	struct peer		*p_peers;
	uint64_t		 p_pserial;
	struct htab		*p_entries;	/* "C\nU" -> struct entry */
	struct htab		*p_typing;	/* "C\nU" -> struct typing */
	struct entry		*p_ghead, *p_gtail;	/* grace list */
	ev_timer		 p_gtimer;
	struct typing		*p_thead, *p_ttail;	/* typing list */
	ev_timer		 p_ttimer;
	struct htab		*p_sess;	/* sid -> struct psess */
	struct rpass		 p_epass;	/* entries declared again */
	struct rpass		 p_spass;	/* sessions owned again */
	redisAsyncContext	*p_redis;
	int			 p_up;		/* scripts loaded, ready */
	int			 p_ready;	/* ready fd written */
	double			 p_wait;	/* reconnect backoff */
	ev_tstamp		 p_start;	/* when the link was opened */
	ev_tstamp		 p_leasesent;	/* outstanding lease, or 0 */
	ev_tstamp		 p_lastreply;	/* the last reply from Redis */
	int			 p_claiming;	/* a claim is outstanding */
	unsigned long		 p_pending;	/* commands awaiting replies */
	struct rwin		 p_win;		/* sent or waiting (rqueue.c) */
	int			 p_paused;	/* workers not read: queue full */
	uint64_t		 p_pauses;	/* ... how many times */
	ev_timer		 p_retry;
	ev_timer		 p_drop;	/* drops the link */
	ev_timer		 p_lease;
	ev_timer		 p_sweep;
	char			 p_sha[SC_N][41];
	ev_prepare		 p_reap;	/* frees dead peers */
	ev_signal		 p_sigterm;
	ev_signal		 p_sigint;
	int			 p_draining;	/* 1: till workers go, 2: done */
	ev_timer		 p_dtimer;	/* drain deadline */
	uint64_t		 p_joins;
	uint64_t		 p_leaves;
	uint64_t		 p_swept;
	uint64_t		 p_reconnects;
	uint64_t		 p_ssaved;	/* sessions saved */
	uint64_t		 p_sresumed;	/* sessions loaded, found */
	uint64_t		 p_sexpired;	/* sessions expired by sweeps */
	uint64_t		 p_sloads;	/* session loads sent */
	uint64_t		 p_staken;	/* ... taken from a gone link */
};

extern struct presence	*gp;

/* presence.c */
int		 presence_main(struct presence_conf *,
		    const struct redis_addr *);
struct peer	*presence_peer(uint64_t);
void		 presence_send(struct peer *, struct ipc_msg *);
void		 presence_send_fail(struct peer *, uint32_t, const char *,
		    const char *);
void		 presence_ready(void);
void		 presence_drain_check(void);
void		 presence_pause(int);

/* entry.c */
void		 entry_init(void);
void		 entry_join(struct peer *, const char *, size_t, const char *,
		    size_t, const char *, size_t, uint64_t, uint64_t);
void		 entry_leave(struct peer *, const char *, size_t, const char *,
		    size_t, uint64_t);
void		 entry_peer_gone(struct peer *);
void		 entry_redeclare(int);
void		 entry_leave_done(const char *, size_t, uint64_t, int);
void		 entry_free_all(void);

/* typing.c */
void		 typing_init(void);
void		 typing_update(const char *, size_t, const char *, size_t,
		    uint64_t, int);
void		 typing_gone(const char *, size_t, uint64_t);
void		 typing_free_all(void);

/* session.c */
void		 session_init(void);
void		 session_save(struct peer *, const char *, const char *,
		    size_t, const char *, size_t, int, uint64_t);
void		 session_drop(struct peer *, const char *);
void		 session_load(struct peer *, uint32_t, const char *,
		    const char *, size_t, uint64_t);
void		 session_loaded(uint64_t, uint32_t, const char *,
		    const char *, size_t, int);
void		 session_retry(uint64_t, uint32_t, const char *,
		    const char *, size_t, uint64_t, int, const char *);
void		 session_retry_gone(void);
void		 session_peer_gone(struct peer *);
void		 session_reown(void);
void		 session_free_all(void);

/* ctl.c */
void		 ctl_request(struct peer *, uint32_t, struct ipc_rd *);

#define REDIS_SLOAD_TRIES 4	/* then a session held elsewhere is taken */

/* What a pending command's reply goes back to. */
struct rreq {
	int		 rq_kind;
	uint64_t	 rq_peer;	/* serial */
	uint32_t	 rq_id;
	uint64_t	 rq_gen;
	char		*rq_str;	/* entry key, or instance */
	size_t		 rq_len;
	char		*rq_user;	/* RQ_SLOAD */
	size_t		 rq_ulen;
	int		 rq_try;	/* RQ_SLOAD: attempts made before */
	uint64_t	 rq_conn;	/* RQ_SLOAD: the connection loading */
	int		 rq_sent;	/* on the link, not queued (rqueue.c) */
};

enum { RQ_LOAD, RQ_EVENT, RQ_LEAVE, RQ_QLEN, RQ_QUERY, RQ_LEASE,
    RQ_CLAIM, RQ_SWEEP, RQ_SLOAD };

/* redis.c, rsess.c */
void		 redis_start(void);
void		 redis_stop(void);
int		 redis_join(const struct entry *, uint64_t, int);
int		 redis_leave(const struct entry *, uint64_t);
int		 redis_query(struct peer *, uint32_t, const char *, size_t,
		    const char *, size_t);
int		 redis_publish(const char *, size_t, const char *, size_t);
int		 redis_sess_save(const char *, const char *, size_t,
		    const char *, size_t, int, uint64_t);
int		 redis_sess_drop(const char *);
void		 redis_reply_cb(redisAsyncContext *, void *, void *);

/* rqueue.c */
#define RQUEUE_WINDOW	128	/* commands awaited on the link, at most */
#define RQUEUE_HIGH	(64 * RQUEUE_WINDOW)	/* queued: workers paused */
#define RQUEUE_LOW	(16 * RQUEUE_WINDOW)	/* ... read again; passes fill */
int		 redis_send(struct rreq *, int, const char **, const size_t *);
void		 rqueue_init(void);
void		 rqueue_pump(void);
void		 rqueue_fail(void);
void		 rpass_start(struct rpass *, int);
int		 redis_send_event(int, const char **, const size_t *);
int		 redis_failed(const redisReply *, const char *);
void		 redis_window(char *, size_t);
void		 redis_sload_reply(struct rreq *, const redisReply *);
void		 redis_query_reply(struct rreq *, const redisReply *);
void		 redis_qlen_reply(struct rreq *, const redisReply *);
int		 redis_sess_load(uint64_t, uint32_t, const char *,
		    const char *, size_t, uint64_t, int);
int		 redis_sess_free(const char *);
int		 redis_sess_own(const char *);
void		 rsess_setname(redisAsyncContext *);
int		 rsess_gone(const char *);
void		 rsess_free(void);

#endif
