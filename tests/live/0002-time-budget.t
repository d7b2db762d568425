#!/usr/bin/env bash
# Every live test runs under a time budget (tests/cluster/lib.sh): a test
# that waits on a job that cannot run fails once its budget is spent, with
# squeue, sinfo and the daemons' log tails as diagnostics, and leaves no
# process of its cluster behind. The failing test runs here as a child;
# this one checks what it printed and what it left.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

work=$(mktemp -d /tmp/aif-budget-test.XXXXXX) || bail_out "mktemp failed"
trap 'rm -rf -- "$work"' EXIT
chmod 755 "$work"

# The budget's supervisor passes TAP through whole, even a line that
# comes in pieces more than a second apart.
cat >"$work/pieces.t" <<EOF
#!/usr/bin/env bash
. "$top_srcdir/tests/cluster/lib.sh"
printf 'o'; sleep 1.5; printf 'k 1 - in'; sleep 1.2; printf ' pieces\n'
_tap_n=1
ok "whole" true
done_testing
EOF
chmod 755 "$work/pieces.t"
out=$(env -u AIF_BUDGET_DIR "$work/pieces.t" 2>/dev/null)
is "$out" $'ok 1 - in pieces\nok 2 - whole\n1..2' "a TAP line written in pieces comes through whole"

# The failing test: a cluster, then an sbatch -W on a job that cannot
# start for an hour, with 5 s left in its budget.
cat >"$work/stuck.t" <<EOF
#!/usr/bin/env bash
set -uo pipefail
. "$top_srcdir/tests/cluster/lib.sh"
live_budget 240	# room to start a cluster on a busy machine
cluster_up
ok "the cluster is up" true
for f in "\$AIF_CLUSTER_DIR"/run/*.pid "\$AIF_CLUSTER_DIR/db/mariadbd.pid" \\
	"\$AIF_CLUSTER_DIR/munge/munged.pid"; do
	tr -dc '0-9\n' <"\$f"
done >"$work/pids"
printf '%s\n' "\$AIF_CLUSTER_DIR" >"$work/dir"
live_budget 5
date +%s >"$work/stuck-at"
as_user aif-alice sbatch -W --job-name=never --begin=now+3600 --wrap true
ok "sbatch -W came back" true
done_testing
EOF
chmod 755 "$work/stuck.t"

started=$EPOCHSECONDS
out=$(env -u AIF_BUDGET_DIR AIF_BUDGET=300 "$work/stuck.t" 2>&1)
rc=$?
ended=$EPOCHSECONDS
dir=$(cat "$work/dir" 2>/dev/null)
diag "the stuck test ran ${dir:+on $dir }in $((ended - started)) s; it printed:" "$out"

is "$rc" 1 "the stuck test fails"
like "$out" $'(^|\n)ok 1 - the cluster is up\n' "its first test passed"
like "$out" $'(^|\n)not ok 2 - time budget of [0-9]+ s spent: stuck.t stopped\n' \
	"then a 'not ok' says its time budget is spent"
like "$out" $'(^|\n)1\\.\\.2(\n|$)' "and the plan counts it"
ok "nothing after the stuck wait ran" eval '! grep -q "sbatch -W came back" <<<"$out"'
stuck_at=$(cat "$work/stuck-at" 2>/dev/null || echo 0)
ok "it failed within its last 5 s of budget and the tear-down (under 60 s)" \
	test $((ended - stuck_at)) -lt $(( $(_scaled 60) ))
like "$out" $'\n# [ ]*[0-9]+ +h100 +never +aif-alice +PENDING ' \
	"the diagnostics show squeue with the job that could not start"
like "$out" $'\n# h1 +h100\\*? +idle' "and sinfo"
for log in slurmctld slurmd-h1 slurmd-a2 slurmdbd; do
	like "$out" $'\n# ==> [^\n]*/log/'"$log"$'\\.log <==\n# [^\n]*[0-9]' \
		"and the tail of $log.log"
done
like "$out" $'\n# cluster stopped; its logs are kept in ' "the cluster is stopped"

mapfile -t pids <"$work/pids"
is "${#pids[@]}" 8 "the stuck test's cluster had eight daemons"
left=()
for pid in "${pids[@]}"; do
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ] || left+=("$pid")
done
is "${left[*]}" "" "none of them is left"
# Nor the sbatch -W, nor anything else that used that cluster.
others=()
if [ -n "$dir" ]; then
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$p/environ" |
			grep -qxF "SLURM_CONF=$dir/etc/slurm.conf" && others+=("${p#/proc/}")
	done
fi
is "${others[*]}" "" "no process of that cluster is left"
ok "its logs are kept" test -s "$dir/log/slurmctld.log"
[ -z "$dir" ] || [ "$_tap_failed" != 0 ] || rm -rf -- "$dir"

done_testing
