# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The audit's dated, sectioned text dump."""

import json

from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import CLUSTER_TAG
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import ALL_PROTOCOLS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import PUBLIC_ACCESS_FLAGS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import RULE
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import launch_template_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import list_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import market_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import named_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import ports_text
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import profile_name_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import reservation_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import rule_text
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import sources_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import state_name_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import subnet_id_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import vpc_id_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.findings import bucket_blocks
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.findings import bucket_policy
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.findings import findings_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.findings import unwrapped
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.summary import audit_summary


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
        _kv(out, "VPC", f"{named_of(vpc_id_of(vpc), vpc)} {vpc.get('cidr_block', '')}")
    for subnet in net.get("subnets") or []:
        _kv(
            out,
            "Subnet",
            f"{subnet_id_of(subnet)} {subnet.get('cidr_block', '')} in {subnet.get('availability_zone', '')}",
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
            f"{named_of(instance.get('instance_id', ''), instance)} {instance.get('private_ip_address', '')}",
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
        principals = [
            f"{k}={v}" for s in list_of(trust.get("Statement")) for k, v in (s.get("Principal") or {}).items()
        ]
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
        out.append(f"  VPC {named_of(vpc_id_of(vpc), vpc)}")
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
        out.append(f"  Subnet {named_of(subnet_id_of(subnet), subnet)}")
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
        out.append(f"    {named_of(table_id, table)} ({', '.join(where) or 'not associated'})")
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
        ports.add(ports_text(perm))
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
            rules = [rule_text(p, s, gid, direction) for p in group.get(key) or [] for s in sources_of(p)]
            out.append(f"    {direction.capitalize()} rules:" + ("" if rules else " none"))
            out += [f"      - {r}" for r in rules]


def _text_instances(out, data):
    _section(out, "INSTANCES")
    instances = data.get("instances") or []
    if not instances:
        out.append("  No instance found (pending, running, stopping or stopped).")
    for instance in instances:
        options = instance.get("metadata_options") or {}
        out.append(f"  {named_of(instance.get('instance_id', ''), instance)}")
        _kv(out, "Type / state", f"{instance.get('instance_type', '')} / {state_name_of(instance)}", 4)
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
        _kv(out, "Launch template", launch_template_of(instance) or "none", 4)
        _kv(out, "Instance profile", profile_name_of(instance) or "none", 4)
        _kv(out, "Capacity reservation", reservation_of(instance) or "none", 4)
        _kv(out, "Market type", market_of(instance), 4)
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
        config = unwrapped(bucket, "bucket_encryption", "ServerSideEncryptionConfiguration")
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
        flags = bucket_blocks(bucket)
        _kv(out, "Public access block", ", ".join(f"{f} {flags.get(f, False)}" for f in PUBLIC_ACCESS_FLAGS), 4)
        ownership = unwrapped(bucket, "bucket_ownership_controls", "OwnershipControls").get("Rules") or []
        _kv(out, "Object ownership", ", ".join(r.get("ObjectOwnership", "") for r in ownership) or "unknown", 4)
        policy = bucket_policy(bucket)
        statements = [f"{s.get('Sid', '-')} ({s.get('Effect', '')})" for s in list_of(policy.get("Statement"))]
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
        out.append(f"  {named_of(fs.get('file_system_id', ''), fs)}")
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
    findings = findings_of(data)
    summary = audit_summary(dict(data, findings=findings))
    out = [
        RULE,
        f"AWS configuration dump of nixl-efa cluster {data.get('cluster', '')}",
        RULE,
        f"Generated:  {data.get('generated', '')} (UTC) by playbooks/audit.yml, read-only (describe/get/list calls)",
        f"Region:     {data.get('region', '')}",
        f"Account:    {data.get('account', '')}",
        f"Caller:     {data.get('caller_arn', '')}",
        f"Selection:  tag {CLUSTER_TAG}={data.get('cluster', '')}, and what the nodes use",
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
