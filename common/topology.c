/*
 * slurm-aifactory: a GPU node's topology, read with hwloc (topology.h).
 *
 * hwloc traps this file works around (SLURM-PRIORITY-PLACEMENT.md, 4):
 *  - without an I/O filter set before load there are no PCI objects;
 *  - hwloc_get_common_ancestor_obj() crashes on two I/O objects (their
 *    depths are negative): we walk the parents;
 *  - hwloc_get_next_pcidev() walks the tree, not the buses: we sort;
 *  - an XML topology is not this system: binding through it does nothing,
 *    so `from_xml` tells the caller.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology.h"

/* One link's bandwidth, per direction, in MB/s: NVLink 2 to 4 carry 25
 * GB/s a link (V100 to H100), AMD's xGMI 50 GB/s. A link count is the
 * bandwidth over these, rounded, at least 1: SLURM only compares them. */
#define NVLINK_MBPS 25000.0
#define XGMI_MBPS 50000.0

#define VENDOR_NVIDIA 0x10de
#define VENDOR_AMD 0x1002
#define VENDOR_MELLANOX 0x15b3
#define VENDOR_CRAY 0x17db

static const struct {
	unsigned vendor, device;
	const char *model;
} models[] = {
	{ VENDOR_NVIDIA, 0x15f7, "p100" }, { VENDOR_NVIDIA, 0x15f8, "p100" },
	{ VENDOR_NVIDIA, 0x15f9, "p100" }, { VENDOR_NVIDIA, 0x1db1, "v100" },
	{ VENDOR_NVIDIA, 0x1db4, "v100" }, { VENDOR_NVIDIA, 0x1db5, "v100" },
	{ VENDOR_NVIDIA, 0x1db6, "v100" }, { VENDOR_NVIDIA, 0x1db8, "v100" },
	{ VENDOR_NVIDIA, 0x1df6, "v100" }, { VENDOR_NVIDIA, 0x20b0, "a100" },
	{ VENDOR_NVIDIA, 0x20b2, "a100" }, { VENDOR_NVIDIA, 0x20b3, "a100" },
	{ VENDOR_NVIDIA, 0x20b5, "a100" }, { VENDOR_NVIDIA, 0x20f1, "a100" },
	{ VENDOR_NVIDIA, 0x2322, "h100" }, { VENDOR_NVIDIA, 0x2324, "h100" },
	{ VENDOR_NVIDIA, 0x2330, "h100" }, { VENDOR_NVIDIA, 0x2331, "h100" },
	{ VENDOR_NVIDIA, 0x2339, "h100" }, { VENDOR_NVIDIA, 0x2335, "h200" },
	{ VENDOR_NVIDIA, 0x233b, "h200" }, { VENDOR_NVIDIA, 0x2901, "b200" },
	{ VENDOR_NVIDIA, 0x2941, "gb200" }, { VENDOR_AMD, 0x7408, "mi250x" },
	{ VENDOR_AMD, 0x740c, "mi250x" }, { VENDOR_AMD, 0x740f, "mi210" },
	{ VENDOR_AMD, 0x74a0, "mi300a" }, { VENDOR_AMD, 0x74a1, "mi300x" },
};

static void _copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void _model(struct aif_topo_gpu *gpu)
{
	size_t i;

	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		if (models[i].vendor == gpu->vendor &&
		    models[i].device == gpu->device) {
			_copy(gpu->model, sizeof(gpu->model), models[i].model);
			return;
		}
	}
	gpu->model[0] = '\0';
}

/* A compute runtime's device under it: what tells an AMD display
 * controller that is a GPU from a BMC's ATI ES1000 (both 1002, 0300). */
static int _has_compute_osdev(hwloc_obj_t pci)
{
	hwloc_obj_t os;

	for (os = pci->io_first_child; os; os = os->next_sibling)
		if (os->type == HWLOC_OBJ_OS_DEVICE && os->name &&
		    (!strncmp(os->name, "rsmi", 4) ||
		     !strncmp(os->name, "opencl", 6) ||
		     !strncmp(os->name, "renderD", 7)))
			return 1;
	return 0;
}

