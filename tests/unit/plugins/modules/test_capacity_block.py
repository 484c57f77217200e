# -*- coding: utf-8 -*-
import datetime

from botocore.stub import ANY
from ec2_data import capacity_block_offering

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ec2_api import NO_RETRY_CONFIG
from ansible_collections.nixl_efa.cluster.plugins.modules import capacity_block as module

UTC = datetime.timezone.utc
KEY_FILTER = [{"Name": "tag:nixl-efa:purchase-key", "Values": ["demo"]}]
SEARCH = {
    "name": "demo",
    "instance_type": "p5.48xlarge",
    "instance_count": 2,
    "duration_hours": 48,
    "start_date_range": "+1d",
    "end_date_range": "+20d",
    "max_upfront_fee": 3000,
}


OFFERINGS = [
    capacity_block_offering("cb-cheap-late", 9, "2500.00"),
    capacity_block_offering("cb-dear-early", 3, "2950.00"),
]


def reservation(state="payment-pending", fee="2500.0 USD"):
    return {
        "CapacityReservationId": "cr-0123456789abcdef0",
        "InstanceType": "p5.48xlarge",
        "InstancePlatform": "Linux/UNIX",
        "AvailabilityZone": "us-east-2a",
        "TotalInstanceCount": 2,
        "AvailableInstanceCount": 2,
        "State": state,
        "ReservationType": "capacity-block",
        "StartDate": datetime.datetime(2030, 1, 9, 11, 30, tzinfo=UTC),
        "EndDate": datetime.datetime(2030, 1, 11, 11, 30, tzinfo=UTC),
        "CreateDate": datetime.datetime(2026, 11, 25, tzinfo=UTC),
        "Tags": [{"Key": cb.PURCHASE_KEY_TAG, "Value": "demo"}, {"Key": cb.UPFRONT_FEE_TAG, "Value": fee}],
    }


def expect_no_existing(ec2):
    ec2.stub.add_response("describe_capacity_reservations", {"CapacityReservations": []}, {"Filters": KEY_FILTER})
    ec2.stub.add_response("describe_capacity_blocks", {"CapacityBlocks": []}, {"Filters": KEY_FILTER})


def expect_search(ec2, offerings=None):
    ec2.stub.add_response(
        "describe_capacity_block_offerings",
        {"CapacityBlockOfferings": OFFERINGS if offerings is None else offerings},
        {
            "InstanceType": "p5.48xlarge",
            "InstanceCount": 2,
            "CapacityDurationHours": 48,
            "StartDateRange": ANY,
            "EndDateRange": ANY,
        },
    )


def expect_purchase(ec2, offering_id="cb-cheap-late"):
    ec2.stub.add_response(
        "purchase_capacity_block",
        {"CapacityReservation": reservation()},
        {"CapacityBlockOfferingId": offering_id, "InstancePlatform": "Linux/UNIX", "TagSpecifications": ANY},
    )


def expect_history(ec2, *extensions):
    """Extension history of the block: (hours, status) pairs."""
    ec2.stub.add_response(
        "describe_capacity_block_extension_history",
        {
            "CapacityBlockExtensions": [
                {
                    "CapacityReservationId": "cr-0123456789abcdef0",
                    "CapacityBlockExtensionDurationHours": hours,
                    "CapacityBlockExtensionStatus": status,
                }
                for hours, status in extensions
            ]
        },
        {"CapacityReservationIds": ["cr-0123456789abcdef0"]},
    )


def test_existing_purchase_key_buys_nothing(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation("scheduled")]}, {"Filters": KEY_FILTER}
    )
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert not result["failed"] and result["changed"] is False
    block = result["capacity_block"]
    assert block["capacity_reservation_id"] == "cr-0123456789abcdef0"
    assert (block["state"], block["upfront_fee"], block["purchase_key"]) == ("scheduled", 2500.0, "demo")
    assert "PurchaseCapacityBlock" not in ec2.calls()
    assert "DescribeCapacityBlockOfferings" not in ec2.calls()


