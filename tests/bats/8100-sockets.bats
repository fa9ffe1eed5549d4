#!/usr/bin/env bats
# 8100-sockets.bats -- the Unix sockets of the run directory (issue 8):
# mode 0600 inside a 0700 directory (0660 inside 0750 with a socket
# group), a peer of another uid refused by SO_PEERCRED even when the
# modes would let it in (unless it is in the socket group), and a run
# directory of another user refused.

bats_require_minimum_version 1.5.0

load ../helpers/gw

GWCTL=${GWCTL_BIN:-$BATS_TEST_DIRNAME/../../build/gwctl}

setup() {
	gw_setup
	NODE_PRESENCE=1
	RD=$GW_TMP/a
}

# as_user UID GID [GROUPS] CMD...: run CMD as UID:GID with only the
# supplementary groups GROUPS ("-" for none).
as_user() {
	local uid=$1 gid=$2 groups=$3
	shift 3
	if [ "$groups" = - ]; then
		setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
	else
		setpriv --reuid="$uid" --regid="$gid" --groups="$groups" "$@"
	fi
}

# open_path DIR: let others through every directory from DIR up to /.
open_path() {
	local d=$1
	while [ "$d" != / ] && [ -n "$d" ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
}

# answered NDJSON: gw-bridge, gw-presence and gw-listen each answered.
answered() {
	echo "$1" | jq -s -e 'map(.process) | sort ==
	    ["gw-bridge", "gw-listen", "gw-presence"]' >/dev/null || {
		echo "not every daemon answered: $1"
		return 1
	}
}

# need_root: the tests that act as another user.
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
	command -v setpriv >/dev/null || skip "no setpriv"
}

teardown() {
	if [ -n "${OU_PID:-}" ]; then
		kill -TERM "$OU_PID" 2>/dev/null || true
		wait_exit "$OU_PID" 20 || kill -KILL "$OU_PID" 2>/dev/null || true
	fi
	if [ -n "${OU_DIR:-}" ]; then
		# Its children too, were its supervisor killed.
		pkill -KILL -f -- "--rundir $OU_DIR/run" || true
		rm -rf "$OU_DIR"
	fi
	gw_teardown
}

@test "sockets: bridge.sock, presence.sock and listen-PID.sock are 0600, the run directory 0700" {
	local s
	start_node a 1
	[ "$(stat -c %a "$RD")" = 700 ]
	for s in "$RD/bridge.sock" "$RD/presence.sock" "$RD/listen-$GW_PID.sock"; do
		echo "$s: $(stat -c '%a %F' "$s")"
		[ "$(stat -c %a "$s")" = 600 ]
		[ -S "$s" ]
	done
}

@test "sockets: a peer of another uid is refused (SO_PEERCRED) even if the modes let it connect" {
	local s out
	need_root
	start_node a 1
	# Let nobody reach the sockets: every directory up to them.
	open_path "$RD"
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

@test "sockets: root is served by a node of another user (the systemd unit's DynamicUser); any other user is refused with a hint that names the node's user" {
	local port sup
	need_root
	# A node run by nobody, as a unit's dynamic user would run it.
	OU_DIR=$(mktemp -d /tmp/gw-ou.XXXXXX)
	chmod 0755 "$OU_DIR"
	chown 65534:65534 "$OU_DIR"
	sup=$(command -v "$GW_SUPERVISE_BIN")
	open_path "$(dirname "$sup")"
	port=$(free_port)
	# setpriv itself, not as_user: $! must be the process that becomes
	# gw-supervise (a function in the background is a subshell whose
	# child would outlive the teardown's kill).
	setpriv --reuid=65534 --regid=65534 --clear-groups "$sup" \
	    --rundir "$OU_DIR/run" \
	    --listen "127.0.0.1:$port" --auth none --workers 1 \
	    </dev/null >"$GW_TMP/ou.log" 2>&1 3>&- &
	OU_PID=$!
	wait_health "$port" 200
	[ "$(stat -c %U "$OU_DIR/run")" = nobody ]
	# Root's gwctl (sudo gwctl) is served.
	run --separate-stderr "$GWCTL" --rundir "$OU_DIR/run" status
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(.state) | unique')" = '[
  "running"
]' ]
	run --separate-stderr "$GWCTL" --rundir "$OU_DIR/run" stats
	[ "$status" -eq 0 ]
	answered "$output"
	# Another user: refused, told whose node it is.
	run --separate-stderr as_user 1 1 - "$GWCTL" --rundir "$OU_DIR/run" \
	    status
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Permission denied"* ]]
	[[ "$stderr" == *"the node's sockets serve uid 65534 (nobody) (and its socket_group, and root), not uid 1"* ]]
	# The workers' commands look for their sockets: denied, not absent.
	run --separate-stderr as_user 1 1 - "$GWCTL" --rundir "$OU_DIR/run" \
	    conns
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"gw-listen at $OU_DIR/run/listen-*.sock: Permission denied"* ]]
	[[ "$stderr" == *"the node's sockets serve uid 65534 (nobody)"* ]]
}

