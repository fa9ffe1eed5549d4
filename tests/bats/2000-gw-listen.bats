#!/usr/bin/env bats
# 2000-gw-listen.bats -- conformance of gw-listen, the WebSocket endpoint,
# to its spec (notes/listen-spec.md, notes/bridge-spec.md) and to
# PROTOCOL.md.  One @test per behaviour; each starts its own gw-listen
# (usually --auth none), with the Redis and gw-bridge it serves pub/sub
# through (see helpers/gw.bash), and the teardown stops them all, and
# fails the test if one had crashed.

bats_require_minimum_version 1.5.0

load ../helpers/gw

setup_file() {
	gw_setup_file
}

teardown_file() {
	gw_teardown_file
}

setup() {
	gw_setup
}

teardown() {
	gw_teardown
}

# expect_n STATUS ARGS...: "gw-listen -n ARGS" exits STATUS, with a
# message on stderr when STATUS is not 0.  The runs overlap: the
# expect_n_check that ends each test that calls this judges them (see
# helpers/gw.bash).
expect_n() {
	expect_n_start "$GW_LISTEN_BIN" "$@"
}

listen_none() {
	start_listen --auth none "$@"
}

listen_jwt() {
	make_secret
	start_listen --secret-file "$GW_SECRET" "$@"
}

# ---------------------------------------------------------------------
# Usage and configuration
# ---------------------------------------------------------------------

@test "usage: -h prints the usage on stderr and exits 2" {
	run --separate-stderr timeout 10 "$GW_LISTEN_BIN" -h
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *usage* ]]
	[[ "$stderr" == *--listen* ]]
	[[ "$stderr" == *"--rundir dir"* ]]
	[[ "$stderr" == *"--publish-rate n"* ]]
	[[ "$stderr" == *"--publish-burst n"* ]]
	[ -z "$output" ]
}

@test "usage: an unknown option exits 2 with the usage" {
	local opt
	for opt in --bogus -x --listen; do
		run --separate-stderr timeout 10 "$GW_LISTEN_BIN" "$opt"
		echo "$opt: status $status; stderr: $stderr"
		[ "$status" -eq 2 ]
		[[ "$stderr" == *usage* ]]
	done
}

@test "usage: the usage text lists the options of the SYNOPSIS in man/gw-listen.8" {
	local man="$GW_ROOT/man/gw-listen.8"
	if [ ! -f "$man" ]; then
		echo "man/gw-listen.8 does not exist (yet): cannot compare"
		return 1
	fi
	timeout 10 "$GW_LISTEN_BIN" -h 2>"$GW_TMP/usage" || true
	"$PY" "$GW_HELPERS/synopsis.py" "$GW_TMP/usage" "$man"
}

@test "-n: --auth jwt (the default) without --secret-file exits 2" {
	expect_n 2
	expect_n 2 --auth jwt
	expect_n_check
}

@test "-n: a missing secret file exits 2" {
	expect_n 2 --secret-file "$GW_TMP/no-such-file"
	expect_n_check
}

@test "-n: an unreadable secret file (a directory) exits 2" {
	mkdir "$GW_TMP/secret.d"
	expect_n 2 --secret-file "$GW_TMP/secret.d"
	expect_n_check
}

@test "-n: an empty secret exits 2" {
	: >"$GW_TMP/empty"
	expect_n 2 --secret-file "$GW_TMP/empty"
	printf '\n' >"$GW_TMP/newline"
	expect_n 2 --secret-file "$GW_TMP/newline"
	expect_n_check
}

@test "-n: a secret shorter than 16 bytes exits 2 (the newline is not counted)" {
	printf '%s' 0123456789abcde >"$GW_TMP/s15"
	expect_n 2 --secret-file "$GW_TMP/s15"
	printf '%s\n' 0123456789abcde >"$GW_TMP/s15nl"
	expect_n 2 --secret-file "$GW_TMP/s15nl"
	expect_n_check
	# The hint makes a new file, not the one named (a mistyped path
	# could be anybody's file), and the stop is an error, not a warning.
	run --separate-stderr "$GW_LISTEN_BIN" -n --auth jwt \
	    --secret-file "$GW_TMP/s15"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *": error: "*"shorter than 16 bytes; make a new one, in a file of its own, with: head -c 32 /dev/urandom | base64 > secret (and point --secret-file at it)"* ]]
	[[ "$stderr" != *"> $GW_TMP/s15"* ]]
}

@test "-n: a secret of 16 bytes is accepted" {
	printf '%s' 0123456789abcdef >"$GW_TMP/s16"
	expect_n 0 --secret-file "$GW_TMP/s16"
	printf '%s\n' 0123456789abcdef >"$GW_TMP/s16nl"
	expect_n 0 --secret-file "$GW_TMP/s16nl"
	expect_n_check
}

@test "-n: a bad --listen exits 2" {
	local v
	for v in 127.0.0.1 127.0.0.1: :8080 127.0.0.1:99999 127.0.0.1:65536 \
	    127.0.0.1:-1 127.0.0.1:80x 1.2.3:80 256.0.0.1:80 '[::1' '[::1]' \
	    '[::1]8080' '::1:8080' ''; do
		expect_n 2 --auth none --listen "$v"
	done
	expect_n 2 --auth none -l 'x:1'
	expect_n_check
}

@test "-n: bad numbers exit 2" {
	local o v
	for o in --max-message --max-outbound --max-subscriptions \
	    --ping-interval --pong-timeout --head-timeout --publish-rate \
	    --publish-burst; do
		for v in abc '' -1 10x 99999999999999999999999999; do
			expect_n 2 --auth none "$o" "$v"
		done
	done
	expect_n 2 --auth none --max-subscriptions 1.5
	expect_n 2 --auth none --max-message 1e3
	# A queue smaller than a message; equal is fine.
	expect_n 2 --auth none --max-message 8192 --max-outbound 4096
	expect_n 2 --auth none --max-outbound 4096
	expect_n 0 --auth none --max-message 4096 --max-outbound 4096
	expect_n_check
}

@test "-n: an unknown --auth exits 2" {
	expect_n 2 --auth basic
	expect_n 2 --auth ''
	expect_n 2 --auth NONE
	expect_n_check
}

@test "-n: a good configuration exits 0" {
	make_secret
	expect_n 0 --auth none
	expect_n 0 --secret-file "$GW_SECRET"
	expect_n 0 -v --auth jwt --secret-file "$GW_SECRET" \
	    -l 127.0.0.1:8080 --listen '[::1]:8081' -l 0.0.0.0:0 \
	    --allow-origin http://localhost:3000,https://app.example \
	    --node n1 --max-message 1024 --max-outbound 65536 \
	    --max-subscriptions 10 --ping-interval 0.5 --pong-timeout 1.5 \
	    --head-timeout 2.5 --rundir "$GW_TMP/elsewhere" \
	    --publish-rate 1 --publish-burst 1000000
	expect_n_check
}

