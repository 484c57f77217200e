# -*- coding: utf-8 -*-
"""The iam_s3 role through ansible-playbook against the lab's local AWS.

Each test uses cluster names of its own, since the lab server is shared by the session. The
plays print ansible.posix.json output, whose `stats` give the changed count of a whole run
and whose task results carry the messages of failed checks.

moto does not evaluate IAM policies for the node role, so the policy checks here read the
documents back and check their shape (actions, resources, conditions), not their effect.
"""

import json
import uuid

import boto3
import pytest

from .role_plays import EC2_TRUST
from .role_plays import role_outputs
from .role_plays import role_play
from .role_plays import run_role_play as run_play

REGION = "us-east-2"
ACCOUNT = "123456789012"  # moto's default account
ROLE = "nixl_efa.cluster.iam_s3"
TAG = "nixl-efa:cluster"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"

OUTPUTS = role_outputs("iam_s3_result")


def cluster_name(label):
    return f"{label}-{uuid.uuid4().hex[:8]}"


def bucket_of(cluster):
    return f"nixl-efa-{cluster}-{REGION}-{ACCOUNT}"


def role_of(cluster):
    return f"{cluster}-{REGION}-node"


def client(url, service):
    return boto3.client(service, region_name=REGION, endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


@pytest.fixture
def lab(lab_aws):
    return {service: client(lab_aws, service) for service in ("s3", "iam", "kms")}


def play(url, *applications):
    return role_play(ROLE, REGION, url, OUTPUTS, *applications)


def statements(document):
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value):
    return value if isinstance(value, list) else [value]


def inventory(lab):
    return (
        sorted(b["Name"] for b in lab["s3"].list_buckets()["Buckets"]),
        sorted(r["RoleName"] for r in lab["iam"].list_roles()["Roles"]),
        sorted(p["InstanceProfileName"] for p in lab["iam"].list_instance_profiles()["InstanceProfiles"]),
    )


