/*
 * conf_test.c -- lib/conf.c: gw.conf lines, values of each kind, line
 * numbers in the errors, GW_<KEY> variables, merging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

static int
parse(struct conf *c, const char *text, char err[CONF_ERRLEN])
{
	conf_free(c);
	conf_init(c);
	err[0] = '\0';
	return conf_parse(c, "gw.conf", text, strlen(text), err);
}

/* 1 if text fails with an error that starts with want. */
static int
fails(const char *text, const char *want)
{
	struct conf	c;
	char		err[CONF_ERRLEN];
	int		rv;

	conf_init(&c);
	rv = parse(&c, text, err);
	conf_free(&c);
	if (rv != -1 || strncmp(err, want, strlen(want)) != 0) {
		printf("# got %d \"%s\", want \"%s\"\n", rv, err, want);
		return 0;
	}
	return 1;
}

static void
test_lines(void)
{
	struct conf	 c;
	char		 err[CONF_ERRLEN];
	const char	*text =
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "listen = 127.0.0.1:9000,[::1]:9000\n"
	    "  max_outbound=2097152  \r\n"
	    "secret_file = /etc/gw/secret#1\n"
	    "demo = yes\n"
	    "drain_time = 2.5";

	conf_init(&c);
	ok(parse(&c, text, err) == 0, "a file with comments, blanks, CRLF "
	    "and no final newline parses (%s)", err);
	ok(strcmp(conf_get(&c, "listen"), "127.0.0.1:9000,[::1]:9000") == 0,
	    "listen as written");
	ok(strcmp(conf_get(&c, "max_outbound"), "2097152") == 0,
	    "blanks around = and the value are trimmed");
	ok(strcmp(conf_get(&c, "secret_file"), "/etc/gw/secret#1") == 0,
	    "a # inside a value is kept");
	ok(strcmp(conf_get(&c, "demo"), "on") == 0, "yes becomes on");
	ok(conf_val(&c, "drain_time")->v_line == 8 &&
	    conf_val(&c, "drain_time")->v_src == CONF_SRC_FILE,
	    "the line number of a setting is kept");
	ok(conf_raw(&c, "workers") == NULL &&
	    strcmp(conf_get(&c, "workers"), "0") == 0,
	    "an unset key gives its default");
	ok(conf_get(&c, "redis") == NULL, "redis has no default");
	ok(conf_get(&c, "nosuchkey") == NULL, "no such key: NULL");
	conf_free(&c);
}

