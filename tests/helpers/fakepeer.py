#!/usr/bin/python3
"""fakepeer.py -- a tiny stand-in for Nchan or Socket.IO, for the smoke
test of gw-bench's protocol adapters (7000-bench.bats): no network
install, the standard library only, this machine only.

    fakepeer.py nchan PORT      WebSocket subscribers at /sub/CH, POST /pub/CH
    fakepeer.py socketio PORT   Engine.IO v4 over WebSocket at /socket.io/

nchan: a subscriber is subscribed once upgraded; a POST's body goes to
every subscriber of CH as a text frame, and is answered 202 (keep-alive,
pipelined requests served in order).  socketio: the server opens with
0{...}, answers 40 with 40{"sid":...}, then pings (2) and closes the
connection if no pong (3) comes within 2 s; 421["sub","CH"] joins CH and
is acked with 431["ok"]; 42["pub","CH",DATA] sends 42["msg",DATA] to
CH's members.  Counts go to stderr at exit (SIGTERM).
"""
import asyncio
import base64
import hashlib
import json
import signal
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAXHEAD = 8192
MAXBODY = 1 << 20
rooms = {}
stats = {"upgrades": 0, "posts": 0, "pongs": 0, "pings_unanswered": 0}


def frame(text):
    """An unmasked final text frame of text (str)."""
    b = text.encode()
    n = len(b)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return head + b


async def read_frame(r):
    """One client frame: (opcode, payload bytes)."""
    h = await r.readexactly(2)
    op, n = h[0] & 0x0F, h[1] & 0x7F
    if n == 126:
        n = int.from_bytes(await r.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await r.readexactly(8), "big")
    if n > MAXBODY or not h[1] & 0x80:
        raise ValueError("bad frame")
    mask = await r.readexactly(4)
    data = bytearray(await r.readexactly(n))
    for i in range(n):
        data[i] ^= mask[i % 4]
    return op, bytes(data)


async def read_head(r):
    """The request line and the headers (lower-cased names)."""
    raw = await r.readuntil(b"\r\n\r\n")
    if len(raw) > MAXHEAD:
        raise ValueError("head too long")
    lines = raw.decode("latin-1").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return lines[0].split(" "), hdrs


def upgrade(w, hdrs):
    key = hdrs["sec-websocket-key"].encode()
    acc = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    w.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" %
             acc).encode())
    stats["upgrades"] += 1


def send_room(ch, text):
    f = frame(text)
    for w in list(rooms.get(ch, ())):
        w.write(f)


async def nchan(r, w, req, hdrs):
    while True:
        path = req[1]
        if path.startswith("/sub/") and "upgrade" in hdrs:
            upgrade(w, hdrs)
            ch = path[5:]
            rooms.setdefault(ch, set()).add(w)
            try:
                while True:
                    op, _ = await read_frame(r)
                    if op == 8:
                        return
            finally:
                rooms[ch].discard(w)
        if req[0] != "POST" or not path.startswith("/pub/"):
            w.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        n = int(hdrs.get("content-length", "0"))
        if n > MAXBODY:
            return
        body = await r.readexactly(n)
        stats["posts"] += 1
        send_room(path[5:], body.decode())
        w.write(b"HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 3\r\n\r\nok\n")
        req, hdrs = await read_head(r)


async def watch_pong(w, box):
    await asyncio.sleep(2)
    if not box["pong"]:
        stats["pings_unanswered"] += 1
        w.close()


async def socketio(r, w, req, hdrs):
    if not req[1].startswith("/socket.io/?EIO=4") or "upgrade" not in hdrs:
        w.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return
    upgrade(w, hdrs)
    w.write(frame('0{"sid":"s","upgrades":[],"pingInterval":25000,'
                  '"pingTimeout":20000,"maxPayload":1000000}'))
    joined, box, task = set(), {"pong": False}, None
    try:
        while True:
            op, data = await read_frame(r)
            if op == 8:
                return
            t = data.decode()
            if t == "40":
                w.write(frame('40{"sid":"n"}'))
                w.write(frame("2"))
                task = asyncio.ensure_future(watch_pong(w, box))
            elif t == "3":
                box["pong"] = True
                stats["pongs"] += 1
            elif t.startswith("42"):
                ack, arr = t[2:].split("[", 1)
                ev = json.loads("[" + arr)
                if ev[0] == "sub":
                    rooms.setdefault(ev[1], set()).add(w)
                    joined.add(ev[1])
                    if ack:
                        w.write(frame("43%s[\"ok\"]" % ack))
                elif ev[0] == "pub":
                    send_room(ev[1], "42" + json.dumps(["msg", ev[2]]))
    finally:
        if task is not None:
            task.cancel()
        for ch in joined:
            rooms[ch].discard(w)


async def serve(kind, port):
    async def handle(r, w):
        try:
            req, hdrs = await read_head(r)
            await (nchan if kind == "nchan" else socketio)(r, w, req, hdrs)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError,
                asyncio.LimitOverrunError, KeyError, IndexError):
            pass
        finally:
            w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    async with srv:
        await stop
    print(json.dumps(stats), file=sys.stderr, flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("nchan", "socketio"):
        sys.exit("usage: fakepeer.py nchan|socketio PORT")
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
