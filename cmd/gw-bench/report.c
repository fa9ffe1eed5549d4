/*
 * report.c -- the server's memory and CPU from /proc, and gw-bench's
 * report: one JSON object (--json) or a table.
 */
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char *fail_names[BF_MAX] = {
	"connect", "handshake", "subscribe", "timeout", "closed", "protocol"
};

struct derived {
	uint64_t	failed;
	uint64_t	lost;
	double		connect_s;
	double		deliv_s;	/* first measured publish to last */
	double		per_s;
	double		run_s;		/* subscribed to the end */
	double		cpu_s;		/* server CPU over run_s */
	double		cpu_meas_s;	/* from the first measured publish */
	double		cpu_msg_us;	/* cpu_meas_s per measured message */
	double		cpu_deliv_us;	/* and per measured delivery */
	long long	rss_per_conn;
	long long	anon_per_conn;	/* all subscribed */
	long long	anon_per_conn_end;	/* at the end of the run */
	double		p50, p90, p99, max, mean;	/* ms */
};

struct resume_derived {
	uint64_t	never;		/* victims lost and never resumed */
	uint64_t	afailed;	/* failed resume attempts */
	int		complete;	/* all caught up, nothing missed */
	int		over;		/* the storm ended (rr_end_ns) */
	double		last_resume_s;	/* T0 to the last resumed welcome */
	double		caught_s;	/* T0 to the storm's end */
	double		cpu_s;		/* server CPU over the storm */
	double		b50, b99, bmax;	/* bystanders before T0, ms */
	double		s50, s99, smax;	/* during the storm */
	double		w50, w99, wmax;	/* the first BENCH_WINDOW s */
	double		a50, a99, amax;	/* after it */
};

struct storm_derived {
	int		complete;	/* every watcher saw every join */
	double		window_s;	/* first join sent to the last */
	double		joins_per_s;
	double		after_last;	/* all seen, after the last join sent */
	double		after_first;
	double		q50, q90, q99, qmax;	/* ms */
	double		cpu_s;		/* server CPU, joins begun to seen */
	double		cpu_per_join_us;
};

/*
 * VmRSS of pid in KiB, or -1; *anon gets its RssAnon + RssShmem: the
 * memory that grows with connections, without the program's and its
 * libraries' pages (shared between processes, and read in once, at the
 * first connection that runs their code).
 */
static long long
srv_rss(pid_t pid, long long *anon)
{
	char		 path[64], line[256];
	FILE		*f;
	long long	 kib = -1;
	int		 lines = 0;

	*anon = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (lines++ < 200 && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtoll(line + 6, NULL, 10);
		else if (strncmp(line, "RssAnon:", 8) == 0 ||
		    strncmp(line, "RssShmem:", 9) == 0)
			*anon += strtoll(strchr(line, ':') + 1, NULL, 10);
	fclose(f);
	return kib;
}

/* utime + stime of pid in seconds, or -1. */
static double
srv_cpu(pid_t pid)
{
	char		 path[64], buf[1024], *p, *tok, *save = NULL;
	FILE		*f;
	size_t		 n;
	unsigned long long ut = 0, st = 0;
	int		 field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* Field 3 (state) comes first; utime is 14, stime 15. */
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok != NULL &&
	    field <= 15; field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 14)
			ut = strtoull(tok, NULL, 10);
		else if (field == 15)
			st = strtoull(tok, NULL, 10);
	}
	if (field <= 15)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void	srv_name(pid_t, char *, size_t);

/* Sum the RSS and CPU time of the --server-pids into s, with names. */
void
srv_sample(const struct bench_conf *conf, struct srv_sample *s)
{
	long long	rss, anon;
	double		cpu;
	int		i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < conf->b_npids; i++) {
		rss = srv_rss(conf->b_pids[i], &anon);
		cpu = srv_cpu(conf->b_pids[i]);
		s->ss_pid_rss[i] = rss;
		s->ss_pid_anon[i] = rss < 0 ? -1 : anon;
		s->ss_pid_cpu[i] = cpu;
		srv_name(conf->b_pids[i], s->ss_pid_name[i],
		    sizeof(s->ss_pid_name[i]));
		if (rss < 0 || cpu < 0)
			continue;
		s->ss_rss_kib += (uint64_t)rss;
		s->ss_anon_kib += (uint64_t)anon;
		s->ss_cpu_s += cpu;
		s->ss_nok++;
	}
}

static double
ns_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/*
 * The server's CPU seconds from sample a to sample b, over the processes
 * read in both: one killed in between (a reconnect storm's) is left
 * out rather than counted as a negative.
 */
