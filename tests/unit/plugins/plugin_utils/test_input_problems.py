# -*- coding: utf-8 -*-
"""Input refusals: only the rules that failed, naming the variable the user set."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.filter.input_problems import FilterModule
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils import input_problems as ip

RULES = [
    {"that": True, "msg": "instances_cluster_name must be 1-32 lowercase letters", "got": "valid-name"},
    {"that": False, "msg": "instances_count must be from 1 to 64", "got": 0},
    {"that": True, "msg": "instances_region is needed unless instances_ami_id is set."},
]
PROVISION = {"instances_count": "cluster_instance_count", "instances_cluster_name": "cluster_name"}


def test_only_the_failed_rule_is_reported_under_the_users_name():
    assert ip.input_problems(RULES, PROVISION) == ["cluster_instance_count must be from 1 to 64 (got 0)."]


def test_without_names_the_role_variables_are_named():
    assert ip.input_problems(RULES) == ["instances_count must be from 1 to 64 (got 0)."]
    assert ip.input_problems(RULES, {}) == ip.input_problems(RULES, None)


def test_every_failed_rule_in_order_and_none_when_all_hold():
    rules = [dict(rule, that=not rule["that"]) for rule in RULES]
    assert ip.input_problems(rules, PROVISION) == [
        "cluster_name must be 1-32 lowercase letters (got 'valid-name').",
        "instances_region is needed unless instances_ami_id is set.",
    ]
    assert ip.input_problems([dict(rule, that=True) for rule in RULES], PROVISION) == []
    assert ip.input_problems([], PROVISION) == []


def test_only_whole_names_are_replaced_and_never_twice():
    names = {"network_vpc_cidr": "cluster_vpc_cidr", "network_vpc": "cluster_vpc", "cluster_vpc": "oops"}
    rule = {"that": False, "msg": "network_vpc_cidr, network_vpc_cidr_extra, my_network_vpc and network_vpc."}
    assert ip.input_problems([rule], names) == [
        "cluster_vpc_cidr, network_vpc_cidr_extra, my_network_vpc and cluster_vpc."
    ]


def test_the_value_found_is_quoted_as_it_is_never_renamed():
    rule = {"that": False, "msg": "instances_cluster_name must be lowercase.", "got": "instances_count"}
    assert ip.input_problems([rule], PROVISION) == ["cluster_name must be lowercase (got 'instances_count')."]
    for got, shown in [
        (["a", 1], '["a", 1]'),
        ({"port": 22}, '{"port": 22}'),
        (None, "nothing"),
        (2.5, "2.5"),
        ("", "''"),
    ]:
        assert ip.input_problems([{"that": False, "msg": "x", "got": got}]) == [f"x (got {shown})."]


@pytest.mark.parametrize(
    ("that", "holds"),
    [
        (True, True),
        ("True", True),
        (" yes ", True),
        (1, True),
        (False, False),
        ("False", False),
        ("", False),
        (0, False),
    ],
)
def test_that_is_a_boolean_or_its_text(that, holds):
    assert ip.input_problems([{"that": that, "msg": "m"}]) == ([] if holds else ["m."])


@pytest.mark.parametrize("message", ["ends with a question?", "ends with a stop.", "(for example 'x/')."])
def test_a_message_keeps_its_own_ending(message):
    assert ip.input_problems([{"that": False, "msg": message}]) == [message]


@pytest.mark.parametrize(
    ("rules", "names", "error"),
    [
        ("not a list", None, "the rules must be a list"),
        ([{"msg": "no that"}], None, "rule 1 needs 'that'"),
        ([{"that": True, "msg": 3}], None, "rule 1 needs 'that' and a text 'msg'"),
        ([{"that": "maybe", "msg": "m"}], None, "must be a boolean, got 'maybe'"),
        ([{"that": None, "msg": "m"}], None, "must be a boolean, got None"),
        ([], ["instances_count"], "must be a mapping"),
        ([], {"instances_count": ""}, "is not a pair of non-empty names"),
    ],
)
def test_malformed_rules_and_names_are_refused(rules, names, error):
    with pytest.raises(ip.InputRuleError, match=error.replace("?", r"\?").replace("(", r"\(")):
        ip.input_problems(rules, names)


def test_filter_is_registered_and_reports_errors_as_filter_errors():
    f = FilterModule().filters()["input_problems"]
    assert f(RULES, PROVISION) == ["cluster_instance_count must be from 1 to 64 (got 0)."]
    with pytest.raises(AnsibleFilterError, match="input_problems: rule 1 needs"):
        f([{}])
