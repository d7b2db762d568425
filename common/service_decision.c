/*
 * slurm-aifactory: the audit record of each admission decision, queued
 * for the writer, and the refusal windows: one user's refusals by one
 * rule within refusal_window make one whole record and one that counts
 * the others.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"
#include "text.h"

/* The record of a window's repeats (NULL: none, or out of memory). */
static struct queued *_window_record(const struct refusals *w)
{
	struct queued *q;

	if (!w->repeated || !(q = aif_svc_queued_new(AIF_RECORD_DECISION)))
		return NULL;
	aif_record_add_str(q->rec, "verdict", "refuse");
	aif_record_add_str(q->rec, "rule", w->rule);
	aif_record_add_int(q->rec, "uid", w->uid);
	aif_record_add_str(q->rec, "project", w->project);
	aif_record_add_str(q->rec, "class", w->klass);
	aif_record_add_int(q->rec, "repeated", (int64_t) w->repeated);
	aif_record_add_int(q->rec, "first", w->first);
	aif_record_add_int(q->rec, "last", w->last);
	aif_record_add_int(q->rec, "window", svc.refusal_window);
	return q;
}

/* Close the windows that are over (all of them with all): their repeats
 * are queued as one record each. Called on the service thread. */
void aif_svc_close_windows(bool all)
{
	struct queued *out = NULL, *q;
	time_t now = time(NULL);

	pthread_mutex_lock(&svc.lock);
	/* Every second: the scan only when a window is open. */
	for (size_t i = 0; svc.nwindows && i < WINDOWS_MAX; i++) {
		struct refusals *w = &svc.windows[i];

		if (!w->used || (!all && now < w->opened +
				 (time_t) svc.refusal_window))
			continue;
		if ((q = _window_record(w))) {
			q->next = out;
			out = q;
		}
		w->used = false;
		svc.nwindows--;
	}
	pthread_mutex_unlock(&svc.lock);
	for (; out; out = q) {
		q = out->next;
		aif_svc_enqueue(out);
	}
}

/* A refusal: true if it only counts in its user's and rule's window.
 * *closed gets the record of a window it ends. Under lock. */
static bool _counted(const struct aif_request *r, const struct aif_decision *d,
		     time_t now, struct queued **closed)
{
	struct refusals *w = NULL, *free_slot = NULL;

	*closed = NULL;
	for (size_t i = 0; i < WINDOWS_MAX; i++) {
		struct refusals *x = &svc.windows[i];

		if (!x->used) {
			if (!free_slot)
				free_slot = x;
		} else if (x->uid == r->uid && !strcmp(x->rule, d->rule)) {
			w = x;
			break;
		}
	}
	if (w && now < w->opened + (time_t) svc.refusal_window) {
		if (!w->repeated++)
			w->first = now;
		w->last = now;
		return true;
	}
	if (w)
		*closed = _window_record(w);
	else if (!(w = free_slot))
		return false;	/* full: journalled whole */
	else
		svc.nwindows++;
	memset(w, 0, sizeof(*w));
	w->used = true;
	w->uid = r->uid;
	w->rule = d->rule;
	w->opened = now;
	snprintf(w->project, sizeof(w->project), "%s",
		 d->project ? d->project->name : "");
	snprintf(w->klass, sizeof(w->klass), "%s",
		 d->klass ? d->klass->name : "");
	return false;
}

/* A note from the pool, or a new one; NULL when out of memory. */
static struct aif_svc_note *_note_get(void)
{
	struct aif_svc_note *n;

	pthread_mutex_lock(&svc.notes_lock);
	if ((n = svc.notes))
		svc.notes = n->next;
	pthread_mutex_unlock(&svc.notes_lock);
	return n ? n : malloc(sizeof(*n));
}

void aif_svc_note_put(struct aif_svc_note *n)
{
	pthread_mutex_lock(&svc.notes_lock);
	n->next = svc.notes;
	svc.notes = n;
	pthread_mutex_unlock(&svc.notes_lock);
}

void aif_svc_notes_free(void)
{
	struct aif_svc_note *n;

	while ((n = svc.notes)) {
		svc.notes = n->next;
		free(n);
	}
}

