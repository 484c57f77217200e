# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure logic for EC2 Capacity Blocks: dates, durations, ranking, purchase guards.

No AWS calls here. PurchaseCapacityBlock takes no ClientToken, so every guard
that keeps a re-run or a typo from spending money lives here and is unit tested.
"""

import datetime
import json
import re
from decimal import Decimal
from decimal import InvalidOperation

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.nixl_efa.cluster.plugins.module_utils import ownership

# Tag that carries the caller's purchase key on the reservation we buy. A
# re-run finds the block by this tag and never buys a second one.
PURCHASE_KEY_TAG = "nixl-efa:purchase-key"

# AWS: durations in 1-day steps up to 14 days, then 7-day steps up to 182 days.
HOURS_PER_DAY = 24
DAILY_STEP_LIMIT_HOURS = 14 * HOURS_PER_DAY
WEEK_HOURS = 7 * HOURS_PER_DAY
MAX_DURATION_HOURS = 182 * HOURS_PER_DAY
# AWS: a capacity block holds at most 64 instances.
MAX_INSTANCE_COUNT = 64

# Extensions that count towards an already-extended block: paid, or being paid.
COUNTED_EXTENSION_STATES = ("payment-pending", "payment-succeeded")
# A block can be extended only in these states (AWS documentation).
EXTENDABLE_STATES = ("active", "scheduled")
# A block found by its purchase key in one of these states is over.
ENDED_STATES = ("expired", "cancelled", "failed", "payment-failed", "unavailable")

_RELATIVE = re.compile(r"^\+(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE_HELP = "use an ISO date (2026-12-01), an ISO time (2026-12-01T09:00:00Z) or an offset from now (+7d, +12h, +2w)"


class CapacityBlockError(ValueError):
    """Bad input or a guard that refuses a purchase."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _as_utc(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def parse_date(value, now=None, name="date"):
    """Read an ISO date/time or a relative offset like +7d into an aware UTC datetime."""
    if value is None or value == "":
        return None
    now = _as_utc(now or utcnow())
    if isinstance(value, datetime.datetime):
        return _as_utc(value)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    text = str(value).strip()
    lowered = text.lower()
    if lowered == "now":
        return now
    if lowered == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    match = _RELATIVE.match(lowered)
    if match:
        return now + datetime.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        if len(iso) == 10:
            day = datetime.date.fromisoformat(iso)
            return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc)
        return _as_utc(datetime.datetime.fromisoformat(iso))
    except ValueError:
        raise CapacityBlockError(f"Cannot read {name} {value!r}: {_DATE_HELP}")


def isoformat(value):
    """ISO 8601 in UTC with a Z, the way this collection returns every date."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_duration_hours(hours, name="duration_hours"):
    """Enforce AWS's duration steps so a bad value fails before any API call."""
    if hours is None:
        raise CapacityBlockError(f"{name} is required")
    if hours < HOURS_PER_DAY or hours % HOURS_PER_DAY:
        raise CapacityBlockError(f"{name} must be whole days (a multiple of 24 hours, at least 24); got {hours}")
    if hours > MAX_DURATION_HOURS:
        raise CapacityBlockError(f"{name} can be at most 182 days ({MAX_DURATION_HOURS} hours); got {hours}")
    if hours > DAILY_STEP_LIMIT_HOURS and hours % WEEK_HOURS:
        raise CapacityBlockError(
            f"{name} beyond 14 days must be whole weeks (a multiple of {WEEK_HOURS} hours); got {hours}"
        )
    return hours


def validate_search(instance_count, start, end, now=None):
    """Check a search request: count, date order, nothing entirely in the past."""
    if instance_count is not None and not 1 <= instance_count <= MAX_INSTANCE_COUNT:
        raise CapacityBlockError(
            f"instance_count must be between 1 and {MAX_INSTANCE_COUNT} (a capacity block's limit); "
            f"got {instance_count}"
        )
    now = _as_utc(now or utcnow())
    if start and end and end <= start:
        raise CapacityBlockError(f"end_date_range {isoformat(end)} must be after start_date_range {isoformat(start)}")
    if end and end <= now:
        raise CapacityBlockError(f"end_date_range {isoformat(end)} is in the past")


def _decimal(value, field):
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        raise CapacityBlockError(f"EC2 returned a {field} that is not a number: {value!r}")


def offering_hours(raw):
    """Real length of an offering: whole hours plus the extra minutes EC2 reports."""
    hours = Decimal(raw.get("CapacityBlockDurationHours") or 0)
    minutes = Decimal(raw.get("CapacityBlockDurationMinutes") or 0)
    return hours + minutes / 60


