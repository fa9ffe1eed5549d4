/*
 * conn.c -- one client WebSocket connection of gw-bench: a non-blocking
 * connect from a rotating 127.0.0.x source address, the upgrade (with a
 * checked Sec-WebSocket-Accept), the welcome, the subscribes, then text
 * frames to the owner's callback.  Reads go to the process's one large
 * buffer; only an incomplete frame is kept, in a buffer of its own, so
 * an idle connection holds no buffer.  Writes go out at once; what the
 * socket does not take waits for EV_WRITE.  With a peer's protocol
 * (--proto, peer.c) the path and the steps to subscribed differ, and
 * an x_http context (Nchan's publisher, the API publisher) skips the
 * upgrade: x_subscribe is called once connected, and its reads are
 * HTTP answers.  A context may add session=SID to the query (x_session)
 * and see the welcome (x_welcome): a reconnect storm's resumes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "b64.h"
#include "bench.h"
#include "jwt.h"
#include "log.h"
#include "wskey.h"
#include "xmalloc.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

static void	bconn_cb(struct ev_loop *, ev_io *, int);
static void	bconn_events(struct bconn *);
static int	bconn_path(struct bconn *, char *, size_t);
static char	*bconn_token(const struct bench_conf *, const char *);
static void	bconn_connected(struct bconn *);
static void	bconn_flush(struct bconn *);
static void	bconn_read(struct bconn *);
static long	bconn_consume(struct bconn *, const char *, size_t);
static long	bconn_head(struct bconn *, const char *, size_t);
static int	bconn_frame(struct bconn *, int, const char *, size_t);
static void	bconn_textframe(struct bconn *, const char *, size_t);
static void	bconn_failtold(struct bconn *, int, const char *,
		    const char *, size_t);

/*
 * Start connecting c (its bc_idx and bc_ctx set, the rest zero) to the
 * target from its source address.  Return 0, or -1 if the connection
 * failed at once (then it is BC_DEAD, counted, and x_done was called).
 */
