/*
 * apireply.c -- the answers of the HTTP API (api.c): a request's, each
 * item's of a batch (joined in item order once the last is in), errors
 * as {"error": {"code", "message"}}, and what gw-bridge and gw-presence
 * answered for a request.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

static void	api_item(struct pend *, const char *, size_t, int,
		    const char *);
static void	api_batch_reply(struct conn *, struct api_req *);

/*
 * A batch item, or the single request, got its answer (or error): t, the
 * answer's JSON text, n bytes; extra: header lines of a single request's
 * answer, or NULL.
 */
static void
api_item(struct pend *pd, const char *t, size_t n, int status,
    const char *extra)
{
	struct conn	*c = pd->pd_conn;
	struct api_req	*ar;
	uint32_t	 i = pd->pd_apiidx;

	client_pend_free(pd);
	if (c->c_state != CONN_ST_HEAD || c->c_head == NULL)
		return;
	if ((ar = c->c_head->h_api) == NULL) {
		api_send(c, status, "application/json", t, n, extra);
		return;
	}
	if (i >= ar->ar_n || ar->ar_at[ar->ar_n + i] != 0) {
		log_warnx("api: batch item %u answered twice", i);
		return;
	}
	if (ar->ar_used + n > ar->ar_cap) {
		ar->ar_cap = ar->ar_cap == 0 ? 64 * (size_t)ar->ar_n : ar->ar_cap;
		while (ar->ar_cap < ar->ar_used + n)
			ar->ar_cap *= 2;
		ar->ar_buf = xrealloc(ar->ar_buf, ar->ar_cap);
	}
	memcpy(ar->ar_buf + ar->ar_used, t, n);
	ar->ar_at[i] = ar->ar_used;
	ar->ar_at[ar->ar_n + i] = n;
	ar->ar_used += n;
	if (--ar->ar_left == 0)
		api_batch_reply(c, ar);
}

/* Every item of c's batch ar has its answer: send them, in item order. */
static void
api_batch_reply(struct conn *c, struct api_req *ar)
{
	char		*s, *p;
	uint32_t	 i;

	p = s = xmalloc(ar->ar_used + ar->ar_n + 2);
	*p++ = '[';
	for (i = 0; i < ar->ar_n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, ar->ar_buf + ar->ar_at[i], ar->ar_at[ar->ar_n + i]);
		p += ar->ar_at[ar->ar_n + i];
	}
	*p++ = ']';
	api_send(c, 200, "application/json", s, p - s, NULL);
	free(s);
}

/* api_item() with the answer o (a reference the call takes). */
void
api_item_json(struct pend *pd, json_t *o, int status)
{
	api_item_json_hdr(pd, o, status, NULL);
}

/* api_item_json() with header lines extra ("Name: value\r\n"...). */
void
api_item_json_hdr(struct pend *pd, json_t *o, int status, const char *extra)
{
	char	 buf[PROTO_DUMPBUF], *s;
	size_t	 n;

	if (o == NULL || (s = proto_dump(o, buf, sizeof(buf), &n)) == NULL)
		fatalx("api: json out of memory");
	json_decref(o);
	api_item(pd, s, n, status, extra);
	if (s != buf)
		free(s);
}

/*
 * A publish's answer, {"offset": off}, written directly: an offset is
 * hex digits, ':' and '-' (lua.h); anything else is encoded by jansson.
 */
static void
api_offset(struct pend *pd, const char *off, size_t len)
{
	char	 t[PROTO_MAXOFFSET + 16];
	size_t	 i = 0;

	if (len <= PROTO_MAXOFFSET)
		while (i < len && (isxdigit((unsigned char)off[i]) ||
		    off[i] == ':' || off[i] == '-'))
			i++;
	if (len > PROTO_MAXOFFSET || i != len) {
		api_item_json(pd, json_pack("{s:s%}", "offset", off, len), 200);
		return;
	}
	memcpy(t, "{\"offset\":\"", 11);
	memcpy(t + 11, off, len);
	memcpy(t + 11 + len, "\"}", 2);
	api_item(pd, t, len + 13, 200, NULL);
}

