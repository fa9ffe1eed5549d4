/*
 * api.h -- what api.c (the HTTP API's requests) and apireply.c (their
 * answers) share inside gw-listen.
 */
#ifndef GW_LISTEN_API_H
#define GW_LISTEN_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct conn;

/*
 * A batch's answers, owned by the connection's head (conn_head.h_api):
 * each item's JSON text, as it comes, in ar_buf (item i at ar_at[i],
 * ar_at[ar_n + i] bytes; 0 until answered), joined into the answer's
 * array once the last comes.
 * Text, not jansson values: a batch of a thousand publishes would
 * otherwise build, encode and free a thousand objects.
 */
struct api_req {
	uint32_t	 ar_n;		/* items */
	uint32_t	 ar_left;	/* ... not answered yet */
	uint32_t	*ar_at;		/* ar_n offsets, then ar_n lengths */
	char		*ar_buf;
	size_t		 ar_used;
	size_t		 ar_cap;
};

void	api_send(struct conn *, int, const char *, const char *, size_t,
	    const char *);
void	api_reply_hdr(struct conn *, int, json_t *, const char *);
void	api_error_hdr(struct conn *, int, const char *, const char *,
	    const char *);

#endif
