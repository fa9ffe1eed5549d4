/*
 * apiauth.c -- who may use the HTTP API and read /metrics: the API keys
 * of --api-key-file ("Authorization: apikey KEY") and the networks of
 * --metrics-allow.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "http.h"
#include "listen.h"
#include "xmalloc.h"

#define API_MAXKEYS	16
#define API_MAXALLOW	16		/* networks of --metrics-allow */

struct api_net {
	int		 an_af;
	uint8_t		 an_addr[16];
	int		 an_bits;
};

static char		*api_keys[API_MAXKEYS];
static size_t		 api_keylens[API_MAXKEYS];
static size_t		 api_nkeys;
static struct api_net	 api_allow[API_MAXALLOW];
static size_t		 api_nallow;

static int	api_net_has(const struct api_net *, int, const uint8_t *);

/*
 * Read the API keys of path, one per line (blank lines and lines that
 * start with '#' ignored), at least 16 bytes each.  A line's leading and
 * trailing blanks are not part of its key: a header's value loses them
 * (RFC 9110), so such a key could never match.  Return value: 0, or -1
 * with the reason in err.
 */
int
api_load_keys(const char *path, char *err, size_t errlen)
{
	FILE	*f;
	char	 line[1024], *k;
	size_t	 n, lineno = 0;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	api_free();
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		k = line + strspn(line, " \t");
		n -= (size_t)(k - line);
		if (n == 0 || k[0] == '#')
			continue;
		if (n < 16 || api_nkeys == API_MAXKEYS) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno,
			    n < 16 ? "a key needs at least 16 bytes" :
			    "more than 16 keys");
			fclose(f);
			api_free();
			return -1;
		}
		api_keylens[api_nkeys] = n;
		api_keys[api_nkeys++] = xstrdup(k);
	}
	fclose(f);
	if (api_nkeys == 0) {
		snprintf(err, errlen, "%s: no key in it", path);
		return -1;
	}
	return 0;
}

/* Is the API on: has --api-key-file given a key? */
int
api_enabled(void)
{
	return api_nkeys != 0;
}

/* Forget the keys (at exit, or before a reload). */
void
api_free(void)
{
	size_t	i;

	for (i = 0; i < api_nkeys; i++) {
		explicit_bzero(api_keys[i], api_keylens[i]);
		free(api_keys[i]);
	}
	api_nkeys = 0;
}

/*
 * Parse --metrics-allow: comma-separated ADDR[/BITS], IPv4 or IPv6.
 * Return value: 0, or -1 with the reason in err.
 */
int
api_parse_allow(const char *list, char *err, size_t errlen)
{
	char	 buf[512], *tok, *save, *slash, *end;
	long	 bits;

	if (strlen(list) >= sizeof(buf)) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		struct api_net *an = &api_allow[api_nallow];

		if (api_nallow == API_MAXALLOW) {
			snprintf(err, errlen, "more than %d networks",
			    API_MAXALLOW);
			return -1;
		}
		if ((slash = strchr(tok, '/')) != NULL)
			*slash++ = '\0';
		if (inet_pton(AF_INET, tok, an->an_addr) == 1)
			an->an_af = AF_INET;
		else if (inet_pton(AF_INET6, tok, an->an_addr) == 1)
			an->an_af = AF_INET6;
		else {
			snprintf(err, errlen, "%s: not an address", tok);
			return -1;
		}
		bits = an->an_af == AF_INET ? 32 : 128;
		if (slash != NULL) {
			long max = bits;

			bits = strtol(slash, &end, 10);
			if (*slash == '\0' || *end != '\0' || bits < 0 ||
			    bits > max) {
				snprintf(err, errlen, "%s: bad prefix length",
				    slash);
				return -1;
			}
		}
		an->an_bits = bits;
		api_nallow++;
	}
	return 0;
}

static int
api_net_has(const struct api_net *an, int af, const uint8_t *a)
{
	int	full = an->an_bits / 8, rest = an->an_bits % 8;

	if (an->an_af != af || memcmp(an->an_addr, a, full) != 0)
		return 0;
	return rest == 0 ||
	    ((an->an_addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

/* May the peer of c read /metrics: loopback, or --metrics-allow. */
int
api_metrics_ok(struct conn *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const uint8_t		*a;
	size_t			 i;
	int			 af;

	memset(&ss, 0, sizeof(ss));
	if (getpeername(c->c_io.fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	af = ss.ss_family;
	if (af == AF_INET)
		a = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
	else if (af == AF_INET6)
		a = (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	else
		return 0;
	/* An IPv4 peer of a [::] listener: ::ffff:a.b.c.d, judged as IPv4. */
	if (af == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
		af = AF_INET;
		a += 12;
	}
	if ((af == AF_INET && a[0] == 127) ||
	    (af == AF_INET6 && IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a)))
		return 1;
	for (i = 0; i < api_nallow; i++)
		if (api_net_has(&api_allow[i], af, a))
			return 1;
	return 0;
}

/* Is the request's Authorization "apikey KEY" with a known key? */
int
api_authorized(const struct http_req *req)
{
	const struct http_hdr	*h;
	const char		*k;
	size_t			 n, i;
	int			 ok = 0;

	if ((h = http_hdr_get(req, "Authorization")) == NULL ||
	    http_hdr_count(req, "Authorization") > 1 ||
	    h->h_valuelen < 7 || strncasecmp(h->h_value, "apikey ", 7) != 0)
		return 0;
	k = h->h_value + 7;
	n = h->h_valuelen - 7;
	/* Every key is compared, in constant time for its length. */
	for (i = 0; i < api_nkeys; i++)
		if (api_keylens[i] == n &&
		    CRYPTO_memcmp(api_keys[i], k, n) == 0)
			ok = 1;
	return ok;
}
