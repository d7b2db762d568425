#!/usr/bin/env bash
# The policy follows "scontrol reconfigure": a good file takes effect, a
# broken one is refused with file, line and reason in the slurmctld log
# while the last good policy stays in force (from SLURM 24.05, where a
# reconfigure starts a new slurmctld, by failing that start), and a slurmctld that starts
# with no loadable policy refuses every job (fails closed) until a good
# one is loaded.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"

cluster_up_example

policy=$AIF_CLUSTER_DIR/etc/aifactory.json
log=$AIF_CLUSTER_DIR/log/slurmctld.log
aifctl=$top_builddir/contrib/aifctl/aifctl

# write_policy SED-SCRIPT: the example policy, edited, as the live one.
write_policy() {
	sed "$1" "$EXAMPLES/aifactory.json" >"$policy.new"
	chmod 644 "$policy.new"
	mv "$policy.new" "$policy"
}

# reconfigure PATTERN: scontrol reconfigure, then wait for a log line
# matching PATTERN that is newer than the reconfigure.
reconfigure() {
	local before
	before=$(wc -l <"$log")
	run scontrol reconfigure
	wait_until 10 "a log line matching: $1" _logged_since "$before" "$1"
}

_logged_since() {
	tail -n +"$(($1 + 1))" "$log" | grep -qE "$2"
}

submit4() {	# alice asks for 4 GPUs
	as_user aif-alice sbatch --parsable --hold -A acme-ai --gpus=4 --wrap true
}

submit4
is "$AS_RC" 0 "4 GPUs are within the startup class (8)" || diag "$AS_ERR"

# --- a broken file: refused with file:line, the old policy stays
write_policy '0,/"max_gpus_per_job": 8,/s//"max_gpus_per_job": "2",/'
ok "reconfigure with a broken policy is noticed" \
	reconfigure 'policy .* refused; the last good policy'
like "$(grep -F 'aifactory: ' "$log" | grep -F 'max_gpus_per_job' | tail -1)" \
	"aifactory: $policy:13: classes.startup.max_gpus_per_job: expected an integer, got the string \"2\"" \
	"the log names file, line, key and reason"
if slurm_at_least 24.5; then
	# A reconfigure starts a new slurmctld; ours refuses to start on the
	# broken policy, so SLURM keeps the running one, and its policy.
	like "$AS_RC" '^[1-9]' "scontrol reconfigure reports the failure" ||
		diag "$AS_OUT" "$AS_ERR"
	ok "the reconfigure fails, and the running slurmctld goes on" \
		wait_until 20 "SLURM resuming" grep -q 'Resuming operation, reconfigure failed' "$log"
	like "$(grep -F 'this reconfigure fails' "$log" | tail -1)" \
		'[a-z_]+/aifactory: this reconfigure fails: the policy is refused' \
		"the log says why the reconfigure failed"
fi
"$aifctl" check "$policy" >/dev/null 2>"$AIF_SCRATCH/check.err"
is "$?" 1 "aifctl check refuses the same file"
is "$(head -1 "$AIF_SCRATCH/check.err")" \
	"$policy:13: classes.startup.max_gpus_per_job: expected an integer, got the string \"2\"" \
	"aifctl check prints the same error"
submit4
is "$AS_RC" 0 "the last good policy is still in force" || diag "$AS_ERR"

# --- a good file with a lower limit: in force after the reconfigure
write_policy '0,/"max_gpus_per_job": 8,/s//"max_gpus_per_job": 2,/'
ok "reconfigure with a good policy loads it" \
	reconfigure 'policy .* loaded: 3 classes, 5 projects'
submit4
like "$AS_ERR" "allows at most 2 GPUs per job and this job asks for 4" \
	"the new limit applies to the next job"

# --- a project added by the portal, through the project directory
cat >"$AIF_CLUSTER_DIR/etc/aifactory.d/newco.json" <<'JSON'
{ "class": "startup", "mode": "playground", "users": ["aif-bob"],
  "grants": [ { "name": "starter", "gpu_hours": 100,
                "valid_from": "2026-01-01", "valid_until": "2030-12-31" } ] }
JSON
chmod 644 "$AIF_CLUSTER_DIR/etc/aifactory.d/newco.json"
ok "a new project file is loaded on reconfigure" \
	reconfigure 'policy .* loaded: 3 classes, 6 projects'
as_user aif-bob sbatch --parsable --hold -A newco --gpus=1 --wrap true
is "$AS_RC" 0 "bob can use the new project at once" || diag "$AS_ERR"
like "$(job_field "$AS_OUT" AdminComment)" 'project=newco' "the job is tagged newco"

# --- slurmctld starting with no loadable policy refuses every job
write_policy 's/"version": 1/"version": 2/'
cluster restart-ctld >/dev/null 2>&1
like "$(grep 'aifactory: policy' "$log" | grep 'no earlier policy' | tail -1)" \
	'refused and no earlier policy is loaded: every job is refused' \
	"a start with a broken policy is logged"
submit4
is "$AS_ERR" "sbatch: error: aifactory: no valid AI Factory policy is loaded, so no job can be admitted. Please contact your centre.
sbatch: error: Batch job submission failed: Access/permission denied" \
	"with no policy at all, jobs are refused (fail closed)"
run sbatch --parsable --hold --wrap true
is "$AS_RC" 0 "root can still submit" || diag "$AS_ERR"
write_policy ''
ok "a good policy after that is loaded" \
	reconfigure 'policy .* loaded: 3 classes, 6 projects'
submit4
is "$AS_RC" 0 "and jobs are admitted again" || diag "$AS_ERR"

run scancel -u aif-alice
run scancel -u aif-bob
done_testing
