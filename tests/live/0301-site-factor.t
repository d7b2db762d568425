#!/usr/bin/env bash
# site_factor/aifactory in a real slurmctld with slurmdbd and
# PriorityCalcPeriod=1: sprio's SITE orders pending jobs of three classes
# as their shares say; once a class's jobs have run, its SITE falls at the
# next update; a project behind its schedule outranks one ahead; an
# operator's SiteFactor is kept (in the tag) and a user's is refused by
# SLURM; a restart of slurmctld keeps all of it.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites
# Three PriorityCalcPeriods of a minute, a restart and one more period.
live_budget 420

today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
long_ago=$(date -u -d '-80 days' +%Y-%m-%d)
soon=$(date -u -d '+9 days' +%Y-%m-%d)
# SLURM decays usage with a 5-minute half-life here, so one job's minute
# on 16 GPUs moves its class by several points of share.
# SLURM keeps GPU usage per account only with AccountingStorageEnforce=limits.
export AIF_SLURM_EXTRA="PrioritySiteFactorPlugin=site_factor/aifactory
PriorityCalcPeriod=1
PriorityDecayHalfLife=00:05:00
AccountingStorageEnforce=associations,limits"
cluster_up_policy <<JSON
{
  "version": 1,
  "balance_port": @BALANCE_PORT@,
  "priority": { "class_weight": 10000, "pacing_weight": 4000 },
  "billing": { "gpu_weights": { "h100": 1.0, "a100": 1.0 } },
  "classes": {
    "research": { "share": 0.5, "partitions": ["h100", "a100"], "qos": "research" },
    "startup": { "share": 0.3, "partitions": ["h100", "a100"], "qos": "startup" },
    "sme": { "share": 0.2, "partitions": ["h100", "a100"], "qos": "sme" }
  },
  "projects": {
    "res": { "class": "research", "mode": "m", "users": ["aif-carol"],
      "grants": [ { "name": "g", "gpu_hours": 10000, "valid_from": "$today", "valid_until": "$later" } ] },
    "st": { "class": "startup", "mode": "m", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 10000, "valid_from": "$today", "valid_until": "$later" } ] },
    "behind": { "class": "startup", "mode": "m", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 1000, "valid_from": "$long_ago", "valid_until": "$soon" } ] },
    "ahead": { "class": "startup", "mode": "m", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 10, "valid_from": "$today", "valid_until": "$later" } ] },
    "smeco": { "class": "sme", "mode": "m", "users": ["aif-bob"],
      "grants": [ { "name": "g", "gpu_hours": 10000, "valid_from": "$today", "valid_until": "$later" } ] }
  }
}
JSON
ctld_log=$AIF_CLUSTER_DIR/log/slurmctld.log

# SLURM keeps usage per association: the projects are accounts.
run sacctmgr -i add account res qos=research
run sacctmgr -i add account st,behind,ahead qos=startup
run sacctmgr -i add account smeco qos=sme
run sacctmgr -i add user aif-carol account=res
run sacctmgr -i add user aif-alice account=st,behind,ahead
run sacctmgr -i add user aif-bob account=smeco
is "$AS_RC" 0 "projects and members are in slurmdbd" || diag "$AS_ERR"

ok "slurmctld loaded the plugin and says how SITE compares with its weights" \
	grep -qF "site_factor/aifactory: SITE spans +-14000 points (class_weight 10000, pacing_weight 4000)" "$ctld_log"

# Jobs wait in a100, whose nodes are drained (which, unlike a partition's
# state, a restart keeps); the research job runs in h100.
run scontrol update NodeName=a1,a2 State=DRAIN Reason=aif-test
pend() {	# pend USER PROJECT [ARGS]: a pending job's id
	local user=$1 project=$2
	shift 2
	as_user "$user" sbatch --parsable -A "$project" -p a100 \
		--gres=gpu:a100:1 "$@" --wrap 'sleep 10'
	[ "$AS_RC" = 0 ] || diag "sbatch for $project: $AS_ERR"
	printf '%s\n' "$AS_OUT"
}
j_res=$(pend aif-carol res -t 10)
j_st=$(pend aif-alice st -t 10)
j_sme=$(pend aif-bob smeco -t 10)
j_behind=$(pend aif-alice behind -t 10)
j_ahead=$(pend aif-alice ahead -t 5:00:00)	# reserves half its grant
as_user aif-carol sbatch --parsable -A res -p h100 -N 2 --gres=gpu:h100:8 \
	-t 10 --wrap 'sleep 600'
