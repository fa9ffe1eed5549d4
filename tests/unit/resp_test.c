/*
 * resp_test.c -- Redis commands in RESP (lib/resp.c), checked against
 * hiredis's own formatting (redisFormatCommandArgv()) for fixed and
 * random commands: empty arguments, NUL bytes, lengths around powers of
 * ten, several commands appended to one buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "resp.h"
#include "tap.h"

#define MAXARGS	40

/* Is b's content from off on exactly hiredis's format of the command? */
static int
same(const struct buf *b, size_t off, int argc, const char **argv,
    const size_t *lens)
{
	char	*ref;
	int	 n, good;

	if ((n = redisFormatCommandArgv(&ref, argc, argv, lens)) < 0)
		return 0;
	good = b->b_len - off == (size_t)n &&
	    memcmp(b->b_p + off, ref, (size_t)n) == 0;
	redisFreeCommand(ref);
	return good;
}

static void
test_fixed(void)
{
	struct buf	 b = { 0 };
	const char	*argv[] = { "EVALSHA", "", "a\0b\r\n", "1234567890" };
	size_t		 lens[] = { 7, 0, 5, 10 };

	resp_argv(&b, 4, argv, lens);
	ok(same(&b, 0, 4, argv, lens),
	    "an empty argument, NUL and CRLF inside, ten digits: as hiredis");
	b.b_len = 0;
	resp_argv(&b, 2, argv, NULL);
	ok(strcmp(b.b_p, "*2\r\n$7\r\nEVALSHA\r\n$0\r\n\r\n") == 0,
	    "without lengths, NUL-terminated strings");
	b.b_len = 0;
	resp_head(&b, 0);
	ok(strcmp(b.b_p, "*0\r\n") == 0, "a head of 0 arguments");
	b.b_len = 0;
	resp_bulkjson(&b, "a\"b\n\x01", 5);
	ok(strcmp(b.b_p, "$14\r\n\"a\\\"b\\n\\u0001\"\r\n") == 0,
	    "a JSON string as one bulk string: %s", b.b_p);
	buf_free(&b);
}

static void
test_random(void)
{
	struct buf	 b = { 0 };
	static char	 data[12000];
	const char	*argv[MAXARGS];
	size_t		 lens[MAXARGS], off;
	int		 i, j, argc, bad = 0;
	static const size_t edge[] = { 0, 1, 9, 10, 99, 100, 999, 1000,
	    9999, 10000, 11999 };

	srand(7);
	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = (char)(rand() & 0xff);
	for (i = 0; i < 300; i++) {
		off = b.b_len;		/* commands follow each other */
		argc = 1 + rand() % MAXARGS;
		for (j = 0; j < argc; j++) {
			lens[j] = rand() % 3 == 0 ?
			    edge[rand() % (sizeof(edge) / sizeof(edge[0]))] :
			    (size_t)(rand() % 200);
			argv[j] = data + rand() % (sizeof(data) - lens[j] + 1);
		}
		resp_argv(&b, argc, argv, lens);
		if (!same(&b, off, argc, argv, lens))
			bad++;
		if (b.b_len > 1024 * 1024)
			b.b_len = 0;
	}
	ok(bad == 0, "300 random commands, appended: as hiredis (%d bad)",
	    bad);
	buf_free(&b);
}

int
main(void)
{
	test_fixed();
	test_random();
	return tap_done();
}
