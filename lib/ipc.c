/*
 * ipc.c -- see ipc.h and gw-ipc(7).
 *
 * Messages are built in one buffer that starts with the 16-byte header,
 * so that a closed message is written as it is: no copy, no second
 * encoding.  A message that would pass GW_IPC_MAXMSG stops growing at
 * once (its m_len is set to IPC_TOOBIG and later adds are dropped), so a
 * caller cannot make us allocate more than that, and ipc_close() and
 * ipc_send() refuse it with EMSGSIZE.
 *
 * A peer owns a connected socket, an input buffer and an output queue of
 * closed messages.  Reading: each EV_READ event reads at most
 * IPC_READ_BUDGET bytes, and after every read() the messages it
 * completed are all handed to the callback, so no complete message is
 * ever left waiting in the buffer for bytes that may never come; what
 * is left in the socket wakes EV_READ (level-triggered) again on the
 * next loop iteration, after the other watchers had their turn.
 *
 * Writing: ipc_send() only queues.  The queue is written by the peer's
 * ev_prepare watcher, that is once per loop iteration just before the
 * loop sleeps, with one sendmsg() of up to IPC_MAXIOV messages (more only
 * if the socket took all of them); a short write or EAGAIN stops the
 * prepare watcher and waits for EV_WRITE.  sendmsg() with MSG_NOSIGNAL
 * means a closed peer gives EPIPE, never SIGPIPE.
 *
 * A prepare watcher started while the loop is already running its
 * prepare watchers (an ipc_send() from another prepare callback) would
 * only be run after the loop wakes up again.  So ipc_send() also starts
 * an idle watcher, which keeps the loop from sleeping; its callback only
 * stops it, and the prepare callback stops it too.
 *
 * Callbacks may free their peer.  While the library has a callback of a
 * peer on the stack, p_inuse is non-zero, and ipc_peer_free() only closes
 * the socket, stops the watchers and marks the peer freed; the outermost
 * library frame frees the memory when it unwinds, and every frame stops
 * touching the peer once it sees p_freed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ipc.h"
#include "xmalloc.h"

/* The m_len of a message that overflowed. */
#define IPC_TOOBIG	((size_t)GW_IPC_MAXMSG + 1)
#define IPC_MSGINIT	128		/* first buffer of a message */
#define IPC_READ_CHUNK	(64 * 1024)	/* least room for a read() */
#define IPC_READ_BUDGET	(256 * 1024)	/* read per EV_READ event */
#define IPC_INMAX	((size_t)GW_IPC_MAXMSG + IPC_READ_CHUNK)
#define IPC_BACKLOG	128

#if defined(IOV_MAX) && IOV_MAX < 1024
#define IPC_MAXIOV	IOV_MAX
#else
#define IPC_MAXIOV	1024
#endif

struct ipc_peer {
	struct ev_loop	*p_loop;
	int		 p_fd;
	ev_io		 p_rio;		/* on while alive */
	ev_io		 p_wio;		/* on while the socket is full */
	ev_prepare	 p_prep;	/* on while output waits */
	ev_idle		 p_idle;	/* keeps the loop up for p_prep */
	ipc_msg_cb	 p_msgcb;
	ipc_close_cb	 p_closecb;
	void		*p_arg;

	uint8_t		*p_in;		/* p_in[p_inoff..p_inlen) */
	size_t		 p_inoff;
	size_t		 p_inlen;
	size_t		 p_incap;

	struct ipc_msg	*p_qhead;	/* output queue */
	struct ipc_msg	*p_qtail;
	size_t		 p_queued;	/* bytes of it not yet written */

	int		 p_inuse;	/* library frames holding p */
	int		 p_dead;	/* closecb was called */
	int		 p_freed;	/* ipc_peer_free() called */
};

static void	ipc_grow(struct ipc_msg *, size_t);
static void	ipc_put(struct ipc_msg *, const void *, size_t);
static int	ipc_get(struct ipc_rd *, void *, size_t);
static int	ipc_sun(struct sockaddr_un *, const char *);
static int	ipc_sock_live(const char *);
static void	ipc_peer_stop(struct ipc_peer *);
static void	ipc_peer_queue_free(struct ipc_peer *);
static void	ipc_peer_destroy(struct ipc_peer *);
static int	ipc_peer_release(struct ipc_peer *);
static void	ipc_peer_die(struct ipc_peer *, const char *);
static void	ipc_peer_read(struct ipc_peer *);
static void	ipc_peer_flush(struct ipc_peer *);
static void	ipc_read_cb(struct ev_loop *, ev_io *, int);
static void	ipc_write_cb(struct ev_loop *, ev_io *, int);
static void	ipc_prepare_cb(struct ev_loop *, ev_prepare *, int);
static void	ipc_idle_cb(struct ev_loop *, ev_idle *, int);

