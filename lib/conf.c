/*
 * conf.c -- see conf.h and gw.conf(5).
 *
 * A file is read whole (at most CONF_MAXFILE bytes) and parsed line by
 * line: blank lines and lines whose first non-blank character is '#'
 * are skipped, every other line is "key = value" with blanks allowed
 * around the key, the '=' and the value.  There is no quoting and no
 * comment after a value: the value is the rest of the line, trimmed, so
 * that a path may hold a '#'.  A key set twice in one file is an error:
 * one of the two lines is a mistake.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "rurl.h"
#include "xmalloc.h"

#define BLANKS	" \t"

/*
 * The keys.  The defaults of the daemons' own settings are theirs
 * (gw-listen(8), gw-bridge(8), gw-presence(8)), repeated here for
 * gw-supervise's reload message, which sends every live setting.
 */
static const struct conf_key keys[] = {
	{ "rundir", CONF_T_PATH, 1, 90, NULL, NULL, 0 },
	{ "socket_group", CONF_T_STR, 1, 64, NULL, NULL, 0 },
	{ "node", CONF_T_NODE, 1, 63, NULL, NULL, 0 },
	{ "listen", CONF_T_ADDRS, 1, 8, NULL, "127.0.0.1:8080", 0 },
	{ "workers", CONF_T_NUM, 0, 256, NULL, "0", 0 },
	{ "max_connections", CONF_T_NUM, 1, 10000000, NULL, "15000", 0 },
	{ "auth", CONF_T_ENUM, 0, 0, "jwt|none", "jwt", 0 },
	{ "secret_file", CONF_T_PATH, 1, 4096, NULL, NULL, 1 },
	{ "allow_origin", CONF_T_STR, 1, CONF_MAXVAL, NULL, NULL, 0 },
	{ "max_message", CONF_T_NUM, 126, 4 * 1024 * 1024, NULL, "65536", 1 },
	{ "max_outbound", CONF_T_NUM, 1024, 1024 * 1024 * 1024, NULL,
	    "1048576", 1 },
	{ "max_subscriptions", CONF_T_NUM, 1, 65535, NULL, "128", 1 },
	{ "ping_interval", CONF_T_SECS, 0.05, 86400, NULL, "25", 0 },
	{ "pong_timeout", CONF_T_SECS, 0.05, 86400, NULL, "10", 0 },
	{ "publish_rate", CONF_T_NUM, 1, 1000000, NULL, "50", 1 },
	{ "publish_burst", CONF_T_NUM, 1, 1000000, NULL, "100", 1 },
	{ "drain_time", CONF_T_SECS, 0.05, 3600, NULL, "10", 0 },
	{ "demo", CONF_T_BOOL, 0, 0, NULL, "off", 0 },
	{ "api_key_file", CONF_T_PATH, 1, 4096, NULL, NULL, 0 },
	{ "metrics_allow", CONF_T_STR, 1, CONF_MAXVAL, NULL, NULL, 0 },
	{ "max_conns_per_ip", CONF_T_NUM, 0, 10000000, NULL, "0", 0 },
	{ "upgrade_rate", CONF_T_NUM, 0, 10000000, NULL, NULL, 0 },
	{ "io_uring", CONF_T_BOOL, 0, 0, NULL, "on", 0 },
	{ "redis", CONF_T_REDIS, 0, 0, NULL, NULL, 0 },
	{ "history_size", CONF_T_NUM, 1, 100000, NULL, "128", 0 },
	{ "history_ttl", CONF_T_NUM, 1, 30 * 86400, NULL, "300", 0 },
	{ "node_ttl", CONF_T_SECS, 0.3, 3600, NULL, "10", 0 },
	{ "presence_grace", CONF_T_SECS, 0, 3600, NULL, "5", 0 },
	{ "typing_ttl", CONF_T_SECS, 0.05, 3600, NULL, "5", 0 },
	{ "presence_max_users", CONF_T_NUM, 1, 100000, NULL, "1000", 0 },
	{ "resume_window", CONF_T_SECS, 1, 3600, NULL, "30", 0 },
	{ "log_level", CONF_T_ENUM, 0, 0, "quiet|info|verbose|debug", "info",
	    1 },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static int	conf_word(const char *, const char *);
static int	conf_addr(const char *, size_t);
static int	conf_check_addrs(const char *, const struct conf_key *,
		    char [CONF_ERRLEN]);
static int	conf_check_num(const char *, const struct conf_key *,
		    char [CONF_ERRLEN]);
static int	conf_line(struct conf *, const char *, int, char *,
		    char [CONF_ERRLEN]);

/*
 * The table of known keys, in the order of gw.conf(5); *n is set to its
 * length.  The table is static: never freed.
 */
const struct conf_key *
conf_keys(size_t *n)
{
	*n = NKEYS;
	return keys;
}

/*
 * The index in conf_keys() of the key named by the len bytes at name,
 * or -1 if there is no such key.  Names use underscores.
 */
int
conf_find(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strlen(keys[i].k_name) == len &&
		    memcmp(keys[i].k_name, name, len) == 0)
			return (int)i;
	return -1;
}

