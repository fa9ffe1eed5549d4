/*
 * ws.c -- WebSocket framing for gw-listen, through wslay's frame API.
 *
 * Memory is the constraint here: a node must hold a million idle
 * connections at under 2 KiB each, and a wslay frame context is over 4 KiB.
 * So a connection holds its reading state (struct conn_rx, with the wslay
 * context and its 4 KiB input buffer) only while a frame or a fragmented
 * message is in progress; at rest it goes back to a small pool.  We know
 * when wslay is at rest because we count the bytes we feed it and the
 * bytes it hands back (frame header and payload).
 *
 * wslay reports protocol errors in the frame header (a fragmented or long
 * control frame, a bad length) as WSLAY_ERR_PROTO; the rest of RFC 6455's
 * rules are checked here, and every failure sends a close frame with the
 * code of PROTOCOL.md before the TCP connection ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wslay/wslay.h>

#include "listen.h"
#include "log.h"
#include "utf8.h"
#include "xmalloc.h"

#define WS_OP_CONT	0x0
#define WS_OP_TEXT	0x1
#define WS_OP_BINARY	0x2
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9
#define WS_OP_PONG	0xa

#define WS_POOLMAX	256	/* idle reading states kept for reuse */
#define WS_MAXHDR	14	/* bytes of the longest frame header */
#define WS_LEN_UNKNOWN	UINT64_MAX

struct conn_rx {
	wslay_frame_context_ptr	 rx_ctx;
	struct conn_rx		*rx_next;	/* pool */
	uint8_t			*rx_pend;	/* bytes that came with the head */
	size_t			 rx_pendoff;
	size_t			 rx_pendlen;
	size_t			 rx_buffered;	/* bytes fed to wslay, not yet
						   handed back */
	uint64_t		 rx_fgot;	/* payload seen of this frame */
	uint8_t			 rx_infr;	/* a frame is in progress */
	uint8_t			 rx_mop;	/* opcode of the fragmented
						   message in progress, or 0 */
	uint8_t			 rx_ctllen;
	uint32_t		 rx_utf8;
	uint8_t			*rx_msg;
	size_t			 rx_msglen;
	size_t			 rx_msgcap;
	uint8_t			 rx_ctl[125];
	uint8_t			 rx_tail[14];	/* last bytes fed to wslay */
};

static struct conn_rx	*ws_pool;
static int		 ws_npool;
static struct conn	*ws_cur;	/* the connection being read */
static size_t		 ws_budget;
static size_t		 ws_got;	/* bytes wslay took this event */
static int		 ws_eof;
static int		 ws_drained;	/* a read returned less than asked */
static const uint8_t	*ws_pre;	/* read already (ws_read_with()) */
static size_t		 ws_prelen;
static wslay_frame_context_ptr ws_enc;	/* encodes our frames */
static struct obuf	*ws_out;
static size_t		 ws_outlen;
static struct obuf	*ws_ping;	/* the one ping frame, shared */

static ssize_t	ws_recv_cb(uint8_t *, size_t, int, void *);
static ssize_t	ws_send_cb(const uint8_t *, size_t, int, void *);
static int	ws_genmask_cb(uint8_t *, size_t, void *);
static struct conn_rx *ws_rx_get(void);
static void	ws_rx_put(struct conn_rx *);
static int	ws_rx_idle(const struct conn_rx *);
static int	ws_chunk(struct conn *, struct conn_rx *,
		    const struct wslay_frame_iocb *);
static int	ws_frame_start(struct conn *, struct conn_rx *,
		    const struct wslay_frame_iocb *);
static int	ws_frame_check(struct conn *, struct conn_rx *, int, int, int,
		    uint64_t);
static void	ws_peek_header(struct conn *, struct conn_rx *);
static void	ws_keep_tail(struct conn_rx *, const uint8_t *, size_t);
static void	ws_keep(struct conn *, const uint8_t *, size_t);
static void	ws_control(struct conn *, struct conn_rx *, int);
static int	ws_token_expired(struct conn *);

static const struct wslay_frame_callbacks ws_callbacks = {
	ws_send_cb, ws_recv_cb, ws_genmask_cb
};

