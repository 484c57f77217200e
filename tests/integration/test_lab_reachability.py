# -*- coding: utf-8 -*-
"""The lab refuses and withholds what AWS does for the rules that decide whether a node comes up.

Checked through boto3 against the running lab (lab/lab_instances.py, lab_reachability.py,
lab_ssm.py, lab_fixes.py; each cites AWS's documentation for its rule):

- AssociatePublicIpAddress with more than one network interface is refused, nothing launched;
  a subnet that maps public addresses gives none to an instance with several interfaces;
- a node is Online in Session Manager only with a way out (public address behind an internet
  gateway, a NAT gateway in a public subnet, or the three interface endpoints with private DNS
  and HTTPS allowed both ways), else absent, or ConnectionLost once it was Online; StartSession
  refuses such a node with TargetNotConnected and says why;
- the default VPC has its internet gateway, as on AWS;
- DescribeInstanceInformation pages as AWS pages it (10 by default, MaxResults 5 to 50, filters
  other than InstanceIds applied after the page is cut), and ssm_managed_node_info waits for
  twelve nodes through those pages.
"""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-2"
ZONE = REGION + "a"
MULTI = "p5.48xlarge"
SINGLE = "t3.micro"


def _client(url, service, config=None):
    return boto3.client(service, region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=config)  # fmt: skip


class Net:
    """Builds VPCs the way a user would, in the lab, and launches managed instances into them."""

    def __init__(self, url):
        self.url = url
        self.ec2 = _client(url, "ec2")
        self.ssm = _client(url, "ssm")
        iam = _client(url, "iam")
        trust = {"Version": "2012-10-17", "Statement": []}
        iam.create_role(RoleName="reach-node", AssumeRolePolicyDocument=json.dumps(trust))
        iam.create_instance_profile(InstanceProfileName="reach-node")
        iam.add_role_to_instance_profile(InstanceProfileName="reach-node", RoleName="reach-node")
        self.image = self.ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        self.cidr = 10

    def vpc(self, dns=True):
        self.cidr += 1
        vpc = self.ec2.create_vpc(CidrBlock=f"10.{self.cidr}.0.0/16")["Vpc"]["VpcId"]
        for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
            self.ec2.modify_vpc_attribute(VpcId=vpc, **{attribute: {"Value": dns}})
        group = self.ec2.create_security_group(GroupName=f"nodes-{vpc}", Description="nodes", VpcId=vpc)["GroupId"]
        return {"vpc": vpc, "group": group, "prefix": f"10.{self.cidr}"}

    def subnet(self, net, index, public=False):
        subnet = self.ec2.create_subnet(VpcId=net["vpc"], CidrBlock=f"{net['prefix']}.{index}.0/24",
                                        AvailabilityZone=ZONE)["Subnet"]["SubnetId"]  # fmt: skip
        if public:
            self.ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
        return subnet

    def route(self, net, subnet, **target):
        table = self.ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
        self.ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        if target:
            self.ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)
        return table

    def igw(self, net):
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])
        return igw

    def launch(self, subnet, group, interfaces=1, count=1, **extra):
        nics = [{"NetworkCardIndex": card, "DeviceIndex": 0 if card == 0 else 1, "SubnetId": subnet,
                 "Groups": [group], "DeleteOnTermination": True,
                 "InterfaceType": "efa" if interfaces > 1 else "interface"} for card in range(interfaces)]  # fmt: skip
        nics[0].update(extra.pop("primary", {}))
        launched = self.ec2.run_instances(MinCount=count, MaxCount=count, ImageId=self.image,
                                          InstanceType=MULTI if interfaces > 1 else SINGLE, NetworkInterfaces=nics,
                                          IamInstanceProfile={"Name": "reach-node"}, **extra)["Instances"]  # fmt: skip
        return [i["InstanceId"] for i in launched]

    def status(self, instance_id):
        listed = self.ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [instance_id]}])[
            "InstanceInformationList"
        ]
        return listed[0]["PingStatus"] if listed else None

    def refused(self, instance_id):
        with pytest.raises(ClientError) as refused:
            self.ssm.start_session(Target=instance_id)
        assert refused.value.response["Error"]["Code"] == "TargetNotConnected"
        return refused.value.response["Error"]["Message"]

    def public_ip(self, instance_id):
        (reservation,) = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        return reservation["Instances"][0].get("PublicIpAddress")


