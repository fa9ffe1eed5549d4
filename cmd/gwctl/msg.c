/*
 * msg.c -- the commands on messages, spoken to gw-bridge over
 * <rundir>/bridge.sock as one more peer, with the workers' own messages:
 * publish and send (GW_MSG_BRIDGE_PUBLISH with an empty from: the server
 * publishes, from is null), history (GW_MSG_BRIDGE_HISTORY) and tail
 * (GW_MSG_BRIDGE_SUB, then each GW_MSG_BRIDGE_DELIVER as it comes).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"
#include "xmalloc.h"

#define HISTORY_DEFAULT	100
#define HISTORY_MAX	1000
#define TAIL_MAXCHAN	64

static const struct col publish_cols[] = {
	{ "channel",	"CHANNEL",	0 },
	{ "offset",	"OFFSET",	0 },
	{ NULL,		NULL,		0 }
};

static const struct col send_cols[] = {
	{ "user",	"USER",		0 },
	{ "channel",	"CHANNEL",	0 },
	{ "offset",	"OFFSET",	0 },
	{ NULL,		NULL,		0 }
};

static const struct col history_cols[] = {
	{ "offset",	"OFFSET",	0 },
	{ "ts",		"TIME",		COL_TIME },
	{ "from",	"FROM",		0 },
	{ "data",	"DATA",		0 },
	{ NULL,		NULL,		0 }
};

static int	publish_one(struct sock *, struct out *, const char *,
		    const char *, json_t *);
static int	publish_stdin(struct sock *, struct out *, const char *,
		    const char *);
static int	publish_main(const char *, const char *, const char *,
		    const struct col *);
static void	print_raw(const char *, size_t);
static int	tail_msg(struct sock *, const struct gw_msg_hdr *,
		    struct ipc_rd *, int, int *);

/*
 * Publish the value v on channel chan (for user, when not NULL) and wait
 * for its offset; add the row to o.  Return value: 0; 1 if the bridge
 * refused (said); -1 if the link failed (said).
 */
