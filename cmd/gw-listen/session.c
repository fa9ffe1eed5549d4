/*
 * session.c -- sessions that a client resumes on any node (PROTOCOL.md
 * section 4).  A connection's session is its user, its channels with their
 * presence flags and, once it has closed, the last offset written to it on
 * each channel.  The node's gw-presence keeps sessions in Redis: while the
 * connection is open, the channel list is saved whenever it changes
 * (without offsets: a node killed without warning cannot save them), and
 * when it closes, the whole state is saved for resume_window.
 *
 * A closing connection leaves its channels at once, but the messages
 * already queued on it are still written before its close frame: its
 * save waits for them (CONN_S_LATE, a struct sclose in gl->l_late
 * keeps its channels and the offsets written), and is sent once its
 * queue is out, or when it is freed.  Saved earlier, its offsets would
 * miss the messages it got last, and a resume would give them twice.
 *
 * A change only marks the connection and puts it on the flush list: its
 * list is saved once, at the end of the loop iteration (conn_flush_all(),
 * just before its frames are written), however many subscribes the
 * iteration read; a save costs O(channels), and one per subscribe made a
 * resume or a burst of subscribes quadratic.  A connection that closes
 * meanwhile saves its final list in its closing save instead (the reap
 * runs before the flush), and one kicked saves none (sess_drop()).
 *
 * A client that connects with session=SID is answered only once the
 * session is loaded (the 101 waits: a client may not send frames before
 * it): the welcome then says resumed, and every channel is subscribed
 * again, with since = its saved offset, so that what was missed is
 * replayed.  Neither that nor a subscribe to a channel the connection
 * has, with the same presence flag, changes the list: no save.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "parse.h"
#include "xmalloc.h"

#define SESS_MAXSTATE	(256 * 1024)	/* bytes of a saved state */

/* A closing connection's channels, kept until its last frames are out. */
struct sclose_ch {
	char		*sc_name;
	uint32_t	 sc_serial;	/* the channel's ch_serial */
	uint8_t		 sc_presence;
	char		 sc_last[LISTEN_OFFLEN + 1];
};

struct sclose {
	uint32_t		 sc_n;
	struct sclose_ch	 sc_ch[];
};

static char	*sess_state(struct conn *, int);
static void	 sess_state_add(struct buf *, int, const char *, int,
		    const char *);
static int	 sess_queued_msgs(const struct conn *);
static const char *sess_offset(const struct conn *, const struct csub *);
static void	 sess_post(struct ipc_msg *);
static void	 sess_save(struct conn *, int);
static int	 sess_may(struct conn *, const char *);
static void	 sess_hex(char [33], const uint8_t *);

static void
sess_hex(char dst[33], const uint8_t *p)
{
	static const char	 digits[] = "0123456789abcdef";
	int			 i;

	for (i = 0; i < 16; i++) {
		dst[2 * i] = digits[p[i] >> 4];
		dst[2 * i + 1] = digits[p[i] & 0xf];
	}
	dst[32] = '\0';
}

/*
 * c's state as JSON text, {"c":[{"n":NAME,"p":BOOL,"o":OFFSET},...]},
 * with the offsets only if offsets is set.  The caller frees it.
 * Written directly, not through a JSON tree: a save is made on every
 * close and every change of the channels.
 */
static char *
sess_state(struct conn *c, int offsets)
{
	struct buf	 b = { 0 };
	uint32_t	 i;

	buf_addstr(&b, "{\"c\":[");
	for (i = 0; i < c->c_nsubs; i++) {
		struct csub *sb = &c->c_subs[i];

		sess_state_add(&b, i == 0, sb->s_chan->ch_name,
		    sb->s_presence, offsets ? sess_offset(c, sb) : "");
	}
	buf_addstr(&b, "]}");
	return b.b_p;
}

/*
 * The offset to save for c's subscription sb: the last one written on
 * it; or, for a resume's subscription not answered yet (its subscribe in
 * flight, or waiting for the store), the offset it resumes from: the
 * client has everything up to it, from the connection before.
 */
