# -*- coding: utf-8 -*-
import datetime

from botocore.stub import ANY
from ec2_data import capacity_block_offering

from ansible_collections.nixl_efa.cluster.plugins.modules import capacity_block_offering_info as module

UTC = datetime.timezone.utc
ARGS = {
    "instance_type": "p5.48xlarge",
    "instance_count": 2,
    "duration_hours": 48,
    "start_date_range": "now",
    "end_date_range": "+30d",
}


def expect_search(ec2, pages):
    for number, page in enumerate(pages):
        response = {"CapacityBlockOfferings": page}
        params = {
            "InstanceType": "p5.48xlarge",
            "InstanceCount": 2,
            "CapacityDurationHours": 48,
            "StartDateRange": ANY,
            "EndDateRange": ANY,
        }
        if number + 1 < len(pages):
            response["NextToken"] = f"page-{number + 1}"
        if number:
            params["NextToken"] = f"page-{number}"
        ec2.stub.add_response("describe_capacity_block_offerings", response, params)


def test_pages_sorted_by_price_with_price_per_instance_hour(ec2, run_module):
    expect_search(
        ec2,
        [
            [capacity_block_offering("cb-a", 3, "3000.00")],
            [capacity_block_offering("cb-b", 8, "2400.00", "us-east-2b")],
        ],
    )
    result = run_module(module, dict(ARGS, sort="price"))
    assert not result["failed"] and result["changed"] is False
    assert [o["capacity_block_offering_id"] for o in result["offerings"]] == ["cb-b", "cb-a"]
    assert result["offerings"][0]["price_per_instance_hour"] == 25.0
    assert result["offerings"][0]["start_date"] == "2030-01-08T11:30:00Z"
    assert result["search"]["duration_hours"] == 48 and result["search"]["start_date_range"].endswith("Z")


def test_zone_filter_and_start_order(ec2, run_module):
    expect_search(
        ec2,
        [
            [
                capacity_block_offering("cb-a", 9, "1.00"),
                capacity_block_offering("cb-b", 2, "9.00"),
                capacity_block_offering("cb-c", 1, "5.00", "us-east-2c"),
            ]
        ],
    )
    result = run_module(module, dict(ARGS, availability_zone="us-east-2a"))
    assert [o["capacity_block_offering_id"] for o in result["offerings"]] == ["cb-b", "cb-a"]


def test_bad_input_fails_before_any_call(ec2, run_module):
    for args, message in [
        (dict(ARGS, duration_hours=408), "whole weeks"),
        (dict(ARGS, instance_count=100), "between 1 and 64"),
        (dict(ARGS, start_date_range="+9d", end_date_range="+2d"), "must be after"),
        (dict(ARGS, start_date_range="soon"), "Cannot read start_date_range 'soon'"),
    ]:
        result = run_module(module, args)
        assert result["failed"] and message in result["msg"]
    assert ec2.calls() == []


def test_throttled_twice_then_answers(ec2, run_module):
    ec2.throttle("describe_capacity_block_offerings")
    expect_search(ec2, [[capacity_block_offering("cb-a", 3, "3000.00")]])
    result = run_module(module, ARGS)
    assert [o["capacity_block_offering_id"] for o in result["offerings"]] == ["cb-a"]
    assert len(ec2.sleeps) == 2
