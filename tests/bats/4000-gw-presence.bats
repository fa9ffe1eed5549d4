#!/usr/bin/env bats
# 4000-gw-presence.bats -- gw-presence, cluster-wide presence and typing,
# to its spec (notes/presence-spec.md, issue 4) and PROTOCOL.md sections
# 2 and 4: users counted once across tabs and nodes, the grace, the
# actor and subscribers without presence: true getting nothing, typing
# start/refresh/stop, a node killed with SIGKILL swept within node_ttl,
# a 10 000-member channel answered in one Redis round trip, gw-presence
# killed and restarted without clients noticing.
#
# A "node" is a gw-bridge, a gw-presence and a gw-listen (--auth none,
# unless a test says otherwise) on a run directory of its own
# (start_node with NODE_PRESENCE=1 in helpers/gw.bash); every test's
# nodes share one private redis-server.  The timers are short to keep
# the file fast: --node-ttl 2, --presence-grace 1, --typing-ttl 1; the
# scenarios (helpers/presencecheck.py, python3-websockets) are told them
# and check every deadline against them.  Every wait is bounded.

bats_require_minimum_version 1.5.0

load ../helpers/gw

PC="$GW_HELPERS/presencecheck.py"
TTL=2
GRACE=1
TYPING=1
TIMERS=(--grace "$GRACE" --node-ttl "$TTL" --typing-ttl "$TYPING")

setup() {
	gw_setup
	NODE_PRESENCE=1
	NODE_PRESENCE_ARGS=(--node-ttl "$TTL" --presence-grace "$GRACE"
	    --typing-ttl "$TYPING")
}

teardown() {
	gw_teardown
}

pcheck() {
	"$PY" "$PC" "$@" "${TIMERS[@]}"
}

# nodes N [LISTEN-ARGS...]: nodes a, b (and c) with one gw-listen each;
# sets PORTS (their ports: a,b[,c]).
nodes() {
	local n=$1 name
	shift
	PORTS=
	for name in a b c; do
		[ "$n" -gt 0 ] || break
		n=$((n - 1))
		start_node "$name" 1 "$@"
		PORTS=${PORTS:+$PORTS,}$GW_PORT
	done
}

# ---------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------

# expect_n STATUS ARGS...: "gw-presence -n ARGS" exits STATUS, with a
# message on stderr when STATUS is not 0.  The runs overlap: the
# expect_n_check that ends each test that calls this judges them (see
# helpers/gw.bash).
expect_n() {
	expect_n_start "$GW_PRESENCE_BIN" "$@"
}

