/*
 * pub.c -- the publisher of gw-bench, in the parent process: one
 * connection per BENCH_SUBPERPUB channels (gw lets a client publish only
 * on channels it is subscribed to), to --pub-url if given (another node
 * than the subscribers'), publishing over the channels at the fixed
 * rate.  Messages go out in rounds of --channels, each round visiting
 * every channel once in an order of its own, shuffled (pub_channel()):
 * the channel of a publish looks random, yet every channel's sequence
 * numbers stay 1, 2, 3... and channel k of message m can be computed
 * again from m alone.  In a reconnect storm the order is round-robin,
 * which resume.c's count of every victim's last message relies on.  A 1 ms timer sends what is due, in one write per
 * connection.  Message m is due at m / rate seconds; those due
 * in the warm-up carry the flag W = 1.  Each message's data is
 * {"gwb": [T, S, K, W], "p": "xxx..."}: the send time (CLOCK_MONOTONIC
 * ns), the channel's sequence number (from 1), the channel index, and
 * padding up to --size bytes.
 *
 * In a reconnect storm every message must reach every victim, so a
 * publish the node refuses (unavailable while its Redis link is down)
 * goes again, as an application would send it: each publish carries the
 * id "M.K" (message number M, K earlier tries); an error answer puts M
 * on a ring, to be sent again with the same sequence number (and a new
 * send time) after a wait that doubles from PUB_RETRYWAIT up to
 * PUB_RETRYCAP, at most PUB_TRIES times.  The publishing is over when
 * the ring is empty and every publish was answered (or none was for
 * PUB_QUIET), and at most BENCH_PUBSETTLE seconds after the last new
 * message was due: what is left then is given up.
 *
 * With --pub-api the messages go as items of POST /api/batch instead,
 * on one HTTP connection per receiver process (pubapi.c); their answers
 * come back here (pub_answered()), each matched with its message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "xmalloc.h"

#define PUB_TICK	0.001
#define PUB_MAXTICK	50000	/* messages per tick at most */
#define PUB_RETRYMAX	65536	/* failed publishes waiting, at most */
#define PUB_RETRYWAIT	250000000ULL	/* ns before one goes again */
#define PUB_RETRYCAP	4000000000ULL	/* ns, the longest wait */
#define PUB_TRIES	20	/* sent at most */
#define PUB_QUIET	5000000000ULL	/* ns without an answer: over */

static void	pub_subscribe(struct bctx *, struct bconn *);
static void	pub_text(struct bctx *, struct bconn *, const char *, size_t);
static void	pub_done(struct bctx *, struct bconn *, int);
static void	pub_tick_cb(struct ev_loop *, ev_timer *, int);
static void	pub_append(struct pub *, uint32_t, uint64_t, uint32_t,
		    size_t);
static void	pub_failed(struct pub *, const char *, size_t);
static void	pub_retry(struct pub *, uint64_t, uint64_t);
static uint32_t	pub_again(struct pub *, uint64_t, uint32_t);
static int	pub_settled(struct pub *, uint64_t);
static uint32_t	pub_channel(const struct pub *, uint64_t);
static uint32_t	pub_feistel(uint32_t, uint64_t, uint32_t);

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
	p->p_perm = bench_now() * 0xd6e8feb86659fd93ULL;
	p->p_x.x_arg = p;
	p->p_x.x_subscribe = pub_subscribe;
	p->p_x.x_text = pub_text;
	p->p_x.x_done = pub_done;
	p->p_x.x_tgt = &conf->b_pub;	/* --pub-url, or --url */
	p->p_x.x_http = conf->b_proto == PROTO_NCHAN || conf->b_pubapi;
	p->p_rep = rep;
	p->p_n = (conf->b_channels + BENCH_SUBPERPUB - 1) / BENCH_SUBPERPUB;
	if (conf->b_pubapi)
		p->p_n = conf->b_procs < conf->b_channels ? conf->b_procs :
		    conf->b_channels;
	p->p_conns = xcalloc(p->p_n, sizeof(*p->p_conns));
	p->p_bufs = xcalloc(p->p_n, sizeof(*p->p_bufs));
	if (conf->b_pubapi)
		p->p_api = xcalloc(p->p_n, sizeof(*p->p_api));
	p->p_meas = xcalloc(conf->b_channels, sizeof(*p->p_meas));
	p->p_msgsz = conf->b_size + 1024;
	p->p_msg = xmalloc(p->p_msgsz);
	p->p_body = xmalloc(conf->b_size + 256);
	if ((p->p_again = conf->b_hasresume && conf->b_proto == PROTO_GW))
		p->p_retry = xcalloc(PUB_RETRYMAX, sizeof(*p->p_retry));
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
	struct buf	*b = &p->p_bufs[j];
	char		 name[256], req[384];
	size_t		 n;

	c->bc_nsub = 0;
	if (x->x_conf->b_pubapi) {
		pubapi_probe(p, c);
		return;
	}
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
		buf_room(b, n + 14);
		b->b_len += ws_frame(b->b_p + b->b_len, b->b_cap -
		    b->b_len, 1, req, n, bench_rand(&x->x_seed));
		c->bc_nsub++;
	}
	bconn_send(c, b->b_p, b->b_len);
	b->b_len = 0;
}

