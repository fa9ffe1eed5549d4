#!/bin/bash
# gw-bench.sh -- the gw-bench scenarios against one node run by
# gw-supervise (a private redis-server, gw-bridge, gw-presence and the
# gw-listen workers, auth none, publish rate unlimited), started afresh
# for each scenario in a temporary run directory.  The server's RSS and
# CPU are summed over gw-supervise and all its children.
#
#	share/bench/gw-bench.sh [SCENARIO...]	(default: all, about 40 s)
#
# s1	idle capacity: GW_BENCH_S1_CONNS (20 000) connections on 100
#	channels held for 10 s with a ping every 5 s: RSS per
#	connection, CPU while idle (two rounds of heartbeats)
# s2	fan-out: 1 000 subscribers of one channel, 100 msg/s for 5 s
# s2big	fan-out: 10 000 subscribers of one channel, 100 msg/s for 5 s
# s3	many channels: 10 000 subscribers on 10 000 channels, 10 000
#	msg/s round-robin over them for 3 s (after a 1 s warm-up)
#
# GW_BENCH_JSON=DIR also writes each scenario's JSON to DIR/NAME.json.
# Every run is bounded: gw-bench has its own deadlines, and the node is
# stopped (SIGTERM, then SIGKILL after 15 s) when the script ends.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build
run=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench.XXXXXX")
sup=
cleanup() {
	stop_node
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_node: SIGTERM the node and wait (at most 15 s), then SIGKILL.
stop_node() {
	local i
	[ -n "$sup" ] || return 0
	kill -TERM "$sup" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$sup" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$sup" 2>/dev/null || true
	wait "$sup" 2>/dev/null || true
	sup=
}

# start_node WORKERS: a node on a free port, with the gw-supervise
# arguments in the array node_args too; sets port and sup.
node_args=()
start_node() {
	local i
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	rm -rf "$run/run"
	"$bin/gw-supervise" --rundir "$run/run" --auth none \
	    --listen "127.0.0.1:$port" --workers "$1" \
	    --publish-rate 1000000 --publish-burst 1000000 \
	    --drain-time 1 --log-level quiet ${node_args[@]+"${node_args[@]}"} \
	    </dev/null 2>>"$run/node.log" &
	sup=$!
	for ((i = 0; i < 200; i++)); do
		if /usr/bin/python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
			return 0
		fi
		kill -0 "$sup" 2>/dev/null || break
		sleep 0.1
	done
	echo "gw-bench.sh: the node did not become healthy; its log:" >&2
	cat "$run/node.log" >&2
	exit 1
}

# server_pids: gw-supervise and its children, comma-separated.
server_pids() {
	local kids
	kids=$(pgrep -P "$sup" | paste -sd, -)
	echo "$sup${kids:+,$kids}"
}

# scenario NAME WORKERS GW-BENCH-ARGS...: one run of gw-bench on a fresh
# node; the table on stdout, the JSON in $GW_BENCH_JSON/NAME.json.
scenario() {
	local name=$1 workers=$2 out
	shift 2
	start_node "$workers"
	echo "== $name: gw-bench $*"
	out=$run/$name.json
	"$bin/gw-bench" --url "ws://127.0.0.1:$port/ws" \
	    --server-pids "$(server_pids)" --json "$@" >"$out" || true
	if [ -s "$out" ] && jq -e . "$out" >/dev/null 2>&1; then
		summary "$out"
		if [ -n "${GW_BENCH_JSON:-}" ]; then
			mkdir -p "$GW_BENCH_JSON"
			cp "$out" "$GW_BENCH_JSON/$name.json"
		fi
	else
		echo "$name: gw-bench failed; node log:"
		tail -n 20 "$run/node.log"
	fi
	stop_node
}

# summary FILE: the figures of one JSON report, one line each.
summary() {
	jq -r '
	"  connections   \(.connections.opened) opened, \(.connections.failed) failed in \(.connections.connect_s) s",
	"  deliveries    \(.deliveries.received) of \(.deliveries.expected) (lost \(.deliveries.lost), gaps \(.deliveries.gaps)), \(.deliveries.per_s)/s",
	"  latency ms    p50 \(.latency_ms.p50)  p90 \(.latency_ms.p90)  p99 \(.latency_ms.p99)  max \(.latency_ms.max)",
	"  server RSS    \(.server.rss_kib.start) -> \(.server.rss_kib.subscribed) KiB: \(.server.rss_per_conn_bytes) bytes per connection",
	"  server CPU    \(.server.cpu_run_s) s in \(.server.run_s) s (\(.server.cpu_run_pct) % of a core)",
	"  per process   " + ([.server_by_pid[] | "\(.name) +\(.rss_kib[1] - .rss_kib[0]) KiB \((.cpu_s[2] - .cpu_s[1]) * 100 | round / 100) s"] | join(", "))' "$1"
}

[ $# -gt 0 ] || set -- s1 s2 s2big s3
for s in "$@"; do
	case $s in
	s1)
		# Pings every 5 s, so that 10 s hold two rounds of them.
		node_args=(--ping-interval 5)
		scenario s1-idle 2 --conns "${GW_BENCH_S1_CONNS:-20000}" \
		    --channels 100 --rate 0 --warmup 0 --duration 10
		node_args=() ;;
	s2)
		scenario s2-fanout-1k 2 --conns 1000 --channels 1 \
		    --rate 100 --warmup 1 --duration 5 ;;
	s2big)
		scenario s2-fanout-10k 2 --conns 10000 --channels 1 \
		    --rate 100 --warmup 1 --duration 5 --drain 20 ;;
	s3)
		scenario s3-channels-10k 2 --conns 10000 --channels 10000 \
		    --rate 10000 --warmup 1 --duration 3 --drain 10 ;;
	*)
		echo "gw-bench.sh: unknown scenario $s (s1, s2, s2big, s3)" >&2
		exit 2 ;;
	esac
done
