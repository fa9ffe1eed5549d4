/*
 * ipc_sock.c -- see ipc.h and gw-ipc(7): the run directory and the
 * Unix-domain sockets in it, and who may use them.
 *
 * Two locks keep other users out.  The modes: the run directory is 0700
 * and every socket 0600, or, with a socket group (ipc_set_group()),
 * 0750 and 0660 with that group.  And SO_PEERCRED: ipc_accept() takes a
 * peer only if it runs as our user or, with a socket group, has that
 * group as its primary or one of its supplementary groups
 * (SO_PEERGROUPS).  The group is a process-wide setting, made once at
 * start-up before any socket is created.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "xmalloc.h"

#define IPC_BACKLOG	128
#define IPC_BATCH	16	/* accept() per event: others get a turn */
#define IPC_PAUSE	0.5	/* seconds without accept() when out of
				   descriptors or memory */
#define IPC_MAXGROUPS	65536	/* the kernel's NGROUPS_MAX */

static gid_t	ipc_gid;
static int	ipc_grouped;	/* ipc_gid is set */

static int	ipc_sun(struct sockaddr_un *, const char *);
static int	ipc_sock_live(const char *);
static int	ipc_peer_in_group(int, const struct ucred *);
static void	ipc_acceptor_cb(struct ev_loop *, ev_io *, int);
static void	ipc_resume_cb(struct ev_loop *, ev_timer *, int);

/*
 * Look up the group name (a group name or a numeric id) into *gid.
 * Returns 0, or -1 with errno ENOENT if there is no such group (or
 * getgrnam's error).
 */
int
ipc_group_id(const char *name, gid_t *gid)
{
	struct group	*gr;
	char		*end;
	unsigned long	 n;

	errno = 0;
	if ((gr = getgrnam(name)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	if (errno != 0 && errno != ENOENT && errno != ESRCH)
		return -1;
	errno = 0;
	n = strtoul(name, &end, 10);
	if (name[0] < '0' || name[0] > '9' || *end != '\0' || errno != 0 ||
	    n >= (gid_t)-1) {
		errno = ENOENT;
		return -1;
	}
	*gid = (gid_t)n;
	return 0;
}

/*
 * The option --socket-group NAME of the daemons: ipc_set_group() with
 * its id, or exit 2 with the reason.
 */
void
ipc_group_opt(const char *name)
{
	gid_t	gid;

	if (ipc_group_id(name, &gid) == -1) {
		log_errx("--socket-group %s: no such group", name);
		exit(2);
	}
	ipc_set_group(gid);
}

/*
 * Open the run directory and the sockets created from now on to the
 * group gid too.
 */
void
ipc_set_group(gid_t gid)
{
	ipc_gid = gid;
	ipc_grouped = 1;
}

/*
 * Make sure the run directory path exists, belongs to us and has the
 * mode of this process's setting: 0700, or 0750 with the socket group
 * as its group.  A directory that is already there is taken only if it
 * is ours (a directory of another user in /tmp could let that user swap
 * our sockets), and its group and mode are set.  Returns 0, or -1 with
 * the reason in err (len bytes) and errno set.
 */
int
ipc_rundir(const char *path, char *err, size_t len)
{
	struct stat	 st;
	mode_t		 mode = ipc_grouped ? 0750 : 0700;
	const char	*what;

	what = "cannot create it";
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		goto fail;
	what = "cannot stat it";
	if (lstat(path, &st) == -1)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		snprintf(err, len, "run directory %s: not a directory", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		errno = EPERM;
		snprintf(err, len, "run directory %s: belongs to uid %u, not "
		    "to us: refused", path, (unsigned)st.st_uid);
		return -1;
	}
	what = "cannot set its group or mode";
	if ((ipc_grouped && st.st_gid != ipc_gid &&
	    chown(path, (uid_t)-1, ipc_gid) == -1) ||
	    ((st.st_mode & 07777) != mode && chmod(path, mode) == -1))
		goto fail;
	return 0;
fail:
	snprintf(err, len, "run directory %s: %s: %s", path, what,
	    strerror(errno));
	return -1;
}

/*
 * Is the peer on fd, whose credentials are cred, a member of the socket
 * group?  Its supplementary groups come from SO_PEERGROUPS (their number
 * is bounded by the kernel's NGROUPS_MAX).  Returns 1 or 0.
 */
static int
ipc_peer_in_group(int fd, const struct ucred *cred)
{
	gid_t		 few[64], *g = few;
	socklen_t	 len = sizeof(few);
	size_t		 i, n;
	int		 in = 0;

	if (cred->gid == ipc_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
		if (errno != ERANGE || len == 0 ||
		    len > IPC_MAXGROUPS * sizeof(gid_t))
			return 0;
		g = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
			free(g);
			return 0;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !in; i++)
		in = g[i] == ipc_gid;
	if (g != few)
		free(g);
	return in;
}

/*
 * Accept a connection on the listening socket lfd, non-blocking and
 * close-on-exec, from a peer of our own user, of the socket group if
 * one is set, or root, who could read our memory anyway (SO_PEERCRED):
 * the socket's mode already keeps others out, this is the second lock.
 * Root is let in so that "sudo gwctl" works on a node that runs as a
 * user of its own (the systemd unit's DynamicUser).  Returns the fd, or
 * -1 with errno: EAGAIN when there is none left, EPERM when a peer was
 * refused (and closed), or accept's.
 */
int
ipc_accept(int lfd)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);
	int		fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != geteuid() && cred.uid != 0 &&
	    !(ipc_grouped && ipc_peer_in_group(fd, &cred)))) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Fill sun with path, or fail with ENAMETOOLONG (or EINVAL if empty). */
