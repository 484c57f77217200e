# -*- coding: utf-8 -*-
"""The lab's own stand-ins (lab/), checked through boto3 against the running lab.

RunInstances from a launch template with EFA interfaces across network cards; describe filters;
day-0 capacity block offerings; launches into capacity blocks and every refusal (nothing
launched); capacity given back on termination; capacity block extensions, also through the
capacity_block module; the throttling switch; SSM managed nodes and sessions; the public AMI
parameters, also through the amazon.aws.ssm_parameter lookup.
"""

import datetime
import importlib.util
import json
import pathlib
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parents[2]
REGION = "us-west-2"
ZONE = REGION + "b"
OTHER_ZONE = REGION + "a"
TYPE = "p5.48xlarge"
NO_RETRY = Config(retries={"total_max_attempts": 1})


def _client(url, service, region=REGION, config=None):
    return boto3.client(service, region_name=region, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=config)  # fmt: skip


@pytest.fixture(scope="module")
def lab(lab_aws):
    """A VPC with subnets in two zones, a group, a placement group, an instance profile and an image."""
    ec2 = _client(lab_aws, "ec2")
    iam = _client(lab_aws, "iam")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24", AvailabilityZone=ZONE)["Subnet"]["SubnetId"]
    other = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.2.0/24", AvailabilityZone=OTHER_ZONE)["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="lab-efa", Description="EFA", VpcId=vpc)["GroupId"]
    ec2.create_placement_group(GroupName="lab-cluster", Strategy="cluster")
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName="lab-node", AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_instance_profile(InstanceProfileName="lab-node")
    iam.add_role_to_instance_profile(InstanceProfileName="lab-node", RoleName="lab-node")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return {"url": lab_aws, "ec2": ec2, "vpc": vpc, "subnet": subnet, "other_subnet": other, "group": group,
            "image": image}  # fmt: skip


def _nics(lab, subnet=None, efa_only_cards=(1, 2)):
    subnet = subnet or lab["subnet"]
    nics = [{"NetworkCardIndex": 0, "DeviceIndex": 0, "InterfaceType": "efa", "SubnetId": subnet,
             "Groups": [lab["group"]], "DeleteOnTermination": True}]  # fmt: skip
    for card in efa_only_cards:
        nics.append({"NetworkCardIndex": card, "DeviceIndex": 1, "InterfaceType": "efa-only", "SubnetId": subnet,
                     "Groups": [lab["group"]], "DeleteOnTermination": True})  # fmt: skip
    return nics


def _instances(ec2, ids=None):
    kwargs = {"InstanceIds": ids} if ids else {}
    return [i for r in ec2.describe_instances(**kwargs)["Reservations"] for i in r["Instances"]]


def _reservation(ec2, reservation_id):
    return ec2.describe_capacity_reservations(CapacityReservationIds=[reservation_id])["CapacityReservations"][0]


def _buy(ec2, zone, day0, count=2, hours=24, instance_type=TYPE):
    """Buys the lab catalogue's day-0 (active) or a later (scheduled) block in a zone."""
    now = datetime.datetime.now(datetime.timezone.utc)
    offerings = ec2.describe_capacity_block_offerings(
        InstanceType=instance_type, InstanceCount=count, CapacityDurationHours=hours
    )["CapacityBlockOfferings"]
    offering = next(o for o in offerings if o["AvailabilityZone"] == zone and (o["StartDate"] <= now) == day0)
    return ec2.purchase_capacity_block(CapacityBlockOfferingId=offering["CapacityBlockOfferingId"],
                                       InstancePlatform="Linux/UNIX")["CapacityReservation"]  # fmt: skip


