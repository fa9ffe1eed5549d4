/*
 * parse.c -- see parse.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/*
 * Parse s as a decimal whole number from min to max into *out.  Return
 * value: 0, or -1 with a one-line reason in err.
 */
int
parse_num(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out, char err[PARSE_ERRLEN])
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		snprintf(err, PARSE_ERRLEN, "bad number %s: want %llu..%llu", s,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Parse s as seconds, with a fraction if wanted, from min to max into
 * *out.  Return value: 0, or -1 with a one-line reason in err.
 */
int
parse_secs(const char *s, double min, double max, double *out,
    char err[PARSE_ERRLEN])
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    !(v >= min && v <= max)) {
		snprintf(err, PARSE_ERRLEN, "bad duration %s: want %g..%g "
		    "seconds", s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Is s (n bytes) a channel name of gw-protocol(7): 1 to PARSE_MAXCHAN
 * bytes of A-Z a-z 0-9 _ - : . @ / = #?  A NUL is not one: it would cut
 * a Redis key short, onto another channel's.  Returns 1 or 0.
 */
int
parse_channel(const char *s, size_t n)
{
	size_t	i;
	char	c;

	if (n == 0 || n > PARSE_MAXCHAN)
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (c == '\0' || strchr("_-:.@/=#", c) == NULL)
			return 0;
	}
	return 1;
}

/*
 * ADDR:PORT with a dotted IPv4 address or [IPv6] (port 0 lets the kernel
 * pick) into *ss and *len.  Return value: 0, or -1 if s is not one.
 */
int
parse_sockaddr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[64], *end;
	const char		*colon;
	unsigned long		 port;

	memset(ss, 0, sizeof(*ss));
	if ((colon = strrchr(s, ':')) == NULL || colon == s ||
	    (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535)
		return -1;
	if (host[0] == '[') {
		size_t hl = strlen(host);

		if (hl < 3 || host[hl - 1] != ']')
			return -1;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	}
	return 0;
}
