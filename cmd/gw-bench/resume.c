/*
 * resume.c -- the victims of a reconnect storm (--resume-url), in a
 * receiver process.  Each connection subscribed on the first node is a
 * victim.  It keeps its welcome's session id and, for its channel, the
 * sequence numbers it has: a contiguous high water mark, plus a bitmap
 * of those above it only while something is missing below them (seq.c),
 * and the offset of the last message that moved the mark.
 *
 * When its connection is lost, a victim waits a random time (full
 * jitter in [0, --backoff]) and connects to the resume URL with
 * session=SID.  The welcome must say resumed:true (a fresh session is
 * counted, and the victim given up).  After a node was killed, the
 * restored channel's subscribed frame says recovered:false (the node
 * could not save its offsets), so the victim subscribes again with
 * since=its offset and gets the history after it; live messages may
 * come before that replay, and the replay may repeat some of them:
 * duplicates are counted, not lost.  A victim is caught up once it has
 * the message at the answer's latest offset and no gap.  A subscribe
 * that fails for a while (unavailable: the node lost its Redis link) is
 * sent again after a jittered delay; a restore that failed (an error
 * frame without id) is replaced by the subscribe with since; a later
 * gap the node reports (subscribed with recovered:false, no id) is
 * filled the same way.  A failed
 * attempt (refused, an HTTP error such as 503, closed before the
 * welcome, or no welcome within BENCH_ATTEMPT seconds) is tried again
 * after a jittered delay that doubles from BENCH_RETRY0 up to
 * BENCH_RETRYMAX seconds, until the run ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "xmalloc.h"

enum {
	V_FIRST,		/* on the first node (or never subscribed) */
	V_WAIT,			/* lost: its timer starts the next attempt */
	V_TRYING,		/* an attempt before its welcome */
	V_RESTORE,		/* resumed: waiting for the restored channel */
	V_SINCE,		/* the subscribe with since is sent */
	V_AGAIN,		/* it failed: its timer sends it again */
	V_CATCHUP,		/* answered: up to latest, without a gap? */
	V_CAUGHT,		/* caught up */
	V_FRESH,		/* welcomed with a fresh session: given up */
	V_FAILED		/* the subscribe with since failed: given up */
};

#define VF_VICTIM	0x01	/* subscribed on the first node */
#define VF_LOST		0x02	/* and lost that connection */
#define VF_RESUMED	0x04	/* resumed at least once */
#define VF_REACHED	0x08	/* has the message at v_latest */

static double	resume_rand(struct rsm *);
static void	resume_schedule(struct rsm *, struct victim *, double);
static void	resume_timer_cb(struct ev_loop *, ev_timer *, int);
static const char *resume_session(struct bctx *, struct bconn *);
static void	resume_welcome(struct bctx *, struct bconn *, const char *,
		    size_t);
static void	resume_subscribe(struct bctx *, struct bconn *);
static void	resume_text(struct bctx *, struct bconn *, const char *,
		    size_t);
static void	resume_done(struct bctx *, struct bconn *, int);
static void	resume_restored(struct rsm *, struct bconn *, struct victim *,
		    const char *, size_t);
static void	resume_since(struct rsm *, struct bconn *, struct victim *);
static void	resume_error(struct rsm *, struct victim *, const char *,
		    size_t);
static int	resume_ours(struct rsm *, struct bconn *, const char *,
		    size_t);
static void	resume_latest(struct rsm *, struct victim *, const char *,
		    size_t);
static void	resume_message(struct rsm *, struct bconn *, struct victim *,
		    const char *, size_t, const uint64_t [4]);
static void	resume_check(struct rsm *, struct victim *);
static int	resume_complete(struct rsm *, uint32_t);
static uint64_t	last_seq(uint64_t, uint32_t, uint32_t);
static int	off_copy(char *, const char *, size_t);
static int	off_cmp(const char *, const char *);

/*
 * Set up the victims of the receiver's n connections conns (numbers lo
 * and up): their resume context (on --resume-url, sharing the
 * receiver's read buffer rbuf) and their timers.  Deliveries are
 * counted in fin, the receiver's final record.  resume_free() frees
 * what this allocates.
 */
void
resume_init(struct rsm *m, struct ev_loop *loop, const struct bench_conf *conf,
    struct bconn *conns, uint32_t lo, uint32_t n, char *rbuf,
    struct rec_final *fin)
{
	uint32_t	i;

