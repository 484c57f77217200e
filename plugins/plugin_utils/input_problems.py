# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The refusal of a role's input: only the rules that failed, each naming the variable the user set.

A role checks its input as a list of rules, each a mapping:

- ``that``: whether the rule holds (a boolean, as a template such as ``"{{ x | int >= 1 }}"`` gives);
- ``msg``: what the rule asks, naming the role's own variables (``instances_count must be from 1 to 64``);
- ``got`` (optional): the value found, quoted after the message as ``(got ...)``.

A role variable that defaults to a cluster setting (the instances role's ``instances_count``
defaults to ``cluster_instance_count``) is refused under that setting's name when its value came
from it: ``input_names`` answers the mapping from role variable to the name to use, and each
whole-word occurrence of a mapped role variable in a message is replaced. The ``got`` value is
never rewritten.

Pure logic, controller side; the input_problems filter is its Ansible face.
"""

from __future__ import annotations

import json
import re

_TRUE = frozenset(("true", "yes", "on", "1"))
_FALSE = frozenset(("false", "no", "off", "0", ""))
_WORD = "A-Za-z0-9_"


class InputRuleError(ValueError):
    """A rule that is not a mapping with a boolean ``that`` and a text ``msg``."""


def holds(value):
    """Whether a rule's ``that`` holds; a template may answer a boolean or its text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise InputRuleError(f"a rule's 'that' must be a boolean, got {value!r}")


def render_value(value):
    """A found value as the refusal quotes it: text in single quotes, anything else as JSON."""
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "nothing"
    return json.dumps(value, sort_keys=True, default=str)


def renamer(names):
    """A function that replaces each whole-word role variable in `names` by the name the user set."""
    if names is None:
        names = {}
    if not isinstance(names, dict):
        raise InputRuleError(f"the input names must be a mapping of role variable to setting, got {names!r}")
    wanted = {}
    for key, value in names.items():
        if not isinstance(key, str) or not key or not isinstance(value, str) or not value:
            raise InputRuleError(f"input name {key!r}: {value!r} is not a pair of non-empty names")
        if key != value:
            wanted[key] = value
    if not wanted:
        return lambda text: text
    alternatives = "|".join(re.escape(key) for key in sorted(wanted, key=len, reverse=True))
    pattern = re.compile(rf"(?<![{_WORD}])(?:{alternatives})(?![{_WORD}])")
    return lambda text: pattern.sub(lambda match: wanted[match.group(0)], text)


def problem(rule, rename):
    """The message of one failed rule, renamed, with the value found."""
    text = rename(str(rule["msg"]).strip())
    if "got" in rule:
        text = f"{text[:-1] if text.endswith('.') else text} (got {render_value(rule['got'])})."
    elif text and text[-1] not in ".!?":
        text += "."
    return text


def _same(value, setting):
    """Whether a role variable holds its setting's value (a number given as text counts as the number)."""
    if isinstance(value, bool) or isinstance(setting, bool):
        return value is setting
    if value == setting:
        return True
    scalars = (str, int, float)
    return isinstance(value, scalars) and isinstance(setting, scalars) and str(value) == str(setting)


def input_names(settings, values, setting_values):
    """Role variable -> the name its refusal uses: the setting when the variable holds the setting's value.

    `settings` maps each role variable to the cluster setting it defaults to (in the role's order);
    `values` are the role variables' values and `setting_values` the settings' values, in that order,
    an unset setting as "". A variable set apart from its setting keeps its own name, so a refusal
    always names what the user set.
    """
    if not isinstance(settings, dict):
        raise InputRuleError(f"the settings must be a mapping of role variable to setting, got {settings!r}")
    values, setting_values = list(values or []), list(setting_values or [])
    if len(values) != len(settings) or len(setting_values) != len(settings):
        raise InputRuleError(
            f"{len(settings)} settings need as many role values and setting values,"
            f" got {len(values)} and {len(setting_values)}"
        )
    return {
        variable: setting
        for (variable, setting), value, given in zip(settings.items(), values, setting_values)
        if _same(value, given)
    }


def input_problems(rules, names=None):
    """The messages of the rules that do not hold, in order, each naming the variables as `names` says.

    An empty list means every rule holds.
    """
    if not isinstance(rules, (list, tuple)):
        raise InputRuleError(f"the rules must be a list, got {rules!r}")
    rename = renamer(names)
    problems = []
    for number, rule in enumerate(rules, 1):
        if not isinstance(rule, dict) or "that" not in rule or not isinstance(rule.get("msg"), str):
            raise InputRuleError(f"rule {number} needs 'that' and a text 'msg', got {rule!r}")
        if not holds(rule["that"]):
            problems.append(problem(rule, rename))
    return problems
