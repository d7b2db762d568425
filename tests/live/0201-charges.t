#!/usr/bin/env bash
# jobcomp/aifactory charges what a job really used, once per run, into a
# hash-chained journal under StateSaveLocation that only SlurmUser can
# read: allocated GPUs x elapsed x the type's billing weight, matching
# what sacct says the job used; nothing for a job that never started;
# the charges survive a restart of slurmctld.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
export AIF_JOBCOMP=jobcomp/aifactory
cluster_up_example
journal=$AIF_CLUSTER_DIR/state/aifactory/journal
log=$AIF_CLUSTER_DIR/log/slurmctld.log

elapsed_raw() {
	wait_until 10 "sacct to show job $1 completed" _sacct_completed "$1" || return 1
	echo "${SACCT%%|*}"
}

_sacct_completed() {
	SACCT=$(sacct -n -X -P -j "$1" -o ElapsedRaw,State 2>/dev/null)
	[[ $SACCT =~ ^[0-9]+\|COMPLETED ]]
}

# --- an h100 job: 2 GPUs x elapsed x 1.0
as_user aif-alice sbatch --parsable -A acme-ai -p h100 --gres=gpu:h100:2 -t 10 --wrap 'sleep 3'
is "$AS_RC" 0 "alice submits a 2 x h100 job" || diag "$AS_ERR"
job=$AS_OUT
ok "it completes" wait_job_state "$job" COMPLETED 30
rec=$(journal_record "$job")
ok "its charge is in the journal" test -n "$rec"
secs=$(elapsed_raw "$job")
is "$(journal_field "$rec" elapsed)" "$secs" "the elapsed time is sacct's ($secs s)"
is "$(journal_field "$rec" gpus)" "h100:2" "the GPUs are what was allocated"
is "$(journal_field "$rec" amount)" "$((2 * secs * 1000))" "amount = 2 GPUs x $secs s x weight 1.0 (milli-GPU-seconds)"
is "$(journal_field "$rec" project)/$(journal_field "$rec" class)/$(journal_field "$rec" mode)/$(journal_field "$rec" sector)" \
	"acme-ai/startup/playground/health" "the record names project, class, mode and sector"
like "$(journal_field "$rec" part1)" "^playground-2026=$((2 * secs * 1000))/7200000000/$((7200000000 - 2 * secs * 1000))$" \
	"drawn from grant playground-2026, with the balance before and after"
is "$(journal_field "$rec" uid)/$(journal_field "$rec" state)" "$(id -u aif-alice)/COMPLETED" "who and how it ended"
# alice is a member of acme-ai only through the UNIX group aif-acme, and
# SLURM holds no name for her job (no PrologFlags=Alloc): the records name
# her all the same (issue 8, point 13).
is "$(journal_field "$rec" user)" aif-alice "the charge names the user, a member only through her group"
like "$(grep -F "JobId=$job of aif-alice" "$AIF_CLUSTER_DIR/log/slurmctld.log" | head -1)" \
	"aifactory: JobId=$job of aif-alice \\(uid $(id -u aif-alice)\\): project acme-ai charged [0-9]+\\.[0-9]+ GPU-hours \\(run aif:$job:[0-9]+\\)$" \
	"slurmctld's log names each charge's job, user, project and amount at info level"
dec=$(grep -F '"type":"decision"' "$journal" | grep -F "\"uid\":$(id -u aif-alice)," | head -1)
is "$(journal_field "$dec" user)" aif-alice "so does the admission decision of her job"

# --- an a100 job: charged at 0.5 from the research grant
as_user aif-carol sbatch --parsable -A lab-genomics --gres=gpu:a100:4 -t 10 --wrap 'sleep 2'
job2=$AS_OUT
ok "carol's 4 x a100 job completes" wait_job_state "$job2" COMPLETED 30
rec2=$(journal_record "$job2")
secs2=$(elapsed_raw "$job2")
is "$(journal_field "$rec2" amount)" "$((4 * secs2 * 500))" "amount = 4 GPUs x $secs2 s x weight 0.5"
like "$(journal_field "$rec2" part1)" "^afs-2026=$((4 * secs2 * 500))/" "drawn from grant afs-2026"
is "$(journal_field "$rec2" overdraw)" 0 "no overdraw"

# --- a job that never started costs nothing
as_user aif-alice sbatch --parsable --hold -A acme-ai --gpus=1 --wrap true
held=$AS_OUT
run scancel "$held"
ok "the cancelled job ends" wait_job_state "$held" CANCELLED 30
sleep 1
is "$(grep -c "\"run\":\"aif:$held:" "$journal")" 0 "a job cancelled before it started is not charged"

# --- the journal is SlurmUser's alone, and its chain is whole
is "$(stat -c '%U %a' "$journal")" "slurm 600" "the journal is owned by SlurmUser, mode 600"
as_user aif-alice cat "$journal"
like "$AS_ERR" "Permission denied" "an ordinary user cannot read it"

run "$top_builddir/contrib/aifctl/aifctl" audit verify
is "$AS_RC" 0 "aifctl audit verify finds the journal from 'scontrol show config' and its chain whole" || diag "$AS_OUT $AS_ERR"
like "$AS_OUT" "^$AIF_CLUSTER_DIR/state/aifactory: OK: 5 records, seq 1\.\.5, last hash [0-9a-f]{64}$" \
	"and says how many records it checked: 3 decisions and 2 charges"
like "$(grep -F '"type":"decision"' "$journal" | head -1)" \
	"\"verdict\":\"reshape\",\"rule\":\"reshape\",\"user\":\"aif-alice\",\"uid\":$(id -u aif-alice),\"project\":\"acme-ai\",\"class\":\"startup\",\"gpus\":\"h100:2\"" \
	"each admission decision is in the trail too"

# --- a restart of slurmctld rebuilds the charges from the journal
cluster restart-ctld >/dev/null 2>&1
like "$(grep 'aifactory: journal' "$log" | tail -1)" \
	"2 runs charged in the last 7 days \\(snapshot at seq 5, then 0 records\\)" \
	"after a restart the journal's runs are known again, from the snapshot slurmctld wrote as it stopped"
is "$(grep -c '"type":"charge"' "$journal")" 2 "and nothing was charged twice"
done_testing
