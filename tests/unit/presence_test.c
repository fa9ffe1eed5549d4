/*
 * presence_test.c -- gw-presence's JSON helpers (cmd/gw-presence/pjson.c):
 * the stored per-user value, the query answer, the typing payloads, and
 * the checks of session ids and states (against jansson too).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "../../cmd/gw-presence/pjson.h"

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
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	pjson_typing(&b, 0x2a, 0, "room", 4, "bo\"b", 4);
	ok(strcmp(b.b_p, "!000000000000002a\n{\"type\":\"typing.start\","
	    "\"channel\":\"room\",\"userId\":\"bo\\\"b\"}") == 0,
	    "typing.start payload: %s", b.b_p);
	buf_free(&b);
	pjson_typing(&b, UINT64_MAX, 1, "r", 1, "u", 1);
	ok(strcmp(b.b_p, "!ffffffffffffffff\n{\"type\":\"typing.stop\","
	    "\"channel\":\"r\",\"userId\":\"u\"}") == 0,
	    "typing.stop payload: %s", b.b_p);
	buf_free(&b);
}

static void
test_sid(void)
{
	const char	*good = "0123456789abcdef0123456789abcdef";
	const char	*bad[] = {
		"0123456789abcdef0123456789abcde",	/* 31 */
		"0123456789abcdef0123456789abcdef0",	/* 33 */
		"0123456789ABCDEF0123456789abcdef",	/* upper case */
		"0123456789abcdeg0123456789abcdef",	/* not hex */
		"0123456789abcdef 123456789abcdef",
		"",
	};
	size_t		 i;

	ok(pjson_sid_ok(good, 32), "a session id of 32 lowercase hex");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!pjson_sid_ok(bad[i], strlen(bad[i])),
		    "not a session id: \"%s\"", bad[i]);
	ok(!pjson_sid_ok("0123456789abcdef\0""123456789abcdef", 32),
	    "not a session id: a NUL inside");
}

static void
test_state(void)
{
	const char	*good[] = {
		"{}",
		"{\"c\":[{\"n\":\"room:1\",\"p\":true,\"o\":\"5-0:3\"}]}",
		" {\"c\":[]} ",
		"{\"c\":[{\"n\":\"\xc3\xa9\",\"p\":false}]}",
		"{\"n\":123456789012345678901234567890,\"e\":[],\"f\":1.5}",
		"{\"a\":[[[{}]],[],{\"b\":null}],\"c\":-0.5e+3,\"d\":0}",
		"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
		"\t\r\n{ \"a\" : [ 1 , 2 ] }\n",
	};
	const char	*bad[] = {
		"", "[]", "\"x\"", "1", "null", "{", "{}{}", "{} x",
		"{\"a\":1,}", "{\"a\":\"\xff\"}", "{\"a\":\"\\u0000\"}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}",
		"{\"a\":-}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}",
		"{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\" 1}", "{1:2}",
		"{\"a\":1]", "{\"a\":[}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\u12\"}",
		"{\"a\":\"x\ty\"}", "{\"a\":\"x}",
	};
	char		*big;
	size_t		 i, n;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(pjson_state_ok(good[i], strlen(good[i])), "a state: %s",
		    strpbrk(good[i], "\r\n") != NULL ? "(CR, LF around)" :
		    good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!pjson_state_ok(bad[i], strlen(bad[i])), "not a state: %s",
		    bad[i]);
	ok(!pjson_state_ok("{}\0", 3), "not a state: a NUL after it");

	/* {"x":"aaa...a"} of exactly the limit, then one byte more. */
	n = PJSON_MAXSTATE;
	big = malloc(n + 2);
	if (big == NULL)
		abort();
	memcpy(big, "{\"x\":\"", 6);
	memset(big + 6, 'a', n - 8);
	memcpy(big + n - 2, "\"}", 2);
	ok(pjson_state_ok(big, n), "a state of %zu bytes", n);
	memcpy(big + n - 2, "a\"}", 3);
	ok(!pjson_state_ok(big, n + 1), "not a state: %zu bytes", n + 1);
	free(big);

	/* 64 levels of arrays in the object: the 65th is one too many. */
	big = malloc(200);
	if (big == NULL)
		abort();
	for (n = 63; n <= 64; n++) {
		memcpy(big, "{\"a\":", 5);
		memset(big + 5, '[', n);
		memset(big + 5 + n, ']', n);
		big[5 + 2 * n] = '}';
		ok(pjson_state_ok(big, 6 + 2 * n) == (n == 63),
		    "%zu levels: %s", n + 1, n == 63 ? "a state" : "not");
	}
	free(big);
}

/*
 * pjson_state_ok() against jansson, the parser gw-listen reads states
 * with: 20 000 edits (one or two bytes replaced, inserted or deleted) of
 * states, each judged the same by both.
 */
static void
test_state_jansson(void)
{
	static const char	*base[] = {
		"{\"c\":[{\"n\":\"room:1\",\"p\":true,\"o\":\"5-0:3\"}]}",
		"{\"c\":[{\"n\":\"a\",\"p\":false},{\"n\":\"b\",\"p\":true}]}",
		"{\"a\":[1,-2.5,0,null,{\"b\":\"\\u00e9\\n\"}],\"c\":{}}",
	};
	/* No e or E: an exponent past a double's range is jansson's error. */
	static const char	 alpha[] = "{}[]:,\"\\ \n-+.0123456789tfnlrusuab"
	    "\x01\xc3\xa9\xff";
	char			 buf[256];
	size_t			 len, at;
	int			 i, k, edits, mine, theirs, bad = 0, good = 0;
	json_t			*j;

	for (i = 0; i < 20000; i++) {
		const char *b = base[i % 3];

		len = strlen(b);
		memcpy(buf, b, len);
		edits = 1 + tap_rand() % 2;
		for (k = 0; k < edits; k++) {
			at = (size_t)tap_rand() % (len + 1);
			switch (tap_rand() % 3) {
			case 0:
				if (at < len)
					buf[at] = alpha[tap_rand() %
					    (sizeof(alpha) - 1)];
				break;
			case 1:
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = alpha[tap_rand() % (sizeof(alpha) - 1)];
				len++;
				break;
			default:
				if (at < len) {
					memmove(buf + at, buf + at + 1,
					    len - at - 1);
					len--;
				}
				break;
			}
		}
		mine = pjson_state_ok(buf, len);
		j = json_loadb(buf, len, JSON_DECODE_INT_AS_REAL, NULL);
		theirs = j != NULL && json_is_object(j) && len >= 2;
		good += theirs;
		json_decref(j);
		if (mine != theirs && bad++ < 5)
			printf("# differ (mine %d): %.*s\n", mine, (int)len,
			    buf);
	}
	ok(bad == 0, "20 000 edited states, %d of them still states: as "
	    "jansson judges them (%d differ)", good, bad);
}

int
main(void)
{
	test_value();
	test_reply();
	test_typing();
	test_sid();
	test_state();
	test_state_jansson();
	return tap_done();
}