static double
srv_cpu_between(int npids, const struct srv_sample *a,
    const struct srv_sample *b)
{
	double	sum = 0;
	int	i;

	for (i = 0; i < npids; i++)
		if (a->ss_pid_cpu[i] >= 0 && b->ss_pid_cpu[i] >= 0)
			sum += b->ss_pid_cpu[i] - a->ss_pid_cpu[i];
	return sum;
}

static void
report_derive(const struct bench_conf *c, const struct report *r,
    struct derived *d)
{
	const struct srv_sample *s = r->rp_srv;
	int	i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < BF_MAX; i++)
		d->failed += r->rp_fail[i];
	d->lost = r->rp_expected > r->rp_received ?
	    r->rp_expected - r->rp_received : 0;
	d->connect_s = (double)r->rp_connect_ns / 1e9;
	if (r->rp_last_ns > r->rp_meas0_ns && r->rp_meas0_ns != 0) {
		d->deliv_s = (double)(r->rp_last_ns - r->rp_meas0_ns) / 1e9;
		d->per_s = (double)r->rp_received / d->deliv_s;
	}
	if (r->rp_ready_ns != 0 && r->rp_end_ns > r->rp_ready_ns)
		d->run_s = (double)(r->rp_end_ns - r->rp_ready_ns) / 1e9;
	d->cpu_s = srv_cpu_between(c->b_npids, &s[1], &s[2]);
	if (s[3].ss_nok > 0) {
		d->cpu_meas_s = srv_cpu_between(c->b_npids, &s[3], &s[2]);
		if (r->rp_published > 0)
			d->cpu_msg_us = 1e6 * d->cpu_meas_s /
			    (double)r->rp_published;
		if (r->rp_received > 0)
			d->cpu_deliv_us = 1e6 * d->cpu_meas_s /
			    (double)r->rp_received;
	}
	if (r->rp_opened > 0) {
		d->rss_per_conn = ((long long)s[1].ss_rss_kib -
		    (long long)s[0].ss_rss_kib) * 1024 /
		    (long long)r->rp_opened;
		d->anon_per_conn = ((long long)s[1].ss_anon_kib -
		    (long long)s[0].ss_anon_kib) * 1024 /
		    (long long)r->rp_opened;
		d->anon_per_conn_end = ((long long)s[2].ss_anon_kib -
		    (long long)s[0].ss_anon_kib) * 1024 /
		    (long long)r->rp_opened;
	}
	d->p50 = ns_ms(hist_quantile(&r->rp_hist, 0.50));
	d->p90 = ns_ms(hist_quantile(&r->rp_hist, 0.90));
	d->p99 = ns_ms(hist_quantile(&r->rp_hist, 0.99));
	d->max = ns_ms(r->rp_hist.h_max);
	if (r->rp_hist.h_count > 0)
		d->mean = ns_ms(r->rp_hist.h_sum / r->rp_hist.h_count);
}

static void
storm_derive(const struct report *r, struct storm_derived *sd)
{
	const struct storm_report *sr = &r->rp_storm;

	memset(sd, 0, sizeof(*sd));
	sd->complete = sr->sr_watchers > 0 && r->rp_opened > 0 &&
	    sr->sr_complete == sr->sr_watchers && sr->sr_alldone_ns != 0;
	if (r->rp_sublast_ns > r->rp_sub0_ns) {
		sd->window_s = (double)(r->rp_sublast_ns - r->rp_sub0_ns) / 1e9;
		sd->joins_per_s = (double)r->rp_opened / sd->window_s;
	}
	if (sd->complete && sr->sr_alldone_ns >= r->rp_sublast_ns) {
		sd->after_last = (double)(sr->sr_alldone_ns -
		    r->rp_sublast_ns) / 1e9;
		sd->after_first = (double)(sr->sr_alldone_ns -
		    r->rp_sub0_ns) / 1e9;
	} else
		sd->complete = 0;
	if (sr->sr_cpu_seen > sr->sr_cpu_go) {
		sd->cpu_s = sr->sr_cpu_seen - sr->sr_cpu_go;
		if (r->rp_opened > 0)
			sd->cpu_per_join_us = 1e6 * sd->cpu_s /
			    (double)r->rp_opened;
	}
	sd->q50 = ns_ms(hist_quantile(&sr->sr_qhist, 0.50));
	sd->q90 = ns_ms(hist_quantile(&sr->sr_qhist, 0.90));
	sd->q99 = ns_ms(hist_quantile(&sr->sr_qhist, 0.99));
	sd->qmax = ns_ms(sr->sr_qhist.h_max);
}

