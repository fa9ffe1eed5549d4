#!/usr/bin/python3
"""conformance.py -- scenarios against a running gw-listen, for bats.

    /usr/bin/python3 tests/helpers/conformance.py SCENARIO --port P [...]

Exit 0 when the scenario passes; otherwise print what was expected and
what came, and exit 1.  "list" prints the scenario names.  Raw-socket
scenarios use wsraw.py; those named ws-* use python3-websockets (see
wsclient.py), an independent client.
"""

import argparse
import base64
import codecs
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING,  # noqa: E402
                   OP_PONG, OP_TEXT, Conn, Eof, Fail, Timeout,
                   close_payload, upgrade_request)

SCENARIOS = {}


def scenario(name):
    def reg(fn):
        SCENARIOS[name] = fn
        return fn
    return reg


def log(*a):
    print(*a, flush=True)


def unescape(s):
    """Turn a shell argument with \\r \\n \\x00 escapes into bytes."""
    return codecs.decode(s, "unicode_escape").encode("latin-1")


# --- JWT, minted here independently of the server's code -----------------

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def read_secret(path):
    """The HS256 key of a secret file: its bytes, one trailing \\n stripped."""
    with open(path, "rb") as f:
        k = f.read()
    if k.endswith(b"\n"):
        k = k[:-1]
    return k


