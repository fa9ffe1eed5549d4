/*
 * node.c -- the commands on the node's processes: presence (gw-presence's
 * GW_MSG_PRESENCE_QUERY), and the control requests (GW_MSG_CTL_REQUEST)
 * of channels, conns and kick (every gw-listen worker's
 * <rundir>/listen-PID.sock, answers merged), stats (every process) and
 * status (gw-supervise).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gwctl.h"
#include "xmalloc.h"

static const struct col presence_cols[] = {
	{ "userId",	"USER",		0 },
	{ "connectedAt", "CONNECTED",	COL_TIME },
	{ "info",	"INFO",		0 },
	{ NULL,		NULL,		0 }
};

static const struct col channels_cols[] = {
	{ "channel",	 "CHANNEL",	0 },
	{ "subscribers", "SUBSCRIBERS",	COL_RIGHT },
	{ "workers",	 "PER WORKER",	COL_PAIRS },
	{ NULL,		 NULL,		0 }
};

static const struct col conns_cols[] = {
	{ "connId",	 "CONNID",	0 },
	{ "userId",	 "USER",	0 },
	{ "channels",	 "CHANNELS",	COL_LIST },
	{ "connectedAt", "CONNECTED",	COL_TIME },
	{ "worker",	 "WORKER",	COL_RIGHT },
	{ NULL,		 NULL,		0 }
};

static const struct col kick_cols[] = {
	{ "closed",	"CLOSED",	COL_RIGHT },
	{ NULL,		NULL,		0 }
};

static const struct col status_cols[] = {
	{ "name",	"NAME",		0 },
	{ "pid",	"PID",		COL_RIGHT },
	{ "state",	"STATE",	0 },
	{ "uptime",	"UPTIME",	COL_RIGHT },
	{ "restarts",	"RESTARTS",	COL_RIGHT },
	{ NULL,		NULL,		0 }
};

static int	sock_pid(const char *);
static int	cmp_str(const void *, const void *);
static json_t	*stats_one(const char *, const char *, int, int *);
static int	stats_round(void);
static void	stats_table(json_t *);

/* The pid in a path ".../listen-PID.sock", or 0. */
static int
sock_pid(const char *path)
{
	const char	*p;

	if ((p = strrchr(path, '/')) == NULL ||
	    strncmp(p, "/listen-", 8) != 0)
		return 0;
	return atoi(p + 8);
}

/*
 * Send the control request req to every gw-listen worker of the node
 * (each <rundir>/listen-*.sock; the sockets of dead workers are skipped)
 * and return the array of their answers, each with "worker" set to the
 * worker's pid; *failed is set if a worker did not answer (said).
 * Return value: the array, or NULL if no worker answered (said).
 */
json_t *
node_gather(json_t *req, int *failed)
{
	struct sock	 s;
	glob_t		 g;
	char		 pat[PATH_MAX];
	json_t		*a, *rep;
	size_t		 i, tried = 0;

	*failed = 0;
	cmd_path(pat, sizeof(pat), "listen-*.sock");
	a = json_array();
	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++) {
			if (sock_open(&s, g.gl_pathv[i], "gw-listen", 1) ==
			    -1) {
				if (errno != ENOENT && errno != ECONNREFUSED)
					*failed = 1;
				continue;
			}
			tried++;
			if ((rep = sock_ctl(&s, req)) == NULL)
				*failed = 1;
			else {
				json_object_set_new(rep, "worker",
				    json_integer(sock_pid(g.gl_pathv[i])));
				json_array_append_new(a, rep);
			}
			sock_close(&s);
		}
		globfree(&g);
	}
	if (tried == 0) {
		if (access(gc.g_rundir, R_OK | X_OK) == -1 && errno == EACCES) {
			warn("gw-listen at %s", pat);
			sock_whose_path(pat);
		} else
			warnx("no gw-listen at %s: is the node running?", pat);
		json_decref(a);
		return NULL;
	}
	return a;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* gwctl presence CHANNEL */
