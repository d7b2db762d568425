/*
 * slurm-aifactory: a node's placement (topology.h): made from a topology,
 * written and read as text, and the binding of a task computed from it.
 *
 * The text, one item a line, every line checked on reading:
 *
 *   aifactory-placement 1
 *   source TEXT
 *   gpu I BUSID LOCAL NUMA PACKAGE NICS       (PU lists; NICS "-" or 0,2)
 *   nic I NAME NETDEV VENDOR VERBS PORT      (NETDEV "-" for none)
 *   core I PUS
 *   end
 *
 * GPUs, NICs and cores each numbered from 0 in order; "end" last, so a
 * file cut short is refused rather than read as a smaller node.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

#define PLACE_MAGIC "aifactory-placement 1"
#define LINE_MAX_LEN 8192

static void _free_sets(struct aif_placement *p)
{
	int i;

	for (i = 0; i < AIF_TOPO_MAX_GPUS; i++) {
		hwloc_bitmap_free(p->gpu[i].local);
		hwloc_bitmap_free(p->gpu[i].numa);
		hwloc_bitmap_free(p->gpu[i].package);
	}
	for (i = 0; i < AIF_PLACE_MAX_CORES; i++)
		hwloc_bitmap_free(p->core[i]);
}

void aif_placement_free(struct aif_placement *p)
{
	if (!p)
		return;
	_free_sets(p);
	free(p);
}

/* The union of the objects of this type that hold a GPU's locality. */
static int _around(hwloc_topology_t hw, hwloc_const_bitmap_t local,
		   hwloc_obj_type_t type, hwloc_bitmap_t set)
{
	hwloc_obj_t obj = NULL;

	hwloc_bitmap_zero(set);
	while ((obj = hwloc_get_next_obj_by_type(hw, type, obj)))
		if (hwloc_bitmap_intersects(obj->cpuset, local) &&
		    hwloc_bitmap_or(set, set, obj->cpuset) < 0)
			return -1;
	return 0;
}

static void _one_line(char *dst, size_t size, const char *src)
{
	size_t i;

	snprintf(dst, size, "%s", src ? src : "");
	for (i = 0; dst[i]; i++)
		if ((unsigned char) dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

struct aif_placement *aif_placement_new(const struct aif_topo *t,
					const char *source)
{
	struct aif_placement *p = calloc(1, sizeof(*p));
	hwloc_obj_type_t type = HWLOC_OBJ_CORE;
	int i, k, n;

	if (!p)
		return NULL;
	_one_line(p->source, sizeof(p->source), source);
	p->ngpus = t->ngpus;
	p->nnics = t->nnics;
	for (i = 0; i < t->ngpus; i++) {
		struct aif_place_gpu *g = &p->gpu[i];

		memcpy(g->busid, t->gpu[i].busid, sizeof(g->busid));
		g->local = hwloc_bitmap_dup(t->gpu[i].cpuset);
		g->numa = hwloc_bitmap_alloc();
		g->package = hwloc_bitmap_alloc();
		if (!g->local || !g->numa || !g->package ||
		    _around(t->hw, g->local, HWLOC_OBJ_NUMANODE, g->numa) ||
		    _around(t->hw, g->local, HWLOC_OBJ_PACKAGE, g->package))
			goto fail;
		g->nnics = t->gpu[i].nnics;
		for (k = 0; k < g->nnics; k++)
			g->nics[k] = t->gpu[i].nics[k];
	}
	for (i = 0; i < t->nnics; i++) {
		memcpy(p->nic[i].name, t->nic[i].name, sizeof(p->nic[i].name));
		memcpy(p->nic[i].netdev, t->nic[i].netdev,
		       sizeof(p->nic[i].netdev));
		p->nic[i].vendor = t->nic[i].vendor;
		p->nic[i].verbs = t->nic[i].verbs;
		p->nic[i].port = t->nic[i].port;
	}
	/* a machine hwloc shows no cores for: SLURM counts PUs as cores */
	if (hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE) <= 0)
		type = HWLOC_OBJ_PU;
	n = hwloc_get_nbobjs_by_type(t->hw, type);
	if (n < 0 || n > AIF_PLACE_MAX_CORES)
		goto fail;
	for (i = 0; i < n; i++) {
		p->core[i] = hwloc_bitmap_dup(
			hwloc_get_obj_by_type(t->hw, type, (unsigned) i)->cpuset);
		if (!p->core[i])
			goto fail;
	}
	p->ncores = n;
	return p;
fail:
	aif_placement_free(p);
	return NULL;
}

static int _write_set(FILE *out, hwloc_const_bitmap_t set)
{
	char *text = NULL;
	int rv;

	if (hwloc_bitmap_iszero(set))
		return fputs(" -", out) < 0 ? -1 : 0;
	if (hwloc_bitmap_list_asprintf(&text, set) < 0)
		return -1;
	rv = fprintf(out, " %s", text) < 0 ? -1 : 0;
	free(text);
	return rv;
}

int aif_placement_write(const struct aif_placement *p, FILE *out)
{
	int i, k, bad = 0;

	bad |= fprintf(out, "%s\nsource %s\n", PLACE_MAGIC, p->source) < 0;
	for (i = 0; i < p->ngpus; i++) {
		const struct aif_place_gpu *g = &p->gpu[i];

		bad |= fprintf(out, "gpu %d %s", i, g->busid) < 0;
		bad |= _write_set(out, g->local) | _write_set(out, g->numa) |
			_write_set(out, g->package);
		for (k = 0; k < g->nnics; k++)
			bad |= fprintf(out, "%c%d", k ? ',' : ' ',
				       g->nics[k]) < 0;
		bad |= fputs(g->nnics ? "\n" : " -\n", out) < 0;
	}
	for (i = 0; i < p->nnics; i++) {
		const struct aif_place_nic *n = &p->nic[i];

		bad |= fprintf(out, "nic %d %s %s %04x %d %d\n", i, n->name,
			       n->netdev[0] ? n->netdev : "-", n->vendor,
			       n->verbs, n->port) < 0;
	}
	for (i = 0; i < p->ncores; i++) {
		bad |= fprintf(out, "core %d", i) < 0;
		bad |= _write_set(out, p->core[i]);
		bad |= fputc('\n', out) == EOF;
	}
	bad |= fputs("end\n", out) < 0;
	return bad ? -1 : 0;
}

/* ------------------------------------------------------------ reading */

/* A plain token: what names and bus ids are made of. */
static int _plain(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.:-", *s)))
			return 0;
	return n > 0 && n < max;
}

/* A non-negative decimal below limit, all of the token. */
static int _number(const char *s, long limit, long *out)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v >= limit)
			return -1;
	}
	*out = v;
	return 0;
}

