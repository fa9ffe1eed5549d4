/*
 * rurl.h -- where a Redis server is, from a redis:// or unix:// URL.
 * Used by gw-bridge and gw-presence.
 */
#ifndef GW_RURL_H
#define GW_RURL_H

#include <stddef.h>

/* Where a Redis server is. */
struct redis_addr {
	char	ra_host[256];	/* or a Unix socket path */
	int	ra_port;	/* 0: ra_host is a Unix socket */
	char	ra_pass[256];	/* empty: no AUTH */
	int	ra_db;
};

int	redis_parse_url(const char *, struct redis_addr *, char *, size_t);

#endif
