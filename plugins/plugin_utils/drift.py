# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a write module would still change, judged from a read of the resource made earlier in the run.

A converged provision.yml re-run reads each resource once (the roles' ownership reads, one describe
call each) and skips the write module whose resource that read already shows as the module would
leave it. ``drift(found, module, **params)`` answers, for one amazon.aws or community.aws write module
and the parameters its task passes, the differences between the resource as read and as that
module would make it: ``[]`` only when the module would change nothing, so that skipping it leaves
the same resource and the same "changed" as running it. Anything it cannot prove equal counts as a
difference (a resource missing or found twice, a parameter or a rule form it does not know, a field
missing from the read), and the module then runs as before: a false difference costs a module run,
never a missed change.

The rules are the modules' own, in amazon.aws 10 and 11 and community.aws 10 and 11 (the versions
this collection supports); each function names what it mirrors. ``found`` is what the matching
amazon.aws info module (or nixl_efa.cluster.s3_bucket_settings_info) returned: snake_case keys, tags
as a dict or as AWS's list of Key/Value pairs.

Pure logic, controller side; the drift filter is its Ansible face.
"""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies

from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import tags_as_dict


class DriftError(ValueError):
    """A module or parameter this file does not know: the caller's mistake, not a difference."""


def _text(value):
    return "" if value is None else str(value)


def tag_drift(current, wanted, purge=True, keep_aws=True, what="tags"):
    """amazon.aws's compare_aws_tags (EC2, IAM) and merge_tags (S3, keep_aws=False): [] when the tags stay."""
    if wanted is None:
        return []
    if current is None:
        return [f"{what}: not read"]
    current = tags_as_dict(current)
    wanted = {str(k): _text(v) for k, v in wanted.items()}
    differences = [
        f"{what}: {k}={v!r} (now {current[k]!r})" if k in current else f"{what}: add {k}={v!r}"
        for k, v in sorted(wanted.items())
        if current.get(k) != v
    ]
    if purge:
        differences += [
            f"{what}: remove {k}"
            for k in sorted(current)
            if k not in wanted and not (keep_aws and k.startswith("aws:"))
        ]
    return differences


def _one(found, what, match=lambda item: True):
    """(the one item of found that matches, []) or (None, [why not])."""
    items = [item for item in (found or []) if isinstance(item, dict) and match(item)]
    if len(items) == 1:
        return items[0], []
    return None, [f"{what}: {'none found' if not items else f'{len(items)} found, the module wants one'}"]


def _unknown(module, params, known):
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise DriftError(f"drift for {module} does not know the parameter(s) {', '.join(unknown)}")


def _first(value):
    return value[0] if isinstance(value, (list, tuple)) and value else value


# amazon.aws.ec2_vpc_net: found by its Name tag and primary CIDR (get_vpc_id), then tags, CIDRs
# (purge_cidrs false: only missing ones are added), DNS attributes; ipv6_cidr and dhcp_opts_id not given.
def _ec2_vpc_net(
    found, name, cidr_block, dns_support=None, dns_hostnames=None, tags=None, purge_tags=True, state="present"
):
    cidr = _first(cidr_block)
    vpc, why = _one(
        found,
        f"VPC {name} {cidr}",
        lambda v: tags_as_dict(v.get("tags")).get("Name") == name and v.get("cidr_block") == cidr,
    )
    if vpc is None:
        return why
    differences = [] if vpc.get("state") == "available" else [f"state {vpc.get('state')}"]
    associated = {
        a.get("cidr_block")
        for a in vpc.get("cidr_block_association_set") or []
        if (a.get("cidr_block_state") or {}).get("state") not in ("disassociating", "disassociated")
    }
    for wanted in [cidr_block] if isinstance(cidr_block, str) else cidr_block or []:
        if wanted not in associated:
            differences.append(f"CIDR {wanted} not associated")
    for attribute, wanted in (("enable_dns_support", dns_support), ("enable_dns_hostnames", dns_hostnames)):
        if wanted is not None and vpc.get(attribute) is not bool(wanted):
            differences.append(f"{attribute} {vpc.get(attribute)}")
    wanted_tags = dict(tags or {}, Name=name)
    return differences + tag_drift(vpc.get("tags"), wanted_tags, purge_tags if tags is not None else False)