static void
resume_derive(const struct bench_conf *c, const struct report *r,
    struct resume_derived *rd)
{
	const struct resume_report *rr = &r->rp_resume;
	const struct rec_resume *rs = &rr->rr_sum;
	const struct byst_report *by = &rr->rr_byst;
	int	i;

	memset(rd, 0, sizeof(*rd));
	if (rs->rs_lost > rs->rs_resumed + rs->rs_fresh)
		rd->never = rs->rs_lost - rs->rs_resumed - rs->rs_fresh;
	for (i = 0; i < BF_MAX; i++)
		rd->afailed += rs->rs_afail[i];
	rd->over = rr->rr_end_ns != 0;
	if (rs->rs_welcome_ns > rr->rr_t0_ns && rr->rr_t0_ns != 0)
		rd->last_resume_s = (double)(rs->rs_welcome_ns -
		    rr->rr_t0_ns) / 1e9;
	if (rd->over)
		rd->caught_s = (double)(rr->rr_end_ns - rr->rr_t0_ns) / 1e9;
	rd->complete = rd->over && rs->rs_victims > 0 &&
	    rs->rs_victims == r->rp_opened &&
	    rs->rs_resumed == rs->rs_victims && rs->rs_fresh == 0 &&
	    rs->rs_caught == rs->rs_victims && rs->rs_missed == 0;
	rd->cpu_s = srv_cpu_between(c->b_npids, &rr->rr_srv[0],
	    &rr->rr_srv[1]);
	rd->b50 = ns_ms(hist_quantile(&by->by_before, 0.50));
	rd->b99 = ns_ms(hist_quantile(&by->by_before, 0.99));
	rd->bmax = ns_ms(by->by_before.h_max);
	rd->s50 = ns_ms(hist_quantile(&by->by_storm, 0.50));
	rd->s99 = ns_ms(hist_quantile(&by->by_storm, 0.99));
	rd->smax = ns_ms(by->by_storm.h_max);
	rd->w50 = ns_ms(hist_quantile(&by->by_window, 0.50));
	rd->w99 = ns_ms(hist_quantile(&by->by_window, 0.99));
	rd->wmax = ns_ms(by->by_window.h_max);
	rd->a50 = ns_ms(hist_quantile(&by->by_after, 0.50));
	rd->a99 = ns_ms(hist_quantile(&by->by_after, 0.99));
	rd->amax = ns_ms(by->by_after.h_max);
}

/* The name of pid (its comm), JSON-safe, in buf. */
static void
srv_name(pid_t pid, char *buf, size_t sz)
{
	char	 path[64];
	FILE	*f;
	size_t	 i;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	buf[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(buf, (int)sz, f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] < ' ' || buf[i] > '~' || buf[i] == '"' ||
		    buf[i] == '\\')
			buf[i] = buf[i] == '\n' ? '\0' : '_';
}

/*
 * Each server process's RSS (KiB) and CPU (s) at the three samples
 * (its name as it was at the first: a process killed since has none).
 */
static void
report_json_pids(const struct bench_conf *c, const struct report *r)
{
	const struct srv_sample *s = r->rp_srv;
	int	i;

	printf(" \"server_by_pid\":[");
	for (i = 0; i < c->b_npids; i++) {
		printf("%s\n  {\"pid\":%d,\"name\":\"%s\",\"rss_kib\":[%lld,"
		    "%lld,%lld],\"anon_kib\":[%lld,%lld,%lld],"
		    "\"cpu_s\":[%.2f,%.2f,%.2f]}", i ? "," : "",
		    (int)c->b_pids[i], s[0].ss_pid_name[i],
		    (long long)s[0].ss_pid_rss[i],
		    (long long)s[1].ss_pid_rss[i],
		    (long long)s[2].ss_pid_rss[i],
		    (long long)s[0].ss_pid_anon[i],
		    (long long)s[1].ss_pid_anon[i],
		    (long long)s[2].ss_pid_anon[i], s[0].ss_pid_cpu[i],
		    s[1].ss_pid_cpu[i], s[2].ss_pid_cpu[i]);
	}
	printf("],\n");
}

