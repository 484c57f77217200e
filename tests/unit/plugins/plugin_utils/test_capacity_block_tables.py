"""Capacity blocks as aligned text (plugins/plugin_utils/capacity_block_tables.py)."""

import datetime

import pytest

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import block_end_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import block_status_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import offering_table
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import reservation_details
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import reservation_table
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import time_left


def test_offering_table_aligns_a_header_and_one_row_per_offering():
    offering = cb.summarize_offering(
        {
            "CapacityBlockOfferingId": "cb-0123456789abcdef",
            "InstanceType": "p5.48xlarge",
            "AvailabilityZone": "us-east-1a",
            "InstanceCount": 2,
            "StartDate": datetime.datetime(2026, 12, 1, 11, 30, tzinfo=datetime.timezone.utc),
            "EndDate": datetime.datetime(2026, 12, 3, 11, 30, tzinfo=datetime.timezone.utc),
            "CapacityBlockDurationHours": 48,
            "UpfrontFee": "3020.54",
            "CurrencyCode": "USD",
        }
    )
    header, row = offering_table([offering])
    assert header.split()[:3] == ["offering", "zone", "start"]
    assert row.split() == [
        "cb-0123456789abcdef", "us-east-1a", "2026-12-01", "11:30", "2026-12-03", "11:30", "48", "2",
        "3,020.54", "USD", "31.4640",
    ]  # fmt: skip
    assert len(header) == len(row.rstrip())
    assert offering_table([]) == [header]


def test_reservation_table_and_block_line():
    reservation = cb.summarize_reservation(
        {
            "CapacityReservationId": "cr-0123456789abcdef0",
            "InstanceType": "p5.48xlarge",
            "AvailabilityZone": "us-east-1a",
            "TotalInstanceCount": 2,
            "AvailableInstanceCount": 1,
            "State": "active",
            "StartDate": datetime.datetime(2026, 12, 1, 11, 30, tzinfo=datetime.timezone.utc),
            "EndDate": datetime.datetime(2026, 12, 3, 11, 30, tzinfo=datetime.timezone.utc),
            "Tags": [
                {"Key": "nixl-efa:purchase-key", "Value": "demo"},
                {"Key": "nixl-efa:upfront-fee", "Value": "3020.54 USD"},
                {"Key": "nixl-efa:cluster", "Value": "demo-cluster"},
            ],
        }
    )
    elsewhere = cb.summarize_reservation({"CapacityReservationId": "cr-0fedcba9876543210", "State": "scheduled"})
    lines = reservation_table([reservation, elsewhere])
    assert lines[0].split()[-3:] == ["purchase", "key", "cluster"]
    assert lines[1].split() == [
        "cr-0123456789abcdef0", "active", "us-east-1a", "p5.48xlarge", "1/2", "2026-12-01", "11:30", "2026-12-03",
        "11:30", "3,020.54", "USD", "demo", "demo-cluster",
    ]  # fmt: skip
    # A block bought outside the collection: no purchase key, no cluster.
    assert lines[2].split()[0:2] == ["cr-0fedcba9876543210", "scheduled"] and lines[2].split()[-2:] == ["-", "-"]
    line = block_status_line(
        {"capacity_block_id": "cb-1", "state": "active", "interconnect_status": "ok", "total_capacity": 2,
         "total_available_capacity": 1, "capacity_reservation_ids": ["cr-0123456789abcdef0"]}
    )  # fmt: skip
    assert line == "block cb-1: active, interconnect ok, capacity available 1 of 2, reservations cr-0123456789abcdef0"


UTC = datetime.timezone.utc


def _reservation(**extra):
    raw = {
        "CapacityReservationId": "cr-0123456789abcdef0",
        "CapacityBlockId": "cb-0aaa",
        "CapacityReservationArn": "arn:aws:ec2:us-east-1:123456789012:capacity-reservation/cr-0123456789abcdef0",
        "InstanceType": "p5.48xlarge",
        "InstancePlatform": "Linux/UNIX",
        "AvailabilityZone": "us-east-1a",
        "Tenancy": "default",
        "InstanceMatchCriteria": "targeted",
        "EndDateType": "limited",
        "TotalInstanceCount": 2,
        "AvailableInstanceCount": 0,
        "State": "active",
        "StartDate": datetime.datetime(2026, 12, 1, 11, 30, tzinfo=UTC),
        "EndDate": datetime.datetime(2026, 12, 3, 11, 30, tzinfo=UTC),
        "Tags": [{"Key": "nixl-efa:cluster", "Value": "demo"}, {"Key": "nixl-efa:upfront-fee", "Value": "3020.54 USD"}],
    }
    return cb.summarize_reservation(dict(raw, **extra))


