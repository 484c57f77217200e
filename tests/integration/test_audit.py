# -*- coding: utf-8 -*-
"""playbooks/audit.yml against the lab's local AWS: a read-only dump of a provisioned cluster.

One private cluster is provisioned as test_provision.py does it (playbooks/provision.yml, the
lab's variables), with an encrypted EFS file system tagged for it. The audit runs as users run it
and must list what provisioning made, pass every finding, change nothing and make only Describe,
Get and List calls (the lab's call ledger, GET /lab/calls). Then a rule opening port 22 to
0.0.0.0/0 is added with boto3: the audit reports the failing findings and, with
audit_fail_on_findings=true, fails naming the group and the rule (run in check mode).
The cluster is left in the lab (it is tagged with its own name, which no other test uses).
"""

import datetime
import json
import re
import urllib.request

import boto3
import pytest

from .test_provision import REGION
from .test_provision import TAG
from .test_provision import clients
from .test_provision import lab_vars

CLUSTER = "audited"
FINDINGS = [
    "no-public-ingress",
    "no-ssh",
    "imdsv2-required",
    "s3-encryption",
    "s3-public-access-block",
    "efs-encrypted",
    "iam-no-wildcard-resource",
    "placement-group",
]
READ_ONLY_PREFIXES = ("Describe", "Get", "List")
READ_ONLY_S3 = ("s3:GET", "s3:HEAD")


