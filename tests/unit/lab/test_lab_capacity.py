# -*- coding: utf-8 -*-
"""The lab's CancelCapacityReservation stand-in (lab/lab_capacity.py), called without a server.

A capacity block is refused with a client error and stays as it was; any other reservation is
cancelled and the instances launched into it are no longer counted against it; an unknown id
and an ended reservation are refused. The AWS CLI replay in
tests/integration/test_capacity_script_cli.py checks the same rule through a running lab.
"""

import datetime
import importlib.util
import pathlib
import sys

import pytest

LAB = pathlib.Path(__file__).resolve().parents[3] / "lab"
if str(LAB) not in sys.path:
    sys.path.insert(0, str(LAB))
SPEC = importlib.util.spec_from_file_location("lab_capacity", LAB / "lab_capacity.py")
lab_capacity = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(lab_capacity)

NOW = datetime.datetime.now(datetime.timezone.utc)


class Request:
    """What a stand-in reads from moto's EC2Response: account, region and the request's parameters."""

    current_account = "123456789012"
    region = "us-east-1"

    def __init__(self, **params):
        self.params = params

    def _get_param(self, name, default=None):
        return self.params.get(name, default)


@pytest.fixture(autouse=True)
def fresh_lab(monkeypatch):
    monkeypatch.setattr(lab_capacity, "_state", {})


def _reservation(reservation_id, reservation_type, state="active"):
    record = {
        "CapacityReservationId": reservation_id,
        "InstanceType": "p5.48xlarge",
        "AvailabilityZone": "us-east-1a",
        "TotalInstanceCount": 2,
        "AvailableInstanceCount": 1,
        "State": state,
        "StartDate": NOW - datetime.timedelta(hours=1),
        "EndDate": NOW + datetime.timedelta(hours=23),
        "ReservationType": reservation_type,
        "tags": {},
    }
    if reservation_type == "capacity-block":
        record["CapacityBlockId"] = "cb-00000000000000002"
    lab = lab_capacity.state(Request())
    lab["reservations"][reservation_id] = record
    return record


def _cancel(reservation_id):
    return lab_capacity.cancel_capacity_reservation(Request(CapacityReservationId=reservation_id))


def test_cancel_is_a_registered_stand_in():
    assert lab_capacity.cancel_capacity_reservation in lab_capacity.STAND_INS


def test_a_capacity_block_cannot_be_cancelled():
    block = _reservation("cr-00000000000000001", "capacity-block")
    with pytest.raises(lab_capacity.LabError) as refused:
        _cancel("cr-00000000000000001")
    assert refused.value.code == "UnsupportedOperation"
    assert "cr-00000000000000001" in refused.value.message
    assert "cannot be cancelled" in refused.value.message
    assert block["State"] == "active"


def test_an_ordinary_reservation_is_cancelled():
    reservation = _reservation("cr-00000000000000003", "default")
    lab = lab_capacity.state(Request())
    lab["instances"].update({"i-0aaa": "cr-00000000000000003", "i-0bbb": "cr-00000000000000009"})
    assert _cancel("cr-00000000000000003").result == {"Return": True}
    assert reservation["State"] == "cancelled"
    # Its instances keep running outside it; an instance of another reservation stays counted there.
    assert lab["instances"] == {"i-0bbb": "cr-00000000000000009"}


@pytest.mark.parametrize(
    ("existing", "code"),
    [
        (None, "InvalidCapacityReservationId.NotFound"),
        ("cancelled", "IncorrectState"),
        ("expired", "IncorrectState"),
    ],
)
def test_cancel_refusals(existing, code):
    if existing is not None:
        _reservation("cr-00000000000000004", "default", state=existing)
    with pytest.raises(lab_capacity.LabError) as refused:
        _cancel("cr-00000000000000004")
    assert refused.value.code == code
    assert "cr-00000000000000004" in refused.value.message


# DryRun, eventual consistency and unclear errors (switched on by tests only) -----------


class PurchaseRequest(Request):
    """A PurchaseCapacityBlock request with its TagSpecifications already parsed."""

    def __init__(self, tags=None, **params):
        super().__init__(**params)
        self.tags = tags or {}

    def _parse_tag_specification(self, resource_type):
        return {resource_type: dict(self.tags)}


