/*
 * slurm-aifactory: the inside of the service in slurmctld (service.h),
 * shared by its files, one concern each:
 *
 *   service.c           start, stop, reload, and the service's thread
 *   service_writer.c    the journal's queue and its writer (write, sync,
 *                       requeue on failure, dropped records counted)
 *   service_book.c      the book: what the journal holds, its snapshots,
 *                       the ledger rebuilt from snapshot and replay
 *   service_settle.c    a job's end: charged, or kept until the rebuild
 *   service_decision.c  the decision record and the refusal windows
 *   service_balance.c   the balance server: statements, and the port
 *                       that answers members' queries (query.h)
 *
 * One mutex (lock) guards the fields of svc and the reference count;
 * it is held for pointer swaps and queue links only, never across a load
 * or any I/O. Loads, the journal and the book are used under load_lock,
 * on the service's thread (or in aif_service_start/aif_service_reload),
 * one at a time; book_lock guards the book against the balance server.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SERVICE_INTERNAL_H
#define AIF_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "book.h"
#include "journal.h"
#include "query.h"
#include "service.h"
#include "settle.h"

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

/*
 * An admission decision as an RPC thread leaves it: copied and bounded,
 * not encoded. The service's thread turns it into its record
 * (aif_svc_note_encode): job_submit pays for a copy, not for the record.
 * Notes are kept in a pool and used again, never freed before the stop.
 */
struct aif_svc_note {
	struct aif_svc_note *next;	/* in the pool */
	enum aif_verdict verdict;
	const char *rule;		/* static (struct aif_decision) */
	uid_t uid;
	uint32_t nodes;
	uint32_t time_limit;
	unsigned ngpus;
	struct aif_gpu_count gpus[AIF_GPU_TYPES_MAX];
	char project[AIF_NAME_MAX];
	char klass[AIF_NAME_MAX];
	char account[AIF_NAME_MAX];	/* only when it names a project */
	char policy[AIF_SHA256_HEX_LEN];
	char text[AIF_TAG_MAX];		/* an admission's tag, a refusal's
					 * message */
};

/* A record waiting for the journal (service_writer.c): its record, or a
 * decision's note the writer encodes into one. */
struct queued {
	struct queued *next;
	bool refused;		/* the journal refused the record itself */
	/* A charge record's: what the book counts once it is synced. */
	struct aif_charge *charge;
	time_t end;
	struct aif_svc_note *note;
	struct aif_record *rec;
};

/* One user's refusals by one rule in the current window: the first is
 * journalled whole, the others only counted, then one record says how
 * many (a user cannot grow the journal by a record per refusal). */
#define WINDOWS_MAX 1024
struct refusals {
	bool used;
	uid_t uid;
	const char *rule;	/* static (struct aif_decision) */
	time_t opened;		/* the first refusal, journalled whole */
	time_t first, last;	/* of the repeats */
	uint64_t repeated;
	char project[AIF_NAME_MAX], klass[AIF_NAME_MAX];
};

/* What the metrics file counts (service_metrics.c), under its own lock. */
#define AIF_METRICS_RULES_MAX 128
struct aif_svc_metrics {
	pthread_mutex_t lock;
	const char *rules[AIF_METRICS_RULES_MAX];	/* static strings */
	uint64_t count[AIF_METRICS_RULES_MAX][3];	/* by verdict */
	size_t nrules;
	char classes[AIF_METRICS_CLASSES_MAX][AIF_NAME_MAX];
	uint64_t gpus[AIF_METRICS_CLASSES_MAX];	/* running, per class */
	size_t nclasses;
	bool running_known;
	/* The service's thread's own: */
	struct timespec due;		/* CLOCK_MONOTONIC: the next write */
	int last_err;			/* the last write's, said once */
};

struct deferred;	/* a job end kept for the rebuild: service_settle.c */
struct aif_query;

