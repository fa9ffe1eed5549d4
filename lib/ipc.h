/*
 * ipc.h -- the messages gw's processes exchange over Unix-domain sockets,
 * and their framing.  One header, one enum: bump GW_IPC_VERSION on ANY
 * change to gw_msg_type or to a payload.  man/gw-ipc.7 repeats this.
 *
 * A message is a 16-byte header in host byte order (Unix sockets never
 * leave the host) and a payload built with ipc_add_*() and read back with
 * ipc_get_*(); ipc_end() fails if bytes are left over, so that parsing is
 * total.  Strings are a u32 length and that many bytes, not NUL-terminated.
 */
#ifndef GW_IPC_H
#define GW_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#define GW_IPC_VERSION	8
#define GW_IPC_MAXMSG	(8 * 1024 * 1024)	/* header included */
#define GW_IPC_HDRLEN	16
#define GW_IPC_MAXQUEUE	(64 * 1024 * 1024)	/* bytes queued per peer */

/*
 * GW_MSG_BRIDGE_EVENT's actor of a sync mark (GW_MSG_PRESENCE_QUERY):
 * for the gw-listen worker that asked, never for clients or gwctl.
 */
#define GW_ACTOR_SYNC		UINT64_MAX

/* GW_MSG_PRESENCE_TYPING's stop. */
#define GW_TYPING_START		0	/* typing: typing.start, or the
					   TTL pushed back */
#define GW_TYPING_STOP		1	/* stopped: typing.stop */
#define GW_TYPING_DECLARE	2	/* was typing when gw-presence came
					   back: the TTL starts, no event */

enum gw_msg_type {
	GW_MSG_NONE,			/* 0 is never sent */
	GW_MSG_HELLO,			/* any -> any: u32 pid, str name */

	/* gw-listen -> gw-bridge */
	GW_MSG_BRIDGE_SUB,		/* id; str channel, str since, u32 flags */
	GW_MSG_BRIDGE_UNSUB,		/* str channel */
	GW_MSG_BRIDGE_NOEVENTS,		/* str channel */
	GW_MSG_BRIDGE_PUBLISH,		/* id; str channel, str data, str from,
					   u64 ts */
	GW_MSG_BRIDGE_HISTORY,		/* id; str channel, str since,
					   u32 limit */

	/* gw-bridge -> gw-listen */
	GW_MSG_BRIDGE_SUBSCRIBED,	/* id; str channel, str latest,
					   u32 recovered, u32 n,
					   n * (str offset, str message) */
	GW_MSG_BRIDGE_PUBLISHED,	/* id; str offset */
	GW_MSG_BRIDGE_HISTORY_REPLY,	/* id; u32 complete, u32 n,
					   n * (str offset, str message) */
	GW_MSG_BRIDGE_FAIL,		/* id; str code, str message */
	GW_MSG_BRIDGE_DELIVER,		/* str channel, str offset,
					   str message */
	GW_MSG_BRIDGE_GAP,		/* str channel, str latest */
	GW_MSG_BRIDGE_HEALTH,		/* u32 up */
	GW_MSG_BRIDGE_EVENT,		/* str channel, u64 actor, str frame */

	/* gw-listen -> gw-presence */
	GW_MSG_PRESENCE_JOIN,		/* str channel, str user, str info,
					   u64 since (ms), u64 actor */
	GW_MSG_PRESENCE_LEAVE,		/* str channel, str user, u64 actor */
	GW_MSG_PRESENCE_TYPING,		/* str channel, str user, u64 actor,
					   u32 stop (GW_TYPING_*) */
	GW_MSG_PRESENCE_QUERY,		/* id; str channel, str sync */

	/* gw-presence -> gw-listen */
	GW_MSG_PRESENCE_REPLY,		/* id; str answer (JSON object) */
	GW_MSG_PRESENCE_FAIL,		/* id; str code, str message */

	/* gw-listen -> gw-presence: sessions */
	GW_MSG_SESSION_SAVE,		/* str sid, str user, str state,
					   u32 live, u64 conn */
	GW_MSG_SESSION_DROP,		/* str sid */
	GW_MSG_SESSION_LOAD,		/* id; str sid, str user,
					   u64 conn */

	/* gw-presence -> gw-listen */
	GW_MSG_SESSION_STATE,		/* id; u32 found, str state */

	/*
	 * gwctl or gw-supervise -> any daemon's socket, and back; and
	 * gw-bridge -> each gw-listen, and back, for a gather
	 */
	GW_MSG_CTL_REQUEST,		/* id; str request (JSON object) */
	GW_MSG_CTL_REPLY,		/* id; str reply (JSON object) */

