/*
 * slurm-aifactory: settling a job's run (see settle.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle.h"

/* ------------------------------------------------------------------ */
/* A string-keyed table of int64 (open addressing, FNV-1a): the run keys
 * charged, and the totals of a replay.                                  */

struct strmap_slot {
	char *key;
	int64_t value;
};

struct strmap {
	size_t cap;	/* a power of two, or 0 */
	size_t n;
	struct strmap_slot *slots;
};

static uint64_t _fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The length of a stored key "a\0b\0" as _slot() counts it. */
static size_t _stored_len(const char *k)
{
	size_t a = strlen(k);

	return a + 1 + strlen(k + a + 1);
}

/* The slot holding key (len bytes, may contain NUL), or the free one.
 * Lengths first: a stored key may be shorter than len, and memcmp must
 * not read past its end. */
static struct strmap_slot *_slot(const struct strmap *m, const char *key,
				 size_t len)
{
	size_t i = _fnv(key, len) & (m->cap - 1);

	while (m->slots[i].key &&
	       (_stored_len(m->slots[i].key) != len ||
		memcmp(m->slots[i].key, key, len)))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static int _grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct strmap_slot *old = m->slots, *slots;
	size_t oldcap = m->cap;

	if (!(slots = calloc(cap, sizeof(*slots))))
		return -1;
	m->slots = slots;
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		const char *k = old[i].key;

		if (k)	/* stored as "a\0b\0": both parts make the key */
			*_slot(m, k, strlen(k) + 1 + strlen(k + strlen(k) + 1)) =
				old[i];
	}
	free(old);
	return 0;
}

/* Keys are stored as "a\0b\0" (b may be empty), len = strlen(a)+1+strlen(b). */
static struct strmap_slot *_lookup(const struct strmap *m, const char *key,
				   size_t len)
{
	struct strmap_slot *s;

	if (!m->cap)
		return NULL;
	s = _slot(m, key, len);
	return s->key ? s : NULL;
}

static struct strmap_slot *_insert(struct strmap *m, const char *key,
				   size_t len)
{
	struct strmap_slot *s;

	if ((s = _lookup(m, key, len)))
		return s;
	if ((m->n + 1) * 2 > m->cap && _grow(m))
		return NULL;
	s = _slot(m, key, len);
	if (!(s->key = malloc(len + 2)))
		return NULL;
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->key[len + 1] = '\0';
	s->value = 0;
	m->n++;
	return s;
}

static void _strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* "a" and "b" as one key of the form the table stores. */
static size_t _pair(const char *a, const char *b, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%c%s", a, '\0', b ? b : "");

	return n < 0 || (size_t) n >= size ? 0 : (size_t) n;
}

/* ------------------------------------------------------------------ */
/* Run keys                                                              */

struct aif_run_keys {
	struct strmap map;
};

struct aif_run_keys *aif_run_keys_new(void)
{
	return calloc(1, sizeof(struct aif_run_keys));
}

void aif_run_keys_free(struct aif_run_keys *keys)
{
	if (!keys)
		return;
	_strmap_free(&keys->map);
	free(keys);
}

bool aif_run_keys_has(const struct aif_run_keys *keys, const char *key)
{
	char buf[AIF_RUN_KEY_MAX + 2];
	size_t len = _pair(key, "", buf, sizeof(buf));

	return len && _lookup(&keys->map, buf, len);
}

int aif_run_keys_add(struct aif_run_keys *keys, const char *key, time_t end)
{
	char buf[AIF_RUN_KEY_MAX + 2];
	size_t len = _pair(key, "", buf, sizeof(buf));
	struct strmap_slot *s;

	if (!len) {
		errno = EINVAL;
		return -1;
	}
	if (!(s = _insert(&keys->map, buf, len)))
		return -1;
	if (s->value < end)
		s->value = end;
	return 0;
}

int aif_run_keys_merge(struct aif_run_keys *dst,
		       const struct aif_run_keys *src)
{
	for (size_t i = 0; i < src->map.cap; i++)
		if (src->map.slots[i].key &&
		    aif_run_keys_add(dst, src->map.slots[i].key,
				     src->map.slots[i].value))
			return -1;
	return 0;
}

/* Keep only the runs that ended at or after since: a new table, swapped
 * in whole (open addressing has no cheap delete). */
