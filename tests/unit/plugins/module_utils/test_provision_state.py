# -*- coding: utf-8 -*-
"""provision_state: every section read once (paged where EC2 pages), missing resources read as missing,
volatile fields left out of the digest, and the calls counted."""

import datetime

import botocore.session
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from botocore.stub import Stubber

from ansible_collections.nixl_efa.cluster.plugins.module_utils import provision_state

VPC = "vpc-0123456789abcdef0"
IN_VPC = [{"Name": "vpc-id", "Values": [VPC]}]
NODE_FILTERS = [
    {"Name": "tag:nixl-efa:cluster", "Values": ["demo"]},
    {"Name": "instance-state-name", "Values": ["pending", "running", "shutting-down", "stopping", "stopped"]},
]
PING = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def clients():
    """Real botocore clients behind Stubbers, wrapped as AnsibleAWSModule.client() wraps them."""
    found = {}
    session = botocore.session.get_session()
    for service in ("ec2", "ssm", "iam", "s3"):
        client = session.create_client(
            service, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret"
        )
        stub = Stubber(client)
        stub.activate()
        found[service] = (RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff()), stub)
    yield found
    for _client, stub in found.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def wrapped(clients):
    return {service: pair[0] for service, pair in clients.items()}


def network(ec2, nat=True, ping=None):
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC, "CidrBlock": "10.0.0.0/16"}]}, {"VpcIds": [VPC]})
    for name, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        ec2.add_response(
            "describe_vpc_attribute", {"VpcId": VPC, key: {"Value": True}}, {"VpcId": VPC, "Attribute": name}
        )
    # Two pages of subnets: both are read.
    ec2.add_response(
        "describe_subnets", {"Subnets": [{"SubnetId": "subnet-b"}], "NextToken": "t1"}, {"Filters": IN_VPC}
    )
    ec2.add_response(
        "describe_subnets", {"Subnets": [{"SubnetId": "subnet-a"}]}, {"Filters": IN_VPC, "NextToken": "t1"}
    )
    ec2.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-1"}]}, {"Filters": IN_VPC})
    ec2.add_response("describe_route_tables", {"RouteTables": [{"RouteTableId": "rtb-1"}]}, {"Filters": IN_VPC})
    ec2.add_response(
        "describe_internet_gateways",
        {"InternetGateways": [{"InternetGatewayId": "igw-1"}]},
        {"Filters": [{"Name": "attachment.vpc-id", "Values": [VPC]}]},
    )
    gateways = [{"NatGatewayId": "nat-1", "NatGatewayAddresses": [{"AllocationId": "eipalloc-1"}]}] if nat else []
    ec2.add_response("describe_nat_gateways", {"NatGateways": gateways}, {"Filter": IN_VPC})
    if nat:
        ec2.add_response(
            "describe_addresses",
            {"Addresses": [{"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.7"}]},
            {"AllocationIds": ["eipalloc-1"]},
        )
    ec2.add_response("describe_vpc_endpoints", {"VpcEndpoints": [{"VpcEndpointId": "vpce-1"}]}, {"Filters": IN_VPC})
    ec2.add_response(
        "describe_placement_groups", {"PlacementGroups": [{"GroupName": "demo-efa"}]}, {"GroupNames": ["demo-efa"]}
    )


def nodes(ec2, ssm, ping=PING):
    ec2.add_response(
        "describe_instances",
        {"Reservations": [{"Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-0"}]}]},
        {"Filters": NODE_FILTERS},
    )
    ssm.add_response(
        "describe_instance_information",
        {
            "InstanceInformationList": [
                {"InstanceId": "i-0", "PingStatus": "Online", "ResourceType": "EC2Instance", "LastPingDateTime": ping},
                {"InstanceId": "i-1", "PingStatus": "Online", "ResourceType": "EC2Instance", "LastPingDateTime": ping},
            ]
        },
        {"Filters": [{"Key": "InstanceIds", "Values": ["i-0", "i-1"]}], "MaxResults": 50},
    )


FULL = {"cluster_name": "demo", "vpc_id": VPC, "placement_group": "demo-efa"}


def test_reads_every_section_once_and_counts_the_calls(clients):
    network(clients["ec2"][1])
    nodes(clients["ec2"][1], clients["ssm"][1])
    state, calls = provision_state.read_state(wrapped(clients), FULL)
    assert calls == 14  # the VPC and its 2 attributes, 2 pages of subnets, 7 other network reads, nodes, SSM
    assert [s["SubnetId"] for s in state["subnets"]] == ["subnet-b", "subnet-a"]
    assert provision_state.summary(state) == {
        "vpc": 1, "subnets": 2, "security_groups": 1, "route_tables": 1, "internet_gateways": 1, "nat_gateways": 1,
        "addresses": 1, "vpc_endpoints": 1, "placement_group": 1, "instances": 2, "managed_nodes": 2,
    }  # fmt: skip
    assert provision_state.missing(state) == []


def test_same_resources_same_digest_whatever_the_order_and_the_last_ping(clients):
    ec2, ssm = clients["ec2"][1], clients["ssm"][1]
    nodes(ec2, ssm)
    first = provision_state.read_state(wrapped(clients), {"cluster_name": "demo"})[0]
    nodes(ec2, ssm, ping=PING + datetime.timedelta(minutes=5))
    second = provision_state.read_state(wrapped(clients), {"cluster_name": "demo"})[0]
    second["instances"].reverse()
    assert provision_state.digest(first) == provision_state.digest(second)


