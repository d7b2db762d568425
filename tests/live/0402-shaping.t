#!/usr/bin/env bash
# Shaping at submit (job_submit/aifactory) with spank/aifactory on the
# nodes: a class's CPUs and memory per GPU (a number, or "auto" from the
# partition's nodes) set on jobs that named none, its ceiling on CPUs per
# GPU refused with the fix, its default --aif-bind reaching the batch
# step; aifctl explain shows the same shaping; and the charge record
# says on which nodes and GPUs, with which binding, each job ran.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites
live_budget 300

aifctl=$top_builddir/contrib/aifctl/aifctl
topology_node a1 "$top_srcdir/tests/fixtures/topology/aif-node-4gpu.xml"
export AIF_JOBCOMP=jobcomp/aifactory
today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
cluster_up_policy <<JSON
{
  "version": 1,
  "billing": { "gpu_weights": { "a100": 1.0 } },
  "classes": {
    "fixed": { "partitions": ["a100"], "cpus_per_gpu": 4, "max_cpus_per_gpu": 8,
               "mem_per_gpu": 2048, "bind": "strict" },
    "auto": { "partitions": ["a100"], "cpus_per_gpu": "auto",
              "max_cpus_per_gpu": "auto", "mem_per_gpu": "auto" },
    "mixed": { "partitions": ["a100", "h100"], "metered": false }
  },
  "projects": {
    "fx": { "class": "fixed", "mode": "m", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] },
    "au": { "class": "auto", "mode": "m", "users": ["aif-alice"],
      "grants": [ { "name": "g", "gpu_hours": 100, "valid_from": "$today", "valid_until": "$later" } ] },
    "mx": { "class": "mixed", "mode": "m", "users": ["aif-alice"] }
  }
}
JSON
install -m 755 /dev/null "$AIF_SCRATCH/show.sh"
printf '#!/bin/bash\necho "bind=${AIF_BIND-unset} gpus=${AIF_GPUS-unset} cvd=${CUDA_VISIBLE_DEVICES-unset}"\nsleep 2\n' \
	>"$AIF_SCRATCH/show.sh"

# fixed: 4 CPUs and 2 GB a GPU, strict.
as_user aif-alice sbatch --parsable -A fx -w a1 --gres=gpu:a100:2 -t 5 \
	-o "$AIF_SCRATCH/fx.out" "$AIF_SCRATCH/show.sh"
is "$AS_RC" 0 "a job of class fixed is admitted" || diag "$AS_ERR"
job=$AS_OUT
is "$(job_field "$job" CpusPerTres)" "gres:gpu:4" "--cpus-per-gpu=4 set"
is "$(job_field "$job" MemPerTres)" "gres:gpu:2048" "--mem-per-gpu=2048 set"
wait_job_state "$job" RUNNING 30
is "$(job_field "$job" NumCPUs)" 8 "SLURM gave it 4 CPUs a GPU"
idx=$(scontrol show job -d "$job" | sed -n 's/.*GRES=gpu:a100:2(IDX:\([0-9,-]*\)).*/\1/p' | head -1)
wait_job_state "$job" COMPLETED 30
like "$(cat "$AIF_SCRATCH/fx.out")" "^bind=strict gpus=[0-9,]+ " \
	"the class's --aif-bind=strict reached the batch step"
