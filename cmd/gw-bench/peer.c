/*
 * peer.c -- gw-bench's protocol adapters, so that the same scenarios run
 * against gw's peers: Nchan and Socket.IO (--proto).
 *
 * nchan: a subscriber is a WebSocket to /sub/CH (Nchan's websocket
 * subscriber), subscribed once upgraded; each message is a text frame
 * of the published body.  The publisher POSTs the body to /pub/CH on
 * keep-alive HTTP/1.1 connections (requests pipelined; each answer's
 * status counted).  gw's API publisher (--pub-api, pubapi.c) reads its
 * answers with the same parser.
 *
 * socketio: Engine.IO v4 over a raw WebSocket at
 * /socket.io/?EIO=4&transport=websocket.  The server opens with
 * 0{...}; the client connects the default namespace with 40 and is
 * welcomed with 40{"sid":...}; pings (2) are answered with pongs (3).
 * A subscriber sends 421["sub","CH"] and is subscribed on the ack
 * 431[...]; the publisher sends 42["pub","CH",DATA]; a delivery is
 * 42["msg",DATA] (share/bench/peers/sio-server.js).
 *
 * The message body stays gw-bench's {"gwb": [...]} JSON on every
 * protocol, so latencies are measured the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "xmalloc.h"

#define PEER_MAXHEAD	4096	/* an HTTP answer's head */
#define PEER_MAXBODY	(256 * 1024)	/* and its body (a batch's answer) */

static void	peer_sio_packet(struct bconn *, const char *, size_t);
static long	peer_http_one(struct bconn *, const char *, size_t);
static int	peer_http_length(const char *, const char *, size_t *);

/*
 * The name of protocol s (PROTO_*), or -1 if s names none.
 */
int
peer_proto(const char *s)
{
	if (strcmp(s, "gw") == 0)
		return PROTO_GW;
	if (strcmp(s, "nchan") == 0)
		return PROTO_NCHAN;
	if (strcmp(s, "socketio") == 0)
		return PROTO_SIO;
	return -1;
}

/* The name of protocol p, for the report. */
const char *
peer_name(int p)
{
	return p == PROTO_NCHAN ? "nchan" : p == PROTO_SIO ? "socketio" :
	    "gw";
}

/*
 * The path of c's upgrade request on a peer's protocol: /sub/CH (CH the
 * channel of c's number) for Nchan, the Engine.IO endpoint for
 * Socket.IO.  Return 0, or -1 if it does not fit in sz.
 */