/*
 * wslay asks for bytes: give it what came with the head first, then what
 * conn_read_all() read already (ws_read_with()), then read the socket, at
 * most ws_budget bytes per event.  wslay turns any return <= 0 into
 * WSLAY_ERR_WANT_READ, so EOF is noted on the side.  A read that returned
 * less than asked emptied the socket: the next one would only fail with
 * EAGAIN (a syscall per event for nothing, a pong's cost doubled), so it
 * is not made; the loop's readiness is level-triggered and tells us of
 * whatever comes later, EOF included.
 */
static ssize_t
ws_recv_cb(uint8_t *buf, size_t len, int flags, void *arg)
{
	struct conn	*c = ws_cur;
	struct conn_rx	*rx = c->c_rx;
	ssize_t		 n;

	(void)flags;
	(void)arg;
	if (rx->rx_pend != NULL) {
		/* Came with the head: not in bytes_in, as the head is not. */
		n = rx->rx_pendlen - rx->rx_pendoff;
		if ((size_t)n > len)
			n = len;
		memcpy(buf, rx->rx_pend + rx->rx_pendoff, n);
		rx->rx_pendoff += n;
		if (rx->rx_pendoff == rx->rx_pendlen) {
			free(rx->rx_pend);
			rx->rx_pend = NULL;
		}
		goto took;
	}
	if (ws_pre != NULL) {
		n = ws_prelen;
		if ((size_t)n > len)
			n = len;
		memcpy(buf, ws_pre, n);
		ws_pre += n;
		if ((ws_prelen -= n) == 0)
			ws_pre = NULL;
	} else {
		if (ws_budget == 0 || len == 0 || ws_drained)
			return -1;
		if (len > ws_budget)
			len = ws_budget;
		if ((n = read(c->c_io.fd, buf, len)) <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				ws_eof = 1;
			return -1;
		}
		if ((size_t)n < len)
			ws_drained = 1;
	}
	gst.st_bytes_in += n;
	ws_budget -= (size_t)n < ws_budget ? (size_t)n : ws_budget;
took:
	rx->rx_buffered += n;
	ws_got += n;
	ws_keep_tail(rx, buf, n);
	return n;
}

/* Encoding our own frames: wslay writes them into ws_out. */
static ssize_t
ws_send_cb(const uint8_t *data, size_t len, int flags, void *arg)
{
	(void)flags;
	(void)arg;
	if (ws_outlen + len > ws_out->ob_len)
		return -1;
	memcpy(ws_out->ob_data + ws_outlen, data, len);
	ws_outlen += len;
	return len;
}

static int
ws_genmask_cb(uint8_t *buf, size_t len, void *arg)
{
	(void)arg;
	memset(buf, 0, len);	/* servers do not mask */
	return 0;
}

/*
 * Build one unmasked, final frame with the given opcode and payload.  The
 * buffer is returned with one reference, owned by the caller, and may be
 * queued on any number of connections.
 */
struct obuf *
ws_frame(int opcode, const void *p, size_t len)
{
	struct wslay_frame_iocb	 iocb;
	struct obuf		*ob;
	size_t			 hdr;
	ssize_t			 r;

	if (ws_enc == NULL &&
	    wslay_frame_context_init(&ws_enc, &ws_callbacks, NULL) != 0)
		fatalx("wslay_frame_context_init");
	hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
	ob = obuf_new(hdr + len);
	memset(&iocb, 0, sizeof(iocb));
	iocb.fin = 1;
	iocb.opcode = opcode;
	iocb.payload_length = len;
	iocb.data = p;
	iocb.data_length = len;
	ws_out = ob;
	ws_outlen = 0;
	r = wslay_frame_send(ws_enc, &iocb);
	if (r < 0 || (size_t)r != len || ws_outlen != hdr + len)
		fatalx("ws_frame: wslay_frame_send %zd", r);
	ws_out = NULL;
	return ob;
}

static struct conn_rx *
ws_rx_get(void)
{
	struct conn_rx	*rx;

	if ((rx = ws_pool) != NULL) {
		ws_pool = rx->rx_next;
		ws_npool--;
		rx->rx_next = NULL;
		return rx;
	}
	rx = xcalloc(1, sizeof(*rx));
	if (wslay_frame_context_init(&rx->rx_ctx, &ws_callbacks, NULL) != 0)
		fatalx("wslay_frame_context_init");
	return rx;
}

