"""ctlcheck -- a WebSocket client for the gwctl tests (6100-gwctl.bats).

    ctlcheck.py --port P [--user U | --token T] [--channel C]...
                [--presence] [--ready FILE] [--count N] [--until-close]
                [--timeout SECONDS]

Connects to gw-listen on 127.0.0.1:P (as ?user=U, or with ?token=T),
prints the welcome frame, subscribes to each channel (printing each
answer: subscribed, or error), creates FILE (the test may go on), and then
prints every frame that comes, one JSON object per line, until N message
frames came (--count), or until the server closes the connection
(--until-close: prints {"close": CODE, "reason": R}).  Every wait is
bounded by --timeout (default 10 s): past it, exit 1.  An HTTP refusal of
the upgrade prints {"http": STATUS} and exits 3.
"""

import argparse
import asyncio
import json
import sys
import urllib.parse

import websockets


def out(obj):
    print(json.dumps(obj), flush=True)


async def run(a):
    q = {"token": a.token} if a.token else {"user": a.user} if a.user else {}
    url = "ws://127.0.0.1:%d/ws?%s" % (a.port, urllib.parse.urlencode(q))
    try:
        # No frame size limit: gwctl's values go up to 1 MiB.
        ws = await websockets.connect(url, open_timeout=a.timeout,
                                      max_size=None)
    except websockets.exceptions.InvalidStatusCode as e:
        out({"http": e.status_code})
        return 3
    try:
        return await session(a, ws)
    finally:
        await ws.close()


async def session(a, ws):
    if True:
        out(json.loads(await ws.recv()))
        for i, ch in enumerate(a.channel):
            req = {"type": "subscribe", "channel": ch, "id": i + 1}
            if a.presence:
                req["presence"] = True
            await ws.send(json.dumps(req))
            while True:
                f = json.loads(await ws.recv())
                out(f)
                if f.get("id") == i + 1:
                    break
        if a.ready:
            open(a.ready, "w").close()
        n = 0
        while a.count is None or n < a.count:
            try:
                f = json.loads(await ws.recv())
            except websockets.exceptions.ConnectionClosed as e:
                out({"close": e.code, "reason": e.reason})
                return 0 if a.until_close else 1
            out(f)
            if f.get("type") == "message":
                n += 1
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user")
    p.add_argument("--token")
    p.add_argument("--channel", action="append", default=[])
    p.add_argument("--presence", action="store_true")
    p.add_argument("--ready")
    p.add_argument("--count", type=int)
    p.add_argument("--until-close", action="store_true")
    p.add_argument("--timeout", type=float, default=10)
    a = p.parse_args()
    try:
        rc = asyncio.run(asyncio.wait_for(run(a), a.timeout))
    except asyncio.TimeoutError:
        print("ctlcheck: timed out after %g s" % a.timeout, file=sys.stderr)
        rc = 1
    sys.exit(rc)


if __name__ == "__main__":
    main()