/*
 * Allocate a message of the given type and request id, with an empty
 * payload.  The caller owns it: it is freed by ipc_msg_free(), or by
 * ipc_send(), which takes it over.  Never returns NULL (xmalloc).
 */
struct ipc_msg *
ipc_create(uint32_t type, uint32_t id)
{
	struct ipc_msg		*m;
	struct gw_msg_hdr	 hdr;

	m = xmalloc(sizeof(*m));
	m->m_cap = IPC_MSGINIT;
	m->m_buf = xmalloc(m->m_cap);
	m->m_next = NULL;
	m->m_off = 0;
	hdr.type = type;
	hdr.len = GW_IPC_HDRLEN;
	hdr.id = id;
	hdr.version = GW_IPC_VERSION;
	memcpy(m->m_buf, &hdr, sizeof(hdr));
	m->m_len = GW_IPC_HDRLEN;
	return m;
}

/*
 * Make room for n more bytes, or mark m as too big.  A too big message
 * keeps the buffer it has: nothing more is ever written to it.
 */
static void
ipc_grow(struct ipc_msg *m, size_t n)
{
	size_t	 cap;

	if (m->m_len > GW_IPC_MAXMSG)
		return;
	if (n > GW_IPC_MAXMSG - m->m_len) {
		m->m_len = IPC_TOOBIG;
		return;
	}
	if (m->m_len + n <= m->m_cap)
		return;
	for (cap = m->m_cap; cap < m->m_len + n; cap *= 2)
		;
	if (cap > GW_IPC_MAXMSG)
		cap = GW_IPC_MAXMSG;
	m->m_buf = xrealloc(m->m_buf, cap);
	m->m_cap = cap;
}

/* Append n bytes at p, if m has not overflowed (ipc_grow was called). */
static void
ipc_put(struct ipc_msg *m, const void *p, size_t n)
{
	if (m->m_len > GW_IPC_MAXMSG || n == 0)
		return;
	memcpy(m->m_buf + m->m_len, p, n);
	m->m_len += n;
}

/* Append a u32 in host byte order. */
void
ipc_add_u32(struct ipc_msg *m, uint32_t v)
{
	ipc_grow(m, sizeof(v));
	ipc_put(m, &v, sizeof(v));
}

/* Append a u64 in host byte order. */
void
ipc_add_u64(struct ipc_msg *m, uint64_t v)
{
	ipc_grow(m, sizeof(v));
	ipc_put(m, &v, sizeof(v));
}

/*
 * Append a string: its length n as a u32, then its n bytes (no NUL).  p
 * may be NULL when n is 0.  A string that does not fit in GW_IPC_MAXMSG
 * makes the message too big: nothing of it is written, and ipc_close()
 * will fail.
 */
void
ipc_add_str(struct ipc_msg *m, const void *p, size_t n)
{
	uint32_t	 n32;

	if (n > GW_IPC_MAXMSG) {
		m->m_len = IPC_TOOBIG;
		return;
	}
	ipc_grow(m, sizeof(n32) + n);
	n32 = (uint32_t)n;
	ipc_put(m, &n32, sizeof(n32));
	ipc_put(m, p, n);
}

/* Append the NUL-terminated string s as ipc_add_str(); NULL is empty. */
void
ipc_add_cstr(struct ipc_msg *m, const char *s)
{
	ipc_add_str(m, s, s == NULL ? 0 : strlen(s));
}

/*
 * Write the final length into m's header.  It may be called again after
 * more adds.  Returns 0, or -1 with errno EMSGSIZE if the message is over
 * GW_IPC_MAXMSG (and then it can only be freed).
 */
int
ipc_close(struct ipc_msg *m)
{
	uint32_t	 len;

	if (m->m_len > GW_IPC_MAXMSG) {
		errno = EMSGSIZE;
		return -1;
	}
	len = (uint32_t)m->m_len;
	memcpy(m->m_buf + offsetof(struct gw_msg_hdr, len), &len,
	    sizeof(len));
	return 0;
}

/* Free a message that was not given to ipc_send().  NULL is allowed. */
void
ipc_msg_free(struct ipc_msg *m)
{
	if (m == NULL)
		return;
	free(m->m_buf);
	free(m);
}

