# -*- coding: utf-8 -*-
"""Lab stand-ins for EC2 placement groups, capacity reservations and capacity blocks.

moto 5.2.5 has none of these APIs. What is here STANDS IN for them in the lab's local AWS
only (lab/, never shipped): answers take the shapes of botocore's EC2 model, the rules are
the ones this collection relies on, and prices, zones and dates come from a deterministic
catalogue, not from AWS. moto_lab.py installs the functions below onto moto's EC2Response.

PurchaseCapacityBlock and PurchaseCapacityBlockExtension answer DryRun=true as EC2 does
(DryRunOperation, HTTP 412). Eventual consistency and an unclear purchase error can be switched on
for tests (LAB_CAPACITY_DESCRIBE_DELAY, LAB_CAPACITY_UNCLEAR_PURCHASE_TAG, below).
"""

import datetime
import hashlib
import itertools
import os
import re

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

# USD per instance-hour by family, in the range AWS lists for capacity blocks.
RATES = {"p5": 31.464, "p5e": 34.608, "p5en": 36.184, "p4d": 11.7, "p4de": 14.7, "trn1": 5.6, "trn2": 7.2}
DEFAULT_RATE = 4.5
ZONE_FACTORS = (("a", 1.0), ("b", 0.93), ("c", 1.08))
START_OFFSET_DAYS = (1, 3, 7)
# Capacity block and extension durations AWS accepts: 1-day steps up to 14 days, then 7-day steps up to 182.
DAY = 24
DAILY_LIMIT_HOURS = 14 * DAY
MAX_HOURS = 182 * DAY
# States in which a reservation (and its block) can still be used, extended or launched into later.
LIVE_STATES = ("scheduled", "active")

_state = {}
_ids = itertools.count(1)


class LabError(ServiceException):
    """An AWS-style client error (code, message), serialized by moto like its own."""


class LabStatusError(LabError):
    """An AWS-style error answered with an HTTP status of its own (moto answers 400 for every EC2 error)."""

    def __init__(self, code, message, status):
        super().__init__(code, message)
        self.status = status


def _with_status(func):
    """The stand-in func, its LabStatusError answered with that error's HTTP status."""

    def action(self):
        try:
            return func(self)
        except LabStatusError as e:
            status, headers, body = self.serialized(ActionResult(e))
            headers["status"] = e.status
            return e.status, headers, body

    action.__name__ = func.__name__
    action.__doc__ = func.__doc__
    action.__wrapped__ = func
    return action


# Behaviours of AWS the lab can show on request, switched on only by tests through the lab
# process's environment (never set by `make demo` or the shared test lab):
#
# LAB_CAPACITY_DESCRIBE_DELAY=<seconds>: eventual consistency. A reservation (and its block) bought
#   less than that long ago is not yet seen by DescribeCapacityReservations, DescribeCapacityBlocks
#   and DescribeCapacityBlockStatus: left out of lists, InvalidCapacityReservationId.NotFound by id.
#   AWS: "if you run a command to modify or describe the resource that you just created, its ID
#   might not have propagated throughout the system, and you will get an error responding that the
#   resource does not exist" (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
# LAB_CAPACITY_UNCLEAR_PURCHASE_TAG=<key>=<value>: an unclear error. A PurchaseCapacityBlock whose
#   TagSpecifications carry that tag buys the block, then answers HTTP 500 InternalError, EC2's
#   server error (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), as
#   a call cut off after EC2 acted would look to the caller.
DESCRIBE_DELAY_ENV = "LAB_CAPACITY_DESCRIBE_DELAY"
UNCLEAR_PURCHASE_TAG_ENV = "LAB_CAPACITY_UNCLEAR_PURCHASE_TAG"


def describe_delay(environ=None):
    """Seconds a new reservation stays unseen by the describe calls (0: seen at once)."""
    value = (os.environ if environ is None else environ).get(DESCRIBE_DELAY_ENV) or "0"
    return max(float(value), 0.0)


def visible(item, now=None, environ=None):
    """Whether the describe calls see item yet (eventual consistency, LAB_CAPACITY_DESCRIBE_DELAY)."""
    delay = describe_delay(environ)
    created = item.get("CreateDate")
    if not delay or created is None:
        return True
    return created + datetime.timedelta(seconds=delay) <= (now or utcnow())


