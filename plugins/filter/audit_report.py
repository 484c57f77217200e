# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of playbooks/audit.yml: security findings, the text dump and the summary of a cluster's AWS configuration.

Everything here is pure: the playbook gathers the cluster's resources with *_info modules (their
snake_case results, as the modules return them) and hands them over in one dict, so the findings
and the report are unit tested without AWS. The dict's keys are documented in audit_findings.yml.

A finding is a dict: id, title, status (pass or fail), checked (how many resources were looked at),
offenders (each a resource and what is wrong with it) and detail (one line).
"""

import ipaddress
import json

SCHEMA = "nixl_efa.cluster/aws-audit/v1"
PUBLIC_CIDRS = ("0.0.0.0/0", "::/0")
SSH_PORT = 22
ALL_PROTOCOLS = ("-1", "all")
PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
S3_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
WIDE_ACTION_PREFIXES = ("s3:", "logs:")
RULE = "=" * 100

TITLES = {
    "no-public-ingress": "No security group ingress from 0.0.0.0/0 or ::/0",
    "no-ssh": "Port 22 is not open (nodes are reached through Session Manager)",
    "imdsv2-required": "IMDSv2 (HttpTokens required) on every instance",
    "s3-encryption": "S3 bucket encrypted by default (SSE-S3 or SSE-KMS)",
    "s3-public-access-block": "S3 bucket with all four public access blocks on",
    "efs-encrypted": "EFS file systems encrypted at rest",
    "iam-no-wildcard-resource": 'No inline IAM policy allows s3: or logs: actions on Resource "*"',
    "placement-group": "Every instance in the cluster placement group",
}


# --- Small readers of the modules' shapes ------------------------------------------------


def _list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tags(resource):
    """Tags as a dict, whether a module returned a dict or a list of Key/Value pairs."""
    tags = (resource or {}).get("tags") or {}
    if isinstance(tags, dict):
        return tags
    out = {}
    for tag in tags:
        key = tag.get("key", tag.get("Key"))
        if key is not None:
            out[key] = tag.get("value", tag.get("Value", ""))
    return out


def _named(resource_id, resource):
    name = _tags(resource).get("Name") or (resource or {}).get("group_name") or ""
    return f"{resource_id} ({name})" if name else str(resource_id)


def _vpc_id(vpc):
    return vpc.get("vpc_id") or vpc.get("id") or ""


def _subnet_id(subnet):
    return subnet.get("subnet_id") or subnet.get("id") or ""


def _protocol(perm):
    proto = str(perm.get("ip_protocol", "-1")).lower()
    return PROTOCOL_NUMBERS.get(proto, proto)


def _port_range(perm):
    """(from, to) of a tcp/udp rule; None when the rule covers every port."""
    if _protocol(perm) in ALL_PROTOCOLS:
        return None
    low, high = perm.get("from_port"), perm.get("to_port")
    if low is None or high is None or (low in (-1, 0) and high in (-1, 65535)):
        return None
    return int(low), int(high)


def _ports_text(perm):
    proto = _protocol(perm)
    if proto in ALL_PROTOCOLS:
        return "all traffic"
    if proto in ("icmp", "icmpv6"):
        low, high = perm.get("from_port"), perm.get("to_port")
        return (
            f"{proto} type {low if low not in (None, -1) else 'all'} code {high if high not in (None, -1) else 'all'}"
        )
    ports = _port_range(perm)
    if ports is None:
        return f"{proto} all ports"
    low, high = ports
    return f"{proto} {low}" if low == high else f"{proto} {low}-{high}"


def _sources(perm):
    """(kind, value, description) of each source or destination of a rule."""
    out = []
    for item in perm.get("ip_ranges") or []:
        out.append(("cidr", item.get("cidr_ip", ""), item.get("description", "")))
    for item in perm.get("ipv6_ranges") or []:
        out.append(("cidr", item.get("cidr_ipv6", ""), item.get("description", "")))
    for item in perm.get("user_id_group_pairs") or []:
        out.append(("group", item.get("group_id", ""), item.get("description", "")))
    for item in perm.get("prefix_list_ids") or []:
        out.append(("prefix-list", item.get("prefix_list_id", ""), item.get("description", "")))
    return out


def _rule_text(perm, source, group_id, direction="ingress"):
    kind, value, description = source
    word = "from" if direction == "ingress" else "to"
    who = f"{value} (this group)" if kind == "group" and value == group_id else value
    text = f"{direction} {_ports_text(perm)} {word} {who}"
    return f"{text} [{description}]" if description else text


def _covers(perm, port, protocol="tcp"):
    """True when the rule lets `port` of `protocol` through."""
    proto = _protocol(perm)
    if proto in ALL_PROTOCOLS:
        return True
    if proto != protocol:
        return False
    ports = _port_range(perm)
    return ports is None or ports[0] <= int(port) <= ports[1]


def _state_name(instance):
    state = instance.get("state")
    return state.get("name", "") if isinstance(state, dict) else str(state or "")


def _market(instance):
    return instance.get("instance_lifecycle") or "on-demand"


def _launch_template(instance):
    tags = _tags(instance)
    template = tags.get("aws:ec2launchtemplate:id", "")
    version = tags.get("aws:ec2launchtemplate:version", "")
    return f"{template}:{version}" if template and version else template


def _profile_name(instance):
    arn = (instance.get("iam_instance_profile") or {}).get("arn", "")
    return arn.rsplit("/", 1)[-1] if arn else ""


def _reservation(instance):
    spec = instance.get("capacity_reservation_specification") or {}
    target = (spec.get("capacity_reservation_target") or {}).get("capacity_reservation_id", "")
    return instance.get("capacity_reservation_id") or target or ""


def _finding(finding_id, checked, offenders, what):
    status = "fail" if offenders else "pass"
    if offenders:
        detail = f"{len(offenders)} of {checked} {what} fail"
    elif checked:
        detail = f"{checked} {what} checked"
    else:
        detail = f"no {what} to check"
    return {
        "id": finding_id,
        "title": TITLES[finding_id],
        "status": status,
        "checked": checked,
        "offenders": offenders,
        "detail": detail,
    }


# --- Findings --------------------------------------------------------------------------------


def _public_ingress(groups):
    offenders = []
    for group in groups:
        gid = group.get("group_id", "")
        for perm in group.get("ip_permissions") or []:
            for source in _sources(perm):
                if source[0] == "cidr" and source[1] in PUBLIC_CIDRS:
                    offenders.append({"resource": _named(gid, group), "rule": _rule_text(perm, source, gid)})
    return _finding("no-public-ingress", len(groups), offenders, "security groups")


def _ssh(groups):
    """Port 22 open to any source. EFA's all-traffic rule from the group itself is what EFA needs, not SSH."""
    offenders = []
    for group in groups:
        gid = group.get("group_id", "")
        for perm in group.get("ip_permissions") or []:
            if not _covers(perm, SSH_PORT):
                continue
            for source in _sources(perm):
                efa_self = _protocol(perm) in ALL_PROTOCOLS and source[0] == "group" and source[1] == gid
                if not efa_self:
                    offenders.append({"resource": _named(gid, group), "rule": _rule_text(perm, source, gid)})
    return _finding("no-ssh", len(groups), offenders, "security groups")