static int _is_gpu(hwloc_obj_t obj)
{
	const struct hwloc_pcidev_attr_s *pci = &obj->attr->pcidev;

	if (pci->vendor_id != VENDOR_NVIDIA && pci->vendor_id != VENDOR_AMD)
		return 0;
	if (pci->class_id == 0x0302 || pci->class_id == 0x0380 ||
	    pci->class_id == 0x1200)
		return 1;
	if (pci->class_id != 0x0300)
		return 0;
	return pci->vendor_id == VENDOR_NVIDIA || _has_compute_osdev(obj);
}

static void _busid(hwloc_obj_t pci, char *buf, size_t size)
{
	const struct hwloc_pcidev_attr_s *a = &pci->attr->pcidev;

	snprintf(buf, size, "%04x:%02x:%02x.%x", (unsigned) a->domain,
		 (unsigned) a->bus, (unsigned) a->dev, (unsigned) a->func);
}

static int _bus_cmp(hwloc_obj_t x, hwloc_obj_t y)
{
	const struct hwloc_pcidev_attr_s *a = &x->attr->pcidev;
	const struct hwloc_pcidev_attr_s *b = &y->attr->pcidev;

	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if (a->bus != b->bus)
		return a->bus < b->bus ? -1 : 1;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->func != b->func)
		return a->func < b->func ? -1 : 1;
	return 0;
}

static int _gpu_cmp(const void *x, const void *y)
{
	return _bus_cmp(((const struct aif_topo_gpu *) x)->pci,
			((const struct aif_topo_gpu *) y)->pci);
}

static int _nic_cmp(const void *x, const void *y)
{
	return _bus_cmp(((const struct aif_topo_nic *) x)->pci,
			((const struct aif_topo_nic *) y)->pci);
}

static int _first_numa(hwloc_obj_t nonio)
{
	return nonio && nonio->nodeset ? hwloc_bitmap_first(nonio->nodeset) :
		-1;
}

/* cuda/nvml/rsmi name the GPU as its runtime numbers it; OpenCL and DRM
 * names come after. */
static int _osdev_rank(hwloc_obj_t os)
{
	const char *n = os->name ? os->name : "";

	if (!strncmp(n, "cuda", 4) || !strncmp(n, "rsmi", 4))
		return 0;
	if (!strncmp(n, "nvml", 4))
		return 1;
	if (!strncmp(n, "card", 4))
		return 3;
	if (!strncmp(n, "opencl", 6))
		return 4;
	return 5;
}

static void _gpu_names(struct aif_topo_gpu *gpu)
{
	hwloc_obj_t os;
	int best = 99;

	for (os = gpu->pci->io_first_child; os; os = os->next_sibling) {
		const char *n;

		if (os->type != HWLOC_OBJ_OS_DEVICE || !os->name)
			continue;
		n = os->name;
		if (!strncmp(n, "renderD", 7)) {
			_copy(gpu->render, sizeof(gpu->render), n);
			continue;
		}
		if (!strncmp(n, "controlD", 8))
			continue;
		if (_osdev_rank(os) < best) {
			best = _osdev_rank(os);
			_copy(gpu->osdev, sizeof(gpu->osdev), n);
		}
	}
}

static void _nic_names(struct aif_topo_nic *nic, int *slingshot)
{
	hwloc_obj_t os;

	*slingshot = nic->vendor == VENDOR_CRAY;
	for (os = nic->pci->io_first_child; os; os = os->next_sibling) {
		if (os->type != HWLOC_OBJ_OS_DEVICE || !os->name)
			continue;
		if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
			unsigned p;

			if (nic->verbs)
				continue;
			nic->verbs = 1;
			_copy(nic->name, sizeof(nic->name), os->name);
			nic->port = 1;
			for (p = 1; p <= 8; p++) {
				char key[16];
				const char *st;

				snprintf(key, sizeof(key), "Port%uState", p);
				st = hwloc_obj_get_info_by_name(os, key);
				if (st && !strcmp(st, "4")) {
					nic->port = (int) p;
					break;
				}
			}
		} else if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) {
			if (!nic->netdev[0])
				_copy(nic->netdev, sizeof(nic->netdev),
				      os->name);
			if (os->subtype && !strcmp(os->subtype, "Slingshot"))
				*slingshot = 1;
		}
	}
	if (!nic->verbs)
		memcpy(nic->name, nic->netdev, sizeof(nic->name));
}

