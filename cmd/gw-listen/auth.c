/*
 * auth.c -- who a client is, decided before the upgrade: an HS256 JWT
 * (auth = jwt) or a user id in the query (auth = none, development only).
 */
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "jwt.h"
#include "listen.h"
#include "log.h"
#include "secret.h"
#include "xmalloc.h"

#define RANDOM_BATCH	4096	/* bytes asked of RAND_bytes() at once */

static int	user_valid(const char *, size_t);
static int	auth_jwt(const struct listen_conf *, const char *, size_t,
		    struct ident **, char *, size_t);

/*
 * Fill p with n random bytes (n <= RANDOM_BATCH) from OpenSSL's generator,
 * asked for RANDOM_BATCH bytes at a time: a RAND_bytes() call costs some
 * 14 000 instructions however few bytes it gives (and ~250 per byte), and
 * connection ids, session ids and anonymous user ids would take three per
 * connection.  Bytes handed out are wiped from the batch, so that what is
 * left in memory never tells an id already given.  Exits if the generator
 * fails.
 */
void
auth_random(void *p, size_t n)
{
	static unsigned char	 batch[RANDOM_BATCH];
	static size_t		 left;
	unsigned char		*from;

	if (n > sizeof(batch))
		fatalx("auth_random: %zu bytes", n);
	if (left < n) {
		if (RAND_bytes(batch, sizeof(batch)) != 1)
			fatalx("RAND_bytes failed");
		left = sizeof(batch);
	}
	from = batch + sizeof(batch) - left;
	memcpy(p, from, n);
	explicit_bzero(from, n);
	left -= n;
}

/* User ids given in the query: the characters of a channel name, no more. */
static int
user_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > LISTEN_MAXUSER)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("_-.@:", ch) != NULL) ||
		    ch == '\0')
			return 0;
	}
	return 1;
}

/*
 * Decide who the client of req is.  On success store a new identity in
 * *idp (the caller owns it; ident_free()) and return 0.  Otherwise return
 * the HTTP status to answer (400 or 401) and a one-line reason in why.
 */
int
auth_check(const struct listen_conf *conf, const struct http_req *req,
    struct ident **idp, char *why, size_t whylen)
{
	static const char	 digits[] = "0123456789abcdef";
	const struct http_hdr	*h;
	char			 tok[JWT_MAXLEN + 1], user[LISTEN_MAXUSER + 1];
	unsigned char		 rnd[6];
	ssize_t			 n;
	size_t			 i;

	*idp = NULL;
	/* Given twice, which one?  The first would win silently. */
	if (http_query_count(req->r_query, req->r_querylen,
	    conf->lc_authnone ? "user" : "token") > 1) {
		snprintf(why, whylen, "%s given twice",
		    conf->lc_authnone ? "user" : "token");
		return conf->lc_authnone ? 400 : 401;
	}
	if (conf->lc_authnone) {
		n = -1;
		if (req->r_query != NULL)
			n = http_query_get(req->r_query, req->r_querylen,
			    "user", user, sizeof(user));
		if (n == -1) {
			/* anon- and 12 hex digits (snprintf: 2 500 Ir). */
			auth_random(rnd, sizeof(rnd));
			memcpy(user, "anon-", 5);
			for (i = 0; i < sizeof(rnd); i++) {
				user[5 + 2 * i] = digits[rnd[i] >> 4];
				user[6 + 2 * i] = digits[rnd[i] & 0xf];
			}
			n = 5 + 2 * sizeof(rnd);
			user[n] = '\0';
		} else if (n < 0 || !user_valid(user, n)) {
			snprintf(why, whylen, "invalid user id");
			return 400;
		}
		*idp = ident_new(user, (size_t)n);
		return 0;
	}

