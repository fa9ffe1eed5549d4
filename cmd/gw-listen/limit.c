/*
 * limit.c -- how many WebSocket connections a gw-listen process holds:
 * at most --max-connections in all, and at most --max-conns-per-ip from
 * one client address (off by default).  An upgrade over either limit is
 * answered 503: the connections already there lose nothing.
 *
 * And how fast it takes new ones: at most --upgrade-rate upgrades begin a
 * second (a token bucket holding LISTEN_UPGRADE_BURST seconds of them).
 * The others wait in the order they came, their sockets idle, until
 * their turn or their head deadline (503 with Retry-After).  A reconnect
 * storm is then spread over seconds instead of taking the worker's turns
 * from the clients it already has.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ev.h>

#include "htab.h"
#include "listen.h"
#include "xmalloc.h"

static struct htab	*limit_ips;	/* address bytes -> count (uintptr) */
static uint64_t		 limit_nws;	/* WebSocket connections now */

static struct upwait	*up_head;	/* upgrades waiting, oldest first */
static struct upwait	**up_tailp = &up_head;
static size_t		 up_n;
static double		 up_tokens = -1;	/* < 0: not begun */
static ev_tstamp	 up_last;		/* when they were counted */
static ev_timer		 up_timer;

static void	up_refill(void);
static void	up_arm(void);
static struct conn *up_pop(struct upwait *);
static void	up_timer_cb(struct ev_loop *, ev_timer *, int);

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

/* Tokens for the time since the last count, up to the burst. */
static void
up_refill(void)
{
	double	rate = gl->l_conf->lc_uprate;
	double	burst = rate * LISTEN_UPGRADE_BURST;
	ev_tstamp now = ev_now(gl->l_loop);

	if (burst < 1)
		burst = 1;
	if (up_tokens < 0) {
		up_tokens = burst;
		ev_init(&up_timer, up_timer_cb);
	} else
		up_tokens += (now - up_last) * rate;
	if (up_tokens > burst)
		up_tokens = burst;
	up_last = now;
}

/*
 * May c's upgrade begin now (1)?  If not (0), it waits for its turn, with
 * what handshake_begin() will need: accept, the session asked to resume
 * (sid, sidlen; 0 for none) and the head's size.
 */
int
limit_upgrade(struct conn *c, const char *accept, const char *sid,
    size_t sidlen, size_t headlen)
{
	struct upwait	*uw;

	if (gl->l_conf->lc_uprate == 0)
		return 1;
	up_refill();
	if (up_head == NULL && up_tokens >= 1) {
		up_tokens -= 1;
		return 1;
	}
	uw = xmalloc(sizeof(*uw));
	uw->uw_conn = c;
	uw->uw_headlen = headlen;
	memcpy(uw->uw_accept, accept, sizeof(uw->uw_accept));
	if (sidlen > sizeof(uw->uw_sid))
		sidlen = 0;	/* too long to be one: a fresh session */
	memcpy(uw->uw_sid, sid, sidlen);
	uw->uw_sidlen = sidlen;
	uw->uw_next = NULL;
	uw->uw_prevp = up_tailp;
	*up_tailp = uw;
	up_tailp = &uw->uw_next;
	up_n++;
	c->c_head->h_upwait = uw;
	c->c_flags |= CONN_F_WAIT;
	gst.st_upwaited++;
	if (!ev_is_active(&up_timer))
		up_arm();
	return 0;
}

/* Take h's upgrade out of the queue: its turn came, or it is going. */
void
limit_unwait(struct conn_head *h)
{
	struct upwait	*uw = h->h_upwait;

	if (uw == NULL)
		return;
	if ((*uw->uw_prevp = uw->uw_next) != NULL)
		uw->uw_next->uw_prevp = uw->uw_prevp;
	else
		up_tailp = uw->uw_prevp;
	up_n--;
	h->h_upwait = NULL;
	free(uw);
	if (up_head == NULL)
		ev_timer_stop(gl->l_loop, &up_timer);
}

/* Upgrades waiting now (gwctl stats). */
size_t
limit_waiting(void)
{
	return up_n;
}

/*
 * Take the oldest upgrade out of the queue, what it needs into *uw; its
 * connection, no longer waiting, is returned.
 */
static struct conn *
up_pop(struct upwait *uw)
{
	struct conn	*c = up_head->uw_conn;

	*uw = *up_head;
	limit_unwait(c->c_head);
	c->c_flags &= ~CONN_F_WAIT;
	return c;
}

/*
 * Tokens came: begin the oldest upgrades, one a token (at most a burst
 * of them, which bounds the loop).  One whose connection was killed
 * meanwhile (freed at the reap) costs none.  Draining: 503.
 */
static void
up_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct upwait	 uw;
	struct conn	*c;

	(void)w;
	(void)revents;
	up_refill();
	while (up_head != NULL && up_tokens >= 1) {
		c = up_pop(&uw);
		if (c->c_flags & CONN_F_DEAD)
			continue;
		up_tokens -= 1;
		/* A deadline of its own for the session's load. */
		tlist_add(&gl->l_heads, c, ev_now(loop));
		handshake_begin(c, uw.uw_accept, uw.uw_sid, uw.uw_sidlen,
		    uw.uw_headlen);
	}
	if (up_head != NULL)
		up_arm();
}

/* Draining: every upgrade still waiting is answered 503 at once. */
void
limit_drain(void)
{
	struct upwait	 uw;
	struct conn	*c;

	while (up_head != NULL) {
		c = up_pop(&uw);
		if (!(c->c_flags & CONN_F_DEAD))
			handshake_begin(c, uw.uw_accept, uw.uw_sid,
			    uw.uw_sidlen, uw.uw_headlen);
	}
}

/* Go off when the next token is there, LISTEN_UPGRADE_TICK at the least. */
static void
up_arm(void)
{
	double	after = (1 - up_tokens) / gl->l_conf->lc_uprate;

	ev_timer_set(&up_timer, after > LISTEN_UPGRADE_TICK ? after :
	    LISTEN_UPGRADE_TICK, 0.);
	ev_timer_start(gl->l_loop, &up_timer);
}

/* At exit. */
void
limit_free(void)
{
	if (limit_ips != NULL)
		htab_free(limit_ips);
	limit_ips = NULL;
}
