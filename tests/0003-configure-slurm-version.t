#!/usr/bin/env bash
# configure refuses a SLURM source tree of another version than the
# installed SLURM (slurmctld would refuse the plugins and exit), and a
# tree that is not configured, each with a message that says what to do.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

installed=/usr/include/slurm/slurm_version.h
[ -f "$installed" ] || skip_all "no installed SLURM headers"
work=$(mktemp -d /tmp/aif-configure.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A fake SLURM tree: the files configure looks at, one micro version off.
fake=$work/slurm-src
mkdir -p "$fake/src/slurmctld" "$fake/slurm"
touch "$fake/src/slurmctld/slurmctld.h"
num=$(sed -n 's/^#define SLURM_VERSION_NUMBER *//p' "$installed")
printf '#define SLURM_VERSION_NUMBER 0x%06x\n' $((num + 1)) >"$fake/slurm/slurm_version.h"
want=$(printf '%d.%02d.%d' $((num >> 16 & 255)) $((num >> 8 & 255)) $((num & 255)))
other=$(printf '%d.%02d.%d' $((num >> 16 & 255)) $((num >> 8 & 255)) $((num + 1 & 255)))

# configure runs in a copy of what it needs: the checkout may be
# configured already, and then refuses a second build directory.
mkdir -p "$work/src/common"
cp -r "$top_srcdir/configure" "$top_srcdir/build-aux" "$top_srcdir/Makefile.in" "$work/src/"
cp "$top_srcdir/common/aifactory.h" "$work/src/common/"
AIF_SCRATCH=$work/src	# run (lib.sh) runs commands there
run ./configure -q --with-slurm-src="$fake"
is "$AS_RC" 1 "an unconfigured tree is refused"
like "$AS_ERR" "is not configured \\(no config.h\\): run ./configure in it first" \
	"and the message says to configure it"

touch "$fake/config.h"
run ./configure -q --with-slurm-src="$fake"
is "$AS_RC" 1 "a tree of another version is refused"
like "$AS_ERR" "SLURM source $fake is $other but the installed SLURM is $want\\. slurmctld refuses plugins of another version and exits\\." \
	"and the message names both versions and why"

run ./configure -q
is "$AS_RC" 1 "no --with-slurm-src at all is refused"
like "$AS_ERR" "--with-slurm-src=DIR is required" "and the message says how to get one"
done_testing
