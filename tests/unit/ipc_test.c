/*
 * ipc_test.c -- lib/ipc.c: every GW_MSG_* built, decoded and read back
 * field by field; truncated, oversized, trailing-byte and bad-header
 * messages refused; decoding fed whole, back to back and one byte at a
 * time.  Then peers over socketpair(2) on a libev loop: order, batching
 * of writes (counted as records on a SOCK_SEQPACKET pair, where each
 * write syscall is one record), EOF, bad input, write errors, the queue
 * limit, big messages through full sockets, and freeing a peer from its
 * own callbacks (run it under ASan: make B=build-san SAN=1 unit).
 *
 * SIGPIPE is left at its default on purpose: the write error test dies
 * if ipc.c writes without MSG_NOSIGNAL.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ipc.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define S(s)		{ 's', 0, s, sizeof(s) - 1 }
#define U(v)		{ 'u', v, NULL, 0 }
#define Q(v)		{ 'q', v, NULL, 0 }

/* One payload field: a u32 ('u'), a u64 ('q') or a string ('s'). */
struct field {
	char		 f_kind;
	uint64_t	 f_v;
	const char	*f_s;
	size_t		 f_n;
};

struct sample {
	uint32_t	 type;
	uint32_t	 id;
	const char	*name;
	struct field	 f[12];
};

/* Representative payloads, laid out as the comments in ipc.h say. */
static const struct sample samples[] = {
	{ GW_MSG_HELLO, 0, "GW_MSG_HELLO",
	    { U(4242), S("gw-listen[0]") } },
	{ GW_MSG_BRIDGE_SUB, 7, "GW_MSG_BRIDGE_SUB",
	    { S("room:1"), S(""), U(0) } },
	{ GW_MSG_BRIDGE_SUB, 8, "GW_MSG_BRIDGE_SUB",
	    { S("user:alice"), S("1700000000000-3"), U(GW_SUB_RESTORE) } },
	{ GW_MSG_BRIDGE_UNSUB, 0, "GW_MSG_BRIDGE_UNSUB",
	    { S("room:1") } },
	{ GW_MSG_BRIDGE_NOEVENTS, 0, "GW_MSG_BRIDGE_NOEVENTS",
	    { S("room:1") } },
	{ GW_MSG_BRIDGE_SUB, 14, "GW_MSG_BRIDGE_SUB",
	    { S("room:2"), S(""), U(GW_SUB_EVENTS | GW_SUB_RESTORE) } },
	{ GW_MSG_BRIDGE_PUBLISH, 9, "GW_MSG_BRIDGE_PUBLISH",
	    { S("room:1"), S("{\"text\":\"hi\\u0000\",\"n\":[1,2]}"),
	    S("alice"), Q(1700000000123ULL) } },
	{ GW_MSG_BRIDGE_PUBLISH, 10, "GW_MSG_BRIDGE_PUBLISH",
	    { S("c"), S("bin\0ary\xff"), S(""), Q(UINT64_MAX) } },
	{ GW_MSG_BRIDGE_HISTORY, 11, "GW_MSG_BRIDGE_HISTORY",
	    { S("room:1"), S("1700000000000-0"), U(1000) } },
	{ GW_MSG_BRIDGE_SUBSCRIBED, 12, "GW_MSG_BRIDGE_SUBSCRIBED",
	    { S("room:1"), S("1700000000001-0"), U(GW_REC_NONE), U(0) } },
	{ GW_MSG_BRIDGE_SUBSCRIBED, 13, "GW_MSG_BRIDGE_SUBSCRIBED",
	    { S("room:1"), S("1700000000002-1"), U(GW_REC_TRUE), U(2),
	    S("1700000000002-0"), S("{\"a\":1}"),
	    S("1700000000002-1"), S("{\"a\":2}") } },
	{ GW_MSG_BRIDGE_PUBLISHED, 14, "GW_MSG_BRIDGE_PUBLISHED",
	    { S("1700000000003-0") } },
	{ GW_MSG_BRIDGE_HISTORY_REPLY, 15, "GW_MSG_BRIDGE_HISTORY_REPLY",
	    { U(1), U(0) } },
	{ GW_MSG_BRIDGE_HISTORY_REPLY, 16, "GW_MSG_BRIDGE_HISTORY_REPLY",
	    { U(0), U(3), S("1-0"), S("{}"), S("2-0"), S(""),
	    S("3-0"), S("[null]") } },
	{ GW_MSG_BRIDGE_FAIL, 17, "GW_MSG_BRIDGE_FAIL",
	    { S("unavailable"), S("redis is down") } },
	{ GW_MSG_BRIDGE_DELIVER, 0, "GW_MSG_BRIDGE_DELIVER",
	    { S("room:1"), S("1700000000004-0"),
	    S("{\"channel\":\"room:1\",\"data\":1}") } },
	{ GW_MSG_BRIDGE_GAP, 0, "GW_MSG_BRIDGE_GAP",
	    { S("room:1"), S("1700000000005-0") } },
	{ GW_MSG_BRIDGE_HEALTH, 0, "GW_MSG_BRIDGE_HEALTH",
	    { U(1) } },
	{ GW_MSG_BRIDGE_HEALTH, 0xffffffffu, "GW_MSG_BRIDGE_HEALTH",
	    { U(0) } },
	{ GW_MSG_BRIDGE_EVENT, 0, "GW_MSG_BRIDGE_EVENT",
	    { S("room:1"), Q(0x1234567890abcdefULL),
	    S("{\"type\":\"presence.join\",\"userId\":\"bob\"}") } },
	{ GW_MSG_PRESENCE_JOIN, 0, "GW_MSG_PRESENCE_JOIN",
	    { S("room:1"), S("bob"), S("{\"name\":\"Bob\"}"),
	    Q(1700000000000ULL), Q(42) } },
	{ GW_MSG_PRESENCE_LEAVE, 0, "GW_MSG_PRESENCE_LEAVE",
	    { S("room:1"), S("bob"), Q(0) } },
	{ GW_MSG_PRESENCE_TYPING, 0, "GW_MSG_PRESENCE_TYPING",
	    { S("room:1"), S("bob"), Q(42), U(1) } },
	{ GW_MSG_PRESENCE_QUERY, 18, "GW_MSG_PRESENCE_QUERY",
	    { S("room:1") } },
	{ GW_MSG_PRESENCE_REPLY, 18, "GW_MSG_PRESENCE_REPLY",
	    { S("{\"count\":0,\"users\":[]}") } },
	{ GW_MSG_PRESENCE_FAIL, 19, "GW_MSG_PRESENCE_FAIL",
	    { S("unavailable"), S("redis is down") } },
	{ GW_MSG_SESSION_SAVE, 0, "GW_MSG_SESSION_SAVE",
	    { S("0123456789abcdef0123456789abcdef"), S("bob"),
	    S("{\"c\":[{\"n\":\"room\",\"p\":true}]}"), U(1) } },
	{ GW_MSG_SESSION_DROP, 0, "GW_MSG_SESSION_DROP",
	    { S("0123456789abcdef0123456789abcdef") } },
	{ GW_MSG_SESSION_LOAD, 20, "GW_MSG_SESSION_LOAD",
	    { S("0123456789abcdef0123456789abcdef"), S("bob") } },
	{ GW_MSG_SESSION_STATE, 20, "GW_MSG_SESSION_STATE",
	    { U(0), S("") } },
	{ GW_MSG_CTL_REQUEST, 21, "GW_MSG_CTL_REQUEST",
	    { S("{\"cmd\":\"stats\"}") } },
	{ GW_MSG_CTL_REPLY, 21, "GW_MSG_CTL_REPLY",
	    { S("{\"ok\":true}") } },
	{ GW_MSG_BRIDGE_GATHER, 22, "GW_MSG_BRIDGE_GATHER",
	    { S("{\"cmd\":\"kick\",\"user\":\"bob\"}") } },
	{ GW_MSG_BRIDGE_GATHERED, 22, "GW_MSG_BRIDGE_GATHERED",
	    { U(2), S("{\"ok\":true,\"closed\":1}"),
	    S("{\"ok\":true,\"closed\":0}") } },
	{ GW_MSG_BRIDGE_GATHERED, 23, "GW_MSG_BRIDGE_GATHERED",
	    { U(0) } },
};

