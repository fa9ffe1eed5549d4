"""pipeline -- requests sent before the subscribe they follow is answered.

A client may send its requests without waiting for the answers: a
subscribe to a channel new to the node, then at once a publish or an
unsubscribe on it.  Every request gets its answer, in the order asked:

  own       subscribe + publish, in one write (raw socket), then back
            to back from python3-websockets: the subscribed frame comes
            first, then the published answer and the publisher's own
            message (the publish waits for the subscribe's answer, so
            it cannot come before the subscription's stream begins).
  unsub     subscribe + unsubscribe, in one write (raw socket, so that
            the node reads both before answering): the subscribe gets
            not_subscribed, then the unsubscribe its unsubscribed.
  all       subscribe + publish + unsubscribe in one write: the three
            answered in that order (not_subscribed twice, unsubscribed),
            and nothing published on the channel (gwctl history).
  many      subscribe + 20 publishes in one write: the last 4 get
            rate_limited at once (at most 16 wait a connection), then
            the subscribed frame, then the 16 published in order.

Usage: pipeline.py own|unsub|all|many --port P [--rundir DIR]
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsraw  # noqa: E402


def fresh(tag):
    return "pipe-%s-%s" % (tag, uuid.uuid4().hex[:10])


def frames(conn, n, deadline=5.0):
    """The next n JSON frames of conn (raw), within deadline seconds."""
    out = []
    end = time.monotonic() + deadline
    while len(out) < n:
        left = end - time.monotonic()
        if left <= 0:
            raise wsraw.Timeout("%d of %d frames: %r" % (len(out), n, out))
        out.append(conn.recv_json(timeout=left))
    return out


def raw(port, user):
    c = wsraw.Conn(port)
    c.handshake(path="/ws?user=" + user)
    w = c.recv_json()
    if w.get("type") != "welcome":
        raise wsraw.Fail("no welcome: %r" % w)
    return c


def one_write(c, reqs):
    c.send(b"".join(wsraw.build_frame(wsraw.OP_TEXT, json.dumps(r))
                    for r in reqs))


def case_unsub(port, _args):
    ch = fresh("u")
    c = raw(port, "alice")
    one_write(c, [{"type": "subscribe", "id": "s", "channel": ch},
                  {"type": "unsubscribe", "id": "u", "channel": ch}])
    got = frames(c, 2)
    want = [("error", "s"), ("unsubscribed", "u")]
    if [(f.get("type"), f.get("id")) for f in got] != want or \
            got[0].get("code") != "not_subscribed":
        raise wsraw.Fail("want %r, got %r" % (want, got))
    print("ok: %s" % " | ".join(json.dumps(f) for f in got))


def case_all(port, args):
    ch = fresh("a")
    c = raw(port, "alice")
    one_write(c, [{"type": "subscribe", "id": "s", "channel": ch},
                  {"type": "publish", "id": "p", "channel": ch,
                   "data": "never"},
                  {"type": "unsubscribe", "id": "u", "channel": ch}])
    got = frames(c, 3)
    want = [("error", "s"), ("error", "p"), ("unsubscribed", "u")]
    if [(f.get("type"), f.get("id")) for f in got] != want or \
            got[1].get("code") != "not_subscribed":
        raise wsraw.Fail("want %r, got %r" % (want, got))
    # Nothing more comes (no late published, no message).
    try:
        extra = c.recv_json(timeout=1.0)
        raise wsraw.Fail("a fourth frame: %r" % extra)
    except wsraw.Timeout:
        pass
    if args.rundir:
        h = subprocess.run([args.gwctl, "--rundir", args.rundir, "--json",
                            "history", ch], capture_output=True, text=True,
                           timeout=10)
        if '"never"' in h.stdout:
            raise wsraw.Fail("published after all: %s" % h.stdout)
    print("ok: %s" % " | ".join(json.dumps(f) for f in got))


def case_many(port, _args):
    ch = fresh("m")
    c = raw(port, "alice")
    reqs = [{"type": "subscribe", "id": "s", "channel": ch}]
    reqs += [{"type": "publish", "id": "p%d" % k, "channel": ch,
              "data": k} for k in range(20)]
    one_write(c, reqs)
    # 1 subscribed, 20 answers to the publishes, 16 messages.
    got = frames(c, 37, deadline=10.0)
    kinds = [(f.get("type"), f.get("id")) for f in got]
    # The four refused at once, then the subscribe's answer, then the
    # sixteen that waited for it.
    want = [("error", "p%d" % k) for k in range(16, 20)]
    want.append(("subscribed", "s"))
    if kinds[:5] != want or any(f.get("code") != "rate_limited"
                                for f in got[:4]):
        raise wsraw.Fail("want %r first: %r" % (want, got))
    published = [f["id"] for f in got[5:] if f.get("type") == "published"]
    data = [f["data"] for f in got[5:] if f.get("type") == "message"]
    if published != ["p%d" % k for k in range(16)] or \
            data != list(range(16)):
        raise wsraw.Fail("published %r, messages %r" % (published, data))
    print("ok: 16 waited and were published in order, 4 rate_limited")


def check_own(got):
    """got: the three frames after a subscribe and a publish."""
    kinds = [(f.get("type"), f.get("id")) for f in got]
    if kinds[0] != ("subscribed", "s") or \
            sorted(kinds[1:], key=str) != sorted(
                [("published", "p"), ("message", None)], key=str):
        raise wsraw.Fail("want subscribed, then published and the "
                         "message: %r" % got)
    msg = [f for f in got if f.get("type") == "message"][0]
    pub = [f for f in got if f.get("type") == "published"][0]
    if msg.get("data") != "own" or msg.get("offset") != pub.get("offset"):
        raise wsraw.Fail("the own message: %r" % got)


def case_own(port, args):
    # One write: the node reads both before it can answer the subscribe.
    ch = fresh("r")
    c = raw(port, "alice")
    one_write(c, [{"type": "subscribe", "id": "s", "channel": ch},
                  {"type": "publish", "id": "p", "channel": ch,
                   "data": "own"}])
    try:
        check_own(frames(c, 3))
    except wsraw.Timeout as e:
        raise wsraw.Fail("one write: %s" % e)
    print("ok: one write")
    case_own_ws(port, args)


def case_own_ws(port, _args):
    import websockets  # python3-websockets: an independent client

    async def run():
        ch = fresh("o")
        url = "ws://127.0.0.1:%d/ws?user=alice" % port
        async with websockets.connect(url) as ws:
            json.loads(await ws.recv())   # welcome
            await ws.send(json.dumps({"type": "subscribe", "id": "s",
                                      "channel": ch}))
            await ws.send(json.dumps({"type": "publish", "id": "p",
                                      "channel": ch, "data": "own"}))
            got = []
            while len(got) < 3:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            return got

    got = asyncio.run(run())
    check_own(got)
    print("ok: %s" % " | ".join(json.dumps(f) for f in got))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["own", "unsub", "all", "many"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rundir")
    ap.add_argument("--gwctl", default="gwctl")
    args = ap.parse_args()
    try:
        {"own": case_own, "unsub": case_unsub, "all": case_all,
         "many": case_many}[args.case](args.port, args)
    except wsraw.Fail as e:
        print("FAIL: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
