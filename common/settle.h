/*
 * slurm-aifactory: settling a job's run, charge and audit record.
 *
 * What jobcomp/aifactory hands the library when a job ends, the charge
 * it makes in the ledger, and the journal record that proves it. Pure
 * except for the ledger's own lock: no I/O here (the service's writer
 * thread writes the records).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SETTLE_H
#define AIF_SETTLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "aifactory.h"
#include "journal.h"
#include "ledger.h"
#include "tag.h"

#define AIF_RUN_KEY_MAX 96	/* "cluster:jobid:start[:segment]" */

struct aif_job_gpus {
	char type[AIF_NAME_MAX];	/* "" when SLURM gave no type */
	uint64_t count;			/* allocated, the whole job */
};

/* A job's run as it ended, in library terms. Strings may be NULL. */
struct aif_job_end {
	uint32_t job_id;
	uid_t uid;
	const char *user;
	const char *account;
	const char *admin_comment;	/* carries our admission tag */
	const char *name;		/* from the user: escaped, bounded */
	const char *partition;
	const char *qos;
	const char *nodes;
	const char *state;		/* COMPLETED, FAILED, TIMEOUT... */
	time_t submit;
	time_t start;
	time_t end;
	uint32_t nnodes;
	uint32_t restart_cnt;
	bool final;			/* no rerun follows: release the lien */
	struct aif_job_gpus gpus[AIF_GPU_TYPES_MAX];
	unsigned ngpus;
	/* Where it ran: each node's GPU indexes ("a1:0-3;a2:0,3", as SLURM
	 * numbers them on the node) and the --aif-bind the job asked for
	 * ("" none: its class's default, else the node's) */
	char gpu_index[256];
	char bind[16];
};

/* "cluster:jobid:start": one run of one job (docs/slurm.md). */
void aif_run_key(const char *cluster, const struct aif_job_end *je,
		 char key[AIF_RUN_KEY_MAX]);

enum aif_settle_result {
	AIF_SETTLE_CHARGED = 0,	/* charged; record filled in */
	AIF_SETTLE_NOTHING,	/* never ran, no GPU, or not a project's */
	AIF_SETTLE_ERROR,	/* why says; nothing charged */
};

/* A job's end as read once: its run and what its tag says, passed down
 * to every step of its settlement. */
struct aif_run {
	char key[AIF_RUN_KEY_MAX];
	struct aif_job_tag tag;
};
void aif_run_read(const char *cluster, const struct aif_job_end *je,
		  struct aif_run *run);

/*
 * Charge a run to its project in the ledger and build its audit record:
 * who, what, GPUs by type, times, the charge per grant with balances
 * before and after, overdraw, the rule and the policy's hash. The project
 * is the one the tag names (else the job's account). The rate of each GPU
 * type is the one frozen in the job's lien, else the policy's billing
 * weight; a type with no weight is charged at 1.0 and flagged in the
 * record ("rate": "unknown"). charge is what the book counts once the
 * record is in the journal (aif_book_charge, book.h).
 */
enum aif_settle_result aif_settle_run(struct aif_ledger *ledger,
				      const struct aif_policy *p,
				      const struct aif_run *run,
				      const struct aif_job_end *je,
				      struct aif_record *rec,
				      struct aif_charge *charge,
				      char *why, size_t len);

/* The run keys already charged (run_keys.c): a replayed or repeated end
 * of a run is charged once. Each key keeps the run's end time. Grows as
 * needed; the set is not thread-safe. */
struct aif_run_keys;
struct aif_run_keys *aif_run_keys_new(void);
void aif_run_keys_free(struct aif_run_keys *keys);
bool aif_run_keys_has(const struct aif_run_keys *keys, const char *key);
int aif_run_keys_add(struct aif_run_keys *keys, const char *key, time_t end);
size_t aif_run_keys_count(const struct aif_run_keys *keys);
/* Add every key of src to dst. */
int aif_run_keys_merge(struct aif_run_keys *dst,
		       const struct aif_run_keys *src);

/*
 * Fill in the name of the user a record names by "uid" only ("user"
 * missing or ""): a member through a UNIX group whose job SLURM gave no
 * name (jobcomp and job_submit hold slurmctld's locks: no NSS there).
 * Looks the uid up in NSS, through a cache of an hour: call it on the
 * journal's writer thread, before append hashes the record. 0 with the
 * record named, or left as it was (no such user, a record the journal
 * refuses anyway); -1 when it could not hold the name (left as it was).
 */
int aif_record_name_user(struct aif_record *rec);

/* A charge record holds every grant it was drawn from: 0 when its parts
 * and overdraw add up to its amount (and for a record the book does not
 * count: another type, or no project or run), -1 with
 * why when they do not (`aifctl audit verify` reports it). A record
 * written without all its parts is replayed with what they lack counted
 * as the project's overdraw. */
int aif_settle_check(const struct aif_record *r, char *why, size_t len);

/*
 * The lien of an admitted job (d as aif_decide() left it, r the request).
 * A metered class's GPU job reserves what it could cost against its
 * project's grants and d->tag gains the split and the rates; when it
 * does not fit, the class's exhausted_action applies: d becomes a refusal
 * with the ledger's reason and the way out, or a reshape into the
 * fallback QOS with no lien. Other jobs are left as they are. Ledger lock
 * only: microseconds, no I/O. -1 on a ledger error (d is then a refusal).
 */
int aif_lien_admit(struct aif_ledger *ledger, const struct aif_policy *p,
		   const struct aif_request *r, struct aif_decision *d);

/* The same, reserving nothing: the lien is priced against the ledger as
 * it stands and d is what aif_lien_admit would have left (dry runs). */
int aif_lien_price(struct aif_ledger *ledger, const struct aif_policy *p,
		   const struct aif_request *r, struct aif_decision *d);

#endif /* AIF_SETTLE_H */
