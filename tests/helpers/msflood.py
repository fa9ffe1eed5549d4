"""msflood -- many clients' frames waiting in gw-listen's sockets at once.

    msflood.py PORT PID [CONNS [FRAMES [SIZE]]]

CONNS raw clients (wsraw) each subscribe to a channel of their own;
gw-listen (PID) is stopped with SIGSTOP; each client sends FRAMES
publishes of SIZE bytes of data (3 of 16 KiB fit in a loopback
connection's window: every byte is in gw-listen's socket when the send
returns); gw-listen is continued (SIGCONT), and each client must get a
`published` answer for every publish.  With multishot receives, what
waits at once (CONNS x FRAMES x SIZE) is more than gw-listen's receive
buffers hold: some receives end out of buffers and are armed again.
Prints "published N of M"; exit 1 if an answer is missing or wrong.
"""

import json
import os
import signal
import sys
import time

from wsraw import Conn, Fail, OP_TEXT


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    nconns = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    nframes = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 16384
    conns = []
    for i in range(nconns):
        c = Conn(port, timeout=10)
        c.handshake()
        c.expect_json(lambda m: m.get("type") == "welcome", "welcome")
        c.send_text({"type": "subscribe", "id": "s", "channel": "fl%d" % i})
        c.expect_json(lambda m: m.get("type") == "subscribed", "subscribed")
        conns.append(c)
    os.kill(pid, signal.SIGSTOP)
    try:
        for i, c in enumerate(conns):
            for k in range(nframes):
                c.send_frame(OP_TEXT, json.dumps({
                    "type": "publish", "id": "p%d" % k,
                    "channel": "fl%d" % i, "data": "x" * size}).encode())
    finally:
        os.kill(pid, signal.SIGCONT)
    done = 0
    deadline = time.monotonic() + 30
    for i, c in enumerate(conns):
        want = {"p%d" % k for k in range(nframes)}
        while want:
            m = c.recv_json(max(0.1, deadline - time.monotonic()))
            if m.get("type") == "error":
                raise Fail("client %d: %r" % (i, m))
            if m.get("type") == "published":
                want.discard(m.get("id"))
                done += 1
    print("published %d of %d" % (done, nconns * nframes))


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        sys.exit("msflood: %s" % e)