static const char *
sess_offset(const struct conn *c, const struct csub *sb)
{
	const struct pend	*pd;

	if (sb->s_last[0] != '\0' || !sb->s_pending)
		return sb->s_last;
	for (pd = c->c_pend; pd != NULL; pd = pd->pd_next)
		if (pd->pd_chan == sb->s_chan && pd->pd_resume &&
		    pd->pd_sincearg != NULL &&
		    strlen(pd->pd_sincearg) <= LISTEN_OFFLEN)
			return pd->pd_sincearg;
	return sb->s_last;
}

/* One channel of a state: its name, presence flag, and offset if any. */
static void
sess_state_add(struct buf *b, int first, const char *name, int presence,
    const char *last)
{
	buf_addstr(b, first ? "{\"n\":" : ",{\"n\":");
	buf_addjson(b, name, strlen(name));
	buf_addstr(b, presence ? ",\"p\":true" : ",\"p\":false");
	if (last[0] != '\0') {
		buf_addstr(b, ",\"o\":");
		buf_addjson(b, last, strlen(last));
	}
	buf_addstr(b, "}");
}

/*
 * The GW_MSG_SESSION_SAVE of c's state (live: open, no offsets), or of
 * st if not NULL (freed here).
 */
static struct ipc_msg *
sess_save_msg(struct conn *c, int live, char *st)
{
	struct ipc_msg	*m;
	char		 sid[33];

	sess_hex(sid, c->c_session);
	if (st == NULL)
		st = sess_state(c, !live);
	m = ipc_create(GW_MSG_SESSION_SAVE, 0);
	ipc_add_cstr(m, sid);
	ipc_add_cstr(m, c->c_id->id_user);
	ipc_add_cstr(m, st);
	ipc_add_u32(m, live);
	ipc_add_u64(m, c->c_connid);	/* only its own saves count */
	free(st);
	return m;
}

static void
sess_save(struct conn *c, int live)
{
	plink_send(sess_save_msg(c, live, NULL));
	if (live)
		c->c_sflags |= CONN_S_STORED;
}

/*
 * gw-presence is away (restarted by gw-supervise, usually within a
 * second): keep a closing save or a drop, the only copy of what it says,
 * until it is back (sess_redeclare()).  At most LISTEN_SESSQ_MAX of them
 * and LISTEN_SESSQ_BYTES, sent if at most LISTEN_SESSQ_AGE old: an
 * older one could overwrite the state of a session resumed elsewhere
 * meanwhile.
 */
static void
sess_keep(struct ipc_msg *m)
{
	struct sessq	*q;

	if (gl->l_nsessq >= LISTEN_SESSQ_MAX ||
	    gl->l_sessq_bytes + m->m_len > LISTEN_SESSQ_BYTES) {
		gl->l_sessq_lost++;
		ipc_msg_free(m);
		return;
	}
	q = xmalloc(sizeof(*q));
	q->sq_msg = m;
	q->sq_time = ev_now(gl->l_loop);
	q->sq_next = NULL;
	if (gl->l_sessq_tail != NULL)
		gl->l_sessq_tail->sq_next = q;
	else
		gl->l_sessq = q;
	gl->l_sessq_tail = q;
	gl->l_nsessq++;
	gl->l_sessq_bytes += m->m_len;
}

/* At exit: free what sess_keep() kept (gw-presence never came back). */
void
sess_free_kept(void)
{
	struct sessq	*q;

	if (gl->l_nsessq > 0)
		log_warnx("%u session saves never reached gw-presence",
		    gl->l_nsessq);
	while ((q = gl->l_sessq) != NULL) {
		gl->l_sessq = q->sq_next;
		ipc_msg_free(q->sq_msg);
		free(q);
	}
	gl->l_sessq_tail = NULL;
	gl->l_nsessq = 0;
	gl->l_sessq_bytes = 0;
}

/* gw-presence is back: send what sess_keep() kept, in order. */
static void
sess_send_kept(void)
{
	struct sessq	*q;
	ev_tstamp	 now = ev_now(gl->l_loop);
	unsigned long	 sent = 0, old = 0;

	while ((q = gl->l_sessq) != NULL) {
		gl->l_sessq = q->sq_next;
		if (now - q->sq_time <= LISTEN_SESSQ_AGE) {
			plink_send(q->sq_msg);
			sent++;
		} else {
			ipc_msg_free(q->sq_msg);
			old++;
		}
		free(q);
	}
	gl->l_sessq_tail = NULL;
	gl->l_nsessq = 0;
	gl->l_sessq_bytes = 0;
	if (sent + old + gl->l_sessq_lost > 0)
		log_info("sessions closed while gw-presence was away: %lu "
		    "saved now, %lu too old and %lu past the room dropped",
		    sent, old, gl->l_sessq_lost);
	gl->l_sessq_lost = 0;
}

