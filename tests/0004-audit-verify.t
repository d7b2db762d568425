#!/usr/bin/env bash
# aifctl audit verify: a whole chain is OK; each way of tampering with a
# copy of it is named at its first bad record, with file and line, and
# exit 1; usage errors and a directory that cannot be read exit 2. No
# cluster: tests/journal_writer writes a real chain through the library.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
. "${top_srcdir:-.}/tests/cluster/lib.sh"

aifctl=${top_builddir:-.}/contrib/aifctl/aifctl
writer=${top_builddir:-.}/tests/journal_writer
work=$(mktemp -d /tmp/aif-audit.XXXXXX)
trap 'chmod -R u+rwX "$work" 2>/dev/null; rm -rf "$work"' EXIT
chmod 755 "$work"	# the unreadable cases run as nobody, who must get in

# 20 records, rotated every 8: journal.1-8, journal.9-16 (9 is the rotate
# record), journal (17 is the rotate record, 18..20 charges).
chain=$work/chain
ok "journal_writer writes 20 records with rotations" "$writer" "$chain" 20 8
ok "the chain has two rotated files" \
	test -f "$chain/journal.1-8" -a -f "$chain/journal.9-16" -a -f "$chain/journal"
last_hash=$(tail -n 1 "$chain/journal" | sed 's/.*"hash":"\([0-9a-f]*\)"}$/\1/')

run "$aifctl" audit verify "$chain"
is "$AS_RC" 0 "a whole chain exits 0"
is "$AS_OUT" "$chain: OK: 20 records, seq 1..20, last hash $last_hash" \
	"a whole chain: records, seqs and the last hash"
is "$AS_ERR" "" "a whole chain: nothing on stderr"

run "$aifctl" audit verify "$chain/"
is "$AS_OUT" "$chain: OK: 20 records, seq 1..20, last hash $last_hash" \
	"a trailing slash is not shown"

# The default directory: <StateSaveLocation>/aifactory as 'scontrol show
# config' gives it, from a fake scontrol first on PATH that prints what
# SLURM 22.05's does (the header, "Key" padded to column 23 then " = ", a
# plugin's section, the ping of slurmctld): the first StateSaveLocation
# counts, its trailing slash dropped.
mkdir -p "$work/state" "$work/scontrol-ok" "$work/scontrol-down"
cp -a "$chain" "$work/state/aifactory"
cat >"$work/scontrol-ok/scontrol" <<EOF
#!/bin/sh
cat <<'END'
Configuration data as of 2026-01-01T00:00:00
AuthInfo                = socket=/run/munge/munge.socket.2
ClusterName             = test
SlurmctldHost[0]        = localhost
SlurmUser               = slurm(64030)
StateSaveLocation       = $work/state/
SuspendExcNodes         = (null)

MPI Plugins Configuration:
StateSaveLocation       = /a/later/section

Slurmctld(primary) at localhost is UP
END
EOF
# slurmctld down: what scontrol 22.05 prints then (slurm_perror), exit 1.
cat >"$work/scontrol-down/scontrol" <<'EOF'
#!/bin/sh
echo "slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)" >&2
exit 1
EOF
chmod 755 "$work/scontrol-ok/scontrol" "$work/scontrol-down/scontrol"
PATH=$work/scontrol-ok:$PATH run "$aifctl" audit verify
is "$AS_RC" 0 "default directory: exits 0"
is "$AS_OUT" "$work/state/aifactory: OK: 20 records, seq 1..20, last hash $last_hash" \
	"default directory: aifactory under StateSaveLocation in 'scontrol show config'"

PATH=$work/scontrol-down:$PATH run "$aifctl" audit verify
is "$AS_RC" 2 "default directory: a failing 'scontrol show config' exits 2"
is "$AS_ERR" "aifctl: 'scontrol show config': cannot read StateSaveLocation: slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)
  give the journal directory: aifctl audit verify DIR" \
	"default directory: says why and what to do"

# copy NAME: a fresh copy of the chain in $work/NAME, its path in $d.
copy() {
	d=$work/$1
	cp -a "$chain" "$d"
}

