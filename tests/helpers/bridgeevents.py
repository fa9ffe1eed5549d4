"""bridgeevents -- a worker's presence flag counts even when Redis is away.

Usage: bridgeevents.py SOCK SYNC REDIS-SOCK.  As worker w1 on gw-bridge's
socket SOCK: subscribe to a channel without the events (GW_SUB_EVENTS
clear) and wait for the answer.  Phase "down" (SYNC/down, then
SYNC/down.go): bats kills Redis.  w1 subscribes again, now with
GW_SUB_EVENTS (a client of its asked for presence on a channel it
keeps): the bridge refuses the subscribe (Redis is away), but takes the
flag.  Phase "back": bats starts Redis.  A second worker, w2, subscribes
to the channel, again while refused (its answer says the channel is
live in Redis again),
then an event is published on the channel's pub/sub channel with
redis-cli: w1 must get it as GW_MSG_BRIDGE_EVENT within the time
allowed.  Exit 0 and print "ok", or exit 1 with the reason.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ipcabuse import (T, Reader, connect, encode, fail, frame,  # noqa
                      hello, wait_for)

TIMEOUT = 20
SUB_EVENTS = 0x2


def phase(sync, name):
    with open(os.path.join(sync, name), "w") as f:
        f.write("%d\n" % os.getpid())
    go = os.path.join(sync, name + ".go")
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            fail("phase %s: no go from bats within 60 s" % name)
        time.sleep(0.02)


def sub(ch, flags, mid):
    return frame(T["BRIDGE_SUB"], encode([("s", ch), ("s", ""),
                                          ("u", flags)]), mid)



def main(path, sync, rsock):
    ch = "evflag:%d" % os.getpid()
    s1 = connect(path)
    r1 = Reader(s1)
    s1.sendall(hello("w1") + sub(ch, 0, 1))
    wait_for(r1, lambda f: f[0] == T["BRIDGE_SUBSCRIBED"] and f[1] == 1,
             "answer to the first subscribe")
    phase(sync, "down")
    s1.sendall(sub(ch, SUB_EVENTS, 2))
    wait_for(r1, lambda f: f[0] == T["BRIDGE_FAIL"] and f[1] == 2,
             "refusal of the subscribe while Redis is away")
    phase(sync, "back")
    s2 = connect(path)
    r2 = Reader(s2)
    s2.sendall(hello("w2"))
    # Refused until the bridge has Redis again: asked again, bounded.
    deadline = time.monotonic() + TIMEOUT
    mid = 3
    while True:
        s2.sendall(sub(ch, 0, mid))
        f = wait_for(r2, lambda f, m=mid: f[1] == m and f[0] in (
            T["BRIDGE_SUBSCRIBED"], T["BRIDGE_FAIL"]), "w2's answer")
        if f[0] == T["BRIDGE_SUBSCRIBED"]:
            break
        if time.monotonic() > deadline:
            fail("w2's subscribes still refused after %d s" % TIMEOUT)
        time.sleep(0.1)
        mid += 1
    event = '!0123456789abcdef\n{"type":"presence.join","channel":"%s",' \
        '"userId":"u","info":{}}' % ch
    subprocess.run(["redis-cli", "-s", rsock, "PUBLISH",
                    "gw:{%s}:p" % ch, event], check=True, timeout=10,
                   stdout=subprocess.DEVNULL)
    wait_for(r1, lambda f: f[0] == T["BRIDGE_EVENT"],
             "the event at w1, whose last subscribe asked for them")
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
