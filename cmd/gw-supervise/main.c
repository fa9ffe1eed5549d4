/*
 * gw-supervise -- starts and watches a gw node.
 *
 * main.c: options, the configuration (file, GW_<KEY> variables, flags)
 * and its checks, --check; then supervise_main().
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervise.h"
#include "xmalloc.h"

extern char	**environ;

#define OPT_KEY		1000	/* + the key's index */

enum {
	OPT_CHECK = 256, OPT_BINDIR, OPT_SHAREDIR
};

struct options {
	int		 o_check;
	int		 o_verbose;
	const char	*o_bindir;
	const char	*o_sharedir;
};

static __dead void usage(void);
static struct option *longopts(void);
static void	parse_options(int, char *[], struct supervise *,
		    struct options *);
static int	sup_needs(const struct conf *, char [CONF_ERRLEN]);
static void	sup_where(const struct conf *, const char *, char *, size_t);
static int	sup_dirs(struct supervise *, const struct options *);
static int	sup_check_children(void);

/* The usage text lists every key as a flag: the completions read it. */
static __dead void
usage(void)
{
	const struct conf_key	*k;
	size_t			 n, i, col;
	char			 opt[80];
	const char		*p;

	fprintf(stderr, "usage: gw-supervise [-v] [-c file] [--check] "
	    "[--bindir dir] [--sharedir dir]\n");
	k = conf_keys(&n);
	for (i = 0, col = 0; i < n; i++) {
		snprintf(opt, sizeof(opt), "[--%s %s]", k[i].k_name,
		    strcmp(k[i].k_name, "rundir") == 0 ? "dir" :
		    k[i].k_type == CONF_T_NUM ? (strstr(k[i].k_name, "_ttl") !=
		    NULL ? "seconds" : "n") :
		    k[i].k_type == CONF_T_SECS ? "seconds" :
		    k[i].k_type == CONF_T_PATH ? "file" :
		    k[i].k_type == CONF_T_ENUM ? k[i].k_words :
		    k[i].k_type == CONF_T_BOOL ? "on|off" :
		    k[i].k_type == CONF_T_ADDRS ? "addr:port,..." :
		    k[i].k_type == CONF_T_REDIS ? "url" : "value");
		for (p = strchr(opt, '_'); p != NULL; p = strchr(p, '_'))
			opt[p - opt] = '-';
		if (col > 0 && col + strlen(opt) + 1 > 78) {
			fputc('\n', stderr);
			col = 0;
		}
		col += fprintf(stderr, "%s%s", col == 0 ? "                   "
		    : " ", opt);
	}
	fputc('\n', stderr);
	exit(2);
}