static int _is_host_bridge(hwloc_obj_t obj)
{
	return obj->type == HWLOC_OBJ_BRIDGE &&
		obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST;
}

/* How near two PCI devices are, by their nearest common parent. */
static enum aif_near _near(hwloc_topology_t hw, hwloc_obj_t a, hwloc_obj_t b)
{
	hwloc_obj_t x, y, na, nb, pa, pb;

	for (x = a; x; x = x->parent) {
		for (y = b; y; y = y->parent) {
			if (x != y)
				continue;
			if (x->type == HWLOC_OBJ_PCI_DEVICE ||
			    (x->type == HWLOC_OBJ_BRIDGE && !_is_host_bridge(x)))
				return AIF_NEAR_SWITCH;
			if (_is_host_bridge(x))
				return AIF_NEAR_BRIDGE;
			goto nonio;
		}
	}
nonio:
	na = hwloc_get_non_io_ancestor_obj(hw, a);
	nb = hwloc_get_non_io_ancestor_obj(hw, b);
	if (na && nb && na->nodeset && nb->nodeset &&
	    hwloc_bitmap_intersects(na->nodeset, nb->nodeset))
		return AIF_NEAR_NUMA;
	pa = na ? hwloc_get_ancestor_obj_by_type(hw, HWLOC_OBJ_PACKAGE, na) :
		NULL;
	pb = nb ? hwloc_get_ancestor_obj_by_type(hw, HWLOC_OBJ_PACKAGE, nb) :
		NULL;
	if (na && na->type == HWLOC_OBJ_PACKAGE)
		pa = na;
	if (nb && nb->type == HWLOC_OBJ_PACKAGE)
		pb = nb;
	if (pa && pa == pb)
		return AIF_NEAR_PACKAGE;
	return AIF_NEAR_SYSTEM;
}

static int _gpu_of(const struct aif_topo *t, hwloc_obj_t obj)
{
	int i;

	if (obj && obj->type == HWLOC_OBJ_OS_DEVICE)
		obj = obj->parent;
	for (i = 0; obj && i < t->ngpus; i++)
		if (t->gpu[i].pci == obj)
			return i;
	return -1;
}

/* hwloc names NVSwitches by subtype; a switch whose PCI header it could
 * not read shows only that (DGX-2) */
static int _is_nvswitch(hwloc_obj_t obj)
{
	if (!obj || obj->type != HWLOC_OBJ_PCI_DEVICE)
		return 0;
	if (obj->subtype && !strcmp(obj->subtype, "NVSwitch"))
		return 1;
	return obj->attr->pcidev.vendor_id == VENDOR_NVIDIA &&
		obj->attr->pcidev.class_id == 0x0680;
}

static int _count(double mbps, double per_link)
{
	long n = lround(mbps / per_link);

	return n < 1 ? 1 : (int) (n > 1000 ? 1000 : n);
}

/* GPU to GPU: direct entries, or through NVSwitches (the GPUs that reach
 * the switches reach each other, at the lesser of their bandwidths). */
static void _links_from(struct aif_topo *t, const char *name,
			enum aif_link_kind direct, double per_link)
{
	struct hwloc_distances_s *d[4];
	unsigned nr = 4, m;

