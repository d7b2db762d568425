#!/usr/bin/env bash
# What the README says of the tree holds, where a script can tell: its
# Tests section names every test (tests/*.t) and every live test (by
# number), and every package its manual build path installs is one that
# contrib/bootstrap.sh installs, so the test command builds with exactly
# what an operator is told to install. (The README's other samples are
# checked where they are run: the sbatch sample by live 0101, the
# configuration lines and short policy by tests/cluster/operator.sh, the
# topology sample by 0009.)
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

readme=$top_srcdir/README.md
plan 3
[ -r "$readme" ] || bail_out "no $readme"

tests_section=$(awk '/^## Tests/ { on = 1 } /^### Fuzzing/ { on = 0 } on' "$readme")
missing=
for t in "$top_srcdir"/tests/*.t; do
	b=$(basename "$t")
	grep -qF "\`tests/$b\`" <<<"$tests_section" || missing+=" $b"
done
is "$missing" "" "the README's Tests section names every tests/*.t"
missing=
for t in "$top_srcdir"/tests/live/*.t; do
	n=$(basename "$t" | cut -c1-4)
	grep -qF "\`$n\`" <<<"$tests_section" || missing+=" $n"
done
is "$missing" "" "and every live test, by its number"

# The manual path's apt-get install line (continued with backslashes).
readme_pkgs=$(awk '/^apt-get install / { on = 1 } on { print } on && !/\\$/ { exit }' "$readme" |
	tr ' \\' '\n\n' | grep -vE '^(apt-get|install|)$' | sort -u)
boot_pkgs=$(awk '/^packages=\(/ { on = 1; next } on && /^\)/ { exit } on' \
	"$top_srcdir/contrib/bootstrap.sh" | tr ' \t' '\n\n' | grep -v '^$' | sort -u)
missing=$(comm -23 <(echo "$readme_pkgs") <(echo "$boot_pkgs") | tr '\n' ' ')
ok "the manual path's packages ($(echo "$readme_pkgs" | wc -l)) are all ones the test command installs" \
	test -n "$readme_pkgs" -a -z "$missing" || diag "not in contrib/bootstrap.sh: $missing"
done_testing
