# Helpers for the live TAP tests: a throwaway cluster and a few TAP verbs.
# Source it from a test script (bash):
#
#   . "$(dirname "$0")/../cluster/lib.sh"
#   cluster_up                        # skips the test unless root with SLURM
#   as_user aif-alice sbatch --parsable --wrap true
#   is "$AS_RC" 0 "alice can submit"
#   wait_job_state "$AS_OUT" COMPLETED 30
#   done_testing
#
# TAP verbs (test names come last, as in Perl's Test::More):
# Each returns the result as its status: tests do not use set -e.
#   ok NAME CMD [ARG...]       passes when CMD exits 0
#   is GOT EXPECTED NAME       string equality
#   like GOT REGEX NAME        bash extended regex (=~)
#   diag MSG...                "# MSG" on stderr
#   plan N                     prints 1..N first (else done_testing does it)
#   done_testing               prints the plan if needed, exits 1 on failure
#   skip_all REASON            "1..0 # SKIP REASON", exit 0
#   bail_out REASON            "Bail out! REASON", exit 255
#
# Cluster helpers:
#   cluster_up                 start a cluster in a new /tmp/aif-cluster.XXXXXX;
#                              exports SLURM_CONF, AIF_CLUSTER_DIR, AIF_SCRATCH;
#                              stops it at exit unless AIF_KEEP_CLUSTER=1
#   cluster_up_policy <<JSON   the same, running both plugins with the policy
#                              given on stdin
#   aifctl_copy DIR            a copy of aifctl an ordinary user can run
#   cluster_up_example         the same, running job_submit/aifactory from this
#                              build with contrib/examples' policy
#   cluster CMD                cluster.sh CMD on this cluster (restart-ctld ...)
#   as_user USER CMD [ARG...]  run CMD as USER in AIF_SCRATCH; sets AS_OUT,
#                              AS_ERR (trailing newlines stripped) and AS_RC
#   run CMD [ARG...]           the same, as root
#   wait_job_state JOB STATES [TIMEOUT]  STATES like "COMPLETED|FAILED";
#                              default 30 s; sets JOB_STATE
#   wait_until SECONDS WHAT CMD [ARG...]  run CMD every 0.2 s until it
#                              succeeds; after SECONDS, "# gave up waiting
#                              for WHAT" and status 1
#   job_field JOB FIELD        one field of "scontrol show job -o JOB"
#   journal_record JOB [TIMEOUT]  the job's first charge record (default 10 s)
#
# Every wait is bounded: the helpers take a time-out in seconds (wall
# clock, scaled by AIF_BUDGET_FACTOR), and the whole test runs under a
# time budget (see "Time budget" below): a test never waits on a cluster
# that will not answer, it fails with the cluster's log tails.
#
# Time budget. Sourcing this file from a test script runs the script
# again as a child of this shell (in a session of its own); this shell
# passes the child's TAP through and, once the budget is spent, kills the
# child with everything it started, prints squeue, sinfo and the tails of
# slurmctld's, slurmd's and slurmdbd's logs as TAP diagnostics, stops
# every cluster the child started (cluster.sh start registers them),
# and fails the test: "not ok N - time budget of S s spent". What a test
# does before sourcing this file runs twice (here and in the child): keep
# it to set and export. Knobs:
#   live_budget SECONDS        in a test: the test may run SECONDS more
#                              from now (call it right after sourcing
#                              lib.sh to give a long test a larger budget)
#   AIF_BUDGET=SECONDS         environment: the budget of a test that does
#                              not set one (default 300); 0: no budget
#   AIF_BUDGET_FACTOR=F        environment: multiply every budget and every
#                              wait's time-out by F (a slow machine: 2, 1.5)
#   AIF_LOG_LINES=N            lines of each log shown (default 20 here)
#
# The cluster's environment knobs (AIF_PLUGIN_DIR, AIF_JOB_SUBMIT_PLUGINS,
# AIF_JOBCOMP, AIF_SLURM_EXTRA, AIF_PLUGSTACK, AIF_POLICY) are read by
# cluster.sh from the environment: set and export them before cluster_up.