# One digit of record 7 (journal.1-8, line 7): job 1007 becomes 1008.
copy edit
sed -i '7s/"job":1007,/"job":1008,/' "$d/journal.1-8"
run "$aifctl" audit verify "$d"
is "$AS_RC" 1 "edited: exits 1"
like "$AS_OUT" "^$d/journal\.1-8:7: record 7: hash mismatch: the record was edited after it was written \(its bytes give [0-9a-f]{12}\.\.\., it says [0-9a-f]{12}\.\.\.\)
  edited: this record was changed after it was written; what it says cannot be trusted$" \
	"edited: names record 7, its file and line, and says edited"

# Record 12's line (journal.9-16, line 4) deleted: line 4 now holds 13.
copy delete
sed -i '4d' "$d/journal.9-16"
run "$aifctl" audit verify "$d"
is "$AS_RC" 1 "deleted: exits 1"
is "$AS_OUT" "$d/journal.9-16:4: record 13: seq 12 was expected: record 12 is missing (deleted)
  deleted: records that were written are no longer in the journal (lines, or a whole rotated file, removed)" \
	"deleted: names the first bad record and says deleted"

# Records 4 and 5 (journal.1-8, lines 4 and 5) swapped.
copy swap
sed -i '4{h;d};5G' "$d/journal.1-8"
run "$aifctl" audit verify "$d"
is "$AS_RC" 1 "reordered: exits 1"
is "$AS_OUT" "$d/journal.1-8:4: record 5: seq 4 was expected here, and is at line 5: records are out of order
  reordered: records were moved; the one due here comes later" \
	"reordered: names record 5 where 4 was due, and says reordered"

# Record 3 copied in again after record 5.
copy insert
sed -i '3h;5G' "$d/journal.1-8"
run "$aifctl" audit verify "$d"
is "$AS_RC" 1 "inserted: exits 1"
is "$AS_OUT" "$d/journal.1-8:6: record 3: seq 6 was expected: records are out of order (moved, copied or inserted)
  inserted: a record that belongs earlier in the chain is here too (copied, moved back or added)" \
	"inserted: names the copy and says inserted"

# A whole rotated file removed.
copy rotated
rm -f "$d/journal.9-16"
run "$aifctl" audit verify "$d"
is "$AS_RC" 1 "rotated file deleted: exits 1"
is "$AS_OUT" "$d/journal:1: record 17: seq 9 was expected: records 9 to 16 are missing (this file's rotate record names journal.9-16, which is not here)
  deleted: records that were written are no longer in the journal (lines, or a whole rotated file, removed)" \
	"rotated file deleted: names the file that is not there"

# The last line cut short: its last 20 bytes (the newline among them).
copy torn
size=$(tail -n 1 "$d/journal" | wc -c)
head -c -20 "$chain/journal" >"$d/journal"
run "$aifctl" audit verify "$d"
is "$AS_RC" 1 "truncated: exits 1"
is "$AS_OUT" "$d/journal:4: record 20: the last line has no newline ($((size - 20)) bytes): the file was cut short, or a write was interrupted by a crash
  truncated: the journal was cut short inside its last record (the file was truncated, or a write was cut by a crash)" \
	"truncated: names the torn last line and says truncated"

# A line that is not a record at all.
copy garbled
sed -i '2s/^{"seq":2,/{"seq":2,,/' "$d/journal.1-8"
run "$aifctl" audit verify "$d"
is "$AS_RC" 1 "unreadable line: exits 1"
like "$AS_OUT" "^$d/journal\.1-8:2: record 2: not a journal record: .*
  unreadable: this line is not a record as slurmctld writes it \(garbled, or edited by hand\)$" \
	"unreadable line: names it and says unreadable"

# Usage.
run "$aifctl" audit verify "$chain" "$chain"
is "$AS_RC" 2 "usage: two directories exit 2"
like "$AS_ERR" "^usage: aifctl --version" "usage: prints the usage"
run "$aifctl" audit verify --frobnicate
is "$AS_RC" 2 "usage: an unknown option exits 2"
run "$aifctl" audit
is "$AS_RC" 2 "usage: audit without a command exits 2"
run "$aifctl" audit frobnicate
is "$AS_RC" 2 "usage: an unknown audit command exits 2"
run "$aifctl" audit verify --help
is "$AS_RC" 0 "usage: --help exits 0"
like "$AS_OUT" "aifctl audit verify \[DIR\]" "usage: --help shows audit verify"