@test "-n: --publish-rate and --publish-burst of 0 exit 2" {
	expect_n 2 --auth none --publish-rate 0
	expect_n 2 --auth none --publish-burst 0
	expect_n_check
}

@test "exit 1 when it cannot bind" {
	run timeout 10 "$GW_LISTEN_BIN" --auth none -l 192.0.2.1:"$(free_port)"
	echo "status $status; output: $output"
	[ "$status" -eq 1 ]
	[ -n "$output" ]
}

@test "-l 127.0.0.1:0: the log names the port the kernel chose" {
	# The scenario starts gw-listen itself, without --rundir: it finds
	# the bridge through $GW_RUNDIR (gw_setup sets it).
	start_bridge
	"$PY" "$CONF" port0 --binary "$(command -v "$GW_LISTEN_BIN")" \
	    --log "$GW_TMP/port0.log" --pidfile "$GW_TMP/spawned.pids"
}

@test "--ready-fd: a newline and EOF once listening" {
	start_bridge
	"$PY" "$CONF" ready-fd --port "$(free_port)" \
	    --binary "$(command -v "$GW_LISTEN_BIN")" \
	    --log "$GW_TMP/ready.log" --pidfile "$GW_TMP/spawned.pids"
}

# ---------------------------------------------------------------------
# Man pages
# ---------------------------------------------------------------------

