# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The capacity_block module's check-mode dry run and its extension of a bought block.

Extending buys only the hours still missing (EC2's extension history says what was bought), once
(never retried by botocore: ec2_api.purchase_once looks before it buys again), within the caller's
fee limit; in check mode EC2 is asked with DryRun whether the purchase would be allowed.
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block_purchase as cbp
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api


def dry_run(module, call, what):
    """Check mode: ask EC2 whether the purchase is allowed (DryRun=true); fail unless it is."""
    try:
        call()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        allowed, message = cbp.dry_run_outcome(e)
    else:  # EC2 never acts on DryRun: an answer without error is not one
        allowed, message = False, "EC2 answered the dry run without DryRunOperation; nothing was bought"
    if not allowed:
        module.fail_json(msg=f"Check mode, {what}: {message}", dry_run={"allowed": False, "message": message})
    return {"allowed": True, "message": message}


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
    once = module.client("ec2", config=ec2_api.NO_RETRY_CONFIG)

    def call(**dry_run):
        return once.purchase_capacity_block_extension(
            CapacityReservationId=reservation_id,
            CapacityBlockExtensionOfferingId=offer["CapacityBlockExtensionOfferingId"],
            **dry_run,
        ).get("CapacityBlockExtensions", [])

    if module.check_mode:
        extension["dry_run"] = dry_run(
            module, lambda: call(DryRun=True), f"extending {reservation_id} by {missing} hours"
        )
        return True, extension

    def already_extended():
        latest = ec2_api.describe_capacity_block_extension_history(client, reservation_id)
        return latest if cb.extension_hours_bought(latest) >= wanted else None

    purchased, recovered = ec2_api.purchase_once(call, already_extended, "purchase capacity block extension")
    extension["status"] = [e.get("CapacityBlockExtensionStatus") for e in purchased]
    extension["recovered"] = recovered
    return True, extension
