# -*- coding: utf-8 -*-
"""A cluster that cannot be forgotten: cluster_expires_after_hours against the lab's local AWS.

playbooks/provision.yml with an expiry creates the cluster's schedule group (tagged), a one-time schedule whose
universal target terminates the nodes, and its execution role; a second run changes nothing; a run with more hours
extends the deadline; the lab, asked to run what is due as of just after the deadline, terminates the nodes
through the schedule and records the invocation; teardown.yml removes the group and the role. A group of another
cluster is refused and left alone, and bad hours stop the preflight naming cluster_expires_after_hours.

The lab runs on a port of its own with its scheduler clock off (LAB_SCHEDULER_CLOCK=0): schedules run only when
the test asks, as of the time it gives.
"""

import datetime
import json
import pathlib
import tempfile
import urllib.request

import boto3
import pytest

from .conftest import running_lab
from .role_plays import role_outputs
from .role_plays import role_play
from .role_plays import run_role_play

REGION = "us-east-1"
TAG = "nixl-efa:cluster"
CLUSTER = "expiry-lab"
GROUP = f"{CLUSTER}-expiry"
ROLE = f"{CLUSTER}-{REGION}-expiry"
TARGET = "arn:aws:scheduler:::aws-sdk:ec2:terminateInstances"


def lab_vars(cluster, **extra):
    """A lab cluster under another name (see test_provision.lab_vars): a lab run, plain HTTP. Two single-interface
    nodes in a public subnet, which provision fastest (no NAT gateway, no endpoints): the expiry does not depend on
    the network."""
    return {"cluster_name": cluster, "cluster_region": REGION, "cluster_local_aws": True, "cluster_require_tls": False,
            "cluster_instance_type": "g6e.8xlarge", "cluster_private": False, "cluster_nat_gateway": False,
            "cluster_public_ip": True, **extra}  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("expiry-lab"), LAB_SCHEDULER_CLOCK="0") as url:
        yield url


