/*
 * uring.h -- many socket sends, or receives, in one system call
 * (io_uring): the flush at the end of each loop iteration, and the reads
 * of the connections: one multishot receive each where the kernel has
 * them (uring_ms_*: armed once, their completions taken with
 * uring_ms_submit() and handed out in order by uring_ms_next(), each
 * buffer given back with uring_ms_recycle() once used up), else a batch
 * of the ones that became readable (uring_recv_all()).
 */
#ifndef GW_LISTEN_URING_H
#define GW_LISTEN_URING_H

#include <stdint.h>
#include <sys/socket.h>

#define URING_BATCH	256	/* sends submitted at once, at most */

struct uring_stats {
	int		us_on;		/* the ring is in use */
	uint64_t	us_submits;	/* io_uring_enter calls */
	uint64_t	us_sends;	/* sends through them */
	uint64_t	us_recvs;	/* receives through them */
	uint64_t	us_arms;	/* multishot receives armed */
	uint64_t	us_msrecvs;	/* chunks they received */
	uint64_t	us_msoff;	/* connections moved to the batched reads */
};

#define URING_MS_BUFS	16	/* receive buffers, a power of 2 */
#define URING_MS_BUFSZ	32768	/* each shared by many receives */

/* A completion of a multishot receive. */
struct uring_ms {
	int		um_fd;
	int		um_res;		/* bytes, 0 at EOF, or -errno */
	int		um_more;	/* the request goes on */
	int		um_buf;		/* buffer of the bytes, or -1 */
	int		um_last;	/* the buffer is used up: recycle it */
	const uint8_t	*um_data;	/* the bytes */
};

int	uring_init(void);
void	uring_disable(void);
int	uring_on(void);
void	uring_sendmsg_all(int *, struct msghdr *, int *, int);
void	uring_recv_all(int *, uint8_t **, size_t, int *, int);
void	uring_get_stats(struct uring_stats *);
int	uring_fd(void);
int	uring_ms_on(void);
void	uring_ms_arm(int);
void	uring_ms_cancel(int);
void	uring_ms_count_off(void);
void	uring_ms_submit(void);
int	uring_ms_pending(void);
int	uring_ms_next(struct uring_ms *);
void	uring_ms_recycle(uint16_t);

#endif
