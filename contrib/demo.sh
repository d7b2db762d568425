#!/usr/bin/env bash
# The demo: a throwaway cluster with job_submit/aifactory and the example
# policy (start-up, SME and research classes), three ordinary users
# submitting, and what SLURM shows afterwards. Run it through
# "sudo contrib/bootstrap.sh demo", which builds first.
#
# AIF_KEEP_CLUSTER=1 leaves the cluster running and prints how to use it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${AIF_BUILD_DIR:-$top}
examples=$top/contrib/examples
dir=$(mktemp -d /tmp/aif-demo.XXXXXX)
chmod 755 "$dir"

stop() { [ "${AIF_KEEP_CLUSTER:-0}" = 1 ] || "$top/tests/cluster/cluster.sh" stop "$dir" || true; }
trap stop EXIT

title() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run_as() {	# run_as USER CMD...: show it, run it, show the exit code
	local user=$1 rc=0
	shift
	printf '\n%s$ %s\n' "$user" "$*"
	runuser -u "$user" -- env SLURM_CONF="$SLURM_CONF" "$@" 2>&1 || rc=$?
	printf '(exit %s)\n' "$rc"
}

title "Starting a throwaway cluster: munged, MariaDB, slurmdbd, slurmctld, 4 slurmd (2 x 8 h100, 2 x 4 a100)"
AIF_PLUGIN_DIR=$build/plugindir AIF_JOB_SUBMIT_PLUGINS=aifactory \
AIF_POLICY=$examples/aifactory.json AIF_POLICY_DIR=$examples/aifactory.d \
	"$top/tests/cluster/cluster.sh" start "$dir" >/dev/null
# shellcheck disable=SC1091
. "$dir/env"
sinfo -o '%10P %6D %20G %T'

title "The policy (checked the way an operator would before a reload)"
"$build/contrib/aifctl/aifctl" check "$dir/etc/aifactory.json"
printf 'classes: startup (<=8 GPUs, 1 node, 24 h, qos startup), sme (<=16 GPUs, 2 nodes, 2 days), research (a100 only)\n'
printf 'projects: acme-ai (startup; group aif-acme: alice, bob), voltwerk (sme; dave), lab-genomics (research; carol, erin), robotix (startup; erin; from aifactory.d/)\n'

title "1. alice asks for exactly what her class allows: accepted as is"
run_as aif-alice sbatch -A acme-ai -p h100 --qos=startup -t 1:00:00 \
	--gres=gpu:h100:2 -o /dev/null --wrap 'sleep 30'

title "2. dave gives no project, partition, QOS or time: reshaped"
run_as aif-dave sbatch --gpus=4 -o /dev/null --wrap 'sleep 30'

title "3. carol asks her research class for H100s on 4 nodes: refused, with the fix"
run_as aif-carol sbatch -A lab-genomics -N 4 --gres=gpu:h100:4 -o /dev/null --wrap 'sleep 30'

title "4. the operator asks aifctl explain the same question, without a cluster"
printf '\n# aifctl explain -u aif-carol -A lab-genomics -N 4 --gres=gpu:h100:4\n'
"$build/contrib/aifctl/aifctl" explain --policy "$dir/etc/aifactory.json" \
	-u aif-carol -A lab-genomics -N 4 --gres=gpu:h100:4 || true

title "What SLURM shows"
for _ in $(seq 50); do	# the first scheduling pass comes a few seconds in
	[ -z "$(squeue -h -t PENDING -o %i)" ] && break
	sleep 0.2
done
squeue -o '%.5i %.10u %.13a %.8P %.9q %.10l %.8T %R'
for id in $(squeue -h -o %i); do
	scontrol show job "$id" | grep -E 'JobId|Account=|Partition=|TimeLimit=|AdminComment' | sed 's/^ */  /'
done
if [ "${AIF_KEEP_CLUSTER:-0}" = 1 ]; then
	title "The cluster keeps running"
	echo "  . $dir/env    # then sbatch/squeue as any aif-* user"
	echo "  $top/tests/cluster/cluster.sh stop $dir"
fi
