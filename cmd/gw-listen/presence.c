/*
 * presence.c -- gw-listen's side of presence and typing.  The worker tells
 * its node's gw-presence (link.c) when a user's first connection in this
 * process joins a channel and when the last one leaves, and passes on what
 * its connections say about typing; gw-presence keeps the cluster-wide
 * truth in Redis and publishes the events on the channel, and gw-bridge
 * brings them back here (GW_MSG_BRIDGE_EVENT) like messages, to the nodes
 * that have subscribers only.
 *
 * On a node that runs no gw-presence (the link never came up), presence is
 * this process's own view, and its events are made here.  A node whose
 * gw-presence is away for a while keeps quiet meanwhile, and declares all
 * its users again when it is back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "utf8.h"
#include "xmalloc.h"

static void	pres_join_msg(struct chan *, const char *, size_t,
		    const struct puser *, uint64_t);
static int	pres_answer_raw(struct pend *, const char *, size_t);

static void
pres_join_msg(struct chan *ch, const char *user, size_t ulen,
    const struct puser *pu, uint64_t actor)
{
	struct ipc_msg	*m;

	m = ipc_create(GW_MSG_PRESENCE_JOIN, 0);
	ipc_add_cstr(m, ch->ch_name);
	ipc_add_str(m, user, ulen);
	ipc_add_cstr(m, pu->pu_info != NULL ? pu->pu_info : "{}");
	ipc_add_u64(m, pu->pu_since);
	ipc_add_u64(m, actor);
	plink_send(m);
}

/* c's user just came into ch in this process (c is the first of them). */
void
pres_joined(struct chan *ch, struct conn *c)
{
	const char	*user = c->c_id->id_user;
	struct puser	*pu;

	if (plink_up()) {
		if ((pu = htab_get(ch->ch_users, user, strlen(user))) != NULL)
			pres_join_msg(ch, user, strlen(user), pu,
			    c->c_connid);
	} else if (!plink_ever())
		chan_presence_event(ch, c, "presence.join");
}

/* c was the last connection of its user in ch in this process. */
void
pres_left(struct chan *ch, struct conn *c)
{
	struct ipc_msg	*m;

	if (plink_up()) {
		m = ipc_create(GW_MSG_PRESENCE_LEAVE, 0);
		ipc_add_cstr(m, ch->ch_name);
		ipc_add_cstr(m, c->c_id->id_user);
		ipc_add_u64(m, c->c_connid);
		plink_send(m);
	} else if (!plink_ever())
		chan_presence_event(ch, c, "presence.leave");
}

/*
 * c types in ch (stop GW_TYPING_START), or stopped (GW_TYPING_STOP), or
 * was typing when gw-presence came back (GW_TYPING_DECLARE).
 */
void
pres_typing(struct chan *ch, struct conn *c, int stop)
{
	struct ipc_msg	*m;

	m = ipc_create(GW_MSG_PRESENCE_TYPING, 0);
	ipc_add_cstr(m, ch->ch_name);
	ipc_add_cstr(m, c->c_id->id_user);
	ipc_add_u64(m, c->c_connid);
	ipc_add_u32(m, (uint32_t)stop);
	plink_send(m);
}

/* Connected to gw-presence (again): declare every user of every channel. */
void
pres_redeclare(void)
{
	struct htab_iter	 it, ut;
	const char		*name, *user;
	size_t			 len, ulen;
	void			*v, *pv;
	uint64_t		 n = 0;

	htab_iter_init(gl->l_chans, &it);
	while (htab_iter_next(&it, &name, &len, &v)) {
		struct chan *ch = v;
		uint32_t i;

		htab_iter_init(ch->ch_users, &ut);
		while (htab_iter_next(&ut, &user, &ulen, &pv)) {
			pres_join_msg(ch, user, ulen, pv, 0);
			n++;
		}
		/*
		 * Who typed here: a new gw-presence does not know, and the
		 * typing.start already sent would never be followed by a
		 * typing.stop.  Declared, its TTL starts again (a stop for
		 * one whose typing had lapsed meanwhile is harmless).
		 */
		for (i = 0; i < ch->ch_nmem; i++) {
			struct member *mb = &ch->ch_mem[i];

			if (mb->m_conn->c_subs[mb->m_sidx].s_typing)
				pres_typing(ch, mb->m_conn,
				    GW_TYPING_DECLARE);
		}
	}
	if (n > 0)
		log_info("declared %llu users to gw-presence",
		    (unsigned long long)n);
	sess_redeclare();
}

/* gw-presence went away before answering pd. */
void
pres_lost(struct pend *pd)
{
	client_presence_answer(pd, NULL, "unavailable",
	    "lost the node's presence service");
}

/*
 * An event of gw-presence for channel name: send frame to this process's
 * members that asked for presence, answered already, and are not the
 * connection the event is about (actor).
 */
