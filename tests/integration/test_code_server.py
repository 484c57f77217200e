# -*- coding: utf-8 -*-
"""playbooks/code_server.yml, its AWS side, against the lab's local AWS.

The playbook runs as users run it (-i inventories/code_server), with --skip-tags configure: the
node side (the code_server role over SSM) is the molecule scenario molecule/code_server, on a
real Debian 12 systemd container. Here: the capacity block flow into one workstation instance
(the same capacity_block role and Parameter Store keys as a cluster), the Neuron DLAMI from its
public parameter, a plain network interface and no placement group, the password generated once
into Secrets Manager and never printed, nginx's port opened to one network only when asked, and
teardown removing it all, the secret included.
"""

import boto3
import pytest

from .test_provision import nothing_left
from .test_provision import reservations

REGION = "us-east-1"
NEURON_2404 = "/aws/service/neuron/dlami/multi-framework/ubuntu-24.04/latest/image_id"
SKIP_NODE_SIDE = ("--skip-tags", "configure")


def lab_vars(cluster, **extra):
    """A lab run (cluster_local_aws, checked by every playbook's guard) of the workstation named `cluster`."""
    return {"cluster_name": cluster, "cluster_region": REGION, "cluster_local_aws": True, "cluster_require_tls": False,
            **extra}  # fmt: skip


@pytest.fixture(scope="module")
def aws(lab_aws):
    kw = dict(endpoint_url=lab_aws, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return {name: boto3.client(name, **kw) for name in ("ec2", "ssm", "secretsmanager")}


def workstation(ec2, cluster):
    found = ec2.describe_instances(
        Filters=[
            {"Name": "tag:nixl-efa:cluster", "Values": [cluster]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )
    return [i for r in found["Reservations"] for i in r["Instances"]]


def template_data(ec2, cluster):
    templates = ec2.describe_launch_templates(Filters=[{"Name": "tag:nixl-efa:cluster", "Values": [cluster]}])
    (template,) = templates["LaunchTemplates"]
    versions = ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Default"]
    )
    return versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]


def ingress(ec2, group_id):
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return group["IpPermissions"]


@pytest.fixture(scope="module")
def in_a_block(lab_aws, aws, ansible_playbook):
    """The old app's main path: search, buy within the ceiling, save, launch into the block."""
    cluster = "cs-block"
    extra = lab_vars(
        cluster,
        cluster_capacity_block=True,
        cluster_capacity_block_purchase=True,
        cluster_capacity_block_max_upfront_fee=500,
    )
    before = len(reservations(aws["ec2"]))
    first = ansible_playbook("playbooks/code_server.yml", lab_aws, extra, inventory="code_server", args=SKIP_NODE_SIDE)
    secret = aws["secretsmanager"].get_secret_value(SecretId=f"{cluster}/code-server/password")
    second = ansible_playbook("playbooks/code_server.yml", lab_aws, extra, inventory="code_server", args=SKIP_NODE_SIDE)
    return {
        "cluster": cluster,
        "first": first,
        "second": second,
        "secret": secret,
        "bought": len(reservations(aws["ec2"])) - before,
    }


def test_second_run_changes_nothing_and_buys_nothing(in_a_block):
    assert in_a_block["first"].recap["changed"] > 0
    assert in_a_block["second"].recap["changed"] == 0, in_a_block["second"].changed_tasks()
    assert in_a_block["bought"] == 1


def test_workstation_runs_in_the_block_from_the_neuron_2404_ami(aws, in_a_block):
    ec2, cluster = aws["ec2"], in_a_block["cluster"]
    (node,) = workstation(ec2, cluster)
    (block,) = [r for r in reservations(ec2) if r["CapacityReservationId"] == node["CapacityReservationId"]]
    assert node["InstanceType"] == "trn2.3xlarge" and block["InstanceType"] == "trn2.3xlarge"
    assert node["Placement"]["AvailabilityZone"] == block["AvailabilityZone"]
    assert node["InstanceLifecycle"] == "capacity-block"
    ami = aws["ssm"].get_parameter(Name=NEURON_2404)["Parameter"]["Value"]
    assert node["ImageId"] == ami
    assert {t["Key"]: t["Value"] for t in node["Tags"]}["nixl-efa:roles"] == "code_server"
    assert node["MetadataOptions"]["HttpTokens"] == "required"
    saved = aws["ssm"].get_parameter(Name=f"/nixl-efa/{cluster}/reservation-id")["Parameter"]["Value"]
    assert saved == node["CapacityReservationId"]


def test_plain_interface_no_placement_group_and_nothing_open(aws, in_a_block):
    ec2, cluster = aws["ec2"], in_a_block["cluster"]
    data = template_data(ec2, cluster)
    (nic,) = data["NetworkInterfaces"]
    assert nic.get("InterfaceType", "interface") == "interface"
    assert "AssociatePublicIpAddress" not in nic
    assert data["InstanceMarketOptions"]["MarketType"] == "capacity-block"
    assert data["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 500
    assert "Placement" not in data or not data["Placement"].get("GroupName")
    assert (
        ec2.describe_placement_groups(Filters=[{"Name": "tag:nixl-efa:cluster", "Values": [cluster]}])[
            "PlacementGroups"
        ]
        == []
    )
    for rule in ingress(ec2, nic["Groups"][0]):
        assert rule.get("IpRanges", []) == [] or rule["IpRanges"][0]["CidrIp"].startswith("10."), rule
        assert rule.get("FromPort") != 22


def test_password_is_generated_once_and_never_printed(aws, in_a_block):
    secret = in_a_block["secret"]
    password = secret["SecretString"]
    assert len(password) == 32 and password.isalnum()
    again = aws["secretsmanager"].get_secret_value(SecretId=secret["ARN"])
    assert again["VersionId"] == secret["VersionId"] and again["SecretString"] == password
    tags = aws["secretsmanager"].describe_secret(SecretId=secret["ARN"])["Tags"]
    assert {"Key": "nixl-efa:cluster", "Value": in_a_block["cluster"]} in tags
    for run in (in_a_block["first"], in_a_block["second"]):
        assert password not in run.stdout
        assert "aws secretsmanager get-secret-value" not in run.stdout  # the connect play is tagged configure


def test_allowed_ip_opens_nginx_to_that_network_only_then_teardown_removes_all(lab_aws, aws, ansible_playbook):
    ec2, cluster = aws["ec2"], "cs-open"
    extra = lab_vars(cluster, code_server_allowed_ip="203.0.113.10")
    ansible_playbook("playbooks/code_server.yml", lab_aws, extra, inventory="code_server", args=SKIP_NODE_SIDE)
    data = template_data(ec2, cluster)
    (nic,) = data["NetworkInterfaces"]
    assert nic["AssociatePublicIpAddress"] is True
    assert "InstanceMarketOptions" not in data
    outside = [r for r in ingress(ec2, nic["Groups"][0]) if r.get("IpRanges")]
    outside = [(r["FromPort"], r["ToPort"], [x["CidrIp"] for x in r["IpRanges"]]) for r in outside]
    # HTTPS only from that network (code_server_tls follows code_server_allowed_ip): never port 80.
    assert (443, 443, ["203.0.113.10/32"]) in outside
    assert not [rule for rule in outside if rule[0] <= 80 <= rule[1] and "203.0.113.10/32" in rule[2]]
    assert all(rule[2] == ["203.0.113.10/32"] or all(c.startswith("10.") for c in rule[2]) for rule in outside)

    down = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(cluster), inventory="code_server")
    assert nothing_left(ec2, cluster) == {}
    gone = aws["secretsmanager"].describe_secret(SecretId=f"{cluster}/code-server/password")
    assert "DeletedDate" in gone, "the secret was not scheduled for deletion"
    again = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(cluster), inventory="code_server")
    assert again.recap["changed"] == 0, again.changed_tasks()
    assert down.recap["changed"] > 0


