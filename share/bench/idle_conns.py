#!/usr/bin/python3
"""Open N idle WebSocket connections to gw-listen, subscribe each to one
of C channels, and report the server's memory per connection.

Written for gw's benchmark (no third-party client needed: the handshake and
the one masked frame are built here).  Bounded in count and time; loopback
only.  Prints one JSON object.
"""
import argparse, base64, json, os, selectors, socket, struct, sys, time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def frame(text):
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x81])
    if n < 126:
        hdr += bytes([0x80 | n])
    else:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--channels", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    if not 1 <= a.n <= 19000:
        sys.exit("n must be 1..19000 (one process, 20000 open files)")

    base = rss_kib(a.pid)
    sel = selectors.DefaultSelector()
    socks = []
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    pending = 0
    for i in range(a.n):
        s = socket.socket()
        # Rotate source addresses so that ports never run out.
        s.bind((f"127.0.0.{2 + i % 200}", 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", a.port))
        except BlockingIOError:
            pass
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /ws?user=u{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "\r\n").encode()
        sub = frame(json.dumps({"type": "subscribe",
                                "channel": f"room:{i % a.channels}"}))
        st = {"out": req + sub, "in": b"", "done": False}
        sel.register(s, selectors.EVENT_WRITE, st)
        socks.append(s)
        pending += 1
        # Keep the accept queue short: let replies come in as we go.
        if pending >= 500:
            pending = pump(sel, pending, deadline, 0)
    pending = pump(sel, pending, deadline, 1)
    elapsed = time.monotonic() - t0
    if pending:
        sys.exit(f"{pending} connections not subscribed within the timeout")
    time.sleep(0.5)  # let the server return its transient buffers
    after = rss_kib(a.pid)
    per = (after - base) * 1024 / a.n
    print(json.dumps({"connections": a.n, "channels": a.channels,
                      "rss_before_kib": base, "rss_after_kib": after,
                      "bytes_per_conn": round(per), "setup_s":
                      round(elapsed, 2)}))
    for s in socks:
        s.close()


def pump(sel, pending, deadline, drain):
    """Drive handshakes; return how many are not yet subscribed."""
    while pending and time.monotonic() < deadline:
        ev = sel.select(timeout=0.2)
        if not ev and not drain:
            return pending
        for key, mask in ev:
            s, st = key.fileobj, key.data
            if mask & selectors.EVENT_WRITE and st["out"]:
                try:
                    n = s.send(st["out"])
                    st["out"] = st["out"][n:]
                except BlockingIOError:
                    pass
                if not st["out"]:
                    sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                sys.exit("server closed a connection")
            st["in"] += data
            if b'"subscribed"' in st["in"]:
                sel.unregister(s)
                pending -= 1
        if not drain and pending < 250:
            return pending
    return pending


if __name__ == "__main__":
    main()
