# -*- coding: utf-8 -*-
import pytest
from ec2_data import instance_type

from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import EfaLayoutError
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import efa_interface_layout
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import recommended_volume_size
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import summarize_instance_type


def summary(name, **kwargs):
    return summarize_instance_type(instance_type(name, **kwargs))


@pytest.mark.parametrize(
    "name, cards",
    [("p5.48xlarge", 32), ("p5en.48xlarge", 16), ("p4d.24xlarge", 4), ("trn1.32xlarge", 8), ("g5.12xlarge", 1)],
)
def test_max_layout_has_one_interface_per_card(name, cards):
    layout, notes = efa_interface_layout(summary(name))
    assert notes == []
    assert len(layout) == cards
    assert layout[0] == {"network_card_index": 0, "device_index": 0, "interface_type": "efa"}
    assert [i["network_card_index"] for i in layout] == list(range(cards))
    assert all(i["device_index"] == 1 and i["interface_type"] == "efa" for i in layout[1:])


def test_efa_only_on_secondary_cards_only():
    layout, notes = efa_interface_layout(summary("p5.48xlarge"), efa_only_secondary=True)
    assert notes == []
    assert layout[0]["interface_type"] == "efa"
    assert {i["interface_type"] for i in layout[1:]} == {"efa-only"}


def test_efa_only_refused_where_card_does_not_accept_it():
    info = summary("p4d.24xlarge", interface_types=("interface", "efa"))
    layout, notes = efa_interface_layout(info, efa_only_secondary=True)
    assert {i["interface_type"] for i in layout} == {"efa"}
    assert len(notes) == 3 and "does not accept efa-only" in notes[0]


def test_efa_only_not_assumed_when_ec2_does_not_report_interface_types():
    info = summary("trn1.32xlarge", report_interface_types=False)
    layout, notes = efa_interface_layout(info, efa_only_secondary=True)
    assert {i["interface_type"] for i in layout} == {"efa"}
    assert notes == [
        "EC2 did not report the interface types of network card(s) [1, 2, 3, 4, 5, 6, 7] of trn1.32xlarge; "
        "using efa (EFA with ENA) there instead of efa-only"
    ]


def test_type_without_efa_is_refused_by_name():
    with pytest.raises(EfaLayoutError, match=r"t3\.large does not support EFA"):
        efa_interface_layout(summary("t3.large"))


@pytest.mark.parametrize("wanted, count", [("max", 4), (None, 4), ("2", 2), (1, 1), (4, 4)])
def test_requested_interface_count(wanted, count):
    layout = efa_interface_layout(summary("p4d.24xlarge"), wanted)[0]
    assert len(layout) == count


@pytest.mark.parametrize(
    "wanted, message",
    [(5, "at most 4 EFA interface"), (-1, "0 or more"), ("lots", "'max', 'none' or a non-negative integer")],
)
def test_bad_interface_counts(wanted, message):
    with pytest.raises(EfaLayoutError, match=message):
        efa_interface_layout(summary("p4d.24xlarge"), wanted)


@pytest.mark.parametrize("wanted", [0, "0", "none", "None"])
@pytest.mark.parametrize("name", ["t3.large", "p4d.24xlarge"])
def test_no_efa_gives_one_plain_interface_on_any_type(wanted, name):
    layout, notes = efa_interface_layout(summary(name), wanted, efa_only_secondary=False)
    assert layout == [{"network_card_index": 0, "device_index": 0, "interface_type": "interface"}]
    assert notes == []


def test_no_efa_says_efa_only_has_no_effect():
    layout, notes = efa_interface_layout(summary("t3.large"), "none", efa_only_secondary=True)
    assert len(layout) == 1 and notes == ["efa_only_secondary has no effect without EFA interfaces"]


def test_summary_fields_for_gpu_type():
    info = summary("p5.48xlarge")
    assert info["efa_supported"] is True
    assert info["max_efa_interfaces"] == 32
    assert info["network_cards"] == 32
    assert info["gpu_name"] == "NVIDIA H100"
    assert info["gpu_count"] == 8
    assert info["gpu_memory_mib"] == 81920
    assert info["accelerator_name"] is None
    assert info["vcpus"] == 192
    assert info["memory_mib"] == 2097152
    assert info["recommended_volume_size"] == 1000
    assert info["recommended_volume_size_source"] == "table"
    assert info["network_card_details"][5]["interface_types"] == ["interface", "efa", "efa-only"]


def test_summary_fields_for_neuron_type():
    info = summary("trn1.32xlarge")
    assert info["gpu_name"] is None and info["gpu_count"] is None
    assert info["accelerator_name"] == "Trainium"
    assert info["accelerator_count"] == 16
    assert info["recommended_volume_size"] == 500


def test_summary_of_type_without_efa():
    info = summary("t3.large")
    assert info["efa_supported"] is False
    assert info["max_efa_interfaces"] == 0


@pytest.mark.parametrize(
    "name, vcpus, accel_mib, expected",
    [
        ("g6e.24xlarge", 96, None, (300, "table")),
        ("g7e.48xlarge", 192, None, (1000, "table")),
        ("p5en.48xlarge", 192, 8 * 144384, (1000, "rule")),
        ("g6e.16xlarge", 64, 46 * 1024, (300, "rule")),
        ("inf2.8xlarge", 32, None, (200, "rule")),
        ("trn2.48xlarge", 192, None, (500, "rule")),
        ("x8g.metal-48xl", 192 * 2, None, (1000, "rule")),
        ("c7gn.16xlarge", None, None, (200, "rule")),
    ],
)
def test_recommended_volume_size(name, vcpus, accel_mib, expected):
    assert recommended_volume_size(name, vcpus, accel_mib) == expected
