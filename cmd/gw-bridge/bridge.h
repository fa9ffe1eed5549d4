/*
 * bridge.h -- gw-bridge: the node's one link to Redis.  Workers (gw-listen)
 * connect over <rundir>/bridge.sock, declare the channels they have
 * subscribers on, publish, and read history; the bridge subscribes in Redis
 * to exactly those channels and passes each message once to each
 * interested worker.
 */
#ifndef GW_BRIDGE_H
#define GW_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ipc.h"
#include "rurl.h"

#define BRIDGE_OFFLEN	38	/* epoch(16) ':' ms(12) '-' seq(8) */
#define BRIDGE_MAXREPLY	(4 * 1024 * 1024)	/* history bytes per reply */
#define BRIDGE_REPLYROOM	(GW_IPC_MAXQUEUE / 2)	/* of a worker's
						   queue, for answers */
#define BRIDGE_MAXDATA	(4 * 1024 * 1024)	/* bytes of a published value */
#define BRIDGE_MAXFROM	1024		/* bytes of a publisher's user id */
#define BRIDGE_BEAT	1.0		/* s: GW_MSG_BRIDGE_HEALTH to every
					   worker, whatever changed */

struct bridge_conf {
	char		*bc_rundir;
	char		*bc_redis;	/* URL for commands */
	char		*bc_redis_sub;	/* URL for pub/sub; NULL: bc_redis */
	char		 bc_node[64];
	unsigned	 bc_histsize;
	unsigned	 bc_histttl;
	double		 bc_probe;	/* seconds between health probes */
	double		 bc_drain;	/* the workers' drain time */
	int		 bc_readyfd;
};

struct worker {
	struct ipc_peer	*w_peer;
	struct worker	*w_next;
	uint64_t	 w_serial;	/* never reused: replies find it by this */
	int		 w_dead;	/* freed at the end of the iteration */
	int		 w_listen;	/* a gw-listen worker (its hello),
					   not gwctl: asked by gather.c */
	char		 w_name[64];
};

enum chan_state {
	CH_SUBSCRIBING,		/* SUBSCRIBE sent, not confirmed */
	CH_CATCHUP,		/* resubscribed, reading what was missed */
	CH_LIVE
};

/* A worker's request waiting for the channel to be live. */
struct chreq {
	struct chreq	*q_next;
	uint64_t	 q_worker;	/* serial */
	uint32_t	 q_id;
	uint32_t	 q_flags;
	char		*q_since;
};

/* A live message held back while a channel catches up. */
struct held {
	struct held	*h_next;
	char		*h_payload;	/* "offset\nmessage" */
	size_t		 h_len;
};

struct bchan {
	char		*ch_name;
	struct worker	**ch_workers;
	int		 ch_nworkers;
	struct worker	**ch_evw;	/* those of ch_workers with presence
					   subscribers: the events go there */
	int		 ch_nevw;
	int		 ch_state;
	char		 ch_last[BRIDGE_OFFLEN + 1];	/* last forwarded */
	char		 ch_base[BRIDGE_OFFLEN + 1];	/* latest answered */
	int		 ch_confirmed;	/* Redis confirmed the SUBSCRIBE */
	uint64_t	 ch_subgen;	/* the pub/sub link it was sent on */
	struct chreq	*ch_reqs;
	struct held	*ch_held;
	struct held	**ch_heldtail;
	size_t		 ch_nheld;
	int		 ch_overflow;	/* held messages were dropped */
};

struct bridge {
	struct ev_loop		*b_loop;
	struct bridge_conf	*b_conf;
	struct redis_addr	 b_addr;
	struct redis_addr	 b_subaddr;
	struct ipc_acceptor	 b_accept;	/* bridge.sock */
	struct worker		*b_workers;
	struct htab		*b_chans;
	redisAsyncContext	*b_cmd;
	redisAsyncContext	*b_sub;
	int			 b_cmdup;	/* connected and ready */
	int			 b_subup;
	uint64_t		 b_subgen;	/* pub/sub links opened */
	uint64_t		 b_wserial;
	double			 b_cmdwait;	/* reconnect backoff */
	double			 b_subwait;
	ev_timer		 b_cmdtimer;
	ev_timer		 b_subtimer;
	ev_timer		 b_probetimer;
	ev_timer		 b_beattimer;	/* BRIDGE_BEAT */
	ev_prepare		 b_rflush;	/* commands out, each turn */
	uint64_t		 b_probeseq;
	ev_tstamp		 b_cmdstart;	/* when the link was opened */
	ev_tstamp		 b_substart;
	ev_tstamp		 b_probesent;	/* outstanding probe, or 0 */
	/*
	 * Since when a probe that Redis has published is not back on the
	 * pub/sub link, or 0; and the number of the last one back.
	 */
	ev_tstamp		 b_probeunseen;
	uint32_t		 b_probeseen;
	ev_tstamp		 b_cmdlast;	/* the last reply on each link */
	ev_tstamp		 b_sublast;
	int			 b_healthy;
	char			 b_probech[128];
	char			 b_gatherch[128];	/* answers to our
						   cluster gathers */
	char			 b_shapub[41];
	char			 b_shasub[41];
	char			 b_shahist[41];
	ev_prepare		 b_reap;	/* frees dead workers */
	ev_signal		 b_sigterm;
	ev_signal		 b_sigint;
	ev_timer		 b_stoptimer;
	int			 b_stopping;
	uint64_t		 b_published;
	uint64_t		 b_pubscripts;	/* publish scripts run */
	uint64_t		 b_delivered;
	uint64_t		 b_events;	/* presence and typing */
	uint64_t		 b_reconnects;
};

