/*
 * rsess.c -- gw-presence's sessions in Redis: the scripts that save,
 * drop, load, close and own a session (lua.h), the answer to a load, and
 * which other instances' links are still connected to Redis.  The link
 * itself is redis.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "log.h"
#include "presence.h"
#include "xmalloc.h"

/*
 * Which instances' gw-presence are connected to Redis: the last CLIENT
 * LIST (each names its link gwp:INSTANCE), asked when a load finds a
 * session held by another live instance.  A killed node's lease lives on
 * for its --node-ttl, but its link goes at once, and no closing save will
 * come from it: its sessions are taken at once, instead of after four
 * more loads and 0.75 s each (S6 in docs/BENCH.md: 50 000 of them).  A
 * list that does not show our own link (a proxy in between, CLIENT
 * SETNAME or CLIENT LIST refused) is never believed.
 */
#define RSESS_FRESH	0.1	/* s: an older list is asked again */

static char		*rsess_clients;		/* its text, or NULL */
static ev_tstamp	 rsess_clientsat = -1e9;
static int		 rsess_asking;
static int		 rsess_trusted;		/* it shows our own link */
static char		 rsess_last[PRESENCE_INSTLEN];	/* the last asked */
static int		 rsess_lastgone;	/* ... its answer in this list */

static void	rsess_clients_cb(redisAsyncContext *, void *, void *);
static void	rsess_name_cb(redisAsyncContext *, void *, void *);

/* Name the link ac (just made) gwp:INSTANCE. */
void
rsess_setname(redisAsyncContext *ac)
{
	(void)redisAsyncCommand(ac, rsess_name_cb, NULL,
	    "CLIENT SETNAME gwp:%s", gp->p_inst);
}

static void
rsess_name_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	(void)ac;
	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_verbose("CLIENT SETNAME: %s (sessions of a dead node "
		    "are taken after 0.75 s)", reply->str);
}

/* Ask for CLIENT LIST, unless a fresh one is here or on its way. */
static void
rsess_ask(void)
{
	if (rsess_asking || gp->p_redis == NULL || !gp->p_up ||
	    ev_now(gp->p_loop) - rsess_clientsat <= RSESS_FRESH)
		return;
	if (redisAsyncCommand(gp->p_redis, rsess_clients_cb, NULL,
	    "CLIENT LIST TYPE normal") == REDIS_OK)
		rsess_asking = 1;
}

static void
rsess_clients_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	char		 name[PRESENCE_INSTLEN + 16];

	(void)priv;
	rsess_asking = 0;
	if (reply == NULL || ac != gp->p_redis)
		return;
	rsess_clientsat = ev_now(gp->p_loop);
	free(rsess_clients);
	rsess_clients = NULL;
	rsess_trusted = 0;
	rsess_last[0] = '\0';
	if (reply->type == REDIS_REPLY_STRING) {
		rsess_clients = xstrdup(reply->str);
		snprintf(name, sizeof(name), " name=gwp:%s ", gp->p_inst);
		rsess_trusted = strstr(rsess_clients, name) != NULL;
	} else if (reply->type == REDIS_REPLY_ERROR)
		log_verbose("CLIENT LIST: %s", reply->str);
	session_retry_gone();
}

/*
 * Is the link of instance inst absent from a fresh CLIENT LIST that shows
 * ours?  Then it is dead, or cut off from Redis: no save of it can come.
 * The last instance asked about is remembered with its answer: a storm's
 * waiting loads mostly wait on one holder, and the list may be long.
 */
int
rsess_gone(const char *inst)
{
	char	name[PRESENCE_INSTLEN + 16];

	if (!rsess_trusted || inst[0] == '\0' ||
	    ev_now(gp->p_loop) - rsess_clientsat > RSESS_FRESH)
		return 0;
	if (strcmp(inst, rsess_last) != 0) {
		snprintf(name, sizeof(name), " name=gwp:%s ", inst);
		rsess_lastgone = strstr(rsess_clients, name) == NULL;
		snprintf(rsess_last, sizeof(rsess_last), "%s", inst);
	}
	return rsess_lastgone;
}

