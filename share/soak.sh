#!/bin/bash
# soak.sh -- make soak: a long run of mixed traffic against two nodes.
#
#	SOAK_MINUTES=30 bash share/soak.sh
#
# Starts a private redis-server on a Unix socket and two nodes (a and b)
# with gw-supervise on it (auth none, two workers each, short grace,
# node_ttl and resume_window), all in a temporary directory, then runs
# share/soak.py against both for SOAK_MINUTES (default 30).  soak.py drives
# the traffic, samples every process's RSS and fd count, prints a table
# per sample and the verdict (`soak: PASS ...` or `soak: FAIL reason`);
# its exit status is this script's.  Everything started here is stopped
# when the script ends, Ctrl-C included (SIGTERM, then SIGKILL after 15 s).
# shellcheck disable=SC2317 # stop_pid and cleanup run from the EXIT trap.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build
minutes=${SOAK_MINUTES:-30}
case $minutes in
''|*[!0-9]*|0) echo "soak.sh: SOAK_MINUTES must be a positive integer" >&2
	exit 2 ;;
esac
run=$(mktemp -d "${TMPDIR:-/tmp}/gw-soak.XXXXXX")
redis_pid=
sups=()
soak_pid=

# stop_pid PID: SIGTERM, wait at most 15 s, then SIGKILL.
stop_pid() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 150; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	local p
	trap - INT TERM
	[ -z "$soak_pid" ] || stop_pid "$soak_pid"
	for p in "${sups[@]+"${sups[@]}"}"; do
		stop_pid "$p"
	done
	[ -z "$redis_pid" ] || stop_pid "$redis_pid"
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

redis-server --unixsocket "$run/redis.sock" --unixsocketperm 700 \
    --port 0 --save '' --appendonly no --daemonize no \
    --logfile "$run/redis.log" </dev/null &
redis_pid=$!
for ((i = 0; i < 100; i++)); do
	[ -S "$run/redis.sock" ] && break
	sleep 0.1
done
[ -S "$run/redis.sock" ] || { echo "soak: FAIL redis-server did not start"; exit 1; }

ports=()
for node in a b; do
	port=$(free_port)
	"$bin/gw-supervise" --node "soak-$node" --rundir "$run/$node" \
	    --listen "127.0.0.1:$port" --workers 2 --auth none \
	    --redis "unix://$run/redis.sock" --presence-grace 2 \
	    --node-ttl 5 --resume-window 15 --drain-time 1 \
	    --log-level info </dev/null 2>>"$run/node-$node.log" &
	sups+=("$!")
	ports+=("$port")
done
for port in "${ports[@]}"; do
	ok=
	for ((i = 0; i < 200; i++)); do
		if /usr/bin/python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
			ok=1
			break
		fi
		sleep 0.1
	done
	if [ -z "$ok" ]; then
		echo "soak: FAIL node on port $port did not become healthy; logs:"
		tail -n 20 "$run"/node-*.log
		exit 1
	fi
done

set +e
/usr/bin/python3 "$top/share/soak.py" --minutes "$minutes" \
    --ports "${ports[0]},${ports[1]}" --redis-pid "$redis_pid" \
    --supervisors "${sups[0]},${sups[1]}" &
soak_pid=$!
wait "$soak_pid"
rc=$?
soak_pid=
set -e
if [ "$rc" -ne 0 ]; then
	echo "soak.sh: the nodes' last log lines:"
	tail -n 10 "$run"/node-*.log
fi
exit "$rc"
