/*
 * bystand.c -- the bystanders of a reconnect storm, in the parent
 * process: --bystanders connections to --resume-url (the node that
 * survives), connected and subscribed before the kill like receivers
 * (connection j to channel j mod --channels; users numbered after the
 * receivers' if --user-pattern is given).  Each times its deliveries:
 * before the kill in one histogram; after it in time slots (about 100
 * ms wide), so that once the storm's end is known the slots up to it
 * make the storm's histogram and the rest the after's; and those of the
 * first BENCH_WINDOW seconds after the kill in a histogram of their own,
 * to compare runs whose storms end at different times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "xmalloc.h"

static void	bystand_subscribe(struct bctx *, struct bconn *);
static void	bystand_text(struct bctx *, struct bconn *, const char *,
		    size_t);
static void	bystand_done(struct bctx *, struct bconn *, int);
static void	bystand_timer_cb(struct ev_loop *, ev_timer *, int);
static void	bystand_tell(struct bystand *);

/*
 * Connect the bystanders (y_cb and y_arg set, the rest zero), at most
 * --connect-timeout seconds; then y_cb(BYST_READY) if at least one
 * subscribed, else y_cb(BYST_FAILED).  Nothing to connect: BYST_READY
 * at once.
 */
void
bystand_start(struct bystand *y, struct ev_loop *loop,
    const struct bench_conf *conf, struct report *rep)
{
	double		span;
	uint32_t	j;

	y->y_x.x_loop = loop;
	y->y_x.x_conf = conf;
	y->y_x.x_rbuf = xmalloc(BENCH_RBUFSZ);
	y->y_x.x_seed = (uint32_t)bench_now() | 1;
	y->y_x.x_arg = y;
	y->y_x.x_subscribe = bystand_subscribe;
	y->y_x.x_text = bystand_text;
	y->y_x.x_done = bystand_done;
	y->y_x.x_tgt = &conf->b_resume;
	y->y_x.x_users = conf->b_userpat[0] != '\0';
	y->y_rep = rep;
	y->y_n = conf->b_bystanders;
	y->y_conns = xcalloc(y->y_n > 0 ? y->y_n : 1, sizeof(*y->y_conns));
	/* 100 ms slots, wider if the run could outlast BENCH_SLOTS. */
	span = conf->b_duration + conf->b_drain + 10;
	y->y_slotns = (uint64_t)(span / BENCH_SLOTS * 1e9);
	if (y->y_slotns < 100000000)
		y->y_slotns = 100000000;
	y->y_slot = xcalloc(BENCH_SLOTS, sizeof(*y->y_slot));
	ev_timer_init(&y->y_timer, bystand_timer_cb, conf->b_ctimeout, 0);
	y->y_timer.data = y;
	if (y->y_n == 0) {
		bystand_tell(y);
		return;
	}
	ev_timer_start(loop, &y->y_timer);
	for (j = 0; j < y->y_n; j++) {
		y->y_conns[j].bc_idx = conf->b_conns + j;
		(void)bconn_start(&y->y_x, &y->y_conns[j]);
	}
}

/* Subscribe bystander j to channel j mod --channels. */
static void
bystand_subscribe(struct bctx *x, struct bconn *c)
{
	struct bystand	*y = x->x_arg;
	const struct bench_conf *conf = x->x_conf;
	char		 name[256], req[384];
	size_t		 n;

	if (bench_channel(conf, (uint32_t)(c - y->y_conns) % conf->b_channels,
	    name, sizeof(name)) == 0 || (n = peer_subreq(conf, name, 1, req,
	    sizeof(req))) == 0) {
		bconn_fail(c, BF_SUBSCRIBE);
		return;
	}
	c->bc_nsub = 1;
	bconn_text(c, req, n);
}

