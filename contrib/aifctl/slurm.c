/*
 * aifctl: what it learns of SLURM: where the policy and the journal are,
 * where slurmctld runs (scontrol show config), the queued jobs' liens
 * (squeue).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aifctl.h"
#include "tag.h"

/* The policy next to slurm.conf, as the plugins find it. */
const char *aifctl_default_policy(char *buf, size_t len)
{
	const char *conf = getenv("SLURM_CONF");
	char copy[4096];

	snprintf(copy, sizeof(copy), "%s",
		 conf && conf[0] ? conf : "/etc/slurm/slurm.conf");
	snprintf(buf, len, "%s/aifactory.json", dirname(copy));
	return buf;
}

/* slurm.conf, as SLURM's commands find it. */
const char *aifctl_slurm_conf(void)
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
int aifctl_journal_dir(char *buf, size_t len, char *from, size_t fromlen)
{
	const char *conf = aifctl_slurm_conf();
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

/*
 * The liens of the pending, running and suspended jobs, from the
 * admission tags in their AdminComment. squeue -O's field is
 * admin_comment in SLURM 22.05 ("AdminComment" is refused there).
 * 0 with the ledger's reserved amounts replaced, -1 if squeue failed.
 */
int aifctl_queued_liens(struct aif_ledger *ledger)
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

/*
 * Where slurmctld runs and which munged to use, as scontrol says: it
 * reads the same configuration the user's sbatch does (also configless).
 * Hosts in order, primary first ("name" or "name(addr)": the address).
 */
size_t aifctl_ctld_hosts(char hosts[][256], size_t max, char *socket,
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
