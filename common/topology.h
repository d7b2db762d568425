/*
 * slurm-aifactory: a GPU node's topology, read with hwloc.
 *
 * Which cores, NUMA node and NICs are nearest each GPU, and how the GPUs
 * are linked to each other; and, for a task given some GPUs, the CPUs
 * and NICs it should use. Read by aifctl (topology show, topology gres)
 * and by the SPANK plugin in slurmstepd. Nothing here runs in slurmctld,
 * so this part of the library is its own archive and only it needs hwloc.
 *
 * A topology is loaded once (from the live machine or an XML export) and
 * then only read: concurrent readers are fine, nothing may read it while
 * it is loaded or freed.
 *
 * Decisions:
 *  - A GPU is a PCI device of NVIDIA (10de) or AMD (1002) of class 0302
 *    (3D), 0380 (MI250X) or 1200 (processing accelerator: MI300A), or a
 *    VGA (0300) one of NVIDIA's or with a compute device (rsmi, OpenCL,
 *    render node) under it. That leaves out the BMC's VGA (ASPEED,
 *    Matrox, Amazon, ATI ES1000), NVSwitches (0680) and co-processors
 *    such as Intel QAT (0b40).
 *  - GPUs are numbered in PCI bus order (domain, bus, device, function):
 *    CUDA's PCI_BUS_ID order, and the order of the gres.conf lines we
 *    write, hence SLURM's GPU indexes on the node.
 *  - A fabric NIC is a PCI device with an OpenFabrics (RDMA) device, or a
 *    Slingshot one (HPE Cassini, vendor 17db, or hwloc's Slingshot
 *    subtype). Plain Ethernet ports are not fabric NICs.
 *  - A GPU's cores are those of its locality: the first non-I/O object
 *    above it (hwloc-calc pci=... --intersect Core). That may be a NUMA
 *    node, an L3 cache (MI250X) or a whole package; `level` says which.
 */
#ifndef AIF_TOPOLOGY_H
#define AIF_TOPOLOGY_H

#include <stddef.h>
#include <stdio.h>

#include <hwloc.h>

#define AIF_TOPO_MAX_GPUS 64
#define AIF_TOPO_MAX_NICS 64
#define AIF_TOPO_NAME_MAX 32

/* How near a NIC (or another GPU) is to a GPU, nearest first; the words
 * of nvidia-smi topo -m in brackets. */
enum aif_near {
	AIF_NEAR_SWITCH = 0,	/* under one PCIe switch (PIX/PXB) */
	AIF_NEAR_BRIDGE,	/* under one host bridge (PHB) */
	AIF_NEAR_NUMA,		/* same NUMA node (NODE) */
	AIF_NEAR_PACKAGE,	/* same package, another NUMA node */
	AIF_NEAR_SYSTEM,	/* across packages (SYS) */
	AIF_NEAR_COUNT
};

/* What the GPU-to-GPU link data in the topology came from. */
enum aif_link_kind {
	AIF_LINK_NONE = 0,	/* the topology carries none */
	AIF_LINK_NVLINK,	/* direct NVLink (NVLinkBandwidth) */
	AIF_LINK_NVSWITCH,	/* NVLink through NVSwitches: all to all */
	AIF_LINK_XGMI		/* AMD xGMI (XGMIBandwidth) */
};

struct aif_topo_nic {
	char name[AIF_TOPO_NAME_MAX];	/* RDMA name (mlx5_0), else netdev */
	char netdev[AIF_TOPO_NAME_MAX];	/* ib0, hsi0; "" when none */
	char busid[16];			/* 0000:04:00.0 */
	unsigned vendor;
	int verbs;			/* has an OpenFabrics device */
	int port;			/* first active port, else 1 */
	int numa;			/* os index of its NUMA node, -1 */
	hwloc_obj_t pci;
};

struct aif_topo_gpu {
	char busid[16];			/* 0000:03:00.0 */
	unsigned vendor, device, class_id;
	const char *maker;		/* "nvidia" or "amd" */
	char model[AIF_TOPO_NAME_MAX];	/* a100, h100, mi250x, ... or "" */
	char osdev[AIF_TOPO_NAME_MAX];	/* cuda0, nvml0, rsmi0, card1; or "" */
	char render[AIF_TOPO_NAME_MAX];	/* renderD128 where the topology has it */
	int numa;			/* os index of its first NUMA node, -1 */
	const char *level;		/* NUMANode, L3Cache, Package, Group... */
	hwloc_bitmap_t cpuset;		/* PUs (os indexes) of its locality */
	hwloc_bitmap_t cores;		/* logical core indexes of it */
	hwloc_obj_t pci;
	enum aif_near nic_near;		/* how near its nearest NIC is */
	int nics[AIF_TOPO_MAX_NICS];	/* indexes of the NICs that near */
	int nnics;
};

struct aif_topo {
	hwloc_topology_t hw;
	int from_xml;			/* not this machine: cannot bind */
	int ngpus, nnics;
	struct aif_topo_gpu gpu[AIF_TOPO_MAX_GPUS];
	struct aif_topo_nic nic[AIF_TOPO_MAX_NICS];
	enum aif_near nic_rel[AIF_TOPO_MAX_GPUS][AIF_TOPO_MAX_NICS];
	enum aif_link_kind link_kind;
	/* link counts GPU to GPU: -1 for itself, 0 none; and the bandwidth
	 * in MB/s that the counts were derived from */
	int links[AIF_TOPO_MAX_GPUS][AIF_TOPO_MAX_GPUS];
	unsigned long bandwidth[AIF_TOPO_MAX_GPUS][AIF_TOPO_MAX_GPUS];
	/* what a GPU's cores are, when all GPUs agree: the SlurmdParameters
	 * that makes SLURM's socket match it ("" none needed, NULL mixed) */
	const char *socket_param;
};