	memset(m, 0, sizeof(*m));
	m->m_x.x_loop = loop;
	m->m_x.x_conf = conf;
	m->m_x.x_rbuf = rbuf;
	m->m_x.x_seed = (uint32_t)(bench_now() ^ ((uint64_t)getpid() << 8)) |
	    1;
	m->m_x.x_arg = m;
	m->m_x.x_tgt = &conf->b_resume;
	m->m_x.x_users = 1;
	m->m_x.x_session = resume_session;
	m->m_x.x_welcome = resume_welcome;
	m->m_x.x_subscribe = resume_subscribe;
	m->m_x.x_text = resume_text;
	m->m_x.x_done = resume_done;
	m->m_conns = conns;
	m->m_lo = lo;
	m->m_n = n;
	m->m_fin = fin;
	m->m_v = xcalloc(n, sizeof(*m->m_v));
	for (i = 0; i < n; i++) {
		ev_timer_init(&m->m_v[i].v_timer, resume_timer_cb, 0, 0);
		m->m_v[i].v_timer.data = m;
	}
}

/* A uniform random number in [0, 1). */
static double
resume_rand(struct rsm *m)
{
	return (double)bench_rand(&m->m_x.x_seed) / 4294967296.0;
}

/* Try v again after a random delay in [0, window] seconds. */
static void
resume_schedule(struct rsm *m, struct victim *v, double window)
{
	v->v_state = V_WAIT;
	m->m_moved++;
	ev_timer_stop(m->m_x.x_loop, &v->v_timer);
	ev_timer_set(&v->v_timer, window * resume_rand(m), 0);
	ev_timer_start(m->m_x.x_loop, &v->v_timer);
}

/*
 * A victim's delay is over: connect to the resume URL, within
 * BENCH_ATTEMPT seconds.  Or that time is over: the attempt failed.  Or
 * a failed subscribe's delay is over: send it again.
 */
static void
resume_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rsm	*m = w->data;
	struct victim	*v = (struct victim *)w;	/* v_timer is first */
	struct bconn	*c = &m->m_conns[v - m->m_v];
	uint32_t	 idx = c->bc_idx;

	(void)revents;
	if (v->v_state == V_TRYING) {
		bconn_fail(c, BF_TIMEOUT);
		return;
	}
	if (v->v_state == V_AGAIN) {
		if (c->bc_state == BC_READY)
			resume_since(m, c, v);
		return;
	}
	if (v->v_state != V_WAIT)
		return;
	bconn_free(c);
	memset(c, 0, sizeof(*c));
	c->bc_idx = idx;
	v->v_state = V_TRYING;
	v->v_try_ns = bench_now();
	m->m_rs.rs_attempts++;
	m->m_moved++;
	ev_timer_set(&v->v_timer, BENCH_ATTEMPT, 0);
	ev_timer_start(loop, &v->v_timer);
	(void)bconn_start(&m->m_x, c);
}

/* The session=SID of c's attempt, or NULL if its welcome had none. */
static const char *
resume_session(struct bctx *x, struct bconn *c)
{
	struct rsm	*m = x->x_arg;
	struct victim	*v = &m->m_v[c - m->m_conns];

	return v->v_sid[0] != '\0' ? v->v_sid : NULL;
}

/*
 * The welcome of c's first connection (on --url): keep its session id
 * (hexadecimal digits, at most BENCH_SIDMAX), or none.
 */
