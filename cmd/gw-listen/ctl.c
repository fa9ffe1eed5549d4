/*
 * ctl.c -- gw-listen's control socket, <rundir>/listen-<PID>.sock, for
 * gwctl and gw-supervise: GW_MSG_CTL_REQUEST with a JSON command (stats,
 * conns, channels, kick, reload), answered with GW_MSG_CTL_REPLY; and the
 * same counters as Prometheus text for GET /metrics.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "ctl.h"
#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "parse.h"
#include "uring.h"
#include "xmalloc.h"

#define CTL_MAXCONNS	100000	/* connections listed in one answer */
#define CTL_MAXQUEUED	(1024 * 1024)	/* bytes of replies a client may
					   leave unread */

struct listen_stats	 gst;

static const unsigned	 ctl_codes[] = { 1001, 1002, 1003, 1007, 1008, 1009,
				    1011, 1013 };
#define CTL_NCODES	(sizeof(ctl_codes) / sizeof(ctl_codes[0]))

static struct ipc_acceptor ctl_acc;
static char		 ctl_path[PATH_MAX];

static void	ctl_accept(struct ev_loop *, int, const char *, void *);
static void	ctl_dispatch(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
static void	ctl_closed(struct ipc_peer *, const char *);
static json_t	*ctl_run(json_t *);
static json_t	*ctl_run_stats(void);
static json_t	*ctl_counters(void);

/* Count a close frame sent with code. */
void
ctl_count_close(int code)
{
	size_t	i;

	for (i = 0; i < CTL_NCODES; i++)
		if ((int)ctl_codes[i] == code)
			gst.st_closes[i]++;
}

/*
 * Listen on <rundir>/listen-<PID>.sock.  Without a run directory (a
 * gw-listen without its node), there is no control socket: say so.
 */
void
ctl_start(void)
{
	int	fd;

	snprintf(ctl_path, sizeof(ctl_path), "%s/listen-%d.sock",
	    gl->l_conf->lc_rundir, (int)getpid());
	if ((fd = ipc_listen(ctl_path)) == -1) {
		log_verbose("no control socket %s: %s", ctl_path,
		    strerror(errno));
		ctl_path[0] = '\0';
		return;
	}
	/* Weak: the control socket does not keep the loop alive. */
	ipc_acceptor_start(gl->l_loop, &ctl_acc, fd, 1, ctl_accept, NULL);
}

/* At exit: close and remove the socket. */
void
ctl_stop(void)
{
	if (ctl_path[0] == '\0')
		return;
	ipc_acceptor_stop(gl->l_loop, &ctl_acc);
	(void)unlink(ctl_path);
	ctl_path[0] = '\0';
}

/* A control client connected (or fd -1 and a line to log). */
static void
ctl_accept(struct ev_loop *loop, int fd, const char *why, void *arg)
{
	(void)arg;
	if (fd == -1)
		log_warnx("control socket: %s", why);
	else
		(void)ipc_peer_new(loop, fd, ctl_dispatch, ctl_closed, NULL);
}

static void
ctl_closed(struct ipc_peer *p, const char *why)
{
	/* A client that hung up is the usual end; any other is logged. */
	if (strcmp(why, "peer closed") != 0)
		log_warnx("control: %s; link closed", why);
	ipc_peer_free(p);
}

static void
ctl_dispatch(struct ipc_peer *p, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	json_t		*req;
	const char	*name;
	size_t		 namelen;
	uint32_t	 pid;

	if (h->type == GW_MSG_HELLO && ipc_get_u32(rd, &pid) == 0 &&
	    ipc_get_str(rd, &name, &namelen) == 0 && ipc_end(rd) == 0)
		return;
	if (h->type != GW_MSG_CTL_REQUEST) {
		log_warnx("control: malformed %s (len %u); link closed",
		    ipc_type_name(h->type), h->len);
		ipc_peer_free(p);
		return;
	}
	if (ipc_peer_queued(p) > CTL_MAXQUEUED) {
		log_warnx("control: a client reads no replies; link closed");
		ipc_peer_free(p);
		return;
	}
	req = ctl_read(rd);
	(void)ipc_send(p, ctl_reply(h->id, req != NULL ? ctl_run(req) :
	    ctl_error("the request is not a JSON object")));
	json_decref(req);
}

/*
 * gw-bridge's GW_MSG_CTL_REQUEST id, a gather's question to every worker
 * of the node (gw-listen's apinode.c asked it): a kick or the channels,
 * as gwctl would ask; nothing else is taken from there.  Return value:
 * the GW_MSG_CTL_REPLY.
 */
struct ipc_msg *
ctl_gather(uint32_t id, struct ipc_rd *rd)
{
	json_t		*req = ctl_read(rd), *r;
	const char	*cmd;

	cmd = req != NULL ? json_string_value(json_object_get(req, "cmd")) :
	    NULL;
	if (cmd != NULL && (strcmp(cmd, "kick") == 0 ||
	    strcmp(cmd, "channels") == 0 || strcmp(cmd, "stats") == 0))
		r = ctl_run(req);
	else
		r = ctl_error("a gather asks kick, channels or stats");
	json_decref(req);
	return ctl_reply(id, r);
}

/* The answer to "stats": this process and its counters. */
static json_t *
ctl_run_stats(void)
{
	return json_pack("{s:b, s:s, s:i, s:s, s:o}", "ok", 1, "process",
	    "gw-listen", "pid", (int)getpid(), "node", gl->l_conf->lc_node,
	    "counters", ctl_counters());
}

/* The counters, as a flat JSON object. */
static json_t *
ctl_counters(void)
{
	struct uring_stats us;
	json_t	*o;
	char	 name[32];
	size_t	 i;

	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I}",
	    "connections", (json_int_t)gl->l_nconns,
	    "connections_total", (json_int_t)gl->l_served,
	    "channels", (json_int_t)htab_count(gl->l_chans),
	    "subscriptions", (json_int_t)gl->l_nsubs,
	    "messages_in", (json_int_t)gst.st_messages_in,
	    "messages_out", (json_int_t)gst.st_frames_out,
	    "deliveries", (json_int_t)gst.st_deliveries,
	    "published", (json_int_t)gst.st_published,
	    "bytes_in", (json_int_t)gst.st_bytes_in,
	    "bytes_out", (json_int_t)gst.st_bytes_out,
	    "errors", (json_int_t)gst.st_errors,
	    "drops_rate_limited", (json_int_t)gst.st_rate_limited,
	    "sessions_resumed", (json_int_t)gst.st_resumed,
	    "kicked", (json_int_t)gst.st_kicked);
	for (i = 0; i < CTL_NCODES; i++) {
		snprintf(name, sizeof(name), "closes_%u", ctl_codes[i]);
		json_object_set_new(o, name,
		    json_integer((json_int_t)gst.st_closes[i]));
	}
	json_object_set_new(o, "events_in",
	    json_integer((json_int_t)gst.st_events_in));
	json_object_set_new(o, "upgrades_waited",
	    json_integer((json_int_t)gst.st_upwaited));
	json_object_set_new(o, "upgrades_waiting",
	    json_integer((json_int_t)limit_waiting()));
	json_object_set_new(o, "loop_max_ms",
	    json_integer((json_int_t)(gst.st_turn_max_us / 1000)));
	json_object_set_new(o, "loop_turns_100ms",
	    json_integer((json_int_t)gst.st_turns_100ms));
	json_object_set_new(o, "loop_turns_1s",
	    json_integer((json_int_t)gst.st_turns_1s));
	json_object_set_new(o, "drops_slow_consumer",
	    json_integer((json_int_t)gst.st_closes[CTL_NCODES - 1]));
	uring_get_stats(&us);
	json_object_set_new(o, "io_uring", json_integer(us.us_on));
	json_object_set_new(o, "uring_submits",
	    json_integer((json_int_t)us.us_submits));
	json_object_set_new(o, "uring_sends",
	    json_integer((json_int_t)us.us_sends));
	json_object_set_new(o, "uring_recvs",
	    json_integer((json_int_t)us.us_recvs));
	json_object_set_new(o, "uring_recv_arms",
	    json_integer((json_int_t)us.us_arms));
	json_object_set_new(o, "uring_recv_chunks",
	    json_integer((json_int_t)us.us_msrecvs));
	json_object_set_new(o, "uring_recv_moved",
	    json_integer((json_int_t)us.us_msoff));
	return o;
}

