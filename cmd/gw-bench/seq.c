/*
 * seq.c -- a reconnect storm's victim's sequence numbers (resume.c): a
 * contiguous high water mark, and a bitmap of those above it that came
 * while something below them is missing.
 */
#include <stdlib.h>

#include "bench.h"
#include "xmalloc.h"

#define SEQWORDS	(BENCH_SEQBITS / 64)

static int	seq_test(const struct victim *, uint64_t);
static void	seq_flip(struct victim *, uint64_t);
static void	seq_settle(struct victim *);
static void	seq_slide(struct victim *, uint64_t, struct rec_resume *);

/* Whether bit s (mod BENCH_SEQBITS) of v's bitmap is set. */
static int
seq_test(const struct victim *v, uint64_t s)
{
	uint64_t	b = s % BENCH_SEQBITS;

	return (int)((v->v_bits[b / 64] >> (b % 64)) & 1);
}

/* Flip bit s (mod BENCH_SEQBITS) of v's bitmap. */
static void
seq_flip(struct victim *v, uint64_t s)
{
	uint64_t	b = s % BENCH_SEQBITS;

	v->v_bits[b / 64] ^= (uint64_t)1 << (b % 64);
}

/*
 * Track sequence number s (from 1) of v's channel.  The bitmap, when
 * there is one, holds the numbers from v_hwm + 2 to v_hwm +
 * BENCH_SEQBITS that came (bit s mod BENCH_SEQBITS); a number beyond
 * moves the mark up first, counting what never came below it in
 * rs_overflow.  Return SEQ_ADVANCE if s moved the mark (or was the
 * first), SEQ_NEW if it came above a gap (rs_reorder), SEQ_DUP if it
 * had come before (rs_dup).
 */
int
seq_track(struct victim *v, uint64_t s, struct rec_resume *rs)
{
	if (v->v_hwm == 0) {
		v->v_hwm = s;
		return SEQ_ADVANCE;
	}
	if (s <= v->v_hwm) {
		rs->rs_dup++;
		return SEQ_DUP;
	}
	if (s - v->v_hwm > BENCH_SEQBITS)
		seq_slide(v, s - BENCH_SEQBITS, rs);
	if (s == v->v_hwm + 1) {
		v->v_hwm = s;
		seq_settle(v);
		return SEQ_ADVANCE;
	}
	if (v->v_bits == NULL)
		v->v_bits = xcalloc(SEQWORDS, sizeof(*v->v_bits));
	else if (seq_test(v, s)) {
		rs->rs_dup++;
		return SEQ_DUP;
	}
	seq_flip(v, s);
	v->v_nbits++;
	rs->rs_reorder++;
	return SEQ_NEW;
}

/*
 * Move the mark over the numbers that came just above it; free the
 * bitmap when nothing is held any more.
 */
static void
seq_settle(struct victim *v)
{
	while (v->v_bits != NULL && v->v_nbits > 0 &&
	    seq_test(v, v->v_hwm + 1)) {
		seq_flip(v, v->v_hwm + 1);
		v->v_nbits--;
		v->v_hwm++;
	}
	if (v->v_bits != NULL && v->v_nbits == 0) {
		free(v->v_bits);
		v->v_bits = NULL;
	}
}

/*
 * Move v's mark up to h (above it): the numbers up to h that never came
 * are counted in rs_overflow; then settle.
 */
static void
seq_slide(struct victim *v, uint64_t h, struct rec_resume *rs)
{
	if (h - v->v_hwm >= BENCH_SEQBITS) {
		/* Everything held is at or below h. */
		rs->rs_overflow += h - v->v_hwm - v->v_nbits;
		free(v->v_bits);
		v->v_bits = NULL;
		v->v_nbits = 0;
		v->v_hwm = h;
		return;
	}
	while (v->v_hwm < h) {	/* fewer than BENCH_SEQBITS steps */
		v->v_hwm++;
		if (v->v_bits != NULL && seq_test(v, v->v_hwm)) {
			seq_flip(v, v->v_hwm);
			v->v_nbits--;
		} else
			rs->rs_overflow++;
	}
	seq_settle(v);
}
