/*
 * bench.c -- the parent process of gw-bench.  It forks the receivers
 * (at most BENCH_PERPROC connections each), waits until each has said
 * REC_READY, connects the publisher, samples the server, publishes for
 * the warm-up and the duration, then waits (at most --drain seconds, and
 * no longer than 3 s without progress) until every expected delivery
 * arrived, samples the server again, asks each receiver for REC_FINAL
 * and prints the report.  A watchdog bounds the whole run.
 *
 * A presence storm (--watchers) goes otherwise: the receivers connect
 * their joiners and say REC_PARKED while the watchers connect and
 * subscribe (storm.c); then 'G' makes every joiner join at once; once
 * the receivers are ready, the parent waits until every watcher has seen
 * every join, then times the presence queries.
 *
 * A reconnect storm (--resume-url) goes like a fan-out run, with the
 * bystanders (bystand.c) connected beside the receivers, until the
 * warm-up is over: then the parent kills the --kill processes at once
 * (T0) and the receivers' victims resume elsewhere (resume.c).  The
 * storm is over when every victim has lost its connection and is caught
 * up on the other node or given up; the publishing stops a second later
 * (or after --duration), and the drain waits until every victim has
 * every message, at most --drain seconds and 3 s without progress once
 * no victim is still trying to resume.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "log.h"
#include "xmalloc.h"

#define CHILD_MAXREC	(sizeof(struct rec_ready) + \
			    BENCH_MAXCHAN * sizeof(uint32_t))
#define DRAIN_STALL	3.0	/* seconds without a delivery */

enum {
	PH_CONNECT, PH_PUBCONNECT, PH_RUN, PH_DRAIN, PH_FINAL,
	PH_WATCH,		/* a storm's watchers and joiners connect */
	PH_STORM,		/* the joins are all sent: are they seen? */
	PH_QUERY		/* presence queries */
};

struct child {
	pid_t		 ch_pid;
	int		 ch_rfd;	/* records from the child */
	int		 ch_wfd;	/* commands to it */
	ev_io		 ch_io;
	char		*ch_buf;
	size_t		 ch_len;
	int		 ch_ready;
	int		 ch_parked;	/* REC_PARKED came */
	int		 ch_final;
	int		 ch_eof;
	struct rec_progress ch_prog;
};

struct bench {
	struct bench_conf *b_conf;
	struct bystand	 b_byst;
	int		 b_bysready;	/* the bystanders subscribed */
	int		 b_killed;	/* T0 is past */
	int		 b_stormover;	/* every victim settled */
	uint64_t	 b_stopat;	/* stop publishing then, or 0 */
	ev_timer	 b_killtimer;	/* the warm-up's end */
	struct ev_loop	*b_loop;
	struct child	 b_kids[BENCH_MAXPROCS];
	int		 b_nkids;
	int		 b_phase;
	uint32_t	*b_subs;	/* subscribers per channel */
	struct pub	 b_pub;
	struct storm	 b_storm;
	int		 b_watchready;	/* the storm's watchers subscribed */
	ev_timer	 b_watchdog;
	ev_timer	 b_poll;	/* the run's end, the drain */
	uint64_t	 b_lastrecv;	/* deliveries seen, warm-up too */
	uint64_t	 b_lastmove;	/* when b_lastrecv last changed */
	struct report	 b_rep;
};

static void	bench_fork(struct bench *);
static void	bench_child_cb(struct ev_loop *, ev_io *, int);
static int	bench_record(struct bench *, struct child *, uint32_t,
		    const char *, size_t);
static void	bench_step(struct bench *);
static void	bench_pub_cb(struct pub *, int);
static void	bench_storm_cb(struct storm *, int);
static void	bench_storm_join(struct bench *);
static void	bench_storm_go(struct bench *);
static double	bench_cpu(const struct bench_conf *);
static void	bench_poll_cb(struct ev_loop *, ev_timer *, int);
static void	bench_final(struct bench *);
static void	bench_watchdog_cb(struct ev_loop *, ev_timer *, int);
static void	bench_reap(struct bench *);
static void	bench_byst_cb(struct bystand *, int);
static void	bench_kill_cb(struct ev_loop *, ev_timer *, int);
static void	bench_resume_poll(struct bench *, uint64_t);
static void	bench_tell(struct bench *, char, uint64_t);
static void	bench_resume_merge(struct resume_report *,
		    const struct rec_resume *);

