/*
 * gw-listen -- the WebSocket endpoint of a gw node.
 *
 * main.c: options, configuration and logging; then listen_main().
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "parse.h"
#include "static.h"
#include "uring.h"
#include "xmalloc.h"


struct options {
	int		 o_check;	/* -n */
	int		 o_syslog;	/* -s */
	int		 o_verbose;	/* -v */
	const char	*o_auth;
	const char	*o_secret;
};

static __dead void usage(void);
static void	parse_options(int, char *[], struct listen_conf *,
		    struct options *);
static int	parse_addr(const char *, struct listen_addr *);
static int	opt_limit(struct listen_conf *, int, const char *);
static size_t	opt_num(const char *, unsigned long long, unsigned long long);
static double	opt_secs(const char *);
static void	conf_finish(struct listen_conf *, struct options *, char *,
		    size_t);

/* An option's number, or exit 2 with the reason. */
static size_t
opt_num(const char *s, unsigned long long min, unsigned long long max)
{
	unsigned long long	v;
	char			err[PARSE_ERRLEN];

	if (parse_num(s, min, max, &v, err) == -1) {
		log_errx("%s", err);
		exit(2);
	}
	return v;
}

/* An option's duration, 0.05 s to a day, or exit 2 with the reason. */
static double
opt_secs(const char *s)
{
	char	err[PARSE_ERRLEN];
	double	v;

	if (parse_secs(s, 0.05, 86400, &v, err) == -1) {
		log_errx("%s", err);
		exit(2);
	}
	return v;
}

static __dead void
usage(void)
{
	fprintf(stderr,
"usage: gw-listen [-nsv] [-l addr:port] [--listen addr:port] [--auth jwt|none]\n"
"                 [--secret-file file] [--allow-origin origin,...]\n"
"                 [--node name] [--max-message bytes] [--max-outbound bytes]\n"
"                 [--max-subscriptions n] [--ping-interval seconds]\n"
"                 [--pong-timeout seconds] [--head-timeout seconds]\n"
"                 [--ready-fd fd] [--rundir dir] [--publish-rate n]\n"
"                 [--publish-burst n] [--drain-time seconds] [--demo dir]\n"
"                 [--api-key-file file] [--metrics-allow net,...]\n"
"                 [--max-connections n] [--max-conns-per-ip n]\n"
"                 [--upgrade-rate n] [--socket-group group]\n"
"                 [--no-io-uring] [--spill]\n");
	exit(2);
}

enum {
	OPT_AUTH = 256, OPT_SECRET, OPT_ORIGIN, OPT_NODE, OPT_MAXMSG,
	OPT_MAXOUT, OPT_MAXSUBS, OPT_PING, OPT_PONG, OPT_HEADTMO, OPT_READYFD,
	OPT_RUNDIR, OPT_PUBRATE, OPT_PUBBURST, OPT_DRAIN, OPT_DEMO, OPT_APIKEYS,
	OPT_METRICS, OPT_MAXCONNS, OPT_MAXPERIP, OPT_UPRATE, OPT_GROUP,
	OPT_NOURING, OPT_SPILL
};

