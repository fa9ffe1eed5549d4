#!/usr/bin/python3
"""soak.py -- the traffic and the checks of make soak (share/soak.sh).

    /usr/bin/python3 share/soak.py --minutes M --ports A,B
        --redis-pid PID --supervisors PID,PID

Against two nodes on one Redis, for M minutes:
- two publishers (one per node, subscribed to every channel) publish on
  8 channels, 20 msg/s in all;
  every acknowledged offset is kept per channel;
- 120 stable subscribers (60 per node, 2 channels each, half of them with
  presence) stay the whole run;
- 60 churn slots connect to a random node, subscribe to 1 or 2 channels
  (a quarter with presence), maybe send typing, stay 2-6 s and leave: a clean
  close (after waiting for every message acknowledged so far), a TCP FIN
  without a close frame followed by a resume with session= on a random
  node (recovered must be true), or an abort (RST, no checks of the tail).
Every subscriber (stable, or churn session across its resume) must get
each channel's messages in order, none twice, and none missing between
its subscribe and its last message (checked with a count and a sum of
hashes over the published offsets of that range).

At the end, after the presence grace and node_ttl, presence on each
channel must list every stable presence subscriber and no churn user.

Every process (redis-server, both gw-supervise and their children) is
sampled each minute (each M*10 s when M < 6): VmRSS and the number of open
fds.  The baseline is the first sample at or after M/6 of the run (5 min
of 30).  It fails if a process's RSS grows by more than 10 % over its
baseline, if its fds grow by more than 2, or, for the gw-listen workers of
a node together, by more than 16 once the client connections open to that
node are subtracted (connections being opened or closed at the sampling
instant), if a process exits, or if a message is lost or doubled.
Prints one table per sample and `soak: PASS ...` or `soak: FAIL reason`;
exits 0 or 1.  Every wait is bounded.
"""

import argparse
import asyncio
import bisect
import json
import os
import random
import signal
import sys
import time

import websockets

CHANNELS = ["soak:%d" % i for i in range(8)]
RATE = 20.0                 # publishes per second, both publishers together
STABLE = 120
CHURN = 60
RSS_GROWTH = 0.10
FD_SLACK = 2
LISTEN_FD_SLACK = 16
INF = float("inf")

ARGS = None
FAILS = []
STATS = {"published": 0, "pub_errors": 0, "delivered": 0, "connects": 0,
         "clean": 0, "resumes": 0, "aborts": 0, "connect_errors": 0,
         "presence_events": 0, "typing_events": 0, "checked": 0,
         "errors": 0}
PUBLISHED = {c: [] for c in CHANNELS}   # sorted (key, hash) per channel
OPEN = {}                               # port -> client connections open
PENDING_CHECKS = []
STABLE_PRESENCE = {c: set() for c in CHANNELS}


def fail(msg):
    """Record an error; the first 20 are printed."""
    STATS["errors"] += 1
    if len(FAILS) < 20:
        FAILS.append(msg)
        print("soak: error: " + msg, flush=True)


def okey(off):
    """The sort key of an offset EPOCH:MS-SEQ."""
    ep, _, rest = off.partition(":")
    ms, _, seq = rest.partition("-")
    return (ep, int(ms, 16), int(seq, 16))


class ChanState:
    def __init__(self, off):
        self.start = okey(off)
        self.last = self.start
        self.n = 0
        self.h = 0


class Chain:
    """One subscriber's view, across its connections (resume)."""

    def __init__(self, name):
        self.name = name
        self.ch = {}

    def on_message(self, m):
        st = self.ch.get(m.get("channel"))
        off = m.get("offset", "")
        if st is None:
            fail("%s: message on %r, not subscribed" %
                 (self.name, m.get("channel")))
            return
        k = okey(off)
        if k <= st.last:
            fail("%s: %s: offset %s doubled or out of order" %
                 (self.name, m["channel"], off))
        st.last = k
        st.n += 1
        st.h = (st.h + hash(off)) & 0xffffffffffffffff
        STATS["delivered"] += 1

    def verify(self):
        """Compare each channel with the published offsets in
        (subscribe, last received]."""
        STATS["checked"] += 1
        for c, st in self.ch.items():
            lst = PUBLISHED[c]
            i = bisect.bisect_right(lst, (st.start, INF))
            j = bisect.bisect_right(lst, (st.last, INF))
            h = 0
            for _, x in lst[i:j]:
                h = (h + x) & 0xffffffffffffffff
            if j - i != st.n or h != st.h:
                fail("%s: %s: got %d messages, %d were published in its "
                     "range (lost or doubled)" % (self.name, c, st.n, j - i))