static int
publish_one(struct sock *s, struct out *o, const char *chan,
    const char *user, json_t *v)
{
	struct ipc_msg		*m;
	struct gw_msg_hdr	 h;
	struct ipc_rd		 rd;
	struct timespec		 ts;
	const char		*off, *msg;
	size_t			 offlen, msglen;
	uint32_t		 id = sock_next_id(s);
	char			*data;

	if ((data = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		errx(EX_FAIL, "out of memory");
	if (strlen(data) > GWCTL_MAXDATA) {
		warnx("%s: value longer than %d bytes: not published", chan,
		    GWCTL_MAXDATA);
		free(data);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	m = ipc_create(GW_MSG_BRIDGE_PUBLISH, id);
	ipc_add_cstr(m, chan);
	ipc_add_cstr(m, data);
	ipc_add_cstr(m, "");	/* from: the server */
	ipc_add_u64(m, (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	free(data);
	if (sock_send(s, m) == -1 || sock_reply(s, id, &h, &rd) == -1)
		return -1;
	if (h.type == GW_MSG_BRIDGE_FAIL && ipc_get_str(&rd, &off,
	    &offlen) == 0 && ipc_get_str(&rd, &msg, &msglen) == 0) {
		warnx("publish on %s: %.*s", chan, (int)msglen, msg);
		return 1;
	}
	if (h.type != GW_MSG_BRIDGE_PUBLISHED ||
	    ipc_get_str(&rd, &off, &offlen) == -1 || ipc_end(&rd) == -1) {
		warnx("gw-bridge: unexpected %s", ipc_type_name(h.type));
		return -1;
	}
	if (user != NULL)
		out_row(o, json_pack("{s:s, s:s, s:s%}", "user", user,
		    "channel", chan, "offset", off, offlen));
	else
		out_row(o, json_pack("{s:s, s:s%}", "channel", chan,
		    "offset", off, offlen));
	return 0;
}

/*
 * Publish each line of stdin; an invalid line is reported with its
 * number and skipped, and blank lines are skipped.  Return value: 0 if
 * every line was published, 1 if one failed, -1 if the link failed.
 */
static int
publish_stdin(struct sock *s, struct out *o, const char *chan,
    const char *user)
{
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 len;
	unsigned long	 lineno = 0;
	json_error_t	 jerr;
	json_t		*v;
	int		 r, rv = 0;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strspn(line, " \t") == (size_t)len)
			continue;
		if ((v = json_loadb(line, len, JSON_DECODE_ANY, &jerr)) ==
		    NULL) {
			warnx("stdin:%lu: invalid JSON: %s", lineno,
			    jerr.text);
			rv = 1;
			continue;
		}
		r = publish_one(s, o, chan, user, v);
		json_decref(v);
		if (r == -1) {
			rv = -1;
			break;
		}
		if (r == 1)
			rv = 1;
	}
	if (ferror(stdin)) {
		warn("stdin");
		rv = -1;
	}
	free(line);
	return rv;
}

static int
publish_main(const char *chan, const char *user, const char *json,
    const struct col *cols)
{
	struct sock	 s;
	struct out	*o;
	json_error_t	 jerr;
	json_t		*v = NULL;
	char		 why[JSON_ERROR_TEXT_LENGTH + 16];
	int		 r;

	if (json != NULL && (v = json_loads(json, JSON_DECODE_ANY, &jerr)) ==
	    NULL) {
		snprintf(why, sizeof(why), "invalid JSON: %s", jerr.text);
		cmd_usage(why);
	}
	if (sock_open(&s, "bridge.sock", "gw-bridge", 0) == -1) {
		json_decref(v);
		return EX_FAIL;
	}
	o = out_new(cols);
	if (v != NULL) {
		r = publish_one(&s, o, chan, user, v);
		json_decref(v);
	} else
		r = publish_stdin(&s, o, chan, user);
	out_end(o);
	sock_close(&s);
	return r == 0 ? 0 : EX_FAIL;
}

/* gwctl publish CHANNEL [JSON] */
int
cmd_publish(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argc--;
		argv++;
	} else if (argc > 1 && argv[1][0] == '-')
		cmd_usage("publish: no such option (-- before a channel "
		    "that begins with -)");
	if (argc < 2 || argc > 3)
		cmd_usage("publish: channel [json]");
	if (!cmd_channel_ok(argv[1]))
		cmd_usage("publish: bad channel name");
	return publish_main(argv[1], NULL, argc == 3 ? argv[2] : NULL,
	    publish_cols);
}

/* gwctl send USER [JSON]: publish on user:USER. */
int
cmd_send(int argc, char *argv[])
{
	char	chan[GWCTL_MAXCHAN + 8];

	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argc--;
		argv++;
	} else if (argc > 1 && argv[1][0] == '-')
		cmd_usage("send: no such option (-- before a user id that "
		    "begins with -)");
	if (argc < 2 || argc > 3)
		cmd_usage("send: user [json]");
	if (argv[1][0] == '\0' || strlen(argv[1]) > GWCTL_MAXUSER)
		cmd_usage("send: a user id is 1 to 128 bytes");
	snprintf(chan, sizeof(chan), "user:%s", argv[1]);
	if (!cmd_channel_ok(chan))
		cmd_usage("send: bad user id");
	return publish_main(chan, argv[1], argc == 3 ? argv[2] : NULL,
	    send_cols);
}

static const struct option history_opts[] = {
	{ "since",	required_argument,	NULL, 's' },
	{ "limit",	required_argument,	NULL, 'l' },
	{ NULL,		0,			NULL, 0 }
};

/* gwctl history CHANNEL [--since OFFSET] [--limit N] */
int
cmd_history(int argc, char *argv[])
{
	struct sock		 s;
	struct ipc_msg		*m;
	struct gw_msg_hdr	 h;
	struct ipc_rd		 rd;
	struct out		*o;
	const char		*since = "", *off, *msg;
	size_t			 offlen, msglen;
	uint32_t		 id, complete, n, i, limit = HISTORY_DEFAULT;
	json_t			*v;
	int			 ch;

	while ((ch = getopt_long(argc, argv, "", history_opts, NULL)) != -1) {
		if (ch == 's')
			since = optarg;
		else if (ch == 'l')
			limit = cmd_num("--limit", optarg, 1, HISTORY_MAX);
		else
			cmd_usage(NULL);
	}
	if (optind != argc - 1)
		cmd_usage("history: channel [--since offset] [--limit n]");
	if (!cmd_channel_ok(argv[optind]))
		cmd_usage("history: bad channel name");
	if (sock_open(&s, "bridge.sock", "gw-bridge", 0) == -1)
		return EX_FAIL;
	m = ipc_create(GW_MSG_BRIDGE_HISTORY, id = sock_next_id(&s));
	ipc_add_cstr(m, argv[optind]);
	ipc_add_cstr(m, since);
	ipc_add_u32(m, limit);
	if (sock_send(&s, m) == -1 || sock_reply(&s, id, &h, &rd) == -1)
		return EX_FAIL;
	if (h.type == GW_MSG_BRIDGE_FAIL && ipc_get_str(&rd, &off,
	    &offlen) == 0 && ipc_get_str(&rd, &msg, &msglen) == 0) {
		warnx("history of %s: %.*s", argv[optind], (int)msglen, msg);
		return EX_FAIL;
	}
	if (h.type != GW_MSG_BRIDGE_HISTORY_REPLY ||
	    ipc_get_u32(&rd, &complete) == -1 || ipc_get_u32(&rd, &n) == -1) {
		warnx("gw-bridge: unexpected %s", ipc_type_name(h.type));
		return EX_FAIL;
	}
	o = out_new(history_cols);
	for (i = 0; i < n; i++) {
		if (ipc_get_str(&rd, &off, &offlen) == -1 ||
		    ipc_get_str(&rd, &msg, &msglen) == -1) {
			warnx("gw-bridge: bad history answer");
			return EX_FAIL;
		}
		if ((v = json_loadb(msg, msglen, 0, NULL)) == NULL)
			continue;
		out_row(o, json_pack("{s:s, s:s%, s:O?, s:O?, s:O?}",
		    "channel", argv[optind], "offset", off, offlen,
		    "data", json_object_get(v, "data"),
		    "from", json_object_get(v, "from"),
		    "ts", json_object_get(v, "ts")));
		json_decref(v);
	}
	out_end(o);
	if (!complete && since[0] != '\0' && n == 0)
		warnx("history of %s: it does not reach back to %s: messages "
		    "may have been lost", argv[optind], since);
	else if (!complete)
		warnx("history of %s: more messages than shown %s", argv[optind],
		    since[0] != '\0' ? "(go on with --since the last offset)" :
		    "(older ones left out; see --limit)");
	sock_close(&s);
	return 0;
}

/* Print a message frame as it came, on a line of its own. */
static void
print_raw(const char *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n || putchar('\n') == EOF)
		out_flush();
	out_flush();
}

