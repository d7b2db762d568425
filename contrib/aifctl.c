/*
 * aifctl: the command-line tool of slurm-aifactory, for operators, users
 * and auditors. It uses the same policy library as the plugins, so what
 * it says is what slurmctld would do.
 *
 *   aifctl check [FILE]        validate a policy
 *   aifctl explain [OPTIONS]   what job_submit/aifactory would decide
 *   aifctl audit verify [DIR]  check the journal's hash chain
 *   aifctl balance [OPTIONS]   grants, charges, liens and burn rate
 *   aifctl report [OPTIONS]    GPU-hours and runs per project, class...
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admit.h"
#include "aifactory.h"
#include "balance.h"
#include "date.h"
#include "journal.h"
#include "ledger.h"
#include "query.h"
#include "settle.h"

static const char usage_text[] =
	"usage: aifctl check [FILE]\n"
	"       aifctl explain [--policy FILE] [--journal DIR] [-u USER] [-A PROJECT]\n"
	"                      [-p PARTITION]\n"
	"                      [-q QOS] [-t TIME] [-N NODES] [-n NTASKS]\n"
	"                      [--ntasks-per-node N] [--sockets-per-node N]\n"
	"                      [--gres=gpu[:TYPE]:N] [--gpus=[TYPE:]N]\n"
	"                      [--gpus-per-node=[TYPE:]N] [--gpus-per-task=[TYPE:]N]\n"
	"                      [--gpus-per-socket=[TYPE:]N]\n"
	"       aifctl audit verify [DIR]\n"
	"       aifctl audit archive [DIR] --to ARCHIVE\n"
	"       aifctl balance [-A PROJECT] [--policy FILE] [--journal DIR]\n"
	"       aifctl report [--by class|project|sector|mode]\n"
	"                     [--month YYYY-MM | --from YYYY-MM-DD --to YYYY-MM-DD]\n"
	"                     [--format table|csv|json] [--journal DIR]\n"
	"\n"
	"FILE defaults to aifactory.json next to slurm.conf ($SLURM_CONF,\n"
	"else /etc/slurm/slurm.conf); DIR to aifactory under its StateSaveLocation.\n";

static int _usage(FILE *f)
{
	fputs(usage_text, f);
	return f == stdout ? 0 : 2;
}

/* The policy next to slurm.conf, as the plugins find it. */
static const char *_default_policy(char *buf, size_t len)
{
	const char *conf = getenv("SLURM_CONF");
	char copy[4096];

	snprintf(copy, sizeof(copy), "%s",
		 conf && conf[0] ? conf : "/etc/slurm/slurm.conf");
	snprintf(buf, len, "%s/aifactory.json", dirname(copy));
	return buf;
}

static struct aif_policy *_load(const char *path, bool quiet_ok)
{
	struct aif_load_report report = { 0 };
	struct aif_policy *p = aif_policy_load(path, NULL, &report);
	char line[AIF_ERR_MAX + 600];

