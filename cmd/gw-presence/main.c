/*
 * gw-presence -- a gw node's presence, typing and liveness service.
 *
 * main.c: options, configuration and logging; then presence_main().
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "parse.h"
#include "presence.h"

struct options {
	int	o_check;
	int	o_syslog;
	int	o_verbose;
};

static __dead void usage(void);
static void	parse_options(int, char *[], struct presence_conf *,
		    struct options *);

static __dead void
usage(void)
{
	fprintf(stderr,
"usage: gw-presence [-nsv] [--rundir dir] [--redis url] [--node name]\n"
"                   [--node-ttl seconds] [--presence-grace seconds]\n"
"                   [--typing-ttl seconds] [--presence-max-users n]\n"
"                   [--resume-window seconds] [--drain-time seconds]\n"
"                   [--ready-fd fd] [--socket-group group]\n");
	exit(2);
}

enum {
	OPT_RUNDIR = 256, OPT_REDIS, OPT_NODE, OPT_NODETTL, OPT_GRACE,
	OPT_TYPINGTTL, OPT_MAXUSERS, OPT_READYFD, OPT_WINDOW, OPT_DRAIN,
	OPT_GROUP
};

static const struct option longopts[] = {
	{ "rundir",		required_argument,	NULL, OPT_RUNDIR },
	{ "redis",		required_argument,	NULL, OPT_REDIS },
	{ "node",		required_argument,	NULL, OPT_NODE },
	{ "node-ttl",		required_argument,	NULL, OPT_NODETTL },
	{ "presence-grace",	required_argument,	NULL, OPT_GRACE },
	{ "typing-ttl",		required_argument,	NULL, OPT_TYPINGTTL },
	{ "presence-max-users",	required_argument,	NULL, OPT_MAXUSERS },
	{ "resume-window",	required_argument,	NULL, OPT_WINDOW },
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

/* An option's duration, min to an hour, or exit 2 with the reason. */
static double
opt_secs(const char *s, double min)
{
	char	err[PARSE_ERRLEN];
	double	v;

	if (parse_secs(s, min, 3600, &v, err) == -1) {
		log_errx("%s", err);
		exit(2);
	}
	return v;
}

/*
 * A node name goes into Redis keys and, inside instance ids, into the
 * stored values, which the scripts read by pattern: letters, digits and
 * ". _ - :" only.
 */
static int
node_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n < PRESENCE_NODELEN &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-:") == n;
}

static void
parse_options(int argc, char *argv[], struct presence_conf *conf,
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
			conf->pc_rundir = optarg;
			break;
		case OPT_REDIS:
			conf->pc_redis = optarg;
			break;
		case OPT_NODE:
			if (!node_ok(optarg)) {
				log_errx("bad node name: %s", optarg);
				exit(2);
			}
			strcpy(conf->pc_node, optarg);
			break;
		case OPT_NODETTL:
			conf->pc_nodettl = opt_secs(optarg, 0.3);
			break;
		case OPT_GRACE:
			conf->pc_grace = opt_secs(optarg, 0);
			break;
		case OPT_TYPINGTTL:
			conf->pc_typingttl = opt_secs(optarg, 0.05);
			break;
		case OPT_MAXUSERS:
			conf->pc_maxusers = opt_num(optarg, 1, 100000);
			break;
		case OPT_WINDOW:
			conf->pc_window = opt_secs(optarg, 1);
			break;
		case OPT_DRAIN:
			conf->pc_drain = opt_secs(optarg, 0);
			break;
		case OPT_READYFD:
			conf->pc_readyfd = opt_num(optarg, 0, INT_MAX);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* The host name as a node name: other bytes become '_'. */
static void
default_node(char *node, size_t len)
{
	char	*p;

	if (gethostname(node, len - 1) == -1 || node[0] == '\0')
		strcpy(node, "gw");
	node[len - 1] = '\0';
	for (p = node; *p != '\0'; p++)
		if (strchr("._-:", *p) == NULL &&
		    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9'))
			*p = '_';
}

int
main(int argc, char *argv[])
{
	struct presence_conf	 conf;
	struct options		 o = { 0, 0, 0 };
	struct redis_addr	 addr;
	char			 name[32], err[128], rundir[64];

	memset(&conf, 0, sizeof(conf));
	conf.pc_redis = "redis://127.0.0.1:6379";
	conf.pc_nodettl = 10;
	conf.pc_grace = 5;
	conf.pc_typingttl = 5;
	conf.pc_maxusers = 1000;
	conf.pc_readyfd = -1;
	conf.pc_window = 30;
	conf.pc_drain = 10;
	default_node(conf.pc_node, sizeof(conf.pc_node));
	if ((conf.pc_rundir = getenv("GW_RUNDIR")) == NULL) {
		snprintf(rundir, sizeof(rundir), "/tmp/gw-%d", (int)getuid());
		conf.pc_rundir = rundir;
	}
	snprintf(name, sizeof(name), "gw-presence[%d]", (int)getpid());
	log_procinit(name);
	log_init(0, 0);

	parse_options(argc, argv, &conf, &o);
	if (redis_parse_url(conf.pc_redis, &addr, err, sizeof(err)) == -1) {
		log_errx("bad --redis %s: %s", conf.pc_redis, err);
		exit(2);
	}
	if (strlen(conf.pc_rundir) > 90) {
		log_errx("run directory %s: path too long for a socket",
		    conf.pc_rundir);
		exit(2);
	}
	if (o.o_check) {
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init(o.o_syslog, o.o_verbose);
	return presence_main(&conf, &addr) == 0 ? 0 : 1;
}