def test_launch_template_interfaces_across_network_cards(lab):
    ec2 = lab["ec2"]
    ec2.create_launch_template(LaunchTemplateName="lab-efa-nodes", LaunchTemplateData={
        "ImageId": lab["image"], "InstanceType": TYPE, "NetworkInterfaces": _nics(lab),
        "Placement": {"GroupName": "lab-cluster"}, "IamInstanceProfile": {"Name": "lab-node"},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "efa-node"}]}],
    })  # fmt: skip
    launched = ec2.run_instances(MinCount=2, MaxCount=2, LaunchTemplate={"LaunchTemplateName": "lab-efa-nodes"})
    ids = [i["InstanceId"] for i in launched["Instances"]]
    instances = _instances(ec2, ids)
    assert len(instances) == 2
    for instance in instances:
        assert instance["Placement"]["AvailabilityZone"] == ZONE
        assert instance["Placement"]["GroupName"] == "lab-cluster"
        assert (instance["SubnetId"], instance["VpcId"]) == (lab["subnet"], lab["vpc"])
        assert [g["GroupId"] for g in instance["SecurityGroups"]] == [lab["group"]]
        assert instance["IamInstanceProfile"]["Arn"].endswith(":instance-profile/lab-node")
        assert {"Key": "role", "Value": "efa-node"} in instance["Tags"]
        assert "InstanceLifecycle" not in instance
        nics = sorted(
            instance["NetworkInterfaces"],
            key=lambda n: (n["Attachment"]["NetworkCardIndex"], n["Attachment"]["DeviceIndex"]),
        )
        assert [
            (n["Attachment"]["NetworkCardIndex"], n["Attachment"]["DeviceIndex"], n["InterfaceType"]) for n in nics
        ] == [(0, 0, "efa"), (1, 1, "efa-only"), (2, 1, "efa-only")]
        assert {n["SubnetId"] for n in nics} == {lab["subnet"]}
        assert all([g["GroupId"] for g in n["Groups"]] == [lab["group"]] for n in nics)
    ec2.terminate_instances(InstanceIds=ids)


def test_describe_filters(lab):
    ec2 = lab["ec2"]
    ec2.create_placement_group(GroupName="lab-other", Strategy="spread")
    groups = ec2.describe_placement_groups(Filters=[{"Name": "group-name", "Values": ["lab-other"]}])
    assert [(g["GroupName"], g["Strategy"]) for g in groups["PlacementGroups"]] == [("lab-other", "spread")]
    with pytest.raises(ClientError) as refused:
        ec2.describe_placement_groups(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    ec2.delete_placement_group(GroupName="lab-other")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"InstanceType": "m5.large"}, "InvalidParameterCombination"),  # EFA on a type without EFA
        ({"efa_only_cards": (1, 1)}, "InvalidParameterValue"),  # two interfaces on one card and device
        ({"efa_only_cards": (40,)}, "InvalidParameterValue"),  # no such network card
    ],
)
def test_launch_refuses_interfaces_ec2_refuses(lab, change, code):
    ec2 = lab["ec2"]
    nics = _nics(lab, efa_only_cards=change.get("efa_only_cards", (1,)))
    before = len(_instances(ec2))
    with pytest.raises(ClientError) as refused:
        ec2.run_instances(MinCount=1, MaxCount=1, ImageId=lab["image"], InstanceType=change.get("InstanceType", TYPE),
                          NetworkInterfaces=nics)  # fmt: skip
    assert refused.value.response["Error"]["Code"] == code
    assert len(_instances(ec2)) == before


def test_day0_offerings_start_at_the_top_of_the_hour(lab):
    ec2 = lab["ec2"]
    now = datetime.datetime.now(datetime.timezone.utc)
    top_of_hour = now.replace(minute=0, second=0, microsecond=0)
    search = {"InstanceType": TYPE, "InstanceCount": 1, "CapacityDurationHours": 24}
    offerings = ec2.describe_capacity_block_offerings(**search)["CapacityBlockOfferings"]
    assert sorted(o["AvailabilityZone"] for o in offerings if o["StartDate"] == top_of_hour) == [
        REGION + "a",
        REGION + "b",
        REGION + "c",
    ]
    assert len(offerings) == 12  # day 0 and days 1, 3, 7 in three zones
    next_hour = top_of_hour + datetime.timedelta(hours=1)
    later = ec2.describe_capacity_block_offerings(StartDateRange=next_hour, **search)["CapacityBlockOfferings"]
    assert len(later) == 9 and all(o["StartDate"] > now for o in later)


