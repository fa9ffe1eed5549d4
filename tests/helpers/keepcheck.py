#!/usr/bin/python3
"""keepcheck.py -- keep-alive and pipelining on gw-listen's HTTP API
(tests/bats/6200-api.bats).

    /usr/bin/python3 tests/helpers/keepcheck.py SCENARIO --port P --key KEY
        [--head-timeout SECONDS]

The node is started by bats, its gw-listen with --api-key-file holding
KEY.  Clients are http.client and raw sockets, so that what goes on the
wire is what the scenario says.  Exit 0 if the scenario passes, else 1
with what was expected and what came.  Every wait is bounded: a read
gives up after TIMEOUT seconds.
"""

import argparse
import http.client
import json
import socket
import sys
import time

TIMEOUT = 10


class Fail(Exception):
    pass


def want(cond, msg, *args):
    if not cond:
        raise Fail(msg % args if args else msg)


def log(*a):
    print(*a, flush=True)


def request(method, path, key, body=None, version="1.1", headers=()):
    """The bytes of one request; body is bytes or a JSON value."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    lines = ["%s %s HTTP/%s" % (method, path, version), "Host: t"]
    if key is not None:
        lines.append("Authorization: apikey " + key)
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class Raw:
    """A raw client socket that reads answers one at a time."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        self.s.settimeout(TIMEOUT)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _more(self):
        chunk = self.s.recv(65536)
        want(chunk != b"", "closed in the middle of an answer: %r",
             self.buf[:200])
        self.buf += chunk

    def answer(self):
        """(status, headers with lowercase names, body) of the next
        answer."""
        while b"\r\n\r\n" not in self.buf:
            want(len(self.buf) < 65536, "no end of head: %r",
                 self.buf[:200])
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        self.reason = lines[0].split(" ", 2)[2] if \
            lines[0].count(" ") >= 2 else ""
        self.line = lines[0]
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body

    def eof(self, timeout=TIMEOUT):
        """Seconds until the server closes, reading nothing meanwhile."""
        t0 = time.monotonic()
        self.s.settimeout(timeout)
        try:
            chunk = self.s.recv(4096)
        except ConnectionResetError:
            chunk = b""
        except socket.timeout:
            raise Fail("not closed within %s s" % timeout)
        want(chunk == b"" and self.buf == b"",
             "bytes where a close was expected: %r", self.buf + chunk)
        return time.monotonic() - t0

    def close(self):
        self.s.close()


def offset_of(body):
    o = json.loads(body)
    want(isinstance(o, dict) and isinstance(o.get("offset"), str),
         "not an offset: %r", body)
    return o["offset"]


def after(a, b):
    """Is offset a after b (same epoch, compared as strings)?"""
    return a.split(":", 1)[0] == b.split(":", 1)[0] and a > b


