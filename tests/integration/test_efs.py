# -*- coding: utf-8 -*-
"""The efs role (main, validate, absent) through ansible-playbook against the lab's local AWS.

The VPC, subnets, cluster security group and node role the role builds on are made here with
boto3, as the network and iam_s3 roles would leave them. Everything the role made is read back
with EFS, EC2 and IAM's own calls. EFS's tagging calls (DescribeTags, CreateTags, DeleteTags)
are the lab's stand-ins (lab/lab_efs.py). moto evaluates no IAM policy and moves no NFS
traffic, so the policy and the security group are checked by their shape, not their effect.
The mount entry point is not run here: the lab has no NFS client and cannot reach GitHub.
"""

import uuid

import boto3
import pytest

from .role_plays import EC2_TRUST
from .role_plays import role_outputs
from .role_plays import role_play
from .role_plays import run_role_play as run_play

REGION = "eu-west-1"  # a region of its own: no other test's file systems or groups in sight
ROLE = "nixl_efa.cluster.efs"
TAG = "nixl-efa:cluster"
OUTPUTS = role_outputs("efs_file_system_id", "efs_file_system_arn", "efs_dns_name", "efs_security_group_id")


def client(url, service):
    return boto3.client(service, region_name=REGION, endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


@pytest.fixture(scope="module")
def aws(lab_aws):
    return {service: client(lab_aws, service) for service in ("ec2", "efs", "iam")}


def cluster_name(label):
    return f"{label}-{uuid.uuid4().hex[:8]}"


def node_role(cluster):
    """The nodes' IAM role as the iam_s3 role names it, which is the efs role's default with efs_region."""
    return f"{cluster}-{REGION}-node"


def make_network(aws, cluster, cidr, role=True):
    """A VPC with subnets in two zones and the cluster's group, as the network role leaves them; the node role."""
    ec2 = aws["ec2"]
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{n}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName=f"{cluster}-efa", Description="cluster nodes", VpcId=vpc)["GroupId"]
    if role:
        aws["iam"].create_role(RoleName=node_role(cluster), AssumeRolePolicyDocument=EC2_TRUST)
    return {"vpc": vpc, "subnets": subnets, "group": group}


def role_vars(cluster, network, **extra):
    return {"efs_cluster_name": cluster, "efs_region": REGION, "efs_subnet_ids": network["subnets"],
            "efs_cluster_security_group_id": network["group"], **extra}  # fmt: skip


def play(url, *applications):
    return role_play(ROLE, REGION, url, OUTPUTS, *applications)


def tags_of(aws, file_system_id):
    return {t["Key"]: t["Value"] for t in aws["efs"].describe_tags(FileSystemId=file_system_id)["Tags"]}


def file_systems(aws):
    return {f["FileSystemId"]: f for f in aws["efs"].describe_file_systems()["FileSystems"]}


def groups_named(aws, name):
    found = aws["ec2"].describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return found["SecurityGroups"]


def inline_policy(aws, role, name="nixl-efa-efs-access"):
    return aws["iam"].get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]


def statements(document):
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_check_mode_then_create_twice_then_check_mode_again(lab_aws, aws, tmp_path):
    cluster = cluster_name("main")
    network = make_network(aws, cluster, "10.61")
    variables = role_vars(cluster, network, efs_tags={"owner": "lab", TAG: "not-this-one"})
    before = set(file_systems(aws))

    preview = run_play(tmp_path, play(lab_aws, ("main", variables)), check=True)
    assert preview.changed > 0, "check mode on a new cluster must say that it would create things"
    assert set(file_systems(aws)) == before and groups_named(aws, f"{cluster}-efs") == []

    first = run_play(tmp_path, play(lab_aws, ("main", variables)))
    assert first.changed > 0
    second = run_play(tmp_path, play(lab_aws, ("main", variables)))
    assert second.changed == 0, second.changed_tasks
    check = run_play(tmp_path, play(lab_aws, ("main", variables)), check=True)
    assert check.changed == 0, check.changed_tasks

    out = second.outputs
    assert check.outputs == out
    (fs_id,) = set(file_systems(aws)) - before
    fs = file_systems(aws)[fs_id]
    assert out["efs_file_system_id"] == fs_id
    assert out["efs_file_system_arn"] == fs["FileSystemArn"]
    assert out["efs_dns_name"] == f"{fs_id}.efs.{REGION}.amazonaws.com"
    assert fs["Encrypted"] is True
    assert fs["CreationToken"] == f"{cluster}-shared"
    assert (fs["PerformanceMode"], fs["ThroughputMode"]) == ("generalPurpose", "bursting")
    assert tags_of(aws, fs_id) == {TAG: cluster, "owner": "lab", "Name": f"{cluster}-shared"}

    # The mount targets' group: its only ingress is TCP 2049 from the cluster's group, no egress.
    (group,) = groups_named(aws, f"{cluster}-efs")
    assert group["GroupId"] == out["efs_security_group_id"] and group["VpcId"] == network["vpc"]
    (permission,) = group["IpPermissions"]
    assert (permission["IpProtocol"], permission["FromPort"], permission["ToPort"]) == ("tcp", 2049, 2049)
    assert [pair["GroupId"] for pair in permission["UserIdGroupPairs"]] == [network["group"]]
    assert permission.get("IpRanges", []) == [] and permission.get("Ipv6Ranges", []) == []
    assert permission.get("PrefixListIds", []) == []
    assert group["IpPermissionsEgress"] == []
    assert {t["Key"]: t["Value"] for t in group["Tags"]} == {TAG: cluster, "owner": "lab", "Name": f"{cluster}-efs"}

    # One mount target per subnet, each behind the EFS group and nothing else.
    targets = aws["efs"].describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(network["subnets"])
    for target in targets:
        assert target["LifeCycleState"] == "available"
        groups = aws["efs"].describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])
        assert groups["SecurityGroups"] == [group["GroupId"]]

    # The node role may mount and write this file system, through a mount target, and nothing else.
    (statement,) = statements(inline_policy(aws, node_role(cluster)))
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == fs["FileSystemArn"]
    assert sorted(as_list(statement["Action"])) == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert statement["Condition"] == {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}


