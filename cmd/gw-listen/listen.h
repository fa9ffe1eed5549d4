/*
 * listen.h -- gw-listen: the process that accepts sockets, speaks the HTTP
 * upgrade and WebSocket, and holds the client connections.
 */
#ifndef GW_LISTEN_H
#define GW_LISTEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>
#include <jansson.h>

#include "http.h"
#include "ipc.h"
#include "wskey.h"

#define LISTEN_MAXADDRS		16
#define LISTEN_READ_BUDGET	(64 * 1024)	/* bytes read per event */
#define LISTEN_PING_EARLY	0.25	/* s a ping may go early, at most */
#define LISTEN_FD_SPARE		32	/* files kept free: listen_full() */
#define LISTEN_FULL_CHECK	0.5	/* s between checks while full */
#define LISTEN_WRITE_BUDGET	(64 * 1024)	/* bytes written per turn */
#define LISTEN_CLOSE_TIMEOUT	2.0	/* seconds to wait for the peer's close */
#define LISTEN_MAXHEV		1024	/* events held for a subscribe while
					   its presence is read */
#define LISTEN_SYNC_WAIT	2.0	/* seconds a presence answer waits for
					   its sync mark */
#define LISTEN_SESSQ_MAX	100000	/* session saves kept while
					   gw-presence is away */
#define LISTEN_SESSQ_BYTES	(64 * 1024 * 1024)	/* ... their bytes */
#define LISTEN_SESSQ_AGE	10.0	/* ... sent if at most this old (s) */
#define LISTEN_MAXUSER		128
#define LISTEN_OFFLEN		38	/* epoch:ms-seq, see gw-bridge */
#define LISTEN_EPOCHLEN		16	/* its epoch */
#define LISTEN_MAXRUNDIR	90	/* bytes: <rundir>/bridge.sock fits a sun_path */
#define LISTEN_MAXHELD		10000	/* messages held per waiting subscription */
#define LISTEN_MAXHISTORY	(1000 * 1000)	/* bytes of messages in one
						   history reply */
/*
 * History reads waiting for gw-bridge's answer, of up to 4 MiB each: at
 * most this many per connection, and per process (12 x 4 MiB is about
 * the room the bridge gives answers in its queue for a worker; past it,
 * it cuts them, the other clients' replays too).
 */
#define LISTEN_HIST_CONN	4
#define LISTEN_HIST_PROC	12
#define LISTEN_MAXWAIT		16	/* publishes of a connection waiting
					   for a subscribe's answer */
#define LISTEN_MAXREPLY		(5 * 1024 * 1024)	/* a replay or history
						   may pass max_outbound
						   by this */
#define LISTEN_MAXKEEP		10000	/* API requests per connection */
#define LISTEN_ROUTE_BUDGET	64	/* pipelined requests routed per
					   event */
#define LISTEN_UPGRADE_RATE	2000	/* --upgrade-rate's default */
#define LISTEN_UPGRADE_BURST	0.05	/* s of --upgrade-rate at once */
#define LISTEN_UPGRADE_TICK	0.005	/* s between turns of the waiting */

struct listen_addr {
	struct sockaddr_storage	 la_ss;
	socklen_t		 la_len;
	char			 la_name[64];
};

struct listen_conf {
	struct listen_addr	 lc_addrs[LISTEN_MAXADDRS];
	int			 lc_naddrs;
	int			 lc_authnone;
	char			*lc_secret;	/* HS256 key */
	size_t			 lc_secretlen;
	char			*lc_origins;	/* comma-separated, or NULL */
	char			 lc_node[64];
	size_t			 lc_maxmsg;
	size_t			 lc_maxout;
	unsigned		 lc_maxsubs;
	double			 lc_ping;
	double			 lc_pong;
	double			 lc_headtmo;
	int			 lc_readyfd;
	int			 lc_spill;	/* --spill: listen_full() */
	char			*lc_rundir;
	double			 lc_pubrate;	/* publishes per second */
	double			 lc_pubburst;
	double			 lc_drain;	/* seconds to spread closes over */
	const char		*lc_demo;	/* serve the demo from here */
	const char		*lc_apikeys;	/* --api-key-file */
	const char		*lc_metrics;	/* --metrics-allow */
	unsigned		 lc_maxconns;	/* WebSockets; 0: no limit */
	unsigned		 lc_maxperip;	/* per client address; 0: off */
	unsigned		 lc_uprate;	/* upgrades begun a second; 0: off */
};

