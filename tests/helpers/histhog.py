"""histhog -- one client's history reads must not cost the others.

Usage: histhog.py PORT.  Client "hog" subscribes to channel big and
publishes 128 messages of 60 KB on it (a history of 7.7 MB, answered in
replies of 4 MiB at most), then sends 40 history requests at once.
Every one must be answered, with the history or with rate_limited (the
worker lets a connection have 4 reads awaited, and itself 12), never
unavailable; client "calm" then publishes on its own channel and gets
its message back.  Exit 0 and print the counts, or exit 1 with the
reason.  Every wait is bounded.
"""

import asyncio
import json
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


async def main(port):
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
            if m["type"] == "history" and m["messages"]:
                hist += 1
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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(int(sys.argv[1])))
