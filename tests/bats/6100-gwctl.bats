#!/usr/bin/env bats
# 6100-gwctl.bats -- gwctl, the admin CLI (PROTOCOL.md section 5, issue 6):
# every command's output in a pipe is NDJSON (checked with jq), --table
# renders, bad usage exits 2 with the usage, a node that is not running
# gives exit 1 and a clear message; publish (argument and stdin, with a
# bad line) reaches a WebSocket subscriber with from null; send; tail
# (until SIGINT, and `| head -n 2`, --since, --presence); history;
# presence; channels, conns and kick over the workers' control sockets;
# stats lists each process; status without gw-supervise; token makes a
# token that gw-listen --auth jwt accepts, with its info and channels.
#
# A node is start_node a [N] with NODE_PRESENCE=1 (helpers/gw.bash): a
# gw-bridge, a gw-presence and N gw-listen on the run directory
# $GW_TMP/a, which the tests export as GW_RUNDIR.  The WebSocket client
# is helpers/ctlcheck.py (python3-websockets).  Every wait is bounded.

bats_require_minimum_version 1.5.0

load ../helpers/gw

CC="$GW_HELPERS/ctlcheck.py"
GWCTL=${GWCTL_BIN:-gwctl}

setup() {
	gw_setup
	NODE_PRESENCE=1
	NODE_PRESENCE_ARGS=(--presence-grace 1)
}

teardown() {
	gw_teardown
}

# node [N [LISTEN-ARGS...]]: node a with N (default 1) gw-listen;
# GW_RUNDIR is its run directory.
node() {
	start_node a "${1:-1}" "${@:2}"
	GW_RUNDIR=$GW_TMP/a
	export GW_RUNDIR
}

# ws NAME ARGS...: ctlcheck.py in the background (output in
# $GW_TMP/NAME.out), waited for until it has subscribed.
ws() {
	local name=$1
	shift
	rm -f "$GW_TMP/$name.ready"
	bg_start "$name" "$PY" "$CC" --ready "$GW_TMP/$name.ready" "$@"
	WS_PID=$BG_PID
	wait_file "$GW_TMP/$name.ready" "$WS_PID" "$GW_TMP/$name.out"
}

# wait_file FILE PID LOG: wait (at most 10 s) until FILE exists; fail,
# with LOG, if PID ends first.
wait_file() {
	local i
	for ((i = 0; i < 216; i++)); do
		[ -e "$1" ] && return 0
		if ! kill -0 "$2" 2>/dev/null; then
			[ -e "$1" ] && return 0
			echo "pid $2 ended before $1 appeared:"
			sed 's/^/  /' "$3"
			return 1
		fi
		nap "$i"
	done
	echo "$1 not there after 10 s:"
	sed 's/^/  /' "$3"
	return 1
}

# wait_pid PID [SECONDS]: wait (default at most 10 s) for a background
# PID to end; WAIT_STATUS is its status.
wait_pid() {
	local i secs=${2:-10}
	for ((i = 0; i < secs * 20 + 16; i++)); do
		kill -0 "$1" 2>/dev/null || break
		nap "$i"
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "pid $1 still running after $secs s"
		return 1
	fi
	wait "$1" && WAIT_STATUS=0 || WAIT_STATUS=$?
}

