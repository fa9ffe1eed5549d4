#!/bin/bash
# idle-rss.sh -- memory of gw-listen per idle, subscribed connection: start
# a private redis-server, gw-bridge and gw-listen, open 10 000 connections
# (each subscribed to one of 100 channels) and report the growth of
# gw-listen's RSS per connection.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${GW_BENCH_CONNS:-10000}
chans=${GW_BENCH_CHANNELS:-100}
ulimit -n 20000 2>/dev/null || true
run=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT INT TERM
redis-server --port 0 --unixsocket "$run/redis.sock" --save '' \
    --appendonly no --dir "$run" --logfile "$run/redis.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$run/redis.sock" ] && break; sleep 0.05; done
"$top/build/gw-bridge" --rundir "$run/run" --redis "unix://$run/redis.sock" \
    2>"$run/bridge.log" &
pids+=($!)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$top/build/gw-listen" --auth none --rundir "$run/run" -l "127.0.0.1:$port" \
    2>"$run/listen.log" &
pid=$!
pids+=("$pid")
for i in $(seq 100); do
	/usr/bin/python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null && break
	[ "$i" -lt 100 ] || { echo "gw-listen did not become healthy" >&2; exit 1; }
	sleep 0.1
done
/usr/bin/python3 "$top/share/bench/idle_conns.py" --port "$port" --pid "$pid" \
    -n "$n" --channels "$chans"
