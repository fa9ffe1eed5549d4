/*
 * conf.h -- gw.conf: a node's settings as "key = value" lines, and the
 * table of the keys gw knows, each with its kind of value and its range.
 * Used by gw-supervise (the whole file, GW_<KEY> variables, --key flags)
 * and by gwctl (rundir, secret_file).  See gw.conf(5).
 *
 * Failures fill a caller's buffer of CONF_ERRLEN bytes with one line that
 * names where the bad setting came from ("gw.conf:12: ..."); lib/ does
 * not log.
 */
#ifndef GW_CONF_H
#define GW_CONF_H

#include <stddef.h>

#define CONF_ERRLEN	256
#define CONF_MAXFILE	(64 * 1024)	/* bytes of a configuration file */
#define CONF_MAXLINE	1024		/* bytes of one line */
#define CONF_MAXVAL	512		/* bytes of one value */

/* The kinds of value. */
enum conf_type {
	CONF_T_STR,		/* any text */
	CONF_T_PATH,		/* a file or directory name */
	CONF_T_NUM,		/* a whole number in [min, max] */
	CONF_T_SECS,		/* seconds, maybe with a fraction */
	CONF_T_BOOL,		/* on/off, yes/no, true/false, 1/0 */
	CONF_T_ENUM,		/* one word of k_words */
	CONF_T_ADDRS,		/* ADDR:PORT[,ADDR:PORT...] */
	CONF_T_NODE,		/* letters, digits and ". _ - :" */
	CONF_T_REDIS		/* redis://... or unix://... */
};

/* Where a value came from: the order in which they override each other. */
enum conf_src {
	CONF_SRC_DEFAULT,
	CONF_SRC_FILE,
	CONF_SRC_ENV,
	CONF_SRC_FLAG
};

struct conf_key {
	const char	*k_name;	/* "max_outbound" */
	enum conf_type	 k_type;
	double		 k_min;		/* NUM, SECS */
	double		 k_max;
	const char	*k_words;	/* ENUM: "jwt|none" */
	const char	*k_default;	/* NULL: none, or the daemon's own */
	int		 k_live;	/* changes on SIGHUP without a restart */
};

/* One setting as it stands: NULL c_val means unset. */
struct conf_val {
	char		*v_val;
	enum conf_src	 v_src;
	int		 v_line;	/* CONF_SRC_FILE: line number */
};

struct conf {
	struct conf_val	*c_vals;	/* one per key of conf_keys() */
	char		*c_file;	/* the file read, if any */
};

const struct conf_key	*conf_keys(size_t *);
int		 conf_find(const char *, size_t);
void		 conf_init(struct conf *);
void		 conf_free(struct conf *);
int		 conf_set(struct conf *, int, const char *, enum conf_src, int,
		    char [CONF_ERRLEN]);
int		 conf_check(int, const char *, char *, size_t,
		    char [CONF_ERRLEN]);
int		 conf_parse(struct conf *, const char *, const char *, size_t,
		    char [CONF_ERRLEN]);
int		 conf_load(struct conf *, const char *, char [CONF_ERRLEN]);
int		 conf_env(struct conf *, char *const *, const struct conf *,
		    char [CONF_ERRLEN]);
void		 conf_merge(struct conf *, const struct conf *);
const char	*conf_get(const struct conf *, const char *);
const char	*conf_raw(const struct conf *, const char *);
const struct conf_val *conf_val(const struct conf *, const char *);
int		 conf_bool(const char *);

#endif