class Conn:
    def __init__(self, chain, port):
        self.chain = chain
        self.port = port
        self.ws = None
        self.welcome = None
        self.pending = {}
        self.resubs = {}
        self.reader = None
        self.nid = 0
        self.counted = False

    async def open(self, user, session=None):
        uri = "ws://127.0.0.1:%d/ws?user=%s" % (self.port, user)
        if session:
            uri += "&session=" + session
        self.ws = await websockets.connect(
            uri, ping_interval=None, open_timeout=10, close_timeout=3,
            max_queue=None, max_size=1 << 20)
        OPEN[self.port] += 1
        self.counted = True
        STATS["connects"] += 1
        self.welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        if self.welcome.get("type") != "welcome":
            raise RuntimeError("first frame %r" % self.welcome)
        self.reader = asyncio.ensure_future(self.read())

    def gone(self):
        if self.counted:
            OPEN[self.port] -= 1
            self.counted = False

    async def read(self):
        try:
            while True:
                m = json.loads(await self.ws.recv())
                t = m.get("type")
                if t == "message":
                    if self.chain is not None:
                        self.chain.on_message(m)
                elif t == "subscribed" and self.chain is not None:
                    c = m.get("channel")
                    if "id" in m:
                        self.chain.ch[c] = ChanState(m["offset"])
                    else:
                        self.resubs[c] = m
                        if m.get("recovered") is not True:
                            fail("%s: resumed %s not recovered: %r" %
                                 (self.chain.name, c, m))
                elif t and t.startswith("presence."):
                    STATS["presence_events"] += 1
                elif t and t.startswith("typing."):
                    STATS["typing_events"] += 1
                f = self.pending.pop(m.get("id"), None)
                if f is not None and not f.done():
                    f.set_result(m)
        except (websockets.ConnectionClosed, OSError):
            pass
        finally:
            self.gone()
            for f in self.pending.values():
                if not f.done():
                    f.set_exception(ConnectionError("closed"))

    async def req(self, obj, timeout=10):
        self.nid += 1
        obj["id"] = self.nid
        f = asyncio.get_running_loop().create_future()
        self.pending[self.nid] = f
        await self.ws.send(json.dumps(obj))
        return await asyncio.wait_for(f, timeout)

    async def subscribe(self, c, presence=False):
        r = await self.req({"type": "subscribe", "channel": c,
                            "presence": presence})
        if r.get("type") != "subscribed":
            raise RuntimeError("subscribe %s: %r" % (c, r))

    async def fin(self):
        """A TCP FIN without a close frame; read what the node wrote
        until it closes."""
        self.ws.transport.write_eof()
        try:
            await asyncio.wait_for(asyncio.shield(self.reader), 10)
        except asyncio.TimeoutError:
            self.abort()

    def abort(self):
        self.ws.transport.abort()
        self.gone()

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except asyncio.TimeoutError:
            self.abort()
        if self.reader:
            try:
                await asyncio.wait_for(self.reader, 5)
            except asyncio.TimeoutError:
                pass
        self.gone()


async def caught_up(chain, timeout=5):
    """Wait until CHAIN has every message acknowledged before now."""
    target = {c: PUBLISHED[c][-1][0] for c in chain.ch if PUBLISHED[c]}
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(chain.ch[c].last >= k for c, k in target.items()):
            return True
        await asyncio.sleep(0.05)
    fail("%s: acknowledged messages not delivered within %d s" %
         (chain.name, timeout))
    return False


