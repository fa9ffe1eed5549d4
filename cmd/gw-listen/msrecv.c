/*
 * msrecv.c -- the connections' reads through the ring's multishot
 * receives (uring.c): one request per upgraded connection, armed once,
 * whose completions bring what the client sends into buffers the
 * worker's connections share.  The completions are handed to the
 * connections' frames in order (conn_ms_drain()); a connection that
 * sends more than the read budget at once, and every connection where
 * the kernel has no such receives, is read through the loop's readiness
 * in batches instead (conn.c).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "uring.h"
#include "xmalloc.h"

static void	conn_ms_chunk(struct conn *, const uint8_t *, size_t);
static void	conn_ms_stop(struct conn *);

/*
 * The connections that receive through the ring's multishot requests
 * (uring_ms_*), by descriptor: a completion names only that.  A freed
 * connection's descriptor stays open until its request's last
 * completion, so that no new connection has it meanwhile.
 */
static struct conn	**ms_conn;
static size_t		 ms_cap;
#define CONN_MS_DRAIN	8192	/* completions handled a turn */

/*
 * c just upgraded: receive its frames through a multishot request of
 * the ring, if the ring has them, instead of the loop's readiness and a
 * read each time.
 */
void
conn_ms_start(struct conn *c)
{
	int	fd = c->c_io.fd;
	size_t	cap;

	if (!uring_ms_on())
		return;
	if ((size_t)fd >= ms_cap) {
		cap = ms_cap == 0 ? 1024 : ms_cap;
		while (cap <= (size_t)fd)
			cap *= 2;
		ms_conn = xrealloc(ms_conn, cap * sizeof(*ms_conn));
		memset(ms_conn + ms_cap, 0, (cap - ms_cap) * sizeof(*ms_conn));
		ms_cap = cap;
	}
	ms_conn[fd] = c;
	c->c_flags |= CONN_F_MS | CONN_F_MSARM;
	uring_ms_arm(fd);
	conn_update_events(c);
}

/*
 * c is being freed: forget its descriptor and, while its multishot
 * receive goes on, cancel that (conn_ms_drain() closes the descriptor at
 * the last completion).  Return value: 1 if the close is left to that,
 * 0 if the caller closes it now.
 */
int
conn_ms_close(struct conn *c)
{
	int	fd = c->c_io.fd;

	if (!(c->c_flags & CONN_F_MS))
		return 0;
	ms_conn[fd] = NULL;
	if ((c->c_flags & CONN_F_MSARM) && uring_ms_on()) {
		uring_ms_cancel(fd);
		return 1;
	}
	return 0;
}

/*
 * Handle what the multishot receives brought, in order, up to
 * CONN_MS_DRAIN completions (the rest at the next turn): each chunk to
 * its connection's frames, EOF and errors as a read's, and arm again a
 * request that ended (out of buffers).  A connection that sent more
 * than LISTEN_READ_BUDGET in one drain is read as the connections of
 * the batched path from then on (its receive cancelled, what comes
 * before the cancel's end kept in order, ws_hold()): its input waits
 * in its socket, a budget a turn, rather than be taken all at once
 * while its own answers pile up (a client that publishes a burst on
 * a channel it reads).
 */
void
conn_ms_drain(void)
{
	static struct conn *touched[CONN_MS_DRAIN];
	struct uring_ms	 m;
	struct conn	*c;
	int		 k = 0, nt = 0;

	while (k++ < CONN_MS_DRAIN && uring_ms_next(&m)) {
		c = (size_t)m.um_fd < ms_cap ? ms_conn[m.um_fd] : NULL;
		if (c == NULL) {
			/* Freed: the request's last words. */
			if (m.um_last)
				uring_ms_recycle((uint16_t)m.um_buf);
			if (!m.um_more)
				close(m.um_fd);
			continue;
		}
		if (m.um_res > 0 && m.um_buf >= 0) {
			if (c->c_rdturn == 0)
				touched[nt++] = c;
			conn_ms_chunk(c, m.um_data, (size_t)m.um_res);
			if (m.um_last)
				uring_ms_recycle((uint16_t)m.um_buf);
		}
		if (m.um_more)
			continue;
		c->c_flags &= ~CONN_F_MSARM;
		if (c->c_flags & CONN_F_MSOFF)
			conn_ms_stop(c);
		else if (m.um_res <= 0 && m.um_res != -ENOBUFS)
			conn_kill(c);	/* EOF, or an error: gone */
		else if (!(c->c_flags & CONN_F_DEAD)) {
			c->c_flags |= CONN_F_MSARM;
			uring_ms_arm(m.um_fd);
		}
	}
	while (nt > 0)
		touched[--nt]->c_rdturn = 0;
}

/* n bytes from c's multishot receive (conn_ms_drain()). */
static void
conn_ms_chunk(struct conn *c, const uint8_t *p, size_t n)
{
	/* At most CONN_MS_DRAIN chunks of URING_MS_BUFSZ: no overflow. */
	c->c_rdturn += (uint32_t)n;
	/* CLOSING: input is dropped until the EOF. */
	if (c->c_state != CONN_ST_WS || (c->c_flags & CONN_F_DEAD))
		return;
	if (c->c_flags & CONN_F_MSOFF) {
		ws_hold(c, p, n);
		return;
	}
	ws_read_with(c, p, n, 1);
	if (c->c_rdturn > LISTEN_READ_BUDGET && c->c_state == CONN_ST_WS &&
	    !(c->c_flags & CONN_F_DEAD) && (c->c_flags & CONN_F_MSARM)) {
		c->c_flags |= CONN_F_MSOFF;
		uring_ms_cancel(c->c_io.fd);
		uring_ms_count_off();
	}
}

/*
 * c's multishot receive has ended after conn_ms_chunk() cancelled it:
 * read c through the loop's readiness from now on, what was kept first.
 */
static void
conn_ms_stop(struct conn *c)
{
	ms_conn[c->c_io.fd] = NULL;
	c->c_flags &= ~(CONN_F_MS | CONN_F_MSOFF);
	if (c->c_flags & CONN_F_DEAD)
		return;
	conn_update_events(c);
	if (ws_pending(c))
		ev_feed_event(gl->l_loop, &c->c_io, EV_READ);
}

/*
 * Take the completions the ring has now and handle them: once per loop
 * iteration at most (a pong timeout's check, see ws_pong_expire()).
 */
void
conn_ms_poll(void)
{
	static ev_tstamp	polled;

	if (!uring_ms_on() || polled == ev_now(gl->l_loop))
		return;
	polled = ev_now(gl->l_loop);
	uring_ms_submit();
	conn_ms_drain();
}
