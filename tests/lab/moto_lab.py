# -*- coding: utf-8 -*-
"""The local AWS of the lab: a moto server plus stand-ins for EC2 APIs moto 5.2 lacks.

moto 5.2.5 answers most of what this collection calls, but has no placement groups,
capacity reservations or capacity blocks. This module adds them to moto's EC2
response class before the server starts. They are STAND-INS, kept here under
tests/ and never shipped: they answer with the shapes of AWS's API (moto
serializes them through botocore's EC2 model) and follow the rules this
collection relies on, but prices, zones and dates come from a deterministic
catalogue, not from AWS.

What is added:
- CreatePlacementGroup, DescribePlacementGroups, DeletePlacementGroup;
- DescribeCapacityBlockOfferings: a catalogue for EFA-capable instance types (moto's
  own instance type data decides), three zones, starts at 11:30 UTC on days 1, 3 and 7
  after the search start, fees from a per-instance-hour rate with a per-zone factor;
- PurchaseCapacityBlock: only an offering this server listed; creates a capacity
  reservation of type capacity-block (tags from TagSpecifications) and its block;
- DescribeCapacityReservations, DescribeCapacityBlocks, DescribeCapacityBlockStatus,
  DescribeCapacityBlockExtensionHistory (ids, tag:<key> and state filters).

Run: python tests/lab/moto_lab.py -H 127.0.0.1 -p PORT (the arguments of moto_server).
"""

import datetime
import hashlib
import itertools
import sys

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ec2.responses import EC2Response

# USD per instance-hour by family, in the range AWS lists for capacity blocks.
RATES = {"p5": 31.464, "p5e": 34.608, "p5en": 36.184, "p4d": 11.7, "p4de": 14.7, "trn1": 5.6, "trn2": 7.2}
DEFAULT_RATE = 4.5
ZONE_FACTORS = (("a", 1.0), ("b", 0.93), ("c", 1.08))
START_OFFSET_DAYS = (1, 3, 7)

_state = {}
_ids = itertools.count(1)


class LabError(ServiceException):
    pass


def state(response):
    key = (response.current_account, response.region)
    return _state.setdefault(key, {"placement_groups": {}, "offerings": {}, "reservations": {}, "blocks": {}})


def new_id(prefix):
    return f"{prefix}-{next(_ids):017x}"


def _tags(response, resource_type):
    return response._parse_tag_specification(resource_type).get(resource_type, {})


def _tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _matches(item, filters, state_key="State"):
    for name, values in filters.items():
        if name.startswith("tag:"):
            if item["tags"].get(name[4:]) not in values:
                return False
        elif name == "state" and item[state_key] not in values:
            return False
    return True


def _filters(response):
    return {f["Name"]: f.get("Values", []) for f in response._get_param("Filters", [])}


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


def _public(item):
    result = {k: v for k, v in item.items() if k != "tags"}
    result["Tags"] = _tag_list(item["tags"])
    return result


# Capacity blocks --------------------------------------------------------------


def _efa_capable(response, instance_type):
    try:
        info = response.ec2_backend.describe_instance_types([instance_type])
    except Exception:  # moto raises its own InvalidInstanceType
        raise LabError("InvalidParameterValue", f"The instance type '{instance_type}' is not supported.")
    return bool(info and info[0].get("NetworkInfo", {}).get("EfaSupported"))


def _parse_time(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(datetime.timezone.utc)


def describe_capacity_block_offerings(self):
    instance_type = self._get_param("InstanceType")
    count = int(self._get_param("InstanceCount") or 1)
    hours = int(self._get_param("CapacityDurationHours"))
    now = datetime.datetime.now(datetime.timezone.utc)
    start_range = _parse_time(self._get_param("StartDateRange")) or now
    end_range = _parse_time(self._get_param("EndDateRange"))
    if not _efa_capable(self, instance_type):
        return ActionResult({"CapacityBlockOfferings": []})
    rate = RATES.get(instance_type.split(".")[0], DEFAULT_RATE)
    offerings = []
    for days in START_OFFSET_DAYS:
        start = (start_range + datetime.timedelta(days=days)).replace(hour=11, minute=30, second=0, microsecond=0)
        end = start + datetime.timedelta(hours=hours)
        if end_range and end > end_range:
            continue
        for suffix, factor in ZONE_FACTORS:
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
                "UpfrontFee": f"{rate * factor * count * hours:.2f}",
                "CurrencyCode": "USD",
                "Tenancy": "default",
            }
            state(self)["offerings"][offering["CapacityBlockOfferingId"]] = offering
            offerings.append(offering)
    return ActionResult({"CapacityBlockOfferings": offerings})


def purchase_capacity_block(self):
    offering = state(self)["offerings"].get(self._get_param("CapacityBlockOfferingId"))
    if offering is None:
        raise LabError("InvalidCapacityBlockOfferingId.NotFound", "The capacity block offering was not found.")
    now = datetime.datetime.now(datetime.timezone.utc)
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
        "State": "active" if offering["StartDate"] <= now else "scheduled",
        "StartDate": offering["StartDate"],
        "EndDate": offering["EndDate"],
        "EndDateType": "limited",
        "InstanceMatchCriteria": "targeted",
        "CreateDate": now,
        "ReservationType": "capacity-block",
        "CapacityBlockId": block_id,
        "tags": tags,
    }
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
    return ActionResult({"CapacityReservation": _public(reservation)})


def describe_capacity_reservations(self):
    reservations = state(self)["reservations"]
    ids = self._get_param("CapacityReservationIds", [])
    missing = [i for i in ids if i not in reservations]
    if missing:
        raise LabError(
            "InvalidCapacityReservationId.NotFound", f"The capacity reservation ID '{missing[0]}' does not exist"
        )
    filters = _filters(self)
    chosen = [r for i, r in reservations.items() if (not ids or i in ids) and _matches(r, filters)]
    return ActionResult({"CapacityReservations": [_public(r) for r in chosen]})


def describe_capacity_blocks(self):
    blocks = state(self)["blocks"]
    ids = self._get_param("CapacityBlockIds", [])
    filters = _filters(self)
    chosen = [b for i, b in blocks.items() if (not ids or i in ids) and _matches(b, filters)]
    return ActionResult({"CapacityBlocks": [_public(b) for b in chosen]})


def describe_capacity_block_status(self):
    blocks = state(self)["blocks"]
    reservations = state(self)["reservations"]
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


def describe_capacity_block_extension_history(self):
    return ActionResult({"CapacityBlockExtensions": []})


STAND_INS = (
    create_placement_group,
    describe_placement_groups,
    delete_placement_group,
    describe_capacity_block_offerings,
    purchase_capacity_block,
    describe_capacity_reservations,
    describe_capacity_blocks,
    describe_capacity_block_status,
    describe_capacity_block_extension_history,
)


def install():
    """Add the stand-ins to moto's EC2 responses (idempotent)."""
    for func in STAND_INS:
        setattr(EC2Response, func.__name__, func)


def main(argv=None):
    install()
    from moto.server import main as moto_main  # noqa: PLC0415 (after the stand-ins are in place)

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
