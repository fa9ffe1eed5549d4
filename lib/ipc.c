/*
 * ipc.c -- see ipc.h and gw-ipc(7): building and reading messages.
 * Sockets and peers are in ipc_peer.c.
 *
 * Messages are built in one buffer that starts with the 16-byte header,
 * so that a closed message is written as it is: no copy, no second
 * encoding.  A message that would pass GW_IPC_MAXMSG stops growing at
 * once (its m_len is set to IPC_TOOBIG and later adds are dropped), so a
 * caller cannot make us allocate more than that, and ipc_close() and
 * ipc_send() refuse it with EMSGSIZE.
 */

#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "xmalloc.h"

/* The m_len of a message that overflowed. */
#define IPC_TOOBIG	((size_t)GW_IPC_MAXMSG + 1)
#define IPC_MSGINIT	128		/* first buffer of a message */

static void	ipc_grow(struct ipc_msg *, size_t);
static void	ipc_put(struct ipc_msg *, const void *, size_t);
static int	ipc_get(struct ipc_rd *, void *, size_t);

/*
 * Allocate a message of the given type and request id, with an empty
 * payload.  The caller owns it: it is freed by ipc_msg_free(), or by
 * ipc_send(), which takes it over.  Never returns NULL (xmalloc).
 */
struct ipc_msg *
ipc_create(uint32_t type, uint32_t id)
{
	struct ipc_msg		*m;
	struct gw_msg_hdr	 hdr;

	m = xmalloc(sizeof(*m));
	m->m_cap = IPC_MSGINIT;
	m->m_buf = xmalloc(m->m_cap);
	m->m_next = NULL;
	m->m_off = 0;
	m->m_block = 0;
	hdr.type = type;
	hdr.len = GW_IPC_HDRLEN;
	hdr.id = id;
	hdr.version = GW_IPC_VERSION;
	memcpy(m->m_buf, &hdr, sizeof(hdr));
	m->m_len = GW_IPC_HDRLEN;
	return m;
}

/*
 * Make room for n more bytes, or mark m as too big.  A too big message
 * keeps the buffer it has: nothing more is ever written to it.
 */
static void
ipc_grow(struct ipc_msg *m, size_t n)
{
	size_t	 cap;

	if (m->m_len > GW_IPC_MAXMSG)
		return;
	if (n > GW_IPC_MAXMSG - m->m_len) {
		m->m_len = IPC_TOOBIG;
		return;
	}
	if (m->m_len + n <= m->m_cap)
		return;
	for (cap = m->m_cap; cap < m->m_len + n; cap *= 2)
		;
	if (cap > GW_IPC_MAXMSG)
		cap = GW_IPC_MAXMSG;
	m->m_buf = xrealloc(m->m_buf, cap);
	m->m_cap = cap;
}

/* Append n bytes at p, if m has not overflowed (ipc_grow was called). */
static void
ipc_put(struct ipc_msg *m, const void *p, size_t n)
{
	if (m->m_len > GW_IPC_MAXMSG || n == 0)
		return;
	memcpy(m->m_buf + m->m_len, p, n);
	m->m_len += n;
}

/* Append a u32 in host byte order. */
void
ipc_add_u32(struct ipc_msg *m, uint32_t v)
{
	ipc_grow(m, sizeof(v));
	ipc_put(m, &v, sizeof(v));
}

/* Append a u64 in host byte order. */
void
ipc_add_u64(struct ipc_msg *m, uint64_t v)
{
	ipc_grow(m, sizeof(v));
	ipc_put(m, &v, sizeof(v));
}

/*
 * Append a string: its length n as a u32, then its n bytes (no NUL).  p
 * may be NULL when n is 0.  A string that does not fit in GW_IPC_MAXMSG
 * makes the message too big: nothing of it is written, and ipc_close()
 * will fail.
 */
