#!/usr/bin/env bash
# A throwaway SLURM cluster for the live tests: its own munged, MariaDB,
# slurmdbd, slurmctld and four slurmd (multiple-slurmd on this host), all
# under one directory, on free ports, with fake GPUs.
#
#   cluster.sh start DIR         build and start a cluster in DIR (new or empty);
#                                prints "export SLURM_CONF=DIR/etc/slurm.conf"
#   cluster.sh stop DIR          stop every daemon of DIR by its pidfile
#   cluster.sh restart-ctld DIR  restart slurmctld, keeping its state
#   cluster.sh kill9-ctld DIR    kill -9 slurmctld (crash tests)
#   cluster.sh logs DIR          tail of every log
#
# Knobs for start (environment):
#   AIF_PLUGIN_DIR          colon list of plugin directories, copied into
#                           DIR/plugins/N and put in PluginDir before Debian's
#                           (SLURM loads the first it finds: a copy that
#                           `make install` put there must not shadow the build)
#   AIF_JOB_SUBMIT_PLUGINS  JobSubmitPlugins= (omitted when empty)
#   AIF_JOBCOMP             JobCompType= (default jobcomp/none)
#   AIF_SLURM_EXTRA         lines appended verbatim to slurm.conf
#   AIF_PLUGSTACK           lines written to DIR/etc/plugstack.conf (SPANK)
#   AIF_GRES_<node>         a file of gres.conf lines for that node (as
#                           'aifctl topology gres' writes them, @DEV@ for
#                           its fake device directory): its GPUs, type,
#                           Cores and Links instead of the default ones
#   AIF_SHAPE_<node>        that node's "Sockets=.. CoresPerSocket=..
#                           ThreadsPerCore=.." instead of 2 x 16 x 1
#   AIF_POLICY              policy file, copied to DIR/etc/aifactory.json (owned by
#                           root), with @BALANCE_PORT@ replaced by a free port
#                           and @METRICS_DIR@ by DIR/metrics (SlurmUser's)
#   AIF_POLICY_DIR          its project directory, copied to DIR/etc/aifactory.d
#   AIF_SLURMCTLD_PRELOAD   a library preloaded into slurmctld: the ASan
#                           runtime, for plugins built with sanitizers (README,
#                           Tests); reports go to DIR/log/sanitizer.<pid>
#                           unless ASAN_OPTIONS/UBSAN_OPTIONS say log_path=
#   AIF_BUDGET_DIR          set by tests/cluster/lib.sh: DIR is added to the
#                           file "clusters" in it, for the test's time budget
#
# Run as root. Only Debian's binaries are used; none of Debian's services or
# configuration files. Nothing is ever killed by name: only by the pidfiles
# under DIR, after checking the process really belongs to DIR.
#
# Layout of DIR:
#   etc/    slurm.conf gres.conf slurmdbd.conf plugstack.conf aifactory.json
#   munge/  key, socket, pid, seed, log (owned by munge)
#   db/     MariaDB data, socket and pid (owned by mysql)
#   run/    slurmctld, slurmd-<node> and slurmdbd pidfiles
#   log/    every daemon's log (munged.log is a link into munge/)
#   state/  StateSaveLocation       spool/<node>/  SlurmdSpoolDir
#   dev/<node>/nvidiaN  fake GPU device files (char 195:N)
#   scratch/  mode 1777: working directory for test jobs
#   ports   the ports this cluster took      env   the SLURM_CONF line
#
# Also, once per machine: UNIX users aif-alice, aif-bob, aif-carol, aif-dave,
# aif-erin, groups aif-acme (alice, bob) and aif-lab (carol). In slurmdbd: the
# cluster and the QOS startup, sme, research, fallback; no accounts, and no
# AccountingStorageEnforce, so SLURM takes any account and our plugins decide.
set -euo pipefail