@pytest.fixture(scope="module")
def net(lab_aws):
    return Net(lab_aws)


def test_public_address_refused_with_several_interfaces(net):
    n = net.vpc()
    subnet = net.subnet(n, 1)
    before = len(net.ec2.describe_instances()["Reservations"])
    with pytest.raises(ClientError) as refused:
        net.launch(subnet, n["group"], interfaces=2, primary={"AssociatePublicIpAddress": True})
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterCombination"
    assert "multiple network interfaces" in error["Message"]
    assert len(net.ec2.describe_instances()["Reservations"]) == before  # nothing launched


def test_public_subnet_withholds_the_address_and_session_manager_from_multi_interface_nodes(net):
    n = net.vpc()
    subnet = net.subnet(n, 1, public=True)
    net.route(n, subnet, GatewayId=net.igw(n))
    (single,) = net.launch(subnet, n["group"])
    (multi,) = net.launch(subnet, n["group"], interfaces=4)
    assert net.public_ip(single) and not net.public_ip(multi)
    assert net.status(single) == "Online"
    assert net.status(multi) is None
    assert "no public IPv4 address" in net.refused(multi)
    session = net.ssm.start_session(Target=single)
    net.ssm.terminate_session(SessionId=session["SessionId"])


def test_private_subnet_through_a_nat_gateway_then_connection_lost(net):
    n = net.vpc()
    public = net.subnet(n, 1)
    private = net.subnet(n, 2)
    net.route(n, public, GatewayId=net.igw(n))
    allocation = net.ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = net.ec2.create_nat_gateway(SubnetId=public, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    table = net.route(n, private, NatGatewayId=nat)
    (node,) = net.launch(private, n["group"], interfaces=4)
    assert not net.public_ip(node)
    assert net.status(node) == "Online", net.refused(node)
    net.ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    assert net.status(node) == "ConnectionLost"
    assert "no default route" in net.refused(node)


def test_nat_gateway_without_an_internet_route_is_no_way_out(net):
    n = net.vpc()
    public = net.subnet(n, 1)
    private = net.subnet(n, 2)
    net.igw(n)  # attached, but the NAT gateway's subnet has no route to it
    allocation = net.ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = net.ec2.create_nat_gateway(SubnetId=public, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    net.route(n, private, NatGatewayId=nat)
    (node,) = net.launch(private, n["group"], interfaces=2)
    assert net.status(node) is None
    assert "no route to an internet gateway" in net.refused(node)


def _endpoints(net, n, subnet, services=("ssm", "ssmmessages", "ec2messages"), https=True):
    group = net.ec2.create_security_group(GroupName=f"endpoints-{n['vpc']}", Description="endpoints",
                                          VpcId=n["vpc"])["GroupId"]  # fmt: skip
    if https:
        https_in = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": n["group"]}]}
        net.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[https_in])
    for service in services:
        net.ec2.create_vpc_endpoint(VpcId=n["vpc"], ServiceName=f"com.amazonaws.{REGION}.{service}",
                                    VpcEndpointType="Interface", SubnetIds=[subnet],
                                    SecurityGroupIds=[group])  # fmt: skip


@pytest.mark.parametrize(
    ("services", "https", "dns", "online", "why"),
    [
        (("ssm", "ssmmessages", "ec2messages"), True, True, True, ""),
        (("ssm", "ssmmessages"), True, True, False, "ec2messages"),
        (("ssm", "ssmmessages", "ec2messages"), False, True, False, "HTTPS allowed"),
        (("ssm", "ssmmessages", "ec2messages"), True, False, False, "DNS host names"),
    ],
    ids=["all-three", "no-ec2messages", "no-https-rule", "no-vpc-dns"],
)
def test_private_subnet_through_interface_endpoints(net, services, https, dns, online, why):
    n = net.vpc(dns=dns)
    subnet = net.subnet(n, 1)
    net.route(n, subnet)
    _endpoints(net, n, subnet, services, https)
    (node,) = net.launch(subnet, n["group"], interfaces=2)
    assert net.status(node) == ("Online" if online else None)
    if not online:
        assert why in net.refused(node)


def test_default_vpc_reaches_session_manager_as_on_aws(net):
    vpc = net.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    igws = net.ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])
    assert len(igws["InternetGateways"]) == 1
    in_zone = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "availability-zone", "Values": [ZONE]}]
    subnet = net.ec2.describe_subnets(Filters=in_zone)["Subnets"][0]
    assert subnet["MapPublicIpOnLaunch"] is True
    group = net.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                      {"Name": "group-name", "Values": ["default"]}])  # fmt: skip
    (node,) = net.launch(subnet["SubnetId"], group["SecurityGroups"][0]["GroupId"])
    assert net.public_ip(node) and net.status(node) == "Online"