	for (size_t i = 0; i < report.nwarnings; i++) {
		aif_load_error_format(&report.warnings[i], line, sizeof(line));
		fprintf(stderr, "warning: %s\n", line);
	}
	for (size_t i = 0; i < report.nerrors; i++) {
		aif_load_error_format(&report.errors[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (!p)
		fprintf(stderr, "%s: refused: %zu error%s\n", path,
			report.nerrors ? report.nerrors : 1,
			report.nerrors == 1 ? "" : "s");
	aif_load_report_free(&report);
	if (p && !quiet_ok)
		printf("%s: OK: %zu classes, %zu projects, sha256 %s\n", path,
		       aif_policy_nclasses(p), aif_policy_nprojects(p),
		       aif_policy_hash(p));
	return p;
}

static int _check(int argc, char **argv)
{
	char buf[4096];
	const char *path;
	struct aif_policy *p;

	if (argc > 2)
		return _usage(stderr);
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return _usage(stdout);
	path = argc == 2 ? argv[1] : _default_policy(buf, sizeof(buf));
	p = _load(path, false);
	if (!p)
		return 1;
	aif_policy_unref(p);
	return 0;
}

/* "--gpus=h100:2,a100:1" -> "gpu:h100:2,gpu:a100:1" (the --gres form). */
static char *_gpu_option(const char *value)
{
	/* Each item gains "gpu:"; there are at most len / 2 + 1 items. */
	size_t len = strlen(value), size = 3 * len + 8, used = 0;
	char *out = malloc(size);
	const char *s = value;

	if (!out)
		return NULL;
	do {
		size_t n = strcspn(s, ",");

		used += (size_t) snprintf(out + used, size - used, "%sgpu:%.*s",
					  used ? "," : "", (int) n, s);
		s += n;
	} while (*s++ && used < size);
	return out;
}

/* A count, or "MIN-MAX" taken at its upper end, as the plugin does. */
static int _number(const char *opt, const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end != s && *end == '-' && end[1])
		v = strtoul(s = end + 1, &end, 10);
	if (end == s || *end || v > UINT32_MAX - 1) {
		fprintf(stderr, "aifctl: %s: not a count: %s\n", opt, s);
		return -1;
	}
	*out = (uint32_t) v;
	return 0;
}

static void _print_gpus(const struct aif_gpus *g, uint32_t nodes)
{
	printf("nodes:     %u\n", nodes ? nodes : 1);
	if (!g->total) {
		printf("gpus:      none\n");
		return;
	}
	printf("gpus:      %llu (", (unsigned long long) g->total);
	for (unsigned i = 0; i < g->ntypes; i++) {
		const struct aif_gpu_count *c = &g->by_type[i];

		printf("%s%s %llu", i ? ", " : "",
		       c->type[0] ? c->type : "any type",
		       (unsigned long long) c->total);
		if (c->per_node)
			printf(", %llu per node",
			       (unsigned long long) c->per_node);
	}
	printf(")\n");
}

static void _print_decision(const struct aif_decision *d)
{
	static const char *const verdicts[] = { "accept", "reshape", "refuse" };
	char t[32];

	printf("decision:  %s (rule %s)\n", verdicts[d->verdict], d->rule);
	if (d->project)
		printf("project:   %s (class %s, mode %s%s%s)\n",
		       d->project->name, d->klass->name, d->project->mode,
		       d->project->sector[0] ? ", sector " : "",
		       d->project->sector);
	if (d->verdict == AIF_REFUSE) {
		printf("message:\n%s\n", d->message);
		return;
	}
	if (d->account[0])
		printf("set:       account=%s\n", d->account);
	if (d->partition[0])
		printf("set:       partition=%s\n", d->partition);
	if (d->qos[0])
		printf("set:       qos=%s\n", d->qos);
	if (d->time_limit) {
		aif_format_minutes(d->time_limit, t, sizeof(t));
		printf("set:       time=%s\n", t);
	}
	printf("tag:       %s\n", d->tag);
}

/* balance's, used by explain to price against the same ledger. */
static const char *_slurm_conf(void);
static int _default_journal_dir(char *buf, size_t len, char *from,
				size_t fromlen);
static int _balance_reserved(struct aif_ledger *ledger);

/*
 * The ledger explain prices a lien against (slurmctld's own is in its
 * memory): the policy's grants, plus what the journal charged and the
 * liens of the queued jobs when the journal can be read (root and
 * SlurmUser, or anyone naming a readable one with --journal). says tells
 * the user which it was. NULL only for want of memory or a bad grant.
 */
static struct aif_ledger *_explain_ledger(const struct aif_policy *p,
					  const char *dir, char *says,
					  size_t len)
{
	struct aif_ledger *ledger = aif_ledger_new();
	struct aif_settle_totals *totals = NULL;
	struct aif_verify_report rep;
	char dirbuf[PATH_MAX], from[PATH_MAX + 96], why[AIF_ERR_MAX];

	snprintf(says, len, "the policy's grants, nothing charged or reserved "
		 "(only root and SlurmUser can read the journal; aifctl "
		 "balance shows what is left)");
	if (!ledger || aif_ledger_sync(ledger, p, why, sizeof(why))) {
		fprintf(stderr, "aifctl: %s\n", ledger ? why : strerror(ENOMEM));
		aif_ledger_free(ledger);
		return NULL;
	}
	if (!dir && geteuid() != 0)
		return ledger;
	if (!dir) {
		/* Without a slurm.conf here, the grants alone are priced. */
		if (access(_slurm_conf(), R_OK) ||
		    _default_journal_dir(dirbuf, sizeof(dirbuf), from,
					 sizeof(from))) {
			snprintf(says, len, "the policy's grants, nothing "
				 "charged or reserved (no journal found from "
				 "slurm.conf)");
			return ledger;
		}
		dir = dirbuf;
	}
	if (!(totals = aif_settle_totals_new(NULL)) ||
	    aif_journal_replay(dir, 0, NULL, aif_settle_replay, totals, &rep)) {
		snprintf(says, len, "the policy's grants, nothing charged or "
			 "reserved (the journal in %.256s cannot be read: %.200s)",
			 dir, totals && rep.message[0] ? rep.message :
			 strerror(errno));
		aif_settle_totals_free(totals);
		return ledger;
	}
	if (aif_settle_replay_apply(totals, ledger, why, sizeof(why)))
		fprintf(stderr, "aifctl: warning: %s\n", why);
	aif_settle_totals_free(totals);
	if (_balance_reserved(ledger))
		snprintf(says, len, "the journal in %.256s; the liens of queued "
			 "jobs are unknown (squeue failed)", dir);
	else
		snprintf(says, len, "the journal in %.256s, and the liens of "
			 "queued jobs (squeue)", dir);
	return ledger;
}

enum {
	OPT_POLICY = 256, OPT_GRES, OPT_GPUS, OPT_GPN, OPT_GPT, OPT_GPS,
	OPT_TPN, OPT_SPN, OPT_BY, OPT_MONTH, OPT_FROM, OPT_TO, OPT_FORMAT,
};

static int _explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "journal", required_argument, NULL, 'J' },
		{ "user", required_argument, NULL, 'u' },
		{ "account", required_argument, NULL, 'A' },
		{ "partition", required_argument, NULL, 'p' },
		{ "qos", required_argument, NULL, 'q' },
		{ "time", required_argument, NULL, 't' },
		{ "nodes", required_argument, NULL, 'N' },
		{ "ntasks", required_argument, NULL, 'n' },
		{ "ntasks-per-node", required_argument, NULL, OPT_TPN },
		{ "sockets-per-node", required_argument, NULL, OPT_SPN },
		{ "gres", required_argument, NULL, OPT_GRES },
		{ "gpus", required_argument, NULL, OPT_GPUS },
		{ "gpus-per-node", required_argument, NULL, OPT_GPN },
		{ "gpus-per-task", required_argument, NULL, OPT_GPT },
		{ "gpus-per-socket", required_argument, NULL, OPT_GPS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[4096], says[1024];
	const char *path = NULL, *user = NULL, *journal = NULL;
	char *gres = NULL, *gpus = NULL, *gpn = NULL, *gpt = NULL, *gps = NULL;
	struct aif_gpu_spec spec = { 0 };
	struct aif_request req = { .now = time(NULL) };
	struct aif_decision d;
	struct aif_policy *p = NULL;
	struct aif_ledger *ledger = NULL;
	gid_t gid;
	int c, rc = 2;
	struct passwd *pw;

	while ((c = getopt_long(argc, argv, "u:A:p:q:t:N:n:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case OPT_POLICY: path = optarg; break;
		case 'J': journal = optarg; break;
		case 'u': user = optarg; break;
		case 'A': req.account = optarg; break;
		case 'p': req.partition = optarg; break;
		case 'q': req.qos = optarg; break;
		case 't':
			if (aif_parse_minutes(optarg, &req.time_limit)) {
				fprintf(stderr, "aifactory: -t: not a time limit: %s\n",
					optarg);
				goto out;
			}
			break;
		case 'N':
			if (_number("-N", optarg, &spec.nodes))
				goto out;
			break;
		case 'n':
			if (_number("-n", optarg, &spec.ntasks))
				goto out;
			break;
		case OPT_TPN:
			if (_number("--ntasks-per-node", optarg,
				    &spec.ntasks_per_node))
				goto out;
			break;
		case OPT_SPN:
			if (_number("--sockets-per-node", optarg,
				    &spec.sockets_per_node))
				goto out;
			break;
		case OPT_GRES: free(gres); gres = strdup(optarg); break;
		case OPT_GPUS: free(gpus); gpus = _gpu_option(optarg); break;
		case OPT_GPN: free(gpn); gpn = _gpu_option(optarg); break;
		case OPT_GPT: free(gpt); gpt = _gpu_option(optarg); break;
		case OPT_GPS: free(gps); gps = _gpu_option(optarg); break;
		case 'h': rc = _usage(stdout); goto out;
		default: rc = _usage(stderr); goto out;
		}
	}
	if (optind != argc) {
		rc = _usage(stderr);
		goto out;
	}

	pw = user ? getpwnam(user) : getpwuid(getuid());
	if (!pw) {
		fprintf(stderr, "aifctl: no such user: %s\n", user ? user : "(me)");
		goto out;
	}
	/* job_submit sees the job's (primary) group only: so does explain;
	 * members of a project's groups are resolved when the policy loads. */
	gid = pw->pw_gid;
	req.uid = pw->pw_uid;
	req.gids = &gid;
	req.ngids = 1;

	/* sbatch puts --gres and --gpus-per-node both into tres_per_node. */
	if (gres && gpn) {
		fprintf(stderr, "aifctl: give --gres or --gpus-per-node, not both\n");
		goto out;
	}
	spec.tres_per_node = gres ? gres : gpn;
	spec.tres_per_job = gpus;
	spec.tres_per_task = gpt;
	spec.tres_per_socket = gps;
	req.nodes = spec.nodes;

	if (!(p = _load(path ? path : _default_policy(buf, sizeof(buf)), true)))
		goto out;
	if (!(ledger = _explain_ledger(p, journal, says, sizeof(says))))
		goto out;
	/* job_submit's admission, lien included, reserving nothing. */
	aif_admit(p, ledger, &spec, &req, AIF_ADMIT_DRY_RUN, &d);
	printf("user:      %s (uid %u)\n", pw->pw_name, (unsigned) pw->pw_uid);
	_print_gpus(&req.gpus, spec.nodes);
	printf("ledger:    %s\n", says);
	_print_decision(&d);
	rc = d.verdict == AIF_REFUSE ? 1 : 0;
out:
	aif_ledger_free(ledger);
	aif_policy_unref(p);
	free(gres);
	free(gpus);
	free(gpn);
	free(gpt);
	free(gps);
	return rc;
}

/* ------------------------------------------------------------------ */
/* audit verify                                                         */

/* slurm.conf, as SLURM's commands find it. */
static const char *_slurm_conf(void)
{
	const char *conf = getenv("SLURM_CONF");

	return conf && conf[0] ? conf : "/etc/slurm/slurm.conf";
}

/* Cut a physical line at its comment: a "#" after an even number of
 * backslashes (SLURM's _strip_comments). */
static void _conf_strip_comment(char *s)
{
	unsigned bs = 0;

	for (; *s; s++) {
		if (*s == '#' && !(bs % 2)) {
			*s = '\0';
			return;
		}
		bs = *s == '\\' ? bs + 1 : 0;
	}
}

/* A line continued on the next: an odd number of backslashes at its end,
 * blanks after them allowed. Cuts them off; true if continued. */
static bool _conf_strip_continuation(char *s)
{
	size_t n = strlen(s), bs = 0;

	while (n && isspace((unsigned char) s[n - 1]))
		n--;
	while (bs < n && s[n - 1 - bs] == '\\')
		bs++;
	if (!(bs % 2))
		return false;
	s[n - 1] = '\0';	/* the others are escaped backslashes */
	return true;
}

/* "\x" is x (SLURM's _strip_escapes). */
static void _conf_strip_escapes(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s == '\\' && !*++s)
			break;
		*out++ = *s;
	}
	*out = '\0';
}

