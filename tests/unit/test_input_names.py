"""Each role's one mapping of role variable to the cluster_* setting it defaults to.

A role variable that defaults to a cluster setting reads it in the role's defaults/main.yml
("{{ cluster_x | default(...) }}"), and the role's vars/main.yml names the pair once more in
`<role>__settings`, from which the input_names filter tells a refusal which name to use. These tests
keep the two in step, keep each argument spec's default equal to the role default, and keep the
playbooks free of the mapping blocks they used to carry: a playbook wires only what one role hands
the next.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Role -> the name of its settings mapping in vars/main.yml (iam_s3's internal prefix is __iam_s3_).
ROLES = {
    "network": "network__settings",
    "iam_s3": "__iam_s3_settings",
    "capacity_block": "capacity_block__settings",
    "instances": "instances__settings",
    "efs": "efs__settings",
    "audit": "audit__settings",
    "expiry": "expiry__settings",
}
# A role variable read from one setting as it is: "{{ cluster_x }}" or "{{ cluster_x | default(...) }}".
FROM_SETTING = re.compile(r"^\{\{\s*(cluster_\w+)\s*(\|\s*default\((?:[^()]|\([^()]*\))*\)\s*)?\}\}$")
PLAYBOOKS = ("provision.yml", "teardown.yml", "capacity_block.yml", "ray.yml", "audit.yml")


def _yaml(*parts):
    return yaml.safe_load(ROOT.joinpath(*parts).read_text())


def defaults_from_settings(role):
    """Role variable -> the setting its default reads, from the role's defaults/main.yml."""
    found = {}
    for name, value in _yaml("roles", role, "defaults", "main.yml").items():
        match = FROM_SETTING.match(value.strip()) if isinstance(value, str) else None
        if match:
            found[name] = match.group(1)
    return found


@pytest.mark.parametrize("role", ROLES)
def test_the_settings_mapping_names_each_default_read_from_a_setting(role):
    settings = _yaml("roles", role, "vars", "main.yml")[ROLES[role]]
    assert settings, f"roles/{role}/vars/main.yml: {ROLES[role]} is empty"
    assert settings == defaults_from_settings(role)
    assert all(value.startswith("cluster_") for value in settings.values())


@pytest.mark.parametrize("role", ROLES)
def test_the_input_names_come_from_the_settings_mapping(role):
    variables = _yaml("roles", role, "vars", "main.yml")
    names = ROLES[role].replace("settings", "input_names")
    assert f"{ROLES[role]} | nixl_efa.cluster.input_names(" in variables[names]
    # every refusal of the role goes through those names
    for task_file in (ROOT / "roles" / role / "tasks").glob("*.yml"):
        text = task_file.read_text()
        for call in re.findall(r"nixl_efa\.cluster\.input_problems\(([^)]*)\)", text):
            assert call == names, f"{task_file.relative_to(ROOT)}: refusals named with {call}, not {names}"
        old = re.search(rf"(?<![\w]){role}_input_names", text)
        assert not old, f"{task_file.relative_to(ROOT)} still reads {role}_input_names"


def _spec_options(role):
    """Every option of every entry point of the role's argument specs."""
    specs = _yaml("roles", role, "meta", "argument_specs.yml")["argument_specs"]
    for entry in specs.values():
        yield from (entry.get("options") or {}).items()


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_document_the_default_the_role_has(role):
    read = defaults_from_settings(role)
    defaults = _yaml("roles", role, "defaults", "main.yml")
    seen = set()
    for name, spec in _spec_options(role):
        if name in read:
            seen.add(name)
            assert spec.get("default") == defaults[name], f"{role}: {name}'s spec default is not defaults/main.yml's"
            assert not spec.get("required"), f"{role}: {name} has a default (from {read[name]}), so it is not required"
    assert seen == set(read), f"{role}: no argument spec documents {sorted(set(read) - seen)}"


def _vars_blocks(node):
    """Every `vars:` mapping of plays, tasks and blocks."""
    if isinstance(node, list):
        for item in node:
            yield from _vars_blocks(item)
    elif isinstance(node, dict):
        if isinstance(node.get("vars"), dict):
            yield node["vars"]
        for key in ("tasks", "pre_tasks", "post_tasks", "block", "rescue", "always"):
            yield from _vars_blocks(node.get(key))


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbooks_no_longer_map_settings_to_role_variables(playbook):
    mapped = {}
    for block in _vars_blocks(_yaml("playbooks", playbook)):
        for name, value in block.items():
            assert not name.endswith("_input_names"), f"{playbook} still passes {name}"
            match = FROM_SETTING.match(value.strip()) if isinstance(value, str) else None
            if match and any(name.startswith(role + "_") for role in ROLES):
                mapped[name] = match.group(1)
    assert mapped == {}, f"{playbook} fills role variables the roles read from the settings themselves"
