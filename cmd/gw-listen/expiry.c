/*
 * expiry.c -- tokens that expire while their connection is open.
 *
 * A connection whose token carries an exp is closed with 1008 "token
 * expired" in the second its token expires, whether the client speaks
 * or not (the check on every frame stays in ws.c).  The connections with
 * an exp are kept in one binary min-heap by exp, each knowing its place
 * (ident's id_hidx), and one periodic timer, on the wall clock as exp
 * is, waits for the earliest.  A connection that closes for any other
 * reason leaves the heap when it is freed.
 */
#include <stdint.h>
#include <stdlib.h>

#include <ev.h>

#include "listen.h"
#include "xmalloc.h"

static struct conn	**exp_heap;
static uint32_t		 exp_n;
static uint32_t		 exp_cap;
static ev_periodic	 exp_timer;	/* set up with the first array */

static void	exp_timer_cb(struct ev_loop *, ev_periodic *, int);

static int64_t
exp_of(uint32_t i)
{
	return exp_heap[i]->c_id->id_exp;
}

static void
exp_set(uint32_t i, struct conn *c)
{
	exp_heap[i] = c;
	c->c_id->id_hidx = i + 1;
}

static void
exp_up(uint32_t i)
{
	struct conn	*c = exp_heap[i];
	uint32_t	 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (exp_of(p) <= c->c_id->id_exp)
			break;
		exp_set(i, exp_heap[p]);
		i = p;
	}
	exp_set(i, c);
}

static void
exp_down(uint32_t i)
{
	struct conn	*c = exp_heap[i];
	uint32_t	 k;

	for (;;) {
		k = 2 * i + 1;
		if (k >= exp_n)
			break;
		if (k + 1 < exp_n && exp_of(k + 1) < exp_of(k))
			k++;
		if (c->c_id->id_exp <= exp_of(k))
			break;
		exp_set(i, exp_heap[k]);
		i = k;
	}
	exp_set(i, c);
}

/* Wait for the earliest exp, if it is not what the timer waits for. */
static void
exp_arm(void)
{
	struct ev_loop	*loop = gl->l_loop;

	if (exp_n == 0) {
		ev_periodic_stop(loop, &exp_timer);
		return;
	}
	if (ev_is_active(&exp_timer) &&
	    ev_periodic_at(&exp_timer) == (ev_tstamp)exp_of(0))
		return;
	ev_periodic_stop(loop, &exp_timer);
	ev_periodic_set(&exp_timer, (ev_tstamp)exp_of(0), 0, NULL);
	ev_periodic_start(loop, &exp_timer);
}

/* c was upgraded with a token that expires (CONN_F_EXPIRES): watch it. */
void
expiry_add(struct conn *c)
{
	if (c->c_id->id_hidx != 0)
		return;
	if (exp_n == exp_cap) {
		if (exp_cap == 0)
			ev_periodic_init(&exp_timer, exp_timer_cb, 0, 0, NULL);
		exp_cap = exp_cap == 0 ? 64 : exp_cap * 2;
		exp_heap = xrealloc(exp_heap, exp_cap * sizeof(*exp_heap));
	}
	exp_heap[exp_n] = c;
	exp_up(exp_n++);
	exp_arm();
}

/*
 * c is freed: forget it.  The timer may then fire early (for the one
 * removed), and wait again for the next.
 */
void
expiry_remove(struct conn *c)
{
	struct conn	*m;
	uint32_t	 i;

	if (c->c_id == NULL || c->c_id->id_hidx == 0)
		return;
	i = c->c_id->id_hidx - 1;
	c->c_id->id_hidx = 0;
	if (i != --exp_n) {
		m = exp_heap[exp_n];	/* the last takes its place */
		exp_set(i, m);
		exp_down(i);
		exp_up(m->c_id->id_hidx - 1);
	}
	if (exp_n == 0)
		exp_arm();
}

/*
 * The earliest exp came: close every connection whose token has expired
 * by now (the heap's order bounds the loop to those), then wait for the
 * next.
 */
static void
exp_timer_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct conn	*c;
	ev_tstamp	 now = ev_now(loop);

	(void)w;
	(void)revents;
	while (exp_n > 0 && (ev_tstamp)exp_of(0) <= now) {
		c = exp_heap[0];
		expiry_remove(c);
		if (c->c_state == CONN_ST_WS && !(c->c_flags & CONN_F_DEAD))
			ws_close(c, 1008, "token expired");
	}
	exp_arm();
}

/* At exit, every connection is freed: drop the heap's array. */
void
expiry_cleanup(void)
{
	if (exp_n == 0) {
		free(exp_heap);
		exp_heap = NULL;
		exp_cap = 0;
	}
}
