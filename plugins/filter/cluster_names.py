# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of ownership before change: the global names of a cluster (with its region), its ownership
tag, and the resources of its names that are not its own; and where a node role's local fact lives."""

from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.module_utils import local_fact
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ownership
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils import cluster_names


def _wrap(function):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (ValueError, local_fact.LocalFactError) as e:
            raise AnsibleFilterError(str(e)) from e

    call.__name__ = function.__name__
    call.__doc__ = function.__doc__
    return call


class FilterModule:
    """Names that carry the region, and ownership checks."""

    def filters(self):
        return {
            "node_role_name": _wrap(cluster_names.node_role_name),
            "expiry_role_name": _wrap(cluster_names.expiry_role_name),
            "cluster_bucket_name": _wrap(cluster_names.cluster_bucket_name),
            "cluster_tag": _wrap(cluster_names.cluster_tag),
            "cluster_resource_name": _wrap(cluster_names.cluster_resource_name),
            "ownership_problems": _wrap(ownership.ownership_problems),
            "adoption_plan": _wrap(ownership.adoption_plan),
            "local_fact_file": _wrap(local_fact.fact_path),
        }