# wait_bridge_channels N: wait (at most 10 s) until gw-bridge has N
# channels with a peer on them (gwctl stats): a tail has subscribed.
wait_bridge_channels() {
	local i n=
	for ((i = 0; i < 216; i++)); do
		n=$("$GWCTL" stats | jq -r 'select(.process == "gw-bridge")
		    | .counters.channels')
		[ "$n" = "$1" ] && return 0
		nap "$i"
	done
	echo "gw-bridge has $n channels after 10 s, not $1"
	return 1
}

# ndjson: stdin is one JSON object per line, at least one line.
ndjson() {
	local n=0 line
	while IFS= read -r line; do
		jq -e 'type == "object"' <<<"$line" >/dev/null || {
			echo "not a JSON object: $line"
			return 1
		}
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { echo "no output"; return 1; }
}

# ---------------------------------------------------------------------
# Usage and a node that is not running
# ---------------------------------------------------------------------

@test "gwctl: bad usage exits 2 with the usage on stderr" {
	local args
	while IFS= read -r args; do
		# shellcheck disable=SC2086 # the words of each line
		run --separate-stderr "$GWCTL" $args
		if [ "$status" -ne 2 ] || [[ "$stderr" != *"usage: gwctl"* ]] ||
		    [ -n "$output" ]; then
			echo "gwctl $args: status $status, stderr $stderr"
			return 1
		fi
	done <<'EOF'

nosuchcommand
--nosuchoption stats
publish
publish bad"channel {}
publish c {bad
publish c 1 2
publish --help
publish --json {}
send
send --help
presence
presence a b
channels a b
conns extra
conns --bogus
conns --channel bad"ch
conns --user
kick
kick c1 --user u
tail
tail c --since
history
history c --limit 0
history c --limit 1001
stats --watch 0
stats --watch x
status now
token
token u --info [1]
token u --channels a,,b
EOF
	# Both output forms asked for: which one would be a guess.
	run --separate-stderr "$GWCTL" --json --table stats
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--json or --table, not both"* ]]
	run --separate-stderr "$GWCTL" --json --json --help
	[ "$status" -eq 0 ]
	# An empty user id: nobody could subscribe to user: (nothing sent).
	run --separate-stderr "$GWCTL" send '' 1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"a user id is 1 to 128 bytes"* ]]
	run --separate-stderr "$GWCTL" conns --user ''
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"a user id is 1 to 128 bytes"* ]]
	run "$GWCTL" -h
	[ "$status" -eq 0 ]
	[[ "$output" == *"gwctl tail channel ..."* ]]
}

@test "gwctl: every command against a node that is not running exits 1" {
	export GW_RUNDIR=$GW_TMP/none
	mkdir -p "$GW_RUNDIR"
	local args
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		run --separate-stderr "$GWCTL" $args </dev/null
		if [ "$status" -ne 1 ] || [[ "$stderr" != *"is the node r"* ]]
		then
			echo "gwctl $args: status $status, stderr $stderr"
			return 1
		fi
	done <<'EOF'
publish c 1
publish c
send u 1
presence c
channels
conns
kick 0123456789abcdef
kick --user u
tail c
history c
stats
status
EOF
	run --separate-stderr "$GWCTL" publish c 1
	[ "$stderr" = "gwctl: no gw-bridge at $GW_RUNDIR/bridge.sock: is the node running?" ]
	run --separate-stderr "$GWCTL" status
	[[ "$stderr" == *"no gw-supervise at $GW_RUNDIR/supervise.sock"* ]]
}

# ---------------------------------------------------------------------
# publish, send
# ---------------------------------------------------------------------

@test "gwctl publish: reaches a WebSocket subscriber with from null" {
	node
	ws sub --port "$GW_PORT" --user bob --channel chat --count 1
	run --separate-stderr "$GWCTL" publish chat '{"text":"hi"}'
	[ "$status" -eq 0 ]
	ndjson <<<"$output"
	off=$(jq -r .offset <<<"$output")
	[ "$(jq -r .channel <<<"$output")" = chat ]
	wait_pid "$WS_PID"
	[ "$WAIT_STATUS" -eq 0 ]
	msg=$(grep '"message"' "$GW_TMP/sub.out")
	[ "$(jq -c .data <<<"$msg")" = '{"text":"hi"}' ]
	[ "$(jq -r .from <<<"$msg")" = null ]
	[ "$(jq -r .offset <<<"$msg")" = "$off" ]
	run "$GWCTL" --table publish chat 2
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "CHANNEL  OFFSET"* ]]
	[[ "${lines[1]}" == "chat     "* ]]
}