AIF_CLUSTER_SH=${AIF_CLUSTER_SH:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cluster.sh}
AIF_CLUSTER_DIR=
_tap_n=0
_tap_failed=0
_tap_planned=

# ------------------------------------------------------------------- TAP

_tap_result() {
	local pass=$1 name=$2
	_tap_n=$((_tap_n + 1))
	if [ "$pass" = 1 ]; then
		printf 'ok %d - %s\n' "$_tap_n" "$name"
	else
		_tap_failed=$((_tap_failed + 1))
		printf 'not ok %d - %s\n' "$_tap_n" "$name"
	fi
}

# diag MSG...: each argument's lines as "# " lines on stderr.
diag() {
	local msg line
	for msg in "$@"; do
		while IFS= read -r line; do
			printf '# %s\n' "$line" >&2
		done <<<"$msg"
	done
}

ok() {
	local name=$1
	shift
	if "$@"; then
		_tap_result 1 "$name"
	else
		_tap_result 0 "$name"
		diag "  failed: $*"
		return 1
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		_tap_result 1 "$3"
	else
		_tap_result 0 "$3"
		diag "       got: '$1'" "  expected: '$2'"
		return 1
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		_tap_result 1 "$3"
	else
		_tap_result 0 "$3"
		diag "                  '$1'" "  doesn't match '$2'"
		return 1
	fi
}

# skip NAME REASON: a test point that does not apply here, and why.
skip() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "$2"
}

plan() {
	_tap_planned=$1
	printf '1..%d\n' "$1"
}

done_testing() {
	[ -n "$_tap_planned" ] || printf '1..%d\n' "$_tap_n"
	if [ -n "$_tap_planned" ] && [ "$_tap_planned" != "$_tap_n" ]; then
		diag "planned $_tap_planned tests but ran $_tap_n"
		exit 1
	fi
	[ "$_tap_failed" = 0 ] || exit 1
	exit 0
}

skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	exit 0
}

bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 255
}

# --------------------------------------------------------------- cluster