def lab_calls(url, reset=False):
    """The lab's call ledger by "<service>:<Action>"; reset=True starts it again from zero."""
    request = urllib.request.Request(f"{url}/lab/calls", data=b"" if reset else None, method="POST" if reset else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def writes(calls):
    """The calls that are not describe/get/list."""
    return {
        key: count
        for key, count in calls["by_action"].items()
        if key not in READ_ONLY_S3 and not key.split(":", 1)[1].startswith(READ_ONLY_PREFIXES)
    }


def utc_dates():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")


def run_audit(lab_aws, ansible_playbook, audit_dir, check=False, expect_rc=0, **extra):
    """One audit run; its recap, output, the lab's calls, the files it wrote and their JSON."""
    lab_calls(lab_aws, reset=True)
    before = utc_dates()
    run = ansible_playbook(
        "playbooks/audit.yml", lab_aws, lab_vars(CLUSTER, audit_dir=str(audit_dir), **extra), check, expect_rc
    )
    dates = {before, utc_dates()}
    files = sorted(p.name for p in audit_dir.iterdir())
    report = json.loads(next(audit_dir.glob("*.json")).read_text())
    text = next(audit_dir.glob("*.txt")).read_text()
    return {"run": run, "calls": lab_calls(lab_aws), "dates": dates, "files": files, "json": report, "text": text}


@pytest.fixture(scope="module")
def cluster(lab_aws, ansible_playbook, tmp_path_factory):
    """A private on-demand cluster, provisioned once, with an encrypted EFS file system tagged for it."""
    outputs = tmp_path_factory.mktemp("audit-cluster") / "outputs.json"
    extra = lab_vars(CLUSTER, cluster_private=True, provision_outputs_file=str(outputs))
    ansible_playbook("playbooks/provision.yml", lab_aws, extra)
    out = json.loads(outputs.read_text())
    aws = clients(lab_aws)
    efs = boto3.client(
        "efs", endpoint_url=lab_aws, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    fs = efs.create_file_system(
        CreationToken=f"{CLUSTER}-shared", Encrypted=True,
        Tags=[{"Key": TAG, "Value": CLUSTER}, {"Key": "Name", "Value": f"{CLUSTER}-shared"}],
    )  # fmt: skip
    efs.create_mount_target(
        FileSystemId=fs["FileSystemId"], SubnetId=out["subnet_id"], SecurityGroups=[out["security_group_id"]]
    )
    return {"out": out, "aws": aws, "efs_id": fs["FileSystemId"]}


@pytest.fixture(scope="module")
def secure(lab_aws, ansible_playbook, cluster, tmp_path_factory):
    return run_audit(lab_aws, ansible_playbook, tmp_path_factory.mktemp("audit-secure"))


def test_audit_writes_dated_text_and_json(secure):
    names = secure["files"]
    assert len(names) == 2, names
    pattern = re.compile(rf"^{CLUSTER}_aws_config_dump_(\d{{8}})T\d{{6}}Z\.(json|txt)$")
    matches = [pattern.match(n) for n in names]
    assert all(matches), names
    assert {m.group(2) for m in matches} == {"json", "txt"}
    assert {m.group(1) for m in matches} <= secure["dates"], "the file names carry today's UTC date"
    assert names[0].rsplit(".", 1)[0] == names[1].rsplit(".", 1)[0], "both files share one time stamp"


def test_audit_json_lists_what_provisioning_made(secure, cluster):
    out, data = cluster["out"], secure["json"]
    assert data["cluster"] == CLUSTER and data["region"] == REGION
    net = data["network"]
    assert [v["vpc_id"] for v in net["vpcs"]] == [out["vpc_id"]]
    # The nodes' private subnet, and the public one of the NAT gateway (the shipped default).
    (nat,) = net["nat_gateways"]
    assert nat["nat_gateway_id"] == out["nat_gateway_id"]
    assert {s["subnet_id"] for s in net["subnets"]} == {out["subnet_id"], nat["subnet_id"]}
    assert {s["cidr_block"] for s in net["subnets"]} == {"10.0.200.0/24", "10.0.201.0/24"}
    assert {e["vpc_endpoint_id"] for e in net["vpc_endpoints"]} == set(out["endpoint_ids"])
    assert len(net["internet_gateways"]) == 1, "the NAT gateway's way out, the nodes have no public address"
    assert out["subnet_id"] in {a.get("subnet_id") for t in net["route_tables"] for a in t["associations"]}
    groups = {g["group_id"]: g for g in data["security_groups"]}
    assert out["security_group_id"] in groups
    assert {g["group_name"] for g in groups.values()} == {f"{CLUSTER}-efa", f"{CLUSTER}-ssm-endpoints"}
    assert {i["instance_id"] for i in data["instances"]} == {n["instance_id"] for n in out["nodes"]}
    assert {i["metadata_options"]["http_tokens"] for i in data["instances"]} == {"required"}
    assert [b["name"] for b in data["s3_buckets"]] == [out["bucket"]]
    assert [r["role_name"] for r in data["iam"]["roles"]] == [f"{CLUSTER}-{REGION}-node"]
    assert [p["instance_profile_name"] for p in data["iam"]["instance_profiles"]] == [out["instance_profile"]]
    assert list(data["iam"]["inline_policies"]) == [f"{CLUSTER}-{REGION}-node"]
    assert [t["launch_template_id"] for t in data["launch_templates"]] == [out["launch_template_id"]]
    assert [p["name"] for p in data["placement_groups"]] == [out["placement_group"]]
    assert {a["image_id"] for a in data["amis"]} == {i["image_id"] for i in data["instances"]}
    assert [f["file_system_id"] for f in data["efs_file_systems"]] == [cluster["efs_id"]]
    assert len(data["efs_file_systems"][0]["mount_targets"]) == 1
    assert data["capacity_reservations"] == [] and data["parameters"] == {}
    counts = data["summary"]["counts"]
    assert counts["instances"] == 2 and counts["vpc_endpoints"] == 4 and counts["security_groups"] == 2
    assert all(p["allowed"] for p in data["summary"]["required_ports"]), data["summary"]["required_ports"]


def test_secure_defaults_pass_every_finding(secure):
    findings = secure["json"]["findings"]
    assert [f["id"] for f in findings] == FINDINGS
    assert [f["id"] for f in findings if f["status"] != "pass"] == [], findings
    assert all(f["checked"] > 0 for f in findings), "every check had something to look at"
    assert "Findings: 8 passed, 0 failed" in secure["run"].stdout


def test_text_dump_is_sectioned_with_a_quick_reference(secure, cluster):
    text, out = secure["text"], cluster["out"]
    for section in ("QUICK REFERENCE", "IAM CONFIGURATION", "VPC CONFIGURATION", "NETWORK COMPONENTS",
                    "SECURITY GROUPS", "INSTANCES", "AMI DETAILS", "LAUNCH TEMPLATE", "PLACEMENT GROUP",
                    "S3 BUCKET", "CAPACITY RESERVATION AND PARAMETER STORE", "EFS FILE SYSTEMS",
                    "REQUIRED PORTS", "FINDINGS"):  # fmt: skip
        assert f"\n{section}" in text, section
    quick = text.split("\nQUICK REFERENCE", 1)[1].split("\nIAM CONFIGURATION", 1)[0]
    for value in (out["vpc_id"], out["subnet_id"], out["security_group_id"], out["bucket"], out["placement_group"],
                  out["launch_template_id"], out["instance_profile"], cluster["efs_id"]):  # fmt: skip
        assert value in quick, value
    assert "AmazonSSMManagedInstanceCore" in text and '"Sid": "WriteSsmLogs"' in text


def test_audit_changes_nothing_and_only_reads(secure):
    assert secure["run"].recap["changed"] == 0, secure["run"].changed_tasks()
    calls = secure["calls"]
    assert calls["total"] >= 25, calls
    assert writes(calls) == {}, calls
    for read in (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeInstances",
        "iam:GetRolePolicy",
        "efs:DescribeMountTargets",
    ):
        assert read in calls["by_action"], read


def test_ssh_from_anywhere_fails_the_audit_naming_group_and_rule(lab_aws, ansible_playbook, cluster, tmp_path):
    ec2, group = cluster["aws"]["ec2"], cluster["out"]["security_group_id"]
    permission = {
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ssh from anywhere"}],
    }  # fmt: skip
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[permission])
    try:
        failing = run_audit(lab_aws, ansible_playbook, tmp_path, check=True, expect_rc=2, audit_fail_on_findings=True)
    finally:
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[permission])
    rule = f"{group} ({CLUSTER}-efa): ingress tcp 22 from 0.0.0.0/0 [ssh from anywhere]"
    findings = {f["id"]: f for f in failing["json"]["findings"]}
    assert [i for i, f in findings.items() if f["status"] == "fail"] == ["no-public-ingress", "no-ssh"]
    for finding in ("no-public-ingress", "no-ssh"):
        assert findings[finding]["offenders"] == [
            {"resource": f"{group} ({CLUSTER}-efa)", "rule": "ingress tcp 22 from 0.0.0.0/0 [ssh from anywhere]"}
        ]
        assert f"[FAIL] {finding}" in failing["text"]
    output = " ".join(failing["run"].stdout.split())  # the YAML callback folds long lines
    assert "Fail on failed findings" in output
    assert f"2 finding(s) failed for cluster {CLUSTER}: no-public-ingress: {rule}; no-ssh: {rule}" in output
    assert failing["run"].recap["changed"] == 0 and failing["run"].recap["failed"] == 1
    assert writes(failing["calls"]) == {}, failing["calls"]
