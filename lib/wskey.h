/*
 * wskey.h -- the RFC 6455 opening handshake key: Sec-WebSocket-Key
 * validation and Sec-WebSocket-Accept computation (SHA-1 from libcrypto).
 */
#ifndef GW_WSKEY_H
#define GW_WSKEY_H

#include <stddef.h>

#define WSKEY_ACCEPTLEN	28	/* base64 of a 20-byte SHA-1 */

int	wskey_valid(const char *, size_t);
void	wskey_accept(const char *, size_t, char [WSKEY_ACCEPTLEN + 1]);

#endif