/* A frame to a subscribed bystander: a bench message, or not ours. */
static void
bystand_text(struct bctx *x, struct bconn *c, const char *p, size_t len)
{
	struct bystand	 *y = x->x_arg;
	struct byst_report *by = &y->y_rep->rp_resume.rr_byst;
	uint64_t	  g[4], now, lat, slot;

	if (ws_gwb(p, len, g) == -1)
		return;
	now = bench_now();
	lat = now > g[0] ? now - g[0] : 0;
	by->by_received++;
	if (g[1] > c->bc_lastseq) {
		by->by_gaps += g[1] - c->bc_lastseq - 1;
		c->bc_lastseq = g[1];
	} else
		by->by_reorder++;
	if (y->y_t0 == 0 || now < y->y_t0) {
		hist_add(&by->by_before, lat);
		return;
	}
	/* The same span for any run, however soon its storm ends. */
	if (now - y->y_t0 < (uint64_t)BENCH_WINDOW * 1000000000)
		hist_add(&by->by_window, lat);
	if (y->y_end != 0 && now > y->y_end) {
		hist_add(&by->by_after, lat);
		return;
	}
	slot = (now - y->y_t0) / y->y_slotns;
	if (slot >= BENCH_SLOTS)
		slot = BENCH_SLOTS - 1;
	if (y->y_slot[slot] == NULL)
		y->y_slot[slot] = xcalloc(1, sizeof(struct hist));
	hist_add(y->y_slot[slot], lat);
}

/* A bystander subscribed, failed, or was lost (old: its state before). */
static void
bystand_done(struct bctx *x, struct bconn *c, int old)
{
	struct bystand	 *y = x->x_arg;
	struct byst_report *by = &y->y_rep->rp_resume.rr_byst;

	if (c->bc_state == BC_READY) {
		by->by_ready++;
		y->y_done++;
	} else if (old == BC_READY)
		by->by_lost++;
	else {
		by->by_fail++;
		y->y_done++;
	}
	if (y->y_done == y->y_n)
		bystand_tell(y);
}

/* The connect deadline: the bystanders not subscribed yet have failed. */
static void
bystand_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bystand	*y = w->data;
	uint32_t	 j;

	(void)loop;
	(void)revents;
	for (j = 0; j < y->y_n; j++)
		if (y->y_conns[j].bc_state != BC_READY)
			bconn_fail(&y->y_conns[j], BF_TIMEOUT);
}

static void
bystand_tell(struct bystand *y)
{
	if (y->y_told)
		return;
	y->y_told = 1;
	ev_timer_stop(y->y_x.x_loop, &y->y_timer);
	y->y_cb(y, y->y_rep->rp_resume.rr_byst.by_ready > 0 || y->y_n == 0 ?
	    BYST_READY : BYST_FAILED);
}

/* The kill happened at t0 (CLOCK_MONOTONIC ns): the storm's slots begin. */
void
bystand_kill(struct bystand *y, uint64_t t0)
{
	y->y_t0 = t0;
}

/*
 * The storm ended at end (every victim resumed and caught up, or given
 * up): deliveries after it count in the after's histogram.
 */
void
bystand_end(struct bystand *y, uint64_t end)
{
	y->y_end = end;
}

/*
 * Merge the slots into the storm's histogram (those that begin at or
 * before the storm's end, all of them if it never ended) and the
 * after's (the rest), and free them.
 */
void
bystand_finish(struct bystand *y)
{
	struct byst_report *by;
	uint64_t	  start;
	uint32_t	  i;

	if (y->y_slot == NULL)
		return;
	by = &y->y_rep->rp_resume.rr_byst;
	for (i = 0; i < BENCH_SLOTS; i++) {
		if (y->y_slot[i] == NULL)
			continue;
		start = y->y_t0 + (uint64_t)i * y->y_slotns;
		hist_merge(y->y_end == 0 || start <= y->y_end ? &by->by_storm :
		    &by->by_after, y->y_slot[i]);
		free(y->y_slot[i]);
		y->y_slot[i] = NULL;
	}
}

/* Close the bystanders and free all they hold (their slots merged). */
void
bystand_free(struct bystand *y)
{
	uint32_t	j;

	if (y->y_x.x_loop == NULL)
		return;
	bystand_finish(y);
	ev_timer_stop(y->y_x.x_loop, &y->y_timer);
	for (j = 0; j < y->y_n; j++)
		bconn_free(&y->y_conns[j]);
	free(y->y_conns);
	free(y->y_slot);
	free(y->y_x.x_rbuf);
	memset(y, 0, sizeof(*y));
}
