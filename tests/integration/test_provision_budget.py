# -*- coding: utf-8 -*-
"""The converged provision's budget: a re-run of playbooks/provision.yml that changes nothing takes the fast path
(one read task, the roles skipped) and makes at most CONVERGED_BUDGET AWS API calls, every one of them a read;
a change made outside Ansible sends the next run down the full path, which repairs it.

The lab counts every call it answers (GET /lab/calls, POST to start again from zero), the aws_ec2
inventory's own DescribeInstances included. Counts are deterministic (the times are not, and are not
tested): the run is `ansible-playbook -i inventories/lab playbooks/provision.yml` as shipped (a capacity
block bought within the fee ceiling, a private subnet with its endpoints and NAT gateway, two nodes), on
a lab of its own so that no other test's calls or resources mix in. docs/PERFORMANCE.md section 1 has
the measurements by action.
"""

import json
import re
import urllib.request

import boto3
import pytest

from .conftest import running_lab

# Each input validated once, each reservation, type and network resource read once, no write module run for
# what a read already shows converged: 38 calls in the lab through the roles, 30 through the fast path (the
# inventory's one and provision_state_info's 29).
CONVERGED_BUDGET = 40
# The fast path's tasks: the guard, the fingerprint, the read, the results taken, the path said, the summary (6);
# and the expiry role's, which runs on every run so that a converged re-run still extends a deadline (with no
# hours set, as shipped: its include, argument check, input check, one read of the schedule group, its result).
FAST_PATH_TASKS_OK = 6 + 5
READ = re.compile(r"^[a-z0-9-]+:(Describe|Get|List|Head)|^s3:(GET|HEAD)$")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("budget-lab")) as url:
        yield url


def lab_calls(lab, reset=False):
    request = urllib.request.Request(f"{lab}/lab/calls", method="POST" if reset else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def bucket_name(lab):
    names = [b["Name"] for b in aws_client(lab, "s3").list_buckets()["Buckets"] if "nixl-efa-lab" in b["Name"]]
    assert len(names) == 1, names
    return names[0]


def aws_client(lab, service):
    return boto3.client(
        service, endpoint_url=lab, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture(scope="module")
def runs(lab, ansible_playbook):
    """The lab inventory's provision, its converged re-run and check-mode run, then a run after the bucket's public
    access block was deleted outside Ansible, and one more; each with its calls."""
    found = {}

    def provision(name, check=False):
        lab_calls(lab, reset=True)
        found[name] = ansible_playbook("playbooks/provision.yml", lab, {}, check=check, inventory="lab")
        found[f"{name}_calls"] = lab_calls(lab)

    provision("first")
    provision("rerun")
    provision("check", check=True)
    aws_client(lab, "s3").delete_public_access_block(Bucket=bucket_name(lab))
    provision("drifted")
    found["block_after_repair"] = aws_client(lab, "s3").get_public_access_block(Bucket=bucket_name(lab))[
        "PublicAccessBlockConfiguration"
    ]
    provision("after_repair")
    return found


def test_first_run_creates_the_cluster(runs):
    assert runs["first"].recap["changed"] > 0
    assert runs["first_calls"]["by_action"].get("ec2:RunInstances") == 1


def test_converged_rerun_changes_nothing_within_the_budget(runs):
    calls = runs["rerun_calls"]
    assert runs["rerun"].recap["changed"] == 0, runs["rerun"].changed_tasks()
    by_count = dict(sorted(calls["by_action"].items(), key=lambda kv: -kv[1]))
    assert calls["total"] <= CONVERGED_BUDGET, f"{calls['total']} API calls, budget {CONVERGED_BUDGET}: {by_count}"


def test_converged_rerun_only_reads(runs):
    writes = {action: n for action, n in runs["rerun_calls"]["by_action"].items() if not READ.match(action)}
    assert writes == {}


def test_converged_check_mode_run_changes_nothing_and_only_reads(runs):
    assert runs["check"].recap["changed"] == 0, runs["check"].changed_tasks()
    writes = {action: n for action, n in runs["check_calls"]["by_action"].items() if not READ.match(action)}
    assert writes == {}


def test_converged_rerun_takes_the_fast_path(runs):
    for name in ("rerun", "check", "after_repair"):
        run = runs[name]
        assert "Fast path: the cluster reads as the last converged run left it" in run.stdout, name
        assert run.recap["ok"] <= FAST_PATH_TASKS_OK, (name, run.recap)
        assert "Cluster nixl-efa-lab in" in run.stdout  # the summary, from the results kept
    assert "Full path: nothing kept yet" in runs["first"].stdout


def test_a_change_outside_ansible_takes_the_full_path_and_is_repaired(runs):
    drifted = runs["drifted"]
    assert "Full path: the cluster changed since the last converged run" in drifted.stdout
    assert drifted.recap["changed"] > 0
    assert any(action.startswith("s3:PUT") for action in runs["drifted_calls"]["by_action"]), runs["drifted_calls"]
    assert runs["block_after_repair"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert runs["after_repair"].recap["changed"] == 0
