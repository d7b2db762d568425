#!/usr/bin/env bash
# `make install` puts the plugins where slurmctld loads them from: SLURM's
# own PluginDir, found by configure. Into a staging root (DESTDIR) it
# installs exactly the plugins, the library beside them and aifctl: no
# libtool archive, no bare .so without headers; the man pages. Each plugin finds the
# library from its own directory; the installed aifctl runs; `make
# uninstall` leaves nothing behind.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u

top=${top_builddir:-.}
n=0 failed=0
tap() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=1; echo "not ok $n - $2"; fi
}
# A make variable, expanded as make install expands it.
var() {
	make -s -C "$top" -f Makefile -f /dev/stdin "print-$1" <<<'print-%: ; @echo $($*)'
}

plugindir=$(var plugindir)
bindir=$(var bindir)
mandir=$(var mandir)

# What configure found, unless it was told (distcheck says --with-plugindir).
if "$top/config.status" --config | grep -q -- '--with-plugindir'; then
	echo "ok $((n += 1)) - plugindir was given to configure # SKIP $plugindir"
else
	real=$(ls -d /usr/lib/*/slurm-wlm/auth_munge.so /usr/lib64/slurm/auth_munge.so \
		/usr/local/lib/slurm/auth_munge.so 2>/dev/null | head -n 1)
	[ "$plugindir" = "${real%/auth_munge.so}" ]
	tap $? "configure found SLURM's PluginDir ($plugindir, where auth_munge.so is)"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -s -C "$top" install DESTDIR="$stage" >"$stage.out" 2>&1
tap $? "make install DESTDIR=... succeeds" || sed 's/^/# /' "$stage.out"

want=$(printf '%s\n' "$bindir/aifctl" \
	"$plugindir/job_submit_aifactory.so" "$plugindir/jobcomp_aifactory.so" \
	"$plugindir/libaifactory.so.0" "$plugindir/libaifactory.so.0.0.0" \
	"$plugindir/site_factor_aifactory.so" "$plugindir/spank_aifactory.so" \
	"$mandir/man1/aifctl.1" "$mandir/man5/aifactory.json.5" \
	"$mandir/man8/slurm-aifactory.8" | sort)
got=$(cd "$stage" && find . ! -type d | sed 's|^\.||' | sort)
[ "$got" = "$want" ]
tap $? "it installs the plugins, the library beside them, aifctl and its man pages, nothing else" ||
	diff <(echo "$want") <(echo "$got") | sed 's/^/# /'

for so in job_submit jobcomp site_factor; do
	lib=$(ldd "$stage$plugindir/${so}_aifactory.so" 2>/dev/null | awk '$1 == "libaifactory.so.0" { print $3 }')
	[ "$lib" = "$stage$plugindir/libaifactory.so.0" ]
	tap $? "${so}_aifactory.so finds the library in its own directory (${lib:-not found})"
done

out=$(LD_LIBRARY_PATH="$stage$plugindir" "$stage$bindir/aifctl" --version 2>&1)
[[ $out == aifctl\ * ]]
tap $? "the installed aifctl runs: $out"

make -s -C "$top" uninstall DESTDIR="$stage" >"$stage.out" 2>&1
tap $? "make uninstall DESTDIR=... succeeds" || sed 's/^/# /' "$stage.out"
left=$(cd "$stage" && find . ! -type d)
[ -z "$left" ]
tap $? "make uninstall leaves no file behind" || printf '# left: %s\n' $left
rm -f "$stage.out"

echo "1..$n"
exit "$failed"