@test "gwctl publish: a value of 1 MiB is published and reaches a subscriber (its frame over max_outbound: not a slow consumer), one byte more refused (exit 1, said), as gwctl(8) says" {
	node
	ws sub --port "$GW_PORT" --user bob --channel big --count 1
	# On stdin: an argument is limited to 128 KiB by the kernel.
	run bash -c "printf '\"%s\"\\n' \"\$(head -c $((1024 * 1024 - 2)) /dev/zero | tr '\\0' x)\" | '$GWCTL' publish big"
	[ "$status" -eq 0 ]
	wait_pid "$WS_PID"
	[ "$WAIT_STATUS" -eq 0 ]
	[ "$(grep '"message"' "$GW_TMP/sub.out" | jq '.data | length')" -eq \
	    $((1024 * 1024 - 2)) ]
	run bash -c "printf '\"%s\"\\n' \"\$(head -c $((1024 * 1024 - 1)) /dev/zero | tr '\\0' x)\" | '$GWCTL' publish big"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"value longer than 1048576 bytes: not published"* ]]
	grep -q 'up to 1 MiB' "$GW_ROOT/man/gwctl.8"
}

@test "gwctl publish: stdin lines; a bad one reported with its number, exit 1" {
	node
	ws sub --port "$GW_PORT" --user bob --channel chat --count 3
	run --separate-stderr "$GWCTL" publish chat <<'EOF'
{"n":1}
not json

"three"
[4
5
EOF
	[ "$status" -eq 1 ]
	ndjson <<<"$output"
	[ "${#lines[@]}" -eq 3 ]
	[[ "$stderr" == *"stdin:2: invalid JSON"* ]]
	[[ "$stderr" == *"stdin:5: invalid JSON"* ]]
	[[ "$stderr" != *"stdin:3"* ]]
	wait_pid "$WS_PID"
	[ "$WAIT_STATUS" -eq 0 ]
	run jq -c .data <(grep '"message"' "$GW_TMP/sub.out")
	[ "$output" = $'{"n":1}\n"three"\n5' ]
}

@test "gwctl send: reaches the user on user:USER" {
	node
	ws sub --port "$GW_PORT" --user bob --channel user:bob --count 1
	run --separate-stderr "$GWCTL" send bob '{"note":1}'
	[ "$status" -eq 0 ]
	ndjson <<<"$output"
	[ "$(jq -r .user <<<"$output")" = bob ]
	[ "$(jq -r .channel <<<"$output")" = user:bob ]
	wait_pid "$WS_PID"
	msg=$(grep '"message"' "$GW_TMP/sub.out")
	[ "$(jq -c .data <<<"$msg")" = '{"note":1}' ]
	[ "$(jq -r .from <<<"$msg")" = null ]
	run "$GWCTL" --table send bob 1
	[[ "${lines[0]}" == "USER  CHANNEL   OFFSET"* ]]
}

# ---------------------------------------------------------------------
# tail, history
# ---------------------------------------------------------------------

@test "gwctl tail: prints what is published meanwhile; SIGINT ends it with 0" {
	node
	"$GWCTL" tail chat news >"$GW_TMP/tail.out" 2>"$GW_TMP/tail.err" &
	tp=$!
	echo "$tp" >>"$GW_TMP/spawned.pids"
	wait_bridge_channels 2
	"$GWCTL" publish chat '{"a":1}' >/dev/null
	"$GWCTL" publish news '"b"' >/dev/null
	"$GWCTL" publish other 3 >/dev/null
	"$GWCTL" publish chat 4 >/dev/null
	for ((i = 0; i < 216; i++)); do
		[ "$(wc -l <"$GW_TMP/tail.out")" -ge 3 ] && break
		nap "$i"
	done
	kill -INT "$tp"
	wait_pid "$tp"
	[ "$WAIT_STATUS" -eq 0 ]
	[ ! -s "$GW_TMP/tail.err" ]
	ndjson <"$GW_TMP/tail.out"
	run jq -c '[.type, .channel, .data, .from]' "$GW_TMP/tail.out"
	[ "$output" = '["message","chat",{"a":1},null]
["message","news","b",null]
["message","chat",4,null]' ]
}

@test "gwctl tail: ends cleanly with | head -n 2; --since replays" {
	node
	bg_start tail bash -c "set -o pipefail
	    timeout 10 '$GWCTL' tail chat | head -n 2
	    echo \"status \${PIPESTATUS[0]}\""
	wait_bridge_channels 1
	"$GWCTL" publish chat 1 >/dev/null
	"$GWCTL" publish chat 2 >/dev/null
	bg_finish 10
	run jq -c .data <(grep "^{" "$GW_TMP/tail.out")
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = 2 ]
	[ "$(tail -n 1 "$GW_TMP/tail.out")" = "status 0" ]

	first=$("$GWCTL" history chat --limit 2 | head -n 1 | jq -r .offset)
	run --separate-stderr timeout 10 bash -c \
	    "'$GWCTL' tail chat --since '$first' | head -n 1"
	[ "$status" -eq 0 ]
	[ "$(jq -c .data <<<"$output")" = 2 ]
}

@test "gwctl tail --presence: presence events too" {
	node
	bg_start tail bash -c "timeout 10 '$GWCTL' tail room --presence |
	    head -n 1"
	tpid=$BG_PID
	tout=$BG_OUT
	wait_bridge_channels 1
	ws sub --port "$GW_PORT" --user carol --channel room --until-close
	BG_PID=$tpid
	BG_OUT=$tout
	bg_finish 10
	run jq -r '[.type, .channel, .userId] | join(" ")' <(head -n 1 \
	    "$GW_TMP/tail.out")
	[ "$output" = "presence.join room carol" ]
}

@test "gwctl tail --presence | jq -c . (README's tour): every line is JSON while clients subscribe with presence: true (their sync marks are the workers', not printed)" {
	node
	bg_start tail bash -c "timeout 10 '$GWCTL' tail room2 --presence |
	    jq -c . | head -n 2"
	tpid=$BG_PID
	tout=$BG_OUT
	wait_bridge_channels 1
	ws sub1 --port "$GW_PORT" --user dave --channel room2 --presence \
	    --until-close
	ws sub2 --port "$GW_PORT" --user erin --channel room2 --presence \
	    --until-close
	BG_PID=$tpid
	BG_OUT=$tout
	bg_finish 10
	cat "$GW_TMP/tail.out"
	run jq -r '[.type, .userId] | join(" ")' "$GW_TMP/tail.out"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "presence.join dave" ]
	[ "${lines[1]}" = "presence.join erin" ]
}

