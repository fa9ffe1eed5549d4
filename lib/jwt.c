/*
 * jwt.c -- see jwt.h.
 *
 * Only HS256 is spoken, and jwt_verify() checks in an order that never
 * lets unauthenticated bytes matter: the size first, then the shape, then
 * the header (whose only job is to say "HS256"), then the HMAC in constant
 * time, and only then the payload and its claims.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"

#define JWT_SIGLEN	32		/* HMAC-SHA256 */
#define JWT_MAXPART	(JWT_MAXLEN / 4 * 3 + 3)	/* decoded, at most */
#define JWT_MAXCHAN	200		/* bytes of one channels entry */
#define JWT_HEADER	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static int
jwt_fail(char *err, const char *why)
{
	if (err != NULL)
		snprintf(err, JWT_ERRLEN, "%s", why);
	return -1;
}

/*
 * HMAC-SHA256 of the n bytes at p under key into md.  Returns 0, or -1 if
 * libcrypto fails.
 */
static int
jwt_hmac(const void *key, size_t keylen, const void *p, size_t n,
    unsigned char md[JWT_SIGLEN])
{
	unsigned int	mdlen = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, p, n, md, &mdlen) == NULL ||
	    mdlen != JWT_SIGLEN)
		return -1;
	return 0;
}

/*
 * Check the decoded header: a JSON object with "alg" exactly "HS256", an
 * optional "typ" of "JWT" in any case, and no "crit".  Returns 0 or -1
 * with err filled.
 */
static int
jwt_check_header(const unsigned char *p, size_t n, char *err)
{
	json_t		*h, *v;
	json_error_t	 jerr;
	int		 rc = -1;

	h = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (h == NULL || !json_is_object(h)) {
		jwt_fail(err, "bad header");
		goto out;
	}
	v = json_object_get(h, "alg");
	if (!json_is_string(v) || json_string_length(v) != 5 ||
	    memcmp(json_string_value(v), "HS256", 5) != 0) {
		jwt_fail(err, "alg must be HS256");
		goto out;
	}
	if ((v = json_object_get(h, "typ")) != NULL &&
	    (!json_is_string(v) || json_string_length(v) != 3 ||
	    strncasecmp(json_string_value(v), "JWT", 3) != 0)) {
		jwt_fail(err, "typ must be JWT");
		goto out;
	}
	if (json_object_get(h, "crit") != NULL) {
		jwt_fail(err, "crit not supported");
		goto out;
	}
	rc = 0;
 out:
	json_decref(h);
	return rc;
}