def test_existing_block_found_through_capacity_blocks(ec2, run_module):
    ec2.stub.add_response("describe_capacity_reservations", {"CapacityReservations": []}, {"Filters": KEY_FILTER})
    ec2.stub.add_response(
        "describe_capacity_blocks",
        {"CapacityBlocks": [{"CapacityBlockId": "cb-block-1", "CapacityReservationIds": ["cr-0123456789abcdef0"]}]},
        {"Filters": KEY_FILTER},
    )
    ec2.stub.add_response(
        "describe_capacity_reservations",
        {"CapacityReservations": [reservation("active")]},
        {"CapacityReservationIds": ["cr-0123456789abcdef0"]},
    )
    result = run_module(module, SEARCH)
    assert result["changed"] is False and result["capacity_block"]["state"] == "active"
    assert "PurchaseCapacityBlock" not in ec2.calls()


def test_ended_block_is_returned_with_a_warning(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation("expired")]}, {"Filters": KEY_FILTER}
    )
    result = run_module(module, SEARCH)
    assert result["changed"] is False
    assert any("is expired; use a new name" in w for w in result["warnings"])


def test_fee_above_max_buys_nothing(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    result = run_module(module, dict(SEARCH, max_upfront_fee=2000))
    assert result["failed"]
    assert "costs 2950.0 up front, more than max_upfront_fee 2000.0; nothing was bought" in result["msg"]
    assert result["offering"]["capacity_block_offering_id"] == "cb-dear-early"
    assert "PurchaseCapacityBlock" not in ec2.calls()


def test_check_mode_previews_and_buys_nothing(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    result = run_module(module, dict(SEARCH, select="cheapest"), check_mode=True)
    assert result["changed"] and result["capacity_block"] == {}
    assert result["offering"]["capacity_block_offering_id"] == "cb-cheap-late"
    assert result["offering"]["upfront_fee"] == 2500.0
    assert result["offering"]["price_per_instance_hour"] == round(2500 / 96, 4)
    assert "PurchaseCapacityBlock" not in ec2.calls()


def test_purchase_selects_tags_and_never_lets_botocore_retry(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_purchase(ec2, "cb-dear-early")
    result = run_module(module, dict(SEARCH, select="earliest", tags={"team": "ml"}))
    assert result["changed"] and result["recovered"] is False
    assert result["capacity_block"]["capacity_reservation_id"] == "cr-0123456789abcdef0"
    sent = ec2.params("PurchaseCapacityBlock")[0]
    tags = {t["Key"]: t["Value"] for t in sent["TagSpecifications"][0]["Tags"]}
    assert sent["TagSpecifications"][0]["ResourceType"] == "capacity-reservation"
    assert tags == {
        "team": "ml",
        cb.PURCHASE_KEY_TAG: "demo",
        cb.OFFERING_ID_TAG: "cb-dear-early",
        cb.UPFRONT_FEE_TAG: "2950.0 USD",
    }
    purchase_client = [c for c in ec2.connections if c.get("config") == NO_RETRY_CONFIG]
    assert len(purchase_client) == 1


def test_named_offering_is_priced_before_buying(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_purchase(ec2, "cb-dear-early")
    result = run_module(module, dict(SEARCH, offering_id="cb-dear-early"))
    assert result["changed"] and result["offering"]["upfront_fee"] == 2950.0


def test_named_offering_not_found_buys_nothing(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    result = run_module(module, dict(SEARCH, offering_id="cb-expired"))
    assert result["failed"] and "cb-expired is not among the current offerings" in result["msg"]
    assert "PurchaseCapacityBlock" not in ec2.calls()


def test_no_offering_buys_nothing(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2, [])
    result = run_module(module, SEARCH)
    assert result["failed"] and "No capacity block offering matches" in result["msg"]


def test_bad_duration_fails_before_search(ec2, run_module):
    expect_no_existing(ec2)
    result = run_module(module, dict(SEARCH, duration_hours=36))
    assert result["failed"] and "whole days" in result["msg"]
    assert "DescribeCapacityBlockOfferings" not in ec2.calls()


def test_purchase_throttled_twice_then_bought_once(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    ec2.throttle("purchase_capacity_block")
    expect_purchase(ec2)
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert result["changed"] and result["recovered"] is False
    assert ec2.calls().count("PurchaseCapacityBlock") == 3
    assert len(ec2.sleeps) == 2


def test_purchase_server_error_is_not_retried_and_found_by_key(ec2, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    ec2.stub.add_client_error("purchase_capacity_block", "InternalError", "An internal error has occurred", 500)
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation()]}, {"Filters": KEY_FILTER}
    )
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert result["changed"] and result["recovered"] is True
    assert ec2.calls().count("PurchaseCapacityBlock") == 1


def test_extension_buys_only_missing_hours(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation("active")]}, {"Filters": KEY_FILTER}
    )
    expect_history(ec2, (24, "payment-succeeded"))
    ec2.stub.add_response(
        "describe_capacity_block_extension_offerings",
        {
            "CapacityBlockExtensionOfferings": [
                {
                    "CapacityBlockExtensionOfferingId": "cbe-1",
                    "CapacityBlockExtensionDurationHours": 24,
                    "UpfrontFee": "1250.00",
                    "CurrencyCode": "USD",
                }
            ]
        },
        {"CapacityReservationId": "cr-0123456789abcdef0", "CapacityBlockExtensionDurationHours": 24},
    )
    ec2.stub.add_response(
        "purchase_capacity_block_extension",
        {
            "CapacityBlockExtensions": [
                {"CapacityReservationId": "cr-0123456789abcdef0", "CapacityBlockExtensionStatus": "payment-pending"}
            ]
        },
        {"CapacityReservationId": "cr-0123456789abcdef0", "CapacityBlockExtensionOfferingId": "cbe-1"},
    )
    result = run_module(module, {"name": "demo", "extend_hours": 48, "max_upfront_fee": 1500})
    assert result["changed"]
    ext = result["extension"]
    assert (ext["hours_requested"], ext["hours_already_bought"], ext["hours_bought"]) == (48, 24, 24)
    assert ext["status"] == ["payment-pending"]


def test_extension_rerun_buys_nothing(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation("active")]}, {"Filters": KEY_FILTER}
    )
    expect_history(ec2, (48, "payment-pending"))
    result = run_module(module, {"name": "demo", "extend_hours": 48, "max_upfront_fee": 1500})
    assert result["changed"] is False and result["extension"]["hours_bought"] == 0


def test_extension_above_fee_limit_buys_nothing(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation("scheduled")]}, {"Filters": KEY_FILTER}
    )
    expect_history(ec2)
    ec2.stub.add_response(
        "describe_capacity_block_extension_offerings",
        {
            "CapacityBlockExtensionOfferings": [
                {"CapacityBlockExtensionOfferingId": "cbe-1", "UpfrontFee": "2500.00", "CurrencyCode": "USD"}
            ]
        },
        {"CapacityReservationId": "cr-0123456789abcdef0", "CapacityBlockExtensionDurationHours": 24},
    )
    result = run_module(module, {"name": "demo", "extend_hours": 24, "max_upfront_fee": 1500})
    assert result["failed"] and "capacity block extension costs 2500.0" in result["msg"]
    assert "PurchaseCapacityBlockExtension" not in ec2.calls()


def test_extension_of_unpaid_block_is_refused(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation()]}, {"Filters": KEY_FILTER}
    )
    expect_history(ec2)
    result = run_module(module, {"name": "demo", "extend_hours": 24, "max_upfront_fee": 1500})
    assert result["failed"] and "is payment-pending; only a scheduled or active block" in result["msg"]
