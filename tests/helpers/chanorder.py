"""chanorder -- watch the order in which gw-bench publishes over channels.

Usage: chanorder.py PORT NCHAN COUNT.  One python3-websockets client
subscribes to bench:0 .. bench:NCHAN-1 on the gw-listen at PORT, prints
"ready", then reads COUNT bench messages (or stops after 30 s) and prints
one JSON line: "n", the messages seen; "rounds", how many sequence
numbers had exactly one message on every channel; "partial", how many had
some but not all; "next", how many messages came right after one on the
channel before them (k then k + 1 mod NCHAN: all of them when the
publisher goes round-robin, about one in NCHAN when it shuffles).
"""

import asyncio
import json
import sys

import websockets


async def main(port, nch, count):
    url = "ws://127.0.0.1:%d/ws" % port
    async with websockets.connect(url) as ws:
        json.loads(await ws.recv())             # welcome
        for k in range(nch):
            await ws.send(json.dumps({"type": "subscribe", "id": k,
                                      "channel": "bench:%d" % k}))
        subscribed = 0
        while subscribed < nch:
            m = json.loads(await ws.recv())
            if m.get("type") == "subscribed":
                subscribed += 1
        print("ready", flush=True)
        seen = []
        loop = asyncio.get_running_loop()
        end = loop.time() + 30
        while len(seen) < count and loop.time() < end:
            try:
                raw = await asyncio.wait_for(ws.recv(), end - loop.time())
            except asyncio.TimeoutError:
                break
            m = json.loads(raw)
            if m.get("type") != "message":
                continue
            d = m["data"]
            g = (json.loads(d) if isinstance(d, str) else d)["gwb"]
            seen.append((g[1], g[2]))
    byseq = {}
    for seq, k in seen:
        byseq.setdefault(seq, []).append(k)
    full = sum(1 for ks in byseq.values() if sorted(ks) == list(range(nch)))
    nxt = sum(1 for a, b in zip(seen, seen[1:]) if b[1] == (a[1] + 1) % nch)
    print(json.dumps({"n": len(seen), "rounds": full,
                      "partial": len(byseq) - full, "next": nxt}))


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