def mint(key, claims, alg="HS256", header=None):
    """A compact JWS over CLAIMS, signed with KEY by ALG (HS256, HS384,
    or none for an empty signature)."""
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    h = b64u(json.dumps(hdr, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    si = h + b"." + p
    if alg == "HS256":
        sig = hmac.new(key, si, hashlib.sha256).digest()
    elif alg == "HS384":
        sig = hmac.new(key, si, hashlib.sha384).digest()
    else:
        sig = b""
    return (si + b"." + b64u(sig)).decode()


def token_of(kind, key):
    """(token or None, expected userId) for a token KIND."""
    now = int(time.time())
    good = {"sub": "alice", "exp": now + 600}
    if kind == "valid":
        return mint(key, good), "alice"
    if kind == "noexp":
        return mint(key, {"sub": "alice"}), "alice"
    if kind == "quoted":
        # JSON must escape it (a quote, a backslash) or may (non-ASCII);
        # control characters are refused in sub.
        s = 'o"b\\\u00e9'
        return mint(key, {"sub": s, "exp": now + 600}), s
    if kind == "sub128":
        s = "s" * 128
        return mint(key, {"sub": s, "exp": now + 600}), s
    if kind == "info":
        return mint(key, dict(good, info={"name": "Alice"},
                              channels=["private:team-*"])), "alice"
    if kind == "missing":
        return None, None
    if kind == "badsig":
        return mint(key + b"x", good), None
    if kind == "tampered":
        t = mint(key, good).split(".")
        t[1] = b64u(json.dumps({"sub": "mallory", "exp": now + 600},
                               separators=(",", ":")).encode()).decode()
        return ".".join(t), None
    if kind == "none":
        return mint(key, good, alg="none"), None
    if kind == "hs384":
        return mint(key, good, alg="HS384"), None
    if kind == "expired":
        return mint(key, {"sub": "alice", "exp": now - 3600}), None
    if kind == "nbf":
        return mint(key, dict(good, nbf=now + 3600)), None
    if kind == "nosub":
        return mint(key, {"exp": now + 600}), None
    if kind == "longsub":
        return mint(key, {"sub": "s" * 129, "exp": now + 600}), None
    if kind == "info-notobj":
        return mint(key, dict(good, info="Alice")), None
    if kind == "channels-notarray":
        return mint(key, dict(good, channels="private:*")), None
    if kind == "channels-notstr":
        return mint(key, dict(good, channels=[1])), None
    if kind == "garbage":
        return "not.a.token", None
    raise SystemExit("unknown token kind %r" % kind)


# --- checks --------------------------------------------------------------

def check_plain(resp, status, body_has=None):
    """Check a non-101 answer against the spec's fixed format."""
    errs = []
    if resp.status != status:
        errs.append("status %d, want %d" % (resp.status, status))
    if resp.version != "HTTP/1.1":
        errs.append("version %r, want HTTP/1.1" % resp.version)
    ct = resp.header("Content-Type") or ""
    if not ct.startswith("text/plain"):
        errs.append("Content-Type %r, want text/plain" % ct)
    if resp.header("Content-Length") is None:
        errs.append("no Content-Length")
    if (resp.header("Connection") or "").lower() != "close":
        errs.append("Connection %r, want close" % resp.header("Connection"))
    if not resp.body.endswith(b"\n") or resp.body.count(b"\n") != 1:
        errs.append("body %r is not one line ending in \\n" % resp.body)
    if body_has is not None and body_has.encode() not in resp.body:
        errs.append("body %r lacks %r" % (resp.body, body_has))
    if not resp.eof:
        errs.append("connection not closed after the response")
    if errs:
        raise Fail("; ".join(errs) + "\nresponse: %r" % resp)


def check_headers(resp, specs):
    """SPECS: "Name: value" (exact) or "Name: prefix*"."""
    for spec in specs or ():
        name, want = [x.strip() for x in spec.split(":", 1)]
        got = resp.header(name)
        ok = got is not None and (got.startswith(want[:-1])
                                  if want.endswith("*") else got == want)
        if not ok:
            raise Fail("header %s: %r, want %r\nresponse: %r" %
                       (name, got, want, resp))


def recase_names(req, how):
    """Rewrite the header names of a request head: lower, upper or mixed."""
    head, sep, body = req.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = [lines[0]]
    for ln in lines[1:]:
        name, colon, rest = ln.partition(b":")
        if how == "lower":
            name = name.lower()
        elif how == "upper":
            name = name.upper()
        else:
            name = bytes(c ^ 0x20 if i % 2 and chr(c).isalpha() else c
                         for i, c in enumerate(name.lower()))
        out.append(name + colon + rest)
    return b"\r\n".join(out) + sep + body


def ws_open(port, user="tester", path=None, timeout=5, rcvbuf=None):
    """Connect, upgrade and read the welcome frame; return the Conn."""
    c = Conn(port, rcvbuf=rcvbuf)
    c.handshake(path or "/ws?user=%s" % user, timeout=timeout)
    m = c.recv_json(timeout)
    if m.get("type") != "welcome":
        raise Fail("first frame is not a welcome: %r" % m)
    c.welcome = m
    return c


def wait_json(c, pred, what, timeout=5):
    """Read JSON frames until PRED matches; fail with what was skipped."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        try:
            m = c.recv_json(max(0.0, deadline - time.monotonic()))
        except (Timeout, Eof) as e:
            raise Fail("waiting for %s: %s; frames seen: %r" %
                       (what, e, seen[:10]))
        if pred(m):
            return m
        seen.append(m)


def do(c, req, rtype, timeout=5):
    """Send REQ and wait for the reply of type RTYPE with the same id."""
    c.send_text(req)
    return wait_json(c, lambda m: m.get("type") == rtype and
                     m.get("id") == req.get("id"),
                     "%s reply to %r" % (rtype, req), timeout)


def subscribe(c, channel, rid="s", **extra):
    return do(c, dict({"type": "subscribe", "id": rid, "channel": channel},
                      **extra), "subscribed")


# --- HTTP ----------------------------------------------------------------

@scenario("http")
def sc_http(a):
    """Send --request (with escapes) and check the answer --expect."""
    c = Conn(a.port, host=a.host)
    resp = c.request(unescape(a.request))
    log("got", resp)
    if a.expect == 101:
        raise SystemExit("http: use the upgrade scenario for 101")
    check_plain(resp, a.expect, a.expect_body)
    check_headers(resp, a.expect_header)


@scenario("upgrade")
def sc_upgrade(a):
    """An upgrade request with --drop/--set/--add/--method/--version/--body
    changes; check --expect (and, for 101, the accept and a welcome)."""
    c = Conn(a.port)
    path = a.path or "/ws?user=tester"
    req, key = upgrade_request("127.0.0.1:%d" % a.port, path=path,
                               method=a.method, version=a.version,
                               drop=a.drop or (), set_headers=a.set or (),
                               add_headers=a.add or (),
                               body=unescape(a.body or ""))
    if a.names:
        req = recase_names(req, a.names)
    log("request", req)
    c.send(req)
    resp = c.read_response(want_eof=(a.expect != 101))
    log("got", resp)
    if a.expect == 101:
        if resp.status != 101:
            raise Fail("want 101, got %r" % resp)
        from wsraw import accept_for
        if resp.header("Sec-WebSocket-Accept") != accept_for(key):
            raise Fail("bad Sec-WebSocket-Accept: %r" % resp)
        if resp.header("Sec-WebSocket-Protocol") is not None:
            raise Fail("a subprotocol was chosen: %r" % resp)
        m = c.recv_json()
        if m.get("type") != "welcome":
            raise Fail("first frame is not a welcome: %r" % m)
        if a.user is not None and m.get("userId") != a.user:
            raise Fail("welcome.userId %r, want %r" % (m.get("userId"),
                                                       a.user))
        if a.user_re and not re.fullmatch(a.user_re, m.get("userId", "")):
            raise Fail("welcome.userId %r does not match %s" %
                       (m.get("userId"), a.user_re))
        check_headers(resp, a.expect_header)
        return
    check_plain(resp, a.expect, a.expect_body)
    check_headers(resp, a.expect_header)


@scenario("big-head")
def sc_big_head(a):
    """A GET /healthz head of exactly --size bytes."""
    pre = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
    post = b"\r\n\r\n"
    pad = a.size - len(pre) - len(post)
    req = pre + b"a" * pad + post
    assert len(req) == a.size
    c = Conn(a.port)
    resp = c.request(req)
    log("got", resp)
    check_plain(resp, a.expect)


@scenario("many-headers")
def sc_many_headers(a):
    """A GET /healthz with --count header fields in all (Host included)."""
    lines = [b"GET /healthz HTTP/1.1", b"Host: x"]
    lines += [b"X-H%d: v" % i for i in range(a.count - 1)]
    req = b"\r\n".join(lines) + b"\r\n\r\n"
    c = Conn(a.port)
    resp = c.request(req)
    log("got", resp)
    check_plain(resp, a.expect)


@scenario("slowloris")
def sc_slowloris(a):
    """Trickle one byte every 0.3 s of a head that never ends; the server
    must answer 408 and close between --min and --max seconds after the
    connect (the head timeout is absolute)."""
    c = Conn(a.port)
    t0 = time.monotonic()
    data = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
    i = 0
    if a.idle:
        data = b""
    while True:
        if time.monotonic() - t0 > a.max + 2:
            raise Fail("still open %.1fs after connecting" %
                       (time.monotonic() - t0))
        # Wait 0.3 s for an answer before sending the next byte.
        if not c.is_closed(0.3) and not c.buf:
            if i < len(data):
                if not c.send(data[i:i + 1]):
                    break
                i += 1
            continue
        break
    t = time.monotonic() - t0
    try:
        got = c.wait_eof(max(0.5, a.max - t + 1))
    except Timeout:
        raise Fail("bytes arrived but no EOF: %r" % c.buf)
    log("closed after %.2fs having sent %d bytes; got %r" % (t, i, got))
    if not got.startswith(b"HTTP/1.1 408 "):
        raise Fail("want a 408 answer, got %r" % got)
    if t < a.min or t > a.max:
        raise Fail("answered after %.2fs, want %.1f..%.1fs" %
                   (t, a.min, a.max))


# --- authentication --------------------------------------------------------

@scenario("auth")
def sc_auth(a):
    """Handshake with a --token KIND, --via query or bearer; --expect."""
    key = read_secret(a.secret_file)
    tok, user = token_of(a.token, key)
    path, add = "/ws", []
    if tok is not None:
        if a.via == "bearer":
            add.append("Authorization: Bearer " + tok)
        elif a.via == "bearer-twice":   # the good one first
            add.append("Authorization: Bearer " + tok)
            add.append("Authorization: Bearer not.a.token")
        else:
            path = "/ws?token=" + tok
    c = Conn(a.port)
    req, key_ = upgrade_request("127.0.0.1:%d" % a.port, path=path,
                                add_headers=add)
    c.send(req)
    resp = c.read_response(want_eof=(a.expect != 101))
    log("token", a.token, tok, "->", resp)
    if a.expect == 101:
        if resp.status != 101:
            raise Fail("want 101, got %r" % resp)
        m = c.recv_json()
        if m.get("type") != "welcome" or m.get("userId") != user:
            raise Fail("want a welcome for %r, got %r" % (user, m))
        if a.publish:
            # A publish of ours comes back with our user id as from.
            c.send_text({"type": "subscribe", "channel": "from",
                         "id": 1})
            c.expect_json(lambda f: f.get("type") == "subscribed",
                          "subscribed")
            c.send_text({"type": "publish", "channel": "from",
                         "data": 1, "id": 2})
            for _ in range(3):      # "published" may come first
                m = c.recv_json()
                if m.get("type") == "message":
                    break
            if m.get("type") != "message" or m.get("from") != user:
                raise Fail("message from %r, want %r" % (m.get("from"),
                                                          user))
        return
    check_plain(resp, a.expect, a.expect_body)
    if a.expect == 401:
        check_headers(resp, ["WWW-Authenticate: Bearer*"])
    check_headers(resp, a.expect_header)


# --- frames: protocol errors -----------------------------------------------

def _frames_then_close(a, code, sends, what):
    """Open a connection, send each frame in SENDS (kwargs of send_frame),
    and expect a close with CODE."""
    c = ws_open(a.port)
    for kw in sends:
        if not c.send_frame(**kw):
            break
    f = c.expect_close(code)
    log("%s: got %r" % (what, f))


FRAME_CASES = {
    # name: (expected close code, [frames])
    "unmasked": (1002, [dict(opcode=OP_TEXT, payload=b'{"type":"x"}',
                             mask=False)]),
    "rsv1": (1002, [dict(opcode=OP_TEXT, payload=b'{"type":"x"}', rsv=4)]),
    "rsv2": (1002, [dict(opcode=OP_TEXT, payload=b'{"type":"x"}', rsv=2)]),
    "rsv3": (1002, [dict(opcode=OP_TEXT, payload=b'{"type":"x"}', rsv=1)]),
    "rsv-ping": (1002, [dict(opcode=OP_PING, payload=b"p", rsv=4)]),
    "opcode3": (1002, [dict(opcode=3, payload=b"x")]),
    "opcode7": (1002, [dict(opcode=7, payload=b"x")]),
    "opcodeB": (1002, [dict(opcode=0xB, payload=b"x")]),
    "opcodeF": (1002, [dict(opcode=0xF, payload=b"x")]),
    "ping-fragmented": (1002, [dict(opcode=OP_PING, payload=b"p",
                                    fin=False)]),
    "ping-126": (1002, [dict(opcode=OP_PING, payload=b"p" * 126)]),
    "close-126": (1002, [dict(opcode=OP_CLOSE,
                              payload=close_payload(1000, b"r" * 124))]),
    "len16-nonminimal": (1002, [dict(opcode=OP_TEXT,
                                     payload=b'{"type":"x"}',
                                     length_form=16)]),
    "len64-nonminimal": (1002, [dict(opcode=OP_TEXT,
                                     payload=b'{"type":"%s"}' % (b"x" * 200),
                                     length_form=64)]),
    "len64-msb": (1002, [dict(opcode=OP_TEXT, payload=b"",
                              length_override=1 << 63, length_form=64)]),
    "cont-without-start": (1002, [dict(opcode=OP_CONT,
                                       payload=b'{"type":"x"}')]),
    "text-during-fragments": (1002, [
        dict(opcode=OP_TEXT, payload=b'{"type":', fin=False),
        dict(opcode=OP_TEXT, payload=b'{"type":"x"}')]),
    "binary-during-fragments": (1002, [
        dict(opcode=OP_TEXT, payload=b'{"type":', fin=False),
        dict(opcode=OP_BINARY, payload=b"x")]),
    "close-1byte": (1002, [dict(opcode=OP_CLOSE, payload=b"\x03")]),
    "binary": (1003, [dict(opcode=OP_BINARY, payload=b'{"type":"x"}')]),
    "binary-fragmented": (1003, [
        dict(opcode=OP_BINARY, payload=b"ab", fin=False),
        dict(opcode=OP_CONT, payload=b"cd")]),
    "close-reason-utf8": (1007, [dict(opcode=OP_CLOSE,
                                      payload=close_payload(1000,
                                                            b"bye\xff"))]),
    "utf8-single": (1007, [dict(opcode=OP_TEXT,
                                payload=b'{"type":"\xc3\x28"}')]),
    "utf8-overlong": (1007, [dict(opcode=OP_TEXT,
                                  payload=b'{"type":"\xc0\xaf"}')]),
    "utf8-surrogate": (1007, [dict(opcode=OP_TEXT,
                                   payload=b'{"type":"\xed\xa0\x80"}')]),
    "utf8-beyond": (1007, [dict(opcode=OP_TEXT,
                                payload=b'{"type":"\xf4\x90\x80\x80"}')]),
    "utf8-split": (1007, [
        dict(opcode=OP_TEXT, payload=b'{"type":"\xe2\x82', fin=False),
        dict(opcode=OP_CONT, payload=b'A"}')]),
    "utf8-truncated-at-end": (1007, [
        dict(opcode=OP_TEXT, payload=b'{"type":"x"}\xe2\x82', fin=False),
        dict(opcode=OP_CONT, payload=b"")]),
    # Only the first fragment is ever sent: the server must not wait for
    # the end of the message to see the bad byte.
    "utf8-failfast": (1007, [dict(opcode=OP_TEXT,
                                  payload=b'{"type":"\xff', fin=False)]),
    "utf8-failfast-cont": (1007, [
        dict(opcode=OP_TEXT, payload=b'{"type":"', fin=False),
        dict(opcode=OP_CONT, payload=b"ab\xc3\x28", fin=False)]),
}


@scenario("frame")
def sc_frame(a):
    """--case NAME from FRAME_CASES: send those frames, expect the close."""
    if a.case not in FRAME_CASES:
        raise SystemExit("unknown frame case %r (have: %s)" %
                         (a.case, " ".join(sorted(FRAME_CASES))))
    code, sends = FRAME_CASES[a.case]
    _frames_then_close(a, code, sends, a.case)


@scenario("close-code")
def sc_close_code(a):
    """Send a close with --code (and --reason); expect close --expect (the
    same code: an echo; 1002: refused code)."""
    c = ws_open(a.port)
    c.send_close(a.code, (a.reason or "").encode())
    f = c.expect_close(a.expect)
    log("close %d -> %r" % (a.code, f))


@scenario("close-empty")
def sc_close_empty(a):
    """An empty close is answered with an empty close (or 1000)."""
    c = ws_open(a.port)
    c.send_close(None)
    deadline = time.monotonic() + 5
    while True:
        f = c.recv_frame(max(0.0, deadline - time.monotonic()))
        if f.opcode == OP_CLOSE:
            break
    if f.close_code() not in (None, 1000):
        raise Fail("empty close answered with %r" % f)
    if c.wait_eof(3):
        raise Fail("bytes after the close")
    log("got", f)


@scenario("close-client-reason")
def sc_close_reason(a):
    """A close with code 1000 and a valid UTF-8 reason is echoed 1000."""
    c = ws_open(a.port)
    c.send_close(1000, "au revoir \u00e9\u20ac".encode())
    log("got", c.expect_close(1000))


# --- frames: messages that must work -----------------------------------------

@scenario("utf8-split-valid")
def sc_utf8_split_valid(a):
    """Multibyte characters split across fragments are fine: the publish
    is processed and the data arrives whole."""
    c = ws_open(a.port, user="u8")
    subscribe(c, "u8chan")
    text = "\u20ac-\U0001F600-\u00e9"
    body = json.dumps({"type": "publish", "id": 7, "channel": "u8chan",
                       "data": text}, ensure_ascii=False).encode()
    # Split inside the euro sign, the emoji, and the e-acute.
    cuts = [body.index("\u20ac".encode()) + 1,
            body.index("\U0001F600".encode()) + 1,
            body.index("\U0001F600".encode()) + 3,
            body.index("\u00e9".encode()) + 1]
    parts, prev = [], 0
    for cut in cuts:
        parts.append(body[prev:cut])
        prev = cut
    parts.append(body[prev:])
    for i, p in enumerate(parts):
        c.send_frame(OP_TEXT if i == 0 else OP_CONT, p,
                     fin=(i == len(parts) - 1))
    got = {}
    while len(got) < 2:
        m = wait_json(c, lambda m: m.get("type") in ("message", "published"),
                      "the message and the published reply")
        got[m["type"]] = m
    if got["message"].get("data") != text:
        raise Fail("data %r, want %r" % (got["message"].get("data"), text))
    if got["published"].get("id") != 7:
        raise Fail("published reply %r" % got["published"])
    log("ok:", got)


@scenario("fragmented-ok")
def sc_fragmented_ok(a):
    """A message in three fragments with a ping in between is processed."""
    c = ws_open(a.port)
    c.send_frame(OP_TEXT, b'{"type":"subs', fin=False)
    c.send_frame(OP_PING, b"mid")
    c.send_frame(OP_CONT, b'cribe","id":"f",', fin=False)
    c.send_frame(OP_CONT, b'"channel":"frag"}')
    seen_pong = False
    deadline = time.monotonic() + 5
    while True:
        f = c.recv_frame(max(0.0, deadline - time.monotonic()))
        if f.opcode == OP_PONG and f.payload == b"mid":
            seen_pong = True
        elif f.opcode == OP_TEXT:
            m = f.json()
            if m.get("type") == "subscribed" and m.get("id") == "f":
                break
            raise Fail("unexpected %r" % m)
        elif f.opcode == OP_CLOSE:
            raise Fail("closed: %r" % f)
    if not seen_pong:
        raise Fail("no pong for the ping between fragments before the reply")
    log("ok")


@scenario("max-message-ok")
def sc_max_ok(a):
    """A text message of exactly --max-message bytes is processed (one
    frame, then again in two fragments)."""
    c = ws_open(a.port)
    for frag in (False, True):
        base = {"type": "nosuchtype", "id": "big%d" % frag, "pad": ""}
        n = a.max_message - len(json.dumps(base, separators=(",", ":")))
        base["pad"] = "p" * n
        body = json.dumps(base, separators=(",", ":")).encode()
        assert len(body) == a.max_message
        if frag:
            c.send_frame(OP_TEXT, body[:500], fin=False)
            c.send_frame(OP_CONT, body[500:])
        else:
            c.send_frame(OP_TEXT, body)
        m = wait_json(c, lambda m: m.get("type") == "error", "an error")
        if m.get("code") != "unknown_type" or m.get("id") != base["id"]:
            raise Fail("want unknown_type for %r, got %r" % (base["id"], m))
    log("ok")


@scenario("too-big")
def sc_too_big(a):
    """--case frame: one frame of max+1; fragments: a message over max in
    small fragments; declared: a header announcing 2^40 bytes."""
    c = ws_open(a.port)
    n = a.max_message
    if a.case == "frame":
        c.send_frame(OP_TEXT, b"x" * (n + 1))
    elif a.case == "fragments":
        part = n // 3 + 1
        c.send_frame(OP_TEXT, b'"' + b"x" * (part - 1), fin=False)
        for _ in range(2):
            if not c.send_frame(OP_CONT, b"x" * part, fin=False):
                break
        c.send_frame(OP_CONT, b"x" * part)
    elif a.case == "declared":
        # The header announces 2^40 bytes; 16 of them follow.
        c.send_frame(OP_TEXT, b"x" * 16, length_override=1 << 40,
                     length_form=64)
    elif a.case == "declared-header-only":
        c.send_frame(OP_TEXT, b"", length_override=1 << 40, length_form=64)
    else:
        raise SystemExit("unknown case")
    log("got", c.expect_close(1009))


# --- how the bytes arrive ------------------------------------------------------

@scenario("pipelined-frame")
def sc_pipelined_frame(a):
    """The upgrade request and a first frame in one segment: the frame is
    not lost."""
    from wsraw import build_frame
    c = Conn(a.port)
    req, key = upgrade_request(c.hostport(), path="/ws?user=pipe")
    frame = build_frame(OP_TEXT, json.dumps({"type": "subscribe", "id": "p",
                                             "channel": "pipe"}))
    c.send(req + frame)
    resp = c.read_response(want_eof=False)
    if resp.status != 101:
        raise Fail("want 101, got %r" % resp)
    m = c.recv_json()
    if m.get("type") != "welcome":
        raise Fail("first frame %r" % m)
    m = c.recv_json()
    if m.get("type") != "subscribed" or m.get("id") != "p":
        raise Fail("want the subscribed reply, got %r" % m)


@scenario("trickle-head")
def sc_trickle_head(a):
    """A valid head sent one byte per segment (well within the head
    timeout) is parsed: CRLFs split across reads are found."""
    for path, want in (("/healthz", 200), ("/ws?user=trickle", 101)):
        c = Conn(a.port)
        if want == 200:
            req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            key = None
        else:
            req, key = upgrade_request(c.hostport(), path=path)
        for i in range(len(req)):
            c.send(req[i:i + 1])
            time.sleep(0.001)
        resp = c.read_response(want_eof=(want != 101))
        if resp.status != want:
            raise Fail("%s byte by byte: want %d, got %r" % (path, want,
                                                             resp))
        if want == 101 and c.recv_json().get("type") != "welcome":
            raise Fail("no welcome")


@scenario("trickle-frame")
def sc_trickle_frame(a):
    """A frame sent one byte per segment is processed."""
    from wsraw import build_frame
    c = ws_open(a.port, user="tf")
    frame = build_frame(OP_TEXT, json.dumps({"type": "subscribe", "id": "t",
                                             "channel": "tf" * 100}))
    for i in range(len(frame)):
        c.send(frame[i:i + 1])
        time.sleep(0.001)
    m = c.recv_json()
    if m.get("type") != "subscribed" or m.get("id") != "t":
        raise Fail("want the subscribed reply, got %r" % m)


@scenario("many-frames")
def sc_many_frames(a):
    """200 requests in one segment get 200 replies, one per id.  (They
    need not come in order: a subscribe is answered once Redis confirmed
    it, and PROTOCOL.md promises no order between replies.)"""
    from wsraw import build_frame
    c = ws_open(a.port, user="mf")
    buf = b"".join(build_frame(OP_TEXT, json.dumps(
        {"type": "subscribe", "id": i, "channel": "mf%d" % (i % 5)}))
        for i in range(200))
    c.send(buf)
    seen = []
    for i in range(200):
        m = c.recv_json()
        if m.get("type") != "subscribed" or m.get("id") not in range(200) \
                or m["id"] in seen or m.get("channel") != "mf%d" % (
                    m["id"] % 5):
            raise Fail("reply %d: %r (ids so far %r)" % (i, m, seen))
        seen.append(m["id"])
    if seen != list(range(200)):
        log("replies not in request order:", seen[:20], "...")


@scenario("empty-text")
def sc_empty_text(a):
    """An empty text message is a bad_request; the connection stays."""
    c = ws_open(a.port, user="empty")
    c.send_frame(OP_TEXT, b"")
    m = c.recv_json()
    if m.get("type") != "error" or m.get("code") != "bad_request":
        raise Fail("want bad_request, got %r" % m)
    subscribe(c, "still-here")


@scenario("deep-json")
def sc_deep_json(a):
    """Deeply nested JSON (within max-message) gets an error or a reply,
    never a crash, and the connection stays usable."""
    c = ws_open(a.port, user="deep")
    subscribe(c, "deep")
    depth = 30000
    body = ('{"type":"publish","id":"d","channel":"deep","data":' +
            "[" * depth + "]" * depth + "}").encode()
    c.send_frame(OP_TEXT, body)
    m = wait_json(c, lambda m: m.get("id") == "d" or
                  m.get("type") == "error", "a reply to the deep publish")
    log("deep publish ->", str(m)[:200])
    subscribe(c, "deep", rid="after")


@scenario("abrupt-leave")
def sc_abrupt_leave(a):
    """A presence member whose TCP connection just drops (no close frame,
    even an RST) leaves: the others get presence.leave."""
    watcher = ws_open(a.port, user="watcher")
    subscribe(watcher, "ab", presence=True)
    for user, rst in (("fin", False), ("rst", True)):
        x = ws_open(a.port, user=user)
        subscribe(x, "ab", presence=True)
        wait_json(watcher, lambda m: m.get("type") == "presence.join" and
                  m.get("userId") == user, "join of %s" % user)
        if rst:
            x.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
        x.close()
        wait_json(watcher, lambda m: m.get("type") == "presence.leave" and
                  m.get("userId") == user, "leave of %s" % user, timeout=8)


@scenario("many-conns")
def sc_many_conns(a):
    """--count connections open at once all get their welcome, and a
    message published to all of them arrives everywhere."""
    cs = []
    try:
        for i in range(a.count):
            c = ws_open(a.port, user="m%d" % i)
            cs.append(c)
            subscribe(c, "all")
        do(cs[0], {"type": "publish", "id": "x", "channel": "all",
                   "data": "hi"}, "published")
        for c in cs[1:]:
            wait_json(c, lambda m: m.get("type") == "message" and
                      m.get("data") == "hi", "the message")
    finally:
        for c in cs:
            c.close()


# --- ping / pong ---------------------------------------------------------------

@scenario("ping-echo")
def sc_ping_echo(a):
    """Pings (empty, short, 125 bytes) are answered with the same payload;
    an unsolicited pong is ignored."""
    c = ws_open(a.port)
    for payload in (b"", b"hello", bytes(range(125))):
        c.send_frame(OP_PING, payload)
        deadline = time.monotonic() + 5
        while True:
            f = c.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_PONG:
                break
            if f.opcode == OP_CLOSE:
                raise Fail("closed: %r" % f)
        if f.payload != payload:
            raise Fail("pong payload %r, want %r" % (f.payload, payload))
    c.send_frame(OP_PONG, b"unsolicited")
    subscribe(c, "after-pong", rid="ap")
    log("ok")


@scenario("server-ping")
def sc_server_ping(a):
    """With --ping-interval 1, a silent client gets a ping within 3 s."""
    c = ws_open(a.port)
    t0 = time.monotonic()
    deadline = t0 + 3
    while True:
        try:
            f = c.recv_frame(max(0.0, deadline - time.monotonic()))
        except Timeout:
            raise Fail("no ping within 3 s")
        if f.opcode == OP_PING:
            break
        if f.opcode == OP_CLOSE:
            raise Fail("closed instead: %r" % f)
    log("ping after %.2fs: %r" % (time.monotonic() - t0, f))
    if time.monotonic() - t0 < 0.5:
        raise Fail("ping came too soon for --ping-interval 1")


@scenario("late-pong")
def sc_late_pong(a):
    """Write "ready" to --log once welcomed, then answer --count pings,
    each 0.3 s after it came (well within --pong-timeout, counted from
    the ping's arrival); fail if closed meanwhile."""
    c = ws_open(a.port)
    with open(a.log, "w") as f:
        f.write("ready\n")
    t0 = time.monotonic()
    deadline = t0 + a.max
    for i in range(a.count):
        while True:
            try:
                f = c.recv_frame(max(0.0, deadline - time.monotonic()))
            except (Timeout, Eof) as e:
                raise Fail("waiting for ping %d: %s" % (i + 1, e))
            if f.opcode == OP_CLOSE:
                raise Fail("closed %s (%s) %.2fs in, %d pings answered"
                           % (f.close_code(), f.close_reason(),
                              time.monotonic() - t0, i))
            if f.opcode == OP_PING:
                break
        log("ping %d after %.2fs" % (i + 1, time.monotonic() - t0))
        time.sleep(0.3)
        c.send_frame(OP_PONG, f.payload)
    log("answered %d pings" % a.count)


@scenario("ping-timeout")
def sc_ping_timeout(a):
    """A client that never answers (not even pongs) is closed with 1008
    between --min and --max seconds after the upgrade."""
    c = ws_open(a.port)
    t0 = time.monotonic()
    deadline = t0 + a.max + 1
    pings = 0
    while True:
        try:
            f = c.recv_frame(max(0.0, deadline - time.monotonic()))
        except Timeout:
            raise Fail("not closed within %.1fs (%d pings)" % (a.max + 1,
                                                              pings))
        if f.opcode == OP_PING:
            pings += 1
            continue
        break
    t = time.monotonic() - t0
    log("after %.2fs and %d pings: %r" % (t, pings, f))
    if f.opcode != OP_CLOSE or f.close_code() != 1008:
        raise Fail("want close 1008, got %r" % f)
    if f.close_reason() != b"ping timeout":
        raise Fail("close reason %r, want 'ping timeout'" % f.close_reason())
    if t < a.min or t > a.max:
        raise Fail("closed after %.2fs, want %.1f..%.1fs" % (t, a.min, a.max))
    if c.wait_eof(3):
        raise Fail("bytes after the close")


@scenario("ping-stalled")
def sc_ping_stalled(a):
    """The client answers a ping while gw-listen (--pid) is stopped for
    longer than its pong timeout (--max seconds): once continued, the
    server reads the pong before it judges the deadline, so the
    connection stays open and answers a subscribe."""
    c = ws_open(a.port)
    deadline = time.monotonic() + 5
    while True:
        f = c.recv_frame(max(0.0, deadline - time.monotonic()))
        if f.opcode == OP_PING:
            break
        if f.opcode == OP_CLOSE:
            raise Fail("closed before the ping: %r" % f)
    os.kill(a.pid, signal.SIGSTOP)
    try:
        c.send_frame(OP_PONG, f.payload)
        # Not a race: the server is stopped, so its pong deadline
        # certainly passes before it runs again.
        time.sleep(a.max + 0.5)
    finally:
        os.kill(a.pid, signal.SIGCONT)
    subscribe(c, "after-stall", rid="as")
    log("open after a %.1fs stall, subscribe answered" % (a.max + 0.5))


# --- slow consumers and isolation ------------------------------------------------

@scenario("slow-consumer")
def sc_slow_consumer(a):
    """A subscriber that stops reading while --count messages of --size
    bytes are published must end with close 1013 after some messages."""
    slow = ws_open(a.port, user="slow", rcvbuf=4096)
    subscribe(slow, "flood")
    pub = ws_open(a.port, user="pub")
    subscribe(pub, "flood")
    data = "x" * a.size
    t0 = time.monotonic()
    # One publish at a time: a burst of them could overflow the
    # publisher's own queue.  We read our own echo and the reply, so
    # that we are not slow too.
    for i in range(a.count):
        pub.send_text({"type": "publish", "id": i, "channel": "flood",
                       "data": data})
        got = set()
        while len(got) < 2:
            m = pub.recv_json(10)
            if m.get("type") == "published" and m.get("id") == i:
                got.add("p")
            elif m.get("type") == "message" and m.get("offset"):
                got.add("m")
            elif m.get("type") == "error":
                raise Fail("publish %d: %r" % (i, m))
    log("published %d x %d bytes in %.2fs" % (a.count, a.size,
                                               time.monotonic() - t0))
    msgs = 0
    deadline = time.monotonic() + 10
    while True:
        try:
            f = slow.recv_frame(max(0.0, deadline - time.monotonic()))
        except Timeout:
            raise Fail("no close after %d messages" % msgs)
        except Eof:
            raise Fail("TCP closed after %d messages without a close frame"
                       % msgs)
        if f.opcode == OP_TEXT:
            m = f.json()
            if m.get("type") != "message":
                raise Fail("unexpected %r" % m)
            msgs += 1
            continue
        if f.opcode == OP_PING:
            continue
        break
    log("slow consumer: %d messages, then %r" % (msgs, f))
    if f.opcode != OP_CLOSE or f.close_code() != 1013:
        raise Fail("want close 1013, got %r" % f)
    if msgs == 0:
        raise Fail("close 1013 before any message")
    if msgs >= a.count:
        raise Fail("every message was delivered: no slow consumer?")
    # The publisher was not harmed.
    subscribe(pub, "flood", rid="again")


@scenario("isolation")
def sc_isolation(a):
    """While one client trickles its head and another stalls in the middle
    of a frame, a good client gets every reply within --max seconds."""
    stop = threading.Event()
    errs = []

    def trickle():
        try:
            c = Conn(a.port)
            data = b"GET /ws HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
            for i in range(len(data)):
                if stop.wait(0.3) or not c.send(data[i:i + 1]):
                    break
            c.close()
        except Exception as e:  # noqa: BLE001
            errs.append(e)
    th = threading.Thread(target=trickle)
    th.start()
    try:
        stalled = ws_open(a.port, user="stalled")
        # Half a frame header, then nothing.
        stalled.send(b"\x81\xfe\x01")
        half = ws_open(a.port, user="half")
        half.send(b"\x81\x8a\x01\x02\x03\x04ab")  # 2 of 10 payload bytes
        worst = 0.0
        for i in range(6):
            t = time.monotonic()
            g = ws_open(a.port, user="good%d" % i, timeout=a.max)
            subscribe(g, "iso", rid=i)
            do(g, {"type": "publish", "id": "p%d" % i, "channel": "iso",
                   "data": i}, "published", timeout=a.max)
            d = time.monotonic() - t
            worst = max(worst, d)
            if d > a.max:
                raise Fail("good client %d took %.2fs" % (i, d))
            g.close()
            time.sleep(0.3)  # spread the good clients over the trickle
        log("worst good-client round trip: %.3fs" % worst)
    finally:
        stop.set()
        th.join(5)
    if errs:
        raise Fail("trickling client: %r" % errs)


# --- process-level ------------------------------------------------------------

@scenario("shutdown")
def sc_shutdown(a):
    """Send --signal to --pid: open WebSockets get close 1001 and the port
    stops accepting.  SIGTERM drains (gw-listen started with --drain-time
    2): /healthz and upgrades answer 503 at once, and the closes, reason
    "draining", are spread over the drain time; SIGINT closes everything
    at once, reason "node shutting down"."""
    drain = a.signal == "SIGTERM"
    cs = [ws_open(a.port, user="u%d" % i) for i in range(3)]
    os.kill(a.pid, getattr(signal, a.signal))
    t0 = time.monotonic()
    if drain:
        c = Conn(a.port, timeout=2)
        resp = c.request(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3)
        if resp.status != 503 or b"draining" not in resp.body:
            raise Fail("/healthz while draining: %r, want 503 draining" %
                       resp)
        Conn(a.port, timeout=2).handshake("/ws?user=late", expect=503)
    want_reason = b"draining" if drain else b"node shutting down"
    when = []
    for c in cs:
        # With --no-reply the clients stay silent after the close frame:
        # the server must not wait for them for long.
        f = c.expect_close(1001, timeout=5, reply=not a.no_reply,
                           eof_timeout=5)
        when.append(time.monotonic() - t0)
        if f.close_reason() != want_reason:
            raise Fail("close reason %r, want %r" % (f.close_reason(),
                                                    want_reason))
    log("close 1001 after %s: %r" % (["%.2fs" % w for w in when], f))
    if drain and max(when) - min(when) < 0.5:
        raise Fail("closes not spread over the drain time: %r" % when)
    try:
        c = Conn(a.port, timeout=2)
    except ConnectionRefusedError:
        return
    try:
        resp = c.request(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3)
    except (Eof, Timeout):
        return
    if resp.status == 200:
        raise Fail("/healthz still served after the close 1001s: %r" % resp)


@scenario("quiet-log")
def sc_quiet_log(a):
    """Nothing is logged per message at the default level: --log does not
    grow while one connection publishes and makes mistakes."""
    c = ws_open(a.port, user="quiet")
    subscribe(c, "q")
    size0 = os.path.getsize(a.log)
    for i in range(50):
        do(c, {"type": "publish", "id": i, "channel": "q", "data": i},
           "published")
        c.send_text("not json %d" % i)
        wait_json(c, lambda m: m.get("type") == "error", "an error")
        c.send_frame(OP_PING, b"p")
    do(c, {"type": "subscribe", "id": "end", "channel": "q"}, "subscribed")
    size1 = os.path.getsize(a.log)
    if size1 != size0:
        with open(a.log, "rb") as f:
            f.seek(size0)
            raise Fail("the log grew by %d bytes during 150 messages:\n%s" %
                       (size1 - size0, f.read(2000).decode("latin-1")))


@scenario("reuseport")
def sc_reuseport(a):
    """Connect until welcomes from both --node and --node2 came."""
    seen = {}
    for i in range(80):
        c = ws_open(a.port, user="r%d" % i)
        n = c.welcome.get("node")
        seen[n] = seen.get(n, 0) + 1
        c.close()
        if a.node in seen and a.node2 in seen:
            log("nodes seen after %d connections: %r" % (i + 1, seen))
            return
    raise Fail("after 80 connections only saw nodes %r" % seen)


def _spawn(a, extra):
    """Start --binary with EXTRA; its pid goes to --pidfile for teardown."""
    logf = open(a.log or os.devnull, "wb")
    p = subprocess.Popen([a.binary] + extra, stdin=subprocess.DEVNULL,
                         stdout=logf, stderr=subprocess.STDOUT,
                         pass_fds=a._pass_fds)
    if a.pidfile:
        with open(a.pidfile, "a") as f:
            f.write("%d\n" % p.pid)
    return p


def _stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    return p.returncode


def _healthz(port, timeout=10):
    """GET /healthz until it answers 200 ok (the node's bridge may still
    be connecting); fail after TIMEOUT seconds with the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        c = Conn(port)
        resp = c.request(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        c.close()
        if resp.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check_plain(resp, 200, "ok")


@scenario("ready-fd")
def sc_ready_fd(a):
    """--ready-fd FD gets "\\n" and is closed once the server listens."""
    r, w = os.pipe()
    a._pass_fds = [w]
    p = _spawn(a, ["--auth", "none", "-l", "127.0.0.1:%d" % a.port,
                   "--ready-fd", str(w)])
    os.close(w)
    try:
        import select
        rd, _, _ = select.select([r], [], [], 5)
        if not rd:
            raise Fail("nothing on the ready fd within 5 s")
        got = os.read(r, 16)
        if got != b"\n":
            raise Fail("ready fd got %r, want a newline" % got)
        rd, _, _ = select.select([r], [], [], 2)
        if not rd or os.read(r, 16) != b"":
            raise Fail("ready fd not closed after the newline")
        _healthz(a.port)
        rc = _stop(p)
        if rc != 0:
            raise Fail("exit status %r after SIGTERM" % rc)
    finally:
        _stop(p)
        os.close(r)
    log("ok")


@scenario("port0")
def sc_port0(a):
    """-l 127.0.0.1:0: the log names the port the kernel chose, and the
    server answers there."""
    a._pass_fds = []
    p = _spawn(a, ["--auth", "none", "-l", "127.0.0.1:0"])
    try:
        deadline = time.monotonic() + 5
        port = None
        while time.monotonic() < deadline and port is None:
            with open(a.log, "rb") as f:
                m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                port = int(m.group(1))
            elif p.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if port is None:
            with open(a.log, "rb") as f:
                raise Fail("no 'listening on 127.0.0.1:PORT' in the log: %r"
                           % f.read())
        if port == 0:
            raise Fail("the log says port 0")
        _healthz(port)
        log("port", port)
    finally:
        _stop(p)


@scenario("list")
def sc_list(a):
    for n in sorted(SCENARIOS):
        print(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--no-reply", action="store_true")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--signal", default="SIGTERM")
    ap.add_argument("--secret-file")
    ap.add_argument("--binary")
    ap.add_argument("--log")
    ap.add_argument("--pidfile")
    ap.add_argument("--node")
    ap.add_argument("--node2")
    ap.add_argument("--user")
    ap.add_argument("--user-re")
    ap.add_argument("--request")
    ap.add_argument("--path")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--version", default="HTTP/1.1")
    ap.add_argument("--drop", action="append")
    ap.add_argument("--set", action="append")
    ap.add_argument("--add", action="append")
    ap.add_argument("--body")
    ap.add_argument("--names", choices=["lower", "upper", "mixed"])
    ap.add_argument("--expect", type=int)
    ap.add_argument("--expect-header", action="append")
    ap.add_argument("--expect-body")
    ap.add_argument("--token")
    ap.add_argument("--via", choices=["query", "bearer", "bearer-twice"],
                    default="query")
    ap.add_argument("--publish", action="store_true")
    ap.add_argument("--case")
    ap.add_argument("--code", type=int)
    ap.add_argument("--reason")
    ap.add_argument("--size", type=int)
    ap.add_argument("--count", type=int)
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--min", type=float, default=0.0)
    ap.add_argument("--max", type=float, default=5.0)
    ap.add_argument("--max-message", type=int, default=65536)
    ap.add_argument("--max-subscriptions", type=int, default=128)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--bridge-pid", type=int)
    ap.add_argument("--ping-interval", type=float, default=25)
    a = ap.parse_args()
    if a.scenario.startswith("ws-") or a.scenario == "list":
        # (websockets takes a while to import: only when needed)
        import wsclient
        wsclient.register(SCENARIOS, scenario)
    fn = SCENARIOS.get(a.scenario)
    if fn is None:
        print("unknown scenario %r; try 'list'" % a.scenario, file=sys.stderr)
        return 2
    try:
        fn(a)
    except Fail as e:
        print("FAIL %s: %s" % (a.scenario, e), flush=True)
        return 1
    except (OSError, ValueError, AssertionError) as e:
        print("FAIL %s: %s: %s" % (a.scenario, type(e).__name__, e),
              flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
