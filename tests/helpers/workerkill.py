#!/usr/bin/python3
"""workerkill.py -- SIGKILL of one gw-listen worker of several.

    /usr/bin/python3 tests/helpers/workerkill.py --port A --port-b B
        --workers PID,... --rundir DIR --redis SOCKET --sync DIR
        --grace S --ttl S [--gwctl PATH]

For tests/bats/8200-worker-kill.bats.  Node A runs gw-bridge,
gw-presence and several gw-listen workers sharing port A (SO_REUSEPORT;
their pids: --workers), with run directory DIR; node B, on the same
Redis, serves port B.  Clients with sessions connect to port A until two
workers hold at least two each (gwctl conns, over the workers' control
sockets, says which worker holds which connection); all subscribe to
one channel with presence.  A publisher on node B publishes numbered
messages all the time; an observer on node B watches presence.

The worker with the most clients is the victim: its pid goes to
SYNC/victim and the scenario asks bats (SYNC/killme, then
SYNC/killme.go) to kill it with SIGKILL.  Then:
  - the victim's clients see the TCP connection end without a close
    frame (1006);
  - the other workers' clients see nothing: no close, no error, no gap,
    and every message, once, in order;
  - all but a few of the victim's clients connect again to port A with
    session=SID, after GAP more publishes: resumed, on a live worker,
    the channel restored with its presence flag; with the history since
    the last offset each received (up to the offset the subscribed
    frame names) and the live messages after it, every message is
    received exactly once, in order;
  - presence converges to the truth within node_ttl + 2 s of the kill,
    and stays there: the users who did not come back are gone (one
    presence.leave each), the others are present, and a user back within
    half the grace was never announced as gone;
  - node A no longer subscribes in Redis to channels that only the
    killed worker's clients had (each client that does not come back
    has one of its own).
Exit 0 if all holds, else 1 with what was expected and what came.
Every wait is bounded.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bridgecheck import PubLoop, Sync, close_all, log, short, want  # noqa
from resumecheck import open_peer, resumed_subs  # noqa: E402
from wsraw import Fail  # noqa: E402

CH = "wk"
FIRST = 9               # clients connected at first
MORE = 3                # then this many at a time
MAXCLIENTS = 36         # until two workers hold two each, at most this
TIMEOUT = 15
GAP = 3                 # messages a resuming client misses at least


def gwctl_conns(a):
    """{connId: worker pid} of node A, from gwctl conns."""
    env = dict(os.environ, GW_RUNDIR=a.rundir)
    r = subprocess.run([a.gwctl, "--rundir", a.rundir, "--json", "conns"],
                       capture_output=True, text=True, timeout=10, env=env,
                       check=False)
    want(r.returncode == 0, "gwctl conns: exit %d: %s", r.returncode,
         r.stderr.strip())
    out = {}
    for line in r.stdout.splitlines():
        if line.strip():
            o = json.loads(line)
            out[o["connId"]] = o["worker"]
    return out


async def conns(a):
    return await asyncio.to_thread(gwctl_conns, a)


def redis(a, *args):
    r = subprocess.run(["redis-cli", "-s", a.redis] + list(args),
                       capture_output=True, text=True, timeout=10,
                       check=False)
    return r.stdout.split()


async def nsubs(a, channel):
    """How many Redis connections subscribe to CHANNEL's pub/sub name:
    one per node that has a local subscriber."""
    out = await asyncio.to_thread(redis, a, "PUBSUB", "NUMSUB",
                                  "gw:{%s}:p" % channel)
    want(len(out) == 2 and out[1].isdigit(), "PUBSUB NUMSUB: %r", out)
    return int(out[1])


async def unsubscribed(a, channels):
    """Node A's bridge lets go in Redis of CHANNELS, which only clients
    of the killed worker had (within TIMEOUT)."""
    deadline = time.monotonic() + TIMEOUT
    left = list(channels)
    while left:
        left = [ch for ch in left if await nsubs(a, ch) != 0]
        want(not left or time.monotonic() < deadline, "node a still "
             "subscribes in Redis to %r, which only the killed worker's "
             "clients had", left)
        await asyncio.sleep(0.05)


def by_worker(clients):
    """{worker pid: [clients]}."""
    out = {}
    for c in clients:
        out.setdefault(c.worker, []).append(c)
    return out


async def connect_clients(a):
    """Connect and subscribe clients on port A until two workers hold at
    least two each; return them, each with .worker set."""
    clients = []
    while True:
        n = FIRST if not clients else MORE
        want(len(clients) + n <= MAXCLIENTS, "%d clients, still not two "
             "workers with two each: %r", len(clients),
             {w: len(cs) for w, cs in by_worker(clients).items()})
        for _ in range(n):
            c = await open_peer(a.port, "u%02d" % len(clients))
            await c.subscribe(CH, presence=True)
            clients.append(c)
        m = await conns(a)
        for c in clients:
            c.worker = m.get(c.welcome["connId"])
            want(c.worker in a.workers, "%s: connection %s on worker %r "
                 "(gwctl conns %r), want one of %r", c.name,
                 c.welcome["connId"], c.worker, m, a.workers)
        busy = [w for w, cs in by_worker(clients).items() if len(cs) >= 2]
        if len(busy) >= 2:
            return clients


async def presence_users(obs, k):
    r = await obs.req({"type": "presence", "id": "pr%d" % k,
                       "channel": CH}, "presence")
    users = [u["userId"] for u in r["users"]]
    want(len(users) == len(set(users)) and r["count"] == len(users),
         "presence answer %r: users twice, or count wrong", r)
    return set(users)


def pres_events(obs, after):
    """[(type, userId)] of the presence events obs got from frame AFTER."""
    return [(f["type"], f.get("userId")) for f in obs.frames[after:]
            if f.get("type") in ("presence.join", "presence.leave")]


async def presence_converges(a, obs, truth, t_kill):
    """Presence answers TRUTH within node_ttl + 2 s of the kill, and
    still does at that deadline."""
    deadline = t_kill + a.ttl + 2
    k, got = 0, None
    while True:
        got = await presence_users(obs, k)
        k += 1
        if got == truth:
            break
        want(time.monotonic() < deadline, "presence not the truth within "
             "node_ttl + 2 s of the kill: extra %r, missing %r",
             sorted(got - truth), sorted(truth - got))
        await asyncio.sleep(0.1)
    took = time.monotonic() - t_kill
    # The truth must hold, not pass by: ask again at the deadline.
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    got = await presence_users(obs, k)
    want(got == truth, "presence left the truth by node_ttl + 2 s: extra "
         "%r, missing %r", sorted(got - truth), sorted(truth - got))
    return took


async def break_and_resume(a, c, pl, resume, t0):
    """C's worker is being killed: the close must come without a close
    frame; then, if RESUME, connect again with the session once PL has
    published GAP more messages (a client's backoff: so that some are
    missed for sure).  Return (close time, the new Peer or None, time
    from T0 until it had its channel again)."""
    await c.until(lambda: c.closed is not None, "the end of the "
                  "connection", TIMEOUT)
    t_close = time.monotonic()
    e = c.closed
    want(c.ws.close_code == 1006 and getattr(e, "rcvd", 1) is None,
         "%s: closed %r (code %r): want 1006, no close frame", c.name, e,
         c.ws.close_code)
    if not resume:
        return t_close, None, None
    n = pl.n_published() + GAP
    await pl.peer.until(lambda: pl.n_published() >= n, "%d more "
                        "publishes" % GAP, TIMEOUT)
    sid = c.welcome["session"]
    r = await open_peer(a.port, c.welcome["userId"], session=sid,
                        name=c.name + "-resumed")
    w = r.welcome
    want(w.get("resumed") is True and w.get("session") == sid and
         w.get("channels") == [CH], "%s: welcome %r, want resumed %s with "
         "channels [%s]", r.name, w, sid, CH)
    await r.until(lambda: CH in resumed_subs(r), "the restored %s" % CH,
                  TIMEOUT)
    t_back = time.monotonic() - t0
    sub = resumed_subs(r)[CH]
    want(isinstance(sub.get("recovered"), bool) and "presence" in sub,
         "%s: restored with %r: want recovered and presence", r.name, sub)
    r.hist = None
    if sub["recovered"] is False:
        last = c.messages(CH)[-1]["offset"]
        h = await r.req({"type": "history", "id": "h", "channel": CH,
                         "since": last, "limit": 1000}, "history",
                        TIMEOUT)
        want(h.get("complete") is True, "%s: history since %s: %r, want "
             "complete", r.name, last, h)
        r.hist = [m["offset"] for m in h["messages"]]
    return t_close, r, t_back


def check_stream(name, got, pubs):
    """GOT (offsets) is PUBS from GOT[0] to the end: once, in order."""
    idx = {o: k for k, o in enumerate(pubs)}
    want(got and got[0] in idx, "%s: no message, or one nobody "
         "published: %s", name, short(got))
    first = idx[got[0]]
    want(got == pubs[first:], "%s: %d messages, want the %d published "
         "from #%d, once each, in order: got %s, published %s", name,
         len(got), len(pubs) - first, first, short(got),
         short(pubs[first:]))


def resumed_stream(old, r, pubs):
    """What OLD got, the history R filled in up to its subscribed offset,
    and what R got live, in that order."""
    idx = {o: k for k, o in enumerate(pubs)}
    pre = [m["offset"] for m in old.messages(CH)]
    new = [m["offset"] for m in r.messages(CH)]
    fill = []
    if r.hist is not None:
        sub = resumed_subs(r)[CH]
        want(sub["offset"] in idx, "%s: subscribed offset %r was never "
             "published", r.name, sub["offset"])
        cut = idx[sub["offset"]]
        want(all(o in idx for o in r.hist), "%s: history has offsets "
             "nobody published: %s", r.name, short(r.hist))
        fill = [o for o in r.hist if idx[o] <= cut]
        want(pre and pre[-1] in idx and cut - idx[pre[-1]] >= GAP,
             "%s: subscribed at #%d, last message before the break #%s: "
             "want a gap of %d at least (the test's own check)", r.name,
             cut, idx.get(pre[-1]) if pre else None, GAP)
        late = [o for o in new if o not in idx or idx[o] <= cut]
        want(not late, "%s: live messages at or before the subscribed "
             "offset %s: %s", r.name, sub["offset"], short(late))
    return pre + fill + new


def check_quiet(c, restored=0):
    """C, open on a live worker, got no error, and no subscribed frame
    without an id (a gap) but the RESTORED ones of a resume."""
    c.check_open()
    errs = [f for f in c.frames if f.get("type") == "error"]
    gaps = [f for f in c.frames if f.get("type") == "subscribed" and
            "id" not in f]
    want(not errs and len(gaps) == restored, "%s: errors %s, unasked "
         "subscribed frames %s (want %d)", c.name, short(errs), short(gaps),
         restored)


def check_prefix(name, got, pubs):
    """GOT (offsets) is a run of PUBS: once each, in order, no gap."""
    idx = {o: k for k, o in enumerate(pubs)}
    first = idx.get(got[0], -1) if got else -1
    want(first >= 0 and got == pubs[first:first + len(got)], "%s: %d "
         "messages before the break with a gap, a double or a stranger: "
         "%s", name, len(got), short(got))


async def set_up(a, t):
    """The publisher and the observer on node B, the clients on port A,
    everybody present; the publisher started; T gets them all."""
    t.pub = await open_peer(a.port_b, "pub")
    await t.pub.subscribe(CH)
    t.obs = await open_peer(a.port_b, "obs")
    await t.obs.subscribe(CH, presence=True)
    t.clients = await connect_clients(a)
    users = {c.welcome["userId"] for c in t.clients}
    await t.obs.until(lambda: {u for e, u in pres_events(t.obs, 0)
                               if e == "presence.join"} >= users,
                      "every client's join", TIMEOUT)
    t.everyone = users | {"pub", "obs"}
    got = await presence_users(t.obs, 0)
    want(got == t.everyone, "presence before the kill: %r, want %r",
         sorted(got), sorted(t.everyone))
    t.pl = PubLoop(t.pub, CH, CH, interval=0.02).start()
    for c in t.clients:
        await c.until(lambda c=c: len(c.messages(CH)) >= 5,
                      "5 messages before the kill", TIMEOUT)


async def kill(a, t):
    """Choose the victim, have bats kill it, see its clients drop and
    most of them resume; check where they landed."""
    groups = by_worker(t.clients)
    t.victim = max(groups, key=lambda w: len(groups[w]))
    t.doomed = groups[t.victim]
    t.calm = [c for c in t.clients if c.worker != t.victim]
    t.gone = t.doomed[:max(1, len(t.doomed) // 3)]
    back = t.doomed[len(t.gone):]
    log("workers %s; killing %d (%d clients: %d come back)" %
        ({w: len(cs) for w, cs in groups.items()}, t.victim,
         len(t.doomed), len(back)))
    t.solos = []
    for c in t.gone:
        t.solos.append("solo." + c.welcome["userId"])
        await c.subscribe(t.solos[-1])
        want(await nsubs(a, t.solos[-1]) == 1, "%s: node a not "
             "subscribed in Redis", t.solos[-1])
    with open(os.path.join(a.sync, "victim"), "w") as f:
        f.write("%d\n" % t.victim)
    t.mark = len(t.obs.frames)
    t0 = time.monotonic()
    res = await asyncio.gather(
        Sync(a.sync).phase("killme"),
        *(break_and_resume(a, c, t.pl, c in back, t0) for c in t.doomed))
    res = res[1:]
    t.t_kill = min(x for x, _, _ in res)
    t.resumed = [(c, r, tb) for c, (_, r, tb) in zip(t.doomed, res)
                 if r is not None]
    m = await conns(a)
    for c, r, _ in t.resumed:
        w = m.get(r.welcome["connId"])
        want(w is not None and w != t.victim and w in a.workers, "%s: on "
             "worker %r, want one of the live ones %r", r.name, w,
             sorted(set(a.workers) - {t.victim}))
    want(all(w != t.victim for w in m.values()), "gwctl conns still "
         "lists the killed worker %d", t.victim)


async def check_presence(a, t):
    """The truth within node_ttl + 2 s, and the observer's events."""
    truth = t.everyone - {c.welcome["userId"] for c in t.gone}
    t.took = await presence_converges(a, t.obs, truth, t.t_kill)
    ev = pres_events(t.obs, t.mark)
    for c in t.gone:
        u = c.welcome["userId"]
        mine = [e for e, x in ev if x == u]
        want(mine == ["presence.leave"], "observer saw %r for %s, who did "
             "not come back: want one leave", mine, u)
    for c, r, tb in t.resumed:
        u = c.welcome["userId"]
        mine = [e for e, x in ev if x == u]
        ok = [[]] if tb <= a.grace / 2 else \
            [[], ["presence.leave", "presence.join"]]
        want(mine in ok, "observer saw %r for %s, back after %.2fs "
             "(grace %gs)", mine, u, tb, a.grace)
    calm = {c.welcome["userId"] for c in t.calm}
    noise = [(e, x) for e, x in ev if x in calm]
    want(not noise, "presence events for users of live workers: %r", noise)


