/*
 * client.c -- what a connected client asks for: the JSON requests of
 * PROTOCOL.md section 2.  Subscribe (subscribe.c), publish and history go
 * to the node's gw-bridge (link.c) and are answered when it answers; a
 * subscription holds the live messages that arrive meanwhile and releases
 * them after its replay, so that a client sees nothing twice and nothing
 * missing.
 */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

#define HISTORY_DEFAULT	100	/* messages, when the client gives no limit */

static int	client_send_json_limit(struct conn *, json_t *, size_t);
static void	client_dispatch(struct conn *, struct req *);
static void	client_unsubscribe(struct conn *, struct req *, int);
static void	client_publish(struct conn *, struct req *, uint32_t);
static int	client_waits(struct conn *, uint32_t);
static json_t	*client_history_entries(struct ipc_rd *, uint32_t, int *);
static size_t	client_nwaiting(struct conn *);
static struct pend *pend_oldest(struct conn *);
static struct pend *pend_newer(struct conn *, struct pend *);
static void	client_history(struct conn *, struct req *);
static struct pend *pend_new(struct conn *, int, json_t *);
static void	pend_free(struct pend *);
static void	client_leave(struct conn *, uint32_t, int);
static int	client_rate_ok(struct conn *);
static void	client_presence(struct conn *, struct req *, int);
static void	client_typing(struct conn *, struct req *, int);

static void
hex(char *dst, const uint8_t *p, size_t n)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[p[i] >> 4];
		dst[2 * i + 1] = digits[p[i] & 0xf];
	}
	dst[2 * n] = '\0';
}

/*
 * Encode obj (a reference the caller keeps) and queue it on c as one text
 * frame.  Return value: 0 if queued, -1 if not (c is closing or was just
 * failed for being slow).
 */
int
client_send_json(struct conn *c, json_t *obj)
{
	return client_send_json_limit(c, obj, gl->l_conf->lc_maxout);
}

/* client_send_json() with the queue limit of conn_send_limit(). */
static int
client_send_json_limit(struct conn *c, json_t *obj, size_t limit)
{
	struct obuf	*ob;
	char		*s;
	int		 rv;

	if ((s = json_dumps(obj, JSON_COMPACT)) == NULL)
		fatalx("json_dumps: out of memory");
	ob = ws_frame(0x1, s, strlen(s));
	free(s);
	rv = conn_send_limit(c, ob, limit);
	obuf_unref(ob);
	return rv;
}

void
client_error(struct conn *c, json_t *id, const char *code, const char *msg)
{
	struct obuf	*ob;
	char		*s;
	size_t		 n;

	gst.st_errors++;
	/* A parser message may quote the input, which may not be UTF-8. */
	if ((s = proto_error_json(id, code, msg, &n)) == NULL &&
	    (s = proto_error_json(id, code, "invalid request", &n)) == NULL)
		fatalx("proto_error_json: out of memory");
	ob = ws_frame(0x1, s, n);
	free(s);
	(void)conn_send(c, ob);
	obuf_unref(ob);
}

/*
 * Give c its connection id, once: at its session's load (which names the
 * connection that holds it) or at its welcome.
 */
void
client_connid(struct conn *c)
{
	if (c->c_connid != 0)
		return;
	auth_random(&c->c_connid, sizeof(c->c_connid));
	c->c_connid |= 1;	/* 0 means "no connection" to gw-presence */
}

/*
 * The first frame after the upgrade: who the client is, and its session:
 * a new one, or (resumed) the one c->c_session names, whose channels are
 * the JSON array channels (the caller keeps it).
 */
void
client_welcome(struct conn *c, int resumed, json_t *channels)
{
	char		 connid[17], session[33];
	struct timespec	 now;
	json_t		*o, *ping;

	client_connid(c);
	if (!resumed)
		auth_random(c->c_session, sizeof(c->c_session));
	conn_idhex(connid, c);
	hex(session, c->c_session, sizeof(c->c_session));
	if (gl->l_conf->lc_ping == (double)(long)gl->l_conf->lc_ping)
		ping = json_integer((long)gl->l_conf->lc_ping);
	else
		ping = json_real(gl->l_conf->lc_ping);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o}",
	    "type", "welcome", "connId", connid, "userId", c->c_id->id_user,
	    "node", gl->l_conf->lc_node, "session", session, "resumed",
	    resumed, "channels", channels != NULL ? json_incref(channels) :
	    json_array(), "pingInterval", ping);
	if (o == NULL)
		fatalx("welcome: json_pack");
	c->c_tokens = gl->l_conf->lc_pubburst;
	c->c_tlast = ev_now(gl->l_loop);
	clock_gettime(CLOCK_REALTIME, &now);
	c->c_born = (uint64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	(void)client_send_json(c, o);
	json_decref(o);
}

