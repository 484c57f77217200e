# -*- coding: utf-8 -*-
import datetime

import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ec2_api import purchase_once

NOW = datetime.datetime(2026, 11, 25, 15, 0, tzinfo=datetime.timezone.utc)
UTC = datetime.timezone.utc


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+7d", NOW + datetime.timedelta(days=7)),
        ("+12h", NOW + datetime.timedelta(hours=12)),
        ("+2w", NOW + datetime.timedelta(weeks=2)),
        ("+30m", NOW + datetime.timedelta(minutes=30)),
        ("now", NOW),
        ("today", datetime.datetime(2026, 11, 25, tzinfo=UTC)),
        ("2026-12-01", datetime.datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T09:30:00Z", datetime.datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ("2026-12-01T09:30:00+09:00", datetime.datetime(2026, 12, 1, 0, 30, tzinfo=UTC)),
        ("2026-12-01T09:30", datetime.datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        (None, None),
    ],
)
def test_parse_date(text, expected):
    assert cb.parse_date(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["next week", "+7y", "2026-13-01", "7d", "01/12/2026"])
def test_parse_date_rejects_with_help(text):
    with pytest.raises(cb.CapacityBlockError, match=r"ISO date .* offset from now"):
        cb.parse_date(text, now=NOW, name="start_date_range")


@pytest.mark.parametrize("hours", [24, 48, 336, 504, 4368])
def test_valid_durations(hours):
    assert cb.validate_duration_hours(hours) == hours


@pytest.mark.parametrize(
    "hours, message",
    [(1, "whole days"), (36, "whole days"), (360, "whole weeks"), (4536, "at most 182 days"), (None, "required")],
)
def test_invalid_durations(hours, message):
    with pytest.raises(cb.CapacityBlockError, match=message):
        cb.validate_duration_hours(hours)


def test_build_request_resolves_dates_and_validates():
    request = cb.build_offering_request(
        {
            "instance_type": "p5.48xlarge",
            "instance_count": 2,
            "duration_hours": 48,
            "start_date_range": "+1d",
            "end_date_range": "+8d",
        },
        now=NOW,
    )
    assert request == {
        "InstanceType": "p5.48xlarge",
        "InstanceCount": 2,
        "CapacityDurationHours": 48,
        "StartDateRange": NOW + datetime.timedelta(days=1),
        "EndDateRange": NOW + datetime.timedelta(days=8),
    }
    assert cb.search_summary(request)["start_date_range"] == "2026-11-26T15:00:00Z"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"duration_hours": 24}, "instance_type is required"),
        ({"instance_type": "p5.48xlarge", "duration_hours": 24, "instance_count": 65}, "between 1 and 64"),
        (
            {"instance_type": "p5.48xlarge", "duration_hours": 24, "start_date_range": "+5d", "end_date_range": "+2d"},
            "must be after",
        ),
        ({"instance_type": "p5.48xlarge", "duration_hours": 24, "end_date_range": "2026-11-01"}, "in the past"),
    ],
)
def test_build_request_refuses_bad_input(params, message):
    with pytest.raises(cb.CapacityBlockError, match=message):
        cb.build_offering_request(params, now=NOW)