/* Fork the receivers; each gets a share of the connections. */
static void
bench_fork(struct bench *b)
{
	const struct bench_conf *conf = b->b_conf;
	uint32_t	 lo, hi, per;
	int		 up[2], down[2], i, j;
	pid_t		 pid;

	per = (conf->b_conns + conf->b_procs - 1) / conf->b_procs;
	for (i = 0; i < (int)conf->b_procs; i++) {
		lo = (uint32_t)i * per;
		hi = lo + per < conf->b_conns ? lo + per : conf->b_conns;
		if (lo >= hi)
			break;
		if (pipe2(up, O_CLOEXEC) == -1 || pipe2(down, O_CLOEXEC) == -1)
			fatal("pipe");
		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			if (conf->b_rnice > 0 &&
			    setpriority(PRIO_PROCESS, 0, conf->b_rnice) == -1)
				log_warn("receiver-nice %d", conf->b_rnice);
			for (j = 0; j < i; j++) {
				close(b->b_kids[j].ch_rfd);
				close(b->b_kids[j].ch_wfd);
			}
			close(up[0]);
			close(down[1]);
			_exit(recv_main(conf, lo, hi, up[1], down[0]));
		}
		close(up[1]);
		close(down[0]);
		b->b_kids[i].ch_pid = pid;
		b->b_kids[i].ch_rfd = up[0];
		b->b_kids[i].ch_wfd = down[1];
		(void)fcntl(up[0], F_SETFL, O_NONBLOCK);
		b->b_nkids++;
	}
}

/* Records from a receiver: a few reads at most per event. */
static void
bench_child_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct bench	*b = ev_userdata(loop);
	struct child	*ch = w->data;
	struct rec_hdr	 h;
	ssize_t		 n;
	size_t		 off;
	int		 round;

	(void)revents;
	for (round = 0; round < 8; round++) {
		n = read(w->fd, ch->ch_buf + ch->ch_len, CHILD_MAXREC +
		    sizeof(h) - ch->ch_len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			ev_io_stop(loop, w);
			ch->ch_eof = 1;
			if (!ch->ch_final)
				b->b_rep.rp_lost++;
			break;
		}
		ch->ch_len += (size_t)n;
		for (off = 0; ch->ch_len - off >= sizeof(h); ) {
			memcpy(&h, ch->ch_buf + off, sizeof(h));
			if (h.r_len > CHILD_MAXREC) {
				log_warnx("receiver %d: bad record",
				    (int)ch->ch_pid);
				fatalx("receiver protocol error");
			}
			if (ch->ch_len - off - sizeof(h) < h.r_len)
				break;
			if (bench_record(b, ch, h.r_type, ch->ch_buf + off +
			    sizeof(h), h.r_len) == -1)
				fatalx("receiver %d: bad record",
				    (int)ch->ch_pid);
			off += sizeof(h) + h.r_len;
		}
		memmove(ch->ch_buf, ch->ch_buf + off, ch->ch_len - off);
		ch->ch_len -= off;
	}
	bench_step(b);
}