/* Look for key in one logical line of Key=Value pairs (SLURM's
 * keyvalue_pattern: blanks around "=", a value in double quotes may hold
 * blanks). found: 1 copied into out, -1 too long for out. */
static void _conf_line(const char *s, const char *key, char *out, size_t len,
		       int *found, bool *include)
{
	while (isspace((unsigned char) *s))
		s++;
	if (!strncasecmp(s, "include", 7) && isspace((unsigned char) s[7])) {
		*include = true;
		return;
	}
	while (*s) {
		const char *k = s, *v, *q;
		size_t klen = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789_.");
		size_t vlen;
		bool op = false;

		s += klen;
		while (isspace((unsigned char) *s))
			s++;
		if (*s && strchr("-*+/", *s)) {	/* Key+=Value and the like */
			op = true;
			s++;
		}
		if (!klen || *s != '=') {
			/* Not a pair: skip this word. */
			s += strcspn(s, " \t\r\n\v\f");
			goto next;
		}
		s++;
		while (isspace((unsigned char) *s))
			s++;
		v = s;
		q = *s == '"' ? strchr(s + 1, '"') : NULL;
		if (q && (!q[1] || isspace((unsigned char) q[1]))) {
			v = s + 1;
			vlen = (size_t) (q - v);
			s = q + 1;
		} else {
			vlen = strcspn(s, " \t\r\n\v\f");
			s += vlen;
		}
		if (vlen && !op && klen == strlen(key) &&
		    !strncasecmp(k, key, klen)) {
			if (vlen < len) {
				memcpy(out, v, vlen);
				out[vlen] = '\0';
				*found = 1;
			} else {
				*found = -1;
			}
		}
next:
		while (isspace((unsigned char) *s))
			s++;
	}
}

/*
 * The value of key in the slurm.conf at path, read as slurmctld reads it
 * (src/common/parse_config.c): a line ending in "\" goes on in the next;
 * "#" starts a comment unless escaped; "\x" is x; a line holds Key=Value
 * pairs; keys are matched without regard to case; the last value wins.
 * Include lines are not followed: *include says one was seen.
 * 1 found, 0 not there, -1 with errno (ENAMETOOLONG: longer than len).
 */
static int _conf_get(const char *path, const char *key, char *out,
		     size_t len, bool *include)
{
	char *line = NULL, *logical = NULL;
	size_t cap = 0, used = 0, lcap = 0;
	int found = 0, err = 0;
	bool more = false;
	FILE *f;

	*include = false;
	if (!(f = fopen(path, "re")))
		return -1;
	for (;;) {
		ssize_t n = getline(&line, &cap, f);

		if (n >= 0) {
			_conf_strip_comment(line);
			more = _conf_strip_continuation(line);
			n = (ssize_t) strlen(line);
			if (used + (size_t) n + 1 > lcap) {
				size_t ncap = (used + (size_t) n + 1) * 2;
				char *nl = realloc(logical, ncap);

				if (!nl) {
					err = ENOMEM;
					break;
				}
				logical = nl;
				lcap = ncap;
			}
			memcpy(logical + used, line, (size_t) n + 1);
			used += (size_t) n;
			if (more)
				continue;
		} else if (ferror(f)) {
			err = errno ? errno : EIO;
			break;
		} else if (!used) {
			break;
		}
		_conf_strip_escapes(logical);
		_conf_line(logical, key, out, len, &found, include);
		used = 0;
		if (n < 0)
			break;
	}
	free(line);
	free(logical);
	fclose(f);
	if (!err && found < 0)
		err = ENAMETOOLONG;
	if (err) {
		errno = err;
		return -1;
	}
	return found;
}