def test_a_node_no_longer_online_changes_the_digest(clients):
    ec2, ssm = clients["ec2"][1], clients["ssm"][1]
    nodes(ec2, ssm)
    online = provision_state.read_state(wrapped(clients), {"cluster_name": "demo"})[0]
    ec2.add_response(
        "describe_instances",
        {"Reservations": [{"Instances": [{"InstanceId": "i-0"}, {"InstanceId": "i-1"}]}]},
        {"Filters": NODE_FILTERS},
    )
    ssm.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [{"InstanceId": "i-0", "PingStatus": "ConnectionLost"}]},
        {"Filters": [{"Key": "InstanceIds", "Values": ["i-0", "i-1"]}], "MaxResults": 50},
    )
    lost = provision_state.read_state(wrapped(clients), {"cluster_name": "demo"})[0]
    assert provision_state.digest(online) != provision_state.digest(lost)


def test_a_vpc_gone_reads_as_missing_and_nothing_more_of_the_network(clients):
    ec2 = clients["ec2"][1]
    ec2.add_client_error("describe_vpcs", "InvalidVpcID.NotFound", "gone", 400, expected_params={"VpcIds": [VPC]})
    ec2.add_response("describe_instances", {"Reservations": []}, {"Filters": NODE_FILTERS})
    state, calls = provision_state.read_state(wrapped(clients), FULL)
    assert state["vpc"] == {"missing": "InvalidVpcID.NotFound"}
    assert calls == 2 and provision_state.missing(state) == ["vpc"]
    assert provision_state.summary(state) == {"vpc": 0, "instances": 0}


def test_identity_bucket_template_reservation_and_parameters(clients):
    ec2, ssm, iam, s3 = (clients[s][1] for s in ("ec2", "ssm", "iam", "s3"))
    ec2.add_response("describe_instances", {"Reservations": []}, {"Filters": NODE_FILTERS})
    ec2.add_response(
        "describe_launch_templates",
        {"LaunchTemplates": [{"LaunchTemplateId": "lt-1", "LatestVersionNumber": 3}]},
        {"LaunchTemplateIds": ["lt-1"]},
    )
    ec2.add_response(
        "describe_launch_template_versions",
        {"LaunchTemplateVersions": [{"VersionNumber": 3, "LaunchTemplateData": {"ImageId": "ami-1"}}]},
        {"LaunchTemplateId": "lt-1", "Versions": ["$Latest", "$Default"]},
    )
    ec2.add_client_error(
        "describe_capacity_reservations",
        "InvalidCapacityReservationId.NotFound",
        "gone",
        400,
        expected_params={"CapacityReservationIds": ["cr-1"]},
    )
    created = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
    role = {
        "RoleName": "demo-node", "Path": "/", "RoleId": "AROAEXAMPLE1234567890",
        "Arn": "arn:aws:iam::123456789012:role/demo-node", "CreateDate": created,
        "RoleLastUsed": {"LastUsedDate": created},
    }  # fmt: skip
    iam.add_response("get_role", {"Role": role}, {"RoleName": "demo-node"})
    iam.add_response("list_role_policies", {"PolicyNames": ["bucket"]}, {"RoleName": "demo-node"})
    iam.add_response(
        "get_role_policy",
        {"RoleName": "demo-node", "PolicyName": "bucket", "PolicyDocument": "{}"},
        {"RoleName": "demo-node", "PolicyName": "bucket"},
    )
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": []}, {"RoleName": "demo-node"})
    iam.add_client_error(
        "get_instance_profile", "NoSuchEntity", "gone", 404, expected_params={"InstanceProfileName": "demo-node"}
    )
    s3.add_client_error("get_bucket_tagging", "NoSuchBucket", "gone", 404, expected_params={"Bucket": "demo-bucket"})
    ssm.add_response(
        "get_parameters",
        {"Parameters": [], "InvalidParameters": ["/aws/service/ami"]},
        {"Names": ["/aws/service/ami"]},
    )
    ssm.add_response(
        "get_parameters_by_path",
        {"Parameters": [{"Name": "/nixl-efa/demo/reservation-id", "Value": "cr-1"}]},
        {"Path": "/nixl-efa/demo", "Recursive": True},
    )
    params = {
        "cluster_name": "demo", "launch_template_id": "lt-1", "capacity_reservation_id": "cr-1",
        "role_name": "demo-node", "instance_profile_name": "demo-node", "bucket": "demo-bucket",
        "parameter_names": ["/aws/service/ami"], "parameter_paths": ["/nixl-efa/demo"],
    }  # fmt: skip
    state, calls = provision_state.read_state(wrapped(clients), params)
    assert calls == 12
    assert "RoleLastUsed" in state["role"]["role"]  # read, then left out of the digest
    assert "RoleLastUsed" not in provision_state.normalize(state)["role"]["role"]
    assert state["bucket"] == {"name": "demo-bucket", "exists": False}
    assert provision_state.missing(state) == ["capacity_reservation", "instance_profile", "parameter /aws/service/ami"]
    assert provision_state.summary(state)["parameters"] == 2


def test_normalize_dates_and_lists():
    when = datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc)
    assert provision_state.normalize({"b": [3, 1, 2], "a": when, "ResponseMetadata": {}}) == {
        "b": [1, 2, 3],
        "a": "2026-12-06T00:00:00+00:00",
    }
