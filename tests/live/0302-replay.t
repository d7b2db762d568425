#!/usr/bin/env bash
# The replay tool on a short synthetic trace: the same jobs replayed at
# once on a cluster with slurm-aifactory and on stock SLURM, as the test
# users; the report gives each class's share of GPU time against its
# target, per window too, GPU utilisation and waits by job size, as a
# table, CSV and a PNG chart; ours's journal charged what sacct says ran.
# (The real trace is a documented command: README, Replay.)
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites
command -v gnuplot >/dev/null || skip_all "gnuplot is not installed"
live_budget 300

work=$(mktemp -d /tmp/aif-replay-test.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
# 12 jobs, one every 2 s, of 1 to 16 GPUs for 4 to 9 s, from 12 users.
awk 'BEGIN {
	print "job_id,submit_s,user,gpus,nodes,duration_s,final_state"
	split("1 1 2 4 8 1 16 2 8 1 4 1", g, " ")
	for (i = 1; i <= 12; i++)
		printf "%d,%d,vu%03d,%d,%d,%d,COMPLETED\n", 100 + i, 2 * (i - 1),
			i * 7 % 12, g[i], (g[i] > 8 ? 2 : 1), 4 + i % 6
}' >"$work/trace.csv"

replay=$top_srcdir/contrib/replay/replay.sh
run "$replay" plan "$work/trace.csv" --compress 2
is "$AS_RC" 0 "plan: the trace read" || diag "$AS_ERR"
like "$AS_OUT" $'\n1,101,0\\.0,vu007,aif-carol,research-1,research,1,1,1,3,1,COMPLETED\n' \
	"plan: user 7 is research (7 mod 10), project research-1 (7 mod 3), aif-carol, time halved"
like "$AS_OUT" $'\n7,107,6\\.0,vu001,aif-alice,startup-1,startup,16,2,8,3,1,COMPLETED\n' \
	"plan: 16 GPUs on two nodes of 8"

AIF_BUILD_DIR=$top_builddir run "$replay" compare "$work/trace.csv" "$work/out"
is "$AS_RC" 0 "compare: both clusters ran every job" || diag "$AS_OUT" "$AS_ERR"
out=$work/out
like "$AS_OUT" 'share startup +[0-9.]+% +[0-9.]+% +\(target 30%\)' "the table: startup's share, ours and stock's"
like "$AS_OUT" 'share research +[0-9.]+% +[0-9.]+% +\(target 50%\)' "research's"
like "$AS_OUT" 'GPU utilisation +[0-9.]+% +[0-9.]+%' "utilisation"
like "$AS_OUT" 'jobs ended +12 +12' "every job ended on both"
like "$AS_OUT" 'mean wait, 8 GPU +[0-9.]+s +[0-9.]+s' "waits by size"
is "$(awk -F, 'NR > 1 { n++; s += $4 } END { printf "%d %.2f", n, s }' "$out/ours-classes.csv")" \
	"3 1.00" "CSV: three classes whose shares add up to 1"
is "$(awk -F, 'NR > 1 { print $1 }' "$out/stock-waits.csv" | tr '\n' ' ')" "1 2-4 8 >8 " \
	"CSV: waits in the four size buckets"
is "$(awk -F, 'NR > 1' "$out/ours-windows.csv" | wc -l)" 30 "CSV: ten windows of three classes"
is "$(head -c 4 "$out/shares.png" | od -An -c | tr -d ' ')" '211PNG' "a PNG chart"
# What the journal charged is what ran (GPU-hours, two decimals; aifctl
# report gives its rows the cents of their total, each within a cent).
ok "the journal charged each class what sacct says it ran" \
	awk -F, 'FNR == 1 { next } FILENAME ~ /journal/ { j[$1] = $3; next }
		{ d = $3 / 3600 - j[$1]; if (d >= 0.01 || d <= -0.01) bad = 1 }
		END { exit bad }' "$out/ours-journal.csv" "$out/ours-classes.csv" ||
	diag "$(cat "$out/ours-journal.csv" "$out/ours-classes.csv")"
done_testing
