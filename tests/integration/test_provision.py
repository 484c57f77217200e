# -*- coding: utf-8 -*-
"""playbooks/provision.yml, capacity_block.yml and teardown.yml against the lab's local AWS.

The playbooks run as users run them (ansible-playbook -i inventories/aws ...), reaching the
lab through AWS_ENDPOINT_URL, which botocore honours for every client: modules, lookups and
the aws_ec2 inventory alike. Every property is checked afterwards with AWS's own describe calls.
"""

import datetime
import json
import re

import boto3
import pytest

REGION = "us-east-1"
TAG = "nixl-efa:cluster"
GPU_AMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id"


def clients(lab_aws):
    kw = dict(endpoint_url=lab_aws, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return {name: boto3.client(name, **kw) for name in ("ec2", "s3", "iam", "ssm")}


def tagged(ec2, cluster):
    """Every cluster-tagged resource the lab knows, by kind (instances only while not terminated)."""
    f = [{"Name": f"tag:{TAG}", "Values": [cluster]}]
    live = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=f)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=f)["Subnets"]],
        "security_groups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=f)["SecurityGroups"]],
        "route_tables": [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=f)["RouteTables"]],
        "internet_gateways": [
            i["InternetGatewayId"] for i in ec2.describe_internet_gateways(Filters=f)["InternetGateways"]
        ],
        "endpoints": [
            e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=f)["VpcEndpoints"] if e["State"] != "deleted"
        ],
        "placement_groups": [p["GroupName"] for p in ec2.describe_placement_groups(Filters=f)["PlacementGroups"]],
        "instances": [
            i["InstanceId"] for r in ec2.describe_instances(Filters=f + live)["Reservations"] for i in r["Instances"]
        ],
        "launch_templates": [
            t["LaunchTemplateName"] for t in ec2.describe_launch_templates(Filters=f)["LaunchTemplates"]
        ],
        "nat_gateways": [
            n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filter=f)["NatGateways"] if n["State"] != "deleted"
        ],
        "elastic_ips": [a["AllocationId"] for a in ec2.describe_addresses(Filters=f)["Addresses"]],
    }  # fmt: skip


def nothing_left(ec2, cluster):
    left = tagged(ec2, cluster)
    return {k: v for k, v in left.items() if v}


def buckets_of(s3, cluster):
    return [b["Name"] for b in s3.list_buckets()["Buckets"] if f"-{cluster}-" in b["Name"]]


