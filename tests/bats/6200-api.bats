#!/usr/bin/env bats
# 6200-api.bats -- the HTTP API for backends and /metrics on gw-listen
# (issue 6, PROTOCOL.md section 6): every route seen by WebSocket clients
# on another node, the JSON errors (bad or no key 401, bad JSON 400,
# unknown route 404, wrong method 405, body too big 413), unknown
# channels giving empty answers, two keys at once (rotation), and the
# Prometheus text of /metrics; keep-alive and pipelining (answers in
# order, what closes and what keeps, the idle timeout, 10000 requests at
# most).  Two nodes on one Redis; node a's gw-listen has --api-key-file,
# node b's none.  Clients: python3-websockets and urllib
# (helpers/apicheck.py), http.client and raw sockets (helpers/keepcheck.py).

bats_require_minimum_version 1.5.0

load ../helpers/gw

AC="$GW_HELPERS/apicheck.py"
KEY=key-aaaaaaaaaaaaaaaaaaaa
KEY2=key-bbbbbbbbbbbbbbbbbbbb

setup() {
	gw_setup
	printf '# API keys\n%s\n\n%s\n' "$KEY" "$KEY2" >"$GW_TMP/keys"
	NODE_PRESENCE=1
	start_node a 1 --api-key-file "$GW_TMP/keys"
	PA=$GW_PORT
	start_node b 1
	PB=$GW_PORT
}

teardown() {
	gw_teardown
}

acheck() {
	"$PY" "$AC" "$1" --ports "$PA,$PB" --key "$KEY" --key2 "$KEY2"
}

@test "api: publish, send, batch, presence, history, channels, disconnect; unknown channels give empty answers; two keys" {
	acheck routes
}

@test "max_message counts the message frame: a publish whose frame is exactly --max-message reaches a subscriber, one byte more is too_large (WebSocket, a JWT id with escapes, the API)" {
	local tok user='ann "the" \ é'
	start_node m 1 --max-message 1000 --api-key-file "$GW_TMP/keys"
	"$PY" "$GW_HELPERS/maxmsg.py" --port "$GW_PORT" --max 1000 --key "$KEY"
	make_secret
	start_node t 1 --max-message 1000 --auth jwt --secret-file "$GW_SECRET"
	tok=$("$GWCTL_BIN" token "$user" --secret-file "$GW_SECRET" |
	    jq -r .token)
	"$PY" "$GW_HELPERS/maxmsg.py" --port "$GW_PORT" --max 1000 \
	    --token "$tok" --user "$user"
}

@test "api: a key file's blanks around a key are not part of it; a line of blanks, or a comment after blanks, is skipped" {
	local k3=key-cccccccccccccccccccc st
	printf '   \n\t# indented comment\n  %s \t\n' "$k3" >"$GW_TMP/keys3"
	start_node k 1 --api-key-file "$GW_TMP/keys3"
	st=$(curl -s -o /dev/null -w '%{http_code}' \
	    -H "Authorization: apikey $k3" "http://127.0.0.1:$GW_PORT/api/channels")
	[ "$st" = 200 ]
	st=$(curl -s -o /dev/null -w '%{http_code}' \
	    -H "Authorization: apikey ${k3}x" "http://127.0.0.1:$GW_PORT/api/channels")
	[ "$st" = 401 ]
	# Given twice: which one?  Neither.
	st=$(curl -s -o /dev/null -w '%{http_code}' \
	    -H "Authorization: apikey $k3" -H "Authorization: apikey ${k3}x" \
	    "http://127.0.0.1:$GW_PORT/api/channels")
	[ "$st" = 401 ]
}

