/*
 * complete.c -- `gwctl __complete WORD... CUR`, the hidden helper of the
 * bash and zsh completions: it prints the candidates for CUR, one a
 * line, from the command table itself (so the completions never restate
 * the grammar), and live values from the running node: channel names
 * (channels), connection ids and user ids (conns).  Quiet and exit 0
 * whatever happens: a completion must not print errors.
 */
#include <stdio.h>
#include <string.h>

#include "gwctl.h"

static void	complete_opts(const char *);
static int	opt_takes_value(const char *, const char *);
static void	complete_live(const char *);

/* Print the options of a synopsis ("[--since offset] [--presence]"). */
static void
complete_opts(const char *args)
{
	const char	*p = args;
	size_t		 n;

	while ((p = strstr(p, "--")) != NULL) {
		n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
		printf("%.*s\n", (int)n + 2, p);
		p += n + 2;
	}
}

/* Non-zero if option opt of the synopsis args is followed by a value. */
static int
opt_takes_value(const char *args, const char *opt)
{
	const char	*p = args;
	size_t		 n = strlen(opt);

	if (n < 3 || strncmp(opt, "--", 2) != 0)
		return 0;
	while ((p = strstr(p, opt)) != NULL) {
		if (p[n] == ' ' && p[n + 1] >= 'a' && p[n + 1] <= 'z')
			return 1;
		p += n;
	}
	return 0;
}

/*
 * Print the live values of a kind ("channel", "connId" or "userId") from
 * the node's workers, each once.
 */
static void
complete_live(const char *kind)
{
	json_t		*req, *reps, *rep, *x, *seen;
	const char	*v, *list, *key;
	size_t		 i, j;
	int		 failed;

	if (strcmp(kind, "channel") == 0) {
		req = json_pack("{s:s}", "cmd", "channels");
		list = "channels";
	} else {
		req = json_pack("{s:s}", "cmd", "conns");
		list = "conns";
	}
	key = kind;
	reps = node_gather(req, &failed);
	json_decref(req);
	if (reps == NULL)
		return;
	seen = json_object();
	json_array_foreach(reps, i, rep)
		json_array_foreach(json_object_get(rep, list), j, x) {
			v = json_string_value(json_object_get(x, key));
			if (v == NULL || json_object_get(seen, v) != NULL)
				continue;
			json_object_set_new(seen, v, json_true());
			printf("%s\n", v);
		}
	json_decref(seen);
	json_decref(reps);
}

/* gwctl __complete WORD... CUR: see above.  Returns 0. */
int
cmd_complete(int argc, char *argv[])
{
	const struct cmd	*c = NULL;
	const char		*cur, *prev;
	int			 i, npos = 0;

	if (freopen("/dev/null", "w", stderr) == NULL || argc < 2)
		return 0;
	cur = argv[argc - 1];
	prev = argc > 2 ? argv[argc - 2] : "";
	/* The words before CUR: global options, the command, its words. */
	for (i = 1; i < argc - 1; i++) {
		if (c == NULL && strcmp(argv[i], "--rundir") == 0 &&
		    i + 1 < argc - 1)
			gc.g_rundir = argv[++i];
		else if (c == NULL && strcmp(argv[i], "-c") == 0 &&
		    i + 1 < argc - 1)
			i++;		/* its file */
		else if (c == NULL && argv[i][0] != '-') {
			for (c = cmds; c->c_name != NULL; c++)
				if (strcmp(c->c_name, argv[i]) == 0)
					break;
			if (c->c_name == NULL)
				return 0;
		} else if (c != NULL && argv[i][0] == '-') {
			if (opt_takes_value(c->c_args, argv[i]))
				i++;
		} else if (c != NULL)
			npos++;
	}
	if (c == NULL) {
		if (strcmp(prev, "--rundir") == 0 || strcmp(prev, "-c") == 0)
			return 0;	/* the shell's: a directory, a file */
		if (cur[0] == '-')
			printf("-c\n--rundir\n--json\n--table\n--help\n");
		else
			for (c = cmds; c->c_name != NULL; c++)
				printf("%s\n", c->c_name);
		return 0;
	}
	if (opt_takes_value(c->c_args, prev)) {
		if (strcmp(prev, "--channel") == 0)
			complete_live("channel");
		else if (strcmp(prev, "--user") == 0)
			complete_live("userId");
		return 0;
	}
	if (cur[0] == '-') {
		complete_opts(c->c_args);
		return 0;
	}
	if (strcmp(c->c_name, "tail") == 0 || (npos == 0 &&
	    (strcmp(c->c_name, "publish") == 0 ||
	    strcmp(c->c_name, "history") == 0 ||
	    strcmp(c->c_name, "presence") == 0)))
		complete_live("channel");
	else if (npos == 0 && strcmp(c->c_name, "kick") == 0)
		complete_live("connId");
	else if (npos == 0 && (strcmp(c->c_name, "send") == 0 ||
	    strcmp(c->c_name, "token") == 0))
		complete_live("userId");
	return 0;
}