/* One decimal below limit, no sign or leading zero: its end, or NULL. */
static const char *_index(const char *s, unsigned limit, unsigned *out)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long) (*p - '0');
		if (v >= limit)
			return NULL;
	}
	*out = (unsigned) v;
	return p;
}

int aif_index_list_parse(const char *text, unsigned limit, hwloc_bitmap_t set)
{
	const char *p = text;

	hwloc_bitmap_zero(set);
	for (;;) {
		unsigned a, b;

		if (!(p = _index(p, limit, &a)))
			break;
		b = a;
		if (*p == '-' && (!(p = _index(p + 1, limit, &b)) || b < a))
			break;
		if (hwloc_bitmap_set_range(set, a, (int) b) < 0)
			break;
		if (!*p)
			return 0;
		if (*p++ != ',')
			break;
	}
	hwloc_bitmap_zero(set);
	return -1;
}

int aif_gpu_list_parse(const char *text, int *gpus, int max)
{
	const char *p = text;
	int n = 0;

	if (!text)
		return -1;
	for (;;) {
		unsigned v;
		int i;

		if (!(p = _index(p, AIF_TOPO_MAX_GPUS, &v)) || n == max)
			return -1;
		for (i = 0; i < n; i++)
			if (gpus[i] == (int) v)
				return -1;
		gpus[n++] = (int) v;
		if (!*p)
			return n;
		if (*p++ != ',')
			return -1;
	}
}

/* A PU list ("-" for none) of PUs below 1 << 16. */
#define PU_LIMIT 65536u
static int _set(const char *s, hwloc_bitmap_t *out)
{
	*out = hwloc_bitmap_alloc();
	if (!*out)
		return -1;
	if (!strcmp(s, "-"))
		return 0;
	return aif_index_list_parse(s, PU_LIMIT, *out);
}

/* Split a line into at most max tokens at single spaces; the count, or
 * -1 (an empty token, or more than max). */
