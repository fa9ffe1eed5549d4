"""histhog -- one client's history reads must not cost the others.

Usage: histhog.py PORT [KEY].  Client "hog" subscribes to channel big and
publishes 128 messages of 60 KB on it (a history of 7.7 MB, answered in
replies of 4 MiB at most), then sends 40 history requests at once.
Every one must be answered, with the history or with rate_limited (the
worker lets a connection have 4 reads awaited, and itself 12), never
unavailable; client "calm" then publishes on its own channel and gets
its message back.  With the API's KEY: 20 GET /api/history of the same
history at once, on 20 connections: each answered 200 or 429, never
503.  Exit 0 and print the counts, or exit 1 with the reason.  Every
wait is bounded.
"""

import asyncio
import json
import socket
import sys

import websockets

TIMEOUT = 30


def fail(why):
    print("FAIL histhog: %s" % why, flush=True)
    sys.exit(1)


async def until(ws, pred, what):
    while True:
        try:
            m = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        except asyncio.TimeoutError:
            fail("no %s within %d s" % (what, TIMEOUT))
        if pred(m):
            return m


def api_burst(port, key, n=20):
    """n history reads at once over the API: their statuses."""
    req = ("GET /api/history?channel=big&limit=1000 HTTP/1.1\r\n"
           "Host: t\r\nAuthorization: apikey %s\r\n"
           "Connection: close\r\n\r\n" % key).encode()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        s.sendall(req)
        socks.append(s)
    codes = []
    for s in socks:
        s.settimeout(TIMEOUT)
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        codes.append(int(head.split(b" ", 2)[1]) if head else 0)
        s.close()
    return codes


async def main(port, key):
    url = "ws://127.0.0.1:%d/ws?user=" % port
    async with websockets.connect(url + "hog", max_size=None) as hog, \
            websockets.connect(url + "calm", max_size=None) as calm:
        for ws, ch in ((hog, "big"), (calm, "calm")):
            await until(ws, lambda m: m.get("type") == "welcome", "welcome")
            await ws.send(json.dumps({"type": "subscribe", "channel": ch,
                                      "id": "s"}))
            await until(ws, lambda m: m.get("type") == "subscribed",
                        "subscribed to " + ch)
        for i in range(128):
            await hog.send(json.dumps({"type": "publish", "channel": "big",
                                       "data": "x" * 60000, "id": i}))
        got = 0
        while got < 128:
            m = await until(hog, lambda m: m.get("type") in (
                "published", "error"), "the publishes' answers")
            if m["type"] == "error":
                fail("publish %s: %r" % (m.get("id"), m))
            got += 1
        for i in range(40):
            await hog.send(json.dumps({"type": "history", "channel": "big",
                                       "limit": 1000, "id": 1000 + i}))
        hist = limited = 0
        while hist + limited < 40:
            m = await until(hog, lambda m: m.get("type") in (
                "history", "error"), "the history answers")
            if m["type"] == "history" and (m["messages"] or
                                           not m["complete"]):
                hist += 1   # cut to fit the bridge's room: complete false
            elif m["type"] == "error" and m.get("code") == "rate_limited":
                limited += 1
            else:
                fail("answer %s: %s %s" % (m.get("id"), m.get("type"),
                                          m.get("code")))
        await calm.send(json.dumps({"type": "publish", "channel": "calm",
                                    "data": {"still": "here"}, "id": "p"}))
        await until(calm, lambda m: m.get("type") == "message" and
                    m.get("data") == {"still": "here"},
                    "calm's own message")
        print("histories %d rate_limited %d; calm served" % (hist, limited),
              flush=True)
    if key:
        codes = api_burst(port, key)
        if any(c not in (200, 429) for c in codes) or 200 not in codes \
                or 429 not in codes:
            fail("API history reads at once: %r" % codes)
        print("api: %d answered 200, %d 429" % (codes.count(200),
                                                codes.count(429)),
              flush=True)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(int(sys.argv[1]),
                     sys.argv[2] if len(sys.argv) == 3 else None))
