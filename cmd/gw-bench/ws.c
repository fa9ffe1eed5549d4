/*
 * ws.c -- the client side of RFC 6455 framing that gw-bench needs:
 * masked frames out, frame headers in; and the small scans of the
 * server's JSON that find a bench message's fields without a parser.
 */
#include <string.h>
#include <time.h>

#include "bench.h"

/* CLOCK_MONOTONIC in nanoseconds: one clock for every process. */
uint64_t
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * A xorshift32 step on *state (never 0): masking keys and handshake keys,
 * which RFC 6455 wants unpredictable to proxies, not secret.
 */
uint32_t
bench_rand(uint32_t *state)
{
	uint32_t	x = *state != 0 ? *state : 0x9e3779b9U;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/*
 * Write a final client frame of the given opcode with the len payload
 * bytes masked with mask into dst (dstsz bytes).  Return the frame's
 * length, or 0 if it does not fit.
 */
size_t
ws_frame(char *dst, size_t dstsz, int opcode, const char *payload,
    size_t len, uint32_t mask)
{
	unsigned char	*p = (unsigned char *)dst, m[4];
	size_t		 h, i;

	h = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4;
	if (dstsz < h || dstsz - h < len)
		return 0;
	p[0] = 0x80 | (opcode & 0x0f);
	if (len < 126)
		p[1] = 0x80 | (unsigned char)len;
	else if (len < 65536) {
		p[1] = 0x80 | 126;
		p[2] = (unsigned char)(len >> 8);
		p[3] = (unsigned char)len;
	} else {
		p[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			p[2 + i] = (unsigned char)((uint64_t)len >>
			    (56 - 8 * i));
	}
	memcpy(m, &mask, 4);
	memcpy(p + h - 4, m, 4);
	for (i = 0; i < len; i++)
		p[h + i] = (unsigned char)payload[i] ^ m[i & 3];
	return h + len;
}

/*
 * Parse a server frame's header from the n bytes at buf.  Return 0 if
 * more bytes are needed, -1 if the header is not one a server may send
 * (masked, reserved bits, a payload over BENCH_MAXFRAME, a long control
 * frame), or 1 with the payload length in *len, the header's length in
 * *hlen and the FIN bit and opcode (byte 0 without RSV) in *op.
 */
int
ws_parse_head(const char *buf, size_t n, uint64_t *len, size_t *hlen,
    int *op)
{
	const unsigned char *p = (const unsigned char *)buf;
	uint64_t	 l;
	size_t		 h, i;

	if (n < 2)
		return 0;
	if ((p[0] & 0x70) != 0 || (p[1] & 0x80) != 0)
		return -1;
	l = p[1] & 0x7f;
	h = l == 126 ? 4 : l == 127 ? 10 : 2;
	if (n < h)
		return 0;
	if (l == 126)
		l = (uint64_t)p[2] << 8 | p[3];
	else if (l == 127)
		for (l = 0, i = 0; i < 8; i++)
			l = l << 8 | p[2 + i];
	if (l > BENCH_MAXFRAME || ((p[0] & 0x08) != 0 && l > 125))
		return -1;
	*len = l;
	*hlen = h;
	*op = p[0] & 0x8f;
	return 1;
}

/* Return 1 if the n bytes at s contain the string needle, else 0. */
int
ws_find(const char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle)) != NULL;
}

/*
 * Find a bench message's "gwb": [T, S, K, W] (timestamp, sequence number,
 * channel index, warm-up flag) in the n bytes of a text frame and store
 * the four numbers in v.  Return 0, or -1 if the frame has none.
 */
int
ws_gwb(const char *s, size_t n, uint64_t v[4])
{
	const char	*p, *end = s + n;
	int		 i, digits;

	if ((p = memmem(s, n, "\"gwb\"", 5)) == NULL)
		return -1;
	p += 5;
	while (p < end && (*p == ' ' || *p == ':' || *p == '['))
		p++;
	for (i = 0; i < 4; i++) {
		while (p < end && (*p == ' ' || *p == ','))
			p++;
		v[i] = 0;
		for (digits = 0; p < end && *p >= '0' && *p <= '9' &&
		    digits < 19; p++, digits++)
			v[i] = v[i] * 10 + (uint64_t)(*p - '0');
		if (digits == 0)
			return -1;
	}
	return 0;
}

