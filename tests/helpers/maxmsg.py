#!/usr/bin/env python3
"""maxmsg.py -- max_message counts the message frame a subscriber gets.

A publish is refused with too_large exactly when the message frame it
would make is over --max-message: with --max-message M, data sized so
that the frame is M bytes is published and reaches a subscriber as a
frame of exactly M bytes; one byte more of data is too_large.  Over
WebSocket (from the publisher's user id, one that needs escapes too:
JWT ids may hold any character) and over the HTTP API (from null).

Clients: python3-websockets and urllib.  Usage:
    maxmsg.py --port P --max M [--key K] [--token T --user U]
"""
import argparse
import asyncio
import json
import sys
import time
import urllib.error
import urllib.request

import websockets

# The frame gw-bridge's publish script writes, without data and from:
ENVELOPE = len('{"type":"message","channel":"","data":,"offset":"'
               '","from":,"ts":}')
OFFSET = 38             # EPOCH(16):MS(12)-SEQ(8)


def fail(msg):
    print("maxmsg: " + msg, file=sys.stderr)
    sys.exit(1)


def from_json(user):
    """user as the server writes it in "from": UTF-8 as it is, quote and
    backslash escaped (JWT ids have no control characters)."""
    return '"' + user.replace("\\", "\\\\").replace('"', '\\"') + '"'


def data_for(size):
    """A JSON string of exactly size bytes (size >= 2)."""
    return json.dumps("x" * (size - 2))


def fits(ch, fromj):
    """The data size that makes a frame of exactly --max bytes; ts has 13
    digits until the year 2286."""
    return A.max - ENVELOPE - OFFSET - len(ch) - len(fromj.encode()) - 13


async def recv_type(ws, want, deadline=5):
    """The next frame of a type in want; frames of other types are kept
    in SEEN for a later call (a message may come before its published)."""
    end = time.monotonic() + deadline
    for i, (raw, m) in enumerate(SEEN):
        if m.get("type") in want:
            del SEEN[i]
            return raw, m
    while True:
        left = end - time.monotonic()
        if left <= 0:
            fail("no %s frame within %ds" % (want, deadline))
        raw = await asyncio.wait_for(ws.recv(), left)
        m = json.loads(raw)
        if m.get("type") in want:
            return raw, m
        SEEN.append((raw, m))


SEEN = []


async def over_ws(ch, url, user):
    fromj = from_json(user)
    SEEN.clear()
    async with websockets.connect(url, max_size=None) as ws:
        await recv_type(ws, ("welcome",))
        await ws.send(json.dumps({"type": "subscribe", "channel": ch,
                                  "id": 1}))
        await recv_type(ws, ("subscribed",))
        n = fits(ch, fromj)
        await ws.send('{"type":"publish","channel":"%s","id":2,"data":%s}'
                      % (ch, data_for(n)))
        raw, m = await recv_type(ws, ("published", "error"))
        if m["type"] != "published":
            fail("data of %d bytes (a frame of %d): %s" % (n, A.max, raw))
        raw, m = await recv_type(ws, ("message",))
        if len(raw.encode()) != A.max or m["from"] != user:
            fail("message frame of %d bytes, want %d; from %r" %
                 (len(raw.encode()), A.max, m["from"]))
        await ws.send('{"type":"publish","channel":"%s","id":3,"data":%s}'
                      % (ch, data_for(n + 1)))
        raw, m = await recv_type(ws, ("published", "error"))
        if m["type"] != "error" or m["code"] != "too_large":
            fail("data of %d bytes (a frame of %d): %s, want too_large" %
                 (n + 1, A.max + 1, raw))
    print("ok: websocket, from %s: a frame of %d bytes published, one "
          "more byte too_large" % (fromj, A.max))


def api(body):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/api/publish" % A.port, data=body.encode(),
        method="POST", headers={"Content-Type": "application/json"})
    if A.key:
        req.add_header("Authorization", "apikey " + A.key)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def over_api(ch):
    SEEN.clear()
    async with websockets.connect("ws://127.0.0.1:%d/ws?user=watcher" %
                                  A.port, max_size=None) as ws:
        await recv_type(ws, ("welcome",))
        await ws.send(json.dumps({"type": "subscribe", "channel": ch,
                                  "id": 1}))
        await recv_type(ws, ("subscribed",))
        n = fits(ch, "null")
        st, r = await asyncio.to_thread(
            api, '{"channel":"%s","data":%s}' % (ch, data_for(n)))
        if st != 200:
            fail("API, data of %d bytes: %d %r" % (n, st, r))
        raw, m = await recv_type(ws, ("message",))
        if len(raw.encode()) != A.max or m["from"] is not None:
            fail("API message frame of %d bytes, want %d" %
                 (len(raw.encode()), A.max))
        st, r = await asyncio.to_thread(
            api, '{"channel":"%s","data":%s}' % (ch, data_for(n + 1)))
        if st != 413 or r.get("error", {}).get("code") != "too_large":
            fail("API, data of %d bytes: %d %r, want 413 too_large" %
                 (n + 1, st, r))
    print("ok: API: a frame of %d bytes published, one more byte 413" %
          A.max)


async def main():
    base = "ws://127.0.0.1:%d/ws" % A.port
    if A.token:
        await over_ws("mm:tok", base + "?token=" + A.token, A.user)
    else:
        await over_ws("mm:ws", base + "?user=u1", "u1")
    if A.key is not None:
        await over_api("mm:api")


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--max", type=int, required=True)
ap.add_argument("--key")
ap.add_argument("--token")
ap.add_argument("--user")
A = ap.parse_args()
asyncio.run(main())
