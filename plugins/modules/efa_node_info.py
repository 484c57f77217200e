#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efa_node_info
version_added: 0.1.0
short_description: Report a node's EFA, libfabric, GPU, NCCL and network state in one task
description:
  - Runs on a cluster node and reads, in one task, everything the node roles decide on,
    the EFA software (the EFA installer's C(/opt/amazon/efa_installed_packages)), EFA PCI devices, the
    efa kernel module, InfiniBand (verbs) devices, libfabric and its providers (C(fi_info)), the Yama
    ptrace scope, NVIDIA GPUs (C(nvidia-smi)), CUDA, Neuron devices, the aws-ofi-nccl plugin, the NCCL
    library, nccl-tests, the default route interface, and the EC2 instance type.
  - On request, what the validation role needs besides, in the same task - the endpoints C(fi_info -p <provider>)
    lists (O(fi_info_provider)), the collection's local facts (O(facts_prefix)) and the C(torchrun) to use
    (O(torchrun_candidates)).
  - Over Session Manager every task costs seconds, so one module replaces a dozen command tasks.
  - Only reads; it never changes the node. Missing tools or files are reported as null or empty, not as failures.
  - The instance type comes from the instance metadata service with IMDSv2 (a token, then the
    C(instance-type) document), each request limited to O(imds_timeout) seconds, so a host that is not
    on EC2 answers null within about two timeouts instead of hanging.
  - Python standard library only; it does not need AWS credentials.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  imds:
    description:
      - Ask the instance metadata service for the instance type. V(false) skips it and returns
        RV(instance_type) null at once.
    type: bool
    default: true
  imds_timeout:
    description:
      - Seconds each of the two metadata requests may take to connect and answer.
    type: float
    default: 1.0
  imds_endpoint:
    description:
      - Base URL of the instance metadata service. Change it only for tests or an IPv6-only instance
        (V(http://[fd00:ec2::254])).
    type: str
    default: http://169.254.169.254
  command_timeout:
    description:
      - Seconds each command (C(fi_info), C(nvidia-smi), C(ldconfig)) may run before it is stopped,
        when the node has the C(timeout) utility. A hung GPU driver then costs this long, not forever.
    type: int
    default: 30
  nccl_tests_paths:
    description:
      - Further C(all_reduce_perf) locations to look at, before the DLAMI's
        C(/usr/local/cuda-*/efa/test-cuda-*/all_reduce_perf) and C(/opt/nccl-tests/build/all_reduce_perf).
    type: list
    elements: path
    default: []
  paths:
    description:
      - Further paths whose existence to report in RV(paths), so a role needs no separate C(stat) task.
    type: list
    elements: path
    default: []
  debs:
    description:
      - Debian packages whose installed state to report in RV(debs) (C(dpkg-query)), so that the efa role installs
        the distribution's libfabric only when one is missing.
    type: list
    elements: str
    default: []
  fi_info_provider:
    description:
      - Also run C(fi_info -p <provider>) (V(efa), V(tcp), ...) and report the endpoints it lists in RV(fi_info),
        with the C(fi_info) found first in the EFA installer's C(bin) directory, then on C(PATH). Unset runs nothing.
    type: str
  facts_prefix:
    description:
      - Also read the local facts C(<facts_dir>/<facts_prefix>*.fact) into RV(local_facts), so that a play needs
        no fact gathering. Unset reads nothing.
    type: str
  facts_dir:
    description: The local facts directory O(facts_prefix) reads.
    type: path
    default: /etc/ansible/facts.d
  torchrun_candidates:
    description:
      - C(torchrun) paths or names (looked up on C(PATH)) to try in order; the first executable one is RV(torchrun),
        and the interpreter of its C(#!) line RV(torchrun_python) (the Python that has torch).
    type: list
    elements: str
    default: []
notes:
  - The EFA PCI device ids looked for are those the Linux efa driver binds
    (C(0xefa0) to C(0xefa4), vendor C(0x1d0f)).
  - Supports check mode; it changes nothing in either mode.
seealso:
  - name: Get started with EFA and NCCL
    description: AWS's guide to the EFA software, aws-ofi-nccl and nccl-tests.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-start-nccl.html
  - module: nixl_efa.cluster.efa_instance_type_info
extends_documentation_fragment:
  - nixl_efa.cluster.managed_files
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
"""

EXAMPLES = r"""
- name: Read the node
  nixl_efa.cluster.efa_node_info:
  register: node

- name: Only local facts, no metadata request (containers, other clouds)
  nixl_efa.cluster.efa_node_info:
    imds: false
  register: node

- name: Install EFA only when neither the installer nor an EFA provider is there
  ansible.builtin.debug:
    msg: "EFA software missing on {{ inventory_hostname }}"
  when: not node.efa.installed and not node.efa.libfabric.efa_provider

- name: GPUs and CUDA
  ansible.builtin.debug:
    msg: "{{ node.gpu.count }} x {{ node.gpu.gpus[0].name }}, CUDA {{ node.gpu.cuda_version }}"
  when: node.gpu.count > 0
"""

RETURN = r"""
debs:
  description: Whether each package of O(debs) is installed (false where C(dpkg-query) is missing).
  returned: always
  type: dict
  sample: {"libfabric1": true, "rdma-core": false}
managed_files:
  description:
    - The state of each path of O(managed_files), null when it is missing.
  returned: always
  type: dict
  sample:
    /etc/profile.d/nixl.sh: {"owner": "root", "group": "root", "mode": "0644", "dir": false,
                             "sha1": "3f786850e387550fdab836ed7e6dc881de23001b"}
efa:
  description: The EFA software and devices.
  returned: always
  type: dict
  contains:
    installed:
      description: Whether the EFA installer has run (C(/opt/amazon/efa_installed_packages) exists; DLAMIs ship it).
      type: bool
      sample: true
    installer_version:
      description: The EFA installer version recorded in C(/opt/amazon/efa_installed_packages), null without it.
      type: str
      sample: 1.47.0
    installed_packages:
      description: Package names listed in C(/opt/amazon/efa_installed_packages).
      type: list
      elements: str
      sample: [efa-config_1.18-1_all, libfabric-aws_2.1.0-1_amd64]
    prefix_present:
      description: Whether C(/opt/amazon/efa) exists.
      type: bool
    pci_devices:
      description: EFA PCI functions (vendor C(0x1d0f), device C(0xefa0) to C(0xefa4)) under C(/sys/bus/pci/devices).
      type: list
      elements: dict
      contains:
        address:
          description: PCI address.
          type: str
          sample: "0000:10:1c.0"
        device:
          description: PCI device id.
          type: str
          sample: "0xefa1"
    kernel_module_loaded:
      description: Whether the efa kernel module is loaded (C(/sys/module/efa) exists).
      type: bool
    infiniband_devices:
      description: Entries of C(/dev/infiniband) and C(/sys/class/infiniband), as full paths.
      type: list
      elements: str
      sample: [/dev/infiniband/uverbs0, /sys/class/infiniband/rdmap16s27]
    libfabric:
      description: libfabric as C(fi_info) reports it.
      type: dict
      contains:
        fi_info:
          description: Path of C(fi_info), found in C(/opt/amazon/efa/bin) first, then PATH; null without one.
          type: str
          sample: /opt/amazon/efa/bin/fi_info
        version:
          description: libfabric version from C(fi_info --version).
          type: str
          sample: 1.22.0amzn5.0
        providers:
          description: Provider names from C(fi_info -l), in its order.
          type: list
          elements: str
          sample: [efa, shm, tcp, sockets]
        efa_provider:
          description: Whether the efa provider is among them.
          type: bool
        error:
          description: Why C(fi_info -l) failed, null when it did not.
          type: str
    ptrace_scope:
      description: Content of C(/proc/sys/kernel/yama/ptrace_scope), null when the kernel has no Yama.
      type: str
      sample: "1"
    proc_sys_writable:
      description:
        - Whether C(/proc/sys) is mounted read-write, so sysctl values can be set (it is read-only in
          unprivileged containers).
      type: bool
gpu:
  description: NVIDIA GPUs, CUDA and Neuron devices.
  returned: always
  type: dict
  contains:
    nvidia_smi:
      description: Path of C(nvidia-smi), null without one.
      type: str
      sample: /usr/bin/nvidia-smi
    count:
      description: Number of GPUs nvidia-smi lists; 0 without nvidia-smi or when it fails.
      type: int
      sample: 8
    gpus:
      description: One entry per GPU.
      type: list
      elements: dict
      contains:
        name:
          description: GPU name.
          type: str
          sample: NVIDIA H100 80GB HBM3
        memory_mib:
          description: GPU memory in MiB, null when nvidia-smi cannot tell.
          type: int
          sample: 81559
    driver_version:
      description: NVIDIA driver version.
      type: str
      sample: 550.90.07
    cuda_version:
      description:
        - CUDA version, from the toolkit in RV(gpu.cuda_home) (C(version.json) or C(version.txt)) when there is one,
          else the highest version the driver supports (C(nvidia-smi)'s banner).
      type: str
      sample: 12.4.1
    cuda_version_source:
      description: V(toolkit) or V(driver), where RV(gpu.cuda_version) came from; null without a version.
      type: str
      sample: toolkit
    cuda_major:
      description: Major number of RV(gpu.cuda_version).
      type: int
      sample: 12
    cuda_home:
      description:
        - C(/usr/local/cuda) when it has C(bin/nvcc), else the newest C(/usr/local/cuda-X.Y) that has; null
          without a CUDA toolkit.
      type: str
      sample: /usr/local/cuda
    neuron_devices:
      description: C(/dev/neuron*) devices (Trainium, Inferentia).
      type: list
      elements: str
      sample: [/dev/neuron0, /dev/neuron1]
    error:
      description: Why nvidia-smi failed (for example no driver loaded), null when it did not.
      type: str
nccl:
  description: NCCL, the aws-ofi-nccl plugin and nccl-tests.
  returned: always
  type: dict
  contains:
    ofi_nccl_plugin:
      description:
        - The aws-ofi-nccl plugin (C(libnccl-net*.so)) in the first of C(/opt/amazon/ofi-nccl/lib),
          C(/opt/amazon/ofi-nccl/lib64), C(/opt/aws-ofi-nccl/lib), C(/usr/local/lib) that has one; null without.
      type: str
      sample: /opt/amazon/ofi-nccl/lib/libnccl-net-ofi.so
    ofi_nccl_plugin_dir:
      description: Directory of RV(nccl.ofi_nccl_plugin).
      type: str
      sample: /opt/amazon/ofi-nccl/lib
    library:
      description: The NCCL library, from C(ldconfig -p) or the usual CUDA and NCCL directories; null without.
      type: str
      sample: /usr/local/cuda/lib/libnccl.so.2
    home:
      description: The directory above RV(nccl.library) when it also holds C(include/nccl.h) (NCCL_HOME for builds).
      type: str
      sample: /usr/local/cuda
    nccl_tests:
      description: An executable C(all_reduce_perf) from O(nccl_tests_paths) or the DLAMI's locations; null without.
      type: str
      sample: /usr/local/cuda-12.4/efa/test-cuda-12.4/all_reduce_perf
network:
  description: Interfaces and the default route.
  returned: always
  type: dict
  contains:
    default_interface:
      description: Interface of the default IPv4 route (lowest metric) in C(/proc/net/route), null without one.
      type: str
      sample: ens32
    route_interfaces:
      description: Interfaces that carry IPv4 routes, in C(/proc/net/route) order.
      type: list
      elements: str
      sample: [ens32, docker0]
    interfaces:
      description: Every interface in C(/sys/class/net).
      type: list
      elements: str
      sample: [docker0, ens32, lo]
instance_type:
  description: The EC2 instance type from the instance metadata service; null when O(imds=false) or it does not answer.
  returned: always
  type: str
  sample: p5.48xlarge
imds_error:
  description: Why RV(instance_type) is null when O(imds=true); null otherwise.
  returned: always
  type: str
  sample: "instance metadata service not reachable at http://169.254.169.254: timed out"
paths:
  description: For each of O(paths), whether it exists.
  returned: always
  type: dict
  sample: {"/opt/nixl-efa/efa-installer/aws-efa-installer-1.47.0.tar.gz": true}
fi_info:
  description:
    - What C(fi_info -p <fi_info_provider>) answered; null without O(fi_info_provider). C(matched) counts the
      endpoints of that provider (C(tcp;ofi_rxm) counts for C(tcp)); C(error) says why there are none.
  returned: always
  type: dict
  contains:
    path:
      description: The fi_info that ran.
      type: str
    provider:
      description: The provider asked for.
      type: str
    rc:
      description: fi_info's exit status.
      type: int
    entries:
      description: The endpoints listed, each C(provider), C(fabric), C(domain), C(type) and C(protocol).
      type: list
      elements: dict
    entry_count:
      description: How many endpoints were listed.
      type: int
    matched:
      description: How many of them are of the provider asked for.
      type: int
    error:
      description: Why there are none; null when there are.
      type: str
  sample:
    path: /opt/amazon/efa/bin/fi_info
    provider: efa
    rc: 0
    entries: [{provider: efa, fabric: efa, domain: rdmap0s31-rdm, type: FI_EP_RDM, protocol: FI_PROTO_EFA}]
    entry_count: 1
    matched: 1
    error: null
local_facts:
  description:
    - The local facts read with O(facts_prefix), by name; a file that is not JSON gives a dict with an C(error) key.
      Empty without O(facts_prefix).
  returned: always
  type: dict
  sample: {"nixl_efa_nixl": {"version": "0.9.0"}}
torchrun:
  description: The first executable of O(torchrun_candidates), null when none is.
  returned: always
  type: str
  sample: /opt/conda/envs/pytorch/bin/torchrun
torchrun_python:
  description: The interpreter on the C(#!) line of RV(torchrun), null when it names none that runs.
  returned: always
  type: str
  sample: /opt/conda/envs/pytorch/bin/python3.12
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import local_fact
from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_files
from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_info
from ansible_collections.nixl_efa.cluster.plugins.module_utils import service_node
from ansible_collections.nixl_efa.cluster.plugins.module_utils import validation_node

# The file system root the probe reads; tests point it at a fake tree.
ROOT = "/"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            imds=dict(type="bool", default=True),
            imds_timeout=dict(type="float", default=1.0),
            imds_endpoint=dict(type="str", default="http://169.254.169.254"),
            managed_files=dict(type="list", elements="path", default=[]),
            command_timeout=dict(type="int", default=30),
            nccl_tests_paths=dict(type="list", elements="path", default=[]),
            paths=dict(type="list", elements="path", default=[]),
            debs=dict(type="list", elements="str", default=[]),
            fi_info_provider=dict(type="str"),
            facts_prefix=dict(type="str"),
            facts_dir=dict(type="path", default=local_fact.FACTS_DIR),
            torchrun_candidates=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["imds_timeout"] <= 0:
        module.fail_json(msg="imds_timeout must be greater than 0")
    run = service_node.command_runner(module, params["command_timeout"], environ={"LC_ALL": "C"})

    probe = node_info.NodeProbe(run, root=ROOT)
    gpu = probe.gpu()
    result = dict(
        changed=False,
        efa=probe.efa(),
        gpu=gpu,
        nccl=probe.nccl(cuda_home=gpu["cuda_home"], tests_paths=params["nccl_tests_paths"]),
        network=probe.network(),
        instance_type=None,
        imds_error=None,
        paths=probe.paths(params["paths"]),
        fi_info=None,
        local_facts={},
        debs={deb: service_node.ServiceNode(lambda argv: run(argv)[:2]).dpkg_installed(deb) for deb in params["debs"]},
        managed_files={path: node_files.state(probe.local(path)) for path in params["managed_files"]},
    )
    if params["fi_info_provider"]:
        result["fi_info"] = validation_node.fi_info_endpoints(probe, params["fi_info_provider"])
    if params["facts_prefix"]:
        result["local_facts"] = local_fact.read_facts(probe.local(params["facts_dir"]), params["facts_prefix"])
    result["torchrun"], result["torchrun_python"] = validation_node.torchrun(probe, params["torchrun_candidates"])
    if params["imds"]:
        result["instance_type"], result["imds_error"] = node_info.imds_instance_type(
            params["imds_endpoint"], params["imds_timeout"]
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
