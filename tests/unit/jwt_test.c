/*
 * jwt_test.c -- HS256 tokens: sign/verify round trips, tokens built by
 * hand (signed here with OpenSSL's HMAC(), independently of jwt.c), and
 * every way jwt_verify() must refuse one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"
#include "tap.h"

#define NOW	1700000000
#define KEY	"k3y-for-the-unit-tests"
#define KEYLEN	(sizeof(KEY) - 1)
#define HS256	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define S2(s)	s, sizeof(s) - 1

static char	tokbuf[16384];

/* b64url(h) "." b64url(p) into dst; returns the length. */
static size_t
parts(char *dst, size_t dstlen, const char *h, size_t hl, const char *p,
    size_t pl)
{
	size_t	o;

	o = b64url_encode(dst, dstlen, h, hl);
	dst[o++] = '.';
	o += b64url_encode(dst + o, dstlen - o, p, pl);
	return o;
}

/* Append "." and the base64url HMAC-SHA256 of dst[0..n) under key. */
static size_t
sign(char *dst, size_t dstlen, size_t n, const char *key, size_t keylen)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)dst, n,
	    md, &mdlen);
	dst[n++] = '.';
	return n + b64url_encode(dst + n, dstlen - n, md, mdlen);
}

/* A token with header h and payload p (JSON text), signed with KEY. */
static const char *
mk(const char *h, const char *p)
{
	size_t	n;

	n = parts(tokbuf, sizeof(tokbuf), h, strlen(h), p, strlen(p));
	sign(tokbuf, sizeof(tokbuf), n, KEY, KEYLEN);
	return tokbuf;
}

/* Verify the NUL-terminated t at NOW; return the error ("" on success). */
static const char *
vfy(const char *t)
{
	static char	 err[JWT_ERRLEN];
	json_t		*c = (json_t *)1;
	int		 rc;

	memset(err, 'X', sizeof(err));
	rc = jwt_verify(t, strlen(t), KEY, KEYLEN, NOW, &c, err);
	if (rc == 0) {
		if (c == NULL || !json_is_object(c) || c->refcount != 1)
			return "BUG: bad claims";
		json_decref(c);
		return "";
	}
	if (rc != -1 || c != NULL || err[0] == '\0' || err[0] == 'X' ||
	    memchr(err, '\0', sizeof(err)) == NULL)
		return "BUG: bad failure";
	return err;
}

#define REFUSE(t, want, what)	do {					\
	const char *_e = vfy(t);					\
	ok(strcmp(_e, want) == 0, "%s: \"%s\" (want \"%s\")",		\
	    what, _e, want);						\
} while (0)
#define ACCEPT(t, what)		REFUSE(t, "", what)

