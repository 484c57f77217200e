# -*- coding: utf-8 -*-
"""provision.yml's egress preflight: the settings that cannot come up on AWS, each named."""

import pytest

from ansible_collections.nixl_efa.cluster.plugins.filter.node_egress import FilterModule
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils import node_egress

P5 = {"instance_type": "p5.48xlarge", "efa_supported": True, "max_efa_interfaces": 32, "network_cards": 32}
G6E = {"instance_type": "g6e.8xlarge", "efa_supported": True, "max_efa_interfaces": 1, "network_cards": 1}
TRN2_WORKSTATION = {"instance_type": "trn2.3xlarge", "efa_supported": True, "max_efa_interfaces": 1, "network_cards": 1}
NO_EFA = {"instance_type": "m7i.large", "efa_supported": False, "max_efa_interfaces": 0, "network_cards": 1}


@pytest.mark.parametrize(
    ("summary", "efa", "count"),
    [(P5, "max", 32), (P5, "4", 4), (P5, 1, 1), (P5, "none", 1), (G6E, "max", 1), (NO_EFA, "max", None)],
)
def test_interface_count_is_the_launch_template_layout(summary, efa, count):
    assert node_egress.interface_count(summary, efa) == count


def test_shipped_defaults_come_up():
    assert node_egress.egress_problems(P5, private=True, nat_gateway=True) == []


def test_public_multi_card_nodes_have_no_way_out():
    (problem,) = node_egress.egress_problems(P5)
    assert problem.startswith("cluster_private is false, but each p5.48xlarge node is launched with 32")
    assert "cluster_private: true with cluster_nat_gateway: true" in problem


@pytest.mark.parametrize(("summary", "efa"), [(G6E, "max"), (P5, 1), (TRN2_WORKSTATION, 0)])
def test_single_interface_nodes_may_stay_public(summary, efa):
    assert node_egress.egress_problems(summary, efa) == []
    assert node_egress.egress_problems(summary, efa, public_ip=True) == []


def test_public_ip_with_several_interfaces_is_refused_alone():
    (problem,) = node_egress.egress_problems(P5, public_ip=True)
    assert problem.startswith("cluster_public_ip is true") and "AssociatePublicIpAddress" in problem


def test_private_without_nat_or_mirrors_cannot_install():
    (problem,) = node_egress.egress_problems(P5, private=True)
    assert problem.startswith("cluster_private is true without cluster_nat_gateway")
    assert node_egress.egress_problems(P5, private=True, package_mirrors=True) == []


def test_nat_gateway_needs_a_private_subnet():
    problems = node_egress.egress_problems(G6E, nat_gateway=True)
    assert [p.split(":")[0] for p in problems] == ["cluster_nat_gateway is true but cluster_private is false"]


def test_unknown_layout_is_left_to_the_instances_role():
    assert node_egress.egress_problems(NO_EFA) == []


def test_filter_is_the_function():
    assert FilterModule().filters()["node_egress_problems"] is node_egress.egress_problems
