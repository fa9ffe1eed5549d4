/*
 * htab_test.c -- the hash table against a plain array, with keys that
 * hold NUL bytes, replace and delete semantics, and deletion during
 * iteration.
 *
 * htab.c is included rather than linked so that its static SipHash can
 * be checked against the reference vectors and the load factor can be
 * read; libgw.a's htab.o is then never pulled in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htab.c"
#include "tap.h"

#define V(i)	((void *)(uintptr_t)(i))

static void
test_siphash(void)
{
	/* SipHash-2-4, key 00..0f, message 00..(n-1) (Aumasson, Bernstein). */
	static const struct {
		size_t		n;
		uint64_t	h;
	} vec[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },
		{ 1, 0x74f839c593dc67fdULL },
		{ 7, 0xab0200f58b01d137ULL },
		{ 8, 0x93f5f5799a932462ULL },
		{ 15, 0xa129ca6149be45e5ULL },
	};
	unsigned char	key[16], msg[64];
	uint64_t	k0, k1, h;
	size_t		i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	k0 = htab_le64(key);
	k1 = htab_le64(key + 8);
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		h = htab_siphash(k0, k1, msg, vec[i].n);
		ok(h == vec[i].h, "siphash of %zu bytes: %016llx", vec[i].n,
		    (unsigned long long)h);
	}
}

static void
test_basic(void)
{
	struct htab	*t, *u;
	char		 k[8];

	t = htab_new();
	ok(htab_count(t) == 0, "new table is empty");
	ok(htab_get(t, "a", 1) == NULL, "get on empty table");
	ok(htab_del(t, "a", 1) == NULL, "del on empty table");
	ok(htab_put(t, "a", 1, V(1)) == NULL, "put new key returns NULL");
	ok(htab_get(t, "a", 1) == V(1), "get finds it");
	ok(htab_put(t, "a", 1, V(2)) == V(1),
	    "put again returns the old value");
	ok(htab_get(t, "a", 1) == V(2) && htab_count(t) == 1,
	    "replaced, count still 1");
	ok(htab_get(t, "ab", 1) == V(2), "only keylen bytes of the key count");
	ok(htab_get(t, "ab", 2) == NULL, "\"ab\" is another key");
	ok(htab_get(t, "A", 1) == NULL, "keys are case-sensitive");

	/* NUL bytes are ordinary key bytes. */
	ok(htab_put(t, "a\0b", 3, V(3)) == NULL, "put \"a\\0b\"");
	ok(htab_put(t, "a\0c", 3, V(4)) == NULL, "put \"a\\0c\"");
	ok(htab_put(t, "a\0", 2, V(5)) == NULL, "put \"a\\0\"");
	ok(htab_put(t, "\0", 1, V(6)) == NULL, "put \"\\0\"");
	ok(htab_put(t, "", 0, V(7)) == NULL, "put the empty key");
	ok(htab_count(t) == 6, "six keys");
	ok(htab_get(t, "a\0b", 3) == V(3) && htab_get(t, "a\0c", 3) == V(4) &&
	    htab_get(t, "a\0", 2) == V(5) && htab_get(t, "a", 1) == V(2) &&
	    htab_get(t, "\0", 1) == V(6) && htab_get(t, "", 0) == V(7) &&
	    htab_get(t, NULL, 0) == V(7), "each finds its own value");
	ok(htab_del(t, "a\0", 2) == V(5) && htab_get(t, "a\0", 2) == NULL &&
	    htab_get(t, "a\0b", 3) == V(3) && htab_get(t, "a", 1) == V(2),
	    "deleting \"a\\0\" leaves its neighbours");
	ok(htab_del(t, "a\0", 2) == NULL, "deleting it twice returns NULL");
	ok(htab_count(t) == 5, "five keys");
	ok(htab_del(t, "", 0) == V(7) && htab_count(t) == 4,
	    "delete the empty key");

	/* The key is copied. */
	memcpy(k, "chan:1", 7);
	htab_put(t, k, 6, V(8));
	memcpy(k, "XXXXXX", 7);
	ok(htab_get(t, "chan:1", 6) == V(8) && htab_get(t, k, 6) == NULL,
	    "the table keeps its own copy of the key");

	/* A NULL value is stored like any other. */
	ok(htab_put(t, "nil", 3, NULL) == NULL && htab_count(t) == 6,
	    "a NULL value counts");
	ok(htab_put(t, "nil", 3, V(9)) == NULL && htab_count(t) == 6,
	    "replacing NULL returns NULL");

	u = htab_new();
	ok(t->ht_k0 != u->ht_k0 || t->ht_k1 != u->ht_k1,
	    "each table has its own hash key");
	htab_free(u);
	htab_free(t);
	htab_free(NULL);
}

/* The reference: a plain array of keys, searched linearly. */
#define NKEYS	341		/* 1 + 4 + 16 + 64 + 256: lengths 0..4 */

