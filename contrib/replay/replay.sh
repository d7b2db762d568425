#!/usr/bin/env bash
# replay.sh: a real GPU job trace, replayed on the throwaway test cluster
# (tests/cluster) with slurm-aifactory and with stock SLURM, side by side:
# each class's share of GPU time against its target, over the run and
# per window, GPU utilisation, and waits by job size.
#
#   replay.sh plan TRACE [PLAN OPTIONS]          the plan, as CSV, on stdout
#   replay.sh run PLAN LABEL                     submit it to $SLURM_CONF's
#                                                cluster, wait for the end
#   replay.sh report PLAN LABEL OUTDIR [--journal DIR]
#                                                sacct (and the journal)
#                                                into OUTDIR/LABEL-*.csv
#   replay.sh compare TRACE OUTDIR [PLAN OPTIONS]
#                                                all of it, ours and stock's
#                                                clusters at once; a table,
#                                                CSV files and OUTDIR/shares.png
#
# The trace is CSV with a header: job_id,submit_s,user,gpus,nodes,
# duration_s,final_state (../shared/traces/README.md: SenseTime's Helios
# "Venus", Hu et al., SC '21, CC BY 4.0; keep that attribution with any
# result). It is read from where it lies, never copied.
#
# PLAN OPTIONS, and the rules they set (every one deterministic):
#   --compress F   times divided by F: a job is submitted at submit_s / F
#                  seconds after the start and runs sleep of duration_s / F
#                  (at least 1 s). Default 1.
#   --sample K     every K-th job of the trace only (K-1 in K dropped), to
#                  scale a large machine's load down to 16 GPUs. Default 1.
#   --from S --to S  jobs submitted in [S, S) seconds of the trace only.
#   --map FILE     CSV trace_user,project,class,unix_user; users not in it
#                  follow the rule below.
# The rule: a trace user's number N (the digits of its name) gives its
# class by N mod 10 (0-2 startup, 3-4 sme, 5-9 research: 30, 20 and 50 %,
# the policy's shares), its project <class>-<N mod 3>, and the class's
# UNIX user (startup aif-alice, sme aif-bob, research aif-carol). GPUs
# above 16 (the cluster's h100 partition: 2 nodes of 8) are clipped to 16;
# a job takes ceil(GPUs / 8) nodes and GPUs / nodes on each (rounded up).
# Time limit: twice the compressed duration, rounded up to whole minutes
# (SLURM's unit), at least one.
#
# Run as root (jobs are submitted as the test users with setpriv). compare
# needs a built tree (AIF_BUILD_DIR, default: this checkout) and gnuplot.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
readonly CAPACITY=16		# GPUs of partition h100 in tests/cluster
readonly PER_NODE=8
readonly PARTITION=h100
readonly CLASSES="startup sme research"
declare -A TARGET=([startup]=0.3 [sme]=0.2 [research]=0.5)

