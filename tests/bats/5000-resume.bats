#!/usr/bin/env bats
# 5000-resume.bats -- sessions that resume on any node, and draining
# (issue 5, PROTOCOL.md section 4): a TCP connection dropped abruptly and
# resumed on the other node with what was missed, a node killed with
# SIGKILL and its clients' channels restored elsewhere, someone else's
# or an expired session id giving a fresh session, and a node drained
# with SIGTERM while the other publishes: 503 at once, closes 1001
# spread over the drain time, every client resumed elsewhere with
# nothing lost or doubled.
#
# Two nodes (gw-bridge, gw-presence, gw-listen) on one private Redis;
# the clients are python3-websockets (helpers/resumecheck.py).  Timers
# are short: --presence-grace 1, --node-ttl 2, --resume-window 3,
# --drain-time 2.  Every wait is bounded.

bats_require_minimum_version 1.5.0

load ../helpers/gw

RC="$GW_HELPERS/resumecheck.py"
GRACE=1
TTL=2
WINDOW=3
DRAIN=2

setup() {
	gw_setup
	NODE_PRESENCE=1
	NODE_PRESENCE_ARGS=(--node-ttl "$TTL" --presence-grace "$GRACE"
	    --resume-window "$WINDOW")
	start_node a 1 --drain-time "$DRAIN"
	PA=$GW_PORT
	LA=$GW_PID
	start_node b 1 --drain-time "$DRAIN"
	PB=$GW_PORT
	PRB=$PRESENCE_PID
}

teardown() {
	gw_teardown
}

rcheck() {
	"$PY" "$RC" "$@" --ports "$PA,$PB" --redis "$REDIS_SOCK" \
	    --grace "$GRACE" --window "$WINDOW" --drain "$DRAIN"
}

@test "resume on the other node after an abrupt drop: recovered, exactly the missed messages, then live; no presence flicker" {
	rcheck other-node
	# A is alive and connected: B waited for its closing save.
	[ "$(pstats b | jq .sessions_taken)" -eq 0 ]
}

# pstats NODE: node NODE's gw-presence counters (gwctl stats).
pstats() {
	GW_RUNDIR=$GW_TMP/$1 gwctl stats |
	    jq -c 'select(.process == "gw-presence") | .counters'
}

# killed_resume: the killed scenario (node a killed, its client resumed
# on b); C is node b's gw-presence counters while the client is on b.
killed_resume() {
	bg_start killed "$PY" "$RC" killed --ports "$PA,$PB" \
	    --redis "$REDIS_SOCK" --sync "$GW_TMP/sync"
	phase_wait killme
	kill_node a
	phase_go killme
	phase_wait counted
	C=$(pstats b)
	phase_go counted
	bg_finish
	echo "node b's gw-presence: $C"
}

@test "a close in the same turn as a burst of messages: they are written before the close frame, and the session's offset is the last one written, none given again by the resume" {
	rcheck stalled-close --pid "$LA"
}

@test "a closing save that comes late from the node the session was on before (its gw-presence stopped) does not replace the state of the node that resumed it since: the next resume gives nothing twice" {
	rcheck stale-close --pid "$PRB"
}

@test "a resume while the node's gw-bridge is gone: the channels wait, no error; restored from the session's offsets when the bridge is back, the missed messages once" {
	bg_start bridge-away "$PY" "$RC" bridge-away --ports "$PA,$PB" \
	    --redis "$REDIS_SOCK" --sync "$GW_TMP/sync"
	phase_wait killbridge
	kill_bridge KILL "$(head -n 1 "$GW_TMP/a.pids")"
	phase_go killbridge
	phase_wait startbridge
	GW_NODE_RUNDIR=$GW_TMP/a start_bridge
	phase_go startbridge
	bg_finish
}

@test "a resume while the bridge is gone that leaves before it is back keeps the session's offsets: a resume elsewhere recovers what was missed" {
	bg_start bridge-away-closed "$PY" "$RC" bridge-away-closed \
	    --ports "$PA,$PB" --redis "$REDIS_SOCK" --sync "$GW_TMP/sync"
	phase_wait killbridge
	kill_bridge KILL "$(head -n 1 "$GW_TMP/a.pids")"
	phase_go killbridge
	bg_finish
}

@test "resume after the node was killed (SIGKILL): the channels and presence flags are restored, recovered false; the session taken at once (its holder's Redis link gone), not after 0.75 s of loads, and not saved again" {
	local c
	killed_resume
	c=$C
	# A's lease lives on for --node-ttl; its link went with it.
	[ "$(jq .sessions_taken <<<"$c")" -eq 1 ]
	[ "$(jq .session_loads <<<"$c")" -le 3 ]
	# The only save: the publisher's subscribe.  The restored list is
	# the one loaded (no offsets in it: a killed node saved none).
	[ "$(jq .sessions_saved <<<"$c")" -eq 1 ]
	rcli CLIENT LIST TYPE normal | grep -c ' name=gwp:b/'
}

@test "resume after SIGKILL, recovered false, then the client's subscribe with since: the gap's messages, not the live ones given since the resume, then live" {
	bg_start killed-fill "$PY" "$RC" killed-fill --ports "$PA,$PB" \
	    --redis "$REDIS_SOCK" --sync "$GW_TMP/sync"
	phase_wait killme
	kill_node a
	phase_go killme
	bg_finish
}

@test "a Redis that refuses CLIENT LIST: a killed node's session is taken after the 0.75 s of loads, as before, and restored the same" {
	# Every link is Redis's default user.
	rcli ACL SETUSER default -client\|list
	killed_resume
	[ "$(jq .sessions_taken <<<"$C")" -eq 0 ]
	[ "$(jq .session_loads <<<"$C")" -eq 5 ]
}

@test "someone else's, a malformed or an unknown session id: a fresh session, never an error; the owner still resumes" {
	rcheck foreign
}

@test "a session not resumed within resume_window is gone: a fresh session" {
	rcheck expired
}

@test "drain (SIGTERM): /healthz 503 at once, closes 1001 spread over the drain time, clients resume on the other node, nothing lost or doubled, exit 0" {
	local code
	bg_start drain "$PY" "$RC" drain --ports "$PA,$PB" \
	    --redis "$REDIS_SOCK" --sync "$GW_TMP/sync" --drain "$DRAIN"
	phase_wait term
	kill -TERM "$LA"
	code=$(healthz "$PA")
	echo "/healthz right after SIGTERM: $code"
	phase_go term
	bg_finish
	[ "$code" = 503 ]
	wait_exit "$LA" $((DRAIN + 5))
	echo "gw-listen exit status $GW_EXIT"
	[ "$GW_EXIT" -eq 0 ]
}

@test "the client library against two live nodes: node --test tests/js/live.test.mjs" {
	# make test installs it (share/deps.sh): its absence is a failure.
	if [ ! -d "$GW_ROOT/build/npm/node_modules/ws" ]; then
		echo "the npm package ws is not in build/npm: run make deps"
		return 1
	fi
	GW_WS_URL="ws://127.0.0.1:$PA/ws,ws://127.0.0.1:$PB/ws" \
	    run node --test --test-reporter=tap "$GW_ROOT/tests/js/live.test.mjs"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"# pass 1"* ]]
}

@test "a session resumed while its first connection is still open (same node, other node): the first connection's later subscribe and close leave the resumer's state alone" {
	rcheck resumed-open --case same
	rcheck resumed-open --case other
}
