#!/usr/bin/python3
"""resumecheck.py -- scenarios for sessions and draining (5000-resume.bats).

    /usr/bin/python3 tests/helpers/resumecheck.py SCENARIO --ports A,B
        --redis SOCKET [--grace S] [--window S] [--sync DIR]

Two nodes (gw-bridge, gw-presence, gw-listen each) share one Redis; the
bats file starts them.  Clients are python3-websockets.  A scenario drops
or closes connections, or asks bats (SYNC/NAME, then SYNC/NAME.go, as in
bridgecheck.py) to kill or drain a node, and checks what a client that
connects again with session=SID gets (PROTOCOL.md section 4): the
welcome's resumed and channels, one subscribed per channel without an id,
with recovered, then exactly the messages it missed, none twice.
Exit 0 if the scenario passes, else 1 with what was expected and what
came.  Every wait is bounded.
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

import bridgecheck  # noqa: E402
from bridgecheck import PEERS, Peer, Sync, close_all, log, want  # noqa: E402
from wsraw import Fail  # noqa: E402

TIMEOUT = 10
ARGS = None


async def open_peer(port, user, session=None, name=None):
    """A Peer on PORT as USER, resuming SESSION if given."""
    uri = "ws://127.0.0.1:%d/ws?user=%s" % (port, user)
    if session is not None:
        uri += "&session=" + session
    try:
        ws = await websockets.connect(uri, ping_interval=None,
                                      open_timeout=TIMEOUT, close_timeout=3,
                                      max_queue=None)
        raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
    except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake,
            websockets.ConnectionClosed) as e:
        raise Fail("connect %s: %r" % (uri, e))
    w = json.loads(raw)
    want(w.get("type") == "welcome", "%s: first frame %r", user, w)
    p = Peer(name or "%s@%d" % (user, port), ws, w)
    PEERS.append(p)
    return p


def redis(*args):
    r = subprocess.run(["redis-cli", "-s", ARGS.redis] + list(args),
                       capture_output=True, text=True, timeout=10)
    return r.stdout.strip()


async def session_closed(sid):
    """Wait until the session SID is saved as closed (it has a TTL): the
    node has seen the connection go."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        ttl = redis("PTTL", "gw:sess:" + sid)
        if ttl.lstrip("-").isdigit() and int(ttl) > 0:
            return
        await asyncio.sleep(0.02)
    raise Fail("session %s not saved as closed within %ds (PTTL %s)" %
               (sid, TIMEOUT, redis("PTTL", "gw:sess:" + sid)))


async def publish(pub, channel, n, tag):
    """Publish N messages {"tag": TAG, "i": k}; return their offsets."""
    offs = []
    for k in range(n):
        r = await pub.req({"type": "publish", "id": "%s-%d" % (tag, k),
                           "channel": channel,
                           "data": {"tag": tag, "i": k}}, "published")
        offs.append(r["offset"])
    return offs


async def two_given(pport, puser, cport, user, channel):
    """A publisher PUSER on port PPORT and a client USER on CPORT, both on
    CHANNEL; the client gets two messages.  Returns (publisher, client,
    the client's session, the two offsets)."""
    pub = await open_peer(pport, puser)
    await pub.subscribe(channel)
    c = await open_peer(cport, user)
    await c.subscribe(channel)
    before = await publish(pub, channel, 2, "before")
    await c.until(lambda: len(c.messages(channel)) == 2, "2 messages")
    return pub, c, c.welcome["session"], before


def resumed_subs(p):
    """The subscribed frames without an id, by channel."""
    return {m["channel"]: m for m in p.frames
            if m.get("type") == "subscribed" and "id" not in m}


