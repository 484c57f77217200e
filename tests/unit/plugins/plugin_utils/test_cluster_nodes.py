# -*- coding: utf-8 -*-
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.cluster_nodes import cluster_nodes

ROLES = [["prefill", "mlflow"], ["decode"]]


def inst(iid, launch="2026-11-25T10:00:00+00:00", launch_index=0, tags=None, ip="10.0.200.5"):
    return {
        "instance_id": iid,
        "launch_time": launch,
        "ami_launch_index": launch_index,
        "tags": {"nixl-efa:cluster": "demo", **(tags or {})},
        "private_ip_address": ip,
        "placement": {"availability_zone": "us-east-1b"},
        "state": {"name": "running"},
    }


def tagged(index, roles):
    return {"Name": f"demo-node-{index}", "nixl-efa:node-index": str(index), "nixl-efa:roles": roles}


def test_new_nodes_take_indexes_in_launch_order_and_roles_by_index():
    nodes = cluster_nodes([inst("i-b", launch_index=1), inst("i-a", launch_index=0)], "demo", ROLES, ["decode"])
    assert [(n["instance_id"], n["node_index"], n["roles"]) for n in nodes] == [
        ("i-a", 0, ["prefill", "mlflow"]),
        ("i-b", 1, ["decode"]),
    ]
    assert nodes[0]["tags"] == tagged(0, "prefill,mlflow")
    assert all(n["retag"] for n in nodes)
    assert nodes[0]["availability_zone"] == "us-east-1b" and nodes[0]["state"] == "running"


def test_tagged_nodes_keep_their_index_and_need_no_retag():
    instances = [inst("i-a", tags=tagged(1, "decode")), inst("i-b", tags=tagged(0, "prefill,mlflow"))]
    nodes = cluster_nodes(instances, "demo", ROLES)
    assert [(n["instance_id"], n["node_index"], n["retag"]) for n in nodes] == [("i-b", 0, False), ("i-a", 1, False)]


def test_a_replacement_fills_the_free_index():
    old = inst("i-keep", tags=tagged(1, "decode"))
    new = inst("i-new", launch="2026-11-25T11:00:00+00:00")
    nodes = cluster_nodes([old, new], "demo", ROLES, ["decode"])
    assert [(n["instance_id"], n["node_index"]) for n in nodes] == [("i-new", 0), ("i-keep", 1)]
    assert nodes[0]["roles"] == ["prefill", "mlflow"]


def test_duplicate_or_bad_index_tags_are_reassigned():
    first = inst("i-1", tags=tagged(0, "prefill,mlflow"))
    dup = inst("i-2", launch="2026-11-25T11:00:00+00:00", tags=tagged(0, "prefill,mlflow"))
    bad = inst("i-3", launch="2026-11-25T12:00:00+00:00", tags={"nixl-efa:node-index": "x"})
    nodes = cluster_nodes([bad, dup, first], "demo", ROLES, ["decode"])
    assert [(n["instance_id"], n["node_index"], n["retag"]) for n in nodes] == [
        ("i-1", 0, False),
        ("i-2", 1, True),
        ("i-3", 2, True),
    ]
    assert nodes[2]["roles"] == ["decode"]


def test_no_instances():
    assert cluster_nodes([], "demo", ROLES) == []