/* The run's settings and its connections, as the JSON's first lines. */
static void
report_json_head(const struct bench_conf *c, const struct report *r,
    const struct derived *d)
{
	int	i;

	printf("{\"mode\":\"%s\",\"proto\":\"%s\",\"url\":\"%s\",",
	    c->b_watchers > 0 ? "presence" : c->b_hasresume ? "resume" :
	    "fanout", peer_name(c->b_proto), c->b_sub.t_url);
	if (c->b_hasresume)
		printf("\"resume_url\":\"%s\",\"bystanders\":%u,"
		    "\"backoff_s\":%g,\"since\":%s,", c->b_resume.t_url,
		    c->b_bystanders, c->b_backoff,
		    c->b_nosince ? "false" : "true");
	printf("\"receiver_nice\":%d,", c->b_rnice);
	if (c->b_haspub)
		printf("\"pub_url\":\"%s\",", c->b_pub.t_url);
	else
		printf("\"pub_url\":null,");
	printf("\"pub_api\":%s,", c->b_pubapi ? "true" : "false");
	printf("\"conns\":%u,\"procs\":%u,\"channels\":%u,\"watchers\":%u,"
	    "\"rate\":%g,\"duration_s\":%g,\"warmup_s\":%g,\"size\":%u,\n",
	    c->b_conns, c->b_procs, c->b_channels, c->b_watchers, c->b_rate,
	    c->b_duration, c->b_warmup, c->b_size);
	printf(" \"connections\":{\"opened\":%llu,\"failed\":%llu,"
	    "\"failed_by\":{", (unsigned long long)r->rp_opened,
	    (unsigned long long)d->failed);
	for (i = 0; i < BF_MAX; i++)
		printf("%s\"%s\":%llu", i ? "," : "", fail_names[i],
		    (unsigned long long)r->rp_fail[i]);
	printf("},\"connect_s\":%.3f,\"closed_during_run\":%llu},\n",
	    d->connect_s, (unsigned long long)r->rp_closed);
}

/* A time in seconds, or null if unknown. */
static void
json_secs(const char *key, int known, double v)
{
	if (known)
		printf("\"%s\":%.3f", key, v);
	else
		printf("\"%s\":null", key);
}

/* The storm's figures: joins, what the watchers saw, the queries. */
static void
report_json_storm(const struct report *r, const struct storm_derived *sd)
{
	const struct storm_report *sr = &r->rp_storm;

	printf(" \"presence\":{\"watchers\":%llu,\"watchers_failed\":%llu,"
	    "\"watchers_lost\":%llu,\"watchers_lost_close\":%llu,"
	    "\"joins\":%llu,\"joins_window_s\":%.3f,"
	    "\"joins_per_s\":%.0f,\"expected\":%llu,\"seen\":%llu,"
	    "\"duplicates\":%llu,\"foreign\":%llu,\"watchers_complete\":%llu,"
	    "\"complete\":%s,\"stalled\":%s,",
	    (unsigned long long)sr->sr_watchers,
	    (unsigned long long)sr->sr_wfail,
	    (unsigned long long)sr->sr_wclosed,
	    (unsigned long long)sr->sr_wcode,
	    (unsigned long long)r->rp_opened, sd->window_s, sd->joins_per_s,
	    (unsigned long long)sr->sr_expected,
	    (unsigned long long)sr->sr_seen, (unsigned long long)sr->sr_dup,
	    (unsigned long long)sr->sr_foreign,
	    (unsigned long long)sr->sr_complete,
	    sd->complete ? "true" : "false", sr->sr_stalled ? "true" : "false");
	json_secs("all_seen_after_last_join_s", sd->complete, sd->after_last);
	printf(",");
	json_secs("all_seen_after_first_join_s", sd->complete,
	    sd->after_first);
	printf(",\"server_cpu_s\":%.2f,\"server_cpu_per_join_us\":%.0f",
	    sd->cpu_s, sd->cpu_per_join_us);
	printf(",\n  \"query\":{\"answered\":%llu,\"errors\":%llu,"
	    "\"count\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	    "\"max_ms\":%.3f}},\n", (unsigned long long)sr->sr_queries,
	    (unsigned long long)sr->sr_qerrors,
	    (unsigned long long)sr->sr_qcount, sd->q50, sd->q90, sd->q99,
	    sd->qmax);
}

/* One histogram's figures in ms, as "key":{...}. */
static void
json_hist(const char *key, const struct hist *h)
{
	printf("\"%s\":{\"count\":%llu,\"p50\":%.3f,\"p99\":%.3f,"
	    "\"max\":%.3f}", key, (unsigned long long)h->h_count,
	    ns_ms(hist_quantile(h, 0.50)), ns_ms(hist_quantile(h, 0.99)),
	    ns_ms(h->h_max));
}

/* The "bystanders" member of a reconnect storm's JSON report. */
static void
report_json_byst(const struct byst_report *by)
{
	printf(" \"bystanders\":{\"subscribed\":%llu,\"failed\":%llu,"
	    "\"lost\":%llu,\"received\":%llu,\"gaps\":%llu,"
	    "\"reordered\":%llu,\n  ", (unsigned long long)by->by_ready,
	    (unsigned long long)by->by_fail, (unsigned long long)by->by_lost,
	    (unsigned long long)by->by_received,
	    (unsigned long long)by->by_gaps,
	    (unsigned long long)by->by_reorder);
	json_hist("before_ms", &by->by_before);
	printf(",");
	json_hist("storm_ms", &by->by_storm);
	printf(",");
	json_hist("after_ms", &by->by_after);
	printf(",");
	json_hist("window_ms", &by->by_window);
	printf("},\n");
}

