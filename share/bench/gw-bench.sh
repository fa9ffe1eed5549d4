#!/bin/bash
# gw-bench.sh -- the gw-bench scenarios against nodes run by
# gw-supervise (a private redis-server, gw-bridge, gw-presence and the
# gw-listen workers, auth none, publish rate unlimited), started afresh
# for each scenario in a temporary run directory.  The server's RSS and
# CPU are summed over each gw-supervise and all its children.
#
#	share/bench/gw-bench.sh [SCENARIO...]	(default: all but s4local,
#						s3ws, s1m and s6, about 2
#						minutes)
#
# s1	idle capacity: GW_BENCH_S1_CONNS (20 000) connections on 100
#	channels held for 10 s with a ping every 5 s: RSS per
#	connection, CPU while idle (two rounds of heartbeats)
# s1big	capacity: GW_BENCH_S1BIG_CONNS (100 000) idle connections, the
#	same way, over one gw-listen worker and one gw-bench process per
#	18 000 (20 000 open files per process); s1m is the same with
#	1 000 000 (not in the default set: about 10 minutes and 15 GiB);
#	both hold the connections GW_BENCH_S1_HOLD seconds (10)
# s2	fan-out: 1 000 subscribers of one channel, 100 msg/s for 5 s (the
#	subscribers in two receiver processes, one a core, as the workers)
# s2big	fan-out: 10 000 subscribers of one channel, 100 msg/s for 5 s
# s3	many channels: 10 000 subscribers on 10 000 channels, 10 000
#	msg/s over them in shuffled rounds for 3 s (after a 1 s warm-up),
#	published as a backend does: POST /api/batch on a keep-alive
#	connection (gw-bench --pub-api, the node with --api-key-file), as
#	the peers' publishers POST to them
# s3ws	the same published over WebSocket connections subscribed to their
#	channels (gw lets a client publish only there), so that every
#	message is also echoed to its publisher (not in the default set)
# s4	cross-node: two nodes (one worker each), b on a's Redis; 100
#	subscribers on b, one per channel, and the publisher on a: 1 000
#	msg/s for 5 s (after a 1 s warm-up)
# s4local  the same on one node (publisher and subscribers on b), to
#	compare with s4 (not in the default set)
# s5	presence storm: 10 000 users join one channel at once, watched
#	by 100 presence subscribers; then 100 presence queries
# s6	reconnect storm: node b (with the Redis), node a on b's Redis;
#	GW_BENCH_S6_CONNS (50 000) victims on a (a gw-listen worker and a
#	gw-bench process per 18 000), GW_BENCH_S6_BYSTANDERS (1 000)
#	bystanders and the publisher (1 000 msg/s over 1 000 channels) on
#	b; 5 s after all subscribed gw-bench kills node a (gw-supervise
#	and its children) and every victim resumes its session on b (not
#	in the default set: about 2 minutes); GW_BENCH_S6_NICE=N runs
#	the victims' processes at nice N (the bystanders' and the
#	publisher's at 0), as if the victims had cores of their own;
#	GW_BENCH_S6_UPRATE=N gives node b upgrade_rate N (0: no limit;
#	unset: the default, 2000 a second for each worker)
#
# s1m runs in a network namespace of its own, with a bigger table of
# connections, when it can (root, Linux 5.19; GW_BENCH_NETNS=no: never).
# GW_BENCH_JSON=DIR also writes each scenario's JSON to DIR/NAME.json,
# the nodes' `gwctl stats` to DIR/NAME.NODE.stats and their log to
# DIR/NAME.log.
# Every run is bounded: gw-bench has its own deadlines, and the nodes are
# stopped (SIGTERM, then SIGKILL after 15 s) when the script ends.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build