/*
 * Look at the start of a byte stream of len bytes.  Returns 0 if it does
 * not hold a whole message yet (read more and call again); -1 with errno
 * EBADMSG if the header is bad, which is decided as soon as its 16 bytes
 * are there: a length under 16 or over GW_IPC_MAXMSG, another version, a
 * type that is GW_MSG_NONE or not below GW_MSG_MAX; or else the length of
 * the whole message, header included, with *hdr filled and *rd set to
 * read its payload in place (rd points into buf: keep buf while reading).
 */
ssize_t
ipc_decode(const uint8_t *buf, size_t len, struct gw_msg_hdr *hdr,
    struct ipc_rd *rd)
{
	struct gw_msg_hdr	 h;

	if (len < GW_IPC_HDRLEN)
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.len < GW_IPC_HDRLEN || h.len > GW_IPC_MAXMSG ||
	    h.version != GW_IPC_VERSION || h.type == GW_MSG_NONE ||
	    h.type >= GW_MSG_MAX) {
		errno = EBADMSG;
		return -1;
	}
	if (len < h.len)
		return 0;
	*hdr = h;
	rd->r_p = buf + GW_IPC_HDRLEN;
	rd->r_left = h.len - GW_IPC_HDRLEN;
	rd->r_err = 0;
	return h.len;
}

/* Take n bytes from rd into dst, or fail and poison rd. */
static int
ipc_get(struct ipc_rd *rd, void *dst, size_t n)
{
	if (rd->r_err || rd->r_left < n) {
		rd->r_err = 1;
		return -1;
	}
	memcpy(dst, rd->r_p, n);
	rd->r_p += n;
	rd->r_left -= n;
	return 0;
}

/*
 * Read a u32 from the payload.  Returns 0, or -1 (and *v = 0) if too few
 * bytes are left or an earlier get failed; a failure makes every later
 * get and ipc_end() fail too.
 */
int
ipc_get_u32(struct ipc_rd *rd, uint32_t *v)
{
	if (ipc_get(rd, v, sizeof(*v)) == -1) {
		*v = 0;
		return -1;
	}
	return 0;
}

/* Read a u64 from the payload, as ipc_get_u32(). */
int
ipc_get_u64(struct ipc_rd *rd, uint64_t *v)
{
	if (ipc_get(rd, v, sizeof(*v)) == -1) {
		*v = 0;
		return -1;
	}
	return 0;
}

/*
 * Read a string: *p points at its bytes inside the payload (not
 * NUL-terminated) and *n is its length.  Returns 0, or -1 (*p = NULL,
 * *n = 0) if the payload ends before the string does or an earlier get
 * failed.
 */
int
ipc_get_str(struct ipc_rd *rd, const char **p, size_t *n)
{
	uint32_t	 n32;

	*p = NULL;
	*n = 0;
	if (ipc_get(rd, &n32, sizeof(n32)) == -1)
		return -1;
	if (n32 > rd->r_left) {
		rd->r_err = 1;
		return -1;
	}
	*p = (const char *)rd->r_p;
	*n = n32;
	rd->r_p += n32;
	rd->r_left -= n32;
	return 0;
}

/*
 * Finish reading a payload.  Returns 0 if every get succeeded and the
 * payload was read to its last byte, else -1 with errno EBADMSG.
 */
