/*
 * bench.h -- gw-bench, a load generator for gw: N WebSocket connections
 * over P receiver processes (fork), each subscribed to one channel; a
 * publisher in the parent process publishes at a fixed rate, each message
 * carrying a CLOCK_MONOTONIC timestamp and a sequence number; receivers
 * record latencies in a log-linear histogram and count gaps.  Children
 * report to the parent over a pipe; the parent prints one report.
 * With --pub-url the publisher connects to another node than the
 * subscribers (cross-node latency).  With --watchers the run is a
 * presence storm instead: the receivers' connections, each its own user,
 * connect and wait; once the parent's watchers are subscribed with
 * presence, all join the channel at once; the watchers count the
 * presence.join events and time presence queries (storm.c).
 * With --proto nchan or socketio the same runs load one of gw's peers
 * (peer.c).  With --resume-url the run is a reconnect storm: after the
 * warm-up the parent kills the --kill processes (the receivers' node),
 * and each receiver (a victim) resumes its session on the other node,
 * subscribes again with since, and checks that no sequence number went
 * missing (resume.c); the parent's bystanders, on the other node since
 * before the kill, time their deliveries meanwhile (bystand.c).
 * With --pub-api the publisher posts batches to gw-listen's HTTP API
 * instead (pubapi.c), as a backend does.
 */
#ifndef GW_BENCH_H
#define GW_BENCH_H

#include <sys/types.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "secret.h"

#define BENCH_PERPROC	19000	/* sockets per process (RLIMIT_NOFILE) */
#define BENCH_MAXPROCS	96
#define BENCH_MAXCHAN	100000
#define BENCH_MAXPIDS	96
#define BENCH_SUBPERPUB	100	/* channels per publisher connection */
#define BENCH_MAXFRAME	(256 * 1024)	/* payload of a server frame */
#define BENCH_RBUFSZ	(2 * BENCH_MAXFRAME)
#define BENCH_MAXHEAD	4096	/* the server's handshake answer */
#define BENCH_MAXSIZE	60000	/* --size */
#define BENCH_MAXWATCH	1000	/* --watchers */
#define BENCH_MAXQUERY	10000	/* --queries */
/*
 * A storm's queries stop after this many seconds; the watchdog allows
 * for it and for one query's timeout.
 */
#define BENCH_QBOUND(q)	(10.0 + 0.05 * (q))
#define BENCH_QTIMEOUT	5.0	/* one query's answer, at most */
#define BENCH_MAXBYST	10000	/* --bystanders */
#define BENCH_SIDMAX	64	/* a session id we keep, at most */
#define BENCH_OFFMAX	47	/* an offset we keep, at most */
#define BENCH_SEQBITS	4096	/* sequence numbers held above a gap */
#define BENCH_RETRYMAX	8.0	/* a resume retry's delay, at most */
#define BENCH_RETRY0	0.5	/* and the first retry's */
#define BENCH_ATTEMPT	10.0	/* a resume attempt's welcome, at most */
#define BENCH_PUBSETTLE	10.0	/* failed publishes go again, at most */
#define BENCH_SLOTS	1000	/* a bystander's latency time slots */
#define BENCH_WINDOW	20	/* s: the bystanders' fixed window */
#define BENCH_APIBATCH	1000	/* items of one POST /api/batch */
#define BENCH_MAXKEY	512	/* bytes of --pub-api's key */

/* Log-linear histogram: 16 linear steps per power of two (6 % wide). */
#define HIST_SUBBITS	4
#define HIST_SUB	(1 << HIST_SUBBITS)
#define HIST_NBUCKETS	((64 - HIST_SUBBITS + 1) * HIST_SUB)

struct hist {
	uint64_t	h_n[HIST_NBUCKETS];
	uint64_t	h_count;
	uint64_t	h_max;
	uint64_t	h_sum;
};

/* Where connections go: a ws:// URL on this machine. */
struct bench_target {
	char		 t_url[640];	/* as given, printable ASCII */
	struct sockaddr_in t_addr;	/* loopback only */
	char		 t_hostport[96];	/* the Host header */
	char		 t_path[512];	/* path and query of the URL */
};

/* The protocol spoken (--proto): gw's, or a peer's (peer.c). */
enum { PROTO_GW, PROTO_NCHAN, PROTO_SIO };

