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
  - EC2's describe calls are eventually consistent, so a block bought a moment ago by another run
    may not show yet. Before buying, the module therefore takes an B(intent record), the Parameter
    Store entry O(intent_parameter), created without overwrite, which exactly one run can create.
    The run that holds it buys and writes the reservation id into it (and into
    O(reservation_id_parameter) when set). A run that finds it already held (another run is buying,
    or one crashed) waits up to O(consistency_timeout) seconds for the block to show under the
    purchase key and returns it; if none shows, it fails saying that a block B(may have been
    bought), with the record's content and how to check and clear it, and buys nothing.
  - The record is kept after the purchase, as the same key always means the same block. Only a
    purchase EC2 refused (an HTTP 4xx answer or throttling, nothing bought) gives it back.
  - The purchase itself is never retried blindly, neither by the module nor by botocore. Only a
    throttling answer, which EC2 gives before acting, is tried again; after any other failure (a
    timeout, a 5xx answer, a cut connection) the module waits up to O(consistency_timeout) seconds
    for the block to show under the purchase key, and fails saying it may have been bought if it
    does not.
  - The offering is found by searching with the options below. With O(offering_id) the module
    still searches, so that it knows the price of that offering before buying it.
  - Any offering (or extension) whose upfront fee exceeds O(max_upfront_fee) is refused and
    nothing is bought.
  - In check mode the module returns the offering and price it would buy and asks EC2 whether this
    identity may buy it, with C(DryRun=true) (the same for an extension). EC2 answers
    C(DryRunOperation) when it may, which the module reports as a change it would make; any other
    answer, such as C(UnauthorizedOperation) for a missing permission, fails with EC2's words.
    Nothing is bought and no intent is taken.
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
  intent_parameter:
    description:
      - Parameter Store name of the intent record taken before buying.
      - Defaults to C(/nixl-efa/purchase-intent/<name>), characters other than letters, digits,
        C(_ . -) in O(name) replaced by C(_).
      - Tagged with O(tags) and C(nixl-efa:purchase-key); the module overwrites or deletes it only
        when its C(nixl-efa:cluster) tag (or, without one in O(tags), its purchase key tag) matches.
    type: str
  reservation_id_parameter:
    description:
      - Parameter Store name to save the reservation id in after a purchase (or after finding the
        block another run bought), tagged with O(tags).
      - Needs C(nixl-efa:cluster) in O(tags); an existing entry is overwritten only when its
        C(nixl-efa:cluster) tag names the same cluster.
    type: str
  consistency_timeout:
    description:
      - Seconds to wait, polling with backoff from 2 to 30 seconds, for a block bought by another
        run, or by a purchase call that failed without a clear answer, to show in EC2's describe
        calls. AWS recommends waiting up to about five minutes
        (U(https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html)).
    type: int
    default: 300
  extend_hours:
    description:
      - Total hours of extension this block should have. Extensions already paid or being paid
        (its extension history) count, so only the missing hours are bought and a re-run buys
        nothing. The same step rules as O(duration_hours) apply to the hours bought.
      - The block must be V(scheduled) or V(active); a block bought in this same run is extended
        on a later run.
    type: int
seealso:
  - module: nixl_efa.cluster.capacity_block_offering_info
  - module: nixl_efa.cluster.capacity_block_info
  - module: nixl_efa.cluster.capacity_block_parameter
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.capacity_block_search
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details: Asks EC2 with C(DryRun=true) whether the purchase or extension is allowed; buys nothing.
  diff_mode:
    support: none
notes:
  - Needs C(ec2:PurchaseCapacityBlock), C(ec2:CreateTags), the describe calls, and on the intent
    and reservation-id parameters C(ssm:GetParameter), C(ssm:PutParameter), C(ssm:AddTagsToResource),
    C(ssm:ListTagsForResource) and C(ssm:DeleteParameter).
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

