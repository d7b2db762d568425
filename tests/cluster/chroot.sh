#!/usr/bin/env bash
# A Debian root of another release, to build and test the suite against the
# SLURM that release ships (Debian 13 "trixie": SLURM 24.11).
#
#   chroot.sh make ROOT SUITE   debootstrap SUITE into ROOT once, install SLURM,
#                               MariaDB, munge and the build's packages in it,
#                               and unpack and configure SLURM's source in
#                               ROOT/var/cache/slurm-aifactory; a second call
#                               finds ROOT ready and returns at once
#   chroot.sh bare ROOT SUITE   only debootstrap SUITE into ROOT (a clean
#                               machine, for installing packages on a copy)
#   chroot.sh run ROOT CMD...   run CMD inside ROOT with /proc, /sys, /dev and
#                               /run mounted for it, and unmount them after
#   chroot.sh slurm-src ROOT    print the configured SLURM source tree's path
#                               inside ROOT
#
# The root is a cache, like the SLURM source tree bootstrap.sh keeps: nothing
# in it is part of the project. Run as root.
set -euo pipefail

readonly MIRROR=http://deb.debian.org/debian
readonly READY=.aifactory-ready
readonly SRC_CACHE=/var/cache/slurm-aifactory
packages=(
	slurmctld slurmd slurmdbd slurm-client libslurm-dev slurm-wlm-basic-plugins-dev
	mariadb-server mariadb-client munge libmunge-dev libjson-c-dev
	libhwloc-dev hwloc gcc make pkg-config dpkg-dev python3 file
	passwd procps iproute2 hostname util-linux bzip2 xz-utils
	python3-prometheus-client
)

say() { printf 'chroot: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

mounts=()
unmount_all() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount -l "${mounts[i]}" 2>/dev/null || true
	done
	mounts=()
}

# Every mount under ROOT (left by a killed run), lazily.
_unmount_under() {
	local m
	awk -v r="$1/" 'index($2 "/", r) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# Mount what daemons need inside ROOT; undone by unmount_all on any exit.
mount_all() {
	local root=$1 m
	trap unmount_all EXIT
	for m in proc sys dev dev/pts run; do
		mkdir -p "$root/$m"
		mountpoint -q "$root/$m" && continue
		case $m in
		proc) mount -t proc proc "$root/proc" ;;
		sys) mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" ;;
		dev) mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" ;;
		dev/pts) mountpoint -q "$root/dev/pts" || mount -t devpts devpts "$root/dev/pts" ;;
		run) mount -t tmpfs -o mode=755 tmpfs "$root/run" ;;
		esac
		mounts+=("$root/$m")
	done
	cp /etc/hosts "$root/etc/hosts"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

