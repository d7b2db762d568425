#!/usr/bin/env bash
# The throwaway cluster the live tests stand on: four idle nodes with fake
# GPUs, a GPU job run as an ordinary user, accounting through slurmdbd with
# no enforcement (SLURM accepts any account and keeps the QOS asked for, so
# our plugins are the ones deciding), and a tear-down that leaves no daemon.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"

cluster_up

# Every daemon of this cluster, read from its pidfiles while it runs.
cluster_pids() {
	local f
	for f in "$AIF_CLUSTER_DIR"/run/*.pid "$AIF_CLUSTER_DIR/db/mariadbd.pid" \
		"$AIF_CLUSTER_DIR/munge/munged.pid"; do
		[ -f "$f" ] && tr -dc '0-9\n' <"$f"
	done
}

# Gone, or a zombie waiting for init to reap it.
pid_gone() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ]
}

# sacct learns of a job asynchronously: poll it.
sacct_line() {
	wait_until 10 "sacct to show job $1 as $3" _sacct_is "$@"
}

_sacct_is() {
	SACCT=$(sacct -n -X -P -j "$1" -o "$2" 2>/dev/null)
	[[ $SACCT =~ $3 ]]
}

# --- nodes and partitions
idle=$(sinfo -h -N -p all -t idle -o '%N' | sort -u | tr '\n' ' ')
is "$idle" "a1 a2 h1 h2 " "four nodes idle"
like "$(sinfo -h -p h100 -o '%D %G')" '^2 gpu:h100:8\(S:0-1\)$' \
	"partition h100: two nodes with 8 h100 each"
like "$(sinfo -h -p a100 -o '%D %G')" '^2 gpu:a100:4\(S:0-1\)$' \
	"partition a100: two nodes with 4 a100 each"
like "$(scontrol show node h1)" 'CPUTot=32 .*RealMemory=512000' \
	"h1 is declared larger than this machine"

# --- a GPU job as an ordinary user
as_user aif-alice sbatch --parsable --gres=gpu:h100:2 -p h100 \
	--wrap 'echo $CUDA_VISIBLE_DEVICES'
is "$AS_RC" 0 "aif-alice submits a job asking for 2 h100" || diag "$AS_ERR"
job=$AS_OUT
ok "the job completes" wait_job_state "$job" COMPLETED 30
like "$(job_field "$job" UserId)" '^aif-alice\(' "it ran as aif-alice"
like "$(cat "$AIF_SCRATCH/slurm-$job.out" 2>/dev/null)" '^[0-9]+,[0-9]+$' \
	"it saw two devices in CUDA_VISIBLE_DEVICES"
ok "sacct sees it completed, with its user" \
	sacct_line "$job" JobID,State,User "^$job\|COMPLETED\|aif-alice$"
ok "sacct counts its 2 GPUs" sacct_line "$job" AllocTRES 'gres/gpu=2'

# --- accounting without enforcement
as_user aif-bob sbatch --parsable --hold --qos=startup -A no-such-account \
	--wrap true
is "$AS_RC" 0 "an unknown account is accepted" || diag "$AS_ERR"
job=$AS_OUT
is "$(job_field "$job" QOS)" startup "the job keeps the QOS it asked for"
is "$(job_field "$job" Account)" no-such-account "and its account"
as_user aif-bob scontrol update job "$job" AdminComment=mine
ok "a user cannot set AdminComment" test "$AS_RC" != 0
run scontrol update job "$job" AdminComment="set by root"
is "$AS_RC" 0 "root sets AdminComment" || diag "$AS_ERR"
is "$(job_field "$job" AdminComment)" "set by root" "scontrol shows it"
run scontrol release "$job"
ok "the job runs once released" wait_job_state "$job" COMPLETED 30
# slurmdbd gets the admin comment with the job's end record, not before.
ok "sacct shows the AdminComment" \
	sacct_line "$job" QOS,Account,AdminComment '^startup\|no-such-account\|set by root$'

as_user aif-bob sbatch --parsable --hold --qos=no-such-qos --wrap true
is "$AS_RC" 0 "an unknown QOS is accepted too" || diag "$AS_ERR"
# 24.11 shows the name the job asked for; 22.05 shows none.
if slurm_at_least 24.11; then want=no-such-qos; else want=; fi
is "$(job_field "$AS_OUT" QOS)" "$want" "and the job's QOS is '$want'"

# --- tear-down
mapfile -t pids < <(cluster_pids)
is "${#pids[@]}" 8 "eight daemons: slurmctld, 4 slurmd, slurmdbd, mariadbd, munged"
ok "stop succeeds" cluster stop
left=()
for pid in "${pids[@]}"; do
	pid_gone "$pid" || left+=("$pid")
done
is "${left[*]}" "" "no daemon of this cluster is left"
ok "stop again is harmless" cluster stop

done_testing
