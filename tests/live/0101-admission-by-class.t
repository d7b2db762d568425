#!/usr/bin/env bash
# job_submit/aifactory in a real slurmctld, with the example policy:
# ordinary users submit with sbatch and srun and see their job accepted,
# reshaped (project, partition, QOS, time filled in, tag in AdminComment)
# or refused with the exact message; job_modify keeps a user's job inside
# its project and class, while root may change anything.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"

cluster_up_example

# As at a real centre, every project is also an account in slurmdbd that
# may use its class's QOS, with its members' associations (SLURM keeps the
# accounts; our policy decides).
run sacctmgr -i add account acme-ai,robotix qos=startup
run sacctmgr -i add account voltwerk,oldco qos=sme,fallback
run sacctmgr -i add account lab-genomics qos=research
run sacctmgr -i add user aif-alice,aif-bob account=acme-ai
run sacctmgr -i add user aif-alice account=voltwerk	# for root's move below
run sacctmgr -i add user aif-dave account=voltwerk,oldco
run sacctmgr -i add user aif-carol account=lab-genomics
run sacctmgr -i add user aif-erin account=lab-genomics,robotix
is "$AS_RC" 0 "projects and members are in slurmdbd" || diag "$AS_ERR"

field() { job_field "$1" "$2"; }
refused_with() {	# refused_with NAME RC-REGEX TEXT: the last as_user was refused
	like "$AS_RC" "$2" "$1: sbatch exits non-zero"
	is "$AS_ERR" "$3" "$1: the exact message"
}

# --- accepted as is: everything given and allowed
as_user aif-alice sbatch --parsable --hold -A acme-ai -p h100 --qos=startup \
	-t 1:00:00 --gres=gpu:h100:2 --wrap true
is "$AS_RC" 0 "alice: a job within her class is accepted" || diag "$AS_ERR"
alice_job=$AS_OUT
is "$(field "$alice_job" Account)" acme-ai "alice: account kept"
is "$(field "$alice_job" Partition)" h100 "alice: partition kept"
is "$(field "$alice_job" QOS)" startup "alice: QOS kept"
is "$(field "$alice_job" TimeLimit)" 01:00:00 "alice: time limit kept"
is "$(field "$alice_job" AdminComment)" \
	"aif:class=startup,project=acme-ai,mode=playground,sector=health,lien=playground-2026:7200000,rate=h100:1000" \
	"alice: the job is tagged with class, project, mode, sector and its lien (2 GPUs x 1 h x 1.0)"

# --- reshaped: dave gives nothing; his one open project is voltwerk (sme)
as_user aif-dave sbatch --parsable --hold --gpus=4 --wrap true
is "$AS_RC" 0 "dave: a job with no -A is accepted" || diag "$AS_ERR"
dave_job=$AS_OUT
is "$(field "$dave_job" Account)" voltwerk "dave: his only open project is set"
is "$(field "$dave_job" Partition)" h100 "dave: the class's default partition"
is "$(field "$dave_job" QOS)" sme "dave: the class's QOS"
is "$(field "$dave_job" TimeLimit)" 2-00:00:00 "dave: the class's default time"
is "$(field "$dave_job" AdminComment)" \
	"aif:class=sme,project=voltwerk,mode=fast-lane,sector=energy,lien=fast-lane-1:691200000,rate=h100:1000" \
	"dave: tagged; an untyped request is reserved at the costliest type (4 x 48 h x 1.0)"

# --- refused, each with the rule, the numbers and the fix
as_user aif-carol sbatch -A lab-genomics -N 4 --gres=gpu:h100:4 --wrap true
refused_with "carol: research class, 4 nodes of h100" '^[1-9]' \
"sbatch: error: aifactory: project lab-genomics (class research) allows at most 2 nodes per job and this job asks for 4 (classes.research.max_nodes_per_job). Use -N 2.
sbatch: error: aifactory: project lab-genomics (class research) allows at most 8 GPUs per job and this job asks for 16 (classes.research.max_gpus_per_job). Ask for 8 or fewer.
sbatch: error: aifactory: project lab-genomics (class research) may use GPU type a100, not h100 (classes.research.gpu_types). Use --gres=gpu:a100:N.
sbatch: error: Batch job submission failed: Node count specification invalid"
carol_err=$AS_ERR
is "$(awk '/^\$ sbatch -A lab-genomics -N 4 --gres=gpu:h100:4 job.sh$/ { f = 1; next } f && /^```/ { exit } f' "$top_srcdir/README.md")" \
	"$carol_err" "the README shows exactly what sbatch printed"
like "$(grep -F "a job of uid $(id -u aif-carol) refused at submit" "$AIF_CLUSTER_DIR/log/slurmctld.log" | tail -1)" \
	"job_submit/aifactory: a job of uid $(id -u aif-carol) refused at submit: aifactory: project lab-genomics \\(class research\\) allows at most 2 nodes per job" \
	"slurmctld's log has the refusal at info level, with the user's uid"

