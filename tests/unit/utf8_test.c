/*
 * utf8_test.c -- the incremental validator against the Autobahn-style
 * cases, against a slow reference decoder on every short string built
 * from the interesting bytes, and fed whole, byte by byte and in random
 * chunks (the verdict, and the state itself, must not depend on how the
 * bytes are cut).
 */
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "utf8.h"

#define S(s)	s, sizeof(s) - 1

static const struct {
	const char	*name;
	const char	*s;
	size_t		 n;
	int		 valid;
} cases[] = {
	{ "kosme", S("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), 1 },
	{ "empty", S(""), 1 },
	{ "ascii with NUL", S("a\0b\x7f"), 1 },
	/* First and last code points of each length. */
	{ "U+0000", S("\0"), 1 },
	{ "U+0080", S("\xc2\x80"), 1 },
	{ "U+0800", S("\xe0\xa0\x80"), 1 },
	{ "U+10000", S("\xf0\x90\x80\x80"), 1 },
	{ "U+007F", S("\x7f"), 1 },
	{ "U+07FF", S("\xdf\xbf"), 1 },
	{ "U+FFFF", S("\xef\xbf\xbf"), 1 },
	{ "U+10FFFF", S("\xf4\x8f\xbf\xbf"), 1 },
	{ "first 5-byte", S("\xf8\x88\x80\x80\x80"), 0 },
	{ "first 6-byte", S("\xfc\x84\x80\x80\x80\x80"), 0 },
	{ "U+1FFFFF", S("\xf7\xbf\xbf\xbf"), 0 },
	{ "last 5-byte", S("\xfb\xbf\xbf\xbf\xbf"), 0 },
	{ "last 6-byte", S("\xfd\xbf\xbf\xbf\xbf\xbf"), 0 },
	/* Other boundaries. */
	{ "U+D7FF", S("\xed\x9f\xbf"), 1 },
	{ "U+E000", S("\xee\x80\x80"), 1 },
	{ "U+FFFD", S("\xef\xbf\xbd"), 1 },
	{ "U+110000", S("\xf4\x90\x80\x80"), 0 },
	{ "noncharacter U+FFFE", S("\xef\xbf\xbe"), 1 },
	{ "noncharacter U+FDD0", S("\xef\xb7\x90"), 1 },
	{ "noncharacter U+10FFFE", S("\xf4\x8f\xbf\xbe"), 1 },
	/* Stray continuation bytes. */
	{ "lone 80", S("\x80"), 0 },
	{ "lone bf", S("\xbf"), 0 },
	{ "80 bf", S("\x80\xbf"), 0 },
	{ "80 bf 80 bf 80 bf 80", S("\x80\xbf\x80\xbf\x80\xbf\x80"), 0 },
	{ "continuation after ascii", S("abc\x80"), 0 },
	{ "extra continuation", S("\xc2\x80\x80"), 0 },
	/* Lonely start bytes followed by a space. */
	{ "c0 space", S("\xc0 "), 0 },
	{ "c2 space", S("\xc2 "), 0 },
	{ "df space", S("\xdf "), 0 },
	{ "e0 space", S("\xe0 "), 0 },
	{ "ef space", S("\xef "), 0 },
	{ "f0 space", S("\xf0 "), 0 },
	{ "f4 space", S("\xf4 "), 0 },
	{ "f8 space", S("\xf8 "), 0 },
	{ "fc space", S("\xfc "), 0 },
	/* Sequences missing their last byte. */
	{ "c2 at end", S("\xc2"), 0 },
	{ "e0 a0 at end", S("\xe0\xa0"), 0 },
	{ "f0 90 80 at end", S("\xf0\x90\x80"), 0 },
	{ "df at end", S("\xdf"), 0 },
	{ "ef bf at end", S("\xef\xbf"), 0 },
	{ "f4 8f bf at end", S("\xf4\x8f\xbf"), 0 },
	{ "kosme cut", S("\xce\xba\xe1\xbd"), 0 },
	{ "all truncated, concatenated",
	    S("\xc2\xe0\xa0\xf0\x90\x80\xdf\xef\xbf\xf4\x8f\xbf"), 0 },
	/* Impossible bytes. */
	{ "fe", S("\xfe"), 0 },
	{ "ff", S("\xff"), 0 },
	{ "fe fe ff ff", S("\xfe\xfe\xff\xff"), 0 },
	{ "f5", S("\xf5\x80\x80\x80"), 0 },
	/* Overlong forms. */
	{ "overlong / 2", S("\xc0\xaf"), 0 },
	{ "overlong / 3", S("\xe0\x80\xaf"), 0 },
	{ "overlong / 4", S("\xf0\x80\x80\xaf"), 0 },
	{ "overlong / 5", S("\xf8\x80\x80\x80\xaf"), 0 },
	{ "overlong / 6", S("\xfc\x80\x80\x80\x80\xaf"), 0 },
	{ "max overlong 2", S("\xc1\xbf"), 0 },
	{ "max overlong 3", S("\xe0\x9f\xbf"), 0 },
	{ "max overlong 4", S("\xf0\x8f\xbf\xbf"), 0 },
	{ "overlong NUL 2", S("\xc0\x80"), 0 },
	{ "overlong NUL 3", S("\xe0\x80\x80"), 0 },
	{ "overlong NUL 4", S("\xf0\x80\x80\x80"), 0 },
	/* Surrogates, single and paired. */
	{ "U+D800", S("\xed\xa0\x80"), 0 },
	{ "U+DB7F", S("\xed\xad\xbf"), 0 },
	{ "U+DB80", S("\xed\xae\x80"), 0 },
	{ "U+DBFF", S("\xed\xaf\xbf"), 0 },
	{ "U+DC00", S("\xed\xb0\x80"), 0 },
	{ "U+DF80", S("\xed\xbe\x80"), 0 },
	{ "U+DFFF", S("\xed\xbf\xbf"), 0 },
	{ "U+D800 U+DC00", S("\xed\xa0\x80\xed\xb0\x80"), 0 },
	{ "U+DBFF U+DFFF", S("\xed\xaf\xbf\xed\xbf\xbf"), 0 },
	/* Valid text with something wrong at the end. */
	{ "kosme then ed a0", S("\xce\xba\xe1\xbd\xb9\xcf\x83\xed\xa0"), 0 },
	{ "hello then c0", S("Hello-\xc0\x80-world"), 0 },
};

/* Feed n bytes one at a time. */
static uint32_t
feed_bytes(uint32_t st, const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		st = utf8_feed(st, s + i, 1);
	return st;
}

static void
test_cases(void)
{
	uint32_t	whole, bytes;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		whole = utf8_feed(UTF8_ACCEPT, cases[i].s, cases[i].n);
		bytes = feed_bytes(UTF8_ACCEPT, cases[i].s, cases[i].n);
		ok(utf8_valid(cases[i].s, cases[i].n) == cases[i].valid,
		    "%s: %s", cases[i].name,
		    cases[i].valid ? "valid" : "invalid");
		ok((whole == UTF8_ACCEPT) == cases[i].valid && whole == bytes,
		    "%s: whole %#x, byte by byte %#x", cases[i].name,
		    (unsigned)whole, (unsigned)bytes);
	}
}

static void
test_failfast(void)
{
	uint32_t	st;

	st = utf8_feed(UTF8_ACCEPT, S("\xce\xba\xe1\xbd"));
	ok(st != UTF8_ACCEPT && st != UTF8_REJECT,
	    "kosme cut mid-character is in-sequence (%#x)", (unsigned)st);
	st = utf8_feed(st, S("\xb9\xcf\x83\xce\xbc\xce\xb5"));
	ok(st == UTF8_ACCEPT, "and the rest completes it");
	ok(utf8_feed(UTF8_ACCEPT, S("\xed\xa0")) == UTF8_REJECT,
	    "ed a0 is rejected at once");
	ok(utf8_feed(UTF8_ACCEPT, S("\xf4\x90")) == UTF8_REJECT,
	    "f4 90 is rejected at once");
	ok(utf8_feed(UTF8_ACCEPT, S("\xe0\x9f")) == UTF8_REJECT,
	    "e0 9f is rejected at once");
	ok(utf8_feed(UTF8_ACCEPT, S("\xf0\x8f")) == UTF8_REJECT,
	    "f0 8f is rejected at once");
	ok(utf8_feed(UTF8_ACCEPT, S("\xc0")) == UTF8_REJECT,
	    "c0 is rejected at once");
	ok(utf8_feed(UTF8_ACCEPT, S("\xf5")) == UTF8_REJECT,
	    "f5 is rejected at once");
	ok(utf8_feed(UTF8_ACCEPT, S("\xe1\x80\x41")) == UTF8_REJECT,
	    "ascii inside a sequence is rejected at once");
	st = utf8_feed(UTF8_ACCEPT, S("\xf0\x90\x80"));
	ok(st != UTF8_ACCEPT && st != UTF8_REJECT, "f0 90 80 is in-sequence");
	ok(utf8_feed(UTF8_REJECT, S("abc")) == UTF8_REJECT,
	    "reject is sticky over ascii");
	ok(utf8_feed(UTF8_REJECT, S("")) == UTF8_REJECT,
	    "reject is sticky over nothing");
	ok(utf8_feed(UTF8_ACCEPT, S("")) == UTF8_ACCEPT,
	    "nothing fed keeps accept");
	ok(utf8_feed(0x12345678u, S("a")) == UTF8_REJECT,
	    "a made-up state is rejected");
	ok(utf8_feed(2, S("\x80")) == UTF8_REJECT, "state 2 is not a state");
}

/*
 * The reference: a deliberately naive decoder.  A complete character is
 * valid if it decodes to a scalar value whose shortest encoding has its
 * length; a cut one is valid if some completion is.
 */
static size_t
ref_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc0 && c < 0xe0)
		return 2;
	if (c >= 0xe0 && c < 0xf0)
		return 3;
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	return 0;
}