/*
 * Load the topology of this machine (xml NULL) or of an hwloc XML export.
 * On success *out is set (free with aif_topo_free) and 0 returned; on
 * failure -1, with the reason in err.
 */
int aif_topo_load(struct aif_topo **out, const char *xml,
		  char *err, size_t errlen);
void aif_topo_free(struct aif_topo *topo);

/* "switch", "bridge", "numa", "package", "system". */
const char *aif_near_name(enum aif_near near);
const char *aif_link_kind_name(enum aif_link_kind kind);

/*
 * A placement: what binding a task needs of a node, and nothing else:
 * for each GPU the PUs of its locality, of its NUMA nodes and of its
 * packages and its nearest NICs; the NICs' names; each core's PUs. Made
 * from a topology once per node, kept in a small text file (the SPANK
 * plugin's cache, so that a step does not load hwloc's topology again),
 * read back in microseconds.
 */
struct aif_place_gpu {
	char busid[16];
	hwloc_bitmap_t local, numa, package;
	int nics[AIF_TOPO_MAX_NICS];
	int nnics;
};

struct aif_place_nic {
	char name[AIF_TOPO_NAME_MAX];
	char netdev[AIF_TOPO_NAME_MAX];	/* "" when none */
	unsigned vendor;
	int verbs, port;
};

#define AIF_PLACE_MAX_CORES 4096
#define AIF_PLACE_SOURCE_MAX 512

struct aif_placement {
	char source[AIF_PLACE_SOURCE_MAX];	/* what it was made from */
	int ngpus, nnics, ncores;
	struct aif_place_gpu gpu[AIF_TOPO_MAX_GPUS];
	struct aif_place_nic nic[AIF_TOPO_MAX_NICS];
	hwloc_bitmap_t core[AIF_PLACE_MAX_CORES];	/* PUs of core i */
};

/* From a topology; source is a free text kept with it (one line). NULL
 * when out of memory. Free with aif_placement_free. */
struct aif_placement *aif_placement_new(const struct aif_topo *topo,
					const char *source);
void aif_placement_free(struct aif_placement *place);

/* As text (aif_placement_read's input) on out; 0 or -1 (a write error). */
int aif_placement_write(const struct aif_placement *place, FILE *out);

/*
 * From text, len bytes of it (no NUL needed). Every line is checked:
 * names are plain tokens, indexes in order and in range, lists are
 * hwloc's. 0 with *out set, or -1 with the line and the reason in err.
 */
int aif_placement_read(const char *text, size_t len,
		       struct aif_placement **out, char *err, size_t errlen);

/* The PUs of the cores with these logical indexes (a SLURM core list of
 * this node, such as S_STEP_ALLOC_CORES), into pus. 0 or -1 (a core the
 * node does not have). */
int aif_placement_cores_to_pus(const struct aif_placement *place,
			       hwloc_const_bitmap_t cores, hwloc_bitmap_t pus);

/*
 * Where one task should run.
 *
 * In: the GPUs (indexes in bus order) the task should be near, and the
 * PUs it may use at all (the step's allocation). Out: the PUs nearest
 * those GPUs within the allowed ones, how far the search had to widen
 * (locality, NUMA node, package, or the whole allocation when none of the
 * allowed PUs is in the GPUs' packages), and the nearest NICs.
 */
enum aif_bind_level {
	AIF_BIND_LOCAL = 0,	/* the GPUs' own cores */
	AIF_BIND_NUMA,
	AIF_BIND_PACKAGE,
	AIF_BIND_ALLOCATION	/* nothing near: what was allowed */
};

struct aif_binding {
	hwloc_bitmap_t cpuset;		/* caller allocates */
	enum aif_bind_level level;
	int nics[AIF_TOPO_MAX_NICS];
	int nnics;
};

int aif_placement_bind(const struct aif_placement *place, const int *gpus,
		       int ngpus, hwloc_const_bitmap_t allowed,
		       struct aif_binding *out);
const char *aif_bind_level_name(enum aif_bind_level level);

/*
 * A GPU list from the environment SLURM gives a task (SLURM_STEP_GPUS,
 * SLURM_JOB_GPUS, CUDA_VISIBLE_DEVICES): decimal indexes below
 * AIF_TOPO_MAX_GPUS, without leading zeros, separated by commas, no index
 * twice, nothing else (a UUID or a MIG name is not an index). The count,
 * or -1.
 */
int aif_gpu_list_parse(const char *text, int *gpus, int max);

/*
 * A list of indexes as SLURM and hwloc write them ("0-3,8"), strictly:
 * decimal items "a" or "a-b" (a <= b < limit) separated by commas, no
 * sign, no leading zero, no space. Into set (cleared first): 0, or -1
 * with set empty. What the placement cache, a step's core list and
 * aifctl's --cores take; hwloc's own reader takes signs and octal.
 */
int aif_index_list_parse(const char *text, unsigned limit,
			 hwloc_bitmap_t set);

#endif
