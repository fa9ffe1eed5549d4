/*
 * handshake.c -- the HTTP side of gw-listen: read the request head (within
 * an absolute deadline), route it, check the upgrade and the identity, and
 * answer with 101 or a one-line error.  API requests (api.c) may keep the
 * connection: the next request, pipelined or not, is routed once the one
 * before it is answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "listen.h"
#include "static.h"
#include "log.h"
#include "wskey.h"
#include "xmalloc.h"

static void	handshake_next(struct conn *);
static void	handshake_skip_blank(struct conn_head *);
static void	handshake_again(struct conn *);
static void	handshake_again_cb(struct ev_loop *, ev_timer *, int);
static void	handshake_consume(struct conn_head *);
static int	handshake_keep(const struct conn *, const struct http_req *);
static void	handshake_route(struct conn *, size_t);
static void	handshake_upgrade(struct conn *, const struct http_req *);
static const struct http_hdr *handshake_valid(struct conn *,
		    const struct http_req *);
static void	handshake_fail(struct conn *, int, const char *, const char *);
static void	handshake_file(struct conn *, const struct static_file *);

/*
 * Read what the client sent of its head; the buffer is allocated on the
 * first byte, not at accept (nginx: an idle socket holds no buffer).
 */
void
handshake_read(struct conn *c)
{
	struct conn_head	*h;
	ssize_t			 n;

	if ((h = c->c_head) == NULL) {
		h = c->c_head = xmalloc(sizeof(*h));
		h->h_len = h->h_scanned = h->h_used = 0;
		h->h_body = NULL;
		h->h_bodylen = h->h_bodygot = 0;
		h->h_route = h->h_keep = 0;
		h->h_api = NULL;
		h->h_upwait = NULL;
		ev_init(&h->h_again, handshake_again_cb);
		h->h_again.data = c;
	}
	if (h->h_body != NULL && h->h_bodygot < h->h_bodylen) {
		/* An API request's body (api.c). */
		n = read(c->c_io.fd, h->h_body + h->h_bodygot,
		    h->h_bodylen - h->h_bodygot);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			conn_kill(c);
		else if (n > 0 && (h->h_bodygot += n) == h->h_bodylen)
			api_body(c);
		return;
	}
	/*
	 * A full buffer is not read into (a read of 0 bytes would look like
	 * EOF): what it holds is routed, or it is a head too long.
	 */
	if (h->h_len < sizeof(h->h_buf)) {
		n = read(c->c_io.fd, h->h_buf + h->h_len,
		    sizeof(h->h_buf) - h->h_len);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			conn_kill(c);
			return;
		}
		if (n == -1)
			return;
		h->h_len += n;
	}
	if (c->c_flags & CONN_F_WAIT) {
		/*
		 * Routed, waiting for its session (frames come after 101:
		 * too many close it) or for an API answer (a pipelined next
		 * request: reading waits for the answer, so that TCP holds
		 * the client back).
		 */
		if (h->h_len < sizeof(h->h_buf))
			return;
		if (h->h_route == 0) {
			conn_kill(c);
			return;
		}
		c->c_flags |= CONN_F_RPAUSE;
		conn_update_events(c);
		return;
	}
	handshake_next(c);
}

/*
 * Route the requests that c has buffered, one at a time: each waits until
 * the one before it is answered (CONN_F_WAIT clear).  At most
 * LISTEN_ROUTE_BUDGET per call; if more may be there, h_again goes off on
 * the next loop iteration, after this one's answers are written.
 */
static void
handshake_next(struct conn *c)
{
	struct conn_head	*h;
	size_t			 end;
	int			 i;

	for (i = 0; i < LISTEN_ROUTE_BUDGET; i++) {
		if ((h = c->c_head) == NULL || c->c_state != CONN_ST_HEAD ||
		    (c->c_flags & (CONN_F_DEAD | CONN_F_WAIT)))
			return;
		handshake_skip_blank(h);
		end = http_head_end(h->h_buf, h->h_len, h->h_scanned);
		h->h_scanned = h->h_len;
		if (end == 0) {
			if (h->h_len == sizeof(h->h_buf))
				handshake_fail(c, 431,
				    "request head over 8192 bytes", NULL);
			return;
		}
		handshake_route(c, end);
	}
	handshake_again(c);
}

