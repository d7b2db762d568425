/*
 * slurm-aifactory: a job's events as slurmctld's plugins hand them over,
 * one library call each.
 *
 * job_submit/aifactory translates a submission into aif_job_submit() and
 * an update into aif_job_modify(); jobcomp/aifactory a run's end into
 * aif_service_job_end() (service.h) and the jobs slurmctld holds into
 * aif_job_liens_rebuild(). Each takes the policy in force from the
 * service and gives it back: the adapter only translates SLURM's structs
 * and writes the answer back. No I/O; the ledger's lock only, for
 * microseconds: callable under slurmctld's locks.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_EVENTS_H
#define AIF_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "aifactory.h"

/*
 * A submission: r as submitted (r->gpus empty), spec its GPU request.
 * Admits it (aif_admit: the lien is taken) and queues its decision
 * record; with no policy loaded, refuses by rule "policy.none". Always
 * fills in d (d->project and d->klass NULL: the policy is given back)
 * and returns its verdict.
 */
enum aif_verdict aif_job_submit(struct aif_request *r,
				const struct aif_gpu_spec *spec,
				struct aif_decision *d);

/* An update of a job (scontrol update), and the job as it stands. */
struct aif_update {
	uid_t by;			/* who asks */
	bool by_operator;		/* SLURM's operator (root, SlurmUser,
					 * AdminLevel>=Operator) */
	bool by_admin;			/* SLURM's administrator: may set
					 * AdminComment, which holds the tag */
	/* The change; NULL / 0 where the update leaves a field alone. */
	const char *account;
	const char *partition;
	const char *qos;
	uint32_t time_limit;		/* minutes; AIF_UNLIMITED */
	bool gpus_change;		/* any field of the GPU request */
	bool nodes_change;
	struct aif_gpu_spec spec;	/* the GPU request as it would be */
	bool cpus_change;		/* --cpus-per-gpu, NumCPUs, -c */
	uint32_t cpus_per_gpu;		/* as the job would be: 0 none */
	uint32_t cpus_per_task;
	uint64_t cpus;
	void (*partition_shape)(const char *partition, void *arg,
				uint32_t *cpus_per_gpu, uint32_t *mem_per_gpu);
	bool has_association;		/* SLURM has an association of the
					 * job's user with account (else it
					 * keeps the old one); read only for
					 * an administrator's move of a
					 * pending job */
	/* The job now. */
	uid_t uid;
	bool exempt;			/* never judged: root's and SlurmUser's
					 * jobs (the adapter knows SlurmUser) */
	const char *user_name;		/* SLURM's; NULL: unknown */
	const char *job_account;
	const char *job_partition;
	const char *job_qos;
	const char *job_tag;		/* its AdminComment */
	uint32_t job_time_limit;	/* minutes; AIF_UNLIMITED */
	struct aif_gpu_spec job_spec;	/* its GPU request */
	bool pending;
	time_t now;
};

/*
 * Judge an update. A user may change a job within its class
 * (aif_decide_modify); an operator may do anything, and an administrator
 * may move a pending job to another project when its lien fits there
 * (aif_admit_move): d->tag is then the job's new tag, d->account the
 * project, and the old lien is released. Refusals: d->rule and
 * d->message (for the log; "" when there is nothing to say, as for rule
 * "move.not_pending"). An accepted update may still carry a message for
 * the operator's log (a lien that could not be released). With no policy
 * loaded, users' changes are refused ("policy.none") and operators'
 * pass. Returns d->verdict.
 */
enum aif_verdict aif_job_modify(const struct aif_update *u,
				struct aif_decision *d);

/*
 * Liens are derived from the jobs slurmctld holds: make every grant's
 * reserved amount the sum of the liens in these admission tags (the
 * AdminComment of every pending and running job). *unreadable: tags of
 * ours whose lien cannot be read (their reservations are not counted).
 * 0, or -1 with errno.
 */
int aif_job_liens_rebuild(const char *const *comments, size_t n,
			  size_t *unreadable);

#endif /* AIF_EVENTS_H */
