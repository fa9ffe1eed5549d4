#!/usr/bin/env bats
# 8300-ipc-abuse.bats -- malformed and abusive IPC traffic on the live
# daemons' Unix sockets (issue 8): bridge.sock, presence.sock, the
# worker's listen-PID.sock and gw-supervise's supervise.sock.  Each abuse
# (tests/helpers/ipcabuse.py, one fresh connection per case) gets the
# answer of gw-ipc(7) and the code: a bad header, a malformed payload or
# a type the socket does not serve closes that link alone, with one log
# line saying why; a control request that frames well but holds no good
# JSON is answered with an error.  Then the daemon is still there, has no
# descriptor left over, has not grown, and the node still carries real
# traffic end to end.

bats_require_minimum_version 1.5.0

load ../helpers/gw

ABUSE="$GW_HELPERS/ipcabuse.py"

setup_file() {
	gw_setup_file
}

teardown_file() {
	gw_teardown_file
}

setup() {
	gw_setup
	command -v redis-server >/dev/null || skip "no redis-server"
	NODE_PRESENCE=1
	SUP_PID=
	# gw-supervise's test starts its own node.
	[[ "$BATS_TEST_DESCRIPTION" == *supervise.sock* ]] && return 0
	start_node a 1
	RD=$GW_TMP/a
	LISTEN_SOCK=$RD/listen-$GW_PID.sock
}

