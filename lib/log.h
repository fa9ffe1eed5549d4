/*
 * log.h -- logging for the gw daemons, after OpenBSD's log.h.
 *
 * log_warn() appends strerror(errno), log_warnx() does not; log_errx() is
 * for what the process stops on (bad usage or configuration, exit 2).
 * log_verbose() prints only at verbosity 1 (-v), log_debug() only at 2
 * (-vv).  Each line carries the level and the process name set with
 * log_procinit().  errno is preserved.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdarg.h>

#ifndef __dead
#define __dead	__attribute__((__noreturn__))
#endif

void	log_init(int, int);
void	log_procinit(const char *);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_errx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_verbose(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

#endif
