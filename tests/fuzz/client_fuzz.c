/*
 * client_fuzz.c -- libFuzzer target for gw-listen's request handler: a
 * script of text messages from four fake connections of two users, run
 * through the whole handler (subscribe, publish, presence, leave).  At the
 * end every connection is closed, and the channel table must be empty:
 * the membership bookkeeping (swap-removes on both sides) has no leak and
 * no dangling index.
 *
 * Input: records of [connection byte][length byte][length bytes].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "listen.h"
#include "xmalloc.h"

#define NCONN	4

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct listen		l;
static struct listen_conf	conf;

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
	strcpy(conf.lc_node, "fuzz");
	tlist_init(&l.l_heads, 10, noop);
	tlist_init(&l.l_live, 25, noop);
	tlist_init(&l.l_pinged, 10, noop);
	tlist_init(&l.l_closing, 2, noop);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn	*c[NCONN];
	size_t		 i, n;

	if (gl == NULL)
		setup();
	l.l_chans = htab_new();
	for (i = 0; i < NCONN; i++) {
		c[i] = xcalloc(1, sizeof(*c[i]));
		c[i]->c_io.fd = -1;
		c[i]->c_state = CONN_ST_WS;
		c[i]->c_id = xcalloc(1, sizeof(struct ident));
		c[i]->c_id->id_user = xstrdup(i % 2 ? "bob" : "alice");
		if (i == 0)
			c[i]->c_id->id_info = xstrdup("{\"name\":\"A\"}");
		l.l_nconns++;
	}
	while (size >= 2) {
		i = data[0] % NCONN;
		n = data[1];
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (c[i]->c_state == CONN_ST_WS)
			client_message(c[i], (const char *)data, n);
		data += n;
		size -= n;
		conn_reap_all();
	}
	for (i = 0; i < NCONN; i++)
		conn_kill(c[i]);
	conn_reap_all();
	l.l_flush = NULL;
	if (htab_count(l.l_chans) != 0 || l.l_nconns != 0)
		abort();
	htab_free(l.l_chans);
	return 0;
}
