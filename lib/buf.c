/*
 * buf.c -- a growable byte buffer (buf.h).
 */
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

/* Free b's memory and empty it. */
void
buf_free(struct buf *b)
{
	free(b->b_p);
	memset(b, 0, sizeof(*b));
}
