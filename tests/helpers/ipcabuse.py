"""ipcabuse -- malformed and abusive gw IPC traffic for the live daemons'
Unix sockets (8300-ipc-abuse.bats).  The framing is gw-ipc(7)'s: a header
of four u32 in host byte order (type, len, id, version), then the payload.

  ipcabuse.py battery SOCK KIND [LOG]
                                   every case below on a fresh connection
                                   each, against a daemon of KIND (bridge,
                                   presence, listen, supervise); one line
                                   per case; exit 1 if one got another
                                   answer than gw-ipc(7) and the code give,
                                   or, given the daemon's LOG, if a link
                                   it closed has no log line saying why
  ipcabuse.py slow SOCK KIND       HELLO and a control request one byte at
                                   a time, 5 ms apart; the reply must come
  ipcabuse.py idle SOCK N DIR      open N connections that send nothing,
                                   create DIR/up, wait for DIR/go, close
  ipcabuse.py flood SOCK KIND N    N control requests without reading a
                                   reply; print "closed" if the daemon
                                   ended the link, else "open"
  ipcabuse.py ctl SOCK JSON        one control request; print the reply
  ipcabuse.py live PORT CHANNEL [RUNDIR]
                                   end to end through gw-listen: two users
                                   subscribe with presence, one publishes,
                                   the other gets it, and presence lists
                                   exactly the two; with RUNDIR, meanwhile
                                   peers of its sockets subscribe to and
                                   join CHANNEL<NUL>x (which must close
                                   their links and reach nothing), and
                                   publish on CHANNEL a value too big to
                                   deliver (refused: too_large)

A case ends when the daemon closed the link (EOF or a reset: "closed"),
or answered the probe, a control request sent after the case, so that
the link is known to be alive ("open"); every wait is bounded (TIMEOUT).
"""

import asyncio
import json
import os
import random
import re
import socket
import struct
import sys
import time

TIMEOUT = 10
VERSION = None     # ipc_version(), below
MAXMSG = 8 * 1024 * 1024
PROBE_ID = 0x7ead

NAMES = """NONE HELLO BRIDGE_SUB BRIDGE_UNSUB BRIDGE_NOEVENTS BRIDGE_PUBLISH
BRIDGE_HISTORY
BRIDGE_SUBSCRIBED BRIDGE_PUBLISHED BRIDGE_HISTORY_REPLY BRIDGE_FAIL
BRIDGE_DELIVER BRIDGE_GAP BRIDGE_HEALTH BRIDGE_EVENT PRESENCE_JOIN
PRESENCE_LEAVE PRESENCE_TYPING PRESENCE_QUERY PRESENCE_REPLY PRESENCE_FAIL
SESSION_SAVE SESSION_DROP SESSION_LOAD SESSION_STATE CTL_REQUEST CTL_REPLY
BRIDGE_GATHER BRIDGE_GATHERED MAX""".split()
T = {n: i for i, n in enumerate(NAMES)}


def ipc_version():
    """GW_IPC_VERSION, as lib/ipc.h says: the tests follow its bumps."""
    h = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "lib", "ipc.h")
    with open(h) as f:
        return int(re.search(r"#define GW_IPC_VERSION\s+(\d+)",
                             f.read()).group(1))


VERSION = ipc_version()

SID = "0123456789abcdef0123456789abcdef"
OFF = "9f86d081884c7d65:018bcfe5687a-00000000"