struct ref {
	char	k[4];
	size_t	len;
	void	*val;
	int	present;
	int	seen;
};

static struct ref	refs[NKEYS];

static void
ref_init(void)
{
	static const char	alpha[4] = { 'a', '\0', 'b', '\xff' };
	size_t			i = 0, len, j, x;

	for (len = 0; len <= 4; len++) {
		size_t	count = (size_t)1 << (2 * len);

		for (x = 0; x < count; x++, i++) {
			refs[i].len = len;
			for (j = 0; j < len; j++)
				refs[i].k[j] = alpha[x >> (2 * j) & 3];
		}
	}
}

/* Iterate over t and compare with the reference; returns mismatches. */
static int
ref_check(struct htab *t)
{
	struct htab_iter	 it;
	const char		*k;
	size_t			 kl, i, n = 0, want = 0;
	void			*v;
	int			 bad = 0, found;

	for (i = 0; i < NKEYS; i++) {
		refs[i].seen = 0;
		if (refs[i].present)
			want++;
		if (htab_get(t, refs[i].k, refs[i].len) !=
		    (refs[i].present ? refs[i].val : NULL))
			bad++;
	}
	htab_iter_init(t, &it);
	while (htab_iter_next(&it, &k, &kl, &v)) {
		if (++n > want + 1)
			return bad + 1;
		found = 0;
		for (i = 0; i < NKEYS; i++)
			if (refs[i].len == kl &&
			    memcmp(refs[i].k, k, kl) == 0) {
				found = 1;
				if (!refs[i].present || refs[i].seen++ ||
				    refs[i].val != v || k[kl] != '\0')
					bad++;
			}
		if (!found)
			bad++;
	}
	if (n != want || htab_count(t) != want)
		bad++;
	return bad;
}

static void
test_reference(void)
{
	struct htab	*t;
	struct ref	*r;
	void		*got, *want, *val;
	int		 i, bad = 0, checks = 0, maxload_bad = 0;

	ref_init();
	t = htab_new();
	for (i = 0; i < 300000; i++) {
		r = &refs[tap_rand() % NKEYS];
		want = r->present ? r->val : NULL;
		switch (tap_rand() % 3) {
		case 0:
		case 1:
			val = V(i + 1);
			got = htab_put(t, r->k, r->len, val);
			r->val = val;
			r->present = 1;
			break;
		default:
			got = htab_del(t, r->k, r->len);
			r->present = 0;
			break;
		}
		if (got != want)
			bad++;
		if (t->ht_count * 4 > t->ht_nbuckets * 3 ||
		    (t->ht_nbuckets & (t->ht_nbuckets - 1)) != 0)
			maxload_bad++;
		if (i % 5000 == 0) {
			checks++;
			bad += ref_check(t);
		}
	}
	bad += ref_check(t);
	ok(bad == 0, "300000 random puts and deletes match the reference "
	    "(%d checks, %d bad)", checks, bad);
	ok(maxload_bad == 0, "load never above 0.75, buckets a power of two");
	htab_free(t);
}

static void
test_grow(void)
{
	struct htab	*t;
	char		 k[32];
	int		 i, n, bad = 0;
	size_t		 used = 0, b;

	t = htab_new();
	for (i = 0; i < 100000; i++) {
		n = snprintf(k, sizeof(k), "channel:%d", i);
		htab_put(t, k, (size_t)n, V(i + 1));
	}
	ok(htab_count(t) == 100000, "100000 keys");
	ok(t->ht_nbuckets == 262144, "grew to %zu buckets", t->ht_nbuckets);
	for (i = 0; i < 100000; i++) {
		n = snprintf(k, sizeof(k), "channel:%d", i);
		if (htab_get(t, k, (size_t)n) != V(i + 1))
			bad++;
	}
	ok(bad == 0, "all found after growing (%d bad)", bad);
	/*
	 * Similar names must spread like random ones: 100000 keys thrown
	 * at random into 262144 buckets fill about 83000 of them.
	 */
	for (b = 0; b < t->ht_nbuckets; b++)
		used += t->ht_buckets[b] != NULL;
	ok(used > 80000, "%zu buckets in use", used);
	for (i = 0; i < 100000; i += 2) {
		n = snprintf(k, sizeof(k), "channel:%d", i);
		if (htab_del(t, k, (size_t)n) != V(i + 1))
			bad++;
	}
	for (i = 0; i < 100000; i++) {
		n = snprintf(k, sizeof(k), "channel:%d", i);
		if (htab_get(t, k, (size_t)n) != (i % 2 ? V(i + 1) : NULL))
			bad++;
	}
	ok(bad == 0 && htab_count(t) == 50000, "half deleted (%d bad)", bad);
	htab_free(t);
}

