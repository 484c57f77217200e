# -*- coding: utf-8 -*-
"""The instances role's node count through ansible-playbook against the lab's local AWS.

The subnet, security group and instance profile the role launches into are made here with boto3,
as the network and iam_s3 roles would leave them. Nodes are c5n.9xlarge (one network card, one
EFA interface), on demand, not waited for in Session Manager: the count is what is tested.
A lower count removes the highest node indexes only, node 0 (prefill and MLflow's database)
never; check mode names the nodes that would go and changes nothing; a higher count fills the
missing indexes; a count of 0 is refused naming only that rule.
"""

import json
import uuid

import boto3
import pytest

from .role_plays import EC2_TRUST
from .role_plays import role_outputs
from .role_plays import role_play
from .role_plays import run_role_play as run_play

REGION = "eu-central-1"  # a region of its own: no other test's instances in sight
ROLE = "nixl_efa.cluster.instances"
INDEX_TAG = "nixl-efa:node-index"
LIVE = ["pending", "running", "stopping", "stopped"]


def client(url, service):
    return boto3.client(service, region_name=REGION, endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


@pytest.fixture(scope="module")
def base(lab_aws):
    """A subnet, a group, an instance profile and an image, and the role's variables for them."""
    ec2, iam = client(lab_aws, "ec2"), client(lab_aws, "iam")
    vpc = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.61.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]
    group = ec2.create_security_group(GroupName="count-efa", Description="nodes", VpcId=vpc)["GroupId"]
    iam.create_role(RoleName="count-node", AssumeRolePolicyDocument=EC2_TRUST)
    iam.create_instance_profile(InstanceProfileName="count-node")
    iam.add_role_to_instance_profile(InstanceProfileName="count-node", RoleName="count-node")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    variables = {
        "instances_region": REGION, "instances_subnet_id": subnet["SubnetId"], "instances_security_group_id": group,
        "instances_instance_profile": "count-node", "instances_ami_id": image, "instances_instance_type": "c5n.9xlarge",
        "instances_wait": False,
    }  # fmt: skip
    return {"ec2": ec2, "url": lab_aws, "vars": variables}


def apply(base, tmp_path, cluster, count, check=False, expect_rc=0, **extra):
    variables = dict(base["vars"], instances_cluster_name=cluster, instances_count=count, **extra)
    play = role_play(ROLE, REGION, base["url"], role_outputs("instances_result"), ("main", variables))
    return run_play(tmp_path, play, check=check, expect_rc=expect_rc)


def nodes_by_index(ec2, cluster):
    """Live instance id by node index tag, as EC2 reports them."""
    found = ec2.describe_instances(
        Filters=[{"Name": "tag:nixl-efa:cluster", "Values": [cluster]}, {"Name": "instance-state-name", "Values": LIVE}]
    )
    instances = [i for r in found["Reservations"] for i in r["Instances"]]
    return {int({t["Key"]: t["Value"] for t in i["Tags"]}[INDEX_TAG]): i["InstanceId"] for i in instances}


