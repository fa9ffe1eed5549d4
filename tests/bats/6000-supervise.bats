#!/usr/bin/env bats
# gw-supervise: a node from a config file (private Redis, gw-bridge,
# gw-presence, two gw-listen workers) in the test's run directory; the
# restart of each kind of child after SIGKILL, a crash loop that does not
# spin, configuration errors with their line, --check, the reload on
# SIGHUP, the private Redis's start and stop, the drain on SIGTERM, make
# install, and the man pages.

bats_require_minimum_version 1.5.0
load ../helpers/gw

SUPCHECK="$GW_HELPERS/supcheck.py"

setup() {
	gw_setup
	command -v redis-server >/dev/null || skip "no redis-server"
	SUP_PID=
	SUP_LOG="$GW_TMP/supervise.log"
	SUP_CONF="$GW_TMP/gw.conf"
	SUP_PORT=$(free_port)
	SUP_BINDIR=$(dirname "$(command -v "$GW_SUPERVISE_BIN")")
	cat >"$SUP_CONF" <<-CONF
	# a test node
	listen = 127.0.0.1:$SUP_PORT
	auth = none
	workers = 2
	drain_time = 1
	CONF
}

teardown() {
	local i
	if [ -n "$SUP_PID" ] && kill -0 "$SUP_PID" 2>/dev/null; then
		kill -TERM "$SUP_PID" 2>/dev/null || true
		for ((i = 0; i < 416; i++)); do
			kill -0 "$SUP_PID" 2>/dev/null || break
			nap "$i"
		done
		kill -KILL "$SUP_PID" 2>/dev/null || true
	fi
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$SUP_LOG" ]; then
		echo "--- $SUP_LOG"
		tail -n 60 "$SUP_LOG" | sed 's/^/  /'
	fi
	gw_teardown || return 1
	# A sanitizer report of gw-supervise or a child fails the test.
	if [ -f "$SUP_LOG" ] && grep -Eq 'Sanitizer|runtime error:' "$SUP_LOG"
	then
		echo "sanitizer report in $SUP_LOG:"
		sed 's/^/  /' "$SUP_LOG"
		return 1
	fi
}

# sup_start [ARGS...]: gw-supervise -c $SUP_CONF ARGS in the background,
# its stderr in $SUP_LOG; with SUP_NOWAIT unset, wait (at most 20 s) for
# /healthz 200 on $SUP_PORT.
sup_start() {
	"$GW_SUPERVISE_BIN" -c "$SUP_CONF" "$@" </dev/null >"$SUP_LOG" 2>&1 3>&- &
	SUP_PID=$!
	[ -n "${SUP_NOWAIT:-}" ] && return 0
	wait_health "$SUP_PORT" 200 20 || { cat "$SUP_LOG"; return 1; }
}

# sup_stop [SIGNAL]: send SIGNAL (default TERM) and wait at most 20 s for
# gw-supervise to exit; sets SUP_STATUS.
sup_stop() {
	local i
	kill -"${1:-TERM}" "$SUP_PID"
	for ((i = 0; i < 416; i++)); do
		kill -0 "$SUP_PID" 2>/dev/null || break
		# Exited but not yet reaped by this shell: kill -0 still
		# succeeds on a zombie.
		[[ "$(ps -o stat= -p "$SUP_PID" 2>/dev/null)" == Z* ]] && break
		nap "$i"
	done
	if kill -0 "$SUP_PID" 2>/dev/null &&
	    [[ "$(ps -o stat= -p "$SUP_PID" 2>/dev/null)" != Z* ]]; then
		echo "gw-supervise still running 20 s after SIG${1:-TERM}"
		# What it is doing (a flake seen once, its log complete).
		ps -o pid,stat,wchan:30,etime,args -p "$SUP_PID" || true
		cat "/proc/$SUP_PID/stack" 2>/dev/null || true
		return 1
	fi
	wait "$SUP_PID" && SUP_STATUS=0 || SUP_STATUS=$?
	SUP_PID=
}

# status: the status reply of supervise.sock.
status() {
	"$PY" "$SUPCHECK" ctl "$GW_RUNDIR/supervise.sock" '{"cmd":"status"}'
}

# child FIELD NAME: a field of the child NAME in the status.
child() {
	status | jq -r --arg n "$2" ".children[] | select(.name == \$n) | .$1"
}

