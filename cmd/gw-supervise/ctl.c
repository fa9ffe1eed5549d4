/*
 * ctl.c -- gw-supervise's control socket <rundir>/supervise.sock
 * ({"cmd":"status"} for gwctl), and the reload requests it sends to each
 * gw-listen worker's socket <rundir>/listen-PID.sock on SIGHUP.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "supervise.h"
#include "xmalloc.h"

#define CTL_TIMEOUT	5.0	/* seconds a worker has to answer a reload */
#define CTL_MAXPEERS	64
#define CTL_MAXQUEUED	(1024 * 1024)	/* bytes of replies a client may
					   leave unread */
#define CTL_REFUSEDLOG	10.0	/* seconds between two logs of refusals */

/* A gwctl connected to supervise.sock, or our link to a worker. */
struct cpeer {
	struct ipc_peer	*cp_peer;
	char		 cp_name[48];
	ev_timer	 cp_timer;	/* reload: the answer's deadline */
	struct cpeer	*cp_next;
};

static struct cpeer	*clients;	/* on supervise.sock */
static struct cpeer	*reloads;	/* to the workers */
static int		 nclients;
static double		 ctl_refusedat;	/* when refusals were last logged */
static unsigned long	 ctl_refused;	/* not logged yet */

static void	ctl_accept(struct ev_loop *, int, const char *, void *);
static void	ctl_refuse(int);
static void	ctl_dispatch(struct ipc_peer *, const struct gw_msg_hdr *,
		    struct ipc_rd *);
static void	ctl_closed(struct ipc_peer *, const char *);
static void	ctl_free(struct cpeer **, struct cpeer *);
static char	*ctl_answer(const char *, size_t);
static void	ctl_reload_send(struct child *, const char *);
static void	ctl_reload_dispatch(struct ipc_peer *,
		    const struct gw_msg_hdr *, struct ipc_rd *);
static void	ctl_reload_closed(struct ipc_peer *, const char *);
static void	ctl_reload_timeout(struct ev_loop *, ev_timer *, int);

/*
 * Listen on <rundir>/supervise.sock.  Return value: 0, or -1 (logged),
 * for instance when another gw-supervise runs on that directory.
 */
int
ctl_start(void)
{
	int	fd;

	snprintf(gs->s_sock, sizeof(gs->s_sock), "%s/supervise.sock",
	    gs->s_rundir);
	if ((fd = ipc_listen(gs->s_sock)) == -1) {
		log_warn("listen on %s%s", gs->s_sock, errno == EADDRINUSE ?
		    " (another gw-supervise on this run directory?)" : "");
		return -1;
	}
	ipc_acceptor_start(gs->s_loop, &gs->s_accept, fd, 0, ctl_accept,
	    NULL);
	return 0;
}

/* Close the control socket and every link, and remove the socket. */
void
ctl_stop(void)
{
	while (clients != NULL)
		ctl_free(&clients, clients);
	while (reloads != NULL)
		ctl_free(&reloads, reloads);
	ipc_acceptor_stop(gs->s_loop, &gs->s_accept);
	unlink(gs->s_sock);
}

static void
ctl_free(struct cpeer **head, struct cpeer *cp)
{
	struct cpeer	**pp;

	for (pp = head; *pp != NULL; pp = &(*pp)->cp_next)
		if (*pp == cp) {
			*pp = cp->cp_next;
			break;
		}
	if (head == &clients)
		nclients--;
	ev_timer_stop(gs->s_loop, &cp->cp_timer);
	ipc_peer_free(cp->cp_peer);
	free(cp);
}

/* A client connected (or fd -1 and a line to log). */
static void
ctl_accept(struct ev_loop *loop, int fd, const char *why, void *arg)
{
	struct cpeer	*cp;

	(void)arg;
	if (fd == -1) {
		log_warnx("%s", why);
		return;
	}
	if (nclients >= CTL_MAXPEERS) {
		ctl_refuse(fd);
		return;
	}
	cp = xcalloc(1, sizeof(*cp));
	snprintf(cp->cp_name, sizeof(cp->cp_name), "control client");
	ev_timer_init(&cp->cp_timer, NULL, 1, 0);
	if ((cp->cp_peer = ipc_peer_new(loop, fd, ctl_dispatch, ctl_closed,
	    cp)) == NULL) {
		log_warn("control client");
		free(cp);
		return;
	}
	cp->cp_next = clients;
	clients = cp;
	nclients++;
}

/*
 * Close fd, a client over CTL_MAXPEERS.  Refusals are logged at most
 * once per CTL_REFUSEDLOG seconds, with their count: a burst of
 * connections must not flood the log.
 */
