# -*- coding: utf-8 -*-
"""The expiry schedule's rules (module_utils/expiry_schedule.py): deadline, bounds, extension, input, comparison."""

import datetime
import json

import pytest

from ansible_collections.nixl_efa.cluster.plugins.module_utils import expiry_schedule as es

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 7, 19, 39, 12, 500, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/demo-us-east-1-expiry"
IDS = ["i-0123456789abcdef1", "i-0123456789abcdef0"]


def schedule(expression, ids=None, **overrides):
    """A schedule as GetSchedule answers it, written by this collection."""
    found = {
        "Arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/demo-expiry/terminate-nodes",
        "GroupName": "demo-expiry",
        "Name": "terminate-nodes",
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": "d",
        "Target": {
            "Arn": "arn:aws:scheduler:::aws-sdk:ec2:terminateInstances",
            "RoleArn": ROLE,
            "Input": json.dumps({"InstanceIds": IDS if ids is None else ids}),
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
        },
    }
    found.update(overrides)
    return found


def plan(current, now=NOW, **kwargs):
    kwargs.setdefault("hours", 24)
    kwargs.setdefault("role_arn", ROLE)
    kwargs.setdefault("instance_ids", IDS)
    return es.plan(current, now, group="demo-expiry", description="d", **kwargs)


@pytest.mark.parametrize("hours", [0.25, 1, 24, "36", 8760, 1.5])
def test_hours_within_the_bounds_are_taken(hours):
    assert es.hours_problem(hours) is None


@pytest.mark.parametrize("hours", [0, 0.2, -3, 8761, "soon", None, True, float("nan"), [24]])
def test_hours_outside_the_bounds_are_refused_naming_the_setting(hours):
    problem = es.hours_problem(hours, "cluster_expires_after_hours")
    assert problem == "cluster_expires_after_hours must be a number of hours from 0.25 to 8760"


@pytest.mark.parametrize(("minutes", "ok"), [(1, True), ("60", True), (10080, True), (0, False), (10081, False),
                                             ("x", False), (True, False), (1.5, False)])  # fmt: skip
def test_the_extension_window_is_a_whole_number_of_minutes(minutes, ok):
    assert (es.extend_min_problem(minutes) is None) is ok


def test_instance_ids_must_be_ec2_ids():
    assert es.instance_ids_problem(IDS) is None
    assert "at least one" in es.instance_ids_problem([])
    assert "not: node-1" in es.instance_ids_problem(["i-0123456789abcdef0", "node-1"])
    assert "at most 1000" in es.instance_ids_problem([f"i-{n:017x}" for n in range(1001)])


def test_the_deadline_is_rounded_up_to_the_next_whole_minute_in_utc():
    assert es.deadline_for(NOW, 24) == datetime.datetime(2026, 12, 8, 19, 40, tzinfo=UTC)
    exact = datetime.datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
    assert es.deadline_for(exact, 0.5) == datetime.datetime(2026, 12, 7, 19, 30, tzinfo=UTC)
    tokyo = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    assert es.deadline_for(tokyo, 24) == es.deadline_for(NOW, 24)
    with pytest.raises(es.ExpiryError):
        es.deadline_for(NOW.replace(tzinfo=None), 1)


def test_at_expressions_round_trip_and_only_utc_ones_are_read():
    deadline = es.deadline_for(NOW, 24)
    assert es.at_expression(deadline) == "at(2026-12-08T19:40:00)"
    assert es.parse_at("at(2026-12-08T19:40:00)") == deadline
    assert es.parse_at("at(2026-12-08T19:40:00)", "Etc/UTC") == deadline
    assert es.parse_at("at(2026-12-08T19:40:00)", "Asia/Tokyo") is None
    assert es.parse_at("rate(5 minutes)") is None
    assert es.parse_at("at(2026-13-08T19:40:00)") is None
    assert es.parse_at(None) is None


def test_the_input_is_terminate_instances_request_sorted_and_unique():
    text = es.target_input(IDS + IDS[:1])
    assert text == '{"InstanceIds":["i-0123456789abcdef0","i-0123456789abcdef1"]}'
    assert es.input_instance_ids(text) == sorted(IDS)
    assert es.input_instance_ids('{"InstanceIds": ["i-1"], "DryRun": true}') is None
    assert es.input_instance_ids("not json") is None
    assert es.target_arn() == "arn:aws:scheduler:::aws-sdk:ec2:terminateInstances"
    assert es.target_arn("aws-cn") == "arn:aws-cn:scheduler:::aws-sdk:ec2:terminateInstances"