/*
 * Is rx at rest: no frame, no fragmented message, nothing buffered?  Then
 * its wslay context is as good as new and can serve another connection.
 */
static int
ws_rx_idle(const struct conn_rx *rx)
{
	return !rx->rx_infr && rx->rx_mop == 0 && rx->rx_buffered == 0 &&
	    rx->rx_pend == NULL;
}

static void
ws_rx_put(struct conn_rx *rx)
{
	int	idle = ws_rx_idle(rx);

	free(rx->rx_msg);
	free(rx->rx_pend);
	if (!idle || ws_npool >= WS_POOLMAX) {
		wslay_frame_context_free(rx->rx_ctx);
		free(rx);
		return;
	}
	memset((char *)rx + sizeof(rx->rx_ctx), 0,
	    sizeof(*rx) - sizeof(rx->rx_ctx));
	rx->rx_next = ws_pool;
	ws_pool = rx;
	ws_npool++;
}

/*
 * The connection just upgraded; p and len are the bytes the client sent
 * after its request head, kept for the first read.
 */
void
ws_start(struct conn *c, const char *p, size_t len)
{
	c->c_rx = NULL;
	if (len == 0)
		return;
	ws_keep(c, (const uint8_t *)p, len);
	/* No read event may come for bytes we already hold. */
	ev_feed_event(gl->l_loop, &c->c_io, EV_READ);
}

/*
 * At exit: free the pool, the encoder and the ping frame, so that leak
 * checkers see none.
 */
void
ws_cleanup(void)
{
	struct conn_rx	*rx;

	obuf_unref(ws_ping);
	ws_ping = NULL;
	while ((rx = ws_pool) != NULL) {
		ws_pool = rx->rx_next;
		wslay_frame_context_free(rx->rx_ctx);
		free(rx);
	}
	ws_npool = 0;
	if (ws_enc != NULL)
		wslay_frame_context_free(ws_enc);
	ws_enc = NULL;
}

/* Release the reading state of a connection being freed. */
void
ws_free(struct conn *c)
{
	if (c->c_rx != NULL)
		ws_rx_put(c->c_rx);
	c->c_rx = NULL;
}

/*
 * Does c hold bytes that came with its head, not handled yet?  They are
 * in no socket: a read put off for the ring would find nothing.
 */
int
ws_pending(const struct conn *c)
{
	return c->c_rx != NULL && c->c_rx->rx_pend != NULL;
}

/*
 * Keep n bytes the client sent, to be handled after those kept before
 * (ws_read() takes them first): a multishot receive's chunks that came
 * after c was switched to the loop's readiness (conn_ms_drain()).
 */
void
ws_hold(struct conn *c, const uint8_t *p, size_t n)
{
	ws_keep(c, p, n);
	gst.st_bytes_in += n;	/* read now, handled as the head's are */
}

/* Append n bytes to c's bytes held for ws_read() (rx_pend). */
static void
ws_keep(struct conn *c, const uint8_t *p, size_t n)
{
	struct conn_rx	*rx;

	if (c->c_rx == NULL)
		c->c_rx = ws_rx_get();
	rx = c->c_rx;
	rx->rx_pend = xrealloc(rx->rx_pend, rx->rx_pendlen + n);
	memcpy(rx->rx_pend + rx->rx_pendlen, p, n);
	rx->rx_pendlen += n;
}

/* Read and handle what the client sent, within the read budget. */
void
ws_read(struct conn *c)
{
	/* With a multishot receive, what the socket holds comes from it. */
	ws_read_with(c, NULL, 0, (c->c_flags & CONN_F_MS) != 0);
}

/*
 * Handle what the client sent: first the n bytes at pre that were read
 * from its socket already (conn_read_all()), all it had if drained is
 * set, then what reads of the socket bring, within the read budget.
 * What is left of pre when c stops taking frames (it closes) is dropped,
 * as its socket's input then is.
 */
