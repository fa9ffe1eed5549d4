/*
 * b64_test.c -- base64 and base64url: RFC 4648 vectors, exact buffer
 * sizes, strict decoding, and round trips.
 */
#include <stdint.h>
#include <string.h>

#include "b64.h"
#include "tap.h"

#define V(raw, std, url)	{ raw, sizeof(raw) - 1, std, url }
static const struct {
	const char	*raw;
	size_t		 rawlen;
	const char	*std, *url;
} vec[] = {
	V("", "", ""),
	V("f", "Zg==", "Zg"),
	V("fo", "Zm8=", "Zm8"),
	V("foo", "Zm9v", "Zm9v"),
	V("foob", "Zm9vYg==", "Zm9vYg"),
	V("fooba", "Zm9vYmE=", "Zm9vYmE"),
	V("foobar", "Zm9vYmFy", "Zm9vYmFy"),
	V("\xfb\xff", "+/8=", "-_8"),
	V("\xfb\xef\xbe", "++++", "----"),
	V("\xff\xff\xff", "////", "____"),
	V("\0\0\0\0", "AAAAAA==", "AAAAAA"),
};

/* Strings each decoder must refuse. */
static const char *bad_std[] = {
	"Zg=",		/* not a multiple of 4 */
	"Zg",
	"Z",
	"Z===",		/* 6 bits cannot make a byte */
	"====",
	"Zh==",		/* trailing bits 0001 */
	"Zm9=",		/* trailing bits 01 */
	"Zg==Zg==",	/* padding in the middle */
	"Zm=v",
	"=Zm9",
	"Zm9v\n",
	" Zm9v",
	"Zm9 ",
	"Zm\r\n9v",
	"-_8=",		/* url alphabet */
	"Zm9v====",
	"Zm9\x80",
	"Zm9.",
};

static const char *bad_url[] = {
	"Zg==",		/* padding */
	"Zm8=",
	"Z",		/* length 1 mod 4 */
	"Zm9vY",
	"Zh",		/* trailing bits */
	"Zm9",
	"+/8",		/* std alphabet */
	"Zm 9",
	"Zm9v\n",
	"Zm9.",
};

static void
test_vectors(void)
{
	char		buf[64];
	unsigned char	out[64];
	size_t		i, n, rl;
	ssize_t		r;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		rl = vec[i].rawlen;
		n = b64_encode(buf, sizeof(buf), vec[i].raw, rl);
		ok(n == strlen(vec[i].std) && strcmp(buf, vec[i].std) == 0,
		    "b64_encode %zu bytes -> \"%s\" (got \"%s\")", rl,
		    vec[i].std, buf);
		ok(n == B64_ENCLEN(rl), "B64_ENCLEN(%zu) == %zu", rl, n);
		n = b64url_encode(buf, sizeof(buf), vec[i].raw, rl);
		ok(n == strlen(vec[i].url) && strcmp(buf, vec[i].url) == 0,
		    "b64url_encode %zu bytes -> \"%s\" (got \"%s\")", rl,
		    vec[i].url, buf);
		ok(n == B64URL_ENCLEN(rl), "B64URL_ENCLEN(%zu) == %zu", rl, n);
		r = b64_decode(out, sizeof(out), vec[i].std,
		    strlen(vec[i].std));
		ok(r == (ssize_t)rl && memcmp(out, vec[i].raw, rl) == 0,
		    "b64_decode \"%s\"", vec[i].std);
		r = b64url_decode(out, sizeof(out), vec[i].url,
		    strlen(vec[i].url));
		ok(r == (ssize_t)rl && memcmp(out, vec[i].raw, rl) == 0,
		    "b64url_decode \"%s\"", vec[i].url);
	}
}

static void
test_sizes(void)
{
	char		buf[16];
	unsigned char	out[8];

	/* "foob" needs 8 characters and a NUL. */
	memset(buf, 'X', sizeof(buf));
	ok(b64_encode(buf, 8, "foob", 4) == 0, "encode: no room for the NUL");
	ok(buf[0] == 'X' && buf[8] == 'X',
	    "encode: nothing written on failure");
	ok(b64_encode(buf, 9, "foob", 4) == 8 && buf[8] == '\0' &&
	    buf[9] == 'X', "encode: exactly B64_ENCLEN + 1 is enough");
	memset(buf, 'X', sizeof(buf));
	ok(b64url_encode(buf, 6, "foob", 4) == 0,
	    "url encode: no room for the NUL");
	ok(b64url_encode(buf, 7, "foob", 4) == 6 && buf[6] == '\0' &&
	    buf[7] == 'X', "url encode: exactly B64URL_ENCLEN + 1 is enough");
	ok(b64_encode(buf, 1, "", 0) == 0 && buf[0] == '\0',
	    "encode of nothing writes \"\"");
	ok(b64_encode(buf, 0, "", 0) == 0, "encode of nothing into nothing");

	memset(out, 0xaa, sizeof(out));
	ok(b64_decode(out, 2, "Zm9v", 4) == -1, "decode: dst too small");
	ok(b64_decode(out, 3, "Zm9v", 4) == 3,
	    "decode: dst exactly big enough");
	ok(b64_decode(out, 1, "Zm8=", 4) == -1, "decode: 2 bytes into 1");
	ok(b64_decode(out, 2, "Zm8=", 4) == 2 && out[2] == 'o',
	    "decode: 2 bytes into 2, nothing beyond");
	ok(b64url_decode(out, 1, "Zm8", 3) == -1, "url decode: 2 bytes into 1");
	ok(b64url_decode(out, 2, "Zm8", 3) == 2,
	    "url decode: 2 bytes into 2");
	memset(out, 0xaa, sizeof(out));
	ok(b64url_decode(out, 3, "Zm9vY", 5) == -1 && out[3] == 0xaa,
	    "url decode: length 1 mod 4 writes nothing past dstlen");
	memset(out, 0xaa, sizeof(out));
	ok(b64url_decode(out, 0, "Z", 1) == -1 && out[0] == 0xaa,
	    "url decode: one character into nothing");
	ok(b64_decode(NULL, 0, "", 0) == 0, "decode of nothing");
	ok(b64url_decode(NULL, 0, "", 0) == 0, "url decode of nothing");
}