# wait_restarted NAME OLDPID: wait (at most 15 s) until NAME runs again
# with another pid.
wait_restarted() {
	local i pid st
	for ((i = 0; i < 316; i++)); do
		# (One status request a try: each is a Python process.)
		pid=
		st=
		read -r pid st < <(status | jq -r --arg n "$1" \
		    '.children[] | select(.name == $n) | "\(.pid) \(.state)"') ||
		    true
		if [ "$pid" != "$2" ] && [ "$pid" != 0 ] && [ "$st" = running ]
		then
			return 0
		fi
		nap "$i"
	done
	echo "$1 not restarted within 15 s (pid $pid, state $st)"
	return 1
}

@test "supervise: the node starts, answers /healthz and pub/sub, status lists the children" {
	sup_start
	"$PY" "$SUPCHECK" pubsub "$SUP_PORT"
	run status
	[ "$status" -eq 0 ]
	[ "$(jq -r .ok <<<"$output")" = true ]
	[ "$(jq -r '[.children[].name] | join(" ")' <<<"$output")" = \
	    "redis-server gw-bridge gw-presence gw-listen[0] gw-listen[1]" ]
	[ "$(jq '[.children[] | select(.state == "running" and .pid > 0)] |
	    length' <<<"$output")" -eq 5 ]
	# Each child's lines carry its name and pid once.
	pid=$(child pid gw-bridge)
	grep -q "^gw-bridge\[$pid\]: info: ready" "$SUP_LOG"
	run ! grep -q "gw-bridge\[$pid\]: gw-bridge\[$pid\]" "$SUP_LOG"
	sup_stop
	[ "$SUP_STATUS" -eq 0 ]
}

@test "supervise: workers = 2 start with --spill (a full one lets the other take its port's connections); workers = 1 without" {
	local pid args n
	for n in 2 1; do
		# A port of its own each time: the one just given back may
		# be taken meanwhile by a test of the other bats stream.
		SUP_PORT=$(free_port)
		sed -i "s/^workers = .*/workers = $n/; s/^listen = .*/listen = 127.0.0.1:$SUP_PORT/" \
		    "$SUP_CONF"
		sup_start
		for pid in $(child pid 'gw-listen[0]') $(child pid 'gw-listen[1]'); do
			args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
			echo "workers $n: $args"
			if [ "$n" = 2 ]; then
				[[ "$args" == *" --spill"* ]]
			else
				[[ "$args" != *"--spill"* ]]
			fi
		done
		sup_stop
		[ "$SUP_STATUS" -eq 0 ]
	done
}

@test "supervise: io_uring = off starts the workers with --no-io-uring; on (the default) without" {
	local pid n v args want
	for v in off on; do
		if [ "$v" = off ]; then
			echo "io_uring = off" >>"$SUP_CONF"
		else
			sed -i '/^io_uring/d' "$SUP_CONF"
		fi
		sup_start
		n=0
		for pid in $(child pid 'gw-listen[0]') $(child pid 'gw-listen[1]'); do
			args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
			echo "io_uring $v: $args"
			if [ "$v" = off ]; then
				[[ "$args" == *" --no-io-uring"* ]]
			else
				[[ "$args" != *"--no-io-uring"* ]]
			fi
			n=$((n + 1))
		done
		[ "$n" -eq 2 ]
		# What the workers do (a kernel without io_uring: writev
		# anyway, and the log says so).
		want=2
		if [ "$v" = off ] || grep -q 'no io_uring' "$SUP_LOG"; then
			want=0
		fi
		[ "$(gwctl --rundir "$GW_RUNDIR" --json stats | jq -s \
		    '[.[] | select(.process == "gw-listen") | .counters.io_uring]
		    | add')" -eq "$want" ]
		sup_stop
	done
}

@test "supervise: socket_group gives its group the run directory (0750) and every gw socket (0660)" {
	local rd gid s n=0
	gid=$(getent group nogroup | cut -d: -f3)
	[ -n "$gid" ]
	echo "socket_group = nogroup" >>"$SUP_CONF"
	sup_start
	rd=$(status | jq -r .rundir)
	[ "$(stat -c '%a %g' "$rd")" = "750 $gid" ]
	for s in "$rd"/supervise.sock "$rd"/bridge.sock "$rd"/presence.sock \
	    "$rd"/listen-*.sock; do
		echo "$s: $(stat -c '%a %g' "$s")"
		[ "$(stat -c '%a %g' "$s")" = "660 $gid" ]
		n=$((n + 1))
	done
	[ "$n" -eq 5 ]
	# The private Redis is for the node's own daemons only.
	[ "$(stat -c %a "$rd/redis.sock")" = 700 ]
	sup_stop
	[ "$SUP_STATUS" -eq 0 ]
}

@test "supervise: each kind of child killed with SIGKILL is restarted and the node heals" {
	local name pid
	sup_start
	for name in "gw-listen[0]" gw-bridge gw-presence "gw-listen[1]"; do
		pid=$(child pid "$name")
		[ "$pid" -gt 0 ]
		kill -KILL "$pid"
		wait_restarted "$name" "$pid"
		[ "$(child restarts "$name")" -eq 1 ]
		grep -qF "$name: pid $pid killed by signal 9" "$SUP_LOG"
		# A killed worker's control socket is not left behind.
		[ ! -e "$GW_RUNDIR/listen-$pid.sock" ]
		wait_health "$SUP_PORT" 200 20
		# Both workers serve again (one port: try a few times, each
		# with new connections).
		"$PY" "$SUPCHECK" pubsub "$SUP_PORT" 4
	done
	sup_stop
	[ "$SUP_STATUS" -eq 0 ]
}

@test "supervise: a crash loop is reported and does not spin" {
	local n1 n2
	mkdir "$GW_TMP/bin"
	ln -s "$SUP_BINDIR/gw-listen" "$SUP_BINDIR/gw-presence" "$GW_TMP/bin/"
	printf '#!/bin/sh\necho "fake bridge: giving up" >&2\nexit 1\n' \
	    >"$GW_TMP/bin/gw-bridge"
	chmod +x "$GW_TMP/bin/gw-bridge"
	SUP_NOWAIT=1 sup_start --bindir "$GW_TMP/bin"
	wait_log 'gw-bridge: crash loop: 5 restarts in 60 s; retrying every 10 s' \
	    "$SUP_LOG" 15
	# Its output is prefixed with its name and pid.
	grep -Eq '^gw-bridge\[[0-9]+\]: fake bridge: giving up$' "$SUP_LOG"
	[ "$(child state gw-bridge)" = crashloop ]
	# 1 start and 5 restarts up to the report; then at most one more in
	# the next 3 s (every 10 s).
	n1=$(grep -c 'gw-bridge: started' "$SUP_LOG")
	[ "$n1" -le 6 ]
	sleep 3
	n2=$(grep -c 'gw-bridge: started' "$SUP_LOG")
	[ $((n2 - n1)) -le 1 ]
	# The rest of the node runs meanwhile.
	[ "$(child state gw-presence)" = running ]
	[ "$(child state "gw-listen[0]")" = running ]
	sup_stop
	[ "$SUP_STATUS" -eq 0 ]
}

@test "supervise: a relative rundir is taken from the current directory (the children get an absolute unix:// Redis URL)" {
	mkdir -p "$GW_TMP/rel"
	cd "$GW_TMP"
	sup_start --rundir rel/s
	[ -S "$GW_TMP/rel/s/supervise.sock" ]
	grep -q "starting node .* in $GW_TMP/rel/s:" "$SUP_LOG"
}

@test "supervise: a second node on the address of a running one is refused, exit 1 (SO_REUSEPORT would let it take half the clients)" {
	sup_start
	run --separate-stderr timeout 20 "$GW_SUPERVISE_BIN" \
	    --rundir "$GW_TMP/run2" --listen "127.0.0.1:$SUP_PORT" --auth none \
	    --workers 1
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"listen 127.0.0.1:$SUP_PORT: the address is in use (by another node?): not started"* ]]
	[[ "$stderr" != *"gw-listen"* ]]
	# The first node still serves, alone.
	[ "$(healthz "$SUP_PORT")" = 200 ]
	run pgrep -f -- "--rundir $GW_TMP/run2"
	[ "$status" -eq 1 ]
}