running=$AS_OUT
wait_job_state "$running" RUNNING 60

site() {	# site JOBID: the SITE sprio shows
	sprio -h -j "$1" -o '%S' 2>/dev/null | awk 'NR == 1 { print $1 }'
}
at_least() {	# at_least JOBID N
	local s
	s=$(site "$1")
	[ -n "$s" ] && [ "$s" -ge "$2" ]
}
below() {	# below JOBID N
	local s
	s=$(site "$1")
	[ -n "$s" ] && [ "$s" -lt "$2" ]
}
order() {	# order J1 J2...: SITE strictly decreasing
	local prev= j s
	for j in "$@"; do
		s=$(site "$j")
		[ -n "$s" ] || return 1
		if [ -n "$prev" ] && [ "$s" -ge "$prev" ]; then
			return 1
		fi
		prev=$s
	done
}
show() {
	local j
	for j in "$@"; do printf '%s=%s ' "$j" "$(site "$j")"; done
}

# Before the first update the class part is unknown (0): pacing only.
# The first update comes one PriorityCalcPeriod after the start.
ok "after the first update, research's job has its class's share: SITE near 5000" \
	wait_until 200 "the first update" at_least "$j_res" 4900
ok "classes in the order of their shares: research, startup, sme" \
	order "$j_res" "$j_st" "$j_sme" || diag "$(show "$j_res" "$j_st" "$j_sme")"
ok "in one class, the project behind its schedule outranks the neutral one, which outranks the one ahead" \
	order "$j_behind" "$j_st" "$j_ahead" || diag "$(show "$j_behind" "$j_st" "$j_ahead")"
st_before=$(site "$j_st")
res_before=$(site "$j_res")
like "$st_before" '^30[0-9][0-9]$|^29[0-9][0-9]$' "a neutral startup project: about 3000 (the class's share)"

# aifctl priority asks slurmctld, as balance does.
bin=$AIF_SCRATCH/bin
aifctl_copy "$bin"
prio() {	# prio USER ARGS...: aifctl priority as USER
	local user=$1
	shift
	as_user "$user" env LD_LIBRARY_PATH="$bin" "$bin/aifctl" priority "$@"
}
prio aif-bob --classes
is "$AS_RC" 0 "aifctl priority --classes: any user" || diag "$AS_ERR"
like "$AS_OUT" $'(^|\n)research +0\\.500 +0\\.500 +- +0\\.000 +0\\.500 +0\\.000 +under +\\+0\\.5000 +\\+5000\n' \
	"research: share, lend limit, no borrow limit, unused, lends all its share, borrows nothing, under its share, +5000"
like "$AS_OUT" $'(^|\n)startup +0\\.300 +0\\.300 +- +0\\.000 +0\\.300 +0\\.000 +under +\\+0\\.3000 +\\+3000\n' \
	"startup: +3000"
like "$AS_OUT" $'\nweights: class 10000, pacing 4000; classes measured at [0-9T:-]+Z$' \
	"the weights and when the classes were measured"
prio aif-alice -A behind
is "$AS_RC" 0 "aifctl priority -A: a member" || diag "$AS_ERR"
like "$AS_OUT" '^project behind \(class startup\): paced: spent [0-9.]+ of 1000\.00 GPU-hours \(charged and reserved\), an even spend [0-9.]+' \
	"the project's pacing: spent against an even spend"
like "$AS_OUT" $'\npacing factor \\+0\\.8[0-9]+ x 4000 = \\+3[0-9]{3} points$' \
	"80 of 90 days gone, nothing spent: about +0.89"
prio aif-bob -A behind
is "$AS_RC:$AS_ERR" "2:aifctl: no project behind that you are a member of" \
	"a non-member is told what balance tells him"