/*
 * c's channel list changed: keep gw-presence's copy up to date, at the
 * end of this loop iteration (sess_flush()).
 */
void
sess_changed(struct conn *c)
{
	if (c->c_state != CONN_ST_WS ||
	    (c->c_sflags & (CONN_S_CLOSED | CONN_S_DIRTY)) || !plink_up())
		return;
	c->c_sflags |= CONN_S_DIRTY;
	conn_schedule(c);
}

/*
 * The flush of c (conn_flush_all()), which sess_changed() asked for: save
 * its channel list, unless it closed or was kicked meanwhile (the closing
 * save, or the drop, says the rest).
 */
void
sess_flush(struct conn *c)
{
	c->c_sflags &= ~CONN_S_DIRTY;
	if (c->c_state == CONN_ST_WS && !(c->c_sflags & CONN_S_CLOSED) &&
	    plink_up())
		sess_save(c, 1);
}

/*
 * c is closing (for any reason but a kick): save its session, with the
 * last offset written on each channel, for resume_window.  Once.
 */
void
sess_closed(struct conn *c)
{
	struct sclose	*sc;
	uint32_t	 i;

	if (c->c_id == NULL || (c->c_sflags & CONN_S_CLOSED))
		return;
	c->c_sflags |= CONN_S_CLOSED;
	/* A pending live save (DIRTY) is not sent now: this one replaces it. */
	if (c->c_nsubs == 0 && !(c->c_sflags & (CONN_S_STORED | CONN_S_DIRTY)))
		return;
	if (!(c->c_flags & CONN_F_DEAD) && sess_queued_msgs(c)) {
		/* Later, with what is written of them (sess_closed_late()). */
		sc = xmalloc(sizeof(*sc) + c->c_nsubs * sizeof(sc->sc_ch[0]));
		sc->sc_n = c->c_nsubs;
		for (i = 0; i < c->c_nsubs; i++) {
			struct csub	 *sb = &c->c_subs[i];
			struct sclose_ch *ch = &sc->sc_ch[i];

			ch->sc_name = xstrdup(sb->s_chan->ch_name);
			ch->sc_serial = sb->s_chan->ch_serial;
			ch->sc_presence = sb->s_presence;
			snprintf(ch->sc_last, sizeof(ch->sc_last), "%s",
			    sess_offset(c, sb));
		}
		if (gl->l_late == NULL)
			gl->l_late = htab_new();
		htab_put(gl->l_late, (const char *)&c, sizeof(c), sc);
		c->c_sflags |= CONN_S_LATE;
		return;
	}
	sess_post(sess_save_msg(c, 0, NULL));
}

/*
 * Send m, a closing save or a drop, to gw-presence; or keep it while
 * gw-presence is away (sess_keep()); or, if there never was one, drop it.
 */
static void
sess_post(struct ipc_msg *m)
{
	if (plink_up())
		plink_send(m);
	else if (plink_ever())
		sess_keep(m);
	else
		ipc_msg_free(m);
}

/* Does c's queue hold a message of a channel?  O(queue), once a close. */
static int
sess_queued_msgs(const struct conn *c)
{
	const struct oq	*q;

	for (q = c->c_ohead; q != NULL; q = q->oq_next)
		if (q->oq_buf->ob_chan != 0)
			return 1;
	return 0;
}

/*
 * c, closing, has written its queue, or is being freed: send the save
 * that sess_closed() put off, with the offsets written meanwhile.
 */
void
sess_closed_late(struct conn *c)
{
	struct sclose	*sc;
	struct buf	 b = { 0 };
	uint32_t	 i;

	if (!(c->c_sflags & CONN_S_LATE))
		return;
	c->c_sflags &= ~CONN_S_LATE;
	sc = htab_del(gl->l_late, (const char *)&c, sizeof(c));
	buf_addstr(&b, "{\"c\":[");
	for (i = 0; i < sc->sc_n; i++) {
		sess_state_add(&b, i == 0, sc->sc_ch[i].sc_name,
		    sc->sc_ch[i].sc_presence, sc->sc_ch[i].sc_last);
		free(sc->sc_ch[i].sc_name);
	}
	buf_addstr(&b, "]}");
	free(sc);
	sess_post(sess_save_msg(c, 0, b.b_p));
}

