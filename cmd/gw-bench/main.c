/*
 * gw-bench -- a load generator for gw.
 *
 * main.c: options (the target must be a loopback address), then
 * bench_main().
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "log.h"
#include "parse.h"

static __dead void usage(void);
static unsigned long long opt_num(const char *, unsigned long long,
		    unsigned long long);
static double	opt_secs(const char *, double, double);
static double	opt_rate(const char *);
static void	opt_url(struct bench_conf *, const char *);
static void	opt_src(struct bench_conf *, const char *);
static void	opt_pids(struct bench_conf *, const char *);
static void	opt_pattern(struct bench_conf *, const char *);
static void	opt_check(struct bench_conf *);

static __dead void
usage(void)
{
	fprintf(stderr,
"usage: gw-bench [--json] [--url ws://127.0.0.1:8080/ws] [--conns n]\n"
"                [--procs n] [--channels n] [--subscribe-pattern name%%d]\n"
"                [--rate msgs_per_s] [--duration seconds] [--warmup seconds]\n"
"                [--drain seconds] [--size bytes] [--connect-timeout seconds]\n"
"                [--concurrency n] [--source-addrs first[-last]]\n"
"                [--server-pids pid,...]\n");
	exit(2);
}

enum {
	OPT_URL = 256, OPT_CONNS, OPT_PROCS, OPT_CHANNELS, OPT_PATTERN,
	OPT_RATE, OPT_DURATION, OPT_WARMUP, OPT_DRAIN, OPT_SIZE, OPT_CTIMEOUT,
	OPT_CONCURRENCY, OPT_SRC, OPT_PIDS, OPT_JSON
};

static const struct option longopts[] = {
	{ "url",		required_argument,	NULL, OPT_URL },
	{ "conns",		required_argument,	NULL, OPT_CONNS },
	{ "procs",		required_argument,	NULL, OPT_PROCS },
	{ "channels",		required_argument,	NULL, OPT_CHANNELS },
	{ "subscribe-pattern",	required_argument,	NULL, OPT_PATTERN },
	{ "rate",		required_argument,	NULL, OPT_RATE },
	{ "duration",		required_argument,	NULL, OPT_DURATION },
	{ "warmup",		required_argument,	NULL, OPT_WARMUP },
	{ "drain",		required_argument,	NULL, OPT_DRAIN },
	{ "size",		required_argument,	NULL, OPT_SIZE },
	{ "connect-timeout",	required_argument,	NULL, OPT_CTIMEOUT },
	{ "concurrency",	required_argument,	NULL, OPT_CONCURRENCY },
	{ "source-addrs",	required_argument,	NULL, OPT_SRC },
	{ "server-pids",	required_argument,	NULL, OPT_PIDS },
	{ "json",		no_argument,		NULL, OPT_JSON },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

/* An option's number, or exit 2 with the reason. */
static unsigned long long
opt_num(const char *s, unsigned long long min, unsigned long long max)
{
	unsigned long long	 v;
	char			 err[PARSE_ERRLEN];

	if (parse_num(s, min, max, &v, err) == -1) {
		log_warnx("%s", err);
		exit(2);
	}
	return v;
}

/* An option's seconds (or rate), min to max, or exit 2. */
static double
opt_secs(const char *s, double min, double max)
{
	char	err[PARSE_ERRLEN];
	double	v;

	if (parse_secs(s, min, max, &v, err) == -1) {
		log_warnx("%s", err);
		exit(2);
	}
	return v;
}

/* Messages per second, 0 (idle) to a million. */
static double
opt_rate(const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    !(v >= 0 && v <= 1000000)) {
		log_warnx("bad --rate %s: want 0..1000000 messages per second",
		    s);
		exit(2);
	}
	return v;
}

/*
 * ws://HOST[:PORT][/PATH]: HOST must be 127.x.y.z or localhost; gw-bench
 * loads only this machine.
 */
