#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: capacity_block
version_added: 0.1.0
short_description: Buy an EC2 Capacity Block once, guarded by a purchase key and a fee limit
description:
  - Buys an EC2 Capacity Block for ML (C(PurchaseCapacityBlock)) and optionally extends it
    (C(PurchaseCapacityBlockExtension)). B(This spends money); every guard below exists to keep a
    re-run, a retry or a typo from spending it twice or spending too much.
  - C(PurchaseCapacityBlock) takes no client token, so this module tags the reservation with the
    purchase key O(name) and, before buying, looks for a block or reservation carrying that key.
    If one exists it is returned unchanged, whatever its state, a re-run never buys a second block.
    Use a new O(name) to buy another block.
  - The purchase itself is never retried blindly, neither by the module nor by botocore. Only a
    throttling answer, which EC2 gives before acting, is tried again; after any other failure the
    module looks the purchase key up again and reports what it finds.
  - The offering is found by searching with the options below. With O(offering_id) the module
    still searches, so that it knows the price of that offering before buying it.
  - Any offering (or extension) whose upfront fee exceeds O(max_upfront_fee) is refused and
    nothing is bought.
  - In check mode the module returns the offering and price it would buy and buys nothing.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  name:
    description:
      - Purchase key, stored on the reservation as the C(nixl-efa:purchase-key) tag. The same key
        always refers to the same block.
    type: str
    required: true
  offering_id:
    description:
      - Buy this offering, as listed by M(nixl_efa.cluster.capacity_block_offering_info). The search
        options must still describe it (offerings are only priced by a search).
    type: str
  select:
    description:
      - Without O(offering_id), which matching offering to buy, the one starting earliest or the
        one with the lowest upfront fee.
    type: str
    choices: [earliest, cheapest]
    default: earliest
  max_upfront_fee:
    description:
      - The most this run may pay for one purchase, the block or an extension, in the offering's
        currency. Dearer offerings are refused.
    type: float
    required: true
  instance_platform:
    description:
      - Operating system platform of the reservation.
    type: str
    default: Linux/UNIX
  tags:
    description:
      - Extra tags for the reservation. The module adds C(nixl-efa:purchase-key),
        C(nixl-efa:offering-id) and C(nixl-efa:upfront-fee).
    type: dict
    aliases: [resource_tags]
  extend_hours:
    description:
      - Total hours of extension this block should have. Extensions already paid or being paid
        (its extension history) count, so only the missing hours are bought and a re-run buys
        nothing. The same step rules as O(duration_hours) apply to the hours bought.
      - The block must be V(scheduled) or V(active); a block bought in this same run is extended
        on a later run.
    type: int
extends_documentation_fragment:
  - nixl_efa.cluster.capacity_block_search
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Preview what would be bought (check mode buys nothing)
  nixl_efa.cluster.capacity_block:
    name: demo-2026-12
    instance_type: p5.48xlarge
    instance_count: 2
    duration_hours: 48
    start_date_range: +1d
    end_date_range: +14d
    select: cheapest
    max_upfront_fee: 3500
  check_mode: true
  register: preview

- name: Buy it; a re-run with the same name returns the same block
  nixl_efa.cluster.capacity_block:
    name: demo-2026-12
    instance_type: p5.48xlarge
    instance_count: 2
    duration_hours: 48
    start_date_range: +1d
    end_date_range: +14d
    select: cheapest
    max_upfront_fee: 3500
    tags:
      nixl-efa:cluster: demo
  register: block

- name: Extend it by one more day (bought once, however often this runs)
  nixl_efa.cluster.capacity_block:
    name: demo-2026-12
    extend_hours: 24
    max_upfront_fee: 1800