/* Who a connection is: fixed at the handshake. */
struct ident {
	char	*id_info;	/* compact JSON object text, or NULL */
	char	**id_globs;	/* NULL-terminated channels claim, or NULL */
	int64_t	 id_exp;	/* 0: never */
	uint32_t id_hidx;	/* 1 + its place in expiry.c's heap; 0: none */
	char	 id_user[];	/* the user id and its NUL: one allocation */
};

/* A frame ready to write, shared by every connection that sends it. */
struct obuf {
	uint32_t	ob_ref;
	uint32_t	ob_len;
	uint32_t	ob_chan;	/* a message: its channel's ch_serial */
	char		ob_off[LISTEN_OFFLEN];	/* ... and its offset */
	uint8_t		ob_data[];
};

/*
 * An entry of a connection's outbound queue (oq.c).  For a message,
 * oq_sidx is the index in c_subs of the subscription it was queued for:
 * a hint, which sess_sent() checks, since dropping a subscription moves
 * another one to its index.
 */
struct oq {
	struct oq	*oq_next;
	struct obuf	*oq_buf;
	uint32_t	 oq_sidx;	/* CONN_NOSUB: not known */
};

#define CONN_NOSUB	UINT32_MAX

#define OQ_POOLMAX	32768	/* idle queue entries kept (oq.c) */

struct tlist;
struct pend;

struct member {
	struct conn	*m_conn;
	uint32_t	 m_sidx;	/* index in m_conn->c_subs */
};

/* A channel with subscribers in this process. */
struct chan {
	char		*ch_name;
	struct member	*ch_mem;
	uint32_t	 ch_nmem;
	uint32_t	 ch_cap;
	struct member	*ch_pres;	/* members that asked for presence */
	uint32_t	 ch_npres;
	uint32_t	 ch_pcap;
	struct htab	*ch_users;	/* user id -> presence entry */
	char		 ch_last[LISTEN_OFFLEN + 1];	/* last delivered */
	char		 ch_base[LISTEN_OFFLEN + 1];	/* latest answered */
	uint32_t	 ch_serial;	/* names it in obuf.ob_chan */
	struct pend	*ch_restore;	/* re-declaring after a reconnect */
	struct held	*ch_held;	/* live messages held meanwhile */
	uint32_t	 ch_nheld;
	int		 ch_overflow;	/* held messages were dropped */
};
struct conn_rx;
struct api_req;

/*
 * The read buffer of a connection that has not finished its head, and
 * of an HTTP API request its body (api.c).  On a keep-alive connection
 * the bytes after a request (and its body) are the next request's: they
 * stay in h_buf, and h_again routes them on a later loop iteration.
 */
struct conn_head {
	size_t		 h_len;
	size_t		 h_scanned;
	size_t		 h_used;	/* API: bytes of h_buf that are the
					   request routed (head, body) */
	char		*h_body;	/* API: the body being read */
	size_t		 h_bodylen;
	size_t		 h_bodygot;
	int		 h_route;	/* API: which route */
	int		 h_keep;	/* API: keep the connection after
					   the answer */
	struct api_req	*h_api;		/* API: a batch's answers */
	struct upwait	*h_upwait;	/* an upgrade waiting its turn */
	ev_timer	 h_again;	/* routes what is buffered */
	char		 h_buf[HTTP_MAXHEAD];
};

/*
 * An upgrade waiting for its turn under --upgrade-rate (limit.c): what
 * handshake_begin() needs to go on.  Owned by the queue; its connection's
 * head points at it.
 */
struct upwait {
	struct upwait	*uw_next;
	struct upwait	**uw_prevp;
	struct conn	*uw_conn;
	size_t		 uw_headlen;
	size_t		 uw_sidlen;
	char		 uw_accept[WSKEY_ACCEPTLEN + 1];
	char		 uw_sid[40];
};

/* A live message held for a subscription waiting for its history. */
struct held {
	struct held	*hd_next;
	struct obuf	*hd_buf;
	char		 hd_off[LISTEN_OFFLEN + 1];
};