@pytest.fixture(scope="module")
def aws(lab):
    kw = dict(endpoint_url=lab, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return {name: boto3.client(name, **kw) for name in ("ec2", "iam", "scheduler")}


def lab_post(lab, path, payload):
    request = urllib.request.Request(f"{lab}{path}", data=json.dumps(payload).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 (loopback only)
        return json.loads(answer.read())


def invocations(lab):
    with urllib.request.urlopen(f"{lab}/lab/scheduler/invocations", timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read())["invocations"]


def run_role(lab, *applications, expect_rc=0):
    """The expiry role's entry points in one localhost play against the lab (role_plays); a RoleRun."""
    play = role_play("nixl_efa.cluster.expiry", REGION, lab, role_outputs("expiry_result"), *applications)
    with tempfile.TemporaryDirectory() as tmp:
        return run_role_play(pathlib.Path(tmp), play, expect_rc=expect_rc)


def deadline_of(schedule):
    text = schedule["ScheduleExpression"][len("at(") : -1]
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def story(lab, aws, ansible_playbook, tmp_path_factory):
    """provision (24 h) twice, the role with 26 h, the lab firing as of the deadline, teardown; what each left."""
    found = {}
    outputs = tmp_path_factory.mktemp("expiry") / "outputs.json"
    extra = lab_vars(CLUSTER, cluster_expires_after_hours=24, provision_outputs_file=str(outputs))
    before = datetime.datetime.now(datetime.timezone.utc)
    found["first"] = ansible_playbook("playbooks/provision.yml", lab, extra)
    after = datetime.datetime.now(datetime.timezone.utc)
    found["window"] = (before, after)
    found["outputs"] = json.loads(outputs.read_text())
    found["schedule"] = aws["scheduler"].get_schedule(GroupName=GROUP, Name="terminate-nodes")
    found["group_tags"] = aws["scheduler"].list_tags_for_resource(
        ResourceArn=aws["scheduler"].get_schedule_group(Name=GROUP)["Arn"]
    )["Tags"]
    found["role"] = aws["iam"].get_role(RoleName=ROLE)["Role"]
    found["role_policies"] = {
        name: aws["iam"].get_role_policy(RoleName=ROLE, PolicyName=name)["PolicyDocument"]
        for name in aws["iam"].list_role_policies(RoleName=ROLE)["PolicyNames"]
    }
    found["second"] = ansible_playbook("playbooks/provision.yml", lab, extra)
    nodes = [n["instance_id"] for n in found["outputs"]["nodes"]]
    settings = {
        "expiry_cluster_name": CLUSTER,
        "expiry_region": REGION,
        "expiry_hours": 26,
        "expiry_instance_ids": nodes,
    }
    found["extended"] = run_role(lab, ("main", settings))
    found["schedule_extended"] = aws["scheduler"].get_schedule(GroupName=GROUP, Name="terminate-nodes")
    due = deadline_of(found["schedule_extended"])
    found["early"] = lab_post(lab, "/lab/scheduler/fire", {"as_of": (due - datetime.timedelta(minutes=1)).isoformat()})
    found["fired"] = lab_post(lab, "/lab/scheduler/fire", {"as_of": (due + datetime.timedelta(seconds=30)).isoformat()})
    found["node_states"] = {
        i["InstanceId"]: i["State"]["Name"]
        for r in aws["ec2"].describe_instances(InstanceIds=nodes)["Reservations"]
        for i in r["Instances"]
    }
    found["schedules_after_fire"] = [s["Name"] for s in aws["scheduler"].list_schedules(GroupName=GROUP)["Schedules"]]
    found["teardown"] = ansible_playbook("playbooks/teardown.yml", lab, lab_vars(CLUSTER))
    found["groups_after_teardown"] = [g["Name"] for g in aws["scheduler"].list_schedule_groups()["ScheduleGroups"]]
    found["roles_after_teardown"] = [r["RoleName"] for r in aws["iam"].list_roles()["Roles"]]
    found["absent_again"] = run_role(lab, ("absent", {"expiry_cluster_name": CLUSTER, "expiry_region": REGION}))
    return found


def test_provision_creates_a_one_time_schedule_that_terminates_the_nodes(story):
    schedule = story["schedule"]
    before, after = story["window"]
    due = deadline_of(schedule)
    assert before + datetime.timedelta(hours=24) <= due <= after + datetime.timedelta(hours=24, minutes=1)
    assert due.second == 0
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == TARGET
    assert schedule["Target"]["RoleArn"] == story["role"]["Arn"]
    nodes = sorted(n["instance_id"] for n in story["outputs"]["nodes"])
    assert len(nodes) == 2 and json.loads(schedule["Target"]["Input"]) == {"InstanceIds": nodes}


def test_the_group_carries_the_cluster_tag_and_the_role_is_scoped(story):
    assert {"Key": TAG, "Value": CLUSTER} in story["group_tags"]
    assert {"Key": TAG, "Value": CLUSTER} in story["role"]["Tags"]
    trust = story["role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert (
        statement["Condition"]["ArnLike"]["aws:SourceArn"]
        == f"arn:aws:scheduler:{REGION}:123456789012:schedule-group/{GROUP}"
    )
    (policy,) = story["role_policies"].values()
    (allow,) = policy["Statement"]
    assert allow["Action"] == "ec2:TerminateInstances"
    assert allow["Resource"] == f"arn:aws:ec2:{REGION}:123456789012:instance/*"
    assert allow["Condition"] == {"StringEquals": {f"aws:ResourceTag/{TAG}": CLUSTER}}


def test_summary_and_outputs_say_when_the_cluster_expires(story):
    outputs = story["outputs"]
    assert outputs["expiry_schedule"] == f"{GROUP}/terminate-nodes"
    due = deadline_of(story["schedule"])
    assert outputs["expires_at"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"Expires: {due.strftime('%Y-%m-%d %H:%M:%S')} UTC (in 2"
    assert line in story["first"].stdout, story["first"].stdout[-3000:]
    assert f"schedule {GROUP}/terminate-nodes" in story["first"].stdout


def test_a_second_provision_right_away_changes_nothing(story):
    assert story["second"].recap["changed"] == 0, story["second"].changed_tasks()


def test_more_hours_extend_the_deadline(story):
    run = story["extended"]
    assert run.returncode == 0, run.failures
    assert run.outputs["expiry_result"]["decision"] == "extended"
    assert deadline_of(story["schedule_extended"]) - deadline_of(story["schedule"]) >= datetime.timedelta(hours=2)


def test_the_lab_runs_the_schedule_at_its_deadline_and_records_it(story):
    assert story["early"]["invocations"] == []
    (made,) = story["fired"]["invocations"]
    assert made["outcome"] == "succeeded", made
    assert made["schedule_arn"].endswith(f":schedule/{GROUP}/terminate-nodes")
    assert made["target_arn"] == TARGET and made["role_arn"] == story["role"]["Arn"]
    assert sorted(made["terminated"]) == sorted(story["node_states"])
    assert set(story["node_states"].values()) == {"terminated"}
    assert made["after_completion"] == "deleted" and story["schedules_after_fire"] == []


def test_teardown_removes_the_group_and_the_role_and_again_changes_nothing(story):
    assert GROUP not in story["groups_after_teardown"]
    assert ROLE not in story["roles_after_teardown"]
    again = story["absent_again"]
    assert again.returncode == 0 and again.changed == 0, again.changed_tasks


FOREIGN = "expiry-theirs"


def test_a_group_of_another_cluster_is_refused_and_left_alone(lab, aws):
    group = f"{FOREIGN}-expiry"
    aws["scheduler"].create_schedule_group(Name=group, Tags=[{"Key": TAG, "Value": "someone-else"}])
    settings = {"expiry_cluster_name": FOREIGN, "expiry_region": REGION, "expiry_hours": 2,
                "expiry_instance_ids": ["i-0123456789abcdef0"]}  # fmt: skip
    refused = run_role(lab, ("main", settings), expect_rc=2)
    (message,) = refused.failures
    assert f"Schedule group {group} exists and is tagged {TAG}=someone-else" in message
    assert "Nothing was changed" in message
    names = [r["RoleName"] for r in aws["iam"].list_roles()["Roles"]]
    assert f"{FOREIGN}-{REGION}-expiry" not in names, "the role was created before the group was checked"
    removed = run_role(lab, ("absent", {"expiry_cluster_name": FOREIGN, "expiry_region": REGION}))
    assert removed.returncode == 0 and removed.changed == 0
    assert aws["scheduler"].get_schedule_group(Name=group)["State"] == "ACTIVE"


@pytest.mark.parametrize("hours", [0.1, "tomorrow"])
def test_bad_hours_stop_the_preflight_naming_the_setting(lab, aws, ansible_playbook, hours):
    cluster = "expiry-bad"
    run = ansible_playbook("playbooks/provision.yml", lab, lab_vars(cluster, cluster_expires_after_hours=hours),
                           expect_rc=2)  # fmt: skip
    assert (
        "cluster_expires_after_hours must be a number of hours from 0.25 to 8760 (0 or unset: no expiry)" in run.stdout
    )
    assert "Nothing was created" in run.stdout
    assert aws["ec2"].describe_vpcs(Filters=[{"Name": f"tag:{TAG}", "Values": [cluster]}])["Vpcs"] == []