	n = -1;
	if (req->r_query != NULL)
		n = http_query_get(req->r_query, req->r_querylen, "token", tok,
		    sizeof(tok));
	if (n == -2) {
		snprintf(why, whylen, "invalid token: token too long or "
		    "badly encoded");
		return 401;
	}
	if (n == -1 && (h = http_hdr_get(req, "Authorization")) != NULL) {
		/* Which one?  The first would win silently. */
		if (http_hdr_count(req, "Authorization") > 1) {
			snprintf(why, whylen, "invalid token: Authorization "
			    "given twice");
			return 401;
		}
		if (h->h_valuelen < 7 || strncasecmp(h->h_value, "Bearer ", 7)) {
			snprintf(why, whylen, "invalid token: Authorization "
			    "is not Bearer");
			return 401;
		}
		n = h->h_valuelen - 7;
		if (n > JWT_MAXLEN) {
			snprintf(why, whylen, "invalid token: token too long");
			return 401;
		}
		memcpy(tok, h->h_value + 7, n);
		tok[n] = '\0';
	}
	if (n <= 0) {
		snprintf(why, whylen, "missing token");
		return 401;
	}
	return auth_jwt(conf, tok, n, idp, why, whylen);
}

static int
auth_jwt(const struct listen_conf *conf, const char *tok, size_t len,
    struct ident **idp, char *why, size_t whylen)
{
	struct ident	*id;
	json_t		*claims, *v, *g;
	char		 err[JWT_ERRLEN];
	size_t		 i, ng;

	if (jwt_verify(tok, len, conf->lc_secret, conf->lc_secretlen,
	    (int64_t)time(NULL), &claims, err) == -1) {
		snprintf(why, whylen, "invalid token: %s", err);
		return 401;
	}
	v = json_object_get(claims, "sub");
	id = ident_new(json_string_value(v), json_string_length(v));
	if ((v = json_object_get(claims, "exp")) != NULL)
		id->id_exp = (int64_t)json_number_value(v);
	if ((v = json_object_get(claims, "info")) != NULL)
		id->id_info = json_dumps(v, JSON_COMPACT);
	if ((v = json_object_get(claims, "channels")) != NULL) {
		ng = json_array_size(v);
		id->id_globs = xcalloc(ng + 1, sizeof(char *));
		json_array_foreach(v, i, g)
			id->id_globs[i] = xstrdup(json_string_value(g));
	}
	json_decref(claims);
	*idp = id;
	return 0;
}

/* A new identity of user (n bytes), with no claims yet. */
struct ident *
ident_new(const char *user, size_t n)
{
	struct ident	*id;

	id = xcalloc(1, offsetof(struct ident, id_user) + n + 1);
	memcpy(id->id_user, user, n);
	return id;
}

/* Free an identity and everything it holds; NULL is fine. */
void
ident_free(struct ident *id)
{
	char	**g;

	if (id == NULL)
		return;
	free(id->id_info);
	if (id->id_globs != NULL) {
		for (g = id->id_globs; *g != NULL; g++)
			free(*g);
		free(id->id_globs);
	}
	free(id);
}

/*
 * May this identity subscribe to the (valid) channel name ch?  user:ID is
 * for user ID, private: channels and other users' channels need a matching
 * glob in the channels claim, the rest is public.  Return value: 1 if it may, 0 if not.
 */
int
ident_may_subscribe(const struct ident *id, const char *ch)
{
	char	**g;

	if (strncmp(ch, "user:", 5) == 0) {
		if (strcmp(ch + 5, id->id_user) == 0)
			return 1;
	} else if (strncmp(ch, "private:", 8) != 0)
		return 1;
	if (id->id_globs == NULL)
		return 0;
	for (g = id->id_globs; *g != NULL; g++)
		if (fnmatch(*g, ch, 0) == 0)
			return 1;
	return 0;
}

/*
 * Read the HS256 secret of path into conf (replacing the one there).
 * Return value: 0, or -1 after logging why.
 */
int
auth_read_secret(const char *path, struct listen_conf *conf)
{
	char	 buf[SECRET_MAX + 2], err[SECRET_ERRLEN];
	size_t	 len;

	if (secret_read(path, buf, &len, err) == -1) {
		if (strstr(err, "shorter than") != NULL)
			log_errx("%s; make a new one, in a file of its own, "
			    "with: head -c 32 /dev/urandom | base64 > secret "
			    "(and point --secret-file at it)", err);
		else
			log_errx("%s", err);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	if (conf->lc_secret != NULL) {
		explicit_bzero(conf->lc_secret, conf->lc_secretlen);
		free(conf->lc_secret);
	}
	conf->lc_secret = xmalloc(len);
	memcpy(conf->lc_secret, buf, len);
	conf->lc_secretlen = len;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}
