/*
 * gw-bridge -- a gw node's link to Redis pub/sub.
 *
 * main.c: options, configuration and logging; then bridge_main().
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "ipc.h"
#include "log.h"
#include "parse.h"
#include "xmalloc.h"

struct options {
	int	o_check;
	int	o_syslog;
	int	o_verbose;
};

static __dead void usage(void);
static void	parse_options(int, char *[], struct bridge_conf *,
		    struct options *);
static unsigned long long opt_num(const char *, unsigned long long,
		    unsigned long long);
static double	opt_secs(const char *);

static __dead void
usage(void)
{
	fprintf(stderr,
"usage: gw-bridge [-nsv] [--rundir dir] [--redis url] [--redis-sub url]\n"
"                 [--node name] [--history-size n] [--history-ttl seconds]\n"
"                 [--probe-interval seconds] [--ready-fd fd]\n"
"                 [--drain-time seconds] [--socket-group group]\n");
	exit(2);
}

enum {
	OPT_RUNDIR = 256, OPT_REDIS, OPT_REDISSUB, OPT_NODE, OPT_HSIZE,
	OPT_HTTL, OPT_PROBE, OPT_READYFD, OPT_DRAIN, OPT_GROUP
};

static const struct option longopts[] = {
	{ "rundir",		required_argument,	NULL, OPT_RUNDIR },
	{ "redis",		required_argument,	NULL, OPT_REDIS },
	{ "redis-sub",		required_argument,	NULL, OPT_REDISSUB },
	{ "node",		required_argument,	NULL, OPT_NODE },
	{ "history-size",	required_argument,	NULL, OPT_HSIZE },
	{ "history-ttl",	required_argument,	NULL, OPT_HTTL },
	{ "probe-interval",	required_argument,	NULL, OPT_PROBE },
	{ "drain-time",		required_argument,	NULL, OPT_DRAIN },
	{ "ready-fd",		required_argument,	NULL, OPT_READYFD },
	{ "socket-group",	required_argument,	NULL, OPT_GROUP },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

/* An option's number, or exit 2 with the reason. */
static unsigned long long
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

/* An option's duration, 0.05 s to an hour, or exit 2 with the reason. */
static double
opt_secs(const char *s)
{
	char	err[PARSE_ERRLEN];
	double	v;

	if (parse_secs(s, 0.05, 3600, &v, err) == -1) {
		log_errx("%s", err);
		exit(2);
	}
	return v;
}

static void
parse_options(int argc, char *argv[], struct bridge_conf *conf,
    struct options *o)
{
	int	ch;

	while ((ch = getopt_long(argc, argv, "hnsv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->o_check = 1;
			break;
		case 's':
			o->o_syslog = 1;
			break;
		case 'v':
			o->o_verbose++;
			break;
		case OPT_GROUP:
			ipc_group_opt(optarg);
			break;
		case OPT_RUNDIR:
			conf->bc_rundir = optarg;
			break;
		case OPT_REDIS:
			conf->bc_redis = optarg;
			break;
		case OPT_REDISSUB:
			conf->bc_redis_sub = optarg;
			break;
		case OPT_NODE:
			if (strlen(optarg) == 0 ||
			    strlen(optarg) >= sizeof(conf->bc_node)) {
				log_errx("bad node name: %s", optarg);
				exit(2);
			}
			strcpy(conf->bc_node, optarg);
			break;
		case OPT_HSIZE:
			conf->bc_histsize = opt_num(optarg, 1, 100000);
			break;
		case OPT_HTTL:
			conf->bc_histttl = opt_num(optarg, 1, 30 * 86400);
			break;
		case OPT_DRAIN:
			conf->bc_drain = opt_secs(optarg);
			break;
		case OPT_PROBE:
			conf->bc_probe = opt_secs(optarg);
			break;
		case OPT_READYFD:
			conf->bc_readyfd = opt_num(optarg, 0, INT_MAX);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

int
main(int argc, char *argv[])
{
	struct bridge_conf	 conf;
	struct options		 o = { 0, 0, 0 };
	char			 name[32], err[128], rundir[64];
	struct bridge		 probe;

	memset(&conf, 0, sizeof(conf));
	conf.bc_redis = "redis://127.0.0.1:6379";
	conf.bc_histsize = 128;
	conf.bc_histttl = 300;
	conf.bc_probe = 1;
	conf.bc_drain = 10;
	conf.bc_readyfd = -1;
	if (gethostname(conf.bc_node, sizeof(conf.bc_node) - 1) == -1)
		strcpy(conf.bc_node, "gw");
	if ((conf.bc_rundir = getenv("GW_RUNDIR")) == NULL) {
		snprintf(rundir, sizeof(rundir), "/tmp/gw-%d", (int)getuid());
		conf.bc_rundir = rundir;
	}
	snprintf(name, sizeof(name), "gw-bridge[%d]", (int)getpid());
	log_procinit(name);
	log_init(0, 0);

	parse_options(argc, argv, &conf, &o);
	memset(&probe, 0, sizeof(probe));
	if (redis_parse_url(conf.bc_redis, &probe.b_addr, err,
	    sizeof(err)) == -1) {
		log_errx("bad --redis %s: %s", conf.bc_redis, err);
		exit(2);
	}
	if (redis_parse_url(conf.bc_redis_sub != NULL ? conf.bc_redis_sub :
	    conf.bc_redis, &probe.b_subaddr, err, sizeof(err)) == -1) {
		log_errx("bad --redis-sub %s: %s", conf.bc_redis_sub, err);
		exit(2);
	}
	if (conf.bc_rundir == NULL || strlen(conf.bc_rundir) > 90) {
		log_errx("run directory %s: path too long for a socket",
		    conf.bc_rundir);
		exit(2);
	}
	if (o.o_check) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init(o.o_syslog, o.o_verbose);
	return bridge_main(&conf, &probe.b_addr, &probe.b_subaddr) == 0 ? 0 : 1;
}