int
cmd_presence(int argc, char *argv[])
{
	struct sock		 s;
	struct ipc_msg		*m;
	struct gw_msg_hdr	 h;
	struct ipc_rd		 rd;
	struct out		*o;
	const char		*str, *msg;
	size_t			 len, msglen, i;
	uint32_t		 id;
	json_t			*ans, *u;

	if (argc != 2 || argv[1][0] == '-')
		cmd_usage("presence: channel");
	if (!cmd_channel_ok(argv[1]))
		cmd_usage("presence: bad channel name");
	if (sock_open(&s, "presence.sock", "gw-presence", 0) == -1)
		return EX_FAIL;
	m = ipc_create(GW_MSG_PRESENCE_QUERY, id = sock_next_id(&s));
	ipc_add_cstr(m, argv[1]);
	ipc_add_cstr(m, "");		/* no sync mark */
	if (sock_send(&s, m) == -1 || sock_reply(&s, id, &h, &rd) == -1)
		return EX_FAIL;
	if (h.type == GW_MSG_PRESENCE_FAIL && ipc_get_str(&rd, &str,
	    &len) == 0 && ipc_get_str(&rd, &msg, &msglen) == 0) {
		warnx("presence of %s: %.*s", argv[1], (int)msglen, msg);
		return EX_FAIL;
	}
	if (h.type != GW_MSG_PRESENCE_REPLY ||
	    ipc_get_str(&rd, &str, &len) == -1 ||
	    (ans = json_loadb(str, len, 0, NULL)) == NULL) {
		warnx("gw-presence: unexpected %s", ipc_type_name(h.type));
		return EX_FAIL;
	}
	o = out_new(presence_cols);
	json_array_foreach(json_object_get(ans, "users"), i, u) {
		if (!json_is_object(u))
			continue;
		out_row(o, json_pack("{s:s, s:O?, s:O?, s:O?}", "channel",
		    argv[1], "userId", json_object_get(u, "userId"),
		    "connectedAt", json_object_get(u, "connectedAt"),
		    "info", json_object_get(u, "info")));
	}
	out_end(o);
	if (json_is_true(json_object_get(ans, "truncated")))
		warnx("presence of %s: %lld users, not all shown", argv[1],
		    (long long)json_integer_value(json_object_get(ans,
		    "count")));
	json_decref(ans);
	sock_close(&s);
	return 0;
}

/* gwctl channels [GLOB]: every worker's channels, merged per channel. */
int
cmd_channels(int argc, char *argv[])
{
	struct out	*o;
	json_t		*req, *reps, *rep, *merged, *c, *row;
	const char	*name, **names;
	size_t		 i, j, n = 0;
	int		 failed;
	char		 pid[16];

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		cmd_usage("channels: [glob]");
	req = json_pack("{s:s}", "cmd", "channels");
	if (argc == 2)
		json_object_set_new(req, "pattern", json_string(argv[1]));
	reps = node_gather(req, &failed);
	json_decref(req);
	if (reps == NULL)
		return EX_FAIL;
	merged = json_object();
	json_array_foreach(reps, i, rep) {
		snprintf(pid, sizeof(pid), "%lld", (long long)
		    json_integer_value(json_object_get(rep, "worker")));
		json_array_foreach(json_object_get(rep, "channels"), j, c) {
			if ((name = json_string_value(json_object_get(c,
			    "channel"))) == NULL)
				continue;
			if ((row = json_object_get(merged, name)) == NULL) {
				row = json_pack("{s:s, s:i, s:{}}", "channel",
				    name, "subscribers", 0, "workers");
				json_object_set_new(merged, name, row);
			}
			json_object_set_new(row, "subscribers", json_integer(
			    json_integer_value(json_object_get(row,
			    "subscribers")) + json_integer_value(
			    json_object_get(c, "subscribers"))));
			json_object_set(json_object_get(row, "workers"), pid,
			    json_object_get(c, "subscribers"));
		}
	}
	names = xcalloc(json_object_size(merged) + 1, sizeof(*names));
	json_object_foreach(merged, name, row)
		names[n++] = name;
	qsort(names, n, sizeof(*names), cmp_str);
	o = out_new(channels_cols);
	for (i = 0; i < n; i++)
		out_row(o, json_incref(json_object_get(merged, names[i])));
	out_end(o);
	free(names);
	json_decref(merged);
	json_decref(reps);
	return failed ? EX_FAIL : 0;
}

static const struct option conns_opts[] = {
	{ "user",	required_argument,	NULL, 'u' },
	{ "channel",	required_argument,	NULL, 'c' },
	{ NULL,		0,			NULL, 0 }
};

