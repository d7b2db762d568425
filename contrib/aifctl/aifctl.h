/*
 * aifctl: what its subcommands share (the usage, the policy's loading,
 * the journal's replay, the terminal's charset) and what it learns of
 * SLURM (slurm.c). Internal to the program: nothing here is installed.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIFCTL_H
#define AIFCTL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "aifactory.h"
#include "journal.h"
#include "ledger.h"

/* The long options' codes that no short option has (getopt_long). */
enum {
	OPT_POLICY = 256, OPT_GRES, OPT_GPUS, OPT_GPN, OPT_GPT, OPT_GPS,
	OPT_TPN, OPT_SPN, OPT_BY, OPT_MONTH, OPT_FROM, OPT_TO, OPT_FORMAT,
	OPT_CPG, OPT_MEM, OPT_MPC, OPT_MPG, OPT_BIND, OPT_PORT, OPT_JSON,
};

/* The subcommands: argv[0] is the subcommand's name; the exit code. */
int aifctl_check(int argc, char **argv);
int aifctl_explain(int argc, char **argv);
int aifctl_audit(int argc, char **argv);
int aifctl_balance(int argc, char **argv);
int aifctl_report(int argc, char **argv);
int aifctl_priority(int argc, char **argv);
int aifctl_topology(int argc, char **argv);

/* The usage on f: 0 on stdout (asked for), 2 on stderr (a usage error). */
int aifctl_usage(FILE *f);

/* shared.c */

/* The policy at path, its warnings and errors on stderr; with !quiet_ok
 * also "PATH: OK: ..." on stdout. NULL if refused (said why). */
struct aif_policy *aifctl_load_policy(const char *path, bool quiet_ok);

/* Replay the whole journal in dir through fn; -1 after saying why not.
 * balance and report read it alike, and only root and SlurmUser can. */
int aifctl_replay(const char *dir, aif_replay_fn fn, void *arg);

/* Whether the terminal shows UTF-8 (the locale's LC_CTYPE). */
bool aifctl_terminal_utf8(void);

/* "aifctl: " prefix, text from elsewhere (the server, the user's words)
 * made safe for the terminal, suffix, on stderr. */
void aifctl_error_text(const char *prefix, const char *text,
		       const char *suffix);

/*
 * Ask slurmctld (each SlurmctldHost in turn, from 'scontrol show config')
 * on port, else the policy's balance_port (AIF_BALANCE_PORT when the
 * policy at policy_path, default next to slurm.conf, cannot be read
 * here) with fn,
 * and print its answer made safe for the terminal. what names the query
 * in a message. 0 shown, 2 refused or unreachable (said why).
 */
typedef int (*aifctl_ask_fn)(const char *host, uint16_t port,
			     const char *munge_socket, uid_t server_uid,
			     FILE *out, char *why, size_t len, void *arg);
int aifctl_ask_slurmctld(const char *policy_path, uint16_t port,
			 const char *what, aifctl_ask_fn fn, void *arg);

/* --port N: a TCP port, 1-65535, into *port; -1 after saying why. */
int aifctl_port(const char *text, uint16_t *port);

/* slurm.c */

/* aifactory.json next to slurm.conf, as the plugins find it, in buf. */
const char *aifctl_default_policy(char *buf, size_t len);

#define CTLD_HOSTS_MAX 8

/* What aifctl needs of SLURM's configuration, as slurmctld runs it. */
struct aifctl_slurm {
	char state_save[PATH_MAX];	/* StateSaveLocation; "" not shown */
	bool state_save_long;		/* shown, but longer than PATH_MAX */
	char hosts[CTLD_HOSTS_MAX][256]; /* SlurmctldHost[i], primary first:
					  * the name, or the address given */
	size_t nhosts;
	char munge_socket[PATH_MAX];	/* AuthInfo's socket=; "" the default */
	uid_t slurm_uid;		/* SlurmUser's; (uid_t) -1 not shown */
	char enforce[256];		/* AccountingStorageEnforce */
	bool enforce_qos;		/* it has "qos": QOS access checked */
	char why[256];			/* why scontrol failed */
};

/* Run 'scontrol show config' once and fill cfg from it (keys it does not
 * show stay empty). 0, or -1 with cfg->why set: scontrol could not run,
 * or failed (slurmctld unreachable). */
int aifctl_slurm_config(struct aifctl_slurm *cfg);

/* <StateSaveLocation>/aifactory in buf, as 'scontrol show config' says,
 * and where that came from in from; or -1 after saying why not on stderr
 * (nothing when quiet). */
int aifctl_journal_dir(char *buf, size_t len, char *from, size_t fromlen,
		       bool quiet);

/* One association as slurmdbd keeps it (sacctmgr show assoc): account,
 * user ("" for the account's own) and its QOS list ("a,b"). */
struct aifctl_assoc {
	char account[AIF_NAME_MAX];
	char user[AIF_NAME_MAX];
	char qos[1024];
};

/* Every association (sacctmgr), into *rows (free it); -1 if sacctmgr
 * failed (no slurmdbd). */
int aifctl_associations(struct aifctl_assoc **rows, size_t *n);

/* The ledger's reserved amounts replaced by the liens of the queued jobs
 * (squeue); -1 if squeue failed. */
int aifctl_queued_liens(struct aif_ledger *ledger);

/* A job's state and AdminComment (squeue: any state): 0, or -1 for a job
 * id that is not digits (and '_'), or when squeue does not know it. */
int aifctl_job_tag(const char *jobid, char *state, size_t slen,
		   char *comment, size_t clen);
/* The SITE sprio shows for a pending job: 0, or -1 (not pending, no
 * sprio, not found). */
int aifctl_job_site(const char *jobid, long long *site);

/* For a class's "auto" shaping: the fewest CPUs and MB per GPU over the
 * nodes of each partition of list, as sinfo shows them; 0 when sinfo
 * cannot tell (no cluster). The library's partition_shape. */
void aifctl_partition_shape(const char *list, void *arg, uint32_t *cpus,
			    uint32_t *mem);
/* Whether some node of the partition has GPUs of this type, as sinfo
 * shows them: 1, 0, or -1 when sinfo cannot tell. */
int aifctl_partition_has_type(const char *partition, const char *type,
			      void *arg);

#endif

/* topology_print.c: aifctl topology show (a table, or --json) and gres
 * (the node's gres.conf lines; type NULL: each GPU's model). */
struct aif_topo;
void aifctl_topo_print_show(const struct aif_topo *topo, FILE *out);
void aifctl_topo_print_json(const struct aif_topo *topo, FILE *out);
void aifctl_topo_print_gres(const struct aif_topo *topo, const char *type,
			    int with_nics, FILE *out);
