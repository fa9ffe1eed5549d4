/*
 * ipc_fuzz.c -- libFuzzer target for lib/ipc.c.  The input is a byte
 * stream as a peer would send it.  Messages are decoded one after the
 * other until ipc_decode() wants more or refuses a header; each verdict
 * is compared with a decoder written here from gw-ipc(7), every strict
 * prefix of a decoded message must ask for more, and each payload is
 * read by its type's layout as a dispatcher would.  What parsed totally
 * is built again with ipc_add_*() and must give the same bytes.  Every
 * invariant that fails calls abort().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

/* A payload being read, and the same fields being written again. */
struct ctx {
	struct ipc_rd	*rd;
	const uint8_t	*pay;		/* the payload in the input */
	size_t		 plen;
	struct ipc_msg	*m;		/* the copy */
};

/* The header rules of gw-ipc(7), without ipc.c: 0, -1 or a length. */
static ssize_t
ref_decode(const uint8_t *p, size_t len)
{
	uint32_t	 type, mlen, version;

	if (len < 16)
		return 0;
	memcpy(&type, p, 4);
	memcpy(&mlen, p + 4, 4);
	memcpy(&version, p + 12, 4);
	if (mlen < 16 || mlen > GW_IPC_MAXMSG || version != GW_IPC_VERSION)
		return -1;
	if (type == 0 || type >= GW_MSG_MAX)
		return -1;
	return len < mlen ? 0 : (ssize_t)mlen;
}

/* Does p[0..n) lie inside buf[0..len)? */
static int
inside(const uint8_t *buf, size_t len, const void *p, size_t n)
{
	const uint8_t	*q = p;
	size_t		 off;

	if (q == NULL || q < buf || q > buf + len)
		return 0;
	off = q - buf;
	return n <= len - off;
}

static int
get_u32(struct ctx *c, uint32_t *v)
{
	size_t	 left = c->rd->r_left;

	if (ipc_get_u32(c->rd, v) == -1) {
		CHECK(*v == 0 && c->rd->r_err);
		return -1;
	}
	CHECK(left >= 4 && c->rd->r_left == left - 4);
	ipc_add_u32(c->m, *v);
	return 0;
}

static int
get_u64(struct ctx *c, uint64_t *v)
{
	size_t	 left = c->rd->r_left;

	if (ipc_get_u64(c->rd, v) == -1) {
		CHECK(*v == 0 && c->rd->r_err);
		return -1;
	}
	CHECK(left >= 8 && c->rd->r_left == left - 8);
	ipc_add_u64(c->m, *v);
	return 0;
}

static int
get_str(struct ctx *c, const char **p, size_t *n)
{
	const uint8_t	*at = c->rd->r_p;
	size_t		 left = c->rd->r_left;
	uint32_t	 n32;

	if (ipc_get_str(c->rd, p, n) == -1) {
		CHECK(*p == NULL && *n == 0 && c->rd->r_err);
		/* Only a short length or a long string may fail. */
		if (left >= 4) {
			memcpy(&n32, at, 4);
			CHECK(n32 > left - 4);
		}
		return -1;
	}
	CHECK(left >= 4 && (const uint8_t *)*p == at + 4);
	CHECK(*n <= left - 4 && c->rd->r_left == left - 4 - *n);
	CHECK(inside(c->pay, c->plen, *p, *n));
	CHECK(c->rd->r_p == at + 4 + *n);
	ipc_add_str(c->m, *p, *n);
	return 0;
}

/* n (offset, message) pairs; n comes from the input. */
static int
get_pairs(struct ctx *c, uint32_t n)
{
	const char	*off, *msg;
	size_t		 offlen, msglen;
	uint32_t	 i;

	/* Bounded: each pair takes at least 8 bytes or fails. */
	for (i = 0; i < n; i++)
		if (get_str(c, &off, &offlen) == -1 ||
		    get_str(c, &msg, &msglen) == -1)
			return -1;
	return 0;
}

