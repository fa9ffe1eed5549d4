/*
 * gw-bench -- a load generator for gw.
 *
 * main.c: options (the targets must be loopback addresses), then
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
static void	opt_url(struct bench_target *, const char *, const char *);
static void	opt_src(struct bench_conf *, const char *);
static void	opt_pids(struct bench_conf *, const char *);
static void	opt_kill(struct bench_conf *, const char *);
static void	opt_apikey(struct bench_conf *, const char *);
static void	opt_pattern(char *, size_t, const char *, const char *,
		    const char *);
static void	opt_check(struct bench_conf *);
static void	opt_check_storm(struct bench_conf *);
static void	opt_check_resume(struct bench_conf *);
static void	opt_fresh_users(struct bench_conf *, const char *);
static int	opt_same(const struct bench_target *,
		    const struct bench_target *);
static void	opt_one(struct bench_conf *, int, const char *);
static int	opt_limit(struct bench_conf *, int, const char *);
static void	opt_secret(struct bench_conf *, const char *);

static __dead void
usage(void)
{
	fprintf(stderr,
"usage: gw-bench [--json] [--url ws://127.0.0.1:8080/ws] [--conns n]\n"
"                [--procs n] [--channels n] [--subscribe-pattern name%%d]\n"
"                [--rate msgs_per_s] [--duration seconds] [--warmup seconds]\n"
"                [--drain seconds] [--size bytes] [--connect-timeout seconds]\n"
"                [--concurrency n] [--source-addrs first[-last]]\n"
"                [--server-pids pid,...] [--pub-url ws://127.0.0.1:8081/ws]\n"
"                [--user-pattern name%%d] [--watchers n] [--queries n]\n"
"                [--proto gw|nchan|socketio]\n"
"                [--resume-url ws://127.0.0.1:8081/ws] [--kill pid]\n"
"                [--bystanders n] [--backoff seconds] [--no-since]\n"
"                [--pub-api keyfile] [--jwt-secret file]\n"
"                [--receiver-nice n]\n");
	exit(2);
}

enum {
	OPT_URL = 256, OPT_CONNS, OPT_PROCS, OPT_CHANNELS, OPT_PATTERN,
	OPT_RATE, OPT_DURATION, OPT_WARMUP, OPT_DRAIN, OPT_SIZE, OPT_CTIMEOUT,
	OPT_CONCURRENCY, OPT_SRC, OPT_PIDS, OPT_JSON, OPT_PUBURL, OPT_USERPAT,
	OPT_WATCHERS, OPT_QUERIES, OPT_PROTO, OPT_RESUME, OPT_KILL,
	OPT_BYSTANDERS, OPT_BACKOFF, OPT_NOSINCE, OPT_PUBAPI, OPT_SECRET,
	OPT_RNICE
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
	{ "pub-url",		required_argument,	NULL, OPT_PUBURL },
	{ "user-pattern",	required_argument,	NULL, OPT_USERPAT },
	{ "watchers",		required_argument,	NULL, OPT_WATCHERS },
	{ "queries",		required_argument,	NULL, OPT_QUERIES },
	{ "proto",		required_argument,	NULL, OPT_PROTO },
	{ "resume-url",		required_argument,	NULL, OPT_RESUME },
	{ "kill",		required_argument,	NULL, OPT_KILL },
	{ "bystanders",		required_argument,	NULL, OPT_BYSTANDERS },
	{ "backoff",		required_argument,	NULL, OPT_BACKOFF },
	{ "no-since",		no_argument,		NULL, OPT_NOSINCE },
	{ "pub-api",		required_argument,	NULL, OPT_PUBAPI },
	{ "jwt-secret",		required_argument,	NULL, OPT_SECRET },
	{ "receiver-nice",	required_argument,	NULL, OPT_RNICE },
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
		log_errx("%s", err);
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
		log_errx("%s", err);
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
		log_errx("bad --rate %s: want 0..1000000 messages per second",
		    s);
		exit(2);
	}
	return v;
}

/*
 * ws://HOST[:PORT][/PATH] of option opt into t: HOST must be 127.x.y.z
 * or localhost; gw-bench loads only this machine.
 */