/* Make c an empty configuration: every key unset. */
void
conf_init(struct conf *c)
{
	c->c_vals = xcalloc(NKEYS, sizeof(*c->c_vals));
	c->c_file = NULL;
}

/* Free what c holds; c may be given to conf_init() again. */
void
conf_free(struct conf *c)
{
	size_t	i;

	if (c->c_vals != NULL)
		for (i = 0; i < NKEYS; i++)
			free(c->c_vals[i].v_val);
	free(c->c_vals);
	free(c->c_file);
	c->c_vals = NULL;
	c->c_file = NULL;
}

/* 1 if word is one of the '|'-separated words, else 0. */
static int
conf_word(const char *word, const char *words)
{
	size_t		 n = strlen(word);
	const char	*p, *bar;

	for (p = words; ; p = bar + 1) {
		bar = strchr(p, '|');
		if ((bar == NULL ? strlen(p) : (size_t)(bar - p)) == n &&
		    memcmp(p, word, n) == 0)
			return 1;
		if (bar == NULL)
			return 0;
	}
}

/*
 * 1 if the value is "on" (on, yes, true, 1), 0 if it is "off" (off, no,
 * false, 0), -1 if it is neither.
 */
int
conf_bool(const char *s)
{
	if (conf_word(s, "on|yes|true|1"))
		return 1;
	if (conf_word(s, "off|no|false|0"))
		return 0;
	return -1;
}

/* 1 if the len bytes at s are ADDR:PORT (dotted IPv4 or [IPv6]). */
static int
conf_addr(const char *s, size_t len)
{
	char		 host[64], buf[16];
	const char	*colon;
	unsigned char	 a[16];
	size_t		 hl, i;

	if ((colon = memrchr(s, ':', len)) == NULL)
		return 0;
	hl = colon - s;
	if (hl == 0 || hl >= sizeof(host) || len - hl - 1 == 0 ||
	    len - hl - 1 > 5)
		return 0;
	memcpy(buf, colon + 1, len - hl - 1);
	buf[len - hl - 1] = '\0';
	for (i = 0; buf[i] != '\0'; i++)
		if (!isdigit((unsigned char)buf[i]))
			return 0;
	if (strtoul(buf, NULL, 10) > 65535)
		return 0;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return 0;
		host[hl - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, a) == 1;
	}
	return inet_pton(AF_INET, host, a) == 1;
}

static int
conf_check_addrs(const char *s, const struct conf_key *k,
    char err[CONF_ERRLEN])
{
	const char	*p, *comma;
	size_t		 n, len;

	for (p = s, n = 0; ; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma == NULL ? strlen(p) : (size_t)(comma - p);
		if (!conf_addr(p, len)) {
			snprintf(err, CONF_ERRLEN, "%s: bad address %.*s: want "
			    "ADDR:PORT (IPv4 or [IPv6]), several "
			    "comma-separated", k->k_name, (int)len, p);
			return -1;
		}
		if (++n > (size_t)k->k_max) {
			snprintf(err, CONF_ERRLEN, "%s: more than %g addresses",
			    k->k_name, k->k_max);
			return -1;
		}
		if (comma == NULL)
			return 0;
	}
}

static int
conf_check_num(const char *s, const struct conf_key *k,
    char err[CONF_ERRLEN])
{
	unsigned long long	 v;
	double			 d;
	char			*end;

	errno = 0;
	if (k->k_type == CONF_T_NUM) {
		v = strtoull(s, &end, 10);
		if (isdigit((unsigned char)s[0]) && *end == '\0' &&
		    errno == 0 && v >= k->k_min && v <= k->k_max)
			return 0;
		snprintf(err, CONF_ERRLEN, "%s: bad number %s: want %.0f..%.0f",
		    k->k_name, s, k->k_min, k->k_max);
		return -1;
	}
	d = strtod(s, &end);
	if (isdigit((unsigned char)s[0]) && *end == '\0' && errno == 0 &&
	    d >= k->k_min && d <= k->k_max)
		return 0;
	snprintf(err, CONF_ERRLEN, "%s: bad duration %s: want %g..%g seconds",
	    k->k_name, s, k->k_min, k->k_max);
	return -1;
}

/*
 * Check value s for key number i and write its normal form (booleans
 * become "on" or "off"; other values are copied) into out, of outlen
 * bytes.  Return value: 0, or -1 with the reason, which names the key,
 * in err.
 */
