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

from wsclient import connect
from wsraw import Fail

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


async def main():
    port, key, sync = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    first = api_publish(port, key, "fl", {"n": 1})
    c = await connect(port, "rf")
    s = await c.req({"type": "subscribe", "id": "s1", "channel": "fl"},
                    "subscribed", TIMEOUT)
    if s.get("offset") != first:
        raise Fail("first subscribe: %r, want offset %s" % (s, first))
    await phase(sync, "stopped")
    await c.send({"type": "subscribe", "id": "again", "channel": "fl"})
    # Answered by the worker itself, after it has handled "again".
    await c.req({"type": "subscribe", "id": "mark", "channel": "private:x"},
                "error", TIMEOUT)
    await phase(sync, "queued")
    a = await c.wait(lambda f: f.get("id") == "again",
                     "an answer to the second subscribe", TIMEOUT)
    if a.get("type") != "error":
        raise Fail("second subscribe answered %r, want an error" % (a,))
    second = api_publish(port, key, "fl", {"n": 2})
    await c.wait(lambda f: f.get("type") == "message" and
                 f.get("offset") == second,
                 "the message published after the failure", TIMEOUT)
    await c.ws.close()
    print("the failed subscribe left the subscription: message %s came" %
          second)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Fail as e:
        print("FAIL resubfail: %s" % e, flush=True)
        sys.exit(1)