def _imdsv2(instances):
    offenders = []
    for instance in instances:
        options = instance.get("metadata_options") or {}
        if options.get("http_endpoint") == "disabled" or options.get("http_tokens") == "required":
            continue
        offenders.append(
            {
                "resource": _named(instance.get("instance_id", ""), instance),
                "rule": f"http_tokens {options.get('http_tokens', 'unknown')} (IMDSv1 allowed)",
            }
        )
    return _finding("imdsv2-required", len(instances), offenders, "instances")


def _unwrapped(bucket, fact, wrapper):
    """One of amazon.aws.s3_bucket_info's bucket facts, whichever amazon.aws returned it.

    amazon.aws 10 returns the S3 API's response (``{"ServerSideEncryptionConfiguration": {...}}``,
    ``{"OwnershipControls": {...}}``); amazon.aws 11 returns what is inside it.
    """
    value = bucket.get(fact) or {}
    if not isinstance(value, dict):
        return {}
    return value.get(wrapper, value) or {}


def _bucket_policy(bucket):
    """The bucket policy as a document: amazon.aws 10 gives {"Policy": "<JSON>"}, 11 the parsed document."""
    policy = bucket.get("bucket_policy") or {}
    if isinstance(policy, dict) and isinstance(policy.get("Policy"), str):
        policy = policy["Policy"]
    if isinstance(policy, str):
        policy = json.loads(policy) if policy.strip() else {}
    return policy if isinstance(policy, dict) else {}


def _bucket_algorithms(bucket):
    config = _unwrapped(bucket, "bucket_encryption", "ServerSideEncryptionConfiguration")
    algorithms = []
    for rule in config.get("Rules") or []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm"):
            algorithms.append(default["SSEAlgorithm"])
    return algorithms


def _bucket_blocks(bucket):
    block = bucket.get("public_access_block") or {}
    return block.get("PublicAccessBlockConfiguration", block) or {}


