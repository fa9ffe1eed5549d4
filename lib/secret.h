/*
 * secret.h -- the HS256 secret file that gw-listen verifies tokens with,
 * and that gwctl and gw-bench sign them with: read by the same rules by
 * all three.
 */
#ifndef GW_SECRET_H
#define GW_SECRET_H

#include <stddef.h>

#define SECRET_MIN	16	/* bytes, its final newline not counted */
#define SECRET_MAX	4096
#define SECRET_ERRLEN	256

int	secret_read(const char *, char [SECRET_MAX + 2], size_t *,
	    char [SECRET_ERRLEN]);

#endif
