#!/usr/bin/python3
"""presencecheck.py -- scenarios for gw-presence (tests/bats/4000-gw-presence.bats).

    /usr/bin/python3 tests/helpers/presencecheck.py SCENARIO --ports P,Q [...]

The nodes (gw-bridge, gw-presence and gw-listen, each node on its own run
directory, all on one Redis) are started by the bats file with short
timers: --presence-grace, --node-ttl and --typing-ttl are given to this
script too (--grace, --node-ttl, --typing-ttl) so that it knows the
deadlines the spec sets.  A scenario connects python3-websockets clients
to the gw-listen ports it is given, in the order its comment says, and
checks the presence and typing frames every client received (PROTOCOL.md
sections 2 and 4).  Exit 0 if the scenario passes; otherwise print what
was expected and what came, and exit 1.

No sleep-and-hope: that an event did NOT come is shown by a later event
that must come after it (a sentinel: another user joining the same
channel goes through the same gw-presence -> Redis -> gw-bridge path, in
order), taken after a deadline the spec defines when the event would be
due later (the grace, the typing TTL, node_ttl).  Every wait is bounded.
Phases shared with bats (kill a node, restart gw-presence) are as in
bridgecheck.py: the scenario creates SYNC/NAME and waits for
SYNC/NAME.go.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import websockets  # noqa: E402

import bridgecheck  # noqa: E402
from bridgecheck import (Peer, Sync, close_all, log, short,  # noqa: E402
                         want)
from wsraw import OP_TEXT, Fail, build_frame, upgrade_request  # noqa: E402

TIMEOUT = 10
# A timer may fire this much before its nominal time and still count as
# on time (clock reading granularity of an event loop).
SLOP = 0.05
PRESENCE_TYPES = ("presence.join", "presence.leave")
TYPING_TYPES = ("typing.start", "typing.stop")
INFO = {"name": "Alice", "tags": [], "o": {}, "n": 1.5}


def now_ms():
    return int(time.time() * 1000)


class TPeer(Peer):
    """A Peer that also notes when each frame came (time.monotonic(),
    in self.t, same index as self.frames)."""

    def __init__(self, *args):
        self.t = []
        super().__init__(*args)

    async def _read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                self.t.append(time.monotonic())
                self.frames.append(m)
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

    def evs(self, typ, ch=None, user=None, after=0):
        """Indexes of the frames of type TYP (a string or a tuple), of
        channel CH and userId USER if given, from index AFTER on."""
        types = (typ,) if isinstance(typ, str) else typ
        return [i for i, f in enumerate(self.frames)
                if i >= after and f.get("type") in types and
                (ch is None or f.get("channel") == ch) and
                (user is None or f.get("userId") == user)]

    async def wait_ev(self, typ, ch, user, n=1, timeout=TIMEOUT, after=0):
        """Wait until N frames of TYP for USER on CH came (from index
        AFTER on); return the index of the Nth."""
        await self.until(lambda: len(self.evs(typ, ch, user, after)) >= n,
                         "%s%s of %s on %s" % (
                             "" if n == 1 else "%d x " % n, typ, user, ch),
                         timeout)
        return self.evs(typ, ch, user, after)[n - 1]

    def shown(self, types=PRESENCE_TYPES + TYPING_TYPES, ch=None):
        return short([(f["type"], f.get("userId"))
                      for f in self.frames
                      if f.get("type") in types and
                      (ch is None or f.get("channel") == ch)], 12)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(key, claims):
    """An HS256 JWT over CLAIMS."""
    h = b64u(b'{"alg":"HS256","typ":"JWT"}')
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    si = (h + "." + p).encode()
    return h + "." + p + "." + b64u(hmac.new(key, si,
                                                 hashlib.sha256).digest())


class Ctx:
    """The scenario's options, and the connections it opens."""

    def __init__(self, a):
        self.a = a
        self.key = None
        if a.secret:
            with open(a.secret, "rb") as f:
                self.key = f.read().rstrip(b"\n")
        self.nsent = 0

    async def conn(self, port, user, info=None, name=None, session=None):
        """A connection of USER to PORT: with --secret, by a JWT (with
        an info claim INFO if given); else by ?user= (auth none); with
        SESSION, a resume of it."""
        if self.key is not None:
            claims = {"sub": user, "exp": int(time.time()) + 600}
            if info is not None:
                claims["info"] = info
            q = "token=" + mint(self.key, claims)
        else:
            want(info is None, "an info claim needs --secret")
            q = "user=" + user
        if session is not None:
            q += "&session=" + session
        uri = "ws://127.0.0.1:%d/ws?%s" % (port, q)
        name = name or "%s@%d" % (user, port)
        try:
            ws = await websockets.connect(uri, ping_interval=None,
                                          open_timeout=TIMEOUT,
                                          close_timeout=3, max_queue=None)
        except (OSError, asyncio.TimeoutError,
                websockets.InvalidHandshake) as e:
            raise Fail("connect %s: %r" % (uri, e))
        try:
            raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
        except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
            raise Fail("%s: no welcome: %r" % (name, e))
        w = json.loads(raw)
        want(w.get("type") == "welcome" and w.get("userId") == user,
             "%s: first frame %r", name, w)
        p = TPeer(name, ws, w)
        bridgecheck.PEERS.append(p)
        return p

    async def observers(self, ch):
        """obs-a on the first port and obs-b on the second, subscribed
        to CH with presence: true; once obs-a saw obs-b's join."""
        A, B = self.a.ports[0], self.a.ports[1]
        oa = await self.conn(A, "obs-a")
        await oa.subscribe(ch, presence=True)
        ob = await self.conn(B, "obs-b")
        await ob.subscribe(ch, presence=True)
        await oa.wait_ev("presence.join", ch, "obs-b")
        return oa, ob

    async def query(self, peer, ch):
        """A presence request; checks the shape of the answer."""
        self.nsent += 1
        r = await peer.req({"type": "presence", "id": "q%d" % self.nsent,
                            "channel": ch}, "presence")
        check_answer(r, "%s: presence of %s" % (peer.name, ch))
        want(r.get("channel") == ch, "presence answer for %r: %r", ch, r)
        return r

    async def typing(self, peer, ch, stop=False):
        m = {"type": "typing", "channel": ch}
        if stop:
            m["state"] = "stop"
        await peer.send(m)

    async def sentinel(self, port, ch, user, observers):
        """USER subscribes to CH on PORT; wait until every observer saw
        their presence.join.  Whatever gw-presence published on CH
        before it has then reached the observers."""
        p = await self.conn(port, user)
        await p.subscribe(ch)
        for o in observers:
            await o.wait_ev("presence.join", ch, user)
        return p


