/*
 * slurm-aifactory: the lien of an admitted job, and its place in the tag.
 *
 * An accepted job of a metered class reserves what it could cost (GPUs x
 * time limit x weight) against its project's grants. The split and the
 * rates go into the job's admission tag, so they travel with the job:
 * jobcomp charges at those rates and releases that split, and the
 * periodic rebuild of reserved amounts reads them back from slurmctld's
 * own job list (docs/ledger.md: liens are derived).
 *
 *   aif:class=..,project=..,mode=..[,sector=..],lien=g1:AMOUNT+g2:AMOUNT,rate=h100:1000+a100:500
 *   aif:...,lien=none           admitted without a lien (fallback QOS)
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle.h"

/* The longest tag there is: the project's fields, 32 parts and 8 rates,
 * every name AIF_NAME_MAX - 1 bytes, every number 20. */
#define TAG_NAME (AIF_NAME_MAX - 1)
#define TAG_WORST (sizeof("aif:class=,project=,mode=,sector=") + 4 * TAG_NAME + \
		   sizeof(",lien=") + AIF_LEDGER_PARTS_MAX * (TAG_NAME + 22) + \
		   sizeof(",rate=") + AIF_GPU_TYPES_MAX * (TAG_NAME + 22))
_Static_assert(TAG_WORST < AIF_TAG_MAX, "AIF_TAG_MAX holds every lien");

/* Append to the tag in buf: false (and buf cut) when it does not fit. */
static bool __attribute__((format(printf, 3, 4)))
_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	if (used >= len)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t) n < len - used;
}

int aif_lien_tag(const struct aif_lien *lien, char *tag, size_t len)
{
	char buf[AIF_TAG_MAX];
	bool fits;

	if (strlen(tag) >= sizeof(buf)) {
		errno = E2BIG;
		return -1;
	}
	strcpy(buf, tag);
	fits = _append(buf, sizeof(buf), ",lien=");
	for (size_t i = 0; fits && i < lien->nparts; i++)
		fits = _append(buf, sizeof(buf), "%s%s:%lld", i ? "+" : "",
			       lien->parts[i].grant,
			       (long long) lien->parts[i].amount);
	fits = fits && _append(buf, sizeof(buf), ",rate=");
	for (size_t i = 0; fits && i < lien->nuses; i++)
		fits = _append(buf, sizeof(buf), "%s%s:%lld", i ? "+" : "",
			       lien->uses[i].type,
			       (long long) lien->uses[i].weight_milli);
	if (!fits || strlen(buf) >= len) {
		errno = E2BIG;
		return -1;
	}
	strcpy(tag, buf);
	return 0;
}

/* The rate of a GPU type under qos in thousandths, or -1 when the type
 * has no weight. */
static int64_t _weight(const struct aif_policy *p, const char *type,
		       const char *qos)
{
	double w = aif_policy_rate(p, type, qos);
	int64_t milli;

	return w < 0 || aif_weight_milli(w, &milli) ? -1 : milli;
}

static const char *_rule_of(enum aif_lien_verdict v)
{
	switch (v) {
	case AIF_LIEN_SHORT:
		return "budget.short";
	case AIF_LIEN_OUTLIVES:
		return "budget.outlives";
	default:
		return "budget.no_grant";
	}
}

