/*
 * xmalloc.h -- allocation that cannot fail: on exhaustion the process
 * logs and exits (1), and gw-supervise restarts it.  The only lib module
 * allowed to exit.
 */
#ifndef GW_XMALLOC_H
#define GW_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

#endif