/* gwctl conns [--user U] [--channel C] */
int
cmd_conns(int argc, char *argv[])
{
	struct out	*o;
	json_t		*req, *reps, *rep, *c;
	size_t		 i, j;
	int		 ch, failed;

	req = json_pack("{s:s}", "cmd", "conns");
	while ((ch = getopt_long(argc, argv, "", conns_opts, NULL)) != -1) {
		if (ch == 'u') {
			if (optarg[0] == '\0' ||
			    strlen(optarg) > GWCTL_MAXUSER)
				cmd_usage("conns: a user id is 1 to 128 bytes");
			json_object_set_new(req, "user", json_string(optarg));
		} else if (ch == 'c') {
			if (!cmd_channel_ok(optarg))
				cmd_usage("conns: bad channel name");
			json_object_set_new(req, "channel",
			    json_string(optarg));
		} else
			cmd_usage(NULL);
	}
	if (optind != argc)
		cmd_usage("conns: [--user user] [--channel channel]");
	reps = node_gather(req, &failed);
	json_decref(req);
	if (reps == NULL)
		return EX_FAIL;
	o = out_new(conns_cols);
	json_array_foreach(reps, i, rep) {
		json_array_foreach(json_object_get(rep, "conns"), j, c) {
			if (!json_is_object(c))
				continue;
			json_object_set(c, "worker",
			    json_object_get(rep, "worker"));
			out_row(o, json_incref(c));
		}
	}
	out_end(o);
	json_decref(reps);
	return failed ? EX_FAIL : 0;
}

static const struct option kick_opts[] = {
	{ "user",	required_argument,	NULL, 'u' },
	{ NULL,		0,			NULL, 0 }
};

/*
 * gwctl kick CONNID | --user U: close with 1008 on every worker.  A
 * connection id that no worker has is a failure; a user with no
 * connection is not (closed is 0).
 */
int
cmd_kick(int argc, char *argv[])
{
	struct out	*o;
	json_t		*req, *reps, *rep;
	const char	*user = NULL;
	long long	 closed = 0;
	size_t		 i;
	int		 ch, failed;

	while ((ch = getopt_long(argc, argv, "", kick_opts, NULL)) != -1) {
		if (ch == 'u')
			user = optarg;
		else
			cmd_usage(NULL);
	}
	if ((user == NULL) == (optind == argc) || optind < argc - 1)
		cmd_usage("kick: connid | --user user");
	if (user == NULL && (strlen(argv[optind]) != 16 ||
	    strspn(argv[optind], "0123456789abcdef") != 16))
		cmd_usage("kick: a connid is 16 hex digits (gwctl conns)");
	if (user != NULL)
		req = json_pack("{s:s, s:s}", "cmd", "kick", "user", user);
	else
		req = json_pack("{s:s, s:s}", "cmd", "kick", "conn",
		    argv[optind]);
	reps = node_gather(req, &failed);
	json_decref(req);
	if (reps == NULL)
		return EX_FAIL;
	json_array_foreach(reps, i, rep)
		closed += json_integer_value(json_object_get(rep, "closed"));
	json_decref(reps);
	o = out_new(kick_cols);
	out_row(o, json_pack("{s:I}", "closed", (json_int_t)closed));
	out_end(o);
	if (user == NULL && closed == 0) {
		warnx("kick: no connection %s on this node", argv[optind]);
		return EX_FAIL;
	}
	return failed ? EX_FAIL : 0;
}

/*
 * The stats of the process what at the socket path, with "ts" added, or
 * NULL (said, unless the socket is absent and optional is set); *failed
 * is set on a failure.
 */
static json_t *
stats_one(const char *path, const char *what, int optional, int *failed)
{
	struct sock	 s;
	struct timespec	 ts;
	json_t		*req, *rep;

	if (sock_open(&s, path, what, optional) == -1) {
		if (!optional || (errno != ENOENT && errno != ECONNREFUSED))
			*failed = 1;
		return NULL;
	}
	req = json_pack("{s:s}", "cmd", "stats");
	rep = sock_ctl(&s, req);
	json_decref(req);
	sock_close(&s);
	if (rep == NULL) {
		*failed = 1;
		return NULL;
	}
	json_object_del(rep, "ok");
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(rep, "ts", json_integer((json_int_t)ts.tv_sec *
	    1000 + ts.tv_nsec / 1000000));
	return rep;
}

/*
 * Print the stats rows as a table: one column per process, one line per
 * counter (a line per process would be hundreds of columns wide).
 */
