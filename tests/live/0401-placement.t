#!/usr/bin/env bash
# spank/aifactory on the test cluster. Node a1 is given the project's own
# 4-GPU node (tests/fixtures/topology/aif-node-4gpu.xml: 2 packages x 2
# NUMA nodes, a GPU and a NIC per NUMA node, one GPU with no NIC of its
# own) and node a2 a node made of this machine's own CPUs with two GPUs
# (tests/cluster/topology-xml.py this-machine); each gets the gres.conf
# that `aifctl topology gres` writes for it, checked with `slurmd -G`.
# Jobs of an ordinary user print, per task, what the plugin set; on a1
# (not this machine) the binding is computed and shown, on a2 it is
# really applied and the task's own affinity is read back.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites
live_budget 300

aifctl=$top_builddir/contrib/aifctl/aifctl
xml=$(mktemp /tmp/aif-this-machine.XXXXXX.xml) || bail_out "mktemp failed"
python3 "$top_srcdir/tests/cluster/topology-xml.py" this-machine "$xml" ||
	bail_out "cannot describe this machine"
topology_node a1 "$top_srcdir/tests/fixtures/topology/aif-node-4gpu.xml"
topology_node a2 "$xml"
rm -f -- "$xml"
topo=$AIF_TOPOLOGY_DIR
# a2 takes the shape aifctl advises (an L3 cache a socket): SLURM 24.11
# refuses a GPU whose Cores= do not match its node's sockets (the node
# goes INVAL), where 22.05 took them.
cluster_up

like "$(scontrol show config | sed -n 's/^PluginDir *= *//p')" \
	"^$AIF_CLUSTER_DIR/plugins/0:/usr/lib/" \
	"the build's plugins come first in PluginDir: an installed copy never shadows them"
is "$AIF_SHAPE_a1" "Sockets=4 CoresPerSocket=4 ThreadsPerCore=2" \
	"gres: the node's shape for slurm.conf, as a comment"

# slurmd reads the generated gres.conf as written.
run slurmd -G -N a1
gres=$(printf '%s\n' "$AS_OUT$AS_ERR" | grep -o 'Cores=[0-9-]* .*Links=[-0-9,]*' | sed 's/ CoreCnt=[0-9]*//')
is "$(printf '%s\n' "$gres" | tr '\n' ';')" \
	"Cores=4-7 Links=-1,4,2,2;Cores=0-3 Links=4,-1,2,2;Cores=8-11 Links=2,2,-1,4;Cores=12-15 Links=2,2,4,-1;" \
	"slurmd -G: each GPU's cores and links from aifctl topology gres"

# What every task prints: its step, local id and what the plugin set.
report='echo "$1 ${SLURM_LOCALID:-0} bind=${AIF_BIND-unset} gpus=${AIF_GPUS-unset} cpus=${AIF_CPUS-unset} level=${AIF_BIND_LEVEL-unset} nics=${AIF_NICS-unset} hca=${NCCL_IB_HCA-unset} ucx=${UCX_NET_DEVICES-unset} cvd=${CUDA_VISIBLE_DEVICES-unset} rocr=${ROCR_VISIBLE_DEVICES-unset} aff=$(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status)"'
install -m 755 /dev/null "$AIF_SCRATCH/report.sh"
printf '#!/bin/bash\n%s\n' "$report" >"$AIF_SCRATCH/report.sh"

cat >"$AIF_SCRATCH/a1.sh" <<'EOF'
#!/bin/bash
R=$AIF_SCRATCH/report.sh
$R batch
srun -n4 -c8 $R multi | sort
srun -n1 -c32 --gres=gpu:a100:1 $R one
srun -n1 -c32 --aif-bind=none $R none
NCCL_IB_HCA=mine srun -n1 -c32 $R mine
srun -n2 -c16 --aif-bind=strict $R strict | sort
srun -n1 -c32 --gres=gpu:a100:1 --aif-bind=show true
EOF
chmod 755 "$AIF_SCRATCH/a1.sh"