/* aif_lien_admit, or with reserve false aif_lien_price. */
static int _lien(struct aif_ledger *ledger, const struct aif_policy *p,
		 const struct aif_request *r, struct aif_decision *d,
		 bool reserve)
{
	const struct aif_class *c = d->klass;
	struct aif_use uses[AIF_GPU_TYPES_MAX];
	struct aif_rate cand[AIF_GPU_TYPES_MAX];
	const struct aif_gpu_weight *all;
	struct aif_lien_request req = { .uses = uses, .reserve = reserve };
	struct aif_lien lien;
	char why[AIF_MSG_MAX];
	/* The QOS the job will run in: admission's, else its own. */
	const char *qos = d->qos[0] ? d->qos : r->qos;
	size_t nall;

	if (d->verdict == AIF_REFUSE || !c || !c->metered || !r->gpus.total)
		return 0;
	/* One job_submit call stands for every task: not yet reservable. */
	if (r->array) {
		d->verdict = AIF_REFUSE;
		d->rule = "budget.array";
		snprintf(d->message, sizeof(d->message),
			 "aifactory: project %s (class %s) runs on a GPU-hour budget, and a job array cannot reserve its cost yet. Submit the tasks as separate jobs.",
			 d->project->name, c->name);
		return 0;
	}
	/* The ledger may lack charges (its journal cannot be read back):
	 * no lien is taken against it, the class's exhausted_action
	 * applies (docs/ledger.md, "When the journal is damaged"). */
	if (aif_ledger_budgets_closed(ledger, why, sizeof(why))) {
		d->rule = "budget.unavailable";
		if (c->exhausted_action == AIF_EXHAUSTED_FALLBACK) {
			snprintf(d->qos, sizeof(d->qos), "%s", c->fallback_qos);
			d->verdict = AIF_RESHAPE;
			_append(d->tag, sizeof(d->tag), ",lien=none");
			return 0;
		}
		d->verdict = AIF_REFUSE;
		snprintf(d->message, sizeof(d->message),
			 "aifactory: GPU-hour budgets are unavailable (%.400s), so no job of class %s can be admitted against them now; try again later or ask your centre (classes.%s.exhausted_action is refuse)",
			 why, c->name, c->name);
		return 0;
	}
	for (unsigned i = 0; i < r->gpus.ntypes; i++) {
		const struct aif_gpu_count *g = &r->gpus.by_type[i];
		int64_t w = g->type[0] ? _weight(p, g->type, qos) : 0;

		if (w < 0) {
			d->verdict = AIF_REFUSE;
			d->rule = "budget.rate";
			snprintf(d->message, sizeof(d->message),
				 "aifactory: GPU type %s has no billing weight in the policy (billing.gpu_weights), so its cost cannot be reserved. Ask your centre, or use another GPU type.",
				 g->type);
			return 0;
		}
		snprintf(uses[req.nuses].type, sizeof(uses[0].type), "%s",
			 g->type);
		uses[req.nuses].gpus = g->total;
		uses[req.nuses++].weight_milli = w;
	}
	/* An untyped request may land on any type the class allows. */
	if (c->ngpu_types) {
		for (size_t i = 0; i < c->ngpu_types && i < AIF_GPU_TYPES_MAX; i++) {
			int64_t w = _weight(p, c->gpu_types[i], qos);

			if (w < 0)
				continue;
			snprintf(cand[req.ncandidates].type, sizeof(cand[0].type),
				 "%s", c->gpu_types[i]);
			cand[req.ncandidates++].weight_milli = w;
		}
	} else {
		nall = aif_policy_gpu_weights(p, &all);
		for (size_t i = 0; i < nall && i < AIF_GPU_TYPES_MAX; i++) {
			int64_t w = _weight(p, all[i].type, qos);

			if (w < 0)
				continue;
			snprintf(cand[req.ncandidates].type, sizeof(cand[0].type),
				 "%s", all[i].type);
			cand[req.ncandidates++].weight_milli = w;
		}
	}
	req.candidates = cand;
	req.time_limit = d->time_limit ? d->time_limit :
		r->time_limit ? r->time_limit : AIF_UNLIMITED;
	req.now = r->now;

	if (aif_ledger_lien(ledger, d->project->name, &req, &lien, why,
			    sizeof(why))) {
		d->verdict = AIF_REFUSE;
		d->rule = "budget.error";
		snprintf(d->message, sizeof(d->message), "aifactory: %.900s",
			 why);
		return -1;
	}
	if (lien.verdict == AIF_LIEN_FITS) {
		if (!aif_lien_tag(&lien, d->tag, sizeof(d->tag)))
			return 0;
		/* Never with AIF_TAG_MAX (TAG_WORST above): a lien the tag
		 * cannot carry is given back and the job refused, never cut
		 * (the rebuild would then reserve less than the job holds). */
		aif_ledger_release(ledger, &lien, NULL);
		d->verdict = AIF_REFUSE;
		d->rule = "budget.tag";
		snprintf(d->message, sizeof(d->message),
			 "aifactory: the reservation of this job on project %s is split across %zu grants, more than its tag can carry (%d bytes). Ask your centre, or submit a smaller job.",
			 d->project->name, lien.nparts, AIF_TAG_MAX);
		return 0;
	}
	if (c->exhausted_action == AIF_EXHAUSTED_FALLBACK) {
		if (!_append(d->tag, sizeof(d->tag), ",lien=none")) {
			d->verdict = AIF_REFUSE;
			d->rule = "budget.tag";
			snprintf(d->message, sizeof(d->message),
				 "aifactory: the admission tag of project %s does not fit in %d bytes. Please contact your centre.",
				 d->project->name, AIF_TAG_MAX);
			return 0;
		}
		snprintf(d->qos, sizeof(d->qos), "%s", c->fallback_qos);
		d->verdict = AIF_RESHAPE;
		d->rule = "budget.fallback";
		return 0;
	}
	d->verdict = AIF_REFUSE;
	d->rule = _rule_of(lien.verdict);
	snprintf(d->message, sizeof(d->message),
		 "aifactory: %.900s (classes.%s.exhausted_action is refuse)",
		 why, c->name);
	return 0;
}

