/*
 * ctl.c -- see ctl.h.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/*
 * The request object of a GW_MSG_CTL_REQUEST payload (a new reference),
 * or NULL if the payload is not one string holding a JSON object.
 */
json_t *
ctl_read(struct ipc_rd *rd)
{
	const char	*s;
	size_t		 n;
	json_t		*req;

	if (ipc_get_str(rd, &s, &n) == -1 || ipc_end(rd) == -1 ||
	    (req = json_loadb(s, n, 0, NULL)) == NULL)
		return NULL;
	if (!json_is_object(req)) {
		json_decref(req);
		return NULL;
	}
	return req;
}

/* A failed answer, {"ok": false, "error": why}, or NULL out of memory. */
json_t *
ctl_error(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

/*
 * The GW_MSG_CTL_REPLY to request id holding rep, whose reference it
 * takes (NULL, from a failed json_pack, answers "out of memory").  The
 * caller owns the message.
 */
struct ipc_msg *
ctl_reply(uint32_t id, json_t *rep)
{
	struct ipc_msg	*m;
	char		*text = NULL;

	if (rep != NULL)
		text = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	m = ipc_create(GW_MSG_CTL_REPLY, id);
	ipc_add_cstr(m, text != NULL ? text :
	    "{\"ok\":false,\"error\":\"out of memory\"}");
	free(text);
	return m;
}

/*
 * The answer of a daemon whose only command is "stats" to the request
 * in rd: stats() (a new reference, owned by the caller as the return
 * value is), or an error answer for anything else.
 */
json_t *
ctl_stats_only(struct ipc_rd *rd, json_t *(*stats)(void))
{
	const char	*cmd = NULL;
	json_t		*req, *rep;

	if ((req = ctl_read(rd)) != NULL)
		cmd = json_string_value(json_object_get(req, "cmd"));
	if (req == NULL)
		rep = ctl_error("the request is not a JSON object");
	else if (cmd != NULL && strcmp(cmd, "stats") == 0)
		rep = stats();
	else
		rep = ctl_error("unknown command");
	json_decref(req);
	return rep;
}
