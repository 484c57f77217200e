# -*- coding: utf-8 -*-
"""Ownership before change, on the lab: a resource of the cluster's name that is not the cluster's.

For the IAM role, the instance profile, the bucket (iam_s3 role), the security groups, subnet and
placement group in a reused VPC (network role) and the launch template (instances role and
efa_launch_template): one made first with boto3, untagged or tagged for another cluster, makes the
run fail naming it and the tag found, and is left exactly as it was (rules, policies, tags,
versions, objects); teardown leaves it alone. Then one cluster name in two regions: two buckets and
two roles, and the teardown of one region leaves the other's.

Roles run as localhost plays (role_plays.py), each test with cluster names of its own.
"""

import json
import uuid

import boto3

from .role_plays import EC2_TRUST
from .role_plays import role_outputs
from .role_plays import role_play
from .role_plays import run_role_play

REGION = "us-east-2"
ACCOUNT = "123456789012"  # moto's default account
TAG = "nixl-efa:cluster"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
# The two ownership cases: no tag at all, and the tag of another cluster.
CASES = {"untagged": [], "other": [{"Key": TAG, "Value": "someone-else"}]}
FOUND = {"untagged": f"has no {TAG} tag", "other": f"is tagged {TAG}=someone-else"}


def cluster_name(label):
    return f"own-{label}-{uuid.uuid4().hex[:6]}"


def clients(url, region, *services):
    return {
        service: boto3.client(service, region_name=region, endpoint_url=url,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        for service in services
    }  # fmt: skip


def tag_dict(tags):
    return {t["Key"]: t["Value"] for t in tags or []}


def refusal_play(role, url, clusters):
    """Per cluster: the role's teardown (which must leave the look-alikes alone), then its main entry
    point (which must refuse), in a block whose rescue notes the refusal, so one run covers them all."""
    play = role_play(role, REGION, url, role_outputs())
    play[0]["tasks"][:-1] = [{
        "name": f"Cluster {cluster}",
        "block": [{"name": f"Apply {role} ({entry})",
                   "ansible.builtin.include_role": {"name": role, "tasks_from": entry},
                   "vars": role_vars} for entry in ("absent", "main")],
        "rescue": [{"name": f"Refused {cluster}", "ansible.builtin.debug": {"msg": cluster}}],
    } for cluster, role_vars in clusters.items()]  # fmt: skip
    return play


def the_failure(run, prefix):
    """The one refusal of the run (its message starts with `prefix`)."""
    found = [failure for failure in run.failures if prefix in failure]
    assert len(found) == 1, run.failures
    return found[0]


# --- iam_s3: role, instance profile, bucket -------------------------------------------------


def iam_snapshot(aws, role, bucket):
    """Everything the iam_s3 role would change on these three, read back with boto3."""
    iam, s3 = aws["iam"], aws["s3"]
    got = iam.get_role(RoleName=role)["Role"]
    profile = iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]
    return {
        "trust": got["AssumeRolePolicyDocument"],
        "description": got.get("Description"),
        "role_tags": tag_dict(got.get("Tags")),
        "attached": [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]],
        "inline": {
            name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        },
        "profile_tags": tag_dict(profile.get("Tags")),
        "profile_roles": [r["RoleName"] for r in profile["Roles"]],
        "bucket_tags": tag_dict(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) if bucket_tagged(s3, bucket) else {},
        "objects": {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])},
        "lifecycle": lifecycle(s3, bucket),
        "policy": bucket_policy(s3, bucket),
    }


def bucket_tagged(s3, bucket):
    try:
        s3.get_bucket_tagging(Bucket=bucket)
    except s3.exceptions.ClientError:
        return False
    return True


def lifecycle(s3, bucket):
    try:
        return s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except s3.exceptions.ClientError:
        return None


def bucket_policy(s3, bucket):
    try:
        return s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except s3.exceptions.ClientError:
        return None