	if (hwloc_distances_get_by_name(t->hw, name, &nr, d, 0) < 0)
		return;
	if (nr > 4)
		nr = 4;
	for (m = 0; m < nr; m++) {
		unsigned long fabric[AIF_TOPO_MAX_GPUS] = { 0 };
		unsigned i, j, n = d[m]->nbobjs;
		int gi, gj, through_switch = 0;

		for (i = 0; i < n; i++) {
			gi = _gpu_of(t, d[m]->objs[i]);
			for (j = 0; gi >= 0 && j < n; j++) {
				unsigned long v = (unsigned long)
					d[m]->values[i * n + j];

				if (i == j || !v)
					continue;
				gj = _gpu_of(t, d[m]->objs[j]);
				if (gj >= 0 && gj != gi) {
					t->bandwidth[gi][gj] = v;
					t->link_kind = direct;
				} else if (_is_nvswitch(d[m]->objs[j])) {
					fabric[gi] += v;
					through_switch = 1;
				}
			}
		}
		for (gi = 0; through_switch && gi < t->ngpus; gi++) {
			for (gj = 0; gj < t->ngpus; gj++) {
				unsigned long v = fabric[gi] < fabric[gj] ?
					fabric[gi] : fabric[gj];

				if (gi == gj || !v || t->bandwidth[gi][gj])
					continue;
				t->bandwidth[gi][gj] = v;
				t->link_kind = AIF_LINK_NVSWITCH;
			}
		}
		hwloc_distances_release(t->hw, d[m]);
	}
	for (int a = 0; a < t->ngpus; a++)
		for (int b = 0; b < t->ngpus; b++)
			t->links[a][b] = a == b ? -1 :
				t->bandwidth[a][b] ?
				_count((double) t->bandwidth[a][b], per_link) :
				0;
}

/* Which SlurmdParameters make SLURM's socket the object a GPU's cores
 * are: "" when that is already the package (or the node). */
static const char *_socket_param(hwloc_topology_t hw, hwloc_obj_t nonio)
{
	hwloc_obj_t obj = NULL;

	if (!nonio || nonio->type == HWLOC_OBJ_PACKAGE ||
	    nonio->type == HWLOC_OBJ_MACHINE)
		return "";
	/* a NUMA node or an L3 with the same PUs as the locality */
	while ((obj = hwloc_get_next_obj_by_type(hw, HWLOC_OBJ_PACKAGE,
						 obj)))
		if (hwloc_bitmap_isequal(obj->cpuset, nonio->cpuset))
			return "";
	while ((obj = hwloc_get_next_obj_by_type(hw, HWLOC_OBJ_NUMANODE,
						 obj)))
		if (hwloc_bitmap_isequal(obj->cpuset, nonio->cpuset))
			return "numa_node_as_socket";
	while ((obj = hwloc_get_next_obj_by_type(hw, HWLOC_OBJ_L3CACHE,
						 obj)))
		if (hwloc_bitmap_isequal(obj->cpuset, nonio->cpuset))
			return "l3cache_as_socket";
	return NULL;
}