/* One record from child ch.  Return 0, or -1 if it is malformed. */
static int
bench_record(struct bench *b, struct child *ch, uint32_t type,
    const char *p, size_t len)
{
	struct report	*rep = &b->b_rep;
	struct rec_ready rr;
	struct rec_final *rf;
	uint32_t	 k, v;
	int		 i;

	switch (type) {
	case REC_READY:
		if (len < sizeof(rr) || ch->ch_ready)
			return -1;
		memcpy(&rr, p, sizeof(rr));
		if (rr.rr_nchan != b->b_conf->b_channels ||
		    len != sizeof(rr) + rr.rr_nchan * sizeof(uint32_t))
			return -1;
		for (k = 0; k < rr.rr_nchan; k++) {
			memcpy(&v, p + sizeof(rr) + k * sizeof(v), sizeof(v));
			b->b_subs[k] += v;
		}
		rep->rp_opened += rr.rr_opened;
		for (i = 0; i < BF_MAX; i++)
			rep->rp_fail[i] += rr.rr_fail[i];
		if (rr.rr_connect_ns > rep->rp_connect_ns)
			rep->rp_connect_ns = rr.rr_connect_ns;
		if (rr.rr_sub0_ns != 0 && (rep->rp_sub0_ns == 0 ||
		    rr.rr_sub0_ns < rep->rp_sub0_ns))
			rep->rp_sub0_ns = rr.rr_sub0_ns;
		if (rr.rr_sublast_ns > rep->rp_sublast_ns)
			rep->rp_sublast_ns = rr.rr_sublast_ns;
		ch->ch_ready = 1;
		return 0;
	case REC_PARKED:
		if (len != sizeof(struct rec_parked) || ch->ch_parked)
			return -1;
		ch->ch_parked = 1;
		return 0;
	case REC_PROGRESS:
		if (len != sizeof(ch->ch_prog))
			return -1;
		memcpy(&ch->ch_prog, p, len);
		return 0;
	case REC_FINAL:
		if (len != sizeof(*rf) || ch->ch_final)
			return -1;
		rf = xmalloc(sizeof(*rf));	/* 8 KiB: not on the stack */
		memcpy(rf, p, sizeof(*rf));
		rep->rp_received += rf->rf_received;
		rep->rp_warm += rf->rf_warm;
		rep->rp_gaps += rf->rf_gaps;
		rep->rp_reorder += rf->rf_reorder;
		rep->rp_mismatch += rf->rf_mismatch;
		rep->rp_closed += rf->rf_closed;
		if (rf->rf_last_ns > rep->rp_last_ns)
			rep->rp_last_ns = rf->rf_last_ns;
		bench_resume_merge(&rep->rp_resume, &rf->rf_resume);
		hist_merge(&rep->rp_hist, &rf->rf_hist);
		free(rf);
		ch->ch_final = 1;
		return 0;
	}
	return -1;
}

/* Move to the next phase when the current one is complete. */
static void
bench_step(struct bench *b)
{
	int	i, ready = 0, over = 0, parked = 0;

	for (i = 0; i < b->b_nkids; i++) {
		ready += b->b_kids[i].ch_ready || b->b_kids[i].ch_eof;
		over += b->b_kids[i].ch_final || b->b_kids[i].ch_eof;
		parked += b->b_kids[i].ch_parked || b->b_kids[i].ch_eof;
	}
	if (b->b_phase == PH_WATCH && b->b_watchready && parked == b->b_nkids)
		bench_storm_join(b);
	if (b->b_phase == PH_CONNECT && ready == b->b_nkids &&
	    (!b->b_conf->b_hasresume || b->b_bysready)) {
		b->b_phase = PH_PUBCONNECT;
		if (b->b_rep.rp_opened == 0 || b->b_rep.rp_lost > 0) {
			log_warnx("no receiver connection subscribed, or a "
			    "receiver died");
			bench_final(b);
			return;
		}
		if (b->b_conf->b_watchers > 0) {
			bench_storm_go(b);
			return;
		}
		b->b_pub.p_cb = bench_pub_cb;
		b->b_pub.p_arg = b;
		pub_start(&b->b_pub, b->b_loop, b->b_conf, &b->b_rep);
	}
	if (b->b_phase == PH_FINAL && over == b->b_nkids)
		ev_break(b->b_loop, EVBREAK_ALL);
}