/* One subscription of a connection. */
struct csub {
	struct chan	*s_chan;
	uint32_t	 s_midx;	/* index in s_chan's member array */
	uint8_t		 s_presence;
	uint8_t		 s_pending;	/* waiting for the bridge's answer */
	uint8_t		 s_typing;	/* gw-presence was told "typing" */
	uint8_t		 s_floorlast;	/* answered, the floor is s_last (no
					   s_floor allocated): chan_floor() */
	uint32_t	 s_nheld;
	uint32_t	 s_pidx;	/* s_presence: index in ch_pres */
	char		*s_floor;	/* answered: release after this offset */
	char		*s_gap;		/* answered recovered false: its stream
					   began here, what came after was
					   given (chan_given()) */
	struct held	*s_held;	/* newest first */
	char		 s_last[LISTEN_OFFLEN + 1];	/* everything up to it
						   was written to the socket */
};

/* A request to gw-bridge waiting for its answer (link.c). */
enum pend_kind {
	PD_SUBSCRIBE,
	PD_PUBLISH,
	PD_HISTORY,
	PD_RESTORE,
	PD_PRESENCE,		/* gw-presence: a presence query */
	PD_SUBPRES,		/* gw-presence: the presence of a subscribe
				   that the bridge answered */
	PD_SESSION,		/* gw-presence: load a session to resume */
	PD_KICK,		/* gw-bridge: a kick asked of every worker */
	PD_CHANNELS,		/* ... their channels */
	PD_METRICS,		/* ... their counters, for /metrics */
	PD_RESWAIT		/* a resume's subscribe, not sent: the node
				   cannot reach Redis; sent when it can */
};

struct pend {
	uint32_t	 pd_id;
	uint8_t		 pd_kind;
	uint8_t		 pd_since;	/* subscribe asked for a replay */
	uint8_t		 pd_presence;
	uint8_t		 pd_new;	/* the subscribe created the membership */
	uint8_t		 pd_resume;	/* a subscribe made by a resume */
	uint32_t	 pd_headlen;	/* PD_SESSION: the request head's size */
	uint8_t		 pd_api;	/* asked by the HTTP API (api.c) */
	uint32_t	 pd_apiidx;	/* ... item of a batch */
	struct conn	*pd_conn;	/* NULL for PD_RESTORE */
	struct pend	*pd_next;	/* pd_conn's list */
	struct pend	**pd_prevp;	/* ... what points at pd: O(1) unlink */
	struct chan	*pd_chan;	/* subscribe, restore */
	char		*pd_channel;	/* history, presence */
	char		*pd_sincearg;	/* PD_SUBPRES: the subscribe's since */
	json_t		*pd_pres;	/* PD_SUBPRES: gw-presence's answer */
	struct subwait	*pd_wait;	/* PD_SUBPRES: what waits with it */
	json_t		*pd_reqid;	/* the client's request id, or NULL */
	struct ipc_msg	*pd_msg;	/* PD_PUBLISH not sent yet: waits for
					   its subscribe's answer (pd_chan) */
};

/*
 * A subscribe with presence whose bridge answered, waiting for
 * gw-presence's answer and its sync mark (subscribe.c).  Only such a
 * pend has one: a publish's does not carry this.
 */
struct subwait {
	uint8_t		*sw_stash;	/* the bridge's answer, kept */
	size_t		 sw_stashlen;
	struct hev	**sw_hev;	/* the channel's events meanwhile */
	uint32_t	 sw_nhev;
	uint8_t		 sw_hevlost;	/* events past sw_hev's room dropped */
	uint8_t		 sw_presdone;	/* gw-presence answered */
	uint8_t		 sw_synced;	/* ... and the sync mark came */
	uint64_t	 sw_seq;	/* the mark's number (l_syncpends) */
	ev_timer	 sw_timer;	/* the mark waited for 2 s at most */
};

/*
 * An event held for subscribes waiting for their presence (subscribe.c):
 * read once, however many hold it.
 */
struct hev {
	uint32_t	 hv_ref;
	int		 hv_kind;	/* HEV_JOIN, HEV_LEAVE, HEV_OTHER */
	struct obuf	*hv_buf;
	char		*hv_user;	/* join, leave: its userId */
};
#define HEV_JOIN	1
#define HEV_LEAVE	2
#define HEV_OTHER	3

