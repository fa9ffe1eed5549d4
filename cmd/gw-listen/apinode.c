/*
 * apinode.c -- the HTTP API's requests about more than one worker: POST
 * /api/disconnect and GET /api/channels (every node), GET /metrics (this
 * node).  A
 * worker holds only its own connections, and the kernel gives a request
 * to any worker of the port: the request goes to every worker through
 * gw-bridge (GW_MSG_BRIDGE_GATHER; gw-bridge's gather.c, which asks the
 * other nodes' bridges through Redis for a disconnect), as the control
 * request that gwctl sends to each worker's socket, and their answers
 * are added up here.  The worker's side of it is ctl_gather().
 */
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Send request req (a reference this takes) to every worker, for c; with
 * flags GW_GATHER_CLUSTER, to every node's.
 */
static struct pend *
apinode_ask(struct conn *c, json_t *req, int kind, uint32_t flags)
{
	struct ipc_msg	*m;
	struct pend	*pd;
	char		*s;

	if (kind == PD_METRICS ? !link_connected() : !link_up()) {
		json_decref(req);
		api_error(c, 503, "unavailable", flags & GW_GATHER_CLUSTER ?
		    "the node's bridge or Redis is not reachable: no node was "
		    "asked" : "the node's bridge is not reachable");
		return NULL;
	}
	if ((s = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("api: json out of memory");
	json_decref(req);
	pd = client_pend(c, kind, NULL);
	pd->pd_api = 1;
	m = ipc_create(GW_MSG_BRIDGE_GATHER, 0);
	ipc_add_cstr(m, s);
	ipc_add_u32(m, flags);
	free(s);
	c->c_flags |= CONN_F_WAIT;	/* the next request waits for this */
	if (link_request(m, pd) == -1) {
		api_fail(pd, "unavailable", "the node's bridge is not reachable");
		return NULL;
	}
	return pd;
}

/* POST /api/disconnect: close the connections of a user, or one. */
void
apinode_disconnect(struct conn *c, json_t *o)
{
	const char	*user, *id;

	user = json_string_value(json_object_get(o, "user"));
	id = json_string_value(json_object_get(o, "conn"));
	if ((user == NULL) == (id == NULL) ||
	    (user != NULL && (*user == '\0' || strlen(user) > LISTEN_MAXUSER)) ||
	    (id != NULL && (*id == '\0' || strlen(id) > 64))) {
		api_error(c, 400, "bad_request",
		    "want {\"user\": U} or {\"conn\": ID}, not both; U a user "
		    "id of 1 to 128 bytes, ID a connection id");
		return;
	}
	(void)apinode_ask(c, user != NULL ? json_pack("{s:s, s:s}", "cmd", "kick",
	    "user", user) : json_pack("{s:s, s:s}", "cmd", "kick", "conn", id),
	    PD_KICK, GW_GATHER_CLUSTER);
}

/*
 * GET /api/channels: the channels matching pattern (NULL: all) of every
 * node, with their subscribers on all of them.
 */
void
apinode_channels(struct conn *c, const char *pattern)
{
	json_t	*req = json_pack("{s:s}", "cmd", "channels");

	if (pattern != NULL)
		json_object_set_new(req, "pattern", json_string(pattern));
	(void)apinode_ask(c, req, PD_CHANNELS, GW_GATHER_CLUSTER);
}

/*
 * Scrapes waiting for the other workers' counters, and since when.  A
 * bridge that is stopped (not gone: link_connected() still holds) would
 * never answer them: past APINODE_METRICS_WAIT, this worker's own
 * counters answer instead, as when the bridge is away.
 */
#define APINODE_METRICS_MAX	64
#define APINODE_METRICS_WAIT	2.0
static struct pend	*mw_pend[APINODE_METRICS_MAX];
static ev_tstamp	 mw_asked[APINODE_METRICS_MAX];
static int		 mw_n;
static ev_timer		 mw_timer;

static void	apinode_metrics_cb(struct ev_loop *, ev_timer *, int);

/* This worker's counters alone, as the answer to c's /metrics. */
static void
apinode_metrics_own(struct conn *c, struct pend *pd)
{
	char	*s = ctl_metrics(NULL);

	if (pd != NULL)
		api_item_text(pd, API_METRICS_TYPE, s, strlen(s));
	else
		api_text(c, API_METRICS_TYPE, s, strlen(s));
	free(s);
}

/*
 * GET /metrics: every worker's counters (through the bridge, which need
 * not reach Redis for it), or this worker's alone if the bridge is away,
 * does not answer within APINODE_METRICS_WAIT, or 64 scrapes wait
 * already: a scrape then still says something.
 */
void
apinode_metrics(struct conn *c)
{
	struct pend	*pd;

	if (!link_connected() || mw_n == APINODE_METRICS_MAX) {
		apinode_metrics_own(c, NULL);
		return;
	}
	pd = apinode_ask(c, json_pack("{s:s}", "cmd", "stats"), PD_METRICS, 0);
	if (pd == NULL)
		return;
	mw_pend[mw_n] = pd;
	mw_asked[mw_n++] = ev_now(gl->l_loop);
	if (!ev_is_active(&mw_timer)) {
		ev_timer_init(&mw_timer, apinode_metrics_cb,
		    APINODE_METRICS_WAIT, 0.);
		ev_timer_start(gl->l_loop, &mw_timer);
	}
}

/* Scrapes that waited APINODE_METRICS_WAIT: this worker's counters. */
static void
apinode_metrics_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_tstamp	 now = ev_now(loop), next = APINODE_METRICS_WAIT;
	struct pend	*pd;
	int		 i = 0;

	(void)revents;
	while (i < mw_n) {
		if (now - mw_asked[i] < APINODE_METRICS_WAIT) {
			if (mw_asked[i] + APINODE_METRICS_WAIT - now < next)
				next = mw_asked[i] + APINODE_METRICS_WAIT - now;
			i++;
			continue;
		}
		pd = mw_pend[i];
		log_info("metrics: gw-bridge did not answer in %.0f s: this "
		    "worker's counters alone", APINODE_METRICS_WAIT);
		link_forget(pd);
		/* Frees pd, which takes it off the list (index i). */
		apinode_metrics_own(pd->pd_conn, pd);
	}
	if (mw_n > 0) {
		ev_timer_set(t, next > 0.01 ? next : 0.01, 0.);
		ev_timer_start(loop, t);
	}
}

/* pd, a /metrics request, is answered or gone: off the list. */
void
apinode_metrics_done(struct pend *pd)
{
	int	i;

	for (i = 0; i < mw_n; i++)
		if (mw_pend[i] == pd) {
			mw_pend[i] = mw_pend[--mw_n];
			mw_asked[i] = mw_asked[mw_n];
			break;
		}
	if (mw_n == 0 && ev_is_active(&mw_timer))
		ev_timer_stop(gl->l_loop, &mw_timer);
}

static int
apinode_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The workers' answers to "channels" (reps), every channel's
 * subscribers added up, as the API's array, sorted by name.
 */
static json_t *
apinode_channel_list(json_t *reps)
{
	const char	**names, *k, *ch;
	json_t		 *acc = json_object(), *a = json_array(), *r, *e, *v;
	size_t		  i, j, n;

	json_array_foreach(reps, i, r)
		json_array_foreach(json_object_get(r, "channels"), j, e) {
			if ((ch = json_string_value(json_object_get(e,
			    "channel"))) == NULL)
				continue;
			json_object_set_new(acc, ch, json_integer(
			    json_integer_value(json_object_get(acc, ch)) +
			    json_integer_value(json_object_get(e,
			    "subscribers"))));
		}
	n = json_object_size(acc);
	names = xcalloc(n + 1, sizeof(*names));
	i = 0;
	json_object_foreach(acc, k, v)
		names[i++] = k;
	qsort(names, n, sizeof(*names), apinode_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:O}", "channel",
		    names[i], "subscribers", json_object_get(acc, names[i])));
	free(names);
	json_decref(acc);
	return a;
}

