#!/usr/bin/env bash
# The unit tests again, built with clang's AddressSanitizer and
# UndefinedBehaviorSanitizer (LeakSanitizer on too): every
# tests/unit/test_*.c with the whole library, in build-sanitize/ of the
# build tree (tests/sanitize.mk). A sanitizer report fails, even when the
# test's own TAP says ok. Skipped without clang and its runtime
# (libclang-rt-14-dev on Debian 12), and under distcheck.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

src=$(cd "${top_srcdir:-.}" && pwd)
out=$(cd "${top_builddir:-.}" && pwd)/build-sanitize
[ "${AIF_SKIP_LIVE:-0}" = 0 ] || skip_all "AIF_SKIP_LIVE is set (distcheck)"
clang=$(command -v clang || command -v clang-14) ||
	skip_all "clang is not installed"
probe=$(mktemp -d /tmp/aif-san.XXXXXX)
trap 'rm -rf "$probe"' EXIT
echo 'int main(void) { return 0; }' >"$probe/p.c"
"$clang" -fsanitize=address,undefined -o "$probe/p" "$probe/p.c" \
	>/dev/null 2>&1 || skip_all "clang's sanitizer runtime is missing"

run make -s -j2 -f "$src/tests/sanitize.mk" srcdir="$src" out="$out" \
	CLANG="$clang" unit
is "$AS_RC" 0 "the unit tests build with -fsanitize=address,undefined" ||
	{ diag "$AS_ERR"; done_testing; }

# halt_on_error: the first report ends the test with a failure;
# abort_on_error=0 so that a report does not leave a core dump.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for c in "$src"/tests/unit/test_*.c; do
	name=$(basename "$c" .c)
	log=$out/unit/$name.log
	timeout 600 "$out/unit/$name" >"$log" 2>&1
	rc=$?
	report=$(grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log")
	if [ "$rc" = 0 ] && [ -z "$report" ]; then
		_tap_result 1 "$name passes with no sanitizer report"
	else
		_tap_result 0 "$name passes with no sanitizer report (exit $rc)"
		diag "$report"
		grep -E '^not ok|^    #[0-9]+ ' "$log" | head -20 |
			while IFS= read -r l; do diag "$l"; done
		diag "whole output: $log"
	fi
done
done_testing
