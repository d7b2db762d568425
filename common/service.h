/*
 * slurm-aifactory: the state slurmctld's plugins share.
 *
 * job_submit/aifactory takes liens and jobcomp/aifactory charges, in one
 * slurmctld, against one policy and one ledger: this service holds them.
 * It lives in libaifactory.so, which every plugin loads, so there is one
 * instance per process. Each plugin calls aif_service_start() from its
 * init and aif_service_stop() from its fini; the first start loads the
 * policy and starts the service's thread (named "aif_service" in
 * top -H), the last stop ends them.
 *
 * The same thread writes the journal, and a snapshot of the ledger every
 * snapshot_every records, at a checkpoint and at the last stop; a start
 * loads the snapshot and replays only the journal after it. A journal
 * that cannot be opened, replayed or written is tried again every
 * retry_seconds and on every reload; until the ledger is rebuilt from
 * it, budgets are closed (aif_ledger_close_budgets): docs/ledger.md.
 *
 * A policy with a balance_port also starts the members' balance queries
 * (query.h) on a thread of their own; a reload moves or ends them.
 *
 * The thread reloads the policy, off slurmctld's locks, whenever the
 * configuration stamp it was given changes (slurmctld bumps
 * slurm_conf.last_update on every reconfigure); a policy that fails to
 * load is logged with file, line and reason and the last good one stays.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SERVICE_H
#define AIF_SERVICE_H

#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "aifactory.h"
#include "ledger.h"
#include "settle.h"

/*
 * What the service needs from its host. Every pointer here must stay
 * valid for the life of the process, whichever plugin is unloaded first:
 * pass slurmctld's own log functions and the address of its own
 * configuration stamp, never a function or variable of a plugin.
 */
#define AIF_JOURNAL_ROTATE_BYTES (64ULL << 20)
#define AIF_SNAPSHOT_EVERY 10000	/* journal records between snapshots */
#define AIF_JOURNAL_RETRY_SECONDS 10	/* a shut journal is tried again */
#define AIF_REFUSAL_WINDOW 60	/* seconds: repeated refusals, one record */
#define AIF_HANDOVER_SECONDS 30	/* replacing: how long the journal is */
#define AIF_HANDOVER_POLL_MS 50	/* polled while the old process ends */

struct aif_service_hooks {
	const char *policy_path;	/* copied */
	const char *journal_dir;	/* copied; NULL: no journal (tests) */
	const char *cluster;		/* copied; part of every run key */
	uint64_t rotate_bytes;		/* start a new journal file past this
					 * size; 0: AIF_JOURNAL_ROTATE_BYTES */
	uint64_t snapshot_every;	/* records between two snapshots of
					 * the ledger; 0: AIF_SNAPSHOT_EVERY */
	unsigned retry_seconds;		/* how often a journal that cannot be
					 * opened or written is tried again;
					 * 0: AIF_JOURNAL_RETRY_SECONDS */
	unsigned refusal_window;	/* seconds over which one user's
					 * refusals by one rule make one
					 * record; 0: AIF_REFUSAL_WINDOW */
	size_t queue_max;		/* records held while the journal is
					 * shut; 0: the service's default */
	uid_t slurm_user;		/* sees every balance, as root does */
	const char *munge_socket;	/* copied; NULL: munged's default */
	const time_t *conf_stamp;	/* changes on every reconfigure */
	bool replacing;			/* this process replaces a running one
					 * that holds the journal until this
					 * one has started (SLURM 24.05's
					 * reconfigure): the journal is tried
					 * every AIF_HANDOVER_POLL_MS for the
					 * first AIF_HANDOVER_SECONDS, and a
					 * refused policy is said to leave the
					 * running one's in force */
	void (*info)(const char *fmt, ...);
	int (*error)(const char *fmt, ...);	/* SLURM's error() returns int */
};