static int
ref_char(const unsigned char *p, size_t len)
{
	uint32_t	cp;
	size_t		i, shortest;

	cp = len == 1 ? p[0] : p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	shortest = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	return shortest == len && cp <= 0x10ffff &&
	    !(cp >= 0xd800 && cp <= 0xdfff);
}

/* Try every completion made of boundary continuation bytes. */
static int
ref_completes(unsigned char *p, size_t have, size_t len)
{
	static const unsigned char	fill[] =
	    { 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf };
	size_t				i;

	if (have == len)
		return ref_char(p, len);
	for (i = 0; i < sizeof(fill); i++) {
		p[have] = fill[i];
		if (ref_completes(p, have + 1, len))
			return 1;
	}
	return 0;
}

/* UTF8_ACCEPT, UTF8_REJECT, or 2 for "inside a character". */
static int
ref_state(const unsigned char *s, size_t n)
{
	unsigned char	tmp[4];
	size_t		i = 0, len;

	while (i < n) {
		if ((len = ref_len(s[i])) == 0)
			return UTF8_REJECT;
		if (n - i < len) {
			memcpy(tmp, s + i, n - i);
			return ref_completes(tmp, n - i, len) ? 2 :
			    UTF8_REJECT;
		}
		if (!ref_char(s + i, len))
			return UTF8_REJECT;
		i += len;
	}
	return UTF8_ACCEPT;
}

