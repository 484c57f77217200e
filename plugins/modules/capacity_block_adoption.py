#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: capacity_block_adoption
version_added: 0.3.0
short_description: Adopt a capacity block bought outside the collection for a cluster, or give it back
description:
  - A capacity block bought outside this collection (the EC2 console, the AWS CLI, the old capacity block
    scripts) carries no C(nixl-efa:cluster) tag. With O(state=present) the module adopts it for O(cluster);
    it adds the tag C(nixl-efa:cluster=)O(cluster) and the marker C(nixl-efa:adopted=true) to the capacity
    reservation (C(CreateTags)), which says the cluster adopted it rather than bought it. Nothing else of the
    reservation changes, its other tags included.
  - A reservation already tagged for O(cluster) is left as it is. One tagged for another cluster (or with an
    empty C(nixl-efa:cluster) tag) is refused, naming it and the tag found; nothing is changed.
  - With O(state=absent) an adopted reservation is given back; the two tags the adoption added are removed
    (C(DeleteTags), each with its value, so EC2 removes a tag only while it still has that value), so that
    another cluster may adopt it later. A reservation the collection bought for O(cluster) (no marker), one
    of another cluster and one without the tag are left as they are. Capacity blocks cannot be cancelled;
    this module never tries, and never touches the instances running in the reservation.
  - The reservation is read (C(DescribeCapacityReservations)) just before any change. EC2 has no conditional
    tagging, so two clusters adopting the same untagged block at the same moment could both be told they
    did, the tag written last winning; the loser is refused on its next run.
  - Works for any capacity reservation named by id, an On-Demand Capacity Reservation too.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  capacity_reservation_id:
    description: The capacity reservation (C(cr-...)) of the block.
    type: str
    required: true
  cluster:
    description: The cluster that adopts it, the value of its C(nixl-efa:cluster) tag.
    type: str
    required: true
  state:
    description:
      - V(present) adopts the reservation (or leaves it as it is when it is already the cluster's).
      - V(absent) removes the adoption's two tags from a reservation the cluster adopted.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Reads the reservation and says which tags it would add or remove, or why it refuses.
  diff_mode:
    support: full
    details: The reservation's tags before and after.
notes:
  - Needs C(ec2:DescribeCapacityReservations), and C(ec2:CreateTags) or C(ec2:DeleteTags) on the capacity
    reservation.
  - A reservation that does not exist fails with O(state=present) and is nothing to do with O(state=absent).
seealso:
  - module: nixl_efa.cluster.capacity_block_info
  - module: nixl_efa.cluster.capacity_block
  - module: amazon.aws.ec2_tag
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Use a block bought in the console for cluster demo (refused if another cluster's)
  nixl_efa.cluster.capacity_block_adoption:
    capacity_reservation_id: cr-0123456789abcdef0
    cluster: demo

- name: Give it back at teardown (only if demo adopted it)
  nixl_efa.cluster.capacity_block_adoption:
    capacity_reservation_id: cr-0123456789abcdef0
    cluster: demo
    state: absent
"""

RETURN = r"""
capacity_reservation:
  description:
    - The reservation as this run left it (or would leave it, in check mode), in the shape
      M(nixl_efa.cluster.capacity_block_info) returns; empty when it does not exist.
  returned: always
  type: dict
  contains:
    capacity_reservation_id:
      description: Reservation id.
      type: str
      sample: cr-0123456789abcdef0
    reservation_type:
      description: V(capacity-block), or V(default) for an On-Demand Capacity Reservation.
      type: str
    state:
      description: Reservation state.
      type: str
    end_date:
      description: End, ISO 8601 UTC.
      type: str
    tags:
      description: Its tags.
      type: dict
adoption:
  description: What was decided, and done.
  returned: always
  type: dict
  contains:
    decision:
      description:
        - V(own) when the reservation's C(nixl-efa:cluster) tag names O(cluster), V(adopt) when it had none,
          V(refuse) when it names another cluster, V(missing) when the reservation does not exist.
      type: str
      sample: adopt
    adopted:
      description: Whether the reservation is, after this run, the cluster's by adoption (it carries the marker).
      type: bool
    tags_added:
      description: The tags added (or that would be).
      type: dict
      sample: {"nixl-efa:cluster": "demo", "nixl-efa:adopted": "true"}
    tags_removed:
      description: The tags removed (or that would be).
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ownership

KIND = "Capacity reservation"


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            capacity_reservation_id=dict(type="str", required=True),
            cluster=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    reservation_id = params["capacity_reservation_id"]
    cluster = params["cluster"].strip()
    if not cluster:
        module.fail_json(msg="cluster must not be empty")
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        found = ec2_api.describe_capacity_reservations(client, CapacityReservationIds=[reservation_id])
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)
    if not found:
        if params["state"] == "present":
            module.fail_json(
                msg=f"{KIND} {reservation_id} was not found: the id is wrong, or it belongs to another region or "
                "account. Nothing was changed."
            )
        module.exit_json(
            changed=False,
            capacity_reservation={},
            adoption={"decision": "missing", "adopted": False, "tags_added": {}, "tags_removed": {}},
        )

    reservation = cb.summarize_reservation(found[0])
    before = dict(reservation["tags"])
    plan = ownership.adoption_plan(before, cluster, kind=KIND, resource_id=reservation_id)
    added, removed = {}, {}
    if params["state"] == "present":
        if plan["decision"] == "refuse":
            module.fail_json(
                msg=f"{plan['problem']} Nothing was changed.",
                capacity_reservation=reservation,
                adoption={"decision": "refuse", "adopted": False, "tags_added": {}, "tags_removed": {}},
            )
        added = plan["add"]
    else:
        removed = plan["release"]
    try:
        if added and not module.check_mode:
            ec2_api.tag_capacity_reservation(client, reservation_id, added)
        if removed and not module.check_mode:
            ec2_api.untag_capacity_reservation(client, reservation_id, removed)
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)

    after = {k: v for k, v in {**before, **added}.items() if k not in removed}
    reservation["tags"] = after
    result = dict(
        changed=bool(added or removed),
        capacity_reservation=reservation,
        adoption={
            "decision": plan["decision"],
            "adopted": bool(added) or (plan["adopted"] and not removed),
            "tags_added": added,
            "tags_removed": removed,
        },
    )
    if module._diff:
        result["diff"] = {"before": {"tags": before}, "after": {"tags": after}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