# slurm_at_least MAJOR.MINOR: the SLURM the live tests run is that release
# or later (where SLURM itself changed what a test sees).
slurm_at_least() {
	local v
	v=$(sbatch --version | sed -n 's/^slurm[^0-9]*\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	set -- ${1/./ } $v
	[ "$3" -gt "$1" ] || { [ "$3" = "$1" ] && [ "$4" -ge "$2" ]; }
}

_cluster_prerequisites() {
	local b
	# make distcheck sets it: a release tarball's check is the unit tests.
	[ "${AIF_SKIP_LIVE:-0}" = 0 ] || skip_all "AIF_SKIP_LIVE is set"
	[ "$(id -u)" = 0 ] || skip_all "live tests run as root"
	for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/slurmdbd \
		/usr/sbin/munged /usr/sbin/mariadbd /usr/bin/mariadb-install-db \
		/usr/bin/sbatch /usr/bin/sacctmgr /usr/bin/setpriv; do
		[ -x "$b" ] || skip_all "$b is not installed"
	done
}

cluster_up() {
	local dir err
	_cluster_prerequisites
	dir=$(mktemp -d /tmp/aif-cluster.XXXXXX) || bail_out "mktemp failed"
	AIF_CLUSTER_DIR=$dir
	trap _cluster_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	# On failure cluster.sh prints the log tails and stops what it started.
	if ! err=$("$AIF_CLUSTER_SH" start "$dir" 2>&1 >/dev/null); then
		AIF_CLUSTER_DIR=
		diag "$err"
		bail_out "cluster did not start in $dir"
	fi
	export AIF_CLUSTER_DIR
	export AIF_SCRATCH=$dir/scratch
	export SLURM_CONF=$dir/etc/slurm.conf
}

# cluster_up_policy <<JSON: a cluster running both plugins from this build
# (admission and charges) with the policy read from stdin. The cluster
# keeps its own copy (etc/aifactory.json); the temporary one goes at once
# (cluster_up's EXIT trap would replace any trap of the caller's).
cluster_up_policy() {
	local policy
	policy=$(mktemp /tmp/aif-policy.XXXXXX) || bail_out "mktemp failed"
	cat >"$policy"
	chmod 644 "$policy"
	export AIF_PLUGIN_DIR=$top_builddir/plugindir
	export AIF_JOB_SUBMIT_PLUGINS=aifactory
	export AIF_JOBCOMP=jobcomp/aifactory
	export AIF_POLICY=$policy
	cluster_up
	rm -f -- "$policy"
}

# aifctl_copy DIR: a copy of this build's aifctl and its library in DIR
# (mode 755), for an ordinary user who may not reach the build tree (a
# checkout under /root is 0700). Run it as LD_LIBRARY_PATH=DIR DIR/aifctl.
aifctl_copy() {
	install -d -m 755 "$1"
	install -m 755 "${top_builddir:-.}/contrib/aifctl/.libs/aifctl" \
		"${top_builddir:-.}/common/.libs/libaifactory.so.0" "$1/"
}

# cluster_up_example: a cluster running job_submit/aifactory from this
# build with the example policy of contrib/examples (the demo's); sets
# EXAMPLES to that directory.
cluster_up_example() {
	EXAMPLES=$top_srcdir/contrib/examples
	export AIF_PLUGIN_DIR=$top_builddir/plugindir
	export AIF_JOB_SUBMIT_PLUGINS=aifactory
	export AIF_POLICY=$EXAMPLES/aifactory.json
	export AIF_POLICY_DIR=$EXAMPLES/aifactory.d
	cluster_up
}

cluster() {
	"$AIF_CLUSTER_SH" "$1" "$AIF_CLUSTER_DIR"
}

# topology_node NODE XML [TYPE]: before cluster_up, give NODE the
# topology XML for spank/aifactory (plugstack topology=DIR/%n.xml, loaded
# from this build) and the gres.conf lines `aifctl topology gres` writes
# for it, on its fake devices, with GPU type TYPE (a100), and the node
# shape printed with them (cluster.sh's AIF_GRES_NODE, AIF_SHAPE_NODE).
# DIR is AIF_TOPOLOGY_DIR, gone with the cluster.
topology_node() {
	local node=$1 xml=$2 type=${3:-a100} gres
	if [ -z "${AIF_TOPOLOGY_DIR:-}" ]; then
		AIF_TOPOLOGY_DIR=$(mktemp -d /tmp/aif-topo.XXXXXX) ||
			bail_out "mktemp failed"
		chmod 755 "$AIF_TOPOLOGY_DIR"
	fi
	install -m 644 "$xml" "$AIF_TOPOLOGY_DIR/$node.xml"
	gres=$AIF_TOPOLOGY_DIR/$node.gres
	"${top_builddir:-.}/contrib/aifctl/aifctl" topology gres --xml "$xml" \
		--type "$type" >"$gres.new" ||
		bail_out "aifctl topology gres failed for $xml"
	sed 's#File=/dev/#File=@DEV@/#' "$gres.new" >"$gres" && rm -f -- "$gres.new"
	export "AIF_GRES_$node=$gres"
	export "AIF_SHAPE_$node=$(sed -n 's/^# slurm.conf node: //p' "$gres")"
	export AIF_PLUGIN_DIR=${top_builddir:-.}/plugindir
	export AIF_PLUGSTACK="required spank_aifactory.so topology=$AIF_TOPOLOGY_DIR/%n.xml cache=$AIF_TOPOLOGY_DIR/cache"
}

# Keep the directory (stopped) when a test failed, so its logs can be read.
_cluster_teardown() {
	local status=$?
	[ -z "${AIF_TOPOLOGY_DIR:-}" ] || rm -rf -- "$AIF_TOPOLOGY_DIR"
	[ -n "$AIF_CLUSTER_DIR" ] || return 0
	if [ "${AIF_KEEP_CLUSTER:-0}" = 1 ]; then
		diag "cluster kept in $AIF_CLUSTER_DIR: . $AIF_CLUSTER_DIR/env to use it," \
			"$AIF_CLUSTER_SH stop $AIF_CLUSTER_DIR to stop it"
		return 0
	fi
	if [ "$status" != 0 ] || [ "$_tap_failed" != 0 ]; then
		diag "$(AIF_LOG_LINES=15 "$AIF_CLUSTER_SH" logs "$AIF_CLUSTER_DIR" 2>&1)"
		"$AIF_CLUSTER_SH" stop "$AIF_CLUSTER_DIR" 2>/dev/null
		diag "logs kept in $AIF_CLUSTER_DIR/log"
		return 0
	fi
	"$AIF_CLUSTER_SH" stop "$AIF_CLUSTER_DIR" 2>/dev/null &&
		rm -rf -- "$AIF_CLUSTER_DIR"
}

# ------------------------------------------------------------- commands

# _capture CMD...: run CMD with its output in AS_OUT/AS_ERR and status in
# AS_RC, whatever the caller's errexit setting.
_capture() {
	local out err
	out=$(mktemp) && err=$(mktemp) || return 1
	if (cd "${AIF_SCRATCH:-/tmp}" && "$@") >"$out" 2>"$err"; then
		AS_RC=0
	else
		AS_RC=$?
	fi
	AS_OUT=$(cat "$out")
	AS_ERR=$(cat "$err")
	rm -f -- "$out" "$err"
	return 0
}

# The user gets a clean environment: only what a login would give, plus
# this cluster's SLURM_CONF.
as_user() {
	local user=$1
	shift
	_capture setpriv --reuid="$user" --regid="$user" --init-groups -- \
		env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent \
		USER="$user" LOGNAME="$user" SHELL=/bin/bash LANG=C.UTF-8 \
		SLURM_CONF="$SLURM_CONF" "$@"
}

run() {
	_capture "$@"
}

job_field() {
	local line
	line=$(scontrol show job -o "$1" 2>/dev/null) || return 1
	line=" ${line%%$'\n'*}" # an array job gives one line per task
	case $line in
	*" $2="*) ;;
	*) return 1 ;;
	esac
	line=${line#*" $2="}
	# A value ends where the next " Key=" starts; values may hold spaces.
	line=$(printf '%s\n' "$line" | sed -E 's| [A-Za-z][A-Za-z0-9_:/]*=.*$||; s| +$||')
	# Where only SLURM's spelling changed, the tests see 22.05's: 24.11
	# writes GPU TRES as gres/gpu:h100:2 (22.05 gres:gpu:h100:2) and a fixed
	# node count as 2-2 (22.05: 2).
	case $2 in
	TresPer*|CpusPerTres|MemPerTres) line=${line//gres\//gres:} ;;
	NumNodes) [[ $line =~ ^([0-9]+)-([0-9]+)$ ]] &&
		[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && line=${BASH_REMATCH[1]} ;;
	esac
	printf '%s\n' "$line"
}