readonly SLURM_LIBDIR=/usr/lib/x86_64-linux-gnu/slurm-wlm
readonly CLUSTER_NAME=aif
readonly NODES=(h1 h2 a1 a2)
readonly TEST_USERS=(aif-alice aif-bob aif-carol aif-dave aif-erin)
readonly QOS_NAMES=startup,sme,research,fallback
# Shared by every cluster on this machine, so that clusters started at the
# same time never pick the same port or race on /etc/passwd.
readonly PORT_REGISTRY=/tmp/aif-cluster-ports
readonly PORT_LOCK=/tmp/aif-cluster-ports.lock
# Ports come from AIF_PORT_BASE .. AIF_PORT_BASE + 5999. A Debian root of
# another release (release-check.sh) has a /tmp and a registry of its
# own but this machine's network, so its clusters take the next range
# (26000) and the two releases' suites can run at the same time.
readonly PORT_BASE=${AIF_PORT_BASE:-20000}
readonly USERS_LOCK=/tmp/aif-cluster-users.lock
readonly STOP_TIMEOUT=10

say() { printf 'cluster: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Set the paths of cluster DIR ($1) as globals; every command the script runs
# sees this cluster's SLURM_CONF.
set_paths() {
	DIR=$(realpath -m -- "$1")
	case $DIR in
	*[[:space:]]*) die "$DIR: a cluster directory cannot hold spaces (slurm.conf)" ;;
	esac
	ETC=$DIR/etc
	RUN=$DIR/run
	LOG=$DIR/log
	MUNGE_DIR=$DIR/munge
	MUNGE_SOCKET=$MUNGE_DIR/munge.socket
	DB_DIR=$DIR/db
	DB_SOCKET=$DB_DIR/mariadbd.sock
	SLURM_CONF=$ETC/slurm.conf
	export SLURM_CONF
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds;
# on time-out show what CMD said the last time.
wait_for() {
	wait_up "$1" "$2" '' "${@:3}"
}

# wait_up SECONDS WHAT PIDFILES CMD...: the same, but give up as soon as a
# daemon named by the PIDFILES pattern (a glob) has died.
wait_up() {
	local tenths=$(($1 * 10)) what=$2 pidfiles=$3 said f pid
	shift 3
	while ! said=$("$@" 2>&1); do
		for f in $pidfiles; do
			[ -f "$f" ] || continue
			pid=$(tr -dc '0-9' <"$f")
			if [ -n "$pid" ] && ! alive "$pid"; then
				say "${f##*/}: process $pid has died"
				return 1
			fi
		done
		tenths=$((tenths - 1))
		if [ "$tenths" -le 0 ]; then
			say "timed out waiting for $what; $1 said:"
			printf '%s\n' "$said" | tail -n 5 >&2
			return 1
		fi
		sleep 0.1
	done
}

# Run a daemon detached from us: its own session, no inherited stdio, so a
# caller reading our output through a pipe is never held open by it. The
# daemon forks itself; its exit status tells whether it started.
launch() {
	local out=$1
	shift
	(cd / && setsid "$@" </dev/null >>"$out" 2>&1 3>&- 4>&-)
}

# The same for a daemon that stays in the foreground.
launch_fork() {
	local out=$1
	shift
	(cd / && setsid -f "$@" </dev/null >>"$out" 2>&1 3>&- 4>&-)
}

# ---------------------------------------------------------------- processes

# A zombie counts as gone: in a container nobody may ever reap it.
alive() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) ||
		return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# A process is this cluster's only if it names DIR in its command line