# s1m: both ends of a million loopback connections are two million
# sockets in the kernel's table of established connections, which Linux
# sizes at boot from the memory (here 262 144 buckets: dmesg, "TCP
# established hash table entries"); chains of eight made
# __inet_lookup_established 14 % of all samples (perf, docs/BENCH.md).
# A network namespace can have a table of its own
# (net.ipv4.tcp_child_ehash_entries, Linux 5.19): as root, the run moves
# into a new one with 4 194 304 buckets, as a server for a million
# connections would be booted with thash_entries=.  Elsewhere, or with
# GW_BENCH_NETNS=no, it runs where it is.
ehash=/proc/sys/net/ipv4/tcp_child_ehash_entries
if [[ " $* " == *" s1m "* ]] && [ "${GW_BENCH_NETNS:-}" != no ] &&
    [ "${GW_BENCH_IN_NETNS:-}" != 1 ] && [ "$(id -u)" = 0 ] &&
    [ -w "$ehash" ] && command -v unshare >/dev/null &&
    command -v ip >/dev/null; then
	old=$(cat "$ehash")
	echo 4194304 >"$ehash"
	rc=0
	# shellcheck disable=SC2016  # the inner shell expands them
	GW_BENCH_IN_NETNS=1 unshare -n sh -c \
	    'ip link set lo up && exec bash "$0" "$@"' "$0" "$@" || rc=$?
	echo "$old" >"$ehash"
	exit "$rc"
fi
# In it, a worker near its limit of open files stops listening
# (gw-listen(8)); net.ipv4.tcp_migrate_req (this namespace's own) hands
# the connections waiting in its queue to the other workers.
if [ "${GW_BENCH_IN_NETNS:-}" = 1 ]; then
	echo 1 >/proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || true
	echo "gw-bench.sh: in a network namespace of its own," \
	    "$(cat /proc/sys/net/ipv4/tcp_ehash_entries) buckets for" \
	    "established connections"
fi
run=$(mktemp -d "${TMPDIR:-/tmp}/gw-bench.XXXXXX")
sups=()
# The API key of s3's node and publisher: fresh for each run.
apikeys=$run/apikeys
printf 'gwbench-%s\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" \
    >"$apikeys"
