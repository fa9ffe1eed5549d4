#!/bin/sh
# deps.sh -- install the Debian packages gw needs to build, test and run.
# One list, idempotent: only what is missing is installed, and we say what.
# Not root: print the exact apt-get line and stop (exit 1).
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libev-dev libhiredis-dev libwslay-dev libssl-dev libjansson-dev
redis-server python3 python3-websockets bats jq mandoc shellcheck zsh"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
# The Debian package starts a system redis-server on port 6379; the tests
# start their own on private ports and do not need it.
