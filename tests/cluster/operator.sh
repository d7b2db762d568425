#!/usr/bin/env bash
# A new operator's path, run as root inside a Debian root where the suite
# was installed into SLURM's own places (from the packages, or with `make
# install`): nothing here comes from the test harness. It writes what the
# README says into /etc/slurm (the plugins' slurm.conf lines and its
# short policy, both read from the README itself) for a one-host cluster
# with two fake GPUs, starts munged, slurmctld and slurmd from SLURM's
# default places, and runs jobs through them as an ordinary user: one is
# admitted, tagged and charged in the journal, one refused with our
# message. Prints TAP; the daemons are stopped at the end.
#
#   operator.sh README [STATE]
#
# STATE: an upgrade. The aifactory directory (journal and snapshot) that an
# earlier build wrote under its StateSaveLocation, put in place before
# slurmctld starts: its charges must be read back and kept.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u

readme=$1 state=${2:-}
n=0 failed=0
tap() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# until_ok SECONDS CMD...: bounded wait.
until_ok() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.5
	done
}
free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
logs() {
	diag "--- slurmctld.log" "$(tail -n 25 /var/log/slurm/slurmctld.log 2>/dev/null)" \
		"--- slurmd.log" "$(tail -n 15 /var/log/slurm/slurmd.log 2>/dev/null)"
}

host=$(hostname -s)
major=$(slurmctld -V | sed -n 's/^slurm[^0-9]*\([0-9]*\)\..*/\1/p')

# --- what the README says to put in slurm.conf, and its short policy
# The first line of each: the README shows other ways (a chained jobcomp)
# after the plain one.
plugins=$(awk '/^```/ { code = !code; next } code' "$readme" |
	grep -E '^(JobSubmitPlugins|JobCompType)=' | sed 's/[[:space:]]*#.*//' |
	awk -F= '!seen[$1]++')
policy=$(awk '/^### The policy/ { f = 1 } f && /^```json/ { c = 1; next } c && /^```/ { exit } c' "$readme")
[ "$(echo "$plugins" | wc -l)" = 2 ] && [ -n "$policy" ]
tap $? "the README gives the plugins' slurm.conf lines and a policy" || diag "$plugins"

# A new machine's state: nothing from an earlier run of this script.
rm -rf /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
mkdir -p /etc/slurm /var/log/slurm /var/spool/slurmctld /var/spool/slurmd /var/lib/aif-op/dev
[ -z "$state" ] || cp -a "$state" /var/spool/slurmctld/aifactory
chown -R slurm: /var/log/slurm /var/spool/slurmctld
for i in 0 1; do
	[ -e "/var/lib/aif-op/dev/nvidia$i" ] || mknod "/var/lib/aif-op/dev/nvidia$i" c 195 "$i"