def test_capacity_block_launch_refusals_and_give_back(lab):
    ec2 = lab["ec2"]
    block = _buy(ec2, ZONE, day0=True)
    block_id = block["CapacityReservationId"]
    assert (block["State"], block["AvailableInstanceCount"]) == ("active", 2)
    ec2.create_launch_template(LaunchTemplateName="lab-block-nodes", LaunchTemplateData={
        "ImageId": lab["image"], "InstanceType": TYPE, "NetworkInterfaces": _nics(lab),
        "InstanceMarketOptions": {"MarketType": "capacity-block"},
        "CapacityReservationSpecification": {"CapacityReservationTarget": {"CapacityReservationId": block_id}},
    })  # fmt: skip
    launched = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "lab-block-nodes"})
    instance_id = launched["Instances"][0]["InstanceId"]
    (instance,) = _instances(ec2, [instance_id])
    assert instance["InstanceLifecycle"] == "capacity-block"
    assert instance["CapacityReservationId"] == block_id
    assert instance["CapacityReservationSpecification"]["CapacityReservationTarget"] == {
        "CapacityReservationId": block_id
    }
    assert instance["Placement"]["AvailabilityZone"] == ZONE
    assert _reservation(ec2, block_id)["AvailableInstanceCount"] == 1
    status = ec2.describe_capacity_block_status(CapacityBlockIds=[block["CapacityBlockId"]])["CapacityBlockStatuses"]
    assert status[0]["TotalAvailableCapacity"] == 1

    scheduled = _buy(ec2, ZONE, day0=False)
    assert scheduled["State"] == "scheduled"
    market = {"InstanceMarketOptions": {"MarketType": "capacity-block"}}

    def reserved(reservation_id):
        return {"CapacityReservationSpecification": {"CapacityReservationTarget": {
            "CapacityReservationId": reservation_id}}}  # fmt: skip

    def target(reservation_id):
        return {**reserved(reservation_id), **market}

    refusals = [
        ("unknown reservation", target("cr-0123456789abcdef0"), {}, "InvalidCapacityReservationId.NotFound"),
        ("scheduled block", target(scheduled["CapacityReservationId"]), {}, "InvalidParameterValue"),
        ("wrong zone", target(block_id), {"subnet": lab["other_subnet"]}, "InvalidParameterValue"),
        ("more than available", target(block_id), {"MinCount": 2}, "ReservationCapacityExceeded"),
        ("another instance type", target(block_id), {"InstanceType": "p4d.24xlarge"}, "InvalidParameterValue"),
        ("capacity-block market, no target", market, {}, "InvalidParameterCombination"),
        ("block without its market type", reserved(block_id), {}, "InvalidParameterCombination"),
    ]
    for what, request, change, code in refusals:
        before = len(_instances(ec2))
        count = change.get("MinCount", 1)
        with pytest.raises(ClientError) as refused:
            ec2.run_instances(MinCount=count, MaxCount=count, ImageId=lab["image"],
                              InstanceType=change.get("InstanceType", TYPE),
                              NetworkInterfaces=_nics(lab, change.get("subnet"), (1,)), **request)  # fmt: skip
        assert refused.value.response["Error"]["Code"] == code, what
        assert len(_instances(ec2)) == before, what
    assert _reservation(ec2, block_id)["AvailableInstanceCount"] == 1

    ec2.terminate_instances(InstanceIds=[instance_id])
    assert _reservation(ec2, block_id)["AvailableInstanceCount"] == 2
    ec2.terminate_instances(InstanceIds=[instance_id])  # terminating twice gives nothing more back
    assert _reservation(ec2, block_id)["AvailableInstanceCount"] == 2


