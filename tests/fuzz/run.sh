#!/bin/sh
# run.sh -- run every libFuzzer target of a build for a while, as TAP.
#
# usage: sh tests/fuzz/run.sh BUILDDIR
#
# Each BUILDDIR/fuzz/*_fuzz binary runs for $FUZZ_SECONDS seconds (default
# 15).  Its seed corpus tests/fuzz/corpus/<name>/ is copied to a temporary
# directory that serves as the working corpus, and is also passed as a
# second, read-only corpus, so the tree is never written to.  If a target
# fails, its temporary directory (crash artifact and log) is kept and its
# path printed; otherwise it is removed.  Exit status: 0 if every target
# ran clean, 1 if one failed, 2 on a usage error.

set -u

usage() {
	echo "usage: sh $0 BUILDDIR" >&2
	exit 2
}

[ $# -eq 1 ] || usage
build=$1
secs=${FUZZ_SECONDS:-15}
case $secs in
''|*[!0-9]*|0)
	echo "$0: FUZZ_SECONDS must be a positive integer, not '$secs'" >&2
	exit 2
	;;
esac
[ -d "$build" ] || { echo "$0: $build: no such directory" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd) || exit 2

n=0
failed=0
pid=
tmp=
keep=0

cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
	fi
	if [ -n "$tmp" ] && [ "$keep" -eq 0 ]; then
		rm -rf "$tmp"
	fi
	tmp=
}

trap 'cleanup' EXIT
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

for bin in "$build"/fuzz/*_fuzz; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		continue
	fi
	name=${bin##*/}
	n=$((n + 1))
	keep=0
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-fuzz-$name.XXXXXX") || exit 1
	mkdir "$tmp/corpus" || exit 1

	seed=$here/corpus/$name
	set -- "$tmp/corpus"
	if [ -d "$seed" ]; then
		for f in "$seed"/*; do
			[ -f "$f" ] && cp "$f" "$tmp/corpus/"
		done
		set -- "$@" "$seed"
	fi
	[ -f "$here/$name.dict" ] && set -- -dict="$here/$name.dict" "$@"

	start=$(date +%s)
	# In the background, so that a signal to this script reaches the trap
	# (and the fuzzer is stopped) without waiting for the fuzzer to end.
	"$bin" -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
	    -artifact_prefix="$tmp/" "$@" >"$tmp/log" 2>&1 &
	pid=$!
	wait "$pid"
	rc=$?
	pid=
	end=$(date +%s)

	art=
	for a in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
		if [ -f "$a" ]; then
			art=$a
			break
		fi
	done

	if [ "$rc" -eq 0 ] && [ -z "$art" ]; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$tmp/log" | tail -n 1)
		echo "ok $n - fuzz $name ($((end - start))s, ${execs:-?} runs)"
		cleanup
		continue
	fi

	failed=$((failed + 1))
	keep=1
	rm -rf "$tmp/corpus"
	if [ -n "$art" ]; then
		kind=${art##*/}
		kind=${kind%%-*}
		echo "not ok $n - fuzz $name: $kind, artifact at $art"
	else
		echo "not ok $n - fuzz $name: exit status $rc, log at $tmp/log"
	fi
	echo "# log: $tmp/log"
	tail -n 25 "$tmp/log" | sed 's/^/#   /'
	tmp=
done

if [ "$n" -eq 0 ]; then
	echo "not ok 1 - no *_fuzz binaries in $build/fuzz (make fuzz-bins)"
	echo "1..1"
	exit 1
fi
echo "1..$n"
[ "$failed" -eq 0 ]
