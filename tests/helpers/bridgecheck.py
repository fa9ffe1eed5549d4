#!/usr/bin/python3
"""bridgecheck.py -- scenarios for gw-bridge (tests/bats/3000-gw-bridge.bats).

    /usr/bin/python3 tests/helpers/bridgecheck.py SCENARIO --ports P,Q [...]

The nodes (gw-bridge plus gw-listen) are started by the bats file; a
scenario connects python3-websockets clients to the gw-listen ports it is
given (--ports, in the order the scenario documents), publishes and
subscribes, and checks what every client received.  Exit 0 if the
scenario passes; otherwise print what was expected and what came, and
exit 1.

Scenarios that need the bats file to act in the middle (stop Redis, kill
a bridge, freeze a proxy) stop at named phases: the scenario creates the
file SYNC/NAME and waits (bounded) for SYNC/NAME.go, which bats creates
once it has done its part.  The clients stay connected meanwhile.

Every wait is bounded.  Offsets are compared as strings within an epoch
(the part before the colon), as PROTOCOL.md says.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import websockets  # noqa: E402

from wsraw import Fail  # noqa: E402

TIMEOUT = 10


def want(cond, msg, *args):
    if not cond:
        raise Fail(msg % args if args else msg)


def log(*a):
    print(*a, flush=True)


def epoch(off):
    return off.split(":", 1)[0]


def short(xs, n=6):
    xs = list(xs)
    if len(xs) <= 2 * n:
        return repr(xs)
    return "%r ... (%d more) ... %r" % (xs[:n], len(xs) - 2 * n, xs[-n:])


PEERS = []      # every Peer opened: closed at the end of the scenario


class Peer:
    """One WebSocket connection whose frames are read all the time by a
    task of its own: every frame is kept, in order, and replies are
    found by id.  Waiters sleep on a condition, so none misses a frame."""

    def __init__(self, name, ws, welcome):
        self.name = name
        self.ws = ws
        self.welcome = welcome
        self.frames = []
        self.texts = []         # the frames as they came, for byte checks
        self.replies = {}
        self.dup_ids = []
        self.closed = None
        self.cond = asyncio.Condition()
        self.task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, port, user, name=None):
        uri = "ws://127.0.0.1:%d/ws?user=%s" % (port, user)
        try:
            ws = await websockets.connect(uri, ping_interval=None,
                                          open_timeout=TIMEOUT,
                                          close_timeout=3,
                                          max_queue=None)
        except (OSError, asyncio.TimeoutError,
                websockets.InvalidHandshake) as e:
            raise Fail("connect %s: %r" % (uri, e))
        try:
            raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
        except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
            raise Fail("%s: no welcome: %r" % (name or user, e))
        w = json.loads(raw)
        want(w.get("type") == "welcome", "%s: first frame %r", user, w)
        p = cls(name or "%s@%d" % (user, port), ws, w)
        PEERS.append(p)
        return p

    async def _read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                self.frames.append(m)
                self.texts.append(raw)
                if "id" in m and m.get("type") != "message":
                    if m["id"] in self.replies:
                        self.dup_ids.append(m)
                    self.replies[m["id"]] = m
                async with self.cond:
                    self.cond.notify_all()
        except websockets.ConnectionClosed as e:
            self.closed = e
        except Exception as e:  # noqa: BLE001 (reported by until())
            self.closed = e
        if self.closed is None:
            self.closed = "closed"
        async with self.cond:
            self.cond.notify_all()

    async def until(self, pred, what, timeout=TIMEOUT):
        """Wait until PRED() is true; fail after TIMEOUT seconds or if
        the connection closed first."""
        async def waiter():
            async with self.cond:
                await self.cond.wait_for(lambda: pred() or
                                         self.closed is not None)
        try:
            await asyncio.wait_for(waiter(), timeout)
        except asyncio.TimeoutError:
            raise Fail("%s: no %s within %.1fs; last frames: %s" %
                       (self.name, what, timeout, short(self.frames[-6:])))
        if not pred():
            raise Fail("%s: closed (%s) while waiting for %s; last frames: "
                       "%s" % (self.name, self.closed, what,
                               short(self.frames[-6:])))

    async def send(self, obj):
        try:
            await self.ws.send(json.dumps(obj))
        except websockets.ConnectionClosed as e:
            raise Fail("%s: closed: %s" % (self.name, e))

    async def request(self, obj, timeout=TIMEOUT):
        """Send OBJ and return its reply (any type with its id)."""
        await self.send(obj)
        rid = obj["id"]
        await self.until(lambda: rid in self.replies,
                         "reply to %r" % (obj,), timeout)
        return self.replies[rid]

    async def req(self, obj, rtype, timeout=TIMEOUT):
        """Send OBJ; its reply must be of type RTYPE."""
        m = await self.request(obj, timeout)
        want(m.get("type") == rtype, "%s: %r got %r, want %s", self.name,
             obj, m, rtype)
        return m

    async def subscribe(self, channel, rid=None, timeout=TIMEOUT, **extra):
        return await self.req(dict({"type": "subscribe", "id": rid or
                                    "sub-" + channel, "channel": channel},
                                   **extra), "subscribed", timeout)

    def messages(self, channel, after=0):
        """The message frames of CHANNEL received (from frame index
        AFTER on)."""
        return [m for m in self.frames[after:]
                if m.get("type") == "message" and
                m.get("channel") == channel]

    def gaps(self, channel):
        """Unsolicited subscribed frames (recovered: false) of CHANNEL."""
        return [m for m in self.frames if m.get("type") == "subscribed" and
                "id" not in m and m.get("channel") == channel]

    def check_open(self):
        want(self.closed is None, "%s: the WebSocket closed: %s", self.name,
             self.closed)

    async def close(self):
        await self.ws.close()
        self.task.cancel()


async def close_all():
    """Close every connection still open (left open, websockets would
    make asyncio.run wait out its close timeout)."""
    open_ = [p for p in PEERS if p.closed is None]
    for p in open_:
        p.task.cancel()
    await asyncio.gather(*(p.ws.close() for p in open_),
                         return_exceptions=True)


async def run(fn, a):
    try:
        await fn(a)
    finally:
        await close_all()


class PubLoop:
    """Publish {"tag": TAG, "n": i} on CHANNEL every INTERVAL seconds
    (0: as fast as the window allows), at most WINDOW unanswered, until
    stopped.  Every publish must get exactly one reply."""

    def __init__(self, peer, channel, tag, interval=0.0, window=50):
        self.peer = peer
        self.channel = channel
        self.tag = tag
        self.interval = interval
        self.window = window
        self.sent = []
        self.stopping = False
        self.task = None
        self.t_sent = {}

    def start(self, count=None):
        self.task = asyncio.ensure_future(self._run(count))
        return self

    def answered(self):
        return sum(1 for i in self.sent if i in self.peer.replies)

    async def _run(self, count):
        n = 0
        while not self.stopping and (count is None or n < count):
            if len(self.sent) - self.answered() >= self.window:
                await self.peer.until(lambda: len(self.sent) -
                                      self.answered() < self.window,
                                      "publish replies (%s)" % self.tag)
            rid = "%s-%d" % (self.tag, n)
            self.t_sent[rid] = time.monotonic()
            await self.peer.send({"type": "publish", "id": rid,
                                  "channel": self.channel,
                                  "data": {"tag": self.tag, "n": n}})
            self.sent.append(rid)
            n += 1
            if self.interval:
                await asyncio.sleep(self.interval)
            elif n % 20 == 0:
                await asyncio.sleep(0)

    async def stop(self, timeout=TIMEOUT):
        """Stop publishing; wait for every reply."""
        self.stopping = True
        await asyncio.wait_for(self.task, timeout)
        await self.peer.until(lambda: self.answered() == len(self.sent),
                              "the replies to all %d publishes of %s" %
                              (len(self.sent), self.tag), timeout)
        for rid in self.sent:
            r = self.peer.replies[rid]
            want(r.get("type") == "published" or
                 (r.get("type") == "error" and
                  r.get("code") == "unavailable"),
                 "publish %s: %r", rid, r)
        want(not self.peer.dup_ids, "%s: two replies for one id: %r",
             self.peer.name, self.peer.dup_ids[:3])

    async def wait_published(self, n, timeout=TIMEOUT, since=0):
        """Wait until N publishes sent from index SINCE on were taken."""
        await self.peer.until(lambda: self.n_published(since) >= n,
                              "%d published replies (%s)" % (n, self.tag),
                              timeout)

    async def wait_errors(self, n, timeout=TIMEOUT, since=0):
        await self.peer.until(lambda: len(self.errors(since)) >= n,
                              "%d error replies (%s)" % (n, self.tag),
                              timeout)

    def n_published(self, since=0):
        return sum(1 for i in self.sent[since:]
                   if self.peer.replies.get(i, {}).get("type") ==
                   "published")

    def errors(self, since=0):
        return [self.peer.replies[i] for i in self.sent[since:]
                if self.peer.replies.get(i, {}).get("type") == "error"]

    def ambiguous(self):
        """{(tag, n)} of the publishes answered with an error: Redis may
        have taken them before the error (a link lost mid-request)."""
        return {(self.tag, k) for k, rid in enumerate(self.sent)
                if self.peer.replies.get(rid, {}).get("type") == "error"}

    def published(self):
        """[(offset, n)] of the publishes that were taken, in send
        order."""
        out = []
        for k, rid in enumerate(self.sent):
            r = self.peer.replies.get(rid, {})
            if r.get("type") == "published":
                out.append((r["offset"], k))
        return out


def check_increasing(offs, what):
    """Offsets strictly increase (as strings) within each epoch, and an
    epoch, once left, never comes back."""
    seen_epochs = []
    for i, (x, y) in enumerate(zip(offs, offs[1:])):
        if epoch(x) == epoch(y):
            want(x < y, "%s: offset %d %r then %r: not increasing; %s",
                 what, i, x, y, short(offs))
        else:
            seen_epochs.append(epoch(x))
            want(epoch(y) not in seen_epochs, "%s: epoch %s comes back",
                 what, epoch(y))
    want(len(set(offs)) == len(offs), "%s: an offset twice", what)


def gap_covers(peer, channel, o):
    """Was PEER told of a gap covering offset O of CHANNEL: a
    recovered:false subscribed frame at or after O in O's epoch?"""
    return any(epoch(g) == epoch(o) and o <= g
               for g in (g.get("offset", "") for g in peer.gaps(channel)))


