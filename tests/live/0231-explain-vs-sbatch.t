#!/usr/bin/env bash
# aifctl explain runs the very admission job_submit runs, lien included,
# as a dry run: for each case of a table, a user's explain and the same
# user's real sbatch agree on the verdict, on the message of a refusal,
# and on what an accepted job is given (QOS, partition, project).
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
soon=$(date -u -d '+30 days' +%Y-%m-%d)
before=$(date -u -d '-90 days' +%Y-%m-%d)
gone=$(date -u -d '-30 days' +%Y-%m-%d)
# a100 has no billing weight: a metered job on it cannot be priced.
cluster_up_policy <<JSON
{
  "version": 1,
  "billing": { "gpu_weights": { "h100": 1.0 } },
  "classes": {
    "startup": { "partitions": ["h100", "a100"], "qos": "startup",
                 "max_gpus_per_job": 8, "default_time": "01:00:00" },
    "sme": { "partitions": ["h100", "a100"], "qos": "sme",
             "default_time": "01:00:00",
             "exhausted_action": "fallback", "fallback_qos": "fallback" },
    "strict": { "partitions": ["h100"], "qos": "research",
                "allowed_qos": ["research"], "gpu_types": ["h100"],
                "require_gpus": true, "max_gpus_per_node": 2,
                "max_nodes_per_job": 1, "max_time": "02:00:00" }
  },
  "projects": {
    "alpha": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [ { "name": "main", "gpu_hours": 10, "valid_from": "$today", "valid_until": "$later" } ] },
    "thrifty": { "class": "sme", "mode": "fast-lane", "users": ["aif-bob"],
      "grants": [ { "name": "small", "gpu_hours": 1, "valid_from": "$today", "valid_until": "$later" } ] },
    "gamma": { "class": "strict", "mode": "ai-for-science", "users": ["aif-carol"],
      "grants": [ { "name": "g", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] },
    "bare": { "class": "strict", "mode": "ai-for-science", "users": ["aif-carol"] },
    "early": { "class": "startup", "mode": "playground", "users": ["aif-dave"],
      "valid_from": "$soon" },
    "ended": { "class": "startup", "mode": "playground", "users": ["aif-dave"],
      "valid_from": "$before", "valid_until": "$gone" },
    "east": { "class": "startup", "mode": "playground", "users": ["aif-erin"] },
    "west": { "class": "startup", "mode": "playground", "users": ["aif-erin"] }
  }
}
JSON

# Users may not reach the build tree: they run a copy.
bin=$AIF_SCRATCH/bin
aifctl_copy "$bin"

# verdict CASE USER ARGS...: explain, then sbatch (held), as USER; they
# must agree. Each accepted job is cancelled before the next case, so the
# ledger each case meets has nothing reserved or charged.
compare() {
	local name=$1 user=$2 verdict message job want
	shift 2
	as_user "$user" env LD_LIBRARY_PATH="$bin" "$bin/aifctl" explain "$@"
	local e_rc=$AS_RC e_out=$AS_OUT
	verdict=$(sed -n 's/^decision:  \([a-z]*\) .*/\1/p' <<<"$e_out")
	[ -z "${RULE:-}" ] || is "$(sed -n 's/^decision:  [a-z]* (rule \(.*\))$/\1/p' <<<"$e_out")" \
		"$RULE" "$name: by rule $RULE"
	message=$(sed -n '/^message:$/,$p' <<<"$e_out" | sed 1d)
	as_user "$user" sbatch --parsable --hold "$@" --wrap true
	if [ "$AS_RC" = 0 ]; then
		job=$AS_OUT
		like "$verdict" '^(accept|reshape)$' "$name: sbatch accepts, and so does explain" ||
			diag "$e_out"
		is "$e_rc" 0 "$name: explain exits 0"
		want=$(sed -n 's/^set:       qos=//p' <<<"$e_out")
		[ -z "$want" ] || is "$(job_field "$job" QOS)" "$want" "$name: the QOS explain gives"
		want=$(sed -n 's/^set:       partition=//p' <<<"$e_out")
		[ -z "$want" ] || is "$(job_field "$job" Partition)" "$want" "$name: the partition explain gives"
		want=$(sed -n 's/^project:   \([^ ]*\) .*/\1/p' <<<"$e_out")
		like "$(job_field "$job" AdminComment)" "project=$want," "$name: the project explain gives"
		run scancel "$job"
		wait_job_state "$job" CANCELLED 10
	else
		is "$verdict" refuse "$name: sbatch refuses, and so does explain" ||
			diag "$e_out"
		is "$e_rc" 1 "$name: explain exits 1"
		is "$(head -1 <<<"$AS_ERR")" "sbatch: error: $message" \
			"$name: with the same message"
	fi
}

