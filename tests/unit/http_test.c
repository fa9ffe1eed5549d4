/*
 * http_test.c -- unit tests for lib/http.c: finding the end of a request
 * head (whole, split, trickled), parsing it strictly, the header helpers
 * and form-urlencoded query decoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "tap.h"

/*
 * Each parse works on a heap copy of exactly the bytes given, so that
 * ASan notices any read past the end.  The copy lives until the next
 * parse, since the request points into it.
 */
static char	*cur;

static char *
dup_bytes(const char *s, size_t len)
{
	free(cur);
	if ((cur = malloc(len > 0 ? len : 1)) == NULL) {
		perror("malloc");
		exit(1);
	}
	memcpy(cur, s, len);
	return cur;
}

/* Parse len bytes of s as given (no head_end): status and reason. */
static int
parse_n(const char *s, size_t len, struct http_req *req, const char **why)
{
	char	*b;

	b = dup_bytes(s, len);
	*why = "(unset)";
	return http_parse(b, len, req, why);
}

/* Find the head end of the string s, then parse that much. */
static int
parse(const char *s, struct http_req *req, const char **why)
{
	size_t	 len, end;

	len = strlen(s);
	if ((end = http_head_end(s, len, 0)) == 0)
		end = len;
	return parse_n(s, end, req, why);
}

