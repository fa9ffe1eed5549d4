/*
 * handshake.c -- the HTTP side of gw-listen: read the request head (within
 * an absolute deadline), route it, check the upgrade and the identity, and
 * answer with 101 or a one-line error.
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

static void	handshake_route(struct conn *, size_t);
static void	handshake_upgrade(struct conn *, const struct http_req *);
static void	handshake_fail(struct conn *, int, const char *, const char *);
static void	handshake_file(struct conn *, const struct static_file *);
static const char *status_text(int);

/*
 * Read what the client sent of its head; the buffer is allocated on the
 * first byte, not at accept (nginx: an idle socket holds no buffer).
 */
void
handshake_read(struct conn *c)
{
	struct conn_head	*h;
	size_t			 end;
	ssize_t			 n;

	if ((h = c->c_head) == NULL) {
		h = c->c_head = xmalloc(sizeof(*h));
		h->h_len = h->h_scanned = 0;
		h->h_body = NULL;
		h->h_bodylen = h->h_bodygot = 0;
		h->h_route = 0;
		h->h_api = NULL;
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
	n = read(c->c_io.fd, h->h_buf + h->h_len, sizeof(h->h_buf) - h->h_len);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		conn_kill(c);
		return;
	}
	if (n == -1)
		return;
	h->h_len += n;
	if (c->c_flags & CONN_F_WAIT) {
		/* Routed, waiting for its session: frames come after 101. */
		if (h->h_len == sizeof(h->h_buf))
			conn_kill(c);
		return;
	}
	end = http_head_end(h->h_buf, h->h_len, h->h_scanned);
	h->h_scanned = h->h_len;
	if (end > 0) {
		handshake_route(c, end);
		return;
	}
	if (h->h_len == sizeof(h->h_buf))
		handshake_fail(c, 431, "request head over 8192 bytes", NULL);
}

/* Release the head buffer (the connection upgraded or is being freed). */
void
handshake_free(struct conn *c)
{
	if (c->c_head != NULL)
		api_free_req(c->c_head);
	free(c->c_head);
	c->c_head = NULL;
}

/* The head deadline passed: slowloris or a dead client. */
void
handshake_expire(struct conn *c)
{
	log_debug("request head timeout");
	handshake_fail(c, 408, "request head not received in time", NULL);
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
			handshake_fail(c, 503, "cannot reach Redis both ways",
			    NULL);
		else
			handshake_fail(c, 200, "ok", NULL);
	} else if (api_route(c, req))
		;	/* answered, or waiting for its body or answer */
	else if (gl->l_conf->lc_demo != NULL &&
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

static void
handshake_upgrade(struct conn *c, const struct http_req *req)
{
	const struct http_hdr	*h, *key;
	struct ident		*id = NULL;
	char			 accept[WSKEY_ACCEPTLEN + 1];
	char			 why[160], sid[40];
	ssize_t			 n;
	int			 status;

	if (req->r_minor != 1) {
		handshake_fail(c, 400, "HTTP/1.1 required", NULL);
		return;
	}
	if (http_hdr_count(req, "Host") != 1) {
		handshake_fail(c, 400, "missing or repeated Host", NULL);
		return;
	}
	if (!http_hdr_has_token(req, "Upgrade", "websocket")) {
		handshake_fail(c, 400, "missing Upgrade: websocket", NULL);
		return;
	}
	if (!http_hdr_has_token(req, "Connection", "upgrade")) {
		handshake_fail(c, 400, "missing Connection: upgrade", NULL);
		return;
	}
	if (http_hdr_count(req, "Sec-WebSocket-Version") != 1 ||
	    (h = http_hdr_get(req, "Sec-WebSocket-Version")) == NULL ||
	    h->h_valuelen != 2 || memcmp(h->h_value, "13", 2) != 0) {
		handshake_fail(c, 426, "WebSocket version 13 required",
		    "Sec-WebSocket-Version: 13\r\n");
		return;
	}
	if (http_hdr_count(req, "Sec-WebSocket-Key") != 1 ||
	    (key = http_hdr_get(req, "Sec-WebSocket-Key")) == NULL ||
	    !wskey_valid(key->h_value, key->h_valuelen)) {
		handshake_fail(c, 400, "missing or invalid Sec-WebSocket-Key",
		    NULL);
		return;
	}
	if (((h = http_hdr_get(req, "Content-Length")) != NULL &&
	    !(h->h_valuelen == 1 && h->h_value[0] == '0')) ||
	    http_hdr_get(req, "Transfer-Encoding") != NULL) {
		handshake_fail(c, 400, "upgrade request with a body", NULL);
		return;
	}
	if (gl->l_conf->lc_origins != NULL &&
	    (h = http_hdr_get(req, "Origin")) != NULL &&
	    !origin_allowed(gl->l_conf->lc_origins, h)) {
		handshake_fail(c, 403, "origin not allowed", NULL);
		return;
	}
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
	if (req->r_query != NULL && (n = http_query_get(req->r_query,
	    req->r_querylen, "session", sid, sizeof(sid))) > 0 &&
	    sess_load(c, sid, n, accept, req->r_headlen) == 0)
		return;		/* answered once the session is loaded */
	handshake_finish(c, accept, req->r_headlen);
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
	conn_send_raw(c, resp, n);
	/*
	 * Bytes the client sent after its head are its first frames.  The
	 * head buffer and the frame state share a field: detach it first.
	 */
	head = c->c_head;
	c->c_head = NULL;
	ws_start(c, head->h_buf + headlen, head->h_len - headlen);
	free(head);
	conn_touch(c);
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
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
	    "Connection: close\r\n%s\r\n%s\n", status, status_text(status),
	    strlen(line) + 1, extra != NULL ? extra : "", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		fatalx("handshake_fail: response too long");
	if (status != 200)
		log_verbose("http %d: %s", status, line);
	conn_send_raw(c, buf, n);
	handshake_free(c);
	conn_close_after_flush(c);
}
