# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The drift filter: what a write module would still change in a resource read earlier in the run."""

from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.drift import DriftError
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.drift import drift


def _drift(found, module, **params):
    try:
        return drift(found, module, **params)
    except DriftError as e:
        raise AnsibleFilterError(str(e)) from e


class FilterModule:
    """Skip a write module whose resource a read already shows converged."""

    def filters(self):
        return {"drift": _drift}