# amazon.aws.ec2_vpc_igw (ensure_igw_present): the one gateway attached to the VPC, then its tags.
def _ec2_vpc_igw(found, vpc_id, tags=None, purge_tags=True, state="present"):
    def attached(igw):
        return any(
            a.get("vpc_id") == vpc_id and a.get("state") in ("available", "attached")
            for a in igw.get("attachments") or []
        )

    igw, why = _one(found, f"internet gateway of {vpc_id}", attached)
    return why if igw is None else tag_drift(igw.get("tags"), tags, purge_tags)


# amazon.aws.ec2_vpc_subnet (ensure_subnet_present, update_subnet_attributes): found by VPC and CIDR;
# the zone is never changed by the module, so a subnet in another zone is a difference here.
def _ec2_vpc_subnet(
    found,
    vpc_id,
    cidr,
    az=None,
    map_public=False,
    assign_instances_ipv6=False,
    ipv6_cidr="",
    tags=None,
    purge_tags=True,
    wait=True,
    state="present",
):
    subnet, why = _one(
        found, f"subnet {cidr} in {vpc_id}", lambda s: s.get("vpc_id") == vpc_id and s.get("cidr_block") == cidr
    )
    if subnet is None:
        return why
    differences = [] if subnet.get("state") == "available" else [f"state {subnet.get('state')}"]
    if az and subnet.get("availability_zone") != az:
        differences.append(f"zone {subnet.get('availability_zone')}")
    ipv6 = [
        a.get("ipv6_cidr_block")
        for a in subnet.get("ipv6_cidr_block_association_set") or []
        if (a.get("ipv6_cidr_block_state") or {}).get("state") in ("associated", "associating")
    ]
    if (ipv6[0] if ipv6 else "") != (ipv6_cidr or ""):
        differences.append(f"IPv6 CIDR {ipv6}")
    if subnet.get("map_public_ip_on_launch") is not bool(map_public):
        differences.append(f"map_public_ip_on_launch {subnet.get('map_public_ip_on_launch')}")
    if subnet.get("assign_ipv6_address_on_creation") is not bool(assign_instances_ipv6):
        differences.append(f"assign_ipv6_address_on_creation {subnet.get('assign_ipv6_address_on_creation')}")
    return differences + tag_drift(subnet.get("tags"), tags, purge_tags)


_GATEWAY_PREFIXES = {"nat-": "nat_gateway_id", "cagw-": "carrier_gateway_id", "tgw-": "transit_gateway_id"}


def _route_spec(route):
    """A route parameter as ec2_vpc_route_table's create_route_spec makes it (snake_case), or None."""
    spec = {k: v for k, v in route.items() if k != "dest"}
    try:
        network = ipaddress.ip_network(route.get("dest"))
    except (TypeError, ValueError):
        return None
    spec["destination_ipv6_cidr_block" if network.version == 6 else "destination_cidr_block"] = route["dest"]
    gateway = spec.get("gateway_id")
    if gateway and gateway.lower() == "igw":
        return None  # resolved by the module with a describe call of its own
    for prefix, key in _GATEWAY_PREFIXES.items():
        if gateway and gateway.startswith(prefix):
            spec[key] = spec.pop("gateway_id")
    return spec


# amazon.aws.ec2_vpc_route_table (lookup tag): the one table of the VPC whose tags include the wanted
# ones, then ensure_routes (exact, replaced, created, purged), its tags, and ensure_subnet_associations.
def _ec2_vpc_route_table(
    found,
    vpc_id,
    tags,
    routes=None,
    subnets=None,
    purge_routes=True,
    purge_subnets=True,
    purge_tags=True,
    lookup="tag",
    state="present",
):
    if lookup != "tag" or tags is None:
        return ["only the tag lookup is judged here"]
    wanted = {str(k): _text(v) for k, v in tags.items()}
    table, why = _one(
        found,
        f"route table tagged {wanted}",
        lambda t: t.get("vpc_id") == vpc_id and all(tags_as_dict(t.get("tags")).get(k) == v for k, v in wanted.items()),
    )
    if table is None:
        return why
    differences = []
    remaining = list(table.get("routes") or [])
    for route in routes or []:
        spec = _route_spec(route)
        if spec is None:
            differences.append(f"route {route}: not judged here")
            continue
        exact = [r for r in remaining if all(r.get(k) == v for k, v in spec.items())]
        if exact:
            remaining.remove(exact[0])
        else:
            differences.append(f"route to {route.get('dest')}: missing or different")
    if purge_routes:
        differences += [
            f"route to {r.get('destination_cidr_block')}: would be removed"
            for r in remaining
            if r.get("destination_cidr_block") and r.get("origin") == "CreateRoute"
        ]
    differences += tag_drift(table.get("tags"), tags, purge_tags)
    if subnets is not None:
        if not all(str(s).startswith("subnet-") for s in subnets):
            return differences + ["subnets given by CIDR or name: not judged here"]
        associated = {
            a.get("subnet_id")
            for a in table.get("associations") or []
            if not a.get("main")
            and a.get("subnet_id")
            and (a.get("association_state") or {}).get("state", "associated") == "associated"
        }
        missing, extra = set(subnets) - associated, associated - set(subnets)
        differences += [f"subnet {s} not associated" for s in sorted(missing)]
        if purge_subnets:
            differences += [f"subnet {s} would be disassociated" for s in sorted(extra)]
    return differences


