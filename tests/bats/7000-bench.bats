#!/usr/bin/env bats
# 7000-bench.bats -- a smoke test of gw-bench, not a benchmark (no figure
# is asserted): 300 connections over two receiver processes on three
# channels of a small node, 50 msg/s for 2 s; the JSON report parses and
# shows every expected delivery, no gap and no loss.  Cross-node (S4):
# the publisher on node a, the subscribers on node b, every delivery
# counted, and a's and b's counters show where the publishes went in.
# A presence storm (S5): every join seen by every watcher, the queries
# answered with every user counted.  A reconnect storm (S6): node a
# killed, every victim resumed on node b with nothing missed (and, with
# --no-since, the gap that only the since replay fills).  And its usage
# errors (a target that
# is not loopback is refused), and its usage text against the SYNOPSIS
# of man/gw-bench.8.  The publisher through the HTTP API (--pub-api):
# every delivery, each publish counted once by the node, and a wrong key
# that fails the run at once.  Tokens (--jwt-secret) on an --auth jwt
# node: every delivery; another secret: every upgrade refused.  The protocol adapters (--proto nchan, socketio)
# against tests/helpers/fakepeer.py, a stand-in of a few lines for each
# peer: every delivery, every publish answered, every ping ponged (the
# real Nchan and Socket.IO are for make bench-peers, not make test).

bats_require_minimum_version 1.5.0
load ../helpers/gw

GW_BENCH_BIN=${GW_BENCH_BIN:-gw-bench}

setup() {
	gw_setup
	command -v jq >/dev/null || skip "no jq"
}

FAKE_PID=

teardown() {
	if [ -n "$FAKE_PID" ]; then
		kill -KILL "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	gw_teardown
}

# fake_peer KIND: run gw-bench --proto KIND against fakepeer.py KIND on
# a free port (3 channels, 50 subscribers over two processes, 50 msg/s
# for 2 s), check its JSON, stop the fake; its counts in $GW_TMP/fake.
fake_peer() {
	local port i
	port=$(free_port)
	"$PY" "$GW_HELPERS/fakepeer.py" "$1" "$port" 2>"$GW_TMP/fake" &
	FAKE_PID=$!
	wait_port "$port" "$FAKE_PID" "$GW_TMP/fake"
	run -0 timeout 30 "$GW_BENCH_BIN" --proto "$1" \
	    --url "ws://127.0.0.1:$port/" --conns 50 --procs 2 --channels 3 \
	    --rate 50 --warmup 0.5 --duration 2 --drain 5 \
	    --connect-timeout 10 --server-pids "$FAKE_PID" --json
	echo "$output"
	echo "$output" | jq -e --arg p "$1" '
	    .proto == $p and
	    .connections.opened == 50 and .connections.failed == 0 and
	    .connections.closed_during_run == 0 and
	    .publish.messages == 100 and .publish.errors == 0 and
	    .publish.publisher_closed == 0 and
	    .deliveries.expected > 1600 and
	    .deliveries.received == .deliveries.expected and
	    .deliveries.gaps == 0 and .deliveries.reordered == 0 and
	    .deliveries.wrong_channel == 0 and .deliveries.warmup > 0 and
	    .latency_ms.count == .deliveries.received' >/dev/null
	kill -TERM "$FAKE_PID"
	for ((i = 0; i < 100; i++)); do
		grep -q upgrades "$GW_TMP/fake" && break
		nap "$i"
	done
	wait "$FAKE_PID" || true
	FAKE_PID=
	cat "$GW_TMP/fake"
}

@test "gw-bench --proto nchan: /sub/CH subscribers, POST /pub/CH, all delivered" {
	fake_peer nchan
	jq -e '.upgrades == 50 and .posts == 125' "$GW_TMP/fake" >/dev/null
}

@test "gw-bench --proto socketio: Engine.IO open, 40, sub acks, pings ponged" {
	fake_peer socketio
	# 50 subscribers and the publisher, each pinged once.
	jq -e '.upgrades == 51 and .pongs == 51 and .pings_unanswered == 0' \
	    "$GW_TMP/fake" >/dev/null
}