	/*
	 * gw-listen -> gw-bridge -> every gw-listen of the node (with
	 * GW_GATHER_CLUSTER, of every node, through Redis), and back
	 */
	GW_MSG_BRIDGE_GATHER,		/* id; str request (JSON object),
					   u32 flags */
	GW_MSG_BRIDGE_GATHERED,		/* id; u32 n, n * str reply, u32
					   nodes, u32 unanswered */

	GW_MSG_MAX
};

/* GW_MSG_BRIDGE_SUB flags */
#define GW_SUB_RESTORE	0x1	/* re-declared after a reconnect: no reply
				   to a client, catch up from since */
#define GW_SUB_EVENTS	0x2	/* the worker has presence subscribers on
				   the channel: send it the events */

/* GW_MSG_BRIDGE_GATHER flags */
#define GW_GATHER_CLUSTER	0x1	/* every node's workers, not only
					   this node's */
/* GW_MSG_BRIDGE_GATHERED unanswered: the other nodes were not asked */
#define GW_GATHER_UNASKED	UINT32_MAX

/* GW_MSG_BRIDGE_SUBSCRIBED recovered */
#define GW_REC_NONE	0	/* no since was given */
#define GW_REC_FALSE	1	/* history does not reach back to since */
#define GW_REC_TRUE	2	/* everything after since follows */

struct gw_msg_hdr {
	uint32_t	type;		/* enum gw_msg_type */
	uint32_t	len;		/* header + payload, <= GW_IPC_MAXMSG */
	uint32_t	id;		/* request id, echoed in the reply */
	uint32_t	version;	/* GW_IPC_VERSION */
};

/* A message being built: header and payload in one growing buffer. */
struct ipc_msg {
	uint8_t		*m_buf;
	size_t		 m_len;
	size_t		 m_cap;
	struct ipc_msg	*m_next;	/* a peer's output queue */
	size_t		 m_off;		/* bytes of it already written */
	int		 m_block;	/* messages packed in a block of
					   mapped memory (ipc_peer.c) */
};

/* A received payload being read. */
struct ipc_rd {
	const uint8_t	*r_p;
	size_t		 r_left;
	int		 r_err;
};

struct ipc_peer;
typedef void	(*ipc_msg_cb)(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
typedef void	(*ipc_close_cb)(struct ipc_peer *, const char *);

/* Building. */
struct ipc_msg	*ipc_create(uint32_t, uint32_t);
void		 ipc_add_u32(struct ipc_msg *, uint32_t);
void		 ipc_add_u64(struct ipc_msg *, uint64_t);
void		 ipc_add_str(struct ipc_msg *, const void *, size_t);
void		 ipc_add_cstr(struct ipc_msg *, const char *);
int		 ipc_close(struct ipc_msg *);
void		 ipc_msg_free(struct ipc_msg *);

/* Parsing. */
ssize_t		 ipc_decode(const uint8_t *, size_t, struct gw_msg_hdr *,
		    struct ipc_rd *);
int		 ipc_get_u32(struct ipc_rd *, uint32_t *);
int		 ipc_get_u64(struct ipc_rd *, uint64_t *);
int		 ipc_get_str(struct ipc_rd *, const char **, size_t *);
int		 ipc_end(struct ipc_rd *);
const char	*ipc_type_name(uint32_t);
void		 ipc_printable(char *, size_t, const void *, size_t);

/* The run directory and its sockets (ipc_sock.c). */
int		 ipc_group_id(const char *, gid_t *);
void		 ipc_set_group(gid_t);
void		 ipc_group_opt(const char *);
int		 ipc_rundir(const char *, char *, size_t);
int		 ipc_listen(const char *);
int		 ipc_connect(const char *);
int		 ipc_accept(int);

/*
 * A listening socket watched on a loop (ipc_sock.c): see
 * ipc_acceptor_start().
 */
typedef void	(*ipc_accept_fn)(struct ev_loop *, int, const char *, void *);
struct ipc_acceptor {
	ev_io		 ia_io;
	ev_timer	 ia_pause;	/* on while out of descriptors */
	ipc_accept_fn	 ia_fn;
	void		*ia_arg;
	int		 ia_weak;	/* does not keep the loop alive */
};
void		 ipc_acceptor_start(struct ev_loop *, struct ipc_acceptor *,
		    int, int, ipc_accept_fn, void *);
void		 ipc_acceptor_stop(struct ev_loop *, struct ipc_acceptor *);

/* Peers (ipc_peer.c). */
struct ipc_peer	*ipc_peer_new(struct ev_loop *, int, ipc_msg_cb, ipc_close_cb,
		    void *);
void		*ipc_peer_arg(struct ipc_peer *);
int		 ipc_send(struct ipc_peer *, struct ipc_msg *);
size_t		 ipc_peer_queued(struct ipc_peer *);
void		 ipc_peer_pause(struct ipc_peer *, int);
void		 ipc_peer_free(struct ipc_peer *);

#endif
