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
# Also printed: the workers' context switches a heartbeat, and the whole
# machine's CPU a heartbeat (/proc/stat: both ends, the kernel's softirq
# work included, whoever it was charged to).
# MODE=tcp runs the node with --ping-mode tcp: the heartbeats are then
# the kernel's keepalive probes (nstat's TcpExtTCPKeepAlive), which no
# process sees: the whole machine's figure is their cost.  Every wait is
# bounded; the node and the load generator are stopped when the script
# ends.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build
conns=${CONNS:-100000}
workers=${WORKERS:-6}
ping=${PING:-2.5}
secs=${SECONDS_:-30}
nice=${NICE:-0}
mode=${MODE:-ws}

# shellcheck source=share/bench/node.sh
. "$top/share/bench/node.sh"
node_start hb "$workers" --max-connections $((conns * 2)) \
    --publish-rate 1000000 --publish-burst 1000000 --ping-interval "$ping" \
    --ping-mode "$mode"
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
# The machine's busy time (everything but idle and iowait), in ticks.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
probes() {
	nstat -az TcpExtTCPKeepAlive |
	    awk '$1 == "TcpExtTCPKeepAlive" { print $2 }'
}
c0=$(cpu); m0=$(out); w0=$(csw); b0=$(busy); k0=$(probes); t0=$(date +%s.%N)
sleep "$secs"
c1=$(cpu); m1=$(out); w1=$(csw); b1=$(busy); k1=$(probes); t1=$(date +%s.%N)
/usr/bin/python3 - "$c0" "$c1" "$m0" "$m1" "$t0" "$t1" \
    "$(getconf CLK_TCK)" "$conns" "$workers" "$ping" "$nice" "$w0" "$w1" \
    "$b0" "$b1" "$k0" "$k1" "$mode" <<'EOF'
import sys
c0, c1, m0, m1 = (int(x) for x in sys.argv[1:5])
t0, t1 = float(sys.argv[5]), float(sys.argv[6])
hz, conns, workers = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
ping, nice = sys.argv[10], sys.argv[11]
w0, w1 = int(sys.argv[12]), int(sys.argv[13])
b0, b1, k0, k1 = (int(x) for x in sys.argv[14:18])
mode = sys.argv[18]
cpu, machine = (c1 - c0) / hz, (b1 - b0) / hz
beats = m1 - m0 if mode == "ws" else k1 - k0
what = "pings" if mode == "ws" else "keepalive probes"
if beats <= 0:
    sys.exit("heartbeats.sh: no %s in %.1f s (gw-listen %.2f s of CPU,"
             " %d context switches; the whole machine %.2f s)"
             % (what, t1 - t0, cpu, w1 - w0, machine))
us, mus = 1e6 * cpu / beats, 1e6 * machine / beats
print("%d connections, %d workers, %s every %s s, receivers at nice %s:"
      % (conns, workers, "ping" if mode == "ws" else "keepalive", ping,
         nice))
print("  %d %s in %.1f s, gw-listen %.2f s of CPU: %.2f us a heartbeat,"
      " %.1f %% of a core for a million at 25 s"
      % (beats, what, t1 - t0, cpu, us, us * 40000 / 1e4))
print("  the whole machine %.2f s of CPU: %.2f us a heartbeat, %.1f %% of"
      " a core for a million at 25 s (both ends)"
      % (machine, mus, mus * 40000 / 1e4))
print("  %.3f context switches of the workers a heartbeat"
      % ((w1 - w0) / beats))
EOF