# update_refused WHAT SLURM OURS: the last as_user was a `scontrol update`
# that job_modify refused; SLURM's line is SLURM, and from 23.02 (where
# job_modify can answer) our message OURS comes first, each of its lines
# as scontrol prints it.
update_refused() {
	local want=$2
	if slurm_at_least 23.2; then
		want="$(printf '%s\n' "$3" | sed 's/^/scontrol: error: /')
$2"
	fi
	is "$AS_ERR" "$want" "$1"
}

# _scaled SECONDS: SECONDS x AIF_BUDGET_FACTOR, rounded up.
_scaled() {
	local factor=${AIF_BUDGET_FACTOR:-1}
	if ! [[ $1 =~ ^[0-9]+$ ]]; then
		diag "a time-out must be whole seconds, not '$1'"
		return 1
	fi
	if ! [[ $factor =~ ^[0-9]+(\.[0-9]+)?$ && $factor =~ [1-9] ]]; then
		diag "AIF_BUDGET_FACTOR must be a positive number, not '$factor'"
		return 1
	fi
	awk -v s="$1" -v f="$factor" 'BEGIN { t = s * f; printf "%d\n", t == int(t) ? t : int(t) + 1 }'
}

# wait_until SECONDS WHAT CMD [ARG...]: the one polling loop. The deadline
# is on the wall clock, so a slow CMD cannot stretch it.
wait_until() {
	local secs end what=$2
	secs=$(_scaled "$1") || return 1
	end=$((EPOCHSECONDS + secs))
	shift 2
	until "$@"; do
		if [ "$EPOCHSECONDS" -ge "$end" ]; then
			diag "gave up waiting for $what after $secs s"
			return 1
		fi
		sleep 0.2
	done
}