- name: Buy it; a re-run (or a run started at the same time) with the same name returns the same block
  nixl_efa.cluster.capacity_block:
    name: demo-2026-12
    intent_parameter: /nixl-efa/demo/purchase-intent/demo-2026-12
    reservation_id_parameter: /nixl-efa/demo/reservation-id
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
  contains:
    capacity_block_offering_id:
      description: The offering's id (C(cb-...)).
      type: str
    instance_type:
      description: Instance type.
      type: str
    instance_count:
      description: Number of instances.
      type: int
    availability_zone:
      description: The offering's Availability Zone.
      type: str
    start_date:
      description: Start, ISO 8601 UTC.
      type: str
    end_date:
      description: End, ISO 8601 UTC.
      type: str
    duration_hours:
      description: Length in hours.
      type: int
    upfront_fee:
      description: The fee, paid at purchase.
      type: float
    currency_code:
      description: The fee's currency.
      type: str
    price_per_instance_hour:
      description: The fee divided by instances and hours.
      type: float
extension:
  description: Extension bought or previewed, with the hours already bought before this run.
  returned: when O(extend_hours) is set and the block exists
  type: dict
  contains:
    hours_requested:
      description: The total extension hours asked for (O(extend_hours)).
      type: int
    hours_already_bought:
      description: Extension hours bought before this run.
      type: int
    hours_bought:
      description: Extension hours this run bought (or would buy in check mode); 0 when none were missing.
      type: int
    offering:
      description: The extension offering bought or previewed (its id, C(upfront_fee), C(currency_code)).
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
bought_by_another_run:
  description: True when the intent record was already held and the block another run bought was found.
  returned: when the intent record was already held
  type: bool
intent:
  description: The intent record's name and content as this run left it (in check mode, as found).
  returned: when a purchase was made, attempted or previewed
  type: dict
  contains:
    parameter:
      description: The Parameter Store name of the record (O(intent_parameter)).
      type: str
    content:
      description:
        - The record - C(purchase_key), C(state) (V(buying) or V(bought)), C(offering_id), C(reservation_id) once
          bought, C(started) and C(by) (user, host and process of the run that took it).
      type: dict
  sample:
    parameter: /nixl-efa/demo/purchase-intent/demo
    content:
      purchase_key: demo
      state: bought
      offering_id: cb-0123
      reservation_id: cr-0123456789abcdef0
      started: "2026-12-01T09:00:00Z"
      by: me@laptop pid 4242
dry_run:
  description: EC2's answer to the check-mode C(DryRun=true) call.
  returned: in check mode when a purchase or extension would be made
  type: dict
  contains:
    allowed:
      description: Whether EC2 answered C(DryRunOperation) (this identity may make the call).
      type: bool
    message:
      description: What EC2 answered.
      type: str
  sample: {allowed: true, message: "EC2 answered DryRunOperation: this identity may make the purchase"}
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block_extension as cbe
from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block_purchase as cbp
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api


