#!/usr/bin/python3
"""presence_lat.py -- latency and Redis cost of presence across two nodes.

    presence_lat.py --a PORT --b PORT --redis SOCKET [-n USERS]

An observer subscribes with presence: true on node A.  USERS users, one
after the other, subscribe on node B and stay, so that the channel grows
to USERS members; then they close, one after the other.  For each the
time from sending the subscribe to the observer's presence.join is
recorded, likewise typing.start for a typing request and presence.leave
for the close (node B runs with --presence-grace 0).  Prints the
percentiles and the Redis commands per join and per leave (INFO
commandstats: everything the cluster sent, the bridges' health probes
included), as one JSON object and as a table.  Every wait is bounded.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import time

import websockets

TIMEOUT = 5


def stats(redis):
    out = subprocess.run(["redis-cli", "-s", redis, "INFO", "commandstats"],
                         capture_output=True, text=True, check=True).stdout
    calls = 0
    for line in out.splitlines():
        if line.startswith("cmdstat_"):
            calls += int(line.split("calls=", 1)[1].split(",", 1)[0])
    return calls


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


async def expect(ws, typ, user):
    end = time.monotonic() + TIMEOUT
    while True:
        left = end - time.monotonic()
        if left <= 0:
            sys.exit("no %s for %s within %d s" % (typ, user, TIMEOUT))
        m = json.loads(await asyncio.wait_for(ws.recv(), left))
        if m.get("type") == typ and m.get("userId") == user:
            return time.monotonic()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", type=int, required=True)
    ap.add_argument("--b", type=int, required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("-n", type=int, default=300)
    a = ap.parse_args()
    obs = await websockets.connect("ws://127.0.0.1:%d/ws?user=obs" % a.a)
    await obs.send(json.dumps({"type": "subscribe", "id": 1,
                               "channel": "bench", "presence": True}))
    await expect_type(obs, "subscribed")
    join, typing, leave = [], [], []
    calls_join = calls_leave = 0
    users = []
    # The channel grows to USERS members, then shrinks: the cost per join
    # and per leave must not grow with it.
    for i in range(a.n):
        user = "u%d" % i
        ws = await websockets.connect("ws://127.0.0.1:%d/ws?user=%s" %
                                      (a.b, user))
        await expect_type(ws, "welcome")
        c0 = stats(a.redis)
        t0 = time.monotonic()
        await ws.send(json.dumps({"type": "subscribe", "id": 1,
                                  "channel": "bench"}))
        join.append(await expect(obs, "presence.join", user) - t0)
        await expect_type(ws, "subscribed")
        # stats() itself is one command: not counted.
        calls_join += stats(a.redis) - c0 - 1
        t0 = time.monotonic()
        await ws.send(json.dumps({"type": "typing", "channel": "bench"}))
        typing.append(await expect(obs, "typing.start", user) - t0)
        await ws.send(json.dumps({"type": "typing", "channel": "bench",
                                  "state": "stop"}))
        await expect(obs, "typing.stop", user)
        users.append((user, ws))
    for user, ws in users:
        c0 = stats(a.redis)
        t0 = time.monotonic()
        await ws.close()
        leave.append(await expect(obs, "presence.leave", user) - t0)
        calls_leave += stats(a.redis) - c0 - 1
    await obs.close()
    res = {"users": a.n}
    for name, xs in (("join", join), ("typing", typing), ("leave", leave)):
        res[name + "_ms"] = {"p50": round(pct(xs, .5), 2),
                             "p99": round(pct(xs, .99), 2),
                             "max": round(max(xs) * 1000, 2)}
    res["redis_calls_per_join"] = round(calls_join / a.n, 2)
    res["redis_calls_per_leave"] = round(calls_leave / a.n, 2)
    print(json.dumps(res))
    print("%-8s %8s %8s %8s   (ms, %d users, node B -> observer on A)" %
          ("event", "p50", "p99", "max", a.n))
    for name in ("join", "typing", "leave"):
        r = res[name + "_ms"]
        print("%-8s %8.2f %8.2f %8.2f" % (name, r["p50"], r["p99"],
                                          r["max"]))
    print("Redis commands per join %.2f, per leave %.2f, while the channel"
          " grew to %d members and shrank (commands run by scripts, the"
          " join's subscribe and the health probes included)"
          % (res["redis_calls_per_join"], res["redis_calls_per_leave"], a.n))


async def expect_type(ws, typ):
    end = time.monotonic() + TIMEOUT
    while True:
        left = end - time.monotonic()
        if left <= 0:
            sys.exit("no %s within %d s" % (typ, TIMEOUT))
        m = json.loads(await asyncio.wait_for(ws.recv(), left))
        if m.get("type") == typ:
            return m


asyncio.run(main())
