/*
 * token.c -- gwctl token: mint an HS256 token that gw-listen --auth jwt
 * accepts, with the secret of --secret-file (or $GW_SECRET_FILE, or the
 * secret_file of the configuration of -c), read by the same rules as
 * gw-listen reads it.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"
#include "jwt.h"
#include "secret.h"

#define TOKEN_TTL	3600		/* default: an hour */
#define TOKEN_MAXTTL	(10ULL * 366 * 86400)

static const struct col token_cols[] = {
	{ "user",	"USER",		0 },
	{ "exp",	"EXPIRES",	COL_SECS },
	{ "token",	"TOKEN",	COL_WHOLE },
	{ NULL,		NULL,		0 }
};

static json_t	*split_globs(const char *);

/* "a,b*,c" as ["a","b*","c"]; NULL if an element is empty. */
static json_t *
split_globs(const char *s)
{
	json_t		*a = json_array();
	const char	*e;

	for (;;) {
		e = strchr(s, ',');
		if ((e != NULL ? (size_t)(e - s) : strlen(s)) == 0) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, e != NULL ?
		    json_stringn(s, e - s) : json_string(s));
		if (e == NULL)
			return a;
		s = e + 1;
	}
}

static const struct option token_opts[] = {
	{ "ttl",		required_argument,	NULL, 't' },
	{ "info",		required_argument,	NULL, 'i' },
	{ "channels",		required_argument,	NULL, 'c' },
	{ "secret-file",	required_argument,	NULL, 's' },
	{ NULL,			0,			NULL, 0 }
};

/*
 * gwctl token USER [--ttl SECONDS] [--info JSON] [--channels GLOB,...]
 * [--secret-file FILE]: --ttl 0 makes a token that never expires.
 */
int
cmd_token(int argc, char *argv[])
{
	struct out	*o;
	const char	*secret = getenv("GW_SECRET_FILE");
	char		 key[SECRET_MAX + 2], *tok, why[SECRET_ERRLEN];
	size_t		 keylen;
	unsigned long long ttl = TOKEN_TTL;
	json_t		*claims, *info = NULL, *chans = NULL;
	json_error_t	 jerr;
	time_t		 now = time(NULL);
	int		 ch;

	while ((ch = getopt_long(argc, argv, "", token_opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			ttl = cmd_num("--ttl", optarg, 0, TOKEN_MAXTTL);
			break;
		case 'i':
			json_decref(info);
			if ((info = json_loads(optarg, 0, &jerr)) == NULL ||
			    !json_is_object(info))
				cmd_usage("token: --info: not a JSON object");
			break;
		case 'c':
			json_decref(chans);
			if ((chans = split_globs(optarg)) == NULL)
				cmd_usage("token: --channels: an empty "
				    "pattern");
			break;
		case 's':
			secret = optarg;
			break;
		default:
			cmd_usage(NULL);
		}
	}
	if (optind != argc - 1)
		cmd_usage("token: user [options]");
	if (argv[optind][0] == '\0' || strlen(argv[optind]) > JWT_MAXSUB)
		cmd_usage("token: a user id is 1 to 128 bytes");
	if (secret == NULL || secret[0] == '\0')
		secret = gc.g_secret;
	if (secret == NULL || secret[0] == '\0')
		cmd_usage("token: no secret: give --secret-file FILE, or -c "
		    "FILE with secret_file");
	if (secret_read(secret, key, &keylen, why) == -1) {
		warnx("%s", why);
		explicit_bzero(key, sizeof(key));
		return EX_FAIL;
	}
	claims = json_pack("{s:s, s:I}", "sub", argv[optind], "iat",
	    (json_int_t)now);
	if (ttl > 0)
		json_object_set_new(claims, "exp",
		    json_integer((json_int_t)(now + ttl)));
	if (info != NULL)
		json_object_set_new(claims, "info", info);
	if (chans != NULL)
		json_object_set_new(claims, "channels", chans);
	tok = jwt_sign(claims, key, keylen);
	explicit_bzero(key, sizeof(key));
	if (tok == NULL)
		err(EX_FAIL, "token");
	o = out_new(token_cols);
	out_row(o, json_pack("{s:s, s:O?, s:s}", "user", argv[optind],
	    "exp", json_object_get(claims, "exp"), "token", tok));
	out_end(o);
	free(tok);
	json_decref(claims);
	return 0;
}
