/*
 * ipc_layout.h -- for the IPC unit tests: each GW_MSG_* payload's layout
 * (as the comments in ipc.h give it), a reader that checks a payload
 * against it as a dispatcher would, and a header writer for hand-made
 * input.
 */
#ifndef GW_IPC_LAYOUT_H
#define GW_IPC_LAYOUT_H

#include <stdint.h>
#include <string.h>

#include "ipc.h"

/*
 * The payload layout of each type: 'u' u32, 'q' u64, 's' string, 'n' a
 * u32 count followed by that many (string, string) pairs, 'm' a u32
 * count followed by that many strings.
 */
static const char *
layout(uint32_t type)
{
	switch (type) {
	case GW_MSG_HELLO:			return "us";
	case GW_MSG_BRIDGE_SUB:			return "ssu";
	case GW_MSG_BRIDGE_UNSUB:		return "s";
	case GW_MSG_BRIDGE_NOEVENTS:		return "s";
	case GW_MSG_BRIDGE_PUBLISH:		return "sssq";
	case GW_MSG_BRIDGE_HISTORY:		return "ssu";
	case GW_MSG_BRIDGE_SUBSCRIBED:		return "ssun";
	case GW_MSG_BRIDGE_PUBLISHED:		return "s";
	case GW_MSG_BRIDGE_HISTORY_REPLY:	return "un";
	case GW_MSG_BRIDGE_FAIL:		return "ss";
	case GW_MSG_BRIDGE_DELIVER:		return "sss";
	case GW_MSG_BRIDGE_GAP:			return "ss";
	case GW_MSG_BRIDGE_HEALTH:		return "u";
	case GW_MSG_BRIDGE_EVENT:		return "sqs";
	case GW_MSG_PRESENCE_JOIN:		return "sssqq";
	case GW_MSG_PRESENCE_LEAVE:		return "ssq";
	case GW_MSG_PRESENCE_TYPING:		return "ssqu";
	case GW_MSG_PRESENCE_QUERY:		return "ss";
	case GW_MSG_PRESENCE_REPLY:		return "s";
	case GW_MSG_PRESENCE_FAIL:		return "ss";
	case GW_MSG_SESSION_SAVE:		return "sssuq";
	case GW_MSG_SESSION_DROP:		return "s";
	case GW_MSG_SESSION_LOAD:		return "ssq";
	case GW_MSG_SESSION_STATE:		return "us";
	case GW_MSG_CTL_REQUEST:		return "s";
	case GW_MSG_CTL_REPLY:			return "s";
	case GW_MSG_BRIDGE_GATHER:		return "su";
	case GW_MSG_BRIDGE_GATHERED:		return "muu";
	default:				return NULL;
	}
}

/* Read a payload by its type's layout, as a dispatcher would: 0 or -1. */
static int
parse_layout(uint32_t type, struct ipc_rd *rd)
{
	const char	*l, *s;
	size_t		 n;
	uint32_t	 u, cnt, i;
	uint64_t	 q;

	if ((l = layout(type)) == NULL)
		return -1;
	for (; *l != '\0'; l++) {
		switch (*l) {
		case 'u':
			if (ipc_get_u32(rd, &u) == -1)
				return -1;
			break;
		case 'q':
			if (ipc_get_u64(rd, &q) == -1)
				return -1;
			break;
		case 's':
			if (ipc_get_str(rd, &s, &n) == -1)
				return -1;
			break;
		case 'n':
		case 'm':
			if (ipc_get_u32(rd, &cnt) == -1)
				return -1;
			for (i = 0; i < cnt; i++)
				if (ipc_get_str(rd, &s, &n) == -1 ||
				    (*l == 'n' && ipc_get_str(rd, &s, &n) == -1))
					return -1;
			break;
		}
	}
	return ipc_end(rd);
}

static void
set_hdr(uint8_t *buf, uint32_t type, uint32_t len, uint32_t id,
    uint32_t version)
{
	struct gw_msg_hdr	 h;

	h.type = type;
	h.len = len;
	h.id = id;
	h.version = version;
	memcpy(buf, &h, sizeof(h));
}

#endif
