#!/usr/bin/env bash
# Five users submit at the same time, accepted and refused jobs mixed:
# every job lands in its own user's project with its own tag, and every
# refusal carries that user's own message (no state leaks between calls).
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"

cluster_up_example

per_user=15
out=$AIF_SCRATCH/parallel
mkdir -p "$out" && chmod 1777 "$out"

# user project accepted-args refused-args expected-refusal
cases=(
	"aif-alice acme-ai --gpus=2|--gpus=9|allows at most 8 GPUs per job and this job asks for 9"
	"aif-bob acme-ai --gres=gpu:a100:1|-t 3-00:00:00|allows at most 1-00:00:00 per job"
	"aif-carol lab-genomics --gres=gpu:a100:2|--gres=gpu:h100:1|may use GPU type a100, not h100"
	"aif-dave voltwerk -N 2 --gpus-per-node=4|-N 3|allows at most 2 nodes per job and this job asks for 3"
	"aif-erin robotix --gpus=1|-p all|may use partitions a100, h100, not 'all'"
)

for c in "${cases[@]}"; do
	read -r user project _ <<<"${c%%|*}"
	rest=${c#* * }
	good=${rest%%|*}
	bad=${rest#*|}; bad=${bad%%|*}
	(
		for i in $(seq "$per_user"); do
			# shellcheck disable=SC2086
			setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups \
				env -i PATH=/usr/bin:/bin SLURM_CONF="$SLURM_CONF" \
				sbatch --parsable --hold -A "$project" $good --wrap true \
				>>"$out/$user.ok" 2>>"$out/$user.okerr"
			setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups \
				env -i PATH=/usr/bin:/bin SLURM_CONF="$SLURM_CONF" \
				sbatch --parsable --hold -A "$project" $bad --wrap true \
				>>"$out/$user.bad" 2>>"$out/$user.err"
		done
	) &
done
wait

for c in "${cases[@]}"; do
	read -r user project _ <<<"${c%%|*}"
	want=${c##*|}
	is "$(grep -c . "$out/$user.ok")" "$per_user" "$user: all $per_user good jobs accepted"
	is "$(grep -c . "$out/$user.okerr" 2>/dev/null || true)" 0 "$user: with no error"
	is "$(grep -c 'Batch job submission failed' "$out/$user.err")" "$per_user" \
		"$user: all $per_user bad jobs refused"
	is "$(grep -cF "$want" "$out/$user.err")" "$per_user" \
		"$user: every refusal says: $want"
	is "$(grep -F 'sbatch: error: aifactory:' "$out/$user.err" | grep -vcF "project $project (class")" 0 \
		"$user: and speaks only of $project"
	tags=$(squeue -h -u "$user" -o '%a' | sort | uniq -c | sed 's/^ *//')
	is "$tags" "$per_user $project" "$user: every job is in $project"
	wrong=0
	for id in $(cat "$out/$user.ok"); do
		[[ $(job_field "$id" AdminComment) =~ project=$project(,|$) ]] ||
			wrong=$((wrong + 1))
	done
	is "$wrong" 0 "$user: every job carries the tag of $project"
done

run scancel -u aif-alice -u aif-bob
for u in aif-alice aif-bob aif-carol aif-dave aif-erin; do run scancel -u "$u"; done
done_testing