def test_present_twice_changes_once_and_builds_least_privilege(lab_aws, lab, tmp_path):
    cluster = cluster_name("main")
    bucket, role_name = bucket_of(cluster), role_of(cluster)
    role_vars = {"iam_s3_cluster_name": cluster, "iam_s3_tags": {"owner": "lab", TAG: "not-this-one"}}

    first = run_play(tmp_path, play(lab_aws, ("main", role_vars)))
    assert first.changed > 0
    second = run_play(tmp_path, play(lab_aws, ("main", role_vars)))
    assert second.changed == 0, second.changed_tasks

    assert second.outputs == {
        "iam_s3_result": {
            "bucket": bucket,
            "bucket_arn": f"arn:aws:s3:::{bucket}",
            "role_name": role_name,
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role_name}",
            "instance_profile_name": role_name,
            "instance_profile_arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{role_name}",
        }
    }

    s3, iam = lab["s3"], lab["iam"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in encryption] == ["AES256"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    transfer = rules["nixl-efa-expire-ssm-transfers"]
    assert transfer["Filter"] == {"Prefix": "i-"} and transfer["Expiration"] == {"Days": 1}
    assert transfer["Status"] == "Enabled"
    multipart = rules["nixl-efa-abort-incomplete-multipart-uploads"]
    assert multipart["Filter"].get("Prefix", "") == "" and multipart["Status"] == "Enabled"
    assert multipart["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    (deny,) = statements(json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]))
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags == {TAG: cluster, "owner": "lab"}

    role = iam.get_role(RoleName=role_name)["Role"]
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {TAG: cluster, "owner": "lab"}
    (trust,) = statements(role["AssumeRolePolicyDocument"])
    assert (trust["Effect"], trust["Principal"], trust["Action"]) == (
        "Allow", {"Service": "ec2.amazonaws.com"}, "sts:AssumeRole"
    )  # fmt: skip
    assert "Condition" not in trust
    attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [SSM_CORE]
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["nixl-efa-node-access"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName="nixl-efa-node-access")["PolicyDocument"]
    granted = {}
    for statement in statements(document):
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        for action in as_list(statement["Action"]):
            assert "*" not in action, action
            granted.setdefault(action, []).extend(as_list(statement["Resource"]))
        assert "*" not in as_list(statement["Resource"])
    bucket_arn = f"arn:aws:s3:::{bucket}"
    ssm_logs = f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/ssm/*"
    assert granted == {
        "s3:ListBucket": [bucket_arn],
        "s3:GetObject": [f"{bucket_arn}/scripts/*", f"{bucket_arn}/mlflow-artifacts/*"],
        "s3:PutObject": [f"{bucket_arn}/mlflow-artifacts/*"],
        "s3:DeleteObject": [f"{bucket_arn}/mlflow-artifacts/*"],
        "s3:GetEncryptionConfiguration": [bucket_arn],
        **dict.fromkeys(
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
            [ssm_logs, f"{ssm_logs}:log-stream:*"],
        ),
        # Not limited to /aws/ssm/* because the action names no log group (see vars/main.yml).
        "logs:DescribeLogGroups": [f"arn:aws:logs:*:{ACCOUNT}:log-group:*"],
    }  # fmt: skip
    (listing,) = [s for s in statements(document) if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["scripts/*", "mlflow-artifacts/*"]}}

    profile = iam.get_instance_profile(InstanceProfileName=role_name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [role_name]
    assert {t["Key"]: t["Value"] for t in profile.get("Tags", [])} == {TAG: cluster, "owner": "lab"}


@pytest.mark.parametrize(
    ("role_vars", "message"),
    [
        ({"iam_s3_cluster_name": "Bad_Name"},
         "iam_s3_cluster_name must be 1 to 32 lowercase letters, digits and hyphens, starting with a letter "
         "(it becomes part of the bucket and role names) (got 'Bad_Name')."),
        ({"iam_s3_transfer_expiration_days": 0},
         "iam_s3_transfer_expiration_days must be a whole number of days, 1 or more (got 0)."),
        ({"iam_s3_scripts_prefix": "scripts"}, "iam_s3_scripts_prefix 'scripts' is not valid: a key prefix must end"),
        ({"iam_s3_mlflow_prefix": "/mlflow/"}, "must not start with '/'"),
        ({"iam_s3_transfer_prefix": "scripts/"}, "is the start of another prefix"),
        ({"iam_s3_bucket_name": "b" * 64}, f"Bucket name '{'b' * 64}' (64 characters) is not valid"),
        ({"iam_s3_kms_key_id": "alias/lab"}, "must be a key ARN"),
    ],
    ids=["cluster-name", "expiration-days", "prefix-slash", "prefix-leading-slash", "prefix-overlap", "bucket-too-long",
         "kms-alias"],
)  # fmt: skip
def test_bad_input_fails_clearly_and_creates_nothing(lab_aws, lab, tmp_path, role_vars, message):
    role_vars = {"iam_s3_cluster_name": cluster_name("bad"), **role_vars}
    before = inventory(lab)
    run = run_play(tmp_path, play(lab_aws, ("main", role_vars)), expect_rc=2)
    assert any(message in failure for failure in run.failures), run.failures
    assert "abort_incomplete" not in " ".join(run.failures), run.failures  # only the rule that failed
    assert inventory(lab) == before


def test_kms_lab_mode_then_absent_deletes_only_this_clusters_resources(lab_aws, lab, tmp_path):
    s3, iam = lab["s3"], lab["iam"]
    ours, nobody, other = cluster_name("ours"), cluster_name("nobody"), cluster_name("other")
    bucket, role_name = bucket_of(ours), role_of(ours)
    key = lab["kms"].create_key(Description="lab bucket key")["KeyMetadata"]["Arn"]
    # This cluster's role exists already (an earlier run), with an inline policy the role must not keep.
    iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=EC2_TRUST, Tags=[{"Key": TAG, "Value": ours}])
    iam.put_role_policy(RoleName=role_name, PolicyName="everything", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))  # fmt: skip

    # The lab's S3 speaks plain HTTP, so the TLS-only bucket policy would refuse the objects below.
    role_vars = {"iam_s3_cluster_name": ours, "iam_s3_kms_key_id": key, "iam_s3_require_tls": False}
    present = run_play(tmp_path, play(lab_aws, ("main", role_vars)))
    removed = "Remove inline policies this role did not set"
    assert any(name.startswith(removed) for name in present.changed_tasks), present.changed_tasks
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules == [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                      "BucketKeyEnabled": True}]  # fmt: skip
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=bucket)
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["nixl-efa-node-access"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName="nixl-efa-node-access")["PolicyDocument"]
    kms = [s for s in statements(document) if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert [(sorted(s["Action"]), s["Resource"]) for s in kms] == [(["kms:Decrypt", "kms:GenerateDataKey"], key)]
    for name in ("scripts/setup.sh", "mlflow-artifacts/1/model.bin", "i-0123456789abcdef0/tmp/AnsiballZ_x.py"):
        s3.put_object(Bucket=bucket, Key=name, Body=b"data")

    # Same naming pattern, but untagged (nobody's) or tagged for another cluster.
    for cluster, tags in ((nobody, []), (other, [{"Key": TAG, "Value": "someone-else"}])):
        s3.create_bucket(Bucket=bucket_of(cluster), CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=bucket_of(cluster), Key="keep.txt", Body=b"keep")
        if tags:
            s3.put_bucket_tagging(Bucket=bucket_of(cluster), Tagging={"TagSet": tags})
        iam.create_role(RoleName=role_of(cluster), AssumeRolePolicyDocument=EC2_TRUST, Tags=tags)
        iam.create_instance_profile(InstanceProfileName=role_of(cluster), Tags=tags)
        iam.add_role_to_instance_profile(InstanceProfileName=role_of(cluster), RoleName=role_of(cluster))

    teardown = play(lab_aws, *(("absent", {"iam_s3_cluster_name": c}) for c in (nobody, other, ours)))
    first = run_play(tmp_path, teardown)
    assert sorted(first.changed_tasks) == [
        "Delete the bucket and every object in it",
        "Delete the instance profile",
        "Delete the role, its inline policy and managed policy attachment",
    ]
    assert first.changed == 3
    left = " ".join(first.messages("Leave "))
    for cluster in (nobody, other):
        assert f"Bucket {bucket_of(cluster)} left alone" in left
        assert f"Role {role_of(cluster)} left alone" in left
        assert f"Instance profile {role_of(cluster)} left alone" in left
    assert "tag is missing" in left and "tag is 'someone-else'" in left

    second = run_play(tmp_path, play(lab_aws, ("absent", {"iam_s3_cluster_name": ours})))
    assert second.changed == 0, second.changed_tasks

    buckets, roles, profiles = inventory(lab)
    assert bucket not in buckets and role_name not in roles and role_name not in profiles
    for cluster in (nobody, other):
        assert bucket_of(cluster) in buckets and role_of(cluster) in roles and role_of(cluster) in profiles
        assert s3.get_object(Bucket=bucket_of(cluster), Key="keep.txt")["Body"].read() == b"keep"
