#!/usr/bin/env bash
# GPU-hour budgets at submit: a job reserves GPUs x time limit x weight
# against its project's grants, drawn earliest-expiring first; what does
# not fit is refused with the way out, or sent to the class's fallback
# QOS; a job may not outlive its grants; the reservation goes back when a
# job ends or is cancelled; after a restart of slurmctld the reservations
# are rebuilt from the jobs themselves.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
soon=$(date -u -d '+1 day' +%Y-%m-%d)	# the first grant ends tomorrow
later=$(date -u -d '+90 days' +%Y-%m-%d)
cluster_up_policy <<JSON
{
  "version": 1,
  "billing": { "gpu_weights": { "h100": 1.0, "a100": 0.5 } },
  "classes": {
    "startup": { "max_time": "3-00:00:00", "default_time": "01:00:00",
                 "partitions": ["h100", "a100"], "qos": "startup" },
    "sme": { "partitions": ["h100", "a100"], "qos": "sme",
             "default_time": "01:00:00",
             "exhausted_action": "fallback", "fallback_qos": "fallback" }
  },
  "projects": {
    "tiny": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [
        { "name": "first", "gpu_hours": 1, "valid_from": "$today", "valid_until": "$soon" },
        { "name": "second", "gpu_hours": 2, "valid_from": "$today", "valid_until": "$later" }
      ] },
    "ending": { "class": "startup", "mode": "playground", "users": ["aif-carol"],
      "grants": [
        { "name": "last", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$soon" }
      ] },
    "thrifty": { "class": "sme", "mode": "fast-lane", "users": ["aif-bob"],
      "grants": [
        { "name": "small", "gpu_hours": 1, "valid_from": "$today", "valid_until": "$later" }
      ] }
  }
}
JSON

submit() {	# submit USER ARGS...: sbatch as USER, held unless told
	local user=$1
	shift
	as_user "$user" sbatch --parsable "$@" --wrap 'sleep 3'
}

# --- drawn earliest-expiring first, split across grants
submit aif-alice --hold -p h100 --gres=gpu:h100:2 -t 60
is "$AS_RC" 0 "2 GPUs x 1 h fits in 3 GPU-hours" || diag "$AS_ERR"
first=$AS_OUT
like "$(job_field "$first" AdminComment)" ',lien=first:3600000\+second:3600000,rate=h100:1000$' \
	"the lien takes the grant that ends first, then the next"

# --- what does not fit is refused, with the way out
submit aif-alice --hold -p h100 --gres=gpu:h100:2 -t 60
is "$AS_RC" 1 "another 2 GPU-hours do not fit in the 1 left"
is "$AS_ERR" "sbatch: error: aifactory: project tiny needs 2.00 GPU-hours for 2 h100 GPUs for 01:00:00 and its grants have 1.00 left. Use -t 00:30:00 or less, or 1 h100 GPUs instead of 2. (classes.startup.exhausted_action is refuse)
sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)" \
	"the message gives the numbers and both ways out"

# --- a job must not outlive the grants it stands on
submit aif-carol --hold -p h100 --gres=gpu:h100:1 -t 3-00:00:00
is "$AS_RC" 1 "a job longer than every grant that could pay is refused"
like "$AS_ERR" "the grants of project ending that can pay for h100 GPUs end on $soon, before a job of 3-00:00:00 would\\. Use -t [0-9:-]+ or less\\." \
	"and the message says when they end and the time limit that fits"

# --- a cancelled pending job gives its reservation back
run scancel "$first"
wait_job_state "$first" CANCELLED 30
submit aif-alice --hold -p h100 --gres=gpu:h100:2 -t 60
is "$AS_RC" 0 "after a cancel, the same job fits again" || diag "$AS_ERR"
second=$AS_OUT

# --- a job that ran gives back what it did not use
run scancel "$second"
wait_job_state "$second" CANCELLED 30
submit aif-alice -p h100 --gres=gpu:h100:2 -t 60
ran=$AS_OUT
ok "a 2 x h100 job for up to an hour runs" wait_job_state "$ran" COMPLETED 40
submit aif-alice --hold -p h100 --gres=gpu:h100:2 -t 60
is "$AS_RC" 0 "its unused hour went back: 2 GPU-hours fit again" || diag "$AS_ERR"
held=$AS_OUT

# --- after a restart, the reservations come back from the jobs
cluster restart-ctld >/dev/null 2>&1
sleep 4	# the first rebuild comes 2 s after the plugin starts
submit aif-alice --hold -p h100 --gres=gpu:h100:2 -t 60
is "$AS_RC" 1 "after a restart the held job's lien still counts" || diag "$AS_OUT"
run scancel "$held"

# --- a job array cannot reserve its cost yet: refused, with what to do
as_user aif-alice sbatch --array=0-3 -p h100 --gres=gpu:h100:1 -t 10 --wrap true
is "$AS_ERR" "sbatch: error: aifactory: project tiny (class startup) runs on a GPU-hour budget, and a job array cannot reserve its cost yet. Submit the tasks as separate jobs.
sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)" \
	"a job array in a metered class is refused, saying why"

# --- a class with a fallback QOS: accepted there, with no lien
submit aif-bob --hold -p h100 --gres=gpu:h100:2 -t 60
is "$AS_RC" 0 "bob's job does not fit his grant but is accepted" || diag "$AS_ERR"
is "$(job_field "$AS_OUT" QOS)" fallback "in the class's fallback QOS"
like "$(job_field "$AS_OUT" AdminComment)" ',lien=none$' "reserving nothing"
run scancel "$AS_OUT"
done_testing
