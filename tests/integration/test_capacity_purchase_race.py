# -*- coding: utf-8 -*-
"""Nothing bought twice: playbooks/capacity_block.yml -e action=purchase against a lab that behaves like a busy AWS.

This module starts a lab of its own (lab/moto_lab.py) with two of AWS's behaviours switched
on (lab/lab_capacity.py): a capacity block bought stays unseen by the describe calls for
DESCRIBE_DELAY seconds (EC2's eventual consistency), and a purchase tagged with the crash cluster
buys, then answers HTTP 500 (an unclear error). Under them:

- two runs started together for one cluster buy exactly one block: the one that takes the intent
  record buys, the other waits for its block;
- a run whose purchase call answers 500 and that gives up waiting fails saying a block MAY have
  been bought; the re-run buys nothing more and finds the block;
- check mode asks EC2 with DryRun (one PurchaseCapacityBlock call the lab answers DryRunOperation),
  buys nothing and takes no intent.

Every count is made with boto3 after the delay has passed.
"""

import json
import pathlib
import re
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest

from .conftest import lab_environ
from .conftest import running_lab

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
REGION = "us-east-1"
DESCRIBE_DELAY = 4
CRASH = "race-crash"
BUY = {"action": "purchase", "cluster_capacity_block_purchase": True, "cluster_capacity_block_max_upfront_fee": 5000}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """URL of a lab with eventual consistency and the crash cluster's unclear purchase switched on."""
    with running_lab(
        tmp_path_factory.mktemp("race-lab"),
        LAB_CAPACITY_DESCRIBE_DELAY=str(DESCRIBE_DELAY),
        LAB_CAPACITY_UNCLEAR_PURCHASE_TAG=f"nixl-efa:cluster={CRASH}",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def aws(lab):
    kw = dict(endpoint_url=lab, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return {name: boto3.client(name, **kw) for name in ("ec2", "ssm")}


def start(lab, cluster, check=False, **extra):
    """ansible-playbook playbooks/capacity_block.yml on the lab inventory, started, not awaited."""
    env = lab_environ(lab)
    command = [str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"), "playbooks/capacity_block.yml",
               "-e", json.dumps(dict(BUY, cluster_name=cluster, **extra))] + (["--check"] if check else [])  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process, rc=0):
    """The run's output, its whitespace (the YAML callback wraps long messages) made single spaces."""
    out, _err = process.communicate(timeout=300)
    assert process.returncode == rc, f"rc={process.returncode}, wanted {rc}:\n{out[-6000:]}"
    return " ".join(out.split())


def blocks_of(aws, cluster):
    """The cluster's reservations, once the lab's describe delay has passed for every purchase so far."""
    time.sleep(DESCRIBE_DELAY + 0.5)
    found = aws["ec2"].describe_capacity_reservations(Filters=[{"Name": "tag:nixl-efa:cluster", "Values": [cluster]}])
    return [r["CapacityReservationId"] for r in found["CapacityReservations"]]


def parameter(aws, name):
    try:
        return aws["ssm"].get_parameter(Name=name)["Parameter"]["Value"]
    except aws["ssm"].exceptions.ParameterNotFound:
        return None


def lab_calls(lab):
    with urllib.request.urlopen(f"{lab}/lab/calls", timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())["by_action"]


def test_two_runs_started_together_buy_one_block(lab, aws):
    cluster = "race-two"
    runs = [start(lab, cluster), start(lab, cluster)]
    outs = [finish(run) for run in runs]
    blocks = blocks_of(aws, cluster)
    assert len(blocks) == 1, f"bought {blocks}:\n" + "\n".join(o[-3000:] for o in outs)
    assert sum(bool(re.search(r"\bBought cb-", out)) for out in outs) == 1, outs
    assert sum("Already bought" in out for out in outs) == 1, outs
    assert parameter(aws, f"/nixl-efa/{cluster}/reservation-id") == blocks[0]
    intent = json.loads(parameter(aws, f"/nixl-efa/{cluster}/purchase-intent/{cluster}"))
    assert (intent["state"], intent["reservation_id"], intent["purchase_key"]) == ("bought", blocks[0], cluster)
    tags = aws["ssm"].list_tags_for_resource(ResourceType="Parameter", ResourceId=f"/nixl-efa/{cluster}/reservation-id")
    assert {"Key": "nixl-efa:cluster", "Value": cluster} in tags["TagList"]


def test_crash_after_buying_then_rerun_buys_nothing_more(lab, aws):
    # The purchase call answers 500 after buying; the block stays unseen longer than this run waits.
    crashed = finish(start(lab, CRASH, capacity_block_consistency_timeout=1), rc=2)
    assert "MAY HAVE BEEN BOUGHT under purchase key 'race-crash'" in crashed, crashed[-3000:]
    intent_name = f"/nixl-efa/{CRASH}/purchase-intent/{CRASH}"
    assert f"aws ssm delete-parameter --region {REGION} --name {intent_name}" in crashed
    intent = json.loads(parameter(aws, intent_name))
    assert intent["state"] == "buying" and "reservation_id" not in intent

    rerun = finish(start(lab, CRASH))
    assert "Already bought" in rerun and not re.search(r"\bBought cb-", rerun), rerun[-3000:]
    blocks = blocks_of(aws, CRASH)
    assert len(blocks) == 1, blocks
    assert blocks[0] in rerun
    assert parameter(aws, f"/nixl-efa/{CRASH}/reservation-id") == blocks[0]


def test_check_mode_asks_ec2_with_dry_run_and_buys_nothing(lab, aws):
    cluster = "race-check"
    before = lab_calls(lab).get("ec2:PurchaseCapacityBlock", 0)
    out = finish(start(lab, cluster, check=True))
    assert "Would buy cb-" in out and "DryRunOperation" in out, out[-3000:]
    assert lab_calls(lab).get("ec2:PurchaseCapacityBlock", 0) == before + 1, "no dry run reached EC2"
    assert blocks_of(aws, cluster) == []
    assert parameter(aws, f"/nixl-efa/{cluster}/purchase-intent/{cluster}") is None
    assert parameter(aws, f"/nixl-efa/{cluster}/reservation-id") is None


def test_the_offering_picked_from_the_table_is_bought_and_nothing_else(lab, aws):
    cluster = "race-pick"
    now = time.time()
    offerings = aws["ec2"].describe_capacity_block_offerings(
        InstanceType="p5.48xlarge", InstanceCount=2, CapacityDurationHours=24,
        StartDateRange=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        EndDateRange=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 14 * 86400)),
    )["CapacityBlockOfferings"]  # fmt: skip
    earliest = min(offerings, key=lambda o: o["StartDate"])
    # The latest start in a zone other than the earliest's: neither select (earliest nor cheapest by
    # the lab's zone factors) would choose it.
    picked = max((o for o in offerings if o["AvailabilityZone"] != earliest["AvailabilityZone"]),
                 key=lambda o: o["StartDate"])  # fmt: skip

    # An id the search does not find, and a malformed one: refused, nothing bought, no intent taken.
    gone = finish(start(lab, cluster, cluster_capacity_block_offering_id="cb-0000000000000dead"), rc=2)
    assert "cb-0000000000000dead is not among the current offerings" in gone, gone[-3000:]
    bad = finish(start(lab, cluster, cluster_capacity_block_offering_id="offering-1"), rc=2)
    assert "cluster_capacity_block_offering_id must be empty or a capacity block offering id" in bad, bad[-3000:]
    assert "(got 'offering-1')" in bad
    assert blocks_of(aws, cluster) == []
    assert parameter(aws, f"/nixl-efa/{cluster}/purchase-intent/{cluster}") is None

    out = finish(start(lab, cluster, cluster_capacity_block_offering_id=picked["CapacityBlockOfferingId"]))
    assert f"Bought {picked['CapacityBlockOfferingId']}" in out, out[-3000:]
    (block,) = blocks_of(aws, cluster)
    reservation = aws["ec2"].describe_capacity_reservations(CapacityReservationIds=[block])["CapacityReservations"][0]
    assert reservation["AvailabilityZone"] == picked["AvailabilityZone"]
    assert reservation["StartDate"] == picked["StartDate"] and reservation["EndDate"] == picked["EndDate"]
    # A re-run with the same pick returns the block bought under the purchase key, buying nothing more.
    again = finish(start(lab, cluster, cluster_capacity_block_offering_id=picked["CapacityBlockOfferingId"]))
    assert "Already bought" in again and blocks_of(aws, cluster) == [block]