def check_stream(peer, channel, published, what, after=0, gaps_ok=False,
                 ambiguous=(), lost_epochs=()):
    """PEER's messages of CHANNEL (from frame AFTER on) are exactly the
    offsets PUBLISHED (sorted), in order, none twice, none missing.  With
    GAPS_OK, a message may be missing only if the peer was told of a gap
    covering it: a recovered:false subscribed frame whose offset is at or
    after it in its epoch, or any such frame if the message is of one of
    LOST_EPOCHS (a history that Redis lost).  A message whose data
    (tag, n) is in AMBIGUOUS (its publish got an error, so it may or may
    not have been taken) may be there or not."""
    msgs = peer.messages(channel, after)
    check_increasing([m["offset"] for m in msgs],
                     "%s: %s" % (peer.name, what))
    got = [m["offset"] for m in msgs
           if not isinstance(m.get("data"), dict) or
           (m["data"].get("tag"), m["data"].get("n")) not in ambiguous]
    want_offs = sorted(published)
    gotset = set(got)
    wantset = set(want_offs)
    extra = [o for o in got if o not in wantset]
    want(not extra, "%s: %s: %d messages nobody published (or twice): %s",
         peer.name, what, len(extra), short(extra))
    missing = [o for o in want_offs if o not in gotset]
    if missing and gaps_ok:
        missing = [o for o in missing if not (
            (epoch(o) in lost_epochs and peer.gaps(channel)) or
            gap_covers(peer, channel, o))]
    want(not missing, "%s: %s: %d of %d published messages missing: %s; "
         "got %s", peer.name, what, len(missing), len(want_offs),
         short(missing), short(got))
    if not gaps_ok:
        want(got == want_offs, "%s: %s: order %s, want %s", peer.name,
             what, short(got), short(want_offs))
    return got