async def check_later(chain):
    """Verify CHAIN once the acknowledgements in flight have come."""
    await asyncio.sleep(3)
    chain.verify()


async def publisher(port, idx, stop):
    c = Conn(None, port)
    await c.open("pub%d" % idx)
    for ch in CHANNELS:
        await c.subscribe(ch)
    period = 2.0 / RATE
    nxt = time.monotonic()
    k = 0
    while not stop.is_set():
        ch = CHANNELS[(k * 2 + idx) % len(CHANNELS)]
        k += 1
        try:
            r = await c.req({"type": "publish", "channel": ch,
                             "data": {"p": idx, "k": k}}, 5)
        except (asyncio.TimeoutError, ConnectionError,
                websockets.ConnectionClosed) as e:
            fail("publisher %d: %r" % (idx, e))
            return
        if r.get("type") == "published":
            off = r["offset"]
            bisect.insort(PUBLISHED[ch], (okey(off), hash(off)))
            STATS["published"] += 1
        else:
            STATS["pub_errors"] += 1
            fail("publisher %d: %r" % (idx, r))
        # A publisher held up (a busy machine) does not catch up in a
        # burst: the node's publish_burst would rightly refuse that.
        nxt = max(nxt + period, time.monotonic() - period)
        await asyncio.sleep(max(0, nxt - time.monotonic()))
    await c.close()


async def churn_once(slot, n, rnd):
    ports = ARGS.ports
    chain = Chain("c%d-%d" % (slot, n))
    user = chain.name
    c = Conn(chain, rnd.choice(ports))
    try:
        await c.open(user)
    except Exception as e:  # noqa: BLE001 -- any failure to connect
        STATS["connect_errors"] += 1
        fail("%s: connect: %r" % (user, e))
        return
    sid = c.welcome.get("session")
    try:
        for ch in rnd.sample(CHANNELS, rnd.choice((1, 2))):
            await c.subscribe(ch, presence=rnd.random() < 0.25)
        await asyncio.sleep(rnd.uniform(1, 3))
        if rnd.random() < 0.5:
            await c.ws.send(json.dumps({"type": "typing",
                                        "channel": next(iter(chain.ch))}))
        await asyncio.sleep(rnd.uniform(1, 3))
        mode = rnd.random()
        if mode < 0.4:
            await caught_up(chain)
            await c.close()
            STATS["clean"] += 1
        elif mode < 0.85:
            await c.fin()
            await asyncio.sleep(rnd.uniform(0.2, 1.0))
            r = Conn(chain, rnd.choice(ports))
            await r.open(user, session=sid)
            if r.welcome.get("resumed") is not True:
                fail("%s: resume: %r" % (user, r.welcome))
                r.abort()
                return
            STATS["resumes"] += 1
            await asyncio.sleep(rnd.uniform(1, 3))
            if set(r.resubs) != set(chain.ch):
                fail("%s: resumed %r, subscribed %r" %
                     (user, sorted(r.resubs), sorted(chain.ch)))
            await caught_up(chain)
            await r.close()
        else:
            c.abort()
            STATS["aborts"] += 1
    except Exception as e:  # noqa: BLE001 -- reported, the run goes on
        fail("%s: %r" % (user, e))
        c.abort()
        return
    PENDING_CHECKS.append(asyncio.ensure_future(check_later(chain)))


async def churner(slot, stop):
    rnd = random.Random(slot)
    n = 0
    await asyncio.sleep(rnd.uniform(0, 3))
    while not stop.is_set():
        n += 1
        await churn_once(slot, n, rnd)
        done = [t for t in PENDING_CHECKS if t.done()]
        for t in done:
            PENDING_CHECKS.remove(t)


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        if int(s.rsplit(")", 1)[1].split()[1]) == ppid:
            out.append(int(d))
    return sorted(out)


def comm(pid):
    with open("/proc/%d/comm" % pid) as f:
        return f.read().strip()


