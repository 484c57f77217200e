# -*- coding: utf-8 -*-
"""Lab stand-in for the rule that decides whether an instance's SSM Agent can reach Systems Manager.

moto has no network: in plain moto every instance with an instance profile would be "managed".
On AWS the agent on the node opens HTTPS (443) connections OUT to the ssm, ssmmessages and
ec2messages endpoints; until it can, the node is not Online and Session Manager answers
StartSession with TargetNotConnected. AWS's documentation names the ways out:

- "Systems Manager prerequisites" and "Troubleshooting managed node availability"
  (https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-ec2.html,
  https://docs.aws.amazon.com/systems-manager/latest/userguide/troubleshooting-managed-nodes.html):
  the agent needs outbound HTTPS to the Systems Manager endpoints, through the internet or
  through VPC endpoints.
- Internet: a public IPv4 address and a route to an internet gateway attached to the VPC
  (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Internet_Gateway.html, "Internet access
  for instances in your subnet"), or a route to a public NAT gateway that itself sits in a subnet
  routed to an internet gateway and holds an Elastic IP
  (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html).
- VPC endpoints: interface endpoints for com.amazonaws.<region>.ssm, .ssmmessages and
  .ec2messages with private DNS, which needs the VPC's DNS resolution and DNS host names
  (https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html), and the
  endpoints' security group admitting HTTPS from the instance.
- The instance's own security groups must allow the outbound HTTPS (the default egress rule does).
- Public addresses: EC2 assigns one at launch only to an instance launched with ONE network
  interface (API_InstanceNetworkInterfaceSpecification, AssociatePublicIpAddress: "You cannot
  specify more than one network interface in the request"; the EC2 User Guide, "Public IPv4
  addresses": not assigned when the instance is launched with multiple network interfaces).
  lab_instances.py holds that rule at launch; this module only reads the address the instance got.

What the lab does NOT model (said in the README): network ACLs (the default ACL allows
everything), prefix lists and IPv6 routes, endpoint policies, DNS itself, and the package
indexes behind the way out (a lab node container reaches them whatever its subnet says).

Kept under lab/ and never shipped; lab_ssm.py asks `way_out` for every running instance.
"""

import ipaddress

SSM_SERVICES = ("ssm", "ssmmessages", "ec2messages")
HTTPS = 443
DEFAULT_ROUTE = "0.0.0.0/0"


def _route_table(backend, subnet):
    """The subnet's route table: its explicit association, else its VPC's main route table."""
    main = None
    for table in backend.route_tables.values():
        if table.vpc_id != subnet.vpc_id:
            continue
        if subnet.id in table._associations.values():  # moto keeps associations as {association id: target id}
            return table
        if table.main_association_id is not None:
            main = table
    return main


def _default_route(table):
    if table is None:
        return None
    for route in table.routes:
        if route.destination_cidr_block == DEFAULT_ROUTE:
            return route
    return None


def _igw_attached(route, vpc_id):
    gateway = getattr(route, "gateway", None) if route is not None else None
    return (
        gateway is not None
        and str(gateway.id).startswith("igw-")
        and getattr(gateway, "vpc", None) is not None
        and gateway.vpc.id == vpc_id
    )


def _allows(rule, port, peer_groups=(), address=None, network=None):
    """Whether one security group rule covers TCP `port` to/from one of peer_groups, address or network."""
    if rule.ip_protocol not in ("-1", "tcp"):
        return False
    if rule.ip_protocol == "tcp" and not (rule.from_port <= port <= rule.to_port):
        return False
    group = (rule.source_group or {}).get("GroupId")
    if group:
        return group in peer_groups
    cidr = (rule.ip_range or {}).get("CidrIp")
    if not cidr:
        return False
    block = ipaddress.ip_network(cidr, strict=False)
    if address is not None and ipaddress.ip_address(address) in block:
        return True
    return network is not None and ipaddress.ip_network(network, strict=False).subnet_of(block)


def _egress_allows(groups, port, peer_groups=(), address=None, network=None):
    return any(_allows(rule, port, peer_groups, address, network) for group in groups for rule in group.egress_rules)


