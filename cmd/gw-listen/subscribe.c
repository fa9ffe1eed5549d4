/*
 * subscribe.c -- a connection's subscribe requests (a client's, and a
 * resume's restore of its session's channels), sent to gw-bridge, and
 * the bridge's answers: the subscribed frame, the replay of what the
 * client asked for with since, and the live stream let through without
 * a message lost or given twice (chan.c holds and releases it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

static void	client_subscribe_as(struct conn *, struct req *, int);
static int	client_sub_restoring(struct conn *, const char *);
static void	client_sub_mark(const struct pend *, struct conn *, uint32_t,
		    uint32_t, const char *);
static int	client_sub_ask_presence(struct pend *, const struct ipc_rd *);
static void	client_sub_sync_late(struct ev_loop *, ev_timer *, int);
static void	client_sub_finish(struct pend *);
static json_t	*client_frame_json(const struct obuf *);
static void	client_sub_events(struct conn *, json_t *, struct pend *);

void
client_subscribe(struct conn *c, struct req *rq)
{
	client_subscribe_as(c, rq, 0);
}

/*
 * Subscribe c to channel name again, as a resume does: the answer is a
 * subscribed frame without an id, with recovered.  Return value: 0.
 */
int
client_resubscribe(struct conn *c, const char *name, int presence,
    const char *since)
{
	struct req	rq;

	memset(&rq, 0, sizeof(rq));
	rq.rq_type = REQ_SUBSCRIBE;
	rq.rq_channel = name;
	rq.rq_presence = presence;
	rq.rq_since = since;
	rq.rq_limit = -1;
	if (!parse_channel(name, strlen(name))) {
		client_error(c, NULL, "bad_channel", "bad channel name");
		return 0;
	}
	client_subscribe_as(c, &rq, 1);
	return 0;
}

static void
client_subscribe_as(struct conn *c, struct req *rq, int resume)
{
	struct pend	*pd;
	int		 i, joined = 0, changed = 1;

	if (!ident_may_subscribe(c->c_id, rq->rq_channel)) {
		client_error(c, rq->rq_id, "forbidden",
		    "not allowed on this channel");
		return;
	}
	/*
	 * A resume's subscribe waits for the store instead (below): the
	 * welcome listed the channel, and the session keeps it.
	 */
	if (!link_up() && !resume &&
	    !client_sub_restoring(c, rq->rq_channel)) {
		client_error(c, rq->rq_id, "unavailable",
		    "the node cannot reach its message store");
		return;
	}
	if ((i = client_find(c, rq->rq_channel)) != -1) {
		/* Subscribed already: live messages keep flowing. */
		changed = !c->c_subs[i].s_presence != !rq->rq_presence;
		chan_set_presence(c, i, rq->rq_presence);
	} else {
		if (c->c_nsubs >= gl->l_conf->lc_maxsubs) {
			client_error(c, rq->rq_id, "limit_exceeded",
			    "too many subscriptions on this connection");
			return;
		}
		i = chan_join(c, rq->rq_channel, rq->rq_presence, &joined);
		/* Live messages are held until the bridge answers. */
		c->c_subs[i].s_pending = 1;
	}
	pd = client_pend(c, PD_SUBSCRIBE, rq->rq_id);
	/* Never answered yet (an answered one waits with a floor). */
	pd->pd_new = c->c_subs[i].s_pending &&
	    chan_floor(&c->c_subs[i]) == NULL;
	pd->pd_chan = c->c_subs[i].s_chan;
	pd->pd_since = rq->rq_since != NULL;
	pd->pd_presence = rq->rq_presence;
	pd->pd_resume = resume;
	if (rq->rq_since != NULL)
		pd->pd_sincearg = xstrdup(rq->rq_since);
	if (joined)
		pres_joined(pd->pd_chan, c);
	/*
	 * The session's list changed (a channel, a presence flag), unless
	 * this is a resume's: its list is the one just loaded (see
	 * sess_loaded()).
	 */
	if (changed && !resume)
		sess_changed(c);
	/* The bridge first; with presence, gw-presence then (see below). */
	if (link_up())
		client_sub_send(pd, rq->rq_since);
	else
		client_sub_wait(pd);
}

/*
 * Does a resume's subscribe to channel name wait for the store on c?  A
 * subscribe to it meanwhile waits too (it is the connection's channel),
 * rather than being told unavailable.
 */