/* <StateSaveLocation>/aifactory, and where that came from; or -1 after
 * saying why not. */
static int _default_journal_dir(char *buf, size_t len, char *from,
				size_t fromlen)
{
	const char *conf = _slurm_conf();
	char state[PATH_MAX];
	bool include;
	int rc = _conf_get(conf, "StateSaveLocation", state, sizeof(state),
			   &include);
	size_t n;

	if (rc < 0) {
		fprintf(stderr, "aifctl: %s: cannot read StateSaveLocation: %s\n"
			"  give the journal directory: aifctl audit verify DIR\n",
			conf, strerror(errno));
		return -1;
	}
	if (!rc && include) {
		fprintf(stderr, "aifctl: %s: no StateSaveLocation in it (its "
			"Include lines are not followed)\n"
			"  give the journal directory: aifctl audit verify DIR\n",
			conf);
		return -1;
	}
	if (!rc) {	/* slurmctld's default (DEFAULT_SAVE_STATE_LOC) */
		snprintf(state, sizeof(state), "/var/spool");
		snprintf(from, fromlen, "from SLURM's default StateSaveLocation "
			 "(/var/spool): %s does not set it", conf);
	} else {
		snprintf(from, fromlen, "from StateSaveLocation in %s", conf);
	}
	n = strlen(state);
	while (n > 1 && state[n - 1] == '/')
		state[--n] = '\0';
	if ((size_t) snprintf(buf, len, "%s%saifactory", state,
			      n > 1 || state[0] != '/' ? "/" : "") >= len) {
		fprintf(stderr, "aifctl: %s: StateSaveLocation is too long\n",
			conf);
		return -1;
	}
	return 0;
}

/* Where a report's file is: dir itself, or a file in it. */
static void _audit_where(const char *dir, const char *file, char *buf,
			 size_t len)
{
	if (!file[0] || !strcmp(file, ".") || !strcmp(file, dir))
		snprintf(buf, len, "%s", dir);
	else
		snprintf(buf, len, "%s/%s", dir, file);
}

/* What is wrong: the report's message without its "file:line: seq N: ". */
static const char *_audit_what(const struct aif_verify_report *rep)
{
	char prefix[AIF_JOURNAL_NAME_MAX + 64];
	size_t n = 0;

	if (rep->file[0] && rep->line)
		n = (size_t) snprintf(prefix, sizeof(prefix), "%s:%" PRIu64
				      ": ", rep->file, rep->line);
	else if (rep->file[0])
		n = (size_t) snprintf(prefix, sizeof(prefix), "%s: ",
				      rep->file);
	if (rep->seq && n < sizeof(prefix))
		n += (size_t) snprintf(prefix + n, sizeof(prefix) - n,
				       "seq %" PRIu64 ": ", rep->seq);
	if (n < sizeof(prefix) && !strncmp(rep->message, prefix, n))
		return rep->message + n;
	return rep->message;
}

/* What a problem means to an auditor, in one line. */
static const char *_audit_meaning(const struct aif_verify_report *rep)
{
	switch (rep->problem) {
	case AIF_CHAIN_HASH:
		return "edited: this record was changed after it was written; "
			"what it says cannot be trusted";
	case AIF_CHAIN_GAP:
		return "deleted: records that were written are no longer in "
			"the journal (lines, or a whole rotated file, removed)";
	case AIF_CHAIN_ORDER:
		if (rep->seq > rep->last_seq + 1)
			return "reordered: records were moved; the one due "
				"here comes later";
		return "inserted: a record that belongs earlier in the chain "
			"is here too (copied, moved back or added)";
	case AIF_CHAIN_PREV:
		return "inserted or rewritten: this record does not follow "
			"the one before it (one was put in, or replaced with "
			"a recomputed hash)";
	case AIF_CHAIN_TORN:
		return "truncated: the journal was cut short inside its last "
			"record (the file was truncated, or a write was cut "
			"by a crash)";
	case AIF_CHAIN_SHORT:
		return "truncated: records the snapshot covers are missing "
			"from the end of the journal";
	case AIF_CHAIN_FILE:
		return "deleted or renamed: the rotated files do not fit "
			"together (a file renamed, replaced, emptied or cut "
			"short)";
	case AIF_CHAIN_ANCHOR:
		return "replaced: the snapshot and the journal are not one "
			"chain (one of them was replaced)";
	case AIF_CHAIN_SYNTAX:
		return "unreadable: this line is not a record as slurmctld "
			"writes it (garbled, or edited by hand)";
	case AIF_CHAIN_UNSAFE:
		return "unreadable: not a regular file where a journal file "
			"should be";
	default:
		return "unexpected: the chain could not be checked to its end";
	}
}

/* Why verify could not read dir (exit 2): the report, and what to do. */
static void _audit_cannot(const char *dir, const char *from,
			  const struct aif_verify_report *rep, int err)
{
	char where[PATH_MAX + AIF_JOURNAL_NAME_MAX];
	struct stat st;
	struct passwd *pw;

	_audit_where(dir, rep->file, where, sizeof(where));
	fprintf(stderr, "aifctl: %s", where);
	if (rep->line)
		fprintf(stderr, ":%" PRIu64, rep->line);
	fprintf(stderr, ": %s\n", rep->message[0] ? _audit_what(rep)
		: strerror(err));
	if (err == EACCES || err == EPERM) {
		fprintf(stderr, "  the journal is SlurmUser's and mode 0600: "
			"run as root");
		if (!stat(where, &st) && (pw = getpwuid(st.st_uid)))
			fprintf(stderr, "%s%s (the owner of %s, mode %04o)\n",
				st.st_uid ? " or as " : "",
				st.st_uid ? pw->pw_name : "", where,
				(unsigned) (st.st_mode & 07777));
		else
			fprintf(stderr, " or as SlurmUser\n");
	} else if (strcmp(where, dir)) {
		/* A file in dir: the message says it all. ENOENT here is a
		 * file gone between listing and opening: a rotation. */
		if (err == ENOENT)
			fprintf(stderr, "  a rotation ran meanwhile: run "
				"again\n");
	} else if (err == ENOENT && !stat(dir, &st) && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "  no journal or journal.FIRST-LAST file here: "
			"give the aifactory directory under StateSaveLocation\n");
	} else if (err == ENOENT || err == ENOTDIR) {
		fprintf(stderr, "  give the journal directory (aifactory under "
			"StateSaveLocation)%s%s\n", from ? "; this one is " :
			"", from ? from : "");
	}
}

