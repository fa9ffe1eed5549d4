/*
 * ipc_peer.c -- see ipc.h and gw-ipc(7): the peers that read and write
 * messages on Unix-domain sockets (sockets: ipc_sock.c, messages: ipc.c).
 *
 * A peer owns a connected socket, an input buffer and an output queue of
 * closed messages.  Reading: each EV_READ event reads at most
 * IPC_READ_BUDGET bytes, and after every read() the messages it
 * completed are all handed to the callback, so no complete message is
 * ever left waiting in the buffer for bytes that may never come; what
 * is left in the socket wakes EV_READ (level-triggered) again on the
 * next loop iteration, after the other watchers had their turn.
 *
 * Writing: ipc_send() only queues.  While the socket is full (the peer
 * reads slower than we write), a message is copied into a block of
 * IPC_BLOCK bytes mapped for the queue, after the messages before it,
 * rather than queued as an allocation of its own: a backlog of many
 * small messages then lives outside the heap, and goes back to the
 * system as its blocks are written, instead of leaving holes between
 * the long-lived allocations made meanwhile (a worker's connections).
 *
 * The queue is written by the peer's ev_prepare watcher, that is once per
 * loop iteration just before the loop sleeps, with one sendmsg() of up to
 * IPC_MAXIOV messages or blocks (more only if the socket took all of
 * them); a short write or EAGAIN stops the prepare watcher and waits for
 * EV_WRITE.  sendmsg() with MSG_NOSIGNAL means a closed peer gives EPIPE,
 * never SIGPIPE.
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

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

#define IPC_READ_CHUNK	(64 * 1024)	/* least room for a read() */
#define IPC_READ_BUDGET	(256 * 1024)	/* read per EV_READ event */
#define IPC_INMAX	((size_t)GW_IPC_MAXMSG + IPC_READ_CHUNK)
#define IPC_BLOCK	(256 * 1024)	/* a block of queued messages */

#if defined(IOV_MAX) && IOV_MAX < 1024
#define IPC_MAXIOV	IOV_MAX
#else
#define IPC_MAXIOV	1024
#endif

struct ipc_peer {
	struct ev_loop	*p_loop;
	int		 p_fd;
	ev_io		 p_rio;		/* on while alive, not paused */
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

	int		 p_paused;	/* not read: ipc_peer_pause() */
	int		 p_inuse;	/* library frames holding p */
	int		 p_dead;	/* closecb was called */
	int		 p_freed;	/* ipc_peer_free() called */
};
static void	ipc_peer_stop(struct ipc_peer *);
static void	ipc_peer_queue_free(struct ipc_peer *);
static int	ipc_peer_pack(struct ipc_peer *, struct ipc_msg *);
static void	ipc_peer_append(struct ipc_peer *, struct ipc_msg *);
static void	ipc_peer_destroy(struct ipc_peer *);
static int	ipc_peer_release(struct ipc_peer *);
static void	ipc_peer_die(struct ipc_peer *, const char *);
static void	ipc_peer_read(struct ipc_peer *);
static int	ipc_peer_dispatch(struct ipc_peer *);
static void	ipc_peer_flush(struct ipc_peer *);
static void	ipc_read_cb(struct ev_loop *, ev_io *, int);
static void	ipc_write_cb(struct ev_loop *, ev_io *, int);
static void	ipc_prepare_cb(struct ev_loop *, ev_prepare *, int);
static void	ipc_idle_cb(struct ev_loop *, ev_idle *, int);

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
	p->p_queued += m->m_len;
	if (ev_is_active(&p->p_wio) && ipc_peer_pack(p, m) == 0)
		return 0;	/* the socket is full; the prepare is off */
	m->m_off = 0;
	ipc_peer_append(p, m);
	if (!ev_is_active(&p->p_wio) && !ev_is_active(&p->p_prep)) {
		ev_prepare_start(p->p_loop, &p->p_prep);
		ev_idle_start(p->p_loop, &p->p_idle);
	}
	return 0;
}

/* Put m at the tail of p's output queue. */
static void
ipc_peer_append(struct ipc_peer *p, struct ipc_msg *m)
{
	m->m_next = NULL;
	if (p->p_qtail == NULL)
		p->p_qhead = m;
	else
		p->p_qtail->m_next = m;
	p->p_qtail = m;
}

/*
 * Copy m into the block at the tail of p's queue, or into a new one, and
 * free m.  Return value: 0, or -1 (m untouched) if m is too big for a
 * block or no block could be mapped: the caller queues m itself.
 */
static int
ipc_peer_pack(struct ipc_peer *p, struct ipc_msg *m)
{
	struct ipc_msg	*b = p->p_qtail;
	void		*mem;

	if (m->m_len > IPC_BLOCK / 4)
		return -1;
	if (b == NULL || !b->m_block || b->m_cap - b->m_len < m->m_len) {
		mem = mmap(NULL, IPC_BLOCK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return -1;
		b = xcalloc(1, sizeof(*b));
		b->m_buf = mem;
		b->m_cap = IPC_BLOCK;
		b->m_block = 1;
		ipc_peer_append(p, b);
	}
	memcpy(b->m_buf + b->m_len, m->m_buf, m->m_len);
	b->m_len += m->m_len;
	ipc_msg_free(m);
	return 0;
}

/*
 * Stop reading p (on non-zero) or read it again: the owner's way to push
 * back on a peer that sends more than it can serve.  Messages already
 * read are still handed over; the rest wait in the socket, then in the
 * sender's queue (GW_IPC_MAXQUEUE).
 */
void
ipc_peer_pause(struct ipc_peer *p, int on)
{
	if (p->p_dead || p->p_freed || p->p_paused == (on != 0))
		return;
	p->p_paused = on != 0;
	if (p->p_paused)
		ev_io_stop(p->p_loop, &p->p_rio);
	else
		ev_io_start(p->p_loop, &p->p_rio);
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
 * Hand every complete message in p's input to msgcb.  Return value: 0,
 * or -1 if p is dead or freed (a bad message kills it).
 */
static int
ipc_peer_dispatch(struct ipc_peer *p)
{
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	ssize_t			 n;

	for (;;) {
		n = ipc_decode(p->p_in + p->p_inoff, p->p_inlen - p->p_inoff,
		    &hdr, &rd);
		if (n == 0)
			return 0;
		if (n == -1) {
			ipc_peer_die(p, "bad message");
			return -1;
		}
		p->p_inoff += n;
		if (p->p_msgcb != NULL)
			p->p_msgcb(p, &hdr, &rd);
		if (p->p_freed || p->p_dead)
			return -1;
	}
}

/*
 * Read up to IPC_READ_BUDGET bytes and hand every complete message to
 * msgcb.  The caller holds p; return as soon as p is dead or freed.
 */
static void
ipc_peer_read(struct ipc_peer *p)
{
	size_t			 got = 0, left, want, cap;
	ssize_t			 n;
	uint32_t		 mlen;

	while (got < IPC_READ_BUDGET && !p->p_paused) {
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

		/*
		 * At most a chunk (or the rest of a big message), whatever
		 * the room: what one read() completes is handed over whole,
		 * even once the owner pauses p, so a read is what a pause
		 * can let through after it.
		 */
		n = read(p->p_fd, p->p_in + left, want);
		if (n == 0) {
			/* Cut short: say so, the owner logs other ends. */
			ipc_peer_die(p, left > 0 ?
			    "peer closed in the middle of a message" :
			    "peer closed");
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
		if (ipc_peer_dispatch(p) == -1)
			return;
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