static void
test_roundtrip(void)
{
	json_t		*in, *out = NULL;
	char		*t, *dump, err[JWT_ERRLEN], want[1024];
	char		 hand[2048];
	unsigned char	 pb[1024];
	const char	*d1, *d2;
	ssize_t		 pn;
	size_t		 n;

	in = json_pack("{s:s, s:I, s:{s:s}, s:[s, s]}", "sub", "alice",
	    "exp", (json_int_t)NOW + 60, "info", "name", "Alice",
	    "channels", "private:a*", "room:1");
	t = jwt_sign(in, KEY, KEYLEN);
	ok(t != NULL, "jwt_sign");
	if (t == NULL)
		return;
	ok(strncmp(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0,
	    "header is {\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	ok(jwt_verify(t, strlen(t), KEY, KEYLEN, NOW, &out, err) == 0,
	    "round trip verifies (%s)", err);
	ok(out != NULL && json_equal(in, out), "claims come back unchanged");
	json_decref(out);

	/* The payload part is exactly the compact dump of the claims. */
	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	pn = b64url_decode(pb, sizeof(pb), d1 + 1, (size_t)(d2 - d1 - 1));
	dump = json_dumps(in, JSON_COMPACT);
	ok(pn > 0 && dump != NULL && (size_t)pn == strlen(dump) &&
	    memcmp(pb, dump, (size_t)pn) == 0,
	    "payload is the compact JSON of the claims");
	free(dump);

	/* And the signature is the one OpenSSL computes on its own. */
	n = (size_t)(d2 - t);
	memcpy(hand, t, n);
	sign(hand, sizeof(hand), n, KEY, KEYLEN);
	ok(strcmp(hand, t) == 0, "signature matches HMAC() in the test");

	ok(jwt_verify(t, strlen(t), "other", 5, NOW, &out, err) == -1 &&
	    out == NULL && strcmp(err, "bad signature") == 0,
	    "another key: bad signature");
	ok(jwt_verify(t, strlen(t), KEY, KEYLEN, NOW + 60, &out, err) == -1 &&
	    strcmp(err, "expired") == 0, "at exp: expired");
	ok(jwt_verify(t, strlen(t) - 1, KEY, KEYLEN, NOW, &out, err) == -1,
	    "one byte short fails");
	snprintf(want, sizeof(want), "%s", t);
	free(t);
	json_decref(in);

	in = json_pack("{s:s}", "sub", "bob");
	t = jwt_sign(in, "", 0);
	ok(t == NULL, "jwt_sign refuses an empty key");
	free(t);
	ok(jwt_verify(want, strlen(want), "", 0, NOW, &out, err) == -1 &&
	    out == NULL, "jwt_verify refuses an empty key");
	json_decref(in);
	in = json_pack("[s]", "sub");
	ok(jwt_sign(in, KEY, KEYLEN) == NULL, "jwt_sign refuses an array");
	json_decref(in);
	ok(jwt_sign(NULL, KEY, KEYLEN) == NULL, "jwt_sign refuses NULL");
}

static void
test_known(void)
{
	/* The example token of jwt.io, checked with Python's hmac as well. */
	static const char	tok[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0Ijox"
	    "NTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
	static const char	sec[] = "your-256-bit-secret";
	json_t			*c = NULL;
	char			 err[JWT_ERRLEN];

	ok(jwt_verify(tok, strlen(tok), sec, strlen(sec), NOW, &c, err) == 0 &&
	    json_is_string(json_object_get(c, "sub")) &&
	    strcmp(json_string_value(json_object_get(c, "sub")),
	    "1234567890") == 0, "jwt.io example verifies (%s)", err);
	json_decref(c);
	ok(jwt_verify(tok, strlen(tok), KEY, KEYLEN, NOW, &c, err) == -1 &&
	    strcmp(err, "bad signature") == 0,
	    "jwt.io example with another key: bad signature");

	ACCEPT(mk("{\"alg\":\"HS256\"}", "{\"sub\":\"bob\"}"), "no typ");
	ACCEPT(mk("{\"typ\":\"jwt\",\"alg\":\"HS256\"}", "{\"sub\":\"b\"}"),
	    "typ in lowercase");
	ACCEPT(mk("{\"alg\":\"HS256\",\"kid\":\"1\"}", "{\"sub\":\"b\"}"),
	    "unknown header member");
	ACCEPT(mk(HS256, " { \"sub\" : \"bob\" } "), "payload with spaces");
	ACCEPT(mk(HS256, "{\"sub\":\"b\",\"iat\":1,\"x\":[1,{}]}"),
	    "unknown claims are fine");
}

static void
test_header(void)
{
	static const char	*pay = "{\"sub\":\"bob\"}";
	char			 t[512];
	size_t			 n;

	REFUSE(mk("{\"alg\":\"none\"}", pay), "alg must be HS256",
	    "alg none, signed");
	n = parts(t, sizeof(t), S2("{\"alg\":\"none\",\"typ\":\"JWT\"}"),
	    pay, strlen(pay));
	t[n++] = '.';
	t[n] = '\0';
	REFUSE(t, "alg must be HS256", "alg none, empty signature");
	REFUSE(mk("{\"alg\":\"HS384\"}", pay), "alg must be HS256", "HS384");
	REFUSE(mk("{\"alg\":\"RS256\"}", pay), "alg must be HS256", "RS256");
	REFUSE(mk("{\"alg\":\"hs256\"}", pay), "alg must be HS256", "hs256");
	REFUSE(mk("{\"alg\":\"HS256 \"}", pay), "alg must be HS256",
	    "HS256 with a space");
	REFUSE(mk("{\"typ\":\"JWT\"}", pay), "alg must be HS256", "no alg");
	REFUSE(mk("{\"alg\":256}", pay), "alg must be HS256", "alg a number");
	REFUSE(mk("{\"alg\":null}", pay), "alg must be HS256", "alg null");
	REFUSE(mk("{\"alg\":[\"HS256\"]}", pay), "alg must be HS256",
	    "alg an array");
	REFUSE(mk("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", pay),
	    "crit not supported", "crit");
	REFUSE(mk("{\"alg\":\"HS256\",\"crit\":[]}", pay),
	    "crit not supported", "empty crit");
	REFUSE(mk("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", pay),
	    "typ must be JWT", "typ JWS");
	REFUSE(mk("{\"alg\":\"HS256\",\"typ\":1}", pay), "typ must be JWT",
	    "typ a number");
	REFUSE(mk("{\"alg\":\"HS256\",\"typ\":\"JWTX\"}", pay),
	    "typ must be JWT", "typ JWTX");
	REFUSE(mk("{\"alg\":\"HS256\",\"alg\":\"none\"}", pay), "bad header",
	    "duplicate alg");
	REFUSE(mk("[\"HS256\"]", pay), "bad header", "header an array");
	REFUSE(mk("{\"alg\":\"HS256\"", pay), "bad header",
	    "header cut short");
	REFUSE(mk("{\"alg\":\"HS256\"}x", pay), "bad header",
	    "header with trailing bytes");
	REFUSE(mk("", pay), "malformed token", "empty header");
}

static void
test_signature(void)
{
	char	t[512], *p, c;
	size_t	n, i;
	int	bad;

	snprintf(t, sizeof(t), "%s", mk(HS256, "{\"sub\":\"bob\"}"));
	ACCEPT(t, "the base token");
	p = strrchr(t, '.') + 10;
	*p = *p == 'A' ? 'B' : 'A';
	REFUSE(t, "bad signature", "one signature character flipped");

	/* Every character of the signature matters, the last ones too. */
	snprintf(t, sizeof(t), "%s", mk(HS256, "{\"sub\":\"bob\"}"));
	for (i = 0, bad = 0; i < 43; i++) {
		p = strrchr(t, '.') + 1 + i;
		c = *p;
		*p = c == 'A' ? 'B' : 'A';
		if (strcmp(vfy(t), "bad signature") != 0)
			bad++;
		*p = c;
	}
	ok(bad == 0 && strcmp(vfy(t), "") == 0,
	    "each of the 43 signature characters flipped: %d accepted", bad);

	snprintf(t, sizeof(t), "%s", mk(HS256, "{\"sub\":\"bob\"}"));
	p = strchr(t, '.') + 3;
	*p = *p == 'A' ? 'B' : 'A';
	REFUSE(t, "bad signature", "one payload character flipped");

	snprintf(t, sizeof(t), "%s", mk(HS256, "{\"sub\":\"bob\"}"));
	t[1] = t[1] == 'A' ? 'B' : 'A';
	ok(strcmp(vfy(t), "") != 0, "one header character flipped: %s",
	    vfy(t));

	snprintf(t, sizeof(t), "%s", mk(HS256, "{\"sub\":\"bob\"}"));
	t[strlen(t) - 1] = '\0';
	REFUSE(t, "bad signature", "signature one character short");
	snprintf(t, sizeof(t), "%sA", mk(HS256, "{\"sub\":\"bob\"}"));
	REFUSE(t, "bad signature", "signature one character long");
	snprintf(t, sizeof(t), "%s=", mk(HS256, "{\"sub\":\"bob\"}"));
	REFUSE(t, "bad signature", "padded signature");
	*strrchr(t, '.') = '\0';
	strcat(t, ".");
	REFUSE(t, "bad signature", "empty signature");

	/* Signed with another key. */
	n = parts(t, sizeof(t), S2(HS256), S2("{\"sub\":\"bob\"}"));
	sign(t, sizeof(t), n, "other", 5);
	REFUSE(t, "bad signature", "signed with another key");
	/* Signed with a key that extends ours. */
	sign(t, sizeof(t), n, KEY "x", KEYLEN + 1);
	REFUSE(t, "bad signature", "signed with a longer key");
	sign(t, sizeof(t), n, KEY, KEYLEN - 1);
	REFUSE(t, "bad signature", "signed with a shorter key");
}

static void
test_claims(void)
{
	char	pay[512], sub[256];

	REFUSE(mk(HS256, "{\"name\":\"bob\"}"), "missing sub", "no sub");
	REFUSE(mk(HS256, "{}"), "missing sub", "empty payload object");
	REFUSE(mk(HS256, "{\"sub\":\"\"}"), "bad sub claim", "empty sub");
	REFUSE(mk(HS256, "{\"sub\":42}"), "bad sub claim", "sub a number");
	REFUSE(mk(HS256, "{\"sub\":null}"), "bad sub claim", "sub null");
	REFUSE(mk(HS256, "{\"sub\":\"a\\nb\"}"), "bad sub claim",
	    "sub with a newline");
	REFUSE(mk(HS256, "{\"sub\":\"a\\u007fb\"}"), "bad sub claim",
	    "sub with DEL");
	REFUSE(mk(HS256, "{\"sub\":\"\\u0001\"}"), "bad sub claim",
	    "sub with ^A");
	REFUSE(mk(HS256, "{\"sub\":\"a\\u0000b\"}"), "bad payload",
	    "sub with NUL");
	ACCEPT(mk(HS256, "{\"sub\":\"h\\u00e9l\\u00e8ne\"}"), "UTF-8 sub");
	memset(sub, 'u', JWT_MAXSUB);
	sub[JWT_MAXSUB] = '\0';
	snprintf(pay, sizeof(pay), "{\"sub\":\"%s\"}", sub);
	ACCEPT(mk(HS256, pay), "sub of JWT_MAXSUB bytes");
	snprintf(pay, sizeof(pay), "{\"sub\":\"%su\"}", sub);
	REFUSE(mk(HS256, pay), "sub too long", "sub of JWT_MAXSUB + 1 bytes");

	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"exp\":%d}", NOW + 1);
	ACCEPT(mk(HS256, pay), "exp a second ahead");
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"exp\":%d}", NOW);
	REFUSE(mk(HS256, pay), "expired", "exp == now");
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"exp\":%d}", NOW - 3600);
	REFUSE(mk(HS256, pay), "expired", "exp an hour ago");
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"exp\":%d.5}", NOW);
	ACCEPT(mk(HS256, pay), "exp real, half a second ahead");
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"exp\":%d.5}", NOW - 1);
	REFUSE(mk(HS256, pay), "expired", "exp real, half a second ago");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"exp\":\"9999999999\"}"),
	    "bad exp claim", "exp a string");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"exp\":null}"), "bad exp claim",
	    "exp null");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"exp\":true}"), "bad exp claim",
	    "exp true");

	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"nbf\":%d}", NOW + 1);
	REFUSE(mk(HS256, pay), "not yet valid", "nbf a second ahead");
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"nbf\":%d}", NOW);
	ACCEPT(mk(HS256, pay), "nbf == now");
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"nbf\":%d.5}", NOW);
	REFUSE(mk(HS256, pay), "not yet valid", "nbf real, just ahead");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"nbf\":\"0\"}"), "bad nbf claim",
	    "nbf a string");

	ACCEPT(mk(HS256, "{\"sub\":\"b\",\"info\":{}}"), "info {}");
	ACCEPT(mk(HS256, "{\"sub\":\"b\",\"info\":{\"a\":[1]}}"),
	    "info an object");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"info\":\"x\"}"), "bad info claim",
	    "info a string");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"info\":[]}"), "bad info claim",
	    "info an array");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"info\":null}"), "bad info claim",
	    "info null");

	ACCEPT(mk(HS256, "{\"sub\":\"b\",\"channels\":[]}"), "channels []");
	ACCEPT(mk(HS256, "{\"sub\":\"b\",\"channels\":[\"a\",\"b:*\"]}"),
	    "channels of strings");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"channels\":\"a\"}"),
	    "bad channels claim", "channels a string");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"channels\":{}}"),
	    "bad channels claim", "channels an object");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"channels\":[\"a\",1]}"),
	    "bad channels claim", "channels with a number");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"channels\":[\"a\",[\"b\"]]}"),
	    "bad channels claim", "channels with an array");
	REFUSE(mk(HS256, "{\"sub\":\"b\",\"channels\":[\"\"]}"),
	    "bad channels claim", "channels with an empty string");
	memset(sub, 'c', 200);
	sub[200] = '\0';
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"channels\":[\"%s\"]}",
	    sub);
	ACCEPT(mk(HS256, pay), "a channel of 200 bytes");
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"channels\":[\"%sc\"]}",
	    sub);
	REFUSE(mk(HS256, pay), "bad channels claim", "a channel of 201 bytes");

	REFUSE(mk(HS256, "{\"sub\":\"a\",\"sub\":\"b\"}"), "bad payload",
	    "duplicate sub");
	REFUSE(mk(HS256, "{\"sub\":\"a\",\"x\":1,\"x\":1}"), "bad payload",
	    "duplicate other key");
	REFUSE(mk(HS256, "[\"sub\"]"), "bad payload", "payload an array");
	REFUSE(mk(HS256, "\"sub\""), "bad payload", "payload a string");
	REFUSE(mk(HS256, "{\"sub\":\"a\"} {}"), "bad payload",
	    "payload with trailing JSON");
	REFUSE(mk(HS256, "{\"sub\":\"a\""), "bad payload", "payload cut short");
	REFUSE(mk(HS256, "not json"), "bad payload", "payload not JSON");
}