void
pres_event(const char *name, size_t namelen, uint64_t actor,
    const char *frame, size_t framelen)
{
	struct chan	*ch;
	struct obuf	*ob = NULL;
	struct hev	*hv = NULL;
	struct conn	*m;
	struct csub	*s;
	struct pend	*pd;
	uint32_t	 i;

	if (actor == GW_ACTOR_SYNC) {
		client_sub_mark_came(frame, framelen);	/* not for clients */
		return;
	}
	/* Only the members that asked: not a scan of all (chan.c). */
	if ((ch = chan_find(name, namelen)) == NULL || ch->ch_npres == 0)
		return;
	for (i = 0; i < ch->ch_npres; i++) {
		m = ch->ch_pres[i].m_conn;
		s = &m->c_subs[ch->ch_pres[i].m_sidx];
		if (m->c_connid == actor)
			continue;
		if (ob == NULL)
			ob = ws_frame(0x1, frame, framelen);
		/*
		 * Not before the subscribed answer (a floor: answered); held
		 * for it while gw-presence reads the presence it gives.
		 */
		if (s->s_pending && chan_floor(s) == NULL) {
			if ((pd = client_sub_waiting(m, ch)) != NULL) {
				if (hv == NULL)
					hv = client_hev_new(ob);
				client_sub_hold(pd, hv);
			}
			continue;
		}
		(void)conn_send(m, ob);
	}
	client_hev_unref(hv);
	obuf_unref(ob);
}

/*
 * A client's presence request answered: splice gw-presence's answer, a
 * JSON object, into the frame without parsing it.  Parsing and encoding
 * again the answer for a big channel (1 000 users, some 60 KB) cost
 * gw-listen ~1.8 ms per query, more than Redis and gw-presence together
 * (docs/BENCH.md).  gw-presence builds the text (pjson.c); only its
 * shape and UTF-8 are checked here.  Return value: 0 if answered (pd is
 * freed), -1 if pd is not a plain client query or the text is not an
 * object: the caller parses it.
 */
static int
pres_answer_raw(struct pend *pd, const char *a, size_t alen)
{
	struct obuf	*ob;
	json_t		*o;
	char		*head, *buf;
	size_t		 hlen, n;

	if (pd->pd_kind != PD_PRESENCE || pd->pd_api || pd->pd_conn == NULL ||
	    alen < 2 || a[0] != '{' || a[alen - 1] != '}' ||
	    !utf8_valid(a, alen))
		return -1;
	o = json_pack("{s:s, s:O?, s:s}", "type", "presence", "id",
	    pd->pd_reqid, "channel", pd->pd_channel);
	if (o == NULL || (head = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("pres_answer_raw: out of memory");
	json_decref(o);
	/* head is {...}: drop its '}', then ',' and the answer after '{'. */
	hlen = strlen(head) - 1;
	n = hlen + (alen > 2 ? 1 + alen - 1 : 1);
	buf = xmalloc(n);
	memcpy(buf, head, hlen);
	if (alen > 2) {
		buf[hlen] = ',';
		memcpy(buf + hlen + 1, a + 1, alen - 1);
	} else
		buf[hlen] = '}';
	free(head);
	ob = ws_frame(0x1, buf, n);
	free(buf);
	(void)conn_send_limit(pd->pd_conn, ob, gl->l_conf->lc_maxout);
	obuf_unref(ob);
	client_pend_free(pd);
	return 0;
}

/* A message of gw-presence. */
void
pres_dispatch(struct ipc_peer *p, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	struct pend	*pd;
	const char	*a, *b;
	size_t		 alen, blen;
	json_t		*o;
	char		 code[32], text[160];
	uint32_t	 found;

	(void)p;
	switch (h->type) {
	case GW_MSG_PRESENCE_REPLY:
		if (ipc_get_str(rd, &a, &alen) == -1 || ipc_end(rd) == -1)
			break;
		if ((pd = plink_take(h->id)) == NULL)
			return;		/* its asker has gone */
		if (pres_answer_raw(pd, a, alen) == 0)
			return;
		if ((o = json_loadb(a, alen, 0, NULL)) == NULL ||
		    !json_is_object(o)) {
			json_decref(o);
			client_presence_answer(pd, NULL, "internal",
			    "bad answer from the presence service");
			return;
		}
		client_presence_answer(pd, o, NULL, NULL);
		json_decref(o);
		return;
	case GW_MSG_SESSION_STATE:
		if (ipc_get_u32(rd, &found) == -1 ||
		    ipc_get_str(rd, &a, &alen) == -1 || ipc_end(rd) == -1)
			break;
		if ((pd = plink_take(h->id)) == NULL)
			return;
		if (pd->pd_kind != PD_SESSION)
			break;
		sess_loaded(pd, found, a, alen);
		return;
	case GW_MSG_PRESENCE_FAIL:
		if (ipc_get_str(rd, &a, &alen) == -1 ||
		    ipc_get_str(rd, &b, &blen) == -1 || ipc_end(rd) == -1)
			break;
		if ((pd = plink_take(h->id)) == NULL)
			return;
		snprintf(code, sizeof(code), "%.*s", (int)alen, a);
		snprintf(text, sizeof(text), "%.*s", (int)blen, b);
		client_presence_answer(pd, NULL, code, text);
		return;
	default:
		break;
	}
	fatalx("gw-presence: bad %s (len %u)", ipc_type_name(h->type),
	    h->len);
}