# lint_man PAGE: mandoc -Tlint at the level "make lint" uses.
lint_man() {
	local man="$GW_ROOT/man/$1"
	if [ ! -f "$man" ]; then
		echo "man/$1 does not exist (yet)"
		return 1
	fi
	run mandoc -Tlint -Wwarning "$man"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "mandoc -Tlint: man/gw-listen.8 is clean" {
	lint_man gw-listen.8
}

@test "mandoc -Tlint: man/gw-protocol.7 is clean" {
	lint_man gw-protocol.7
}

# ---------------------------------------------------------------------
# HTTP: paths, methods, heads
# ---------------------------------------------------------------------

@test "http: GET /healthz -> 200 ok" {
	listen_none
	scenario http --request 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' \
	    --expect 200 --expect-body ok
}

@test "http: GET /healthz HTTP/1.0 -> 200 ok" {
	listen_none
	scenario http --request 'GET /healthz HTTP/1.0\r\n\r\n' \
	    --expect 200 --expect-body ok
}

@test "http: other paths -> 404" {
	local p
	listen_none
	for p in / /nope /wsx /healthzz /ws/ /api/publish; do
		scenario http --expect 404 \
		    --request "GET $p HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
	done
}

@test "http: 404 is decided before 405" {
	listen_none
	scenario http --request 'POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' \
	    --expect 404
}

@test "http: a method other than GET on /ws and /healthz -> 405 with Allow: GET" {
	local m p
	listen_none
	for p in /ws /healthz; do
		for m in POST PUT DELETE HEAD OPTIONS; do
			scenario http --expect 405 --expect-header 'Allow: GET' \
			    --request "$m $p HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
		done
	done
}

@test "http: a head of 9 KiB -> 431" {
	listen_none
	scenario big-head --size 9216 --expect 431
}

@test "http: a head of exactly 8192 bytes is accepted" {
	listen_none
	scenario big-head --size 8192 --expect 200
}

@test "http: 65 header fields -> 431" {
	listen_none
	scenario many-headers --count 65 --expect 431
}

@test "http: 64 header fields are accepted" {
	listen_none
	scenario many-headers --count 64 --expect 200
}

@test "http: a version other than 1.0/1.1 -> 505" {
	local v
	listen_none
	for v in HTTP/2.0 HTTP/0.9 HTTP/1.2; do
		scenario http --expect 505 \
		    --request "GET /healthz $v\\r\\nHost: x\\r\\n\\r\\n"
	done
}

@test "http: a bad request line -> 400" {
	local r
	listen_none
	for r in 'GARBAGE' 'GET /healthz' 'GET  /healthz HTTP/1.1' \
	    'GET /healthz HTTP/1.1 x' 'GET /healthz HTTP/1.x' \
	    'GET /healthz FTP/1.1' ' GET /healthz HTTP/1.1' \
	    'GET /healthz#top HTTP/1.1' 'GET /ws?user=a#x HTTP/1.1'; do
		scenario http --expect 400 --request "$r\\r\\nHost: x\\r\\n\\r\\n"
	done
}

@test "http: blank lines before the request line are ignored (RFC 9112 2.2)" {
	listen_none
	scenario http --request '\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' \
	    --expect 200
	scenario http --request '\r\n\r\n\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' \
	    --expect 200
}

@test "http: bare LF line ends -> 400" {
	listen_none
	scenario http --request 'GET /healthz HTTP/1.1\nHost: x\n\n' --expect 400
	scenario http --request 'GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n' \
	    --expect 400
}

@test "http: obs-fold -> 400" {
	listen_none
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n'
}

@test "http: space before the colon -> 400" {
	listen_none
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n'
}

@test "http: NUL or a control character in a header -> 400" {
	listen_none
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n'
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n'
}

@test "http: a header line without a colon -> 400" {
	listen_none
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n'
	scenario http --expect 400 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\n: novalue\r\n\r\n'
}

@test "http: a head trickled byte by byte is cut at --head-timeout (absolute) -> 408" {
	listen_none --head-timeout 2
	scenario slowloris --min 1.5 --max 6
}

@test "http: a connection that sends nothing gets 408 at --head-timeout" {
	listen_none --head-timeout 2
	scenario slowloris --idle --min 1.5 --max 6
}

@test "http: --head-timeout takes fractional seconds" {
	listen_none --head-timeout 0.5
	scenario slowloris --idle --min 0.3 --max 2
}

# ---------------------------------------------------------------------
# The upgrade
# ---------------------------------------------------------------------

@test "upgrade: a valid request -> 101, accept key, welcome" {
	listen_none
	scenario upgrade --path '/ws?user=u1' --user u1 --expect 101
}

@test "upgrade: header names in any case" {
	local how
	listen_none
	for how in lower upper mixed; do
		scenario upgrade --names "$how" --expect 101
	done
}

@test "upgrade: Connection: keep-alive, Upgrade -> 101" {
	listen_none
	scenario upgrade --set 'Connection: keep-alive, Upgrade' --expect 101
	scenario upgrade --set 'Connection: upgrade,keep-alive' --expect 101
}

@test "upgrade: Upgrade token is case-insensitive -> 101" {
	listen_none
	scenario upgrade --set 'Upgrade: WebSocket' --expect 101
}

@test "upgrade: an offered subprotocol is not chosen -> 101" {
	listen_none
	scenario upgrade --add 'Sec-WebSocket-Protocol: chat' --expect 101
}

@test "upgrade: HTTP/1.0 -> 400 HTTP/1.1 required" {
	listen_none
	scenario upgrade --version HTTP/1.0 --expect 400 \
	    --expect-body 'HTTP/1.1 required'
}

@test "upgrade: no Host -> 400" {
	listen_none
	scenario upgrade --drop Host --expect 400
}

@test "upgrade: no Upgrade: websocket -> 400" {
	listen_none
	scenario upgrade --drop Upgrade --expect 400
	scenario upgrade --set 'Upgrade: h2c' --expect 400
}

@test "upgrade: no upgrade token in Connection -> 400" {
	listen_none
	scenario upgrade --drop Connection --expect 400
	scenario upgrade --set 'Connection: keep-alive' --expect 400
}

@test "upgrade: Sec-WebSocket-Version 8 -> 426 with Sec-WebSocket-Version: 13 and Upgrade" {
	listen_none
	scenario upgrade --set 'Sec-WebSocket-Version: 8' --expect 426 \
	    --expect-header 'Sec-WebSocket-Version: 13' \
	    --expect-header 'Upgrade: websocket'
}

@test "upgrade: no Sec-WebSocket-Version -> 426 with Sec-WebSocket-Version: 13 and Upgrade" {
	listen_none
	scenario upgrade --drop Sec-WebSocket-Version --expect 426 \
	    --expect-header 'Sec-WebSocket-Version: 13' \
	    --expect-header 'Upgrade: websocket'
}

@test "upgrade: a missing or bad Sec-WebSocket-Key -> 400" {
	listen_none
	scenario upgrade --drop Sec-WebSocket-Key --expect 400
	scenario upgrade --set 'Sec-WebSocket-Key: !!notbase64!!!!!!!!!!!' \
	    --expect 400
	# base64 of 15 and of 17 bytes
	scenario upgrade --set 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA' \
	    --expect 400
	scenario upgrade --set 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=' \
	    --expect 400
}

@test "upgrade: the checks run in the order of the spec" {
	listen_none
	# HTTP/1.1 before Host
	scenario upgrade --version HTTP/1.0 --drop Host --expect 400 \
	    --expect-body 'HTTP/1.1 required'
	# Host before the version (400, not 426)
	scenario upgrade --drop Host --set 'Sec-WebSocket-Version: 8' \
	    --expect 400
	# Connection before the version
	scenario upgrade --set 'Connection: close' \
	    --set 'Sec-WebSocket-Version: 8' --expect 400
	# the version before the key (426, not 400)
	scenario upgrade --set 'Sec-WebSocket-Version: 8' \
	    --set 'Sec-WebSocket-Key: bad' --expect 426
	# the key and the body before the origin (400, not 403)
	stop_listen
	listen_none --allow-origin https://app.example
	scenario upgrade --set 'Sec-WebSocket-Key: bad' \
	    --add 'Origin: http://evil.example' --expect 400
	scenario upgrade --add 'Content-Length: 4' --body 'abcd' \
	    --add 'Origin: http://evil.example' --expect 400
}

@test "upgrade: two Sec-WebSocket-Key headers -> 400" {
	listen_none
	scenario upgrade --add 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==' \
	    --expect 400
}

@test "upgrade: a request body -> 400" {
	listen_none
	scenario upgrade --add 'Content-Length: 4' --body 'abcd' --expect 400
	scenario upgrade --add 'Transfer-Encoding: chunked' --body '0\r\n\r\n' \
	    --expect 400
}

@test "auth none: a bad user id -> 400 invalid user id" {
	local u
	listen_none
	for u in 'bad!id' 'a%20b' "$(printf 'u%.0s' {1..129})" ''; do
		scenario upgrade --path "/ws?user=$u" --expect 400 \
		    --expect-body 'invalid user id'
	done
}

@test "query: user, session or token given twice -> 400 / 401 'given twice', not the first silently" {
	listen_none
	scenario upgrade --path '/ws?user=a&user=b' --expect 400 \
	    --expect-body 'user given twice'
	scenario upgrade --path '/ws?user=a&session=1&session=2' --expect 400 \
	    --expect-body 'session given twice'
	listen_jwt
	scenario upgrade --path '/ws?token=x&token=y' --expect 401 \
	    --expect-body 'token given twice'
}

@test "auth none: user ids of 128 bytes and of every allowed character -> 101" {
	local long
	long=$(printf 'u%.0s' {1..128})
	listen_none
	scenario upgrade --path "/ws?user=$long" --user "$long" --expect 101
	scenario upgrade --path '/ws?user=Az09_-.@:x' --user 'Az09_-.@:x' \
	    --expect 101
}

@test "auth none: no user -> anonymous id anon-<12 hex>" {
	listen_none
	scenario upgrade --path /ws --user-re 'anon-[0-9a-f]{12}' --expect 101
}

@test "origin: an Origin not in --allow-origin -> 403" {
	listen_none --allow-origin http://localhost:3000,https://app.example
	scenario upgrade --add 'Origin: http://evil.example' --expect 403
	scenario upgrade --add 'Origin: https://app.example.evil' --expect 403
}

@test "origin: Origin given twice -> 403, whichever comes first" {
	listen_none --allow-origin https://app.example
	scenario upgrade --add 'Origin: https://app.example' \
	    --add 'Origin: http://evil.example' --expect 403
	scenario upgrade --add 'Origin: http://evil.example' \
	    --add 'Origin: https://app.example' --expect 403
}

@test "origin: a listed Origin, or none -> 101" {
	listen_none --allow-origin http://localhost:3000,https://app.example
	scenario upgrade --add 'Origin: https://app.example' --expect 101
	scenario upgrade --add 'Origin: http://localhost:3000' --expect 101
	scenario upgrade --expect 101
}

@test "origin: without --allow-origin every Origin is allowed" {
	listen_none
	scenario upgrade --add 'Origin: http://evil.example' --expect 101
}

@test "origin: checked before auth (403, not 401)" {
	listen_jwt --allow-origin https://app.example
	scenario upgrade --path /ws --add 'Origin: http://evil.example' \
	    --expect 403
}

# ---------------------------------------------------------------------
# Authentication (JWT minted by the tests, not by gw)
# ---------------------------------------------------------------------

@test "jwt: no token -> 401 missing token" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token missing --expect 401 \
	    --expect-body 'missing token'
}

