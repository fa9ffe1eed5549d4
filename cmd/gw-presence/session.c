/*
 * session.c -- the workers' sessions: SESSION_SAVE, _DROP and _LOAD,
 * stored in Redis by redis.c, and which worker of this node holds each
 * live one.
 *
 * A session is live while a connection holds it: saved live by its
 * worker, or loaded (resumed) by one.  The node remembers, per live
 * session, the worker that holds it, so that
 *   - a closing save from a worker that no longer holds it (the client
 *     resumed it on another worker of this node first) is ignored: it
 *     would give a resumed session an expiry;
 *   - when a worker goes without closing its sessions (it died), they
 *     are closed for it: the resume window starts;
 *   - after a reconnect or a lapsed lease, the node owns them again, since
 *     a sweep of this instance may have closed them meanwhile.
 * Only the ids are kept here; the states are in Redis only.
 */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "log.h"
#include "pjson.h"
#include "presence.h"
#include "xmalloc.h"

static int	session_own(const char *, size_t, void *, int);

/* Set up the table of live sessions. */
void
session_init(void)
{
	gp->p_sess = htab_new();
	gp->p_spass.rp_tab = gp->p_sess;
	gp->p_spass.rp_fn = session_own;
	gp->p_spass.rp_what = "sessions owned again";
}

/* Record that peer p holds session sid. */
static void
session_hold(const char *sid, struct peer *p)
{
	p->pr_held = 1;
	(void)htab_put(gp->p_sess, sid, PJSON_SIDLEN, PSESS_VAL(p->pr_serial));
}

/*
 * Forget that peer holds session sid.  Return value: 1 if it did (or
 * nobody here held it), 0 if another peer holds it now.
 */
static int
session_release(const char *sid, uint64_t peer)
{
	void	*v;

	if ((v = htab_get(gp->p_sess, sid, PJSON_SIDLEN)) == NULL)
		return 1;
	if (PSESS_PEER(v) != peer)
		return 0;
	(void)htab_del(gp->p_sess, sid, PJSON_SIDLEN);
	return 1;
}

/*
 * Peer p saves session sid (checked: 32 lowercase hex digits, NUL-
 * terminated) of user with state (a checked JSON object) for its
 * connection conn: live, the connection is open; else it closed.  A
 * close from a peer that no longer holds the session is ignored; and
 * Redis ignores a save from a connection other than the one that holds
 * the session there (lua.h).
 */
void
session_save(struct peer *p, const char *sid, const char *user,
    size_t userlen, const char *state, size_t statelen, int live,
    uint64_t conn)
{
	if (live)
		session_hold(sid, p);
	else if (!session_release(sid, p->pr_serial)) {
		log_verbose("%s: close of session %s, resumed elsewhere "
		    "since: ignored", p->pr_name, sid);
		return;
	}
	if (redis_sess_save(sid, user, userlen, state, statelen, live,
	    conn) == -1) {
		log_verbose("%s: session %s not saved: Redis is down",
		    p->pr_name, sid);
		return;
	}
	gp->p_ssaved++;
	log_debug("%s: session %s saved %s", p->pr_name, sid,
	    live ? "live" : "closed");
}

/* Peer p forgets session sid now (a kick). */
void
session_drop(struct peer *p, const char *sid)
{
	(void)session_release(sid, p->pr_serial);
	if (redis_sess_drop(sid) == -1)
		log_verbose("%s: session %s not dropped: Redis is down",
		    p->pr_name, sid);
	else
		log_debug("%s: session %s dropped", p->pr_name, sid);
}

/*
 * Peer p asks for session sid of user, request id, for its connection
 * conn (which holds it if found).  The answer,
 * GW_MSG_SESSION_STATE, comes from session_loaded(), or at once (not
 * found) if Redis is down: a fresh session, not an error.
 */
void
session_load(struct peer *p, uint32_t id, const char *sid,
    const char *user, size_t userlen, uint64_t conn)
{
	if (redis_sess_load(p->pr_serial, id, sid, user, userlen, conn,
	    0) == -1)
		session_loaded(p->pr_serial, id, sid, "", 0, 0);
}

/* A load waiting for another node to let go of the session. */
struct sretry {
	ev_timer	 sr_timer;
	struct sretry	*sr_next, *sr_prev;	/* sretries */
	uint64_t	 sr_peer;
	uint32_t	 sr_id;
	uint64_t	 sr_conn;
	int		 sr_try;
	size_t		 sr_ulen;
	char		 sr_sid[PJSON_SIDLEN + 1];
	char		 sr_owner[PRESENCE_INSTLEN];	/* who holds it */
	char		 sr_user[];
};

static struct sretry	*sretries;	/* waiting, to free at exit */

static void
sretry_unlink(struct sretry *sr)
{
	if (sr->sr_prev != NULL)
		sr->sr_prev->sr_next = sr->sr_next;
	else
		sretries = sr->sr_next;
	if (sr->sr_next != NULL)
		sr->sr_next->sr_prev = sr->sr_prev;
}

static void
session_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sretry	*sr = t->data;

	(void)loop;
	(void)revents;
	sretry_unlink(sr);
	if (sr->sr_try < REDIS_SLOAD_TRIES && rsess_gone(sr->sr_owner)) {
		/* Its holder's link is gone: no closing save will come. */
		sr->sr_try = REDIS_SLOAD_TRIES;
		gp->p_staken++;
	}
	if (presence_peer(sr->sr_peer) != NULL &&
	    redis_sess_load(sr->sr_peer, sr->sr_id, sr->sr_sid, sr->sr_user,
	    sr->sr_ulen, sr->sr_conn, sr->sr_try) == -1)
		session_loaded(sr->sr_peer, sr->sr_id, sr->sr_sid, "", 0, 0);
	free(sr);
}

