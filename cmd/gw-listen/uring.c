/*
 * uring.c -- many sends, or many receives, in one system call.  At the
 * end of a loop iteration every connection with frames queued gets one
 * send; with a writev each, a fan-out to 10 000 sockets is 10 000 system
 * calls, and on this kind of machine the entry and exit of each is a
 * third of a send's cost (docs/BENCH.md).  An io_uring takes up to
 * URING_BATCH of them per io_uring_enter().  Every send carries
 * MSG_DONTWAIT: a socket whose buffer is full completes at once with
 * -EAGAIN (the kernel arms no poll of its own), so all requests of a
 * batch are complete when io_uring_enter() returns, as with writev; no
 * buffer is lent to the kernel past the call.
 *
 * Receives: where the kernel has multishot receives and buffers shared
 * by many of them (incremental buffer rings, Linux 6.12), each upgraded
 * connection gets one receive request, armed once (uring_ms_arm()),
 * which posts a completion for every chunk that comes, in a buffer of a
 * ring the kernel takes from as it needs (URING_MS_BUFS of
 * URING_MS_BUFSZ, a pong taking six bytes of one): no readiness through
 * the event loop and no request per read; the loop watches the ring's
 * descriptor instead.  Elsewhere (or with GW_LISTEN_NO_MULTISHOT set)
 * the connections found readable by the loop are read together, a batch
 * of receives with MSG_DONTWAIT like the sends.
 *
 * The ring is set up with the system calls themselves (no liburing):
 * one ring, single issuer.  If the kernel has no io_uring (or it is
 * disabled, or --no-io-uring), the callers use writev and read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <linux/io_uring.h>

#include "uring.h"
#include "xmalloc.h"

/*
 * The submission queue holds a batch and the multishot requests queued
 * for the next submit (up to URING_BATCH of each); the completion queue
 * also takes what the armed receives post between two harvests.
 */
#define URING_ENTRIES	(2 * URING_BATCH)
#define URING_CQ_ENTRIES 8192
#define URING_TAG_MS	(1ULL << 62)	/* user_data: a multishot receive */
#define URING_TAG_CANCEL (1ULL << 61)	/* user_data: its cancel */
/* Newer than Debian 12's headers (Linux 6.12). */
#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC	2
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE	(1U << 4)
#endif

/*
 * struct io_uring_buf_reg, whose fourth field is "pad" in older headers
 * and "flags" in newer ones: the layout the kernel reads, named here.
 */
struct uring_buf_reg {
	uint64_t	ring_addr;
	uint32_t	ring_entries;
	uint16_t	bgid;
	uint16_t	flags;
	uint64_t	resv[3];
};
_Static_assert(sizeof(struct uring_buf_reg) ==
    sizeof(struct io_uring_buf_reg), "io_uring_buf_reg layout");

static struct {
	int			 fd;
	unsigned		*sq_tail;
	unsigned		*sq_mask;
	unsigned		*sq_array;
	unsigned		*sq_flags;
	unsigned		*cq_head;
	unsigned		*cq_tail;
	unsigned		*cq_mask;
	struct io_uring_cqe	*cqes;
	struct io_uring_sqe	*sqes;
	void			*ring;
	size_t			 ringsz;
	size_t			 sqesz;
	int			 disabled;
	unsigned		 nq;	/* SQEs queued, not submitted yet */
	unsigned		 nlate;	/* published, the kernel refused them */
} u = { .fd = -1 };

/*
 * Multishot receives: one request per connection, armed once, posts a
 * completion for each chunk that comes, in a buffer the kernel takes
 * from the ring of URING_MS_BUFS; no poll of the socket by the event
 * loop, no request per read.  Completions wait in pend (a FIFO) until
 * uring_ms_next() hands them out.
 */