def check_answer(r, what):
    """A presence answer: count, users deduplicated, each with userId,
    connectedAt and info; truncated only when cut."""
    users = r.get("users")
    want(isinstance(r.get("count"), int) and isinstance(users, list),
         "%s: no count or users: %r", what, r)
    ids = [u.get("userId") for u in users]
    want(len(set(ids)) == len(ids), "%s: a user twice: %s", what,
         short(ids))
    for u in users:
        want(isinstance(u.get("userId"), str) and
             isinstance(u.get("connectedAt"), int) and
             isinstance(u.get("info"), dict), "%s: a user entry %r",
             what, u)
    if r.get("truncated") is True:
        want(len(users) < r["count"], "%s: truncated with all %d users",
             what, r["count"])
    else:
        want("truncated" not in r or r["truncated"] is False,
             "%s: truncated %r", what, r.get("truncated"))
        want(len(users) == r["count"], "%s: count %d but %d users: %s",
             what, r["count"], len(users), short(ids))
        order = [(u["connectedAt"], u["userId"]) for u in users]
        want(order == sorted(order), "%s: users not in connectedAt "
             "order: %s", what, short(order))


def user_of(r, uid):
    for u in r["users"]:
        if u["userId"] == uid:
            return u
    return None


def ids(r):
    return sorted(u["userId"] for u in r["users"])


def redis_cli(a, *args):
    """redis-cli against the test's Redis (--redis-sock); its output."""
    p = subprocess.run(["redis-cli", "-s", a.redis_sock] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10, check=False)
    return p.stdout.decode()


def commandstats(a):
    """{command: calls} from INFO commandstats."""
    out = {}
    for line in redis_cli(a, "INFO", "commandstats").splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name, rest = line[len("cmdstat_"):].split(":", 1)
        fields = dict(kv.split("=", 1) for kv in rest.split(","))
        out[name] = int(fields["calls"])
    return out


async def sleep_until(t):
    d = t - time.monotonic()
    if d > 0:
        await asyncio.sleep(d)


# --- scenarios -------------------------------------------------------------

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


@scenario
async def dedupe(x):
    """--ports A,B --secret FILE: alice has a tab on A, then one on B:
    observers on A and B (presence: true) get exactly one presence.join,
    with her token's info byte for byte; presence on either node counts
    her once, connectedAt her first connection's; closing one tab gives
    no leave (checked after the grace), closing the last gives one."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    ch = "dd"
    oa, ob = await x.observers(ch)
    t0 = now_ms()
    tab1 = await x.conn(A, "alice", info=INFO, name="alice-tab1")
    await tab1.subscribe(ch)
    t1 = now_ms()
    for o in (oa, ob):
        i = await o.wait_ev("presence.join", ch, "alice")
        f = o.frames[i]
        want(f == {"type": "presence.join", "channel": ch,
                   "userId": "alice", "info": INFO},
             "%s: join frame %r, want info %r", o.name, f, INFO)
    # A clearly later second connection, so that "the earliest" shows.
    await asyncio.sleep(0.3)
    t2 = now_ms()
    tab2 = await x.conn(B, "alice", info=INFO, name="alice-tab2")
    await tab2.subscribe(ch)
    await x.sentinel(B, ch, "bob", [oa, ob])
    for o in (oa, ob):
        n = len(o.evs("presence.join", ch, "alice"))
        want(n == 1, "%s: %d presence.join of alice for two tabs, want 1: "
             "%s", o.name, n, o.shown())
    answers = [await x.query(o, ch) for o in (oa, ob)]
    for o, r in zip((oa, ob), answers):
        want(ids(r) == ["alice", "bob", "obs-a", "obs-b"] and
             r["count"] == 4, "%s: presence %r, want alice once, bob, "
             "obs-a, obs-b", o.name, r)
        u = user_of(r, "alice")
        want(t0 - 5 <= u["connectedAt"] <= t1 + 5, "%s: alice's "
             "connectedAt %d, want her first connection's (between %d "
             "and %d; the second tab came at %d)", o.name,
             u["connectedAt"], t0, t1, t2)
        want(u["info"] == INFO, "%s: alice's info %r, want %r", o.name,
             u["info"], INFO)
        want(user_of(r, "bob")["info"] == {}, "%s: bob (no info claim) "
             "has info %r", o.name, user_of(r, "bob")["info"])
    want(answers[0]["users"] == answers[1]["users"], "the nodes answer "
         "differently: %r and %r", answers[0], answers[1])
    # The presence in a subscribed reply (presence: true) is the same.
    late = await x.conn(A, "obs-late")
    r = await late.subscribe(ch, presence=True)
    want(isinstance(r.get("presence"), dict), "subscribed with presence: "
         "true, but no presence: %r", r)
    check_answer(r["presence"], "the presence of a subscribed reply")
    u = user_of(r["presence"], "alice")
    want(u is not None and u["info"] == INFO and
         t0 - 5 <= u["connectedAt"] <= t1 + 5, "alice in the presence of "
         "a subscribed reply: %r (first connection between %d and %d)",
         u, t0, t1)
    await tab1.close()
    # A's gw-presence withdraws alice once its grace is over; she is
    # still on B, so nothing may be published then.
    await asyncio.sleep(a.grace + 0.5)
    await x.sentinel(A, ch, "carol", [oa, ob])
    for o in (oa, ob):
        want(not o.evs("presence.leave", ch, "alice"), "%s: alice left "
             "though her tab on B is open: %s", o.name, o.shown())
    for o in (oa, ob):
        r = await x.query(o, ch)
        u = user_of(r, "alice")
        want(u is not None and r["count"] == 6, "%s: presence after "
             "closing one of two tabs: %r", o.name, r)
        want(u["connectedAt"] >= t2 - 5, "%s: alice's connectedAt %d is "
             "still the closed tab's (the open one came at %d)", o.name,
             u["connectedAt"], t2)
    tc = time.monotonic()
    await tab2.close()
    for o in (oa, ob, late):
        i = await o.wait_ev("presence.leave", ch, "alice",
                            timeout=a.grace + 3)
        f = o.frames[i]
        want(f == {"type": "presence.leave", "channel": ch,
                   "userId": "alice", "info": INFO},
             "%s: leave frame %r", o.name, f)
        log("%s: alice's leave %.3f s after her last tab closed" %
            (o.name, o.t[i] - tc))
    await x.sentinel(B, ch, "dave", [oa, ob, late])
    for o in (oa, ob, late):
        n = len(o.evs("presence.leave", ch, "alice"))
        want(n == 1, "%s: %d presence.leave of alice, want 1: %s", o.name,
             n, o.shown())
        r = await x.query(o, ch)
        want(ids(r) == ["bob", "carol", "dave", "obs-a", "obs-b",
                        "obs-late"],
             "%s: presence after alice left: %r", o.name, r)
    log("ok")


@scenario
async def grace(x):
    """--ports A,B: alice (on B) closes: the observer on A gets her
    leave no sooner than --grace after the close; bob closes and comes
    back on B, carol closes on B and comes back on A, both within the
    grace: no leave, no second join (checked after the grace)."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    ch = "gr"
    o = await x.conn(A, "obs")
    await o.subscribe(ch, presence=True)
    alice = await x.conn(B, "alice")
    await alice.subscribe(ch)
    await o.wait_ev("presence.join", ch, "alice")
    tc = time.monotonic()
    await alice.close()
    i = await o.wait_ev("presence.leave", ch, "alice", timeout=a.grace + 3)
    dt = o.t[i] - tc
    log("alice's leave %.3f s after the close (grace %.2f s)" %
        (dt, a.grace))
    want(dt >= a.grace - SLOP, "alice's leave came %.3f s after she "
         "closed, before the grace of %.2f s", dt, a.grace)
    want(dt <= a.grace + 2, "alice's leave came %.3f s after she closed "
         "(grace %.2f s)", dt, a.grace)
    bob = await x.conn(B, "bob")
    await bob.subscribe(ch)
    carol = await x.conn(B, "carol")
    await carol.subscribe(ch)
    await o.wait_ev("presence.join", ch, "bob")
    await o.wait_ev("presence.join", ch, "carol")
    tc = time.monotonic()
    await bob.close()
    await carol.close()
    await asyncio.sleep(a.grace * 0.3)
    bob2 = await x.conn(B, "bob", name="bob-again")
    await bob2.subscribe(ch)
    carol2 = await x.conn(A, "carol", name="carol-on-A")
    await carol2.subscribe(ch)
    back = time.monotonic() - tc
    want(back < a.grace * 0.8, "the test took %.3f s to reconnect, not "
         "well within the grace of %.2f s", back, a.grace)
    # Had the grace run out for them, their leaves would be published
    # by now (grace after the close, plus slack).
    await sleep_until(tc + a.grace + 0.5)
    await x.sentinel(B, ch, "dave", [o])
    await x.sentinel(A, ch, "erin", [o])
    for u in ("bob", "carol"):
        want(len(o.evs("presence.join", ch, u)) == 1 and
             not o.evs("presence.leave", ch, u), "%s was back within the "
             "grace, yet: %s", u, o.shown())
    r = await x.query(o, ch)
    want(ids(r) == ["bob", "carol", "dave", "erin", "obs"], "presence "
         "after the quick reconnects: %r", r)
    log("ok")


