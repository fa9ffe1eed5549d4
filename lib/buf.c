/*
 * buf.c -- a growable byte buffer (buf.h), and JSON string literals
 * written into one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

/* Room in b for n more bytes and a NUL after them, doubling as needed. */
void
buf_room(struct buf *b, size_t n)
{
	size_t	 cap;

	if (b->b_cap - b->b_len > n)
		return;
	cap = b->b_cap == 0 ? 256 : b->b_cap;
	while (cap - b->b_len <= n)
		cap *= 2;
	b->b_p = xrealloc(b->b_p, cap);
	b->b_cap = cap;
}

/* Append n bytes of p to b. */
void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_room(b, n);
	memcpy(b->b_p + b->b_len, p, n);
	b->b_len += n;
	b->b_p[b->b_len] = '\0';
}

/* Append the C string s to b. */
void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/*
 * Append the n bytes of s to b as a JSON string literal, quotes
 * included.  The quote, the backslash and control characters are
 * escaped; every other byte is copied as it is: s must be valid UTF-8
 * (user ids, channel names and offsets, which gw-listen took from valid
 * UTF-8 or checked).
 */
void
buf_addjson(struct buf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	size_t			 i, run;

	buf_add(b, "\"", 1);
	for (i = 0; i < n; i = run) {
		for (run = i; run < n && p[run] >= 0x20 && p[run] != '"' &&
		    p[run] != '\\'; run++)
			;
		if (run > i)
			buf_add(b, s + i, run - i);
		if (run == n)
			break;
		switch (p[run]) {
		case '"':
			buf_add(b, "\\\"", 2);
			break;
		case '\\':
			buf_add(b, "\\\\", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", p[run]);
			buf_add(b, esc, 6);
			break;
		}
		run++;
	}
	buf_add(b, "\"", 1);
}

/* The bytes buf_addjson() appends for the n bytes of s, quotes included. */
size_t
buf_jsonlen(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, len = 2;

	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\' || p[i] == '\n' ||
		    p[i] == '\r' || p[i] == '\t')
			len += 2;
		else if (p[i] < 0x20)
			len += 6;
		else
			len++;
	}
	return len;
}

/* Free b's memory and empty it. */
void
buf_free(struct buf *b)
{
	free(b->b_p);
	memset(b, 0, sizeof(*b));
}