as_user aif-erin sbatch --gpus=1 --wrap true
refused_with "erin: two open projects and no -A" '^[1-9]' \
"sbatch: error: aifactory: you are a member of several projects (lab-genomics, robotix). Choose one with -A <project>.
sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"

as_user aif-alice sbatch -A nosuch --gpus=1 --wrap true
refused_with "alice: a project that does not exist" '^[1-9]' \
"sbatch: error: aifactory: project 'nosuch' does not exist. Your projects: acme-ai; submit with -A <project>.
sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"

as_user aif-bob sbatch -A voltwerk --gpus=1 --wrap true
refused_with "bob: a project he is not a member of" '^[1-9]' \
"sbatch: error: aifactory: you are not a member of project voltwerk. Your projects: acme-ai; submit with -A <project>.
sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"

as_user aif-dave sbatch -A oldco --gpus=1 --wrap true
refused_with "dave: an expired project" '^[1-9]' \
"sbatch: error: aifactory: project oldco ended on 2025-12-31 (projects.oldco.valid_until). Ask your centre to extend it, or use another project.
sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"

as_user aif-alice sbatch -A acme-ai -t 2-00:00:00 --gpus=1 --wrap true
refused_with "alice: longer than her class allows" '^[1-9]' \
"sbatch: error: aifactory: project acme-ai (class startup) allows at most 1-00:00:00 per job and this job asks for 2-00:00:00 (classes.startup.max_time). Use -t 1-00:00:00 or less.
sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)"

as_user aif-bob sbatch -A acme-ai -p all --gpus=1 --wrap true
refused_with "bob: a partition his class may not use" '^[1-9]' \
"sbatch: error: aifactory: project acme-ai (class startup) may use partitions a100, h100, not 'all' (classes.startup.partitions). Use -p a100.
sbatch: error: Batch job submission failed: Invalid partition name specified"

as_user aif-bob sbatch -A acme-ai --qos=research --gpus=1 --wrap true
refused_with "bob: a QOS his class may not use" '^[1-9]' \
"sbatch: error: aifactory: project acme-ai (class startup) may not use QOS 'research' (classes.startup.allowed_qos). Use one of: startup, or leave --qos out.
sbatch: error: Batch job submission failed: Invalid qos specification"

as_user aif-bob sbatch -A acme-ai --wrap true
refused_with "bob: no GPU in a GPU-only class" '^[1-9]' \
"sbatch: error: aifactory: project acme-ai (class startup) runs GPU jobs only and this job asks for no GPU (classes.startup.require_gpus). Add --gpus=N or --gres=gpu:N.
sbatch: error: Batch job submission failed: Invalid generic resource (gres) specification"

# Ways around the limits that SLURM's own options open, closed.
as_user aif-alice sbatch -A acme-ai -N 1-4 --gres=gpu:h100:2 --wrap true
refused_with "alice: a node range reaching past her class" '^[1-9]' \
"sbatch: error: aifactory: project acme-ai (class startup) allows at most 1 node per job and this job asks for 4 (classes.startup.max_nodes_per_job). Use -N 1.
sbatch: error: Batch job submission failed: Node count specification invalid"

as_user aif-alice sbatch -A acme-ai -t UNLIMITED --gpus=1 --wrap true
refused_with "alice: an unlimited time limit" '^[1-9]' \
"sbatch: error: aifactory: project acme-ai (class startup) allows at most 1-00:00:00 per job and this job asks for UNLIMITED (classes.startup.max_time). Use -t 1-00:00:00 or less.
sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)"

as_user aif-alice sbatch -A acme-ai -n 16 --ntasks-per-gpu=1 --wrap true
refused_with "alice: GPUs derived from --ntasks-per-gpu count" '^[1-9]' \
"sbatch: error: aifactory: project acme-ai (class startup) allows at most 8 GPUs per job and this job asks for 16 (classes.startup.max_gpus_per_job). Ask for 8 or fewer.
sbatch: error: Batch job submission failed: Invalid generic resource (gres) specification"

# srun and salloc go through the same plugin.
as_user aif-alice srun -A acme-ai --gpus=16 true
like "$AS_RC" '^[1-9]' "srun: refused"
like "$AS_ERR" "srun: error: aifactory: project acme-ai \\(class startup\\) allows at most 8 GPUs per job and this job asks for 16" \
	"srun: the same message"

# A job that runs: reshaped, tagged, and visible in accounting.
as_user aif-carol sbatch --parsable -A lab-genomics --gres=gpu:a100:2 \
	--wrap 'echo $CUDA_VISIBLE_DEVICES'
is "$AS_RC" 0 "carol: an a100 job is accepted" || diag "$AS_ERR"
carol_job=$AS_OUT
ok "carol: the job completes" wait_job_state "$carol_job" COMPLETED 30
like "$(cat "$AIF_SCRATCH/slurm-$carol_job.out" 2>/dev/null)" '^[0-9]+,[0-9]+$' \
	"carol: the job saw its two GPUs"