async def expect_resumed(p, sid, channels):
    w = p.welcome
    want(w.get("resumed") is True, "%s: welcome %r, want resumed true",
         p.name, w)
    want(w.get("session") == sid, "%s: session %r, want %r", p.name,
         w.get("session"), sid)
    want(sorted(w.get("channels", [])) == sorted(channels),
         "%s: welcome channels %r, want %r", p.name, w.get("channels"),
         channels)
    await p.until(lambda: set(resumed_subs(p)) >= set(channels),
                  "a subscribed frame for each of %r" % (channels,))
    return resumed_subs(p)


def check_offsets(p, channel, want_offs, what):
    got = [m["offset"] for m in p.messages(channel)]
    want(got == want_offs, "%s: %s on %s: got %r, want %r", p.name, what,
         channel, got, want_offs)


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


@scenario
async def other_node(a):
    """Drop the TCP connection on node A abruptly, publish, resume on
    node B: recovered true, exactly the missed messages, then live ones;
    the presence observer sees no leave and no second join."""
    pa, pb = a.ports
    pub = await open_peer(pb, "pub")
    await pub.subscribe("r1")
    obs = await open_peer(pb, "obs")
    await obs.subscribe("r2", presence=True)
    c = await open_peer(pa, "rex")
    sid = c.welcome["session"]
    await c.subscribe("r1")
    await c.subscribe("r2", presence=True)
    await obs.until(lambda: any(m.get("type") == "presence.join" and
                                m.get("userId") == "rex"
                                for m in obs.frames), "rex's join")
    before = await publish(pub, "r1", 3, "before")
    await c.until(lambda: len(c.messages("r1")) == 3, "3 messages")
    c.ws.transport.abort()              # no close frame, no FIN wait
    await session_closed(sid)
    missed = await publish(pub, "r1", 3, "missed")
    r = await open_peer(pb, "rex", session=sid, name="rex-resumed")
    subs = await expect_resumed(r, sid, ["r1", "r2"])
    want(subs["r1"].get("recovered") is True,
         "r1 subscribed %r, want recovered true", subs["r1"])
    want(subs["r2"].get("recovered") is True and "presence" in subs["r2"],
         "r2 subscribed %r, want recovered true and presence", subs["r2"])
    # Where the restore replayed from: the last offset written to the
    # old socket (a client that got less asks again from its own).
    want(subs["r1"].get("since") == before[-1], "r1 restored with since "
         "%r, want the last offset written before the drop, %s",
         subs["r1"].get("since"), before[-1])
    await r.until(lambda: len(r.messages("r1")) >= 3, "the 3 missed")
    live = await publish(pub, "r1", 2, "live")
    await r.until(lambda: len(r.messages("r1")) >= 5, "2 live ones")
    check_offsets(r, "r1", missed + live, "after the resume")
    want(not set(before) & set(m["offset"] for m in r.messages("r1")),
         "messages from before the drop came again")
    # The closing save's offsets do not outlive the resume: node B saves
    # the list again, without them (a resume from a killed node's live
    # save saves nothing; see the killed scenario).
    key = "gw:sess:" + sid
    end = time.monotonic() + TIMEOUT
    while any("o" in ch for ch in
              json.loads(redis("HGET", key, "s") or '{"c":[]}')["c"]):
        if time.monotonic() > end:
            raise Fail("session %s still holds the closing save's "
                       "offsets: %s" % (sid, redis("HGET", key, "s")))
        await asyncio.sleep(0.02)
    # Presence: after the grace, a sentinel's join must be the next event.
    await asyncio.sleep(a.grace + 0.3)
    s = await open_peer(pb, "sentinel")
    await s.subscribe("r2")
    await obs.until(lambda: any(m.get("userId") == "sentinel"
                                for m in obs.frames), "the sentinel's join")
    ev = [(m["type"], m["userId"]) for m in obs.frames
          if m.get("type", "").startswith("presence.")]
    want(ev == [("presence.join", "rex"), ("presence.join", "sentinel")],
         "observer saw %r: a resume within the grace must not flicker", ev)
    log("resumed on the other node: %d missed, %d live, no flicker" %
        (len(missed), len(live)))


