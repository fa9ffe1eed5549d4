/*
 * uring.h -- many socket sends, or receives, in one system call
 * (io_uring): the flush at the end of each loop iteration, and the reads
 * of the connections that became readable in it.
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
};

int	uring_init(void);
void	uring_disable(void);
int	uring_on(void);
void	uring_sendmsg_all(int *, struct msghdr *, int *, int);
void	uring_recv_all(int *, uint8_t **, size_t, int *, int);
void	uring_get_stats(struct uring_stats *);

#endif
