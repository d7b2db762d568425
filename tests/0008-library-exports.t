#!/usr/bin/env bash
# libaifactory exports its public API and nothing else: every function a
# public header of common/ declares, and no other symbol. A header that
# holds the library's inside says so with "#pragma GCC visibility
# push(hidden)" and is not public. The plugins and aifctl link against
# this library inside slurmctld's address space: an internal helper left
# global could be bound by, or shadow, another object's symbol.
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"
src=${top_srcdir:-.}/common
lib=${top_builddir:-.}/common/.libs/libaifactory.so

plan 3
[ -r "$lib" ] || bail_out "no $lib: build first"

exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ {print $3}' | sort -u)

# The functions declared at file scope in the public headers (comments and
# preprocessor lines taken out first).
# topology.h is the hwloc archive's (libaif_topology, linked into aifctl
# and the SPANK plugin), not this library's.
public=$(for h in "$src"/*.h; do
	grep -q '^#pragma GCC visibility push(hidden)' "$h" && continue
	[ "$(basename "$h")" = topology.h ] && continue
	perl -0777 -ne '
		s{/\*.*?\*/}{}gs; s{^\s*#.*$}{}mg;
		for my $decl (split /[;{}]/) {
			print "$1\n" if $decl =~ /^[\s\w\*]*?\b(aif_\w+)\s*\(/s;
		}' "$h"
done | sort -u)

is "$(comm -23 <(echo "$exported") <(echo "$public") | tr '\n' ' ')" "" \
	"every exported symbol is declared in a public header"
is "$(comm -13 <(echo "$exported") <(echo "$public") | tr '\n' ' ')" "" \
	"every function a public header declares is exported"
is "$(echo "$exported" | grep -v '^aif_' | tr '\n' ' ')" "" \
	"nothing but aif_ names is exported"
done_testing
