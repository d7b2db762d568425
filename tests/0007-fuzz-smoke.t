#!/usr/bin/env bash
# The libFuzzer targets (every tests/fuzz/fuzz_*.c) build, and each runs a
# fixed number of inputs over its seed corpus without a crash, a
# sanitizer report or a broken invariant: a smoke of a few seconds, so
# that they never rot. The long run is 'make fuzz-run' (README, Tests).
# Skipped without clang and libFuzzer (libclang-rt-14-dev on Debian 12),
# and under distcheck.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

src=$(cd "${top_srcdir:-.}" && pwd)
out=$(cd "${top_builddir:-.}" && pwd)/build-fuzz
runs=${AIF_FUZZ_SMOKE_RUNS:-2000}
[ "${AIF_SKIP_LIVE:-0}" = 0 ] || skip_all "AIF_SKIP_LIVE is set (distcheck)"
clang=$(command -v clang || command -v clang-14) ||
	skip_all "clang is not installed"
work=$(mktemp -d /tmp/aif-fuzz-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' >"$work/p.c"
"$clang" -fsanitize=fuzzer,address,undefined -o "$work/p" "$work/p.c" \
	>/dev/null 2>&1 || skip_all "clang's libFuzzer or sanitizer runtime is missing"

run make -s -j2 -f "$src/tests/sanitize.mk" srcdir="$src" out="$out" \
	CLANG="$clang" fuzz
is "$AS_RC" 0 "the fuzz targets build" || { diag "$AS_ERR"; done_testing; }

# A fresh working corpus: the seeds in the tree are never written.
for c in "$src"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$c" .c)
	name=${name#fuzz_}
	run timeout 300 "$src/tests/fuzz/run.sh" -r "$runs" -b "$out" \
		-c "$work/corpus" "$name"
	like "$AS_OUT" "^$name: $runs runs in [0-9]+ s, 0 crashes$" \
		"fuzz_$name: $runs runs over its corpus, no crash" ||
		diag "$AS_OUT" "$AS_ERR"
done
done_testing