@test "jwt: a bad signature -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token badsig --expect 401
	scenario auth --secret-file "$GW_SECRET" --token tampered --expect 401
	scenario auth --secret-file "$GW_SECRET" --token badsig --via bearer \
	    --expect 401
}

@test "jwt: alg none -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token none --expect 401
}

@test "jwt: HS384 -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token hs384 --expect 401
}

@test "jwt: expired -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token expired --expect 401 \
	    --expect-body expired
}

@test "jwt: nbf in the future -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token nbf --expect 401
}

@test "jwt: no sub -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token nosub --expect 401
}

@test "jwt: a sub of 129 bytes -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token longsub --expect 401
}

@test "jwt: info not an object, channels not an array of strings -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token info-notobj --expect 401
	scenario auth --secret-file "$GW_SECRET" --token channels-notarray \
	    --expect 401
	scenario auth --secret-file "$GW_SECRET" --token channels-notstr \
	    --expect 401
}

@test "jwt: a token that is not a JWT -> 401" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token garbage --expect 401
}

@test "jwt: a valid token in the query -> 101" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token valid --expect 101
	scenario auth --secret-file "$GW_SECRET" --token noexp --expect 101
}

@test "jwt: a user id JSON must escape (quote, backslash, non-ASCII) comes back whole as a message's from" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token quoted --expect 101 \
	    --publish
	scenario auth --secret-file "$GW_SECRET" --token valid --expect 101 \
	    --publish
}

@test "jwt: a valid token in Authorization: Bearer -> 101" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token valid --via bearer \
	    --expect 101
}

@test "jwt: Authorization given twice -> 401, whichever comes first" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token valid \
	    --via bearer-twice --expect 401
}

@test "jwt: a sub of 128 bytes -> 101" {
	listen_jwt
	scenario auth --secret-file "$GW_SECRET" --token sub128 --expect 101
}

@test "jwt: the secret file's trailing newline is not part of the key" {
	make_secret
	printf '\n' >>"$GW_SECRET"
	start_listen --secret-file "$GW_SECRET"
	scenario auth --secret-file "$GW_SECRET" --token valid --expect 101
}

@test "jwt: info in presence, channels claims open private:*, user:ID is ID's" {
	listen_jwt
	scenario ws-claims --secret-file "$GW_SECRET"
}

@test "jwt: a token that expires while connected -> close 1008 (silent client)" {
	# The default --ping-interval (25 s): no ping falls due before the
	# client's 8 s are up, so only the token's own timer closes it.
	listen_jwt
	scenario ws-expire --case silent --secret-file "$GW_SECRET"
}

@test "jwt: 40 tokens expiring in 5 to 7 s, 10 closed first, 10 in an hour -> the 40 closed 1008" {
	listen_jwt
	scenario ws-expire --case several --secret-file "$GW_SECRET"
}

@test "jwt: a request after the token expired -> close 1008" {
	listen_jwt
	scenario ws-expire --case message --secret-file "$GW_SECRET"
}

# ---------------------------------------------------------------------
# Frames: protocol errors -> 1002
# ---------------------------------------------------------------------

@test "frame: an unmasked client frame -> 1002" {
	listen_none
	scenario frame --case unmasked
}

@test "frame: RSV bits set -> 1002" {
	listen_none
	scenario frame --case rsv1
	scenario frame --case rsv2
	scenario frame --case rsv3
	scenario frame --case rsv-ping
}

@test "frame: reserved opcode 3 -> 1002" {
	listen_none
	scenario frame --case opcode3
}

@test "frame: reserved opcode 0xB -> 1002" {
	listen_none
	scenario frame --case opcodeB
}

@test "frame: reserved opcodes 7 and 0xF -> 1002" {
	listen_none
	scenario frame --case opcode7
	scenario frame --case opcodeF
}

@test "frame: a fragmented ping -> 1002" {
	listen_none
	scenario frame --case ping-fragmented
}

@test "frame: a ping of 126 bytes -> 1002" {
	listen_none
	scenario frame --case ping-126
}

@test "frame: a close of 126 bytes -> 1002" {
	listen_none
	scenario frame --case close-126
}

@test "frame: a non-minimal 16-bit length -> 1002" {
	listen_none
	scenario frame --case len16-nonminimal
}

@test "frame: a non-minimal 64-bit length -> 1002" {
	listen_none
	scenario frame --case len64-nonminimal
}

@test "frame: a 64-bit length with the MSB set -> 1002" {
	listen_none
	scenario frame --case len64-msb
}

@test "frame: a continuation without a message in progress -> 1002" {
	listen_none
	scenario frame --case cont-without-start
}

@test "frame: a text frame while a fragmented message is in progress -> 1002" {
	listen_none
	scenario frame --case text-during-fragments
}

@test "frame: a binary frame while a fragmented message is in progress -> 1002" {
	listen_none
	scenario frame --case binary-during-fragments
}

@test "frame: a binary frame -> 1003" {
	listen_none
	scenario frame --case binary
	scenario frame --case binary-fragmented
}

# ---------------------------------------------------------------------
# Close handshake
# ---------------------------------------------------------------------

@test "close: a close payload of 1 byte -> 1002" {
	listen_none
	scenario frame --case close-1byte
}

@test "close: code 999 -> 1002" {
	listen_none
	scenario close-code --code 999 --expect 1002
}

@test "close: code 1004 -> 1002" {
	listen_none
	scenario close-code --code 1004 --expect 1002
}

@test "close: code 1005 -> 1002" {
	listen_none
	scenario close-code --code 1005 --expect 1002
}

@test "close: code 1006 -> 1002" {
	listen_none
	scenario close-code --code 1006 --expect 1002
}

@test "close: code 1015 -> 1002" {
	listen_none
	scenario close-code --code 1015 --expect 1002
}

@test "close: code 2000 -> 1002" {
	listen_none
	scenario close-code --code 2000 --expect 1002
}

@test "close: code 5000 -> 1002" {
	listen_none
	scenario close-code --code 5000 --expect 1002
}

@test "close: code 1000 is echoed" {
	listen_none
	scenario close-code --code 1000 --expect 1000
}

@test "close: code 1001 is echoed" {
	listen_none
	scenario close-code --code 1001 --expect 1001
}

@test "close: code 3000 is echoed" {
	listen_none
	scenario close-code --code 3000 --expect 3000
}

@test "close: code 4999 is echoed" {
	listen_none
	scenario close-code --code 4999 --expect 4999
}

@test "close: codes 1003, 1007 and 1014 are echoed" {
	listen_none
	scenario close-code --code 1003 --expect 1003
	scenario close-code --code 1007 --expect 1007
	scenario close-code --code 1014 --expect 1014
}

