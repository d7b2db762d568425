#!/usr/bin/env bash
# What job_submit/aifactory costs. A benchmark, not a test: it prints
# numbers and never fails because they are bad; it fails only when it
# cannot run (not root, the tree is not built, the cluster does not start).
#
#   contrib/bench/bench.sh          as root, in a built tree (or: make bench)
#
# 1. The library alone (bench_decide): how long a policy of 10,000
#    projects takes to load, and ns per admission decision
#    (aif_gpus_normalise + aif_decide, as the plugin calls them per job).
# 2. Where valgrind is installed: instructions per decision (callgrind).
# 3. One throwaway cluster (tests/cluster/cluster.sh) with a generated
#    10,000-project policy whose classes are budgeted (every GPU job takes
#    a lien), and thousands of held jobs of other projects pending
#    throughout: submissions per second (sbatch --hold as aif-alice, from
#    parallel loops) with job_submit/aifactory and jobcomp/aifactory and
#    with stock SLURM (neither); slurmctld's CPU per submission, the
#    whole process and by thread (from /proc: what the plugins add to
#    the controller, target: under 20 us), and its mean time per
#    REQUEST_SUBMIT_BATCH_JOB from sdiag.
# 4. On the same cluster, jobs that run (1 GPU, sleep 1) and end while
#    held submissions go on: completed jobs per second with
#    jobcomp/aifactory charging each into its journal, and without; the
#    journal's charge records are counted against the jobs.
# 5. spank/aifactory (bench_placement): per topology (our fixtures, the
#    real exports in ../shared/topologies when present, this machine),
#    what hwloc takes to load it (a node's first step), what the cached
#    placement takes to read (every later step), and the work per task.
#
# Environment:
#   AIF_BUILD_DIR         the built tree (default: the tree holding this script)
#   AIF_BENCH_PROJECTS    projects in the generated policies (10000)
#   AIF_BENCH_ITERATIONS  decisions bench_decide times (1000000)
#   AIF_BENCH_JOBS        submissions per phase (300)
#   AIF_BENCH_LOOPS       parallel submitting loops (4)
#   AIF_BENCH_ROUNDS      rounds of the two phases (2)
#   AIF_BENCH_PENDING     held jobs of other projects, pending throughout (2000)
#   AIF_BENCH_RUNS        jobs that run to completion per phase of 4. (200)
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$(cd "${AIF_BUILD_DIR:-$SRC_DIR}" && pwd)
readonly SRC_DIR BUILD_DIR
readonly CLUSTER_SH=$SRC_DIR/tests/cluster/cluster.sh
readonly BENCH_DECIDE=$BUILD_DIR/contrib/bench/bench_decide
readonly BENCH_PLACEMENT=$BUILD_DIR/contrib/bench/bench_placement
readonly PLUGIN_DIR=$BUILD_DIR/plugindir
readonly PROJECTS=${AIF_BENCH_PROJECTS:-10000}
readonly ITERATIONS=${AIF_BENCH_ITERATIONS:-1000000}
readonly JOBS=${AIF_BENCH_JOBS:-300}
readonly LOOPS=${AIF_BENCH_LOOPS:-4}
readonly ROUNDS=${AIF_BENCH_ROUNDS:-2}
readonly PENDING=${AIF_BENCH_PENDING:-2000}
readonly RUNS=${AIF_BENCH_RUNS:-200}
readonly PRELOAD_USER=aif-bob	# a member of many projects: -A each
readonly USER_NAME=aif-alice	# in exactly one project: needs no -A
readonly WARMUP=4		# submissions after each restart, not counted