as_user aif-alice env AIF_SCRATCH="$AIF_SCRATCH" sbatch --parsable -p a100 -w a1 \
	-n4 -c8 --gres=gpu:a100:4 -t 5 -o "$AIF_SCRATCH/a1.out" "$AIF_SCRATCH/a1.sh"
job=$AS_OUT
ok "a job on a1 is submitted" test "$AS_RC" = 0
wait_job_state "$job" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 120
is "$JOB_STATE" COMPLETED "it completes"
out=$(cat "$AIF_SCRATCH/a1.out" 2>/dev/null)
line() { printf '%s\n' "$out" | grep "^$1 $2 " | sed -E 's/ aff=.*//'; }

is "$(line batch 0)" \
	"batch 0 bind=auto gpus=0,1,2,3 cpus=0-31 level=local nics=mlx5_0,mlx5_1,mlx5_2 hca==mlx5_0,mlx5_1,mlx5_2 ucx=mlx5_0:2,mlx5_1:1,mlx5_2:1 cvd=0,1,2,3 rocr=0,1,2,3" \
	"batch step: all 4 GPUs' cores and NICs (SLURM binds no batch step)"
is "$(line multi 0)" \
	"multi 0 bind=auto gpus=0 cpus=4-7,20-23 level=local nics=mlx5_0 hca==mlx5_0 ucx=mlx5_0:2 cvd=0,1,2,3 rocr=0,1,2,3" \
	"4-task step, task 0: GPU 0's NUMA node and its NIC (port 2 active)"
is "$(line multi 1)" \
	"multi 1 bind=auto gpus=1 cpus=0-3,16-19 level=local nics=mlx5_1 hca==mlx5_1 ucx=mlx5_1:1 cvd=0,1,2,3 rocr=0,1,2,3" \
	"task 1: GPU 1, the other NUMA node of the first package"
is "$(line multi 2)" \
	"multi 2 bind=auto gpus=2 cpus=8-11,24-27 level=local nics=mlx5_2 hca==mlx5_2 ucx=mlx5_2:1 cvd=0,1,2,3 rocr=0,1,2,3" \
	"task 2: GPU 2 has no NIC of its own: the package's"
is "$(line multi 3)" \
	"multi 3 bind=auto gpus=3 cpus=12-15,28-31 level=local nics=mlx5_2 hca==mlx5_2 ucx=mlx5_2:1 cvd=0,1,2,3 rocr=0,1,2,3" \
	"task 3: GPU 3 and the NIC under its host bridge"
one=$(line one 0)
one_gpu=$(printf '%s\n' "$one" | sed -nE 's/.* gpus=([0-9,]+) .*/\1/p')
want=$("$aifctl" topology bind --xml "$topo/a1.xml" --gpus "$one_gpu" | sed -nE 's/^cpus ([^ ]*) .*/\1/p')
like "$one" "^one 0 bind=auto gpus=[0-3] cpus=$want level=local nics=mlx5_[0-2] hca==mlx5_[0-2] .* cvd=$one_gpu rocr=$one_gpu$" \
	"1-task step (SLURM's --gpu-bind skips it): its GPU's cores, as aifctl topology bind says"
is "$(line none 0)" \
	"none 0 bind=none gpus=unset cpus=unset level=unset nics=unset hca=unset ucx=unset cvd=0,1,2,3 rocr=0,1,2,3" \
	"--aif-bind=none: SLURM's GPUs, and nothing the batch step set leaks in"
like "$(line mine 0)" " hca=mine ucx=mlx5_0:2,mlx5_1:1,mlx5_2:1 " \
	"a NCCL_IB_HCA the user set stays theirs"