/*
 * Replies to publishes: count the errors (rate_limited, ...); in a
 * reconnect storm, count the answers and send the failed ones again.
 */
static void
pub_text(struct bctx *x, struct bconn *c, const char *s, size_t len)
{
	struct pub	*p = x->x_arg;
	int		 err;

	if (x->x_conf->b_pubapi) {
		pubapi_text(p, c, s, len);
		return;
	}
	err = peer_puberror(x->x_conf, s, len);
	if (err)
		p->p_rep->rp_puberrors++;
	if (!p->p_again || !(err || ws_find(s, len, "\"published\"")))
		return;
	p->p_lastans = bench_now();
	if (p->p_unanswered > 0)
		p->p_unanswered--;
	if (err)
		pub_failed(p, s, len);
}

/*
 * Message number m, sent tries times before, was answered: ok, or with
 * an error (counted; in a reconnect storm it goes again).  The API
 * publisher's answers (pubapi.c) come here.
 */
void
pub_answered(struct pub *p, uint64_t m, uint32_t tries, int ok)
{
	if (!ok)
		p->p_rep->rp_puberrors++;
	if (!p->p_again)
		return;
	p->p_lastans = bench_now();
	if (p->p_unanswered > 0)
		p->p_unanswered--;
	if (!ok)
		pub_retry(p, m, tries);
}

/* The error answer s to the publish "M.K": pub_retry() of M and K. */
static void
pub_failed(struct pub *p, const char *s, size_t len)
{
	const char	*id, *end;
	size_t		 idlen;
	uint64_t	 mk[2] = { 0, 0 };
	int		 i = 0, digits = 0;

	if (ws_string(s, len, "id", &id, &idlen) == -1)
		return;		/* not a publish of ours */
	for (end = id + idlen; id < end && i < 2; id++) {
		if (*id == '.' && digits > 0) {
			i++;
			digits = 0;
		} else if (*id >= '0' && *id <= '9' && digits < 19) {
			mk[i] = mk[i] * 10 + (uint64_t)(*id - '0');
			digits++;
		} else
			return;
	}
	if (i != 1 || digits == 0)
		return;
	pub_retry(p, mk[0], mk[1]);
}

/*
 * Message m failed, sent k times before: it goes on the ring, to be
 * sent again PUB_RETRYWAIT from now, unless it was sent PUB_TRIES times
 * or the ring is full (then it is lost).
 */
static void
pub_retry(struct pub *p, uint64_t m, uint64_t k)
{
	struct pretry	*pr;

	if (m >= p->p_sent)
		return;
	if (k + 1 >= PUB_TRIES || p->p_rlen == PUB_RETRYMAX) {
		p->p_rep->rp_publost++;
		return;
	}
	/*
	 * Waits of different lengths: the ring is not in the order of due
	 * times; pub_again() sends what is due from its head, so a long
	 * wait can hold up shorter ones behind it by at most PUB_RETRYCAP.
	 */
	pr = &p->p_retry[(p->p_rhead + p->p_rlen++) % PUB_RETRYMAX];
	pr->pr_m = m;
	pr->pr_tries = (uint32_t)k + 1;
	pr->pr_due = bench_now() + (PUB_RETRYWAIT << (pr->pr_tries - 1 < 4 ?
	    pr->pr_tries - 1 : 4));
	if (pr->pr_due > bench_now() + PUB_RETRYCAP)
		pr->pr_due = bench_now() + PUB_RETRYCAP;
}

/*
 * Send again, before lim more, the failed publishes that are due at now.
 * Return how many went.
 */
