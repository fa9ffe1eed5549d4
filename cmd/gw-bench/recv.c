/*
 * recv.c -- a receiver process of gw-bench: connections lo..hi-1, at
 * most --concurrency of them connecting at a time, each subscribed to
 * channel (index mod --channels).  When every one is subscribed or has
 * failed (or the connect deadline passed), it sends REC_READY to the
 * parent, then REC_PROGRESS every 200 ms; on 'R' from the parent it
 * sends REC_FINAL (counts and the latency histogram) and returns.  In a
 * presence storm (--watchers) each connection is a user of its own
 * (--user-pattern) and its subscribe is a join: the connections wait,
 * welcomed, until all are (REC_PARKED to the parent); on 'G' all send
 * their subscribe at once.  In a reconnect storm (--resume-url) each
 * subscribed connection is a victim that resumes its session elsewhere
 * when it is lost (resume.c).  The parent's commands: 'G' (join), 'S'
 * and 8 bytes (the messages published in all, so far), 'R' and 8 bytes
 * (the same, then the final report).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "xmalloc.h"

struct recv {
	struct bctx	 r_x;
	struct bconn	*r_conns;
	uint32_t	 r_lo;
	uint32_t	 r_n;
	uint32_t	 r_next;	/* the next to start */
	uint32_t	 r_inflight;	/* started, not ready or dead */
	uint32_t	 r_done;	/* ready or failed */
	uint64_t	 r_opened;
	uint32_t	*r_subs;	/* subscribers per channel */
	int		 r_wfd;		/* to the parent */
	int		 r_rfd;		/* from the parent */
	int		 r_readysent;
	int		 r_storm;	/* joiners of a presence storm */
	int		 r_go;		/* 'G' came: they joined */
	uint32_t	 r_parked;	/* welcomed joiners waiting for 'G' */
	int		 r_parkedsent;
	uint64_t	 r_tpark;	/* the last one parked */
	int		 r_status;	/* the exit status */
	uint64_t	 r_t0;
	uint64_t	 r_tlast;
	uint64_t	 r_sub0;	/* the first subscribe sent */
	uint64_t	 r_sublast;	/* the last one */
	ev_timer	 r_deadline;
	ev_timer	 r_progress;
	ev_prepare	 r_prep;
	ev_io		 r_ctl;
	char		 r_cbuf[32];	/* commands read, not yet done */
	size_t		 r_clen;
	int		 r_resume;	/* a reconnect storm's victims */
	struct rsm	 r_rsm;
	struct rec_final r_fin;
};

static int	recv_write(struct recv *, uint32_t, const void *, size_t,
		    const void *, size_t);
static void	recv_welcome(struct bctx *, struct bconn *, const char *,
		    size_t);
static void	recv_subscribe(struct bctx *, struct bconn *);
static void	recv_send_subscribe(struct recv *, struct bconn *);
static void	recv_text(struct bctx *, struct bconn *, const char *, size_t);
static void	recv_done(struct bctx *, struct bconn *, int);
static void	recv_prep_cb(struct ev_loop *, ev_prepare *, int);
static void	recv_deadline_cb(struct ev_loop *, ev_timer *, int);
static void	recv_progress_cb(struct ev_loop *, ev_timer *, int);
static void	recv_ctl_cb(struct ev_loop *, ev_io *, int);
static void	recv_ready(struct recv *);
static void	recv_parked(struct recv *);
static void	recv_join_all(struct recv *);
static int	recv_command(struct recv *);

/* Write one record (a header, a and b) to the parent: 0 or -1. */
static int
recv_write(struct recv *r, uint32_t type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	struct rec_hdr	 h;
	const char	*parts[3] = { (const char *)&h, a, b };
	size_t		 lens[3] = { sizeof(h), alen, blen }, off;
	ssize_t		 w;
	int		 i;

	h.r_type = type;
	h.r_len = (uint32_t)(alen + blen);
	for (i = 0; i < 3; i++) {
		for (off = 0; off < lens[i]; off += (size_t)w) {
			w = write(r->r_wfd, parts[i] + off, lens[i] - off);
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w <= 0)
				return -1;
		}
	}
	return 0;
}

/* A welcome: a victim keeps its session id. */
static void
recv_welcome(struct bctx *x, struct bconn *c, const char *p, size_t len)
{
	struct recv	*r = x->x_arg;

	if (r->r_resume)
		resume_first_welcome(&r->r_rsm, c, p, len);
}