/* The service's state: one per process, svc (service.c). */
struct aif_svc_state {
	pthread_mutex_t lock;		/* the fields below */
	pthread_mutex_t load_lock;	/* one load at a time */
	pthread_cond_t wake;
	unsigned refs;
	struct aif_service_hooks hooks;
	char *path;
	struct aif_policy *policy;	/* NULL until one ever loaded */
	struct aif_ledger *ledger;
	time_t loaded_at;		/* when the last load started */
	struct timespec started;	/* CLOCK_MONOTONIC: the start */
	bool start_move_seen;		/* the start-up reconfigure's stamp */
	char *journal_dir;
	char *cluster;
	struct aif_journal *journal;	/* NULL: charges are not persisted */
	struct aif_run_keys *run_keys;	/* runs charged */
	bool replayed;			/* the journal's charges are in */
	bool partial;			/* what could be read of a journal that
					 * does not open is in */
	bool closed;			/* budgets closed (the ledger says why) */
	char down_why[AIF_LEDGER_CLOSED_MAX];	/* why the journal is shut */
	unsigned retry_seconds;
	struct timespec retry_due;	/* CLOCK_MONOTONIC: try it again */
	uint64_t attempts;		/* the writer's tries while it is shut */
	uint64_t flush_gen, flush_served;	/* a flush asks for one try */
	bool stop_tried;
	struct deferred *deferred;	/* job ends waiting for the rebuild */
	size_t ndeferred;
	struct aif_run_keys *deferred_keys;	/* their runs, to find repeats */
	uint64_t dropped;		/* records dropped, queue full */
	uint64_t dropped_told;		/* of which a record says so */
	char dropped_why[AIF_LEDGER_CLOSED_MAX];	/* the last drop's */
	uint64_t unsynced_after;	/* a failed sync's batch came after
					 * this seq; 0: none pending */
	size_t queue_max;
	unsigned refusal_window;
	struct refusals windows[WINDOWS_MAX];	/* under lock */
	size_t nwindows;		/* of them in use */
	/* The writer thread's own: what the journal holds, for snapshots.
	 * Fed only once the replay is in (book != NULL), left NULL if the
	 * replay failed, so that no snapshot can hide what it missed. */
	struct aif_book *book;
	struct aif_run_keys *book_keys;
	pthread_mutex_t book_lock;	/* the book's burn, read by queries */
	struct aif_query *query;	/* members' balance queries, or NULL */
	struct aif_svc_metrics metrics;
	time_t synced_at;		/* the writer's last good sync */
	pthread_mutex_t ranking_lock;	/* ranking */
	struct aif_ranking *ranking;	/* site_factor's last, or NULL */
	char *munge_socket;
	uint64_t since_snapshot;	/* records written since the last */
	bool want_snapshot;		/* aif_service_checkpoint() waits */
	unsigned want_flush;		/* aif_service_flush() callers waiting */
	uint64_t snapshot_every;
	uint64_t rotate_bytes;
	struct queued *head, **tail;	/* records for the journal */
	struct aif_svc_note *notes;	/* the pool of free notes */
	pthread_mutex_t notes_lock;	/* the pool: taken alone, or inside
					 * lock (never the other way) */
	size_t queued;
	struct timespec batch_due;	/* CLOCK_MONOTONIC: write the queue */
	bool batch_urgent;		/* it holds more than decisions */
	uint64_t written;		/* records queued then written */
	uint64_t enqueued;
	pthread_cond_t flushed;
	pthread_t thread;
	bool running;
	bool stop;
};
extern struct aif_svc_state svc;

/* service.c */

/* Why the journal is shut, or dflt when it is not: a copy in buf. */
const char *aif_svc_why_down(char buf[AIF_LEDGER_CLOSED_MAX],
			     const char *dflt);

/* service_writer.c: the queue and the writer */

/* A record of this type to fill and queue; NULL when out of memory. */
struct queued *aif_svc_queued_new(enum aif_record_type type);
/* Queue a record for the journal (the writer owns it then); false when
 * a decision or threshold was dropped (and counted), the queue full. */
bool aif_svc_enqueue(struct queued *q);
void aif_svc_free_queued(struct queued *q);
/* Write and sync the queue (the service's thread, load_lock held). */
void aif_svc_write_queue(void);
/* Open a shut journal (load_lock held): 0, or -1 with down_why set. */
int aif_svc_open_journal(void);
/* The next try of a shut journal: retry_seconds from now. */
void aif_svc_retry_later(void);
/* At the last stop: every record the journal never took, named. */
void aif_svc_drop_queue(void);

/* service_book.c: the book, snapshots, replay */

/* A record is on disk: the book follows the journal. */
void aif_svc_book_record(const struct queued *q);
/* Snapshot the book at the journal's last (synced) record. */
void aif_svc_snapshot(void);
/* Rebuild the ledger's charges and run keys from snapshot and journal:
 * 0, or -1 with why naming the first bad record. */
int aif_svc_replay_journal(char *why, size_t len);
/* The first bad record as aifctl audit verify names it. */
void aif_svc_name_damage(const struct aif_verify_report *rep, char *buf,
			 size_t len);

/* service_settle.c: job ends */

/* Charge the job ends kept while the ledger was not rebuilt. */
void aif_svc_settle_deferred(struct aif_policy *p);
/* At the last stop: every job end still kept, named and freed. */
void aif_svc_drop_deferred(void);

/* service_decision.c */

/* Queue the records of the refusal windows that are over (all: every
 * one). */
void aif_svc_close_windows(bool all);
/* A decision's note into its record (the service's thread). */
void aif_svc_note_encode(const struct aif_svc_note *n,
			 struct aif_record *rec);
/* Give a note back to the pool; free the pool (at the last stop). */
void aif_svc_note_put(struct aif_svc_note *n);
void aif_svc_notes_free(void);

/* service_balance.c */

/* Answer members' balance queries on port (0: not at all). */
void aif_svc_query_follow(uint16_t port);
/* root, SlurmUser or one of the policy's operators: sees every project. */
bool aif_svc_sees_all(const struct aif_policy *p, uid_t uid, gid_t gid);

/* service_priority.c: aifctl priority's answers, from the ranking
 * site_factor published; and the ranking dropped at the last stop. */
int aif_svc_priority(uid_t uid, gid_t gid, const struct aif_priority_ask *ask,
		     FILE *out, char *why, size_t len, void *arg);
void aif_svc_ranking_free(void);

/* service_metrics.c: the Prometheus textfile. */
/* Count a decision (any thread). */
void aif_svc_metrics_count(const struct aif_decision *d);
/* When the next write is due, from now (the service's thread). */
void aif_svc_metrics_due(struct timespec *due);
/* Write the policy's metrics file, if it names one (the service's thread,
 * no lock held). */
void aif_svc_metrics_write(void);

#pragma GCC visibility pop

#endif /* AIF_SERVICE_INTERNAL_H */
