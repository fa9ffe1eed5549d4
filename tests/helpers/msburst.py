"""msburst -- a client's burst of publishes on a channel it reads.

    msburst.py PORT [N [SIZE]]

Client "hog" (python3-websockets) subscribes to channel burst and sends
N publishes of SIZE bytes of data (default 128 of 60 000: 7.7 MB)
without reading; then it must get every `published` answer, in the
order of its publishes, and every message (its own echoes) -- not a
1013 for the echoes it did not read meanwhile.  Client "calm" then
publishes on its own channel and gets its message.  Prints "published
N in order, N messages; calm served"; exit 1 otherwise.
"""

import asyncio
import sys

from wsclient import connect
from wsraw import Fail

TIMEOUT = 30


async def main(port, n, size):
    hog = await connect(port, "hog", max_size=None)
    calm = await connect(port, "calm")
    for c, ch in ((hog, "burst"), (calm, "calm")):
        await c.req({"type": "subscribe", "channel": ch, "id": "s"},
                    "subscribed", TIMEOUT)
    for i in range(n):
        await hog.send({"type": "publish", "channel": "burst",
                        "data": "x" * size, "id": i})
    ids, msgs = [], 0
    while len(ids) < n or msgs < n:
        m = await hog.next(TIMEOUT)
        if m.get("type") == "published":
            ids.append(m.get("id"))
        elif m.get("type") == "message":
            msgs += 1
        else:
            raise Fail("hog: %r" % {k: m.get(k) for k in ("type", "id",
                                                          "code")})
    if ids != list(range(n)):
        raise Fail("answers out of order: %r" % ids[:20])
    await calm.send({"type": "publish", "channel": "calm",
                     "data": {"still": "here"}, "id": "p"})
    await calm.wait(lambda m: m.get("type") == "message",
                    "calm's own message", TIMEOUT)
    print("published %d in order, %d messages; calm served" % (n, msgs))
    await hog.ws.close()
    await calm.ws.close()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]),
                         int(sys.argv[2]) if len(sys.argv) > 2 else 128,
                         int(sys.argv[3]) if len(sys.argv) > 3 else 60000))
    except Fail as e:
        print("FAIL msburst: %s" % e)
        sys.exit(1)
