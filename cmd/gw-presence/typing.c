/*
 * typing.c -- who is typing where, on this node; no state in Redis.
 *
 * A (channel, user) starts typing with TYPING(0): typing.start goes out
 * once, and typing_ttl later typing.stop goes out unless another
 * TYPING(0) came first, which only pushes the deadline back.  TYPING(1),
 * or the user leaving the node, stops it at once.  Every entry waits the
 * same TTL, so they sit on one list in deadline order under one timer;
 * a refresh moves an entry to the tail.
 */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "log.h"
#include "pjson.h"
#include "presence.h"
#include "xmalloc.h"

static void	typing_timer_cb(struct ev_loop *, ev_timer *, int);

/* Set up the table and the timer. */
void
typing_init(void)
{
	gp->p_typing = htab_new();
	ev_init(&gp->p_ttimer, typing_timer_cb);
}

static void
typing_unlink(struct typing *t)
{
	if (t->t_prev != NULL)
		t->t_prev->t_next = t->t_next;
	else
		gp->p_thead = t->t_next;
	if (t->t_next != NULL)
		t->t_next->t_prev = t->t_prev;
	else
		gp->p_ttail = t->t_prev;
	t->t_prev = t->t_next = NULL;
}

static void
typing_append(struct typing *t)
{
	t->t_deadline = ev_now(gp->p_loop) + gp->p_conf->pc_typingttl;
	t->t_prev = gp->p_ttail;
	t->t_next = NULL;
	if (gp->p_ttail != NULL)
		gp->p_ttail->t_next = t;
	else
		gp->p_thead = t;
	gp->p_ttail = t;
}

static void
typing_arm(void)
{
	double	 in;

	if (gp->p_thead == NULL) {
		ev_timer_stop(gp->p_loop, &gp->p_ttimer);
		return;
	}
	if (ev_is_active(&gp->p_ttimer))
		return;
	in = gp->p_thead->t_deadline - ev_now(gp->p_loop);
	ev_timer_set(&gp->p_ttimer, in > 0 ? in : 0., 0.);
	ev_timer_start(gp->p_loop, &gp->p_ttimer);
}

/* Publish typing.start or typing.stop for key "C\nU". */
static void
typing_event(const char *key, size_t klen, size_t chlen, uint64_t actor,
    int stop)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	pjson_typing(&b, actor, stop, key, chlen, key + chlen + 1,
	    klen - chlen - 1);
	if (redis_publish(key, chlen, b.b_p, b.b_len) == -1)
		log_debug("typing event lost: Redis is down");
	buf_free(&b);
}

static void
typing_free(struct typing *t)
{
	typing_unlink(t);
	htab_del(gp->p_typing, t->t_key, t->t_keylen);
	free(t->t_key);
	free(t);
}

static void
typing_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct typing	*t;
	ev_tstamp	 now = ev_now(loop);

	(void)w;
	(void)revents;
	while ((t = gp->p_thead) != NULL && t->t_deadline <= now + 0.001) {
		/* The actor that typed: its own connection is not told. */
		typing_event(t->t_key, t->t_keylen, t->t_chlen, t->t_actor, 1);
		typing_free(t);
	}
	typing_arm();
}

/*
 * User in channel ch types (stop GW_TYPING_START) or stopped
 * (GW_TYPING_STOP), by connection actor.  typing.start is published at
 * the start of a burst only, and typing.stop when one was started.
 * GW_TYPING_DECLARE: a worker says the user was typing when this process
 * started (the one before died): the entry is made, so that typing.stop
 * follows in typing_ttl, but typing.start went out already.
 */
void
typing_update(const char *ch, size_t chlen, const char *user,
    size_t userlen, uint64_t actor, int stop)
{
	char		 key[PRESENCE_MAXCHAN + 1 + PRESENCE_MAXUSER];
	size_t		 klen = chlen + 1 + userlen;
	struct typing	*t;

	memcpy(key, ch, chlen);
	key[chlen] = '\n';
	memcpy(key + chlen + 1, user, userlen);
	t = htab_get(gp->p_typing, key, klen);
	if (stop == GW_TYPING_STOP) {
		if (t == NULL)
			return;
		typing_event(key, klen, chlen, actor, 1);
		typing_free(t);
		typing_arm();
		return;
	}
	if (t != NULL) {
		t->t_actor = actor;
		typing_unlink(t);
		typing_append(t);
		typing_arm();
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->t_key = xmalloc(klen);
	memcpy(t->t_key, key, klen);
	t->t_keylen = klen;
	t->t_chlen = chlen;
	t->t_actor = actor;
	htab_put(gp->p_typing, key, klen, t);
	typing_append(t);
	typing_arm();
	if (stop != GW_TYPING_DECLARE)
		typing_event(key, klen, chlen, actor, 0);
}

/*
 * The user of entry key "C\nU" left the node: if they were typing,
 * publish typing.stop now.  actor is unused: the connection that typed is
 * remembered.
 */
void
typing_gone(const char *key, size_t klen, uint64_t actor)
{
	struct typing	*t;

	(void)actor;
	if ((t = htab_get(gp->p_typing, key, klen)) == NULL)
		return;
	typing_event(t->t_key, t->t_keylen, t->t_chlen, t->t_actor, 1);
	typing_free(t);
	typing_arm();
}

/* Free every typing entry (at exit). */
void
typing_free_all(void)
{
	ev_timer_stop(gp->p_loop, &gp->p_ttimer);
	while (gp->p_thead != NULL)
		typing_free(gp->p_thead);
	htab_free(gp->p_typing);
	gp->p_typing = NULL;
}
