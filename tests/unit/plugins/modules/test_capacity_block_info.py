# -*- coding: utf-8 -*-
import datetime

from ansible_collections.nixl_efa.cluster.plugins.modules import capacity_block_info as module

UTC = datetime.timezone.utc


def reservation(rid, block, state="active", kind="capacity-block", day=1):
    raw = {
        "CapacityReservationId": rid,
        "CapacityBlockId": block,
        "InstanceType": "p5.48xlarge",
        "AvailabilityZone": "us-east-2a",
        "TotalInstanceCount": 2,
        "AvailableInstanceCount": 0,
        "State": state,
        "ReservationType": kind,
        "CreateDate": datetime.datetime(2026, 11, day, tzinfo=UTC),
        "StartDate": datetime.datetime(2026, 12, 1, 11, 30, tzinfo=UTC),
        "EndDate": datetime.datetime(2026, 12, 3, 11, 30, tzinfo=UTC),
        "Tags": [
            {"Key": "nixl-efa:purchase-key", "Value": "demo"},
            {"Key": "nixl-efa:upfront-fee", "Value": "2500.0 USD"},
        ],
    }
    if block is None:
        del raw["CapacityBlockId"]
    return raw


def test_by_purchase_key_and_state_with_block_status(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations",
        {
            "CapacityReservations": [
                reservation("cr-2", "cb-2", day=2),
                reservation("cr-1", "cb-1"),
                reservation("cr-odcr", None, kind="default"),
            ]
        },
        {
            "Filters": [
                {"Name": "tag:nixl-efa:purchase-key", "Values": ["demo"]},
                {"Name": "state", "Values": ["active", "scheduled"]},
            ]
        },
    )
    ec2.stub.add_response(
        "describe_capacity_blocks",
        {
            "CapacityBlocks": [
                {"CapacityBlockId": "cb-1", "CapacityReservationIds": ["cr-1"], "State": "active"},
                {"CapacityBlockId": "cb-2", "CapacityReservationIds": ["cr-2"], "State": "active"},
            ]
        },
        {"CapacityBlockIds": ["cb-1", "cb-2"]},
    )
    ec2.stub.add_response(
        "describe_capacity_block_status",
        {
            "CapacityBlockStatuses": [
                {
                    "CapacityBlockId": "cb-1",
                    "InterconnectStatus": "ok",
                    "TotalCapacity": 2,
                    "TotalAvailableCapacity": 0,
                    "TotalUnavailableCapacity": 0,
                }
            ]
        },
        {"CapacityBlockIds": ["cb-1", "cb-2"]},
    )
    result = run_module(module, {"name": "demo", "states": ["active", "scheduled"]})
    assert not result["failed"] and result["changed"] is False
    assert [r["capacity_reservation_id"] for r in result["capacity_reservations"]] == ["cr-1", "cr-2"]
    assert result["capacity_reservations"][0]["upfront_fee"] == 2500.0
    assert result["capacity_reservations"][0]["purchase_key"] == "demo"
    blocks = {b["capacity_block_id"]: b for b in result["capacity_blocks"]}
    assert blocks["cb-1"]["interconnect_status"] == "ok" and blocks["cb-1"]["total_capacity"] == 2
    assert blocks["cb-2"]["interconnect_status"] is None


def test_by_block_id_reads_its_reservations(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_blocks",
        {"CapacityBlocks": [{"CapacityBlockId": "cb-9", "CapacityReservationIds": ["cr-9"], "State": "scheduled"}]},
        {"CapacityBlockIds": ["cb-9"]},
    )
    ec2.stub.add_response(
        "describe_capacity_reservations",
        {"CapacityReservations": [reservation("cr-9", "cb-9")]},
        {"Filters": [], "CapacityReservationIds": ["cr-9"]},
    )
    ec2.stub.add_response(
        "describe_capacity_block_status", {"CapacityBlockStatuses": []}, {"CapacityBlockIds": ["cb-9"]}
    )
    result = run_module(module, {"capacity_block_ids": ["cb-9"]})
    assert [r["capacity_reservation_id"] for r in result["capacity_reservations"]] == ["cr-9"]
    assert result["capacity_blocks"][0]["state"] == "scheduled"


def test_nothing_found(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations",
        {"CapacityReservations": []},
        {"Filters": [{"Name": "tag:team", "Values": ["ml"]}]},
    )
    result = run_module(module, {"tags": {"team": "ml"}})
    assert result["capacity_reservations"] == [] and result["capacity_blocks"] == []
    assert ec2.calls() == ["DescribeCapacityReservations"]


def test_instance_types_and_zones_become_ec2_filters_beside_the_states(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations",
        {"CapacityReservations": []},
        {
            "Filters": [
                {"Name": "state", "Values": ["active"]},
                {"Name": "instance-type", "Values": ["p5.48xlarge", "p5en.48xlarge"]},
                {"Name": "availability-zone", "Values": ["us-east-2a"]},
            ]
        },
    )
    types = ["p5.48xlarge", "p5en.48xlarge"]
    result = run_module(module, {"states": ["active"], "instance_types": types, "availability_zones": ["us-east-2a"]})
    assert result["capacity_reservations"] == [] and ec2.calls() == ["DescribeCapacityReservations"]


def test_a_reservation_named_by_id_is_returned_whatever_its_type(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations",
        {"CapacityReservations": [reservation("cr-odcr", None, kind="default")]},
        {"CapacityReservationIds": ["cr-odcr"], "Filters": []},
    )
    result = run_module(module, {"capacity_reservation_ids": ["cr-odcr"]})
    assert [(r["capacity_reservation_id"], r["reservation_type"]) for r in result["capacity_reservations"]] == [
        ("cr-odcr", "default")
    ]
    assert result["capacity_blocks"] == []


def test_without_block_details_the_reservation_is_one_request(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations",
        {"CapacityReservations": [reservation("cr-1", "cb-1")]},
        {"CapacityReservationIds": ["cr-1"], "Filters": []},
    )
    result = run_module(module, {"capacity_reservation_ids": ["cr-1"], "describe_blocks": False})
    assert not result["failed"]
    assert [r["capacity_reservation_id"] for r in result["capacity_reservations"]] == ["cr-1"]
    assert result["capacity_reservations"][0]["availability_zone"] == "us-east-2a"
    assert result["capacity_blocks"] == []
    assert ec2.calls() == ["DescribeCapacityReservations"]
