#!/usr/bin/env bash
# The Debian packages on a clean machine: a bare Debian root (debootstrap,
# cached), used through an overlay so that every run starts clean, gets
# the packages 'make deb' built installed with apt (which brings SLURM,
# munge and the rest from Debian's mirror), then a new operator's path
# (tests/cluster/operator.sh: the README's configuration, slurmctld and
# slurmd from their default places, jobs through them), then apt-get
# remove, which must leave none of our files and keep the journal.
#
#   deb-check.sh ROOT SUITE DEBDIR README [SAVE]
#
# SAVE: a directory to keep the journal and snapshot this run wrote in,
# for an upgrade test on a later SLURM (release-check.sh, AIF_UPGRADE_STATE).
#
# Prints TAP. Run as root.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# = 4 ] || [ $# = 5 ] || { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
root=$(realpath -m "$1") suite=$2 debdir=$(realpath "$3") readme=$(realpath "$4") save=${5:-}

"$here/chroot.sh" bare "$root" "$suite" >&2 || { echo "not ok 1 - a bare $suite root"; echo "1..1"; exit 1; }
work=$(mktemp -d /var/tmp/aif-deb.XXXXXX)
mkdir -p "$work/upper" "$work/work" "$work/root"
cleanup() {
	umount -l "$work/root" 2>/dev/null
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/work" "$work/root" ||
	{ echo "not ok 1 - an overlay on $root"; echo "1..1"; exit 1; }
mkdir -p "$work/root/tmp/aif"
cp "$debdir"/slurm-aifactory_*.deb "$debdir"/slurm-aifactory-ctld_*.deb \
	"$debdir"/slurm-aifactory-spank_*.deb "$readme" "$here/operator.sh" "$work/root/tmp/aif/"

# shellcheck disable=SC2016 # expanded inside the root
"$here/chroot.sh" run "$work/root" /bin/bash -c '
	tap() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi; }
	cd /tmp/aif || exit 1
	apt-get update -qq >apt.out 2>&1
	apt-get install -y -qq --no-install-recommends ./slurm-aifactory_*.deb \
		./slurm-aifactory-ctld_*.deb ./slurm-aifactory-spank_*.deb \
		slurmd munge iproute2 passwd procps >>apt.out 2>&1
	tap $? "apt installs the three packages, and SLURM with them, on a clean machine" ||
		tail -15 apt.out | sed "s/^/# /"
	plugindir=$(dirname "$(dpkg -L slurm-aifactory-ctld | grep job_submit_aifactory.so)")
	bash operator.sh README.md | grep -v "^1\.\."
	apt-get remove -y -qq slurm-aifactory slurm-aifactory-ctld slurm-aifactory-spank >apt.out 2>&1
	tap $? "apt-get remove takes them away"
	left=$(ls "$plugindir" /usr/bin /usr/share/man/man*/ 2>/dev/null | grep -E "aifactory|aifctl" || true)
	[ -z "$left" ]
	tap $? "nothing of ours is left ($plugindir, /usr/bin, the man pages)" || echo "# left: $left"
	[ -s /var/spool/slurmctld/aifactory/journal ]
	tap $? "the journal is kept"
	cp -a /var/spool/slurmctld/aifactory /tmp/aif/state
' deb-check 2>&1
if [ -n "$save" ]; then
	rm -rf "$save"
	cp -a "$work/root/tmp/aif/state" "$save"
fi