/* A session's save or drop kept for gw-presence (session.c). */
struct sessq {
	struct sessq	*sq_next;
	struct ipc_msg	*sq_msg;
	ev_tstamp	 sq_time;
};

/* A user of a channel, in this process: the unit of presence events. */
struct puser {
	uint32_t	 pu_count;	/* this user's subscribed connections */
	uint64_t	 pu_since;	/* ms since the epoch: the first join */
	char		*pu_info;	/* compact JSON, or NULL */
};

enum conn_state {
	CONN_ST_HEAD,		/* reading the HTTP request head */
	CONN_ST_WS,		/* upgraded */
	CONN_ST_CLOSING		/* last bytes queued; waiting for EOF */
};

#define CONN_F_FLUSH	0x01	/* on the flush list */
#define CONN_F_REAP	0x02	/* on the reap list */
#define CONN_F_DEAD	0x04	/* free at the next reap */
#define CONN_F_WWAIT	0x08	/* waiting for EV_WRITE */
#define CONN_F_SHUTWR	0x10	/* closing: shut down writing once flushed */
#define CONN_F_EOF	0x20	/* read returned 0 */
#define CONN_F_WAIT	0x40	/* head answered later (a resume) */
#define CONN_F_COUNTED	0x80	/* counted by limit_take() */
#define CONN_F_RPAUSE	0x100	/* not reading: an API request waits with
				   the next one's bytes filling the head
				   buffer */
#define CONN_F_EXPIRES	0x200	/* its token has an exp (c_id->id_exp) */
#define CONN_F_MS	0x400	/* receives through the ring (uring_ms_*) */
#define CONN_F_MSARM	0x800	/* its multishot receive goes on */
#define CONN_F_MSOFF	0x1000	/* ...cancelled: read as the others next */

#define CONN_S_STORED	0x01	/* gw-presence holds the session, live */
#define CONN_S_CLOSED	0x02	/* the session was saved as closed */
#define CONN_S_DIRTY	0x04	/* the channels changed: save at the flush */
#define CONN_S_LATE	0x08	/* closing: its save waits for the messages
				   still queued (session.c) */

struct conn {
	ev_io			 c_io;
	struct conn		*c_tnext;	/* timeout list links */
	struct conn		*c_tprev;
	struct tlist		*c_tlist;
	ev_tstamp		 c_tstamp;	/* when it entered its list */
	struct conn		*c_fnext;	/* flush list */
	struct conn		*c_rnext;	/* reap list */
	uint8_t			 c_state;
	uint8_t			 c_sflags;	/* CONN_S_* */
	uint16_t		 c_flags;	/* CONN_F_* */
	uint16_t		 c_nsubs;
	uint16_t		 c_nreq;	/* HTTP requests routed */
	uint32_t		 c_outbytes;
	uint32_t		 c_outoff;
	struct oq		*c_ohead;
	struct oq		*c_otail;
	union {
		struct conn_head *c_head;
		struct conn_rx	*c_rx;
	};
	struct ident		*c_id;
	struct csub		*c_subs;
	struct pend		*c_pend;	/* requests to the bridge */
	ev_tstamp		 c_tlast;	/* publish token bucket */
	float			 c_tokens;
	uint32_t		 c_rdturn;	/* bytes handled this drain */
	uint64_t		 c_connid;
	uint64_t		 c_born;	/* ms since the epoch: connectedAt */
	char			*c_ipkey;	/* --max-conns-per-ip: its address */
	uint8_t			 c_session[16];
};

/* A list of connections that share one constant timeout, oldest first. */
struct tlist {
	struct conn	*tl_head;
	struct conn	*tl_tail;
	ev_timer	 tl_timer;
	ev_tstamp	 tl_timeout;
	ev_tstamp	 tl_early;	/* expire up to this much early */
	void		(*tl_expire)(struct conn *);
};