/* A valid token of exactly len bytes (len >= 200), built by hand. */
static void
sized(char *t, size_t tsize, size_t len)
{
	static char	pay[8192];
	size_t		fixed, want, fill;

	/* header 36 + '.' + payload + '.' + signature 43 */
	want = len - 36 - 1 - 1 - 43;
	/* Unpadded base64url of p bytes is (4p + 2) / 3 characters. */
	for (fill = 0; ; fill++) {
		fixed = strlen("{\"sub\":\"b\",\"info\":{\"x\":\"\"}}") + fill;
		if ((fixed * 4 + 2) / 3 >= want)
			break;
	}
	snprintf(pay, sizeof(pay), "{\"sub\":\"b\",\"info\":{\"x\":\"%*s\"}}",
	    (int)fill, "");
	snprintf(t, tsize, "%s", mk(HS256, pay));
}

static void
test_size(void)
{
	static char	t[8192];
	json_t		*c = NULL;
	char		 err[JWT_ERRLEN];

	sized(t, sizeof(t), JWT_MAXLEN);
	ok(strlen(t) == JWT_MAXLEN, "built a %zu-byte token", strlen(t));
	ACCEPT(t, "a token of JWT_MAXLEN bytes");
	sized(t, sizeof(t), JWT_MAXLEN + 1);
	ok(strlen(t) == JWT_MAXLEN + 1, "built a %zu-byte token", strlen(t));
	REFUSE(t, "token too long", "a valid token of JWT_MAXLEN + 1 bytes");
	memset(t, '.', JWT_MAXLEN + 1);
	ok(jwt_verify(t, JWT_MAXLEN + 1, KEY, KEYLEN, NOW, &c, err) == -1 &&
	    strcmp(err, "token too long") == 0 && c == NULL,
	    "4097 dots: token too long");
	ok(jwt_verify(t, SIZE_MAX, KEY, KEYLEN, NOW, &c, err) == -1 &&
	    strcmp(err, "token too long") == 0,
	    "SIZE_MAX: token too long, nothing read");
}