def measure(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def processes():
    """(label, pid, port) for every process of the run."""
    procs = [("redis-server", ARGS.redis_pid, None)]
    for node, (sup, port) in enumerate(zip(ARGS.supervisors, ARGS.ports)):
        n = "ab"[node]
        procs.append(("%s/gw-supervise" % n, sup, None))
        for p in children(sup):
            name = comm(p)
            procs.append(("%s/%s" % (n, name), p,
                          port if name == "gw-listen" else None))
    return procs


class Sampler:
    def __init__(self, procs, mark):
        self.procs = procs
        self.mark = mark
        self.base = None

    def sample(self, t):
        vals = {}
        for label, pid, _ in self.procs:
            try:
                vals[pid] = measure(pid)
            except (OSError, UnboundLocalError):
                fail("%s (pid %d) is gone" % (label, pid))
                vals[pid] = None
        listen = {}
        for label, pid, port in self.procs:
            if port is not None and vals[pid]:
                listen[port] = listen.get(port, 0) + vals[pid][1]
        adj = {p: listen.get(p, 0) - OPEN[p] for p in ARGS.ports}
        isbase = False
        if self.base is None and t >= self.mark:
            self.base = (dict(vals), dict(adj))
            isbase = True
        print("== t=%dm%02ds published %d delivered %d connects %d "
              "resumes %d clean %d aborts %d open %d%s" %
              (t // 60, t % 60, STATS["published"], STATS["delivered"],
               STATS["connects"], STATS["resumes"], STATS["clean"],
               STATS["aborts"], sum(OPEN.values()),
               "  (baseline)" if isbase else ""))
        print("   %-16s %7s %9s %7s %5s %5s" %
              ("process", "pid", "rss KiB", "rss %", "fds", "+fds"))
        for label, pid, port in self.procs:
            v = vals[pid]
            if v is None:
                continue
            drss, dfd = "", ""
            if self.base and self.base[0].get(pid):
                b = self.base[0][pid]
                g = (v[0] - b[0]) / b[0]
                drss = "%+.1f" % (100 * g)
                dfd = "%+d" % (v[1] - b[1])
                if g > RSS_GROWTH:
                    fail("%s RSS grew %.1f %% (%d -> %d KiB)" %
                         (label, 100 * g, b[0], v[0]))
                if port is None and v[1] - b[1] > FD_SLACK:
                    fail("%s fds grew %d -> %d" % (label, b[1], v[1]))
            print("   %-16s %7d %9d %7s %5d %5s" %
                  (label, pid, v[0], drss, v[1], dfd))
        for p in ARGS.ports:
            d = ""
            if self.base:
                d = "%+d" % (adj[p] - self.base[1][p])
                if adj[p] - self.base[1][p] > LISTEN_FD_SLACK:
                    fail("gw-listen workers on port %d: fds less client "
                         "connections grew %d -> %d" %
                         (p, self.base[1][p], adj[p]))
            print("   listen :%d fds less %d open conns: %d %s" %
                  (p, OPEN[p], adj[p], d))
        sys.stdout.flush()


async def stable(i, stop, done):
    port = ARGS.ports[i % 2]
    chain = Chain("s%d" % i)
    c = Conn(chain, port)
    await c.open("s%d" % i)
    rnd = random.Random(1000 + i)
    for ch in rnd.sample(CHANNELS, 2):
        await c.subscribe(ch, presence=(i % 2 == 0))
        if i % 2 == 0:
            STABLE_PRESENCE[ch].add(chain.name)
    await stop.wait()
    await done.wait()
    await caught_up(chain, 15)
    chain.verify()
    if c.reader.done():
        fail("%s: connection closed during the run" % chain.name)
    return c


async def main_run():
    dur = ARGS.minutes * 60
    interval = 60 if ARGS.minutes >= 6 else ARGS.minutes * 10
    mark = dur / 6.0
    for p in ARGS.ports:
        OPEN[p] = 0
    stop = asyncio.Event()
    pubs_done = asyncio.Event()
    st_tasks = [asyncio.ensure_future(stable(i, stop, pubs_done))
                for i in range(STABLE)]
    await asyncio.sleep(2)
    pubs = [asyncio.ensure_future(publisher(p, i, stop))
            for i, p in enumerate(ARGS.ports)]
    churn = [asyncio.ensure_future(churner(s, stop)) for s in range(CHURN)]
    sampler = Sampler(processes(), mark)
    print("soak: %d min, %d stable subscribers, %d churn slots, %g msg/s on "
          "%d channels; baseline at %ds, a sample each %ds" %
          (ARGS.minutes, STABLE, CHURN, RATE, len(CHANNELS), int(mark),
           interval), flush=True)
    t0 = time.monotonic()
    k = 0
    while True:
        t = k * interval
        await asyncio.sleep(max(0, t0 + t - time.monotonic()))
        sampler.sample(t)
        k += 1
        if t >= dur:
            break
        if any(p.done() for p in pubs):
            break
    stop.set()
    await asyncio.wait(churn, timeout=40)
    for t in churn:
        t.cancel()
    await asyncio.wait(pubs, timeout=10)
    await asyncio.sleep(1)
    pubs_done.set()
    res, _ = await asyncio.wait(st_tasks, timeout=30)
    conns = []
    for t in res:
        if t.exception():
            fail("stable subscriber: %r" % t.exception())
        else:
            conns.append(t.result())
    if PENDING_CHECKS:
        await asyncio.wait(PENDING_CHECKS, timeout=10)
    # Presence converges: no churn user left after the grace and node_ttl.
    await asyncio.sleep(8)
    q = Conn(None, ARGS.ports[0])
    try:
        await q.open("observer")
    except Exception as e:  # noqa: BLE001
        fail("observer: %r" % e)
        q = None
    for ch in CHANNELS if q else []:
        try:
            r = await q.req({"type": "subscribe", "channel": ch,
                             "presence": True})
        except Exception as e:  # noqa: BLE001
            fail("presence %s: %r" % (ch, e))
            continue
        users = [u.get("userId", "") for u in
                 r.get("presence", {}).get("users", [])]
        if r.get("type") != "subscribed" or not users:
            fail("presence %s: %r" % (ch, r))
        left = [u for u in users if u.startswith("c")]
        if left:
            fail("presence %s still lists %r" % (ch, left[:5]))
        missing = STABLE_PRESENCE[ch] - set(users)
        if missing:
            fail("presence %s lacks %r" % (ch, sorted(missing)[:5]))
    if q:
        await q.close()
    for c in conns:
        await c.close()
    if STATS["presence_events"] == 0 or STATS["typing_events"] == 0:
        fail("no presence or typing event was seen")
    if STATS["resumes"] == 0:
        fail("no resume happened")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, required=True)
    ap.add_argument("--ports", required=True)
    ap.add_argument("--redis-pid", type=int, required=True)
    ap.add_argument("--supervisors", required=True)
    ARGS = ap.parse_args()
    ARGS.ports = [int(x) for x in ARGS.ports.split(",")]
    ARGS.supervisors = [int(x) for x in ARGS.supervisors.split(",")]
    # Started in the background by a script, SIGINT would be ignored:
    # Ctrl-C must stop the run too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(
            main_run(), ARGS.minutes * 60 + 180))
    except asyncio.TimeoutError:
        fail("the run did not end in time")
    except KeyboardInterrupt:
        print("soak: FAIL interrupted", flush=True)
        os._exit(1)         # no teardown of hundreds of pending tasks
    s = STATS
    summary = ("%d published, %d delivered, %d connects, %d resumes, "
               "%d clean closes, %d aborts, %d sessions checked, "
               "%d presence and %d typing events" %
               (s["published"], s["delivered"], s["connects"], s["resumes"],
                s["clean"], s["aborts"], s["checked"],
                s["presence_events"], s["typing_events"]))
    if FAILS:
        print("soak: FAIL %s (%d errors; %s)" % (FAILS[0], s["errors"],
                                                  summary))
        return 1
    print("soak: PASS %d min, RSS within 10 %% and fds flat after %ds; %s" %
          (ARGS.minutes, ARGS.minutes * 10, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
