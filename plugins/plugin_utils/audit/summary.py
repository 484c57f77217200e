# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ports the cluster needs inside its security group, and the audit's counts and one-line summary."""

import ipaddress

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import ALL_PROTOCOLS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import covers
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import protocol_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import rule_text
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import sources_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import vpc_id_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.findings import findings_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.cluster_names import cluster_resource_name


def _cluster_group(data):
    groups = data.get("security_groups") or []
    wanted = (data.get("settings") or {}).get("security_group_name")
    if not wanted and data.get("cluster"):
        wanted = cluster_resource_name(data["cluster"], "security_group")
    for group in groups:
        if group.get("group_name") == wanted:
            return group
    used = [g.get("group_id") for i in data.get("instances") or [] for g in i.get("security_groups") or []]
    for group in groups:
        if group.get("group_id") in used:
            return group
    return None


def _vpc_cidrs(data, vpc_id):
    cidrs = []
    for vpc in (data.get("network") or {}).get("vpcs") or []:
        if vpc_id_of(vpc) == vpc_id:
            cidrs.append(vpc.get("cidr_block"))
            cidrs += [a.get("cidr_block") for a in vpc.get("cidr_block_association_set") or []]
    return sorted({c for c in cidrs if c})


def _cidr_contains(outer, inner):
    try:
        return ipaddress.ip_network(inner).subnet_of(ipaddress.ip_network(outer))
    except (TypeError, ValueError):
        return False


def _source_matches(source, group_id, cidrs):
    """True when a rule's source is the group `group_id`, or a CIDR that contains one of `cidrs`."""
    kind, value = source[0], source[1]
    if kind == "group":
        return bool(group_id) and value == group_id
    return kind == "cidr" and any(_cidr_contains(value, cidr) for cidr in cidrs)


def _port_allowed(group, protocol, port, group_id=None, cidrs=()):
    """The first ingress rule text of `group` that lets protocol/port in from an accepted source, or None."""
    gid = group.get("group_id", "")
    # A rule for this very port first, then an all-traffic rule that covers it as well.
    perms = sorted(group.get("ip_permissions") or [], key=lambda p: protocol_of(p) in ALL_PROTOCOLS)
    for perm in perms:
        if protocol in ALL_PROTOCOLS:
            if protocol_of(perm) not in ALL_PROTOCOLS:
                continue
        elif not covers(perm, port, protocol):
            continue
        for source in sources_of(perm):
            if _source_matches(source, group_id, cidrs):
                return rule_text(perm, source, gid)
    return None


def required_ports_status(data):
    """Each required port with `allowed` and the rule that allows it (`rule`), checked on the cluster's group."""
    group = _cluster_group(data)
    out = []
    for wanted in data.get("required_ports") or []:
        entry = dict(wanted)
        protocol, port, origin = str(wanted.get("protocol", "tcp")), wanted.get("port", "all"), wanted.get("from", "")
        protocol = "-1" if protocol in ALL_PROTOCOLS else protocol
        entry["group"] = group.get("group_id") if group else ""
        rule = None
        if group:
            if origin == "cluster-group":
                rule = _port_allowed(group, protocol, port, group_id=group.get("group_id"))
            elif origin == "vpc":
                rule = _port_allowed(group, protocol, port, cidrs=_vpc_cidrs(data, group.get("vpc_id")))
            else:
                rule = _port_allowed(group, protocol, port, cidrs=[origin])
        entry["allowed"] = rule is not None
        entry["rule"] = rule or ""
        out.append(entry)
    # Private subnets: the SSM interface endpoints' groups must take HTTPS from the cluster's group.
    endpoints = [
        e
        for e in (data.get("network") or {}).get("vpc_endpoints") or []
        if str(e.get("vpc_endpoint_type", "")).lower() == "interface"
    ]
    groups = {g.get("group_id"): g for g in data.get("security_groups") or []}
    endpoint_groups = sorted({g.get("group_id") for e in endpoints for g in e.get("groups") or []})
    for gid in endpoint_groups:
        rule = None
        if group and gid in groups:
            cluster_id = group.get("group_id")
            rule = _port_allowed(groups[gid], "tcp", 443, group_id=cluster_id)
        out.append(
            {
                "protocol": "tcp",
                "port": 443,
                "from": "cluster-group",
                "purpose": "HTTPS to the SSM interface endpoints (private subnet)",
                "group": gid,
                "allowed": rule is not None,
                "rule": rule or "",
            }
        )
    return out


# --- Summary --------------------------------------------------------------------------------

COUNTED = (
    ("vpcs", ("network", "vpcs")),
    ("subnets", ("network", "subnets")),
    ("internet_gateways", ("network", "internet_gateways")),
    ("nat_gateways", ("network", "nat_gateways")),
    ("route_tables", ("network", "route_tables")),
    ("vpc_endpoints", ("network", "vpc_endpoints")),
    ("security_groups", ("security_groups",)),
    ("instances", ("instances",)),
    ("amis", ("amis",)),
    ("launch_templates", ("launch_templates",)),
    ("placement_groups", ("placement_groups",)),
    ("s3_buckets", ("s3_buckets",)),
    ("iam_roles", ("iam", "roles")),
    ("instance_profiles", ("iam", "instance_profiles")),
    ("capacity_reservations", ("capacity_reservations",)),
    ("parameters", ("parameters",)),
    ("efs_file_systems", ("efs_file_systems",)),
)


def _get(data, path):
    value = data
    for key in path:
        value = (value or {}).get(key)
    return value or []


def _rule_count(groups):
    return sum(
        len(sources_of(perm))
        for group in groups
        for perm in (group.get("ip_permissions") or []) + (group.get("ip_permissions_egress") or [])
    )


def audit_summary(data):
    """Counts of the resources, of the findings passed and failed, and one line per failed offender."""
    findings = findings_of(data)
    counts = {name: len(_get(data, path)) for name, path in COUNTED}
    counts["security_group_rules"] = _rule_count(data.get("security_groups") or [])
    counts["inline_policies"] = sum(
        len(p or []) for p in ((data.get("iam") or {}).get("inline_policies") or {}).values()
    )
    failed = [
        f"{f['id']}: {o['resource']}: {o['rule']}" for f in findings if f["status"] == "fail" for o in f["offenders"]
    ]
    passed = sum(1 for f in findings if f["status"] == "pass")
    ports = required_ports_status(data)
    missing = [p for p in ports if not p["allowed"]]
    shown = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
    lines = [
        f"Cluster {data.get('cluster', '')} in {data.get('region', '')} (account {data.get('account', '')}): {shown}",
        f"Findings: {passed} passed, {len(findings) - passed} failed",
    ]
    lines += [f"FAIL {line}" for line in failed]
    lines.append(
        f"Required ports: {len(ports) - len(missing)} of {len(ports)} allowed"
        + ("" if not missing else " (missing: " + ", ".join(f"{p['protocol']} {p['port']}" for p in missing) + ")")
    )
    return {
        "counts": counts,
        "findings": {"passed": passed, "failed": len(findings) - passed},
        "failed": failed,
        "required_ports": ports,
        "lines": lines,
    }