@test "close: a valid UTF-8 reason is fine" {
	listen_none
	scenario close-client-reason
}

@test "close: an empty close is answered with an empty close (or 1000)" {
	listen_none
	scenario close-empty
}

@test "close: a reason with invalid UTF-8 -> 1007" {
	listen_none
	scenario frame --case close-reason-utf8
}

@test "close: python websockets ws.close(code=4000) gets 4000 back" {
	listen_none
	scenario ws-close-echo
}

# ---------------------------------------------------------------------
# UTF-8
# ---------------------------------------------------------------------

@test "utf8: invalid UTF-8 in one text frame -> 1007" {
	listen_none
	scenario frame --case utf8-single
}

@test "utf8: overlong, surrogate and beyond-U+10FFFF sequences -> 1007" {
	listen_none
	scenario frame --case utf8-overlong
	scenario frame --case utf8-surrogate
	scenario frame --case utf8-beyond
}

@test "utf8: invalid UTF-8 split across fragments -> 1007" {
	listen_none
	scenario frame --case utf8-split
}

@test "utf8: a message ending inside a character -> 1007" {
	listen_none
	scenario frame --case utf8-truncated-at-end
}

@test "utf8: a bad first fragment -> 1007 before the message ends" {
	listen_none
	scenario frame --case utf8-failfast
}

@test "utf8: a bad later fragment -> 1007 before the message ends" {
	listen_none
	scenario frame --case utf8-failfast-cont
}

@test "utf8: valid characters split across fragments are delivered" {
	listen_none
	scenario utf8-split-valid
}

@test "frames: a fragmented message with a ping in between is processed" {
	listen_none
	scenario fragmented-ok
}

# ---------------------------------------------------------------------
# How the bytes arrive
# ---------------------------------------------------------------------

@test "bytes: the upgrade request and a first frame in one segment" {
	listen_none
	scenario pipelined-frame
}

@test "bytes: a head sent one byte at a time is parsed" {
	listen_none
	scenario trickle-head
}

@test "bytes: a frame sent one byte at a time is processed" {
	listen_none
	scenario trickle-frame
}

@test "bytes: 200 requests in one segment get 200 replies in order" {
	listen_none
	scenario many-frames
}

@test "json: an empty text message -> bad_request, connection stays" {
	listen_none
	scenario empty-text
}

@test "json: deeply nested JSON is answered, not a crash" {
	listen_none
	scenario deep-json
}

@test "presence: a connection that drops (FIN or RST) leaves" {
	listen_none
	scenario abrupt-leave
}

@test "load: 500 connections at once, one publish reaches all" {
	listen_none
	scenario many-conns --count 500
}

# ---------------------------------------------------------------------
# Sizes (--max-message 1024)
# ---------------------------------------------------------------------

@test "size: a text frame of max-message + 1 bytes -> 1009" {
	listen_none --max-message 1024
	scenario too-big --case frame --max-message 1024
}

@test "size: fragments totalling more than max-message -> 1009" {
	listen_none --max-message 1024
	scenario too-big --case fragments --max-message 1024
}

@test "size: a frame header announcing 2^40 bytes -> 1009" {
	listen_none --max-message 1024
	scenario too-big --case declared --max-message 1024
}

@test "size: a frame header announcing 2^40 bytes, and no payload -> 1009" {
	listen_none --max-message 1024
	scenario too-big --case declared-header-only --max-message 1024
}

@test "size: a message of exactly max-message bytes is processed" {
	listen_none --max-message 1024
	scenario max-message-ok --max-message 1024
}

# ---------------------------------------------------------------------
# Ping and pong
# ---------------------------------------------------------------------

@test "ping: answered with a pong of the same payload; unsolicited pongs ignored" {
	listen_none
	scenario ping-echo
}

@test "ping: python websockets ws.ping() gets its pong" {
	listen_none
	scenario ws-ping
}

@test "ping: the server pings a silent client after --ping-interval" {
	listen_none --ping-interval 1 --pong-timeout 1
	scenario server-ping
}

@test "ping: a client that never answers is closed 1008 after ping-interval + pong-timeout" {
	listen_none --ping-interval 1 --pong-timeout 1
	scenario ping-timeout --min 1.5 --max 5
}

@test "ping: a client that answers pings stays open" {
	listen_none --ping-interval 1 --pong-timeout 1
	scenario ws-stays-open --min 4
}

@test "ping: a pong that came while gw-listen was stopped past the pong timeout is read before the deadline is judged" {
	listen_none --ping-interval 1 --pong-timeout 1
	scenario ping-stalled --pid "$GW_PID" --max 1
}

# ---------------------------------------------------------------------
# JSON protocol (python websockets)
# ---------------------------------------------------------------------

@test "json: the first frame is a complete welcome" {
	listen_none --node testnode
	scenario ws-welcome --user welcomer --node testnode --ping-interval 25
}

@test "json: welcome.node defaults to the host name" {
	listen_none
	scenario ws-welcome --user w3 --node "$(uname -n)" --ping-interval 25
}

@test "json: welcome.pingInterval follows --ping-interval" {
	listen_none --node n2 --ping-interval 7
	scenario ws-welcome --user w2 --node n2 --ping-interval 7
}

@test "json: subscribe and publish between two clients" {
	listen_none
	scenario ws-pubsub
}

@test "json: presence is per user, join/leave once per user, not to the actor" {
	listen_none
	scenario ws-presence
}

@test "json: --max-subscriptions defaults to 128" {
	listen_none
	scenario ws-errors --max-subscriptions 128
}

@test "json: every error code, and the connection stays usable" {
	listen_none --max-subscriptions 3
	scenario ws-errors --max-subscriptions 3
}

# ---------------------------------------------------------------------
# Slow and bad clients
# ---------------------------------------------------------------------

@test "slow consumer: outbound queue over --max-outbound -> 1013" {
	listen_none --max-outbound 65536 --publish-rate 1000000 \
	    --publish-burst 1000000
	# 150 x 32 KiB overflow the kernel's buffers and the 64 KiB queue;
	# not many more: the slow reader must read within the 2 s the
	# server waits for its close to get through.
	scenario slow-consumer --count 150 --size 32768
}

@test "isolation: trickling and stalled clients do not delay a good one" {
	listen_none
	scenario isolation --max 1
}

# ---------------------------------------------------------------------
# Processes: signals, SO_REUSEPORT
# ---------------------------------------------------------------------

@test "SIGTERM drains: 503 at once, closes 1001 spread over --drain-time, exit status 0" {
	listen_none --drain-time 2
	scenario shutdown --pid "$GW_PID" --signal SIGTERM
	wait_exit "$GW_PID" 5
	echo "exit status $GW_EXIT"
	[ "$GW_EXIT" -eq 0 ]
}