static void
opt_url(struct bench_target *t, const char *opt, const char *url)
{
	const char	*h, *colon, *slash;
	char		 host[64];
	size_t		 hl, i;
	unsigned long long port = 80;

	for (i = 0; url[i] != '\0'; i++)
		if (url[i] <= ' ' || url[i] > '~' || url[i] == '"' ||
		    url[i] == '\\')
			break;
	if (i >= sizeof(t->t_url) || url[i] != '\0' ||
	    strncmp(url, "ws://", 5) != 0) {
		log_errx("bad --%s %s: want ws://127.0.0.1:PORT/PATH", opt,
		    url);
		exit(2);
	}
	strcpy(t->t_url, url);
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
	memset(&t->t_addr, 0, sizeof(t->t_addr));
	t->t_addr.sin_family = AF_INET;
	t->t_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &t->t_addr.sin_addr) != 1 ||
	    (ntohl(t->t_addr.sin_addr.s_addr) >> 24) != 127) {
		log_errx("--%s %s: only loopback targets (127.0.0.0/8)", opt,
		    url);
		exit(2);
	}
	snprintf(t->t_hostport, sizeof(t->t_hostport), "%s:%u", host,
	    (unsigned)port);
	snprintf(t->t_path, sizeof(t->t_path), "%s",
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
	    (ntohl(lo.s_addr) >> 24) != 127 ||
	    (ntohl(hi.s_addr) >> 24) != 127 ||
	    ntohl(hi.s_addr) < ntohl(lo.s_addr)) {
		log_errx("bad --source-addrs %s: want 127.0.0.2-127.0.0.250",
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
			log_errx("--server-pids: at most %d", BENCH_MAXPIDS);
			exit(2);
		}
		conf->b_pids[conf->b_npids++] = (pid_t)opt_num(tok, 1, INT_MAX);
	}
}

/*
 * PID[,PID...] of --kill, added to those of the options before: the
 * processes to kill at the warm-up's end.
 */
static void
opt_kill(struct bench_conf *conf, const char *s)
{
	char	buf[1024], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		usage();
	strcpy(buf, s);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (conf->b_nkill == BENCH_MAXPIDS) {
			log_errx("--kill: at most %d", BENCH_MAXPIDS);
			exit(2);
		}
		conf->b_kill[conf->b_nkill++] = (pid_t)opt_num(tok, 2,
		    INT_MAX);
	}
}

/*
 * The API key of --pub-api: the first line of path that is neither
 * blank nor a comment (gw-listen's --api-key-file holds one a line),
 * printable and without blanks; or exit 2.
 */
static void
opt_apikey(struct bench_conf *conf, const char *path)
{
	FILE	*f;
	char	 line[BENCH_MAXKEY + 2];
	size_t	 n = 0, i;

	if ((f = fopen(path, "re")) == NULL) {
		log_warn("--pub-api %s", path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((n = strcspn(line, "\r\n")) > 0 && line[0] != '#')
			break;
		n = 0;
	}
	fclose(f);
	for (i = 0; i < n && line[i] > ' ' && line[i] <= '~'; i++)
		;
	if (n == 0 || n > BENCH_MAXKEY || i < n) {
		log_errx("--pub-api %s: want a key of 1 to %d printable "
		    "bytes on a line of its own", path, BENCH_MAXKEY);
		exit(2);
	}
	memcpy(conf->b_apikey, line, n);
	conf->b_apikey[n] = '\0';
	explicit_bzero(line, sizeof(line));
	conf->b_pubapi = 1;
}

/*
 * A channel name or user id pattern of option opt, with at most one
 * "%d", no other '%' and only the characters of ok (besides letters and
 * digits), into dst; or exit 2 with example as a hint.
 */
static void
opt_pattern(char *dst, size_t sz, const char *opt, const char *ok,
    const char *s)
{
	const char	*p;
	int		 n = 0;

	for (p = s; *p != '\0'; p++) {
		if (*p == '%' && p[1] == 'd' && n++ == 0)
			p++;
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
		    *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr(ok, *p) != NULL))
			break;
	}
	if (*p != '\0' || strlen(s) == 0 || strlen(s) + 8 > sz) {
		log_errx("bad --%s %s: want e.g. %s%%d", opt, s,
		    strcmp(opt, "user-pattern") == 0 ? "gwb-u" : "bench:");
		exit(2);
	}
	strcpy(dst, s);
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
		log_errx("%u connections need at least %u processes",
		    conf->b_conns, (conf->b_conns + BENCH_PERPROC - 1) /
		    BENCH_PERPROC);
		exit(2);
	}
	if (conf->b_channels > conf->b_conns) {
		log_errx("more channels (%u) than connections (%u)",
		    conf->b_channels, conf->b_conns);
		exit(2);
	}
	if (strstr(conf->b_pattern, "%d") == NULL && conf->b_channels > 1) {
		log_errx("--subscribe-pattern %s names one channel: want "
		    "--channels 1", conf->b_pattern);
		exit(2);
	}
	if (conf->b_concurrency == 0)
		conf->b_concurrency = 256;
	if (conf->b_hasresume)
		opt_check_resume(conf);
	else if (conf->b_nkill > 0 || conf->b_bystanders > 0 ||
	    conf->b_nosince || conf->b_backoff >= 0) {
		log_errx("--kill, --bystanders, --backoff and --no-since are "
		    "for a reconnect storm: want --resume-url");
		exit(2);
	}
	if (!conf->b_haspub)
		conf->b_pub = conf->b_sub;
	if (conf->b_pubapi && (conf->b_proto != PROTO_GW ||
	    conf->b_watchers > 0)) {
		log_errx("--pub-api: gw's protocol, with a publisher (no "
		    "presence storm)");
		exit(2);
	}
	if (conf->b_proto != PROTO_GW && (conf->b_watchers > 0 ||
	    conf->b_userpat[0] != '\0' || conf->b_secretlen > 0)) {
		log_errx("--proto %s: no presence storm, no users: drop "
		    "--watchers, --user-pattern and --jwt-secret",
		    peer_name(conf->b_proto));
		exit(2);
	}
	if (conf->b_secretlen > 0)
		opt_fresh_users(conf, "j");	/* every token names a user */
	if (conf->b_watchers > 0)
		opt_check_storm(conf);
}