/* ob, a message, was written to c after it left its channels. */
static void
sess_sent_late(struct conn *c, const struct obuf *ob)
{
	struct sclose	*sc = htab_get(gl->l_late, (const char *)&c,
			    sizeof(c));
	uint32_t	 i;

	for (i = 0; i < sc->sc_n; i++) {
		char *last = sc->sc_ch[i].sc_last;

		if (sc->sc_ch[i].sc_serial != ob->ob_chan)
			continue;
		if (last[0] == '\0' || memcmp(ob->ob_off, last,
		    LISTEN_EPOCHLEN) != 0 || memcmp(ob->ob_off, last,
		    LISTEN_OFFLEN) > 0) {
			memcpy(last, ob->ob_off, LISTEN_OFFLEN);
			last[LISTEN_OFFLEN] = '\0';
		}
		return;
	}
}

/* c is kicked: its session is forgotten, not saved. */
void
sess_drop(struct conn *c)
{
	struct ipc_msg	*m;
	char		 sid[33];

	c->c_sflags |= CONN_S_CLOSED;
	sess_hex(sid, c->c_session);
	m = ipc_create(GW_MSG_SESSION_DROP, 0);
	ipc_add_cstr(m, sid);
	sess_post(m);
}

/* gw-presence is back (maybe a new one): it must know the open sessions. */
void
sess_redeclare(void)
{
	struct tlist	*tl[] = { &gl->l_live, &gl->l_pinged };
	struct conn	*c;
	int		 i;

	sess_send_kept();
	for (i = 0; i < 2; i++)
		for (c = tl[i]->tl_head; c != NULL; c = c->c_tnext)
			if (c->c_nsubs > 0 || (c->c_sflags & CONN_S_STORED))
				sess_changed(c);
}

/*
 * ob was written to c entirely: if it is a message, c has everything of
 * its channel up to its offset.  hint is the index in c->c_subs of the
 * subscription it was queued for, or CONN_NOSUB: if the subscription at
 * hint is not of ob's channel any more (one was dropped meanwhile), or
 * none was given, the channel's is searched for.
 */
void
sess_sent(struct conn *c, const struct obuf *ob, uint32_t hint)
{
	struct csub	*s = NULL;
	uint32_t	 i;

	if (hint < c->c_nsubs &&
	    c->c_subs[hint].s_chan->ch_serial == ob->ob_chan)
		s = &c->c_subs[hint];
	for (i = 0; s == NULL && i < c->c_nsubs; i++)
		if (c->c_subs[i].s_chan->ch_serial == ob->ob_chan)
			s = &c->c_subs[i];
	if (s == NULL) {
		if (c->c_sflags & CONN_S_LATE)
			sess_sent_late(c, ob);
		return;
	}
	/*
	 * chan_after(), without its strlen(): s_last is empty or an offset
	 * of LISTEN_OFFLEN bytes, its epoch first.
	 */
	if (s->s_last[0] != '\0' &&
	    memcmp(ob->ob_off, s->s_last, LISTEN_EPOCHLEN) == 0 &&
	    memcmp(ob->ob_off + LISTEN_EPOCHLEN, s->s_last + LISTEN_EPOCHLEN,
	    LISTEN_OFFLEN - LISTEN_EPOCHLEN) <= 0)
		return;
	memcpy(s->s_last, ob->ob_off, LISTEN_OFFLEN);
	s->s_last[LISTEN_OFFLEN] = '\0';
	if (s->s_floor != NULL)
		chan_floor_written(s);
}

static int
sid_parse(const char *s, size_t n, uint8_t out[16])
{
	size_t	i;
	int	hi, lo;

	if (n != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		hi = s[2 * i] >= '0' && s[2 * i] <= '9' ? s[2 * i] - '0' :
		    s[2 * i] >= 'a' && s[2 * i] <= 'f' ? s[2 * i] - 'a' + 10 :
		    -1;
		lo = s[2 * i + 1] >= '0' && s[2 * i + 1] <= '9' ?
		    s[2 * i + 1] - '0' : s[2 * i + 1] >= 'a' &&
		    s[2 * i + 1] <= 'f' ? s[2 * i + 1] - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = hi << 4 | lo;
	}
	return 0;
}