def test_absent_deletes_only_what_is_tagged_for_the_cluster(lab_aws, aws, tmp_path):
    cluster = cluster_name("gone")
    network = make_network(aws, cluster, "10.62")
    variables = role_vars(cluster, network, efs_client_root_access=True)
    created = run_play(tmp_path, play(lab_aws, ("main", variables))).outputs
    fs_id = created["efs_file_system_id"]
    (statement,) = statements(inline_policy(aws, node_role(cluster)))
    assert "elasticfilesystem:ClientRootAccess" in as_list(statement["Action"])

    # Look-alikes: a file system named and shaped like the cluster's but untagged, one tagged
    # for another cluster, and a group of the same name in another VPC without the tag.
    efs = aws["efs"]
    untagged = efs.create_file_system(CreationToken=f"{cluster}-shared-copy", Encrypted=True,
                                      Tags=[{"Key": "Name", "Value": f"{cluster}-shared"}])["FileSystemId"]  # fmt: skip
    efs.create_mount_target(FileSystemId=untagged, SubnetId=network["subnets"][0], SecurityGroups=[network["group"]])
    other = efs.create_file_system(CreationToken=f"{cluster}-other", Encrypted=True,
                                   Tags=[{"Key": TAG, "Value": f"{cluster}-x"}])["FileSystemId"]  # fmt: skip
    other_vpc = aws["ec2"].create_vpc(CidrBlock="10.63.0.0/16")["Vpc"]["VpcId"]
    stray_group = aws["ec2"].create_security_group(GroupName=f"{cluster}-efs", Description="not ours", VpcId=other_vpc)

    absent = {"efs_cluster_name": cluster, "efs_region": REGION}
    preview = run_play(tmp_path, play(lab_aws, ("absent", absent)), check=True)
    assert preview.changed > 0 and fs_id in file_systems(aws)

    first = run_play(tmp_path, play(lab_aws, ("absent", absent)))
    assert sorted(first.changed_tasks) == [
        "Delete each tagged file system, its mount targets first",
        "Delete the inline policy that let the node role mount the file system",
        "Delete the mount targets' security group",
    ]
    second = run_play(tmp_path, play(lab_aws, ("absent", absent)))
    assert second.changed == 0, second.changed_tasks

    left = file_systems(aws)
    assert fs_id not in left
    assert untagged in left and other in left
    assert len(efs.describe_mount_targets(FileSystemId=untagged)["MountTargets"]) == 1
    assert [g["GroupId"] for g in groups_named(aws, f"{cluster}-efs")] == [stray_group["GroupId"]]
    assert aws["iam"].list_role_policies(RoleName=node_role(cluster))["PolicyNames"] == []
    assert aws["iam"].get_role(RoleName=node_role(cluster))["Role"]["RoleName"] == node_role(cluster)


def test_file_system_of_another_cluster_is_refused(lab_aws, aws, tmp_path):
    cluster = cluster_name("taken")
    network = make_network(aws, cluster, "10.64")
    aws["efs"].create_file_system(CreationToken=f"{cluster}-shared", Encrypted=True,
                                  Tags=[{"Key": TAG, "Value": "someone-else"}])  # fmt: skip
    run = run_play(tmp_path, play(lab_aws, ("main", role_vars(cluster, network))), expect_rc=2)
    assert any("another cluster" in failure for failure in run.failures), run.failures
    assert groups_named(aws, f"{cluster}-efs") == []


