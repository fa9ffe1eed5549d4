"""supcheck -- small clients for the gw-supervise tests (6000-supervise).

  supcheck.py pubsub PORT [N]        two users subscribe, one publishes, the
                                     other gets it; N times (default 1),
                                     each on new connections; exit 0 if
                                     every time
  supcheck.py hold PORT DIR          subscribe, touch DIR/connected, wait
                                     for DIR/go, then check the connection
                                     still answers; exit 0 if it does
  supcheck.py ctl SOCK JSON          one control request over the gw IPC
                                     framing; print the reply

Every wait is bounded (TIMEOUT seconds); a failure prints why, exit 1.
"""

import asyncio
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ipcabuse import ipc_version  # noqa: E402

TIMEOUT = 10
IPC_VERSION = ipc_version()
MSG_HELLO = 1
MSG_CTL_REQUEST = 25
MSG_CTL_REPLY = 26


def fail(why):
    print("supcheck: " + why, file=sys.stderr)
    sys.exit(1)


async def expect(ws, pred, what):
    """Read frames until PRED matches one; fail after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("no " + what)
        frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        if pred(frame):
            return frame


async def pubsub(port):
    import websockets
    url = "ws://127.0.0.1:%d/ws?user=" % port
    async with websockets.connect(url + "alice", open_timeout=TIMEOUT) as a, \
            websockets.connect(url + "bob", open_timeout=TIMEOUT) as b:
        for ws in (a, b):
            await expect(ws, lambda f: f["type"] == "welcome", "welcome")
            await ws.send(json.dumps({"type": "subscribe", "id": 1,
                                      "channel": "sup:1"}))
            await expect(ws, lambda f: f["type"] == "subscribed",
                         "subscribed")
        await a.send(json.dumps({"type": "publish", "id": 2,
                                 "channel": "sup:1", "data": {"n": 42}}))
        await expect(a, lambda f: f["type"] == "published", "published")
        m = await expect(b, lambda f: f["type"] == "message", "message")
        if m["data"] != {"n": 42} or m["from"] != "alice":
            fail("bad message %r" % m)


async def hold(port, d):
    import websockets
    url = "ws://127.0.0.1:%d/ws?user=carol" % port
    async with websockets.connect(url, open_timeout=TIMEOUT) as ws:
        await expect(ws, lambda f: f["type"] == "welcome", "welcome")
        await ws.send(json.dumps({"type": "subscribe", "id": 1,
                                  "channel": "sup:hold"}))
        await expect(ws, lambda f: f["type"] == "subscribed", "subscribed")
        open(os.path.join(d, "connected"), "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(d, "go")):
            if time.monotonic() > deadline:
                fail("no go within 60 s")
            await asyncio.sleep(0.05)
        await ws.send(json.dumps({"type": "presence", "id": 2,
                                  "channel": "sup:hold"}))
        await expect(ws, lambda f: f.get("id") == 2, "reply after reload")


def ipc_msg(mtype, mid, payload):
    return struct.pack("=IIII", mtype, 16 + len(payload), mid,
                       IPC_VERSION) + payload


def ipc_str(s):
    b = s.encode()
    return struct.pack("=I", len(b)) + b


def ctl(path, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    s.sendall(ipc_msg(MSG_HELLO, 0, struct.pack("=I", os.getpid()) +
                      ipc_str("supcheck")) +
              ipc_msg(MSG_CTL_REQUEST, 7, ipc_str(req)))
    buf = b""
    while True:
        while len(buf) >= 16:
            mtype, mlen, mid, _ = struct.unpack("=IIII", buf[:16])
            if len(buf) < mlen:
                break
            body, buf = buf[16:mlen], buf[mlen:]
            if mtype == MSG_CTL_REPLY and mid == 7:
                n = struct.unpack("=I", body[:4])[0]
                print(body[4:4 + n].decode())
                return
        chunk = s.recv(65536)
        if not chunk:
            fail("the socket closed before the reply")
        buf += chunk


def main():
    if len(sys.argv) < 3:
        fail("usage: supcheck.py pubsub PORT [N] | hold PORT DIR | "
             "ctl SOCK JSON")
    cmd = sys.argv[1]
    if cmd == "pubsub":
        for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
            asyncio.run(pubsub(int(sys.argv[2])))
    elif cmd == "hold":
        asyncio.run(hold(int(sys.argv[2]), sys.argv[3]))
    elif cmd == "ctl":
        ctl(sys.argv[2], sys.argv[3])
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
