/*
 * wskey_test.c -- Sec-WebSocket-Key validation and the
 * Sec-WebSocket-Accept computation (RFC 6455 section 1.3).
 */
#include <string.h>

#include <openssl/sha.h>

#include "b64.h"
#include "tap.h"
#include "wskey.h"

#define S(s)	s, sizeof(s) - 1

static void
test_valid(void)
{
	static const char	*bad[] = {
		"",
		"dGhlIHNhbXBsZSBub25jZQ=",	/* 23 characters */
		"dGhlIHNhbXBsZSBub25jZQ===",	/* 25 */
		"dGhlIHNhbXBsZSBub25jZQ",	/* no padding */
		"dGhlIHNhbXBsZSBub25jZQA",	/* 17 bytes, 24 chars */
		"dGhlIHNhbXBsZSBub25jZR==",	/* trailing bits */
		"dGhlIHNhbXBsZSBub25j ZQ==",
		" dGhlIHNhbXBsZSBub25jZQ==",
		"dGhlIHNhbXBsZSBub25jZQ==\r",
		"dGhlIHNhbXBsZSBub25jZ===",	/* 15 bytes */
		"dGhlIHNhbXBsZSBub25jZQ-_",
		"dGhlIHNhbXBsZSBub-_jZQ==",	/* url alphabet */
		"dGhlIHNhbXBsZSBub25jZQ=A",
		"dGhlIHNhbXBsZSBub25jZQAA==",	/* 18 bytes */
	};
	size_t			 i;

	ok(wskey_valid(S("dGhlIHNhbXBsZSBub25jZQ==")) == 1,
	    "the RFC 6455 sample key is valid");
	ok(wskey_valid(S("AAAAAAAAAAAAAAAAAAAAAA==")) == 1,
	    "sixteen zero bytes are valid");
	ok(wskey_valid(S("/////////////////////w==")) == 1,
	    "sixteen 0xff bytes are valid");
	ok(wskey_valid(S("dGhlIHNhbXBsZSBub25jZQ==xx")) == 0 &&
	    wskey_valid("dGhlIHNhbXBsZSBub25jZQ==xx", 24) == 1,
	    "only n bytes are looked at");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(wskey_valid(bad[i], strlen(bad[i])) == 0,
		    "invalid key \"%s\"", bad[i]);
}

static void
test_accept(void)
{
	static const char	 guid[] =
	    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	char			 out[WSKEY_ACCEPTLEN + 1], want[64];
	char			 cat[128];
	unsigned char		 md[SHA_DIGEST_LENGTH];
	const char		*k = "x3JJHMbDL1EzLkh9GBhXDw==";

	/* The answer printed in RFC 6455 section 1.3. */
	memset(out, 'X', sizeof(out));
	wskey_accept(S("dGhlIHNhbXBsZSBub25jZQ=="), out);
	ok(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
	    "RFC 6455 sample: \"%s\"", out);
	ok(strlen(out) == WSKEY_ACCEPTLEN, "accept is %d characters",
	    WSKEY_ACCEPTLEN);

	/* A second key, checked with an independent one-shot SHA1(). */
	snprintf(cat, sizeof(cat), "%s%s", k, guid);
	SHA1((const unsigned char *)cat, strlen(cat), md);
	b64_encode(want, sizeof(want), md, sizeof(md));
	wskey_accept(k, strlen(k), out);
	ok(strcmp(out, want) == 0, "second key: \"%s\" == \"%s\"", out, want);
	ok(strcmp(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=") == 0,
	    "second key matches the known answer");

	/* Only the first n bytes are hashed. */
	wskey_accept("dGhlIHNhbXBsZSBub25jZQ==garbage", 24, out);
	ok(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
	    "bytes past n are ignored");
	wskey_accept(S("dGhlIHNhbXBsZSBub25jZQ=="), out);
	wskey_accept(S("dGhlIHNhbXBsZSBub25jZR=="), want);
	ok(strcmp(out, want) != 0, "different keys, different accepts");
}

int
main(void)
{
	test_valid();
	test_accept();
	return tap_done();
}
