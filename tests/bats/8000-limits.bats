#!/usr/bin/env bats
# 8000-limits.bats -- gw-listen's connection limits (issue 8): over
# --max-connections, or over --max-conns-per-ip from one address, an
# upgrade gets 503 "over capacity" and the connections already there keep
# working (helpers/limitcheck.py, raw sockets).

bats_require_minimum_version 1.5.0

load ../helpers/gw

LC="$GW_HELPERS/limitcheck.py"
UC="$GW_HELPERS/upratecheck.py"

setup() {
	gw_setup
}

teardown() {
	gw_teardown
}

@test "limits: --max-connections 5: the sixth upgrade gets 503, the five go on, a close frees a slot" {
	start_listen --auth none --max-connections 5
	"$PY" "$LC" total --port "$GW_PORT" --max 5
}

@test "limits: --spill: a worker near its open-file limit stops listening: the port's other worker takes every new connection (none waits in the full one's queue); it listens again once connections close" {
	local a alog port
	command -v prlimit >/dev/null || skip "no prlimit (util-linux)"
	start_listen --auth none --spill
	a=$GW_PID alog=$GW_LOG port=$GW_PORT
	GW_WANT_PORT=$port start_listen --auth none --spill
	# Worker a: 96 files, so it stops listening at its 64th.
	prlimit --pid "$a" --nofile=96:96
	"$PY" "$LC" spill --port "$port" --conns 240
	cat "$alog"
	grep -q 'the limit is 96: not listening until connections close' \
	    "$alog"
	# The spill closed them all: a listens again (checked twice a second).
	wait_log 'connections: listening again' "$alog"
	"$PY" "$LC" spill --port "$port" --conns 20
}

@test "limits: --max-conns-per-ip 3: a fourth from 127.0.0.1 gets 503, 127.0.0.2 is served" {
	start_listen --auth none --max-conns-per-ip 3
	"$PY" "$LC" per-ip --port "$GW_PORT" --max 3
}

@test "limits: --max-conns-per-ip counts an IPv4 peer of a [::] listener (::ffff:127.0.0.1) as 127.0.0.1" {
	local p6
	# Port 0: the kernel's choice (see 6200's [::] test).
	start_listen --auth none --max-conns-per-ip 2 -l "[::]:0"
	p6=$(sed -n 's/.*listening on \[::\]:\([0-9]*\)$/\1/p' "$GW_LOG")
	[ -n "$p6" ]
	"$PY" - "$GW_PORT" "$p6" <<'PYEOF'
import asyncio, sys, websockets
async def main():
    p4, p6 = int(sys.argv[1]), int(sys.argv[2])
    a = await websockets.connect("ws://127.0.0.1:%d/ws" % p4)
    b = await websockets.connect("ws://127.0.0.1:%d/ws" % p6)
    try:
        await websockets.connect("ws://127.0.0.1:%d/ws" % p6)
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 503, e
    else:
        raise SystemExit("a third connection from 127.0.0.1 was taken")
    await a.close()
    await b.close()
asyncio.run(main())
PYEOF
}

# listen_counter NAME: gw-listen's counter NAME in gwctl stats.
listen_counter() {
	"$GWCTL_BIN" --rundir "$GW_TMP/run" --json stats |
	    jq -r "select(.process == \"gw-listen\") | .counters.$1"
}

@test "limits: --upgrade-rate 20: 30 clients at once are all welcomed, spread over the rate (the counters say 29 waited, none waits now)" {
	start_listen --auth none --upgrade-rate 20
	"$PY" "$UC" paced --port "$GW_PORT" --rate 20 --n 30
	[ "$(listen_counter upgrades_waited)" -eq 29 ]
	[ "$(listen_counter upgrades_waiting)" -eq 0 ]
}

@test "limits: by default a worker begins 2000 upgrades a second: of 2000 sent at once, some wait their turn, and all are upgraded" {
	start_listen --auth none
	"$PY" "$UC" burst --port "$GW_PORT" --n 2000
	[ "$(listen_counter upgrades_waited)" -gt 0 ]
	[ "$(listen_counter upgrades_waiting)" -eq 0 ]
}

