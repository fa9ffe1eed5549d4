/*
 * wskey.c -- see wskey.h.
 */
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "wskey.h"

/* RFC 6455 section 1.3: appended to the client's key before hashing. */
#define WSKEY_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/*
 * Return 1 if the n bytes at key are a valid Sec-WebSocket-Key: the padded
 * base64 encoding of exactly 16 bytes, so 24 characters ending in "==".
 * Return 0 otherwise.
 */
int
wskey_valid(const char *key, size_t n)
{
	unsigned char	raw[16];

	if (n != B64_ENCLEN(sizeof(raw)))
		return 0;
	return b64_decode(raw, sizeof(raw), key, n) == (ssize_t)sizeof(raw);
}

/*
 * Compute the Sec-WebSocket-Accept value for the n-byte key: the base64
 * of SHA-1(key || WSKEY_GUID), written NUL-terminated to out.  The key is
 * hashed as received, without validation.  If libcrypto fails (it
 * allocates a context), out is set to the empty string, which no client
 * accepts.
 */
void
wskey_accept(const char *key, size_t n, char out[WSKEY_ACCEPTLEN + 1])
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	int		 ok;

	out[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, key, n) == 1 &&
	    EVP_DigestUpdate(ctx, WSKEY_GUID, strlen(WSKEY_GUID)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen != 20)
		return;
	b64_encode(out, WSKEY_ACCEPTLEN + 1, md, mdlen);
}