def _s3_encryption(buckets):
    offenders = []
    for bucket in buckets:
        algorithms = _bucket_algorithms(bucket)
        if not any(a in S3_ALGORITHMS for a in algorithms):
            offenders.append({"resource": bucket.get("name", ""), "rule": "no default encryption configured"})
    return _finding("s3-encryption", len(buckets), offenders, "buckets")


def _s3_public_access(buckets):
    offenders = []
    for bucket in buckets:
        flags = _bucket_blocks(bucket)
        off = [flag for flag in PUBLIC_ACCESS_FLAGS if flags.get(flag) is not True]
        if off:
            offenders.append({"resource": bucket.get("name", ""), "rule": "off: " + ", ".join(off)})
    return _finding("s3-public-access-block", len(buckets), offenders, "buckets")


def _efs_encrypted(file_systems):
    offenders = [
        {"resource": _named(fs.get("file_system_id", ""), fs), "rule": "not encrypted at rest"}
        for fs in file_systems
        if fs.get("encrypted") is not True
    ]
    return _finding("efs-encrypted", len(file_systems), offenders, "EFS file systems")


def _wide_actions(statement):
    if "NotAction" in statement:
        return ["NotAction " + ", ".join(str(a) for a in _list(statement["NotAction"]))]
    actions = [str(a) for a in _list(statement.get("Action"))]
    return [a for a in actions if a == "*" or a.lower().startswith(WIDE_ACTION_PREFIXES)]


def _iam_wildcards(inline_policies):
    """Allow statements of s3:/logs: actions (or "*", or NotAction) on Resource "*" or with NotResource."""
    offenders = []
    checked = 0
    for role, policies in sorted((inline_policies or {}).items()):
        for policy in policies or []:
            checked += 1
            document = policy.get("policy_document") or {}
            if isinstance(document, str):
                document = json.loads(document)
            for index, statement in enumerate(_list(document.get("Statement"))):
                if statement.get("Effect") != "Allow":
                    continue
                every = "NotResource" in statement or "*" in _list(statement.get("Resource"))
                actions = _wide_actions(statement)
                if every and actions:
                    where = "NotResource" if "NotResource" in statement else 'Resource "*"'
                    offenders.append(
                        {
                            "resource": f"role {role} policy {policy.get('policy_name', '')}",
                            "rule": f"statement {statement.get('Sid') or index}: {', '.join(actions)} on {where}",
                        }
                    )
    return _finding("iam-no-wildcard-resource", checked, offenders, "inline policies")


def _placement(instances, placement_groups, wanted):
    if wanted == "":
        # A cluster made without a placement group (cluster_placement_group: false, a workstation).
        return _finding("placement-group", 0, [], "instances (no placement group asked for)")
    known = {g.get("name"): g for g in placement_groups}
    offenders = []
    for instance in instances:
        group = (instance.get("placement") or {}).get("group_name") or ""
        rid = _named(instance.get("instance_id", ""), instance)
        if group != wanted:
            offenders.append({"resource": rid, "rule": f"in placement group '{group}', not '{wanted}'"})
        elif wanted not in known:
            offenders.append({"resource": rid, "rule": f"placement group '{wanted}' does not exist"})
        elif known[wanted].get("strategy") != "cluster":
            offenders.append(
                {"resource": rid, "rule": f"placement group '{wanted}' has strategy {known[wanted].get('strategy')}"}
            )
    return _finding("placement-group", len(instances), offenders, "instances")


def audit_findings(data):
    """The security findings of the gathered data, in a fixed order."""
    groups = data.get("security_groups") or []
    instances = data.get("instances") or []
    buckets = data.get("s3_buckets") or []
    settings = data.get("settings") or {}
    wanted_group = settings.get("placement_group_name")
    if wanted_group is None:
        wanted_group = f"{data.get('cluster', '')}-cluster"
    return [
        _public_ingress(groups),
        _ssh(groups),
        _imdsv2(instances),
        _s3_encryption(buckets),
        _s3_public_access(buckets),
        _efs_encrypted(data.get("efs_file_systems") or []),
        _iam_wildcards((data.get("iam") or {}).get("inline_policies")),
        _placement(instances, data.get("placement_groups") or [], wanted_group),
    ]


def _findings(data):
    return data["findings"] if data.get("findings") is not None else audit_findings(data)


# --- Required ports -----------------------------------------------------------------------