static void
stats_table(json_t *rows)
{
	struct col	*cols;
	struct out	*o;
	json_t		*names, *r, *v, *line, *titles;
	const char	*k;
	char		 key[32], title[64];
	size_t		 i, n = json_array_size(rows);

	cols = xcalloc(n + 2, sizeof(*cols));
	titles = json_array();
	cols[0].c_key = "counter";
	cols[0].c_title = "COUNTER";
	json_array_foreach(rows, i, r) {
		snprintf(key, sizeof(key), "p%zu", i);
		snprintf(title, sizeof(title), "%s[%lld]",
		    json_string_value(json_object_get(r, "process")) != NULL ?
		    json_string_value(json_object_get(r, "process")) : "?",
		    (long long)json_integer_value(json_object_get(r, "pid")));
		json_array_append_new(titles, json_pack("[s,s]", key, title));
		cols[i + 1].c_key = json_string_value(json_array_get(
		    json_array_get(titles, i), 0));
		cols[i + 1].c_title = json_string_value(json_array_get(
		    json_array_get(titles, i), 1));
		cols[i + 1].c_flags = COL_RIGHT;
	}
	/* One line per counter name, in the order they first come. */
	names = json_object();
	json_array_foreach(rows, i, r)
		json_object_foreach(json_object_get(r, "counters"), k, v) {
			if ((line = json_object_get(names, k)) == NULL) {
				line = json_pack("{s:s}", "counter", k);
				json_object_set_new(names, k, line);
			}
			snprintf(key, sizeof(key), "p%zu", i);
			json_object_set(line, key, v);
		}
	o = out_new(cols);
	json_object_foreach(names, k, line)
		out_row(o, json_incref(line));
	out_end(o);
	json_decref(names);
	json_decref(titles);
	free(cols);
}

/*
 * One round of stats: every process of the node, one JSON object each.
 * Return value: 0, or 1 if a process did not answer.
 */
static int
stats_round(void)
{
	glob_t		 g;
	char		 pat[PATH_MAX];
	json_t		*rows, *r;
	size_t		 i;
	int		 failed = 0;

	rows = json_array();
	if ((r = stats_one("bridge.sock", "gw-bridge", 0, &failed)) != NULL)
		json_array_append_new(rows, r);
	if ((r = stats_one("presence.sock", "gw-presence", 1, &failed)) !=
	    NULL)
		json_array_append_new(rows, r);
	cmd_path(pat, sizeof(pat), "listen-*.sock");
	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			if ((r = stats_one(g.gl_pathv[i], "gw-listen", 1,
			    &failed)) != NULL)
				json_array_append_new(rows, r);
		globfree(&g);
	}
	if (gc.g_json)
		json_array_foreach(rows, i, r)
			out_line(r);
	else
		stats_table(rows);
	json_decref(rows);
	return failed;
}

static const struct option stats_opts[] = {
	{ "watch",	required_argument,	NULL, 'w' },
	{ NULL,		0,			NULL, 0 }
};

/* gwctl stats [--watch SECONDS] */
int
cmd_stats(int argc, char *argv[])
{
	unsigned long long	 watch = 0;
	int			 ch, rv;

	while ((ch = getopt_long(argc, argv, "", stats_opts, NULL)) != -1) {
		if (ch == 'w')
			watch = cmd_num("--watch", optarg, 1, 86400);
		else
			cmd_usage(NULL);
	}
	if (optind != argc)
		cmd_usage("stats: [--watch seconds]");
	if (watch == 0)
		return stats_round() ? EX_FAIL : 0;
	cmd_signals();
	while (!gc.g_stop) {
		if (!gc.g_json && isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		rv = stats_round();
		(void)rv;	/* a process restarting: show the next round */
		poll(NULL, 0, (int)watch * 1000);
	}
	return 0;
}

/* gwctl status: gw-supervise's children. */
int
cmd_status(int argc, char *argv[])
{
	struct sock	 s;
	struct out	*o;
	json_t		*req, *rep, *c;
	size_t		 i;

	(void)argv;
	if (argc != 1)
		cmd_usage("status takes no arguments");
	if (sock_open(&s, "supervise.sock", "gw-supervise", 0) == -1)
		return EX_FAIL;
	req = json_pack("{s:s}", "cmd", "status");
	rep = sock_ctl(&s, req);
	json_decref(req);
	sock_close(&s);
	if (rep == NULL)
		return EX_FAIL;
	o = out_new(status_cols);
	json_array_foreach(json_object_get(rep, "children"), i, c) {
		if (!json_is_object(c))
			continue;
		json_object_set(c, "node", json_object_get(rep, "node"));
		out_row(o, json_incref(c));
	}
	out_end(o);
	json_decref(rep);
	return 0;
}
