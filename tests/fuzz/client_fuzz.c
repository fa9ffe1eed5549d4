/*
 * client_fuzz.c -- libFuzzer target for gw-listen's request handling and
 * fan-out: four fake connections of two users send requests, and a fake
 * gw-bridge (this file replaces link.c) answers them, fails them, delivers
 * messages and reports gaps, in an order the input chooses.  At the end
 * every connection is closed, and the channel table and the request table
 * must be empty: the membership bookkeeping (swap-removes on both sides,
 * held messages, pending requests) has no leak and no dangling index.
 *
 * Input: records of [op][connection][length][length bytes].
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "ipc.h"
#include "listen.h"
#include "xmalloc.h"

#define NCONN	4
#define NPEND	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct listen		l;
static struct listen_conf	conf;
static struct pend		*pends[NPEND];
static int			 npend;
static uint32_t			 lastid;
static uint64_t			 seq;

/* The fake link. */
void
link_start(void)
{
}

void
link_stop(void)
{
}

void
link_flush(double timeout)
{
	(void)timeout;
}

int
link_up(void)
{
	return 1;
}

int
link_silent_now(void)
{
	return 0;
}

int
link_connected(void)
{
	return 1;
}

int
link_request(struct ipc_msg *m, struct pend *pd)
{
	ipc_msg_free(m);
	if (npend == NPEND)
		return -1;
	pd->pd_id = ++lastid;
	pends[npend++] = pd;
	return 0;
}

void
link_forget(struct pend *pd)
{
	int	i;

	for (i = 0; i < npend; i++)
		if (pends[i] == pd) {
			pends[i] = pends[--npend];
			return;
		}
}

void
link_send(struct ipc_msg *m)
{
	ipc_msg_free(m);
}

/* The fake gw-presence link: always there; requests share the table. */
int
plink_up(void)
{
	return 1;
}

int
plink_ever(void)
{
	return 1;
}

struct pend *
plink_take(uint32_t id)
{
	(void)id;
	return NULL;
}

void
plink_send(struct ipc_msg *m)
{
	ipc_msg_free(m);
}

static void
noop(struct conn *c)
{
	(void)c;
}

static void
setup(void)
{
	gl = &l;
	l.l_conf = &conf;
	l.l_loop = ev_default_loop(0);
	conf.lc_maxmsg = 4096;
	conf.lc_maxout = 16 * 1024;	/* small: slow-consumer paths run */
	conf.lc_maxsubs = 8;
	conf.lc_ping = 25;
	conf.lc_pubrate = 1000;
	conf.lc_pubburst = 1000;
	strcpy(conf.lc_node, "fuzz");
	tlist_init(&l.l_heads, 10, noop);
	tlist_init(&l.l_live, 25, noop);
	tlist_init(&l.l_pinged, 10, noop);
	tlist_init(&l.l_closing, 2, noop);
}

static void
offset(char buf[LISTEN_OFFLEN + 1], uint64_t s)
{
	snprintf(buf, LISTEN_OFFLEN + 1, "00000000000000aa:%012llx-%08x",
	    (unsigned long long)s, 0);
}