def _offering():
    offering = {
        "CapacityBlockOfferingId": "cb-0000000000000000a",
        "InstanceType": "p5.48xlarge",
        "AvailabilityZone": "us-east-1a",
        "InstanceCount": 2,
        "StartDate": NOW + datetime.timedelta(days=1),
        "EndDate": NOW + datetime.timedelta(days=2),
    }
    lab_capacity.state(Request())["offerings"][offering["CapacityBlockOfferingId"]] = offering
    return offering["CapacityBlockOfferingId"]


BUY = lab_capacity.purchase_capacity_block.__wrapped__


def test_dry_run_answers_dry_run_operation_412_and_buys_nothing():
    offering_id = _offering()
    with pytest.raises(lab_capacity.LabStatusError) as answer:
        BUY(PurchaseRequest(CapacityBlockOfferingId=offering_id, InstancePlatform="Linux/UNIX", DryRun="true"))
    assert (answer.value.code, answer.value.status) == ("DryRunOperation", 412)
    assert lab_capacity.state(Request())["reservations"] == {}
    assert lab_capacity.purchase_capacity_block_extension.__wrapped__ is not None


def test_unclear_purchase_buys_then_answers_500_only_for_the_tag(monkeypatch):
    monkeypatch.setenv(lab_capacity.UNCLEAR_PURCHASE_TAG_ENV, "nixl-efa:cluster=crash")
    offering_id = _offering()
    BUY(PurchaseRequest({"nixl-efa:cluster": "fine"}, CapacityBlockOfferingId=offering_id))
    with pytest.raises(lab_capacity.LabStatusError) as answer:
        BUY(PurchaseRequest({"nixl-efa:cluster": "crash"}, CapacityBlockOfferingId=offering_id))
    assert (answer.value.code, answer.value.status) == ("InternalError", 500)
    bought = lab_capacity.state(Request())["reservations"].values()
    assert sorted(r["tags"]["nixl-efa:cluster"] for r in bought) == ["crash", "fine"]


def test_new_reservations_are_unseen_by_describe_for_the_delay(monkeypatch):
    monkeypatch.setenv(lab_capacity.DESCRIBE_DELAY_ENV, "5")
    BUY(PurchaseRequest(CapacityBlockOfferingId=_offering()))
    (reservation,) = lab_capacity.state(Request())["reservations"].values()
    rid = reservation["CapacityReservationId"]
    assert lab_capacity.describe_capacity_reservations(Request()).result["CapacityReservations"] == []
    assert lab_capacity.describe_capacity_blocks(Request()).result["CapacityBlocks"] == []
    with pytest.raises(lab_capacity.LabError) as unseen:
        lab_capacity.describe_capacity_reservations(Request(CapacityReservationIds=[rid]))
    assert unseen.value.code == "InvalidCapacityReservationId.NotFound"
    later = reservation["CreateDate"] + datetime.timedelta(seconds=5)
    assert lab_capacity.visible(reservation, later) and not lab_capacity.visible(
        reservation, later - datetime.timedelta(seconds=1)
    )
    monkeypatch.delenv(lab_capacity.DESCRIBE_DELAY_ENV)
    seen = lab_capacity.describe_capacity_reservations(Request(CapacityReservationIds=[rid])).result
    assert [r["CapacityReservationId"] for r in seen["CapacityReservations"]] == [rid]


# --- Tags of capacity reservations: CreateTags, DeleteTags, DescribeTags as EC2 answers them -----------------


class TagRequest(Request):
    """A tagging request; DryRun is moto's own check, a no-op here."""

    def error_on_dryrun(self):
        pass


class MotoAnswer:
    def __init__(self, tags=()):
        self.result = {"Tags": list(tags)}


@pytest.fixture
def moto_tags(monkeypatch):
    """moto's own tagging, recorded: the ids handed to it, never the lab's reservations."""
    calls = []
    originals = {
        "create_tags": lambda self: calls.append(("create", list(self.params["Resources"]))),
        "delete_tags": lambda self: calls.append(("delete", list(self.params["Resources"]))),
        "describe_tags": lambda self: MotoAnswer([{"resource_id": "vpc-1", "key": "k", "value": "v"}]),
    }
    monkeypatch.setattr(lab_capacity, "TAG_ORIGINALS", originals)
    return calls