def _cluster_group(data):
    groups = data.get("security_groups") or []
    wanted = (data.get("settings") or {}).get("security_group_name") or f"{data.get('cluster', '')}-efa"
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
        if _vpc_id(vpc) == vpc_id:
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
    perms = sorted(group.get("ip_permissions") or [], key=lambda p: _protocol(p) in ALL_PROTOCOLS)
    for perm in perms:
        if protocol in ALL_PROTOCOLS:
            if _protocol(perm) not in ALL_PROTOCOLS:
                continue
        elif not _covers(perm, port, protocol):
            continue
        for source in _sources(perm):
            if _source_matches(source, group_id, cidrs):
                return _rule_text(perm, source, gid)
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
        len(_sources(perm))
        for group in groups
        for perm in (group.get("ip_permissions") or []) + (group.get("ip_permissions_egress") or [])
    )


def audit_summary(data):
    """Counts of the resources, of the findings passed and failed, and one line per failed offender."""
    findings = _findings(data)
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


# --- Text report ------------------------------------------------------------------------------


def _section(out, title):
    out += ["", RULE, title, RULE]


def _kv(out, key, value, indent=2):
    out.append(f"{' ' * indent}{key + ':':<26} {value}")


def _json_block(out, value, indent=6):
    for line in json.dumps(value, indent=2, sort_keys=True, default=str).splitlines():
        out.append(" " * indent + line)


def _text_quick_reference(out, data, summary):
    net = data.get("network") or {}
    _section(out, "QUICK REFERENCE")
    for vpc in net.get("vpcs") or []:
        _kv(out, "VPC", f"{_named(_vpc_id(vpc), vpc)} {vpc.get('cidr_block', '')}")
    for subnet in net.get("subnets") or []:
        _kv(
            out,
            "Subnet",
            f"{_subnet_id(subnet)} {subnet.get('cidr_block', '')} in {subnet.get('availability_zone', '')}",
        )
    for igw in net.get("internet_gateways") or []:
        _kv(out, "Internet gateway", igw.get("internet_gateway_id", ""))
    for nat in net.get("nat_gateways") or []:
        _kv(out, "NAT gateway", nat.get("nat_gateway_id", ""))
    for group in data.get("security_groups") or []:
        _kv(out, "Security group", f"{group.get('group_id', '')} ({group.get('group_name', '')})")
    for group in data.get("placement_groups") or []:
        _kv(out, "Placement group", f"{group.get('name', '')} ({group.get('strategy', '')})")
    for profile in (data.get("iam") or {}).get("instance_profiles") or []:
        _kv(out, "Instance profile", profile.get("instance_profile_name", ""))
    for role in (data.get("iam") or {}).get("roles") or []:
        _kv(out, "IAM role", role.get("arn", ""))
    for bucket in data.get("s3_buckets") or []:
        _kv(out, "S3 bucket", bucket.get("name", ""))
    for template in data.get("launch_templates") or []:
        latest = template.get("latest_version_number", "")
        _kv(
            out,
            "Launch template",
            f"{template.get('launch_template_id', '')} ({template.get('launch_template_name', '')}) latest v{latest}",
        )
    for image in data.get("amis") or []:
        _kv(out, "AMI", f"{image.get('image_id', '')} ({image.get('name', '')})")
    for instance in data.get("instances") or []:
        _kv(
            out,
            "Instance",
            f"{_named(instance.get('instance_id', ''), instance)} {instance.get('private_ip_address', '')}",
        )
    reservations = data.get("capacity_reservations") or []
    _kv(
        out,
        "Capacity reservation",
        ", ".join(r.get("capacity_reservation_id", "") for r in reservations) or "none (on demand)",
    )
    for fs in data.get("efs_file_systems") or []:
        _kv(out, "EFS", fs.get("file_system_id", ""))
    _kv(out, "Parameter Store path", (data.get("settings") or {}).get("parameter_path", ""))
    counts = summary["findings"]
    _kv(out, "Findings", f"{counts['passed']} passed, {counts['failed']} failed")


