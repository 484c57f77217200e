#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: provision_state_info
version_added: 0.3.0
short_description: Read everything a provisioned cluster is made of in one task, as one digest
description:
  - Reads, in one task, the resources C(playbooks/provision.yml) manages for a cluster - its VPC with its DNS
    attributes, subnets, security groups, route tables, internet and NAT gateways, the NAT gateway's Elastic IP,
    VPC endpoints and placement group; the nodes' instances and whether Session Manager has them Online, their
    launch template and capacity reservation; the nodes' IAM role with its policies and instance profile; the
    bucket's six settings; and Parameter Store entries - and returns their SHA-256 digest.
  - Everything is read in full; only fields that change while the resource stays as it was are left out (when
    a Session Manager agent last pinged, when a role was last used), and lists are put in a stable order, so
    two reads give the same digest exactly when the resources are the same.
  - C(provision.yml) keeps the digest read at the end of a run that converged; a later run with the same
    inputs and the same collection that reads the same digest has nothing to change, and skips the roles
    (its fast path). A resource that is gone reads as missing and changes the digest; it never fails the read.
  - The nodes are found by the cluster's tag, in every state but terminated, so a node stopped, added or
    removed outside Ansible changes the digest.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  cluster_name:
    description: The cluster; its nodes are the instances tagged C(nixl-efa:cluster) with this value.
    type: str
    required: true
  vpc_id:
    description:
      - The cluster's VPC; its subnets, groups, route tables, gateways and endpoints are read.
      - Omit to read no network.
    type: str
  placement_group:
    description: The cluster's placement group.
    type: str
  launch_template_id:
    description: The nodes' launch template; its latest and default versions are read.
    type: str
  capacity_reservation_id:
    description: The capacity reservation the nodes run in.
    type: str
  role_name:
    description: The nodes' IAM role; the role, its inline policies and its attached policies are read.
    type: str
  instance_profile_name:
    description: The nodes' instance profile.
    type: str
  bucket:
    description: The cluster's bucket; the six settings of M(nixl_efa.cluster.s3_bucket_settings_info) are read.
    type: str
  parameter_names:
    description: Parameter Store entries read by name, such as the public parameter of the nodes' AMI (at most 10).
    type: list
    elements: str
    default: []
  parameter_paths:
    description: Parameter Store paths whose entries are all read, such as where the cluster's reservation is saved.
    type: list
    elements: str
    default: []
seealso:
  - module: nixl_efa.cluster.s3_bucket_settings_info
  - module: nixl_efa.cluster.ssm_managed_node_info
  - module: amazon.aws.ec2_instance_info
  - module: amazon.aws.ec2_vpc_net_info
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the cluster as a digest
  nixl_efa.cluster.provision_state_info:
    cluster_name: demo
    vpc_id: vpc-0123456789abcdef0
    placement_group: demo-efa
    launch_template_id: lt-0123456789abcdef0
    role_name: nixl-efa-demo-node
    instance_profile_name: nixl-efa-demo-node
    bucket: nixl-efa-demo-us-east-1-123456789012
    parameter_names: [/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id]
  register: cluster_state

- name: Say whether anything changed since the digest kept last time
  ansible.builtin.debug:
    msg: "{{ 'unchanged' if cluster_state.digest == kept_digest else 'changed; gone: ' ~ cluster_state.missing }}"
"""

RETURN = r"""
digest:
  description: SHA-256 of everything read, as hex; equal digests, equal resources.
  returned: always
  type: str
  sample: 3f0c9f2b6c1e4b1f8e0b8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e
resources:
  description: How many resources of each kind were found (a single resource counts 1 when found, 0 when gone).
  returned: always
  type: dict
  contains:
    vpc:
      description: The VPC, with its two DNS attributes.
      type: int
    subnets:
      description: Subnets in the VPC.
      type: int
    security_groups:
      description: Security groups in the VPC.
      type: int
    route_tables:
      description: Route tables in the VPC.
      type: int
    internet_gateways:
      description: Internet gateways attached to the VPC.
      type: int
    nat_gateways:
      description: NAT gateways in the VPC, any state.
      type: int
    addresses:
      description: The NAT gateways' Elastic IPs.
      type: int
    vpc_endpoints:
      description: VPC endpoints in the VPC.
      type: int
    placement_group:
      description: The placement group.
      type: int
    instances:
      description: The cluster's instances that are not terminated.
      type: int
    managed_nodes:
      description: Those Session Manager knows, with their ping status in the digest.
      type: int
    launch_template:
      description: The launch template.
      type: int
    capacity_reservation:
      description: The capacity reservation.
      type: int
    role:
      description: The IAM role.
      type: int
    instance_profile:
      description: The instance profile.
      type: int
    bucket:
      description: The bucket's settings (1 when read).
      type: int
    parameters:
      description: Parameter Store entries found or asked for by name.
      type: int
  sample: {"vpc": 1, "subnets": 2, "instances": 2, "managed_nodes": 2, "bucket": 1}
missing:
  description: What is gone (a section's name, or C(parameter <name>)); empty when everything asked for exists.
  returned: always
  type: list
  elements: str
  sample: ["placement_group"]
api_calls:
  description: The AWS requests the read took.
  returned: always
  type: int
  sample: 24
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.nixl_efa.cluster.plugins.module_utils import provision_state
from ansible_collections.nixl_efa.cluster.plugins.module_utils.s3_bucket_settings import RETRY_CODES


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster_name=dict(type="str", required=True),
            vpc_id=dict(type="str"),
            placement_group=dict(type="str"),
            launch_template_id=dict(type="str"),
            capacity_reservation_id=dict(type="str"),
            role_name=dict(type="str"),
            instance_profile_name=dict(type="str"),
            bucket=dict(type="str"),
            parameter_names=dict(type="list", elements="str", default=[]),
            parameter_paths=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    if len(module.params["parameter_names"]) > 10:
        module.fail_json(msg="parameter_names: at most 10 names (GetParameters reads 10 at a time).")
    retry = AWSRetry.jittered_backoff()
    clients = {
        "ec2": module.client("ec2", retry_decorator=retry),
        "ssm": module.client("ssm", retry_decorator=retry),
        "iam": module.client("iam", retry_decorator=retry),
        "s3": module.client("s3", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_CODES)),
    }
    try:
        state, calls = provision_state.read_state(clients, module.params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not read the resources of cluster {module.params['cluster_name']}")
    module.exit_json(
        changed=False,
        digest=provision_state.digest(state),
        resources=provision_state.summary(state),
        missing=provision_state.missing(state),
        api_calls=calls,
    )


if __name__ == "__main__":
    main()