/* Answer the pending request number k the way gw-bridge would. */
static void
answer(int k, const uint8_t *p, size_t n)
{
	struct pend		*pd = pends[k];
	struct gw_msg_hdr	 h;
	struct ipc_rd		 rd;
	struct ipc_msg		*m;
	char			 off[LISTEN_OFFLEN + 1];
	uint32_t		 i, cnt = n > 0 ? p[0] % 4 : 0;

	pends[k] = pends[--npend];
	if (pd->pd_kind == PD_PRESENCE || pd->pd_kind == PD_SUBPRES) {
		json_t *o = NULL;

		if (n > 1 && p[1] % 3 != 0)
			o = json_pack("{s:i, s:[]}", "count", (int)p[1],
			    "users");
		client_presence_answer(pd, o, "unavailable", "fuzz");
		json_decref(o);
		return;
	}
	if (n > 1 && p[1] % 5 == 0) {
		client_fail(pd, "unavailable", "fuzz");
		return;
	}
	switch (pd->pd_kind) {
	case PD_SUBSCRIBE:
	case PD_RESTORE:
		m = ipc_create(GW_MSG_BRIDGE_SUBSCRIBED, pd->pd_id);
		ipc_add_cstr(m, pd->pd_chan->ch_name);
		offset(off, seq);
		ipc_add_cstr(m, off);
		ipc_add_u32(m, n > 2 ? p[2] % 3 : 0);
		ipc_add_u32(m, cnt);
		for (i = 0; i < cnt; i++) {
			offset(off, seq - cnt + i);
			ipc_add_cstr(m, off);
			ipc_add_cstr(m, "{\"type\":\"message\",\"data\":1}");
		}
		break;
	case PD_PUBLISH:
		m = ipc_create(GW_MSG_BRIDGE_PUBLISHED, pd->pd_id);
		offset(off, ++seq);
		ipc_add_cstr(m, off);
		break;
	default:
		m = ipc_create(GW_MSG_BRIDGE_HISTORY_REPLY, pd->pd_id);
		ipc_add_u32(m, 1);
		ipc_add_u32(m, cnt);
		for (i = 0; i < cnt; i++) {
			offset(off, i);
			ipc_add_cstr(m, off);
			ipc_add_cstr(m, i == 1 ? "not json" :
			    "{\"data\":[1],\"from\":\"bob\",\"ts\":5}");
		}
		break;
	}
	if (ipc_close(m) == -1 ||
	    ipc_decode(m->m_buf, m->m_len, &h, &rd) <= 0 ||
	    client_answer(pd, h.type, &rd) == -1)
		abort();
	ipc_msg_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn	*c[NCONN];
	char		 off[LISTEN_OFFLEN + 1], name[16];
	size_t		 i, n;
	int		 op;

	if (gl == NULL)
		setup();
	l.l_chans = htab_new();
	npend = 0;
	seq = 10;
	for (i = 0; i < NCONN; i++) {
		c[i] = xcalloc(1, sizeof(*c[i]));
		c[i]->c_io.fd = -1;
		c[i]->c_state = CONN_ST_WS;
		c[i]->c_id = i % 2 ? ident_new("bob", 3) :
		    ident_new("alice", 5);
		if (i == 0)
			c[i]->c_id->id_info = xstrdup("{\"name\":\"A\"}");
		c[i]->c_tokens = conf.lc_pubburst;
		l.l_nconns++;
	}
	while (size >= 3) {
		op = data[0] % 5;
		i = data[1] % NCONN;
		n = data[2];
		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		switch (op) {
		case 0:
		case 1:
			if (c[i] != NULL && c[i]->c_state == CONN_ST_WS)
				client_message(c[i], (const char *)data, n);
			break;
		case 2:
			if (npend > 0)
				answer((n > 0 ? data[0] : 0) % npend, data, n);
			break;
		case 3:
			snprintf(name, sizeof(name), "%c", n ? 'a' + data[0] % 3
			    : 'a');
			if (n > 1 && data[1] % 4 == 0) {
				/* A presence event, about connection i. */
				pres_event(name, 1, c[i] != NULL ?
				    c[i]->c_connid : 0, "{\"type\":\"x\"}", 12);
				break;
			}
			offset(off, ++seq);
			client_deliver(name, 1, off, strlen(off),
			    "{\"type\":\"message\"}", 18);
			break;
		case 4:
			if (c[i] != NULL && n > 0 && data[0] < 8) {
				conn_kill(c[i]);	/* freed by the reap */
				c[i] = NULL;
			} else
				client_gap("b", 1, "x", 1);
			break;
		}
		data += n;
		size -= n;
		conn_reap_all();
	}
	for (i = 0; i < NCONN; i++)
		if (c[i] != NULL)
			conn_kill(c[i]);
	conn_reap_all();
	l.l_flush = NULL;
	/* Only restores may be left: their channels are gone, so are they. */
	if (htab_count(l.l_chans) != 0 || l.l_nconns != 0 || npend != 0)
		abort();
	htab_free(l.l_chans);
	return 0;
}