def roles_of(iam, cluster):
    return [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{cluster}-")]


def reservations(ec2):
    return ec2.describe_capacity_reservations()["CapacityReservations"]


def lab_vars(cluster, **extra):
    """Extra vars of a lab cluster: the inventory's defaults (two p5.48xlarge) under another name.

    The run declares itself a lab run (cluster_local_aws, which every playbook's guard checks against
    the loopback AWS_ENDPOINT_URL), and the lab serves plain HTTP, so the bucket policy that refuses
    non-TLS requests is left out (cluster_require_tls); everything else is as on AWS.
    """
    return {"cluster_name": cluster, "cluster_region": REGION, "cluster_local_aws": True, "cluster_require_tls": False,
            **extra}  # fmt: skip


@pytest.fixture(scope="module")
def aws(lab_aws):
    return clients(lab_aws)


# --- On demand, private subnet: provision twice, security, inventory, teardown ------------

ON_DEMAND = "od-private"


@pytest.fixture(scope="module")
def on_demand(lab_aws, aws, ansible_playbook, lab_throttle, tmp_path_factory):
    """A private on-demand cluster provisioned twice with a fifth of the lab's calls answered with the
    service's throttling error (as a busy account's are); the outputs of the second run."""
    # Untagged look-alikes that teardown must leave alone.
    vpc = aws["ec2"].create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    aws["ec2"].create_security_group(GroupName=f"{ON_DEMAND}-efa", Description="not ours", VpcId=vpc)
    aws["s3"].create_bucket(Bucket=f"nixl-efa-{ON_DEMAND}-not-ours")
    outputs = tmp_path_factory.mktemp("od") / "outputs.json"
    extra = lab_vars(ON_DEMAND, cluster_private=True, provision_outputs_file=str(outputs))
    preview = ansible_playbook("playbooks/provision.yml", lab_aws, extra, check=True)
    left_by_preview = nothing_left(aws["ec2"], ON_DEMAND)
    with lab_throttle(0.2) as counters:
        first = ansible_playbook("playbooks/provision.yml", lab_aws, extra)
        second = ansible_playbook("playbooks/provision.yml", lab_aws, extra)
        throttled = counters()
    check = ansible_playbook("playbooks/provision.yml", lab_aws, extra, check=True)
    return {
        "preview": preview, "left_by_preview": left_by_preview, "first": first, "second": second, "check": check,
        "outputs": json.loads(outputs.read_text()), "decoy_vpc": vpc, "throttled": throttled,
    }  # fmt: skip


def test_check_mode_creates_nothing_then_reports_no_change(on_demand):
    assert "Check mode: every input is valid" in on_demand["preview"].stdout
    assert on_demand["left_by_preview"] == {}
    assert on_demand["check"].recap["changed"] == 0, on_demand["check"].changed_tasks()


def test_provision_twice_second_run_changes_nothing_with_a_fifth_of_calls_throttled(on_demand):
    seen = on_demand["throttled"]
    assert seen["throttled"] > 20 and seen["throttled"] * 5 <= seen["calls"] + 5, seen
    assert on_demand["first"].recap["changed"] > 0
    assert on_demand["second"].recap["changed"] == 0, on_demand["second"].changed_tasks()
    out = on_demand["outputs"]
    assert [n["node_index"] for n in out["nodes"]] == [0, 1]
    assert [n["roles"] for n in out["nodes"]] == [["prefill", "mlflow"], ["decode"]]
    assert all(n["state"] == "running" for n in out["nodes"])
    summary = on_demand["second"].stdout
    assert "Private IPs:" in summary and out["nodes"][0]["private_ip_address"] in summary


def test_security_group_allows_efa_inside_and_nothing_from_the_internet(aws, on_demand):
    out = on_demand["outputs"]
    group = aws["ec2"].describe_security_groups(GroupIds=[out["security_group_id"]])["SecurityGroups"][0]
    vpc_cidr = aws["ec2"].describe_vpcs(VpcIds=[out["vpc_id"]])["Vpcs"][0]["CidrBlock"]

    def rules(perms):
        found = set()
        for p in perms:
            ports = (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"))
            found |= {ports + ("group", g["GroupId"]) for g in p.get("UserIdGroupPairs", [])}
            found |= {ports + ("cidr", r["CidrIp"]) for r in p.get("IpRanges", [])}
        return found

    ingress, egress = rules(group["IpPermissions"]), rules(group["IpPermissionsEgress"])
    own = out["security_group_id"]
    assert ("-1", None, None, "group", own) in ingress, "EFA needs all traffic from the group itself"
    assert ("-1", None, None, "group", own) in egress, "EFA needs all traffic to the group itself"
    # vLLM and MLflow from the cluster's own group, not from the VPC CIDR (every instance of a shared VPC).
    assert ("tcp", 8100, 8100, "group", own) in ingress, "vLLM, from the cluster's nodes only"
    assert ("tcp", 8192, 8192, "group", own) in ingress, "the vLLM proxy, from the cluster's nodes only"
    assert ("tcp", 5000, 5000, "group", own) in ingress
    assert {r[4] for r in ingress if r[3] == "cidr"} == set(), "no address range is allowed in, not even the VPC's"
    assert vpc_cidr not in {r[4] for r in ingress}
    assert not [r for r in ingress if r[1] is not None and r[1] <= 22 <= r[2]], "port 22 is never open"


def test_private_subnet_reaches_ssm_through_endpoints(aws, on_demand):
    out = on_demand["outputs"]
    subnet = aws["ec2"].describe_subnets(SubnetIds=[out["subnet_id"]])["Subnets"][0]
    assert subnet["MapPublicIpOnLaunch"] is False
    assert subnet["AvailabilityZone"] == out["availability_zone"]
    endpoints = aws["ec2"].describe_vpc_endpoints(VpcEndpointIds=out["endpoint_ids"])["VpcEndpoints"]
    services = {e["ServiceName"].rsplit(".", 1)[1]: e for e in endpoints}
    assert set(services) == {"ssm", "ssmmessages", "ec2messages", "s3"}
    for name in ("ssm", "ssmmessages", "ec2messages"):
        assert services[name]["VpcEndpointType"] == "Interface"
        assert services[name]["SubnetIds"] == [out["subnet_id"]]
        assert services[name]["PrivateDnsEnabled"] is True
    assert services["s3"]["VpcEndpointType"] == "Gateway" and services["s3"]["RouteTableIds"]


def test_private_subnet_installs_through_its_nat_gateway(aws, on_demand):
    """The shipped default: the nodes' default route goes to a NAT gateway in a public subnet of its own."""
    ec2, out = aws["ec2"], on_demand["outputs"]
    (nat,) = ec2.describe_nat_gateways(NatGatewayIds=[out["nat_gateway_id"]])["NatGateways"]
    assert nat["State"] == "available" and nat["VpcId"] == out["vpc_id"]
    assert nat["NatGatewayAddresses"][0]["PublicIp"], "a public NAT gateway holds an Elastic IP"
    (address,) = ec2.describe_addresses(AllocationIds=[nat["NatGatewayAddresses"][0]["AllocationId"]])["Addresses"]
    assert {"Key": TAG, "Value": ON_DEMAND} in address["Tags"]
    (nat_subnet,) = ec2.describe_subnets(SubnetIds=[nat["SubnetId"]])["Subnets"]
    assert nat_subnet["SubnetId"] != out["subnet_id"] and nat_subnet["AvailabilityZone"] == out["availability_zone"]

    def default_route(subnet):
        tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
        (table,) = tables["RouteTables"]
        return next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")

    assert default_route(out["subnet_id"])["NatGatewayId"] == nat["NatGatewayId"]
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [out["vpc_id"]]}])
    (igw,) = igws["InternetGateways"]
    assert default_route(nat["SubnetId"])["GatewayId"] == igw["InternetGatewayId"]
    nodes = ec2.describe_instances(InstanceIds=[n["instance_id"] for n in out["nodes"]])["Reservations"]
    assert not [i for r in nodes for i in r["Instances"] if i.get("PublicIpAddress")], "EFA nodes have no public IP"