@test "supervise: a worker's configuration error at the start stops the node, exit 2" {
	# Only gw-listen reads the key file: the supervisor's own check of
	# the configuration passes, and the workers exit 2 as they start.
	printf 'short\n' >"$GW_TMP/keys"
	printf 'api_key_file = %s\n' "$GW_TMP/keys" >>"$SUP_CONF"
	run --separate-stderr timeout 30 "$GW_SUPERVISE_BIN" -c "$SUP_CONF" \
	    --rundir "$GW_TMP/run"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"keys:1: a key needs at least 16 bytes"* ]]
	[[ "$stderr" == *"gw-listen[0]: bad usage or configuration (exit 2) before the node was up: stopping the node"* ]]
	[[ "$stderr" != *" up: "*" processes"* ]]
	[[ "$stderr" == *"gw-supervise["*"]: info: stopped"* ]]
	# Nothing of it is left running.
	run pgrep -f -- "--rundir $GW_TMP/run"
	[ "$status" -eq 1 ]
	# One worker: its ready pipe ends before its exit is seen; the
	# start must wait for the exit, not call the node up.
	run --separate-stderr timeout 30 "$GW_SUPERVISE_BIN" -c "$SUP_CONF" \
	    --rundir "$GW_TMP/run" --workers 1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"]: error: gw-listen[0]: bad usage or configuration (exit 2) before the node was up: stopping the node"* ]]
	[[ "$stderr" != *" up: "*" processes"* ]]
}

