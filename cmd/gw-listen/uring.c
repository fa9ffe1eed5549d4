/*
 * uring.c -- many sends, or many receives, in one system call.  At the
 * end of a loop iteration every connection with frames queued gets one
 * send, and every connection the loop found readable one read; with a
 * writev or a read each, a fan-out to 10 000 sockets is 10 000 system
 * calls, and on this kind of machine the entry and exit of each is a
 * third of a send's cost and more than half of a small read's
 * (docs/BENCH.md).  An io_uring takes up to URING_BATCH of them per
 * io_uring_enter().
 *
 * Every request carries MSG_DONTWAIT: a socket whose buffer is full (or,
 * for a read, empty) completes at once with -EAGAIN (the kernel arms no
 * poll of its own), so all requests of a batch are complete when
 * io_uring_enter() returns, as with writev and read: nothing stays in
 * flight, no buffer is lent to the kernel past the call.  The ring is set
 * up with the system calls themselves (no liburing): one ring, single
 * issuer.  If the kernel has no io_uring (or it is disabled, or
 * --no-io-uring), the callers use writev and read.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <linux/io_uring.h>

#include "uring.h"

#define URING_ENTRIES	URING_BATCH

static struct {
	int			 fd;
	unsigned		*sq_tail;
	unsigned		*sq_mask;
	unsigned		*sq_array;
	unsigned		*cq_head;
	unsigned		*cq_tail;
	unsigned		*cq_mask;
	struct io_uring_cqe	*cqes;
	struct io_uring_sqe	*sqes;
	void			*ring;
	size_t			 ringsz;
	size_t			 sqesz;
	int			 disabled;
} u = { .fd = -1 };

static struct uring_stats ust;

static int
uring_setup(unsigned entries, struct io_uring_params *p, unsigned flags)
{
	memset(p, 0, sizeof(*p));
	p->flags = flags;
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

	if (u.disabled) {
		errno = ENOTSUP;
		return -1;
	}
	/* Newest flags first; older kernels refuse them with EINVAL. */
	u.fd = uring_setup(URING_ENTRIES, &p, IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER);
	if (u.fd == -1 && errno == EINVAL)
		u.fd = uring_setup(URING_ENTRIES, &p, 0);
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
	u.cq_head = (unsigned *)(r + p.cq_off.head);
	u.cq_tail = (unsigned *)(r + p.cq_off.tail);
	u.cq_mask = (unsigned *)(r + p.cq_off.ring_mask);
	u.cqes = (struct io_uring_cqe *)(r + p.cq_off.cqes);
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
	struct io_uring_cqe	*cqe;
	unsigned		 head, ctail;
	int			 i, got = 0, rv;

	__atomic_store_n(u.sq_tail, tail + n, __ATOMIC_RELEASE);
	ust.us_submits++;
	do {
		/* Asking to submit more than is queued submits what is. */
		rv = (int)syscall(__NR_io_uring_enter, u.fd, (unsigned)n,
		    (unsigned)(n - got), IORING_ENTER_GETEVENTS, NULL, 0);
		if (rv == -1 && errno != EINTR)
			break;
		head = *u.cq_head;
		ctail = __atomic_load_n(u.cq_tail, __ATOMIC_ACQUIRE);
		for (; head != ctail; head++) {
			cqe = &u.cqes[head & *u.cq_mask];
			if (cqe->user_data < (uint64_t)n &&
			    res[cqe->user_data] == -EINPROGRESS) {
				res[cqe->user_data] = cqe->res;
				got++;
			}
		}
		__atomic_store_n(u.cq_head, head, __ATOMIC_RELEASE);
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
	unsigned		 tail = *u.sq_tail;
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
	unsigned		 tail = *u.sq_tail;
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
