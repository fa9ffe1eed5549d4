/*
 * sock.c -- gwctl's connections to the node's Unix-domain sockets:
 * connect and introduce ourselves (GW_MSG_HELLO), send a message, wait
 * for the next one or for the answer to a request, with poll() and a
 * timeout.  Each failure is reported here, once, on stderr.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gwctl.h"
#include "xmalloc.h"

/* Non-zero: a reader of stdout that goes away ends sock_recv() (tail). */
int	sock_watch_stdout;

static long long	now_ms(void);

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Connect s to the socket name of the run directory (a full path if name
 * holds a '/'), served by the process what, and send GW_MSG_HELLO.
 * Return value: 0, or -1 after saying why on stderr, unless quiet is set
 * and the socket is absent or nobody listens on it (errno ENOENT or
 * ECONNREFUSED): then nothing is said.
 */
int
sock_open(struct sock *s, const char *name, const char *what, int quiet)
{
	struct ipc_msg	*m;
	char		 pname[32];
	int		 i, fd = -1;

	memset(s, 0, sizeof(*s));
	s->s_fd = -1;
	s->s_what = what;
	if (strchr(name, '/') != NULL)
		snprintf(s->s_path, sizeof(s->s_path), "%s", name);
	else
		cmd_path(s->s_path, sizeof(s->s_path), name);
	/* A full backlog says EAGAIN on a non-blocking socket: retry. */
	for (i = 0; i < 100; i++) {
		if ((fd = ipc_connect(s->s_path)) != -1 || errno != EAGAIN)
			break;
		poll(NULL, 0, 10);
	}
	if (fd == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			if (!quiet)
				warnx("no %s at %s: is the node %s?", what,
				    s->s_path, strcmp(what, "gw-supervise") ==
				    0 ? "run by gw-supervise" : "running");
		} else {
			warn("%s at %s", what, s->s_path);
			if (errno == EACCES)
				sock_whose_path(s->s_path);
		}
		return -1;
	}
	s->s_fd = fd;
	m = ipc_create(GW_MSG_HELLO, 0);
	ipc_add_u32(m, (uint32_t)getpid());
	snprintf(pname, sizeof(pname), "gwctl[%d]", (int)getpid());
	ipc_add_cstr(m, pname);
	if (sock_send(s, m) == -1) {
		sock_close(s);
		return -1;
	}
	return 0;
}


/*
 * The node's socket path (which may not be there) could not be reached
 * or closed on us: if the node is another user's, say so (its sockets
 * serve that user, its socket_group and root).
 */
