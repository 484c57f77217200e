#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ssm_managed_node_info
version_added: 0.1.0
short_description: Systems Manager managed nodes, optionally waiting until they are Online
description:
  - Reads C(DescribeInstanceInformation), what Session Manager knows of each node (ping status,
    agent version, platform, address). amazon.aws has no module for it.
  - With O(wait=true) it blocks until every node in O(instance_ids) reports C(Online), through a
    botocore waiter (no fixed sleeps), and fails after O(wait_timeout) naming the nodes that
    never came online and the usual causes. The nodes are read first, and when all are already
    C(Online) (a converged cluster) that one read is all, no waiter runs.
  - A node is online only when its SSM agent runs and reaches Systems Manager. The instance
    profile must allow it (AmazonSSMManagedInstanceCore) and the subnet must reach the SSM
    endpoints (internet access, or the ssm, ssmmessages and ec2messages interface endpoints).
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  instance_ids:
    description:
      - EC2 instance ids. Empty lists every managed node of the account in the region.
    type: list
    elements: str
    default: []
  wait:
    description:
      - Wait until every node in O(instance_ids) reports C(Online).
    type: bool
    default: false
  wait_timeout:
    description:
      - How long to wait, in seconds, for each group of up to 50 nodes.
    type: int
    default: 600
  wait_delay:
    description:
      - Seconds between two polls while waiting.
    type: int
    default: 10
  fail_on_timeout:
    description:
      - With O(wait), whether nodes still not C(Online) at O(wait_timeout) fail the task. V(false) returns them in
        RV(not_online) with RV(progress), so that a role can wait in rounds with C(until) and say after each round
        how far it got (the C(nixl_efa.cluster.progress) callback prints it).
    type: bool
    default: true
    version_added: 0.2.0
seealso:
  - module: amazon.aws.ec2_instance_info
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Wait until Session Manager reaches the new nodes
  nixl_efa.cluster.ssm_managed_node_info:
    instance_ids: "{{ launched.instance_ids }}"
    wait: true
    wait_timeout: 900
  register: managed

- name: Every managed node of the region
  nixl_efa.cluster.ssm_managed_node_info:
  register: all_nodes
"""

RETURN = r"""
managed_nodes:
  description: Managed nodes, in the order EC2 returned them.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: Instance id.
      type: str
      sample: i-0123456789abcdef0
    ping_status:
      description: C(Online), C(ConnectionLost) or C(Inactive).
      type: str
      sample: Online
    last_ping_date_time:
      description: Last time the agent reported, ISO 8601.
      type: str
    agent_version:
      description: SSM agent version.
      type: str
    is_latest_version:
      description: Whether the agent is the latest version.
      type: bool
    platform_type:
      description: Platform type, for example C(Linux).
      type: str
    platform_name:
      description: Operating system name.
      type: str
    platform_version:
      description: Operating system version.
      type: str
    resource_type:
      description: C(EC2Instance) for EC2 nodes.
      type: str
    ip_address:
      description: Address the agent reported.
      type: str
    computer_name:
      description: Host name the agent reported.
      type: str
not_online:
  description: Ids from O(instance_ids) that are not C(Online) (or not managed at all).
  returned: always
  type: list
  elements: str
  sample: []
progress:
  description: How many of O(instance_ids) are C(Online), and which are not yet.
  returned: when O(instance_ids) is given
  type: str
  sample: "1 of 2 nodes Online in Session Manager; not yet: i-0abc123"
  version_added: 0.2.0
"""

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import ssm_nodes

NOT_ONLINE_HELP = (
    "the SSM agent must run on the node, its instance profile must allow Systems Manager "
    "(AmazonSSMManagedInstanceCore), and its subnet must reach SSM (internet access, or the "
    "ssm, ssmmessages and ec2messages interface endpoints with private DNS)"
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_ids=dict(type="list", elements="str", default=[]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            wait_delay=dict(type="int", default=10),
            fail_on_timeout=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    ids = module.params["instance_ids"]
    if module.params["wait"] and not ids:
        module.fail_json(msg="wait=true needs instance_ids: the nodes to wait for")
    if module.params["wait_timeout"] < 1 or module.params["wait_delay"] < 1:
        module.fail_json(msg="wait_timeout and wait_delay must be at least 1 second")

    client = module.client("ssm")

    def describe():
        try:
            return [ssm_nodes.summarize_node(n) for n in ssm_nodes.describe_nodes(client, ids)]
        except is_boto3_error_code("InvalidInstanceId"):
            return []
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg="Could not describe the managed nodes")

    nodes = describe()
    missing = ssm_nodes.not_online(nodes, ids)
    waited = None
    if module.params["wait"] and missing:
        try:
            ssm_nodes.wait_online(client, ids, module.params["wait_timeout"], module.params["wait_delay"])
        except botocore.exceptions.WaiterError as e:
            waited = str(e)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Could not wait for the managed nodes")
        nodes = describe()
        missing = ssm_nodes.not_online(nodes, ids)
    extra = {"progress": ssm_nodes.progress(ids, missing)} if ids else {}
    if waited is not None and missing and module.params["fail_on_timeout"]:
        module.fail_json(
            msg=(
                f"{len(missing)} of {len(ids)} nodes did not come Online in Systems Manager within "
                f"{module.params['wait_timeout']} s: {', '.join(missing)}. Check that {NOT_ONLINE_HELP}."
            ),
            managed_nodes=nodes,
            not_online=missing,
            **extra,
        )
    module.exit_json(changed=False, managed_nodes=nodes, not_online=missing, **extra)


if __name__ == "__main__":
    main()
