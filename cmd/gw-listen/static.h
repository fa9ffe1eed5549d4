/*
 * static.h -- gw-listen's in-memory file server for the demo page: the
 * files of DIR/demo and DIR/js/gw-client.js, read once at start.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include <stddef.h>
#include <stdint.h>

#define STATIC_MAXFILES	32		/* files in DIR/demo */
#define STATIC_MAXSIZE	(1024 * 1024)	/* bytes per file */
#define STATIC_MAXNAME	64		/* bytes of a file name in DIR/demo */

struct static_file {
	const char	*sf_name;	/* e.g. "demo/index.html" */
	const char	*sf_type;	/* Content-Type */
	uint8_t		*sf_data;
	size_t		 sf_len;
};

/* static.c */
int	 static_load(const char *, char *, size_t);
const struct static_file *static_find(const char *, size_t);
void	 static_free(void);

#endif
