#!/usr/bin/env bash
# aifctl check and explain: exit codes and what they print. No cluster:
# the fixture policy's only member is root.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

aifctl=${top_builddir:-.}/contrib/aifctl/aifctl
fixture=$top_srcdir/tests/fixtures/aifctl/aifactory.json
work=$(mktemp -d /tmp/aif-aifctl.XXXXXX)
trap 'rm -rf "$work"' EXIT
install -m 644 "$fixture" "$work/aifactory.json"
policy=$work/aifactory.json
# No slurmctld: explain, run as root, finds no journal from a fake
# 'scontrol show config' that fails as SLURM 22.05's does without one.
mkdir "$work/bin"
printf '#!/bin/sh\necho "slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)" >&2\nexit 1\n' \
	>"$work/bin/scontrol"
chmod 755 "$work/bin/scontrol"
export PATH=$work/bin:$PATH

run "$aifctl" --version
is "$AS_RC" 0 "--version exits 0"
like "$AS_OUT" "^aifctl \(slurm-aifactory\) [0-9]+\.[0-9]+\.[0-9]+; its plugins are built for SLURM [0-9]+\.[0-9]+\.[0-9]+$" \
	"and names the release and the SLURM it was built for"

run "$aifctl" check "$policy"
is "$AS_RC" 0 "check: a good policy exits 0"
like "$AS_OUT" "^$policy: OK: 1 classes, 1 projects, sha256 [0-9a-f]{64}$" \
	"check: says OK with counts and the hash"

# Root checks a policy as slurmctld, running as SlurmUser, reads it
# (issue 12: it named uid 0 and refused SlurmUser's file).
if [ "$(id -u)" = 0 ] && slurm_uid=$(id -u slurm 2>/dev/null); then
	mkdir "$work/conf"
	printf '#!/bin/sh\necho "SlurmUser               = slurm(%s)"\n' "$slurm_uid" \
		>"$work/conf/scontrol"
	chmod 755 "$work/conf/scontrol"
	install -m 640 -o slurm -g slurm "$fixture" "$work/slurm-owned.json"
	PATH=$work/conf:$PATH run "$aifctl" check "$work/slurm-owned.json"
	is "$AS_RC" 0 "check as root: a policy owned by SlurmUser is trusted, as slurmctld trusts it"
	install -m 644 -o nobody "$fixture" "$work/nobody.json"
	PATH=$work/conf:$PATH run "$aifctl" check "$work/nobody.json"
	is "$AS_RC" 1 "one owned by another user is refused"
	like "$AS_ERR" "owned by uid $(id -u nobody); a policy file must be owned by root or by the user slurmctld runs as \\(uid $slurm_uid\\)" \
		"naming SlurmUser's uid, not root's"
fi

# A user asks slurmctld for a balance; with slurmctld down they are told
# so, with scontrol's own words (issue 12).
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$work" "$work/bin"
	aifctl_copy "$work/ctl"
	setpriv_nobody() {
		_capture setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
			env -i PATH="$work/bin:/usr/bin:/bin" LD_LIBRARY_PATH="$work/ctl" "$@"
	}
	setpriv_nobody "$work/ctl/aifctl" balance --policy "$policy"
	is "$AS_RC" 2 "balance with slurmctld down: exit 2"
	is "$AS_ERR" "aifctl: cannot ask slurmctld for the balance: 'scontrol show config' failed: slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure) (is slurmctld running? root can read the journal with --journal DIR)" \
		"saying why, in scontrol's words"
	setpriv_nobody "$work/ctl/aifctl" priority --port 0
	is "$AS_RC" 2 "--port 0: refused"
	is "$AS_ERR" "aifctl: --port 0: not a port (1-65535)" "saying what a port is"
	setpriv_nobody "$work/ctl/aifctl" balance --port 70000
	is "$AS_ERR" "aifctl: --port 70000: not a port (1-65535)" "70000 is not one either"
