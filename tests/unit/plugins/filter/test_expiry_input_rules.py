# -*- coding: utf-8 -*-
"""The expiry role's input rules (filter expiry_input_rules): the module's bounds, a refusal naming the setting."""

import pytest

from ansible_collections.nixl_efa.cluster.plugins.filter.expiry import FilterModule
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.input_problems import input_problems

rules = FilterModule().filters()["expiry_input_rules"]
NAMES = {"expiry_hours": "cluster_expires_after_hours"}


@pytest.mark.parametrize("hours", [0, "0", "", None, 0.0, 0.25, 24, "36", 8760])
def test_no_expiry_and_hours_within_the_bounds_pass(hours):
    assert input_problems(rules(hours, 60), NAMES) == []


@pytest.mark.parametrize("hours", [-1, 0.1, 8761, "tomorrow", True, [24]])
def test_other_hours_are_refused_naming_the_setting_the_user_set(hours):
    (problem,) = input_problems(rules(hours, 60), NAMES)
    assert problem.startswith(
        "cluster_expires_after_hours must be a number of hours from 0.25 to 8760 (0 or unset: no expiry)"
    )


def test_the_extension_window_is_checked_under_its_own_name():
    (problem,) = input_problems(rules(24, 0), NAMES)
    assert problem.startswith("expiry_extend_min_minutes must be a whole number of minutes from 1 to 10080")
    assert input_problems(rules(24, "90"), NAMES) == []