static void
opt_url(struct bench_conf *conf, const char *url)
{
	const char	*h, *colon, *slash;
	char		 host[64];
	size_t		 hl, i;
	unsigned long long port = 80;

	for (i = 0; url[i] != '\0'; i++)
		if (url[i] <= ' ' || url[i] > '~' || url[i] == '"' ||
		    url[i] == '\\')
			break;
	if (i >= sizeof(conf->b_url) || url[i] != '\0' ||
	    strncmp(url, "ws://", 5) != 0) {
		log_warnx("bad --url %s: want ws://127.0.0.1:PORT/PATH", url);
		exit(2);
	}
	strcpy(conf->b_url, url);
	h = url + 5;
	slash = strchr(h, '/');
	hl = slash != NULL ? (size_t)(slash - h) : strlen(h);
	if ((colon = memchr(h, ':', hl)) != NULL) {
		if ((size_t)(h + hl - colon - 1) >= sizeof(host))
			usage();
		memcpy(host, colon + 1, (size_t)(h + hl - colon - 1));
		host[h + hl - colon - 1] = '\0';
		port = opt_num(host, 1, 65535);
		hl = (size_t)(colon - h);
	}
	if (hl == 0 || hl >= sizeof(host))
		usage();
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(&conf->b_addr, 0, sizeof(conf->b_addr));
	conf->b_addr.sin_family = AF_INET;
	conf->b_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &conf->b_addr.sin_addr) != 1 ||
	    (ntohl(conf->b_addr.sin_addr.s_addr) >> 24) != 127) {
		log_warnx("--url %s: only loopback targets (127.0.0.0/8)",
		    url);
		exit(2);
	}
	snprintf(conf->b_hostport, sizeof(conf->b_hostport), "%s:%u", host,
	    (unsigned)port);
	snprintf(conf->b_path, sizeof(conf->b_path), "%s",
	    slash != NULL ? slash : "/");
}

/* FIRST[-LAST]: IPv4 loopback addresses to bind from, in rotation. */
static void
opt_src(struct bench_conf *conf, const char *s)
{
	char		 buf[64], *dash;
	struct in_addr	 lo, hi;

	if (strcmp(s, "none") == 0) {
		conf->b_srclo = conf->b_srchi = 0;
		return;
	}
	if (strlen(s) >= sizeof(buf))
		usage();
	strcpy(buf, s);
	if ((dash = strchr(buf, '-')) != NULL)
		*dash++ = '\0';
	if (inet_pton(AF_INET, buf, &lo) != 1 || inet_pton(AF_INET,
	    dash != NULL ? dash : buf, &hi) != 1 ||
	    (ntohl(lo.s_addr) >> 24) != 127 || (ntohl(hi.s_addr) >> 24) != 127 ||
	    ntohl(hi.s_addr) < ntohl(lo.s_addr)) {
		log_warnx("bad --source-addrs %s: want 127.0.0.2-127.0.0.250",
		    s);
		exit(2);
	}
	conf->b_srclo = ntohl(lo.s_addr);
	conf->b_srchi = ntohl(hi.s_addr);
}

/* PID,PID,...: the server's processes, for their RSS and CPU. */
static void
opt_pids(struct bench_conf *conf, const char *s)
{
	char	buf[1024], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		usage();
	strcpy(buf, s);
	conf->b_npids = 0;
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (conf->b_npids == BENCH_MAXPIDS) {
			log_warnx("--server-pids: at most %d", BENCH_MAXPIDS);
			exit(2);
		}
		conf->b_pids[conf->b_npids++] = (pid_t)opt_num(tok, 1, INT_MAX);
	}
}

