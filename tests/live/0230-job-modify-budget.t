#!/usr/bin/env bash
# scontrol update never takes a job past its budget or half-moves it:
# a user's QOS change that would change the job's frozen rate, or take a
# lien-less job out of the fallback QOS, is refused; a change of node
# count is judged with the whole GPU request the job was submitted with
# (--sockets-per-node too); an operator's Account= move is applied whole
# (account, tag and lien) or refused when SLURM would keep the old
# account. In 22.05 scontrol shows only SLURM's error string: our reason
# is in slurmctld's log.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
cluster_up_policy <<JSON
{
  "version": 1,
  "billing": { "gpu_weights": { "h100": 1.0, "a100": 0.5 },
               "qos_weights": { "startup": 0.5, "research": 2.0 } },
  "classes": {
    "startup": { "partitions": ["h100", "a100"], "qos": "startup",
                 "allowed_qos": ["startup", "research"],
                 "default_time": "01:00:00" },
    "sme": { "partitions": ["h100", "a100"], "qos": "sme",
             "default_time": "01:00:00",
             "exhausted_action": "fallback", "fallback_qos": "fallback" },
    "open": { "metered": false, "partitions": ["all"],
              "max_gpus_per_job": 16, "default_time": "01:00:00" }
  },
  "projects": {
    "alpha": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [ { "name": "main", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] },
    "beta": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [ { "name": "main", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] },
    "thrifty": { "class": "sme", "mode": "fast-lane", "users": ["aif-bob"],
      "grants": [ { "name": "small", "gpu_hours": 1, "valid_from": "$today", "valid_until": "$later" } ] },
    "gamma": { "class": "sme", "mode": "fast-lane", "users": ["aif-alice"],
      "grants": [ { "name": "crumb", "gpu_hours": 0.1, "valid_from": "$today", "valid_until": "$later" } ] },
    "labs": { "class": "open", "mode": "research", "users": ["aif-carol"] }
  }
}
JSON
ctld_log=$AIF_CLUSTER_DIR/log/slurmctld.log
accounting="Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"

submit() {	# submit USER ARGS...: a held job as USER
	local user=$1
	shift
	as_user "$user" sbatch --parsable --hold "$@" --wrap 'sleep 3'
}

# logged TEXT: slurmctld's log has a line holding TEXT (written before
# the reply, so no wait is needed).
logged() {
	grep -qF -- "$1" "$ctld_log" || {
		diag "not in slurmctld.log: $1"
		diag "$(grep -F 'aifactory' "$ctld_log" | tail -5)"
		return 1
	}
}

# --- point 4: a job in the fallback QOS holds no lien and cannot leave it
submit aif-bob -A thrifty -p h100 --gres=gpu:h100:2 -t 60
is "$AS_RC" 0 "bob's job that does not fit is accepted" || diag "$AS_ERR"
fb=$AS_OUT
is "$(job_field "$fb" QOS)" fallback "into the fallback QOS"
as_user aif-bob scontrol update JobId="$fb" QOS=sme
is "$AS_RC" 1 "bob cannot move his lien-less job back to QOS sme"
update_refused "scontrol shows SLURM's accounting error, and ours from 23.02" \
	"$accounting for job $fb" \
	"aifactory: project thrifty (class sme) runs on a GPU-hour budget and this job was admitted into QOS fallback with nothing reserved, because its grants were short: it cannot leave that QOS. Cancel it and submit it again when the project has GPU-hours left, or ask your centre."
is "$(job_field "$fb" QOS)" fallback "the job stays in the fallback QOS"
ok "the log says why" logged "(uid $(id -u aif-bob)): an update refused: aifactory: project thrifty (class sme) runs on a GPU-hour budget and this job was admitted into QOS fallback with nothing reserved, because its grants were short: it cannot leave that QOS. Cancel it and submit it again when the project has GPU-hours left, or ask your centre."
run scancel "$fb"

# --- point 4: a cheap QOS's frozen rate does not follow the job elsewhere
submit aif-alice -A alpha -p h100 --gres=gpu:h100:1 -t 60
is "$AS_RC" 0 "alice's job in QOS startup (weight 0.5) is accepted" || diag "$AS_ERR"
cheap=$AS_OUT
like "$(job_field "$cheap" AdminComment)" 'rate=h100:500$' "at the rate 0.5"
tag_before=$(job_field "$cheap" AdminComment)
as_user aif-alice scontrol update JobId="$cheap" QOS=research
is "$AS_RC" 1 "moving it to QOS research (weight 2.0) is refused"
update_refused "scontrol shows SLURM's accounting error, and ours from 23.02" \
	"$accounting for job $cheap" \
	"aifactory: project alpha (class startup) runs on a GPU-hour budget and QOS research changes this job's rate for h100 GPUs from 0.5 to 2 GPU-hours per GPU-hour, while its lien was priced at submit. Cancel it and submit it again with --qos=research."