prio aif-alice "$j_behind"
is "$AS_RC" 0 "aifctl priority JOBID" || diag "$AS_ERR"
like "$AS_OUT" "^job $j_behind \\(PENDING\\), project behind, class startup: sprio shows SITE \\+$(site "$j_behind")"$'\n' \
	"the job, and the SITE sprio shows"
like "$AS_OUT" $'\nclass startup: under, share 0\\.300, used 0\\.000: \\+0\\.3000 x 10000 = \\+3000\n' \
	"the class's part"
like "$AS_OUT" $'\nSITE \\+'"$(site "$j_behind")"'$' "adds up to what sprio shows"

# An operator's SiteFactor is kept; a user's is refused by SLURM.
run scontrol update JobId="$j_sme" SiteFactor=7777
is "$AS_RC" 0 "root sets SiteFactor=7777 on the sme job" || diag "$AS_ERR"
is "$(site "$j_sme")" 7777 "sprio shows it at once"
like "$(job_field "$j_sme" AdminComment)" ',site=7777$' "it is kept in the job's tag"
ok "the log says so" grep -qF "site_factor/aifactory: JobId=$j_sme keeps the SiteFactor 7777 an operator set" "$ctld_log"
as_user aif-bob scontrol update JobId="$j_sme" SiteFactor=1
is "$AS_RC:$AS_ERR" "1:Access/permission denied for job $j_sme" \
	"bob cannot set it: SLURM lets only operators"
is "$(site "$j_sme")" 7777 "and the operator's value stands"
prio aif-bob "$j_sme"
like "$AS_OUT" $'\nan operator set its SiteFactor to 7777 \\(site=7777 in its AdminComment\\), which stays' \
	"aifctl priority says the operator's value stays"

# The research job has run a minute on 16 GPUs: the next update but one
# sees it (multifactor adds usage after the site update of a period).
ok "once research's jobs have run, its SITE falls at a later update" \
	wait_until 200 "research's usage" below "$j_res" $((res_before - 200))
diag "research: $res_before -> $(site "$j_res"); startup: $st_before -> $(site "$j_st")"
st_after=$(site "$j_st")
near() { [ $(($1 - $2)) -le "$3" ] && [ $(($2 - $1)) -le "$3" ]; }
ok "startup, which ran nothing, keeps its SITE within a few points" \
	near "$st_after" "$st_before" 20
is "$(site "$j_sme")" 7777 "the operator's SiteFactor survives the updates"
run scancel "$running"

# A restart keeps the values and the order: SLURM saves SITE with the
# job, the override is in its tag, and the first update after the start
# waits for jobcomp's rebuild of the recovered jobs' liens.
before=$(show "$j_res" "$j_st" "$j_behind" "$j_ahead" "$j_sme")
log_lines=$(wc -l <"$ctld_log")
cluster restart-ctld >/dev/null 2>&1
ok "slurmctld is back" wait_until 60 "slurmctld" scontrol ping
after=$(show "$j_res" "$j_st" "$j_behind" "$j_ahead" "$j_sme")
is "$after" "$before" "after the restart every job has the SITE it had"
# Whether SLURM's first update comes before the rebuild (2 s after the
# start) or after it is SLURM's timing; either way it ranks with the liens
# rebuilt, having waited for them (the first line) or not needed to.
first_update() {
	tail -n +"$((log_lines + 1))" "$ctld_log" | grep -qE \
		"site_factor/aifactory: (an update waits for the liens of the recovered jobs|the first update since the start ranks with the recovered jobs' liens rebuilt)"
}
ok "the log says the first update after the restart waited for the liens, or came after them" \
	wait_until 100 "the first update" first_update
changed() { [ "$(site "$1")" != "$2" ]; }
res_restarted=$(site "$j_res")
ok "an update after the restart: research's usage decays, its SITE rises" \
	wait_until 100 "an update" changed "$j_res" "$res_restarted"
ok "the classes keep their order" order "$j_res" "$j_st"
ok "so do the projects of one class" order "$j_behind" "$j_st" "$j_ahead" ||
	diag "before: $before; after: $(show "$j_res" "$j_st" "$j_behind" "$j_ahead" "$j_sme")"
is "$(site "$j_sme")" 7777 "and the operator's SiteFactor"
run scancel "$j_res" "$j_st" "$j_sme" "$j_behind" "$j_ahead"
done_testing
