#!/usr/bin/python3
"""resubfail.py -- a subscribe sent again that fails must not undo the
subscription the first one made (2000-gw-listen.bats).

    /usr/bin/python3 tests/helpers/resubfail.py PORT APIKEY SYNCDIR

A message is published on channel "fl" through the HTTP API before any
client subscribes there, so that the client's subscription waits, after
its answer, for the live stream to pass the answer's latest offset (a
"floor").  While it waits, the client subscribes again; bats stops the
bridge (phase "stopped") before that, and kills and restarts it once the
worker has queued the request (phase "queued"), so that the request
fails.  The client must get an error for it, and still receive the next
message published on the channel.  Every wait is bounded; exit 0 if all
went as described, else 1 with the reason.
"""

import asyncio
import json
import os
import sys
import time
import urllib.request

import websockets

TIMEOUT = 15


def api_publish(port, key, channel, data):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/api/publish" % port,
        data=json.dumps({"channel": channel, "data": data}).encode(),
        headers={"Authorization": "apikey " + key,
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
        return json.loads(r.read())["offset"]


async def phase(sync, name):
    """Tell bats we reached NAME; wait for its NAME.go."""
    open(os.path.join(sync, name), "w").close()
    end = time.monotonic() + 30
    while not os.path.exists(os.path.join(sync, name + ".go")):
        if time.monotonic() > end:
            raise SystemExit("no go for phase %s within 30 s" % name)
        await asyncio.sleep(0.02)


async def until(ws, pred, what):
    """Read frames until PRED(frame); return it.  Fail after TIMEOUT."""
    end = time.monotonic() + TIMEOUT
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise SystemExit("no %s within %d s" % (what, TIMEOUT))
        try:
            f = json.loads(await asyncio.wait_for(ws.recv(), left))
        except asyncio.TimeoutError:
            raise SystemExit("no %s within %d s" % (what, TIMEOUT))
        print("got", json.dumps(f), flush=True)
        if pred(f):
            return f


async def main():
    port, key, sync = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    first = api_publish(port, key, "fl", {"n": 1})
    uri = "ws://127.0.0.1:%d/ws?user=rf" % port
    async with websockets.connect(uri, ping_interval=None,
                                  open_timeout=TIMEOUT) as ws:
        await until(ws, lambda f: f.get("type") == "welcome", "welcome")
        await ws.send(json.dumps({"type": "subscribe", "id": "s1",
                                  "channel": "fl"}))
        s = await until(ws, lambda f: f.get("id") == "s1", "subscribed")
        if s.get("type") != "subscribed" or s.get("offset") != first:
            raise SystemExit("first subscribe: %r, want offset %s" %
                             (s, first))
        await phase(sync, "stopped")
        await ws.send(json.dumps({"type": "subscribe", "id": "again",
                                  "channel": "fl"}))
        # Answered by the worker itself, after it has handled "again".
        await ws.send(json.dumps({"type": "subscribe", "id": "mark",
                                  "channel": "private:x"}))
        await until(ws, lambda f: f.get("id") == "mark", "the forbidden")
        await phase(sync, "queued")
        a = await until(ws, lambda f: f.get("id") == "again",
                        "an answer to the second subscribe")
        if a.get("type") != "error":
            raise SystemExit("second subscribe answered %r, want an error" %
                             (a,))
        second = api_publish(port, key, "fl", {"n": 2})
        await until(ws, lambda f: f.get("type") == "message" and
                    f.get("offset") == second,
                    "the message published after the failure")
    print("the failed subscribe left the subscription: message %s came" %
          second)


if __name__ == "__main__":
    asyncio.run(main())