# A well-formed payload of every type, as (kind, value) fields: u32, u64,
# str, and n (a u32 count of the (str, str) pairs that follow).
GOOD = {
    "HELLO": [("u", 4242), ("s", "ipcabuse")],
    "BRIDGE_SUB": [("s", "abuse:b"), ("s", ""), ("u", 0)],
    "BRIDGE_UNSUB": [("s", "abuse:b")],
    "BRIDGE_NOEVENTS": [("s", "abuse:b")],
    "BRIDGE_PUBLISH": [("s", "abuse:b"), ("s", '{"n":1}'), ("s", "abuser"),
                       ("q", 1700000000000)],
    "BRIDGE_HISTORY": [("s", "abuse:b"), ("s", ""), ("u", 10)],
    "BRIDGE_SUBSCRIBED": [("s", "abuse:b"), ("s", OFF), ("u", 0), ("n", 1),
                          ("s", OFF), ("s", "{}")],
    "BRIDGE_PUBLISHED": [("s", OFF)],
    "BRIDGE_HISTORY_REPLY": [("u", 1), ("n", 1), ("s", OFF), ("s", "{}")],
    "BRIDGE_FAIL": [("s", "unavailable"), ("s", "no")],
    "BRIDGE_DELIVER": [("s", "abuse:b"), ("s", OFF), ("s", "{}")],
    "BRIDGE_GAP": [("s", "abuse:b"), ("s", OFF)],
    "BRIDGE_HEALTH": [("u", 1)],
    "BRIDGE_EVENT": [("s", "abuse:b"), ("q", 0), ("s", "{}")],
    "PRESENCE_JOIN": [("s", "abuse:p"), ("s", "abuser"), ("s", "{}"),
                      ("q", 1700000000000), ("q", 7)],
    "PRESENCE_LEAVE": [("s", "abuse:p"), ("s", "abuser"), ("q", 7)],
    "PRESENCE_TYPING": [("s", "abuse:p"), ("s", "abuser"), ("q", 7),
                        ("u", 0)],
    "PRESENCE_QUERY": [("s", "abuse:p"), ("s", "")],
    "PRESENCE_REPLY": [("s", '{"count":0,"users":[]}')],
    "PRESENCE_FAIL": [("s", "unavailable"), ("s", "no")],
    "SESSION_SAVE": [("s", SID), ("s", "abuser"), ("s", '{"c":[]}'),
                     ("u", 0), ("q", 7)],
    "SESSION_DROP": [("s", SID)],
    "SESSION_LOAD": [("s", SID), ("s", "abuser"), ("q", 7)],
    "SESSION_STATE": [("u", 0), ("s", "")],
    "CTL_REQUEST": [("s", '{"cmd":"stats"}')],
    "CTL_REPLY": [("s", '{"ok":true}')],
    "BRIDGE_GATHER": [("s", '{"cmd":"channels"}'), ("u", 0)],
    "BRIDGE_GATHERED": [("u", 0), ("u", 1), ("u", 0)],
}

# What each daemon's socket serves (any other type ends the link), and
# the answer to a well-formed request of each (None: no answer).
SERVES = {
    "bridge": {"HELLO": None, "BRIDGE_SUB": "BRIDGE_SUBSCRIBED",
               "BRIDGE_UNSUB": None, "BRIDGE_NOEVENTS": None,
               "BRIDGE_PUBLISH": "BRIDGE_PUBLISHED",
               "BRIDGE_HISTORY": "BRIDGE_HISTORY_REPLY",
               "BRIDGE_GATHER": "BRIDGE_GATHERED",
               "CTL_REQUEST": "CTL_REPLY:true"},
    "presence": {"HELLO": None, "PRESENCE_JOIN": None,
                 "PRESENCE_LEAVE": None, "PRESENCE_TYPING": None,
                 "PRESENCE_QUERY": "PRESENCE_REPLY", "SESSION_SAVE": None,
                 "SESSION_DROP": None, "SESSION_LOAD": "SESSION_STATE",
                 "CTL_REQUEST": "CTL_REPLY:true"},
    "listen": {"HELLO": None, "CTL_REQUEST": "CTL_REPLY:true"},
    "supervise": {"HELLO": None, "CTL_REQUEST": "CTL_REPLY:true"},
}
STATS = {"bridge": "stats", "presence": "stats", "listen": "stats",
         "supervise": "status"}


def fail(why):
    print("ipcabuse: " + why, file=sys.stderr)
    sys.exit(1)