/*
 * RFC 9112 section 2.2: blank lines before a request line are ignored
 * (some clients end a body with CRLF).  Bounded by what is buffered.
 */
static void
handshake_skip_blank(struct conn_head *h)
{
	size_t	n = 0;

	while (n < h->h_len) {
		if (h->h_buf[n] == '\n')
			n++;
		else if (h->h_buf[n] == '\r' && n + 1 < h->h_len &&
		    h->h_buf[n + 1] == '\n')
			n += 2;
		else
			break;
	}
	if (n == 0)
		return;
	memmove(h->h_buf, h->h_buf + n, h->h_len - n);
	h->h_len -= n;
	h->h_scanned = 0;
}

/* Route what c has buffered on the next loop iteration, if anything. */
static void
handshake_again(struct conn *c)
{
	struct conn_head	*h = c->c_head;

	if (h == NULL || h->h_len == 0 || c->c_state != CONN_ST_HEAD ||
	    (c->c_flags & (CONN_F_DEAD | CONN_F_WAIT)) ||
	    ev_is_active(&h->h_again))
		return;
	/* Due at once, so the loop polls without waiting, then fires it. */
	ev_timer_set(&h->h_again, 0., 0.);
	ev_timer_start(gl->l_loop, &h->h_again);
}

static void
handshake_again_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	handshake_next(w->data);
}

/* Drop the bytes of the request just routed from the front of h_buf. */
static void
handshake_consume(struct conn_head *h)
{
	if (h->h_used == 0)
		return;
	memmove(h->h_buf, h->h_buf + h->h_used, h->h_len - h->h_used);
	h->h_len -= h->h_used;
	h->h_used = 0;
	h->h_scanned = 0;
}

/*
 * The API request of c was answered, its answer queued (api.c).  Without
 * keep, c closes once the answer is written.  With keep, c waits for its
 * next request, within --head-timeout from now; one already buffered is
 * routed on the next loop iteration.
 */
void
handshake_answered(struct conn *c, int keep)
{
	struct conn_head	*h = c->c_head;

	c->c_flags &= ~CONN_F_WAIT;
	if (c->c_flags & CONN_F_RPAUSE) {
		c->c_flags &= ~CONN_F_RPAUSE;
		conn_update_events(c);
	}
	if (!keep || h == NULL || c->c_state != CONN_ST_HEAD) {
		handshake_free(c);
		conn_close_after_flush(c);
		return;
	}
	/* Answers still to come (a batch cut short) are not wanted. */
	client_forget(c);
	api_free_req(h);
	h->h_bodylen = h->h_bodygot = 0;
	h->h_route = h->h_keep = 0;
	handshake_consume(h);
	tlist_add(&gl->l_heads, c, ev_now(gl->l_loop));
	if (h->h_len == 0)
		handshake_free(c);	/* idle: it holds no buffer */
	else
		handshake_again(c);
}

/*
 * Release the head buffer (the connection upgraded, closes or is being
 * freed).  Reading is no longer paused for it: the caller's next flush
 * sets the events.
 */
void
handshake_free(struct conn *c)
{
	c->c_flags &= ~CONN_F_RPAUSE;
	if (c->c_head != NULL) {
		ev_timer_stop(gl->l_loop, &c->c_head->h_again);
		limit_unwait(c->c_head);
		api_free_req(c->c_head);
	}
	free(c->c_head);
	c->c_head = NULL;
}

/*
 * The head deadline passed: slowloris or a dead client, or a keep-alive
 * connection that stayed idle.  That one is closed without an answer: a
 * 408 could cross a request the client sends meanwhile, which would take
 * it as its answer.  Unless the head is waiting in the socket: after a
 * turn longer than the deadline (a loaded machine), libev runs the
 * expired timer before the read events of the same iteration, as for a
 * pong (ws_pong_expire()): read first.  A head read, routed and answered
 * moves c off the list or to its tail; one routed that now waits (its
 * session, an API answer) gets a deadline of its own for that.
 */