static void
test_garbage(void)
{
	static const char	*junk[] = {
		"", ".", "..", "...", "garbage", "a.b", "a.b.c.d",
		"eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.e30",
		"!!!.e30.AAAA", "\xff\xfe.\x80.\x01",
	};
	char			 t[256], u[512], *p;
	json_t			*c = NULL;
	char			 err[JWT_ERRLEN];
	size_t			 i, n;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(u, sizeof(u), "junk #%zu", i);
		REFUSE(junk[i], "malformed token", u);
	}

	snprintf(t, sizeof(t), "%s", mk(HS256, "{\"sub\":\"bob\"}"));
	ACCEPT(t, "base token");
	p = strchr(t, '.');
	/* Empty header, empty payload. */
	REFUSE(p, "malformed token", "empty header part");
	n = (size_t)(p - t);
	snprintf(u, sizeof(u), "%.*s.%s", (int)n, t, strrchr(t, '.'));
	REFUSE(u, "malformed token", "empty payload part");
	/* A fourth part. */
	snprintf(u, sizeof(u), "%s.AAAA", t);
	REFUSE(u, "malformed token", "four parts");
	snprintf(u, sizeof(u), "%s.", t);
	REFUSE(u, "malformed token", "trailing dot");
	/* Whitespace and NUL inside. */
	snprintf(u, sizeof(u), " %s", t);
	REFUSE(u, "malformed token", "leading space");
	snprintf(u, sizeof(u), "%s\n", t);
	REFUSE(u, "bad signature", "trailing newline");
	n = strlen(t);
	memcpy(u, t, n);
	u[5] = '\0';
	ok(jwt_verify(u, n, KEY, KEYLEN, NOW, &c, err) == -1 &&
	    strcmp(err, "malformed token") == 0, "NUL in the header part");
	/* A 16-byte header padded with "==", and signed as such. */
	n = b64url_encode(u, sizeof(u), S2("{\"alg\":\"HS256\"} "));
	ok(n % 4 == 2, "header part needs padding");
	while (n % 4 != 0)
		u[n++] = '=';
	u[n++] = '.';
	n += b64url_encode(u + n, sizeof(u) - n, S2("{\"sub\":\"b\"}"));
	sign(u, sizeof(u), n, KEY, KEYLEN);
	REFUSE(u, "malformed token", "padded header, correctly signed");
	/* Payload padded to a multiple of 4, and signed as such. */
	n = b64url_encode(u, sizeof(u), S2(HS256));
	u[n++] = '.';
	n += b64url_encode(u + n, sizeof(u) - n, S2("{\"sub\":\"bo\"}"));
	ok(n % 4 != 0, "payload part needs padding");
	while (n % 4 != 0)
		u[n++] = '=';
	sign(u, sizeof(u), n, KEY, KEYLEN);
	REFUSE(u, "malformed token", "padded payload, correctly signed");
	/* Standard alphabet where url is due. */
	n = b64url_encode(u, sizeof(u), S2(HS256));
	u[n++] = '.';
	n += b64url_encode(u + n, sizeof(u) - n, S2("{\"sub\":\"\xfb\xff\"}"));
	u[n] = '\0';
	p = strpbrk(u, "-_");
	ok(p != NULL, "payload has a url-only character");
	if (p != NULL)
		*p = *p == '-' ? '+' : '/';
	sign(u, sizeof(u), n, KEY, KEYLEN);
	REFUSE(u, "malformed token", "standard alphabet, correctly signed");
}

int
main(void)
{
	test_roundtrip();
	test_known();
	test_header();
	test_signature();
	test_claims();
	test_size();
	test_garbage();
	return tap_done();
}
