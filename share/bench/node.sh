#!/bin/bash
# node.sh -- sourced by heartbeats.sh and closes.sh: one node under
# gw-supervise in a temporary directory, with auth none and a private
# redis-server; its counters; the load generator's connections waited
# for; and, on exit, everything stopped and removed.
#
#	node_start TAG WORKERS [gw-supervise options...]
#		sets run (the directory, /tmp/gw-TAG.*), port and sup (the
#		supervisor's pid); returns once WORKERS workers answer
#	node_stats
#		gwctl stats of the node, NDJSON (nothing if it is away)
#	node_joined N
#		waits (120 s at most) until gw-presence counts N joins;
#		exits 1 with a message if it does not
#
# The caller sets bin (the build directory) first, and bp to the load
# generator's pid once it runs: the EXIT trap kills it too.

# shellcheck disable=SC2154 # bin: the caller's
: "${bin:?node.sh: set bin first}"
run=
sup=
bp=
port=

node_cleanup() {
	local p
	for p in $bp $sup; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ -z "$run" ] || rm -rf "$run"
}
trap node_cleanup EXIT

node_stats() {
	"$bin/gwctl" --rundir "$run/n" --json stats 2>/dev/null || true
}

node_start() {
	local tag=$1 workers=$2 i
	shift 2
	run=$(mktemp -d "/tmp/gw-$tag.XXXXXX")
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$bin/gw-supervise" --rundir "$run/n" --node n --auth none \
	    --listen "127.0.0.1:$port" --workers "$workers" \
	    --drain-time 1 --log-level quiet "$@" \
	    </dev/null 2>>"$run/node.log" &
	sup=$!
	for ((i = 0; i < 200; i++)); do
		[ "$(node_stats | jq -s \
		    '[.[] | select(.process=="gw-listen")] | length')" \
		    -ge "$workers" ] && return 0
		sleep 0.1
	done
	echo "$(basename "$0"): $workers workers not up within 20 s" >&2
	exit 1
}

node_joined() {
	local want=$1 joins=0 i
	for ((i = 0; i < 240; i++)); do
		joins=$(node_stats | jq -s '[.[] |
		    select(.process=="gw-presence") | .counters.joins][0] // 0')
		[ "$joins" -ge "$want" ] && return 0
		sleep 0.5
	done
	echo "$(basename "$0"): $joins of $want joined within 120 s" >&2
	exit 1
}
