#!/usr/bin/env bash
# kill -9 of slurmctld in the middle of a stream of GPU jobs, then a
# restart: no run is charged twice, every job that completed is charged
# exactly its GPUs x the elapsed time SLURM records for it, and the
# journal's chain is whole.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
export AIF_JOBCOMP=jobcomp/aifactory
cluster_up_example
journal=$AIF_CLUSTER_DIR/state/aifactory/journal

jobs=()
for i in $(seq 12); do
	user=aif-alice; [ $((i % 2)) = 0 ] && user=aif-dave
	proj=acme-ai; [ $user = aif-dave ] && proj=voltwerk
	as_user "$user" sbatch --parsable -A "$proj" -p h100 --gres=gpu:h100:1 -t 10 \
		--wrap "sleep $((1 + i % 3))"
	[ "$AS_RC" = 0 ] && jobs+=("$AS_OUT")
	[ "$i" = 6 ] && { sleep 2; cluster kill9-ctld >/dev/null 2>&1; sleep 1; cluster restart-ctld >/dev/null 2>&1; }
done
diag "jobs: ${jobs[*]}"
ok "a stream of jobs was submitted around the kill" test "${#jobs[@]}" -ge 10

# Every job ends (a job that lost its controller may be requeued once).
for j in "${jobs[@]}"; do
	wait_job_state "$j" "COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL" 120 >/dev/null
done
sleep 32	# one rebuild pass sweeps the finished jobs after the restart

dups=$(grep -o '"run":"[^"]*"' "$journal" | sort | uniq -d | tr '\n' ' ')
is "$dups" "" "no run is charged twice"
bad=0
for j in "${jobs[@]}"; do
	line=$(sacct -n -X -P -j "$j" -o State,ElapsedRaw 2>/dev/null | tail -1)
	[[ $line == COMPLETED* ]] || continue
	secs=${line##*|}
	want="\"elapsed\":$secs,"
	got=$(grep -F "\"run\":\"aif:$j:" "$journal" | grep -F '"type":"charge"' | grep -cF "$want")
	[ "$got" -ge 1 ] || { bad=$((bad + 1)); diag "job $j: sacct $line, journal: $(grep -F "\"run\":\"aif:$j:" "$journal" | grep -o '"elapsed":[0-9]*')"; }
done
is "$bad" 0 "every completed job is charged for the elapsed time SLURM records"
run "$top_builddir/contrib/aifctl" audit verify
is "$AS_RC" 0 "the journal's chain is whole" || diag "$AS_OUT"
done_testing
