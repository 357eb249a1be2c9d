#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Line and branch coverage of what a corpus reaches, per target: builds the
# replayers with clang's source-based coverage in BUILD (outside the tree is
# fine), replays CORPUS_ROOT/TARGET for each target, and prints llvm-cov's
# summary for the library files the target is about.
#
#   tests/fuzz/coverage.sh BUILD CORPUS_ROOT [TARGET...]
# e.g. tests/fuzz/coverage.sh /tmp/lbd-cov /tmp/fuzz-corpus fuzz_dp
set -eu
build=$1
corpus=$2
shift 2
targets=${*:-fuzz_pkt fuzz_dp fuzz_ctl fuzz_config}
root=$(cd "$(dirname "$0")/../.." && pwd)
cov=$(command -v llvm-cov-14 || command -v llvm-cov)
prof=$(command -v llvm-profdata-14 || command -v llvm-profdata)
[ -f "$build/build.ninja" ] || CC=clang meson setup "$build" "$root" -Ddpdk=disabled \
	-Dc_args="-fprofile-instr-generate -fcoverage-mapping" \
	-Dc_link_args=-fprofile-instr-generate > /dev/null
for t in $targets; do
	ninja -C "$build" "tests/fuzz/$t" > /dev/null
	case $t in
	fuzz_pkt) files="lib/pkt/lb_pkt.c lib/pkt/lb_csum.c" ;;
	fuzz_dp) files="lib/dp/lb_dp.c lib/dp/lb_dp_guard.c lib/flow/lb_flow.c lib/snat/lb_snat.c" ;;
	fuzz_ctl) files="lib/ctl/lb_ctl.c" ;;
	fuzz_config) files="$(cd "$root" && ls lib/config/*.c) lib/snap/lb_snap.c" ;;
	esac
	rm -f "$build/$t.profraw"
	LLVM_PROFILE_FILE="$build/$t.profraw" "$build/tests/fuzz/$t" "$corpus/$t" > /dev/null
	"$prof" merge -o "$build/$t.profdata" "$build/$t.profraw"
	echo "== $t ($(ls "$corpus/$t" | wc -l) inputs)"
	# shellcheck disable=SC2086
	(cd "$root" && "$cov" report "$build/tests/fuzz/$t" -instr-profile="$build/$t.profdata" \
		$files) | sed -n '1p;/^lib\//p;/^TOTAL/p'
done