static int _run_keys_forget(struct aif_run_keys *keys, time_t since)
{
	struct aif_run_keys kept = { { 0 } };

	for (size_t i = 0; i < keys->map.cap; i++) {
		const struct strmap_slot *s = &keys->map.slots[i];

		if (s->key && s->value >= since &&
		    aif_run_keys_add(&kept, s->key, s->value)) {
			_strmap_free(&kept.map);
			return -1;
		}
	}
	_strmap_free(&keys->map);
	keys->map = kept.map;
	return 0;
}

size_t aif_run_keys_count(const struct aif_run_keys *keys)
{
	return keys->map.n;
}

void aif_run_key(const char *cluster, const struct aif_job_end *je,
		 char key[AIF_RUN_KEY_MAX])
{
	snprintf(key, AIF_RUN_KEY_MAX, "%.40s:%u:%lld", cluster ? cluster : "",
		 je->job_id, (long long) je->start);
}

/* ------------------------------------------------------------------ */
/* Settling a run                                                        */

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
/* Replay                                                                */

struct aif_settle_totals {
	struct strmap map;		/* "project\0grant" -> charged,
					 * "project\0" -> overdraw */
	struct strmap burn;		/* "project\0<day>" -> charged for the
					 * runs that ended that UTC day */
	struct aif_run_keys *keys;
};

struct aif_settle_totals *aif_settle_totals_new(struct aif_run_keys *keys)
{
	struct aif_settle_totals *t = calloc(1, sizeof(*t));

	if (t)
		t->keys = keys;
	return t;
}

void aif_settle_totals_free(struct aif_settle_totals *t)
{
	if (!t)
		return;
	_strmap_free(&t->map);
	_strmap_free(&t->burn);
	free(t);
}

static int _add_to(struct strmap *m, const char *project, const char *what,
		   int64_t amount)
{
	char key[2 * AIF_NAME_MAX + 2];
	size_t len = _pair(project, what, key, sizeof(key));
	struct strmap_slot *s = len ? _insert(m, key, len) : NULL;

	if (!s)
		return -1;
	if (__builtin_add_overflow(s->value, amount, &s->value)) {
		errno = ERANGE;	/* no journal gets there: a forged body */
		return -1;
	}
	return 0;
}

static int _add(struct aif_settle_totals *t, const char *project,
		const char *grant, int64_t amount)
{
	return _add_to(&t->map, project, grant, amount);
}

static long long _day(time_t t)
{
	return (long long) (t / 86400);
}

/* A charge's amount into its project's day, if that day still counts. */
static int _add_burn(struct aif_settle_totals *t, const char *project,
		     long long day, int64_t amount)
{
	char text[24];

	if (day <= _day(time(NULL)) - AIF_BURN_DAYS || amount <= 0)
		return 0;
	snprintf(text, sizeof(text), "%lld", day);
	return _add_to(&t->burn, project, text, amount);
}

aif_amount_t aif_settle_totals_burn(const struct aif_settle_totals *t,
				    const char *project, time_t now)
{
	long long today = _day(now);
	aif_amount_t sum = 0;

	/* One lookup a day: a statement of every project stays linear. */
	for (long long day = today - AIF_BURN_DAYS + 1; day <= today; day++) {
		char text[24], key[AIF_NAME_MAX + 24];
		const struct strmap_slot *s;
		size_t len;

		snprintf(text, sizeof(text), "%lld", day);
		len = _pair(project, text, key, sizeof(key));
		if (len && (s = _lookup(&t->burn, key, len)) &&
		    aif_amount_add(sum, s->value, &sum))
			sum = AIF_AMOUNT_MAX;
	}
	return sum;
}

/*
 * The parts of a charge record, "part1":"g1=amount[/before/after] g2=...",
 * "part2"...: their sum and count, or -1 for a part that is not one we
 * write. fn, when not NULL, is given each grant and amount; -2 when it
 * fails (with errno).
 */
