/*
 * ctl.c -- gw-bridge's answers to control requests (GW_MSG_CTL_REQUEST)
 * that gwctl and gw-supervise send on <rundir>/bridge.sock: "stats".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bridge.h"
#include "ctl.h"
#include "htab.h"
#include "log.h"

static json_t	*ctl_stats(void);

static json_t *
ctl_stats(void)
{
	struct worker	*w;
	json_int_t	 nworkers = 0, wqueued = 0;
	size_t		 awaited, queued;

	for (w = gb->b_workers; w != NULL; w = w->w_next)
		if (!w->w_dead) {
			nworkers++;
			wqueued += (json_int_t)ipc_peer_queued(w->w_peer);
		}
	redis_window_counts(&awaited, &queued);
	return json_pack("{s:b, s:s, s:i, s:s, s:{s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:i, s:I, s:I, s:I}}", "ok", 1, "process", "gw-bridge",
	    "pid", (int)getpid(), "node", gb->b_conf->bc_node, "counters",
	    "published", (json_int_t)gb->b_published,
	    "publish_scripts", (json_int_t)gb->b_pubscripts,
	    "delivered", (json_int_t)gb->b_delivered,
	    "events", (json_int_t)gb->b_events,
	    "redis_reconnects", (json_int_t)gb->b_reconnects,
	    "channels", (json_int_t)htab_count(gb->b_chans),
	    "workers", nworkers,
	    "healthy", gb->b_healthy,
	    "redis_awaited", (json_int_t)awaited,
	    "redis_queued", (json_int_t)queued,
	    "worker_queued", wqueued);
}

/*
 * Answer w's control request id (its JSON text in rd) with
 * GW_MSG_CTL_REPLY: {"ok":true,...} for "stats", {"ok":false,"error":...}
 * for anything else.  Bad input from gwctl is answered, never fatal.
 */
void
ctl_request(struct worker *w, uint32_t id, struct ipc_rd *rd)
{
	bridge_send(w, ctl_reply(id, ctl_stats_only(rd, ctl_stats)));
}