def _text_iam(out, data):
    iam = data.get("iam") or {}
    _section(out, "IAM CONFIGURATION (instance profile, role, attached and inline policies)")
    profiles = iam.get("instance_profiles") or []
    if not profiles:
        out.append("  No instance profile found.")
    for profile in profiles:
        out.append(f"  Instance profile {profile.get('instance_profile_name', '')}")
        _kv(out, "ARN", profile.get("arn", ""), 4)
        _kv(out, "Roles", ", ".join(r.get("role_name", "") for r in profile.get("roles") or []) or "none", 4)
    roles = iam.get("roles") or []
    if not roles:
        out.append("  No IAM role found.")
    inline = iam.get("inline_policies") or {}
    for role in roles:
        name = role.get("role_name", "")
        out.append(f"  Role {name}")
        _kv(out, "ARN", role.get("arn", ""), 4)
        _kv(out, "Description", role.get("description", ""), 4)
        trust = role.get("assume_role_policy_document") or {}
        principals = [f"{k}={v}" for s in _list(trust.get("Statement")) for k, v in (s.get("Principal") or {}).items()]
        _kv(out, "Trusted by", ", ".join(principals) or "nobody", 4)
        managed = role.get("managed_policies") or []
        out.append("    Attached managed policies:" + ("" if managed else " none"))
        for policy in managed:
            out.append(f"      - {policy.get('policy_name', '')} ({policy.get('policy_arn', '')})")
        policies = inline.get(name) or []
        out.append("    Inline policies:" + ("" if policies else " none"))
        for policy in policies:
            out.append(f"      - {policy.get('policy_name', '')}:")
            _json_block(out, policy.get("policy_document"), 8)


def _text_network(out, data):
    net = data.get("network") or {}
    _section(out, "VPC CONFIGURATION (VPC, subnets, CIDR blocks)")
    for vpc in net.get("vpcs") or []:
        out.append(f"  VPC {_named(_vpc_id(vpc), vpc)}")
        cidrs = [a.get("cidr_block") for a in vpc.get("cidr_block_association_set") or []] or [vpc.get("cidr_block")]
        _kv(out, "CIDR blocks", ", ".join(c for c in cidrs if c), 4)
        _kv(out, "Default VPC", vpc.get("is_default", False), 4)
        _kv(
            out,
            "DNS support/hostnames",
            f"{vpc.get('enable_dns_support', '?')}/{vpc.get('enable_dns_hostnames', '?')}",
            4,
        )
        _kv(out, "State", vpc.get("state", ""), 4)
    if not net.get("vpcs"):
        out.append("  No VPC found.")
    for subnet in net.get("subnets") or []:
        out.append(f"  Subnet {_named(_subnet_id(subnet), subnet)}")
        _kv(out, "CIDR block", subnet.get("cidr_block", ""), 4)
        _kv(
            out,
            "Availability Zone",
            f"{subnet.get('availability_zone', '')} ({subnet.get('availability_zone_id', '')})",
            4,
        )
        _kv(out, "VPC", subnet.get("vpc_id", ""), 4)
        _kv(out, "Public IP on launch", subnet.get("map_public_ip_on_launch", False), 4)
        _kv(out, "Free addresses", subnet.get("available_ip_address_count", ""), 4)

    _section(out, "NETWORK COMPONENTS (internet gateway, NAT gateways, route tables, VPC endpoints)")
    igws = net.get("internet_gateways") or []
    out.append("  Internet gateways:" + ("" if igws else " none"))
    for igw in igws:
        attached = ", ".join(f"{a.get('vpc_id', '')} ({a.get('state', '')})" for a in igw.get("attachments") or [])
        out.append(f"    {igw.get('internet_gateway_id', '')} attached to {attached or 'nothing'}")
    nats = net.get("nat_gateways") or []
    out.append("  NAT gateways:" + ("" if nats else " none"))
    for nat in nats:
        addresses = ", ".join(a.get("public_ip", "") or "" for a in nat.get("nat_gateway_addresses") or [])
        line = f"    {nat.get('nat_gateway_id', '')} in {nat.get('subnet_id', '')} {nat.get('state', '')}"
        out.append(f"{line} {addresses}".rstrip())
    tables = net.get("route_tables") or []
    out.append("  Route tables:" + ("" if tables else " none"))
    for table in tables:
        associations = table.get("associations") or []
        where = ["main"] if any(a.get("main") for a in associations) else []
        where += [a.get("subnet_id") for a in associations if a.get("subnet_id")]
        table_id = table.get("route_table_id") or table.get("id", "")
        out.append(f"    {_named(table_id, table)} ({', '.join(where) or 'not associated'})")
        for route in table.get("routes") or []:
            dest = (
                route.get("destination_cidr_block")
                or route.get("destination_ipv6_cidr_block")
                or route.get("destination_prefix_list_id", "")
            )
            target = next(
                (
                    route.get(k)
                    for k in (
                        "gateway_id",
                        "nat_gateway_id",
                        "network_interface_id",
                        "instance_id",
                        "transit_gateway_id",
                        "vpc_peering_connection_id",
                    )
                    if route.get(k)
                ),
                "",
            )
            out.append(f"      {dest} -> {target} ({route.get('state', '')})")
    endpoints = net.get("vpc_endpoints") or []
    out.append("  VPC endpoints:" + ("" if endpoints else " none"))
    for endpoint in endpoints:
        out.append(
            f"    {endpoint.get('vpc_endpoint_id', '')} {endpoint.get('vpc_endpoint_type', '')} "
            f"{endpoint.get('service_name', '')} ({endpoint.get('state', '')})"
        )
        if endpoint.get("subnet_ids"):
            _kv(out, "Subnets", ", ".join(endpoint["subnet_ids"]), 6)
        if endpoint.get("route_table_ids"):
            _kv(out, "Route tables", ", ".join(endpoint["route_table_ids"]), 6)
        if endpoint.get("groups"):
            _kv(out, "Security groups", ", ".join(g.get("group_id", "") for g in endpoint["groups"]), 6)
        if str(endpoint.get("vpc_endpoint_type", "")).lower() == "interface":
            _kv(out, "Private DNS", endpoint.get("private_dns_enabled", False), 6)