def test_capacity_block_extension(lab):
    ec2 = lab["ec2"]
    block = _buy(ec2, ZONE, day0=False, count=1, hours=48)
    reservation_id = block["CapacityReservationId"]
    offers = ec2.describe_capacity_block_extension_offerings(
        CapacityReservationId=reservation_id, CapacityBlockExtensionDurationHours=24
    )["CapacityBlockExtensionOfferings"]
    assert len(offers) == 1
    offer = offers[0]
    assert offer["CapacityBlockExtensionStartDate"] == block["EndDate"]
    assert offer["CapacityBlockExtensionEndDate"] == block["EndDate"] + datetime.timedelta(hours=24)
    assert (offer["InstanceType"], offer["InstanceCount"], offer["AvailabilityZone"]) == (TYPE, 1, ZONE)
    assert offer["CapacityBlockExtensionDurationHours"] == 24 and offer["CurrencyCode"] == "USD"
    assert offer["StartDate"] == block["StartDate"]
    assert float(offer["UpfrontFee"]) == pytest.approx(31.464 * 0.93 * 24, abs=0.01)  # p5 rate, zone b factor
    assert ec2.describe_capacity_block_extension_history(CapacityReservationIds=[reservation_id])[
        "CapacityBlockExtensions"] == []  # fmt: skip

    offer_id = offer["CapacityBlockExtensionOfferingId"]
    bought = ec2.purchase_capacity_block_extension(
        CapacityReservationId=reservation_id, CapacityBlockExtensionOfferingId=offer_id
    )["CapacityBlockExtensions"]
    assert [(b["CapacityBlockExtensionStatus"], b["CapacityBlockExtensionDurationHours"]) for b in bought] == [
        ("payment-succeeded", 24)
    ]
    extended = _reservation(ec2, reservation_id)
    assert extended["EndDate"] == block["EndDate"] + datetime.timedelta(hours=24)
    (capacity_block,) = ec2.describe_capacity_blocks(CapacityBlockIds=[block["CapacityBlockId"]])["CapacityBlocks"]
    assert capacity_block["EndDate"] == extended["EndDate"]
    history = ec2.describe_capacity_block_extension_history(CapacityReservationIds=[reservation_id])[
        "CapacityBlockExtensions"
    ]
    assert [(h["CapacityBlockExtensionOfferingId"], h["UpfrontFee"]) for h in history] == [
        (offer_id, offer["UpfrontFee"])
    ]

    with pytest.raises(ClientError) as stale:  # the block moved on: that offering cannot be bought twice
        ec2.purchase_capacity_block_extension(
            CapacityReservationId=reservation_id, CapacityBlockExtensionOfferingId=offer_id
        )
    assert stale.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as missing:
        ec2.describe_capacity_block_extension_offerings(CapacityReservationId="cr-0123456789abcdef0",
                                                        CapacityBlockExtensionDurationHours=24)  # fmt: skip
    assert missing.value.response["Error"]["Code"] == "InvalidCapacityReservationId.NotFound"


EXTEND = """
- name: Extend a block
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/nixl_efa.cluster.aws:
      region: {region}
      endpoint_url: {url}
      access_key: testing
      secret_key: testing
  tasks:
    - name: Extend to 48 hours
      nixl_efa.cluster.capacity_block: &extend
        name: lab-extend
        max_upfront_fee: 5000
        extend_hours: 48
      register: first
    - name: Again
      nixl_efa.cluster.capacity_block: *extend
      register: second
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ {{'first': first, 'second': second}} | to_json }}}}"
        dest: "{{{{ report }}}}"
        mode: "0600"
"""


def test_capacity_block_module_extends_once(lab, run_playbook):
    ec2 = lab["ec2"]
    offering = next(
        o
        for o in ec2.describe_capacity_block_offerings(InstanceType=TYPE, InstanceCount=1, CapacityDurationHours=24)[
            "CapacityBlockOfferings"
        ]
        if o["AvailabilityZone"] == ZONE
    )
    block = ec2.purchase_capacity_block(
        CapacityBlockOfferingId=offering["CapacityBlockOfferingId"],
        InstancePlatform="Linux/UNIX",
        TagSpecifications=[
            {"ResourceType": "capacity-reservation", "Tags": [{"Key": "nixl-efa:purchase-key", "Value": "lab-extend"}]}
        ],
    )["CapacityReservation"]
    out = run_playbook(EXTEND.format(region=REGION, url=lab["url"]), {"AWS_MAX_ATTEMPTS": "2"})
    assert out["first"]["changed"] and out["first"]["extension"]["hours_bought"] == 48
    assert out["second"]["changed"] is False and out["second"]["extension"]["hours_already_bought"] == 48
    history = ec2.describe_capacity_block_extension_history(CapacityReservationIds=[block["CapacityReservationId"]])
    assert [h["CapacityBlockExtensionDurationHours"] for h in history["CapacityBlockExtensions"]] == [48]
    assert _reservation(ec2, block["CapacityReservationId"])["EndDate"] == block["EndDate"] + datetime.timedelta(
        hours=48
    )