sacct_comment() {
	local tries=50
	while [ $tries -gt 0 ]; do
		SACCT=$(sacct -n -X -P -j "$carol_job" -o Account,AdminComment 2>/dev/null)
		[ -n "$SACCT" ] && [ "${SACCT##*|}" != "" ] && return 0
		tries=$((tries - 1)); sleep 0.2
	done
	return 1
}
sacct_comment
# (sacct's QOS column is left out: slurmdbd sometimes records qos id 0 for
# a job that ends within a second, while scontrol showed the QOS we set.)
is "$SACCT" "lab-genomics|aif:class=research,project=lab-genomics,mode=ai-for-science,sector=health,lien=afs-2026:259200000,rate=a100:500" \
	"sacct shows the account and the tag"

# --- job_modify: inside the class yes, out of it no; root anything
as_user aif-alice scontrol update JobId="$alice_job" TimeLimit=30
is "$AS_RC" 0 "alice may shorten her job" || diag "$AS_ERR"
is "$(field "$alice_job" TimeLimit)" 00:30:00 "the shorter limit is set"

grow="aifactory: project acme-ai (class startup) runs on a GPU-hour budget: a job cannot grow after it was submitted. Cancel it and submit it again with the new size."
as_user aif-alice scontrol update JobId="$alice_job" Account=voltwerk
update_refused "alice may not move her job to another project" \
	"Invalid account or account/partition combination specified for job $alice_job" \
	"aifactory: a job cannot move from project acme-ai to 'voltwerk'. Cancel it and submit again with -A <project>."
is "$(field "$alice_job" Account)" acme-ai "the job stays in acme-ai"

as_user aif-alice scontrol update JobId="$alice_job" NumNodes=2
update_refused "alice may not raise nodes past her class" \
	"Node count specification invalid for job $alice_job" \
	"aifactory: project acme-ai (class startup) allows at most 1 node per job and this job asks for 2 (classes.startup.max_nodes_per_job). Use -N 1.
$grow"
is "$(field "$alice_job" NumNodes)" 1 "the job keeps one node"

as_user aif-alice scontrol update JobId="$alice_job" Gres=gpu:h100:8 NumNodes=1
update_refused "alice may not grow a budgeted job, even within her class (its lien was taken for its size)" \
	"Job violates accounting/QOS policy (job submit limit, user's size and/or time limits) for job $alice_job" \
	"$grow"
is "$(job_field "$alice_job" TresPerNode)" "gres:gpu:h100:2" "the job keeps its GPUs"

as_user aif-alice scontrol update JobId="$alice_job" TresPerJob=gres:gpu:16
update_refused "alice may not raise GPUs past her class" \
	"Invalid generic resource (gres) specification for job $alice_job" \
	"aifactory: project acme-ai (class startup) allows at most 8 GPUs per job and this job asks for 18 (classes.startup.max_gpus_per_job). Ask for 8 or fewer.
$grow"

as_user aif-alice scontrol update JobId="$alice_job" TimeLimit=UNLIMITED
update_refused "alice may not make her job unlimited" \
	"Requested time limit is invalid (missing or exceeds some limit) for job $alice_job" \
	"aifactory: project acme-ai (class startup) allows at most 1-00:00:00 per job and this job asks for UNLIMITED (classes.startup.max_time). Use -t 1-00:00:00 or less.
$grow"

like "$(grep -h "JobId=$alice_job.*: an update refused" "$AIF_CLUSTER_DIR"/log/slurmctld.log | head -1)" \
	"job_submit/aifactory: JobId=$alice_job (of aif-alice )?\\(uid $(id -u aif-alice)\\): an update refused: " \
	"the log names the job and its user"
is "$(grep -h "JobId=$alice_job.*: an update refused" "$AIF_CLUSTER_DIR"/log/slurmctld.log | head -1 | sed 's/^.*refused: //')" \
	"aifactory: a job cannot move from project acme-ai to 'voltwerk'. Cancel it and submit again with -A <project>." \
	"the refusal's reason is in the slurmctld log"

run scontrol update JobId="$alice_job" TimeLimit=3-00:00:00 NumNodes=2
is "$AS_RC" 0 "root may take a job past its class's limits" || diag "$AS_ERR"
is "$(field "$alice_job" TimeLimit)/$(field "$alice_job" NumNodes)" 3-00:00:00/2 \
	"the job has root's limits"

run scontrol update JobId="$alice_job" Account=voltwerk
is "$AS_RC" 0 "root may move a job to another project" || diag "$AS_ERR"
is "$(field "$alice_job" Account)" voltwerk "the job is in voltwerk"
is "$(field "$alice_job" AdminComment)" \
	"aif:class=sme,project=voltwerk,mode=fast-lane,sector=energy,lien=fast-lane-1:1036800000,rate=h100:1000" \
	"and its tag follows it, with a lien on voltwerk's grant (4 h100 x 72 h)"

run scancel "$alice_job" "$dave_job"
done_testing