int aif_lien_admit(struct aif_ledger *ledger, const struct aif_policy *p,
		   const struct aif_request *r, struct aif_decision *d)
{
	return _lien(ledger, p, r, d, true);
}

int aif_lien_price(struct aif_ledger *ledger, const struct aif_policy *p,
		   const struct aif_request *r, struct aif_decision *d)
{
	return _lien(ledger, p, r, d, false);
}

/* "name:NUMBER+name:NUMBER" after key= in a tag, into names and numbers. */
static size_t _pairs(const char *tag, const char *key,
		     char names[][AIF_NAME_MAX], int64_t *numbers, size_t max)
{
	char pattern[16];
	const char *s;
	size_t n = 0;

	snprintf(pattern, sizeof(pattern), ",%s=", key);
	if (!(s = strstr(tag, pattern)))
		return 0;
	s += strlen(pattern);
	while (*s && *s != ',' && *s != ';' && n < max) {
		size_t nlen = strcspn(s, ":,;+");
		char *end;

		if (s[nlen] != ':' || nlen >= AIF_NAME_MAX)
			break;
		memcpy(names[n], s, nlen);
		names[n][nlen] = '\0';
		if (s[nlen + 1] < '0' || s[nlen + 1] > '9')
			return SIZE_MAX;	/* not a tag we wrote */
		errno = 0;
		numbers[n] = strtoll(s + nlen + 1, &end, 10);
		if (errno)
			return SIZE_MAX;
		n++;
		s = end;
		if (*s == '+')
			s++;
	}
	return n;
}

int aif_lien_from_tag(const char *comment, struct aif_lien *out)
{
	char klass[AIF_NAME_MAX], names[AIF_LEDGER_PARTS_MAX][AIF_NAME_MAX];
	int64_t numbers[AIF_LEDGER_PARTS_MAX];
	const char *tag = aif_tag_find(comment);
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!tag || aif_tag_parse(tag, klass, out->project))
		return -1;
	n = _pairs(tag, "lien", names, numbers, AIF_LEDGER_PARTS_MAX);
	if (n == SIZE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(out->parts[i].grant, names[i], AIF_NAME_MAX);
		out->parts[i].amount = numbers[i];
		if (aif_amount_add(out->total, numbers[i], &out->total))
			return -1;
	}
	out->nparts = n;
	n = _pairs(tag, "rate", names, numbers, AIF_GPU_TYPES_MAX);
	if (n == SIZE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(out->uses[i].type, names[i], AIF_NAME_MAX);
		out->uses[i].weight_milli = numbers[i];
	}
	out->nuses = n;
	return out->nparts ? 0 : 1;
}

int aif_record_add_tag(struct aif_record *rec, const char *tag)
{
	size_t len = strlen(tag), at = 0;
	unsigned field = 1;
	int rc = 0;

	do {
		char key[16], chunk[AIF_TAG_CHUNK + 1];
		size_t n = len - at < AIF_TAG_CHUNK ? len - at : AIF_TAG_CHUNK;

		memcpy(chunk, tag + at, n);
		chunk[n] = '\0';
		if (field == 1)
			snprintf(key, sizeof(key), "tag");
		else
			snprintf(key, sizeof(key), "tag%u", field);
		rc |= aif_record_add_str(rec, key, chunk);
		at += n;
		field++;
	} while (at < len);
	return rc ? -1 : 0;
}
