/*
 * limit.c -- how many WebSocket connections a gw-listen process holds:
 * at most --max-connections in all, and at most --max-conns-per-ip from
 * one client address (off by default).  An upgrade over either limit is
 * answered 503: the connections already there lose nothing.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "htab.h"
#include "listen.h"
#include "xmalloc.h"

static struct htab	*limit_ips;	/* address bytes -> count (uintptr) */
static uint64_t		 limit_nws;	/* WebSocket connections now */

/* The address of c's peer as bytes (4 or 16), or 0 if unknown. */
static size_t
limit_addr(struct conn *c, uint8_t out[16])
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(c->c_io.fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET) {
		memcpy(out, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		return 4;
	}
	if (ss.ss_family == AF_INET6) {
		memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		/* An IPv4 peer of a [::] listener counts as that IPv4. */
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)out)) {
			memmove(out, out + 12, 4);
			return 4;
		}
		return 16;
	}
	return 0;
}

/*
 * May c become a WebSocket connection?  If so it is counted (until
 * limit_release()) and 1 is returned; 0 if a limit is reached.
 */
int
limit_take(struct conn *c)
{
	const struct listen_conf	*lc = gl->l_conf;
	uint8_t				 a[16];
	size_t				 n = 0;
	uintptr_t			 k = 0;

	if (lc->lc_maxconns > 0 && limit_nws >= lc->lc_maxconns)
		return 0;
	if (lc->lc_maxperip > 0 && (n = limit_addr(c, a)) > 0) {
		if (limit_ips == NULL)
			limit_ips = htab_new();
		k = (uintptr_t)htab_get(limit_ips, (char *)a, n);
		if (k >= lc->lc_maxperip)
			return 0;
		if (k == 0)
			htab_put(limit_ips, (char *)a, n, (void *)1);
		else
			htab_put(limit_ips, (char *)a, n, (void *)(k + 1));
		c->c_ipkey = xmalloc(n + 1);
		c->c_ipkey[0] = n;
		memcpy(c->c_ipkey + 1, a, n);
	}
	limit_nws++;
	c->c_flags |= CONN_F_COUNTED;
	return 1;
}

/* c, counted by limit_take(), is being freed. */
void
limit_release(struct conn *c)
{
	uintptr_t	k;
	size_t		n;

	if (!(c->c_flags & CONN_F_COUNTED))
		return;
	c->c_flags &= ~CONN_F_COUNTED;
	limit_nws--;
	if (c->c_ipkey == NULL || limit_ips == NULL)
		return;
	n = (uint8_t)c->c_ipkey[0];
	k = (uintptr_t)htab_get(limit_ips, c->c_ipkey + 1, n);
	if (k <= 1)
		(void)htab_del(limit_ips, c->c_ipkey + 1, n);
	else
		htab_put(limit_ips, c->c_ipkey + 1, n, (void *)(k - 1));
	free(c->c_ipkey);
	c->c_ipkey = NULL;
}

/* At exit. */
void
limit_free(void)
{
	if (limit_ips != NULL)
		htab_free(limit_ips);
	limit_ips = NULL;
}
