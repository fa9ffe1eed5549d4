/*
 * http.h -- an HTTP/1.1 request-head parser (RFC 9112) for gw-listen's
 * upgrade endpoint.  It never allocates: the parsed request points into
 * the caller's buffer, which must stay put while the request is used.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#define HTTP_MAXHEAD	8192	/* a longer head is answered 431 */
#define HTTP_MAXHDRS	64	/* more header fields: 431 */

struct http_hdr {
	const char	*h_name;
	size_t		 h_namelen;
	const char	*h_value;	/* without leading/trailing OWS */
	size_t		 h_valuelen;
};

struct http_req {
	const char	*r_method;
	size_t		 r_methodlen;
	const char	*r_path;	/* request-target up to '?' */
	size_t		 r_pathlen;
	const char	*r_query;	/* after '?'; NULL if none */
	size_t		 r_querylen;
	int		 r_minor;	/* HTTP/1.<minor> */
	int		 r_nhdrs;
	struct http_hdr	 r_hdrs[HTTP_MAXHDRS];
	size_t		 r_headlen;	/* bytes up to and with the blank line */
};

size_t	 http_head_end(const char *, size_t, size_t);
int	 http_parse(const char *, size_t, struct http_req *, const char **);
const struct http_hdr *http_hdr_get(const struct http_req *, const char *);
int	 http_hdr_count(const struct http_req *, const char *);
int	 http_hdr_has_token(const struct http_req *, const char *,
	    const char *);
ssize_t	 http_query_get(const char *, size_t, const char *, char *, size_t);
size_t	 http_query_count(const char *, size_t, const char *);

#endif
