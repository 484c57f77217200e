# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The cluster_nodes filter: node indexes, names and roles for the cluster's instances."""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.cluster_nodes import cluster_nodes


class FilterModule:
    """Cluster node assignment."""

    def filters(self):
        return {"cluster_nodes": cluster_nodes}