static int
client_sub_restoring(struct conn *c, const char *name)
{
	struct pend	*pd;

	for (pd = c->c_pend; pd != NULL; pd = pd->pd_next)
		if (pd->pd_kind == PD_RESWAIT &&
		    strcmp(pd->pd_chan->ch_name, name) == 0)
			return 1;
	return 0;
}

/*
 * pd, a resume's subscribe, cannot be done now (the node cannot reach
 * Redis, or lost its bridge on the way): it waits, its subscription
 * pending, until the bridge says the node is healthy (its beat, every
 * second: client_sub_resend_all()).  Sent again, it replays from the session's
 * offset: nothing is lost, and the client gets its subscribed frame
 * then.
 */
void
client_sub_wait(struct pend *pd)
{
	pd->pd_kind = PD_RESWAIT;
	gl->l_nreswait++;
}

/* The node can reach Redis again: send the subscribes that waited. */
void
client_sub_resend_all(void)
{
	struct tlist	*tl[] = { &gl->l_live, &gl->l_pinged };
	struct conn	*c;
	struct pend	*pd, *next;
	int		 i;

	for (i = 0; i < 2 && gl->l_nreswait > 0; i++)
		for (c = tl[i]->tl_head; c != NULL && gl->l_nreswait > 0;
		    c = c->c_tnext)
			for (pd = c->c_pend; pd != NULL; pd = next) {
				next = pd->pd_next;
				if (pd->pd_kind != PD_RESWAIT)
					continue;
				gl->l_nreswait--;
				client_sub_send(pd, pd->pd_sincearg);
			}
}

/* Send subscribe pd to the bridge, with since (or NULL). */
void
client_sub_send(struct pend *pd, const char *since)
{
	struct ipc_msg	*m;

	pd->pd_kind = PD_SUBSCRIBE;
	m = ipc_create(GW_MSG_BRIDGE_SUB, 0);
	ipc_add_cstr(m, pd->pd_chan->ch_name);
	ipc_add_cstr(m, since);
	/* The events, as the channel's presence subscribers are now. */
	ipc_add_u32(m, pd->pd_chan->ch_npres > 0 ? GW_SUB_EVENTS : 0);
	if (link_request(m, pd) == -1)
		client_fail(pd, "unavailable",
		    "the node cannot reach its message store");
}

/*
 * The bridge answered subscribe pd, which asked for presence: keep the
 * answer (rd, unread) and ask gw-presence for the channel's presence;
 * client_sub_presence() goes on when it answers.  In that order, the
 * presence is read after the bridge began to bring the channel's events
 * here: what changes after it comes as events, which are held for pd
 * meanwhile (pres_event()).  The other way round, a user who joined
 * between the presence and the bridge's subscription was never seen.
 * The join went to gw-presence before, on the same link: c is counted.
 * Return value: 1 if asked, 0 if gw-presence is not there (the caller
 * answers with this process's view).
 */
static int
client_sub_ask_presence(struct pend *pd, const struct ipc_rd *rd)
{
	struct ipc_msg	*m;
	struct subwait	*sw;
	char		 sync[40];

	if (!plink_up())
		return 0;
	if (gl->l_synctok == 0)
		auth_random(&gl->l_synctok, sizeof(gl->l_synctok));
	if (gl->l_syncpends == NULL)
		gl->l_syncpends = htab_new();
	pd->pd_kind = PD_SUBPRES;
	snprintf(sync, sizeof(sync), "%016llx:%llu",
	    (unsigned long long)gl->l_synctok,
	    (unsigned long long)(gl->l_syncseq + 1));
	m = ipc_create(GW_MSG_PRESENCE_QUERY, 0);
	ipc_add_cstr(m, pd->pd_chan->ch_name);
	ipc_add_cstr(m, sync);
	if (link_request(m, pd) == -1) {
		pd->pd_kind = PD_SUBSCRIBE;
		return 0;
	}
	sw = pd->pd_wait = xcalloc(1, sizeof(*sw));
	sw->sw_seq = ++gl->l_syncseq;
	htab_put(gl->l_syncpends, (char *)&sw->sw_seq, sizeof(sw->sw_seq),
	    pd);
	sw->sw_stash = xmalloc(rd->r_left > 0 ? rd->r_left : 1);
	memcpy(sw->sw_stash, rd->r_p, rd->r_left);
	sw->sw_stashlen = rd->r_left;
	ev_timer_init(&sw->sw_timer, client_sub_sync_late, LISTEN_SYNC_WAIT,
	    0.);
	sw->sw_timer.data = pd;
	return 1;
}

