#!/usr/bin/python3
"""limitcheck.py -- gw-listen's --max-connections and --max-conns-per-ip,
and a flood of idle connections (tests/bats/8000-limits.bats).

    /usr/bin/python3 tests/helpers/limitcheck.py SCENARIO --port P --max N

total: N WebSockets are accepted, the next upgrade gets 503 "over
capacity", the N still work (a ping is answered), and once one closes a
new one is accepted.  per-ip: N from 127.0.0.1 are accepted, the next from
127.0.0.1 gets 503, one from 127.0.0.2 is accepted.  Exit 0 if so, else 1
with what came.  Every wait is bounded.
"""

import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wsraw import upgrade_request  # noqa: E402

TIMEOUT = 5


def upgrade(port, src="127.0.0.1", user="u"):
    """Connect from SRC, upgrade; return (status line, socket)."""
    s = socket.socket()
    s.settimeout(TIMEOUT)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    req, _ = upgrade_request("127.0.0.1:%d" % port,
                             path="/ws?user=%s" % user)
    s.sendall(req)
    head = b""
    end = time.monotonic() + TIMEOUT
    while b"\r\n\r\n" not in head and time.monotonic() < end:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return head.split(b"\r\n", 1)[0].decode(errors="replace"), s, head


def greedy(a):
    """A client subscribes to --max channels and one more (limit_exceeded),
    then publishes ten times its rate (some rate_limited); a second client
    meanwhile publishes and subscribes with no error at all."""
    import asyncio
    import json
    import websockets

    async def run():
        uri = "ws://127.0.0.1:%d/ws?user=%%s" % a.port
        g = await websockets.connect(uri % "greedy", max_queue=None)
        o = await websockets.connect(uri % "other", max_queue=None)
        await g.recv()
        await o.recv()
        for i in range(a.max + 1):
            await g.send(json.dumps({"type": "subscribe", "id": i,
                                     "channel": "g%d" % i}))
        codes = {}
        got = 0
        while got < a.max + 1:
            m = json.loads(await asyncio.wait_for(g.recv(), TIMEOUT))
            if m.get("id") is not None and m["type"] in ("subscribed",
                                                         "error"):
                got += 1
                codes[m["id"]] = m.get("code", m["type"])
        if codes.get(a.max) != "limit_exceeded" or \
                list(codes.values()).count("subscribed") != a.max:
            fail("subscriptions: %r" % codes)
        await o.send(json.dumps({"type": "subscribe", "id": "s",
                                 "channel": "g0"}))
        # 10 x the rate (--publish-rate 20, burst 20) for one second.
        for i in range(200):
            await g.send(json.dumps({"type": "publish", "id": "p%d" % i,
                                     "channel": "g0", "data": i}))
            if i % 10 == 0:
                await o.send(json.dumps({"type": "publish", "id": "o%d" % i,
                                         "channel": "g0", "data": -i}))
            await asyncio.sleep(0.005)
        limited = ok = 0
        end = time.monotonic() + TIMEOUT
        while ok + limited < 200 and time.monotonic() < end:
            m = json.loads(await asyncio.wait_for(g.recv(), TIMEOUT))
            if str(m.get("id", "")).startswith("p"):
                if m["type"] == "published":
                    ok += 1
                elif m.get("code") == "rate_limited":
                    limited += 1
                else:
                    fail("greedy publish answered %r" % m)
        if limited == 0 or ok == 0 or ok + limited != 200:
            fail("greedy: %d published, %d rate_limited of 200" %
                 (ok, limited))
        answers = []
        end = time.monotonic() + TIMEOUT
        while len(answers) < 21 and time.monotonic() < end:
            m = json.loads(await asyncio.wait_for(o.recv(), TIMEOUT))
            if m.get("id") is not None:
                answers.append(m)
        bad = [m for m in answers if m["type"] not in ("published",
                                                       "subscribed")]
        if len(answers) != 21 or bad:
            fail("the other client: %d answers, errors %r" %
                 (len(answers), bad[:3]))
        print("greedy: %d published, %d rate_limited; other: 20 published"
              % (ok, limited), flush=True)
        await g.close()
        await o.close()
    asyncio.run(run())


def open_conns(port):
    """gw-listen's connection count, from /metrics."""
    import urllib.request
    url = "http://127.0.0.1:%d/metrics" % port
    text = urllib.request.urlopen(url, timeout=TIMEOUT).read().decode()
    for line in text.splitlines():
        if line.startswith("gw_listen_connections{"):
            return int(line.rsplit(" ", 1)[1])
    return 0