/* The answer to pd from the workers' answers reps (all nodes'). */
static void
apinode_answer(struct pend *pd, json_t *reps, uint32_t nodes,
    uint32_t unanswered)
{
	char		 msg[160], *text;
	json_int_t	 closed = 0;
	json_t		*r;
	size_t		 i;

	switch (pd->pd_kind) {
	case PD_METRICS:
		text = ctl_metrics(reps);
		api_item_text(pd, API_METRICS_TYPE, text, strlen(text));
		free(text);
		return;
	case PD_KICK:
		json_array_foreach(reps, i, r)
			closed += json_integer_value(json_object_get(r,
			    "closed"));
		if (unanswered != GW_GATHER_UNASKED) {
			api_item_json(pd, json_pack("{s:I, s:I, s:I}",
			    "closed", closed, "nodes", (json_int_t)nodes,
			    "unanswered", (json_int_t)unanswered), 200);
			return;
		}
		/* Those of this node are closed: say how many. */
		snprintf(msg, sizeof(msg), "Redis did not answer: the other "
		    "nodes may not have been told; %lld closed on this node",
		    (long long)closed);
		api_fail(pd, "unavailable", msg);
		return;
	default:
		if (unanswered == GW_GATHER_UNASKED) {
			api_fail(pd, "unavailable", "Redis did not answer: the "
			    "other nodes may not have been asked");
			return;
		}
		/* A node that did not answer in time is missing: say so. */
		snprintf(msg, sizeof(msg), "Gw-Nodes: %u\r\nGw-Unanswered: "
		    "%u\r\n", nodes, unanswered);
		api_item_json_hdr(pd, apinode_channel_list(reps), 200, msg);
	}
}

/*
 * gw-bridge's GW_MSG_BRIDGE_GATHERED for pd (rd: u32 n, n * str reply,
 * u32 nodes, u32 unanswered): the workers' answers, for apinode_answer().
 * Return value: 0, or -1 if malformed.
 */
int
apinode_gathered(struct pend *pd, struct ipc_rd *rd)
{
	const char	*s;
	size_t		 len;
	uint32_t	 n, i, nodes, unanswered;
	json_t		*reps, *r;

	if (ipc_get_u32(rd, &n) == -1)
		return -1;
	reps = json_array();
	for (i = 0; i < n; i++) {
		if (ipc_get_str(rd, &s, &len) == -1) {
			json_decref(reps);
			return -1;
		}
		if ((r = json_loadb(s, len, 0, NULL)) != NULL)
			json_array_append_new(reps, r);
	}
	if (ipc_get_u32(rd, &nodes) == -1 ||
	    ipc_get_u32(rd, &unanswered) == -1 || ipc_end(rd) == -1) {
		json_decref(reps);
		return -1;
	}
	apinode_answer(pd, reps, nodes, unanswered);
	json_decref(reps);
	return 0;
}