async def check_messages(t):
    """Stop publishing; every live client has every message once."""
    for _, r, _ in t.resumed:
        await r.until(lambda r=r: len(r.messages(CH)) >= 5,
                      "5 live messages after the resume", TIMEOUT)
    await t.pl.stop(TIMEOUT)
    want(not t.pl.errors(), "publish errors: %r", t.pl.errors()[:3])
    t.pubs = [o for o, _ in t.pl.published()]
    last = t.pubs[-1]
    for p in t.calm + [r for _, r, _ in t.resumed]:
        await p.until(lambda p=p: any(x["offset"] == last
                                      for x in p.messages(CH)),
                      "the last message", TIMEOUT)
    for c in t.calm:
        check_quiet(c)
        check_stream(c.name, [x["offset"] for x in c.messages(CH)],
                     t.pubs)
    for c in t.gone:
        check_prefix(c.name, [x["offset"] for x in c.messages(CH)],
                     t.pubs)
    for c, r, _ in t.resumed:
        check_quiet(r, 1)
        check_stream(r.name + " (across the break)",
                     resumed_stream(c, r, t.pubs), t.pubs)


async def scenario(a):
    t = argparse.Namespace()
    await set_up(a, t)
    await kill(a, t)
    await unsubscribed(a, t.solos)
    await check_presence(a, t)
    await check_messages(t)
    nrec = sum(1 for _, r, _ in t.resumed if r.hist is None)
    log("killed worker %d: %d clients dropped (1006), %d resumed on the "
        "live workers (%d recovered, %d filled from history), %d gone from "
        "presence in %.2fs; %d clients on the live workers undisturbed; "
        "%d messages each, once, in order" %
        (t.victim, len(t.doomed), len(t.resumed), nrec,
         len(t.resumed) - nrec, len(t.gone), t.took, len(t.calm),
         len(t.pubs)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--port-b", type=int, required=True)
    ap.add_argument("--rundir", required=True)
    ap.add_argument("--sync", required=True)
    ap.add_argument("--grace", type=float, required=True)
    ap.add_argument("--ttl", type=float, required=True)
    ap.add_argument("--workers", required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--gwctl", default="gwctl")
    a = ap.parse_args()
    a.workers = [int(w) for w in a.workers.split(",")]

    async def go():
        try:
            await scenario(a)
        finally:
            await close_all()
    try:
        asyncio.run(go())
    except Fail as e:
        print("FAIL worker-kill: %s" % e, flush=True)
        sys.exit(1)
    print("ok worker-kill", flush=True)


if __name__ == "__main__":
    main()