struct bench_conf {
	struct bench_target b_sub;	/* --url: the subscribers */
	struct bench_target b_pub;	/* --pub-url, or a copy of b_sub */
	int		 b_haspub;	/* --pub-url given */
	struct bench_target b_resume;	/* --resume-url: the victims resume */
	int		 b_hasresume;	/* a reconnect storm */
	int		 b_nosince;	/* --no-since: trust the restore */
	int		 b_rnice;	/* --receiver-nice: the receivers' */
	double		 b_backoff;	/* first resume within, seconds */
	unsigned	 b_bystanders;	/* on b_resume, in the parent */
	pid_t		 b_kill[BENCH_MAXPIDS];	/* killed at T0 */
	int		 b_nkill;
	char		 b_pattern[128];	/* channel name, "%d" is K */
	char		 b_userpat[128];	/* user id, "%d" is i, or "" */
	unsigned	 b_conns;
	unsigned	 b_procs;
	unsigned	 b_channels;
	unsigned	 b_size;	/* bytes of each message's data */
	unsigned	 b_concurrency;	/* handshakes in flight per process */
	double		 b_rate;	/* messages per second, all channels */
	double		 b_duration;
	double		 b_warmup;
	double		 b_drain;	/* at most, after the last publish */
	double		 b_ctimeout;	/* the connect phase's deadline */
	unsigned	 b_watchers;	/* presence storm: its watchers */
	unsigned	 b_queries;	/* presence queries after the storm */
	uint32_t	 b_srclo;	/* source addresses, host order */
	uint32_t	 b_srchi;
	pid_t		 b_pids[BENCH_MAXPIDS];
	int		 b_npids;
	int		 b_json;
	int		 b_proto;	/* PROTO_* */
	int		 b_pubapi;	/* --pub-api: publish with the API */
	char		 b_apikey[BENCH_MAXKEY + 1];	/* its key */
	char		 b_secret[SECRET_MAX + 2];	/* --jwt-secret */
	size_t		 b_secretlen;	/* 0: no tokens */
};

/* Connection states. */
enum {
	BC_IDLE,		/* not started */
	BC_CONNECTING,		/* TCP connect in progress */
	BC_HANDSHAKE,		/* upgrade request sent */
	BC_WELCOME,		/* upgraded, waiting for the welcome */
	BC_SUBSCRIBING,		/* subscribe sent, waiting for the reply */
	BC_READY,		/* subscribed */
	BC_DEAD
};

/* Why a connection failed (index into bctx.x_fail). */
enum {
	BF_CONNECT, BF_HANDSHAKE, BF_SUBSCRIBE, BF_TIMEOUT, BF_CLOSED,
	BF_PROTO, BF_MAX
};

struct bctx;

struct bconn {
	ev_io		 bc_io;
	struct bctx	*bc_ctx;
	uint32_t	 bc_idx;	/* connection number, 0..N-1 (+pubs) */
	uint32_t	 bc_nsub;	/* subscribe replies still awaited */
	uint8_t		 bc_state;
	uint8_t		 bc_parked;	/* a joiner waiting for 'G' */
	uint16_t	 bc_closecode;	/* of a server close frame */
	uint64_t	 bc_lastseq;	/* last sequence number received */
	char		*bc_in;		/* an incomplete frame, or NULL */
	uint32_t	 bc_inlen;
	char		*bc_out;	/* bytes the socket did not take */
	uint32_t	 bc_outlen;
	uint32_t	 bc_outoff;
	char		*bc_accept;	/* expected Sec-WebSocket-Accept */
};

struct bctx {
	struct ev_loop	*x_loop;
	const struct bench_conf *x_conf;
	char		*x_rbuf;	/* BENCH_RBUFSZ, shared by all reads */
	uint32_t	 x_seed;	/* masks and keys: need not be secret */
	uint64_t	 x_fail[BF_MAX];
	void		*x_arg;
	const struct bench_target *x_tgt;	/* where to connect */
	int		 x_users;	/* add user=NAME (b_userpat, bc_idx) */
	int		 x_http;	/* plain HTTP, no upgrade (Nchan pub) */
	/* The query's session=SID for c, or NULL (optional). */
	const char	*(*x_session)(struct bctx *, struct bconn *);
	/* The welcome frame; may fail c (optional). */
	void		(*x_welcome)(struct bctx *, struct bconn *,
			    const char *, size_t);
	/* Send the subscribes of a welcomed connection; set bc_nsub. */
	void		(*x_subscribe)(struct bctx *, struct bconn *);
	/* A text frame on a subscribed connection. */
	void		(*x_text)(struct bctx *, struct bconn *, const char *,
			    size_t);
	/* The connection became BC_READY or BC_DEAD. */
	void		(*x_done)(struct bctx *, struct bconn *, int);
};

