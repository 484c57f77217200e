# -*- coding: utf-8 -*-
"""nixl_efa.cluster.expiry_schedule through botocore's Stubber: every EventBridge Scheduler request is checked
against botocore's model; the clock is fixed."""

import datetime
import json

import pytest

from ansible_collections.nixl_efa.cluster.plugins.modules import expiry_schedule as module

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 7, 19, 39, 12, tzinfo=UTC)
GROUP = "demo-expiry"
GROUP_ARN = f"arn:aws:scheduler:us-east-1:123456789012:schedule-group/{GROUP}"
SCHEDULE_ARN = f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/terminate-nodes"
ROLE = "arn:aws:iam::123456789012:role/demo-us-east-1-expiry"
IDS = ["i-0123456789abcdef0", "i-0123456789abcdef1"]
TARGET = "arn:aws:scheduler:::aws-sdk:ec2:terminateInstances"
ARGS = {"group": GROUP, "cluster": "demo", "hours": 24, "instance_ids": IDS, "role_arn": ROLE}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(module, "now", lambda: NOW)


def expect_group(scheduler, state="ACTIVE", tags=None):
    if state is None:
        scheduler.stub.add_client_error("get_schedule_group", "ResourceNotFoundException", "no", 404, {"Name": GROUP})
        return
    scheduler.stub.add_response(
        "get_schedule_group",
        {"Arn": GROUP_ARN, "Name": GROUP, "State": state, "CreationDate": NOW, "LastModificationDate": NOW},
        {"Name": GROUP},
    )
    tags = {"nixl-efa:cluster": "demo"} if tags is None else tags
    scheduler.stub.add_response(
        "list_tags_for_resource",
        {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"ResourceArn": GROUP_ARN},
    )


def stored(expression, ids=None, **overrides):
    found = {
        "Arn": SCHEDULE_ARN,
        "GroupName": GROUP,
        "Name": "terminate-nodes",
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": "nixl_efa.cluster: terminate the nodes of cluster demo",
        "Target": {
            "Arn": TARGET,
            "RoleArn": ROLE,
            "Input": json.dumps({"InstanceIds": IDS if ids is None else ids}),
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
        },
        "CreationDate": NOW,
        "LastModificationDate": NOW,
    }
    found.update(overrides)
    return found


def expect_schedule(scheduler, found):
    params = {"GroupName": GROUP, "Name": "terminate-nodes"}
    if found is None:
        scheduler.stub.add_client_error("get_schedule", "ResourceNotFoundException", "no", 404, params)
    else:
        scheduler.stub.add_response("get_schedule", found, params)


def wanted_request(expression, ids=None):
    return {
        "GroupName": GROUP,
        "Name": "terminate-nodes",
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": "nixl_efa.cluster: terminate the nodes of cluster demo",
        "Target": {
            "Arn": TARGET,
            "RoleArn": ROLE,
            "Input": json.dumps({"InstanceIds": sorted(IDS if ids is None else ids)}, separators=(",", ":")),
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
        },
    }