def sval(v):
    return v if isinstance(v, bytes) else v.encode()


def encode(fields):
    out = b""
    for kind, v in fields:
        if kind in ("u", "n"):
            out += struct.pack("=I", v)
        elif kind == "q":
            out += struct.pack("=Q", v)
        else:
            b = sval(v)
            out += struct.pack("=I", len(b)) + b
    return out


def frame(mtype, payload=b"", mid=0, version=VERSION, mlen=None):
    if mlen is None:
        mlen = 16 + len(payload)
    return struct.pack("=IIII", mtype, mlen, mid, version) + payload


def hello(name="ipcabuse"):
    return frame(T["HELLO"], encode([("u", os.getpid()), ("s", name)]))


def ctl_frame(kind, mid=PROBE_ID, req=None):
    if req is None:
        req = '{"cmd":"%s"}' % STATS[kind]
    return frame(T["CTL_REQUEST"], encode([("s", req)]), mid)


def connect(path):
    """A connection to path.  A full backlog (EAGAIN: the daemon has not
    accepted the connections before it yet) is tried again, for at most
    TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class Reader:
    """The frames a daemon sends on one connection."""

    def __init__(self, s):
        self.s = s
        self.buf = b""
        self.eof = False

    def next(self, deadline):
        """The next frame as (type, id, payload); None at EOF or reset;
        raises socket.timeout past deadline."""
        while True:
            if len(self.buf) >= 16:
                mtype, mlen, mid, _ = struct.unpack("=IIII", self.buf[:16])
                if mlen < 16:
                    fail("the daemon sent a frame of length %d" % mlen)
                if len(self.buf) >= mlen:
                    body = self.buf[16:mlen]
                    self.buf = self.buf[mlen:]
                    return mtype, mid, body
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(1 << 20)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.eof = True
                return None
            self.buf += chunk


def wait_for(r, pred, what, timeout=20):
    """Frames of Reader r until pred(frame) is true; fail at EOF or after
    timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            f = r.next(deadline)
        except socket.timeout:
            fail("no %s within %d s" % (what, timeout))
        if f is None:
            fail("gw-bridge closed the link, waiting for %s" % what)
        if pred(f):
            return f


def describe(mtype, body):
    """A reply as the battery compares it: CTL_REPLY:true, BRIDGE_FAIL:code,
    or the type's name."""
    name = NAMES[mtype] if mtype < len(NAMES) else "UNKNOWN(%d)" % mtype
    if name == "CTL_REPLY" and len(body) >= 4:
        n = struct.unpack("=I", body[:4])[0]
        try:
            ok = json.loads(body[4:4 + n]).get("ok")
        except ValueError:
            ok = "badjson"
        return "%s:%s" % (name, json.dumps(ok))
    if name == "BRIDGE_FAIL" and len(body) >= 4:
        n = struct.unpack("=I", body[:4])[0]
        return "%s:%s" % (name, body[4:4 + n].decode(errors="replace"))
    return name


def run_case(path, kind, data, probe=True, shut=False, want_id=None,
             want=None):
    """Send data on a fresh connection, then the probe (or shut down our
    side); return "closed" or "open", with the answer to request want_id
    (its description) if one came: "open CTL_REPLY:false"; "refused" if
    nobody listens (the daemon died)."""
    try:
        s = connect(path)
    except OSError as e:
        return "refused (%s)" % e.strerror
    try:
        try:
            s.sendall(data)
            if probe:
                s.sendall(ctl_frame(kind))
            if shut:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass	# closed before we were done: read what came
        r = Reader(s)
        deadline = time.monotonic() + TIMEOUT
        answer = None
        probed = False
        try:
            while True:
                f = r.next(deadline)
                if f is None:
                    break
                mtype, mid, body = f
                if mid == PROBE_ID and mtype == T["CTL_REPLY"]:
                    probed = True
                elif want_id is not None and mid == want_id and \
                        mtype != T["BRIDGE_HEALTH"]:
                    answer = describe(mtype, body)
                if probed and (not want or answer is not None):
                    break
        except socket.timeout:
            return "stuck" + (" " + answer if answer else "")
        state = "closed" if r.eof and not probed else "open"
        return state + (" " + answer if answer else "")
    finally:
        s.close()