struct listen {
	struct ev_loop		*l_loop;
	struct listen_conf	*l_conf;
	ev_io			 l_accept[LISTEN_MAXADDRS];
	int			 l_naccept;
	ev_timer		 l_acceptpause;
	ev_timer		 l_fulltimer;	/* on while full: listen_full() */
	int			 l_full;	/* not listening: out of files */
	int			 l_fdbase;	/* descriptors not connections */
	ev_prepare		 l_prepare;
	ev_io			 l_ring;	/* the ring has completions */
	ev_idle			 l_ringidle;	/* completions taken, not handled */
	ev_signal		 l_sigterm;
	ev_signal		 l_sigint;
	ev_timer		 l_stoptimer;
	ev_timer		 l_draintimer;	/* closes a share each tick */
	uint64_t		 l_drainper;	/* connections per tick */
	struct tlist		 l_heads;	/* HEAD: absolute head deadline */
	struct tlist		 l_live;	/* WS: by last frame received */
	struct tlist		 l_pinged;	/* WS: ping sent, no answer yet */
	struct tlist		 l_closing;	/* CLOSING */
	struct conn		*l_flush;
	struct conn		*l_reap;
	struct htab		*l_chans;
	uint64_t		 l_nconns;	/* open now */
	uint64_t		 l_served;	/* accepted since start */
	int			 l_stopping;
	uint32_t		 l_chserial;
	uint64_t		 l_nsubs;	/* subscriptions now */
	uint32_t		 l_nhist;	/* history reads awaited */
	uint32_t		 l_nreswait;	/* PD_RESWAIT pends */
	uint64_t		 l_synctok;	/* random: this process's sync
						   marks (subscribe.c) */
	uint64_t		 l_syncseq;	/* ... the last one's number */
	struct htab		*l_syncpends;	/* ... by number: the pends */
	struct htab		*l_late;	/* conn -> struct sclose: closing
						   saves waiting for their
						   messages to be written */
	struct sessq		*l_sessq;	/* closing saves and drops kept
						   while gw-presence is away */
	struct sessq		*l_sessq_tail;
	uint32_t		 l_nsessq;
	size_t			 l_sessq_bytes;
	unsigned long		 l_sessq_lost;	/* ... past LISTEN_SESSQ_MAX */
};

/*
 * What gw-listen counts, for gwctl stats and /metrics (ctl.c).  Only
 * ever incremented (the longest turn only ever grows); gauges are
 * computed when asked.
 */
struct listen_stats {
	uint64_t	st_messages_in;		/* client text messages */
	uint64_t	st_bytes_in;
	uint64_t	st_bytes_out;
	uint64_t	st_frames_out;		/* frames queued */
	uint64_t	st_deliveries;		/* message frames queued */
	uint64_t	st_published;		/* publishes accepted */
	uint64_t	st_errors;		/* error frames */
	uint64_t	st_rate_limited;
	uint64_t	st_resumed;		/* sessions resumed */
	uint64_t	st_upwaited;		/* upgrades that waited their
						   turn (--upgrade-rate) */
	uint64_t	st_kicked;
	uint64_t	st_events_in;		/* presence/typing from the bridge */
	uint64_t	st_closes[16];		/* by code, see ctl.c */
	uint64_t	st_turn_max_us;		/* longest loop turn */
	uint64_t	st_turns_100ms;		/* turns of 100 ms or more */
	uint64_t	st_turns_1s;		/* turns of 1 s or more */
};

extern struct listen	*gl;
extern struct listen_stats gst;

/* listen.c */
int		 listen_main(struct listen_conf *);
void		 tlist_init(struct tlist *, ev_tstamp, void (*)(struct conn *));
void		 tlist_add(struct tlist *, struct conn *, ev_tstamp);
void		 tlist_remove(struct conn *);

/* expiry.c */
void		 expiry_add(struct conn *);
void		 expiry_remove(struct conn *);
void		 expiry_cleanup(void);

/* conn.c */
void		 conn_accept(int);
struct obuf	*obuf_new(size_t);
void		 obuf_mark(struct obuf *, const struct chan *, const char *,
		    size_t);
