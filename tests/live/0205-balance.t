#!/usr/bin/env bash
# aifctl balance: per grant what was granted, charged (the journal's
# charges) and reserved (the liens of the pending and running jobs), what
# is left, and per project the burn rate and when the money runs out;
# -A shows one project; --json the same with the metrics file's names.
# root reads the journal; users ask slurmctld and
# see only their own projects, operators all. Columns are as wide as
# their content (a EuroHPC project id of 22 characters), an unmetered
# project is not said to run out, UTF-8 is kept on a UTF-8 terminal and
# escaped elsewhere; idle and slow connections held open by anyone do
# not keep users from their answers.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

. "$(dirname "$0")/../cluster/lib.sh"
_cluster_prerequisites

today=$(date -u +%Y-%m-%d)
soon=$(date -u -d '+30 days' +%Y-%m-%d)	# drawn first
later=$(date -u -d '+90 days' +%Y-%m-%d)
cluster_up_policy <<JSON
{
  "version": 1,
  "balance_port": @BALANCE_PORT@,
  "operators": { "users": ["aif-erin"] },
  "billing": { "gpu_weights": { "h100": 1.0, "a100": 0.5 } },
  "classes": {
    "startup": { "max_time": "3-00:00:00", "default_time": "01:00:00",
                 "partitions": ["h100", "a100"], "qos": "startup" },
    "research": { "max_time": "3-00:00:00", "default_time": "01:00:00",
                  "partitions": ["h100", "a100"], "qos": "research", "metered": false }
  },
  "projects": {
    "aif-alice": { "class": "startup", "mode": "playground", "users": ["aif-alice"],
      "grants": [
        { "name": "first", "gpu_hours": 10, "valid_from": "$today", "valid_until": "$soon" },
        { "name": "second", "gpu_hours": 20, "valid_from": "$today", "valid_until": "$later", "gpu_type": "h100" }
      ] },
    "bobs": { "class": "startup", "mode": "playground", "users": ["aif-bob"],
      "grants": [
        { "name": "only", "gpu_hours": 5, "valid_from": "$today", "valid_until": "$later" }
      ] },
    "ehpc-aif-2026l01-042ab": { "class": "startup", "mode": "large-scale", "users": ["aif-dave"],
      "grants": [
        { "name": "call-2026-1", "gpu_hours": 12500, "valid_from": "$today", "valid_until": "$later" }
      ] },
    "lab": { "class": "research", "mode": "ai-for-science", "users": ["aif-dave"] }
  }
}
JSON
journal=$AIF_CLUSTER_DIR/state/aifactory/journal
aifctl=$top_builddir/contrib/aifctl/aifctl

# statement LINE...: what aifctl balance prints. A line of 8 tab-separated
# cells is a grant's row, any other a line of its own; the header first,
# each column as wide as its widest cell, names left, amounts right, two
# spaces between.
statement() {
	printf '%s\n' $'PROJECT\tGRANT\tWINDOW (UTC)\tGPU\tGRANTED\tCHARGED\tRESERVED\tLEFT' "$@" |
	awk -F'\t' '{
		line[NR] = $0; nf[NR] = NF
		for (i = 1; NF == 8 && i <= NF; i++) {
			cell[NR, i] = $i
			if (length($i) > w[i]) w[i] = length($i)
		}
	} END {
		for (r = 1; r <= NR; r++) {
			if (nf[r] != 8) { print line[r]; continue }
			s = ""
			for (i = 1; i <= 8; i++)
				s = s (i > 1 ? "  " : "") sprintf("%" (i <= 4 ? "-" : "") w[i] "s", cell[r, i])
			print s
		}
	}'
}

# --- one job that ran, one that waits
as_user aif-alice sbatch --parsable -p h100 --gres=gpu:h100:2 -t 10 --wrap 'sleep 3'
is "$AS_RC" 0 "alice submits a 2 x h100 job" || diag "$AS_ERR"
ran=$AS_OUT
ok "it completes" wait_job_state "$ran" COMPLETED 30
rec=$(journal_record "$ran")
ok "its charge is in the journal" test -n "$rec"
amount=$(journal_field "$rec" amount)
is "$(journal_field "$rec" part1)" "first=$amount/36000000/$((36000000 - amount))" \
	"charged to the grant that ends first"
as_user aif-alice sbatch --parsable --hold -p h100 --gres=gpu:h100:1 -t 60 --wrap true
is "$AS_RC" 0 "alice holds a 1 x h100 job of an hour" || diag "$AS_ERR"
held=$AS_OUT

# --- the balance, as root
left_first=$((36000000 - amount - 3600000))
alice=("aif-alice	first	$today..$soon	any	10.00	$(gph "$amount")	1.00	$(gph "$left_first")"
	"aif-alice	second	$today..$later	h100	20.00	0.00	0.00	20.00"
	"aif-alice: burn rate $(gph $((amount / 30)))/day over the last 30 days; runs out never (its grants end on $later first)")
