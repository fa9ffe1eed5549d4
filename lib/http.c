/*
 * http.c -- see http.h.  The parser is strict on purpose: gw-listen only
 * serves a WebSocket upgrade and a few GET endpoints, so anything odd in a
 * request head (bare LF, obs-fold, NUL, stray whitespace) is answered 400
 * rather than guessed at.
 */
#include <string.h>

#include "http.h"

#define HTTP_MAXMETHOD	16	/* longest method we accept */

static int
http_istchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return 1;
	default:
		return 0;
	}
}

static int
http_isows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
http_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive comparison of two counted strings. */
static int
http_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	 i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		if (http_lower(a[i]) != http_lower(b[i]))
			return 0;
	return 1;
}

/*
 * Find the end of a request head in buf[0..len): the first LF followed by
 * either LF or CRLF, which covers "\r\n\r\n", "\n\n" and "\n\r\n".  The
 * search starts a little before from, the length the buffer had on the
 * previous call, because a terminator may straddle two reads; bytes before
 * that were already searched.  Pass 0 as from on the first call.  Returns
 * the offset just past the terminator, or 0 if there is none yet.
 */
size_t
http_head_end(const char *buf, size_t len, size_t from)
{
	const char	*p;
	size_t		 i;

	if (buf == NULL)
		return 0;
	if (from > len)
		from = len;
	/*
	 * An LF at i is decided once buf[i + 2] is known, so anything from
	 * from - 2 on may have been undecided last time; 3 is a safe margin.
	 */
	i = from > 3 ? from - 3 : 0;
	while (i < len) {
		if ((p = memchr(buf + i, '\n', len - i)) == NULL)
			return 0;
		i = p - buf;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
		i++;
	}
	return 0;
}

/*
 * Check the whole head once for bytes that are never allowed: NUL, and CR
 * or LF anywhere but in a CRLF pair.  Returns a reason, or NULL if clean.
 */
static const char *
http_check_bytes(const char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		switch (buf[i]) {
		case '\0':
			return "NUL in request head";
		case '\n':
			if (i == 0 || buf[i - 1] != '\r')
				return "bare LF in request head";
			break;
		case '\r':
			if (i + 1 >= len || buf[i + 1] != '\n')
				return "bare CR in request head";
			break;
		default:
			break;
		}
	}
	return NULL;
}

/*
 * Parse the request line buf[0..eol), eol being the index of its CR.
 * Returns 0 or an HTTP status with *reason set.
 */
static int
http_parse_reqline(const char *buf, size_t eol, struct http_req *req,
    const char **reason)
{
	const char	*v;
	size_t		 i, t;

	for (i = 0; i < eol && http_istchar(buf[i]); i++)
		;
	if (i == eol || (i == 0 && buf[i] == ' ')) {
		*reason = "bad request line";
		return 400;
	}
	if (buf[i] != ' ' || i > HTTP_MAXMETHOD) {
		*reason = "bad method";
		return 400;
	}
	req->r_method = buf;
	req->r_methodlen = i;

	t = ++i;
	if (i == eol || buf[i] == ' ') {
		*reason = "bad request line";
		return 400;
	}
	/* '#' has no place in a request-target (RFC 9112 section 3.2). */
	for (; i < eol && buf[i] != ' '; i++) {
		if ((unsigned char)buf[i] < 0x21 ||
		    (unsigned char)buf[i] > 0x7e || buf[i] == '#') {
			*reason = "bad request target";
			return 400;
		}
	}
	if (i == eol) {
		*reason = "bad request line";
		return 400;
	}
	/* Only origin-form: "*" and absolute-form have no use here. */
	if (buf[t] != '/' || i - t > HTTP_MAXHEAD) {
		*reason = "bad request target";
		return 400;
	}
	req->r_path = buf + t;
	req->r_pathlen = i - t;
	req->r_query = NULL;
	req->r_querylen = 0;
	if ((v = memchr(buf + t, '?', i - t)) != NULL) {
		req->r_pathlen = v - (buf + t);
		req->r_query = v + 1;
		req->r_querylen = i - t - req->r_pathlen - 1;
	}

	v = buf + ++i;
	if (eol - i != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9') {
		*reason = memchr(v, ' ', eol - i) != NULL ?
		    "bad request line" : "bad HTTP version";
		return 400;
	}
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
		*reason = "unsupported HTTP version";
		return 505;
	}
	req->r_minor = v[7] - '0';
	return 0;
}

/*
 * Parse one header field line buf[0..eol) into *h.  Returns 0 or an HTTP
 * status with *reason set.
 */
