"""The audit's pure logic (plugins/plugin_utils/audit/): findings, summary and text dump.

The data has the shapes the *_info modules return (taken from a run of playbooks/audit.yml on the
lab against a private cluster made by playbooks/provision.yml), cut down to the keys that matter.
"""

import copy
import json

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.common import TITLES
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.findings import audit_findings
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.summary import audit_summary
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.text import audit_text

ACCOUNT = "123456789012"
SG = "sg-0e3f3cb4f853f890c"
SG_ENDPOINTS = "sg-02e533bf1ff2865d2"
VPC = "vpc-0cb09ddf560627577"
SUBNET = "subnet-0a6ae6cc86a52117"
BUCKET = f"nixl-efa-demo-{ACCOUNT}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
LOGS = f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/ssm/*"

# The iam_s3 role's inline policy, as amazon.aws.iam_policy_info returns it.
NODE_POLICY = {
    "policy_name": "nixl-efa-node-access",
    "policy_document": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListClusterPrefixes",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": BUCKET_ARN,
                "Condition": {"StringLike": {"s3:prefix": ["scripts/*", "mlflow-artifacts/*"]}},
            },
            {"Sid": "ReadScripts", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/scripts/*"},
            {
                "Sid": "ReadWriteMlflowArtifacts",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": f"{BUCKET_ARN}/mlflow-artifacts/*",
            },
            {
                "Sid": "WriteSsmLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                "Resource": [LOGS, f"{LOGS}:log-stream:*"],
            },
            {
                "Sid": "FindSsmLogGroup",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": f"arn:aws:logs:*:{ACCOUNT}:log-group:*",
            },
        ],
    },
}


def group_pair(group_id, description=""):
    return {"group_id": group_id, "user_id": ACCOUNT, "description": description}


def perm(protocol, ports=None, cidrs=(), groups=(), cidrs6=()):
    rule = {
        "ip_protocol": protocol,
        "ip_ranges": [{"cidr_ip": c, "description": "d"} for c in cidrs],
        "ipv6_ranges": [{"cidr_ipv6": c} for c in cidrs6],
        "prefix_list_ids": [],
        "user_id_group_pairs": [group_pair(g) for g in groups],
    }
    if ports is not None:
        rule["from_port"], rule["to_port"] = ports
    return rule


def instance(index):
    return {
        "instance_id": f"i-0000000000000000{index}",
        "instance_type": "p5.48xlarge",
        "state": {"code": 16, "name": "running"},
        "placement": {"availability_zone": "us-east-1a", "group_name": "demo-cluster", "tenancy": "default"},
        "private_ip_address": f"10.0.200.{4 + index}",
        "subnet_id": SUBNET,
        "vpc_id": VPC,
        "image_id": "ami-0dca37ea5",
        "iam_instance_profile": {"arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/demo-node"},
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
        "security_groups": [{"group_id": SG, "group_name": "demo-efa"}],
        "network_interfaces": [{"interface_type": "efa"}] + [{"interface_type": "efa-only"}] * 31,
        "tags": {
            "Name": f"demo-node-{index}",
            "nixl-efa:cluster": "demo",
            "aws:ec2launchtemplate:id": "lt-023be34164ea6cc53",
            "aws:ec2launchtemplate:version": "1",
        },
    }


@pytest.fixture
def data():
    """A private two-node cluster as provision.yml leaves it: every finding passes."""
    return copy.deepcopy(
        {
            "schema": "nixl_efa.cluster/aws-audit/v1",
            "cluster": "demo",
            "region": "us-east-1",
            "account": ACCOUNT,
            "caller_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/me",
            "generated": "2026-11-25T20:58:04Z",
            "settings": {
                "role_name": "demo-node",
                "security_group_name": "demo-efa",
                "placement_group_name": "demo-cluster",
                "parameter_path": "/nixl-efa/demo",
            },
            "required_ports": [
                {"protocol": "all", "port": "all", "from": "cluster-group", "purpose": "EFA"},
                {"protocol": "tcp", "port": 5000, "from": "cluster-group", "purpose": "MLflow"},
                {"protocol": "tcp", "port": 8100, "from": "vpc", "purpose": "vLLM"},
                {"protocol": "tcp", "port": 8192, "from": "vpc", "purpose": "vLLM proxy"},
            ],
            "iam": {
                "instance_profiles": [
                    {
                        "instance_profile_name": "demo-node",
                        "arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/demo-node",
                        "roles": [{"role_name": "demo-node"}],
                    }
                ],
                "roles": [
                    {
                        "role_name": "demo-node",
                        "arn": f"arn:aws:iam::{ACCOUNT}:role/demo-node",
                        "assume_role_policy_document": {
                            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}]
                        },
                        "managed_policies": [
                            {
                                "policy_name": "AmazonSSMManagedInstanceCore",
                                "policy_arn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                            }
                        ],
                        "inline_policies": ["nixl-efa-node-access"],
                    }
                ],
                "inline_policies": {"demo-node": [NODE_POLICY]},
            },
            "network": {
                "vpcs": [
                    {
                        "id": VPC,
                        "vpc_id": VPC,
                        "cidr_block": "10.0.0.0/16",
                        "cidr_block_association_set": [{"cidr_block": "10.0.0.0/16"}],
                        "is_default": False,
                        "tags": {"Name": "demo", "nixl-efa:cluster": "demo"},
                    }
                ],
                "subnets": [
                    {
                        "id": SUBNET,
                        "subnet_id": SUBNET,
                        "cidr_block": "10.0.200.0/24",
                        "availability_zone": "us-east-1a",
                        "vpc_id": VPC,
                        "map_public_ip_on_launch": False,
                        "tags": {"Name": "demo-us-east-1a"},
                    }
                ],
                "internet_gateways": [],
                "nat_gateways": [],
                "route_tables": [
                    {
                        "route_table_id": "rtb-0493a9ccd28e18a56",
                        "associations": [{"main": False, "subnet_id": SUBNET}],
                        "routes": [
                            {"destination_cidr_block": "10.0.0.0/16", "gateway_id": "local", "state": "active"},
                            {
                                "destination_prefix_list_id": "pl-63a5400a",
                                "gateway_id": "vpce-01b75d8c024d042e6",
                                "state": "active",
                            },
                        ],
                        "tags": {"Name": "demo"},
                    }
                ],
                "vpc_endpoints": [
                    {
                        "vpc_endpoint_id": "vpce-06dab505d11b4f04a",
                        "vpc_endpoint_type": "Interface",
                        "service_name": "com.amazonaws.us-east-1.ssm",
                        "state": "available",
                        "subnet_ids": [SUBNET],
                        "groups": [{"group_id": SG_ENDPOINTS, "group_name": "demo-ssm-endpoints"}],
                        "private_dns_enabled": True,
                        "tags": [{"key": "Name", "value": "demo-ssm"}],
                    },
                    {
                        "vpc_endpoint_id": "vpce-01b75d8c024d042e6",
                        "vpc_endpoint_type": "Gateway",
                        "service_name": "com.amazonaws.us-east-1.s3",
                        "state": "available",
                        "route_table_ids": ["rtb-0493a9ccd28e18a56"],
                    },
                ],
            },
            "security_groups": [
                {
                    "group_id": SG,
                    "group_name": "demo-efa",
                    "vpc_id": VPC,
                    "description": "EFA cluster nodes, all traffic within the group, no SSH",
                    "ip_permissions": [
                        perm("tcp", (5000, 5000), groups=[SG]),
                        perm("-1", groups=[SG]),
                        perm("tcp", (8192, 8192), cidrs=["10.0.0.0/16"]),
                        perm("tcp", (8100, 8100), cidrs=["10.0.0.0/16"]),
                    ],
                    "ip_permissions_egress": [perm("-1", cidrs=["0.0.0.0/0"], groups=[SG])],
                },
                {
                    "group_id": SG_ENDPOINTS,
                    "group_name": "demo-ssm-endpoints",
                    "vpc_id": VPC,
                    "description": "SSM interface endpoints, HTTPS from the cluster nodes",
                    "ip_permissions": [perm("tcp", (443, 443), groups=[SG])],
                    "ip_permissions_egress": [],
                },
            ],
            "instances": [instance(0), instance(1)],
            "amis": [
                {
                    "image_id": "ami-0dca37ea5",
                    "name": "Deep Learning OSS Nvidia Driver AMI GPU PyTorch 2.7 (Ubuntu 22.04) 20250602",
                    "description": "Supported EC2 instances: G4dn, G5, G6, Gr6, G6e, P4, P4de, P5, P5e, P5en, P6-B200.",
                    "creation_date": "2025-06-03T09:24:51.000Z",
                    "owner_id": "898082745236",
                    "image_owner_alias": "amazon",
                    "architecture": "x86_64",
                    "root_device_type": "ebs",
                    "state": "available",
                }
            ],
            "launch_templates": [
                {
                    "launch_template_id": "lt-023be34164ea6cc53",
                    "launch_template_name": "demo-nodes",
                    "default_version_number": 1,
                    "latest_version_number": 1,
                    "versions": [
                        {
                            "version_number": 1,
                            "launch_template_data": {
                                "instance_type": "p5.48xlarge",
                                "image_id": "ami-0dca37ea5",
                                "iam_instance_profile": {"name": "demo-node"},
                                "metadata_options": {"http_tokens": "required", "http_put_response_hop_limit": 1},
                                "placement": {"group_name": "demo-cluster"},
                                "network_interfaces": [
                                    {"interface_type": "efa", "subnet_id": SUBNET, "groups": [SG]},
                                    {"interface_type": "efa-only", "subnet_id": SUBNET, "groups": [SG]},
                                ],
                                "block_device_mappings": [
                                    {
                                        "device_name": "/dev/sda1",
                                        "ebs": {"volume_size": 1000, "volume_type": "gp3", "encrypted": True},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
            "placement_groups": [{"name": "demo-cluster", "strategy": "cluster", "state": "available"}],
            "s3_buckets": [
                {
                    "name": BUCKET,
                    "bucket_encryption": {
                        "ServerSideEncryptionConfiguration": {
                            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                        }
                    },
                    "public_access_block": {
                        "PublicAccessBlockConfiguration": {
                            "BlockPublicAcls": True,
                            "BlockPublicPolicy": True,
                            "IgnorePublicAcls": True,
                            "RestrictPublicBuckets": True,
                        }
                    },
                    "bucket_ownership_controls": {
                        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
                    },
                    "bucket_policy": {},
                    "bucket_tagging": {"nixl-efa:cluster": "demo"},
                }
            ],
            "capacity_reservations": [],
            "capacity_blocks": [],
            "parameters": {"/nixl-efa/demo/subnet-id": SUBNET},
            "efs_file_systems": [
                {
                    "file_system_id": "fs-0434ac0bb",
                    "encrypted": True,
                    "life_cycle_state": "available",
                    "tags": {"Name": "demo-shared"},
                    "mount_targets": [
                        {"mount_target_id": "fsmt-0f1d71c92", "subnet_id": SUBNET, "security_groups": [SG]}
                    ],
                }
            ],
        }
    )


def by_id(findings):
    return {f["id"]: f for f in findings}


def failed(data):
    return sorted(f["id"] for f in audit_findings(data) if f["status"] == "fail")


def test_secure_defaults_pass_every_finding(data):
    findings = audit_findings(data)
    assert [f["id"] for f in findings] == list(TITLES)
    assert all(f["status"] == "pass" and f["offenders"] == [] for f in findings), findings
    checked = {f["id"]: f["checked"] for f in findings}
    assert checked == {
        "no-public-ingress": 2,
        "no-ssh": 2,
        "imdsv2-required": 2,
        "s3-encryption": 1,
        "s3-public-access-block": 1,
        "efs-encrypted": 1,
        "iam-no-wildcard-resource": 1,
        "placement-group": 2,
    }


def test_ssh_from_anywhere_fails_two_findings_naming_the_group_and_rule(data):
    data["security_groups"][0]["ip_permissions"].append(perm("tcp", (22, 22), cidrs=["0.0.0.0/0"]))
    found = by_id(audit_findings(data))
    assert failed(data) == ["no-public-ingress", "no-ssh"]
    expected = [{"resource": f"{SG} (demo-efa)", "rule": "ingress tcp 22 from 0.0.0.0/0 [d]"}]
    assert found["no-public-ingress"]["offenders"] == expected
    assert found["no-ssh"]["offenders"] == expected
    assert found["no-ssh"]["detail"] == "1 of 2 security groups fail"


def test_ipv6_anywhere_on_https_is_public_but_not_ssh(data):
    data["security_groups"][0]["ip_permissions"].append(perm("tcp", (443, 443), cidrs6=["::/0"]))
    assert failed(data) == ["no-public-ingress"]
    assert by_id(audit_findings(data))["no-public-ingress"]["offenders"][0]["rule"] == "ingress tcp 443 from ::/0"


@pytest.mark.parametrize(
    "rule, opens_ssh",
    [
        (perm("-1", groups=[SG]), False),  # EFA's all traffic from the group itself
        (perm("-1", groups=[SG_ENDPOINTS]), True),  # all traffic from another group includes 22
        (perm("tcp", (0, 65535), cidrs=["10.0.0.0/16"]), True),
        (perm("tcp", (20, 25), groups=[SG]), True),  # an explicit SSH range, even from the group itself
        (perm("6", (22, 22), cidrs=["10.0.0.0/8"]), True),  # protocol by number
        (perm("udp", (22, 22), cidrs=["10.0.0.0/8"]), False),
        (perm("tcp", (23, 8000), cidrs=["10.0.0.0/8"]), False),
        (perm("icmp", (-1, -1), cidrs=["10.0.0.0/8"]), False),
    ],
)
def test_port_22_rules(data, rule, opens_ssh):
    data["security_groups"][0]["ip_permissions"] = [rule]
    assert (by_id(audit_findings(data))["no-ssh"]["status"] == "fail") is opens_ssh


def test_egress_to_anywhere_is_not_a_finding(data):
    assert data["security_groups"][0]["ip_permissions_egress"][0]["ip_ranges"][0]["cidr_ip"] == "0.0.0.0/0"
    assert failed(data) == []


def test_imdsv1_fails_and_a_disabled_endpoint_passes(data):
    data["instances"][0]["metadata_options"]["http_tokens"] = "optional"
    data["instances"][1]["metadata_options"] = {"http_endpoint": "disabled", "http_tokens": "optional"}
    offenders = by_id(audit_findings(data))["imdsv2-required"]["offenders"]
    assert offenders == [
        {"resource": "i-00000000000000000 (demo-node-0)", "rule": "http_tokens optional (IMDSv1 allowed)"}
    ]


def test_bucket_without_encryption_or_with_a_public_access_block_off(data):
    bucket = data["s3_buckets"][0]
    bucket["bucket_encryption"] = {}
    bucket["public_access_block"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] = False
    del bucket["public_access_block"]["PublicAccessBlockConfiguration"]["IgnorePublicAcls"]
    found = by_id(audit_findings(data))
    assert found["s3-encryption"]["offenders"] == [{"resource": BUCKET, "rule": "no default encryption configured"}]
    assert found["s3-public-access-block"]["offenders"][0]["rule"] == "off: IgnorePublicAcls, RestrictPublicBuckets"


def test_kms_encryption_passes(data):
    rule = data["s3_buckets"][0]["bucket_encryption"]["ServerSideEncryptionConfiguration"]["Rules"][0]
    rule["ApplyServerSideEncryptionByDefault"] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:..."}
    assert failed(data) == []


POLICY = {"Version": "2012-10-17", "Statement": [{"Sid": "TLSOnly", "Effect": "Deny", "Action": "s3:*"}]}


@pytest.mark.parametrize("shape", ["amazon.aws 10", "amazon.aws 11"])
def test_bucket_facts_of_either_amazon_aws(data, shape):
    """amazon.aws 11's s3_bucket_info returns the insides of the API responses that 10 returned whole."""
    bucket = data["s3_buckets"][0]
    if shape == "amazon.aws 11":
        bucket["bucket_encryption"] = bucket["bucket_encryption"]["ServerSideEncryptionConfiguration"]
        bucket["public_access_block"] = bucket["public_access_block"]["PublicAccessBlockConfiguration"]
        bucket["bucket_ownership_controls"] = bucket["bucket_ownership_controls"]["OwnershipControls"]
        bucket["bucket_policy"] = POLICY
    else:
        bucket["bucket_policy"] = {"Policy": json.dumps(POLICY)}
    assert failed(data) == []
    text = audit_text(data)
    assert "Default encryption" in text and "AES256" in text
    assert "BucketOwnerEnforced" in text and "TLSOnly (Deny)" in text


def test_efs_unencrypted_fails_and_none_passes(data):
    data["efs_file_systems"][0]["encrypted"] = False
    assert by_id(audit_findings(data))["efs-encrypted"]["offenders"] == [
        {"resource": "fs-0434ac0bb (demo-shared)", "rule": "not encrypted at rest"}
    ]
    data["efs_file_systems"] = []
    finding = by_id(audit_findings(data))["efs-encrypted"]
    assert finding["status"] == "pass" and finding["checked"] == 0
    assert finding["detail"] == "no EFS file systems to check"


@pytest.mark.parametrize(
    "statement, wide",
    [
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["ec2:DescribeInstances", "logs:PutLogEvents"], "Resource": ["*"]}, True),
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": "S3:GetObject", "Resource": "*"}, True),  # actions are case-insensitive
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": BUCKET_ARN}, True),
        ({"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}, False),
        ({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}, False),  # not "*" (kept precise)
    ],
)
def test_inline_policy_wildcards(data, statement, wide):
    data["iam"]["inline_policies"]["demo-node"].append(
        {"policy_name": "extra", "policy_document": {"Statement": [dict(statement, Sid="Extra")]}}
    )
    finding = by_id(audit_findings(data))["iam-no-wildcard-resource"]
    assert (finding["status"] == "fail") is wide
    if wide:
        assert finding["offenders"][0]["resource"] == "role demo-node policy extra"
        assert finding["offenders"][0]["rule"].startswith("statement Extra: ")


def test_inline_policy_document_as_a_json_string(data):
    data["iam"]["inline_policies"]["demo-node"] = [
        {
            "policy_name": "text",
            "policy_document": '{"Statement": {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}}',
        }
    ]
    offender = by_id(audit_findings(data))["iam-no-wildcard-resource"]["offenders"][0]
    assert offender["rule"] == 'statement 0: logs:* on Resource "*"'


def test_instances_outside_the_placement_group(data):
    data["instances"][1]["placement"]["group_name"] = ""
    assert by_id(audit_findings(data))["placement-group"]["offenders"] == [
        {"resource": "i-00000000000000001 (demo-node-1)", "rule": "in placement group '', not 'demo-cluster'"}
    ]
    data["instances"][1]["placement"]["group_name"] = "demo-cluster"
    data["placement_groups"] = []
    assert len(by_id(audit_findings(data))["placement-group"]["offenders"]) == 2


def test_no_placement_group_asked_for_checks_none(data):
    for instance in data["instances"]:
        instance["placement"]["group_name"] = ""
    data["placement_groups"] = []
    data.setdefault("settings", {})["placement_group_name"] = ""
    finding = by_id(audit_findings(data))["placement-group"]
    assert finding["status"] == "pass" and finding["checked"] == 0
    assert finding["detail"] == "no instances (no placement group asked for) to check"


def test_summary_counts_and_required_ports(data):
    summary = audit_summary(data)
    assert summary["findings"] == {"passed": 8, "failed": 0}
    assert summary["failed"] == []
    counts = summary["counts"]
    assert counts["vpcs"] == 1 and counts["subnets"] == 1 and counts["instances"] == 2
    assert counts["security_groups"] == 2 and counts["vpc_endpoints"] == 2 and counts["s3_buckets"] == 1
    assert counts["security_group_rules"] == 7 and counts["inline_policies"] == 1 and counts["parameters"] == 1
    ports = {(p["protocol"], p["port"]): p for p in summary["required_ports"]}
    assert all(p["allowed"] for p in ports.values()), ports
    assert ports[("tcp", 5000)]["rule"].startswith("ingress tcp 5000 from"), "the port's own rule comes first"
    assert ports[("tcp", 443)]["group"] == SG_ENDPOINTS, "interface endpoints need HTTPS from the cluster's group"
    assert summary["lines"][1] == "Findings: 8 passed, 0 failed"
    assert summary["lines"][-1] == "Required ports: 5 of 5 allowed"


def test_summary_names_missing_ports_and_failed_offenders(data):
    group = data["security_groups"][0]
    group["ip_permissions"] = [p for p in group["ip_permissions"] if p.get("from_port") != 8100]
    group["ip_permissions"].append(perm("tcp", (22, 22), cidrs=["0.0.0.0/0"]))
    summary = audit_summary(data)
    assert summary["findings"] == {"passed": 6, "failed": 2}
    assert summary["failed"] == [
        f"no-public-ingress: {SG} (demo-efa): ingress tcp 22 from 0.0.0.0/0 [d]",
        f"no-ssh: {SG} (demo-efa): ingress tcp 22 from 0.0.0.0/0 [d]",
    ]
    assert f"FAIL no-ssh: {SG} (demo-efa): ingress tcp 22 from 0.0.0.0/0 [d]" in summary["lines"]
    assert summary["lines"][-1] == "Required ports: 4 of 5 allowed (missing: tcp 8100)"


def test_findings_given_in_the_data_are_used(data):
    data["findings"] = [{"id": "x", "title": "t", "status": "fail", "checked": 1, "offenders": [], "detail": ""}]
    assert audit_summary(data)["findings"] == {"passed": 0, "failed": 1}


def test_text_dump_has_every_section_and_the_ids(data):
    data["security_groups"][0]["ip_permissions"].append(perm("tcp", (22, 22), cidrs=["0.0.0.0/0"]))
    text = audit_text(data)
    assert text.endswith("\n")
    sections = [
        "QUICK REFERENCE",
        "IAM CONFIGURATION",
        "VPC CONFIGURATION",
        "NETWORK COMPONENTS",
        "SECURITY GROUPS",
        "INSTANCES",
        "AMI DETAILS",
        "LAUNCH TEMPLATE",
        "PLACEMENT GROUP",
        "S3 BUCKET",
        "CAPACITY RESERVATION AND PARAMETER STORE",
        "EFS FILE SYSTEMS",
        "REQUIRED PORTS",
        "FINDINGS",
        "SUMMARY",
    ]
    positions = [text.index("\n" + s) for s in sections]
    assert positions == sorted(positions)
    for value in (VPC, SUBNET, SG, BUCKET, "lt-023be34164ea6cc53", "ami-0dca37ea5", "demo-cluster", "fs-0434ac0bb"):
        assert value in text
    assert "2026-11-25T20:58:04Z" in text
    assert "AmazonSSMManagedInstanceCore" in text and '"Sid": "WriteSsmLogs"' in text
    assert "IMDS:                      tokens required" in text
    assert "Launch template:           lt-023be34164ea6cc53:1" in text
    assert "10.0.0.0/16 -> local (active)" in text
    assert "/nixl-efa/demo/subnet-id = " + SUBNET in text
    assert "[FAIL] no-ssh" in text and f"{SG} (demo-efa): ingress tcp 22 from 0.0.0.0/0" in text
    assert "tcp 22 (SSH): not needed" in text


def test_empty_data_renders_without_errors():
    text = audit_text({"cluster": "none"})
    assert "No VPC found." in text and "No instance found" in text and "none (on demand)" in text
    assert all(f["status"] == "pass" and f["checked"] == 0 for f in audit_findings({}))
