"""wsraw -- a raw-socket HTTP and WebSocket client for gw's tests.

Standard library only.  It sends whatever bytes it is told to, so it can
build requests and frames that a real client library would refuse to: bad
heads, unmasked frames, RSV bits, reserved opcodes, non-minimal lengths.
Every read has a deadline; nothing waits forever.

    c = Conn(port)
    resp = c.handshake()               # 101, checks Sec-WebSocket-Accept
    f = c.recv_frame(5)                # the welcome frame
    c.send_frame(OP_TEXT, b'{"type":"x"}')
    c.expect_close(1003)
"""

import base64
import errno
import hashlib
import json
import os
import select
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

DEFAULT_TIMEOUT = 5.0


class Fail(Exception):
    """A check failed; the message says what was expected and what came."""


class Timeout(Fail):
    """Nothing (or not enough) arrived before the deadline."""


class Eof(Fail):
    """The peer closed the TCP connection (FIN or RST)."""


class Frame:
    """One WebSocket frame as received."""

    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.masked = masked
        self.payload = payload

    def close_code(self):
        """The status code of a close frame, or None if it has none."""
        if len(self.payload) >= 2:
            return struct.unpack("!H", self.payload[:2])[0]
        return None

    def close_reason(self):
        return self.payload[2:]

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def __repr__(self):
        p = self.payload
        shown = p if len(p) <= 200 else p[:200] + b"...(%d bytes)" % len(p)
        extra = ""
        if self.opcode == OP_CLOSE:
            extra = " code=%r reason=%r" % (self.close_code(),
                                            self.close_reason())
        return "Frame(fin=%d rsv=%d op=0x%x%s payload=%r)" % (
            self.fin, self.rsv, self.opcode, extra, shown)


