/*
 * chan.c -- gw-listen's channels: which local connections are subscribed
 * to what, the fan-out of each message the bridge delivers, and the users
 * of each channel in this process (presence.c tells gw-presence).
 *
 * A channel keeps its members in an array and each member's subscription
 * remembers its index there (and the other way round), so that joining and
 * leaving are O(1) whatever the channel's size.  A message is framed once
 * and the same buffer is queued on every member.  The members that asked
 * for presence are also in a second array, kept the same way, so that a
 * presence event goes over them only (none, on most channels).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "xmalloc.h"

static json_t	*info_json(const char *);
static void	 chan_give(struct chan *, uint32_t, struct obuf *,
		    const char *, size_t);
static void	 chan_set_last(struct chan *, const char *, size_t);
static void	 chan_hold(struct chan *, const char *, size_t, const char *,
		    size_t);
static void	 chan_unhold(struct chan *);
static void	 chan_pres_add(struct chan *, struct conn *, uint32_t);
static void	 chan_pres_del(struct chan *, struct conn *, uint32_t, int);
static int	 chan_empty(const char *);

static json_t *
info_json(const char *info)
{
	json_t	*v;

	/* Always an object, so that clients can read info.name safely. */
	if (info == NULL || (v = json_loads(info, 0, NULL)) == NULL)
		return json_object();
	return v;
}

/* The channel called name, or NULL. */
struct chan *
chan_find(const char *name, size_t len)
{
	return htab_get(gl->l_chans, name, len);
}

/* Add c's subscription sidx (of ch) to ch's presence subscribers. */
static void
chan_pres_add(struct chan *ch, struct conn *c, uint32_t sidx)
{
	if (ch->ch_npres == ch->ch_pcap) {
		ch->ch_pcap = ch->ch_pcap ? ch->ch_pcap * 2 : 4;
		ch->ch_pres = xrealloc(ch->ch_pres,
		    ch->ch_pcap * sizeof(*ch->ch_pres));
	}
	ch->ch_pres[ch->ch_npres].m_conn = c;
	ch->ch_pres[ch->ch_npres].m_sidx = sidx;
	c->c_subs[sidx].s_pidx = ch->ch_npres++;
	c->c_subs[sidx].s_presence = 1;
}

/*
 * Take c's subscription sidx (of ch) off ch's presence subscribers; c is
 * leaving ch if leaving.  The last one gone, the bridge stops sending
 * ch's events here (GW_MSG_BRIDGE_NOEVENTS; GW_SUB_EVENTS on a subscribe
 * turns them on again), unless the channel goes too: its
 * GW_MSG_BRIDGE_UNSUB says it all.
 */
static void
chan_pres_del(struct chan *ch, struct conn *c, uint32_t sidx, int leaving)
{
	struct csub	*s = &c->c_subs[sidx];
	struct member	*m;
	struct ipc_msg	*msg;
	uint32_t	 last;

	/* Swap-remove, fixing the moved one's index. */
	last = --ch->ch_npres;
	if (s->s_pidx != last) {
		m = &ch->ch_pres[s->s_pidx];
		*m = ch->ch_pres[last];
		m->m_conn->c_subs[m->m_sidx].s_pidx = s->s_pidx;
	}
	s->s_presence = 0;
	if (ch->ch_npres == 0 && ch->ch_nmem > (leaving ? 1u : 0u)) {
		msg = ipc_create(GW_MSG_BRIDGE_NOEVENTS, 0);
		ipc_add_cstr(msg, ch->ch_name);
		link_send(msg);
	}
}

/*
 * Set or clear the presence flag of c's subscription i (a subscribe to a
 * channel c has already).
 */
void
chan_set_presence(struct conn *c, uint32_t i, int on)
{
	struct csub	*s = &c->c_subs[i];

	if (on && !s->s_presence)
		chan_pres_add(s->s_chan, c, i);
	else if (!on && s->s_presence)
		chan_pres_del(s->s_chan, c, i, 0);
}

/*
 * Make c a member of channel name (created if needed), with the presence
 * flag given.  Return value: the index of the new subscription in
 * c->c_subs.  *joined is set when c's user was not in the channel yet.
 */