def summarize_offering(raw):
    """snake_case offering with a computed price_per_instance_hour."""
    fee = _decimal(raw.get("UpfrontFee"), "UpfrontFee")
    count = raw.get("InstanceCount") or 0
    hours = offering_hours(raw)
    per_hour = None
    if count and hours:
        per_hour = float((fee / (count * hours)).quantize(Decimal("0.0001")))
    return {
        "capacity_block_offering_id": raw["CapacityBlockOfferingId"],
        "instance_type": raw.get("InstanceType"),
        "availability_zone": raw.get("AvailabilityZone"),
        "instance_count": count,
        "start_date": isoformat(raw.get("StartDate")),
        "end_date": isoformat(raw.get("EndDate")),
        "duration_hours": raw.get("CapacityBlockDurationHours"),
        "duration_minutes": raw.get("CapacityBlockDurationMinutes") or 0,
        "upfront_fee": float(fee),
        "currency_code": raw.get("CurrencyCode"),
        "tenancy": raw.get("Tenancy"),
        "price_per_instance_hour": per_hour,
    }


def filter_offerings(offerings, availability_zone=None):
    if not availability_zone:
        return list(offerings)
    return [o for o in offerings if o.get("availability_zone") == availability_zone]


def _by_start(offering):
    return (offering["start_date"] or "", offering["upfront_fee"], offering["capacity_block_offering_id"])


def _by_price(offering):
    return (offering["upfront_fee"], offering["start_date"] or "", offering["capacity_block_offering_id"])


def sort_offerings(offerings, sort="start"):
    """Sort summarized offerings: by start (then price) or by price (then start)."""
    keys = {"start": _by_start, "price": _by_price}
    if sort not in keys:
        raise CapacityBlockError(f"sort must be 'start' or 'price'; got {sort!r}")
    return sorted(offerings, key=keys[sort])


def select_offering(offerings, select="earliest"):
    """Pick the offering to buy: the earliest start or the lowest upfront fee."""
    sort = {"earliest": "start", "cheapest": "price"}.get(select)
    if sort is None:
        raise CapacityBlockError(f"select must be 'earliest' or 'cheapest'; got {select!r}")
    ranked = sort_offerings(offerings, sort)
    return ranked[0] if ranked else None


def find_offering(offerings, offering_id):
    for offering in offerings:
        if offering["capacity_block_offering_id"] == offering_id:
            return offering
    return None


def check_fee(upfront_fee, max_upfront_fee, what="capacity block offering"):
    """Refuse any purchase dearer than the caller allowed."""
    if max_upfront_fee is None:
        raise CapacityBlockError("max_upfront_fee is required before anything is bought")
    if Decimal(str(upfront_fee)) > Decimal(str(max_upfront_fee)):
        raise CapacityBlockError(
            f"The {what} costs {upfront_fee} up front, more than max_upfront_fee {max_upfront_fee}; nothing was bought"
        )


def extension_hours_bought(history):
    """Hours of extension already paid or being paid for, from the extension history."""
    return sum(
        ext.get("CapacityBlockExtensionDurationHours") or 0
        for ext in history
        if ext.get("CapacityBlockExtensionStatus") in COUNTED_EXTENSION_STATES
    )


def extension_hours_needed(history, extend_hours):
    """extend_hours is the total extension wanted: only the missing part is bought."""
    missing = extend_hours - extension_hours_bought(history)
    return max(missing, 0)


def summarize_reservation(raw):
    """snake_case capacity block reservation, the shape capacity_block and capacity_block_info return."""
    tags = boto3_tag_list_to_ansible_dict(raw.get("Tags") or [])
    upfront_fee, currency_code = fee_from_tags(tags)
    return {
        "capacity_reservation_id": raw.get("CapacityReservationId"),
        "capacity_block_id": raw.get("CapacityBlockId"),
        "capacity_reservation_arn": raw.get("CapacityReservationArn"),
        "instance_type": raw.get("InstanceType"),
        "instance_platform": raw.get("InstancePlatform"),
        "availability_zone": raw.get("AvailabilityZone"),
        "total_instance_count": raw.get("TotalInstanceCount"),
        "available_instance_count": raw.get("AvailableInstanceCount"),
        "reservation_type": raw.get("ReservationType"),
        "instance_match_criteria": raw.get("InstanceMatchCriteria"),
        "tenancy": raw.get("Tenancy"),
        "end_date_type": raw.get("EndDateType"),
        "create_date": isoformat(raw.get("CreateDate")),
        "start_date": isoformat(raw.get("StartDate")),
        "end_date": isoformat(raw.get("EndDate")),
        "state": raw.get("State"),
        "upfront_fee": upfront_fee,
        "currency_code": currency_code,
        "purchase_key": tags.get(PURCHASE_KEY_TAG),
        "tags": tags,
    }


