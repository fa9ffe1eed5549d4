/*
 * pubapi.c -- gw-bench's publisher through gw-listen's HTTP API
 * (--pub-api), as a backend publishes: POST /api/batch on keep-alive
 * HTTP/1.1 connections, one per receiver process, instead of
 * subscribed WebSocket connections.  Each tick of pub.c adds the
 * messages due on a connection to a batch (a new one after
 * BENCH_APIBATCH items) and sends it at its end, without waiting for
 * the answer to the one before (pipelined), as long as fewer than
 * PUBAPI_INFLIGHT are unanswered: gw-listen reads a connection's
 * requests one at a time, so that more would only wait in line there,
 * and late.  Meanwhile the messages join the open batch, which grows
 * with the node's time to answer, and goes with the next answer.  The
 * answers come in order: each item's (an offset, or an error) is
 * matched with the message it published through the queue of what was
 * sent, and goes to pub_answered(), the WebSocket publisher's way for
 * errors too.
 *
 * A connection is ready once its first request, a GET of the key's
 * rights, is answered 200: a wrong key fails the publisher before the
 * run.  An answer that says "Connection: close" (gw-listen's limit of
 * requests per connection) is the last: the requests sent after it
 * were not read, and their messages go again, on a new connection, at
 * the next tick.  The HTTP answers are parsed by peer_http() (peer.c),
 * as Nchan's are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "log.h"
#include "xmalloc.h"

#define PUBAPI_LENW	10	/* the digits kept for a Content-Length */
#define PUBAPI_MAXBODY	(1024 * 1024)	/* gw-listen's API_MAXBODY */
#define PUBAPI_INFLIGHT	2	/* requests unanswered on a connection */

static void	fifo_push(struct fifo *, uint64_t);
static uint64_t	fifo_pop(struct fifo *);
static void	pubapi_close(struct pub *, uint32_t);
static uint32_t	pubapi_items(const char *, size_t, uint8_t *, uint32_t);
static int	pubapi_says_close(const char *, size_t);

static void
fifo_push(struct fifo *f, uint64_t v)
{
	uint64_t	*nv;
	size_t		 i;

	if (f->f_len == f->f_cap) {
		/* Grow, unwrapping the ring into the new array. */
		nv = xcalloc(f->f_cap == 0 ? 256 : f->f_cap * 2, sizeof(*nv));
		for (i = 0; i < f->f_len; i++)
			nv[i] = f->f_v[(f->f_head + i) % f->f_cap];
		free(f->f_v);
		f->f_v = nv;
		f->f_head = 0;
		f->f_cap = f->f_cap == 0 ? 256 : f->f_cap * 2;
	}
	f->f_v[(f->f_head + f->f_len++) % f->f_cap] = v;
}

/* The oldest number of f, taken off; f must not be empty. */
static uint64_t
fifo_pop(struct fifo *f)
{
	uint64_t	v = f->f_v[f->f_head];

	f->f_head = (f->f_head + 1) % f->f_cap;
	f->f_len--;
	return v;
}

/*
 * Send c's first request: a GET that needs the key (of a channel that
 * is never used, so that it costs the node little).
 */
void
pubapi_probe(struct pub *p, struct bconn *c)
{
	char	req[BENCH_MAXKEY + 256];
	int	n;

	n = snprintf(req, sizeof(req), "GET /api/channels?pattern=gwb-probe "
	    "HTTP/1.1\r\nHost: %s\r\nAuthorization: apikey %s\r\n\r\n",
	    p->p_x.x_tgt->t_hostport, p->p_x.x_conf->b_apikey);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		bconn_fail(c, BF_HANDSHAKE);
		return;
	}
	c->bc_nsub = 1;
	bconn_send(c, req, (size_t)n);
}

/*
 * Add message number m (sent tries times before), whose item is the n
 * bytes of p_msg, to the batch of connection j, opening one if need be.
 * A connection that is gone (not for a planned reconnect) takes none:
 * the message failed.
 */
