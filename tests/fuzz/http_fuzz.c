/*
 * http_fuzz.c -- libFuzzer target for lib/http.c.  The input is a byte
 * stream as a client would send it.  It is searched for the end of the
 * head whole, then fed in input-derived chunks and one byte at a time; the
 * head found is parsed, and what was parsed goes through the header helpers
 * and the query decoder.  Every invariant that fails calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

static char	 namebuf[HTTP_MAXHEAD + 1];
static char	 tokbuf[HTTP_MAXHEAD + 1];
static char	 outbuf[HTTP_MAXHEAD + 1];

/* The same search written another way: shortest prefix ending a head. */
static size_t
ref_head_end(const char *s, size_t len)
{
	size_t	 i;

	for (i = 2; i <= len; i++) {
		if (s[i - 2] == '\n' && s[i - 1] == '\n')
			return i;
		if (i >= 3 && s[i - 3] == '\n' && s[i - 2] == '\r' &&
		    s[i - 1] == '\n')
			return i;
	}
	return 0;
}

/* Does p[0..n) lie inside buf[0..len)? */
static int
inside(const char *buf, size_t len, const char *p, size_t n)
{
	size_t	 off;

	if (p == NULL || p < buf || p > buf + len)
		return 0;
	off = p - buf;
	return n <= len - off;
}

static int
isows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Feed s to http_head_end() growing by chunks of 1..maxstep bytes, picked
 * by a tiny generator seeded from the input, passing the previous length
 * as from.  It must find the same end as the whole search, and only once
 * that many bytes are in.
 */
static void
check_chunks(const char *s, size_t len, size_t whole, uint32_t seed,
    size_t maxstep)
{
	size_t	 have, prev, got, step;

	prev = 0;
	for (have = 0; have < len; ) {
		seed = seed * 1103515245u + 12345u;
		step = maxstep > 1 ? 1 + (seed >> 16) % maxstep : 1;
		have = step > len - have ? len : have + step;
		got = http_head_end(s, have, prev);
		prev = have;
		if (whole == 0 || have < whole) {
			CHECK(got == 0);
		} else {
			CHECK(got == whole);
			return;
		}
	}
	CHECK(whole == 0);
}

/* Decode key from q with several output sizes; check they agree. */
static void
check_query(const char *q, size_t qlen, const char *key)
{
	ssize_t	 n, m;

	memset(outbuf, 'X', sizeof(outbuf));
	n = http_query_get(q, qlen, key, outbuf, sizeof(outbuf));
	CHECK(n >= -2);
	/* Absent exactly when no pair has the key. */
	CHECK((n == -1) == (http_query_count(q, qlen, key) == 0));
	if (n == -1) {
		CHECK(http_query_get(q, qlen, key, outbuf, 4) == -1);
		return;
	}
	if (n == -2) {
		CHECK(outbuf[0] == '\0');
		return;
	}
	CHECK((size_t)n <= qlen && outbuf[n] == '\0');
	CHECK(strlen(outbuf) == (size_t)n);
	/* Exactly enough room works; one byte less does not. */
	m = http_query_get(q, qlen, key, outbuf, n + 1);
	CHECK(m == n && outbuf[n] == '\0');
	m = http_query_get(q, qlen, key, outbuf, n);
	CHECK(m == -2);
	CHECK(n == 0 || outbuf[0] == '\0');
}

static void
check_fields(const struct http_req *req)
{
	const struct http_hdr	*h, *g;
	size_t			 j, s, e;
	int			 i, c;

	for (i = 0; i < req->r_nhdrs; i++) {
		h = &req->r_hdrs[i];
		memcpy(namebuf, h->h_name, h->h_namelen);
		namebuf[h->h_namelen] = '\0';
		g = http_hdr_get(req, namebuf);
		CHECK(g != NULL && g <= h && g->h_namelen == h->h_namelen);
		c = http_hdr_count(req, namebuf);
		CHECK(c >= 1 && c <= req->r_nhdrs);
		/* Names compare case-insensitively. */
		for (j = 0; j < h->h_namelen; j++)
			if (namebuf[j] >= 'a' && namebuf[j] <= 'z')
				namebuf[j] -= 'a' - 'A';
		CHECK(http_hdr_get(req, namebuf) == g);
		CHECK(http_hdr_count(req, namebuf) == c);

		/* The first list element is a token of that field. */
		for (e = 0; e < h->h_valuelen && h->h_value[e] != ','; e++)
			;
		for (s = 0; s < e && isows(h->h_value[s]); s++)
			;
		while (e > s && isows(h->h_value[e - 1]))
			e--;
		if (e > s) {
			memcpy(tokbuf, h->h_value + s, e - s);
			tokbuf[e - s] = '\0';
			CHECK(http_hdr_has_token(req, namebuf, tokbuf) == 1);
		}
		CHECK(http_hdr_has_token(req, namebuf, "") == 0);
	}
	CHECK(http_hdr_get(req, "") == NULL);
}

