/*
 * static_test.c -- unit tests for cmd/gw-listen/static.c: loading the demo
 * files from a temporary directory, the mapping of request paths to them,
 * the paths it refuses, and the directories it refuses to load.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "static.h"
#include "tap.h"

static char	 top[1024];

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* path = top/rel, or exit. */
static void
mkpath(char *path, size_t size, const char *rel)
{
	int	 n;

	n = snprintf(path, size, "%s/%s", top, rel);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "path too long: %s/%s\n", top, rel);
		exit(1);
	}
}

/* Write the text s to top/rel. */
static void
put(const char *rel, const char *s)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	mkpath(path, sizeof(path), rel);
	if ((fp = fopen(path, "w")) == NULL)
		die(path);
	if (fputs(s, fp) == EOF || fclose(fp) == EOF)
		die(path);
}

static void
mkd(const char *rel)
{
	char	 path[PATH_MAX];

	mkpath(path, sizeof(path), rel);
	if (mkdir(path, 0700) == -1)
		die(path);
}

static void
rm(const char *rel)
{
	char	 path[PATH_MAX];

	mkpath(path, sizeof(path), rel);
	if (unlink(path) == -1)
		die(path);
}

static void
rmd(const char *rel)
{
	char	 path[PATH_MAX];

	mkpath(path, sizeof(path), rel);
	if (rmdir(path) == -1)
		die(path);
}

/* The file the path s maps to (s as a NUL-terminated string). */
static const struct static_file *
find(const char *s)
{
	char	*copy;
	const struct static_file *sf;
	size_t	 len = strlen(s);

	/* An exact heap copy: ASan sees any read past len. */
	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		die("malloc");
	memcpy(copy, s, len);
	sf = static_find(copy, len);
	free(copy);
	return sf;
}

/* s maps to the file rel with this content and type. */
static void
maps(const char *s, const char *rel, const char *body, const char *type)
{
	const struct static_file *sf;

	sf = find(s);
	ok(sf != NULL && strcmp(sf->sf_name, rel) == 0 &&
	    sf->sf_len == strlen(body) &&
	    memcmp(sf->sf_data, body, sf->sf_len) == 0 &&
	    strcmp(sf->sf_type, type) == 0,
	    "%s -> %s (%s)", s, rel, type);
}

static void
refused(const char *s)
{
	ok(find(s) == NULL, "%s refused", s);
}

static void
load_fails(const char *why, const char *want)
{
	char	 err[512];

	err[0] = '\0';
	ok(static_load(top, err, sizeof(err)) == -1 &&
	    strstr(err, want) != NULL && find("/") == NULL,
	    "not loaded: %s (%s)", why, err);
}