def raw_offering(offering_id, start_day, fee, count=2, hours=48, zone="us-east-2a", minutes=None):
    raw = {
        "CapacityBlockOfferingId": offering_id,
        "InstanceType": "p5.48xlarge",
        "AvailabilityZone": zone,
        "InstanceCount": count,
        "StartDate": datetime.datetime(2026, 12, start_day, 11, 30, tzinfo=UTC),
        "EndDate": datetime.datetime(2026, 12, start_day + hours // 24, 11, 30, tzinfo=UTC),
        "CapacityBlockDurationHours": hours,
        "UpfrontFee": fee,
        "CurrencyCode": "USD",
        "Tenancy": "default",
    }
    if minutes is not None:
        raw["CapacityBlockDurationMinutes"] = minutes
    return raw


def test_summary_and_price_per_instance_hour():
    offer = cb.summarize_offering(raw_offering("cb-1", 3, "2953.44"))
    assert offer["upfront_fee"] == 2953.44
    assert offer["price_per_instance_hour"] == round(2953.44 / (2 * 48), 4)
    assert offer["start_date"] == "2026-12-03T11:30:00Z"
    with_minutes = cb.summarize_offering(raw_offering("cb-2", 3, "100", count=1, hours=1, minutes=30))
    assert with_minutes["price_per_instance_hour"] == round(100 / 1.5, 4)


def test_ranking_and_selection():
    offers = [
        cb.summarize_offering(o)
        for o in (
            raw_offering("cb-late-cheap", 9, "1000.00"),
            raw_offering("cb-early-dear", 2, "3000.00", zone="us-east-2b"),
            raw_offering("cb-mid", 5, "2000.00"),
        )
    ]
    assert [o["capacity_block_offering_id"] for o in cb.sort_offerings(offers, "start")] == [
        "cb-early-dear",
        "cb-mid",
        "cb-late-cheap",
    ]
    assert [o["capacity_block_offering_id"] for o in cb.sort_offerings(offers, "price")] == [
        "cb-late-cheap",
        "cb-mid",
        "cb-early-dear",
    ]
    assert cb.select_offering(offers, "earliest")["capacity_block_offering_id"] == "cb-early-dear"
    assert cb.select_offering(offers, "cheapest")["capacity_block_offering_id"] == "cb-late-cheap"
    assert cb.select_offering([], "cheapest") is None
    assert [o["capacity_block_offering_id"] for o in cb.filter_offerings(offers, "us-east-2b")] == ["cb-early-dear"]
    assert cb.find_offering(offers, "cb-mid")["upfront_fee"] == 2000.0
    assert cb.find_offering(offers, "cb-gone") is None


def test_fee_guard():
    cb.check_fee(2953.44, 2953.44)
    with pytest.raises(cb.CapacityBlockError, match="more than max_upfront_fee 2953.43; nothing was bought"):
        cb.check_fee(2953.44, 2953.43)
    with pytest.raises(cb.CapacityBlockError, match="required"):
        cb.check_fee(1, None)


def test_extension_hours_count_paid_and_pending_only():
    history = [
        {"CapacityBlockExtensionDurationHours": 24, "CapacityBlockExtensionStatus": "payment-succeeded"},
        {"CapacityBlockExtensionDurationHours": 48, "CapacityBlockExtensionStatus": "payment-pending"},
        {"CapacityBlockExtensionDurationHours": 96, "CapacityBlockExtensionStatus": "payment-failed"},
    ]
    assert cb.extension_hours_bought(history) == 72
    assert cb.extension_hours_needed(history, 72) == 0
    assert cb.extension_hours_needed(history, 96) == 24
    assert cb.extension_hours_needed([], 48) == 48


def test_purchase_tags_and_fee_round_trip():
    offer = cb.summarize_offering(raw_offering("cb-1", 3, "2953.44"))
    tags = cb.purchase_tags("demo", offer, {"team": "ml"})
    assert tags == {
        "team": "ml",
        cb.PURCHASE_KEY_TAG: "demo",
        cb.OFFERING_ID_TAG: "cb-1",
        cb.UPFRONT_FEE_TAG: "2953.44 USD",
    }
    assert cb.fee_from_tags(tags) == (2953.44, "USD")
    assert cb.fee_from_tags({}) == (None, None)


def client_error(code, status):
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PurchaseCapacityBlock",
    )


class Calls:
    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.count = 0

    def __call__(self):
        self.count += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_purchase_retries_only_throttling():
    call = Calls(client_error("RequestLimitExceeded", 503), client_error("RequestLimitExceeded", 503), "bought")
    sleeps = []
    assert purchase_once(call, lambda: None, "buy", sleep=sleeps.append) == ("bought", False)
    assert call.count == 3 and len(sleeps) == 2


def test_purchase_never_retried_after_server_error_and_recovered_by_key():
    call = Calls(client_error("InternalError", 500))
    assert purchase_once(call, lambda: "found-by-key", "buy", sleep=lambda s: None) == ("found-by-key", True)
    assert call.count == 1


def test_purchase_server_error_without_trace_is_unknown():
    call = Calls(client_error("InternalError", 500))
    with pytest.raises(AnsibleEC2Error, match="outcome is unknown"):
        purchase_once(call, lambda: None, "buy", sleep=lambda s: None)
    assert call.count == 1


def test_purchase_refused_by_ec2_bought_nothing():
    call = Calls(client_error("InsufficientCapacity", 400))
    with pytest.raises(AnsibleEC2Error, match="refused the request, nothing was bought"):
        purchase_once(call, lambda: None, "buy", sleep=lambda s: None)


def test_purchase_throttled_to_the_end():
    call = Calls(*[client_error("RequestLimitExceeded", 503)] * 3)
    with pytest.raises(AnsibleEC2Error, match="still throttled after 3 attempts"):
        purchase_once(call, lambda: None, "buy", attempts=3, sleep=lambda s: None)


def test_purchase_connection_failure_is_unknown():
    call = Calls(botocore.exceptions.ReadTimeoutError(endpoint_url="https://ec2"))
    with pytest.raises(AnsibleEC2Error, match="outcome is unknown"):
        purchase_once(call, lambda: None, "buy", sleep=lambda s: None)


# Purchase intent ---------------------------------------------------------------------


