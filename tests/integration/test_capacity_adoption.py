# -*- coding: utf-8 -*-
"""A capacity block bought elsewhere, adopted by playbooks/provision.yml and given back by teardown.yml, on the lab.

The blocks here are bought straight through the lab's EC2 API, as the console or the old scripts buy them: no
nixl-efa:cluster tag, a tag of the user's own, and in one of them an instance that is not the cluster's. Checked
with EC2's own describe calls:

- provision with cluster_capacity_reservation_id adopts the block (the cluster tag and the adopted marker added,
  the user's tag kept), after a check-mode run that says it would and tags nothing; the nodes land in it beside
  the foreign instance, which stays running, untagged and uncounted; a re-run changes nothing; the summary and
  the outputs file say when the block ends;
- teardown removes exactly the two tags the adoption added and leaves the block and the foreign instance as they
  are; a second teardown changes nothing;
- a block tagged for another cluster is refused before anything is created, naming the reservation, the tag and
  cluster_capacity_reservation_id;
- a block whose capacity foreign instances hold is refused before anything is launched, naming the numbers.
"""

import datetime
import json
import re

import boto3
import pytest

REGION = "us-east-1"
ZONE = "us-east-1a"
TAG = "nixl-efa:cluster"
ADOPTED = "nixl-efa:adopted"
# One EFA interface per node, in a public subnet: the lightest cluster the lab can launch into a block.
NODE_TYPE = "g6e.8xlarge"
LIVE = ["pending", "running", "stopping", "stopped"]


def lab_vars(cluster, **extra):
    return {
        "cluster_name": cluster, "cluster_region": REGION, "cluster_local_aws": True, "cluster_require_tls": False,
        "cluster_instance_type": NODE_TYPE, "cluster_instance_count": 2, "cluster_private": False,
        "cluster_nat_gateway": False, "cluster_capacity_block": True, **extra,
    }  # fmt: skip


@pytest.fixture(scope="module")
def ec2(lab_aws):
    return boto3.client(
        "ec2", endpoint_url=lab_aws, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def buy_block(ec2, count, tags):
    """A block bought straight through EC2's API, as the console buys it: active now, in ZONE, with `tags`."""
    offerings = ec2.describe_capacity_block_offerings(
        InstanceType=NODE_TYPE, InstanceCount=count, CapacityDurationHours=24,
        StartDateRange=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1),
    )["CapacityBlockOfferings"]  # fmt: skip
    offering = min((o for o in offerings if o["AvailabilityZone"] == ZONE), key=lambda o: o["StartDate"])
    spec = [{"ResourceType": "capacity-reservation", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    bought = ec2.purchase_capacity_block(
        CapacityBlockOfferingId=offering["CapacityBlockOfferingId"], InstancePlatform="Linux/UNIX",
        **({"TagSpecifications": spec} if tags else {}),
    )["CapacityReservation"]  # fmt: skip
    assert bought["State"] == "active", bought
    return bought["CapacityReservationId"]


def launch_foreign(ec2, reservation_id, count=1):
    """Instances someone else runs in the block: launched by hand into it, not tagged for any cluster."""
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24", AvailabilityZone=ZONE)["Subnet"]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(
        ImageId=image, InstanceType=NODE_TYPE, MinCount=count, MaxCount=count, SubnetId=subnet,
        InstanceMarketOptions={"MarketType": "capacity-block"},
        CapacityReservationSpecification={"CapacityReservationTarget": {"CapacityReservationId": reservation_id}},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "owner", "Value": "someone else"}]}],
    )["Instances"]  # fmt: skip
    return [i["InstanceId"] for i in launched]


def reservation(ec2, reservation_id):
    return ec2.describe_capacity_reservations(CapacityReservationIds=[reservation_id])["CapacityReservations"][0]


def tags_of(ec2, reservation_id):
    return {t["Key"]: t["Value"] for t in reservation(ec2, reservation_id).get("Tags") or []}


def instances(ec2, filters):
    pages = ec2.describe_instances(Filters=filters)["Reservations"]
    return [i for r in pages for i in r["Instances"]]