void
ws_read_with(struct conn *c, const uint8_t *pre, size_t n, int drained)
{
	struct wslay_frame_iocb	 iocb;
	struct conn_rx		*rx;
	ssize_t			 r;

	if (c->c_rx == NULL)
		c->c_rx = ws_rx_get();
	rx = c->c_rx;
	ws_cur = c;
	ws_budget = LISTEN_READ_BUDGET;
	ws_got = 0;
	ws_eof = 0;
	ws_drained = drained;
	ws_pre = n > 0 ? pre : NULL;
	ws_prelen = n;
	/* Bounded: every chunk consumes input, and input is budgeted. */
	while (c->c_state == CONN_ST_WS) {
		r = wslay_frame_recv(rx->rx_ctx, &iocb);
		if (r == WSLAY_ERR_WANT_READ)
			break;
		if (r < 0) {
			ws_close(c, r == WSLAY_ERR_PROTO ? 1002 : 1011,
			    r == WSLAY_ERR_PROTO ? "protocol error" :
			    "internal error");
			break;
		}
		if (ws_chunk(c, rx, &iocb) == -1)
			break;
	}
	ws_cur = NULL;
	ws_pre = NULL;
	if (c->c_state == CONN_ST_WS) {
		if (ws_eof)
			/* Gone without a close frame: nobody to say goodbye. */
			conn_kill(c);
		else if (ws_got == 0 || !ws_token_expired(c)) {
			/* Anything it sent, a pong too: alive, token good. */
			if (ws_got > 0)
				conn_touch(c);
			ws_peek_header(c, rx);
		}
	}
	/*
	 * Give the reading state back at rest, and as soon as no frame will
	 * be read again (closing: conn_drain_input(); or dead), whatever it
	 * holds: kept until the peer's EOF, a mass close held one each, and
	 * the pool ran dry.
	 */
	if (c->c_state != CONN_ST_WS || (c->c_flags & CONN_F_DEAD) ||
	    ws_rx_idle(rx)) {
		ws_rx_put(rx);
		c->c_rx = NULL;
	}
}

/* Remember the last bytes fed to wslay: they hold a pending frame header. */
static void
ws_keep_tail(struct conn_rx *rx, const uint8_t *p, size_t n)
{
	if (n >= WS_MAXHDR) {
		memcpy(rx->rx_tail, p + n - WS_MAXHDR, WS_MAXHDR);
		return;
	}
	memmove(rx->rx_tail, rx->rx_tail + n, WS_MAXHDR - n);
	memcpy(rx->rx_tail + WS_MAXHDR - n, p, n);
}

/*
 * wslay hands a frame back only with its first payload byte, but a header
 * that announces a 1 TiB frame, or an unmasked one, must be refused at
 * once, not when (if ever) the payload comes.  When wslay waits for more
 * between frames, what it holds is exactly the next header, the last
 * rx_buffered bytes we fed it: check them.
 */
static void
ws_peek_header(struct conn *c, struct conn_rx *rx)
{
	const uint8_t	*h;
	uint64_t	 len = WS_LEN_UNKNOWN;
	size_t		 n = rx->rx_buffered, i;

	if (rx->rx_infr || n < 2 || n > WS_MAXHDR)
		return;
	h = rx->rx_tail + WS_MAXHDR - n;
	if ((h[1] & 0x7f) < 126)
		len = h[1] & 0x7f;
	else if ((h[1] & 0x7f) == 126 && n >= 4)
		len = (uint64_t)h[2] << 8 | h[3];
	else if ((h[1] & 0x7f) == 127 && n >= 10) {
		for (len = 0, i = 2; i < 10; i++)
			len = len << 8 | h[i];
		if (len >> 63)
			len = WS_LEN_UNKNOWN;	/* wslay says 1002 */
	}
	(void)ws_frame_check(c, rx, (h[0] >> 4) & 7, h[0] & 0xf, h[1] >> 7,
	    len);
}

/*
 * Check what RFC 6455 and our limits say of a frame header: rsv, opcode,
 * mask bit and payload length (WS_LEN_UNKNOWN if not read yet).  Return
 * value: 0 if acceptable, -1 after failing the connection.
 */