# (munged, mariadbd), has this SLURM_CONF (slurm daemons) or works inside DIR
# (slurmstepd, which wipes its environment, runs in slurmd's log directory).
belongs_here() {
	local pid=$1 cwd
	alive "$pid" || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/" && return 0
	tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
		grep -qxF -- "SLURM_CONF=$SLURM_CONF" && return 0
	cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
	case $cwd/ in
	"$DIR"/*) return 0 ;;
	esac
	return 1
}

pid_from() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[ -n "$pid" ] || return 1
	belongs_here "$pid" || return 1
	printf '%s\n' "$pid"
}

# terminate PID...: TERM, up to STOP_TIMEOUT s for them to go, then KILL.
terminate() {
	local pid left tenths=$((STOP_TIMEOUT * 10))
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	while :; do
		left=()
		for pid in "$@"; do
			alive "$pid" && left+=("$pid")
		done
		[ ${#left[@]} -gt 0 ] || return 0
		tenths=$((tenths - 1))
		[ "$tenths" -gt 0 ] || break
		sleep 0.1
	done
	say "still running after ${STOP_TIMEOUT}s, killing: ${left[*]}"
	kill -KILL "${left[@]}" 2>/dev/null || true
	for pid in "${left[@]}"; do
		wait_for 5 "pid $pid to die" eval "! alive $pid" || return 1
	done
}

# stop_pidfiles FILE...: stop the daemons named by these pidfiles together.
stop_pidfiles() {
	local f pid pids=()
	for f in "$@"; do
		if pid=$(pid_from "$f"); then
			pids+=("$pid")
		else
			rm -f -- "$f"
		fi
	done
	terminate "${pids[@]}" || return 1
	rm -f -- "$@"
}

# Job steps outlive slurmd: find this cluster's slurmstepd (by their working
# directory, see belongs_here) and kill them with everything they started.
kill_job_steps() {
	local p exe victims=() queue=() pid child
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
		case $exe in
		*/slurmstepd*) ;; # slurmstepd-wlm on Debian
		*) continue ;;
		esac
		belongs_here "$p" && queue+=("$p")
	done
	[ ${#queue[@]} -gt 0 ] || return 0
	# Walk down the process tree from the step daemons.
	while [ ${#queue[@]} -gt 0 ]; do
		pid=${queue[0]}
		queue=("${queue[@]:1}")
		victims+=("$pid")
		for child in $(ps -e -o pid=,ppid= | awk -v ppid="$pid" '$2 == ppid { print $1 }'); do
			queue+=("$child")
		done
	done
	say "killing ${#victims[@]} leftover job step process(es)"
	kill -KILL "${victims[@]}" 2>/dev/null || true
}

# ------------------------------------------------------------------- ports

port_taken_on_host() {
	ss -Htan "sport = :$1" 2>/dev/null | grep -q .
}

# A registry entry is live while its owner's ports file still lists it.
port_reserved() {
	local entry=$PORT_REGISTRY/$1 owner
	[ -f "$entry" ] || return 1
	owner=$(cat "$entry" 2>/dev/null) || return 1
	grep -qE "=$1\$" "$owner/ports" 2>/dev/null
}

# Pick the ports this cluster needs, below the ephemeral range so that no
# outgoing connection takes one between our pick and the daemon's bind.
reserve_ports() {
	local names=(ctld dbd db balance "${NODES[@]/#/slurmd_}") name port entry
	mkdir -p "$PORT_REGISTRY"
	(
		flock 4
		for entry in "$PORT_REGISTRY"/*; do
			[ -f "$entry" ] || continue
			port_reserved "${entry##*/}" || rm -f -- "$entry"
		done
		: >"$DIR/ports"
		for name in "${names[@]}"; do
			while :; do
				port=$((PORT_BASE + RANDOM % 6000))
				port_reserved "$port" && continue
				port_taken_on_host "$port" && continue
				grep -qE "=$port\$" "$DIR/ports" && continue
				break
			done
			printf '%s=%s\n' "$name" "$port" >>"$DIR/ports"
			printf '%s\n' "$DIR" >"$PORT_REGISTRY/$port"
		done
	) 4>"$PORT_LOCK"
}

release_ports() {
	local name port
	[ -f "$DIR/ports" ] || return 0
	while IFS== read -r name port; do
		[ -n "$port" ] || continue
		if [ "$(cat "$PORT_REGISTRY/$port" 2>/dev/null)" = "$DIR" ]; then
			rm -f -- "$PORT_REGISTRY/$port"
		fi
	done <"$DIR/ports"
}

port_of() {
	sed -n "s/^$1=//p" "$DIR/ports"
}

# ------------------------------------------------------------------- users

ensure_users() {
	(
		flock 4
		local u
		for u in "${TEST_USERS[@]}"; do
			getent passwd "$u" >/dev/null ||
				useradd --no-create-home --home-dir /nonexistent \
					--shell /bin/bash "$u"
		done
		add_to_group aif-acme aif-alice aif-bob
		add_to_group aif-lab aif-carol
	) 4>"$USERS_LOCK"
}

add_to_group() {
	local group=$1 u
	shift
	getent group "$group" >/dev/null || groupadd "$group"
	for u in "$@"; do
		id -nG "$u" | tr ' ' '\n' | grep -qxF "$group" ||
			usermod -a -G "$group" "$u"
	done
}

# ------------------------------------------------------------------ layout

make_layout() {
	local node
	if [ -e "$DIR" ]; then
		[ -d "$DIR" ] || die "$DIR exists and is not a directory"
		[ -z "$(ls -A -- "$DIR")" ] || die "$DIR is not empty"
	fi
	mkdir -p -- "$DIR"
	chmod 755 "$DIR"
	install -d -m 755 "$ETC" "$DIR/dev"
	install -d -m 755 -o slurm -g slurm "$RUN" "$LOG"
	install -d -m 755 "$DIR/spool"
	install -d -m 700 -o slurm -g slurm "$DIR/state"
	install -d -m 755 -o munge -g munge "$MUNGE_DIR"
	install -d -m 750 -o mysql -g mysql "$DB_DIR"
	install -d -m 1777 "$DIR/scratch"
	for node in "${NODES[@]}"; do
		install -d -m 755 "$DIR/spool/$node"
	done
	# munged wants a log directory owned by root or munge, slurmctld and
	# slurmdbd want theirs writable by slurm: munged logs next to its key.
	install -m 640 -o munge -g munge /dev/null "$MUNGE_DIR/munged.log"
	ln -s ../munge/munged.log "$LOG/munged.log"
	install -m 640 -o mysql -g mysql /dev/null "$LOG/mariadbd.log"
}

# make_gpus NODE COUNT: character devices 195:N, as the NVIDIA driver makes.
make_gpus() {
	local node=$1 count=$2 i
	install -d -m 755 "$DIR/dev/$node"
	for ((i = 0; i < count; i++)); do
		mknod -m 666 "$DIR/dev/$node/nvidia$i" c 195 "$i"
	done
}

# The file AIF_GRES_<node> names, or nothing.
node_gres_file() {
	local v=AIF_GRES_$1
	printf '%s' "${!v:-}"
}

gpu_type() {
	local f
	f=$(node_gres_file "$1")
	if [ -n "$f" ]; then
		sed -n 's/^Name=gpu .*Type=\([^ ]*\).*/\1/p' "$f" | head -n 1
		return
	fi
	case $1 in
	h*) echo h100 ;;
	*) echo a100 ;;
	esac
}