def _throttle(url, share=None, payload=None):
    """GET the lab's throttle setting, or POST a share (or any payload) to it."""
    if share is not None:
        payload = {"share": share}
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{url}/lab/throttle", data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback only)
        return json.load(answer)


def _codes(call, times):
    codes = []
    for _attempt in range(times):
        try:
            call()
            codes.append(None)
        except ClientError as e:
            codes.append((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]))
    return codes


def test_throttle_share(lab_aws):
    previous = _throttle(lab_aws)["share"]
    try:
        assert _throttle(lab_aws, 0.2) == {"share": 0.2, "calls": 0, "throttled": 0}
        ec2 = _client(lab_aws, "ec2", config=NO_RETRY)
        assert _codes(ec2.describe_vpcs, 10) == [None] * 4 + [("RequestLimitExceeded", 503)] + [None] * 4 + [
            ("RequestLimitExceeded", 503)
        ]
        for service, call, error in [
            ("iam", "list_roles", ("Throttling", 400)),
            ("sts", "get_caller_identity", ("Throttling", 400)),
            ("ssm", "describe_parameters", ("ThrottlingException", 400)),
            ("s3", "list_buckets", ("SlowDown", 503)),
        ]:
            assert _codes(getattr(_client(lab_aws, service, config=NO_RETRY), call), 5) == [None] * 4 + [error]
        for _probe in range(5):  # never throttled, never counted
            urllib.request.urlopen(f"{lab_aws}/moto-api/", timeout=5).close()  # noqa: S310 (loopback only)
        assert _throttle(lab_aws) == {"share": 0.2, "calls": 30, "throttled": 6}

        retrying = _client(lab_aws, "ec2")  # botocore's default retries ride it out
        for _attempt in range(10):
            assert "Vpcs" in retrying.describe_vpcs()
        assert _throttle(lab_aws)["throttled"] >= 8

        for bad in ({"share": 1.5}, {"share": -0.1}, {"share": "x"}, {"share": None}, {}):
            with pytest.raises(urllib.error.HTTPError) as refused:
                _throttle(lab_aws, payload=bad)
            assert refused.value.code == 400
        assert _throttle(lab_aws)["share"] == 0.2
    finally:
        _throttle(lab_aws, previous)


def _calls(url, reset=False):
    request = urllib.request.Request(f"{url}/lab/calls", method="POST" if reset else "GET")
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback only)
        return json.load(answer)


def test_calls_are_counted_by_service_and_action(lab_aws):
    _calls(lab_aws, reset=True)
    ec2 = _client(lab_aws, "ec2")
    ec2.describe_vpcs()
    ec2.describe_vpcs()
    _client(lab_aws, "ssm").describe_parameters()
    s3 = _client(lab_aws, "s3")
    s3.list_buckets()
    location = {} if REGION == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
    s3.create_bucket(Bucket="lab-calls-count", **location)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "lab-calls-count", "Key": "x"})
    with pytest.raises(urllib.error.HTTPError):  # no such key; the request still counts
        urllib.request.urlopen(url, timeout=5)  # noqa: S310 (loopback only)
    urllib.request.urlopen(f"{lab_aws}/moto-api/", timeout=5).close()  # noqa: S310 (never counted)
    seen = _calls(lab_aws, reset=True)
    assert seen["by_action"] == {
        "ec2:DescribeVpcs": 2,
        "s3-presigned:GET": 1,
        "s3:GET": 1,
        "s3:PUT": 1,
        "ssm:DescribeParameters": 1,
    }
    assert seen["total"] == 6
    assert _calls(lab_aws) == {"total": 0, "by_action": {}}
    s3.delete_bucket(Bucket="lab-calls-count")


