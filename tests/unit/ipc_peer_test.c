/*
 * ipc_peer_test.c -- lib/ipc_peer.c: peers over socketpair(2) on a libev
 * loop: order, batching of writes (counted as records on a
 * SOCK_SEQPACKET pair, where each write syscall is one record), EOF, bad
 * input, write errors, the queue limit, big messages through full
 * sockets, and freeing a peer from its own callbacks (run it under ASan:
 * make B=build-san SAN=1 unit).  The codec itself: ipc_test.c.
 *
 * SIGPIPE is left at its default on purpose: the write error test dies
 * if ipc.c writes without MSG_NOSIGNAL.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ipc.h"
#include "ipc_layout.h"
#include "tap.h"

struct side {
	struct ipc_peer	*peer;
	int		 nmsg;		/* messages received */
	int		 inorder;	/* ids came 0, 1, 2, ... */
	int		 nclose;
	char		 reason[128];
	int		 free_at;	/* free the peer at this message */
	int		 free_on_close;
	size_t		 bytes;		/* payload bytes received */
	int		 bad;		/* a payload did not check */
};

static void
side_msg(struct ipc_peer *p, const struct gw_msg_hdr *hdr,
    struct ipc_rd *rd)
{
	struct side	*sd = ipc_peer_arg(p);
	const char	*s;
	size_t		 n, i;

	if (hdr->id != (uint32_t)sd->nmsg)
		sd->inorder = 0;
	sd->nmsg++;
	sd->bytes += hdr->len - GW_IPC_HDRLEN;
	if (hdr->type == GW_MSG_BRIDGE_PUBLISHED) {
		/* Payload: a string of bytes (id + i) & 0xff. */
		if (ipc_get_str(rd, &s, &n) == -1 || ipc_end(rd) == -1)
			sd->bad++;
		else
			for (i = 0; i < n; i++)
				if ((uint8_t)s[i] != (uint8_t)(hdr->id + i)) {
					sd->bad++;
					break;
				}
	} else if (parse_layout(hdr->type, rd) == -1)
		sd->bad++;
	if (sd->free_at != 0 && sd->nmsg == sd->free_at) {
		ipc_peer_free(p);
		sd->peer = NULL;
	}
}

static void
side_close(struct ipc_peer *p, const char *reason)
{
	struct side	*sd = ipc_peer_arg(p);

	sd->nclose++;
	snprintf(sd->reason, sizeof(sd->reason), "%s", reason);
	if (sd->free_on_close) {
		ipc_peer_free(p);
		sd->peer = NULL;
	}
}

static void
side_init(struct side *sd)
{
	memset(sd, 0, sizeof(*sd));
	sd->inorder = 1;
}

static struct ipc_msg *
msg_deliver(uint32_t id)
{
	struct ipc_msg	*m;
	char		 off[32];

	snprintf(off, sizeof(off), "1700000000000-%u", id);
	m = ipc_create(GW_MSG_BRIDGE_DELIVER, id);
	ipc_add_cstr(m, "room:1");
	ipc_add_cstr(m, off);
	ipc_add_cstr(m, "{\"data\":\"hello\"}");
	return m;
}

static struct ipc_msg *
msg_pattern(uint32_t id, size_t n)
{
	struct ipc_msg	*m;
	uint8_t		*b;
	size_t		 i;

	b = malloc(n);
	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(id + i);
	m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, id);
	ipc_add_str(m, b, n);
	free(b);
	return m;
}

/* Run the loop without blocking until done() or max iterations. */
static int
spin(struct ev_loop *loop, int max, int (*done)(void *), void *arg)
{
	int	 i;

	for (i = 0; i < max && !done(arg); i++)
		ev_run(loop, EVRUN_NOWAIT);
	return done(arg);
}

struct want {
	struct side	*sd;
	int		 nmsg;
};

static int
got_msgs(void *arg)
{
	struct want	*w = arg;

	return w->sd->nmsg >= w->nmsg;
}