@scenario
async def stalled_close(a):
    """A client closed (1003, a binary frame) in the same loop turn as a
    burst of messages is queued for it: the messages are written before
    the close frame, and the session's offset is that of the last one
    written, so that a resume gives none of them again.  Node A's worker
    (--pid) is stopped while two publishers on node B send 180 messages
    and the client its binary frame; four rounds."""
    import signal
    pa, pb = a.ports
    for rnd in range(4):
        # New publishers each round: 90 is within a connection's burst.
        pubs = [await open_peer(pb, "spub%d" % k) for k in range(2)]
        for p in pubs:
            await p.subscribe("stall")
        c = await open_peer(pa, "stal%d" % rnd)
        sid = c.welcome["session"]
        await c.subscribe("stall")
        os.kill(a.pid, signal.SIGSTOP)
        try:
            sent = await asyncio.gather(*[publish(p, "stall", 90, "r%d" % rnd)
                                          for p in pubs])
            await c.ws.send(b"\x00")
        finally:
            os.kill(a.pid, signal.SIGCONT)
        await c.until(lambda: c.closed is not None, "the close")
        want(c.ws.close_code == 1003, "%s closed %r", c.name, c.ws.close_code)
        got = [m["offset"] for m in c.messages("stall")]
        await session_closed(sid)
        r = await open_peer(pb, "stal%d" % rnd, session=sid,
                            name="stal%d-resumed" % rnd)
        subs = await expect_resumed(r, sid, ["stall"])
        since = subs["stall"].get("since")
        want(not got or since == got[-1], "round %d: %d messages written "
             "before the close, the last %s; restored with since %r", rnd,
             len(got), got[-1] if got else None, since)
        await asyncio.sleep(0.3)        # the replay, if any, is in
        again = set(got) & set(m["offset"] for m in r.messages("stall"))
        want(not again, "round %d: %d messages written before the close "
             "given again by the resume", rnd, len(again))
        log("round %d: %d of %d written before the close, since the last "
            "of them, none again" % (rnd, len(got), sum(map(len, sent))))
        for p in pubs + [r]:
            await p.ws.close()


@scenario
async def stale_close(a):
    """A closing save that comes late from the node the session was on
    before (node B's gw-presence, --pid, stopped meanwhile) does not
    replace the state saved by the node where it was resumed since: the
    next resume starts after what that node gave, not before it."""
    import signal
    pa, pb = a.ports
    pub, c, sid, before = await two_given(pa, "scpub", pb, "stale", "sc")
    os.kill(a.pid, signal.SIGSTOP)
    try:
        # B's closing save waits in its stopped gw-presence.
        await c.close()
        r = await open_peer(pa, "stale", session=sid, name="stale-on-a")
        await expect_resumed(r, sid, ["sc"])
        mid = await publish(pub, "sc", 2, "mid")
        await r.until(lambda: [m["offset"] for m in r.messages("sc")]
                      [-2:] == mid, "the 2 messages published on A")
        await r.close()
        await session_closed(sid)
    finally:
        os.kill(a.pid, signal.SIGCONT)
    # A subscribe with presence on B is answered through B's gw-presence
    # after the closing save it holds has gone to Redis (one link to it,
    # and one to Redis, each in order).
    q = await open_peer(pb, "scq")
    await q.subscribe("sc", presence=True)
    r2 = await open_peer(pa, "stale", session=sid, name="stale-again")
    subs = await expect_resumed(r2, sid, ["sc"])
    want(subs["sc"].get("since") == mid[-1], "resumed with since %r, want "
         "%r (what A gave last; %r is what B gave last)",
         subs["sc"].get("since"), mid[-1], before[-1])
    after = await publish(pub, "sc", 1, "after")
    await r2.until(lambda: any(m["offset"] == after[0]
                               for m in r2.messages("sc")), "a live message")
    again = set(before + mid) & set(m["offset"] for m in r2.messages("sc"))
    want(not again, "%d messages given again by the resume", len(again))
    log("the late closing save of B left alone: resumed after %s" %
        mid[-1])