static int
http_parse_field(const char *buf, size_t eol, struct http_hdr *h,
    const char **reason)
{
	size_t		 i, vs, ve;
	unsigned char	 c;

	if (http_isows(buf[0])) {
		*reason = "obsolete line folding";
		return 400;
	}
	for (i = 0; i < eol && http_istchar(buf[i]); i++)
		;
	if (i == 0 || i == eol || buf[i] != ':') {
		*reason = "bad header field";
		return 400;
	}
	h->h_name = buf;
	h->h_namelen = i;

	for (vs = i + 1; vs < eol && http_isows(buf[vs]); vs++)
		;
	for (ve = eol; ve > vs && http_isows(buf[ve - 1]); ve--)
		;
	for (i = vs; i < ve; i++) {
		c = buf[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*reason = "bad header field";
			return 400;
		}
	}
	h->h_value = buf + vs;
	h->h_valuelen = ve - vs;
	return 0;
}

/*
 * Parse the request head buf[0..len), where len is what http_head_end()
 * returned: the request line, the header fields and the blank line.
 * Returns 0 on success, with *req filled with pointers into buf (buf must
 * outlive req) and req->r_headlen = len; *reason is set to NULL.  On
 * failure returns the HTTP status to answer (400, 431 or 505) and points
 * *reason at a short static one-line string; *req is then unspecified.
 */
int
http_parse(const char *buf, size_t len, struct http_req *req,
    const char **reason)
{
	const char	*why, *lf;
	size_t		 pos, eol;
	int		 rc;

	if (reason == NULL)
		reason = &why;
	*reason = NULL;
	if (buf == NULL || req == NULL || len == 0) {
		*reason = "empty request head";
		return 400;
	}
	if (len > HTTP_MAXHEAD) {
		*reason = "request head too large";
		return 431;
	}
	if ((*reason = http_check_bytes(buf, len)) != NULL)
		return 400;
	req->r_nhdrs = 0;

	/* From here on every LF is known to follow a CR. */
	if ((lf = memchr(buf, '\n', len)) == NULL) {
		*reason = "truncated request head";
		return 400;
	}
	eol = lf - buf - 1;
	if ((rc = http_parse_reqline(buf, eol, req, reason)) != 0)
		return rc;

	/* Each turn consumes at least one CRLF, so this ends. */
	for (pos = eol + 2; pos < len; pos = eol + 2) {
		if ((lf = memchr(buf + pos, '\n', len - pos)) == NULL)
			break;
		eol = lf - buf - 1;
		if (eol == pos) {
			if (eol + 2 != len) {
				*reason = "bytes after request head";
				return 400;
			}
			req->r_headlen = len;
			return 0;
		}
		if (req->r_nhdrs >= HTTP_MAXHDRS) {
			*reason = "too many header fields";
			return 431;
		}
		rc = http_parse_field(buf + pos, eol - pos,
		    &req->r_hdrs[req->r_nhdrs], reason);
		if (rc != 0)
			return rc;
		req->r_nhdrs++;
	}
	*reason = "truncated request head";
	return 400;
}

static int
http_hdr_valid_count(const struct http_req *req)
{
	if (req->r_nhdrs < 0)
		return 0;
	return req->r_nhdrs > HTTP_MAXHDRS ? HTTP_MAXHDRS : req->r_nhdrs;
}

/*
 * Return the first header field of req whose name is name, compared
 * case-insensitively, or NULL if there is none.  The result points into
 * req.
 */
const struct http_hdr *
http_hdr_get(const struct http_req *req, const char *name)
{
	size_t	 namelen;
	int	 i, n;

	if (req == NULL || name == NULL)
		return NULL;
	namelen = strlen(name);
	n = http_hdr_valid_count(req);
	for (i = 0; i < n; i++)
		if (http_caseeq(req->r_hdrs[i].h_name, req->r_hdrs[i].h_namelen,
		    name, namelen))
			return &req->r_hdrs[i];
	return NULL;
}

/*
 * Return how many header fields of req are named name (compared
 * case-insensitively); 0 if none.
 */
int
http_hdr_count(const struct http_req *req, const char *name)
{
	size_t	 namelen;
	int	 i, n, count;

	if (req == NULL || name == NULL)
		return 0;
	namelen = strlen(name);
	n = http_hdr_valid_count(req);
	for (i = count = 0; i < n; i++)
		if (http_caseeq(req->r_hdrs[i].h_name, req->r_hdrs[i].h_namelen,
		    name, namelen))
			count++;
	return count;
}

/* Is token an element of the comma-separated list v[0..vlen)? */
static int
http_list_has(const char *v, size_t vlen, const char *token, size_t toklen)
{
	size_t	 i, c, s, e;

	/* One element per turn; c is the comma (or vlen) that ends it. */
	for (i = 0; i <= vlen; i = c + 1) {
		for (c = i; c < vlen && v[c] != ','; c++)
			;
		for (s = i; s < c && http_isows(v[s]); s++)
			;
		for (e = c; e > s && http_isows(v[e - 1]); e--)
			;
		if (http_caseeq(v + s, e - s, token, toklen))
			return 1;
	}
	return 0;
}

