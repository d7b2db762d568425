#!/usr/bin/env bash
# The RPM spec for RHEL-family sites makes a source package from the
# release tarball (rpmbuild -bs), names the three binary packages, and
# ships every file 'make install' installs (the files lists match).
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u

top=${top_builddir:-.}
spec=$top/packaging/rpm/slurm-aifactory.spec
command -v rpmbuild >/dev/null || { echo "1..0 # SKIP rpmbuild is not installed"; exit 0; }
# It makes a release tarball: not inside distcheck's own.
[ "${AIF_SKIP_LIVE:-0}" = 0 ] || { echo "1..0 # SKIP under distcheck"; exit 0; }
n=0 failed=0
tap() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=1; echo "not ok $n - $2"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s -C "$top" dist >"$tmp/dist.out" 2>&1
tap $? "make dist" || sed 's/^/# /' "$tmp/dist.out"
version=$(sed -n 's/^Version: *//p' "$spec")
tar -tzf "$top/slurm-aifactory-$version.tar.gz" | grep -qx "slurm-aifactory-$version/packaging/rpm/slurm-aifactory.spec"
tap $? "the tarball carries the spec (rpmbuild -ta finds it)"

rpmbuild -bs --define "_topdir $tmp/rpm" --define "_sourcedir $top" "$spec" >"$tmp/out" 2>&1
tap $? "rpmbuild -bs makes a source package" || sed 's/^/# /' "$tmp/out"
srpm=$(ls "$tmp"/rpm/SRPMS/*.src.rpm 2>/dev/null)
got=$(rpm -qpl "$srpm" 2>/dev/null | sort | tr '\n' ' ')
[ "$got" = "slurm-aifactory-$version.tar.gz slurm-aifactory.spec " ]
tap $? "it holds the tarball and the spec: $got"

got=$(rpmspec -q --builtrpms --qf '%{NAME}\n' --define 'slurm_src /nonexistent' "$spec" 2>/dev/null | sort | tr '\n' ' ')
[ "$got" = "slurm-aifactory slurm-aifactory-ctld slurm-aifactory-spank " ]
tap $? "three binary packages: $got"

# Every file make install installs is in one %files list, by its basename.
stage=$tmp/stage
make -s -C "$top" install DESTDIR="$stage" >/dev/null 2>&1
missing=
for f in $(cd "$stage" && find . ! -type d -printf '%f\n' | sed 's/\.so\.0.*/.so.0*/; s/\.[158]$/&*/' | sort -u); do
	grep -qF "/$f" "$spec" || missing="$missing $f"
done
[ -z "$missing" ]
tap $? "the %files lists name every installed file" || echo "# missing:$missing"

echo "1..$n"
exit "$failed"