void
pubapi_add(struct pub *p, uint32_t j, uint64_t m, uint32_t tries, size_t n)
{
	struct papi	*pa = &p->p_api[j];
	struct buf	*b = &p->p_bufs[j];
	int		 h;

	if (p->p_conns[j].bc_state == BC_DEAD && !pa->pa_closing) {
		pub_answered(p, m, tries, 0);
		return;
	}
	/* A batch stays under gw-listen's limit of bytes too. */
	if (pa->pa_nopen > 0 && b->b_len - pa->pa_open + n + 2 >
	    PUBAPI_MAXBODY)
		pubapi_close(p, j);
	if (pa->pa_nopen == 0) {
		buf_room(b, BENCH_MAXKEY + 256);
		h = snprintf(b->b_p + b->b_len, b->b_cap - b->b_len,
		    "POST /api/batch HTTP/1.1\r\nHost: %s\r\n"
		    "Authorization: apikey %s\r\n"
		    "Content-Type: application/json\r\nContent-Length: ",
		    p->p_x.x_tgt->t_hostport, p->p_x.x_conf->b_apikey);
		/* The length is written when the batch is closed. */
		pa->pa_lenat = b->b_len + (size_t)h;
		b->b_len += (size_t)h;
		memcpy(b->b_p + b->b_len, "          \r\n\r\n[", 15);
		b->b_len += 15;
		pa->pa_open = b->b_len - 1;
	} else {
		buf_room(b, 1);
		b->b_p[b->b_len++] = ',';
	}
	buf_room(b, n + 1);
	memcpy(b->b_p + b->b_len, p->p_msg, n);
	b->b_len += n;
	fifo_push(&pa->pa_items, m << 8 | (tries & 0xff));
	if (++pa->pa_nopen == BENCH_APIBATCH)
		pubapi_close(p, j);
}

/*
 * End the open batch of connection j: the closing bracket, and its
 * length, right-aligned in the room kept for it (leading blanks are the
 * optional white space before a field's value).
 */
static void
pubapi_close(struct pub *p, uint32_t j)
{
	struct papi	*pa = &p->p_api[j];
	struct buf	*b = &p->p_bufs[j];
	char		 len[PUBAPI_LENW + 1];

	if (pa->pa_nopen == 0)
		return;
	buf_room(b, 1);
	b->b_p[b->b_len++] = ']';
	snprintf(len, sizeof(len), "%*zu", PUBAPI_LENW, b->b_len -
	    pa->pa_open);
	memcpy(b->b_p + pa->pa_lenat, len, PUBAPI_LENW);
	fifo_push(&pa->pa_reqs, pa->pa_nopen);
	pa->pa_nopen = 0;
}

/*
 * The tick's end, connection j is ready or an answer came: close the
 * open batch and send what waits, if j is ready and has fewer than
 * PUBAPI_INFLIGHT requests unanswered; else it waits for that.
 */
void
pubapi_send(struct pub *p, uint32_t j)
{
	struct papi	*pa = &p->p_api[j];
	struct buf	*b = &p->p_bufs[j];

	if (p->p_conns[j].bc_state != BC_READY ||
	    pa->pa_sent >= PUBAPI_INFLIGHT)
		return;
	pubapi_close(p, j);
	if (b->b_len == 0)
		return;
	bconn_send(&p->p_conns[j], b->b_p, b->b_len);
	b->b_len = 0;
	pa->pa_sent = (uint32_t)pa->pa_reqs.f_len;
}

/*
 * At a tick, for each connection that was told "Connection: close": the
 * messages sent and not answered go again, first, on a new connection.
 */
void
pubapi_restart(struct pub *p)
{
	const struct bench_conf *conf = p->p_x.x_conf;
	struct papi	*pa;
	struct fifo	 again;
	uint64_t	 now = bench_now(), v, m;
	uint32_t	 j;
	size_t		 n;

	for (j = 0; j < p->p_n; j++) {
		pa = &p->p_api[j];
		if (!pa->pa_closing)
			continue;
		bconn_free(&p->p_conns[j]);
		memset(&p->p_conns[j], 0, sizeof(p->p_conns[j]));
		p->p_conns[j].bc_idx = conf->b_conns + j;
		p->p_bufs[j].b_len = 0;
		pa->pa_nopen = 0;
		pa->pa_reqs.f_len = 0;
		pa->pa_sent = 0;
		/* Taken off first: pubapi_add() queues them again. */
		again = pa->pa_items;
		memset(&pa->pa_items, 0, sizeof(pa->pa_items));
		while (again.f_len > 0) {
			v = fifo_pop(&again);
			m = v >> 8;
			n = pub_message(p, m, (uint32_t)(v & 0xff),
			    (double)m / conf->b_rate < conf->b_warmup, now);
			pubapi_add(p, j, m, (uint32_t)(v & 0xff), n);
		}
		free(again.f_v);
		pa->pa_closing = 0;
		p->p_rep->rp_pubreconn++;
		(void)bconn_start(&p->p_x, &p->p_conns[j]);
	}
}

