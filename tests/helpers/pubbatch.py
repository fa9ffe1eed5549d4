"""pubbatch -- gw-bridge runs the publishes of one read as batches.

Usage: pubbatch.py SOCK BAD.  As worker w1 on gw-bridge's socket SOCK:
one publish on each of two channels A and B, and a plain subscribe to
A; then, in one write, 99
publishes that take turns on A, BAD (a channel whose stream key the
caller has made a string, so that its script fails) and B, followed by
a subscribe to A with since A's first offset.  Every publish on A and B
must be answered with an offset, increasing in the order sent, and every
one on BAD with a failure; the subscribe's replay must hold A's 33 new
messages, the same offsets in the same order (it went to Redis after
them); and the bridge must have run fewer than 99 publish scripts
(stats: publish_scripts).  Exit 0 and print "ok", or exit 1 with the
reason.
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bridgequeue import publish, stats, sub  # noqa: E402
from ipcabuse import T, Reader, connect, fail, hello, wait_for  # noqa

N = 99


def strs(body, n):
    """The first n strings of an IPC body, and the offset after them."""
    out, p = [], 0
    for _ in range(n):
        k = struct.unpack("=I", body[p:p + 4])[0]
        out.append(body[p + 4:p + 4 + k].decode())
        p += 4 + k
    return out, p


def main(path, bad):
    tag = os.getpid()
    a, b = "batch:a%d" % tag, "batch:b%d" % tag
    s = connect(path)
    r = Reader(s)
    s.sendall(hello("w1"))
    first = {}
    for mid, ch in ((1, a), (2, b)):
        s.sendall(publish(ch, '{"n":0}', mid))
        f = wait_for(r, lambda f, m=mid: f[1] == m and f[0] in (
            T["BRIDGE_PUBLISHED"], T["BRIDGE_FAIL"]), "publish %d" % mid)
        if f[0] != T["BRIDGE_PUBLISHED"]:
            fail("the first publish on %s failed" % ch)
        first[ch] = strs(f[2], 1)[0][0]
    # A live on this node first: a subscribe with since then goes to
    # Redis at once, not after the channel's Redis subscription.
    s.sendall(sub(a, "", 3))
    wait_for(r, lambda f: f[1] == 3 and f[0] == T["BRIDGE_SUBSCRIBED"],
             "the plain subscribe")
    before = stats(path)["publish_scripts"]
    chans = [(a, bad, b)[i % 3] for i in range(N)]
    s.sendall(b"".join(publish(ch, '{"n":%d}' % i, 100 + i)
                       for i, ch in enumerate(chans)) +
              sub(a, first[a], 500))
    offs = {a: [], b: []}
    answered = 0
    deadline = time.monotonic() + 20
    replay = None
    while answered < N or replay is None:
        if time.monotonic() > deadline:
            fail("%d of %d answers" % (answered, N))
        f = wait_for(r, lambda f: 100 <= f[1] < 100 + N or f[1] == 500,
                     "the answers")
        if f[1] == 500:
            if f[0] != T["BRIDGE_SUBSCRIBED"]:
                fail("the subscribe failed")
            _, p = strs(f[2], 2)
            rec, npairs = struct.unpack("=II", f[2][p:p + 8])
            pairs, _ = strs(f[2][p + 8:], 2 * npairs)
            replay = (rec, pairs[0::2])
            continue
        answered += 1
        ch = chans[f[1] - 100]
        if ch == bad:
            if f[0] != T["BRIDGE_FAIL"]:
                fail("publish %d on the broken channel: not failed" % f[1])
            continue
        if f[0] != T["BRIDGE_PUBLISHED"]:
            fail("publish %d on %s failed" % (f[1], ch))
        offs[ch].append((f[1], strs(f[2], 1)[0][0]))
    for ch in (a, b):
        got = [o for _, o in sorted(offs[ch])]
        if len(got) != N // 3 or got != sorted(got) or \
                got[0] <= first[ch] or len(set(got)) != len(got):
            fail("%s: offsets not increasing in the order sent: %r" %
                 (ch, got))
    want = [o for _, o in sorted(offs[a])]
    if replay != (2, want):
        fail("the subscribe's replay: recovered %d, %d messages, not "
             "the %d published before it" % (replay[0], len(replay[1]),
                                              len(want)))
    scripts = stats(path)["publish_scripts"] - before
    print("scripts %d for %d publishes" % (scripts, N))
    if scripts >= N:
        fail("one script a publish")
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