void
handshake_expire(struct conn *c)
{
	ev_tstamp	 t = c->c_tstamp;
	struct pend	*pd;

	if (!(c->c_flags & CONN_F_WAIT)) {
		handshake_read(c);
		if ((c->c_flags & CONN_F_DEAD) || c->c_state != CONN_ST_HEAD ||
		    c->c_tlist != &gl->l_heads || c->c_tstamp != t)
			return;
		if (c->c_flags & CONN_F_WAIT) {
			tlist_add(&gl->l_heads, c, ev_now(gl->l_loop));
			return;
		}
	}
	if (c->c_nreq > 0 && !(c->c_flags & CONN_F_WAIT) &&
	    (c->c_head == NULL || c->c_head->h_len == 0)) {
		log_debug("keep-alive connection idle");
		handshake_free(c);
		conn_close_after_flush(c);
		return;
	}
	if (c->c_head != NULL && c->c_head->h_upwait != NULL) {
		/* Still waiting for its turn (--upgrade-rate). */
		handshake_fail(c, 503, "too many upgrades at once; try again",
		    "Retry-After: 1\r\n");
		return;
	}
	if (c->c_flags & CONN_F_WAIT) {
		/*
		 * The head was read: its answer waits for gw-bridge or
		 * gw-presence, which did not give it (stopped, stuck).
		 */
		for (pd = c->c_pend; pd != NULL && !pd->pd_api;
		    pd = pd->pd_next)
			;
		if (pd != NULL)
			api_error(c, 503, "unavailable",
			    "the node did not answer in time");
		else
			handshake_fail(c, 503, "the node did not load the "
			    "session in time; try again", NULL);
		return;
	}
	log_debug("request head timeout");
	handshake_fail(c, 408, "request head not received in time", NULL);
}

/*
 * May the connection stay open after the answer to req, an API request:
 * HTTP/1.1 without "Connection: close", under LISTEN_MAXKEEP requests,
 * not draining.
 */
static int
handshake_keep(const struct conn *c, const struct http_req *req)
{
	return req->r_minor == 1 &&
	    !http_hdr_has_token(req, "Connection", "close") &&
	    c->c_nreq < LISTEN_MAXKEEP && !gl->l_stopping;
}

static void
handshake_route(struct conn *c, size_t end)
{
	struct http_req			*req;
	const struct static_file	*f;
	const char			*reason;
	int				 status;

	req = xmalloc(sizeof(*req));
	if ((status = http_parse(c->c_head->h_buf, end, req, &reason)) != 0) {
		handshake_fail(c, status, reason, NULL);
		goto out;
	}
	c->c_nreq++;
	c->c_head->h_used = end;
	c->c_head->h_keep = handshake_keep(c, req);
	if (req->r_pathlen == 3 && memcmp(req->r_path, "/ws", 3) == 0) {
		if (req->r_methodlen != 3 || memcmp(req->r_method, "GET", 3))
			handshake_fail(c, 405, "method not allowed",
			    "Allow: GET\r\n");
		else
			handshake_upgrade(c, req);
	} else if (req->r_pathlen == 8 &&
	    memcmp(req->r_path, "/healthz", 8) == 0) {
		if (req->r_methodlen != 3 || memcmp(req->r_method, "GET", 3))
			handshake_fail(c, 405, "method not allowed",
			    "Allow: GET\r\n");
		else if (gl->l_stopping)
			handshake_fail(c, 503, "draining", NULL);
		else if (!link_up())
			handshake_fail(c, 503, link_silent_now() ?
			    "gw-bridge does not answer" :
			    "cannot reach Redis both ways", NULL);
		else
			handshake_fail(c, 200, "ok", NULL);
	} else if (api_route(c, req)) {
		/*
		 * Answered, or waiting for its body or answer: either way
		 * its bytes are done with (req points into them: not after).
		 */
		if (c->c_head != NULL && c->c_state == CONN_ST_HEAD)
			handshake_consume(c->c_head);
	} else if (gl->l_conf->lc_demo != NULL &&
	    (f = static_find(req->r_path, req->r_pathlen)) != NULL) {
		if (req->r_methodlen != 3 || memcmp(req->r_method, "GET", 3))
			handshake_fail(c, 405, "method not allowed",
			    "Allow: GET\r\n");
		else
			handshake_file(c, f);
	} else
		handshake_fail(c, 404, "not found", NULL);
out:
	free(req);
}

