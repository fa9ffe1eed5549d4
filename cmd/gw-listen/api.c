/*
 * api.c -- the HTTP API for backends (PROTOCOL.md section 6) and GET
 * /metrics.  A backend publishes, sends to a user, reads presence and
 * history, lists channels and disconnects clients without a WebSocket,
 * authenticated by "Authorization: apikey KEY" with a key of
 * --api-key-file (apiauth.c).  Requests go to the node's gw-bridge and
 * gw-presence like a client's do (link.c); the answer is JSON, errors are
 * {"error": {"code", "message"}} with a 4xx or 5xx status.  An HTTP/1.1
 * connection is kept for the next request (handshake.c) unless it says
 * "Connection: close" or its body was not read.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "htab.h"
#include "jscan.h"
#include "http.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "api.h"
#include "proto.h"
#include "xmalloc.h"

#define API_MAXBODY	(1024 * 1024)	/* bytes of a request body */
#define API_MAXBATCH	1000		/* publishes in one batch */
#define API_BADCHAN	"a channel is 1 to 200 bytes of A-Z a-z 0-9 and " \
			"_ - : . @ / = #"

enum api_route {
	R_PUBLISH = 1, R_SEND, R_BATCH, R_PRESENCE, R_HISTORY, R_CHANNELS,
	R_DISCONNECT
};


static int	api_publish(struct conn *, const char *, json_t *, uint32_t);
static int	api_publish_text(struct conn *, const char *, size_t,
		    const char *, size_t, uint32_t);
static int	api_fast(struct conn *);
static int	api_expect(struct conn *, const struct http_req *, int);
static size_t	api_length(struct conn *, const struct http_req *);
static void	api_batch_new(struct conn_head *, size_t);
static void	api_get(struct conn *, int, const struct http_req *);
static int	api_twice(struct conn *, const struct http_req *);
static struct ipc_msg *api_history_msg(struct conn *, const struct http_req *,
		    const char *);

static int
api_path_route(const struct http_req *req, const char **method)
{
	static const struct {
		const char	*path;
		int		 route;
		const char	*method;
	} routes[] = {
		{ "/api/publish",	R_PUBLISH,	"POST" },
		{ "/api/send",		R_SEND,		"POST" },
		{ "/api/batch",		R_BATCH,	"POST" },
		{ "/api/presence",	R_PRESENCE,	"GET" },
		{ "/api/history",	R_HISTORY,	"GET" },
		{ "/api/channels",	R_CHANNELS,	"GET" },
		{ "/api/disconnect",	R_DISCONNECT,	"POST" },
	};
	size_t	i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (req->r_pathlen == strlen(routes[i].path) &&
		    memcmp(req->r_path, routes[i].path, req->r_pathlen) == 0) {
			*method = routes[i].method;
			return routes[i].route;
		}
	return 0;
}

/*
 * Route req, read on c, if it is /metrics or an API path.  Return value:
 * 1 if it was (answered, or waiting for its body or its answer), 0 if
 * not.
 */
