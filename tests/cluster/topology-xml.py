#!/usr/bin/env python3
"""Made-up GPU nodes as hwloc XML, for the tests (never a real machine's).

  topology-xml.py fixtures DIR     (re)write tests/fixtures/topology's
                                   aif-node-4gpu.xml and aif-node-l3.xml
  topology-xml.py this-machine OUT a node with this machine's online CPUs
                                   (one core each, os indexes as the
                                   kernel numbers them), split over two L3
                                   caches with a GPU under each and an
                                   RDMA NIC beside the second: a topology
                                   whose binding really applies here

SPDX-License-Identifier: GPL-2.0-or-later
"""
import sys
gp=[100]
def g():
    gp[0]+=1; return gp[0]
def cs(pus): 
    m=0
    for p in pus: m|=1<<p
    return "0x%08x"%m
def ns(nodes):
    m=0
    for n in nodes: m|=1<<n
    return "0x%08x"%m
def obj(t, pus, nodes, extra="", body="", ind=""):
    return f'{ind}<object type="{t}" {extra}cpuset="{cs(pus)}" complete_cpuset="{cs(pus)}" nodeset="{ns(nodes)}" complete_nodeset="{ns(nodes)}" gp_index="{g()}">\n{body}{ind}</object>\n'
def core(c, pus, node, ind):
    body=''.join(f'{ind}  <object type="PU" os_index="{p}" cpuset="{cs([p])}" complete_cpuset="{cs([p])}" nodeset="{ns([node])}" complete_nodeset="{ns([node])}" gp_index="{g()}"/>\n' for p in pus)
    return obj("Core", pus, [node], f'os_index="{c}" ', body, ind)
def numa(n, pus, ind):
    return f'{ind}<object type="NUMANode" os_index="{n}" cpuset="{cs(pus)}" complete_cpuset="{cs(pus)}" nodeset="{ns([n])}" complete_nodeset="{ns([n])}" gp_index="{g()}" local_memory="68719476736"/>\n'
def osdev(name, t, ind, infos=(), sub=None):
    s=f' subtype="{sub}"' if sub else ''
    inf=''.join(f'{ind}  <info name="{k}" value="{v}"/>\n' for k,v in infos)
    if inf: return f'{ind}<object type="OSDev" gp_index="{g()}" name="{name}"{s} osdev_type="{t}">\n{inf}{ind}</object>\n', gp[0]
    return f'{ind}<object type="OSDev" gp_index="{g()}" name="{name}"{s} osdev_type="{t}"/>\n', gp[0]
def pcidev(bus, ptype, ind, kids=""):
    return f'{ind}<object type="PCIDev" gp_index="{g()}" pci_busid="{bus}" pci_type="{ptype}" pci_link_speed="31.5">\n{kids}{ind}</object>\n'
def bridge(kind, rng, bus, ind, kids):
    if kind=="host":
        return f'{ind}<object type="Bridge" gp_index="{g()}" bridge_type="0-1" depth="0" bridge_pci="{rng}">\n{kids}{ind}</object>\n'
    return f'{ind}<object type="Bridge" gp_index="{g()}" bridge_type="1-1" depth="1" bridge_pci="{rng}" pci_busid="{bus}" pci_type="0604 [1000:c030] [0000:0000] b0" pci_link_speed="31.5">\n{kids}{ind}</object>\n'
HEAD='<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n<topology version="2.0">\n'
def gpu(bus, dev, idx, ind, nv=True, extra_os=""):
    k=''
    if nv:
        s,_=osdev(f"cuda{idx}",5,ind+"  ",[("Backend","CUDA")],"CUDA"); k+=s
        s,gi=osdev(f"nvml{idx}",1,ind+"  ",[("Backend","NVML")],"NVML"); k+=s
        return pcidev(bus, f"0302 [10de:{dev}] [10de:16c0] a1", ind, k), gi
    s,gi=osdev(f"rsmi{idx}",1,ind+"  ",[("Backend","RSMI")],"RSMI"); k+=s
    s,_=osdev(f"renderD{128+idx}",1,ind+"  "); k+=s
    return pcidev(bus, f"0380 [1002:{dev}] [1002:0b0c] 01", ind, k), gi