@scenario
async def actor(x):
    """--ports A,B: alice (A) and bob (B) subscribe with presence: true,
    pa (A) and pb (B) without.  Neither alice nor bob receives their own
    presence.join or typing.start/stop; pa and pb receive no presence or
    typing frame at all (not even carol's join and leave, or alice's and
    bob's typing), as shown by a message published after it all."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    ch = "ac"
    pa = await x.conn(A, "pa")
    await pa.subscribe(ch)
    pb = await x.conn(B, "pb")
    await pb.subscribe(ch)
    alice = await x.conn(A, "alice")
    await alice.subscribe(ch, presence=True)
    bob = await x.conn(B, "bob")
    await bob.subscribe(ch, presence=True)
    await alice.wait_ev("presence.join", ch, "bob")
    await x.typing(alice, ch)
    await bob.wait_ev("typing.start", ch, "alice")
    # bob types after alice's typing.start came back: his comes after
    # hers on the channel, so it follows hers at alice's too.
    await x.typing(bob, ch)
    await alice.wait_ev("typing.start", ch, "bob")
    await x.typing(alice, ch, stop=True)
    await bob.wait_ev("typing.stop", ch, "alice")
    await x.typing(bob, ch, stop=True)
    await alice.wait_ev("typing.stop", ch, "bob")
    carol = await x.sentinel(A, ch, "carol", [alice, bob])
    await carol.close()
    await alice.wait_ev("presence.leave", ch, "carol", timeout=a.grace + 3)
    await bob.wait_ev("presence.leave", ch, "carol", timeout=a.grace + 3)
    r = await bob.req({"type": "publish", "id": "end", "channel": ch,
                       "data": "end"}, "published")
    for p in (pa, pb, alice, bob):
        await p.until(lambda p=p: any(m.get("offset") == r["offset"]
                                      for m in p.messages(ch)),
                      "the closing message")
    for p in (alice, bob):
        own = p.evs(PRESENCE_TYPES + TYPING_TYPES, ch,
                    p.welcome["userId"])
        want(not own, "%s received events it caused itself: %s", p.name,
             p.shown())
    want(len(alice.evs(TYPING_TYPES, ch, "bob")) == 2 and
         len(bob.evs(TYPING_TYPES, ch, "alice")) == 2, "typing frames: "
         "alice got %s; bob got %s", alice.shown(), bob.shown())
    for p in (pa, pb):
        got = p.evs(PRESENCE_TYPES + TYPING_TYPES)
        want(not got, "%s subscribed without presence: true, yet got %s",
             p.name, [p.frames[i] for i in got])
    log("ok")


@scenario
async def typing(x):
    """--ports A,B: the observer on B (presence: true) sees alice's
    (A) typing: one typing.start for a burst of typing longer than two
    TTLs, typing.stop one TTL after the last; typing.stop at once on
    state stop (and no second one when the TTL would have lapsed), on
    her publish to the channel, on her unsubscribe, and (ann) on a close,
    there before the presence.leave.  History holds no typing."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    ttl = a.typing_ttl
    ch = "ty"
    o = await x.conn(B, "obs")
    await o.subscribe(ch, presence=True)
    alice = await x.conn(A, "alice")
    await alice.subscribe(ch)
    await o.wait_ev("presence.join", ch, "alice")
    # A burst: one typing every TTL/4, for 2.5 TTLs.
    mark = len(o.frames)
    n = 10
    for k in range(n):
        t_last = time.monotonic()
        await x.typing(alice, ch)
        if k < n - 1:
            await asyncio.sleep(ttl / 4)
    want(not o.evs("typing.stop", ch, "alice", mark), "typing.stop while "
         "alice kept typing (every %.2f s, TTL %.2f s): %s", ttl / 4, ttl,
         o.shown())
    i = await o.wait_ev("typing.stop", ch, "alice", timeout=ttl + 3,
                        after=mark)
    dt = o.t[i] - t_last
    log("burst of %d typing: stop %.3f s after the last (TTL %.2f s)" %
        (n, dt, ttl))
    starts = o.evs("typing.start", ch, "alice", mark)
    want(len(starts) == 1 and starts[0] < i, "a burst of %d typing gave "
         "%d typing.start: %s", n, len(starts), o.shown())
    want(ttl - SLOP <= dt <= ttl + 1.5, "typing.stop %.3f s after the "
         "last typing, TTL %.2f s", dt, ttl)

    async def stopped_by(what, act, p=alice, user="alice"):
        mark = len(o.frames)
        t_typed = time.monotonic()
        await x.typing(p, ch)
        await o.wait_ev("typing.start", ch, user, after=mark)
        t = time.monotonic()
        await act()
        i = await o.wait_ev("typing.stop", ch, user, timeout=ttl + 3,
                            after=mark)
        dt = o.t[i] - t
        log("typing.stop %.3f s after %s" % (dt, what))
        want(dt < 0.6 * ttl and o.t[i] - t_typed < ttl - SLOP,
             "typing.stop %.3f s after %s (%.3f s after the typing): it "
             "came with the TTL of %.2f s, not with the %s", dt, what,
             o.t[i] - t_typed, ttl, what)
        return mark, t_typed

    mark, t_typed = await stopped_by(
        "state stop", lambda: x.typing(alice, ch, stop=True))
    # Had the TTL timer been left running, its stop would be out now.
    await sleep_until(t_typed + ttl + 0.3)
    await x.sentinel(A, ch, "s1", [o])
    stops = o.evs("typing.stop", ch, "alice", mark)
    want(len(stops) == 1, "%d typing.stop for one typing and a state "
         "stop: %s", len(stops), o.shown())
    await stopped_by("a publish", lambda: alice.req(
        {"type": "publish", "id": "p1", "channel": ch, "data": "hi"},
        "published"))
    await stopped_by("an unsubscribe", lambda: alice.req(
        {"type": "unsubscribe", "id": "u1", "channel": ch},
        "unsubscribed"))
    ann = await x.conn(A, "ann")
    await ann.subscribe(ch)
    await o.wait_ev("presence.join", ch, "ann")
    mark, _ = await stopped_by("a close", ann.close, ann, "ann")
    i = await o.wait_ev("presence.leave", ch, "ann", timeout=a.grace + 3,
                        after=mark)
    want(o.evs("typing.stop", ch, "ann", mark)[0] < i, "ann's typing.stop "
         "after her leave: %s", o.shown())
    h = await o.req({"type": "history", "id": "h", "channel": ch},
                    "history")
    want([m["data"] for m in h["messages"]] == ["hi"], "history of %s "
         "(one publish, much typing): %r", ch, h)
    log("ok")