@test "gwctl history: the last messages, --limit, --since, --table; a since out of reach said so" {
	node
	for v in 1 2 3; do
		"$GWCTL" publish hist "{\"v\":$v}" >/dev/null
	done
	run --separate-stderr "$GWCTL" history hist
	[ "$status" -eq 0 ]
	ndjson <<<"$output"
	[ "$(jq -c .data <<<"$output" | tr '\n' ' ')" = '{"v":1} {"v":2} {"v":3} ' ]
	[ "$(jq -r .from <<<"${lines[0]}")" = null ]
	run --separate-stderr "$GWCTL" history hist --limit 2
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -c .data <<<"${lines[1]}")" = '{"v":3}' ]
	[[ "$stderr" == *"more messages than shown"* ]]
	first=$(jq -r .offset <<<"${lines[0]}")
	run --separate-stderr "$GWCTL" history hist --since "$first"
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -c .data <<<"$output")" = '{"v":3}' ]
	run "$GWCTL" --table history hist
	[[ "${lines[0]}" == "OFFSET "*"TIME "*"FROM  DATA" ]]
	[[ "${lines[3]}" == *' -     {"v":3}' ]]
	# Arrays in data as JSON: brackets kept, [] not shown as null.
	"$GWCTL" publish arr '[1,[2,3]]' >/dev/null
	"$GWCTL" publish arr '[]' >/dev/null
	run "$GWCTL" --table history arr
	[[ "${lines[1]}" == *' -     [1,[2,3]]' ]]
	[[ "${lines[2]}" == *' -     []' ]]
	run "$GWCTL" history nothing.here
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# A since the history does not reach back to (not one of its
	# offsets at all, here): a gap, not more messages.
	run --separate-stderr "$GWCTL" history hist --since garbage
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *"does not reach back to garbage: messages may have been lost"* ]]
}