void
ipc_add_str(struct ipc_msg *m, const void *p, size_t n)
{
	uint32_t	 n32;

	if (n > GW_IPC_MAXMSG) {
		m->m_len = IPC_TOOBIG;
		return;
	}
	ipc_grow(m, sizeof(n32) + n);
	n32 = (uint32_t)n;
	ipc_put(m, &n32, sizeof(n32));
	ipc_put(m, p, n);
}

/* Append the NUL-terminated string s as ipc_add_str(); NULL is empty. */
void
ipc_add_cstr(struct ipc_msg *m, const char *s)
{
	ipc_add_str(m, s, s == NULL ? 0 : strlen(s));
}

/*
 * Write the final length into m's header.  It may be called again after
 * more adds.  Returns 0, or -1 with errno EMSGSIZE if the message is over
 * GW_IPC_MAXMSG (and then it can only be freed).
 */
int
ipc_close(struct ipc_msg *m)
{
	uint32_t	 len;

	if (m->m_len > GW_IPC_MAXMSG) {
		errno = EMSGSIZE;
		return -1;
	}
	len = (uint32_t)m->m_len;
	memcpy(m->m_buf + offsetof(struct gw_msg_hdr, len), &len,
	    sizeof(len));
	return 0;
}

/* Free a message that was not given to ipc_send().  NULL is allowed. */
void
ipc_msg_free(struct ipc_msg *m)
{
	if (m == NULL)
		return;
	if (m->m_block)
		(void)munmap(m->m_buf, m->m_cap);
	else
		free(m->m_buf);
	free(m);
}

/*
 * Look at the start of a byte stream of len bytes.  Returns 0 if it does
 * not hold a whole message yet (read more and call again); -1 with errno
 * EBADMSG if the header is bad, which is decided as soon as its 16 bytes
 * are there: a length under 16 or over GW_IPC_MAXMSG, another version, a
 * type that is GW_MSG_NONE or not below GW_MSG_MAX; or else the length of
 * the whole message, header included, with *hdr filled and *rd set to
 * read its payload in place (rd points into buf: keep buf while reading).
 */
ssize_t
ipc_decode(const uint8_t *buf, size_t len, struct gw_msg_hdr *hdr,
    struct ipc_rd *rd)
{
	struct gw_msg_hdr	 h;

	if (len < GW_IPC_HDRLEN)
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.len < GW_IPC_HDRLEN || h.len > GW_IPC_MAXMSG ||
	    h.version != GW_IPC_VERSION || h.type == GW_MSG_NONE ||
	    h.type >= GW_MSG_MAX) {
		errno = EBADMSG;
		return -1;
	}
	if (len < h.len)
		return 0;
	*hdr = h;
	rd->r_p = buf + GW_IPC_HDRLEN;
	rd->r_left = h.len - GW_IPC_HDRLEN;
	rd->r_err = 0;
	return h.len;
}

/* Take n bytes from rd into dst, or fail and poison rd. */
static int
ipc_get(struct ipc_rd *rd, void *dst, size_t n)
{
	if (rd->r_err || rd->r_left < n) {
		rd->r_err = 1;
		return -1;
	}
	memcpy(dst, rd->r_p, n);
	rd->r_p += n;
	rd->r_left -= n;
	return 0;
}

/*
 * Read a u32 from the payload.  Returns 0, or -1 (and *v = 0) if too few
 * bytes are left or an earlier get failed; a failure makes every later
 * get and ipc_end() fail too.
 */
int
ipc_get_u32(struct ipc_rd *rd, uint32_t *v)
{
	if (ipc_get(rd, v, sizeof(*v)) == -1) {
		*v = 0;
		return -1;
	}
	return 0;
}

/* Read a u64 from the payload, as ipc_get_u32(). */
int
ipc_get_u64(struct ipc_rd *rd, uint64_t *v)
{
	if (ipc_get(rd, v, sizeof(*v)) == -1) {
		*v = 0;
		return -1;
	}
	return 0;
}

