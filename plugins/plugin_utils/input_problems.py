# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The refusal of a role's input: only the rules that failed, each naming the variable the user set.

A role checks its input as a list of rules, each a mapping:

- ``that``: whether the rule holds (a boolean, as a template such as ``"{{ x | int >= 1 }}"`` gives);
- ``msg``: what the rule asks, naming the role's own variables (``instances_count must be from 1 to 64``);
- ``got`` (optional): the value found, quoted after the message as ``(got ...)``.

A playbook that fills a role variable from a setting of its own (provision.yml fills
``instances_count`` from ``cluster_instance_count``) passes the role ``<role>_input_names``, a
mapping from role variable to that setting, so the refusal names what the user set. Each
whole-word occurrence of a mapped role variable in a message is replaced; the ``got`` value is
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
