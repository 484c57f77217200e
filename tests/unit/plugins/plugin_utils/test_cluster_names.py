# -*- coding: utf-8 -*-
"""The global names of a cluster (bucket, node role) carry the region, within AWS's length limits."""

import hashlib
import itertools

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.filter.cluster_names import FilterModule
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ownership
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils import cluster_names

ACCOUNT = "123456789012"
# The longest region names in use (commercial, GovCloud, China, ISO partitions), and the usual ones.
REGIONS = ["us-east-1", "us-west-2", "ap-southeast-5", "us-gov-west-1", "cn-northwest-1", "us-isof-south-1"]
CLUSTERS = ["a", "demo", "nixl-efa-lab", "c" * 26, "a" + "b-" * 15 + "z", "x" * 32]


def test_the_usual_names():
    assert cluster_names.node_role_name("demo", "us-east-1") == "demo-us-east-1-node"
    assert cluster_names.cluster_bucket_name("demo", "us-east-1", ACCOUNT) == "nixl-efa-demo-us-east-1-123456789012"


def test_the_same_cluster_in_two_regions_has_two_names():
    assert cluster_names.node_role_name("demo", "us-east-1") != cluster_names.node_role_name("demo", "us-west-2")
    east = cluster_names.cluster_bucket_name("demo", "us-east-1", ACCOUNT)
    west = cluster_names.cluster_bucket_name("demo", "us-west-2", ACCOUNT)
    assert east != west


@pytest.mark.parametrize(("cluster", "region"), list(itertools.product(CLUSTERS, REGIONS)))
def test_every_name_fits_aws_limits_and_keeps_region_and_account(cluster, region):
    role = cluster_names.node_role_name(cluster, region)
    bucket = cluster_names.cluster_bucket_name(cluster, region, ACCOUNT)
    assert len(role) <= 64 and role.endswith(f"-{region}-node")
    assert len(bucket) <= 63 and bucket.startswith("nixl-efa-") and bucket.endswith(f"-{region}-{ACCOUNT}")
    # S3's rules: lowercase letters, digits and hyphens, a letter or digit at each end.
    assert bucket.replace("-", "").isalnum() and bucket == bucket.lower() and bucket[-1].isalnum()


def test_a_cluster_name_that_fits_is_kept_whole():
    # 9 + 31 + 1 + 9 + 1 + 12 = 63: fits exactly.
    cluster = "c" * 31
    assert cluster_names.cluster_bucket_name(cluster, "us-east-1", ACCOUNT) == f"nixl-efa-{cluster}-us-east-1-{ACCOUNT}"


def test_a_long_cluster_name_is_shortened_with_a_hash_of_the_whole_name():
    cluster = "x" * 32
    bucket = cluster_names.cluster_bucket_name(cluster, "us-isof-south-1", ACCOUNT)
    digest = hashlib.sha256(cluster.encode()).hexdigest()[:6]
    assert len(bucket) == 63
    assert bucket == f"nixl-efa-{'x' * (63 - 9 - 1 - 6 - 1 - 15 - 1 - 12)}-{digest}-us-isof-south-1-{ACCOUNT}"


def test_two_long_names_sharing_their_start_get_two_buckets():
    first = cluster_names.cluster_bucket_name("x" * 31 + "a", "ap-southeast-5", ACCOUNT)
    second = cluster_names.cluster_bucket_name("x" * 31 + "b", "ap-southeast-5", ACCOUNT)
    assert first != second and len(first) == len(second) == 63


def test_a_cut_at_a_hyphen_makes_no_double_hyphen():
    cluster = "a" + "b-" * 15 + "z"  # 32 characters with a hyphen every other one
    bucket = cluster_names.cluster_bucket_name(cluster, "us-isof-south-1", ACCOUNT)
    assert "--" not in bucket


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Demo", "us-east-1", ACCOUNT), "Cluster name 'Demo'"),
        (("1demo", "us-east-1", ACCOUNT), "Cluster name '1demo'"),
        (("d" * 33, "us-east-1", ACCOUNT), "Cluster name"),
        (("demo", "useast1", ACCOUNT), "Region 'useast1'"),
        (("demo", "", ACCOUNT), "Region ''"),
        (("demo", "us-east-1", "12345"), "Account id '12345'"),
    ],
)
def test_bad_input_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        cluster_names.cluster_bucket_name(*args)