fi

SLURM_CONF=$work/slurm.conf run "$aifctl" check
is "$AS_RC" 0 "check: default file is aifactory.json next to SLURM_CONF"

sed 's/"max_nodes_per_job": 1,/"max_nodes_per_job": 0,/; s/"qos": "startup"/"qos": "startup", "colour": "red"/' \
	"$fixture" >"$work/bad.json"
chmod 644 "$work/bad.json"
run "$aifctl" check "$work/bad.json"
is "$AS_RC" 1 "check: a broken policy exits 1"
is "$AS_ERR" "$work/bad.json:6: classes.startup.max_nodes_per_job: must be an integer from 1 to 4294967294, got 0
$work/bad.json:10: classes.startup.colour: unknown key
$work/bad.json: refused: 2 errors" "check: every error with file, line, key and reason"

run "$aifctl" explain --policy "$policy" -u root -A ops-lab -p h100 --qos=startup -t 1:00:00 --gres=gpu:h100:2
is "$AS_RC" 0 "explain: accept exits 0"
is "$(grep -v '^ledger:' <<<"$AS_OUT")" "user:      root (uid 0)
nodes:     1
gpus:      2 (h100 2, 2 per node)
decision:  accept (rule accept)
project:   ops-lab (class startup, mode playground, sector energy)
tag:       aif:class=startup,project=ops-lab,mode=playground,sector=energy,lien=g1:7200000,rate=h100:1000" \
	"explain: an accepted job, with the lien it would take"

run "$aifctl" explain --policy "$policy" -u root --gpus=h100:4
is "$AS_RC" 0 "explain: reshape exits 0"
is "$(grep -v '^ledger:' <<<"$AS_OUT")" "user:      root (uid 0)
nodes:     1
gpus:      4 (h100 4)
decision:  reshape (rule reshape)
project:   ops-lab (class startup, mode playground, sector energy)
set:       account=ops-lab
set:       partition=a100
set:       qos=startup
set:       time=04:00:00
tag:       aif:class=startup,project=ops-lab,mode=playground,sector=energy,lien=g1:57600000,rate=h100:1000" \
	"explain: a reshaped job shows what is set"

run "$aifctl" explain --policy "$policy" -u root -A ops-lab -N 2 --gpus-per-node=8
is "$AS_RC" 1 "explain: refuse exits 1"
is "$(grep -v '^ledger:' <<<"$AS_OUT")" "user:      root (uid 0)
nodes:     2
gpus:      16 (any type 16, 8 per node)
decision:  refuse (rule class.max_nodes_per_job)
project:   ops-lab (class startup, mode playground, sector energy)
message:
aifactory: project ops-lab (class startup) allows at most 1 node per job and this job asks for 2 (classes.startup.max_nodes_per_job). Use -N 1.
aifactory: project ops-lab (class startup) allows at most 8 GPUs per job and this job asks for 16 (classes.startup.max_gpus_per_job). Ask for 8 or fewer." \
	"explain: a refused job shows the message sbatch would print"

run "$aifctl" explain --policy "$policy" -u root --gres=gpu:h100:x
is "$AS_RC" 1 "explain: a malformed GPU request is refused"
like "$AS_OUT" 'bad GPU count in "gpu:h100:x"' "explain: and says which item"

run "$aifctl" explain --policy "$policy" -u root -A ops-lab -p h100 -t 1:00:00 --gres=gpu:h100:2
like "$AS_OUT" $'\nledger:    the policy\'s grants, nothing charged or reserved \\(no journal found from \'scontrol show config\'\\)\n' \
	"explain: says what it priced the lien against"

run "$aifctl" explain --policy "$policy" --frobnicate
is "$AS_RC" 2 "explain: an unknown option exits 2"
run "$aifctl" explain --policy "$policy" -u no-such-user-here
is "$AS_ERR" "aifctl: no such user: no-such-user-here" "explain: an unknown user"
done_testing