/* The publisher is subscribed (start the run) or failed (give up). */
static void
bench_pub_cb(struct pub *p, int ev)
{
	struct bench	*b = p->p_arg;

	if (b->b_phase != PH_PUBCONNECT)
		return;
	if (ev == PUB_FAILED) {
		log_warnx("the publisher could not connect and subscribe");
		bench_final(b);
		return;
	}
	srv_sample(b->b_conf, &b->b_rep.rp_srv[1]);
	b->b_rep.rp_ready_ns = bench_now();
	b->b_phase = PH_RUN;
	pub_run(&b->b_pub);
	ev_timer_start(b->b_loop, &b->b_poll);
	if (b->b_conf->b_hasresume) {
		ev_timer_init(&b->b_killtimer, bench_kill_cb,
		    b->b_conf->b_warmup, 0);
		ev_timer_start(b->b_loop, &b->b_killtimer);
	}
}

/* The bystanders are subscribed (or failed: give up). */
static void
bench_byst_cb(struct bystand *y, int ev)
{
	struct bench	*b = y->y_arg;

	if (ev == BYST_FAILED) {
		log_warnx("no bystander could connect and subscribe");
		bench_final(b);
		return;
	}
	b->b_bysready = 1;
	bench_step(b);
}

/* The warm-up is over: T0, kill the --kill processes at once. */
static void
bench_kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench		*b = ev_userdata(loop);
	struct resume_report	*rr = &b->b_rep.rp_resume;
	int			 i;

	(void)w;
	(void)revents;
	if (b->b_phase != PH_RUN)
		return;
	srv_sample(b->b_conf, &rr->rr_srv[0]);
	rr->rr_t0_ns = bench_now();
	for (i = 0; i < b->b_conf->b_nkill; i++) {
		if (kill(b->b_conf->b_kill[i], SIGKILL) == 0)
			rr->rr_killed++;
		else {
			rr->rr_killfail++;
			log_warn("--kill %d", (int)b->b_conf->b_kill[i]);
		}
	}
	rr->rr_pub_t0 = b->b_pub.p_sent;
	b->b_killed = 1;
	bystand_kill(&b->b_byst, rr->rr_t0_ns);
}

/*
 * A reconnect storm's poll: is every victim settled (lost, then caught
 * up or given up)?  Then the storm's end is the last of them, and the
 * publishing stops a second later.  In the drain: does every victim
 * have every message?
 */
static void
bench_resume_poll(struct bench *b, uint64_t now)
{
	struct resume_report	*rr = &b->b_rep.rp_resume;
	struct rec_progress	 sum, *pg;
	uint64_t		 end;
	int			 i;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < b->b_nkids; i++) {
		pg = &b->b_kids[i].ch_prog;
		sum.rp_lost += pg->rp_lost;
		sum.rp_caught += pg->rp_caught;
		sum.rp_final += pg->rp_final;
		sum.rp_complete += pg->rp_complete;
		sum.rp_waiting += pg->rp_waiting;
		sum.rp_moved += pg->rp_moved + pg->rp_received + pg->rp_warm;
		if (pg->rp_welcome_ns > sum.rp_welcome_ns)
			sum.rp_welcome_ns = pg->rp_welcome_ns;
		if (pg->rp_caught_ns > sum.rp_caught_ns)
			sum.rp_caught_ns = pg->rp_caught_ns;
	}
	if (b->b_killed && !b->b_stormover &&
	    sum.rp_lost == b->b_rep.rp_opened &&
	    sum.rp_caught + sum.rp_final == b->b_rep.rp_opened) {
		b->b_stormover = 1;
		end = rr->rr_t0_ns;
		if (sum.rp_welcome_ns > end)
			end = sum.rp_welcome_ns;
		if (sum.rp_caught_ns > end)
			end = sum.rp_caught_ns;
		rr->rr_end_ns = end;
		rr->rr_pub_end = b->b_pub.p_sent;
		srv_sample(b->b_conf, &rr->rr_srv[1]);
		bystand_end(&b->b_byst, end);
		b->b_stopat = now + 1000000000ULL;
	}
	if (b->b_phase == PH_RUN && b->b_stopat != 0 && now >= b->b_stopat)
		pub_end(&b->b_pub);
	if (b->b_phase != PH_DRAIN)
		return;
	if (sum.rp_moved != b->b_lastrecv) {
		b->b_lastrecv = sum.rp_moved;
		b->b_lastmove = now;
	}
	/* (The publishing may have stopped after now was read.) */
	if (sum.rp_complete + sum.rp_final >= b->b_rep.rp_opened ||
	    (now > b->b_rep.rp_pubend_ns && (double)(now -
	    b->b_rep.rp_pubend_ns) / 1e9 >= b->b_conf->b_drain))
		bench_final(b);
	else if (sum.rp_waiting == 0 &&
	    (double)(now - b->b_lastmove) / 1e9 >= DRAIN_STALL) {
		b->b_rep.rp_stalled = 1;
		bench_final(b);
	}
}