def test_the_filters_raise_ansible_errors():
    filters = FilterModule().filters()
    assert filters["node_role_name"]("demo", "us-west-2") == "demo-us-west-2-node"
    assert filters["cluster_bucket_name"]("demo", "us-west-2", ACCOUNT) == f"nixl-efa-demo-us-west-2-{ACCOUNT}"
    assert filters["cluster_tag"]("demo", "filter") == {"tag:nixl-efa:cluster": "demo"}
    with pytest.raises(AnsibleFilterError, match="cluster name"):
        filters["cluster_tag"]("")
    with pytest.raises(AnsibleFilterError, match="Region"):
        filters["node_role_name"]("demo", "nowhere")


def test_cluster_tag_shapes_read_the_one_key():
    assert cluster_names.cluster_tag("demo") == {ownership.CLUSTER_TAG: "demo"}
    assert cluster_names.cluster_tag("demo", "filter") == {"tag:" + ownership.CLUSTER_TAG: "demo"}
    assert ownership.CLUSTER_TAG == "nixl-efa:cluster"


@pytest.mark.parametrize("cluster", ["", None, 3])
def test_cluster_tag_needs_a_name(cluster):
    with pytest.raises(ValueError, match="needs the cluster name"):
        cluster_names.cluster_tag(cluster)


def test_cluster_tag_names_its_outputs():
    with pytest.raises(ValueError, match="not one of tags, filter"):
        cluster_names.cluster_tag("demo", "key")


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("security_group", "demo-efa"),
        ("placement_group", "demo-cluster"),
        ("launch_template", "demo-nodes"),
        ("expiry_schedule_group", "demo-expiry"),
        ("parameter_path", "/nixl-efa/demo"),
    ],
)
def test_cluster_resource_names(kind, name):
    assert cluster_names.cluster_resource_name("demo", kind) == name
    assert FilterModule().filters()["cluster_resource_name"]("demo", kind) == name


def test_cluster_resource_name_refuses_an_unknown_kind_and_no_cluster():
    with pytest.raises(
        ValueError,
        match="not one of security_group, placement_group, launch_template, expiry_schedule_group, parameter_path",
    ):
        cluster_names.cluster_resource_name("demo", "bucket")
    with pytest.raises(AnsibleFilterError, match="needs the cluster name"):
        FilterModule().filters()["cluster_resource_name"]("", "security_group")


def test_expiry_role_name_carries_the_region_and_differs_from_the_node_role():
    role = cluster_names.expiry_role_name("demo", "us-east-1")
    assert role == "demo-us-east-1-expiry"
    assert role != cluster_names.node_role_name("demo", "us-east-1")
    assert FilterModule().filters()["expiry_role_name"]("demo", "eu-west-2") == "demo-eu-west-2-expiry"
    longest = cluster_names.expiry_role_name("a" * 32, "ap-southeast-5")
    assert len(longest) <= cluster_names.ROLE_NAME_LIMIT and longest.startswith("a" * 32)
    with pytest.raises(AnsibleFilterError, match="Region 'nowhere' is not valid"):
        FilterModule().filters()["expiry_role_name"]("demo", "nowhere")


def test_local_fact_file_is_in_the_one_facts_directory():
    local_fact_file = FilterModule().filters()["local_fact_file"]
    assert local_fact_file("nixl_efa_ray") == "/etc/ansible/facts.d/nixl_efa_ray.fact"
    with pytest.raises(AnsibleFilterError, match="lowercase letters"):
        local_fact_file("../passwd")