/*
 * The payload layout of each type: 'u' u32, 'q' u64, 's' string, 'n' a
 * u32 count followed by that many (string, string) pairs, 'm' a u32
 * count followed by that many strings.
 */
static const char *
layout(uint32_t type)
{
	switch (type) {
	case GW_MSG_HELLO:			return "us";
	case GW_MSG_BRIDGE_SUB:			return "ssu";
	case GW_MSG_BRIDGE_UNSUB:		return "s";
	case GW_MSG_BRIDGE_NOEVENTS:		return "s";
	case GW_MSG_BRIDGE_PUBLISH:		return "sssq";
	case GW_MSG_BRIDGE_HISTORY:		return "ssu";
	case GW_MSG_BRIDGE_SUBSCRIBED:		return "ssun";
	case GW_MSG_BRIDGE_PUBLISHED:		return "s";
	case GW_MSG_BRIDGE_HISTORY_REPLY:	return "un";
	case GW_MSG_BRIDGE_FAIL:		return "ss";
	case GW_MSG_BRIDGE_DELIVER:		return "sss";
	case GW_MSG_BRIDGE_GAP:			return "ss";
	case GW_MSG_BRIDGE_HEALTH:		return "u";
	case GW_MSG_BRIDGE_EVENT:		return "sqs";
	case GW_MSG_PRESENCE_JOIN:		return "sssqq";
	case GW_MSG_PRESENCE_LEAVE:		return "ssq";
	case GW_MSG_PRESENCE_TYPING:		return "ssqu";
	case GW_MSG_PRESENCE_QUERY:		return "s";
	case GW_MSG_PRESENCE_REPLY:		return "s";
	case GW_MSG_PRESENCE_FAIL:		return "ss";
	case GW_MSG_SESSION_SAVE:		return "sssu";
	case GW_MSG_SESSION_DROP:		return "s";
	case GW_MSG_SESSION_LOAD:		return "ss";
	case GW_MSG_SESSION_STATE:		return "us";
	case GW_MSG_CTL_REQUEST:		return "s";
	case GW_MSG_CTL_REPLY:			return "s";
	case GW_MSG_BRIDGE_GATHER:		return "s";
	case GW_MSG_BRIDGE_GATHERED:		return "m";
	default:				return NULL;
	}
}

/* Read a payload by its type's layout, as a dispatcher would: 0 or -1. */
static int
parse_layout(uint32_t type, struct ipc_rd *rd)
{
	const char	*l, *s;
	size_t		 n;
	uint32_t	 u, cnt, i;
	uint64_t	 q;

	if ((l = layout(type)) == NULL)
		return -1;
	for (; *l != '\0'; l++) {
		switch (*l) {
		case 'u':
			if (ipc_get_u32(rd, &u) == -1)
				return -1;
			break;
		case 'q':
			if (ipc_get_u64(rd, &q) == -1)
				return -1;
			break;
		case 's':
			if (ipc_get_str(rd, &s, &n) == -1)
				return -1;
			break;
		case 'n':
		case 'm':
			if (ipc_get_u32(rd, &cnt) == -1)
				return -1;
			for (i = 0; i < cnt; i++)
				if (ipc_get_str(rd, &s, &n) == -1 ||
				    (*l == 'n' && ipc_get_str(rd, &s, &n) == -1))
					return -1;
			break;
		}
	}
	return ipc_end(rd);
}

static size_t
nfields(const struct sample *sm)
{
	size_t	 i;

	for (i = 0; i < NELEM(sm->f) && sm->f[i].f_kind != 0; i++)
		;
	return i;
}