# amazon.aws.ec2_security_group (ensure_present): rules as Rule tuples (ports, protocol, target,
# target type, description), compared as sets, as the module's new, revoked and re-described rules are.
_SOURCES = ("cidr_ip", "cidr_ipv6", "group_id", "group_name", "ip_prefix")


def _ports(rule):
    if rule.get("icmp_type") is not None:
        return [(rule.get("icmp_type"), rule.get("icmp_code"))]
    if rule.get("from_port") is not None or rule.get("to_port") is not None:
        return [(rule.get("from_port"), rule.get("to_port"))]
    if rule.get("ports") is not None:
        ports = []
        for port in rule["ports"] if isinstance(rule["ports"], list) else [rule["ports"]]:
            text = str(port).strip()
            bounds = [int(p.strip()) for p in text.split("-", 1)] if "-" in text else [int(text)] * 2
            ports.append(tuple(sorted(bounds)))
        return ports
    return [(None, None)]


def _canonical_network(text, version):
    try:
        network = ipaddress.ip_network(text, strict=True)
    except (TypeError, ValueError):
        return None
    return str(network) if network.version == version and str(network) == text else None


def _wanted_rules(rules, group, groups, owner):
    """The module's Rule tuples for the task's rules, or (None, why) for a form not judged here."""
    wanted = set()
    for given in rules or []:
        rule = {k: v for k, v in given.items() if v is not None}
        proto = str(rule.get("proto", "tcp"))
        unknown = (
            set(rule)
            - set(_SOURCES)
            - {"proto", "ports", "from_port", "to_port", "rule_desc", "icmp_type", "icmp_code"}
        )
        if unknown:
            return None, f"rule keys {sorted(unknown)} not judged here"
        try:
            ports = _ports(rule)
        except ValueError:
            return None, f"ports {rule.get('ports')} not understood"
        if proto in ("all", "-1"):
            proto, ports = "-1", [(None, None)]
        elif proto.lstrip("-").isdigit():
            ports = [(None, None)]
        ports = [(None if a is None else int(a), None if b is None else int(b)) for a, b in ports]
        targets = []
        for source in _SOURCES:
            values = rule.get(source)
            for value in values if isinstance(values, list) else ([] if values is None else [values]):
                if source in ("cidr_ip", "cidr_ipv6"):
                    version = 4 if source == "cidr_ip" else 6
                    if _canonical_network(str(value), version) is None:
                        return None, f"{source} {value} is not a network in its canonical form"
                    targets.append((str(value), "ipv4" if version == 4 else "ipv6"))
                elif source == "ip_prefix":
                    targets.append((str(value), "ip_prefix"))
                elif source == "group_id":
                    if "/" in str(value):
                        return None, f"group_id {value} of another account: not judged here"
                    targets.append(((owner, str(value), None), "group"))
                else:
                    other = group if value == group.get("group_name") else groups.get(value)
                    if other is None:
                        return None, f"security group {value} not found in the VPC"
                    targets.append(((owner, other.get("group_id"), None), "group"))
        if not targets:
            return None, f"rule {rule} has no source"
        for port_range in ports:
            for target, target_type in targets:
                wanted.add((port_range, proto, target, target_type, rule.get("rule_desc")))
    return wanted, None