def mutations(name):
    """Malformed payloads of a type: (label, bytes)."""
    fields = GOOD[name]
    good = encode(fields)
    out = [("empty", b""), ("short", good[:-1]), ("long", good + b"\0")]
    # A string whose length runs past the end, by one byte or by 4 GiB.
    off = 0
    for kind, v in fields:
        if kind == "s":
            rest = len(good) - off - 4
            for label, n in (("strpast", rest + 1), ("str4g", 0xffffffff)):
                out.append((label, good[:off] + struct.pack("=I", n) +
                            good[off + 4:]))
            break
        off += {"u": 4, "n": 4, "q": 8}[kind]
    # A count of pairs that overflows what follows.
    off = 0
    for kind, v in fields:
        if kind == "n":
            out.append(("count", good[:off] + struct.pack("=I", 0xffffffff)
                        + good[off + 4:]))
            out.append(("count0", good[:off] + struct.pack("=I", 0) +
                        good[off + 4:]))
            break
        off += 4 + len(sval(v)) if kind == "s" else \
            {"u": 4, "n": 4, "q": 8}[kind]
    return out


def battery_cases(kind):
    """Every case for a daemon of kind: (label, kwargs of run_case,
    wanted result)."""
    serves = SERVES[kind]
    rng = random.Random(8300)
    cases = []

    def add(label, data, result, why=None, **kw):
        # why: what the log line of a closed link says (a regex).
        if why is None and result == "closed":
            why = "bad message"
        cases.append((label, dict(data=data, **kw), result, why))

    # Framing: each ends the link as soon as the header is in.
    add("garbage", bytes(rng.getrandbits(8) for _ in range(4096)), "closed")
    add("garbage-ascii", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4, "closed")
    add("version-0", frame(T["HELLO"], version=0), "closed")
    add("version-next", frame(T["HELLO"], version=VERSION + 1), "closed")
    add("version-swapped", frame(T["HELLO"], version=VERSION << 24),
        "closed")
    add("magic-http", b"HTTP" + frame(T["HELLO"])[4:], "closed")
    add("type-0", frame(0), "closed")
    add("type-max", frame(T["MAX"]), "closed")
    add("type-max+1", frame(T["MAX"] + 1), "closed")
    add("type-2^31", frame(0x80000000), "closed")
    add("type-2^32-1", frame(0xffffffff), "closed")
    add("len-0", frame(T["HELLO"], mlen=0), "closed")
    add("len-15", frame(T["HELLO"], mlen=15), "closed")
    add("len-max+1", frame(T["HELLO"], mlen=MAXMSG + 1), "closed")
    add("len-2^32-1", frame(T["HELLO"], mlen=0xffffffff), "closed")
    add("len-max+1-after-hello", hello() + frame(T["CTL_REQUEST"],
        mlen=MAXMSG + 1), "closed")
    add("type-max-after-hello", hello() + frame(T["MAX"], b"x" * 8, 5),
        "closed")
    add("type-2^32-1-after-hello", hello() + frame(0xffffffff, mid=5),
        "closed")
    # Cut short, then EOF: the daemon sees the end of a partial message.
    cut = "in the middle of a message"
    add("header-cut-eof", frame(T["HELLO"])[:10], "closed", cut,
        probe=False, shut=True)
    add("frame-cut-eof", frame(T["CTL_REQUEST"], mlen=100) + b"x" * 50,
        "closed", cut, probe=False, shut=True)
    add("max-frame-cut-eof", hello() + frame(T["CTL_REQUEST"],
        mlen=MAXMSG) + b"x" * 65536, "closed", cut, probe=False, shut=True)

    # Order: a request before any HELLO, two HELLOs, odd names.
    add("before-hello", ctl_frame(kind, 9), "open CTL_REPLY:true",
        want_id=9, want=True)
    add("two-hellos", hello("first") + hello("second"), "open")
    # A name is logged: a newline in it must not forge a log line.
    for label, name in (("nul", b"ev\x00il"), ("utf8", b"ev\xff\xfeil"),
                        ("newline", b"evil\nFORGED-LINE: info: forged"),
                        ("cr-esc", b"evil\r\x1b[2JFORGED-ESC")):
        add("hello-name-" + label, frame(T["HELLO"],
            encode([("u", 1), ("s", name)])), "open")
    add("hello-empty-name", frame(T["HELLO"], encode([("u", 0), ("s", "")])),
        "open")
    add("hello-long-name", frame(T["HELLO"], encode([("u", 0),
        ("s", "n" * 100000)])), "open")

    # Every type id after a HELLO: well-formed, then malformed.
    for name in NAMES[1:-1]:
        t = T[name]
        good = encode(GOOD[name])
        if name == "CTL_REQUEST":
            good = encode([("s", '{"cmd":"%s"}' % STATS[kind])])
        why = r"GW_MSG_%s \(len" % name
        if name in serves:
            ans = serves[name]
            add("%s-good" % name, hello() + frame(t, good, 5),
                "open" + (" " + ans if ans else ""), want_id=5,
                want=ans is not None)
        else:
            add("%s-good" % name, hello() + frame(t, good, 5), "closed", why)
        for label, payload in mutations(name):
            if name == "CTL_REQUEST" and kind != "supervise":
                # Bad input from gwctl is answered, never fatal.
                add("%s-%s" % (name, label), hello() + frame(t, payload, 5),
                    "open CTL_REPLY:false", want_id=5, want=True)
            else:
                add("%s-%s" % (name, label), hello() + frame(t, payload, 5),
                    "closed", why)
        # The id is echoed whatever it is.
        if name == "CTL_REQUEST":
            for mid in (0, 0xffffffff):
                add("%s-id-%d" % (name, mid), hello() + ctl_frame(kind, mid),
                    "open CTL_REPLY:true", want_id=mid, want=True)

    # Control requests that frame well but hold no good request.
    for label, req in (("bad-utf8", b'{"cmd":"\xff\xfe"}'),
                       ("nul", b'{"cmd":"stats"}\x00'),
                       ("nul-in-string", b'{"cmd":"st\\u0000ats"}'),
                       ("array", b"[]"), ("number", b"1"), ("empty", b""),
                       ("deep", b"[" * 100000),
                       ("no-cmd", b"{}"), ("cmd-number", b'{"cmd":1}'),
                       ("unknown-cmd", b'{"cmd":"nope"}')):
        add("ctl-" + label, hello() + frame(T["CTL_REQUEST"],
            encode([("s", req)]), 6), "open CTL_REPLY:false", want_id=6,
            want=True)
    # The largest frame there is: a good request padded to GW_IPC_MAXMSG.
    pad = MAXMSG - 16 - 4 - len('{"cmd":"%s","pad":""}' % STATS[kind])
    big = '{"cmd":"%s","pad":"%s"}' % (STATS[kind], "p" * pad)
    add("ctl-maxmsg", hello() + frame(T["CTL_REQUEST"],
        encode([("s", big)]), 7), "open CTL_REPLY:true", want_id=7,
        want=True)

    if kind == "bridge":
        # Channels the protocol does not allow, NUL above all: a name
        # cut at the NUL would be another channel's Redis key.
        for label, ch in (("nul", b"abuse:b\x00x"), ("quote", b'abuse:"b'),
                          ("utf8", b"abuse:\xff"), ("empty", b""),
                          ("201", b"c" * 201)):
            for what, fields in (
                    ("SUB", [("s", ch), ("s", ""), ("u", 0)]),
                    ("PUBLISH", [("s", ch), ("s", "1"), ("s", ""),
                                 ("q", 0)]),
                    ("HISTORY", [("s", ch), ("s", ""), ("u", 1)])):
                add("chan-%s-%s" % (label, what), hello() +
                    frame(T["BRIDGE_" + what], encode(fields), 5), "closed",
                    "GW_MSG_BRIDGE_%s " % what)
        add("history-limit-0", hello() + frame(T["BRIDGE_HISTORY"],
            encode([("s", "abuse:b"), ("s", ""), ("u", 0)]), 5), "closed",
            "GW_MSG_BRIDGE_HISTORY ")
        # Data that could not come back in one GW_MSG_BRIDGE_DELIVER.
        data = '"%s"' % ("d" * (MAXMSG - 200))
        add("publish-too-big", hello() + frame(T["BRIDGE_PUBLISH"],
            encode([("s", "abuse:big"), ("s", data), ("s", ""), ("q", 0)]),
            5), "open BRIDGE_FAIL:too_large", want_id=5, want=True)
    if kind == "presence":
        for label, ch in (("nul", b"abuse:p\x00x"), ("brace", b"abuse:{p}"),
                          ("newline", b"abuse:\np"), ("utf8", b"abuse:\xff"),
                          ("empty", b""), ("201", b"c" * 201)):
            add("chan-%s-JOIN" % label, hello() + frame(T["PRESENCE_JOIN"],
                encode([("s", ch), ("s", "abuser"), ("s", "{}"), ("q", 1),
                        ("q", 7)])), "closed", "GW_MSG_PRESENCE_JOIN ")
            add("chan-%s-QUERY" % label, hello() +
                frame(T["PRESENCE_QUERY"], encode([("s", ch), ("s", "")]), 5),
                "closed",
                "GW_MSG_PRESENCE_QUERY ")
        for label, user in (("utf8", b"\xff\xfe"), ("empty", b""),
                            ("129", b"u" * 129)):
            add("user-%s-JOIN" % label, hello() + frame(T["PRESENCE_JOIN"],
                encode([("s", "abuse:p"), ("s", user), ("s", "{}"),
                        ("q", 1), ("q", 7)])), "closed",
                "GW_MSG_PRESENCE_JOIN ")
        add("join-info-not-object", hello() + frame(T["PRESENCE_JOIN"],
            encode([("s", "abuse:p"), ("s", "abuser"), ("s", "[]"),
                    ("q", 1), ("q", 7)])), "closed", "GW_MSG_PRESENCE_JOIN ")
        add("join-since-2^64-1", hello() + frame(T["PRESENCE_JOIN"],
            encode([("s", "abuse:p"), ("s", "abuser"), ("s", "{}"),
                    ("q", 0xffffffffffffffff), ("q", 7)])), "closed",
            "GW_MSG_PRESENCE_JOIN ")
        add("typing-stop-3", hello() + frame(T["PRESENCE_TYPING"],
            encode([("s", "abuse:p"), ("s", "abuser"), ("q", 7),
                    ("u", 3)])), "closed", "GW_MSG_PRESENCE_TYPING ")
        add("session-sid-upper", hello() + frame(T["SESSION_DROP"],
            encode([("s", SID.upper())])), "closed", "GW_MSG_SESSION_DROP ")
        add("session-state-nul", hello() + frame(T["SESSION_SAVE"],
            encode([("s", SID), ("s", "abuser"), ("s", b'{"c":[]}\x00'),
                    ("u", 1), ("q", 7)])), "closed", "GW_MSG_SESSION_SAVE ")
        add("session-live-2", hello() + frame(T["SESSION_SAVE"],
            encode([("s", SID), ("s", "abuser"), ("s", '{"c":[]}'),
                    ("u", 2), ("q", 7)])), "closed", "GW_MSG_SESSION_SAVE ")
    return cases