def unclear_purchase(tags, environ=None):
    """Whether a purchase carrying tags answers HTTP 500 after buying (LAB_CAPACITY_UNCLEAR_PURCHASE_TAG)."""
    wanted = (os.environ if environ is None else environ).get(UNCLEAR_PURCHASE_TAG_ENV) or ""
    key, sep, value = wanted.partition("=")
    return bool(sep) and tags.get(key) == value


def dry_run(response):
    """DryRun=true: AWS checks the caller's permissions and answers DryRunOperation instead of acting.

    EC2's API reference for each action with DryRun: "Checks whether you have the required
    permissions for the action, without actually making the request, and provides an error
    response. If you have the required permissions, the error response is DryRunOperation.
    Otherwise, it is UnauthorizedOperation"
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_PurchaseCapacityBlock.html). EC2
    sends DryRunOperation with HTTP status 412 (Precondition Failed), UnauthorizedOperation with 403
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html lists both codes).
    The lab has no IAM policies: every caller may, so a dry run is always DryRunOperation.
    """
    if str(response._get_param("DryRun", False)).lower() == "true":
        raise LabStatusError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def state(response):
    """The lab's records for the caller's account and region."""
    key = (response.current_account, response.region)
    return _state.setdefault(
        key,
        {
            "placement_groups": {},
            "offerings": {},
            "reservations": {},
            "blocks": {},
            "extension_offerings": {},
            "extensions": [],
            # instance id -> capacity reservation id it was launched into
            "instances": {},
        },
    )


def new_id(prefix):
    return f"{prefix}-{next(_ids):017x}"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _tags(response, resource_type):
    return response._parse_tag_specification(resource_type).get(resource_type, {})


def _tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# Filter names the describe stand-ins understand, and the field each one reads.
FILTER_FIELDS = {
    "availability-zone": "AvailabilityZone",
    "capacity-block-id": "CapacityBlockId",
    "capacity-reservation-id": "CapacityReservationId",
    "group-id": "GroupId",
    "group-name": "GroupName",
    "instance-type": "InstanceType",
    "owner-id": "OwnerId",
    "reservation-type": "ReservationType",
    "state": "State",
    "strategy": "Strategy",
}


def _matches(item, filters, fields=None):
    fields = fields or FILTER_FIELDS
    tags = item.get("tags") or {}
    for name, values in filters.items():
        if name.startswith("tag:"):
            if tags.get(name[4:]) not in values:
                return False
        elif name == "tag-key":
            if not set(tags) & set(values):
                return False
        elif str(item.get(fields[name])) not in values:
            return False
    return True


def _filters(response, fields=None):
    """The request's Filters; an unknown filter name is refused, as EC2 does, rather than ignored."""
    fields = fields or FILTER_FIELDS
    filters = {f["Name"]: f.get("Values", []) for f in response._get_param("Filters", [])}
    for name in filters:
        if not (name.startswith("tag:") or name == "tag-key" or name in fields):
            raise LabError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return filters


def _public(item):
    result = {k: v for k, v in item.items() if k != "tags"}
    result["Tags"] = _tag_list(item["tags"])
    return result


# Placement groups -------------------------------------------------------------


def create_placement_group(self):
    groups = state(self)["placement_groups"]
    name = self._get_param("GroupName")
    if name in groups:
        raise LabError("InvalidPlacementGroup.Duplicate", f"The placement group '{name}' already exists.")
    groups[name] = {
        "GroupName": name,
        "GroupId": new_id("pg"),
        "Strategy": self._get_param("Strategy") or "cluster",
        "State": "available",
        "tags": _tags(self, "placement-group"),
    }
    return ActionResult({"PlacementGroup": _public(groups[name])})


def describe_placement_groups(self):
    groups = state(self)["placement_groups"]
    names = self._get_param("GroupNames", [])
    missing = [n for n in names if n not in groups]
    if missing:
        raise LabError("InvalidPlacementGroup.Unknown", f"The Placement Group '{missing[0]}' is unknown.")
    filters = _filters(self)
    chosen = [g for n, g in groups.items() if (not names or n in names) and _matches(g, filters)]
    return ActionResult({"PlacementGroups": [_public(g) for g in chosen]})


def delete_placement_group(self):
    groups = state(self)["placement_groups"]
    name = self._get_param("GroupName")
    if name not in groups:
        raise LabError("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")
    del groups[name]
    return ActionResult({})


