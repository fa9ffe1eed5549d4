/*
 * tap.h -- a tiny TAP producer for the unit tests.  ok(cond, fmt, ...)
 * prints "ok N - ..." or "not ok N - ..."; tap_done() prints the plan
 * and returns the exit status (non-zero if any test failed).  tap_rand()
 * gives repeatable pseudo-random numbers.
 */
#ifndef GW_TAP_H
#define GW_TAP_H

#include <stdarg.h>
#include <stdint.h>
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

/* A small deterministic generator (xorshift32) for randomized checks. */
static uint32_t	tap_rng = 2463534242u;

__attribute__((__unused__))
static uint32_t
tap_rand(void)
{
	tap_rng ^= tap_rng << 13;
	tap_rng ^= tap_rng >> 17;
	tap_rng ^= tap_rng << 5;
	return tap_rng;
}

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