class Log:
    """The lines a daemon adds to its log file from now on."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.f.seek(0, os.SEEK_END)
        self.part = b""
        self.lines = 0

    def wait(self, regex, secs=3):
        """Wait for a new line matching regex; return it, or None."""
        deadline = time.monotonic() + secs
        while True:
            data = self.part + self.f.read()
            lines = data.split(b"\n")
            self.part = lines.pop()
            for line in lines:
                self.lines += 1
                text = line.decode(errors="replace")
                if re.search(regex, text):
                    return text
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)


def battery(path, kind, logpath=None):
    """Run every case; with logpath, the log of the daemon, each closed
    link must have its log line, naming why."""
    bad = 0
    cases = battery_cases(kind)
    log = Log(logpath) if logpath else None
    for label, kw, want, why in cases:
        got = run_case(path, kind, **kw)
        line = None
        if got == want and log is not None and why is not None:
            line = log.wait(why)
            if line is None:
                got += " but no log line matching /%s/" % why
        if got == want:
            print("ok %s %s: %s%s" % (kind, label, got,
                                      " (log: %s)" % line if line else ""))
        else:
            bad += 1
            print("not ok %s %s: want %s, got %s" % (kind, label, want, got))
    print("# %s: %d cases, %d connections, %d failed" % (kind, len(cases),
          len(cases), bad))
    sys.exit(1 if bad else 0)


def slow(path, kind):
    data = hello() + ctl_frame(kind, 3)
    s = connect(path)
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(0.005)
    r = Reader(s)
    deadline = time.monotonic() + TIMEOUT
    while True:
        f = r.next(deadline)
        if f is None:
            fail("the link closed before the reply")
        if f[0] == T["CTL_REPLY"] and f[1] == 3:
            print(describe(f[0], f[2]))
            return


def idle(path, n, d):
    conns = []
    deadline = time.monotonic() + 30
    for _ in range(n):
        if time.monotonic() > deadline:
            fail("%d connections only within 30 s" % len(conns))
        conns.append(connect(path))
    open(os.path.join(d, "up"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(d, "go")):
        if time.monotonic() > deadline:
            fail("no go within 60 s")
        time.sleep(0.02)
    for s in conns:
        s.close()


def flood(path, kind, n):
    s = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req = ctl_frame(kind, 1)
    try:
        s.sendall(hello())
        deadline = time.monotonic() + 30
        for _ in range(n // 100):
            if time.monotonic() > deadline:
                break
            s.sendall(req * 100)
    except (BrokenPipeError, ConnectionResetError):
        print("closed")
        return
    # Now read: a daemon that dropped us shows EOF before the n replies.
    r = Reader(s)
    deadline = time.monotonic() + TIMEOUT
    got = 0
    try:
        while got < n:
            f = r.next(deadline)
            if f is None:
                print("closed")
                return
            if f[0] == T["CTL_REPLY"]:
                got += 1
    except socket.timeout:
        fail("neither the replies nor EOF within %d s" % TIMEOUT)
    print("open")


def ctl(path, req):
    s = connect(path)
    s.sendall(hello() + frame(T["CTL_REQUEST"], encode([("s", req)]), 1))
    r = Reader(s)
    deadline = time.monotonic() + TIMEOUT
    while True:
        f = r.next(deadline)
        if f is None:
            fail("the socket closed before the reply")
        if f[0] == T["CTL_REPLY"] and f[1] == 1:
            n = struct.unpack("=I", f[2][:4])[0]
            print(f[2][4:4 + n].decode())
            return


def abuse_channel(rundir, channel):
    """What a peer of rundir's sockets must not do to channel.  Return
    value: the answers that were not the right ones."""
    wrong = []
    ghost = channel.encode() + b"\x00x"
    for sock, t, fields, want in (
            ("bridge.sock", "BRIDGE_SUB", [("s", ghost), ("s", ""),
                                           ("u", 0)], "closed"),
            ("presence.sock", "PRESENCE_JOIN", [("s", ghost), ("s", "ghost"),
                                                ("s", "{}"), ("q", 1),
                                                ("q", 7)], "closed"),
            ("bridge.sock", "BRIDGE_PUBLISH",
             [("s", channel), ("s", '"%s"' % ("d" * (MAXMSG - 200))),
              ("s", ""), ("q", 0)], "open BRIDGE_FAIL:too_large")):
        got = run_case(os.path.join(rundir, sock), "bridge", hello() +
                       frame(T[t], encode(fields), 5), want_id=5,
                       want=want != "closed")
        print("%s on %s: %s" % (t, sock, got))
        if got != want:
            wrong.append("%s on %s: want %s, got %s" % (t, sock, want, got))
    return wrong


async def live(port, channel, rundir=None):
    import websockets

    async def expect(ws, pred, what):
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("no " + what)
            try:
                f = json.loads(await asyncio.wait_for(ws.recv(), left))
            except asyncio.TimeoutError:
                fail("no %s within %d s" % (what, TIMEOUT))
            if pred(f):
                return f

    url = "ws://127.0.0.1:%d/ws?user=" % port
    async with websockets.connect(url + "alice", open_timeout=TIMEOUT) as a, \
            websockets.connect(url + "bob", open_timeout=TIMEOUT) as b:
        for i, ws in enumerate((a, b)):
            await expect(ws, lambda f: f["type"] == "welcome", "welcome")
            await ws.send(json.dumps({"type": "subscribe", "id": 1,
                                      "channel": channel, "presence": True}))
            f = await expect(ws, lambda f: f.get("id") == 1, "subscribed")
            if f["type"] != "subscribed":
                fail("subscribe: %r" % f)
        # The end-to-end checks below come first: they show the harm.
        wrong = abuse_channel(rundir, channel) if rundir else []
        await b.send(json.dumps({"type": "publish", "id": 2,
                                 "channel": channel, "data": {"n": 8300}}))
        f = await expect(b, lambda f: f.get("id") == 2, "published")
        if f["type"] != "published":
            fail("publish: %r" % f)
        m = await expect(a, lambda f: f["type"] == "message", "message")
        if m["data"] != {"n": 8300} or m["from"] != "bob" or \
                m["channel"] != channel:
            fail("bad message %r" % m)
        # Nothing else came: no frame of the ghost or of the big value.
        await a.send(json.dumps({"type": "presence", "id": 4,
                                 "channel": channel}))
        f = await expect(a, lambda f: f.get("id") == 4 or
                         f["type"] == "message", "presence")
        if f.get("id") != 4:
            fail("one more message: %.200r" % f)
        await a.send(json.dumps({"type": "presence", "id": 3,
                                 "channel": channel}))
        p = await expect(a, lambda f: f.get("id") == 3, "presence")
        users = sorted(u["userId"] for u in p.get("users", []))
        if p.get("type") != "presence" or p.get("count") != 2 or \
                users != ["alice", "bob"]:
            fail("presence of %s: %r" % (channel, p))
    if wrong:
        fail("; ".join(wrong))
    print("live: message and presence right")


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "battery":
        battery(a[1], a[2], a[3] if len(a) > 3 else None)
    elif len(a) >= 3 and a[0] == "slow":
        slow(a[1], a[2])
    elif len(a) >= 4 and a[0] == "idle":
        idle(a[1], int(a[2]), a[3])
    elif len(a) >= 4 and a[0] == "flood":
        flood(a[1], a[2], int(a[3]))
    elif len(a) >= 3 and a[0] == "ctl":
        ctl(a[1], a[2])
    elif len(a) >= 3 and a[0] == "live":
        asyncio.run(live(int(a[1]), a[2], a[3] if len(a) > 3 else None))
    else:
        fail("usage: see the top of " + sys.argv[0])


if __name__ == "__main__":
    main()