static int
got_close(void *arg)
{
	return ((struct side *)arg)->nclose > 0;
}

static void
pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("socketpair");
		exit(1);
	}
}

static void
test_peer_order(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	struct ipc_peer	*ap;
	int		 sv[2], i, sent = 0;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	ok(a.peer != NULL && b.peer != NULL && ipc_peer_arg(a.peer) == &a,
	    "two peers over a socketpair");
	ok(fcntl(sv[1], F_GETFL) & O_NONBLOCK, "the peer made its fd "
	    "non-blocking");
	for (i = 0; i < 1000; i++)
		if (ipc_send(a.peer, msg_deliver(i)) == 0)
			sent++;
	ok(sent == 1000, "1000 messages queued");
	w.sd = &b;
	w.nmsg = 1000;
	ok(spin(loop, 1000, got_msgs, &w) && b.nmsg == 1000 && b.inorder &&
	    b.bad == 0, "1000 messages arrive in order and parse (%d)",
	    b.nmsg);
	ok(ipc_peer_queued(a.peer) == 0 && a.nclose == 0 && b.nclose == 0,
	    "queue empty, nobody closed");

	/* And back the other way, interleaved with more from a. */
	ap = a.peer;
	side_init(&a);
	a.peer = ap;
	for (i = 0; i < 10; i++)
		ipc_send(b.peer, msg_deliver(i));
	w.sd = &a;
	w.nmsg = 10;
	ok(spin(loop, 100, got_msgs, &w) && a.nmsg == 10 && a.inorder,
	    "replies come back the other way");
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

/*
 * A backlog: while the socket is full, small messages are packed into
 * mapped blocks (not one heap allocation each), and still arrive whole
 * and in order once the reader reads.
 */
static void
test_peer_packed(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	size_t		 heap0, heap1;
	int		 sv[2], i, sent = 0;
	const int	 NBIG = 8, NSMALL = 20000;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	/* Nobody reads sv[1] yet: 8 x 100 KB fill the socket. */
	for (i = 0; i < NBIG; i++)
		ipc_send(a.peer, msg_pattern(i, 100 * 1024));
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(ipc_peer_queued(a.peer) > 0, "the socket is full, %zu bytes "
	    "wait", ipc_peer_queued(a.peer));
	heap0 = mallinfo2().uordblks;
	for (i = NBIG; i < NBIG + NSMALL; i++)
		if (ipc_send(a.peer, msg_deliver(i)) == 0)
			sent++;
	heap1 = mallinfo2().uordblks;
	ok(sent == NSMALL && heap1 < heap0 + 64 * 1024, "%d small messages "
	    "queued behind them take %zu bytes of the heap (packed in "
	    "blocks)", sent, heap1 - heap0);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	w.sd = &b;
	w.nmsg = NBIG + NSMALL;
	ok(spin(loop, 100000, got_msgs, &w) && b.nmsg == NBIG + NSMALL &&
	    b.inorder && b.bad == 0, "all %d arrive in order and parse",
	    w.nmsg);
	ok(ipc_peer_queued(a.peer) == 0 && a.nclose == 0 && b.nclose == 0,
	    "queue empty, nobody closed");
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

static void
test_peer_batching(struct ev_loop *loop)
{
	struct side		 a;
	struct gw_msg_hdr	 hdr;
	struct ipc_rd		 rd;
	struct ipc_msg		*m;
	static uint8_t		 rec[256 * 1024];
	size_t			 queued = 0, off;
	ssize_t			 r, n;
	uint32_t		 up;
	int			 sv[2], i, nrec = 0, nmsg = 0, good = 1;
	const int		 N = 3000;

	/* One record per write syscall: the receiver counts syscalls. */
	pair(SOCK_SEQPACKET, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	for (i = 0; i < N; i++) {
		m = ipc_create(GW_MSG_BRIDGE_HEALTH, i);
		ipc_add_u32(m, i & 1);
		ipc_close(m);
		queued += m->m_len;
		ipc_send(a.peer, m);
	}
	ok(ipc_peer_queued(a.peer) == queued && queued == (size_t)N * 20,
	    "%d sends queue %zu bytes", N, queued);
	r = recv(sv[1], rec, sizeof(rec), MSG_DONTWAIT);
	ok(r == -1 && errno == EAGAIN, "ipc_send itself writes nothing");
	ev_run(loop, EVRUN_NOWAIT);
	ok(ipc_peer_queued(a.peer) == 0, "one loop iteration writes it all");
	while ((r = recv(sv[1], rec, sizeof(rec), MSG_DONTWAIT)) > 0) {
		nrec++;
		for (off = 0; off < (size_t)r; off += n) {
			n = ipc_decode(rec + off, r - off, &hdr, &rd);
			if (n <= 0 || hdr.id != (uint32_t)nmsg ||
			    ipc_get_u32(&rd, &up) == -1 ||
			    up != (uint32_t)(nmsg & 1) || ipc_end(&rd) == -1) {
				good = 0;
				break;
			}
			nmsg++;
		}
	}
	ok(good && nmsg == N, "the %d messages arrive whole and in order",
	    nmsg);
	ok(nrec >= 1 && nrec <= (N + IOV_MAX - 1) / IOV_MAX,
	    "in %d write syscalls (at most one per IOV_MAX messages)", nrec);
	ipc_peer_free(a.peer);
	close(sv[1]);
}

static void
test_peer_eof(struct ev_loop *loop)
{
	struct side	 a;
	int		 sv[2], i;
	char		 part[10] = { 1 };

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	close(sv[1]);
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, "peer closed") == 0, "EOF: closecb \"%s\"",
	    a.reason);
	for (i = 0; i < 10; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(a.nclose == 1, "closecb called once (%d)", a.nclose);
	errno = 0;
	ok(ipc_send(a.peer, msg_deliver(0)) == -1 && errno == EPIPE,
	    "ipc_send to a dead peer fails with EPIPE");
	ipc_peer_free(a.peer);

	/* EOF in the middle of a message. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	ok(write(sv[1], part, sizeof(part)) == sizeof(part), "wrote a part");
	close(sv[1]);
	ok(spin(loop, 10, got_close, &a) && a.nmsg == 0 &&
	    strcmp(a.reason, "peer closed in the middle of a message") == 0,
	    "EOF mid-message: closecb \"%s\"", a.reason);
	ipc_peer_free(a.peer);
}

static void
test_peer_bad(struct ev_loop *loop)
{
	struct side	 a;
	struct ipc_msg	*m;
	uint8_t		 buf[GW_IPC_HDRLEN];
	int		 sv[2], i;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	ok(write(sv[1], "0123456789abcdef", 16) == 16, "wrote garbage");
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, "bad message") == 0 && a.nmsg == 0,
	    "garbage header: closecb \"%s\"", a.reason);
	ipc_peer_free(a.peer);
	close(sv[1]);

	/* An oversized length is refused without waiting for its bytes. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	set_hdr(buf, GW_MSG_HELLO, GW_IPC_MAXMSG + 1, 0, GW_IPC_VERSION);
	ok(write(sv[1], buf, sizeof(buf)) == sizeof(buf), "wrote a header");
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, "bad message") == 0,
	    "len > GW_IPC_MAXMSG: closecb \"%s\" from the header alone",
	    a.reason);
	ipc_peer_free(a.peer);
	close(sv[1]);

	/* Good messages, then a bad version: the good ones are delivered. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	for (i = 0; i < 3; i++) {
		m = msg_deliver(i);
		ipc_close(m);
		if (write(sv[1], m->m_buf, m->m_len) != (ssize_t)m->m_len)
			break;
		ipc_msg_free(m);
	}
	set_hdr(buf, GW_MSG_HELLO, GW_IPC_HDRLEN, 3, GW_IPC_VERSION + 1);
	ok(i == 3 && write(sv[1], buf, sizeof(buf)) == sizeof(buf),
	    "wrote 3 messages and a bad version");
	ok(spin(loop, 10, got_close, &a) && a.nmsg == 3 && a.inorder &&
	    a.nclose == 1 && strcmp(a.reason, "bad message") == 0,
	    "3 delivered, then closecb \"%s\"", a.reason);
	ipc_peer_free(a.peer);
	close(sv[1]);
}

static void
test_peer_write_error(struct ev_loop *loop)
{
	struct side	 a;
	int		 sv[2], i;

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	close(sv[1]);
	ok(ipc_send(a.peer, msg_deliver(0)) == 0, "queued to a closed socket");
	ok(spin(loop, 10, got_close, &a) &&
	    strcmp(a.reason, strerror(EPIPE)) == 0,
	    "write error: closecb \"%s\", no SIGPIPE", a.reason);
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(a.nclose == 1 && ipc_peer_queued(a.peer) == 0,
	    "once, and the queue is dropped");
	ipc_peer_free(a.peer);
}

static void
test_peer_queue_limit(struct ev_loop *loop)
{
	struct side	 a;
	struct ipc_msg	*m;
	size_t		 msglen, before;
	int		 sv[2], nok = 0, r;
	static char	 mib[1024 * 1024];

	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	msglen = GW_IPC_HDRLEN + 4 + sizeof(mib);
	for (;;) {
		m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, nok);
		ipc_add_str(m, mib, sizeof(mib));
		before = ipc_peer_queued(a.peer);
		errno = 0;
		if ((r = ipc_send(a.peer, m)) == -1)
			break;
		nok++;
	}
	ok(r == -1 && errno == ENOBUFS, "over GW_IPC_MAXQUEUE: ENOBUFS");
	ok((size_t)nok == GW_IPC_MAXQUEUE / msglen &&
	    ipc_peer_queued(a.peer) == before && before == nok * msglen,
	    "after %d messages (%zu bytes), the refused one is not queued",
	    nok, before);
	ok(ipc_send(a.peer, msg_deliver(0)) == 0,
	    "a small message still fits");
	ok(a.nclose == 0, "the peer is not closed by the library");
	ipc_peer_free(a.peer);
	close(sv[1]);
}

static void
test_peer_big(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	size_t		 want = 0, n;
	int		 sv[2], i, sent = 0;

	/* More than the socket buffers hold: EV_WRITE and partial writes. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	for (i = 0; i < 40; i++) {
		n = 1000 + (size_t)i * 7919;
		sent += ipc_send(a.peer, msg_pattern(i, n)) == 0;
		want += n;
	}
	n = GW_IPC_MAXMSG - GW_IPC_HDRLEN - 4;
	sent += ipc_send(a.peer, msg_pattern(40, n)) == 0;
	want += n;
	for (i = 41; i < 50; i++) {
		sent += ipc_send(a.peer, msg_pattern(i, 3)) == 0;
		want += 3;
	}
	ok(sent == 50, "50 messages queued, one of GW_IPC_MAXMSG");
	w.sd = &b;
	w.nmsg = 50;
	ok(spin(loop, 10000, got_msgs, &w) && b.nmsg == 50 && b.inorder &&
	    b.bad == 0 && b.bytes == want + 50 * 4,
	    "all arrive intact and in order (%d, %zu bytes)", b.nmsg, b.bytes);
	ok(ipc_peer_queued(a.peer) == 0 && a.nclose == 0 && b.nclose == 0,
	    "queue empty, nobody closed");
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

static void
test_peer_free_in_cb(struct ev_loop *loop)
{
	struct side	 a, b;
	struct want	 w;
	int		 sv[2], i;

	/* Free from msgcb at the 3rd of 10 messages that came in one read. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	b.free_at = 3;
	for (i = 0; i < 10; i++)
		ipc_send(a.peer, msg_deliver(i));
	w.sd = &b;
	w.nmsg = 10;
	spin(loop, 20, got_msgs, &w);
	ok(b.nmsg == 3 && b.peer == NULL && b.nclose == 0,
	    "freed in msgcb: no message after it, no closecb (%d)", b.nmsg);
	ok(spin(loop, 20, got_close, &a) &&
	    strcmp(a.reason, "peer closed") == 0,
	    "and the other side sees EOF");
	ipc_peer_free(a.peer);

	/* Free from closecb. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	a.free_on_close = 1;
	ok(write(sv[1], "garbage-garbage!", 16) == 16, "wrote garbage");
	ok(spin(loop, 10, got_close, &a) && a.peer == NULL,
	    "freed in closecb after a bad message");
	close(sv[1]);

	/* Free from closecb after a write error. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	a.free_on_close = 1;
	close(sv[1]);
	ipc_send(a.peer, msg_deliver(0));
	ok(spin(loop, 10, got_close, &a) && a.peer == NULL && a.nclose == 1,
	    "freed in closecb after a write error");
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);

	/* A peer with queued output, freed before the loop ran. */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	ipc_send(a.peer, msg_deliver(0));
	ipc_peer_free(a.peer);
	for (i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	ok(recv(sv[1], &i, sizeof(i), MSG_DONTWAIT) == 0,
	    "freed with output queued: dropped, fd closed");
	close(sv[1]);
	ipc_peer_free(NULL);
}

/* A prepare watcher of the caller that sends once. */
static struct ipc_peer	*prep_peer;

static void
user_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	ipc_send(prep_peer, msg_deliver(0));
	ev_prepare_stop(loop, w);
}

static void
user_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ONE);
}

