/*
 * tap.h -- a tiny TAP producer for the unit tests.  ok(cond, fmt, ...)
 * prints "ok N - ..." or "not ok N - ..."; tap_done() prints the plan
 * and returns the exit status (non-zero if any test failed).
 */
#ifndef GW_TAP_H
#define GW_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int	tap_n, tap_failed;

__attribute__((__format__ (printf, 2, 3)))
static int
ok(int cond, const char *fmt, ...)
{
	va_list	ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