int
main(void)
{
	char		 err[512], path[PATH_MAX], name[64], *big;
	const char	*tmp;
	int		 i, rc;

	tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	if ((size_t)snprintf(top, sizeof(top), "%s/static_test.XXXXXX", tmp) >=
	    sizeof(top))
		die("TMPDIR too long");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	mkd("demo");
	mkd("js");
	put("demo/index.html", "<!doctype html><title>demo</title>\n");
	put("demo/demo.js", "import { GwClient } from '/js/gw-client.js';\n");
	put("demo/demo.css", "body { margin: 0; }\n");
	put("demo/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n");
	put("demo/notes.txt", "not served\n");
	put("demo/.hidden.js", "hidden\n");
	mkd("demo/sub.js");
	put("js/gw-client.js", "export class GwClient {}\n");
	put("secret", "top secret\n");

	err[0] = '\0';
	rc = static_load(top, err, sizeof(err));
	ok(rc == 0, "load %s (%s)", top, err);

	maps("/", "demo/index.html", "<!doctype html><title>demo</title>\n",
	    "text/html; charset=utf-8");
	maps("/?user=alice&urls=ws://a/ws", "demo/index.html",
	    "<!doctype html><title>demo</title>\n",
	    "text/html; charset=utf-8");
	maps("/demo/index.html", "demo/index.html",
	    "<!doctype html><title>demo</title>\n",
	    "text/html; charset=utf-8");
	maps("/demo/demo.js", "demo/demo.js",
	    "import { GwClient } from '/js/gw-client.js';\n",
	    "text/javascript; charset=utf-8");
	maps("/demo/demo.css?v=2", "demo/demo.css", "body { margin: 0; }\n",
	    "text/css; charset=utf-8");
	maps("/demo/logo.svg", "demo/logo.svg",
	    "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
	    "image/svg+xml; charset=utf-8");
	maps("/js/gw-client.js", "js/gw-client.js",
	    "export class GwClient {}\n", "text/javascript; charset=utf-8");

	refused("");
	refused("?");
	refused("//");
	refused("/index.html");
	refused("/demo");
	refused("/demo/");
	refused("/demo/notes.txt");
	refused("/demo/.hidden.js");
	refused("/demo/sub.js");
	refused("/demo/missing.js");
	refused("/demo/../secret");
	refused("/demo/../js/gw-client.js");
	refused("/demo/..");
	refused("/demo/./demo.js");
	refused("/demo//demo.js");
	refused("/demo/%2e%2e/secret");
	refused("/demo/demo.js/");
	refused("/demo/sub/x.js");
	refused("/js/");
	refused("/js/other.js");
	refused("/js/gw-client.js/");
	refused("/js/gw-client.jsx");
	refused("/secret");
	refused("/ws");
	refused("/healthz");
	refused("demo/index.html");
	refused("/DEMO/index.html");
	ok(static_find("/demo/demo.js", 6) == NULL,
	    "a length that stops at /demo/ is refused");
	ok(static_find("/demo/demo.jsX", 13) != NULL,
	    "only len bytes are read");
	ok(static_find("/\0", 2) == NULL, "a NUL in the path is refused");

	static_free();
	refused("/");
	refused("/js/gw-client.js");

	/* Loading again after a free works, and a second load replaces. */
	ok(static_load(top, err, sizeof(err)) == 0, "load again (%s)", err);
	put("demo/demo.css", "p {}\n");
	ok(static_load(top, err, sizeof(err)) == 0, "load over (%s)", err);
	maps("/demo/demo.css", "demo/demo.css", "p {}\n",
	    "text/css; charset=utf-8");

	/* Refusals: what is missing or too big is named. */
	rm("demo/demo.js");
	load_fails("demo.js missing", "demo/demo.js: missing");
	put("demo/demo.js", "x\n");
	rm("js/gw-client.js");
	load_fails("gw-client.js missing", "js/gw-client.js");
	put("js/gw-client.js", "y\n");
	ok(static_load(top, err, sizeof(err)) == 0, "complete again (%s)",
	    err);

	if ((big = calloc(1, STATIC_MAXSIZE + 2)) == NULL)
		die("calloc");
	memset(big, 'a', STATIC_MAXSIZE + 1);
	put("demo/big.js", big);
	load_fails("a file over 1 MiB", "over 1048576 bytes");
	big[STATIC_MAXSIZE] = '\0';
	put("demo/big.js", big);
	ok(static_load(top, err, sizeof(err)) == 0 &&
	    find("/demo/big.js") != NULL &&
	    find("/demo/big.js")->sf_len == STATIC_MAXSIZE,
	    "a file of exactly 1 MiB is loaded (%s)", err);
	free(big);
	rm("demo/big.js");

	/* 4 files now (index, demo.js, demo.css, logo.svg): 28 more fit. */
	for (i = 0; i < STATIC_MAXFILES - 4; i++) {
		snprintf(name, sizeof(name), "demo/f%02d.js", i);
		put(name, "f\n");
	}
	ok(static_load(top, err, sizeof(err)) == 0 &&
	    find("/demo/f00.js") != NULL && find("/js/gw-client.js") != NULL,
	    "%d files in demo/ are loaded (%s)", STATIC_MAXFILES, err);
	put("demo/f99.js", "f\n");
	load_fails("33 files in demo/", "more than 32 files");

	mkpath(path, sizeof(path), "nonexistent");
	ok(static_load(path, err, sizeof(err)) == -1 && find("/") == NULL,
	    "a missing directory is refused (%s)", err);

	static_free();
	/* Clean up the temporary directory. */
	for (i = 0; i < STATIC_MAXFILES - 4; i++) {
		snprintf(name, sizeof(name), "demo/f%02d.js", i);
		rm(name);
	}
	rm("demo/f99.js");
	rm("demo/index.html");
	rm("demo/demo.js");
	rm("demo/demo.css");
	rm("demo/logo.svg");
	rm("demo/notes.txt");
	rm("demo/.hidden.js");
	rm("js/gw-client.js");
	rm("secret");
	rmd("demo/sub.js");
	rmd("demo");
	rmd("js");
	if (rmdir(top) == -1)
		die(top);
	return tap_done();
}
