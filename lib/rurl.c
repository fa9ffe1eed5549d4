/*
 * rurl.c -- parse the URL of a Redis server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rurl.h"

/*
 * Parse redis://[:password@]host:port[/db] or unix:///path into ra.
 * Return value: 0, or -1 with a reason in err.
 */
int
redis_parse_url(const char *url, struct redis_addr *ra, char *err,
    size_t errlen)
{
	const char	*p, *at, *colon, *slash;
	char		*end;
	long		 v;

	memset(ra, 0, sizeof(*ra));
	if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		if (*p != '/' || strlen(p) >= sizeof(ra->ra_host)) {
			snprintf(err, errlen, "unix:// needs an absolute path");
			return -1;
		}
		strcpy(ra->ra_host, p);
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "want redis://[:password@]host:port[/db]"
		    " or unix:///path");
		return -1;
	}
	p = url + 8;
	if ((at = strrchr(p, '@')) != NULL) {
		const char *pw = memchr(p, ':', at - p);

		if (pw == NULL || (size_t)(at - pw - 1) >= sizeof(ra->ra_pass)) {
			snprintf(err, errlen, "bad password part");
			return -1;
		}
		memcpy(ra->ra_pass, pw + 1, at - pw - 1);
		p = at + 1;
	}
	slash = strchr(p, '/');
	colon = memrchr(p, ':', slash != NULL ? (size_t)(slash - p) : strlen(p));
	if (colon == NULL || colon == p ||
	    (size_t)(colon - p) >= sizeof(ra->ra_host)) {
		snprintf(err, errlen, "want host:port");
		return -1;
	}
	memcpy(ra->ra_host, p, colon - p);
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || v < 1 || v > 65535 ||
	    (*end != '\0' && *end != '/')) {
		snprintf(err, errlen, "bad port");
		return -1;
	}
	ra->ra_port = v;
	if (*end == '/' && end[1] != '\0') {
		p = end + 1;
		v = strtol(p, &end, 10);
		if (*end != '\0' || v < 0 || v > 1000000) {
			snprintf(err, errlen, "bad database number");
			return -1;
		}
		ra->ra_db = v;
	}
	return 0;
}