/* A connection is welcomed: subscribe, or wait for 'G' in a storm. */
static void
recv_subscribe(struct bctx *x, struct bconn *c)
{
	struct recv	*r = x->x_arg;

	c->bc_nsub = 1;
	if (r->r_storm && !r->r_go) {
		/* Not in flight any more: the next may connect. */
		c->bc_parked = 1;
		r->r_parked++;
		r->r_inflight--;
		r->r_tpark = bench_now();
		return;
	}
	recv_send_subscribe(r, c);
}

/* Send c's subscribe to channel (its number mod --channels). */
static void
recv_send_subscribe(struct recv *r, struct bconn *c)
{
	const struct bench_conf *conf = r->r_x.x_conf;
	char		 name[256], req[384];
	size_t		 n;

	if (bench_channel(conf, c->bc_idx % conf->b_channels, name,
	    sizeof(name)) == 0 || (n = peer_subreq(conf, name, 1, req,
	    sizeof(req))) == 0) {
		bconn_fail(c, BF_SUBSCRIBE);
		return;
	}
	bconn_text(c, req, n);
	r->r_sublast = bench_now();
	if (r->r_sub0 == 0)
		r->r_sub0 = r->r_sublast;
}

/* A frame on a subscribed connection: a bench message, or not ours. */
static void
recv_text(struct bctx *x, struct bconn *c, const char *p, size_t len)
{
	struct recv	*r = x->x_arg;
	uint64_t	 v[4], now;

	if (r->r_resume) {
		resume_first_text(&r->r_rsm, c, p, len);
		return;
	}
	if (ws_gwb(p, len, v) == -1)
		return;
	now = bench_now();
	if (v[2] != c->bc_idx % x->x_conf->b_channels)
		r->r_fin.rf_mismatch++;
	if (v[1] > c->bc_lastseq) {
		r->r_fin.rf_gaps += v[1] - c->bc_lastseq - 1;
		c->bc_lastseq = v[1];
	} else
		r->r_fin.rf_reorder++;
	if (v[3] != 0) {
		r->r_fin.rf_warm++;
		return;
	}
	r->r_fin.rf_received++;
	hist_add(&r->r_fin.rf_hist, now > v[0] ? now - v[0] : 0);
	if (r->r_fin.rf_first_ns == 0)
		r->r_fin.rf_first_ns = now;
	r->r_fin.rf_last_ns = now;
}

/* A connection is subscribed, or has died (old: its state before). */
static void
recv_done(struct bctx *x, struct bconn *c, int old)
{
	struct recv	*r = x->x_arg;

	if (c->bc_parked) {	/* it died waiting: not in flight */
		c->bc_parked = 0;
		r->r_parked--;
		r->r_inflight++;
	}
	if (c->bc_state == BC_READY) {
		r->r_inflight--;
		r->r_done++;
		r->r_opened++;
		r->r_subs[c->bc_idx % x->x_conf->b_channels]++;
		r->r_tlast = bench_now();
		if (r->r_resume)
			resume_ready(&r->r_rsm, c);
	} else if (old == BC_READY) {
		r->r_fin.rf_closed++;
		if (r->r_resume)
			resume_lost(&r->r_rsm, c);
	} else {
		r->r_inflight--;
		r->r_done++;
	}
}

/* Before each poll: start more connections, or report. */
static void
recv_prep_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct recv	*r = w->data;
	unsigned	 cc = r->r_x.x_conf->b_concurrency;
	struct bconn	*c;

	(void)loop;
	(void)revents;
	while (r->r_inflight < cc && r->r_next < r->r_n) {
		c = &r->r_conns[r->r_next++];
		c->bc_idx = r->r_lo + (uint32_t)(c - r->r_conns);
		r->r_inflight++;
		(void)bconn_start(&r->r_x, c);
	}
	if (r->r_storm && !r->r_go) {
		if (r->r_next == r->r_n && r->r_done + r->r_parked == r->r_n)
			recv_parked(r);
	} else if (r->r_done == r->r_n)
		recv_ready(r);
}

/*
 * The connect phase is over: whatever is not subscribed (or, in a storm
 * before 'G', not waiting for it) has failed.
 */
