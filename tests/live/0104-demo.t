#!/usr/bin/env bash
# The demo an operator runs first: it starts its own cluster, shows one
# job accepted, one reshaped and one refused with its message, and ends
# with what squeue and scontrol show, tags included.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail
. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

out=$(AIF_BUILD_DIR=$top_builddir "$top_srcdir/contrib/demo.sh" 2>&1)
is "$?" 0 "the demo runs to the end" || diag "$out"

like "$out" $'sbatch -A acme-ai -p h100 --qos=startup -t 1:00:00 --gres=gpu:h100:2 -o /dev/null --wrap sleep 30\nSubmitted batch job [0-9]+\n\\(exit 0\\)' \
	"alice's job is accepted"
like "$out" $'aif-dave\\$ sbatch --gpus=4 -o /dev/null --wrap sleep 30\nSubmitted batch job [0-9]+\n\\(exit 0\\)' \
	"dave's job is accepted"
like "$out" "sbatch: error: aifactory: project lab-genomics \\(class research\\) allows at most 2 nodes per job and this job asks for 4 \\(classes.research.max_nodes_per_job\\). Use -N 2." \
	"carol's job is refused with the rule, the numbers and the fix"
like "$out" $'Batch job submission failed: Node count specification invalid\n\\(exit 1\\)' \
	"and sbatch exits 1"
like "$out" "decision:  refuse \\(rule class.max_nodes_per_job\\)" \
	"aifctl explain gives the same answer"
like "$out" "aif-dave +voltwerk +h100 +sme 2-00:00:00 +(RUNNING|PENDING)" \
	"squeue shows dave's job reshaped: project, partition, QOS, time"
like "$out" "AdminComment=aif:class=sme,project=voltwerk,mode=fast-lane,sector=energy" \
	"scontrol shows its tag"
like "$out" "AdminComment=aif:class=startup,project=acme-ai,mode=playground,sector=health" \
	"and alice's"
like "$out" "cluster: stopped /tmp/aif-demo" "the demo stops its cluster"
done_testing