static int
ws_frame_check(struct conn *c, struct conn_rx *rx, int rsv, int opcode,
    int mask, uint64_t len)
{
	size_t	room = gl->l_conf->lc_maxmsg;

	if (!mask) {
		ws_close(c, 1002, "unmasked client frame");
		return -1;
	}
	if (rsv != 0) {
		ws_close(c, 1002, "reserved bits set");
		return -1;
	}
	switch (opcode) {
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		return 0;	/* wslay checks fin and length */
	case WS_OP_BINARY:
		if (rx->rx_mop != 0)
			break;
		ws_close(c, 1003, "binary frames are not accepted");
		return -1;
	case WS_OP_TEXT:
		if (rx->rx_mop != 0)
			break;
		if (len != WS_LEN_UNKNOWN && len > room) {
			ws_close(c, 1009, "message too big");
			return -1;
		}
		return 0;
	case WS_OP_CONT:
		if (rx->rx_mop == 0) {
			ws_close(c, 1002, "continuation without a message");
			return -1;
		}
		if (len != WS_LEN_UNKNOWN && len > room - rx->rx_msglen) {
			ws_close(c, 1009, "message too big");
			return -1;
		}
		return 0;
	default:
		ws_close(c, 1002, "reserved opcode");
		return -1;
	}
	ws_close(c, 1002, "new message inside a fragmented one");
	return -1;
}

/* The first piece of a frame: check its header and start it. */
static int
ws_frame_start(struct conn *c, struct conn_rx *rx,
    const struct wslay_frame_iocb *f)
{
	uint64_t	pl = f->payload_length;
	size_t		hdr;

	hdr = 2 + (pl >= 65536 ? 8 : pl >= 126 ? 2 : 0) + (f->mask ? 4 : 0);
	rx->rx_buffered -= hdr;
	rx->rx_infr = 1;
	rx->rx_fgot = 0;
	rx->rx_ctllen = 0;
	if (ws_frame_check(c, rx, f->rsv, f->opcode, f->mask, pl) == -1)
		return -1;
	if (f->opcode == WS_OP_TEXT) {
		rx->rx_msglen = 0;
		rx->rx_utf8 = UTF8_ACCEPT;
		if (!f->fin)
			rx->rx_mop = WS_OP_TEXT;
	}
	return 0;
}

/*
 * Handle one piece of a frame from wslay.  Return value: 0 to go on, -1
 * when the connection failed.
 */
static int
ws_chunk(struct conn *c, struct conn_rx *rx, const struct wslay_frame_iocb *f)
{
	size_t	n = f->data_length;
	int	direct;

	if (!rx->rx_infr && ws_frame_start(c, rx, f) == -1)
		return -1;
	rx->rx_buffered -= n;
	rx->rx_fgot += n;
	if (f->opcode >= WS_OP_CLOSE) {
		memcpy(rx->rx_ctl + rx->rx_ctllen, f->data, n);
		rx->rx_ctllen += n;
		if (rx->rx_fgot == f->payload_length) {
			rx->rx_infr = 0;
			ws_control(c, rx, f->opcode);
		}
		return c->c_state == CONN_ST_WS ? 0 : -1;
	}

	/* A text message, whole or in pieces: fail fast on bad UTF-8. */
	if ((rx->rx_utf8 = utf8_feed(rx->rx_utf8, f->data, n)) == UTF8_REJECT) {
		ws_close(c, 1007, "invalid UTF-8");
		return -1;
	}
	/* The common case, a small unfragmented message, is not copied. */
	direct = f->fin && rx->rx_mop == 0 && n == f->payload_length;
	if (!direct && n > 0) {
		if (rx->rx_msglen + n > rx->rx_msgcap) {
			size_t cap = rx->rx_msglen + (f->payload_length -
			    (rx->rx_fgot - n));

			rx->rx_msg = xrealloc(rx->rx_msg, cap);
			rx->rx_msgcap = cap;
		}
		memcpy(rx->rx_msg + rx->rx_msglen, f->data, n);
		rx->rx_msglen += n;
	}
	if (rx->rx_fgot < f->payload_length)
		return 0;
	rx->rx_infr = 0;
	if (!f->fin)
		return 0;
	rx->rx_mop = 0;
	if (rx->rx_utf8 != UTF8_ACCEPT) {
		ws_close(c, 1007, "invalid UTF-8: truncated character");
		return -1;
	}
	if (ws_token_expired(c))
		return -1;
	if (direct)
		client_message(c, (const char *)f->data, n);
	else {
		client_message(c, (const char *)rx->rx_msg, rx->rx_msglen);
		free(rx->rx_msg);
		rx->rx_msg = NULL;
		rx->rx_msglen = rx->rx_msgcap = 0;
	}
	return c->c_state == CONN_ST_WS ? 0 : -1;
}

static int
ws_close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