/*
 * c's id as the welcome frame shows it: 16 hex digits, as the logs and
 * gw-presence (a session's holder) write it too.
 */
void
conn_idhex(char dst[17], const struct conn *c)
{
	snprintf(dst, 17, "%016llx", (unsigned long long)c->c_connid);
}

/* Does c match the filters (user, channel; NULL: any)? */
static int
ctl_match(const struct conn *c, const char *user, const char *channel)
{
	uint32_t	i;

	if (user != NULL && strcmp(c->c_id->id_user, user) != 0)
		return 0;
	if (channel == NULL)
		return 1;
	for (i = 0; i < c->c_nsubs; i++)
		if (strcmp(c->c_subs[i].s_chan->ch_name, channel) == 0)
			return 1;
	return 0;
}

/*
 * Call fn on every WebSocket connection (open, not closing) matching
 * the filters, at most CTL_MAXCONNS.  fn may close the connection.
 */
static void
ctl_each(const char *user, const char *channel,
    void (*fn)(struct conn *, void *), void *arg)
{
	struct tlist	*tl[] = { &gl->l_live, &gl->l_pinged };
	struct conn	*c, *next;
	size_t		 n = 0;
	int		 i;

	for (i = 0; i < 2; i++)
		for (c = tl[i]->tl_head; c != NULL && n < CTL_MAXCONNS;
		    c = next) {
			next = c->c_tnext;
			if (!ctl_match(c, user, channel))
				continue;
			n++;
			fn(c, arg);
		}
}