/* A channel name with at most one "%d" and no other '%'. */
static void
opt_pattern(struct bench_conf *conf, const char *s)
{
	const char	*p;
	int		 n = 0;

	for (p = s; *p != '\0'; p++)
		if (*p == '%' && (p[1] != 'd' || n++ > 0))
			break;
	if (*p != '\0' || strlen(s) == 0 || strlen(s) > 180 ||
	    strpbrk(s, "\"\\") != NULL) {
		log_warnx("bad --subscribe-pattern %s: want e.g. bench:%%d", s);
		exit(2);
	}
	strcpy(conf->b_pattern, s);
}

/* Options that depend on each other. */
static void
opt_check(struct bench_conf *conf)
{
	if (conf->b_procs == 0)
		conf->b_procs = (conf->b_conns + BENCH_PERPROC - 1) /
		    BENCH_PERPROC;
	if (conf->b_procs > conf->b_conns)
		conf->b_procs = conf->b_conns;
	if ((conf->b_conns + conf->b_procs - 1) / conf->b_procs >
	    BENCH_PERPROC) {
		log_warnx("%u connections need at least %u processes",
		    conf->b_conns, (conf->b_conns + BENCH_PERPROC - 1) /
		    BENCH_PERPROC);
		exit(2);
	}
	if (conf->b_channels > conf->b_conns) {
		log_warnx("more channels (%u) than connections (%u)",
		    conf->b_channels, conf->b_conns);
		exit(2);
	}
	if (strstr(conf->b_pattern, "%d") == NULL && conf->b_channels > 1) {
		log_warnx("--subscribe-pattern %s names one channel: want "
		    "--channels 1", conf->b_pattern);
		exit(2);
	}
	if (conf->b_concurrency == 0)
		conf->b_concurrency = 256;
}

int
main(int argc, char *argv[])
{
	struct bench_conf	 conf;
	int			 ch;

	log_procinit("gw-bench");
	log_init(0, 0);
	memset(&conf, 0, sizeof(conf));
	opt_url(&conf, "ws://127.0.0.1:8080/ws");
	opt_src(&conf, "127.0.0.2-127.0.0.250");
	strcpy(conf.b_pattern, "bench:%d");
	conf.b_conns = 1000;
	conf.b_channels = 1;
	conf.b_size = 64;
	conf.b_rate = 100;
	conf.b_duration = 5;
	conf.b_warmup = 1;
	conf.b_drain = 10;
	conf.b_ctimeout = 30;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_URL:
			opt_url(&conf, optarg);
			break;
		case OPT_CONNS:
			conf.b_conns = opt_num(optarg, 1,
			    BENCH_PERPROC * BENCH_MAXPROCS);
			break;
		case OPT_PROCS:
			conf.b_procs = opt_num(optarg, 1, BENCH_MAXPROCS);
			break;
		case OPT_CHANNELS:
			conf.b_channels = opt_num(optarg, 1, BENCH_MAXCHAN);
			break;
		case OPT_PATTERN:
			opt_pattern(&conf, optarg);
			break;
		case OPT_RATE:
			conf.b_rate = opt_rate(optarg);
			break;
		case OPT_DURATION:
			conf.b_duration = opt_secs(optarg, 0.1, 3600);
			break;
		case OPT_WARMUP:
			conf.b_warmup = opt_secs(optarg, 0, 600);
			break;
		case OPT_DRAIN:
			conf.b_drain = opt_secs(optarg, 0, 600);
			break;
		case OPT_SIZE:
			conf.b_size = opt_num(optarg, 0, BENCH_MAXSIZE);
			break;
		case OPT_CTIMEOUT:
			conf.b_ctimeout = opt_secs(optarg, 0.1, 600);
			break;
		case OPT_CONCURRENCY:
			conf.b_concurrency = opt_num(optarg, 1, 20000);
			break;
		case OPT_SRC:
			opt_src(&conf, optarg);
			break;
		case OPT_PIDS:
			opt_pids(&conf, optarg);
			break;
		case OPT_JSON:
			conf.b_json = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	opt_check(&conf);
	return bench_main(&conf);
}
