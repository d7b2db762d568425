/*
 * spank/aifactory: the node's placement, read once per node.
 *
 * The first step on a node loads its topology with hwloc (this machine,
 * or the XML that topology= names) and writes the placement into
 * CACHE/placement-NODE, as root, by rename; later steps read that small
 * file instead (microseconds, where hwloc takes milliseconds). The cache
 * says what it was made from: the XML's path, size and mtime, or this
 * machine's boot id; a cache made from anything else is remade. It is
 * believed only when it is a regular file of root's that nobody else may
 * write, in a directory of the same kind.
 *
 * A binding is applied (sched_setaffinity) only where the placement is
 * this machine: loaded live, or from an XML whose PUs are exactly the
 * CPUs online here (an export of the node itself). Otherwise (a test
 * cluster's fake node) it is computed and shown, not applied.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aif_spank.h"

#define CACHE_MAX (4 << 20)

static long long _us_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000LL +
		(t1.tv_nsec - t0->tv_nsec) / 1000;
}

/* topology= with %n replaced by the node's name. */
static int _xml_path(const struct aif_spank *ctx, char *buf, size_t size)
{
	size_t used = 0;
	const char *p;

	for (p = ctx->topology; *p; p++) {
		int n;

		if (p[0] == '%' && p[1] == 'n') {
			n = snprintf(buf + used, size - used, "%s", ctx->node);
			p++;
		} else {
			n = snprintf(buf + used, size - used, "%c", *p);
		}
		if (n < 0 || (size_t) n >= size - used)
			return -1;
		used += (size_t) n;
	}
	return 0;
}

/* A kernel file's first line, without its newline ("" when unreadable). */
static void _first_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int) size, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

/* What the placement is made from, as its cache records it. */
static int _source(const char *xml, char *buf, size_t size)
{
	struct stat st;
	char boot[64];
	int n;

	if (xml) {
		if (stat(xml, &st) < 0)
			return -1;
		n = snprintf(buf, size, "xml %s %lld %lld", xml,
			     (long long) st.st_size, (long long) st.st_mtime);
		if (n < 0 || (size_t) n >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	_first_line("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
	snprintf(buf, size, "live %s", boot[0] ? boot : "unknown");
	return 0;
}

static int _trusted(const struct stat *st, int dir)
{
	return st->st_uid == 0 && !(st->st_mode & 022) &&
		(dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode));
}

/* The cache file, opened in a directory that is root's and 0755, the
 * same checks as before writing there. */
static int _open_cache(const struct aif_spank *ctx, const char *path)
{
	struct stat st;
	int dir, fd;

	dir = open(ctx->cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		   O_CLOEXEC);
	if (dir < 0)
		return -1;
	if (fstat(dir, &st) < 0 || !_trusted(&st, 1)) {
		close(dir);
		return -1;
	}
	fd = openat(dir, strrchr(path, '/') + 1,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dir);
	return fd;
}

static struct aif_placement *_read_cache(const struct aif_spank *ctx,
					 const char *path, const char *source)
{
	struct aif_placement *p = NULL;
	struct stat st;
	char err[256], *text;
	ssize_t n;
	int fd;

	fd = _open_cache(ctx, path);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !_trusted(&st, 0) || st.st_size > CACHE_MAX ||
	    !(text = malloc((size_t) st.st_size + 1))) {
		close(fd);
		return NULL;
	}
	n = read(fd, text, (size_t) st.st_size);
	close(fd);
	if (n == st.st_size &&
	    aif_placement_read(text, (size_t) n, &p, err, sizeof(err)) < 0)
		slurm_info("%s: %s: %s; remaking it", AIF_SPANK, path, err);
	free(text);
	if (p && strcmp(p->source, source)) {
		aif_placement_free(p);
		p = NULL;
	}
	return p;
}

static void _write_cache(const struct aif_spank *ctx, const char *path,
			 const struct aif_placement *p)
{
	char tmp[PATH_MAX + 340];
	struct stat st;
	FILE *f;
	int fd;

	if (geteuid() != 0)
		return;
	if (mkdir(ctx->cache_dir, 0755) < 0 && errno != EEXIST)
		goto fail;
	if (lstat(ctx->cache_dir, &st) < 0 || !_trusted(&st, 1)) {
		slurm_error("%s: %s is not root's, 0755: not caching there",
			    AIF_SPANK, ctx->cache_dir);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long) getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0)
		goto fail;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (aif_placement_write(p, f) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) < 0) {
		unlink(tmp);
		goto fail;
	}
	return;