void		 obuf_unref(struct obuf *);
int		 conn_send(struct conn *, struct obuf *);
int		 conn_send_limit(struct conn *, struct obuf *, size_t);
int		 conn_send_sub(struct conn *, struct obuf *, uint32_t, size_t);
void		 conn_send_raw(struct conn *, const void *, size_t);
void		 conn_drop_queue(struct conn *);
void		 conn_flush_all(void);
void		 conn_read_all(void);
void		 conn_ms_start(struct conn *);
int		 conn_ms_close(struct conn *);
void		 conn_ms_drain(void);
void		 conn_ms_poll(void);
void		 conn_schedule(struct conn *);
void		 conn_reap_all(void);
void		 conn_close_after_flush(struct conn *);
void		 conn_kill(struct conn *);
void		 conn_touch(struct conn *);
void		 conn_update_events(struct conn *);

/* oq.c */
struct oq	*oq_get(void);
void		 oq_put(struct oq *);
uint32_t	 oq_drain(void);
uint32_t	 oq_idle(void);

/* handshake.c */
void		 handshake_read(struct conn *);
void		 handshake_free(struct conn *);
void		 handshake_expire(struct conn *);
void		 handshake_finish(struct conn *, const char *, size_t);
void		 handshake_begin(struct conn *, const char *, const char *,
		    size_t, size_t);
void		 handshake_answered(struct conn *, int);
const char	*handshake_reason(int);

/* auth.c */
int		 auth_check(const struct listen_conf *, const struct http_req *,
		    struct ident **, char *, size_t);
struct ident	*ident_new(const char *, size_t);
void		 ident_free(struct ident *);
int		 auth_read_secret(const char *, struct listen_conf *);
int		 ident_may_subscribe(const struct ident *, const char *);
void		 auth_random(void *, size_t);

/* ws.c */
void		 ws_start(struct conn *, const char *, size_t);
void		 ws_read(struct conn *);
void		 ws_hold(struct conn *, const uint8_t *, size_t);
int		 ws_pending(const struct conn *);
void		 ws_read_with(struct conn *, const uint8_t *, size_t, int);
void		 ws_free(struct conn *);
void		 ws_cleanup(void);
struct obuf	*ws_frame(int, const void *, size_t);
void		 ws_close(struct conn *, int, const char *);
void		 ws_ping_expire(struct conn *);
int		 ws_is_ping(const struct obuf *);
void		 ws_pong_expire(struct conn *);

/* client.c */
void		 client_connid(struct conn *);
void		 client_welcome(struct conn *, int, json_t *);
void		 client_error(struct conn *, json_t *, const char *,
		    const char *);
int		 client_find(struct conn *, const char *);
void		 client_message(struct conn *, const char *, size_t);
void		 client_leave_all(struct conn *);
void		 client_forget(struct conn *);
int		 client_send_json(struct conn *, json_t *);
void		 client_deliver(const char *, size_t, const char *, size_t,
		    const char *, size_t);
void		 client_gap(const char *, size_t, const char *, size_t);
void		 client_fail(struct pend *, const char *, const char *);
int		 client_answer(struct pend *, uint32_t, struct ipc_rd *);
void		 client_restore_all(void);
void		 client_presence_answer(struct pend *, json_t *, const char *,
		    const char *);
struct pend	*client_pend(struct conn *, int, json_t *);
const char	*client_hist_busy(struct conn *);
json_t		*client_history_read(struct ipc_rd *, int *);
void		 client_pend_free(struct pend *);
void		 client_sub_answered(struct conn *, uint32_t);

/* subscribe.c */
struct req;
void		 client_subscribe(struct conn *, struct req *);
int		 client_resubscribe(struct conn *, const char *, int,
		    const char *);
void		 client_sub_send(struct pend *, const char *);
void		 client_sub_wait(struct pend *);
void		 client_sub_resend_all(void);
int		 client_subscribed(struct pend *, struct ipc_rd *);
void		 client_sub_presence(struct pend *, int);
void		 client_sub_hold(struct pend *, struct hev *);
struct hev	*client_hev_new(struct obuf *);
void		 client_hev_unref(struct hev *);
struct pend	*client_sub_waiting(struct conn *, struct chan *);
void		 client_sub_mark_came(const char *, size_t);
void		 client_sub_unwait(struct pend *);

/* chan.c */
struct chan	*chan_find(const char *, size_t);
int		 chan_join(struct conn *, const char *, int, int *);
int		 chan_leave(struct conn *, uint32_t);
void		 chan_set_presence(struct conn *, uint32_t, int);
json_t		*chan_presence(struct chan *);
void		 chan_presence_event(struct chan *, struct conn *,
		    const char *);
