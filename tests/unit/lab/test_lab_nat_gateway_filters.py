# -*- coding: utf-8 -*-
"""The lab's DescribeNatGateways honours tag filters, as AWS's does.

The network role's teardown finds the cluster's NAT gateways by `tag:nixl-efa:cluster` and deletes
what it finds; moto ignores tag filters there, so in a lab shared by several clusters one cluster's
teardown deleted another's gateway (lab/lab_fixes.py).
"""

import pathlib
import sys

import boto3
from moto import mock_aws

LAB = pathlib.Path(__file__).resolve().parents[3] / "lab"
if str(LAB) not in sys.path:
    sys.path.insert(0, str(LAB))

import moto_lab  # noqa: E402

TAG = "nixl-efa:cluster"


def _tags(kind, cluster):
    return [{"ResourceType": kind, "Tags": [{"Key": TAG, "Value": cluster}, {"Key": "team", "Value": "ml"}]}]


def test_nat_gateways_are_found_by_their_tags_only():
    moto_lab.install({})
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        made = {}
        for cluster in ("one", "two"):
            address = ec2.allocate_address(Domain="vpc")["AllocationId"]
            made[cluster] = ec2.create_nat_gateway(
                SubnetId=subnet, AllocationId=address, TagSpecifications=_tags("natgateway", cluster)
            )["NatGateway"]["NatGatewayId"]
        spare = ec2.allocate_address(Domain="vpc")["AllocationId"]
        untagged = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=spare)["NatGateway"]["NatGatewayId"]

        def found(*filters):
            listed = ec2.describe_nat_gateways(Filters=[{"Name": n, "Values": v} for n, v in filters])["NatGateways"]
            return sorted(g["NatGatewayId"] for g in listed)

        assert found((f"tag:{TAG}", ["one"])) == [made["one"]]
        assert found((f"tag:{TAG}", ["one", "two"])) == sorted(made.values())
        assert found((f"tag:{TAG}", ["three"])) == []
        assert found(("tag-key", [TAG])) == sorted(made.values())
        assert found(("tag-value", ["two"])) == [made["two"]]
        # moto's own filters still apply, together with the tag filter.
        assert found((f"tag:{TAG}", ["one"]), ("vpc-id", ["vpc-other"])) == []
        assert found(("subnet-id", [subnet])) == sorted([*made.values(), untagged])