static int
ipc_sun(struct sockaddr_un *sun, const char *path)
{
	size_t	 n;

	n = strlen(path);
	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	if (n >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

/*
 * Is some process listening on the socket at path?  A connect() that
 * succeeds or finds the backlog full (EAGAIN) says yes; anything else
 * (ECONNREFUSED for a socket file left by a dead process) says no.
 */
static int
ipc_sock_live(const char *path)
{
	int	 fd, live, saved;

	if ((fd = ipc_connect(path)) != -1) {
		close(fd);
		return 1;
	}
	saved = errno;
	live = errno == EAGAIN;
	errno = saved;
	return live;
}

/*
 * Listen on the Unix-domain socket path: a non-blocking, close-on-exec
 * SOCK_STREAM socket of mode 0600 (0660 with the socket group as its
 * group), with a backlog of 128.  A socket file
 * that is already there is removed first if nobody listens on it; if
 * somebody does, the call fails with EADDRINUSE rather than steal the
 * name.  Returns the listening fd, or -1 with errno set (ENAMETOOLONG
 * for a path that does not fit in sun_path).
 */
int
ipc_listen(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, saved;

	if (ipc_sun(&sun, path) == -1)
		return -1;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (ipc_sock_live(path)) {
			errno = EADDRINUSE;
			return -1;
		}
		if (unlink(path) == -1 && errno != ENOENT)
			return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	/* On Linux bind() gives the file the socket's mode, minus umask. */
	if (fchmod(fd, 0600) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	/* The group first: the wider mode must not reach the wrong one. */
	if ((ipc_grouped && chown(path, (uid_t)-1, ipc_gid) == -1) ||
	    chmod(path, ipc_grouped ? 0660 : 0600) == -1 ||
	    listen(fd, IPC_BACKLOG) == -1) {
		saved = errno;
		(void)unlink(path);
		errno = saved;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Connect to the Unix-domain socket path.  Returns a non-blocking,
 * close-on-exec socket, or -1 with errno from connect(): ENOENT,
 * ECONNREFUSED or EAGAIN (backlog full) mean the peer is not up yet, and
 * the caller retries later.
 */
int
ipc_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, saved;

	if (ipc_sun(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Watch the listening socket lfd on loop through a (the caller's
 * memory, until ipc_acceptor_stop()): each peer that ipc_accept() takes,
 * at most 16 per event, is handed to fn as (loop, fd, NULL, arg), and fn
 * owns fd.  What the caller has to log comes to fn as (loop, -1, line,
 * arg): a peer refused (another user), or accepting paused for 0.5 s
 * when out of descriptors or memory (the socket stays readable: without
 * the pause the loop would spin, and log, until a descriptor is free).
 * With weak, the watcher does not keep the loop alive.  a owns lfd.
 */
void
ipc_acceptor_start(struct ev_loop *loop, struct ipc_acceptor *a, int lfd,
    int weak, ipc_accept_fn fn, void *arg)
{
	a->ia_fn = fn;
	a->ia_arg = arg;
	a->ia_weak = weak;
	ev_io_init(&a->ia_io, ipc_acceptor_cb, lfd, EV_READ);
	a->ia_io.data = a;
	ev_timer_init(&a->ia_pause, ipc_resume_cb, IPC_PAUSE, 0.);
	a->ia_pause.data = a;
	ev_io_start(loop, &a->ia_io);
	if (weak)
		ev_unref(loop);
}

/*
 * Stop watching and close the listening socket; a may be freed after.
 * An acceptor stopped already, or never started (zeroed), is left alone.
 */
void
ipc_acceptor_stop(struct ev_loop *loop, struct ipc_acceptor *a)
{
	if (a->ia_fn == NULL)
		return;
	a->ia_fn = NULL;
	if (ev_is_active(&a->ia_io)) {
		if (a->ia_weak)
			ev_ref(loop);
		ev_io_stop(loop, &a->ia_io);
	}
	ev_timer_stop(loop, &a->ia_pause);
	close(a->ia_io.fd);
}

static void
ipc_acceptor_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_acceptor	*a = w->data;
	char			 line[128];
	int			 fd, i;

	(void)revents;
	for (i = 0; i < IPC_BATCH && ev_is_active(w); i++) {
		if ((fd = ipc_accept(w->fd)) != -1) {
			a->ia_fn(loop, fd, NULL, a->ia_arg);
			continue;
		}
		if (errno == EPERM) {
			a->ia_fn(loop, -1, "refused a peer of another user",
			    a->ia_arg);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		snprintf(line, sizeof(line), "accept (paused for %g s): %s",
		    IPC_PAUSE, strerror(errno));
		if (a->ia_weak)
			ev_ref(loop);
		ev_io_stop(loop, w);
		/* Set again: a spent one-shot timer would fire at once. */
		ev_timer_set(&a->ia_pause, IPC_PAUSE, 0.);
		ev_timer_start(loop, &a->ia_pause);
		a->ia_fn(loop, -1, line, a->ia_arg);
		return;
	}
}

static void
ipc_resume_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ipc_acceptor	*a = t->data;

	(void)revents;
	ev_io_start(loop, &a->ia_io);
	if (a->ia_weak)
		ev_unref(loop);
}