async def wait_offset(peer, channel, off, timeout=15):
    """Wait until PEER received the message of offset OFF on CHANNEL (or
    a later one: what is missing is for check_stream to say)."""
    await peer.until(lambda: any(m["offset"] >= off and
                                 epoch(m["offset"]) == epoch(off)
                                 for m in peer.messages(channel)[-50:]),
                     "the message of offset %s" % off, timeout)


class Sync:
    """Phases shared with the bats file (see the module's comment)."""

    def __init__(self, d):
        self.dir = d

    async def phase(self, name, timeout=60):
        log("phase", name)
        with open(os.path.join(self.dir, name), "w") as f:
            f.write("%d\n" % os.getpid())
        go = os.path.join(self.dir, name + ".go")
        deadline = time.monotonic() + timeout
        while not os.path.exists(go):
            want(time.monotonic() < deadline, "phase %s: bats did not "
                 "say go within %ds", name, timeout)
            await asyncio.sleep(0.02)
        log("phase", name, "go")


def redis_cli(a, *args):
    """redis-cli against the test's Redis (--redis-sock); its output."""
    p = subprocess.run(["redis-cli", "-s", a.redis_sock] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10, check=False)
    return p.stdout.decode().split()


async def poll(pred, what, timeout=TIMEOUT):
    """Call PRED() every 20 ms until it is true; fail after TIMEOUT."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        want(time.monotonic() < deadline, "no %s within %.1fs", what,
             timeout)
        await asyncio.sleep(0.02)


# --- scenarios -------------------------------------------------------------

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


@scenario
async def order(a):
    """--ports PUB,SUB...: --count messages published on PUB's node
    arrive at a subscriber on every SUB port, in order, once each, with
    the offsets the publisher was told."""
    ports = a.ports
    subs = [await Peer.open(p, "sub%d" % i) for i, p in enumerate(ports[1:])]
    for s in subs:
        await s.subscribe("ord")
    pub = await Peer.open(ports[0], "pub")
    await pub.subscribe("ord")
    t0 = time.monotonic()
    loop = PubLoop(pub, "ord", "p", window=100).start(a.count)
    await asyncio.wait_for(loop.task, 60)
    await loop.stop()
    published = loop.published()
    want(len(published) == a.count, "only %d of %d publishes taken: %s",
         len(published), a.count, short(loop.errors()))
    offs = [o for o, _ in published]
    check_increasing(offs, "published offsets in publish order")
    for s in subs + [pub]:
        await wait_offset(s, "ord", offs[-1], 30)
        check_stream(s, "ord", offs, "messages")
        ns = [m["data"]["n"] for m in s.messages("ord")]
        want(ns == list(range(a.count)), "%s: data out of order: %s",
             s.name, short(ns))
    log("%d messages through two nodes in %.2fs" %
        (a.count, time.monotonic() - t0))


@scenario
async def concurrent(a):
    """--ports A0,A1,B: publishers on A0 and B at once (--count each,
    interleaved); subscribers on A0, A1 and B all see one order, in which
    each publisher's messages keep their publish order."""
    pa = await Peer.open(a.ports[0], "puba")
    pb = await Peer.open(a.ports[2], "pubb")
    subs = [await Peer.open(p, "sub%d" % i) for i, p in enumerate(a.ports)]
    for s in subs + [pa, pb]:
        await s.subscribe("cc")
    la = PubLoop(pa, "cc", "a", window=20).start(a.count)
    lb = PubLoop(pb, "cc", "b", window=20).start(a.count)
    await asyncio.wait_for(asyncio.gather(la.task, lb.task), 60)
    await la.stop()
    await lb.stop()
    offs = [o for o, _ in la.published()] + [o for o, _ in lb.published()]
    want(len(offs) == 2 * a.count, "only %d of %d publishes taken",
         len(offs), 2 * a.count)
    first = None
    for s in subs + [pa, pb]:
        await wait_offset(s, "cc", max(offs), 30)
        got = check_stream(s, "cc", offs, "messages")
        if first is None:
            first = got
        want(got == first, "%s saw another order than %s", s.name,
             subs[0].name)
        for tag in ("a", "b"):
            ns = [m["data"]["n"] for m in s.messages("cc")
                  if m["data"]["tag"] == tag]
            want(ns == list(range(a.count)), "%s: %s's messages out of "
                 "order: %s", s.name, tag, short(ns))
    # Interleaved: the order is not one publisher's block then the other's.
    tags = [m["data"]["tag"] for m in subs[0].messages("cc")]
    switches = sum(1 for x, y in zip(tags, tags[1:]) if x != y)
    log("one order of %d messages, %d switches between publishers" %
        (len(first), switches))
    want(switches > 2, "the publishers did not overlap (%d switches)",
         switches)


