/*
 * slurm-aifactory: settling a job's run (see settle.h): its charge in the
 * ledger and its audit record, fitted to a journal line; the record's
 * parts, written and read here only (book.c replays them).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle_internal.h"

static const char *_or(const char *s, const char *dflt)
{
	return s && s[0] ? s : dflt;
}

/* "h100:4,a100:2" */
static void _gpu_list(const struct aif_job_end *je, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < je->ngpus && used < len; i++)
		used += (size_t) snprintf(buf + used, len - used, "%s%s:%llu",
					  i ? "," : "",
					  _or(je->gpus[i].type, "untyped"),
					  (unsigned long long) je->gpus[i].count);
}

/*
 * The grants a charge was drawn from, in fields "part1", "part2"...: each
 * holds as many items "grant=amount/before/after" (space-separated: a
 * grant's name holds no space) as fit in AIF_RECORD_STR_MAX, so that none
 * is ever cut (a cut number would be replayed wrong). compact leaves out
 * the balances before and after ("grant=amount"): what replay needs, and
 * what always fits in a line with every other field of a charge (32 parts
 * of the longest names and amounts: tests/unit/test_settle.c). -1 if a
 * field was refused or cut: the caller builds the record again, smaller.
 */
static int _add_parts(struct aif_record *rec, const struct aif_charge *c,
		      bool compact)
{
	char key[16], text[AIF_RECORD_STR_MAX + 1], item[AIF_NAME_MAX + 72];
	size_t used = 0, field = 0;

	for (size_t i = 0; i <= c->nparts; i++) {
		size_t n = 0;

		if (i < c->nparts)
			n = (size_t) snprintf(item, sizeof(item),
					      compact ? "%s=%lld" :
					      "%s=%lld/%lld/%lld",
					      c->parts[i].grant,
					      (long long) c->parts[i].amount,
					      (long long) c->parts[i].before,
					      (long long) c->parts[i].after);
		/* The field is full, or this was the last item: add it. */
		if (used && (i == c->nparts ||
			     used + 1 + n > AIF_RECORD_STR_MAX)) {
			const char *kept;

			snprintf(key, sizeof(key), "part%zu", ++field);
			if (aif_record_add_str(rec, key, text) ||
			    !(kept = aif_record_str(rec, key)) ||
			    strcmp(kept, text))
				return -1;
			used = 0;
		}
		if (i < c->nparts)
			used += (size_t) snprintf(text + used,
						  sizeof(text) - used, "%s%s",
						  used ? " " : "", item);
	}
	return 0;
}

/* s, or its first max bytes (whole UTF-8 characters) and AIF_RECORD_CUT:
 * SLURM's own strings, shortened when a charge's parts need the room. */