bob=("bobs	only	$today..$later	any	5.00	0.00	0.00	5.00"
	"bobs: burn rate 0.00/day over the last 30 days; runs out never")
dave=("ehpc-aif-2026l01-042ab	call-2026-1	$today..$later	any	12500.00	0.00	0.00	12500.00"
	"ehpc-aif-2026l01-042ab: burn rate 0.00/day over the last 30 days; runs out never"
	"lab: burn rate 0.00/day over the last 30 days; not metered: its GPU jobs need no grant")
run "$aifctl" balance
is "$AS_RC" 0 "aifctl balance exits 0" || diag "$AS_ERR"
is "$AS_OUT" "$(statement "${alice[@]}" "${bob[@]}" "${dave[@]}")" \
	"granted, the journal's charge ($amount), the held job's lien (1 x h100 x 1 h), what is left; columns as wide as a 22-character project id; an unmetered project is not said to run out"
like "$AS_OUT" $'\nehpc-aif-2026l01-042ab  call-2026-1  ' "the long project id shifts no column"
is "$(gph "$left_first")" \
	"$(awk -v g=10.00 -v c="$(gph "$amount")" 'BEGIN { printf "%.2f", g - c - 1.00 }')" \
	"left = granted - charged - reserved, as printed"

run "$aifctl" balance -A aif-alice
is "$AS_OUT" "$(statement "${alice[@]}")" "-A shows that project only, its columns as wide as its own"
run "$aifctl" balance -A nosuch
is "$AS_RC/$AS_ERR" "2/aifctl: no project nosuch in $AIF_CLUSTER_DIR/etc/aifactory.json" \
	"-A with a project the policy does not have: exit 2"
run env LC_ALL=C.UTF-8 "$aifctl" balance -A $'\xc3\xa9quipe\e[2J'
is "$AS_ERR" $'aifctl: no project \xc3\xa9quipe\\x1b[2J in '"$AIF_CLUSTER_DIR/etc/aifactory.json" \
	"a name echoed back: its UTF-8 kept on a UTF-8 terminal, a control character escaped"
run "$aifctl" balance extra
is "$AS_RC" 2 "a stray argument is a usage error"

# --json: the same statement, named as the metrics file names it.
# json_grants: one line per grant, "project grant state=amount...".
json_grants() {
	/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d["projects"]:
    for g in p["grants"]:
        print(p["project"], g["grant"], g["gpu_type"] or "any",
              " ".join("%s=%s" % kv for kv in g["gpu_hours"].items()))
    print(p["project"], "overdraw=%s" % p["overdraw_gpu_hours"],
          "runs_out=%s" % p["runs_out"], "metered=%s" % p["metered"])'
}
run "$aifctl" balance --json
is "$AS_RC" 0 "aifctl balance --json exits 0" || diag "$AS_ERR"
is "$(json_grants <<<"$AS_OUT")" "aif-alice first any granted=10.00 charged=$(gph "$amount") reserved=1.00 left=$(gph "$left_first")
aif-alice second h100 granted=20.00 charged=0.00 reserved=0.00 left=20.00
aif-alice overdraw=0.00 runs_out=never metered=True
bobs only any granted=5.00 charged=0.00 reserved=0.00 left=5.00
bobs overdraw=0.00 runs_out=never metered=True
ehpc-aif-2026l01-042ab call-2026-1 any granted=12500.00 charged=0.00 reserved=0.00 left=12500.00
ehpc-aif-2026l01-042ab overdraw=0.00 runs_out=never metered=True
lab overdraw=0.00 runs_out=None metered=False" \
	"--json: each grant's gpu_hours by state (the metrics' state labels), the numbers the table shows"

# --- the liens go with the jobs
run scancel "$held"
wait_job_state "$held" CANCELLED 30
run "$aifctl" balance -A bobs --policy "$AIF_CLUSTER_DIR/etc/aifactory.json" \
	--journal "$AIF_CLUSTER_DIR/state/aifactory"
is "$AS_OUT" "$(statement "${bob[@]}")" "--policy and --journal name them"
run "$aifctl" balance -A aif-alice
like "$AS_OUT" "aif-alice +first .* 0\\.00 +$(gph $((36000000 - amount)))"$'\n' \
	"a cancelled job reserves nothing"