static uint32_t
pub_again(struct pub *p, uint64_t now, uint32_t lim)
{
	const struct bench_conf *conf = p->p_x.x_conf;
	struct pretry	*pr;
	uint32_t	 n = 0, k;

	while (p->p_rlen > 0 && n < lim) {
		pr = &p->p_retry[p->p_rhead];
		if (pr->pr_due > now)
			break;
		k = pub_channel(p, pr->pr_m);
		p->p_unanswered++;
		pub_append(p, k % p->p_n, pr->pr_m, pr->pr_tries,
		    pub_message(p, pr->pr_m, pr->pr_tries, (double)pr->pr_m /
		    conf->b_rate < conf->b_warmup, now));
		p->p_rep->rp_pubagain++;
		p->p_rhead = (p->p_rhead + 1) % PUB_RETRYMAX;
		p->p_rlen--;
		n++;
	}
	return n;
}

/*
 * Is every publish done: nothing on the ring, and every one answered
 * (or no answer for PUB_QUIET)?  Always, but in a reconnect storm; and
 * BENCH_PUBSETTLE seconds after the last new message was due, what is
 * still on the ring is given up.
 */
static int
pub_settled(struct pub *p, uint64_t now)
{
	const struct bench_conf *conf = p->p_x.x_conf;
	double	 el = (double)(now - p->p_t0) / 1e9;

	if (!p->p_again)
		return 1;
	if (el >= conf->b_warmup + conf->b_duration + BENCH_PUBSETTLE) {
		p->p_rep->rp_publost += p->p_rlen;
		p->p_rlen = 0;
		return 1;
	}
	return p->p_rlen == 0 && (p->p_unanswered == 0 ||
	    now - p->p_lastans > PUB_QUIET);
}

static void
pub_done(struct bctx *x, struct bconn *c, int old)
{
	struct pub	*p = x->x_arg;
	uint32_t	 j = (uint32_t)(c - p->p_conns);

	if (c->bc_state == BC_READY) {
		if (p->p_api != NULL)
			pubapi_send(p, j);	/* what waited for it */
		/* Once: an API connection may be made again. */
		if (p->p_ready < p->p_n && ++p->p_ready == p->p_n)
			p->p_cb(p, PUB_READY);
		return;
	}
	if (p->p_api != NULL && p->p_api[j].pa_closing)
		return;		/* pubapi_restart() makes it again */
	if (old != BC_READY && p->p_ready < p->p_n) {
		p->p_cb(p, PUB_FAILED);
		return;
	}
	p->p_rep->rp_pubclosed++;
	if (p->p_api != NULL)
		pubapi_lost(p, j);
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
	p->p_lastans = p->p_t0;
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
	uint32_t	 k, j, again = 0;
	size_t		 n;
	int		 warm;

	(void)revents;
	if (p->p_api != NULL)
		pubapi_restart(p);
	if (p->p_again)
		again = pub_again(p, now, PUB_MAXTICK);
	due = (uint64_t)floor(el * conf->b_rate) + 1;
	if (due > p->p_total)
		due = p->p_total;
	lim = p->p_sent + PUB_MAXTICK - again;
	for (m = p->p_sent; m < due && m < lim; m++) {
		k = pub_channel(p, m);
		j = k % p->p_n;
		warm = (double)m / conf->b_rate < conf->b_warmup;
		n = pub_message(p, m, 0, warm, now);
		if (p->p_again)
			p->p_unanswered++;
		pub_append(p, j, m, 0, n);
		if (warm)
			p->p_rep->rp_pubwarm++;
		else {
			if (p->p_rep->rp_meas0_ns == 0) {
				/* The warm-up is over: CPU from here on. */
				p->p_rep->rp_meas0_ns = now;
				srv_sample(conf, &p->p_rep->rp_srv[3]);
			}
			p->p_meas[k]++;
			p->p_rep->rp_published++;
		}
	}
	p->p_sent = m;
	for (j = 0; j < p->p_n; j++) {
		if (p->p_api != NULL) {
			pubapi_send(p, j);
			continue;
		}
		if (p->p_bufs[j].b_len == 0)
			continue;
		bconn_send(&p->p_conns[j], p->p_bufs[j].b_p,
		    p->p_bufs[j].b_len);
		p->p_bufs[j].b_len = 0;
	}
	if (p->p_sent == p->p_total && (p->p_total > 0 || p->p_ended ||
	    el >= conf->b_warmup + conf->b_duration) && pub_settled(p, now)) {
		ev_timer_stop(loop, w);
		p->p_running = 0;
		p->p_rep->rp_pubend_ns = now;
	}
}

