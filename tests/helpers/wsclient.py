"""wsclient -- scenarios that drive gw-listen with python3-websockets.

Debian's python3-websockets (10.4, asyncio API) is a client written by
other people: where the raw client of wsraw.py checks the edges of the
protocol, these check that an ordinary client library gets along with the
server.  conformance.py registers the scenarios below (all named ws-*).

"Nothing arrives" is checked without sleeping: after the event that must
not produce a frame, the client sends a request, and the very next frame
must be its reply (one gw-listen queues a connection's frames in order).
"""

import asyncio
import json
import re
import time

import websockets

from wsraw import Fail

TIMEOUT = 5


class Client:
    """One websockets connection plus the frames skipped while waiting."""

    def __init__(self, name, ws):
        self.name = name
        self.ws = ws
        self.stash = []
        self.welcome = None

    async def send(self, obj):
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def next(self, timeout=TIMEOUT):
        """The next JSON frame; fail on timeout or close."""
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except asyncio.TimeoutError:
            raise Fail("%s: nothing within %.1fs" % (self.name, timeout))
        except websockets.ConnectionClosed as e:
            raise Fail("%s: connection closed: %s" % (self.name, e))
        if not isinstance(raw, str):
            raise Fail("%s: binary frame from the server: %r" %
                       (self.name, raw))
        try:
            m = json.loads(raw)
        except ValueError:
            raise Fail("%s: text frame is not JSON: %r" % (self.name, raw))
        if not isinstance(m, dict):
            raise Fail("%s: frame is not an object: %r" % (self.name, raw))
        return m

    async def wait(self, pred, what, timeout=TIMEOUT):
        """Frames until PRED matches; the others go to the stash."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                m = await self.next(max(0.01, left))
            except Fail as e:
                raise Fail("%s waiting for %s: %s; skipped: %r" %
                           (self.name, what, e, self.stash[-8:]))
            if pred(m):
                return m
            self.stash.append(m)

    async def req(self, obj, rtype, timeout=TIMEOUT):
        """Send OBJ; wait for its RTYPE reply (same id), stashing others."""
        await self.send(obj)
        return await self.wait(lambda m: m.get("type") == rtype and
                               m.get("id") == obj.get("id"),
                               "%s reply to %r" % (rtype, obj), timeout)

    async def req_next(self, obj, rtype, timeout=TIMEOUT):
        """Send OBJ; the very next frame must be its RTYPE reply."""
        await self.send(obj)
        m = await self.next(timeout)
        if m.get("type") != rtype or m.get("id") != obj.get("id"):
            raise Fail("%s: after %r the next frame should be its %s reply, "
                       "got %r" % (self.name, obj, rtype, m))
        return m


async def connect(port, user=None, path=None, name=None, **kw):
    """Open a connection as USER (auth none) or on PATH; read the welcome."""
    if path is None:
        path = "/ws" if user is None else "/ws?user=" + user
    uri = "ws://127.0.0.1:%d%s" % (port, path)
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", TIMEOUT)
    kw.setdefault("close_timeout", 3)
    try:
        ws = await websockets.connect(uri, **kw)
    except (OSError, asyncio.TimeoutError,
            websockets.InvalidHandshake) as e:
        raise Fail("connect %s: %r" % (uri, e))
    c = Client(name or user or path, ws)
    m = await c.next()
    if m.get("type") != "welcome":
        raise Fail("%s: first frame is not a welcome: %r" % (c.name, m))
    c.welcome = m
    return c


def want(cond, msg, *args):
    if not cond:
        raise Fail(msg % args if args else msg)


def info_ok(m):
    """An info field that is an object (PROTOCOL.md: "info":{..}), even
    for a user whose token had none."""
    return isinstance(m.get("info"), dict)


def users_of(p):
    return [u.get("userId") for u in p.get("users", [])]


def check_presence(p, expected, what):
    """P is a presence object: count, users deduplicated, as EXPECTED."""
    users = users_of(p)
    want(isinstance(p.get("count"), int), "%s: count %r", what, p)
    want(p.get("count") == len(expected), "%s: count %r, want %d: %r",
         what, p.get("count"), len(expected), p)
    want(sorted(users) == sorted(expected),
         "%s: users %r, want %r (each once)", what, users, expected)
    for u in p.get("users", []):
        want(info_ok(u), "%s: user without info: %r", what, u)


# --- scenarios --------------------------------------------------------------

async def ws_welcome(a):
    """The first frame is a complete welcome; ids differ per connection."""
    c1 = await connect(a.port, a.user)
    c2 = await connect(a.port, a.user)
    w = c1.welcome
    hexre = re.compile(r"[0-9a-f]+")
    want(set(w) >= {"type", "connId", "userId", "node", "session",
                    "resumed", "channels", "pingInterval"},
         "welcome lacks fields: %r", w)
    want(isinstance(w["connId"], str) and hexre.fullmatch(w["connId"]),
         "connId is not hex: %r", w)
    want(isinstance(w["session"], str) and hexre.fullmatch(w["session"]),
         "session is not hex: %r", w)
    want(w["userId"] == a.user, "userId %r, want %r", w["userId"], a.user)
    want(w["node"] == a.node, "node %r, want %r", w["node"], a.node)
    want(w["resumed"] is False, "resumed %r, want false", w["resumed"])
    want(w["channels"] == [], "channels %r, want []", w["channels"])
    want(isinstance(w["pingInterval"], (int, float)) and
         not isinstance(w["pingInterval"], bool) and
         w["pingInterval"] == a.ping_interval,
         "pingInterval %r, want %r", w["pingInterval"], a.ping_interval)
    want(c2.welcome["connId"] != w["connId"], "two connections, one connId")
    want(c2.welcome["session"] != w["session"], "two connections, one "
         "session")
    print("welcome:", w)
    await c1.ws.close()
    await c2.ws.close()


DATAS = [{"text": "hello", "n": 1}, None, 0, -1.5, "\u00e9\u20ac\U0001F600",
         [1, {"a": []}, "x"], {"nested": {"k": True, "l": [None, False]}},
         False, "x" * 3000]


async def ws_pubsub(a):
    """Publish from one client to another: replies, messages, offsets."""
    A = await connect(a.port, "alice")
    B = await connect(a.port, "bob")
    s = await A.req({"type": "subscribe", "id": 1, "channel": "chat"},
                    "subscribed")
    want(s.get("channel") == "chat" and isinstance(s.get("offset"), str),
         "subscribed reply: %r", s)
    want("presence" not in s, "presence in a reply without presence:true: "
         "%r", s)
    await B.req({"type": "subscribe", "id": "b1", "channel": "chat"},
                "subscribed")
    offs = []
    t0 = time.time() * 1000
    for i, d in enumerate(DATAS):
        p = await B.req({"type": "publish", "id": i, "channel": "chat",
                         "data": d}, "published")
        want(isinstance(p.get("offset"), str), "published reply: %r", p)
        offs.append(p["offset"])
    t1 = time.time() * 1000
    tss = []
    for i, d in enumerate(DATAS):
        m = await A.next()
        tss.append(m.get("ts"))
        want(m.get("type") == "message", "alice: want message %d, got %r",
             i, m)
        want(m.get("channel") == "chat", "message channel: %r", m)
        want(m.get("data") == d and type(m.get("data")) is type(d),
             "message %d data %r, want %r", i, m.get("data"), d)
        want(m.get("from") == "bob", "message from %r, want bob",
             m.get("from"))
        want(m.get("offset") == offs[i], "message %d offset %r, but "
             "published said %r", i, m.get("offset"), offs[i])
        ts = m.get("ts")
        want(isinstance(ts, int) and t0 - 2000 <= ts <= t1 + 2000,
             "message ts %r not in [%d, %d] ms", ts, t0, t1)
    for x, y in zip(offs, offs[1:]):
        want(x < y, "offsets do not increase as strings: %r", offs)
    # The publisher is subscribed too: it got every message once.
    while len([m for m in B.stash if m.get("type") == "message"]) < \
            len(DATAS):
        B.stash.append(await B.next())
    mine = [m for m in B.stash if m.get("type") == "message"]
    want([m.get("offset") for m in mine] == offs,
         "bob's own messages: %r", [m.get("offset") for m in mine])
    want([m.get("ts") for m in mine] == tss,
         "ts differs between subscribers (set once at publish): %r vs %r",
         [m.get("ts") for m in mine], tss)
    # With since, the reply says the history was recovered, and the
    # messages after since follow it, before anything else.
    C = await connect(a.port, "carol")
    r = await C.req_next({"type": "subscribe", "id": "since", "channel":
                          "chat", "since": offs[0]}, "subscribed")
    want(r.get("recovered") is True, "subscribe with since: %r", r)
    want(r.get("offset") == offs[-1], "subscribe with since: offset %r, "
         "want the latest %r", r.get("offset"), offs[-1])
    for i in range(1, len(DATAS)):
        m = await C.next()
        want(m.get("type") == "message" and m.get("offset") == offs[i] and
             m.get("data") == DATAS[i] and m.get("from") == "bob" and
             m.get("ts") == tss[i], "replayed message %d: %r, want offset "
             "%r", i, m, offs[i])
    await C.req_next({"type": "presence", "id": "end", "channel": "chat"},
                     "presence")
    await C.ws.close()
    # After unsubscribe, nothing more arrives.
    u = await A.req_next({"type": "unsubscribe", "id": "u",
                          "channel": "chat"}, "unsubscribed")
    want(u.get("channel") == "chat", "unsubscribed reply %r", u)
    await B.req({"type": "publish", "id": "late", "channel": "chat",
                 "data": "late"}, "published")
    await A.req_next({"type": "subscribe", "id": "o", "channel": "other"},
                     "subscribed")
    print("offsets:", offs)
    await A.ws.close()
    await B.ws.close()


async def ws_presence(a):
    """Presence counts per user; join/leave once per user, not to the
    actor, only to connections that subscribed with presence:true."""
    A = await connect(a.port, "alice")
    C = await connect(a.port, "carol")
    B1 = await connect(a.port, "bob", name="bob#1")
    B2 = await connect(a.port, "bob", name="bob#2")
    D = await connect(a.port, "dave")
    sub = {"type": "subscribe", "id": "s", "channel": "room",
           "presence": True}
    pr = {"type": "presence", "id": "p", "channel": "room"}

    async def joined(who, user):
        j = await who.next()
        want(j.get("type") == "presence.join" and
             j.get("channel") == "room" and j.get("userId") == user and
             info_ok(j), "%s: want presence.join of %s, got %r", who.name,
             user, j)

    r = await A.req_next(sub, "subscribed")
    want(isinstance(r.get("presence"), dict), "no presence in %r", r)
    check_presence(r["presence"], ["alice"], "alice's subscribe")
    # Carol is present but does not want the events.
    r = await C.req_next({"type": "subscribe", "id": "s", "channel": "room"},
                         "subscribed")
    want("presence" not in r, "presence without presence:true: %r", r)
    await joined(A, "carol")
    r = await B1.req_next(sub, "subscribed")
    check_presence(r["presence"], ["alice", "bob", "carol"],
                   "bob#1's subscribe")
    await joined(A, "bob")
    r = await B2.req_next(sub, "subscribed")
    check_presence(r["presence"], ["alice", "bob", "carol"],
                   "bob#2's subscribe")
    # No second join for bob, none to bob's first tab, none to carol.
    p = await A.req_next(pr, "presence")
    want(p.get("channel") == "room", "presence reply: %r", p)
    check_presence(p, ["alice", "bob", "carol"], "alice's presence request")
    await B1.req_next(pr, "presence")
    await C.req_next(pr, "presence")
    # Bob's first tab goes: bob is still there.
    await B1.ws.close()
    p = await A.req_next(pr, "presence")
    check_presence(p, ["alice", "bob", "carol"], "after bob#1 left")
    # Bob's last tab leaves the channel: one leave, to alice only.
    await B2.req({"type": "unsubscribe", "id": "u", "channel": "room"},
                 "unsubscribed")
    lv = await A.wait(lambda m: m.get("type") == "presence.leave",
                      "presence.leave of bob", timeout=8)
    want(lv.get("channel") == "room" and lv.get("userId") == "bob" and
         info_ok(lv), "leave: %r", lv)
    want(not A.stash, "alice got more than the leave: %r", A.stash)
    await C.req_next(pr, "presence")
    await B2.req_next({"type": "subscribe", "id": "x", "channel": "other"},
                      "subscribed")
    p = await A.req_next(pr, "presence")
    check_presence(p, ["alice", "carol"], "after bob left")
    # A user whose only connection closes leaves too.
    await D.req_next(sub, "subscribed")
    await joined(A, "dave")
    await D.ws.close()
    lv = await A.wait(lambda m: m.get("type") == "presence.leave",
                      "presence.leave of dave", timeout=8)
    want(lv.get("userId") == "dave", "leave: %r", lv)
    await C.req_next(pr, "presence")
    p = await A.req_next(pr, "presence")
    check_presence(p, ["alice", "carol"], "after dave left")
    for c in (A, B2, C):
        await c.ws.close()


async def ws_errors(a):
    """One error frame per code; the connection stays usable after each."""
    c = await connect(a.port, "erruser")
    await c.req_next({"type": "subscribe", "id": "base", "channel": "base"},
                     "subscribed")
    n = [0]

    async def err(req, code, rid):
        n[0] += 1
        await c.send(req)
        m = await c.next()
        want(m.get("type") == "error" and m.get("code") == code,
             "for %r want error %s, got %r", req, code, m)
        if rid is not Ellipsis:
            want("id" in m and m["id"] == rid and type(m["id"]) is type(rid),
                 "for %r want id %r, got %r", req, rid, m)
        want(isinstance(m.get("message"), str) and m["message"],
             "error without a message: %r", m)
        # Still usable?
        chk = {"type": "subscribe", "id": "chk%d" % n[0], "channel": "base"}
        await c.req_next(chk, "subscribed")
    # bad_request
    await err("this is not json", "bad_request", None)
    await err('{"type":"subscribe"', "bad_request", None)
    await err("[1,2,3]", "bad_request", None)
    await err('"subscribe"', "bad_request", None)
    await err({"id": 1}, "bad_request", 1)
    await err({"type": 5, "id": 2}, "bad_request", 2)
    await err({"type": None, "id": "t"}, "bad_request", "t")
    await err({"type": "subscribe", "id": 3, "channel": 5}, "bad_request", 3)
    await err({"type": "subscribe", "id": 4, "channel": "base",
               "presence": "yes"}, "bad_request", 4)
    await err({"type": "subscribe", "id": {"x": 1}, "channel": "base"},
              "bad_request", Ellipsis)
    await err({"type": "subscribe", "id": [1], "channel": "base"},
              "bad_request", Ellipsis)
    await err({"type": "subscribe", "id": True, "channel": "base"},
              "bad_request", Ellipsis)
    # unknown_type
    await err({"type": "frobnicate", "id": "s1"}, "unknown_type", "s1")
    await err({"type": "", "id": 9}, "unknown_type", 9)
    # bad_channel
    for ch in ("", "a b", "a!b", "caf\u00e9", "x" * 201, "tab\there"):
        await err({"type": "subscribe", "id": "bc", "channel": ch},
                  "bad_channel", "bc")
    ok = "Az09_-:.@/=#" + "x" * 188
    assert len(ok) == 200
    await c.req_next({"type": "subscribe", "id": "200", "channel": ok},
                     "subscribed")
    await c.req_next({"type": "unsubscribe", "id": "u200", "channel": ok},
                     "unsubscribed")
    # not_subscribed
    await err({"type": "publish", "id": 10, "channel": "elsewhere",
               "data": 1}, "not_subscribed", 10)
    await err({"type": "presence", "id": 11, "channel": "elsewhere"},
              "not_subscribed", 11)
    await err({"type": "unsubscribe", "id": 12, "channel": "elsewhere"},
              "not_subscribed", 12)
    # forbidden
    await err({"type": "subscribe", "id": 13, "channel": "user:someoneelse"},
              "forbidden", 13)
    await err({"type": "subscribe", "id": 14, "channel": "private:x"},
              "forbidden", 14)
    await c.req_next({"type": "subscribe", "id": 15,
                      "channel": "user:erruser"}, "subscribed")
    await c.req_next({"type": "unsubscribe", "id": 16,
                      "channel": "user:erruser"}, "unsubscribed")
    # limit_exceeded: base plus max-1 more, then one too many.
    for i in range(a.max_subscriptions - 1):
        await c.req_next({"type": "subscribe", "id": "l%d" % i,
                          "channel": "lim%d" % i}, "subscribed")
    await err({"type": "subscribe", "id": "over", "channel": "one-too-many"},
              "limit_exceeded", "over")
    # Subscribing again to a channel one has is not a new subscription.
    await c.req_next({"type": "subscribe", "id": "again", "channel": "lim0"},
                     "subscribed")
    # history: limit is 1..1000
    for lim in (0, 1001, -1, "5", 1.5):
        await err({"type": "history", "id": 19, "channel": "base",
                   "limit": lim}, "bad_request", 19)
    await err({"type": "history", "id": 20, "channel": "base",
               "since": 5}, "bad_request", 20)
    # unavailable (until gw-presence exists)
    await err({"type": "typing", "id": 21, "channel": "base"},
              "unavailable", 21)
    print("%d error cases passed" % n[0])
    await c.ws.close()


async def ws_ping(a):
    """ws.ping() gets its pong, with or without data."""
    c = await connect(a.port, "pinger")
    for data in (None, b"abc", "text-ping"):
        w = await c.ws.ping(data)
        try:
            await asyncio.wait_for(w, TIMEOUT)
        except asyncio.TimeoutError:
            raise Fail("no pong for ping %r" % (data,))
    await c.req_next({"type": "subscribe", "id": 1, "channel": "p"},
                     "subscribed")
    await c.ws.close()


async def ws_close_echo(a):
    """ws.close(code=4000) is answered with 4000."""
    c = await connect(a.port, "closer")
    await c.ws.close(code=4000, reason="done")
    want(c.ws.close_code == 4000, "close_code %r, want 4000 (reason %r)",
         c.ws.close_code, c.ws.close_reason)


async def ws_stays_open(a):
    """A client that answers pings (websockets does) is not closed within
    --min seconds."""
    c = await connect(a.port, "ponger")
    try:
        m = await asyncio.wait_for(c.ws.recv(), a.min)
        raise Fail("unexpected frame %r" % m)
    except asyncio.TimeoutError:
        pass
    except websockets.ConnectionClosed as e:
        raise Fail("closed while answering pings: %s" % e)
    await c.req_next({"type": "subscribe", "id": 1, "channel": "alive"},
                     "subscribed")
    await c.ws.close()


async def ws_claims(a):
    """JWT: info shows in presence; channels claims open private:*; user:
    channels belong to their user."""
    import conformance
    key = conformance.read_secret(a.secret_file)
    tok, _ = conformance.token_of("info", key)
    c = await connect(a.port, path="/ws?token=" + tok, name="alice")
    want(c.welcome.get("userId") == "alice", "welcome %r", c.welcome)
    r = await c.req_next({"type": "subscribe", "id": 1,
                          "channel": "private:team-1", "presence": True},
                         "subscribed")
    users = r.get("presence", {}).get("users", [])
    since = [u.pop("connectedAt", None) for u in users]
    want(users == [{"userId": "alice", "info": {"name": "Alice"}}] and
         all(isinstance(t, int) and t > 1.7e12 for t in since),
         "presence users %r (connectedAt %r), want alice with her info and "
         "a time in ms", users, since)
    m = await c.req_next({"type": "subscribe", "id": 2,
                          "channel": "private:other"}, "error")
    want(m.get("code") == "forbidden", "private:other: %r", m)
    await c.req_next({"type": "subscribe", "id": 3, "channel": "user:alice"},
                     "subscribed")
    m = await c.req_next({"type": "subscribe", "id": 4, "channel": "user:bob"},
                         "error")
    want(m.get("code") == "forbidden", "user:bob: %r", m)
    await c.ws.close()


async def ws_expire_several(key, port):
    """40 connections whose tokens expire in 5 to 7 s (time enough to
    open the 70 on a loaded machine), in a shuffled order, 10 whose
    tokens expire in an hour, and 10 more expiring with the 40 that the
    client closes first (so that the node's heap of expiries loses
    entries from its middle): each of the 40 is closed with 1008 "token
    expired", silent (it sends nothing, and the node's first ping is
    25 s away), none before its second; the 10 of the hour still answer
    after."""
    import conformance
    import random
    now = int(time.time())
    rnd = random.Random(now)
    exps = [now + 5 + rnd.randrange(3) for _ in range(60)] + \
        [now + 3600] * 10
    order = list(range(70))
    rnd.shuffle(order)
    cs = {}
    for i in order:
        tok = conformance.mint(key, {"sub": "tok%d" % i, "exp": exps[i]})
        cs[i] = await connect(port, path="/ws?token=" + tok,
                              name="tok%d" % i)
    for i in range(40, 50):
        await cs[i].ws.close()
    closed = {}

    async def watch(i):
        await cs[i].ws.wait_closed()
        closed[i] = time.time()
    try:
        await asyncio.wait_for(asyncio.gather(*(watch(i)
                                                for i in range(40))),
                               max(exps[:40]) + 5 - time.time())
    except asyncio.TimeoutError:
        raise Fail("5 s after the last exp, %d of 40 closed"
                   % len(closed))
    for i in range(40):
        want(cs[i].ws.close_code == 1008 and
             cs[i].ws.close_reason == "token expired",
             "connection %d: close %r %r, want 1008 token expired", i,
             cs[i].ws.close_code, cs[i].ws.close_reason)
        want(closed[i] >= exps[i] - 1.0, "connection %d closed %.1f s"
             " before its exp", i, exps[i] - closed[i])
    for i in range(60, 70):
        await cs[i].req_next({"type": "subscribe", "id": 1,
                              "channel": "still"}, "subscribed")
        await cs[i].ws.close()
    late = [closed[i] - exps[i] for i in range(40)]
    print("40 closed %.2f to %.2f s after their exp; the hour's 10 still"
          " answer" % (min(late), max(late)))


async def ws_expire(a):
    """A token that expires while connected closes with 1008: by itself,
    in the second it expires (--case silent, the default ping interval:
    no ping falls due first), or at the next request (--case message);
    --case several: three connections, see ws_expire_several."""
    import conformance
    key = conformance.read_secret(a.secret_file)
    if a.case == "several":
        await ws_expire_several(key, a.port)
        return
    exp = int(time.time()) + 2
    tok = conformance.mint(key, {"sub": "shortlived", "exp": exp})
    c = await connect(a.port, path="/ws?token=" + tok, name="shortlived")
    if a.case == "message":
        # Wait for the clock (bounded: exp is 2 s away), then speak.
        while time.time() < exp + 0.3:
            await asyncio.sleep(0.05)
        try:
            await c.send({"type": "subscribe", "id": 1, "channel": "late"})
            m = await asyncio.wait_for(c.ws.recv(), TIMEOUT)
            raise Fail("after exp, a request got %r instead of close 1008"
                       % m)
        except asyncio.TimeoutError:
            raise Fail("after exp, a request got no answer and no close")
        except websockets.ConnectionClosed:
            pass
        await c.ws.wait_closed()
    else:
        try:
            await asyncio.wait_for(c.ws.wait_closed(), 8)
        except asyncio.TimeoutError:
            raise Fail("still open 8 s after connecting with exp=+2s")
    late = time.time() - exp
    want(c.ws.close_code == 1008, "close code %r (%r), want 1008",
         c.ws.close_code, c.ws.close_reason)
    want(late > -1.5, "closed %.1fs before exp", -late)
    print("closed %.2fs after exp" % late)


async def ws_rate(a):
    """With --publish-rate RATE --publish-burst BURST, BURST publishes sent
    at once are taken and the next one gets rate_limited; the connection
    stays usable, and a publish goes through again once a token came
    back."""
    c = await connect(a.port, "hasty")
    await c.req_next({"type": "subscribe", "id": "s", "channel": "rl"},
                     "subscribed")
    n = a.burst + 1
    for i in range(n):
        await c.send({"type": "publish", "id": i, "channel": "rl",
                      "data": i})
    replies = {}
    while len(replies) < n:
        m = await c.next()
        if m.get("type") == "message":
            continue
        want(m.get("id") in range(n) and m["id"] not in replies,
             "unexpected frame %r", m)
        replies[m["id"]] = m
    for i in range(a.burst):
        want(replies[i].get("type") == "published",
             "publish %d of a burst of %d: %r", i + 1, a.burst, replies[i])
    last = replies[a.burst]
    want(last.get("type") == "error" and last.get("code") ==
         "rate_limited", "publish %d of a burst of %d: %r, want "
         "rate_limited", n, a.burst, last)
    # Usable: other requests are answered.
    await c.req({"type": "presence", "id": "p", "channel": "rl"},
                "presence")
    # A token comes back after 1/RATE s: poll (bounded) for a publish
    # that goes through.
    deadline = time.monotonic() + 3 + 2.0 / a.rate
    k = 0
    while True:
        k += 1
        await c.send({"type": "publish", "id": "again%d" % k,
                      "channel": "rl", "data": "again"})
        m = await c.wait(lambda m: m.get("id") == "again%d" % k,
                         "the reply to publish again%d" % k)
        if m.get("type") == "published":
            break
        want(m.get("code") == "rate_limited", "publish again: %r", m)
        want(time.monotonic() < deadline, "still rate_limited after "
             "%.1f s at %s/s", 3 + 2.0 / a.rate, a.rate)
        await asyncio.sleep(0.5 / a.rate)
    print("publish went through again after %d tries" % k)
    await c.ws.close()


async def healthz_status(port):
    """The status code of GET /healthz."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await w.drain()
    line = await asyncio.wait_for(r.readline(), TIMEOUT)
    w.close()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


