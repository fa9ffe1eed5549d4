/*
 * chan.c -- gw-bridge's channels: which workers want which channel, the
 * Redis subscription of each, and the merge that keeps every worker's
 * stream in offset order with nothing missing and nothing twice, also
 * across a reconnect of the pub/sub link (re-subscribe, read what was
 * missed from history, hold live messages meanwhile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "bridge.h"
#include "htab.h"
#include "log.h"
#include "xmalloc.h"

#define CHAN_MAXHELD	10000	/* live messages held during a catch-up */

static struct bchan *chan_get(const char *, size_t);
static void	chan_free(struct bchan *);
static void	chan_forward(struct bchan *, const char *, size_t,
		    const char *, size_t);
static void	chan_gap(struct bchan *, const char *);
static void	chan_event(struct bchan *, const char *, size_t, const char *,
		    size_t);
static void	chan_run_reqs(struct bchan *);
static void	chan_events(struct bchan *, struct worker *, int);
static int	wfind(struct worker **, int, struct worker *);
static void	chan_go_live(struct bchan *);
static int	chan_catchup(struct bchan *);

/* Write the Redis name of channel ch's key of the given kind into buf. */
void
chan_key(char *buf, size_t len, const char *ch, size_t chlen, char kind)
{
	snprintf(buf, len, "gw:{%.*s}:%c", (int)chlen, ch, kind);
}

/*
 * The channel name inside a pub/sub name "gw:{NAME}:p".  Return value: 0
 * with *name and *len set, or -1 if s is not one of ours.
 */
int
chan_name_from_pubsub(const char *s, size_t n, const char **name,
    size_t *len)
{
	if (n < 8 || strncmp(s, "gw:{", 4) != 0 || strncmp(s + n - 3, "}:p", 3))
		return -1;
	*name = s + 4;
	*len = n - 7;
	return 0;
}

/*
 * Offsets of one epoch compare as strings.  Return value: 1 if a comes
 * after b (or b is empty), 0 if not, -1 if their epochs differ.
 */
static int
off_after(const char *a, size_t alen, const char *b)
{
	size_t	blen = strlen(b);

	if (blen == 0)
		return 1;
	if (alen != BRIDGE_OFFLEN || blen != BRIDGE_OFFLEN ||
	    memcmp(a, b, 16) != 0)
		return -1;
	return memcmp(a, b, BRIDGE_OFFLEN) > 0;
}

static struct bchan *
chan_get(const char *name, size_t len)
{
	return htab_get(gb->b_chans, name, len);
}

static void
chan_free(struct bchan *c)
{
	struct chreq	*q;
	struct held	*h;

	while ((q = c->ch_reqs) != NULL) {
		c->ch_reqs = q->q_next;
		free(q->q_since);
		free(q);
	}
	while ((h = c->ch_held) != NULL) {
		c->ch_held = h->h_next;
		free(h->h_payload);
		free(h);
	}
	free(c->ch_workers);
	free(c->ch_evw);
	free(c->ch_name);
	free(c);
}

static void
chan_subscribe(struct bchan *c)
{
	char	pub[256];

	c->ch_confirmed = 0;
	c->ch_state = c->ch_last[0] != '\0' || c->ch_base[0] != '\0' ?
	    CH_CATCHUP : CH_SUBSCRIBING;
	chan_key(pub, sizeof(pub), c->ch_name, strlen(c->ch_name), 'p');
	if (redis_subscribe(pub) == 0)
		c->ch_subgen = gb->b_subgen;
}

/*
 * Worker w wants channel ch: request id, since ('' for none), flags
 * (GW_SUB_*).  The first worker makes the bridge SUBSCRIBE in Redis; the
 * answer (GW_MSG_BRIDGE_SUBSCRIBED) goes out once the subscription is
 * live, so that the worker can merge history and live traffic.
 */
