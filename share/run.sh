#!/bin/sh
# run.sh -- "make run": a development node on this machine.  Until
# gw-supervise exists this is gw-listen alone, with auth = none (ids from
# ?user=ID).  Ctrl-C stops it cleanly.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
addr=${GW_LISTEN:-127.0.0.1:8080}
cat <<MSG
gw: development node on ws://$addr/ws (auth none: ws://$addr/ws?user=alice)
    health: curl http://$addr/healthz
    try:    /usr/bin/python3 -m websockets ws://$addr/ws?user=alice
            then send {"type":"subscribe","channel":"doc:1","presence":true}
    stop:   Ctrl-C
MSG
exec "$top/build/gw-listen" --auth none --listen "$addr" -v
