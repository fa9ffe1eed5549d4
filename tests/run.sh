#!/bin/sh
# run.sh -- everything "make test" runs: the build, the unit tests (plain
# and under ASan+UBSan), the fuzzers for a short while (meanwhile the
# bats suites but the daemons' own, with the plain build), and the
# daemons' suites against the ASan+UBSan builds of the three daemons,
# some of them beside the others from the start (see below).  Output is
# streamed as it comes (a background part's once it is done); every
# "ok" and "not ok" TAP line is counted, and the last line is "N passed,
# N failed".  Exit 0 only if nothing failed.
#
# A unit binary (or fuzz script, or bats) that exits non-zero without a
# "not ok" line counts as one failure; a build failure counts as one
# failure and stops the run.
set -u

cd "$(dirname "$0")/.." || exit 2

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
export FUZZ_SECONDS

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-run.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

# count FILE: add FILE's TAP results to the totals; set nf to the number
# of its "not ok" lines.
count() {
	# A skipped test is not a passed one.
	np=$(grep '^ok ' "$1" | grep -vc '# [Ss][Kk][Ii][Pp]')
	nf=$(grep -c '^not ok ' "$1")
	passed=$((passed + np))
	failed=$((failed + nf))
}

# run_tap LABEL CMD...: run CMD, streaming its output (stderr too), and
# count its TAP lines.  A non-zero exit without a "not ok" is one failure.
run_tap() {
	label=$1
	shift
	echo "# $label"
	{ "$@" 2>&1; echo "$?" >"$tmp/rc"; } | tee "$tmp/out"
	rc=$(cat "$tmp/rc")
	count "$tmp/out"
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		echo "not ok - $label exited with status $rc"
		failed=$((failed + 1))
	fi
}

# build LABEL MAKE-ARGS...: a failed build is one failure and the end.
build() {
	label=$1
	shift
	echo "# build: $label"
	if ! make -j"$JOBS" "$@"; then
		echo "not ok - build: $label"
		failed=$((failed + 1))
		summary
	fi
}

start=$(date +%s)

build "make all unit-bins" all unit-bins
build "make B=build-san SAN=1 unit-bins build-san/gw-listen build-san/gw-bridge build-san/gw-presence" \
    B=build-san SAN=1 unit-bins build-san/gw-listen build-san/gw-bridge \
    build-san/gw-presence

