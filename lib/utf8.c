/*
 * utf8.c -- see utf8.h.
 *
 * Inside a multi-byte sequence the state packs three things:
 *
 *	bits 16..17	continuation bytes still expected (1 to 3)
 *	bits  8..15	lowest byte allowed next
 *	bits  0..7	highest byte allowed next
 *
 * so it is never 0 (UTF8_ACCEPT) or 1 (UTF8_REJECT).  The lead byte sets
 * the range of the first continuation byte, which is where RFC 3629 cuts
 * out overlong forms (E0 A0.., F0 90..), surrogates (ED ..9F) and code
 * points above U+10FFFF (F4 ..8F); every later continuation byte may be
 * anything in 80..BF.
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

#define UTF8_ST(need, lo, hi)	((uint32_t)(need) << 16 | (lo) << 8 | (hi))
#define UTF8_NEED(st)		((st) >> 16)
#define UTF8_LO(st)		((st) >> 8 & 0xff)
#define UTF8_HI(st)		((st) & 0xff)

/* The state after the lead byte c (>= 0x80), or UTF8_REJECT. */
static uint32_t
utf8_lead(unsigned char c)
{
	if (c < 0xc2)		/* a stray continuation byte, or C0/C1 */
		return UTF8_REJECT;
	if (c < 0xe0)
		return UTF8_ST(1, 0x80, 0xbf);
	if (c == 0xe0)		/* below A0 would be overlong */
		return UTF8_ST(2, 0xa0, 0xbf);
	if (c == 0xed)		/* A0 and above are surrogates */
		return UTF8_ST(2, 0x80, 0x9f);
	if (c < 0xf0)
		return UTF8_ST(2, 0x80, 0xbf);
	if (c == 0xf0)		/* below 90 would be overlong */
		return UTF8_ST(3, 0x90, 0xbf);
	if (c < 0xf4)
		return UTF8_ST(3, 0x80, 0xbf);
	if (c == 0xf4)		/* 90 and above are past U+10FFFF */
		return UTF8_ST(3, 0x80, 0x8f);
	return UTF8_REJECT;	/* F5..FF: never in UTF-8 */
}

/* Whether st could have come out of utf8_feed() as an in-sequence state. */
static int
utf8_state_ok(uint32_t st)
{
	return UTF8_NEED(st) >= 1 && UTF8_NEED(st) <= 3 &&
	    UTF8_LO(st) >= 0x80 && UTF8_HI(st) <= 0xbf &&
	    UTF8_LO(st) <= UTF8_HI(st);
}

/*
 * Feed the n bytes at p to the validator in state st (UTF8_ACCEPT to
 * start a new text) and return the new state: UTF8_ACCEPT if the bytes
 * so far end on a character boundary, UTF8_REJECT as soon as a byte makes
 * the text invalid (and for ever after), or another value meaning that a
 * character is incomplete; pass it back in with the next bytes.  A state
 * that utf8_feed() cannot have returned is treated as UTF8_REJECT.
 */
uint32_t
utf8_feed(uint32_t st, const void *p, size_t n)
{
	const unsigned char	*s = p;
	size_t			 i = 0;
	uint64_t		 w;
	unsigned char		 c;

	if (st != UTF8_ACCEPT && (st == UTF8_REJECT || !utf8_state_ok(st)))
		return UTF8_REJECT;
	while (i < n) {
		if (st == UTF8_ACCEPT) {
			/* Skip ASCII 8 bytes at a time. */
			while (n - i >= 8) {
				memcpy(&w, s + i, sizeof(w));
				if (w & 0x8080808080808080ULL)
					break;
				i += 8;
			}
			if (i == n)
				break;
			if ((c = s[i++]) < 0x80)
				continue;
			if ((st = utf8_lead(c)) == UTF8_REJECT)
				return UTF8_REJECT;
		} else {
			c = s[i++];
			if (c < UTF8_LO(st) || c > UTF8_HI(st))
				return UTF8_REJECT;
			if (UTF8_NEED(st) == 1)
				st = UTF8_ACCEPT;
			else
				st = UTF8_ST(UTF8_NEED(st) - 1, 0x80, 0xbf);
		}
	}
	return st;
}

/* Return 1 if the n bytes at p are complete, valid UTF-8, else 0. */
int
utf8_valid(const void *p, size_t n)
{
	return utf8_feed(UTF8_ACCEPT, p, n) == UTF8_ACCEPT;
}