def test_security_group_of_the_same_name_not_the_clusters_is_left_alone(lab_aws, aws, tmp_path):
    """Ownership before change: a group named <cluster>-efs without the cluster's tag keeps its rules; nothing made."""
    cluster = cluster_name("group")
    network = make_network(aws, cluster, "10.65")
    ec2 = aws["ec2"]
    theirs = ec2.create_security_group(GroupName=f"{cluster}-efs", Description="theirs", VpcId=network["vpc"])[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(GroupId=theirs, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "IpRanges": [{"CidrIp": "10.65.0.0/16"}]}])  # fmt: skip
    before = ec2.describe_security_groups(GroupIds=[theirs])["SecurityGroups"][0]
    run = run_play(tmp_path, play(lab_aws, ("main", role_vars(cluster, network))), expect_rc=2)
    message = " ".join(" ".join(run.failures).split())
    assert f"Security group {cluster}-efs ({theirs}) in {network['vpc']} exists with no tag {TAG}." in message, message
    assert "Nothing was changed." in message
    after = ec2.describe_security_groups(GroupIds=[theirs])["SecurityGroups"][0]
    assert after["IpPermissions"] == before["IpPermissions"] and after.get("Tags", []) == before.get("Tags", [])
    assert not [f for f in file_systems(aws).values() if f["CreationToken"] == f"{cluster}-shared"]


BAD_INPUT = [
    ({"efs_cluster_name": "Bad_Name"}, "efs_cluster_name must be 1 to 32 lowercase letters"),
    ({"efs_subnet_ids": []}, "efs_subnet_ids must be a non-empty list"),
    ({"efs_subnet_ids": ["subnet-0abc", "subnet-0abc"]}, "efs_subnet_ids must be a non-empty list of distinct"),
    ({"efs_cluster_security_group_id": "0.0.0.0/0"}, "efs_cluster_security_group_id must be a security group id"),
    ({"efs_throughput_mode": "elastic"}, "efs_throughput_mode must be bursting or provisioned (got 'elastic')"),
    ({"efs_throughput_mode": "provisioned"}, "provisioned needs efs_provisioned_throughput_mibps"),
    ({"efs_performance_mode": "fast"}, "efs_performance_mode must be general_purpose or max_io"),
    (
        {"efs_mount_point": "shared"},
        "efs_mount_point must be an absolute path other than / with no blank and no . or .. component (got 'shared')",
    ),
    (
        {"efs_mount_point": "/"},
        "efs_mount_point must be an absolute path other than / with no blank and no . or .. component (got '/')",
    ),
    (
        {"efs_mount_state": "remounted"},
        "efs_mount_state must be one of mounted, present, unmounted, absent (got 'remounted')",
    ),
    ({"efs_kms_key_id": "my key"}, "efs_kms_key_id must be empty (the AWS managed key)"),
]


@pytest.mark.parametrize("entry", ["validate", "main"])
@pytest.mark.parametrize(("bad", "message"), BAD_INPUT, ids=[str(i) for i in range(len(BAD_INPUT))])
def test_bad_input_fails_at_validate_and_creates_nothing(lab_aws, aws, tmp_path, entry, bad, message):
    cluster = cluster_name("bad")
    network = {"subnets": ["subnet-0123456789abcdef0"], "group": "sg-0123456789abcdef0"}
    variables = {**role_vars(cluster, network), **bad}
    groups, systems = len(aws["ec2"].describe_security_groups()["SecurityGroups"]), set(file_systems(aws))
    run = run_play(tmp_path, play(lab_aws, (entry, variables)), expect_rc=2)
    assert any(message in failure and failure.endswith("Nothing was created.") for failure in run.failures), (
        run.failures
    )
    # Only the rule that failed: one rule's text, not every rule of the task.
    assert all(failure.count(" must ") + failure.count(" needs ") == 1 for failure in run.failures), run.failures
    assert run.failed_tasks and all(name.startswith("Check ") for name in run.failed_tasks), run.failed_tasks
    assert len(aws["ec2"].describe_security_groups()["SecurityGroups"]) == groups
    assert set(file_systems(aws)) == systems


def test_unknown_subnet_or_group_of_another_vpc_fails_before_anything_is_created(lab_aws, aws, tmp_path):
    cluster = cluster_name("where")
    network = make_network(aws, cluster, "10.65", role=False)
    elsewhere = make_network(aws, f"{cluster}-b", "10.66", role=False)
    systems = set(file_systems(aws))
    subnets = [network["subnets"][0], "subnet-0fedcba9876543210"]
    missing = run_play(
        tmp_path, play(lab_aws, ("main", role_vars(cluster, {**network, "subnets": subnets}))), expect_rc=2
    )
    assert any("Subnets not found: subnet-0fedcba9876543210." in f for f in missing.failures), missing.failures
    foreign_group = role_vars(cluster, {**network, "group": elsewhere["group"]})
    foreign = run_play(tmp_path, play(lab_aws, ("main", foreign_group)), expect_rc=2)
    assert any(f"is in {elsewhere['vpc']}, not in the subnets' VPC" in f for f in foreign.failures), foreign.failures
    assert groups_named(aws, f"{cluster}-efs") == [] and set(file_systems(aws)) == systems