/* A reconnect storm's figures: the victims', then the bystanders'. */
static void
report_json_resume(const struct bench_conf *c, const struct report *r,
    const struct resume_derived *rd)
{
	const struct resume_report *rr = &r->rp_resume;
	const struct rec_resume *rs = &rr->rr_sum;
	int	i;

	printf(" \"resume\":{\"victims\":%llu,\"killed_pids\":%d,"
	    "\"kill_failed\":%d,\"lost\":%llu,\"resumed\":%llu,"
	    "\"fresh\":%llu,\"never_resumed\":%llu,"
	    "\"lost_after_resume\":%llu,\"alive_at_end\":%llu,"
	    "\"attempts\":%llu,\"failed_attempts\":%llu,"
	    "\"failed_attempts_by\":{",
	    (unsigned long long)rs->rs_victims, rr->rr_killed,
	    rr->rr_killfail, (unsigned long long)rs->rs_lost,
	    (unsigned long long)rs->rs_resumed,
	    (unsigned long long)rs->rs_fresh, (unsigned long long)rd->never,
	    (unsigned long long)rs->rs_relost,
	    (unsigned long long)rs->rs_alive,
	    (unsigned long long)rs->rs_attempts,
	    (unsigned long long)rd->afailed);
	for (i = 0; i < BF_MAX; i++)
		printf("%s\"%s\":%llu", i ? "," : "", fail_names[i],
		    (unsigned long long)rs->rs_afail[i]);
	printf("},\n  \"restored\":{\"recovered_false\":%llu,"
	    "\"recovered_true\":%llu,\"not_restored\":%llu,"
	    "\"errors\":%llu},\"since\":{\"sent\":%llu,"
	    "\"recovered_true\":%llu,\"recovered_false\":%llu,"
	    "\"errors\":%llu,\"sent_again\":%llu,\"gaps_told\":%llu},"
	    "\"lost_before_any_message\":%llu,\n",
	    (unsigned long long)rs->rs_rest_false,
	    (unsigned long long)rs->rs_rest_true,
	    (unsigned long long)rs->rs_not_restored,
	    (unsigned long long)rs->rs_restore_err,
	    (unsigned long long)rs->rs_since,
	    (unsigned long long)rs->rs_since_true,
	    (unsigned long long)rs->rs_since_false,
	    (unsigned long long)rs->rs_since_err,
	    (unsigned long long)rs->rs_since_again,
	    (unsigned long long)rs->rs_gap_told,
	    (unsigned long long)rs->rs_nooffset);
	printf("  \"caught_up\":%llu,\"checked\":%llu,\"missed\":%llu,"
	    "\"duplicates\":%llu,\"reordered\":%llu,"
	    "\"missed_overflow\":%llu,\"replayed\":%llu,",
	    (unsigned long long)rs->rs_caught,
	    (unsigned long long)rs->rs_checked,
	    (unsigned long long)rs->rs_missed, (unsigned long long)rs->rs_dup,
	    (unsigned long long)rs->rs_reorder,
	    (unsigned long long)rs->rs_overflow,
	    (unsigned long long)rs->rs_replayed);
	json_secs("last_resume_s", rs->rs_welcome_ns > rr->rr_t0_ns &&
	    rr->rr_t0_ns != 0, rd->last_resume_s);
	printf(",");
	json_secs("all_caught_up_s", rd->over, rd->caught_s);
	printf(",\"complete\":%s,\"published_at_kill\":%llu,"
	    "\"published_in_storm\":%llu,\n  \"storm_cpu_s\":%.2f,"
	    "\"storm_cpu_by_pid\":[", rd->complete ? "true" : "false",
	    (unsigned long long)rr->rr_pub_t0,
	    (unsigned long long)(rr->rr_pub_end > rr->rr_pub_t0 ?
	    rr->rr_pub_end - rr->rr_pub_t0 : 0), rd->cpu_s);
	for (i = 0; i < c->b_npids; i++)
		printf("%s{\"pid\":%d,\"name\":\"%s\",\"cpu_s\":%.2f}",
		    i ? "," : "", (int)c->b_pids[i],
		    r->rp_srv[0].ss_pid_name[i],
		    rr->rr_srv[1].ss_pid_cpu[i] >= 0 &&
		    rr->rr_srv[0].ss_pid_cpu[i] >= 0 ?
		    rr->rr_srv[1].ss_pid_cpu[i] - rr->rr_srv[0].ss_pid_cpu[i] :
		    0.0);
	printf("]},\n");
	report_json_byst(&rr->rr_byst);
}