static void
ctl_refuse(int fd)
{
	double	 now = ev_now(gs->s_loop);

	close(fd);
	ctl_refused++;
	if (ctl_refusedat != 0 && now - ctl_refusedat < CTL_REFUSEDLOG)
		return;
	log_warnx("control: more than %d clients: %lu refused", CTL_MAXPEERS,
	    ctl_refused);
	ctl_refusedat = now;
	ctl_refused = 0;
}

static void
ctl_closed(struct ipc_peer *p, const char *why)
{
	struct cpeer	*cp = ipc_peer_arg(p);

	/* A client that hung up is the usual end; any other is logged. */
	if (strcmp(why, "peer closed") != 0)
		log_warnx("%s: %s; closed", cp->cp_name, why);
	else
		log_debug("%s: %s", cp->cp_name, why);
	ctl_free(&clients, cp);
}

/* The status of every child, as a JSON array owned by the caller. */
static json_t *
ctl_children(void)
{
	json_t		*a = json_array();
	struct child	*ch;
	size_t		 i;
	double		 up;

	for (i = 0; i < gs->s_nchild; i++) {
		ch = &gs->s_child[i];
		up = ch->ch_pid != 0 ? ev_now(gs->s_loop) - ch->ch_started : 0;
		json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:I, s:i}",
		    "name", ch->ch_name, "pid", (int)ch->ch_pid,
		    "state", child_state_name(ch), "uptime", (json_int_t)up,
		    "restarts", (int)ch->ch_restarts));
	}
	return a;
}

/* The reply to the request of len bytes at s, as a string to free. */
static char *
ctl_answer(const char *s, size_t len)
{
	json_t		*req, *rep;
	json_error_t	 jerr;
	const char	*cmd;
	char		*out;

	if ((req = json_loadb(s, len, 0, &jerr)) == NULL ||
	    !json_is_object(req) ||
	    (cmd = json_string_value(json_object_get(req, "cmd"))) == NULL)
		rep = json_pack("{s:b, s:s}", "ok", 0, "error",
		    "want a JSON object with a \"cmd\"");
	else if (strcmp(cmd, "status") == 0)
		rep = json_pack("{s:b, s:s, s:s, s:o}", "ok", 1, "node",
		    gs->s_node, "rundir", gs->s_rundir, "children",
		    ctl_children());
	else
		rep = json_pack("{s:b, s:s}", "ok", 0, "error",
		    "unknown command: gw-supervise answers status");
	json_decref(req);
	out = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	if (out == NULL)
		fatalx("json_dumps");
	return out;
}

static void
ctl_dispatch(struct ipc_peer *p, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	struct cpeer	*cp = ipc_peer_arg(p);
	struct ipc_msg	*m;
	const char	*s;
	char		*out;
	size_t		 len;
	uint32_t	 pid;

	switch (h->type) {
	case GW_MSG_HELLO:
		if (ipc_get_u32(rd, &pid) == -1 ||
		    ipc_get_str(rd, &s, &len) == -1 || ipc_end(rd) == -1)
			break;
		ipc_printable(cp->cp_name, sizeof(cp->cp_name), s, len);
		log_debug("control: %s connected", cp->cp_name);
		return;
	case GW_MSG_CTL_REQUEST:
		if (ipc_get_str(rd, &s, &len) == -1 || ipc_end(rd) == -1)
			break;
		if (ipc_peer_queued(p) > CTL_MAXQUEUED) {
			log_warnx("%s: reads no replies: closed", cp->cp_name);
			ctl_free(&clients, cp);
			return;
		}
		out = ctl_answer(s, len);
		m = ipc_create(GW_MSG_CTL_REPLY, h->id);
		ipc_add_cstr(m, out);
		free(out);
		if (ipc_send(p, m) == -1) {
			log_warnx("%s: output queue full", cp->cp_name);
			ctl_free(&clients, cp);
		}
		return;
	default:
		break;
	}
	/* Bad input from a client closes that client only. */
	log_warnx("%s: bad %s (len %u): closed", cp->cp_name,
	    ipc_type_name(h->type), h->len);
	ctl_free(&clients, cp);
}

/*
 * SIGHUP: take the live settings of next into gs's configuration and
 * send each running worker {"cmd":"reload", ...} with all of them (the
 * defaults of those unset); each answer or failure is logged.
 */
