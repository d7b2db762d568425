# replay.sh compare: one trace, two test clusters at once, one with
# slurm-aifactory and one with stock SLURM set to the same intent.
# Sourced by replay.sh (its functions and constants).
#
# Both clusters: tests/cluster's four nodes, jobs in partition h100 (16
# GPUs), priority/multifactor with PriorityCalcPeriod=1,
# PriorityWeightAge=1000, PriorityDecayHalfLife of 7 days compressed as
# the trace is (at least a minute), AccountingStorageEnforce=
# associations,limits, the QOS startup, sme and research.
#
#   ours:  job_submit, jobcomp and site_factor/aifactory; the projects as
#          accounts under root (Fairshare=1 each), PriorityWeightFairshare=
#          2000 for fairness among projects; the policy's classes with
#          shares 0.3/0.2/0.5, class_weight 10000, pacing_weight 2000, and
#          a grant per project far larger than the trace needs.
#   stock: no plugin of ours; an account per class under root with
#          Fairshare 30, 20 and 50 (its share), the projects under their
#          class (Fairshare=1 each), PriorityWeightFairshare=10000: the
#          fair-share tree is how stock SLURM gives classes shares.
#
# SPDX-License-Identifier: GPL-2.0-or-later

_compare_dirs=()

_compare_stop() {
	local d
	for d in "${_compare_dirs[@]}"; do
		"$top/tests/cluster/cluster.sh" stop "$d" >/dev/null 2>&1 || true
		[ "${AIF_KEEP_CLUSTER:-0}" = 1 ] || rm -rf -- "$d"
	done
}

_policy() {
	local today later
	today=$(date -u +%F)
	later=$(date -u -d '+30 days' +%F)
	awk -v today="$today" -v later="$later" 'BEGIN {
		print "{ \"version\": 1,"
		print "  \"priority\": { \"class_weight\": 10000, \"pacing_weight\": 2000 },"
		print "  \"billing\": { \"gpu_weights\": { \"h100\": 1.0, \"a100\": 1.0 } },"
		print "  \"classes\": {"
		print "    \"startup\": { \"share\": 0.3, \"partitions\": [\"h100\"], \"qos\": \"startup\" },"
		print "    \"sme\": { \"share\": 0.2, \"partitions\": [\"h100\"], \"qos\": \"sme\" },"
		print "    \"research\": { \"share\": 0.5, \"partitions\": [\"h100\"], \"qos\": \"research\" } },"
		print "  \"projects\": {"
		split("startup sme research", cls, " ")
		user["startup"] = "aif-alice"; user["sme"] = "aif-bob"; user["research"] = "aif-carol"
		for (i = 1; i <= 3; i++) for (j = 0; j < 3; j++) {
			c = cls[i]
			printf "    \"%s-%d\": { \"class\": \"%s\", \"mode\": \"replay\", \"users\": [\"%s\"], \"grants\": [ { \"name\": \"g\", \"gpu_hours\": 1000000, \"valid_from\": \"%s\", \"valid_until\": \"%s\" } ] }%s\n",
				c, j, c, user[c], today, later, (i == 3 && j == 2) ? "" : ","
		}
		print "  } }"
	}'
}

# _accounts ours|stock: the association tree, on the cluster SLURM_CONF names.
_accounts() {
	local c j
	for c in startup sme research; do
		case $1 in
		stock)
			sacctmgr -i add account "$c" fairshare="$(awk -v t="${TARGET[$c]}" 'BEGIN { print 100 * t }')" \
				qos="$c" >/dev/null
			for j in 0 1 2; do
				sacctmgr -i add account "$c-$j" parent="$c" fairshare=1 qos="$c" >/dev/null
			done ;;
		*)
			for j in 0 1 2; do
				sacctmgr -i add account "$c-$j" fairshare=1 qos="$c" >/dev/null
			done ;;
		esac
	done
	sacctmgr -i add user aif-alice account=startup-0,startup-1,startup-2 >/dev/null
	sacctmgr -i add user aif-bob account=sme-0,sme-1,sme-2 >/dev/null
	sacctmgr -i add user aif-carol account=research-0,research-1,research-2 >/dev/null
}