say() { printf 'replay: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	sed -n '2,/^# SPDX/{/^# SPDX/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

# ---------------------------------------------------------------- plan

plan() {
	local trace=$1 compress=1 sample=1 from=0 to=-1 map=
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--compress) compress=$2; shift 2 ;;
		--sample) sample=$2; shift 2 ;;
		--from) from=$2; shift 2 ;;
		--to) to=$2; shift 2 ;;
		--map) map=$2; shift 2 ;;
		*) usage ;;
		esac
	done
	[ -r "$trace" ] || die "cannot read the trace $trace"
	[[ $compress =~ ^[0-9]+(\.[0-9]+)?$ ]] && [[ $compress =~ [1-9] ]] ||
		die "--compress must be a positive number"
	[[ $sample =~ ^[1-9][0-9]*$ ]] || die "--sample must be a whole number >= 1"
	awk -F, -v f="$compress" -v k="$sample" -v from="$from" -v to="$to" \
		-v cap="$CAPACITY" -v per="$PER_NODE" -v map="$map" '
	function ceil(x) { return x == int(x) ? x : int(x) + 1 }
	BEGIN {
		if (map != "") {
			while ((getline line < map) > 0) {
				if (line ~ /^#/ || line == "") continue
				split(line, m, ",")
				mproj[m[1]] = m[2]; mclass[m[1]] = m[3]; muser[m[1]] = m[4]
			}
		}
		uclass["startup"] = "aif-alice"; uclass["sme"] = "aif-bob"
		uclass["research"] = "aif-carol"
		print "seq,job,offset_s,trace_user,unix_user,project,class,gpus,nodes,gpus_per_node,duration_s,time_limit_min,final_state"
	}
	NR == 1 {
		if ($0 !~ /^job_id,submit_s,user,gpus,nodes,duration_s,final_state/) {
			print "replay: not a trace (header " $0 ")" > "/dev/stderr"
			exit 1
		}
		next
	}
	{
		n++
		if ((n - 1) % k) next
		if ($2 < from || (to >= 0 && $2 >= to)) next
		user = $3
		if (user in mclass) {
			class = mclass[user]; project = mproj[user]; unix = muser[user]
		} else {
			num = user; gsub(/[^0-9]/, "", num); num += 0
			d = num % 10
			class = d < 3 ? "startup" : d < 5 ? "sme" : "research"
			project = class "-" (num % 3)
			unix = uclass[class]
		}
		gpus = $4 > cap ? cap : ($4 < 1 ? 1 : $4)
		nodes = ceil(gpus / per)
		gpn = ceil(gpus / nodes)
		dur = int($6 / f + 0.5); if (dur < 1) dur = 1
		limit = ceil(2 * dur / 60); if (limit < 1) limit = 1
		printf "%d,%s,%.1f,%s,%s,%s,%s,%d,%d,%d,%d,%d,%s\n", ++seq, $1,
			($2 - (from > 0 ? from : 0)) / f, user, unix, project, class,
			gpus, nodes, gpn, dur, limit, $7
	}' "$trace"
}

# ----------------------------------------------------------------- run