void
ctl_reload(const struct conf *next)
{
	const struct conf_key	*keys;
	const struct conf_val	*v;
	json_t			*req = json_object();
	const char		*val;
	char			*s, err[CONF_ERRLEN];
	size_t			 n, i;

	keys = conf_keys(&n);
	for (i = 0; i < n; i++) {
		if (!keys[i].k_live)
			continue;
		v = &next->c_vals[i];
		if (v->v_val == NULL) {
			free(gs->s_conf.c_vals[i].v_val);
			gs->s_conf.c_vals[i].v_val = NULL;
		} else if (conf_set(&gs->s_conf, i, v->v_val, v->v_src,
		    v->v_line, err) == -1)
			log_warnx("%s", err);	/* checked already */
		if ((val = conf_get(&gs->s_conf, keys[i].k_name)) == NULL)
			continue;
		if (keys[i].k_type == CONF_T_NUM)
			json_object_set_new(req, keys[i].k_name,
			    json_integer(strtoll(val, NULL, 10)));
		else
			json_object_set_new(req, keys[i].k_name,
			    json_string(val));
	}
	gs->s_quiet = strcmp(conf_get(&gs->s_conf, "log_level"), "quiet") == 0;
	log_setverbose(child_verbosity(&gs->s_conf));
	json_object_set_new(req, "cmd", json_string("reload"));
	if ((s = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		fatalx("json_dumps");
	json_decref(req);
	for (i = 0; i < gs->s_nchild; i++)
		if (gs->s_child[i].ch_kind == CHILD_LISTEN &&
		    gs->s_child[i].ch_pid != 0)
			ctl_reload_send(&gs->s_child[i], s);
	free(s);
}

static void
ctl_reload_send(struct child *ch, const char *req)
{
	struct cpeer	*cp;
	struct ipc_msg	*m;
	char		 path[PATH_MAX + 32];
	int		 fd;

	snprintf(path, sizeof(path), "%s/listen-%d.sock", gs->s_rundir,
	    (int)ch->ch_pid);
	if ((fd = ipc_connect(path)) == -1) {
		log_warn("%s: reload: cannot connect to %s", ch->ch_name, path);
		return;
	}
	cp = xcalloc(1, sizeof(*cp));
	snprintf(cp->cp_name, sizeof(cp->cp_name), "%s (pid %d)",
	    ch->ch_name, (int)ch->ch_pid);
	if ((cp->cp_peer = ipc_peer_new(gs->s_loop, fd, ctl_reload_dispatch,
	    ctl_reload_closed, cp)) == NULL) {
		log_warn("%s: reload", cp->cp_name);
		free(cp);
		return;
	}
	ev_timer_init(&cp->cp_timer, ctl_reload_timeout, CTL_TIMEOUT, 0);
	cp->cp_timer.data = cp;
	ev_timer_start(gs->s_loop, &cp->cp_timer);
	cp->cp_next = reloads;
	reloads = cp;
	m = ipc_create(GW_MSG_HELLO, 0);
	ipc_add_u32(m, (uint32_t)getpid());
	ipc_add_cstr(m, "gw-supervise");
	ipc_send(cp->cp_peer, m);
	m = ipc_create(GW_MSG_CTL_REQUEST, 1);
	ipc_add_cstr(m, req);
	ipc_send(cp->cp_peer, m);
}

static void
ctl_reload_dispatch(struct ipc_peer *p, const struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	struct cpeer	*cp = ipc_peer_arg(p);
	json_t		*rep;
	json_error_t	 jerr;
	const char	*s;
	size_t		 len;
	int		 good;

	if (h->type == GW_MSG_HELLO)
		return;
	if (h->type == GW_MSG_CTL_REPLY && ipc_get_str(rd, &s, &len) == 0 &&
	    ipc_end(rd) == 0) {
		rep = json_loadb(s, len, 0, &jerr);
		good = json_is_true(json_object_get(rep, "ok"));
		json_decref(rep);
		if (good)
			log_info("%s: reloaded: %.*s", cp->cp_name,
			    (int)(len > 400 ? 400 : len), s);
		else
			log_warnx("%s: reload refused: %.*s", cp->cp_name,
			    (int)(len > 400 ? 400 : len), s);
	} else
		log_warnx("%s: reload: unexpected %s", cp->cp_name,
		    ipc_type_name(h->type));
	ctl_free(&reloads, cp);
}

static void
ctl_reload_closed(struct ipc_peer *p, const char *why)
{
	struct cpeer	*cp = ipc_peer_arg(p);

	log_warnx("%s: reload: no answer: %s", cp->cp_name, why);
	ctl_free(&reloads, cp);
}

static void
ctl_reload_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cpeer	*cp = t->data;

	(void)loop;
	(void)revents;
	log_warnx("%s: reload: no answer within %.0f s", cp->cp_name,
	    CTL_TIMEOUT);
	ctl_free(&reloads, cp);
}