async def away_setup(a, user, ch1, ch2):
    """The start of the bridge-away scenarios: USER on node A on CH1 and
    CH2 (with presence) gets two messages of a publisher on node B on
    CH1, drops, and its session is saved; bats kills A's bridge; USER
    resumes on A.  Returns (sync, publisher, resumed peer, sid, the two
    messages' offsets)."""
    sync = Sync(a.sync)
    pa, pb = a.ports
    pub = await open_peer(pb, user + "-pub")
    await pub.subscribe(ch1)
    c = await open_peer(pa, user)
    sid = c.welcome["session"]
    await c.subscribe(ch1)
    await c.subscribe(ch2, presence=True)
    before = await publish(pub, ch1, 2, "before")
    await c.until(lambda: len(c.messages(ch1)) == 2, "2 messages")
    c.ws.transport.abort()
    await session_closed(sid)
    await sync.phase("killbridge")
    r = await open_peer(pa, user, session=sid, name=user + "-resumed")
    w = r.welcome
    want(w.get("resumed") is True and sorted(w.get("channels", [])) ==
         sorted([ch1, ch2]), "welcome with the bridge gone: %r", w)
    return sync, pub, r, sid, before


@scenario
async def bridge_away(a):
    """A resume on node A while A's gw-bridge is gone (bats killed it):
    the welcome lists the session's channels, and they stay the
    connection's, waiting: no error, a publish on one answered
    unavailable at once.  Once bats has started A's bridge again, each
    channel is restored (subscribed, recovered true, from the session's
    offset) with the messages published on node B meanwhile, once each,
    then live ones; the client publishes again."""
    sync, pub, r, sid, before = await away_setup(a, "bea", "b1", "b2")
    missed = await publish(pub, "b1", 3, "missed")
    e = await r.req({"type": "publish", "id": "p0", "channel": "b1",
                     "data": 1}, "error")
    want(e.get("code") == "unavailable", "publish with the bridge gone: %r",
         e)
    # A subscribe to a channel that waits waits too (answered later).
    await r.ws.send(json.dumps({"type": "subscribe", "id": "s2",
                                "channel": "b2", "presence": True}))
    await asyncio.sleep(0.2)
    want(not [m for m in r.frames if m.get("type") == "error" and
              m.get("id") != "p0"] and not resumed_subs(r),
         "with the bridge gone: %r", r.frames)
    await sync.phase("startbridge")
    subs = await expect_resumed(r, sid, ["b1", "b2"])
    for ch in ("b1", "b2"):
        want(subs[ch].get("recovered") is True, "%s restored %r", ch,
             subs[ch])
    want(subs["b1"].get("since") == before[-1], "b1 restored since %r, "
         "want %s", subs["b1"].get("since"), before[-1])
    want("presence" in subs["b2"], "b2 restored without its presence: %r",
         subs["b2"])
    await r.until(lambda: "s2" in r.replies, "the answer to the subscribe "
                  "made meanwhile")
    want(r.replies["s2"].get("type") == "subscribed", "the subscribe made "
         "meanwhile: %r", r.replies["s2"])
    await r.until(lambda: len(r.messages("b1")) >= 3, "the 3 missed")
    await r.req({"type": "publish", "id": "p1", "channel": "b1",
                 "data": 2}, "published")
    live = await publish(pub, "b1", 1, "live")
    await r.until(lambda: len(r.messages("b1")) >= 5, "2 live ones")
    got = [m["offset"] for m in r.messages("b1")]
    want(got[:3] == missed and got[4] == live[0] and len(got) == 5,
         "after the bridge came back: %r, want %r, then ours, then %r",
         got, missed, live)
    log("bridge away: restored when it came back, %d missed, none twice" %
        len(missed))


