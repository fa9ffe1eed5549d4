/*
 * client.c -- what a connected client asks for: the JSON requests of
 * PROTOCOL.md section 2, served among this process's own connections until
 * gw-bridge carries them across the cluster.
 *
 * A channel keeps its members in an array and each member's subscription
 * remembers its index there (and the other way round), so that joining and
 * leaving are O(1) whatever the channel's size.  Presence is counted per
 * user: a user with three tabs is one member of the channel's user table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "htab.h"
#include "listen.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

struct member {
	struct conn	*m_conn;
	uint32_t	 m_sidx;	/* index in m_conn->c_subs */
};

struct puser {
	uint32_t	 pu_count;	/* this user's subscribed connections */
	char		*pu_info;	/* compact JSON, or NULL */
};

struct chan {
	char		*ch_name;
	struct member	*ch_mem;
	uint32_t	 ch_nmem;
	uint32_t	 ch_cap;
	struct htab	*ch_users;	/* user id -> struct puser */
	uint64_t	 ch_seq;
};

static void	client_error(struct conn *, json_t *, const char *,
		    const char *);
static void	client_dispatch(struct conn *, struct req *);
static int	client_find(struct conn *, const char *);
static void	client_subscribe(struct conn *, struct req *);
static void	client_leave(struct conn *, uint32_t);
static void	client_publish(struct conn *, struct req *, struct chan *);
static json_t	*client_presence(struct chan *);
static void	client_presence_event(struct chan *, struct conn *,
		    const char *);
static json_t	*info_json(const char *);

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

static json_t *
info_json(const char *info)
{
	json_t	*v;

	/* Always an object, so that clients can read info.name safely. */
	if (info == NULL || (v = json_loads(info, 0, NULL)) == NULL)
		return json_object();
	return v;
}

/*
 * Encode obj (a reference the caller keeps) and queue it on c as one text
 * frame.  Return value: 0 if queued, -1 if not (c is closing or was just
 * failed for being slow).
 */
int
client_send_json(struct conn *c, json_t *obj)
{
	struct obuf	*ob;
	char		*s;
	int		 rv;

	if ((s = json_dumps(obj, JSON_COMPACT)) == NULL)
		fatalx("json_dumps: out of memory");
	ob = ws_frame(0x1, s, strlen(s));
	free(s);
	rv = conn_send(c, ob);
	obuf_unref(ob);
	return rv;
}

static void
client_error(struct conn *c, json_t *id, const char *code, const char *msg)
{
	struct obuf	*ob;
	char		*s;
	size_t		 n;

	/* A parser message may quote the input, which may not be UTF-8. */
	if ((s = proto_error_json(id, code, msg, &n)) == NULL &&
	    (s = proto_error_json(id, code, "invalid request", &n)) == NULL)
		fatalx("proto_error_json: out of memory");
	ob = ws_frame(0x1, s, n);
	free(s);
	(void)conn_send(c, ob);
	obuf_unref(ob);
}

/* The first frame after the upgrade: who the client is, and its session. */
void
client_welcome(struct conn *c)
{
	char	 connid[17], session[33];
	json_t	*o, *ping;

	if (RAND_bytes((unsigned char *)&c->c_connid, sizeof(c->c_connid))
	    != 1 || RAND_bytes(c->c_session, sizeof(c->c_session)) != 1)
		fatalx("RAND_bytes failed");
	hex(connid, (uint8_t *)&c->c_connid, sizeof(c->c_connid));
	hex(session, c->c_session, sizeof(c->c_session));
	if (gl->l_conf->lc_ping == (double)(long)gl->l_conf->lc_ping)
		ping = json_integer((long)gl->l_conf->lc_ping);
	else
		ping = json_real(gl->l_conf->lc_ping);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:[], s:o}",
	    "type", "welcome", "connId", connid, "userId", c->c_id->id_user,
	    "node", gl->l_conf->lc_node, "session", session, "resumed", 0,
	    "channels", "pingInterval", ping);
	if (o == NULL)
		fatalx("welcome: json_pack");
	(void)client_send_json(c, o);
	json_decref(o);
}

