#!/usr/bin/env bash
# JobCompType takes one plugin: a site that exports its jobs through
# another keeps it by naming it in JobCompParams
# (aifactory_chain=jobcomp/filetxt here). jobcomp/aifactory loads it and
# hands it every job after its own charge: the job is in our journal and
# in the site's file.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

txt=$(mktemp -d /tmp/aif-jobcomp.XXXXXX) || bail_out "mktemp failed"
chown slurm: "$txt" && chmod 755 "$txt"
trap 'rm -rf -- "$txt"' EXIT
export AIF_JOBCOMP=jobcomp/aifactory
export AIF_SLURM_EXTRA="JobCompParams=aifactory_chain=jobcomp/filetxt
JobCompLoc=$txt/jobcomp.txt"
cluster_up_example
log=$AIF_CLUSTER_DIR/log/slurmctld.log

ok "slurmctld loads the site's plugin behind ours" \
	grep -qF "jobcomp/aifactory: every job also goes to jobcomp/filetxt" "$log"

as_user aif-alice sbatch --parsable -A acme-ai -p h100 --gres=gpu:h100:1 -t 5 --wrap 'sleep 1'
is "$AS_RC" 0 "alice's job is admitted" || diag "$AS_ERR"
job=$AS_OUT
wait_job_state "$job" COMPLETED 60
ok "we charge it (the journal)" eval 'journal_record "$job" >/dev/null'
ok "and the site's plugin records it too" \
	wait_until 10 "jobcomp.txt" grep -q "^JobId=$job UserId=aif-alice(" "$txt/jobcomp.txt"
like "$(grep "^JobId=$job " "$txt/jobcomp.txt")" "JobState=COMPLETED .*Account=acme-ai" \
	"with the job's state and account"

done_testing
