/*
 * conn.c -- a client connection's life: accept, the read dispatch, the
 * outbound queue of shared frames, the per-iteration flush, and closing.
 *
 * Nothing is freed inside a callback: conn_kill() marks the connection and
 * puts it on the reap list, and the loop's prepare watcher frees it (Redis
 * freeClientAsync), so that a fan-out loop never sees a member vanish.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "uring.h"
#include "xmalloc.h"

#define CONN_MAXIOV	64

static void	conn_io_cb(struct ev_loop *, ev_io *, int);
static void	conn_enqueue(struct conn *, struct obuf *, uint32_t);
static void	conn_flush(struct conn *);
static int	conn_flush_iov(struct conn *, struct iovec *);
static void	conn_flush_done(struct conn *, ssize_t);
static void	conn_flush_batch(int);
static void	conn_read_later(struct conn *);
static void	conn_free(struct conn *);
static void	conn_drain_input(struct conn *);

/* conn_flush_all()'s batch for the ring: a send per connection. */
static struct conn	*fl_conn[URING_BATCH];
static struct msghdr	 fl_msg[URING_BATCH];
static struct iovec	 fl_iov[URING_BATCH][CONN_MAXIOV];
static int		 fl_fd[URING_BATCH];
static int		 fl_res[URING_BATCH];
static ev_tstamp	 fl_now;	/* when the sends returned, or 0 */

/*
 * The connections found readable in this loop iteration (conn_read_all()
 * reads them together), and its batch: a buffer of CONN_RDBUF bytes per
 * connection, enough for the frames of an ordinary client (a pong is 6
 * bytes); a fuller socket is read on by ws_read_with().
 */
#define CONN_RDBUF	2048
static struct conn	**rd_list;
static size_t		 rd_n, rd_cap;
static struct conn	*rd_conn[URING_BATCH];
static int		 rd_fd[URING_BATCH];
static int		 rd_res[URING_BATCH];
static uint8_t		 rd_buf[URING_BATCH][CONN_RDBUF];


/* Take ownership of an accepted socket and wait for its request head. */
void
conn_accept(int fd)
{
	struct conn	*c;
	int		 on = 1;

	/* We gather writes ourselves: Nagle would only add latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c = xcalloc(1, sizeof(*c));
	ev_io_init(&c->c_io, conn_io_cb, fd, EV_READ);
	c->c_io.data = c;
	c->c_state = CONN_ST_HEAD;
	ev_io_start(gl->l_loop, &c->c_io);
	/* The head deadline is absolute: set once, never refreshed. */
	tlist_add(&gl->l_heads, c, ev_now(gl->l_loop));
	gl->l_nconns++;
	gl->l_served++;
}

/*
 * Allocate a shared buffer of len bytes with one reference, owned by the
 * caller until it is handed to conn_send() and released with obuf_unref().
 */
struct obuf *
obuf_new(size_t len)
{
	struct obuf	*ob;

	if (len > UINT32_MAX - sizeof(*ob))
		fatalx("obuf_new: %zu bytes", len);
	ob = xmalloc(sizeof(*ob) + len);
	ob->ob_ref = 1;
	ob->ob_len = len;
	ob->ob_chan = 0;
	return ob;
}

/*
 * Mark ob as the message of channel ch at offset off (offlen bytes), so
 * that a connection knows which offset it has got once ob is written.
 */
void
obuf_mark(struct obuf *ob, const struct chan *ch, const char *off,
    size_t offlen)
{
	if (offlen != LISTEN_OFFLEN)
		return;
	ob->ob_chan = ch->ch_serial;
	memcpy(ob->ob_off, off, LISTEN_OFFLEN);
}

/* Drop one reference; the last one frees the buffer. */
void
obuf_unref(struct obuf *ob)
{
	if (ob != NULL && --ob->ob_ref == 0)
		free(ob);
}

/*
 * Queue a frame on c, taking a new reference to ob (the caller keeps its
 * own).  It is written at the end of this loop iteration.  A connection
 * whose queue would pass max_outbound is failed with 1013 instead: one slow
 * reader never grows memory without bound.  Return value: 0 if queued, -1
 * if c does not take frames (closing, or just failed).
 */