/* One complete text message from c: a request. */
void
client_message(struct conn *c, const char *buf, size_t len)
{
	struct req		rq;
	struct proto_err	err;

	if (proto_parse(buf, len, &rq, &err) == -1)
		client_error(c, rq.rq_id, err.pe_code, err.pe_msg);
	else
		client_dispatch(c, &rq);
	proto_req_free(&rq);
}

/* Index of channel name ch in c's subscriptions, or -1. */
static int
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
	json_t	*o, *p;
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
		client_leave(c, i);
		o = json_pack("{s:s, s:O?, s:s}", "type", "unsubscribed",
		    "id", rq->rq_id, "channel", rq->rq_channel);
		(void)client_send_json(c, o);
		json_decref(o);
		break;
	case REQ_PUBLISH:
		client_publish(c, rq, c->c_subs[i].s_chan);
		break;
	case REQ_PRESENCE:
		p = client_presence(c->c_subs[i].s_chan);
		o = json_pack("{s:s, s:O?, s:s}", "type", "presence", "id",
		    rq->rq_id, "channel", rq->rq_channel);
		json_object_update(o, p);
		json_decref(p);
		(void)client_send_json(c, o);
		json_decref(o);
		break;
	case REQ_TYPING:
		client_error(c, rq->rq_id, "unavailable",
		    "typing indicators need gw-presence, not running");
		break;
	case REQ_HISTORY:
		client_error(c, rq->rq_id, "unavailable",
		    "history needs gw-bridge, not running");
		break;
	case REQ_SUBSCRIBE:
		break;
	}
}

static void
client_offset(char buf[17], uint64_t seq)
{
	snprintf(buf, 17, "%016llx", (unsigned long long)seq);
}

static void
client_subscribe(struct conn *c, struct req *rq)
{
	struct chan	*ch;
	struct puser	*pu;
	struct csub	*s;
	json_t		*o;
	char		 off[17];
	size_t		 namelen = strlen(rq->rq_channel);
	int		 i, joined = 0;

	if (!ident_may_subscribe(c->c_id, rq->rq_channel)) {
		client_error(c, rq->rq_id, "forbidden",
		    "not allowed on this channel");
		return;
	}
	if ((i = client_find(c, rq->rq_channel)) != -1) {
		s = &c->c_subs[i];
		s->s_presence = rq->rq_presence;
		ch = s->s_chan;
	} else {
		if (c->c_nsubs >= gl->l_conf->lc_maxsubs) {
			client_error(c, rq->rq_id, "limit_exceeded",
			    "too many subscriptions on this connection");
			return;
		}
		if ((ch = htab_get(gl->l_chans, rq->rq_channel, namelen)) ==
		    NULL) {
			ch = xcalloc(1, sizeof(*ch));
			ch->ch_name = xstrdup(rq->rq_channel);
			ch->ch_users = htab_new();
			htab_put(gl->l_chans, ch->ch_name, namelen, ch);
		}
		if (ch->ch_nmem == ch->ch_cap) {
			ch->ch_cap = ch->ch_cap ? ch->ch_cap * 2 : 4;
			ch->ch_mem = xrealloc(ch->ch_mem,
			    ch->ch_cap * sizeof(*ch->ch_mem));
		}
		c->c_subs = xrealloc(c->c_subs,
		    (c->c_nsubs + 1) * sizeof(*c->c_subs));
		s = &c->c_subs[c->c_nsubs];
		s->s_chan = ch;
		s->s_midx = ch->ch_nmem;
		s->s_presence = rq->rq_presence;
		ch->ch_mem[ch->ch_nmem].m_conn = c;
		ch->ch_mem[ch->ch_nmem].m_sidx = c->c_nsubs;
		ch->ch_nmem++;
		c->c_nsubs++;
		pu = htab_get(ch->ch_users, c->c_id->id_user,
		    strlen(c->c_id->id_user));
		if (pu == NULL) {
			pu = xcalloc(1, sizeof(*pu));
			if (c->c_id->id_info != NULL)
				pu->pu_info = xstrdup(c->c_id->id_info);
			htab_put(ch->ch_users, c->c_id->id_user,
			    strlen(c->c_id->id_user), pu);
			joined = 1;
		}
		pu->pu_count++;
	}

	client_offset(off, ch->ch_seq);
	o = json_pack("{s:s, s:O?, s:s, s:s}", "type", "subscribed", "id",
	    rq->rq_id, "channel", rq->rq_channel, "offset", off);
	if (rq->rq_presence)
		json_object_set_new(o, "presence", client_presence(ch));
	if (rq->rq_since != NULL)	/* no history before gw-bridge */
		json_object_set_new(o, "recovered", json_false());
	(void)client_send_json(c, o);
	json_decref(o);
	if (joined)
		client_presence_event(ch, c, "presence.join");
}

