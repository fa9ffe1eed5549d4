/*
 * entry.c -- the node's (channel, user) entries: how many workers
 * declared each one, the grace before a user that went is announced as
 * gone, and what Redis must be told.
 *
 * An entry is E_LIVE while some worker declares it.  When the last one
 * lets it go it waits presence_grace in E_GRACE (a join in that time
 * takes it back with no Redis work), then turns E_LEAVING: the leave
 * script runs, and the entry is freed once Redis has answered.  A leave
 * that could not run (Redis down) is run when the link is back.  All
 * entries in E_GRACE wait the same time, so they sit on one list in
 * deadline order under one timer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "log.h"
#include "presence.h"
#include "xmalloc.h"

#define ENTRY_KEYMAX	(PRESENCE_MAXCHAN + 1 + PRESENCE_MAXUSER)

static void	entry_grace_cb(struct ev_loop *, ev_timer *, int);
static int	entry_declare(const char *, size_t, void *, int);

/* Set up the tables and the grace timer. */
void
entry_init(void)
{
	gp->p_entries = htab_new();
	gp->p_epass.rp_tab = gp->p_entries;
	gp->p_epass.rp_fn = entry_declare;
	gp->p_epass.rp_what = "entries declared again";
	ev_init(&gp->p_gtimer, entry_grace_cb);
}

/* Write "C\nU" into key (ENTRY_KEYMAX bytes); return its length. */
static size_t
entry_mkkey(char *key, const char *ch, size_t chlen, const char *user,
    size_t userlen)
{
	memcpy(key, ch, chlen);
	key[chlen] = '\n';
	memcpy(key + chlen + 1, user, userlen);
	return chlen + 1 + userlen;
}

static void
entry_free(struct entry *e)
{
	htab_del(gp->p_entries, e->e_key, e->e_keylen);
	free(e);
}

/* Arm the grace timer for the head of the list, if it is not armed. */
static void
entry_grace_arm(void)
{
	double	 in;

	if (gp->p_ghead == NULL) {
		ev_timer_stop(gp->p_loop, &gp->p_gtimer);
		return;
	}
	if (ev_is_active(&gp->p_gtimer))
		return;
	in = gp->p_ghead->e_deadline - ev_now(gp->p_loop);
	ev_timer_set(&gp->p_gtimer, in > 0 ? in : 0., 0.);
	ev_timer_start(gp->p_loop, &gp->p_gtimer);
}

static void
entry_grace_unlink(struct entry *e)
{
	if (e->e_prev != NULL)
		e->e_prev->e_next = e->e_next;
	else
		gp->p_ghead = e->e_next;
	if (e->e_next != NULL)
		e->e_next->e_prev = e->e_prev;
	else
		gp->p_gtail = e->e_prev;
	e->e_prev = e->e_next = NULL;
}

/* Tell Redis that this node no longer holds e. */
static void
entry_start_leave(struct entry *e, uint64_t actor)
{
	e->e_state = E_LEAVING;
	e->e_gen++;
	e->e_sent = redis_leave(e, actor) == 0;
	log_verbose("leave: %.*s from %.*s%s",
	    (int)(e->e_keylen - e->e_chlen - 1), e->e_key + e->e_chlen + 1,
	    (int)e->e_chlen, e->e_key,
	    e->e_sent ? "" : " (when Redis is back)");
}

static void
entry_grace_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct entry	*e;
	ev_tstamp	 now = ev_now(loop);

	(void)t;
	(void)revents;
	while ((e = gp->p_ghead) != NULL && e->e_deadline <= now + 0.001) {
		entry_grace_unlink(e);
		entry_start_leave(e, 0);
	}
	entry_grace_arm();
}

/* One declaration of e went away, with actor (0: none). */
static void
entry_unref(struct entry *e, uint64_t actor)
{
	if (e->e_refs == 0 || --e->e_refs > 0)
		return;
	typing_gone(e->e_key, e->e_keylen, actor);
	if (gp->p_conf->pc_grace <= 0) {
		entry_start_leave(e, actor);
		return;
	}
	e->e_state = E_GRACE;
	e->e_deadline = ev_now(gp->p_loop) + gp->p_conf->pc_grace;
	e->e_prev = gp->p_gtail;
	e->e_next = NULL;
	if (gp->p_gtail != NULL)
		gp->p_gtail->e_next = e;
	else
		gp->p_ghead = e;
	gp->p_gtail = e;
	entry_grace_arm();
	log_verbose("gone: %.*s from %.*s, leaving in %g s",
	    (int)(e->e_keylen - e->e_chlen - 1), e->e_key + e->e_chlen + 1,
	    (int)e->e_chlen, e->e_key, gp->p_conf->pc_grace);
}

/* e was declared again (refs 0 -> 1). */
static void
entry_revive(struct entry *e, uint64_t actor)
{
	switch (e->e_state) {
	case E_GRACE:
		/* Still in Redis: nobody saw it go. */
		entry_grace_unlink(e);
		e->e_state = E_LIVE;
		entry_grace_arm();
		log_verbose("join: %.*s back in %.*s within the grace",
		    (int)(e->e_keylen - e->e_chlen - 1),
		    e->e_key + e->e_chlen + 1, (int)e->e_chlen, e->e_key);
		break;
	case E_LEAVING:
		e->e_state = E_LIVE;
		/*
		 * A leave in flight runs before this join on the one link;
		 * one not sent yet never will be, and the entry is declared
		 * again with the others when Redis is back.
		 */
		if (e->e_sent) {
			e->e_sent = 0;
			(void)redis_join(e, actor, 0);
		}
		log_verbose("join: %.*s in %.*s again",
		    (int)(e->e_keylen - e->e_chlen - 1),
		    e->e_key + e->e_chlen + 1, (int)e->e_chlen, e->e_key);
		break;
	default:
		break;
	}
}