@scenario
async def churn(a):
    """--ports A0,A1,B: while B publishes --count messages, clients on A0
    and A1 subscribe to the channel and leave again, over and over; the
    subscriber that stayed on A0 (and one on A1) still gets every
    message once, in order."""
    stay0 = await Peer.open(a.ports[0], "stay0")
    stay1 = await Peer.open(a.ports[1], "stay1")
    pb = await Peer.open(a.ports[2], "pubb")
    for s in (stay0, stay1, pb):
        await s.subscribe("ch")
    loop = PubLoop(pb, "ch", "b", window=10, interval=0.002).start(a.count)
    nsubs = 0

    async def churner(port, k):
        nonlocal nsubs
        c = await Peer.open(port, "churn%d" % k)
        i = 0
        while not loop.task.done():
            await c.subscribe("ch", rid="s%d" % i)
            await c.req({"type": "unsubscribe", "id": "u%d" % i,
                         "channel": "ch"}, "unsubscribed")
            i += 1
            nsubs += 1
        await c.close()
    await asyncio.wait_for(asyncio.gather(loop.task,
                                          churner(a.ports[0], 0),
                                          churner(a.ports[1], 1)), 60)
    await loop.stop()
    offs = [o for o, _ in loop.published()]
    for s in (stay0, stay1, pb):
        await wait_offset(s, "ch", offs[-1])
        check_stream(s, "ch", offs, "messages")
    log("%d messages, %d subscribes meanwhile" % (len(offs), nsubs))


def pubsub_channels(a):
    return sorted(x for x in redis_cli(a, "PUBSUB", "CHANNELS", "gw:{*"))


def numsub(a, ch):
    out = redis_cli(a, "PUBSUB", "NUMSUB", ch)
    want(len(out) == 2 and out[0] == ch, "PUBSUB NUMSUB: %r", out)
    return int(out[1])


