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
import socket
import sys

from wsclient import connect
from wsraw import Fail

TIMEOUT = 30


def fail(why):
    print("FAIL histhog: %s" % why, flush=True)
    sys.exit(1)


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
    hog = await connect(port, "hog", max_size=None)
    calm = await connect(port, "calm", max_size=None)
    for c, ch in ((hog, "big"), (calm, "calm")):
        await c.req({"type": "subscribe", "channel": ch, "id": "s"},
                    "subscribed", TIMEOUT)
    for i in range(128):
        await hog.send({"type": "publish", "channel": "big",
                        "data": "x" * 60000, "id": i})
    for _ in range(128):
        m = await hog.wait(lambda m: m.get("type") in ("published", "error"),
                           "the publishes' answers", TIMEOUT)
        if m["type"] == "error":
            fail("publish %s: %r" % (m.get("id"), m))
    hog.stash.clear()       # the 128 messages of 60 KB
    for i in range(40):
        await hog.send({"type": "history", "channel": "big",
                        "limit": 1000, "id": 1000 + i})
    hist = limited = 0
    while hist + limited < 40:
        m = await hog.wait(lambda m: m.get("type") in ("history", "error"),
                           "the history answers", TIMEOUT)
        if m["type"] == "history" and (m["messages"] or not m["complete"]):
            hist += 1   # cut to fit the bridge's room: complete false
        elif m["type"] == "error" and m.get("code") == "rate_limited":
            limited += 1
        else:
            fail("answer %s: %s %s" % (m.get("id"), m.get("type"),
                                      m.get("code")))
    await calm.send({"type": "publish", "channel": "calm",
                     "data": {"still": "here"}, "id": "p"})
    await calm.wait(lambda m: m.get("type") == "message" and
                    m.get("data") == {"still": "here"},
                    "calm's own message", TIMEOUT)
    print("histories %d rate_limited %d; calm served" % (hist, limited),
          flush=True)
    await hog.ws.close()
    await calm.ws.close()
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
    try:
        asyncio.run(main(int(sys.argv[1]),
                         sys.argv[2] if len(sys.argv) == 3 else None))
    except Fail as e:
        fail(str(e))
