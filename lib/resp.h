/*
 * resp.h -- Redis commands in RESP (the protocol's arrays of bulk
 * strings), written into a struct buf without printf: gw-bridge's and
 * gw-presence's commands, sent with redisAsyncFormattedCommand().
 */
#ifndef GW_RESP_H
#define GW_RESP_H

#include <stddef.h>

#include "buf.h"

void	resp_head(struct buf *, size_t);
void	resp_bulk(struct buf *, const char *, size_t);
void	resp_bulkjson(struct buf *, const char *, size_t);
void	resp_argv(struct buf *, int, const char **, const size_t *);

#endif