_job_state_is() {
	JOB_STATE=$(job_field "$1" JobState) || JOB_STATE=
	[[ $JOB_STATE =~ ^($2)$ ]]
}

wait_job_state() {
	wait_until "${3:-30}" "job $1 to be $2" _job_state_is "$1" "$2" && return 0
	diag "job $1 is '$JOB_STATE', not $2"
	return 1
}

# ------------------------------------------------------------- journal

# gph AMOUNT: milli-GPU-seconds >= 0 as GPU-hours (2 decimals, half up),
# as aifctl prints them.
gph() {
	local h=$((($1 * 100 + 1800000) / 3600000))
	printf '%d.%02d' $((h / 100)) $((h % 100))
}

# journal_record JOB: the journal's (first) charge record of a job, once
# the service thread has written it (bounded wait).
journal_record() {
	wait_until "${2:-10}" "the charge record of job $1" _journal_charge "$1" ||
		return 1
	printf '%s\n' "$JOURNAL_LINE"
}

_journal_charge() {
	JOURNAL_LINE=$(grep -F "\"type\":\"charge\",\"run\":\"aif:$1:" \
		"$AIF_CLUSTER_DIR/state/aifactory/journal" 2>/dev/null | head -1)
	[ -n "$JOURNAL_LINE" ]
}

# journal_field LINE KEY: one integer or string value of a record.
journal_field() {
	sed -n "s/.*\"$2\":\"\{0,1\}\([^\",]*\).*/\1/p" <<<"$1"
}

# ----------------------------------------------------------- time budget

# live_budget SECONDS: the test may run SECONDS more from now (scaled by
# AIF_BUDGET_FACTOR); the supervisor reads the deadline from a file.
live_budget() {
	local secs
	[ -n "${AIF_BUDGET_DIR:-}" ] || return 0 # AIF_BUDGET=0: no budget
	secs=$(_scaled "$1") || return 1
	printf '%d %d\n' $((EPOCHSECONDS + secs)) "$secs" >"$AIF_BUDGET_DIR/deadline.new" &&
		mv -f -- "$AIF_BUDGET_DIR/deadline.new" "$AIF_BUDGET_DIR/deadline"
}

# A process is gone when /proc has no entry or only a zombie's.
_budget_alive() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# What a cluster looked like when the budget ran out, as diagnostics.
_budget_cluster_report() {
	local dir=$1 f
	[ -f "$dir/etc/slurm.conf" ] || return 0
	diag "cluster $dir:"
	diag "\$ squeue" "$(SLURM_CONF=$dir/etc/slurm.conf timeout 10 \
		squeue -a -o '%.8i %.9P %.12j %.10u %.8T %.10M %.6D %R' 2>&1)"
	diag "\$ sinfo" "$(SLURM_CONF=$dir/etc/slurm.conf timeout 10 \
		sinfo -N -o '%N %P %T %E' 2>&1)"
	for f in "$dir/log/slurmctld.log" "$dir"/log/slurmd-*.log "$dir/log/slurmdbd.log"; do
		[ -s "$f" ] || continue
		diag "==> $f <==" "$(tail -n "${AIF_LOG_LINES:-20}" -- "$f")"
	done
}

# _budget_spent CHILD BUDGET_DIR TESTS PLANNED SECONDS: the child ran out
# of time. It is killed first, so that it cannot print or start anything
# more, then its clusters are shown and stopped.
_budget_spent() {
	local child=$1 work=$2 n=$3 planned=$4 secs=$5 dir
	kill -KILL -- "-$child" 2>/dev/null
	{ wait "$child"; } 2>/dev/null # no "Killed" from bash
	printf 'not ok %d - time budget of %s s spent: %s stopped\n' \
		$((n + 1)) "$secs" "${0##*/}"
	diag "The test ran out of its time budget (live_budget, AIF_BUDGET," \
		"AIF_BUDGET_FACTOR) and was killed."
	[ -s "$work/clusters" ] || diag "It had started no cluster."
	while IFS= read -r dir; do
		_budget_cluster_report "$dir"
	done <"$work/clusters"
	_budget_stop_clusters "$work"
	[ -n "$planned" ] || printf '1..%d\n' $((n + 1))
}