static int
origin_allowed(const char *list, const struct http_hdr *h)
{
	const char	*p = list, *comma;
	size_t		 n;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		/* Scheme and host are case-insensitive (RFC 6454). */
		if (n == h->h_valuelen && strncasecmp(p, h->h_value, n) == 0)
			return 1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/*
 * The checks of an upgrade request's head (RFC 6455 section 4.2.1, the
 * origins allowed, a session given once): its Sec-WebSocket-Key, or
 * NULL with c answered.
 */
static const struct http_hdr *
handshake_valid(struct conn *c, const struct http_req *req)
{
	const struct http_hdr	*h, *key;

	if (req->r_minor != 1) {
		handshake_fail(c, 400, "HTTP/1.1 required", NULL);
		return NULL;
	}
	if (http_hdr_count(req, "Host") != 1) {
		handshake_fail(c, 400, "missing or repeated Host", NULL);
		return NULL;
	}
	if (!http_hdr_has_token(req, "Upgrade", "websocket")) {
		handshake_fail(c, 400, "missing Upgrade: websocket", NULL);
		return NULL;
	}
	if (!http_hdr_has_token(req, "Connection", "upgrade")) {
		handshake_fail(c, 400, "missing Connection: upgrade", NULL);
		return NULL;
	}
	if (http_hdr_count(req, "Sec-WebSocket-Version") != 1 ||
	    (h = http_hdr_get(req, "Sec-WebSocket-Version")) == NULL ||
	    h->h_valuelen != 2 || memcmp(h->h_value, "13", 2) != 0) {
		handshake_fail(c, 426, "WebSocket version 13 required",
		    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
		return NULL;
	}
	if (http_hdr_count(req, "Sec-WebSocket-Key") != 1 ||
	    (key = http_hdr_get(req, "Sec-WebSocket-Key")) == NULL ||
	    !wskey_valid(key->h_value, key->h_valuelen)) {
		handshake_fail(c, 400, "missing or invalid Sec-WebSocket-Key",
		    NULL);
		return NULL;
	}
	if (((h = http_hdr_get(req, "Content-Length")) != NULL &&
	    !(h->h_valuelen == 1 && h->h_value[0] == '0')) ||
	    http_hdr_get(req, "Transfer-Encoding") != NULL) {
		handshake_fail(c, 400, "upgrade request with a body", NULL);
		return NULL;
	}
	if (gl->l_conf->lc_origins != NULL &&
	    http_hdr_count(req, "Origin") > 1) {
		handshake_fail(c, 403, "Origin given twice", NULL);
		return NULL;
	}
	if (gl->l_conf->lc_origins != NULL &&
	    (h = http_hdr_get(req, "Origin")) != NULL &&
	    !origin_allowed(gl->l_conf->lc_origins, h)) {
		handshake_fail(c, 403, "origin not allowed", NULL);
		return NULL;
	}
	if (http_query_count(req->r_query, req->r_querylen, "session") > 1) {
		handshake_fail(c, 400, "session given twice", NULL);
		return NULL;
	}
	return key;
}

static void
handshake_upgrade(struct conn *c, const struct http_req *req)
{
	const struct http_hdr	*key;
	struct ident		*id = NULL;
	char			 accept[WSKEY_ACCEPTLEN + 1];
	char			 why[160], sid[40];
	ssize_t			 n;
	int			 status;

	if ((key = handshake_valid(c, req)) == NULL)
		return;
	if ((status = auth_check(gl->l_conf, req, &id, why,
	    sizeof(why))) != 0) {
		handshake_fail(c, status, why,
		    status == 401 ? "WWW-Authenticate: Bearer\r\n" : NULL);
		return;
	}

	if (gl->l_stopping) {
		ident_free(id);
		handshake_fail(c, 503, "draining", NULL);
		return;
	}
	if (!limit_take(c)) {
		ident_free(id);
		handshake_fail(c, 503, "over capacity", NULL);
		return;
	}
	wskey_accept(key->h_value, key->h_valuelen, accept);
	c->c_id = id;
	if (id->id_exp != 0)
		c->c_flags |= CONN_F_EXPIRES;
	if (req->r_query == NULL || (n = http_query_get(req->r_query,
	    req->r_querylen, "session", sid, sizeof(sid))) < 0)
		n = 0;
	if (limit_upgrade(c, accept, sid, (size_t)n, req->r_headlen))
		handshake_begin(c, accept, sid, (size_t)n, req->r_headlen);
}

/*
 * c's upgrade, checked and counted, begins (now, or at its turn under
 * --upgrade-rate): load the session sid (sidlen bytes, 0 for none) and
 * answer once it is loaded, or answer now and welcome a fresh session.
 */
void
handshake_begin(struct conn *c, const char *accept, const char *sid,
    size_t sidlen, size_t headlen)
{
	if (gl->l_stopping) {
		handshake_fail(c, 503, "draining", NULL);
		return;
	}
	if (sidlen > 0 && sess_load(c, sid, sidlen, accept, headlen) == 0)
		return;		/* answered once the session is loaded */
	handshake_finish(c, accept, headlen);
	if (c->c_state == CONN_ST_WS)
		client_welcome(c, 0, NULL);
}

/*
 * Answer c's upgrade with 101 and accept, and start WebSocket on it;
 * headlen is the size of its request head.  The caller welcomes it.
 */
void
handshake_finish(struct conn *c, const char *accept, size_t headlen)
{
	struct conn_head	*head;
	char			 resp[256];
	int			 n;

	if (c->c_state != CONN_ST_HEAD || (c->c_flags & CONN_F_DEAD) ||
	    c->c_head == NULL)
		return;		/* timed out or failed while waiting */
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	tlist_remove(c);
	c->c_state = CONN_ST_WS;
	if (c->c_flags & CONN_F_EXPIRES)
		expiry_add(c);
	conn_send_raw(c, resp, n);
	/*
	 * Bytes the client sent after its head are its first frames.  The
	 * head buffer and the frame state share a field: detach it first.
	 */
	head = c->c_head;
	c->c_head = NULL;
	ev_timer_stop(gl->l_loop, &head->h_again);
	conn_ms_start(c);	/* before ws_start() feeds a read event */
	ws_start(c, head->h_buf + headlen, head->h_len - headlen);
	api_free_req(head);
	free(head);
	conn_touch(c);
}

/* The reason phrase of an HTTP status (RFC 9110), for a status line. */
const char *
handshake_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 417: return "Expectation Failed";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* Answer with a file of the demo, then close. */
static void
handshake_file(struct conn *c, const struct static_file *f)
{
	char	buf[256];
	int	n;

	n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
	    "Connection: close\r\n\r\n", f->sf_type, f->sf_len);
	if (n < 0 || (size_t)n >= sizeof(buf))
		fatalx("handshake_file: header too long");
	conn_send_raw(c, buf, n);
	conn_send_raw(c, f->sf_data, f->sf_len);
	handshake_free(c);
	conn_close_after_flush(c);
}

/*
 * Answer with status and a one-line body, then close.  extra is more
 * header lines, each ending in CRLF, or NULL.
 */
static void
handshake_fail(struct conn *c, int status, const char *line, const char *extra)
{
	char	buf[512];
	int	n;

	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n%s\r\n%s\n", status, handshake_reason(status),
	    strlen(line) + 1, extra != NULL ? extra : "", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		fatalx("handshake_fail: response too long");
	if (status != 200)
		log_verbose("http %d: %s", status, line);
	conn_send_raw(c, buf, n);
	handshake_free(c);
	conn_close_after_flush(c);
}
