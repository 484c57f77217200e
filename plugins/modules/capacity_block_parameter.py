#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: capacity_block_parameter
version_added: 0.1.0
short_description: Write or delete a cluster's Parameter Store entry, only if it is the cluster's
description:
  - Keeps one C(String) entry of Parameter Store for a cluster, such as the reservation id or the
    subnet id the M(nixl_efa.cluster.capacity_block) role saves under C(/nixl-efa/<cluster>/).
  - A new entry is created without overwrite and tagged C(nixl-efa:cluster=)O(cluster) (plus
    O(tags)). When two runs create it at once, the second compares its value with the first's.
  - An existing entry is overwritten (when its value differs) or deleted only when its
    C(nixl-efa:cluster) tag names O(cluster). An entry without that tag, or naming another cluster,
    is refused with a message naming it and its tag, and nothing is changed.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  name:
    description: Full name of the parameter, such as C(/nixl-efa/demo/subnet-id).
    type: str
    required: true
  value:
    description: Value to keep; required with O(state=present).
    type: str
  state:
    description: V(present) writes O(value); V(absent) deletes the entry.
    type: str
    choices: [present, absent]
    default: present
  cluster:
    description: The cluster that owns the entry, the value of its C(nixl-efa:cluster) tag.
    type: str
    required: true
  description:
    description: Description of the entry; defaults to one naming the cluster.
    type: str
  tags:
    description: Extra tags for a new entry (C(nixl-efa:cluster) is always set).
    type: dict
    aliases: [resource_tags]
attributes:
  check_mode:
    support: full
    details: Reads the entry and its tags and says what would change, including a refusal.
  diff_mode:
    support: none
notes:
  - Needs C(ssm:GetParameter), C(ssm:PutParameter), C(ssm:AddTagsToResource),
    C(ssm:ListTagsForResource) and, for V(absent), C(ssm:DeleteParameter).
seealso:
  - module: nixl_efa.cluster.capacity_block
  - module: amazon.aws.ssm_parameter
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Save the subnet beside the reservation
  nixl_efa.cluster.capacity_block_parameter:
    name: /nixl-efa/demo/subnet-id
    value: subnet-0123456789abcdef0
    cluster: demo

- name: Forget it (refused if the entry is not cluster demo's)
  nixl_efa.cluster.capacity_block_parameter:
    name: /nixl-efa/demo/subnet-id
    cluster: demo
    state: absent
"""

RETURN = r"""
parameter:
  description: The entry as this run left it (or would leave it, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    value:
      description: Its value; null once deleted or when it does not exist.
      type: str
    previous_value:
      description: The value before this run; null when there was none.
      type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block_purchase as cbp


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            value=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            cluster=dict(type="str", required=True),
            description=dict(type="str"),
            tags=dict(type="dict", aliases=["resource_tags"]),
        ),
        required_if=[("state", "present", ["value"])],
        supports_check_mode=True,
    )
    params = module.params
    name = params["name"]
    if not params["cluster"].strip():
        module.fail_json(msg="cluster must not be empty")
    try:
        cb.validate_parameter_name(name, "name")
    except cb.CapacityBlockError as e:
        module.fail_json(msg=str(e))
    ssm = module.client("ssm", retry_decorator=AWSRetry.jittered_backoff())
    try:
        if params["state"] == "present":
            tags = {str(k): str(v) for k, v in (params["tags"] or {}).items()}
            description = (
                params["description"] or f"nixl_efa.cluster: {name.rsplit('/', 1)[-1]} of cluster {params['cluster']}"
            )
            changed, previous = cbp.ensure_parameter(
                ssm, name, params["value"], params["cluster"], tags, description, check_mode=module.check_mode
            )
            value = params["value"]
        else:
            changed, previous = cbp.remove_parameter(ssm, name, params["cluster"], check_mode=module.check_mode)
            value = None
    except cbp.NotOwned as e:
        module.fail_json(msg=str(e), parameter={"name": name})
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, parameter={"name": name, "value": value, "previous_value": previous})


if __name__ == "__main__":
    main()