# Directories that cannot be read.
run "$aifctl" audit verify "$work/no-such-dir"
is "$AS_RC" 2 "a missing directory exits 2"
is "$AS_ERR" "aifctl: $work/no-such-dir: cannot open directory: No such file or directory
  give the journal directory (aifactory under StateSaveLocation)" \
	"a missing directory: says so"

mkdir "$work/empty"
run "$aifctl" audit verify "$work/empty"
is "$AS_RC" 2 "a directory with no journal exits 2"
is "$AS_ERR" "aifctl: $work/empty: no journal here
  no journal or journal.FIRST-LAST file here: give the aifactory directory under StateSaveLocation" \
	"a directory with no journal: says so"

# As an ordinary user: the journal is SlurmUser's and mode 0600.
copy locked
chmod 000 "$d"
if [ "$(id -u)" = 0 ]; then
	# nobody may not reach the build tree (a checkout under /root is
	# 0700): give it a copy of the program and its library.
	aifctl_copy "$work/bin"
	as_nobody() {
		run setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
			env LD_LIBRARY_PATH="$work/bin" "$work/bin/aifctl" "$@"
	}
	owner=""
else
	as_nobody() { run "$aifctl" "$@"; }
	owner=" or as $(id -un)"
fi
as_nobody audit verify "$d"
is "$AS_RC" 2 "an unreadable directory exits 2"
is "$AS_ERR" "aifctl: $d: cannot open directory: Permission denied
  the journal is SlurmUser's and mode 0600: run as root$owner (the owner of $d, mode 0000)" \
	"an unreadable directory: says why and who may read it"

copy file-locked
chmod 755 "$d"
chmod 644 "$d"/journal*
chmod 000 "$d/journal.9-16"
as_nobody audit verify "$d"
is "$AS_RC" 2 "an unreadable journal file exits 2"
is "$AS_ERR" "aifctl: $d/journal.9-16: cannot open: Permission denied
  the journal is SlurmUser's and mode 0600: run as root$owner (the owner of $d/journal.9-16, mode 0000)" \
	"an unreadable journal file: names it"
# aifctl audit archive (issue 8, point 9): the rotated files a snapshot
# covers move to an archive; both verify, and the chain runs across them.
arch=$work/arch
AIF_WRITER_SNAPSHOT=1 "$writer" "$arch" 30 8 >/dev/null
last_hash=$(tail -n 1 "$arch/journal" | sed 's/.*"hash":"\([0-9a-f]*\)"}$/\1/')
run "$aifctl" audit archive "$arch"
is "$AS_RC" 2 "archive: without --to exits 2"
run "$aifctl" audit archive "$arch" --to "$work/archive"
is "$AS_RC" 0 "archive: exits 0" || diag "$AS_ERR"
is "$AS_OUT" "$arch: 2 files archived to $work/archive; 14 records, seq 17 to 30: the chain is whole; seq 1 to 16 are archived (up to journal.9-16)" \
	"archive: says what moved and what is left"
ok "archive: the files are in the archive, not in the state directory" \
	test -f "$work/archive/journal.1-8" -a ! -e "$arch/journal.1-8" -a -f "$arch/journal.17-24"
run "$aifctl" audit verify "$arch"
is "$AS_RC" 0 "archive: the state directory still verifies"
is "$AS_OUT" "$arch: OK: 14 records, seq 17..30, last hash $last_hash; seq 1..16 archived (up to journal.9-16: verify the archive with aifctl audit verify ARCHIVE)" \
	"archive: verify says where the chain starts"
run "$aifctl" audit verify "$work/archive"
is "$AS_RC" 0 "archive: the archive verifies on its own"
like "$AS_OUT" "OK: 16 records, seq 1..16" "archive: seq 1 to 16 (the newest rotated file stays)"
run "$aifctl" audit archive "$arch" --to "$work/archive"
is "$AS_OUT" "$arch: nothing to archive (only rotated files wholly before the snapshot are, never the newest)" \
	"archive: again, nothing to do"
done_testing