@scenario
async def bridge_away_closed(a):
    """As bridge-away, but the resumed client leaves again before A's
    bridge is back: its session keeps the offsets it resumed from, and a
    resume on node B recovers every message published meanwhile."""
    _, pub, r, sid, before = await away_setup(a, "cal", "c1", "c2")
    pb = a.ports[1]
    # Leaving a channel that waits: answered, and no error for the
    # restore nobody asked for.
    await r.req({"type": "unsubscribe", "id": "u2", "channel": "c2"},
                "unsubscribed")
    want(not [m for m in r.frames if m.get("type") == "error"],
         "unsubscribe of a waiting channel: %r", r.frames)
    await asyncio.sleep(0.2)
    r.ws.transport.abort()
    # The closing save of the waiting resume, then what it missed.
    await asyncio.sleep(0.5)
    await session_closed(sid)
    missed = await publish(pub, "c1", 3, "missed")
    b = await open_peer(pb, "cal", session=sid, name="cal-on-b")
    subs = await expect_resumed(b, sid, ["c1"])
    want(subs["c1"].get("recovered") is True and
         subs["c1"].get("since") == before[-1], "c1 restored on B: %r, "
         "want recovered true since %s", subs["c1"], before[-1])
    await b.until(lambda: len(b.messages("c1")) >= 3, "the 3 missed")
    check_offsets(b, "c1", missed, "after the second resume")
    log("bridge away, closed again: the offsets kept, %d missed recovered"
        % len(missed))


@scenario
async def killed(a):
    """Node A is killed (SIGKILL): resuming on node B restores the
    channels, with recovered false (no offsets could be saved)."""
    pa, pb = a.ports
    c = await open_peer(pa, "kim")
    sid = c.welcome["session"]
    await c.subscribe("k1")
    await c.subscribe("k2", presence=True)
    await c.req({"type": "unsubscribe", "id": "u", "channel": "k1"},
                "unsubscribed")
    await c.subscribe("k3")
    await Sync(a.sync).phase("killme")
    r = await open_peer(pb, "kim", session=sid, name="kim-resumed")
    subs = await expect_resumed(r, sid, ["k2", "k3"])
    for ch in ("k2", "k3"):
        want(subs[ch].get("recovered") is False,
             "%s subscribed %r, want recovered false", ch, subs[ch])
    want("presence" in subs["k2"] and "presence" not in subs["k3"],
         "presence flags not restored: %r", subs)
    pub = await open_peer(pb, "pub")
    await pub.subscribe("k3")
    live = await publish(pub, "k3", 2, "live")
    await r.until(lambda: len(r.messages("k3")) == 2, "live messages")
    check_offsets(r, "k3", live, "after the resume")
    # Subscribing again to a channel it has, with its presence flag as
    # it was, changes nothing in the session: no save (bats counts).
    await r.req({"type": "subscribe", "id": "again", "channel": "k2",
                 "presence": True}, "subscribed")
    # bats reads node B's counters while both connections are open.
    await Sync(a.sync).phase("counted")
    log("resumed after SIGKILL: channels k2, k3 restored")


@scenario
async def killed_fill(a):
    """Node A is killed: the resume on node B says recovered false and
    live messages follow; the client's subscribe with since then fills
    the gap with what was published while it was away, and not the live
    ones it was given since the resume (none twice), then live again."""
    pa, pb = a.ports
    pub, c, sid, before = await two_given(pb, "pub", pa, "gil", "g1")
    seen = c.messages("g1")[-1]["offset"]
    await Sync(a.sync).phase("killme")
    gap = await publish(pub, "g1", 3, "gap")
    r = await open_peer(pb, "gil", session=sid, name="gil-resumed")
    subs = await expect_resumed(r, sid, ["g1"])
    want(subs["g1"].get("recovered") is False,
         "g1 subscribed %r, want recovered false", subs["g1"])
    live = await publish(pub, "g1", 2, "live")
    await r.until(lambda: len(r.messages("g1")) == 2, "2 live messages")
    m = await r.subscribe("g1", rid="fill", since=seen)
    want(m.get("recovered") is True, "subscribe since %s: %r, want "
         "recovered true", seen, m)
    await r.until(lambda: len(r.messages("g1")) >= 5, "the 3 of the gap")
    after = await publish(pub, "g1", 1, "after")
    await r.until(lambda: after[0] in [x["offset"]
                                       for x in r.messages("g1")],
                  "the message after")
    check_offsets(r, "g1", live + gap + after,
                  "resumed, then filled with since")
    want(not set(before) & set(x["offset"] for x in r.messages("g1")),
         "messages from before the kill came again")
    log("resumed after SIGKILL, gap filled with since: %d live, %d of "
        "the gap, none twice" % (len(live), len(gap)))


