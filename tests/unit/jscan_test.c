/*
 * jscan_test.c -- the API's fast JSON scanner: the forms it takes and
 * those it leaves to jansson, the items of publish and batch bodies, the
 * whitespace taken out, and against jansson on random texts built from
 * JSON's tokens: whatever it takes, jansson takes too and reads the same
 * value, before and after the whitespace is taken out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"
#include "tap.h"

static const struct {
	const char	*s;
	int		 taken;
} values[] = {
	{ "0", 1 }, { "-0", 1 }, { "17", 1 }, { "-3.25", 1 },
	{ "123456789012345", 1 }, { "1234567890123456", 0 },
	{ "0.000000000000001", 0 }, { "1e5", 0 }, { "1.5E-3", 0 },
	{ "01", 0 }, { "1.", 0 }, { ".5", 0 }, { "-", 0 }, { "+1", 0 },
	{ "true", 1 }, { "false", 1 }, { "null", 1 }, { "tru", 0 },
	{ "nul", 0 }, { "True", 0 },
	{ "\"\"", 1 }, { "\"a b\"", 1 }, { "\"\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"", 1 },
	{ "\"\\u0041\"", 0 }, { "\"\\x\"", 0 }, { "\"a", 0 },
	{ "\"tab\there\"", 0 }, { "\"caf\xc3\xa9\"", 1 },
	{ "\"\xc3\"", 0 }, { "\"\xed\xa0\x80\"", 0 }, { "\"\xff\"", 0 },
	{ "[]", 1 }, { "{}", 1 }, { " [ 1 , 2 ] ", 1 }, { "[1,]", 0 },
	{ "[,1]", 0 }, { "{\"a\":1,}", 0 }, { "{\"a\" 1}", 0 },
	{ "{1:2}", 0 }, { "{\"a\":1 \"b\":2}", 0 }, { "[1 2]", 0 },
	{ "{\"a\":{\"b\":[null,{}]}}", 1 }, { "[1]]", 0 }, { "", 0 },
	{ "   ", 0 }, { "[", 0 }, { "{\"a\"", 0 },
};

static void
test_values(void)
{
	char	deep[80];
	size_t	i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		ok(jscan_valid(values[i].s, strlen(values[i].s)) ==
		    values[i].taken, "value %s: %s", values[i].s,
		    values[i].taken ? "taken" : "left to jansson");
	ok(!jscan_valid("1\0", 2), "a NUL after the value: not taken");
	/* Nesting: JSCAN_MAXDEPTH levels below the top at most. */
	memset(deep, '[', JSCAN_MAXDEPTH + 1);
	memset(deep + JSCAN_MAXDEPTH + 1, ']', JSCAN_MAXDEPTH + 1);
	ok(jscan_valid(deep, 2 * (JSCAN_MAXDEPTH + 1)), "%d levels taken",
	    JSCAN_MAXDEPTH + 1);
	memset(deep, '[', JSCAN_MAXDEPTH + 2);
	memset(deep + JSCAN_MAXDEPTH + 2, ']', JSCAN_MAXDEPTH + 2);
	ok(!jscan_valid(deep, 2 * (JSCAN_MAXDEPTH + 2)), "%d levels not",
	    JSCAN_MAXDEPTH + 2);
}

