"""bridgequeue -- gw-bridge's stats count what waits for its workers.

Usage: bridgequeue.py SOCK [flood].  As worker w1 on gw-bridge's socket SOCK:
publish 8 messages of 100 KB on each of two channels A and B (their
histories).  Then, without reading, ask for the history of A and of B
after their first messages (two answers of 700 KB each: more than the
socket holds, so the bridge queues them): its stats' worker_queued must
pass 1 MB.  Then read both answers: worker_queued must come back to 0.
With "flood": 40 subscribes with since on one channel of a 3.8 MB
history, not read until all are answered: the bridge cuts the answers that would pass half of
its 64 MiB queue for the worker (recovered false, fewer messages)
instead of dropping the worker; all 40 answers come, some whole, some
cut.  Exit 0 and print "ok", or exit 1 with the reason.
"""

import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ipcabuse import (T, Reader, connect, encode, fail, frame,  # noqa
                      hello, wait_for)

TIMEOUT = 20
BIG = 100 * 1024


def sub(ch, since, mid):
    return frame(T["BRIDGE_SUB"], encode([("s", ch), ("s", since),
                                          ("u", 0)]), mid)


def publish(ch, data, mid):
    return frame(T["BRIDGE_PUBLISH"], encode([
        ("s", ch), ("s", data), ("s", "null"),
        ("q", int(time.time() * 1000))]), mid)



def stats(path):
    """gw-bridge's counters, through its control request."""
    s = connect(path)
    s.sendall(hello("stats") + frame(T["CTL_REQUEST"],
                                     encode([("s", '{"cmd":"stats"}')]), 1))
    f = wait_for(Reader(s), lambda f: f[0] == T["CTL_REPLY"] and f[1] == 1,
                 "the stats")
    s.close()
    n = struct.unpack("=I", f[2][:4])[0]
    o = json.loads(f[2][4:4 + n].decode())
    return o.get("counters", o)


def until(path, pred, what):
    deadline = time.monotonic() + TIMEOUT
    while True:
        c = stats(path)
        if pred(c):
            return c
        if time.monotonic() > deadline:
            fail("%s: not within %d s (%r)" % (what, TIMEOUT, c))
        time.sleep(0.02)


def main(path):
    tag = os.getpid()
    a, b = ("queue:a%d" % tag, "queue:b%d" % tag)
    s1 = connect(path)
    r1 = Reader(s1)
    s1.sendall(hello("w1"))
    big = json.dumps({"data": "x" * BIG})
    mid = 1
    first = {}
    for ch in (a, b):
        for _ in range(8):
            s1.sendall(publish(ch, big, mid))
            f = wait_for(r1, lambda f, m=mid: f[1] == m and f[0] ==
                         T["BRIDGE_PUBLISHED"], "publish %d's answer" % mid)
            if ch not in first:
                n = struct.unpack("=I", f[2][:4])[0]
                first[ch] = f[2][4:4 + n].decode()
            mid += 1
    # Not read now: the answers pile up in the bridge's queue.
    s1.sendall(sub(a, first[a], 101) + sub(b, first[b], 102))
    k = until(path, lambda k: k["worker_queued"] > 1000 * 1000,
              "both histories queued for w1")
    print("worker_queued %d" % k["worker_queued"])
    for want in (101, 102):
        wait_for(r1, lambda f, m=want: f[0] == T["BRIDGE_SUBSCRIBED"] and
                 f[1] == m, "answer %d" % want)
    until(path, lambda k: k["worker_queued"] == 0, "the queue read")
    print("ok")


def flood(path):
    ch = "flood:%d" % os.getpid()
    s1 = connect(path)
    r1 = Reader(s1)
    s1.sendall(hello("w1"))
    big = json.dumps({"data": "x" * 60000})
    first = None
    for mid in range(1, 65):
        s1.sendall(publish(ch, big, mid))
        f = wait_for(r1, lambda f, m=mid: f[1] == m and f[0] ==
                     T["BRIDGE_PUBLISHED"], "publish %d's answer" % mid)
        if first is None:
            n = struct.unpack("=I", f[2][:4])[0]
            first = f[2][4:4 + n].decode()
    # The channel live first, so that the 40 go to Redis as they come.
    s1.sendall(sub(ch, "", 99))
    wait_for(r1, lambda f: f[0] == T["BRIDGE_SUBSCRIBED"] and f[1] == 99,
             "the plain subscribe's answer")
    # One write: the bridge reads and sends them on together, so once
    # answers are queued, none awaited means all 40 answered.
    s1.sendall(b"".join(sub(ch, first, 100 + i) for i in range(40)))
    until(path, lambda k: k["worker_queued"] > 16 * 1000 * 1000 and
          k["redis_awaited"] == 0 and k["redis_queued"] == 0,
          "all 40 answered, queued for w1")
    whole = cut = 0
    seen = set()
    while len(seen) < 40:
        f = wait_for(r1, lambda f: 100 <= f[1] < 140 and f[0] in (
            T["BRIDGE_SUBSCRIBED"], T["BRIDGE_FAIL"]),
            "the answers (%d so far)" % len(seen))
        i = f[1] - 100
        if f[0] != T["BRIDGE_SUBSCRIBED"] or i in seen:
            fail("answer %d: not a subscribed, or twice" % i)
        seen.add(i)
        body = f[2]
        n = struct.unpack("=I", body[:4])[0]
        p = 4 + n
        n = struct.unpack("=I", body[p:p + 4])[0]
        p += 4 + n
        rec, npairs = struct.unpack("=II", body[p:p + 8])
        if rec == 2 and npairs == 63:
            whole += 1
        elif rec != 2 and npairs < 63:
            cut += 1
        else:
            fail("answer %d: recovered %d with %d messages" % (i, rec,
                                                                npairs))
    if whole == 0 or cut == 0:
        fail("whole %d, cut %d" % (whole, cut))
    until(path, lambda k: k["worker_queued"] == 0, "the queue read")
    s1.sendall(sub(ch, "", 200))
    wait_for(r1, lambda f: f[0] == T["BRIDGE_SUBSCRIBED"] and f[1] == 200,
             "an answer on the same link after the flood")
    print("whole %d cut %d" % (whole, cut))
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    if len(sys.argv) == 3 and sys.argv[2] == "flood":
        flood(sys.argv[1])
    else:
        main(sys.argv[1])