/* One complete text message from c: a request. */
void
client_message(struct conn *c, const char *buf, size_t len)
{
	struct req		rq;
	struct proto_err	err;

	gst.st_messages_in++;
	if (proto_parse(buf, len, &rq, &err) == -1)
		client_error(c, rq.rq_id, err.pe_code, err.pe_msg);
	else
		client_dispatch(c, &rq);
	proto_req_free(&rq);
}

/* Index of channel name ch in c's subscriptions, or -1. */
int
client_find(struct conn *c, const char *ch)
{
	int	i;

	for (i = 0; i < c->c_nsubs; i++)
		if (strcmp(c->c_subs[i].s_chan->ch_name, ch) == 0)
			return i;
	return -1;
}

static void
client_dispatch(struct conn *c, struct req *rq)
{
	int	 i;

	if (rq->rq_type == REQ_SUBSCRIBE) {
		client_subscribe(c, rq);
		return;
	}
	if ((i = client_find(c, rq->rq_channel)) == -1) {
		client_error(c, rq->rq_id, "not_subscribed",
		    "subscribe to the channel first");
		return;
	}
	switch (rq->rq_type) {
	case REQ_UNSUBSCRIBE:
		client_unsubscribe(c, rq, i);
		break;
	case REQ_PUBLISH:
		if (c->c_subs[i].s_typing) {
			/* A user's publish ends their typing. */
			c->c_subs[i].s_typing = 0;
			pres_typing(c->c_subs[i].s_chan, c, GW_TYPING_STOP);
		}
		client_publish(c, rq, (uint32_t)i);
		break;
	case REQ_PRESENCE:
		client_presence(c, rq, i);
		break;
	case REQ_HISTORY:
		client_history(c, rq);
		break;
	case REQ_TYPING:
		client_typing(c, rq, i);
		break;
	case REQ_SUBSCRIBE:
		break;
	}
}

static struct pend *
pend_new(struct conn *c, int kind, json_t *id)
{
	struct pend	*pd;

	pd = xcalloc(1, sizeof(*pd));
	pd->pd_kind = kind;
	pd->pd_conn = c;
	if (kind == PD_HISTORY)
		gl->l_nhist++;
	pd->pd_reqid = id != NULL ? json_incref(id) : NULL;
	if (c != NULL) {
		if ((pd->pd_next = c->c_pend) != NULL)
			pd->pd_next->pd_prevp = &pd->pd_next;
		pd->pd_prevp = &c->c_pend;
		c->c_pend = pd;
	}
	return pd;
}

/* pend_new() for session.c and subscribe.c. */
struct pend *
client_pend(struct conn *c, int kind, json_t *id)
{
	return pend_new(c, kind, id);
}

/* pend_free() for session.c, presence.c and subscribe.c. */
void
client_pend_free(struct pend *pd)
{
	pend_free(pd);
}

/*
 * Unlink pd from its connection and free it: in constant time, as an API
 * batch frees its thousand requests in the order they were made (the
 * oldest last in the list).
 */
static void
pend_free(struct pend *pd)
{
	if (pd->pd_kind == PD_HISTORY)
		gl->l_nhist--;
	else if (pd->pd_kind == PD_RESWAIT)
		gl->l_nreswait--;
	else if (pd->pd_kind == PD_METRICS)
		apinode_metrics_done(pd);
	if (pd->pd_prevp != NULL) {
		if ((*pd->pd_prevp = pd->pd_next) != NULL)
			pd->pd_next->pd_prevp = pd->pd_prevp;
	}
	json_decref(pd->pd_reqid);
	json_decref(pd->pd_pres);
	client_sub_unwait(pd);
	if (pd->pd_msg != NULL)
		ipc_msg_free(pd->pd_msg);
	free(pd->pd_channel);
	free(pd->pd_sincearg);
	free(pd);
}

/* c's subscribe to ch whose presence gw-presence is reading, or NULL. */
struct pend *
client_sub_waiting(struct conn *c, struct chan *ch)
{
	struct pend	*pd;

	for (pd = c->c_pend; pd != NULL; pd = pd->pd_next)
		if (pd->pd_kind == PD_SUBPRES && pd->pd_chan == ch &&
		    pd->pd_wait != NULL && pd->pd_wait->sw_stash != NULL)
			return pd;
	return NULL;
}

