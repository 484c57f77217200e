# -*- coding: utf-8 -*-
"""nixl_efa.cluster.capacity_block with EC2 and Systems Manager behind botocore's Stubber.

Besides the purchase guards (key, fee, search), the intent record: a purchase takes
/nixl-efa/purchase-intent/<key> (PutParameter, Overwrite=false) before PurchaseCapacityBlock and
writes the reservation id into it after; a run finding it held waits, with backoff, for the other
run's block, and fails saying a block MAY have been bought when none shows. After an unclear
purchase error (5xx) the key is looked up with the same wait; after a refusal (4xx) the intent is
given back. Check mode asks EC2 with DryRun=true.
"""

import datetime
import json
import time

import pytest
from ansible_collections.amazon.aws.plugins.module_utils import modules as aws_modules
from botocore.stub import ANY
from ec2_data import capacity_block_offering

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block_purchase as cbp
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ec2_api import NO_RETRY_CONFIG
from ansible_collections.nixl_efa.cluster.plugins.modules import capacity_block as module

UTC = datetime.timezone.utc
KEY_FILTER = [{"Name": "tag:nixl-efa:purchase-key", "Values": ["demo"]}]
INTENT = "/nixl-efa/purchase-intent/demo"
NOW = datetime.datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WHO = "tester@controller pid 4242"
RESERVATION_ID = "cr-0123456789abcdef0"
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


@pytest.fixture(autouse=True)
def both_services(ec2, ssm, monkeypatch):
    """EC2 and SSM clients by service, one ordered record of the calls to both, a fixed clock and caller."""
    order = []

    def fake_conn(mod, conn_type, resource=None, region=None, endpoint=None, **params):
        state = ssm if resource == "ssm" else ec2
        state.connections.append(params)
        return state.client

    for state in (ec2, ssm):
        state.client.meta.events.register(
            f"provide-client-params.{state.client.meta.service_model.endpoint_prefix}.*",
            lambda params, model, **kw: order.append((model.name, params)),
        )
    monkeypatch.setattr(aws_modules, "boto3_conn", fake_conn)
    ssm.sleeps = ec2.sleeps
    monkeypatch.setattr(time, "sleep", ec2.sleeps.append)
    monkeypatch.setattr(cb, "utcnow", lambda: NOW)
    monkeypatch.setattr(cbp, "who", lambda: WHO)
    ec2.order = lambda: [name for name, params in order]
    return order


def our_intent(offering_id="cb-cheap-late", fee=2500.0, reservation_id=None):
    offering = {"capacity_block_offering_id": offering_id, "upfront_fee": fee, "currency_code": "USD",
                "availability_zone": "us-east-2a"}  # fmt: skip
    return cb.intent_value("demo", offering, WHO, now=NOW, reservation_id=reservation_id)


def expect_take(ssm, taken=True, value=ANY):
    request = {"Name": INTENT, "Value": value, "Type": "String", "Description": ANY, "Overwrite": False, "Tags": ANY}
    if taken:
        ssm.stub.add_response("put_parameter", {"Version": 1}, request)
    else:
        ssm.stub.add_client_error(
            "put_parameter", "ParameterAlreadyExists", "The parameter already exists.", 400, expected_params=request
        )


def expect_get(ssm, value, name=INTENT):
    if value is None:
        ssm.stub.add_client_error("get_parameter", "ParameterNotFound", "", 400, expected_params={"Name": name})
    else:
        ssm.stub.add_response(
            "get_parameter", {"Parameter": {"Name": name, "Value": value, "Type": "String"}}, {"Name": name}
        )


def expect_tags(ssm, tags, name=INTENT):
    ssm.stub.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"ResourceType": "Parameter", "ResourceId": name},
    )


def expect_record(ssm, value_before, tags=None):
    """The reservation id written into the intent: read, ownership, overwrite."""
    expect_get(ssm, value_before)
    expect_tags(ssm, tags or {cb.PURCHASE_KEY_TAG: "demo"})
    ssm.stub.add_response(
        "put_parameter",
        {"Version": 2},
        {"Name": INTENT, "Value": ANY, "Type": "String", "Description": ANY, "Overwrite": True},
    )


