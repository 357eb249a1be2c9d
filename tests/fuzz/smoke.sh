#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# make fuzz-smoke: runs every libFuzzer target for SECONDS, starting from the
# committed seeds and regression inputs (never writing into the tree), and
# prints executions, coverage (libFuzzer's "cov": edges reached) and corpus
# size per target. A crash, leak, timeout or failed check stops the run with
# the target's output; the input is kept in BUILD/fuzz-artifacts/ (commit it
# to tests/fuzz/regress/TARGET/ with the fix).
#
#   tests/fuzz/smoke.sh BUILD SECONDS [TARGET...]
set -eu
build=$1
secs=$2
shift 2
targets=${*:-fuzz_pkt fuzz_dp fuzz_ctl fuzz_config}
src=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$src/../.." && pwd)
work=$(mktemp -d /tmp/lbd-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$build/fuzz-artifacts"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
export UBSAN_OPTIONS
printf '%-12s %12s %9s %7s %7s\n' target executions exec/s cov corpus
for t in $targets; do
	seeds="$src/corpus/$t"
	[ -d "$src/regress/$t" ] && seeds="$seeds $src/regress/$t"
	[ "$t" = fuzz_config ] && seeds="$seeds $root/config $root/tests/config"
	mkdir "$work/$t"
	# shellcheck disable=SC2086
	if ! "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
		"$work/$t" $seeds > "$work/$t.log" 2>&1; then
		echo "$t: FAILED; input kept in $build/fuzz-artifacts/" >&2
		tail -60 "$work/$t.log" >&2
		exit 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -o 'corp: [0-9]*' "$work/$t.log" | tail -1 | cut -d' ' -f2)
	printf '%-12s %12s %9s %7s %7s\n' "$t" "$execs" "$rate" "$cov" "$corp"
done
