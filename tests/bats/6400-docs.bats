#!/usr/bin/env bats
# 6400-docs.bats -- every manual page renders without a warning: mandoc
# -T lint -W warning finds nothing, and man -l (groff) writes nothing on
# standard error; every binary has its page.

bats_require_minimum_version 1.5.0

load ../helpers/gw

@test "docs: mandoc -T lint -W warning is clean for every page in man/" {
	command -v mandoc >/dev/null || skip "no mandoc (make deps installs it)"
	run mandoc -T lint -W warning "$GW_ROOT"/man/*.[0-9]
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "docs: man -l renders every page with nothing on standard error" {
	local page out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
	command -v man >/dev/null || skip "no man(1)"
	for page in "$GW_ROOT"/man/*.[0-9]; do
		# (Rendered once, its two outputs apart: groff takes a while.)
		MANWIDTH=80 man -l "$page" >"$out" 2>"$err"
		if [ -s "$err" ]; then
			echo "$page: $(cat "$err")"
			return 1
		fi
		[ "$(wc -l <"$out")" -gt 20 ]
	done
}

@test "docs: every binary, gw.conf, the protocol and the IPC have a page" {
	local f
	for f in gw-listen.8 gw-bridge.8 gw-presence.8 gw-supervise.8 \
	    gwctl.8 gw.conf.5 gw-protocol.7 gw-ipc.7; do
		[ -f "$GW_ROOT/man/$f" ] || { echo "no man/$f"; return 1; }
	done
}