static void
ctl_conn_json(struct conn *c, void *arg)
{
	json_t		*chans = json_array();
	char		 id[17];
	uint32_t	 i;

	for (i = 0; i < c->c_nsubs; i++)
		json_array_append_new(chans,
		    json_string(c->c_subs[i].s_chan->ch_name));
	conn_idhex(id, c);
	json_array_append_new(arg, json_pack("{s:s, s:s, s:o, s:I, s:s}",
	    "connId", id, "userId", c->c_id->id_user, "channels", chans,
	    "connectedAt", (json_int_t)c->c_born, "node",
	    gl->l_conf->lc_node));
}

static void
ctl_kick_one(struct conn *c, void *arg)
{
	sess_drop(c);
	ws_close(c, 1008, "kicked");
	gst.st_kicked++;
	(*(json_int_t *)arg)++;
}

struct kick_id {
	const char	*ki_id;
	json_int_t	 ki_n;
};

static void
ctl_kick_id(struct conn *c, void *arg)
{
	struct kick_id	*k = arg;
	char		 id[17];

	conn_idhex(id, c);
	if (strcmp(id, k->ki_id) == 0)
		ctl_kick_one(c, &k->ki_n);
}

static json_t *
ctl_channels(const char *pattern)
{
	struct htab_iter	 it;
	const char		*name;
	size_t			 len;
	void			*v;
	json_t			*a = json_array();

	htab_iter_init(gl->l_chans, &it);
	while (htab_iter_next(&it, &name, &len, &v)) {
		struct chan *ch = v;

		if (pattern != NULL && fnmatch(pattern, ch->ch_name, 0) != 0)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:I, s:s}",
		    "channel", ch->ch_name, "subscribers",
		    (json_int_t)ch->ch_nmem, "node", gl->l_conf->lc_node));
	}
	return a;
}

/* One setting of a reload: a number in [min, max], or -1 if absent. */
static int
ctl_setting(json_t *req, const char *key, unsigned long long min,
    unsigned long long max, unsigned long long *v, char *err, size_t errlen)
{
	json_t	*j = json_object_get(req, key);

	if (j == NULL)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < (json_int_t)min ||
	    (unsigned long long)json_integer_value(j) > max) {
		snprintf(err, errlen, "%s: want an integer from %llu to %llu",
		    key, min, max);
		return -1;
	}
	*v = json_integer_value(j);
	return 1;
}

/* Apply what can change live; all or nothing. */
static json_t *
ctl_reload(json_t *req)
{
	struct listen_conf	*lc = gl->l_conf;
	unsigned long long	 msg = lc->lc_maxmsg, out = lc->lc_maxout;
	unsigned long long	 subs = lc->lc_maxsubs, rate = lc->lc_pubrate;
	unsigned long long	 burst = lc->lc_pubburst, verbose = 0;
	const char		*secret, *level;
	char			 err[160];
	int			 setv = 0;

	err[0] = '\0';
	if (ctl_setting(req, "max_message", 16, 4 * 1024 * 1024, &msg, err,
	    sizeof(err)) == -1 ||
	    ctl_setting(req, "max_outbound", 1024, 1ULL << 31, &out, err,
	    sizeof(err)) == -1 ||
	    ctl_setting(req, "max_subscriptions", 1, 65535, &subs, err,
	    sizeof(err)) == -1 ||
	    ctl_setting(req, "publish_rate", 1, 1000000, &rate, err,
	    sizeof(err)) == -1 ||
	    ctl_setting(req, "publish_burst", 1, 1000000, &burst, err,
	    sizeof(err)) == -1)
		return json_pack("{s:b, s:s}", "ok", 0, "error", err);
	if (out < msg)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "max_outbound "
		    "under max_message: a message that size would close its "
		    "subscribers");
	if ((level = json_string_value(json_object_get(req, "log_level")))
	    != NULL) {
		if (strcmp(level, "info") == 0 || strcmp(level, "quiet") == 0)
			verbose = 0;
		else if (strcmp(level, "verbose") == 0)
			verbose = 1;
		else if (strcmp(level, "debug") == 0)
			verbose = 2;
		else
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "log_level: want quiet, info, verbose or debug");
		setv = 1;
	}
	secret = json_string_value(json_object_get(req, "secret_file"));
	if (secret != NULL && !lc->lc_authnone &&
	    auth_read_secret(secret, lc) == -1)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "secret_file: cannot be read or too short; kept the old");
	lc->lc_maxmsg = msg;
	lc->lc_maxout = out;
	lc->lc_maxsubs = subs;
	lc->lc_pubrate = rate;
	lc->lc_pubburst = burst;
	if (setv)
		log_setverbose(verbose);
	log_info("reloaded: max message %zu, max outbound %zu, "
	    "max subscriptions %u, publish rate %g, burst %g", lc->lc_maxmsg,
	    lc->lc_maxout, lc->lc_maxsubs, lc->lc_pubrate, lc->lc_pubburst);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