static struct {
	int			 on;
	struct io_uring_buf_ring *br;
	size_t			 brsz;
	uint8_t			*bufs;
	uint16_t		 tail;
	uint32_t		 off[URING_MS_BUFS];	/* taken so far */
	struct uring_ms		*pend;
	size_t			 phead, ptail, pcap;
} ms;

static struct uring_stats ust;

static void	uring_ms_setup(void);
static void	uring_ms_push(const struct io_uring_cqe *);

static int
uring_setup(unsigned entries, struct io_uring_params *p, unsigned flags)
{
	memset(p, 0, sizeof(*p));
	p->flags = flags;
	p->cq_entries = URING_CQ_ENTRIES;
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

/*
 * Set the ring up, unless uring_disable() was called.  Return value: 0 if
 * sends and reads go through the ring from now on, -1 if not (errno set;
 * the callers use writev and read).
 */
int
uring_init(void)
{
	struct io_uring_params	p;
	size_t			sqsz, cqsz;
	char			*r;
	int			newer = 1;

	if (u.disabled) {
		errno = ENOTSUP;
		return -1;
	}
	/* Newest flags first; older kernels refuse them with EINVAL. */
	u.fd = uring_setup(URING_ENTRIES, &p, IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
	    IORING_SETUP_CQSIZE);
	if (u.fd == -1 && errno == EINVAL) {
		newer = 0;
		u.fd = uring_setup(URING_ENTRIES, &p, 0);
	}
	if (u.fd == -1)
		return -1;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP) ||
	    p.sq_entries < URING_BATCH || p.cq_entries < URING_BATCH) {
		close(u.fd);
		u.fd = -1;
		errno = ENOTSUP;
		return -1;
	}
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	u.ringsz = sqsz > cqsz ? sqsz : cqsz;
	u.ring = mmap(NULL, u.ringsz, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, u.fd, IORING_OFF_SQ_RING);
	if (u.ring == MAP_FAILED)
		goto fail;
	u.sqesz = p.sq_entries * sizeof(struct io_uring_sqe);
	u.sqes = mmap(NULL, u.sqesz, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, u.fd, IORING_OFF_SQES);
	if (u.sqes == MAP_FAILED) {
		munmap(u.ring, u.ringsz);
		goto fail;
	}
	r = u.ring;
	u.sq_tail = (unsigned *)(r + p.sq_off.tail);
	u.sq_mask = (unsigned *)(r + p.sq_off.ring_mask);
	u.sq_array = (unsigned *)(r + p.sq_off.array);
	u.sq_flags = (unsigned *)(r + p.sq_off.flags);
	u.cq_head = (unsigned *)(r + p.cq_off.head);
	u.cq_tail = (unsigned *)(r + p.cq_off.tail);
	u.cq_mask = (unsigned *)(r + p.cq_off.ring_mask);
	u.cqes = (struct io_uring_cqe *)(r + p.cq_off.cqes);
	if (newer && getenv("GW_LISTEN_NO_MULTISHOT") == NULL)
		uring_ms_setup();
	return 0;
fail:
	close(u.fd);
	u.fd = -1;
	return -1;
}

/* Never use the ring (--no-io-uring); call before uring_init(). */
void
uring_disable(void)
{
	u.disabled = 1;
}

/* Is the ring in use? */
int
uring_on(void)
{
	return u.fd != -1;
}

/*
 * Take every completion in the ring: a multishot receive's waits for
 * uring_ms_next(), the answer to request i of the batch in hand (i < n)
 * goes to res[i].  Return value: the batch's answers taken.
 */
static int
uring_reap(int *res, int n)
{
	struct io_uring_cqe	*cqe;
	unsigned		 head, ctail;
	int			 got = 0;

	head = *u.cq_head;
	ctail = __atomic_load_n(u.cq_tail, __ATOMIC_ACQUIRE);
	for (; head != ctail; head++) {
		cqe = &u.cqes[head & *u.cq_mask];
		if (cqe->user_data & URING_TAG_MS)
			uring_ms_push(cqe);
		else if (cqe->user_data < (uint64_t)n &&
		    res[cqe->user_data] == -EINPROGRESS) {
			res[cqe->user_data] = cqe->res;
			got++;
		}
	}
	__atomic_store_n(u.cq_head, head, __ATOMIC_RELEASE);
	return got;
}