struct audit_charges {
	uint64_t seq;
	char why[512];
};

static int _audit_charge(const struct aif_record *r, void *arg)
{
	struct audit_charges *ac = arg;

	if (!aif_settle_check(r, ac->why, sizeof(ac->why)))
		return 0;
	ac->seq = r->seq;
	errno = EBADMSG;
	return -1;
}

/* A whole chain can still hold a charge that says less than it was (issue
 * 8): the first such record, printed as a chain problem is; 0 if none. */
static int _audit_charges(const char *dir)
{
	char where[PATH_MAX + AIF_JOURNAL_NAME_MAX];
	struct audit_charges ac = { 0 };
	struct aif_verify_report rep;

	if (!aif_journal_replay(dir, 0, NULL, _audit_charge, &ac, &rep))
		return 0;
	if (!ac.seq) {
		fprintf(stderr, "aifctl: warning: the charges' parts were not "
			"checked: %s\n", rep.message[0] ? rep.message :
			strerror(errno));
		return 0;
	}
	_audit_where(dir, rep.file, where, sizeof(where));
	printf("%s", where);
	if (rep.line)
		printf(":%" PRIu64, rep.line);
	printf(": record %" PRIu64 ": incomplete: %s\n", ac.seq, ac.why);
	return 1;
}

static int _audit_verify(int argc, char **argv)
{
	char buf[PATH_MAX], from[PATH_MAX + 96], path[PATH_MAX + 16];
	struct aif_verify_report rep;
	const char *dir = NULL;
	struct stat st;
	size_t n;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return _usage(stdout);
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "aifctl: audit verify: unknown option "
				"'%s'\n\n", argv[i]);
			return _usage(stderr);
		}
		if (dir)
			return _usage(stderr);
		dir = argv[i];
	}
	if (i < argc && (dir || argc - i > 1))
		return _usage(stderr);
	if (i < argc)
		dir = argv[i];

	if (dir) {
		if (!dir[0])
			return _usage(stderr);
		snprintf(buf, sizeof(buf), "%s", dir);
		from[0] = '\0';
	} else {
		if (_default_journal_dir(buf, sizeof(buf), from,
					 sizeof(from)))
			return 2;
	}
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')	/* "dir/" -> "dir" */
		buf[--n] = '\0';
	dir = buf;

	if (aif_journal_verify(dir, &rep)) {
		int err = errno;
		char where[PATH_MAX + AIF_JOURNAL_NAME_MAX];

		if (rep.problem == AIF_CHAIN_IO) {
			_audit_cannot(dir, from[0] ? from : NULL, &rep, err);
			return 2;
		}
		_audit_where(dir, rep.file, where, sizeof(where));
		printf("%s", where);
		if (rep.line)
			printf(":%" PRIu64, rep.line);
		printf(": ");
		if (rep.seq)
			printf("record %" PRIu64 ": ", rep.seq);
		printf("%s\n  %s\n", _audit_what(&rep), _audit_meaning(&rep));
		return 1;
	}
	if (_audit_charges(dir))
		return 1;
	if (rep.records && rep.archived_seq)
		printf("%s: OK: %" PRIu64 " records, seq %" PRIu64 "..%" PRIu64
		       ", last hash %s; seq 1..%" PRIu64 " archived (up to %s:"
		       " verify the archive with aifctl audit verify ARCHIVE)\n",
		       dir, rep.records, rep.archived_seq + 1, rep.last_seq,
		       rep.last_hash, rep.archived_seq, rep.archived_file);
	else if (rep.records)
		printf("%s: OK: %" PRIu64 " records, seq 1..%" PRIu64
		       ", last hash %s\n", dir, rep.records, rep.last_seq,
		       rep.last_hash);
	else
		printf("%s: OK: 0 records, the journal is empty\n", dir);
	if (rep.snapshot < 0)
		fprintf(stderr, "aifctl: warning: %s/snapshot is damaged (bad "
			"header or checksum): the ledger ignores it and "
			"replays the journal from the start\n", dir);
	snprintf(path, sizeof(path), "%s/journal", dir);
	if (rep.records && stat(path, &st) && errno == ENOENT)
		fprintf(stderr, "aifctl: warning: %s is missing: the chain "
			"ends with a rotated file (a crash while rotating, "
			"or the current file was removed)\n", path);
	return 0;
}

/*
 * audit archive [DIR] --to ARCHIVE: move the rotated files the snapshot
 * covers into ARCHIVE (aif_journal_archive). 0 done (or nothing to do),
 * 1 the chain or the archive is not whole, 2 usage or I/O.
 */
static int _audit_archive(int argc, char **argv)
{
	char buf[PATH_MAX], from[PATH_MAX + 96];
	struct aif_verify_report rep;
	const char *dir = NULL, *dest = NULL;
	size_t moved = 0, n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return _usage(stdout);
		if (!strcmp(argv[i], "--to") && i + 1 < argc)
			dest = argv[++i];
		else if (!strncmp(argv[i], "--to=", 5))
			dest = argv[i] + 5;
		else if (argv[i][0] != '-' && !dir && argv[i][0])
			dir = argv[i];
		else
			return _usage(stderr);
	}
	if (!dest || !dest[0])
		return _usage(stderr);
	if (dir) {
		snprintf(buf, sizeof(buf), "%s", dir);
	} else if (_default_journal_dir(buf, sizeof(buf), from,
					sizeof(from))) {
		return 2;
	}
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if (aif_journal_archive(buf, dest, &moved, &rep)) {
		fprintf(stderr, "aifctl: audit archive: %s: %s; nothing was removed\n",
			buf, rep.message[0] ? rep.message : strerror(errno));
		return rep.problem == AIF_CHAIN_IO ||
			rep.problem == AIF_CHAIN_UNSAFE ? 2 : 1;
	}
	if (!moved)
		printf("%s: nothing to archive (only rotated files wholly before the snapshot are, never the newest)\n",
		       buf);
	else
		printf("%s: %zu files archived to %s; %s\n", buf, moved, dest,
		       rep.message);
	return 0;
}