say() { printf '%s\n' "$*"; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
calc() { awk "BEGIN { $1 }" </dev/null; }

# ---------------------------------------------------------------- checks

[ "$(id -u)" = 0 ] || die "run me as root (the test cluster needs it)"
for n in PROJECTS ITERATIONS JOBS LOOPS ROUNDS PENDING RUNS; do
	[[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "AIF_BENCH_$n must be a positive integer"
done
[ -x "$BENCH_DECIDE" ] || die "$BENCH_DECIDE is not built: run make first"
[ -f "$PLUGIN_DIR/job_submit_aifactory.so" ] ||
	die "$PLUGIN_DIR/job_submit_aifactory.so is not built: run make first"
for b in sbatch scancel scontrol squeue sdiag setpriv /usr/sbin/slurmctld; do
	command -v "$b" >/dev/null || die "$b is not installed"
done

WORK=$(mktemp -d /tmp/aif-bench.XXXXXX)
CLUSTER=
cleanup() {
	local loops
	# The submitting loops, when interrupted: ours, by their pids.
	read -r -a loops <<<"$(jobs -p | tr '\n' ' ')"
	[ ${#loops[@]} = 0 ] || kill "${loops[@]}" 2>/dev/null || :
	wait 2>/dev/null || :
	if [ -n "$CLUSTER" ]; then
		if "$CLUSTER_SH" stop "$CLUSTER" >>"$WORK/cluster.log" 2>&1; then
			rm -rf -- "$CLUSTER"
		else
			printf 'bench: the cluster in %s did not stop cleanly; see %s\n' \
				"$CLUSTER" "$WORK/cluster.log" >&2
			return
		fi
	fi
	rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "slurm-aifactory benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
say "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -r)"
say "build:   $BUILD_DIR"

# ------------------------------------------------------- 1. the library

say ""
say "== 1. The library: bench_decide -n $PROJECTS -i $ITERATIONS"
"$BENCH_DECIDE" -n "$PROJECTS" -i "$ITERATIONS" | tee "$WORK/decide.out"
LOAD_MS=$(awk '/^policy load:/ { print $3 }' "$WORK/decide.out")
DECIDE_NS=$(awk '$1 == "overall" { print $2 }' "$WORK/decide.out")
WORST_NS=$(awk '$3 == "ns" && $1 != "overall" && $2 > w { w = $2 } END { print w }' \
	"$WORK/decide.out")

# ------------------------------------------------- 2. instructions (Ir)

# Instructions per decision, counted by callgrind so that they do not
# depend on the machine's speed or load. Done so that nothing else is
# counted: bench_decide -1 loads the policy and runs every case once (the
# warm-up: lazy PLT binding, first touches) with callgrind collecting
# nothing (--collect-atstart=no), then runs each case once more inside a
# function of its own, _ir_<case>, the only functions collection is on in
# (--toggle-collect, which also covers what they call). So the file's
# totals are exactly the measured decisions, and callgrind_annotate
# --inclusive=yes gives each case's cost under its _ir_ name and the share
# of aif_decide and aif_gpus_normalise (their rows that name the object in
# brackets: the rows without one are code inlined from libc headers and
# are already inside them). The number of decisions comes from
# bench_decide itself, not from callgrind's call counts: those also count
# calls made while collection was off (the warm-up).
IR_PER_DECISION=

# ir_of FUNCTION: its inclusive Ir from callgrind_annotate's table, whose
# rows read "12,345 (67.89%)  /path/file.c:function [/path/object]".
ir_of() {
	awk -v fn="$1" '
		{ row = $0; ir = $1; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", row) }
		index(row, ":" fn " [") && row !~ /^[<>*=]/ {
			gsub(",", "", ir); print ir; exit
		}' "$WORK/callgrind.txt"
}

ir_report() {
	local out=$WORK/callgrind.out n total c ir decide normalise
	# bench_decide is libtool's wrapper script: valgrind the program.
	if ! "$BUILD_DIR/libtool" --mode=execute \
		valgrind --tool=callgrind --callgrind-out-file="$out" \
		--collect-atstart=no --toggle-collect='_ir_*' \
		"$BENCH_DECIDE" -1 -n "$PROJECTS" >"$WORK/valgrind.out" 2>&1; then
		say "valgrind failed; its output:"
		tail -n 5 "$WORK/valgrind.out"
		return 0
	fi
	n=$(sed -n 's/^measured decisions: \([0-9]*\).*/\1/p' "$WORK/valgrind.out")
	total=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$out")
	callgrind_annotate --inclusive=yes --threshold=100 "$out" \
		>"$WORK/callgrind.txt" 2>/dev/null || :
	for c in accept reshape refuse unknown; do
		ir=$(ir_of "_ir_$c")
		printf '  %-8s %8s instructions\n' "$c" "${ir:-?}"
	done
	decide=$(ir_of aif_decide)
	normalise=$(ir_of aif_gpus_normalise)
	if [ -z "$n" ] || [ -z "$decide" ] || [ -z "$normalise" ]; then
		say "  could not read callgrind_annotate's table; Ir in all: ${total:-?}"
		return 0
	fi
	IR_PER_DECISION=$(calc "printf \"%.0f\", ($decide + $normalise) / $n")
	say "  aif_decide + aif_gpus_normalise, inclusive: $((decide + normalise)) in $n decisions"
	say "  = $IR_PER_DECISION instructions per decision" \
		"(decide $((decide / n)), normalise $((normalise / n)));" \
		"$(((total - decide - normalise) / n)) more in the harness"
}

say ""
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
	say "== 2. Instructions per decision: valgrind --tool=callgrind, bench_decide -1 -n $PROJECTS"
	ir_report
else
	say "== 2. Instructions per decision: skipped (valgrind is not installed)"
fi

# ---------------------------------------------------- 3. the cluster

say ""
say "== 3. The cluster: sbatch --hold as $USER_NAME, $JOBS jobs per phase from $LOOPS loops, $ROUNDS round(s), $PENDING jobs of other projects pending"
"$BENCH_DECIDE" -w "$WORK/aifactory.json" -n "$PROJECTS"
EXTRA=
total_jobs=$((ROUNDS * 2 * (JOBS + WARMUP) + PENDING + 4 * RUNS))
if [ "$total_jobs" -gt 9000 ]; then
	EXTRA="MaxJobCount=$((total_jobs + 1000))"
fi
CLUSTER=$(mktemp -d /tmp/aif-bench-cluster.XXXXXX)
t0=$(now)
if ! AIF_PLUGIN_DIR=$PLUGIN_DIR AIF_JOB_SUBMIT_PLUGINS=aifactory \
	AIF_JOBCOMP=jobcomp/aifactory \
	AIF_POLICY=$WORK/aifactory.json AIF_POLICY_DIR='' AIF_SLURM_EXTRA=$EXTRA \
	"$CLUSTER_SH" start "$CLUSTER" >"$WORK/cluster.env" 2>"$WORK/cluster.log"; then
	tail -n 30 "$WORK/cluster.log" >&2
	dir=$CLUSTER CLUSTER=	# cluster.sh stopped what it started
	die "the test cluster did not start (its logs are in $dir/log)"
fi
export SLURM_CONF=$CLUSTER/etc/slurm.conf
readonly CONF=$SLURM_CONF CTLD_LOG=$CLUSTER/log/slurmctld.log
say "cluster up in $(calc "printf \"%.0f\", $(now) - $t0") s in $CLUSTER"
USER_GID=$(id -g "$USER_NAME")

as_user() {
	(cd "$CLUSTER/scratch" &&
		setpriv --reuid="$USER_NAME" --regid="$USER_GID" --init-groups -- \
			env -i PATH=/usr/bin:/bin SLURM_CONF="$CONF" "$@")
}

as_preload_user() {
	(cd "$CLUSTER/scratch" &&
		setpriv --reuid="$PRELOAD_USER" --regid="$(id -g "$PRELOAD_USER")" \
			--init-groups -- \
			env -i PATH=/usr/bin:/bin SLURM_CONF="$CONF" "$@")
}

# The partition and time limit are given, so that the plugin accepts the
# job as it is (the same job in both phases) rather than reshaping it.
submit() {
	as_user sbatch --parsable --hold -p h100 -t 60 --gpus=1 --wrap true
}

# One phase's jobs are cancelled before the next phase; their records
# stay in slurmctld until MinJobAge, for every phase alike.
cancel_all() {
	local tenths=300
	scancel -u "$USER_NAME" || :
	while [ -n "$(squeue -h -u "$USER_NAME" -o %i 2>/dev/null)" ]; do
		tenths=$((tenths - 1))
		[ "$tenths" -gt 0 ] || die "jobs of $USER_NAME would not cancel"
		sleep 0.1
	done
}

# set_plugin on|off: JobSubmitPlugins and JobCompType in slurm.conf (ours,
# or stock SLURM's none), then a fresh slurmctld; with the plugins on,
# wait (up to a minute) until the policy is in force and slurmctld's
# start-up is over: the service says "policy ... loaded" once, and that
# load must not fall in a timed phase.
set_plugin() {
	local from tenths=600
	from=$(($(stat -c %s "$CTLD_LOG" 2>/dev/null || echo 0) + 1))
	if [ "$1" = on ]; then
		sed -i -e 's/^#bench# JobSubmitPlugins=/JobSubmitPlugins=/' \
			-e 's|^JobCompType=jobcomp/none|JobCompType=jobcomp/aifactory|' "$CONF"
	else
		sed -i -e 's/^JobSubmitPlugins=/#bench# JobSubmitPlugins=/' \
			-e 's|^JobCompType=jobcomp/aifactory|JobCompType=jobcomp/none|' "$CONF"
	fi
	"$CLUSTER_SH" restart-ctld "$CLUSTER" >>"$WORK/cluster.log" 2>&1 ||
		die "slurmctld did not restart; see $CTLD_LOG"
	[ "$1" = on ] || return 0
	# grep -c reads to the end: with -q, tail's SIGPIPE fails the pipe.
	until [ "$(tail -c +"$from" "$CTLD_LOG" | grep -c 'aifactory: policy .* loaded')" != 0 ]; do
		tenths=$((tenths - 1))
		[ "$tenths" -gt 0 ] || die "the policy was not loaded; slurmctld's last words of it:
$(grep -a 'aifactory' "$CTLD_LOG" | tail -n 5)"
		sleep 0.1
	done
	sleep 3	# slurmctld's start-up reconfigure stamp (docs/slurm.md)
}

# "count total_us" of REQUEST_SUBMIT_BATCH_JOB since slurmctld started.
sdiag_submit() {
	sdiag | awk '
		/^Remote Procedure Call statistics by message type/ { s = 1; next }
		/^Remote Procedure Call statistics/ { s = 0 }
		s && $1 == "REQUEST_SUBMIT_BATCH_JOB" {
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^count:/) c = substr($i, 7)
				if ($i ~ /^total_time:/) t = substr($i, 12)
			}
		}
		END { printf "%d %d\n", c, t }'
}

# Wait (up to a minute) until slurmctld has sent slurmdbd every record:
# a backlog (the last phase's jobs and cancellations) would be sent, and
# stored by slurmdbd and MariaDB on the same CPUs, while this phase runs.
wait_dbd_quiet() {
	local tenths=600
	until sdiag | grep -q '^DBD Agent queue size: *0$'; do
		tenths=$((tenths - 1))
		[ "$tenths" -gt 0 ] || return 0
		sleep 0.1
	done
}

count_lines() {
	cat -- "$@" 2>/dev/null | awk 'NF { n++ } END { print n + 0 }'
}

# slurmctld's CPU, as "name ns" lines: "process" (utime + stime of the
# whole process in clock ticks, which counts threads that have ended,
# such as the RPC threads, srvcn, one per connection), then each live
# thread by its name (schedstat: nanoseconds on a CPU).
ctld_cpu() {
	local pid tick t name
	pid=$(tr -dc '0-9' <"$CLUSTER/run/slurmctld.pid")
	tick=$(getconf CLK_TCK)
	awk -v tick="$tick" '{ sub(/^.*\) /, ""); printf "process %.0f\n", ($12 + $13) * 1e9 / tick }' \
		"/proc/$pid/stat"
	for t in /proc/"$pid"/task/*; do
		name=$(cat "$t/comm" 2>/dev/null) || continue
		awk -v n="${name// /_}" '{ print n, $1 }' "$t/schedstat" 2>/dev/null || :
	done
}

# cpu_delta BEFORE AFTER JOBS: "process US" (CPU per submission of the
# whole process), then "NAME US" per thread name, the live threads summed
# by name; what ended in between (RPC threads) is "ended".
cpu_delta() {
	awk -v jobs="$3" '
		FNR == 1 { f++ }
		f == 1 { b[$1] += $2; next }
		{ a[$1] += $2 }
		END {
			if (jobs <= 0) exit
			whole = a["process"] - b["process"]
			printf "process %.1f\n", whole / jobs / 1000
			for (n in a) if (n != "process") {
				d = a[n] - b[n]; live += d
				if (d > 0) printf "%s %.1f\n", n, d / jobs / 1000
			}
			printf "ended %.1f\n", (whole - live) / jobs / 1000
		}' "$1" "$2"
}

# Results, one entry per phase run.
P_NAME=() P_ON=() P_JOBS=() P_FAILED=() P_SECS=() P_COUNT=() P_US=() P_CPU=()
FIRST_ERROR=

# phase NAME on|off
phase() {
	local name=$1 on=$2 id tag c0 t0 c1 t1 start secs l n dir tenths=1200
	set_plugin "$on"
	# The plugin loads the policy on its own thread once slurmctld is up,
	# and refuses every job until then: wait for a first job to pass.
	while ! id=$(submit 2>"$WORK/warmup.err"); do
		tenths=$((tenths - 1))
		[ "$tenths" -gt 0 ] ||
			die "$name: no job is accepted: $(cat "$WORK/warmup.err")"
		sleep 0.1
	done
	# Warm up the fresh slurmctld, and check the phase is what it says.
	for ((l = 1; l < WARMUP; l++)); do
		id=$(submit 2>"$WORK/warmup.err") ||
			die "$name: a submission failed: $(cat "$WORK/warmup.err")"
	done
	tag=$(scontrol show job -o "$id" | grep -o 'AdminComment=aif:[^ ]*' || :)
	if [ "$on" = on ] && [ -z "$tag" ]; then
		die "$name: job $id has no aifactory tag: the plugin is not active"
	elif [ "$on" = off ] && [ -n "$tag" ]; then
		die "$name: job $id has an aifactory tag: the plugin is still active"
	fi
	wait_dbd_quiet
	read -r c0 t0 < <(sdiag_submit)
	dir=$WORK/$name
	mkdir -p "$dir"
	ctld_cpu >"$dir/cpu.before"
	start=$(now)
	for ((l = 0; l < LOOPS; l++)); do
		n=$((JOBS / LOOPS + (l < JOBS % LOOPS ? 1 : 0)))
		(
			for ((i = 0; i < n; i++)); do
				submit >>"$dir/$l.ok" 2>>"$dir/$l.err" || :
			done
		) &
	done
	wait
	secs=$(calc "printf \"%.2f\", $(now) - $start")
	ctld_cpu >"$dir/cpu.after"
	read -r c1 t1 < <(sdiag_submit)
	if [ "$name" = warm-up ]; then
		cancel_all
		printf '  %-12s done: %s jobs in %s s (not counted)\n' "$name" \
			"$(count_lines "$dir"/*.ok)" "$secs"
		return 0
	fi
	P_NAME+=("$name") P_ON+=("$on") P_SECS+=("$secs")
	P_JOBS+=("$(count_lines "$dir"/*.ok)")
	P_FAILED+=("$((JOBS - ${P_JOBS[-1]}))")
	P_COUNT+=("$((c1 - c0))") P_US+=("$((t1 - t0))")
	cpu_delta "$dir/cpu.before" "$dir/cpu.after" "${P_JOBS[-1]}" >"$dir/cpu"
	P_CPU+=("$dir/cpu")
	if [ -z "$FIRST_ERROR" ] && [ "${P_FAILED[-1]}" != 0 ]; then
		FIRST_ERROR=$(cat "$dir"/*.err | grep -m 1 . || :)
	fi
	cancel_all
	printf '  %-12s done: %s jobs in %s s\n' "$name" "${P_JOBS[-1]}" "$secs"
}

# Thousands of jobs wait throughout, as on a busy machine: held, one GPU
# for an hour each, in the projects aif-bob is a member of (the generated
# policy's startup and sme classes, which take any GPU type), each with its
# lien, submitted with the plugins on and left alone by every phase.
preload() {
	local l n want=$PENDING t0
	t0=$(now)
	seq 1 "$((PROJECTS - 1))" | awk '$1 % 5 <= 1 && ($1 % 4 == 0 || $1 % 4 == 3) && $1 % 97 != 96' \
		>"$WORK/preload.projects"
	n=$(count_lines "$WORK/preload.projects")
	[ "$n" -gt 0 ] || die "no project to preload jobs in"
	# Round-robin over the projects, split over the loops.
	for ((l = 0; l < LOOPS; l++)); do
		(
			i=0
			while read -r p; do
				if ((i % LOOPS == l)); then
					as_preload_user sbatch --parsable --hold --gpus=1 -t 60 \
						-p h100 -A "$(printf 'prj-%05d' "$p")" --wrap true \
						>>"$WORK/preload.$l.ok" 2>>"$WORK/preload.$l.err" || :
				fi
				i=$((i + 1))
			done < <(awk -v want="$want" -v n="$n" '
				{ p[NR] = $1 } END { for (k = 0; k < want; k++) print p[k % n + 1] }' \
				"$WORK/preload.projects")
		) &
	done
	wait
	n=$(squeue -h -u "$PRELOAD_USER" -t PENDING -o %i | awk 'END { print NR }')
	say "  $n jobs of $PRELOAD_USER pending, in $(calc "printf \"%.0f\", $(now) - $t0") s"
	[ "$n" -gt 0 ] || die "no preloaded job is pending: $(cat "$WORK"/preload.*.err | grep -m 1 . || :)"
}
set_plugin on
preload

# The two phases alternate, A B then B A, so that a drift (the machine
# warming up, job records piling up until MinJobAge) weighs on both alike;
# each phase starts from a freshly restarted slurmctld (sdiag is per
# start) and is warmed up before it is timed. A whole phase is run first
# and thrown away: right after the cluster starts, submissions are much
# slower for a while (twice as slow in the first phase on the machine
# this was written on), whichever phase comes first.
phase warm-up on
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then
		phase "with #$r" on
		phase "without #$r" off
	else
		phase "without #$r" off
		phase "with #$r" on
	fi
done

us_per() { # total_us count
	if [ "$2" -gt 0 ]; then calc "printf \"%.1f\", $1 / $2"; else printf '?'; fi
}
rate() { # jobs seconds
	calc "printf \"%.1f\", ($2 > 0) ? $1 / $2 : 0"
}

say ""
cpu_of() { # FILE NAME: us per submission, or ?
	awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print "?" }' "$1"
}
printf '%-14s %6s %6s %8s %8s %16s %12s\n' phase jobs failed seconds jobs/s \
	'sdiag us/submit' 'CPU us/job'
for i in "${!P_NAME[@]}"; do
	printf '%-14s %6s %6s %8s %8s %16s %12s\n' "${P_NAME[i]}" "${P_JOBS[i]}" \
		"${P_FAILED[i]}" "${P_SECS[i]}" "$(rate "${P_JOBS[i]}" "${P_SECS[i]}")" \
		"$(us_per "${P_US[i]}" "${P_COUNT[i]}")" "$(cpu_of "${P_CPU[i]}" process)"
done
declare -A JOBS_SUM=() FAILED_SUM=() SECS_SUM=() COUNT_SUM=() US_SUM=() MEANS=()
for i in "${!P_NAME[@]}"; do
	o=${P_ON[i]}
	JOBS_SUM[$o]=$((${JOBS_SUM[$o]:-0} + P_JOBS[i]))
	FAILED_SUM[$o]=$((${FAILED_SUM[$o]:-0} + P_FAILED[i]))
	SECS_SUM[$o]=$(calc "printf \"%.2f\", ${SECS_SUM[$o]:-0} + ${P_SECS[i]}")
	COUNT_SUM[$o]=$((${COUNT_SUM[$o]:-0} + P_COUNT[i]))
	US_SUM[$o]=$((${US_SUM[$o]:-0} + P_US[i]))
	MEANS[$o]+=" $(us_per "${P_US[i]}" "${P_COUNT[i]}")"
done
for o in on off; do
	[ "$o" = on ] && label='with (all)' || label='without (all)'
	printf '%-14s %6s %6s %8s %8s %16s\n' "$label" "${JOBS_SUM[$o]}" \
		"${FAILED_SUM[$o]}" "${SECS_SUM[$o]}" \
		"$(rate "${JOBS_SUM[$o]}" "${SECS_SUM[$o]}")" \
		"$(us_per "${US_SUM[$o]}" "${COUNT_SUM[$o]}")"
done
[ -z "$FIRST_ERROR" ] || say "first failed submission said: $FIRST_ERROR"

# slurmctld's CPU per submission by thread, the mean of each mode's
# phases: "NAME ON OFF" rows, the whole process first.
ON_CPU=() OFF_CPU=()
for i in "${!P_NAME[@]}"; do
	if [ "${P_ON[i]}" = on ]; then ON_CPU+=("${P_CPU[i]}"); else OFF_CPU+=("${P_CPU[i]}"); fi
done
awk -v on="${#ON_CPU[@]}" '
	{ if (FNR == 1) f++; v[$1, f <= on ? "on" : "off"] += $2; names[$1] = 1 }
	END {
		off = f - on
		printf "%-14s %10s %10s %10s\n", "slurmctld CPU", "with", "without", "added"
		row("process", on, off)
		for (n in names) if (n != "process" && n != "ended") row(n, on, off)
		row("ended", on, off)
	}
	function row(n, on, off,   a, b) {
		a = on ? v[n, "on"] / on : 0; b = off ? v[n, "off"] / off : 0
		if (n != "process" && a < 0.05 && b < 0.05) return
		printf "%-14s %10.1f %10.1f %+10.1f\n", n == "process" ? "whole process" : \
			n == "ended" ? "ended threads" : n, a, b, a - b
	}' "${ON_CPU[@]}" "${OFF_CPU[@]}" >"$WORK/cpu.table"
say ""
say "slurmctld CPU per submission in us, by thread (mean of the rounds;"
say "ended threads: the RPC threads, srvcn, one per connection):"
cat "$WORK/cpu.table"
CPU_ON=$(awk '$1 == "whole" { print $3 }' "$WORK/cpu.table")
CPU_OFF=$(awk '$1 == "whole" { print $4 }' "$WORK/cpu.table")
CPU_ADDED=$(awk '$1 == "whole" { print $5 }' "$WORK/cpu.table")

# ------------------------------------------------- 4. jobs that end

# Charge records in the journal for jobs named NAME (all files).
charges_named() {
	cat -- "$CLUSTER/state/aifactory"/journal* 2>/dev/null |
		grep -F '"type":"charge"' | grep -cF "\"name\":\"$1\"" || :
}

# run_phase NAME on|off: RUNS jobs that run and end (sleep 1 on one GPU),
# submitted from LOOPS loops while one more loop keeps submitting held
# jobs; completed jobs per second from the first submission to the last
# end, and with the plugins on, the charges the journal got for them.
R_NAME=() R_DONE=() R_SECS=() R_CHARGED=() R_HELD=()
run_phase() {
	local name=$1 on=$2 jobname l n start secs tenths charged=- held
	jobname="aif-run-$on-$RANDOM"
	set_plugin "$on"
	until submit >/dev/null 2>&1; do sleep 0.1; done
	cancel_all
	: >"$WORK/$jobname.stop"
	(
		# About 20 a second: a busy site's pace, not a flood that
		# would leave no CPU for the jobs on this small a machine.
		while [ -e "$WORK/$jobname.stop" ]; do
			submit >>"$WORK/$jobname.held" 2>/dev/null || :
			sleep 0.05
		done
	) &
	local submitter=$!
	start=$(now)
	for ((l = 0; l < LOOPS; l++)); do
		n=$((RUNS / LOOPS + (l < RUNS % LOOPS ? 1 : 0)))
		(
			for ((i = 0; i < n; i++)); do
				as_user sbatch --parsable -p h100 --gpus=1 -t 5 -J "$jobname" \
					--wrap 'sleep 1' >>"$WORK/$jobname.$l.ok" \
					2>>"$WORK/$jobname.$l.err" || :
			done
		) &
		R_PIDS+=($!)
	done
	wait "${R_PIDS[@]}"
	R_PIDS=()
	tenths=$((RUNS * 50 + 600))
	while [ -n "$(squeue -h -u "$USER_NAME" -n "$jobname" -o %i 2>/dev/null)" ]; do
		tenths=$((tenths - 1))
		[ "$tenths" -gt 0 ] || die "$name: the jobs did not end"
		sleep 0.1
	done
	secs=$(calc "printf \"%.2f\", $(now) - $start")
	rm -f "$WORK/$jobname.stop"
	wait "$submitter"
	held=$(count_lines "$WORK/$jobname.held")
	n=$(count_lines "$WORK/$jobname".*.ok)
	if [ "$on" = on ]; then
		tenths=100	# the journal's thread writes within moments
		until [ "$(charges_named "$jobname")" -ge "$n" ] || [ "$tenths" = 0 ]; do
			tenths=$((tenths - 1))
			sleep 0.1
		done
		charged=$(charges_named "$jobname")
	fi
	cancel_all
	R_NAME+=("$name") R_DONE+=("$n") R_SECS+=("$secs")
	R_CHARGED+=("$charged") R_HELD+=("$held")
	printf '  %-12s done: %s jobs ended in %s s\n' "$name" "$n" "$secs"
}

say ""
say "== 4. Jobs that end: $RUNS jobs (1 GPU, sleep 1) per phase from $LOOPS loops, held submissions going on"
R_PIDS=()
for ((r = 1; r <= ROUNDS; r++)); do	# alternating, as in 3.
	if ((r % 2)); then
		run_phase "with #$r" on
		run_phase "without #$r" off
	else
		run_phase "without #$r" off
		run_phase "with #$r" on
	fi
done
say ""
printf '%-14s %6s %8s %8s %8s %13s\n' phase ended seconds ended/s charged held-submits
declare -A END_SUM=() END_SECS=() CHARGED_SUM=()
for i in "${!R_NAME[@]}"; do
	printf '%-14s %6s %8s %8s %8s %13s\n' "${R_NAME[i]}" "${R_DONE[i]}" \
		"${R_SECS[i]}" "$(rate "${R_DONE[i]}" "${R_SECS[i]}")" \
		"${R_CHARGED[i]}" "${R_HELD[i]}"
	o=${R_NAME[i]%% *}
	END_SUM[$o]=$((${END_SUM[$o]:-0} + R_DONE[i]))
	END_SECS[$o]=$(calc "printf \"%.2f\", ${END_SECS[$o]:-0} + ${R_SECS[i]}")
	[ "${R_CHARGED[i]}" = - ] ||
		CHARGED_SUM[$o]=$((${CHARGED_SUM[$o]:-0} + R_CHARGED[i]))
done
end_on=$(rate "${END_SUM[with]}" "${END_SECS[with]}")
end_off=$(rate "${END_SUM[without]}" "${END_SECS[without]}")

# ---------------------------------------------------------------- summary

rate_on=$(rate "${JOBS_SUM[on]}" "${SECS_SUM[on]}")
rate_off=$(rate "${JOBS_SUM[off]}" "${SECS_SUM[off]}")
us_on=$(us_per "${US_SUM[on]}" "${COUNT_SUM[on]}")
us_off=$(us_per "${US_SUM[off]}" "${COUNT_SUM[off]}")
ratio=$(calc "printf \"%.3f\", ($rate_off > 0) ? $rate_on / $rate_off : 0")

# lowest and highest of a phase's rounds (sdiag us/submit): "lo hi"
lo_hi() {
	printf '%s\n' "$1" | awk '
		{ for (i = 1; i <= NF; i++) if ($i != "?") {
			if (lo == "" || $i < lo) lo = $i
			if (hi == "" || $i > hi) hi = $i
		  } }
		END { if (lo == "") print "? ?"; else print lo, hi }'
}
read -r lo_on hi_on < <(lo_hi "${MEANS[on]}")
read -r lo_off hi_off < <(lo_hi "${MEANS[off]}")
diff_us='?' best='?' spread='?'
if [ "$us_on" != '?' ] && [ "$us_off" != '?' ] && [ "$lo_on" != '?' ] &&
	[ "$lo_off" != '?' ]; then
	diff_us=$(calc "printf \"%+.1f\", $us_on - $us_off")
	# Interference from the rest of the machine only ever adds time, so
	# the best round of each phase is the least disturbed estimate.
	best=$(calc "printf \"%+.1f\", $lo_on - $lo_off")
	# How far apart the rounds of one phase are: the noise to judge by.
	spread=$(calc "a = $hi_on - $lo_on; b = $hi_off - $lo_off; printf \"%.1f\", (a > b) ? a : b")
fi

# ------------------------------------------------ 5. spank/aifactory

say ""
say "== 5. spank/aifactory: bench_placement"
topologies=("$SRC_DIR"/tests/fixtures/topology/*.xml)
[ -d "$SRC_DIR/../shared/topologies" ] && topologies+=("$SRC_DIR"/../shared/topologies/*.xml)
"$BENCH_PLACEMENT" "${topologies[@]}" live | tee "$WORK/placement.out"
PLACE_TASK=$(awk '$2 ~ /^[0-9]+$/ && $2 > 0 && $6 > w { w = $6 } END { print w }' "$WORK/placement.out")
PLACE_CACHE=$(awk '$2 ~ /^[0-9]+$/ && $5 > w { w = $5 } END { print w }' "$WORK/placement.out")
PLACE_LOAD=$(awk '$2 ~ /^[0-9]+$/ && $4 > w { w = $4 } END { print w }' "$WORK/placement.out")

say ""
say "== Summary"
say "library:    ${DECIDE_NS:-?} ns per decision (normalise + decide; mean of 4 cases, the slowest ${WORST_NS:-?} ns)${IR_PER_DECISION:+, $IR_PER_DECISION instructions}; $PROJECTS projects load in ${LOAD_MS:-?} ms"
say "cluster:    $rate_on jobs/s with job_submit/aifactory and jobcomp/aifactory, $rate_off with stock SLURM: ratio $ratio"
say "controller: ${CPU_ADDED:-?} us of slurmctld CPU per submission added by the plugins, all threads (${CPU_ON:-?} vs ${CPU_OFF:-?} us, /proc); target: under 20 us"
say "            $diff_us us per submission with the plugin, all rounds ($us_on vs $us_off us per REQUEST_SUBMIT_BATCH_JOB, sdiag)"
say "            $best us between the best rounds ($lo_on vs $lo_off us)"
if [ "$diff_us" != '?' ] &&
	calc "exit !(($us_on - $us_off) ^ 2 <= $spread ^ 2)"; then
	say "            within this run's noise: rounds of one phase differ by up to $spread us (more AIF_BENCH_JOBS and AIF_BENCH_ROUNDS narrow it)"
elif [ "$diff_us" != '?' ]; then
	say "            rounds of one phase differ by up to $spread us"
fi
say "            (sdiag times the whole RPC: lock waits, the job's files, the reply;" \
	"the plugin's own code is the library's cost above)"
say "            with $PENDING jobs of other projects pending, each with its lien"
say "placement:  at most ${PLACE_TASK:-?} us per task, ${PLACE_CACHE:-?} us per step reading the node's cached placement, ${PLACE_LOAD:-?} ms for hwloc's load of the largest topology (a node's first step); goal: under 1 ms per task"
say "completions: $end_on jobs/s ended with jobcomp/aifactory (${CHARGED_SUM[with]:-0} of ${END_SUM[with]} charged in its journal), $end_off with stock SLURM, while held submissions went on"
