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


SETTINGS = {
    "instances_count": "cluster_instance_count",
    "instances_region": "cluster_region",
    "instances_public_ip": "cluster_public_ip",
}


def test_a_variable_holding_its_settings_value_is_named_after_the_setting():
    names = ip.input_names(SETTINGS, [0, "us-east-1", False], [0, "us-east-1", False])
    assert names == SETTINGS
    rule = {"that": False, "msg": "instances_count must be from 1 to 64 in instances_region", "got": 0}
    assert ip.input_problems([rule], names) == [
        "cluster_instance_count must be from 1 to 64 in cluster_region (got 0)."
    ]


def test_a_variable_set_apart_from_its_setting_keeps_its_own_name():
    # instances_count set in a play's vars while cluster_instance_count says 2; the region unset (""):
    # the default ("{{ cluster_region | default('') }}") would hold "" too, so a refusal of "" names the setting.
    names = ip.input_names(SETTINGS, [0, "", True], [2, "", False])
    assert names == {"instances_region": "cluster_region"}
    assert ip.input_problems([{"that": False, "msg": "instances_count must be from 1 to 64", "got": 0}], names) == [
        "instances_count must be from 1 to 64 (got 0)."
    ]


@pytest.mark.parametrize(
    ("value", "setting", "same"),
    [
        (3, "3", True),
        ("3", 3, True),
        (2.5, "2.5", True),
        ({"a": 1}, {"a": 1}, True),
        ([1], [1], True),
        (True, "True", False),
        (False, 0, False),
        ("", None, False),
        (3, "03", False),
        ({"a": 1}, "{'a': 1}", False),
    ],
)
def test_a_number_given_as_text_is_the_number_and_nothing_else_is_coerced(value, setting, same):
    assert (ip.input_names({"x": "cluster_x"}, [value], [setting]) == {"x": "cluster_x"}) is same


@pytest.mark.parametrize(
    ("settings", "values", "setting_values"),
    [
        (["x"], [1], [1]),
        ({"x": "cluster_x"}, [], [1]),
        ({"x": "cluster_x"}, [1], [1, 2]),
    ],
)
def test_misshaped_input_names_are_refused(settings, values, setting_values):
    with pytest.raises(ip.InputRuleError):
        ip.input_names(settings, values, setting_values)
    with pytest.raises(AnsibleFilterError, match="input_names"):
        FilterModule().filters()["input_names"](settings, values, setting_values)