/*
 * Return 1 if some header field of req named name (case-insensitively)
 * holds token, compared case-insensitively, as a whole element of its
 * comma-separated list value (RFC 9110 section 5.6.1: optional whitespace
 * around elements, empty elements ignored); 0 otherwise.  Several fields of
 * the same name count as one list.  An empty token never matches.
 */
int
http_hdr_has_token(const struct http_req *req, const char *name,
    const char *token)
{
	const struct http_hdr	*h;
	size_t			 namelen, toklen;
	int			 i, n;

	if (req == NULL || name == NULL || token == NULL)
		return 0;
	if ((toklen = strlen(token)) == 0)
		return 0;
	namelen = strlen(name);
	n = http_hdr_valid_count(req);
	for (i = 0; i < n; i++) {
		h = &req->r_hdrs[i];
		if (!http_caseeq(h->h_name, h->h_namelen, name, namelen))
			continue;
		if (http_list_has(h->h_value, h->h_valuelen, token, toklen))
			return 1;
	}
	return 0;
}

static int
http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the form-urlencoded byte at s[*i] (s has len bytes), advancing *i.
 * Returns the byte (1..255), or -1 if the escape is malformed or the byte
 * is NUL.
 */
static int
http_form_byte(const char *s, size_t len, size_t *i)
{
	int	 hi, lo;

	if (s[*i] == '+') {
		(*i)++;
		return ' ';
	}
	if (s[*i] != '%') {
		/* A raw NUL would cut the decoded C string short. */
		if (s[*i] == '\0')
			return -1;
		return (unsigned char)s[(*i)++];
	}
	if (len - *i < 3 || (hi = http_hexval(s[*i + 1])) == -1 ||
	    (lo = http_hexval(s[*i + 2])) == -1 || (hi | lo) == 0)
		return -1;
	*i += 3;
	return hi << 4 | lo;
}

/* Does the encoded key k[0..klen) decode to exactly the string key? */
static int
http_form_keyeq(const char *k, size_t klen, const char *key)
{
	size_t	 i, j;
	int	 c;

	for (i = j = 0; i < klen; j++) {
		if ((c = http_form_byte(k, klen, &i)) == -1)
			return 0;
		if (key[j] == '\0' || (unsigned char)key[j] != c)
			return 0;
	}
	return key[j] == '\0';
}

/*
 * How many pairs of the query q[0..qlen) have the key key (compared as
 * http_query_get() does): more than one makes a request ambiguous where
 * the first would otherwise win silently.  q may be NULL when qlen is 0.
 */
size_t
http_query_count(const char *q, size_t qlen, const char *key)
{
	size_t	 s, e, eq, n = 0;

	if (q == NULL || key == NULL)
		return 0;
	for (s = 0; s < qlen; s = e + 1) {
		for (e = s; e < qlen && q[e] != '&'; e++)
			;
		for (eq = s; eq < e && q[eq] != '='; eq++)
			;
		if (e > s && http_form_keyeq(q + s, eq - s, key))
			n++;
	}
	return n;
}

/*
 * Look key up in the application/x-www-form-urlencoded query q[0..qlen)
 * (pairs separated by '&'; a pair without '=' has an empty value; keys are
 * percent-decoded, then compared exactly).  The value of the first pair
 * with that key is percent-decoded ('+' is a space) into out, which gets a
 * terminating NUL.  Returns the decoded length; -1 if the key is absent;
 * -2 if the value is malformed (a bad %xx escape, or a NUL byte, raw or
 * escaped) or needs more than outlen - 1 bytes, in which case out, if
 * outlen > 0, holds an empty string.  q may be NULL when qlen is 0.
 */
ssize_t
http_query_get(const char *q, size_t qlen, const char *key, char *out,
    size_t outlen)
{
	size_t	 i, s, e, eq, n;
	int	 c;

	if (q == NULL || key == NULL)
		return -1;
	for (s = 0; s < qlen; s = e + 1) {
		for (e = s; e < qlen && q[e] != '&'; e++)
			;
		if (e == s)
			continue;
		for (eq = s; eq < e && q[eq] != '='; eq++)
			;
		if (!http_form_keyeq(q + s, eq - s, key))
			continue;

		if (out == NULL || outlen == 0)
			return -2;
		i = eq < e ? eq + 1 : e;
		for (n = 0; i < e; n++) {
			if (n + 1 >= outlen ||
			    (c = http_form_byte(q, e, &i)) == -1) {
				out[0] = '\0';
				return -2;
			}
			out[n] = (char)c;
		}
		out[n] = '\0';
		return (ssize_t)n;
	}
	return -1;
}