@test "limits: --upgrade-rate: an upgrade still waiting at its head deadline gets 503 with Retry-After" {
	start_listen --auth none --upgrade-rate 1 --head-timeout 1 -v
	"$PY" "$UC" deadline --port "$GW_PORT"
	[ "$(listen_counter upgrades_waiting)" -eq 0 ]
	grep -q 'http 503: too many upgrades at once; try again' "$GW_LOG"
}

@test "limits: --upgrade-rate: a client that leaves while its upgrade waits loses its place; those after it are answered in order" {
	start_listen --auth none --upgrade-rate 1 --head-timeout 30
	"$PY" "$UC" gone --port "$GW_PORT"
	[ "$(listen_counter upgrades_waited)" -eq 3 ]
	[ "$(listen_counter upgrades_waiting)" -eq 0 ]
}

@test "limits: --upgrade-rate: /healthz does not wait behind the upgrades" {
	start_listen --auth none --upgrade-rate 1 --head-timeout 30
	"$PY" "$UC" healthz --port "$GW_PORT"
}

@test "limits: --upgrade-rate: a drain answers the upgrades still waiting 503 at once" {
	start_listen --auth none --upgrade-rate 1 --head-timeout 30
	"$PY" "$UC" drain --port "$GW_PORT" --pid "$GW_PID"
	wait_exit "$GW_PID" 10
}

