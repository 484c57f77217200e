# -*- coding: utf-8 -*-
"""The lab's EventBridge Scheduler (lab/lab_scheduler.py), in process with moto: what it corrects in moto's answers,
and when it runs a due one-time schedule's universal target (the execution role's trust and tag-scoped policy
evaluated), how it records the invocation, retries and honours ActionAfterCompletion.

The EC2 call the lab makes over its own HTTP endpoint is made here with an in-process client instead; the
integration test tests/integration/test_expiry.py runs it through a lab server.
"""

import datetime
import json
import pathlib
import sys

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

LAB = pathlib.Path(__file__).resolve().parents[3] / "lab"
if str(LAB) not in sys.path:
    sys.path.insert(0, str(LAB))

import lab_scheduler  # noqa: E402
import moto_lab  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP = "demo-expiry"
DUE = datetime.datetime(2030, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
TARGET = "arn:aws:scheduler:::aws-sdk:ec2:terminateInstances"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{GROUP}"}},
    }],
}  # fmt: skip
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/*",
        "Condition": {"StringEquals": {"aws:ResourceTag/nixl-efa:cluster": "demo"}},
    }],
}  # fmt: skip


@pytest.fixture
def lab(monkeypatch):
    """moto in process with the lab's stand-ins; the scheduler's records start empty."""
    moto_lab.install({})
    monkeypatch.setattr(lab_scheduler, "INVOCATIONS", [])
    monkeypatch.setattr(lab_scheduler, "_DONE", set())
    monkeypatch.setattr(lab_scheduler, "_ATTEMPTS", {})
    with mock_aws():
        kw = dict(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        clients = {name: boto3.client(name, **kw) for name in ("ec2", "iam", "scheduler")}
        monkeypatch.setattr(
            lab_scheduler, "_call", lambda url, region, op, request: getattr(clients["ec2"], op)(**request)
        )
        yield clients


def launch(ec2, cluster, count=1):
    image = ec2.describe_images()["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "nixl-efa:cluster", "Value": cluster}]}]
    answer = ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.micro",
                               TagSpecifications=tags)  # fmt: skip
    return [i["InstanceId"] for i in answer["Instances"]]


def role(iam, name="demo-expiry-role", trust=None, policy="default"):
    trust = TRUST if trust is None else trust
    policy = POLICY if policy == "default" else policy
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="terminate", PolicyDocument=json.dumps(policy))
    return arn


def schedule(scheduler, role_arn, ids, name="terminate-nodes", after="DELETE", retry=None, target=TARGET):
    if GROUP not in [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]:
        scheduler.create_schedule_group(Name=GROUP, Tags=[{"Key": "nixl-efa:cluster", "Value": "demo"}])
    spec = {"Arn": target, "RoleArn": role_arn, "Input": json.dumps({"InstanceIds": ids})}
    if retry:
        spec["RetryPolicy"] = retry
    scheduler.create_schedule(
        Name=name, GroupName=GROUP, ScheduleExpression="at(2030-01-01T00:00:00)", ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"}, ActionAfterCompletion=after, Target=spec,
    )  # fmt: skip


def states(ec2, ids):
    return {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
            for i in r["Instances"]}  # fmt: skip


def names(scheduler):
    return [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]


def test_a_due_schedule_terminates_the_cluster_nodes_and_is_deleted(lab):
    ids = launch(lab["ec2"], "demo", 2)
    schedule(lab["scheduler"], role(lab["iam"]), ids)
    assert lab_scheduler.fire(DUE - datetime.timedelta(seconds=1)) == []
    (made,) = lab_scheduler.fire(DUE + datetime.timedelta(seconds=30))
    assert made["outcome"] == "succeeded" and sorted(made["terminated"]) == sorted(ids)
    assert made["as_of"] == "2030-01-01T00:00:30Z" and made["target_arn"] == TARGET and made["attempt"] == 1
    assert json.loads(made["input"]) == {"InstanceIds": ids}
    assert set(states(lab["ec2"], ids).values()) == {"terminated"}
    assert made["after_completion"] == "deleted" and names(lab["scheduler"]) == []
    assert [made] == lab_scheduler.INVOCATIONS


def test_an_instance_of_another_cluster_fails_the_whole_invocation(lab):
    ours, theirs = launch(lab["ec2"], "demo", 2), launch(lab["ec2"], "other")
    schedule(lab["scheduler"], role(lab["iam"]), ours + theirs)
    (made,) = lab_scheduler.fire(DUE)
    assert made["outcome"] == "failed" and made["error_code"] == "UnauthorizedOperation"
    assert f"{theirs[0]} (not allowed)" in made["error"] and ours[0] not in made["error"]
    assert set(states(lab["ec2"], ours + theirs).values()) == {"running"}
    assert made["after_completion"] == "retry pending" and names(lab["scheduler"]) == ["terminate-nodes"]


@pytest.mark.parametrize(
    ("trust", "why"),
    [
        ({**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "lambda.amazonaws.com"}}]},
         "does not allow scheduler.amazonaws.com"),
        ({**TRUST, "Statement": [{**TRUST["Statement"][0],
                                  "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}]},
         "does not allow scheduler.amazonaws.com"),
        ({**TRUST, "Statement": [{**TRUST["Statement"][0], "Condition": {"ArnLike": {
            "aws:SourceArn": "arn:aws:scheduler:*:*:schedule-group/x"}}}]},
         "does not allow scheduler.amazonaws.com"),
        # A schedule's ARN never matches: EventBridge Scheduler gives the group's (its confused-deputy guidance).
        ({**TRUST, "Statement": [{**TRUST["Statement"][0], "Condition": {"ArnLike": {
            "aws:SourceArn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{GROUP}/*"}}}]},
         "does not allow scheduler.amazonaws.com"),
    ],
)  # fmt: skip
def test_a_role_the_scheduler_may_not_assume_fails_the_invocation(lab, trust, why):
    ids = launch(lab["ec2"], "demo")
    schedule(lab["scheduler"], role(lab["iam"], trust=trust), ids)
    (made,) = lab_scheduler.fire(DUE)
    assert made["outcome"] == "failed" and made["error_code"] == "AccessDenied" and why in made["error"]
    assert states(lab["ec2"], ids) == {ids[0]: "running"}


def test_a_missing_role_or_a_role_without_the_permission_fails(lab):
    ids = launch(lab["ec2"], "demo")
    schedule(lab["scheduler"], f"arn:aws:iam::{ACCOUNT}:role/gone", ids, name="no-role")
    schedule(lab["scheduler"], role(lab["iam"], policy=None), ids, name="no-permission")
    made = {m["name"]: m for m in lab_scheduler.fire(DUE)}
    assert "does not exist" in made["no-role"]["error"]
    assert made["no-permission"]["error_code"] == "UnauthorizedOperation"
    assert states(lab["ec2"], ids) == {ids[0]: "running"}


def test_an_explicit_deny_wins(lab):
    ids = launch(lab["ec2"], "demo")
    deny = {"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}
    schedule(lab["scheduler"], role(lab["iam"], policy={**POLICY, "Statement": POLICY["Statement"] + [deny]}), ids)
    (made,) = lab_scheduler.fire(DUE)
    assert made["error_code"] == "UnauthorizedOperation" and "(denied)" in made["error"]


def test_a_failure_is_retried_on_later_firings_until_the_retry_policy_is_spent(lab):
    ours, theirs = launch(lab["ec2"], "demo"), launch(lab["ec2"], "other")
    schedule(lab["scheduler"], role(lab["iam"]), ours + theirs,
             retry={"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 3600})  # fmt: skip
    first, second = lab_scheduler.fire(DUE)[0], lab_scheduler.fire(DUE + datetime.timedelta(minutes=1))[0]
    assert (first["attempt"], first["after_completion"]) == (1, "retry pending")
    assert (second["attempt"], second["after_completion"]) == (2, "deleted (retries spent)")
    assert lab_scheduler.fire(DUE + datetime.timedelta(minutes=2)) == [] and names(lab["scheduler"]) == []


def test_the_event_age_limit_spends_the_retries_too(lab):
    ours, theirs = launch(lab["ec2"], "demo"), launch(lab["ec2"], "other")
    schedule(lab["scheduler"], role(lab["iam"]), ours + theirs, after="NONE")
    (late,) = lab_scheduler.fire(DUE + datetime.timedelta(days=1, seconds=1))
    assert late["after_completion"] == "kept (retries spent)" and names(lab["scheduler"]) == ["terminate-nodes"]
    assert lab_scheduler.fire(DUE + datetime.timedelta(days=2)) == []


def test_a_kept_schedule_runs_once_until_it_is_updated(lab):
    ids = launch(lab["ec2"], "demo")
    arn = role(lab["iam"])
    schedule(lab["scheduler"], arn, ids, after="NONE")
    (made,) = lab_scheduler.fire(DUE)
    assert made["after_completion"] == "kept" and lab_scheduler.fire(DUE + datetime.timedelta(hours=1)) == []
    lab["scheduler"].update_schedule(
        Name="terminate-nodes", GroupName=GROUP, ScheduleExpression="at(2030-01-02T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": TARGET, "RoleArn": arn, "Input": json.dumps({"InstanceIds": ids})},
    )  # fmt: skip
    (again,) = lab_scheduler.fire(DUE + datetime.timedelta(days=1))
    assert again["outcome"] == "succeeded"


def test_only_enabled_one_time_schedules_run_and_only_the_terminate_target(lab):
    ids = launch(lab["ec2"], "demo")
    arn = role(lab["iam"])
    schedule(lab["scheduler"], arn, ids, name="other-target", target="arn:aws:scheduler:::aws-sdk:ec2:stopInstances")
    lab["scheduler"].create_schedule(
        Name="recurring", GroupName=GROUP, ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": TARGET, "RoleArn": arn, "Input": json.dumps({"InstanceIds": ids})},
    )  # fmt: skip
    lab["scheduler"].create_schedule(
        Name="disabled", GroupName=GROUP, ScheduleExpression="at(2029-01-01T00:00:00)", State="DISABLED",
        FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": TARGET, "RoleArn": arn, "Input": "{}"},
    )  # fmt: skip
    (made,) = lab_scheduler.fire(DUE)
    assert made["name"] == "other-target" and made["error_code"] == "LabUnsupportedTarget"
    assert states(lab["ec2"], ids) == {ids[0]: "running"}


def test_a_deadline_in_another_time_zone_is_read_in_that_zone(lab):
    ids = launch(lab["ec2"], "demo")
    arn = role(lab["iam"])
    lab["scheduler"].create_schedule_group(Name=GROUP)
    lab["scheduler"].create_schedule(
        Name="tokyo", GroupName=GROUP, ScheduleExpression="at(2030-01-01T09:00:00)",
        ScheduleExpressionTimezone="Asia/Tokyo", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": TARGET, "RoleArn": arn, "Input": json.dumps({"InstanceIds": ids})},
    )  # fmt: skip
    assert lab_scheduler.fire(DUE - datetime.timedelta(minutes=1)) == []
    assert lab_scheduler.fire(DUE)[0]["outcome"] == "succeeded"


def test_moto_answers_corrected_as_aws_answers(lab):
    scheduler = lab["scheduler"]
    scheduler.create_schedule_group(Name=GROUP, Tags=[{"Key": "nixl-efa:cluster", "Value": "demo"}])
    codes = []
    for call in (
        lambda: scheduler.create_schedule_group(Name=GROUP),
        lambda: scheduler.delete_schedule_group(Name="missing"),
        lambda: scheduler.delete_schedule_group(Name="default"),
        lambda: scheduler.create_schedule(Name="x", GroupName="missing", ScheduleExpression="at(2030-01-01T00:00:00)",
                                          FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": TARGET, "RoleArn": "r"}),
        lambda: scheduler.create_schedule(Name="x", GroupName=GROUP, ScheduleExpression="at(tomorrow)",
                                          FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": TARGET, "RoleArn": "r"}),
        lambda: scheduler.list_tags_for_resource(ResourceArn=f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/x"),
    ):  # fmt: skip
        with pytest.raises(ClientError) as refused:
            call()
        codes.append(refused.value.response["Error"]["Code"])
    assert codes == ["ConflictException", "ResourceNotFoundException", "ValidationException",
                     "ResourceNotFoundException", "ValidationException", "ResourceNotFoundException"]  # fmt: skip
    arn = scheduler.get_schedule_group(Name=GROUP)["Arn"]
    scheduler.delete_schedule_group(Name=GROUP)
    scheduler.create_schedule_group(Name=GROUP)
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [], "a deleted group's tags went with it"


def test_update_schedule_resets_what_it_leaves_out(lab):
    arn = role(lab["iam"])
    schedule(lab["scheduler"], arn, ["i-0123456789abcdef0"])
    lab["scheduler"].update_schedule(
        Name="terminate-nodes", GroupName=GROUP, ScheduleExpression="at(2030-01-02T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": TARGET, "RoleArn": arn, "Input": "{}"},
    )  # fmt: skip
    found = lab["scheduler"].get_schedule(Name="terminate-nodes", GroupName=GROUP)
    assert found["ActionAfterCompletion"] == "NONE" and found["State"] == "ENABLED"


def test_evaluate_reads_conditions_as_iam_does():
    allow = {"Statement": [{"Effect": "Allow", "Action": "EC2:terminate*", "Resource": "arn:aws:ec2:*:*:instance/*",
                            "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "ml"}}}]}  # fmt: skip
    resource = "arn:aws:ec2:us-east-1:1:instance/i-1"
    assert lab_scheduler.evaluate([allow], "ec2:TerminateInstances", resource, {}) == "allowed"
    assert lab_scheduler.evaluate([allow], "ec2:TerminateInstances", resource, {"aws:resourcetag/team": "x"}) == (
        "not allowed"
    )
    odd = {
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"a": "b"}}}]
    }
    assert lab_scheduler.evaluate([odd], "ec2:TerminateInstances", resource, {}) == "not allowed"
    odd_deny = {"Statement": [{**odd["Statement"][0], "Effect": "Deny"}]}
    assert lab_scheduler.evaluate([allow, odd_deny], "ec2:TerminateInstances", resource, {}) == "denied"


def test_the_fire_endpoint_takes_an_as_of_time_and_refuses_anything_else():
    class Request:
        method = "POST"
        host_url = "http://127.0.0.1:1/"

        def __init__(self, body):
            self.body = body

        def get_data(self):
            return self.body

    payload, status = lab_scheduler.fire_endpoint(Request(b'{"as_of": "soon"}'))
    assert status == 400 and "ISO 8601" in payload["error"]
    assert lab_scheduler.parse_time("2030-01-01T00:00:30Z") == DUE + datetime.timedelta(seconds=30)
    assert lab_scheduler.clock_seconds({}) == 30 and lab_scheduler.clock_seconds({"LAB_SCHEDULER_CLOCK": "0"}) == 0
    with pytest.raises(ValueError, match="LAB_SCHEDULER_CLOCK"):
        lab_scheduler.clock_seconds({"LAB_SCHEDULER_CLOCK": "-1"})
