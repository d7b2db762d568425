#!/usr/bin/env bash
# Build the suite against the source of a SLURM release this machine does
# not run, and check what can be checked without its daemons: every
# plugin builds without a warning, and exports exactly its interface as
# that release's own syms[] tables list it (tests/0001-plugin-exports.t).
# Run it from a git checkout. For a release whose source Debian's mirror
# does not serve (25.05 and later, see the README's releases table), from
# SchedMD's tag:
#
#   git -C SLURM-GIT archive slurm-25-05-8-1 | tar -x -C /tmp/slurm-25.05.8
#   (cd /tmp/slurm-25.05.8 && ./configure)        # make is not needed
#   tests/cluster/source-build.sh /tmp/slurm-25.05.8 [BUILD-DIR]
#
# The tree's tracked files are copied to BUILD-DIR (default: a new
# temporary directory), configured there with that source's headers in
# place of the installed ones, and built. Exit status 0 when 0001 passed.
set -euo pipefail

[ $# -ge 1 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
src=$(realpath "$1")
build=${2:-$(mktemp -d)}
top=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$src/config.h" ] || { echo "source-build: $src is not a configured SLURM source (no config.h)" >&2; exit 2; }

mkdir -p "$build"
git -C "$top" ls-files -z | (cd "$top" && xargs -0 tar -cf -) | tar -xf - -C "$build"
cd "$build"
autoreconf -fi >autoreconf.out 2>&1 || { tail -20 autoreconf.out; exit 1; }
# The source's own slurm/ headers stand in for libslurm-dev's; this
# machine's slurmctld (another release) is kept off PATH, where configure
# would compare its version. Nothing is installed: any PluginDir will do.
PATH=/usr/bin:/bin ./configure -q --with-slurm-src="$src" CPPFLAGS="-I$src" \
	--with-plugindir="$build/plugindir" --disable-live-tests >configure.out 2>&1 ||
	{ tail -20 configure.out; exit 1; }
release=$(sed -n 's/^SLURM_VERSION = //p' Makefile)
make -s >make.out 2>&1 || { grep -E "error|warning" make.out | head -40; exit 1; }
if grep -E "warning:" make.out; then
	echo "not ok - the plugins build against SLURM $release without a warning"
	exit 1
fi
echo "ok - the plugins build against SLURM $release without a warning"
make -s check TESTS=tests/0001-plugin-exports.t >check.out 2>&1 || true
grep -E "^(ok|not ok|# )" tests/0001-plugin-exports.log | sed "s/^/slurm $release: /"
! grep -qE "^:test-result: (FAIL|XPASS|ERROR)" tests/0001-plugin-exports.trs
