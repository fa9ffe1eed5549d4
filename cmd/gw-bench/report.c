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
	long long	rss_per_conn;
	double		p50, p90, p99, max, mean;	/* ms */
};

/* VmRSS of pid in KiB, or -1. */
static long long
srv_rss(pid_t pid)
{
	char		 path[64], line[256];
	FILE		*f;
	long long	 kib = -1;
	int		 lines = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (lines++ < 200 && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtoll(line + 6, NULL, 10);
			break;
		}
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

/* Sum the RSS and CPU time of the --server-pids into s. */
void
srv_sample(const struct bench_conf *conf, struct srv_sample *s)
{
	long long	rss;
	double		cpu;
	int		i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < conf->b_npids; i++) {
		rss = srv_rss(conf->b_pids[i]);
		cpu = srv_cpu(conf->b_pids[i]);
		s->ss_pid_rss[i] = rss;
		s->ss_pid_cpu[i] = cpu;
		if (rss < 0 || cpu < 0)
			continue;
		s->ss_rss_kib += (uint64_t)rss;
		s->ss_cpu_s += cpu;
		s->ss_nok++;
	}
}

static double
ns_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void
report_derive(const struct report *r, struct derived *d)
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
	d->cpu_s = s[2].ss_cpu_s - s[1].ss_cpu_s;
	if (r->rp_opened > 0)
		d->rss_per_conn = ((long long)s[1].ss_rss_kib -
		    (long long)s[0].ss_rss_kib) * 1024 /
		    (long long)r->rp_opened;
	d->p50 = ns_ms(hist_quantile(&r->rp_hist, 0.50));
	d->p90 = ns_ms(hist_quantile(&r->rp_hist, 0.90));
	d->p99 = ns_ms(hist_quantile(&r->rp_hist, 0.99));
	d->max = ns_ms(r->rp_hist.h_max);
	if (r->rp_hist.h_count > 0)
		d->mean = ns_ms(r->rp_hist.h_sum / r->rp_hist.h_count);
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

/* Each server process's RSS (KiB) and CPU (s) at the three samples. */
static void
report_json_pids(const struct bench_conf *c, const struct report *r)
{
	const struct srv_sample *s = r->rp_srv;
	char	name[64];
	int	i;

	printf(" \"server_by_pid\":[");
	for (i = 0; i < c->b_npids; i++) {
		srv_name(c->b_pids[i], name, sizeof(name));
		printf("%s\n  {\"pid\":%d,\"name\":\"%s\",\"rss_kib\":[%lld,"
		    "%lld,%lld],\"cpu_s\":[%.2f,%.2f,%.2f]}", i ? "," : "",
		    (int)c->b_pids[i], name, (long long)s[0].ss_pid_rss[i],
		    (long long)s[1].ss_pid_rss[i],
		    (long long)s[2].ss_pid_rss[i], s[0].ss_pid_cpu[i],
		    s[1].ss_pid_cpu[i], s[2].ss_pid_cpu[i]);
	}
	printf("],\n");
}

static void
report_json(const struct bench_conf *c, const struct report *r,
    const struct derived *d)
{
	const struct srv_sample *s = r->rp_srv;
	int	i;

	printf("{\"url\":\"%s\",\"conns\":%u,\"procs\":%u,\"channels\":%u,"
	    "\"rate\":%g,\"duration_s\":%g,\"warmup_s\":%g,\"size\":%u,\n",
	    c->b_url, c->b_conns, c->b_procs, c->b_channels, c->b_rate,
	    c->b_duration, c->b_warmup, c->b_size);
	printf(" \"connections\":{\"opened\":%llu,\"failed\":%llu,"
	    "\"failed_by\":{", (unsigned long long)r->rp_opened,
	    (unsigned long long)d->failed);
	for (i = 0; i < BF_MAX; i++)
		printf("%s\"%s\":%llu", i ? "," : "", fail_names[i],
		    (unsigned long long)r->rp_fail[i]);
	printf("},\"connect_s\":%.3f,\"closed_during_run\":%llu},\n",
	    d->connect_s, (unsigned long long)r->rp_closed);
	printf(" \"publish\":{\"messages\":%llu,\"warmup_messages\":%llu,"
	    "\"errors\":%llu,\"publisher_closed\":%llu},\n",
	    (unsigned long long)r->rp_published,
	    (unsigned long long)r->rp_pubwarm,
	    (unsigned long long)r->rp_puberrors,
	    (unsigned long long)r->rp_pubclosed);
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
	printf(" \"server\":{\"pids\":[");
	for (i = 0; i < c->b_npids; i++)
		printf("%s%d", i ? "," : "", (int)c->b_pids[i]);
	printf("],\"rss_kib\":{\"start\":%llu,\"subscribed\":%llu,"
	    "\"end\":%llu},\"rss_per_conn_bytes\":%lld,"
	    "\"cpu_s\":{\"start\":%.2f,\"subscribed\":%.2f,\"end\":%.2f},"
	    "\"cpu_run_s\":%.2f,\"run_s\":%.3f,\"cpu_run_pct\":%.1f},\n",
	    (unsigned long long)s[0].ss_rss_kib,
	    (unsigned long long)s[1].ss_rss_kib,
	    (unsigned long long)s[2].ss_rss_kib, d->rss_per_conn,
	    s[0].ss_cpu_s, s[1].ss_cpu_s, s[2].ss_cpu_s, d->cpu_s, d->run_s,
	    d->run_s > 0 ? 100 * d->cpu_s / d->run_s : 0.0);
	report_json_pids(c, r);
	printf(" \"receivers_lost\":%d,\"timeout\":%s}\n", r->rp_lost,
	    r->rp_timeout ? "true" : "false");
}

static void
report_table(const struct bench_conf *c, const struct report *r,
    const struct derived *d)
{
	const struct srv_sample *s = r->rp_srv;
	int	i;

	printf("gw-bench %s: %u conns / %u procs, %u channels, %g msg/s "
	    "x %g s (+%g s warm-up), %u bytes\n", c->b_url, c->b_conns,
	    c->b_procs, c->b_channels, c->b_rate, c->b_duration,
	    c->b_warmup, c->b_size);
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
	printf("%-22s %llu (+%llu warm-up), %llu errors\n", "published",
	    (unsigned long long)r->rp_published,
	    (unsigned long long)r->rp_pubwarm,
	    (unsigned long long)r->rp_puberrors);
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
	if (c->b_npids == 0)
		return;
	printf("%-22s %llu -> %llu -> %llu KiB (%lld bytes per conn)\n",
	    "server RSS", (unsigned long long)s[0].ss_rss_kib,
	    (unsigned long long)s[1].ss_rss_kib,
	    (unsigned long long)s[2].ss_rss_kib, d->rss_per_conn);
	printf("%-22s %.2f s over %.3f s (%.1f %% of a core)\n",
	    "server CPU", d->cpu_s, d->run_s,
	    d->run_s > 0 ? 100 * d->cpu_s / d->run_s : 0.0);
}

/* Print the report of the run: JSON with --json, else a table. */
void
report_print(const struct bench_conf *conf, const struct report *r)
{
	struct derived	d;

	report_derive(r, &d);
	if (conf->b_json)
		report_json(conf, r, &d);
	else
		report_table(conf, r, &d);
	fflush(stdout);
}