static void
report_json(const struct bench_conf *c, const struct report *r,
    const struct derived *d, const struct storm_derived *sd,
    const struct resume_derived *rd)
{
	const struct srv_sample *s = r->rp_srv;
	int	i;

	report_json_head(c, r, d);
	printf(" \"publish\":{\"messages\":%llu,\"warmup_messages\":%llu,"
	    "\"errors\":%llu,\"sent_again\":%llu,\"given_up\":%llu,"
	    "\"publisher_closed\":%llu,\"publisher_reconnects\":%llu},\n",
	    (unsigned long long)r->rp_published,
	    (unsigned long long)r->rp_pubwarm,
	    (unsigned long long)r->rp_puberrors,
	    (unsigned long long)r->rp_pubagain,
	    (unsigned long long)r->rp_publost,
	    (unsigned long long)r->rp_pubclosed,
	    (unsigned long long)r->rp_pubreconn);
	printf(" \"deliveries\":{\"expected\":%llu,\"received\":%llu,"
	    "\"lost\":%llu,\"gaps\":%llu,\"reordered\":%llu,"
	    "\"wrong_channel\":%llu,\"warmup\":%llu,\"per_s\":%.0f,"
	    "\"window_s\":%.3f,\"stalled\":%s},\n",
	    (unsigned long long)r->rp_expected,
	    (unsigned long long)r->rp_received, (unsigned long long)d->lost,
	    (unsigned long long)r->rp_gaps, (unsigned long long)r->rp_reorder,
	    (unsigned long long)r->rp_mismatch,
	    (unsigned long long)r->rp_warm, d->per_s, d->deliv_s,
	    r->rp_stalled ? "true" : "false");
	printf(" \"latency_ms\":{\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,"
	    "\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f},\n",
	    (unsigned long long)r->rp_hist.h_count, d->p50, d->p90, d->p99,
	    d->max, d->mean);
	if (c->b_watchers > 0)
		report_json_storm(r, sd);
	if (c->b_hasresume)
		report_json_resume(c, r, rd);
	printf(" \"server\":{\"pids\":[");
	for (i = 0; i < c->b_npids; i++)
		printf("%s%d", i ? "," : "", (int)c->b_pids[i]);
	printf("],\"rss_kib\":{\"start\":%llu,\"subscribed\":%llu,"
	    "\"end\":%llu},\"rss_per_conn_bytes\":%lld,"
	    "\"anon_kib\":{\"start\":%llu,\"subscribed\":%llu,\"end\":%llu},"
	    "\"anon_per_conn_bytes\":%lld,\"anon_per_conn_end_bytes\":%lld,"
	    "\"cpu_s\":{\"start\":%.2f,\"subscribed\":%.2f,\"end\":%.2f},"
	    "\"cpu_run_s\":%.2f,\"run_s\":%.3f,\"cpu_run_pct\":%.1f,"
	    "\"cpu_measured_s\":%.2f,\"cpu_per_message_us\":%.1f,"
	    "\"cpu_per_delivery_us\":%.2f},\n",
	    (unsigned long long)s[0].ss_rss_kib,
	    (unsigned long long)s[1].ss_rss_kib,
	    (unsigned long long)s[2].ss_rss_kib, d->rss_per_conn,
	    (unsigned long long)s[0].ss_anon_kib,
	    (unsigned long long)s[1].ss_anon_kib,
	    (unsigned long long)s[2].ss_anon_kib, d->anon_per_conn,
	    d->anon_per_conn_end, s[0].ss_cpu_s, s[1].ss_cpu_s, s[2].ss_cpu_s,
	    d->cpu_s, d->run_s,
	    d->run_s > 0 ? 100 * d->cpu_s / d->run_s : 0.0, d->cpu_meas_s,
	    d->cpu_msg_us, d->cpu_deliv_us);
	report_json_pids(c, r);
	printf(" \"receivers_lost\":%d,\"timeout\":%s}\n", r->rp_lost,
	    r->rp_timeout ? "true" : "false");
}