def _current_rules(permissions, owner):
    current = set()
    for perm in permissions or []:
        proto = str(perm.get("ip_protocol"))
        if perm.get("from_port") is None and perm.get("to_port") is None:
            ports = (None, None)
        else:
            ports = (int(perm["from_port"]), int(perm["to_port"]))
        for key, sub, kind in (
            ("ip_ranges", "cidr_ip", "ipv4"),
            ("ipv6_ranges", "cidr_ipv6", "ipv6"),
            ("prefix_list_ids", "prefix_list_id", "ip_prefix"),
        ):
            for entry in perm.get(key) or []:
                current.add((ports, proto, entry.get(sub), kind, entry.get("description")))
        for pair in perm.get("user_id_group_pairs") or []:
            if pair.get("vpc_peering_connection_id") or pair.get("user_id") != owner:
                return None  # another account's or a peered group: not judged here
            current.add((ports, proto, (owner, pair.get("group_id"), None), "group", pair.get("description")))
    return current


def _rule_drift(wanted, current, purge, what):
    added = wanted - current
    removed = (current - wanted) if purge else set()
    return [
        f"{what} rule {r[1]} {r[0]} {r[3]} {r[2] if r[3] != 'group' else r[2][1]}: would be added" for r in added
    ] + [f"{what} rule {r[1]} {r[0]} {r[3]} {r[2] if r[3] != 'group' else r[2][1]}: would be removed" for r in removed]


def _ec2_security_group(
    found,
    name,
    description,
    vpc_id,
    rules=None,
    rules_egress=None,
    tags=None,
    purge_tags=True,
    purge_rules=True,
    purge_rules_egress=True,
    state="present",
):
    in_vpc = [g for g in found or [] if isinstance(g, dict) and g.get("vpc_id") == vpc_id]
    group, why = _one(in_vpc, f"security group {name} in {vpc_id}", lambda g: g.get("group_name") == name)
    if group is None:
        return why
    owner = group.get("owner_id")
    groups = {g.get("group_name"): g for g in in_vpc}
    differences = [] if group.get("description") == description else ["description differs (EC2 cannot change it)"]
    differences += tag_drift(group.get("tags"), tags, purge_tags)
    for what, params, perms, purge in (
        ("ingress", rules, "ip_permissions", purge_rules),
        ("egress", rules_egress, "ip_permissions_egress", purge_rules_egress),
    ):
        current = _current_rules(group.get(perms), owner)
        if current is None:
            differences.append(f"{what} rules of another account or peered VPC: not judged here")
            continue
        if params is None:
            if what == "egress" and ((None, None), "-1", "0.0.0.0/0", "ipv4", None) not in current:
                differences.append("egress: the default rule would be added")
            continue
        wanted, why = _wanted_rules(params, group, groups, owner)
        if wanted is None:
            differences.append(f"{what}: {why}")
            continue
        differences += _rule_drift(wanted, current, purge, what)
    return differences


# amazon.aws.ec2_vpc_endpoint (setup_creation): an endpoint of the VPC and service whose route tables
# are exactly the ones given is taken as it is and only its tags are set (when tags are given). The
# module would take one in any state; only an available one counts here.
def _ec2_vpc_endpoint(
    found,
    vpc_id,
    service,
    route_table_ids=None,
    tags=None,
    purge_tags=True,
    vpc_endpoint_type=None,
    vpc_endpoint_subnets=None,
    vpc_endpoint_security_groups=None,
    wait=False,
    state="present",
):
    wanted_tables = sorted(route_table_ids or [])
    endpoint, why = _one(
        found,
        f"VPC endpoint {service} in {vpc_id}",
        lambda e: (
            e.get("vpc_id") == vpc_id
            and e.get("service_name") == service
            and sorted(e.get("route_table_ids") or []) == wanted_tables
        ),
    )
    if endpoint is None:
        return why
    differences = [] if endpoint.get("state") == "available" else [f"state {endpoint.get('state')}"]
    return differences + (tag_drift(endpoint.get("tags"), tags, purge_tags) if tags else [])


# amazon.aws.ec2_placement_group: one group of the name; an existing one is never changed (tags included).
def _ec2_placement_group(found, name, strategy="cluster", tags=None, state="present"):
    group, why = _one(found, f"placement group {name}", lambda g: g.get("name", g.get("group_name")) == name)
    if group is None:
        return why
    return [] if group.get("strategy") == strategy else [f"strategy {group.get('strategy')}"]


