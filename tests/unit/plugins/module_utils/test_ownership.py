# -*- coding: utf-8 -*-
"""Ownership before change: which resource of a cluster's name is that cluster's, and the refusal's words."""

import pytest

from ansible_collections.nixl_efa.cluster.plugins.filter.cluster_names import FilterModule
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ownership

TAG = "nixl-efa:cluster"


@pytest.mark.parametrize(
    "tags",
    [
        {TAG: "demo", "Name": "x"},
        [{"Key": TAG, "Value": "demo"}],
        [{"key": "Name", "value": "x"}, {"key": TAG, "value": "demo"}],
    ],
    ids=["dict", "boto3-list", "lowercase-list"],
)
def test_the_clusters_own_resource_is_no_problem(tags):
    assert ownership.ownership_problem("Security group", tags, TAG, "demo", name="demo-efa") is None


@pytest.mark.parametrize(
    "tags", [None, {}, [], {"Name": "demo-efa"}], ids=["none", "empty-dict", "empty-list", "other"]
)
def test_a_resource_without_the_tag_is_refused_naming_it(tags):
    problem = ownership.ownership_problem(
        "Security group", tags, TAG, "demo", name="demo-efa", resource_id="sg-0abc", where="in vpc-0def"
    )
    assert problem == (
        "Security group demo-efa (sg-0abc, in vpc-0def) exists and has no nixl-efa:cluster tag: "
        "it is not cluster demo's."
    )


def test_a_resource_of_another_cluster_is_refused_naming_the_tag_found():
    problem = ownership.ownership_problem("IAM role", {TAG: "other"}, TAG, "demo", name="demo-us-east-1-node")
    assert problem == (
        "IAM role demo-us-east-1-node exists and is tagged nixl-efa:cluster=other: "
        "it belongs to another cluster, not demo."
    )


def test_an_empty_tag_value_is_not_the_cluster():
    assert "is tagged nixl-efa:cluster=:" in ownership.ownership_problem(
        "VPC", {TAG: ""}, TAG, "demo", resource_id="vpc-1"
    )


def test_the_resource_is_named_by_whatever_names_it():
    assert ownership.describe_resource("Launch template", "demo-nodes", "lt-1") == "Launch template demo-nodes (lt-1)"
    assert ownership.describe_resource("VPC", None, "vpc-1") == "VPC vpc-1"
    assert ownership.describe_resource("S3 bucket", "b", "b") == "S3 bucket b"


def test_the_tag_key_and_cluster_are_required():
    with pytest.raises(ValueError, match="ownership tag key"):
        ownership.ownership_problem("VPC", {}, "", "demo")
    with pytest.raises(ValueError, match="cluster name"):
        ownership.ownership_problem("VPC", {}, TAG, "")


def test_problems_keep_only_the_resources_that_are_not_the_clusters():
    resources = [
        {"kind": "Security group", "name": "demo-efa", "id": "sg-1", "tags": {TAG: "demo"}},
        {"kind": "Subnet", "name": "10.0.200.0/24", "id": "subnet-1", "where": "in vpc-1", "tags": {}},
        {"kind": "Placement group", "name": "demo-cluster", "tags": [{"Key": TAG, "Value": "other"}]},
    ]
    problems = FilterModule().filters()["ownership_problems"](resources, TAG, "demo")
    assert problems == [
        "Subnet 10.0.200.0/24 (subnet-1, in vpc-1) exists and has no nixl-efa:cluster tag: it is not cluster demo's.",
        "Placement group demo-cluster exists and is tagged nixl-efa:cluster=other: "
        "it belongs to another cluster, not demo.",
    ]
    assert ownership.ownership_problems([], TAG, "demo") == []
    assert ownership.ownership_problems(None, TAG, "demo") == []


def test_the_advice_names_the_setting_and_the_tag():
    advice = ownership.ownership_advice(TAG, "demo", setting="cluster_name")
    assert advice.startswith("Nothing was changed. Choose another cluster_name")
    assert "tag it nixl-efa:cluster=demo" in advice


# --- Adoption: a resource bought outside the collection (a capacity block from the console) ---------------

ADOPTED = ownership.ADOPTED_TAG


def test_adoption_tag_keys_have_one_home():
    assert ownership.adoption_tags("demo") == {TAG: "demo", ADOPTED: "true"}
    assert ownership.CLUSTER_TAG == TAG and ADOPTED == "nixl-efa:adopted"


@pytest.mark.parametrize(
    "tags", [None, {}, [], {"team": "ml", "Name": "bought in the console"}, [{"Key": "team", "Value": "ml"}]]
)
def test_a_resource_without_the_cluster_tag_is_adopted_with_two_tags_only(tags):
    plan = ownership.adoption_plan(tags, "demo", kind="Capacity reservation", resource_id="cr-1")
    assert plan == {
        "decision": "adopt", "add": {TAG: "demo", ADOPTED: "true"}, "adopted": False, "release": {}, "problem": "",
    }  # fmt: skip


def test_a_marker_left_behind_is_not_written_again():
    plan = ownership.adoption_plan({ADOPTED: "true", "team": "ml"}, "demo")
    assert plan["decision"] == "adopt" and plan["add"] == {TAG: "demo"}


def test_the_clusters_adopted_resource_is_its_own_and_released_by_the_two_tags():
    plan = ownership.adoption_plan({TAG: "demo", ADOPTED: "true", "team": "ml"}, "demo")
    assert plan == {
        "decision": "own", "add": {}, "adopted": True, "release": {TAG: "demo", ADOPTED: "true"}, "problem": "",
    }  # fmt: skip


def test_a_resource_the_collection_bought_for_the_cluster_is_its_own_and_never_released():
    plan = ownership.adoption_plan({TAG: "demo", "nixl-efa:purchase-key": "demo"}, "demo")
    assert plan == {"decision": "own", "add": {}, "adopted": False, "release": {}, "problem": ""}


@pytest.mark.parametrize("found", ["other", ""], ids=["another-cluster", "empty"])
def test_another_clusters_resource_is_refused_naming_it_and_the_tag(found):
    plan = ownership.adoption_plan(
        [{"Key": TAG, "Value": found}, {"Key": ADOPTED, "Value": "true"}],
        "demo",
        kind="Capacity reservation",
        resource_id="cr-0abc",
    )
    assert plan["decision"] == "refuse" and plan["add"] == {} and plan["release"] == {} and not plan["adopted"]
    assert plan["problem"].startswith(
        f"Capacity reservation cr-0abc exists and is tagged {TAG}={found}: it belongs to another cluster, not demo. "
        "It is not adopted: use another one for cluster demo"
    )


def test_another_clusters_adopted_resource_is_not_released_by_this_cluster():
    assert ownership.adoption_plan({TAG: "other", ADOPTED: "true"}, "demo")["release"] == {}


def test_the_adoption_plan_filter_is_the_same_function():
    assert FilterModule().filters()["adoption_plan"]({}, "demo")["decision"] == "adopt"
    with pytest.raises(Exception, match="cluster name"):
        FilterModule().filters()["adoption_plan"]({}, "")
