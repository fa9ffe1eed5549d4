/*
 * secret.c -- read an HS256 secret file (secret.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"

/*
 * Read the secret of path into buf (SECRET_MAX + 2 bytes) without its
 * final newline (\n or \r\n), set *len: SECRET_MIN to SECRET_MAX bytes.
 * Return value: 0, or -1 with the reason in err (the file named).  The
 * caller wipes buf when done.
 */
int
secret_read(const char *path, char buf[SECRET_MAX + 2], size_t *len,
    char err[SECRET_ERRLEN])
{
	ssize_t	n = 0;
	int	fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, SECRET_ERRLEN, "secret file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (*len < SECRET_MAX + 2 &&
	    (n = read(fd, buf + *len, SECRET_MAX + 2 - *len)) > 0)
		*len += (size_t)n;
	if (n == -1) {
		snprintf(err, SECRET_ERRLEN, "secret file %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (*len > SECRET_MAX) {
		snprintf(err, SECRET_ERRLEN, "secret file %s: longer than %d "
		    "bytes", path, SECRET_MAX);
		return -1;
	}
	if (*len > 0 && buf[*len - 1] == '\n')
		(*len)--;
	if (*len > 0 && buf[*len - 1] == '\r')
		(*len)--;
	if (*len < SECRET_MIN) {
		snprintf(err, SECRET_ERRLEN, "secret file %s: shorter than %d "
		    "bytes", path, SECRET_MIN);
		return -1;
	}
	return 0;
}