/* Records from a receiver process to the parent. */
enum { REC_READY = 1, REC_PROGRESS, REC_FINAL, REC_PARKED };

struct rec_hdr {
	uint32_t	r_type;
	uint32_t	r_len;		/* payload bytes after the header */
};

struct rec_ready {
	uint64_t	rr_opened;	/* subscribed */
	uint64_t	rr_fail[BF_MAX];
	uint64_t	rr_connect_ns;	/* first start to last subscribed */
	uint64_t	rr_sub0_ns;	/* the first subscribe sent */
	uint64_t	rr_sublast_ns;	/* the last subscribe sent */
	uint32_t	rr_nchan;	/* then as many uint32_t: subscribers */
	uint32_t	rr_pad;
};

/* A storm's joiners are connected (welcomed) and wait for 'G'. */
struct rec_parked {
	uint64_t	rk_parked;	/* connections waiting */
	uint64_t	rk_connect_ns;	/* first start to last parked */
};

struct rec_progress {
	uint64_t	rp_received;	/* measured deliveries so far */
	uint64_t	rp_closed;	/* ready connections lost since */
	uint64_t	rp_warm;	/* warm-up deliveries so far */
	/* A reconnect storm's victims, each counted once: */
	uint64_t	rp_lost;	/* lost their first connection */
	uint64_t	rp_resumed;	/* welcomed with resumed:true */
	uint64_t	rp_caught;	/* caught up, connected now */
	uint64_t	rp_final;	/* given up: fresh session, ... */
	uint64_t	rp_complete;	/* have all up to the last publish */
	uint64_t	rp_waiting;	/* between attempts, or in one */
	uint64_t	rp_moved;	/* anything happened: attempts too */
	uint64_t	rp_welcome_ns;	/* the last resumed welcome */
	uint64_t	rp_caught_ns;	/* the last victim caught up */
};

/* A reconnect storm's figures of one receiver (resume.c). */
struct rec_resume {
	uint64_t	rs_victims;	/* subscribed on the first node */
	uint64_t	rs_lost;	/* and lost that connection */
	uint64_t	rs_resumed;	/* welcomed resumed:true */
	uint64_t	rs_fresh;	/* welcomed with a fresh session */
	uint64_t	rs_relost;	/* resumed, then lost, not back */
	uint64_t	rs_alive;	/* connected at the end */
	uint64_t	rs_attempts;	/* resume connections started */
	uint64_t	rs_afail[BF_MAX];	/* failed before the welcome */
	uint64_t	rs_rest_false;	/* restored with recovered:false */
	uint64_t	rs_rest_true;	/* restored with recovered:true */
	uint64_t	rs_not_restored;	/* the channel not restored */
	uint64_t	rs_since;	/* subscribes with since sent */
	uint64_t	rs_since_true;	/* answered recovered:true */
	uint64_t	rs_since_false;	/* answered recovered:false */
	uint64_t	rs_since_err;	/* answered with an error */
	uint64_t	rs_since_again;	/* and sent again (unavailable...) */
	uint64_t	rs_restore_err;	/* the restore failed: an error */
	uint64_t	rs_gap_told;	/* a later gap told: since again */
	uint64_t	rs_nooffset;	/* lost before any message */
	uint64_t	rs_caught;	/* caught up at the end */
	uint64_t	rs_checked;	/* alive, sequences checked */
	uint64_t	rs_missed;	/* sequence numbers never received */
	uint64_t	rs_dup;		/* received again */
	uint64_t	rs_reorder;	/* received above a gap */
	uint64_t	rs_overflow;	/* counted missed: gap too wide */
	uint64_t	rs_replayed;	/* sent while away, then received */
	uint64_t	rs_welcome_ns;	/* the last resumed welcome */
	uint64_t	rs_caught_ns;	/* the last victim caught up */
};

