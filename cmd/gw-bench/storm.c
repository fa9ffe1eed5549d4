/*
 * storm.c -- the watchers of a presence storm, in the parent process:
 * --watchers connections, each a user of its own (the --user-pattern
 * with the numbers after the joiners', so that their own joins are told
 * apart), subscribed to the channel with presence: true.  Once all are
 * subscribed, the parent lets the receivers' connections join.  Each
 * watcher keeps a bit per joiner and the time of the last join it had
 * not seen yet; storm_check() tells when every watcher has seen every
 * join.  Then storm_query() sends --queries presence queries, one at a
 * time, over the watchers in turn, and times each answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "xmalloc.h"

#define STORM_STALL	3.0	/* seconds without a new join seen */

static void	storm_subscribe(struct bctx *, struct bconn *);
static void	storm_text(struct bctx *, struct bconn *, const char *,
		    size_t);
static void	storm_done(struct bctx *, struct bconn *, int);
static void	storm_join(struct storm *, struct watcher *, const char *,
		    size_t);
static void	storm_answer(struct storm *, struct bconn *, const char *,
		    size_t);
static void	storm_next(struct storm *);
static void	storm_timer_cb(struct ev_loop *, ev_timer *, int);
static void	storm_tell(struct storm *, int);

/*
 * Connect the watchers (s_cb and s_arg set, the rest zero), at most
 * --connect-timeout seconds; then s_cb(STORM_READY) if at least one
 * subscribed, else s_cb(STORM_FAILED).
 */
void
storm_start(struct storm *s, struct ev_loop *loop,
    const struct bench_conf *conf, struct report *rep)
{
	uint32_t	j;

	s->s_x.x_loop = loop;
	s->s_x.x_conf = conf;
	s->s_x.x_rbuf = xmalloc(BENCH_RBUFSZ);
	s->s_x.x_seed = (uint32_t)bench_now() | 1;
	s->s_x.x_arg = s;
	s->s_x.x_subscribe = storm_subscribe;
	s->s_x.x_text = storm_text;
	s->s_x.x_done = storm_done;
	s->s_x.x_tgt = &conf->b_sub;
	s->s_x.x_users = 1;
	s->s_rep = rep;
	s->s_n = conf->b_watchers;
	s->s_conns = xcalloc(s->s_n, sizeof(*s->s_conns));
	s->s_w = xcalloc(s->s_n, sizeof(*s->s_w));
	for (j = 0; j < s->s_n; j++)
		s->s_w[j].w_seen = xcalloc((conf->b_conns + 7) / 8, 1);
	ev_timer_init(&s->s_timer, storm_timer_cb, conf->b_ctimeout, 0);
	s->s_timer.data = s;
	ev_timer_start(loop, &s->s_timer);
	for (j = 0; j < s->s_n; j++) {
		s->s_conns[j].bc_idx = conf->b_conns + j;
		(void)bconn_start(&s->s_x, &s->s_conns[j]);
	}
}

/* Subscribe a watcher to the channel, with presence events. */
static void
storm_subscribe(struct bctx *x, struct bconn *c)
{
	char	name[256], req[384];
	int	n;

	if (bench_channel(x->x_conf, 0, name, sizeof(name)) == 0) {
		bconn_fail(c, BF_SUBSCRIBE);
		return;
	}
	n = snprintf(req, sizeof(req), "{\"type\":\"subscribe\","
	    "\"channel\":\"%s\",\"presence\":true,\"id\":1}", name);
	c->bc_nsub = 1;
	bconn_text(c, req, (size_t)n);
}

/* A frame to a subscribed watcher: a join, a query's answer, or not ours. */
static void
storm_text(struct bctx *x, struct bconn *c, const char *p, size_t len)
{
	struct storm	*s = x->x_arg;

	if (ws_find(p, len, "\"type\":\"presence.join\""))
		storm_join(s, &s->s_w[c - s->s_conns], p, len);
	else if (ws_find(p, len, "\"type\":\"presence\"") ||
	    ws_find(p, len, "\"type\":\"error\""))
		storm_answer(s, c, p, len);
}