static int _audit(int argc, char **argv)
{
	if (argc < 2)
		return _usage(stderr);
	if (!strcmp(argv[1], "verify"))
		return _audit_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "archive"))
		return _audit_archive(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return _usage(stdout);
	fprintf(stderr, "aifctl: unknown audit command '%s'\n\n", argv[1]);
	return _usage(stderr);
}

/* ------------------------------------------------------------------ */
/* balance                                                              */

/*
 * The liens of the pending, running and suspended jobs, from the
 * admission tags in their AdminComment. squeue -O's field is
 * admin_comment in SLURM 22.05 ("AdminComment" is refused there).
 * 0 with the ledger's reserved amounts replaced, -1 if squeue failed.
 */
static int _balance_reserved(struct aif_ledger *ledger)
{
	FILE *f = popen("squeue -h -t PENDING,RUNNING,SUSPENDED "
			"-O admin_comment:4000 2>/dev/null", "re");
	struct aif_lien *liens = NULL;
	size_t n = 0, cap = 0, lcap = 0;
	char *line = NULL;
	ssize_t len;
	int rc = 0;

	if (!f)
		return -1;
	while ((len = getline(&line, &lcap, f)) >= 0) {
		while (len && isspace((unsigned char) line[len - 1]))
			line[--len] = '\0';	/* squeue pads the field */
		if (len >= 4000) {
			rc = -1;	/* cut at the field's width: not a lien */
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct aif_lien *nl = realloc(liens,
						      ncap * sizeof(*nl));

			if (!nl) {
				rc = -1;
				break;
			}
			liens = nl;
			cap = ncap;
		}
		if (!aif_lien_from_tag(line, &liens[n]))
			n++;
	}
	free(line);
	if (pclose(f) != 0 || rc ||
	    aif_ledger_replace_reserved(ledger, liens, n, NULL))
		rc = -1;
	free(liens);
	return rc;
}

/* Replay the whole journal in dir through fn; -1 after saying why not.
 * balance and report read it alike, and only root and SlurmUser can. */
static int _replay(const char *dir, aif_replay_fn fn, void *arg)
{
	struct aif_verify_report rep;
	int err;

	if (!aif_journal_replay(dir, 0, NULL, fn, arg, &rep))
		return 0;
	err = errno;
	if (err == EACCES || err == EPERM)
		fprintf(stderr, "aifctl: %s: only root and SlurmUser can "
			"read the journal\n", dir);
	else
		fprintf(stderr, "aifctl: %s: %s\n", dir,
			rep.message[0] ? rep.message : strerror(err));
	return -1;
}

#define CTLD_HOSTS_MAX 8

/*
 * Where slurmctld runs and which munged to use, as scontrol says: it
 * reads the same configuration the user's sbatch does (also configless).
 * Hosts in order, primary first ("name" or "name(addr)": the address).
 */
static size_t _ctld_hosts(char hosts[][256], size_t max, char *socket,
			  size_t slen, uid_t *slurm_uid)
{
	FILE *f = popen("scontrol show config 2>/dev/null", "re");
	char *line = NULL, *v;
	size_t cap = 0, n = 0;

	socket[0] = '\0';
	if (!f)
		return 0;
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!(v = strstr(line, " = ")))
			continue;
		v += 3;
		if (!strncmp(line, "SlurmctldHost[", 14) && n < max) {
			char *open = strchr(v, '('), *close;

			if (open && (close = strchr(open, ')'))) {
				*close = '\0';
				v = open + 1;
			}
			snprintf(hosts[n++], 256, "%s", v);
		} else if (!strncmp(line, "SlurmUser ", 10) &&
			   (v = strchr(v, '('))) {
			*slurm_uid = (uid_t) strtoul(v + 1, NULL, 10);
		} else if (!strncmp(line, "AuthInfo ", 9) &&
			   (v = strstr(v, "socket="))) {
			snprintf(socket, slen, "%.*s",
				 (int) strcspn(v + 7, ","), v + 7);
		}
	}
	free(line);
	pclose(f);
	return n;
}

/*
 * Whether the terminal shows UTF-8: the locale's charset (LC_CTYPE only,
 * so that numbers keep their decimal point). Text from elsewhere keeps
 * its UTF-8 there and is escaped otherwise (aif_text_to_terminal).
 */
static bool _terminal_utf8(void)
{
	return setlocale(LC_CTYPE, "") &&
		!strcmp(nl_langinfo(CODESET), "UTF-8");
}

/* "aifctl: " and a message from elsewhere (the server, the user's -A),
 * made safe for the terminal, on stderr. */
static void _balance_error(const char *prefix, const char *text,
			   const char *suffix)
{
	fprintf(stderr, "aifctl: %s", prefix);
	aif_text_to_terminal(stderr, text, strlen(text), _terminal_utf8());
	fprintf(stderr, "%s\n", suffix);
}

/*
 * balance for those who cannot read the journal: slurmctld answers, to a
 * MUNGE credential, with the projects its owner is a member of (all of
 * them for operators). The port is the policy's balance_port when the
 * policy can be read here, else AIF_BALANCE_PORT. What comes back is
 * another host's text: escaped for the terminal, never obeyed by it.
 */
static int _balance_ask(const char *only, const char *policy_path)
{
	char hosts[CTLD_HOSTS_MAX][256], socket[PATH_MAX], buf[4096];
	char why[600] = "no SlurmctldHost in 'scontrol show config'";
	char *answer = NULL;
	size_t alen = 0;
	FILE *out;
	struct aif_policy *p = _load(policy_path ? policy_path :
				     _default_policy(buf, sizeof(buf)), true);
	uint16_t port = p ? aif_policy_balance_port(p) : AIF_BALANCE_PORT;
	uid_t slurm_uid = (uid_t) -1;
	size_t n = _ctld_hosts(hosts, CTLD_HOSTS_MAX, socket, sizeof(socket),
			       &slurm_uid);

	if (p && !port) {
		fprintf(stderr, "aifctl: %s sets no balance_port: slurmctld "
			"does not answer balance queries; ask your centre\n",
			aif_policy_path(p));
		aif_policy_unref(p);
		return 2;
	}
	aif_policy_unref(p);
	/* The primary first; a backup answers only when it is in charge. */
	for (size_t i = 0; i < n; i++) {
		if (!(out = open_memstream(&answer, &alen))) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			break;
		}
		if (!aif_query_ask(hosts[i], port, socket[0] ? socket : NULL,
				   slurm_uid, only, out, why, sizeof(why))) {
			fclose(out);
			aif_text_to_terminal(stdout, answer, alen,
					     _terminal_utf8());
			free(answer);
			return 0;
		}
		fclose(out);
		free(answer);
		answer = NULL;
		if (strncmp(why, "cannot reach", 12))
			break;	/* it answered: its refusal is the answer */
	}
	_balance_error("", why, "");
	return 2;
}

