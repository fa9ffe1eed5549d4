/*
 * buf.h -- a growable byte buffer: the Redis commands gw-bridge builds,
 * the JSON gw-presence writes and gw-listen's session states, the
 * frames gw-bench queues.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stddef.h>

/* b_p is NUL-terminated once anything was added (b_len bytes before it). */
struct buf {
	char	*b_p;
	size_t	 b_len;
	size_t	 b_cap;
};

void	buf_room(struct buf *, size_t);
void	buf_add(struct buf *, const void *, size_t);
void	buf_addstr(struct buf *, const char *);
void	buf_addjson(struct buf *, const char *, size_t);
size_t	buf_jsonlen(const char *, size_t);
void	buf_free(struct buf *);

#endif