static struct ipc_msg *
build(const struct sample *sm)
{
	struct ipc_msg	*m;
	size_t		 i;

	m = ipc_create(sm->type, sm->id);
	for (i = 0; i < nfields(sm); i++) {
		switch (sm->f[i].f_kind) {
		case 'u':
			ipc_add_u32(m, (uint32_t)sm->f[i].f_v);
			break;
		case 'q':
			ipc_add_u64(m, sm->f[i].f_v);
			break;
		case 's':
			ipc_add_str(m, sm->f[i].f_s, sm->f[i].f_n);
			break;
		}
	}
	return m;
}

/* The encoded size of a sample, computed independently of ipc.c. */
static size_t
sample_len(const struct sample *sm)
{
	size_t	 i, len = GW_IPC_HDRLEN;

	for (i = 0; i < nfields(sm); i++)
		len += sm->f[i].f_kind == 'u' ? 4 : sm->f[i].f_kind == 'q' ?
		    8 : 4 + sm->f[i].f_n;
	return len;
}

/* Read rd field by field and compare with sm: 1 if all equal. */
static int
check_fields(const struct sample *sm, struct ipc_rd *rd)
{
	const char	*s;
	size_t		 i, n;
	uint32_t	 u;
	uint64_t	 q;

	for (i = 0; i < nfields(sm); i++) {
		switch (sm->f[i].f_kind) {
		case 'u':
			if (ipc_get_u32(rd, &u) == -1 || u != sm->f[i].f_v)
				return 0;
			break;
		case 'q':
			if (ipc_get_u64(rd, &q) == -1 || q != sm->f[i].f_v)
				return 0;
			break;
		case 's':
			if (ipc_get_str(rd, &s, &n) == -1 ||
			    n != sm->f[i].f_n ||
			    memcmp(s, sm->f[i].f_s, n) != 0)
				return 0;
			break;
		}
	}
	return ipc_end(rd) == 0;
}

static void
set_hdr(uint8_t *buf, uint32_t type, uint32_t len, uint32_t id,
    uint32_t version)
{
	struct gw_msg_hdr	 h;

	h.type = type;
	h.len = len;
	h.id = id;
	h.version = version;
	memcpy(buf, &h, sizeof(h));
}

static void
test_roundtrip(void)
{
	const struct sample	*sm;
	struct ipc_msg		*m;
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	uint32_t		 t;
	size_t			 i, k, len;
	ssize_t			 n;
	int			 seen[GW_MSG_MAX] = { 0 }, allseen, prefix_ok;
	uint8_t			*acc;

	for (i = 0; i < NELEM(samples); i++) {
		sm = &samples[i];
		m = build(sm);
		ok(ipc_close(m) == 0, "%s #%zu: close", sm->name, i);
		len = sample_len(sm);
		ok(m->m_len == len, "%s #%zu: %zu bytes, expected %zu",
		    sm->name, i, m->m_len, len);
		n = ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
		ok(n == (ssize_t)len && hdr.len == len &&
		    hdr.type == sm->type && hdr.id == sm->id &&
		    hdr.version == GW_IPC_VERSION,
		    "%s #%zu: decode gives the whole message and its header",
		    sm->name, i);
		ok(rd.r_p == m->m_buf + GW_IPC_HDRLEN &&
		    rd.r_left == len - GW_IPC_HDRLEN,
		    "%s #%zu: reader covers the payload in place", sm->name, i);
		ok(check_fields(sm, &rd), "%s #%zu: fields read back equal",
		    sm->name, i);
		n = ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
		ok(parse_layout(hdr.type, &rd) == 0,
		    "%s #%zu: parses by its layout", sm->name, i);
		ok(strcmp(ipc_type_name(hdr.type), sm->name) == 0,
		    "%s #%zu: type name", sm->name, i);

		/* Every strict prefix: need more, never a parse. */
		prefix_ok = 1;
		for (k = 0; k < len; k++)
			if (ipc_decode(m->m_buf, k, &hdr, &rd) != 0)
				prefix_ok = 0;
		ok(prefix_ok, "%s #%zu: all %zu prefixes need more", sm->name,
		    i, len);

		/* Fed one byte at a time into an accumulator. */
		acc = malloc(len);
		prefix_ok = 1;
		for (k = 1; k <= len; k++) {
			acc[k - 1] = m->m_buf[k - 1];
			n = ipc_decode(acc, k, &hdr, &rd);
			if (n != (k == len ? (ssize_t)len : 0))
				prefix_ok = 0;
		}
		ok(prefix_ok && check_fields(sm, &rd),
		    "%s #%zu: byte by byte, decoded at the last byte", sm->name,
		    i);
		free(acc);
		seen[sm->type] = 1;
		ipc_msg_free(m);
	}
	allseen = 1;
	for (t = GW_MSG_NONE + 1; t < GW_MSG_MAX; t++)
		if (!seen[t]) {
			allseen = 0;
			printf("# no sample of %s\n", ipc_type_name(t));
		}
	ok(allseen, "every GW_MSG_* has a sample");
	ok(strcmp(ipc_type_name(GW_MSG_NONE), "GW_MSG_NONE") == 0,
	    "name of GW_MSG_NONE");
	ok(strcmp(ipc_type_name(GW_MSG_MAX), "GW_MSG_UNKNOWN") == 0 &&
	    strcmp(ipc_type_name(UINT32_MAX), "GW_MSG_UNKNOWN") == 0,
	    "names of unknown types");
}

/* Truncated payloads (with a header that says so) and trailing bytes. */
static void
test_truncated_trailing(void)
{
	const struct sample	*sm;
	struct ipc_msg		*m;
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	size_t			 i, cut;
	uint8_t			*buf;
	int			 all;

	for (i = 0; i < NELEM(samples); i++) {
		sm = &samples[i];
		m = build(sm);
		ipc_close(m);
		buf = malloc(m->m_len + 1);
		memcpy(buf, m->m_buf, m->m_len);
		all = 1;
		for (cut = GW_IPC_HDRLEN; cut < m->m_len; cut++) {
			set_hdr(buf, sm->type, (uint32_t)cut, sm->id,
			    GW_IPC_VERSION);
			if (ipc_decode(buf, cut, &hdr, &rd) != (ssize_t)cut ||
			    parse_layout(sm->type, &rd) != -1)
				all = 0;
		}
		ok(all, "%s #%zu: every cut payload fails to parse", sm->name,
		    i);

		buf[m->m_len] = 'x';
		set_hdr(buf, sm->type, (uint32_t)m->m_len + 1, sm->id,
		    GW_IPC_VERSION);
		ok(ipc_decode(buf, m->m_len + 1, &hdr, &rd) ==
		    (ssize_t)m->m_len + 1 &&
		    parse_layout(sm->type, &rd) == -1 && errno == EBADMSG,
		    "%s #%zu: a trailing byte fails ipc_end",
		    sm->name, i);
		free(buf);
		ipc_msg_free(m);
	}
}