void
resume_first_welcome(struct rsm *m, struct bconn *c, const char *p,
    size_t len)
{
	struct victim	*v = &m->m_v[c - m->m_conns];
	const char	*s;
	size_t		 sl, i;

	v->v_sid[0] = '\0';
	if (ws_string(p, len, "session", &s, &sl) == -1 || sl == 0 ||
	    sl > BENCH_SIDMAX)
		return;
	for (i = 0; i < sl; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return;
	memcpy(v->v_sid, s, sl);
	v->v_sid[sl] = '\0';
}

/* c is subscribed on the first node: a victim. */
void
resume_ready(struct rsm *m, struct bconn *c)
{
	m->m_v[c - m->m_conns].v_flags |= VF_VICTIM;
}

/* A text frame on c's first connection: a bench message, or not ours. */
void
resume_first_text(struct rsm *m, struct bconn *c, const char *p, size_t len)
{
	uint64_t	g[4];

	if (ws_gwb(p, len, g) == 0)
		resume_message(m, c, &m->m_v[c - m->m_conns], p, len, g);
}

/*
 * c's first connection (it was subscribed) is lost: count the victim,
 * and start its first attempt within --backoff seconds.
 */
void
resume_lost(struct rsm *m, struct bconn *c)
{
	struct victim	*v = &m->m_v[c - m->m_conns];

	if ((v->v_flags & VF_LOST) == 0) {
		v->v_flags |= VF_LOST;
		m->m_rs.rs_lost++;
		if (v->v_hwm == 0)
			m->m_rs.rs_nooffset++;
	}
	v->v_lost_ns = bench_now();
	resume_schedule(m, v, m->m_x.x_conf->b_backoff);
}

/*
 * A resume attempt's welcome: resumed (the restored channel's
 * subscribed comes next, unless none was restored: then subscribe at
 * once), or a fresh session, which gives the victim up.
 */
static void
resume_welcome(struct bctx *x, struct bconn *c, const char *p, size_t len)
{
	struct rsm	*m = x->x_arg;
	struct victim	*v = &m->m_v[c - m->m_conns];

	m->m_moved++;
	ev_timer_stop(x->x_loop, &v->v_timer);
	if (!ws_find(p, len, "\"resumed\":true")) {
		v->v_state = V_FRESH;
		m->m_rs.rs_fresh++;
		bconn_free(c);	/* not a failed attempt: no x_done */
		return;
	}
	if ((v->v_flags & VF_RESUMED) == 0) {
		v->v_flags |= VF_RESUMED;
		m->m_rs.rs_resumed++;
	}
	m->m_rs.rs_welcome_ns = bench_now();
	v->v_tries = 0;
	v->v_flags &= ~VF_REACHED;
	v->v_latest[0] = '\0';
	v->v_state = V_RESTORE;
	if (ws_find(p, len, "\"channels\":[]")) {
		m->m_rs.rs_not_restored++;
		resume_since(m, c, v);
	}
}

/* Resumed: the frames that follow go to resume_text(). */
static void
resume_subscribe(struct bctx *x, struct bconn *c)
{
	(void)x;
	c->bc_nsub = 0;
	c->bc_state = BC_READY;
}

/*
 * A frame on a resumed connection: a bench message, the restored
 * channel's subscribed (no id), or the answer to the subscribe with
 * since (id 2).
 */
static void
resume_text(struct bctx *x, struct bconn *c, const char *p, size_t len)
{
	struct rsm	*m = x->x_arg;
	struct victim	*v = &m->m_v[c - m->m_conns];
	uint64_t	 g[4], id;
	int		 hasid;

	if (ws_gwb(p, len, g) == 0) {
		resume_message(m, c, v, p, len, g);
		return;
	}
	hasid = ws_number(p, len, "id", &id) == 0;
	if (ws_find(p, len, "\"type\":\"subscribed\"")) {
		if (!hasid)
			resume_restored(m, c, v, p, len);
		else if (id == 2 && v->v_state == V_SINCE) {
			if (ws_find(p, len, "\"recovered\":true"))
				m->m_rs.rs_since_true++;
			else if (ws_find(p, len, "\"recovered\":false"))
				m->m_rs.rs_since_false++;
			v->v_tries = 0;
			resume_latest(m, v, p, len);
		}
	} else if (ws_find(p, len, "\"type\":\"error\"")) {
		if (hasid && id == 2 && v->v_state == V_SINCE)
			resume_error(m, v, p, len);
		else if (!hasid && v->v_state == V_RESTORE &&
		    resume_ours(m, c, p, len)) {
			/* The restore failed: no channel, subscribe. */
			m->m_rs.rs_restore_err++;
			resume_since(m, c, v);
		}
	}
}

/*
 * Does frame p name c's channel, or none (an error about a request
 * without id)?
 */
static int
resume_ours(struct rsm *m, struct bconn *c, const char *p, size_t len)
{
	const struct bench_conf *conf = m->m_x.x_conf;
	char		 name[256];
	const char	*s;
	size_t		 sl, nl;

	if (ws_string(p, len, "channel", &s, &sl) == -1)
		return 1;
	return (nl = bench_channel(conf, c->bc_idx % conf->b_channels, name,
	    sizeof(name))) != 0 && sl == nl && memcmp(s, name, nl) == 0;
}

/*
 * The subscribe with since failed: send it again after a jittered delay
 * (from BENCH_RETRY0, doubling up to BENCH_RETRYMAX) if the node may
 * answer it later (unavailable, rate_limited, internal); else give the
 * victim up.
 */
static void
resume_error(struct rsm *m, struct victim *v, const char *p, size_t len)
{
	const char	*code;
	size_t		 cl;
	double		 w;

	m->m_rs.rs_since_err++;
	m->m_moved++;
	if (ws_string(p, len, "code", &code, &cl) == -1 ||
	    !((cl == 11 && memcmp(code, "unavailable", 11) == 0) ||
	    (cl == 12 && memcmp(code, "rate_limited", 12) == 0) ||
	    (cl == 8 && memcmp(code, "internal", 8) == 0))) {
		v->v_state = V_FAILED;
		return;
	}
	m->m_rs.rs_since_again++;
	if (v->v_tries < 16)
		v->v_tries++;
	w = BENCH_RETRY0 * (double)(1U << (v->v_tries - 1));
	v->v_state = V_AGAIN;
	ev_timer_stop(m->m_x.x_loop, &v->v_timer);
	ev_timer_set(&v->v_timer, (w < BENCH_RETRYMAX ? w : BENCH_RETRYMAX) *
	    resume_rand(m), 0);
	ev_timer_start(m->m_x.x_loop, &v->v_timer);
}

/*
 * A subscribed frame without id: the restored channel's (recovered:true
 * needs no more; recovered:false, the subscribe with since, unless
 * --no-since or the victim had no message to give the offset of), or
 * later a gap the node reports (recovered:false: the same).
 */
static void
resume_restored(struct rsm *m, struct bconn *c, struct victim *v,
    const char *p, size_t len)
{
	const struct bench_conf *conf = m->m_x.x_conf;
	const char	*s;
	size_t		 sl;

	if (ws_string(p, len, "channel", &s, &sl) == -1 ||
	    !resume_ours(m, c, p, len))
		return;		/* another channel: not ours */
	if (v->v_state == V_CATCHUP || v->v_state == V_CAUGHT) {
		if (ws_find(p, len, "\"recovered\":false") &&
		    !conf->b_nosince && v->v_since[0] != '\0') {
			m->m_rs.rs_gap_told++;
			resume_since(m, c, v);
		}
		return;
	}
	if (v->v_state != V_RESTORE)
		return;
	if (ws_find(p, len, "\"recovered\":true")) {
		m->m_rs.rs_rest_true++;
		resume_latest(m, v, p, len);
		return;
	}
	m->m_rs.rs_rest_false++;
	if (conf->b_nosince || v->v_since[0] == '\0')
		resume_latest(m, v, p, len);
	else
		resume_since(m, c, v);
}

/*
 * Subscribe c to its channel again, with since=the offset of the last
 * message that moved its mark (without since if it has none, or with
 * --no-since: then only for a channel that was not restored).
 */
static void
resume_since(struct rsm *m, struct bconn *c, struct victim *v)
{
	const struct bench_conf *conf = m->m_x.x_conf;
	char		 name[256], req[512];
	int		 n;

	if (bench_channel(conf, c->bc_idx % conf->b_channels, name,
	    sizeof(name)) == 0) {
		bconn_fail(c, BF_SUBSCRIBE);
		return;
	}
	if (conf->b_nosince || v->v_since[0] == '\0')
		n = snprintf(req, sizeof(req), "{\"type\":\"subscribe\","
		    "\"channel\":\"%s\",\"id\":2}", name);
	else {
		n = snprintf(req, sizeof(req), "{\"type\":\"subscribe\","
		    "\"channel\":\"%s\",\"since\":\"%s\",\"id\":2}", name,
		    v->v_since);
		m->m_rs.rs_since++;
	}
	if (n < 0 || (size_t)n >= sizeof(req)) {
		bconn_fail(c, BF_SUBSCRIBE);
		return;
	}
	v->v_flags &= ~VF_REACHED;
	v->v_latest[0] = '\0';
	v->v_state = V_SINCE;
	m->m_moved++;
	bconn_text(c, req, (size_t)n);
}

/*
 * A subscribed frame told the channel's latest offset: the victim is
 * caught up once it has that message and no gap.
 */
static void
resume_latest(struct rsm *m, struct victim *v, const char *p, size_t len)
{
	const char	*o;
	size_t		 ol;

	v->v_state = V_CATCHUP;
	if (ws_string(p, len, "offset", &o, &ol) == -1 ||
	    off_copy(v->v_latest, o, ol) == -1) {
		v->v_latest[0] = '\0';	/* none we can compare: gaps only */
		v->v_flags |= VF_REACHED;
	} else if (v->v_max[0] != '\0' && off_cmp(v->v_max, v->v_latest) >= 0)
		v->v_flags |= VF_REACHED;
	resume_check(m, v);
}

/*
 * A bench message g (send time, sequence number, channel, warm-up) to
 * victim v on c, with its offset in the frame p: its sequence number
 * tracked, the mark's offset and the highest offset kept, and a first
 * delivery counted (with its latency if measured).
 */
static void
resume_message(struct rsm *m, struct bconn *c, struct victim *v,
    const char *p, size_t len, const uint64_t g[4])
{
	struct rec_final *f = m->m_fin;
	char		 off[BENCH_OFFMAX + 1];
	const char	*o;
	size_t		 ol;
	uint64_t	 now;
	int		 r;

	m->m_moved++;
	if (g[1] == 0 || g[2] != c->bc_idx % m->m_x.x_conf->b_channels) {
		f->rf_mismatch++;
		return;
	}
	if (ws_string(p, len, "offset", &o, &ol) == -1 ||
	    off_copy(off, o, ol) == -1)
		off[0] = '\0';
	if ((r = seq_track(v, g[1], &m->m_rs)) == SEQ_DUP)
		return;
	if (off[0] != '\0') {
		if (r == SEQ_ADVANCE)
			memcpy(v->v_since, off, sizeof(off));
		if (v->v_max[0] == '\0' || off_cmp(off, v->v_max) > 0)
			memcpy(v->v_max, off, sizeof(off));
		if (v->v_latest[0] != '\0' && off_cmp(off, v->v_latest) >= 0)
			v->v_flags |= VF_REACHED;
	}
	/* Published while away, before this attempt: it was replayed. */
	if ((v->v_flags & VF_LOST) != 0 && g[0] > v->v_lost_ns &&
	    g[0] < v->v_try_ns)
		m->m_rs.rs_replayed++;
	now = bench_now();
	if (g[3] != 0)
		f->rf_warm++;
	else {
		f->rf_received++;
		hist_add(&f->rf_hist, now > g[0] ? now - g[0] : 0);
		if (f->rf_first_ns == 0)
			f->rf_first_ns = now;
		f->rf_last_ns = now;
	}
	resume_check(m, v);
}

/* Is v caught up now: latest reached, and no gap (unless --no-since)? */
static void
resume_check(struct rsm *m, struct victim *v)
{
	if (v->v_state != V_CATCHUP || (v->v_flags & VF_REACHED) == 0 ||
	    (v->v_bits != NULL && !m->m_x.x_conf->b_nosince))
		return;
	v->v_state = V_CAUGHT;
	m->m_rs.rs_caught_ns = bench_now();
	m->m_moved++;
}

/*
 * A resume connection failed before its welcome (try again after a
 * doubling jittered delay), or a resumed one was lost (try again
 * soon).  A victim given up a fresh session was closed without this.
 */
static void
resume_done(struct bctx *x, struct bconn *c, int old)
{
	struct rsm	*m = x->x_arg;
	struct victim	*v = &m->m_v[c - m->m_conns];
	double		 w;

	if (c->bc_state == BC_READY || v->v_state == V_FRESH)
		return;
	m->m_moved++;
	if (old == BC_READY) {
		v->v_lost_ns = bench_now();
		v->v_tries = 0;
		resume_schedule(m, v, BENCH_RETRY0);
		return;
	}
	if (v->v_tries < 16)
		v->v_tries++;
	w = BENCH_RETRY0 * (double)(1U << (v->v_tries - 1));
	resume_schedule(m, v, w < BENCH_RETRYMAX ? w : BENCH_RETRYMAX);
}

/* The publisher has sent total messages in all (so far, or at the end). */
void
resume_total(struct rsm *m, uint64_t total)
{
	m->m_total = total;
}

/*
 * Has victim i every message of its channel up to the last published,
 * on a live connection?
 */
static int
resume_complete(struct rsm *m, uint32_t i)
{
	const struct victim *v = &m->m_v[i];
	uint32_t	 nch = m->m_x.x_conf->b_channels;

	return m->m_total > 0 && v->v_hwm != 0 &&
	    m->m_conns[i].bc_state == BC_READY &&
	    v->v_hwm >= last_seq(m->m_total, nch, (m->m_lo + i) % nch);
}

/* The victims' counts so far, into rp (the receiver's progress record). */
void
resume_progress(struct rsm *m, struct rec_progress *rp)
{
	const struct victim *v;
	uint32_t	 i;

	rp->rp_lost = m->m_rs.rs_lost;
	rp->rp_resumed = m->m_rs.rs_resumed;
	rp->rp_caught = rp->rp_final = rp->rp_complete = rp->rp_waiting = 0;
	for (i = 0; i < m->m_n; i++) {
		v = &m->m_v[i];
		if ((v->v_flags & VF_VICTIM) == 0)
			continue;
		if (v->v_state == V_CAUGHT)
			rp->rp_caught++;
		else if (v->v_state == V_FRESH || v->v_state == V_FAILED)
			rp->rp_final++;
		else if (v->v_state == V_WAIT || v->v_state == V_TRYING ||
		    v->v_state == V_AGAIN)
			rp->rp_waiting++;
		if (resume_complete(m, i))
			rp->rp_complete++;
	}
	rp->rp_moved = m->m_moved;
	rp->rp_welcome_ns = m->m_rs.rs_welcome_ns;
	rp->rp_caught_ns = m->m_rs.rs_caught_ns;
}

/*
 * The run is over: count, into the final record's rf_resume, the
 * victims' states and, for each connected one that had a message, the
 * sequence numbers from its first to the last published that never
 * came (call resume_total() first).
 */
void
resume_final(struct rsm *m)
{
	struct rec_resume *rs = &m->m_rs;
	const struct victim *v;
	uint32_t	 i, nch = m->m_x.x_conf->b_channels;
	uint64_t	 last, gap;
	int		 alive;

	memcpy(rs->rs_afail, m->m_x.x_fail, sizeof(rs->rs_afail));
	rs->rs_victims = rs->rs_alive = rs->rs_relost = rs->rs_caught = 0;
	rs->rs_checked = rs->rs_missed = 0;
	for (i = 0; i < m->m_n; i++) {
		v = &m->m_v[i];
		if ((v->v_flags & VF_VICTIM) == 0)
			continue;
		rs->rs_victims++;
		alive = m->m_conns[i].bc_state == BC_READY;
		rs->rs_alive += alive;
		if ((v->v_flags & VF_RESUMED) != 0 && !alive)
			rs->rs_relost++;
		if (v->v_state == V_CAUGHT)
			rs->rs_caught++;
		if (!alive || v->v_hwm == 0 || m->m_total == 0)
			continue;
		rs->rs_checked++;
		last = last_seq(m->m_total, nch, (m->m_lo + i) % nch);
		if (last <= v->v_hwm)
			continue;
		gap = last - v->v_hwm;
		rs->rs_missed += gap - (v->v_nbits < gap ? v->v_nbits : gap);
	}
	rs->rs_missed += rs->rs_overflow;
	m->m_fin->rf_gaps = rs->rs_missed;
	m->m_fin->rf_reorder = rs->rs_reorder;
	m->m_fin->rf_resume = *rs;
}

/* Stop the victims' timers and free their bitmaps and the victims. */
void
resume_free(struct rsm *m)
{
	uint32_t	i;

	if (m->m_v == NULL)
		return;
	for (i = 0; i < m->m_n; i++) {
		ev_timer_stop(m->m_x.x_loop, &m->m_v[i].v_timer);
		free(m->m_v[i].v_bits);
	}
	free(m->m_v);
	m->m_v = NULL;
}

/*
 * The last sequence number of channel k once total messages went out
 * round-robin over nch channels (message m is number m / nch + 1 of
 * channel m % nch).
 */
static uint64_t
last_seq(uint64_t total, uint32_t nch, uint32_t k)
{
	return total / nch + (k < total % nch ? 1 : 0);
}

/*
 * Copy the offset at s (n bytes) to dst (BENCH_OFFMAX + 1 bytes) if it
 * looks like one: lowercase hexadecimal digits, ':' and '-' only.
 * Return 0, or -1 (dst untouched).
 */
static int
off_copy(char *dst, const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > BENCH_OFFMAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f') || s[i] == ':' || s[i] == '-'))
			return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/*
 * Compare two offsets: below 0, 0 or above 0 as a is before, the same
 * as or after b.  Offsets of two epochs (the part before ':') or of two
 * lengths do not compare: a counts as after b.
 */
static int
off_cmp(const char *a, const char *b)
{
	const char	*ca = strchr(a, ':'), *cb = strchr(b, ':');

	if (strlen(a) != strlen(b) || ca == NULL || cb == NULL ||
	    ca - a != cb - b || memcmp(a, b, (size_t)(ca - a)) != 0)
		return 1;
	return strcmp(a, b);
}