@test "supervise: configuration errors name the file and line, exit 2" {
	printf 'auth = none\n\nfoo = 1\n' >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"]: error: $SUP_CONF:3: unknown key foo"* ]]
	# The default auth, named so, not as "gw-supervise: ...".
	run --separate-stderr "$GW_SUPERVISE_BIN" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"]: error: the defaults: auth = jwt needs secret_file"* ]]
	printf 'auth = none\ndemo = maybe\n' >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"demo: bad value maybe: want on or off (yes/no, true/false, 1/0)"* ]]

	printf 'auth = none\nmax_message = 5\n' >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$SUP_CONF:2: max_message: bad number 5"* ]]

	printf 'listen = 127.0.0.1:1\nauth = jwt\n' >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$SUP_CONF:2: auth = jwt needs secret_file; make one with: head -c 32 /dev/urandom | base64 > secret"* ]]

	# The default auth is jwt too.
	printf 'workers = 1\n' >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"auth = jwt needs secret_file"* ]]

	# A queue smaller than a message: each would close its subscribers.
	printf 'auth = none\nmax_message = 8192\nmax_outbound = 4096\n' \
	    >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$SUP_CONF:3: max_outbound 4096 under max_message 8192"* ]]

	printf 'auth = none\n' >"$SUP_CONF"
	GW_MAX_OUTBOUND=lots run --separate-stderr "$GW_SUPERVISE_BIN" \
	    -c "$SUP_CONF" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"GW_MAX_OUTBOUND: max_outbound: bad number lots"* ]]
	# A flag wins over the variable, a bad one too.
	GW_MAX_OUTBOUND=lots run --separate-stderr "$GW_SUPERVISE_BIN" \
	    -c "$SUP_CONF" --check --max-outbound 2097152
	[ "$status" -eq 0 ]

	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check \
	    --publish-rate 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--publish-rate: publish_rate: bad number 0"* ]]

	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$GW_TMP/nonexistent"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$GW_TMP/nonexistent: No such file"* ]]

	run --separate-stderr "$GW_SUPERVISE_BIN" --no-such-flag
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"usage: gw-supervise"* ]]
}

@test "supervise: --check validates, with the daemons' own checks" {
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 0 ]
	# Once: the daemons' own answers are shown only when they refuse.
	[ "$stderr" = "configuration OK" ]
	[ ! -e "$GW_RUNDIR/supervise.sock" ]

	make_secret
	printf 'auth = jwt\nsecret_file = %s\n' "$GW_SECRET" >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 0 ]
	# gw-listen -n refuses a secret that is too short.
	printf 'short' >"$GW_SECRET"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"shorter than"* ]]
	rm -f "$GW_SECRET"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$SUP_CONF:2: secret_file $GW_SECRET: No such file"* ]]
}