static int
kind(uint32_t st)
{
	return st == UTF8_ACCEPT || st == UTF8_REJECT ? (int)st : 2;
}

/*
 * Every string of up to 4 bytes over the interesting bytes, and every
 * string of 1 or 2 bytes at all: each prefix must get the reference's
 * verdict at once, and byte-by-byte feeding must reach the same state.
 */
static void
test_reference(void)
{
	static const unsigned char	b[] = {
		0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
		0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0,
		0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfb, 0xfc, 0xfe, 0xff,
	};
	const size_t			nb = sizeof(b);
	unsigned char			s[4];
	size_t				i, n, k, idx;
	uint32_t			st;
	long				tried = 0, bad = 0, total;

	for (n = 1; n <= 4; n++) {
		total = 1;
		for (k = 0; k < n; k++)
			total *= (long)nb;
		for (i = 0; i < (size_t)total; i++) {
			idx = i;
			for (k = 0; k < n; k++) {
				s[k] = b[idx % nb];
				idx /= nb;
			}
			tried++;
			st = utf8_feed(UTF8_ACCEPT, s, n);
			if (kind(st) != ref_state(s, n) ||
			    st != feed_bytes(UTF8_ACCEPT, (char *)s, n) ||
			    utf8_valid(s, n) != (ref_state(s, n) == 0))
				bad++;
		}
	}
	ok(bad == 0, "interesting strings of 1..4 bytes: %ld tried, %ld bad",
	    tried, bad);

	tried = bad = 0;
	for (i = 0; i < 65536; i++) {
		s[0] = (unsigned char)(i >> 8);
		s[1] = (unsigned char)i;
		for (n = 1; n <= 2; n++) {
			tried++;
			st = utf8_feed(UTF8_ACCEPT, s, n);
			if (kind(st) != ref_state(s, n) ||
			    st != feed_bytes(UTF8_ACCEPT, (char *)s, n))
				bad++;
		}
	}
	ok(bad == 0, "all strings of 1..2 bytes: %ld tried, %ld bad",
	    tried, bad);
}

