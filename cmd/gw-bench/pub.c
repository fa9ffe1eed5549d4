/*
 * pub.c -- the publisher of gw-bench, in the parent process: one
 * connection per BENCH_SUBPERPUB channels (gw lets a client publish only
 * on channels it is subscribed to), to --pub-url if given (another node
 * than the subscribers'), publishing round-robin over the channels at
 * the fixed rate.  A 1 ms timer sends what is due, in one write per
 * connection.  Message m is due at m / rate seconds; those due
 * in the warm-up carry the flag W = 1.  Each message's data is
 * {"gwb": [T, S, K, W], "p": "xxx..."}: the send time (CLOCK_MONOTONIC
 * ns), the channel's sequence number (from 1), the channel index, and
 * padding up to --size bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "xmalloc.h"

#define PUB_TICK	0.001
#define PUB_MAXTICK	50000	/* messages per tick at most */

static void	pub_subscribe(struct bctx *, struct bconn *);
static void	pub_text(struct bctx *, struct bconn *, const char *, size_t);
static void	pub_done(struct bctx *, struct bconn *, int);
static void	pub_tick_cb(struct ev_loop *, ev_timer *, int);
static size_t	pub_message(struct pub *, uint32_t, uint64_t, int, uint64_t);
static void	pub_append(struct pbuf *, struct pub *, size_t);

/*
 * Connect the publisher's connections (p_cb and p_arg set, the rest
 * zero); p_cb(PUB_READY) once all are subscribed, p_cb(PUB_FAILED) if
 * one fails before.
 */
void
pub_start(struct pub *p, struct ev_loop *loop, const struct bench_conf *conf,
    struct report *rep)
{
	uint32_t	j;

	p->p_x.x_loop = loop;
	p->p_x.x_conf = conf;
	p->p_x.x_rbuf = xmalloc(BENCH_RBUFSZ);
	p->p_x.x_seed = (uint32_t)bench_now() | 1;
	p->p_x.x_arg = p;
	p->p_x.x_subscribe = pub_subscribe;
	p->p_x.x_text = pub_text;
	p->p_x.x_done = pub_done;
	p->p_x.x_tgt = &conf->b_pub;	/* --pub-url, or --url */
	p->p_x.x_http = conf->b_proto == PROTO_NCHAN;
	p->p_rep = rep;
	p->p_n = (conf->b_channels + BENCH_SUBPERPUB - 1) / BENCH_SUBPERPUB;
	p->p_conns = xcalloc(p->p_n, sizeof(*p->p_conns));
	p->p_bufs = xcalloc(p->p_n, sizeof(*p->p_bufs));
	p->p_seq = xcalloc(conf->b_channels, sizeof(*p->p_seq));
	p->p_meas = xcalloc(conf->b_channels, sizeof(*p->p_meas));
	p->p_msgsz = conf->b_size + 1024;
	p->p_msg = xmalloc(p->p_msgsz);
	p->p_body = xmalloc(conf->b_size + 256);
	for (j = 0; j < p->p_n; j++) {
		p->p_conns[j].bc_idx = conf->b_conns + j;
		(void)bconn_start(&p->p_x, &p->p_conns[j]);
	}
}

/* Subscribe connection j to channels j, j + n, j + 2n, ... at once. */
static void
pub_subscribe(struct bctx *x, struct bconn *c)
{
	struct pub	*p = x->x_arg;
	uint32_t	 j = (uint32_t)(c - p->p_conns), k;
	struct pbuf	*b = &p->p_bufs[j];
	char		 name[256], req[384];
	size_t		 n;

	c->bc_nsub = 0;
	if (x->x_conf->b_proto != PROTO_GW) {
		/* A peer lets anybody publish: ready once connected. */
		c->bc_state = BC_READY;
		x->x_done(x, c, BC_SUBSCRIBING);
		return;
	}
	for (k = j; k < x->x_conf->b_channels; k += p->p_n) {
		if (bench_channel(x->x_conf, k, name, sizeof(name)) == 0)
			continue;
		if ((n = peer_subreq(x->x_conf, name, k, req,
		    sizeof(req))) == 0)
			continue;
		if (b->pb_cap - b->pb_len < n + 14) {
			b->pb_cap = b->pb_len + n + 14 + 4096;
			b->pb_p = xrealloc(b->pb_p, b->pb_cap);
		}
		b->pb_len += ws_frame(b->pb_p + b->pb_len, b->pb_cap -
		    b->pb_len, 1, req, n, bench_rand(&x->x_seed));
		c->bc_nsub++;
	}
	bconn_send(c, b->pb_p, b->pb_len);
	b->pb_len = 0;
}

/* Replies to publishes: count the errors (rate_limited, ...). */
static void
pub_text(struct bctx *x, struct bconn *c, const char *s, size_t len)
{
	struct pub	*p = x->x_arg;

	(void)c;
	if (peer_puberror(x->x_conf, s, len))
		p->p_rep->rp_puberrors++;
}

static void
pub_done(struct bctx *x, struct bconn *c, int old)
{
	struct pub	*p = x->x_arg;

	if (c->bc_state == BC_READY) {
		if (++p->p_ready == p->p_n)
			p->p_cb(p, PUB_READY);
	} else if (old == BC_READY)
		p->p_rep->rp_pubclosed++;
	else
		p->p_cb(p, PUB_FAILED);
}