static int _find_devices(struct aif_topo *t, char *err, size_t errlen)
{
	hwloc_obj_t pci = NULL;
	const char *param = "";
	int i, first = 1;

	while ((pci = hwloc_get_next_pcidev(t->hw, pci))) {
		int slingshot = 0;

		if (_is_gpu(pci)) {
			struct aif_topo_gpu *g;

			if (t->ngpus == AIF_TOPO_MAX_GPUS) {
				snprintf(err, errlen, "more than %d GPUs",
					 AIF_TOPO_MAX_GPUS);
				return -1;
			}
			g = &t->gpu[t->ngpus++];
			g->pci = pci;
			continue;
		}
		if (t->nnics == AIF_TOPO_MAX_NICS)
			continue;
		struct aif_topo_nic *n = &t->nic[t->nnics];

		memset(n, 0, sizeof(*n));
		n->pci = pci;
		n->vendor = pci->attr->pcidev.vendor_id;
		_nic_names(n, &slingshot);
		if (n->verbs || (slingshot && n->netdev[0])) {
			_busid(pci, n->busid, sizeof(n->busid));
			n->numa = _first_numa(
				hwloc_get_non_io_ancestor_obj(t->hw, pci));
			t->nnics++;
		}
	}
	qsort(t->gpu, (size_t) t->ngpus, sizeof(t->gpu[0]), _gpu_cmp);
	qsort(t->nic, (size_t) t->nnics, sizeof(t->nic[0]), _nic_cmp);

	for (i = 0; i < t->ngpus; i++) {
		struct aif_topo_gpu *g = &t->gpu[i];
		hwloc_obj_t nonio = hwloc_get_non_io_ancestor_obj(t->hw,
								  g->pci);
		hwloc_obj_t core = NULL;
		const char *p;

		g->vendor = g->pci->attr->pcidev.vendor_id;
		g->device = g->pci->attr->pcidev.device_id;
		g->class_id = g->pci->attr->pcidev.class_id;
		g->maker = g->vendor == VENDOR_NVIDIA ? "nvidia" : "amd";
		_busid(g->pci, g->busid, sizeof(g->busid));
		_model(g);
		_gpu_names(g);
		g->numa = _first_numa(nonio);
		g->level = nonio ? hwloc_obj_type_string(nonio->type) : "Machine";
		g->cpuset = hwloc_bitmap_dup(nonio ? nonio->cpuset :
			hwloc_topology_get_complete_cpuset(t->hw));
		g->cores = hwloc_bitmap_alloc();
		if (!g->cpuset || !g->cores) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		while ((core = hwloc_get_next_obj_by_type(t->hw, HWLOC_OBJ_CORE,
							  core)))
			if (hwloc_bitmap_intersects(core->cpuset, g->cpuset))
				hwloc_bitmap_set(g->cores,
						 core->logical_index);
		p = _socket_param(t->hw, nonio);
		if (first)
			param = p;
		else if (!p || !param || strcmp(p, param))
			param = NULL;
		first = 0;

		g->nic_near = AIF_NEAR_COUNT;
		for (int k = 0; k < t->nnics; k++) {
			enum aif_near r = _near(t->hw, g->pci, t->nic[k].pci);

			t->nic_rel[i][k] = r;
			if (r < g->nic_near) {
				g->nic_near = r;
				g->nnics = 0;
			}
			if (r == g->nic_near)
				g->nics[g->nnics++] = k;
		}
	}
	t->socket_param = param;
	_links_from(t, "NVLinkBandwidth", AIF_LINK_NVLINK, NVLINK_MBPS);
	if (t->link_kind == AIF_LINK_NONE)
		_links_from(t, "XGMIBandwidth", AIF_LINK_XGMI, XGMI_MBPS);
	return 0;
}

int aif_topo_load(struct aif_topo **out, const char *xml,
		  char *err, size_t errlen)
{
	struct aif_topo *t;
	int rv = -1;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (hwloc_topology_init(&t->hw) < 0) {
		snprintf(err, errlen, "hwloc_topology_init: %s",
			 strerror(errno));
		free(t);
		return -1;
	}
	/* all of the node, not only what this process's cgroup allows:
	 * SLURM numbers the cores of the whole node */
	hwloc_topology_set_flags(t->hw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
	hwloc_topology_set_io_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_ALL);
	if (xml) {
		if (access(xml, R_OK) < 0) {
			snprintf(err, errlen, "%s: %s", xml, strerror(errno));
			goto fail;
		}
		if (hwloc_topology_set_xml(t->hw, xml) < 0) {
			snprintf(err, errlen, "%s: not an hwloc XML export",
				 xml);
			goto fail;
		}
		t->from_xml = 1;
	}
	if (hwloc_topology_load(t->hw) < 0) {
		snprintf(err, errlen, "%s: hwloc could not load it: %s",
			 xml ? xml : "this machine", strerror(errno));
		goto fail;
	}
	if (_find_devices(t, err, errlen) < 0)
		goto fail;
	rv = 0;
fail:
	if (rv < 0)
		aif_topo_free(t);
	else
		*out = t;
	return rv;
}

void aif_topo_free(struct aif_topo *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < t->ngpus; i++) {
		hwloc_bitmap_free(t->gpu[i].cpuset);
		hwloc_bitmap_free(t->gpu[i].cores);
	}
	hwloc_topology_destroy(t->hw);
	free(t);
}

const char *aif_near_name(enum aif_near near)
{
	static const char *const names[] = {
		"switch", "bridge", "numa", "package", "system", "none"
	};

	return names[near <= AIF_NEAR_COUNT ? near : AIF_NEAR_COUNT];
}

const char *aif_link_kind_name(enum aif_link_kind kind)
{
	switch (kind) {
	case AIF_LINK_NVLINK:
		return "nvlink";
	case AIF_LINK_NVSWITCH:
		return "nvswitch";
	case AIF_LINK_XGMI:
		return "xgmi";
	default:
		return "none";
	}
}