@scenario
async def node_kill(x):
    """--ports A,B,C --sync DIR: u1 (on A, in nk and nk2), u2 (two tabs
    on A) and u3 (tabs on A and B); observers on B and C.  Phase "kill":
    bats kills node A (SIGKILL, all its processes).  Within node_ttl + 2 s
    of the kill both observers get exactly one presence.leave for u1 in
    both channels and for u2, none for u3, and presence answers on B and
    C list u3 but not u1 and u2."""
    a = x.a
    A, B, C = a.ports[0], a.ports[1], a.ports[2]
    sync = Sync(a.sync)
    chans = ("nk", "nk2")
    obs = []
    for port, name in ((B, "obs-b"), (C, "obs-c")):
        p = await x.conn(port, name)
        for ch in chans:
            await p.subscribe(ch, presence=True)
        obs.append(p)
    u1 = await x.conn(A, "u1")
    for ch in chans:
        await u1.subscribe(ch)
    for k in range(2):
        p = await x.conn(A, "u2", name="u2-tab%d" % k)
        await p.subscribe("nk")
    u3a = await x.conn(A, "u3", name="u3-on-A")
    await u3a.subscribe("nk")
    u3b = await x.conn(B, "u3", name="u3-on-B")
    await u3b.subscribe("nk")
    gone = [("nk", "u1"), ("nk", "u2"), ("nk2", "u1")]
    for o in obs:
        for ch, u in gone + [("nk", "u3")]:
            await o.wait_ev("presence.join", ch, u)
        r = await x.query(o, "nk")
        want(ids(r) == ["obs-b", "obs-c", "u1", "u2", "u3"], "%s: "
             "presence before the kill: %r", o.name, r)
    t_kill = time.monotonic()
    await sync.phase("kill")
    deadline = t_kill + a.node_ttl + 2
    for o in obs:
        for ch, u in gone:
            i = await o.wait_ev("presence.leave", ch, u,
                                timeout=max(deadline - time.monotonic(),
                                            0.01))
            log("%s: %s left %s %.3f s after the kill" %
                (o.name, u, ch, o.t[i] - t_kill))
    for o in obs:
        while True:
            r = await x.query(o, "nk")
            if "u1" not in ids(r) and "u2" not in ids(r):
                break
            want(time.monotonic() < deadline, "%s: presence still lists "
                 "users of the dead node %.1f s after the kill: %r",
                 o.name, time.monotonic() - t_kill, r)
            await asyncio.sleep(0.05)
        want(ids(r) == ["obs-b", "obs-c", "u3"], "%s: presence after the "
             "kill: %r", o.name, r)
        r = await x.query(o, "nk2")
        want(ids(r) == ["obs-b", "obs-c"], "%s: presence of nk2 after the "
             "kill: %r", o.name, r)
    # Another survivor sweeping the same instance would do it within a
    # sweep period (at most 1 s): wait that out, then the sentinels.
    await asyncio.sleep(1.2)
    await x.sentinel(B, "nk", "s-b", obs)
    await x.sentinel(C, "nk2", "s-c", obs)
    for o in obs:
        for ch, u in gone:
            n = len(o.evs("presence.leave", ch, u))
            want(n == 1, "%s: %d presence.leave of %s on %s, want 1: %s",
                 o.name, n, u, ch, o.shown())
        want(not o.evs("presence.leave", "nk", "u3"), "%s: u3 left though "
             "her tab on B is open: %s", o.name, o.shown())
        want(len(o.evs("presence.join", None, None)) ==
             len(set((o.frames[i]["channel"], o.frames[i]["userId"])
                     for i in o.evs("presence.join"))),
             "%s: a join twice: %s", o.name, o.shown())
    log("ok")