gpu_count() {
	local f
	f=$(node_gres_file "$1")
	if [ -n "$f" ]; then
		grep -c '^Name=gpu ' "$f"
		return
	fi
	case $1 in
	h*) echo 8 ;;
	*) echo 4 ;;
	esac
}

# Half of each node's GPUs on each socket, as on a real two-socket board.
write_gres_conf() {
	local node type count half
	for node in "${NODES[@]}"; do
		type=$(gpu_type "$node")
		count=$(gpu_count "$node")
		half=$((count / 2))
		make_gpus "$node" "$count"
		if [ -n "$(node_gres_file "$node")" ]; then
			sed -n "/^Name=/{s#@DEV@#$DIR/dev/$node#g;s#^#NodeName=$node #;p}" \
				"$(node_gres_file "$node")"
			continue
		fi
		printf 'NodeName=%s Name=gpu Type=%s File=%s/nvidia[0-%d] Cores=0-15\n' \
			"$node" "$type" "$DIR/dev/$node" $((half - 1))
		printf 'NodeName=%s Name=gpu Type=%s File=%s/nvidia[%d-%d] Cores=16-31\n' \
			"$node" "$type" "$DIR/dev/$node" "$half" $((count - 1))
	done >"$ETC/gres.conf"
	chmod 644 "$ETC/gres.conf"
}

