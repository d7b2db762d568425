/*
 * slurm-aifactory policy library: the public interface.
 *
 * Plain C over plain structs. Nothing here includes a SLURM header: the
 * plugins translate SLURM's structs into these and back. Every exported
 * name starts with aif_ because SLURM's daemons export all of their own
 * symbols and an unprefixed helper could collide with one of them.
 *
 * Thread safety: a loaded struct aif_policy is immutable. Any number of
 * threads may read it and call aif_decide() on it at once without locking;
 * aif_policy_ref()/aif_policy_unref() keep it alive while they do.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIFACTORY_H
#define AIFACTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define AIF_POLICY_VERSION 1	/* the only schema version this build reads */

#define AIF_NAME_MAX 64		/* project, class, partition, QOS, GPU type, user */
#define AIF_GPU_TYPES_MAX 8	/* distinct GPU types in one request */
#define AIF_ERR_MAX 512		/* one error message */
#define AIF_MSG_MAX 1024	/* one message to a user */
#define AIF_UNLIMITED UINT32_MAX	/* a limit the policy does not set */
/* An admission tag with its lien: holds the longest there is (names of
 * AIF_NAME_MAX, 32 parts, 8 rates; checked in tag.c), so a tag is never
 * cut; writing one that would not fit fails instead. */
#define AIF_TAG_MAX 4096

/* ------------------------------------------------------------------ */
/* Small parsers shared by the loader, the plugins and aifctl.          */

/*
 * Parse a SLURM time limit as sbatch -t takes it: "MM", "MM:SS",
 * "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS", or "UNLIMITED"/"INFINITE".
 * Seconds round up to whole minutes; "0" is 0 minutes. Fields after the
 * first are range-checked (hours 0-23 after "D-", minutes and seconds
 * 0-59). Stores minutes (UINT32_MAX for unlimited) and returns 0, or
 * returns -1 for anything malformed, signed ("-1") or beyond 365 days.
 */
int aif_parse_minutes(const char *s, uint32_t *minutes);

/* Write minutes as "D-HH:MM:SS" (or "HH:MM:SS" under a day, "UNLIMITED"
 * for UINT32_MAX) into buf; AIF_TIME_MAX bytes always suffice. */
