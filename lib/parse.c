/*
 * parse.c -- see parse.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "parse.h"

/*
 * Parse s as a decimal whole number from min to max into *out.  Return
 * value: 0, or -1 with a one-line reason in err.
 */
int
parse_num(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out, char err[PARSE_ERRLEN])
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		snprintf(err, PARSE_ERRLEN, "bad number %s: want %llu..%llu", s,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Parse s as seconds, with a fraction if wanted, from min to max into
 * *out.  Return value: 0, or -1 with a one-line reason in err.
 */
int
parse_secs(const char *s, double min, double max, double *out,
    char err[PARSE_ERRLEN])
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    !(v >= min && v <= max)) {
		snprintf(err, PARSE_ERRLEN, "bad duration %s: want %g..%g "
		    "seconds", s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}