/*
 * Start publishing: --rate messages per second for --warmup plus
 * --duration seconds.  When all is sent (with rate 0: when that time is
 * up), p_running turns 0; the caller polls it.
 */
void
pub_run(struct pub *p)
{
	const struct bench_conf *conf = p->p_x.x_conf;

	p->p_t0 = bench_now();
	p->p_total = (uint64_t)floor((conf->b_warmup + conf->b_duration) *
	    conf->b_rate);
	p->p_running = 1;
	if (p->p_total > 0)
		ev_timer_init(&p->p_tick, pub_tick_cb, PUB_TICK, PUB_TICK);
	else	/* idle: one tick at the end */
		ev_timer_init(&p->p_tick, pub_tick_cb, conf->b_warmup +
		    conf->b_duration, PUB_TICK);
	p->p_tick.data = p;
	ev_timer_start(p->p_x.x_loop, &p->p_tick);
}

/* Send what is due, one write per connection. */
static void
pub_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pub	*p = w->data;
	const struct bench_conf *conf = p->p_x.x_conf;
	uint64_t	 now = bench_now(), due, m, lim;
	double		 el = (double)(now - p->p_t0) / 1e9;
	uint32_t	 k, j;
	size_t		 n;
	int		 warm;

	(void)revents;
	due = (uint64_t)floor(el * conf->b_rate) + 1;
	if (due > p->p_total)
		due = p->p_total;
	lim = p->p_sent + PUB_MAXTICK;
	for (m = p->p_sent; m < due && m < lim; m++) {
		k = (uint32_t)(m % conf->b_channels);
		j = k % p->p_n;
		warm = (double)m / conf->b_rate < conf->b_warmup;
		n = pub_message(p, k, ++p->p_seq[k], warm, now);
		pub_append(&p->p_bufs[j], p, n);
		if (warm)
			p->p_rep->rp_pubwarm++;
		else {
			if (p->p_rep->rp_meas0_ns == 0)
				p->p_rep->rp_meas0_ns = now;
			p->p_meas[k]++;
			p->p_rep->rp_published++;
		}
	}
	p->p_sent = m;
	for (j = 0; j < p->p_n; j++) {
		if (p->p_bufs[j].pb_len == 0)
			continue;
		bconn_send(&p->p_conns[j], p->p_bufs[j].pb_p,
		    p->p_bufs[j].pb_len);
		p->p_bufs[j].pb_len = 0;
	}
	if (p->p_sent == p->p_total && (p->p_total > 0 ||
	    el >= conf->b_warmup + conf->b_duration)) {
		ev_timer_stop(loop, w);
		p->p_running = 0;
		p->p_rep->rp_pubend_ns = now;
	}
}

/*
 * Build message number seq of channel k in p_msg, as the protocol
 * publishes it (peer_publish()); return its length.
 */
static size_t
pub_message(struct pub *p, uint32_t k, uint64_t seq, int warm, uint64_t now)
{
	const struct bench_conf *conf = p->p_x.x_conf;
	char		 name[256];
	size_t		 d, pad;

	(void)bench_channel(conf, k, name, sizeof(name));
	d = (size_t)snprintf(p->p_body, 256,
	    "{\"gwb\":[%llu,%llu,%u,%d],\"p\":\"", (unsigned long long)now,
	    (unsigned long long)seq, k, warm);
	pad = conf->b_size > d + 2 ? conf->b_size - d - 2 : 0;
	/* p_body has 256 bytes beside --size: the rest fits. */
	memset(p->p_body + d, 'x', pad);
	memcpy(p->p_body + d + pad, "\"}", 2);
	/* p_msg has 1024 bytes beside --size: the head fits. */
	return peer_publish(conf, p->p_x.x_tgt->t_hostport, name, p->p_body,
	    d + pad + 2, p->p_msg, p->p_msgsz);
}

/*
 * Append p_msg's n bytes to b: as a frame, or as they are on an HTTP
 * connection.
 */
static void
pub_append(struct pbuf *b, struct pub *p, size_t n)
{
	if (b->pb_cap - b->pb_len < n + 14) {
		b->pb_cap = (b->pb_len + n + 14) * 2;
		b->pb_p = xrealloc(b->pb_p, b->pb_cap);
	}
	if (p->p_x.x_http) {
		memcpy(b->pb_p + b->pb_len, p->p_msg, n);
		b->pb_len += n;
		return;
	}
	b->pb_len += ws_frame(b->pb_p + b->pb_len, b->pb_cap - b->pb_len, 1,
	    p->p_msg, n, bench_rand(&p->p_x.x_seed));
}

/* Stop publishing, if it still is. */
void
pub_finish(struct pub *p)
{
	if (p->p_running) {
		ev_timer_stop(p->p_x.x_loop, &p->p_tick);
		p->p_running = 0;
		p->p_rep->rp_pubend_ns = bench_now();
	}
}

/* Close the publisher's connections and free all it holds. */
void
pub_free(struct pub *p)
{
	uint32_t	j;

	pub_finish(p);
	for (j = 0; j < p->p_n; j++) {
		bconn_free(&p->p_conns[j]);
		free(p->p_bufs[j].pb_p);
	}
	free(p->p_conns);
	free(p->p_bufs);
	free(p->p_seq);
	free(p->p_meas);
	free(p->p_msg);
	free(p->p_body);
	free(p->p_x.x_rbuf);
	memset(p, 0, sizeof(*p));
}
