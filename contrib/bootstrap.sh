#!/usr/bin/env bash
# Prepare a Debian 12 machine to build slurm-aifactory, build it, and
# optionally run the demo or every test:
#
#   sudo contrib/bootstrap.sh          install what is missing, build
#   sudo contrib/bootstrap.sh demo     ... then run the demo
#   sudo contrib/bootstrap.sh check    ... then run every test; the last
#                                      line is "N passed, N failed"
#
# Installs every dependency from Debian's packages (adding a deb-src entry if
# the machine has none), fetches the source of the installed slurm-wlm once
# into a cache outside the work tree (AIF_SLURM_CACHE, default
# /var/cache/slurm-aifactory), configures it, and builds this tree against it.
# Running it again reuses the cache and only rebuilds.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
verb=${1:-build}
case $verb in
build|demo|check) ;;
*) echo "usage: $0 [build|demo|check]" >&2; exit 2 ;;
esac
cache=${AIF_SLURM_CACHE:-/var/cache/slurm-aifactory}
say() { printf 'bootstrap: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	say "run me as root: I install packages and a cached SLURM source tree"
	exit 1
fi

packages=(
	autoconf automake libtool pkg-config make gcc binutils dpkg-dev gnuplot-nox
	slurmctld slurmd slurmdbd slurm-client libslurm-dev slurm-wlm-basic-plugins-dev
	mariadb-server mariadb-client
	munge libmunge-dev libjson-c-dev libhwloc-dev hwloc
	valgrind passwd procps iproute2 hostname util-linux groff-base
	clang libclang-rt-14-dev
	debhelper lintian rpm debootstrap man-db python3-prometheus-client
)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

have_src() {
	grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/
}
if ! have_src; then
	say "adding a deb-src entry for bookworm"
	cat >/etc/apt/sources.list.d/aifactory-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	updated=
else
	updated=yes
fi

if [ ${#missing[@]} -gt 0 ] || [ -z "$updated" ]; then
	say "installing: ${missing[*]:-(none; refreshing source lists)}"
	apt-get update -qq
	# Daemons from the packages must not start: the tests run their own.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	if [ ${#missing[@]} -gt 0 ]; then
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi

version=$(dpkg-query -W -f='${Version}' slurmctld)
upstream=${version%%-*}
src="$cache/slurm-wlm-$upstream"
if [ ! -f "$src/.aifactory-configured" ]; then
	say "fetching and configuring slurm-wlm $version into $cache"
	mkdir -p "$cache"
	rm -rf "$src"
	(cd "$cache" && apt-get source -qq -o APT::Sandbox::User=root "slurm-wlm=$version" >/dev/null)
	[ -d "$src" ] || { say "apt-get source did not produce $src"; exit 1; }
	(cd "$src" && ./configure -q --disable-debug --enable-multiple-slurmd \
		--without-hdf5 --without-pmix --without-ucx --without-nvml \
		--without-rsmi --without-hwloc --without-freeipmi --without-rrdtool \
		--without-libcurl --without-jwt --without-yaml \
		--without-json --without-http-parser >/dev/null)
	touch "$src/.aifactory-configured"
fi

say "building in $top"
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
[ -f Makefile ] && [ config.status -nt configure ] ||
	./configure -q --with-slurm-src="$src"
make -s -j"$(nproc)"
say "built; the SLURM source tree is $src"

# Count TAP results of every test that ran, here and in the other
# releases' roots: PASS (and SKIP) pass; FAIL, XPASS and ERROR fail; a test
# that could not even run fails too.
summary() {
	local passed failed trs=(tests/*.trs tests/*/*.trs)
	for root in "${release_roots[@]}"; do
		trs+=("$root"/build/*/tests/*.trs "$root"/build/*/tests/*/*.trs)
	done
	passed=$(cat "${trs[@]}" 2>/dev/null |
		grep -cE '^:test-result: (PASS|SKIP|XFAIL)' || true)
	failed=$(cat "${trs[@]}" 2>/dev/null |
		grep -cE '^:test-result: (FAIL|XPASS|ERROR)' || true)
	failed=$((failed + $1))
	passed=$((passed + $2))
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

case $verb in
demo)
	exec "$top/contrib/demo.sh"
	;;
check)
	extra_fail=0 extra_pass=0 release_roots=()
	# The Debian packages: built (lintian clean), then installed with apt
	# on a clean copy of this Debian release, where a new operator's path
	# runs on them (tests/cluster/deb-check.sh). First, as the other
	# releases' operator upgrades from the journal it leaves.
	say "make deb"
	rm -rf "$cache/upgrade-state"
	if make -s deb >deb.log 2>&1; then
		extra_pass=$((extra_pass + 1)); echo "ok - make deb (lintian clean)"
		suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
		# Its journal is kept for the next releases' operator: an upgrade.
		tests/cluster/deb-check.sh "$cache/$suite" "$suite" deb-build README.md \
			"$cache/upgrade-state" >tests/deb-check.log 2>&1
		sed 's/^/packages: /' tests/deb-check.log | grep -E '^packages: (not ok|#)' || true
		sed -n 's/^ok .*/:test-result: PASS/p; s/^not ok .*/:test-result: FAIL/p' \
			tests/deb-check.log >tests/deb-check.trs
		echo "packages: $(grep -c '^ok' tests/deb-check.log) passed on a clean $suite"
	else
		extra_fail=$((extra_fail + 1)); echo "not ok - make deb (tail of deb.log follows)"
		tail -40 deb.log
	fi
	# The live suite again on the other releases centres run, each in a
	# Debian root of its own (cached beside the SLURM source): SLURM 24.11
	# from Debian 13. It runs while this release's tests do (its clusters
	# take ports of their own; its output is shown after them).
	# AIF_SKIP_RELEASES=1 leaves them out (a machine without Debian's
	# mirror); CI runs them.
	release_roots=() release_pids=()
	if [ "${AIF_SKIP_RELEASES:-0}" = 0 ]; then
		make -s dist >/dev/null
		tarball=$(sed -n "s/^PACKAGE_TARNAME = //p" Makefile)-$(sed -n "s/^PACKAGE_VERSION = //p" Makefile).tar.gz
		# A copy of its own: make distcheck writes the tarball again.
		dist=$(mktemp -d)
		cp "$tarball" "$dist/"
		tarball=$dist/$tarball
		for suite in trixie; do
			say "the live suite on $suite's SLURM, in $cache/$suite (in the background)"
			release_roots+=("$cache/$suite")
			AIF_UPGRADE_STATE="$cache/upgrade-state" \
				tests/cluster/release-check.sh "$cache/$suite" "$suite" "$tarball" \
				>"tests/release-$suite.out" 2>&1 &
			release_pids+=($!)
		done
	fi
	# Every test but the live ones, one at a time (the sanitizers and the
	# fuzzers keep the CPUs busy); then the live tests two at a time: each
	# has a cluster of its own and mostly waits on SLURM's timers. (The
	# other releases' roots run theirs one at a time: release-check.sh.)
	make -s check -j1 LIVE_TESTS= || true
	make -s check -j2 TESTS="$(echo tests/live/*.t)" || true
	cat tests/*.log tests/*/*.log 2>/dev/null | grep -E '^(not ok|# )' | head -100 || true
	# A release tarball must build and pass its unit tests on its own.
	say "make distcheck"
	if make -s distcheck >distcheck.log 2>&1; then
		extra_pass=$((extra_pass + 1)); echo "ok - make distcheck"
	else
		extra_fail=$((extra_fail + 1)); echo "not ok - make distcheck (tail of distcheck.log follows)"
		tail -40 distcheck.log
	fi
	for i in "${!release_pids[@]}"; do
		root=${release_roots[i]}
		suite=$(basename "$root")
		say "the live suite on $suite's SLURM: waiting for it"
		wait "${release_pids[i]}" || {
			# A root that could not even be made or built counts.
			ls "$root"/build/*/tests/live/*.trs >/dev/null 2>&1 ||
				extra_fail=$((extra_fail + 1))
		}
		cat "tests/release-$suite.out"
	done
	[ "${#release_pids[@]}" = 0 ] || rm -rf "$dist"
	summary "$extra_fail" "$extra_pass"
	;;
esac
