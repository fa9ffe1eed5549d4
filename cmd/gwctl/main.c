/*
 * gwctl -- the administration tool of a gw node.
 *
 * main.c: the global options, the command table, usage, and helpers the
 * commands share (channel names, numbers, socket paths, signals).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "gwctl.h"
#include "parse.h"

struct gwctl	 gc;

/* The commands, in the order of PROTOCOL.md section 5. */
const struct cmd cmds[] = {
	{ "publish",	cmd_publish,	"channel [json]" },
	{ "send",	cmd_send,	"user [json]" },
	{ "presence",	cmd_presence,	"channel" },
	{ "channels",	cmd_channels,	"[glob]" },
	{ "conns",	cmd_conns,	"[--user user] [--channel channel]" },
	{ "kick",	cmd_kick,	"connid | --user user" },
	{ "tail",	cmd_tail,	"channel ... [--since offset] [--presence]" },
	{ "history",	cmd_history,
	    "channel [--since offset] [--limit n]" },
	{ "stats",	cmd_stats,	"[--watch seconds]" },
	{ "status",	cmd_status,	"" },
	{ "token",	cmd_token,	"user [--ttl seconds] [--info json]\n"
	    "                [--channels glob,...] [--secret-file file]" },
	{ NULL,		NULL,		NULL }
};

static void	print_usage(FILE *);
static void	load_conf(const char *, const char *);
static void	on_signal(int);

static void
print_usage(FILE *f)
{
	const struct cmd	*c;

	fprintf(f, "usage: gwctl [-c file] [--rundir dir] [--json | --table] "
	    "command [args ...]\n");
	for (c = cmds; c->c_name != NULL; c++)
		fprintf(f, "       gwctl %s%s%s\n", c->c_name,
		    c->c_args[0] != '\0' ? " " : "", c->c_args);
}

/*
 * Print why the command line is wrong (if why is not NULL) and the usage
 * to stderr, and exit 2.
 */
void
cmd_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "gwctl: %s\n", why);
	print_usage(stderr);
	exit(EX_USAGE);
}

/*
 * Return non-zero if s is a channel name of PROTOCOL.md section 2: 1 to
 * 200 bytes of A-Z a-z 0-9 _ - : . @ / = #.
 */
int
cmd_channel_ok(const char *s)
{
	size_t	n = strlen(s);

	return parse_channel(s, n);
}

/*
 * The number of option opt's value s, between min and max; bad usage
 * (exit 2) if it is not one.
 */
unsigned long long
cmd_num(const char *opt, const char *s, unsigned long long min,
    unsigned long long max)
{
	unsigned long long	v;
	char			err[PARSE_ERRLEN], why[PARSE_ERRLEN + 64];

	if (parse_num(s, min, max, &v, err) == -1) {
		snprintf(why, sizeof(why), "%s: %s", opt, err);
		cmd_usage(why);
	}
	return v;
}

/* The path of the socket name in the run directory, into buf. */
void
cmd_path(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", gc.g_rundir, name) >= size)
		errx(EX_USAGE, "run directory %s: path too long", gc.g_rundir);
}

static void
on_signal(int sig)
{
	(void)sig;
	gc.g_stop = 1;
}

/*
 * Catch SIGINT and SIGTERM without SA_RESTART, so that a poll() in
 * progress returns EINTR and the command ends cleanly (gc.g_stop set).
 */
void
cmd_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * Read the configuration file path (gw.conf(5)) for its rundir and
 * secret_file; the rundir of --rundir or $GW_RUNDIR (flagdir, when not
 * NULL) wins over the file's.  A bad file is bad usage.
 */
static void
load_conf(const char *path, const char *flagdir)
{
	static struct conf	 c;
	char			 err[CONF_ERRLEN];
	const char		*v;

	conf_init(&c);
	if (conf_load(&c, path, err) == -1) {
		fprintf(stderr, "gwctl: %s\n", err);
		exit(EX_USAGE);
	}
	if (flagdir == NULL && (v = conf_raw(&c, "rundir")) != NULL)
		gc.g_rundir = v;
	gc.g_secret = conf_raw(&c, "secret_file");
	/* c is kept: gc points into it. */
}

enum { OPT_RUNDIR = 256, OPT_JSON, OPT_TABLE };

static const struct option longopts[] = {
	{ "rundir",	required_argument,	NULL, OPT_RUNDIR },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "table",	no_argument,		NULL, OPT_TABLE },
	{ "config",	required_argument,	NULL, 'c' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 }
};

int
main(int argc, char *argv[])
{
	const struct cmd	*c;
	const char		*flagdir, *conffile = NULL;
	char			 rundir[64];
	int			 ch, forced = 0;

	/* A closed pipe is seen as EPIPE on write, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	gc.g_json = !isatty(STDOUT_FILENO);
	if ((flagdir = getenv("GW_RUNDIR")) != NULL && flagdir[0] == '\0')
		flagdir = NULL;
	/* "+": the options after the command are the command's. */
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case OPT_RUNDIR:
			flagdir = optarg;
			break;
		case OPT_JSON:
		case OPT_TABLE:
			if (forced != 0 && forced != ch)
				cmd_usage("--json or --table, not both");
			forced = ch;
			gc.g_json = ch == OPT_JSON;
			break;
		case 'h':
			print_usage(stdout);
			exit(0);
		default:
			cmd_usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	snprintf(rundir, sizeof(rundir), "/tmp/gw-%d", (int)getuid());
	gc.g_rundir = flagdir != NULL ? flagdir : rundir;
	if (conffile != NULL)
		load_conf(conffile, flagdir);
	if (argc == 0)
		cmd_usage("no command");
	if (strcmp(argv[0], "__complete") == 0)
		return cmd_complete(argc, argv);
	for (c = cmds; c->c_name != NULL; c++)
		if (strcmp(c->c_name, argv[0]) == 0)
			break;
	if (c->c_name == NULL) {
		fprintf(stderr, "gwctl: unknown command: %s\n", argv[0]);
		cmd_usage(NULL);
	}
	optind = 0;	/* glibc: start afresh on the command's arguments */
	return c->c_fn(argc, argv);
}