def expect_key_lookup(ec2, found=()):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": list(found)}, {"Filters": KEY_FILTER}
    )
    if not found:
        ec2.stub.add_response("describe_capacity_blocks", {"CapacityBlocks": []}, {"Filters": KEY_FILTER})


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


def expect_dry_run(ec2, code="DryRunOperation", status=412, offering_id="cb-cheap-late"):
    ec2.stub.add_client_error(
        "purchase_capacity_block",
        code,
        "Request would have succeeded, but DryRun flag is set."
        if code == "DryRunOperation"
        else "You are not authorized to perform this operation. Encoded authorization failure message: abc",
        status,
        expected_params={
            "CapacityBlockOfferingId": offering_id,
            "InstancePlatform": "Linux/UNIX",
            "TagSpecifications": ANY,
            "DryRun": True,
        },
    )


def test_check_mode_asks_ec2_with_dry_run_and_buys_nothing(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_dry_run(ec2)
    expect_get(ssm, None)
    result = run_module(module, dict(SEARCH, select="cheapest"), check_mode=True)
    assert not result["failed"] and result["changed"] and result["capacity_block"] == {}
    assert result["offering"]["capacity_block_offering_id"] == "cb-cheap-late"
    assert result["offering"]["upfront_fee"] == 2500.0
    assert result["offering"]["price_per_instance_hour"] == round(2500 / 96, 4)
    assert result["dry_run"]["allowed"] is True and "DryRunOperation" in result["dry_run"]["message"]
    assert [p["DryRun"] for p in ec2.params("PurchaseCapacityBlock")] == [True]
    assert "PutParameter" not in ssm.calls(), "check mode took the intent"


def test_check_mode_dry_run_denied_fails_naming_the_permission(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_dry_run(ec2, "UnauthorizedOperation", 403)
    result = run_module(module, dict(SEARCH, select="cheapest"), check_mode=True)
    assert result["failed"] and result["dry_run"]["allowed"] is False
    assert "UnauthorizedOperation" in result["msg"] and "ec2:PurchaseCapacityBlock" in result["msg"]
    assert "Nothing was bought" in result["msg"]
    assert ssm.calls() == []


def test_check_mode_warns_when_the_intent_is_held(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_dry_run(ec2)
    expect_get(ssm, our_intent())
    result = run_module(module, dict(SEARCH, select="cheapest"), check_mode=True)
    assert result["changed"] and result["intent"]["content"]["state"] == "buying"
    assert any(f"intent record {INTENT} is held" in w for w in result["warnings"])


def test_intent_taken_then_bought_then_recorded(ec2, ssm, run_module, both_services):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm, value=our_intent())
    expect_purchase(ec2)
    expect_record(ssm, our_intent(), {cb.CLUSTER_TAG: "demo-cluster"})
    expect_get(ssm, None, "/nixl-efa/demo-cluster/reservation-id")
    ssm.stub.add_response(
        "put_parameter",
        {"Version": 1},
        {"Name": "/nixl-efa/demo-cluster/reservation-id", "Value": RESERVATION_ID, "Type": "String",
         "Description": ANY, "Overwrite": False, "Tags": [{"Key": cb.CLUSTER_TAG, "Value": "demo-cluster"}]},
    )  # fmt: skip
    args = dict(SEARCH, select="cheapest", tags={cb.CLUSTER_TAG: "demo-cluster"},
                reservation_id_parameter="/nixl-efa/demo-cluster/reservation-id")  # fmt: skip
    result = run_module(module, args)
    assert not result["failed"] and result["changed"] and result["recovered"] is False
    order = [name for name, _service in both_services]
    assert order.index("PutParameter") < order.index("PurchaseCapacityBlock"), order
    taken = ssm.params("PutParameter")[0]
    assert taken["Overwrite"] is False
    assert {t["Key"]: t["Value"] for t in taken["Tags"]} == {
        cb.CLUSTER_TAG: "demo-cluster",
        cb.PURCHASE_KEY_TAG: "demo",
    }
    assert json.loads(taken["Value"]) == {
        "purchase_key": "demo", "state": "buying", "offering_id": "cb-cheap-late", "upfront_fee": 2500.0,
        "currency_code": "USD", "availability_zone": "us-east-2a", "started": "2026-11-25T09:00:00Z", "by": WHO,
    }  # fmt: skip
    recorded = json.loads(ssm.params("PutParameter")[1]["Value"])
    assert (recorded["state"], recorded["reservation_id"]) == ("bought", RESERVATION_ID)
    assert result["intent"] == {"parameter": INTENT, "content": recorded}


def test_intent_held_block_found_after_waiting(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm, taken=False)
    expect_get(ssm, our_intent())  # another run's record, no reservation id yet
    expect_key_lookup(ec2)  # EC2 does not show the other run's block yet
    expect_get(ssm, our_intent())
    expect_key_lookup(ec2, [reservation("scheduled")])
    expect_record(ssm, our_intent())
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert not result["failed"] and result["changed"] is False and result["bought_by_another_run"] is True
    assert result["capacity_block"]["capacity_reservation_id"] == RESERVATION_ID
    assert "PurchaseCapacityBlock" not in ec2.calls()
    assert ec2.sleeps == [2.0]
    assert result["intent"]["content"]["reservation_id"] == RESERVATION_ID


def test_intent_held_and_nothing_found_fails_saying_may_have_bought(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm, taken=False)
    held = our_intent()
    for _poll in range(3):  # at 0, 2 and 3 seconds (consistency_timeout 3)
        expect_get(ssm, held)
        expect_key_lookup(ec2)
    result = run_module(module, dict(SEARCH, select="cheapest", consistency_timeout=3))
    assert result["failed"] and result["may_have_bought"] is True
    msg = result["msg"]
    assert "MAY HAVE BEEN BOUGHT under purchase key 'demo'" in msg and "Nothing more was bought" in msg
    assert f"aws ssm delete-parameter --region us-east-1 --name {INTENT}" in msg
    assert (
        "aws ec2 describe-capacity-reservations --region us-east-1 --filters Name=tag:nixl-efa:purchase-key,Values=demo"
        in msg
    )
    assert '"offering_id": "cb-cheap-late"' in msg and WHO in msg
    assert result["intent_parameter"] == INTENT and result["intent"]["state"] == "buying"
    assert ec2.sleeps == [2.0, 1.0]
    assert "PurchaseCapacityBlock" not in ec2.calls()
    assert "DeleteParameter" not in ssm.calls()


def test_intent_held_by_a_recorded_purchase_is_read_by_id(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm, taken=False)
    expect_get(ssm, our_intent(reservation_id=RESERVATION_ID))
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation("scheduled")]},
        {"CapacityReservationIds": [RESERVATION_ID]},
    )  # fmt: skip
    expect_get(ssm, our_intent(reservation_id=RESERVATION_ID))  # already recorded: not written again
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert result["changed"] is False and result["bought_by_another_run"] is True
    assert "PutParameter" in ssm.calls() and ssm.calls().count("PutParameter") == 1