int
chan_join(struct conn *c, const char *name, int presence, int *joined)
{
	struct chan	*ch;
	struct puser	*pu;
	struct csub	*s;
	size_t		 namelen = strlen(name);
	size_t		 ulen = strlen(c->c_id->id_user);

	if ((ch = chan_find(name, namelen)) == NULL) {
		ch = xcalloc(1, sizeof(*ch));
		ch->ch_name = xstrdup(name);
		ch->ch_users = htab_new();
		if (++gl->l_chserial == 0)
			gl->l_chserial = 1;
		ch->ch_serial = gl->l_chserial;
		htab_put(gl->l_chans, ch->ch_name, namelen, ch);
	}
	if (ch->ch_nmem == ch->ch_cap) {
		ch->ch_cap = ch->ch_cap ? ch->ch_cap * 2 : 4;
		ch->ch_mem = xrealloc(ch->ch_mem,
		    ch->ch_cap * sizeof(*ch->ch_mem));
	}
	c->c_subs = xrealloc(c->c_subs, (c->c_nsubs + 1) * sizeof(*c->c_subs));
	s = &c->c_subs[c->c_nsubs];
	memset(s, 0, sizeof(*s));
	s->s_chan = ch;
	s->s_midx = ch->ch_nmem;
	gl->l_nsubs++;
	ch->ch_mem[ch->ch_nmem].m_conn = c;
	ch->ch_mem[ch->ch_nmem].m_sidx = c->c_nsubs;
	ch->ch_nmem++;
	if (presence)
		chan_pres_add(ch, c, c->c_nsubs);
	*joined = 0;
	if ((pu = htab_get(ch->ch_users, c->c_id->id_user, ulen)) == NULL) {
		struct timespec ts;

		pu = xcalloc(1, sizeof(*pu));
		clock_gettime(CLOCK_REALTIME, &ts);
		pu->pu_since = (uint64_t)ts.tv_sec * 1000 +
		    ts.tv_nsec / 1000000;
		if (c->c_id->id_info != NULL)
			pu->pu_info = xstrdup(c->c_id->id_info);
		htab_put(ch->ch_users, c->c_id->id_user, ulen, pu);
		*joined = 1;
	}
	pu->pu_count++;
	return c->c_nsubs++;
}

static void
held_free(struct held *h)
{
	struct held	*next;

	for (; h != NULL; h = next) {
		next = h->hd_next;
		obuf_unref(h->hd_buf);
		free(h);
	}
}

/*
 * Drop c's subscription number i.  Return value: 1 if c's user left the
 * channel (the caller tells the others), and 2 if the channel is now empty
 * and was freed (the bridge must be told), else 0.
 */
int
chan_leave(struct conn *c, uint32_t i)
{
	struct csub	*s = &c->c_subs[i];
	struct chan	*ch = s->s_chan;
	struct member	*m;
	struct puser	*pu;
	struct ipc_msg	*msg;
	uint32_t	 last;
	size_t		 ulen = strlen(c->c_id->id_user);
	int		 rv = 0;

	if (s->s_typing)	/* leaving stops typing */
		pres_typing(ch, c, GW_TYPING_STOP);
	if (s->s_presence)
		chan_pres_del(ch, c, i, 1);
	held_free(s->s_held);
	s->s_held = NULL;
	s->s_nheld = 0;
	free(s->s_floor);
	s->s_floor = NULL;
	s->s_floorlast = 0;
	free(s->s_gap);
	s->s_gap = NULL;
	gl->l_nsubs--;
	/* Swap-remove from the channel, fixing the moved member's index. */
	last = --ch->ch_nmem;
	if (s->s_midx != last) {
		m = &ch->ch_mem[s->s_midx];
		*m = ch->ch_mem[last];
		m->m_conn->c_subs[m->m_sidx].s_midx = s->s_midx;
	}
	/* The same in c's own list. */
	last = --c->c_nsubs;
	if (i != last) {
		c->c_subs[i] = c->c_subs[last];
		s = &c->c_subs[i];
		s->s_chan->ch_mem[s->s_midx].m_sidx = i;
		if (s->s_presence)
			s->s_chan->ch_pres[s->s_pidx].m_sidx = i;
	}
	pu = htab_get(ch->ch_users, c->c_id->id_user, ulen);
	if (pu != NULL && --pu->pu_count == 0) {
		htab_del(ch->ch_users, c->c_id->id_user, ulen);
		free(pu->pu_info);
		free(pu);
		pres_left(ch, c);
		rv = 1;
	}
	if (ch->ch_nmem > 0)
		return rv;
	/* Nobody here wants the channel any more: tell the bridge. */
	msg = ipc_create(GW_MSG_BRIDGE_UNSUB, 0);
	ipc_add_cstr(msg, ch->ch_name);
	link_send(msg);
	if (ch->ch_restore != NULL) {
		link_forget(ch->ch_restore);
		free(ch->ch_restore);
	}
	held_free(ch->ch_held);
	htab_del(gl->l_chans, ch->ch_name, strlen(ch->ch_name));
	htab_free(ch->ch_users);
	free(ch->ch_mem);
	free(ch->ch_pres);
	free(ch->ch_name);
	free(ch);
	return 2;
}

