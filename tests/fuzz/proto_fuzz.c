/*
 * proto_fuzz.c -- libFuzzer target for gw-listen's request parser: any
 * bytes a client may send as a text message.  Checks that parsing never
 * crashes or leaks, that a failure always names a known error code, and
 * that the error frame built for it is valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *codes[] = {
	"bad_request", "unknown_type", "bad_channel", NULL
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req		 rq;
	struct proto_err	 err;
	json_t			*o;
	char			*s;
	size_t			 n, i;

	if (proto_parse((const char *)data, size, &rq, &err) == 0) {
		if (rq.rq_type < REQ_SUBSCRIBE || rq.rq_type > REQ_HISTORY ||
		    rq.rq_channel == NULL ||
		    !parse_channel(rq.rq_channel, strlen(rq.rq_channel)))
			abort();
		if (rq.rq_type == REQ_PUBLISH && rq.rq_data == NULL)
			abort();
	} else {
		for (i = 0; codes[i] != NULL; i++)
			if (strcmp(codes[i], err.pe_code) == 0)
				break;
		if (codes[i] == NULL)
			abort();
		if ((s = proto_error_json(rq.rq_id, err.pe_code, err.pe_msg,
		    &n)) == NULL)
			s = proto_error_json(rq.rq_id, err.pe_code, "x", &n);
		if (s == NULL || (o = json_loadb(s, n, 0, NULL)) == NULL)
			abort();
		json_decref(o);
		free(s);
	}
	proto_req_free(&rq);
	return 0;
}
