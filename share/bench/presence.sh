#!/bin/bash
# presence.sh -- latency of presence and typing events between two nodes,
# and their cost in Redis commands: start a private redis-server and two
# nodes (gw-bridge, gw-presence, gw-listen each), then run
# presence_lat.py.  Node B's gw-presence has no grace, so that a leave
# is timed from the close.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${GW_BENCH_USERS:-300}
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
ports=()
for node in a b; do
	"$top/build/gw-bridge" --rundir "$run/$node" --node "$node" \
	    --redis "unix://$run/redis.sock" 2>"$run/$node.bridge.log" &
	pids+=($!)
	"$top/build/gw-presence" --rundir "$run/$node" --node "$node" \
	    --redis "unix://$run/redis.sock" --presence-grace 0 \
	    2>"$run/$node.presence.log" &
	pids+=($!)
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$top/build/gw-listen" --auth none --rundir "$run/$node" \
	    --node "$node" -l "127.0.0.1:$port" 2>"$run/$node.listen.log" &
	pids+=($!)
	ports+=("$port")
	for i in $(seq 100); do
		/usr/bin/python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null && break
		[ "$i" -lt 100 ] || { echo "gw-listen $node did not become healthy" >&2; exit 1; }
		sleep 0.1
	done
	for i in $(seq 100); do
		[ -S "$run/$node/presence.sock" ] && break
		[ "$i" -lt 100 ] || { echo "gw-presence $node did not start" >&2; exit 1; }
		sleep 0.1
	done
done
/usr/bin/python3 "$top/share/bench/presence_lat.py" --a "${ports[0]}" \
    --b "${ports[1]}" --redis "$run/redis.sock" -n "$n"