# amazon.aws.ec2_tag (state present): found is the resource's tags as read.
def _ec2_tag(found, resource, tags, purge_tags=False, state="present"):
    return tag_drift(found, tags, purge_tags)


# amazon.aws.ec2_instance with exact_count (enforce_count): as many instances as wanted, then
# handle_existing: tags (purge_tags false here), no other instance parameter given.
def _ec2_instance(
    found, exact_count, tags=None, purge_tags=False, filters=None, launch_template=None, wait=True, state="present"
):
    instances = [i for i in found or [] if isinstance(i, dict)]
    if len(instances) != int(exact_count):
        return [f"{len(instances)} instances, {exact_count} wanted"]
    return [
        d for i in instances for d in tag_drift(i.get("tags"), tags, purge_tags, what=f"{i.get('instance_id')} tags")
    ]


def _policy(value):
    return json.loads(value) if isinstance(value, str) else value


# amazon.aws.s3_bucket (create_or_update_bucket): found is s3_bucket_settings_info's bucket; only the
# handlers of the parameters given can change anything.
def _s3_bucket(
    found,
    name,
    encryption=None,
    encryption_key_id=None,
    bucket_key_enabled=None,
    public_access=None,
    object_ownership=None,
    policy=None,
    tags=None,
    purge_tags=True,
    state="present",
):
    bucket = found if isinstance(found, dict) else None
    if not bucket or bucket.get("name") != name or not bucket.get("exists") or bucket.get("error"):
        return [f"bucket {name}: not found or not readable"]
    differences = []
    if public_access is not None:
        wanted = {
            k: bool(public_access.get(k, False))
            for k in ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")
        }
        if bucket.get("public_access_block") != wanted:
            differences.append(f"public access block {bucket.get('public_access_block')}")
    if policy is not None:
        wanted, current = _policy(policy), bucket.get("policy", "unread")
        if current == "unread":
            differences.append("policy: not read")
        elif not wanted:
            differences += ["policy would be deleted"] if current else []
        elif not current or compare_policies(current, wanted):
            differences.append("policy differs")
    differences += tag_drift(bucket.get("tags"), tags, purge_tags, keep_aws=False)
    if encryption is not None:
        current = bucket.get("encryption") or {}
        algorithm = current.get("sse_algorithm")
        if encryption == "none":
            differences += ["encryption would be removed"] if algorithm else []
        elif algorithm != encryption or (
            encryption == "aws:kms" and current.get("kms_master_key_id") != encryption_key_id
        ):
            differences.append(f"encryption {algorithm} {current.get('kms_master_key_id') or ''}".rstrip())
        if bucket_key_enabled is not None and (
            algorithm != "aws:kms" or current.get("bucket_key_enabled") is not bool(bucket_key_enabled)
        ):
            differences.append(f"bucket key {current.get('bucket_key_enabled')}")
    elif bucket_key_enabled is not None:
        differences.append("bucket_key_enabled without encryption: not judged here")
    if object_ownership is not None and bucket.get("object_ownership") != object_ownership:
        differences.append(f"object ownership {bucket.get('object_ownership')}")
    return differences


# community.aws.s3_lifecycle (build_rule, compare_and_update_configuration, compare_rule with
# purge_transitions true): found is the bucket's lifecycle rules as AWS returns them.
def _s3_lifecycle(
    found,
    name,
    rule_id,
    prefix="",
    status="enabled",
    expiration_days=None,
    abort_incomplete_multipart_upload_days=None,
    state="present",
):
    rule = {"Filter": {"Prefix": prefix or ""}, "Status": str(status).title(), "ID": rule_id}
    if abort_incomplete_multipart_upload_days:
        rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort_incomplete_multipart_upload_days)}
    if expiration_days is not None:
        rule["Expiration"] = {"Days": int(expiration_days)}
    if found is None:
        return ["lifecycle rules: not read"]
    existing, why = _one(found, f"lifecycle rule {rule_id}", lambda r: r.get("ID") == rule_id)
    if existing is None:
        return why
    return [] if existing == rule else [f"lifecycle rule {rule_id} differs"]