def reuse(a):
    """Two publishes on one http.client connection: both answered on the
    same socket, which the answers say is kept."""
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=TIMEOUT)
    offs, names = [], []
    for i in range(2):
        c.request("POST", "/api/publish",
                  json.dumps({"channel": "ka", "data": i}),
                  {"Authorization": "apikey " + a.key,
                   "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        want(r.status == 200, "publish %d: %d %r", i, r.status, body)
        want(r.getheader("Connection") == "keep-alive",
             "publish %d: Connection: %r, want keep-alive", i,
             r.getheader("Connection"))
        offs.append(offset_of(body))
        want(c.sock is not None, "publish %d: http.client closed the "
             "connection", i)
        names.append(c.sock.getsockname())
    want(names[0] == names[1], "two sockets: %r", names)
    want(after(offs[1], offs[0]), "offsets %r do not increase", offs)
    c.close()
    log("reuse: 2 publishes on one connection, %s then %s" % tuple(offs))


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized",
           404: "Not Found", 405: "Method Not Allowed",
           411: "Length Required", 413: "Content Too Large"}


def pipeline(a):
    """Requests in one write are answered in order, a 404 and an
    asynchronous history in the middle; then more, past the head buffer
    and past the requests routed per event, all sync; the connection stays
    open all along."""
    r = Raw(a.port)
    reqs = [request("POST", "/api/publish", a.key, {"channel": "pl",
                                                    "data": 1}),
            request("GET", "/api/nope", a.key),
            request("GET", "/api/history?channel=pl&limit=10", a.key),
            request("POST", "/api/publish", a.key, {"channel": "pl",
                                                    "data": 2})]
    r.send(b"".join(reqs))
    got = [r.answer() for _ in reqs]
    want([g[0] for g in got] == [200, 404, 200, 200], "statuses %r",
         [(g[0], g[2][:60]) for g in got])
    want(all(g[1].get("connection") == "keep-alive" for g in got),
         "Connection headers %r", [g[1].get("connection") for g in got])
    o1, o2 = offset_of(got[0][2]), offset_of(got[3][2])
    hist = [m["offset"] for m in json.loads(got[2][2])["messages"]]
    want(after(o2, o1) and hist == [o1],
         "offsets %s, %s and history %r: not in order", o1, o2, hist)
    # 300 synchronous answers of three kinds (over 8 KiB of requests).
    kinds = [(request("GET", "/api/nope", a.key), 404),
             (request("GET", "/api/publish", a.key), 405),
             (request("GET", "/api/channels?pattern=zz*", a.key), 200)]
    seq = [kinds[i % 3] for i in range(300)]
    data = b"".join(k[0] for k in seq)
    want(len(data) > 8192, "only %d bytes", len(data))
    r.send(data)
    st = [r.answer()[0] for _ in seq]
    want(st == [k[1] for k in seq], "statuses out of order: %r", st[:20])
    # Three batches of 100 (16 KB each) in one write: the next ones
    # wait in TCP while one is published, none is lost.
    big = [request("POST", "/api/batch", a.key, [
        {"channel": "pl", "data": {"b": b, "i": i, "p": "x" * 100}}
        for i in range(100)]) for b in range(3)]
    want(len(big[0]) > 8192, "a batch of only %d bytes", len(big[0]))
    r.send(b"".join(big))
    last = o2
    for b in range(3):
        s, h, body = r.answer()
        offs = [x.get("offset") for x in json.loads(body)] if s == 200 \
            else []
        want(len(offs) == 100 and all(after(o, last) for o in offs),
             "batch %d: %d %r", b, s, body[:200])
        last = max(offs)
    r.send(reqs[0])
    s, h, body = r.answer()
    want(s == 200 and after(offset_of(body), last), "last publish %d %r",
         s, body)
    r.close()
    log("pipeline: 4, 300, 3 batches of 100 then 1 answered in order on "
        "one connection")


def closes(a):
    """Connection: close and HTTP/1.0 close after the answer; an error
    whose request was read whole keeps the connection, one whose body was
    not read (411, 413) closes it."""
    for what, req in [
            ("Connection: close", request(
                "POST", "/api/publish", a.key, {"channel": "cl", "data": 1},
                headers=["Connection: close"])),
            ("HTTP/1.0", request("POST", "/api/publish", a.key,
                                 {"channel": "cl", "data": 2}, "1.0")),
            ("HTTP/1.0 keep-alive", request(
                "GET", "/api/channels", a.key, version="1.0",
                headers=["Connection: keep-alive"]))]:
        r = Raw(a.port)
        r.send(req)
        s, h, body = r.answer()
        want(s == 200 and h.get("connection") == "close",
             "%s: %d %r %r", what, s, h, body)
        r.eof()
        r.close()
    # Read whole: 401, 405, 404 and 400 keep it.
    r = Raw(a.port)
    for st, req in [
            (401, request("GET", "/api/channels", "wrong-key-0123456789")),
            (405, request("GET", "/api/publish", a.key)),
            (400, request("POST", "/api/publish", a.key, b"not json")),
            (404, request("GET", "/api/nope", a.key)),
            # A batch with an item over --max-message: answered whole
            # once the first item's answer (still to come) is in, the
            # big item's too_large in its place, the connection kept.
            (200, request("POST", "/api/batch", a.key, [
                {"channel": "cl", "data": 1},
                {"channel": "cl", "data": "x" * 200000}])),
            (200, request("POST", "/api/publish", a.key,
                          {"channel": "cl", "data": 3}))]:
        r.send(req)
        s, h, body = r.answer()
        want(s == st and h.get("connection") == "keep-alive",
             "want %d kept: %d %r %r", st, s, h, body)
        want(r.reason == REASONS[st], "status line %r, want %r", r.line,
             REASONS[st])
        # RFC 9110: a 405 says what is allowed, a 401 how to authenticate.
        if st == 405:
            want(h.get("allow") == "POST" and json.loads(body)["error"]
                 ["code"] == "method_not_allowed", "405: %r %r", h, body)
        if st == 401:
            want(h.get("www-authenticate") == "apikey", "401: %r", h)
        if b"/api/batch" in req:
            items = json.loads(body)
            want(len(items) == 2 and "offset" in items[0] and
                 items[1].get("error", {}).get("code") == "too_large",
                 "batch with a big item: %r", items)
    offset_of(body)
    # Not read: 413 and 411 close, after a request that kept it.
    for st, req in [
            (413, request("POST", "/api/publish", a.key,
                          headers=["Content-Length: 2000000"])),
            (411, request("POST", "/api/publish", a.key))]:
        if st == 411:
            r = Raw(a.port)
        r.send(request("GET", "/api/channels", a.key))
        s, h, _ = r.answer()
        want(s == 200 and h.get("connection") == "keep-alive",
             "before %d: %d %r", st, s, h)
        r.send(req)
        s, h, body = r.answer()
        want(s == st and h.get("connection") == "close",
             "want %d and close: %d %r %r", st, s, h, body)
        want(r.reason == REASONS[st], "status line %r, want %r", r.line,
             REASONS[st])
        r.eof()
        r.close()
    log("closes: Connection: close, HTTP/1.0, 413 and 411 close; "
        "401, 405, 400 and 404 keep; each with its reason phrase")


def idle(a):
    """A keep-alive connection with nothing more to say is closed after
    --head-timeout, without an answer; one that began its next head gets
    408 at the same deadline."""
    r = Raw(a.port)
    r.send(request("GET", "/api/channels", a.key))
    s, h, _ = r.answer()
    want(s == 200 and h.get("connection") == "keep-alive", "%d %r", s, h)
    t1 = r.eof(a.head_timeout + 5)
    want(t1 >= a.head_timeout * 0.5, "closed after %.2f s, want about %s",
         t1, a.head_timeout)
    r.close()
    r = Raw(a.port)
    r.send(request("GET", "/api/channels", a.key))
    s, h, _ = r.answer()
    want(s == 200, "%d %r", s, h)
    r.send(b"GET /api/chan")
    t0 = time.monotonic()
    s, h, body = r.answer()
    t = time.monotonic() - t0
    want(s == 408 and t >= a.head_timeout * 0.5,
         "partial head: %d after %.2f s %r", s, t, body)
    r.eof()
    r.close()
    log("idle: closed after %.2f s; a partial head 408 after %.2f s" %
        (t1, t))


def limit(a):
    """The 10 000th request of a connection is answered with
    Connection: close, and the connection closes."""
    r = Raw(a.port)
    one = request("GET", "/api/nope", a.key)
    n = 10000
    for i in range(0, n, 500):
        r.send(one * 500)
        for j in range(500):
            s, h, _ = r.answer()
            conn = h.get("connection")
            last = i + j == n - 1
            want(s == 404 and conn == ("close" if last else "keep-alive"),
                 "request %d: %d %r", i + j + 1, s, conn)
    r.eof()
    r.close()
    log("limit: 10000 requests, the last one closed")


def expect(a):
    """Expect: 100-continue: "100 Continue" before the body is sent, then
    the answer, the connection kept; with the body sent along, no 100;
    another expectation: 417 and closed, its body unread."""
    body = json.dumps({"channel": "exp", "data": {"n": 1}}).encode()
    head = request("POST", "/api/publish", a.key, headers=(
        "Content-Type: application/json",
        "Content-Length: %d" % len(body), "Expect: 100-continue"))
    r = Raw(a.port)
    r.send(head)
    s, h, b = r.answer()
    want(s == 100 and b == b"", "before the body: %d %r %r", s, h, b)
    r.send(body)
    s, h, b = r.answer()
    want(s == 200, "after the body: %d %r", s, b)
    offset_of(b)
    want(h.get("connection") == "keep-alive", "not kept: %r", h)
    r.send(head + body)
    s, h, b = r.answer()
    want(s == 200, "the body with the head: %d %r (a 100 first?)", s, b)
    r.send(request("GET", "/api/nope", a.key))
    s, h, b = r.answer()
    want(s == 404, "the next request: %d %r", s, b)
    r.close()
    r = Raw(a.port)
    r.send(head.replace(b"100-continue", b"202-accepted"))
    s, h, b = r.answer()
    want(s == 417 and h.get("connection") == "close",
         "another expectation: %d %r %r", s, h, b)
    r.eof()
    r.close()
    log("expect: 100 Continue before the body, none with it; 417 else")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["reuse", "pipeline", "closes",
                                         "idle", "limit", "expect"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--head-timeout", type=float, default=10)
    a = ap.parse_args()
    try:
        globals()[a.scenario](a)
    except (Fail, OSError, ValueError, KeyError) as e:
        print("FAIL %s: %s: %s" % (a.scenario, type(e).__name__, e),
              flush=True)
        sys.exit(1)
    print("ok %s" % a.scenario, flush=True)


if __name__ == "__main__":
    main()