@test "sockets: with a socket group, 0660 in a 0750 directory of that group; its members are served, others refused" {
	local s out grp=nogroup gid
	need_root
	gid=$(getent group "$grp" | cut -d: -f3)
	[ -n "$gid" ]
	NODE_BRIDGE_ARGS=(--socket-group "$grp")
	NODE_PRESENCE_ARGS=(--socket-group "$grp")
	start_node a 1 --socket-group "$gid"
	[ "$(stat -c '%a %g' "$RD")" = "750 $gid" ]
	for s in "$RD/bridge.sock" "$RD/presence.sock" "$RD/listen-$GW_PID.sock"; do
		echo "$s: $(stat -c '%a %g %F' "$s")"
		[ "$(stat -c '%a %g' "$s")" = "660 $gid" ]
	done
	open_path "$(dirname "$RD")"
	# A member by its primary group, then by a supplementary one
	# (SO_PEERGROUPS): gwctl stats asks every daemon of the node.
	run -0 as_user 65534 "$gid" - "$GWCTL" --rundir "$RD" --json stats
	answered "$output"
	run -0 as_user 65534 1 "$gid" "$GWCTL" --rundir "$RD" --json stats
	answered "$output"
	# Not a member: the directory's mode stops it ...
	run as_user 65534 1 - "$GWCTL" --rundir "$RD" --json stats
	echo "$output"
	[ "$status" -ne 0 ]
	# ... and with the modes opened, SO_PEERCRED does.
	chmod o+rx "$RD"
	chmod 0666 "$RD/bridge.sock" "$RD/presence.sock" "$RD/listen-$GW_PID.sock"
	run as_user 65534 1 - "$GWCTL" --rundir "$RD" --json stats
	echo "$output"
	[ "$status" -ne 0 ]
	wait_log 'refused a peer of another user' "$GW_LOG"
	[ "$(healthz "$GW_PORT")" = 200 ]
}

@test "sockets: an unknown socket group is a usage error, exit 2" {
	run -2 "$GW_BRIDGE_BIN" --rundir "$RD" --socket-group no-such-group-x
	[[ "$output" == *"--socket-group no-such-group-x: no such group"* ]]
	run -2 "$GW_PRESENCE_BIN" --rundir "$RD" --socket-group no-such-group-x
	[[ "$output" == *"no such group"* ]]
	run -2 "$GW_LISTEN_BIN" --socket-group no-such-group-x
	[[ "$output" == *"no such group"* ]]
	run -2 "$GW_SUPERVISE_BIN" --auth none --socket-group no-such-group-x --check
	[[ "$output" == *"--socket-group: socket_group no-such-group-x: no such group"* ]]
	[ ! -e "$RD" ]
}

@test "sockets: a run directory of another user is refused; one of ours gets mode 0700 back" {
	need_root
	start_redis
	mkdir -m 0777 "$RD"
	chown 65534 "$RD"
	run -1 "$GW_BRIDGE_BIN" --rundir "$RD" --redis "$REDIS_URL"
	[[ "$output" == *"run directory $RD: belongs to uid 65534, not to us: refused"* ]]
	run -1 "$GW_PRESENCE_BIN" --rundir "$RD" --redis "$REDIS_URL"
	[[ "$output" == *"belongs to uid 65534"* ]]
	[ ! -e "$RD/bridge.sock" ] && [ ! -e "$RD/presence.sock" ]
	chown 0 "$RD"
	start_node a 1
	[ "$(stat -c %a "$RD")" = 700 ]
}
