/*
 * buf_test.c -- the growable buffer: appends keep every byte and a NUL
 * after them, room asked for is there without moving what was added,
 * random appends match a reference, a freed buffer is empty again, and
 * JSON string literals are escaped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

static void
test_add(void)
{
	struct buf	b = { 0 };

	buf_addstr(&b, "abc");
	buf_add(&b, "\0d", 2);
	ok(b.b_len == 5 && memcmp(b.b_p, "abc\0d", 5) == 0 &&
	    b.b_p[5] == '\0', "bytes kept, NUL included, and a NUL after");
	buf_add(&b, "", 0);
	ok(b.b_len == 5, "an empty append adds nothing");
	buf_free(&b);
	ok(b.b_p == NULL && b.b_len == 0 && b.b_cap == 0, "freed: empty");
}

static void
test_room(void)
{
	struct buf	b = { 0 };

	buf_addstr(&b, "xy");
	buf_room(&b, 100000);
	ok(b.b_cap - b.b_len > 100000 && memcmp(b.b_p, "xy", 2) == 0,
	    "room for 100000 more and a NUL, the content kept");
	memset(b.b_p + b.b_len, 'z', 100000);
	b.b_len += 100000;
	buf_add(&b, "!", 1);
	ok(b.b_len == 100003 && b.b_p[100002] == '!' &&
	    b.b_p[100003] == '\0', "written in place, then appended after");
	buf_free(&b);
}

static void
test_random(void)
{
	struct buf	 b = { 0 };
	char		*ref = malloc(500 * 3000), chunk[3000];
	size_t		 len = 0, n, i;
	int		 k, bad = 0;

	for (k = 0; k < 500 && ref != NULL; k++) {
		n = tap_rand() % sizeof(chunk);
		for (i = 0; i < n; i++)
			chunk[i] = (char)tap_rand();
		buf_add(&b, chunk, n);
		memcpy(ref + len, chunk, n);
		len += n;
		if (b.b_len != len || memcmp(b.b_p, ref, len) != 0 ||
		    b.b_p[len] != '\0')
			bad++;
	}
	ok(ref != NULL && bad == 0, "500 random appends match (%d bad)",
	    bad);
	buf_free(&b);
	free(ref);
}

static void
test_json(void)
{
	struct buf	 b = { 0 };

	buf_addjson(&b, "a\"b\\c\nd\x01\xc3\xa9/\x1f\t\r", 14);
	ok(strcmp(b.b_p,
	    "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9/\\u001f\\t\\r\"") == 0,
	    "buf_addjson escapes quote, backslash, controls: %s", b.b_p);
	buf_free(&b);
	buf_addjson(&b, "", 0);
	ok(strcmp(b.b_p, "\"\"") == 0, "buf_addjson of the empty string");
	buf_free(&b);
	buf_addjson(&b, "x\0y", 3);
	ok(b.b_len == 10 && memcmp(b.b_p, "\"x\\u0000y\"", 10) == 0,
	    "buf_addjson takes a length: a NUL inside is escaped");
	buf_free(&b);
}

/* buf_jsonlen() is what buf_addjson() appends, for every byte value. */
static void
test_jsonlen(void)
{
	struct buf	 b = { 0 };
	char		 s[64];
	int		 i, j, bad = 0;
	size_t		 n;

	for (i = 0; i < 2000; i++) {
		n = tap_rand() % sizeof(s);
		for (j = 0; j < (int)n; j++)
			s[j] = (char)(i < 256 ? (uint32_t)(i + j) : tap_rand());
		b.b_len = 0;
		buf_addjson(&b, s, n);
		if (buf_jsonlen(s, n) != b.b_len)
			bad++;
	}
	ok(bad == 0, "buf_jsonlen equals buf_addjson's length (%d of 2000 "
	    "differ)", bad);
	ok(buf_jsonlen("", 0) == 2, "buf_jsonlen of the empty string");
	buf_free(&b);
}

int
main(void)
{
	test_add();
	test_room();
	test_random();
	test_json();
	test_jsonlen();
	return tap_done();
}
