# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The input_problems filter: the failed input rules of a role, naming the variables the user set."""

from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.input_problems import InputRuleError
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.input_problems import input_names
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.input_problems import input_problems


def _input_problems(rules, names=None):
    try:
        return input_problems(rules, names)
    except InputRuleError as error:
        raise AnsibleFilterError(f"input_problems: {error}") from error


def _input_names(settings, values, setting_values):
    try:
        return input_names(settings, values, setting_values)
    except InputRuleError as error:
        raise AnsibleFilterError(f"input_names: {error}") from error


class FilterModule:
    """Input refusals."""

    def filters(self):
        return {"input_problems": _input_problems, "input_names": _input_names}