/*
 * Who may see what: root reads the journal (SlurmUser's, mode 0600) here,
 * which works with slurmctld down too, and so does anyone naming a
 * journal they can read with --journal; everyone else asks slurmctld,
 * which answers with the projects they are a member of (all of them for
 * SlurmUser and the policy's operators). aifctl is never setuid.
 */
static int _balance(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "journal", required_argument, NULL, 'J' },
		{ "account", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[4096], dirbuf[PATH_MAX], from[PATH_MAX + 96], why[512];
	const char *path = NULL, *dir = NULL, *only = NULL;
	struct aif_settle_totals *totals = NULL;
	struct aif_balance_sheet *sheet = NULL;
	struct aif_ledger *ledger = NULL;
	struct aif_policy *p = NULL;
	time_t now = time(NULL);
	bool reserved_known;
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "A:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY: path = optarg; break;
		case 'J': dir = optarg; break;
		case 'A': only = optarg; break;
		case 'h': return _usage(stdout);
		default: return _usage(stderr);
		}
	}
	if (optind != argc || (path && !path[0]) || (dir && !dir[0]) ||
	    (only && !only[0]))
		return _usage(stderr);
	if (!dir && geteuid() != 0)
		return _balance_ask(only, path);
	if (!dir) {
		if (_default_journal_dir(dirbuf, sizeof(dirbuf), from,
					 sizeof(from)))
			return 2;
		dir = dirbuf;
	}
	if (!(p = _load(path ? path : _default_policy(buf, sizeof(buf)),
			true)))
		return 2;
	if (only && !aif_policy_project(p, only)) {
		char *in;

		if (asprintf(&in, " in %s", aif_policy_path(p)) >= 0) {
			_balance_error("no project ", only, in);
			free(in);
		}
		goto out;
	}
	if (!(ledger = aif_ledger_new()) ||
	    !(totals = aif_settle_totals_new(NULL)) ||
	    !(sheet = aif_balance_sheet_new(true, now))) {
		fprintf(stderr, "aifctl: %s\n", strerror(ENOMEM));
		goto out;
	}
	if (aif_ledger_sync(ledger, p, why, sizeof(why))) {
		fprintf(stderr, "aifctl: %s\n", why);
		goto out;
	}
	if (_replay(dir, aif_settle_replay, totals))
		goto out;
	if (aif_settle_replay_apply(totals, ledger, why, sizeof(why)))
		fprintf(stderr, "aifctl: warning: %s\n", why);
	reserved_known = !_balance_reserved(ledger);
	if (!reserved_known) {
		printf("reserved: unknown (squeue failed)\n");
		aif_balance_sheet_free(sheet);
		if (!(sheet = aif_balance_sheet_new(false, now))) {
			fprintf(stderr, "aifctl: %s\n", strerror(ENOMEM));
			goto out;
		}
	}
	for (size_t i = 0; i < aif_policy_nprojects(p); i++) {
		const struct aif_project *proj = aif_policy_project_at(p, i);

		if (only && strcmp(only, proj->name))
			continue;
		if (aif_balance_sheet_add(sheet, ledger, proj->name,
					  proj->klass->metered,
					  aif_settle_totals_burn(totals,
								 proj->name,
								 now))) {
			fprintf(stderr, "aifctl: %s: %s\n", proj->name,
				strerror(errno));
			goto out;
		}
	}
	if (aif_balance_sheet_print(sheet, stdout)) {
		fprintf(stderr, "aifctl: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	aif_balance_sheet_free(sheet);
	aif_settle_totals_free(totals);
	aif_ledger_free(ledger);
	aif_policy_unref(p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* report                                                               */

/* One row: the charges of one project (class, sector, mode). */
struct report_row {
	char key[AIF_RECORD_STR_MAX];
	uint64_t runs;
	aif_amount_t amount;
};

struct report_replay {
	const char *by;			/* the charge's field to group by */
	time_t from, until;		/* jobs that ended in [from, until) */
	struct report_row *rows;
	size_t nrows, cap;
};

/* Each charge whose job ended in the period, into its row. */
static int _report_record(const struct aif_record *r, void *arg)
{
	struct report_replay *rp = arg;
	const char *key;
	int64_t end, amount;
	size_t i;

	if (r->type != AIF_RECORD_CHARGE || !aif_record_str(r, "project") ||
	    aif_record_int(r, "end", &end) || end < rp->from ||
	    end >= rp->until || aif_record_int(r, "amount", &amount))
		return 0;
	if (!(key = aif_record_str(r, rp->by)))
		key = "";
	for (i = 0; i < rp->nrows; i++)
		if (!strcmp(rp->rows[i].key, key))
			break;
	if (i == rp->nrows) {
		if (rp->nrows == rp->cap) {
			size_t ncap = rp->cap ? 2 * rp->cap : 16;
			struct report_row *nr = realloc(rp->rows,
							ncap * sizeof(*nr));

			if (!nr)
				return -1;
			rp->rows = nr;
			rp->cap = ncap;
		}
		snprintf(rp->rows[i].key, sizeof(rp->rows[i].key), "%s", key);
		rp->rows[i].runs = 0;
		rp->rows[i].amount = 0;
		rp->nrows++;
	}
	rp->rows[i].runs++;
	if (aif_amount_add(rp->rows[i].amount, amount, &rp->rows[i].amount))
		rp->rows[i].amount = amount < 0 ? INT64_MIN : AIF_AMOUNT_MAX;
	return 0;
}

/* GPU-hours descending, then by name. */
static int _report_cmp(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (x->amount != y->amount)
		return x->amount > y->amount ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* "YYYY-MM-DD", or "YYYY-MM" when month, to its first second (UTC). */
static int _report_date(const char *s, bool month, time_t *out)
{
	char day[16];

	if (month && strlen(s) != 7)
		return -1;
	snprintf(day, sizeof(day), "%s%s", s, month ? "-01" : "");
	return aif_date_parse(day, strlen(day), AIF_DATE_DAY, out);
}

/* The first second (UTC) of the month t is in, or of the one after. */
static time_t _report_month(time_t t, bool next)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mon += next;		/* timegm carries December over */
	return timegm(&tm);
}

/* A CSV field: quoted, quotes doubled, only when it needs to be. */
static void _report_csv(const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* A JSON string (s is valid UTF-8: the journal made it so). */
static void _report_json(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int _report_bad(const char *opt, const char *what, const char *value)
{
	fprintf(stderr, "aifctl: report: %s: %s, not '%s'\n\n", opt, what,
		value);
	return _usage(stderr);
}

/*
 * GPU-hours and runs per project (class, sector, mode) of the jobs that
 * ended in a period, from the journal's charges: root and SlurmUser only,
 * as for balance.
 */
static int _report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "by", required_argument, NULL, OPT_BY },
		{ "month", required_argument, NULL, OPT_MONTH },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "journal", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const bys[] = { "project", "class", "sector",
					   "mode" };
	char dirbuf[PATH_MAX], from[PATH_MAX + 96], a[AIF_AMOUNT_STR_MAX];
	char first[16], last[16], runs[32];
	const char *dir = NULL, *month = NULL, *since = NULL, *to = NULL;
	const char *format = "table";
	struct report_replay rp = { .by = "project" };
	aif_amount_t total = 0;
	uint64_t nruns = 0;
	int kw = 5, rw = 4, hw = 9;	/* "TOTAL", "RUNS", "GPU-HOURS" */
	int c, rc = 2;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BY:
			for (i = 0; i < sizeof(bys) / sizeof(*bys); i++)
				if (!strcmp(optarg, bys[i]))
					break;
			if (i == sizeof(bys) / sizeof(*bys))
				return _report_bad("--by", "class, project, "
						   "sector or mode", optarg);
			rp.by = bys[i];
			break;
		case OPT_MONTH: month = optarg; break;
		case OPT_FROM: since = optarg; break;
		case OPT_TO: to = optarg; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "table") && strcmp(optarg, "csv") &&
			    strcmp(optarg, "json"))
				return _report_bad("--format", "table, csv or "
						   "json", optarg);
			format = optarg;
			break;
		case 'J': dir = optarg; break;
		case 'h': return _usage(stdout);
		default: return _usage(stderr);
		}
	}
	if (optind != argc || (dir && !dir[0]) || (month && (since || to)) ||
	    !since != !to)
		return _usage(stderr);
	if (month) {
		if (_report_date(month, true, &rp.from))
			return _report_bad("--month", "a month YYYY-MM", month);
		rp.until = _report_month(rp.from, true);
	} else if (since) {
		if (_report_date(since, false, &rp.from))
			return _report_bad("--from", "a date YYYY-MM-DD", since);
		if (_report_date(to, false, &rp.until))
			return _report_bad("--to", "a date YYYY-MM-DD", to);
		rp.until += 86400;	/* to the end of that day */
		if (rp.until <= rp.from)
			return _report_bad("--to", "a date not before --from",
					   to);
	} else {
		time_t now = time(NULL);

		rp.from = _report_month(now, false);
		rp.until = _report_month(now, true);
	}
	aif_date_day(rp.from, first, sizeof(first));
	aif_date_day(rp.until - 86400, last, sizeof(last));

	if (!dir) {
		if (_default_journal_dir(dirbuf, sizeof(dirbuf), from,
					 sizeof(from)))
			return 2;
		dir = dirbuf;
	}
	if (_replay(dir, _report_record, &rp))
		goto out;
	if (rp.nrows)
		qsort(rp.rows, rp.nrows, sizeof(*rp.rows), _report_cmp);
	for (i = 0; i < rp.nrows; i++) {
		nruns += rp.rows[i].runs;
		if (aif_amount_add(total, rp.rows[i].amount, &total))
			total = AIF_AMOUNT_MAX;
	}

	if (!strcmp(format, "csv")) {
		printf("key,runs,gpu_hours\n");
		for (i = 0; i < rp.nrows; i++) {
			aif_amount_format(rp.rows[i].amount, a, sizeof(a));
			_report_csv(rp.rows[i].key);
			printf(",%" PRIu64 ",%s\n", rp.rows[i].runs, a);
		}
	} else if (!strcmp(format, "json")) {
		printf("{\"from\":\"%s\",\"to\":\"%s\",\"by\":\"%s\",\"rows\":[",
		       first, last, rp.by);
		for (i = 0; i < rp.nrows; i++) {
			aif_amount_format(rp.rows[i].amount, a, sizeof(a));
			printf("%s{\"key\":", i ? "," : "");
			_report_json(rp.rows[i].key);
			printf(",\"runs\":%" PRIu64 ",\"gpu_hours\":\"%s\"}",
			       rp.rows[i].runs, a);
		}
		aif_amount_format(total, a, sizeof(a));
		printf("],\"total\":{\"runs\":%" PRIu64 ",\"gpu_hours\":\"%s\"}}\n",
		       nruns, a);
	} else {
		/* Widths: the longest key, count and amount, TOTAL's too. */
		int n;

		for (i = 0; i < rp.nrows; i++) {
			n = (int) strlen(rp.rows[i].key[0] ? rp.rows[i].key
					 : "(none)");
			kw = n > kw ? n : kw;
		}
		n = snprintf(runs, sizeof(runs), "%" PRIu64, nruns);
		rw = n > rw ? n : rw;
		aif_amount_format(total, a, sizeof(a));
		n = (int) strlen(a);
		hw = n > hw ? n : hw;
		printf("%-*s  %*s  %*s\n", kw, "KEY", rw, "RUNS", hw,
		       "GPU-HOURS");
		for (i = 0; i < rp.nrows; i++) {
			aif_amount_format(rp.rows[i].amount, a, sizeof(a));
			printf("%-*s  %*" PRIu64 "  %*s\n", kw,
			       rp.rows[i].key[0] ? rp.rows[i].key : "(none)",
			       rw, rp.rows[i].runs, hw, a);
		}
		aif_amount_format(total, a, sizeof(a));
		printf("%-*s  %*" PRIu64 "  %*s\n", kw, "TOTAL", rw, nruns, hw,
		       a);
	}
	rc = 0;
out:
	free(rp.rows);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return _usage(stderr);
	if (!strcmp(argv[1], "check"))
		return _check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "explain"))
		return _explain(argc - 1, argv + 1);
	if (!strcmp(argv[1], "audit"))
		return _audit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "balance"))
		return _balance(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return _report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help"))
		return _usage(stdout);
	fprintf(stderr, "aifctl: unknown command '%s'\n\n", argv[1]);
	return _usage(stderr);
}