@test "SIGINT: open WebSockets get close 1001 and the exit status is 0" {
	listen_none
	scenario shutdown --pid "$GW_PID" --signal SIGINT
	wait_exit "$GW_PID" 5
	echo "exit status $GW_EXIT"
	[ "$GW_EXIT" -eq 0 ]
}

@test "SIGTERM: clients that never answer the close do not hold up the exit" {
	listen_none --drain-time 1
	scenario shutdown --pid "$GW_PID" --signal SIGTERM --no-reply
	wait_exit "$GW_PID" 4
	echo "exit status $GW_EXIT"
	[ "$GW_EXIT" -eq 0 ]
}

@test "log: gw-listen[PID]: info: listening on ADDR:PORT" {
	listen_none
	wait_log "^gw-listen\[$GW_PID\]: info: listening on 127\.0\.0\.1:$GW_PORT\$" \
	    "$GW_LOG"
}

@test "log: -s logs to syslog, not to stderr" {
	listen_none -s
	scenario http --request 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' \
	    --expect 200
	scenario close-code --code 1000 --expect 1000
	cat "$GW_LOG"
	[ ! -s "$GW_LOG" ]
}

@test "log: nothing per message at the default level" {
	listen_none
	scenario quiet-log --log "$GW_LOG"
}

@test "--listen: several addresses, IPv6 [::1] among them" {
	local p6
	p6=$(free_port)
	listen_none --listen "[::1]:$p6"
	scenario http --request 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' \
	    --expect 200
	GW_PORT=$p6 scenario http --host ::1 --expect 200 \
	    --request 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
}

@test "SO_REUSEPORT: two gw-listen share one port and both serve" {
	listen_none --node alpha
	GW_WANT_PORT=$GW_PORT listen_none --node beta
	wait_log "listening on 127\\.0\\.0\\.1:$GW_PORT" "$GW_LOG"
	kill -0 "${GW_PIDS[0]}"
	kill -0 "${GW_PIDS[1]}"
	scenario reuseport --node alpha --node2 beta
}

# ---------------------------------------------------------------------
# Publish rate, and the node without its bridge
# ---------------------------------------------------------------------

@test "--publish-rate 5 --publish-burst 5: the 6th publish of a burst is rate_limited" {
	listen_none --publish-rate 5 --publish-burst 5
	scenario ws-rate --rate 5 --burst 5
}

@test "no bridge: /healthz 503, subscribe -> unavailable; served once the bridge comes" {
	GW_NO_BRIDGE=1 listen_none
	scenario http --request 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' \
	    --expect 503 --expect-body 'cannot reach Redis both ways'
	scenario ws-unavailable --case nobridge
	# gw-listen retries (backoff up to 5 s): the bridge it finds later
	# makes the node healthy.
	start_bridge
	wait_health "$GW_PORT" 200 10
	scenario ws-pubsub
}

@test "bridge lost: /healthz 503, publish, history, subscribe -> unavailable, WebSockets stay" {
	listen_none
	scenario ws-unavailable --case lost --bridge-pid "$BRIDGE_PID"
	# The scenario sent SIGINT: it must have exited 0.
	kill_bridge INT
	echo "gw-bridge exit status $STOP_STATUS"
	[ "$STOP_STATUS" -eq 0 ]
}

@test "a subscribe sent again that fails (the bridge lost meanwhile) answers an error and leaves the subscription the first one made: the next message comes" {
	local key=key-bbbbbbbbbbbbbbbbbbbb
	printf '%s\n' "$key" >"$GW_TMP/keys"
	listen_none --api-key-file "$GW_TMP/keys"
	bg_start resubfail /usr/bin/python3 "$GW_HELPERS/resubfail.py" \
	    "$GW_PORT" "$key" "$GW_TMP/sync"
	phase_wait stopped
	kill -STOP "$BRIDGE_PID"
	phase_go stopped
	phase_wait queued
	kill_bridge KILL
	start_bridge
	wait_health "$GW_PORT" 200
	phase_go queued
	bg_finish
}

# ---------------------------------------------------------------------
# Sends: many connections' in one system call (io_uring), or a writev each
# ---------------------------------------------------------------------

# fanout ARGS...: tests/helpers/fanout.py against the gw-listen started
# last (its run directory is the bridge's); its JSON in $output.
fanout() {
	run --separate-stderr timeout 60 /usr/bin/python3 \
	    "$GW_HELPERS/fanout.py" --port "$GW_PORT" --rundir "$BRIDGE_RUNDIR" \
	    "$@"
	echo "fanout: exit $status, $output; stderr: $stderr"
	[ "$status" -eq 0 ]
}