def test_managed_nodes_and_sessions(lab):
    ec2 = lab["ec2"]
    ssm = _client(lab["url"], "ssm")

    def launch(**extra):
        return ec2.run_instances(MinCount=1, MaxCount=1, ImageId=lab["image"], InstanceType="t3.micro",
                                 SubnetId=lab["subnet"], **extra)["Instances"][0]["InstanceId"]  # fmt: skip

    # A way out to Systems Manager, as on AWS: a public address and a route to an internet gateway
    # (tests/integration/test_lab_reachability.py checks every other way and the refusals).
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=lab["vpc"])
    table = ec2.create_route_table(VpcId=lab["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=lab["subnet"])
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.modify_subnet_attribute(SubnetId=lab["subnet"], MapPublicIpOnLaunch={"Value": True})
    managed = launch(IamInstanceProfile={"Name": "lab-node"})
    bare = launch()
    stopped = launch(IamInstanceProfile={"Name": "lab-node"})
    ec2.stop_instances(InstanceIds=[stopped])
    ours = [managed, bare, stopped]

    listed = ssm.describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": ours}]
    )["InstanceInformationList"]
    assert [n["InstanceId"] for n in listed] == [managed]
    (node,) = listed
    (instance,) = _instances(ec2, [managed])
    assert node["PingStatus"] == "Online" and node["PlatformType"] == "Linux"
    assert node["ResourceType"] == "EC2Instance" and node["IPAddress"] == instance["PrivateIpAddress"]
    assert node["ComputerName"] and node["AgentVersion"] and node["LastPingDateTime"]
    everyone = {n["InstanceId"] for n in ssm.describe_instance_information()["InstanceInformationList"]}
    assert managed in everyone and not everyone & {bare, stopped}
    online = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": ours}, {"Key": "PingStatus", "Values": ["Online"]}]
    )["InstanceInformationList"]
    assert [n["InstanceId"] for n in online] == [managed]

    session = ssm.start_session(Target=managed)
    assert session["SessionId"] and session["TokenValue"] and session["StreamUrl"].startswith("ws://127.0.0.1:")
    assert ssm.terminate_session(SessionId=session["SessionId"])["SessionId"] == session["SessionId"]
    with pytest.raises(ClientError) as refused:
        ssm.start_session(Target=bare)
    assert refused.value.response["Error"]["Code"] == "TargetNotConnected"
    ec2.terminate_instances(InstanceIds=ours)


def _moto_lab():
    spec = importlib.util.spec_from_file_location("moto_lab", ROOT / "lab" / "moto_lab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOOKUP = """
- name: Public AMI parameters through amazon.aws.ssm_parameter
  hosts: localhost
  gather_facts: false
  vars:
    names: {names}
  tasks:
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ query('amazon.aws.ssm_parameter', *names, region='{region}', endpoint_url='{url}',
                           access_key='testing', secret_key='testing') | to_json }}}}"
        dest: "{{{{ report }}}}"
        mode: "0600"
"""


def test_public_ami_parameters(lab_aws, run_playbook):
    names = _moto_lab().PUBLIC_AMI_PARAMETERS
    assert len(names) == 3
    values = {}
    for region in (REGION, "us-east-1"):
        ssm = _client(lab_aws, "ssm", region)
        ec2 = _client(lab_aws, "ec2", region)
        for name in names:
            value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            (image,) = ec2.describe_images(ImageIds=[value])["Images"]
            assert image["Architecture"] == "x86_64"
            values.setdefault(name, set()).add(value)
        found = ssm.get_parameters(Names=list(names))
        assert not found["InvalidParameters"] and len(found["Parameters"]) == 3
    assert all(len(v) == 1 for v in values.values())  # the same image in every region, run after run
    looked_up = run_playbook(LOOKUP.format(names=json.dumps(list(names)), region=REGION, url=lab_aws))
    assert looked_up == [values[name].pop() for name in names]
