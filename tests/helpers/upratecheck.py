#!/usr/bin/python3
"""upratecheck.py -- gw-listen's --upgrade-rate (tests/bats/8000-limits.bats).

    /usr/bin/python3 tests/helpers/upratecheck.py SCENARIO --port P [...]

paced (--rate R --n N): N clients of the websockets library connect at
    once; all are welcomed, and the welcomes are spread over at least
    what R upgrades a second allow (a lower bound: a slow machine only
    spreads them more).
deadline (server: --upgrade-rate 1 --head-timeout 1): five upgrades at
    once; the first is answered 101, the third to fifth, whose turns
    come after their head deadline, 503 with Retry-After and the reason.
gone (server: --upgrade-rate 1): four upgrades; the third's client
    closes while it waits; the others are answered 101 in their order.
healthz (server: --upgrade-rate 1): four upgrades, then GET /healthz:
    its 200 comes before the last upgrade's turn (requests other than
    upgrades do not wait).
drain (server: --upgrade-rate 1 --head-timeout 30): four upgrades, then
    SIGTERM to --pid: the three waiting get 503 "draining", none is left
    unanswered.
resume (server: --upgrade-rate 1): a client subscribes and goes; its
    reconnect with session=SID waits for its turn and resumes the
    session (resumed, its channel restored).
burst (--n N): N upgrades sent as fast as they go; every one is
    answered 101 (the caller checks how many waited).

Exit 0 if so, else 1 with what came.  Every wait is bounded.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wsraw import upgrade_request  # noqa: E402

TIMEOUT = 10


def fail(msg):
    print("upratecheck: " + msg, file=sys.stderr)
    sys.exit(1)


def send_upgrade(port, path="/ws?user=u"):
    """Connect and send an upgrade request; return the socket."""
    s = socket.socket()
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", port))
    req, _ = upgrade_request("127.0.0.1:%d" % port, path=path)
    s.sendall(req)
    return s


def read_answer(s, timeout=TIMEOUT):
    """The status line, the whole head and body read, and when (monotonic);
    ("EOF", ...) if the server closed without an answer."""
    s.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while b"\r\n\r\n" not in data and time.monotonic() < end:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return "EOF", data, time.monotonic()
        data += chunk
    at = time.monotonic()
    if b"\r\n\r\n" not in data:
        return "TIMEOUT", data, at
    head = data.split(b"\r\n\r\n", 1)[0]
    if not head.startswith(b"HTTP/1.1 101"):
        # A body of a few bytes, then the close.
        s.settimeout(2)
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), data, at


def upgrades(port, n, gap=0.05):
    """n upgrade requests, gap seconds apart so that they come in order."""
    socks = []
    for _ in range(n):
        socks.append(send_upgrade(port))
        time.sleep(gap)
    return socks


def paced(a):
    import websockets

    async def one(i, t0):
        ws = await websockets.connect(
            "ws://127.0.0.1:%d/ws?user=p%d" % (a.port, i),
            open_timeout=TIMEOUT + 20)
        m = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        at = time.monotonic() - t0
        if m.get("type") != "welcome":
            fail("client %d: %r instead of the welcome" % (i, m))
        return ws, at

    async def run():
        t0 = time.monotonic()
        got = await asyncio.gather(*(one(i, t0) for i in range(a.n)))
        times = sorted(at for _, at in got)
        # The first burst goes at once; the rest one a token.
        burst = max(1, int(a.rate * 0.05))
        least = (a.n - burst - 1) / a.rate * 0.9
        spread = times[-1] - times[0]
        print("%d welcomed, spread over %.2f s (at least %.2f s at %d a "
              "second)" % (len(times), spread, least, a.rate))
        if spread < least:
            fail("the welcomes came within %.2f s: not paced" % spread)
        # They work: the last one subscribes.
        ws = got[-1][0]
        await ws.send(json.dumps({"type": "subscribe", "id": 1,
                                  "channel": "up"}))
        m = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if m.get("type") != "subscribed":
            fail("subscribe: %r" % m)
        for ws, _ in got:
            await ws.close()

    asyncio.run(run())


def deadline(a):
    socks = upgrades(a.port, 5)
    got = [read_answer(s) for s in socks]
    for i, (status, data, _) in enumerate(got):
        print("%d: %s" % (i, status))
    if not got[0][0].startswith("HTTP/1.1 101"):
        fail("the first upgrade: %r" % got[0][1])
    for i in (2, 3, 4):
        status, data, _ = got[i]
        if not status.startswith("HTTP/1.1 503") or \
                b"\r\nRetry-After: 1\r\n" not in data or \
                not data.endswith(b"too many upgrades at once; try again\n"):
            fail("upgrade %d past its head deadline: %r" % (i, data))


def gone(a):
    socks = upgrades(a.port, 4)
    first = read_answer(socks[0])
    socks[2].close()
    rest = [read_answer(socks[i]) for i in (1, 3)]
    print("0: %s; 1: %s; 3: %s" % (first[0], rest[0][0], rest[1][0]))
    for status, data, _ in [first] + rest:
        if not status.startswith("HTTP/1.1 101"):
            fail("an upgrade that waited: %r" % data)
    if rest[0][2] > rest[1][2]:
        fail("the fourth upgrade was answered before the second")


def healthz(a):
    socks = upgrades(a.port, 4)
    h = socket.create_connection(("127.0.0.1", a.port), timeout=TIMEOUT)
    h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    hz = read_answer(h)
    last = read_answer(socks[3])
    print("healthz: %s; the fourth upgrade: %s, %.2f s later"
          % (hz[0], last[0], last[2] - hz[2]))
    if not hz[0].startswith("HTTP/1.1 200"):
        fail("/healthz: %r" % hz[1])
    if not last[0].startswith("HTTP/1.1 101"):
        fail("the fourth upgrade: %r" % last[1])
    if hz[2] >= last[2]:
        fail("/healthz waited for the upgrades' turns")


def drain(a):
    socks = upgrades(a.port, 4)
    first = read_answer(socks[0])
    if not first[0].startswith("HTTP/1.1 101"):
        fail("the first upgrade: %r" % first[1])
    os.kill(a.pid, signal.SIGTERM)
    for i in (1, 2, 3):
        status, data, _ = read_answer(socks[i])
        print("%d: %s" % (i, status))
        if not status.startswith("HTTP/1.1 503") or \
                not data.endswith(b"\r\n\r\ndraining\n"):
            fail("upgrade %d waiting at the drain: %r" % (i, data))


def resume(a):
    import websockets

    async def run():
        uri = "ws://127.0.0.1:%d/ws?user=r" % a.port
        ws = await websockets.connect(uri)
        w = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        await ws.send(json.dumps({"type": "subscribe", "id": 1,
                                  "channel": "kept"}))
        m = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if m.get("type") != "subscribed":
            fail("subscribe: %r" % m)
        await ws.close()
        # The token is spent: this one waits about a second.
        ws = await websockets.connect(uri + "&session=" + w["session"],
                                      open_timeout=TIMEOUT)
        m = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        print("welcome: %r" % m)
        if m.get("type") != "welcome" or m.get("resumed") is not True or \
                m.get("channels") != ["kept"]:
            fail("the resume that waited: %r" % m)
        await ws.close()

    asyncio.run(run())


def burst(a):
    """--n upgrades sent as fast as they go; each is answered 101."""
    socks = [send_upgrade(a.port) for _ in range(a.n)]
    bad = 0
    for s in socks:
        status, data, _ = read_answer(s, timeout=TIMEOUT + 5)
        if not status.startswith("HTTP/1.1 101"):
            bad += 1
            print("not upgraded: %r" % data[:200])
    for s in socks:
        s.close()
    print("%d upgrades sent at once, %d answered 101" % (a.n, a.n - bad))
    if bad:
        fail("%d of %d not upgraded" % (bad, a.n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["paced", "deadline", "gone",
                                         "healthz", "drain", "resume",
                                         "burst"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=int, default=1)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--pid", type=int)
    a = ap.parse_args()
    globals()[a.scenario](a)


if __name__ == "__main__":
    main()