/* Read one payload by its type, as a dispatcher would.  0 or -1. */
static int
dispatch(const struct gw_msg_hdr *hdr, struct ctx *c)
{
	const char	*chan, *since, *data, *from, *s;
	size_t		 chanlen, sincelen, datalen, fromlen, n;
	uint32_t	 u, flags, cnt;
	uint64_t	 ts;

	switch (hdr->type) {
	case GW_MSG_HELLO:
		if (get_u32(c, &u) == -1 || get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_SUB:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &since, &sincelen) == -1 ||
		    get_u32(c, &flags) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_UNSUB:
	case GW_MSG_BRIDGE_NOEVENTS:
		if (get_str(c, &chan, &chanlen) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_PUBLISH:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &data, &datalen) == -1 ||
		    get_str(c, &from, &fromlen) == -1 ||
		    get_u64(c, &ts) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_HISTORY:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &since, &sincelen) == -1 ||
		    get_u32(c, &u) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_SUBSCRIBED:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &s, &n) == -1 ||
		    get_u32(c, &u) == -1 ||
		    get_u32(c, &cnt) == -1 ||
		    get_pairs(c, cnt) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_PUBLISHED:
		if (get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_HISTORY_REPLY:
		if (get_u32(c, &u) == -1 || get_u32(c, &cnt) == -1 ||
		    get_pairs(c, cnt) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_FAIL:
		if (get_str(c, &s, &n) == -1 || get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_DELIVER:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &s, &n) == -1 ||
		    get_str(c, &data, &datalen) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_GAP:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_HEALTH:
		if (get_u32(c, &u) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_EVENT:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_u64(c, &ts) == -1 || get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_PRESENCE_JOIN:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &from, &fromlen) == -1 ||
		    get_str(c, &data, &datalen) == -1 ||
		    get_u64(c, &ts) == -1 || get_u64(c, &ts) == -1)
			return -1;
		break;
	case GW_MSG_PRESENCE_LEAVE:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &from, &fromlen) == -1 ||
		    get_u64(c, &ts) == -1)
			return -1;
		break;
	case GW_MSG_PRESENCE_TYPING:
		if (get_str(c, &chan, &chanlen) == -1 ||
		    get_str(c, &from, &fromlen) == -1 ||
		    get_u64(c, &ts) == -1 || get_u32(c, &u) == -1)
			return -1;
		break;
	case GW_MSG_PRESENCE_QUERY:
		if (get_str(c, &s, &n) == -1 || get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_PRESENCE_REPLY:
		if (get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_PRESENCE_FAIL:
	case GW_MSG_SESSION_LOAD:
		if (get_str(c, &s, &n) == -1 || get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_SESSION_SAVE:
		if (get_str(c, &s, &n) == -1 || get_str(c, &s, &n) == -1 ||
		    get_str(c, &data, &datalen) == -1 ||
		    get_u32(c, &u) == -1)
			return -1;
		break;
	case GW_MSG_SESSION_DROP:
	case GW_MSG_CTL_REQUEST:
	case GW_MSG_CTL_REPLY:
		if (get_str(c, &s, &n) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_GATHER:
		if (get_str(c, &s, &n) == -1 || get_u32(c, &u) == -1)
			return -1;
		break;
	case GW_MSG_BRIDGE_GATHERED:
		/* Bounded: each reply takes at least 4 bytes or fails. */
		if (get_u32(c, &cnt) == -1)
			return -1;
		while (cnt-- > 0)
			if (get_str(c, &s, &n) == -1)
				return -1;
		if (get_u32(c, &u) == -1 || get_u32(c, &u) == -1)
			return -1;
		break;
	case GW_MSG_SESSION_STATE:
		if (get_u32(c, &u) == -1 || get_str(c, &s, &n) == -1)
			return -1;
		break;
	default:
		/* ipc_decode() must not let another type through. */
		CHECK(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_msg_hdr	 hdr, h2;
	struct ipc_rd		 rd, rd2;
	struct ctx		 c;
	const uint8_t		*msg;
	size_t			 off = 0, k;
	ssize_t			 n;
	int			 parsed, end;

	/* Bounded: each turn consumes at least GW_IPC_HDRLEN bytes. */
	while (off < size) {
		msg = data + off;
		errno = 0;
		n = ipc_decode(msg, size - off, &hdr, &rd);
		CHECK(n == ref_decode(msg, size - off));
		if (n == 0)
			break;
		if (n == -1) {
			CHECK(errno == EBADMSG);
			/* Refused from the header alone. */
			CHECK(ipc_decode(msg, GW_IPC_HDRLEN, &h2, &rd2) == -1);
			break;
		}
		CHECK(n >= GW_IPC_HDRLEN && (size_t)n <= size - off);
		CHECK(hdr.len == (size_t)n && hdr.version == GW_IPC_VERSION);
		CHECK(hdr.type > GW_MSG_NONE && hdr.type < GW_MSG_MAX);
		CHECK(memcmp(&hdr, msg, sizeof(hdr)) == 0);
		CHECK(rd.r_p == msg + GW_IPC_HDRLEN && rd.r_err == 0);
		CHECK(rd.r_left == (size_t)n - GW_IPC_HDRLEN);
		CHECK(strcmp(ipc_type_name(hdr.type), "GW_MSG_UNKNOWN") != 0);

		for (k = 0; k < (size_t)n; k++)
			CHECK(ipc_decode(msg, k, &h2, &rd2) == 0);

		c.rd = &rd;
		c.pay = msg + GW_IPC_HDRLEN;
		c.plen = (size_t)n - GW_IPC_HDRLEN;
		c.m = ipc_create(hdr.type, hdr.id);
		parsed = dispatch(&hdr, &c) == 0;
		CHECK(parsed == !rd.r_err);
		CHECK(inside(c.pay, c.plen, rd.r_p, rd.r_left));
		end = ipc_end(&rd);
		CHECK(end == ((parsed && rd.r_left == 0) ? 0 : -1));
		if (end == 0) {
			/* A total parse: the fields give the same bytes. */
			CHECK(ipc_close(c.m) == 0);
			CHECK(c.m->m_len == hdr.len);
			CHECK(memcmp(c.m->m_buf, msg, hdr.len) == 0);
		}
		ipc_msg_free(c.m);
		off += n;
	}
	CHECK(off <= size);
	return 0;
}