# The settings every test cluster shares; the knobs fill in a few.
slurm_settings() {
	cat <<-EOF
		ClusterName=$CLUSTER_NAME
		SlurmctldHost=$(hostname -s)
		SlurmUser=slurm
		SlurmctldPort=$(port_of ctld)
		AuthType=auth/munge
		AuthInfo=socket=$MUNGE_SOCKET
		CredType=cred/munge
		PluginDir=${PLUGIN_COPIES:+$PLUGIN_COPIES:}$SLURM_LIBDIR
		PlugStackConfig=$ETC/plugstack.conf
		StateSaveLocation=$DIR/state
		SlurmdSpoolDir=$DIR/spool/%n
		SlurmctldPidFile=$RUN/slurmctld.pid
		SlurmdPidFile=$RUN/slurmd-%n.pid
		SlurmctldLogFile=$LOG/slurmctld.log
		SlurmdLogFile=$LOG/slurmd-%n.log
		SlurmctldDebug=info
		SlurmdDebug=info
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		SelectType=select/cons_tres
		SelectTypeParameters=CR_Core_Memory
		DefMemPerCPU=1024
		GresTypes=gpu
		SlurmdParameters=config_overrides
		SchedulerParameters=batch_sched_delay=0
		PriorityType=priority/multifactor
		AccountingStorageType=accounting_storage/slurmdbd
		AccountingStorageHost=127.0.0.1
		AccountingStoragePort=$(port_of dbd)
		AccountingStoragePass=socket=$MUNGE_SOCKET
		AccountingStorageTRES=gres/gpu
		JobAcctGatherType=jobacct_gather/none
		JobCompType=${AIF_JOBCOMP:-jobcomp/none}
		MailProg=/bin/true
		ReturnToService=2
		MessageTimeout=10
		KillWait=2
		MinJobAge=300
	EOF
	if [ -n "${AIF_JOB_SUBMIT_PLUGINS:-}" ]; then
		printf 'JobSubmitPlugins=%s\n' "$AIF_JOB_SUBMIT_PLUGINS"
	fi
}

# Four nodes on this host (multiple-slurmd), declared larger than it is:
# config_overrides makes slurmd report what is written here.
slurm_nodes() {
	local node shape
	for node in "${NODES[@]}"; do
		printf 'NodeName=%s NodeHostname=%s NodeAddr=127.0.0.1 Port=%s ' \
			"$node" "$(hostname -s)" "$(port_of "slurmd_$node")"
		shape=AIF_SHAPE_$node
		printf '%s RealMemory=512000 ' \
			"${!shape:-Sockets=2 CoresPerSocket=16 ThreadsPerCore=1}"
		printf 'Gres=gpu:%s:%d State=UNKNOWN\n' "$(gpu_type "$node")" "$(gpu_count "$node")"
	done
	cat <<-EOF
		PartitionName=h100 Nodes=h1,h2 Default=YES MaxTime=INFINITE State=UP
		PartitionName=a100 Nodes=a1,a2 MaxTime=INFINITE State=UP
		PartitionName=all Nodes=h1,h2,a1,a2 MaxTime=INFINITE State=UP
	EOF
}

# Keys set in AIF_SLURM_EXTRA, lower case, except those that may repeat.
overridden_keys() {
	printf '%s\n' "${AIF_SLURM_EXTRA:-}" |
		sed -nE 's/^[[:space:]]*([A-Za-z]+)[[:space:]]*=.*/\1/p' |
		tr '[:upper:]' '[:lower:]' |
		grep -vxE 'nodename|partitionname|nodeset|downnodes|include' || true
}

# drop_keys KEY...: copy stdin to stdout without the settings named.
drop_keys() {
	awk -v keys="$*" '
		BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) skip[k[i]] = 1 }
		{ key = tolower($0); sub(/[[:space:]]*=.*/, "", key) }
		!(key in skip)'
}