void
chan_sub(struct worker *w, uint32_t id, const char *ch, size_t chlen,
    const char *since, size_t sincelen, uint32_t flags)
{
	struct bchan	*c;
	struct chreq	*q;

	/*
	 * A client's subscribe while Redis is away is refused now rather
	 * than left waiting; a worker's re-declaration waits for Redis.
	 */
	if (!(gb->b_cmdup && gb->b_subup) && !(flags & GW_SUB_RESTORE)) {
		/*
		 * The flag is the worker's state all the same: one of its
		 * subscribers may have asked for presence on a channel it
		 * keeps.
		 */
		if ((c = chan_get(ch, chlen)) != NULL &&
		    wfind(c->ch_workers, c->ch_nworkers, w) != -1)
			chan_events(c, w, (flags & GW_SUB_EVENTS) != 0);
		bridge_send_fail(w, id, "unavailable",
		    "Redis is not reachable");
		return;
	}
	if ((c = chan_get(ch, chlen)) == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->ch_name = xstrndup(ch, chlen);
		c->ch_heldtail = &c->ch_held;
		htab_put(gb->b_chans, c->ch_name, chlen, c);
		chan_subscribe(c);
	}
	if (wfind(c->ch_workers, c->ch_nworkers, w) == -1) {
		c->ch_workers = xrealloc(c->ch_workers,
		    (c->ch_nworkers + 1) * sizeof(*c->ch_workers));
		c->ch_workers[c->ch_nworkers++] = w;
	}
	chan_events(c, w, (flags & GW_SUB_EVENTS) != 0);
	q = xcalloc(1, sizeof(*q));
	q->q_worker = w->w_serial;
	q->q_id = id;
	q->q_flags = flags;
	q->q_since = xstrndup(since, sincelen);
	q->q_next = c->ch_reqs;
	c->ch_reqs = q;
	if (c->ch_state == CH_LIVE)
		chan_run_reqs(c);
}

/* Run the queued requests of a live channel, while Redis takes them. */
static void
chan_run_reqs(struct bchan *c)
{
	struct chreq	*q;
	struct worker	*w;

	while ((q = c->ch_reqs) != NULL) {
		w = bridge_worker(q->q_worker);
		if (w != NULL && redis_sub_script(c, w, q->q_id, q->q_flags,
		    q->q_since) == -1)
			return;		/* again when the link is back */
		c->ch_reqs = q->q_next;
		free(q->q_since);
		free(q);
	}
}

/*
 * Whether worker w gets c's presence and typing events: as its last
 * GW_MSG_BRIDGE_SUB said, until GW_MSG_BRIDGE_NOEVENTS.  A worker's
 * messages come in the order it sent them, so this is its state when it
 * sent the last one.  Most channels have no presence subscriber, and a
 * node has many workers: a million joins went to 65 workers each.
 */
static void
chan_events(struct bchan *c, struct worker *w, int on)
{
	int	i = wfind(c->ch_evw, c->ch_nevw, w);

	if (on && i == -1) {
		c->ch_evw = xrealloc(c->ch_evw,
		    (c->ch_nevw + 1) * sizeof(*c->ch_evw));
		c->ch_evw[c->ch_nevw++] = w;
	} else if (!on && i != -1)
		c->ch_evw[i] = c->ch_evw[--c->ch_nevw];
}

/* The index of w in a (n workers), or -1. */
static int
wfind(struct worker **a, int n, struct worker *w)
{
	int	i;

	for (i = 0; i < n; i++)
		if (a[i] == w)
			return i;
	return -1;
}

/* Worker w has subscribers on ch, none of them with presence. */
void
chan_noevents(struct worker *w, const char *ch, size_t chlen)
{
	struct bchan	*c;

	if ((c = chan_get(ch, chlen)) != NULL)
		chan_events(c, w, 0);
}

/* Worker w has no subscriber left on ch. */
void
chan_unsub(struct worker *w, const char *ch, size_t chlen)
{
	struct bchan	*c;
	char		 pub[256];
	int		 i;

	if ((c = chan_get(ch, chlen)) == NULL)
		return;
	chan_events(c, w, 0);
	if ((i = wfind(c->ch_workers, c->ch_nworkers, w)) != -1)
		c->ch_workers[i] = c->ch_workers[--c->ch_nworkers];
	if (c->ch_nworkers > 0)
		return;
	chan_key(pub, sizeof(pub), ch, chlen, 'p');
	(void)redis_unsubscribe(pub);
	htab_del(gb->b_chans, ch, chlen);
	chan_free(c);
}