teardown() {
	local i
	if [ -n "$SUP_PID" ] && kill -0 "$SUP_PID" 2>/dev/null; then
		kill -TERM "$SUP_PID" 2>/dev/null || true
		for ((i = 0; i < 216; i++)); do
			kill -0 "$SUP_PID" 2>/dev/null || break
			nap "$i"
		done
		kill -KILL "$SUP_PID" 2>/dev/null || true
	fi
	if [ -n "$SUP_PID" ] && [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		tail -n 40 "$SUP_LOG" | sed 's/^/  /'
	fi
	gw_teardown || return 1
	if [ -n "$SUP_PID" ] && grep -Eq 'Sanitizer|runtime error:' "$SUP_LOG"
	then
		echo "sanitizer report in $SUP_LOG:"
		sed 's/^/  /' "$SUP_LOG"
		return 1
	fi
}

# The three daemons of the node: KIND SOCKET PID LOG, one per line.
daemons() {
	echo "bridge $RD/bridge.sock $BRIDGE_PID $BRIDGE_LOG"
	echo "presence $RD/presence.sock $PRESENCE_PID $PRESENCE_LOG"
	echo "listen $LISTEN_SOCK $GW_PID $GW_LOG"
}

nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
nlines() { wc -l <"$1"; }

# absent REGEX FILE...: fail, showing them, if lines match REGEX.  (A
# bare "! grep" would not fail a bats test but as its last command.)
absent() {
	local re=$1
	shift
	if grep -aE "$re" "$@"; then
		echo "(lines matching /$re/ above)"
		return 1
	fi
}

# alive WHAT PID LOG: fail, with the log, if PID has gone.
alive() {
	kill -0 "$2" 2>/dev/null && return 0
	echo "$1 (pid $2) died; its log:"
	tail -n 30 "$3" | sed 's/^/  /'
	return 1
}

# fds_back PID MAX: wait (at most 5 s) until PID has at most MAX fds.
fds_back() {
	local i n
	for ((i = 0; i < 116; i++)); do
		n=$(nfds "$1")
		[ "$n" -le "$2" ] && return 0
		nap "$i"
	done
	echo "pid $1 still has $n descriptors after 5 s (had $2 before):"
	ls -l "/proc/$1/fd"
	return 1
}

# fds_up PID MIN: wait (at most 10 s) until PID has at least MIN fds:
# a connect() returns once the connection is in the backlog, before the
# daemon took it.
fds_up() {
	local i n
	for ((i = 0; i < 216; i++)); do
		n=$(nfds "$1")
		[ "$n" -ge "$2" ] && return 0
		nap "$i"
	done
	echo "pid $1 has $n descriptors after 10 s, not $2"
	return 1
}

# Is this daemon a sanitizer build?  (Its allocator keeps freed memory
# in quarantine: RSS says little there; LeakSanitizer checks at exit.)
is_san() { grep -q __asan_init "$1" 2>/dev/null; }

# live_ok: a WebSocket subscriber gets a publish, presence of the
# channel is right, and gwctl stats answers for the three daemons, with
# no abusive peer left on gw-bridge and gw-presence (their workers: our
# gw-listen and this gwctl).
live_ok() {
	local out
	"$PY" "$ABUSE" live "$GW_PORT" "live:$1"
	out=$("$GWCTL_BIN" --rundir "$RD" --json stats)
	echo "$out"
	[ "$(jq -r .process <<<"$out" | sort | tr '\n' ' ')" = \
	    "gw-bridge gw-listen gw-presence " ]
	[ "$(jq -r 'select(.process == "gw-bridge") | .counters.workers' \
	    <<<"$out")" -eq 2 ]
	[ "$(jq -r 'select(.process == "gw-presence") | .counters.workers' \
	    <<<"$out")" -eq 2 ]
}

@test "ipc abuse: bad headers, every type id with good, cut, padded and lying payloads, odd names: that link alone closes, logged; no crash, no fd or memory kept" {
	local kind sock pid logf f0 n0 r0 r1 n ncases
	while read -r kind sock pid logf; do
		f0=$(nfds "$pid")
		n0=$(nlines "$logf")
		r0=$(rss_kb "$pid")
		run "$PY" "$ABUSE" battery "$sock" "$kind" "$logf"
		grep -v '^ok ' <<<"$output" || true
		[ "$status" -eq 0 ]
		ncases=$(sed -n 's/^# [a-z]*: \([0-9]*\) cases.*/\1/p' \
		    <<<"$output")
		[ "$ncases" -gt 150 ]
		alive "$kind" "$pid" "$logf"
		fds_back "$pid" "$f0"
		# No flood: a line for a HELLO, one for the end of a link.
		n=$(($(nlines "$logf") - n0))
		echo "$kind: $ncases cases, $n log lines, RSS $r0 kB before"
		[ "$n" -le $((2 * ncases + 10)) ]
		# Again: whatever it keeps per link must have gone with it.
		r1=$(rss_kb "$pid")
		run "$PY" "$ABUSE" battery "$sock" "$kind"
		[ "$status" -eq 0 ]
		fds_back "$pid" "$f0"
		echo "$kind: RSS $r1 kB after one pass, $(rss_kb "$pid") kB" \
		    "after two"
		if ! is_san "/proc/$pid/exe"; then
			[ "$(rss_kb "$pid")" -le $((r1 + 2048)) ]
		fi
	done < <(daemons)
	# A name is logged as printable ASCII: no forged line, no escape.
	absent '^FORGED' "$BRIDGE_LOG" "$PRESENCE_LOG" "$GW_LOG"
	absent $'\e' "$BRIDGE_LOG" "$PRESENCE_LOG" "$GW_LOG"
	grep -aq 'evil?FORGED-LINE: info: forged connected' "$BRIDGE_LOG"
	live_ok 1
}

@test "ipc abuse: a channel with a NUL, and a value too big to deliver, do not reach the real channel's subscribers" {
	local out
	# A daemon that cut "live:2<NUL>x" at the NUL would act on the
	# Redis keys of live:2: drop its subscription when the peer goes,
	# add the ghost to its presence.
	"$PY" "$ABUSE" live "$GW_PORT" live:2 "$RD"
	wait_log 'malformed GW_MSG_BRIDGE_SUB \(len [0-9]+\): link dropped' \
	    "$BRIDGE_LOG"
	wait_log 'malformed GW_MSG_PRESENCE_JOIN \(len [0-9]+\): link dropped' \
	    "$PRESENCE_LOG"
	# The worker subscribed to live:2 kept its link to the bridge.
	absent 'output queue full|not sent' "$BRIDGE_LOG"
	absent 'lost gw-bridge' "$GW_LOG"
	out=$("$GWCTL_BIN" --rundir "$RD" --json stats)
	[ "$(jq -r 'select(.process == "gw-bridge") | .counters.published' \
	    <<<"$out")" -eq 1 ]
	live_ok 2
}

@test "ipc abuse: a frame one byte at a time is read whole; 500 idle connections per socket cost nothing once closed" {
	local kind sock pid logf i f0=() n0=() d
	while read -r kind sock pid logf; do
		run "$PY" "$ABUSE" slow "$sock" "$kind"
		echo "$kind slow: $output"
		[ "$status" -eq 0 ]
		[ "$output" = "CTL_REPLY:true" ]
	done < <(daemons)
	i=0
	while read -r kind sock pid logf; do
		f0[i]=$(nfds "$pid")
		n0[i]=$(nlines "$logf")
		d=$GW_TMP/idle-$kind
		mkdir -p "$d"
		"$PY" "$ABUSE" idle "$sock" 500 "$d" </dev/null \
		    >"$d.out" 2>&1 3>&- &
		echo "$!" >>"$GW_TMP/spawned.pids"
		i=$((i + 1))
	done < <(daemons)
	for kind in bridge presence listen; do
		for ((i = 0; i < 416; i++)); do
			[ -e "$GW_TMP/idle-$kind/up" ] && break
			nap "$i"
		done
		[ -e "$GW_TMP/idle-$kind/up" ] || {
			cat "$GW_TMP/idle-$kind.out"
			false
		}
	done
	i=0
	while read -r kind sock pid logf; do
		# All 500 are taken, and held.
		fds_up "$pid" $((f0[i] + 500))
		echo "$kind: ${f0[i]} fds before, $(nfds "$pid") with 500 idle"
		i=$((i + 1))
	done < <(daemons)
	# Meanwhile the node still serves.
	"$PY" "$ABUSE" live "$GW_PORT" live:4
	for kind in bridge presence listen; do
		: >"$GW_TMP/idle-$kind/go"
	done
	i=0
	while read -r kind sock pid logf; do
		alive "$kind" "$pid" "$logf"
		fds_back "$pid" "${f0[i]}"
		# At most one line for each connection that came and went.
		[ $(($(nlines "$logf") - n0[i])) -le 1010 ]
		i=$((i + 1))
	done < <(daemons)
	live_ok 4
}

@test "ipc abuse: out of descriptors, a daemon pauses accepting (no spin, no log flood) and takes the waiting connections after" {
	local kind sock pid logf f0 n0 c0 c1 d i soft
	command -v prlimit >/dev/null || skip "no prlimit"
	while read -r kind sock pid logf; do
		soft=$(prlimit --pid "$pid" --nofile --output SOFT --noheadings)
		f0=$(nfds "$pid")
		n0=$(nlines "$logf")
		prlimit --pid "$pid" --nofile=$((f0 + 8)):
		d=$GW_TMP/fd-$kind
		mkdir -p "$d"
		# 40 connections: in the backlog, the daemon can take 8.
		"$PY" "$ABUSE" idle "$sock" 40 "$d" </dev/null \
		    >"$d.out" 2>&1 3>&- &
		echo "$!" >>"$GW_TMP/spawned.pids"
		for ((i = 0; i < 216; i++)); do
			[ -e "$d/up" ] && break
			nap "$i"
		done
		[ -e "$d/up" ] || { cat "$d.out"; false; }
		wait_log 'accept \(paused for 0.5 s\): Too many open' "$logf"
		# A second at EMFILE: a spinning loop would burn it all.
		c0=$(cpu_ticks "$pid")
		sleep 1
		c1=$(cpu_ticks "$pid")
		echo "$kind: $((c1 - c0)) ticks of CPU in 1 s at EMFILE," \
		    "$(($(nlines "$logf") - n0)) log lines"
		[ $((c1 - c0)) -le 25 ]
		[ $(($(nlines "$logf") - n0)) -le 12 ]
		# Descriptors again: the 40 waiting connections are taken.
		prlimit --pid "$pid" --nofile="$soft":
		fds_up "$pid" $((f0 + 40))
		: >"$d/go"
		alive "$kind" "$pid" "$logf"
		fds_back "$pid" "$f0"
	done < <(daemons)
	live_ok 5
}

@test "ipc abuse: a control client that sends requests and reads no reply is cut before its replies pile up" {
	local kind sock pid logf r0
	while read -r kind sock pid logf; do
		r0=$(rss_kb "$pid")
		run "$PY" "$ABUSE" flood "$sock" "$kind" 200000
		echo "$kind: $output; RSS $r0 kB before, $(rss_kb "$pid") after"
		[ "$status" -eq 0 ]
		[ "$output" = closed ]
		wait_log 'reads no (control )?replies' "$logf"
		alive "$kind" "$pid" "$logf"
		is_san "/proc/$pid/exe" ||
		    [ "$(rss_kb "$pid")" -le $((r0 + 16384)) ]
	done < <(daemons)
	live_ok 6
}

@test "ipc abuse: supervise.sock: the same abuse, 500 idle clients refused past 64 with a bounded log, status still answers" {
	local conf port pid f0 n0 i
	port=$(free_port)
	conf=$GW_TMP/gw.conf
	SUP_LOG=$GW_TMP/supervise.log
	printf 'listen = 127.0.0.1:%s\nauth = none\nworkers = 1\n%s\n' \
	    "$port" "drain_time = 1" >"$conf"
	GW_RUNDIR=$GW_TMP/sup "$GW_SUPERVISE_BIN" -c "$conf" </dev/null \
	    >"$SUP_LOG" 2>&1 3>&- &
	SUP_PID=$!
	wait_health "$port" 200 20
	sock=$GW_TMP/sup/supervise.sock
	f0=$(nfds "$SUP_PID")
	n0=$(nlines "$SUP_LOG")
	run "$PY" "$ABUSE" battery "$sock" supervise "$SUP_LOG"
	grep -v '^ok ' <<<"$output" || true
	[ "$status" -eq 0 ]
	alive gw-supervise "$SUP_PID" "$SUP_LOG"
	fds_back "$SUP_PID" "$f0"
	[ $(($(nlines "$SUP_LOG") - n0)) -le 400 ]
	absent $'^FORGED|\e' "$SUP_LOG"
	run "$PY" "$ABUSE" slow "$sock" supervise
	[ "$output" = "CTL_REPLY:true" ]
	run "$PY" "$ABUSE" flood "$sock" supervise 200000
	[ "$output" = closed ]
	wait_log 'reads no replies: closed' "$SUP_LOG"
	# 500 at once: 64 are kept, the others refused, in a line or two.
	n0=$(nlines "$SUP_LOG")
	mkdir -p "$GW_TMP/idle-sup"
	"$PY" "$ABUSE" idle "$sock" 500 "$GW_TMP/idle-sup" </dev/null \
	    >"$GW_TMP/idle-sup.out" 2>&1 3>&- &
	echo "$!" >>"$GW_TMP/spawned.pids"
	for ((i = 0; i < 416; i++)); do
		[ -e "$GW_TMP/idle-sup/up" ] && break
		nap "$i"
	done
	[ -e "$GW_TMP/idle-sup/up" ] || { cat "$GW_TMP/idle-sup.out"; false; }
	wait_log 'control: more than 64 clients: [0-9]+ refused' "$SUP_LOG"
	[ "$(nfds "$SUP_PID")" -le $((f0 + 64)) ]
	[ "$(grep -c 'more than 64 clients' "$SUP_LOG")" -le 2 ]
	: >"$GW_TMP/idle-sup/go"
	fds_back "$SUP_PID" "$f0"
	[ $(($(nlines "$SUP_LOG") - n0)) -le 10 ]
	# The supervisor and its four children are as they were.
	run "$PY" "$ABUSE" ctl "$sock" '{"cmd":"status"}'
	echo "$output"
	[ "$(jq '[.children[] | select(.state == "running")] | length' \
	    <<<"$output")" -eq 4 ]
	[ "$(jq '[.children[].restarts] | add' <<<"$output")" -eq 0 ]
	"$PY" "$ABUSE" live "$port" live:7
}