compare "fits" aif-alice -A alpha -p h100 --gres=gpu:h100:2 -t 60
compare "default project" aif-alice -p h100 --gres=gpu:h100:1 -t 30
compare "no billing weight" aif-alice -A alpha -p a100 --gres=gpu:a100:1 -t 60
compare "short of GPU-hours" aif-alice -A alpha -p h100 --gres=gpu:h100:6 -t 120
compare "too many GPUs" aif-alice -A alpha -p h100 --gpus=12 -t 10
compare "not a member" aif-bob -A alpha -p h100 --gres=gpu:h100:1 -t 10
compare "fallback QOS" aif-bob -A thrifty -p h100 --gres=gpu:h100:2 -t 60
compare "outlives its grants" aif-alice -A alpha -p h100 --gres=gpu:h100:1 -t 365-00:00:00
# Every other refusal at submit, one case each. Not here: a job array's
# (budget.array; explain judges one job), a malformed GPU request (sbatch
# refuses it before slurmctld sees it; test_admit has explain's) and a
# damaged journal's (budget.unavailable, 0210).
RULE=project.unknown compare "unknown project" aif-alice -A nosuch -p h100 --gres=gpu:h100:1 -t 10
RULE=project.ambiguous compare "several projects, none chosen" aif-erin -p h100 --gres=gpu:h100:1 -t 10
RULE=project.none compare "no project open" aif-dave -p h100 --gres=gpu:h100:1 -t 10
RULE=project.valid_from compare "project not started" aif-dave -A early -p h100 --gres=gpu:h100:1 -t 10
RULE=project.valid_until compare "project ended" aif-dave -A ended -p h100 --gres=gpu:h100:1 -t 10
RULE=class.partitions compare "partition of another class" aif-carol -A gamma -p a100 --gres=gpu:h100:1 -t 10
RULE=class.require_gpus compare "no GPU asked for" aif-carol -A gamma -p h100 -t 10
RULE=class.max_gpus_per_node compare "too many GPUs on a node" aif-carol -A gamma -p h100 --gres=gpu:h100:4 -t 10
RULE=class.gpu_types compare "GPU type of another class" aif-carol -A gamma -p h100 --gres=gpu:a100:1 -t 10
RULE=class.max_nodes_per_job compare "too many nodes" aif-carol -A gamma -p h100 -N 2 --gres=gpu:h100:1 -t 10
RULE=class.max_time compare "too long" aif-carol -A gamma -p h100 --gres=gpu:h100:1 -t 03:00:00
RULE=class.allowed_qos compare "QOS not allowed" aif-carol -A gamma -p h100 -q sme --gres=gpu:h100:1 -t 10
RULE=budget.no_grant compare "metered, without a grant" aif-carol -A bare -p h100 --gres=gpu:h100:1 -t 10
compare "within the strict class" aif-carol -A gamma -p h100 -q research --gres=gpu:h100:2 -t 60

# What explain prices against is said: a user cannot read the journal.
as_user aif-alice env LD_LIBRARY_PATH="$bin" "$bin/aifctl" explain -A alpha -p h100 --gres=gpu:h100:1 -t 10
like "$AS_OUT" $'\nledger:    the policy\'s grants, nothing charged or reserved ' \
	"a user's explain says it priced against the grants alone"
run "$top_builddir/contrib/aifctl/aifctl" explain -u aif-alice -A alpha -p h100 --gres=gpu:h100:1 -t 10
like "$AS_OUT" $'\nledger:    the journal in [^ ]+, and the liens of queued jobs' \
	"root's explain prices against the journal and the queue"
done_testing