/* At exit. */
void
rsess_free(void)
{
	free(rsess_clients);
	rsess_clients = NULL;
	rsess_trusted = 0;
}

/* The resume window in milliseconds, as text. */
void
redis_window(char *buf, size_t len)
{
	snprintf(buf, len, "%.0f", gp->p_conf->pc_window * 1000);
}

/* A connection's id as h names it (lua.h), and as gw-listen logs it. */
static void
redis_connhex(char cid[17], uint64_t conn)
{
	snprintf(cid, 17, "%016llx", (unsigned long long)conn);
}

/* The keys of session sid and of our instance's session set. */
static void
redis_sesskeys(char *key, size_t keylen, char *set, size_t setlen,
    const char *sid)
{
	snprintf(key, keylen, "gw:sess:%s", sid);
	snprintf(set, setlen, "gw:isess:%s", gp->p_inst);
}

/*
 * Save session sid (a checked 32-hex-digit id) of user with its state
 * (JSON object text) for connection conn: live, ours with no expiry;
 * else closed, for the resume window.  One script, not waited for.
 * Return value: 0 if sent, -1 if Redis is not up (the save is lost).
 */
int
redis_sess_save(const char *sid, const char *user, size_t userlen,
    const char *state, size_t statelen, int live, uint64_t conn)
{
	const char	*argv[12];
	size_t		 lens[12];
	char		 key[64], set[128], win[24], cid[17];

	if (!gp->p_up)
		return -1;
	redis_sesskeys(key, sizeof(key), set, sizeof(set), sid);
	redis_window(win, sizeof(win));
	argv[0] = "EVALSHA"; lens[0] = 7;
	argv[1] = gp->p_sha[SC_SSAVE]; lens[1] = 40;
	argv[2] = "2"; lens[2] = 1;
	argv[3] = key; lens[3] = strlen(key);
	argv[4] = set; lens[4] = strlen(set);
	argv[5] = sid; lens[5] = strlen(sid);
	argv[6] = user; lens[6] = userlen;
	argv[7] = state; lens[7] = statelen;
	argv[8] = gp->p_inst; lens[8] = strlen(gp->p_inst);
	argv[9] = live ? "1" : "0"; lens[9] = 1;
	argv[10] = win; lens[10] = strlen(win);
	redis_connhex(cid, conn);
	argv[11] = cid; lens[11] = 16;
	return redis_send_event(12, argv, lens);
}

/*
 * Forget session sid now (a kick): DEL it and SREM it from our set, in
 * one pipeline.  Return value: 0 if sent, -1 if Redis is not up.
 */
int
redis_sess_drop(const char *sid)
{
	const char	*argv[3];
	size_t		 lens[3];
	char		 key[64], set[128];

	if (!gp->p_up)
		return -1;
	redis_sesskeys(key, sizeof(key), set, sizeof(set), sid);
	argv[0] = "DEL"; lens[0] = 3;
	argv[1] = key; lens[1] = strlen(key);
	if (redis_send_event(2, argv, lens) == -1)
		return -1;
	argv[0] = "SREM"; lens[0] = 4;
	argv[1] = set; lens[1] = strlen(set);
	argv[2] = sid; lens[2] = strlen(sid);
	return redis_send_event(3, argv, lens);
}

/*
 * Load session sid for user, for request id of the peer with serial
 * peer and its connection conn: if found, it becomes live and ours (and
 * that connection's) in the same script.
 * session_loaded() gets the answer.  Return value: 0 if sent, -1 if
 * Redis is not up.
 */