/* Parse buf[0..len) and check what comes back. */
static void
check_parse(const char *buf, size_t len)
{
	static struct http_req	 req;
	const struct http_hdr	*h;
	const char		*why, *p;
	size_t			 j, klen;
	int			 rc, i;
	char			 c;

	why = NULL;
	rc = http_parse(buf, len, &req, &why);
	if (rc != 0) {
		CHECK(rc == 400 || rc == 431 || rc == 505);
		CHECK(why != NULL && why[0] != '\0' &&
		    strchr(why, '\n') == NULL);
		return;
	}
	CHECK(why == NULL);
	CHECK(req.r_headlen == len && len <= HTTP_MAXHEAD);
	CHECK(len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0);
	CHECK(memchr(buf, '\0', len) == NULL);
	for (j = 0; j < len; j++)
		CHECK(buf[j] != '\n' || (j > 0 && buf[j - 1] == '\r'));

	CHECK(req.r_method == buf);
	CHECK(req.r_methodlen >= 1 && req.r_methodlen <= 16);
	CHECK(inside(buf, len, req.r_method, req.r_methodlen + 1));
	CHECK(buf[req.r_methodlen] == ' ');
	CHECK(req.r_path == buf + req.r_methodlen + 1);
	CHECK(inside(buf, len, req.r_path, req.r_pathlen));
	CHECK(req.r_pathlen >= 1 && req.r_path[0] == '/');
	CHECK(memchr(req.r_path, '?', req.r_pathlen) == NULL);
	for (j = 0; j < req.r_pathlen; j++)
		CHECK(req.r_path[j] > 0x20 && req.r_path[j] < 0x7f);
	if (req.r_query == NULL) {
		CHECK(req.r_querylen == 0);
		p = req.r_path + req.r_pathlen;
	} else {
		CHECK(req.r_query == req.r_path + req.r_pathlen + 1);
		CHECK(req.r_query[-1] == '?');
		CHECK(inside(buf, len, req.r_query, req.r_querylen));
		p = req.r_query + req.r_querylen;
	}
	CHECK(inside(buf, len, p, 11) && p[0] == ' ' &&
	    memcmp(p + 1, "HTTP/1.", 7) == 0);
	CHECK(req.r_minor == 0 || req.r_minor == 1);
	CHECK(p[8] == '0' + req.r_minor);

	CHECK(req.r_nhdrs >= 0 && req.r_nhdrs <= HTTP_MAXHDRS);
	for (i = 0; i < req.r_nhdrs; i++) {
		h = &req.r_hdrs[i];
		CHECK(h->h_namelen >= 1);
		CHECK(inside(buf, len, h->h_name, h->h_namelen + 1));
		CHECK(h->h_name[h->h_namelen] == ':');
		CHECK(h->h_name[-1] == '\n');
		CHECK(inside(buf, len, h->h_value, h->h_valuelen));
		CHECK(h->h_value > h->h_name + h->h_namelen);
		if (h->h_valuelen > 0) {
			CHECK(!isows(h->h_value[0]));
			CHECK(!isows(h->h_value[h->h_valuelen - 1]));
		}
		for (j = 0; j < h->h_valuelen; j++)
			CHECK(h->h_value[j] != '\r' && h->h_value[j] != '\n');
		if (i > 0)
			CHECK(h->h_name > req.r_hdrs[i - 1].h_value);
	}
	check_fields(&req);

	if (req.r_query != NULL) {
		/* The first pair's key, if plain, must be found. */
		for (klen = 0; klen < req.r_querylen; klen++) {
			c = req.r_query[klen];
			if (c == '&' || c == '=' || c == '%' || c == '+')
				break;
		}
		memcpy(namebuf, req.r_query, klen);
		namebuf[klen] = '\0';
		if (klen > 0 && (klen == req.r_querylen ||
		    req.r_query[klen] == '&' || req.r_query[klen] == '=')) {
			CHECK(http_query_get(req.r_query, req.r_querylen,
			    namebuf, outbuf, sizeof(outbuf)) != -1);
			check_query(req.r_query, req.r_querylen, namebuf);
		}
		check_query(req.r_query, req.r_querylen, "token");
		check_query(req.r_query, req.r_querylen, "");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*in = (const char *)data;
	char		*copy;
	size_t		 whole, klen, k;
	uint32_t	 seed;

	whole = http_head_end(in, size, 0);
	CHECK(whole == ref_head_end(in, size));
	CHECK(whole <= size);

	seed = 2166136261u;
	for (k = 0; k < size; k++)
		seed = (seed ^ data[k]) * 16777619u;
	check_chunks(in, size, whole, seed, 1);
	check_chunks(in, size, whole, seed, 7);
	check_chunks(in, size, whole, seed ^ 0x5bd1e995u, 300);

	/*
	 * Parse an exact-size copy of the head, so that ASan sees any read
	 * past it, then the whole input as if it were a head.
	 */
	if (whole > 0) {
		if ((copy = malloc(whole)) == NULL)
			return 0;
		memcpy(copy, in, whole);
		check_parse(copy, whole);
		free(copy);
	}
	check_parse(in, size);

	/* The query decoder on raw bytes: a key from the front, then q. */
	if (size > 0) {
		klen = data[0] % 8;
		if (klen > size - 1)
			klen = size - 1;
		memcpy(namebuf, in + 1, klen);
		namebuf[klen] = '\0';
		check_query(in + 1 + klen, size - 1 - klen, namebuf);
	}
	return 0;
}
