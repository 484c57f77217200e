# -*- coding: utf-8 -*-
"""The converged provision's budget: a re-run of playbooks/provision.yml that changes nothing makes at most
CONVERGED_BUDGET AWS API calls, every one of them a read.

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

import pytest

from .conftest import running_lab

# Issue 19: each input validated once, each reservation, type and network resource read once, no write
# module run for what a read already shows converged (38 in the lab when this budget was set).
CONVERGED_BUDGET = 40
READ = re.compile(r"^[a-z0-9-]+:(Describe|Get|List|Head)|^s3:(GET|HEAD)$")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("budget-lab")) as url:
        yield url


def lab_calls(lab, reset=False):
    request = urllib.request.Request(f"{lab}/lab/calls", method="POST" if reset else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


@pytest.fixture(scope="module")
def runs(lab, ansible_playbook):
    """The lab inventory's provision, then its converged re-run and check-mode run, each with its calls."""
    found = {}
    for name, check in (("first", False), ("rerun", False), ("check", True)):
        lab_calls(lab, reset=True)
        found[name] = ansible_playbook("playbooks/provision.yml", lab, {}, check=check, inventory="lab")
        found[f"{name}_calls"] = lab_calls(lab)
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