/*
 * gw-presence answered subscribe pd (pd_pres; ok 0 if it failed): answer
 * the client once the query's sync mark has come too, so that every
 * event published before the presence was read is held (and weighed
 * against it) rather than sent after the answer; 2 s at most.
 */
void
client_sub_presence(struct pend *pd, int ok)
{
	struct subwait	*sw = pd->pd_wait;

	sw->sw_presdone = 1;
	if (ok && !sw->sw_synced) {
		ev_timer_start(gl->l_loop, &sw->sw_timer);
		return;
	}
	client_sub_finish(pd);
}

static void
client_sub_sync_late(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pend	*pd = w->data;

	(void)loop;
	(void)revents;
	log_verbose("channel %s: no sync mark %llu in %.0f s: answered "
	    "without it", pd->pd_chan->ch_name,
	    (unsigned long long)pd->pd_wait->sw_seq, LISTEN_SYNC_WAIT);
	client_sub_finish(pd);
}

/* Answer subscribe pd with the bridge's answer kept and the presence. */
static void
client_sub_finish(struct pend *pd)
{
	struct subwait	*sw = pd->pd_wait;
	uint8_t		*stash = sw->sw_stash;
	struct ipc_rd	 rd = { stash, sw->sw_stashlen, 0 };

	/* Ours: client_subscribed() frees pd before it reads the replay. */
	sw->sw_stash = NULL;
	ev_timer_stop(gl->l_loop, &sw->sw_timer);
	htab_del(gl->l_syncpends, (char *)&sw->sw_seq, sizeof(sw->sw_seq));
	sw->sw_seq = 0;
	if (client_subscribed(pd, &rd) == -1)
		log_warnx("gw-bridge: a malformed subscribe answer");
	free(stash);
}

/* Free what waits with pd, if anything (pd answered, or freed). */
void
client_sub_unwait(struct pend *pd)
{
	struct subwait	*sw;

	if ((sw = pd->pd_wait) == NULL)
		return;
	pd->pd_wait = NULL;
	ev_timer_stop(gl->l_loop, &sw->sw_timer);
	if (sw->sw_seq != 0)
		htab_del(gl->l_syncpends, (char *)&sw->sw_seq,
		    sizeof(sw->sw_seq));
	while (sw->sw_nhev > 0)
		client_hev_unref(sw->sw_hev[--sw->sw_nhev]);
	free(sw->sw_hev);
	free(sw->sw_stash);
	free(sw);
}

/*
 * A sync mark came on a channel (the frame of an event whose actor is
 * GW_ACTOR_SYNC): if it is one of this process's, its subscribe has
 * every event published before its presence was read.
 */
void
client_sub_mark_came(const char *frame, size_t len)
{
	char			 buf[40], *end;
	unsigned long long	 tok, seq;
	struct pend		*pd;
	uint64_t		 key;

	if (len < 18 || len >= sizeof(buf) || gl->l_syncpends == NULL)
		return;
	memcpy(buf, frame, len);
	buf[len] = '\0';
	tok = strtoull(buf, &end, 16);
	if (end != buf + 16 || *end != ':' || tok != gl->l_synctok)
		return;		/* another process's */
	seq = strtoull(end + 1, &end, 10);
	key = seq;
	if (*end != '\0' || (pd = htab_get(gl->l_syncpends, (char *)&key,
	    sizeof(key))) == NULL)
		return;		/* answered already (late) */
	pd->pd_wait->sw_synced = 1;
	if (pd->pd_wait->sw_presdone)
		client_sub_finish(pd);
}

/*
 * Hold an event (hv) of subscribe pd's channel until its answer; at most
 * LISTEN_MAXHEV, the rest are dropped (the presence answer is then
 * behind).
 */
void
client_sub_hold(struct pend *pd, struct hev *hv)
{
	struct subwait	*sw = pd->pd_wait;

	if (sw->sw_nhev >= LISTEN_MAXHEV) {
		if (!sw->sw_hevlost)
			log_warnx("conn %016llx: over %d events while its "
			    "presence was read; the rest dropped",
			    (unsigned long long)pd->pd_conn->c_connid,
			    LISTEN_MAXHEV);
		sw->sw_hevlost = 1;
		return;
	}
	if ((sw->sw_nhev & (sw->sw_nhev - 1)) == 0)
		sw->sw_hev = xrealloc(sw->sw_hev, (sw->sw_nhev == 0 ? 1 :
		    sw->sw_nhev * 2) * sizeof(*sw->sw_hev));
	hv->hv_ref++;
	sw->sw_hev[sw->sw_nhev++] = hv;
}

