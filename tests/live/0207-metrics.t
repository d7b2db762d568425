#!/usr/bin/env bash
# The Prometheus textfile (docs/metrics.md): slurmctld writes the policy's
# "metrics.file" every "metrics.interval" seconds, whole (by rename), and
# the Prometheus client's own parser reads it: each grant's GPU-hours
# granted, charged, reserved and left (charged as the journal says), the
# GPUs of a class's running jobs, the decisions by verdict and rule, the
# journal's records and the age of its last sync, budgets enforced, the
# policy's fingerprint.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
	skip_all "the Prometheus client's parser is not installed (python3-prometheus-client)"

today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
cluster_up_policy <<JSON
{
  "version": 1,
  "metrics": { "file": "@METRICS_DIR@/aifactory.prom", "interval": 5 },
  "billing": { "gpu_weights": { "h100": 1.0 } },
  "classes": {
    "startup": { "default_time": "01:00:00", "partitions": ["h100"], "qos": "startup",
                 "max_gpus_per_job": 4 }
  },
  "projects": {
    "acme": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [ { "name": "g1", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] }
  }
}
JSON
prom=$AIF_CLUSTER_DIR/metrics/aifactory.prom
journal=$AIF_CLUSTER_DIR/state/aifactory/journal
parse=$top_srcdir/tests/cluster/prom-parse.py

# sample NAME{LABELS}: its value in the parsed file, or nothing.
sample() {
	/usr/bin/python3 "$parse" "$prom" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'
}
_has() { [ "$(sample "$1")" = "$2" ]; }

as_user aif-alice sbatch --parsable -A acme -p h100 --gres=gpu:h100:2 -t 5 --wrap 'sleep 40'
is "$AS_RC" 0 "alice's 2-GPU job is admitted" || diag "$AS_ERR"
job=$AS_OUT
as_user aif-alice sbatch --parsable -A acme -p h100 --gres=gpu:h100:8 -t 5 --wrap true
like "$AS_RC" '^[1-9]' "her 8-GPU job is refused (class.max_gpus_per_job)"
wait_job_state "$job" RUNNING 30

ok "the file appears, written by SlurmUser" wait_until 20 "the metrics file" test -s "$prom"
is "$(stat -c '%U %a' "$prom")" "slurm 644" "owned by SlurmUser, readable by the exporter"
out=$(/usr/bin/python3 "$parse" "$prom" 2>&1)
is "$?" 0 "the Prometheus client's parser reads it" || diag "$out"
# The lien rebuild counts running jobs every 30 s.
ok "the class's running GPUs: 2" \
	wait_until 45 "class_running_gpus 2" _has 'aifactory_class_running_gpus{class="startup"}' 2.0
is "$(sample 'aifactory_decisions_total{rule="reshape",verdict="reshape"}')" 1.0 \
	"one decision reshaped (the class gave it its QOS)" ||
	diag "$(/usr/bin/python3 "$parse" "$prom" | grep decisions)"
is "$(sample 'aifactory_decisions_total{rule="class.max_gpus_per_job",verdict="refuse"}')" 1.0 \
	"one refused by class.max_gpus_per_job"
is "$(sample 'aifactory_grant_gpu_hours{grant="g1",project="acme",state="granted"}')" 100.0 \
	"grant g1: 100 GPU-hours granted"
is "$(sample 'aifactory_grant_gpu_hours{grant="g1",project="acme",state="reserved"}')" 0.17 \
	"0.17 reserved by the running job's lien (2 GPUs x 5 min)"
is "$(sample aifactory_budgets_enforced)" 1.0 "budgets are enforced"
sha=$(grep 'aifactory: policy .* loaded' "$AIF_CLUSTER_DIR/log/slurmctld.log" | tail -1 |
	sed -n 's/.*sha256 \([0-9a-f]*\)$/\1/p')
is "$(sample "aifactory_policy_info{sha256=\"$sha\"}")" 1.0 \
	"the policy's fingerprint is the one the log names"

run scancel "$job"
wait_job_state "$job" CANCELLED 30
rec=$(journal_record "$job") || diag "no charge record of job $job"
charged=$(awk -v a="$(journal_field "$rec" amount)" 'BEGIN { printf "%.2f", a / 3600000 }')
ok "the grant's charged GPU-hours become the journal's ($charged)" \
	wait_until 20 "charged $charged" _has 'aifactory_grant_gpu_hours{grant="g1",project="acme",state="charged"}' \
	"$(/usr/bin/python3 -c "print(repr(float('$charged')))")"
seq=$(grep -c '' "$journal")
ok "journal_records_total follows the journal ($seq records)" \
	wait_until 20 "records $seq" _has aifactory_journal_records_total "$seq.0"
like "$(sample aifactory_journal_last_sync_age_seconds)" '^[0-9]\.0$|^[1-5][0-9]\.0$' \
	"the last sync was under a minute ago"
is "$(ls "$AIF_CLUSTER_DIR/metrics")" aifactory.prom "nothing but the file: written by rename"

done_testing