/* c's oldest request (its list is newest first), or NULL. */
static struct pend *
pend_oldest(struct conn *c)
{
	struct pend	*pd = c->c_pend;

	while (pd != NULL && pd->pd_next != NULL)
		pd = pd->pd_next;
	return pd;
}

/* The request of c made after pd, or NULL: back along pd_prevp. */
static struct pend *
pend_newer(struct conn *c, struct pend *pd)
{
	if (pd->pd_prevp == &c->c_pend)
		return NULL;
	return (struct pend *)(void *)((char *)pd->pd_prevp -
	    offsetof(struct pend, pd_next));
}

/* c is being freed: forget its requests, whose answers will be dropped. */
void
client_forget(struct conn *c)
{
	struct pend	*pd;

	while ((pd = c->c_pend) != NULL) {
		if ((c->c_pend = pd->pd_next) != NULL)
			c->c_pend->pd_prevp = &c->c_pend;
		pd->pd_prevp = NULL;	/* unlinked */
		link_forget(pd);
		pend_free(pd);
	}
}

/*
 * gw-presence answered pd with answer (a JSON object that the caller
 * keeps), or failed with code and msg.  A presence query is answered to
 * the client; a subscribe goes on to the bridge (with this process's view
 * of the presence if gw-presence failed).  pd is consumed.
 */
void
client_presence_answer(struct pend *pd, json_t *answer, const char *code,
    const char *msg)
{
	struct conn	*c = pd->pd_conn;
	json_t		*o;

	if (pd->pd_api) {
		api_presence(pd, answer, code, msg);
		return;
	}
	if (pd->pd_kind == PD_SUBPRES) {
		pd->pd_pres = answer != NULL ? json_incref(answer) : NULL;
		client_sub_presence(pd, answer != NULL);
		return;
	}
	if (pd->pd_kind == PD_SESSION) {
		sess_loaded(pd, 0, "", 0);
		return;
	}
	if (answer == NULL) {
		client_fail(pd, code, msg);
		return;
	}
	o = json_pack("{s:s, s:O?, s:s}", "type", "presence", "id",
	    pd->pd_reqid, "channel", pd->pd_channel);
	json_object_update(o, answer);
	(void)client_send_json(c, o);
	json_decref(o);
	pend_free(pd);
}

/* A presence request on c's subscription i. */
static void
client_presence(struct conn *c, struct req *rq, int i)
{
	struct ipc_msg	*m;
	struct pend	*pd;
	json_t		*o, *p;

	if (plink_up()) {
		pd = pend_new(c, PD_PRESENCE, rq->rq_id);
		pd->pd_channel = xstrdup(rq->rq_channel);
		m = ipc_create(GW_MSG_PRESENCE_QUERY, 0);
		ipc_add_cstr(m, rq->rq_channel);
		ipc_add_cstr(m, "");	/* no sync mark */
		if (link_request(m, pd) == -1)
			client_fail(pd, "unavailable",
			    "the node's presence service is not reachable");
		return;
	}
	if (plink_ever()) {
		client_error(c, rq->rq_id, "unavailable",
		    "the node's presence service is not reachable");
		return;
	}
	/* No gw-presence on this node: this process's own view. */
	p = chan_presence(c->c_subs[i].s_chan);
	o = json_pack("{s:s, s:O?, s:s}", "type", "presence", "id",
	    rq->rq_id, "channel", rq->rq_channel);
	json_object_update(o, p);
	json_decref(p);
	(void)client_send_json(c, o);
	json_decref(o);
}

/* A typing request on c's subscription i. */
static void
client_typing(struct conn *c, struct req *rq, int i)
{
	struct csub	*s = &c->c_subs[i];

	if (!plink_up()) {
		client_error(c, rq->rq_id, "unavailable",
		    "typing indicators need the node's presence service");
		return;
	}
	if (rq->rq_stop) {
		if (s->s_typing)
			pres_typing(s->s_chan, c, GW_TYPING_STOP);
		s->s_typing = 0;
		return;
	}
	if (!client_rate_ok(c)) {
		client_error(c, rq->rq_id, "rate_limited",
		    "too many requests; slow down");
		return;
	}
	s->s_typing = 1;
	pres_typing(s->s_chan, c, GW_TYPING_START);
}