done
cat >/etc/slurm/slurm.conf <<EOF
ClusterName=aifop
SlurmctldHost=$host
SlurmUser=slurm
SlurmctldPort=$(free_port 36817)
SlurmdPort=$(free_port 37018)
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
ReturnToService=2
$plugins
NodeName=$host CPUs=$(nproc) RealMemory=500 Gres=gpu:a100:2 State=UNKNOWN
PartitionName=a100 Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=h100 Nodes=$host MaxTime=INFINITE State=UP
EOF
echo "Name=gpu Type=a100 File=/var/lib/aif-op/dev/nvidia[0-1]" >/etc/slurm/gres.conf
# From 23.02 slurmd loads a cgroup plugin; a chroot has no cgroup of its own.
[ "$major" -lt 23 ] || echo "CgroupPlugin=disabled" >/etc/slurm/cgroup.conf
printf '%s\n' "$policy" >/etc/slurm/aifactory.json
chmod 644 /etc/slurm/*.conf /etc/slurm/aifactory.json

# The README's policy names the group aif-acme; one user in it.
getent group aif-acme >/dev/null || groupadd aif-acme
id aif-op >/dev/null 2>&1 || useradd -m -G aif-acme aif-op

out=$(aifctl check /etc/slurm/aifactory.json 2>&1)
tap $? "aifctl check accepts the README's policy" || diag "$out"

# --- the daemons, from their default places (no PluginDir in slurm.conf)
mkdir -p /run/munge && chown munge: /run/munge
[ -s /etc/munge/munge.key ] || { mungekey -c >/dev/null 2>&1 || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
chown munge: /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
runuser -u munge -- /usr/sbin/munged
tap $? "munged starts"
/usr/sbin/slurmctld
until_ok 30 scontrol ping
tap $? "slurmctld starts with the README's configuration" || logs
grep -q 'aifactory: policy .* loaded' /var/log/slurm/slurmctld.log
tap $? "and loads our plugins and the policy" || logs
if [ -n "$state" ]; then
	grep -q 'aifactory: journal /var/spool/slurmctld/aifactory: 1 runs charged' /var/log/slurm/slurmctld.log
	tap $? "it reads back the journal the earlier build wrote: its charge is kept" || logs
fi
/usr/sbin/slurmd
until_ok 30 sh -c 'sinfo -h -o %t | grep -qx idle'
tap $? "slurmd registers the node with its two GPUs" || logs

# --- an ordinary user's jobs
cd /tmp || exit 1
job=$(runuser -u aif-op -- sbatch --parsable -A acme-ai --gpus=1 -t 5 --wrap 'sleep 1' 2>&1)
[[ $job =~ ^[0-9]+$ ]]
tap $? "aif-op's GPU job in acme-ai is admitted" || { diag "$job"; logs; }
show=$(scontrol show job "$job" 2>&1)
[[ $show == *"AdminComment=aif:class=startup"*"project=acme-ai"* ]]
tap $? "and tagged with its class and project" || diag "$show"
[[ $show == *" Partition=a100 "* ]]
tap $? "and sent to the class's first partition" || diag "$show"
until_ok 60 sh -c "scontrol show job $job | grep -q JobState=COMPLETED"
tap $? "it completes" || { scontrol show job "$job" | diag; logs; }
until_ok 20 grep -qF "\"type\":\"charge\",\"run\":\"aifop:$job:" /var/spool/slurmctld/aifactory/journal
tap $? "its charge is in the journal" || logs
out=$(aifctl audit verify /var/spool/slurmctld/aifactory 2>&1)
tap $? "aifctl audit verify: $out"
if [ -n "$state" ]; then
	[ "$(grep -c '"type":"charge"' /var/spool/slurmctld/aifactory/journal)" = 2 ]
	tap $? "the journal holds the earlier build's charge and this one's, one chain"
fi
out=$(runuser -u aif-op -- sbatch -A acme-ai --gpus=9 -t 5 --wrap true 2>&1)
[[ $out == *"aifactory: project acme-ai (class startup) allows at most 8 GPUs per job and this job asks for 9"* ]]
tap $? "a job past the class is refused with our message" || diag "$out"

# --- the README's steps after a policy change: check it, reconfigure
sed -i 's/"gpu_hours": 1000,/"gpu_hours": 2000,/' /etc/slurm/aifactory.json
out=$(aifctl check /etc/slurm/aifactory.json 2>&1)
tap $? "the grant raised to 2000 GPU-hours: aifctl check accepts it" || diag "$out"
sha=$(grep -o 'sha256 [0-9a-f]*' <<<"$out")
out=$(scontrol reconfigure 2>&1)
tap $? "scontrol reconfigure" || diag "$out"
until_ok 30 grep -q "aifactory: policy /etc/slurm/aifactory.json loaded: .*, $sha\$" /var/log/slurm/slurmctld.log
tap $? "slurmctld loads it ($sha)" || logs
until_ok 30 scontrol ping
out=$(aifctl balance -A acme-ai 2>&1)
[[ $out == *"startup-2026"*" 2000.00 "* ]]
tap $? "aifctl balance shows the grant raised" || diag "$out"

# --- stop, by the pidfiles in this root (the host may run daemons of the
# same names)
gone() {
	local pid
	for f in "$@"; do
		pid=$(cat "$f" 2>/dev/null) || continue
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 1
	done
	return 0
}
scontrol shutdown >/dev/null 2>&1
until_ok 30 gone /run/slurmctld.pid /run/slurmd.pid
tap $? "slurmctld and slurmd stop"
kill "$(cat /run/munge/munged.pid 2>/dev/null)" 2>/dev/null
until_ok 10 gone /run/munge/munged.pid

echo "1..$n"
[ "$failed" = 0 ]