static int
streq_n(const char *p, size_t n, const char *want)
{
	return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Expect s to be rejected with status and reason. */
static void
bad(const char *s, int status, const char *reason, const char *what)
{
	struct http_req	 req;
	const char	*why;
	int		 rc;

	rc = parse(s, &req, &why);
	ok(rc == status && why != NULL && strcmp(why, reason) == 0,
	    "reject %s: %d \"%s\" (want %d \"%s\")", what, rc,
	    why ? why : "(null)", status, reason);
}

/* Expect s to be accepted. */
static int
good(const char *s, struct http_req *req, const char *what)
{
	const char	*why;
	int		 rc;

	rc = parse(s, req, &why);
	ok(rc == 0 && why == NULL, "accept %s (%d %s)", what, rc,
	    why ? why : "");
	return rc == 0;
}

static void
test_head_end(void)
{
	const char	*h = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
	size_t		 hl = strlen(h), want = hl - 4;

	ok(http_head_end(h, hl, 0) == want, "head_end finds CRLFCRLF");
	ok(http_head_end(h, want, 0) == want, "head_end at the exact end");
	ok(http_head_end(h, want - 1, 0) == 0, "head_end: CRLFCR is not yet");
	ok(http_head_end(h, want - 2, 0) == 0, "head_end: CRLF is not yet");
	ok(http_head_end("GET / HTTP/1.1\n\nX", 17, 0) == 16,
	    "head_end finds LF LF");
	ok(http_head_end("GET / HTTP/1.1\n\r\nX", 18, 0) == 17,
	    "head_end finds LF CRLF");
	ok(http_head_end("GET / HTTP/1.1\r\n\nX", 18, 0) == 17,
	    "head_end finds CRLF LF");
	ok(http_head_end("GET / HTTP/1.1\r\n\r\r\n", 19, 0) == 0,
	    "head_end: CRLF CR CRLF is no terminator");
	ok(http_head_end("\r\r\r\r", 4, 0) == 0, "head_end: bare CRs");
	ok(http_head_end("", 0, 0) == 0, "head_end on nothing");
	ok(http_head_end(NULL, 0, 0) == 0, "head_end on NULL");
	ok(http_head_end("\n\n", 2, 0) == 2, "head_end at the very start");
	ok(http_head_end(h, hl, hl + 100) == 0,
	    "head_end with from past len does not read past len");
	ok(http_head_end("a\r\n\r\nb\r\n\r\n", 10, 0) == 5,
	    "head_end returns the first terminator");
	/*
	 * A resumed search must not go back to the start: that is what
	 * makes a trickle O(n).  The terminator at 0 was (by contract)
	 * already looked at, so it is not found again.
	 */
	ok(http_head_end("\n\nabcdefgh", 10, 10) == 0,
	    "head_end resumes near from instead of rescanning");
	ok(http_head_end("abcdefg\r\n\r\n", 11, 8) == 11,
	    "head_end resumes a few bytes before from");
	ok(http_head_end("abcdefg\r\n\r\n", 11, 10) == 11,
	    "head_end catches a terminator split 3+1");
	ok(http_head_end("abcdefg\n\r\n", 10, 8) == 10,
	    "head_end catches LF | CRLF");
	ok(http_head_end("abcdefg\n\r\n", 10, 9) == 10,
	    "head_end catches LF CR | LF");
}

/* Feed s byte by byte, and split at every position: same end each way. */
static void
test_head_end_feeds(const char *s, const char *what)
{
	size_t	 len = strlen(s), whole, k, got, at, prev, step, from;
	int	 ok1 = 1, ok2 = 1, ok3 = 1;

	whole = http_head_end(s, len, 0);
	ok(whole != 0, "%s: whole head_end found (%zu)", what, whole);

	/* One byte per read, passing the previous length as from. */
	got = 0;
	at = 0;
	for (k = 1; k <= len && got == 0; k++) {
		got = http_head_end(s, k, k - 1);
		at = k;
	}
	ok(got == whole && at == whole,
	    "%s: 1-byte trickle finds %zu when %zu bytes are in (want %zu)",
	    what, got, at, whole);

	/* Two reads, split at every position. */
	for (k = 0; k <= len; k++) {
		got = http_head_end(s, k, 0);
		if (got != 0 && (k < whole || got != whole))
			ok1 = 0;
		if (got == 0 && http_head_end(s, len, k) != whole)
			ok2 = 0;
	}
	ok(ok1, "%s: split anywhere, first part finds nothing early", what);
	ok(ok2, "%s: split anywhere, second part finds the end", what);

	/* Uneven reads of 1..7 bytes. */
	for (step = 1; step <= 7; step++) {
		prev = 0;
		got = 0;
		for (from = 0; from < len && got == 0; ) {
			from = from + step > len ? len : from + step;
			got = http_head_end(s, from, prev);
			prev = from;
		}
		if (got != whole)
			ok3 = 0;
	}
	ok(ok3, "%s: reads of 1..7 bytes agree", what);
}

static const char *chrome =
    "GET /ws?token=eyJhbGciOiJIUzI1NiJ9.e30.sig&session=S1 HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; "
    "client_max_window_bits\r\n"
    "\r\n";

static const char *firefox =
    "GET /ws HTTP/1.1\r\n"
    "Host: gw.example:443\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) "
    "Gecko/20100101 Firefox/121.0\r\n"
    "Accept: */*\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Origin: https://gw.example\r\n"
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Authorization: Bearer abc.def.ghi\r\n"
    "Sec-Fetch-Mode: websocket\r\n"
    "Pragma: no-cache\r\n"
    "Upgrade: websocket\r\n"
    "\r\n";

static void
test_browsers(void)
{
	struct http_req		 req;
	const struct http_hdr	*h;
	char			 out[128];

	if (good(chrome, &req, "Chrome upgrade")) {
		ok(streq_n(req.r_method, req.r_methodlen, "GET"),
		    "chrome: method");
		ok(streq_n(req.r_path, req.r_pathlen, "/ws"), "chrome: path");
		ok(streq_n(req.r_query, req.r_querylen,
		    "token=eyJhbGciOiJIUzI1NiJ9.e30.sig&session=S1"),
		    "chrome: query");
		ok(req.r_minor == 1, "chrome: HTTP/1.1");
		ok(req.r_nhdrs == 12, "chrome: 12 fields (%d)", req.r_nhdrs);
		ok(req.r_headlen == strlen(chrome), "chrome: headlen");
		h = http_hdr_get(&req, "host");
		ok(h != NULL && streq_n(h->h_value, h->h_valuelen,
		    "localhost:8080"), "chrome: Host");
		h = http_hdr_get(&req, "SEC-WEBSOCKET-KEY");
		ok(h != NULL && streq_n(h->h_value, h->h_valuelen,
		    "dGhlIHNhbXBsZSBub25jZQ=="), "chrome: key");
		ok(streq_n(req.r_hdrs[0].h_name, req.r_hdrs[0].h_namelen,
		    "Host"), "chrome: names keep their case");
		ok(http_hdr_has_token(&req, "connection", "upgrade"),
		    "chrome: Connection has upgrade");
		ok(http_hdr_has_token(&req, "Upgrade", "WebSocket"),
		    "chrome: Upgrade has websocket");
		ok(http_hdr_has_token(&req, "Sec-WebSocket-Version", "13"),
		    "chrome: version 13");
		ok(http_hdr_has_token(&req, "Accept-Encoding", "deflate"),
		    "chrome: Accept-Encoding list");
		ok(http_query_get(req.r_query, req.r_querylen, "token", out,
		    sizeof(out)) == 28 &&
		    strcmp(out, "eyJhbGciOiJIUzI1NiJ9.e30.sig") == 0,
		    "chrome: token from the query");
		ok(http_query_get(req.r_query, req.r_querylen, "session", out,
		    sizeof(out)) == 2 && strcmp(out, "S1") == 0,
		    "chrome: session from the query");
	}
	test_head_end_feeds(chrome, "chrome");

	if (good(firefox, &req, "Firefox upgrade")) {
		ok(req.r_query == NULL && req.r_querylen == 0,
		    "firefox: no query");
		ok(http_hdr_has_token(&req, "Connection", "upgrade"),
		    "firefox: keep-alive, Upgrade has upgrade");
		ok(http_hdr_has_token(&req, "Connection", "Keep-Alive"),
		    "firefox: keep-alive, Upgrade has keep-alive");
		ok(!http_hdr_has_token(&req, "Connection", "keep"),
		    "firefox: no partial element");
		ok(!http_hdr_has_token(&req, "Upgrade", "upgrade"),
		    "firefox: token of another field does not count");
		h = http_hdr_get(&req, "authorization");
		ok(h != NULL && streq_n(h->h_value, h->h_valuelen,
		    "Bearer abc.def.ghi"), "firefox: Authorization");
	}
	test_head_end_feeds(firefox, "firefox");
}

static void
test_request_line(void)
{
	struct http_req	 req;
	const char	*why;
	char		 buf[256];

	if (good("GET /healthz HTTP/1.0\r\n\r\n", &req, "healthz 1.0")) {
		ok(req.r_minor == 0, "HTTP/1.0 is minor 0");
		ok(req.r_nhdrs == 0, "no fields");
		ok(streq_n(req.r_path, req.r_pathlen, "/healthz") &&
		    req.r_query == NULL && req.r_querylen == 0,
		    "path without query");
		ok(req.r_headlen == 25, "headlen of healthz (%zu)",
		    req.r_headlen);
	}
	if (good("GET /? HTTP/1.1\r\n\r\n", &req, "empty query")) {
		ok(streq_n(req.r_path, req.r_pathlen, "/"), "path of /?");
		ok(req.r_query != NULL && req.r_querylen == 0 &&
		    req.r_query == req.r_path + 2, "query of /? is empty");
	}
	if (good("GET /a/b?x=1?y&z HTTP/1.1\r\n\r\n", &req, "two '?'")) {
		ok(streq_n(req.r_path, req.r_pathlen, "/a/b"),
		    "path stops at the first '?'");
		ok(streq_n(req.r_query, req.r_querylen, "x=1?y&z"),
		    "query keeps the later '?'");
	}
	if (good("GET /!$&'()*+,;=:@-._~%20\"<>[]{}|^`\\a HTTP/1.1\r\n\r\n",
	    &req, "every visible byte but '#' in the target"))
		ok(req.r_pathlen == 33, "long path kept (%zu)", req.r_pathlen);
	if (good("M-SEARCH / HTTP/1.1\r\n\r\n", &req, "method M-SEARCH"))
		ok(streq_n(req.r_method, req.r_methodlen, "M-SEARCH"),
		    "method M-SEARCH");
	good("!#$%&'*+-.^_`|~0 / HTTP/1.1\r\n\r\n", &req,
	    "all tchar kinds in a 16-byte method");
	good("ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n", &req, "16-byte method");
	bad("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n", 400, "bad method",
	    "17-byte method");
	bad("G@T / HTTP/1.1\r\n\r\n", 400, "bad method", "'@' in method");
	bad("GET\t/ HTTP/1.1\r\n\r\n", 400, "bad method", "HTAB after method");
	bad("GE(T / HTTP/1.1\r\n\r\n", 400, "bad method", "'(' in method");
	bad("GET  / HTTP/1.1\r\n\r\n", 400, "bad request line",
	    "two spaces after method");
	bad("GET /  HTTP/1.1\r\n\r\n", 400, "bad request line",
	    "two spaces after target");
	bad("GET / HTTP/1.1 \r\n\r\n", 400, "bad request line",
	    "space after version");
	bad(" GET / HTTP/1.1\r\n\r\n", 400, "bad request line",
	    "leading space");
	bad("GET\r\n\r\n", 400, "bad request line", "method only");
	bad("GET \r\n\r\n", 400, "bad request line", "no target");
	bad("GET /\r\n\r\n", 400, "bad request line", "no version");
	bad("GET / \r\n\r\n", 400, "bad HTTP version", "empty version");
	bad("\r\n\r\n", 400, "bad request line", "empty request line");
	bad("\r\nGET / HTTP/1.1\r\n\r\n", 400, "bad request line",
	    "leading empty line");
	bad("GET * HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "asterisk-form");
	bad("OPTIONS * HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "OPTIONS *");
	bad("GET http://h/ws HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "absolute-form");
	bad("CONNECT h:443 HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "authority-form");
	bad("GET /a\tb HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "HTAB in target");
	bad("GET /a\x7f HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "DEL in target");
	bad("GET /ws#frag HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "a fragment in the target");
	bad("GET /ws?a=1#f HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "a fragment after the query");
	bad("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "UTF-8 in target");
	bad("GET /a\x01 HTTP/1.1\r\n\r\n", 400, "bad request target",
	    "CTL in target");

	bad("GET / HTTP/2.0\r\n\r\n", 505, "unsupported HTTP version",
	    "HTTP/2.0");
	bad("GET / HTTP/1.2\r\n\r\n", 505, "unsupported HTTP version",
	    "HTTP/1.2");
	bad("GET / HTTP/0.9\r\n\r\n", 505, "unsupported HTTP version",
	    "HTTP/0.9");
	bad("GET / HTTP/9.1\r\n\r\n", 505, "unsupported HTTP version",
	    "HTTP/9.1");
	bad("GET / HTTP/1.10\r\n\r\n", 400, "bad HTTP version", "HTTP/1.10");
	bad("GET / HTTP/11.1\r\n\r\n", 400, "bad HTTP version", "HTTP/11.1");
	bad("GET / HTTP/1\r\n\r\n", 400, "bad HTTP version", "HTTP/1");
	bad("GET / http/1.1\r\n\r\n", 400, "bad HTTP version", "http/1.1");
	bad("GET / HTTP/1.x\r\n\r\n", 400, "bad HTTP version", "HTTP/1.x");
	bad("GET / HTTP/1,1\r\n\r\n", 400, "bad HTTP version", "HTTP/1,1");
	bad("GET / HTTPS/1.\r\n\r\n", 400, "bad HTTP version", "HTTPS/1.");
	bad("GET / HTTP/1.1 x\r\n\r\n", 400, "bad request line",
	    "a fourth word");

	/* A target of HTTP_MAXHEAD - 16 bytes still fits the head. */
	{
		static char	 big[HTTP_MAXHEAD + 64];
		size_t		 n = HTTP_MAXHEAD - 17 - 12;

		memcpy(big, "GET /", 5);
		memset(big + 5, 'a', n - 1);
		memcpy(big + 4 + n, " HTTP/1.1\r\n\r\n", 14);
		ok(strlen(big) == HTTP_MAXHEAD - 12, "big head is %zu",
		    strlen(big));
		if (good(big, &req, "long target"))
			ok(req.r_pathlen == n, "long target length %zu",
			    req.r_pathlen);
		memset(big, 0, sizeof(big));
		memcpy(big, "GET /", 5);
		memset(big + 5, 'a', HTTP_MAXHEAD);
		memcpy(big + 5 + HTTP_MAXHEAD, " HTTP/1.1\r\n\r\n", 14);
		bad(big, 431, "request head too large", "head over MAXHEAD");
	}

	snprintf(buf, sizeof(buf), "GET /ok HTTP/1.1\r\n\r\n");
	ok(http_parse(buf, strlen(buf), &req, NULL) == 0,
	    "reason may be NULL on success");
	ok(http_parse(buf, 5, &req, NULL) == 400,
	    "reason may be NULL on failure");
	ok(parse_n("", 0, &req, &why) == 400 && why != NULL,
	    "empty head is 400");
	ok(parse_n("GET / HTTP/1.1\r\n", 16, &req, &why) == 400 &&
	    strcmp(why, "truncated request head") == 0,
	    "head without the blank line is 400");
	ok(parse_n("GET / HTTP/1.1\r\nA: b\r\n", 22, &req, &why) == 400 &&
	    strcmp(why, "truncated request head") == 0,
	    "head ending after a field is 400");
	ok(parse_n("GET / HTTP/1.1\r\nA: b", 20, &req, &why) == 400,
	    "head ending mid-field is 400");
	ok(parse_n("GET / HTTP/1.1\r\n\r\nX", 19, &req, &why) == 400 &&
	    strcmp(why, "bytes after request head") == 0,
	    "bytes after the blank line are 400");
}

static void
test_nul_and_eol(void)
{
	struct http_req	 req;
	const char	*why;
	static const char l1[] = "GET /a\0b HTTP/1.1\r\n\r\n";
	static const char l2[] = "GET / HTTP/1.1\r\nA: x\0y\r\n\r\n";
	static const char l3[] = "GET / HTTP/1.1\r\nA\0: x\r\n\r\n";
	static const char l4[] = "\0GET / HTTP/1.1\r\n\r\n";

	ok(parse_n(l1, sizeof(l1) - 1, &req, &why) == 400 &&
	    strcmp(why, "NUL in request head") == 0, "NUL in target");
	ok(parse_n(l2, sizeof(l2) - 1, &req, &why) == 400 &&
	    strcmp(why, "NUL in request head") == 0, "NUL in value");
	ok(parse_n(l3, sizeof(l3) - 1, &req, &why) == 400 &&
	    strcmp(why, "NUL in request head") == 0, "NUL in name");
	ok(parse_n(l4, sizeof(l4) - 1, &req, &why) == 400 &&
	    strcmp(why, "NUL in request head") == 0, "NUL first");

	bad("GET / HTTP/1.1\n\n", 400, "bare LF in request head",
	    "all bare LF");
	bad("GET / HTTP/1.1\n\r\n", 400, "bare LF in request head",
	    "bare LF on the request line");
	bad("GET / HTTP/1.1\r\nHost: a\n\r\n", 400,
	    "bare LF in request head", "bare LF after a field");
	bad("GET / HTTP/1.1\r\nHost: a\r\n\n", 400,
	    "bare LF in request head", "bare LF blank line");
	bad("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400,
	    "bare CR in request head", "bare CR in a value");
	bad("GET /\r HTTP/1.1\r\n\r\n", 400, "bare CR in request head",
	    "bare CR in the target");
}

static void
test_fields(void)
{
	struct http_req		 req;
	const struct http_hdr	*h;

	if (good("GET / HTTP/1.1\r\nX-Empty:\r\nX-Ws: \t \r\n"
	    "X-Trim: \t a \t b\t \r\nX-Obs: caf\xc3\xa9\r\n"
	    "x-trim:second\r\n\r\n", &req, "odd values")) {
		ok(req.r_nhdrs == 5, "five fields");
		h = http_hdr_get(&req, "x-empty");
		ok(h != NULL && h->h_valuelen == 0 &&
		    h->h_value == req.r_hdrs[0].h_name + 8,
		    "empty value allowed");
		h = http_hdr_get(&req, "X-WS");
		ok(h != NULL && h->h_valuelen == 0, "all-OWS value is empty");
		h = http_hdr_get(&req, "X-Trim");
		ok(h != NULL && streq_n(h->h_value, h->h_valuelen,
		    "a \t b"), "OWS trimmed at both ends, kept inside");
		ok(h == &req.r_hdrs[2], "hdr_get returns the first");
		h = http_hdr_get(&req, "x-obs");
		ok(h != NULL && streq_n(h->h_value, h->h_valuelen,
		    "caf\xc3\xa9"), "obs-text allowed in a value");
		ok(http_hdr_count(&req, "X-TRIM") == 2, "count 2");
		ok(http_hdr_count(&req, "x-empty") == 1, "count 1");
		ok(http_hdr_count(&req, "nope") == 0, "count 0");
		ok(http_hdr_get(&req, "X-Tri") == NULL, "no prefix match");
		ok(http_hdr_get(&req, "X-Trimm") == NULL, "no longer match");
		ok(http_hdr_get(&req, "") == NULL, "empty name matches none");
		h = http_hdr_get(&req, "x-trim");
		ok(h != NULL && streq_n(req.r_hdrs[4].h_value,
		    req.r_hdrs[4].h_valuelen, "second"),
		    "value without a space after the colon");
	}
	good("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09aZ: v\r\n\r\n", &req,
	    "every tchar kind in a name");

	bad("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "bad header field",
	    "space before the colon");
	bad("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "bad header field",
	    "HTAB before the colon");
	bad("GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400, "bad header field",
	    "space in a name");
	bad("GET / HTTP/1.1\r\n: a\r\n\r\n", 400, "bad header field",
	    "empty name");
	bad("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "bad header field",
	    "no colon");
	bad("GET / HTTP/1.1\r\nHost\r\n\r\n", 400, "bad header field",
	    "name only");
	bad("GET / HTTP/1.1\r\nH\xc3\xb3st: a\r\n\r\n", 400,
	    "bad header field", "non-ASCII name");
	bad("GET / HTTP/1.1\r\nX(y): a\r\n\r\n", 400, "bad header field",
	    "delimiter in a name");
	bad("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400,
	    "obsolete line folding", "obs-fold with SP");
	bad("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 400,
	    "obsolete line folding", "obs-fold with HTAB");
	bad("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400,
	    "obsolete line folding", "whitespace line after request line");
	bad("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400, "bad header field",
	    "SOH in a value");
	bad("GET / HTTP/1.1\r\nA: b\x1b[0m\r\n\r\n", 400, "bad header field",
	    "ESC in a value");
	bad("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400, "bad header field",
	    "DEL in a value");
	bad("GET / HTTP/1.1\r\nA: \x0b\r\n\r\n", 400, "bad header field",
	    "VT in a value");
	good("GET / HTTP/1.1\r\nA: b\tc\r\n\r\n", &req, "HTAB in a value");
}

static void
test_many_fields(void)
{
	static char	 buf[HTTP_MAXHEAD];
	struct http_req	 req;
	const char	*why;
	size_t		 n;
	int		 i, rc;

	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAXHDRS; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "X-%d: %d\r\n", i, i);
	n += snprintf(buf + n, sizeof(buf) - n, "\r\n");
	rc = parse(buf, &req, &why);
	ok(rc == 0 && req.r_nhdrs == HTTP_MAXHDRS, "%d fields accepted",
	    HTTP_MAXHDRS);
	ok(rc == 0 && streq_n(req.r_hdrs[63].h_name,
	    req.r_hdrs[63].h_namelen, "X-63") && streq_n(
	    req.r_hdrs[63].h_value, req.r_hdrs[63].h_valuelen, "63"),
	    "last of %d fields", HTTP_MAXHDRS);
	ok(rc == 0 && http_hdr_get(&req, "x-63") == &req.r_hdrs[63],
	    "hdr_get finds the last field");

	n -= 2;
	n += snprintf(buf + n, sizeof(buf) - n, "X-last: x\r\n\r\n");
	rc = parse(buf, &req, &why);
	ok(rc == 431 && strcmp(why, "too many header fields") == 0,
	    "%d fields: 431 (%d)", HTTP_MAXHDRS + 1, rc);
}

static void
tok_case(const char *fields, const char *token, int want, const char *what)
{
	struct http_req	 req;
	const char	*why;
	char		 buf[512];
	int		 rc;

	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n%s\r\n", fields);
	rc = parse(buf, &req, &why);
	ok(rc == 0 && http_hdr_has_token(&req, "Connection", token) == want,
	    "token %s: \"%s\" %s", what, token, want ? "found" : "absent");
}

static void
test_tokens(void)
{
	struct http_req	 req;
	const char	*why;

	tok_case("Connection: Upgrade\r\n", "upgrade", 1, "single");
	tok_case("Connection: keep-alive, Upgrade\r\n", "upgrade", 1,
	    "second element");
	tok_case("Connection: keep-alive,Upgrade\r\n", "UPGRADE", 1,
	    "no space after the comma");
	tok_case("Connection: ,, ,\tupgrade\t, ,\r\n", "upgrade", 1,
	    "empty elements and HTAB around");
	tok_case("Connection:upgrade   ,\r\n", "upgrade", 1,
	    "trailing spaces before a comma");
	tok_case("Connection: Upgrade2\r\n", "upgrade", 0, "longer word");
	tok_case("Connection: notupgrade\r\n", "upgrade", 0, "suffix");
	tok_case("Connection: upgra\r\n", "upgrade", 0, "prefix");
	tok_case("Connection: up grade\r\n", "upgrade", 0, "split word");
	tok_case("Connection: up\tgrade, close\r\n", "up", 0,
	    "word followed by HTAB inside an element");
	tok_case("Connection: \"upgrade\"\r\n", "upgrade", 0, "quoted");
	tok_case("Connection: , ,\t,\r\n", "upgrade", 0, "only commas");
	tok_case("Connection:\r\n", "upgrade", 0, "empty value");
	tok_case("Connection: close\r\nConnection: Upgrade\r\n", "upgrade", 1,
	    "second Connection field");
	tok_case("Connection: Upgrade\r\nConnection: close\r\n", "close", 1,
	    "combined fields, token in the second");
	tok_case("Upgrade: upgrade\r\nConnection: close\r\n", "upgrade", 0,
	    "token in another field");
	tok_case("Connection: a, , b\r\n", "", 0, "empty token");
	tok_case("Connection: a, ,b\r\n", "b", 1, "last element, no OWS");
	tok_case("Connection: a,b,\r\n", "b", 1, "trailing comma");

	if (parse("GET / HTTP/1.1\r\nconnection: UpGrade\r\n\r\n", &req,
	    &why) == 0) {
		ok(http_hdr_has_token(&req, "CONNECTION", "upgrade"),
		    "names and tokens both case-insensitive");
		ok(!http_hdr_has_token(&req, "Upgrade", "upgrade"),
		    "no field of that name");
	} else
		ok(0, "connection: UpGrade parses");
}

static void
query_case(const char *q, size_t outlen, const char *key, ssize_t want,
    const char *wantout)
{
	char	 out[64];
	ssize_t	 n;

	memset(out, 'X', sizeof(out));
	n = http_query_get(dup_bytes(q, strlen(q)), strlen(q), key, out,
	    outlen);
	if (want >= 0)
		ok(n == want && (size_t)n < outlen && memcmp(out, wantout,
		    n + 1) == 0, "query \"%s\" %s -> \"%s\" (got %zd)", q, key,
		    wantout, n);
	else
		ok(n == want, "query \"%s\" %s -> %zd (got %zd)", q, key, want,
		    n);
}

static void
test_query(void)
{
	char	 out[8];

	query_case("token=abc&session=S1", 64, "token", 3, "abc");
	query_case("token=abc&session=S1", 64, "session", 2, "S1");
	query_case("token=abc&session=S1", 64, "sess", -1, NULL);
	query_case("token=abc&session=S1", 64, "tokens", -1, NULL);
	query_case("token=abc&session=S1", 64, "abc", -1, NULL);
	query_case("a=1&a=2", 64, "a", 1, "1");
	query_case("flag&x=1", 64, "flag", 0, "");
	query_case("flag=&x=1", 64, "flag", 0, "");
	query_case("x=1&flag", 64, "flag", 0, "");
	query_case("&&a=1&&", 64, "a", 1, "1");
	query_case("a=b=c", 64, "a", 3, "b=c");
	query_case("a=%41%62+c+", 64, "a", 5, "Ab c ");
	query_case("a=%e2%82%AC", 64, "a", 3, "\xe2\x82\xac");
	query_case("a=%2B%26%3D%25", 64, "a", 4, "+&=%");
	query_case("a=%4", 64, "a", -2, NULL);
	query_case("a=%", 64, "a", -2, NULL);
	query_case("a=%zz", 64, "a", -2, NULL);
	query_case("a=%4g", 64, "a", -2, NULL);
	query_case("a=x%g4", 64, "a", -2, NULL);
	query_case("a=%00", 64, "a", -2, NULL);
	query_case("a=%4&b=1", 64, "b", 1, "1");
	query_case("a=%4&a=1", 64, "a", -2, NULL);
	query_case("my%20key=v", 64, "my key", 1, "v");
	query_case("my+key=v", 64, "my key", 1, "v");
	query_case("my%20key=v", 64, "my%20key", -1, NULL);
	query_case("%zz=1&a=2", 64, "a", 1, "2");
	query_case("%61=1", 64, "a", 1, "1");
	query_case("a%00=1&a=2", 64, "a", 1, "2");
	query_case("A=1", 64, "a", -1, NULL);
	query_case("=v&a=1", 64, "", 1, "v");
	query_case("a=1&&=v", 64, "", 1, "v");
	query_case("", 64, "a", -1, NULL);
	query_case("abc=12345", 6, "abc", 5, "12345");
	query_case("abc=123456", 6, "abc", -2, NULL);
	query_case("abc=%41%41%41%41%41", 6, "abc", 5, "AAAAA");
	query_case("abc=%41%41%41%41%41%41", 6, "abc", -2, NULL);
	query_case("abc=", 1, "abc", 0, "");
	query_case("abc=x", 1, "abc", -2, NULL);
	query_case("abc=x", 0, "abc", -2, NULL);
	query_case("abc=x", 0, "nope", -1, NULL);

	ok(http_query_count("a=1&b=2&a=3", 11, "a") == 2 &&
	    http_query_count("a=1&b=2&a=3", 11, "b") == 1 &&
	    http_query_count("a=1&b=2&a=3", 11, "c") == 0 &&
	    http_query_count("a&%61=1&&a=", 11, "a") == 3 &&
	    http_query_count("a=1&b=2&a=3", 8, "a") == 1 &&
	    http_query_count(NULL, 0, "a") == 0,
	    "query_count: pairs of a key, decoded keys, up to qlen");
	ok(http_query_get("a=1&b=2", 3, "b", out, sizeof(out)) == -1,
	    "query_get stops at qlen");
	ok(http_query_get("a=123", 4, "a", out, sizeof(out)) == 2 &&
	    strcmp(out, "12") == 0, "value cut at qlen");
	ok(http_query_get("a=%41", 4, "a", out, sizeof(out)) == -2,
	    "escape cut at qlen is malformed");
	ok(http_query_get(NULL, 0, "a", out, sizeof(out)) == -1,
	    "NULL query: absent");
	ok(http_query_get("a=x\0y", 5, "a", out, sizeof(out)) == -2,
	    "raw NUL in a value is malformed");
	ok(http_query_get("a\0=1&a=2", 8, "a", out, sizeof(out)) == 1 &&
	    strcmp(out, "2") == 0, "raw NUL in a key never matches");
	strcpy(out, "junk");
	ok(http_query_get("a=toolongvalue", 14, "a", out, sizeof(out)) == -2 &&
	    out[0] == '\0', "out is empty after -2");
}

int
main(void)
{
	test_head_end();
	test_head_end_feeds("GET / HTTP/1.1\r\n\r\n", "minimal");
	test_head_end_feeds("GET / HTTP/1.1\n\n", "bare LF");
	test_head_end_feeds("GET / HTTP/1.1\r\nA: b\n\r\nrest", "LF CRLF");
	test_head_end_feeds("\r\n\r\n", "blank only");
	test_browsers();
	test_request_line();
	test_nul_and_eol();
	test_fields();
	test_many_fields();
	test_tokens();
	test_query();
	free(cur);
	return tap_done();
}
