#!/bin/sh
# run.sh -- "make run": a development node on this machine.  Until
# gw-supervise exists it starts the processes itself: a private
# redis-server on a Unix socket in a temporary run directory, gw-bridge,
# gw-presence, and gw-listen with auth = none (ids from ?user=ID) and the
# demo page at /.  Ctrl-C
# stops them all and removes the run directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
addr=${GW_LISTEN:-127.0.0.1:8080}
run=$(mktemp -d "${TMPDIR:-/tmp}/gw-run.XXXXXX")
pids=""
stop() {
	trap - INT TERM EXIT
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$run"
}
trap stop INT TERM EXIT

redis-server --port 0 --unixsocket "$run/redis.sock" --unixsocketperm 600 \
    --save '' --appendonly no --dir "$run" --logfile "$run/redis.log" &
pids="$!"
i=0
until [ -S "$run/redis.sock" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "run.sh: redis-server did not start" >&2; exit 1; }
	sleep 0.05
done
"$top/build/gw-bridge" --rundir "$run/run" --redis "unix://$run/redis.sock" &
pids="$pids $!"
"$top/build/gw-presence" --rundir "$run/run" --redis "unix://$run/redis.sock" &
pids="$pids $!"
"$top/build/gw-listen" --auth none --rundir "$run/run" --listen "$addr" \
    --demo "$top/share" -v &
pids="$pids $!"
cat <<MSG
gw: development node on ws://$addr/ws (auth none: ws://$addr/ws?user=alice)
    demo:   http://$addr/?user=alice (and ?user=bob in another tab)
    health: curl http://$addr/healthz
    try:    /usr/bin/python3 -m websockets ws://$addr/ws?user=alice
            then send {"type":"subscribe","channel":"doc:1","presence":true}
    stop:   Ctrl-C
MSG
wait