# compare TRACE OUTDIR [PLAN OPTIONS]
compare() {
	local trace=$1 out=$2 build=${AIF_BUILD_DIR:-$top} compress=1 hl policy
	local ours stock extra rc_ours=0 rc_stock=0 a b pid_ours pid_stock
	shift 2
	[ "$(id -u)" = 0 ] || die "run as root: it starts test clusters"
	[ -x "$build/contrib/aifctl/aifctl" ] && [ -d "$build/plugindir" ] ||
		die "no built tree in $build (make, or set AIF_BUILD_DIR)"
	for ((a = 1; a <= $#; a++)); do
		[ "${!a}" = --compress ] && { b=$((a + 1)); compress=${!b}; }
	done
	mkdir -p "$out"
	plan "$trace" "$@" >"$out/plan.csv"
	a=$(($(wc -l <"$out/plan.csv") - 1))
	[ "$a" -gt 0 ] || die "the plan has no job: nothing to replay"
	say "plan: $a jobs"
	# 7 days of decay, compressed as the trace is, in whole minutes.
	hl=$(awk -v f="$compress" 'BEGIN { m = int(7 * 24 * 60 / f); if (m < 1) m = 1;
		printf "%d-%02d:%02d:00", m / 1440, (m % 1440) / 60, m % 60 }')
	extra="PriorityCalcPeriod=1
PriorityDecayHalfLife=$hl
PriorityWeightAge=1000
AccountingStorageEnforce=associations,limits"

	ours=$(mktemp -d /tmp/aif-replay-ours.XXXXXX)
	stock=$(mktemp -d /tmp/aif-replay-stock.XXXXXX)
	_compare_dirs=("$ours" "$stock")
	trap _compare_stop EXIT
	policy=$(mktemp /tmp/aif-replay-policy.XXXXXX)
	_policy >"$policy"
	chmod 644 "$policy"
	AIF_PLUGIN_DIR=$build/plugindir AIF_JOB_SUBMIT_PLUGINS=aifactory \
		AIF_JOBCOMP=jobcomp/aifactory AIF_POLICY=$policy \
		AIF_SLURM_EXTRA="$extra
PrioritySiteFactorPlugin=site_factor/aifactory
PriorityWeightFairshare=2000" \
		"$top/tests/cluster/cluster.sh" start "$ours" >/dev/null &
	pid_ours=$!
	AIF_SLURM_EXTRA="$extra
PriorityWeightFairshare=10000" \
		"$top/tests/cluster/cluster.sh" start "$stock" >/dev/null &
	pid_stock=$!
	wait "$pid_ours" || die "the cluster with slurm-aifactory did not start ($ours)"
	wait "$pid_stock" || die "the stock cluster did not start ($stock)"
	rm -f -- "$policy"
	SLURM_CONF=$ours/etc/slurm.conf _accounts ours
	SLURM_CONF=$stock/etc/slurm.conf _accounts stock
	sleep 2	# slurmdbd pushes the associations to slurmctld

	say "replaying on both clusters at once"
	SLURM_CONF=$ours/etc/slurm.conf run "$out/plan.csv" ours &
	pid_ours=$!
	SLURM_CONF=$stock/etc/slurm.conf run "$out/plan.csv" stock &
	pid_stock=$!
	wait "$pid_ours" || rc_ours=$?
	wait "$pid_stock" || rc_stock=$?

	SLURM_CONF=$ours/etc/slurm.conf AIFCTL=$build/contrib/aifctl/aifctl \
		report "$out/plan.csv" ours "$out" --journal "$ours/state/aifactory"
	SLURM_CONF=$stock/etc/slurm.conf report "$out/plan.csv" stock "$out"
	table "$out" ours stock | tee "$out/table.txt"
	if [ -s "$out/ours-journal.csv" ]; then
		printf '\njournal (ours), GPU-hours by class: %s\n' \
			"$(awk -F, 'NR > 1 { printf "%s%s %s", n++ ? ", " : "", $1, $3 }' \
				"$out/ours-journal.csv")" | tee -a "$out/table.txt"
	fi
	chart "$out" ours stock
	[ "$rc_ours" = 0 ] && [ "$rc_stock" = 0 ]
}