int
ipc_end(struct ipc_rd *rd)
{
	if (rd->r_err || rd->r_left != 0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/*
 * The name of a message type, such as "GW_MSG_BRIDGE_SUB", for traces;
 * "GW_MSG_UNKNOWN" for a value outside the enum.  The string is static.
 */
const char *
ipc_type_name(uint32_t type)
{
#define CASE(x)	case x: return #x
	switch (type) {
	CASE(GW_MSG_NONE);
	CASE(GW_MSG_HELLO);
	CASE(GW_MSG_BRIDGE_SUB);
	CASE(GW_MSG_BRIDGE_UNSUB);
	CASE(GW_MSG_BRIDGE_PUBLISH);
	CASE(GW_MSG_BRIDGE_HISTORY);
	CASE(GW_MSG_BRIDGE_SUBSCRIBED);
	CASE(GW_MSG_BRIDGE_PUBLISHED);
	CASE(GW_MSG_BRIDGE_HISTORY_REPLY);
	CASE(GW_MSG_BRIDGE_FAIL);
	CASE(GW_MSG_BRIDGE_DELIVER);
	CASE(GW_MSG_BRIDGE_GAP);
	CASE(GW_MSG_BRIDGE_HEALTH);
	CASE(GW_MSG_BRIDGE_EVENT);
	CASE(GW_MSG_PRESENCE_JOIN);
	CASE(GW_MSG_PRESENCE_LEAVE);
	CASE(GW_MSG_PRESENCE_TYPING);
	CASE(GW_MSG_PRESENCE_QUERY);
	CASE(GW_MSG_PRESENCE_REPLY);
	CASE(GW_MSG_PRESENCE_FAIL);
	CASE(GW_MSG_SESSION_SAVE);
	CASE(GW_MSG_SESSION_DROP);
	CASE(GW_MSG_SESSION_LOAD);
	CASE(GW_MSG_SESSION_STATE);
	CASE(GW_MSG_CTL_REQUEST);
	CASE(GW_MSG_CTL_REPLY);
	default:
		return "GW_MSG_UNKNOWN";
	}
#undef CASE
}

/* Fill sun with path, or fail with ENAMETOOLONG (or EINVAL if empty). */
static int
ipc_sun(struct sockaddr_un *sun, const char *path)
{
	size_t	 n;

	n = strlen(path);
	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	if (n >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

/*
 * Is some process listening on the socket at path?  A connect() that
 * succeeds or finds the backlog full (EAGAIN) says yes; anything else
 * (ECONNREFUSED for a socket file left by a dead process) says no.
 */
static int
ipc_sock_live(const char *path)
{
	int	 fd, live, saved;

	if ((fd = ipc_connect(path)) != -1) {
		close(fd);
		return 1;
	}
	saved = errno;
	live = errno == EAGAIN;
	errno = saved;
	return live;
}

/*
 * Listen on the Unix-domain socket path: a non-blocking, close-on-exec
 * SOCK_STREAM socket of mode 0600, with a backlog of 128.  A socket file
 * that is already there is removed first if nobody listens on it; if
 * somebody does, the call fails with EADDRINUSE rather than steal the
 * name.  Returns the listening fd, or -1 with errno set (ENAMETOOLONG
 * for a path that does not fit in sun_path).
 */
int
ipc_listen(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, saved;

	if (ipc_sun(&sun, path) == -1)
		return -1;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (ipc_sock_live(path)) {
			errno = EADDRINUSE;
			return -1;
		}
		if (unlink(path) == -1 && errno != ENOENT)
			return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	/* On Linux bind() gives the file the socket's mode, minus umask. */
	if (fchmod(fd, 0600) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	if (chmod(path, 0600) == -1 || listen(fd, IPC_BACKLOG) == -1) {
		saved = errno;
		(void)unlink(path);
		errno = saved;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Connect to the Unix-domain socket path.  Returns a non-blocking,
 * close-on-exec socket, or -1 with errno from connect(): ENOENT,
 * ECONNREFUSED or EAGAIN (backlog full) mean the peer is not up yet, and
 * the caller retries later.
 */
int
ipc_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, saved;

	if (ipc_sun(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Make a peer of the connected socket fd, watched on loop: every message
 * received is passed to msgcb with its header and a reader over its
 * payload (valid only during the call); the end of the link (EOF, a read
 * or write error, a bad message) is reported once to closecb with a
 * short reason, after which the peer only waits for ipc_peer_free().
 * Either callback may call ipc_peer_free() on its peer.  The peer owns
 * fd from now on, and makes it non-blocking.  Returns the peer, or NULL
 * with errno set if fd is not usable (fd is closed then too).
 */
struct ipc_peer *
ipc_peer_new(struct ev_loop *loop, int fd, ipc_msg_cb msgcb,
    ipc_close_cb closecb, void *arg)
{
	struct ipc_peer	*p;
	int		 fl, saved;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->p_loop = loop;
	p->p_fd = fd;
	p->p_msgcb = msgcb;
	p->p_closecb = closecb;
	p->p_arg = arg;
	ev_io_init(&p->p_rio, ipc_read_cb, fd, EV_READ);
	p->p_rio.data = p;
	ev_io_init(&p->p_wio, ipc_write_cb, fd, EV_WRITE);
	p->p_wio.data = p;
	ev_prepare_init(&p->p_prep, ipc_prepare_cb);
	p->p_prep.data = p;
	ev_idle_init(&p->p_idle, ipc_idle_cb);
	p->p_idle.data = p;
	ev_io_start(loop, &p->p_rio);
	return p;
}

/* The arg given to ipc_peer_new(). */
void *
ipc_peer_arg(struct ipc_peer *p)
{
	return p->p_arg;
}

/* Bytes queued to p and not yet written to its socket. */
size_t
ipc_peer_queued(struct ipc_peer *p)
{
	return p->p_queued;
}

/*
 * Queue m to p.  ipc_send() takes m over in every case, and closes it if
 * the caller has not.  Nothing is written now: the queue goes out in one
 * batch when the loop is about to wait for events.  Returns 0, or -1
 * (m freed) with errno EMSGSIZE if m is too big, EPIPE if p is dead
 * (closecb was called), or ENOBUFS if p's queue would pass
 * GW_IPC_MAXQUEUE bytes, which usually means p is stuck.
 */
int
ipc_send(struct ipc_peer *p, struct ipc_msg *m)
{
	if (ipc_close(m) == -1) {
		ipc_msg_free(m);
		return -1;
	}
	if (p->p_dead) {
		ipc_msg_free(m);
		errno = EPIPE;
		return -1;
	}
	if (m->m_len > GW_IPC_MAXQUEUE - p->p_queued) {
		ipc_msg_free(m);
		errno = ENOBUFS;
		return -1;
	}
	m->m_next = NULL;
	m->m_off = 0;
	if (p->p_qtail == NULL)
		p->p_qhead = m;
	else
		p->p_qtail->m_next = m;
	p->p_qtail = m;
	p->p_queued += m->m_len;
	if (!ev_is_active(&p->p_wio) && !ev_is_active(&p->p_prep)) {
		ev_prepare_start(p->p_loop, &p->p_prep);
		ev_idle_start(p->p_loop, &p->p_idle);
	}
	return 0;
}

/* Stop every watcher of p. */
static void
ipc_peer_stop(struct ipc_peer *p)
{
	ev_io_stop(p->p_loop, &p->p_rio);
	ev_io_stop(p->p_loop, &p->p_wio);
	ev_prepare_stop(p->p_loop, &p->p_prep);
	ev_idle_stop(p->p_loop, &p->p_idle);
}

/* Free the output queue of p. */
static void
ipc_peer_queue_free(struct ipc_peer *p)
{
	struct ipc_msg	*m;

	while ((m = p->p_qhead) != NULL) {
		p->p_qhead = m->m_next;
		ipc_msg_free(m);
	}
	p->p_qtail = NULL;
	p->p_queued = 0;
}

/* Free the memory of p, whose socket and watchers are already done. */
static void
ipc_peer_destroy(struct ipc_peer *p)
{
	free(p->p_in);
	free(p);
}

/*
 * Close p's socket, stop its watchers and free its queue and p itself.
 * If a callback of p is running (this is called from it), the memory is
 * freed when the library returns from that callback; either way the
 * caller must not use p again.  NULL is allowed.
 */
void
ipc_peer_free(struct ipc_peer *p)
{
	if (p == NULL)
		return;
	if (!p->p_freed) {
		p->p_freed = 1;
		p->p_dead = 1;
		ipc_peer_stop(p);
		ipc_peer_queue_free(p);
		close(p->p_fd);
		p->p_fd = -1;
	}
	if (p->p_inuse == 0)
		ipc_peer_destroy(p);
}

/*
 * Drop the hold a library frame took on p (p_inuse++).  Returns 1 if p
 * was freed meanwhile, and then the caller must not touch it.
 */
static int
ipc_peer_release(struct ipc_peer *p)
{
	if (--p->p_inuse == 0 && p->p_freed) {
		ipc_peer_destroy(p);
		return 1;
	}
	return p->p_freed;
}

/*
 * The link is over: stop everything, drop the queue and tell the owner,
 * once.  The caller holds p; closecb may free it.
 */
static void
ipc_peer_die(struct ipc_peer *p, const char *reason)
{
	if (p->p_dead)
		return;
	p->p_dead = 1;
	ipc_peer_stop(p);
	ipc_peer_queue_free(p);
	if (p->p_closecb != NULL)
		p->p_closecb(p, reason);
}

/*
 * Read up to IPC_READ_BUDGET bytes and hand every complete message to
 * msgcb.  The caller holds p; return as soon as p is dead or freed.
 */
static void
ipc_peer_read(struct ipc_peer *p)
{
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	size_t			 got = 0, left, want, cap;
	ssize_t			 n;
	uint32_t		 mlen;

	while (got < IPC_READ_BUDGET) {
		/* Keep the partial message at the front of the buffer. */
		left = p->p_inlen - p->p_inoff;
		if (p->p_inoff > 0) {
			memmove(p->p_in, p->p_in + p->p_inoff, left);
			p->p_inoff = 0;
			p->p_inlen = left;
		}
		/* Room for a chunk, or for the rest of a big message. */
		want = IPC_READ_CHUNK;
		if (left >= GW_IPC_HDRLEN) {
			/* The header was checked by ipc_decode(). */
			memcpy(&mlen, p->p_in +
			    offsetof(struct gw_msg_hdr, len), sizeof(mlen));
			if (mlen - left > want)
				want = mlen - left;
		}
		if (p->p_incap - left < want) {
			for (cap = IPC_READ_CHUNK; cap < left + want; cap *= 2)
				;
			if (cap > IPC_INMAX)
				cap = IPC_INMAX;
			p->p_in = xrealloc(p->p_in, cap);
			p->p_incap = cap;
		}

		n = read(p->p_fd, p->p_in + left, p->p_incap - left);
		if (n == 0) {
			ipc_peer_die(p, "peer closed");
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			ipc_peer_die(p, strerror(errno));
			return;
		}
		p->p_inlen += n;
		got += n;

		/* Every message this read completed, now. */
		for (;;) {
			n = ipc_decode(p->p_in + p->p_inoff,
			    p->p_inlen - p->p_inoff, &hdr, &rd);
			if (n == 0)
				break;
			if (n == -1) {
				ipc_peer_die(p, "bad message");
				return;
			}
			p->p_inoff += n;
			if (p->p_msgcb != NULL)
				p->p_msgcb(p, &hdr, &rd);
			if (p->p_freed || p->p_dead)
				return;
		}
	}

	/* Give back the memory of a big message once it is handled. */
	if (p->p_inoff == p->p_inlen) {
		p->p_inoff = p->p_inlen = 0;
		if (p->p_incap > IPC_READ_CHUNK) {
			free(p->p_in);
			p->p_in = NULL;
			p->p_incap = 0;
		}
	}
}

/*
 * Write as much of the queue as the socket takes, IPC_MAXIOV messages
 * per sendmsg().  Then wait for EV_WRITE if something is left, or stop
 * writing.  The caller holds p.
 */
static void
ipc_peer_flush(struct ipc_peer *p)
{
	struct iovec	 iov[IPC_MAXIOV];
	struct msghdr	 mh;
	struct ipc_msg	*m;
	size_t		 total, left;
	ssize_t		 n, sent;
	int		 niov;

	while (p->p_qhead != NULL) {
		total = 0;
		niov = 0;
		for (m = p->p_qhead; m != NULL && niov < IPC_MAXIOV;
		    m = m->m_next) {
			iov[niov].iov_base = m->m_buf + m->m_off;
			iov[niov].iov_len = m->m_len - m->m_off;
			total += iov[niov].iov_len;
			niov++;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = niov;
		n = sendmsg(p->p_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			ipc_peer_die(p, strerror(errno));
			return;
		}
		p->p_queued -= n;
		sent = n;
		while (n > 0 && (m = p->p_qhead) != NULL) {
			left = m->m_len - m->m_off;
			if ((size_t)n < left) {
				m->m_off += n;
				break;
			}
			n -= left;
			p->p_qhead = m->m_next;
			if (p->p_qhead == NULL)
				p->p_qtail = NULL;
			ipc_msg_free(m);
		}
		if ((size_t)sent < total)
			break;	/* a short write: the socket is full */
	}

	ev_prepare_stop(p->p_loop, &p->p_prep);
	ev_idle_stop(p->p_loop, &p->p_idle);
	if (p->p_qhead != NULL)
		ev_io_start(p->p_loop, &p->p_wio);
	else
		ev_io_stop(p->p_loop, &p->p_wio);
}

static void
ipc_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_peer	*p = w->data;

	(void)loop;
	(void)revents;
	p->p_inuse++;
	ipc_peer_read(p);
	(void)ipc_peer_release(p);
}

static void
ipc_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_peer	*p = w->data;

	(void)loop;
	(void)revents;
	p->p_inuse++;
	ipc_peer_flush(p);
	(void)ipc_peer_release(p);
}

static void
ipc_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct ipc_peer	*p = w->data;

	(void)loop;
	(void)revents;
	p->p_inuse++;
	ipc_peer_flush(p);
	(void)ipc_peer_release(p);
}

/* Only there to keep the loop from sleeping before p_prep runs. */
static void
ipc_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
}
