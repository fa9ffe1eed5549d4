/*
 * jwt_fuzz.c -- libFuzzer target for lib/jwt.c.  The input is tried as a
 * token under a fixed key (it must never verify unless it is signed with
 * that key, and what verifies must hold a good sub), and its first bytes
 * are used as a sub that is signed and must verify back to the same sub,
 * expire, and fail under another key; the same token with one character
 * changed is tried too (it may only pass when the change falls in the
 * unused bits of a part's last base64 character).  Every invariant that
 * fails calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

static const char	key[] = "fuzz-key-0123456789abcdef";
#define NOW	1700000000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 err[JWT_ERRLEN];
	json_t		*claims, *c, *sub;
	const char	*s;
	char		*tok;
	size_t		 n, i;

	/* Any bytes as a token. */
	if (jwt_verify((const char *)data, size, key, strlen(key), NOW,
	    &claims, err) == 0) {
		CHECK(claims != NULL && json_is_object(claims));
		sub = json_object_get(claims, "sub");
		CHECK(json_is_string(sub) && json_string_length(sub) >= 1 &&
		    json_string_length(sub) <= JWT_MAXSUB);
		json_decref(claims);
	} else {
		CHECK(claims == NULL && err[0] != '\0');
	}

	/* Its first bytes as a sub: signed, then verified back. */
	n = size < JWT_MAXSUB ? size : JWT_MAXSUB;
	if (n == 0 || (sub = json_stringn((const char *)data, n)) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (data[i] < 0x20 || data[i] == 0x7f)
			break;
	c = json_pack("{s:o, s:I}", "sub", sub, "exp", (json_int_t)NOW + 60);
	CHECK(c != NULL);
	tok = jwt_sign(c, key, strlen(key));
	CHECK(tok != NULL);
	if (i == n) {
		/* No control characters: it must verify, sub intact. */
		CHECK(jwt_verify(tok, strlen(tok), key, strlen(key), NOW,
		    &claims, err) == 0);
		s = json_string_value(json_object_get(claims, "sub"));
		CHECK(s != NULL && strlen(s) == n && memcmp(s, data, n) == 0);
		json_decref(claims);
		/* Expired a minute later. */
		CHECK(jwt_verify(tok, strlen(tok), key, strlen(key), NOW + 61,
		    &claims, err) == -1);
	}
	/* Another key, or one byte of the token changed: refused. */
	CHECK(jwt_verify(tok, strlen(tok), "other-key", 9, NOW, &claims,
	    err) == -1);
	i = data[0] % strlen(tok);
	tok[i] = tok[i] == 'A' ? 'B' : 'A';
	if (jwt_verify(tok, strlen(tok), key, strlen(key), NOW, &claims,
	    err) == 0) {
		/* Only a change that decodes to the same bytes may pass. */
		json_decref(claims);
	}
	free(tok);
	json_decref(c);
	return 0;
}