@scenario
async def subscriptions(a):
    """--ports A0,A1,B --redis-sock S: a node subscribes in Redis to a
    channel only while it has a subscriber to it, once however many it
    has."""
    pc = pubsub_channels(a)
    want(pc == [], "before any subscriber, PUBSUB CHANNELS gw:{* = %r", pc)
    x = await Peer.open(a.ports[0], "x")
    await x.subscribe("room")
    # Answered once Redis confirmed: visible at once.
    pc = pubsub_channels(a)
    want(pc == ["gw:{room}:p"], "after a subscribe on node A: %r", pc)
    want(numsub(a, "gw:{room}:p") == 1, "NUMSUB after one subscriber")
    y = await Peer.open(a.ports[1], "y")
    await y.subscribe("room")
    x2 = await Peer.open(a.ports[0], "x2")
    await x2.subscribe("room")
    want(numsub(a, "gw:{room}:p") == 1, "NUMSUB with three subscribers "
         "on one node: %d, want 1 (one per node)",
         numsub(a, "gw:{room}:p"))
    z = await Peer.open(a.ports[2], "z")
    await z.subscribe("room")
    want(numsub(a, "gw:{room}:p") == 2, "NUMSUB with subscribers on two "
         "nodes: %d", numsub(a, "gw:{room}:p"))
    await z.req({"type": "unsubscribe", "id": "u", "channel": "room"},
                "unsubscribed")
    await poll(lambda: numsub(a, "gw:{room}:p") == 1,
               "NUMSUB 1 after node B's last subscriber left", 5)
    # A channel of node B only.
    await z.subscribe("other")
    await poll(lambda: pubsub_channels(a) == ["gw:{other}:p",
                                              "gw:{room}:p"],
               "gw:{other}:p and gw:{room}:p", 5)
    await z.close()
    await poll(lambda: pubsub_channels(a) == ["gw:{room}:p"],
               "gw:{other}:p gone after its subscriber closed", 5)
    # Node A keeps it while one of its subscribers is left.  A subscribe
    # to a new channel through both of its gw-listen is a fence: Redis
    # saw any UNSUBSCRIBE the bridge sent before it.
    await x.req({"type": "unsubscribe", "id": "u", "channel": "room"},
                "unsubscribed")
    await y.close()
    f0 = await Peer.open(a.ports[0], "fence0")
    f1 = await Peer.open(a.ports[1], "fence1")
    await f0.subscribe("fence")
    await f1.subscribe("fence")
    pc = pubsub_channels(a)
    want(pc == ["gw:{fence}:p", "gw:{room}:p"], "node A dropped the "
         "channel while x2 is still subscribed: %r", pc)
    await x2.req({"type": "unsubscribe", "id": "u", "channel": "room"},
                 "unsubscribed")
    await f0.close()
    await f1.close()
    await poll(lambda: pubsub_channels(a) == [],
               "PUBSUB CHANNELS gw:{* empty after the last unsubscribe", 5)
    log("ok")


@scenario
async def since_replay(a):
    """--ports PUB,SUB: a client on SUB records offsets, leaves, and
    comes back with since while PUB's publisher never stops: recovered
    true, then every message after its offset once, in order, and the
    live ones after them without a gap."""
    pub = await Peer.open(a.ports[0], "pub")
    await pub.subscribe("sr")
    loop = PubLoop(pub, "sr", "p", interval=0.003, window=20).start()
    x = await Peer.open(a.ports[1], "x")
    await x.subscribe("sr")
    await x.until(lambda: len(x.messages("sr")) >= 30, "30 messages")
    await x.close()
    last = x.messages("sr")[-1]["offset"]
    mark = len(loop.sent)
    await loop.wait_published(30, since=mark)
    x2 = await Peer.open(a.ports[1], "x-again")
    r = await x2.subscribe("sr", since=last)
    want(r.get("recovered") is True, "subscribe since %s: %r", last, r)
    want(r.get("offset", "") >= last, "subscribed offset %r before since "
         "%r", r.get("offset"), last)
    ridx = x2.frames.index(r)
    want(all(f.get("type") != "message" for f in x2.frames[:ridx]),
         "messages before the subscribed reply: %s", short(x2.frames[:ridx]))
    replayed = [m for m in x2.messages("sr", ridx)
                if m["offset"] <= r["offset"]]
    await x2.until(lambda: len([m for m in x2.messages("sr", ridx)
                                if m["offset"] > r["offset"]]) >= 30,
                   "30 live messages after the replay", 15)
    await loop.stop()
    offs = [o for o, _ in loop.published() if o > last]
    await x2.until(lambda: len(x2.messages("sr")) >= len(offs),
                   "%d messages" % len(offs))
    check_stream(x2, "sr", offs, "messages after since")
    log("replayed %d, then live; %d in all" %
        (len(replayed), len(offs)))
    want(len(replayed) >= 30, "only %d messages replayed", len(replayed))


@scenario
async def since_lost(a):
    """--ports P (a bridge with --history-size 5): 20 messages; since
    the first one -> recovered false; since the 15th -> recovered true
    and the last 5; since with another epoch -> recovered false."""
    pub = await Peer.open(a.ports[0], "pub")
    await pub.subscribe("sl")
    offs = []
    for i in range(20):
        r = await pub.req({"type": "publish", "id": i, "channel": "sl",
                           "data": i}, "published")
        offs.append(r["offset"])
    x = await Peer.open(a.ports[0], "x")
    r = await x.subscribe("sl", since=offs[0])
    want(r.get("recovered") is False, "since the 1st of 20 with history "
         "5: %r", r)
    want(r.get("offset") == offs[-1], "latest offset %r, want %r",
         r.get("offset"), offs[-1])
    await x.req({"type": "presence", "id": "p", "channel": "sl"},
                "presence")
    after = [m["offset"] for m in x.messages("sl")]
    log("with recovered false, then: %s" % short(after))
    check_increasing(after, "messages after recovered:false")
    want(set(after) <= set(offs[1:]), "unknown messages after "
         "recovered:false: %s", short(after))
    y = await Peer.open(a.ports[0], "y")
    r = await y.subscribe("sl", since=offs[14])
    want(r.get("recovered") is True, "since the 15th of 20 with history "
         "5: %r", r)
    await y.req({"type": "presence", "id": "p", "channel": "sl"},
                "presence")
    got = [(m["offset"], m["data"]) for m in y.messages("sl")]
    want(got == list(zip(offs[15:], range(15, 20))), "since the 15th: "
         "got %r", got)
    e = epoch(offs[0])
    other = ("0123456789abcdef" if e != "0123456789abcdef" else
             "fedcba9876543210") + offs[14][len(e):]
    z = await Peer.open(a.ports[0], "z")
    r = await z.subscribe("sl", since=other)
    want(r.get("recovered") is False, "since %s (another epoch): %r",
         other, r)
    h = await x.req({"type": "history", "id": "h", "channel": "sl",
                     "since": offs[0]}, "history")
    want(h.get("complete") is False, "history since the 1st of 20 with "
         "history 5: %r", h)
    log("ok")