@test "supervise: SIGHUP reloads the live settings without dropping connections" {
	sup_start
	mkdir -p "$GW_TMP/hold"
	bg_start hold "$PY" "$SUPCHECK" hold "$SUP_PORT" "$GW_TMP/hold"
	for ((i = 0; i < 216; i++)); do
		[ -e "$GW_TMP/hold/connected" ] && break
		kill -0 "$BG_PID" || break
		nap "$i"
	done
	[ -e "$GW_TMP/hold/connected" ]
	printf 'max_message = 4096\nhistory_size = 7\n' >>"$SUP_CONF"
	kill -HUP "$SUP_PID"
	wait_log 'history_size changed \(128 -> 7\): needs a restart' "$SUP_LOG"
	wait_log 'gw-listen\[0\] \(pid [0-9]+\): reload' "$SUP_LOG"
	wait_log 'gw-listen\[1\] \(pid [0-9]+\): reload' "$SUP_LOG"
	: >"$GW_TMP/hold/go"
	bg_finish 20
	# The workers are the same processes.
	[ "$(child restarts "gw-listen[0]")" -eq 0 ]
	[ "$(child restarts "gw-listen[1]")" -eq 0 ]
	# A bad configuration on SIGHUP keeps the one in effect: a queue
	# smaller than a message (max_message is 4096 now), an unknown key.
	printf 'max_outbound = 2048\n' >>"$SUP_CONF"
	kill -HUP "$SUP_PID"
	wait_log 'max_outbound 2048 under max_message 4096: it would close subscribers: the configuration in effect is kept' \
	    "$SUP_LOG"
	printf 'bogus = 1\n' >>"$SUP_CONF"
	kill -HUP "$SUP_PID"
	wait_log 'gw.conf:[0-9]+: unknown key bogus: the configuration in effect is kept' \
	    "$SUP_LOG"
	wait_health "$SUP_PORT" 200
	sup_stop
	[ "$SUP_STATUS" -eq 0 ]
}

@test "supervise: SIGHUP with a new key in secret_file: tokens of the old key are refused from then on, of the new one taken, by the same workers" {
	local old new
	make_secret
	sed -i 's/^auth = none$/auth = jwt/' "$SUP_CONF"
	printf 'secret_file = %s\n' "$GW_SECRET" >>"$SUP_CONF"
	sup_start
	old=$("$GWCTL_BIN" token alice --secret-file "$GW_SECRET" | jq -r .token)
	GW_PORT=$SUP_PORT scenario upgrade --path "/ws?token=$old" \
	    --expect 101 --user alice
	make_secret "$GW_SECRET"
	kill -HUP "$SUP_PID"
	wait_log 'gw-listen\[0\] \(pid [0-9]+\): reload' "$SUP_LOG"
	wait_log 'gw-listen\[1\] \(pid [0-9]+\): reload' "$SUP_LOG"
	new=$("$GWCTL_BIN" token alice --secret-file "$GW_SECRET" | jq -r .token)
	# Twice each: the kernel gives a connection to either worker.
	for _ in 1 2 3 4; do
		GW_PORT=$SUP_PORT scenario upgrade --path "/ws?token=$old" \
		    --expect 401
		GW_PORT=$SUP_PORT scenario upgrade --path "/ws?token=$new" \
		    --expect 101 --user alice
	done
	[ "$(child restarts "gw-listen[0]")" -eq 0 ]
	[ "$(child restarts "gw-listen[1]")" -eq 0 ]
	grep -q 'and again by a' "$GW_ROOT/man/gw-listen.8"
}

@test "supervise: the private Redis is started (streams' nodes of 1024 bytes), and stopped with the node" {
	local rpid pids
	sup_start
	[ -S "$GW_RUNDIR/redis.sock" ]
	rpid=$(child pid redis-server)
	[ "$rpid" -gt 0 ]
	[ "$(timeout 10 redis-cli -s "$GW_RUNDIR/redis.sock" PING)" = PONG ]
	# gw-bridge(8): a new history costs a node's buffer at once.
	[ "$(timeout 10 redis-cli -s "$GW_RUNDIR/redis.sock" \
	    CONFIG GET stream-node-max-bytes | tail -n 1)" = 1024 ]
	pids=$(status | jq -r '.children[].pid')
	sup_stop TERM
	[ "$SUP_STATUS" -eq 0 ]
	[ ! -e "$GW_RUNDIR/redis.sock" ]
	[ ! -e "$GW_RUNDIR/supervise.sock" ]
	for p in $pids; do
		run ! kill -0 "$p" 2>/dev/null
	done
	# The workers went first, Redis last.
	grep -n 'exited' "$SUP_LOG" | tail -n 1 | grep -q 'redis-server: pid'
}