async def wait_healthz(port, status, timeout=10):
    """Poll /healthz until it answers STATUS; fail after TIMEOUT s."""
    deadline = time.monotonic() + timeout
    while True:
        st = await healthz_status(port)
        if st == status:
            return
        want(time.monotonic() < deadline, "/healthz still %d after %.1f s, "
             "want %d", st, timeout, status)
        await asyncio.sleep(0.05)


async def expect_error(c, req, code):
    """Send REQ: its reply must be an error CODE."""
    m = await c.req(req, "error")
    want(m.get("code") == code, "for %r want error %s, got %r", req, code,
         m)
    return m


async def ws_unavailable(a):
    """--case nobridge: without a bridge, subscribe gets unavailable and
    the WebSocket stays usable.  --case lost --bridge-pid P: subscribed,
    then the bridge goes (SIGINT to P: at once; SIGTERM would wait for
    its workers to drain): /healthz turns 503, publish,
    history and subscribe get unavailable, the WebSocket stays open."""
    import os
    import signal
    c = await connect(a.port, "orphan")
    if a.case == "lost":
        await c.req({"type": "subscribe", "id": "s", "channel": "x"},
                    "subscribed")
        await c.req({"type": "publish", "id": "p0", "channel": "x",
                     "data": 0}, "published")
        os.kill(a.bridge_pid, signal.SIGINT)
        await wait_healthz(a.port, 503)
        await expect_error(c, {"type": "publish", "id": "p1",
                               "channel": "x", "data": 1}, "unavailable")
        await expect_error(c, {"type": "history", "id": "h",
                               "channel": "x"}, "unavailable")
    for i in range(2):
        await expect_error(c, {"type": "subscribe", "id": "s%d" % i,
                               "channel": "y"}, "unavailable")
    m = await c.req({"type": "publish", "id": "p2", "channel": "y",
                     "data": 2}, "error")
    want(m.get("code") == "not_subscribed", "publish on a channel whose "
         "subscribe failed: %r", m)
    w = await c.ws.ping(b"still")
    try:
        await asyncio.wait_for(w, TIMEOUT)
    except asyncio.TimeoutError:
        raise Fail("no pong: the WebSocket is not usable")
    await c.ws.close()


def register(table, scenario):
    """Add the ws-* scenarios to conformance.py's table."""
    for name, fn in (("ws-welcome", ws_welcome), ("ws-pubsub", ws_pubsub),
                     ("ws-presence", ws_presence), ("ws-errors", ws_errors),
                     ("ws-ping", ws_ping), ("ws-close-echo", ws_close_echo),
                     ("ws-stays-open", ws_stays_open),
                     ("ws-claims", ws_claims), ("ws-expire", ws_expire),
                     ("ws-rate", ws_rate),
                     ("ws-unavailable", ws_unavailable)):
        scenario(name)(_runner(fn))


def _runner(fn):
    def run(a):
        asyncio.run(asyncio.wait_for(fn(a), 60))
    run.__doc__ = fn.__doc__
    return run
