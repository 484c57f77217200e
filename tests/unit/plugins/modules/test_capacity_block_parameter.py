# -*- coding: utf-8 -*-
"""nixl_efa.cluster.capacity_block_parameter: a cluster's Parameter Store entry, changed only if it is the cluster's."""

from botocore.stub import ANY

from ansible_collections.nixl_efa.cluster.plugins.modules import capacity_block_parameter as module

NAME = "/nixl-efa/demo/subnet-id"


def expect_get(ssm, value):
    if value is None:
        ssm.stub.add_client_error("get_parameter", "ParameterNotFound", "", 400, expected_params={"Name": NAME})
    else:
        ssm.stub.add_response("get_parameter", {"Parameter": {"Name": NAME, "Value": value}}, {"Name": NAME})


def expect_tags(ssm, tags):
    ssm.stub.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"ResourceType": "Parameter", "ResourceId": NAME},
    )


def test_new_entry_is_created_tagged_without_overwrite(ssm, run_module):
    expect_get(ssm, None)
    ssm.stub.add_response(
        "put_parameter",
        {"Version": 1},
        {"Name": NAME, "Value": "subnet-1", "Type": "String", "Description": ANY, "Overwrite": False,
         "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "nixl-efa:cluster", "Value": "demo"}]},
    )  # fmt: skip
    result = run_module(module, {"name": NAME, "value": "subnet-1", "cluster": "demo", "tags": {"team": "ml"}})
    assert result["changed"] and result["parameter"] == {"name": NAME, "value": "subnet-1", "previous_value": None}


def test_created_meanwhile_by_another_run_with_the_same_value_is_unchanged(ssm, run_module):
    expect_get(ssm, None)
    ssm.stub.add_client_error("put_parameter", "ParameterAlreadyExists", "", 400)
    expect_get(ssm, "subnet-1")
    result = run_module(module, {"name": NAME, "value": "subnet-1", "cluster": "demo"})
    assert not result["failed"] and result["changed"] is False


def test_same_value_is_unchanged_without_reading_tags(ssm, run_module):
    expect_get(ssm, "subnet-1")
    result = run_module(module, {"name": NAME, "value": "subnet-1", "cluster": "demo"})
    assert result["changed"] is False and ssm.calls() == ["GetParameter"]


def test_own_entry_is_overwritten(ssm, run_module):
    expect_get(ssm, "subnet-old")
    expect_tags(ssm, {"nixl-efa:cluster": "demo"})
    ssm.stub.add_response(
        "put_parameter",
        {"Version": 2},
        {"Name": NAME, "Value": "subnet-1", "Type": "String", "Description": ANY, "Overwrite": True},
    )
    result = run_module(module, {"name": NAME, "value": "subnet-1", "cluster": "demo"})
    assert result["changed"] and result["parameter"]["previous_value"] == "subnet-old"


def test_entry_of_another_cluster_is_not_overwritten(ssm, run_module):
    expect_get(ssm, "subnet-theirs")
    expect_tags(ssm, {"nixl-efa:cluster": "other"})
    result = run_module(module, {"name": NAME, "value": "subnet-1", "cluster": "demo"})
    assert result["failed"]
    assert f"Parameter Store entry {NAME} exists and is tagged nixl-efa:cluster=other" in result["msg"]
    assert "Nothing was changed" in result["msg"]
    assert "PutParameter" not in ssm.calls()


def test_untagged_entry_is_not_deleted(ssm, run_module):
    expect_get(ssm, "subnet-1")
    expect_tags(ssm, {})
    result = run_module(module, {"name": NAME, "cluster": "demo", "state": "absent"})
    assert result["failed"] and f"{NAME} exists and has no nixl-efa:cluster tag" in result["msg"]
    assert "DeleteParameter" not in ssm.calls()


def test_own_entry_is_deleted_and_a_missing_one_is_unchanged(ssm, run_module):
    expect_get(ssm, "subnet-1")
    expect_tags(ssm, {"nixl-efa:cluster": "demo"})
    ssm.stub.add_response("delete_parameter", {}, {"Name": NAME})
    result = run_module(module, {"name": NAME, "cluster": "demo", "state": "absent"})
    assert result["changed"] and result["parameter"] == {"name": NAME, "value": None, "previous_value": "subnet-1"}
    expect_get(ssm, None)
    again = run_module(module, {"name": NAME, "cluster": "demo", "state": "absent"})
    assert again["changed"] is False


def test_check_mode_reads_and_changes_nothing(ssm, run_module):
    expect_get(ssm, "subnet-1")
    expect_tags(ssm, {"nixl-efa:cluster": "demo"})
    result = run_module(module, {"name": NAME, "cluster": "demo", "state": "absent"}, check_mode=True)
    assert result["changed"] and "DeleteParameter" not in ssm.calls()
