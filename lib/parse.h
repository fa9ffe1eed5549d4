/*
 * parse.h -- option values shared by the gw binaries: whole numbers in a
 * range, durations in seconds, listen addresses.  Failures fill a caller's message
 * buffer (lib/ does not log); the caller logs it and exits 2.
 */
#ifndef GW_PARSE_H
#define GW_PARSE_H

#include <stddef.h>

#include <sys/socket.h>

#define PARSE_ERRLEN	128
#define PARSE_MAXCHAN	200	/* bytes of a channel name */

int	parse_num(const char *, unsigned long long, unsigned long long,
	    unsigned long long *, char [PARSE_ERRLEN]);
int	parse_secs(const char *, double, double, double *,
	    char [PARSE_ERRLEN]);
int	parse_channel(const char *, size_t);
int	parse_sockaddr(const char *, struct sockaddr_storage *, socklen_t *);

#endif