@scenario
async def history(a):
    """--ports P: history with and without limit and since; complete."""
    pub = await Peer.open(a.ports[0], "hpub")
    await pub.subscribe("h")
    offs = []
    for i in range(10):
        r = await pub.req({"type": "publish", "id": i, "channel": "h",
                           "data": {"n": i}}, "published")
        offs.append(r["offset"])
    await pub.until(lambda: len(pub.messages("h")) == 10, "10 messages")
    live = {m["offset"]: m for m in pub.messages("h")}
    x = await Peer.open(a.ports[0], "reader")
    await x.subscribe("h")
    k = [0]

    async def hist(**kw):
        k[0] += 1
        req = dict({"type": "history", "id": "h%d" % k[0], "channel": "h"},
                   **kw)
        r = await x.req(req, "history")
        want(r.get("channel") == "h" and isinstance(r.get("messages"),
                                                    list),
             "history reply %r", r)
        for m in r["messages"]:
            want(set(m) >= {"offset", "data", "from", "ts"}, "history "
                 "message lacks fields: %r", m)
            lm = live.get(m["offset"])
            want(lm is not None and lm["data"] == m["data"] and
                 lm["from"] == m["from"] == "hpub" and
                 lm["ts"] == m["ts"], "history message %r differs from "
                 "the live one %r", m, lm)
        return [m["offset"] for m in r["messages"]], r.get("complete")

    def expect(got, offsets, complete, what):
        want(got == (offsets, complete), "history %s: %s complete=%r, "
             "want %s complete=%r", what, short(got[0]), got[1],
             short(offsets), complete)
    expect(await hist(), offs, True, "without since or limit")
    expect(await hist(limit=3), offs[7:], False, "limit 3")
    expect(await hist(limit=1), offs[9:], False, "limit 1")
    expect(await hist(since=offs[3]), offs[4:], True, "since the 4th")
    expect(await hist(since=offs[3], limit=2), offs[4:6], False,
           "since the 4th, limit 2")
    expect(await hist(since=offs[3], limit=1000), offs[4:], True,
           "since the 4th, limit 1000")
    expect(await hist(since=offs[9]), [], True, "since the last")
    await x.subscribe("empty")
    r = await x.req({"type": "history", "id": "e", "channel": "empty"},
                    "history")
    want(r.get("messages") == [] and r.get("complete") is True,
         "history of a channel without messages: %r", r)
    r = await x.req({"type": "history", "id": "ns", "channel": "nope"},
                    "error")
    want(r.get("code") == "not_subscribed", "history unsubscribed: %r", r)
    log("ok")


@scenario
async def big_replay(a):
    """--ports P (default --max-outbound, 1 MiB): 100 messages of 16 kB;
    a client that reads gets the replay of a since (1.6 MB) and a
    history of them all, not a close 1013: what the server answers to a
    request is not a slow consumer's backlog."""
    pub = await Peer.open(a.ports[0], "bigpub")
    await pub.subscribe("big")
    offs = []
    for i in range(100):
        r = await pub.req({"type": "publish", "id": i, "channel": "big",
                           "data": "%03d" % i + "x" * 16000}, "published")
        offs.append(r["offset"])
    x = await Peer.open(a.ports[0], "replayer")
    r = await x.subscribe("big", since=offs[0])
    want(r.get("recovered") is True, "since the 1st of 100: %r", r)
    await wait_offset(x, "big", offs[-1])
    check_stream(x, "big", offs[1:], "replayed messages")
    y = await Peer.open(a.ports[0], "historian")
    await y.subscribe("big")
    h = await y.req({"type": "history", "id": "h", "channel": "big",
                     "limit": 100}, "history")
    got = [m["offset"] for m in h["messages"]]
    # The server may cut a big answer short, and say so: complete false.
    want(got and got == offs[offs.index(got[0]):][:len(got)] and
         h.get("complete") is (len(got) == 100), "history of 100 "
         "messages of 16 kB: %s complete=%r", short(got), h.get("complete"))
    # Paged with since, until complete: every message once, in order.
    since, pages, seen = offs[0], 0, []
    while True:
        pages += 1
        want(pages <= 100, "history pages never complete: %s", short(seen))
        h = await y.req({"type": "history", "id": "p%d" % pages,
                         "channel": "big", "since": since, "limit": 100},
                        "history")
        page = [m["offset"] for m in h["messages"]]
        seen += page
        if h.get("complete") is True:
            break
        want(page, "an empty page that is not complete: %r", h)
        since = page[-1]
    want(seen == offs[1:], "history paged since the 1st: %s", short(seen))
    log("ok: the last %d in one answer; %d pages since the first" %
        (len(got), pages))