@test "gw-bench: 300 connections, 2 s of publishing: deliveries, no loss" {
	command -v redis-server >/dev/null || skip "no redis-server"
	start_listen --auth none --publish-rate 100000 --publish-burst 100000
	run -0 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns 300 --procs 2 --channels 3 --rate 50 --warmup 0.5 \
	    --duration 2 --drain 5 --connect-timeout 10 \
	    --server-pids "$GW_PID,$BRIDGE_PID" --json
	echo "$output"
	echo "$output" | jq -e '
	    .connections.opened == 300 and .connections.failed == 0 and
	    .publish.messages == 100 and .publish.errors == 0 and
	    .deliveries.expected == 10000 and
	    .deliveries.received == .deliveries.expected and
	    .deliveries.lost == 0 and .deliveries.gaps == 0 and
	    .deliveries.reordered == 0 and .deliveries.wrong_channel == 0 and
	    .latency_ms.count == .deliveries.received and
	    .latency_ms.p50 > 0 and .latency_ms.max >= .latency_ms.p99 and
	    .server.rss_kib.start > 0 and .receivers_lost == 0' >/dev/null
}

@test "gw-bench: the table names the figures" {
	command -v redis-server >/dev/null || skip "no redis-server"
	start_listen --auth none --publish-rate 100000 --publish-burst 100000
	run -0 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns 20 --rate 20 --warmup 0 --duration 0.5 --drain 5 \
	    --source-addrs none
	echo "$output"
	[[ $output == *"20 opened, 0 failed"* ]]
	[[ $output == *"latency (ms)"*p99* ]]
}

@test "gw-bench: a server's anonymous memory is read apart from its RSS" {
	start_listen --auth none --publish-rate 100000 --publish-burst 100000
	# A stand-in server holding 64 MiB of its own, beside its program's
	# and libraries' pages, which RSS counts and anon must not.
	"$PY" -c 'import sys, time
b = bytearray(64 << 20)
for i in range(0, len(b), 4096):
	b[i] = 1
sys.stdout.write("ready\n"); sys.stdout.flush()
time.sleep(60)' >"$GW_TMP/hold.out" &
	holder=$!
	wait_log ready "$GW_TMP/hold.out" 10
	run -0 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns 20 --rate 20 --warmup 0 --duration 0.5 --drain 5 \
	    --source-addrs none --server-pids "$holder,$GW_PID" --json
	kill "$holder"
	echo "$output"
	echo "$output" | jq -e '
	    .server_by_pid[0].anon_kib[0] >= 65536 and
	    .server_by_pid[0].anon_kib[0] < .server_by_pid[0].rss_kib[0] and
	    .server.anon_kib.start ==
	        ([.server_by_pid[].anon_kib[0]] | add) and
	    .server.anon_kib.start < .server.rss_kib.start and
	    (.server.anon_per_conn_end_bytes | type) == "number"' >/dev/null
}

@test "gw-bench --receiver-nice 7: the receiver processes run at nice 7, the parent at its own" {
	start_listen --auth none --publish-rate 100000 --publish-burst 100000
	"$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" --conns 40 \
	    --procs 2 --rate 20 --warmup 0 --duration 4 --drain 5 \
	    --source-addrs none --receiver-nice 7 --json \
	    >"$GW_TMP/nice.json" 2>"$GW_TMP/nice.err" &
	local parent=$! kids= i
	for ((i = 0; i < 200; i++)); do
		kids=$(pgrep -P "$parent" | paste -sd, -)
		[[ $kids == *,* ]] && break
		nap "$i"
	done
	local pnice
	pnice=$(ps -o ni= -p "$parent" | tr -d ' ')
	run ps -o ni= -p "$kids"
	wait "$parent"
	echo "parent $parent (nice $pnice), receivers $kids: $output"
	[ "$(echo "$output" | tr -d ' ' | sort -u)" = 7 ]
	[ "$pnice" = 0 ]
	jq -e '.receiver_nice == 7 and .connections.opened == 40 and
	    .deliveries.lost == 0' "$GW_TMP/nice.json" >/dev/null
}

# published PORT: the sum of the gw_listen_published counters of the
# gw-listen on PORT.
published() {
	"$PY" -c '
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
    timeout=5).read().decode()