int
conn_send(struct conn *c, struct obuf *ob)
{
	return conn_send_limit(c, ob, gl->l_conf->lc_maxout);
}

/*
 * conn_send() with another limit: the answer to a client's own request (a
 * replay, a history) may pass max_outbound by up to LISTEN_MAXREPLY, since
 * it is not a backlog of a slow reader but what it asked for.
 */
int
conn_send_limit(struct conn *c, struct obuf *ob, size_t limit)
{
	return conn_send_sub(c, ob, CONN_NOSUB, limit);
}

/*
 * conn_send_limit() for a message of c's subscription number sidx (or
 * CONN_NOSUB), so that writing it records its offset without a search.
 */
int
conn_send_sub(struct conn *c, struct obuf *ob, uint32_t sidx, size_t limit)
{
	if (c->c_state != CONN_ST_WS)
		return -1;
	/*
	 * An empty queue takes any one frame: a message over the limit (a
	 * gwctl publish may pass max_message) is not a slow consumer.
	 */
	if (c->c_outbytes > 0 && c->c_outbytes + (size_t)ob->ob_len > limit) {
		ws_close(c, 1013, "slow consumer: outbound queue full");
		return -1;
	}
	conn_enqueue(c, ob, sidx);
	return 0;
}

static void
conn_enqueue(struct conn *c, struct obuf *ob, uint32_t sidx)
{
	struct oq	*q;

	gst.st_frames_out++;
	if (ob->ob_chan != 0)
		gst.st_deliveries++;
	q = oq_get();
	q->oq_buf = ob;
	q->oq_sidx = sidx;
	ob->ob_ref++;
	if (c->c_otail != NULL)
		c->c_otail->oq_next = q;
	else
		c->c_ohead = q;
	c->c_otail = q;
	c->c_outbytes += ob->ob_len;
	if (!(c->c_flags & (CONN_F_FLUSH | CONN_F_WWAIT))) {
		c->c_flags |= CONN_F_FLUSH;
		c->c_fnext = gl->l_flush;
		gl->l_flush = c;
	}
}

/*
 * Queue bytes on c whatever its state and whatever the limit: the HTTP
 * response, and the close frame that ends a connection.
 */
void
conn_send_raw(struct conn *c, const void *p, size_t len)
{
	struct obuf	*ob;

	ob = obuf_new(len);
	memcpy(ob->ob_data, p, len);
	conn_enqueue(c, ob, CONN_NOSUB);
	obuf_unref(ob);
}

/*
 * Forget what c has queued, but for the frame being written, if any: its
 * tail must still go out or the stream would be corrupt.
 */
void
conn_drop_queue(struct conn *c)
{
	struct oq	*q, *keep = NULL;

	if (c->c_outoff > 0 && (keep = c->c_ohead) != NULL) {
		c->c_ohead = keep->oq_next;
		keep->oq_next = NULL;
	}
	while ((q = c->c_ohead) != NULL) {
		c->c_ohead = q->oq_next;
		obuf_unref(q->oq_buf);
		oq_put(q);
	}
	c->c_ohead = c->c_otail = keep;
	c->c_outbytes = keep != NULL ? keep->oq_buf->ob_len - c->c_outoff : 0;
}

/*
 * For every connection on the flush list: save its session if its
 * channels changed (session.c), then write what it has queued: with the
 * ring, up to URING_BATCH connections' sends in one system call
 * (uring.c), else one writev each.
 */
void
conn_flush_all(void)
{
	struct conn	*c;
	int		 n = 0, niov;

	while ((c = gl->l_flush) != NULL) {
		gl->l_flush = c->c_fnext;
		c->c_fnext = NULL;
		c->c_flags &= ~CONN_F_FLUSH;
		if (c->c_flags & CONN_F_DEAD)
			continue;
		if (c->c_sflags & CONN_S_DIRTY)
			sess_flush(c);
		if (!uring_on()) {
			conn_flush(c);
			continue;
		}
		if ((niov = conn_flush_iov(c, fl_iov[n])) == 0) {
			conn_flush_done(c, 0);
			continue;
		}
		memset(&fl_msg[n], 0, sizeof(fl_msg[n]));
		fl_msg[n].msg_iov = fl_iov[n];
		fl_msg[n].msg_iovlen = niov;
		fl_fd[n] = c->c_io.fd;
		fl_conn[n++] = c;
		if (n == URING_BATCH) {
			conn_flush_batch(n);
			n = 0;
		}
	}
	if (n > 0)
		conn_flush_batch(n);
}