def test_list_shows_the_clusters_blocks_or_every_block_in_the_region_with_filters(lab, aws):
    # A block bought outside the collection (as the console or the old scripts would): no cluster tag.
    offerings = aws["ec2"].describe_capacity_block_offerings(
        InstanceType="p4d.24xlarge", InstanceCount=1, CapacityDurationHours=24)["CapacityBlockOfferings"]  # fmt: skip
    outside = aws["ec2"].purchase_capacity_block(
        CapacityBlockOfferingId=offerings[0]["CapacityBlockOfferingId"], InstancePlatform="Linux/UNIX"
    )["CapacityReservation"]["CapacityReservationId"]
    time.sleep(DESCRIBE_DELAY + 0.5)
    mine = blocks_of(aws, "race-two")
    assert len(mine) == 1, "test_two_runs_started_together_buy_one_block runs first and buys one block"

    own = finish(start(lab, "race-two", action="list"))
    assert mine[0] in own and outside not in own, own[-3000:]

    every = finish(start(lab, "race-two", action="list", capacity_block_list_all=True))
    assert mine[0] in every and outside in every, every[-3000:]
    # The last column names the cluster whose tag each block carries, "-" for the one bought elsewhere.
    assert re.search(rf"{mine[0]} .* race-two race-two\b", every), every[-3000:]
    assert re.search(rf"{outside} .* - -(?: |$)", every), every[-3000:]

    by_type = finish(start(lab, "race-two", action="list", capacity_block_list_all=True,
                           capacity_block_list_instance_types=["p4d.24xlarge"]))  # fmt: skip
    assert outside in by_type and mine[0] not in by_type, by_type[-3000:]
    zone = aws["ec2"].describe_capacity_reservations(CapacityReservationIds=[outside])["CapacityReservations"][0]
    elsewhere = finish(start(lab, "race-two", action="list", capacity_block_list_all=True,
                             capacity_block_list_instance_types=["p4d.24xlarge"],
                             capacity_block_list_availability_zones=[zone["AvailabilityZone"] + "-none"]))  # fmt: skip
    assert "No capacity block in this region matches" in elsewhere and outside not in elsewhere, elsewhere[-3000:]
    ended = finish(start(lab, "race-two", action="list", capacity_block_list_all=True,
                         capacity_block_list_states=["expired", "cancelled"]))  # fmt: skip
    assert "No capacity block in this region matches" in ended, ended[-3000:]