# Capacity blocks --------------------------------------------------------------


def instance_type_info(response, instance_type):
    """moto's DescribeInstanceTypes entry for one type; InvalidParameterValue for a type moto does not know."""
    try:
        info = response.ec2_backend.describe_instance_types([instance_type])
    except Exception:  # moto raises its own InvalidInstanceType
        raise LabError("InvalidParameterValue", f"The instance type '{instance_type}' is not supported.")
    return info[0] if info else {}


def _efa_capable(response, instance_type):
    return bool(instance_type_info(response, instance_type).get("NetworkInfo", {}).get("EfaSupported"))


def _parse_time(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(datetime.timezone.utc)


def _fee(instance_type, zone, count, hours):
    """Upfront fee: the family's per-instance-hour rate, the zone's factor, instances and hours."""
    rate = RATES.get(instance_type.split(".")[0], DEFAULT_RATE)
    factor = dict(ZONE_FACTORS).get(zone[-1:], 1.0)
    return f"{rate * factor * count * hours:.2f}"


def _valid_hours(hours):
    if hours is None or hours <= 0 or hours > MAX_HOURS:
        return False
    return hours % DAY == 0 if hours <= DAILY_LIMIT_HOURS else hours % (7 * DAY) == 0


def _zone_id(response, zone):
    try:
        zones = response.ec2_backend.describe_availability_zones(zone_names=[zone])
    except Exception:  # an unknown zone: no id
        return None
    return zones[0].zone_id if zones else None


def refresh(item, now=None):
    """A scheduled reservation or block whose StartDate has passed reads active; past its EndDate, expired."""
    now = now or utcnow()
    if item["State"] in LIVE_STATES:
        if item["EndDate"] <= now:
            item["State"] = "expired"
        elif item["StartDate"] <= now:
            item["State"] = "active"
    return item


def refresh_all(response):
    lab = state(response)
    now = utcnow()
    for item in list(lab["reservations"].values()) + list(lab["blocks"].values()):
        refresh(item, now)
    return lab


def describe_capacity_block_offerings(self):
    instance_type = self._get_param("InstanceType")
    count = int(self._get_param("InstanceCount") or 1)
    hours = int(self._get_param("CapacityDurationHours"))
    now = utcnow()
    requested_start = _parse_time(self._get_param("StartDateRange"))
    start_range = requested_start or now
    end_range = _parse_time(self._get_param("EndDateRange"))
    if not _efa_capable(self, instance_type):
        return ActionResult({"CapacityBlockOfferings": []})
    # Day 0 stands for AWS's blocks that start immediately: it starts at the top of the current
    # UTC hour, so it is active once bought (its id stays the same all hour). Offered when the
    # search may start within the current hour (no start, "now", or earlier).
    starts = []
    top_of_hour = now.replace(minute=0, second=0, microsecond=0)
    if requested_start is None or requested_start < top_of_hour + datetime.timedelta(hours=1):
        starts.append(top_of_hour)
    starts += [
        (start_range + datetime.timedelta(days=days)).replace(hour=11, minute=30, second=0, microsecond=0)
        for days in START_OFFSET_DAYS
    ]
    offerings = []
    for start in starts:
        end = start + datetime.timedelta(hours=hours)
        if end_range and end > end_range:
            continue
        for suffix, _factor in ZONE_FACTORS:
            zone = self.region + suffix
            seed = f"{instance_type}/{count}/{hours}/{zone}/{start.isoformat()}"
            offering = {
                "CapacityBlockOfferingId": "cb-" + hashlib.sha256(seed.encode()).hexdigest()[:17],
                "InstanceType": instance_type,
                "AvailabilityZone": zone,
                "InstanceCount": count,
                "StartDate": start,
                "EndDate": end,
                "CapacityBlockDurationHours": hours,
                "CapacityBlockDurationMinutes": 0,
                "UpfrontFee": _fee(instance_type, zone, count, hours),
                "CurrencyCode": "USD",
                "Tenancy": "default",
            }
            state(self)["offerings"][offering["CapacityBlockOfferingId"]] = offering
            offerings.append(offering)
    return ActionResult({"CapacityBlockOfferings": offerings})


@_with_status
def purchase_capacity_block(self):
    """Buys a listed offering; DryRun answers DryRunOperation (412); see UNCLEAR_PURCHASE_TAG_ENV for the 500."""
    dry_run(self)
    offering = state(self)["offerings"].get(self._get_param("CapacityBlockOfferingId"))
    if offering is None:
        raise LabError("InvalidCapacityBlockOfferingId.NotFound", "The capacity block offering was not found.")
    now = utcnow()
    reservation_id = new_id("cr")
    block_id = new_id("cb")
    tags = _tags(self, "capacity-reservation")
    reservation = {
        "CapacityReservationId": reservation_id,
        "CapacityReservationArn": f"arn:aws:ec2:{self.region}:{self.current_account}:capacity-reservation/"
        + reservation_id,
        "OwnerId": self.current_account,
        "InstanceType": offering["InstanceType"],
        "InstancePlatform": self._get_param("InstancePlatform"),
        "AvailabilityZone": offering["AvailabilityZone"],
        "Tenancy": "default",
        "TotalInstanceCount": offering["InstanceCount"],
        "AvailableInstanceCount": offering["InstanceCount"],
        "State": "scheduled",
        "StartDate": offering["StartDate"],
        "EndDate": offering["EndDate"],
        "EndDateType": "limited",
        "InstanceMatchCriteria": "targeted",
        "CreateDate": now,
        "ReservationType": "capacity-block",
        "CapacityBlockId": block_id,
        "tags": tags,
    }
    refresh(reservation, now)
    state(self)["reservations"][reservation_id] = reservation
    state(self)["blocks"][block_id] = {
        "CapacityBlockId": block_id,
        "AvailabilityZone": offering["AvailabilityZone"],
        "CapacityReservationIds": [reservation_id],
        "StartDate": offering["StartDate"],
        "EndDate": offering["EndDate"],
        "CreateDate": now,
        "State": reservation["State"],
        "tags": dict(tags),
    }
    if unclear_purchase(tags):
        raise LabStatusError("InternalError", "An internal error has occurred.", 500)
    return ActionResult({"CapacityReservation": _public(reservation)})


def _reservation_not_found(reservation_id):
    return LabError(
        "InvalidCapacityReservationId.NotFound", f"The capacity reservation ID '{reservation_id}' does not exist"
    )


def get_reservation(response, reservation_id):
    """The (refreshed) reservation, or InvalidCapacityReservationId.NotFound."""
    reservation = refresh_all(response)["reservations"].get(reservation_id)
    if reservation is None:
        raise _reservation_not_found(reservation_id)
    return reservation


def describe_capacity_reservations(self):
    now = utcnow()
    reservations = {i: r for i, r in refresh_all(self)["reservations"].items() if visible(r, now)}
    ids = self._get_param("CapacityReservationIds", [])
    missing = [i for i in ids if i not in reservations]
    if missing:
        raise _reservation_not_found(missing[0])
    filters = _filters(self)
    chosen = [r for i, r in reservations.items() if (not ids or i in ids) and _matches(r, filters)]
    return ActionResult({"CapacityReservations": [_public(r) for r in chosen]})


def describe_capacity_blocks(self):
    now = utcnow()
    blocks = {i: b for i, b in refresh_all(self)["blocks"].items() if visible(b, now)}
    ids = self._get_param("CapacityBlockIds", [])
    filters = _filters(self)
    chosen = [b for i, b in blocks.items() if (not ids or i in ids) and _matches(b, filters)]
    return ActionResult({"CapacityBlocks": [_public(b) for b in chosen]})


def describe_capacity_block_status(self):
    lab = refresh_all(self)
    now = utcnow()
    blocks = {i: b for i, b in lab["blocks"].items() if visible(b, now)}
    reservations = lab["reservations"]
    ids = self._get_param("CapacityBlockIds", []) or list(blocks)
    statuses = []
    for block_id in ids:
        if block_id not in blocks:
            continue
        members = [reservations[r] for r in blocks[block_id]["CapacityReservationIds"]]
        total = sum(r["TotalInstanceCount"] for r in members)
        statuses.append(
            {
                "CapacityBlockId": block_id,
                "InterconnectStatus": "ok",
                "TotalCapacity": total,
                "TotalAvailableCapacity": sum(r["AvailableInstanceCount"] for r in members),
                "TotalUnavailableCapacity": 0,
            }
        )
    return ActionResult({"CapacityBlockStatuses": statuses})


# Capacity reservations end in these states; none of them can be cancelled (again).
ENDED_STATES = ("cancelled", "expired", "failed", "payment-failed")


def cancel_capacity_reservation(self):
    """CancelCapacityReservation: refused for a capacity block, as AWS refuses it; else the reservation is cancelled.

    AWS documents the rule, not the error: the CancelCapacityReservation reference says a
    Capacity Block cannot be modified or cancelled
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CancelCapacityReservation.html,
    and the same note in https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-reservations-release.html),
    and the action lists no error codes of its own, only the common ones. So the error code
    is the lab's choice: UnsupportedOperation, EC2's common client error for a request the
    service does not support for that resource
    (https://docs.aws.amazon.com/ec2/latest/devguide/errors-overview.html). It fits better than
    InvalidParameterValue (the id is valid and names a live reservation) or an incorrect-state
    error (no state of a capacity block allows it: a block only ends at its EndDate). The
    message is the lab's own. A client must treat it as a refusal (HTTP 400), never retry it.

    Any other reservation of the lab is cancelled as AWS does: its State becomes cancelled, the
    instances launched into it keep running outside it, and the answer is {"Return": true}.
    The lab has no commitment durations or cancellation quotes; a reservation that has already
    ended is refused. An unknown id is InvalidCapacityReservationId.NotFound.
    """
    lab = state(self)
    reservation_id = self._get_param("CapacityReservationId")
    reservation = get_reservation(self, reservation_id)
    if reservation["ReservationType"] == "capacity-block":
        raise LabError(
            "UnsupportedOperation",
            f"The capacity reservation '{reservation_id}' is a Capacity Block ({reservation['CapacityBlockId']}), "
            f"which cannot be cancelled: it ends at {reservation['EndDate'].isoformat()}.",
        )
    if reservation["State"] in ENDED_STATES:
        raise LabError(
            "IncorrectState",
            f"The capacity reservation '{reservation_id}' is {reservation['State']} and cannot be cancelled.",
        )
    reservation["State"] = "cancelled"
    for instance_id, target in list(lab["instances"].items()):
        if target == reservation_id:
            del lab["instances"][instance_id]
    return ActionResult({"Return": True})


# Tags of capacity reservations ------------------------------------------------
#
# moto refuses CreateTags, DeleteTags and DescribeTags for a cr- id (InvalidID): it knows no capacity
# reservations. These wrappers STAND IN for EC2's tagging of them: ids of the lab's reservations are served
# from the lab's records (the tags DescribeCapacityReservations returns), every other id is handed to moto.
# As EC2 does (API reference: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html,
# API_DeleteTags.html, API_DescribeTags.html; the user guide's "Tag your Amazon EC2 resources" lists capacity
# reservations among the resources CreateTags tags, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html):
# - CreateTags adds each tag or overwrites its value and leaves every other tag; at most 50 user tags per
#   resource (TagLimitExceeded); keys starting with aws: are reserved;
# - DeleteTags deletes a tag given with a value only while it has that value (an empty value included), a tag
#   given without a value whatever its value, and every user tag when no tag is given;
# - DescribeTags answers the reservations' tags with resource type capacity-reservation, filtered by key,
#   value, resource-id and resource-type (* and ? wildcards).
# The error codes for a reservation that does not exist (InvalidCapacityReservationId.NotFound) and for the
# reserved prefix (InvalidParameterValue) are the lab's choice; the whole request is refused before any tag
# changes.
TAG_LIMIT = 50
RESERVATION_RESOURCE_TYPE = "capacity-reservation"
TAG_ORIGINALS = {}


def _split_resources(response):
    """(the lab's reservations named, the other ids): the request's Resources, an unknown cr- id refused."""
    reservations = refresh_all(response)["reservations"]
    ours, others = [], []
    for resource_id in response._get_param("Resources", []):
        if resource_id.startswith("cr-"):
            if resource_id not in reservations:
                raise _reservation_not_found(resource_id)
            ours.append(reservations[resource_id])
        else:
            others.append(resource_id)
    return ours, others


def _request_tags(response, with_values):
    tags = response._get_param("Tags", [])
    if with_values:
        return {tag["Key"]: tag.get("Value", "") or "" for tag in tags}
    return {tag["Key"]: tag.get("Value") for tag in tags}


def create_tags(self):
    ours, others = _split_resources(self)
    tags = _request_tags(self, with_values=True)
    for key in tags:
        if key.lower().startswith("aws:"):
            raise LabError("InvalidParameterValue", f"Tag keys starting with 'aws:' are reserved: {key}.")
    for reservation in ours:
        if len(set(reservation["tags"]) | set(tags)) > TAG_LIMIT:
            raise LabError(
                "TagLimitExceeded",
                f"The maximum number of tags ({TAG_LIMIT}) for {reservation['CapacityReservationId']} would be "
                "exceeded.",
            )
    self.error_on_dryrun()
    if others:
        self.params["Resources"] = others
        TAG_ORIGINALS["create_tags"](self)
    for reservation in ours:
        reservation["tags"].update(tags)
    return ActionResult({})


def delete_tags(self):
    ours, others = _split_resources(self)
    tags = _request_tags(self, with_values=False)
    self.error_on_dryrun()
    if others:
        self.params["Resources"] = others
        TAG_ORIGINALS["delete_tags"](self)
    for reservation in ours:
        current = reservation["tags"]
        doomed = tags or {key: None for key in current if not key.startswith("aws:")}
        for key, value in doomed.items():
            if key in current and (value is None or current[key] == value):
                del current[key]
    return ActionResult({})


def _wildcard(pattern):
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$")


def describe_tags(self):
    result = TAG_ORIGINALS["describe_tags"](self)
    filters = {f["Name"]: f.get("Values", []) for f in self._get_param("Filters", [])}
    patterns = {name: [_wildcard(v) for v in values] for name, values in filters.items()}

    def wanted(name, value):
        return name not in patterns or any(p.match(value) for p in patterns[name])

    now = utcnow()
    for reservation_id, reservation in sorted(refresh_all(self)["reservations"].items()):
        if not visible(reservation, now):
            continue
        for key, value in sorted(reservation["tags"].items()):
            tag_filters = [n for n in filters if n.startswith("tag:")]
            if (
                wanted("resource-id", reservation_id)
                and wanted("resource-type", RESERVATION_RESOURCE_TYPE)
                and wanted("key", key)
                and wanted("value", value)
                and all(reservation["tags"].get(n[4:]) in filters[n] for n in tag_filters)
            ):
                entry = {"resource_id": reservation_id, "resource_type": RESERVATION_RESOURCE_TYPE}
                result.result["Tags"].append(dict(entry, key=key, value=value))
    return result


def install_tags(response_class):
    """Wraps moto's CreateTags, DeleteTags and DescribeTags so that they serve the lab's reservations (idempotent)."""
    for name, func in (("create_tags", create_tags), ("delete_tags", delete_tags), ("describe_tags", describe_tags)):
        TAG_ORIGINALS.setdefault(name, getattr(response_class, name))
        setattr(response_class, name, func)


# Capacity block extensions ----------------------------------------------------


def describe_capacity_block_extension_offerings(self):
    """One offering per request: the block's own zone and count, starting where the block ends now."""
    reservation = get_reservation(self, self._get_param("CapacityReservationId"))
    hours = self._get_param("CapacityBlockExtensionDurationHours")
    hours = int(hours) if hours is not None else None
    if not _valid_hours(hours):
        raise LabError(
            "InvalidParameterValue",
            f"The extension duration {hours} hours is not valid: use 24-hour steps up to {DAILY_LIMIT_HOURS} hours, "
            f"then 168-hour steps up to {MAX_HOURS} hours.",
        )
    if reservation["ReservationType"] != "capacity-block" or reservation["State"] not in LIVE_STATES:
        return ActionResult({"CapacityBlockExtensionOfferings": []})
    start = reservation["EndDate"]
    seed = f"{reservation['CapacityReservationId']}/{hours}/{start.isoformat()}"
    offering = {
        "CapacityBlockExtensionOfferingId": "cbe-" + hashlib.sha256(seed.encode()).hexdigest()[:17],
        "InstanceType": reservation["InstanceType"],
        "InstanceCount": reservation["TotalInstanceCount"],
        "AvailabilityZone": reservation["AvailabilityZone"],
        "AvailabilityZoneId": _zone_id(self, reservation["AvailabilityZone"]),
        "StartDate": reservation["StartDate"],
        "CapacityBlockExtensionStartDate": start,
        "CapacityBlockExtensionEndDate": start + datetime.timedelta(hours=hours),
        "CapacityBlockExtensionDurationHours": hours,
        "UpfrontFee": _fee(
            reservation["InstanceType"], reservation["AvailabilityZone"], reservation["TotalInstanceCount"], hours
        ),
        "CurrencyCode": "USD",
        "Tenancy": "default",
        "ZoneType": "availability-zone",
    }
    state(self)["extension_offerings"][offering["CapacityBlockExtensionOfferingId"]] = dict(
        offering, CapacityReservationId=reservation["CapacityReservationId"]
    )
    return ActionResult({"CapacityBlockExtensionOfferings": [offering]})


@_with_status
def purchase_capacity_block_extension(self):
    """Moves the EndDate of the reservation and its block, and records the extension (paid at once); DryRun as above."""
    dry_run(self)
    lab = state(self)
    reservation = get_reservation(self, self._get_param("CapacityReservationId"))
    offering_id = self._get_param("CapacityBlockExtensionOfferingId")
    offering = lab["extension_offerings"].get(offering_id)
    if offering is None or offering["CapacityReservationId"] != reservation["CapacityReservationId"]:
        raise LabError(
            "InvalidParameterValue",
            f"The capacity block extension offering '{offering_id}' does not exist for capacity reservation "
            f"'{reservation['CapacityReservationId']}'.",
        )
    if reservation["State"] not in LIVE_STATES:
        raise LabError(
            "InvalidParameterValue",
            f"The capacity reservation '{reservation['CapacityReservationId']}' is {reservation['State']}; "
            "only a scheduled or active capacity block can be extended.",
        )
    if offering["CapacityBlockExtensionStartDate"] != reservation["EndDate"]:
        raise LabError(
            "InvalidParameterValue",
            f"The capacity block extension offering '{offering_id}' is no longer valid: the capacity block now ends "
            f"at {reservation['EndDate'].isoformat()}. Describe the extension offerings again.",
        )
    end = offering["CapacityBlockExtensionEndDate"]
    reservation["EndDate"] = end
    block = lab["blocks"].get(reservation.get("CapacityBlockId"))
    if block is not None:
        block["EndDate"] = max(block["EndDate"], end)
    record = {
        key: offering[key]
        for key in (
            "CapacityReservationId",
            "InstanceType",
            "InstanceCount",
            "AvailabilityZone",
            "AvailabilityZoneId",
            "CapacityBlockExtensionOfferingId",
            "CapacityBlockExtensionDurationHours",
            "CapacityBlockExtensionStartDate",
            "CapacityBlockExtensionEndDate",
            "UpfrontFee",
            "CurrencyCode",
            "ZoneType",
        )
    }
    record["CapacityBlockExtensionStatus"] = "payment-succeeded"
    record["CapacityBlockExtensionPurchaseDate"] = utcnow()
    lab["extensions"].append(record)
    del lab["extension_offerings"][offering_id]
    return ActionResult({"CapacityBlockExtensions": [record]})


_EXTENSION_FILTERS = {
    "availability-zone": "AvailabilityZone",
    "availability-zone-id": "AvailabilityZoneId",
    "capacity-block-extension-offering-id": "CapacityBlockExtensionOfferingId",
    "capacity-block-extension-status": "CapacityBlockExtensionStatus",
    "capacity-reservation-id": "CapacityReservationId",
    "instance-type": "InstanceType",
}


def describe_capacity_block_extension_history(self):
    lab = refresh_all(self)
    ids = self._get_param("CapacityReservationIds", [])
    missing = [i for i in ids if i not in lab["reservations"]]
    if missing:
        raise _reservation_not_found(missing[0])
    filters = _filters(self, _EXTENSION_FILTERS)
    chosen = [
        record
        for record in lab["extensions"]
        if (not ids or record["CapacityReservationId"] in ids) and _matches(record, filters, _EXTENSION_FILTERS)
    ]
    return ActionResult({"CapacityBlockExtensions": chosen})


STAND_INS = (
    create_placement_group,
    describe_placement_groups,
    delete_placement_group,
    describe_capacity_block_offerings,
    purchase_capacity_block,
    describe_capacity_reservations,
    describe_capacity_blocks,
    describe_capacity_block_status,
    cancel_capacity_reservation,
    describe_capacity_block_extension_offerings,
    purchase_capacity_block_extension,
    describe_capacity_block_extension_history,
)