def _nat_way_out(backend, route, vpc_id):
    nat = getattr(route, "nat_gateway", None) if route is not None else None
    if nat is None:
        return None
    if nat.state != "available":
        return f"its route goes to NAT gateway {nat.id}, which is {nat.state}"
    # CreateNatGateway's ConnectivityType defaults to public (moto keeps None when it is not given).
    if (nat.connectivity_type or "public") != "public" or not any(a.get("publicIp") for a in nat.address_set):
        return f"its route goes to NAT gateway {nat.id}, which has no Elastic IP (a private NAT gateway)"
    nat_subnet = backend.get_subnet(nat.subnet_id)
    if not _igw_attached(_default_route(_route_table(backend, nat_subnet)), vpc_id):
        return (
            f"its route goes to NAT gateway {nat.id}, whose subnet {nat.subnet_id} has no route to an internet gateway"
        )
    return ""


def _endpoints_way_out(backend, instance, vpc, groups):
    """'' when the three interface endpoints let the agent in, else why not."""
    region = backend.region_name
    group_ids = [g.id for g in groups]
    missing = []
    for service in SSM_SERVICES:
        name = f"com.amazonaws.{region}.{service}"
        usable = []
        for endpoint in backend.vpc_end_points.values():
            if (
                endpoint.vpc_id != vpc.id
                or endpoint.service_name != name
                or str(endpoint.vpc_endpoint_type or "").lower() != "interface"
                or endpoint.state != "available"
            ):
                continue
            # CreateVpcEndpoint's PrivateDnsEnabled defaults to true for AWS services' interface endpoints.
            if endpoint.private_dns_enabled is False:
                continue
            endpoint_groups = [backend.get_security_group_from_id(g) for g in endpoint.security_group_ids]
            endpoint_groups = [g for g in endpoint_groups if g is not None]
            admits = any(
                _allows(rule, HTTPS, group_ids, address=instance.private_ip)
                for group in endpoint_groups
                for rule in group.ingress_rules
            )
            leaves = _egress_allows(groups, HTTPS, [g.id for g in endpoint_groups], network=vpc.cidr_block)
            if admits and leaves:
                usable.append(endpoint)
        if not usable:
            missing.append(service)
    if missing:
        return (
            f"no usable interface endpoint for {', '.join(missing)} (available, private DNS, HTTPS allowed from "
            "the instance's security group and out of it)"
        )
    if not (vpc.enable_dns_support and vpc.enable_dns_hostnames):
        return "the endpoints' private DNS needs the VPC's DNS resolution and DNS host names turned on"
    return ""


def way_out(backend, instance):
    """(True, how) when the instance's SSM Agent can reach Systems Manager, else (False, why not)."""
    eni = instance.nics.get(0)
    if eni is None or eni.subnet is None:
        return False, "it has no primary network interface in a subnet"
    subnet = eni.subnet
    vpc = backend.get_vpc(subnet.vpc_id)
    groups = list(eni.group_set)
    route = _default_route(_route_table(backend, subnet))
    reasons = []
    if _igw_attached(route, vpc.id):
        if not eni.public_ip:
            reasons.append(
                f"subnet {subnet.id} routes to an internet gateway but the instance has no public IPv4 address "
                f"(EC2 assigns none to an instance launched with {len(instance.nics)} network interfaces, or the "
                "subnet does not map public addresses)"
            )
        elif not _egress_allows(groups, HTTPS, address="203.0.113.1"):
            reasons.append("its security groups do not allow outbound HTTPS to the internet")
        else:
            return True, "public address and internet gateway"
    else:
        nat = _nat_way_out(backend, route, vpc.id)
        if nat == "":
            if _egress_allows(groups, HTTPS, address="203.0.113.1"):
                return True, "NAT gateway"
            reasons.append("its security groups do not allow outbound HTTPS to the internet")
        elif nat is not None:
            reasons.append(nat)
        else:
            reasons.append(f"subnet {subnet.id} has no default route to an internet or NAT gateway")
    endpoints = _endpoints_way_out(backend, instance, vpc, groups)
    if endpoints == "":
        return True, "VPC interface endpoints"
    reasons.append(endpoints)
    return False, "; ".join(reasons)
