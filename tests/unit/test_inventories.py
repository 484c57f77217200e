"""The shipped inventories agree with each other and with their group_vars.

inventories/lab/aws_ec2.yml is inventories/aws/aws_ec2.yml with exactly the lab's differences (its endpoint
from the lab_endpoint lookup, the lab's credentials, the lab's cluster in the filter); every aws_ec2
inventory filters on the cluster and region its group_vars name, and composes node_cluster, which
configure, validate and verify_efa compare with cluster_name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "inventories"
LAB_ONLY = {"endpoint_url", "access_key", "secret_key"}


def _load(path):
    return yaml.safe_load(path.read_text())


def _settings(inventory):
    merged = {}
    for path in sorted((INVENTORIES / inventory / "group_vars" / "all").glob("*.yml")):
        merged.update(_load(path))
    return merged


def test_lab_inventory_is_the_aws_one_with_the_lab_differences_only():
    aws = _load(INVENTORIES / "aws" / "aws_ec2.yml")
    lab = _load(INVENTORIES / "lab" / "aws_ec2.yml")
    assert set(lab) - set(aws) == LAB_ONLY
    assert lab["endpoint_url"] == "{{ lookup('nixl_efa.cluster.lab_endpoint') }}"
    assert (lab["access_key"], lab["secret_key"]) == ("testing", "testing")
    for key in aws:
        if key == "filters":
            assert {k: v for k, v in lab[key].items() if k != "tag:nixl-efa:cluster"} == {
                k: v for k, v in aws[key].items() if k != "tag:nixl-efa:cluster"
            }
        else:
            assert lab[key] == aws[key], key


@pytest.mark.parametrize("inventory", ["aws", "lab", "code_server"])
def test_filter_and_regions_are_the_group_vars_cluster(inventory):
    config = _load(INVENTORIES / inventory / "aws_ec2.yml")
    settings = _settings(inventory)
    assert config["filters"]["tag:nixl-efa:cluster"] == settings["cluster_name"]
    assert config["regions"] == [settings["cluster_region"]]
    assert config["compose"]["node_cluster"] == "tags['nixl-efa:cluster']"


def test_the_lab_cluster_is_not_the_real_default():
    assert _settings("lab")["cluster_name"] != _settings("aws")["cluster_name"]
    assert _settings("lab")["cluster_local_aws"] is True
    assert "cluster_local_aws" not in _settings("aws") and "cluster_local_aws" not in _settings("code_server")
    assert _settings("aws")["cluster_require_tls"] is True and _settings("code_server")["cluster_require_tls"] is True