static void
test_headers(void)
{
	uint8_t			 buf[GW_IPC_HDRLEN + 8];
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	static const struct {
		uint32_t	 type, len, version;
		const char	*what;
	} bad[] = {
		{ GW_MSG_HELLO, 0, GW_IPC_VERSION, "len 0" },
		{ GW_MSG_HELLO, GW_IPC_HDRLEN - 1, GW_IPC_VERSION, "len 15" },
		{ GW_MSG_HELLO, GW_IPC_MAXMSG + 1, GW_IPC_VERSION,
		    "len GW_IPC_MAXMSG + 1" },
		{ GW_MSG_HELLO, UINT32_MAX, GW_IPC_VERSION, "len 2^32-1" },
		{ GW_MSG_HELLO, GW_IPC_HDRLEN, 0, "version 0" },
		{ GW_MSG_HELLO, GW_IPC_HDRLEN, GW_IPC_VERSION + 1,
		    "next version" },
		{ GW_MSG_NONE, GW_IPC_HDRLEN, GW_IPC_VERSION, "type 0" },
		{ GW_MSG_MAX, GW_IPC_HDRLEN, GW_IPC_VERSION, "GW_MSG_MAX" },
		{ UINT32_MAX, GW_IPC_HDRLEN, GW_IPC_VERSION, "type 2^32-1" },
	};
	size_t		 i;
	ssize_t		 n;

	for (i = 0; i < NELEM(bad); i++) {
		set_hdr(buf, bad[i].type, bad[i].len, 1, bad[i].version);
		errno = 0;
		n = ipc_decode(buf, GW_IPC_HDRLEN, &hdr, &rd);
		ok(n == -1 && errno == EBADMSG,
		    "bad header (%s) refused with the 16 bytes alone",
		    bad[i].what);
		ok(ipc_decode(buf, GW_IPC_HDRLEN - 1, &hdr, &rd) == 0,
		    "bad header (%s), 15 bytes: need more", bad[i].what);
	}

	set_hdr(buf, GW_MSG_HELLO, GW_IPC_MAXMSG, 1, GW_IPC_VERSION);
	ok(ipc_decode(buf, sizeof(buf), &hdr, &rd) == 0,
	    "len GW_IPC_MAXMSG: waits for the rest");
	set_hdr(buf, GW_MSG_MAX - 1, GW_IPC_HDRLEN, 3, GW_IPC_VERSION);
	n = ipc_decode(buf, sizeof(buf), &hdr, &rd);
	ok(n == GW_IPC_HDRLEN && hdr.id == 3 && rd.r_left == 0 &&
	    ipc_end(&rd) == 0, "last type, empty payload, extra bytes after "
	    "it are the next message's");
}

static void
test_reader(void)
{
	struct ipc_msg		*m;
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	const char		*s;
	size_t			 n;
	uint32_t		 u;
	uint64_t		 q;

	/* A string length past the payload. */
	m = ipc_create(GW_MSG_BRIDGE_UNSUB, 0);
	ipc_add_u32(m, 4);
	ipc_add_u32(m, 0x61616161);	/* "aaaa": exactly the rest */
	ipc_close(m);
	ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
	ok(ipc_get_str(&rd, &s, &n) == 0 && n == 4 &&
	    memcmp(s, "aaaa", 4) == 0 && ipc_end(&rd) == 0,
	    "a string to the last byte");
	ipc_msg_free(m);

	m = ipc_create(GW_MSG_BRIDGE_UNSUB, 0);
	ipc_add_u32(m, 5);
	ipc_add_u32(m, 0x61616161);
	ipc_close(m);
	ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
	ok(ipc_get_str(&rd, &s, &n) == -1 && s == NULL && n == 0,
	    "a string one byte longer than the payload fails");
	ok(ipc_get_u32(&rd, &u) == -1 && u == 0,
	    "after a failure, a get that would fit fails too");
	ok(ipc_end(&rd) == -1 && errno == EBADMSG, "and ipc_end fails");
	ipc_msg_free(m);

	m = ipc_create(GW_MSG_BRIDGE_UNSUB, 0);
	ipc_add_u32(m, UINT32_MAX);
	ipc_close(m);
	ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
	ok(ipc_get_str(&rd, &s, &n) == -1, "a string of length 2^32-1 fails");
	ipc_msg_free(m);

	/* Short integers. */
	m = ipc_create(GW_MSG_BRIDGE_HEALTH, 0);
	ipc_add_u32(m, 1);
	ipc_close(m);
	ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
	ok(ipc_get_u64(&rd, &q) == -1 && q == 0 && ipc_end(&rd) == -1,
	    "a u64 from 4 bytes fails");
	ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
	ok(ipc_get_u32(&rd, &u) == 0 && u == 1 && ipc_get_u32(&rd, &u) == -1,
	    "a u32 past the end fails");
	ipc_msg_free(m);

	/* NULL and empty strings. */
	m = ipc_create(GW_MSG_BRIDGE_GAP, 0);
	ipc_add_cstr(m, NULL);
	ipc_add_cstr(m, "room");
	ipc_add_str(m, NULL, 0);
	ipc_close(m);
	ipc_decode(m->m_buf, m->m_len, &hdr, &rd);
	ok(ipc_get_str(&rd, &s, &n) == 0 && n == 0 && s != NULL,
	    "cstr NULL is an empty string");
	ok(ipc_get_str(&rd, &s, &n) == 0 && n == 4 &&
	    memcmp(s, "room", 4) == 0, "cstr \"room\"");
	ok(ipc_get_str(&rd, &s, &n) == 0 && n == 0 && ipc_end(&rd) == 0,
	    "str (NULL, 0)");
	ipc_msg_free(m);
}

