#!/usr/bin/env bats
# 5100-demo.bats -- the demo page (share/demo, on share/js/gw-client.js)
# in headless Chromium (tests/js/browser.mjs, playwright-core): alice on
# node A and bob on node B see each other, see each other type, chat both
# ways and see the live counter; then node B is killed with SIGKILL and
# bob's page must come back on node A with its channels.  And the files
# gw-listen serves with --demo.
#
# Two nodes (gw-bridge, gw-presence, gw-listen --auth none) share one
# private Redis.  gw-listen serves the page itself with --demo DIR.
# Chromium, Node.js, playwright-core and ws come from share/deps.sh
# ("make test" runs it first); if they are missing and deps.sh cannot
# install them, the browser test fails (it is never skipped).  On a failure browser.mjs keeps screenshots of both pages in
# $GW_SCREENSHOTS (default /tmp) and prints their paths.

bats_require_minimum_version 1.5.0

load ../helpers/gw

SHARE="$GW_ROOT/share"
NPM="$GW_ROOT/build/npm/node_modules"

setup() {
	gw_setup
}

teardown() {
	gw_teardown
}

# have_browser: Chromium, node and the npm packages are all there.
have_browser() {
	[ -x "${CHROMIUM:-/usr/bin/chromium}" ] &&
	    command -v node >/dev/null 2>&1 &&
	    [ -f "$NPM/playwright-core/package.json" ] &&
	    [ -f "$NPM/ws/package.json" ]
}

# need_browser: install what is missing (share/deps.sh), or fail.
need_browser() {
	have_browser && return 0
	sh "$SHARE/deps.sh" >&2 || true
	if ! have_browser; then
		echo "no chromium, node, playwright-core or ws, and" \
		    "share/deps.sh could not install them"
		return 1
	fi
}

# http_get PORT PATH BODYFILE: GET PATH (sent as it is, not normalized)
# from 127.0.0.1:PORT; print "STATUS CONTENT-TYPE" and write the body to
# BODYFILE.
http_get() {
	"$PY" -S -c 'import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", sys.argv[2])
r = c.getresponse()
body = r.read()
open(sys.argv[3], "wb").write(body)
print(r.status, r.getheader("Content-Type", "-"))' "$@"
}

@test "demo: two users on two nodes: presence, typing, chat, counter; a node killed, the page goes on on the other" {
	local pa pb page
	need_browser
	NODE_PRESENCE=1 start_node a 1 --demo "$SHARE"
	pa=$GW_PORT
	NODE_PRESENCE=1 start_node b 1 --demo "$SHARE"
	pb=$GW_PORT
	page="http://127.0.0.1:$pa/"
	echo "# page $page (node a on $pa, node b on $pb)"
	bg_start browser node "$GW_ROOT/tests/js/browser.mjs" \
	    --page "$page" --ws-a "ws://127.0.0.1:$pa/ws" \
	    --ws-b "ws://127.0.0.1:$pb/ws" --sync "$GW_TMP/sync"
	phase_wait killme 60
	kill_node b
	phase_go killme
	phase_wait kickme 60
	gwctl --rundir "$GW_TMP/a" kick --user alice
	phase_go kickme
	bg_finish 100
}

@test "demo: gw-listen --demo serves the page, its files and gw-client.js, and nothing else" {
	local out=$GW_TMP/body
	start_listen --auth none --demo "$SHARE"

	run http_get "$GW_PORT" / "$out"
	[ "$output" = "200 text/html; charset=utf-8" ]
	cmp "$out" "$SHARE/demo/index.html"
	run http_get "$GW_PORT" "/?user=alice&urls=ws://x/ws" "$out"
	[ "$output" = "200 text/html; charset=utf-8" ]
	run http_get "$GW_PORT" /demo/demo.js "$out"
	[ "$output" = "200 text/javascript; charset=utf-8" ]
	cmp "$out" "$SHARE/demo/demo.js"
	run http_get "$GW_PORT" /demo/demo.css "$out"
	[ "$output" = "200 text/css; charset=utf-8" ]
	cmp "$out" "$SHARE/demo/demo.css"
	run http_get "$GW_PORT" /js/gw-client.js "$out"
	[ "$output" = "200 text/javascript; charset=utf-8" ]
	cmp "$out" "$SHARE/js/gw-client.js"

	for p in /demo/../js/gw-client.js /demo/../deps.sh /deps.sh \
	    /demo/ /demo/nothere.js /js/ /index.html /demo/%2e%2e/deps.sh; do
		run http_get "$GW_PORT" "$p" "$out"
		[ "${output%% *}" = 404 ] || {
			echo "GET $p: $output (want 404)"
			return 1
		}
	done
	# /ws and /healthz are as they were.
	[ "$(healthz "$GW_PORT")" = 200 ]
}

@test "demo: without --demo, / is not found" {
	local out=$GW_TMP/body
	start_listen --auth none
	run http_get "$GW_PORT" / "$out"
	[ "${output%% *}" = 404 ]
}
