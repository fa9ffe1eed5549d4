#!/bin/bash
# idle-rss.sh -- memory of gw-listen per idle, subscribed connection: start
# a gw-listen, open 10 000 connections (each subscribed to one of 100
# channels) and report the growth of its RSS per connection.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${GW_BENCH_CONNS:-10000}
ulimit -n 20000 2>/dev/null || true
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$top/build/gw-listen" --auth none -l "127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT INT TERM
i=0
until /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "gw-listen did not start" >&2; exit 1; }
	sleep 0.1
done
/usr/bin/python3 "$top/share/bench/idle_conns.py" --port "$port" --pid "$pid" -n "$n"