/*
 * Submit the n SQEs written from tail on, wait until all are answered,
 * and put each answer in res (by user_data).  If the ring itself fails
 * (it never should), the requests not answered get -EIO (whether the
 * kernel made them is unknown: the caller drops those connections rather
 * than send twice or lose input) and the ring is given up: uring_on() is
 * false from then on.
 */
static void
uring_run(unsigned tail, int *res, int n)
{
	unsigned		 nsub = u.nlate + u.nq + (unsigned)n;
	int			 i, got = 0, rv;

	__atomic_store_n(u.sq_tail, tail + n, __ATOMIC_RELEASE);
	u.nq = u.nlate = 0;
	ust.us_submits++;
	do {
		/* Asking to submit more than is queued submits what is. */
		rv = (int)syscall(__NR_io_uring_enter, u.fd, nsub,
		    (unsigned)(n - got), IORING_ENTER_GETEVENTS, NULL, 0);
		if (rv == -1 && errno != EINTR)
			break;
		got += uring_reap(res, n);
	} while (got < n);
	if (got == n)
		return;
	for (i = 0; i < n; i++)
		if (res[i] == -EINPROGRESS)
			res[i] = -EIO;
	munmap(u.sqes, u.sqesz);
	munmap(u.ring, u.ringsz);
	close(u.fd);
	u.fd = -1;
}

/* The SQE for request i of a batch starting at tail, cleared. */
static struct io_uring_sqe *
uring_sqe(unsigned tail, int i, int fd, int *res)
{
	struct io_uring_sqe	*sqe;
	unsigned		 idx = (tail + i) & *u.sq_mask;

	sqe = &u.sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->fd = fd;
	sqe->user_data = (uint64_t)i;
	u.sq_array[idx] = idx;
	res[i] = -EINPROGRESS;
	return sqe;
}

/*
 * Send msgs[i] on fds[i] for each i < n (n from 1 to URING_BATCH), each
 * with MSG_DONTWAIT, in one io_uring_enter(); res[i] gets the bytes sent
 * or -errno (-EIO if the ring failed, see uring_run()).  A message of one
 * buffer (a ping, a lone frame: most of them) goes as a plain send, which
 * spares the kernel the copy of its msghdr and iovec.
 */
void
uring_sendmsg_all(int *fds, struct msghdr *msgs, int *res, int n)
{
	struct io_uring_sqe	*sqe;
	unsigned		 tail = *u.sq_tail + u.nq;
	int			 i;

	for (i = 0; i < n; i++) {
		sqe = uring_sqe(tail, i, fds[i], res);
		if (msgs[i].msg_iovlen == 1) {
			sqe->opcode = IORING_OP_SEND;
			sqe->addr =
			    (uint64_t)(uintptr_t)msgs[i].msg_iov[0].iov_base;
			sqe->len = (uint32_t)msgs[i].msg_iov[0].iov_len;
		} else {
			sqe->opcode = IORING_OP_SENDMSG;
			sqe->addr = (uint64_t)(uintptr_t)&msgs[i];
			sqe->len = 1;
		}
		sqe->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	}
	ust.us_sends += n;
	uring_run(tail, res, n);
}

/*
 * Receive up to len bytes from fds[i] into bufs[i] for each i < n (n
 * from 1 to URING_BATCH), each with MSG_DONTWAIT, in one
 * io_uring_enter(); res[i] gets the bytes read (0 at EOF) or -errno
 * (-EAGAIN: nothing there; -EIO if the ring failed, see uring_run()).
 */