static int _parts(const struct aif_record *r,
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

struct replay_arg {
	struct aif_settle_totals *t;
	const char *project;
};

static int _replay_part(void *arg, const char *grant, int64_t amount)
{
	struct replay_arg *ra = arg;

	return _add(ra->t, ra->project, grant, amount);
}

/*
 * A charge's parts into the totals, and what no part says paid it into
 * *overdraw: the record's overdraw, and for a record written without all
 * its parts (before issue 8's fix, a charge drawn from more than 12
 * grants was journalled with none) what they lack, so that a restart never
 * counts a charge as less than it was. aif_settle_check() names such a
 * record.
 */
static int _replay_parts(struct aif_settle_totals *t,
			 const struct aif_record *r, const char *project,
			 int64_t *overdraw)
{
	struct replay_arg ra = { t, project };
	int64_t amount = 0, sum;
	size_t n;

	*overdraw = 0;
	aif_record_int(r, "overdraw", overdraw);
	switch (_parts(r, _replay_part, &ra, &sum, &n)) {
	case -2:
		return -1;
	case -1:
		return 0;	/* not ours: verify names it */
	}
	if (!aif_record_int(r, "amount", &amount) && amount > sum &&
	    amount - sum > *overdraw)
		*overdraw = amount - sum;
	return 0;
}

int aif_settle_check(const struct aif_record *r, char *why, size_t len)
{
	int64_t amount, overdraw = 0, sum;
	size_t n;

	why[0] = '\0';
	/* What replay counts, as it counts it. */
	if (r->type != AIF_RECORD_CHARGE || !aif_record_str(r, "project") ||
	    !aif_record_str(r, "run"))
		return 0;
	if (aif_record_int(r, "amount", &amount)) {
		snprintf(why, len, "a charge with no amount");
		return -1;
	}
	aif_record_int(r, "overdraw", &overdraw);
	if (_parts(r, NULL, NULL, &sum, &n)) {
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

/* A charge's run, overdraw and day of burn into the totals (its parts
 * are the caller's): the one place a replayed record and a fresh charge
 * meet. amount < 0: not known. */
static int _count(struct aif_settle_totals *t, const char *project,
		  const char *run, time_t end, int64_t overdraw,
		  int64_t amount)
{
	if (t->keys && aif_run_keys_add(t->keys, run, end))
		return -1;
	if (overdraw && _add(t, project, "", overdraw))
		return -1;
	if (amount >= 0 && _add_burn(t, project, _day(end), amount))
		return -1;
	return 0;
}

int aif_settle_replay(const struct aif_record *r, void *arg)
{
	struct aif_settle_totals *t = arg;
	const char *project, *run;
	int64_t overdraw = 0, end = 0, amount = -1;

	if (r->type != AIF_RECORD_CHARGE)
		return 0;
	project = aif_record_str(r, "project");
	run = aif_record_str(r, "run");
	if (!project || !run)
		return 0;	/* not one of ours: verify judges records */
	aif_record_int(r, "end", &end);
	if (aif_record_int(r, "amount", &amount))
		amount = -1;
	if (_replay_parts(t, r, project, &overdraw))
		return -1;
	return _count(t, project, run, (time_t) end, overdraw, amount);
}

int aif_settle_totals_charge(struct aif_settle_totals *t, const char *run,
			     time_t end, const struct aif_charge *c)
{
	for (size_t i = 0; i < c->nparts; i++)
		if (_add(t, c->project, c->parts[i].grant, c->parts[i].amount))
			return -1;
	return _count(t, c->project, run, end, c->overdraw, c->total);
}

int aif_settle_replay_apply(struct aif_settle_totals *t,
			    struct aif_ledger *ledger, char *why, size_t len)
{
	int rc = 0;

	why[0] = '\0';
	for (size_t i = 0; i < t->map.cap; i++) {
		const char *project = t->map.slots[i].key, *grant;
		int64_t value = t->map.slots[i].value;
		int err;

		if (!project)
			continue;
		grant = project + strlen(project) + 1;
		err = grant[0] ?
			aif_ledger_set_charged(ledger, project, grant, value) :
			aif_ledger_set_overdraw(ledger, project, value);
		if (err) {
			/* A grant gone from the policy: its charges stay in
			 * the journal; say so once, go on with the rest. */
			snprintf(why, len, "journal charges to %s%s%s not in the ledger: %s",
				 project, grant[0] ? "/" : "", grant,
				 strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The totals as a snapshot body                                         */

#define BOOK_MAGIC "aifactory-ledger 1\n"

/* Names and run keys are written between spaces: none may hold one. */
static bool _word(const char *s)
{
	return s[0] && !s[strcspn(s, " \t\r\n")];
}

int aif_settle_totals_save(struct aif_settle_totals *t, time_t forget_before,
			   char **body, size_t *len)
{
	FILE *f;
	int rc = 0;

	*body = NULL;
	*len = 0;
	if (t->keys && _run_keys_forget(t->keys, forget_before))
		return -1;
	if (!(f = open_memstream(body, len)))
		return -1;
	fputs(BOOK_MAGIC, f);
	for (size_t i = 0; i < t->map.cap && !rc; i++) {
		const char *project = t->map.slots[i].key, *grant;
		long long value = (long long) t->map.slots[i].value;

		if (!project)
			continue;
		grant = project + strlen(project) + 1;
		if (!_word(project) || (grant[0] && !_word(grant)))
			rc = -1;
		else if (grant[0])
			fprintf(f, "charged %s %s %lld\n", project, grant, value);
		else
			fprintf(f, "overdraw %s %lld\n", project, value);
	}
	for (size_t i = 0; i < t->burn.cap && !rc; i++) {
		const char *project = t->burn.slots[i].key;
		long long day;

		if (!project)
			continue;
		day = strtoll(project + strlen(project) + 1, NULL, 10);
		if (day <= _day(time(NULL)) - AIF_BURN_DAYS)
			continue;	/* gone from every burn rate */
		if (!_word(project))
			rc = -1;
		else
			fprintf(f, "burn %s %lld %lld\n", project, day,
				(long long) t->burn.slots[i].value);
	}
	for (size_t i = 0; t->keys && i < t->keys->map.cap && !rc; i++) {
		const struct strmap_slot *s = &t->keys->map.slots[i];

		if (!s->key)
			continue;
		if (!_word(s->key))
			rc = -1;
		else
			fprintf(f, "run %s %lld\n", s->key, (long long) s->value);
	}
	if (fclose(f) || rc) {
		free(*body);
		*body = NULL;
		*len = 0;
		errno = rc ? EINVAL : errno;
		return -1;
	}
	return 0;
}

/* The next space-separated word of a line: NUL-terminated in place. */
static char *_next_word(char **cursor)
{
	char *w = *cursor, *end;

	if (!*w)
		return NULL;
	end = w + strcspn(w, " ");
	*cursor = *end ? end + 1 : end;
	*end = '\0';
	return w[0] ? w : NULL;
}

static bool _integer(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* One line of a body (NUL-terminated, no newline). */
static int _load_line(struct aif_settle_totals *t, char *line)
{
	char *cursor = line, *kind = _next_word(&cursor);
	char *a = _next_word(&cursor), *b = _next_word(&cursor);
	char *c = _next_word(&cursor);
	int64_t value, day;

	if (!kind || !a || _next_word(&cursor))
		return -1;
	if (!strcmp(kind, "charged") && c && _integer(c, &value))
		return _add(t, a, b, value);
	if (!strcmp(kind, "overdraw") && !c && _integer(b, &value))
		return _add(t, a, "", value);
	if (!strcmp(kind, "run") && !c && _integer(b, &value))
		return t->keys ? aif_run_keys_add(t->keys, a, (time_t) value) : 0;
	if (!strcmp(kind, "burn") && c && _integer(b, &day) &&
	    _integer(c, &value))
		return _add_burn(t, a, (long long) day, value);
	return -1;
}

int aif_settle_totals_load(struct aif_settle_totals *t, const char *body,
			   size_t len, char *why, size_t wlen)
{
	size_t magic = strlen(BOOK_MAGIC), lineno = 1;
	char line[2 * AIF_NAME_MAX + AIF_RUN_KEY_MAX + 64];

	why[0] = '\0';
	if (len < magic || memcmp(body, BOOK_MAGIC, magic)) {
		snprintf(why, wlen, "the snapshot does not start with \"%.*s\"",
			 (int) magic - 1, BOOK_MAGIC);
		errno = EBADMSG;
		return -1;
	}
	for (size_t at = magic; at < len; ) {
		const char *nl = memchr(body + at, '\n', len - at);
		size_t n = nl ? (size_t) (nl - (body + at)) : len - at;

		lineno++;
		if (!nl || n >= sizeof(line) || memchr(body + at, '\0', n)) {
			snprintf(why, wlen, "snapshot line %zu: %s", lineno,
				 nl ? "too long" : "no newline at the end");
			errno = EBADMSG;
			return -1;
		}
		memcpy(line, body + at, n);
		line[n] = '\0';
		errno = 0;
		if (_load_line(t, line)) {
			snprintf(why, wlen, "snapshot line %zu: %s", lineno,
				 errno == ENOMEM ? "out of memory" :
				 "not a charged, overdraw, burn or run line");
			errno = errno == ENOMEM ? ENOMEM : EBADMSG;
			return -1;
		}
		at += n + 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The user's name in a record                                          */

/*
 * uid -> name, as NSS said, for the writer's thread: a user who submits
 * a thousand jobs costs one lookup an hour, and an NSS that hangs (an
 * LDAP server down) is asked again only after NAMES_RETRY.
 */
#define NAMES_MAX 1024
#define NAMES_KEEP 3600		/* seconds a name is trusted */
#define NAMES_RETRY 300		/* seconds before a failed lookup again */

static struct {
	pthread_mutex_t lock;
	size_t next;		/* the slot the next new uid takes */
	struct {
		uid_t uid;
		time_t at;	/* 0: free slot */
		char name[AIF_NAME_MAX];	/* "": no such user */
	} slot[NAMES_MAX];
} _names = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The name of uid into name (AIF_NAME_MAX), "" if it has none. */
static void _user_name(uid_t uid, char name[AIF_NAME_MAX])
{
	struct passwd pw, *res = NULL;
	time_t now = time(NULL);
	char buf[4096];
	size_t i;

	pthread_mutex_lock(&_names.lock);
	for (i = 0; i < NAMES_MAX; i++)
		if (_names.slot[i].at && _names.slot[i].uid == uid)
			break;
	if (i < NAMES_MAX && now - _names.slot[i].at <
	    (_names.slot[i].name[0] ? NAMES_KEEP : NAMES_RETRY)) {
		memcpy(name, _names.slot[i].name, AIF_NAME_MAX);
		pthread_mutex_unlock(&_names.lock);
		return;
	}
	pthread_mutex_unlock(&_names.lock);

	name[0] = '\0';
	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res &&
	    strlen(pw.pw_name) < AIF_NAME_MAX)
		snprintf(name, AIF_NAME_MAX, "%s", pw.pw_name);

	pthread_mutex_lock(&_names.lock);
	if (i == NAMES_MAX) {
		i = _names.next;
		_names.next = (_names.next + 1) % NAMES_MAX;
	}
	_names.slot[i].uid = uid;
	_names.slot[i].at = now;
	memcpy(_names.slot[i].name, name, AIF_NAME_MAX);
	pthread_mutex_unlock(&_names.lock);
}

int aif_record_name_user(struct aif_record *rec)
{
	struct aif_record named;
	const char *user = aif_record_str(rec, "user");
	char name[AIF_NAME_MAX];
	size_t n = aif_record_nfields(rec);
	int64_t uid;

	/* A record the journal refuses stays as it is (refused). */
	if (rec->error || (user && user[0]) || aif_record_int(rec, "uid", &uid) ||
	    uid < 0 || (int64_t) (uid_t) uid != uid)
		return 0;
	_user_name((uid_t) uid, name);
	if (!name[0])
		return 0;	/* no such user: the uid says it all */

	aif_record_init(&named, rec->type);
	named.time = rec->time;
	for (size_t i = 0; i < n; i++) {
		const char *key, *str, *kept;
		int64_t num;

		aif_record_field(rec, i, &key, &str, &num);
		if (!user && !strcmp(key, "uid") &&
		    aif_record_add_str(&named, "user", name))
			return -1;
		if (!str) {
			if (aif_record_add_int(&named, key, num))
				return -1;
			continue;
		}
		if (aif_record_add_str(&named, key,
				       strcmp(key, "user") ? str : name))
			return -1;
		/* Only the last field, the user's, may be cut more: never a
		 * part of a charge. */
		kept = aif_record_str(&named, key);
		if (i + 1 < n && strcmp(key, "user") && strcmp(kept, str))
			return -1;
	}
	*rec = named;
	return 0;
}
