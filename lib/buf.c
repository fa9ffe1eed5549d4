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
 * The escape of byte c in a JSON string, written in esc (8 bytes): its
 * length, or 0 if c stands as it is.  The quote, the backslash and the
 * control characters are escaped.
 */
static size_t
json_esc(unsigned char c, char esc[8])
{
	const char	*two;

	switch (c) {
	case '"':
		two = "\\\"";
		break;
	case '\\':
		two = "\\\\";
		break;
	case '\n':
		two = "\\n";
		break;
	case '\r':
		two = "\\r";
		break;
	case '\t':
		two = "\\t";
		break;
	default:
		if (c >= 0x20)
			return 0;
		snprintf(esc, 8, "\\u%04x", c);
		return 6;
	}
	memcpy(esc, two, 2);
	return 2;
}

/*
 * Append the n bytes of s to b as a JSON string literal, quotes
 * included, escaped by json_esc(); every other byte is copied as it is:
 * s must be valid UTF-8 (user ids, channel names and offsets, which
 * gw-listen took from valid UTF-8 or checked).
 */
void
buf_addjson(struct buf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	size_t			 i, run, e;

	buf_add(b, "\"", 1);
	for (i = 0; i < n; i = run + 1) {
		e = 0;
		for (run = i; run < n && (e = json_esc(p[run], esc)) == 0;
		    run++)
			;
		if (run > i)
			buf_add(b, s + i, run - i);
		if (run == n)
			break;
		buf_add(b, esc, e);
	}
	buf_add(b, "\"", 1);
}

/* The bytes buf_addjson() appends for the n bytes of s, quotes included. */
size_t
buf_jsonlen(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	size_t			 i, e, len = 2;

	for (i = 0; i < n; i++)
		len += (e = json_esc(p[i], esc)) != 0 ? e : 1;
	return len;
}

/* Free b's memory and empty it. */
void
buf_free(struct buf *b)
{
	free(b->b_p);
	memset(b, 0, sizeof(*b));
}
