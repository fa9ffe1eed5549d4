#!/bin/bash
# deadpeer.sh GW_LISTEN DIR -- run inside a private network namespace
# (unshare -n): gw-listen with --ping-mode tcp --ping-interval 1
# --pong-timeout 2 on its loopback, one client upgraded and then silent,
# and the loopback taken down, so that the client's side answers nothing
# any more, not even the kernel's ACKs.  Prints the server socket's
# timer before (keepalive), how long after the loopback went down the
# server's socket left ESTABLISHED, and "gw-listen closed it" once its
# connections counter (gwctl stats) is back to 0.  Exit 1 on a step that
# does not come within its bound.
set -u
bin=$1
dir=$2
port=18099
mkdir -p "$dir/run"
ip link set lo up || exit 1

"$bin" -l "127.0.0.1:$port" --rundir "$dir/run" --auth none \
    --ping-mode tcp --ping-interval 1 --pong-timeout 2 \
    </dev/null >"$dir/listen.log" 2>&1 &
lp=$!
cp=
trap 'kill $lp $cp 2>/dev/null; wait 2>/dev/null' EXIT

# until ok CMD...: poll CMD every 0.05 s, 200 times at most.
until_ok() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
listening() { [ -n "$(ss -tlnH "sport = :$port")" ]; }
established() { [ -n "$(ss -tnH state established "( sport = :$port )")" ]; }
gone() { ! established; }
conns() {
	gwctl --rundir "$dir/run" --json stats 2>/dev/null |
	    jq -r 'select(.process == "gw-listen") | .counters.connections'
}
closed() { [ "$(conns)" = 0 ]; }

until_ok listening || { echo "gw-listen did not listen"; cat "$dir/listen.log"; exit 1; }
# The client: upgrade, read the 101 and the welcome, then say nothing.
/usr/bin/python3 -c '
import base64, os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws?user=dp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
time.sleep(30)
' "$port" &
cp=$!
until_ok established || { echo "no connection"; exit 1; }
until_ok test "$(conns)" = 1 || { echo "gw-listen does not count it"; exit 1; }
echo "before: $(ss -tnoH state established "( sport = :$port )")"
ip link set lo down
t0=$(date +%s.%N)
# ping-interval 1 + pong-timeout 2: gone in about 3 s; 10 s at most.
until_ok gone || { echo "still established 10 s after lo went down"; exit 1; }
t1=$(date +%s.%N)
echo "the server's socket left ESTABLISHED $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s after lo went down"
until_ok closed || { echo "gw-listen still counts it: $(conns)"; exit 1; }
echo "gw-listen closed it"