class Response:
    """An HTTP response: status, reason, headers (list of pairs), body."""

    def __init__(self, raw_head, status, reason, version, headers, body):
        self.raw_head = raw_head
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.body = body
        self.eof = False        # True once EOF followed the body

    def header(self, name):
        """The value of the first header NAME (any case), or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "Response(%r + body %r, eof=%s)" % (self.raw_head, self.body,
                                                  self.eof)


def make_key():
    """A fresh Sec-WebSocket-Key: base64 of 16 random bytes."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    """The Sec-WebSocket-Accept value the server must send for KEY."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def build_frame(opcode, payload=b"", fin=True, mask=True, rsv=0,
                length_override=None, length_form=None, mask_key=None):
    """Encode one frame, legal or not.

    RSV is the 3-bit value of RSV1..RSV3 (4 = RSV1).  LENGTH_OVERRIDE is
    the payload length written in the header (the payload sent is still
    PAYLOAD).  LENGTH_FORM forces the encoding of the length: 7, 16 or 64
    (default: the minimal one).
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length_override is None else length_override
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    form = length_form
    if form is None:
        form = 7 if n <= 125 else 16 if n <= 0xFFFF else 64
    mbit = 0x80 if mask else 0
    if form == 7:
        head = struct.pack("!BB", b0, mbit | n)
    elif form == 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = mask_key if mask_key is not None else os.urandom(4)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


def upgrade_request(host, path="/ws", key=None, method="GET",
                    version="HTTP/1.1", drop=(), set_headers=(),
                    add_headers=(), body=b""):
    """Build an upgrade request head (bytes).

    DROP lists header names to leave out, SET_HEADERS "Name: value" lines
    replacing the default of that name, ADD_HEADERS lines appended as is.
    """
    if key is None:
        key = make_key()
    hdrs = [("Host", host), ("Upgrade", "websocket"),
            ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
            ("Sec-WebSocket-Version", "13")]
    dropl = {d.lower() for d in drop}
    for line in set_headers:
        name = line.split(":", 1)[0]
        dropl.add(name.lower())
    out = ["%s %s %s" % (method, path, version)]
    for k, v in hdrs:
        if k.lower() not in dropl:
            out.append("%s: %s" % (k, v))
    out.extend(set_headers)
    out.extend(add_headers)
    head = "\r\n".join(out) + "\r\n\r\n"
    return head.encode("latin-1") + body, key


class Conn:
    """One TCP connection to the server under test."""

    def __init__(self, port, host="127.0.0.1", rcvbuf=None, timeout=None):
        self.host = host
        self.port = port
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout or DEFAULT_TIMEOUT)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.eof_kind = None    # "fin" or "rst"
        self.close_sent = False
        self.frames = []        # every frame received, for reports
        self.t_open = time.monotonic()

    def hostport(self):
        """HOST:PORT as a Host header names it."""
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    # --- bytes ---------------------------------------------------------

    def send(self, data):
        """Send DATA; return False if the peer has gone (EPIPE/RST)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self, deadline):
        """Read more bytes into the buffer before DEADLINE.

        Return False on EOF; raise Timeout at the deadline.
        """
        if self.eof:
            return False
        left = max(0.0, deadline - time.monotonic())
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise Timeout("timed out waiting for data")
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof, self.eof_kind = True, "rst"
            return False
        except OSError as e:
            if e.errno == errno.ECONNRESET:
                self.eof, self.eof_kind = True, "rst"
                return False
            raise
        if not data:
            self.eof, self.eof_kind = True, "fin"
            return False
        self.buf += data
        return True

    def recv_exact(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise Eof("EOF after %d of %d bytes (buffered %r)" %
                          (len(self.buf), n, self.buf[:64]))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def wait_eof(self, timeout=DEFAULT_TIMEOUT):
        """Wait for EOF, discarding data; return the bytes discarded."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        rest, self.buf = self.buf, b""
        return rest

    def is_closed(self, timeout=0.0):
        """True if EOF arrives within TIMEOUT (data read meanwhile is kept)."""
        try:
            deadline = time.monotonic() + timeout
            while True:
                if not self._fill(deadline):
                    return True
        except Timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # --- HTTP ----------------------------------------------------------

    def read_response(self, timeout=DEFAULT_TIMEOUT, want_eof=None):
        """Read one HTTP response head and body.

        The body is Content-Length bytes; without Content-Length, and for
        anything but 101, it runs to EOF.  For non-101 answers (or when
        WANT_EOF is true) it then waits for EOF and sets resp.eof.
        """
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Fail("response head longer than 64 KiB: %r" %
                           self.buf[:200])
            if not self._fill(deadline):
                raise Eof("EOF before a complete response head; got %r" %
                          self.buf)
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise Fail("bad status line %r" % lines[0])
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for ln in lines[1:]:
            if ":" not in ln:
                raise Fail("bad response header line %r" % ln)
            k, v = ln.split(":", 1)
            headers.append((k, v.strip(" \t")))
        resp = Response(raw + b"\r\n\r\n", status, reason, version,
                        headers, b"")
        cl = resp.header("Content-Length")
        if status == 101:
            if want_eof is None:
                want_eof = False
        if cl is not None:
            if not cl.isdigit():
                raise Fail("bad Content-Length %r" % cl)
            try:
                resp.body = self.recv_exact(int(cl), deadline -
                                            time.monotonic())
            except Timeout:
                raise Fail("body shorter than Content-Length %s: %r" %
                           (cl, self.buf))
        elif status != 101:
            resp.body = self.wait_eof(max(0.0, deadline - time.monotonic()))
            resp.eof = True
        if want_eof is None:
            want_eof = True
        if want_eof and not resp.eof:
            try:
                extra = self.wait_eof(max(0.5, deadline - time.monotonic()))
            except Timeout:
                raise Fail("connection not closed after the %d response "
                           "(%r)" % (status, resp))
            if extra:
                raise Fail("bytes after the response body: %r" % extra[:200])
            resp.eof = True
        return resp

    def request(self, data, timeout=DEFAULT_TIMEOUT):
        """Send raw request bytes and read the response (and EOF)."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.send(data)
        return self.read_response(timeout)

    def handshake(self, path="/ws", key=None, expect=101,
                  timeout=DEFAULT_TIMEOUT, **kw):
        """Do the upgrade handshake.  With EXPECT=101, check the accept
        header and leave the connection in WebSocket mode."""
        req, key = upgrade_request(self.hostport(),
                                   path=path, key=key, **kw)
        self.send(req)
        resp = self.read_response(timeout, want_eof=(expect != 101))
        if resp.status != expect:
            raise Fail("handshake: expected %d, got %r" % (expect, resp))
        if expect == 101:
            acc = resp.header("Sec-WebSocket-Accept")
            if acc != accept_for(key):
                raise Fail("bad Sec-WebSocket-Accept %r (want %r)" %
                           (acc, accept_for(key)))
            up = (resp.header("Upgrade") or "").lower()
            if up != "websocket":
                raise Fail("101 without Upgrade: websocket: %r" % resp)
            if "upgrade" not in (resp.header("Connection") or "").lower():
                raise Fail("101 without Connection: Upgrade: %r" % resp)
        return resp

    # --- WebSocket -----------------------------------------------------

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0,
                   length_override=None, length_form=None):
        """Send one frame built by build_frame(); False if the peer has gone."""
        return self.send(build_frame(opcode, payload, fin=fin, mask=mask,
                                     rsv=rsv, length_override=length_override,
                                     length_form=length_form))

    def send_text(self, obj):
        """Send OBJ (dict: as JSON; str/bytes: as is) in one text frame."""
        if isinstance(obj, (dict, list)):
            obj = json.dumps(obj)
        return self.send_frame(OP_TEXT, obj)

    def send_close(self, code=None, reason=b""):
        self.close_sent = True
        return self.send_frame(OP_CLOSE, close_payload(code, reason))

    def recv_frame(self, timeout=DEFAULT_TIMEOUT):
        """Read one frame; raise Timeout or Eof."""
        deadline = time.monotonic() + timeout
        left = lambda: max(0.0, deadline - time.monotonic())  # noqa: E731
        b0, b1 = self.recv_exact(2, left())
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.recv_exact(2, left()))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.recv_exact(8, left()))[0]
        masked = bool(b1 & 0x80)
        key = self.recv_exact(4, left()) if masked else None
        if n > 64 * 1024 * 1024:
            raise Fail("server frame of %d bytes" % n)
        payload = self.recv_exact(n, left())
        if masked:
            payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
        f = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload)
        self.frames.append(f)
        return f

    def recv_json(self, timeout=DEFAULT_TIMEOUT, skip_control=True):
        """Read the next text frame and parse it; pings are answered."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_PING and skip_control:
                self.send_frame(OP_PONG, f.payload)
                continue
            if f.opcode == OP_PONG and skip_control:
                continue
            if f.opcode != OP_TEXT or not f.fin:
                raise Fail("expected a text frame, got %r" % f)
            try:
                return f.json()
            except ValueError:
                raise Fail("text frame is not JSON: %r" % f)

    def expect_json(self, pred, what, timeout=DEFAULT_TIMEOUT):
        """Read text frames until one satisfies PRED; fail on the first
        that does not.  Returns the matching object."""
        m = self.recv_json(timeout)
        if not pred(m):
            raise Fail("expected %s, got %r" % (what, m))
        return m

    def expect_close(self, code, timeout=DEFAULT_TIMEOUT, reply=True,
                     eof_timeout=None):
        """Read frames until a close frame; check its code (None: no code)
        and that TCP EOF follows.  Returns the close frame.

        Data frames and pings before the close are skipped.  Unless a
        close was sent already (or REPLY is false), a close with the same
        code is sent back, as a client should.
        """
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except Timeout:
                raise Fail("no close frame within %.1fs; frames seen: %s" %
                           (timeout, _short(seen)))
            except Eof as e:
                raise Fail("TCP closed without a close frame (%s, %s); "
                           "frames seen: %s" % (self.eof_kind, e,
                                                _short(seen)))
            if f.opcode == OP_CLOSE:
                break
            seen.append(f)
        got = f.close_code()
        if got != code:
            raise Fail("expected close %r, got close %r reason %r; frames "
                       "before: %s" % (code, got, f.close_reason(),
                                       _short(seen)))
        if reply and not self.close_sent:
            self.send_close(code if code is not None else None)
        try:
            rest = self.wait_eof(eof_timeout or max(2.0, timeout))
        except Timeout:
            raise Fail("close %r received but TCP was not closed" % code)
        if rest:
            raise Fail("bytes after the close frame: %r" % rest[:100])
        return f


def _short(frames):
    if len(frames) > 6:
        return "%s ... (%d frames)" % (frames[:3], len(frames))
    return repr(frames)