print(sum(int(l.split()[-1]) for l in t.splitlines()
    if l.startswith("gw_listen_published{")))' "$1"
}

@test "gw-bench: cross-node: published on node a, all delivered on node b" {
	command -v redis-server >/dev/null || skip "no redis-server"
	start_node a 1 --publish-rate 100000 --publish-burst 100000
	local pa=$GW_PORT
	start_node b 1 --publish-rate 100000 --publish-burst 100000
	local pb=$GW_PORT
	run -0 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$pb/ws" \
	    --pub-url "ws://127.0.0.1:$pa/ws" --conns 50 --channels 10 \
	    --rate 100 --warmup 0.5 --duration 2 --drain 5 \
	    --connect-timeout 10 --json
	echo "$output"
	echo "$output" | jq -e --arg a "ws://127.0.0.1:$pa/ws" '
	    .mode == "fanout" and .pub_url == $a and
	    .connections.opened == 50 and .connections.failed == 0 and
	    .publish.messages == 200 and .publish.errors == 0 and
	    .deliveries.expected == 1000 and
	    .deliveries.received == .deliveries.expected and
	    .deliveries.lost == 0 and .deliveries.gaps == 0 and
	    .deliveries.wrong_channel == 0 and
	    .latency_ms.count == 1000' >/dev/null
	# Every publish (250 with the warm-up) went in through node a.
	[ "$(published "$pa")" -eq 250 ]
	[ "$(published "$pb")" -eq 0 ]
}

@test "gw-bench --pub-api: batches on keep-alive HTTP connections, every delivery, the publishes counted" {
	command -v redis-server >/dev/null || skip "no redis-server"
	printf '# the API key\n\nkey-aaaaaaaaaaaaaaaaaaaa\n' >"$GW_TMP/keys"
	start_node a 1 --api-key-file "$GW_TMP/keys"
	run -0 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --pub-api "$GW_TMP/keys" --conns 200 --channels 200 --rate 1000 \
	    --warmup 0.5 --duration 1 --drain 5 --connect-timeout 10 --json
	echo "$output"
	echo "$output" | jq -e '
	    .pub_api == true and
	    .connections.opened == 200 and .connections.failed == 0 and
	    .publish.messages == 1000 and .publish.warmup_messages == 500 and
	    .publish.errors == 0 and .publish.publisher_closed == 0 and
	    .deliveries.expected == 1000 and
	    .deliveries.received == .deliveries.expected and
	    .deliveries.lost == 0 and .deliveries.gaps == 0 and
	    .deliveries.reordered == 0 and .deliveries.wrong_channel == 0 and
	    .latency_ms.count == 1000' >/dev/null
	# Each of the 1 500 went in once, through the API (no WebSocket
	# publish: the subscribers' connections sent none).
	[ "$(published "$GW_PORT")" -eq 1500 ]
}

@test "gw-bench --pub-api with a wrong key: the publisher fails, no hang" {
	command -v redis-server >/dev/null || skip "no redis-server"
	printf 'key-aaaaaaaaaaaaaaaaaaaa\n' >"$GW_TMP/keys"
	printf 'key-bbbbbbbbbbbbbbbbbbbb\n' >"$GW_TMP/wrong"
	start_node a 1 --api-key-file "$GW_TMP/keys"
	run -1 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --pub-api "$GW_TMP/wrong" --conns 20 --channels 20 --rate 1000 \
	    --warmup 0.5 --duration 1 --drain 5 --connect-timeout 10
	echo "$output"
	[[ $output == *"answered 401"* ]]
	[[ $output == *"publisher could not connect"* ]]
	[ "$(published "$GW_PORT")" -eq 0 ]
	# Bad key files, and the API with a peer's protocol: usage errors.
	run -2 "$GW_BENCH_BIN" --pub-api "$GW_TMP/nope"
	: >"$GW_TMP/empty"
	run -2 "$GW_BENCH_BIN" --pub-api "$GW_TMP/empty"
	printf 'a key with blanks\n' >"$GW_TMP/blank"
	run -2 "$GW_BENCH_BIN" --pub-api "$GW_TMP/blank"
	run -2 "$GW_BENCH_BIN" --pub-api "$GW_TMP/keys" --proto nchan
	run -2 "$GW_BENCH_BIN" --pub-api "$GW_TMP/keys" --watchers 2 \
	    --channels 1
}

