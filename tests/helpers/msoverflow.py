"""msoverflow -- more completions at once than gw-listen's ring holds.

    msoverflow.py PORT PID RUNDIR [CONNS]

Opens CONNS raw connections (wsraw; default 8400, more than the 8192
completions gw-listen's ring holds), stops gw-listen (PID) with
SIGSTOP, sends an unsolicited pong frame on each (a frame gw-listen
reads and answers with nothing: no send of its own moves the
completions along), continues it, and waits (at most 30 s) until its
counter uring_recv_chunks (gwctl stats) has grown by CONNS: each
receive's completion, those the kernel kept aside, handled too.  Prints
"chunks N for CONNS frames: all" (or "missing", exit 1).
"""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import socket

from wsraw import OP_PONG, build_frame, upgrade_request


def connect(port):
    """A socket upgraded, its welcome read (plain blocking reads: wsraw's
    select() takes no descriptor past 1 023)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(upgrade_request("127.0.0.1:%d" % port)[0])
    buf = b""
    while b'"welcome"' not in buf:
        b = s.recv(4096)
        if not b:
            raise SystemExit("msoverflow: closed before the welcome")
        buf += b
    if not buf.startswith(b"HTTP/1.1 101"):
        raise SystemExit("msoverflow: %r" % buf[:100])
    return s


def chunks(rundir):
    out = subprocess.run(["gwctl", "--rundir", rundir, "--json", "stats"],
                         capture_output=True, text=True, timeout=10,
                         check=True).stdout
    for line in out.splitlines():
        o = json.loads(line)
        if o.get("process") == "gw-listen":
            return o["counters"]["uring_recv_chunks"]
    raise SystemExit("msoverflow: no gw-listen in gwctl stats")


def main():
    port, pid, rundir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 8400
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns = []
    for _ in range(n):
        conns.append(connect(port))
    c0 = chunks(rundir)
    os.kill(pid, signal.SIGSTOP)
    try:
        pong = build_frame(OP_PONG, b"x")
        for c in conns:
            c.sendall(pong)
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 30
    got = chunks(rundir) - c0
    while got < n and time.monotonic() < deadline:
        time.sleep(0.1)
        got = chunks(rundir) - c0
    print("chunks %d for %d frames: %s" % (got, n,
                                          "all" if got >= n else "missing"))
    for c in conns:
        c.close()
    sys.exit(0 if got >= n else 1)


if __name__ == "__main__":
    main()
