/*
 * jscan.c -- a validating JSON scanner for the HTTP API's publish bodies
 * (see jscan.h).  Every function returns -1 for "not taken": the input is
 * invalid, or valid in a form this scanner leaves to jansson.  Each loop
 * advances through the input and stops at its end; nesting is bounded by
 * JSCAN_MAXDEPTH.
 */
#include <string.h>

#include "jscan.h"
#include "utf8.h"

#define JSCAN_MAXDIGITS	15	/* a double holds them exactly */

struct jscan {
	const char	*js_p;
	const char	*js_end;
	int		 js_ws;		/* whitespace skipped since reset */
};

static int	jscan_value(struct jscan *, int);

static void
jscan_skipws(struct jscan *js)
{
	while (js->js_p < js->js_end && (*js->js_p == ' ' ||
	    *js->js_p == '\t' || *js->js_p == '\n' || *js->js_p == '\r')) {
		js->js_p++;
		js->js_ws = 1;
	}
}

/*
 * A string at js_p (its opening quote): its content in *sp, *lenp (as
 * written, escapes and all), *escp set if it has an escape.
 */
static int
jscan_string(struct jscan *js, const char **sp, size_t *lenp, int *escp)
{
	const unsigned char	*p = (const unsigned char *)js->js_p + 1;
	const unsigned char	*end = (const unsigned char *)js->js_end;
	const unsigned char	*s = p;
	int			 high = 0, esc = 0;

	for (; p < end && *p != '"'; p++) {
		if (*p < 0x20)
			return -1;
		if (*p >= 0x80)
			high = 1;
		else if (*p == '\\') {
			if (++p == end || strchr("\"\\/bfnrt", *p) == NULL ||
			    *p == '\0')
				return -1;	/* \u, or not an escape */
			esc = 1;
		}
	}
	if (p == end || (high && !utf8_valid(s, p - s)))
		return -1;
	*sp = (const char *)s;
	*lenp = p - s;
	*escp = esc;
	js->js_p = (const char *)p + 1;
	return 0;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?, at most JSCAN_MAXDIGITS digits. */
static int
jscan_number(struct jscan *js)
{
	const char	*p = js->js_p, *end = js->js_end;
	size_t		 digits = 0;

	if (p < end && *p == '-')
		p++;
	if (p == end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
		p++, digits++;
	else
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			digits++;
	if (p < end && *p == '.') {
		if (++p == end || *p < '0' || *p > '9')
			return -1;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			digits++;
	}
	if (digits > JSCAN_MAXDIGITS ||
	    (p < end && (*p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))))
		return -1;
	js->js_p = p;
	return 0;
}

static int
jscan_word(struct jscan *js, const char *w, size_t n)
{
	if ((size_t)(js->js_end - js->js_p) < n || memcmp(js->js_p, w, n) != 0)
		return -1;
	js->js_p += n;
	return 0;
}

/*
 * The members of an object or the elements of an array, js_p past its
 * opening bracket; close is '}' or ']'.
 */
static int
jscan_container(struct jscan *js, char close, int depth)
{
	const char	*s;
	size_t		 n;
	int		 esc;

	jscan_skipws(js);
	if (js->js_p < js->js_end && *js->js_p == close) {
		js->js_p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (js->js_p == js->js_end || *js->js_p != '"' ||
			    jscan_string(js, &s, &n, &esc) == -1)
				return -1;
			jscan_skipws(js);
			if (js->js_p == js->js_end || *js->js_p++ != ':')
				return -1;
			jscan_skipws(js);
		}
		if (jscan_value(js, depth + 1) == -1)
			return -1;
		jscan_skipws(js);
		if (js->js_p == js->js_end)
			return -1;
		if (*js->js_p == close) {
			js->js_p++;
			return 0;
		}
		if (*js->js_p++ != ',')
			return -1;
		jscan_skipws(js);
	}
}

/* One value at js_p (no whitespace before it). */
static int
jscan_value(struct jscan *js, int depth)
{
	const char	*s;
	size_t		 n;
	int		 esc;

	if (js->js_p == js->js_end || depth > JSCAN_MAXDEPTH)
		return -1;
	switch (*js->js_p) {
	case '{':
	case '[':
		js->js_p++;
		return jscan_container(js, js->js_p[-1] == '{' ? '}' : ']',
		    depth);
	case '"':
		return jscan_string(js, &s, &n, &esc);
	case 't':
		return jscan_word(js, "true", 4);
	case 'f':
		return jscan_word(js, "false", 5);
	case 'n':
		return jscan_word(js, "null", 4);
	default:
		return jscan_number(js);
	}
}