void
uring_recv_all(int *fds, uint8_t **bufs, size_t len, int *res, int n)
{
	struct io_uring_sqe	*sqe;
	unsigned		 tail = *u.sq_tail + u.nq;
	int			 i;

	for (i = 0; i < n; i++) {
		sqe = uring_sqe(tail, i, fds[i], res);
		sqe->opcode = IORING_OP_RECV;
		sqe->addr = (uint64_t)(uintptr_t)bufs[i];
		sqe->len = (uint32_t)len;
		sqe->msg_flags = MSG_DONTWAIT;
	}
	ust.us_recvs += n;
	uring_run(tail, res, n);
}

/* What the ring did so far, and whether it is in use. */
void
uring_get_stats(struct uring_stats *s)
{
	*s = ust;
	s->us_on = uring_on();
}

/*
 * Set up the buffers of the multishot receives and register them; if the
 * kernel refuses (older than 6.12: no incremental buffers), the
 * connections are read in batches as before.
 */
static void
uring_ms_setup(void)
{
	struct uring_buf_reg	 reg;
	int			 i;

	ms.brsz = URING_MS_BUFS * sizeof(struct io_uring_buf);
	ms.br = mmap(NULL, ms.brsz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ms.br == MAP_FAILED)
		return;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)ms.br;
	reg.ring_entries = URING_MS_BUFS;
	reg.bgid = 0;
	/*
	 * A receive takes only the bytes it needs of a buffer (a pong is
	 * six): without this, each took a whole one and a burst of pongs
	 * ran the ring dry.
	 */
	reg.flags = IOU_PBUF_RING_INC;
	if (syscall(__NR_io_uring_register, u.fd, IORING_REGISTER_PBUF_RING,
	    &reg, 1) != 0) {
		munmap(ms.br, ms.brsz);
		return;
	}
	ms.bufs = malloc((size_t)URING_MS_BUFS * URING_MS_BUFSZ);
	if (ms.bufs == NULL)
		return;		/* registered, never used */
	for (i = 0; i < URING_MS_BUFS; i++)
		uring_ms_recycle((uint16_t)i);
	ms.on = 1;
}

/* Do the connections receive through multishot requests? */
int
uring_ms_on(void)
{
	return ms.on && u.fd != -1;
}

/* The ring's descriptor: readable when completions wait (event loop). */
int
uring_fd(void)
{
	return u.fd;
}

/* Queue an SQE for the next submit, submitting the queue first if full. */
static struct io_uring_sqe *
uring_ms_sqe(void)
{
	struct io_uring_sqe	*sqe;
	unsigned		 idx;

	if (u.nq == URING_BATCH)
		uring_ms_submit();
	idx = (*u.sq_tail + u.nq) & *u.sq_mask;
	sqe = &u.sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	u.sq_array[idx] = idx;
	u.nq++;
	return sqe;
}

/*
 * Arm a multishot receive on fd: every chunk that comes is a completion
 * (uring_ms_next()) until one without um_more ends it.  Submitted
 * with the next batch, or by uring_ms_submit().
 */
void
uring_ms_arm(int fd)
{
	struct io_uring_sqe	*sqe = uring_ms_sqe();

	sqe->opcode = IORING_OP_RECV;
	sqe->fd = fd;
	sqe->ioprio = IORING_RECV_MULTISHOT;
	sqe->flags = IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	sqe->user_data = URING_TAG_MS | (uint32_t)fd;
	ust.us_arms++;
}

/* A connection's receive was cancelled for the batched reads (stats). */
void
uring_ms_count_off(void)
{
	ust.us_msoff++;
}

/* Cancel fd's multishot receive: its last completion follows. */
void
uring_ms_cancel(int fd)
{
	struct io_uring_sqe	*sqe = uring_ms_sqe();

	sqe->opcode = IORING_OP_ASYNC_CANCEL;
	sqe->fd = -1;
	sqe->addr = URING_TAG_MS | (uint32_t)fd;
	sqe->user_data = URING_TAG_CANCEL;
}