# ---------------------------------------------------------------------
# presence, channels, conns, kick
# ---------------------------------------------------------------------

@test "gwctl presence: the users of a channel" {
	node
	ws alice --port "$GW_PORT" --user alice --channel room --until-close
	for ((i = 0; i < 216; i++)); do
		out=$("$GWCTL" presence room)
		[ -n "$out" ] && break
		nap "$i"
	done
	ndjson <<<"$out"
	[ "$(jq -r '[.channel, .userId, (.info | tojson)] | join(" ")' \
	    <<<"$out")" = "room alice {}" ]
	run "$GWCTL" --table presence room
	[[ "${lines[0]}" == "USER   CONNECTED "*"INFO" ]]
	[[ "${lines[1]}" == "alice  "* ]]
	run "$GWCTL" presence empty.room
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "gwctl channels, conns, kick: merged over the workers" {
	local t0 t1 at
	node 2
	t0=$(date +%s%3N)
	ws alice --port "${NODE_PORTS[0]}" --user alice --channel c1 \
	    --channel c2 --until-close
	t1=$(date +%s%3N)
	apid=$WS_PID
	ws bob --port "${NODE_PORTS[1]}" --user bob --channel c1 --until-close
	bpid=$WS_PID
	run --separate-stderr "$GWCTL" channels
	[ "$status" -eq 0 ]
	ndjson <<<"$output"
	[ "$(jq -c '[.channel, .subscribers, (.workers | length)]' \
	    <<<"$output" | tr '\n' ' ')" = '["c1",2,2] ["c2",1,1] ' ]
	run "$GWCTL" channels 'c2*'
	[ "$(jq -r .channel <<<"$output")" = c2 ]
	run "$GWCTL" --table channels
	[[ "${lines[0]}" == "CHANNEL  SUBSCRIBERS  PER WORKER" ]]
	[[ "${lines[1]}" == "c1                 2  "* ]]

	run "$GWCTL" conns
	ndjson <<<"$output"
	[ "${#lines[@]}" -eq 2 ]
	run "$GWCTL" conns --channel c2
	[ "$(jq -r .userId <<<"$output")" = alice ]
	# connectedAt in milliseconds, as presence has it, not whole seconds.
	at=$(jq -r .connectedAt <<<"$output")
	echo "connectedAt $at, connected between $t0 and $t1"
	[ "$at" -ge "$t0" ] && [ "$at" -le "$t1" ]
	run "$GWCTL" conns --user bob
	[ "$(jq -c .channels <<<"$output")" = '["c1"]' ]
	bobconn=$(jq -r .connId <<<"$output")
	run "$GWCTL" --table conns --user bob
	[[ "${lines[0]}" == "CONNID "*"USER  CHANNELS  CONNECTED "*"WORKER" ]]
	[[ "${lines[1]}" == "$bobconn  bob   c1 "* ]]

	run --separate-stderr "$GWCTL" kick "$bobconn"
	[ "$status" -eq 0 ]
	[ "$output" = '{"closed":1}' ]
	wait_pid "$bpid"
	[ "$(tail -n 1 "$GW_TMP/bob.out")" = '{"close": 1008, "reason": "kicked"}' ]
	run --separate-stderr "$GWCTL" kick "$bobconn"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no connection $bobconn"* ]]
	# Not a connection id at all: bad usage.
	run --separate-stderr "$GWCTL" kick zzz
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"a connid is 16 hex digits"* ]]
	run "$GWCTL" --table kick --user alice
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = CLOSED ]
	[ "$(echo ${lines[1]})" = 1 ]
	wait_pid "$apid"
	[ "$(tail -n 1 "$GW_TMP/alice.out")" = '{"close": 1008, "reason": "kicked"}' ]
	run "$GWCTL" conns
	[ -z "$output" ]
}