@test "api: disconnect closes a user's connections on every node (through Redis); a node that does not answer is not waited for past 2 s and closes them later; Redis stopped 503 with this node's part, Redis gone 503 and nothing closed" {
	local bridge_b
	bridge_b=$(head -n 1 "$GW_TMP/b.pids")
	"$PY" "$AC" cluster --ports "$PA,$PB" --pids "$bridge_b,$REDIS_PID" \
	    --key "$KEY" --key2 "$KEY2"
	grep -q 'a cluster-wide request: 1 other nodes did not answer within 2 s' \
	    "$GW_TMP/gw-bridge.0.log"
	kill_redis
	wait_log 'redis (command|pub/sub) link lost' "$GW_TMP/gw-bridge.0.log"
	"$PY" "$AC" clusterdown --ports "$PA,$PB" --key "$KEY" --key2 "$KEY2"
}

@test "api: a node whose bridge was stopped gets the disconnects of the other nodes all at once when it runs again, more than it takes at a time, and does every one" {
	"$PY" "$AC" clusterbacklog --ports "$PA,$PB" \
	    --pids "$(head -n 1 "$GW_TMP/b.pids")" --key "$KEY" --key2 "$KEY2"
	grep -q 'a question of another node ignored' "$GW_TMP/gw-bridge.1.log" &&
	    return 1
	return 0
}

@test "api: a request whose answer a just-stopped bridge never gives is answered 503 unavailable at the head deadline, not 408 (its head was read)" {
	local bridge out
	start_node s 1 --api-key-file "$GW_TMP/keys" --head-timeout 1
	bridge=$(head -n 1 "$GW_TMP/s.pids")
	kill -STOP "$bridge"
	out=$(curl -s -m 10 -w ' %{http_code}' -H "Authorization: apikey $KEY" \
	    -d '{"channel":"x","data":1}' "http://127.0.0.1:$GW_PORT/api/publish")
	kill -CONT "$bridge"
	echo "$out"
	[[ "$out" == *'"code":"unavailable","message":"the node did not answer in time"'*' 503' ]]
}

@test "api: an answer over the 4 MiB kept for one cluster request (any Redis client may publish one) is ignored, and the request is answered" {
	"$PY" "$AC" clusterbig --ports "$PA,$PB" --redis "$REDIS_SOCK" \
	    --pids "$(head -n 1 "$GW_TMP/b.pids")" --key "$KEY" --key2 "$KEY2"
	grep -Eq 'an answer of 50000[0-9]{2} bytes over the 4194304 kept for a request ignored' \
	    "$GW_TMP/gw-bridge.0.log"
}

@test "api: garbage published on gw:cluster by any Redis client is ignored and logged once a second at most, with the number left unsaid" {
	local i n
	printf 'PUBLISH gw:cluster garbage%s\n' $(seq 1000) |
	    redis-cli -s "$REDIS_SOCK" >/dev/null
	# The next one after a second says how many were not (5 s at most).
	for ((i = 0; i < 116; i++)); do
		grep -q 'such lines unsaid' "$GW_TMP/gw-bridge.0.log" && break
		redis-cli -s "$REDIS_SOCK" PUBLISH gw:cluster garbage >/dev/null
		nap "$i"
	done
	grep 'malformed question' "$GW_TMP/gw-bridge.0.log"
	n=$(grep -c 'malformed question' "$GW_TMP/gw-bridge.0.log")
	[ "$n" -ge 2 ] && [ "$n" -le 6 ]
	grep -Eq 'a malformed question ignored \(and [0-9]+ such lines unsaid in the last second\)' \
	    "$GW_TMP/gw-bridge.0.log"
	[ "$(healthz "$PA")" = 200 ]
}

@test "api: a node with a stopped worker still answers a cluster disconnect within the asker's 2 s, with its other worker's part" {
	start_node c 2
	"$PY" "$AC" clusterslow --ports "$PA,${NODE_PORTS[0]},${NODE_PORTS[1]}" \
	    --pids "${NODE_PIDS[1]}" --key "$KEY" --key2 "$KEY2"
}