@scenario
async def busy_link(a):
    """--ports P --count N: 100 messages of 16 kB, then N clients ask
    for their replay (since the first) at once: N x 1.6 MB of answers
    queue on the bridge's command link ahead of its health probe.  Every
    client gets all 99, in order: the bridge must not take the busy link
    for a dead one."""
    pub = await Peer.open(a.ports[0], "busypub")
    await pub.subscribe("busy")
    offs = []
    for i in range(100):
        r = await pub.req({"type": "publish", "id": i, "channel": "busy",
                           "data": "%03d" % i + "x" * 16000}, "published")
        offs.append(r["offset"])
    peers = [await Peer.open(a.ports[0], "busy%d" % i)
             for i in range(a.count)]
    t0 = time.monotonic()
    # The answers come one after the other, each behind the replays
    # before it (7 s for the last of 80 under ASan, more on a busy
    # machine): the last client waits for all of them, not TIMEOUT.
    rs = await asyncio.gather(*[p.subscribe("busy", since=offs[0],
                                            timeout=TIMEOUT + a.count / 2)
                                for p in peers])
    for i, r in enumerate(rs):
        want(r.get("recovered") is True, "replayer %d: %r", i, r)
    for i, p in enumerate(peers):
        await wait_offset(p, "busy", offs[-1])
        check_stream(p, "busy", offs[1:], "replayer %d" % i)
    log("ok: %d replays of 1.6 MB in %.2f s" % (a.count,
                                                 time.monotonic() - t0))


async def setup_traffic(a, ch, interval):
    """Subscribers on the first two ports, a publisher on each."""
    subs = [await Peer.open(p, "sub%d" % i)
            for i, p in enumerate(a.ports[:2])]
    pubs = [await Peer.open(p, "pub%d" % i)
            for i, p in enumerate(a.ports[:2])]
    for s in subs + pubs:
        await s.subscribe(ch)
    loops = [PubLoop(p, ch, "p%d" % i, interval=interval, window=10).start()
             for i, p in enumerate(pubs)]
    for s in subs:
        await s.until(lambda s=s: len(s.messages(ch)) >= 20,
                      "20 messages before the trouble")
    return subs, pubs, loops


async def finish_traffic(subs, pubs, loops, ch, gaps_ok, extra=20,
                         lost_epochs=()):
    """Publish EXTRA more on each loop, stop, and check every stream
    (see check_stream for GAPS_OK and LOST_EPOCHS)."""
    marks = [len(lp.sent) for lp in loops]
    for lp, mark in zip(loops, marks):
        await lp.wait_published(extra, since=mark, timeout=15)
    for lp in loops:
        await lp.stop()
    offs = []
    for lp in loops:
        offs += [o for o, _ in lp.published()]
    ambiguous = set()
    for lp in loops:
        log("%s: %d published, %d errors %s" % (
            lp.tag, lp.n_published(), len(lp.errors()),
            short({e.get("code") for e in lp.errors()})))
        ambiguous |= lp.ambiguous()
    live_epoch = epoch(loops[0].published()[-1][0])
    newest = [o for o in offs if epoch(o) == live_epoch]
    for s in subs + pubs:
        # A message the peer was told it missed (a gap at or after it)
        # will not come: not waited for (check_stream excuses it).
        try:
            await s.until(lambda s=s: {
                o for o in newest
                if not (gaps_ok and gap_covers(s, ch, o))} <= {
                m["offset"] for m in s.messages(ch)},
                "every message published after the trouble", 15)
        except Fail as e:
            log(e)      # check_stream says which are missing
        try:
            check_stream(s, ch, offs, "messages", gaps_ok=gaps_ok,
                         ambiguous=ambiguous, lost_epochs=lost_epochs)
        except Fail as e:
            raise Fail("%s\n(gaps reported to %s: %r)" % (e, s.name,
                                                          s.gaps(ch)))
        s.check_open()
        if not gaps_ok:
            want(not s.gaps(ch), "%s: a gap was reported: %r", s.name,
                 s.gaps(ch))
    return offs


