#!/bin/bash
# closes.sh -- what a mass disconnect costs the node.  One node
# (gw-supervise, a private redis-server, WORKERS gw-listen workers,
# --presence-grace 1), CONNS connections from gw-bench, each its own
# user, subscribed to 100 channels with presence; once gw-presence has
# done every join, the load generator is killed (SIGKILL: its sockets
# close at once, as when a load balancer or a client network goes), and
# the node's processes' CPU (utime + stime from /proc) is read from
# before the kill to when every connection is gone, its session saved
# and its presence left.  Prints the CPU per close for each kind of
# process, how long the node took, and the workers' loop turns of 100 ms
# or more meanwhile (gwctl stats: while a turn lasts, no other client is
# served).
#
#	share/bench/closes.sh	(CONNS=20000 WORKERS=2: about 30 s)
#
# PERF=FILE records the whole machine (perf record -a -g) into FILE for
# the 5 s from the kill on: `perf report -i FILE --comms gw-listen`.
# Every wait is bounded; the node and the load generator are stopped
# when the script ends.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build
conns=${CONNS:-20000}
workers=${WORKERS:-2}

# shellcheck source=share/bench/node.sh
. "$top/share/bench/node.sh"
node_start closes "$workers" --max-connections $((conns * 2)) \
    --presence-grace 1
"$bin/gw-bench" --url "ws://127.0.0.1:$port/ws" --conns "$conns" \
    --procs "$workers" --channels 100 --rate 0 --warmup 0 --duration 600 \
    --json >"$run/bench.json" 2>"$run/bench.err" &
bp=$!
node_joined "$conns"
# The sum of utime + stime of the node's processes named $1.
cpu() {
	local p t=0
	for p in $(pgrep -P "$sup" -x "$1"); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
procs="gw-listen gw-presence gw-bridge redis-server"
# The node is done: no connection, no presence entry, no Redis command
# of gw-presence's waiting or queued.
done_() {
	node_stats | jq -s -e '([.[] | select(.process=="gw-listen") |
	    .counters.connections] | add) == 0 and
	    ([.[] | select(.process=="gw-presence") | .counters |
	    .entries + .redis_awaited + .redis_queued] | add) == 0' \
	    >/dev/null
}
turns() { node_stats | jq -s '[.[] | select(.process=="gw-listen") |
    .counters.loop_turns_100ms] | add'; }
sleep 1
declare -A c0
for p in $procs; do c0[$p]=$(cpu "$p"); done
n0=$(turns)
pp=
if [ -n "${PERF:-}" ]; then
	perf record -q -a -g -o "$PERF" -- sleep 5 >/dev/null 2>&1 &
	pp=$!
	sleep 0.5
fi
t0=$(date +%s.%N)
# (stderr: no "Killed" notice from job control when bash reaps it.)
{
	pkill -KILL -P "$bp" || true
	kill -KILL "$bp" || true
	wait "$bp" || true
} 2>/dev/null
bp=
for ((i = 0; i < 600; i++)); do
	done_ && break
	sleep 0.1
done
t1=$(date +%s.%N)
done_ || { echo "closes.sh: the node not done within 60 s" >&2; exit 1; }
n1=$(turns)
[ -z "$pp" ] || wait "$pp" || true
args=""
for p in $procs; do args="$args $p ${c0[$p]} $(cpu "$p")"; done
# shellcheck disable=SC2086
/usr/bin/python3 - "$conns" "$workers" "$t0" "$t1" "$((n1 - n0))" \
    "$(getconf CLK_TCK)" $args <<'EOF'
import sys
conns, workers = int(sys.argv[1]), int(sys.argv[2])
t0, t1, turns, hz = float(sys.argv[3]), float(sys.argv[4]), \
    int(sys.argv[5]), int(sys.argv[6])
rest = sys.argv[7:]
print("%d connections on %d workers closed at once: the node done in %.1f s,"
      " %d worker turns of 100 ms or more" % (conns, workers, t1 - t0, turns))
total = 0.
for i in range(0, len(rest), 3):
    us = 1e6 * (int(rest[i + 2]) - int(rest[i + 1])) / hz / conns
    total += us
    print("  %-13s %6.1f us a close" % (rest[i], us))
print("  %-13s %6.1f us a close" % ("node", total))
EOF