/* A watcher subscribed, failed, or was lost (old: its state before). */
static void
storm_done(struct bctx *x, struct bconn *c, int old)
{
	struct storm		*s = x->x_arg;
	struct storm_report	*sr = &s->s_rep->rp_storm;

	if (c->bc_state == BC_READY) {
		s->s_ready++;
		s->s_done++;
		sr->sr_watchers++;
	} else if (old == BC_READY) {
		if (sr->sr_wclosed++ == 0)
			sr->sr_wcode = c->bc_closecode;
		if (s->s_qt0 != 0 && s->s_qconn == c) {
			sr->sr_qerrors++;	/* its query is lost */
			s->s_qt0 = 0;
			s->s_qsent++;
			storm_next(s);
		}
	} else {
		s->s_done++;
		sr->sr_wfail++;
	}
	if (s->s_state == 0 && s->s_done == s->s_n) {
		ev_timer_stop(x->x_loop, &s->s_timer);
		storm_tell(s, s->s_ready > 0 ? STORM_READY : STORM_FAILED);
	}
}

/* A presence.join frame to watcher w: a joiner, a watcher, or foreign. */
static void
storm_join(struct storm *s, struct watcher *w, const char *p, size_t len)
{
	const struct bench_conf *conf = s->s_x.x_conf;
	struct storm_report	*sr = &s->s_rep->rp_storm;
	const char		*u;
	size_t			 ulen;
	int64_t			 i;

	if (ws_string(p, len, "userId", &u, &ulen) == -1 ||
	    (i = bench_name_index(conf->b_userpat, u, ulen)) < 0 ||
	    i >= (int64_t)conf->b_conns + conf->b_watchers) {
		sr->sr_foreign++;
		return;
	}
	if (i >= (int64_t)conf->b_conns)
		return;		/* another watcher came */
	if ((w->w_seen[i / 8] & (1 << (i % 8))) != 0) {
		sr->sr_dup++;
		return;
	}
	w->w_seen[i / 8] |= (uint8_t)(1 << (i % 8));
	w->w_nseen++;
	w->w_last_ns = bench_now();
	sr->sr_seen++;
}

/*
 * Has the storm blown over?  Return 1 when every subscribed watcher has
 * seen a join of every subscribed receiver connection (then the time of
 * the last one is in sr_alldone_ns), or when waiting longer is no use:
 * --drain seconds after the last join sent, or 3 s without a new join
 * seen (sr_stalled); else 0.  Call it once all receivers are ready.
 */
int
storm_check(struct storm *s)
{
	struct report		*rep = s->s_rep;
	struct storm_report	*sr = &rep->rp_storm;
	uint64_t		 now = bench_now(), last = rep->rp_ready_ns;
	uint32_t		 j, complete = 0;

	for (j = 0; j < s->s_n; j++) {
		if (s->s_conns[j].bc_state != BC_READY)
			continue;
		if (s->s_w[j].w_nseen >= rep->rp_opened)
			complete++;
		if (s->s_w[j].w_last_ns > last)
			last = s->s_w[j].w_last_ns;
	}
	sr->sr_complete = complete;
	sr->sr_expected = sr->sr_watchers * rep->rp_opened;
	if (complete == sr->sr_watchers) {
		sr->sr_alldone_ns = last;
		return 1;
	}
	if ((double)(now - rep->rp_sublast_ns) / 1e9 >=
	    s->s_x.x_conf->b_drain || (double)(now - last) / 1e9 >=
	    STORM_STALL) {
		sr->sr_stalled = 1;
		return 1;
	}
	return 0;
}

/*
 * Send the --queries presence queries, one at a time, each to the next
 * watcher; s_cb(STORM_DONE) when all are answered, when one failed to
 * come within BENCH_QTIMEOUT, or after BENCH_QBOUND seconds.
 */
