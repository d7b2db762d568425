#!/usr/bin/env bash
# Where SLURM checks access to QOS (AccountingStorageEnforce has qos), a
# class's fallback QOS must be allowed on its budgeted projects' accounts,
# or SLURM refuses the jobs we send there with only "Invalid qos
# specification": aifctl check says so, naming the account and the fix,
# and is quiet once the QOS is allowed.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
export AIF_SLURM_EXTRA="AccountingStorageEnforce=associations,qos"
cluster_up_policy <<JSON
{
  "version": 1,
  "billing": { "gpu_weights": { "h100": 1.0 } },
  "classes": {
    "sme": { "default_time": "01:00:00", "partitions": ["h100"], "qos": "sme",
             "exhausted_action": "fallback", "fallback_qos": "fallback" }
  },
  "projects": {
    "thrifty": { "class": "sme", "mode": "fast-lane", "users": ["aif-bob"],
      "grants": [ { "name": "s", "gpu_hours": 0.01, "valid_from": "$today", "valid_until": "$later" } ] }
  }
}
JSON
policy=$AIF_CLUSTER_DIR/etc/aifactory.json
aifctl=$top_builddir/contrib/aifctl/aifctl

run sacctmgr -i add account thrifty qos=sme
run sacctmgr -i add user aif-bob account=thrifty qos=sme

run "$aifctl" check "$policy"
is "$AS_RC" 0 "the policy is good"
is "$AS_ERR" "warning: classes.sme.fallback_qos: QOS fallback is not allowed on account thrifty, and SLURM checks access to QOS (AccountingStorageEnforce=associations,qos): a job of project thrifty sent there would be refused with only \"Invalid qos specification\". Allow it: sacctmgr modify account thrifty set qos+=fallback" \
	"aifctl check warns that SLURM would refuse the fallback QOS, with the fix"

# What it warns of: bob's job that does not fit goes to the fallback QOS,
# and SLURM refuses that.
as_user aif-bob sbatch --parsable -A thrifty -p h100 --gres=gpu:h100:2 -t 60 --wrap true
like "$AS_ERR" "Invalid qos specification" "unfixed, SLURM refuses the job sent to fallback"

run sacctmgr -i modify account thrifty set qos+=fallback
run sacctmgr -i modify user aif-bob set qos+=fallback
run "$aifctl" check "$policy"
is "$AS_RC/$AS_ERR" "0/" "once the QOS is allowed, aifctl check is quiet"
as_user aif-bob sbatch --parsable --hold -A thrifty -p h100 --gres=gpu:h100:2 -t 60 --wrap true
is "$AS_RC" 0 "and bob's job is accepted in the fallback QOS" || diag "$AS_ERR"
is "$(job_field "$AS_OUT" QOS)" fallback "in QOS fallback"
run scancel -u aif-bob

done_testing