#define AIF_TIME_MAX 32
void aif_format_minutes(uint32_t minutes, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* The GPU request normaliser: the only place GPU request strings are   */
/* parsed.                                                              */

struct aif_gpu_count {
	char type[AIF_NAME_MAX];	/* "" when the request names no type */
	uint64_t per_node;		/* GPUs of this type on each node */
	uint64_t total;			/* GPUs of this type in the whole job */
};

struct aif_gpus {
	unsigned ntypes;
	struct aif_gpu_count by_type[AIF_GPU_TYPES_MAX];
	uint64_t per_node;		/* sum over types */
	uint64_t total;			/* sum over types */
};

/*
 * What a job asked for, as SLURM hands it to a plugin. Each tres_per_*
 * string may be NULL or a comma-separated list whose items take any of
 * the forms SLURM uses across releases:
 *   "gres:gpu:2"  "gres:gpu:h100:2"  "gres/gpu:2"  "gres/gpu:h100:2"
 *   "gres/gpu=2"  "gres/gpu:h100=2"  "gpu:2"  "gpu:h100:2"  "gpu"
 * Items for other resources ("gres:shard:4", "license/x=1") are skipped.
 * Counts are decimal, optionally with a k, m or g suffix (x1024), and at
 * most 2^32-1 after scaling; a bare "gpu" counts one.
 * Zero or unknown node/task/socket counts are taken as 1 (the least the
 * job can get); ntasks_per_node 0 means ntasks spread over nodes. A per
 * job count with an unknown node count (nodes 0) fixes no count per node:
 * it adds to total, not to per_node, since SLURM may spread it.
 */
struct aif_gpu_spec {
	const char *tres_per_job;	/* --gpus */
	const char *tres_per_node;	/* --gres, --gpus-per-node */
	const char *tres_per_task;	/* --gpus-per-task */
	const char *tres_per_socket;	/* --gpus-per-socket */
	uint32_t nodes;			/* minimum node count */
	uint32_t ntasks;
	uint32_t ntasks_per_node;
	uint32_t sockets_per_node;
	uint32_t ntasks_per_gpu;	/* --ntasks-per-gpu: with no GPU item,
					 * SLURM gives ntasks / this GPUs */
};

/*
 * Turn a spec into GPUs per type per node and in total. Where several
 * fields name the same type, the largest total wins (SLURM gives the job
 * at least each of them). Per job counts are spread evenly over the
 * nodes, rounding up. A count of 0 ("gpu:0") adds no GPU. Returns 0, or
 * -1 with a one-line reason in err (which names the offending item) for
 * a malformed string, an overflowing count, or more than
 * AIF_GPU_TYPES_MAX types.
 */
int aif_gpus_normalise(const struct aif_gpu_spec *spec, struct aif_gpus *out,
		       char *err, size_t errlen);

/*
 * The GPU indexes of one node's GRES detail, as SLURM keeps it per node
 * of a job ("gpu:a100:2(IDX:0,3)", one item per type, beside other GRES:
 * "nic(CNT:1),gpu:2(IDX:0-1)"), appended to buf at used: items split at
 * commas outside parentheses, only items named exactly "gpu", only
 * digits, commas and dashes kept, never past size. Returns the new used
 * (< size; buf stays terminated).
 */
size_t aif_gpu_index_append(const char *detail, char *buf, size_t size,
			    size_t used);

/* ------------------------------------------------------------------ */
/* The policy                                                           */

enum aif_exhausted_action { AIF_EXHAUSTED_REFUSE = 0, AIF_EXHAUSTED_FALLBACK };

struct aif_class {
	char name[AIF_NAME_MAX];
	char *description;		/* may be NULL */
	uint32_t max_gpus_per_job;	/* AIF_UNLIMITED: no limit */
	uint32_t max_gpus_per_node;	/* AIF_UNLIMITED: no limit */
	uint32_t max_nodes_per_job;	/* AIF_UNLIMITED: no limit */
	uint32_t max_time;		/* minutes; AIF_UNLIMITED: no limit */
	uint32_t default_time;		/* minutes; AIF_UNLIMITED: none */
	char **partitions;		/* allowed; npartitions 0: any */
	size_t npartitions;
	char default_partition[AIF_NAME_MAX];	/* "" : partitions[0] or none */
	char **gpu_types;		/* allowed; ngpu_types 0: any */
	size_t ngpu_types;
	char qos[AIF_NAME_MAX];		/* applied when the job names none */
	char **allowed_qos;		/* a job may name these; always has qos */
	size_t nallowed_qos;
	bool require_gpus;		/* refuse jobs that ask for no GPU */
	bool metered;			/* jobs need a grant to stand on */
	/* Filled in by later issues; parsed and checked now. */
	enum aif_exhausted_action exhausted_action;
	char fallback_qos[AIF_NAME_MAX];
	double *thresholds;		/* fractions of a grant, ascending */
	size_t nthresholds;
	/* Priority (site_factor/aifactory, docs/priority.md): fractions of
	 * the GPUs of the class's partitions. */
	double share;			/* target share, 0..1 */
	double borrow_limit;		/* how far above share it may run;
					 * < 0: no limit */
	double lend_limit;		/* how much of share others may use
					 * while it is idle; 0..share */
	bool pacing;			/* its projects' grants are paced */
	/* Shaping at submit (docs/placement.md): 0 not set; AIF_SHAPE_AUTO
	 * from the nodes of the job's partition (their CPUs, or memory, over
	 * their GPUs). */
	uint32_t cpus_per_gpu;		/* a job's default --cpus-per-gpu */
	uint32_t max_cpus_per_gpu;	/* more per GPU is refused */
	uint32_t mem_per_gpu;		/* MB: a job's default --mem-per-gpu */
	char bind[8];			/* default --aif-bind; "" not set */
};

#define AIF_SHAPE_AUTO UINT32_MAX
#define AIF_SHAPE_CPUS_MAX 4096		/* CPUs per GPU the policy may name */
#define AIF_SHAPE_MEM_MAX (64u << 20)	/* MB per GPU: 64 TB */

struct aif_grant {
	char name[AIF_NAME_MAX];
	double gpu_hours;
	time_t valid_from;		/* first second */
	time_t valid_until;		/* last second */
	char mode[AIF_NAME_MAX];	/* "" : the project's */
	char gpu_type[AIF_NAME_MAX];	/* "" : any */
};

struct aif_project {
	char name[AIF_NAME_MAX];	/* the SLURM account, lowercase */
	const struct aif_class *klass;
	char mode[AIF_NAME_MAX];	/* access mode: playground, fast-lane... */
	char sector[AIF_NAME_MAX];
	time_t valid_from;		/* 0: always */
	time_t valid_until;		/* 0: never expires */
	char **users;			/* names, as written */
	size_t nusers;
	char **groups;			/* names, as written */
	size_t ngroups;
	uid_t *uids;			/* resolved members, sorted */
	size_t nuids;
	gid_t *gids;			/* resolved groups, sorted */
	size_t ngids;
	struct aif_grant *grants;
	size_t ngrants;
	char *source;			/* file it came from */
	int line;			/* line of its definition */
	signed char pacing;		/* 1 on, 0 off, -1 the class's */
};

struct aif_gpu_weight {
	char type[AIF_NAME_MAX];
	double weight;			/* GPU-hours charged per GPU-hour */
};

struct aif_policy;	/* opaque: an immutable, reference-counted snapshot */

/*
 * Resolves user and group names to ids at load time, so that admission
 * never calls NSS under slurmctld's locks. The default (NULL) uses
 * getpwnam_r, getgrnam_r and the group's member list.
 * Each returns 0 and fills in, or -1: with errno 0 or ENOENT the name is
 * unknown (a warning), with ENOMEM the load fails for memory, with any
 * other errno (a directory server down) the load fails, so that a reload
 * during an outage never strips every member from every project.
 * group stores a malloc'ed array of member uids (the loader frees it).
 */
struct aif_resolver {
	int (*user)(const char *name, uid_t *uid, void *arg);
	int (*group)(const char *name, gid_t *gid, uid_t **members,
		     size_t *nmembers, void *arg);
	void *arg;
};

/* One problem found while loading: file, line (0 if none), key path. */
struct aif_load_error {
	char file[256];
	int line;
	char path[256];		/* e.g. "classes.startup.max_gpus_per_job" */
	char reason[AIF_ERR_MAX];
};

struct aif_load_report {
	struct aif_load_error *errors;	/* nerrors entries */
	size_t nerrors;
	struct aif_load_error *warnings; /* e.g. a member who does not exist */
	size_t nwarnings;
};

/*
 * Load the policy in path, plus every "<project>.json" file in its
 * project_dir (if the policy names one). On success returns a snapshot
 * with one reference; on failure returns NULL and report holds every
 * error found (not just the first). report may be NULL; otherwise free
 * it with aif_load_report_free(). resolver may be NULL (NSS).
 * NULL with an empty report means even the first allocation failed.
 * Does I/O: never call it under slurmctld's locks.
 */
/*
 * Read files as slurmctld, running as uid, would trust them: files and
 * directories owned by root or by uid. For aifctl run as root, where uid
 * is SlurmUser; by default the process's own euid. Call before loading.
 */
void aif_policy_trust_uid(uid_t uid);

struct aif_policy *aif_policy_load(const char *path,
				   const struct aif_resolver *resolver,
				   struct aif_load_report *report);

/*
 * Whether the files p was loaded from are, as stat tells, those it read:
 * the main file, its project_dir and each file in it have the same
 * device, inode, size, mtime and ctime, and no project file came or went.
 * false on any difference or error, and for NULL. Does I/O (a stat per
 * file): never call it under slurmctld's locks.
 */
bool aif_policy_unchanged(const struct aif_policy *p);

/* Write "file:line: path: reason" into buf. */
void aif_load_error_format(const struct aif_load_error *e, char *buf,
			   size_t len);
void aif_load_report_free(struct aif_load_report *report);

struct aif_policy *aif_policy_ref(struct aif_policy *p);	/* p may be NULL */
void aif_policy_unref(struct aif_policy *p);			/* p may be NULL */

/* Accessors: pointers stay valid while the caller holds a reference. */
const struct aif_project *aif_policy_project(const struct aif_policy *p,
					     const char *name); /* any case */
const struct aif_class *aif_policy_class(const struct aif_policy *p,
					 const char *name);
size_t aif_policy_nprojects(const struct aif_policy *p);
const struct aif_project *aif_policy_project_at(const struct aif_policy *p,
						size_t i);
/* Every class, in name order: the class shares of site_factor and
 * `aifctl priority --classes` walk them (today only the tests do). */
size_t aif_policy_nclasses(const struct aif_policy *p);
const struct aif_class *aif_policy_class_at(const struct aif_policy *p,
					    size_t i);
/* The projects uid may use (as a member or through one of gids). Stores
 * up to max pointers, sorted by name; returns how many there are, or
 * max + 1 when there are more (the walk stops there: it runs at submit). */
size_t aif_policy_projects_of(const struct aif_policy *p, uid_t uid,
			      const gid_t *gids, size_t ngids,
			      const struct aif_project **out, size_t max);
bool aif_project_has_member(const struct aif_project *proj, uid_t uid,
			    const gid_t *gids, size_t ngids);
/* Name of a uid among the policy's members, or NULL. */
const char *aif_policy_user_name(const struct aif_policy *p, uid_t uid);
/* root, or a user or group of the policy's operators (SlurmUser is the
 * plugin's to add: the library does not know it). */
bool aif_policy_is_operator(const struct aif_policy *p, uid_t uid,
			    const gid_t *gids, size_t ngids);
const char *aif_policy_path(const struct aif_policy *p);
/* The TCP port slurmctld answers balance queries on; 0 if it does not. */
uint16_t aif_policy_balance_port(const struct aif_policy *p);
/* The Prometheus textfile slurmctld writes ("metrics": docs/metrics.md)
 * and every how many seconds; NULL when the policy names none. */
#define AIF_METRICS_INTERVAL 60		/* default seconds */
const char *aif_policy_metrics(const struct aif_policy *p, unsigned *interval);
/* The priority's weights, in SLURM priority points (docs/priority.md):
 * SITE is class_weight x the class factor + pacing_weight x the
 * project's pacing factor, each factor in [-1, 1]. Both 0 when the policy
 * has no "priority": SITE is then 0 for every job. */
#define AIF_PRIORITY_WEIGHT_MAX 1000000000	/* each weight: SITE stays
						 * within +-(2^31 - 3) */
struct aif_priority_weights {
	uint32_t class_weight;
	uint32_t pacing_weight;
};
void aif_policy_priority(const struct aif_policy *p,
			 struct aif_priority_weights *out);
/* Whether proj's grants are paced: its own "pacing", else its class's. */
bool aif_project_paced(const struct aif_project *proj);
/* SHA-256 of the policy's files, as 64 hex digits. */
const char *aif_policy_hash(const struct aif_policy *p);
/* The GPU type's billing weight, the default weight for an unlisted type,
 * or a negative value when no weight applies. */
double aif_policy_gpu_weight(const struct aif_policy *p, const char *type);
/* What a GPU-hour of type under qos costs in GPU-hours: the type's
 * weight times the QOS's (billing.qos_weights; 1 when not listed, or
 * with no qos); negative when the type has no weight. */
double aif_policy_rate(const struct aif_policy *p, const char *type,
		       const char *qos);
/* Every GPU type billing.gpu_weights lists, sorted by type; *list stays
 * valid while the caller holds a reference. */
size_t aif_policy_gpu_weights(const struct aif_policy *p,
			      const struct aif_gpu_weight **list);

/* ------------------------------------------------------------------ */
/* Admission                                                            */

enum aif_verdict { AIF_ACCEPT = 0, AIF_RESHAPE, AIF_REFUSE };

/* A submission, or the new values of a modification, in library terms. */
struct aif_request {
	const char *account;		/* as given; NULL: none */
	const char *partition;		/* comma list; NULL: none */
	const char *qos;		/* NULL: none */
	uid_t uid;
	const gid_t *gids;		/* the job's group(s) */
	size_t ngids;
	uint32_t time_limit;		/* minutes; 0: not given */
	uint32_t nodes;			/* minimum nodes; 0: not given */
	struct aif_gpus gpus;		/* all zero: no GPU asked for */
	bool gpus_unchanged;		/* modify only: skip the GPU checks */
	bool array;			/* a job array (one call, many tasks) */
	/* modify only: the job as it is now (0: unknown) */
	uint32_t current_time_limit;
	uint64_t current_gpus;
	const char *current_qos;	/* NULL: unknown */
	const char *current_partition;	/* NULL: unknown */
	const char *current_tag;	/* its AdminComment, holding our tag */
	time_t now;
	/* CPUs, memory and binding, for the class's shaping (shape.c) */
	uint32_t cpus_per_gpu;		/* --cpus-per-gpu; 0: not given */
	uint32_t cpus_per_task;		/* -c; 0: not given */
	uint64_t cpus;			/* CPUs the job asks in all; 0: unknown */
	bool gpus_per_task;		/* --gpus-per-task or --ntasks-per-gpu */
	bool mem_given;			/* --mem, --mem-per-cpu or --mem-per-gpu */
	bool bind_given;		/* --aif-bind */
	bool shape_check;		/* modify: CPUs or GPUs change, check
					 * the CPUs per GPU (gpus: the job's
					 * as it would be) */
	/* For "auto": the fewest CPUs and MB of memory per GPU over the
	 * partition's nodes that have GPUs; 0 each when unknown. NULL:
	 * nothing is known of the nodes. Pure, microseconds. */
	void (*partition_shape)(const char *partition, void *arg,
				uint32_t *cpus_per_gpu, uint32_t *mem_per_gpu);
	/* Whether some node of the partition has GPUs of this type: 1 yes,
	 * 0 no, -1 unknown. NULL: nothing is known. For the choice of a
	 * partition for a typed job that names none. */
	int (*partition_has_type)(const char *partition, const char *type,
				  void *arg);
	void *partition_arg;
};

struct aif_decision {
	enum aif_verdict verdict;
	const char *rule;		/* static string: which rule decided */
	char message[AIF_MSG_MAX];	/* for the user when refused */
	const struct aif_project *project;	/* NULL if not resolved */
	const struct aif_class *klass;
	/* What to set on the job; "" / 0: leave as it is. */
	char account[AIF_NAME_MAX];
	char partition[AIF_NAME_MAX];
	char qos[AIF_NAME_MAX];
	uint32_t time_limit;
	char tag[AIF_TAG_MAX];		/* for admin_comment */
	/* Shaping (shape.c): 0 / "" leave as it is */
	uint32_t cpus_per_gpu;		/* cpus_per_tres = "gres:gpu:N" */
	uint32_t mem_per_gpu;		/* mem_per_tres = "gres:gpu:M", MB */
	char bind[8];			/* AIF_BIND in a batch job's environment */
	char shaping[256];		/* what was shaped and why, for explain */
};

/*
 * Decide what happens to a submission. Pure: no I/O, no allocation, no
 * locks; microseconds. Always fills in d and returns its verdict.
 */
enum aif_verdict aif_decide(const struct aif_policy *p,
			    const struct aif_request *r,
			    struct aif_decision *d);

/*
 * The class's shaping of an admitted job (shape.c): its CPUs and memory
 * per GPU and its --aif-bind, where the job named none, and a refusal
 * when it asks more CPUs per GPU than the class allows. Called by
 * aif_decide; pure, as it is.
 */
void aif_shape(const struct aif_class *c, const struct aif_request *r,
	       const char *partition, struct aif_decision *d);

/* Only the ceiling on CPUs per GPU, for an update of a job's CPUs or
 * GPUs (aif_decide_modify, when r->shape_check). */
void aif_shape_check(const struct aif_class *c, const struct aif_request *r,
		     const char *partition, struct aif_decision *d);

/*
 * Decide whether a non-operator may change a job of project job_account
 * into r (the job as it would be after the change: the adapter merges the
 * changed fields into the job's current ones). Refuses a move to another
 * project and anything beyond the project's class limits. In a metered
 * class it also refuses a QOS change (r->qos other than r->current_qos)
 * that would change the rate frozen in the job's lien (r->current_tag),
 * or that would take a job admitted without a lien (the fallback QOS)
 * out of its QOS: a user's update cannot rewrite the tag (SLURM lets only
 * its administrators set AdminComment), and SLURM may still refuse the
 * QOS after job_modify. Pure, as aif_decide().
 */
enum aif_verdict aif_decide_modify(const struct aif_policy *p,
				   const char *job_account,
				   const struct aif_request *r,
				   struct aif_decision *d);

#endif /* AIFACTORY_H */