/* This process's presence of a channel: {count, users: [{userId,
 * connectedAt, info}]}. */
json_t *
chan_presence(struct chan *ch)
{
	struct htab_iter	 it;
	struct puser		*pu;
	const char		*user;
	size_t			 ulen;
	void			*v;
	json_t			*users;

	users = json_array();
	htab_iter_init(ch->ch_users, &it);
	while (htab_iter_next(&it, &user, &ulen, &v)) {
		pu = v;
		json_array_append_new(users, json_pack("{s:s%, s:I, s:o}",
		    "userId", user, ulen, "connectedAt",
		    (json_int_t)pu->pu_since, "info", info_json(pu->pu_info)));
	}
	return json_pack("{s:I, s:o}", "count",
	    (json_int_t)htab_count(ch->ch_users), "users", users);
}

/* Tell ch's presence subscribers, but the actor, that a user came or went. */
void
chan_presence_event(struct chan *ch, struct conn *actor, const char *type)
{
	struct obuf	*ob = NULL;
	json_t		*o;
	char		*s;
	uint32_t	 i;

	for (i = 0; i < ch->ch_npres; i++) {
		struct conn *m = ch->ch_pres[i].m_conn;

		if (m == actor)
			continue;
		if (ob == NULL) {
			o = json_pack("{s:s, s:s, s:s, s:o}", "type", type,
			    "channel", ch->ch_name, "userId",
			    actor->c_id->id_user, "info",
			    info_json(actor->c_id->id_info));
			s = json_dumps(o, JSON_COMPACT);
			json_decref(o);
			if (s == NULL)
				fatalx("presence: json out of memory");
			ob = ws_frame(0x1, s, strlen(s));
			free(s);
		}
		(void)conn_send(m, ob);
	}
	obuf_unref(ob);
}

/*
 * Is off (NUL-terminated) an empty history's latest offset, 0-0 in its
 * epoch, that no message comes before?
 */
static int
chan_empty(const char *off)
{
	return strlen(off) == LISTEN_OFFLEN &&
	    strcmp(off + LISTEN_EPOCHLEN + 1, "000000000000-00000000") == 0;
}

/*
 * The offset that subscription s, answered, waits for the live stream to
 * pass (chan_replayed()); NULL if it is not waiting so.
 */
const char *
chan_floor(const struct csub *s)
{
	return s->s_floorlast ? s->s_last : s->s_floor;
}

/*
 * s_last of subscription s moved (a frame written): once its replay is
 * written up to its floor, s_last is the floor, and the copy goes.
 */
void
chan_floor_written(struct csub *s)
{
	if (s->s_floor == NULL || strcmp(s->s_floor, s->s_last) != 0)
		return;
	free(s->s_floor);
	s->s_floor = NULL;
	s->s_floorlast = 1;
}

/* Does offset a (n bytes) come after b?  Offsets of one epoch compare. */
int
chan_after(const char *a, size_t n, const char *b)
{
	size_t	blen = strlen(b);

	if (blen == 0 || n != blen || memcmp(a, b, LISTEN_EPOCHLEN) != 0)
		return 1;	/* no reference, or a new epoch */
	return memcmp(a, b, n) > 0;
}

/*
 * An answer to subscription i of c (a resume's, or one with since) said
 * recovered (gap 0) or not (gap 1), latest last: after a gap the stream
 * begins at last, and a later subscribe with since fills the gap without
 * what was given after last (chan_given()); recovered, nothing is left
 * to fill.
 */
