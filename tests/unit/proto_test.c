/*
 * proto_test.c -- the client request parser of gw-listen (proto.c).
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tap.h"

/* Parse s; return the error code, or "ok". */
static const char *
parse(const char *s, struct req *rq)
{
	static struct proto_err	err;

	if (proto_parse(s, strlen(s), rq, &err) == 0)
		return "ok";
	return err.pe_code;
}

static void
expect(const char *s, const char *code)
{
	struct req	 rq;
	const char	*got = parse(s, &rq);

	ok(strcmp(got, code) == 0, "%s -> %s (got %s)", s, code, got);
	proto_req_free(&rq);
}

int
main(void)
{
	struct req	rq;
	char		big[300];

	/* Not a request at all. */
	expect("", "bad_request");
	expect("nonsense", "bad_request");
	expect("[1,2]", "bad_request");
	expect("\"subscribe\"", "bad_request");
	expect("{\"type\":\"publish\",\"type\":\"x\"}", "bad_request");
	expect("{}", "bad_request");
	expect("{\"type\":7,\"channel\":\"a\"}", "bad_request");
	expect("{\"type\":\"dance\",\"channel\":\"a\"}", "unknown_type");
	expect("{\"type\":\"subscribe\"}", "bad_request");
	expect("{\"type\":\"subscribe\",\"channel\":5}", "bad_request");
	expect("{\"type\":\"subscribe\",\"channel\":\"a\",\"id\":[1]}",
	    "bad_request");
	expect("{\"type\":\"subscribe\",\"channel\":\"a\",\"id\":null}",
	    "bad_request");

	/* Channel names. */
	expect("{\"type\":\"subscribe\",\"channel\":\"\"}", "bad_channel");
	expect("{\"type\":\"subscribe\",\"channel\":\"a b\"}", "bad_channel");
	/* jansson refuses \u0000 in strings: invalid JSON for us. */
	expect("{\"type\":\"subscribe\",\"channel\":\"a\\u0000b\"}",
	    "bad_request");
	expect("{\"type\":\"subscribe\",\"channel\":\"caf\\u00e9\"}",
	    "bad_channel");
	expect("{\"type\":\"subscribe\",\"channel\":\"a*\"}", "bad_channel");
	expect("{\"type\":\"subscribe\",\"channel\":"
	    "\"Az09_-:.@/=#\"}", "ok");
	memset(big, 'x', sizeof(big));
	ok(parse_channel(big, 200), "200-byte channel is valid");
	ok(!parse_channel(big, 201), "201-byte channel is not");
	ok(!parse_channel("a,b", 3), "comma is not a channel byte");

	/* Each type's fields. */
	expect("{\"type\":\"subscribe\",\"channel\":\"a\",\"presence\":1}",
	    "bad_request");
	expect("{\"type\":\"subscribe\",\"channel\":\"a\",\"since\":5}",
	    "bad_request");
	expect("{\"type\":\"subscribe\",\"channel\":\"a\",\"since\":\"\"}",
	    "bad_request");
	expect("{\"type\":\"publish\",\"channel\":\"a\"}", "bad_request");
	expect("{\"type\":\"publish\",\"channel\":\"a\",\"data\":null}", "ok");
	expect("{\"type\":\"typing\",\"channel\":\"a\",\"state\":\"go\"}",
	    "bad_request");
	expect("{\"type\":\"typing\",\"channel\":\"a\",\"state\":\"stop\"}",
	    "ok");
	expect("{\"type\":\"history\",\"channel\":\"a\",\"limit\":0}",
	    "bad_request");
	expect("{\"type\":\"history\",\"channel\":\"a\",\"limit\":1001}",
	    "bad_request");
	expect("{\"type\":\"history\",\"channel\":\"a\",\"limit\":1000}", "ok");
	expect("{\"type\":\"presence\",\"channel\":\"a\"}", "ok");
	expect("{\"type\":\"unsubscribe\",\"channel\":\"a\"}", "ok");

	/* What a good request carries. */
	ok(strcmp(parse("{\"id\":\"x7\",\"type\":\"subscribe\",\"channel\":"
	    "\"doc:1\",\"presence\":true,\"since\":\"00ff\"}", &rq), "ok") == 0
	    && rq.rq_type == REQ_SUBSCRIBE && rq.rq_presence == 1 &&
	    strcmp(rq.rq_channel, "doc:1") == 0 &&
	    strcmp(rq.rq_since, "00ff") == 0 &&
	    strcmp(json_string_value(rq.rq_id), "x7") == 0,
	    "subscribe fields parsed");
	proto_req_free(&rq);
	ok(strcmp(parse("{\"type\":\"publish\",\"channel\":\"c\",\"id\":3,"
	    "\"data\":{\"k\":[1,2]}}", &rq), "ok") == 0 &&
	    rq.rq_type == REQ_PUBLISH && json_is_object(rq.rq_data) &&
	    json_integer_value(rq.rq_id) == 3, "publish fields parsed");
	proto_req_free(&rq);

	/* A failed request still yields its id, to echo. */
	ok(strcmp(parse("{\"type\":\"nope\",\"id\":42}", &rq),
	    "unknown_type") == 0 && rq.rq_id != NULL &&
	    json_integer_value(rq.rq_id) == 42, "id kept on error");
	proto_req_free(&rq);

	/* The error frame. */
	{
		json_t	*id = json_integer(9), *o;
		char	*s;
		size_t	 n = 0;

		s = proto_error_json(id, "bad_channel", "nope", &n);
		o = json_loads(s, 0, NULL);
		ok(o != NULL && n == strlen(s) &&
		    strcmp(json_string_value(json_object_get(o, "type")),
		    "error") == 0 &&
		    json_integer_value(json_object_get(o, "id")) == 9 &&
		    strcmp(json_string_value(json_object_get(o, "code")),
		    "bad_channel") == 0, "error frame: %s", s);
		json_decref(o);
		free(s);
		s = proto_error_json(NULL, "internal", "x", &n);
		o = json_loads(s, 0, NULL);
		ok(o != NULL && json_is_null(json_object_get(o, "id")),
		    "error without id has id null");
		json_decref(o);
		free(s);
		ok(proto_error_json(NULL, "bad_request", "bad \xff byte", &n)
		    == NULL, "a message that is not UTF-8 is refused");
		json_decref(id);
	}
	return tap_done();
}