/* Worker w went away: drop it from every channel. */
void
chan_worker_gone(struct worker *w)
{
	struct htab_iter	 it;
	const char		*name;
	size_t			 len;
	void			*v;

	htab_iter_init(gb->b_chans, &it);
	while (htab_iter_next(&it, &name, &len, &v)) {
		struct bchan *c = v;

		if (wfind(c->ch_workers, c->ch_nworkers, w) != -1)
			chan_unsub(w, c->ch_name, len);
	}
}

/* Pass one message to every worker of c, once, in offset order. */
static void
chan_forward(struct bchan *c, const char *off, size_t offlen,
    const char *msg, size_t msglen)
{
	struct ipc_msg	*m;
	int		 i;

	if (off_after(off, offlen, c->ch_last) == 0)
		return;		/* already passed on */
	for (i = 0; i < c->ch_nworkers; i++) {
		m = ipc_create(GW_MSG_BRIDGE_DELIVER, 0);
		ipc_add_cstr(m, c->ch_name);
		ipc_add_str(m, off, offlen);
		ipc_add_str(m, msg, msglen);
		bridge_send(c->ch_workers[i], m);
	}
	if (offlen == BRIDGE_OFFLEN) {
		memcpy(c->ch_last, off, offlen);
		c->ch_last[offlen] = '\0';
	}
	gb->b_delivered++;
}

/*
 * Pass an event of gw-presence ("!ACTOR\nFRAME" on the channel, ACTOR the
 * 16 hex digits of the connection that caused it) to every worker of c
 * that has presence subscribers on it.
 */
static void
chan_event(struct bchan *c, const char *actor, size_t actorlen,
    const char *frame, size_t framelen)
{
	struct ipc_msg	*m;
	char		 hex[17], *end;
	uint64_t	 id;
	int		 i;

	if (actorlen != 16 || strspn(actor, "0123456789abcdef") < 16) {
		log_warnx("channel %s: malformed event ignored", c->ch_name);
		return;
	}
	memcpy(hex, actor, 16);
	hex[16] = '\0';
	id = strtoull(hex, &end, 16);
	if (*end != '\0') {
		log_warnx("channel %s: malformed event ignored", c->ch_name);
		return;
	}
	for (i = 0; i < c->ch_nevw; i++) {
		/* A sync mark (gw-ipc(7)) is for the workers only. */
		if (id == GW_ACTOR_SYNC && !c->ch_evw[i]->w_listen)
			continue;
		m = ipc_create(GW_MSG_BRIDGE_EVENT, 0);
		ipc_add_cstr(m, c->ch_name);
		ipc_add_u64(m, id);
		ipc_add_str(m, frame, framelen);
		bridge_send(c->ch_evw[i], m);
	}
	gb->b_events++;
}

/* Tell c's workers that messages may have been lost on it. */
static void
chan_gap(struct bchan *c, const char *latest)
{
	struct ipc_msg	*m;
	int		 i;

	log_warnx("channel %s: history does not reach back to %s: gap "
	    "reported to clients", c->ch_name, c->ch_last);
	for (i = 0; i < c->ch_nworkers; i++) {
		m = ipc_create(GW_MSG_BRIDGE_GAP, 0);
		ipc_add_cstr(m, c->ch_name);
		ipc_add_cstr(m, latest);
		bridge_send(c->ch_workers[i], m);
	}
}