/* The bridge answered an API request. */
int
api_answer(struct pend *pd, uint32_t type, struct ipc_rd *rd)
{
	const char	*off;
	size_t		 offlen;
	json_t		*a;
	int		 complete;

	switch (type) {
	case GW_MSG_BRIDGE_PUBLISHED:
		if (pd->pd_kind != PD_PUBLISH ||
		    ipc_get_str(rd, &off, &offlen) == -1 || ipc_end(rd) == -1)
			return -1;
		gst.st_published++;
		api_offset(pd, off, offlen);
		return 0;
	case GW_MSG_BRIDGE_HISTORY_REPLY:
		if (pd->pd_kind != PD_HISTORY ||
		    (a = client_history_read(rd, &complete)) == NULL)
			return -1;
		api_item_json(pd, json_pack("{s:o, s:b}", "messages", a,
		    "complete", complete), 200);
		return 0;
	case GW_MSG_BRIDGE_GATHERED:
		if (pd->pd_kind != PD_KICK && pd->pd_kind != PD_CHANNELS &&
		    pd->pd_kind != PD_METRICS)
			return -1;
		return apinode_gathered(pd, rd);
	}
	return -1;
}

/* An API request failed at the bridge or gw-presence. */
void
api_fail(struct pend *pd, const char *code, const char *msg)
{
	api_item_json(pd, json_pack("{s:{s:s, s:s}}", "error", "code", code,
	    "message", msg), strcmp(code, "unavailable") == 0 ? 503 : 500);
}

/* gw-presence answered an API presence request. */
void
api_presence(struct pend *pd, json_t *answer, const char *code,
    const char *msg)
{
	if (answer == NULL)
		api_fail(pd, code, msg);
	else
		api_item_json(pd, json_incref(answer), 200);
}


void
api_send(struct conn *c, int status, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	char	hdr[320];
	int	n, keep = c->c_head != NULL && c->c_head->h_keep;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Cache-Control: no-store\r\nConnection: %s\r\n\r\n", status,
	    handshake_reason(status), ctype, len, extra != NULL ? extra : "",
	    keep ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		fatalx("api: header too long");
	conn_send_raw(c, hdr, n);
	conn_send_raw(c, body, len);
	handshake_answered(c, keep);
}

/*
 * Answer c with status and o (a reference the call takes), and extra
 * header lines (each ending in CRLF), or NULL.
 */
void
api_reply_hdr(struct conn *c, int status, json_t *o, const char *extra)
{
	char	*s;

	if (o == NULL || (s = json_dumps(o, JSON_COMPACT |
	    JSON_ENCODE_ANY)) == NULL)
		fatalx("api: json out of memory");
	json_decref(o);
	api_send(c, status, "application/json", s, strlen(s), extra);
	free(s);
}

void
api_error(struct conn *c, int status, const char *code, const char *msg)
{
	api_error_hdr(c, status, code, msg, NULL);
}

/* api_error() with extra header lines (Allow, WWW-Authenticate). */
void
api_error_hdr(struct conn *c, int status, const char *code, const char *msg,
    const char *extra)
{
	if (status != 401)
		log_verbose("api %d %s: %s", status, code, msg);
	api_reply_hdr(c, status, json_pack("{s:{s:s, s:s}}", "error", "code",
	    code, "message", msg), extra);
}

/* A 200 answer that is not JSON (/metrics): text, n bytes, on c. */
void
api_text(struct conn *c, const char *type, const char *text, size_t n)
{
	api_send(c, 200, type, text, n, NULL);
}

/* api_text() for the request pd, if its connection still waits. */
void
api_item_text(struct pend *pd, const char *type, const char *text, size_t n)
{
	struct conn	*c = pd->pd_conn;

	client_pend_free(pd);
	if (c->c_state == CONN_ST_HEAD && c->c_head != NULL)
		api_send(c, 200, type, text, n, NULL);
}