"""

RETURN = r"""
capacity_block:
  description: The block's reservation; empty in check mode before a purchase.
  returned: always
  type: dict
  contains:
    capacity_reservation_id:
      description: Reservation id to target from a launch template.
      type: str
      sample: cr-0123456789abcdef0
    capacity_block_id:
      description: Capacity block id, when EC2 reports one.
      type: str
    availability_zone:
      description: Zone of the block; the cluster subnet must be in it.
      type: str
      sample: us-east-2a
    instance_type:
      description: Instance type.
      type: str
    total_instance_count:
      description: Instances reserved.
      type: int
    start_date:
      description: Start, ISO 8601 UTC.
      type: str
    end_date:
      description: End, ISO 8601 UTC.
      type: str
    state:
      description: Reservation state, for example V(payment-pending), V(scheduled) or V(active).
      type: str
    upfront_fee:
      description: Fee paid, as recorded when it was bought.
      type: float
    currency_code:
      description: Currency of O(max_upfront_fee) and RV(capacity_block.upfront_fee).
      type: str
    purchase_key:
      description: The O(name) it was bought under.
      type: str
    tags:
      description: Tags of the reservation.
      type: dict
offering:
  description: The offering bought, or in check mode the one that would be bought.
  returned: when a purchase was made or previewed
  type: dict
extension:
  description: Extension bought or previewed, with the hours already bought before this run.
  returned: when O(extend_hours) is set and the block exists
  type: dict
  sample:
    hours_requested: 48
    hours_already_bought: 24
    hours_bought: 24
    offering: {capacity_block_extension_offering_id: cbe-0123, upfront_fee: 1500.0, currency_code: USD}
recovered:
  description: True when the purchase call failed but the block was found under its purchase key afterwards.
  returned: when a purchase was attempted
  type: bool