int		 chan_after(const char *, size_t, const char *);
const char	*chan_floor(const struct csub *);
void		 chan_floor_written(struct csub *);
void		 chan_gap_answer(struct conn *, uint32_t, int, const char *);
int		 chan_given(const char *, const char *, size_t,
		    const char *);
void		 chan_given_upto(const struct conn *, uint32_t, char *);
void		 chan_restored(struct pend *, const char *, size_t, uint32_t,
		    struct ipc_rd *, uint32_t);
void		 chan_release(struct conn *, uint32_t, const char *);
void		 chan_replayed(struct conn *, uint32_t, const char *);
void		 chan_unrestore(struct chan *);
void		 chan_set_base(struct chan *, const char *, size_t);

/* link.c */
void		 link_start(void);
void		 link_stop(void);
void		 link_flush(double);
int		 link_up(void);
int		 link_connected(void);
int		 link_request(struct ipc_msg *, struct pend *);
void		 link_forget(struct pend *);
void		 link_send(struct ipc_msg *);
int		 plink_up(void);
int		 plink_ever(void);
int		 link_silent_now(void);
struct pend	*plink_take(uint32_t);
void		 plink_send(struct ipc_msg *);

/* session.c */
int		 sess_load(struct conn *, const char *, size_t, const char *,
		    size_t);
void		 sess_loaded(struct pend *, uint32_t, const char *, size_t);
void		 sess_changed(struct conn *);
void		 sess_flush(struct conn *);
void		 sess_closed(struct conn *);
void		 sess_closed_late(struct conn *);
void		 sess_redeclare(void);
void		 sess_free_kept(void);
void		 sess_sent(struct conn *, const struct obuf *, uint32_t);
void		 sess_drop(struct conn *);

/* apiauth.c */
int		 api_load_keys(const char *, char *, size_t);
int		 api_parse_allow(const char *, char *, size_t);
int		 api_enabled(void);
void		 api_free(void);
int		 api_metrics_ok(struct conn *);
int		 api_authorized(const struct http_req *);

/* api.c */
int		 api_route(struct conn *, const struct http_req *);
void		 api_body(struct conn *);
void		 api_free_req(struct conn_head *);
int		 api_answer(struct pend *, uint32_t, struct ipc_rd *);
void		 api_item_json(struct pend *, json_t *, int);
void		 api_item_json_hdr(struct pend *, json_t *, int,
		    const char *);
void		 api_item_text(struct pend *, const char *, const char *,
		    size_t);
void		 api_text(struct conn *, const char *, const char *, size_t);
#define API_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
void		 api_error(struct conn *, int, const char *, const char *);
void		 api_fail(struct pend *, const char *, const char *);
void		 api_presence(struct pend *, json_t *, const char *,
		    const char *);

/* apinode.c */
void		 apinode_disconnect(struct conn *, json_t *);
void		 apinode_channels(struct conn *, const char *);
void		 apinode_metrics(struct conn *);
void		 apinode_metrics_done(struct pend *);
int		 apinode_gathered(struct pend *, struct ipc_rd *);

/* limit.c */
int		 limit_take(struct conn *);
void		 limit_release(struct conn *);
int		 limit_upgrade(struct conn *, const char *, const char *,
		    size_t, size_t);
void		 limit_unwait(struct conn_head *);
void		 limit_drain(void);
size_t		 limit_waiting(void);
void		 limit_free(void);

/* ctl.c */
void		 ctl_start(void);
void		 ctl_stop(void);
void		 ctl_count_close(int);
void		 conn_idhex(char [17], const struct conn *);
char		*ctl_metrics(json_t *);
struct ipc_msg	*ctl_gather(uint32_t, struct ipc_rd *);

/* presence.c */
void		 pres_dispatch(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
void		 pres_redeclare(void);
void		 pres_lost(struct pend *);
void		 pres_event(const char *, size_t, uint64_t, const char *,
		    size_t);
void		 pres_joined(struct chan *, struct conn *);
void		 pres_left(struct chan *, struct conn *);
void		 pres_typing(struct chan *, struct conn *, int);

#endif