/* Drop c's subscription number i; tell the channel if its user left. */
static void
client_leave(struct conn *c, uint32_t i)
{
	struct csub	*s = &c->c_subs[i];
	struct chan	*ch = s->s_chan;
	struct member	*m;
	struct puser	*pu;
	uint32_t	 last;
	size_t		 ulen = strlen(c->c_id->id_user);

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
	}

	pu = htab_get(ch->ch_users, c->c_id->id_user, ulen);
	if (pu != NULL && --pu->pu_count == 0) {
		htab_del(ch->ch_users, c->c_id->id_user, ulen);
		free(pu->pu_info);
		free(pu);
		client_presence_event(ch, c, "presence.leave");
	}
	if (ch->ch_nmem == 0) {
		htab_del(gl->l_chans, ch->ch_name, strlen(ch->ch_name));
		htab_free(ch->ch_users);
		free(ch->ch_mem);
		free(ch->ch_name);
		free(ch);
	}
}

/* c is closing: leave every channel. */
void
client_leave_all(struct conn *c)
{
	while (c->c_nsubs > 0)
		client_leave(c, c->c_nsubs - 1);
}

static void
client_publish(struct conn *c, struct req *rq, struct chan *ch)
{
	struct timespec	 ts;
	struct obuf	*ob;
	json_t		*o;
	char		*s, off[17];
	size_t		 n;
	uint32_t	 i;
	long long	 ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	client_offset(off, ch->ch_seq + 1);
	o = json_pack("{s:s, s:s, s:O, s:s, s:s, s:I}", "type", "message",
	    "channel", ch->ch_name, "data", rq->rq_data, "offset", off,
	    "from", c->c_id->id_user, "ts", ms);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("publish: json out of memory");
	json_decref(o);
	n = strlen(s);
	if (n > gl->l_conf->lc_maxmsg) {
		free(s);
		client_error(c, rq->rq_id, "too_large",
		    "message over max_message");
		return;
	}
	ch->ch_seq++;
	o = json_pack("{s:s, s:O?, s:s}", "type", "published", "id",
	    rq->rq_id, "offset", off);
	(void)client_send_json(c, o);
	json_decref(o);

	/* One frame, shared by every subscriber. */
	ob = ws_frame(0x1, s, n);
	free(s);
	for (i = 0; i < ch->ch_nmem; i++)
		(void)conn_send(ch->ch_mem[i].m_conn, ob);
	obuf_unref(ob);
}

static json_t *
client_presence(struct chan *ch)
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
		json_array_append_new(users, json_pack("{s:s%, s:o}",
		    "userId", user, ulen, "info", info_json(pu->pu_info)));
	}
	return json_pack("{s:I, s:o}", "count",
	    (json_int_t)htab_count(ch->ch_users), "users", users);
}

/* Tell the channel's presence subscribers, but the actor, that a user came or went. */
static void
client_presence_event(struct chan *ch, struct conn *actor, const char *type)
{
	struct obuf	*ob = NULL;
	json_t		*o;
	char		*s;
	uint32_t	 i;

	for (i = 0; i < ch->ch_nmem; i++) {
		struct conn *m = ch->ch_mem[i].m_conn;

		if (m == actor ||
		    !m->c_subs[ch->ch_mem[i].m_sidx].s_presence)
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