static void
recv_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct recv	*r = w->data;
	uint32_t	 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < r->r_next; i++)
		if (r->r_conns[i].bc_state != BC_READY &&
		    !r->r_conns[i].bc_parked)
			bconn_fail(&r->r_conns[i], BF_TIMEOUT);
	r->r_x.x_fail[BF_TIMEOUT] += r->r_n - r->r_next;
	r->r_done += r->r_n - r->r_next;
	r->r_next = r->r_n;
	if (r->r_storm && !r->r_go)
		recv_parked(r);
	else
		recv_ready(r);
}

/* A storm's joiners are all welcomed (or failed): tell the parent. */
static void
recv_parked(struct recv *r)
{
	struct rec_parked	rk;

	if (r->r_parkedsent)
		return;
	r->r_parkedsent = 1;
	ev_timer_stop(r->r_x.x_loop, &r->r_deadline);
	memset(&rk, 0, sizeof(rk));
	rk.rk_parked = r->r_parked;
	rk.rk_connect_ns = r->r_parked > 0 ? r->r_tpark - r->r_t0 : 0;
	if (recv_write(r, REC_PARKED, &rk, sizeof(rk), NULL, 0) == -1) {
		r->r_status = 1;
		ev_break(r->r_x.x_loop, EVBREAK_ALL);
	}
}

/*
 * 'G': every waiting joiner sends its subscribe now, in one burst; they
 * have --connect-timeout seconds to be subscribed.
 */
static void
recv_join_all(struct recv *r)
{
	struct bconn	*c;
	uint32_t	 i;

	if (!r->r_storm || r->r_go)
		return;
	r->r_go = 1;
	ev_timer_stop(r->r_x.x_loop, &r->r_deadline);
	ev_timer_set(&r->r_deadline, r->r_x.x_conf->b_ctimeout, 0);
	ev_timer_start(r->r_x.x_loop, &r->r_deadline);
	for (i = 0; i < r->r_next; i++) {
		c = &r->r_conns[i];
		if (!c->bc_parked)
			continue;
		c->bc_parked = 0;
		r->r_parked--;
		r->r_inflight++;
		recv_send_subscribe(r, c);
	}
}

static void
recv_ready(struct recv *r)
{
	struct ev_loop	*loop = r->r_x.x_loop;
	struct rec_ready rr;

	if (r->r_readysent)
		return;
	r->r_readysent = 1;
	ev_prepare_stop(loop, &r->r_prep);
	ev_timer_stop(loop, &r->r_deadline);
	memset(&rr, 0, sizeof(rr));
	rr.rr_opened = r->r_opened;
	memcpy(rr.rr_fail, r->r_x.x_fail, sizeof(rr.rr_fail));
	rr.rr_connect_ns = r->r_opened > 0 ? r->r_tlast - r->r_t0 : 0;
	if (r->r_storm)		/* to the last welcome: joins are apart */
		rr.rr_connect_ns = r->r_tpark > 0 ? r->r_tpark - r->r_t0 : 0;
	rr.rr_sub0_ns = r->r_sub0;
	rr.rr_sublast_ns = r->r_sublast;
	rr.rr_nchan = r->r_x.x_conf->b_channels;
	if (recv_write(r, REC_READY, &rr, sizeof(rr), r->r_subs,
	    rr.rr_nchan * sizeof(uint32_t)) == -1) {
		r->r_status = 1;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_start(loop, &r->r_progress);
}

static void
recv_progress_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct recv		*r = w->data;
	struct rec_progress	 rp;

	(void)revents;
	memset(&rp, 0, sizeof(rp));
	rp.rp_received = r->r_fin.rf_received;
	rp.rp_closed = r->r_fin.rf_closed;
	rp.rp_warm = r->r_fin.rf_warm;
	if (r->r_resume)
		resume_progress(&r->r_rsm, &rp);
	if (recv_write(r, REC_PROGRESS, &rp, sizeof(rp), NULL, 0) == -1) {
		r->r_status = 1;
		ev_break(loop, EVBREAK_ALL);
	}
}

/*
 * Commands from the parent (see the top): read what is there, do each
 * whole one.  EOF: the parent is gone.
 */