/*
 * Session sid is held by a connection of another live node, the instance
 * owner: most likely one that is closing right now (a drain, a dropped
 * link), whose closing save, with the offsets written, is on its way.
 * Load it again after a wait that doubles from 50 ms; the load after
 * REDIS_SLOAD_TRIES tries (0.75 s) takes it over as it is, and so does
 * any load once the owner's link to Redis is seen gone (rsess_gone(): a
 * killed node, whose lease lives on).  Try is the number of the coming
 * load, from 1.
 */
void
session_retry(uint64_t peer, uint32_t id, const char *sid, const char *user,
    size_t ulen, uint64_t conn, int try, const char *owner)
{
	struct sretry	*sr;

	if (presence_peer(peer) == NULL)
		return;
	sr = xcalloc(1, sizeof(*sr) + ulen + 1);
	sr->sr_peer = peer;
	sr->sr_id = id;
	sr->sr_conn = conn;
	sr->sr_try = try;
	sr->sr_ulen = ulen;
	snprintf(sr->sr_sid, sizeof(sr->sr_sid), "%s", sid);
	snprintf(sr->sr_owner, sizeof(sr->sr_owner), "%s", owner);
	memcpy(sr->sr_user, user, ulen);
	ev_timer_init(&sr->sr_timer, session_retry_cb, rsess_gone(owner) ? 0. :
	    0.05 * (double)(1 << (try < 1 ? 0 : try > 8 ? 7 : try - 1)), 0.);
	sr->sr_timer.data = sr;
	ev_timer_start(gp->p_loop, &sr->sr_timer);
	if ((sr->sr_next = sretries) != NULL)
		sretries->sr_prev = sr;
	sretries = sr;
}

/* A new CLIENT LIST came: the loads waiting on a gone holder go now. */
void
session_retry_gone(void)
{
	struct sretry	*sr, *next;

	for (sr = sretries; sr != NULL; sr = next) {
		next = sr->sr_next;
		if (sr->sr_try < REDIS_SLOAD_TRIES && rsess_gone(sr->sr_owner)) {
			ev_timer_stop(gp->p_loop, &sr->sr_timer);
			session_retry_cb(gp->p_loop, &sr->sr_timer, 0);
		}
	}
}

/*
 * Redis answered the load of session sid for the peer with serial peer,
 * request id: found, with its state (len bytes), or not.  A found
 * session is now live and ours: the peer holds it, or, if the peer has
 * gone meanwhile, it is closed again at once.
 */
void
session_loaded(uint64_t peer, uint32_t id, const char *sid,
    const char *state, size_t len, int found)
{
	struct peer	*p;
	struct ipc_msg	*m;

	if ((p = presence_peer(peer)) == NULL) {
		if (found)
			(void)redis_sess_free(sid);
		return;
	}
	if (found) {
		session_hold(sid, p);
		gp->p_sresumed++;
	}
	log_verbose("%s: session %s %s", p->pr_name, sid,
	    found ? "resumed" : "not found");
	m = ipc_create(GW_MSG_SESSION_STATE, id);
	ipc_add_u32(m, found ? 1 : 0);
	ipc_add_str(m, state, len);
	presence_send(p, m);
}

/*
 * Peer p has gone: the sessions it held are closed (their connections
 * are gone with it), for the resume window.
 */
void
session_peer_gone(struct peer *p)
{
	struct htab_iter	 it;
	const char		*k;
	size_t			 klen, n = 0;
	void			*v;
	char			 sid[PJSON_SIDLEN + 1];

	/* A peer that never held one (gwctl) costs no walk of them all. */
	if (gp->p_sess == NULL || !p->pr_held)
		return;
	htab_iter_init(gp->p_sess, &it);
	while (htab_iter_next(&it, &k, &klen, &v)) {
		if (PSESS_PEER(v) != p->pr_serial)
			continue;
		memcpy(sid, k, PJSON_SIDLEN);
		sid[PJSON_SIDLEN] = '\0';
		(void)redis_sess_free(sid);
		(void)htab_del(gp->p_sess, k, klen);
		n++;
	}
	if (n > 0)
		log_info("%s: %zu sessions closed with it", p->pr_name, n);
}

/*
 * Own session k (klen bytes, its sid) again.  Return value: -1 if the
 * link is down, else 0.
 */
static int
session_own(const char *k, size_t klen, void *v, int quiet)
{
	char	sid[PJSON_SIDLEN + 1];

	(void)v;
	(void)quiet;
	if (klen != PJSON_SIDLEN)
		return 0;
	memcpy(sid, k, PJSON_SIDLEN);
	sid[PJSON_SIDLEN] = '\0';
	return redis_sess_own(sid);
}

/*
 * Own every live session of this node again: the link came back, or our
 * lease had lapsed, and a sweep may have closed them.  A pass that keeps
 * pace with Redis (rpass_start()).
 */
void
session_reown(void)
{
	rpass_start(&gp->p_spass, 1);
}

/* Free the table (at exit; Redis keeps the sessions, see gw-presence(8)). */
void
session_free_all(void)
{
	struct htab_iter	 it;
	const char		*k;
	size_t			 klen;
	void			*v;
	struct sretry		*sr;

	while ((sr = sretries) != NULL) {
		ev_timer_stop(gp->p_loop, &sr->sr_timer);
		if ((sretries = sr->sr_next) != NULL)
			sretries->sr_prev = NULL;
		free(sr);
	}
	gp->p_spass.rp_active = 0;
	htab_iter_init(gp->p_sess, &it);
	while (htab_iter_next(&it, &k, &klen, &v))
		(void)htab_del(gp->p_sess, k, klen);
	htab_free(gp->p_sess);
	gp->p_sess = NULL;
}
