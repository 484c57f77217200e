# -*- coding: utf-8 -*-
import copy
import datetime
import json

import pytest
from botocore.stub import ANY
from ec2_data import instance_type

from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import summarize_instance_type
from ansible_collections.nixl_efa.cluster.plugins.modules import efa_launch_template as module

ARGS = {
    "name": "nodes",
    "image_id": "ami-0123456789abcdef0",
    "subnet_id": "subnet-0abc",
    "security_group_ids": ["sg-0abc"],
    "placement_group": "pg-demo",
    "iam_instance_profile": "node-profile",
    "tags": {"nixl-efa:cluster": "demo"},
}
CREATED = datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc)


def template(latest=1, default=1, tags=None):
    return {
        "LaunchTemplateId": "lt-0123456789abcdef0",
        "LaunchTemplateName": "nodes",
        "CreateTime": CREATED,
        "DefaultVersionNumber": default,
        "LatestVersionNumber": latest,
        "Tags": [{"Key": k, "Value": v} for k, v in (tags if tags is not None else ARGS["tags"]).items()],
    }


def expect_lookups(ec2, itype, exists=None):
    ec2.stub.add_response(
        "describe_instance_types", {"InstanceTypes": [instance_type(itype)]}, {"InstanceTypes": [itype]}
    )
    ec2.stub.add_response(
        "describe_images",
        {"Images": [{"ImageId": ARGS["image_id"], "RootDeviceName": "/dev/sda1"}]},
        {"ImageIds": [ARGS["image_id"]]},
    )
    if exists is None:
        ec2.stub.add_client_error(
            "describe_launch_templates",
            "InvalidLaunchTemplateName.NotFoundException",
            "At least one of the launch templates specified in the request does not exist.",
            expected_params={"LaunchTemplateNames": ["nodes"]},
        )
    else:
        ec2.stub.add_response(
            "describe_launch_templates", {"LaunchTemplates": [exists]}, {"LaunchTemplateNames": ["nodes"]}
        )


def expect_create(ec2, tag_specifications=ANY):
    ec2.stub.add_response(
        "create_launch_template",
        {"LaunchTemplate": template()},
        {
            "LaunchTemplateName": "nodes",
            "LaunchTemplateData": ANY,
            "VersionDescription": ANY,
            "TagSpecifications": tag_specifications,
        },
    )


def expect_version(ec2, data):
    ec2.stub.add_response(
        "describe_launch_template_versions",
        {
            "LaunchTemplateVersions": [
                {"LaunchTemplateId": "lt-0123456789abcdef0", "VersionNumber": 1, "LaunchTemplateData": data}
            ]
        },
        {"LaunchTemplateId": "lt-0123456789abcdef0", "Versions": ["$Latest"]},
    )