/*
 * Take a reference on the service, starting it on the first one: load the
 * policy (synchronously, so the first job already sees it), build the
 * ledger, start the service's thread. Later calls only count (their
 * hooks are ignored). Returns 0, or -1 if the service could not start at
 * all (out of memory); a policy that does not load is not a failure: the
 * service then runs without one and says so.
 */
int aif_service_start(const struct aif_service_hooks *hooks);

/* Drop a reference; the last one stops the thread and frees it all. */
void aif_service_stop(void);

/*
 * The GPUs of each class's running jobs, as a plugin counted them in
 * slurmctld's job list (names: n class names; gpus: their counts), for
 * the metrics file. Copies; at most AIF_METRICS_CLASSES_MAX classes.
 */
#define AIF_METRICS_CLASSES_MAX 64
void aif_service_running_gpus(const char (*classes)[AIF_NAME_MAX],
			      const uint64_t *gpus, size_t n);

/* The policy in force with a reference (aif_policy_unref() it), or NULL
 * when none ever loaded. Never blocks on a load in progress. */
struct aif_policy *aif_service_policy(void);

/* The ledger, synchronised with the policy in force; NULL when the
 * service is not started. Valid until the caller's aif_service_stop(). */
struct aif_ledger *aif_service_ledger(void);

/* Load the policy now and wait for the result: what a reconfigure does,
 * for a host with no configuration stamp to move (the unit tests; a
 * tool that runs the service itself). 0 if a good policy is in force
 * afterwards. Does I/O: never under slurmctld's locks. */
int aif_service_reload(void);

/*
 * A job's run has ended: charge it once (a repeated end of the same run,
 * after a crash or a requeue of a finished job, is ignored) and queue its
 * audit record, and any threshold crossed, for the journal. No I/O: the
 * service's thread writes and syncs the journal, and keeps a record it
 * could not write until it can (a repeat meanwhile is a repeat). While
 * the ledger is not rebuilt from its journal, the end is kept (copied,
 * bounded) and charged once it is: 0 with why saying so. Returns 0 when
 * charged or nothing was due, 1 for a repeat, -1 with why on an error
 * (the run is then not charged: the journal's queue is full, out of
 * memory, no policy).
 */
int aif_service_job_end(const struct aif_job_end *je, char *why, size_t len);

/*
 * Queue the audit record of an admission decision (accept, reshape,
 * refuse, fallback): who, project and class, what was asked, the rule,
 * the message of a refusal, the lien, the policy's hash, and the account
 * when it names a project. A user's refusals by one rule within
 * refusal_window make one whole record and one that counts the others.
 * No I/O.
 */
void aif_service_decision(const struct aif_request *r,
			  const struct aif_decision *d,
			  const struct aif_policy *p);

/*
 * The balance statement uid (primary group gid) may see: project's, or
 * with project NULL every project it is a member of (root, SlurmUser and
 * the policy's operators: every project), as aifctl balance prints it,
 * reserved amounts included. 0, or -1 with why (no policy, no such
 * project, not a member). Takes the ledger's lock; no I/O but to out.
 * When the policy names a balance_port, the service answers it with
 * this (query.h). json: the statement as JSON (balance.h).
 */
int aif_service_statement(uid_t uid, gid_t gid, const char *project,
			  bool json, FILE *out, char *why, size_t len);

/*
 * site_factor/aifactory's last ranking (priority.h), from which the
 * service answers aifctl priority on the balance port: the service takes
 * a reference (and drops the one it held). NULL drops it.
 */
struct aif_ranking;
void aif_service_publish_ranking(struct aif_ranking *r);

/* Wait until every record queued so far is on disk (tests, shutdown);
 * while the journal is shut, until one more try to open it is over. */
void aif_service_flush(void);

/* Write every record queued so far, then a snapshot of the ledger if any
 * record came since the last, and wait for both: slurmctld is stopping
 * (only jobcomp's fini runs then, so the last stop never comes). */
void aif_service_checkpoint(void);

#endif /* AIF_SERVICE_H */
