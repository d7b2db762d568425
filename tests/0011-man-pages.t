#!/usr/bin/env bash
# The man pages are made from the text they document and say all of it:
# each renders without a groff warning; aifactory.json(5) has every key of
# docs/policy-schema.md's tables, and nothing else; aifctl(1) every command
# `aifctl --help` lists; slurm-aifactory(8) every setting an operator puts
# in slurm.conf and plugstack.conf for our plugins.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u

top=${top_builddir:-.}
src=${top_srcdir:-.}
n=0 failed=0
tap() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=1; echo "not ok $n - $2"; fi
}

for page in aifctl.1 aifactory.json.5 slurm-aifactory.8; do
	f=$top/man/$page
	if [ ! -s "$f" ]; then
		tap 1 "$page was made"
		continue
	fi
	# Long option lists may not break at the right margin: not a fault.
	warn=$(groff -man -ww -Wbreak -z "$f" 2>&1)
	[ -z "$warn" ]
	tap $? "$page renders without a warning" || printf '# %s\n' "$warn"
done

# The keys of the schema's tables: the first cell of each row, in backquotes.
keys() {
	sed -n 's/^| `\([^`]*\)` |.*/\1/p' "$src/docs/policy-schema.md" | sort
}
page_keys() {
	# The line after each .TP, its bold part.
	awk '/^\.TP/ { getline; if (match($0, /^\\fB[^\\]*\\fR$/)) print substr($0, 4, RLENGTH - 6) }' \
		"$top/man/aifactory.json.5" | sed 's/\\-/-/g' | sort
}
want=$(keys)
got=$(page_keys)
[ -n "$want" ] && [ "$want" = "$got" ]
tap $? "aifactory.json(5) has every key of docs/policy-schema.md ($(echo "$want" | wc -l)), and no other" ||
	diff <(echo "$want") <(echo "$got") | sed 's/^/# /'

# Every command of aifctl's usage: its first two words.
missing=
while read -r cmd; do
	grep -qF "\\fB$(sed 's/-/\\-/g' <<<"$cmd")" "$top/man/aifctl.1" || missing="$missing; $cmd"
done < <("$top/contrib/aifctl/aifctl" --help 2>&1 |
	sed -n 's/^ *\(usage: \)\{0,1\}\(aifctl [a-z-]*\( [a-z]*\)\{0,1\}\).*/\2/p' | sed 's/ *$//' | sort -u)
[ -z "$missing" ]
tap $? "aifctl(1) documents every command aifctl --help lists" || echo "# missing${missing}"

missing=
for setting in JobSubmitPlugins=aifactory JobCompType=jobcomp/aifactory \
	PrioritySiteFactorPlugin=site_factor/aifactory plugstack.conf \
	topology= cache= default= --aif-bind; do
	grep -qF -- "$(sed 's/-/\\-/g' <<<"$setting")" "$top/man/slurm-aifactory.8" || missing="$missing $setting"
done
[ -z "$missing" ]
tap $? "slurm-aifactory(8) names each plugin's settings" || echo "# missing:$missing"

echo "1..$n"
exit "$failed"