static void
test_reject(void)
{
	unsigned char	out[64];
	size_t		i;

	for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
		ok(b64_decode(out, sizeof(out), bad_std[i],
		    strlen(bad_std[i])) == -1, "b64_decode rejects #%zu", i);
	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
		ok(b64url_decode(out, sizeof(out), bad_url[i],
		    strlen(bad_url[i])) == -1, "b64url_decode rejects #%zu", i);
	ok(b64_decode(out, sizeof(out), "Zm9v\0Zm9", 8) == -1,
	    "b64_decode rejects a NUL");
	ok(b64url_decode(out, sizeof(out), "Zm9v\0Zm", 7) == -1,
	    "b64url_decode rejects a NUL");
}

/*
 * Decoding is canonical: whatever decodes re-encodes to the very same
 * text.  Checked on every 2-character group, every 3-character url group
 * and random strings over the alphabet plus a few strangers.
 */
static void
test_canonical(void)
{
	static const char	 pool[] = "AZaz09+/-_=Qgh \n.";
	char			 s[32], re[32];
	unsigned char		 out[32];
	ssize_t			 r;
	size_t			 i, n;
	unsigned int		 a, b, c;
	int			 bad = 0, accepted = 0;

	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++) {
			s[0] = (char)a;
			s[1] = (char)b;
			s[2] = s[3] = '=';
			if ((r = b64_decode(out, sizeof(out), s, 4)) != -1) {
				accepted++;
				if (r != 1 || b64_encode(re, sizeof(re), out,
				    1) != 4 || memcmp(re, s, 4) != 0)
					bad++;
			}
			if ((r = b64url_decode(out, sizeof(out), s, 2)) != -1) {
				accepted++;
				if (r != 1 || b64url_encode(re, sizeof(re),
				    out, 1) != 2 || memcmp(re, s, 2) != 0)
					bad++;
			}
		}
	/* 64 first characters times 4 clean second ones, both alphabets. */
	ok(bad == 0 && accepted == 2 * 64 * 4,
	    "every 1-byte group: %d accepted, %d not canonical", accepted, bad);

	bad = accepted = 0;
	for (a = 0; a < 128; a++)
		for (b = 0; b < 128; b++)
			for (c = 0; c < 128; c++) {
				s[0] = (char)a;
				s[1] = (char)b;
				s[2] = (char)c;
				r = b64url_decode(out, sizeof(out), s, 3);
				if (r == -1)
					continue;
				accepted++;
				if (r != 2 || b64url_encode(re, sizeof(re),
				    out, 2) != 3 || memcmp(re, s, 3) != 0)
					bad++;
			}
	ok(bad == 0 && accepted == 64 * 64 * 16,
	    "every 2-byte url group: %d accepted, %d not canonical",
	    accepted, bad);

	bad = accepted = 0;
	for (i = 0; i < 200000; i++) {
		n = tap_rand() % 13;
		for (size_t j = 0; j < n; j++)
			s[j] = pool[tap_rand() % (sizeof(pool) - 1)];
		if ((r = b64_decode(out, sizeof(out), s, n)) != -1) {
			accepted++;
			if (b64_encode(re, sizeof(re), out, (size_t)r) != n ||
			    memcmp(re, s, n) != 0)
				bad++;
		}
		if ((r = b64url_decode(out, sizeof(out), s, n)) != -1) {
			accepted++;
			if (b64url_encode(re, sizeof(re), out, (size_t)r) !=
			    n || memcmp(re, s, n) != 0)
				bad++;
		}
	}
	ok(bad == 0 && accepted > 1000,
	    "random strings: %d accepted, %d not canonical", accepted, bad);
}

static void
test_roundtrip(void)
{
	unsigned char	raw[300], out[300];
	char		enc[420];
	size_t		n, e;
	ssize_t		r;
	int		bad = 0, i;

	for (i = 0; i < 3000; i++) {
		n = (size_t)i % 300;
		for (size_t j = 0; j < n; j++)
			raw[j] = (unsigned char)tap_rand();
		e = b64_encode(enc, sizeof(enc), raw, n);
		if (e != B64_ENCLEN(n) || strlen(enc) != e)
			bad++;
		r = b64_decode(out, n, enc, e);
		if (r != (ssize_t)n || memcmp(out, raw, n) != 0)
			bad++;
		e = b64url_encode(enc, sizeof(enc), raw, n);
		if (e != B64URL_ENCLEN(n) || strlen(enc) != e ||
		    strpbrk(enc, "+/=") != NULL)
			bad++;
		r = b64url_decode(out, n, enc, e);
		if (r != (ssize_t)n || memcmp(out, raw, n) != 0)
			bad++;
	}
	ok(bad == 0, "3000 random round trips, both alphabets (%d bad)", bad);
}

int
main(void)
{
	test_vectors();
	test_sizes();
	test_reject();
	test_canonical();
	test_roundtrip();
	return tap_done();
}