static void
test_sizes(void)
{
	struct ipc_msg		*m;
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	const char		*s;
	char			*big;
	size_t			 n, fill;
	int			 i;

	fill = GW_IPC_MAXMSG - GW_IPC_HDRLEN - 4;
	big = malloc(fill + 1);
	memset(big, 'b', fill + 1);

	m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, 1);
	ipc_add_str(m, big, fill);
	ok(ipc_close(m) == 0 && m->m_len == GW_IPC_MAXMSG,
	    "a message of exactly GW_IPC_MAXMSG closes");
	ok(ipc_decode(m->m_buf, m->m_len, &hdr, &rd) == GW_IPC_MAXMSG &&
	    ipc_get_str(&rd, &s, &n) == 0 && n == fill && ipc_end(&rd) == 0,
	    "and decodes");
	ipc_add_u32(m, 0);
	errno = 0;
	ok(ipc_close(m) == -1 && errno == EMSGSIZE,
	    "one more u32: close fails with EMSGSIZE");
	ipc_msg_free(m);

	m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, 1);
	ipc_add_str(m, big, fill + 1);
	errno = 0;
	ok(ipc_close(m) == -1 && errno == EMSGSIZE,
	    "a string one byte too long: close fails");
	ipc_add_u32(m, 1);
	ok(ipc_close(m) == -1, "and stays failed after more adds");
	ipc_msg_free(m);

	m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, 1);
	for (i = 0; i < 9; i++)
		ipc_add_str(m, big, 1024 * 1024);
	ok(ipc_close(m) == -1 && errno == EMSGSIZE && m->m_cap <= GW_IPC_MAXMSG,
	    "nine 1 MiB strings: close fails, buffer never passed the limit");
	ipc_msg_free(m);

	/* The length is checked before the bytes are read: big is short. */
	m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, 1);
	ipc_add_str(m, big, SIZE_MAX);
	ok(ipc_close(m) == -1 && errno == EMSGSIZE,
	    "a string of SIZE_MAX bytes fails without being read");
	ipc_msg_free(m);
	free(big);

	/* Re-closing after more adds updates the length. */
	m = ipc_create(GW_MSG_BRIDGE_HEALTH, 1);
	ipc_close(m);
	ipc_add_u32(m, 1);
	ok(ipc_close(m) == 0 && ipc_decode(m->m_buf, m->m_len, &hdr, &rd) ==
	    20 && hdr.len == 20, "a second close after an add");
	ipc_msg_free(m);
	ipc_msg_free(NULL);
}

/* A peer's name as it is logged: printable ASCII only, cut to fit. */
static void
test_printable(void)
{
	char	 buf[16], one[1];

	ipc_printable(buf, sizeof(buf), "gw-listen[42]", 13);
	ok(strcmp(buf, "gw-listen[42]") == 0, "a plain name is kept: %s", buf);
	ipc_printable(buf, sizeof(buf), "a\nB: x\0y\x1b\xff~", 11);
	ok(strcmp(buf, "a?B: x?y??~") == 0,
	    "newline, NUL, escape and high bytes become '?': %s", buf);
	ipc_printable(buf, sizeof(buf), "0123456789abcdefghij", 20);
	ok(strcmp(buf, "0123456789abcde") == 0, "cut to the buffer: %s", buf);
	ipc_printable(one, sizeof(one), "x", 1);
	ok(one[0] == '\0', "a buffer of one byte gets an empty string");
	ipc_printable(buf, sizeof(buf), NULL, 0);
	ok(buf[0] == '\0', "nothing gives an empty string");
}

static void
test_back_to_back(void)
{
	struct ipc_msg		*a, *b;
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	uint8_t			*buf;
	size_t			 len, off, k, got;
	ssize_t			 n;
	int			 good;

	a = build(&samples[4]);
	b = build(&samples[8]);
	ipc_close(a);
	ipc_close(b);
	len = a->m_len + b->m_len;
	buf = malloc(len);
	memcpy(buf, a->m_buf, a->m_len);
	memcpy(buf + a->m_len, b->m_buf, b->m_len);

	n = ipc_decode(buf, len, &hdr, &rd);
	ok(n == (ssize_t)a->m_len && check_fields(&samples[4], &rd),
	    "first of two back to back");
	n = ipc_decode(buf + a->m_len, len - a->m_len, &hdr, &rd);
	ok(n == (ssize_t)b->m_len && check_fields(&samples[8], &rd),
	    "second of two back to back");
	ok(ipc_decode(buf + len, 0, &hdr, &rd) == 0, "nothing after them");

	/* The same stream through a buffer that grows one byte at a time. */
	off = 0;
	got = 0;
	good = 1;
	for (k = 1; k <= len; k++) {
		n = ipc_decode(buf + off, k - off, &hdr, &rd);
		if (n == -1)
			good = 0;
		if (n > 0) {
			if (!check_fields(&samples[got == 0 ? 4 : 8], &rd))
				good = 0;
			if (k != (got == 0 ? a->m_len : len))
				good = 0;
			off += n;
			got++;
		}
	}
	ok(good && got == 2 && off == len,
	    "two messages fed one byte at a time decode at their last byte");
	free(buf);
	ipc_msg_free(a);
	ipc_msg_free(b);
}

/* --- Peers. --- */

struct side {
	struct ipc_peer	*peer;
	int		 nmsg;		/* messages received */
	int		 inorder;	/* ids came 0, 1, 2, ... */
	int		 nclose;
	char		 reason[128];
	int		 free_at;	/* free the peer at this message */
	int		 free_on_close;
	size_t		 bytes;		/* payload bytes received */
	int		 bad;		/* a payload did not check */
};

