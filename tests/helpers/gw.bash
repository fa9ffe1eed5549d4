# shellcheck shell=bash
# gw.bash -- loaded by every bats file: start and stop the processes a test
# needs, and always clean them up.
#
#	load ../helpers/gw
#	setup()    { gw_setup; }
#	teardown() { gw_teardown; }
#	@test "..." { start_listen --auth none; scenario http ...; }
#
# Every wait here is bounded.  Nothing relies on a sleep being long enough:
# we poll for the event and give up after a fixed number of tries.

PY=/usr/bin/python3
GW_ROOT=$(cd "${BATS_TEST_DIRNAME:-.}/../.." && pwd)
GW_HELPERS="$GW_ROOT/tests/helpers"
CONF="$GW_HELPERS/conformance.py"

# The binaries under test: build/ on PATH (tests/run.sh puts it there);
# GW_LISTEN may name another build (e.g. build-san/gw-listen).
case ":$PATH:" in
*":$GW_ROOT/build:"*) ;;
*) PATH="$GW_ROOT/build:$PATH" ;;
esac
export PATH
GW_LISTEN=${GW_LISTEN:-gw-listen}

GW_PIDS=()		# every gw-listen this test started
GW_LOGS=()		# and its log, same index
GW_PID=			# the last one started
GW_PORT=
GW_EXIT=		# set by wait_exit
STOP_STATUS=		# set by stop_one
GW_LOG=
REDIS_PID=
REDIS_PORT=
REDIS_DIR=

# gw_tmpdir: a private directory for this test's files.
gw_tmpdir() {
	if [ -z "${GW_TMP:-}" ]; then
		if [ -n "${BATS_TEST_TMPDIR:-}" ]; then
			GW_TMP=$BATS_TEST_TMPDIR
		else
			GW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gw-test.XXXXXX")
			GW_TMP_OWNED=1
		fi
	fi
	printf '%s\n' "$GW_TMP"
}

# free_port: print a TCP port on 127.0.0.1 that the kernel says is free.
free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# port_open PORT: true if something accepts on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT PID LOG: wait (at most 10 s) until PORT accepts; fail
# early, with the log, if PID dies first.
wait_port() {
	local port=$1 pid=$2 logf=$3 i
	for ((i = 0; i < 200; i++)); do
		if port_open "$port"; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "gw-listen (pid $pid) exited before listening on" \
			    "$port; its log:"
			sed 's/^/  /' "$logf"
			return 1
		fi
		sleep 0.05
	done
	echo "gw-listen (pid $pid) not accepting on $port after 10 s; log:"
	sed 's/^/  /' "$logf"
	return 1
}

# start_listen [ARGS...]: start gw-listen on a free port (or on $GW_WANT_PORT)
# and wait until it accepts.  Sets GW_PORT, GW_PID, GW_LOG; several may run.
start_listen() {
	local dir port
	dir=$(gw_tmpdir)
	port=${GW_WANT_PORT:-$(free_port)}
	GW_LOG="$dir/gw-listen.${#GW_PIDS[@]}.log"
	"$GW_LISTEN" -l "127.0.0.1:$port" "$@" </dev/null >"$GW_LOG" 2>&1 &
	GW_PID=$!
	GW_PORT=$port
	GW_PIDS+=("$GW_PID")
	GW_LOGS+=("$GW_LOG")
	wait_port "$port" "$GW_PID" "$GW_LOG"
}

