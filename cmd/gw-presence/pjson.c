/*
 * pjson.c -- see pjson.h.
 *
 * The value of a user in gw:{C}:u is written by the Lua scripts of lua.h
 * as {"n":{"INST":MS,...},"i":INFO}: the instances that hold the user
 * with the time each one first saw them, and the user's info, kept as
 * raw JSON text.  It is read here without a JSON library, so that INFO
 * reaches clients byte for byte (a decode and encode would change big
 * numbers and empty arrays).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pjson.h"
#include "utf8.h"
#include "xmalloc.h"

/* A user of a query's answer. */
struct puser {
	const char	*u_id;
	size_t		 u_idlen;
	uint64_t	 u_since;
	const char	*u_info;
	size_t		 u_infolen;
};

/*
 * Read a user's stored value v (n bytes): *since gets the least of the
 * instances' times (the user's connectedAt), *info and *infolen the INFO
 * text, pointing into v.  Return value: 0, or -1 if v is not of the
 * expected form (INFO must at least look like an object) or holds no
 * instance (the user is not present).
 */
int
pjson_value(const char *v, size_t n, uint64_t *since, const char **info,
    size_t *infolen)
{
	const char	*p, *end = v + n;
	uint64_t	 min = UINT64_MAX, x;
	int		 digits;

	if (n < 6 || memcmp(v, "{\"n\":{", 6) != 0)
		return -1;
	p = v + 6;
	while (p < end && *p == '"') {
		/* The instance id, a JSON string: skip it. */
		for (p++; p < end && *p != '"'; p++)
			if (*p == '\\' && ++p == end)
				return -1;
		if (p == end || ++p == end || *p++ != ':')
			return -1;
		for (x = 0, digits = 0; p < end && *p >= '0' && *p <= '9';
		    p++, digits++) {
			if (x > (UINT64_MAX - 9) / 10)
				return -1;
			x = x * 10 + (uint64_t)(*p - '0');
		}
		if (digits == 0 || p == end)
			return -1;
		if (x < min)
			min = x;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return -1;
	}
	if (min == UINT64_MAX || p == end || *p != '}')
		return -1;
	p++;
	/* ,"i":INFO} with INFO an object: {...} */
	if (end - p < 8 || memcmp(p, ",\"i\":{", 6) != 0 || end[-1] != '}' ||
	    end[-2] != '}')
		return -1;
	*since = min;
	*info = p + 5;
	*infolen = (size_t)(end - 1 - (p + 5));
	return 0;
}

static int
puser_cmp(const void *a, const void *b)
{
	const struct puser	*x = a, *y = b;
	size_t			 n;
	int			 c;

	if (x->u_since != y->u_since)
		return x->u_since < y->u_since ? -1 : 1;
	n = x->u_idlen < y->u_idlen ? x->u_idlen : y->u_idlen;
	if ((c = memcmp(x->u_id, y->u_id, n)) != 0)
		return c;
	return x->u_idlen < y->u_idlen ? -1 : x->u_idlen > y->u_idlen;
}

/*
 * Build the answer to a presence query from the query script's reply:
 * count, the number of users Redis holds for the channel, and the npairs
 * (user, value) pairs it returned.  Users are sorted by connectedAt,
 * then user id; at most max of them, and no more than about maxbytes of
 * text, are listed, and "truncated":true is added when some were left
 * out.  A value that does not parse is skipped and not counted.
 * Return value: the JSON text, NUL-terminated, which the caller frees;
 * its length in *len.
 */
char *
pjson_reply(long long count, const struct pjson_pair *pairs, size_t npairs,
    size_t max, size_t maxbytes, size_t *len)
{
	struct puser	*u;
	struct buf	 b;
	size_t		 i, nu = 0, shown;
	char		 num[64];

	memset(&b, 0, sizeof(b));
	u = xcalloc(npairs + 1, sizeof(*u));
	for (i = 0; i < npairs; i++) {
		if (pjson_value(pairs[i].pp_val, pairs[i].pp_vallen,
		    &u[nu].u_since, &u[nu].u_info, &u[nu].u_infolen) == -1) {
			count--;
			continue;
		}
		u[nu].u_id = pairs[i].pp_user;
		u[nu].u_idlen = pairs[i].pp_userlen;
		nu++;
	}
	if (count < (long long)nu)
		count = nu;
	qsort(u, nu, sizeof(*u), puser_cmp);
	snprintf(num, sizeof(num), "{\"count\":%lld,\"users\":[", count);
	buf_addstr(&b, num);
	for (shown = 0; shown < nu && shown < max && b.b_len < maxbytes;
	    shown++) {
		if (shown > 0)
			buf_add(&b, ",", 1);
		buf_addstr(&b, "{\"userId\":");
		buf_addjson(&b, u[shown].u_id, u[shown].u_idlen);
		snprintf(num, sizeof(num), ",\"connectedAt\":%llu,\"info\":",
		    (unsigned long long)u[shown].u_since);
		buf_addstr(&b, num);
		buf_add(&b, u[shown].u_info, u[shown].u_infolen);
		buf_add(&b, "}", 1);
	}
	buf_add(&b, "]", 1);
	if ((long long)shown < count)
		buf_addstr(&b, ",\"truncated\":true");
	buf_add(&b, "}", 1);
	free(u);
	*len = b.b_len;
	return b.b_p;
}

/*
 * Append to b the pub/sub payload of a typing event: "!", the actor in
 * 16 hex digits, a newline, and the typing.start (stop 0) or typing.stop
 * frame for user on channel.
 */