"""

from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api


def find_existing(module, client):
    found = ec2_api.find_capacity_reservations_by_key(client, module.params["name"])
    if len(found) > 1:
        module.warn(
            f"{len(found)} reservations carry purchase key {module.params['name']!r}; returning the oldest, "
            f"{found[0].get('CapacityReservationId')}"
        )
    return found[0] if found else None


def choose_offering(module, client):
    params = module.params
    request = cb.build_offering_request(params)
    offerings = ec2_api.search_offerings(client, request, params["availability_zone"], params["sort"])
    search = cb.search_summary(request)
    if params["offering_id"]:
        offering = cb.find_offering(offerings, params["offering_id"])
        if offering is None:
            module.fail_json(
                msg=f"Offering {params['offering_id']} is not among the current offerings for this search "
                "(offerings change often); search again and pass a current id. Nothing was bought",
                search=search,
                offerings=offerings,
            )
    else:
        offering = cb.select_offering(offerings, params["select"])
        if offering is None:
            module.fail_json(msg="No capacity block offering matches this search; nothing was bought", search=search)
    return offering


def buy(module, client):
    params = module.params
    offering = choose_offering(module, client)
    try:
        cb.check_fee(offering["upfront_fee"], params["max_upfront_fee"])
    except cb.CapacityBlockError as e:
        module.fail_json(msg=str(e), offering=offering)
    if module.check_mode:
        module.exit_json(changed=True, capacity_block={}, offering=offering)

    tags = cb.purchase_tags(params["name"], offering, params["tags"])
    once = module.client("ec2", config=ec2_api.NO_RETRY_CONFIG)

    def call():
        return once.purchase_capacity_block(
            CapacityBlockOfferingId=offering["capacity_block_offering_id"],
            InstancePlatform=params["instance_platform"],
            TagSpecifications=boto3_tag_specifications(tags, ["capacity-reservation"]),
        )["CapacityReservation"]

    reservation, recovered = ec2_api.purchase_once(
        call, lambda: find_existing(module, client), "purchase capacity block"
    )
    result = cb.summarize_reservation(reservation)
    if params["extend_hours"]:
        module.warn("The block was bought in this run; extend it on a later run, once it is scheduled or active")
    module.exit_json(changed=True, capacity_block=result, offering=offering, recovered=recovered)


def extend(module, client, reservation):
    """Returns (changed, extension) after buying only the extension hours still missing."""
    wanted = module.params["extend_hours"]
    reservation_id = reservation["capacity_reservation_id"]
    history = ec2_api.describe_capacity_block_extension_history(client, reservation_id)
    already = cb.extension_hours_bought(history)
    missing = cb.extension_hours_needed(history, wanted)
    extension = {"hours_requested": wanted, "hours_already_bought": already, "hours_bought": 0}
    if not missing:
        return False, extension

    cb.validate_duration_hours(missing, name=f"the missing extension ({wanted} wanted, {already} already bought)")
    if reservation["state"] not in cb.EXTENDABLE_STATES:
        module.fail_json(
            msg=f"Capacity block {reservation_id} is {reservation['state']}; only a scheduled or active block can "
            "be extended. Nothing was bought",
            capacity_block=reservation,
            extension=extension,
        )
    offers = ec2_api.describe_capacity_block_extension_offerings(client, reservation_id, missing)
    if not offers:
        module.fail_json(
            msg=f"No extension of {missing} hours is offered for {reservation_id}; nothing was bought",
            capacity_block=reservation,
            extension=extension,
        )
    offer = min(offers, key=lambda o: float(o.get("UpfrontFee") or 0))
    extension["offering"] = {
        "capacity_block_extension_offering_id": offer["CapacityBlockExtensionOfferingId"],
        "upfront_fee": float(offer.get("UpfrontFee") or 0),
        "currency_code": offer.get("CurrencyCode"),
        "start_date": cb.isoformat(offer.get("CapacityBlockExtensionStartDate")),
        "end_date": cb.isoformat(offer.get("CapacityBlockExtensionEndDate")),
        "duration_hours": offer.get("CapacityBlockExtensionDurationHours"),
    }
    try:
        cb.check_fee(extension["offering"]["upfront_fee"], module.params["max_upfront_fee"], "capacity block extension")
    except cb.CapacityBlockError as e:
        module.fail_json(msg=str(e), capacity_block=reservation, extension=extension)
    extension["hours_bought"] = missing
    if module.check_mode:
        return True, extension

    once = module.client("ec2", config=ec2_api.NO_RETRY_CONFIG)

    def call():
        return once.purchase_capacity_block_extension(
            CapacityReservationId=reservation_id,
            CapacityBlockExtensionOfferingId=offer["CapacityBlockExtensionOfferingId"],
        ).get("CapacityBlockExtensions", [])

    def already_extended():
        latest = ec2_api.describe_capacity_block_extension_history(client, reservation_id)
        return latest if cb.extension_hours_bought(latest) >= wanted else None

    purchased, recovered = ec2_api.purchase_once(call, already_extended, "purchase capacity block extension")
    extension["status"] = [e.get("CapacityBlockExtensionStatus") for e in purchased]
    extension["recovered"] = recovered
    return True, extension


def main():
    argument_spec = dict(cb.OFFERING_SEARCH_ARGS)
    argument_spec.update(
        name=dict(type="str", required=True),
        offering_id=dict(type="str"),
        select=dict(type="str", choices=["earliest", "cheapest"], default="earliest"),
        max_upfront_fee=dict(type="float", required=True),
        instance_platform=dict(type="str", default="Linux/UNIX"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        extend_hours=dict(type="int"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params["name"].strip():
        module.fail_json(msg="name (the purchase key) must not be empty")
    if params["max_upfront_fee"] < 0:
        module.fail_json(msg=f"max_upfront_fee must not be negative; got {params['max_upfront_fee']}")
    if params["extend_hours"] is not None and params["extend_hours"] < 0:
        module.fail_json(msg=f"extend_hours must not be negative; got {params['extend_hours']}")

    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        existing = find_existing(module, client)
        if existing is None:
            buy(module, client)
        reservation = cb.summarize_reservation(existing)
        if reservation["state"] in cb.ENDED_STATES:
            module.warn(
                f"The block bought under purchase key {params['name']!r} is {reservation['state']}; "
                "use a new name to buy another"
            )
        result = dict(changed=False, capacity_block=reservation)
        if params["extend_hours"]:
            result["changed"], result["extension"] = extend(module, client, reservation)
        module.exit_json(**result)
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)
    except cb.CapacityBlockError as e:
        module.fail_json(msg=str(e))


if __name__ == "__main__":
    main()
