#!/usr/bin/env bash
# Run the libFuzzer targets built by 'make fuzz' (tests/sanitize.mk):
#
#   tests/fuzz/run.sh [-r RUNS | -t SECONDS] [-b BUILD] [-c CORPUS] [NAME...]
#
# Each target fuzz_NAME (every one built, or the NAMEs given) runs for RUNS
# inputs or SECONDS, over its seeds (tests/fuzz/corpus/NAME, never written)
# and a working corpus CORPUS/NAME that keeps what it finds (default
# BUILD/corpus; BUILD defaults to build-fuzz), libFuzzer's output in
# CORPUS/NAME.log. A crash leaves its input in BUILD/crashes/NAME/. One
# line per target:
#   NAME: N runs in S s, C crashes
# and the exit status is 1 if any target crashed (or did not run).
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=build-fuzz corpus= limit=(-max_total_time=300)
while getopts r:t:b:c: opt; do
	case $opt in
	r) limit=(-runs="$OPTARG") ;;
	t) limit=(-max_total_time="$OPTARG") ;;
	b) build=$OPTARG ;;
	c) corpus=$OPTARG ;;
	*) sed -n '2,13s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
corpus=${corpus:-$build/corpus}
names=("$@")
if [ ${#names[@]} = 0 ]; then
	for b in "$build"/fuzz/fuzz_*; do
		case $b in *.d) continue ;; esac
		[ -x "$b" ] && names+=("$(basename "$b" | sed 's/^fuzz_//')")
	done
fi
[ ${#names[@]} -gt 0 ] || { echo "run.sh: no target in $build/fuzz (make fuzz)" >&2; exit 2; }

status=0
for n in "${names[@]}"; do
	bin=$build/fuzz/fuzz_$n
	mkdir -p "$corpus/$n" "$build/crashes/$n"
	seeds=()
	[ -d "$src/tests/fuzz/corpus/$n" ] && seeds=("$src/tests/fuzz/corpus/$n")
	log=$corpus/$n.log
	before=$(find "$build/crashes/$n" -type f | wc -l)
	# -seed=1: the same runs every time; the working corpus comes first
	# (libFuzzer writes new inputs there), the seeds after it.
	"$bin" -seed=1 "${limit[@]}" -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$n/" \
		"$corpus/$n" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	crashes=$(($(find "$build/crashes/$n" -type f | wc -l) - before))
	[ "$rc" = 0 ] || [ "$crashes" != 0 ] || crashes=1
	echo "$n: ${runs:-?} runs in ${secs:-?} s, $crashes crashes"
	if [ "$rc" != 0 ]; then
		status=1
		grep -m 3 -E 'ERROR|invariant|runtime error|SUMMARY' "$log" | sed 's/^/  /'
		echo "  log: $log"
	fi
done
exit $status
