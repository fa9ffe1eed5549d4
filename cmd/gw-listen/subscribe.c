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

#include "ipc.h"
#include "listen.h"
#include "proto.h"
#include "xmalloc.h"

static void	client_subscribe_as(struct conn *, struct req *, int);
static void	client_sub_mark(const struct pend *, struct conn *, uint32_t,
		    uint32_t, const char *);

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
	struct ipc_msg	*m;
	struct pend	*pd;
	int		 i, joined = 0, changed = 1;

	if (!ident_may_subscribe(c->c_id, rq->rq_channel)) {
		client_error(c, rq->rq_id, "forbidden",
		    "not allowed on this channel");
		return;
	}
	if (!link_up()) {
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
	if (rq->rq_presence && plink_up()) {
		/*
		 * The presence first (it counts c: the join went before on
		 * the same link), then the bridge.
		 */
		pd->pd_kind = PD_SUBPRES;
		m = ipc_create(GW_MSG_PRESENCE_QUERY, 0);
		ipc_add_cstr(m, rq->rq_channel);
		if (link_request(m, pd) == 0)
			return;
		pd->pd_kind = PD_SUBSCRIBE;
	}
	client_sub_send(pd, rq->rq_since);
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
	o = json_pack("{s:s, s:O?, s:s, s:s%}", "type", "subscribed", "id",
	    pd->pd_reqid, "channel", pd->pd_chan->ch_name, "offset", latest,
	    latestlen);
	if (pd->pd_presence)
		json_object_set_new(o, "presence", pd->pd_pres != NULL ?
		    json_incref(pd->pd_pres) : chan_presence(pd->pd_chan));
	if (pd->pd_since || pd->pd_resume)
		json_object_set_new(o, "recovered",
		    json_boolean(pd->pd_since && rec == GW_REC_TRUE));
	if (pd->pd_resume)
		json_object_del(o, "id");	/* no request asked */
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
	client_pend_free(pd);
	(void)client_send_json(c, o);
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