def nic(bus, verbs, netdev, ind, states=("4",), vendor="15b3:101b", cls="0207"):
    k=''
    if netdev:
        s,_=osdev(netdev,2,ind+"  ",[("Port","1")]); k+=s
    if verbs:
        s,_=osdev(verbs,3,ind+"  ",[(f"Port{i+1}State",st) for i,st in enumerate(states)]); k+=s
    return pcidev(bus, f"{cls} [{vendor}] [0000:0000] 00", ind, k)

def node4():
    # 2 packages x 2 NUMA groups x 4 cores x 2 PUs; core c has PUs c and c+16
    ind="        "
    nvml={}
    io={}
    # group 0: GPU 44 + mlx5_1 under a switch; ASPEED VGA under its own host bridge
    s,nvml[1]=gpu("0000:44:00.0","2330",1,ind+"      ")
    io[0]=bridge("host","0000:[40-45]",None,ind,
        bridge("pci","0000:[43-44]","0000:40:01.0",ind+"  ",
            s+nic("0000:43:00.0","mlx5_1","ib1",ind+"      ")))
    io[0]+=bridge("host","0000:[00-02]",None,ind,
        pcidev("0000:02:00.0","0300 [1a03:2000] [0000:0000] 41",ind+"  ", osdev("card0",1,ind+"    ")[0]))
    # group 1: GPU 03 + mlx5_0 (port 2 active) under a switch
    s,nvml[0]=gpu("0000:03:00.0","2330",0,ind+"      ")
    io[1]=bridge("host","0000:[01-05]",None,ind,
        bridge("pci","0000:[03-04]","0000:01:01.0",ind+"  ",
            s+nic("0000:04:00.0","mlx5_0","ib0",ind+"      ",("1","4"))))
    # group 2: GPU 84 alone; an NVSwitch function beside it
    s,nvml[2]=gpu("0000:84:00.0","2330",2,ind+"      ")
    io[2]=bridge("host","0000:[80-86]",None,ind,
        bridge("pci","0000:[84-84]","0000:80:01.0",ind+"  ",s)+
        pcidev("0000:86:00.0","0680 [10de:22a3] [0000:0000] a1",ind+"  "))
    # group 3: GPU c4 under one switch, mlx5_2 under another of the same host bridge
    s,nvml[3]=gpu("0000:c4:00.0","2330",3,ind+"      ")
    io[3]=bridge("host","0000:[c0-c5]",None,ind,
        bridge("pci","0000:[c4-c4]","0000:c0:01.0",ind+"  ",s)+
        bridge("pci","0000:[c3-c3]","0000:c0:02.0",ind+"  ",nic("0000:c3:00.0","mlx5_2","ib2",ind+"      ")))
    pk=''
    for p in range(2):
        groups=''
        for gi in range(2):
            n=p*2+gi
            cores=list(range(n*4,n*4+4))
            pus=[c for c in cores]+[c+16 for c in cores]
            body=numa(n,pus,"        ")+''.join(core(c,[c,c+16],n,"        ") for c in cores)+io[n]
            groups+=obj("Group",pus,[n],'kind="1" subkind="0" ',body,"      ")
        ppus=[c for c in range(p*8,p*8+8)]+[c+16 for c in range(p*8,p*8+8)]
        pk+=obj("Package",ppus,[p*2,p*2+1],f'os_index="{p}" ',groups,"    ")
    allp=list(range(32))
    body='    <info name="Backend" value="Linux"/>\n    <info name="HostName" value="aif-node-4gpu"/>\n'+pk
    out=HEAD+obj("Machine",allp,[0,1,2,3],'os_index="0" ',body,"  ")
    ids=' '.join(str(nvml[i]) for i in range(4))
    bw=[[1000000 if i==j else (100000 if i//2==j//2 else 50000) for j in range(4)] for i in range(4)]
    vals=' '.join(str(v) for r in bw for v in r)
    out+=f'  <distances2 type="OSDev" nbobjs="4" kind="9" name="NVLinkBandwidth" indexing="gp">\n    <indexes length="{len(ids)+1}">{ids} </indexes>\n    <u64values length="{len(vals)+1}">{vals} </u64values>\n  </distances2>\n</topology>\n'
    return out

def nodel3():
    # 1 package, 1 NUMA node, 2 L3 caches of 2 cores (no SMT); an AMD GPU under each L3's host bridge
    ind="      "
    s0,_=gpu("0000:c1:00.0","740c",0,ind+"    ",nv=False)
    s1,_=gpu("0000:d1:00.0","740c",1,ind+"    ",nv=False)
    io0=bridge("host","0000:[c0-c5]",None,ind,bridge("pci","0000:[c1-c1]","0000:c0:01.0",ind+"  ",s0)+
        nic("0000:c5:00.0",None,"hsi0",ind+"  ",vendor="17db:0501",cls="0200"))
    io1=bridge("host","0000:[d0-d5]",None,ind,bridge("pci","0000:[d1-d1]","0000:d0:01.0",ind+"  ",s1))
    l3=''
    for i,io in enumerate([io0,io1]):
        cores=[2*i,2*i+1]
        l3+=obj("L3Cache",cores,[0],'cache_size="33554432" depth="3" cache_linesize="64" cache_associativity="0" cache_type="0" ',
                ''.join(core(c,[c],0,"      ") for c in cores)+io,"    ")
    pk=obj("Package",[0,1,2,3],[0],'os_index="0" ',numa(0,[0,1,2,3],"    ")+l3,"  ")
    return HEAD+obj("Machine",[0,1,2,3],[0],'os_index="0" ','    <info name="HostName" value="aif-node-l3"/>\n'+pk,"  ")+'</topology>\n'

def online_cpus():
    cpus = []
    for part in open('/sys/devices/system/cpu/online').read().strip().split(','):
        a, _, b = part.partition('-')
        cpus += range(int(a), int(b or a) + 1)
    return cpus

def this_machine():
    cpus = online_cpus()
    if len(cpus) < 2:
        sys.exit("this machine has one CPU: no two GPUs to tell apart")
    half = [cpus[:len(cpus) // 2], cpus[len(cpus) // 2:]]
    ind = "      "
    l3 = ''
    for i, pus in enumerate(half):
        s, _ = gpu("0000:%02x:00.0" % (0x10 + 0x10 * i), "2330", i, ind + "    ")
        kids = bridge("pci", "0000:[%02x-%02x]" % (0x10 + 0x10 * i, 0x11 + 0x10 * i),
                      "0000:%02x:01.0" % (0x0f + 0x10 * i), ind + "  ",
                      s + (nic("0000:%02x:00.0" % (0x11 + 0x10 * i), "mlx5_0", "ib0", ind + "    ")
                           if i == 1 else ''))
        io = bridge("host", "0000:[%02x-%02x]" % (0x0f + 0x10 * i, 0x11 + 0x10 * i), None, ind, kids)
        l3 += obj("L3Cache", pus, [0], 'cache_size="33554432" depth="3" cache_linesize="64" cache_associativity="0" cache_type="0" ',
                  ''.join(core(c, [c], 0, "      ") for c in pus) + io, "    ")
    pk = obj("Package", cpus, [0], 'os_index="0" ', numa(0, cpus, "    ") + l3, "  ")
    return HEAD + obj("Machine", cpus, [0], 'os_index="0" ',
                      '    <info name="HostName" value="aif-this-machine"/>\n' + pk, "  ") + '</topology>\n'

if len(sys.argv) == 3 and sys.argv[1] == 'fixtures':
    open(sys.argv[2] + '/aif-node-4gpu.xml', 'w').write(node4())
    gp[0] = 100
    open(sys.argv[2] + '/aif-node-l3.xml', 'w').write(nodel3())
elif len(sys.argv) == 3 and sys.argv[1] == 'this-machine':
    open(sys.argv[2], 'w').write(this_machine())
else:
    sys.exit(__doc__)