/* Append the UTF-8 encoding of cp, or a random byte when cp is ~0. */
static size_t
put(unsigned char *p, uint32_t cp)
{
	if (cp == ~0u) {
		p[0] = (unsigned char)tap_rand();
		return 1;
	}
	if (cp < 0x80) {
		p[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (unsigned char)(0xc0 | cp >> 6);
		p[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (unsigned char)(0xe0 | cp >> 12);
		p[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (unsigned char)(0xf0 | cp >> 18);
	p[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Random texts, mostly ASCII runs (for the 8-byte fast path) with
 * multi-byte characters and now and then a random byte, cut into random
 * chunks: the state must be the same as when fed whole, and match the
 * reference.
 */
static void
test_chunks(void)
{
	unsigned char	buf[512];
	size_t		n, i, len, off, chunk;
	uint32_t	cp, whole, st;
	int		r, bad = 0, valid = 0, invalid = 0;

	for (i = 0; i < 20000; i++) {
		len = tap_rand() % 120;
		n = 0;
		while (n < len) {
			r = (int)(tap_rand() % 100);
			if (r < 70)
				cp = 0x20 + tap_rand() % 0x5f;
			else if (r < 97) {
				do
					cp = tap_rand() % 0x110000;
				while (cp >= 0xd800 && cp <= 0xdfff);
			} else
				cp = (i % 4 == 0) ? ~0u : 'x';
			n += put(buf + n, cp);
		}
		whole = utf8_feed(UTF8_ACCEPT, buf, n);
		if (kind(whole) != ref_state(buf, n))
			bad++;
		if (whole == UTF8_ACCEPT)
			valid++;
		else
			invalid++;
		st = UTF8_ACCEPT;
		for (off = 0; off < n; off += chunk) {
			chunk = 1 + tap_rand() % 17;
			if (chunk > n - off)
				chunk = n - off;
			st = utf8_feed(st, buf + off, chunk);
		}
		if (st != whole)
			bad++;
	}
	ok(bad == 0 && valid > 1000 && invalid > 100,
	    "20000 random texts in random chunks: %d valid, %d invalid, "
	    "%d bad", valid, invalid, bad);
}

/* A bad byte at every offset of a long ASCII run is caught. */
static void
test_ascii_run(void)
{
	char	buf[80];
	size_t	i;
	int	bad = 0;

	for (i = 0; i < sizeof(buf); i++) {
		memset(buf, 'a', sizeof(buf));
		if (!utf8_valid(buf, sizeof(buf)))
			bad++;
		buf[i] = (char)0x80;
		if (utf8_valid(buf, sizeof(buf)) ||
		    utf8_feed(UTF8_ACCEPT, buf, i + 1) != UTF8_REJECT ||
		    utf8_feed(UTF8_ACCEPT, buf, i) != UTF8_ACCEPT)
			bad++;
		buf[i] = (char)0xc3;
		if (utf8_feed(UTF8_ACCEPT, buf, i + 1) == UTF8_ACCEPT ||
		    utf8_feed(UTF8_ACCEPT, buf, i + 1) == UTF8_REJECT)
			bad++;
	}
	ok(bad == 0, "a bad byte anywhere in an ASCII run (%d bad)", bad);
}

int
main(void)
{
	test_cases();
	test_failfast();
	test_reference();
	test_chunks();
	test_ascii_run();
	return tap_done();
}