@scenario
async def foreign(a):
    """Someone else's session id, a malformed one, and an unknown one
    give a fresh session, never an error."""
    pa, pb = a.ports
    c = await open_peer(pa, "alice")
    sid = c.welcome["session"]
    await c.subscribe("f1")
    await c.close()
    await session_closed(sid)
    for user, s in (("bob", sid), ("alice", "zz"), ("alice", "0" * 32),
                    ("alice", sid.upper())):
        p = await open_peer(pb, user, session=s)
        want(p.welcome.get("resumed") is False and
             p.welcome.get("session") not in (sid, s) and
             p.welcome.get("channels") == [],
             "%s with session %r: welcome %r, want a fresh session", user, s,
             p.welcome)
        await p.close()
    # The real owner still gets it back afterwards.
    r = await open_peer(pb, "alice", session=sid)
    await expect_resumed(r, sid, ["f1"])
    log("foreign, malformed and unknown ids: fresh sessions; owner resumed")


@scenario
async def expired(a):
    """A session not resumed within resume_window is gone."""
    pa, pb = a.ports
    c = await open_peer(pa, "eve")
    sid = c.welcome["session"]
    await c.subscribe("e1")
    await c.close()
    await session_closed(sid)
    t0 = time.monotonic()
    # The window is the spec's deadline: wait it out, then some.
    await asyncio.sleep(a.window + 0.5)
    p = await open_peer(pb, "eve", session=sid)
    want(p.welcome.get("resumed") is False,
         "resumed after %.1fs > resume_window %.1fs: %r",
         time.monotonic() - t0, a.window, p.welcome)
    log("expired after the window: fresh session")


@scenario
async def drain(a):
    """Node A drains (SIGTERM to its gw-listen) while node B publishes
    all the time: every client of A is closed with 1001, the closes are
    spread, each resumes on B and gets every message once, in order."""
    pa, pb = a.ports
    n = 4
    pub = await open_peer(pb, "pub")
    await pub.subscribe("d")
    cs = []
    for i in range(n):
        c = await open_peer(pa, "d%d" % i)
        await c.subscribe("d")
        cs.append(c)
    published = []
    stop = asyncio.Event()

    async def publisher():
        k = 0
        while not stop.is_set():
            r = await pub.req({"type": "publish", "id": "p%d" % k,
                               "channel": "d", "data": k}, "published")
            published.append(r["offset"])
            k += 1
            await asyncio.sleep(0.02)
    task = asyncio.ensure_future(publisher())
    await pub.until(lambda: len(published) >= 5, "some publishes")
    sync = Sync(a.sync)
    await sync.phase("term")
    resumed, closes = [], []
    for c in cs:
        await c.until(lambda c=c: c.closed is not None, "the close", 15)
        code = c.ws.close_code
        want(code == 1001 and c.ws.close_reason == "draining",
             "%s: closed %r %r, want 1001 draining", c.name, code,
             c.ws.close_reason)
        closes.append(time.monotonic())
        r = await open_peer(pb, c.welcome["userId"],
                            session=c.welcome["session"],
                            name=c.name + "-resumed")
        subs = await expect_resumed(r, c.welcome["session"], ["d"])
        # Resumed at once: the closing save, with its offset, must win
        # over the connection still held by the draining node.
        want(subs["d"].get("recovered") is True, "%s: resumed with %r, "
             "want recovered true", r.name, subs["d"])
        resumed.append((c, r))
    await asyncio.sleep(0.3)
    stop.set()
    await task
    last = published[-1]
    for c, r in resumed:
        await r.until(lambda r=r: any(m["offset"] == last
                                      for m in r.messages("d")),
                      "the last publish")
        got = [m["offset"] for m in c.messages("d")] + \
            [m["offset"] for m in r.messages("d")]
        first = published.index(got[0]) if got and got[0] in published \
            else -1
        want(first >= 0 and got == published[first:],
             "%s: got %d messages with gaps or doubles: %s, published %s",
             c.name, len(got), bridgecheck.short(got),
             bridgecheck.short(published))
    spread = max(closes) - min(closes)
    want(spread >= 0.3 * a.drain, "closes within %.2fs, want them spread "
         "over the drain time %.1fs", spread, a.drain)
    log("drained: %d clients closed over %.2fs, resumed on B, %d messages "
        "each, none lost or doubled" % (n, spread, len(published)))