# amazon.aws.iam_role (create_or_update_role, update_basic_role): found is iam_role_info's role.
def _iam_role(
    found,
    name,
    assume_role_policy_document=None,
    description=None,
    managed_policies=None,
    purge_policies=True,
    tags=None,
    purge_tags=True,
    create_instance_profile=True,
    state="present",
):
    role, why = _one(found, f"IAM role {name}", lambda r: r.get("role_name") == name)
    if role is None:
        return why
    differences = []
    if assume_role_policy_document is not None and compare_policies(
        role.get("assume_role_policy_document"), _policy(assume_role_policy_document)
    ):
        differences.append("trust policy differs")
    if description is not None and role.get("description") != description:
        differences.append("description differs")
    differences += tag_drift(role.get("tags"), tags, purge_tags)
    if create_instance_profile and name not in [
        p.get("instance_profile_name") for p in role.get("instance_profiles") or []
    ]:
        differences.append(f"no instance profile {name} holds the role")
    if managed_policies is not None:
        wanted = [p for p in managed_policies if p is not None]
        if not all(str(p).startswith("arn:") for p in wanted):
            return differences + ["managed policies given by name: not judged here"]
        current = {p.get("policy_arn") for p in role.get("managed_policies") or []}
        differences += [f"attach {p}" for p in sorted(set(wanted) - current)]
        if purge_policies:
            differences += [f"detach {p}" for p in sorted(current - set(wanted))]
    return differences


# amazon.aws.iam_instance_profile (ensure_present, ensure_role, ensure_tags).
def _iam_instance_profile(found, name, role=None, tags=None, purge_tags=True, state="present"):
    profile, why = _one(found, f"instance profile {name}", lambda p: p.get("instance_profile_name") == name)
    if profile is None:
        return why
    roles = [r.get("role_name") for r in profile.get("roles") or []]
    differences = [] if role is None or (roles[:1] == [role] if role else not roles) else [f"roles {roles}"]
    return differences + tag_drift(profile.get("tags"), tags, purge_tags)


# amazon.aws.iam_policy (Policy.create, skip_duplicates false): found is iam_policy_info's policies.
def _iam_policy(found, iam_type, iam_name, policy_name, policy_json, state="present", skip_duplicates=False):
    if skip_duplicates:
        return ["skip_duplicates: not judged here"]
    policy, why = _one(
        found, f"inline policy {policy_name} of {iam_name}", lambda p: p.get("policy_name") == policy_name
    )
    if policy is None:
        return why
    return ["policy document differs"] if compare_policies(policy.get("policy_document"), _policy(policy_json)) else []


MODULES = {
    "amazon.aws.ec2_vpc_net": _ec2_vpc_net,
    "amazon.aws.ec2_vpc_igw": _ec2_vpc_igw,
    "amazon.aws.ec2_vpc_subnet": _ec2_vpc_subnet,
    "amazon.aws.ec2_vpc_route_table": _ec2_vpc_route_table,
    "amazon.aws.ec2_security_group": _ec2_security_group,
    "amazon.aws.ec2_vpc_endpoint": _ec2_vpc_endpoint,
    "amazon.aws.ec2_placement_group": _ec2_placement_group,
    "amazon.aws.ec2_tag": _ec2_tag,
    "amazon.aws.ec2_instance": _ec2_instance,
    "amazon.aws.s3_bucket": _s3_bucket,
    "community.aws.s3_lifecycle": _s3_lifecycle,
    "amazon.aws.iam_role": _iam_role,
    "amazon.aws.iam_instance_profile": _iam_instance_profile,
    "amazon.aws.iam_policy": _iam_policy,
}


def drift(found, module, **params):
    """What `module` with `params` would change in the resource `found` (a read of it); [] when nothing."""
    function = MODULES.get(module)
    if function is None:
        raise DriftError(f"drift does not know the module {module}; it knows {', '.join(sorted(MODULES))}")
    code = function.__code__
    known = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount]
    _unknown(module, params, known)
    required = code.co_varnames[1 : code.co_argcount - len(function.__defaults__ or ())]
    missing = [name for name in required if name not in params]
    if missing:
        raise DriftError(f"drift for {module} needs the parameter(s) {', '.join(missing)}")
    if params.get("state", "present") != "present":
        raise DriftError(f"drift for {module} judges state=present only")
    return function(found, **params)