def cluster_instances(ec2, cluster):
    live = {"Name": "instance-state-name", "Values": LIVE}
    return instances(ec2, [{"Name": f"tag:{TAG}", "Values": [cluster]}, live])


def said(run):
    """The run's output with its whitespace (the YAML callback wraps long messages) made single spaces."""
    return " ".join(run.stdout.split())


# --- Adopted, used, re-run, given back -------------------------------------------------------------------------

ADOPTER = "cb-adopt"


@pytest.fixture(scope="module")
def adopted(lab_aws, ec2, ansible_playbook, tmp_path_factory):
    """A block of three bought in the console (tag team=ml) with one foreign instance in it, provisioned into by a
    cluster of two: a check-mode run, the run, a re-run, then teardown twice."""
    reservation_id = buy_block(ec2, 3, {"team": "ml"})
    foreign = launch_foreign(ec2, reservation_id)
    outputs = tmp_path_factory.mktemp("adopt") / "outputs.json"
    extra = lab_vars(ADOPTER, cluster_capacity_reservation_id=reservation_id, provision_outputs_file=str(outputs))
    runs = {"reservation_id": reservation_id, "foreign": foreign}
    runs["check"] = ansible_playbook("playbooks/provision.yml", lab_aws, extra, check=True)
    runs["tags_after_check"] = tags_of(ec2, reservation_id)
    runs["first"] = ansible_playbook("playbooks/provision.yml", lab_aws, extra)
    runs["tags_after_first"] = tags_of(ec2, reservation_id)
    runs["outputs"] = json.loads(outputs.read_text())
    runs["reservation"] = reservation(ec2, reservation_id)
    runs["nodes"] = cluster_instances(ec2, ADOPTER)
    runs["second"] = ansible_playbook("playbooks/provision.yml", lab_aws, extra)
    runs["down"] = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(ADOPTER))
    runs["tags_after_down"] = tags_of(ec2, reservation_id)
    runs["reservation_after_down"] = reservation(ec2, reservation_id)
    runs["down_again"] = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(ADOPTER))
    return runs


def test_check_mode_says_it_would_adopt_and_tags_nothing(adopted):
    text = said(adopted["check"])
    assert f"Would adopt capacity reservation {adopted['reservation_id']} (bought outside the collection)" in text, (
        text[-3000:]
    )
    assert f"{TAG}={ADOPTER}" in text and f"{ADOPTED}=true" in text
    assert adopted["tags_after_check"] == {"team": "ml"}


def test_provision_adds_the_cluster_tag_and_the_marker_and_keeps_the_users_tags(adopted):
    assert f"Adopted capacity reservation {adopted['reservation_id']}" in said(adopted["first"])
    assert adopted["tags_after_first"] == {"team": "ml", TAG: ADOPTER, ADOPTED: "true"}


def test_the_nodes_land_in_the_block_beside_the_foreign_instance(adopted, ec2):
    nodes = adopted["nodes"]
    assert len(nodes) == 2
    assert {n["CapacityReservationId"] for n in nodes} == {adopted["reservation_id"]}
    assert {n["InstanceLifecycle"] for n in nodes} == {"capacity-block"}
    assert adopted["reservation"]["AvailableInstanceCount"] == 0
    assert adopted["outputs"]["capacity_reservation_id"] == adopted["reservation_id"]
    assert sorted(n["instance_id"] for n in adopted["outputs"]["nodes"]) == sorted(n["InstanceId"] for n in nodes)


def test_the_foreign_instance_is_never_counted_changed_or_terminated(adopted, ec2):
    (foreign,) = instances(ec2, [{"Name": "instance-id", "Values": adopted["foreign"]}])
    assert foreign["State"]["Name"] == "running"
    assert {t["Key"]: t["Value"] for t in foreign.get("Tags") or []} == {"owner": "someone else"}
    assert foreign["InstanceId"] not in [n["instance_id"] for n in adopted["outputs"]["nodes"]]


def test_a_rerun_changes_nothing(adopted):
    assert adopted["second"].recap["changed"] == 0, adopted["second"].changed_tasks()
    assert "Adopted capacity reservation" not in said(adopted["second"])