in_root() {
	local root=$1
	shift
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

slurm_src() {
	local root=$1 d
	for d in "$root$SRC_CACHE"/slurm-*/; do
		[ -f "$d.aifactory-configured" ] && { printf '%s\n' "${d%/}" | sed "s|^$root||"; return 0; }
	done
	return 1
}

make_root() {
	local root=$1 suite=$2 t0=$SECONDS want
	# The package list is part of what the root is: a new one is
	# installed into a root made before it.
	want="$suite $(printf '%s\n' "${packages[@]}" | md5sum | cut -c1-12)"
	if [ "$(cat "$root/$READY" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	if [ -x "$root/usr/bin/apt-get" ] && [ -f "$root/.aifactory-packages" ] &&
		[ "$(cut -d' ' -f1 "$root/.aifactory-packages")" = "$suite" ]; then
		mount_all "$root"
		[ "$(cat "$root/.aifactory-packages")" = "$want" ] ||
			install_packages "$root" "$want"
	else
		install_root "$root" "$suite"
		install_packages "$root" "$want"
	fi
	slurm_src "$root" >/dev/null || fetch_source "$root"
	unmount_all
	trap - EXIT
	printf '%s\n' "$want" >"$root/$READY"
	say "$root is ready ($((SECONDS - t0)) s)"
}

# A minimal SUITE in ROOT (made anew), whose packages' daemons never start.
debootstrap_root() {
	local root=$1 suite=$2
	command -v debootstrap >/dev/null ||
		apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
	# A run killed before its unmount leaves /dev and /sys bound in
	# ROOT: unbind them before anything is deleted, and delete nothing
	# on another file system.
	_unmount_under "$root"
	rm -rf --one-file-system "$root"
	mkdir -p "$root"
	say "debootstrap $suite into $root"
	debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$root.debootstrap.log" 2>&1 ||
		{ tail -20 "$root.debootstrap.log" >&2; die "debootstrap $suite failed"; }
	printf 'deb %s %s main\ndeb-src %s %s main\n' "$MIRROR" "$suite" "$MIRROR" "$suite" \
		>"$root/etc/apt/sources.list"
	# Daemons from the packages must not start: the tests run their own.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	# The mirror this machine reaches may serve an unstable suite whose
	# Release file has expired; its packages are still what it serves.
	echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99aifactory"
}

install_root() {
	debootstrap_root "$1" "$2"
	mount_all "$1"
}

install_packages() {
	local root=$1 want=$2
	say "installing SLURM and the build's packages in $root"
	in_root "$root" apt-get update -qq
	in_root "$root" apt-get install -y -qq --no-install-recommends "${packages[@]}" \
		>"$root.apt.log" 2>&1 || { tail -20 "$root.apt.log" >&2; die "apt-get install failed"; }
	printf '%s\n' "$want" >"$root/.aifactory-packages"
}

fetch_source() {
	local root=$1 orig dir
	say "fetching SLURM's source"
	in_root "$root" sh -c "mkdir -p $SRC_CACHE && cd $SRC_CACHE &&
		apt-get source -qq --download-only -o APT::Sandbox::User=root slurm-wlm" \
		>"$root.src.log" 2>&1 || true
	orig=$(ls "$root$SRC_CACHE"/slurm-wlm_*.orig.tar.* 2>/dev/null | head -n 1)
	[ -n "$orig" ] || { cat "$root.src.log" >&2; die "no source tarball of slurm-wlm"; }
	# The upstream tarball unpacks into slurm-slurm-24-11-5-1 or the like.
	dir=$(tar -tf "$orig" | sed -n 1p)
	dir=$root$SRC_CACHE/${dir%%/*}
	rm -rf "$dir"
	tar -C "$root$SRC_CACHE" -xf "$orig"
	[ -x "$dir/configure" ] || die "$orig has no configure script"
	say "configuring ${dir#"$root"}"
	in_root "$root" sh -c "cd '${dir#"$root"}' && ./configure -q --disable-debug \
		--enable-multiple-slurmd --without-hdf5 --without-pmix --without-ucx \
		--without-nvml --without-rsmi --without-hwloc --without-freeipmi \
		--without-rrdtool --without-libcurl --without-jwt --without-yaml \
		--without-json --without-http-parser" >"$root.configure.log" 2>&1 ||
		{ tail -20 "$root.configure.log" >&2; die "configuring SLURM's source failed"; }
	touch "$dir/.aifactory-configured"
}

[ "$(id -u)" = 0 ] || die "run me as root"
case ${1:-} in
make)
	[ $# = 3 ] || die "usage: $0 make ROOT SUITE"
	make_root "$(realpath -m "$2")" "$3"
	;;
bare)
	[ $# = 3 ] || die "usage: $0 bare ROOT SUITE"
	root=$(realpath -m "$2")
	if [ "$(cat "$root/$READY" 2>/dev/null)" != "$3 bare" ]; then
		debootstrap_root "$root" "$3"
		printf '%s bare\n' "$3" >"$root/$READY"
	fi
	;;
run)
	[ $# -ge 3 ] || die "usage: $0 run ROOT CMD..."
	root=$(realpath -m "$2")
	[ -f "$root/$READY" ] || die "$root is not ready: run '$0 make' first"
	shift 2
	mount_all "$root"
	rc=0
	in_root "$root" "$@" || rc=$?
	exit "$rc"
	;;
slurm-src)
	[ $# = 2 ] || die "usage: $0 slurm-src ROOT"
	slurm_src "$(realpath -m "$2")"
	;;
*)
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
	;;
esac