/* The publishes and their deliveries, in the table. */
static void
report_table_fanout(const struct report *r, const struct derived *d)
{
	printf("%-22s %llu (+%llu warm-up), %llu errors", "published",
	    (unsigned long long)r->rp_published,
	    (unsigned long long)r->rp_pubwarm,
	    (unsigned long long)r->rp_puberrors);
	if (r->rp_pubagain > 0 || r->rp_publost > 0)
		printf(" (%llu sent again, %llu given up)",
		    (unsigned long long)r->rp_pubagain,
		    (unsigned long long)r->rp_publost);
	printf("\n");
	printf("%-22s %llu of %llu expected, %llu lost, %llu gaps, "
	    "%llu reordered%s\n", "deliveries",
	    (unsigned long long)r->rp_received,
	    (unsigned long long)r->rp_expected, (unsigned long long)d->lost,
	    (unsigned long long)r->rp_gaps, (unsigned long long)r->rp_reorder,
	    r->rp_stalled ? " (stalled)" : "");
	printf("%-22s %.0f over %.3f s\n", "deliveries/s", d->per_s,
	    d->deliv_s);
	printf("%-22s p50 %.3f, p90 %.3f, p99 %.3f, max %.3f\n",
	    "latency (ms)", d->p50, d->p90, d->p99, d->max);
}

/* The storm's joins, what the watchers saw, the queries, in the table. */
static void
report_table_storm(const struct report *r, const struct storm_derived *sd)
{
	const struct storm_report *sr = &r->rp_storm;

	printf("%-22s %llu subscribed, %llu failed, %llu lost", "watchers",
	    (unsigned long long)sr->sr_watchers,
	    (unsigned long long)sr->sr_wfail,
	    (unsigned long long)sr->sr_wclosed);
	if (sr->sr_wclosed > 0)
		printf(" (the first with close %llu)",
		    (unsigned long long)sr->sr_wcode);
	printf("\n");
	printf("%-22s %llu sent over %.3f s (%.0f/s)\n", "joins",
	    (unsigned long long)r->rp_opened, sd->window_s, sd->joins_per_s);
	printf("%-22s %llu of %llu; %llu of %llu watchers saw all; "
	    "%llu twice, %llu foreign%s\n", "joins seen",
	    (unsigned long long)sr->sr_seen,
	    (unsigned long long)sr->sr_expected,
	    (unsigned long long)sr->sr_complete,
	    (unsigned long long)sr->sr_watchers,
	    (unsigned long long)sr->sr_dup,
	    (unsigned long long)sr->sr_foreign,
	    sr->sr_stalled ? " (stalled)" : "");
	if (sd->complete)
		printf("%-22s %.3f s after the last join sent (%.3f s after "
		    "the first)\n", "all seen", sd->after_last,
		    sd->after_first);
	if (sd->cpu_s > 0)
		printf("%-22s %.2f s from the first join to all seen (%.0f us "
		    "per join)\n", "server CPU, joins", sd->cpu_s,
		    sd->cpu_per_join_us);
	printf("%-22s %llu answered (count %llu), %llu errors; p50 %.3f, "
	    "p90 %.3f, p99 %.3f, max %.3f\n", "presence query (ms)",
	    (unsigned long long)sr->sr_queries,
	    (unsigned long long)sr->sr_qcount,
	    (unsigned long long)sr->sr_qerrors, sd->q50, sd->q90, sd->q99,
	    sd->qmax);
}

/* A reconnect storm's figures, in the table. */
static void
report_table_resume(const struct report *r, const struct resume_derived *rd)
{
	const struct resume_report *rr = &r->rp_resume;
	const struct rec_resume *rs = &rr->rr_sum;
	const struct byst_report *by = &rr->rr_byst;

	printf("%-22s %llu subscribed, %d pids killed at T0, %llu lost\n",
	    "victims", (unsigned long long)rs->rs_victims, rr->rr_killed,
	    (unsigned long long)rs->rs_lost);
	printf("%-22s %llu resumed, %llu fresh sessions, %llu never "
	    "resumed, %llu lost again\n", "resumes",
	    (unsigned long long)rs->rs_resumed,
	    (unsigned long long)rs->rs_fresh, (unsigned long long)rd->never,
	    (unsigned long long)rs->rs_relost);
	printf("%-22s %llu, %llu failed\n", "attempts",
	    (unsigned long long)rs->rs_attempts,
	    (unsigned long long)rd->afailed);
	printf("%-22s %llu recovered:false, %llu true, %llu not restored; "
	    "%llu since sent\n", "restored channels",
	    (unsigned long long)rs->rs_rest_false,
	    (unsigned long long)rs->rs_rest_true,
	    (unsigned long long)rs->rs_not_restored,
	    (unsigned long long)rs->rs_since);
	printf("%-22s %llu caught up; %llu missed, %llu duplicates, %llu "
	    "reordered, %llu replayed\n", "sequences",
	    (unsigned long long)rs->rs_caught,
	    (unsigned long long)rs->rs_missed, (unsigned long long)rs->rs_dup,
	    (unsigned long long)rs->rs_reorder,
	    (unsigned long long)rs->rs_replayed);
	printf("%-22s last resume %.3f s after T0, ", "storm",
	    rd->last_resume_s);
	if (rd->over)
		printf("all caught up %.3f s after%s\n", rd->caught_s,
		    rd->complete ? "" : " (not all complete)");
	else
		printf("not all caught up\n");
	printf("%-22s %llu subscribed; p50/p99/max ms before %.3f/%.3f/%.3f,"
	    " storm %.3f/%.3f/%.3f, after %.3f/%.3f/%.3f\n", "bystanders",
	    (unsigned long long)by->by_ready, rd->b50, rd->b99, rd->bmax,
	    rd->s50, rd->s99, rd->smax, rd->a50, rd->a99, rd->amax);
	printf("%-22s p50/p99/max ms %.3f/%.3f/%.3f in the first %d s after "
	    "T0\n", "", rd->w50, rd->w99, rd->wmax, BENCH_WINDOW);
	printf("%-22s %.2f s\n", "server CPU, storm", rd->cpu_s);
}