def test_a_new_schedule_is_created_with_every_field():
    decided = plan(None)
    assert decided["action"] == "create" and decided["decision"] == "created"
    request = decided["request"]
    assert request["ScheduleExpression"] == "at(2026-12-08T19:40:00)"
    assert request["ScheduleExpressionTimezone"] == "UTC"
    assert request["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert request["ActionAfterCompletion"] == "DELETE"
    assert request["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:ec2:terminateInstances"
    assert json.loads(request["Target"]["Input"]) == {"InstanceIds": sorted(IDS)}
    assert request["GroupName"] == "demo-expiry" and request["Name"] == "terminate-nodes"


def test_a_second_run_right_away_changes_nothing():
    first = plan(None)["request"]
    again = plan(schedule(first["ScheduleExpression"]), now=NOW + datetime.timedelta(seconds=40))
    assert again["action"] == "none" and again["decision"] == "kept" and again["differences"] == []


def test_a_rerun_within_the_window_keeps_the_deadline():
    current = schedule("at(2026-12-08T19:40:00)")
    later = plan(current, now=NOW + datetime.timedelta(minutes=59))
    assert later["action"] == "none" and later["deadline"] == datetime.datetime(2026, 12, 8, 19, 40, tzinfo=UTC)


def test_a_rerun_past_the_window_extends_the_deadline():
    current = schedule("at(2026-12-08T19:40:00)")
    later = plan(current, now=NOW + datetime.timedelta(minutes=61))
    assert later["action"] == "update" and later["decision"] == "extended"
    assert later["differences"] == ["ScheduleExpression"]
    assert later["request"]["ScheduleExpression"] == "at(2026-12-08T20:41:00)"


def test_the_window_is_a_setting():
    current = schedule("at(2026-12-08T19:40:00)")
    assert plan(current, now=NOW + datetime.timedelta(minutes=20), extend_min_minutes=15)["decision"] == "extended"


def test_lowered_hours_bring_the_deadline_forward():
    current = schedule("at(2026-12-08T19:40:00)")
    sooner = plan(current, hours=2)
    assert sooner["decision"] == "brought_forward"
    assert sooner["request"]["ScheduleExpression"] == "at(2026-12-07T21:40:00)"


def test_replaced_nodes_update_the_input_and_keep_the_deadline():
    current = schedule("at(2026-12-08T19:40:00)")
    replaced = plan(current, instance_ids=["i-0123456789abcdef0", "i-0fedcba9876543210"])
    assert replaced["action"] == "update" and replaced["decision"] == "input_updated"
    assert replaced["differences"] == ["Target.Input"]
    assert replaced["request"]["ScheduleExpression"] == "at(2026-12-08T19:40:00)"


def test_without_hours_an_existing_schedule_is_kept_and_follows_the_nodes():
    current = schedule("at(2026-12-08T19:40:00)")
    kept = plan(current, hours=None, role_arn=None, instance_ids=None)
    assert kept["action"] == "none" and kept["decision"] == "kept"
    moved = plan(current, hours=None, role_arn=None, instance_ids=["i-0fedcba9876543210"])
    assert moved["decision"] == "input_updated" and moved["request"]["Target"]["RoleArn"] == ROLE
    assert plan(None, hours=None, role_arn=None)["decision"] == "no_expiry"


def test_fields_changed_by_hand_are_restored_and_a_dead_letter_queue_kept():
    dlq = {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}
    current = schedule("at(2026-12-08T19:40:00)", State="DISABLED", EndDate=NOW, KmsKeyArn="arn:aws:kms:k")
    current["Target"]["DeadLetterConfig"] = dlq
    restored = plan(current)
    assert restored["decision"] == "updated"
    assert set(restored["differences"]) == {"State", "StartDate/EndDate"}
    assert restored["request"]["Target"]["DeadLetterConfig"] == dlq
    assert restored["request"]["KmsKeyArn"] == "arn:aws:kms:k"
    assert "EndDate" not in restored["request"]


def test_a_schedule_that_is_not_one_time_in_utc_is_replaced():
    replaced = plan(schedule("rate(1 day)"))
    assert replaced["action"] == "update" and replaced["decision"] == "replaced"


def test_remaining_time_reads_in_whole_minutes():
    deadline = es.deadline_for(NOW, 24)
    assert es.remaining_text(deadline, NOW) == "in 24 h 0 min"
    assert es.remaining_text(deadline, NOW + datetime.timedelta(minutes=1)) == "in 23 h 59 min"
    assert es.remaining_text(deadline, deadline - datetime.timedelta(seconds=100)) == "in 1 min"
    assert es.remaining_text(deadline, deadline + datetime.timedelta(minutes=3)) == "passed 3 min ago"


def test_summary_of_a_schedule():
    found = es.summarize(schedule("at(2026-12-08T19:40:00)"), NOW)
    assert found["expires_at"] == "2026-12-08T19:40:00Z"
    assert found["remaining"] == "in 24 h 0 min" and found["remaining_minutes"] == 1440
    assert found["instance_ids"] == sorted(IDS) and found["group"] == "demo-expiry"
    assert es.summarize({}, NOW) == {}