/*
 * Peer p declares user in channel ch, with the user's info (JSON object
 * text), since (ms) and actor (the connection that joined, 0 when
 * re-declared).  The first declaration on the node runs the join script;
 * one within the grace of a leave cancels the leave.  A second
 * declaration by the same peer only lowers since.
 */
void
entry_join(struct peer *p, const char *ch, size_t chlen, const char *user,
    size_t userlen, const char *info, size_t infolen, uint64_t since,
    uint64_t actor)
{
	char		 key[ENTRY_KEYMAX];
	size_t		 klen;
	struct entry	*e;
	int		 lower = 0;

	klen = entry_mkkey(key, ch, chlen, user, userlen);
	if ((e = htab_get(gp->p_entries, key, klen)) == NULL) {
		e = xcalloc(1, sizeof(*e) + klen + 1 + infolen + 1);
		e->e_key = e->e_buf;
		memcpy(e->e_key, key, klen);
		e->e_keylen = (uint32_t)klen;
		e->e_chlen = (uint32_t)chlen;
		e->e_info = e->e_buf + klen + 1;
		memcpy(e->e_info, info, infolen);
		e->e_infolen = (uint32_t)infolen;
		e->e_since = since;
		e->e_state = E_LIVE;
		htab_put(gp->p_entries, key, klen, e);
		e->e_refs = 1;
		htab_put(p->pr_decl, (const char *)&e, sizeof(e), e);
		gp->p_joins++;
		log_verbose("join: %.*s in %.*s", (int)userlen, user,
		    (int)chlen, ch);
		(void)redis_join(e, actor, 0);
		return;
	}
	if (since < e->e_since) {
		e->e_since = since;
		lower = 1;
	}
	if (htab_get(p->pr_decl, (const char *)&e, sizeof(e)) == NULL) {
		htab_put(p->pr_decl, (const char *)&e, sizeof(e), e);
		if (++e->e_refs == 1) {
			entry_revive(e, actor);
			return;
		}
	}
	/* Already in Redis: only an earlier since to record, quietly. */
	if (lower && e->e_state == E_LIVE)
		(void)redis_join(e, 0, 1);
}

/*
 * Peer p no longer has user in channel ch; actor is the connection that
 * left.  The last declaration on the node starts the grace.
 */
void
entry_leave(struct peer *p, const char *ch, size_t chlen, const char *user,
    size_t userlen, uint64_t actor)
{
	char		 key[ENTRY_KEYMAX];
	size_t		 klen;
	struct entry	*e;

	klen = entry_mkkey(key, ch, chlen, user, userlen);
	if ((e = htab_get(gp->p_entries, key, klen)) == NULL ||
	    htab_del(p->pr_decl, (const char *)&e, sizeof(e)) == NULL) {
		log_debug("%s: leave of %.*s in %.*s, never joined", p->pr_name,
		    (int)userlen, user, (int)chlen, ch);
		return;
	}
	entry_unref(e, actor);
}

/* Peer p has gone: undo all it declared, and free its table. */
void
entry_peer_gone(struct peer *p)
{
	struct htab_iter	 it;
	const char		*k;
	size_t			 klen;
	void			*v;

	if (p->pr_decl == NULL)
		return;
	htab_iter_init(p->pr_decl, &it);
	while (htab_iter_next(&it, &k, &klen, &v))
		entry_unref(v, 0);
	htab_free(p->pr_decl);
	p->pr_decl = NULL;
}

/*
 * Declare entry v (key k, klen bytes) to Redis again: a live one or one
 * in its grace is joined (quiet: no presence.join), a leave that could
 * not run is run.  Return value: -1 if the link is down, else 0.
 */
static int
entry_declare(const char *k, size_t klen, void *v, int quiet)
{
	struct entry	*e = v;

	(void)k;
	(void)klen;
	if (e->e_state != E_LEAVING)
		return redis_join(e, 0, quiet);
	if (!e->e_sent) {
		e->e_gen++;
		if (redis_leave(e, 0) == -1)
			return -1;
		e->e_sent = 1;
	}
	return 0;
}

/*
 * Declare every entry to Redis again (the link came back, or our lease
 * had lapsed), in a pass that keeps pace with Redis (rpass_start()).
 */
void
entry_redeclare(int quiet)
{
	rpass_start(&gp->p_epass, quiet);
}

/*
 * Redis answered the leave of entry key (klen bytes) sent at generation
 * gen: ok, or it failed and must run again when the link is back.  A
 * reply for an entry that has been declared since is ignored.
 */
void
entry_leave_done(const char *key, size_t klen, uint64_t gen, int ok)
{
	struct entry	*e;

	if ((e = htab_get(gp->p_entries, key, klen)) == NULL ||
	    e->e_state != E_LEAVING || e->e_gen != gen)
		return;
	if (!ok) {
		e->e_sent = 0;
		return;
	}
	gp->p_leaves++;
	entry_free(e);
}

/* Free every entry (at exit; Redis is not told). */
void
entry_free_all(void)
{
	struct htab_iter	 it;
	const char		*k;
	size_t			 klen;
	void			*v;

	ev_timer_stop(gp->p_loop, &gp->p_gtimer);
	gp->p_epass.rp_active = 0;
	htab_iter_init(gp->p_entries, &it);
	while (htab_iter_next(&it, &k, &klen, &v))
		entry_free(v);
	gp->p_ghead = gp->p_gtail = NULL;
	htab_free(gp->p_entries);
	gp->p_entries = NULL;
}