@test "limits: --upgrade-rate: a resume that waited for its turn restores its session" {
	NODE_PRESENCE=1 start_node u 1 --upgrade-rate 1
	"$PY" "$UC" resume --port "$GW_PORT"
	[ "$("$GWCTL_BIN" --rundir "$GW_TMP/u" --json stats |
	    jq -r 'select(.process == "gw-listen") |
	    .counters.upgrades_waited')" -ge 1 ]
}

@test "limits: gw-supervise gives each of its workers its share of max_connections and upgrade_rate, and max_conns_per_ip" {
	local rd=$GW_TMP/sup port pid args n=0 i
	port=$(free_port)
	"$GW_SUPERVISE_BIN" --rundir "$rd" --auth none --listen "127.0.0.1:$port" \
	    --workers 2 --max-connections 5 --max-conns-per-ip 7 \
	    --upgrade-rate 5 \
	    >"$GW_TMP/sup.log" 2>&1 &
	pid=$!
	echo "$pid" >>"$GW_TMP/spawned.pids"
	wait_health "$port" 200 || { cat "$GW_TMP/sup.log"; return 1; }
	for i in $(pgrep -f "gw-listen.*--rundir $rd"); do
		args=$(tr '\0' ' ' <"/proc/$i/cmdline")
		echo "$args"
		[[ "$args" == *"--max-connections 3"* ]]
		[[ "$args" == *"--max-conns-per-ip 7"* ]]
		[[ "$args" == *"--upgrade-rate 3"* ]]
		n=$((n + 1))
	done
	[ "$n" -eq 2 ]
	kill -TERM "$pid"
	wait "$pid"
}

@test "abuse: 10 000 connections that send nothing cost gw-listen under 16 MiB, and a real client is served meanwhile" {
	ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	start_listen --auth none
	local out
	out=$("$PY" "$LC" idle-flood --port "$GW_PORT" --pid "$GW_PID" \
	    --conns 10000 --max-kib 16384) || { echo "$out"; return 1; }
	echo "$out" | grep RSS | sed 's/^/# /' >&3
}

@test "abuse: a client over max_subscriptions gets limit_exceeded, at ten times publish_rate rate_limited; another client gets no error" {
	start_listen --auth none --max-subscriptions 8 --publish-rate 20 \
	    --publish-burst 20
	"$PY" "$LC" greedy --port "$GW_PORT" --max 8
}

# hold_conns N FLAG: N TCP connections to $GW_PORT that send nothing,
# held until FLAG.go exists (at most 30 s); returns once FLAG.up exists.
hold_conns() {
	"$PY" -c '
import os, socket, sys, time
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
open(flag + ".up", "w").close()
end = time.monotonic() + 30
while not os.path.exists(flag + ".go") and time.monotonic() < end:
    time.sleep(0.05)' "$GW_PORT" "$1" "$2" </dev/null 3>&- &
	echo "$!" >>"$GW_TMP/spawned.pids"
	for ((i = 0; i < 216; i++)); do
		[ -e "$2.up" ] && break
		nap "$i"
	done
	[ -e "$2.up" ]
}

# quiet_second WHEN: a second of gw-listen ($GW_PID) WHEN (it cannot
# accept): a loop that spun on its listener would burn all of it, and
# log; at most 25 ticks of CPU and one log line.
quiet_second() {
	local c0 c1 n0 n1
	n0=$(wc -l <"$GW_LOG")
	c0=$(awk '{ print $14 + $15 }' "/proc/$GW_PID/stat")
	sleep 1
	c1=$(awk '{ print $14 + $15 }' "/proc/$GW_PID/stat")
	n1=$(wc -l <"$GW_LOG")
	echo "$((c1 - c0)) ticks of CPU in 1 s $1, $((n1 - n0)) log lines"
	[ $((c1 - c0)) -le 25 ]
	[ $((n1 - n0)) -le 1 ]
}

@test "abuse: out of descriptors altogether, gw-listen pauses accepting (no spin, one log line) and takes the waiting connections after" {
	local soft i d=$GW_TMP/emfile
	command -v prlimit >/dev/null || skip "no prlimit"
	start_listen --auth none
	soft=$(prlimit --pid "$GW_PID" --nofile --output SOFT --noheadings)
	# Descriptors 0 to 3 are open: a limit of 4 leaves accept() none.
	for i in 0 1 2 3; do [ -e "/proc/$GW_PID/fd/$i" ]; done
	prlimit --pid "$GW_PID" --nofile=4:
	hold_conns 5 "$d"
	wait_log 'accept \(paused 0.1 s at a time\): Too many open files' "$GW_LOG"
	quiet_second "at EMFILE"
	prlimit --pid "$GW_PID" --nofile="$soft":
	[ "$(healthz "$GW_PORT")" = 200 ]
	: >"$d.go"
}

@test "abuse: near its open-file limit, gw-listen stops accepting (no spin, one log line) and takes the waiting connections after" {
	local f0 soft i d=$GW_TMP/emfile
	command -v prlimit >/dev/null || skip "no prlimit"
	start_listen --auth none
	soft=$(prlimit --pid "$GW_PID" --nofile --output SOFT --noheadings)
	f0=$(ls "/proc/$GW_PID/fd" | wc -l)
	prlimit --pid "$GW_PID" --nofile=$((f0 + 8)):
	hold_conns 40 "$d"
	wait_log 'not accepting until connections close' "$GW_LOG"
	quiet_second "while full"
	# Descriptors again: the waiting connections are taken, and served.
	prlimit --pid "$GW_PID" --nofile="$soft":
	for ((i = 0; i < 216; i++)); do
		[ "$(ls "/proc/$GW_PID/fd" | wc -l)" -ge $((f0 + 40)) ] && break
		nap "$i"
	done
	[ "$(ls "/proc/$GW_PID/fd" | wc -l)" -ge $((f0 + 40)) ]
	grep -q 'connections: accepting again' "$GW_LOG"
	[ "$(healthz "$GW_PORT")" = 200 ]
	: >"$d.go"
}

@test "abuse: clients never take gw-listen's last descriptors: while it is full, gwctl stats answers and a restarted gw-bridge is linked again" {
	local f0 n d=$GW_TMP/full
	command -v prlimit >/dev/null || skip "no prlimit"
	start_listen --auth none
	f0=$(ls "/proc/$GW_PID/fd" | wc -l)
	prlimit --pid "$GW_PID" --nofile=$((f0 + 64)):
	hold_conns 100 "$d"
	wait_log 'not accepting until connections close' "$GW_LOG"
	run gwctl --rundir "$BRIDGE_RUNDIR" --json stats
	[ "$status" -eq 0 ]
	n=$(jq -s '[.[] | select(.process == "gw-listen")] | length' <<<"$output")
	[ "$n" -eq 1 ]
	kill_bridge
	start_bridge
	for ((i = 0; i < 216; i++)); do
		[ "$(grep -c 'connected to gw-bridge' "$GW_LOG")" -ge 2 ] && break
		nap "$i"
	done
	grep 'connected to gw-bridge' "$GW_LOG"
	[ "$(grep -c 'connected to gw-bridge' "$GW_LOG")" -ge 2 ]
	: >"$d.go"
}