@test "gw-bench: presence storm: every watcher sees every join, queries count all" {
	command -v redis-server >/dev/null || skip "no redis-server"
	NODE_PRESENCE=1 start_node n 1
	run -0 timeout 60 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns 300 --procs 2 --watchers 5 --queries 10 \
	    --user-pattern 'storm-%d.x' --drain 10 --connect-timeout 10 \
	    --server-pids "$PRESENCE_PID,${NODE_PIDS[0]}" --json
	echo "$output"
	echo "$output" | jq -e '
	    .mode == "presence" and
	    .connections.opened == 300 and .connections.failed == 0 and
	    .presence.watchers == 5 and .presence.watchers_lost == 0 and
	    .presence.joins == 300 and .presence.expected == 1500 and
	    .presence.seen == 1500 and .presence.watchers_complete == 5 and
	    .presence.complete and .presence.duplicates == 0 and
	    .presence.foreign == 0 and
	    .presence.all_seen_after_last_join_s >= 0 and
	    .presence.all_seen_after_first_join_s >=
	        .presence.all_seen_after_last_join_s and
	    .presence.query.answered == 10 and .presence.query.errors == 0 and
	    .presence.query.count == 305 and
	    .presence.query.max_ms >= .presence.query.p50_ms and
	    .presence.query.p50_ms > 0' >/dev/null
}

@test "gw-bench: presence storm: a join that does not come is not counted as seen" {
	command -v redis-server >/dev/null || skip "no redis-server"
	# Users still present from a first storm (presence_grace) do not
	# join again: the second storm, with the same names, sees none of
	# them, and says so instead of waiting past --drain.
	NODE_PRESENCE=1
	NODE_PRESENCE_ARGS=(--presence-grace 60)
	start_node n 1
	run -0 timeout 60 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns 20 --watchers 2 --queries 1 --user-pattern 'again-%d' \
	    --drain 5 --connect-timeout 10 --json
	echo "$output" | jq -e '.presence.complete' >/dev/null
	run -0 timeout 60 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns 20 --watchers 2 --queries 1 --user-pattern 'again-%d' \
	    --drain 5 --connect-timeout 10 --json
	echo "$output"
	echo "$output" | jq -e '
	    .presence.complete == false and .presence.stalled and
	    .presence.seen == 0 and .presence.expected == 40 and
	    .presence.all_seen_after_last_join_s == null and
	    .presence.query.count == 22' >/dev/null
}

# storm_nodes: nodes a and b (gw-bridge, gw-presence, one gw-listen
# each) on the test's Redis, with short timers so that a session of the
# killed node a is taken over soon (--node-ttl 2); sets PA, PB and
# KILL_A (node a's pids, comma-separated).
storm_nodes() {
	NODE_PRESENCE=1
	NODE_PRESENCE_ARGS=(--node-ttl 2 --resume-window 30)
	start_node a 1 --publish-rate 100000 --publish-burst 100000
	PA=$GW_PORT
	KILL_A=$(paste -sd, "$GW_TMP/a.pids")
	start_node b 1 --publish-rate 100000 --publish-burst 100000
	PB=$GW_PORT
}

# storm_run ARGS...: a small reconnect storm, victims on a, bystanders
# and the publisher on b (5 messages a second per channel: the history
# of 128 reaches back 25 s), a killed by gw-bench after 1 s; then node
# a is forgotten (its processes reaped).
storm_run() {
	run -0 timeout 90 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$PA/ws" \
	    --resume-url "ws://127.0.0.1:$PB/ws" --kill "$KILL_A" \
	    --conns 300 --procs 2 --channels 10 --bystanders 50 \
	    --rate 50 --warmup 1 --duration 20 --drain 10 --backoff 1 \
	    --connect-timeout 10 --json "$@"
	kill_node a
	echo "$output"
}