/*
 * The record of event frame ob for the subscribes that hold it: its
 * kind and user, read once.  One reference, the caller's.
 */
struct hev *
client_hev_new(struct obuf *ob)
{
	struct hev	*hv = xcalloc(1, sizeof(*hv));
	json_t		*ev;
	const char	*type, *id;

	hv->hv_ref = 1;
	hv->hv_buf = ob;
	ob->ob_ref++;
	hv->hv_kind = HEV_OTHER;
	ev = client_frame_json(ob);
	type = json_string_value(json_object_get(ev, "type"));
	id = json_string_value(json_object_get(ev, "userId"));
	if (type != NULL && id != NULL) {
		if (strcmp(type, "presence.join") == 0)
			hv->hv_kind = HEV_JOIN;
		else if (strcmp(type, "presence.leave") == 0)
			hv->hv_kind = HEV_LEAVE;
		if (hv->hv_kind != HEV_OTHER)
			hv->hv_user = xstrdup(id);
	}
	json_decref(ev);
	return hv;
}

/* Drop a reference to hv (NULL: none). */
void
client_hev_unref(struct hev *hv)
{
	if (hv == NULL || --hv->hv_ref > 0)
		return;
	obuf_unref(hv->hv_buf);
	free(hv->hv_user);
	free(hv);
}

/* The JSON of text frame ob (a server frame: no mask), or NULL. */
static json_t *
client_frame_json(const struct obuf *ob)
{
	size_t	hl = 2;

	if ((ob->ob_data[1] & 0x7f) == 126)
		hl = 4;
	else if ((ob->ob_data[1] & 0x7f) == 127)
		hl = 10;
	if (ob->ob_len < hl)
		return NULL;
	return json_loadb((const char *)ob->ob_data + hl, ob->ob_len - hl, 0,
	    NULL);
}

/*
 * Send c the events held for pd, as they apply to pres, the presence that
 * the subscribed answer gave: some came before gw-presence read it (it
 * counts them already), some after.  Played in order on the answer's
 * user set, a join of a user in it or a leave of one not in it changes
 * nothing and is dropped; the others are sent, and the client's view
 * ends as the channel is.  Typing events are sent as they are.
 */
static void
client_sub_events(struct conn *c, json_t *pres, struct pend *pd)
{
	struct htab	*set;
	json_t		*users, *u;
	const char	*id;
	size_t		 k;
	uint32_t	 j;
	int		 in;

	set = htab_new();
	users = json_object_get(pres, "users");
	json_array_foreach(users, k, u)
		if ((id = json_string_value(json_object_get(u, "userId"))) !=
		    NULL)
			htab_put(set, id, strlen(id), set);
	for (j = 0; j < pd->pd_wait->sw_nhev; j++) {
		struct hev *hv = pd->pd_wait->sw_hev[j];

		if (hv->hv_kind != HEV_OTHER) {
			id = hv->hv_user;
			in = htab_get(set, id, strlen(id)) != NULL;
			if ((hv->hv_kind == HEV_JOIN) == in)
				continue;	/* no change */
			if (hv->hv_kind == HEV_JOIN)
				htab_put(set, id, strlen(id), set);
			else
				htab_del(set, id, strlen(id));
		}
		(void)conn_send(c, hv->hv_buf);
	}
	htab_free(set);
}

/*
 * Subscription i of c was answered for pd (rec, latest last): where its
 * stream now begins (s_last: written up to the since that was
 * recovered, else latest), and whether a gap is left to fill.
 */
static void
client_sub_mark(const struct pend *pd, struct conn *c, uint32_t i,
    uint32_t rec, const char *last)
{
	struct csub	*sb = &c->c_subs[i];
	const char	*mark = pd->pd_since && rec == GW_REC_TRUE &&
	    pd->pd_sincearg != NULL ? pd->pd_sincearg : last;

	if (strlen(mark) == LISTEN_OFFLEN &&
	    chan_after(mark, LISTEN_OFFLEN, sb->s_last))
		snprintf(sb->s_last, sizeof(sb->s_last), "%s", mark);
	if (pd->pd_since || pd->pd_resume)
		chan_gap_answer(c, i, !(pd->pd_since && rec == GW_REC_TRUE),
		    last);
}

/*
 * The subscribed frame answering pd: the channel's latest offset, its
 * presence if asked, whether the replay is complete, and for a restore
 * (no request asked) where it replayed from.  Owned by the caller.
 */