/* A message on the pub/sub link: "offset\nmessage" on gw:{C}:p. */
void
chan_message(const char *pub, size_t publen, const char *p, size_t n)
{
	struct bchan	*c;
	struct held	*h;
	const char	*name, *nl;
	size_t		 len;

	if (chan_name_from_pubsub(pub, publen, &name, &len) == -1 ||
	    (c = chan_get(name, len)) == NULL)
		return;
	if ((nl = memchr(p, '\n', n)) == NULL) {
		log_warnx("channel %s: malformed message ignored", c->ch_name);
		return;
	}
	if (p[0] == '!') {
		/* A presence or typing event: not kept, not ordered. */
		chan_event(c, p + 1, nl - p - 1, nl + 1, n - (nl - p) - 1);
		return;
	}
	if (c->ch_state != CH_CATCHUP) {
		chan_forward(c, p, nl - p, nl + 1, n - (nl - p) - 1);
		return;
	}
	if (c->ch_nheld >= CHAN_MAXHELD) {
		c->ch_overflow = 1;	/* reported when live again */
		return;
	}
	h = xmalloc(sizeof(*h));
	h->h_next = NULL;
	h->h_payload = xmalloc(n);
	memcpy(h->h_payload, p, n);
	h->h_len = n;
	*c->ch_heldtail = h;
	c->ch_heldtail = &h->h_next;
	c->ch_nheld++;
}

/* Redis confirmed the SUBSCRIBE of a channel. */
void
chan_confirmed(const char *pub, size_t publen)
{
	struct bchan	*c;
	const char	*name;
	size_t		 len;

	if (chan_name_from_pubsub(pub, publen, &name, &len) == -1 ||
	    (c = chan_get(name, len)) == NULL)
		return;
	c->ch_confirmed = 1;
	if (c->ch_state == CH_SUBSCRIBING)
		chan_go_live(c);
	else if (c->ch_state == CH_CATCHUP)
		(void)chan_catchup(c);
}

/* Read from history what the channel missed while the link was down. */
static int
chan_catchup(struct bchan *c)
{
	return redis_sub_script(c, NULL, 0, 0, c->ch_last[0] != '\0' ?
	    c->ch_last : c->ch_base);
}

static void
chan_go_live(struct bchan *c)
{
	struct held	*h;
	const char	*nl;

	c->ch_state = CH_LIVE;
	if (c->ch_overflow) {
		c->ch_overflow = 0;
		chan_gap(c, c->ch_last);
	}
	while ((h = c->ch_held) != NULL) {
		c->ch_held = h->h_next;
		if ((nl = memchr(h->h_payload, '\n', h->h_len)) != NULL)
			chan_forward(c, h->h_payload, nl - h->h_payload,
			    nl + 1, h->h_len - (nl - h->h_payload) - 1);
		free(h->h_payload);
		free(h);
	}
	c->ch_heldtail = &c->ch_held;
	c->ch_nheld = 0;
	chan_run_reqs(c);
}

/*
 * A link came up: subscribe again to every channel the new pub/sub link
 * does not carry yet, and run what waited for the command link.
 */
void
chan_resubscribe_all(void)
{
	struct htab_iter	 it;
	const char		*name;
	size_t			 len;
	void			*v;

	htab_iter_init(gb->b_chans, &it);
	while (htab_iter_next(&it, &name, &len, &v)) {
		struct bchan *c = v;

		if (gb->b_subup && c->ch_subgen != gb->b_subgen)
			chan_subscribe(c);
		if (!gb->b_cmdup)
			continue;
		if (c->ch_state == CH_LIVE)
			chan_run_reqs(c);
		else if (c->ch_state == CH_CATCHUP && c->ch_confirmed)
			(void)chan_catchup(c);
	}
}

/* Fill off/msg pairs of a script reply from element 'first' on. */
static void
add_pairs(struct ipc_msg *m, const redisReply *r, size_t first, size_t n)
{
	size_t	i;

	ipc_add_u32(m, n);
	for (i = 0; i < n; i++) {
		const redisReply *o = r->element[first + 2 * i];
		const redisReply *x = r->element[first + 2 * i + 1];

		ipc_add_str(m, o->str, o->len);
		ipc_add_str(m, x->str, x->len);
	}
}

/* How many pairs from element first fit in limit bytes. */
static size_t
fit_pairs(const redisReply *r, size_t first, size_t limit)
{
	size_t	i, bytes = 0;

	for (i = first; i + 1 < r->elements; i += 2) {
		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING)
			break;
		bytes += r->element[i]->len + r->element[i + 1]->len + 8;
		if (bytes > limit)
			break;
	}
	return (i - first) / 2;
}

