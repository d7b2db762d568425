#!/usr/bin/env bash
# Build a release tarball of the suite inside a Debian root of another
# release (tests/cluster/chroot.sh) against the SLURM that release ships,
# and run there what depends on SLURM: the plugins' exports and every live
# test, on a cluster of that SLURM's daemons; then a new operator's path
# (tests/cluster/operator.sh): make install into that root's SLURM, the
# README's configuration, jobs through it, make uninstall. With
# AIF_UPGRADE_STATE (a journal and snapshot an earlier release's build
# wrote), the operator's slurmctld starts from it: an upgrade of SLURM.
#
#   release-check.sh ROOT SUITE TARBALL [TEST...]
#
# ROOT is made (or reused) as a cache; the tarball is unpacked under
# ROOT/build. Without TESTs: tests/0001-plugin-exports.t and tests/live/*.t.
# Prints each test's TAP lines prefixed with the SLURM release; the .trs
# files stay under ROOT/build for the caller to count. Exit status 0 when
# every test passed. Run as root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 3 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
root=$(realpath -m "$1")
suite=$2
tarball=$(realpath "$3")
shift 3

"$here/chroot.sh" make "$root" "$suite"
src=$("$here/chroot.sh" slurm-src "$root")
name=$(basename "$tarball" .tar.gz)
rm -rf "$root/build"
mkdir -p "$root/build"
tar -C "$root/build" -xzf "$tarball"
# An upgrade: the journal an earlier release's build wrote (deb-check.sh).
upgrade=
if [ -n "${AIF_UPGRADE_STATE:-}" ] && [ -d "$AIF_UPGRADE_STATE" ]; then
	cp -a "$AIF_UPGRADE_STATE" "$root/build/upgrade-state"
	upgrade=/build/upgrade-state
fi
[ -d "$root/build/$name" ] || { echo "release-check: $tarball did not unpack into $name" >&2; exit 1; }
release=$(sed -n 's/^#define SLURM_VERSION_NUMBER 0x\(..\)\(..\)\(..\)$/\1 \2 \3/p' \
	"$root$src/slurm/slurm_version.h")
# shellcheck disable=SC2086 # three hex fields
release=$(printf '%d.%02d.%d' $(printf '0x%s ' $release))

tests=${*:-}
# The operator's path runs with the whole suite, or when AIF_OPERATOR=1.
operator=${AIF_OPERATOR:-$([ -z "$tests" ] && echo 1 || echo 0)}
# shellcheck disable=SC2016 # expanded inside the root
rc=0
"$here/chroot.sh" run "$root" /bin/bash -c '
	set -e
	cd "/build/$1"
	./configure -q --with-slurm-src="$2" >configure.out 2>&1 || { tail -20 configure.out; exit 1; }
	make -s -j"$(nproc)" >make.out 2>&1 || { grep -E "error|warning" make.out | head -40; exit 1; }
	tests=$3
	[ -n "$tests" ] || tests="tests/0001-plugin-exports.t $(ls tests/live/*.t | tr "\n" " ")"
	# Ports of their own: the host'"'"'s clusters may be running (cluster.sh).
	# One at a time: with two clusters at once here, Debian 13'"'"'s MariaDB
	# (11.8.9) once died of SIGSEGV answering slurmdbd'"'"'s first query.
	AIF_PORT_BASE=26000 make -s check TESTS="$tests" >check.out 2>&1 || true
	for t in $tests; do
		[ -f "${t%.t}.log" ] && grep -E "^(ok|not ok|# )" "${t%.t}.log" | sed "s|^|${t}: |" | grep -vE "^[^:]*: ok " | head -40
	done
	# A new operator: make install into this root'"'"'s SLURM, the README'"'"'s
	# configuration, jobs through it; then make uninstall, which keeps the
	# journal. Its TAP becomes a .trs of its own, counted with the rest.
	if [ "$4" = 1 ]; then
		plugindir=$(sed -n "s/^plugindir = //p" Makefile)
		{
			make -s install >install.out 2>&1 && echo "ok - make install" ||
				{ echo "not ok - make install"; tail -5 install.out; }
			bash tests/cluster/operator.sh README.md $5 | grep -v "^1\.\."
			make -s uninstall >uninstall.out 2>&1 && echo "ok - make uninstall" ||
				echo "not ok - make uninstall"
			left=$(ls "$plugindir" /usr/local/bin 2>/dev/null | grep -E "aifactory|aifctl" || true)
			[ -z "$left" ] && echo "ok - nothing of ours is left in $plugindir or /usr/local/bin" ||
				echo "not ok - left after make uninstall: $left"
			[ -s /var/spool/slurmctld/aifactory/journal ] &&
				echo "ok - the journal is kept" || echo "not ok - the journal is kept"
		} >tests/operator.log 2>&1
		grep -E "^(not ok|# )" tests/operator.log | sed "s|^|operator: |" | head -40
		{ sed -n "s/^ok .*/:test-result: PASS/p; s/^not ok .*/:test-result: FAIL/p" tests/operator.log; } >tests/operator.trs
		grep -c "^ok" tests/operator.log | sed "s/^/operator: passed /"
	fi
	! grep -qsE "^:test-result: (FAIL|XPASS|ERROR)" tests/*.trs tests/*/*.trs
' release-check "$name" "$src" "$tests" "$operator" "$upgrade" | sed "s/^/slurm $release: /" || rc=$?
exit "$rc"
