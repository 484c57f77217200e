#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: capacity_block_offering_info
version_added: 0.1.0
short_description: Search EC2 Capacity Block offerings and preview their prices
description:
  - Searches EC2 Capacity Block offerings (C(DescribeCapacityBlockOfferings)) for an instance
    type, count and duration, optionally inside a date window and one Availability Zone.
  - Each offering comes back with its upfront fee and a computed price per instance-hour, sorted
    by start date or by fee, ready for a price table before anything is bought.
  - Bad input (a duration AWS does not sell, dates in the wrong order or in the past, more than
    64 instances) fails before any API call. Nothing is bought by this module.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  instance_type:
    description:
      - The instance type to reserve, for example V(p5.48xlarge).
    type: str
    required: true
  duration_hours:
    description:
      - Length of the reservation in hours.
      - AWS accepts whole days up to 14 days (V(24), V(48), ... V(336)) and whole
        weeks beyond that, up to 182 days (V(4368)). Other values fail before any API call.
    type: int
    required: true
seealso:
  - module: nixl_efa.cluster.capacity_block
  - module: nixl_efa.cluster.capacity_block_info
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
  - nixl_efa.cluster.capacity_block_search
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Two p5.48xlarge for two days, starting within the next week
  nixl_efa.cluster.capacity_block_offering_info:
    instance_type: p5.48xlarge
    instance_count: 2
    duration_hours: 48
    start_date_range: now
    end_date_range: +9d
    sort: price
  register: offers

- name: Show the cheapest one
  ansible.builtin.debug:
    msg: >-
      {{ offers.offerings[0].availability_zone }} from {{ offers.offerings[0].start_date }}:
      {{ offers.offerings[0].upfront_fee }} {{ offers.offerings[0].currency_code }}
      ({{ offers.offerings[0].price_per_instance_hour }} per instance-hour)
  when: offers.offerings | length > 0
"""

RETURN = r"""
offerings:
  description: Offerings that match, sorted as O(sort) asks.
  returned: always
  type: list
  elements: dict
  contains:
    capacity_block_offering_id:
      description: Offering id, what M(nixl_efa.cluster.capacity_block) buys.
      type: str
      sample: cb-0123456789abcdef0
    instance_type:
      description: Instance type.
      type: str
      sample: p5.48xlarge
    availability_zone:
      description: Availability Zone of the block; the cluster subnet must be in it.
      type: str
      sample: us-east-2a
    instance_count:
      description: Instances in the block.
      type: int
      sample: 2
    start_date:
      description: Start, ISO 8601 UTC.
      type: str
      sample: "2026-12-01T11:30:00Z"
    end_date:
      description: End, ISO 8601 UTC.
      type: str
      sample: "2026-12-03T11:30:00Z"
    duration_hours:
      description: Whole hours of the block.
      type: int
      sample: 48
    duration_minutes:
      description: Minutes beyond RV(offerings[].duration_hours) that EC2 reports for the block.
      type: int
      sample: 0
    upfront_fee:
      description: Total price, paid up front.
      type: float
      sample: 2953.44
    currency_code:
      description: Currency of the fee.
      type: str
      sample: USD
    tenancy:
      description: Tenancy of the block.
      type: str
      sample: default
    price_per_instance_hour:
      description: RV(offerings[].upfront_fee) divided by instances and hours.
      type: float
      sample: 30.765
search:
  description: The search as sent, with dates resolved to ISO 8601 UTC.
  returned: always
  type: dict
  contains:
    instance_type:
      description: Instance type searched.
      type: str
    instance_count:
      description: Number of instances searched.
      type: int
    duration_hours:
      description: Block length searched, in hours.
      type: int
    start_date_range:
      description: Earliest start, ISO 8601 UTC.
      type: str
    end_date_range:
      description: Latest end, ISO 8601 UTC.
      type: str
  sample:
    instance_type: p5.48xlarge
    instance_count: 2
    duration_hours: 48
    start_date_range: "2026-11-25T10:00:00Z"
    end_date_range: "2026-12-04T10:00:00Z"
"""

from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import OFFERING_SEARCH_ARGS
from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import CapacityBlockError
from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import build_offering_request
from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import search_summary
from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import utcnow
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ec2_api import search_offerings


def main():
    argument_spec = dict(OFFERING_SEARCH_ARGS)
    argument_spec["instance_type"] = dict(type="str", required=True)
    argument_spec["duration_hours"] = dict(type="int", required=True)
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    now = utcnow()
    try:
        request = build_offering_request(module.params, now=now)
    except CapacityBlockError as e:
        module.fail_json(msg=str(e))

    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        offerings = search_offerings(client, request, module.params["availability_zone"], module.params["sort"])
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, offerings=offerings, search=search_summary(request))


if __name__ == "__main__":
    main()
