#!/usr/bin/env bash
# aifctl topology show, gres and bind on every topology we have: the
# project's own made-up nodes (tests/fixtures/topology) and the real
# machines' hwloc exports in ../shared/topologies (AIF_TOPOLOGIES names
# another folder; where there is none those are skipped, saying so).
#
# Each topology's expected output is in tests/fixtures/topology/expected,
# written by this test with AIF_UPDATE_EXPECTED=1 and then read by hand.
# Independently of that, every GPU's cores and NUMA node are checked
# against hwloc-calc, and the JSON must parse.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

aifctl=${top_builddir:-.}/contrib/aifctl/aifctl
expected=$top_srcdir/tests/fixtures/topology/expected
shared=${AIF_TOPOLOGIES:-$top_srcdir/../shared/topologies}

xmls=("$top_srcdir"/tests/fixtures/topology/*.xml)
if [ -d "$shared" ]; then
	xmls+=("$shared"/*.xml)
else
	diag "no $shared: the real machines' topologies are not checked"
fi
command -v hwloc-calc >/dev/null || bail_out "hwloc-calc is not installed (Debian: hwloc)"

# What this test knows of a topology, in one file: show, gres --nic, and
# the binding of four task shapes (all GPUs on the whole node; GPU 0
# alone; the last GPU allowed only core 0; GPUs 0 and 1 allowed the
# first GPU's first core).
describe() {
	local x=$1 n last first
	echo "## show"
	"$aifctl" topology show --xml "$x"
	echo "## gres --nic"
	"$aifctl" topology gres --nic --xml "$x"
	n=$("$aifctl" topology show --json --xml "$x" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["gpus"]))')
	[ "$n" -gt 0 ] || return 0
	last=$((n - 1))
	first=$("$aifctl" topology show --json --xml "$x" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["gpus"][0]["cores"].split(",")[0].split("-")[0])')
	echo "## bind --gpus 0-$last"
	"$aifctl" topology bind --xml "$x" --gpus "0-$last"
	echo "## bind --gpus 0"
	"$aifctl" topology bind --xml "$x" --gpus 0
	echo "## bind --gpus $last --cores 0"
	"$aifctl" topology bind --xml "$x" --gpus "$last" --cores 0
	if [ "$n" -gt 1 ]; then
		echo "## bind --gpus 0,1 --cores $first"
		"$aifctl" topology bind --xml "$x" --gpus 0,1 --cores "$first"
	fi
}

# Every GPU's cores and NUMA node as hwloc-calc finds them from its bus id.
calc_check() {
	local x=$1 name=$2 bus cores numa want_cores want_numa bad=0
	while IFS=' ' read -r bus cores numa; do
		want_cores=$(hwloc-calc --input "$x" "pci=$bus" --intersect Core 2>/dev/null)
		want_numa=$(hwloc-calc --input "$x" "pci=$bus" --intersect NUMANode \
			--physical-output 2>/dev/null | cut -d, -f1)
		if [ "$cores" != "$want_cores" ] || [ "$numa" != "$want_numa" ]; then
			diag "$name GPU $bus: cores $cores numa $numa; hwloc-calc: $want_cores numa $want_numa"
			bad=1
		fi
	done < <("$aifctl" topology show --json --xml "$x" | python3 -c '
import json, sys
for g in json.load(sys.stdin)["gpus"]:
    cores = []
    for part in g["cores"].split(","):
        a, _, b = part.partition("-")
        cores += range(int(a), int(b or a) + 1)
    print(g["bus"], ",".join(map(str, cores)), g["numa"])')
	return $bad
}

for x in "${xmls[@]}"; do
	name=$(basename "$x" .xml)
	got=$(describe "$x" 2>&1)
	if [ -n "${AIF_UPDATE_EXPECTED:-}" ]; then
		printf '%s\n' "$got" >"$expected/$name.txt"
	fi
	if [ -r "$expected/$name.txt" ]; then
		is "$got" "$(cat "$expected/$name.txt")" "$name: show, gres and bind as expected"
	else
		ok "$name: has an expected output in tests/fixtures/topology/expected" false
	fi
	ok "$name: --json parses" python3 -c 'import json,sys; json.load(sys.stdin)' \
		< <("$aifctl" topology show --json --xml "$x")
	ok "$name: each GPU's cores and NUMA node are hwloc-calc's" calc_check "$x" "$name"
done

# The live machine: loads, and says what it found.
run "$aifctl" topology show
is "$AS_RC" 0 "this machine's topology loads"
like "$AS_OUT" "^(no GPU in this topology|GPU )" "and is shown"

run "$aifctl" topology gres --xml /nonexistent.xml
is "$AS_RC" 2 "a missing XML: exit 2"
like "$AS_ERR" "/nonexistent.xml: No such file or directory" "saying so"
run "$aifctl" topology bind --xml "${xmls[0]}" --gpus 9
is "$AS_RC" 2 "bind: a GPU the node has not: exit 2"
like "$AS_ERR" "the node has 4 GPUs" "saying how many it has"
run "$aifctl" topology show --type a100
is "$AS_RC" 2 "--type is for gres only: a usage error"
# The README's sample is this test's own output for JUWELS Booster: each
# line it shows, under "$ aifctl topology ..." and between its "...", is
# in that node's expected output.
sample=$(awk '/^\$ aifctl topology show --xml jwb0004.xml/ { on = 1 }
	on && /^```/ { exit } on' "$top_srcdir/README.md" | grep -vE '^(\$ |\.\.\.$)')
want=$expected/juwels-booster-4xa100-4xhdr200-jwb0004.txt
missing=$(printf '%s\n' "$sample" | while IFS= read -r line; do
	grep -qxF -- "$line" "$want" || printf '%s\n' "$line"
done)
ok "the README's aifctl topology sample is this test's output for jwb0004 ($(printf '%s\n' "$sample" | wc -l) lines)" \
	test -n "$sample" -a -z "$missing" || diag "not in $want: $missing"
done_testing
