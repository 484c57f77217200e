#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: capacity_block_info
version_added: 0.1.0
short_description: List EC2 Capacity Blocks, their reservations and their status
description:
  - Lists capacity block reservations (C(DescribeCapacityReservations), reservations of type
    C(capacity-block) only, unless named in O(capacity_reservation_ids)), the capacity
    blocks they belong to (C(DescribeCapacityBlocks)) and
    the blocks' health (C(DescribeCapacityBlockStatus)).
  - Filter by reservation id, block id, purchase key, tags, state, instance type and Availability Zone. With no
    filter, every capacity block reservation of the account in the region is listed, whoever bought it (the
    console, the CLI, another tool).
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  capacity_reservation_ids:
    description:
      - Reservation ids to describe. A reservation named here is returned whatever its type,
        so an On-Demand Capacity Reservation can be read too (its C(reservation_type) says
        V(default)).
    type: list
    elements: str
    default: []
  capacity_block_ids:
    description:
      - Capacity block ids to describe, with their reservations.
    type: list
    elements: str
    default: []
  name:
    description:
      - Purchase key given to M(nixl_efa.cluster.capacity_block), the C(nixl-efa:purchase-key) tag.
    type: str
  tags:
    description:
      - Only reservations carrying all these tags.
    type: dict
    default: {}
  states:
    description:
      - Only reservations in these states, for example V(scheduled) and V(active).
    type: list
    elements: str
    choices: [active, expired, cancelled, pending, failed, scheduled, payment-pending, payment-failed,
              assessing, delayed, unsupported, cancelling, unavailable]
    default: []
  instance_types:
    description:
      - Only reservations of these instance types (EC2's C(instance-type) filter).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  availability_zones:
    description:
      - Only reservations in these Availability Zones (EC2's C(availability-zone) filter).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  describe_blocks:
    description:
      - Also describe the capacity blocks the reservations belong to and the blocks' status
        (C(DescribeCapacityBlocks), C(DescribeCapacityBlockStatus)), two more requests.
      - V(false) reads the reservations only, one request, which say all a launch needs (state, counts, type,
        zone); RV(capacity_blocks) then lists only the blocks of O(capacity_block_ids), without their status.
    type: bool
    default: true
seealso:
  - module: nixl_efa.cluster.capacity_block
  - module: nixl_efa.cluster.capacity_block_offering_info
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The block bought for the demo cluster
  nixl_efa.cluster.capacity_block_info:
    name: demo-2026-12
  register: demo_block

- name: Every capacity block that is usable now or later
  nixl_efa.cluster.capacity_block_info:
    states: [scheduled, active]

- name: One reservation, in one request (no block details)
  nixl_efa.cluster.capacity_block_info:
    capacity_reservation_ids: [cr-0123456789abcdef0]
    describe_blocks: false
"""

RETURN = r"""
capacity_reservations:
  description: Capacity block reservations, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    capacity_reservation_id:
      description: Reservation id.
      type: str
      sample: cr-0123456789abcdef0
    capacity_block_id:
      description: Capacity block the reservation belongs to, when EC2 reports one.
      type: str
    availability_zone:
      description: Availability Zone.
      type: str
    instance_type:
      description: Instance type.
      type: str
    reservation_type:
      description:
        - V(capacity-block), or V(default) for an On-Demand Capacity Reservation named in
          O(capacity_reservation_ids).
      type: str
    instance_match_criteria:
      description: V(targeted) for a capacity block (only instances that name it run in it).
      type: str
      version_added: 0.2.0
    tenancy:
      description: V(default) or V(dedicated).
      type: str
      version_added: 0.2.0
    end_date_type:
      description: V(limited) for a capacity block (it ends at its end date).
      type: str
      version_added: 0.2.0
    create_date:
      description: When the reservation was created (bought), ISO 8601.
      type: str
      version_added: 0.2.0
    total_instance_count:
      description: Instances reserved.
      type: int
    available_instance_count:
      description: Instances not yet running in the reservation.
      type: int
    start_date:
      description: Start, ISO 8601 UTC.
      type: str
    end_date:
      description: End, ISO 8601 UTC.
      type: str
    state:
      description: Reservation state.
      type: str
    purchase_key:
      description: The purchase key, when bought by M(nixl_efa.cluster.capacity_block).
      type: str
    upfront_fee:
      description: Fee recorded at purchase by M(nixl_efa.cluster.capacity_block).
      type: float
    tags:
      description: Tags.
      type: dict
capacity_blocks:
  description:
    - The capacity blocks of those reservations (and of O(capacity_block_ids)), with their status.
    - With O(describe_blocks=false), only the blocks of O(capacity_block_ids), without their status.
  returned: always
  type: list
  elements: dict
  contains:
    capacity_block_id:
      description: Block id.
      type: str
    capacity_reservation_ids:
      description: Reservations of the block.
      type: list
      elements: str
    state:
      description: Block state.
      type: str
    interconnect_status:
      description: Health of the block's interconnect, from C(DescribeCapacityBlockStatus).
      type: str
      sample: ok
    total_capacity:
      description: Total capacity, from the status.
      type: int
    total_available_capacity:
      description: Available capacity, from the status.
      type: int
    total_unavailable_capacity:
      description: Unavailable capacity, from the status.
      type: int
    tags:
      description: Tags of the block.
      type: dict
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_tag_filter_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api

STATES = [
    "active",
    "expired",
    "cancelled",
    "pending",
    "failed",
    "scheduled",
    "payment-pending",
    "payment-failed",
    "assessing",
    "delayed",
    "unsupported",
    "cancelling",
    "unavailable",
]


def block_result(raw, status):
    result = {
        "capacity_block_id": raw.get("CapacityBlockId"),
        "capacity_reservation_ids": raw.get("CapacityReservationIds") or [],
        "availability_zone": raw.get("AvailabilityZone"),
        "ultraserver_type": raw.get("UltraserverType"),
        "start_date": cb.isoformat(raw.get("StartDate")),
        "end_date": cb.isoformat(raw.get("EndDate")),
        "state": raw.get("State"),
        "tags": boto3_tag_list_to_ansible_dict(raw.get("Tags") or []),
        "interconnect_status": None,
        "total_capacity": None,
        "total_available_capacity": None,
        "total_unavailable_capacity": None,
        "capacity_reservation_statuses": [],
    }
    if status:
        result["interconnect_status"] = status.get("InterconnectStatus")
        result["total_capacity"] = status.get("TotalCapacity")
        result["total_available_capacity"] = status.get("TotalAvailableCapacity")
        result["total_unavailable_capacity"] = status.get("TotalUnavailableCapacity")
        result["capacity_reservation_statuses"] = [
            camel_dict_to_snake_dict(s) for s in status.get("CapacityReservationStatuses") or []
        ]
    return result


def reservation_filters(params):
    tags = dict(params["tags"])
    if params["name"]:
        tags[cb.PURCHASE_KEY_TAG] = params["name"]
    filters = ansible_dict_to_tag_filter_dict(tags)
    if params["states"]:
        filters["state"] = params["states"]
    if params["instance_types"]:
        filters["instance-type"] = params["instance_types"]
    if params["availability_zones"]:
        filters["availability-zone"] = params["availability_zones"]
    return ansible_dict_to_boto3_filter_list(filters)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            capacity_reservation_ids=dict(type="list", elements="str", default=[]),
            capacity_block_ids=dict(type="list", elements="str", default=[]),
            name=dict(type="str"),
            tags=dict(type="dict", default={}),
            states=dict(type="list", elements="str", choices=STATES, default=[]),
            instance_types=dict(type="list", elements="str", default=[]),
            availability_zones=dict(type="list", elements="str", default=[]),
            describe_blocks=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        blocks = {}
        if params["capacity_block_ids"]:
            for block in ec2_api.describe_capacity_blocks(client, CapacityBlockIds=params["capacity_block_ids"]):
                blocks[block["CapacityBlockId"]] = block
        reservation_ids = list(params["capacity_reservation_ids"])
        reservation_ids += [rid for b in blocks.values() for rid in b.get("CapacityReservationIds") or []]

        reservations = []
        if reservation_ids or not params["capacity_block_ids"]:
            request = {"Filters": reservation_filters(params)}
            if reservation_ids:
                request["CapacityReservationIds"] = reservation_ids
            reservations = [
                r
                for r in ec2_api.describe_capacity_reservations(client, **request)
                if r.get("ReservationType") == "capacity-block" or r["CapacityReservationId"] in reservation_ids
            ]
        reservations.sort(key=lambda r: str(r.get("CreateDate") or ""))

        missing = sorted({r["CapacityBlockId"] for r in reservations if r.get("CapacityBlockId")} - set(blocks))
        if missing and params["describe_blocks"]:
            for block in ec2_api.describe_capacity_blocks(client, CapacityBlockIds=missing):
                blocks[block["CapacityBlockId"]] = block
        statuses = {}
        if blocks and params["describe_blocks"]:
            for status in ec2_api.describe_capacity_block_status(client, CapacityBlockIds=sorted(blocks)):
                statuses[status["CapacityBlockId"]] = status
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)

    module.exit_json(
        changed=False,
        capacity_reservations=[cb.summarize_reservation(r) for r in reservations],
        capacity_blocks=[block_result(blocks[k], statuses.get(k)) for k in sorted(blocks)],
    )


if __name__ == "__main__":
    main()