def test_nodes_are_efa_imdsv2_encrypted_in_the_placement_group_with_the_ssm_profile(aws, on_demand):
    out = on_demand["outputs"]
    ids = [n["instance_id"] for n in out["nodes"]]
    instances = [i for r in aws["ec2"].describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    template = aws["ec2"].describe_launch_template_versions(
        LaunchTemplateId=out["launch_template_id"], Versions=["$Default"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert template["MetadataOptions"]["HttpTokens"] == "required"
    assert template["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    for instance in instances:
        assert instance["Placement"]["GroupName"] == out["placement_group"]
        assert instance["Placement"]["AvailabilityZone"] == out["availability_zone"]
        assert out["instance_profile"] in instance["IamInstanceProfile"]["Arn"]
        types = sorted({n["InterfaceType"] for n in instance["NetworkInterfaces"]})
        assert types == ["efa", "efa-only"], types
        assert not instance.get("PublicIpAddress")
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["nixl-efa:transfer-bucket"] == out["bucket"]
    group = aws["ec2"].describe_placement_groups(GroupNames=[out["placement_group"]])["PlacementGroups"][0]
    assert group["Strategy"] == "cluster"


def test_inventory_lists_exactly_the_cluster_nodes_with_ssm_connection(aws, on_demand, ansible_inventory):
    # An instance outside any cluster, and one of another cluster: neither may appear.
    image = aws["ssm"].get_parameter(Name=GPU_AMI_PARAMETER)["Parameter"]["Value"]
    stranger = aws["ec2"].run_instances(ImageId=image, InstanceType="t3.large", MinCount=1, MaxCount=1)
    other = aws["ec2"].run_instances(
        ImageId=image, InstanceType="t3.large", MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": TAG, "Value": "someone-else"}]}],
    )  # fmt: skip
    try:
        inventory = ansible_inventory(ON_DEMAND)
    finally:
        ids = [stranger["Instances"][0]["InstanceId"], other["Instances"][0]["InstanceId"]]
        aws["ec2"].terminate_instances(InstanceIds=ids)
    nodes = {n["instance_id"]: n for n in on_demand["outputs"]["nodes"]}
    hostvars = inventory["_meta"]["hostvars"]
    assert set(hostvars) == set(nodes)
    assert set(inventory["nixl_efa_nodes"]["hosts"]) == set(nodes)
    for iid, node in nodes.items():
        assert hostvars[iid]["ansible_connection"] == "amazon.aws.aws_ssm"
        assert hostvars[iid]["ansible_aws_ssm_region"] == REGION
        assert hostvars[iid]["ansible_aws_ssm_bucket_name"] == on_demand["outputs"]["bucket"]
        assert hostvars[iid]["node_index"] == node["node_index"]
        # What configure, validate and verify_efa compare with cluster_name (playbooks/tasks/cluster_nodes.yml).
        assert hostvars[iid]["node_cluster"] == ON_DEMAND
    by_index = {n["node_index"]: iid for iid, n in nodes.items()}
    assert inventory["prefill"]["hosts"] == [by_index[0]]
    assert inventory["mlflow"]["hosts"] == [by_index[0]]
    assert inventory["decode"]["hosts"] == [by_index[1]]


def test_teardown_removes_every_tagged_resource_and_nothing_else(
    lab_aws, aws, on_demand, ansible_playbook, lab_throttle
):
    bucket, profile = on_demand["outputs"]["bucket"], on_demand["outputs"]["instance_profile"]
    aws["s3"].put_object(Bucket=bucket, Key="scripts/run.sh", Body=b"echo hi\n")
    with lab_throttle(0.2) as counters:
        first = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(ON_DEMAND))
        seen = counters()
    assert seen["throttled"] > 5, seen
    assert "No capacity block belongs to cluster" in first.stdout
    assert nothing_left(aws["ec2"], ON_DEMAND) == {}
    assert buckets_of(aws["s3"], ON_DEMAND) == [f"nixl-efa-{ON_DEMAND}-not-ours"]
    assert roles_of(aws["iam"], ON_DEMAND) == []
    assert profile not in [p["InstanceProfileName"] for p in aws["iam"].list_instance_profiles()["InstanceProfiles"]]
    # The untagged look-alikes are still there.
    assert aws["ec2"].describe_vpcs(VpcIds=[on_demand["decoy_vpc"]])["Vpcs"]
    groups = aws["ec2"].describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{ON_DEMAND}-efa"]}])
    assert [g["VpcId"] for g in groups["SecurityGroups"]] == [on_demand["decoy_vpc"]]
    second = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(ON_DEMAND))
    assert second.recap["changed"] == 0, second.changed_tasks()


# --- Capacity block: search, check-mode purchase, purchase, re-run, provision, teardown -----

BLOCK = "cb-flow"


def test_capacity_block_flow_to_nodes_in_the_reservation(lab_aws, aws, ansible_playbook, tmp_path):
    out = tmp_path / "cb.json"
    base = lab_vars(BLOCK, cluster_capacity_block_duration_hours=24, capacity_block_output_file=str(out))

    search = ansible_playbook("playbooks/capacity_block.yml", lab_aws, dict(base, action="search"))
    offerings = json.loads(out.read_text())["offerings"]
    assert len(offerings) >= 3 and all(o["instance_count"] == 2 for o in offerings)
    assert re.search(r"offering\s+zone\s+start \(UTC\)", search.stdout)
    assert offerings[0]["capacity_block_offering_id"] in search.stdout

    before = len(reservations(aws["ec2"]))
    buy = dict(
        base, action="purchase", cluster_capacity_block_purchase=True, cluster_capacity_block_max_upfront_fee=5000
    )
    preview = ansible_playbook("playbooks/capacity_block.yml", lab_aws, buy, check=True)
    assert "Would buy" in preview.stdout
    assert len(reservations(aws["ec2"])) == before, "check mode bought something"

    bought = ansible_playbook("playbooks/capacity_block.yml", lab_aws, buy)
    assert "Bought" in bought.stdout
    reservation_id = json.loads(out.read_text())["reservation_id"]
    assert len(reservations(aws["ec2"])) == before + 1
    again = ansible_playbook("playbooks/capacity_block.yml", lab_aws, buy)
    assert "Already bought" in again.stdout and again.recap["changed"] == 0
    assert len(reservations(aws["ec2"])) == before + 1
    saved = aws["ssm"].get_parameter(Name=f"/nixl-efa/{BLOCK}/reservation-id")["Parameter"]["Value"]
    assert saved == reservation_id

    # Provisioning finds the saved reservation: the nodes run in its zone as capacity-block instances.
    outputs = tmp_path / "outputs.json"
    provision = dict(base, cluster_capacity_block=True, provision_outputs_file=str(outputs))
    ansible_playbook("playbooks/provision.yml", lab_aws, provision)
    result = json.loads(outputs.read_text())
    reservation = aws["ec2"].describe_capacity_reservations(CapacityReservationIds=[reservation_id])
    reservation = reservation["CapacityReservations"][0]
    assert result["capacity_reservation_id"] == reservation_id
    assert result["availability_zone"] == reservation["AvailabilityZone"]
    ids = [n["instance_id"] for n in result["nodes"]]
    instances = [i for r in aws["ec2"].describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    assert len(instances) == 2
    for instance in instances:
        assert instance["Placement"]["AvailabilityZone"] == reservation["AvailabilityZone"]
        assert instance["InstanceLifecycle"] == "capacity-block"
        assert instance["CapacityReservationId"] == reservation_id
    assert reservation["AvailableInstanceCount"] == 0
    subnet = aws["ssm"].get_parameter(Name=f"/nixl-efa/{BLOCK}/subnet-id")["Parameter"]["Value"]
    assert subnet == result["subnet_id"]

    listed = ansible_playbook("playbooks/capacity_block.yml", lab_aws, dict(base, action="list"))
    assert re.search(rf"{reservation_id}\s+active\s+\S+\s+p5.48xlarge\s+0/2", listed.stdout), listed.stdout[-3000:]
    # describe shows what the old script showed, the time left and the nodes running in the block.
    described = ansible_playbook("playbooks/capacity_block.yml", lab_aws, dict(base, action="describe"))
    said = " ".join(described.stdout.split())
    assert f"reservation {reservation_id} (active)" in said, said[-3000:]
    assert "platform: Linux/UNIX, tenancy: default, match criteria: targeted, end date type: limited" in said
    assert re.search(r"UTC: ends in (\d+d )?\d+h \d+m \(at ", said), said[-3000:]
    assert f"instances running in it: {', '.join(sorted(ids))}" in said or (
        f"instances running in it: {', '.join(reversed(sorted(ids)))}" in said
    ), said[-3000:]

    down = ansible_playbook("playbooks/teardown.yml", lab_aws, lab_vars(BLOCK))
    assert f"Kept 1 capacity block reservation(s) of cluster {BLOCK}: {reservation_id}" in down.stdout
    assert nothing_left(aws["ec2"], BLOCK) == {}
    kept = aws["ec2"].describe_capacity_reservations(CapacityReservationIds=[reservation_id])["CapacityReservations"]
    assert kept[0]["State"] == "active" and kept[0]["AvailableInstanceCount"] == 2


# --- Bad input: a clear error before anything is created or bought --------------------------


def buy_block(ec2, count, zone, later=False):
    """A capacity block bought directly from the lab, the earliest (or a later, not yet started) one."""
    offerings = ec2.describe_capacity_block_offerings(
        InstanceType="p5.48xlarge", InstanceCount=count, CapacityDurationHours=24,
        StartDateRange=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1),
    )["CapacityBlockOfferings"]  # fmt: skip
    in_zone = sorted((o for o in offerings if o["AvailabilityZone"] == zone), key=lambda o: o["StartDate"])
    offering = in_zone[-1] if later else in_zone[0]
    bought = ec2.purchase_capacity_block(
        CapacityBlockOfferingId=offering["CapacityBlockOfferingId"], InstancePlatform="Linux/UNIX"
    )
    return bought["CapacityReservation"]["CapacityReservationId"]


BUY = {"cluster_capacity_block": True, "cluster_capacity_block_purchase": True}
BAD_INPUT = {
    "non-efa-type": ({"cluster_instance_type": "t3.large"}, "t3.large has no EFA"),
    "bad-cidr": ({"cluster_vpc_cidr": "10.0.0.0/33"}, "cluster_vpc_cidr must be an IPv4"),
    "host-bits-cidr": ({"cluster_vpc_cidr": "10.0.3.7/16"}, "cluster_vpc_cidr must be an IPv4"),
    "zero-count": ({"cluster_instance_count": 0}, "cluster_instance_count must be a number of nodes from 1 to 64"),
    "bad-name": ({"cluster_name": "Bad_Name"}, "cluster_name must be 1-32 lowercase letters"),
    "unknown-region": ({"cluster_region": "xx-nowhere-1"}, "xx-nowhere-1"),
    "fee-too-high": (dict(BUY, cluster_capacity_block_max_upfront_fee=10), "more than max_upfront_fee 10"),
    "no-purchase-asked": ({"cluster_capacity_block": True}, "capacity_block_purchase=true"),
    "too-many-for-block": ({"cluster_capacity_block": True, "_block": (1, "us-east-1a")}, "cannot take 2 more"),
    "block-not-started": (
        {"cluster_capacity_block": True, "_block": (2, "us-east-1a", True)},
        "EC2 launches into a capacity reservation only while it is active",
    ),
    "unknown-reservation": (
        {"cluster_capacity_block": True, "cluster_capacity_reservation_id": "cr-0123456789abcdef0"},
        "Capacity reservation cr-0123456789abcdef0 was not found in us-east-1",
    ),
    "ingress-from-anywhere": (
        {"cluster_extra_ingress": [{"port": 80, "cidr": "0.0.0.0/0"}]},
        "Refused cluster_extra_ingress rule",
    ),
    "ingress-ssh": (
        {"cluster_extra_ingress": [{"port": 22, "cidr": "203.0.113.10/32"}]},
        "other than 22 (nodes are reached through Session Manager, never SSH)",
    ),
    "public-multi-interface": (
        {"cluster_private": False, "cluster_nat_gateway": False},
        "cluster_private is false, but each p5.48xlarge node is launched with 32 network interfaces",
    ),
    "private-without-nat": (
        {"cluster_nat_gateway": False},
        "cluster_private is true without cluster_nat_gateway",
    ),
    "public-ip-multi-interface": (
        {"cluster_public_ip": True},
        "cluster_public_ip is true, but each p5.48xlarge node is launched with 32 network interfaces",
    ),
    "zone-mismatch": (
        {"cluster_capacity_block": True, "cluster_availability_zone": "us-east-1b", "_block": (2, "us-east-1a")},
        "Availability Zone mismatch",
    ),
}


# Each refusal names only the rule that failed, under the setting the user set: the whole message.
ONE_RULE = {
    "zero-count": "cluster_instance_count must be a number of nodes from 1 to 64 (got 0). Nothing was created.",
    "bad-name": (
        "cluster_name must be 1-32 lowercase letters, digits or hyphens, starting and ending with a letter or digit "
        "(got 'Bad_Name'). Nothing was created."
    ),
    "bad-cidr": (
        "cluster_vpc_cidr must be an IPv4 network of /16 to /24, with no host bits set (such as 10.0.0.0/16) "
        "(got '10.0.0.0/33'). Nothing was created."
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_clearly_and_leaves_nothing(case, lab_aws, aws, ansible_playbook):
    extra, message = BAD_INPUT[case]
    extra = dict(extra)
    cluster = f"bad-{case}"
    block = extra.pop("_block", None)
    if block:
        extra["cluster_capacity_reservation_id"] = buy_block(aws["ec2"], *block)
    before = len(reservations(aws["ec2"]))
    result = ansible_playbook("playbooks/provision.yml", lab_aws, lab_vars(cluster, **extra), expect_rc=2)
    assert message in result.stdout, result.stdout[-3000:]
    if case in ONE_RULE:
        assert re.findall(r"Action failed: (.*)", result.stdout) == [ONE_RULE[case]], result.stdout[-3000:]
    assert re.search(r"[Nn]othing was (created|bought|launched)", result.stdout), result.stdout[-3000:]
    assert nothing_left(aws["ec2"], cluster) == {}
    assert buckets_of(aws["s3"], cluster) == [] and roles_of(aws["iam"], cluster) == []
    assert len(reservations(aws["ec2"])) == before, "something was bought"