static const char *_short(const char *s, size_t max, char *buf, size_t len)
{
	size_t n;

	if (!s || strlen(s) <= max || max + sizeof(AIF_RECORD_CUT) > len)
		return s ? s : "";
	n = max;
	while (n && ((unsigned char) s[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s%s", (int) n, s, AIF_RECORD_CUT);
	return buf;
}

/*
 * How much a charge record gives up to hold every part, tried in order:
 * nothing; SLURM's strings (partition, QOS, nodes, GPUs, the job's name)
 * shortened; then the parts' balances before and after too; then those
 * strings left empty. Never the amounts.
 */
enum { FIT_LEVELS = 4, FIT_SHORT = 48 };

struct fit {
	bool compact;		/* parts without their balances */
	size_t strings;		/* SLURM's strings at most this long */
};

static const struct fit _fits[FIT_LEVELS] = {
	{ false, SIZE_MAX }, { false, FIT_SHORT }, { true, FIT_SHORT },
	{ true, 0 },
};

/* The binding the job ran with: what it asked for, else its class's
 * default, else the node's (spank/aifactory's default=), which slurmctld
 * cannot know: "default". */
static const char *_bind_of(const struct aif_job_end *je,
			    const struct aif_project *proj)
{
	if (je->bind[0])
		return je->bind;
	if (proj->klass->bind[0])
		return proj->klass->bind;
	return "default";
}

/* The audit record of a charge, as far as fit gives up room: -1 if a
 * field was refused or a part could not be held whole. */
static int _charge_record(struct aif_record *rec, const struct aif_policy *p,
			  const struct aif_project *proj, const char *run_key,
			  const struct aif_job_end *je,
			  const struct aif_charge *charge, bool unknown_rate,
			  const struct fit *fit)
{
	char text[512], buf[FIT_SHORT + sizeof(AIF_RECORD_CUT)];
	int rc = 0;

	aif_record_init(rec, AIF_RECORD_CHARGE);
	rc |= aif_record_add_str(rec, "run", run_key);
	rc |= aif_record_add_int(rec, "job", je->job_id);
	/* No NSS here (jobcomp holds slurmctld's locks): the uid always, the
	 * name when SLURM or the policy has it (else the writer's thread
	 * fills it in: aif_record_name_user()). */
	rc |= aif_record_add_str(rec, "user", _or(je->user,
				 _or(aif_policy_user_name(p, je->uid), "")));
	rc |= aif_record_add_int(rec, "uid", je->uid);
	rc |= aif_record_add_str(rec, "project", proj->name);
	rc |= aif_record_add_str(rec, "class", proj->klass->name);
	rc |= aif_record_add_str(rec, "mode", proj->mode);
	rc |= aif_record_add_str(rec, "sector", proj->sector);
	rc |= aif_record_add_str(rec, "state", _or(je->state, "?"));
	rc |= aif_record_add_str(rec, "partition",
				 _short(je->partition, fit->strings, buf,
					sizeof(buf)));
	rc |= aif_record_add_str(rec, "qos",
				 _short(je->qos, fit->strings, buf, sizeof(buf)));
	rc |= aif_record_add_str(rec, "nodes",
				 _short(je->nodes, fit->strings, buf,
					sizeof(buf)));
	rc |= aif_record_add_int(rec, "nnodes", je->nnodes);
	_gpu_list(je, text, sizeof(text));
	rc |= aif_record_add_str(rec, "gpus",
				 _short(text, fit->strings, buf, sizeof(buf)));
	rc |= aif_record_add_str(rec, "gpu_index",
				 _short(je->gpu_index, fit->strings, buf,
					sizeof(buf)));
	rc |= aif_record_add_str(rec, "bind", _bind_of(je, proj));
	rc |= aif_record_add_int(rec, "submit", je->submit);
	rc |= aif_record_add_int(rec, "start", je->start);
	rc |= aif_record_add_int(rec, "end", je->end);
	rc |= aif_record_add_int(rec, "elapsed", je->end - je->start);
	rc |= aif_record_add_int(rec, "restart", je->restart_cnt);
	rc |= aif_record_add_int(rec, "amount", charge->total);
	rc |= aif_record_add_int(rec, "overdraw", charge->overdraw);
	rc |= aif_record_add_int(rec, "overdraw_after", charge->overdraw_after);
	rc |= aif_record_add_str(rec, "rule", unknown_rate ?
				 "charge.unknown_rate" : "charge");
	rc |= aif_record_add_str(rec, "policy", aif_policy_hash(p));
	rc |= _add_parts(rec, charge, fit->compact);
	/* The user's, last: cut to what is left of the line. */
	rc |= aif_record_add_str(rec, "name",
				 _short(je->name, fit->strings, buf, sizeof(buf)));
	return rc ? -1 : 0;
}

void aif_run_read(const char *cluster, const struct aif_job_end *je,
		  struct aif_run *run)
{
	aif_run_key(cluster, je, run->key);
	aif_tag_read(je->admin_comment, &run->tag);
}

enum aif_settle_result aif_settle_run(struct aif_ledger *ledger,
				      const struct aif_policy *p,
				      const struct aif_run *run,
				      const struct aif_job_end *je,
				      struct aif_record *rec,
				      struct aif_charge *charge,
				      char *why, size_t len)
{
	struct aif_use uses[AIF_GPU_TYPES_MAX];
	/* The rates frozen into the lien at submit win over today's. */
	const struct aif_lien *frozen = &run->tag.lien;
	const char *run_key = run->key;
	char project[AIF_NAME_MAX];
	const struct aif_project *proj;
	bool unknown_rate = false;
	int64_t elapsed = je->end - je->start;
	size_t n = 0;

	why[0] = '\0';
	if (!je->start || elapsed <= 0 || !je->ngpus)
		return AIF_SETTLE_NOTHING;
	/* The project is the one admission tagged, not a later account. */
	snprintf(project, sizeof(project), "%s",
		 run->tag.klass[0] && frozen->project[0] ?
		 frozen->project : _or(je->account, ""));
	if (!project[0] || !(proj = aif_policy_project(p, project))) {
		snprintf(why, len, "job %u: project '%s' is not in the policy",
			 je->job_id, project);
		return AIF_SETTLE_NOTHING;
	}

	for (unsigned i = 0; i < je->ngpus && i < AIF_GPU_TYPES_MAX; i++) {
		double w = aif_policy_rate(p, je->gpus[i].type, je->qos);

		for (size_t k = 0; k < frozen->nuses; k++)
			if (!strcmp(frozen->uses[k].type, je->gpus[i].type))
				w = frozen->uses[k].weight_milli / 1000.0;

		if (!je->gpus[i].count)
			continue;
		if (w < 0) {
			w = 1.0;	/* a charge is never refused: flag it */
			unknown_rate = true;
		}
		snprintf(uses[n].type, sizeof(uses[n].type), "%s",
			 je->gpus[i].type);
		uses[n].gpus = je->gpus[i].count;
		if (aif_weight_milli(w, &uses[n].weight_milli))
			uses[n].weight_milli = 1000;
		n++;
	}
	if (!n)
		return AIF_SETTLE_NOTHING;
	if (aif_ledger_charge(ledger, proj->name, uses, n, elapsed, je->start,
			      charge)) {
		snprintf(why, len, "job %u: charge to %s failed: %s",
			 je->job_id, proj->name, strerror(errno));
		return AIF_SETTLE_ERROR;
	}

	for (size_t level = 0; level < FIT_LEVELS; level++)
		if (!_charge_record(rec, p, proj, run_key, je, charge,
				    unknown_rate, &_fits[level]))
			return AIF_SETTLE_CHARGED;
	/* Never with the ledger's 32 parts (see _add_parts): a record that
	 * says less than the charge is refused rather than written. */
	snprintf(why, len, "job %u: its charge was drawn from %zu grants and its record cannot hold them all: the record will be refused (%s)",
		 je->job_id, charge->nparts, strerror(E2BIG));
	aif_record_init(rec, AIF_RECORD_CHARGE);
	/* A reserved key: the record remembers the error, the journal
	 * refuses it and the service logs that. */
	aif_record_add_int(rec, "prev", 0);
	return AIF_SETTLE_CHARGED;
}

/* ------------------------------------------------------------------ */
/* Reading a charge record                                               */

/*
 * The parts of a charge record, "part1":"g1=amount[/before/after] g2=...",
 * "part2"...: their sum and count, or -1 for a part that is not one we
 * write. fn, when not NULL, is given each grant and amount; -2 when it
 * fails (with errno).
 */
int aif_charge_parts(const struct aif_record *r,
		     int (*fn)(void *arg, const char *grant, int64_t amount),
		     void *arg, int64_t *sum, size_t *count)
{
	*sum = 0;
	*count = 0;
	for (unsigned i = 1; i <= AIF_RECORD_FIELDS_MAX; i++) {
		const char *parts, *s;
		char key[16];

		snprintf(key, sizeof(key), "part%u", i);
		if (!(parts = aif_record_str(r, key)))
			break;
		for (s = parts; *s; ) {
			char grant[AIF_NAME_MAX], *end;
			size_t glen = strcspn(s, "= ");
			long long amount;

			/* A name, then a number we wrote: digits, no sign. */
			if (s[glen] != '=' || !glen || glen >= sizeof(grant) ||
			    s[glen + 1] < '0' || s[glen + 1] > '9')
				return -1;
			memcpy(grant, s, glen);
			grant[glen] = '\0';
			errno = 0;
			amount = strtoll(s + glen + 1, &end, 10);
			if (errno || end == s + glen + 1 ||
			    (*end && *end != '/' && *end != ' ') ||
			    __builtin_add_overflow(*sum, amount, sum))
				return -1;
			if (fn && fn(arg, grant, amount))
				return -2;
			++*count;
			s = end + strcspn(end, " ");
			s += strspn(s, " ");
		}
	}
	return 0;
}

int aif_settle_check(const struct aif_record *r, char *why, size_t len)
{
	int64_t amount, overdraw = 0, sum;
	size_t n;

	why[0] = '\0';
	/* What the book counts, as it counts it. */
	if (r->type != AIF_RECORD_CHARGE || !aif_record_str(r, "project") ||
	    !aif_record_str(r, "run"))
		return 0;
	if (aif_record_int(r, "amount", &amount)) {
		snprintf(why, len, "a charge with no amount");
		return -1;
	}
	aif_record_int(r, "overdraw", &overdraw);
	if (aif_charge_parts(r, NULL, NULL, &sum, &n)) {
		snprintf(why, len, "a charge with a part that is not grant=amount");
		return -1;
	}
	if (__builtin_add_overflow(sum, overdraw, &sum) || sum != amount) {
		char a[AIF_AMOUNT_STR_MAX], b[AIF_AMOUNT_STR_MAX];

		aif_amount_format(amount, a, sizeof(a));
		aif_amount_format(sum, b, sizeof(b));
		snprintf(why, len, "a charge of %s GPU-hours whose %zu parts and overdraw add up to %s%s",
			 a, n, b, sum < amount ? ": it does not say which grants paid the rest (replay counts that as the project's overdraw)" : "");
		return -1;
	}
	return 0;
}