def test_the_summary_and_the_outputs_say_when_the_block_ends(adopted):
    end = adopted["reservation"]["EndDate"].astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = adopted["reservation"]["StartDate"].astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert re.search(
        rf"Capacity block ends: {end} \(ends in (\d+d )?\d+h \d+m; it ends on its own: EC2 terminates the nodes still "
        r"running in it from 30 min before that, after an EventBridge warning 40 min before\)",
        said(adopted["second"]),
    ), said(adopted["second"])[-3000:]
    assert adopted["outputs"]["capacity_block_end_date"] == end
    assert adopted["outputs"]["capacity_block_start_date"] == start


def test_teardown_removes_only_the_adoptions_tags_and_leaves_the_block_and_the_foreign_instance(adopted, ec2):
    text = said(adopted["down"])
    gave_back = "Gave back 1 adopted capacity block reservation(s) (bought outside the collection): "
    assert gave_back + adopted["reservation_id"] in text, text[-3000:]
    assert "Kept " not in text
    assert adopted["tags_after_down"] == {"team": "ml"}
    after = adopted["reservation_after_down"]
    assert after["State"] == "active" and after["AvailableInstanceCount"] == 2  # the cluster's two places came back
    assert cluster_instances(ec2, ADOPTER) == []
    (foreign,) = instances(ec2, [{"Name": "instance-id", "Values": adopted["foreign"]}])
    assert foreign["State"]["Name"] == "running"


def test_a_second_teardown_changes_nothing(adopted):
    assert adopted["down_again"].recap["changed"] == 0, adopted["down_again"].changed_tasks()
    assert f"No capacity block belongs to cluster {ADOPTER}." in said(adopted["down_again"])


# --- Refused before anything is created or launched ------------------------------------------------------------


def test_a_block_of_another_cluster_is_refused_before_anything_is_created(lab_aws, ec2, ansible_playbook):
    cluster = "cb-adopt-theirs"
    reservation_id = buy_block(ec2, 2, {TAG: "someone-else", "team": "ml"})
    run = ansible_playbook(
        "playbooks/provision.yml", lab_aws, lab_vars(cluster, cluster_capacity_reservation_id=reservation_id),
        expect_rc=2,
    )  # fmt: skip
    text = said(run)
    assert (
        f"cluster_capacity_reservation_id is {reservation_id}: Capacity reservation {reservation_id} exists and is "
        f"tagged {TAG}=someone-else: it belongs to another cluster, not {cluster}. It is not adopted" in text
    ), text[-3000:]
    assert "Nothing was created." in text
    assert tags_of(ec2, reservation_id) == {TAG: "someone-else", "team": "ml"}
    assert ec2.describe_vpcs(Filters=[{"Name": f"tag:{TAG}", "Values": [cluster]}])["Vpcs"] == []
    assert cluster_instances(ec2, cluster) == []


def test_a_block_whose_capacity_others_hold_is_refused_before_anything_is_launched(lab_aws, ec2, ansible_playbook):
    cluster = "cb-adopt-full"
    reservation_id = buy_block(ec2, 2, {})
    foreign = launch_foreign(ec2, reservation_id)
    run = ansible_playbook(
        "playbooks/provision.yml", lab_aws, lab_vars(cluster, cluster_capacity_reservation_id=reservation_id),
        expect_rc=2,
    )  # fmt: skip
    text = said(run)
    assert (
        f"Reservation {reservation_id} (active, 1 of 2 x {NODE_TYPE} free) cannot take 2 more: cluster_instance_count "
        "is 2, 0 of the cluster's nodes run in it, and 1 place(s) are held by instances that are not the cluster's "
        "(1 available + 0 = 1 < 2;" in text
    ), text[-3000:]
    assert re.search(r"Nothing was (created|launched)\.", text)
    assert tags_of(ec2, reservation_id) == {}, "refused, yet adopted"
    assert ec2.describe_vpcs(Filters=[{"Name": f"tag:{TAG}", "Values": [cluster]}])["Vpcs"] == []
    assert cluster_instances(ec2, cluster) == []
    (still,) = instances(ec2, [{"Name": "instance-id", "Values": foreign}])
    assert still["State"]["Name"] == "running"