/* A presence storm: one channel, users of their own, no publisher. */
static void
opt_check_storm(struct bench_conf *conf)
{
	if (conf->b_channels != 1) {
		log_errx("--watchers: a presence storm is on one channel: "
		    "want --channels 1");
		exit(2);
	}
	if (conf->b_haspub) {
		log_errx("--watchers: a presence storm has no publisher: "
		    "drop --pub-url");
		exit(2);
	}
	/*
	 * Users of an earlier run may still be present (presence_grace):
	 * they would not join again.  Fresh names each run.
	 */
	opt_fresh_users(conf, "u");
	if (strstr(conf->b_userpat, "%d") == NULL) {
		log_errx("--watchers: --user-pattern %s names one user: want "
		    "a %%d", conf->b_userpat);
		exit(2);
	}
}

/* Do targets a and b name the same address and port? */
static int
opt_same(const struct bench_target *a, const struct bench_target *b)
{
	return a->t_addr.sin_addr.s_addr == b->t_addr.sin_addr.s_addr &&
	    a->t_addr.sin_port == b->t_addr.sin_port;
}

/*
 * --jwt-secret: the HS256 secret of gw-listen --auth jwt, read as
 * gw-listen reads it; every connection then signs a token of its own.
 */
static void
opt_secret(struct bench_conf *conf, const char *path)
{
	char	err[SECRET_ERRLEN];

	if (secret_read(path, conf->b_secret, &conf->b_secretlen, err) == -1) {
		log_errx("--jwt-secret: %s", err);
		exit(2);
	}
}

/* Without --user-pattern: gwbXXXXXX-KIND%d, XXXXXX new at every run. */
static void
opt_fresh_users(struct bench_conf *conf, const char *kind)
{
	if (conf->b_userpat[0] == '\0')
		snprintf(conf->b_userpat, sizeof(conf->b_userpat),
		    "gwb%06x-%s%%d", (unsigned)((bench_now() / 1000) ^
		    ((uint64_t)getpid() << 8)) & 0xffffff, kind);
}

/*
 * A reconnect storm: gw's protocol, something to kill, users (a session
 * resumes only for its user), and a publisher that survives the kill:
 * by default on the resume URL, never on --url.
 */
static void
opt_check_resume(struct bench_conf *conf)
{
	if (conf->b_proto != PROTO_GW || conf->b_watchers > 0) {
		log_errx("--resume-url: gw's protocol, no presence storm");
		exit(2);
	}
	if (conf->b_nkill == 0) {
		log_errx("--resume-url: want --kill with the pids of the "
		    "--url node");
		exit(2);
	}
	if (opt_same(&conf->b_resume, &conf->b_sub)) {
		log_errx("--resume-url: the victims must resume elsewhere: "
		    "it is --url");
		exit(2);
	}
	if (conf->b_haspub && opt_same(&conf->b_pub, &conf->b_sub)) {
		log_errx("--resume-url: the publisher must survive the kill: "
		    "--pub-url is --url");
		exit(2);
	}
	if (!conf->b_haspub) {
		conf->b_pub = conf->b_resume;
		conf->b_haspub = 1;
	}
	if (conf->b_backoff < 0)
		conf->b_backoff = 5;
	/* Sessions of an earlier run must not be resumed by this one. */
	opt_fresh_users(conf, "v");
}