def test_first_run_creates_the_tagged_group_and_the_one_time_schedule(scheduler, run_module):
    expect_group(scheduler, None)
    scheduler.stub.add_response(
        "create_schedule_group",
        {"ScheduleGroupArn": GROUP_ARN},
        {"Name": GROUP, "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "nixl-efa:cluster", "Value": "demo"}]},
    )  # fmt: skip
    scheduler.stub.add_response(
        "create_schedule", {"ScheduleArn": SCHEDULE_ARN}, wanted_request("at(2026-12-08T19:40:00)")
    )
    result = run_module(module, dict(ARGS, tags={"team": "ml"}))
    assert result["changed"] and result["decision"] == "created"
    assert result["schedule"]["expires_at"] == "2026-12-08T19:40:00Z"
    assert result["schedule"]["remaining"] == "in 24 h 0 min"
    assert result["schedule"]["arn"] == SCHEDULE_ARN and result["schedule"]["instance_ids"] == IDS
    assert result["schedule_group"]["tags"] == {"team": "ml", "nixl-efa:cluster": "demo"}
    assert result["diff"]["before"] == {} and result["diff"]["after"]["expression"] == "at(2026-12-08T19:40:00)"


def test_second_run_right_away_reads_and_changes_nothing(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, stored("at(2026-12-08T19:40:00)"))
    result = run_module(module, ARGS)
    assert result["changed"] is False and result["decision"] == "kept"
    assert scheduler.calls() == ["GetScheduleGroup", "ListTagsForResource", "GetSchedule"]


def test_a_rerun_an_hour_later_extends_the_deadline(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, stored("at(2026-12-08T18:30:00)"))
    scheduler.stub.add_response(
        "update_schedule", {"ScheduleArn": SCHEDULE_ARN}, wanted_request("at(2026-12-08T19:40:00)")
    )
    result = run_module(module, ARGS)
    assert result["changed"] and result["decision"] == "extended"
    assert result["diff"]["before"]["expression"] == "at(2026-12-08T18:30:00)"
    assert result["diff"]["after"]["expression"] == "at(2026-12-08T19:40:00)"


def test_replaced_nodes_rewrite_the_input_and_keep_the_deadline(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, stored("at(2026-12-08T19:10:00)", ids=["i-0aaaaaaaaaaaaaaaa"]))
    scheduler.stub.add_response(
        "update_schedule", {"ScheduleArn": SCHEDULE_ARN}, wanted_request("at(2026-12-08T19:10:00)")
    )
    result = run_module(module, ARGS)
    assert result["changed"] and result["decision"] == "input_updated"
    assert result["differences"] == ["Target.Input"]


def test_check_mode_says_what_would_change_and_writes_nothing(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, stored("at(2026-12-08T10:00:00)"))
    result = run_module(module, ARGS, check_mode=True)
    assert result["changed"] and result["decision"] == "extended"
    assert "UpdateSchedule" not in scheduler.calls()
    expect_group(scheduler, None)
    fresh = run_module(module, ARGS, check_mode=True)
    assert fresh["changed"] and fresh["decision"] == "created"
    assert fresh["schedule"]["expires_at"] == "2026-12-08T19:40:00Z"
    assert not [c for c in scheduler.calls() if c.startswith("Create")]


def test_a_group_of_another_cluster_is_refused_and_left_alone(scheduler, run_module):
    expect_group(scheduler, tags={"nixl-efa:cluster": "other"})
    result = run_module(module, ARGS)
    assert result["failed"]
    assert f"Schedule group {GROUP} exists and is tagged nixl-efa:cluster=other" in result["msg"]
    assert "Nothing was changed" in result["msg"]
    assert scheduler.calls() == ["GetScheduleGroup", "ListTagsForResource"]
    expect_group(scheduler, tags={})
    untagged = run_module(module, dict(ARGS, state="absent"))
    assert untagged["changed"] is False and untagged["decision"] == "left_alone"
    assert "has no nixl-efa:cluster tag" in untagged["warnings"][0]
    assert "DeleteScheduleGroup" not in scheduler.calls()


def test_without_hours_nothing_is_created_and_an_existing_expiry_is_kept(scheduler, run_module):
    expect_group(scheduler, None)
    nothing = run_module(module, {"group": GROUP, "cluster": "demo", "instance_ids": IDS})
    assert nothing["changed"] is False and nothing["decision"] == "no_expiry" and nothing["schedule"] == {}
    assert scheduler.calls() == ["GetScheduleGroup"]
    expect_group(scheduler)
    expect_schedule(scheduler, stored("at(2026-12-08T19:10:00)"))
    kept = run_module(module, {"group": GROUP, "cluster": "demo", "instance_ids": IDS})
    assert kept["changed"] is False and kept["schedule"]["expires_at"] == "2026-12-08T19:10:00Z"


def test_a_group_being_deleted_is_waited_for_before_it_is_created_again(scheduler, run_module):
    expect_group(scheduler, state="DELETING")
    scheduler.stub.add_response(
        "get_schedule_group",
        {"Arn": GROUP_ARN, "Name": GROUP, "State": "DELETING", "CreationDate": NOW, "LastModificationDate": NOW},
        {"Name": GROUP},
    )
    scheduler.stub.add_client_error("get_schedule_group", "ResourceNotFoundException", "gone", 404, {"Name": GROUP})
    scheduler.stub.add_response("create_schedule_group", {"ScheduleGroupArn": GROUP_ARN})
    scheduler.stub.add_response("create_schedule", {"ScheduleArn": SCHEDULE_ARN})
    result = run_module(module, ARGS)
    assert result["changed"] and result["decision"] == "created"
    assert scheduler.calls().count("GetScheduleGroup") == 3 and "GetSchedule" not in scheduler.calls()


def test_a_role_not_yet_assumable_is_tried_again(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, None)
    message = "The execution role you provide must allow AWS EventBridge Scheduler to assume the role."
    scheduler.stub.add_client_error("create_schedule", "ValidationException", message, 400)
    scheduler.stub.add_response("create_schedule", {"ScheduleArn": SCHEDULE_ARN})
    result = run_module(module, ARGS)
    assert result["changed"] and scheduler.calls().count("CreateSchedule") == 2
    assert len(scheduler.sleeps) == 1


def test_other_validation_errors_are_not_tried_again(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, None)
    scheduler.stub.add_client_error("create_schedule", "ValidationException", "Invalid Schedule Expression", 400)
    result = run_module(module, ARGS)
    assert result["failed"] and "Failed to create schedule" in result["msg"]
    assert scheduler.calls().count("CreateSchedule") == 1


def test_throttling_is_backed_off(scheduler, run_module):
    scheduler.throttle("get_schedule_group", times=2)
    expect_group(scheduler)
    expect_schedule(scheduler, stored("at(2026-12-08T19:40:00)"))
    result = run_module(module, ARGS)
    assert result["changed"] is False and len(scheduler.sleeps) == 2


def test_absent_deletes_the_schedule_then_the_group_and_again_changes_nothing(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, stored("at(2026-12-08T19:40:00)"))
    scheduler.stub.add_response("delete_schedule", {}, {"GroupName": GROUP, "Name": "terminate-nodes"})
    scheduler.stub.add_response("delete_schedule_group", {}, {"Name": GROUP})
    result = run_module(module, {"group": GROUP, "cluster": "demo", "state": "absent"})
    assert result["changed"] and result["decision"] == "deleted"
    assert scheduler.calls()[-2:] == ["DeleteSchedule", "DeleteScheduleGroup"]
    expect_group(scheduler, None)
    again = run_module(module, {"group": GROUP, "cluster": "demo", "state": "absent"})
    assert again["changed"] is False and again["decision"] == "absent"


def test_absent_after_the_schedule_ran_deletes_the_group_alone(scheduler, run_module):
    expect_group(scheduler)
    expect_schedule(scheduler, None)
    scheduler.stub.add_response("delete_schedule_group", {}, {"Name": GROUP})
    result = run_module(module, {"group": GROUP, "cluster": "demo", "state": "absent"}, check_mode=False)
    assert result["changed"] and "DeleteSchedule" not in scheduler.calls()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(ARGS, hours=0), "hours must be a number of hours from 0.25 to 8760"),
        (dict(ARGS, hours=9000), "hours must be a number of hours from 0.25 to 8760"),
        (dict(ARGS, instance_ids=[]), "instance_ids must list the nodes to terminate"),
        (dict(ARGS, role_arn=None), "role_arn is required with hours"),
        (dict(ARGS, extend_min_minutes=0), "extend_min_minutes must be a whole number of minutes from 1 to 10080"),
        (dict(ARGS, group="default"), "not the account's shared 'default' group"),
        (dict(ARGS, group="demo/expiry"), "group must be 1 to 64 letters"),
    ],
)
def test_bad_input_is_refused_before_any_call(scheduler, run_module, args, message):
    result = run_module(module, args)
    assert result["failed"] and message in result["msg"]
    assert scheduler.calls() == []