static int
span_is(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Bodies the scanner leaves to jansson (room for 3 items). */
static const struct {
	const char	*body;
	int		 batch;
	const char	*why;
} notaken[] = {
	{ "[{\"channel\":\"a\",\"data\":1},{\"channel\":\"a\",\"data\":2},"
	  "{\"channel\":\"a\",\"data\":3},{\"channel\":\"a\",\"data\":4}]", 1,
	  "more items than room" },
	{ "[]", 1, "an empty batch" },
	{ "{\"channel\":\"a\"}", 0, "no data" },
	{ "{\"data\":1}", 0, "no channel" },
	{ "{\"channel\":\"a\",\"data\":1,\"data\":2}", 0,
	  "data twice (jansson keeps the last)" },
	{ "{\"channel\":\"a\\/b\",\"data\":1}", 0, "an escaped channel" },
	{ "{\"channel\":7,\"data\":1}", 0, "a channel not a string" },
	{ "{\"chan\\nel\":\"a\",\"data\":1}", 0, "an escaped key" },
	{ "[{\"channel\":\"a\",\"data\":1}]", 0, "a batch for a publish" },
	{ "{\"channel\":\"a\",\"data\":1}", 1, "a publish for a batch" },
	{ "{\"channel\":\"a\",\"data\":1}x", 0, "trailing bytes" },
};

static void
test_items(void)
{
	struct jscan_item	 its[3];
	const char		*b;
	size_t			 n = 0, i;

	b = "{\"channel\":\"news\",\"data\":{\"a\": [1, 2]}}";
	ok(jscan_items(b, strlen(b), 0, its, 3, &n) == 0 && n == 1 &&
	    span_is(its[0].ji_chan, its[0].ji_chanlen, "news") &&
	    span_is(its[0].ji_data, its[0].ji_datalen, "{\"a\": [1, 2]}") &&
	    its[0].ji_ws, "publish: channel, data and its whitespace");
	b = " [ {\"data\":1,\"x\":[true],\"channel\":\"a\"},"
	    "{\"channel\":\"b\" , \"data\" : \"s\"} ] ";
	ok(jscan_items(b, strlen(b), 1, its, 3, &n) == 0 && n == 2 &&
	    span_is(its[0].ji_chan, its[0].ji_chanlen, "a") &&
	    span_is(its[0].ji_data, its[0].ji_datalen, "1") &&
	    !its[0].ji_ws && span_is(its[1].ji_chan, its[1].ji_chanlen, "b") &&
	    span_is(its[1].ji_data, its[1].ji_datalen, "\"s\"") &&
	    !its[1].ji_ws, "batch: two items in order, other keys skipped");
	for (i = 0; i < sizeof(notaken) / sizeof(notaken[0]); i++)
		ok(jscan_items(notaken[i].body, strlen(notaken[i].body),
		    notaken[i].batch, its, 3, &n) == -1, "not taken: %s",
		    notaken[i].why);
}

static void
test_compact(void)
{
	const char	*s = " { \"a b\" : [ 1 ,\t\"\\\" x\" ] ,\n\"c\":null }\r";
	char		 out[64];
	size_t		 n;

	n = jscan_compact(s, strlen(s), out);
	ok(span_is(out, n, "{\"a b\":[1,\"\\\" x\"],\"c\":null}"),
	    "compact: whitespace out, strings kept: %.*s", (int)n, out);
}

/*
 * Random texts of JSON's tokens: what jscan takes, jansson takes too, the
 * same value before and after jscan_compact().
 */
static void
test_against_jansson(void)
{
	static const char *tok[] = {
		"[", "]", "{", "}", ",", ":", " ", "\n", "\"k\"", "\"a\\\"b\"",
		"\"\\u00e9\"", "\"\xc3\xa9\"", "0", "-1", "2.5", "10", "1e3",
		"true", "null", "\"\"", "\"\\/\"", "00", "\"x\xff\"",
	};
	char		 text[256], out[256];
	json_t		*a, *b;
	size_t		 len, n, i, ntok = sizeof(tok) / sizeof(tok[0]);
	int		 k, taken = 0, bad = 0;

	for (k = 0; k < 200000; k++) {
		len = 0;
		n = 1 + tap_rand() % 12;
		for (i = 0; i < n; i++) {
			const char *t = tok[tap_rand() % ntok];

			if (len + strlen(t) >= sizeof(text))
				break;
			memcpy(text + len, t, strlen(t));
			len += strlen(t);
		}
		if (!jscan_valid(text, len))
			continue;
		taken++;
		a = json_loadb(text, len, JSON_DECODE_ANY, NULL);
		n = jscan_compact(text, len, out);
		b = json_loadb(out, n, JSON_DECODE_ANY, NULL);
		if (a == NULL || b == NULL || !json_equal(a, b)) {
			if (bad++ < 5)
				ok(0, "taken but jansson differs: %.*s",
				    (int)len, text);
		}
		json_decref(a);
		json_decref(b);
	}
	ok(bad == 0 && taken > 1000, "%d random texts taken, jansson agrees "
	    "on each, compact or not", taken);
}

int
main(void)
{
	test_values();
	test_items();
	test_compact();
	test_against_jansson();
	return tap_done();
}
