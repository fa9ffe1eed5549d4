/*
 * pjson.h -- the JSON text gw-presence reads and writes, with no I/O:
 * the per-user value stored in Redis, the answer to a presence query,
 * the typing event payloads, and the checks of what a session holds
 * (JSON string literals: buf_addjson() of lib/buf).
 * Kept apart from the daemon so that the unit tests link it alone.
 */
#ifndef GW_PJSON_H
#define GW_PJSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PJSON_SIDLEN	32		/* hex digits of a session id */
#define PJSON_MAXSTATE	(256 * 1024)	/* bytes of a session's state */

/* One field and its value of a script's reply, as Redis gave them. */
struct pjson_pair {
	const char	*pp_user;
	size_t		 pp_userlen;
	const char	*pp_val;
	size_t		 pp_vallen;
};

int	 pjson_value(const char *, size_t, uint64_t *, const char **,
	    size_t *);
char	*pjson_reply(long long, const struct pjson_pair *, size_t, size_t,
	    size_t, size_t *);
void	 pjson_typing(struct buf *, uint64_t, int, const char *, size_t,
	    const char *, size_t);
int	 pjson_sid_ok(const char *, size_t);
int	 pjson_state_ok(const char *, size_t);

#endif