ctl_run(json_t *req)
{
	const char	*cmd = json_string_value(json_object_get(req, "cmd"));
	const char	*user, *channel, *id, *pattern;
	json_t		*a;
	json_int_t	 n = 0;

	user = json_string_value(json_object_get(req, "user"));
	channel = json_string_value(json_object_get(req, "channel"));
	if (cmd == NULL)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "no cmd");
	if (strcmp(cmd, "stats") == 0)
		return ctl_run_stats();
	if (strcmp(cmd, "conns") == 0) {
		a = json_array();
		ctl_each(user, channel, ctl_conn_json, a);
		return json_pack("{s:b, s:o}", "ok", 1, "conns", a);
	}
	if (strcmp(cmd, "channels") == 0) {
		pattern = json_string_value(json_object_get(req, "pattern"));
		return json_pack("{s:b, s:o}", "ok", 1, "channels",
		    ctl_channels(pattern));
	}
	if (strcmp(cmd, "kick") == 0) {
		if ((id = json_string_value(json_object_get(req, "conn")))
		    != NULL) {
			struct kick_id k = { id, 0 };

			ctl_each(NULL, NULL, ctl_kick_id, &k);
			n = k.ki_n;
		} else if (user != NULL)
			ctl_each(user, NULL, ctl_kick_one, &n);
		else
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "kick: give conn or user");
		return json_pack("{s:b, s:I}", "ok", 1, "closed", n);
	}
	if (strcmp(cmd, "reload") == 0)
		return ctl_reload(req);
	return json_pack("{s:b, s:s}", "ok", 0, "error", "unknown command");
}

static int
ctl_pid_cmp(const void *a, const void *b)
{
	json_int_t	x = json_integer_value(json_object_get(*(json_t *const *)a,
			    "pid"));
	json_int_t	y = json_integer_value(json_object_get(*(json_t *const *)b,
			    "pid"));

	return x < y ? -1 : x > y;
}

/* Label value v, escaped (backslash, double quote, newline), on f. */
static void
ctl_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			fputc('\\', f);
		fputc(*v == '\n' ? 'n' : *v, f);
	}
}

/*
 * The counters in the Prometheus text format (version 0.0.4), for GET
 * /metrics: of the workers whose "stats" answers are in the array stats
 * (NULL: this process alone), one series per worker (its pid label),
 * in pid order.  Return value: the text, which the caller frees.
 */
char *
ctl_metrics(json_t *stats)
{
	json_t		*own = NULL, *v, *w, **ws;
	const char	*k;
	char		*buf = NULL;
	size_t		 len = 0, i, n = 0;
	FILE		*f;
	int		 gauge;

	if (stats == NULL)
		stats = own = json_pack("[o]", ctl_run_stats());
	ws = xcalloc(json_array_size(stats) + 1, sizeof(*ws));
	json_array_foreach(stats, i, w)
		if (json_is_object(json_object_get(w, "counters")))
			ws[n++] = w;
	qsort(ws, n, sizeof(*ws), ctl_pid_cmp);
	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	/* Every worker has the same counters: the first one's names. */
	json_object_foreach(n > 0 ? json_object_get(ws[0], "counters") :
	    NULL, k, v) {
		gauge = strcmp(k, "connections") == 0 ||
		    strcmp(k, "channels") == 0 ||
		    strcmp(k, "subscriptions") == 0 ||
		    strcmp(k, "io_uring") == 0 ||
		    strcmp(k, "upgrades_waiting") == 0 ||
		    strcmp(k, "loop_max_ms") == 0;
		fprintf(f, "# TYPE gw_listen_%s %s\n", k,
		    gauge ? "gauge" : "counter");
		for (i = 0; i < n; i++) {
			v = json_object_get(json_object_get(ws[i], "counters"),
			    k);
			fprintf(f, "gw_listen_%s{node=\"", k);
			ctl_label(f, json_string_value(json_object_get(ws[i],
			    "node")) != NULL ? json_string_value(
			    json_object_get(ws[i], "node")) : "");
			fprintf(f, "\",pid=\"%lld\"} %lld\n",
			    (long long)json_integer_value(json_object_get(ws[i],
			    "pid")), (long long)json_integer_value(v));
		}
	}
	fclose(f);
	free(ws);
	json_decref(own);
	return buf;
}
