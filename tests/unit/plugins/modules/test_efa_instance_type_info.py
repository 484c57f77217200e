# -*- coding: utf-8 -*-
from ec2_data import instance_type

from ansible_collections.nixl_efa.cluster.plugins.modules import efa_instance_type_info as module


def test_describes_types_in_the_order_asked(ec2, run_module):
    ec2.stub.add_response(
        "describe_instance_types",
        {"InstanceTypes": [instance_type("g5.12xlarge"), instance_type("p5.48xlarge")]},
        {"InstanceTypes": ["p5.48xlarge", "g5.12xlarge"]},
    )
    result = run_module(module, {"instance_types": ["p5.48xlarge", "g5.12xlarge"]})
    assert not result["failed"] and result["changed"] is False
    p5, g5 = result["instance_types"]
    assert (p5["instance_type"], p5["max_efa_interfaces"], p5["network_cards"], p5["gpu_count"]) == (
        "p5.48xlarge",
        32,
        32,
        8,
    )
    assert (g5["instance_type"], g5["max_efa_interfaces"], g5["recommended_volume_size"]) == ("g5.12xlarge", 1, 200)


def test_unknown_type_is_named(ec2, run_module):
    ec2.stub.add_client_error(
        "describe_instance_types",
        "InvalidInstanceType",
        "The following supplied instance types do not exist: [p9.huge]",
        expected_params={"InstanceTypes": ["g5.12xlarge", "p9.huge"]},
    )
    ec2.stub.add_response(
        "describe_instance_types", {"InstanceTypes": [instance_type("g5.12xlarge")]}, {"InstanceTypes": ["g5.12xlarge"]}
    )
    ec2.stub.add_client_error(
        "describe_instance_types", "InvalidInstanceType", "no", expected_params={"InstanceTypes": ["p9.huge"]}
    )
    result = run_module(module, {"instance_types": ["g5.12xlarge", "p9.huge"]})
    assert result["failed"]
    assert result["msg"] == "Unknown instance type(s): p9.huge; EC2 in this region does not offer them"
    assert result["unknown_instance_types"] == ["p9.huge"]


def test_throttled_twice_then_answers(ec2, run_module):
    ec2.throttle("describe_instance_types")
    ec2.stub.add_response(
        "describe_instance_types", {"InstanceTypes": [instance_type("t3.large")]}, {"InstanceTypes": ["t3.large"]}
    )
    result = run_module(module, {"instance_types": ["t3.large"]})
    assert not result["failed"]
    assert result["instance_types"][0]["efa_supported"] is False
    assert len(ec2.sleeps) == 2
    assert ec2.calls() == ["DescribeInstanceTypes"] * 3
