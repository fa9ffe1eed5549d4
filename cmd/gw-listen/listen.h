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

#define LISTEN_MAXADDRS		16
#define LISTEN_READ_BUDGET	(64 * 1024)	/* bytes read per event */
#define LISTEN_WRITE_BUDGET	(64 * 1024)	/* bytes written per turn */
#define LISTEN_CLOSE_TIMEOUT	2.0	/* seconds to wait for the peer's close */
#define LISTEN_MAXUSER		128

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
};

/* Who a connection is: fixed at the handshake. */
struct ident {
	char	*id_user;
	char	*id_info;	/* compact JSON object text, or NULL */
	char	**id_globs;	/* NULL-terminated channels claim, or NULL */
	int64_t	 id_exp;	/* 0: never */
};

/* A frame ready to write, shared by every connection that sends it. */
struct obuf {
	uint32_t	ob_ref;
	uint32_t	ob_len;
	uint8_t		ob_data[];
};

struct oq {
	struct oq	*oq_next;
	struct obuf	*oq_buf;
};

struct chan;
struct tlist;
struct conn_rx;
struct conn_head;

/* One subscription of a connection. */
struct csub {
	struct chan	*s_chan;
	uint32_t	 s_midx;	/* index in s_chan's member array */
	uint8_t		 s_presence;
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

struct conn {
	ev_io			 c_io;
	struct conn		*c_tnext;	/* timeout list links */
	struct conn		*c_tprev;
	struct tlist		*c_tlist;
	ev_tstamp		 c_tstamp;	/* when it entered its list */
	struct conn		*c_fnext;	/* flush list */
	struct conn		*c_rnext;	/* reap list */
	uint8_t			 c_state;
	uint8_t			 c_flags;
	uint16_t		 c_nsubs;
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
	uint64_t		 c_connid;
	uint8_t			 c_session[16];
};

/* A list of connections that share one constant timeout, oldest first. */
struct tlist {
	struct conn	*tl_head;
	struct conn	*tl_tail;
	ev_timer	 tl_timer;
	ev_tstamp	 tl_timeout;
	void		(*tl_expire)(struct conn *);
};

struct listen {
	struct ev_loop		*l_loop;
	struct listen_conf	*l_conf;
	ev_io			 l_accept[LISTEN_MAXADDRS];
	int			 l_naccept;
	ev_timer		 l_acceptpause;
	ev_prepare		 l_prepare;
	ev_signal		 l_sigterm;
	ev_signal		 l_sigint;
	ev_timer		 l_stoptimer;
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
};

extern struct listen	*gl;

/* listen.c */
int		 listen_main(struct listen_conf *);
void		 tlist_init(struct tlist *, ev_tstamp, void (*)(struct conn *));
void		 tlist_add(struct tlist *, struct conn *, ev_tstamp);
void		 tlist_remove(struct conn *);

/* conn.c */
void		 conn_accept(int);
struct obuf	*obuf_new(size_t);
void		 obuf_unref(struct obuf *);
int		 conn_send(struct conn *, struct obuf *);
void		 conn_send_raw(struct conn *, const void *, size_t);
void		 conn_drop_queue(struct conn *);
void		 conn_flush_all(void);
void		 conn_reap_all(void);
void		 conn_close_after_flush(struct conn *);
void		 conn_kill(struct conn *);
void		 conn_touch(struct conn *);
void		 conn_update_events(struct conn *);

/* handshake.c */
void		 handshake_read(struct conn *);
void		 handshake_free(struct conn *);
void		 handshake_expire(struct conn *);

/* auth.c */
int		 auth_check(const struct listen_conf *, const struct http_req *,
		    struct ident **, char *, size_t);
void		 ident_free(struct ident *);
int		 ident_may_subscribe(const struct ident *, const char *);

/* ws.c */
void		 ws_start(struct conn *, const char *, size_t);
void		 ws_read(struct conn *);
void		 ws_free(struct conn *);
void		 ws_cleanup(void);
struct obuf	*ws_frame(int, const void *, size_t);
void		 ws_close(struct conn *, int, const char *);
void		 ws_ping_expire(struct conn *);
void		 ws_pong_expire(struct conn *);

/* client.c */
void		 client_welcome(struct conn *);
void		 client_message(struct conn *, const char *, size_t);
void		 client_leave_all(struct conn *);
int		 client_send_json(struct conn *, json_t *);

#endif