fail:
	slurm_error("%s: cannot cache the placement in %s: %m", AIF_SPANK,
		    ctx->cache_dir);
}

/* The placement's PUs are the CPUs online here. */
static int _is_this_machine(const struct aif_placement *p)
{
	hwloc_bitmap_t mine = hwloc_bitmap_alloc(), online = hwloc_bitmap_alloc();
	char buf[4096];
	int i, same = 0;

	_first_line("/sys/devices/system/cpu/online", buf, sizeof(buf));
	if (mine && online && buf[0] &&
	    aif_index_list_parse(buf, 65536, online) == 0) {
		for (i = 0; i < p->ncores; i++)
			hwloc_bitmap_or(mine, mine, p->core[i]);
		same = hwloc_bitmap_isequal(mine, online);
	}
	hwloc_bitmap_free(mine);
	hwloc_bitmap_free(online);
	return same;
}

/* This node's name as slurmd knows it (several slurmd may share a
 * host): slurmstepd's own SLURMD_NODENAME, which slurmd sets in its
 * process, never the job's environment, which the user sends (and which
 * a step of a batch job inherits from the batch node). */
static void _node_name(struct aif_spank *ctx)
{
	const char *name = getenv("SLURMD_NODENAME");

	if (name && name[0] && strlen(name) < sizeof(ctx->node) &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") == strlen(name)) {
		snprintf(ctx->node, sizeof(ctx->node), "%s", name);
		return;
	}
	if (gethostname(ctx->node, sizeof(ctx->node)) < 0)
		snprintf(ctx->node, sizeof(ctx->node), "node");
	ctx->node[sizeof(ctx->node) - 1] = '\0';
	ctx->node[strcspn(ctx->node, "./")] = '\0';
}

/* Why the placement could not be had: in the node's log, and kept for
 * the message a strict task prints. */
static int __attribute__((format(printf, 2, 3)))
_cannot(struct aif_spank *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->why, sizeof(ctx->why), fmt, ap);
	va_end(ap);
	slurm_error("%s: %s", AIF_SPANK, ctx->why);
	return -1;
}

int aif_spank_node_load(struct aif_spank *ctx, spank_t sp)
{
	char xml[PATH_MAX], source[AIF_PLACE_SOURCE_MAX], err[512];
	char cache[PATH_MAX + 300];
	struct aif_topo *topo;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	_node_name(ctx);
	if (ctx->topology[0] &&
	    _xml_path(ctx, xml, sizeof(xml)) < 0)
		return _cannot(ctx, "topology=%s: path too long",
			       ctx->topology);
	if (_source(ctx->topology[0] ? xml : NULL, source, sizeof(source)) < 0)
		return _cannot(ctx, "topology %s: %s", xml, strerror(errno));
	snprintf(cache, sizeof(cache), "%s/placement-%s", ctx->cache_dir,
		 ctx->node);
	ctx->place = _read_cache(ctx, cache, source);
	if (ctx->place) {
		ctx->live = !ctx->topology[0] || _is_this_machine(ctx->place);
		slurm_debug("%s: placement of %s from %s in %lld us",
			    AIF_SPANK, ctx->node, cache, _us_since(&t0));
		return 0;
	}
	if (aif_topo_load(&topo, ctx->topology[0] ? xml : NULL, err,
			  sizeof(err)) < 0)
		return _cannot(ctx, "%s", err);
	ctx->place = aif_placement_new(topo, source);
	aif_topo_free(topo);
	if (!ctx->place)
		return _cannot(ctx, "out of memory");
	_write_cache(ctx, cache, ctx->place);
	ctx->live = !ctx->topology[0] || _is_this_machine(ctx->place);
	slurm_info("%s: placement of %s from %s in %lld us (%d GPUs, %d NICs)",
		   AIF_SPANK, ctx->node, ctx->topology[0] ? xml :
		   "this machine", _us_since(&t0), ctx->place->ngpus,
		   ctx->place->nnics);
	return 0;
}
