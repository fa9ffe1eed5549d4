/*
 * ctl.c -- gw-presence's answers to control requests
 * (GW_MSG_CTL_REQUEST) that gwctl and gw-supervise send on
 * <rundir>/presence.sock: "stats".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "htab.h"
#include "log.h"
#include "presence.h"

static json_t	*ctl_stats(void);

static json_t *
ctl_stats(void)
{
	struct peer	*p;
	json_int_t	 npeers = 0;

	for (p = gp->p_peers; p != NULL; p = p->pr_next)
		if (!p->pr_dead)
			npeers++;
	return json_pack("{s:b, s:s, s:i, s:s, s:s, s:{s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:i}}", "ok", 1, "process",
	    "gw-presence", "pid", (int)getpid(), "node", gp->p_conf->pc_node,
	    "instance", gp->p_inst, "counters",
	    "entries", (json_int_t)htab_count(gp->p_entries),
	    "typing", (json_int_t)htab_count(gp->p_typing),
	    "sessions", (json_int_t)htab_count(gp->p_sess),
	    "workers", npeers,
	    "joins", (json_int_t)gp->p_joins,
	    "leaves", (json_int_t)gp->p_leaves,
	    "sweeps", (json_int_t)gp->p_swept,
	    "sessions_saved", (json_int_t)gp->p_ssaved,
	    "sessions_resumed", (json_int_t)gp->p_sresumed,
	    "sessions_expired", (json_int_t)gp->p_sexpired,
	    "session_loads", (json_int_t)gp->p_sloads,
	    "sessions_taken", (json_int_t)gp->p_staken,
	    "redis_reconnects", (json_int_t)gp->p_reconnects,
	    "redis_awaited", (json_int_t)gp->p_win.rw_inflight,
	    "redis_queued", (json_int_t)gp->p_win.rw_queued,
	    "redis_pauses", (json_int_t)gp->p_pauses,
	    "redis_up", gp->p_up);
}

/*
 * Answer p's control request id (its JSON text in rd) with
 * GW_MSG_CTL_REPLY: {"ok":true,...} for "stats", {"ok":false,"error":...}
 * for anything else.  Bad input from gwctl is answered, never fatal.
 */
void
ctl_request(struct peer *p, uint32_t id, struct ipc_rd *rd)
{
	presence_send(p, ctl_reply(id, ctl_stats_only(rd, ctl_stats)));
}