# ms_kernel: does this kernel give gw-listen multishot receives into
# incremental buffer rings (Linux 6.12 and later, io_uring not disabled)?
# Where it does, gw-listen must use them: a test skips only where it
# does not, never because gw-listen failed to.
ms_kernel() {
	local v maj min
	v=$(uname -r)
	maj=${v%%.*}
	min=${v#*.}
	min=${min%%[!0-9]*}
	[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] &&
	    { [ "$maj" -gt 6 ] || { [ "$maj" -eq 6 ] && [ "$min" -ge 12 ]; }; }
}

@test "io_uring: a publish to 300 subscribers goes out in a few system calls, every one delivered; their frames are read through the ring" {
	listen_none
	# Only a kernel without io_uring (or one that forbids it) may
	# skip this, and gw-listen says so when it starts.
	if grep 'no io_uring' "$GW_LOG"; then
		skip "this kernel gives gw-listen no io_uring"
	fi
	fanout --conns 300
	[ "$(jq -r .received <<<"$output")" -eq 300 ]
	[ "$(jq -r .io_uring <<<"$output")" -eq 1 ]
	# 300 deliveries (the publisher's answer rides with its message):
	# at most 256 sends per system call.
	[ "$(jq -r .sends <<<"$output")" -ge 300 ]
	[ "$(jq -r .submits <<<"$output")" -ge 2 ]
	[ "$(jq -r .submits <<<"$output")" -le 6 ]
	# 300 unsubscribes: each read through the ring, by the one multishot
	# receive of each connection (armed once: every frame of the test
	# came through the 300 requests), or, where the kernel has none, a
	# batch of receives.
	if ms_kernel; then
		grep -q 'io_uring: multishot receives' "$GW_LOG"
		[ "$(jq -r .chunks <<<"$output")" -ge 300 ]
		[ "$(jq -r .arms <<<"$output")" -eq 300 ]
		[ "$(jq -r .recvs <<<"$output")" -eq 0 ]
	else
		[ "$(jq -r .recvs <<<"$output")" -ge 300 ]
	fi
}

@test "io_uring without multishot receives (GW_LISTEN_NO_MULTISHOT): the readable connections' frames are read in batches through the ring" {
	GW_LISTEN_NO_MULTISHOT=1 listen_none
	if grep 'no io_uring' "$GW_LOG"; then
		skip "this kernel gives gw-listen no io_uring"
	fi
	grep -q 'without multishot receives' "$GW_LOG"
	fanout --conns 300
	[ "$(jq -r .received <<<"$output")" -eq 300 ]
	[ "$(jq -r .recvs <<<"$output")" -ge 300 ]
	[ "$(jq -r .chunks <<<"$output")" -eq 0 ]
	[ "$(jq -r .arms <<<"$output")" -eq 0 ]
}

@test "multishot receives: 40 clients' frames waiting at once (the worker stopped), more than its receive buffers, are all handled; the receives that ran out are armed again" {
	listen_none --publish-rate 100000 --publish-burst 100000
	ms_kernel ||
	    skip "this kernel (before Linux 6.12) has no multishot receives into shared buffers"
	grep -q 'io_uring: multishot receives' "$GW_LOG"
	# 40 x 3 publishes of 16 KiB: 1.9 MiB waiting, gw-listen's buffers
	# hold 512 KiB.
	run -0 timeout 60 "$PY" "$GW_HELPERS/msflood.py" "$GW_PORT" "$GW_PID" \
	    40 3 16384
	echo "$output; arms $(lstat uring_recv_arms)"
	[[ "$output" == *"published 120 of 120"* ]]
	[ "$(lstat uring_recv_arms)" -gt 40 ]
}

@test "multishot receives: more completions at once than the ring holds (8 400 clients' frames, the worker stopped) are all handled, those the kernel kept aside too" {
	listen_none --ping-interval 60
	ms_kernel ||
	    skip "this kernel (before Linux 6.12) has no multishot receives into shared buffers"
	grep -q 'io_uring: multishot receives' "$GW_LOG"
	run timeout 120 "$PY" "$GW_HELPERS/msoverflow.py" "$GW_PORT" \
	    "$GW_PID" "$BRIDGE_RUNDIR" 8400
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"for 8400 frames: all"* ]]
}

@test "multishot receives: a client's burst of publishes on a channel it reads (7.7 MB) moves it to the batched reads, a budget a turn: every publish answered in order, every echo delivered (no 1013); the other client keeps its receive" {
	listen_none --publish-rate 100000 --publish-burst 100000
	ms_kernel ||
	    skip "this kernel (before Linux 6.12) has no multishot receives into shared buffers"
	grep -q 'io_uring: multishot receives' "$GW_LOG"
	run timeout 120 "$PY" "$GW_HELPERS/msburst.py" "$GW_PORT" 128 60000
	echo "$output; moved $(lstat uring_recv_moved)"
	[ "$status" -eq 0 ]
	[[ "$output" == *"published 128 in order, 128 messages; calm served"* ]]
	[ "$(lstat uring_recv_moved)" -eq 1 ]
}

@test "multishot receives: the descriptor of a connection that ended is closed: its close, its EOF, and one the worker gave up on (its receive cancelled) while the client holds it" {
	listen_none
	ms_kernel ||
	    skip "this kernel (before Linux 6.12) has no multishot receives into shared buffers"
	grep -q 'io_uring: multishot receives' "$GW_LOG"
	f0=$(ls "/proc/$GW_PID/fd" | wc -l)
	# A third close (1000), a third just go (EOF), a third get a 1003
	# for a binary frame and say nothing more: the worker waits 2 s for
	# their EOF, then drops them with their receives still armed.
	run -0 timeout 60 "$PY" - "$GW_HELPERS" "$GW_PORT" "$GW_PID" "$f0" \
	    <<'PYEOF'
import os, socket, sys, time
sys.path.insert(0, sys.argv[1])
from wsraw import Conn, OP_BINARY
port, pid, f0 = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
nfd = lambda: len(os.listdir("/proc/%s/fd" % pid))
conns = []
for i in range(60):
    c = Conn(port, timeout=10)
    c.handshake()
    c.recv_json(10)
    conns.append(c)
print("open: %d descriptors, %d before" % (nfd(), f0))
held = []
for i, c in enumerate(conns):
    if i % 3 == 0:
        c.send_close(1000)
        c.expect_close(1000)
        c.close()
    elif i % 3 == 1:
        c.close()
    else:
        c.send_frame(OP_BINARY, b"x")
        held.append(c)
deadline = time.monotonic() + 15
while nfd() > f0 and time.monotonic() < deadline:
    time.sleep(0.05)
print("after: %d descriptors, %d clients still open" % (nfd(), len(held)))
# Its socket is gone, not only its descriptor (a request still armed
# would hold it): a byte sent to it gets a reset, not silence.
reset = 0
for c in held:
    c.expect_close(1003, reply=False)
    c.sock.send(b"x")
    # The reset's error (EPIPE after the worker's FIN), not yet reported.
    if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
        reset += 1
print("reset: %d of %d" % (reset, len(held)))
PYEOF
	echo "$output"
	[[ "$output" =~ after:\ ([0-9]+)\ descriptors,\ 20\ clients ]]
	[ "${BASH_REMATCH[1]}" -le "$f0" ]
	[[ "$output" == *"reset: 20 of 20"* ]]
}

# lstat FIELD: this test's gw-listen's counter FIELD (gwctl stats).
lstat() {
	gwctl --rundir "$BRIDGE_RUNDIR" --json stats |
	    jq -r --arg f "$1" 'select(.process == "gw-listen") | .counters[$f]'
}

# strace_hold SYSCALLS MICROSECONDS: strace attached to gw-listen
# ($GW_PID), the first of SYSCALLS it makes held that long before it runs;
# returns once attached.  Sets STRACE_PID (the caller kills it).  strace
# is one of share/deps.sh's packages: not skipped without it.
strace_hold() {
	local i
	strace -p "$GW_PID" -o /dev/null -e trace="$1" \
	    -e inject="$1":delay_enter="$2":when=1 2>"$GW_TMP/strace.err" &
	STRACE_PID=$!
	for ((i = 0; i < 216; i++)); do
		grep -q attached "$GW_TMP/strace.err" && return 0
		nap "$i"
	done
	echo "strace did not attach"
	return 1
}