# A setting also given in AIF_SLURM_EXTRA is left out of ours, so that the
# extra one replaces it (SLURM would take the last and log an error).
write_slurm_conf() {
	{
		echo "# Throwaway cluster written by tests/cluster/cluster.sh"
		# shellcheck disable=SC2046 # one argument per key
		slurm_settings | drop_keys $(overridden_keys)
		echo
		slurm_nodes
		if [ -n "${AIF_SLURM_EXTRA:-}" ]; then
			echo
			echo "# AIF_SLURM_EXTRA"
			printf '%s\n' "$AIF_SLURM_EXTRA"
		fi
	} >"$SLURM_CONF"
	chmod 644 "$SLURM_CONF"
	printf '%s' "${AIF_PLUGSTACK:-}${AIF_PLUGSTACK:+$'\n'}" >"$ETC/plugstack.conf"
	chmod 644 "$ETC/plugstack.conf"
}

write_slurmdbd_conf() {
	local conf=$ETC/slurmdbd.conf
	install -m 600 -o slurm -g slurm /dev/null "$conf"
	cat >"$conf" <<-EOF
		# Throwaway slurmdbd written by tests/cluster/cluster.sh
		AuthType=auth/munge
		AuthInfo=socket=$MUNGE_SOCKET
		DbdHost=$(hostname -s)
		DbdAddr=127.0.0.1
		DbdPort=$(port_of dbd)
		SlurmUser=slurm
		PidFile=$RUN/slurmdbd.pid
		LogFile=$LOG/slurmdbd.log
		DebugLevel=info
		StorageType=accounting_storage/mysql
		StorageHost=127.0.0.1
		StoragePort=$(port_of db)
		StorageUser=slurm
		StoragePass=$DB_PASSWORD
		StorageLoc=slurm_acct_db
	EOF
}

