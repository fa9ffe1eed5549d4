# shellcheck shell=bash
# gw.bash -- loaded by every bats file: start and stop the processes a test
# needs, and always clean them up.
#
#	load ../helpers/gw
#	setup()    { gw_setup; }
#	teardown() { gw_teardown; }
#	@test "..." { start_listen --auth none; scenario http ...; }
#
# gw-listen serves pub/sub through its node's gw-bridge, which needs a
# Redis.  So the first start_listen of a test also starts a private
# redis-server (on a Unix socket in the test's directory) and a gw-bridge
# on the run directory $GW_TMP/run, and every gw-listen is started with
# that --rundir and waited for until /healthz says 200.  GW_NO_BRIDGE=1
# starts gw-listen alone (its /healthz then answers 503).  start_node
# starts another node (its own bridge and run directory) on the same
# Redis; with NODE_PRESENCE=1 the node has its gw-presence too
# (start_presence), and kill_node NAME kills a whole node with SIGKILL.
#
# Every wait here is bounded.  Nothing relies on a sleep being long enough:
# we poll for the event and give up after a fixed number of tries.

PY=/usr/bin/python3
# (bats gives the test file's directory as an absolute path: no fork to
# find the tree in each test.)
case ${BATS_TEST_DIRNAME:-} in
/*/tests/bats) GW_ROOT=${BATS_TEST_DIRNAME%/tests/bats} ;;
*) GW_ROOT=$(cd "${BATS_TEST_DIRNAME:-.}/../.." && pwd) ;;
esac
# The helpers' compiled modules (wsraw, wsclient and the like) are kept
# for the whole run, out of the tree, rather than compiled again by each
# of the hundreds of scenarios (50 ms each) when the environment says
# PYTHONDONTWRITEBYTECODE.
if [ -n "${BATS_RUN_TMPDIR:-}" ]; then
	PYTHONPYCACHEPREFIX=$BATS_RUN_TMPDIR/pycache
	export PYTHONPYCACHEPREFIX
	unset PYTHONDONTWRITEBYTECODE
fi
GW_HELPERS="$GW_ROOT/tests/helpers"
CONF="$GW_HELPERS/conformance.py"

# The binaries under test: build/ on PATH (tests/run.sh puts it there);
# GW_LISTEN_BIN, GW_BRIDGE_BIN, GW_PRESENCE_BIN, GW_SUPERVISE_BIN and
# GWCTL_BIN may name another build (e.g. build-san/gw-listen).  (Not
# GW_LISTEN and the like: GW_<KEY> variables are gw.conf settings, and
# GW_LISTEN is the key "listen" for gw-supervise.)
case ":$PATH:" in
*":$GW_ROOT/build:"*) ;;
*) PATH="$GW_ROOT/build:$PATH" ;;
esac
export PATH
GW_LISTEN_BIN=${GW_LISTEN_BIN:-gw-listen}
GW_BRIDGE_BIN=${GW_BRIDGE_BIN:-gw-bridge}
GW_PRESENCE_BIN=${GW_PRESENCE_BIN:-gw-presence}
GW_SUPERVISE_BIN=${GW_SUPERVISE_BIN:-gw-supervise}
GWCTL_BIN=${GWCTL_BIN:-gwctl}

GW_PIDS=()		# every gw-listen this test started
GW_LOGS=()		# and its log, same index
GW_PID=			# the last one started
GW_PORT=
GW_EXIT=		# set by wait_exit
STOP_STATUS=		# set by stop_one
GW_LOG=
GW_NSTARTED=0		# gw-listen started so far (names the logs)
BRIDGE_PIDS=()		# every gw-bridge this test started and did not kill
BRIDGE_LOGS=()		# and its log, same index
BRIDGE_PID=		# the last one started
BRIDGE_LOG=
BRIDGE_RUNDIR=
BRIDGE_NSTARTED=0
GW_AUTO_BRIDGE=		# set once start_listen started the default bridge
PRESENCE_PIDS=()	# every gw-presence this test started and did not kill
PRESENCE_LOGS=()	# and its log, same index
PRESENCE_PID=		# the last one started
PRESENCE_LOG=
PRESENCE_NSTARTED=0
REDIS_PID=
REDIS_PORT=		# empty: Redis is on the Unix socket REDIS_SOCK
REDIS_SOCK=
REDIS_URL=		# what --redis says
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
	"$PY" -S -I -c 'import _socket
s = _socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# port_open PORT: true if something accepts on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# nap I: the pause between tries I and I+1 of a poll: 10 ms for the
# first 20 tries (most waits end there), then 50 ms.  A loop of N tries
# thus waits at most 0.2 + (N - 20) * 0.05 s, plus the tries themselves.
# (A read with a timeout on a pipe nobody writes: no fork per pause.)
nap() {
	[ -n "${GW_NAP_FD:-}" ] || exec {GW_NAP_FD}<> <(:)
	if (($1 < 20)); then
		read -r -t 0.01 -u "$GW_NAP_FD" || true
	else
		read -r -t 0.05 -u "$GW_NAP_FD" || true
	fi
}

# wait_port PORT PID LOG: wait (at most 10 s) until PORT accepts; fail
# early, with the log, if PID dies first.
wait_port() {
	local port=$1 pid=$2 logf=$3 i
	for ((i = 0; i < 216; i++)); do
		if port_open "$port"; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "gw-listen (pid $pid) exited before listening on" \
			    "$port; its log:"
			sed 's/^/  /' "$logf"
			return 1
		fi
		nap "$i"
	done
	echo "gw-listen (pid $pid) not accepting on $port after 10 s; log:"
	sed 's/^/  /' "$logf"
	return 1
}

# healthz PORT: print the status code of GET /healthz on 127.0.0.1:PORT
# (000 if nothing answered within 2 s).
healthz() {
	local line=
	line=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" &&
	    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&3 &&
	    IFS= read -r -t 2 line <&3 && printf '%s\n' "$line") 2>/dev/null)
	case $line in
	HTTP/1.?\ [0-9][0-9][0-9]*) line=${line#HTTP/1.? }; echo "${line:0:3}" ;;
	*) echo 000 ;;
	esac
}

# wait_health PORT STATUS [SECONDS]: wait (default at most 10 s) until
# /healthz on PORT answers STATUS.
wait_health() {
	local port=$1 want=$2 secs=${3:-10} i st=
	for ((i = 0; i < secs * 20 + 16; i++)); do
		st=$(healthz "$port")
		[ "$st" = "$want" ] && return 0
		nap "$i"
	done
	echo "/healthz on $port still answers $st after $secs s (want $want)"
	show_logs
	return 1
}

# start_listen [ARGS...]: start gw-listen on a free port (or on
# $GW_WANT_PORT) with --rundir ${GW_NODE_RUNDIR:-$GW_TMP/run}, and wait
# until it accepts and (unless GW_NO_BRIDGE or GW_UNHEALTHY is set)
# /healthz says 200.
# The first call of a test without GW_NODE_RUNDIR or GW_NO_BRIDGE starts
# the test's Redis and gw-bridge first.  Sets GW_PORT, GW_PID, GW_LOG;
# several may run.
start_listen() {
	local dir port rd i
	gw_tmpdir >/dev/null
	dir=$GW_TMP
	rd=${GW_NODE_RUNDIR:-$dir/run}
	if [ -z "${GW_NO_BRIDGE:-}" ] && [ -z "${GW_NODE_RUNDIR:-}" ] &&
	    [ -z "$GW_AUTO_BRIDGE" ]; then
		start_bridge || return 1
		GW_AUTO_BRIDGE=1
	fi
	port=${GW_WANT_PORT:-$(free_port)}
	GW_LOG="$dir/gw-listen.$GW_NSTARTED.log"
	GW_NSTARTED=$((GW_NSTARTED + 1))
	# A short drain, so that a teardown's SIGTERM does not wait 10 s
	# for connections left open (the tests' ARGS may say otherwise).
	"$GW_LISTEN_BIN" -l "127.0.0.1:$port" --rundir "$rd" --drain-time 1 "$@" \
	    </dev/null >"$GW_LOG" 2>&1 3>&- &
	GW_PID=$!
	GW_PORT=$port
	GW_PIDS+=("$GW_PID")
	GW_LOGS+=("$GW_LOG")
	wait_port "$port" "$GW_PID" "$GW_LOG" || return 1
	[ -z "${GW_NO_BRIDGE:-}" ] && [ -z "${GW_UNHEALTHY:-}" ] || return 0
	wait_health "$port" 200 || return 1
	if [ -n "${GW_WANT_PORT:-}" ]; then
		# A shared port: the answer may have come from another
		# gw-listen.  Ten in a row from random source ports.
		for ((i = 0; i < 10; i++)); do
			wait_health "$port" 200 || return 1
		done
	fi
}

# gw_setup_file / gw_teardown_file: for a bats file's setup_file and
# teardown_file: one redis-server for all the tests of the file (on a
# Unix socket in $BATS_FILE_TMPDIR), emptied (FLUSHALL) before each test;
# a test that calls start_redis still gets one of its own.  Saves a
# Redis start per test in a file of many short tests.
gw_setup_file() {
	local d i
	command -v redis-server >/dev/null || return 0
	d=${BATS_FILE_TMPDIR:?}/redis
	mkdir -p "$d"
	redis-server --port 0 --unixsocket "$d/redis.sock" \
	    --unixsocketperm 700 --dir "$d" --save '' --appendonly no \
	    --daemonize no --logfile "$d/redis.log" \
	    </dev/null >/dev/null 2>&1 3>&- &
	GW_FILE_REDIS_PID=$!
	GW_FILE_REDIS_SOCK=$d/redis.sock
	export GW_FILE_REDIS_PID GW_FILE_REDIS_SOCK
	for ((i = 0; i < 216; i++)); do
		if [ "$(timeout 10 redis-cli -s "$d/redis.sock" PING \
		    2>/dev/null)" = PONG ]; then
			return 0
		fi
		nap "$i"
	done
	echo "redis-server did not start; log:"
	sed 's/^/  /' "$d/redis.log"
	return 1
}

gw_teardown_file() {
	[ -n "${GW_FILE_REDIS_PID:-}" ] || return 0
	kill -KILL "$GW_FILE_REDIS_PID" 2>/dev/null || true
	wait "$GW_FILE_REDIS_PID" 2>/dev/null || true
}

# start_redis [PORT]: a private redis-server without persistence, on a
# Unix socket in $GW_TMP/redis (or on 127.0.0.1:PORT); sets REDIS_PID,
# REDIS_SOCK or REDIS_PORT, REDIS_URL, REDIS_DIR.  Skips the test
# without redis-server.  Called again after stop_redis or kill_redis, it
# starts a new, empty Redis at the same address.
start_redis() {
	local i
	command -v redis-server >/dev/null || skip "no redis-server"
	gw_tmpdir >/dev/null
	REDIS_DIR=$GW_TMP/redis
	mkdir -p "$REDIS_DIR"
	if [ -n "${1:-}" ]; then
		REDIS_PORT=$1
		REDIS_SOCK=
		REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
		    --dir "$REDIS_DIR" --save '' --appendonly no \
		    --daemonize no --logfile "$REDIS_DIR/redis.log" \
		    </dev/null >/dev/null 2>&1 3>&- &
	else
		REDIS_PORT=
		REDIS_SOCK=$REDIS_DIR/redis.sock
		REDIS_URL="unix://$REDIS_SOCK"
		redis-server --port 0 --unixsocket "$REDIS_SOCK" \
		    --unixsocketperm 700 --dir "$REDIS_DIR" --save '' \
		    --appendonly no --daemonize no \
		    --logfile "$REDIS_DIR/redis.log" </dev/null >/dev/null 2>&1 3>&- &
	fi
	REDIS_PID=$!
	for ((i = 0; i < 216; i++)); do
		if [ "$(rcli PING 2>/dev/null)" = PONG ]; then
			return 0
		fi
		kill -0 "$REDIS_PID" 2>/dev/null || break
		nap "$i"
	done
	echo "redis-server did not start; log:"
	sed 's/^/  /' "$REDIS_DIR/redis.log" 2>/dev/null
	return 1
}

# rcli ARGS...: redis-cli against the test's Redis.
rcli() {
	if [ -n "$REDIS_PORT" ]; then
		timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
	else
		timeout 10 redis-cli -s "$REDIS_SOCK" "$@"
	fi
}

# stop_redis: stop the redis-server of start_redis, if any.
stop_redis() {
	[ -n "$REDIS_PID" ] || return 0
	stop_one "$REDIS_PID"
	REDIS_PID=
}

# kill_redis [SIGNAL]: send SIGNAL (default KILL) to the test's Redis and
# wait for it to go (at most 5 s).
kill_redis() {
	local i
	[ -n "$REDIS_PID" ] || return 0
	# (stderr: no "Killed" notice from bash's job control)
	{
		kill -"${1:-KILL}" "$REDIS_PID" || true
		for ((i = 0; i < 116; i++)); do
			kill -0 "$REDIS_PID" || break
			nap "$i"
		done
		if kill -0 "$REDIS_PID"; then
			echo "redis-server ignored SIG${1:-KILL} for 5 s" >&4
			kill -KILL "$REDIS_PID" || true
		fi
		wait "$REDIS_PID" || true
	} 4>&2 2>/dev/null
	REDIS_PID=
}

# start_bridge [ARGS...]: start gw-bridge on the run directory
# ${GW_NODE_RUNDIR:-$GW_TMP/run} with --redis $REDIS_URL (starting the
# test's Redis first if need be) and ARGS, and wait until it is ready
# (its --ready-fd).  Sets BRIDGE_PID, BRIDGE_LOG, BRIDGE_RUNDIR.
start_bridge() {
	local dir rd fifo line=
	gw_tmpdir >/dev/null
	dir=$GW_TMP
	rd=${GW_NODE_RUNDIR:-$dir/run}
	if [ -z "$REDIS_URL" ]; then
		start_redis || return 1
	fi
	BRIDGE_LOG="$dir/gw-bridge.$BRIDGE_NSTARTED.log"
	fifo="$dir/gw-bridge.$BRIDGE_NSTARTED.ready"
	BRIDGE_NSTARTED=$((BRIDGE_NSTARTED + 1))
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	"$GW_BRIDGE_BIN" --rundir "$rd" --redis "$REDIS_URL" --ready-fd 3 "$@" \
	    </dev/null >"$BRIDGE_LOG" 2>&1 3>"$fifo" &
	BRIDGE_PID=$!
	BRIDGE_RUNDIR=$rd
	[ "$rd" != "$dir/run" ] || GW_AUTO_BRIDGE=1
	BRIDGE_PIDS+=("$BRIDGE_PID")
	BRIDGE_LOGS+=("$BRIDGE_LOG")
	# The bridge writes a newline and closes: EOF alone means it died.
	if ! IFS= read -r -t 10 line <"$fifo"; then
		echo "gw-bridge (pid $BRIDGE_PID) not ready within 10 s; log:"
		sed 's/^/  /' "$BRIDGE_LOG"
		return 1
	fi
	rm -f "$fifo"
	if [ ! -S "$rd/bridge.sock" ]; then
		echo "gw-bridge ready but no socket $rd/bridge.sock"
		return 1
	fi
}

# kill_bridge [SIGNAL [PID]]: send SIGNAL (default KILL) to a gw-bridge
# (default the last one started), wait for it to go, and forget it (the
# teardown does not check its exit).  Sets STOP_STATUS to its status.
kill_bridge() {
	local sig=${1:-KILL} pid=${2:-$BRIDGE_PID} i j
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 116; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		nap "$i"
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "gw-bridge (pid $pid) still there 5 s after SIG$sig"
		return 1
	fi
	wait "$pid" && STOP_STATUS=0 || STOP_STATUS=$?
	for j in "${!BRIDGE_PIDS[@]}"; do
		[ "${BRIDGE_PIDS[$j]}" = "$pid" ] && unset "BRIDGE_PIDS[$j]"
	done
	return 0
}

# start_presence [ARGS...]: start gw-presence on the run directory
# ${GW_NODE_RUNDIR:-$GW_TMP/run} with --redis $REDIS_URL (starting the
# test's Redis first if need be) and ARGS, and wait until it is ready
# (its --ready-fd: listening and linked to Redis).  Sets PRESENCE_PID,
# PRESENCE_LOG.
start_presence() {
	local dir rd fifo line=
	gw_tmpdir >/dev/null
	dir=$GW_TMP
	rd=${GW_NODE_RUNDIR:-$dir/run}
	if [ -z "$REDIS_URL" ]; then
		start_redis || return 1
	fi
	PRESENCE_LOG="$dir/gw-presence.$PRESENCE_NSTARTED.log"
	fifo="$dir/gw-presence.$PRESENCE_NSTARTED.ready"
	PRESENCE_NSTARTED=$((PRESENCE_NSTARTED + 1))
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	"$GW_PRESENCE_BIN" --rundir "$rd" --redis "$REDIS_URL" --ready-fd 3 "$@" \
	    </dev/null >"$PRESENCE_LOG" 2>&1 3>"$fifo" &
	PRESENCE_PID=$!
	PRESENCE_PIDS+=("$PRESENCE_PID")
	PRESENCE_LOGS+=("$PRESENCE_LOG")
	# A node's gw-presence started again belongs to the node (kill_node).
	if [ -f "$rd.pids" ] && [ "${rd%/*}" = "$dir" ]; then
		echo "$PRESENCE_PID" >>"$rd.pids"
	fi
	# It writes a newline and closes: EOF alone means it died.
	if ! IFS= read -r -t 10 line <"$fifo"; then
		echo "gw-presence (pid $PRESENCE_PID) not ready within 10 s;" \
		    "log:"
		sed 's/^/  /' "$PRESENCE_LOG"
		return 1
	fi
	rm -f "$fifo"
	if [ ! -S "$rd/presence.sock" ]; then
		echo "gw-presence ready but no socket $rd/presence.sock"
		return 1
	fi
}

# kill_presence [SIGNAL [PID]]: send SIGNAL (default KILL) to a
# gw-presence (default the last one started), wait for it to go, and
# forget it (the teardown does not check its exit).  Sets STOP_STATUS.
kill_presence() {
	local sig=${1:-KILL} pid=${2:-$PRESENCE_PID} i j
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 116; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		nap "$i"
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "gw-presence (pid $pid) still there 5 s after SIG$sig"
		return 1
	fi
	wait "$pid" && STOP_STATUS=0 || STOP_STATUS=$?
	for j in "${!PRESENCE_PIDS[@]}"; do
		[ "${PRESENCE_PIDS[$j]}" = "$pid" ] && unset "PRESENCE_PIDS[$j]"
	done
	return 0
}

# start_node NAME [N [LISTEN-ARGS...]]: a node: a gw-bridge on the run
# directory $GW_TMP/NAME and N (default 1) gw-listen on it, each on its
# own port, --auth none --node NAME plus LISTEN-ARGS; Redis is the test's
# (started if need be).  Bridge options go in NODE_BRIDGE_ARGS (an
# array).  With NODE_PRESENCE=1, a gw-presence --node NAME on the same
# run directory too, started before the gw-listen, with the options in
# NODE_PRESENCE_ARGS (an array).  Sets NODE_PORTS (the ports, in order),
# NODE_PIDS, GW_PORT (the first port), BRIDGE_PID, BRIDGE_LOG,
# BRIDGE_RUNDIR, and PRESENCE_PID and PRESENCE_LOG with NODE_PRESENCE;
# the node's pids go in $GW_TMP/NAME.pids (for kill_node).
start_node() {
	local name=$1 n=${2:-1} rd i pf
	shift 2 || shift $#
	gw_tmpdir >/dev/null
	rd=$GW_TMP/$name
	pf=$GW_TMP/$name.pids
	GW_NODE_RUNDIR=$rd start_bridge "${NODE_BRIDGE_ARGS[@]}" || return 1
	echo "$BRIDGE_PID" >>"$pf"
	if [ -n "${NODE_PRESENCE:-}" ]; then
		GW_NODE_RUNDIR=$rd start_presence --node "$name" \
		    "${NODE_PRESENCE_ARGS[@]}" || return 1
	fi
	NODE_PORTS=()
	NODE_PIDS=()
	for ((i = 0; i < n; i++)); do
		GW_NODE_RUNDIR=$rd start_listen --auth none --node "$name" \
		    "$@" || return 1
		echo "$GW_PID" >>"$pf"
		NODE_PORTS+=("$GW_PORT")
		NODE_PIDS+=("$GW_PID")
	done
	GW_PORT=${NODE_PORTS[0]}
}

# kill_node NAME: a node dies without warning: SIGKILL to all its
# processes (those start_node started and any gw-presence started since
# on its run directory, as listed in $GW_TMP/NAME.pids) at once; wait
# for them to go and forget them (the teardown checks none of them).
kill_node() {
	local pf pid pids=() j
	gw_tmpdir >/dev/null
	pf=$GW_TMP/$1.pids
	if [ ! -s "$pf" ]; then
		echo "kill_node $1: no such node"
		return 1
	fi
	while read -r pid; do
		pids+=("$pid")
	done <"$pf"
	# SIGKILL cannot be caught: wait (for our children) returns once
	# each is gone.  (stderr: no "Killed" notice from job control.)
	{
		kill -KILL "${pids[@]}" || true
		for pid in "${pids[@]}"; do
			wait "$pid" || true
		done
	} 2>/dev/null
	for pid in "${pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "pid $pid of node $1 still there after SIGKILL"
			return 1
		fi
		for j in "${!GW_PIDS[@]}"; do
			[ "${GW_PIDS[$j]}" = "$pid" ] && unset "GW_PIDS[$j]"
		done
		for j in "${!BRIDGE_PIDS[@]}"; do
			[ "${BRIDGE_PIDS[$j]}" = "$pid" ] &&
			    unset "BRIDGE_PIDS[$j]"
		done
		for j in "${!PRESENCE_PIDS[@]}"; do
			[ "${PRESENCE_PIDS[$j]}" = "$pid" ] &&
			    unset "PRESENCE_PIDS[$j]"
		done
	done
	: >"$pf"
}

# wait_exit PID SECONDS: wait for a gw-listen we started to exit by
# itself; set GW_EXIT to its status.  Fails if it is still running.
wait_exit() {
	local pid=$1 tries=$(($2 * 20 + 16)) i j
	GW_EXIT=
	for ((i = 0; i < tries; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		nap "$i"
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
	kill -TERM "$1" 2>/dev/null || true
	stop_wait "$1"
}

# stop_wait PID: wait up to 5 s for PID, which was sent SIGTERM, to exit,
# then SIGKILL it.  Sets STOP_STATUS to the exit status of PID.
stop_wait() {
	local pid=$1 i
	for ((i = 0; i < 116; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		nap "$i"
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "pid $pid ignored SIGTERM for 5 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null && STOP_STATUS=0 || STOP_STATUS=$?
}

# stop_checked WHAT PID LOG: stop PID (SIGTERM) and fail, showing LOG, if
# it had died before we asked it to (a crash is a failure even if the
# scenario passed), did not exit 0 after SIGTERM, or logged a sanitizer
# report.
stop_checked() {
	stop_signal "$@" || return 1
	stop_judge "$@"
}

# stop_signal WHAT PID LOG: the first half of stop_checked: fail,
# showing LOG, if PID has died before we asked it to; else send it
# SIGTERM.
stop_signal() {
	local what=$1 pid=$2 logf=$3 st
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" && st=0 || st=$?
		echo "$what (pid $pid) died during the test, status $st;" \
		    "log $logf:"
		sed 's/^/  /' "$logf"
		return 1
	fi
	kill -TERM "$pid" 2>/dev/null || true
}

# stop_judge WHAT PID LOG: the second half: wait for PID (stop_wait) and
# fail, showing LOG, if it did not exit 0 or logged a sanitizer report.
stop_judge() {
	local what=$1 pid=$2 logf=$3
	stop_wait "$pid"
	if [ "$STOP_STATUS" -ne 0 ]; then
		echo "$what (pid $pid) exited $STOP_STATUS after SIGTERM" \
		    "(want 0); log $logf:"
		sed 's/^/  /' "$logf"
		return 1
	fi
	if grep -Eq 'Sanitizer|runtime error:' "$logf"; then
		echo "sanitizer report in $logf:"
		sed 's/^/  /' "$logf"
		return 1
	fi
}

# stop_listen: stop every gw-listen this test started (and every pid the
# scenarios wrote to $GW_TMP/spawned.pids), each checked by
# stop_checked.
stop_listen() {
	local j rc=0
	for j in "${!GW_PIDS[@]}"; do
		stop_checked gw-listen "${GW_PIDS[$j]}" "${GW_LOGS[$j]}" ||
		    rc=1
	done
	GW_PIDS=()
	kill_spawned
	return "$rc"
}

# kill_spawned: SIGKILL and reap what the test spawned on the side
# (listed in $GW_TMP/spawned.pids).
kill_spawned() {
	local pid
	if [ -n "${GW_TMP:-}" ] && [ -f "$GW_TMP/spawned.pids" ]; then
		# (stderr: no "Killed" notice from bash's job control)
		while read -r pid; do
			kill -KILL "$pid" || true
			wait "$pid" || true
		done <"$GW_TMP/spawned.pids" 2>/dev/null
		rm -f "$GW_TMP/spawned.pids"
	fi
}

# stop_bridges: stop every gw-bridge this test started and did not kill,
# each checked by stop_checked.
stop_bridges() {
	local j rc=0
	for j in "${!BRIDGE_PIDS[@]}"; do
		stop_checked gw-bridge "${BRIDGE_PIDS[$j]}" \
		    "${BRIDGE_LOGS[$j]}" || rc=1
	done
	BRIDGE_PIDS=()
	GW_AUTO_BRIDGE=
	return "$rc"
}

# stop_presences: stop every gw-presence this test started and did not
# kill, each checked by stop_checked.
stop_presences() {
	local j rc=0
	for j in "${!PRESENCE_PIDS[@]}"; do
		stop_checked gw-presence "${PRESENCE_PIDS[$j]}" \
		    "${PRESENCE_LOGS[$j]}" || rc=1
	done
	PRESENCE_PIDS=()
	return "$rc"
}

# stop_all: what stop_listen, stop_presences and stop_bridges do, but
# each process is sent its SIGTERM before any is waited for, so that
# their exits overlap: a sanitized exit costs a leak check of about
# 0.1 s, and a bridge or gw-presence with workers still connected drains
# until they have gone, as when gw-supervise stops a whole node.  Each is
# checked as by stop_checked.
stop_all() {
	local what=() pids=() logs=() j rc=0
	for j in "${!GW_PIDS[@]}"; do
		what+=(gw-listen)
		pids+=("${GW_PIDS[$j]}")
		logs+=("${GW_LOGS[$j]}")
	done
	for j in "${!PRESENCE_PIDS[@]}"; do
		what+=(gw-presence)
		pids+=("${PRESENCE_PIDS[$j]}")
		logs+=("${PRESENCE_LOGS[$j]}")
	done
	for j in "${!BRIDGE_PIDS[@]}"; do
		what+=(gw-bridge)
		pids+=("${BRIDGE_PIDS[$j]}")
		logs+=("${BRIDGE_LOGS[$j]}")
	done
	GW_PIDS=()
	PRESENCE_PIDS=()
	BRIDGE_PIDS=()
	GW_AUTO_BRIDGE=
	for j in "${!pids[@]}"; do
		if ! stop_signal "${what[$j]}" "${pids[$j]}" "${logs[$j]}"; then
			rc=1
			unset "pids[$j]"
		fi
	done
	for j in "${!pids[@]}"; do
		stop_judge "${what[$j]}" "${pids[$j]}" "${logs[$j]}" || rc=1
	done
	kill_spawned
	return "$rc"
}

# show_logs: print the logs of this test's servers (for failures).
show_logs() {
	local f
	for f in "${GW_LOGS[@]}" "${BRIDGE_LOGS[@]}" \
	    "${PRESENCE_LOGS[@]}"; do
		[ -s "$f" ] || continue
		echo "--- $f"
		tail -n 40 "$f" | sed 's/^/  /'
	done
}

# make_secret [FILE]: write a 32-byte secret (hex text, no newline) to
# FILE (default $GW_TMP/secret); sets GW_SECRET to its path.
make_secret() {
	gw_tmpdir >/dev/null
	GW_SECRET=${1:-$GW_TMP/secret}
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$GW_SECRET"
	[ "$(wc -c <"$GW_SECRET")" -eq 32 ]
}

# scenario NAME [ARGS...]: run a conformance.py scenario against the last
# gw-listen started.
scenario() {
	local name=$1
	shift
	"$PY" "$CONF" "$name" --port "$GW_PORT" "$@"
}

# bg_start NAME CMD...: run CMD in the background, its output in
# $GW_TMP/NAME.out; sets BG_PID (killed by the teardown if still there).
# Phases: a scenario of bridgecheck.py run with --sync "$GW_TMP/sync"
# creates sync/PHASE and waits for sync/PHASE.go.
bg_start() {
	local name=$1
	shift
	mkdir -p "$GW_TMP/sync"
	BG_OUT="$GW_TMP/$name.out"
	"$@" </dev/null >"$BG_OUT" 2>&1 3>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$GW_TMP/spawned.pids"
}

# phase_wait PHASE [SECONDS]: wait (default at most 30 s) until the
# background scenario reached PHASE; fail, with its output, if it ended
# first.
phase_wait() {
	local f="$GW_TMP/sync/$1" secs=${2:-30} i
	for ((i = 0; i < secs * 20 + 16; i++)); do
		[ -e "$f" ] && return 0
		if ! kill -0 "$BG_PID" 2>/dev/null; then
			[ -e "$f" ] && return 0
			echo "the scenario ended before phase $1:"
			sed 's/^/  /' "$BG_OUT"
			return 1
		fi
		nap "$i"
	done
	echo "the scenario did not reach phase $1 within $secs s:"
	sed 's/^/  /' "$BG_OUT"
	return 1
}

# phase_go PHASE: let the background scenario go on past PHASE.
phase_go() {
	: >"$GW_TMP/sync/$1.go"
}

# bg_finish [SECONDS]: wait (default at most 60 s) for the background
# scenario to end; print its output; return its exit status.
bg_finish() {
	local secs=${1:-60} i st
	for ((i = 0; i < secs * 20 + 16; i++)); do
		kill -0 "$BG_PID" 2>/dev/null || break
		nap "$i"
	done
	if kill -0 "$BG_PID" 2>/dev/null; then
		echo "the scenario is still running after $secs s:"
		sed 's/^/  /' "$BG_OUT"
		return 1
	fi
	wait "$BG_PID" && st=0 || st=$?
	sed 's/^/  /' "$BG_OUT"
	return "$st"
}

# wait_log REGEX FILE [SECONDS]: wait (default at most 5 s) for a line
# matching REGEX in FILE.
wait_log() {
	local secs=${3:-5} i
	for ((i = 0; i < secs * 20 + 16; i++)); do
		grep -Eq "$1" "$2" && return 0
		nap "$i"
	done
	echo "no line matching /$1/ in $2 within $secs s:"
	sed 's/^/  /' "$2"
	return 1
}

# expect_n_start BIN STATUS ARGS...: run "BIN -n ARGS" (a check of the
# configuration) in the background, at most four at a time, for
# expect_n_check.  A sanitized binary spends most of its 0.15 s starting
# and in the leak check at its exit: a test of dozens of option values
# lets those overlap.
N_PIDS=()		# expect_n_start runs not waited for
N_STARTED=0		# runs started, n.0 ... in $GW_TMP
N_CHECKED=0		# runs expect_n_check judged
expect_n_start() {
	local bin=$1 want=$2 f
	shift 2
	gw_tmpdir >/dev/null
	f=$GW_TMP/n.$N_STARTED
	N_STARTED=$((N_STARTED + 1))
	printf '%s\n' "$want" >"$f.want"
	printf '%s -n' "${bin##*/}" >"$f.cmd"
	printf ' %q' "$@" >>"$f.cmd"
	echo >>"$f.cmd"
	{
		timeout 10 "$bin" -n "$@" </dev/null >"$f.out" 2>"$f.err" &&
		    st=0 || st=$?
		echo "$st" >"$f.rc"
	} &
	N_PIDS+=("$!")
	if [ "${#N_PIDS[@]}" -ge 4 ]; then
		wait "${N_PIDS[0]}" || true
		N_PIDS=("${N_PIDS[@]:1}")
	fi
}