_budget_stop_clusters() {
	local dir
	while IFS= read -r dir; do
		[ -d "$dir" ] || continue
		if [ "${AIF_KEEP_CLUSTER:-0}" = 1 ]; then
			diag "cluster kept in $dir (AIF_KEEP_CLUSTER=1)"
			continue
		fi
		if [ -n "$(find "$dir/run" "$dir/db" "$dir/munge" -maxdepth 1 \
			-name '*.pid' 2>/dev/null)" ]; then
			"$AIF_CLUSTER_SH" stop "$dir" >/dev/null 2>&1 ||
				diag "cluster.sh stop $dir failed"
			diag "cluster stopped; its logs are kept in $dir/log"
		fi
	done <"$work/clusters"
}

# _budget_supervise ARG...: run this script again as a child under the
# budget, pass its TAP through, count its tests; its status is the
# child's.
_budget_supervise() {
	local work fifo child fd line partial='' n=0 planned='' deadline secs rc=0
	local started=$EPOCHSECONDS
	work=$(mktemp -d /tmp/aif-budget.XXXXXX) || bail_out "mktemp failed"
	fifo=$work/tap
	mkfifo -m 600 "$fifo" || bail_out "mkfifo failed"
	: >"$work/clusters"
	if ! AIF_BUDGET_DIR=$work live_budget "${AIF_BUDGET:-300}"; then
		rm -rf -- "$work"
		bail_out "AIF_BUDGET or AIF_BUDGET_FACTOR is not a number of seconds"
	fi
	# Its own session: one signal reaches everything it started, except
	# the cluster's daemons (cluster.sh starts them in sessions of theirs).
	AIF_BUDGET_DIR=$work setsid "$BASH" "$0" "$@" >"$fifo" &
	child=$!
	trap 'kill -TERM -- "-$child" 2>/dev/null' INT TERM HUP
	exec {fd}<"$fifo"
	while :; do
		read -r deadline secs <"$work/deadline"
		if [ "$EPOCHSECONDS" -ge "$deadline" ]; then
			_budget_spent "$child" "$work" "$n" "$planned" "$secs"
			rc=1
			break
		fi
		# A line can come in pieces: a time-out keeps what came so far.
		if IFS= read -r -t 1 -u "$fd" line; then
			line=$partial$line partial=''
			printf '%s\n' "$line"
			case $line in
			"ok "* | "not ok "*) n=$((n + 1)) ;;
			1..*) planned=1 ;;
			esac
		elif [ $? -gt 128 ]; then
			partial+=$line
			# Done when the child is; something it left running may
			# still hold the pipe open.
			_budget_alive "$child" || break
		else
			partial+=$line # end of file: the child is ending
			_budget_alive "$child" || break
			sleep 0.1
		fi
	done
	[ -z "$partial" ] || printf '%s\n' "$partial"
	exec {fd}<&-
	if [ "$rc" = 0 ]; then
		wait "$child"
		rc=$?
		# Whatever it left behind in its session goes with it.
		kill -KILL -- "-$child" 2>/dev/null
		_budget_stop_clusters "$work"
		# How close a test comes to its budget, for whoever tunes it.
		diag "${0##*/}: $((EPOCHSECONDS - started)) s (its budget: $secs s)"
	fi
	rm -rf -- "$work"
	return "$rc"
}

# Only a script that sources this file at its top level is supervised
# (not an interactive shell, nor the supervised child itself).
if [ -z "${AIF_BUDGET_DIR:-}" ] && [ "${AIF_BUDGET:-300}" != 0 ] &&
	[ "${BASH_SOURCE[1]:-}" = "$0" ] && [ -f "$0" ]; then
	_budget_supervise "$@"
	exit
fi
