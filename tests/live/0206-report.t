#!/usr/bin/env bash
# aifctl report: GPU-hours and runs of the jobs that ended in a period
# (default: this month), from the journal's charges, by project, class,
# sector or mode, as a table, CSV or JSON; only root and SlurmUser can
# read the journal.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
later=$(date -u -d '+90 days' +%Y-%m-%d)
first=$(date -u +%Y-%m-01)
last=$(date -u -d "$first +1 month -1 day" +%Y-%m-%d)
# zulu (alice) burns more than bravo (bob): rows go by GPU-hours, not name.
cluster_up_policy <<JSON
{
  "version": 1,
  "billing": { "gpu_weights": { "h100": 1.0, "a100": 0.5 } },
  "classes": {
    "startup": { "max_time": "3-00:00:00", "default_time": "01:00:00",
                 "partitions": ["h100", "a100"], "qos": "startup" },
    "sme": { "partitions": ["h100", "a100"], "qos": "sme",
             "default_time": "01:00:00" }
  },
  "projects": {
    "zulu": { "class": "startup", "mode": "playground", "sector": "energy",
      "users": ["aif-alice"],
      "grants": [
        { "name": "main", "gpu_hours": 10, "valid_from": "$today", "valid_until": "$later" }
      ] },
    "bravo": { "class": "sme", "mode": "fast-lane", "sector": "health",
      "users": ["aif-bob"],
      "grants": [
        { "name": "main", "gpu_hours": 10, "valid_from": "$today", "valid_until": "$later" }
      ] }
  }
}
JSON
journal=$AIF_CLUSTER_DIR/state/aifactory/journal
aifctl=$top_builddir/contrib/aifctl/aifctl

table() {	# table WIDTH KEY RUNS HOURS [KEY RUNS HOURS...]: the lines
	local w=$1
	shift
	printf '%-*s  %4s  %9s' "$w" KEY RUNS GPU-HOURS
	while [ $# -gt 0 ]; do
		printf '\n%-*s  %4s  %9s' "$w" "$1" "$2" "$3"
		shift 3
	done
}

# --- one job each, to the end
as_user aif-alice sbatch --parsable -p h100 --gres=gpu:h100:2 -t 10 --wrap 'sleep 3'
is "$AS_RC" 0 "alice submits a 2 x h100 job to zulu" || diag "$AS_ERR"
job_a=$AS_OUT
as_user aif-bob sbatch --parsable -p a100 --gres=gpu:a100:1 -t 10 --wrap 'sleep 2'
is "$AS_RC" 0 "bob submits a 1 x a100 job to bravo" || diag "$AS_ERR"
job_b=$AS_OUT
ok "alice's job completes" wait_job_state "$job_a" COMPLETED 30
ok "bob's job completes" wait_job_state "$job_b" COMPLETED 30
rec_a=$(journal_record "$job_a")
rec_b=$(journal_record "$job_b")
ok "their charges are in the journal" test -n "$rec_a" -a -n "$rec_b"
amount_a=$(journal_field "$rec_a" amount)
amount_b=$(journal_field "$rec_b" amount)
ok "zulu's charge ($amount_a) is above bravo's ($amount_b)" \
	test "$amount_a" -gt "$amount_b"
ha=$(gph "$amount_a")
hb=$(gph "$amount_b")
ht=$(gph $((amount_a + amount_b)))

# --- as root
run "$aifctl" report
is "$AS_RC" 0 "aifctl report exits 0" || diag "$AS_ERR"
is "$AS_OUT" "$(table 5 zulu 1 "$ha" bravo 1 "$hb" TOTAL 2 "$ht")" \
	"by project, this month: a run each, the journal's amounts, by GPU-hours"
run "$aifctl" report --by project --from "$today" --to "$today"
is "$AS_OUT" "$(table 5 zulu 1 "$ha" bravo 1 "$hb" TOTAL 2 "$ht")" \
	"--from and --to today: the same (--to takes in its whole day)"
run "$aifctl" report --by class
is "$AS_OUT" "$(table 7 startup 1 "$ha" sme 1 "$hb" TOTAL 2 "$ht")" \
	"--by class"
run "$aifctl" report --by sector --journal "$AIF_CLUSTER_DIR/state/aifactory"
is "$AS_OUT" "$(table 6 energy 1 "$ha" health 1 "$hb" TOTAL 2 "$ht")" \
	"--by sector, --journal names the directory"
run "$aifctl" report --by mode --format csv
is "$AS_RC/$AS_OUT" "0/key,runs,gpu_hours
playground,1,$ha
fast-lane,1,$hb" "--format csv: a header, a row per mode, no total"
run "$aifctl" report --format json
is "$AS_RC/$AS_OUT" "0/{\"from\":\"$first\",\"to\":\"$last\",\"by\":\"project\",\"rows\":[{\"key\":\"zulu\",\"runs\":1,\"gpu_hours\":\"$ha\"},{\"key\":\"bravo\",\"runs\":1,\"gpu_hours\":\"$hb\"}],\"total\":{\"runs\":2,\"gpu_hours\":\"$ht\"}}" \
	"--format json: the period, the rows and the total, GPU-hours as strings"
run "$aifctl" report --month 2020-01
is "$AS_RC/$AS_OUT" "0/$(table 5 TOTAL 0 0.00)" "a past month: no rows, TOTAL 0"
run "$aifctl" report --month 2020-01 --format json
is "$AS_OUT" '{"from":"2020-01-01","to":"2020-01-31","by":"project","rows":[],"total":{"runs":0,"gpu_hours":"0.00"}}' \
	"a past month in JSON: its first and last day"

# --- usage errors
run "$aifctl" report --by user
is "$AS_RC" 2 "a bad --by exits 2"
like "$AS_ERR" "^aifctl: report: --by: class, project, sector or mode, not 'user'"$'\n\n'"usage: " \
	"and says what --by takes, then the usage"
run "$aifctl" report --month 2026-13
is "$AS_RC" 2 "a bad --month exits 2"
run "$aifctl" report --month 2020-01 --from 2020-01-01 --to 2020-01-31
is "$AS_RC" 2 "--month with --from and --to exits 2"
run "$aifctl" report --from 2020-01-01
is "$AS_RC" 2 "--from without --to exits 2"
run "$aifctl" report --format xml
is "$AS_RC" 2 "a bad --format exits 2"

# --- only root and SlurmUser can read the journal (alice runs a copy:
# she may not reach the build tree)
bin=$AIF_SCRATCH/bin
aifctl_copy "$bin"
as_user aif-alice env LD_LIBRARY_PATH="$bin" "$bin/aifctl" report
is "$AS_RC" 2 "as alice, aifctl report exits 2"
is "$AS_ERR" "aifctl: $AIF_CLUSTER_DIR/state/aifactory: only root and SlurmUser can read the journal" \
	"and says who can read the journal"
is "$AS_OUT" "" "and prints nothing on stdout"
done_testing