def test_iam_s3_refuses_a_role_profile_and_bucket_that_are_not_the_clusters(lab_aws, tmp_path):
    aws = clients(lab_aws, REGION, "iam", "s3")
    clusters = {case: cluster_name(f"iam-{case}") for case in CASES}
    names, before = {}, {}
    for case, cluster in clusters.items():
        role, bucket = f"{cluster}-{REGION}-node", f"nixl-efa-{cluster}-{REGION}-{ACCOUNT}"
        names[case], tags = (role, bucket), CASES[case]
        aws["iam"].create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST, Description="theirs", Tags=tags)
        aws["iam"].put_role_policy(RoleName=role, PolicyName="their-policy", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))  # fmt: skip
        aws["iam"].create_instance_profile(InstanceProfileName=role, Tags=tags)
        aws["iam"].add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
        aws["s3"].create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        aws["s3"].put_object(Bucket=bucket, Key="theirs.txt", Body=b"keep me")
        if tags:
            aws["s3"].put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
        before[case] = iam_snapshot(aws, role, bucket)

    play = refusal_play("nixl_efa.cluster.iam_s3", lab_aws, {c: {"iam_s3_cluster_name": c} for c in clusters.values()})
    run = run_role_play(tmp_path, play)

    assert run.messages("Refused ") == list(clusters.values()), run.failures
    left = " ".join(run.messages("Leave "))
    for case, cluster in clusters.items():
        role, bucket = names[case]
        assert f"Bucket {bucket} left alone" in left and f"Role {role} left alone" in left
        assert f"Instance profile {role} left alone" in left
        refusal = the_failure(run, f"S3 bucket {bucket} exists and")
        for kind, name in (("S3 bucket", bucket), ("IAM role", role), ("IAM instance profile", role)):
            assert f"{kind} {name} exists and {FOUND[case]}" in refusal, refusal
        assert "Nothing was changed" in refusal and f"tag it {TAG}={cluster}" in refusal
        assert iam_snapshot(aws, role, bucket) == before[case]
        assert before[case]["attached"] == [] and list(before[case]["inline"]) == ["their-policy"]
    assert run.changed == 0, run.changed_tasks


# --- network: security groups, subnet and placement group in a reused VPC ----------------------


def network_snapshot(ec2, vpc_id, placement_group):
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    groups_found = ec2.describe_placement_groups(GroupNames=[placement_group])["PlacementGroups"]
    return {
        "groups": {
            g["GroupId"]: (g["GroupName"], tag_dict(g.get("Tags")), g["IpPermissions"], g["IpPermissionsEgress"])
            for g in groups
        },
        "subnets": {
            s["SubnetId"]: (s["CidrBlock"], tag_dict(s.get("Tags")), s["MapPublicIpOnLaunch"]) for s in subnets
        },
        "placement_groups": [(p["GroupName"], p["Strategy"], tag_dict(p.get("Tags"))) for p in groups_found],
        "route_tables": sorted(
            t["RouteTableId"]
            for t in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
        ),
        "endpoints": ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"],
    }


