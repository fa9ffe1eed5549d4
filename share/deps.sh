#!/bin/sh
# deps.sh -- install the Debian packages gw needs to build, test and run,
# and the npm packages of the JavaScript tests (into build/npm).
# One list, idempotent: only what is missing is installed, and we say what;
# nothing is printed when everything is there.
# Not root: print the exact apt-get line and stop (exit 1).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

# chromium and chromium-driver: the demo's browser tests (headless);
# strace: a test holds up gw-listen's loop with it.
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libev-dev libhiredis-dev libwslay-dev libssl-dev libjansson-dev
redis-server python3 python3-websockets bats jq mandoc man-db groff-base
shellcheck zsh valgrind cppcheck clang-tidy strace
chromium chromium-driver"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
# Node.js and npm by command, not by package: a machine may have them from
# another packaging of Node.js (whose nodejs bundles npm, and conflicts
# with Debian's npm package).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages:$missing" >&2
		echo "deps.sh: run as root: apt-get update &&" \
		    "apt-get install -y$missing" >&2
		exit 1
	fi
	echo "deps.sh: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
	# The Debian package starts a system redis-server on port 6379; the
	# tests start their own on private ports and do not need it.
fi

# npm packages for the tests (tests/js): playwright-core drives Debian's
# chromium, ws is the WebSocket of the Node.js tests.  In build/npm, so
# that nothing outside build/ changes and "make clean" removes them.
npmdir=$top/build/npm
npmmissing=""
for m in playwright-core ws; do
	[ -f "$npmdir/node_modules/$m/package.json" ] ||
	    npmmissing="$npmmissing $m"
done
if [ -n "$npmmissing" ]; then
	echo "deps.sh: installing npm packages into build/npm:$npmmissing" >&2
	mkdir -p "$npmdir"
	# shellcheck disable=SC2086
	npm install --prefix "$npmdir" --no-audit --no-fund --loglevel=error \
	    $npmmissing >&2
fi
