#!/usr/bin/env bats
# 7000-bench.bats -- a smoke test of gw-bench, not a benchmark (no figure
# is asserted): 300 connections over two receiver processes on three
# channels of a small node, 50 msg/s for 2 s; the JSON report parses and
# shows every expected delivery, no gap and no loss.  And its usage
# errors (a target that is not loopback is refused), and its usage text
# against the SYNOPSIS of man/gw-bench.8.

bats_require_minimum_version 1.5.0
load ../helpers/gw

GW_BENCH_BIN=${GW_BENCH_BIN:-gw-bench}

setup() {
	gw_setup
	command -v jq >/dev/null || skip "no jq"
}

teardown() {
	gw_teardown
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

@test "gw-bench: a target that is not loopback and bad usage exit 2" {
	run -2 "$GW_BENCH_BIN" --url ws://192.0.2.1:8080/ws
	[[ $output == *"only loopback"* ]]
	run -2 "$GW_BENCH_BIN" --url http://127.0.0.1/ws
	run -2 "$GW_BENCH_BIN" --source-addrs 10.0.0.1-10.0.0.9
	run -2 "$GW_BENCH_BIN" --subscribe-pattern 'a%s'
	run -2 "$GW_BENCH_BIN" --subscribe-pattern 'fixed' --channels 2
	run -2 "$GW_BENCH_BIN" --conns 0
	run -2 "$GW_BENCH_BIN" --conns 10 --channels 11
	run -2 "$GW_BENCH_BIN" --no-such-option
	[[ $output == *usage:* ]]
}

@test "gw-bench: the usage lists the options of the SYNOPSIS in man/gw-bench.8" {
	command -v mandoc >/dev/null || skip "no mandoc"
	timeout 10 "$GW_BENCH_BIN" -h 2>"$GW_TMP/usage" || true
	"$PY" "$GW_HELPERS/synopsis.py" "$GW_TMP/usage" "$GW_ROOT/man/gw-bench.8"
}