/* Command ch with the messages published so far to every receiver. */
static void
bench_tell(struct bench *b, char ch, uint64_t total)
{
	char	cmd[1 + sizeof(total)];
	int	i;

	cmd[0] = ch;
	memcpy(cmd + 1, &total, sizeof(total));
	for (i = 0; i < b->b_nkids; i++)
		if (!b->b_kids[i].ch_eof && write(b->b_kids[i].ch_wfd, cmd,
		    sizeof(cmd)) != (ssize_t)sizeof(cmd))
			log_warn("receiver %d", (int)b->b_kids[i].ch_pid);
}

/* Add a receiver's storm figures rs to rr's sums (the times: the last). */
static void
bench_resume_merge(struct resume_report *rr, const struct rec_resume *rs)
{
	struct rec_resume	*t = &rr->rr_sum;
	int			 i;

	t->rs_victims += rs->rs_victims;
	t->rs_lost += rs->rs_lost;
	t->rs_resumed += rs->rs_resumed;
	t->rs_fresh += rs->rs_fresh;
	t->rs_relost += rs->rs_relost;
	t->rs_alive += rs->rs_alive;
	t->rs_attempts += rs->rs_attempts;
	for (i = 0; i < BF_MAX; i++)
		t->rs_afail[i] += rs->rs_afail[i];
	t->rs_rest_false += rs->rs_rest_false;
	t->rs_rest_true += rs->rs_rest_true;
	t->rs_not_restored += rs->rs_not_restored;
	t->rs_since += rs->rs_since;
	t->rs_since_true += rs->rs_since_true;
	t->rs_since_false += rs->rs_since_false;
	t->rs_since_err += rs->rs_since_err;
	t->rs_since_again += rs->rs_since_again;
	t->rs_restore_err += rs->rs_restore_err;
	t->rs_gap_told += rs->rs_gap_told;
	t->rs_nooffset += rs->rs_nooffset;
	t->rs_caught += rs->rs_caught;
	t->rs_checked += rs->rs_checked;
	t->rs_missed += rs->rs_missed;
	t->rs_dup += rs->rs_dup;
	t->rs_reorder += rs->rs_reorder;
	t->rs_overflow += rs->rs_overflow;
	t->rs_replayed += rs->rs_replayed;
	if (rs->rs_welcome_ns > t->rs_welcome_ns)
		t->rs_welcome_ns = rs->rs_welcome_ns;
	if (rs->rs_caught_ns > t->rs_caught_ns)
		t->rs_caught_ns = rs->rs_caught_ns;
}

/* The server's CPU seconds so far. */
static double
bench_cpu(const struct bench_conf *conf)
{
	struct srv_sample	ss;

	srv_sample(conf, &ss);
	return ss.ss_cpu_s;
}

/* The watchers are subscribed (let the joins go), or the queries over. */
static void
bench_storm_cb(struct storm *s, int ev)
{
	struct bench	*b = s->s_arg;

	if (ev == STORM_FAILED && b->b_phase == PH_WATCH) {
		log_warnx("no watcher could connect and subscribe");
		bench_final(b);
	} else if (ev == STORM_READY && b->b_phase == PH_WATCH) {
		b->b_watchready = 1;
		bench_step(b);
	} else if (ev == STORM_DONE && b->b_phase == PH_QUERY)
		bench_final(b);
}