def _open_ports(group):
    ports = set()
    for perm in group.get("ip_permissions") or []:
        ports.add(_ports_text(perm))
    return sorted(ports)


def _text_security_groups(out, data):
    _section(out, "SECURITY GROUPS (every ingress and egress rule)")
    groups = data.get("security_groups") or []
    if not groups:
        out.append("  No security group found.")
    for group in groups:
        gid = group.get("group_id", "")
        out.append(f"  {gid} ({group.get('group_name', '')}) in {group.get('vpc_id', '')}")
        _kv(out, "Description", group.get("description", ""), 4)
        _kv(out, "Open to (ingress)", "; ".join(_open_ports(group)) or "nothing", 4)
        for key, direction in (("ip_permissions", "ingress"), ("ip_permissions_egress", "egress")):
            rules = [_rule_text(p, s, gid, direction) for p in group.get(key) or [] for s in _sources(p)]
            out.append(f"    {direction.capitalize()} rules:" + ("" if rules else " none"))
            out += [f"      - {r}" for r in rules]


def _text_instances(out, data):
    _section(out, "INSTANCES")
    instances = data.get("instances") or []
    if not instances:
        out.append("  No instance found (pending, running, stopping or stopped).")
    for instance in instances:
        options = instance.get("metadata_options") or {}
        out.append(f"  {_named(instance.get('instance_id', ''), instance)}")
        _kv(out, "Type / state", f"{instance.get('instance_type', '')} / {_state_name(instance)}", 4)
        placement = instance.get("placement") or {}
        _kv(out, "Availability Zone", placement.get("availability_zone", ""), 4)
        _kv(out, "Placement group", placement.get("group_name") or "none", 4)
        _kv(out, "Private IP", instance.get("private_ip_address", ""), 4)
        _kv(out, "Public IP", instance.get("public_ip_address") or "none", 4)
        _kv(
            out,
            "Subnet / groups",
            f"{instance.get('subnet_id', '')} / "
            + ", ".join(g.get("group_id", "") for g in instance.get("security_groups") or []),
            4,
        )
        _kv(
            out,
            "IMDS",
            f"tokens {options.get('http_tokens', '?')}, endpoint {options.get('http_endpoint', '?')}, "
            f"hop limit {options.get('http_put_response_hop_limit', '?')}",
            4,
        )
        _kv(out, "AMI", instance.get("image_id", ""), 4)
        _kv(out, "Launch template", _launch_template(instance) or "none", 4)
        _kv(out, "Instance profile", _profile_name(instance) or "none", 4)
        _kv(out, "Capacity reservation", _reservation(instance) or "none", 4)
        _kv(out, "Market type", _market(instance), 4)
        interfaces = [n.get("interface_type", "interface") for n in instance.get("network_interfaces") or []]
        _kv(
            out,
            "Network interfaces",
            ", ".join(f"{interfaces.count(t)} {t}" for t in sorted(set(interfaces))) or "none",
            4,
        )


def _text_amis(out, data):
    _section(out, "AMI DETAILS")
    images = data.get("amis") or []
    if not images:
        out.append("  No AMI found (deregistered or not shared with this account).")
    for image in images:
        out.append(f"  {image.get('image_id', '')}")
        _kv(out, "Name", image.get("name", ""), 4)
        _kv(out, "Description", image.get("description", ""), 4)
        _kv(out, "Creation date", image.get("creation_date", ""), 4)
        owner = image.get("owner_id", "")
        alias = image.get("image_owner_alias")
        _kv(out, "Owner", f"{owner} ({alias})" if alias else owner, 4)
        _kv(out, "Architecture / root", f"{image.get('architecture', '')} / {image.get('root_device_type', '')}", 4)
        _kv(out, "State", image.get("state", ""), 4)