# slurmctld loads plugins as slurm, which may not reach the build tree (a
# checkout under /root is mode 0700), and a rebuild must not change what a
# running daemon has mapped: copy the plugins into DIR/plugins/N.
copy_plugins() {
	local d dirs i=0
	PLUGIN_COPIES=
	[ -n "${AIF_PLUGIN_DIR:-}" ] || return 0
	IFS=: read -r -a dirs <<<"$AIF_PLUGIN_DIR"
	for d in "${dirs[@]}"; do
		case $d in
		/*) ;;
		*) die "AIF_PLUGIN_DIR: $d is not an absolute path" ;;
		esac
		[ -d "$d" ] || die "AIF_PLUGIN_DIR: $d is not a directory"
		install -d -m 755 -- "$DIR/plugins/$i"
		find "$d" -maxdepth 1 -name '*.so*' \( -type f -o -type l \) \
			-exec install -m 755 -t "$DIR/plugins/$i" -- {} +
		PLUGIN_COPIES=${PLUGIN_COPIES:+$PLUGIN_COPIES:}$DIR/plugins/$i
		i=$((i + 1))
	done
}

install_policy() {
	[ -n "${AIF_POLICY:-}" ] || return 0
	[ -f "$AIF_POLICY" ] || die "AIF_POLICY=$AIF_POLICY is not a file"
	# A policy may ask for this cluster's port for balance queries, and
	# for a directory slurmctld may write its metrics file in.
	install -d -m 755 -o slurm -g slurm -- "$DIR/metrics"
	sed -e "s/@BALANCE_PORT@/$(port_of balance)/g" -e "s|@METRICS_DIR@|$DIR/metrics|g" \
		-- "$AIF_POLICY" |
		install -m 644 -o root -g root /dev/stdin "$ETC/aifactory.json"
	[ -n "${AIF_POLICY_DIR:-}" ] || return 0
	[ -d "$AIF_POLICY_DIR" ] || die "AIF_POLICY_DIR=$AIF_POLICY_DIR is not a directory"
	install -d -m 755 -o root -g root -- "$ETC/aifactory.d"
	find "$AIF_POLICY_DIR" -maxdepth 1 -type f -name '*.json' \
		-exec install -m 644 -o root -g root -t "$ETC/aifactory.d" -- {} +
}

# ----------------------------------------------------------------- daemons

start_munged() {
	dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
	chown munge:munge "$MUNGE_DIR/munge.key"
	chmod 600 "$MUNGE_DIR/munge.key"
	launch "$MUNGE_DIR/munged.log" setpriv --reuid=munge --regid=munge --clear-groups \
		/usr/sbin/munged \
		--key-file="$MUNGE_DIR/munge.key" \
		--socket="$MUNGE_SOCKET" \
		--pid-file="$MUNGE_DIR/munged.pid" \
		--log-file="$MUNGE_DIR/munged.log" \
		--seed-file="$MUNGE_DIR/munged.seed"
	wait_up 10 munged "$MUNGE_DIR/munged.pid" munge_works
}

munge_works() {
	/usr/bin/munge -n -S "$MUNGE_SOCKET" | /usr/bin/unmunge -S "$MUNGE_SOCKET"
}

# slurmdbd logs an error below 512M of buffer pool, 32M of redo log and a
# 900 s lock wait; the pool is allocated lazily, so 512M starts as fast as
# 64M (0.1 s, about 100 MB resident). Durability does not matter here.
DB_OPTIONS=(
	--innodb-buffer-pool-size=512M
	--innodb-log-file-size=64M
	--innodb-lock-wait-timeout=900
	--innodb-flush-log-at-trx-commit=0
	--innodb-doublewrite=0
	--skip-log-bin
	--skip-name-resolve
)

start_mariadb() {
	/usr/bin/mariadb-install-db --no-defaults --user=mysql --datadir="$DB_DIR" \
		--auth-root-authentication-method=socket --skip-test-db \
		"${DB_OPTIONS[@]}" >>"$LOG/mariadb-install.out" 2>&1 ||
		die "mariadb-install-db failed, see $LOG/mariadb-install.out"
	launch_fork "$LOG/mariadbd.log" /usr/sbin/mariadbd --no-defaults --user=mysql \
		--datadir="$DB_DIR" --socket="$DB_SOCKET" \
		--pid-file="$DB_DIR/mariadbd.pid" --log-error="$LOG/mariadbd.log" \
		--bind-address=127.0.0.1 --port="$(port_of db)" \
		"${DB_OPTIONS[@]}"
	wait_up 20 mariadbd "$DB_DIR/mariadbd.pid" sql 'SELECT 1'
	DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	sql "CREATE DATABASE slurm_acct_db;
		CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
		GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
}

sql() {
	/usr/bin/mariadb --no-defaults --socket="$DB_SOCKET" -uroot -e "$1"
}

start_slurmdbd() {
	launch "$LOG/slurmdbd.log" /usr/sbin/slurmdbd
	wait_up 30 slurmdbd "$RUN/slurmdbd.pid" sacctmgr -n show cluster
}

# start_slurmctld [-c]: -c on the first start only (no state to recover).
start_slurmctld() {
	local preload=()
	[ -z "${AIF_SLURMCTLD_PRELOAD:-}" ] || preload=(env
		LD_PRELOAD="$AIF_SLURMCTLD_PRELOAD"
		ASAN_OPTIONS="detect_leaks=0:log_path=$LOG/sanitizer${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
		UBSAN_OPTIONS="print_stacktrace=1:log_path=$LOG/sanitizer${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}")
	launch "$LOG/slurmctld.log" "${preload[@]}" /usr/sbin/slurmctld "$@"
	wait_up 30 slurmctld "$RUN/slurmctld.pid" ctld_answers
}

ctld_answers() {
	local said
	said=$(scontrol ping 2>&1) || true
	case $said in
	*"is UP"*) return 0 ;;
	esac
	printf '%s\n' "$said"
	return 1
}

start_slurmds() {
	local node
	for node in "${NODES[@]}"; do
		launch "$LOG/slurmd-$node.log" /usr/sbin/slurmd -N "$node"
	done
}

all_nodes_idle() {
	local n
	n=$(sinfo -h -N -p all -t idle -o '%N' | sort -u | wc -l)
	[ "$n" -eq ${#NODES[@]} ]
}

wait_nodes_idle() {
	if ! wait_up 30 "all nodes idle" "$RUN/slurmd-*.pid" all_nodes_idle; then
		sinfo -N -p all >&2 || true
		return 1
	fi
}

setup_accounting() {
	sacctmgr -i add cluster "$CLUSTER_NAME" >/dev/null
	sacctmgr -i add qos "$QOS_NAMES" >/dev/null
}

# --------------------------------------------------------------- commands

cmd_start() {
	local t0
	t0=$(now)
	# stdout carries only the final export line; everything else to stderr.
	exec 3>&1 1>&2
	[ "$(id -u)" = 0 ] || die "run me as root"
	make_layout
	# A test's time budget (tests/cluster/lib.sh) stops what it started.
	if [ -n "${AIF_BUDGET_DIR:-}" ]; then
		printf '%s\n' "$DIR" >>"$AIF_BUDGET_DIR/clusters"
	fi
	copy_plugins
	trap 'on_start_exit $?' EXIT
	say "starting a cluster in $DIR"
	ensure_users
	reserve_ports
	write_gres_conf
	write_slurm_conf
	install_policy
	start_munged
	start_mariadb
	write_slurmdbd_conf
	start_slurmdbd
	setup_accounting
	start_slurmctld -c
	start_slurmds
	wait_nodes_idle
	printf 'export SLURM_CONF=%s\n' "$SLURM_CONF" >"$DIR/env"
	trap - EXIT
	say "up in $(elapsed_since "$t0") s: ${#NODES[@]} nodes idle, ports $(tr '\n' ' ' <"$DIR/ports")"
	cat "$DIR/env" >&3
}

on_start_exit() {
	[ "$1" != 0 ] || return 0
	say "start failed; log tails follow, then the cluster is stopped"
	cmd_logs >&2 || true
	cmd_stop || true
	say "logs kept in $LOG"
}

# Controller and nodes first, then what they talk to. A daemon that will not
# die does not stop the others from being stopped.
cmd_stop() {
	local f ctld_and_nodes=() rc=0
	exec 3>&-
	ctld_and_nodes=("$RUN/slurmctld.pid")
	for f in "$RUN"/slurmd-*.pid; do
		[ -e "$f" ] && ctld_and_nodes+=("$f")
	done
	stop_pidfiles "${ctld_and_nodes[@]}" || rc=1
	kill_job_steps
	stop_pidfiles "$RUN/slurmdbd.pid" || rc=1
	stop_pidfiles "$DB_DIR/mariadbd.pid" "$MUNGE_DIR/munged.pid" || rc=1
	release_ports
	if [ "$rc" = 0 ]; then
		say "stopped $DIR"
	else
		say "error: some daemons of $DIR would not die"
	fi
	return "$rc"
}

cmd_restart_ctld() {
	local t0
	t0=$(now)
	stop_pidfiles "$RUN/slurmctld.pid"
	start_slurmctld
	say "slurmctld restarted in $(elapsed_since "$t0") s"
}

cmd_kill9_ctld() {
	local pid
	pid=$(pid_from "$RUN/slurmctld.pid") || die "no slurmctld running for $DIR"
	kill -KILL "$pid"
	wait_for 5 "slurmctld to die" eval "! alive $pid"
	say "slurmctld ($pid) killed with SIGKILL"
}

cmd_logs() {
	local f
	for f in "$LOG"/*.log; do
		[ -s "$f" ] || continue
		printf '==> %s <==\n' "$f"
		tail -n "${AIF_LOG_LINES:-40}" -- "$f"
	done
}

main() {
	[ $# -eq 2 ] || usage
	set_paths "$2"
	case $1 in
	start) cmd_start ;;
	stop) cmd_stop ;;
	restart-ctld) cmd_restart_ctld ;;
	kill9-ctld) cmd_kill9_ctld ;;
	logs) cmd_logs ;;
	*) usage ;;
	esac
}

main "$@"