struct rec_final {
	uint64_t	rf_received;	/* measured deliveries */
	uint64_t	rf_warm;	/* warm-up deliveries */
	uint64_t	rf_gaps;	/* sequence numbers skipped */
	uint64_t	rf_reorder;	/* duplicated or out of order */
	uint64_t	rf_mismatch;	/* delivered on a wrong channel */
	uint64_t	rf_closed;	/* ready connections lost */
	uint64_t	rf_first_ns;	/* first and last measured delivery */
	uint64_t	rf_last_ns;
	struct rec_resume rf_resume;	/* a reconnect storm's victims */
	struct hist	rf_hist;
};

/* Server processes' memory and CPU. */
struct srv_sample {
	uint64_t	ss_rss_kib;	/* sum of VmRSS */
	uint64_t	ss_anon_kib;	/* sum of RssAnon + RssShmem */
	double		ss_cpu_s;	/* sum of utime + stime */
	int		ss_nok;		/* processes read */
	int64_t		ss_pid_rss[BENCH_MAXPIDS];	/* -1: gone */
	int64_t		ss_pid_anon[BENCH_MAXPIDS];
	double		ss_pid_cpu[BENCH_MAXPIDS];
	char		ss_pid_name[BENCH_MAXPIDS][16];	/* comm, or "" */
};

/* The bystanders of a reconnect storm (bystand.c). */
struct byst_report {
	uint64_t	by_ready;	/* subscribed */
	uint64_t	by_fail;	/* did not subscribe */
	uint64_t	by_lost;	/* lost after they had */
	uint64_t	by_received;	/* deliveries */
	uint64_t	by_gaps;	/* sequence numbers skipped */
	uint64_t	by_reorder;	/* duplicated or out of order */
	struct hist	by_before;	/* latencies before the kill */
	struct hist	by_storm;	/* from the kill to the storm's end */
	struct hist	by_after;	/* after it */
	struct hist	by_window;	/* the first BENCH_WINDOW s after the kill */
};

/* A reconnect storm's figures, in the parent. */
struct resume_report {
	struct rec_resume rr_sum;	/* the receivers' figures, summed */
	uint64_t	rr_t0_ns;	/* the kill */
	uint64_t	rr_end_ns;	/* every victim settled, or 0 */
	uint64_t	rr_pub_t0;	/* messages published by the kill */
	uint64_t	rr_pub_end;	/* and by the storm's end */
	int		rr_killed;	/* --kill pids signalled */
	int		rr_killfail;	/* and not (gone already) */
	int		rr_complete;	/* all had all, after the drain */
	struct srv_sample rr_srv[2];	/* at the kill, at the end */
	struct byst_report rr_byst;
};

/* A presence storm's figures (storm.c). */
struct storm_report {
	uint64_t	sr_watchers;	/* subscribed watchers */
	uint64_t	sr_wfail;	/* watchers that did not subscribe */
	uint64_t	sr_wclosed;	/* and lost after they had */
	uint64_t	sr_wcode;	/* the close code of the first lost */
	uint64_t	sr_expected;	/* joins to see: watchers x joiners */
	uint64_t	sr_seen;	/* (watcher, joiner) pairs seen */
	uint64_t	sr_dup;		/* a join a watcher had seen */
	uint64_t	sr_foreign;	/* joins of users not ours */
	uint64_t	sr_complete;	/* watchers that saw every join */
	uint64_t	sr_alldone_ns;	/* when the last join was seen */
	uint64_t	sr_queries;	/* presence queries answered */
	uint64_t	sr_qerrors;	/* failed or not answered */
	uint64_t	sr_qcount;	/* the count in the last answer */
	double		sr_cpu_go;	/* server CPU s when the joins began */
	double		sr_cpu_seen;	/* and when all were seen */
	int		sr_stalled;	/* gave up waiting for joins */
	struct hist	sr_qhist;	/* query latencies */
};

