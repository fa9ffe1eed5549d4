/*
 * out.c -- gwctl's output: one JSON object per line (into a pipe, or
 * with --json), or an aligned table (on a terminal, or with --table).
 *
 * A command makes an output with its columns, gives it one object per
 * row, and ends it.  In JSON mode each row is printed and flushed at
 * once, so that a pipeline sees it; a table waits for its last row to
 * know the widths.  A reader that goes away (EPIPE) ends gwctl quietly
 * with status 0: `gwctl tail c | head -n 2` is a normal use.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"
#include "xmalloc.h"

#define OUT_MAXCOLS	64
#define OUT_MAXCELL	120	/* characters of a table cell */

struct out {
	const struct col	*o_cols;
	int			 o_ncols;
	json_t			*o_rows;	/* table mode */
};

static char	*cell_text(json_t *, int);
static char	*cell_pairs(json_t *);
static void	 cell_clean(char *);
static void	 out_check(void);

/* Exit quietly if the reader has gone, loudly on another write error. */
static void
out_check(void)
{
	if (!ferror(stdout))
		return;
	if (errno == EPIPE)
		exit(0);
	err(EX_FAIL, "stdout");
}

/* Flush stdout; see out_check(). */
void
out_flush(void)
{
	if (fflush(stdout) == EOF)
		out_check();
	out_check();
}

/*
 * Print o as one line of compact JSON and flush it.  The caller keeps
 * its reference.
 */
void
out_line(json_t *o)
{
	if (json_dumpf(o, stdout, JSON_COMPACT | JSON_ENCODE_ANY) == -1 ||
	    putchar('\n') == EOF)
		out_check();
	out_flush();
}

/*
 * A new output whose table has the columns cols (ended by a NULL key).
 * Ended and freed by out_end().
 */
struct out *
out_new(const struct col *cols)
{
	struct out	*o;

	o = xcalloc(1, sizeof(*o));
	o->o_cols = cols;
	while (cols[o->o_ncols].c_key != NULL && o->o_ncols < OUT_MAXCOLS)
		o->o_ncols++;
	o->o_rows = json_array();
	return o;
}

/* Add the row obj (the reference is taken): printed now in JSON mode. */
void
out_row(struct out *o, json_t *obj)
{
	if (gc.g_json) {
		out_line(obj);
		json_decref(obj);
		return;
	}
	json_array_append_new(o->o_rows, obj);
}

/* Control characters would break the alignment: show them as '?'. */
static void
cell_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* An object's members as "key=value,..." (values compact JSON). */
static char *
cell_pairs(json_t *v)
{
	const char	*k;
	json_t		*x;
	size_t		 len = 0;
	char		*s, *e;

	s = xstrdup("");
	json_object_foreach(v, k, x) {
		e = json_is_string(x) ? xstrdup(json_string_value(x)) :
		    json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
		if (e == NULL)
			continue;
		s = xrealloc(s, len + strlen(k) + strlen(e) + 3);
		len += sprintf(s + len, "%s%s=%s", len > 0 ? "," : "", k, e);
		free(e);
	}
	return s;
}

/* The text of a table cell for the value v (NULL: none); to free. */
static char *
cell_text(json_t *v, int flags)
{
	char		 buf[64], *s, *e;
	struct tm	 tm;
	time_t		 t;
	size_t		 i, len = 0;
	json_t		*x;

	if (v == NULL || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v))
		s = xstrdup(json_string_value(v));
	else if (json_is_integer(v) && (flags & (COL_TIME | COL_SECS))) {
		t = (time_t)(json_integer_value(v) /
		    ((flags & COL_SECS) ? 1 : 1000));
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
			snprintf(buf, sizeof(buf), "%lld",
			    (long long)json_integer_value(v));
		s = xstrdup(buf);
	} else if (json_is_array(v) && (flags & COL_LIST)) {
		s = xstrdup("");
		json_array_foreach(v, i, x) {
			e = json_is_string(x) ? xstrdup(json_string_value(x)) :
			    json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
			if (e == NULL)
				continue;
			s = xrealloc(s, len + strlen(e) + 2);
			len += sprintf(s + len, "%s%s", len > 0 ? "," : "",
			    e);
			free(e);
		}
		if (len == 0) {
			free(s);
			s = xstrdup("-");
		}
	} else if (json_is_object(v) && (flags & COL_PAIRS))
		s = cell_pairs(v);
	else if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	    NULL)
		s = xstrdup("?");
	cell_clean(s);
	if (!(flags & COL_WHOLE) && strlen(s) > OUT_MAXCELL)
		strcpy(s + OUT_MAXCELL - 3, "...");
	return s;
}

/*
 * End the output: in table mode, print the titles and the rows with
 * each column as wide as its widest cell.  Frees o.  Returns 0.
 */
int
out_end(struct out *o)
{
	size_t	 w[OUT_MAXCOLS], n, r;
	char	**cells;
	int	 c;

	if (gc.g_json || o->o_ncols == 0)
		goto done;
	n = json_array_size(o->o_rows);
	cells = xcalloc((n + 1) * o->o_ncols, sizeof(*cells));
	for (c = 0; c < o->o_ncols; c++) {
		cells[c] = xstrdup(o->o_cols[c].c_title);
		w[c] = strlen(cells[c]);
	}
	for (r = 0; r < n; r++)
		for (c = 0; c < o->o_ncols; c++) {
			cells[(r + 1) * o->o_ncols + c] = cell_text(
			    json_object_get(json_array_get(o->o_rows, r),
			    o->o_cols[c].c_key), o->o_cols[c].c_flags);
			if (strlen(cells[(r + 1) * o->o_ncols + c]) > w[c])
				w[c] = strlen(cells[(r + 1) * o->o_ncols + c]);
		}
	for (r = 0; r <= n; r++) {
		for (c = 0; c < o->o_ncols; c++) {
			const char *s = cells[r * o->o_ncols + c];
			int last = c == o->o_ncols - 1;

			if (o->o_cols[c].c_flags & COL_RIGHT)
				printf("%*s%s", (int)w[c], s, last ? "" : "  ");
			else if (last)
				printf("%s", s);
			else
				printf("%-*s  ", (int)w[c], s);
		}
		putchar('\n');
	}
	for (r = 0; r < (n + 1) * o->o_ncols; r++)
		free(cells[r]);
	free(cells);
	out_flush();
done:
	json_decref(o->o_rows);
	free(o);
	return 0;
}
