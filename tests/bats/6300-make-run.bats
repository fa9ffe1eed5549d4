#!/usr/bin/env bats
# 6300-make-run.bats -- "make run" (share/run.sh): a development node
# run by gw-supervise, with a private Redis, auth none and the demo page;
# Ctrl-C (SIGINT to the foreground processes) stops it cleanly and
# removes its run directory.

bats_require_minimum_version 1.5.0

load ../helpers/gw

setup() {
	gw_setup
}

teardown() {
	[ -z "${RUN_PID:-}" ] || kill -KILL "$RUN_PID" 2>/dev/null || true
	pkill -KILL -f "gw-supervise --rundir $GW_TMP/" 2>/dev/null || true
	gw_teardown
}

@test "make run: the node is healthy (bridge and private Redis up) and serves the demo; Ctrl-C stops it and removes its run directory" {
	local port sup i run
	port=$(free_port)
	TMPDIR=$GW_TMP GW_LISTEN=127.0.0.1:$port sh "$GW_ROOT/share/run.sh" \
	    >"$GW_TMP/run.out" 2>&1 &
	RUN_PID=$!
	wait_health "$port" 200 || { cat "$GW_TMP/run.out"; return 1; }
	run "$PY" -c "import urllib.request as u
print(u.urlopen('http://127.0.0.1:$port/?user=a', timeout=5).status)"
	[ "$output" = 200 ]
	grep -q "ws://127.0.0.1:$port/ws" "$GW_TMP/run.out"
	grep -q 'gwctl' "$GW_TMP/run.out"
	run=$(sed -n 's|.*--rundir \([^ ]*\)/run tail.*|\1|p' "$GW_TMP/run.out")
	[ -d "$run" ]
	# Ctrl-C: the terminal signals the shell and gw-supervise.
	sup=$(pgrep -f "gw-supervise --rundir $run/run")
	kill -INT "$RUN_PID" "$sup"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$RUN_PID" 2>/dev/null || break
		nap "$i"
	done
	if kill -0 "$RUN_PID" 2>/dev/null; then
		cat "$GW_TMP/run.out"
		return 1
	fi
	wait "$RUN_PID" || true
	RUN_PID=
	[ ! -e "$run" ]
	run ! pgrep -f "$run/run" >/dev/null
	grep -q 'gw-supervise\[[0-9]*\]: info: stopped' "$GW_TMP/run.out"
}