/* Whether v is a string of lo..hi bytes; with noctl, none < 0x20 or 0x7f. */
static int
jwt_is_str(const json_t *v, size_t lo, size_t hi, int noctl)
{
	const unsigned char	*s;
	size_t			 i, n;

	if (!json_is_string(v))
		return 0;
	n = json_string_length(v);
	if (n < lo || n > hi)
		return 0;
	s = (const unsigned char *)json_string_value(v);
	for (i = 0; noctl && i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Compare now with the numeric claim v: returns the sign of now - v, as
 * -1, 0 or 1.  v is a JSON integer or real.
 */
static int
jwt_cmp_time(int64_t now, const json_t *v)
{
	json_int_t	i;
	double		d;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		return now < i ? -1 : now > i;
	}
	d = json_real_value(v);
	return (double)now < d ? -1 : (double)now > d;
}

/*
 * Check the registered and gw claims of the payload object c at time now.
 * Returns 0 or -1 with err filled.
 */
static int
jwt_check_claims(const json_t *c, int64_t now, char *err)
{
	const json_t	*v, *e;
	size_t		 i;

	if ((v = json_object_get(c, "sub")) == NULL)
		return jwt_fail(err, "missing sub");
	if (json_is_string(v) && json_string_length(v) > JWT_MAXSUB)
		return jwt_fail(err, "sub too long");
	if (!jwt_is_str(v, 1, JWT_MAXSUB, 1))
		return jwt_fail(err, "bad sub claim");
	if ((v = json_object_get(c, "exp")) != NULL) {
		if (!json_is_number(v))
			return jwt_fail(err, "bad exp claim");
		if (jwt_cmp_time(now, v) >= 0)
			return jwt_fail(err, "expired");
	}
	if ((v = json_object_get(c, "nbf")) != NULL) {
		if (!json_is_number(v))
			return jwt_fail(err, "bad nbf claim");
		if (jwt_cmp_time(now, v) < 0)
			return jwt_fail(err, "not yet valid");
	}
	if ((v = json_object_get(c, "info")) != NULL && !json_is_object(v))
		return jwt_fail(err, "bad info claim");
	if ((v = json_object_get(c, "channels")) != NULL) {
		if (!json_is_array(v))
			return jwt_fail(err, "bad channels claim");
		json_array_foreach(v, i, e)
			if (!jwt_is_str(e, 1, JWT_MAXCHAN, 0))
				return jwt_fail(err, "bad channels claim");
	}
	return 0;
}

/*
 * Verify the HS256 token of len bytes at tok with the keylen-byte key at
 * time now (seconds since the epoch).  On success, return 0 and set
 * *claims to the payload object, a new reference the caller must
 * json_decref().  Otherwise return -1, set *claims to NULL and write a
 * short lowercase reason to err.  The rules: at most JWT_MAXLEN bytes;
 * three non-empty unpadded base64url parts; a header with "alg": "HS256",
 * no "crit" and "typ", if any, "JWT"; a good signature; a payload object
 * without duplicate keys, with a "sub" of 1..JWT_MAXSUB bytes and no
 * control characters, "exp" and "nbf" numbers with nbf <= now < exp if
 * present, "info" an object and "channels" an array of non-empty strings
 * of at most 200 bytes.  An empty key is refused ("bad key").
 */
int
jwt_verify(const char *tok, size_t len, const void *key, size_t keylen,
    int64_t now, json_t **claims, char err[JWT_ERRLEN])
{
	unsigned char	 hbuf[JWT_MAXPART], pbuf[JWT_MAXPART];
	unsigned char	 sig[JWT_SIGLEN], md[JWT_SIGLEN];
	const char	*dot1, *dot2, *pay, *sp;
	size_t		 hlen, plen, slen;
	ssize_t		 hn, pn;
	json_t		*c;
	json_error_t	 jerr;

	*claims = NULL;
	if (err != NULL)
		err[0] = '\0';
	if (len > JWT_MAXLEN)
		return jwt_fail(err, "token too long");
	if (keylen == 0 || keylen > INT_MAX)
		return jwt_fail(err, "bad key");
	if (tok == NULL || len == 0 || (dot1 = memchr(tok, '.', len)) == NULL)
		return jwt_fail(err, "malformed token");
	hlen = (size_t)(dot1 - tok);
	pay = dot1 + 1;
	if ((dot2 = memchr(pay, '.', len - hlen - 1)) == NULL)
		return jwt_fail(err, "malformed token");
	plen = (size_t)(dot2 - pay);
	sp = dot2 + 1;
	slen = len - hlen - plen - 2;
	/* An empty signature is left for the HMAC check to refuse. */
	if (memchr(sp, '.', slen) != NULL || hlen == 0 || plen == 0)
		return jwt_fail(err, "malformed token");

	/* The header first, so that "alg" decides before anything else. */
	if ((hn = b64url_decode(hbuf, sizeof(hbuf), tok, hlen)) == -1)
		return jwt_fail(err, "malformed token");
	if (jwt_check_header(hbuf, (size_t)hn, err) == -1)
		return -1;

	/* The signature covers the base64url text as received. */
	if (b64url_decode(sig, sizeof(sig), sp, slen) != JWT_SIGLEN)
		return jwt_fail(err, "bad signature");
	if (jwt_hmac(key, keylen, tok, hlen + 1 + plen, md) == -1)
		return jwt_fail(err, "hmac failed");
	if (CRYPTO_memcmp(md, sig, JWT_SIGLEN) != 0)
		return jwt_fail(err, "bad signature");

	if ((pn = b64url_decode(pbuf, sizeof(pbuf), pay, plen)) == -1)
		return jwt_fail(err, "malformed token");
	c = json_loadb((const char *)pbuf, (size_t)pn, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (c == NULL || !json_is_object(c)) {
		json_decref(c);
		return jwt_fail(err, "bad payload");
	}
	if (jwt_check_claims(c, now, err) == -1) {
		json_decref(c);
		return -1;
	}
	*claims = c;
	return 0;
}

/*
 * Mint an HS256 token for the object claims (compact JSON) with the
 * keylen-byte key.  Returns a NUL-terminated string the caller frees with
 * free(), or NULL with errno set if claims is not an object, the key is
 * empty or memory runs out.  The claims are not checked against the rules
 * of jwt_verify(), so that tests can mint bad tokens.
 */
char *
jwt_sign(json_t *claims, const void *key, size_t keylen)
{
	unsigned char	 md[JWT_SIGLEN];
	char		*pay = NULL, *tok = NULL;
	size_t		 hlen, plen, need, o;

	if (!json_is_object(claims) || keylen == 0 || keylen > INT_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((pay = json_dumps(claims, JSON_COMPACT)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	hlen = strlen(JWT_HEADER);
	plen = strlen(pay);
	if (plen > SIZE_MAX / 8) {	/* B64URL_ENCLEN would overflow */
		errno = ENOMEM;
		goto out;
	}
	need = B64URL_ENCLEN(hlen) + 1 + B64URL_ENCLEN(plen) + 1 +
	    B64URL_ENCLEN(JWT_SIGLEN) + 1;
	if ((tok = malloc(need)) == NULL) {
		errno = ENOMEM;
		goto out;
	}
	o = b64url_encode(tok, need, JWT_HEADER, hlen);
	tok[o++] = '.';
	o += b64url_encode(tok + o, need - o, pay, plen);
	if (jwt_hmac(key, keylen, tok, o, md) == -1) {
		free(tok);
		tok = NULL;
		errno = EINVAL;
		goto out;
	}
	tok[o++] = '.';
	b64url_encode(tok + o, need - o, md, sizeof(md));
 out:
	free(pay);
	return tok;
}