/*
 * The bytes of history an answer to w may hold: BRIDGE_MAXREPLY, less
 * once w's queue has passed BRIDGE_REPLYROOM less that, down to none.
 * Answers cut to fit say so (recovered or complete false), and the
 * queue stays under GW_IPC_MAXQUEUE, past which w would be dropped with
 * all its clients' requests: many replays at once (a reconnect storm on
 * channels of big messages) cost their own completeness, not the link.
 */
static size_t
reply_room(struct worker *w)
{
	size_t	q = ipc_peer_queued(w->w_peer);

	if (q >= BRIDGE_REPLYROOM)
		return 0;
	return BRIDGE_REPLYROOM - q < BRIDGE_MAXREPLY ?
	    BRIDGE_REPLYROOM - q : BRIDGE_MAXREPLY;
}

/*
 * The subscribe script answered for channel name: for worker w (request
 * id), or, when serial is 0, for the bridge's own catch-up.
 */
void
chan_sub_reply(const char *name, struct worker *w, uint64_t serial,
    uint32_t id, uint32_t flags, const redisReply *r)
{
	struct bchan	*c = chan_get(name, strlen(name));
	struct ipc_msg	*m;
	const char	*latest;
	size_t		 n, i;
	long long	 rec;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_INTEGER) {
		if (r != NULL && r->type == REDIS_REPLY_ERROR)
			log_warnx("subscribe script: %s", r->str);
		if (r == NULL && serial == 0)
			return;	/* link lost: catch up again when it is back */
		if (serial == 0 && c != NULL) {
			/* Catch-up failed: say so rather than hide a gap. */
			chan_gap(c, c->ch_last);
			chan_go_live(c);
		} else if (w != NULL)
			bridge_send_fail(w, id, "unavailable",
			    "history is not reachable");
		return;
	}
	latest = r->element[0]->str;
	rec = r->element[1]->integer;
	if (serial == 0) {
		if (c == NULL)
			return;
		n = fit_pairs(r, 2, BRIDGE_MAXREPLY);
		if (rec != GW_REC_TRUE)
			chan_gap(c, latest);
		for (i = 0; i < n; i++)
			chan_forward(c, r->element[2 + 2 * i]->str,
			    r->element[2 + 2 * i]->len,
			    r->element[3 + 2 * i]->str,
			    r->element[3 + 2 * i]->len);
		chan_go_live(c);
		return;
	}
	if (c != NULL && r->element[0]->len == BRIDGE_OFFLEN) {
		/*
		 * Where a catch-up starts if nothing is forwarded before.  Not
		 * ch_last: messages up to latest may still be on their way on
		 * the pub/sub link, and must not be taken for duplicates.
		 */
		memcpy(c->ch_base, latest, BRIDGE_OFFLEN + 1);
	}
	if (w == NULL)
		return;
	n = fit_pairs(r, 2, reply_room(w));
	if (n * 2 + 2 < r->elements && rec == GW_REC_TRUE)
		rec = GW_REC_FALSE;	/* cut to fit: the client must reload */
	m = ipc_create(GW_MSG_BRIDGE_SUBSCRIBED, id);
	ipc_add_cstr(m, name);
	ipc_add_str(m, latest, r->element[0]->len);
	ipc_add_u32(m, (uint32_t)rec);
	add_pairs(m, r, 2, n);
	(void)flags;
	bridge_send(w, m);
}

/* The history script answered for worker w's request id. */
void
chan_history_reply(struct worker *w, uint32_t id, const redisReply *r)
{
	struct ipc_msg	*m;
	size_t		 n;
	long long	 complete;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		if (r != NULL && r->type == REDIS_REPLY_ERROR)
			log_warnx("history script: %s", r->str);
		bridge_send_fail(w, id, "unavailable",
		    "history is not reachable");
		return;
	}
	complete = r->element[0]->integer;
	n = fit_pairs(r, 1, reply_room(w));
	if (n * 2 + 1 < r->elements)
		complete = 0;
	m = ipc_create(GW_MSG_BRIDGE_HISTORY_REPLY, id);
	ipc_add_u32(m, complete != 0);
	add_pairs(m, r, 1, n);
	bridge_send(w, m);
}