/* Send the n connections' batch of conn_flush_all() through the ring. */
static void
conn_flush_batch(int n)
{
	int	i;

	uring_sendmsg_all(fl_fd, fl_msg, fl_res, n);
	fl_now = 0;
	for (i = 0; i < n; i++)
		if (!(fl_conn[i]->c_flags & CONN_F_DEAD))
			conn_flush_done(fl_conn[i], fl_res[i]);
}

/*
 * c is readable: read it with the others at the end of this loop
 * iteration (conn_read_all()).  libev calls a watcher once per
 * iteration, so c is listed once.
 */
static void
conn_read_later(struct conn *c)
{
	if (rd_n == rd_cap) {
		rd_cap = rd_cap == 0 ? 256 : rd_cap * 2;
		rd_list = xrealloc(rd_list, rd_cap * sizeof(*rd_list));
	}
	rd_list[rd_n++] = c;
}

/*
 * Read every connection found readable in this loop iteration, up to
 * URING_BATCH per system call (uring.c), and handle what came
 * (ws_read_with()).  Connections that died or began to close meanwhile
 * are left to their own read paths.
 */
void
conn_read_all(void)
{
	struct conn	*c;
	uint8_t		*bufs[URING_BATCH];
	size_t		 i, j;
	int		 k, n;

	for (i = 0; i < rd_n; i = j) {
		n = 0;
		for (j = i; j < rd_n && n < URING_BATCH; j++) {
			c = rd_list[j];
			if ((c->c_flags & CONN_F_DEAD) ||
			    c->c_state != CONN_ST_WS)
				continue;
			rd_conn[n] = c;
			rd_fd[n] = c->c_io.fd;
			bufs[n] = rd_buf[n];
			n++;
		}
		if (n == 0)
			continue;
		uring_recv_all(rd_fd, bufs, CONN_RDBUF, rd_res, n);
		for (k = 0; k < n; k++) {
			c = rd_conn[k];
			if ((c->c_flags & CONN_F_DEAD) ||
			    rd_res[k] == -EAGAIN || rd_res[k] == -EINTR)
				continue;
			if (rd_res[k] <= 0)
				/* EOF or an error: the read path finds it. */
				ws_read(c);
			else
				ws_read_with(c, rd_buf[k], rd_res[k],
				    rd_res[k] < CONN_RDBUF);
		}
	}
	rd_n = 0;
}

/*
 * Put c on the flush list, if it is not there yet, for work other than
 * writing (a session to save): conn_flush_all() sees it at the end of
 * this loop iteration.
 */
void
conn_schedule(struct conn *c)
{
	if (c->c_flags & CONN_F_FLUSH)
		return;
	c->c_flags |= CONN_F_FLUSH;
	c->c_fnext = gl->l_flush;
	gl->l_flush = c;
}

/*
 * One writev of up to LISTEN_WRITE_BUDGET bytes.  Whatever is left waits
 * for EV_WRITE (nginx: wev->ready = 0 after a short write).
 */
static void
conn_flush(struct conn *c)
{
	struct iovec	 iov[CONN_MAXIOV];
	ssize_t		 n = 0;
	int		 niov;

	if ((niov = conn_flush_iov(c, iov)) > 0 &&
	    (n = writev(c->c_io.fd, iov, niov)) == -1)
		n = -errno;
	fl_now = 0;
	conn_flush_done(c, n);
}

/*
 * Fill iov (CONN_MAXIOV entries) with what c has queued, up to
 * LISTEN_WRITE_BUDGET bytes; return the number of entries.
 */
static int
conn_flush_iov(struct conn *c, struct iovec *iov)
{
	struct oq	*q;
	size_t		 total = 0, off = c->c_outoff;
	int		 niov = 0;

	for (q = c->c_ohead; q != NULL && niov < CONN_MAXIOV &&
	    total < LISTEN_WRITE_BUDGET; q = q->oq_next) {
		iov[niov].iov_base = q->oq_buf->ob_data + off;
		iov[niov].iov_len = q->oq_buf->ob_len - off;
		total += iov[niov].iov_len;
		niov++;
		off = 0;
	}
	return niov;
}