/*
 * Drop c's subscription i and the requests that wait on it.  With tell
 * (an unsubscribe, a failed subscribe), each of them is answered first,
 * in the order they were made: a subscribe not answered yet, and the
 * publishes that waited for it, get not_subscribed.
 */
static void
client_leave(struct conn *c, uint32_t i, int tell)
{
	struct chan	*ch = c->c_subs[i].s_chan;
	struct pend	*pd, *newer;

	for (pd = pend_oldest(c); pd != NULL; pd = newer) {
		newer = pend_newer(c, pd);
		if (pd->pd_chan != ch || (pd->pd_kind != PD_SUBSCRIBE &&
		    pd->pd_kind != PD_SUBPRES && pd->pd_kind != PD_RESWAIT &&
		    pd->pd_msg == NULL))
			continue;
		/* A resume's subscribe was nobody's request: no answer. */
		if (tell && !(pd->pd_resume && pd->pd_msg == NULL))
			client_error(c, pd->pd_reqid, "not_subscribed",
			    pd->pd_msg != NULL ? "the subscription ended "
			    "before its subscribe was answered; not "
			    "published" : "unsubscribed before the subscribe "
			    "was answered");
		if (pd->pd_msg == NULL)
			link_forget(pd);
		pend_free(pd);
	}
	(void)chan_leave(c, i);
	sess_changed(c);
}

static void
client_unsubscribe(struct conn *c, struct req *rq, int i)
{
	json_t	*o;

	client_leave(c, i, 1);
	o = json_pack("{s:s, s:O?, s:s}", "type", "unsubscribed", "id",
	    rq->rq_id, "channel", rq->rq_channel);
	(void)client_send_json(c, o);
	json_decref(o);
}

/* c is closing: leave every channel. */
void
client_leave_all(struct conn *c)
{
	while (c->c_nsubs > 0)
		client_leave(c, c->c_nsubs - 1, 0);
}

/* Take one publish token; refill at publish_rate up to publish_burst. */
static int
client_rate_ok(struct conn *c)
{
	ev_tstamp	now = ev_now(gl->l_loop);
	double		t;

	t = c->c_tokens + (now - c->c_tlast) * gl->l_conf->lc_pubrate;
	if (t > gl->l_conf->lc_pubburst)
		t = gl->l_conf->lc_pubburst;
	c->c_tlast = now;
	if (t < 1) {
		c->c_tokens = t;
		gst.st_rate_limited++;
		return 0;
	}
	c->c_tokens = t - 1;
	return 1;
}

static void
client_publish(struct conn *c, struct req *rq, uint32_t i)
{
	struct timespec	 ts;
	struct ipc_msg	*m;
	struct pend	*pd;
	char		 buf[PROTO_DUMPBUF], *data;
	size_t		 n;
	uint64_t	 ms;

	if (!client_rate_ok(c)) {
		client_error(c, rq->rq_id, "rate_limited",
		    "too many publishes; slow down");
		return;
	}
	if (client_waits(c, i) && client_nwaiting(c) >= LISTEN_MAXWAIT) {
		client_error(c, rq->rq_id, "rate_limited", "too many "
		    "publishes waiting for their subscribe's answer");
		return;
	}
	if ((data = proto_dump(rq->rq_data, buf, sizeof(buf), &n)) == NULL)
		fatalx("publish: json out of memory");
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	/* Every subscriber must be able to take the message frame. */
	if (proto_message_len(strlen(rq->rq_channel), n, c->c_id->id_user,
	    ms) > gl->l_conf->lc_maxmsg) {
		if (data != buf)
			free(data);
		client_error(c, rq->rq_id, "too_large",
		    "message over max_message");
		return;
	}
	m = ipc_create(GW_MSG_BRIDGE_PUBLISH, 0);
	ipc_add_cstr(m, rq->rq_channel);
	ipc_add_str(m, data, n);
	ipc_add_cstr(m, c->c_id->id_user);
	ipc_add_u64(m, ms);
	if (data != buf)
		free(data);
	pd = pend_new(c, PD_PUBLISH, rq->rq_id);
	if (client_waits(c, i) && !link_up()) {
		/* Its subscribe waits for the store (client_sub_wait()). */
		ipc_msg_free(m);
		client_fail(pd, "unavailable",
		    "the node cannot reach its message store; not published");
		return;
	}
	if (client_waits(c, i)) {
		/* After its subscribe's answer, as it came after it. */
		pd->pd_chan = c->c_subs[i].s_chan;
		pd->pd_msg = m;
		return;
	}
	if (link_request(m, pd) == -1)
		client_fail(pd, "unavailable",
		    "the node cannot reach its message store; not published");
}