static void
test_iter_delete(void)
{
	struct htab		*t;
	struct htab_iter	 it;
	const char		*k;
	size_t			 kl;
	void			*v;
	char			 key[16], seen[1000];
	int			 i, n, bad = 0, visits = 0;

	t = htab_new();
	htab_iter_init(t, &it);
	ok(htab_iter_next(&it, &k, &kl, &v) == 0, "empty table: no entries");
	for (i = 0; i < 1000; i++) {
		n = snprintf(key, sizeof(key), "k%d", i);
		htab_put(t, key, (size_t)n, V(i + 1));
	}

	/* Delete every even entry as it is returned. */
	memset(seen, 0, sizeof(seen));
	htab_iter_init(t, &it);
	while (htab_iter_next(&it, &k, &kl, &v)) {
		i = (int)(uintptr_t)v - 1;
		if (i < 0 || i >= 1000 || seen[i]++)
			bad++;
		visits++;
		if (i % 2 == 0 && htab_del(t, k, kl) != v)
			bad++;
	}
	ok(bad == 0 && visits == 1000, "deleting evens while iterating: "
	    "%d visits, %d bad", visits, bad);
	ok(htab_count(t) == 500, "500 left");

	/* Replace every value, then delete everything while iterating. */
	visits = 0;
	htab_iter_init(t, &it);
	while (htab_iter_next(&it, &k, &kl, &v)) {
		visits++;
		if (htab_put(t, k, kl, V((uintptr_t)v + 5000)) != v)
			bad++;
	}
	ok(bad == 0 && visits == 500 && htab_count(t) == 500,
	    "replacing while iterating (%d visits)", visits);
	memset(seen, 0, sizeof(seen));
	visits = 0;
	htab_iter_init(t, &it);
	while (htab_iter_next(&it, NULL, NULL, &v)) {
		i = (int)(uintptr_t)v - 5001;
		if (i < 0 || i >= 1000 || i % 2 == 0 || seen[i]++)
			bad++;
		visits++;
		n = snprintf(key, sizeof(key), "k%d", i);
		if (htab_del(t, key, (size_t)n) != v)
			bad++;
	}
	ok(bad == 0 && visits == 500 && htab_count(t) == 0,
	    "deleting everything while iterating: %d visits, %d bad",
	    visits, bad);
	htab_iter_init(t, &it);
	ok(htab_iter_next(&it, &k, &kl, &v) == 0, "nothing left to visit");
	ok(htab_iter_next(&it, &k, &kl, &v) == 0, "and it stays finished");
	htab_free(t);
}

/*
 * A scan in steps (htab_iter_at()): stopped at a bucket's end, the table
 * grown by new keys and some old ones removed, then resumed.  Every old
 * key still there is seen, whichever step saw it.
 */
static void
test_iter_at(void)
{
	struct htab		*t;
	struct htab_iter	 it;
	const char		*k;
	size_t			 kl, cursor = 0, before;
	void			*v;
	char			 key[16], seen[1000];
	int			 i, n, bad = 0, step, done = 0, missed = 0;

	t = htab_new();
	for (i = 0; i < 300; i++) {
		n = snprintf(key, sizeof(key), "k%d", i);
		htab_put(t, key, (size_t)n, V(i + 1));
	}
	before = t->ht_nbuckets;
	memset(seen, 0, sizeof(seen));
	for (step = 0; !done && step < 1000; step++) {
		htab_iter_at(t, &it, cursor);
		n = 0;
		done = 1;
		while (htab_iter_next(&it, &k, &kl, &v)) {
			i = (int)(uintptr_t)v - 1;
			if (i < 0 || i >= 1000)
				bad++;
			else
				seen[i] = 1;
			/* A step ends with a bucket, after 20 entries. */
			if (++n >= 20 && it.hi_ent == NULL) {
				cursor = it.hi_slot;
				done = 0;
				break;
			}
		}
		if (step == 2) {
			/* Grow the table, and drop every third old key. */
			for (i = 300; i < 1000; i++) {
				n = snprintf(key, sizeof(key), "k%d", i);
				htab_put(t, key, (size_t)n, V(i + 1));
			}
			for (i = 0; i < 300; i += 3) {
				n = snprintf(key, sizeof(key), "k%d", i);
				htab_del(t, key, (size_t)n);
			}
		}
	}
	for (i = 0; i < 300; i++)
		if (i % 3 != 0 && !seen[i])
			missed++;
	ok(t->ht_nbuckets > before, "the table grew during the scan "
	    "(%zu -> %zu buckets)", before, t->ht_nbuckets);
	ok(done && step > 3, "the scan ended, in %d steps", step);
	ok(bad == 0 && missed == 0, "every old key still there seen by a "
	    "scan in steps: %d missed, %d bad", missed, bad);
	htab_free(t);
}

int
main(void)
{
	test_siphash();
	test_basic();
	test_reference();
	test_grow();
	test_iter_delete();
	test_iter_at();
	return tap_done();
}