def buy(module, client):
    params = module.params
    offering = cbp.choose_offering(module, client)
    try:
        cb.check_fee(offering["upfront_fee"], params["max_upfront_fee"])
    except cb.CapacityBlockError as e:
        module.fail_json(msg=str(e), offering=offering)

    tags = cb.purchase_tags(params["name"], offering, params["tags"])
    request = dict(
        CapacityBlockOfferingId=offering["capacity_block_offering_id"],
        InstancePlatform=params["instance_platform"],
        TagSpecifications=boto3_tag_specifications(tags, ["capacity-reservation"]),
    )
    intent = cbp.intent_for(module, client)
    if module.check_mode:
        # A dry run buys nothing, so it may be retried on throttling like any describe call.
        answer = cbe.dry_run(
            module,
            lambda: client.purchase_capacity_block(DryRun=True, aws_retry=True, **request),
            f"buying {offering['capacity_block_offering_id']}",
        )
        held = intent.read()
        if held is not None:
            module.warn(
                f"The intent record {intent.parameter} is held ({cbp.describe_intent(held)}): another run is "
                "buying under this purchase key, or one stopped after buying; a real run waits for its block"
            )
        module.exit_json(
            changed=True,
            capacity_block={},
            offering=offering,
            dry_run=answer,
            intent={"parameter": intent.parameter, "content": held},
        )

    while not intent.take(offering):
        # Another run holds the intent, or one crashed holding it: its block, once EC2 shows it.
        found = intent.wait_for_block(
            f"the intent record {intent.parameter} was already held when this run was about to buy",
            watch_intent=True,
        )
        if found is not None:
            reservation = cb.summarize_reservation(found)
            module.exit_json(
                changed=False,
                capacity_block=reservation,
                bought_by_another_run=True,
                intent=cbp.record(module, intent, reservation["capacity_reservation_id"]),
            )
        # The other run gave the intent back (EC2 refused its purchase): take it now.

    once = module.client("ec2", config=ec2_api.NO_RETRY_CONFIG)
    failures = []

    def call():
        try:
            return once.purchase_capacity_block(**request)["CapacityReservation"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            failures.append(e)
            raise

    def lookup_after_failure():
        if failures and cbp.refused_before_acting(failures[-1]):
            found = ec2_api.find_capacity_reservations_by_key(client, params["name"])  # EC2 said no: one look
            return found[0] if found else None
        # A timeout, a cut connection or a 5xx: EC2 may have bought; wait until its describe calls show it.
        return intent.wait_for_block(f"the purchase call failed without saying whether it bought ({failures[-1]})")

    try:
        reservation, recovered = ec2_api.purchase_once(call, lookup_after_failure, "purchase capacity block")
    except AnsibleEC2Error as e:
        if not cbp.refused_before_acting(e.exception):
            raise cbp.MayHaveBought(
                cb.may_have_bought_message(
                    params["name"], intent.parameter, intent.read(), module.region, params["consistency_timeout"], e
                ),
                intent_parameter=intent.parameter,
            ) from e
        intent.release()
        raise
    result = cb.summarize_reservation(reservation)
    intent_result = cbp.record(module, intent, result["capacity_reservation_id"])
    if params["extend_hours"]:
        module.warn("The block was bought in this run; extend it on a later run, once it is scheduled or active")
    module.exit_json(changed=True, capacity_block=result, offering=offering, recovered=recovered, intent=intent_result)


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
        intent_parameter=dict(type="str"),
        reservation_id_parameter=dict(type="str"),
        consistency_timeout=dict(type="int", default=cb.CONSISTENCY_TIMEOUT),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params["name"].strip():
        module.fail_json(msg="name (the purchase key) must not be empty")
    if params["max_upfront_fee"] < 0:
        module.fail_json(msg=f"max_upfront_fee must not be negative; got {params['max_upfront_fee']}")
    if params["extend_hours"] is not None and params["extend_hours"] < 0:
        module.fail_json(msg=f"extend_hours must not be negative; got {params['extend_hours']}")
    if params["consistency_timeout"] < 0:
        module.fail_json(msg=f"consistency_timeout must not be negative; got {params['consistency_timeout']}")
    params["tags"] = {str(k): str(v) for k, v in (params["tags"] or {}).items()}
    params["intent_parameter"] = params["intent_parameter"] or cb.intent_parameter_name(params["name"])
    try:
        cb.validate_parameter_name(params["intent_parameter"], "intent_parameter")
        if params["reservation_id_parameter"]:
            cb.validate_parameter_name(params["reservation_id_parameter"], "reservation_id_parameter")
    except cb.CapacityBlockError as e:
        module.fail_json(msg=str(e))
    if params["reservation_id_parameter"] and not params["tags"].get(cb.CLUSTER_TAG):
        module.fail_json(
            msg=f"reservation_id_parameter needs tags with {cb.CLUSTER_TAG}: the cluster that owns the parameter"
        )

    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        existing = cbp.find_existing(module, client)
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
            result["changed"], result["extension"] = cbe.extend(module, client, reservation)
        module.exit_json(**result)
    except cbp.MayHaveBought as e:
        module.fail_json(msg=str(e), may_have_bought=True, **e.details)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)
    except cb.CapacityBlockError as e:
        module.fail_json(msg=str(e))


if __name__ == "__main__":
    main()
