#!/usr/bin/env bash
# kill -9 of slurmctld in the middle of a stream of GPU jobs, then a
# restart: no run is charged twice, every run of a job SLURM kept that
# SLURM shows ended (or that reached jobcomp before the crash) is charged
# exactly once, for the elapsed time SLURM records, and the journal's
# chain is whole.
#
# SLURM itself loses the jobs submitted after its last state save (it
# saves at most every 5 s, docs/slurm.md) and gives their
# ids to new jobs; a node still running a lost job refuses the new job
# with its id ("Duplicate jobid", node drained, job requeued and held),
# and a job saved as pending that had already run is launched again and
# held the same way. Each job carries its submission number in its name
# (k9-N): a job whose id SLURM no longer knows, or knows under another
# name, is SLURM's loss, and neither waited on nor asserted (its charge,
# if jobcomp saw it end, still counts in "no run is charged twice"); a
# run SLURM requeued is not waited for. Four jobs that SLURM saved while
# they ran must be charged. All jobs are waited on together against one
# deadline.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
export AIF_JOBCOMP=jobcomp/aifactory
cluster_up_example
journal=$AIF_CLUSTER_DIR/state/aifactory/journal
ended_states='COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED'

declare -A id_of	# submission number -> job id sbatch gave
# submit N SECONDS: job k9-N, one h100 for SECONDS, alice's or dave's.
submit() {
	local user=aif-alice proj=acme-ai
	[ $(($1 % 2)) = 0 ] && { user=aif-dave; proj=voltwerk; }
	as_user "$user" sbatch --parsable --job-name="k9-$1" -A "$proj" -p h100 \
		--gres=gpu:h100:1 -t 10 --wrap "sleep $2"
	[ "$AS_RC" = 0 ] && id_of[$1]=$AS_OUT
}

_running() {
	local i
	for i in "$@"; do
		[ "$(job_field "${id_of[$i]:-x}" JobState)" = RUNNING ] || return 1
	done
}

# _saved_after TIME: slurmctld's job state file was written after TIME
# (EPOCHREALTIME).
_saved_after() {
	local written
	written=$(date -d "$(stat -c %y "$AIF_CLUSTER_DIR/state/job_state" 2>/dev/null)" +%s.%N 2>/dev/null) ||
		return 1
	awk -v w="$written" -v t="${1/,/.}" 'BEGIN { exit !(w > t) }'
}

# Four jobs SLURM surely keeps: running, and in a state save before the
# crash (any change, here a held job, is saved within 5 s). They end
# around the restart, while slurmctld is down or just after.
for i in 1 2 3 4; do submit "$i" 12; done
ok "k9-1..4 run" wait_until 30 "k9-1..4 to run" _running 1 2 3 4
seen=$EPOCHREALTIME
as_user aif-alice sbatch --parsable --hold --job-name=k9-held -A acme-ai -p h100 \
	--gres=gpu:h100:1 -t 10 --wrap true
ok "slurmctld saves its state with them running" \
	wait_until 20 "a state save" _saved_after "$seen"
# Then a stream around the kill: SLURM may lose 5 and 6 (no save since).
for i in 5 6; do submit "$i" $((1 + i % 3)); done
sleep 2
cluster kill9-ctld >/dev/null 2>&1
sleep 1
cluster restart-ctld >/dev/null 2>&1
restarted=$EPOCHSECONDS
for i in $(seq 7 12); do submit "$i" $((1 + i % 3)); done
diag "jobs: $(for i in $(seq 12); do printf 'k9-%s=%s ' "$i" "${id_of[$i]:-none}"; done)"
ok "a stream of jobs was submitted around the kill" test "${#id_of[@]}" -ge 10