/* Option ch if it is a number or a duration: 1, else 0. */
static int
opt_limit(struct bench_conf *conf, int ch, const char *arg)
{
	switch (ch) {
	case OPT_CONNS:
		conf->b_conns = opt_num(arg, 1, BENCH_PERPROC * BENCH_MAXPROCS);
		break;
	case OPT_PROCS:
		conf->b_procs = opt_num(arg, 1, BENCH_MAXPROCS);
		break;
	case OPT_CHANNELS:
		conf->b_channels = opt_num(arg, 1, BENCH_MAXCHAN);
		break;
	case OPT_RATE:
		conf->b_rate = opt_rate(arg);
		break;
	case OPT_DURATION:
		conf->b_duration = opt_secs(arg, 0.1, 3600);
		break;
	case OPT_WARMUP:
		conf->b_warmup = opt_secs(arg, 0, 600);
		break;
	case OPT_DRAIN:
		conf->b_drain = opt_secs(arg, 0, 600);
		break;
	case OPT_SIZE:
		conf->b_size = opt_num(arg, 0, BENCH_MAXSIZE);
		break;
	case OPT_CTIMEOUT:
		conf->b_ctimeout = opt_secs(arg, 0.1, 600);
		break;
	case OPT_CONCURRENCY:
		conf->b_concurrency = opt_num(arg, 1, 20000);
		break;
	case OPT_WATCHERS:
		conf->b_watchers = opt_num(arg, 1, BENCH_MAXWATCH);
		break;
	case OPT_QUERIES:
		conf->b_queries = opt_num(arg, 0, BENCH_MAXQUERY);
		break;
	case OPT_BYSTANDERS:
		conf->b_bystanders = opt_num(arg, 0, BENCH_MAXBYST);
		break;
	case OPT_BACKOFF:
		conf->b_backoff = opt_secs(arg, 0, 600);
		break;
	case OPT_RNICE:
		conf->b_rnice = (int)opt_num(arg, 0, 19);
		break;
	default:
		return 0;
	}
	return 1;
}

/* Option ch (a value of getopt_long) with its argument arg. */
static void
opt_one(struct bench_conf *conf, int ch, const char *arg)
{
	if (opt_limit(conf, ch, arg))
		return;
	switch (ch) {
	case OPT_URL:
		opt_url(&conf->b_sub, "url", arg);
		break;
	case OPT_PUBURL:
		opt_url(&conf->b_pub, "pub-url", arg);
		conf->b_haspub = 1;
		break;
	case OPT_PATTERN:
		opt_pattern(conf->b_pattern, sizeof(conf->b_pattern),
		    "subscribe-pattern", "_-:.@/=#", arg);
		break;
	case OPT_USERPAT:
		opt_pattern(conf->b_userpat, sizeof(conf->b_userpat),
		    "user-pattern", "_-.@:", arg);
		break;
	case OPT_SRC:
		opt_src(conf, arg);
		break;
	case OPT_PIDS:
		opt_pids(conf, arg);
		break;
	case OPT_JSON:
		conf->b_json = 1;
		break;
	case OPT_RESUME:
		opt_url(&conf->b_resume, "resume-url", arg);
		conf->b_hasresume = 1;
		break;
	case OPT_KILL:
		opt_kill(conf, arg);
		break;
	case OPT_NOSINCE:
		conf->b_nosince = 1;
		break;
	case OPT_PUBAPI:
		opt_apikey(conf, arg);
		break;
	case OPT_SECRET:
		opt_secret(conf, arg);
		break;
	case OPT_PROTO:
		if ((conf->b_proto = peer_proto(arg)) == -1) {
			log_errx("bad --proto %s: want gw, nchan or socketio",
			    arg);
			exit(2);
		}
		break;
	default:
		usage();
	}
}

int
main(int argc, char *argv[])
{
	struct bench_conf	 conf;
	int			 ch;

	log_procinit("gw-bench");
	log_init(0, 0);
	memset(&conf, 0, sizeof(conf));
	opt_url(&conf.b_sub, "url", "ws://127.0.0.1:8080/ws");
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
	conf.b_queries = 20;
	conf.b_backoff = -1;	/* not given */
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		opt_one(&conf, ch, optarg);
	if (optind != argc)
		usage();
	opt_check(&conf);
	return bench_main(&conf);
}
