#!/usr/bin/env bash
# A journal that cannot be opened at start (issue 8, point 2): one byte of
# it changed while slurmctld was down. slurmctld starts, but GPU-hour
# budgets fail closed: a metered class's job gets its exhausted_action
# (refused, saying budgets are unavailable, or sent to the fallback QOS),
# the log says why at error level, naming the damage as `aifctl audit
# verify` does. Once the operator restores the file, `scontrol
# reconfigure` opens it again: budgets are enforced, and the refusals
# made meanwhile are in the journal.
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
  "billing": { "gpu_weights": { "h100": 1.0 } },
  "classes": {
    "startup": { "default_time": "01:00:00", "partitions": ["h100"], "qos": "startup" },
    "sme": { "default_time": "01:00:00", "partitions": ["h100"], "qos": "sme",
             "exhausted_action": "fallback", "fallback_qos": "fallback" }
  },
  "projects": {
    "tiny": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] },
    "thrifty": { "class": "sme", "mode": "fast-lane", "users": ["aif-bob"],
      "grants": [ { "name": "s", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] }
  }
}
JSON
state=$AIF_CLUSTER_DIR/state/aifactory
journal=$state/journal
log=$AIF_CLUSTER_DIR/log/slurmctld.log
aifctl=$top_builddir/contrib/aifctl/aifctl

# A charge in the journal, then slurmctld goes down.
as_user aif-alice sbatch --parsable -p h100 --gres=gpu:h100:1 -t 5 --wrap 'sleep 1'
is "$AS_RC" 0 "a metered job is accepted" || diag "$AS_ERR"
job=$AS_OUT
wait_job_state "$job" COMPLETED 60
ok "its charge is journalled" journal_record "$job"
cluster kill9-ctld >/dev/null 2>&1

# One byte of the charge record changed.
cp -p "$journal" "$AIF_CLUSTER_DIR/journal.good"
sed -i 's/"state":"COMPLETED"/"state":"COMPLETEX"/' "$journal"
run "$aifctl" audit verify "$state"
is "$AS_RC" 1 "audit verify finds the damage"
damage=$(sed -n 's/^\([^ ]*\/journal:[0-9]*: record [0-9]*\): .*/\1/p' <<<"$AS_OUT" | head -1)
ok "and names the first bad record" test -n "$damage"
diag "audit verify: $damage"

lines=$(wc -l <"$log")
cluster restart-ctld >/dev/null 2>&1

as_user aif-alice sbatch --parsable -p h100 --gres=gpu:h100:1 -t 5 --wrap true
is "$AS_RC" 1 "a metered job is refused while the ledger is not rebuilt"
like "$AS_ERR" "aifactory: GPU-hour budgets are unavailable \(the ledger's journal cannot be opened; the centre's operators are told\), so no job of class startup can be admitted against them now" \
	"saying that budgets are unavailable"
as_user aif-bob sbatch --parsable --hold -p h100 --gres=gpu:h100:1 -t 5 --wrap true
is "$AS_RC" 0 "a class with a fallback QOS still takes jobs" || diag "$AS_ERR"
is "$(job_field "$AS_OUT" QOS)" fallback "in its fallback QOS"
run scancel "$AS_OUT"
since=$(tail -n +"$((lines + 1))" "$log")
like "$since" "error: aifactory: GPU-hour budgets are unavailable: journal [^ ]* cannot be opened: $damage" \
	"the log says why at error level, naming the damage as audit verify does"

# The operator restores the file and reconfigures: budgets are back.
cp -p "$AIF_CLUSTER_DIR/journal.good" "$journal"
run scontrol reconfigure
back=0
for _ in $(seq 30); do
	as_user aif-alice sbatch --parsable --hold -p h100 --gres=gpu:h100:1 -t 5 --wrap true
	[ "$AS_RC" = 0 ] && { back=1; run scancel "$AS_OUT"; break; }
	sleep 0.5
done
is "$back" 1 "after scontrol reconfigure a metered job is accepted again"
if slurm_at_least 24.5; then
	# A reconfigure starts a new slurmctld, which opens the restored
	# journal as at any start; the refusals the old one could not write
	# went with it (runs it could not charge come back through jobcomp's
	# sweep of the job list).
	like "$(tail -n +"$((lines + 1))" "$log")" "aifactory: journal [^ ]*: [0-9]+ runs charged in the last" \
		"the new slurmctld reads the restored journal"
	skip "the refusals made meanwhile are in the journal" \
		"from SLURM 24.05 they went with the slurmctld the reconfigure replaced"
else
	like "$(tail -n +"$((lines + 1))" "$log")" "GPU-hour budgets are enforced again" \
		"the recovery is logged"
	for _ in $(seq 20); do
		grep -q '"rule":"budget.unavailable"' "$journal" && break
		sleep 0.2
	done
	like "$(grep -c '"rule":"budget.unavailable"' "$journal")" '^[1-9]' \
		"the refusals made meanwhile are in the journal"
fi
run "$aifctl" audit verify "$state"
is "$AS_RC" 0 "the journal verifies" || diag "$AS_OUT"
done_testing