# wait_exit PID SECONDS: wait for a gw-listen we started to exit by
# itself; set GW_EXIT to its status.  Fails if it is still running.
wait_exit() {
	local pid=$1 tries=$(($2 * 20)) i j
	GW_EXIT=
	for ((i = 0; i < tries; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "pid $pid still running after $2 s"
		return 1
	fi
	# shellcheck disable=SC2034 # GW_EXIT is read by the bats files
	wait "$pid" && GW_EXIT=0 || GW_EXIT=$?
	for j in "${!GW_PIDS[@]}"; do
		[ "${GW_PIDS[$j]}" = "$pid" ] && unset "GW_PIDS[$j]"
	done
	return 0
}

# stop_one PID: SIGTERM, wait up to 5 s, then SIGKILL.  Sets STOP_STATUS
# to the exit status of PID.
stop_one() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "pid $pid ignored SIGTERM for 5 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null && STOP_STATUS=0 || STOP_STATUS=$?
}

# stop_listen: stop every gw-listen this test started (and every pid the
# scenarios wrote to $GW_TMP/spawned.pids).  Fails if one of them had
# died before we asked it to (a crash is a failure even if the scenario
# passed), did not exit 0 after SIGTERM, or logged a sanitizer report.
stop_listen() {
	local j pid rc=0 st
	for j in "${!GW_PIDS[@]}"; do
		pid=${GW_PIDS[$j]}
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" && st=0 || st=$?
			echo "gw-listen (pid $pid) died during the test," \
			    "status $st; log ${GW_LOGS[$j]}:"
			sed 's/^/  /' "${GW_LOGS[$j]}"
			rc=1
			continue
		fi
		stop_one "$pid"
		if [ "$STOP_STATUS" -ne 0 ]; then
			echo "gw-listen (pid $pid) exited $STOP_STATUS after" \
			    "SIGTERM (want 0); log ${GW_LOGS[$j]}:"
			sed 's/^/  /' "${GW_LOGS[$j]}"
			rc=1
		elif grep -Eq 'Sanitizer|runtime error:' "${GW_LOGS[$j]}"; then
			echo "sanitizer report in ${GW_LOGS[$j]}:"
			sed 's/^/  /' "${GW_LOGS[$j]}"
			rc=1
		fi
	done
	GW_PIDS=()
	if [ -n "${GW_TMP:-}" ] && [ -f "$GW_TMP/spawned.pids" ]; then
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null || true
		done <"$GW_TMP/spawned.pids"
		rm -f "$GW_TMP/spawned.pids"
	fi
	return "$rc"
}

# show_logs: print the logs of this test's servers (for failures).
show_logs() {
	local f
	for f in "${GW_LOGS[@]}"; do
		[ -s "$f" ] || continue
		echo "--- $f"
		tail -n 40 "$f" | sed 's/^/  /'
	done
}

# make_secret [FILE]: write a 32-byte secret (hex text, no newline) to
# FILE (default $GW_TMP/secret); sets GW_SECRET to its path.
make_secret() {
	GW_SECRET=${1:-$(gw_tmpdir)/secret}
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$GW_SECRET"
	[ "$(wc -c <"$GW_SECRET")" -eq 32 ]
}

# start_redis: a private redis-server on a free port in its own directory;
# sets REDIS_PORT, REDIS_PID, REDIS_DIR.  Skips the test without redis.
start_redis() {
	local i
	command -v redis-server >/dev/null || skip "no redis-server"
	REDIS_DIR=$(gw_tmpdir)/redis
	mkdir -p "$REDIS_DIR"
	REDIS_PORT=$(free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
	    --dir "$REDIS_DIR" --save '' --appendonly no --daemonize no \
	    --logfile "$REDIS_DIR/redis.log" </dev/null >/dev/null 2>&1 &
	REDIS_PID=$!
	for ((i = 0; i < 200; i++)); do
		if port_open "$REDIS_PORT"; then
			return 0
		fi
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "redis-server did not start; log:"
	sed 's/^/  /' "$REDIS_DIR/redis.log" 2>/dev/null
	return 1
}

# stop_redis: stop the redis-server of start_redis, if any.
stop_redis() {
	[ -n "$REDIS_PID" ] || return 0
	stop_one "$REDIS_PID"
	REDIS_PID=
}

# scenario NAME [ARGS...]: run a conformance.py scenario against the last
# gw-listen started.
scenario() {
	local name=$1
	shift
	"$PY" "$CONF" "$name" --port "$GW_PORT" "$@"
}

# gw_setup / gw_teardown: the setup and teardown of every test.
gw_setup() {
	GW_TMP=
	gw_tmpdir >/dev/null
}

gw_teardown() {
	local rc=0
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		show_logs
	fi
	stop_listen || rc=1
	stop_redis
	if [ -n "${GW_TMP_OWNED:-}" ] && [ "$rc" -eq 0 ]; then
		rm -rf "$GW_TMP"
		GW_TMP=''
		GW_TMP_OWNED=''
	fi
	return "$rc"
}
