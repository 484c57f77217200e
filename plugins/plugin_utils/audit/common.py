# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The readers of the *_info modules' shapes shared by the audit's findings, summary and text."""

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


def list_of(value):
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


def named_of(resource_id, resource):
    name = _tags(resource).get("Name") or (resource or {}).get("group_name") or ""
    return f"{resource_id} ({name})" if name else str(resource_id)


def vpc_id_of(vpc):
    return vpc.get("vpc_id") or vpc.get("id") or ""


def subnet_id_of(subnet):
    return subnet.get("subnet_id") or subnet.get("id") or ""


def protocol_of(perm):
    proto = str(perm.get("ip_protocol", "-1")).lower()
    return PROTOCOL_NUMBERS.get(proto, proto)


def _port_range(perm):
    """(from, to) of a tcp/udp rule; None when the rule covers every port."""
    if protocol_of(perm) in ALL_PROTOCOLS:
        return None
    low, high = perm.get("from_port"), perm.get("to_port")
    if low is None or high is None or (low in (-1, 0) and high in (-1, 65535)):
        return None
    return int(low), int(high)


def ports_text(perm):
    proto = protocol_of(perm)
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


def sources_of(perm):
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


def rule_text(perm, source, group_id, direction="ingress"):
    kind, value, description = source
    word = "from" if direction == "ingress" else "to"
    who = f"{value} (this group)" if kind == "group" and value == group_id else value
    text = f"{direction} {ports_text(perm)} {word} {who}"
    return f"{text} [{description}]" if description else text


def covers(perm, port, protocol="tcp"):
    """True when the rule lets `port` of `protocol` through."""
    proto = protocol_of(perm)
    if proto in ALL_PROTOCOLS:
        return True
    if proto != protocol:
        return False
    ports = _port_range(perm)
    return ports is None or ports[0] <= int(port) <= ports[1]


def state_name_of(instance):
    state = instance.get("state")
    return state.get("name", "") if isinstance(state, dict) else str(state or "")


def market_of(instance):
    return instance.get("instance_lifecycle") or "on-demand"


def launch_template_of(instance):
    tags = _tags(instance)
    template = tags.get("aws:ec2launchtemplate:id", "")
    version = tags.get("aws:ec2launchtemplate:version", "")
    return f"{template}:{version}" if template and version else template


def profile_name_of(instance):
    arn = (instance.get("iam_instance_profile") or {}).get("arn", "")
    return arn.rsplit("/", 1)[-1] if arn else ""


def reservation_of(instance):
    spec = instance.get("capacity_reservation_specification") or {}
    target = (spec.get("capacity_reservation_target") or {}).get("capacity_reservation_id", "")
    return instance.get("capacity_reservation_id") or target or ""


def make_finding(finding_id, checked, offenders, what):
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