static void
uring_ms_push(const struct io_uring_cqe *cqe)
{
	struct uring_ms	*m;
	unsigned	 b;

	if (ms.ptail == ms.pcap) {
		if (ms.phead > 0) {
			memmove(ms.pend, ms.pend + ms.phead,
			    (ms.ptail - ms.phead) * sizeof(*ms.pend));
			ms.ptail -= ms.phead;
			ms.phead = 0;
		}
		if (ms.ptail == ms.pcap) {
			ms.pcap = ms.pcap == 0 ? 256 : ms.pcap * 2;
			ms.pend = xrealloc(ms.pend,
			    ms.pcap * sizeof(*ms.pend));
		}
	}
	m = &ms.pend[ms.ptail++];
	m->um_fd = (int)(uint32_t)cqe->user_data;
	m->um_res = cqe->res;
	m->um_more = (cqe->flags & IORING_CQE_F_MORE) != 0;
	m->um_buf = -1;
	m->um_last = 0;
	m->um_data = NULL;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		b = (cqe->flags >> IORING_CQE_BUFFER_SHIFT) &
		    (URING_MS_BUFS - 1);
		m->um_buf = (int)b;
		m->um_data = ms.bufs + (size_t)b * URING_MS_BUFSZ + ms.off[b];
		if (m->um_res > 0)
			ms.off[b] += (uint32_t)m->um_res;
		m->um_last = !(cqe->flags & IORING_CQE_F_BUF_MORE);
	}
	if (m->um_res > 0)
		ust.us_msrecvs++;
}

/*
 * Submit what is queued, and take every completion there is: the
 * receives' wait for uring_ms_next().  The receives run in the kernel's
 * task work, which any system call's return runs (COOP_TASKRUN): their
 * completions are in the ring when it is readable.
 */
void
uring_ms_submit(void)
{
	unsigned	n = u.nq;
	int		rv;

	if (u.fd == -1)
		return;
	/*
	 * Completions the ring had no room for wait in the kernel (its
	 * descriptor stays readable) until an io_uring_enter() that asks
	 * for completions moves them in.
	 */
	if (n > 0 || (__atomic_load_n(u.sq_flags, __ATOMIC_ACQUIRE) &
	    IORING_SQ_CQ_OVERFLOW)) {
		__atomic_store_n(u.sq_tail, *u.sq_tail + n, __ATOMIC_RELEASE);
		u.nq = 0;
		ust.us_submits++;
		n += u.nlate;
		do
			rv = (int)syscall(__NR_io_uring_enter, u.fd, n, 0,
			    IORING_ENTER_GETEVENTS, NULL, 0);
		while (rv == -1 && errno == EINTR);
		/* Refused (EBUSY, EAGAIN): submitted with the next ones. */
		u.nlate = rv < 0 ? n : n - (unsigned)rv;
	}
	(void)uring_reap(NULL, 0);
}

/* Do completions wait for uring_ms_next()? */
int
uring_ms_pending(void)
{
	return ms.phead != ms.ptail;
}

/* The next completion of a multishot receive, in order: 1, or 0 if none. */
int
uring_ms_next(struct uring_ms *m)
{
	if (ms.phead == ms.ptail) {
		ms.phead = ms.ptail = 0;
		return 0;
	}
	*m = ms.pend[ms.phead++];
	return 1;
}

/* Give buffer b back to the kernel for the next chunks. */
void
uring_ms_recycle(uint16_t b)
{
	struct io_uring_buf	*ib;

	ib = &ms.br->bufs[ms.tail & (URING_MS_BUFS - 1)];
	ib->addr = (uint64_t)(uintptr_t)(ms.bufs + (size_t)b * URING_MS_BUFSZ);
	ib->len = URING_MS_BUFSZ;
	ib->bid = b;
	ms.off[b] = 0;
	ms.tail++;
	__atomic_store_n(&ms.br->tail, ms.tail, __ATOMIC_RELEASE);
}
