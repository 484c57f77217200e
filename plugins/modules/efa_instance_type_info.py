#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efa_instance_type_info
version_added: 0.1.0
short_description: Describe the EFA, GPU and accelerator facts of EC2 instance types
description:
  - Reads EC2 C(DescribeInstanceTypes) and returns what an EFA cluster needs to know about each
    instance type asked for, EFA support, how many EFA interfaces and network cards it has, its
    GPUs or Neuron accelerators, and the root volume size recommended for it.
  - Nothing is taken from a built-in list of EFA instance types; EC2 is the only source.
  - An instance type EC2 does not know fails the module with its name.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  instance_types:
    description:
      - Instance type names, for example V(p5.48xlarge) or V(g5.12xlarge).
    type: list
    elements: str
    required: true
seealso:
  - module: nixl_efa.cluster.efa_launch_template
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Check that the cluster's instance type can carry EFA
  nixl_efa.cluster.efa_instance_type_info:
    instance_types:
      - p5.48xlarge
      - g5.12xlarge
  register: efa_types

- name: Refuse a type without EFA before anything is created
  ansible.builtin.assert:
    that: efa_types.instance_types | map(attribute='efa_supported') is all
    fail_msg: "Every node type must support EFA"

- name: Use the recommended root volume size
  ansible.builtin.set_fact:
    node_volume_size: "{{ efa_types.instance_types[0].recommended_volume_size }}"
"""

RETURN = r"""
instance_types:
  description: One entry per instance type asked for, in the order asked.
  returned: always
  type: list
  elements: dict
  contains:
    instance_type:
      description: The instance type name.
      type: str
      sample: p5.48xlarge
    efa_supported:
      description: Whether EC2 reports EFA support for the type.
      type: bool
      sample: true
    max_efa_interfaces:
      description: The most EFA interfaces an instance of this type can have.
      type: int
      sample: 32
    network_cards:
      description: Number of network cards.
      type: int
      sample: 32
    network_card_details:
      description: Per network card, its index, interface limit, bandwidth and the interface types it accepts.
      type: list
      elements: dict
      contains:
        network_card_index:
          description: The card's index.
          type: int
        maximum_network_interfaces:
          description: How many interfaces the card takes.
          type: int
        baseline_bandwidth_in_gbps:
          description: The card's baseline bandwidth.
          type: float
        network_performance:
          description: EC2's label for the card's performance.
          type: str
        interface_types:
          description: The interface types the card accepts (V(interface), V(efa), V(efa-only)).
          type: list
          elements: str
      sample:
        - network_card_index: 0
          maximum_network_interfaces: 2
          baseline_bandwidth_in_gbps: 100.0
          network_performance: "100 Gigabit"
          interface_types: [interface, efa, efa-only]
    network_performance:
      description: EC2's network performance label.
      type: str
      sample: 3200 Gigabit
    ena_srd_supported:
      description: Whether ENA Express (SRD) is supported.
      type: bool
    gpu_name:
      description: GPU manufacturer and model, null without GPUs.
      type: str
      sample: NVIDIA H100
    gpu_count:
      description: Number of GPUs, null without GPUs.
      type: int
      sample: 8
    gpu_memory_mib:
      description: Memory of one GPU in MiB, null without GPUs.
      type: int
      sample: 81920
    gpu_total_memory_mib:
      description: Memory of all GPUs together in MiB, null without GPUs.
      type: int
      sample: 655360
    accelerator_name:
      description: Neuron (or other inference accelerator) device name, null without one.
      type: str
      sample: Trainium
    accelerator_count:
      description: Number of Neuron devices, null without them.
      type: int
      sample: 16
    accelerator_total_memory_mib:
      description: Memory of all Neuron devices together in MiB, null without them.
      type: int
    vcpus:
      description: Default vCPU count.
      type: int
      sample: 192
    memory_mib:
      description: Instance memory in MiB.
      type: int
      sample: 2097152
    current_generation:
      description: Whether EC2 marks the type current generation.
      type: bool
    recommended_volume_size:
      description:
        - Root volume size in GB recommended for the type, from this collection's table for the common
          GPU and Trainium/Inferentia types, otherwise from a rule on accelerator memory and vCPUs
          (up to 48 vCPUs 200, up to 96 300, up to 192 500, beyond or with 600 GiB+ of accelerator memory 1000).
      type: int
      sample: 1000
    recommended_volume_size_source:
      description: V(table) or V(rule), where RV(instance_types[].recommended_volume_size) came from.
      type: str
      sample: table
"""

from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.nixl_efa.cluster.plugins.module_utils.ec2_api import describe_instance_types
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ec2_api import unknown_instance_types
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import summarize_instance_type


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(instance_types=dict(type="list", elements="str", required=True)),
        supports_check_mode=True,
    )
    wanted = list(dict.fromkeys(module.params["instance_types"]))
    if not wanted:
        module.fail_json(msg="instance_types must name at least one instance type")
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())

    try:
        raw = describe_instance_types(client, wanted)
        if raw is None:
            missing = unknown_instance_types(client, wanted)
            module.fail_json(
                msg=f"Unknown instance type(s): {', '.join(missing or wanted)}; EC2 in this region does not offer them",
                unknown_instance_types=missing or wanted,
            )
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)

    by_name = {item["InstanceType"]: summarize_instance_type(item) for item in raw}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        module.fail_json(
            msg=f"Unknown instance type(s): {', '.join(missing)}; EC2 in this region does not offer them",
            unknown_instance_types=missing,
        )
    module.exit_json(changed=False, instance_types=[by_name[name] for name in wanted])


if __name__ == "__main__":
    main()
