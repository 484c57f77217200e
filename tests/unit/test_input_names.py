"""Each playbook's one mapping of role variable to the cluster_* setting it is filled from.

A role's input refusal names the variable the user set through <role>_input_names (the
input_problems filter). Each playbook that fills role variables from cluster_* settings keeps that
mapping once (a `<playbook>__input_names` variable, or the efs include's own in ray.yml) and passes it
to the roles; these tests keep it equal to what the playbook actually passes, so a setting added to
a playbook without its name, or a name left behind, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("network", "iam_s3", "capacity_block", "instances", "efs")
# A role variable filled from one setting as it is: "{{ cluster_x }}" or "{{ cluster_x | default(...) }}".
FROM_SETTING = re.compile(r"^\{\{\s*(cluster_\w+)\s*(\|\s*default\([^()]*\)\s*)?\}\}$")
PLAYBOOKS = ("provision.yml", "teardown.yml", "capacity_block.yml", "ray.yml")


def _vars_blocks(node):
    """Every `vars:` mapping of plays, tasks and blocks, outermost first."""
    if isinstance(node, list):
        for item in node:
            yield from _vars_blocks(item)
    elif isinstance(node, dict):
        if isinstance(node.get("vars"), dict):
            yield node["vars"]
        for key in ("tasks", "pre_tasks", "post_tasks", "block", "rescue", "always"):
            yield from _vars_blocks(node.get(key))


def _role_of(name):
    return next((role for role in ROLES if name.startswith(role + "_") and not name.startswith(role + "__")), None)


def playbook_names(path):
    """(role variable -> setting it is filled from, the mapping kept, the <role>_input_names passed)."""
    filled, kept, passed = {}, {}, {}
    for block in _vars_blocks(yaml.safe_load(path.read_text())):
        for name, value in block.items():
            if name.endswith("_input_names"):
                if name.endswith("__input_names") or isinstance(value, dict):
                    kept.update(value if isinstance(value, dict) else {})
                if _role_of(name) and name == f"{_role_of(name)}_input_names":
                    passed[_role_of(name)] = value
                continue
            match = FROM_SETTING.match(value.strip()) if isinstance(value, str) else None
            if _role_of(name) and match:
                filled[name] = match.group(1)
    return filled, kept, passed


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_role_variable_filled_from_a_setting_is_named_once(playbook):
    filled, kept, passed = playbook_names(ROOT / "playbooks" / playbook)
    assert filled, f"{playbook} fills no role variable from a cluster_* setting"
    missing = {name: setting for name, setting in filled.items() if kept.get(name) != setting}
    assert missing == {}, f"{playbook}: add these to its input names mapping"
    assert all(value.startswith("cluster_") for value in kept.values()), kept
    roles = {_role_of(name) for name in filled}
    assert roles <= set(passed), f"{playbook} passes no <role>_input_names to {sorted(roles - set(passed))}"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_the_mapping_names_only_variables_the_playbook_sets(playbook):
    text = (ROOT / "playbooks" / playbook).read_text()
    _filled, kept, _passed = playbook_names(ROOT / "playbooks" / playbook)
    for name in kept:
        assert re.search(rf"^\s+{name}:\s*[\"'>]", text, re.MULTILINE), f"{playbook} maps {name} but never sets it"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_defaults_to_its_own_names(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    assert defaults[f"{role}_input_names"] == {}
    specs = (ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text()
    assert f"{role}_input_names:" in specs