void
chan_gap_answer(struct conn *c, uint32_t i, int gap, const char *last)
{
	struct csub	*s = &c->c_subs[i];

	free(s->s_gap);
	s->s_gap = gap && strlen(last) == LISTEN_OFFLEN ? xstrdup(last) :
	    NULL;
}

/*
 * Into hi (LISTEN_OFFLEN + 1 bytes), the newest offset of subscription i
 * of c that was written to its socket or is queued there; "" if none.
 */
void
chan_given_upto(const struct conn *c, uint32_t i, char *hi)
{
	const struct csub	*s = &c->c_subs[i];
	const struct oq		*q;
	uint32_t		 serial = s->s_chan->ch_serial;

	snprintf(hi, LISTEN_OFFLEN + 1, "%s", s->s_last);
	for (q = c->c_ohead; q != NULL; q = q->oq_next)
		if (q->oq_buf->ob_chan == serial &&
		    chan_after(q->oq_buf->ob_off, LISTEN_OFFLEN, hi)) {
			memcpy(hi, q->oq_buf->ob_off, LISTEN_OFFLEN);
			hi[LISTEN_OFFLEN] = '\0';
		}
}

/*
 * Was the message at off (n bytes) given already to a subscription whose
 * stream began at gap (its s_gap) and was given up to hi
 * (chan_given_upto()), all of one epoch?
 */
int
chan_given(const char *gap, const char *off, size_t n, const char *hi)
{
	if (n != LISTEN_OFFLEN || strlen(gap) != LISTEN_OFFLEN ||
	    strlen(hi) != LISTEN_OFFLEN ||
	    memcmp(off, gap, LISTEN_EPOCHLEN) != 0 ||
	    memcmp(hi, gap, LISTEN_EPOCHLEN) != 0)
		return 0;
	return memcmp(off, gap, n) > 0 && memcmp(off, hi, n) <= 0;
}

static void
chan_set_last(struct chan *ch, const char *off, size_t n)
{
	if (n == LISTEN_OFFLEN && chan_after(off, n, ch->ch_last)) {
		memcpy(ch->ch_last, off, n);
		ch->ch_last[n] = '\0';
	}
}

/*
 * Remember the latest offset an answer gave, as the start of the next
 * restore if nothing is delivered before.  Not ch_last: messages up to it
 * may still be on their way on the live stream.
 */
void
chan_set_base(struct chan *ch, const char *off, size_t n)
{
	if (n == LISTEN_OFFLEN)
		snprintf(ch->ch_base, sizeof(ch->ch_base), "%.*s", (int)n,
		    off);
}