int
conf_check(int i, const char *s, char *out, size_t outlen,
    char err[CONF_ERRLEN])
{
	const struct conf_key	*k = &keys[i];
	struct redis_addr	 ra;
	size_t			 n = strlen(s), j;
	char			 why[128];

	if (n == 0 || n >= outlen || n > CONF_MAXVAL) {
		snprintf(err, CONF_ERRLEN, "%s: %s value", k->k_name,
		    n == 0 ? "empty" : "overlong");
		return -1;
	}
	for (j = 0; j < n; j++)
		if (iscntrl((unsigned char)s[j])) {
			snprintf(err, CONF_ERRLEN, "%s: control character "
			    "in the value", k->k_name);
			return -1;
		}
	snprintf(out, outlen, "%s", s);
	switch (k->k_type) {
	case CONF_T_STR:
		return 0;
	case CONF_T_PATH:
		if (n <= (size_t)k->k_max)
			return 0;
		snprintf(err, CONF_ERRLEN, "%s: path longer than %.0f bytes",
		    k->k_name, k->k_max);
		return -1;
	case CONF_T_NUM:
	case CONF_T_SECS:
		return conf_check_num(s, k, err);
	case CONF_T_BOOL:
		if (conf_bool(s) != -1) {
			snprintf(out, outlen, "%s", conf_bool(s) ? "on" : "off");
			return 0;
		}
		snprintf(err, CONF_ERRLEN, "%s: bad value %s: want on or off "
		    "(yes/no, true/false, 1/0)",
		    k->k_name, s);
		return -1;
	case CONF_T_ENUM:
		if (conf_word(s, k->k_words))
			return 0;
		snprintf(err, CONF_ERRLEN, "%s: bad value %s: want one of %s",
		    k->k_name, s, k->k_words);
		return -1;
	case CONF_T_ADDRS:
		return conf_check_addrs(s, k, err);
	case CONF_T_NODE:
		if (n <= (size_t)k->k_max && strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") == n)
			return 0;
		snprintf(err, CONF_ERRLEN, "%s: bad name %s: want at most %.0f "
		    "letters, digits and . _ - :", k->k_name, s, k->k_max);
		return -1;
	case CONF_T_REDIS:
		if (redis_parse_url(s, &ra, why, sizeof(why)) == 0)
			return 0;
		snprintf(err, CONF_ERRLEN, "%s: bad URL %s: %s", k->k_name, s,
		    why);
		return -1;
	}
	snprintf(err, CONF_ERRLEN, "%s: unknown type", k->k_name);
	return -1;
}

/*
 * Set key number i of c to value s, which came from src (at line, for a
 * file), after checking it.  Return value: 0, or -1 with the reason in
 * err (c is left as it was).
 */
int
conf_set(struct conf *c, int i, const char *s, enum conf_src src, int line,
    char err[CONF_ERRLEN])
{
	char	norm[CONF_MAXVAL + 1];

	if (i < 0 || (size_t)i >= NKEYS) {
		snprintf(err, CONF_ERRLEN, "no such key");
		return -1;
	}
	if (conf_check(i, s, norm, sizeof(norm), err) == -1)
		return -1;
	free(c->c_vals[i].v_val);
	c->c_vals[i].v_val = xstrdup(norm);
	c->c_vals[i].v_src = src;
	c->c_vals[i].v_line = line;
	return 0;
}

/* One line of a file, NUL-terminated and writable; see the top. */
static int
conf_line(struct conf *c, const char *name, int lineno, char *s,
    char err[CONF_ERRLEN])
{
	char	*eq, *end, why[CONF_ERRLEN];
	size_t	 klen;
	int	 i;

	s += strspn(s, BLANKS);
	end = s + strlen(s);
	while (end > s && strchr(BLANKS "\r", end[-1]) != NULL)
		*--end = '\0';
	if (*s == '\0' || *s == '#')
		return 0;
	if ((eq = strchr(s, '=')) == NULL) {
		snprintf(err, CONF_ERRLEN, "%s:%d: want key = value", name,
		    lineno);
		return -1;
	}
	for (klen = eq - s; klen > 0 && strchr(BLANKS, s[klen - 1]) != NULL;
	    klen--)
		;
	if (klen == 0) {
		snprintf(err, CONF_ERRLEN, "%s:%d: no key before the =", name,
		    lineno);
		return -1;
	}
	if ((i = conf_find(s, klen)) == -1) {
		snprintf(err, CONF_ERRLEN, "%s:%d: unknown key %.*s", name,
		    lineno, (int)(klen > 64 ? 64 : klen), s);
		return -1;
	}
	if (c->c_vals[i].v_val != NULL && c->c_vals[i].v_src == CONF_SRC_FILE) {
		snprintf(err, CONF_ERRLEN, "%s:%d: %s already set at line %d",
		    name, lineno, keys[i].k_name, c->c_vals[i].v_line);
		return -1;
	}
	eq++;
	eq += strspn(eq, BLANKS);
	if (conf_set(c, i, eq, CONF_SRC_FILE, lineno, why) == -1) {
		snprintf(err, CONF_ERRLEN, "%s:%d: %.200s", name, lineno, why);
		return -1;
	}
	return 0;
}

/*
 * Parse the len bytes at buf, the text of the file called name, into c
 * (on top of what c holds).  Return value: 0, or -1 with
 * "NAME:LINE: reason" in err; c may then hold the lines before the bad
 * one.
 */
int
conf_parse(struct conf *c, const char *name, const char *buf, size_t len,
    char err[CONF_ERRLEN])
{
	char		 line[CONF_MAXLINE + 1];
	const char	*p = buf, *nl, *end = buf + len;
	size_t		 n;
	int		 lineno;

	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, CONF_ERRLEN, "%s: a NUL byte: not a text file",
		    name);
		return -1;
	}
	for (lineno = 1; p < end; lineno++, p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		if ((n = nl - p) > CONF_MAXLINE) {
			snprintf(err, CONF_ERRLEN, "%s:%d: line longer than %d "
			    "bytes", name, lineno, CONF_MAXLINE);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (conf_line(c, name, lineno, line, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * Read the file at path into c, as conf_parse() does, and remember its
 * name in c->c_file.  Return value: 0, or -1 with the reason in err.
 */
int
conf_load(struct conf *c, const char *path, char err[CONF_ERRLEN])
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, CONF_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = xmalloc(CONF_MAXFILE + 1);
	while (len <= CONF_MAXFILE &&
	    (n = read(fd, buf + len, CONF_MAXFILE + 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, CONF_ERRLEN, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		len += n;
	}
	if (len > CONF_MAXFILE) {
		snprintf(err, CONF_ERRLEN, "%s: larger than %d bytes", path,
		    CONF_MAXFILE);
		goto fail;
	}
	close(fd);
	rv = conf_parse(c, path, buf, len, err);
	free(buf);
	free(c->c_file);
	c->c_file = xstrdup(path);
	return rv;
fail:
	close(fd);
	free(buf);
	return -1;
}

/*
 * Set c's keys from the GW_<KEY> variables of env (a NULL-terminated
 * array like environ): GW_MAX_OUTBOUND=2097152 sets max_outbound.
 * Other GW_ variables are not ours to judge and are left alone, and so
 * are the keys that over (NULL: none) sets: a flag wins, and a bad
 * variable under it is no error.  Return value: 0, or -1 with "GW_KEY:
 * reason" in err.
 */
int
conf_env(struct conf *c, char *const *env, const struct conf *over,
    char err[CONF_ERRLEN])
{
	char		 name[64], why[CONF_ERRLEN];
	const char	*eq;
	size_t		 i, n;
	int		 k;

	for (; env != NULL && *env != NULL; env++) {
		if (strncmp(*env, "GW_", 3) != 0 ||
		    (eq = strchr(*env, '=')) == NULL ||
		    (n = eq - *env - 3) == 0 || n >= sizeof(name))
			continue;
		for (i = 0; i < n; i++)
			name[i] = tolower((unsigned char)(*env)[3 + i]);
		if ((k = conf_find(name, n)) == -1 ||
		    (over != NULL && over->c_vals[k].v_val != NULL))
			continue;
		if (conf_set(c, k, eq + 1, CONF_SRC_ENV, 0, why) == -1) {
			snprintf(err, CONF_ERRLEN, "%.*s: %.180s", (int)(n + 3),
			    *env, why);
			return -1;
		}
	}
	return 0;
}

/* Copy every key that src sets into dst, over what dst had. */
void
conf_merge(struct conf *dst, const struct conf *src)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++) {
		if (src->c_vals[i].v_val == NULL)
			continue;
		free(dst->c_vals[i].v_val);
		dst->c_vals[i] = src->c_vals[i];
		dst->c_vals[i].v_val = xstrdup(src->c_vals[i].v_val);
	}
}

/* The value of key name in c as set, or NULL if unset (or no such key). */
const char *
conf_raw(const struct conf *c, const char *name)
{
	const struct conf_val	*v;

	return (v = conf_val(c, name)) == NULL ? NULL : v->v_val;
}

/* The value of key name in c, or its default (which may be NULL). */
const char *
conf_get(const struct conf *c, const char *name)
{
	const char	*s;
	int		 i;

	if ((i = conf_find(name, strlen(name))) == -1)
		return NULL;
	if ((s = c->c_vals[i].v_val) != NULL)
		return s;
	return keys[i].k_default;
}

/* The setting of key name in c, or NULL if there is no such key. */
const struct conf_val *
conf_val(const struct conf *c, const char *name)
{
	int	i;

	if ((i = conf_find(name, strlen(name))) == -1)
		return NULL;
	return &c->c_vals[i];
}