int
api_route(struct conn *c, const struct http_req *req)
{
	const struct http_hdr	*h;
	struct conn_head	*head = c->c_head;
	const char		*method;
	size_t			 len, have;
	int			 route, keep = head->h_keep;

	/*
	 * Answered before its body is read, a request with one must close:
	 * its body would be taken for the next request.
	 */
	if (http_hdr_get(req, "Transfer-Encoding") != NULL ||
	    ((h = http_hdr_get(req, "Content-Length")) != NULL &&
	    !(h->h_valuelen == 1 && h->h_value[0] == '0')))
		head->h_keep = 0;
	if (req->r_pathlen == 8 && memcmp(req->r_path, "/metrics", 8) == 0) {
		if (!api_metrics_ok(c))
			api_error(c, 403, "forbidden", "not from this address");
		else if (req->r_methodlen != 3 ||
		    memcmp(req->r_method, "GET", 3) != 0)
			api_error_hdr(c, 405, "method_not_allowed",
			    "use GET", "Allow: GET\r\n");
		else
			apinode_metrics(c);
		return 1;
	}
	if (req->r_pathlen < 5 || memcmp(req->r_path, "/api/", 5) != 0 ||
	    !api_enabled())
		return 0;
	if ((route = api_path_route(req, &method)) == 0) {
		api_error(c, 404, "not_found", "no such API route");
		return 1;
	}
	if (!api_authorized(req)) {
		api_error_hdr(c, 401, "unauthorized",
		    "want Authorization: apikey KEY",
		    "WWW-Authenticate: apikey\r\n");
		return 1;
	}
	if (req->r_methodlen != strlen(method) ||
	    memcmp(req->r_method, method, req->r_methodlen) != 0) {
		api_error_hdr(c, 405, "method_not_allowed",
		    strcmp(method, "GET") == 0 ? "use GET" : "use POST",
		    strcmp(method, "GET") == 0 ? "Allow: GET\r\n" :
		    "Allow: POST\r\n");
		return 1;
	}
	head->h_route = route;	/* an API request: see handshake_read() */
	if (strcmp(method, "GET") == 0) {
		api_get(c, route, req);
		return 1;
	}
	if ((len = api_length(c, req)) == 0)
		return 1;
	have = head->h_len - req->r_headlen;
	if (have > len)
		have = len;
	if (api_expect(c, req, have < len) == -1)
		return 1;
	head->h_body = xmalloc(len + 1);
	memcpy(head->h_body, head->h_buf + req->r_headlen, have);
	head->h_bodylen = len;
	head->h_bodygot = have;
	head->h_used += have;
	head->h_keep = keep;	/* the body will be read whole */
	c->c_flags |= CONN_F_WAIT;
	if (have == len)
		api_body(c);
	return 1;
}

/*
 * The Content-Length of a POST: 1 to API_MAXBODY, or 0 once c was
 * answered 411 (none, or chunked) or 413 (bad or too large).
 */
static size_t
api_length(struct conn *c, const struct http_req *req)
{
	const struct http_hdr	*h;
	char			*end = NULL;
	unsigned long		 len = 0;

	if ((h = http_hdr_get(req, "Content-Length")) == NULL ||
	    http_hdr_get(req, "Transfer-Encoding") != NULL) {
		c->c_head->h_keep = 0;
		api_error(c, 411, "bad_request", "want a Content-Length");
		return 0;
	}
	errno = 0;
	if (h->h_valuelen > 0 && h->h_value[0] >= '0' && h->h_value[0] <= '9')
		len = strtoul(h->h_value, &end, 10);
	if (h->h_valuelen == 0 || errno != 0 ||
	    end != h->h_value + h->h_valuelen || len == 0 ||
	    len > API_MAXBODY) {
		c->c_head->h_keep = 0;
		api_error(c, 413, "too_large",
		    "a body of 1 to 1048576 bytes, please");
		return 0;
	}
	return len;
}

/*
 * An HTTP/1.1 request's "Expect: 100-continue" (curl sends it with a big
 * body and waits a second for the answer): say "100 Continue" before its
 * body is read, if it has not all come.  Another expectation is answered
 * 417 and the connection closed (its body unread): -1.  HTTP/1.0's
 * Expect is ignored (RFC 9110, 10.1.1).
 */
static int
api_expect(struct conn *c, const struct http_req *req, int waiting)
{
	static const char	 cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const struct http_hdr	*h;

	if (req->r_minor != 1 || (h = http_hdr_get(req, "Expect")) == NULL)
		return 0;
	if (h->h_valuelen == 12 &&
	    strncasecmp(h->h_value, "100-continue", 12) == 0) {
		if (waiting)
			conn_send_raw(c, cont, sizeof(cont) - 1);
		return 0;
	}
	c->c_head->h_keep = 0;
	api_error(c, 417, "bad_request", "only Expect: 100-continue");
	return -1;
}