/*
 * Build message number m (channel pub_channel(), its sequence number
 * m / --channels + 1), sent tries times before, in p_msg, as the
 * protocol publishes it (peer_publish(), with the id "M.K" if failed
 * ones go again; an item of a batch with --pub-api); return its length.
 */
size_t
pub_message(struct pub *p, uint64_t m, uint32_t tries, int warm, uint64_t now)
{
	const struct bench_conf *conf = p->p_x.x_conf;
	char		 name[256], id[48];
	uint32_t	 k = pub_channel(p, m);
	uint64_t	 seq = m / conf->b_channels + 1;
	size_t		 d, pad;

	(void)bench_channel(conf, k, name, sizeof(name));
	snprintf(id, sizeof(id), "%llu.%u", (unsigned long long)m, tries);
	d = (size_t)snprintf(p->p_body, 256,
	    "{\"gwb\":[%llu,%llu,%u,%d],\"p\":\"", (unsigned long long)now,
	    (unsigned long long)seq, k, warm);
	pad = conf->b_size > d + 2 ? conf->b_size - d - 2 : 0;
	/* p_body has 256 bytes beside --size: the rest fits. */
	memset(p->p_body + d, 'x', pad);
	memcpy(p->p_body + d + pad, "\"}", 2);
	/* p_msg has 1024 bytes beside --size: the head fits. */
	return peer_publish(conf, p->p_x.x_tgt->t_hostport, name,
	    p->p_again ? id : NULL, p->p_body, d + pad + 2, p->p_msg,
	    p->p_msgsz);
}

/*
 * The channel of message m: position m mod --channels of round
 * m / --channels, through that round's permutation of the channels (a
 * Feistel network on the smallest even power of two domain that holds
 * them, walked until it lands inside); round-robin in a reconnect storm.
 */
static uint32_t
pub_channel(const struct pub *p, uint64_t m)
{
	uint32_t	 n = p->p_x.x_conf->b_channels, k, bits = 2;
	uint64_t	 key;

	k = (uint32_t)(m % n);
	if (p->p_again || n < 3)
		return k;
	while ((1ULL << bits) < n)
		bits += 2;
	key = (m / n) * 0x9e3779b97f4a7c15ULL ^ p->p_perm;
	/* At most a quarter of the domain is outside: bounded walks. */
	do
		k = pub_feistel(k, key, bits / 2);
	while (k >= n);
	return k;
}

/*
 * One pass of a four-round Feistel network over 2 * half bits: a
 * bijection of [0, 2^(2 * half)) chosen by key.
 */
static uint32_t
pub_feistel(uint32_t x, uint64_t key, uint32_t half)
{
	uint32_t	 mask = (1U << half) - 1, l = x >> half, r = x & mask, t;
	uint64_t	 h;
	int		 i;

	for (i = 0; i < 4; i++) {
		h = (r + key + (uint64_t)i * 0xbf58476d1ce4e5b9ULL) *
		    0x94d049bb133111ebULL;
		t = l ^ ((uint32_t)(h >> 32) & mask);
		l = r;
		r = t;
	}
	return (l << half) | r;
}

/*
 * Append p_msg's n bytes, message number m sent tries times before, to
 * connection j's buffer: as a frame, as they are on an HTTP connection,
 * or as an item of a batch (pubapi.c).
 */
static void
pub_append(struct pub *p, uint32_t j, uint64_t m, uint32_t tries, size_t n)
{
	struct buf	*b = &p->p_bufs[j];

	if (p->p_api != NULL) {
		pubapi_add(p, j, m, tries, n);
		return;
	}
	buf_room(b, n + 14);
	if (p->p_x.x_http) {
		memcpy(b->b_p + b->b_len, p->p_msg, n);
		b->b_len += n;
		return;
	}
	b->b_len += ws_frame(b->b_p + b->b_len, b->b_cap - b->b_len, 1,
	    p->p_msg, n, bench_rand(&p->p_x.x_seed));
}

/*
 * No new message from now on; the failed ones still go again, and the
 * publishing is over when they are done (pub_settled()).
 */
void
pub_end(struct pub *p)
{
	if (!p->p_running)
		return;
	p->p_total = p->p_sent;
	p->p_ended = 1;
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
		buf_free(&p->p_bufs[j]);
		if (p->p_api != NULL)
			pubapi_free(&p->p_api[j]);
	}
	free(p->p_api);
	free(p->p_conns);
	free(p->p_bufs);
	free(p->p_meas);
	free(p->p_msg);
	free(p->p_body);
	free(p->p_retry);
	free(p->p_x.x_rbuf);
	memset(p, 0, sizeof(*p));
}