static void
test_errors(void)
{
	char	long_line[CONF_MAXLINE + 40];

	ok(fails("auth = none\nfoo = 1\n", "gw.conf:2: unknown key foo"),
	    "an unknown key names its line");
	ok(fails("\n\n\nmax_message = 12\n", "gw.conf:4: max_message: bad "
	    "number 12"), "a number out of range names its line");
	ok(fails("max_message = 1k\n", "gw.conf:1: max_message: bad number"),
	    "a number with a suffix is refused");
	ok(fails("max_message = -5\n", "gw.conf:1: max_message: bad number"),
	    "a negative number is refused");
	ok(fails("max_message = 99999999999999999999999\n",
	    "gw.conf:1: max_message: bad number"), "an overflow is refused");
	ok(fails("ping_interval = 0.01\n", "gw.conf:1: ping_interval: bad "
	    "duration"), "a duration out of range is refused");
	ok(fails("ping_interval = nan\n", "gw.conf:1: ping_interval: bad "
	    "duration"), "nan is refused");
	ok(fails("auth = basic\n", "gw.conf:1: auth: bad value basic: want "
	    "one of jwt|none"), "a bad word lists the good ones");
	ok(fails("demo = maybe\n", "gw.conf:1: demo: bad value maybe"),
	    "a bad boolean is refused");
	ok(fails("listen = 8080\n", "gw.conf:1: listen: bad address 8080"),
	    "an address without a host is refused");
	ok(fails("listen = 127.0.0.1:8080,localhost:1\n",
	    "gw.conf:1: listen: bad address localhost:1"),
	    "the bad one of several addresses is named");
	ok(fails("listen = 127.0.0.1:70000\n", "gw.conf:1: listen: bad "
	    "address"), "a port over 65535 is refused");
	ok(fails("listen = 127.0.0.1:80,\n", "gw.conf:1: listen: bad "
	    "address"), "an empty item is refused");
	ok(fails("node = a b\n", "gw.conf:1: node: bad name"),
	    "a node name with a blank is refused");
	ok(fails("redis = localhost:6379\n", "gw.conf:1: redis: bad URL"),
	    "a Redis address that is not a URL is refused");
	ok(fails("auth\n", "gw.conf:1: want key = value"),
	    "a line without = is refused");
	ok(fails("= x\n", "gw.conf:1: no key"), "a line without a key");
	ok(fails("workers =\n", "gw.conf:1: workers: empty value"),
	    "an empty value is refused");
	ok(fails("workers = 1\nworkers = 2\n", "gw.conf:2: workers already "
	    "set at line 1"), "a key set twice names both lines");
	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	ok(fails(long_line, "gw.conf:1: line longer than"),
	    "an overlong line is refused");
	ok(fails("rundir = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "gw.conf:1: rundir: path longer than 90"),
	    "a run directory too long for a socket is refused");
}

static void
test_nul(void)
{
	struct conf	c;
	char		err[CONF_ERRLEN];
	const char	text[] = "node = a\0b\n";

	conf_init(&c);
	ok(conf_parse(&c, "f", text, sizeof(text) - 1, err) == -1 &&
	    strstr(err, "NUL") != NULL, "a NUL byte is refused (%s)", err);
	conf_free(&c);
}

static void
test_env_merge(void)
{
	struct conf	 file, env, flags;
	char		 err[CONF_ERRLEN];
	char		*good[] = { "PATH=/bin", "GW_MAX_OUTBOUND=4096",
			    "GW_TMP=/tmp/x", "GW_LISTEN_BIN=/bin/true",
			    "GW_AUTH=none", "GW_=1", NULL };
	char		*bad[] = { "GW_WORKERS=lots", NULL };

	conf_init(&file);
	conf_init(&env);
	conf_init(&flags);
	ok(parse(&file, "max_outbound = 2048\nauth = jwt\nworkers = 3\n",
	    err) == 0, "file parses");
	ok(conf_env(&env, good, NULL, err) == 0, "GW_ variables that are not "
	    "keys are left alone (%s)", err);
	ok(strcmp(conf_get(&env, "max_outbound"), "4096") == 0 &&
	    conf_val(&env, "max_outbound")->v_src == CONF_SRC_ENV,
	    "GW_MAX_OUTBOUND sets max_outbound");
	ok(conf_env(&env, bad, NULL, err) == -1 &&
	    strncmp(err, "GW_WORKERS: workers: bad number lots", 36) == 0,
	    "a bad GW_ value names the variable (%s)", err);
	ok(conf_set(&flags, conf_find("auth", 4), "jwt", CONF_SRC_FLAG, 0,
	    err) == 0, "a flag sets auth");
	{
		struct conf	 over, env2;
		char		*bad2[] = { "GW_WORKERS=lots", "GW_AUTH=x",
		    NULL };

		conf_init(&over);
		conf_init(&env2);
		ok(conf_set(&over, conf_find("workers", 7), "2",
		    CONF_SRC_FLAG, 0, err) == 0 &&
		    conf_set(&over, conf_find("auth", 4), "none",
		    CONF_SRC_FLAG, 0, err) == 0, "flags set workers, auth");
		ok(conf_env(&env2, bad2, &over, err) == 0 &&
		    conf_raw(&env2, "workers") == NULL &&
		    conf_raw(&env2, "auth") == NULL,
		    "a bad GW_ value under a flag is left alone");
		conf_free(&over);
		conf_free(&env2);
	}
	conf_merge(&file, &env);
	conf_merge(&file, &flags);
	ok(strcmp(conf_get(&file, "max_outbound"), "4096") == 0,
	    "the environment overrides the file");
	ok(strcmp(conf_get(&file, "auth"), "jwt") == 0 &&
	    conf_val(&file, "auth")->v_src == CONF_SRC_FLAG,
	    "a flag overrides the environment");
	ok(strcmp(conf_get(&file, "workers"), "3") == 0 &&
	    conf_val(&file, "workers")->v_line == 3,
	    "a key set only in the file keeps its line");
	ok(conf_set(&flags, -1, "x", CONF_SRC_FLAG, 0, err) == -1,
	    "no key -1");
	conf_free(&file);
	conf_free(&env);
	conf_free(&flags);
}

static void
test_load(void)
{
	struct conf	 c;
	char		 err[CONF_ERRLEN], path[] = "/tmp/conf_test.XXXXXX";
	const char	*text = "node = n1\nmax_subscriptions = 0\n";
	int		 fd;

	if ((fd = mkstemp(path)) == -1) {
		ok(0, "mkstemp");
		return;
	}
	ok(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
	close(fd);
	conf_init(&c);
	ok(conf_load(&c, path, err) == -1 && strncmp(err, path,
	    strlen(path)) == 0 && strstr(err, ":2: max_subscriptions") != NULL,
	    "a file's error is FILE:LINE: reason (%s)", err);
	unlink(path);
	ok(conf_load(&c, path, err) == -1 && strstr(err, "No such file"),
	    "a missing file says so (%s)", err);
	conf_free(&c);
}

static void
test_keys(void)
{
	const struct conf_key	*k;
	char			 out[CONF_MAXVAL + 1], err[CONF_ERRLEN];
	size_t			 n, i;
	int			 good = 1;

	k = conf_keys(&n);
	ok(n >= 28, "the table has the keys of gw.conf(5) (%zu)", n);
	for (i = 0; i < n; i++) {
		if (conf_find(k[i].k_name, strlen(k[i].k_name)) != (int)i)
			good = 0;
		if (k[i].k_default != NULL && conf_check(i, k[i].k_default,
		    out, sizeof(out), err) == -1) {
			printf("# default of %s: %s\n", k[i].k_name, err);
			good = 0;
		}
	}
	ok(good, "every key is found by name and every default is valid");
	ok(conf_find("max_outbound", 3) == -1, "a prefix is not a key");
	ok(conf_bool("off") == 0 && conf_bool("true") == 1 &&
	    conf_bool("On") == -1, "booleans");
}

int
main(void)
{
	test_lines();
	test_errors();
	test_nul();
	test_env_merge();
	test_load();
	test_keys();
	return tap_done();
}
