#!/usr/bin/env bash
# The benchmark is a command, not a test (it never fails on a slow
# machine); this only shows that its library part runs and prints its
# numbers, so it does not rot between releases.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

run "${top_builddir:-.}/contrib/bench/bench_decide" -n 200 -i 4000 -j 2000
is "$AS_RC" 0 "bench_decide runs" || diag "$AS_ERR"
like "$AS_OUT" "policy load: [0-9.]+ ms \\(aif_policy_load, 200 projects, 0 warnings\\)" \
	"it loads a generated policy and says how long it took"
for c in accept reshape refuse unknown overall lien; do
	like "$AS_OUT" "  $c +[0-9]+ ns" "it prints a time for $c"
done
like "$AS_OUT" "priority \\(site_factor/aifactory\\), 200 projects, 2000 pending jobs" \
	"it times site_factor's work"
for c in update accounts; do
	like "$AS_OUT" "  $c +[0-9.]+ ms" "it prints a time for $c"
done
for c in per-job set; do
	like "$AS_OUT" "  $c +[0-9]+ ns" "it prints a time for $c"
done
run "${top_builddir:-.}/contrib/bench/bench_placement" -i 200 \
	"${top_srcdir:-.}/tests/fixtures/topology/aif-node-4gpu.xml" live
is "$AS_RC" 0 "bench_placement runs" || diag "$AS_ERR"
like "$AS_OUT" "aif-node-4gpu.xml +4 +16 +[0-9.]+ +[0-9.]+ +[0-9.]+" \
	"it prints hwloc's load, the cache's read and a task's binding for a topology"
like "$AS_OUT" "live +[0-9]+ +[0-9]+ " "and for this machine"
done_testing
