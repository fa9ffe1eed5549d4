/*
 * rwin.c -- a window of commands awaited on an ordered link (rwin.h).
 */
#include <stdlib.h>
#include <string.h>

#include "rwin.h"
#include "xmalloc.h"

struct rwin_q {
	struct rwin_q	*q_next;
	void		*q_priv;
	size_t		 q_len;
	char		 q_cmd[];
};

/*
 * Set up w: at most window commands awaited (urgent ones aside); put and
 * fail as rwin.h says, both given arg.
 */
void
rwin_init(struct rwin *w, size_t window,
    int (*put)(void *, const char *, size_t, void *),
    void (*fail)(void *, void *), void *arg)
{
	memset(w, 0, sizeof(*w));
	w->rw_put = put;
	w->rw_fail = fail;
	w->rw_arg = arg;
	w->rw_window = window;
	w->rw_tail = &w->rw_head;
}

/*
 * Send cmd (len bytes, the caller's: copied if kept) for priv: now if
 * urgent or if nothing waits and the window has room, else queued.
 * Return value: 1 if put on the link, 0 if queued (rw_put, or rw_fail,
 * comes later), -1 if the link refused it (priv is the caller's again).
 */
int
rwin_send(struct rwin *w, int urgent, const char *cmd, size_t len,
    void *priv)
{
	struct rwin_q	*q;

	if (urgent || (w->rw_head == NULL && w->rw_inflight < w->rw_window)) {
		if (w->rw_put(w->rw_arg, cmd, len, priv) == -1)
			return -1;
		w->rw_inflight++;
		return 1;
	}
	q = xmalloc(sizeof(*q) + len);
	q->q_next = NULL;
	q->q_priv = priv;
	q->q_len = len;
	memcpy(q->q_cmd, cmd, len);
	*w->rw_tail = q;
	w->rw_tail = &q->q_next;
	w->rw_queued++;
	return 0;
}

/* A command that was put got its reply (or failed on the link). */
void
rwin_replied(struct rwin *w)
{
	if (w->rw_inflight > 0)
		w->rw_inflight--;
}

/* Take the first queued command off the queue; NULL if none. */
static struct rwin_q *
rwin_pop(struct rwin *w)
{
	struct rwin_q	*q;

	if ((q = w->rw_head) == NULL)
		return NULL;
	if ((w->rw_head = q->q_next) == NULL)
		w->rw_tail = &w->rw_head;
	w->rw_queued--;
	return q;
}

/*
 * Put queued commands, in order, while the window has room.  One the
 * link refuses is failed (rw_fail), and the pumping stops: the link is
 * going, and rwin_fail() will have the rest.
 */
void
rwin_pump(struct rwin *w)
{
	struct rwin_q	*q;

	while (w->rw_head != NULL && w->rw_inflight < w->rw_window) {
		q = rwin_pop(w);
		if (w->rw_put(w->rw_arg, q->q_cmd, q->q_len, q->q_priv) == -1) {
			w->rw_fail(w->rw_arg, q->q_priv);
			free(q);
			return;
		}
		w->rw_inflight++;
		free(q);
	}
}

/*
 * The link is gone: every queued command fails, in order (rw_fail).  The
 * ones put on it are the link's to fail; their count is left to
 * rwin_replied().
 */
void
rwin_fail(struct rwin *w)
{
	struct rwin_q	*q;

	while ((q = rwin_pop(w)) != NULL) {
		w->rw_fail(w->rw_arg, q->q_priv);
		free(q);
	}
}