@scenario
async def redis_restart(a):
    """--ports A,B --sync DIR: traffic on both nodes while Redis goes
    away (phase "down": bats stops it and sees /healthz 503) and comes
    back empty (phase "back": bats restarts it and sees /healthz 200).
    While it is away, publishes get unavailable (every publish gets an
    answer), WebSockets stay open; afterwards delivery works again; a
    message not delivered was reported as a gap; a since from before is
    recovered: false."""
    sync = Sync(a.sync)
    ch = "rr"
    subs, pubs, loops = await setup_traffic(a, ch, 0.01)
    before = subs[0].messages(ch)[-1]["offset"]
    await sync.phase("down")
    # Published before Redis went: its restart loses that history.
    lost = {epoch(o) for lp in loops for o, _ in lp.published()}
    marks = [len(lp.sent) for lp in loops]
    for lp, mark in zip(loops, marks):
        await lp.wait_errors(3, since=mark)
        codes = {e.get("code") for e in lp.errors(mark)}
        want(codes == {"unavailable"}, "errors while Redis is down: %r",
             codes)
    late = await Peer.open(a.ports[0], "late")
    r = await late.request({"type": "subscribe", "id": "s", "channel":
                            "other"})
    want(r.get("type") == "error" and r.get("code") == "unavailable",
         "subscribe while Redis is down: %r", r)
    for s in subs + pubs:
        s.check_open()
    await sync.phase("back")
    offs = await finish_traffic(subs, pubs, loops, ch, gaps_ok=True,
                                lost_epochs=lost)
    for s in subs:
        log("%s: gaps reported: %r" % (s.name, s.gaps(ch)))
    x = await Peer.open(a.ports[1], "x")
    r = await x.subscribe(ch, since=before)
    want(r.get("recovered") is False, "since %s (before Redis lost its "
         "data): %r", before, r)
    want(epoch(r.get("offset", "")) != epoch(before), "the epoch did not "
         "change although Redis lost the history: %r", r)
    log("ok: %d messages published" % len(offs))


@scenario
async def redis_stall(a):
    """--ports A,B --sync DIR: traffic on both nodes while Redis stalls
    (phase "stall": bats stops it with SIGSTOP and sees /healthz 503;
    phase "cont": bats lets it go on after a stated 5 s).  Meanwhile the
    WebSockets stay open and publishes are answered (unavailable once the
    links are declared dead); afterwards every message that Redis took is
    delivered to every subscriber once, in order, none missing: its
    history was not lost.  A publish answered unavailable that was
    delivered all the same (its answer lost with the link) was told it
    may have been published."""
    sync = Sync(a.sync)
    ch = "rs"
    subs, pubs, loops = await setup_traffic(a, ch, 0.01)
    await sync.phase("stall")
    marks = [len(lp.sent) for lp in loops]
    for lp, mark in zip(loops, marks):
        await lp.wait_errors(1, since=mark, timeout=15)
        codes = {e.get("code") for e in lp.errors(mark)}
        want(codes == {"unavailable"}, "errors while Redis stalls: %r",
             codes)
    for s in subs + pubs:
        s.check_open()
    await sync.phase("cont")
    offs = await finish_traffic(subs, pubs, loops, ch, gaps_ok=True)
    # A publish whose answer was lost with the link ran all the same
    # once Redis went on: its error must not say it was not published.
    got = {(m["data"]["tag"], m["data"]["n"]) for m in subs[0].messages(ch)
           if isinstance(m.get("data"), dict)}
    n = 0
    for lp in loops:
        for k, rid in enumerate(lp.sent):
            r = lp.peer.replies[rid]
            if r.get("type") == "error" and (lp.tag, k) in got:
                n += 1
                want("may have been published" in r.get("message", ""),
                     "publish %s was delivered, yet its error says %r",
                     rid, r.get("message"))
    log("ok: %d messages published, none lost or doubled; %d answered "
        "unavailable were delivered, each said it may have been" %
        (len(offs), n))


@scenario
async def pubsub_kill(a):
    """--ports A,B --redis-sock S: while both nodes publish, Redis
    closes every pub/sub connection (CLIENT KILL TYPE pubsub); the
    subscribers get every message once, in order, no gap reported."""
    ch = "pk"
    subs, pubs, loops = await setup_traffic(a, ch, 0.01)
    out = redis_cli(a, "CLIENT", "KILL", "TYPE", "pubsub")
    log("CLIENT KILL TYPE pubsub:", out)
    want(out and out[0].isdigit() and int(out[0]) >= 2, "CLIENT KILL "
         "TYPE pubsub killed %r connections, want the two bridges'", out)
    await finish_traffic(subs, pubs, loops, ch, gaps_ok=False, extra=60)
    log("ok")


@scenario
async def outage(a):
    """--ports A,B --sync DIR: traffic on both nodes while bats does
    something to node A between the phases "trouble" and "over" (kill
    and restart its bridge; freeze its pub/sub link); afterwards every
    subscriber has every message published, once, in order, and no gap
    was reported."""
    sync = Sync(a.sync)
    ch = "out"
    subs, pubs, loops = await setup_traffic(a, ch, a.interval)
    await sync.phase("trouble")
    await sync.phase("over")
    await finish_traffic(subs, pubs, loops, ch, gaps_ok=False)
    log("ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--ports", required=True,
                    type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--sync")
    ap.add_argument("--redis-sock")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    fn = SCENARIOS[a.scenario]
    t0 = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(run(fn, a), a.timeout))
    except Fail as e:
        print("FAIL %s: %s" % (a.scenario, e), flush=True)
        return 1
    except asyncio.TimeoutError:
        print("FAIL %s: not done within %.0fs" % (a.scenario, a.timeout),
              flush=True)
        return 1
    log("%s: %.2fs" % (a.scenario, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