# ---------------------------------------------------------------------
# stats, status
# ---------------------------------------------------------------------

@test "gwctl stats: one object per process; --table; --watch" {
	node 2
	"$GWCTL" publish s 1 >/dev/null
	run --separate-stderr "$GWCTL" stats
	[ "$status" -eq 0 ]
	ndjson <<<"$output"
	[ "$(jq -r .process <<<"$output" | tr '\n' ' ')" = "gw-bridge gw-presence gw-listen gw-listen " ]
	[ "$(jq -r 'select(.process == "gw-bridge") | .counters.published' \
	    <<<"$output")" = 1 ]
	[ "$(jq -r 'select(.process == "gw-listen")
	    | .counters.connections | type' <<<"$output")" = $'number\nnumber' ]
	[ "$(jq -r 'select(.process == "gw-presence") | .counters.joins
	    | type' <<<"$output")" = number ]
	[ "$(jq -r .pid <<<"${lines[0]}")" = "$BRIDGE_PID" ]
	[ "$(jq -r .pid <<<"${lines[1]}")" = "$PRESENCE_PID" ]
	run "$GWCTL" --table stats
	[[ "${lines[0]}" == "COUNTER "*"gw-bridge[$BRIDGE_PID]"*"gw-presence[$PRESENCE_PID]"*"gw-listen["* ]]
	[[ "$output" == *$'\npublished '*' 1 '* ]]
	run timeout 10 bash -c "'$GWCTL' stats --watch 1 | head -n 5"
	[ "$status" -eq 0 ]
	[ "$(jq -r .process <<<"$output" | tr '\n' ' ')" = "gw-bridge gw-presence gw-listen gw-listen gw-bridge " ]
}

@test "gwctl status: without gw-supervise, exit 1 and why" {
	node
	run --separate-stderr "$GWCTL" status
	[ "$status" -eq 1 ]
	[ "$stderr" = "gwctl: no gw-supervise at $GW_RUNDIR/supervise.sock: is the node run by gw-supervise?" ]
}

@test "gwctl status: the children of gw-supervise; stats of its node" {
	command -v redis-server >/dev/null || skip "no redis-server"
	port=$(free_port)
	export GW_RUNDIR=$GW_TMP/sv
	"${GW_SUPERVISE_BIN:-gw-supervise}" --rundir "$GW_RUNDIR" --auth none \
	    --listen "127.0.0.1:$port" --workers 2 --drain-time 1 \
	    </dev/null >"$GW_TMP/sv.log" 2>&1 3>&- &
	sp=$!
	echo "$sp" >>"$GW_TMP/spawned.pids"
	wait_health "$port" 200 20 || { cat "$GW_TMP/sv.log"; return 1; }
	run --separate-stderr "$GWCTL" status
	[ "$status" -eq 0 ]
	ndjson <<<"$output"
	[ "$(jq -r .name <<<"$output" | sort | tr '\n' ' ')" = "gw-bridge gw-listen[0] gw-listen[1] gw-presence redis-server " ]
	[ "$(jq -r .state <<<"$output" | sort -u)" = running ]
	run "$GWCTL" --table status
	[[ "${lines[0]}" == "NAME "*"PID  STATE    UPTIME  RESTARTS" ]]
	run "$GWCTL" stats
	[ "$(jq -r .process <<<"$output" | sort | tr '\n' ' ')" = "gw-bridge gw-listen gw-listen gw-presence " ]
	kill -TERM "$sp"
	wait_pid "$sp" 20
	[ "$WAIT_STATUS" -eq 0 ]
	run --separate-stderr "$GWCTL" status
	[ "$status" -eq 1 ]
}

# ---------------------------------------------------------------------
# token
# ---------------------------------------------------------------------

@test "gwctl token --table: the whole token, not cut like other cells (a terminal's copy must work)" {
	local t tok
	make_secret
	t=$("$GWCTL" --table token alice --ttl 0 --info '{"name":"Alice Liddell","team":"wonderland"}' --secret-file "$GW_SECRET")
	echo "$t"
	tok=$(sed -n 2p <<<"$t" | awk '{ print $NF }')
	[ "${#tok}" -gt 120 ]
	# Its signature checks with the secret: nothing was cut.
	"$PY" - "$tok" "$GW_SECRET" <<'PYEOF'
import base64, hashlib, hmac, sys
tok, key = sys.argv[1], open(sys.argv[2], "rb").read().rstrip(b"\n")
h, p, s = tok.split(".")
mac = base64.urlsafe_b64encode(hmac.new(key, (h + "." + p).encode(),
                                        hashlib.sha256).digest())
assert mac.rstrip(b"=").decode() == s, "bad signature"
PYEOF
}

@test "gwctl token: gw-listen --auth jwt accepts it, with info and channels" {
	make_secret
	secret=$GW_SECRET
	node 1 --auth jwt --secret-file "$GW_SECRET"
	run --separate-stderr "$GWCTL" token alice --info '{"name":"Alice"}' \
	    --channels 'private:a*,team' --ttl 600 --secret-file "$GW_SECRET"
	[ "$status" -eq 0 ]
	ndjson <<<"$output"
	tok=$(jq -r .token <<<"$output")
	exp=$(jq -r .exp <<<"$output")
	now=$(date +%s)
	[ "$exp" -gt $((now + 590)) ] && [ "$exp" -le $((now + 610)) ]
	ws alice --port "$GW_PORT" --token "$tok" --channel private:abc \
	    --channel private:zzz --presence --until-close
	[ "$(jq -r .userId <(head -n 1 "$GW_TMP/alice.out"))" = alice ]
	run jq -r 'select(.id) | .type' "$GW_TMP/alice.out"
	[ "$output" = $'subscribed\nerror' ]
	for ((i = 0; i < 216; i++)); do
		out=$("$GWCTL" presence private:abc)
		[ -n "$out" ] && break
		nap "$i"
	done
	[ "$(jq -c .info <<<"$out")" = '{"name":"Alice"}' ]
	# Without exp (--ttl 0), from $GW_SECRET_FILE; a table.
	GW_SECRET_FILE=$GW_SECRET run "$GWCTL" --table token bob --ttl 0
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "USER  EXPIRES  TOKEN" ]]
	[[ "${lines[1]}" == "bob   -        ey"* ]]
	# A token of another secret is refused.
	make_secret "$GW_TMP/other"
	tok=$("$GWCTL" token alice --secret-file "$GW_TMP/other" |
	    jq -r .token)
	run "$PY" "$CC" --port "$GW_PORT" --token "$tok"
	[ "$status" -eq 3 ]
	[ "$output" = '{"http": 401}' ]
	# -c: the configuration's rundir and secret_file; a bad one is 2.
	printf 'rundir = %s\nsecret_file = %s\n' "$GW_RUNDIR" "$secret" \
	    >"$GW_TMP/gw.conf"
	tok=$(env -u GW_RUNDIR "$GWCTL" -c "$GW_TMP/gw.conf" token carol |
	    jq -r .token)
	run "$PY" "$CC" --port "$GW_PORT" --token "$tok" --count 0
	[ "$(jq -r .userId <<<"${lines[0]}")" = carol ]
	run env -u GW_RUNDIR "$GWCTL" -c "$GW_TMP/gw.conf" stats
	[ "$status" -eq 0 ]
	printf 'rundir = %s\nno_such_key = 1\n' "$GW_RUNDIR" >"$GW_TMP/bad.conf"
	run --separate-stderr "$GWCTL" -c "$GW_TMP/bad.conf" stats
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"bad.conf:2:"* ]]
	run --separate-stderr "$GWCTL" token alice --secret-file /nonexistent
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"secret file /nonexistent"* ]]
}

