#!/bin/bash
# heartbeats.sh -- what the heartbeats of idle connections cost gw-listen.
# One node (gw-supervise, a private redis-server, WORKERS gw-listen
# workers, --ping-interval PING), CONNS idle connections from gw-bench
# (one receiver process per worker, subscribed to 100 channels, nothing
# published); once gw-presence has done every join, the workers' CPU
# (utime + stime from /proc) and their frames out (gwctl stats:
# messages_out, which are only pings here) over SECONDS.  Prints the
# CPU per heartbeat (a ping and its pong) and what that would be for a
# million connections pinged every 25 s (40 000 a second).
#
#	share/bench/heartbeats.sh	(CONNS=100000 WORKERS=6 PING=2.5
#					 SECONDS_=30 NICE=0: a million's
#					 rate, about 2 minutes)
#
# NICE runs the load generator's receivers at that niceness
# (gw-bench --receiver-nice); PROCS sets their number (default WORKERS).
# Also printed: the workers' context switches a heartbeat.  Every wait is bounded; the node and the
# load generator are stopped when the script ends.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build
conns=${CONNS:-100000}
workers=${WORKERS:-6}
ping=${PING:-2.5}
secs=${SECONDS_:-30}
nice=${NICE:-0}

# shellcheck source=share/bench/node.sh
. "$top/share/bench/node.sh"
node_start hb "$workers" --max-connections $((conns * 2)) \
    --publish-rate 1000000 --publish-burst 1000000 --ping-interval "$ping"
# Long enough for the connections, the wait for the joins and the window.
"$bin/gw-bench" --url "ws://127.0.0.1:$port/ws" --conns "$conns" \
    --procs "${PROCS:-$workers}" --channels 100 --rate 0 --warmup 0 \
    --duration $((secs + 120)) --receiver-nice "$nice" --json \
    >"$run/bench.json" 2>"$run/bench.err" &
bp=$!
node_joined "$conns"
cpu() {
	local p t=0
	for p in $(pgrep -P "$sup" -x gw-listen); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
# The workers' context switches (voluntary: a wait for work; and not).
csw() {
	local p t=0
	for p in $(pgrep -P "$sup" -x gw-listen); do
		t=$((t + $(awk '/ctxt_switches/ {n += $2} END {print n}' \
		    "/proc/$p/status")))
	done
	echo "$t"
}
out() { node_stats | jq -s '[.[] | select(.process=="gw-listen") |
    .counters.messages_out] | add'; }
c0=$(cpu); m0=$(out); w0=$(csw); t0=$(date +%s.%N)
sleep "$secs"
c1=$(cpu); m1=$(out); w1=$(csw); t1=$(date +%s.%N)
/usr/bin/python3 - "$c0" "$c1" "$m0" "$m1" "$t0" "$t1" \
    "$(getconf CLK_TCK)" "$conns" "$workers" "$ping" "$nice" "$w0" "$w1" \
    <<'EOF'
import sys
c0, c1, m0, m1 = (int(x) for x in sys.argv[1:5])
t0, t1 = float(sys.argv[5]), float(sys.argv[6])
hz, conns, workers = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
ping, nice = sys.argv[10], sys.argv[11]
w0, w1 = int(sys.argv[12]), int(sys.argv[13])
cpu, pings = (c1 - c0) / hz, m1 - m0
if pings <= 0:
    sys.exit("heartbeats.sh: no ping in the window (gw-listen %.2f s of"
             " CPU, %d context switches)" % (cpu, w1 - w0))
us = 1e6 * cpu / pings
print("%d connections, %d workers, ping every %s s, receivers at nice %s:"
      % (conns, workers, ping, nice))
print("  %d pings in %.1f s, gw-listen %.2f s of CPU: %.2f us a heartbeat,"
      " %.1f %% of a core for a million at 25 s"
      % (pings, t1 - t0, cpu, us, us * 40000 / 1e4))
print("  %.3f context switches of the workers a heartbeat"
      % ((w1 - w0) / pings))
EOF
