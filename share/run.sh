#!/bin/sh
# run.sh -- "make run": a development node on this machine, run by
# gw-supervise: a private redis-server on a Unix socket in a temporary
# run directory, gw-bridge, gw-presence, and one gw-listen with
# auth = none (ids from ?user=ID) and the demo page at /.  Ctrl-C stops
# the node cleanly and removes the run directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
addr=${GW_LISTEN:-127.0.0.1:8080}
run=$(mktemp -d "${TMPDIR:-/tmp}/gw-run.XXXXXX")
trap 'rm -rf "$run"' EXIT
# Ctrl-C reaches gw-supervise from the terminal as well: just wait for it.
trap ':' INT
trap 'kill -TERM "$sup" 2>/dev/null || true' TERM

cat <<MSG
gw: development node on ws://$addr/ws (auth none: ws://$addr/ws?user=alice)
    demo:   http://$addr/?user=alice (and ?user=bob in another tab)
    health: curl http://$addr/healthz
    gwctl:  build/gwctl --rundir $run/run tail doc:1 | jq .
            echo '{"n": 42}' | build/gwctl --rundir $run/run publish counter
    stop:   Ctrl-C
MSG
"$top/build/gw-supervise" --rundir "$run/run" --auth none --listen "$addr" \
    --demo on --sharedir "$top/share" --workers 1 &
sup=$!
while kill -0 "$sup" 2>/dev/null; do
	wait "$sup" || true
done