@test "metrics: with the node's gw-bridge gone, a worker answers with its own counters alone (200), not an error" {
	local out log
	start_node c 2
	log=$(grep -l "gw-listen\[${NODE_PIDS[0]}\]" "$GW_TMP"/gw-listen.*.log)
	kill_bridge KILL "$(head -n 1 "$GW_TMP/c.pids")"
	wait_log 'lost gw-bridge' "$log"
	out=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:${NODE_PORTS[0]}/metrics")
	echo "$out" | grep '^gw_listen_connections{'
	[ "$(echo "$out" | tail -n 1)" = 200 ]
	[ "$(echo "$out" | grep -c '^gw_listen_connections{')" -eq 1 ]
	echo "$out" | grep -q "^gw_listen_connections{node=\"c\",pid=\"${NODE_PIDS[0]}\"} "
}

@test "metrics: with the node's gw-bridge stopped (SIGSTOP: connected, silent), a scrape gets the worker's own counters after 2 s (200), not a 503 at the head deadline; both workers' again once it runs" {
	local out log bp
	start_node c 2
	bp=$(head -n 1 "$GW_TMP/c.pids")
	log=$(grep -l "gw-listen\[${NODE_PIDS[0]}\]" "$GW_TMP"/gw-listen.*.log)
	kill -STOP "$bp"
	out=$(curl -s -m 9 -w '\n%{http_code}' "http://127.0.0.1:${NODE_PORTS[0]}/metrics")
	kill -CONT "$bp"
	echo "$out" | grep '^gw_listen_connections{' || true
	[ "$(echo "$out" | tail -n 1)" = 200 ]
	[ "$(echo "$out" | grep -c '^gw_listen_connections{')" -eq 1 ]
	echo "$out" | grep -q "^gw_listen_connections{node=\"c\",pid=\"${NODE_PIDS[0]}\"} "
	grep -q "metrics: gw-bridge did not answer in 2 s" "$log"
	# The bridge's late answer is dropped; the next scrape has both.
	out=$(curl -s -m 9 -w '\n%{http_code}' "http://127.0.0.1:${NODE_PORTS[0]}/metrics")
	[ "$(echo "$out" | tail -n 1)" = 200 ]
	[ "$(echo "$out" | grep -c '^gw_listen_connections{')" -eq 2 ]
}

@test "api: channels and disconnect are the node's, every worker's (through gw-bridge), not the worker's that took the request" {
	start_node c 2 --api-key-file "$GW_TMP/keys"
	"$PY" "$AC" nodewide --ports "${NODE_PORTS[0]},${NODE_PORTS[1]}" \
	    --key "$KEY" --key2 "$KEY2"
}

@test "api: a node-wide request waits 2 s at most for a worker that does not answer (logged), 64 at most wait at once (503 past them), and not at all for one that died" {
	local j pid_b
	start_node c 2 --api-key-file "$GW_TMP/keys"
	pid_b=${NODE_PIDS[1]}
	"$PY" "$AC" nodestuck --ports "${NODE_PORTS[0]},${NODE_PORTS[1]}" \
	    --pids "${NODE_PIDS[0]},$pid_b" --key "$KEY" --key2 "$KEY2"
	# The killed worker: reaped, and forgotten by the teardown.
	wait "$pid_b" 2>/dev/null || true
	for j in "${!GW_PIDS[@]}"; do
		[ "${GW_PIDS[$j]}" = "$pid_b" ] && unset "GW_PIDS[$j]"
	done
	# The stopped worker's 2 s are logged, for the first request and
	# the 64 at once (the killed one's not).
	[ "$(grep -c 'a node-wide request: 1 workers did not answer' \
	    "$BRIDGE_LOG")" -eq 65 ]
}

@test "api: no key or a bad one 401, bad JSON or fields 400, 404, 405, 413: JSON errors; no key file, no API" {
	acheck errors
}