/* The long options: ours, then one per configuration key. */
static struct option *
longopts(void)
{
	static struct option	*lo;
	const struct conf_key	*k;
	size_t			 n, i;
	char			*name, *p;

	if (lo != NULL)
		return lo;
	k = conf_keys(&n);
	lo = xcalloc(n + 6, sizeof(*lo));
	lo[0] = (struct option){ "check", no_argument, NULL, OPT_CHECK };
	lo[1] = (struct option){ "bindir", required_argument, NULL,
	    OPT_BINDIR };
	lo[2] = (struct option){ "sharedir", required_argument, NULL,
	    OPT_SHAREDIR };
	lo[3] = (struct option){ "help", no_argument, NULL, 'h' };
	for (i = 0; i < n; i++) {
		name = xstrdup(k[i].k_name);
		for (p = name; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		lo[4 + i] = (struct option){ name, required_argument, NULL,
		    OPT_KEY + (int)i };
	}
	return lo;
}

static void
parse_options(int argc, char *argv[], struct supervise *s,
    struct options *o)
{
	char	err[CONF_ERRLEN];
	int	ch;

	while ((ch = getopt_long(argc, argv, "c:hv", longopts(), NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			s->s_file = optarg;
			break;
		case 'v':
			o->o_verbose++;
			break;
		case OPT_CHECK:
			o->o_check = 1;
			break;
		case OPT_BINDIR:
			o->o_bindir = optarg;
			break;
		case OPT_SHAREDIR:
			o->o_sharedir = optarg;
			break;
		default:
			if (ch < OPT_KEY)
				usage();
			if (conf_set(&s->s_flags, ch - OPT_KEY, optarg,
			    CONF_SRC_FLAG, 0, err) == -1) {
				log_errx("--%s: %s",
				    longopts()[4 + ch - OPT_KEY].name, err);
				exit(2);
			}
		}
	}
	if (optind != argc)
		usage();
	if (o->o_verbose > 0 && conf_set(&s->s_flags, conf_find("log_level",
	    9), o->o_verbose > 1 ? "debug" : "verbose", CONF_SRC_FLAG, 0,
	    err) == -1)
		fatalx("%s", err);
}

/* "FILE:LINE" for a key set in the file, else where it came from. */
static void
sup_where(const struct conf *c, const char *key, char *buf, size_t len)
{
	const struct conf_val	*v = conf_val(c, key);
	char			 env[64], *p;

	switch (v->v_val == NULL ? CONF_SRC_DEFAULT : v->v_src) {
	case CONF_SRC_FILE:
		snprintf(buf, len, "%s:%d", c->c_file, v->v_line);
		break;
	case CONF_SRC_ENV:
		snprintf(env, sizeof(env), "GW_%s", key);
		for (p = env; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p -= 'a' - 'A';
		snprintf(buf, len, "%s", env);
		break;
	case CONF_SRC_FLAG:
		snprintf(buf, len, "--%s", key);
		for (p = buf; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		break;
	default:
		snprintf(buf, len, "%s", c->c_file != NULL ? c->c_file :
		    "the defaults");
	}
}

/* The checks across keys, and the files named. */
static int
sup_needs(const struct conf *c, char err[CONF_ERRLEN])
{
	static const char	*files[] = { "secret_file", "api_key_file" };
	char			 where[PATH_MAX + 16];
	const char		*f;
	size_t			 i;
	gid_t			 gid;

	if (strcmp(conf_get(c, "auth"), "jwt") == 0 &&
	    conf_get(c, "secret_file") == NULL) {
		sup_where(c, "auth", where, sizeof(where));
		snprintf(err, CONF_ERRLEN, "%.150s: auth = jwt needs "
		    "secret_file; make one with: head -c 32 /dev/urandom | "
		    "base64 > secret", where);
		return -1;
	}
	if (strtoull(conf_get(c, "max_outbound"), NULL, 10) <
	    strtoull(conf_get(c, "max_message"), NULL, 10)) {
		sup_where(c, "max_outbound", where, sizeof(where));
		snprintf(err, CONF_ERRLEN, "%.100s: max_outbound %.12s under "
		    "max_message %.12s: it would close subscribers", where,
		    conf_get(c, "max_outbound"), conf_get(c, "max_message"));
		return -1;
	}
	if ((f = conf_get(c, "socket_group")) != NULL &&
	    ipc_group_id(f, &gid) == -1) {
		sup_where(c, "socket_group", where, sizeof(where));
		snprintf(err, CONF_ERRLEN, "%.150s: socket_group %.64s: no "
		    "such group", where, f);
		return -1;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((f = conf_get(c, files[i])) == NULL ||
		    access(f, R_OK) == 0)
			continue;
		sup_where(c, files[i], where, sizeof(where));
		snprintf(err, CONF_ERRLEN, "%.120s: %s %.60s: %s", where,
		    files[i], f, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Build in *c the configuration: the file (if any), then the GW_<KEY>
 * variables, then flags; and check it as a whole.  Return value: 0, or
 * -1 with "FILE:LINE: reason" (or the variable or flag at fault) in
 * err.  *c is initialized either way: the caller frees it.
 */
int
sup_config(struct conf *c, const char *file, const struct conf *flags,
    char err[CONF_ERRLEN])
{
	struct conf	env;
	int		rv;

	conf_init(c);
	if (file != NULL && conf_load(c, file, err) == -1)
		return -1;
	conf_init(&env);
	rv = conf_env(&env, environ, flags, err);
	if (rv == 0) {
		conf_merge(c, &env);
		conf_merge(c, flags);
		rv = sup_needs(c, err);
	}
	conf_free(&env);
	return rv;
}

/*
 * The binaries are next to our own, or in --bindir; the demo's files
 * are in --sharedir, or in ../share/gw or ../share from there.
 */
static int
sup_dirs(struct supervise *s, const struct options *o)
{
	char		 self[PATH_MAX], try[PATH_MAX + 32];
	ssize_t		 n;
	const char	*cand[] = { "%s/../share/gw", "%s/../share" };
	size_t		 i;

	if (o->o_bindir != NULL)
		snprintf(s->s_bindir, sizeof(s->s_bindir), "%s", o->o_bindir);
	else {
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) ==
		    -1) {
			log_warn("/proc/self/exe: use --bindir");
			return -1;
		}
		self[n] = '\0';
		snprintf(s->s_bindir, sizeof(s->s_bindir), "%s", dirname(self));
	}
	if (o->o_sharedir != NULL) {
		snprintf(s->s_sharedir, sizeof(s->s_sharedir), "%s",
		    o->o_sharedir);
		return 0;
	}
	/* The directory of the gw-supervise binary, not --bindir. */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return 0;
	self[n] = '\0';
	dirname(self);
	for (i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		snprintf(try, sizeof(try), cand[i], self);
		snprintf(s->s_sharedir, sizeof(s->s_sharedir), "%s", try);
		strncat(try, "/demo/index.html", sizeof(try) - strlen(try) - 1);
		if (access(try, R_OK) == 0)
			break;
	}
	return 0;
}

/* --check: each daemon checks its own command line (-n). */
static int
sup_check_children(void)
{
	static const enum child_kind kinds[] = { CHILD_BRIDGE, CHILD_PRESENCE,
	    CHILD_LISTEN };
	static const char	*progs[] = { "gw-bridge", "gw-presence",
	    "gw-listen" };
	struct child		 ch;
	char			**argv, out[4096], drop[512];
	pid_t			 pid;
	size_t			 i, len;
	ssize_t			 n;
	int			 st, bad = 0, fds[2], room;

	for (i = 0; i < 3; i++) {
		memset(&ch, 0, sizeof(ch));
		ch.ch_kind = kinds[i];
		ch.ch_prog = progs[i];
		child_argv(&ch, 1, &argv);
		/* Its standard error is shown only if it refuses. */
		if (pipe(fds) == -1)
			fatal("pipe");
		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			close(fds[0]);
			dup2(open("/dev/null", O_WRONLY), 1);
			dup2(fds[1], 2);
			execv(argv[0], argv);
			fprintf(stderr, "gw-supervise: cannot run %s: %s\n",
			    argv[0], strerror(errno));
			_exit(127);
		}
		close(fds[1]);
		/* Until EOF; what does not fit in out is read and dropped. */
		len = 0;
		for (;;) {
			room = len < sizeof(out) - 1;
			n = read(fds[0], room ? out + len : drop, room ?
			    sizeof(out) - 1 - len : sizeof(drop));
			if (n > 0 && room)
				len += (size_t)n;
			else if (n == 0 || (n == -1 && errno != EINTR))
				break;
		}
		close(fds[0]);
		out[len] = '\0';
		while (waitpid(pid, &st, 0) == -1)
			if (errno != EINTR)
				fatal("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fputs(out, stderr);
			log_warnx("%s -n refused the configuration (see above)",
			    argv[0]);
			bad = 1;
		}
		child_argv_free(argv);
	}
	return bad ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	static struct supervise	 s;
	struct options		 o;
	char			 err[CONF_ERRLEN], name[32];
	const char		*v;
	gid_t			 gid;
	int			 status;

	memset(&o, 0, sizeof(o));
	snprintf(name, sizeof(name), "gw-supervise[%d]", (int)getpid());
	log_procinit(name);
	log_init(0, 0);
	gs = &s;
	conf_init(&s.s_flags);
	parse_options(argc, argv, &s, &o);
	if (sup_config(&s.s_conf, s.s_file, &s.s_flags, err) == -1) {
		log_errx("%s", err);
		exit(2);
	}
	if ((v = conf_get(&s.s_conf, "rundir")) != NULL && v[0] != '/') {
		char	cwd[PATH_MAX];

		/* The children get unix://RUNDIR/redis.sock: absolute. */
		if (getcwd(cwd, sizeof(cwd)) == NULL || (size_t)snprintf(
		    s.s_rundir, sizeof(s.s_rundir), "%s/%s", cwd, v) > 90) {
			log_errx("rundir %s: over 90 bytes as an absolute "
			    "path: give a shorter one", v);
			exit(2);
		}
	} else if (v != NULL)
		snprintf(s.s_rundir, sizeof(s.s_rundir), "%s", v);
	else
		snprintf(s.s_rundir, sizeof(s.s_rundir), "/tmp/gw-%d",
		    (int)getuid());
	if ((v = conf_get(&s.s_conf, "node")) != NULL)
		snprintf(s.s_node, sizeof(s.s_node), "%s", v);
	else if (gethostname(s.s_node, sizeof(s.s_node) - 1) == -1 ||
	    s.s_node[strspn(s.s_node, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
	    "KLMNOPQRSTUVWXYZ0123456789._-:")] != '\0')
		snprintf(s.s_node, sizeof(s.s_node), "gw");
	if ((v = conf_get(&s.s_conf, "redis")) != NULL)
		snprintf(s.s_redis, sizeof(s.s_redis), "%s", v);
	else {
		s.s_embedded = 1;
		snprintf(s.s_redis, sizeof(s.s_redis), "unix://%s/redis.sock",
		    s.s_rundir);
	}
	if ((v = conf_get(&s.s_conf, "socket_group")) != NULL &&
	    ipc_group_id(v, &gid) == 0)
		ipc_set_group(gid);	/* checked by sup_config() */
	if (sup_dirs(&s, &o) == -1)
		exit(1);
	s.s_quiet = strcmp(conf_get(&s.s_conf, "log_level"), "quiet") == 0;
	if (o.o_check) {
		if (sup_check_children() == -1)
			exit(2);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	log_init(0, child_verbosity(&s.s_conf));
	if ((status = supervise_main(&s)) == -1)
		exit(1);
	conf_free(&s.s_conf);
	conf_free(&s.s_flags);
	return status;
}
