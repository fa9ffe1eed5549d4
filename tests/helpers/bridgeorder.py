"""bridgeorder -- a publish is not held behind a burst of replays.

Usage: bridgeorder.py SOCK N.  As a worker on gw-bridge's socket SOCK:
subscribe to one channel (plain) and wait for the answer, then send, in
one write, N subscribes to it with since (its latest offset: replays)
and one publish on it, then ask for its stats.  Print one JSON line:
"subscribed", how many of the N were answered; "before", how many of
them came before the publish's answer; "published", 1 if the publish
was answered; "awaited" and "queued", gw-bridge's redis_awaited and
redis_queued counters right after the burst.  Exit 1 if
something came that should not (a failure, an unknown frame) or the
answers did not all come within the time allowed.

gw-bridge sends replays to Redis through a window of REDIS_WINDOW (64)
commands and lets publishes skip it: the publish's answer comes before
all but about the window's worth of replays.  Without the window, the
link answers in order: all N before the publish.
"""

import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ipcabuse import (T, Reader, connect, ctl_frame, encode, fail,  # noqa
                      frame, hello)

TIMEOUT = 30


def strings(body, n):
    """The first n str fields of a payload."""
    out, off = [], 0
    for _ in range(n):
        (ln,) = struct.unpack("=I", body[off:off + 4])
        out.append(body[off + 4:off + 4 + ln].decode())
        off += 4 + ln
    return out


def main(path, n):
    ch = "order:%d" % os.getpid()
    s = connect(path)
    r = Reader(s)
    s.sendall(hello("bridgeorder") +
              frame(T["BRIDGE_SUB"], encode([("s", ch), ("s", ""),
                                             ("u", 0)]), 1))
    deadline = time.monotonic() + TIMEOUT
    latest = None
    while latest is None:
        f = r.next(deadline)
        if f is None:
            fail("gw-bridge closed the link")
        if f[0] == T["BRIDGE_SUBSCRIBED"] and f[1] == 1:
            latest = strings(f[2], 2)[1]
    burst = b"".join(frame(T["BRIDGE_SUB"], encode([("s", ch),
                     ("s", latest), ("u", 0)]), 100 + i) for i in range(n))
    burst += frame(T["BRIDGE_PUBLISH"], encode([("s", ch), ("s", '{"n":1}'),
                   ("s", "bridgeorder"), ("q", int(time.time() * 1000))]),
                   99)
    s.sendall(burst + ctl_frame("bridge", 98))
    subscribed = before = published = 0
    stats = None
    while subscribed < n or not published or stats is None:
        try:
            f = r.next(deadline)
        except socket.timeout:
            break
        if f is None:
            fail("gw-bridge closed the link")
        mtype, mid, _ = f
        if mtype == T["BRIDGE_SUBSCRIBED"] and 100 <= mid < 100 + n:
            subscribed += 1
            before += not published
        elif mtype == T["BRIDGE_PUBLISHED"] and mid == 99:
            published = 1
        elif mtype == T["CTL_REPLY"] and mid == 98:
            stats = json.loads(strings(f[2], 1)[0])["counters"]
        elif mtype in (T["BRIDGE_DELIVER"], T["BRIDGE_HEALTH"]):
            pass
        else:
            fail("unexpected frame type %d id %d" % (mtype, mid))
    stats = stats or {}
    print(json.dumps({"subscribed": subscribed, "before": before,
                      "published": published,
                      "awaited": stats.get("redis_awaited"),
                      "queued": stats.get("redis_queued")}))
    sys.exit(0 if subscribed == n and published and stats else 1)


main(sys.argv[1], int(sys.argv[2]))