# run PLAN LABEL: every job at its offset from now, as its UNIX user, on
# the cluster $SLURM_CONF names; then wait (bounded) until all have ended.
run() {
	local planf=$1 label=$2 start seq job offset user unix project class
	local gpus nodes gpn dur limit state due now left bound
	[ -r "$planf" ] || die "cannot read the plan $planf"
	[ -n "${SLURM_CONF:-}" ] || die "SLURM_CONF names no cluster"
	[ "$(id -u)" = 0 ] || die "run as root: jobs are submitted as the test users"
	start=${EPOCHREALTIME/,/.}
	while IFS=, read -r seq job offset user unix project class gpus nodes \
		gpn dur limit state; do
		[ "$seq" = seq ] && continue
		due=$(awk -v s="$start" -v o="$offset" 'BEGIN { printf "%.3f", s + o }')
		now=${EPOCHREALTIME/,/.}
		left=$(awk -v d="$due" -v n="$now" 'BEGIN { x = d - n; printf "%.3f", (x > 0 ? x : 0) }')
		[ "$left" = 0.000 ] || sleep "$left"
		setpriv --reuid="$unix" --regid="$unix" --init-groups -- \
			env -i PATH=/usr/bin:/bin HOME=/nonexistent USER="$unix" \
			SLURM_CONF="$SLURM_CONF" \
			sbatch --parsable -J "replay-$label-$seq" -A "$project" \
			-p "$PARTITION" -N "$nodes" --gres="gpu:h100:$gpn" \
			-t "$limit" -o /dev/null --wrap "sleep $dur" >/dev/null ||
			say "$label: job $seq ($project) was not submitted"
	done <"$planf"
	# Bounded: the plan's GPU-seconds over the GPUs, its longest job and
	# two minutes more, from the last submission.
	bound=$(awk -F, -v cap="$CAPACITY" 'NR > 1 { w += $8 * $11; if ($11 > m) m = $11 }
		END { printf "%d", w / cap + m + 120 }' "$planf")
	for ((i = 0; i < bound; i++)); do
		if ! squeue -h -o %j 2>/dev/null | grep -q "^replay-$label-"; then
			say "$label: every job has ended"
			return 0
		fi
		sleep 1
	done
	say "$label: jobs still queued after $bound s: the report counts those that ended"
	return 1
}

# -------------------------------------------------------------- report

# report PLAN LABEL OUTDIR [--journal DIR]: from sacct (times as epoch
# seconds), joined with the plan by the job name's sequence number.
report() {
	local planf=$1 label=$2 out=$3 journal=
	shift 3
	[ "${1:-}" = --journal ] && journal=$2
	mkdir -p "$out"
	SLURM_TIME_FORMAT=%s sacct -X -n -P -a -S now-7days -E now \
		-o JobName,Eligible,Start,End,AllocTRES,State >"$out/$label-sacct.txt"
	awk -F'[,|]' -v label="$label" -v cap="$CAPACITY" -v out="$out" \
		-v targets="startup=0.3,sme=0.2,research=0.5" '
	function bucket(g) { return g == 1 ? "1" : g <= 4 ? "2-4" : g <= 8 ? "8" : ">8" }
	FILENAME ~ /plan/ {
		if (FNR > 1) { cls[$1] = $7; gp[$1] = $8 }
		next
	}
	{
		n = split($0, f, "|")
		name = f[1]
		if (index(name, "replay-" label "-") != 1) next
		seq = substr(name, length("replay-" label "-") + 1)
		if (!(seq in cls)) next
		elig = f[2]; st = f[3]; en = f[4]; state = f[6]
		if (st !~ /^[0-9]+$/ || en !~ /^[0-9]+$/) { unfinished++; next }
		g = gp[seq]
		if (match(f[5], /gres\/gpu=[0-9]+/))
			g = substr(f[5], RSTART + 9, RLENGTH - 9) + 0
		c = cls[seq]
		jobs++
		used[c] += g * (en - st); total += g * (en - st)
		if (!first || elig < first) first = elig
		if (en > last) last = en
		b = bucket(g); wn[b]++; ws[b] += st - elig
		w[b, wn[b]] = st - elig
		js[jobs] = st; je[jobs] = en; jg[jobs] = g; jc[jobs] = c
	}
	END {
		split(targets, t, ",")
		for (i in t) { split(t[i], kv, "="); target[kv[1]] = kv[2] }
		span = last - first
		print "class,target,gpu_seconds,share" > (out "/" label "-classes.csv")
		for (c in target)
			printf "%s,%.2f,%d,%.4f\n", c, target[c], used[c],
				(total ? used[c] / total : 0) > (out "/" label "-classes.csv")
		printf "gpu_seconds,span_s,capacity,utilisation,jobs,unfinished\n%d,%d,%d,%.4f,%d,%d\n",
			total, span, cap, (span > 0 ? total / (cap * span) : 0), jobs,
			unfinished > (out "/" label "-run.csv")
		print "size,jobs,mean_wait_s,median_wait_s,max_wait_s" > (out "/" label "-waits.csv")
		split("1 2-4 8 >8", order, " ")
		for (i = 1; i <= 4; i++) {
			b = order[i]
			if (!wn[b]) { printf "%s,0,,,\n", b > (out "/" label "-waits.csv"); continue }
			# insertion sort: a bucket holds few thousand at most
			for (x = 2; x <= wn[b]; x++) {
				v = w[b, x]
				for (y = x - 1; y >= 1 && w[b, y] > v; y--) w[b, y + 1] = w[b, y]
				w[b, y + 1] = v
			}
			printf "%s,%d,%.1f,%d,%d\n", b, wn[b], ws[b] / wn[b],
				w[b, int((wn[b] + 1) / 2)], w[b, wn[b]] > (out "/" label "-waits.csv")
		}
		nw = 10; width = span > 0 ? span / nw : 1
		print "window,start_s,class,gpu_seconds,share" > (out "/" label "-windows.csv")
		for (k = 0; k < nw; k++) {
			a = first + k * width; z = a + width; sum = 0
			for (c in target) u[c] = 0
			for (j = 1; j <= jobs; j++) {
				lo = js[j] > a ? js[j] : a; hi = je[j] < z ? je[j] : z
				if (hi > lo) { u[jc[j]] += jg[j] * (hi - lo); sum += jg[j] * (hi - lo) }
			}
			for (c in target)
				printf "%d,%d,%s,%d,%.4f\n", k + 1, a - first, c, u[c],
					(sum ? u[c] / sum : 0) > (out "/" label "-windows.csv")
		}
	}' "$planf" "$out/$label-sacct.txt"
	if [ -n "$journal" ]; then
		"${AIFCTL:-aifctl}" report --by class --from "$(date -u -d @"$(($(date +%s) - 86400))" +%F)" \
			--to "$(date -u +%F)" --format csv --journal "$journal" \
			>"$out/$label-journal.csv" ||
			say "$label: aifctl report could not read the journal"
	fi
}

# ------------------------------------------------------------- compare

# The side-by-side table of two reports.
table() {
	local out=$1 a=$2 b=$3
	printf '%-22s %12s %12s\n' "" "$a" "$b"
	for c in $CLASSES; do
		printf '%-22s %11.1f%% %11.1f%%   (target %.0f%%)\n' "share $c" \
			"$(awk -F, -v c="$c" '$1 == c { print 100 * $4 }' "$out/$a-classes.csv")" \
			"$(awk -F, -v c="$c" '$1 == c { print 100 * $4 }' "$out/$b-classes.csv")" \
			"$(awk -v t="${TARGET[$c]}" 'BEGIN { print 100 * t }')"
	done
	printf '%-22s %11.1f%% %11.1f%%\n' "GPU utilisation" \
		"$(awk -F, 'NR == 2 { print 100 * $4 }' "$out/$a-run.csv")" \
		"$(awk -F, 'NR == 2 { print 100 * $4 }' "$out/$b-run.csv")"
	printf '%-22s %12s %12s\n' "jobs ended" \
		"$(awk -F, 'NR == 2 { print $5 }' "$out/$a-run.csv")" \
		"$(awk -F, 'NR == 2 { print $5 }' "$out/$b-run.csv")"
	for s in 1 2-4 8 '>8'; do
		printf '%-22s %11ss %11ss\n' "mean wait, $s GPU" \
			"$(awk -F, -v s="$s" '$1 == s { print ($3 == "" ? "-" : $3) }' "$out/$a-waits.csv")" \
			"$(awk -F, -v s="$s" '$1 == s { print ($3 == "" ? "-" : $3) }' "$out/$b-waits.csv")"
	done
}

chart() {
	local out=$1 a=$2 b=$3
	command -v gnuplot >/dev/null || { say "no gnuplot: no chart"; return 0; }
	for l in "$a" "$b"; do
		for c in $CLASSES; do
			awk -F, -v c="$c" 'NR > 1 && $3 == c { print $1, 100 * $5 }' \
				"$out/$l-windows.csv" >"$out/.$l-$c.dat"
		done
	done
	gnuplot <<-EOF
		set terminal pngcairo size 900,500
		set output "$out/shares.png"
		set title "GPU time per class and window: $a (solid) and $b (dashed); targets 30/20/50 %"
		set xlabel "window (tenths of the run)"
		set ylabel "share of GPU time (%)"
		set yrange [0:100]
		set key outside right
		plot "$out/.$a-startup.dat" w lp lt 1 dt 1 t "$a startup", \
		     "$out/.$b-startup.dat" w lp lt 1 dt 2 t "$b startup", \
		     "$out/.$a-sme.dat" w lp lt 2 dt 1 t "$a sme", \
		     "$out/.$b-sme.dat" w lp lt 2 dt 2 t "$b sme", \
		     "$out/.$a-research.dat" w lp lt 3 dt 1 t "$a research", \
		     "$out/.$b-research.dat" w lp lt 3 dt 2 t "$b research", \
		     30 w l lt 1 dt 3 notitle, 20 w l lt 2 dt 3 notitle, 50 w l lt 3 dt 3 notitle
	EOF
	rm -f "$out"/.*.dat
}

case ${1:-} in
plan) shift; [ $# -ge 1 ] || usage; plan "$@" ;;
run) shift; [ $# -eq 2 ] || usage; run "$@" ;;
report) shift; [ $# -ge 3 ] || usage; report "$@" ;;
compare) shift; [ $# -ge 2 ] || usage; . "$here/compare.sh"; compare "$@" ;;
*) usage ;;
esac