/* A JSON string member of o that is a valid channel name, or NULL. */
static const char *
api_channel(json_t *o)
{
	const char	*ch = json_string_value(json_object_get(o, "channel"));

	if (ch == NULL || !parse_channel(ch, strlen(ch)))
		return NULL;
	return ch;
}

/*
 * A publish or batch body in the plain forms that jscan takes, its every
 * channel good: publish each item's data as it is written (without its
 * whitespace), no tree built.  Return value: 1 if done so (c's request is
 * under way or was answered), 0 if the body is left to jansson.
 */
static int
api_fast(struct conn *c)
{
	static struct jscan_item	 its[API_MAXBATCH];
	struct conn_head		*head = c->c_head;
	char				 buf[PROTO_DUMPBUF], *d;
	size_t				 i, n;
	int				 r = 0;

	if (jscan_items(head->h_body, head->h_bodylen,
	    head->h_route == R_BATCH, its, API_MAXBATCH, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (!parse_channel(its[i].ji_chan, its[i].ji_chanlen))
			return 0;
	if (head->h_route == R_BATCH)
		api_batch_new(head, n);
	for (i = 0; i < n && r == 0; i++) {
		d = (char *)its[i].ji_data;
		if (its[i].ji_ws) {
			/* Compact, as jansson's encoding would be. */
			if (its[i].ji_datalen > sizeof(buf))
				d = xmalloc(its[i].ji_datalen);
			else
				d = buf;
			its[i].ji_datalen = jscan_compact(its[i].ji_data,
			    its[i].ji_datalen, d);
		}
		r = api_publish_text(c, its[i].ji_chan, its[i].ji_chanlen, d,
		    its[i].ji_datalen, i);
		if (d != buf && d != its[i].ji_data)
			free(d);
	}
	return 1;
}

/* A batch of n items begins: its answers go in head->h_api. */
static void
api_batch_new(struct conn_head *head, size_t n)
{
	head->h_api = xcalloc(1, sizeof(*head->h_api));
	head->h_api->ar_n = head->h_api->ar_left = n;
	head->h_api->ar_at = xcalloc(2 * n, sizeof(uint32_t));
}

/* The body of c's request is in: parse it and act. */
void
api_body(struct conn *c)
{
	struct conn_head	*head = c->c_head;
	json_error_t		 jerr;
	json_t			*o, *e, *d;
	const char		*ch, *user;
	char			 uch[PROTO_MAXCHAN + 1];
	size_t			 i;

	head->h_body[head->h_bodylen] = '\0';
	if ((head->h_route == R_PUBLISH || head->h_route == R_BATCH) &&
	    api_fast(c))
		return;
	/* A key given twice is refused, as on the WebSocket (proto.c). */
	if ((o = json_loadb(head->h_body, head->h_bodylen,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		char	msg[sizeof(jerr.text) + 32];

		/* jansson's reason: a number too big for 64 bits, say. */
		snprintf(msg, sizeof(msg), "the body is not JSON: %s",
		    jerr.text);
		api_error(c, 400, "bad_request", msg);
		return;
	}
	switch (head->h_route) {
	case R_PUBLISH:
		if (json_is_string(json_object_get(o, "channel")) &&
		    api_channel(o) == NULL)
			api_error(c, 400, "bad_channel", API_BADCHAN);
		else if ((ch = api_channel(o)) == NULL ||
		    (d = json_object_get(o, "data")) == NULL)
			api_error(c, 400, "bad_request",
			    "want {\"channel\": C, \"data\": ANY}");
		else
			(void)api_publish(c, ch, d, 0);
		break;
	case R_SEND:
		user = json_string_value(json_object_get(o, "user"));
		d = json_object_get(o, "data");
		if (user == NULL || d == NULL || *user == '\0' ||
		    strlen(user) > LISTEN_MAXUSER || (size_t)snprintf(uch,
		    sizeof(uch), "user:%s", user) >= sizeof(uch) ||
		    !parse_channel(uch, strlen(uch)))
			api_error(c, 400, "bad_request",
			    "want {\"user\": U, \"data\": ANY}, U a user id "
			    "of 1 to 128 bytes");
		else
			(void)api_publish(c, uch, d, 0);
		break;
	case R_BATCH:
		if (!json_is_array(o) || json_array_size(o) == 0 ||
		    json_array_size(o) > API_MAXBATCH) {
			api_error(c, 400, "bad_request",
			    "want an array of 1 to 1000 {channel, data}");
			break;
		}
		json_array_foreach(o, i, e)
			if (api_channel(e) == NULL ||
			    json_object_get(e, "data") == NULL) {
				if (json_is_string(json_object_get(e,
				    "channel")) && api_channel(e) == NULL)
					api_error(c, 400, "bad_channel",
					    API_BADCHAN);
				else
					api_error(c, 400, "bad_request", "item "
					    "without a channel or data");
				json_decref(o);
				return;
			}
		api_batch_new(head, json_array_size(o));
		json_array_foreach(o, i, e)
			if (api_publish(c, api_channel(e),
			    json_object_get(e, "data"), i) == -1)
				break;	/* c was answered */
		break;
	case R_DISCONNECT:
		apinode_disconnect(c, o);
		break;
	}
	json_decref(o);
}

/*
 * Publish data on channel ch for c's request (item idx of a batch).
 * Return value: 0, or -1 if c was answered with an error.
 */
static int
api_publish(struct conn *c, const char *ch, json_t *data, uint32_t idx)
{
	char	 buf[PROTO_DUMPBUF], *s;
	size_t	 n;
	int	 r;

	if ((s = proto_dump(data, buf, sizeof(buf), &n)) == NULL)
		fatalx("api: json out of memory");
	r = api_publish_text(c, ch, strlen(ch), s, n, idx);
	if (s != buf)
		free(s);
	return r;
}

/*
 * A query parameter that matters given twice: which one?  The first
 * would win silently.  Answers 400 and returns 1 if one is.
 */
static int
api_twice(struct conn *c, const struct http_req *req)
{
	static const char *const keys[] = { "channel", "since", "limit",
	    "pattern" };
	char		 twice[32];
	size_t		 k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (http_query_count(req->r_query, req->r_querylen,
		    keys[k]) > 1) {
			snprintf(twice, sizeof(twice), "%s given twice",
			    keys[k]);
			api_error(c, 400, "bad_request", twice);
			return 1;
		}
	return 0;
}

/*
 * GET /api/history's request to gw-bridge for channel ch, from since and
 * limit; NULL, the error answered, if they are bad or c asks too often.
 */
static struct ipc_msg *
api_history_msg(struct conn *c, const struct http_req *req, const char *ch)
{
	char		 since[PROTO_MAXOFFSET + 2], limit[16], *end;
	const char	*busy;
	struct ipc_msg	*m;
	ssize_t		 n;
	long		 lim = 100;

	n = http_query_get(req->r_query, req->r_querylen, "since", since,
	    sizeof(since));
	if (n == -2 || n == 0 || n > PROTO_MAXOFFSET) {
		api_error(c, 400, "bad_request", "bad since");
		return NULL;
	}
	if (n < 0)
		since[0] = '\0';
	if (http_query_get(req->r_query, req->r_querylen, "limit", limit,
	    sizeof(limit)) != -1) {
		lim = strtol(limit, &end, 10);
		if (limit[0] == '\0' || *end != '\0' || lim < 1 ||
		    lim > PROTO_MAXHISTORY) {
			api_error(c, 400, "bad_request", "limit: 1 to 1000");
			return NULL;
		}
	}
	if ((busy = client_hist_busy(c)) != NULL) {
		api_error(c, 429, "rate_limited", busy);
		return NULL;
	}
	m = ipc_create(GW_MSG_BRIDGE_HISTORY, 0);
	ipc_add_cstr(m, ch);
	ipc_add_cstr(m, since);
	ipc_add_u32(m, lim);
	return m;
}

/* api_publish() of data's JSON text s (n bytes) on channel ch (chlen). */
static int
api_publish_text(struct conn *c, const char *ch, size_t chlen,
    const char *s, size_t n, uint32_t idx)
{
	struct timespec	 ts;
	struct ipc_msg	*m;
	struct pend	*pd;
	uint64_t	 ms;
	int		 batch = c->c_head->h_api != NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (proto_message_len(chlen, n, "", ms) > gl->l_conf->lc_maxmsg) {
		if (!batch) {
			api_error(c, 413, "too_large",
			    "message over max_message");
			return -1;
		}
		/* This item's answer; the others go on. */
		pd = client_pend(c, PD_PUBLISH, NULL);
		pd->pd_api = 1;
		pd->pd_apiidx = idx;
		api_item_json(pd, json_pack("{s:{s:s, s:s}}", "error", "code",
		    "too_large", "message", "message over max_message"), 413);
		return 0;
	}
	m = ipc_create(GW_MSG_BRIDGE_PUBLISH, 0);
	ipc_add_str(m, ch, chlen);
	ipc_add_str(m, s, n);
	ipc_add_cstr(m, "");		/* from: the server, null */
	ipc_add_u64(m, ms);
	pd = client_pend(c, PD_PUBLISH, NULL);
	pd->pd_api = 1;
	pd->pd_apiidx = idx;
	if (link_request(m, pd) == -1) {
		if (batch) {
			api_fail(pd, "unavailable",
			    "the node cannot reach its message store");
			return 0;
		}
		client_pend_free(pd);
		api_error(c, 503, "unavailable",
		    "the node cannot reach its message store");
		return -1;
	}
	return 0;
}

static void
api_get(struct conn *c, int route, const struct http_req *req)
{
	char		 ch[PROTO_MAXCHAN + 2];
	struct ipc_msg	*m;
	struct pend	*pd;
	ssize_t		 n;

	if (api_twice(c, req))
		return;
	if (route == R_CHANNELS) {
		n = http_query_get(req->r_query, req->r_querylen, "pattern",
		    ch, sizeof(ch));
		if (n == -2) {
			api_error(c, 400, "bad_request", "bad pattern");
			return;
		}
		apinode_channels(c, n < 0 ? NULL : ch);
		return;
	}
	n = http_query_get(req->r_query, req->r_querylen, "channel", ch,
	    sizeof(ch));
	if (n > 0 && !parse_channel(ch, n)) {
		api_error(c, 400, "bad_channel", API_BADCHAN);
		return;
	}
	if (n <= 0) {
		api_error(c, 400, "bad_request", "want channel=NAME");
		return;
	}
	if (route == R_PRESENCE) {
		if (!plink_up()) {
			api_error(c, 503, "unavailable",
			    "the node's presence service is not reachable");
			return;
		}
		pd = client_pend(c, PD_PRESENCE, NULL);
		pd->pd_api = 1;
		m = ipc_create(GW_MSG_PRESENCE_QUERY, 0);
		ipc_add_cstr(m, ch);
		ipc_add_cstr(m, "");	/* no sync mark */
	} else {
		if ((m = api_history_msg(c, req, ch)) == NULL)
			return;
		pd = client_pend(c, PD_HISTORY, NULL);
		pd->pd_api = 1;
	}
	c->c_flags |= CONN_F_WAIT;
	if (link_request(m, pd) == -1) {
		client_pend_free(pd);
		api_error(c, 503, "unavailable", "the node is not ready");
	}
}

/* Free what an API request held (the connection's head goes). */
void
api_free_req(struct conn_head *head)
{
	free(head->h_body);
	head->h_body = NULL;
	if (head->h_api != NULL) {
		free(head->h_api->ar_at);
		free(head->h_api->ar_buf);
		free(head->h_api);
		head->h_api = NULL;
	}
}