@test "gw-bench: reconnect storm (S6): node a killed, every victim resumes on b, nothing missed" {
	command -v redis-server >/dev/null || skip "no redis-server"
	storm_nodes
	storm_run --user-pattern 's6-%d'
	echo "$output" | jq -e '
	    .mode == "resume" and .since and
	    .connections.opened == 300 and .connections.failed == 0 and
	    .resume.victims == 300 and .resume.killed_pids >= 3 and
	    .resume.kill_failed == 0 and .resume.lost == 300 and
	    .resume.resumed == 300 and .resume.fresh == 0 and
	    .resume.never_resumed == 0 and .resume.alive_at_end == 300 and
	    .resume.attempts >= 300 and
	    .resume.caught_up == 300 and .resume.checked == 300 and
	    .resume.missed == 0 and .resume.complete and
	    .resume.all_caught_up_s >= .resume.last_resume_s and
	    .resume.last_resume_s > 0 and
	    .publish.errors == 0 and .publish.publisher_closed == 0 and
	    .deliveries.lost == 0 and
	    .bystanders.subscribed == 50 and .bystanders.lost == 0 and
	    .bystanders.gaps == 0 and
	    .bystanders.before_ms.count > 0 and
	    .bystanders.storm_ms.count > 0 and
	    .bystanders.storm_ms.max >= .bystanders.storm_ms.p99 and
	    .bystanders.window_ms.count >= .bystanders.storm_ms.count and
	    .bystanders.window_ms.max >= .bystanders.window_ms.p99' >/dev/null
}

@test "gw-bench: reconnect storm: the gap is filled by the subscribe with since, and missed without it" {
	command -v redis-server >/dev/null || skip "no redis-server"
	storm_nodes
	# A killed node saved no offsets: every restore says recovered
	# false, and what was published while the victims were away came
	# only through the since replay.
	storm_run --user-pattern 's6-since-%d'
	echo "$output" | jq -e '
	    .resume.restored.recovered_false == 300 and
	    .resume.since.sent >= 300 and
	    .resume.since.recovered_true == 300 and
	    .resume.published_in_storm > 0 and .resume.replayed > 0 and
	    .resume.missed == 0' >/dev/null
	# The same without it: the victims resume, and miss what was
	# published while they were away, which gw-bench says.
	kill_node b
	storm_nodes
	storm_run --user-pattern 's6-nosince-%d' --no-since
	echo "$output" | jq -e '
	    .since == false and .resume.resumed == 300 and
	    .resume.restored.recovered_false == 300 and
	    .resume.since.sent == 0 and .resume.replayed == 0 and
	    .resume.missed > 0 and (.resume.complete | not)' >/dev/null
}

@test "gw-bench: a target that is not loopback and bad usage exit 2" {
	run -2 "$GW_BENCH_BIN" --url ws://192.0.2.1:8080/ws
	[[ $output == *"only loopback"* ]]
	run -2 "$GW_BENCH_BIN" --url http://127.0.0.1/ws
	run -2 "$GW_BENCH_BIN" --source-addrs 10.0.0.1-10.0.0.9
	run -2 "$GW_BENCH_BIN" --subscribe-pattern 'a%s'
	run -2 "$GW_BENCH_BIN" --subscribe-pattern 'fixed' --channels 2
	run -2 "$GW_BENCH_BIN" --conns 0
	run -2 "$GW_BENCH_BIN" --conns 10 --channels 11
	run -2 "$GW_BENCH_BIN" --pub-url ws://192.0.2.1:8080/ws
	[[ $output == *"only loopback"* ]]
	run -2 "$GW_BENCH_BIN" --watchers 5 --channels 2 --conns 10
	[[ $output == *"one channel"* ]]
	run -2 "$GW_BENCH_BIN" --watchers 5 --pub-url ws://127.0.0.1:1/ws
	run -2 "$GW_BENCH_BIN" --watchers 5 --user-pattern fixed
	run -2 "$GW_BENCH_BIN" --watchers 0
	run -2 "$GW_BENCH_BIN" --user-pattern 'a b%d'
	run -2 "$GW_BENCH_BIN" --user-pattern 'a%d%d'
	run -2 "$GW_BENCH_BIN" --queries 10001
	run -2 "$GW_BENCH_BIN" --receiver-nice 20
	run -2 "$GW_BENCH_BIN" --proto mqtt
	[[ $output == *"want gw, nchan or socketio"* ]]
	run -2 "$GW_BENCH_BIN" --proto nchan --watchers 5
	run -2 "$GW_BENCH_BIN" --proto socketio --user-pattern 'u%d'
	run -2 "$GW_BENCH_BIN" --kill 123
	[[ $output == *"want --resume-url"* ]]
	run -2 "$GW_BENCH_BIN" --bystanders 5
	run -2 "$GW_BENCH_BIN" --no-since
	run -2 "$GW_BENCH_BIN" --resume-url ws://127.0.0.1:2/ws
	[[ $output == *"want --kill"* ]]
	run -2 "$GW_BENCH_BIN" --url ws://127.0.0.1:1/ws \
	    --resume-url ws://localhost:1/ws --kill 123
	run -2 "$GW_BENCH_BIN" --url ws://127.0.0.1:1/ws \
	    --resume-url ws://127.0.0.1:2/ws --pub-url ws://127.0.0.1:1/x \
	    --kill 123
	[[ $output == *"must survive"* ]]
	run -2 "$GW_BENCH_BIN" --resume-url ws://192.0.2.1:2/ws --kill 123
	run -2 "$GW_BENCH_BIN" --resume-url ws://127.0.0.1:2/ws --kill 1
	run -2 "$GW_BENCH_BIN" --resume-url ws://127.0.0.1:2/ws --kill 123 \
	    --watchers 2
	run -2 "$GW_BENCH_BIN" --resume-url ws://127.0.0.1:2/ws --kill 123 \
	    --bystanders 10001
	run -2 "$GW_BENCH_BIN" --no-such-option
	[[ $output == *usage:* ]]
}