/*
 * A write of c's queue returned n: bytes written, or -errno.  Drop what
 * was written, wait for EV_WRITE if some is left, half-close if all of a
 * closing connection's frames are out; an error other than EAGAIN kills c.
 */
static void
conn_flush_done(struct conn *c, ssize_t n)
{
	struct oq	*q;

	if (n == -EAGAIN || n == -EINTR)
		n = 0;
	else if (n < 0) {
		log_debug("conn %016llx: write: %s",
		    (unsigned long long)c->c_connid, strerror((int)-n));
		conn_kill(c);
		return;
	}
	if (n > 0)
		gst.st_bytes_out += n;
	while (n > 0 && (q = c->c_ohead) != NULL) {
		size_t left = q->oq_buf->ob_len - c->c_outoff;

		if ((size_t)n < left) {
			c->c_outoff += n;
			c->c_outbytes -= n;
			break;
		}
		n -= left;
		c->c_outbytes -= left;
		c->c_outoff = 0;
		c->c_ohead = q->oq_next;
		if (c->c_ohead == NULL)
			c->c_otail = NULL;
		if (q->oq_buf->ob_chan != 0)
			sess_sent(c, q->oq_buf, q->oq_sidx);
		else if (ws_is_ping(q->oq_buf) &&
		    c->c_tlist == &gl->l_pinged) {
			/*
			 * The ping is out only now, maybe a long turn after
			 * the timer queued it: the pong's time starts here.
			 */
			if (fl_now == 0)
				fl_now = ev_time();
			tlist_add(&gl->l_pinged, c, fl_now);
		}
		obuf_unref(q->oq_buf);
		oq_put(q);
	}
	if (c->c_ohead != NULL)
		c->c_flags |= CONN_F_WWAIT;
	else {
		c->c_flags &= ~CONN_F_WWAIT;
		if (c->c_sflags & CONN_S_LATE)	/* its save waited for this */
			sess_closed_late(c);
		if (c->c_flags & CONN_F_SHUTWR) {
			/* All sent: half-close, then read until EOF. */
			c->c_flags &= ~CONN_F_SHUTWR;
			(void)shutdown(c->c_io.fd, SHUT_WR);
		}
	}
	conn_update_events(c);
}

/*
 * Set the watcher's mask from what c waits for: reading, unless paused
 * (CONN_F_RPAUSE), and writing while bytes wait.  With neither, the
 * watcher is stopped.
 */
void
conn_update_events(struct conn *c)
{
	int	ev = (c->c_flags & (CONN_F_RPAUSE | CONN_F_MS)) ? 0 : EV_READ;

	if (c->c_flags & CONN_F_DEAD)
		return;
	if (c->c_flags & CONN_F_WWAIT)
		ev |= EV_WRITE;
	if ((c->c_io.events & (EV_READ | EV_WRITE)) == ev)
		return;
	ev_io_stop(gl->l_loop, &c->c_io);
	ev_io_set(&c->c_io, c->c_io.fd, ev);
	if (ev != 0)
		ev_io_start(gl->l_loop, &c->c_io);
}

/*
 * Stop taking frames on c, send what is queued, half-close, and wait up to
 * LISTEN_CLOSE_TIMEOUT for the peer's EOF (a lingering close: closing at
 * once could reset the connection and lose the last frames).
 */
void
conn_close_after_flush(struct conn *c)
{
	if (c->c_state == CONN_ST_CLOSING || (c->c_flags & CONN_F_DEAD))
		return;
	c->c_state = CONN_ST_CLOSING;
	c->c_flags |= CONN_F_SHUTWR;
	tlist_add(&gl->l_closing, c, ev_now(gl->l_loop));
	if (!(c->c_flags & (CONN_F_FLUSH | CONN_F_WWAIT))) {
		c->c_flags |= CONN_F_FLUSH;
		c->c_fnext = gl->l_flush;
		gl->l_flush = c;
	}
	if (!(c->c_flags & CONN_F_REAP)) {
		/* Leave the channels at the end of this iteration. */
		c->c_flags |= CONN_F_REAP;
		c->c_rnext = gl->l_reap;
		gl->l_reap = c;
	}
}