static void
side_msg(struct ipc_peer *p, const struct gw_msg_hdr *hdr,
    struct ipc_rd *rd)
{
	struct side	*sd = ipc_peer_arg(p);
	const char	*s;
	size_t		 n, i;

	if (hdr->id != (uint32_t)sd->nmsg)
		sd->inorder = 0;
	sd->nmsg++;
	sd->bytes += hdr->len - GW_IPC_HDRLEN;
	if (hdr->type == GW_MSG_BRIDGE_PUBLISHED) {
		/* Payload: a string of bytes (id + i) & 0xff. */
		if (ipc_get_str(rd, &s, &n) == -1 || ipc_end(rd) == -1)
			sd->bad++;
		else
			for (i = 0; i < n; i++)
				if ((uint8_t)s[i] != (uint8_t)(hdr->id + i)) {
					sd->bad++;
					break;
				}
	} else if (parse_layout(hdr->type, rd) == -1)
		sd->bad++;
	if (sd->free_at != 0 && sd->nmsg == sd->free_at) {
		ipc_peer_free(p);
		sd->peer = NULL;
	}
}

static void
side_close(struct ipc_peer *p, const char *reason)
{
	struct side	*sd = ipc_peer_arg(p);

	sd->nclose++;
	snprintf(sd->reason, sizeof(sd->reason), "%s", reason);
	if (sd->free_on_close) {
		ipc_peer_free(p);
		sd->peer = NULL;
	}
}

static void
side_init(struct side *sd)
{
	memset(sd, 0, sizeof(*sd));
	sd->inorder = 1;
}

static struct ipc_msg *
msg_deliver(uint32_t id)
{
	struct ipc_msg	*m;
	char		 off[32];

	snprintf(off, sizeof(off), "1700000000000-%u", id);
	m = ipc_create(GW_MSG_BRIDGE_DELIVER, id);
	ipc_add_cstr(m, "room:1");
	ipc_add_cstr(m, off);
	ipc_add_cstr(m, "{\"data\":\"hello\"}");
	return m;
}

static struct ipc_msg *
msg_pattern(uint32_t id, size_t n)
{
	struct ipc_msg	*m;
	uint8_t		*b;
	size_t		 i;

	b = malloc(n);
	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(id + i);
	m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, id);
	ipc_add_str(m, b, n);
	free(b);
	return m;
}

/* Run the loop without blocking until done() or max iterations. */
static int
spin(struct ev_loop *loop, int max, int (*done)(void *), void *arg)
{
	int	 i;

	for (i = 0; i < max && !done(arg); i++)
		ev_run(loop, EVRUN_NOWAIT);
	return done(arg);
}

struct want {
	struct side	*sd;
	int		 nmsg;
};

static int
got_msgs(void *arg)
{
	struct want	*w = arg;

	return w->sd->nmsg >= w->nmsg;
}

static int
got_close(void *arg)
{
	return ((struct side *)arg)->nclose > 0;
}

static void
pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("socketpair");
		exit(1);
	}
}