/* Watchers and joiners are ready: 'G' to every receiver: join now. */
static void
bench_storm_join(struct bench *b)
{
	int	i;

	b->b_phase = PH_CONNECT;
	b->b_rep.rp_storm.sr_cpu_go = bench_cpu(b->b_conf);
	for (i = 0; i < b->b_nkids; i++)
		if (!b->b_kids[i].ch_eof &&
		    write(b->b_kids[i].ch_wfd, "G", 1) != 1)
			log_warn("receiver %d", (int)b->b_kids[i].ch_pid);
}

/* The joins are all sent: wait until the watchers have seen them. */
static void
bench_storm_go(struct bench *b)
{
	srv_sample(b->b_conf, &b->b_rep.rp_srv[1]);
	b->b_rep.rp_ready_ns = bench_now();
	b->b_phase = PH_STORM;
	ev_timer_start(b->b_loop, &b->b_poll);
}

/* Every 100 ms: is the publishing over, the drain, the storm? */
static void
bench_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench	*b = ev_userdata(loop);
	uint64_t	 now = bench_now(), recv = 0, moved = 0;
	uint32_t	 k;
	int		 i;

	(void)w;
	(void)revents;
	if (b->b_conf->b_hasresume && b->b_phase == PH_RUN)
		bench_resume_poll(b, now);
	if (b->b_phase == PH_STORM && storm_check(&b->b_storm)) {
		ev_timer_stop(loop, &b->b_poll);
		b->b_rep.rp_storm.sr_cpu_seen = bench_cpu(b->b_conf);
		b->b_phase = PH_QUERY;
		storm_query(&b->b_storm);
		return;
	}
	if (b->b_phase == PH_RUN && !b->b_pub.p_running) {
		for (k = 0; k < b->b_conf->b_channels; k++)
			b->b_rep.rp_expected += b->b_pub.p_meas[k] *
			    (uint64_t)b->b_subs[k];
		b->b_phase = PH_DRAIN;
		b->b_lastmove = now;
		if (b->b_conf->b_hasresume)
			bench_tell(b, 'S', b->b_pub.p_sent);
	}
	if (b->b_phase != PH_DRAIN)
		return;
	if (b->b_conf->b_hasresume) {
		bench_resume_poll(b, now);
		return;
	}
	/*
	 * A server still working through the warm-up's backlog is moving
	 * too, not stalled.
	 */
	for (i = 0; i < b->b_nkids; i++) {
		recv += b->b_kids[i].ch_prog.rp_received;
		moved += b->b_kids[i].ch_prog.rp_warm;
	}
	moved += recv;
	if (moved != b->b_lastrecv) {
		b->b_lastrecv = moved;
		b->b_lastmove = now;
	}
	if (recv >= b->b_rep.rp_expected ||
	    (double)(now - b->b_rep.rp_pubend_ns) / 1e9 >= b->b_conf->b_drain)
		bench_final(b);
	else if ((double)(now - b->b_lastmove) / 1e9 >= DRAIN_STALL) {
		b->b_rep.rp_stalled = 1;
		bench_final(b);
	}
}

/*
 * Sample the server and ask every receiver for its final record (with
 * the messages published in all, for a reconnect storm's check).
 */
static void
bench_final(struct bench *b)
{
	struct resume_report	*rr = &b->b_rep.rp_resume;

	if (b->b_phase == PH_FINAL)
		return;
	ev_timer_stop(b->b_loop, &b->b_poll);
	ev_timer_stop(b->b_loop, &b->b_killtimer);
	pub_finish(&b->b_pub);
	b->b_phase = PH_FINAL;
	b->b_rep.rp_end_ns = bench_now();
	srv_sample(b->b_conf, &b->b_rep.rp_srv[2]);
	if (b->b_killed && !b->b_stormover)
		rr->rr_srv[1] = b->b_rep.rp_srv[2];
	bench_tell(b, 'R', b->b_pub.p_sent);
	bench_step(b);
}

static void
bench_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench	*b = ev_userdata(loop);

	(void)w;
	(void)revents;
	log_warnx("the run went over its time bound: stopped");
	b->b_rep.rp_timeout = 1;
	ev_break(loop, EVBREAK_ALL);
}