/*
 * Handle one message of the bridge while tailing; *pending counts the
 * channels not yet subscribed.  Return value: 0, or -1 if tail must stop
 * with status 1 (said).
 */
static int
tail_msg(struct sock *s, const struct gw_msg_hdr *h, struct ipc_rd *rd,
    int presence, int *pending)
{
	const char	*ch, *off, *msg, *latest;
	size_t		 chlen, offlen, msglen, latestlen;
	uint32_t	 rec, n, i, up;
	uint64_t	 actor;

	switch (h->type) {
	case GW_MSG_BRIDGE_SUBSCRIBED:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_str(rd, &latest, &latestlen) == -1 ||
		    ipc_get_u32(rd, &rec) == -1 || ipc_get_u32(rd, &n) == -1)
			break;
		if (rec == GW_REC_FALSE)
			warnx("%.*s: the history does not reach back to "
			    "--since: messages may have been lost", (int)chlen,
			    ch);
		for (i = 0; i < n; i++) {
			if (ipc_get_str(rd, &off, &offlen) == -1 ||
			    ipc_get_str(rd, &msg, &msglen) == -1)
				break;
			print_raw(msg, msglen);
		}
		(*pending)--;
		return 0;
	case GW_MSG_BRIDGE_FAIL:
		if (ipc_get_str(rd, &off, &offlen) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1)
			break;
		warnx("subscribe: %.*s", (int)msglen, msg);
		return -1;
	case GW_MSG_BRIDGE_DELIVER:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_str(rd, &off, &offlen) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1)
			break;
		print_raw(msg, msglen);
		return 0;
	case GW_MSG_BRIDGE_EVENT:
		if (ipc_get_str(rd, &ch, &chlen) == -1 ||
		    ipc_get_u64(rd, &actor) == -1 ||
		    ipc_get_str(rd, &msg, &msglen) == -1)
			break;
		if (presence)	/* no sync mark: the bridge keeps them */
			print_raw(msg, msglen);
		return 0;
	case GW_MSG_BRIDGE_GAP:
		if (ipc_get_str(rd, &ch, &chlen) == -1)
			break;
		warnx("%.*s: messages may have been lost", (int)chlen, ch);
		return 0;
	case GW_MSG_BRIDGE_HEALTH:
		if (ipc_get_u32(rd, &up) == 0 && !up)
			warnx("gw-bridge cannot reach Redis for now");
		return 0;
	default:
		return 0;
	}
	warnx("%s at %s: bad %s", s->s_what, s->s_path,
	    ipc_type_name(h->type));
	return -1;
}