# States of an instance that holds a place in the reservation it was launched into. AWS: launching into a
# Capacity Block lowers its available capacity by the instances launched, and a stopped or terminated one gives
# its place back once cleaned up (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-launch.html).
HOLDING_STATES = ("pending", "running", "stopping", "shutting-down")


def _instance_value(instance, snake, camel):
    value = instance.get(snake, instance.get(camel))
    return value.get("name", value.get("Name")) if isinstance(value, dict) else value


def reservation_room(reservation, wanted, nodes=()):
    """How a reservation stands for a cluster of `wanted` nodes, whose live nodes are `nodes`.

    `reservation` as summarize_reservation returns it; `nodes` the cluster's instances as
    amazon.aws.ec2_instance_info returns them (or as EC2 does), in any reservation or none. Every instance
    running in the reservation uses up its capacity, the cluster's and anyone else's alike, and EC2 refuses a
    launch that asks for more than is available (the lab's RunInstances stand-in does too). Answers:

    - ``total``, ``available``: the reservation's counts;
    - ``own``: the cluster's nodes that hold a place in it;
    - ``others``: the places held by instances that are not the cluster's (total - available - own, at least 0),
      which this collection never counts, changes or terminates;
    - ``missing``: the nodes still to place in it (wanted - own, at least 0);
    - ``fits``: whether available + own reaches `wanted`.
    """
    reservation_id = reservation.get("capacity_reservation_id")
    total = int(reservation.get("total_instance_count") or 0)
    available = int(reservation.get("available_instance_count") or 0)
    wanted = int(wanted)
    own = sum(
        1
        for node in nodes or ()
        if _instance_value(node, "capacity_reservation_id", "CapacityReservationId") == reservation_id
        and _instance_value(node, "state", "State") in HOLDING_STATES
    )
    return {
        "total": total,
        "available": available,
        "own": own,
        "others": max(total - available - own, 0),
        "missing": max(wanted - own, 0),
        "fits": available + own >= wanted,
    }


# Argument spec shared by the modules that search offerings (documented in the
# nixl_efa.cluster.capacity_block_search doc fragment).
OFFERING_SEARCH_ARGS = dict(
    instance_type=dict(type="str"),
    instance_count=dict(type="int", default=1),
    duration_hours=dict(type="int"),
    start_date_range=dict(type="str"),
    end_date_range=dict(type="str"),
    availability_zone=dict(type="str"),
    sort=dict(type="str", choices=["start", "price"], default="start"),
)


def build_offering_request(params, now=None):
    """Validate search options and return DescribeCapacityBlockOfferings parameters."""
    if not params.get("instance_type"):
        raise CapacityBlockError("instance_type is required to search capacity block offerings")
    hours = validate_duration_hours(params.get("duration_hours"))
    start = parse_date(params.get("start_date_range"), now=now, name="start_date_range")
    end = parse_date(params.get("end_date_range"), now=now, name="end_date_range")
    validate_search(params.get("instance_count"), start, end, now=now)
    request = {
        "InstanceType": params["instance_type"],
        "InstanceCount": params.get("instance_count") or 1,
        "CapacityDurationHours": hours,
    }
    if start:
        request["StartDateRange"] = start
    if end:
        request["EndDateRange"] = end
    return request


def search_summary(request):
    """The search as sent, dates in ISO 8601 UTC, for module results."""
    return {
        "instance_type": request["InstanceType"],
        "instance_count": request["InstanceCount"],
        "duration_hours": request["CapacityDurationHours"],
        "start_date_range": isoformat(request.get("StartDateRange")),
        "end_date_range": isoformat(request.get("EndDateRange")),
    }


# Tags written on a purchased reservation, beside the caller's own.
OFFERING_ID_TAG = "nixl-efa:offering-id"
UPFRONT_FEE_TAG = "nixl-efa:upfront-fee"


def purchase_tags(name, offering, tags=None):
    """Tags for PurchaseCapacityBlock: the caller's, the purchase key, and what was paid."""
    result = dict(tags or {})
    result[PURCHASE_KEY_TAG] = name
    result[OFFERING_ID_TAG] = offering["capacity_block_offering_id"]
    result[UPFRONT_FEE_TAG] = f"{offering['upfront_fee']} {offering.get('currency_code') or ''}".strip()
    return result


