/*
 * aifctl: what it learns of SLURM, from its commands alone: where the
 * journal is and where slurmctld runs ('scontrol show config', read once
 * by aifctl_slurm_config), the queued jobs' liens (squeue); and the
 * policy's default path, next to $SLURM_CONF.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

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

/*
 * One line of 'scontrol show config' (slurm_print_key_pairs: the key,
 * blanks to column 23, " = ", the value) into cfg. The first of each key
 * counts: slurm.conf's own come before the plugins' sections. Lines that
 * are not such a pair (the header, the ping of each slurmctld) are
 * skipped.
 */
static void _config_line(char *line, struct aifctl_slurm *cfg,
			 bool *seen_state, bool *seen_user, bool *seen_auth)
{
	size_t klen = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "abcdefghijklmnopqrstuvwxyz0123456789_[]");
	char *v = line + klen, *end;
	size_t n;

	if (!klen)
		return;
	while (*v == ' ')
		v++;
	if (v[0] != '=' || v[1] != ' ' || v == line + klen)
		return;
	v += 2;
	n = strlen(v);
	while (n && isspace((unsigned char) v[n - 1]))
		v[--n] = '\0';
	line[klen] = '\0';
	if (!n || !strcmp(v, "(null)"))	/* printf's NULL: not set */
		return;

	if (!strcmp(line, "StateSaveLocation") && !*seen_state) {
		*seen_state = true;
		if (n < sizeof(cfg->state_save))
			memcpy(cfg->state_save, v, n + 1);
		else
			cfg->state_save_long = true;
	} else if (!strncmp(line, "SlurmctldHost[", 14) &&
		   cfg->nhosts < CTLD_HOSTS_MAX) {
		/* "name" or "name(addr)": the address */
		char *open = strchr(v, '('), *close;

		if (open && (close = strchr(open, ')'))) {
			*close = '\0';
			v = open + 1;
		}
		snprintf(cfg->hosts[cfg->nhosts++], sizeof(cfg->hosts[0]),
			 "%s", v);
	} else if (!strcmp(line, "SlurmUser") && !*seen_user &&
		   (v = strchr(v, '('))) {
		/* "slurm(64030)" */
		unsigned long uid;

		*seen_user = true;
		errno = 0;
		uid = strtoul(v + 1, &end, 10);
		if (!errno && end != v + 1 && *end == ')' &&
		    uid < (unsigned long) (uid_t) -1)
			cfg->slurm_uid = (uid_t) uid;
	} else if (!strcmp(line, "AccountingStorageEnforce")) {
		char *tok, *save = NULL;

		snprintf(cfg->enforce, sizeof(cfg->enforce), "%s", v);
		for (tok = strtok_r(v, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			if (!strcasecmp(tok, "qos"))
				cfg->enforce_qos = true;
	} else if (!strcmp(line, "AuthInfo") && !*seen_auth) {
		*seen_auth = true;
		if ((v = strstr(v, "socket=")))
			snprintf(cfg->munge_socket, sizeof(cfg->munge_socket),
				 "%.*s", (int) strcspn(v + 7, ","), v + 7);
	}
}

/* The last line scontrol wrote on stderr (its fatal error comes last),
 * cut at 255 bytes and made printable, in cfg->why; false if none. */
static bool _config_why(FILE *err, struct aifctl_slurm *cfg)
{
	char line[256];
	bool whole = true, found = false;

	if (fseek(err, 0, SEEK_SET))
		return false;
	while (fgets(line, sizeof(line), err)) {
		bool start = whole;	/* not the rest of a longer line */

		whole = strchr(line, '\n') != NULL;
		line[strcspn(line, "\r\n")] = '\0';
		if (!start || !line[0])
			continue;
		for (char *c = line; *c; c++)
			if ((unsigned char) *c < 0x20 || *c == 0x7f)
				*c = '?';
		snprintf(cfg->why, sizeof(cfg->why), "%s", line);
		found = true;
	}
	return found;
}

/* How scontrol ended, when it said nothing: waitpid's status, -1 if
 * unknown. */
static void _config_status(int status, struct aifctl_slurm *cfg)
{
	if (status != -1 && WIFEXITED(status))
		snprintf(cfg->why, sizeof(cfg->why), "scontrol exited with "
			 "status %d", WEXITSTATUS(status));
	else if (status != -1 && WIFSIGNALED(status))
		snprintf(cfg->why, sizeof(cfg->why), "scontrol was killed by "
			 "signal %d", WTERMSIG(status));
	else
		snprintf(cfg->why, sizeof(cfg->why), "scontrol failed");
}

/*
 * 'scontrol show config', once: what slurmctld runs with (it applied
 * SLURM's defaults, the Include files, configless...). scontrol asks
 * slurmctld and exits 1 when it cannot reach it (slurm_load_ctl_conf
 * error) after trying for MessageTimeout seconds. Its output is read a
 * line at a time into a fixed buffer (a longer line is skipped) and its
 * stderr kept aside for the reason.
 */
int aifctl_slurm_config(struct aifctl_slurm *cfg)
{
	char line[8192];
	FILE *err = tmpfile(), *out = NULL;
	int fds[2] = { -1, -1 }, status, rc = -1;
	bool seen_state = false, seen_user = false, seen_auth = false;
	bool skip = false;
	pid_t pid;

	memset(cfg, 0, sizeof(*cfg));
	cfg->slurm_uid = (uid_t) -1;
	if (!err)	/* no /tmp: its reason is lost, its status is not */
		err = fopen("/dev/null", "w+e");
	if (!err || fcntl(fileno(err), F_SETFD, FD_CLOEXEC) ||
	    pipe2(fds, O_CLOEXEC) || (pid = fork()) < 0) {
		snprintf(cfg->why, sizeof(cfg->why), "cannot run it: %s",
			 strerror(errno));
		goto out;
	}
	if (!pid) {
		if (dup2(fds[1], STDOUT_FILENO) >= 0 &&
		    dup2(fileno(err), STDERR_FILENO) >= 0)
			execlp("scontrol", "scontrol", "show", "config",
			       (char *) NULL);
		dprintf(STDERR_FILENO, "scontrol: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	fds[1] = -1;
	if (!(out = fdopen(fds[0], "r"))) {
		snprintf(cfg->why, sizeof(cfg->why), "%s", strerror(errno));
		kill(pid, SIGTERM);
	} else {
		fds[0] = -1;
		while (fgets(line, sizeof(line), out)) {
			bool whole = strchr(line, '\n') || feof(out);

			if (!skip && whole)
				_config_line(line, cfg, &seen_state,
					     &seen_user, &seen_auth);
			else if (!skip && !seen_state &&
				 !strncmp(line, "StateSaveLocation ", 18))
				seen_state = cfg->state_save_long = true;
			skip = !whole;	/* the rest of a longer line */
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (out && status == 0)
		rc = 0;
	else if (out && !_config_why(err, cfg))
		_config_status(status, cfg);
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	return rc;
}

/* <StateSaveLocation>/aifactory as 'scontrol show config' says, and where
 * that came from; or -1 after saying why not (unless quiet). */
int aifctl_journal_dir(char *buf, size_t len, char *from, size_t fromlen,
		       bool quiet)
{
	struct aifctl_slurm *cfg = malloc(sizeof(*cfg));
	const char *what = NULL;
	char *state;
	size_t n;
	int rc = -1;

	if (!cfg) {
		if (!quiet)
			fprintf(stderr, "aifctl: %s\n", strerror(ENOMEM));
		return -1;
	}
	if (aifctl_slurm_config(cfg)) {
		if (!quiet)
			fprintf(stderr, "aifctl: 'scontrol show config': cannot "
				"read StateSaveLocation: %s\n"
				"  give the journal directory: aifctl audit "
				"verify DIR\n", cfg->why);
		goto out;
	}
	if (cfg->state_save_long)
		what = "StateSaveLocation is too long";
	else if (!cfg->state_save[0])
		what = "no StateSaveLocation in its output";
	if (what) {
		if (!quiet)
			fprintf(stderr, "aifctl: 'scontrol show config': %s\n"
				"  give the journal directory: aifctl audit "
				"verify DIR\n", what);
		goto out;
	}
	snprintf(from, fromlen, "from StateSaveLocation in 'scontrol show "
		 "config'");
	state = cfg->state_save;
	n = strlen(state);
	while (n > 1 && state[n - 1] == '/')
		state[--n] = '\0';
	if ((size_t) snprintf(buf, len, "%s%saifactory", state,
			      n > 1 || state[0] != '/' ? "/" : "") >= len) {
		if (!quiet)
			fprintf(stderr, "aifctl: 'scontrol show config': "
				"StateSaveLocation is too long\n");
		goto out;
	}
	rc = 0;
out:
	free(cfg);
	return rc;
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

/* The output of cmd (a fixed command around a checked job id) into buf,
 * trailing blanks cut: 0, or -1 when it failed or printed nothing. */
static int _one_line(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "re");
	size_t n;
	int rc = -1;

	buf[0] = '\0';
	if (!f)
		return -1;
	if (fgets(buf, (int) len, f)) {
		n = strlen(buf);
		while (n && isspace((unsigned char) buf[n - 1]))
			buf[--n] = '\0';
		rc = n ? 0 : -1;
	}
	while (fgetc(f) != EOF)
		;
	if (pclose(f) != 0)
		rc = -1;
	return rc;
}

int aifctl_associations(struct aifctl_assoc **rows, size_t *n)
{
	FILE *f = popen("sacctmgr -n -P show assoc format=account,user,qos 2>/dev/null",
			"re");
	char line[sizeof((*rows)->qos) + 2 * AIF_NAME_MAX + 8];
	struct aifctl_assoc *r = NULL, *more;
	size_t cap = 0;

	*rows = NULL;
	*n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *acct = line, *user, *qos;

		line[strcspn(line, "\r\n")] = '\0';
		if (!(user = strchr(acct, '|')) || !(qos = strchr(user + 1, '|')))
			continue;
		*user++ = '\0';
		*qos++ = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if (!(more = realloc(r, cap * sizeof(*r))))
				break;
			r = more;
		}
		/* Longer than SLURM allows: cut (they are only compared). */
		snprintf(r[*n].account, sizeof(r[*n].account), "%.*s",
			 AIF_NAME_MAX - 1, acct);
		snprintf(r[*n].user, sizeof(r[*n].user), "%.*s",
			 AIF_NAME_MAX - 1, user);
		snprintf(r[*n].qos, sizeof(r[*n].qos), "%.*s",
			 (int) sizeof(r[*n].qos) - 1, qos);
		(*n)++;
	}
	if (pclose(f)) {
		free(r);
		*n = 0;
		return -1;
	}
	*rows = r;
	return 0;
}

/* A job id as squeue and sprio take it: digits, and '_' for a task. */
static bool _job_id_ok(const char *jobid)
{
	return jobid[0] && strlen(jobid) <= 24 &&
		strspn(jobid, "0123456789_") == strlen(jobid);
}

int aifctl_job_tag(const char *jobid, char *state, size_t slen,
		   char *comment, size_t clen)
{
	char cmd[128], line[AIF_TAG_MAX + 64], *at;

	if (!_job_id_ok(jobid))
		return -1;
	snprintf(cmd, sizeof(cmd), "squeue -h -t all -j %s "
		 "-O state:24,admin_comment:%d 2>/dev/null", jobid,
		 AIF_TAG_MAX + 32);
	if (_one_line(cmd, line, sizeof(line)))
		return -1;
	at = line + strcspn(line, " ");
	snprintf(state, slen, "%.*s", (int) (at - line), line);
	at += strspn(at, " ");
	snprintf(comment, clen, "%s", at);
	return 0;
}

int aifctl_job_site(const char *jobid, long long *site)
{
	char cmd[128], line[64], *end;

	if (!_job_id_ok(jobid))
		return -1;
	snprintf(cmd, sizeof(cmd), "sprio -h -j %s -o %%S 2>/dev/null",
		 jobid);
	if (_one_line(cmd, line, sizeof(line)))
		return -1;
	*site = strtoll(line + strspn(line, " "), &end, 10);
	return *end ? -1 : 0;
}

/*
 * Each node of a partition, as sinfo shows it ("CPUS MEMORY GRES"), to fn
 * with its GPUs read by the one normaliser ("gpu:a100:4(S:0-1)"): the
 * number of nodes, or -1 when sinfo cannot tell (no cluster, a name that
 * is not one).
 */
typedef void (*_node_fn)(unsigned long cpus, unsigned long mem,
			 const struct aif_gpus *g, void *arg);
static int _partition_nodes(const char *name, _node_fn fn, void *arg)
{
	char cmd[256], line[1024], gres[900], err[AIF_ERR_MAX];
	int n = 0;
	FILE *f;

	if (!name[0] || strspn(name, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
	    strlen(name))
		return -1;
	snprintf(cmd, sizeof(cmd), "sinfo -h -N -p '%s' -o '%%c %%m %%G' "
		 "2>/dev/null", name);
	if (!(f = popen(cmd, "re")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct aif_gpu_spec spec = { .tres_per_node = gres };
		struct aif_gpus g;
		unsigned long c, m;

		if (sscanf(line, "%lu %lu %899s", &c, &m, gres) != 3)
			continue;
		n++;
		gres[strcspn(gres, "(")] = '\0';
		if (!aif_gpus_normalise(&spec, &g, err, sizeof(err)))
			fn(c, m, &g, arg);
	}
	return pclose(f) == 0 ? n : -1;
}

struct _shape {
	uint32_t *cpus, *mem;
};

static void _least_per_gpu(unsigned long c, unsigned long m,
			   const struct aif_gpus *g, void *arg)
{
	struct _shape *sh = arg;

	if (!g->per_node)
		return;
	c /= g->per_node;
	m /= g->per_node;
	if (c && (!*sh->cpus || c < *sh->cpus))
		*sh->cpus = (uint32_t) (c > UINT32_MAX ? UINT32_MAX : c);
	if (m && (!*sh->mem || m < *sh->mem))
		*sh->mem = (uint32_t) (m > UINT32_MAX ? UINT32_MAX : m);
}

void aifctl_partition_shape(const char *list, void *arg, uint32_t *cpus,
			    uint32_t *mem)
{
	char name[AIF_NAME_MAX], def[AIF_NAME_MAX + 2];
	struct _shape sh = { cpus, mem };
	size_t n;

	(void) arg;
	*cpus = *mem = 0;
	/* no partition: the default one, which sinfo marks with '*' */
	if (!list[0]) {
		FILE *f = popen("sinfo -h -o '%P' 2>/dev/null", "re");

		while (f && fgets(def, sizeof(def), f)) {
			n = strcspn(def, "\n");
			def[n] = '\0';
			if (n > 1 && def[n - 1] == '*') {
				def[n - 1] = '\0';
				_partition_nodes(def, _least_per_gpu, &sh);
			}
		}
		if (f)
			pclose(f);
		return;
	}
	for (const char *s = list; *s;) {
		size_t len = strcspn(s, ",");

		if (len && len < sizeof(name)) {
			memcpy(name, s, len);
			name[len] = '\0';
			_partition_nodes(name, _least_per_gpu, &sh);
		}
		s += len;
		if (*s)
			s++;
	}
}

struct _type {
	const char *type;
	int has;
};

static void _has_type(unsigned long c, unsigned long m,
		      const struct aif_gpus *g, void *arg)
{
	struct _type *t = arg;

	(void) c;
	(void) m;
	for (unsigned k = 0; k < g->ntypes; k++)
		t->has |= !strcmp(g->by_type[k].type, t->type);
}

int aifctl_partition_has_type(const char *partition, const char *type,
			      void *arg)
{
	struct _type t = { type, 0 };

	(void) arg;
	return _partition_nodes(partition, _has_type, &t) < 0 ? -1 : t.has;
}