int
bconn_start(struct bctx *x, struct bconn *c)
{
	const struct bench_conf *conf = x->x_conf;
	struct sockaddr_in src;
	int		 fd, one = 1;
	uint32_t	 n;

	c->bc_ctx = x;
	c->bc_io.fd = -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	c->bc_io.fd = fd;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (conf->b_srclo != 0) {
		/* The port is picked at connect(), per destination. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		n = conf->b_srchi - conf->b_srclo + 1;
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(conf->b_srclo + c->bc_idx % n);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1)
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&x->x_tgt->t_addr,
	    sizeof(x->x_tgt->t_addr)) == -1 && errno != EINPROGRESS)
		goto fail;
	c->bc_state = BC_CONNECTING;
	ev_io_init(&c->bc_io, bconn_cb, fd, EV_WRITE);
	c->bc_io.data = c;
	ev_io_start(x->x_loop, &c->bc_io);
	return 0;
fail:
	c->bc_state = BC_CONNECTING;
	bconn_fail(c, BF_CONNECT);
	return -1;
}

static void
bconn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct bconn	*c = w->data;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	(void)loop;
	if (c->bc_state == BC_CONNECTING) {
		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			bconn_fail(c, BF_CONNECT);
			return;
		}
		bconn_connected(c);
		return;
	}
	if ((revents & EV_WRITE) != 0)
		bconn_flush(c);
	if ((revents & EV_READ) != 0 && c->bc_state != BC_DEAD)
		bconn_read(c);
}

/* Watch for reading, and for writing while bytes wait. */
static void
bconn_events(struct bconn *c)
{
	int	want = EV_READ;

	if (c->bc_state == BC_DEAD)
		return;
	if (c->bc_outoff < c->bc_outlen)
		want |= EV_WRITE;
	if ((c->bc_io.events & (EV_READ | EV_WRITE)) == want)
		return;
	ev_io_stop(c->bc_ctx->x_loop, &c->bc_io);
	ev_io_set(&c->bc_io, c->bc_io.fd, want);
	ev_io_start(c->bc_ctx->x_loop, &c->bc_io);
}

/*
 * The request's path: the target's, plus user=NAME (the --user-pattern
 * with c's number) if the context wants users, or, with --jwt-secret,
 * token=JWT for that user whatever the context (gw-listen --auth jwt
 * wants one on every connection), plus session=SID if the context names
 * c's session.  Return 0, or -1 if it does not fit in sz.
 */
static int
bconn_path(struct bconn *c, char *dst, size_t sz)
{
	struct bctx	*x = c->bc_ctx;
	const struct bench_conf *conf = x->x_conf;
	const char	*path = x->x_tgt->t_path, *sid = NULL;
	const char	*sep = strchr(path, '?') != NULL ? "&" : "?";
	char		 user[160], *tok;
	int		 n;

	if (conf->b_proto != PROTO_GW)
		return peer_path(c, dst, sz);
	if (x->x_session != NULL)
		sid = x->x_session(x, c);
	if (!x->x_users && conf->b_secretlen == 0)
		n = snprintf(dst, sz, "%s", path);
	else if (bench_name(conf->b_userpat, c->bc_idx, user,
	    sizeof(user)) == 0)
		return -1;
	else if (conf->b_secretlen > 0) {
		if ((tok = bconn_token(conf, user)) == NULL)
			return -1;
		n = snprintf(dst, sz, "%s%stoken=%s", path, sep, tok);
		free(tok);
	} else
		n = snprintf(dst, sz, "%s%suser=%s", path, sep, user);
	if (n < 0 || (size_t)n >= sz)
		return -1;
	if (sid != NULL)
		n += snprintf(dst + n, sz - (size_t)n, "%ssession=%s",
		    strchr(dst, '?') != NULL ? "&" : "?", sid);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/*
 * A token for user, signed with --jwt-secret, good for a day: what an
 * application's backend hands its clients.  The caller frees it; NULL
 * if it could not be made.
 */
static char *
bconn_token(const struct bench_conf *conf, const char *user)
{
	json_t	*claims;
	char	*tok;

	if ((claims = json_pack("{s:s, s:I}", "sub", user, "exp",
	    (json_int_t)time(NULL) + 86400)) == NULL)
		return NULL;
	tok = jwt_sign(claims, conf->b_secret, conf->b_secretlen);
	json_decref(claims);
	return tok;
}

/* TCP is up: send the upgrade request with a fresh key. */
static void
bconn_connected(struct bconn *c)
{
	struct bctx	*x = c->bc_ctx;
	unsigned char	 raw[16];
	char		 key[B64_ENCLEN(16) + 1], req[1024], path[768];
	uint32_t	 r;
	int		 i, n;

	if (x->x_http) {	/* no upgrade: the owner says when ready */
		c->bc_state = BC_SUBSCRIBING;
		bconn_events(c);
		x->x_subscribe(x, c);
		return;
	}
	if (bconn_path(c, path, sizeof(path)) == -1) {
		bconn_fail(c, BF_HANDSHAKE);
		return;
	}

	for (i = 0; i < 16; i += 4) {
		r = bench_rand(&x->x_seed);
		memcpy(raw + i, &r, 4);
	}
	b64_encode(key, sizeof(key), raw, sizeof(raw));
	c->bc_accept = xmalloc(WSKEY_ACCEPTLEN + 1);
	wskey_accept(key, strlen(key), c->bc_accept);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
	    path, x->x_tgt->t_hostport, key);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		bconn_fail(c, BF_HANDSHAKE);
		return;
	}
	c->bc_state = BC_HANDSHAKE;
	bconn_send(c, req, (size_t)n);
	bconn_events(c);
}

/*
 * Send the n bytes at buf on c: written now if nothing waits, the rest
 * queued for EV_WRITE.  A write error fails the connection (check
 * bc_state afterwards).
 */
void
bconn_send(struct bconn *c, const char *buf, size_t n)
{
	ssize_t	w = 0;

	if (c->bc_state == BC_DEAD || n == 0)
		return;
	if (c->bc_outoff == c->bc_outlen) {
		c->bc_outoff = c->bc_outlen = 0;
		if ((w = write(c->bc_io.fd, buf, n)) == -1) {
			if (errno != EAGAIN && errno != EINTR) {
				bconn_fail(c, BF_CLOSED);
				return;
			}
			w = 0;
		}
		if ((size_t)w == n)
			return;
	}
	if (c->bc_outlen + (n - (size_t)w) > UINT32_MAX / 2) {
		bconn_fail(c, BF_PROTO);
		return;
	}
	c->bc_out = xrealloc(c->bc_out, c->bc_outlen + (n - (size_t)w));
	memcpy(c->bc_out + c->bc_outlen, buf + w, n - (size_t)w);
	c->bc_outlen += (uint32_t)(n - (size_t)w);
	bconn_events(c);
}

/* Send text as one masked text frame. */
void
bconn_text(struct bconn *c, const char *text, size_t len)
{
	char	 stack[1024], *buf = stack;
	size_t	 sz = len + 14, n;

	if (sz > sizeof(stack))
		buf = xmalloc(sz);
	n = ws_frame(buf, sz, 1, text, len, bench_rand(&c->bc_ctx->x_seed));
	bconn_send(c, buf, n);
	if (buf != stack)
		free(buf);
}

static void
bconn_flush(struct bconn *c)
{
	ssize_t	w;

	if (c->bc_outoff < c->bc_outlen) {
		w = write(c->bc_io.fd, c->bc_out + c->bc_outoff,
		    c->bc_outlen - c->bc_outoff);
		if (w == -1 && errno != EAGAIN && errno != EINTR) {
			bconn_fail(c, BF_CLOSED);
			return;
		}
		if (w > 0)
			c->bc_outoff += (uint32_t)w;
	}
	if (c->bc_outoff == c->bc_outlen) {
		free(c->bc_out);
		c->bc_out = NULL;
		c->bc_outoff = c->bc_outlen = 0;
	}
	bconn_events(c);
}

/*
 * Read what is there (a few reads at most, so that one busy socket does
 * not starve the others), behind the incomplete frame kept from before.
 */
static void
bconn_read(struct bconn *c)
{
	char	*rb = c->bc_ctx->x_rbuf;
	size_t	 have, space;
	ssize_t	 n;
	long	 used;
	int	 round;

	for (round = 0; round < 4 && c->bc_state != BC_DEAD; round++) {
		have = c->bc_inlen;
		space = BENCH_RBUFSZ - have;
		if ((n = read(c->bc_io.fd, rb + have, space)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				bconn_fail(c, BF_CLOSED);
			return;
		}
		if (n == 0) {
			bconn_fail(c, BF_CLOSED);
			return;
		}
		if (have > 0)
			memcpy(rb, c->bc_in, have);
		free(c->bc_in);
		c->bc_in = NULL;
		c->bc_inlen = 0;
		if ((used = bconn_consume(c, rb, have + (size_t)n)) == -1)
			return;
		if ((size_t)used < have + (size_t)n) {
			c->bc_inlen = (uint32_t)(have + (size_t)n -
			    (size_t)used);
			c->bc_in = xmalloc(c->bc_inlen);
			memcpy(c->bc_in, rb + used, c->bc_inlen);
		}
		if ((size_t)n < space)
			return;
	}
}

/*
 * Handle the n bytes at buf: the handshake answer, then whole frames.
 * Return the bytes used (the rest is an incomplete frame), or -1 if the
 * connection failed.
 */
static long
bconn_consume(struct bconn *c, const char *buf, size_t n)
{
	size_t		 off = 0, hlen;
	uint64_t	 len;
	long		 h;
	int		 op, r;

	if (c->bc_ctx->x_http)
		return peer_http(c, buf, n);
	if (c->bc_state == BC_HANDSHAKE) {
		if ((h = bconn_head(c, buf, n)) <= 0)
			return h;
		off = (size_t)h;
	}
	while (off < n) {
		if ((r = ws_parse_head(buf + off, n - off, &len, &hlen,
		    &op)) == -1) {
			bconn_fail(c, BF_PROTO);
			return -1;
		}
		if (r == 0 || n - off - hlen < len)
			break;
		if (bconn_frame(c, op, buf + off + hlen, (size_t)len) == -1)
			return -1;
		off += hlen + (size_t)len;
	}
	return (long)off;
}

/*
 * The server's answer to the upgrade: 101 with the right accept value.
 * Return its length, 0 if incomplete, -1 if the connection failed.
 */
static long
bconn_head(struct bconn *c, const char *buf, size_t n)
{
	const char	*end, *p, *eol;
	size_t		 lim = n < BENCH_MAXHEAD ? n : BENCH_MAXHEAD;
	int		 ok = 0;

	if ((end = memmem(buf, lim, "\r\n\r\n", 4)) == NULL) {
		if (n < BENCH_MAXHEAD)
			return 0;
		bconn_fail(c, BF_HANDSHAKE);
		return -1;
	}
	if (end - buf < 12 || (memcmp(buf, "HTTP/1.1 101", 12) != 0 &&
	    memcmp(buf, "HTTP/1.0 101", 12) != 0)) {
		bconn_failtold(c, BF_HANDSHAKE, "answer", buf,
		    (size_t)(end - buf));
		return -1;
	}
	for (p = buf; p < end; p = eol + 2) {
		if ((eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2)) ==
		    NULL)
			break;
		if (eol - p < 21 ||
		    strncasecmp(p, "Sec-WebSocket-Accept:", 21) != 0)
			continue;
		p += 21;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		while (eol > p && (eol[-1] == ' ' || eol[-1] == '\t'))
			eol--;
		ok = eol - p == WSKEY_ACCEPTLEN &&
		    memcmp(p, c->bc_accept, WSKEY_ACCEPTLEN) == 0;
		break;
	}
	if (!ok) {
		bconn_failtold(c, BF_HANDSHAKE,
		    "no or wrong Sec-WebSocket-Accept", buf,
		    (size_t)(end - buf));
		return -1;
	}
	free(c->bc_accept);
	c->bc_accept = NULL;
	c->bc_state = BC_WELCOME;
	if (c->bc_ctx->x_conf->b_proto == PROTO_NCHAN) {
		/* Nchan subscribes on the upgrade and says nothing. */
		c->bc_state = BC_READY;
		c->bc_ctx->x_done(c->bc_ctx, c, BC_SUBSCRIBING);
	}
	return (long)(end + 4 - buf);
}

/* One whole frame.  Return 0, or -1 if the connection failed. */
static int
bconn_frame(struct bconn *c, int op, const char *p, size_t len)
{
	char	pong[140];
	size_t	n;

	switch (op) {
	case 0x81:		/* text */
		bconn_textframe(c, p, len);
		break;
	case 0x89:		/* ping: pong with its payload */
		n = ws_frame(pong, sizeof(pong), 0x0a, p, len,
		    bench_rand(&c->bc_ctx->x_seed));
		bconn_send(c, pong, n);
		break;
	case 0x8a:		/* pong */
		break;
	case 0x88:		/* close */
		if (len >= 2)
			c->bc_closecode = (uint16_t)((unsigned char)p[0] << 8 |
			    (unsigned char)p[1]);
		bconn_fail(c, BF_CLOSED);
		break;
	default:		/* binary, fragments: gw sends none */
		bconn_fail(c, BF_PROTO);
		break;
	}
	return c->bc_state == BC_DEAD ? -1 : 0;
}

static void
bconn_textframe(struct bconn *c, const char *p, size_t len)
{
	struct bctx	*x = c->bc_ctx;

	if (x->x_conf->b_proto == PROTO_SIO) {
		peer_sio_text(c, p, len);
		return;
	}
	switch (c->bc_state) {
	case BC_WELCOME:
		if (!ws_find(p, len, "\"welcome\"")) {
			bconn_failtold(c, BF_HANDSHAKE, "first frame", p, len);
			return;
		}
		if (x->x_welcome != NULL) {
			x->x_welcome(x, c, p, len);
			if (c->bc_state == BC_DEAD)
				return;
		}
		c->bc_state = BC_SUBSCRIBING;
		x->x_subscribe(x, c);
		break;
	case BC_SUBSCRIBING:
		if (ws_find(p, len, "\"subscribed\"")) {
			if (c->bc_nsub > 0 && --c->bc_nsub == 0) {
				c->bc_state = BC_READY;
				x->x_done(x, c, BC_SUBSCRIBING);
			}
		} else if (ws_find(p, len, "\"error\""))
			bconn_failtold(c, BF_SUBSCRIBE, "answer", p, len);
		break;
	case BC_READY:
		x->x_text(x, c, p, len);
		break;
	}
}

/*
 * Close c, free its buffers, count the reason why (a BF_* value) and
 * tell the owner (x_done with the state c was in).  Nothing if c is
 * already dead.
 */
void
bconn_fail(struct bconn *c, int why)
{
	int	old = c->bc_state;

	if (old == BC_DEAD || old == BC_IDLE)
		return;
	c->bc_ctx->x_fail[why]++;
	bconn_free(c);
	c->bc_ctx->x_done(c->bc_ctx, c, old);
}

/*
 * c's upgrade (why BF_HANDSHAKE) or subscribe (BF_SUBSCRIBE) failed on
 * what the server sent (p, n bytes): fail it, and say how for the first
 * three of the process (a run of a million may have a few, and their
 * answer is the clue).
 */
static void
bconn_failtold(struct bconn *c, int why, const char *what, const char *p,
    size_t n)
{
	static int	 told;
	const char	*eol;

	if (told < 3) {
		told++;
		if ((eol = memchr(p, '\r', n)) != NULL)
			n = (size_t)(eol - p);
		log_warnx("connection %u: %s failed, %s: %.*s",
		    (unsigned)c->bc_idx, why == BF_HANDSHAKE ? "upgrade" :
		    "subscribe", what, (int)(n < 160 ? n : 160), p);
	}
	bconn_fail(c, why);
}

/* Close c and free its buffers, silently; c becomes BC_DEAD. */
void
bconn_free(struct bconn *c)
{
	if (c->bc_io.fd != -1 && c->bc_state != BC_IDLE &&
	    c->bc_state != BC_DEAD) {
		ev_io_stop(c->bc_ctx->x_loop, &c->bc_io);
		close(c->bc_io.fd);
		c->bc_io.fd = -1;
	}
	free(c->bc_in);
	free(c->bc_out);
	free(c->bc_accept);
	c->bc_in = c->bc_out = c->bc_accept = NULL;
	c->bc_inlen = c->bc_outlen = c->bc_outoff = 0;
	c->bc_state = BC_DEAD;
}