static const struct option longopts[] = {
	{ "listen",		required_argument,	NULL, 'l' },
	{ "auth",		required_argument,	NULL, OPT_AUTH },
	{ "secret-file",	required_argument,	NULL, OPT_SECRET },
	{ "allow-origin",	required_argument,	NULL, OPT_ORIGIN },
	{ "node",		required_argument,	NULL, OPT_NODE },
	{ "max-message",	required_argument,	NULL, OPT_MAXMSG },
	{ "max-outbound",	required_argument,	NULL, OPT_MAXOUT },
	{ "max-subscriptions",	required_argument,	NULL, OPT_MAXSUBS },
	{ "ping-interval",	required_argument,	NULL, OPT_PING },
	{ "pong-timeout",	required_argument,	NULL, OPT_PONG },
	{ "head-timeout",	required_argument,	NULL, OPT_HEADTMO },
	{ "ready-fd",		required_argument,	NULL, OPT_READYFD },
	{ "rundir",		required_argument,	NULL, OPT_RUNDIR },
	{ "publish-rate",	required_argument,	NULL, OPT_PUBRATE },
	{ "publish-burst",	required_argument,	NULL, OPT_PUBBURST },
	{ "drain-time",		required_argument,	NULL, OPT_DRAIN },
	{ "demo",		required_argument,	NULL, OPT_DEMO },
	{ "api-key-file",	required_argument,	NULL, OPT_APIKEYS },
	{ "metrics-allow",	required_argument,	NULL, OPT_METRICS },
	{ "max-connections",	required_argument,	NULL, OPT_MAXCONNS },
	{ "max-conns-per-ip",	required_argument,	NULL, OPT_MAXPERIP },
	{ "upgrade-rate",	required_argument,	NULL, OPT_UPRATE },
	{ "socket-group",	required_argument,	NULL, OPT_GROUP },
	{ "no-io-uring",	no_argument,		NULL, OPT_NOURING },
	{ "spill",		no_argument,		NULL, OPT_SPILL },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

/*
 * The options of numbers and durations into conf: 1, or 0 if ch is not
 * one of them.
 */
static int
opt_limit(struct listen_conf *conf, int ch, const char *arg)
{
	switch (ch) {
	case OPT_MAXMSG:
		conf->lc_maxmsg = opt_num(arg, 126, 4 * 1024 * 1024);
		break;
	case OPT_MAXOUT:
		conf->lc_maxout = opt_num(arg, 1024, 1024 * 1024 * 1024);
		break;
	case OPT_MAXSUBS:
		conf->lc_maxsubs = opt_num(arg, 1, 65535);
		break;
	case OPT_PING:
		conf->lc_ping = opt_secs(arg);
		break;
	case OPT_PONG:
		conf->lc_pong = opt_secs(arg);
		break;
	case OPT_HEADTMO:
		conf->lc_headtmo = opt_secs(arg);
		break;
	case OPT_DRAIN:
		conf->lc_drain = opt_secs(arg);
		break;
	case OPT_MAXCONNS:
		conf->lc_maxconns = opt_num(arg, 0, 10000000);
		break;
	case OPT_MAXPERIP:
		conf->lc_maxperip = opt_num(arg, 0, 10000000);
		break;
	case OPT_UPRATE:
		conf->lc_uprate = opt_num(arg, 0, 10000000);
		break;
	case OPT_PUBRATE:
		conf->lc_pubrate = opt_num(arg, 1, 1000000);
		break;
	case OPT_PUBBURST:
		conf->lc_pubburst = opt_num(arg, 1, 1000000);
		break;
	case OPT_READYFD:
		conf->lc_readyfd = opt_num(arg, 0, INT_MAX);
		break;
	default:
		return 0;
	}
	return 1;
}

/* Parse the command line into conf and o; exit 2 on bad usage. */
static void
parse_options(int argc, char *argv[], struct listen_conf *conf,
    struct options *o)
{
	size_t	n;
	int	ch;

	while ((ch = getopt_long(argc, argv, "hl:nsv", longopts, NULL)) != -1) {
		if (opt_limit(conf, ch, optarg))
			continue;
		switch (ch) {
		case 'l':
			if (conf->lc_naddrs == LISTEN_MAXADDRS) {
				log_errx("too many listen addresses (max %d)",
				    LISTEN_MAXADDRS);
				exit(2);
			}
			if (parse_addr(optarg,
			    &conf->lc_addrs[conf->lc_naddrs]) == -1) {
				log_errx("bad listen address: %s", optarg);
				exit(2);
			}
			conf->lc_naddrs++;
			break;
		case 'n':
			o->o_check = 1;
			break;
		case 's':
			o->o_syslog = 1;
			break;
		case 'v':
			o->o_verbose++;
			break;
		case OPT_AUTH:
			o->o_auth = optarg;
			break;
		case OPT_SECRET:
			o->o_secret = optarg;
			break;
		case OPT_ORIGIN:
			conf->lc_origins = optarg;
			break;
		case OPT_NODE:
			n = strlen(optarg);
			if (n == 0 || n >= sizeof(conf->lc_node)) {
				log_errx("bad node name: %s", optarg);
				exit(2);
			}
			memcpy(conf->lc_node, optarg, n + 1);
			break;
		case OPT_DEMO:
			conf->lc_demo = optarg;
			break;
		case OPT_APIKEYS:
			conf->lc_apikeys = optarg;
			break;
		case OPT_METRICS:
			conf->lc_metrics = optarg;
			break;
		case OPT_GROUP:
			ipc_group_opt(optarg);
			break;
		case OPT_NOURING:
			uring_disable();
			break;
		case OPT_SPILL:
			conf->lc_spill = 1;
			break;
		case OPT_RUNDIR:
			if (strlen(optarg) == 0 ||
			    strlen(optarg) > LISTEN_MAXRUNDIR) {
				log_errx("bad run directory: %s", optarg);
				exit(2);
			}
			conf->lc_rundir = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/*
 * After the options: the run directory (--rundir, GW_RUNDIR, else
 * /tmp/gw-UID in rundir), the authentication, the default address and
 * the files the options name; exit 2 on a bad one.
 */
static void
conf_finish(struct listen_conf *conf, struct options *o, char *rundir,
    size_t rundirlen)
{
	char	err[256];

	if (conf->lc_rundir == NULL &&
	    (conf->lc_rundir = getenv("GW_RUNDIR")) == NULL) {
		snprintf(rundir, rundirlen, "/tmp/gw-%d", (int)getuid());
		conf->lc_rundir = rundir;
	}
	if (strlen(conf->lc_rundir) == 0 ||
	    strlen(conf->lc_rundir) > LISTEN_MAXRUNDIR) {
		log_errx("bad run directory: %s", conf->lc_rundir);
		exit(2);
	}
	if (strcmp(o->o_auth, "none") == 0)
		conf->lc_authnone = 1;
	else if (strcmp(o->o_auth, "jwt") != 0) {
		log_errx("bad --auth %s: want jwt or none", o->o_auth);
		exit(2);
	}
	if (!conf->lc_authnone) {
		if (o->o_secret == NULL) {
			log_warnx("--auth jwt needs --secret-file; make one with:"
			    " head -c 32 /dev/urandom | base64 > secret");
			exit(2);
		}
		if (auth_read_secret(o->o_secret, conf) == -1)
			exit(2);
	}
	if (conf->lc_maxout < conf->lc_maxmsg) {
		log_errx("--max-outbound %zu under --max-message %zu: a "
		    "message that size would close its subscribers (1013)",
		    conf->lc_maxout, conf->lc_maxmsg);
		exit(2);
	}
	if (conf->lc_naddrs == 0 && parse_addr("127.0.0.1:8080",
	    &conf->lc_addrs[conf->lc_naddrs++]) == -1)
		fatalx("default address");
	if (conf->lc_demo != NULL &&
	    static_load(conf->lc_demo, err, sizeof(err)) == -1) {
		log_errx("--demo %s: %s", conf->lc_demo, err);
		exit(2);
	}
	if (conf->lc_apikeys != NULL &&
	    api_load_keys(conf->lc_apikeys, err, sizeof(err)) == -1) {
		log_errx("--api-key-file %s", err);
		exit(2);
	}
	if (conf->lc_metrics != NULL &&
	    api_parse_allow(conf->lc_metrics, err, sizeof(err)) == -1) {
		log_errx("--metrics-allow: %s", err);
		exit(2);
	}
}

int
main(int argc, char *argv[])
{
	struct listen_conf	 conf;
	struct options		 o = { 0, 0, 0, "jwt", NULL };
	char			 name[32], rundir[32];
	int			 rv;

	memset(&conf, 0, sizeof(conf));
	conf.lc_maxmsg = 64 * 1024;
	conf.lc_maxout = 1024 * 1024;
	conf.lc_maxsubs = 128;
	conf.lc_pubrate = 50;
	conf.lc_pubburst = 100;
	conf.lc_ping = 25;
	conf.lc_pong = 10;
	conf.lc_headtmo = 10;
	conf.lc_uprate = LISTEN_UPGRADE_RATE;
	conf.lc_drain = 10;
	conf.lc_readyfd = -1;
	if (gethostname(conf.lc_node, sizeof(conf.lc_node) - 1) == -1)
		strcpy(conf.lc_node, "gw");

	snprintf(name, sizeof(name), "gw-listen[%d]", (int)getpid());
	log_procinit(name);
	log_init(0, 0);

	parse_options(argc, argv, &conf, &o);
	conf_finish(&conf, &o, rundir, sizeof(rundir));
	if (o.o_check) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init(o.o_syslog, o.o_verbose);
	rv = listen_main(&conf) == 0 ? 0 : 1;
	static_free();
	api_free();
	limit_free();
	if (conf.lc_secret != NULL) {
		explicit_bzero(conf.lc_secret, conf.lc_secretlen);
		free(conf.lc_secret);
	}
	return rv;
}

/* ADDR:PORT with a dotted IPv4 address or [IPv6]; port 0 lets the kernel pick. */
static int
parse_addr(const char *s, struct listen_addr *la)
{
	memset(la, 0, sizeof(*la));
	if (parse_sockaddr(s, &la->la_ss, &la->la_len) == -1)
		return -1;
	snprintf(la->la_name, sizeof(la->la_name), "%s", s);
	return 0;
}