/* What the parent gathers and prints. */
struct report {
	uint64_t	 rp_opened;	/* subscribed receivers */
	uint64_t	 rp_fail[BF_MAX];	/* receivers failed, by why */
	uint64_t	 rp_connect_ns;	/* the slowest process's connect time */
	uint64_t	 rp_published;	/* measured messages */
	uint64_t	 rp_pubwarm;	/* warm-up messages */
	uint64_t	 rp_puberrors;	/* error frames to the publisher */
	uint64_t	 rp_pubagain;	/* failed publishes sent again */
	uint64_t	 rp_publost;	/* and given up (or no room) */
	uint64_t	 rp_pubclosed;	/* publisher connections lost */
	uint64_t	 rp_pubreconn;	/* API connections made again */
	uint64_t	 rp_expected;	/* measured deliveries expected */
	uint64_t	 rp_received;
	uint64_t	 rp_warm;
	uint64_t	 rp_gaps;
	uint64_t	 rp_reorder;
	uint64_t	 rp_mismatch;
	uint64_t	 rp_closed;	/* subscribed receivers lost */
	uint64_t	 rp_meas0_ns;	/* the first measured publish */
	uint64_t	 rp_pubend_ns;	/* the last publish */
	uint64_t	 rp_last_ns;	/* the last measured delivery */
	uint64_t	 rp_ready_ns;	/* all subscribed: the run starts */
	uint64_t	 rp_end_ns;	/* the drain is over */
	int		 rp_lost;	/* receiver processes that died */
	int		 rp_timeout;	/* the watchdog ended the run */
	int		 rp_stalled;	/* the drain saw no progress */
	struct hist	 rp_hist;
	struct srv_sample rp_srv[4];	/* start, all subscribed, end, and
					   the first measured publish */
	uint64_t	 rp_sub0_ns;	/* the receivers' first subscribe */
	uint64_t	 rp_sublast_ns;	/* and their last (joins, in a storm) */
	struct storm_report rp_storm;	/* with --watchers */
	struct resume_report rp_resume;	/* with --resume-url */
};

/* A failed publish to send again (a reconnect storm's publisher). */
struct pretry {
	uint64_t	pr_m;		/* the message's number */
	uint64_t	pr_due;		/* when (CLOCK_MONOTONIC ns) */
	uint32_t	pr_tries;	/* sent so far */
	uint32_t	pr_pad;
};


enum { PUB_READY = 1, PUB_FAILED };

/* A FIFO of numbers (pubapi.c). */
struct fifo {
	uint64_t	*f_v;
	size_t		 f_head;
	size_t		 f_len;
	size_t		 f_cap;
};

/*
 * What one connection of the API publisher has sent and not had
 * answered, in order (pubapi.c): the messages, each (M << 8) | K (its
 * number and earlier tries), and the requests, each its number of items.
 * The batch being built is in p_bufs, open at pa_open.
 */
struct papi {
	struct fifo	 pa_items;
	struct fifo	 pa_reqs;
	size_t		 pa_open;	/* its '[' in the buffer */
	size_t		 pa_lenat;	/* its Content-Length's digits */
	uint32_t	 pa_nopen;	/* its items; 0: none open */
	uint32_t	 pa_sent;	/* requests written, not answered */
	int		 pa_closing;	/* an answer said Connection: close */
};

/*
 * The publisher: one connection per BENCH_SUBPERPUB channels, or with
 * --pub-api one per receiver process.
 */
struct pub {
	struct bctx	 p_x;
	struct bconn	*p_conns;
	struct buf	*p_bufs;	/* frames waiting, one a connection */
	struct papi	*p_api;		/* --pub-api: one per connection */
	uint32_t	 p_n;
	uint32_t	 p_ready;
	int		 p_running;
	uint64_t	*p_meas;	/* measured messages per channel */
	uint64_t	 p_sent;	/* messages sent so far */
	uint64_t	 p_total;	/* (warm-up + duration) * rate */
	uint64_t	 p_t0;
	ev_timer	 p_tick;
	struct report	*p_rep;
	void		(*p_cb)(struct pub *, int);	/* PUB_READY, ... */
	void		*p_arg;
	char		*p_msg;		/* one message, as published */
	size_t		 p_msgsz;
	char		*p_body;	/* its data: the bench JSON */
	int		 p_again;	/* failed publishes go again */
	int		 p_ended;	/* pub_end(): no new message */
	struct pretry	*p_retry;	/* a ring of PUB_RETRYMAX, or NULL */
	uint32_t	 p_rhead;
	uint32_t	 p_rlen;
	uint64_t	 p_unanswered;	/* publishes sent, not answered */
	uint64_t	 p_lastans;	/* the last answer, or the start */
	uint64_t	 p_perm;	/* the channel order's key */
};

