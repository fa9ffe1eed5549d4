/*
 * ctl.h -- the JSON control requests of gwctl and gw-supervise
 * (GW_MSG_CTL_REQUEST / GW_MSG_CTL_REPLY, gw-ipc(7)), read and answered
 * the same way by every daemon.
 */
#ifndef GW_CTL_H
#define GW_CTL_H

#include <stdint.h>

#include <jansson.h>

#include "ipc.h"

json_t		*ctl_read(struct ipc_rd *);
json_t		*ctl_error(const char *);
struct ipc_msg	*ctl_reply(uint32_t, json_t *);
json_t		*ctl_stats_only(struct ipc_rd *, json_t *(*)(void));

#endif