/* Queue a framed message on member i, or hold it while it waits. */
static void
chan_give(struct chan *ch, uint32_t i, struct obuf *ob, const char *off,
    size_t offlen)
{
	struct conn	*c = ch->ch_mem[i].m_conn;
	uint32_t	 sidx = ch->ch_mem[i].m_sidx;
	struct csub	*s = &c->c_subs[sidx];
	struct held	*h;
	const char	*fl;

	if (!s->s_pending) {
		(void)conn_send_sub(c, ob, sidx, gl->l_conf->lc_maxout);
		return;
	}
	if ((fl = chan_floor(s)) != NULL) {
		/*
		 * Answered: what is not after the answer's offset was in the
		 * replay or came before the subscription.  The live stream is
		 * in order, so the first one after it ends the wait.
		 */
		if (chan_after(off, offlen, fl)) {
			chan_release(c, sidx, fl);
			(void)conn_send_sub(c, ob, sidx,
			    gl->l_conf->lc_maxout);
		}
		return;
	}
	if (s->s_nheld >= LISTEN_MAXHELD) {
		ws_close(c, 1013, "too many messages while subscribing");
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->hd_buf = ob;
	ob->ob_ref++;
	snprintf(h->hd_off, sizeof(h->hd_off), "%.*s", (int)offlen, off);
	h->hd_next = s->s_held;
	s->s_held = h;
	s->s_nheld++;
}

/* The bridge delivers one message of channel name: frame it once, fan out. */
void
client_deliver(const char *name, size_t namelen, const char *off,
    size_t offlen, const char *msg, size_t msglen)
{
	struct chan	*ch;
	struct obuf	*ob;
	uint32_t	 i;

	if ((ch = chan_find(name, namelen)) == NULL)
		return;
	if (ch->ch_restore != NULL) {
		/*
		 * Re-declared after a reconnect: what the bridge replays is
		 * older than this; hold this until the replay is out.
		 */
		chan_hold(ch, off, offlen, msg, msglen);
		return;
	}
	if (!chan_after(off, offlen, ch->ch_last))
		return;		/* a restore already gave it */
	ob = ws_frame(0x1, msg, msglen);
	obuf_mark(ob, ch, off, offlen);
	for (i = 0; i < ch->ch_nmem; i++)
		chan_give(ch, i, ob, off, offlen);
	obuf_unref(ob);
	chan_set_last(ch, off, offlen);
}

/* Hold a live message of a channel that is being restored. */
static void
chan_hold(struct chan *ch, const char *off, size_t offlen, const char *msg,
    size_t msglen)
{
	struct held	*h;

	if (ch->ch_nheld >= LISTEN_MAXHELD) {
		ch->ch_overflow = 1;	/* told as a gap once restored */
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->hd_buf = ws_frame(0x1, msg, msglen);
	obuf_mark(h->hd_buf, ch, off, offlen);
	snprintf(h->hd_off, sizeof(h->hd_off), "%.*s", (int)offlen, off);
	h->hd_next = ch->ch_held;
	ch->ch_held = h;
	ch->ch_nheld++;
}

/* The restore is over: pass on what was held, oldest first, once. */
static void
chan_unhold(struct chan *ch)
{
	struct held	*h, *next, *old = NULL;
	uint32_t	 i;

	for (h = ch->ch_held; h != NULL; h = next) {
		next = h->hd_next;
		h->hd_next = old;
		old = h;
	}
	ch->ch_held = NULL;
	ch->ch_nheld = 0;
	for (h = old; h != NULL; h = next) {
		next = h->hd_next;
		if (chan_after(h->hd_off, strlen(h->hd_off), ch->ch_last)) {
			for (i = 0; i < ch->ch_nmem; i++)
				chan_give(ch, i, h->hd_buf, h->hd_off,
				    strlen(h->hd_off));
			chan_set_last(ch, h->hd_off, strlen(h->hd_off));
		}
		obuf_unref(h->hd_buf);
		free(h);
	}
}

/* Send every member of ch a frame: a fresh subscribed with recovered false. */
static void
chan_tell_gap(struct chan *ch, const char *latest, size_t n)
{
	struct obuf	*ob;
	json_t		*o;
	char		*s;
	uint32_t	 i;

	o = json_pack("{s:s, s:s, s:s%, s:b}", "type", "subscribed",
	    "channel", ch->ch_name, "offset", latest, n, "recovered", 0);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("gap: json");
	json_decref(o);
	ob = ws_frame(0x1, s, strlen(s));
	free(s);
	for (i = 0; i < ch->ch_nmem; i++)
		(void)conn_send(ch->ch_mem[i].m_conn, ob);
	obuf_unref(ob);
	log_info("channel %s: messages may have been lost; clients told",
	    ch->ch_name);
}

/* The bridge says messages of a channel may have been lost. */
void
client_gap(const char *name, size_t namelen, const char *latest, size_t n)
{
	struct chan	*ch;

	if ((ch = chan_find(name, namelen)) != NULL)
		chan_tell_gap(ch, latest, n);
}

/*
 * Connected to the bridge (again): declare every channel, with the last
 * offset delivered here, so that what was missed meanwhile is replayed.
 */
void
client_restore_all(void)
{
	struct htab_iter	 it;
	const char		*name;
	size_t			 len;
	void			*v;
	struct ipc_msg		*m;
	struct pend		*pd;

	htab_iter_init(gl->l_chans, &it);
	while (htab_iter_next(&it, &name, &len, &v)) {
		struct chan *ch = v;

		if (ch->ch_restore != NULL)
			continue;
		pd = xcalloc(1, sizeof(*pd));
		pd->pd_kind = PD_RESTORE;
		pd->pd_chan = ch;
		pd->pd_since = ch->ch_last[0] != '\0' || ch->ch_base[0] != '\0';
		m = ipc_create(GW_MSG_BRIDGE_SUB, 0);
		ipc_add_cstr(m, ch->ch_name);
		ipc_add_cstr(m, ch->ch_last[0] != '\0' ? ch->ch_last :
		    ch->ch_base);
		ipc_add_u32(m, GW_SUB_RESTORE |
		    (ch->ch_npres > 0 ? GW_SUB_EVENTS : 0));
		if (link_request(m, pd) == -1) {
			free(pd);
			return;
		}
		ch->ch_restore = pd;
	}
}

/* The answer to a restore: replay what the channel missed. */
void
chan_restored(struct pend *pd, const char *latest, size_t latestlen,
    uint32_t rec, struct ipc_rd *rd, uint32_t n)
{
	struct chan	*ch = pd->pd_chan;
	const char	*off, *msg;
	size_t		 offlen, msglen;
	uint32_t	 i;

	ch->ch_restore = NULL;
	if (pd->pd_since && rec != GW_REC_TRUE)
		chan_tell_gap(ch, latest, latestlen);
	for (i = 0; i < n; i++) {
		if (ipc_get_str(rd, &off, &offlen) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1)
			break;
		client_deliver(ch->ch_name, strlen(ch->ch_name), off, offlen,
		    msg, msglen);
	}
	chan_set_base(ch, latest, latestlen);
	chan_unrestore(ch);
}

/*
 * A restore ended (answered or failed): release what was held, and report
 * a gap if some of it had to be dropped.
 */
void
chan_unrestore(struct chan *ch)
{
	ch->ch_restore = NULL;
	if (ch->ch_overflow) {
		ch->ch_overflow = 0;
		chan_tell_gap(ch, ch->ch_last, strlen(ch->ch_last));
	}
	chan_unhold(ch);
}

/*
 * Subscription i of c has had its answer and replay, up to latest (a
 * NUL-terminated offset): release what was held for it now if the live
 * stream has passed latest already, otherwise when it does
 * (chan_give), so that a message on its way is neither lost nor
 * given twice.
 */
void
chan_replayed(struct conn *c, uint32_t i, const char *last)
{
	if (!c->c_subs[i].s_pending)
		return;
	/*
	 * An empty history (latest 000000000000-00000000 in its epoch) has
	 * no message on its way up to latest: nothing to wait for, and no
	 * floor kept (for ever, on a channel nobody publishes on).
	 */
	if (!chan_after(last, strlen(last), c->c_subs[i].s_chan->ch_last) ||
	    chan_empty(last))
		chan_release(c, i, last);
	else {
		struct held *h, **pp;
		struct csub *s = &c->c_subs[i];

		free(s->s_floor);	/* a second answer */
		s->s_floor = NULL;
		/*
		 * Answered without a replay (a subscribe without since), its
		 * stream begins at latest: s_last is the floor, and nothing
		 * is written on it until the floor goes, so no copy is kept.
		 */
		s->s_floorlast = strcmp(s->s_last, last) == 0;
		if (!s->s_floorlast)
			s->s_floor = xstrdup(last);
		/* Drop what is held up to latest; keep what is after. */
		for (pp = &c->c_subs[i].s_held; (h = *pp) != NULL; ) {
			if (!chan_after(h->hd_off, strlen(h->hd_off), last)) {
				*pp = h->hd_next;
				obuf_unref(h->hd_buf);
				free(h);
				c->c_subs[i].s_nheld--;
			} else
				pp = &h->hd_next;
		}
		if (c->c_subs[i].s_held != NULL)
			chan_release(c, i, last);
	}
}

/*
 * The bridge answered subscription i of c: flush what was held for it
 * (only what came after latest, a NUL-terminated offset: the rest was in
 * the replay or came before the subscription), and let live messages
 * through.
 */
void
chan_release(struct conn *c, uint32_t i, const char *latest)
{
	struct csub	*s = &c->c_subs[i];
	struct held	*h, *next, *old = NULL;

	/* Held newest first: reverse into arrival order. */
	for (h = s->s_held; h != NULL; h = next) {
		next = h->hd_next;
		h->hd_next = old;
		old = h;
	}
	for (h = old; h != NULL; h = next) {
		next = h->hd_next;
		if (chan_after(h->hd_off, strlen(h->hd_off), latest))
			(void)conn_send_sub(c, h->hd_buf, i,
			    gl->l_conf->lc_maxout);
		obuf_unref(h->hd_buf);
		free(h);
	}
	s->s_held = NULL;
	s->s_nheld = 0;
	s->s_pending = 0;
	free(s->s_floor);	/* latest may be it: used above, not after */
	s->s_floor = NULL;
	s->s_floorlast = 0;
}