def test_intent_parameter_name_keeps_safe_characters_only():
    assert cb.intent_parameter_name("demo-2026.12_a") == "/nixl-efa/purchase-intent/demo-2026.12_a"
    assert cb.intent_parameter_name("a b/c", "/nixl-efa/x/purchase-intent/") == "/nixl-efa/x/purchase-intent/a_b_c"
    assert cb.validate_parameter_name("/nixl-efa/demo/purchase-intent/demo")
    for bad in ("/nixl-efa//x", "/nixl-efa/x/", "/nixl efa/x", ""):
        with pytest.raises(cb.CapacityBlockError):
            cb.validate_parameter_name(bad)


def test_intent_value_and_the_reservation_written_into_it():
    offering = {"capacity_block_offering_id": "cb-1", "upfront_fee": 10.5, "currency_code": "USD"}
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    value = cb.intent_value("demo", offering, "me@host pid 1", now=now)
    record = cb.parse_intent(value)
    assert (record["state"], record["offering_id"], record["started"]) == ("buying", "cb-1", "2026-01-02T03:04:05Z")
    assert "reservation_id" not in record
    bought = cb.parse_intent(cb.intent_with_reservation(value, "cr-1"))
    assert (bought["state"], bought["reservation_id"], bought["by"]) == ("bought", "cr-1", "me@host pid 1")
    assert cb.parse_intent("written by hand") == {"raw": "written by hand"}


def test_backoff_doubles_from_two_seconds_up_to_thirty():
    delays = cb.backoff_delays()
    assert [next(delays) for _poll in range(7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_may_have_bought_message_says_how_to_check_and_clear():
    msg = cb.may_have_bought_message("k", "/p/purchase-intent/k", {"by": "me"}, "us-east-2", 300, "why")
    assert msg.startswith("A capacity block MAY HAVE BEEN BOUGHT under purchase key 'k'")
    assert "after waiting 300 s" in msg and '{"by": "me"}' in msg
    assert (
        "aws ec2 describe-capacity-reservations --region us-east-2 --filters Name=tag:nixl-efa:purchase-key,Values=k"
        in msg
    )
    assert "aws ssm delete-parameter --region us-east-2 --name /p/purchase-intent/k" in msg


# --- A reservation's room for a cluster: every instance in it uses its capacity -----------------------------

BLOCK = {"capacity_reservation_id": "cr-1", "total_instance_count": 4, "available_instance_count": 1}


def node(reservation="cr-1", state="running"):
    """An instance as amazon.aws.ec2_instance_info returns it."""
    return {"instance_id": "i-x", "capacity_reservation_id": reservation, "state": {"code": 16, "name": state}}


@pytest.mark.parametrize(
    ("available", "nodes", "wanted", "room"),
    [
        # Two of the cluster's nodes run in it, one place is free, one is held by someone else: room for 3.
        (1, [node(), node()], 3, {"own": 2, "others": 1, "missing": 1, "fits": True}),
        # The same block cannot take a fourth node: the foreign instance keeps its place.
        (1, [node(), node()], 4, {"own": 2, "others": 1, "missing": 2, "fits": False}),
        # Nothing of the cluster yet, three places held by others: 1 available < 2 wanted.
        (1, [], 2, {"own": 0, "others": 3, "missing": 2, "fits": False}),
        # A node elsewhere (on demand, another block) holds no place in this one.
        (1, [node(None), node("cr-2")], 2, {"own": 0, "others": 3, "missing": 2, "fits": False}),
        # A stopped node gives its place back (EC2 frees it once cleaned up); a stopping one still holds it.
        (2, [node(state="stopped"), node(state="stopping")], 3, {"own": 1, "others": 1, "missing": 2, "fits": True}),
        # Scaling down: more of the cluster's nodes in it than wanted.
        (0, [node()] * 4, 2, {"own": 4, "others": 0, "missing": 0, "fits": True}),
    ],
    ids=["fits", "full", "others-hold-it", "nodes-elsewhere", "stopped", "scale-down"],
)
def test_reservation_room_counts_the_clusters_nodes_and_everyone_elses(available, nodes, wanted, room):
    answer = cb.reservation_room(dict(BLOCK, available_instance_count=available), wanted, nodes)
    assert answer == dict(room, total=4, available=available)


def test_reservation_room_reads_ec2s_own_shape_and_numbers_as_text():
    raw = {"InstanceId": "i-1", "CapacityReservationId": "cr-1", "State": {"Code": 16, "Name": "running"}}
    answer = cb.reservation_room(
        {"capacity_reservation_id": "cr-1", "total_instance_count": "2", "available_instance_count": "1"}, "2", [raw]
    )
    assert (answer["own"], answer["others"], answer["fits"]) == (1, 0, True)
    assert cb.reservation_room({}, 1)["fits"] is False
