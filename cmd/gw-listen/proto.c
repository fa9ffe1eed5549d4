/*
 * proto.c -- parse and validate a client request; see proto.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proto.h"

static int	proto_fail(struct proto_err *, const char *, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static int	proto_channel(struct req *, struct proto_err *);

static const struct {
	const char	*name;
	enum req_type	 type;
} proto_types[] = {
	{ "subscribe",		REQ_SUBSCRIBE },
	{ "unsubscribe",	REQ_UNSUBSCRIBE },
	{ "publish",		REQ_PUBLISH },
	{ "typing",		REQ_TYPING },
	{ "presence",		REQ_PRESENCE },
	{ "history",		REQ_HISTORY },
};

static int
proto_fail(struct proto_err *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	err->pe_code = code;
	va_start(ap, fmt);
	vsnprintf(err->pe_msg, sizeof(err->pe_msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int
proto_channel(struct req *rq, struct proto_err *err)
{
	json_t	*v = json_object_get(rq->rq_root, "channel");

	if (v == NULL)
		return proto_fail(err, "bad_request", "missing channel");
	if (!json_is_string(v))
		return proto_fail(err, "bad_request", "channel must be a string");
	if (!parse_channel(json_string_value(v), json_string_length(v)))
		return proto_fail(err, "bad_channel", "channel names are 1-%d "
		    "bytes of A-Z a-z 0-9 _ - : . @ / = #", PROTO_MAXCHAN);
	rq->rq_channel = json_string_value(v);
	return 0;
}

static int
proto_offset(json_t *v, const char **out, struct proto_err *err)
{
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > PROTO_MAXOFFSET ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return proto_fail(err, "bad_request",
		    "since must be an offset string");
	*out = json_string_value(v);
	return 0;
}

/*
 * Parse one request of len bytes.  On success fill rq and return 0; on
 * failure fill err and return -1, with rq->rq_id set when the request had a
 * usable id, to echo.  Either way the caller ends with proto_req_free(rq).
 */
int
proto_parse(const char *buf, size_t len, struct req *rq,
    struct proto_err *err)
{
	json_error_t	 jerr;
	json_t		*v;
	const char	*type;
	size_t		 i;

	memset(rq, 0, sizeof(*rq));
	rq->rq_limit = -1;
	rq->rq_root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rq->rq_root == NULL)
		return proto_fail(err, "bad_request", "invalid JSON: %s",
		    jerr.text);
	if (!json_is_object(rq->rq_root))
		return proto_fail(err, "bad_request",
		    "a request is a JSON object");
	if ((v = json_object_get(rq->rq_root, "id")) != NULL) {
		if (!json_is_string(v) && !json_is_integer(v) &&
		    !json_is_real(v))
			return proto_fail(err, "bad_request",
			    "id must be a number or a string");
		rq->rq_id = v;
	}
	if ((v = json_object_get(rq->rq_root, "type")) == NULL)
		return proto_fail(err, "bad_request", "missing type");
	if (!json_is_string(v))
		return proto_fail(err, "bad_request", "type must be a string");
	type = json_string_value(v);
	for (i = 0; i < sizeof(proto_types) / sizeof(proto_types[0]); i++)
		if (strcmp(type, proto_types[i].name) == 0)
			break;
	if (i == sizeof(proto_types) / sizeof(proto_types[0]))
		return proto_fail(err, "unknown_type", "unknown request type");
	rq->rq_type = proto_types[i].type;
	if (proto_channel(rq, err) == -1)
		return -1;

	switch (rq->rq_type) {
	case REQ_SUBSCRIBE:
		if ((v = json_object_get(rq->rq_root, "presence")) != NULL) {
			if (!json_is_boolean(v))
				return proto_fail(err, "bad_request",
				    "presence must be true or false");
			rq->rq_presence = json_is_true(v);
		}
		return proto_offset(json_object_get(rq->rq_root, "since"),
		    &rq->rq_since, err);
	case REQ_PUBLISH:
		if ((rq->rq_data = json_object_get(rq->rq_root, "data")) ==
		    NULL)
			return proto_fail(err, "bad_request", "missing data");
		return 0;
	case REQ_TYPING:
		if ((v = json_object_get(rq->rq_root, "state")) != NULL) {
			if (!json_is_string(v) ||
			    (strcmp(json_string_value(v), "stop") != 0 &&
			    strcmp(json_string_value(v), "start") != 0))
				return proto_fail(err, "bad_request",
				    "state must be \"start\" or \"stop\"");
			rq->rq_stop = strcmp(json_string_value(v), "stop") == 0;
		}
		return 0;
	case REQ_HISTORY:
		if ((v = json_object_get(rq->rq_root, "limit")) != NULL) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > PROTO_MAXHISTORY)
				return proto_fail(err, "bad_request",
				    "limit must be an integer 1-%d",
				    PROTO_MAXHISTORY);
			rq->rq_limit = json_integer_value(v);
		}
		return proto_offset(json_object_get(rq->rq_root, "since"),
		    &rq->rq_since, err);
	case REQ_UNSUBSCRIBE:
	case REQ_PRESENCE:
		return 0;
	}
	return 0;
}

/* Release what proto_parse() kept. */
void
proto_req_free(struct req *rq)
{
	json_decref(rq->rq_root);
	rq->rq_root = NULL;
}

/*
 * Encode an error frame's JSON: {"type":"error","id":...,"code":...,
 * "message":...}.  Return a malloc'd string (its length in *lenp) that the
 * caller frees, or NULL if out of memory.
 */
char *
proto_error_json(json_t *id, const char *code, const char *msg, size_t *lenp)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s, s:O?, s:s, s:s}", "type", "error", "id", id,
	    "code", code, "message", msg);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s != NULL)
		*lenp = strlen(s);
	return s;
}

/*
 * The compact JSON text of any value o, its length in *lenp: written into
 * buf (size bytes, not NUL-terminated) when it fits, so that a publish
 * costs no allocation, else into a malloc'd string.  Return value: buf,
 * the string that the caller frees, or NULL if out of memory.
 */
char *
proto_dump(const json_t *o, char *buf, size_t size, size_t *lenp)
{
	size_t	 n;
	char	*s;

	if ((n = json_dumpb(o, buf, size, JSON_COMPACT | JSON_ENCODE_ANY))
	    == 0)
		return NULL;
	*lenp = n;
	if (n <= size)
		return buf;
	if ((s = malloc(n)) == NULL ||
	    json_dumpb(o, s, n, JSON_COMPACT | JSON_ENCODE_ANY) != n) {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * The bytes of the message frame that publishing datalen bytes of data on
 * a channel of chlen bytes from user from ("" for the server) at ts makes,
 * as gw-bridge's publish script writes it: {"type":"message","channel":
 * ,"data":,"offset":"","from":,"ts":} (65 bytes), an offset of
 * PROTO_OFFSETLEN, from as a JSON string (null for the server), the
 * timestamp's digits.  A publish is refused (too_large) when this is over
 * max_message, so that every frame a subscriber gets fits it.
 */
size_t
proto_message_len(size_t chlen, size_t datalen, const char *from,
    uint64_t ts)
{
	size_t	n = 65 + PROTO_OFFSETLEN + chlen + datalen;

	n += from[0] == '\0' ? 4 : buf_jsonlen(from, strlen(from));
	do {
		n++;
		ts /= 10;
	} while (ts > 0);
	return n;
}
