/*
 * htab.c -- see htab.h.
 *
 * Separate chaining over a power-of-two array of buckets.  Each entry is
 * one allocation holding its key.  Keys are channel names that clients
 * choose, so the hash is SipHash-2-4 keyed with 128 random bits per table:
 * without the key nobody can predict which names collide.
 *
 * The iterator remembers the entry after the one it returned, so deleting
 * the returned entry does not disturb it, and the table never shrinks, so
 * a deletion never moves the other entries.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/random.h>

#include "htab.h"
#include "xmalloc.h"

#define HTAB_MINBUCKETS	16

struct htab_ent {
	struct htab_ent	*he_next;
	uint64_t	 he_hash;
	size_t		 he_keylen;
	void		*he_val;
	char		 he_key[];	/* he_keylen bytes, then a NUL */
};

struct htab {
	struct htab_ent	**ht_buckets;
	size_t		  ht_nbuckets;	/* a power of two */
	size_t		  ht_count;
	uint64_t	  ht_k0, ht_k1;	/* the SipHash key */
};

/* x rotated left by b bits, 0 < b < 64. */
static inline uint64_t
rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);	\
	v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);	\
} while (0)

static uint64_t
htab_le64(const unsigned char *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* SipHash-2-4 of the n bytes at p under the key (k0, k1). */
static uint64_t
htab_siphash(uint64_t k0, uint64_t k1, const void *p, size_t n)
{
	const unsigned char	*s = p;
	uint64_t		 v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t		 v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t		 v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t		 v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t		 m;
	size_t			 i, left;

	for (i = 0; n - i >= 8; i += 8) {
		m = htab_le64(s + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The last block: 0..7 bytes left, and the length in the top byte. */
	m = (uint64_t)(n & 0xff) << 56;
	for (left = n - i; left > 0; left--)
		m |= (uint64_t)s[i + left - 1] << (8 * (left - 1));
	v3 ^= m;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * Fill the table's hash key from getrandom(2).  Should the kernel refuse
 * (it cannot, short of seccomp or a pre-3.17 kernel), fall back on the
 * clock, the pid and an address: weaker, but still not a constant.
 */
static void
htab_seed(struct htab *t)
{
	unsigned char	 buf[16];
	size_t		 got = 0;
	ssize_t		 r;
	struct timespec	 ts;
	int		 tries = 0;

	while (got < sizeof(buf) && tries++ < 8) {
		r = getrandom(buf + got, sizeof(buf) - got, 0);
		if (r > 0)
			got += (size_t)r;
		else if (r == -1 && errno != EINTR)
			break;
	}
	if (got < sizeof(buf)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t->ht_k0 = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32;
		t->ht_k1 = (uint64_t)getpid() ^ (uint64_t)(uintptr_t)t;
		t->ht_k0 = htab_siphash(t->ht_k0, t->ht_k1, buf, sizeof(buf));
		return;
	}
	t->ht_k0 = htab_le64(buf);
	t->ht_k1 = htab_le64(buf + 8);
}

/*
 * Create an empty table.  Never returns NULL: allocation failure exits
 * (xmalloc.h).  Free it with htab_free().
 */
struct htab *
htab_new(void)
{
	struct htab	*t;

	t = xcalloc(1, sizeof(*t));
	t->ht_nbuckets = HTAB_MINBUCKETS;
	t->ht_buckets = xcalloc(t->ht_nbuckets, sizeof(*t->ht_buckets));
	htab_seed(t);
	return t;
}

/*
 * Free the table t and its copies of the keys.  The values are the
 * caller's and are left alone.  t may be NULL.
 */
void
htab_free(struct htab *t)
{
	struct htab_ent	*e, *next;
	size_t		 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ht_nbuckets; i++)
		for (e = t->ht_buckets[i]; e != NULL; e = next) {
			next = e->he_next;
			free(e);
		}
	free(t->ht_buckets);
	free(t);
}

/* Return the number of entries in t. */
size_t
htab_count(const struct htab *t)
{
	return t->ht_count;
}

/*
 * Find the entry for key, and set *prevp to the link that points at it
 * (for unlinking).  Returns NULL if the key is absent.
 */
static struct htab_ent *
htab_find(const struct htab *t, const char *key, size_t keylen,
    uint64_t h, struct htab_ent ***prevp)
{
	struct htab_ent	**pp, *e;

	pp = &t->ht_buckets[h & (t->ht_nbuckets - 1)];
	for (; (e = *pp) != NULL; pp = &e->he_next)
		if (e->he_hash == h && e->he_keylen == keylen &&
		    (keylen == 0 || memcmp(e->he_key, key, keylen) == 0)) {
			if (prevp != NULL)
				*prevp = pp;
			return e;
		}
	return NULL;
}

/*
 * Return the value stored under the keylen bytes at key (any bytes, NUL
 * included), or NULL if there is none.
 */
void *
htab_get(const struct htab *t, const char *key, size_t keylen)
{
	struct htab_ent	*e;
	uint64_t	 h;

	h = htab_siphash(t->ht_k0, t->ht_k1, key, keylen);
	if ((e = htab_find(t, key, keylen, h, NULL)) == NULL)
		return NULL;
	return e->he_val;
}

/* Double the number of buckets, unless that would overflow. */
static void
htab_grow(struct htab *t)
{
	struct htab_ent	**nb, *e, *next;
	size_t		  i, n, mask;

	if (t->ht_nbuckets > SIZE_MAX / 2 / sizeof(*nb))
		return;
	n = t->ht_nbuckets * 2;
	mask = n - 1;
	nb = xcalloc(n, sizeof(*nb));
	for (i = 0; i < t->ht_nbuckets; i++)
		for (e = t->ht_buckets[i]; e != NULL; e = next) {
			next = e->he_next;
			e->he_next = nb[e->he_hash & mask];
			nb[e->he_hash & mask] = e;
		}
	free(t->ht_buckets);
	t->ht_buckets = nb;
	t->ht_nbuckets = n;
}

/*
 * Store val under a copy of the keylen bytes at key, replacing any value
 * already there.  Returns the value replaced, or NULL if the key was new
 * (or its value was NULL).  Replacing the value of an existing key is
 * allowed while iterating; adding a new key is not (the table may grow).
 */
void *
htab_put(struct htab *t, const char *key, size_t keylen, void *val)
{
	struct htab_ent	*e;
	uint64_t	 h;
	size_t		 b;
	void		*old;

	h = htab_siphash(t->ht_k0, t->ht_k1, key, keylen);
	if ((e = htab_find(t, key, keylen, h, NULL)) != NULL) {
		old = e->he_val;
		e->he_val = val;
		return old;
	}
	e = xmalloc(sizeof(*e) + keylen + 1);
	e->he_hash = h;
	e->he_keylen = keylen;
	e->he_val = val;
	if (keylen > 0)
		memcpy(e->he_key, key, keylen);
	e->he_key[keylen] = '\0';
	b = h & (t->ht_nbuckets - 1);
	e->he_next = t->ht_buckets[b];
	t->ht_buckets[b] = e;
	t->ht_count++;
	/* Load above 0.75: count / nbuckets > 3 / 4. */
	if (t->ht_count > t->ht_nbuckets / 4 * 3)
		htab_grow(t);
	return NULL;
}

/*
 * Remove the entry for the keylen bytes at key.  Returns its value, or
 * NULL if there was none.  While iterating, only the entry that
 * htab_iter_next() just returned may be removed; its key pointer is then
 * no longer valid.
 */
void *
htab_del(struct htab *t, const char *key, size_t keylen)
{
	struct htab_ent	*e, **pp;
	uint64_t	 h;
	void		*val;

	h = htab_siphash(t->ht_k0, t->ht_k1, key, keylen);
	if ((e = htab_find(t, key, keylen, h, &pp)) == NULL)
		return NULL;
	*pp = e->he_next;
	val = e->he_val;
	free(e);
	t->ht_count--;
	return val;
}

/* Start an iteration over t in it, in no particular order. */
void
htab_iter_init(struct htab *t, struct htab_iter *it)
{
	it->hi_tab = t;
	it->hi_slot = 0;
	it->hi_ent = NULL;
}

/*
 * Start an iteration over t in it at bucket slot: a cursor taken from an
 * earlier iteration's hi_slot when its hi_ent was NULL (a bucket's chain
 * done).  The table may have changed since: entries added or removed, or
 * the table grown, since doubling sends every entry of a bucket at or
 * past slot to a bucket at or past it, the rest of the iteration sees
 * every entry the first part did not (and some of those it did).
 */
void
htab_iter_at(struct htab *t, struct htab_iter *it, size_t slot)
{
	it->hi_tab = t;
	it->hi_slot = slot;
	it->hi_ent = NULL;
}

/*
 * Step the iteration it: set *key, *keylen and *val (each may be NULL)
 * to the next entry and return 1, or return 0 when every entry has been
 * seen.  The key stays valid until the entry is removed or the table
 * freed; it is followed by a NUL byte that is not part of it.
 */
int
htab_iter_next(struct htab_iter *it, const char **key, size_t *keylen,
    void **val)
{
	struct htab	*t = it->hi_tab;
	struct htab_ent	*e;

	while (it->hi_ent == NULL) {
		if (it->hi_slot >= t->ht_nbuckets)
			return 0;
		it->hi_ent = t->ht_buckets[it->hi_slot++];
	}
	e = it->hi_ent;
	/* Remember the next one now: the caller may delete e. */
	it->hi_ent = e->he_next;
	if (key != NULL)
		*key = e->he_key;
	if (keylen != NULL)
		*keylen = e->he_keylen;
	if (val != NULL)
		*val = e->he_val;
	return 1;
}
