/*
 * b64.c -- see b64.h.
 *
 * Both decoders are strict on purpose: they are used on handshake keys and
 * on JWTs, where a second spelling of the same bytes (whitespace, missing
 * or extra padding, non-zero trailing bits) has no legitimate use.
 */
#include <errno.h>
#include <stdint.h>

#include "b64.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * Encode n bytes with the alphabet abc, padding the last quantum with '='
 * if pad is set.  The caller has checked that dst holds the result and
 * its NUL.  Returns the length written, NUL excluded.
 */
static size_t
b64_enc(char *dst, const unsigned char *s, size_t n, const char *abc, int pad)
{
	size_t		i, o = 0;
	uint32_t	w;

	for (i = 0; n - i >= 3; i += 3) {
		w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[o++] = abc[w >> 18 & 0x3f];
		dst[o++] = abc[w >> 12 & 0x3f];
		dst[o++] = abc[w >> 6 & 0x3f];
		dst[o++] = abc[w & 0x3f];
	}
	if (n - i == 1) {
		w = (uint32_t)s[i] << 16;
		dst[o++] = abc[w >> 18 & 0x3f];
		dst[o++] = abc[w >> 12 & 0x3f];
		if (pad) {
			dst[o++] = '=';
			dst[o++] = '=';
		}
	} else if (n - i == 2) {
		w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		dst[o++] = abc[w >> 18 & 0x3f];
		dst[o++] = abc[w >> 12 & 0x3f];
		dst[o++] = abc[w >> 6 & 0x3f];
		if (pad)
			dst[o++] = '=';
	}
	dst[o] = '\0';
	return o;
}

/* The 6-bit value of c in the standard or url alphabet, or -1. */
static int
b64_val(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/*
 * Decode n characters that contain no padding.  The caller has checked
 * that dst holds the result.  Returns the number of bytes written, or -1
 * on a character outside the alphabet, n % 4 == 1 or non-zero bits left
 * over in the last character.
 */
static ssize_t
b64_dec(unsigned char *dst, const char *src, size_t n, int url)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i, j, k, o = 0;
	uint32_t		 w;
	int			 v;

	for (i = 0; i < n; i += 4) {
		if ((k = n - i < 4 ? n - i : 4) == 1)
			return -1;	/* 6 bits cannot make a byte */
		w = 0;
		for (j = 0; j < 4; j++) {
			v = 0;
			if (j < k && (v = b64_val(s[i + j], url)) == -1)
				return -1;
			w = w << 6 | (uint32_t)v;
		}
		dst[o++] = w >> 16 & 0xff;
		if (k == 2) {
			/* 12 bits for one byte: the last 4 must be 0. */
			if (w & 0xffff)
				return -1;
			break;
		}
		dst[o++] = w >> 8 & 0xff;
		if (k == 3) {
			/* 18 bits for two bytes: the last 2 must be 0. */
			if (w & 0xff)
				return -1;
			break;
		}
		dst[o++] = w & 0xff;
	}
	return (ssize_t)o;
}

/*
 * Bytes of output for n bytes of input at 4 characters per 3 bytes, plus
 * extra characters for a partial last group; 0 with *ok cleared if that
 * length and its NUL would not fit in a size_t.
 */
static size_t
b64_enclen(size_t n, int pad, int *ok)
{
	size_t	groups = n / 3, rest = n % 3;

	*ok = 0;
	if (groups > (SIZE_MAX - 8) / 4)
		return 0;
	*ok = 1;
	if (rest == 0)
		return groups * 4;
	return groups * 4 + (pad ? 4 : rest + 1);
}

/*
 * Encode the n bytes at src as padded base64 into dst, which holds dstlen
 * bytes, and NUL-terminate it.  Returns the length written without the
 * NUL, or 0 if dst is too small (B64_ENCLEN(n) + 1 bytes are needed);
 * encoding 0 bytes writes "" and returns 0.
 */
size_t
b64_encode(char *dst, size_t dstlen, const void *src, size_t n)
{
	size_t	need;
	int	ok;

	need = b64_enclen(n, 1, &ok);
	if (!ok || dstlen < need + 1) {
		errno = ENOBUFS;
		return 0;
	}
	return b64_enc(dst, src, n, b64_std, 1);
}

/*
 * Decode the n characters of padded base64 at src into dst, which holds
 * dstlen bytes.  n must be a multiple of 4, padding must be exactly what
 * the length calls for, and nothing but the alphabet is accepted (no
 * whitespace).  Returns the number of bytes written, or -1 with errno set
 * to EINVAL for bad input or ENOBUFS if dst is too small.
 */
ssize_t
b64_decode(void *dst, size_t dstlen, const char *src, size_t n)
{
	size_t	pad = 0, out;

	if (n % 4 != 0) {
		errno = EINVAL;
		return -1;
	}
	if (n == 0)
		return 0;
	if (src[n - 1] == '=')
		pad = src[n - 2] == '=' ? 2 : 1;
	out = n / 4 * 3 - pad;
	if (dstlen < out) {
		errno = ENOBUFS;
		return -1;
	}
	/* Any '=' left in the first n - pad characters is rejected there. */
	if (b64_dec(dst, src, n - pad, 0) != (ssize_t)out) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)out;
}

/*
 * Encode the n bytes at src as unpadded base64url into dst, which holds
 * dstlen bytes, and NUL-terminate it.  Returns the length written without
 * the NUL, or 0 if dst is too small (B64URL_ENCLEN(n) + 1 bytes are
 * needed); encoding 0 bytes writes "" and returns 0.
 */
size_t
b64url_encode(char *dst, size_t dstlen, const void *src, size_t n)
{
	size_t	need;
	int	ok;

	need = b64_enclen(n, 0, &ok);
	if (!ok || dstlen < need + 1) {
		errno = ENOBUFS;
		return 0;
	}
	return b64_enc(dst, src, n, b64_url, 0);
}

/*
 * Decode the n characters of unpadded base64url at src into dst, which
 * holds dstlen bytes.  '=' is refused, as is a length of 1 modulo 4 and
 * non-zero trailing bits.  Returns the number of bytes written, or -1 with
 * errno set to EINVAL for bad input or ENOBUFS if dst is too small.
 */
ssize_t
b64url_decode(void *dst, size_t dstlen, const char *src, size_t n)
{
	size_t	out;

	if (n % 4 == 1) {
		errno = EINVAL;
		return -1;
	}
	out = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (dstlen < out) {
		errno = ENOBUFS;
		return -1;
	}
	if (b64_dec(dst, src, n, 1) != (ssize_t)out) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)out;
}