static const struct option tail_opts[] = {
	{ "since",	required_argument,	NULL, 's' },
	{ "presence",	no_argument,		NULL, 'p' },
	{ NULL,		0,			NULL, 0 }
};

/*
 * gwctl tail CHANNEL... [--since OFFSET] [--presence]: print each message
 * (and with --presence, each presence and typing event) as one line of
 * JSON, until SIGINT or SIGTERM, or until the reader of stdout goes.
 */
int
cmd_tail(int argc, char *argv[])
{
	struct sock		 s;
	struct ipc_msg		*m;
	struct gw_msg_hdr	 h;
	struct ipc_rd		 rd;
	const char		*since = "";
	int			 ch, i, presence = 0, pending, r;

	while ((ch = getopt_long(argc, argv, "", tail_opts, NULL)) != -1) {
		if (ch == 's')
			since = optarg;
		else if (ch == 'p')
			presence = 1;
		else
			cmd_usage(NULL);
	}
	if (optind == argc)
		cmd_usage("tail: channel ... [--since offset] [--presence]");
	if (argc - optind > TAIL_MAXCHAN)
		cmd_usage("tail: too many channels");
	for (i = optind; i < argc; i++)
		if (!cmd_channel_ok(argv[i]))
			cmd_usage("tail: bad channel name");
	cmd_signals();
	if (sock_open(&s, "bridge.sock", "gw-bridge", 0) == -1)
		return EX_FAIL;
	for (i = optind; i < argc; i++) {
		m = ipc_create(GW_MSG_BRIDGE_SUB, sock_next_id(&s));
		ipc_add_cstr(m, argv[i]);
		ipc_add_cstr(m, since);
		/* The bridge sends the events only to who asks. */
		ipc_add_u32(m, presence ? GW_SUB_EVENTS : 0);
		if (sock_send(&s, m) == -1)
			return EX_FAIL;
	}
	pending = argc - optind;
	sock_watch_stdout = 1;
	while (!gc.g_stop) {
		r = sock_recv(&s, &h, &rd, pending > 0 ? GWCTL_TIMEOUT : -1);
		if (r == -1 && (errno == EINTR || errno == EPIPE))
			break;
		if (r == -1)
			return EX_FAIL;
		if (r == 0) {
			warnx("gw-bridge at %s: no answer within %d s",
			    s.s_path, GWCTL_TIMEOUT / 1000);
			return EX_FAIL;
		}
		if (tail_msg(&s, &h, &rd, presence, &pending) == -1)
			return EX_FAIL;
	}
	sock_close(&s);
	return 0;
}