/*
 * Would a publish on c's subscription i go before its subscribe?  The
 * subscribe is not answered yet: its stream begins at the latest offset
 * the bridge reads then, and a publish sent meanwhile could come before
 * it and never reach its own publisher.  Such publishes wait for the
 * answer (client_sub_answered()); at most LISTEN_MAXWAIT a connection.
 * Return value: 1 if a publish must wait, 0 if it may go.
 */
static int
client_waits(struct conn *c, uint32_t i)
{
	return c->c_subs[i].s_pending && chan_floor(&c->c_subs[i]) == NULL;
}

/* How many of c's publishes wait for a subscribe's answer. */
static size_t
client_nwaiting(struct conn *c)
{
	struct pend	*pd;
	size_t		 n = 0;

	for (pd = c->c_pend; pd != NULL; pd = pd->pd_next)
		n += pd->pd_msg != NULL;
	return n;
}

/*
 * c's subscription i was answered: send the publishes that waited for
 * it, oldest first.
 */
void
client_sub_answered(struct conn *c, uint32_t i)
{
	struct chan	*ch = c->c_subs[i].s_chan;
	struct pend	*pd, *newer;
	struct ipc_msg	*m;

	for (pd = pend_oldest(c); pd != NULL; pd = newer) {
		newer = pend_newer(c, pd);
		if (pd->pd_msg == NULL || pd->pd_chan != ch)
			continue;
		m = pd->pd_msg;
		pd->pd_msg = NULL;
		pd->pd_chan = NULL;
		if (link_request(m, pd) == -1)
			client_fail(pd, "unavailable", "the node cannot "
			    "reach its message store; not published");
	}
}

/*
 * May c read history now?  NULL, or why not: it has LISTEN_HIST_CONN
 * reads awaited already, or this process LISTEN_HIST_PROC (their
 * answers, up to 4 MiB each, pile up in gw-bridge's queue for this
 * worker, which cuts the answers that come past its room, the other
 * clients' replays among them: one client must not take it all).
 */
const char *
client_hist_busy(struct conn *c)
{
	struct pend	*pd;
	int		 n = 0;

	for (pd = c->c_pend; pd != NULL; pd = pd->pd_next)
		if (pd->pd_kind == PD_HISTORY && ++n >= LISTEN_HIST_CONN)
			return "too many history reads awaited on this "
			    "connection; wait for their answers";
	if (gl->l_nhist >= LISTEN_HIST_PROC)
		return "the node is reading much history; try again shortly";
	return NULL;
}

static void
client_history(struct conn *c, struct req *rq)
{
	struct ipc_msg	*m;
	struct pend	*pd;
	const char	*busy;

	if ((busy = client_hist_busy(c)) != NULL) {
		client_error(c, rq->rq_id, "rate_limited", busy);
		return;
	}
	m = ipc_create(GW_MSG_BRIDGE_HISTORY, 0);
	ipc_add_cstr(m, rq->rq_channel);
	ipc_add_cstr(m, rq->rq_since);
	ipc_add_u32(m, rq->rq_limit > 0 ? (uint32_t)rq->rq_limit :
	    HISTORY_DEFAULT);
	pd = pend_new(c, PD_HISTORY, rq->rq_id);
	pd->pd_channel = xstrdup(rq->rq_channel);
	if (link_request(m, pd) == -1)
		client_fail(pd, "unavailable",
		    "the node cannot reach its message store");
}

/*
 * A request failed (the bridge said so, or is gone): tell whoever asked,
 * and free pd.
 */
void
client_fail(struct pend *pd, const char *code, const char *msg)
{
	struct conn	*c = pd->pd_conn;
	int		 i;

	if (pd->pd_api) {
		api_fail(pd, code, msg);
		return;
	}
	if (pd->pd_kind == PD_RESTORE) {
		/* Could not catch up: the clients must know. */
		struct chan *ch = pd->pd_chan;

		pend_free(pd);
		client_gap(ch->ch_name, strlen(ch->ch_name), ch->ch_last,
		    strlen(ch->ch_last));
		chan_unrestore(ch);
		return;
	}
	if (pd->pd_kind == PD_SUBSCRIBE && pd->pd_resume &&
	    strcmp(code, "unavailable") == 0 &&
	    client_find(c, pd->pd_chan->ch_name) != -1) {
		/* Asked again when Redis is reachable: see client_sub_wait(). */
		client_sub_wait(pd);
		return;
	}
	if (pd->pd_kind == PD_SUBSCRIBE && pd->pd_new &&
	    (i = client_find(c, pd->pd_chan->ch_name)) != -1) {
		/* Not subscribed after all. */
		json_t *id = json_incref(pd->pd_reqid);

		pend_free(pd);
		pd = NULL;
		client_error(c, id, code, msg);
		json_decref(id);
		client_leave(c, i, 1);	/* the publishes that waited */
		return;
	}
	client_error(c, pd->pd_reqid, code, msg);
	pend_free(pd);
}

