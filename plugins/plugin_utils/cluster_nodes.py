# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cluster nodes: stable node indexes, names and node roles for instances found by the cluster tag.

An instance keeps the index it is tagged with; instances without one (just launched) take the
smallest free indexes in launch order. Node index i gets node_roles[i], or extra_roles past the
end of the list. The result says which instances need their tags written.
"""

INDEX_TAG = "nixl-efa:node-index"
ROLES_TAG = "nixl-efa:roles"


def _index(tags):
    value = (tags or {}).get(INDEX_TAG)
    try:
        index = int(value)
    except (TypeError, ValueError):
        return None
    return index if index >= 0 and str(index) == str(value).strip() else None


def _launch_order(instance):
    return (str(instance.get("launch_time") or ""), instance.get("ami_launch_index") or 0, instance["instance_id"])


def roles_for(index, node_roles, extra_roles):
    """Node roles of node index `index`."""
    roles = node_roles[index] if index < len(node_roles) else extra_roles
    return list(roles or [])


def cluster_nodes(instances, cluster_name, node_roles=(), extra_roles=()):
    """One entry per instance (as amazon.aws.ec2_instance_info returns them), by node index."""
    ordered = sorted(instances, key=_launch_order)
    taken = {}
    for instance in ordered:
        index = _index(instance.get("tags"))
        if index is not None and index not in taken:
            taken[index] = instance["instance_id"]
    kept = {iid: index for index, iid in taken.items()}
    free = (i for i in range(len(ordered) + len(taken)) if i not in taken)
    nodes = []
    for instance in ordered:
        iid = instance["instance_id"]
        index = kept[iid] if iid in kept else next(free)
        roles = roles_for(index, node_roles, extra_roles)
        wanted = {"Name": f"{cluster_name}-node-{index}", INDEX_TAG: str(index), ROLES_TAG: ",".join(roles)}
        tags = instance.get("tags") or {}
        nodes.append(
            {
                "instance_id": iid,
                "node_index": index,
                "name": wanted["Name"],
                "roles": roles,
                "private_ip_address": instance.get("private_ip_address"),
                "availability_zone": (instance.get("placement") or {}).get("availability_zone"),
                "state": (instance.get("state") or {}).get("name"),
                "instance_lifecycle": instance.get("instance_lifecycle"),
                "capacity_reservation_id": instance.get("capacity_reservation_id"),
                "tags": wanted,
                "retag": any(tags.get(k) != v for k, v in wanted.items()),
            }
        )
    return sorted(nodes, key=lambda n: n["node_index"])
