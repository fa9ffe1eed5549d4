#!/usr/bin/env bats
# 8100-sockets.bats -- the Unix sockets of the run directory (issue 8):
# mode 0600 inside a 0700 directory, and a peer of another uid refused by
# SO_PEERCRED even when the modes would let it in.

bats_require_minimum_version 1.5.0

load ../helpers/gw

setup() {
	gw_setup
	NODE_PRESENCE=1
	start_node a 1
	RD=$GW_TMP/a
}

teardown() {
	gw_teardown
}

@test "sockets: bridge.sock, presence.sock and listen-PID.sock are 0600, the run directory 0700" {
	local s
	[ "$(stat -c %a "$RD")" = 700 ]
	for s in "$RD/bridge.sock" "$RD/presence.sock" "$RD/listen-$GW_PID.sock"; do
		echo "$s: $(stat -c '%a %F' "$s")"
		[ "$(stat -c %a "$s")" = 600 ]
		[ -S "$s" ]
	done
}

@test "sockets: a peer of another uid is refused (SO_PEERCRED) even if the modes let it connect" {
	local s out d
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
	command -v setpriv >/dev/null || skip "no setpriv"
	# Let nobody reach the sockets: every directory up to them.
	d=$RD
	while [ "$d" != / ] && [ -n "$d" ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
	for s in "$RD/bridge.sock" "$RD/presence.sock" "$RD/listen-$GW_PID.sock"; do
		chmod 0666 "$s"
		# As nobody: connect, send a HELLO, and see the daemon close.
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		    "$PY" -c '
import socket, struct, sys
c = socket.socket(socket.AF_UNIX)
c.settimeout(5)
c.connect(sys.argv[1])
try:
    c.sendall(struct.pack("<IIII", 1, 24, 0, 4) + struct.pack("<I", 1) +
              struct.pack("<I", 0))
    print("closed" if c.recv(64) == b"" else "answered")
except (ConnectionResetError, BrokenPipeError):
    print("closed")
except socket.timeout:
    print("kept")' "$s" 2>&1)
		echo "$s as nobody: $out"
		[ "$out" = closed ]
	done
	wait_log 'refused a peer of another user' "$BRIDGE_LOG"
	wait_log 'refused a peer of another user' "$PRESENCE_LOG"
	wait_log 'refused a peer of another user' "$GW_LOG"
	# Our own uid is still served.
	[ "$(healthz "$GW_PORT")" = 200 ]
}
