/*
 * parse_test.c -- option values (parse.c).
 */
#include <string.h>

#include "parse.h"
#include "tap.h"

int
main(void)
{
	unsigned long long	v = 7;
	double			d = 7;
	char			err[PARSE_ERRLEN];

	ok(parse_num("0", 0, 10, &v, err) == 0 && v == 0, "0 in 0..10");
	ok(parse_num("10", 0, 10, &v, err) == 0 && v == 10, "10 in 0..10");
	ok(parse_num("11", 0, 10, &v, err) == -1 && v == 10 &&
	    strstr(err, "11") != NULL, "11 out of 0..10: %s", err);
	ok(parse_num("4", 5, 10, &v, err) == -1, "below the minimum");
	ok(parse_num("", 0, 10, &v, err) == -1, "empty");
	ok(parse_num("-1", 0, 10, &v, err) == -1, "negative");
	ok(parse_num("+1", 0, 10, &v, err) == -1, "a sign");
	ok(parse_num(" 1", 0, 10, &v, err) == -1, "leading space");
	ok(parse_num("1x", 0, 10, &v, err) == -1, "trailing junk");
	ok(parse_num("99999999999999999999999", 0, ~0ULL, &v, err) == -1,
	    "overflow");
	ok(parse_secs("0.5", 0.05, 10, &d, err) == 0 && d == 0.5, "0.5 s");
	ok(parse_secs("25", 0.05, 86400, &d, err) == 0 && d == 25, "25 s");
	ok(parse_secs("0.01", 0.05, 10, &d, err) == -1 && d == 25,
	    "below the minimum: %s", err);
	ok(parse_secs("nan", 0.05, 10, &d, err) == -1, "nan");
	ok(parse_secs("1e3", 0.05, 10, &d, err) == -1, "over the maximum");
	ok(parse_secs("1s", 0.05, 10, &d, err) == -1, "a unit is junk");
	ok(parse_secs(".5", 0.05, 10, &d, err) == -1, "no leading digit");
	return tap_done();
}
