/*
 * rwin.h -- a window of commands on one link to a server that answers in
 * order (a Redis connection): at most rw_window of them awaited at a
 * time, the rest kept here in order until replies make room.  An urgent
 * command skips the queue: it waits on the link behind at most
 * rw_window others, not behind a whole burst.
 *
 * The module never talks to the link itself: rw_put puts a command on it
 * (0, or -1 if the link refused it), rw_fail tells a queued command's
 * owner that it will never be sent.  The caller tells rwin_replied()
 * when a reply comes for a command that was put (not for one that
 * failed while queued).
 */
#ifndef GW_RWIN_H
#define GW_RWIN_H

#include <stddef.h>

struct rwin_q;

struct rwin {
	int		(*rw_put)(void *arg, const char *cmd, size_t len,
			    void *priv);
	void		(*rw_fail)(void *arg, void *priv);
	void		 *rw_arg;
	size_t		  rw_window;	/* awaited at most, urgent aside */
	size_t		  rw_inflight;	/* put, reply awaited */
	size_t		  rw_queued;	/* waiting here */
	struct rwin_q	 *rw_head;
	struct rwin_q	**rw_tail;
};

void	rwin_init(struct rwin *, size_t,
	    int (*)(void *, const char *, size_t, void *),
	    void (*)(void *, void *), void *);
int	rwin_send(struct rwin *, int, const char *, size_t, void *);
void	rwin_replied(struct rwin *);
void	rwin_pump(struct rwin *);
void	rwin_fail(struct rwin *);

#endif