static void
test_peer_order(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	struct ipc_peer	*ap;
	int		 sv[2], i, sent = 0;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	ok(a.peer != NULL && b.peer != NULL && ipc_peer_arg(a.peer) == &a,
	    "two peers over a socketpair");
	ok(fcntl(sv[1], F_GETFL) & O_NONBLOCK, "the peer made its fd "
	    "non-blocking");
	for (i = 0; i < 1000; i++)
		if (ipc_send(a.peer, msg_deliver(i)) == 0)
			sent++;
	ok(sent == 1000, "1000 messages queued");
	w.sd = &b;
	w.nmsg = 1000;
	ok(spin(loop, 1000, got_msgs, &w) && b.nmsg == 1000 && b.inorder &&
	    b.bad == 0, "1000 messages arrive in order and parse (%d)",
	    b.nmsg);
	ok(ipc_peer_queued(a.peer) == 0 && a.nclose == 0 && b.nclose == 0,
	    "queue empty, nobody closed");

	/* And back the other way, interleaved with more from a. */
	ap = a.peer;
	side_init(&a);
	a.peer = ap;
	for (i = 0; i < 10; i++)
		ipc_send(b.peer, msg_deliver(i));
	w.sd = &a;
	w.nmsg = 10;
	ok(spin(loop, 100, got_msgs, &w) && a.nmsg == 10 && a.inorder,
	    "replies come back the other way");
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

/*
 * A backlog: while the socket is full, small messages are packed into
 * mapped blocks (not one heap allocation each), and still arrive whole
 * and in order once the reader reads.
 */
static void
test_peer_packed(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	size_t		 heap0, heap1;
	int		 sv[2], i, sent = 0;
	const int	 NBIG = 8, NSMALL = 20000;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	/* Nobody reads sv[1] yet: 8 x 100 KB fill the socket. */
	for (i = 0; i < NBIG; i++)
		ipc_send(a.peer, msg_pattern(i, 100 * 1024));
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(ipc_peer_queued(a.peer) > 0, "the socket is full, %zu bytes "
	    "wait", ipc_peer_queued(a.peer));
	heap0 = mallinfo2().uordblks;
	for (i = NBIG; i < NBIG + NSMALL; i++)
		if (ipc_send(a.peer, msg_deliver(i)) == 0)
			sent++;
	heap1 = mallinfo2().uordblks;
	ok(sent == NSMALL && heap1 < heap0 + 64 * 1024, "%d small messages "
	    "queued behind them take %zu bytes of the heap (packed in "
	    "blocks)", sent, heap1 - heap0);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	w.sd = &b;
	w.nmsg = NBIG + NSMALL;
	ok(spin(loop, 100000, got_msgs, &w) && b.nmsg == NBIG + NSMALL &&
	    b.inorder && b.bad == 0, "all %d arrive in order and parse",
	    w.nmsg);
	ok(ipc_peer_queued(a.peer) == 0 && a.nclose == 0 && b.nclose == 0,
	    "queue empty, nobody closed");
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

static void
test_peer_batching(struct ev_loop *loop)
{
	struct side		 a;
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	struct ipc_msg		*m;
	static uint8_t		 rec[256 * 1024];
	size_t			 queued = 0, off;
	ssize_t			 r, n;
	uint32_t		 up;
	int			 sv[2], i, nrec = 0, nmsg = 0, good = 1;
	const int		 N = 3000;

	/* One record per write syscall: the receiver counts syscalls. */
	pair(SOCK_SEQPACKET, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	for (i = 0; i < N; i++) {
		m = ipc_create(GW_MSG_BRIDGE_HEALTH, i);
		ipc_add_u32(m, i & 1);
		ipc_close(m);
		queued += m->m_len;
		ipc_send(a.peer, m);
	}
	ok(ipc_peer_queued(a.peer) == queued && queued == (size_t)N * 20,
	    "%d sends queue %zu bytes", N, queued);
	r = recv(sv[1], rec, sizeof(rec), MSG_DONTWAIT);
	ok(r == -1 && errno == EAGAIN, "ipc_send itself writes nothing");
	ev_run(loop, EVRUN_NOWAIT);
	ok(ipc_peer_queued(a.peer) == 0, "one loop iteration writes it all");
	while ((r = recv(sv[1], rec, sizeof(rec), MSG_DONTWAIT)) > 0) {
		nrec++;
		for (off = 0; off < (size_t)r; off += n) {
			n = ipc_decode(rec + off, r - off, &hdr, &rd);
			if (n <= 0 || hdr.id != (uint32_t)nmsg ||
			    ipc_get_u32(&rd, &up) == -1 ||
			    up != (uint32_t)(nmsg & 1) || ipc_end(&rd) == -1) {
				good = 0;
				break;
			}
			nmsg++;
		}
	}
	ok(good && nmsg == N, "the %d messages arrive whole and in order",
	    nmsg);
	ok(nrec >= 1 && nrec <= (N + IOV_MAX - 1) / IOV_MAX,
	    "in %d write syscalls (at most one per IOV_MAX messages)", nrec);
	ipc_peer_free(a.peer);
	close(sv[1]);
}

static void
test_peer_eof(struct ev_loop *loop)
{
	struct side	 a;
	int		 sv[2], i;
	char		 part[10] = { 1 };

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	close(sv[1]);
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, "peer closed") == 0, "EOF: closecb \"%s\"",
	    a.reason);
	for (i = 0; i < 10; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(a.nclose == 1, "closecb called once (%d)", a.nclose);
	errno = 0;
	ok(ipc_send(a.peer, msg_deliver(0)) == -1 && errno == EPIPE,
	    "ipc_send to a dead peer fails with EPIPE");
	ipc_peer_free(a.peer);

	/* EOF in the middle of a message. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	ok(write(sv[1], part, sizeof(part)) == sizeof(part), "wrote a part");
	close(sv[1]);
	ok(spin(loop, 10, got_close, &a) && a.nmsg == 0 &&
	    strcmp(a.reason, "peer closed in the middle of a message") == 0,
	    "EOF mid-message: closecb \"%s\"", a.reason);
	ipc_peer_free(a.peer);
}

static void
test_peer_bad(struct ev_loop *loop)
{
	struct side	 a;
	struct ipc_msg	*m;
	uint8_t		 buf[GW_IPC_HDRLEN];
	int		 sv[2], i;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	ok(write(sv[1], "0123456789abcdef", 16) == 16, "wrote garbage");
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, "bad message") == 0 && a.nmsg == 0,
	    "garbage header: closecb \"%s\"", a.reason);
	ipc_peer_free(a.peer);
	close(sv[1]);

	/* An oversized length is refused without waiting for its bytes. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	set_hdr(buf, GW_MSG_HELLO, GW_IPC_MAXMSG + 1, 0, GW_IPC_VERSION);
	ok(write(sv[1], buf, sizeof(buf)) == sizeof(buf), "wrote a header");
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, "bad message") == 0,
	    "len > GW_IPC_MAXMSG: closecb \"%s\" from the header alone",
	    a.reason);
	ipc_peer_free(a.peer);
	close(sv[1]);

	/* Good messages, then a bad version: the good ones are delivered. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	for (i = 0; i < 3; i++) {
		m = msg_deliver(i);
		ipc_close(m);
		if (write(sv[1], m->m_buf, m->m_len) != (ssize_t)m->m_len)
			break;
		ipc_msg_free(m);
	}
	set_hdr(buf, GW_MSG_HELLO, GW_IPC_HDRLEN, 3, GW_IPC_VERSION + 1);
	ok(i == 3 && write(sv[1], buf, sizeof(buf)) == sizeof(buf),
	    "wrote 3 messages and a bad version");
	ok(spin(loop, 10, got_close, &a) && a.nmsg == 3 && a.inorder &&
	    a.nclose == 1 && strcmp(a.reason, "bad message") == 0,
	    "3 delivered, then closecb \"%s\"", a.reason);
	ipc_peer_free(a.peer);
	close(sv[1]);
}

static void
test_peer_write_error(struct ev_loop *loop)
{
	struct side	 a;
	int		 sv[2], i;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	close(sv[1]);
	ok(ipc_send(a.peer, msg_deliver(0)) == 0, "queued to a closed socket");
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, strerror(EPIPE)) == 0,
	    "write error: closecb \"%s\", no SIGPIPE", a.reason);
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(a.nclose == 1 && ipc_peer_queued(a.peer) == 0,
	    "once, and the queue is dropped");
	ipc_peer_free(a.peer);
}

static void
test_peer_queue_limit(struct ev_loop *loop)
{
	struct side	 a;
	struct ipc_msg	*m;
	size_t		 msglen, before;
	int		 sv[2], nok = 0, r;
	static char	 mib[1024 * 1024];

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	msglen = GW_IPC_HDRLEN + 4 + sizeof(mib);
	for (;;) {
		m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, nok);
		ipc_add_str(m, mib, sizeof(mib));
		before = ipc_peer_queued(a.peer);
		errno = 0;
		if ((r = ipc_send(a.peer, m)) == -1)
			break;
		nok++;
	}
	ok(r == -1 && errno == ENOBUFS, "over GW_IPC_MAXQUEUE: ENOBUFS");
	ok((size_t)nok == GW_IPC_MAXQUEUE / msglen &&
	    ipc_peer_queued(a.peer) == before && before == nok * msglen,
	    "after %d messages (%zu bytes), the refused one is not queued",
	    nok, before);
	ok(ipc_send(a.peer, msg_deliver(0)) == 0,
	    "a small message still fits");
	ok(a.nclose == 0, "the peer is not closed by the library");
	ipc_peer_free(a.peer);
	close(sv[1]);
}

static void
test_peer_big(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	size_t		 want = 0, n;
	int		 sv[2], i, sent = 0;

	/* More than the socket buffers hold: EV_WRITE and partial writes. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	for (i = 0; i < 40; i++) {
		n = 1000 + (size_t)i * 7919;
		sent += ipc_send(a.peer, msg_pattern(i, n)) == 0;
		want += n;
	}
	n = GW_IPC_MAXMSG - GW_IPC_HDRLEN - 4;
	sent += ipc_send(a.peer, msg_pattern(40, n)) == 0;
	want += n;
	for (i = 41; i < 50; i++) {
		sent += ipc_send(a.peer, msg_pattern(i, 3)) == 0;
		want += 3;
	}
	ok(sent == 50, "50 messages queued, one of GW_IPC_MAXMSG");
	w.sd = &b;
	w.nmsg = 50;
	ok(spin(loop, 10000, got_msgs, &w) && b.nmsg == 50 && b.inorder &&
	    b.bad == 0 && b.bytes == want + 50 * 4,
	    "all arrive intact and in order (%d, %zu bytes)", b.nmsg, b.bytes);
	ok(ipc_peer_queued(a.peer) == 0 && a.nclose == 0 && b.nclose == 0,
	    "queue empty, nobody closed");
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

static void
test_peer_free_in_cb(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	int		 sv[2], i;

	/* Free from msgcb at the 3rd of 10 messages that came in one read. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	b.free_at = 3;
	for (i = 0; i < 10; i++)
		ipc_send(a.peer, msg_deliver(i));
	w.sd = &b;
	w.nmsg = 10;
	spin(loop, 20, got_msgs, &w);
	ok(b.nmsg == 3 && b.peer == NULL && b.nclose == 0,
	    "freed in msgcb: no message after it, no closecb (%d)", b.nmsg);
	ok(spin(loop, 20, got_close, &a) &&
	    strcmp(a.reason, "peer closed") == 0,
	    "and the other side sees EOF");
	ipc_peer_free(a.peer);

	/* Free from closecb. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	a.free_on_close = 1;
	ok(write(sv[1], "garbage-garbage!", 16) == 16, "wrote garbage");
	ok(spin(loop, 10, got_close, &a) && a.peer == NULL,
	    "freed in closecb after a bad message");
	close(sv[1]);

	/* Free from closecb after a write error. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	a.free_on_close = 1;
	close(sv[1]);
	ipc_send(a.peer, msg_deliver(0));
	ok(spin(loop, 10, got_close, &a) && a.peer == NULL && a.nclose == 1,
	    "freed in closecb after a write error");
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);

	/* A peer with queued output, freed before the loop ran. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	ipc_send(a.peer, msg_deliver(0));
	ipc_peer_free(a.peer);
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(recv(sv[1], &i, sizeof(i), MSG_DONTWAIT) == 0,
	    "freed with output queued: dropped, fd closed");
	close(sv[1]);
	ipc_peer_free(NULL);
}

/* A prepare watcher of the caller that sends once. */
static struct ipc_peer	*prep_peer;

static void
user_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	ipc_send(prep_peer, msg_deliver(0));
	ev_prepare_stop(loop, w);
}

static void
user_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ONE);
}