def test_intent_given_back_by_the_other_run_is_taken(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm, taken=False)
    expect_get(ssm, None)  # the other run was refused and gave it back
    expect_key_lookup(ec2)
    expect_take(ssm)
    expect_purchase(ec2)
    expect_record(ssm, our_intent())
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert result["changed"] and ec2.calls().count("PurchaseCapacityBlock") == 1


def test_purchase_selects_tags_and_never_lets_botocore_retry(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm)
    expect_purchase(ec2, "cb-dear-early")
    expect_record(ssm, our_intent("cb-dear-early", 2950.0))
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


def test_named_offering_is_priced_before_buying(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm)
    expect_purchase(ec2, "cb-dear-early")
    expect_record(ssm, our_intent("cb-dear-early", 2950.0))
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


def test_purchase_throttled_twice_then_bought_once(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm)
    ec2.throttle("purchase_capacity_block")
    expect_purchase(ec2)
    expect_record(ssm, our_intent())
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert result["changed"] and result["recovered"] is False
    assert ec2.calls().count("PurchaseCapacityBlock") == 3
    assert len(ec2.sleeps) == 2


def test_purchase_server_error_is_not_retried_and_found_by_key_after_waiting(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm)
    ec2.stub.add_client_error("purchase_capacity_block", "InternalError", "An internal error has occurred", 500)
    expect_get(ssm, our_intent())
    expect_key_lookup(ec2)  # bought, but not visible yet (eventual consistency)
    expect_get(ssm, our_intent())
    expect_key_lookup(ec2, [reservation()])
    expect_record(ssm, our_intent())
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert result["changed"] and result["recovered"] is True
    assert ec2.calls().count("PurchaseCapacityBlock") == 1
    assert ec2.sleeps == [2.0]
    assert result["intent"]["content"]["reservation_id"] == RESERVATION_ID