static void
ws_control(struct conn *c, struct conn_rx *rx, int opcode)
{
	struct obuf	*ob;
	unsigned	 code;

	switch (opcode) {
	case WS_OP_PING:
		ob = ws_frame(WS_OP_PONG, rx->rx_ctl, rx->rx_ctllen);
		(void)conn_send(c, ob);
		obuf_unref(ob);
		break;
	case WS_OP_PONG:
		break;
	case WS_OP_CLOSE:
		if (rx->rx_ctllen == 0) {
			ob = ws_frame(WS_OP_CLOSE, NULL, 0);
			conn_send_raw(c, ob->ob_data, ob->ob_len);
			obuf_unref(ob);
			conn_close_after_flush(c);
			break;
		}
		if (rx->rx_ctllen == 1) {
			ws_close(c, 1002, "close payload of one byte");
			break;
		}
		code = rx->rx_ctl[0] << 8 | rx->rx_ctl[1];
		if (!ws_close_code_ok(code))
			ws_close(c, 1002, "invalid close code");
		else if (!utf8_valid(rx->rx_ctl + 2, rx->rx_ctllen - 2))
			ws_close(c, 1007, "invalid UTF-8 in close reason");
		else
			ws_close(c, code, NULL);
		break;
	}
}

/*
 * Fail or end the connection with a close frame of the given code and
 * reason (NULL for none), sent after what is already queued (for 1013,
 * instead of it), then close TCP.  Does nothing if c is already closing.
 */
void
ws_close(struct conn *c, int code, const char *reason)
{
	uint8_t		 payload[125];
	struct obuf	*ob;
	size_t		 n = 0;

	if (c->c_state != CONN_ST_WS)
		return;
	payload[0] = code >> 8;
	payload[1] = code & 0xff;
	if (reason != NULL) {
		n = strlen(reason);
		if (n > sizeof(payload) - 2)
			n = sizeof(payload) - 2;
		memcpy(payload + 2, reason, n);
	}
	ctl_count_close(code);
	if (code == 1013)
		conn_drop_queue(c);
	if (code != 1000 && code != 1001 && reason != NULL)
		log_verbose("conn %016llx user %s: close %d: %s",
		    (unsigned long long)c->c_connid, c->c_id->id_user, code,
		    reason);
	ob = ws_frame(WS_OP_CLOSE, payload, n + 2);
	conn_send_raw(c, ob->ob_data, ob->ob_len);
	obuf_unref(ob);
	conn_close_after_flush(c);
}

static int
ws_token_expired(struct conn *c)
{
	/* The flag, not c_id: a pong should not cost a cache miss. */
	if ((c->c_flags & CONN_F_EXPIRES) == 0 ||
	    (int64_t)time(NULL) < c->c_id->id_exp)
		return 0;
	ws_close(c, 1008, "token expired");
	return 1;
}

/* Is ob the ping frame that ws_ping_expire() queues? */
int
ws_is_ping(const struct obuf *ob)
{
	return ob == ws_ping;
}

/*
 * Silent for ping_interval: ping, and wait pong_timeout (an expired
 * token's connection is closed by expiry.c, not here).  Every ping is
 * the same two bytes: one frame, built once, is queued on all
 * (ws_cleanup() drops it).
 */
void
ws_ping_expire(struct conn *c)
{
	tlist_add(&gl->l_pinged, c, ev_now(gl->l_loop));
	if (ws_ping == NULL)
		ws_ping = ws_frame(WS_OP_PING, NULL, 0);
	(void)conn_send(c, ws_ping);
}

/*
 * No frame for ping_interval + pong_timeout: the peer is gone, unless its
 * answer is waiting in the socket.  After this process was held up longer
 * than pong_timeout (a loaded machine, SIGSTOP), libev runs the expired
 * timer before the read events of the same iteration: read first, so that
 * our own delay does not close peers that did answer.  One read per
 * expiry, and expiries are rare.
 */
void
ws_pong_expire(struct conn *c)
{
	if (c->c_flags & CONN_F_MS)
		conn_ms_poll();
	else
		ws_read(c);
	if (c->c_tlist == &gl->l_pinged && c->c_state == CONN_ST_WS &&
	    !(c->c_flags & CONN_F_DEAD))
		ws_close(c, 1008, "ping timeout");
}