static void
test_peer_send_from_prepare(struct ev_loop *loop)
{
	struct side	 a, b;
	ev_prepare	 prep;
	ev_timer	 tm;
	int		 sv[2], i, fired = 0;

	/*
	 * A send from another prepare callback must not sit in the queue
	 * while the loop sleeps: the timer only fires if it does.
	 */
	pair(SOCK_STREAM, sv);
	side_init(&a);
	side_init(&b);
	a.peer = ipc_peer_new(loop, sv[0], side_msg, side_close, &a);
	b.peer = ipc_peer_new(loop, sv[1], side_msg, side_close, &b);
	prep_peer = a.peer;
	ev_prepare_init(&prep, user_prepare);
	ev_prepare_start(loop, &prep);
	ev_timer_init(&tm, user_timeout, 2.0, 0.);
	tm.data = &fired;
	ev_timer_start(loop, &tm);
	for (i = 0; i < 5 && b.nmsg == 0 && !fired; i++)
		ev_run(loop, EVRUN_ONCE);
	ok(b.nmsg == 1 && !fired,
	    "a send from a prepare callback goes out without waiting");
	ev_timer_stop(loop, &tm);
	ev_prepare_stop(loop, &prep);
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
}

static void
test_peer_misc(struct ev_loop *loop)
{
	char	 path[200];

	errno = 0;
	ok(ipc_peer_new(loop, -1, side_msg, side_close, NULL) == NULL &&
	    errno == EBADF, "ipc_peer_new on a bad fd fails with EBADF");
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	errno = 0;
	ok(ipc_listen(path) == -1 && errno == ENAMETOOLONG,
	    "ipc_listen: a path longer than sun_path");
	errno = 0;
	ok(ipc_connect(path) == -1 && errno == ENAMETOOLONG,
	    "ipc_connect: a path longer than sun_path");
}

int
main(void)
{
	struct ev_loop	*loop;

	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "ev_loop_new failed\n");
		return 1;
	}
	test_peer_order(loop);
	test_peer_batching(loop);
	test_peer_packed(loop);
	test_peer_eof(loop);
	test_peer_bad(loop);
	test_peer_write_error(loop);
	test_peer_queue_limit(loop);
	test_peer_big(loop);
	test_peer_free_in_cb(loop);
	test_peer_send_from_prepare(loop);
	test_peer_misc(loop);
	ev_loop_destroy(loop);
	return tap_done();
}
