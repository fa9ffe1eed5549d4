/*
 * uring.h -- many socket sends in one system call (io_uring), for the
 * flush at the end of each loop iteration.
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
};

int	uring_init(void);
void	uring_disable(void);
int	uring_on(void);
void	uring_sendmsg_all(int *, struct msghdr *, int *, int);
void	uring_get_stats(struct uring_stats *);

#endif
