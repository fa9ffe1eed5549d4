/*
 * presence_test.c -- gw-presence's JSON helpers (cmd/gw-presence/pjson.c):
 * string literals, the stored per-user value, the query answer and the
 * typing payloads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../cmd/gw-presence/pjson.h"

static void
test_str(void)
{
	struct pbuf	 b;

	memset(&b, 0, sizeof(b));
	pjson_str(&b, "a\"b\\c\nd\x01\xc3\xa9/", 11);
	ok(strcmp(b.b_p, "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9/\"") == 0,
	    "pjson_str escapes quote, backslash, controls: %s", b.b_p);
	pbuf_free(&b);
	pjson_str(&b, "", 0);
	ok(strcmp(b.b_p, "\"\"") == 0, "pjson_str of the empty string");
	pbuf_free(&b);
	ok(b.b_p == NULL && b.b_len == 0, "pbuf_free empties");
}

static int
value(const char *v, uint64_t *since, char *info, size_t infolen)
{
	const char	*i;
	size_t		 n;

	if (pjson_value(v, strlen(v), since, &i, &n) == -1)
		return -1;
	if (n >= infolen)
		return -1;
	memcpy(info, i, n);
	info[n] = '\0';
	return 0;
}

static void
test_value(void)
{
	uint64_t	 s;
	char		 info[128];
	const char	*bad[] = {
		"", "{", "{\"n\":{}", "{\"n\":{},\"i\":{}}",
		"{\"n\":{\"a\":},\"i\":{}}", "{\"n\":{\"a\":1},\"i\":}",
		"{\"n\":{\"a\":1},\"x\":{}}", "{\"n\":{\"a\":1}",
		"{\"n\":{\"a\":1},\"i\":{}", "{\"n\":{\"a\":1;\"i\":{}}",
		"{\"n\":{\"a\":99999999999999999999},\"i\":{}}",
		"{\"n\":{\"a\\", "{\"n\":{\"a", "{\"n\":{a:1},\"i\":{}}",
		"[\"n\"]", "{\"n\":{\"a\":1},\"i\":[]}",
		"{\"n\":{\"a\":1},\"i\":}}"
	};
	size_t		 i;

	ok(value("{\"n\":{\"a/1\":1700000000123},\"i\":{}}", &s, info,
	    sizeof(info)) == 0 && s == 1700000000123ULL &&
	    strcmp(info, "{}") == 0, "one instance");
	ok(value("{\"n\":{\"a\\/1\":30,\"b\\/2\":20,\"c\\\"}\":25},"
	    "\"i\":{\"x\":[],\"y\":12345678901234567890}}", &s, info,
	    sizeof(info)) == 0 && s == 20 &&
	    strcmp(info, "{\"x\":[],\"y\":12345678901234567890}") == 0,
	    "least of three instances, escapes in ids, info raw: %s", info);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(value(bad[i], &s, info, sizeof(info)) == -1,
		    "rejects %s", bad[i]);
}

#define PAIR(u, v)	{ u, sizeof(u) - 1, v, sizeof(v) - 1 }

static void
test_reply(void)
{
	struct pjson_pair	 p[] = {
		PAIR("zoe", "{\"n\":{\"a/1\":5},\"i\":{\"k\":1}}"),
		PAIR("bob", "{\"n\":{\"a/1\":9,\"b/2\":3},\"i\":{}}"),
		PAIR("al\"x", "{\"n\":{\"a/1\":5},\"i\":{}}"),
		PAIR("bad", "{\"n\":{},\"i\":{}}"),
	};
	char			*j;
	size_t			 len;

	j = pjson_reply(4, p, 4, 10, 1 << 20, &len);
	ok(strcmp(j, "{\"count\":3,\"users\":["
	    "{\"userId\":\"bob\",\"connectedAt\":3,\"info\":{}},"
	    "{\"userId\":\"al\\\"x\",\"connectedAt\":5,\"info\":{}},"
	    "{\"userId\":\"zoe\",\"connectedAt\":5,\"info\":{\"k\":1}}]}") == 0,
	    "sorted by connectedAt then userId, bad value skipped: %s", j);
	ok(len == strlen(j), "length returned");
	free(j);

	j = pjson_reply(3, p, 3, 2, 1 << 20, &len);
	ok(strstr(j, "\"zoe\"") == NULL && strstr(j, "\"bob\"") != NULL &&
	    strcmp(j + len - 19, "],\"truncated\":true}") == 0 &&
	    strncmp(j, "{\"count\":3,", 11) == 0, "cut to max: %s", j);
	free(j);

	/* HRANDFIELD gave 2 of 50: truncated, count kept. */
	j = pjson_reply(50, p, 2, 2, 1 << 20, &len);
	ok(strncmp(j, "{\"count\":50,", 12) == 0 &&
	    strstr(j, "\"truncated\":true") != NULL, "a sample of a big "
	    "channel: %s", j);
	free(j);

	/* The header is 21 bytes: one user passes 30, the next one not. */
	j = pjson_reply(3, p, 3, 10, 30, &len);
	ok(strstr(j, "\"bob\"") != NULL && strstr(j, "\"zoe\"") == NULL &&
	    strstr(j, "\"truncated\":true") != NULL, "cut by bytes: %s", j);
	free(j);

	j = pjson_reply(0, NULL, 0, 10, 1 << 20, &len);
	ok(strcmp(j, "{\"count\":0,\"users\":[]}") == 0, "empty: %s", j);
	free(j);
}

static void
test_typing(void)
{
	struct pbuf	 b;

	memset(&b, 0, sizeof(b));
	pjson_typing(&b, 0x2a, 0, "room", 4, "bo\"b", 4);
	ok(strcmp(b.b_p, "!000000000000002a\n{\"type\":\"typing.start\","
	    "\"channel\":\"room\",\"userId\":\"bo\\\"b\"}") == 0,
	    "typing.start payload: %s", b.b_p);
	pbuf_free(&b);
	pjson_typing(&b, UINT64_MAX, 1, "r", 1, "u", 1);
	ok(strcmp(b.b_p, "!ffffffffffffffff\n{\"type\":\"typing.stop\","
	    "\"channel\":\"r\",\"userId\":\"u\"}") == 0,
	    "typing.stop payload: %s", b.b_p);
	pbuf_free(&b);
}

int
main(void)
{
	test_str();
	test_value();
	test_reply();
	test_typing();
	return tap_done();
}
