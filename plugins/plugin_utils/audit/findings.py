# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The audit's security findings: one per rule the collection promises, with its offenders.

A finding is a dict: id, title, status (pass or fail), checked (how many resources were looked at),
offenders (each a resource and what is wrong with it) and detail (one line).
"""

import json

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import ALL_PROTOCOLS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import PUBLIC_ACCESS_FLAGS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import PUBLIC_CIDRS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import S3_ALGORITHMS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import SSH_PORT
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import WIDE_ACTION_PREFIXES
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import covers
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import list_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import make_finding
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import named_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import protocol_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import rule_text
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import sources_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.cluster_names import cluster_resource_name


def _public_ingress(groups):
    offenders = []
    for group in groups:
        gid = group.get("group_id", "")
        for perm in group.get("ip_permissions") or []:
            for source in sources_of(perm):
                if source[0] == "cidr" and source[1] in PUBLIC_CIDRS:
                    offenders.append({"resource": named_of(gid, group), "rule": rule_text(perm, source, gid)})
    return make_finding("no-public-ingress", len(groups), offenders, "security groups")


def _ssh(groups):
    """Port 22 open to any source. EFA's all-traffic rule from the group itself is what EFA needs, not SSH."""
    offenders = []
    for group in groups:
        gid = group.get("group_id", "")
        for perm in group.get("ip_permissions") or []:
            if not covers(perm, SSH_PORT):
                continue
            for source in sources_of(perm):
                efa_self = protocol_of(perm) in ALL_PROTOCOLS and source[0] == "group" and source[1] == gid
                if not efa_self:
                    offenders.append({"resource": named_of(gid, group), "rule": rule_text(perm, source, gid)})
    return make_finding("no-ssh", len(groups), offenders, "security groups")


def _imdsv2(instances):
    offenders = []
    for instance in instances:
        options = instance.get("metadata_options") or {}
        if options.get("http_endpoint") == "disabled" or options.get("http_tokens") == "required":
            continue
        offenders.append(
            {
                "resource": named_of(instance.get("instance_id", ""), instance),
                "rule": f"http_tokens {options.get('http_tokens', 'unknown')} (IMDSv1 allowed)",
            }
        )
    return make_finding("imdsv2-required", len(instances), offenders, "instances")


def unwrapped(bucket, fact, wrapper):
    """One of amazon.aws.s3_bucket_info's bucket facts, whichever amazon.aws returned it.

    amazon.aws 10 returns the S3 API's response (``{"ServerSideEncryptionConfiguration": {...}}``,
    ``{"OwnershipControls": {...}}``); amazon.aws 11 returns what is inside it.
    """
    value = bucket.get(fact) or {}
    if not isinstance(value, dict):
        return {}
    return value.get(wrapper, value) or {}


def bucket_policy(bucket):
    """The bucket policy as a document: amazon.aws 10 gives {"Policy": "<JSON>"}, 11 the parsed document."""
    policy = bucket.get("bucket_policy") or {}
    if isinstance(policy, dict) and isinstance(policy.get("Policy"), str):
        policy = policy["Policy"]
    if isinstance(policy, str):
        policy = json.loads(policy) if policy.strip() else {}
    return policy if isinstance(policy, dict) else {}


def _bucket_algorithms(bucket):
    config = unwrapped(bucket, "bucket_encryption", "ServerSideEncryptionConfiguration")
    algorithms = []
    for rule in config.get("Rules") or []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm"):
            algorithms.append(default["SSEAlgorithm"])
    return algorithms


def bucket_blocks(bucket):
    block = bucket.get("public_access_block") or {}
    return block.get("PublicAccessBlockConfiguration", block) or {}


def _s3_encryption(buckets):
    offenders = []
    for bucket in buckets:
        algorithms = _bucket_algorithms(bucket)
        if not any(a in S3_ALGORITHMS for a in algorithms):
            offenders.append({"resource": bucket.get("name", ""), "rule": "no default encryption configured"})
    return make_finding("s3-encryption", len(buckets), offenders, "buckets")


def _s3_public_access(buckets):
    offenders = []
    for bucket in buckets:
        flags = bucket_blocks(bucket)
        off = [flag for flag in PUBLIC_ACCESS_FLAGS if flags.get(flag) is not True]
        if off:
            offenders.append({"resource": bucket.get("name", ""), "rule": "off: " + ", ".join(off)})
    return make_finding("s3-public-access-block", len(buckets), offenders, "buckets")


def _efs_encrypted(file_systems):
    offenders = [
        {"resource": named_of(fs.get("file_system_id", ""), fs), "rule": "not encrypted at rest"}
        for fs in file_systems
        if fs.get("encrypted") is not True
    ]
    return make_finding("efs-encrypted", len(file_systems), offenders, "EFS file systems")


def _wide_actions(statement):
    if "NotAction" in statement:
        return ["NotAction " + ", ".join(str(a) for a in list_of(statement["NotAction"]))]
    actions = [str(a) for a in list_of(statement.get("Action"))]
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
            for index, statement in enumerate(list_of(document.get("Statement"))):
                if statement.get("Effect") != "Allow":
                    continue
                every = "NotResource" in statement or "*" in list_of(statement.get("Resource"))
                actions = _wide_actions(statement)
                if every and actions:
                    where = "NotResource" if "NotResource" in statement else 'Resource "*"'
                    offenders.append(
                        {
                            "resource": f"role {role} policy {policy.get('policy_name', '')}",
                            "rule": f"statement {statement.get('Sid') or index}: {', '.join(actions)} on {where}",
                        }
                    )
    return make_finding("iam-no-wildcard-resource", checked, offenders, "inline policies")


def _placement(instances, placement_groups, wanted):
    if wanted == "":
        # A cluster made without a placement group (cluster_placement_group: false, a workstation).
        return make_finding("placement-group", 0, [], "instances (no placement group asked for)")
    known = {g.get("name"): g for g in placement_groups}
    offenders = []
    for instance in instances:
        group = (instance.get("placement") or {}).get("group_name") or ""
        rid = named_of(instance.get("instance_id", ""), instance)
        if group != wanted:
            offenders.append({"resource": rid, "rule": f"in placement group '{group}', not '{wanted}'"})
        elif wanted not in known:
            offenders.append({"resource": rid, "rule": f"placement group '{wanted}' does not exist"})
        elif known[wanted].get("strategy") != "cluster":
            offenders.append(
                {"resource": rid, "rule": f"placement group '{wanted}' has strategy {known[wanted].get('strategy')}"}
            )
    return make_finding("placement-group", len(instances), offenders, "instances")


def audit_findings(data):
    """The security findings of the gathered data, in a fixed order."""
    groups = data.get("security_groups") or []
    instances = data.get("instances") or []
    buckets = data.get("s3_buckets") or []
    settings = data.get("settings") or {}
    wanted_group = settings.get("placement_group_name")
    if wanted_group is None:
        wanted_group = cluster_resource_name(data["cluster"], "placement_group") if data.get("cluster") else ""
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


def findings_of(data):
    return data["findings"] if data.get("findings") is not None else audit_findings(data)
