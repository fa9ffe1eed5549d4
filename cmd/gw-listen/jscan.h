/*
 * jscan.h -- the HTTP API's fast path through a publish body: a scanner
 * that validates JSON text and finds each item's channel and data in it,
 * without building a tree (jansson allocates every object, key and value
 * of a batch, then encodes each data value again).  It takes only the
 * plain forms: a string without a \u escape, a number of at most 15
 * digits without an exponent, nesting under JSCAN_MAXDEPTH, keys
 * "channel" and "data" once per item.  Anything else, valid or not, is
 * "not taken" and the caller parses the body with jansson as before, so
 * that every error and every unusual form has the one answer it always
 * had.  No connection state: the unit test and the fuzzer drive it.
 */
#ifndef GW_JSCAN_H
#define GW_JSCAN_H

#include <stddef.h>

#define JSCAN_MAXDEPTH	32

/* One item of a publish body: spans of the body. */
struct jscan_item {
	const char	*ji_chan;	/* the channel's bytes, unquoted */
	size_t		 ji_chanlen;
	const char	*ji_data;	/* the data value's JSON text */
	size_t		 ji_datalen;
	int		 ji_ws;		/* ... has whitespace to take out */
};

int	jscan_items(const char *, size_t, int, struct jscan_item *, size_t,
	    size_t *);
int	jscan_valid(const char *, size_t);
size_t	jscan_compact(const char *, size_t, char *);

#endif