def test_purchase_server_error_and_nothing_found_keeps_the_intent(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm)
    ec2.stub.add_client_error("purchase_capacity_block", "InternalError", "An internal error has occurred", 500)
    for _poll in range(2):  # at 0 and 2 seconds
        expect_get(ssm, our_intent())
        expect_key_lookup(ec2)
    result = run_module(module, dict(SEARCH, select="cheapest", consistency_timeout=2))
    assert result["failed"] and result["may_have_bought"] is True
    assert "MAY HAVE BEEN BOUGHT" in result["msg"] and "failed without saying whether it bought" in result["msg"]
    assert ec2.calls().count("PurchaseCapacityBlock") == 1
    assert "DeleteParameter" not in ssm.calls()


def test_refused_purchase_gives_the_intent_back(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm, value=our_intent())
    ec2.stub.add_client_error("purchase_capacity_block", "InsufficientCapacity", "No capacity left", 400)
    expect_key_lookup(ec2)  # one look, no wait: EC2 said no
    expect_get(ssm, our_intent())
    expect_tags(ssm, {cb.PURCHASE_KEY_TAG: "demo"})
    ssm.stub.add_response("delete_parameter", {}, {"Name": INTENT})
    result = run_module(module, dict(SEARCH, select="cheapest"))
    assert result["failed"] and "EC2 refused the request, nothing was bought" in result["msg"]
    assert ec2.sleeps == []


def test_intent_of_another_cluster_is_not_overwritten(ec2, ssm, run_module):
    expect_no_existing(ec2)
    expect_search(ec2)
    expect_take(ssm)
    expect_purchase(ec2)
    expect_get(ssm, our_intent())
    expect_tags(ssm, {cb.CLUSTER_TAG: "someone-else"})
    result = run_module(module, dict(SEARCH, select="cheapest", tags={cb.CLUSTER_TAG: "demo-cluster"}))
    assert result["changed"] and not result["failed"]
    assert any("could not be recorded" in w and "belongs to another cluster" in w for w in result["warnings"])
    assert ssm.calls().count("PutParameter") == 1


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


def test_extension_check_mode_asks_ec2_with_dry_run(ec2, run_module):
    ec2.stub.add_response(
        "describe_capacity_reservations", {"CapacityReservations": [reservation("active")]}, {"Filters": KEY_FILTER}
    )
    expect_history(ec2)
    ec2.stub.add_response(
        "describe_capacity_block_extension_offerings",
        {"CapacityBlockExtensionOfferings": [{"CapacityBlockExtensionOfferingId": "cbe-1", "UpfrontFee": "1250.00"}]},
        {"CapacityReservationId": RESERVATION_ID, "CapacityBlockExtensionDurationHours": 24},
    )
    ec2.stub.add_client_error(
        "purchase_capacity_block_extension", "DryRunOperation", "Request would have succeeded", 412,
        expected_params={"CapacityReservationId": RESERVATION_ID, "CapacityBlockExtensionOfferingId": "cbe-1",
                         "DryRun": True},
    )  # fmt: skip
    result = run_module(module, {"name": "demo", "extend_hours": 24, "max_upfront_fee": 1500}, check_mode=True)
    assert result["changed"] and result["extension"]["dry_run"]["allowed"] is True
    assert result["extension"]["hours_bought"] == 24


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
