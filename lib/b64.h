/*
 * b64.h -- base64 (RFC 4648 section 4, padded) and base64url (section 5,
 * unpadded, as JWT uses it).
 */
#ifndef GW_B64_H
#define GW_B64_H

#include <stddef.h>
#include <sys/types.h>

/* Bytes needed to encode n bytes, without the terminating NUL. */
#define B64_ENCLEN(n)		((((n) + 2) / 3) * 4)
#define B64URL_ENCLEN(n)	(((n) * 4 + 2) / 3)

size_t	b64_encode(char *, size_t, const void *, size_t);
ssize_t	b64_decode(void *, size_t, const char *, size_t);
size_t	b64url_encode(char *, size_t, const void *, size_t);
ssize_t	b64url_decode(void *, size_t, const char *, size_t);

#endif
