#!/usr/bin/env bash
# Each plugin .so exports its plugin interface and nothing else: slurmctld
# exports all of its own symbols, so any other global of ours could
# collide with one of SLURM's.
set -u
dir=${top_builddir:-.}/plugindir

expected_job_submit_aifactory="fini init job_modify job_submit plugin_name plugin_type plugin_version"

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

for plugin in job_submit_aifactory; do
	var=expected_$plugin
	if [ -f "$dir/$plugin.so" ]; then
		check "$dir/$plugin.so" "${!var}"
	else
		n=$((n + 1)); failed=1
		echo "not ok $n - $dir/$plugin.so was built"
	fi
	# Nothing from the library leaks out, even as a weak symbol.
	n=$((n + 1))
	if nm -D --defined-only "$dir/$plugin.so" 2>/dev/null | grep -q ' aif_'; then
		failed=1; echo "not ok $n - $plugin.so hides the aif_ library"
	else
		echo "ok $n - $plugin.so hides the aif_ library"
	fi
done
echo "1..$n"
exit $failed