def test_details_show_what_the_old_script_showed_the_time_left_and_the_instances():
    now = datetime.datetime(2026, 12, 2, 9, 15, tzinfo=UTC)
    lines = reservation_details(_reservation(), [{"instance_id": "i-1"}, {"instance_id": "i-2"}], now=now)
    text = "\n".join(lines)
    assert lines[0] == "reservation cr-0123456789abcdef0 (active), block cb-0aaa"
    assert "arn: arn:aws:ec2:us-east-1:123456789012:capacity-reservation/cr-0123456789abcdef0" in text
    assert "platform: Linux/UNIX, tenancy: default, match criteria: targeted, end date type: limited" in text
    assert "from 2026-12-01 11:30 to 2026-12-03 11:30 UTC: ends in 1d 2h 15m (at 2026-12-03 11:30 UTC)" in text
    assert (
        "upfront fee: 3,020.54 USD" in text and "tags: nixl-efa:cluster=demo, nixl-efa:upfront-fee=3020.54 USD" in text
    )
    assert lines[-1] == "  instances running in it: i-1, i-2"


@pytest.mark.parametrize(("now", "said"), [
    (datetime.datetime(2026, 11, 30, 11, 0, tzinfo=UTC), "starts in 1d 0h 30m (at 2026-12-01 11:30 UTC)"),
    (datetime.datetime(2026, 12, 3, 11, 0, tzinfo=UTC), "ends in 30m (at 2026-12-03 11:30 UTC)"),
    (datetime.datetime(2026, 12, 5, 12, 30, tzinfo=UTC), "ended 2d 1h 0m ago (at 2026-12-03 11:30 UTC)"),
])  # fmt: skip
def test_time_left_before_during_and_after_the_block(now, said):
    assert time_left(_reservation(), now) == said
    assert reservation_details(_reservation(), now=now)[-1] == "  instances running in it: none"


def test_details_of_a_sparse_reservation_say_dash_not_none():
    sparse = cb.summarize_reservation({"CapacityReservationId": "cr-1"})
    lines = reservation_details(sparse, now=datetime.datetime(2026, 1, 1, tzinfo=UTC))
    assert not any("None" in line for line in lines), lines
    assert time_left({}, datetime.datetime(2026, 1, 1, tzinfo=UTC)) == "no end date"


def test_time_left_without_the_date():
    now = datetime.datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
    assert time_left(_reservation(), now, with_date=False) == "ends in 1d 15h 0m"


def test_block_end_line_says_when_and_what_ec2_does_then():
    reservation = _reservation(ReservationType="capacity-block")
    line = block_end_line(reservation, datetime.datetime(2026, 12, 1, 20, 30, tzinfo=UTC))
    assert line == (
        "Capacity block ends: 2026-12-03T11:30:00Z (ends in 1d 15h 0m; it ends on its own: EC2 terminates the nodes "
        "still running in it from 30 min before that, after an EventBridge warning 40 min before)"
    )
    assert block_end_line(reservation, "2026-12-03T11:00:00Z").startswith(
        "Capacity block ends: 2026-12-03T11:30:00Z (ends in 30m;"
    )
    assert "(starts in " in block_end_line(reservation, datetime.datetime(2026, 11, 30, tzinfo=UTC))
    assert block_end_line(reservation).startswith("Capacity block ends: 2026-12-03T11:30:00Z (")


@pytest.mark.parametrize(
    "reservation",
    [
        {},
        None,
        {"reservation_type": "default", "end_date": "2026-12-03T11:30:00Z"},
        {"reservation_type": "capacity-block"},
    ],
)
def test_no_end_line_for_on_demand_or_an_on_demand_capacity_reservation(reservation):
    assert block_end_line(reservation) == ""
