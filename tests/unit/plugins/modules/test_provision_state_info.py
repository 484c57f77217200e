# -*- coding: utf-8 -*-
"""provision_state_info: one task, a digest, never a change; a resource gone is reported, not a failure."""

from ansible_collections.nixl_efa.cluster.plugins.modules import provision_state_info as module

NODE_FILTERS = [
    {"Name": "tag:nixl-efa:cluster", "Values": ["demo"]},
    {"Name": "instance-state-name", "Values": ["pending", "running", "shutting-down", "stopping", "stopped"]},
]


def test_reads_the_nodes_and_returns_a_digest_in_check_mode_too(ec2, run_module):
    for _attempt in range(2):
        ec2.stub.add_response("describe_instances", {"Reservations": []}, {"Filters": NODE_FILTERS})
    first = run_module(module, {"cluster_name": "demo"})
    again = run_module(module, {"cluster_name": "demo"}, check_mode=True)
    assert first["changed"] is False and again["changed"] is False
    assert len(first["digest"]) == 64 and first["digest"] == again["digest"]
    assert first["resources"] == {"instances": 0} and first["missing"] == [] and first["api_calls"] == 1


def test_a_vpc_gone_is_missing_and_throttling_is_retried(ec2, run_module):
    ec2.throttle("describe_vpcs")
    ec2.stub.add_client_error("describe_vpcs", "InvalidVpcID.NotFound", "gone", 400)
    ec2.stub.add_response("describe_instances", {"Reservations": []}, {"Filters": NODE_FILTERS})
    result = run_module(module, {"cluster_name": "demo", "vpc_id": "vpc-0123456789abcdef0"})
    assert not result["failed"] and result["missing"] == ["vpc"]
    assert len(ec2.sleeps) == 2


def test_other_errors_fail_naming_the_cluster(ec2, run_module):
    ec2.stub.add_client_error("describe_instances", "UnauthorizedOperation", "no", 403)
    result = run_module(module, {"cluster_name": "demo"})
    assert result["failed"] and "cluster demo" in result["msg"]


def test_refuses_more_than_ten_parameter_names(ec2, run_module):
    result = run_module(module, {"cluster_name": "demo", "parameter_names": [f"/p/{i}" for i in range(11)]})
    assert result["failed"] and "parameter_names" in result["msg"]