static void
test_peer_send_from_prepare(struct ev_loop *loop)
{
	struct side	 a, b;
	ev_prepare	 prep;
	ev_timer	 tm;
	int		 sv[2], i, fired = 0;

	/*
	 * A send from another prepare callback must not sit in the queue
	 * while the loop sleeps: the timer only fires if it does.
	 */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	prep_peer = a.peer;
	ev_prepare_init(&prep, user_prepare);
	ev_prepare_start(loop, &prep);
	ev_timer_init(&tm, user_timeout, 2.0, 0.);
	tm.data = &fired;
	ev_timer_start(loop, &tm);
	for (i = 0; i < 5 && b.nmsg == 0 && !fired; i++)
		ev_run(loop, EVRUN_ONCE);
	ok(b.nmsg == 1 && !fired,
	    "a send from a prepare callback goes out without waiting");
	ev_timer_stop(loop, &tm);
	ev_prepare_stop(loop, &prep);
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

static void
test_peer_misc(struct ev_loop *loop)
{
	char	 path[200];

	errno = 0;
	ok(ipc_peer_new(loop, -1, side_msg, side_close, NULL) == NULL &&
	    errno == EBADF, "ipc_peer_new on a bad fd fails with EBADF");
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	errno = 0;
	ok(ipc_listen(path) == -1 && errno == ENAMETOOLONG,
	    "ipc_listen: a path longer than sun_path");
	errno = 0;
	ok(ipc_connect(path) == -1 && errno == ENAMETOOLONG,
	    "ipc_connect: a path longer than sun_path");
}

int
main(void)
{
	struct ev_loop	*loop;

	test_roundtrip();
	test_truncated_trailing();
	test_headers();
	test_reader();
	test_sizes();
	test_back_to_back();
	test_printable();

	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "ev_loop_new failed\n");
		return 1;
	}
	test_peer_order(loop);
	test_peer_batching(loop);
	test_peer_packed(loop);
	test_peer_eof(loop);
	test_peer_bad(loop);
	test_peer_write_error(loop);
	test_peer_queue_limit(loop);
	test_peer_big(loop);
	test_peer_free_in_cb(loop);
	test_peer_send_from_prepare(loop);
	test_peer_misc(loop);
	ev_loop_destroy(loop);
	return tap_done();
}
