#!/usr/bin/python3
"""tcpproxy.py -- a TCP proxy that can be told to wedge, for tests.

    tcpproxy.py --port-file FILE (--to-unix PATH | --to HOST:PORT)
                [--new-while-frozen wedge|close]

Listens on 127.0.0.1 (a port the kernel picks, written to FILE once it
listens) and forwards every connection to the Unix socket PATH or to
HOST:PORT.

    SIGUSR1  freeze: from now on, every open connection is wedged: it
             stays open, but what either side sends is read and
             dropped, and nothing more is forwarded.  A connection
             that comes while frozen is wedged too (--new-while-frozen
             wedge, the default: like a network that swallows packets)
             or closed at once (close: like a server that is down).
    SIGUSR2  thaw: new connections are forwarded again; those wedged
             stay wedged (open and silent) until a side closes them.
    SIGTERM  exit.

It prints a line per connection: "accepted N" or "accepted N while
frozen: wedged|closed", and "closed N" when one ends.  Standard library
only, one thread, non-blocking sockets.
"""

import argparse
import errno
import os
import selectors
import signal
import socket
import sys

frozen = False
stopping = False


class Pipe:
    """One proxied connection: client and upstream, a buffer each way."""

    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.wedged = frozen
        self.out = {client: b"", upstream: b""}   # waiting to go to key
        self.peer = {client: upstream, upstream: client}


def main():
    global frozen, stopping
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--to-unix")
    g.add_argument("--to")
    ap.add_argument("--new-while-frozen", choices=["wedge", "close"],
                    default="wedge")
    a = ap.parse_args()
    nconn = 0

    def on_freeze(sig, frm):
        global frozen
        frozen = True

    def on_thaw(sig, frm):
        global frozen
        frozen = False

    def on_term(sig, frm):
        global stopping
        stopping = True

    signal.signal(signal.SIGUSR1, on_freeze)
    signal.signal(signal.SIGUSR2, on_thaw)
    signal.signal(signal.SIGTERM, on_term)

    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    pipes = {}      # socket -> Pipe

    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(tmp, a.port_file)

    def interest(p, s):
        ev = selectors.EVENT_READ
        if p.out[s] and not p.wedged:
            ev |= selectors.EVENT_WRITE
        sel.modify(s, ev, p)

    def drop(p):
        if p.client in pipes:
            print("closed %d" % p.n, flush=True)
        for s in (p.client, p.upstream):
            if s in pipes:
                del pipes[s]
                sel.unregister(s)
                s.close()

    def connect_upstream():
        if a.to_unix:
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.connect(a.to_unix)
        else:
            host, port = a.to.rsplit(":", 1)
            u = socket.create_connection((host, int(port)), timeout=5)
        u.setblocking(False)
        return u

    while not stopping:
        try:
            events = sel.select(0.1)
        except InterruptedError:
            continue
        if frozen:
            for p in set(pipes.values()):
                if not p.wedged:
                    p.wedged = True
                    for x in (p.client, p.upstream):
                        p.out[x] = b""
                        interest(p, x)
        for key, mask in events:
            s = key.fileobj
            if s is lsock:
                try:
                    c, _ = lsock.accept()
                except OSError:
                    continue
                c.setblocking(False)
                nconn += 1
                if frozen:
                    print("accepted %d while frozen: %s" % (
                        nconn, "closed" if a.new_while_frozen == "close"
                        else "wedged"), flush=True)
                    if a.new_while_frozen == "close":
                        c.close()
                        continue
                else:
                    print("accepted %d" % nconn, flush=True)
                try:
                    u = connect_upstream()
                except OSError as e:
                    print("upstream: %s" % e, file=sys.stderr, flush=True)
                    c.close()
                    continue
                p = Pipe(c, u)
                p.n = nconn
                for x in (c, u):
                    pipes[x] = p
                    sel.register(x, selectors.EVENT_READ, p)
                continue
            p = key.data
            if s not in pipes:
                continue
            if mask & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    drop(p)
                    continue
                if data and not p.wedged:
                    other = p.peer[s]
                    p.out[other] += data
                    interest(p, other)
            if mask & selectors.EVENT_WRITE and not p.wedged and p.out[s]:
                try:
                    n = s.send(p.out[s])
                    p.out[s] = p.out[s][n:]
                except BlockingIOError:
                    pass
                except OSError as e:
                    if e.errno != errno.EAGAIN:
                        drop(p)
                        continue
                interest(p, s)
    for p in set(pipes.values()):
        drop(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