def purchase_key_filters(name):
    return [{"Name": f"tag:{PURCHASE_KEY_TAG}", "Values": [name]}]


def fee_from_tags(tags):
    """(upfront_fee, currency) recorded at purchase time, or (None, None)."""
    parts = (tags.get(UPFRONT_FEE_TAG) or "").split()
    if not parts:
        return None, None
    try:
        return float(parts[0]), (parts[1] if len(parts) > 1 else None)
    except ValueError:
        return None, None


# Purchase intent ----------------------------------------------------------------
#
# PurchaseCapacityBlock has no ClientToken, and the purchase-key tag is only seen once EC2's
# describe calls have caught up (eventual consistency), so two runs at once could both buy. Before
# buying, a run takes an intent record: a Parameter Store entry created without overwrite, which
# exactly one run can create. It outlives the run, so a crash between buying and recording leaves
# it behind as the sign that a purchase may have happened.

# The tag naming the cluster that owns a Parameter Store entry (module_utils/ownership.py).
CLUSTER_TAG = ownership.CLUSTER_TAG
INTENT_BUYING = "buying"
INTENT_BOUGHT = "bought"
# AWS: poll a Describe call with exponential backoff, "starting with a couple of seconds of wait
# time, and increasing gradually up to five minutes"
# (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
CONSISTENCY_TIMEOUT = 300
FIRST_DELAY = 2.0
MAX_DELAY = 30.0
_PARAMETER_NAME = re.compile(r"^/?[A-Za-z0-9_.\-/]{1,1011}$")


def intent_parameter_name(name, prefix="/nixl-efa/purchase-intent"):
    """Parameter Store name of the intent record of purchase key `name` (unsafe characters become _)."""
    return f"{prefix.rstrip('/')}/{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"


def validate_parameter_name(name, what="parameter name"):
    if not _PARAMETER_NAME.match(name or "") or "//" in name or name.endswith("/"):
        raise CapacityBlockError(
            f"{what} {name!r} is not a Parameter Store name: letters, digits, _ . - and / only, no empty level"
        )
    return name


def intent_value(name, offering, who, now=None, reservation_id=None):
    """The intent record's content: who started which purchase, when, and what came of it."""
    record = {
        "purchase_key": name,
        "state": INTENT_BOUGHT if reservation_id else INTENT_BUYING,
        "offering_id": offering.get("capacity_block_offering_id"),
        "upfront_fee": offering.get("upfront_fee"),
        "currency_code": offering.get("currency_code"),
        "availability_zone": offering.get("availability_zone"),
        "started": isoformat(now or utcnow()),
        "by": who,
    }
    if reservation_id:
        record["reservation_id"] = reservation_id
    return json.dumps(record, sort_keys=True)


def parse_intent(value):
    """The intent record as a dict; a value this collection did not write comes back as {'raw': value}."""
    try:
        record = json.loads(value or "")
    except ValueError:
        return {"raw": value}
    return record if isinstance(record, dict) else {"raw": value}


def intent_with_reservation(value, reservation_id):
    """The intent record's content once the reservation is known."""
    record = parse_intent(value)
    record.update(state=INTENT_BOUGHT, reservation_id=reservation_id)
    return json.dumps(record, sort_keys=True)


def backoff_delays(first=FIRST_DELAY, most=MAX_DELAY):
    """2, 4, 8, 16, 30, 30, ... seconds: the waits between describe calls."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


def may_have_bought_message(name, intent_parameter, intent, region, waited, why):
    """The failure when a purchase under `name` may have happened and the block cannot be seen."""
    content = json.dumps(intent, sort_keys=True) if intent else "(not readable)"
    region_opt = f" --region {region}" if region else ""
    return (
        f"A capacity block MAY HAVE BEEN BOUGHT under purchase key {name!r}, and none is visible after waiting "
        f"{waited:.0f} s for EC2's describe calls to catch up: {why}. Nothing more was bought. The intent "
        f"record {intent_parameter} says: {content}. Check before running again: "
        f"aws ec2 describe-capacity-reservations{region_opt} --filters Name=tag:{PURCHASE_KEY_TAG},Values={name} "
        "(or playbooks/capacity_block.yml -e action=list), and the account's purchases in the billing console. "
        f"If a block was bought, it is found by its key on the next run. Only if you are sure nothing was bought "
        f"and no other run is buying, clear the record: aws ssm delete-parameter{region_opt} --name {intent_parameter}"
    )