def test_paging_as_aws_pages(net):
    n = net.vpc()
    subnet = net.subnet(n, 1, public=True)
    net.route(n, subnet, GatewayId=net.igw(n))
    ids = net.launch(subnet, n["group"], count=12)
    tagged = ids[::4]
    net.ec2.create_tags(Resources=tagged, Tags=[{"Key": "reach", "Value": "picked"}])
    ours = [{"Key": "InstanceIds", "Values": ids}]

    first = net.ssm.describe_instance_information(Filters=ours)
    assert len(first["InstanceInformationList"]) == 10 and first["NextToken"]
    rest = net.ssm.describe_instance_information(Filters=ours, NextToken=first["NextToken"])
    assert len(rest["InstanceInformationList"]) == 2 and "NextToken" not in rest
    unchecked = _client(net.url, "ssm", Config(parameter_validation=False))  # botocore checks 5 itself
    for size in (4, 51):
        with pytest.raises(ClientError) as refused:
            unchecked.describe_instance_information(MaxResults=size)
        assert refused.value.response["Error"]["Code"] == "ValidationException"

    # A tag filter is applied to each page after it is cut: short pages, a NextToken to follow.
    pages = list(net.ssm.get_paginator("describe_instance_information").paginate(
        Filters=[{"Key": "tag:reach", "Values": ["picked"]}], PaginationConfig={"PageSize": 5}))  # fmt: skip
    found = [n["InstanceId"] for p in pages for n in p["InstanceInformationList"]]
    assert sorted(found) == sorted(tagged)
    assert any(len(p["InstanceInformationList"]) < 5 and p.get("NextToken") for p in pages)


WAIT = """
- name: Wait for twelve nodes through DescribeInstanceInformation's pages
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait
      nixl_efa.cluster.ssm_managed_node_info:
        instance_ids: {ids}
        wait: true
        wait_timeout: 30
        wait_delay: 1
        region: {region}
        endpoint_url: {url}
        access_key: testing
        secret_key: testing
      register: waited
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ waited | to_json }}}}"
        dest: "{{{{ report }}}}"
        mode: "0600"
"""


def test_module_waits_for_more_nodes_than_one_page(net, run_playbook):
    n = net.vpc()
    subnet = net.subnet(n, 1, public=True)
    net.route(n, subnet, GatewayId=net.igw(n))
    ids = net.launch(subnet, n["group"], count=12)
    waited = run_playbook(WAIT.format(ids=json.dumps(ids), region=REGION, url=net.url))
    assert waited["not_online"] == []
    assert sorted(n["instance_id"] for n in waited["managed_nodes"]) == sorted(ids)