static int _tokens(char *line, char **tok, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		if (n == max)
			return -1;
		tok[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	for (int i = 0; i < n; i++)
		if (!*tok[i])
			return -1;
	return n;
}

static const char *_gpu_line(struct aif_placement *p, char **tok, int n)
{
	struct aif_place_gpu *g;
	long v;
	int k;

	if (n != 7)
		return "a gpu line has 7 fields";
	if (_number(tok[1], AIF_TOPO_MAX_GPUS, &v) || v != p->ngpus)
		return "GPUs must be numbered 0, 1, ... in order";
	if (p->nnics || p->ncores)
		return "gpu lines come first";
	g = &p->gpu[p->ngpus++];
	if (!_plain(tok[2], sizeof(g->busid)))
		return "bad bus id";
	snprintf(g->busid, sizeof(g->busid), "%s", tok[2]);
	if (_set(tok[3], &g->local) || _set(tok[4], &g->numa) ||
	    _set(tok[5], &g->package))
		return "bad PU list";
	if (!strcmp(tok[6], "-"))
		return NULL;
	for (char *c = tok[6], *end; *c; c = end) {
		char num[8];
		size_t len;

		end = strchr(c, ',');
		len = end ? (size_t) (end - c) : strlen(c);
		if (!len || len >= sizeof(num) || g->nnics == AIF_TOPO_MAX_NICS)
			return "bad NIC list";
		memcpy(num, c, len);
		num[len] = '\0';
		if (_number(num, AIF_TOPO_MAX_NICS, &v))
			return "bad NIC list";
		for (k = 0; k < g->nnics; k++)
			if (g->nics[k] == (int) v)
				return "a NIC twice";
		g->nics[g->nnics++] = (int) v;
		end = end ? end + 1 : c + len;
		if (end[-1] == ',' && !*end)
			return "bad NIC list";
	}
	return NULL;
}

static const char *_nic_line(struct aif_placement *p, char **tok, int n)
{
	struct aif_place_nic *nic;
	long v;

	if (n != 7)
		return "a nic line has 7 fields";
	if (_number(tok[1], AIF_TOPO_MAX_NICS, &v) || v != p->nnics)
		return "NICs must be numbered 0, 1, ... in order";
	if (p->ncores)
		return "nic lines come before core lines";
	nic = &p->nic[p->nnics++];
	if (!_plain(tok[2], sizeof(nic->name)) ||
	    !_plain(tok[3], sizeof(nic->netdev)))
		return "bad NIC name";
	snprintf(nic->name, sizeof(nic->name), "%s", tok[2]);
	snprintf(nic->netdev, sizeof(nic->netdev), "%s",
		 strcmp(tok[3], "-") ? tok[3] : "");
	if (strlen(tok[4]) != 4 || strspn(tok[4], "0123456789abcdef") != 4)
		return "bad vendor id";
	nic->vendor = (unsigned) strtoul(tok[4], NULL, 16);
	if (_number(tok[5], 2, &v))
		return "verbs is 0 or 1";
	nic->verbs = (int) v;
	if (_number(tok[6], 256, &v))
		return "bad port";
	nic->port = (int) v;
	return NULL;
}

static const char *_core_line(struct aif_placement *p, char **tok, int n)
{
	long v;

	if (n != 3)
		return "a core line has 3 fields";
	if (_number(tok[1], AIF_PLACE_MAX_CORES, &v) || v != p->ncores)
		return "cores must be numbered 0, 1, ... in order";
	if (_set(tok[2], &p->core[p->ncores++]) ||
	    hwloc_bitmap_iszero(p->core[p->ncores - 1]))
		return "bad PU list";
	return NULL;
}

/* After "end": every NIC a GPU names exists. */
static const char *_complete(const struct aif_placement *p)
{
	int i, k;

	if (!p->ncores)
		return "no core";
	for (i = 0; i < p->ngpus; i++)
		for (k = 0; k < p->gpu[i].nnics; k++)
			if (p->gpu[i].nics[k] >= p->nnics)
				return "a GPU names a NIC that is not there";
	return NULL;
}

int aif_placement_read(const char *text, size_t len,
		       struct aif_placement **out, char *err, size_t errlen)
{
	struct aif_placement *p = calloc(1, sizeof(*p));
	char *line = malloc(LINE_MAX_LEN);
	const char *why = NULL, *pos = text, *stop = text + len;
	int lineno = 0, ended = 0;

	*out = NULL;
	if (!p || !line) {
		snprintf(err, errlen, "out of memory");
		free(line);
		free(p);
		return -1;
	}
	while (!why && pos < stop) {
		const char *nl = memchr(pos, '\n', (size_t) (stop - pos));
		size_t n = nl ? (size_t) (nl - pos) : (size_t) (stop - pos);
		char *tok[8];
		int ntok;

		lineno++;
		if (!nl) {
			why = "the last line has no newline";
			break;
		}
		if (ended) {
			why = "text after end";
			break;
		}
		if (n >= LINE_MAX_LEN || memchr(pos, '\0', n)) {
			why = "line too long or not text";
			break;
		}
		memcpy(line, pos, n);
		line[n] = '\0';
		pos = nl + 1;
		if (lineno == 1) {
			if (strcmp(line, PLACE_MAGIC))
				why = "not a placement (" PLACE_MAGIC ")";
			continue;
		}
		if (lineno == 2) {
			if (strncmp(line, "source ", 7) ||
			    n - 7 >= sizeof(p->source))
				why = "the second line is the source";
			else
				_one_line(p->source, sizeof(p->source),
					  line + 7);
			continue;
		}
		if (!strcmp(line, "end")) {
			ended = 1;
			why = _complete(p);
			continue;
		}
		ntok = _tokens(line, tok, 8);
		if (ntok < 1)
			why = "bad spacing or too many fields";
		else if (!strcmp(tok[0], "gpu"))
			why = _gpu_line(p, tok, ntok);
		else if (!strcmp(tok[0], "nic"))
			why = _nic_line(p, tok, ntok);
		else if (!strcmp(tok[0], "core"))
			why = _core_line(p, tok, ntok);
		else
			why = "unknown line";
	}
	if (!why && !ended) {
		lineno++;
		why = "no end line: cut short";
	}
	free(line);
	if (why) {
		snprintf(err, errlen, "line %d: %s", lineno, why);
		aif_placement_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* ------------------------------------------------------------ binding */

int aif_placement_cores_to_pus(const struct aif_placement *p,
			       hwloc_const_bitmap_t cores, hwloc_bitmap_t pus)
{
	int i;

	hwloc_bitmap_zero(pus);
	if (hwloc_bitmap_weight(cores) < 0)
		return -1;
	hwloc_bitmap_foreach_begin(i, cores) {
		if (i < 0 || i >= p->ncores)
			return -1;
		hwloc_bitmap_or(pus, pus, p->core[i]);
	} hwloc_bitmap_foreach_end();
	return 0;
}

const char *aif_bind_level_name(enum aif_bind_level level)
{
	static const char *const names[] = {
		"local", "numa", "package", "allocation"
	};

	return names[level <= AIF_BIND_ALLOCATION ? level :
		     AIF_BIND_ALLOCATION];
}

int aif_placement_bind(const struct aif_placement *p, const int *gpus,
		       int ngpus, hwloc_const_bitmap_t allowed,
		       struct aif_binding *out)
{
	int i, k, level;

	out->nnics = 0;
	if (ngpus <= 0 || hwloc_bitmap_iszero(allowed))
		return -1;
	for (i = 0; i < ngpus; i++)
		if (gpus[i] < 0 || gpus[i] >= p->ngpus)
			return -1;

	/* the GPUs' own PUs, else their NUMA nodes', else their packages',
	 * within what is allowed; else all that is allowed */
	out->level = AIF_BIND_ALLOCATION;
	for (level = AIF_BIND_LOCAL; level < AIF_BIND_ALLOCATION; level++) {
		hwloc_bitmap_zero(out->cpuset);
		for (i = 0; i < ngpus; i++) {
			const struct aif_place_gpu *g = &p->gpu[gpus[i]];

			hwloc_bitmap_or(out->cpuset, out->cpuset,
					level == AIF_BIND_LOCAL ? g->local :
					level == AIF_BIND_NUMA ? g->numa :
					g->package);
		}
		hwloc_bitmap_and(out->cpuset, out->cpuset, allowed);
		if (!hwloc_bitmap_iszero(out->cpuset)) {
			out->level = (enum aif_bind_level) level;
			break;
		}
	}
	if (out->level == AIF_BIND_ALLOCATION)
		hwloc_bitmap_copy(out->cpuset, allowed);

	for (i = 0; i < ngpus; i++) {
		const struct aif_place_gpu *g = &p->gpu[gpus[i]];

		for (k = 0; k < g->nnics; k++) {
			int j, seen = 0;

			for (j = 0; j < out->nnics; j++)
				seen |= out->nics[j] == g->nics[k];
			if (!seen && out->nnics < AIF_TOPO_MAX_NICS)
				out->nics[out->nnics++] = g->nics[k];
		}
	}
	return 0;
}