int
peer_path(struct bconn *c, char *dst, size_t sz)
{
	const struct bench_conf *conf = c->bc_ctx->x_conf;
	char		 name[256];
	int		 n;

	if (conf->b_proto == PROTO_SIO)
		n = snprintf(dst, sz, "/socket.io/?EIO=4&transport=websocket");
	else if (bench_channel(conf, c->bc_idx % conf->b_channels, name,
	    sizeof(name)) == 0)
		return -1;
	else
		n = snprintf(dst, sz, "/sub/%s", name);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/*
 * The subscribe request for channel name into dst (sz bytes): gw's
 * subscribe with the given id, or Socket.IO's sub event with ack id 1.
 * Return its length, or 0 if it does not fit.
 */
size_t
peer_subreq(const struct bench_conf *conf, const char *name, unsigned id,
    char *dst, size_t sz)
{
	int	n;

	if (conf->b_proto == PROTO_SIO)
		n = snprintf(dst, sz, "421[\"sub\",\"%s\"]", name);
	else
		n = snprintf(dst, sz, "{\"type\":\"subscribe\","
		    "\"channel\":\"%s\",\"id\":%u}", name, id);
	return n < 0 || (size_t)n >= sz ? 0 : (size_t)n;
}

/*
 * The publish of the blen bytes of JSON at body on channel name, as it
 * goes on the wire, at dst (sz bytes): a gw publish (with id, a string
 * of letters, digits and '.', if not NULL), an item of gw's API batch
 * with --pub-api (no id), or a Socket.IO pub event (the text of a
 * frame), or a whole HTTP POST for Nchan (hostport its Host).  Return
 * its length, or 0 if it does not fit.
 */
size_t
peer_publish(const struct bench_conf *conf, const char *hostport,
    const char *name, const char *id, const char *body, size_t blen,
    char *dst, size_t sz)
{
	int	n;

	if (conf->b_proto == PROTO_NCHAN)
		n = snprintf(dst, sz, "POST /pub/%s HTTP/1.1\r\nHost: %s\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n", name, hostport, blen);
	else if (conf->b_proto == PROTO_SIO)
		n = snprintf(dst, sz, "42[\"pub\",\"%s\",", name);
	else if (conf->b_pubapi)
		n = snprintf(dst, sz, "{\"channel\":\"%s\",\"data\":", name);
	else if (id != NULL)
		n = snprintf(dst, sz, "{\"type\":\"publish\",\"id\":\"%s\","
		    "\"channel\":\"%s\",\"data\":", id, name);
	else
		n = snprintf(dst, sz, "{\"type\":\"publish\","
		    "\"channel\":\"%s\",\"data\":", name);
	if (n < 0 || (size_t)n >= sz || sz - (size_t)n < blen + 2)
		return 0;
	memcpy(dst + n, body, blen);
	n += (int)blen;
	if (conf->b_proto == PROTO_SIO)
		dst[n++] = ']';
	else if (conf->b_proto == PROTO_GW)
		dst[n++] = '}';
	return (size_t)n;
}

/*
 * Whether the answer s (len bytes) to a publish is an error: gw's error
 * frame, or an HTTP status other than 2xx from Nchan (s is the answer,
 * from its status line).
 */
int
peer_puberror(const struct bench_conf *conf, const char *s, size_t len)
{
	if (conf->b_proto == PROTO_NCHAN)
		return len < 10 || s[9] != '2';
	return ws_find(s, len, "\"error\"");
}

/*
 * A text frame on a Socket.IO connection: the Engine.IO and Socket.IO
 * handshake, pings, subscribe acks, then deliveries to x_text.  c may
 * be failed (check bc_state).
 */
void
peer_sio_text(struct bconn *c, const char *p, size_t len)
{
	if (len == 0) {
		bconn_fail(c, BF_PROTO);
		return;
	}
	switch (p[0]) {
	case '0':		/* open: connect the default namespace */
		if (c->bc_state != BC_WELCOME || len < 2 || p[1] != '{') {
			bconn_fail(c, BF_HANDSHAKE);
			return;
		}
		bconn_text(c, "40", 2);
		break;
	case '1':		/* close */
		bconn_fail(c, BF_CLOSED);
		break;
	case '2':		/* ping */
		bconn_text(c, "3", 1);
		break;
	case '3':		/* pong */
		break;
	case '4':		/* a Socket.IO packet */
		peer_sio_packet(c, p + 1, len - 1);
		break;
	default:
		bconn_fail(c, BF_PROTO);
		break;
	}
}

/* A Socket.IO packet (after the Engine.IO type 4). */
static void
peer_sio_packet(struct bconn *c, const char *p, size_t len)
{
	struct bctx	*x = c->bc_ctx;

	if (len == 0) {
		bconn_fail(c, BF_PROTO);
		return;
	}
	switch (p[0]) {
	case '0':		/* connected: subscribe */
		if (c->bc_state != BC_WELCOME) {
			bconn_fail(c, BF_PROTO);
			return;
		}
		c->bc_state = BC_SUBSCRIBING;
		x->x_subscribe(x, c);
		break;
	case '1':		/* disconnected */
		bconn_fail(c, BF_CLOSED);
		break;
	case '2':		/* an event: a delivery */
		if (c->bc_state == BC_READY)
			x->x_text(x, c, p + 1, len - 1);
		break;
	case '3':		/* an ack: of a subscribe */
		if (c->bc_state == BC_SUBSCRIBING && c->bc_nsub > 0 &&
		    --c->bc_nsub == 0) {
			c->bc_state = BC_READY;
			x->x_done(x, c, BC_SUBSCRIBING);
		}
		break;
	case '4':		/* connect_error */
		bconn_fail(c, c->bc_state == BC_WELCOME ? BF_HANDSHAKE :
		    BF_SUBSCRIBE);
		break;
	default:
		bconn_fail(c, BF_PROTO);
		break;
	}
}

/*
 * The n bytes at buf on an HTTP publisher connection: whole answers,
 * each given to x_text, head and body.  Return the bytes used (the rest
 * is an incomplete answer), or -1 if the connection failed.
 */
long
peer_http(struct bconn *c, const char *buf, size_t n)
{
	size_t	off = 0;
	long	r;

	while (off < n && c->bc_state != BC_DEAD) {
		if ((r = peer_http_one(c, buf + off, n - off)) <= 0)
			return r == 0 ? (long)off : -1;
		off += (size_t)r;
	}
	return c->bc_state == BC_DEAD ? -1 : (long)off;
}

/* One answer: its length, 0 if incomplete, -1 if c failed. */
static long
peer_http_one(struct bconn *c, const char *buf, size_t n)
{
	const char	*end;
	size_t		 lim = n < PEER_MAXHEAD ? n : PEER_MAXHEAD, clen, hl;

	if ((end = memmem(buf, lim, "\r\n\r\n", 4)) == NULL) {
		if (n < PEER_MAXHEAD)
			return 0;
		bconn_fail(c, BF_PROTO);
		return -1;
	}
	hl = (size_t)(end + 4 - buf);
	if (hl < 14 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    peer_http_length(buf, end, &clen) == -1 || clen > PEER_MAXBODY) {
		bconn_fail(c, BF_PROTO);
		return -1;
	}
	if (n - hl < clen)
		return 0;
	c->bc_ctx->x_text(c->bc_ctx, c, buf, hl + clen);
	return (long)(hl + clen);
}

/*
 * The Content-Length of the head from h to end into *len (0 if none).
 * Return 0, or -1 if it is malformed or the body is chunked (Nchan's
 * answers to a publisher have a length).
 */
static int
peer_http_length(const char *h, const char *end, size_t *len)
{
	const char	*p, *eol;
	size_t		 v;

	*len = 0;
	for (p = h; p < end; p = eol + 2) {
		if ((eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2)) ==
		    NULL)
			break;
		if (eol - p >= 18 &&
		    strncasecmp(p, "Transfer-Encoding:", 18) == 0)
			return -1;
		if (eol - p < 15 || strncasecmp(p, "Content-Length:", 15) != 0)
			continue;
		for (p += 15; p < eol && (*p == ' ' || *p == '\t'); p++)
			;
		if (p == eol)
			return -1;
		for (v = 0; p < eol && *p >= '0' && *p <= '9' && v < 1000000;
		    p++)
			v = v * 10 + (size_t)(*p - '0');
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if (p != eol)
			return -1;
		*len = v;
	}
	return 0;
}