@test "gw-bench: a subscribe refused (the node's bridge gone) is counted, and the first three say what the server answered" {
	start_listen --auth none
	kill_bridge
	wait_health "$GW_PORT" 503 10
	run --separate-stderr timeout 30 "$GW_BENCH_BIN" \
	    --url "ws://127.0.0.1:$GW_PORT/ws" --conns 5 --rate 0 \
	    --duration 0.2 --connect-timeout 5 --json
	echo "$output"
	echo "$stderr"
	[ "$status" -ne 0 ]
	echo "$output" | jq -e '.connections.opened == 0 and
	    .connections.failed_by.subscribe == 5' >/dev/null
	[[ "$stderr" == *'subscribe failed, answer: {"type":"error"'* ]]
	[[ "$stderr" == *'"code":"unavailable"'* ]]
	[ "$(grep -c 'subscribe failed' <<<"$stderr")" -eq 3 ]
}

@test "gw-bench: the usage lists the options of the SYNOPSIS in man/gw-bench.8" {
	command -v mandoc >/dev/null || skip "no mandoc"
	timeout 10 "$GW_BENCH_BIN" -h 2>"$GW_TMP/usage" || true
	"$PY" "$GW_HELPERS/synopsis.py" "$GW_TMP/usage" "$GW_ROOT/man/gw-bench.8"
}

@test "gw-bench: each round of publishes visits every channel once, in a shuffled order" {
	command -v redis-server >/dev/null || skip "no redis-server"
	start_listen --auth none --publish-rate 100000 --publish-burst 100000
	# 240 messages on 20 channels: 12 rounds, seen by a watcher on all 20.
	"$PY" "$GW_HELPERS/chanorder.py" "$GW_PORT" 20 240 >"$GW_TMP/order" &
	local wpid=$! i line
	for ((i = 0; i < 200; i++)); do
		grep -q '^ready$' "$GW_TMP/order" && break
		nap "$i"
	done
	grep -q '^ready$' "$GW_TMP/order"
	run -0 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --conns 40 --channels 20 --rate 200 --warmup 0.2 --duration 1 \
	    --drain 5 --connect-timeout 10 --json
	echo "$output"
	echo "$output" | jq -e '.publish.messages == 200 and
	    .deliveries.received == .deliveries.expected and
	    .deliveries.gaps == 0 and .deliveries.reordered == 0' >/dev/null
	wait "$wpid"
	cat "$GW_TMP/order"
	line=$(tail -n 1 "$GW_TMP/order")
	# Every channel once per round (a permutation: no gap, no twice);
	# round-robin would put 239 of the 240 right after their channel
	# before.
	echo "$line" | jq -e '.n == 240 and .rounds == 12 and .partial == 0 and
	    .next < 60' >/dev/null
}