static void
report_table(const struct bench_conf *c, const struct report *r,
    const struct derived *d, const struct storm_derived *sd,
    const struct resume_derived *rd)
{
	const struct srv_sample *s = r->rp_srv;
	int	i;

	if (c->b_watchers > 0)
		printf("gw-bench %s: presence storm, %u joiners / %u procs, "
		    "%u watchers\n", c->b_sub.t_url, c->b_conns, c->b_procs,
		    c->b_watchers);
	else
		printf("gw-bench %s %s%s%s: %u conns / %u procs, %u channels, "
		    "%g msg/s x %g s (+%g s warm-up), %u bytes%s\n",
		    peer_name(c->b_proto), c->b_sub.t_url,
		    c->b_haspub ? " <- " : "",
		    c->b_haspub ? c->b_pub.t_url : "", c->b_conns, c->b_procs,
		    c->b_channels, c->b_rate, c->b_duration, c->b_warmup,
		    c->b_size, c->b_pubapi ? ", published with the API" : "");
	printf("%-22s %llu opened, %llu failed, %.3f s; %llu lost during "
	    "the run\n", "connections", (unsigned long long)r->rp_opened,
	    (unsigned long long)d->failed, d->connect_s,
	    (unsigned long long)r->rp_closed);
	if (d->failed > 0) {
		printf("%-22s", "failed by");
		for (i = 0; i < BF_MAX; i++)
			if (r->rp_fail[i] > 0)
				printf(" %s %llu", fail_names[i],
				    (unsigned long long)r->rp_fail[i]);
		printf("\n");
	}
	if (c->b_watchers > 0)
		report_table_storm(r, sd);
	else
		report_table_fanout(r, d);
	if (c->b_hasresume)
		report_table_resume(r, rd);
	if (c->b_npids == 0)
		return;
	printf("%-22s %llu -> %llu -> %llu KiB (%lld bytes per conn)\n",
	    "server RSS", (unsigned long long)s[0].ss_rss_kib,
	    (unsigned long long)s[1].ss_rss_kib,
	    (unsigned long long)s[2].ss_rss_kib, d->rss_per_conn);
	printf("%-22s %llu -> %llu -> %llu KiB (%lld bytes per conn, %lld "
	    "at the end)\n", "server anonymous",
	    (unsigned long long)s[0].ss_anon_kib,
	    (unsigned long long)s[1].ss_anon_kib,
	    (unsigned long long)s[2].ss_anon_kib, d->anon_per_conn,
	    d->anon_per_conn_end);
	printf("%-22s %.2f s over %.3f s (%.1f %% of a core)\n",
	    "server CPU", d->cpu_s, d->run_s,
	    d->run_s > 0 ? 100 * d->cpu_s / d->run_s : 0.0);
	if (d->cpu_meas_s > 0)
		printf("%-22s %.2f s after the warm-up: %.1f us per message, "
		    "%.2f us per delivery\n", "server CPU, measured",
		    d->cpu_meas_s, d->cpu_msg_us, d->cpu_deliv_us);
}

/* Print the report of the run: JSON with --json, else a table. */
void
report_print(const struct bench_conf *conf, const struct report *r)
{
	struct derived	 d;
	struct storm_derived sd;
	struct resume_derived rd;

	report_derive(conf, r, &d);
	storm_derive(r, &sd);
	resume_derive(conf, r, &rd);
	if (conf->b_json)
		report_json(conf, r, &d, &sd, &rd);
	else
		report_table(conf, r, &d, &sd, &rd);
	fflush(stdout);
}