@test "api batch: 1000 items answered in their places (offsets of the messages in order, errors where Redis failed, too_large for one over max_message and the items after it published), data unchanged" {
	rcli SET 'gw:{broken}:s' not-a-stream
	acheck bigbatch
}

@test "api fast path: plain JSON published as written (whitespace out), escaped through jansson; bad JSON 400 either way; duplicates, depth" {
	acheck fastpath
}

@test "metrics: on a [::] listener an IPv4 loopback peer (::ffff:127.0.0.1) is loopback: 200, not 403" {
	local p6 st
	# Port 0: the kernel's choice (a port probed free could be taken
	# meanwhile on some address, which a [::] bind conflicts with).
	start_node v 1 -l "[::]:0"
	p6=$(sed -n 's/.*listening on \[::\]:\([0-9]*\)$/\1/p' "$GW_LOG")
	[ -n "$p6" ]
	st=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p6/metrics")
	[ "$st" = 200 ]
}

@test "metrics: GET /metrics from loopback is Prometheus text with the counters" {
	acheck metrics
}

@test "api: a key file that is missing, empty or has a short key is a usage error" {
	run "$GW_LISTEN_BIN" -n --auth none --api-key-file "$GW_TMP/nope"
	[ "$status" -eq 2 ]
	: >"$GW_TMP/empty"
	run "$GW_LISTEN_BIN" -n --auth none --api-key-file "$GW_TMP/empty"
	[ "$status" -eq 2 ]
	echo short >"$GW_TMP/short"
	run "$GW_LISTEN_BIN" -n --auth none --api-key-file "$GW_TMP/short"
	[ "$status" -eq 2 ]
	[[ "$output" == *"short:1"* ]]
	run "$GW_LISTEN_BIN" -n --auth none --metrics-allow 10.0.0.0/33
	[ "$status" -eq 2 ]
	run "$GW_LISTEN_BIN" -n --auth none --metrics-allow 10.0.0.0/8,::1
	[ "$status" -eq 0 ]
}

kcheck() {
	"$PY" "$GW_HELPERS/keepcheck.py" "$1" --port "$PA" --key "$KEY" \
	    "${@:2}"
}

@test "api keep-alive: two publishes on one http.client connection, the same socket, Connection: keep-alive" {
	kcheck reuse
}

@test "api keep-alive: pipelined requests answered in order (a 404 and a history in the middle; 300 past the head buffer; batches over it)" {
	kcheck pipeline
}

@test "api keep-alive: Connection: close, HTTP/1.0, 411 and 413 close after the answer; 401, 404, 405, 400 keep" {
	kcheck closes
}

@test "api keep-alive: an idle connection is closed after --head-timeout; a partial next head gets 408" {
	start_node c 1 --api-key-file "$GW_TMP/keys" --head-timeout 1
	"$PY" "$GW_HELPERS/keepcheck.py" idle --port "$GW_PORT" --key "$KEY" \
	    --head-timeout 1
}

@test "api: Expect: 100-continue gets 100 Continue before the body (curl waits a second for it); another expectation 417" {
	kcheck expect
	# curl, asked to (it does for big bodies, and libcurl's users may).
	printf '{"channel":"exp2","data":"%s"}' "$(printf '%02000d' 0)" \
	    >"$GW_TMP/big.json"
	run -0 curl -sS -v -H "Authorization: apikey $KEY" \
	    -H 'Content-Type: application/json' -H 'Expect: 100-continue' \
	    --data-binary @"$GW_TMP/big.json" "http://127.0.0.1:$PA/api/publish"
	echo "$output"
	[[ "$output" == *"> Expect: 100-continue"* ]]
	[[ "$output" == *"< HTTP/1.1 100 Continue"* ]]
	[[ "$output" == *"< HTTP/1.1 200 OK"* ]]
	[[ "$output" == *'"offset"'* ]]
}

@test "api keep-alive: the 10000th request of a connection is answered with Connection: close" {
	kcheck limit
}