is "$(job_field "$cheap" QOS)" startup "the job stays in QOS startup"
ok "the log gives both rates and the way out" logged "(uid $(id -u aif-alice)): an update refused: aifactory: project alpha (class startup) runs on a GPU-hour budget and QOS research changes this job's rate for h100 GPUs from 0.5 to 2 GPU-hours per GPU-hour, while its lien was priced at submit. Cancel it and submit it again with --qos=research."

# --- point 7: a node count change is judged with --sockets-per-node too
submit aif-carol -p all -N 2 --sockets-per-node=2 --gpus-per-socket=4 -t 10
is "$AS_RC" 0 "2 nodes x 2 sockets x 4 GPUs (16) fit max_gpus_per_job 16" || diag "$AS_ERR"
sock=$AS_OUT
as_user aif-carol scontrol update JobId="$sock" NumNodes=4
is "$AS_RC" 1 "growing it to 4 nodes (32 GPUs) is refused"
update_refused "scontrol shows SLURM's gres error, and ours from 23.02" \
	"Invalid generic resource (gres) specification for job $sock" \
	"aifactory: project labs (class open) allows at most 16 GPUs per job and this job asks for 32 (classes.open.max_gpus_per_job). Ask for 16 or fewer."
like "$(job_field "$sock" NumNodes)" '^2(-2)?$' "the job keeps 2 nodes"
ok "the log counts 32 GPUs" logged "(uid $(id -u aif-carol)): an update refused: aifactory: project labs (class open) allows at most 16 GPUs per job and this job asks for 32 (classes.open.max_gpus_per_job). Ask for 16 or fewer."
run scancel "$sock"

# --- point 12: an operator's move SLURM would not apply is refused whole
run scontrol update JobId="$cheap" Account=beta
is "$AS_RC" 1 "root's move to an account alice has no association in is refused"
update_refused "scontrol shows SLURM's account error, and ours from 23.02" \
	"Invalid account or account/partition combination specified for job $cheap" \
	"aifactory: user aif-alice has no association with account beta in SLURM's database, so SLURM would keep the job in account alpha. Add one (sacctmgr add user aif-alice account=beta), then move the job."
is "$(job_field "$cheap" Account)" alpha "the job stays in account alpha"
is "$(job_field "$cheap" AdminComment)" "$tag_before" "and its tag and lien in project alpha"
ok "the log names the missing association" logged "(uid $(id -u aif-alice)): an update refused: aifactory: user aif-alice has no association with account beta in SLURM's database, so SLURM would keep the job in account alpha. Add one (sacctmgr add user aif-alice account=beta), then move the job."

# With the association, the move is applied whole: account, tag, lien.
run sacctmgr -i add account beta,gamma
run sacctmgr -i add user aif-alice account=beta,gamma
is "$AS_RC" 0 "alice gets an association with account beta" || diag "$AS_ERR"
for _ in $(seq 50); do	# slurmdbd pushes it to slurmctld: bounded wait
	scontrol show assoc_mgr users=aif-alice accounts=beta flags=assoc 2>/dev/null |
		grep -q 'Account=beta' && break
	sleep 0.2
done
run scontrol update JobId="$cheap" Account=beta
is "$AS_RC" 0 "then root's move is applied" || diag "$AS_ERR"
is "$(job_field "$cheap" Account)" beta "the job is in account beta"
like "$(job_field "$cheap" AdminComment)" '^aif:class=startup,project=beta,mode=playground,lien=main:1800000,rate=h100:500$' \
	"its tag names project beta, with a lien on beta's grant"

# A move into a project that cannot pay: only into its fallback QOS, by name.
run scontrol update JobId="$cheap" Account=gamma
is "$AS_RC" 1 "root's move into a project short of GPU-hours is refused"
is "$(job_field "$cheap" Account)" beta "the job stays in account beta"
ok "the log gives the way out" logged "(uid $(id -u aif-alice)): an update refused: aifactory: project gamma has not enough GPU-hours left for this job: move it with QOS=fallback as well, or add to its grants."
run scontrol update JobId="$cheap" Account=gamma QOS=fallback
is "$AS_RC" 0 "with QOS=fallback the move is applied" || diag "$AS_ERR"
is "$(job_field "$cheap" Account)/$(job_field "$cheap" QOS)" gamma/fallback \
	"the job is in gamma, in the fallback QOS"
like "$(job_field "$cheap" AdminComment)" '^aif:class=sme,project=gamma,mode=fast-lane,lien=none$' \
	"with no lien, as the fallback QOS is at submit"
run scancel "$cheap"
done_testing
