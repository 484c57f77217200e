# -*- coding: utf-8 -*-
"""nixl_efa.cluster.capacity_block_adoption: a block bought elsewhere tagged for a cluster, and given back."""

import datetime

from ansible_collections.nixl_efa.cluster.plugins.modules import capacity_block_adoption as module

UTC = datetime.timezone.utc
RID = "cr-0123456789abcdef0"
CLUSTER = "nixl-efa:cluster"
ADOPTED = "nixl-efa:adopted"


def expect_describe(ec2, tags, found=True):
    raw = {
        "CapacityReservationId": RID,
        "CapacityBlockId": "cb-0123456789abcdef0",
        "InstanceType": "p5.48xlarge",
        "AvailabilityZone": "us-east-1a",
        "TotalInstanceCount": 2,
        "AvailableInstanceCount": 2,
        "State": "active",
        "ReservationType": "capacity-block",
        "StartDate": datetime.datetime(2026, 12, 1, 11, 30, tzinfo=UTC),
        "EndDate": datetime.datetime(2026, 12, 8, 11, 30, tzinfo=UTC),
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if found:
        ec2.stub.add_response(
            "describe_capacity_reservations", {"CapacityReservations": [raw]}, {"CapacityReservationIds": [RID]}
        )
    else:
        ec2.stub.add_client_error(
            "describe_capacity_reservations", "InvalidCapacityReservationId.NotFound", "gone", 400,
            expected_params={"CapacityReservationIds": [RID]},
        )  # fmt: skip


def test_an_untagged_block_is_adopted_with_the_two_tags_only(ec2, run_module):
    expect_describe(ec2, {"team": "ml", "Name": "bought in the console"})
    ec2.stub.add_response(
        "create_tags",
        {},
        {"Resources": [RID], "Tags": [{"Key": ADOPTED, "Value": "true"}, {"Key": CLUSTER, "Value": "demo"}]},
    )
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo", "_ansible_diff": True})
    assert result["changed"] and not result["failed"]
    assert result["adoption"] == {
        "decision": "adopt", "adopted": True, "tags_added": {CLUSTER: "demo", ADOPTED: "true"}, "tags_removed": {},
    }  # fmt: skip
    assert result["capacity_reservation"]["tags"] == {
        "team": "ml", "Name": "bought in the console", CLUSTER: "demo", ADOPTED: "true",
    }  # fmt: skip
    assert result["diff"]["before"]["tags"] == {"team": "ml", "Name": "bought in the console"}
    assert ec2.calls() == ["DescribeCapacityReservations", "CreateTags"]


def test_check_mode_says_it_would_tag_and_tags_nothing(ec2, run_module):
    expect_describe(ec2, {})
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo"}, check_mode=True)
    assert result["changed"] and result["adoption"]["tags_added"] == {CLUSTER: "demo", ADOPTED: "true"}
    assert ec2.calls() == ["DescribeCapacityReservations"]


def test_the_clusters_own_block_is_left_as_it_is(ec2, run_module):
    expect_describe(ec2, {CLUSTER: "demo", ADOPTED: "true"})
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo"})
    assert result["changed"] is False and result["adoption"]["decision"] == "own" and result["adoption"]["adopted"]
    assert ec2.calls() == ["DescribeCapacityReservations"]


def test_another_clusters_block_is_refused_and_not_tagged(ec2, run_module):
    expect_describe(ec2, {CLUSTER: "other"})
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo"})
    assert result["failed"]
    assert result["msg"].startswith(
        f"Capacity reservation {RID} exists and is tagged {CLUSTER}=other: it belongs to another cluster, not demo."
    )
    assert result["msg"].endswith("Nothing was changed.")
    assert "CreateTags" not in ec2.calls()


def test_a_missing_block_fails_to_adopt_and_is_nothing_to_give_back(ec2, run_module):
    expect_describe(ec2, {}, found=False)
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo"})
    assert result["failed"] and f"{RID} was not found" in result["msg"]
    expect_describe(ec2, {}, found=False)
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo", "state": "absent"})
    assert result["changed"] is False and result["adoption"]["decision"] == "missing"


def test_an_adopted_block_is_given_back_by_deleting_the_two_tags_with_their_values(ec2, run_module):
    expect_describe(ec2, {CLUSTER: "demo", ADOPTED: "true", "team": "ml"})
    ec2.stub.add_response(
        "delete_tags",
        {},
        {"Resources": [RID], "Tags": [{"Key": ADOPTED, "Value": "true"}, {"Key": CLUSTER, "Value": "demo"}]},
    )
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo", "state": "absent"})
    assert result["changed"] and result["adoption"]["tags_removed"] == {CLUSTER: "demo", ADOPTED: "true"}
    assert result["adoption"]["adopted"] is False
    assert result["capacity_reservation"]["tags"] == {"team": "ml"}


def test_a_bought_block_another_clusters_or_an_untagged_one_is_never_untagged(ec2, run_module):
    for tags in ({CLUSTER: "demo", "nixl-efa:purchase-key": "demo"}, {CLUSTER: "other", ADOPTED: "true"}, {}):
        expect_describe(ec2, tags)
        result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo", "state": "absent"})
        assert result["changed"] is False and result["adoption"]["tags_removed"] == {}, tags
    assert "DeleteTags" not in ec2.calls()


def test_check_mode_give_back_deletes_nothing(ec2, run_module):
    expect_describe(ec2, {CLUSTER: "demo", ADOPTED: "true"})
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo", "state": "absent"}, check_mode=True)
    assert result["changed"] and ec2.calls() == ["DescribeCapacityReservations"]


def test_throttled_tagging_is_retried(ec2, run_module):
    expect_describe(ec2, {})
    ec2.throttle("create_tags")
    ec2.stub.add_response("create_tags", {})
    result = run_module(module, {"capacity_reservation_id": RID, "cluster": "demo"})
    assert result["changed"] and ec2.calls().count("CreateTags") == 3