cleanup() {
	stop_nodes
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_nodes: SIGTERM each node, the last started first (a node may use
# an earlier one's Redis), and wait (at most 15 s), then SIGKILL.
stop_nodes() {
	local i j sup
	for ((j = ${#sups[@]} - 1; j >= 0; j--)); do
		sup=${sups[$j]}
		kill -TERM "$sup" 2>/dev/null || true
		for ((i = 0; i < 150; i++)); do
			kill -0 "$sup" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$sup" 2>/dev/null || true
		wait "$sup" 2>/dev/null || true
	done
	sups=()
}

# start_node NAME WORKERS: node NAME on a free port, its run directory
# $run/NAME, with the gw-supervise arguments in the array node_args too;
# sets port and adds its gw-supervise to sups.  With node_nice set, the
# node's single-process services (redis-server, gw-bridge, gw-presence)
# get that niceness once it is up (see s1m).
node_args=()
node_nice=
start_node() {
	local i sup
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	rm -rf "${run:?}/$1"
	"$bin/gw-supervise" --rundir "$run/$1" --node "$1" --auth none \
	    --listen "127.0.0.1:$port" --workers "$2" \
	    --publish-rate 1000000 --publish-burst 1000000 \
	    --drain-time 1 --log-level quiet ${node_args[@]+"${node_args[@]}"} \
	    </dev/null 2>>"$run/node.log" &
	sup=$!
	sups+=("$sup")
	for ((i = 0; i < 200; i++)); do
		# Healthy once a worker is; gw-supervise starts the others
		# one after the other: wait for all of them (a worker makes
		# its control socket after its listening one), or the first
		# take the early connections and the server's pids miss
		# the others (docs/BENCH.md, A million, held).
		if /usr/bin/python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null &&
		    [ "$(compgen -G "$run/$1/listen-*.sock" | wc -l)" -ge "$2" ]; then
			[ -z "$node_nice" ] || renice -n "$node_nice" -p \
			    $(pgrep -P "$sup" -x 'redis-server|gw-bridge|gw-presence') \
			    >/dev/null
			return 0
		fi
		kill -0 "$sup" 2>/dev/null || break
		sleep 0.1
	done
	echo "gw-bench.sh: node $1 did not become healthy; its log:" >&2
	cat "$run/node.log" >&2
	exit 1
}

# server_pids: every node's gw-supervise and its children, comma-separated.
server_pids() {
	local sup kids out=
	for sup in "${sups[@]}"; do
		kids=$(pgrep -P "$sup" | paste -sd, -)
		out=$out${out:+,}$sup${kids:+,$kids}
	done
	echo "$out"
}

# bench NAME GW-BENCH-ARGS...: one run of gw-bench against the nodes up;
# the summary on stdout, the JSON in $GW_BENCH_JSON/NAME.json.
bench() {
	local name=$1 out
	shift
	echo "== $name: gw-bench $*"
	out=$run/$name.json
	"$bin/gw-bench" --server-pids "$(server_pids)" --json "$@" \
	    >"$out" || true
	if [ -s "$out" ] && jq -e . "$out" >/dev/null 2>&1; then
		summary "$out"
		if [ -n "${GW_BENCH_JSON:-}" ]; then
			mkdir -p "$GW_BENCH_JSON"
			cp "$out" "$GW_BENCH_JSON/$name.json"
			# The nodes' own counters (closes by code, Redis
			# reconnects) and log, for what the figures hide.
			for d in "$run"/*/; do
				[ -S "$d/supervise.sock" ] || continue
				"$bin/gwctl" --rundir "$d" --json stats \
				    >"$GW_BENCH_JSON/$name.$(basename "$d").stats" \
				    2>&1 || true
			done
			# Redis's own counts: which commands and scripts
			# its CPU went to.
			for d in "$run"/*/; do
				[ -S "$d/redis.sock" ] || continue
				redis-cli -s "$d/redis.sock" info commandstats \
				    >"$GW_BENCH_JSON/$name.$(basename "$d").redis" \
				    2>&1 || true
			done
			cp "$run/node.log" "$GW_BENCH_JSON/$name.log" ||
			    true
		fi
	else
		echo "$name: gw-bench failed; node log:"
		tail -n 20 "$run/node.log"
	fi
}

# scenario NAME WORKERS GW-BENCH-ARGS...: gw-bench on a fresh node.
scenario() {
	local name=$1 workers=$2
	shift 2
	start_node n "$workers"
	bench "$name" --url "ws://127.0.0.1:$port/ws" "$@"
	stop_nodes
}

# reconnect_storm NAME CONNS BYSTANDERS: node b first (its Redis), then
# node a on it, each with a worker per 18 000 victims; the victims on a,
# the bystanders and the publisher on b; gw-bench kills a's gw-supervise
# and all its children after the warm-up.
reconnect_storm() {
	local name=$1 n=$2 y=$3 w pb sa kids
	w=$(((n + 17999) / 18000))
	node_args=(--max-connections $(((n + y) * 2)))
	[ -z "${GW_BENCH_S6_UPRATE:-}" ] ||
	    node_args+=(--upgrade-rate "$GW_BENCH_S6_UPRATE")
	start_node b "$w"
	pb=$port
	node_args=(--redis "unix://$run/b/redis.sock" \
	    --max-connections $((n * 2)))
	start_node a "$w"
	node_args=()
	sa=${sups[1]}
	kids=$(pgrep -P "$sa" | paste -sd, -)
	bench "$name" --url "ws://127.0.0.1:$port/ws" \
	    --resume-url "ws://127.0.0.1:$pb/ws" --kill "$sa${kids:+,$kids}" \
	    --conns "$n" --procs "$w" --bystanders "$y" --channels 1000 \
	    --rate 1000 --warmup 5 --duration 60 --drain 30 --backoff 5 \
	    --receiver-nice "${GW_BENCH_S6_NICE:-0}" \
	    --connect-timeout $((60 + n / 2000))
	stop_nodes
}

# cross_node NAME SAME: nodes a and b (one worker each, b on a's
# Redis), subscribers on b; the publisher on a, or on b if SAME is 1.
cross_node() {
	local pa
	start_node a 1
	pa=$port
	node_args=(--redis "unix://$run/a/redis.sock")
	start_node b 1
	node_args=()
	[ "$2" = 1 ] && pa=$port
	bench "$1" --url "ws://127.0.0.1:$port/ws" \
	    --pub-url "ws://127.0.0.1:$pa/ws" --conns 100 --channels 100 \
	    --rate 1000 --warmup 1 --duration 5
	stop_nodes
}

# summary FILE: the figures of one JSON report, one line each.
summary() {
	jq -r '
	"  connections   \(.connections.opened) opened, \(.connections.failed) failed in \(.connections.connect_s) s",
	if .mode == "presence" then
	(.presence |
	"  watchers      \(.watchers) subscribed, \(.watchers_failed) failed, \(.watchers_lost) lost",
	"  joins         \(.joins) sent in \(.joins_window_s) s; seen \(.seen) of \(.expected), \(.watchers_complete) watchers saw all",
	"  all seen      \(.all_seen_after_last_join_s) s after the last join (\(.all_seen_after_first_join_s) s after the first)",
	"  server CPU    \(.server_cpu_s) s for the joins, \(.server_cpu_per_join_us) us per join",
	"  query ms      \(.query.answered) answered, \(.query.errors) errors, count \(.query.count): p50 \(.query.p50_ms)  p90 \(.query.p90_ms)  p99 \(.query.p99_ms)  max \(.query.max_ms)")
	elif .mode == "resume" then
	(.resume |
	"  victims       \(.victims) subscribed, \(.lost) lost at T0 (\(.killed_pids) pids killed)",
	"  resumed       \(.resumed) (\(.fresh) fresh, \(.never_resumed) never), \(.attempts) attempts, \(.failed_attempts) failed \(.failed_attempts_by)",
	"  caught up     \(.caught_up): last resume \(.last_resume_s) s, all caught up \(.all_caught_up_s) s after T0; complete \(.complete)",
	"  sequences     missed \(.missed), duplicates \(.duplicates), replayed \(.replayed); since sent \(.since.sent), recovered \(.since.recovered_true)"),
	(.bystanders |
	"  bystanders    \(.subscribed): p50/p99/max ms before \(.before_ms.p50)/\(.before_ms.p99)/\(.before_ms.max), storm \(.storm_ms.p50)/\(.storm_ms.p99)/\(.storm_ms.max), after \(.after_ms.p50)/\(.after_ms.p99)/\(.after_ms.max); first 20 s \(.window_ms.p50)/\(.window_ms.p99)/\(.window_ms.max)"),
	"  storm CPU     \(.resume.storm_cpu_s) s: " + ([.resume.storm_cpu_by_pid[] | select(.cpu_s >= 0.01) | "\(.name)[\(.pid)] \(.cpu_s)"] | join(", "))
	else
	"  deliveries    \(.deliveries.received) of \(.deliveries.expected) (lost \(.deliveries.lost), gaps \(.deliveries.gaps)), \(.deliveries.per_s)/s",
	"  latency ms    p50 \(.latency_ms.p50)  p90 \(.latency_ms.p90)  p99 \(.latency_ms.p99)  max \(.latency_ms.max)"
	end,
	"  server RSS    \(.server.rss_kib.start) -> \(.server.rss_kib.subscribed) KiB: \(.server.rss_per_conn_bytes) bytes per connection",
	"  server anon   \(.server.anon_kib.start) -> \(.server.anon_kib.subscribed) -> \(.server.anon_kib.end) KiB: \(.server.anon_per_conn_bytes) bytes per connection subscribed, \(.server.anon_per_conn_end_bytes) at the end",
	"  server CPU    \(.server.cpu_run_s) s in \(.server.run_s) s (\(.server.cpu_run_pct) % of a core)",
	if (.server.cpu_measured_s // 0) > 0 then "  CPU measured  \(.server.cpu_measured_s) s after the warm-up: \(.server.cpu_per_message_us) us per message, \(.server.cpu_per_delivery_us) us per delivery" else empty end,
	"  per process   " + ([.server_by_pid[] | "\(.name) +\(.rss_kib[1] - .rss_kib[0]) KiB " + if .cpu_s[2] < 0 then "(gone)" else "\((.cpu_s[2] - .cpu_s[1]) * 100 | round / 100) s" end] | join(", "))' "$1"
}

[ $# -gt 0 ] || set -- s1 s1big s2 s2big s3 s4 s5
for s in "$@"; do
	case $s in
	s1)
		# Pings every 5 s, so that 10 s hold two rounds of them.
		node_args=(--ping-interval 5)
		scenario s1-idle 2 --conns "${GW_BENCH_S1_CONNS:-20000}" \
		    --channels 100 --rate 0 --warmup 0 --duration 10
		node_args=() ;;
	s1big | s1m)
		n=${GW_BENCH_S1BIG_CONNS:-100000}
		[ "$s" = s1big ] || n=1000000
		# A worker per 18 000 connections, 15 500 for a million:
		# SO_REUSEPORT spread a million over 59 workers from 11 015
		# to 22 012, past the 20 000 open files of some.
		w=$(((n + 17999) / 18000))
		[ "$s" = s1big ] || w=$(((n + 15499) / 15500))
		# Twice n: the workers share it, and SO_REUSEPORT spreads
		# the connections over them only about evenly.  A million
		# keeps the default ping interval (25 s): pings every 5 s
		# are 200 000 a second, more than two cores can answer on
		# both sides (docs/BENCH.md).
		node_args=(--ping-interval 5 --max-connections $((n * 2)))
		[ "$s" = s1big ] || node_args=(--max-connections $((n * 2)))
		# A million: 112 busy processes on two cores preempted Redis
		# in the middle of its scripts for up to 244 ms (SLOWLOG: a
		# subscribe script of microseconds), links timed out and
		# subscribes were refused.  In production Redis and the
		# node's services have cores of their own; here they get
		# nice -10 (docs/BENCH.md).
		[ "$s" = s1big ] || node_nice=-10
		scenario "s1-idle-$n" "$w" --conns "$n" --procs "$w" \
		    --channels 100 --rate 0 --warmup 0 \
		    --duration "${GW_BENCH_S1_HOLD:-10}" \
		    --connect-timeout $((60 + n / 2000))
		node_args=()
		node_nice= ;;
	s2)
		scenario s2-fanout-1k 2 --conns 1000 --procs 2 --channels 1 \
		    --rate 100 --warmup 1 --duration 5 ;;
	s2big)
		scenario s2-fanout-10k 2 --conns 10000 --channels 1 \
		    --rate 100 --warmup 1 --duration 5 --drain 20 ;;
	s3)
		node_args=(--api-key-file "$apikeys")
		scenario s3-channels-10k 2 --pub-api "$apikeys" \
		    --conns 10000 --channels 10000 --rate 10000 --warmup 1 \
		    --duration 3 --drain 10
		node_args=() ;;
	s3ws)
		scenario s3ws-channels-10k 2 --conns 10000 --channels 10000 \
		    --rate 10000 --warmup 1 --duration 3 --drain 10 ;;
	s4)
		cross_node s4-cross-node 0 ;;
	s4local)
		cross_node s4-same-node 1 ;;
	s5)
		scenario s5-presence-storm 2 --conns 10000 --watchers 100 \
		    --queries 100 --drain 20 ;;
	s6)
		n=${GW_BENCH_S6_CONNS:-50000}
		reconnect_storm "s6-reconnect-$n" "$n" \
		    "${GW_BENCH_S6_BYSTANDERS:-1000}" ;;
	*)
		echo "gw-bench.sh: unknown scenario $s (s1, s1big, s1m, s2," \
		    "s2big, s3, s3ws, s4, s4local, s5, s6)" >&2
		exit 2 ;;
	esac
done