static void
recv_ctl_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct recv	*r = w->data;
	ssize_t		 n;

	(void)revents;
	n = read(w->fd, r->r_cbuf + r->r_clen, sizeof(r->r_cbuf) - r->r_clen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		r->r_status = 1;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	r->r_clen += (size_t)n;
	if (recv_command(r) == -1)
		ev_break(loop, EVBREAK_ALL);
}

/*
 * Do the whole commands in r_cbuf.  Return 0, or -1 when the receiver
 * is done: after 'R' (its final record sent), or a command it does not
 * know (r_status 1).
 */
static int
recv_command(struct recv *r)
{
	uint64_t	total;
	size_t		need;
	char		ch;

	while (r->r_clen > 0) {	/* each turn consumes one */
		ch = r->r_cbuf[0];
		need = ch == 'S' || ch == 'R' ? 1 + sizeof(total) : 1;
		if (r->r_clen < need)
			return 0;
		if (ch == 'G')
			recv_join_all(r);
		else if (ch == 'S' || ch == 'R') {
			memcpy(&total, r->r_cbuf + 1, sizeof(total));
			if (r->r_resume)
				resume_total(&r->r_rsm, total);
		} else {
			r->r_status = 1;
			return -1;
		}
		if (ch == 'R') {
			if (r->r_resume)
				resume_final(&r->r_rsm);
			if (recv_write(r, REC_FINAL, &r->r_fin,
			    sizeof(r->r_fin), NULL, 0) == -1)
				r->r_status = 1;
			return -1;
		}
		memmove(r->r_cbuf, r->r_cbuf + need, r->r_clen - need);
		r->r_clen -= need;
	}
	return 0;
}

/*
 * Run the receiver of connections lo..hi-1: report to wfd, obey rfd.
 * Return the process's exit status: 0 after the final report, 1 if the
 * parent went away.
 */
int
recv_main(const struct bench_conf *conf, uint32_t lo, uint32_t hi, int wfd,
    int rfd)
{
	struct recv	*r;
	struct ev_loop	*loop;
	uint32_t	 i;
	int		 status;

	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		return 1;
	r = xcalloc(1, sizeof(*r));
	r->r_x.x_loop = loop;
	r->r_x.x_conf = conf;
	r->r_x.x_rbuf = xmalloc(BENCH_RBUFSZ);
	r->r_x.x_seed = (uint32_t)(bench_now() ^ ((uint64_t)getpid() << 16));
	r->r_x.x_arg = r;
	r->r_x.x_welcome = recv_welcome;
	r->r_x.x_subscribe = recv_subscribe;
	r->r_x.x_text = recv_text;
	r->r_x.x_done = recv_done;
	r->r_x.x_tgt = &conf->b_sub;
	r->r_x.x_users = conf->b_userpat[0] != '\0';
	r->r_storm = conf->b_watchers > 0;
	r->r_lo = lo;
	r->r_n = hi - lo;
	r->r_conns = xcalloc(r->r_n, sizeof(*r->r_conns));
	r->r_subs = xcalloc(conf->b_channels, sizeof(*r->r_subs));
	r->r_wfd = wfd;
	r->r_rfd = rfd;
	r->r_t0 = bench_now();
	if ((r->r_resume = conf->b_hasresume) != 0)
		resume_init(&r->r_rsm, loop, conf, r->r_conns, lo, r->r_n,
		    r->r_x.x_rbuf, &r->r_fin);
	ev_prepare_init(&r->r_prep, recv_prep_cb);
	r->r_prep.data = r;
	ev_prepare_start(loop, &r->r_prep);
	ev_timer_init(&r->r_deadline, recv_deadline_cb, conf->b_ctimeout, 0);
	r->r_deadline.data = r;
	ev_timer_start(loop, &r->r_deadline);
	ev_timer_init(&r->r_progress, recv_progress_cb, 0.2, 0.2);
	r->r_progress.data = r;
	ev_io_init(&r->r_ctl, recv_ctl_cb, rfd, EV_READ);
	r->r_ctl.data = r;
	ev_io_start(loop, &r->r_ctl);
	ev_run(loop, 0);

	resume_free(&r->r_rsm);
	for (i = 0; i < r->r_next; i++)
		bconn_free(&r->r_conns[i]);
	status = r->r_status;
	free(r->r_conns);
	free(r->r_subs);
	free(r->r_x.x_rbuf);
	free(r);
	ev_loop_destroy(loop);
	return status;
}