/*
 * Write pattern with its "%d" (if any) replaced by k, NUL-terminated, to
 * dst.  Return the name's length, or 0 if it does not fit in dstsz.
 */
size_t
bench_name(const char *pattern, uint32_t k, char *dst, size_t dstsz)
{
	const char	*pct;
	char		 num[16];
	size_t		 pre, nl, post, i;

	pct = strstr(pattern, "%d");
	pre = pct != NULL ? (size_t)(pct - pattern) : strlen(pattern);
	nl = 0;
	if (pct != NULL) {
		do {
			num[nl++] = (char)('0' + k % 10);
			k /= 10;
		} while (k > 0 && nl < sizeof(num));
	}
	post = pct != NULL ? strlen(pct + 2) : 0;
	if (pre + nl + post + 1 > dstsz)
		return 0;
	memcpy(dst, pattern, pre);
	for (i = 0; i < nl; i++)
		dst[pre + i] = num[nl - 1 - i];
	if (pct != NULL)
		memcpy(dst + pre + nl, pct + 2, post);
	dst[pre + nl + post] = '\0';
	return pre + nl + post;
}

/*
 * Write the name of channel k (the --subscribe-pattern with its "%d"
 * replaced by k) NUL-terminated to dst.  Return its length, or 0 if it
 * does not fit in dstsz.
 */
size_t
bench_channel(const struct bench_conf *conf, uint32_t k, char *dst,
    size_t dstsz)
{
	return bench_name(conf->b_pattern, k, dst, dstsz);
}

/*
 * The inverse of bench_name(): if the n bytes at s are pattern with its
 * "%d" replaced by a number (decimal, no leading zero, below 2^32),
 * return that number; otherwise (or if pattern has no "%d") return -1.
 */
int64_t
bench_name_index(const char *pattern, const char *s, size_t n)
{
	const char	*pct;
	size_t		 pre, post, i;
	int64_t		 v = 0;

	if ((pct = strstr(pattern, "%d")) == NULL)
		return -1;
	pre = (size_t)(pct - pattern);
	post = strlen(pct + 2);
	if (n <= pre + post || n - pre - post > 10 ||
	    memcmp(s, pattern, pre) != 0 ||
	    memcmp(s + n - post, pct + 2, post) != 0)
		return -1;
	if (s[pre] == '0' && n - pre - post > 1)
		return -1;
	for (i = pre; i < n - post; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= UINT32_MAX ? v : -1;
}

/*
 * Find "key":"VALUE" in the n bytes of a text frame (gw's compact JSON;
 * the value up to the next quote, escapes not decoded).  Return 0 with
 * the value in *v and *vlen, or -1 if there is none.
 */
int
ws_string(const char *s, size_t n, const char *key, const char **v,
    size_t *vlen)
{
	const char	*p, *q, *end = s + n;
	size_t		 kl = strlen(key);

	for (p = s; (p = memmem(p, (size_t)(end - p), key, kl)) != NULL;
	    p += kl) {
		if (p == s || p[-1] != '"' || end - (p + kl) < 3 ||
		    memcmp(p + kl, "\":\"", 3) != 0)
			continue;
		p += kl + 3;
		if ((q = memchr(p, '"', (size_t)(end - p))) == NULL)
			return -1;
		*v = p;
		*vlen = (size_t)(q - p);
		return 0;
	}
	return -1;
}

/*
 * Find "key":NUMBER (an unsigned integer) in the n bytes of a text frame
 * and store it in *v.  Return 0, or -1 if there is none.
 */
int
ws_number(const char *s, size_t n, const char *key, uint64_t *v)
{
	const char	*p, *end = s + n;
	size_t		 kl = strlen(key);
	int		 digits;

	for (p = s; (p = memmem(p, (size_t)(end - p), key, kl)) != NULL;
	    p += kl) {
		if (p == s || p[-1] != '"' || end - (p + kl) < 3 ||
		    memcmp(p + kl, "\":", 2) != 0)
			continue;
		p += kl + 2;
		*v = 0;
		for (digits = 0; p < end && *p >= '0' && *p <= '9' &&
		    digits < 19; p++, digits++)
			*v = *v * 10 + (uint64_t)(*p - '0');
		return digits > 0 ? 0 : -1;
	}
	return -1;
}