def state_of(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


def test_a_lower_count_removes_the_highest_indexes_and_never_node_0(base, tmp_path):
    ec2, cluster = base["ec2"], f"count-{uuid.uuid4().hex[:6]}"
    first = apply(base, tmp_path, cluster, 3)
    three = nodes_by_index(ec2, cluster)
    assert sorted(three) == [0, 1, 2], three
    assert [n["node_index"] for n in first.outputs["instances_result"]["nodes"]] == [0, 1, 2]

    # Check mode: names node 2 as the one that would go, terminates nothing, reports the change.
    preview = apply(base, tmp_path, cluster, 2, check=True)
    (said,) = preview.messages("Say which nodes are removed")
    assert f"would terminate node(s) 2 ({three[2]})" in " ".join(said.split()), said
    assert "Terminate the nodes past the count and wait until they are gone" in preview.changed_tasks
    assert "Launch the missing nodes in one request, for a total of 2" not in preview.changed_tasks
    assert nodes_by_index(ec2, cluster) == three
    assert [n["instance_id"] for n in preview.outputs["instances_result"]["nodes"]] == [three[0], three[1]]

    lower = apply(base, tmp_path, cluster, 2)
    assert lower.changed_tasks == ["Terminate the nodes past the count and wait until they are gone"], (
        lower.changed_tasks
    )
    assert nodes_by_index(ec2, cluster) == {0: three[0], 1: three[1]}
    assert state_of(ec2, three[2]) == "terminated"
    assert [n["instance_id"] for n in lower.outputs["instances_result"]["nodes"]] == [three[0], three[1]]

    again = apply(base, tmp_path, cluster, 2)
    assert again.changed == 0, again.changed_tasks
    assert again.messages("Say which nodes are removed") == []


def test_a_higher_count_fills_the_missing_indexes(base, tmp_path):
    ec2, cluster = base["ec2"], f"count-{uuid.uuid4().hex[:6]}"
    apply(base, tmp_path, cluster, 3)
    three = nodes_by_index(ec2, cluster)
    ec2.terminate_instances(InstanceIds=[three[1]])  # node 1 lost outside Ansible

    up = apply(base, tmp_path, cluster, 4)
    four = nodes_by_index(ec2, cluster)
    assert sorted(four) == [0, 1, 2, 3], four
    assert four[0] == three[0] and four[2] == three[2] and four[1] != three[1]
    assert up.messages("Say which nodes are removed") == []

    # Down to 1: nodes 3, 2 and 1 go in one task, node 0 stays.
    down = apply(base, tmp_path, cluster, 1)
    (said,) = down.messages("Say which nodes are removed")
    assert "terminating node(s) 1, 2, 3" in " ".join(said.split()), said
    assert nodes_by_index(ec2, cluster) == {0: three[0]}


def test_a_count_of_0_is_refused_naming_that_rule_only(base, tmp_path):
    # instances_count holds cluster_instance_count's value (as the role's default would give it): the
    # refusal names the setting; a name set apart from cluster_name is refused under its own name.
    cluster = f"count-{uuid.uuid4().hex[:6]}"
    refused = apply(base, tmp_path, cluster, 0, expect_rc=2, cluster_instance_count=0, cluster_name=cluster)
    assert refused.failures == [
        "cluster_instance_count must be a number of nodes from 1 to 64 (got 0). Nothing was created."
    ]
    assert nodes_by_index(base["ec2"], cluster) == {}
    own = apply(base, tmp_path, "Bad_Name", 2, expect_rc=2, cluster_name=cluster, cluster_instance_count=2)
    (failure,) = own.failures
    assert failure.startswith("instances_cluster_name must be 1-32 lowercase letters"), failure
    assert "(got 'Bad_Name')" in failure and "instances_count" not in failure
    assert json.dumps(own.failures).count("must") == 1


def test_nodes_that_never_come_online_are_named_after_the_last_round(base, tmp_path):
    # The subnet has no way out (no internet gateway, no SSM endpoints): the lab's Session Manager never
    # sees the node, as AWS's would not. Two rounds of 2 s, then a refusal naming the node and the causes.
    cluster = f"wait-{uuid.uuid4().hex[:6]}"
    run = apply(base, tmp_path, cluster, 1, expect_rc=2, instances_wait=True, instances_wait_timeout=4,
                instances_wait_round=2)  # fmt: skip
    (node,) = nodes_by_index(base["ec2"], cluster).values()
    # The wait's last round fails (ignored: the refusal follows), the refusal fails the run.
    assert run.failed_tasks == [
        "Wait until Session Manager reports the nodes Online",
        "Require every node Online in Session Manager",
    ], run.failed_tasks
    failure = run.failures[-1]
    assert failure.startswith(
        f"0 of 1 nodes Online in Session Manager; not yet: {node} after 4 s (instances_wait_timeout)"
    )
    assert "AmazonSSMManagedInstanceCore" in failure
