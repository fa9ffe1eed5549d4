/*
 * htab.h -- a hash table from byte-string keys to pointers.  Keys are
 * copied; values are the caller's.  Grows by doubling; never shrinks
 * below its initial size.
 */
#ifndef GW_HTAB_H
#define GW_HTAB_H

#include <stddef.h>

struct htab;

struct htab_iter {
	struct htab	*hi_tab;
	size_t		 hi_slot;
	void		*hi_ent;
};

struct htab	*htab_new(void);
void		 htab_free(struct htab *);
size_t		 htab_count(const struct htab *);
void		*htab_get(const struct htab *, const char *, size_t);
void		*htab_put(struct htab *, const char *, size_t, void *);
void		*htab_del(struct htab *, const char *, size_t);
void		 htab_iter_init(struct htab *, struct htab_iter *);
void		 htab_iter_at(struct htab *, struct htab_iter *, size_t);
int		 htab_iter_next(struct htab_iter *, const char **, size_t *,
		    void **);

#endif