@scenario
async def resumed_open(a):
    """A session resumed while its first connection is still open (its
    client gone without a word, say, and back on a new connection), on
    the same node (--case same) or the other (--case other): the first
    connection's later saves, a subscribe and its close, do not replace
    the state of the connection that resumed it.  The next resume gets
    the resumer's channels and offsets."""
    pa, pb = a.ports
    rport = pb if a.case == "same" else pa
    pub, c, sid, before = await two_given(pa, "ropub", pb, "ropen", "ro")
    r = await open_peer(rport, "ropen", session=sid, name="ropen-2")
    await expect_resumed(r, sid, ["ro"])
    h = redis("HGET", "gw:sess:" + sid, "h")
    want(h.endswith("#" + r.welcome["connId"]), "the session's holder h"
         " is %r, want the resumer's connId %s", h, r.welcome["connId"])
    await c.subscribe("ro-old")  # a live save of the first connection
    await r.subscribe("ro-new")
    mid = await publish(pub, "ro", 2, "mid")
    await r.until(lambda: [m["offset"] for m in r.messages("ro")][-2:] ==
                  mid, "the 2 messages published after the resume")
    await r.close()
    await session_closed(sid)
    await c.close()
    # Answered by B's gw-presence after c's closing save went to Redis
    # (one worker, one link to gw-presence and one from it, in order).
    q = await open_peer(pb, "roq")
    await q.subscribe("ro", presence=True)
    r2 = await open_peer(pb, "ropen", session=sid, name="ropen-3")
    subs = await expect_resumed(r2, sid, ["ro", "ro-new"])
    want(subs["ro"].get("since") == mid[-1], "resumed with since %r, want "
         "%r (what the resumer got last; %r is the first connection's)",
         subs["ro"].get("since"), mid[-1], before[-1])
    log("%s node: the first connection's saves left alone; resumed with"
        " %r after %s" % (a.case, sorted(subs), mid[-1]))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--ports", required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--sync", default=".")
    ap.add_argument("--grace", type=float, default=1)
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--drain", type=float, default=2)
    ap.add_argument("--case", default="same", choices=["same", "other"],
                    help="resumed-open: where the resume goes")
    ap.add_argument("--pid", type=int, default=0,
                    help="node A's worker, for stalled-close; node B's "
                    "gw-presence, for stale-close")
    a = ap.parse_args()
    a.ports = [int(p) for p in a.ports.split(",")]
    ARGS = a

    async def go():
        try:
            await SCENARIOS[a.scenario](a)
        finally:
            await close_all()
    try:
        asyncio.run(go())
    except Fail as e:
        print("FAIL %s: %s" % (a.scenario, e), flush=True)
        sys.exit(1)
    print("ok %s" % a.scenario, flush=True)


if __name__ == "__main__":
    main()