@test "usage: -h, a bad option or operand exits 2 with the usage; the usage matches man/gw-presence.8, which mandoc finds clean" {
	local a man="$GW_ROOT/man/gw-presence.8"
	for a in -h --bogus --redis operand; do
		run --separate-stderr timeout 10 "$GW_PRESENCE_BIN" "$a"
		echo "$a: status $status; stderr: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == *usage:\ gw-presence* ]]
	done
	if [ ! -f "$man" ]; then
		echo "man/gw-presence.8 does not exist (yet)"
		return 1
	fi
	timeout 10 "$GW_PRESENCE_BIN" -h 2>"$GW_TMP/usage" || true
	"$PY" "$GW_HELPERS/synopsis.py" "$GW_TMP/usage" "$man"
	run mandoc -Tlint -Wwarning "$man"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "-n: good options exit 0, bad ones 2" {
	local o v
	expect_n 0
	expect_n 0 -v --rundir "$GW_TMP/r" --redis unix:///tmp/r.sock \
	    --node n1 --node-ttl 2.5 --presence-grace 0 --typing-ttl 0.5 \
	    --presence-max-users 10 --ready-fd 3
	for u in '' 127.0.0.1:6379 http://h:1 redis://h:0 unix://; do
		expect_n 2 --redis "$u"
	done
	for o in --node-ttl --presence-grace --typing-ttl \
	    --presence-max-users --ready-fd; do
		for v in abc '' -1 10x; do
			expect_n 2 "$o" "$v"
		done
	done
	expect_n 2 --node-ttl 0
	expect_n 2 --presence-max-users 0
	expect_n 2 --node ''
	expect_n_check
}

# ---------------------------------------------------------------------
# Presence
# ---------------------------------------------------------------------

@test "dedupe: two tabs of one user on two nodes: one join, counted once with the earliest connectedAt and the token's info, one leave after the last tab" {
	make_secret
	nodes 2 --auth jwt --secret-file "$GW_SECRET"
	pcheck dedupe --ports "$PORTS" --secret "$GW_SECRET"
}

@test "race: four users subscribing with presence at the same moment on two nodes each come to see all four, no join twice (ten rounds, new and live channels)" {
	nodes 2
	pcheck race --ports "$PORTS"
}

@test "grace: a leave only after presence_grace; back within it (same node or another): neither leave nor join" {
	nodes 2
	pcheck grace --ports "$PORTS"
}

@test "the actor gets none of its own events; subscribers without presence: true get no presence or typing frames" {
	nodes 2
	pcheck actor --ports "$PORTS"
}

@test "the bridge passes a channel's events only to the workers with presence subscribers on it (none to a worker whose subscribers did not ask)" {
	start_node a 2
	pcheck evworkers --ports "${NODE_PORTS[0]},${NODE_PORTS[1]}" \
	    --pids "${NODE_PIDS[0]},${NODE_PIDS[1]}" \
	    --rundir "$(gw_tmpdir)/a"
}

@test "gw-bridge killed and restarted: the workers declare their channels again, with the events where a presence subscriber is, without elsewhere" {
	local port
	start_node a 2
	bg_start restart "$PY" "$PC" evworkers \
	    --ports "${NODE_PORTS[0]},${NODE_PORTS[1]}" \
	    --pids "${NODE_PIDS[0]},${NODE_PIDS[1]}" \
	    --rundir "$GW_TMP/a" --sync "$GW_TMP/sync" "${TIMERS[@]}"
	phase_wait restart
	kill_bridge KILL
	GW_NODE_RUNDIR=$GW_TMP/a start_bridge "${NODE_BRIDGE_ARGS[@]}"
	for port in "${NODE_PORTS[@]}"; do
		wait_health "$port" 200 10
	done
	phase_go restart
	bg_finish
}

@test "typing: one start per burst, stop after the TTL, on state stop, on a publish, on unsubscribe and on close; not in history" {
	nodes 2
	pcheck typing --ports "$PORTS"
}

# ---------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------

@test "a node killed (SIGKILL): one presence.leave per user only there, at both survivors, within node_ttl + 2 s; gone from presence answers" {
	nodes 3
	bg_start kill "$PY" "$PC" node-kill --ports "$PORTS" \
	    --sync "$GW_TMP/sync" "${TIMERS[@]}"
	phase_wait kill
	kill_node a
	phase_go kill
	bg_finish
}

@test "gw-presence killed (SIGKILL) and restarted: the workers re-declare, everyone listed again, no leave or join reaches observers" {
	nodes 2
	local pa=${PRESENCE_PIDS[0]}
	bg_start restart "$PY" "$PC" restart --ports "$PORTS" \
	    --sync "$GW_TMP/sync" --redis-sock "$REDIS_SOCK" "${TIMERS[@]}"
	phase_wait restart
	kill_presence KILL "$pa"
	GW_NODE_RUNDIR=$GW_TMP/a start_presence --node a \
	    "${NODE_PRESENCE_ARGS[@]}"
	phase_go restart
	bg_finish
}

@test "resume with a token that lost a channels claim: the channel is left out of the welcome and not restored; asked again, forbidden with its id" {
	make_secret
	nodes 2 --auth jwt --secret-file "$GW_SECRET"
	pcheck resume-claims --ports "$PORTS" --secret "$GW_SECRET"
}

@test "FLUSHALL: each gw-presence finds its lease gone and declares its users again quietly (nobody swept them, nobody saw them leave): no join reaches the observers, their own neither" {
	nodes 2
	pcheck flush --ports "$PORTS" --redis-sock "$REDIS_SOCK"
}

@test "gw-presence killed while a user types and another closes: typing.stop still comes (the worker declares the typing to the new one), and the closing save made meanwhile is kept and sent: the resume elsewhere recovers every message" {
	nodes 2
	local pa=${PRESENCE_PIDS[0]}
	bg_start outage "$PY" "$PC" outage --ports "$PORTS" \
	    --sync "$GW_TMP/sync" --redis-sock "$REDIS_SOCK" "${TIMERS[@]}"
	phase_wait kill
	kill_presence KILL "$pa"
	phase_go kill
	phase_wait start
	GW_NODE_RUNDIR=$GW_TMP/a start_presence --node a \
	    "${NODE_PRESENCE_ARGS[@]}"
	phase_go start
	bg_finish
}

# ---------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------

@test "gw-presence stopped (SIGSTOP) with a lease unanswered: on SIGCONT it reads the answer Redis sent meanwhile before judging the link: no reconnect" {
	local t0
	# A lease every 2 s, judged unanswered after 4 s.
	NODE_PRESENCE_ARGS=(--node-ttl 6 --presence-grace "$GRACE"
	    --typing-ttl "$TYPING")
	start_redis
	nodes 1
	wait_log 'redis link up' "$PRESENCE_LOG"
	# Redis stopped past a lease period: a lease goes out unanswered.
	kill -STOP "$REDIS_PID"
	t0=$EPOCHREALTIME
	sleep 2.5
	kill -STOP "$PRESENCE_PID"
	kill -CONT "$REDIS_PID"
	# Redis answers into gw-presence's socket.  Not a race: gw-presence
	# is stopped until its lease (sent at most 2.5 s ago) is more than
	# 4 s old.
	sleep 4.5
	kill -CONT "$PRESENCE_PID"
	echo "gw-presence stopped after $(awk "BEGIN { print $EPOCHREALTIME - $t0 }") s"
	# A request through gw-presence: the overdue lease timer has run by
	# the time it is answered (it runs first after SIGCONT).
	run gwctl --rundir "$(gw_tmpdir)/a" --json stats
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$PRESENCE_LOG"
	run ! grep -E 'no answer|reconnecting|link down' "$PRESENCE_LOG"
}

# pstat FIELD: gw-presence's counter FIELD on node a (gwctl stats).
pstat() {
	gwctl --rundir "$(gw_tmpdir)/a" --json stats |
	    jq -r "select(.process == \"gw-presence\") | .counters.$1"
}

@test "a burst while Redis is stalled: at most 128 commands awaited on the link (and the lease); the workers are not read once 8 192 are queued, and read again as Redis answers; all joined once Redis is back" {
	local i q a n=6000
	ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	# Redis is stalled for seconds: the lease is judged after 20 s, and
	# the bridge's probes (which would make the node unhealthy, and
	# refuse new connections) are 10 s apart.
	NODE_PRESENCE_ARGS=(--node-ttl 30 --presence-grace "$GRACE"
	    --typing-ttl "$TYPING")
	NODE_BRIDGE_ARGS=(--probe-interval 10)
	start_redis
	nodes 1
	wait_log 'redis link up' "$PRESENCE_LOG"
	kill -STOP "$REDIS_PID"
	# 6 000 users join and save their sessions: some 18 000 commands.
	bg_start burst gw-bench --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns "$n" --concurrency "$n" --channels 1 \
	    --user-pattern "u%d" --rate 0 --duration 8 --connect-timeout 60 \
	    --json
	for ((i = 0; i < 400; i++)); do
		[ "$(pstat redis_pauses)" -gt 0 ] 2>/dev/null && break
		nap "$i"
	done
	# All connected: what the worker sent meanwhile stayed with it.
	for ((i = 0; i < 400; i++)); do
		[ "$(gwctl --rundir "$(gw_tmpdir)/a" --json stats |
		    jq -r 'select(.process == "gw-listen") | .counters.connections')" \
		    -ge "$n" ] && break
		nap "$i"
	done
	q=$(pstat redis_queued)
	a=$(pstat redis_awaited)
	echo "stalled: $a awaited, $q queued, paused $(pstat redis_pauses) times"
	kill -CONT "$REDIS_PID"
	[ "$(pstat redis_pauses)" -ge 1 ]
	# 8 192, and what was left of the worker's last read (64 KB): not
	# the 18 000 commands of the whole burst.
	[ "$q" -ge 8192 ] && [ "$q" -le 12288 ]
	# 128, and the lease and a sweep claim, which skip the queue.
	[ "$a" -ge 128 ] && [ "$a" -le 130 ]
	# While gw-bench holds its connections (8 s): every join
	# reached Redis (6 000 users, and the publisher's connection).
	for ((i = 0; i < 400; i++)); do
		[ "$(rcli HLEN 'gw:{bench:0}:u')" -ge "$n" ] &&
		    [ "$(pstat redis_queued)" = 0 ] && break
		nap "$i"
	done
	gwctl --rundir "$(gw_tmpdir)/a" --json stats | grep presence
	[ "$(pstat redis_queued)" = 0 ]
	[ "$(rcli HLEN 'gw:{bench:0}:u')" -ge "$n" ]
	[ "$(pstat entries)" -ge "$n" ]
	[ "$(pstat sessions)" -ge "$n" ]
	bg_finish
	jq -e ".connections.opened == $n and .connections.failed == 0" \
	    "$BG_OUT"
	run ! grep -E 'no answer|reconnecting|link down' "$PRESENCE_LOG"
}

@test "10 000 members: joins cost O(1) commands each; a presence query is HLEN and HRANDFIELD in one round trip: count 10000, 1000 users, truncated" {
	local n=10000
	ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	if [ "$(ulimit -n)" -lt $((n + 200)) ]; then
		echo "ulimit -n is $(ulimit -n): $n connections need more"
		return 1
	fi
	NODE_PRESENCE_ARGS+=(--presence-max-users 1000)
	nodes 1
	if ! "$PY" "$PC" big --ports "$PORTS" --redis-sock "$REDIS_SOCK" \
	    -n "$n" --max-users 1000 "${TIMERS[@]}" >"$GW_TMP/big.out" 2>&1
	then
		cat "$GW_TMP/big.out"
		return 1
	fi
	# The measurements, for the record.
	grep -v '^ok$' "$GW_TMP/big.out" | sed 's/^/# /' >&3
	# The teardown's SIGTERM comes while gw-listen still sends gw-presence
	# the 10 000 sessions and leaves of the clients just gone: it must
	# still drain and exit 0 within 5 s.
}
