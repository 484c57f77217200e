# -*- coding: utf-8 -*-
"""playbooks/ray.yml, its AWS side (the shared file system), on a cluster provisioned in the lab.

The node side (amazon-efs-utils, the TLS mount, Ray) cannot run here: the lab's kernel has no NFS
client and its nodes are moto records; Ray itself is the molecule scenario molecule/ray. What
this proves: ray.yml finds the cluster's subnet and security group from its running nodes, the
file system's NFS port is open to that group only, the nodes' role may mount it and nothing else,
provision.yml run again keeps that permission (changed=0), and teardown removes the file system
before the network, leaving nothing.
"""

import json

import boto3
import pytest

from .test_provision import lab_vars
from .test_provision import nothing_left

REGION = "us-east-1"
CLUSTER = "ray-shared"
STORAGE_ONLY = ("--skip-tags", "configure")


@pytest.fixture(scope="module")
def aws(lab_aws):
    kw = dict(endpoint_url=lab_aws, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return {name: boto3.client(name, **kw) for name in ("ec2", "efs", "iam")}


@pytest.fixture(scope="module")
def shared(lab_aws, aws, ansible_playbook, tmp_path_factory):
    outputs = tmp_path_factory.mktemp("ray") / "outputs.json"
    extra = lab_vars(CLUSTER, cluster_instance_count=2, provision_outputs_file=str(outputs))
    ansible_playbook("playbooks/provision.yml", lab_aws, extra)
    first = ansible_playbook("playbooks/ray.yml", lab_aws, lab_vars(CLUSTER), args=STORAGE_ONLY)
    second = ansible_playbook("playbooks/ray.yml", lab_aws, lab_vars(CLUSTER), args=STORAGE_ONLY)
    provision_again = ansible_playbook("playbooks/provision.yml", lab_aws, extra)
    return {
        "first": first,
        "second": second,
        "provision_again": provision_again,
        "outputs": json.loads(outputs.read_text()),
    }


def file_systems(efs):
    found = efs.describe_file_systems()["FileSystems"]
    return [f for f in found if {"Key": "nixl-efa:cluster", "Value": CLUSTER} in f.get("Tags", [])]


def test_storage_converges_and_provision_keeps_the_mount_permission(shared):
    assert shared["first"].recap["changed"] > 0
    assert shared["second"].recap["changed"] == 0, shared["second"].changed_tasks()
    assert shared["provision_again"].recap["changed"] == 0, shared["provision_again"].changed_tasks()


def test_file_system_is_encrypted_and_reachable_from_the_cluster_group_only(aws, shared):
    (fs,) = file_systems(aws["efs"])
    assert fs["Encrypted"] is True
    targets = aws["efs"].describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    assert [t["SubnetId"] for t in targets] == [shared["outputs"]["subnet_id"]]
    groups = aws["efs"].describe_mount_target_security_groups(MountTargetId=targets[0]["MountTargetId"])
    (group,) = aws["ec2"].describe_security_groups(GroupIds=groups["SecurityGroups"])["SecurityGroups"]
    (rule,) = group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 2049, 2049)
    assert rule.get("IpRanges", []) == [] and rule.get("Ipv6Ranges", []) == []
    assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [shared["outputs"]["security_group_id"]]


def test_nodes_may_mount_this_file_system_only(aws, shared):
    (fs,) = file_systems(aws["efs"])
    role = f"{CLUSTER}-{REGION}-node"
    assert sorted(aws["iam"].list_role_policies(RoleName=role)["PolicyNames"]) == [
        "nixl-efa-efs-access",
        "nixl-efa-node-access",
    ]
    document = aws["iam"].get_role_policy(RoleName=role, PolicyName="nixl-efa-efs-access")["PolicyDocument"]
    resources = {
        r for s in document["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert resources == {fs["FileSystemArn"]}


def test_teardown_removes_the_file_system_then_the_network(lab_aws, aws, shared, ansible_playbook):
    down = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(CLUSTER))
    assert down.recap["failed"] == 0
    assert file_systems(aws["efs"]) == []
    assert nothing_left(aws["ec2"], CLUSTER) == {}
    again = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(CLUSTER))
    assert again.recap["changed"] == 0, again.changed_tasks()
