/*
 * proto.h -- the client's JSON requests (PROTOCOL.md section 2): parsing
 * and validation, without any connection state, so that the unit tests and
 * the fuzzer drive it directly.
 */
#ifndef GW_PROTO_H
#define GW_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "parse.h"

#define PROTO_MAXCHAN		PARSE_MAXCHAN
#define PROTO_MAXOFFSET		64
#define PROTO_OFFSETLEN		38	/* EPOCH(16):MS(12)-SEQ(8) */
#define PROTO_MAXHISTORY	1000
#define PROTO_DUMPBUF		4096	/* proto_dump()'s buffer on the stack */

enum req_type {
	REQ_SUBSCRIBE = 1,
	REQ_UNSUBSCRIBE,
	REQ_PUBLISH,
	REQ_TYPING,
	REQ_PRESENCE,
	REQ_HISTORY
};

struct req {
	enum req_type	 rq_type;
	json_t		*rq_root;	/* owns everything below */
	json_t		*rq_id;		/* borrowed; NULL if absent */
	const char	*rq_channel;
	json_t		*rq_data;	/* publish */
	int		 rq_presence;	/* subscribe */
	const char	*rq_since;	/* subscribe, history; NULL if absent */
	int		 rq_stop;	/* typing: state "stop" */
	long		 rq_limit;	/* history; -1 if absent */
};

/* A failed request: the error frame's code and message. */
struct proto_err {
	const char	*pe_code;
	char		 pe_msg[128];
};

int	 proto_parse(const char *, size_t, struct req *, struct proto_err *);
void	 proto_req_free(struct req *);
char	*proto_error_json(json_t *, const char *, const char *, size_t *);
char	*proto_dump(const json_t *, char *, size_t, size_t *);
size_t	 proto_message_len(size_t, size_t, const char *, uint64_t);

#endif
