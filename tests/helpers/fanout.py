"""fanout -- one publish to many subscribers, and what gw-listen's sends
cost in system calls (its io_uring counters, read with gwctl stats).

    fanout.py --port PORT --rundir DIR [--conns N]

N python3-websockets clients subscribe to one channel; once all have
their `subscribed`, gw-listen's counters are read, the first client
publishes one message, every client must receive it (else exit 1), and
the counters are read again.  Then every client unsubscribes (N frames
to read) and the counters are read a third time.  Prints one JSON
object: received, io_uring, sends (uring_sends after the message minus
before), submits (the same for uring_submits), recvs (uring_recvs after
the unsubscribes minus after the message), chunks (the same for
uring_recv_chunks: what multishot receives brought) and arms
(uring_recv_arms at the end: multishot receives armed since gw-listen
started).
"""

import argparse
import asyncio
import json
import subprocess
import sys

import websockets

TIMEOUT = 10


def counters(rundir):
    """gw-listen's counters, from gwctl (the only gw-listen of rundir)."""
    out = subprocess.run(["gwctl", "--rundir", rundir, "--json", "stats"],
                         capture_output=True, text=True, timeout=TIMEOUT,
                         check=True).stdout
    for line in out.splitlines():
        o = json.loads(line)
        if o.get("process") == "gw-listen":
            return o["counters"]
    raise SystemExit("gwctl stats: no gw-listen")


async def until(ws, kind):
    """The next frame of type kind (others skipped, at most 10)."""
    for _ in range(10):
        f = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if f.get("type") == kind:
            return f
    raise SystemExit(f"no {kind} frame")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rundir", required=True)
    ap.add_argument("--conns", type=int, default=300)
    a = ap.parse_args()
    url = f"ws://127.0.0.1:{a.port}/ws"
    conns = []
    try:
        for i in range(a.conns):
            ws = await websockets.connect(url, open_timeout=TIMEOUT)
            conns.append(ws)
            await until(ws, "welcome")
            await ws.send(json.dumps({"type": "subscribe",
                                      "channel": "fan", "id": i}))
        for ws in conns:
            await until(ws, "subscribed")
        before = counters(a.rundir)
        await conns[0].send(json.dumps({"type": "publish", "channel": "fan",
                                        "data": {"n": 1}, "id": "p"}))
        got = await asyncio.gather(*(until(ws, "message") for ws in conns))
        received = sum(1 for f in got if f.get("data") == {"n": 1})
        after = counters(a.rundir)
        for i, ws in enumerate(conns):
            await ws.send(json.dumps({"type": "unsubscribe",
                                      "channel": "fan", "id": i}))
        for ws in conns:
            await until(ws, "unsubscribed")
        last = counters(a.rundir)
    finally:
        await asyncio.gather(*(ws.close() for ws in conns),
                             return_exceptions=True)
    print(json.dumps({
        "received": received,
        "io_uring": after["io_uring"],
        "sends": after["uring_sends"] - before["uring_sends"],
        "submits": after["uring_submits"] - before["uring_submits"],
        "recvs": last["uring_recvs"] - after["uring_recvs"],
        "chunks": last["uring_recv_chunks"] - after["uring_recv_chunks"],
        "arms": last["uring_recv_arms"],
    }))
    return 0 if received == a.conns else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