def test_network_refuses_groups_subnet_and_placement_group_of_a_reused_vpc(lab_aws, tmp_path):
    ec2 = clients(lab_aws, REGION, "ec2")["ec2"]
    clusters = {case: cluster_name(f"net-{case}") for case in CASES}
    made, before = {}, {}
    for case, cluster in clusters.items():
        tags = CASES[case]

        def spec(kind, tags=tags):
            return [{"ResourceType": kind, "Tags": tags}] if tags else []

        vpc_id = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
        groups = {}
        for name in (f"{cluster}-efa", f"{cluster}-ssm-endpoints"):
            groups[name] = ec2.create_security_group(
                GroupName=name, Description="theirs", VpcId=vpc_id, TagSpecifications=spec("security-group")
            )["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=groups[name], IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443,
                "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])  # fmt: skip
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.77.200.0/24", TagSpecifications=spec("subnet"))
        ec2.create_placement_group(
            GroupName=f"{cluster}-cluster", Strategy="spread", TagSpecifications=spec("placement-group")
        )
        made[case] = (vpc_id, groups, subnet["Subnet"]["SubnetId"])
        before[case] = network_snapshot(ec2, vpc_id, f"{cluster}-cluster")

    play = refusal_play("nixl_efa.cluster.network", lab_aws, {
        cluster: {"network_cluster_name": cluster, "network_vpc_id": made[case][0], "network_private": True}
        for case, cluster in clusters.items()})  # fmt: skip
    run = run_role_play(tmp_path, play)

    assert run.messages("Refused ") == list(clusters.values()), run.failures
    for case, cluster in clusters.items():
        vpc_id, groups, subnet = made[case]
        refusal = the_failure(run, f"in {vpc_id}) exists and")
        for name, group_id in groups.items():
            assert f"Security group {name} ({group_id}, in {vpc_id}) exists and {FOUND[case]}" in refusal, refusal
        assert f"Subnet 10.77.200.0/24 ({subnet}, in {vpc_id}) exists and {FOUND[case]}" in refusal
        assert f"Placement group {cluster}-cluster exists and {FOUND[case]}" in refusal
        assert "Nothing was changed" in refusal and f"tag it {TAG}={cluster}" in refusal
        # Rules, tags, the subnet's settings, the placement group: as they were, and nothing added.
        assert network_snapshot(ec2, vpc_id, f"{cluster}-cluster") == before[case]
    assert run.changed == 0, run.changed_tasks


# --- instances: the launch template ---------------------------------------------------------


def test_launch_template_of_another_owner_is_refused_and_left_alone(lab_aws, tmp_path):
    ec2 = clients(lab_aws, REGION, "ec2")["ec2"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    clusters = {case: cluster_name(f"lt-{case}") for case in CASES}
    made = {}
    for case, cluster in clusters.items():
        spec = [{"ResourceType": "launch-template", "Tags": CASES[case]}] if CASES[case] else []
        made[case] = ec2.create_launch_template(
            LaunchTemplateName=f"{cluster}-nodes", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"},
            TagSpecifications=spec,
        )["LaunchTemplate"]["LaunchTemplateId"]  # fmt: skip

    def template_state():
        found = ec2.describe_launch_templates(LaunchTemplateIds=list(made.values()))["LaunchTemplates"]
        versions = {
            t: [(v["VersionNumber"], v["LaunchTemplateData"]) for v in
                ec2.describe_launch_template_versions(LaunchTemplateId=t)["LaunchTemplateVersions"]]
            for t in made.values()
        }  # fmt: skip
        return {t["LaunchTemplateId"]: (t["DefaultVersionNumber"], t["LatestVersionNumber"], tag_dict(t.get("Tags")))
                for t in found}, versions  # fmt: skip

    before = template_state()
    play = role_play(
        "nixl_efa.cluster.instances", REGION, lab_aws, role_outputs(),
        *(("absent", {"instances_cluster_name": cluster}) for cluster in clusters.values()),
    )  # fmt: skip
    # Then the module as the instances role calls it: each must refuse (both run, errors ignored).
    for cluster in clusters.values():
        play[0]["tasks"].insert(-1, {
            "name": f"Launch template of {cluster}",
            "nixl_efa.cluster.efa_launch_template": {
                "name": f"{cluster}-nodes", "instance_type": "t3.micro", "image_id": image, "subnet_id": "subnet-0abc",
                "security_group_ids": ["sg-0abc"], "efa_interfaces": "none",
                "tags": {TAG: cluster}, "owner_tags": {TAG: cluster}},
            "ignore_errors": True,
        })  # fmt: skip
    run = run_role_play(tmp_path, play)

    left = " ".join(run.messages("Leave a launch template"))
    for case, cluster in clusters.items():
        assert f"Launch template {cluster}-nodes ({made[case]}) left alone" in left, left
        refusal = the_failure(run, f"Launch template {cluster}-nodes ({made[case]}) exists and {FOUND[case]}")
        assert "Nothing was changed" in refusal and f"tag it {TAG}={cluster}" in refusal
    assert len(run.failures) == 2 and run.changed == 0, (run.failures, run.changed_tasks)
    assert template_state() == before


# --- one cluster name in two regions ---------------------------------------------------------


def test_one_cluster_name_in_two_regions_has_two_buckets_and_roles(lab_aws, tmp_path):
    cluster = cluster_name("regions")
    regions = ("us-east-1", "us-west-2")
    outputs = role_outputs("iam_s3_result")
    role_vars = {"iam_s3_cluster_name": cluster, "iam_s3_require_tls": False}
    east, west = regions
    names = {region: (f"nixl-efa-{cluster}-{region}-{ACCOUNT}", f"{cluster}-{region}-node") for region in regions}
    # One run: the role in each region (an object put into each bucket), then the teardown in us-east-1 only.
    role = "nixl_efa.cluster.iam_s3"
    plays = [play for region in regions for play in role_play(role, region, lab_aws, outputs, ("main", role_vars))]
    for play, region in zip(plays, regions):
        play["tasks"].insert(-1, {"name": f"An object in the {region} bucket", "amazon.aws.s3_object": {
            "bucket": names[region][0], "object": "mlflow-artifacts/run.txt",
            "content": region, "mode": "put"}})  # fmt: skip
    plays += role_play(role, east, lab_aws, outputs, ("absent", {"iam_s3_cluster_name": cluster}))
    run = run_role_play(tmp_path, plays)
    assert run.outputs["iam_s3_result"]["bucket"] == names[east][0], "the first play's outputs: the us-east-1 bucket"
    deleted = [name for name in run.changed_tasks if name.startswith("Delete ")]
    assert sorted(deleted) == [
        "Delete the bucket and every object in it",
        "Delete the instance profile",
        "Delete the role, its inline policy and managed policy attachment",
    ]

    aws = {region: clients(lab_aws, region, "iam", "s3") for region in regions}
    s3, iam = aws[west]["s3"], aws[west]["iam"]
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    profiles = {p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]}
    assert names[east][0] not in buckets and names[east][1] not in roles and names[east][1] not in profiles
    bucket, role = names[west]
    assert bucket in buckets and role in roles and role in profiles
    assert s3.get_object(Bucket=bucket, Key="mlflow-artifacts/run.txt")["Body"].read() == west.encode()
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == west
    assert tag_dict(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == {TAG: cluster}
    assert tag_dict(iam.get_role(RoleName=role)["Role"]["Tags"]) == {TAG: cluster}
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]] == [SSM_CORE]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["nixl-efa-node-access"]
    assert [r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]["Roles"]] == [
        role
    ]