void
pjson_typing(struct buf *b, uint64_t actor, int stop, const char *ch,
    size_t chlen, const char *user, size_t userlen)
{
	char	 head[24];

	snprintf(head, sizeof(head), "!%016llx\n", (unsigned long long)actor);
	buf_addstr(b, head);
	buf_addstr(b, stop ? "{\"type\":\"typing.stop\",\"channel\":" :
	    "{\"type\":\"typing.start\",\"channel\":");
	buf_addjson(b, ch, chlen);
	buf_addstr(b, ",\"userId\":");
	buf_addjson(b, user, userlen);
	buf_add(b, "}", 1);
}

/*
 * Whether the n bytes of s are a session id: exactly 32 lowercase
 * hexadecimal digits.  Return value: 1 if so, else 0.
 */
int
pjson_sid_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n != PJSON_SIDLEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

#define PJSON_MAXDEPTH	64	/* objects and arrays in a state */

/* Skip JSON white space from *p on. */
static void
pjson_ws(const unsigned char **p, const unsigned char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' ||
	    **p == '\r'))
		(*p)++;
}

/* The value of the four hex digits at p, or -1. */
static long
pjson_hex4(const unsigned char *p)
{
	long	v = 0;
	int	i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			v |= (p[i] | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * A JSON string from *p (at its quote) on: *p is moved past its closing
 * quote.  As jansson reads them: no control character, no \u0000, no
 * surrogate outside a pair.  Return value: 1, or 0 if not a string.
 */
static int
pjson_string(const unsigned char **p, const unsigned char *end)
{
	const unsigned char	*q = *p + 1;
	long			 u, lo;

	for (; q < end; q++) {
		if (*q == '"') {
			*p = q + 1;
			return 1;
		}
		if (*q < 0x20)
			return 0;
		if (*q != '\\')
			continue;
		if (++q == end)
			return 0;
		if (strchr("\"\\/bfnrt", *q) != NULL && *q != '\0')
			continue;
		if (*q != 'u' || end - q < 5 || (u = pjson_hex4(q + 1)) <= 0)
			return 0;
		q += 4;
		if (u >= 0xdc00 && u <= 0xdfff)
			return 0;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (end - q < 7 || q[1] != '\\' || q[2] != 'u' ||
			    (lo = pjson_hex4(q + 3)) < 0xdc00 || lo > 0xdfff)
				return 0;
			q += 6;
		}
	}
	return 0;
}

/* A JSON number from *p on, moved past it.  Return value: 1, or 0. */
static int
pjson_number(const unsigned char **p, const unsigned char *end)
{
	const unsigned char	*q = *p;

	if (q < end && *q == '-')
		q++;
	if (q == end || *q < '0' || *q > '9')
		return 0;
	if (*q++ != '0')
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	if (q < end && *q == '.') {
		if (++q == end || *q < '0' || *q > '9')
			return 0;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		if (++q < end && (*q == '+' || *q == '-'))
			q++;
		if (q == end || *q < '0' || *q > '9')
			return 0;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	*p = q;
	return 1;
}

/* A JSON literal lit (true, false, null) from *p on, moved past it. */
static int
pjson_literal(const unsigned char **p, const unsigned char *end,
    const char *lit)
{
	size_t	n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/*
 * Whether the n bytes of s are a session's state as a worker may store
 * it: one JSON object (valid UTF-8, nothing after it, no NUL), nested at
 * most PJSON_MAXDEPTH deep, of at most PJSON_MAXSTATE bytes.  The text
 * is checked only, never rewritten, and without building it as a tree
 * (jansson's json_loadb() took 17 000 instructions a state, a save on
 * every close).  Return value: 1 if so, else 0.
 */
int
pjson_state_ok(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s, *end = p + n;
	uint64_t		 objs = 0;	/* bit i: level i+1 is an object */
	int			 depth = 0, key = 0;

	if (n < 2 || n > PJSON_MAXSTATE || !utf8_valid(s, n))
		return 0;
	pjson_ws(&p, end);
	if (p == end || *p != '{')
		return 0;
	/* Bounded: every turn moves p on, or fails. */
	for (;;) {
		/* A value (or, in an object, a key and its colon first). */
		pjson_ws(&p, end);
		if (p == end)
			return 0;
		if (key) {
			if (*p != '"' || !pjson_string(&p, end))
				return 0;
			pjson_ws(&p, end);
			if (p == end || *p++ != ':')
				return 0;
			pjson_ws(&p, end);
			if (p == end)
				return 0;
		}
		if (*p == '{' || *p == '[') {
			if (depth == PJSON_MAXDEPTH)
				return 0;
			objs = objs << 1 | (*p == '{');
			depth++;
			key = *p == '{';
			p++;
			pjson_ws(&p, end);
			if (p == end || *p != (key ? '}' : ']'))
				continue;	/* its first member */
			p++;			/* empty */
			objs >>= 1;
			if (--depth == 0)
				break;
		} else if (!(*p == '"' ? pjson_string(&p, end) :
		    *p == 't' ? pjson_literal(&p, end, "true") :
		    *p == 'f' ? pjson_literal(&p, end, "false") :
		    *p == 'n' ? pjson_literal(&p, end, "null") :
		    pjson_number(&p, end)))
			return 0;
		/* After a value: a comma, or the end of what holds it. */
		for (;;) {
			pjson_ws(&p, end);
			if (p < end && *p == ',') {
				p++;
				key = objs & 1;
				break;
			}
			if (p == end || *p != ((objs & 1) ? '}' : ']'))
				return 0;
			p++;
			objs >>= 1;
			if (--depth == 0)
				break;
		}
		if (depth == 0)
			break;
	}
	pjson_ws(&p, end);
	return p == end;
}
