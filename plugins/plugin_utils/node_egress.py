# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether the cluster's nodes will have a way out, decided from the settings before anything exists.

A node that cannot reach Systems Manager never comes Online, and one that cannot reach the package
indexes stops in its first install: both are found here, in provision.yml's preflight, instead of
after the nodes (or a capacity block) have been paid for. The rules are AWS's:

- EC2 assigns a public IPv4 address at launch only to an instance launched with one network
  interface: AssociatePublicIpAddress with several is refused, and a subnet's "auto-assign public
  IPv4" is skipped for such an instance (EC2 User Guide, "Public IPv4 addresses";
  API_InstanceNetworkInterfaceSpecification). Multi-card EFA nodes (p5 32 cards, p5en and trn2 16,
  trn1 8, p4d 4) therefore have no public address, and a public subnet gives them no way out.
- A private subnet reaches Session Manager through the ssm, ssmmessages and ec2messages interface
  endpoints (the network role makes them), but those endpoints reach nothing else: apt, pip, the EFA
  installer and the model download need a NAT gateway, or mirrors of the user's own reachable from
  the subnet.

Pure logic, controller side; the node_egress_problems filter is its Ansible face.
"""

from __future__ import annotations

from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import EfaLayoutError
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import efa_interface_layout


def interface_count(instance_type, efa_interfaces="max"):
    """Network interfaces each node is launched with (the launch template's layout), or None when unknown."""
    try:
        layout, _notes = efa_interface_layout(instance_type, efa_interfaces)
    except EfaLayoutError:
        return None  # the instances role's own check names that error
    return len(layout)


def egress_problems(instance_type, efa_interfaces="max", private=False, nat_gateway=False, package_mirrors=False,
                    public_ip=False):  # fmt: skip
    """What stops the nodes from reaching Session Manager or the package indexes; [] when nothing does.

    instance_type is efa_instance_type_info's summary of the type (instance_type, efa_supported,
    max_efa_interfaces, network_cards). Each message names the cluster_* setting to change.
    """
    name = instance_type.get("instance_type") or "this instance type"
    count = interface_count(instance_type, efa_interfaces)
    problems = []
    if nat_gateway and not private:
        problems.append(
            "cluster_nat_gateway is true but cluster_private is false: a NAT gateway is the way out of a private "
            "subnet; a public subnet goes out through its internet gateway. Set cluster_private: true, or "
            "cluster_nat_gateway: false."
        )
    several = count is not None and count > 1
    if public_ip and several:
        problems.append(
            f"cluster_public_ip is true, but each {name} node is launched with {count} network interfaces, and EC2 "
            "refuses AssociatePublicIpAddress for an instance launched with more than one. Set cluster_public_ip: "
            "false and cluster_private: true with cluster_nat_gateway: true."
        )
    elif not private and several:
        problems.append(
            f"cluster_private is false, but each {name} node is launched with {count} network interfaces (one per "
            "EFA network card), and EC2 gives no public IPv4 address to an instance launched with more than one: "
            "in a public subnet the nodes would have no way out to Session Manager and would never come Online. "
            "Set cluster_private: true with cluster_nat_gateway: true (Session Manager through the VPC endpoints, "
            "packages through the NAT gateway), or cluster_efa_interfaces: 1 for one interface and one EFA device."
        )
    if private and not nat_gateway and not package_mirrors:
        problems.append(
            "cluster_private is true without cluster_nat_gateway: the VPC endpoints let Session Manager reach the "
            "nodes, but nothing lets the nodes reach the package indexes (apt, pip for NIXL, MLflow and vLLM, the "
            "EFA installer, the model download), so configure would stop at the first install. Set "
            "cluster_nat_gateway: true, or cluster_package_mirrors: true if the AMI's apt and pip already point at "
            "mirrors the private subnet can reach."
        )
    return problems
