/*
 * log.c -- see log.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int	 log_tosyslog;
static int	 log_level;
static char	 log_proc[64] = "gw";

static void	 log_vlog(int, const char *, const char *, va_list)
		    __attribute__((__format__ (printf, 3, 0)));

/*
 * Set where logs go: to stderr unless tosyslog is non-zero, and how much:
 * verbose 0 is info and above, 1 adds log_verbose() (an event per
 * connection: refused handshakes, failed connections), 2 adds debug.
 */
void
log_init(int tosyslog, int verbose)
{
	log_tosyslog = tosyslog;
	log_level = verbose;
	if (tosyslog)
		openlog(log_proc, LOG_NDELAY, LOG_DAEMON);	/* name has the pid */
	tzset();
}

/* Name the process in every line, e.g. "gw-listen[2]". */
void
log_procinit(const char *name)
{
	if (name != NULL)
		snprintf(log_proc, sizeof(log_proc), "%s", name);
}

void
log_setverbose(int v)
{
	log_level = v;
}

int
log_getverbose(void)
{
	return log_level;
}

static void
log_vlog(int pri, const char *level, const char *fmt, va_list ap)
{
	char	msg[1024];
	int	saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_tosyslog)
		syslog(pri, "%s", msg);
	else
		fprintf(stderr, "%s: %s: %s\n", log_proc, level, msg);
	errno = saved;
}

static void
log_vlogx(int pri, const char *level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(pri, level, fmt, ap);
	va_end(ap);
}

static void
log_vwarn(int witherr, const char *fmt, va_list ap)
{
	char	buf[1024];
	int	saved = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (witherr)
		log_warnx("%s: %s", buf, strerror(saved));
	else
		log_warnx("%s", buf);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwarn(1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, "warning", fmt, ap);
	va_end(ap);
}

/* A message that the process stops on: bad usage or configuration. */
void
log_errx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_ERR, "error", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, "info", fmt, ap);
	va_end(ap);
}

void
log_verbose(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_INFO, "info", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, "debug", fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_vlogx(LOG_CRIT, "fatal", "%s: %s", buf, strerror(saved));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_vlogx(LOG_CRIT, "fatal", "%s", buf);
	exit(1);
}