void aif_service_decision(const struct aif_request *r,
			  const struct aif_decision *d,
			  const struct aif_policy *p)
{
	static time_t told;
	struct aif_svc_note *n;
	struct queued *q;

	/* Failing closed is an operator's matter: at error level (once a
	 * second at most, the log must not fill the disk either). */
	if (d->rule && !strcmp(d->rule, "budget.unavailable") &&
	    time(NULL) != told) {
		char down[AIF_LEDGER_CLOSED_MAX];

		told = time(NULL);
		svc.hooks.error("aifactory: uid %u: a job of class %s %s: GPU-hour budgets are unavailable (%s)",
				(unsigned) r->uid, d->klass ? d->klass->name : "?",
				d->verdict == AIF_REFUSE ? "refused" :
				"sent to the fallback QOS",
				aif_svc_why_down(down, "the journal does not replay"));
	}
	aif_svc_metrics_count(d);
	if (!svc.refs || !svc.journal_dir)
		return;
	if (d->verdict == AIF_REFUSE && d->rule) {
		struct queued *closed;
		bool counted;

		pthread_mutex_lock(&svc.lock);
		counted = _counted(r, d, time(NULL), &closed);
		pthread_mutex_unlock(&svc.lock);
		if (closed)
			aif_svc_enqueue(closed);
		if (counted)
			return;
	}
	/* A copy of what the record needs; the service's thread encodes it. */
	if (!(q = calloc(1, sizeof(*q))))
		return;
	if (!(n = _note_get())) {
		free(q);
		return;
	}
	n->verdict = d->verdict;
	n->rule = d->rule;
	n->uid = r->uid;
	n->nodes = r->nodes;
	n->time_limit = d->time_limit ? d->time_limit : r->time_limit;
	n->ngpus = r->gpus.ntypes < AIF_GPU_TYPES_MAX ? r->gpus.ntypes :
		AIF_GPU_TYPES_MAX;
	memcpy(n->gpus, r->gpus.by_type, n->ngpus * sizeof(n->gpus[0]));
	aif_copy(n->project, sizeof(n->project),
	      d->project ? d->project->name : "");
	aif_copy(n->klass, sizeof(n->klass), d->klass ? d->klass->name : "");
	/* From the user: kept only when it names a project (anything else
	 * is a user's string, up to 512 bytes a record for nothing). */
	aif_copy(n->account, sizeof(n->account), r->account && p &&
	      aif_policy_project(p, r->account) ? r->account : "");
	aif_copy(n->policy, sizeof(n->policy), p ? aif_policy_hash(p) : "");
	aif_copy(n->text, sizeof(n->text),
	      d->verdict == AIF_REFUSE ? d->message : d->tag);
	q->note = n;
	aif_svc_enqueue(q);
}

void aif_svc_note_encode(const struct aif_svc_note *n,
			 struct aif_record *rec)
{
	static const char *const verdicts[] = { "accept", "reshape", "refuse" };
	char gpus[256] = "";
	size_t used = 0;

	for (unsigned i = 0; i < n->ngpus && used < sizeof(gpus); i++)
		used += (size_t) snprintf(gpus + used, sizeof(gpus) - used,
					  "%s%s:%llu", i ? "," : "",
					  n->gpus[i].type[0] ?
					  n->gpus[i].type : "untyped",
					  (unsigned long long)
					  n->gpus[i].total);
	aif_record_init(rec, AIF_RECORD_DECISION);
	aif_record_add_str(rec, "verdict", verdicts[n->verdict]);
	aif_record_add_str(rec, "rule", n->rule);
	aif_record_add_int(rec, "uid", n->uid);
	aif_record_add_str(rec, "project", n->project);
	aif_record_add_str(rec, "class", n->klass);
	aif_record_add_str(rec, "gpus", gpus);
	aif_record_add_int(rec, "nodes", n->nodes);
	aif_record_add_int(rec, "time_limit", n->time_limit);
	aif_record_add_str(rec, "policy", n->policy);
	aif_record_add_tag(rec, n->verdict == AIF_REFUSE ? "" : n->text);
	/* Escaped, last. */
	aif_record_add_str(rec, "account", n->account);
	aif_record_add_str(rec, "message",
			   n->verdict == AIF_REFUSE ? n->text : "");
}