@test "supervise: SIGINT stops the node at once, exit 0" {
	local pids
	sup_start
	pids=$(status | jq -r '.children[].pid')
	sup_stop INT
	[ "$SUP_STATUS" -eq 0 ]
	for p in $pids; do
		run ! kill -0 "$p" 2>/dev/null
	done
}

@test "supervise: a shared Redis (redis = URL) is used, none started" {
	start_redis
	printf 'redis = %s\n' "$REDIS_URL" >>"$SUP_CONF"
	sup_start
	[ "$(status | jq -r '[.children[].name] | join(" ")')" = \
	    "gw-bridge gw-presence gw-listen[0] gw-listen[1]" ]
	[ ! -e "$GW_RUNDIR/redis.sock" ]
	"$PY" "$SUPCHECK" pubsub "$SUP_PORT"
	sup_stop
	[ "$SUP_STATUS" -eq 0 ]
}

@test "supervise: make install DESTDIR= installs the documented files" {
	local d="$GW_TMP/dest"
	run make -C "$GW_ROOT" install DESTDIR="$d" PREFIX=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	for f in bin/gw-supervise bin/gw-listen bin/gw-bridge bin/gw-presence \
	    share/man/man8/gw-supervise.8 share/man/man8/gw-listen.8 \
	    share/man/man5/gw.conf.5 share/man/man7/gw-protocol.7 \
	    share/bash-completion/completions/gw-supervise \
	    share/zsh/site-functions/_gw share/gw/gw.conf \
	    share/gw/demo/index.html share/gw/js/gw-client.js \
	    lib/systemd/system/gw-supervise.service; do
		[ -s "$d/usr/$f" ] || { echo "missing: $f"; false; }
	done
	[ -x "$d/usr/bin/gw-supervise" ]
	grep -q '^ExecStart=/usr/bin/gw-supervise ' \
	    "$d/usr/lib/systemd/system/gw-supervise.service"
	run ! grep -q '@[A-Z]*@' "$d/usr/lib/systemd/system/gw-supervise.service"
	[ ! -e "$d/usr/share/gw/systemd" ]
}

@test "supervise: mandoc -T lint is clean for gw-supervise.8 and gw.conf.5" {
	command -v mandoc >/dev/null || skip "no mandoc"
	run mandoc -T lint -W warning "$GW_ROOT/man/gw-supervise.8" \
	    "$GW_ROOT/man/gw.conf.5"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "supervise: every key of gw.conf.5 is a flag of usage(), and share/gw.conf checks" {
	local keys flags
	keys=$(grep -E '^\.It Ic [a-z_]+' "$GW_ROOT/man/gw.conf.5" |
	    awk '{print $3}' | tr _ - | sort)
	flags=$("$GW_SUPERVISE_BIN" -h 2>&1 | grep -oE -- '--[a-z][-a-z]*' |
	    sed 's/^--//' | grep -vxE 'check|bindir|sharedir' | sort)
	[ "$keys" = "$flags" ]
	make_secret
	sed "s,/etc/gw/secret,$GW_SECRET," "$GW_ROOT/share/gw.conf" \
	    >"$SUP_CONF"
	run --separate-stderr "$GW_SUPERVISE_BIN" -c "$SUP_CONF" --check
	[ "$status" -eq 0 ]
}

@test "supervise: bash completion offers the flags and values" {
	run bash -c "source '$GW_ROOT/completions/bash/gw-supervise'
		COMP_WORDS=(gw-supervise --max-out); COMP_CWORD=1; _gw_supervise
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gw-supervise --log-level ''); COMP_CWORD=2; _gw_supervise
		echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(gw-supervise --demo ''); COMP_CWORD=2; _gw_supervise
		echo \"\${COMPREPLY[*]}\""
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "--max-outbound" ]
	[ "${lines[1]}" = "quiet info verbose debug" ]
	[ "${lines[2]}" = "on off" ]
}