void
storm_query(struct storm *s)
{
	ev_timer_stop(s->s_x.x_loop, &s->s_timer);
	ev_timer_set(&s->s_timer, BENCH_QTIMEOUT, 0);
	s->s_qsent = s->s_qnext = 0;
	s->s_qt0 = 0;
	s->s_qstart = bench_now();
	storm_next(s);
}

/* Send the next query, to the next live watcher; or say it is done. */
static void
storm_next(struct storm *s)
{
	struct bconn	*c = NULL;
	char		 name[256], req[384];
	uint32_t	 k;
	int		 n;

	ev_timer_stop(s->s_x.x_loop, &s->s_timer);
	if ((double)(bench_now() - s->s_qstart) / 1e9 >
	    BENCH_QBOUND(s->s_x.x_conf->b_queries))
		k = s->s_n;	/* out of time: no more */
	else
		k = 0;
	for (; k < s->s_n && s->s_qsent < s->s_x.x_conf->b_queries; k++) {
		c = &s->s_conns[s->s_qnext++ % s->s_n];
		if (c->bc_state == BC_READY)
			break;
		c = NULL;
	}
	if (c == NULL) {
		storm_tell(s, STORM_DONE);
		return;
	}
	s->s_qconn = c;
	(void)bench_channel(s->s_x.x_conf, 0, name, sizeof(name));
	n = snprintf(req, sizeof(req), "{\"type\":\"presence\","
	    "\"channel\":\"%s\",\"id\":%u}", name, s->s_qsent + 1);
	s->s_qt0 = bench_now();
	bconn_text(c, req, (size_t)n);
	ev_timer_start(s->s_x.x_loop, &s->s_timer);
}

/* A presence answer or an error on watcher c: the query in flight? */
static void
storm_answer(struct storm *s, struct bconn *c, const char *p, size_t len)
{
	struct storm_report	*sr = &s->s_rep->rp_storm;
	uint64_t		 id, count, now = bench_now();

	if (s->s_qt0 == 0 || c != s->s_qconn ||
	    ws_number(p, len, "id", &id) == -1 || id != s->s_qsent + 1)
		return;
	if (ws_find(p, len, "\"type\":\"error\"") ||
	    ws_number(p, len, "count", &count) == -1)
		sr->sr_qerrors++;
	else {
		hist_add(&sr->sr_qhist, now - s->s_qt0);
		sr->sr_queries++;
		sr->sr_qcount = count;
	}
	s->s_qt0 = 0;
	s->s_qsent++;
	storm_next(s);
}

/* The connect deadline (fail the rest), or a query left unanswered. */
static void
storm_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct storm	*s = w->data;
	uint32_t	 j;

	(void)loop;
	(void)revents;
	if (s->s_state == 0) {
		for (j = 0; j < s->s_n; j++)
			if (s->s_conns[j].bc_state != BC_READY)
				bconn_fail(&s->s_conns[j], BF_TIMEOUT);
		return;
	}
	if (s->s_qt0 != 0) {
		s->s_rep->rp_storm.sr_qerrors++;
		s->s_qt0 = 0;
		storm_tell(s, STORM_DONE);
	}
}

static void
storm_tell(struct storm *s, int ev)
{
	if (s->s_state == STORM_DONE || s->s_state == STORM_FAILED)
		return;
	s->s_state = ev;
	s->s_cb(s, ev);
}

/* Close the watchers and free all the storm holds. */
void
storm_free(struct storm *s)
{
	uint32_t	j;

	if (s->s_x.x_loop != NULL)
		ev_timer_stop(s->s_x.x_loop, &s->s_timer);
	for (j = 0; j < s->s_n; j++) {
		bconn_free(&s->s_conns[j]);
		free(s->s_w[j].w_seen);
	}
	free(s->s_conns);
	free(s->s_w);
	free(s->s_x.x_rbuf);
	memset(s, 0, sizeof(*s));
}
