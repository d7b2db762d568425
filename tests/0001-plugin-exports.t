#!/usr/bin/env bash
# Each plugin .so exports its plugin interface and nothing else: slurmctld
# exports all of its own symbols, so any other global of ours could
# collide with one of SLURM's. And each is built hardened: full RELRO,
# bind-now, stack protector, fortified string functions.
set -u
dir=${top_builddir:-.}/plugindir

src=${slurm_src:-}

# What this SLURM's plugin interface looks up (its syms[] table, in the
# first of FILES found under its source tree), with what every plugin
# has: so each release is checked against its own interface.
interface() {
	local f
	for f in "$@"; do
		[ -f "$src/$f" ] || continue
		{
			printf '%s\n' fini init plugin_name plugin_type plugin_version
			sed -n '/syms\[\] = {/,/};/p' "$src/$f" | grep -o '"[a-z_]*"' | tr -d '"'
		} | sort | tr '\n' ' ' | sed 's/ $//'
		return
	done
	echo "(no interface source under '$src': $*)"
}

expected_job_submit_aifactory=$(interface src/interfaces/job_submit.c src/slurmctld/job_submit.c)
expected_jobcomp_aifactory=$(interface src/interfaces/jobcomp.c src/common/slurm_jobcomp.c)
expected_site_factor_aifactory=$(interface src/interfaces/site_factor.c src/common/site_factor.c)
expected_spank_aifactory="plugin_name plugin_type plugin_version slurm_spank_exit slurm_spank_init slurm_spank_init_post_opt slurm_spank_task_init"

n=0 failed=0
check() {
	local so=$1 want=$2 got
	got=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort | tr '\n' ' ' | sed 's/ $//')
	n=$((n + 1))
	if [ "$got" = "$want" ]; then
		echo "ok $n - $(basename "$so") exports only: $want"
	else
		failed=1
		echo "not ok $n - $(basename "$so") exports only the plugin interface"
		echo "#   got:  $got"
		echo "#   want: $want"
	fi
}

hardened() {
	local so=$1 name
	name=$(basename "$so")
	tap() {
		n=$((n + 1))
		if [ "$1" = 0 ]; then echo "ok $n - $name: $2"; else failed=1; echo "not ok $n - $name: $2"; fi
	}
	readelf -lW "$so" | grep -q GNU_RELRO; tap $? "RELRO"
	readelf -d "$so" | grep -qE 'BIND_NOW|Flags:.* NOW'; tap $? "bind-now"
	nm -D "$so" | grep -q ' U __stack_chk_fail'; tap $? "stack protector"
}

for plugin in job_submit_aifactory jobcomp_aifactory site_factor_aifactory spank_aifactory; do
	var=expected_$plugin
	if [ -f "$dir/$plugin.so" ]; then
		check "$dir/$plugin.so" "${!var}"
	else
		n=$((n + 1)); failed=1
		echo "not ok $n - $dir/$plugin.so was built"
	fi
	hardened "$dir/$plugin.so"
	# Nothing from the library leaks out, even as a weak symbol.
	n=$((n + 1))
	if nm -D --defined-only "$dir/$plugin.so" 2>/dev/null | grep -q ' aif_'; then
		failed=1; echo "not ok $n - $plugin.so hides the aif_ library"
	else
		echo "ok $n - $plugin.so hides the aif_ library"
	fi
done
# The shared library all plugins load exports aif_* names only.
lib=$dir/libaifactory.so.0
n=$((n + 1))
others=$(nm -D --defined-only "$lib" 2>/dev/null | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^aif_/ {print $3}' | tr '\n' ' ')
if [ -f "$lib" ] && [ -z "$others" ]; then
	echo "ok $n - libaifactory.so.0 exports only aif_* names"
else
	failed=1; echo "not ok $n - libaifactory.so.0 exports only aif_* names"
	echo "#   also: ${others:-(library missing)}"
fi
hardened "$lib"
n=$((n + 1))
if readelf -d "$dir/job_submit_aifactory.so" | grep -q 'RUNPATH.*\$ORIGIN'; then
	echo "ok $n - the plugins find the library next to them (\$ORIGIN)"
else
	failed=1; echo "not ok $n - the plugins find the library next to them (\$ORIGIN)"
fi
# Fortified string functions are a compile flag; glibc applies them only
# where an object's size is known, so look at the flag, not at each file.
n=$((n + 1))
if grep -q -- '-D_FORTIFY_SOURCE=2' "${top_builddir:-.}/Makefile"; then
	echo "ok $n - built with -D_FORTIFY_SOURCE=2"
else
	failed=1; echo "not ok $n - built with -D_FORTIFY_SOURCE=2"
fi
echo "1..$n"
exit $failed