def _latest_version(template):
    versions = template.get("versions") or []
    latest = template.get("latest_version_number")
    for version in versions:
        if version.get("version_number") == latest:
            return version
    return versions[-1] if versions else {}


def _text_templates(out, data):
    _section(out, "LAUNCH TEMPLATE (latest version)")
    templates = data.get("launch_templates") or []
    if not templates:
        out.append("  No launch template found.")
    for template in templates:
        version = _latest_version(template)
        spec = version.get("launch_template_data") or {}
        out.append(f"  {template.get('launch_template_id', '')} ({template.get('launch_template_name', '')})")
        _kv(
            out,
            "Default / latest",
            f"v{template.get('default_version_number', '')} / v{template.get('latest_version_number', '')}",
            4,
        )
        _kv(out, "Instance type", spec.get("instance_type", ""), 4)
        _kv(out, "AMI", spec.get("image_id", ""), 4)
        _kv(
            out,
            "Instance profile",
            (spec.get("iam_instance_profile") or {}).get("name", "")
            or (spec.get("iam_instance_profile") or {}).get("arn", ""),
            4,
        )
        options = spec.get("metadata_options") or {}
        _kv(
            out,
            "IMDS",
            f"tokens {options.get('http_tokens', '?')}, hop limit {options.get('http_put_response_hop_limit', '?')}",
            4,
        )
        _kv(out, "Placement group", (spec.get("placement") or {}).get("group_name") or "none", 4)
        _kv(out, "Market type", (spec.get("instance_market_options") or {}).get("market_type") or "on-demand", 4)
        target = (spec.get("capacity_reservation_specification") or {}).get("capacity_reservation_target") or {}
        _kv(out, "Capacity reservation", target.get("capacity_reservation_id") or "none", 4)
        interfaces = spec.get("network_interfaces") or []
        kinds = [n.get("interface_type", "interface") for n in interfaces]
        _kv(out, "Network interfaces", ", ".join(f"{kinds.count(t)} {t}" for t in sorted(set(kinds))) or "none", 4)
        subnets = sorted({n.get("subnet_id") for n in interfaces if n.get("subnet_id")})
        groups = sorted(
            {g for n in interfaces for g in n.get("groups") or []} | set(spec.get("security_group_ids") or [])
        )
        _kv(out, "Subnet / groups", f"{', '.join(subnets) or '-'} / {', '.join(groups) or '-'}", 4)
        for device in spec.get("block_device_mappings") or []:
            ebs = device.get("ebs") or {}
            _kv(
                out,
                f"Volume {device.get('device_name', '')}",
                f"{ebs.get('volume_size', '?')} GB {ebs.get('volume_type', '')}, "
                f"encrypted {ebs.get('encrypted', False)}",
                4,
            )


def _text_placement(out, data):
    _section(out, "PLACEMENT GROUP")
    groups = data.get("placement_groups") or []
    if not groups:
        out.append("  No placement group found.")
    for group in groups:
        out.append(f"  {group.get('name', '')}: strategy {group.get('strategy', '')}, state {group.get('state', '')}")


