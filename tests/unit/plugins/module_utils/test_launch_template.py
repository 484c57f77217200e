# -*- coding: utf-8 -*-
import base64

import pytest

from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import build_launch_template_data
from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import describe_interfaces
from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import template_data_differs
from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import volume_size_warning

LAYOUT = [
    {"network_card_index": 0, "device_index": 0, "interface_type": "efa"},
    {"network_card_index": 1, "device_index": 1, "interface_type": "efa-only"},
]


def data(**overrides):
    args = dict(
        instance_type="p5.48xlarge",
        image_id="ami-0123456789abcdef0",
        subnet_id="subnet-1",
        security_group_ids=["sg-b", "sg-a"],
        root_device_name="/dev/sda1",
        volume_size=1000,
        name="nodes",
    )
    args.update(overrides)
    return build_launch_template_data(LAYOUT, **args)


def test_data_is_imdsv2_encrypted_and_efa():
    result = data(placement_group="pg", iam_instance_profile="node-profile", tags={"cluster": "demo"})
    assert result["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
    }
    ebs = result["BlockDeviceMappings"][0]
    assert ebs["DeviceName"] == "/dev/sda1"
    assert ebs["Ebs"] == {"VolumeSize": 1000, "VolumeType": "gp3", "Encrypted": True, "DeleteOnTermination": True}
    assert [n["InterfaceType"] for n in result["NetworkInterfaces"]] == ["efa", "efa-only"]
    assert result["NetworkInterfaces"][1]["NetworkCardIndex"] == 1
    assert result["NetworkInterfaces"][1]["DeviceIndex"] == 1
    assert result["NetworkInterfaces"][0]["Groups"] == ["sg-a", "sg-b"]
    assert result["Placement"] == {"GroupName": "pg"}
    assert result["IamInstanceProfile"] == {"Name": "node-profile"}
    assert {s["ResourceType"] for s in result["TagSpecifications"]} == {"instance", "volume", "network-interface"}
    assert "InstanceMarketOptions" not in result


def test_capacity_block_market():
    result = data(market_type="capacity-block", capacity_reservation_id="cr-1")
    assert result["InstanceMarketOptions"] == {"MarketType": "capacity-block"}
    assert result["CapacityReservationSpecification"] == {
        "CapacityReservationTarget": {"CapacityReservationId": "cr-1"}
    }


def test_capacity_block_without_reservation_is_refused():
    with pytest.raises(ValueError, match="needs capacity_reservation_id"):
        data(market_type="capacity-block")


def test_public_ip_only_with_one_interface():
    with pytest.raises(ValueError, match="single network interface"):
        data(associate_public_ip_address=True)
    single = build_launch_template_data(
        LAYOUT[:1], "g5.12xlarge", "ami-1", "subnet-1", ["sg-1"], "/dev/sda1", 200, associate_public_ip_address=True
    )
    assert single["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True


def test_plain_interface_leaves_the_type_to_ec2_and_reads_back_the_same():
    plain = [{"network_card_index": 0, "device_index": 0, "interface_type": "interface"}]
    built = build_launch_template_data(
        plain, "inf2.8xlarge", "ami-1", "subnet-1", ["sg-1"], "/dev/sda1", 500, associate_public_ip_address=True
    )
    nic = built["NetworkInterfaces"][0]
    assert "InterfaceType" not in nic and nic["AssociatePublicIpAddress"] is True
    assert describe_interfaces(built)[0]["interface_type"] == "interface"
    # EC2 describes the version back without an InterfaceType: no new version is needed.
    assert not template_data_differs(built, built)


def test_profile_arn_and_user_data():
    result = data(iam_instance_profile="arn:aws:iam::123456789012:instance-profile/p", user_data="#!/bin/sh\necho hi\n")
    assert result["IamInstanceProfile"] == {"Arn": "arn:aws:iam::123456789012:instance-profile/p"}
    assert base64.b64decode(result["UserData"]).decode() == "#!/bin/sh\necho hi\n"


def test_same_data_in_another_order_does_not_differ():
    desired = data(tags={"a": "1", "b": "2"})
    current = data(tags={"b": "2", "a": "1"})
    current["NetworkInterfaces"] = list(reversed(current["NetworkInterfaces"]))
    current["NetworkInterfaces"][0]["Groups"] = ["sg-b", "sg-a"]
    # EC2 fills in defaults inside structures we set; those are not differences.
    current["BlockDeviceMappings"][0]["Ebs"]["Iops"] = 3000
    # The template's own tags echoed into its data are not a difference either.
    current["TagSpecifications"].append({"ResourceType": "launch-template", "Tags": [{"Key": "a", "Value": "1"}]})
    assert not template_data_differs(desired, current)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["BlockDeviceMappings"][0]["Ebs"].update(VolumeSize=500),
        lambda d: d["NetworkInterfaces"].pop(),
        lambda d: d["NetworkInterfaces"][1].update(InterfaceType="efa"),
        lambda d: d.update(Placement={"GroupName": "old"}),
        lambda d: d["MetadataOptions"].update(HttpTokens="optional"),
    ],
)
def test_real_changes_differ(change):
    current = data()
    change(current)
    assert template_data_differs(data(), current)


def test_describe_interfaces_is_snake_case_in_card_order():
    nics = describe_interfaces({"NetworkInterfaces": list(reversed(data()["NetworkInterfaces"]))})
    assert nics[0] == {
        "network_card_index": 0,
        "device_index": 0,
        "interface_type": "efa",
        "subnet_id": "subnet-1",
        "groups": ["sg-a", "sg-b"],
    }
    assert nics[1]["interface_type"] == "efa-only"


def test_volume_warning_below_80_percent():
    assert volume_size_warning("p5.48xlarge", 800, 1000) is None
    assert "below 80%" in volume_size_warning("p5.48xlarge", 799, 1000)
