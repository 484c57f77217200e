# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The node_egress_problems filter: what stops the nodes from reaching Session Manager and the package indexes."""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.node_egress import egress_problems


class FilterModule:
    """Node egress checks, before anything is created."""

    def filters(self):
        return {"node_egress_problems": egress_problems}