enum { BYST_READY = 1, BYST_FAILED };

/* The bystanders of a reconnect storm, in the parent process. */
struct bystand {
	struct bctx	 y_x;
	struct bconn	*y_conns;
	uint32_t	 y_n;
	uint32_t	 y_done;	/* subscribed or failed */
	int		 y_told;
	uint64_t	 y_t0;		/* the kill, or 0 */
	uint64_t	 y_end;		/* the storm's end, or 0 */
	uint64_t	 y_slotns;	/* a time slot's width */
	struct hist	**y_slot;	/* BENCH_SLOTS, each made on demand */
	ev_timer	 y_timer;	/* the connect deadline */
	struct report	*y_rep;
	void		(*y_cb)(struct bystand *, int);	/* BYST_* */
	void		*y_arg;
};

enum { STORM_READY = 1, STORM_FAILED, STORM_DONE };

struct watcher {
	uint8_t		*w_seen;	/* a bit per joiner */
	uint64_t	 w_nseen;
	uint64_t	 w_last_ns;	/* the last new join seen */
};

/* The watchers of a presence storm, in the parent process. */
struct storm {
	struct bctx	 s_x;
	struct bconn	*s_conns;
	struct watcher	*s_w;
	uint32_t	 s_n;
	uint32_t	 s_ready;	/* subscribed */
	uint32_t	 s_done;	/* subscribed or failed */
	int		 s_state;	/* STORM_* last told to s_cb, or 0 */
	uint32_t	 s_qsent;	/* queries sent */
	uint32_t	 s_qnext;	/* the watcher for the next query */
	struct bconn	*s_qconn;	/* the query in flight's watcher */
	uint64_t	 s_qt0;		/* the query in flight, or 0 */
	uint64_t	 s_qstart;	/* the first query */
	ev_timer	 s_timer;	/* connect, then query deadlines */
	struct report	*s_rep;
	void		(*s_cb)(struct storm *, int);	/* STORM_* */
	void		*s_arg;
};

/* A victim of a reconnect storm, beside its connection (resume.c). */
struct victim {
	ev_timer	 v_timer;	/* the next resume attempt */
	uint64_t	 v_hwm;		/* all sequence numbers up to it came */
	uint64_t	*v_bits;	/* those above it that came, or NULL */
	uint64_t	 v_lost_ns;	/* the connection was lost */
	uint64_t	 v_try_ns;	/* the current attempt started */
	uint32_t	 v_nbits;	/* bits set in v_bits */
	uint16_t	 v_tries;	/* failed attempts in a row */
	uint8_t		 v_state;	/* V_* */
	uint8_t		 v_flags;	/* VF_* */
	char		 v_sid[BENCH_SIDMAX + 1];	/* welcome.session */
	char		 v_since[BENCH_OFFMAX + 1];	/* moved v_hwm last */
	char		 v_max[BENCH_OFFMAX + 1];	/* the highest offset */
	char		 v_latest[BENCH_OFFMAX + 1];	/* to reach, resumed */
};

/* The victims of one receiver process (resume.c). */
struct rsm {
	struct bctx	 m_x;		/* the resume connections' */
	struct bconn	*m_conns;	/* the receiver's connections */
	struct victim	*m_v;		/* one per connection */
	uint32_t	 m_lo;
	uint32_t	 m_n;
	uint64_t	 m_total;	/* messages published in all, or 0 */
	uint64_t	 m_moved;	/* events, for the stall check */
	struct rec_final *m_fin;	/* the receiver's counters */
	struct rec_resume m_rs;
};

/* hist.c */
void		 hist_add(struct hist *, uint64_t);
void		 hist_merge(struct hist *, const struct hist *);
uint64_t	 hist_quantile(const struct hist *, double);

/* ws.c */
uint64_t	 bench_now(void);
uint32_t	 bench_rand(uint32_t *);
size_t		 ws_frame(char *, size_t, int, const char *, size_t, uint32_t);
int		 ws_parse_head(const char *, size_t, uint64_t *, size_t *,
		    int *);
