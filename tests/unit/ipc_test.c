/*
 * ipc_test.c -- lib/ipc.c: every GW_MSG_* built, decoded and read back
 * field by field; truncated, oversized, trailing-byte and bad-header
 * messages refused; decoding fed whole, back to back and one byte at a
 * time.  The peers that carry them: ipc_peer_test.c.
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
#include "ipc_layout.h"
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
	    { S("room:1"), S("0123456789abcdef:42") } },
	{ GW_MSG_PRESENCE_REPLY, 18, "GW_MSG_PRESENCE_REPLY",
	    { S("{\"count\":0,\"users\":[]}") } },
	{ GW_MSG_PRESENCE_FAIL, 19, "GW_MSG_PRESENCE_FAIL",
	    { S("unavailable"), S("redis is down") } },
	{ GW_MSG_SESSION_SAVE, 0, "GW_MSG_SESSION_SAVE",
	    { S("0123456789abcdef0123456789abcdef"), S("bob"),
	    S("{\"c\":[{\"n\":\"room\",\"p\":true}]}"), U(1),
	    Q(0x0123456789abcdefULL) } },
	{ GW_MSG_SESSION_DROP, 0, "GW_MSG_SESSION_DROP",
	    { S("0123456789abcdef0123456789abcdef") } },
	{ GW_MSG_SESSION_LOAD, 20, "GW_MSG_SESSION_LOAD",
	    { S("0123456789abcdef0123456789abcdef"), S("bob"), Q(7) } },
	{ GW_MSG_SESSION_STATE, 20, "GW_MSG_SESSION_STATE",
	    { U(0), S("") } },
	{ GW_MSG_CTL_REQUEST, 21, "GW_MSG_CTL_REQUEST",
	    { S("{\"cmd\":\"stats\"}") } },
	{ GW_MSG_CTL_REPLY, 21, "GW_MSG_CTL_REPLY",
	    { S("{\"ok\":true}") } },
	{ GW_MSG_BRIDGE_GATHER, 22, "GW_MSG_BRIDGE_GATHER",
	    { S("{\"cmd\":\"kick\",\"user\":\"bob\"}"),
	    U(GW_GATHER_CLUSTER) } },
	{ GW_MSG_BRIDGE_GATHERED, 22, "GW_MSG_BRIDGE_GATHERED",
	    { U(2), S("{\"ok\":true,\"closed\":1}"),
	    S("{\"ok\":true,\"closed\":0}"), U(2), U(1) } },
	{ GW_MSG_BRIDGE_GATHERED, 23, "GW_MSG_BRIDGE_GATHERED",
	    { U(0), U(1), U(GW_GATHER_UNASKED) } },
};

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

int
main(void)
{
	test_roundtrip();
	test_truncated_trailing();
	test_headers();
	test_reader();
	test_sizes();
	test_back_to_back();
	test_printable();
	return tap_done();
}