for t in build/unit/*_test build-san/unit/*_test; do
	[ -x "$t" ] || continue
	run_tap "$t" "$t"
done
# make check: the plain unit tests again under valgrind, for leaks and
# bad reads that a sanitizer build could hide.
if [ -n "${GW_CHECK_ALL:-}" ]; then
	for t in build/unit/*_test; do
		[ -x "$t" ] || continue
		run_tap "valgrind $t" valgrind -q --error-exitcode=9 \
		    --leak-check=full --errors-for-leak-kinds=definite,indirect \
		    "$t"
	done
fi

# The client library's unit tests (a fake WebSocket and clock).
run_tap "node --test tests/js/" node --test --test-reporter=tap tests/js/

build "make B=build-fuzz SAN=fuzz CC=clang fuzz-bins" \
    B=build-fuzz SAN=fuzz CC=clang fuzz-bins
# The fuzzers (one at a time, one core) run while the plain bats pass
# does (about one core): their output is shown, and counted, after it.
echo "# fuzz ($FUZZ_SECONDS s each): in the background, shown below"
{ sh tests/fuzz/run.sh build-fuzz >"$tmp/fuzz.out" 2>&1
  echo "$?" >"$tmp/fuzz.rc"; } &
fuzz_pid=$!
trap 'kill "$fuzz_pid" 2>/dev/null; exit 130' INT TERM

# A test that hangs is cut after two minutes (it should take seconds).
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-120}
PATH="$(pwd)/build:$PATH"
export PATH BATS_TEST_TIMEOUT
# Every suite but the daemons' own (gw-listen's, gw-bridge's,
# gw-presence's, the resume one) and the fault and abuse ones of a worker
# killed and of the IPC sockets with the plain build; those six against
# the daemons built with ASan+UBSan (the teardown of every test fails on
# a sanitizer report).  They run only there, to keep make test under 10
# minutes; the other suites use the plain daemons.
san_all="tests/bats/2000-gw-listen.bats tests/bats/3000-gw-bridge.bats"
san_all="$san_all tests/bats/4000-gw-presence.bats"
san_all="$san_all tests/bats/5000-resume.bats tests/bats/8200-worker-kill.bats"
san_all="$san_all tests/bats/8300-ipc-abuse.bats"
# The bats suites go in two streams at once (a test mostly waits for its
# processes: one stream keeps a core about 70 % busy): the first runs
# the plain suites, then the sanitized ones but those below, its output
# streamed; the second, in the background from the start, runs these
# four sanitized suites (about half the time of all), its output shown,
# and counted, at the end.  Each test has its own directory, Redis and
# daemons, on ports the kernel gave.  On one core (or with
# BATS_STREAMS=1) they run one after the other.
second="tests/bats/2000-gw-listen.bats tests/bats/4000-gw-presence.bats"
second="$second tests/bats/5000-resume.bats tests/bats/8200-worker-kill.bats"
streams=${BATS_STREAMS:-$JOBS}
sanbin="$(pwd)/build-san"
if [ -n "${GW_CHECK_ALL:-}" ]; then
	# make check: every suite, the CLI and the supervisor sanitized too.
	build "make B=build-san SAN=1 build-san/gw-supervise build-san/gwctl" \
	    B=build-san SAN=1 build-san/gw-supervise build-san/gwctl
	GW_SUPERVISE_BIN="$sanbin/gw-supervise"
	GWCTL_BIN="$sanbin/gwctl"
	export GW_SUPERVISE_BIN GWCTL_BIN
	san_all=$(echo tests/bats/*.bats)
fi
plain=""
san=""
for f in tests/bats/*.bats; do
	case " $second " in
	*" $f "*) continue ;;
	esac
	case " $san_all " in
	*" $f "*) san="$san $f" ;;
	*) plain="$plain $f" ;;
	esac
done
bats2_pid=
if [ "$streams" -ge 2 ]; then
	echo "# bats under ASan+UBSan: $second: in the background," \
	    "shown below"
	# shellcheck disable=SC2086
	GW_LISTEN_BIN="$sanbin/gw-listen" GW_BRIDGE_BIN="$sanbin/gw-bridge" \
	    GW_PRESENCE_BIN="$sanbin/gw-presence" bats --tap $second \
	    >"$tmp/bats2.out" 2>&1 &
	bats2_pid=$!
	trap 'kill "$fuzz_pid" "$bats2_pid" 2>/dev/null; exit 130' INT TERM
else
	san="$san $second"
fi
# shellcheck disable=SC2086
[ -z "$plain" ] || run_tap "bats (plain build)" bats --tap $plain
wait "$fuzz_pid"
echo "# fuzz ($FUZZ_SECONDS s each)"
cat "$tmp/fuzz.out"
count "$tmp/fuzz.out"
rc=$(cat "$tmp/fuzz.rc" 2>/dev/null || echo 1)
if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
	echo "not ok - fuzz exited with status $rc"
	failed=$((failed + 1))
fi
GW_LISTEN_BIN="$sanbin/gw-listen"
GW_BRIDGE_BIN="$sanbin/gw-bridge"
GW_PRESENCE_BIN="$sanbin/gw-presence"
export GW_LISTEN_BIN GW_BRIDGE_BIN GW_PRESENCE_BIN
# shellcheck disable=SC2086
run_tap "bats under ASan+UBSan" bats --tap $san
if [ -n "$bats2_pid" ]; then
	wait "$bats2_pid" && rc=0 || rc=$?
	echo "# bats under ASan+UBSan: $second"
	cat "$tmp/bats2.out"
	count "$tmp/bats2.out"
	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		echo "not ok - bats under ASan+UBSan exited with status $rc"
		failed=$((failed + 1))
	fi
fi

echo "# $(($(date +%s) - start)) s"
summary