/*
 * Parse a GW_MSG_BRIDGE_HISTORY_REPLY (rd: u32 complete, u32 n, n
 * (offset, message) pairs) into a JSON array of history entries, at most
 * LISTEN_MAXHISTORY bytes of them; *complete is 0 if the bridge says so
 * or some were left out here (the client pages on with since).  Return
 * value: the array, or NULL if the reply is malformed.
 */
json_t *
client_history_read(struct ipc_rd *rd, int *complete)
{
	uint32_t	 all, n;
	json_t		*a;
	int		 cut;

	if (ipc_get_u32(rd, &all) == -1 || ipc_get_u32(rd, &n) == -1 ||
	    (a = client_history_entries(rd, n, &cut)) == NULL)
		return NULL;
	*complete = all != 0 && !cut;
	return a;
}

/* The n entries of a history reply; *cut if some were left out. */
static json_t *
client_history_entries(struct ipc_rd *rd, uint32_t n, int *cut)
{
	const char	*off, *msg;
	size_t		 offlen, msglen, bytes = 0;
	json_t		*a, *o;
	uint32_t	 i;

	a = json_array();
	*cut = 0;
	for (i = 0; i < n; i++) {
		if (ipc_get_str(rd, &off, &offlen) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1) {
			json_decref(a);
			return NULL;
		}
		if (*cut || (bytes += msglen + offlen) > LISTEN_MAXHISTORY) {
			*cut = 1;
			continue;
		}
		if ((o = json_loadb(msg, msglen, 0, NULL)) == NULL)
			continue;	/* not ours: skip, never crash */
		json_array_append_new(a, json_pack("{s:s%, s:O?, s:O?, s:O?}",
		    "offset", off, offlen, "data", json_object_get(o, "data"),
		    "from", json_object_get(o, "from"), "ts",
		    json_object_get(o, "ts")));
		json_decref(o);
	}
	return a;
}

/*
 * The bridge answered pd with a message of the given type, whose payload
 * is in rd.  Return value: 0, or -1 if the payload is malformed.
 */
int
client_answer(struct pend *pd, uint32_t type, struct ipc_rd *rd)
{
	struct conn	*c = pd->pd_conn;
	const char	*off;
	size_t		 offlen;
	json_t		*o, *a;
	int		 complete;

	if (pd->pd_api)
		return api_answer(pd, type, rd);
	switch (type) {
	case GW_MSG_BRIDGE_SUBSCRIBED:
		if (pd->pd_kind != PD_SUBSCRIBE && pd->pd_kind != PD_RESTORE)
			return -1;
		return client_subscribed(pd, rd);
	case GW_MSG_BRIDGE_PUBLISHED:
		if (pd->pd_kind != PD_PUBLISH ||
		    ipc_get_str(rd, &off, &offlen) == -1 || ipc_end(rd) == -1)
			return -1;
		gst.st_published++;
		o = json_pack("{s:s, s:O?, s:s%}", "type", "published", "id",
		    pd->pd_reqid, "offset", off, offlen);
		(void)client_send_json(c, o);
		json_decref(o);
		pend_free(pd);
		return 0;
	case GW_MSG_BRIDGE_HISTORY_REPLY:
		if (pd->pd_kind != PD_HISTORY ||
		    (a = client_history_read(rd, &complete)) == NULL)
			return -1;
		o = json_pack("{s:s, s:O?, s:s, s:o, s:b}", "type", "history",
		    "id", pd->pd_reqid, "channel", pd->pd_channel, "messages",
		    a, "complete", complete != 0);
		(void)client_send_json_limit(c, o, gl->l_conf->lc_maxout +
		    LISTEN_MAXREPLY);
		json_decref(o);
		pend_free(pd);
		return 0;
	}
	return -1;
}