@test "gw-bench --jwt-secret: every connection with a token of its own on an --auth jwt node; a wrong secret gets 401s" {
	command -v redis-server >/dev/null || skip "no redis-server"
	make_secret
	start_listen --auth jwt --secret-file "$GW_SECRET" \
	    --publish-rate 100000 --publish-burst 100000
	run -0 timeout 30 "$GW_BENCH_BIN" --url "ws://127.0.0.1:$GW_PORT/ws" \
	    --jwt-secret "$GW_SECRET" --conns 100 --procs 2 --channels 2 \
	    --rate 50 --warmup 0.2 --duration 1 --drain 5 \
	    --connect-timeout 10 --json
	echo "$output"
	echo "$output" | jq -e '.connections.opened == 100 and
	    .connections.failed == 0 and .publish.messages == 50 and
	    .publish.errors == 0 and .deliveries.expected == 2500 and
	    .deliveries.received == .deliveries.expected' >/dev/null
	# Another secret: gw-listen answers every upgrade 401.
	printf 'another-secret-of-enough-bytes\n' >"$GW_TMP/other"
	run --separate-stderr timeout 30 "$GW_BENCH_BIN" \
	    --url "ws://127.0.0.1:$GW_PORT/ws" --jwt-secret "$GW_TMP/other" --conns 10 --rate 0 --duration 0.2 \
	    --connect-timeout 5 --json
	echo "$output"
	[ "$status" -ne 0 ]
	echo "$output" | jq -e '.connections.opened == 0 and
	    .connections.failed_by.handshake == 10' >/dev/null
	# The first three say what the server answered; no more.
	echo "$stderr"
	[[ "$stderr" == *"upgrade failed, answer: HTTP/1.1 401"* ]]
	[ "$(grep -c 'upgrade failed' <<<"$stderr")" -eq 3 ]
	# Usage: a short secret, and a secret for another protocol, exit 2.
	printf 'short\n' >"$GW_TMP/short"
	run timeout 10 "$GW_BENCH_BIN" --jwt-secret "$GW_TMP/short"
	[ "$status" -eq 2 ]
	[[ "$output" == *"shorter than 16 bytes"* ]]
	run timeout 10 "$GW_BENCH_BIN" --proto nchan --jwt-secret "$GW_SECRET"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--jwt-secret"* ]]
}

@test "heartbeats.sh: idle connections pinged every second: the pings in its window counted, a CPU per heartbeat printed, nothing left running" {
	run -0 --separate-stderr env CONNS=400 WORKERS=2 PING=1 SECONDS_=3 \
	    timeout 120 \
	    bash "$BATS_TEST_DIRNAME/../../share/bench/heartbeats.sh"
	echo "$output"
	[[ "${lines[0]}" == "400 connections, 2 workers, ping every 1 s,"* ]]
	[[ "${lines[1]}" =~ ^\ \ ([0-9]+)\ pings\ in\ .*\ us\ a\ heartbeat ]]
	# Three seconds of a ping a second each: two rounds at least.
	[ "${BASH_REMATCH[1]}" -ge 800 ]
	run ! pgrep -f 'gw-hb\.'
}

@test "closes.sh: subscribed connections killed at once: the node's CPU per close printed for each process, the node done, nothing left running" {
	run -0 --separate-stderr env CONNS=300 WORKERS=2 timeout 120 \
	    bash "$BATS_TEST_DIRNAME/../../share/bench/closes.sh"
	echo "$output"
	[[ "${lines[0]}" =~ ^300\ connections\ on\ 2\ workers\ closed\ at\ once:\ the\ node\ done\ in ]]
	[[ "${lines[1]}" =~ ^\ \ gw-listen\ +[0-9.]+\ us\ a\ close$ ]]
	[[ "${lines[2]}" == "  gw-presence "* ]]
	[[ "${lines[4]}" == "  redis-server "* ]]
	[[ "${lines[5]}" =~ ^\ \ node\ +[0-9.]+\ us\ a\ close$ ]]
	run ! pgrep -f 'gw-closes\.'
}