# --- users ask slurmctld, which answers with their own projects (MUNGE
# says who asks). alice may not reach the build tree (a checkout under
# /root is 0700): users run a copy.
bin=$AIF_SCRATCH/bin
aifctl_copy "$bin"
user_balance() {	# user_balance USER [ARGS]
	local user=$1
	shift
	as_user "$user" env LD_LIBRARY_PATH="$bin" "$bin/aifctl" balance "$@"
}
port=$(sed -n 's/.*"balance_port": \([0-9]*\).*/\1/p' "$AIF_CLUSTER_DIR/etc/aifactory.json")
like "$(cat "$AIF_CLUSTER_DIR/log/slurmctld.log")" \
	"answering members' balance queries on port $port" "slurmctld answers balance queries"
run "$aifctl" balance
root_view=$AS_OUT
alice_view=$("$aifctl" balance -A aif-alice)
user_balance aif-alice
is "$AS_RC" 0 "alice asks for her balance: exit 0" || diag "$AS_ERR"
is "$AS_OUT" "$alice_view" "she sees her own project, as root sees it, and no other"
user_balance aif-alice -A aif-alice
is "$AS_OUT" "$alice_view" "-A her project: the same"
user_balance aif-alice -A bobs
is "$AS_RC/$AS_OUT" "2/" "-A another's project: exit 2, nothing shown"
is "$AS_ERR" "aifctl: no project bobs that you are a member of" "and why"
user_balance aif-alice -A nosuch
is "$AS_ERR" "aifctl: no project nosuch that you are a member of" \
	"a project that does not exist reads the same: no one learns what others have"
user_balance aif-alice -A $'\xc3\xa9quipe'
is "$AS_RC/$AS_ERR" $'2/aifctl: no project \xc3\xa9quipe that you are a member of' \
	"a name in UTF-8 comes back as typed, on a UTF-8 terminal"
as_user aif-alice env LC_ALL=C LD_LIBRARY_PATH="$bin" "$bin/aifctl" balance -A $'\xc3\xa9quipe'
is "$AS_ERR" 'aifctl: no project \u00e9quipe that you are a member of' \
	"and escaped on a terminal that is not"
user_balance aif-bob
is "$AS_OUT" "$(statement "${bob[@]}")" "bob sees his"
user_balance aif-dave
is "$AS_OUT" "$(statement "${dave[@]}")" "dave sees his EuroHPC project and his unmetered lab"
user_balance aif-carol
is "$AS_RC/$AS_ERR" "2/aifctl: you are a member of no project" "carol is in none"
user_balance aif-erin
is "$AS_OUT" "$root_view" "erin, an operator in the policy, sees every project"
user_balance aif-alice --json
is "$AS_OUT" "$("$aifctl" balance -A aif-alice --json)" \
	"--json: alice asks slurmctld, and sees her project as root reads it from the journal"
user_balance aif-erin --json
is "$(json_grants <<<"$AS_OUT")" "$(json_grants <<<"$("$aifctl" balance --json)")" \
	"and erin every project"

# Anyone can connect, no credential needed: two idle connections and one
# sending a byte a second, each opened again as soon as the server closes
# it, held open while alice asks ten times.
hold_idle() {	# hold_idle SECONDS
	local end=$((SECONDS + $1))
	while ((SECONDS < end)); do
		exec 4<>"/dev/tcp/127.0.0.1/$port" || break
		timeout 5 cat <&4 >/dev/null
		exec 4<&-
	done
}
hold_slow() {	# hold_slow SECONDS
	local end=$((SECONDS + $1))
	trap '' PIPE
	while ((SECONDS < end)); do
		exec 4<>"/dev/tcp/127.0.0.1/$port" || break
		while ((SECONDS < end)) && printf M >&4 2>/dev/null; do sleep 1; done
		exec 4<&-
	done
}
hold_idle 30 & idle1=$!
hold_idle 30 & idle2=$!
hold_slow 30 & slow=$!
sleep 1
answered=0 started=$SECONDS
for i in 1 2 3 4 5 6 7 8 9 10; do
	user_balance aif-alice -A aif-alice
	if [[ $AS_RC == 0 && $AS_OUT == "$alice_view" ]]; then
		answered=$((answered + 1))
	else
		diag "query $i: $AS_RC $AS_ERR"
	fi
	sleep 0.3
done
took=$((SECONDS - started))
ok "the idle and slow connections were still held" kill -0 "$idle1" "$idle2" "$slow"
kill "$idle1" "$idle2" "$slow" 2>/dev/null
wait "$idle1" "$idle2" "$slow" 2>/dev/null
is "$answered" 10 "with idle and slow connections held open, 10 of 10 queries are answered"
diag "10 queries (and 3 s of pauses) took $took s"

# A request that is not a MUNGE credential is refused; the server goes on.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'not a credential\n' >&3
answer=$(cat <&3)
exec 3<&-
like "$answer" "^error credential refused: " "a forged request is refused"
user_balance aif-bob
is "$AS_RC" 0 "and the next query is answered"
done_testing