# ---------------------------------------------------------------------
# Completion and the manual
# ---------------------------------------------------------------------

@test "gwctl completion: commands, options, live channels and conn ids" {
	node
	ws alice --port "$GW_PORT" --user alice --channel chat:lobby \
	    --until-close
	conn=$("$GWCTL" conns | jq -r .connId)
	run "$GWCTL" __complete ''
	[ "$(echo $output)" = "publish send presence channels conns kick tail history stats status token" ]
	run "$GWCTL" __complete tail --
	[ "$(echo $output)" = "--since --presence" ]
	run "$GWCTL" __complete tail chat:lobby ''
	[ "$output" = chat:lobby ]
	run "$GWCTL" __complete kick ''
	[ "$output" = "$conn" ]
	run "$GWCTL" __complete conns --user ''
	[ "$output" = alice ]
	run "$GWCTL" __complete history chat:lobby ''
	[ -z "$output" ]
	# -c FILE before the command: offered, its file left to the shell.
	run "$GWCTL" __complete -
	[ "$(echo $output)" = "-c --rundir --json --table --help" ]
	run "$GWCTL" __complete -c ''
	[ -z "$output" ]
	run "$GWCTL" __complete -c "$GW_TMP/x.conf" pub
	[[ "$output" == *publish* ]]
	run bash -c "source '$GW_ROOT/completions/bash/gwctl'
		COMP_WORDS=(gwctl pub); COMP_CWORD=1; _gwctl
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gwctl publish ''); COMP_CWORD=2; _gwctl
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gwctl kick ''); COMP_CWORD=2; _gwctl
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gwctl history --l); COMP_CWORD=2; _gwctl
		echo \"\${COMPREPLY[*]}\"
		# As bash calls it: COMP_WORDS split at ':' as well.
		COMP_LINE='gwctl tail chat:lo'; COMP_POINT=\${#COMP_LINE}
		COMP_WORDS=(gwctl tail chat : lo); COMP_CWORD=4; _gwctl
		echo \"\${COMPREPLY[*]}\""
	[ "${lines[0]}" = publish ]
	[ "${lines[1]}" = chat:lobby ]
	[ "${lines[2]}" = "$conn" ]
	[ "${lines[3]}" = --limit ]
	[ "${lines[4]}" = lobby ]
	command -v zsh >/dev/null || skip "no zsh"
	run zsh -fc "compadd() { print -r -- \"\${@[-1]}\" }
		_describe() { print -r -- \"\$3\" }
		words=(gwctl kick ''); CURRENT=3; service=gwctl
		source '$GW_ROOT/completions/zsh/_gw'"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$conn"* ]]
}

@test "gwctl.8: mandoc -Tlint is clean; every command is in it" {
	command -v mandoc >/dev/null || skip "no mandoc"
	run mandoc -Tlint -Wwarning "$GW_ROOT/man/gwctl.8"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for c in $("$GWCTL" __complete ''); do
		grep -q "^\.It Cm $c" "$GW_ROOT/man/gwctl.8" || {
			echo "no .It Cm $c in gwctl.8"
			return 1
		}
	done
}