rec=$(journal_record "$job")
is "$(sed -n 's/.*"gpu_index":"\([^"]*\)".*/\1/p' <<<"$rec")" "a1:$idx" \
	"the charge record: node a1, GPUs $idx (scontrol show job -d)"
is "$(journal_field "$rec" bind)" strict "and the binding: the class's"

# The user's own choices stand.
as_user aif-alice sbatch --parsable -A fx -w a1 --gres=gpu:a100:1 -c 2 --mem=1G \
	--aif-bind=none -t 5 -o "$AIF_SCRATCH/own.out" "$AIF_SCRATCH/show.sh"
job=$AS_OUT
is "$(job_field "$job" CpusPerTres)" "" "-c given: no --cpus-per-gpu"
is "$(job_field "$job" MemPerTres)" "" "--mem given: no --mem-per-gpu"
wait_job_state "$job" COMPLETED 30
like "$(cat "$AIF_SCRATCH/own.out")" "^bind=none gpus=unset " "--aif-bind=none stands"
is "$(journal_field "$(journal_record "$job")" bind)" none "and is recorded"

# Over the ceiling: refused, with the fix.
as_user aif-alice sbatch -A fx --gres=gpu:a100:1 --cpus-per-gpu=9 -t 5 --wrap true
ok "9 CPUs a GPU in class fixed: refused" test "$AS_RC" != 0
like "$AS_ERR" "class fixed allows at most 8 CPUs per GPU and this job asks for 9 \\(classes.fixed.max_cpus_per_gpu\\). Use --cpus-per-gpu=8, or ask for more GPUs." \
	"saying what to ask instead"

# auto: partition a100's nodes have 32 CPUs and 500 GB for 4 GPUs.
as_user aif-alice sbatch --parsable -A au --gres=gpu:a100:1 -t 5 --wrap 'sleep 1'
job=$AS_OUT
is "$(job_field "$job" CpusPerTres)" "gres:gpu:8" "auto: 32 CPUs over 4 GPUs, 8 a GPU"
is "$(job_field "$job" MemPerTres)" "gres:gpu:128000" "and 512000 MB over 4, 128000 MB a GPU"
as_user aif-alice sbatch -A au --gres=gpu:a100:1 -n 9 -t 5 --wrap true
ok "9 CPUs for one GPU in class auto: refused" test "$AS_RC" != 0
like "$AS_ERR" "class auto allows at most 8 CPUs per GPU \\(a GPU's share of the cores of partition a100's nodes\\) and this job asks for 9" \
	"naming the partition"

# An update past the ceiling is refused as a submission is (SLURM 22.05's
# scontrol cannot show why: the log can).
as_user aif-alice sbatch --parsable -A fx --hold --gres=gpu:a100:2 -t 5 --wrap true
held=$AS_OUT
as_user aif-alice scontrol update JobId="$held" NumCPUs=40
ok "NumCPUs=40 for 2 GPUs of class fixed (20 a GPU): refused" test "$AS_RC" != 0
ok "the log says why" grep -q "class fixed allows at most 8 CPUs per GPU and this job asks for 20" \
	"$AIF_CLUSTER_DIR/log/slurmctld.log"
as_user aif-alice scontrol update JobId="$held" NumCPUs=16
is "$AS_RC" 0 "NumCPUs=16 (8 a GPU): accepted"
run scancel "$held"

# A job submitted from inside a job of another class does not inherit
# the outer class's default: its AIF_BIND is taken out at submit when
# the inner class sets none. (An outer --aif-bind is another matter:
# SLURM itself passes SPANK options on to the commands a job runs.)
as_user aif-alice env AIF_SCRATCH="$AIF_SCRATCH" sbatch --parsable -A fx -w a1 \
	--gres=gpu:a100:1 -t 5 -o "$AIF_SCRATCH/outer.out" \
	--wrap "sbatch --parsable -A au -w a1 --gres=gpu:a100:1 -t 5 -o $AIF_SCRATCH/inner.out $AIF_SCRATCH/show.sh"
outer=$AS_OUT
wait_job_state "$outer" COMPLETED 60
inner=$(tr -dc 0-9 <"$AIF_SCRATCH/outer.out")
ok "the outer job submitted an inner one" test -n "$inner"
wait_job_state "$inner" COMPLETED 60
like "$(cat "$AIF_SCRATCH/inner.out" 2>/dev/null)" "^bind=auto " \
	"the inner job runs in the node's default, not the outer's strict"

# A typed job without -p goes to the class's partition that has its type
# (issue 12: it went to the first, a100, and SLURM refused it).
as_user aif-alice sbatch --parsable -A mx --gres=gpu:h100:1 -t 5 --wrap true
is "$AS_RC" 0 "an h100 job of class mixed without -p is admitted" || diag "$AS_ERR"
is "$(job_field "$AS_OUT" Partition)" h100 "into partition h100, whose nodes have h100s"
as_user aif-alice sbatch --parsable -A mx --gres=gpu:a100:1 -t 5 --wrap true
is "$(job_field "$AS_OUT" Partition)" a100 "an a100 job: the class's first, a100"
run "$aifctl" explain --policy "$AIF_CLUSTER_DIR/etc/aifactory.json" -u aif-alice -A mx --gres=gpu:h100:1 -t 5
like "$AS_OUT" "set:       partition=h100" "aifctl explain picks the same partition"

# aifctl explain shows the shaping sbatch got.
run "$aifctl" explain --policy "$AIF_CLUSTER_DIR/etc/aifactory.json" -u aif-alice -A au --gres=gpu:a100:1 -t 5
like "$AS_OUT" $'set:       cpus-per-gpu=8\nset:       mem-per-gpu=128000M\nshape:     --cpus-per-gpu=8 \\(classes.auto.cpus_per_gpu: auto, from the partition\'s nodes\\); --mem-per-gpu=128000M \\(classes.auto.mem_per_gpu: auto, from the partition\'s nodes\\)' \
	"aifctl explain: the same shaping, and why"
run "$aifctl" explain --policy "$AIF_CLUSTER_DIR/etc/aifactory.json" -u aif-alice -A fx --gres=gpu:a100:1 --cpus-per-gpu=9 -t 5
is "$AS_RC" 1 "explain refuses what sbatch refused"
like "$AS_OUT" "class fixed allows at most 8 CPUs per GPU" "with the same message"
done_testing
