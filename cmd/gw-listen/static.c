/*
 * static.c -- gw-listen's in-memory file server for the demo page.  The
 * files are read once, at start (--demo DIR), so that serving them never
 * touches the disk and a request cannot name any file that was not there
 * then: "/" is DIR/demo/index.html, "/demo/NAME" is DIR/demo/NAME (NAME
 * one plain file name with a known extension), "/js/gw-client.js" is
 * DIR/js/gw-client.js, and nothing else.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "static.h"
#include "xmalloc.h"

/* The demo's files and gw-client.js. */
static struct static_file	 files[STATIC_MAXFILES + 1];
static int			 nfiles;

static const char *demo_needed[] = { "index.html", "demo.js", "demo.css" };

/*
 * The Content-Type of a file name from its extension; NULL for any other
 * extension (such files are neither loaded nor served).
 */
static const char *
type_of(const char *name, size_t len)
{
	static const struct {
		const char	*ext;
		const char	*type;
	} types[] = {
		{ ".html",	"text/html; charset=utf-8" },
		{ ".js",	"text/javascript; charset=utf-8" },
		{ ".css",	"text/css; charset=utf-8" },
		{ ".svg",	"image/svg+xml; charset=utf-8" },
	};
	size_t	 i, n;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i].ext);
		if (len > n && memcmp(name + len - n, types[i].ext, n) == 0)
			return types[i].type;
	}
	return NULL;
}

/*
 * A name we load from DIR/demo and serve under /demo/: 1 to STATIC_MAXNAME
 * bytes of letters, digits, '.', '_' and '-', not starting with a dot (so
 * neither ".." nor a hidden file), with a known extension.
 */
static int
name_ok(const char *name, size_t len)
{
	size_t	 i;
	char	 ch;

	if (len == 0 || len > STATIC_MAXNAME || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return 0;
	}
	return type_of(name, len) != NULL;
}

/*
 * Read the regular file path (at most STATIC_MAXSIZE bytes) into a new
 * buffer.  Return 0, or -1 with the reason in err.
 */
static int
read_whole(const char *path, uint8_t **datap, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	uint8_t		*data;
	size_t		 len, cap;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO in the directory must not hang the start. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > STATIC_MAXSIZE) {
		snprintf(err, errlen, "%s: over %d bytes", path,
		    STATIC_MAXSIZE);
		close(fd);
		return -1;
	}
	/* One byte more than fstat said, to notice a file that grew. */
	cap = (size_t)st.st_size + 1;
	data = xmalloc(cap);
	len = 0;
	while (len < cap) {
		if ((n = read(fd, data + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (len == cap) {
		snprintf(err, errlen, "%s: changed while being read", path);
		free(data);
		return -1;
	}
	*datap = data;
	*lenp = len;
	return 0;
}

/* Load dir/rel (rel as it will be named, e.g. "demo/index.html"). */
static int
load_one(const char *dir, const char *rel, char *err, size_t errlen)
{
	struct static_file	*sf;
	char			 path[PATH_MAX];
	int			 n;

	if (nfiles >= STATIC_MAXFILES + 1) {
		snprintf(err, errlen, "%s/demo: more than %d files", dir,
		    STATIC_MAXFILES);
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	sf = &files[nfiles];
	if (read_whole(path, &sf->sf_data, &sf->sf_len, err, errlen) == -1)
		return -1;
	sf->sf_name = xstrdup(rel);
	sf->sf_type = type_of(rel, strlen(rel));
	nfiles++;
	return 0;
}

/* The loaded file named rel ("demo/NAME" or "js/gw-client.js"), or NULL. */
static const struct static_file *
lookup(const char *rel, size_t len)
{
	int	 i;

	for (i = 0; i < nfiles; i++)
		if (strlen(files[i].sf_name) == len &&
		    memcmp(files[i].sf_name, rel, len) == 0)
			return &files[i];
	return NULL;
}

/*
 * Read, once at start, DIR/js/gw-client.js and the files of DIR/demo
 * whose names end in .html, .js, .css or .svg (at most STATIC_MAXFILES,
 * each at most STATIC_MAXSIZE bytes; other names and anything but regular
 * files are ignored), into memory.  DIR/demo must hold index.html, demo.js
 * and demo.css.  Files loaded before are freed first.  Return 0, or -1
 * with the reason in err (nothing is then loaded).
 */
int
static_load(const char *dir, char *err, size_t errlen)
{
	DIR		*dp;
	struct dirent	*de;
	struct stat	 st;
	char		 rel[5 + STATIC_MAXNAME + 1], path[PATH_MAX];
	size_t		 i, n;
	int		 ndemo = 0, len;

	static_free();
	if (load_one(dir, "js/gw-client.js", err, errlen) == -1)
		return -1;
	len = snprintf(path, sizeof(path), "%s/demo", dir);
	if (len < 0 || (size_t)len >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		goto fail;
	}
	if ((dp = opendir(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* A directory is finite; the count bounds it anyway. */
	while ((de = readdir(dp)) != NULL) {
		n = strlen(de->d_name);
		if (!name_ok(de->d_name, n))
			continue;
		memcpy(rel, "demo/", 5);
		memcpy(rel + 5, de->d_name, n + 1);
		len = snprintf(path, sizeof(path), "%s/%s", dir, rel);
		if (len < 0 || (size_t)len >= sizeof(path) ||
		    stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (++ndemo > STATIC_MAXFILES) {
			snprintf(err, errlen, "%s/demo: more than %d files",
			    dir, STATIC_MAXFILES);
			closedir(dp);
			goto fail;
		}
		if (load_one(dir, rel, err, errlen) == -1) {
			closedir(dp);
			goto fail;
		}
	}
	closedir(dp);
	for (i = 0; i < sizeof(demo_needed) / sizeof(demo_needed[0]); i++) {
		snprintf(rel, sizeof(rel), "demo/%s", demo_needed[i]);
		if (lookup(rel, strlen(rel)) == NULL) {
			snprintf(err, errlen, "%s/%s: missing", dir, rel);
			goto fail;
		}
	}
	return 0;
fail:
	static_free();
	return -1;
}

/*
 * The file a request path names (the request-target, of len bytes; a
 * query, from '?' on, is ignored): "/" is demo/index.html, "/demo/NAME"
 * is demo/NAME, "/js/gw-client.js" is js/gw-client.js.  Return NULL for
 * any other path or a file that was not loaded.  The file belongs to this
 * module and lives until static_free() or the next static_load().
 */
const struct static_file *
static_find(const char *path, size_t len)
{
	const char	*q;

	if ((q = memchr(path, '?', len)) != NULL)
		len = q - path;
	if (len == 1 && path[0] == '/')
		return lookup("demo/index.html", 15);
	if (len > 6 && memcmp(path, "/demo/", 6) == 0 &&
	    name_ok(path + 6, len - 6))
		return lookup(path + 1, len - 1);
	if (len == 16 && memcmp(path, "/js/gw-client.js", 16) == 0)
		return lookup(path + 1, len - 1);
	return NULL;
}

/* Free every loaded file. */
void
static_free(void)
{
	int	 i;

	for (i = 0; i < nfiles; i++) {
		free((char *)files[i].sf_name);
		free(files[i].sf_data);
	}
	memset(files, 0, sizeof(files));
	nfiles = 0;
}
