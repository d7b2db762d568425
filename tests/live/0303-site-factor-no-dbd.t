#!/usr/bin/env bash
# site_factor/aifactory with slurmctld not using slurmdbd: SLURM never
# calls the periodic update, the log says so at start, and SITE is set at
# submit from the project's pacing alone (the class part needs slurmdbd's
# usage): a project behind its schedule gains, one ahead loses. And the
# check of SITE's span against slurm.conf's weights.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
long_ago=$(date -u -d '-80 days' +%Y-%m-%d)
soon=$(date -u -d '+9 days' +%Y-%m-%d)
# An age weight so large that SITE's span would push priorities past
# SLURM's clamp: the start says so.
export AIF_SLURM_EXTRA="PrioritySiteFactorPlugin=site_factor/aifactory
PriorityWeightAge=4294960000"
cluster_up_policy <<JSON
{
  "version": 1,
  "priority": { "class_weight": 10000, "pacing_weight": 4000 },
  "billing": { "gpu_weights": { "a100": 1.0 } },
  "classes": { "startup": { "share": 0.3, "partitions": ["a100"] } },
  "projects": {
    "behind": { "class": "startup", "mode": "m", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 1000, "valid_from": "$long_ago", "valid_until": "$soon" } ] },
    "ahead": { "class": "startup", "mode": "m", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 10, "valid_from": "$today", "valid_until": "$later" } ] }
  }
}
JSON
ctld_log=$AIF_CLUSTER_DIR/log/slurmctld.log
# The test cluster starts with slurmdbd (its start checks it); then
# slurmctld is restarted without it.
# (slurmctld refuses gres/gpu in AccountingStorageTRES without slurmdbd.)
sed -i -e 's|^AccountingStorageType=.*|AccountingStorageType=accounting_storage/none|' \
	-e '/^AccountingStorage\(TRES\|Host\|Port\|Pass\)=/d' \
	"$AIF_CLUSTER_DIR/etc/slurm.conf"
cluster restart-ctld >/dev/null 2>&1
ok "slurmctld is back, without slurmdbd" wait_until 60 "slurmctld" scontrol ping
# 24.11 shows no plugin as "(null)".
like "$(scontrol show config | awk '$1 == "AccountingStorageType" { print $3 }')" \
	'^(accounting_storage/none|\(null\))$' "it runs with no accounting storage"
ok "the log compares SITE's span with slurm.conf's weights" grep -qF \
	"site_factor/aifactory: SITE spans +-14000 points (class_weight 10000, pacing_weight 4000); slurm.conf's PriorityWeight* values sum to 4294960000" \
	"$ctld_log"
ok "and says when they would overflow SLURM's clamp" grep -qF \
	"site_factor/aifactory: SITE's span and slurm.conf's weights together exceed 4294967295: SLURM clamps priorities there, so the highest lose their order; lower the weights" \
	"$ctld_log"
ok "the log says SLURM will not call the update" grep -qF \
	"site_factor/aifactory: slurmctld runs without slurmdbd, so SLURM never calls site_factor's update: SITE is set at submit, update, release and resume from budget pacing only" \
	"$ctld_log"

run scontrol update NodeName=a1,a2 State=DRAIN Reason=aif-test
as_user aif-alice sbatch --parsable -A behind -p a100 --gres=gpu:a100:1 -t 10 --wrap 'sleep 5'
behind=$AS_OUT
as_user aif-alice sbatch --parsable -A ahead -p a100 --gres=gpu:a100:1 -t 5:00:00 --wrap 'sleep 5'
ahead=$AS_OUT
site() { sprio -h -j "$1" -o '%S' 2>/dev/null | awk 'NR == 1 { print $1 }'; }
# behind: 80 of 90 days gone, nothing spent: about +0.89 x 4000;
# ahead: half its grant reserved at once: about -0.5 x 4000.
like "$(site "$behind")" '^3[56][0-9][0-9]$' "set at submit: the project behind its schedule gains (about +3560)"
like "$(site "$ahead")" '^-(19|20)[0-9][0-9]$' "the project ahead loses (about -2000)"
ok "no class part without usage: behind's SITE is pacing alone" \
	test "$(site "$behind")" -lt 4000
run scancel "$behind" "$ahead"
done_testing
