/*
 * hist.c -- a log-linear histogram of latencies in nanoseconds: values
 * below HIST_SUB have a bucket each; above, every power of two is split
 * into HIST_SUB equal steps, so a bucket is at most 1/HIST_SUB of its
 * value wide.  Fixed size, no allocation.
 */
#include <stdint.h>

#include "bench.h"

static unsigned
hist_index(uint64_t v)
{
	unsigned	e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);	/* e >= HIST_SUBBITS */
	return (e - HIST_SUBBITS + 1) * HIST_SUB +
	    (unsigned)((v >> (e - HIST_SUBBITS)) & (HIST_SUB - 1));
}

/* The largest value that falls in bucket i. */
static uint64_t
hist_upper(unsigned i)
{
	unsigned	e, sub;

	if (i < HIST_SUB)
		return i;
	e = i / HIST_SUB + HIST_SUBBITS - 1;
	sub = i % HIST_SUB;
	if (e >= 63 && sub == HIST_SUB - 1)
		return UINT64_MAX;
	return ((uint64_t)(HIST_SUB + sub + 1) << (e - HIST_SUBBITS)) - 1;
}

/* Count one value v in h. */
void
hist_add(struct hist *h, uint64_t v)
{
	h->h_n[hist_index(v)]++;
	h->h_count++;
	h->h_sum += v;
	if (v > h->h_max)
		h->h_max = v;
}

/* Add the counts of src to dst. */
void
hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned	i;

	for (i = 0; i < HIST_NBUCKETS; i++)
		dst->h_n[i] += src->h_n[i];
	dst->h_count += src->h_count;
	dst->h_sum += src->h_sum;
	if (src->h_max > dst->h_max)
		dst->h_max = src->h_max;
}

/*
 * Return the q-quantile (0 < q <= 1) of h: the upper bound of the bucket
 * that holds it, never above the largest value seen; 0 if h is empty.
 */
uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t	rank, seen = 0, up;
	unsigned	i;

	if (h->h_count == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->h_count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->h_count)
		rank = h->h_count;
	for (i = 0; i < HIST_NBUCKETS; i++) {
		seen += h->h_n[i];
		if (seen >= rank) {
			up = hist_upper(i);
			return up < h->h_max ? up : h->h_max;
		}
	}
	return h->h_max;
}