is "$(line strict 0)" \
	"strict 0 bind=strict gpus=0,1 cpus=0-7,16-23 level=local nics=mlx5_0,mlx5_1 hca==mlx5_0,mlx5_1 ucx=mlx5_0:2,mlx5_1:1 cvd=0,1 rocr=0,1" \
	"strict, 2 tasks: task 0 sees only its own 2 GPUs"
is "$(line strict 1)" \
	"strict 1 bind=strict gpus=2,3 cpus=8-15,24-31 level=local nics=mlx5_2 hca==mlx5_2 ucx=mlx5_2:1 cvd=2,3 rocr=2,3" \
	"and task 1 the other two"
like "$out" "aif-bind: a1 task 0: GPUs [0-3] -> CPUs [0-9,-]+ \\(local, computed from the node's XML, not applied\\), NICs mlx5_[0-2]" \
	"--aif-bind=show prints the binding"

# The option from sbatch: the script's steps inherit it.
printf '#!/bin/bash\n%s/report.sh batch\nsrun -n1 %s/report.sh step\n' "$AIF_SCRATCH" "$AIF_SCRATCH" >"$AIF_SCRATCH/inherit.sh"
chmod 755 "$AIF_SCRATCH/inherit.sh"
as_user aif-alice sbatch --parsable -p a100 -w a1 -n1 --gres=gpu:a100:1 -t 5 \
	--aif-bind=none -o "$AIF_SCRATCH/inherit.out" "$AIF_SCRATCH/inherit.sh"
job=$AS_OUT
wait_job_state "$job" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 60
out=$(cat "$AIF_SCRATCH/inherit.out" 2>/dev/null)
like "$(line batch 0)" "^batch 0 bind=none gpus=unset cpus=unset " "sbatch --aif-bind=none: the batch step"
like "$(line step 0)" "^step 0 bind=none gpus=unset cpus=unset " "and its steps"

as_user aif-alice sbatch -p a100 --aif-bind=bogus --wrap true
ok "--aif-bind=bogus: sbatch refuses" test "$AS_RC" != 0
like "$AS_ERR" "--aif-bind=bogus: use auto, strict, none or show" "saying what it takes"

# a2 is this machine: the binding is applied, and each task's own
# affinity is what the plugin computed.
cat >"$AIF_SCRATCH/a2.sh" <<'EOF'
#!/bin/bash
R=$AIF_SCRATCH/report.sh
$R batch
srun -n2 -c1 $R multi | sort
EOF
chmod 755 "$AIF_SCRATCH/a2.sh"
as_user aif-alice env AIF_SCRATCH="$AIF_SCRATCH" sbatch --parsable -p a100 -w a2 \
	-n2 -c1 --gres=gpu:a100:2 -t 5 -o "$AIF_SCRATCH/a2.out" "$AIF_SCRATCH/a2.sh"
job=$AS_OUT
wait_job_state "$job" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 60
is "$JOB_STATE" COMPLETED "a job on a2 (this machine) completes"
out=$(cat "$AIF_SCRATCH/a2.out" 2>/dev/null)
all=$("$aifctl" topology bind --xml "$topo/a2.xml" --gpus 0,1 | sed -nE 's/^cpus ([^ ]*) .*/\1/p')
g0=$("$aifctl" topology bind --xml "$topo/a2.xml" --gpus 0 | sed -nE 's/^cpus ([^ ]*) .*/\1/p')
g1=$("$aifctl" topology bind --xml "$topo/a2.xml" --gpus 1 | sed -nE 's/^cpus ([^ ]*) .*/\1/p')
like "$(printf '%s\n' "$out" | grep '^batch 0 ')" "^batch 0 bind=auto gpus=0,1 cpus=$all .* aff=$all$" \
	"batch step on this machine: its affinity is both GPUs' CPUs"
like "$(printf '%s\n' "$out" | grep '^multi 0 ')" "^multi 0 bind=auto gpus=0 cpus=$g0 .* aff=$g0$" \
	"task 0 really runs on GPU 0's CPUs ($g0)"