@test "gwctl stats: a loop turn held up 1.2 s counts in loop_max_ms and loop_turns_100ms/1s (strace delays its write)" {
	listen_none --no-io-uring
	[ "$(lstat loop_turns_1s)" -eq 0 ]
	# The next write of the process is held 1.2 s: the answer to a
	# /healthz, written in the turn that read its request.
	strace_hold write,writev,sendmsg,sendto 1200000
	[ "$(healthz "$GW_PORT")" = 200 ]
	kill "$STRACE_PID"
	wait "$STRACE_PID" || true
	echo "max $(lstat loop_max_ms), 100ms $(lstat loop_turns_100ms)"
	[ "$(lstat loop_turns_1s)" -eq 1 ]
	[ "$(lstat loop_turns_100ms)" -ge 1 ]
	[ "$(lstat loop_max_ms)" -ge 1200 ]
	[ "$(lstat loop_max_ms)" -lt 10000 ]
}

@test "--head-timeout: a head that came in time but was not read yet (the worker held up past the deadline) is upgraded, not answered 408" {
	listen_none --head-timeout 1
	# The setsockopt after the next accept is held 1.5 s: the head
	# deadline passes while the client's request waits in the socket.
	strace_hold setsockopt 1500000
	run -0 timeout 20 "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
import time; time.sleep(0.3)
s.sendall(b"GET /ws?user=u HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
print(s.recv(200).split(b"\r\n")[0].decode())' "$GW_PORT"
	kill "$STRACE_PID"
	wait "$STRACE_PID" || true
	echo "$output"
	[ "$output" = "HTTP/1.1 101 Switching Protocols" ]
}

@test "--head-timeout: a request read late, at its deadline, that then waits (an API publish, the bridge stopped) gets a deadline of its own, then 503 unavailable (its head was read: not 408)" {
	local key=key-aaaaaaaaaaaaaaaaaaaa
	printf '%s\n' "$key" >"$GW_TMP/keys"
	listen_none --head-timeout 1 --api-key-file "$GW_TMP/keys"
	kill -STOP "$BRIDGE_PID"
	strace_hold setsockopt 1500000
	run timeout 20 "$PY" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
time.sleep(0.3)
body = b"{\"channel\":\"late\",\"data\":1}"
s.sendall(b"POST /api/publish HTTP/1.1\r\nHost: x\r\n"
          b"Authorization: apikey " + sys.argv[2].encode() + b"\r\n"
          b"Content-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body)
print(s.recv(200).split(b"\r\n")[0].decode())' "$GW_PORT" "$key"
	kill "$STRACE_PID"
	wait "$STRACE_PID" || true
	kill -CONT "$BRIDGE_PID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "HTTP/1.1 503 Service Unavailable" ]
}

# late_pong SYSCALL: the first SYSCALL after the client's welcome (the
# write of its first ping) held 1.5 s, longer than --pong-timeout 1, as
# a long loop turn holds the writes queued in it; the client answers each
# ping 0.3 s after it came and must not be closed for it.
late_pong() {
	bg_start late "$PY" "$CONF" late-pong --port "$GW_PORT" \
	    --log "$GW_TMP/sync/ready" --count 2 --max 15
	phase_wait ready
	strace_hold "$1" 1500000
	wait "$BG_PID" && st=0 || st=$?
	kill "$STRACE_PID"
	wait "$STRACE_PID" || true
	cat "$BG_OUT"
	[ "$st" -eq 0 ]
	grep -q '^answered 2 pings$' "$BG_OUT"
	[ "$(lstat closes_1008)" -eq 0 ]
}

@test "ping: the pong's time starts when the ping is written, not when its timer queued it (writev held 1.5 s)" {
	listen_none --no-io-uring --ping-interval 3 --pong-timeout 1
	late_pong writev
}

@test "ping: the same through the ring (io_uring_enter held 1.5 s)" {
	listen_none --ping-interval 3 --pong-timeout 1
	[ "$(lstat io_uring)" -eq 1 ]
	late_pong io_uring_enter
}

@test "history: 40 reads of 7.7 MB at once from one client are answered (history or rate_limited), 20 over the API (200 or 429), and cost the others nothing (the bridge keeps the worker's link)" {
	local key=key-aaaaaaaaaaaaaaaaaaaa
	printf '%s\n' "$key" >"$GW_TMP/keys"
	listen_none --publish-rate 100000 --publish-burst 100000 \
	    --api-key-file "$GW_TMP/keys"
	run -0 timeout 120 "$PY" "$GW_HELPERS/histhog.py" "$GW_PORT" "$key"
	echo "$output"
	[[ "$output" == *"rate_limited"*"calm served"* ]]
	[[ "$output" == *"api: "*"429"* ]]
	! grep -q 'output queue full' "$BRIDGE_LOG"
	! grep -q 'lost gw-bridge' "$GW_LOG"
}

@test "--no-io-uring: the same publish, a writev (and a read) per connection, every one delivered" {
	listen_none --no-io-uring
	fanout --conns 300
	[ "$(jq -r .received <<<"$output")" -eq 300 ]
	[ "$(jq -r .io_uring <<<"$output")" -eq 0 ]
	[ "$(jq -r .sends <<<"$output")" -eq 0 ]
	[ "$(jq -r .recvs <<<"$output")" -eq 0 ]
	grep -q 'no io_uring' "$GW_LOG"
}

@test "pipelined requests: a publish sent before its subscribe's answer waits for it (the publisher gets its own message); an unsubscribe before it answers the subscribe not_subscribed; at most 16 wait" {
	start_listen --auth none --publish-rate 1000000 --publish-burst 1000000
	local c
	for c in own unsub all many; do
		run -0 timeout 30 "$PY" "$GW_HELPERS/pipeline.py" "$c" \
		    --port "$GW_PORT" --rundir "$BRIDGE_RUNDIR" \
		    --gwctl "$(command -v "$GWCTL_BIN")"
		echo "$c: $output"
		[[ "$output" == ok:* ]]
	done
}

@test "reload: max_outbound under max_message is refused and the settings kept; equal ones are taken" {
	listen_none
	local sock=$GW_TMP/run/listen-$GW_PID.sock
	run -0 "$PY" "$GW_HELPERS/ipcabuse.py" ctl "$sock" \
	    '{"cmd":"reload","max_message":8192,"max_outbound":4096}'
	[ "$(jq -r .ok <<<"$output")" = false ]
	[[ "$(jq -r .error <<<"$output")" == "max_outbound under max_message"* ]]
	run -0 "$PY" "$GW_HELPERS/ipcabuse.py" ctl "$sock" \
	    '{"cmd":"reload","max_message":4096,"max_outbound":4096}'
	[ "$(jq -r .ok <<<"$output")" = true ]
	grep -q 'max message 4096, max outbound 4096' "$GW_LOG"
	run ! grep -q 'max message 8192' "$GW_LOG"
}