/*
 * The upgrade of c (authenticated) asks to resume session sid (n bytes).
 * Ask gw-presence for it, and answer the upgrade (accept, the head's size
 * headlen) when it answers.  Return value: 0 if waiting, -1 if the upgrade
 * goes on now with a fresh session (a bad id, or no gw-presence).
 */
int
sess_load(struct conn *c, const char *sid, size_t n, const char *accept,
    size_t headlen)
{
	struct ipc_msg	*m;
	struct pend	*pd;
	uint8_t		 raw[16];

	if (sid_parse(sid, n, raw) == -1 || !plink_up())
		return -1;
	pd = client_pend(c, PD_SESSION, NULL);
	pd->pd_channel = xstrdup(accept);
	pd->pd_headlen = headlen;
	m = ipc_create(GW_MSG_SESSION_LOAD, 0);
	ipc_add_str(m, sid, n);
	ipc_add_cstr(m, c->c_id->id_user);
	client_connid(c);
	ipc_add_u64(m, c->c_connid);	/* the holder if found */
	if (link_request(m, pd) == -1) {
		client_pend_free(pd);
		return -1;
	}
	memcpy(c->c_session, raw, sizeof(raw));
	c->c_flags |= CONN_F_WAIT;
	return 0;
}

/* May c's identity have the saved channel name now? */
static int
sess_may(struct conn *c, const char *name)
{
	return parse_channel(name, strlen(name)) &&
	    ident_may_subscribe(c->c_id, name);
}

/*
 * The answer to a PD_SESSION (found 0 also when gw-presence failed): finish
 * the upgrade, welcome the client, and restore the session's channels.
 */
void
sess_loaded(struct pend *pd, uint32_t found, const char *st, size_t len)
{
	struct conn	*c = pd->pd_conn;
	json_t		*o = NULL, *a, *names, *e, *p, *off;
	const char	*name;
	size_t		 i;
	int		 offsets = 0;

	c->c_flags &= ~CONN_F_WAIT;
	if (found && len <= SESS_MAXSTATE)
		o = json_loadb(st, len, 0, NULL);
	if (o == NULL || !json_is_array(a = json_object_get(o, "c")))
		found = 0;
	handshake_finish(c, pd->pd_channel, pd->pd_headlen);
	client_pend_free(pd);
	if (c->c_state != CONN_ST_WS) {
		json_decref(o);
		return;
	}
	if (!found) {
		json_decref(o);
		client_welcome(c, 0, NULL);
		return;
	}
	/*
	 * The channels restored: those this token may still have (a new
	 * token may lack the claims of the old one).  The others are left
	 * out of the welcome, so that a client asking for them again gets
	 * its answer, forbidden, with its request's id.
	 */
	names = json_array();
	json_array_foreach(a, i, e) {
		if (i >= gl->l_conf->lc_maxsubs)
			break;
		if ((name = json_string_value(json_object_get(e, "n"))) !=
		    NULL && sess_may(c, name))
			json_array_append_new(names, json_string(name));
	}
	client_welcome(c, 1, names);
	gst.st_resumed++;
	json_decref(names);
	json_array_foreach(a, i, e) {
		if (i >= gl->l_conf->lc_maxsubs)
			break;
		if ((name = json_string_value(json_object_get(e, "n"))) ==
		    NULL || !sess_may(c, name))
			continue;
		p = json_object_get(e, "p");
		off = json_object_get(e, "o");
		if (off != NULL)
			offsets = 1;
		(void)client_resubscribe(c, name, json_is_true(p),
		    json_string_value(off));
	}
	/*
	 * The list is Redis's already (the load made the session live and
	 * ours), so a resume saves nothing: a storm of a killed node's
	 * clients (S6 in docs/BENCH.md) saved each twice.  Unless it came
	 * from a closing save, with offsets that must not outlive this
	 * connection's start, or a channel was not restored (forbidden now,
	 * over max_subscriptions).
	 */
	if (offsets || c->c_nsubs != json_array_size(a))
		sess_changed(c);
	json_decref(o);
	log_verbose("conn %016llx: resumed session with %zu channels",
	    (unsigned long long)c->c_connid, json_array_size(a));
}