like "$(printf '%s\n' "$out" | grep '^multi 1 ')" "^multi 1 bind=auto gpus=1 cpus=$g1 .* hca==mlx5_0 .* aff=$g1$" \
	"task 1 really runs on GPU 1's CPUs ($g1), with the NIC beside it"

# h1 has no topology file: with auto the job runs as SLURM placed it and
# the node's log says why; with strict it fails.
as_user aif-alice sbatch --parsable -p h100 -w h1 -n1 --gres=gpu:h100:1 -t 5 \
	-o "$AIF_SCRATCH/h1.out" "$AIF_SCRATCH/report.sh" batch
job=$AS_OUT
wait_job_state "$job" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 60
is "$JOB_STATE" COMPLETED "auto, no topology for the node: the job still runs"
like "$(cat "$AIF_SCRATCH/h1.out")" "^batch 0 bind=auto gpus=unset cpus=unset .* cvd=0 " \
	"with SLURM's GPUs and nothing of ours"
ok "the node's log says why" grep -qF \
	"spank/aifactory: the node's topology could not be read (topology $topo/h1.xml: No such file or directory): SLURM's binding is left as it is" \
	"$AIF_CLUSTER_DIR/log/slurmd-h1.log"
as_user aif-alice sbatch --parsable -p h100 -w h1 -n1 --gres=gpu:h100:1 -t 5 \
	--aif-bind=strict -o "$AIF_SCRATCH/h1s.out" "$AIF_SCRATCH/report.sh" batch
job=$AS_OUT
wait_job_state "$job" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 60
is "$JOB_STATE" FAILED "strict, no topology for the node: the job fails"
is "$(job_field "$job" ExitCode)" "1:0" "with exit code 1"
is "$(head -n 1 "$AIF_SCRATCH/h1s.out")" \
	"aif-bind=strict: the node's topology could not be read (topology $topo/h1.xml: No such file or directory): the task cannot be bound to its GPUs" \
	"its output says why, and nothing ran"

# A two-node step: each node binds from its own topology (the node's name
# is slurmstepd's, not the one in the environment the job carries).
printf '#!/bin/bash\nsrun -N2 -n2 -c2 bash -c %s | sort\n' \
	"'echo \"\$SLURMD_NODENAME gpus=\$AIF_GPUS cpus=\$AIF_CPUS level=\$AIF_BIND_LEVEL\"'" \
	>"$AIF_SCRATCH/two.sh"
chmod 755 "$AIF_SCRATCH/two.sh"
as_user aif-alice sbatch --parsable -p a100 -w a1,a2 -N2 --exclusive \
	--gres=gpu:a100:2 -t 5 -o "$AIF_SCRATCH/two.out" "$AIF_SCRATCH/two.sh"
job=$AS_OUT
wait_job_state "$job" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 60
two=$(cat "$AIF_SCRATCH/two.out" 2>/dev/null)
like "$two" "^a1 gpus=0,1 cpus=0,16 level=local" \
	"two nodes: a1 binds from its own topology (GPUs 0 and 1 near core 0)"
like "$two" $'\na2 gpus=0,1 cpus='"$all level=local" \
	"and a2 from its own"

# The node's placement was cached, once per node, root's and 0644.
ok "the placement of a1 is cached" test -f "$topo/cache/placement-a1"
is "$(stat -c '%U %a' "$topo/cache/placement-a1")" "root 644" "root's, readable"
like "$(head -n 2 "$topo/cache/placement-a1")" "^aifactory-placement 1.source xml $topo/a1.xml [0-9]+ [0-9]+$" \
	"it says what it was made from"
is "$(grep -c "spank/aifactory: placement of a1 from $topo/a1.xml in" \
	"$AIF_CLUSTER_DIR"/log/slurmd-a1.log)" 1 \
	"hwloc read a1's topology once: every later step read the cache"
done_testing