static json_t *
client_subscribed_frame(struct pend *pd, const char *latest,
    size_t latestlen, uint32_t rec)
{
	json_t	*o;

	o = json_pack("{s:s, s:O?, s:s, s:s%}", "type", "subscribed", "id",
	    pd->pd_reqid, "channel", pd->pd_chan->ch_name, "offset", latest,
	    latestlen);
	if (pd->pd_presence)
		json_object_set_new(o, "presence", pd->pd_pres != NULL ?
		    json_incref(pd->pd_pres) : chan_presence(pd->pd_chan));
	if (pd->pd_since || pd->pd_resume)
		json_object_set_new(o, "recovered",
		    json_boolean(pd->pd_since && rec == GW_REC_TRUE));
	if (pd->pd_resume) {
		json_object_del(o, "id");	/* no request asked */
		/*
		 * Where the restore replayed from: the offset last written
		 * to the old connection.  A client that got less (what was
		 * in flight when it broke) asks again from its own.
		 */
		if (pd->pd_sincearg != NULL)
			json_object_set_new(o, "since",
			    json_string(pd->pd_sincearg));
	}
	return o;
}

/*
 * The bridge's GW_MSG_BRIDGE_SUBSCRIBED for pd (a subscribe or a restore),
 * its payload in rd: the subscribed frame, the replay, and the live
 * stream let through.  Return value: 0, or -1 if the payload is
 * malformed.
 */
int
client_subscribed(struct pend *pd, struct ipc_rd *rd)
{
	struct conn	*c = pd->pd_conn;
	const char	*ch, *latest, *off, *msg;
	size_t		 chlen, latestlen, offlen, msglen;
	uint32_t	 rec, n, k;
	char		 last[LISTEN_OFFLEN + 1], hi[LISTEN_OFFLEN + 1];
	char		 gap[LISTEN_OFFLEN + 1];
	struct obuf	*ob;
	json_t		*o;
	int		 i, refill, first;
	struct ipc_rd	 rd0 = *rd;

	if (ipc_get_str(rd, &ch, &chlen) == -1 ||
	    ipc_get_str(rd, &latest, &latestlen) == -1 ||
	    ipc_get_u32(rd, &rec) == -1 || ipc_get_u32(rd, &n) == -1)
		return -1;
	snprintf(last, sizeof(last), "%.*s", (int)latestlen, latest);
	if (pd->pd_kind == PD_RESTORE) {
		chan_restored(pd, latest, latestlen, rec, rd, n);
		client_pend_free(pd);
		return 0;
	}
	if ((i = client_find(c, pd->pd_chan->ch_name)) == -1) {
		client_pend_free(pd);
		return 0;
	}
	if (pd->pd_presence && pd->pd_kind == PD_SUBSCRIBE &&
	    client_sub_ask_presence(pd, &rd0))
		return 0;
	o = client_subscribed_frame(pd, latest, latestlen, rec);
	/*
	 * A subscription already live whose stream began after a gap: what
	 * it was given since (up to hi) is not replayed again.  The replay
	 * up to latest then holds back the live stream's copies of it (a
	 * floor, chan_replayed()).
	 */
	first = pd->pd_new;
	refill = pd->pd_since && c->c_subs[i].s_gap != NULL;
	if (refill) {
		snprintf(gap, sizeof(gap), "%s", c->c_subs[i].s_gap);
		chan_given_upto(c, (uint32_t)i, hi);
		c->c_subs[i].s_pending = 1;
	}
	client_sub_mark(pd, c, (uint32_t)i, rec, last);
	(void)client_send_json(c, o);
	/* The events held while gw-presence answered, after the answer. */
	if (pd->pd_wait != NULL && pd->pd_wait->sw_nhev > 0)
		client_sub_events(c, json_object_get(o, "presence"), pd);
	client_pend_free(pd);
	json_decref(o);
	/* The replay, then what arrived live meanwhile and is newer. */
	for (k = 0; k < n; k++) {
		if (ipc_get_str(rd, &off, &offlen) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1)
			return -1;
		if (refill && chan_given(gap, off, offlen, hi))
			continue;
		ob = ws_frame(0x1, msg, msglen);
		obuf_mark(ob, c->c_subs[i].s_chan, off, offlen);
		(void)conn_send_sub(c, ob, i, gl->l_conf->lc_maxout +
		    LISTEN_MAXREPLY);
		obuf_unref(ob);
	}
	chan_set_base(c->c_subs[i].s_chan, last, strlen(last));
	chan_replayed(c, i, last);
	/* Publishes wait only on a subscription never answered before. */
	if (first)
		client_sub_answered(c, (uint32_t)i);
	return 0;
}