/* Close c now, without a goodbye; it is freed at the end of the iteration. */
void
conn_kill(struct conn *c)
{
	if (c->c_flags & CONN_F_DEAD)
		return;
	c->c_flags |= CONN_F_DEAD;
	ev_io_stop(gl->l_loop, &c->c_io);
	tlist_remove(c);
	if (!(c->c_flags & CONN_F_REAP)) {
		c->c_flags |= CONN_F_REAP;
		c->c_rnext = gl->l_reap;
		gl->l_reap = c;
	}
}

/*
 * Do the deferred work of every connection on the reap list: leave its
 * channels, and free it if it is dead.  Leaving may fail other
 * connections, which join the list: loop until it is empty.
 */
void
conn_reap_all(void)
{
	struct conn	*c;

	/*
	 * Reads put off (conn_read_later()) that conn_read_all() did not
	 * make are forgotten, not lost: the loop's readiness is level-
	 * triggered and tells of those sockets again.  No pointer to a
	 * connection freed below stays behind.
	 */
	rd_n = 0;
	while ((c = gl->l_reap) != NULL) {
		gl->l_reap = c->c_rnext;
		c->c_rnext = NULL;
		c->c_flags &= ~CONN_F_REAP;
		if (c->c_state != CONN_ST_HEAD)
			sess_closed(c);
		if (c->c_nsubs > 0)
			client_leave_all(c);
		if (c->c_flags & CONN_F_DEAD)
			conn_free(c);
	}
}

static void
conn_free(struct conn *c)
{
	struct oq	*q;
	struct conn	**pp;

	if (c->c_flags & CONN_F_FLUSH) {
		for (pp = &gl->l_flush; *pp != NULL; pp = &(*pp)->c_fnext)
			if (*pp == c) {
				*pp = c->c_fnext;
				break;
			}
	}
	tlist_remove(c);
	ev_io_stop(gl->l_loop, &c->c_io);
	if (!conn_ms_close(c))
		close(c->c_io.fd);
	sess_closed_late(c);	/* with what was written of its queue */
	while ((q = c->c_ohead) != NULL) {
		c->c_ohead = q->oq_next;
		obuf_unref(q->oq_buf);
		oq_put(q);
	}
	if (c->c_state == CONN_ST_HEAD)
		handshake_free(c);
	else
		ws_free(c);
	client_forget(c);
	limit_release(c);
	expiry_remove(c);
	ident_free(c->c_id);
	free(c->c_subs);
	free(c);
	/* The last one: idle queue entries serve nobody (and exit is near). */
	if (--gl->l_nconns == 0)
		(void)oq_drain();
}

/* The peer spoke: it is alive.  Move it to the back of the live list. */
void
conn_touch(struct conn *c)
{
	if (c->c_state == CONN_ST_WS)
		tlist_add(&gl->l_live, c, ev_now(gl->l_loop));
}

/* Closing: read and discard until EOF, a bounded amount per event. */
static void
conn_drain_input(struct conn *c)
{
	char	buf[4096];
	ssize_t	n;
	int	i;

	for (i = 0; i < LISTEN_READ_BUDGET / (int)sizeof(buf); i++) {
		n = read(c->c_io.fd, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_kill(c);
		return;
	}
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn	*c = w->data;

	(void)loop;
	if (revents & EV_WRITE) {
		c->c_flags &= ~CONN_F_WWAIT;
		conn_flush(c);
		if (c->c_flags & CONN_F_DEAD)
			return;
	}
	if (!(revents & EV_READ))
		return;
	switch (c->c_state) {
	case CONN_ST_HEAD:
		handshake_read(c);
		break;
	case CONN_ST_WS:
		if (uring_on() && !ws_pending(c) && !(c->c_flags & CONN_F_MS))
			conn_read_later(c);
		else
			ws_read(c);
		break;
	case CONN_ST_CLOSING:
		conn_drain_input(c);
		break;
	}
}
