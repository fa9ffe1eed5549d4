/*
 * resp.c -- Redis commands in RESP (resp.h).
 *
 * A command is "*N\r\n" then N bulk strings "$LEN\r\nBYTES\r\n".  The
 * numbers are written by hand: hiredis's redisFormatCommandArgv() calls
 * sprintf() for each argument, which was a third of gw-presence's
 * instructions in a storm of closes.
 */
#include <string.h>

#include "resp.h"

/* Append c, the decimal digits of n, "\r\n" to b. */
static void
resp_num(struct buf *b, char c, size_t n)
{
	char	 tmp[24];
	size_t	 i = sizeof(tmp);

	tmp[--i] = '\n';
	tmp[--i] = '\r';
	do {
		tmp[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	tmp[--i] = c;
	buf_add(b, tmp + i, sizeof(tmp) - i);
}

/* Append the head of a command of n arguments to b. */
void
resp_head(struct buf *b, size_t n)
{
	resp_num(b, '*', n);
}

/* Append the n bytes at s to b as one bulk string. */
void
resp_bulk(struct buf *b, const char *s, size_t n)
{
	buf_room(b, n + 24);
	resp_num(b, '$', n);
	buf_add(b, s, n);
	buf_add(b, "\r\n", 2);
}

/* Append the n bytes at s to b as one bulk string: s as a JSON string. */
void
resp_bulkjson(struct buf *b, const char *s, size_t n)
{
	resp_num(b, '$', buf_jsonlen(s, n));
	buf_addjson(b, s, n);
	buf_add(b, "\r\n", 2);
}

/*
 * Append the command of argc arguments, argv[i] of lens[i] bytes (lens
 * NULL: NUL-terminated strings), to b.
 */
void
resp_argv(struct buf *b, int argc, const char **argv, const size_t *lens)
{
	int	 i;

	resp_head(b, (size_t)argc);
	for (i = 0; i < argc; i++)
		resp_bulk(b, argv[i],
		    lens != NULL ? lens[i] : strlen(argv[i]));
}
