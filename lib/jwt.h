/*
 * jwt.h -- HS256 JSON Web Tokens (RFC 7519) as gw uses them: verify at the
 * WebSocket handshake, mint for gwctl and tests.
 */
#ifndef GW_JWT_H
#define GW_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JWT_ERRLEN	128
#define JWT_MAXLEN	4096	/* longer tokens are refused unparsed */
#define JWT_MAXSUB	128	/* bytes of the sub claim */

int	 jwt_verify(const char *, size_t, const void *, size_t, int64_t,
	    json_t **, char [JWT_ERRLEN]);
char	*jwt_sign(json_t *, const void *, size_t);

#endif