int		 ws_find(const char *, size_t, const char *);
int		 ws_gwb(const char *, size_t, uint64_t [4]);
size_t		 bench_name(const char *, uint32_t, char *, size_t);
size_t		 bench_channel(const struct bench_conf *, uint32_t, char *,
		    size_t);
int64_t		 bench_name_index(const char *, const char *, size_t);
int		 ws_string(const char *, size_t, const char *, const char **,
		    size_t *);
int		 ws_number(const char *, size_t, const char *, uint64_t *);

/* conn.c */
int		 bconn_start(struct bctx *, struct bconn *);
void		 bconn_send(struct bconn *, const char *, size_t);
void		 bconn_text(struct bconn *, const char *, size_t);
void		 bconn_fail(struct bconn *, int);
void		 bconn_free(struct bconn *);

/* peer.c */
int		 peer_proto(const char *);
const char	*peer_name(int);
int		 peer_path(struct bconn *, char *, size_t);
size_t		 peer_subreq(const struct bench_conf *, const char *, unsigned,
		    char *, size_t);
size_t		 peer_publish(const struct bench_conf *, const char *,
		    const char *, const char *, const char *, size_t, char *,
		    size_t);
int		 peer_puberror(const struct bench_conf *, const char *, size_t);
void		 peer_sio_text(struct bconn *, const char *, size_t);
long		 peer_http(struct bconn *, const char *, size_t);

/* pub.c */
void		 pub_start(struct pub *, struct ev_loop *,
		    const struct bench_conf *, struct report *);
void		 pub_run(struct pub *);
void		 pub_end(struct pub *);
void		 pub_finish(struct pub *);
void		 pub_free(struct pub *);
size_t		 pub_message(struct pub *, uint64_t, uint32_t, int, uint64_t);
void		 pub_answered(struct pub *, uint64_t, uint32_t, int);

/* pubapi.c */
void		 pubapi_probe(struct pub *, struct bconn *);
void		 pubapi_add(struct pub *, uint32_t, uint64_t, uint32_t, size_t);
void		 pubapi_send(struct pub *, uint32_t);
void		 pubapi_restart(struct pub *);
void		 pubapi_text(struct pub *, struct bconn *, const char *,
		    size_t);
void		 pubapi_lost(struct pub *, uint32_t);
void		 pubapi_free(struct papi *);

/* seq.c: what seq_track() made of a sequence number. */
enum { SEQ_NEW, SEQ_ADVANCE, SEQ_DUP };
int		 seq_track(struct victim *, uint64_t, struct rec_resume *);

/* resume.c */
void		 resume_init(struct rsm *, struct ev_loop *,
		    const struct bench_conf *, struct bconn *, uint32_t,
		    uint32_t, char *, struct rec_final *);
void		 resume_first_welcome(struct rsm *, struct bconn *,
		    const char *, size_t);
void		 resume_ready(struct rsm *, struct bconn *);
void		 resume_first_text(struct rsm *, struct bconn *, const char *,
		    size_t);
void		 resume_lost(struct rsm *, struct bconn *);
void		 resume_total(struct rsm *, uint64_t);
void		 resume_progress(struct rsm *, struct rec_progress *);
void		 resume_final(struct rsm *);
void		 resume_free(struct rsm *);

/* bystand.c */
void		 bystand_start(struct bystand *, struct ev_loop *,
		    const struct bench_conf *, struct report *);
void		 bystand_kill(struct bystand *, uint64_t);
void		 bystand_end(struct bystand *, uint64_t);
void		 bystand_finish(struct bystand *);
void		 bystand_free(struct bystand *);

/* recv.c */
int		 recv_main(const struct bench_conf *, uint32_t, uint32_t,
		    int, int);

/* storm.c */
void		 storm_start(struct storm *, struct ev_loop *,
		    const struct bench_conf *, struct report *);
int		 storm_check(struct storm *);
void		 storm_query(struct storm *);
void		 storm_free(struct storm *);

/* bench.c */
int		 bench_main(struct bench_conf *);

/* report.c */
void		 srv_sample(const struct bench_conf *, struct srv_sample *);
void		 report_print(const struct bench_conf *, const struct report *);

#endif