def _text_buckets(out, data):
    _section(out, "S3 BUCKET (encryption, public access block)")
    buckets = data.get("s3_buckets") or []
    if not buckets:
        out.append("  No bucket found.")
    for bucket in buckets:
        out.append(f"  {bucket.get('name', '')} (created {bucket.get('creation_date', '')})")
        config = _unwrapped(bucket, "bucket_encryption", "ServerSideEncryptionConfiguration")
        rules = config.get("Rules") or []
        text = []
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            key = default.get("KMSMasterKeyID")
            text.append(
                default.get("SSEAlgorithm", "?")
                + (f" key {key}" if key else "")
                + (", bucket key" if rule.get("BucketKeyEnabled") else "")
            )
        _kv(out, "Default encryption", "; ".join(text) or "none", 4)
        flags = _bucket_blocks(bucket)
        _kv(out, "Public access block", ", ".join(f"{f} {flags.get(f, False)}" for f in PUBLIC_ACCESS_FLAGS), 4)
        ownership = _unwrapped(bucket, "bucket_ownership_controls", "OwnershipControls").get("Rules") or []
        _kv(out, "Object ownership", ", ".join(r.get("ObjectOwnership", "") for r in ownership) or "unknown", 4)
        policy = _bucket_policy(bucket)
        statements = [f"{s.get('Sid', '-')} ({s.get('Effect', '')})" for s in _list(policy.get("Statement"))]
        _kv(out, "Bucket policy", ", ".join(statements) or "none", 4)
        tags = bucket.get("bucket_tagging") or {}
        _kv(out, "Tags", ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none", 4)


def _text_capacity(out, data):
    _section(out, "CAPACITY RESERVATION AND PARAMETER STORE")
    reservations = data.get("capacity_reservations") or []
    out.append("  Capacity reservations:" + ("" if reservations else " none (on demand)"))
    for item in reservations:
        out.append(
            f"    {item.get('capacity_reservation_id', '')} {item.get('reservation_type', '')} {item.get('state', '')} "
            f"{item.get('instance_type', '')} in {item.get('availability_zone', '')}, "
            f"{item.get('available_instance_count', '?')}/{item.get('total_instance_count', '?')} available, "
            f"{item.get('start_date', '')} to {item.get('end_date', '')}"
        )
    parameters = data.get("parameters") or {}
    path = (data.get("settings") or {}).get("parameter_path", "")
    out.append(f"  Parameter Store under {path}:" + ("" if parameters else " none"))
    for name, value in sorted(parameters.items()):
        out.append(f"    {name} = {value}")


def _text_efs(out, data):
    _section(out, "EFS FILE SYSTEMS")
    file_systems = data.get("efs_file_systems") or []
    if not file_systems:
        out.append("  No EFS file system tagged for the cluster.")
    for fs in file_systems:
        out.append(f"  {_named(fs.get('file_system_id', ''), fs)}")
        _kv(out, "Encrypted", f"{fs.get('encrypted', False)} {fs.get('kms_key_id', '') or ''}".rstrip(), 4)
        _kv(out, "State", fs.get("life_cycle_state", ""), 4)
        _kv(out, "Performance / throughput", f"{fs.get('performance_mode', '')} / {fs.get('throughput_mode', '')}", 4)
        targets = fs.get("mount_targets") or []
        out.append("    Mount targets:" + ("" if targets else " none"))
        for target in targets:
            groups = ", ".join(target.get("security_groups") or [])
            out.append(
                f"      {target.get('mount_target_id', '')} in {target.get('subnet_id', '')} "
                f"({target.get('availability_zone_name', '')}) {target.get('ip_address', '')} groups {groups or '-'}"
            )


def _text_ports(out, summary):
    _section(out, "REQUIRED PORTS (checked against the cluster's security group)")
    for port in summary["required_ports"]:
        status = (
            f"allowed by {port['rule']}" if port["allowed"] else f"NOT ALLOWED in {port.get('group') or 'any group'}"
        )
        what = "all traffic" if str(port["protocol"]) in ALL_PROTOCOLS else f"{port['protocol']} {port['port']}"
        out.append(f"  {what} from {port['from']}: {port.get('purpose', '')}")
        out.append(f"      {status}")
    out.append("  tcp 22 (SSH): not needed and not to be opened; the nodes are reached through Session Manager.")


def _text_findings(out, findings):
    _section(out, "FINDINGS")
    for finding in findings:
        out.append(f"  [{finding['status'].upper()}] {finding['id']}: {finding['title']} ({finding['detail']})")
        for offender in finding["offenders"]:
            out.append(f"      {offender['resource']}: {offender['rule']}")


def audit_text(data):
    """The dated, sectioned text dump of the gathered data."""
    findings = _findings(data)
    summary = audit_summary(dict(data, findings=findings))
    out = [
        RULE,
        f"AWS configuration dump of nixl-efa cluster {data.get('cluster', '')}",
        RULE,
        f"Generated:  {data.get('generated', '')} (UTC) by playbooks/audit.yml, read-only (describe/get/list calls)",
        f"Region:     {data.get('region', '')}",
        f"Account:    {data.get('account', '')}",
        f"Caller:     {data.get('caller_arn', '')}",
        f"Selection:  tag nixl-efa:cluster={data.get('cluster', '')}, and what the nodes use",
    ]
    _text_quick_reference(out, data, summary)
    _text_iam(out, data)
    _text_network(out, data)
    _text_security_groups(out, data)
    _text_instances(out, data)
    _text_amis(out, data)
    _text_templates(out, data)
    _text_placement(out, data)
    _text_buckets(out, data)
    _text_capacity(out, data)
    _text_efs(out, data)
    _text_ports(out, summary)
    _text_findings(out, findings)
    _section(out, "SUMMARY")
    out += [f"  {line}" for line in summary["lines"]]
    return "\n".join(out) + "\n"


class FilterModule:
    """Audit report filters."""

    def filters(self):
        return {
            "audit_findings": audit_findings,
            "audit_summary": audit_summary,
            "audit_text": audit_text,
        }