/*
 * Read a string: *p points at its bytes inside the payload (not
 * NUL-terminated) and *n is its length.  Returns 0, or -1 (*p = NULL,
 * *n = 0) if the payload ends before the string does or an earlier get
 * failed.
 */
int
ipc_get_str(struct ipc_rd *rd, const char **p, size_t *n)
{
	uint32_t	 n32;

	*p = NULL;
	*n = 0;
	if (ipc_get(rd, &n32, sizeof(n32)) == -1)
		return -1;
	if (n32 > rd->r_left) {
		rd->r_err = 1;
		return -1;
	}
	*p = (const char *)rd->r_p;
	*n = n32;
	rd->r_p += n32;
	rd->r_left -= n32;
	return 0;
}

/*
 * Finish reading a payload.  Returns 0 if every get succeeded and the
 * payload was read to its last byte, else -1 with errno EBADMSG.
 */
int
ipc_end(struct ipc_rd *rd)
{
	if (rd->r_err || rd->r_left != 0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/*
 * The name of a message type, such as "GW_MSG_BRIDGE_SUB", for traces;
 * "GW_MSG_UNKNOWN" for a value outside the enum.  The string is static.
 */
const char *
ipc_type_name(uint32_t type)
{
#define CASE(x)	case x: return #x
	switch (type) {
	CASE(GW_MSG_NONE);
	CASE(GW_MSG_HELLO);
	CASE(GW_MSG_BRIDGE_SUB);
	CASE(GW_MSG_BRIDGE_UNSUB);
	CASE(GW_MSG_BRIDGE_NOEVENTS);
	CASE(GW_MSG_BRIDGE_PUBLISH);
	CASE(GW_MSG_BRIDGE_HISTORY);
	CASE(GW_MSG_BRIDGE_SUBSCRIBED);
	CASE(GW_MSG_BRIDGE_PUBLISHED);
	CASE(GW_MSG_BRIDGE_HISTORY_REPLY);
	CASE(GW_MSG_BRIDGE_FAIL);
	CASE(GW_MSG_BRIDGE_DELIVER);
	CASE(GW_MSG_BRIDGE_GAP);
	CASE(GW_MSG_BRIDGE_HEALTH);
	CASE(GW_MSG_BRIDGE_EVENT);
	CASE(GW_MSG_PRESENCE_JOIN);
	CASE(GW_MSG_PRESENCE_LEAVE);
	CASE(GW_MSG_PRESENCE_TYPING);
	CASE(GW_MSG_PRESENCE_QUERY);
	CASE(GW_MSG_PRESENCE_REPLY);
	CASE(GW_MSG_PRESENCE_FAIL);
	CASE(GW_MSG_SESSION_SAVE);
	CASE(GW_MSG_SESSION_DROP);
	CASE(GW_MSG_SESSION_LOAD);
	CASE(GW_MSG_SESSION_STATE);
	CASE(GW_MSG_CTL_REQUEST);
	CASE(GW_MSG_CTL_REPLY);
	CASE(GW_MSG_BRIDGE_GATHER);
	CASE(GW_MSG_BRIDGE_GATHERED);
	default:
		return "GW_MSG_UNKNOWN";
	}
#undef CASE
}

/*
 * Copy the n bytes at src, a string a peer sent (the name of its
 * GW_MSG_HELLO), into dst of size bytes for a log line: printable ASCII
 * is kept and every other byte (a NUL, a newline that would forge a
 * line, an escape sequence, UTF-8) becomes '?'.  dst is always
 * NUL-terminated, and cut if need be; size must be at least 1.
 */
void
ipc_printable(char *dst, size_t size, const void *src, size_t n)
{
	const unsigned char	*p = src;
	size_t			 i;

	if (n > size - 1)
		n = size - 1;
	for (i = 0; i < n; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[n] = '\0';
}