def _tag(resources, tags, action=None):
    request = TagRequest(
        Resources=resources, Tags=[dict(Key=k, **({} if v is None else {"Value": v})) for k, v in tags.items()]
    )
    return (action or lab_capacity.create_tags)(request)


def test_create_tags_adds_and_overwrites_on_the_reservation_and_hands_other_ids_to_moto(moto_tags):
    block = _reservation("cr-00000000000000001", "capacity-block")
    block["tags"] = {"team": "ml", "nixl-efa:cluster": "old"}
    _tag(["cr-00000000000000001", "vpc-1"], {"nixl-efa:cluster": "demo", "nixl-efa:adopted": "true"})
    assert block["tags"] == {"team": "ml", "nixl-efa:cluster": "demo", "nixl-efa:adopted": "true"}
    assert moto_tags == [("create", ["vpc-1"])]


def test_tagging_an_unknown_reservation_is_refused_and_changes_nothing(moto_tags):
    block = _reservation("cr-00000000000000001", "capacity-block")
    with pytest.raises(lab_capacity.LabError) as refused:
        _tag(["cr-00000000000000001", "cr-0000000000000000f", "vpc-1"], {"a": "b"})
    assert refused.value.code == "InvalidCapacityReservationId.NotFound"
    assert block["tags"] == {} and moto_tags == []


def test_tag_limit_and_reserved_prefix_are_refused(moto_tags):
    block = _reservation("cr-00000000000000001", "capacity-block")
    block["tags"] = {f"k{n}": "v" for n in range(50)}
    with pytest.raises(lab_capacity.LabError) as refused:
        _tag(["cr-00000000000000001"], {"one-more": "v"})
    assert refused.value.code == "TagLimitExceeded"
    _tag(["cr-00000000000000001"], {"k1": "overwritten"})  # an existing key is no new tag
    with pytest.raises(lab_capacity.LabError) as refused:
        _tag(["cr-00000000000000001"], {"aws:x": "v"})
    assert refused.value.code == "InvalidParameterValue"


def test_delete_tags_removes_a_tag_given_with_a_value_only_while_it_has_that_value(moto_tags):
    block = _reservation("cr-00000000000000001", "capacity-block")
    block["tags"] = {"nixl-efa:cluster": "other", "nixl-efa:adopted": "true", "team": "ml", "empty": ""}
    _tag(["cr-00000000000000001"], {"nixl-efa:cluster": "demo", "nixl-efa:adopted": "true"}, lab_capacity.delete_tags)
    assert block["tags"] == {"nixl-efa:cluster": "other", "team": "ml", "empty": ""}
    _tag(["cr-00000000000000001"], {"team": None, "empty": ""}, lab_capacity.delete_tags)
    assert block["tags"] == {"nixl-efa:cluster": "other"}
    block["tags"]["aws:kept"] = "x"
    _tag(["cr-00000000000000001"], {}, lab_capacity.delete_tags)
    assert block["tags"] == {"aws:kept": "x"} and moto_tags == []


def test_describe_tags_adds_the_reservations_tags_filtered_as_ec2_filters(moto_tags):
    _reservation("cr-00000000000000001", "capacity-block")["tags"] = {"nixl-efa:cluster": "demo", "team": "ml"}
    _reservation("cr-00000000000000002", "default")["tags"] = {"team": "ops"}

    def described(*filters):
        request = TagRequest(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return [(t["resource_id"], t["key"], t["value"]) for t in lab_capacity.describe_tags(request).result["Tags"]]

    assert described(("resource-id", ["cr-00000000000000001"]), ("key", ["nixl-*"])) == [
        ("vpc-1", "k", "v"),  # moto's answer is kept as it is (it filters its own)
        ("cr-00000000000000001", "nixl-efa:cluster", "demo"),
    ]
    assert described(("resource-type", ["capacity-reservation"]), ("value", ["o?s"])) == [
        ("vpc-1", "k", "v"),
        ("cr-00000000000000002", "team", "ops"),
    ]
    assert [t for t in described(("resource-type", ["vpc"])) if t[0].startswith("cr-")] == []