/*
 * One item object at js_p: its "channel" (a string without escapes) and
 * its "data", each once; other members are skipped.
 */
static int
jscan_item(struct jscan *js, struct jscan_item *it)
{
	const char	*k, *start;
	size_t		 klen;
	int		 esc, ws;

	memset(it, 0, sizeof(*it));
	if (js->js_p == js->js_end || *js->js_p++ != '{')
		return -1;
	jscan_skipws(js);
	if (js->js_p < js->js_end && *js->js_p == '}')
		return -1;
	for (;;) {
		if (js->js_p == js->js_end || *js->js_p != '"' ||
		    jscan_string(js, &k, &klen, &esc) == -1 || esc)
			return -1;
		jscan_skipws(js);
		if (js->js_p == js->js_end || *js->js_p++ != ':')
			return -1;
		jscan_skipws(js);
		if (klen == 7 && memcmp(k, "channel", 7) == 0) {
			if (it->ji_chan != NULL || js->js_p == js->js_end ||
			    *js->js_p != '"' || jscan_string(js, &it->ji_chan,
			    &it->ji_chanlen, &esc) == -1 || esc)
				return -1;
		} else if (klen == 4 && memcmp(k, "data", 4) == 0) {
			if (it->ji_data != NULL)
				return -1;
			ws = js->js_ws;
			js->js_ws = 0;
			start = js->js_p;
			if (jscan_value(js, 2) == -1)
				return -1;
			it->ji_data = start;
			it->ji_datalen = js->js_p - start;
			it->ji_ws = js->js_ws;
			js->js_ws = ws;
		} else if (jscan_value(js, 2) == -1)
			return -1;
		jscan_skipws(js);
		if (js->js_p == js->js_end)
			return -1;
		if (*js->js_p == '}') {
			js->js_p++;
			return it->ji_chan != NULL && it->ji_data != NULL ?
			    0 : -1;
		}
		if (*js->js_p++ != ',')
			return -1;
		jscan_skipws(js);
	}
}

/*
 * The items of a publish body buf (len bytes): an array of 1 to max item
 * objects if batch, else one item object.  Return value: 0 with the
 * items in its[0 .. *np), or -1: not taken (jansson decides).
 */
int
jscan_items(const char *buf, size_t len, int batch, struct jscan_item *its,
    size_t max, size_t *np)
{
	struct jscan	 js = { buf, buf + len, 0 };
	size_t		 n = 0;

	jscan_skipws(&js);
	if (batch) {
		if (js.js_p == js.js_end || *js.js_p++ != '[')
			return -1;
		jscan_skipws(&js);
		for (;;) {
			if (n == max || jscan_item(&js, &its[n++]) == -1)
				return -1;
			jscan_skipws(&js);
			if (js.js_p == js.js_end)
				return -1;
			if (*js.js_p == ']') {
				js.js_p++;
				break;
			}
			if (*js.js_p++ != ',')
				return -1;
			jscan_skipws(&js);
		}
	} else if (max == 0 || jscan_item(&js, &its[n++]) == -1)
		return -1;
	jscan_skipws(&js);
	if (js.js_p != js.js_end)
		return -1;
	*np = n;
	return 0;
}

/* Is buf (len bytes) one JSON value in the forms this scanner takes? */
int
jscan_valid(const char *buf, size_t len)
{
	struct jscan	 js = { buf, buf + len, 0 };

	jscan_skipws(&js);
	if (jscan_value(&js, 0) == -1)
		return 0;
	jscan_skipws(&js);
	return js.js_p == js.js_end;
}

/*
 * Copy the JSON text src (n bytes, valid) to dst without the whitespace
 * between its tokens.  Return value: the bytes written (at most n).
 */
size_t
jscan_compact(const char *src, size_t n, char *dst)
{
	size_t	i, o = 0;
	int	instr = 0;

	for (i = 0; i < n; i++) {
		if (instr) {
			if (src[i] == '\\' && i + 1 < n)
				dst[o++] = src[i++];
			else if (src[i] == '"')
				instr = 0;
		} else if (src[i] == ' ' || src[i] == '\t' ||
		    src[i] == '\n' || src[i] == '\r')
			continue;
		else if (src[i] == '"')
			instr = 1;
		dst[o++] = src[i];
	}
	return o;
}