# _read_jobs: what slurmctld knows now, one scontrol call for all jobs:
# NAME_OF, STATE_OF, START_OF (epoch), RUN_OF (seconds), RESTARTS_OF and
# REASON_OF by job id.
_read_jobs() {
	local line id n=0
	declare -gA NAME_OF=() STATE_OF=() START_OF=() RUN_OF=() RESTARTS_OF=() REASON_OF=()
	while IFS= read -r line; do
		[[ $line =~ (^| )JobId=([0-9]+)\  ]] || continue
		id=${BASH_REMATCH[2]}
		n=$((n + 1))
		[[ $line =~ \ JobName=([^ ]*) ]] && NAME_OF[$id]=${BASH_REMATCH[1]}
		[[ $line =~ \ JobState=([^ ]*) ]] && STATE_OF[$id]=${BASH_REMATCH[1]}
		[[ $line =~ \ Reason=([^ ]*) ]] && REASON_OF[$id]=${BASH_REMATCH[1]}
		[[ $line =~ \ Restarts=([0-9]+) ]] && RESTARTS_OF[$id]=${BASH_REMATCH[1]}
		START_OF[$id]=0
		[[ $line =~ \ StartTime=([0-9T:-]+)\  ]] &&
			START_OF[$id]=$(date -d "${BASH_REMATCH[1]}" +%s 2>/dev/null || echo 0)
		[[ $line =~ \ RunTime=(([0-9]+)-)?([0-9]+):([0-9]+):([0-9]+)\  ]] &&
			RUN_OF[$id]=$(( ${BASH_REMATCH[2]:-0} * 86400 + 10#${BASH_REMATCH[3]} * 3600 +
				10#${BASH_REMATCH[4]} * 60 + 10#${BASH_REMATCH[5]} ))
	done < <(scontrol show job -o 2>/dev/null)
	[ "$n" -gt 0 ] # a controller that does not answer lists nothing
}

# _charges JOB START: the journal's charge records of that run.
_charges() {
	grep -F "\"type\":\"charge\",\"run\":\"aif:$1:$2\"" "$journal" 2>/dev/null
}

# _verdict N: what became of submission N, as far as the product is
# concerned (sets VERDICT):
#   lost      after the restart, SLURM no longer knew its id, or knew it
#             as another job
#   requeued  SLURM ended its run and requeued it (a failed launch on a
#             node still running a lost job with its id, or the purge of a
#             job whose end the crash lost): the run that ended is charged
#             through the journal's run keys, the rerun is not waited for
#   charged   SLURM shows it ended, or running while the journal has the
#             charge of that very run (it ended before the crash and only
#             SLURM's state lost that): charged
#   waiting   none of these yet
_verdict() {
	local id=${id_of[$1]}
	if [ -n "${lost[$1]:-}" ]; then
		VERDICT=lost
	elif [[ ${STATE_OF[$id]:-} =~ ^($ended_states)$ ]]; then
		VERDICT=waiting
		_charges "$id" "${START_OF[$id]}" >/dev/null && VERDICT=charged
	elif [ "${STATE_OF[$id]:-}" = PENDING ] && [ "${RESTARTS_OF[$id]:-0}" -gt 0 ]; then
		VERDICT=requeued
	elif [ "${START_OF[$id]:-0}" != 0 ] && _charges "$id" "${START_OF[$id]}" >/dev/null; then
		VERDICT=charged
	else
		VERDICT=waiting
	fi
}

_all_settled() {
	local i
	_read_jobs || return 1
	for i in "${!id_of[@]}"; do
		_verdict "$i"
		[ "$VERDICT" != waiting ] || return 1
	done
}

# Which jobs SLURM lost is known once it runs again (lost ids are reused
# by then, or unknown). A controller that lists nothing loses nothing:
# every job is then waited for, and the test fails.
declare -A lost
if ok "slurmctld lists its jobs after the restart" \
	wait_until 30 "slurmctld to list its jobs" _read_jobs; then
	for i in "${!id_of[@]}"; do
		[ "${NAME_OF[${id_of[$i]}]:-}" = "k9-$i" ] || lost[$i]=1
	done
fi

# Jobs sleep 12 s (k9-1..4) or 1-3 s; one that ended while slurmctld was
# down reports its end within 15 s of the restart (slurmstepd's retry);
# jobcomp's sweep runs 2 s after the restart and every 30 s.
ok "every job SLURM kept ends and is charged, all within one deadline" \
	wait_until 150 "the jobs SLURM kept" _all_settled
# Two sweeps after the restart: neither may charge a run again.
left=$((restarted + 33 - EPOCHSECONDS))
[ "$left" -le 0 ] || sleep "$left"
_read_jobs

dups=$(grep -o '"run":"[^"]*"' "$journal" | sort | uniq -d | tr '\n' ' ')
is "$dups" "" "no run is charged twice"

bad=0
for i in $(printf '%s\n' "${!id_of[@]}" | sort -n); do
	id=${id_of[$i]}
	_verdict "$i"
	diag "k9-$i: job $id, $VERDICT; SLURM: ${NAME_OF[$id]:-(unknown)} ${STATE_OF[$id]:-} (${REASON_OF[$id]:-}) restarts ${RESTARTS_OF[$id]:-}"
	[[ $VERDICT = charged && ${STATE_OF[$id]:-} = COMPLETED ]] || continue
	records=$(_charges "$id" "${START_OF[$id]}")
	n=$(grep -c . <<<"$records")
	got=$(grep -o '"elapsed":[0-9]*' <<<"$records" | tr '\n' ' ')
	if [ "$n" != 1 ] || [ "$got" != "\"elapsed\":${RUN_OF[$id]:-?} " ]; then
		bad=$((bad + 1))
		diag "job $id: SLURM ran it ${RUN_OF[$id]:-?} s from ${START_OF[$id]}; its charges: ${got:-none}"
	fi
done
is "$bad" 0 "every completed job SLURM kept is charged once, for the elapsed time SLURM records"
saved=0
for i in 1 2 3 4; do
	_verdict "$i"
	[ "$VERDICT" = charged ] && saved=$((saved + 1))
done
is "$saved" 4 "the four jobs SLURM had saved running are charged"
run "$top_builddir/contrib/aifctl/aifctl" audit verify
is "$AS_RC" 0 "the journal's chain is whole" || diag "$AS_OUT"
done_testing
