#!/usr/bin/env bash
# aifctl balance: per grant what was granted, charged (the journal's
# charges) and reserved (the liens of the pending and running jobs), what
# is left, and per project the burn rate and when the money runs out;
# -A shows one project. root reads the journal; users ask slurmctld and
# see only their own projects, operators all.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
soon=$(date -u -d '+30 days' +%Y-%m-%d)	# drawn first
later=$(date -u -d '+90 days' +%Y-%m-%d)
cluster_up_policy <<JSON
{
  "version": 1,
  "balance_port": @BALANCE_PORT@,
  "operators": { "users": ["aif-erin"] },
  "billing": { "gpu_weights": { "h100": 1.0, "a100": 0.5 } },
  "classes": {
    "startup": { "max_time": "3-00:00:00", "default_time": "01:00:00",
                 "partitions": ["h100", "a100"], "qos": "startup" }
  },
  "projects": {
    "aif-alice": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [
        { "name": "first", "gpu_hours": 10, "valid_from": "$today", "valid_until": "$soon" },
        { "name": "second", "gpu_hours": 20, "valid_from": "$today", "valid_until": "$later", "gpu_type": "h100" }
      ] },
    "bobs": { "class": "startup", "mode": "playground", "users": ["aif-bob"],
      "grants": [
        { "name": "only", "gpu_hours": 5, "valid_from": "$today", "valid_until": "$later" }
      ] }
  }
}
JSON
journal=$AIF_CLUSTER_DIR/state/aifactory/journal
aifctl=$top_builddir/contrib/aifctl

row() {	# row PROJECT GRANT WINDOW GPU GRANTED CHARGED RESERVED LEFT
	printf '%-16s %-16s %-22s %-8s %10s %10s %10s %10s' "$@"
}
header=$(row PROJECT GRANT "WINDOW (UTC)" GPU GRANTED CHARGED RESERVED LEFT)

# --- one job that ran, one that waits
as_user aif-alice sbatch --parsable -p h100 --gres=gpu:h100:2 -t 10 --wrap 'sleep 3'
is "$AS_RC" 0 "alice submits a 2 x h100 job" || diag "$AS_ERR"
ran=$AS_OUT
ok "it completes" wait_job_state "$ran" COMPLETED 30
rec=$(journal_record "$ran")
ok "its charge is in the journal" test -n "$rec"
amount=$(journal_field "$rec" amount)
is "$(journal_field "$rec" part1)" "first=$amount/36000000/$((36000000 - amount))" \
	"charged to the grant that ends first"
as_user aif-alice sbatch --parsable --hold -p h100 --gres=gpu:h100:1 -t 60 --wrap true
is "$AS_RC" 0 "alice holds a 1 x h100 job of an hour" || diag "$AS_ERR"
held=$AS_OUT

# --- the balance, as root
left_first=$((36000000 - amount - 3600000))
alice="$(row aif-alice first "$today..$soon" any 10.00 "$(gph "$amount")" 1.00 "$(gph "$left_first")")
$(row aif-alice second "$today..$later" h100 20.00 0.00 0.00 20.00)
aif-alice: burn rate $(gph $((amount / 30)))/day over the last 30 days; runs out never (its grants end on $later first)"
bob="$(row bobs only "$today..$later" any 5.00 0.00 0.00 5.00)
bobs: burn rate 0.00/day over the last 30 days; runs out never"
run "$aifctl" balance
is "$AS_RC" 0 "aifctl balance exits 0" || diag "$AS_ERR"
is "$AS_OUT" "$header
$alice
$bob" "granted, the journal's charge ($amount), the held job's lien (1 x h100 x 1 h), what is left"
is "$(gph "$left_first")" \
	"$(awk -v g=10.00 -v c="$(gph "$amount")" 'BEGIN { printf "%.2f", g - c - 1.00 }')" \
	"left = granted - charged - reserved, as printed"

run "$aifctl" balance -A aif-alice
is "$AS_OUT" "$header
$alice" "-A shows that project only"
run "$aifctl" balance -A nosuch
is "$AS_RC/$AS_ERR" "2/aifctl: no project nosuch in $AIF_CLUSTER_DIR/etc/aifactory.json" \
	"-A with a project the policy does not have: exit 2"
run "$aifctl" balance extra
is "$AS_RC" 2 "a stray argument is a usage error"

# --- the liens go with the jobs
run scancel "$held"
wait_job_state "$held" CANCELLED 30
run "$aifctl" balance -A bobs --policy "$AIF_CLUSTER_DIR/etc/aifactory.json" \
	--journal "$AIF_CLUSTER_DIR/state/aifactory"
is "$AS_OUT" "$header
$bob" "--policy and --journal name them"
run "$aifctl" balance -A aif-alice
like "$AS_OUT" "aif-alice +first .* 0\\.00 +$(gph $((36000000 - amount)))"$'\n' \
	"a cancelled job reserves nothing"

# --- users ask slurmctld, which answers with their own projects (MUNGE
# says who asks). alice may not reach the build tree (a checkout under
# /root is 0700): users run a copy.
bin=$AIF_SCRATCH/bin
aifctl_copy "$bin"
user_balance() {	# user_balance USER [ARGS]
	local user=$1
	shift
	as_user "$user" env LD_LIBRARY_PATH="$bin" "$bin/aifctl" balance "$@"
}
port=$(sed -n 's/.*"balance_port": \([0-9]*\).*/\1/p' "$AIF_CLUSTER_DIR/etc/aifactory.json")
like "$(cat "$AIF_CLUSTER_DIR/log/slurmctld.log")" \
	"answering members' balance queries on port $port" "slurmctld answers balance queries"
run "$aifctl" balance
root_view=$AS_OUT
user_balance aif-alice
is "$AS_RC" 0 "alice asks for her balance: exit 0" || diag "$AS_ERR"
is "$AS_OUT" "$(printf '%s\n' "$root_view" | sed '/^bobs/d')" \
	"she sees her own project, as root sees it, and not bob's"
user_balance aif-alice -A aif-alice
is "$AS_OUT" "$(printf '%s\n' "$root_view" | sed '/^bobs/d')" "-A her project: the same"
user_balance aif-alice -A bobs
is "$AS_RC/$AS_OUT" "2/" "-A another's project: exit 2, nothing shown"
is "$AS_ERR" "aifctl: no project bobs that you are a member of" "and why"
user_balance aif-alice -A nosuch
is "$AS_ERR" "aifctl: no project nosuch that you are a member of" \
	"a project that does not exist reads the same: no one learns what others have"
user_balance aif-bob
is "$AS_OUT" "$header
$bob" "bob sees his"
user_balance aif-carol
is "$AS_RC/$AS_ERR" "2/aifctl: you are a member of no project" "carol is in none"
user_balance aif-erin
is "$AS_OUT" "$root_view" "erin, an operator in the policy, sees every project"

# A request that is not a MUNGE credential is refused; the server goes on.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'not a credential\n' >&3
answer=$(cat <&3)
exec 3<&-
like "$answer" "^error credential refused: " "a forged request is refused"
user_balance aif-bob
is "$AS_RC" 0 "and the next query is answered"
done_testing