int
redis_sess_load(uint64_t peer, uint32_t id, const char *sid,
    const char *user, size_t userlen, uint64_t conn, int try)
{
	const char	*argv[10];
	size_t		 lens[10];
	char		 key[64], set[128], cid[17];
	struct rreq	*rq;

	if (!gp->p_up)
		return -1;
	redis_sesskeys(key, sizeof(key), set, sizeof(set), sid);
	argv[0] = "EVALSHA"; lens[0] = 7;
	argv[1] = gp->p_sha[SC_SLOAD]; lens[1] = 40;
	argv[2] = "2"; lens[2] = 1;
	argv[3] = key; lens[3] = strlen(key);
	argv[4] = set; lens[4] = strlen(set);
	argv[5] = sid; lens[5] = strlen(sid);
	argv[6] = user; lens[6] = userlen;
	argv[7] = gp->p_inst; lens[7] = strlen(gp->p_inst);
	argv[8] = try >= REDIS_SLOAD_TRIES ? "1" : "0"; lens[8] = 1;
	redis_connhex(cid, conn);
	argv[9] = cid; lens[9] = 16;
	rq = xcalloc(1, sizeof(*rq));
	rq->rq_kind = RQ_SLOAD;
	rq->rq_peer = peer;
	rq->rq_id = id;
	rq->rq_str = xstrdup(sid);
	rq->rq_len = strlen(sid);
	rq->rq_user = xmalloc(userlen + 1);
	memcpy(rq->rq_user, user, userlen);
	rq->rq_user[userlen] = '\0';
	rq->rq_ulen = userlen;
	rq->rq_try = try;
	rq->rq_conn = conn;
	gp->p_sloads++;
	return redis_send(rq, 10, argv, lens);
}

/* Run script sc (SC_SFREE or SC_SOWN) for session sid. */
static int
redis_sess_script(int sc, const char *sid)
{
	const char	*argv[8];
	size_t		 lens[8];
	char		 key[64], set[128], win[24];
	int		 argc = 0;

	if (!gp->p_up)
		return -1;
	redis_sesskeys(key, sizeof(key), set, sizeof(set), sid);
	argv[argc] = "EVALSHA"; lens[argc++] = 7;
	argv[argc] = gp->p_sha[sc]; lens[argc++] = 40;
	argv[argc] = "2"; lens[argc++] = 1;
	argv[argc] = key; lens[argc++] = strlen(key);
	argv[argc] = set; lens[argc++] = strlen(set);
	argv[argc] = gp->p_inst; lens[argc++] = strlen(gp->p_inst);
	if (sc == SC_SFREE) {
		redis_window(win, sizeof(win));
		argv[argc] = win; lens[argc++] = strlen(win);
	}
	argv[argc] = sid; lens[argc++] = strlen(sid);
	return redis_send_event(argc, argv, lens);
}

/*
 * Close session sid if we still own it (its worker went): no owner, the
 * resume window to live.  Return value: 0 if sent, -1 if Redis is down.
 */
int
redis_sess_free(const char *sid)
{
	return redis_sess_script(SC_SFREE, sid);
}

/*
 * Own session sid again if it is ours or has no owner (a sweep closed it
 * while its connection is open here).  Return value: 0 if sent, -1 if
 * Redis is down.
 */
int
redis_sess_own(const char *sid)
{
	return redis_sess_script(SC_SOWN, sid);
}

/* The answer to a session load (RQ_SLOAD). */
void
redis_sload_reply(struct rreq *rq, const redisReply *reply)
{
	int	 found;

	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements == 1 &&
	    reply->element[0]->type == REDIS_REPLY_STRING) {
		/*
		 * Another node still holds it: ask again in a moment (at
		 * once, and take it, if that node's link is gone).
		 */
		rsess_ask();
		session_retry(rq->rq_peer, rq->rq_id, rq->rq_str, rq->rq_user,
		    rq->rq_ulen, rq->rq_conn, rq->rq_try + 1,
		    reply->element[0]->str);
		return;
	}
	found = reply != NULL && !redis_failed(reply, "session load") &&
	    reply->type == REDIS_REPLY_STRING;
	session_loaded(rq->rq_peer, rq->rq_id, rq->rq_str,
	    found ? reply->str : "", found ? reply->len : 0, found);
}