@pytest.mark.parametrize(
    "itype, cards, volume",
    [
        ("p5.48xlarge", 32, 1000),
        ("p5en.48xlarge", 16, 1000),
        ("p4d.24xlarge", 4, 500),
        ("trn1.32xlarge", 8, 500),
        ("g5.12xlarge", 1, 200),
    ],
)
def test_creates_template_with_one_efa_interface_per_card(ec2, run_module, itype, cards, volume):
    expect_lookups(ec2, itype)
    expect_create(ec2, [{"ResourceType": "launch-template", "Tags": [{"Key": "nixl-efa:cluster", "Value": "demo"}]}])
    result = run_module(module, dict(ARGS, instance_type=itype, efa_only_secondary=True))
    assert not result["failed"] and result["changed"]
    sent = ec2.params("CreateLaunchTemplate")[0]["LaunchTemplateData"]
    nics = sent["NetworkInterfaces"]
    assert len(nics) == cards
    assert (nics[0]["NetworkCardIndex"], nics[0]["DeviceIndex"], nics[0]["InterfaceType"]) == (0, 0, "efa")
    assert all(
        (n["NetworkCardIndex"], n["DeviceIndex"], n["InterfaceType"]) == (k, 1, "efa-only")
        for k, n in enumerate(nics)
        if k
    )
    assert sent["MetadataOptions"]["HttpTokens"] == "required"
    assert sent["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == volume
    assert sent["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert sent["Placement"] == {"GroupName": "pg-demo"}
    out = result["template"]
    assert out["launch_template_id"] == "lt-0123456789abcdef0" and out["latest_version"] == 1
    assert len(out["network_interfaces"]) == cards
    assert out["network_interfaces"][0] == {
        "network_card_index": 0,
        "device_index": 0,
        "interface_type": "efa",
        "subnet_id": "subnet-0abc",
        "groups": ["sg-0abc"],
    }
    assert result["diff"] == {"before": {}, "after": sent}


def test_type_without_efa_fails_before_anything_is_created(ec2, run_module):
    ec2.stub.add_response(
        "describe_instance_types", {"InstanceTypes": [instance_type("t3.large")]}, {"InstanceTypes": ["t3.large"]}
    )
    result = run_module(module, dict(ARGS, instance_type="t3.large"))
    assert result["failed"]
    assert "t3.large does not support EFA" in result["msg"]
    assert ec2.calls() == ["DescribeInstanceTypes"]


def test_too_many_interfaces_fails_before_create(ec2, run_module):
    ec2.stub.add_response(
        "describe_instance_types",
        {"InstanceTypes": [instance_type("p4d.24xlarge")]},
        {"InstanceTypes": ["p4d.24xlarge"]},
    )
    result = run_module(module, dict(ARGS, instance_type="p4d.24xlarge", efa_interfaces="8"))
    assert result["failed"] and "at most 4 EFA interface(s)" in result["msg"]


def test_unknown_ami_fails_before_create(ec2, run_module):
    ec2.stub.add_response(
        "describe_instance_types", {"InstanceTypes": [instance_type("g5.12xlarge")]}, {"InstanceTypes": ["g5.12xlarge"]}
    )
    ec2.stub.add_client_error(
        "describe_images", "InvalidAMIID.NotFound", "not found", expected_params={"ImageIds": [ARGS["image_id"]]}
    )
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge"))
    assert result["failed"] and "AMI ami-0123456789abcdef0 was not found" in result["msg"]
    assert "CreateLaunchTemplate" not in ec2.calls()


def test_capacity_block_needs_reservation(run_module, ec2):
    result = run_module(module, dict(ARGS, instance_type="p5.48xlarge", market_type="capacity-block"))
    assert result["failed"] and "capacity_reservation_id" in result["msg"]
    assert ec2.calls() == []


def test_capacity_block_template(ec2, run_module):
    expect_lookups(ec2, "p5.48xlarge")
    expect_create(ec2)
    result = run_module(
        module, dict(ARGS, instance_type="p5.48xlarge", market_type="capacity-block", capacity_reservation_id="cr-0123")
    )
    sent = ec2.params("CreateLaunchTemplate")[0]["LaunchTemplateData"]
    assert sent["InstanceMarketOptions"] == {"MarketType": "capacity-block"}
    assert sent["CapacityReservationSpecification"] == {
        "CapacityReservationTarget": {"CapacityReservationId": "cr-0123"}
    }
    assert result["changed"]


def test_volume_below_80_percent_warns(ec2, run_module):
    expect_lookups(ec2, "p5.48xlarge")
    expect_create(ec2)
    result = run_module(module, dict(ARGS, instance_type="p5.48xlarge", volume_size=500))
    assert any("below 80% of the 1000 GB recommended" in w for w in result["warnings"])
    assert (
        ec2.params("CreateLaunchTemplate")[0]["LaunchTemplateData"]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"]
        == 500
    )


def desired_data(ec2, run_module, itype="g5.12xlarge"):
    """The data the module would send for ARGS (EC2's spelling, the diff's), taken from a check-mode run."""
    expect_lookups(ec2, itype)
    result = run_module(module, dict(ARGS, instance_type=itype), check_mode=True)
    ec2.requests.clear()
    return result["diff"]["after"]


def test_check_mode_creates_nothing_and_shows_diff(ec2, run_module):
    expect_lookups(ec2, "g5.12xlarge")
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge"), check_mode=True)
    assert result["changed"] and result["template"] == {}
    assert result["diff"]["after"]["InstanceType"] == "g5.12xlarge"
    # The result speaks snake_case, as amazon.aws modules do; only the diff keeps EC2's spelling.
    data = result["launch_template_data"]
    assert data["instance_type"] == "g5.12xlarge" and data["metadata_options"]["http_tokens"] == "required"
    assert data["network_interfaces"][0]["network_card_index"] == 0
    keys = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys += list(item)
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item
    assert keys and all(key == key.lower() for key in keys), sorted(set(keys))
    assert "CreateLaunchTemplate" not in ec2.calls()


def test_rerun_with_same_data_changes_nothing(ec2, run_module):
    data = desired_data(ec2, run_module)
    current = copy.deepcopy(data)
    current["BlockDeviceMappings"][0]["Ebs"]["Iops"] = 3000  # filled in by EC2
    expect_lookups(ec2, "g5.12xlarge", exists=template())
    expect_version(ec2, current)
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge"))
    assert not result["failed"] and result["changed"] is False
    assert ec2.calls() == [
        "DescribeInstanceTypes",
        "DescribeImages",
        "DescribeLaunchTemplates",
        "DescribeLaunchTemplateVersions",
    ]


def test_rerun_with_the_type_already_read_describes_no_type(ec2, run_module):
    # instance_type_info: efa_instance_type_info's answer, read earlier in the play (JSON, as Ansible passes it).
    data = desired_data(ec2, run_module)
    info = json.loads(json.dumps(summarize_instance_type(instance_type("g5.12xlarge"))))
    ec2.stub.add_response(
        "describe_images",
        {"Images": [{"ImageId": ARGS["image_id"], "RootDeviceName": "/dev/sda1"}]},
        {"ImageIds": [ARGS["image_id"]]},
    )
    ec2.stub.add_response(
        "describe_launch_templates", {"LaunchTemplates": [template()]}, {"LaunchTemplateNames": ["nodes"]}
    )
    expect_version(ec2, data)
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge", instance_type_info=info))
    assert not result["failed"] and result["changed"] is False
    assert ec2.calls() == ["DescribeImages", "DescribeLaunchTemplates", "DescribeLaunchTemplateVersions"]


def test_type_already_read_must_be_the_instance_type(ec2, run_module):
    info = summarize_instance_type(instance_type("p5.48xlarge"))
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge", instance_type_info=info))
    assert result["failed"] is True
    assert result["msg"] == "instance_type_info describes p5.48xlarge, not g5.12xlarge"
    assert ec2.calls() == []


def test_changed_data_makes_a_new_default_version(ec2, run_module):
    data = desired_data(ec2, run_module)
    old = copy.deepcopy(data)
    old["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] = 100
    expect_lookups(ec2, "g5.12xlarge", exists=template())
    expect_version(ec2, old)
    ec2.stub.add_response(
        "create_launch_template_version",
        {"LaunchTemplateVersion": {"LaunchTemplateId": "lt-0123456789abcdef0", "VersionNumber": 2}},
        {"LaunchTemplateId": "lt-0123456789abcdef0", "LaunchTemplateData": data, "VersionDescription": ANY},
    )
    ec2.stub.add_response(
        "modify_launch_template",
        {"LaunchTemplate": template(2, 2)},
        {"LaunchTemplateId": "lt-0123456789abcdef0", "DefaultVersion": "2"},
    )
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge"))
    assert result["changed"]
    assert (result["template"]["latest_version"], result["template"]["default_version"]) == (2, 2)
    assert result["diff"]["before"]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 100


def test_default_version_is_brought_back_to_latest(ec2, run_module):
    data = desired_data(ec2, run_module)
    expect_lookups(ec2, "g5.12xlarge", exists=template(latest=3, default=2))
    expect_version(ec2, data)
    ec2.stub.add_response(
        "modify_launch_template",
        {"LaunchTemplate": template(3, 3)},
        {"LaunchTemplateId": "lt-0123456789abcdef0", "DefaultVersion": "3"},
    )
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge"))
    assert result["changed"] and result["template"]["default_version"] == 3


def test_template_tags_are_reconciled(ec2, run_module):
    data = desired_data(ec2, run_module)
    expect_lookups(ec2, "g5.12xlarge", exists=template(tags={"stale": "yes"}))
    expect_version(ec2, data)
    ec2.stub.add_response("delete_tags", {}, {"Resources": ["lt-0123456789abcdef0"], "Tags": [{"Key": "stale"}]})
    ec2.stub.add_response(
        "create_tags",
        {},
        {"Resources": ["lt-0123456789abcdef0"], "Tags": [{"Key": "nixl-efa:cluster", "Value": "demo"}]},
    )
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge"))
    assert result["changed"] and result["template"]["tags"] == {"nixl-efa:cluster": "demo"}


def test_absent_deletes_and_rerun_is_quiet(ec2, run_module):
    ec2.stub.add_response(
        "describe_launch_templates", {"LaunchTemplates": [template()]}, {"LaunchTemplateNames": ["nodes"]}
    )
    expect_version(ec2, {"InstanceType": "g5.12xlarge"})
    ec2.stub.add_response(
        "delete_launch_template", {"LaunchTemplate": template()}, {"LaunchTemplateId": "lt-0123456789abcdef0"}
    )
    result = run_module(module, {"name": "nodes", "state": "absent"})
    assert result["changed"] and result["template"]["launch_template_id"] == "lt-0123456789abcdef0"
    ec2.stub.add_client_error(
        "describe_launch_templates",
        "InvalidLaunchTemplateName.NotFoundException",
        "gone",
        expected_params={"LaunchTemplateNames": ["nodes"]},
    )
    again = run_module(module, {"name": "nodes", "state": "absent"})
    assert again["changed"] is False and again["template"] == {}


OWNER = {"nixl-efa:cluster": "demo"}


@pytest.mark.parametrize(
    ("tags", "found"),
    [({}, "has no nixl-efa:cluster tag"), ({"nixl-efa:cluster": "other"}, "is tagged nixl-efa:cluster=other")],
    ids=["untagged", "other-cluster"],
)
def test_present_refuses_a_template_that_is_not_the_owners_and_changes_nothing(ec2, run_module, tags, found):
    expect_lookups(ec2, "g5.12xlarge", exists=template(tags=tags))
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge", owner_tags=OWNER))
    assert result["failed"]
    assert result["msg"].startswith(f"Launch template nodes (lt-0123456789abcdef0) exists and {found}")
    assert "Nothing was changed" in result["msg"] and "tag it nixl-efa:cluster=demo" in result["msg"]
    # Refused before the template's versions are even read: no version, no tag, no default changed.
    assert ec2.calls() == ["DescribeInstanceTypes", "DescribeImages", "DescribeLaunchTemplates"]


def test_present_takes_the_owners_template_as_before(ec2, run_module):
    data = desired_data(ec2, run_module)
    expect_lookups(ec2, "g5.12xlarge", exists=template())
    expect_version(ec2, data)
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge", owner_tags=OWNER))
    assert not result["failed"] and result["changed"] is False


def test_present_creates_a_missing_template_with_owner_tags(ec2, run_module):
    expect_lookups(ec2, "g5.12xlarge")
    expect_create(ec2)
    result = run_module(module, dict(ARGS, instance_type="g5.12xlarge", owner_tags=OWNER))
    assert not result["failed"] and result["changed"]


@pytest.mark.parametrize("tags", [{}, {"nixl-efa:cluster": "other"}], ids=["untagged", "other-cluster"])
def test_absent_refuses_a_template_that_is_not_the_owners(ec2, run_module, tags):
    ec2.stub.add_response(
        "describe_launch_templates", {"LaunchTemplates": [template(tags=tags)]}, {"LaunchTemplateNames": ["nodes"]}
    )
    result = run_module(module, {"name": "nodes", "state": "absent", "owner_tags": OWNER})
    assert result["failed"] and "Launch template nodes (lt-0123456789abcdef0) exists and" in result["msg"]
    assert ec2.calls() == ["DescribeLaunchTemplates"]


def test_absent_deletes_the_owners_template(ec2, run_module):
    ec2.stub.add_response(
        "describe_launch_templates", {"LaunchTemplates": [template()]}, {"LaunchTemplateNames": ["nodes"]}
    )
    expect_version(ec2, {"InstanceType": "g5.12xlarge"})
    ec2.stub.add_response(
        "delete_launch_template", {"LaunchTemplate": template()}, {"LaunchTemplateId": "lt-0123456789abcdef0"}
    )
    result = run_module(module, {"name": "nodes", "state": "absent", "owner_tags": OWNER})
    assert result["changed"] and "DeleteLaunchTemplate" in ec2.calls()