def fail(msg):
    print("FAIL", msg, flush=True)
    sys.exit(1)


def ping_ok(s):
    """A masked ping is answered with a pong."""
    s.sendall(bytes([0x89, 0x80, 1, 2, 3, 4]))
    data = b""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        data += s.recv(4096)
        if b"\x8a\x00" in data:
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["total", "per-ip", "idle-flood",
                                         "greedy", "spill"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--max", type=int, default=0)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--max-kib", type=int, default=16384)
    a = ap.parse_args()
    if a.scenario == "spill":
        spill(a)
        print("ok", a.scenario, flush=True)
        return
    if a.scenario == "greedy":
        greedy(a)
        print("ok", a.scenario, flush=True)
        return
    if a.scenario == "idle-flood":
        a.accepted = lambda idle: open_conns(a.port) >= len(idle)
        idle_flood(a)
        print("ok", a.scenario, flush=True)
        return
    held = []
    for i in range(a.max):
        line, s, _ = upgrade(a.port, user="u%d" % i)
        if " 101 " not in line + " ":
            fail("connection %d of %d: %r, want 101" % (i + 1, a.max, line))
        held.append(s)
    line, s, head = upgrade(a.port, user="extra")
    if not line.startswith("HTTP/1.1 503") or b"over capacity" not in head:
        fail("upgrade over the limit: %r, want 503 over capacity" % head)
    s.close()
    for s in held:
        if not ping_ok(s):
            fail("a connection under the limit stopped answering")
    if a.scenario == "per-ip":
        line, s, _ = upgrade(a.port, src="127.0.0.2", user="other")
        if " 101 " not in line + " ":
            fail("another address: %r, want 101" % line)
        s.close()
    else:
        held.pop().close()
        # The server frees the slot when it sees the close: bounded retry.
        end = time.monotonic() + TIMEOUT
        while True:
            line, s, _ = upgrade(a.port, user="again")
            if " 101 " in line + " ":
                break
            s.close()
            if time.monotonic() > end:
                fail("no slot after a close: %r" % line)
            time.sleep(0.05)
    print("ok", a.scenario, flush=True)



def spill(a):
    """--conns upgrades, one at a time, from 127.0.0.2 on (so that the
    kernel spreads them over the workers of the port): every one gets 101
    within TIMEOUT, none waits in a full worker's queue; all still answer
    a ping; then all are closed."""
    held, bad = [], []
    for i in range(a.conns):
        src = "127.0.0.%d" % (2 + i % 200)
        try:
            line, s, _ = upgrade(a.port, src=src, user="s%d" % i)
        except OSError as e:
            bad.append("%d: %s" % (i, e))
            continue
        if " 101 " not in line + " ":
            bad.append("%d: %r" % (i, line))
            s.close()
            continue
        held.append(s)
    print("%d upgraded, %d not" % (len(held), len(bad)), flush=True)
    if bad:
        fail("%d of %d upgrades failed: %s" % (len(bad), a.conns,
                                               "; ".join(bad[:5])))
    for s in held:
        if not ping_ok(s):
            fail("a connection stopped answering")
    for s in held:
        s.close()


def idle_flood(a):
    """--conns TCP connections that send nothing: gw-listen's RSS grows by
    less than --max-kib, and a real client meanwhile connects, upgrades
    and gets its pong."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def rss():
        with open("/proc/%d/status" % a.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0
    before = rss()
    idle = []
    for i in range(a.conns):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", a.port))
        idle.append(s)
    # Accepted: the server's connection count reaches them (bounded wait).
    end = time.monotonic() + 20
    while time.monotonic() < end:
        line, s, _ = upgrade(a.port, user="real")
        if " 101 " not in line + " ":
            fail("a real client among %d idle ones: %r" % (a.conns, line))
        ok = ping_ok(s)
        s.close()
        if not ok:
            fail("the real client got no pong")
        grown = rss() - before
        if grown >= 0 and a.accepted(idle):
            break
        time.sleep(0.1)
    grown = rss() - before
    print("%d idle connections: gw-listen RSS +%d KiB" % (a.conns, grown),
          flush=True)
    if grown > a.max_kib:
        fail("RSS grew by %d KiB for %d idle connections, want < %d" %
             (grown, a.conns, a.max_kib))
    for s in idle:
        s.close()


if __name__ == "__main__":
    main()