/* Wait for the receivers: those that did not report are killed. */
static void
bench_reap(struct bench *b)
{
	int	i, st;

	for (i = 0; i < b->b_nkids; i++) {
		if (!b->b_kids[i].ch_final)
			kill(b->b_kids[i].ch_pid, SIGKILL);
		close(b->b_kids[i].ch_wfd);
		close(b->b_kids[i].ch_rfd);
		while (waitpid(b->b_kids[i].ch_pid, &st, 0) == -1 &&
		    errno == EINTR)
			;
		free(b->b_kids[i].ch_buf);
	}
}

/* Raise the limit of open files to the hard limit. */
static void
bench_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Run the benchmark that conf describes and print its report.  Return
 * the exit status: 0 if the run went through (loss is a result, not a
 * failure), 1 if no connection subscribed, the publisher failed, a
 * receiver died or the watchdog stopped it.
 */
int
bench_main(struct bench_conf *conf)
{
	struct bench	*b;
	double		 bound;
	int		 i, status;

	bench_nofile();
	signal(SIGPIPE, SIG_IGN);
	b = xcalloc(1, sizeof(*b));
	b->b_conf = conf;
	b->b_subs = xcalloc(conf->b_channels, sizeof(*b->b_subs));
	srv_sample(conf, &b->b_rep.rp_srv[0]);
	bench_fork(b);
	if ((b->b_loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		fatalx("ev_loop_new");
	ev_set_userdata(b->b_loop, b);
	for (i = 0; i < b->b_nkids; i++) {
		b->b_kids[i].ch_buf = xmalloc(CHILD_MAXREC +
		    sizeof(struct rec_hdr));
		ev_io_init(&b->b_kids[i].ch_io, bench_child_cb,
		    b->b_kids[i].ch_rfd, EV_READ);
		b->b_kids[i].ch_io.data = &b->b_kids[i];
		ev_io_start(b->b_loop, &b->b_kids[i].ch_io);
	}
	bound = 2 * conf->b_ctimeout + conf->b_warmup + conf->b_duration +
	    conf->b_drain + 15;
	if (conf->b_watchers > 0)
		bound += BENCH_QBOUND(conf->b_queries) + BENCH_QTIMEOUT;
	if (conf->b_hasresume)
		bound += BENCH_PUBSETTLE;
	ev_timer_init(&b->b_watchdog, bench_watchdog_cb, bound, 0);
	ev_timer_start(b->b_loop, &b->b_watchdog);
	ev_timer_init(&b->b_poll, bench_poll_cb, 0.1, 0.1);
	ev_timer_init(&b->b_killtimer, bench_kill_cb, 0, 0);
	if (conf->b_hasresume) {
		b->b_byst.y_cb = bench_byst_cb;
		b->b_byst.y_arg = b;
		bystand_start(&b->b_byst, b->b_loop, conf, &b->b_rep);
	}
	if (conf->b_watchers > 0) {
		b->b_phase = PH_WATCH;
		b->b_storm.s_cb = bench_storm_cb;
		b->b_storm.s_arg = b;
		storm_start(&b->b_storm, b->b_loop, conf, &b->b_rep);
	}
	ev_run(b->b_loop, 0);

	bench_reap(b);
	if (b->b_rep.rp_end_ns == 0) {
		b->b_rep.rp_end_ns = bench_now();
		srv_sample(conf, &b->b_rep.rp_srv[2]);
		if (b->b_killed && !b->b_stormover)
			b->b_rep.rp_resume.rr_srv[1] = b->b_rep.rp_srv[2];
	}
	bystand_finish(&b->b_byst);
	report_print(conf, &b->b_rep);
	status = b->b_rep.rp_opened == 0 || b->b_rep.rp_lost > 0 ||
	    b->b_rep.rp_timeout || b->b_rep.rp_ready_ns == 0 ? 1 : 0;
	pub_free(&b->b_pub);
	storm_free(&b->b_storm);
	bystand_free(&b->b_byst);
	ev_loop_destroy(b->b_loop);
	free(b->b_subs);
	free(b);
	return status;
}