extern struct bridge	*gb;

/* bridge.c */
int		 bridge_main(struct bridge_conf *, const struct redis_addr *,
		    const struct redis_addr *);
void		 bridge_health_update(void);
void		 bridge_health_beat(void);
struct worker	*bridge_worker(uint64_t);
void		 bridge_send(struct worker *, struct ipc_msg *);
void		 bridge_send_fail(struct worker *, uint32_t, const char *,
		    const char *);

/* chan.c */
void		 chan_sub(struct worker *, uint32_t, const char *, size_t,
		    const char *, size_t, uint32_t);
void		 chan_unsub(struct worker *, const char *, size_t);
void		 chan_noevents(struct worker *, const char *, size_t);
void		 chan_worker_gone(struct worker *);
void		 chan_message(const char *, size_t, const char *, size_t);
void		 chan_confirmed(const char *, size_t);
void		 chan_resubscribe_all(void);
void		 chan_sub_reply(const char *, struct worker *, uint64_t,
		    uint32_t, uint32_t, const redisReply *);
void		 chan_history_reply(struct worker *, uint32_t,
		    const redisReply *);
int		 chan_name_from_pubsub(const char *, size_t, const char **,
		    size_t *);
void		 chan_key(char *, size_t, const char *, size_t, char);

/* ctl.c */
void		 ctl_request(struct worker *, uint32_t, struct ipc_rd *);

/* gather.c */
#define GATHER_CH	"gw:cluster"	/* every bridge's questions */
int		 gather_start(struct worker *, uint32_t, struct ipc_rd *);
int		 gather_reply(struct worker *, uint32_t, struct ipc_rd *);
void		 gather_gone(struct worker *);
void		 gather_published(uint32_t, long long);
void		 gather_cluster_request(const char *, size_t);
void		 gather_cluster_reply(const char *, size_t);
void		 gather_stop(void);

/* What a pending command's reply goes back to (redis.c, script.c). */
/* One message of a publish script: whose request it answers. */
struct pubreq {
	uint64_t	 pr_worker;	/* worker serial */
	uint32_t	 pr_id;
};

struct rreq {
	uint64_t	 rq_worker;	/* worker serial; 0: the bridge */
	uint32_t	 rq_id;
	uint32_t	 rq_flags;
	int		 rq_kind;
	int		 rq_sent;	/* on the link (rwin.h) */
	char		*rq_chan;
	struct pubreq	*rq_pubs;	/* RQ_PUBLISH: its messages, in order */
	size_t		 rq_npubs;
};

enum { RQ_PUBLISH, RQ_SUB, RQ_HISTORY, RQ_PROBE, RQ_LOAD, RQ_GATHER };

/* redis.c */
void		 redis_start(void);
void		 redis_stop(void);
int		 redis_subscribe(const char *);
int		 redis_unsubscribe(const char *);
void		 redis_reply_cb(redisAsyncContext *, void *, void *);
int		 redis_gather_publish(const char *, const char *, size_t,
		    uint32_t);

/* script.c */
void		 script_init(void);
void		 script_pump(void);
void		 script_fail(void);
void		 script_replied(void);
void		 script_flush(void);
void		 script_published(struct rreq *, redisReply *);
void		 redis_window_counts(size_t *, size_t *);
int		 redis_publish(struct worker *, uint32_t, const char *, size_t,
		    const char *, size_t, const char *, size_t, uint64_t);
int		 redis_sub_script(struct bchan *, struct worker *, uint32_t,
		    uint32_t, const char *);
int		 redis_history(struct worker *, uint32_t, const char *, size_t,
		    const char *, size_t, uint32_t);

#endif
