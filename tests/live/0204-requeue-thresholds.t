#!/usr/bin/env bash
# A requeued job is charged for each run that happened and keeps its lien
# for the next; a policy reload while it runs carries the balances over;
# crossing a grant's threshold writes an event record and a log line.
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
  "billing": { "gpu_weights": { "h100": 1.0, "a100": 0.5 } },
  "classes": {
    "startup": { "max_time": "1-00:00:00", "partitions": ["h100"] },
    "burst": { "metered": false, "thresholds": [0.8, 1.0], "partitions": ["h100"] }
  },
  "projects": {
    "steady": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [ { "name": "main", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] },
    "burn": { "class": "burst", "mode": "playground", "users": ["aif-erin"],
      "grants": [ { "name": "tiny", "gpu_hours": 0.003, "valid_from": "$today", "valid_until": "$later" } ] }
  }
}
JSON
journal=$AIF_CLUSTER_DIR/state/aifactory/journal
log=$AIF_CLUSTER_DIR/log/slurmctld.log
charges() { grep -F "\"run\":\"aif:$1:" "$journal" | grep -F '"type":"charge"'; }
# has_charges JOB N: the journal holds at least N charges of JOB.
has_charges() { [ "$(charges "$1" | wc -l)" -ge "$2" ]; }

# --- requeue: the first run is charged, the job keeps its lien
as_user aif-alice sbatch --parsable -A steady --gres=gpu:h100:1 -t 10 \
	--wrap 'if [ "${SLURM_RESTART_COUNT:-0}" = 0 ]; then sleep 60; else sleep 2; fi'
job=$AS_OUT
ok "alice's job starts" wait_job_state "$job" RUNNING 30
sleep 3
run scontrol requeue "$job"
is "$AS_RC" 0 "root requeues it" || diag "$AS_ERR"
ok "it is pending again" wait_job_state "$job" PENDING 30
wait_until 10 "the requeued run's charge" has_charges "$job" 1
first=$(charges "$job")
is "$(journal_field "$first" state)" REQUEUED "the run that happened is charged, as REQUEUED"
like "$(job_field "$job" AdminComment)" ',lien=main:600000,' "the job keeps its lien for the next run"

# --- a policy reload while the job waits: balances carry over
before_reload=$(grep -c 'aifactory: policy .* loaded' "$log")
run scontrol reconfigure
reloaded() { [ "$(grep -c 'aifactory: policy .* loaded' "$log")" -gt "$before_reload" ]; }
ok "the policy was reloaded" wait_until 10 "the policy's reload" reloaded

# --- the rerun is charged too, from where the first left the grant
run scontrol update JobId="$job" StartTime=now
ok "the rerun completes" wait_job_state "$job" COMPLETED 60
wait_until 10 "the rerun's charge" has_charges "$job" 2
is "$(charges "$job" | wc -l)" 2 "two runs, two charges"
second=$(charges "$job" | tail -1)
is "$(journal_field "$second" state)" COMPLETED "the second is the completed run"
after_first=$(journal_field "$first" part1); after_first=${after_first##*/}
before_second=$(journal_field "$second" part1); before_second=${before_second#*=}; before_second=${before_second#*/}; before_second=${before_second%%/*}
is "$before_second" "$after_first" "the grant's balance carried across the reload"

# --- thresholds: 80 % of a tiny grant, logged and recorded
as_user aif-erin sbatch --parsable -A burn --gres=gpu:h100:2 -t 5 --wrap 'sleep 6'
burn=$AS_OUT
ok "erin's job completes" wait_job_state "$burn" COMPLETED 30
threshold() { grep -qF '"type":"threshold"' "$journal"; }
wait_until 10 "a threshold record" threshold
like "$(grep -F '"type":"threshold"' "$journal" | head -1)" \
	"\"run\":\"aif:$burn:[0-9]+\",\"project\":\"burn\",\"grant\":\"tiny\",\"permille\":800" \
	"crossing 80% of the grant writes an event record"
like "$(grep 'aifactory: project burn: grant tiny reached' "$log" | head -1)" "reached 80%" \
	"and a log line"
like "$(grep 'aifactory: project burn: grant tiny reached' "$log" | tail -1)" "reached 100%" \
	"and 100% too: the job used more than the grant (an unmetered class is never held back)"
done_testing