void
sock_whose_path(const char *path)
{
	struct stat	 st;
	struct passwd	*pw;
	char		 dir[PATH_MAX], *slash;
	uid_t		 me = geteuid();

	/* The run directory's owner: the socket may be out of our reach. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if (stat(dir, &st) == -1 || st.st_uid == me || me == 0)
		return;
	pw = getpwuid(st.st_uid);
	warnx("the node's sockets serve uid %u%s%s%s (and its socket_group, "
	    "and root), not uid %u: run gwctl as that user or as root, or "
	    "see socket_group in gw.conf(5)", (unsigned)st.st_uid,
	    pw != NULL ? " (" : "", pw != NULL ? pw->pw_name : "",
	    pw != NULL ? ")" : "", (unsigned)me);
}

/* Close s (if open) and free its buffer. */
void
sock_close(struct sock *s)
{
	if (s->s_fd != -1)
		close(s->s_fd);
	s->s_fd = -1;
	free(s->s_buf);
	s->s_buf = NULL;
	s->s_len = s->s_used = s->s_cap = 0;
}

/* A new request id for s (never 0). */
uint32_t
sock_next_id(struct sock *s)
{
	if (++s->s_id == 0)
		s->s_id = 1;
	return s->s_id;
}

/*
 * Send m (freed here) on s, waiting at most GWCTL_TIMEOUT for the
 * socket to take it.  Return value: 0, or -1 after saying why.
 */
int
sock_send(struct sock *s, struct ipc_msg *m)
{
	struct pollfd	 pfd;
	size_t		 off = 0;
	ssize_t		 n;
	int		 rv = -1;

	if (ipc_close(m) == -1) {
		warnx("%s: message too long", s->s_what);
		goto out;
	}
	pfd.fd = s->s_fd;
	pfd.events = POLLOUT;
	while (off < m->m_len) {
		if ((n = write(s->s_fd, m->m_buf + off, m->m_len - off)) >
		    0) {
			off += n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			warn("%s at %s", s->s_what, s->s_path);
			if (errno == EPIPE || errno == ECONNRESET)
				sock_whose_path(s->s_path);
			goto out;
		}
		if (poll(&pfd, 1, GWCTL_TIMEOUT) == 0) {
			warnx("%s at %s: not reading", s->s_what, s->s_path);
			goto out;
		}
	}
	rv = 0;
out:
	ipc_msg_free(m);
	return rv;
}

/*
 * Read from s into its buffer, waiting at most timeout ms (-1: forever).
 * Return value: 1 if bytes came, 0 on timeout, -1 on EOF or an error
 * (said), on a signal that asks us to stop (errno EINTR, not said), or
 * when stdout's reader went away and sock_watch_stdout is set (errno
 * EPIPE, not said).
 */
static int
sock_fill(struct sock *s, int timeout)
{
	struct pollfd	 pfd[2];
	ssize_t		 n;
	int		 r;

	/*
	 * A signal that came before poll() would not interrupt it: waiting
	 * "forever" is done in steps of 250 ms that look at the flag.
	 */
	if (gc.g_stop) {
		errno = EINTR;
		return -1;
	}
	pfd[0].fd = s->s_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = STDOUT_FILENO;
	pfd[1].events = 0;	/* a pipe without a reader says POLLERR */
	pfd[1].revents = 0;
	if ((r = poll(pfd, sock_watch_stdout ? 2 : 1, timeout == -1 ? 250 :
	    timeout)) == -1) {
		if (errno != EINTR || gc.g_stop) {
			errno = EINTR;
			return -1;
		}
		return 1;	/* another signal: just look again */
	}
	if (r == 0)
		return timeout == -1 ? 1 : 0;
	if (sock_watch_stdout && (pfd[1].revents & (POLLERR | POLLHUP))) {
		errno = EPIPE;
		return -1;
	}
	if (s->s_cap - s->s_len < 65536) {
		s->s_cap = s->s_len + 65536;
		s->s_buf = xrealloc(s->s_buf, s->s_cap);
	}
	if ((n = read(s->s_fd, s->s_buf + s->s_len, s->s_cap - s->s_len)) ==
	    -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 1;
		warn("%s at %s", s->s_what, s->s_path);
		if (errno == ECONNRESET)
			sock_whose_path(s->s_path);
		return -1;
	}
	if (n == 0) {
		warnx("%s at %s closed the connection", s->s_what, s->s_path);
		sock_whose_path(s->s_path);
		errno = ECONNRESET;
		return -1;
	}
	s->s_len += n;
	return 1;
}

/*
 * Wait at most timeout ms (-1: forever) for the next message on s; fill
 * *h and *rd (which points into s's buffer, valid until the next call).
 * Return value: 1, 0 on timeout, -1 as sock_fill() says.
 */
int
sock_recv(struct sock *s, struct gw_msg_hdr *h, struct ipc_rd *rd,
    int timeout)
{
	long long	 end = timeout < 0 ? 0 : now_ms() + timeout;
	ssize_t		 n;
	int		 r, left = timeout;

	if (s->s_used > 0) {
		memmove(s->s_buf, s->s_buf + s->s_used, s->s_len - s->s_used);
		s->s_len -= s->s_used;
		s->s_used = 0;
	}
	for (;;) {
		if ((n = ipc_decode(s->s_buf, s->s_len, h, rd)) == -1) {
			warnx("%s at %s: bad message", s->s_what, s->s_path);
			return -1;
		}
		if (n > 0) {
			s->s_used = n;
			return 1;
		}
		if (timeout >= 0 && (left = end - now_ms()) < 0)
			left = 0;
		if ((r = sock_fill(s, left)) <= 0)
			return r;
	}
}

/*
 * Wait at most GWCTL_TIMEOUT for the message with request id on s,
 * skipping the others (such as the bridge's GW_MSG_BRIDGE_HEALTH).
 * Return value: 1, or -1 after saying why (or on a signal, unsaid).
 */
int
sock_reply(struct sock *s, uint32_t id, struct gw_msg_hdr *h,
    struct ipc_rd *rd)
{
	long long	 end = now_ms() + GWCTL_TIMEOUT, left;
	int		 r;

	for (;;) {
		if ((left = end - now_ms()) < 0)
			left = 0;
		if ((r = sock_recv(s, h, rd, (int)left)) == -1)
			return -1;
		if (r == 0) {
			warnx("%s at %s: no answer within %d s", s->s_what,
			    s->s_path, GWCTL_TIMEOUT / 1000);
			return -1;
		}
		if (h->id == id)
			return 1;
	}
}

/*
 * Send the control request req (the caller keeps it) on s and wait for
 * its answer.  Return value: the answer, a JSON object with "ok" true,
 * for the caller to json_decref(); or NULL after saying why (the error
 * of an answer with "ok" false included).
 */
json_t *
sock_ctl(struct sock *s, json_t *req)
{
	struct ipc_msg		*m;
	struct gw_msg_hdr	 h;
	struct ipc_rd		 rd;
	const char		*str;
	size_t			 len;
	json_t			*rep;
	json_error_t		 jerr;
	uint32_t		 id = sock_next_id(s);
	char			*text;

	if ((text = json_dumps(req, JSON_COMPACT)) == NULL)
		errx(EX_FAIL, "out of memory");
	m = ipc_create(GW_MSG_CTL_REQUEST, id);
	ipc_add_cstr(m, text);
	free(text);
	if (sock_send(s, m) == -1 || sock_reply(s, id, &h, &rd) == -1)
		return NULL;
	if (h.type != GW_MSG_CTL_REPLY || ipc_get_str(&rd, &str, &len) == -1 ||
	    ipc_end(&rd) == -1) {
		warnx("%s at %s: unexpected %s", s->s_what, s->s_path,
		    ipc_type_name(h.type));
		return NULL;
	}
	if ((rep = json_loadb(str, len, 0, &jerr)) == NULL ||
	    !json_is_object(rep)) {
		warnx("%s at %s: answer is not a JSON object", s->s_what,
		    s->s_path);
		json_decref(rep);
		return NULL;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		str = json_string_value(json_object_get(rep, "error"));
		warnx("%s: %s", s->s_what, str != NULL ? str : "failed");
		json_decref(rep);
		return NULL;
	}
	return rep;
}
