#!/bin/bash
# peers.sh -- the gw-bench scenarios against gw and its peers in the same
# sitting (make bench-peers; not part of make test): Nchan (Debian's
# nginx with libnginx-mod-nchan, on Redis) and Socket.IO 4 (one node
# process, share/bench/peers/sio-server.js, with the Redis adapter).
# Installs what is missing (apt-get, and npm into build/npm-peers), starts
# each server afresh for each scenario with a private redis-server, runs
# gw-bench with --server-pids set to the server's processes (Redis
# included, as for gw), and prints one table with gw's ratios.
#
#	share/bench/peers.sh [SCENARIO...]	(default: s1 s2big s3)
#
# s1	idle: PEERS_S1_CONNS (19 000) connections on 100 channels, 10 s
# s2big	fan-out: 10 000 subscribers of one channel, 100 msg/s for 5 s
# s3	many channels: 10 000 subscribers on 10 000 channels, 10 000 msg/s
#
# PEERS_RUNS=N repeats the whole sitting N times (default 1); the table
# gives the median.  PEERS_OUT=DIR keeps the JSON (DIR/runN/SERVER-S.json).
# PEERS_SERVERS="gw nchan socketio" (the default) picks the servers.
# Every run is bounded: gw-bench has its own deadlines and runs under
# timeout(1); every server is stopped when the script ends.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build
npmdir=$top/build/npm-peers
run=$(mktemp -d "${TMPDIR:-/tmp}/gw-peers.XXXXXX")
out=${PEERS_OUT:-$run/out}
pids=()
cleanup() {
	stop_all
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_all: SIGTERM every server process started, the last first, wait
# (at most 10 s each), then SIGKILL.
stop_all() {
	local i j p
	for ((j = ${#pids[@]} - 1; j >= 0; j--)); do
		p=${pids[$j]}
		kill -TERM "$p" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL PID: until URL answers (at most 20 s) or PID is gone.
wait_http() {
	local i
	for ((i = 0; i < 200; i++)); do
		curl -sf -o /dev/null --max-time 1 "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "peers.sh: $1 did not answer; logs:" >&2
	tail -n 20 "$run"/*.log >&2
	exit 1
}

# install: nginx with Nchan (apt-get) and Socket.IO (npm), if missing.
install() {
	if [ ! -x /usr/sbin/nginx ] ||
	    [ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
		export DEBIAN_FRONTEND=noninteractive
		timeout 600 apt-get install -y nginx libnginx-mod-nchan ||
		    { timeout 300 apt-get update && timeout 600 apt-get \
		    install -y nginx libnginx-mod-nchan; }
	fi
	if [ ! -d "$npmdir/node_modules/socket.io" ] ||
	    [ ! -d "$npmdir/node_modules/@socket.io/redis-adapter" ] ||
	    [ ! -d "$npmdir/node_modules/redis" ]; then
		mkdir -p "$npmdir"
		timeout 600 npm install --prefix "$npmdir" --no-audit --no-fund \
		    socket.io@4 @socket.io/redis-adapter@8 redis@4
	fi
}

# start_redis: a private redis-server on a free port; sets rport, rpid.
start_redis() {
	rport=$(free_port)
	redis-server --port "$rport" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize no --maxclients 1000 \
	    >"$run/redis.log" 2>&1 &
	rpid=$!
	pids+=("$rpid")
	for ((i = 0; i < 100; i++)); do
		redis-cli -p "$rport" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "peers.sh: redis-server did not start" >&2
	exit 1
}

# start_nchan: Redis, then nginx (two workers) with Nchan on it; sets
# port and spids (nginx's master and workers, and Redis).
start_nchan() {
	local d=$run/nginx
	start_redis
	port=$(free_port)
	rm -rf "$d"
	mkdir -p "$d"
	sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$port|g" \
	    -e "s|@REDIS@|redis://127.0.0.1:$rport|g" \
	    >"$d/nginx.conf" <<'EOF'
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile 20000;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events {
	worker_connections 19000;
}
http {
	access_log off;
	client_body_temp_path @DIR@/body;
	proxy_temp_path @DIR@/proxy;
	fastcgi_temp_path @DIR@/fastcgi;
	uwsgi_temp_path @DIR@/uwsgi;
	scgi_temp_path @DIR@/scgi;
	keepalive_requests 100000000;
	keepalive_timeout 600s;
	upstream peer_redis {
		nchan_redis_server "@REDIS@";
	}
	server {
		listen 127.0.0.1:@PORT@ reuseport;
		location ~ ^/sub/(.+)$ {
			nchan_subscriber websocket;
			nchan_subscriber_first_message newest;
			nchan_channel_id "$1";
			nchan_redis_pass peer_redis;
		}
		location ~ ^/pub/(.+)$ {
			nchan_publisher http;
			nchan_channel_id "$1";
			nchan_redis_pass peer_redis;
		}
		location = /healthz {
			return 200;
		}
	}
}
EOF
	nginx -p "$d" -c "$d/nginx.conf" >"$run/nginx.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port/healthz" "$!"
	spids="$!,$(pgrep -d, -P "$!"),$rpid"
}

# start_sio: Redis, then sio-server.js; sets port and spids.
start_sio() {
	start_redis
	port=$(free_port)
	NODE_PATH=$npmdir/node_modules node "$top/share/bench/peers/sio-server.js" \
	    "$port" "redis://127.0.0.1:$rport" >"$run/sio.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port/healthz" "$!"
	spids="$!,$rpid"
}

# args S: gw-bench's arguments for scenario S (as in gw-bench.sh).
args() {
	case $1 in
	s1)	echo --conns "${PEERS_S1_CONNS:-19000}" --channels 100 \
		    --rate 0 --warmup 0 --duration 10 ;;
	s2big)	echo --conns 10000 --channels 1 --rate 100 --warmup 1 \
		    --duration 5 --drain 20 ;;
	s3)	echo --conns 10000 --channels 10000 --rate 10000 --warmup 1 \
		    --duration 3 --drain 10 ;;
	*)	echo "peers.sh: unknown scenario $1 (s1, s2big, s3)" >&2
		exit 2 ;;
	esac
}

# gw S DIR: gw-bench.sh's scenario S; its JSON to DIR/gw-S.json.
gw() {
	local name
	case $1 in
	s1) name=s1-idle ;; s2big) name=s2-fanout-10k ;;
	s3) name=s3-channels-10k ;;
	esac
	GW_BENCH_S1_CONNS=${PEERS_S1_CONNS:-19000} GW_BENCH_JSON=$run/gwjson \
	    timeout 300 bash "$top/share/bench/gw-bench.sh" "$1" || true
	if [ -f "$run/gwjson/$name.json" ]; then
		mv "$run/gwjson/$name.json" "$2/gw-$1.json"
	fi
}

# peer SERVER S DIR: scenario S against a fresh Nchan or Socket.IO.
peer() {
	local proto=$1 f=$3/$1-$2.json
	case $1 in
	nchan) start_nchan ;;
	socketio) start_sio ;;
	esac
	echo "== $1 $2: gw-bench --proto $proto $(args "$2")"
	# shellcheck disable=SC2046
	timeout 300 "$bin/gw-bench" --proto "$proto" \
	    --url "ws://127.0.0.1:$port/" --server-pids "$spids" --json \
	    $(args "$2") >"$f" || true
	if ! jq -e . "$f" >/dev/null 2>&1; then
		echo "$1 $2: gw-bench failed; logs:"
		tail -n 5 "$run"/*.log "$run"/nginx/error.log 2>/dev/null || true
		rm -f "$f"
	fi
	stop_all
}

install
servers=${PEERS_SERVERS:-gw nchan socketio}
[ $# -gt 0 ] || set -- s1 s2big s3
for s in "$@"; do
	args "$s" >/dev/null
done
echo "peers.sh: nginx $(nginx -v 2>&1 | sed 's|.*/||'), nchan" \
    "$(dpkg-query -W -f '${Version}' libnginx-mod-nchan 2>/dev/null)," \
    "node $(node --version), socket.io" \
    "$(jq -r .version "$npmdir/node_modules/socket.io/package.json")," \
    "redis-adapter" \
    "$(jq -r .version "$npmdir/node_modules/@socket.io/redis-adapter/package.json")," \
    "$(redis-server --version | cut -d' ' -f1-3); load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ${PEERS_RUNS:-1}; r++)); do
	mkdir -p "$out/run$r"
	for s in "$@"; do
		for v in $servers; do
			if [ "$v" = gw ]; then
				gw "$s" "$out/run$r"
			else
				peer "$v" "$s" "$out/run$r"
			fi
		done
	done
	echo "peers.sh: run $r done; load $(cut -d' ' -f1-3 /proc/loadavg)"
done
# shellcheck disable=SC2086
/usr/bin/python3 "$top/share/bench/peers/table.py" "$out" $servers