# expect_n_check: wait for the runs of expect_n_start; fail, naming each
# that did not, unless every one exited the STATUS it was started with,
# with a message on stderr when STATUS is not 0.  (The teardown fails a
# test that started runs and did not check them.)
expect_n_check() {
	local pid i f want st cmd rc=0
	for pid in "${N_PIDS[@]}"; do
		wait "$pid" || true
	done
	N_PIDS=()
	for ((i = N_CHECKED; i < N_STARTED; i++)); do
		f=$GW_TMP/n.$i
		read -r want <"$f.want"
		read -r cmd <"$f.cmd"
		st=
		read -r st <"$f.rc" || true
		if [ "$st" != "$want" ]; then
			echo "$cmd: exit ${st:-(none)}, want $want"
			echo "stderr: $(cat "$f.err")"
			rc=1
		elif [ "$want" -ne 0 ] && [ ! -s "$f.err" ]; then
			echo "$cmd: exit $want but no message on stderr"
			rc=1
		fi
	done
	N_CHECKED=$N_STARTED
	return "$rc"
}

# gw_setup / gw_teardown: the setup and teardown of every test.  Nothing
# a test starts ever uses the default run directory /tmp/gw-UID.
gw_setup() {
	GW_TMP=
	gw_tmpdir >/dev/null
	GW_RUNDIR=$GW_TMP/run
	export GW_RUNDIR
	NODE_BRIDGE_ARGS=()
	NODE_PRESENCE_ARGS=()
	if [ -n "${GW_FILE_REDIS_SOCK:-}" ]; then
		REDIS_SOCK=$GW_FILE_REDIS_SOCK
		REDIS_URL="unix://$REDIS_SOCK"
		[ "$(rcli FLUSHALL 2>&1)" = OK ] || {
			echo "the file's Redis is gone"
			return 1
		}
	fi
}

gw_teardown() {
	local rc=0
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		show_logs
	fi
	if [ "$N_CHECKED" -ne "$N_STARTED" ]; then
		if [ -n "${BATS_TEST_COMPLETED:-}" ]; then
			echo "the test did not check its runs of expect_n_start:"
			rc=1
		fi
		expect_n_check || true
	fi
	stop_all || rc=1
	kill_redis KILL
	if [ -n "${GW_TMP_OWNED:-}" ] && [ "$rc" -eq 0 ]; then
		rm -rf "$GW_TMP"
		GW_TMP=''
		GW_TMP_OWNED=''
	fi
	return "$rc"
}