def instances(a, ch, user):
    """The instances holding USER in CH in Redis (gw:{CH}:u)."""
    v = redis_cli(a, "HGET", "gw:{%s}:u" % ch, user).strip()
    want(v.startswith("{"), "%s is not in Redis (HGET gw:{%s}:u %s: %r)",
         user, ch, user, v)
    return sorted(json.loads(v)["n"])


@scenario
async def restart(x):
    """--ports A,B --sync DIR --redis-sock S: observers on A and B; u1
    and u2 on A, u3 on B.  Phase "restart": bats kills A's gw-presence
    (SIGKILL) and starts it again.  Once the old instance is swept
    (node_ttl + 2 s at most), presence on both nodes lists everyone,
    Redis holds A's users under the new instance, and no presence.leave
    or presence.join reached the observers."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    sync = Sync(a.sync)
    ch = "rs"
    oa, ob = await x.observers(ch)
    for port, u in ((A, "u1"), (A, "u2"), (B, "u3")):
        p = await x.conn(port, u)
        await p.subscribe(ch)
        for o in (oa, ob):
            await o.wait_ev("presence.join", ch, u)
    everyone = ["obs-a", "obs-b", "u1", "u2", "u3"]
    for o in (oa, ob):
        r = await x.query(o, ch)
        want(ids(r) == everyone, "%s: presence before: %r", o.name, r)
    old = instances(a, ch, "u1")
    want(len(old) == 1, "u1 is under %r in Redis, want one instance", old)
    mark = [len(o.frames) for o in (oa, ob)]
    t_kill = time.monotonic()
    await sync.phase("restart")
    deadline = t_kill + a.node_ttl + 2
    while True:
        z = redis_cli(a, "ZSCORE", "gw:nodes", old[0]).strip()
        e = redis_cli(a, "EXISTS", "gw:inst:" + old[0]).strip()
        if z == "" and e == "0":
            break
        want(time.monotonic() < deadline, "the old instance %s not swept "
             "within node_ttl + 2 s: ZSCORE gw:nodes %r, EXISTS "
             "gw:inst:%s %r", old[0], z, old[0], e)
        await asyncio.sleep(0.05)
    log("old instance %s swept %.3f s after the kill" %
        (old[0], time.monotonic() - t_kill))
    for o in (oa, ob):
        r = await x.query(o, ch)
        want(ids(r) == everyone, "%s: presence after the restart and the "
             "sweep of the old instance: %r", o.name, r)
    await x.sentinel(A, ch, "s-a", [oa, ob])
    for o, m in zip((oa, ob), mark):
        got = [o.frames[i] for i in o.evs(PRESENCE_TYPES, ch, None, m)]
        want([(f["type"], f["userId"]) for f in got] ==
             [("presence.join", "s-a")], "%s: presence events across "
             "gw-presence's restart: %r", o.name, got)
    for u in ("u1", "u2"):
        now = instances(a, ch, u)
        want(len(now) == 1 and now[0] != old[0] and
             now[0].split("/")[0] == old[0].split("/")[0], "%s in Redis "
             "under %r after the restart, want one new instance of the "
             "node (the old was %s)", u, now, old[0])
    log("ok")


@scenario
async def outage(x):
    """--ports A,B --sync DIR --redis-sock S: node A's gw-presence is
    killed (phase "kill": bats sends SIGKILL) and started again (phase
    "start").  The typist (on A) had typed: the observer (on B) gets its
    typing.stop within typing_ttl of the restart and a few seconds, and
    no second typing.start (A's worker declared the typing to the new
    gw-presence; the old one's timer died with it).  The reader (on A)
    closed cleanly while gw-presence was away, messages going on: its
    closing save, kept by the worker, reaches Redis once gw-presence is
    back, and the reader resumes on B with recovered: true and the five
    messages it missed, once, in order."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    sync = Sync(a.sync)
    ch, mc = "out", "outm"
    ob = await x.conn(B, "obs")
    await ob.subscribe(ch, presence=True)
    ty = await x.conn(A, "typist")
    await ty.subscribe(ch)
    await ob.wait_ev("presence.join", ch, "typist")
    rd = await x.conn(A, "reader")
    await rd.subscribe(mc)
    pub = await x.conn(B, "pub")
    await pub.subscribe(mc)
    sid = rd.welcome["session"]

    async def publish(n0):
        offs = []
        for k in range(n0, n0 + 5):
            r = await pub.req({"type": "publish", "id": "p%d" % k,
                               "channel": mc, "data": k}, "published")
            offs.append(r["offset"])
        return offs

    await publish(0)
    await rd.until(lambda: len(rd.messages(mc)) == 5, "the first five")
    await x.typing(ty, ch)
    await ob.wait_ev("typing.start", ch, "typist")
    mark = len(ob.frames)
    await sync.phase("kill")
    await rd.ws.close()
    missed = await publish(5)
    await sync.phase("start")
    t0 = time.monotonic()
    await ob.wait_ev("typing.stop", ch, "typist",
                     timeout=a.typing_ttl + 5, after=mark)
    log("typing.stop %.2f s after gw-presence was back" %
        (time.monotonic() - t0))
    want(not ob.evs("typing.start", ch, "typist", mark),
         "a second typing.start: %s", ob.shown())
    deadline = time.monotonic() + 10
    while '"o":' not in redis_cli(a, "HGET", "gw:sess:" + sid, "s"):
        want(time.monotonic() < deadline, "the reader's closing save "
             "(with its offsets) not in Redis 10 s after gw-presence was "
             "back: %r", redis_cli(a, "HGETALL", "gw:sess:" + sid))
        await asyncio.sleep(0.05)
    r2 = await x.conn(B, "reader", name="reader-again", session=sid)
    want(r2.welcome.get("resumed") is True, "resume: %r", r2.welcome)
    await r2.until(lambda: any(f.get("type") == "subscribed" and
                               f.get("channel") == mc for f in r2.frames),
                   "the restored subscription")
    sub = [f for f in r2.frames if f.get("type") == "subscribed"][0]
    want(sub.get("recovered") is True, "restored with %r", sub)
    await r2.until(lambda: len(r2.messages(mc)) >= 5, "the five missed")
    got = [m["offset"] for m in r2.messages(mc)]
    want(got == missed, "replayed %s, want %s", got, missed)
    log("ok")


@scenario
async def flush(x):
    """--ports A,B --redis-sock S: Redis loses its data (FLUSHALL) under
    two nodes with observers and users on a channel.  Each gw-presence
    finds its lease gone at its next renewal and declares its users
    again; nobody swept them (no presence.leave went out), so it does so
    quietly: once Redis holds all four again, and a sentinel's join has
    reached the observers, they got no presence event but that join (on
    the tree before: a join for every user, their own included)."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    ch = "fl"
    oa, ob = await x.observers(ch)
    for port, u in ((A, "u1"), (B, "u2")):
        p = await x.conn(port, u)
        await p.subscribe(ch)
        for o in (oa, ob):
            await o.wait_ev("presence.join", ch, u)
    mark = [len(o.frames) for o in (oa, ob)]
    want(redis_cli(a, "FLUSHALL").strip() == "OK", "FLUSHALL failed")
    deadline = time.monotonic() + 10
    while redis_cli(a, "HLEN", "gw:{%s}:u" % ch).strip() != "4":
        want(time.monotonic() < deadline, "the users not declared again "
             "within 10 s: %r", redis_cli(a, "HKEYS", "gw:{%s}:u" % ch))
        await asyncio.sleep(0.05)
    await x.sentinel(A, ch, "s-fl", [oa, ob])
    for o, m in zip((oa, ob), mark):
        got = [o.frames[i] for i in o.evs(PRESENCE_TYPES, ch, None, m)]
        want([(f["type"], f["userId"]) for f in got] ==
             [("presence.join", "s-fl")], "%s: presence events after "
             "the FLUSHALL: %r", o.name, got)
    for o in (oa, ob):
        r = await x.query(o, ch)
        want(ids(r) == ["obs-a", "obs-b", "s-fl", "u1", "u2"],
             "%s: presence after: %r", o.name, r)
    log("ok")


@scenario
async def resume_claims(x):
    """--ports A,B --secret FILE: dave subscribes to private:team-1 (his
    token's channels claim allows it) and to a public channel on A,
    closes, and resumes the session on B with a token without the claim:
    the welcome lists the public channel only, it is restored, and no
    error without an id comes; his own subscribe to private:team-1 is
    answered forbidden, with its id."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    exp = int(time.time()) + 600

    async def conn(port, claims, session=None):
        q = "token=" + mint(x.key, claims)
        if session:
            q += "&session=" + session
        ws = await websockets.connect("ws://127.0.0.1:%d/ws?%s" % (port, q),
                                      ping_interval=None, close_timeout=3)
        w = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        p = TPeer("dave@%d" % port, ws, w)
        bridgecheck.PEERS.append(p)
        return p

    d = await conn(A, {"sub": "dave", "exp": exp,
                       "channels": ["private:team-*"]})
    await d.subscribe("private:team-1")
    await d.subscribe("open1")
    sid = d.welcome["session"]
    await d.ws.close()
    deadline = time.monotonic() + TIMEOUT
    while True:
        d2 = await conn(B, {"sub": "dave", "exp": exp}, session=sid)
        if d2.welcome.get("resumed") is True:
            break
        await d2.ws.close()
        want(time.monotonic() < deadline, "no resume: %r", d2.welcome)
        await asyncio.sleep(0.1)
    want(d2.welcome.get("channels") == ["open1"], "welcome.channels %r, "
         "want only the channel the new token allows", d2.welcome)
    await d2.until(lambda: any(f.get("type") == "subscribed" and
                               f.get("channel") == "open1"
                               for f in d2.frames), "open1 restored")
    r = await d2.req({"type": "subscribe", "id": "again",
                      "channel": "private:team-1"}, "error")
    want(r.get("code") == "forbidden", "subscribe again: %r", r)
    stray = [f for f in d2.frames if f.get("type") == "error" and
             "id" not in f]
    want(not stray, "errors without an id: %r", stray)
    log("ok")


def raw_members(port, ch, n, deadline):
    """Open N raw WebSocket connections (users big0..), each sending
    the upgrade and a subscribe to CH at once; return the sockets once
    each saw its "subscribed"."""
    sel = selectors.DefaultSelector()
    socks = []
    pending = 0

    def pump(target):
        nonlocal pending
        while pending > target:
            want(time.monotonic() < deadline, "%d of %d raw connections "
                 "not subscribed in time", pending, n)
            for key, mask in sel.select(timeout=0.2):
                s, st = key.fileobj, key.data
                if mask & selectors.EVENT_WRITE:
                    try:
                        k = s.send(st["out"])
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as e:
                        raise Fail("raw connection %d: %r" % (st["i"], e))
                    st["out"] = st["out"][k:]
                    if not st["out"]:
                        sel.modify(s, selectors.EVENT_READ, st)
                    continue
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    raise Fail("raw connection %d: %r" % (st["i"], e))
                want(data, "raw connection %d closed by the server: %r",
                     st["i"], st["in"][-300:])
                st["in"] += data
                if b'"subscribed"' in st["in"]:
                    sel.unregister(s)
                    pending -= 1
                elif b'"error"' in st["in"]:
                    raise Fail("raw connection %d: %r" % (st["i"],
                                                          st["in"][-300:]))

    for i in range(n):
        s = socket.socket()
        s.bind(("127.0.0.%d" % (2 + i % 200), 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        head, _ = upgrade_request("127.0.0.1:%d" % port,
                                  path="/ws?user=big%d" % i)
        sub = build_frame(OP_TEXT, json.dumps({"type": "subscribe",
                                               "id": 1, "channel": ch}))
        sel.register(s, selectors.EVENT_WRITE, {"out": head + sub,
                                                "in": b"", "i": i})
        socks.append(s)
        pending += 1
        if pending >= 400:
            pump(200)
    pump(0)
    sel.close()
    return socks


@scenario
async def big(x):
    """--ports A --redis-sock S -n N: a watcher (presence: true) and
    N - 1 raw connections of N - 1 users on one channel.  The joins cost
    O(1) commands each (commandstats: about N publishes, not N^2) and
    reach the watcher once each.  Then one presence request: count N,
    --max-users users, truncated true, and in Redis two commands, HLEN
    and HRANDFIELD, sent together (one round trip): a constant number
    (INFO commandstats after CONFIG RESETSTAT; MONITOR for the commands
    on the channel's key)."""
    a = x.a
    A = a.ports[0]
    n = a.n
    ch = "big"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want(hard >= n + 200, "RLIMIT_NOFILE hard limit %d, need %d", hard,
         n + 200)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    w = await x.conn(A, "watcher")
    await w.subscribe(ch, presence=True)
    want(redis_cli(a, "CONFIG", "RESETSTAT").strip() == "OK",
         "CONFIG RESETSTAT failed")
    t0 = time.monotonic()
    socks = await asyncio.get_running_loop().run_in_executor(
        None, raw_members, A, ch, n - 1, t0 + 120)
    t1 = time.monotonic()
    log("%d raw connections subscribed in %.2f s" % (n - 1, t1 - t0))
    try:
        await w.until(lambda: len(w.evs("presence.join", ch)) >= n - 1,
                      "%d presence.join" % (n - 1), 60)
        t2 = time.monotonic()
        log("the watcher got %d joins %.2f s after the first connect" %
            (n - 1, t2 - t0))
        st = commandstats(a)
        log("commands during the joins: publish %d, evalsha %d, all %d" %
            (st.get("publish", 0), st.get("evalsha", 0), sum(st.values())))
        want(n - 1 <= st.get("publish", 0) <= n + 500, "%d joins made "
             "%d PUBLISH (want about one each)", n - 1,
             st.get("publish", 0))
        want(sum(st.values()) <= 20 * n, "%d joins cost %d Redis "
             "commands: not O(1) each: %r", n - 1, sum(st.values()), st)
        joins = [w.frames[i]["userId"] for i in w.evs("presence.join", ch)]
        want(len(joins) == len(set(joins)) == n - 1, "the watcher got %d "
             "joins of %d users", len(joins), len(set(joins)))
        r = await x.query(w, ch)
        want(r["count"] == n, "presence count %d, want %d", r["count"], n)
        mon = await asyncio.create_subprocess_exec(
            "redis-cli", "-s", a.redis_sock, "MONITOR",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        lines = []

        async def read_until(pred, what):
            while True:
                line = await asyncio.wait_for(mon.stdout.readline(), TIMEOUT)
                want(line, "MONITOR ended before %s: %s", what,
                     short(lines))
                line = line.decode(errors="replace").rstrip("\n")
                lines.append(line)
                if pred(line):
                    return
        try:
            await read_until(lambda s: s == "OK", "its OK")
            want(redis_cli(a, "CONFIG", "RESETSTAT").strip() == "OK",
                 "CONFIG RESETSTAT failed")
            t = time.monotonic()
            r = await x.query(w, ch)
            dt = time.monotonic() - t
            st = commandstats(a)
            redis_cli(a, "ECHO", "presencecheck-end")
            await read_until(lambda s: "presencecheck-end" in s,
                             "the end marker")
        finally:
            mon.kill()
            await mon.wait()
        # The commands that name the channel (its keys hold {CH}).
        key = "{%s}" % ch
        mine = [s for s in lines if key in s or '"%s"' % ch in s]
        calls = [s for s in mine if "lua]" not in s]
        inlua = [s for s in mine if "lua]" in s]
        log("the query took %.3f s; commands naming the channel: %d "
            "from clients %s, %d in Lua %s; commandstats %r" % (
                dt, len(calls),
                [c.split("]", 1)[-1][:30] for c in calls], len(inlua),
                [c.split("]", 1)[-1][:50] for c in inlua], st))
        verbs = [c.split("]", 1)[-1].split()[0].strip('"').upper()
                 for c in calls]
        want(verbs == ["HLEN", "HRANDFIELD"],
             "the query of a %d-member channel: %d command(s) on %s "
             "from clients, want HLEN then HRANDFIELD: %s", n, len(calls),
             key, short(calls))
        want(len(inlua) == 0, "the query ran %d commands in Lua on %s: "
             "%s", len(inlua), key, short(inlua))
        for c in ("hget", "hmget", "hscan", "hkeys", "hvals", "hexists"):
            want(st.get(c, 0) == 0, "the query called %s %d times",
                 c.upper(), st.get(c, 0))
        want(st.get("hrandfield", 0) + st.get("hgetall", 0) == 1,
             "the query: HRANDFIELD %d, HGETALL %d: want one of them once",
             st.get("hrandfield", 0), st.get("hgetall", 0))
        want(r["count"] == n, "presence count %d, want %d", r["count"], n)
        want(len(r["users"]) == a.max_users and r.get("truncated") is True,
             "presence of %d users with --presence-max-users %d: %d users,"
             " truncated %r", n, a.max_users, len(r["users"]),
             r.get("truncated"))
        bad = [u for u in r["users"] if u["userId"] != "watcher" and
               not u["userId"].startswith("big")]
        want(not bad, "unknown users in the answer: %s", short(bad))
    finally:
        for s in socks:
            s.close()
    log("ok")


def events_in(a, pid):
    """The presence events gw-bridge passed to the worker of pid
    (gw-listen's events_in, from gwctl stats on --rundir)."""
    out = subprocess.run(["gwctl", "--rundir", a.rundir, "--json", "stats"],
                         capture_output=True, text=True, timeout=TIMEOUT,
                         check=True).stdout
    for line in out.splitlines():
        o = json.loads(line)
        if o.get("process") == "gw-listen" and o.get("pid") == pid:
            return o["counters"]["events_in"]
    raise Fail("gwctl stats: no gw-listen of pid %d" % pid)


@scenario
async def evworkers(x):
    """--ports A,B: two workers of one node (--pids PA,PB, --rundir its
    run directory).  The bridge passes a channel's presence events only
    to the workers that have a presence subscriber on it: none to B while
    its one subscriber (pb) did not ask for presence, some once bob (B)
    subscribes with presence: true, none again once he unsubscribed
    (pb still there).  A message published after each event, received by
    pb, shows that nothing for B was still on its way (the bridge passes
    events and messages to a worker in order).  With --sync, phase
    "restart" after the first check: bats kills the node's gw-bridge and
    starts it again; the workers declare their channels again, A with
    the events and B without: alice sees a join, B still gets none."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    PB = a.pids[1]
    ch = "ew"
    pb = await x.conn(B, "pb")
    await pb.subscribe(ch)
    alice = await x.conn(A, "alice")
    await alice.subscribe(ch, presence=True)
    n = 0

    async def after(what):
        nonlocal n
        n += 1
        r = await alice.req({"type": "publish", "id": "m%d" % n,
                             "channel": ch, "data": n}, "published")
        await pb.until(lambda: any(m.get("offset") == r["offset"]
                                   for m in pb.messages(ch)), what)
        return events_in(a, PB)

    await x.sentinel(A, ch, "carol", [alice])
    got = await after("the message after carol's join")
    want(got == 0, "worker B, no presence subscriber: %d events", got)
    if a.sync:
        await Sync(a.sync).phase("restart")
        # Answered once the new bridge has the channel live in Redis:
        # the events published after it reach the bridge.  Both on B,
        # whose subscribes ask no events: A gets them by its own
        # declaration only.
        probe = await x.conn(B, "probe")
        await probe.subscribe(ch)
        await x.sentinel(B, ch, "carol2", [alice])
        got = await after("the message after carol2's join")
        want(got == 0, "worker B after the bridge's restart: %d events",
             got)
    bob = await x.conn(B, "bob")
    await bob.subscribe(ch, presence=True)
    await x.sentinel(A, ch, "dave", [alice, bob])
    got = await after("the message after dave's join")
    want(got >= 1, "worker B, bob with presence: %d events", got)
    await bob.req({"type": "unsubscribe", "id": "u", "channel": ch},
                  "unsubscribed")
    await x.sentinel(A, ch, "erin", [alice])
    again = await after("the message after erin's join")
    want(again == got, "worker B, bob gone: %d events more", again - got)
    want(not pb.evs(PRESENCE_TYPES + TYPING_TYPES),
         "pb subscribed without presence: true, yet got %s", pb.shown())
    log("ok: B had %d events, all while bob was there" % got)


@scenario
async def race(x):
    """--ports A,B: four users subscribe with presence: true to one new
    channel at the same moment, two on each node, in ten rounds (in half
    of them the channel is live in Redis already: a plain subscriber on
    each node).  Each one's view (the users of its subscribed answer,
    then the joins and leaves after it) must come to hold all four, as a
    presence query says, and no join may come for a user the view holds
    already.  Read before the bridge brought the channel's events, the
    presence missed a user who joined in between: 16 views of 40 never
    saw someone on the tree before."""
    a = x.a
    A, B = a.ports[0], a.ports[1]
    users = ["u%d" % i for i in range(4)]
    for k in range(10):
        ch = "race%d" % k
        everyone = set(users)
        if k % 2:
            for port in (A, B):
                everyone.add("warm%d-%d" % (k, port))
                w = await x.conn(port, "warm%d-%d" % (k, port))
                await w.subscribe(ch)
        peers = [await x.conn(A if i % 2 else B, u)
                 for i, u in enumerate(users)]
        await asyncio.gather(*[p.subscribe(ch, presence=True)
                               for p in peers])

        def view(p):
            v, dup = set(), []
            for f in p.frames:
                if f.get("channel") != ch:
                    continue
                if f.get("type") == "subscribed":
                    v = {u["userId"] for u in f["presence"]["users"]}
                elif f.get("type") == "presence.join":
                    if f["userId"] in v:
                        dup.append(f["userId"])
                    v.add(f["userId"])
                elif f.get("type") == "presence.leave":
                    v.discard(f["userId"])
            return v, dup

        for p in peers:
            await p.until(lambda p=p: view(p)[0] == everyone,
                          "round %d: %s's view of all" % (k, p.name))
            q = await x.query(p, ch)
            want(set(ids(q)) == everyone, "round %d: presence %s", k,
                 ids(q))
            want(not view(p)[1], "round %d: %s: joins of users it had "
                 "already: %s", k, p.name, view(p)[1])
        await close_all()
    log("ok: 40 views of 4 users subscribing at once came to all four")


async def run(fn, x):
    try:
        await fn(x)
    finally:
        await close_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--ports", required=True,
                    type=lambda s: [int(p) for p in s.split(",")])
    ap.add_argument("--sync")
    ap.add_argument("--redis-sock")
    ap.add_argument("--secret")
    ap.add_argument("--grace", type=float, default=1)
    ap.add_argument("--node-ttl", type=float, default=2)
    ap.add_argument("--typing-ttl", type=float, default=1)
    ap.add_argument("--max-users", type=int, default=1000)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--rundir")
    ap.add_argument("--pids", type=lambda s: [int(p) for p in s.split(",")])
    a = ap.parse_args()
    fn = SCENARIOS[a.scenario]
    t0 = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(run(fn, Ctx(a)), a.timeout))
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