/*
 * The JSON array of a batch's answer, s (len bytes): ok[i] says if item
 * i is an object whose first member is "offset" (gw-listen's compact
 * JSON).  Return the number of items seen, at most n.
 */
static uint32_t
pubapi_items(const char *s, size_t len, uint8_t *ok, uint32_t n)
{
	size_t		 i;
	uint32_t	 k = 0;
	int		 depth = 0, instr = 0, esc = 0;

	memset(ok, 0, n);	/* a bad answer fails what it leaves out */
	for (i = 0; i < len && k < n; i++) {
		if (instr) {
			if (esc)
				esc = 0;
			else if (s[i] == '\\')
				esc = 1;
			else if (s[i] == '"')
				instr = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			instr = 1;
			break;
		case '{':
			if (depth == 1)
				ok[k] = len - i > 9 &&
				    memcmp(s + i + 1, "\"offset\"", 8) == 0;
			/* FALLTHROUGH */
		case '[':
			depth++;
			break;
		case '}':
			if (--depth == 1)
				k++;
			break;
		case ']':
			if (--depth <= 0)
				return k;
			break;
		}
	}
	return k;
}

/* Does the head of the answer s (len bytes) say "Connection: close"? */
static int
pubapi_says_close(const char *s, size_t len)
{
	const char	*end, *p, *eol;

	if ((end = memmem(s, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	for (p = s; p < end; p = eol + 2) {
		if ((eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2)) == NULL)
			break;
		if (eol - p >= 11 && strncasecmp(p, "Connection:", 11) == 0)
			return eol - p >= 16 &&
			    strncasecmp(eol - 5, "close", 5) == 0;
	}
	return 0;
}

/*
 * A whole HTTP answer s (len bytes, head and body) on connection c: the
 * probe's, or the oldest request's, each of whose messages is answered.
 */
void
pubapi_text(struct pub *p, struct bconn *c, const char *s, size_t len)
{
	struct papi	*pa = &p->p_api[c - p->p_conns];
	const char	*body;
	uint8_t		 ok[BENCH_APIBATCH];
	uint64_t	 v;
	uint32_t	 n, i, got = 0;
	int		 status;

	status = len > 12 ? atoi(s + 9) : 0;
	if (c->bc_state == BC_SUBSCRIBING) {
		if (status == 200) {
			c->bc_state = BC_READY;
			p->p_x.x_done(&p->p_x, c, BC_SUBSCRIBING);
			return;
		}
		log_warnx("publisher: GET /api/channels answered %d%s", status,
		    status == 401 ? ": is the key of --pub-api right?" : "");
		bconn_fail(c, BF_SUBSCRIBE);
		return;
	}
	if (pa->pa_sent == 0) {
		bconn_fail(c, BF_PROTO);	/* an answer to nothing */
		return;
	}
	n = (uint32_t)fifo_pop(&pa->pa_reqs);
	pa->pa_sent--;
	if (status == 200 && (body = memmem(s, len, "\r\n\r\n", 4)) != NULL)
		got = pubapi_items(body + 4, len - (size_t)(body + 4 - s), ok,
		    n);
	for (i = 0; i < n && pa->pa_items.f_len > 0; i++) {
		v = fifo_pop(&pa->pa_items);
		pub_answered(p, v >> 8, (uint32_t)(v & 0xff), i < got && ok[i]);
	}
	if (pubapi_says_close(s, len))
		pa->pa_closing = 1;
	else
		pubapi_send(p, (uint32_t)(c - p->p_conns));
}

/*
 * Connection j is gone for good: what it had sent, or had still to
 * send, failed.
 */
void
pubapi_lost(struct pub *p, uint32_t j)
{
	struct papi	*pa = &p->p_api[j];
	uint64_t	 v;

	while (pa->pa_items.f_len > 0) {
		v = fifo_pop(&pa->pa_items);
		pub_answered(p, v >> 8, (uint32_t)(v & 0xff), 0);
	}
	pa->pa_reqs.f_len = 0;
	pa->pa_nopen = 0;
	pa->pa_sent = 0;
	p->p_bufs[j].b_len = 0;
}

/* Free what pa holds. */
void
pubapi_free(struct papi *pa)
{
	free(pa->pa_items.f_v);
	free(pa->pa_reqs.f_v);
	memset(pa, 0, sizeof(*pa));
}
