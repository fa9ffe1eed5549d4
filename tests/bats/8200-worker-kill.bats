#!/usr/bin/env bats
# 8200-worker-kill.bats -- one gw-listen worker of several on a port
# (SO_REUSEPORT) killed with SIGKILL while messages flow (issue 8,
# PROTOCOL.md sections 1 and 4).
#
# Node a: gw-bridge, gw-presence and three gw-listen workers on one port
# and one run directory, as gw-supervise runs them; node b: gw-bridge,
# gw-presence and one gw-listen, on the same private Redis.  The clients
# are python3-websockets (helpers/workerkill.py, which says what is
# checked there); the worker to kill is the one the scenario names, and
# here we check that the port still serves (/healthz 200 within 2 s,
# then ten times in a row) and that the other workers live on.  Timers are short: --presence-grace 2, --node-ttl 3,
# --resume-window 10; the history keeps 1000 messages, so that all that
# was published during the test is still there.  Every wait is bounded.

bats_require_minimum_version 1.5.0

load ../helpers/gw

WK="$GW_HELPERS/workerkill.py"
GRACE=2
TTL=3
WINDOW=10
WORKERS=3

setup() {
	gw_setup
	NODE_PRESENCE=1
	NODE_PRESENCE_ARGS=(--node-ttl "$TTL" --presence-grace "$GRACE"
	    --resume-window "$WINDOW")
	NODE_BRIDGE_ARGS=(--history-size 1000)
	start_node a 1
	PA=$GW_PORT
	WPIDS=("$GW_PID")
	while [ "${#WPIDS[@]}" -lt "$WORKERS" ]; do
		start_worker a "$PA"
		WPIDS+=("$GW_PID")
	done
	start_node b 1
	PB=$GW_PORT
}

teardown() {
	gw_teardown
}

# start_worker NAME PORT: one more gw-listen of node NAME (its run
# directory, its --node) on PORT, which the node's first worker already
# serves; waits until it accepts and /healthz says 200.  Sets GW_PID.
start_worker() {
	GW_NODE_RUNDIR=$GW_TMP/$1 GW_WANT_PORT=$2 \
	    start_listen --auth none --node "$1" || return 1
	echo "$GW_PID" >>"$GW_TMP/$1.pids"
}

# kill_worker PID: SIGKILL to one gw-listen this test started; wait for
# it to go and forget it (the teardown does not check it).
kill_worker() {
	local pid=$1 j
	{
		kill -KILL "$pid" || true
		wait "$pid" || true
	} 2>/dev/null
	if kill -0 "$pid" 2>/dev/null; then
		echo "gw-listen $pid still there after SIGKILL"
		return 1
	fi
	for j in "${!GW_PIDS[@]}"; do
		[ "${GW_PIDS[$j]}" = "$pid" ] && unset "GW_PIDS[$j]"
	done
	return 0
}

@test "SIGKILL of one of three workers on a port: its clients drop (1006) and resume on the others with every message once; the others see nothing; presence converges" {
	local victim pid i t0 ms
	bg_start wk "$PY" "$WK" --port "$PA" --port-b "$PB" \
	    --workers "$(IFS=,; echo "${WPIDS[*]}")" --rundir "$GW_TMP/a" \
	    --redis "$REDIS_SOCK" --sync "$GW_TMP/sync" --grace "$GRACE" \
	    --ttl "$TTL" --gwctl "$GWCTL_BIN"
	phase_wait killme 60
	victim=$(cat "$GW_TMP/sync/victim")
	echo "victim: $victim of ${WPIDS[*]}"
	[[ " ${WPIDS[*]} " == *" $victim "* ]]
	kill_worker "$victim"
	t0=$EPOCHREALTIME
	# The port still serves, at once: 200 within 2 s, then ten in a
	# row (new connections from random ports reach every live worker).
	wait_health "$PA" 200 2
	ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
	echo "/healthz 200 ${ms} ms after the kill"
	[ "$ms" -le 2000 ]
	for ((i = 0; i < 10; i++)); do
		[ "$(healthz "$PA")" = 200 ]
	done
	phase_go killme
	bg_finish 60
	# The other workers are still there (the teardown stops them and
	# checks their exit and their logs).
	for pid in "${WPIDS[@]}"; do
		[ "$pid" = "$victim" ] || kill -0 "$pid"
	done
}