def test_allowed_ip_without_tls_is_refused_before_anything_exists(lab_aws, aws, ansible_playbook):
    cluster = "cs-plain"
    extra = lab_vars(cluster, code_server_allowed_ip="203.0.113.10", code_server_tls=False)
    result = ansible_playbook(
        "playbooks/code_server.yml", lab_aws, extra, inventory="code_server", args=SKIP_NODE_SIDE, expect_rc=2
    )
    assert "opens nginx to the internet, but code_server_tls is false" in result.stdout
    assert "Nothing was created" in result.stdout
    assert nothing_left(aws["ec2"], cluster) == {}
    names = [s["Name"] for s in aws["secretsmanager"].list_secrets()["SecretList"]]
    assert f"{cluster}/code-server/password" not in names


def test_allowed_ip_for_everyone_is_refused_before_anything_exists(lab_aws, aws, ansible_playbook):
    cluster = "cs-world"
    extra = lab_vars(cluster, code_server_allowed_ip="0.0.0.0/0")
    result = ansible_playbook(
        "playbooks/code_server.yml", lab_aws, extra, inventory="code_server", args=SKIP_NODE_SIDE, expect_rc=2
    )
    assert "Refused cluster_extra_ingress rule" in result.stdout and "Nothing was created" in result.stdout
    assert nothing_left(aws["ec2"], cluster) == {}
    names = [s["Name"] for s in aws["secretsmanager"].list_secrets()["SecretList"]]
    assert f"{cluster}/code-server/password" not in names
