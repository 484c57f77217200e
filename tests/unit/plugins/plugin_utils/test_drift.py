# -*- coding: utf-8 -*-
"""The drift filter: [] only when the write module would change nothing in the resource as read.

The reads are shaped as amazon.aws's info modules return them (snake_case, tags as a dict, or as a list
of key/value pairs for VPC endpoints), taken from the lab's answers for a provisioned cluster.
"""

import copy
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.filter.drift import FilterModule
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.drift import DriftError
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.drift import drift
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.drift import tag_drift

OWNER = "123456789012"
VPC = "vpc-0b28317aa3628187"
TAGS = {"nixl-efa:cluster": "demo"}


def named(name):
    return dict(TAGS, Name=name)


def changed(params, **changes):
    """params with some values changed (built at run time, so pylint does not count a keyword twice)."""
    result = dict(params)
    result.update(changes)
    return result


# --- tags ------------------------------------------------------------------------------------------


def test_tags_equal_purged_or_merged():
    assert tag_drift({"a": "1"}, {"a": "1"}) == []
    assert tag_drift([{"Key": "a", "Value": "1"}], {"a": 1}) == [], "values compare as text, lists as dicts"
    assert tag_drift({"a": "1", "b": "2"}, {"a": "1"}) == ["tags: remove b"]
    assert tag_drift({"a": "1", "b": "2"}, {"a": "1"}, purge=False) == []
    assert tag_drift({"a": "2"}, {"a": "1"}) == ["tags: a='1' (now '2')"]
    assert tag_drift({}, {"a": "1"}) == ["tags: add a='1'"]


def test_aws_tags_stay_on_ec2_and_iam_but_not_on_s3():
    assert tag_drift({"aws:cloudformation:stack-name": "x", "a": "1"}, {"a": "1"}) == []
    assert tag_drift({"aws:cloudformation:stack-name": "x", "a": "1"}, {"a": "1"}, keep_aws=False) == [
        "tags: remove aws:cloudformation:stack-name"
    ]


def test_no_tags_wanted_changes_none_and_unread_tags_are_a_difference():
    assert tag_drift({"a": "1"}, None) == []
    assert tag_drift(None, {"a": "1"}) == ["tags: not read"]


# --- the filter and its guard rails ----------------------------------------------------------------


def test_filter_is_drift_and_its_errors_are_filter_errors():
    wrapped = FilterModule().filters()["drift"]
    assert wrapped([], "amazon.aws.ec2_placement_group", name="pg") == ["placement group pg: none found"]
    with pytest.raises(AnsibleFilterError, match="does not know the module amazon.aws.ec2_vpc"):
        wrapped([], "amazon.aws.ec2_vpc", name="x")


def test_an_unknown_parameter_is_an_error_not_a_difference():
    with pytest.raises(DriftError, match="ec2_placement_group does not know the parameter.s. partition_count"):
        drift([], "amazon.aws.ec2_placement_group", name="pg", partition_count=2)


def test_a_missing_required_parameter_and_state_absent_are_errors():
    with pytest.raises(DriftError, match="needs the parameter.s. cidr"):
        drift([], "amazon.aws.ec2_vpc_subnet", vpc_id=VPC)
    with pytest.raises(DriftError, match="state=present only"):
        drift([], "amazon.aws.ec2_placement_group", name="pg", state="absent")


# --- VPC -------------------------------------------------------------------------------------------


def vpc(**changes):
    found = {
        "id": VPC,
        "vpc_id": VPC,
        "cidr_block": "10.0.0.0/16",
        "state": "available",
        "cidr_block_association_set": [{"cidr_block": "10.0.0.0/16", "cidr_block_state": {"state": "associated"}}],
        "enable_dns_support": True,
        "enable_dns_hostnames": True,
        "tags": named("demo"),
    }
    found.update(changes)
    return found


VPC_PARAMS = dict(name="demo", cidr_block="10.0.0.0/16", dns_support=True, dns_hostnames=True, tags=TAGS)


def test_vpc_as_created_is_unchanged():
    assert drift([vpc()], "amazon.aws.ec2_vpc_net", **VPC_PARAMS) == []


@pytest.mark.parametrize(
    ("found", "difference"),
    [
        ([], "VPC demo 10.0.0.0/16: none found"),
        ([vpc(), vpc(id="vpc-2")], "VPC demo 10.0.0.0/16: 2 found, the module wants one"),
        ([vpc(enable_dns_hostnames=False)], "enable_dns_hostnames False"),
        ([vpc(state="pending")], "state pending"),
        ([vpc(tags=dict(named("demo"), extra="x"))], "tags: remove extra"),
        ([vpc(tags=TAGS)], "VPC demo 10.0.0.0/16: none found"),
    ],
)
def test_vpc_differences(found, difference):
    assert difference in drift(found, "amazon.aws.ec2_vpc_net", **VPC_PARAMS)


def test_vpc_without_tags_keeps_others_but_still_wants_its_name():
    # ec2_vpc_net with a name and no tags adds Name without purging.
    params = changed(VPC_PARAMS, tags=None)
    assert drift([vpc(tags=dict(named("demo"), extra="x"))], "amazon.aws.ec2_vpc_net", **params) == []


# --- internet gateway, subnet, placement group, tag ------------------------------------------------


def igw(vpc_id=VPC, state="available", tags=None):
    return {
        "internet_gateway_id": "igw-1",
        "attachments": [{"vpc_id": vpc_id, "state": state}],
        "tags": named("demo") if tags is None else tags,
    }


def test_internet_gateway():
    params = dict(vpc_id=VPC, tags=named("demo"))
    assert drift([igw()], "amazon.aws.ec2_vpc_igw", **params) == []
    assert drift([igw(state="detaching")], "amazon.aws.ec2_vpc_igw", **params) == [
        f"internet gateway of {VPC}: none found"
    ]
    assert drift([igw(tags=TAGS)], "amazon.aws.ec2_vpc_igw", **params) == ["tags: add Name='demo'"]


def subnet(cidr="10.0.200.0/24", **changes):
    found = {
        "id": "subnet-1",
        "vpc_id": VPC,
        "cidr_block": cidr,
        "availability_zone": "us-east-1b",
        "state": "available",
        "map_public_ip_on_launch": False,
        "assign_ipv6_address_on_creation": False,
        "ipv6_cidr_block_association_set": [],
        "tags": named("demo-us-east-1b"),
    }
    found.update(changes)
    return found


SUBNET_PARAMS = dict(vpc_id=VPC, cidr="10.0.200.0/24", az="us-east-1b", map_public=False, tags=named("demo-us-east-1b"))


def test_subnet_found_by_vpc_and_cidr_among_others():
    found = [subnet("10.0.201.0/24", tags=named("nat")), subnet()]
    assert drift(found, "amazon.aws.ec2_vpc_subnet", **SUBNET_PARAMS) == []


@pytest.mark.parametrize(
    ("changes", "difference"),
    [
        ({"map_public_ip_on_launch": True}, "map_public_ip_on_launch True"),
        ({"availability_zone": "us-east-1a"}, "zone us-east-1a"),
        ({"assign_ipv6_address_on_creation": None}, "assign_ipv6_address_on_creation None"),
        (
            {
                "ipv6_cidr_block_association_set": [
                    {"ipv6_cidr_block": "2600::/64", "ipv6_cidr_block_state": {"state": "associated"}}
                ]
            },
            "IPv6 CIDR ['2600::/64']",
        ),
    ],
)
def test_subnet_differences(changes, difference):
    assert drift([subnet(**changes)], "amazon.aws.ec2_vpc_subnet", **SUBNET_PARAMS) == [difference]


def test_placement_group_is_never_changed_once_there():
    found = [{"name": "demo-cluster", "strategy": "cluster", "state": "available", "tags": {}}]
    params = dict(name="demo-cluster", strategy="cluster", tags=TAGS)
    assert drift(found, "amazon.aws.ec2_placement_group", **params) == [], "the module sets tags at creation only"
    assert drift(found, "amazon.aws.ec2_placement_group", **changed(params, strategy="spread")) == ["strategy cluster"]


def test_ec2_tag_without_purge_only_adds():
    params = dict(resource="eipalloc-1", tags=named("demo-nat"), purge_tags=False)
    assert drift(dict(named("demo-nat"), other="kept"), "amazon.aws.ec2_tag", **params) == []
    assert drift({}, "amazon.aws.ec2_tag", **params) == [
        "tags: add Name='demo-nat'",
        "tags: add nixl-efa:cluster='demo'",
    ]
    assert drift(None, "amazon.aws.ec2_tag", **params) == ["tags: not read"]


# --- route table -----------------------------------------------------------------------------------


def table(name="demo", subnets=("subnet-1",), routes=None, **changes):
    found = {
        "id": "rtb-1",
        "vpc_id": VPC,
        "tags": named(name),
        "associations": [
            {"main": False, "subnet_id": s, "association_state": {"state": "associated"}} for s in subnets
        ],
        "routes": [{"destination_cidr_block": "10.0.0.0/16", "gateway_id": "local", "origin": "CreateRouteTable"}]
        + (
            routes
            if routes is not None
            else [
                {
                    "destination_cidr_block": "0.0.0.0/0",
                    "gateway_id": None,
                    "nat_gateway_id": "nat-1",
                    "origin": "CreateRoute",
                },
                {
                    "destination_cidr_block": None,
                    "destination_prefix_list_id": "pl-1",
                    "gateway_id": "vpce-1",
                    "origin": "CreateRoute",
                },
            ]
        ),
    }
    found.update(changes)
    return found


MAIN = {"main": True, "association_state": {"state": "associated"}}
TABLE_PARAMS = dict(
    vpc_id=VPC, subnets=["subnet-1"], routes=[{"dest": "0.0.0.0/0", "nat_gateway_id": "nat-1"}], tags=named("demo")
)


def test_route_table_found_by_its_tags_beside_the_main_and_another():
    found = [table(tags={}, associations=[MAIN], routes=[]), table("demo-nat", subnets=["subnet-2"]), table()]
    assert drift(found, "amazon.aws.ec2_vpc_route_table", **TABLE_PARAMS) == [], "the endpoint's route is not purged"


def test_route_table_with_an_internet_gateway_route():
    igw_route = [{"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1", "origin": "CreateRoute"}]
    params = changed(TABLE_PARAMS, routes=[{"dest": "0.0.0.0/0", "gateway_id": "igw-1"}])
    assert drift([table(routes=igw_route)], "amazon.aws.ec2_vpc_route_table", **params) == []


@pytest.mark.parametrize(
    ("found", "difference"),
    [
        ([table(routes=[])], "route to 0.0.0.0/0: missing or different"),
        (
            [
                table(
                    routes=[{"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-2", "origin": "CreateRoute"}]
                )
            ],
            "route to 0.0.0.0/0: missing or different",
        ),
        (
            [
                table(
                    routes=table()["routes"][1:]
                    + [{"destination_cidr_block": "10.9.0.0/16", "gateway_id": "pcx-1", "origin": "CreateRoute"}]
                )
            ],
            "route to 10.9.0.0/16: would be removed",
        ),
        ([table(subnets=[])], "subnet subnet-1 not associated"),
        ([table(subnets=["subnet-1", "subnet-9"])], "subnet subnet-9 would be disassociated"),
        ([table(), table(id="rtb-2")], "2 found, the module wants one"),
        ([table(tags=dict(named("demo"), extra="x"))], "tags: remove extra"),
    ],
)
def test_route_table_differences(found, difference):
    assert any(difference in d for d in drift(found, "amazon.aws.ec2_vpc_route_table", **TABLE_PARAMS))


def test_route_table_forms_not_judged_are_differences():
    assert drift([table()], "amazon.aws.ec2_vpc_route_table", **changed(TABLE_PARAMS, lookup="id")) == [
        "only the tag lookup is judged here"
    ]
    params = changed(TABLE_PARAMS, routes=[{"dest": "0.0.0.0/0", "gateway_id": "igw"}])
    assert "not judged here" in drift([table()], "amazon.aws.ec2_vpc_route_table", **params)[0]


# --- security group --------------------------------------------------------------------------------


def pair(group_id, description):
    return {"group_id": group_id, "user_id": OWNER, "description": description}


def perm(proto, ports=None, pairs=(), ranges=()):
    found = {
        "ip_protocol": proto,
        "ip_ranges": list(ranges),
        "ipv6_ranges": [],
        "prefix_list_ids": [],
        "user_id_group_pairs": list(pairs),
    }
    if ports:
        found.update(from_port=ports[0], to_port=ports[1])
    return found


EFA = "demo-efa"
EFA_ID = "sg-efa"
ENDPOINTS = "demo-ssm-endpoints"
EFA_RULES = [
    {"proto": "all", "group_name": EFA, "rule_desc": "all traffic between cluster nodes"},
    {"proto": "tcp", "ports": ["5000"], "group_name": EFA, "rule_desc": "MLflow"},
    {"proto": "tcp", "ports": [8100], "cidr_ip": "10.0.5.0/24", "rule_desc": "vLLM from clients"},
]
EFA_EGRESS = [
    {"proto": "all", "group_name": EFA, "rule_desc": "all traffic between cluster nodes"},
    {"proto": "all", "cidr_ip": "0.0.0.0/0", "rule_desc": "outbound"},
]


def groups(**efa_changes):
    efa = {
        "group_id": EFA_ID,
        "group_name": EFA,
        "vpc_id": VPC,
        "owner_id": OWNER,
        "description": "EFA nodes",
        "tags": named(EFA),
        "ip_permissions": [
            perm("-1", pairs=[pair(EFA_ID, "all traffic between cluster nodes")]),
            perm("tcp", (5000, 5000), pairs=[pair(EFA_ID, "MLflow")]),
            perm("tcp", (8100, 8100), ranges=[{"cidr_ip": "10.0.5.0/24", "description": "vLLM from clients"}]),
        ],
        "ip_permissions_egress": [
            perm(
                "-1",
                pairs=[pair(EFA_ID, "all traffic between cluster nodes")],
                ranges=[{"cidr_ip": "0.0.0.0/0", "description": "outbound"}],
            ),
        ],
    }
    efa.update(efa_changes)
    endpoints = {
        "group_id": "sg-endpoints",
        "group_name": ENDPOINTS,
        "vpc_id": VPC,
        "owner_id": OWNER,
        "description": "SSM endpoints",
        "tags": named(ENDPOINTS),
        "ip_permissions": [perm("tcp", (443, 443), pairs=[pair(EFA_ID, "HTTPS")])],
        "ip_permissions_egress": [],
    }
    return [efa, endpoints]


EFA_PARAMS = dict(
    name=EFA, description="EFA nodes", vpc_id=VPC, rules=EFA_RULES, rules_egress=EFA_EGRESS, tags=named(EFA)
)
ENDPOINT_PARAMS = dict(
    name=ENDPOINTS,
    description="SSM endpoints",
    vpc_id=VPC,
    tags=named(ENDPOINTS),
    rules=[{"proto": "tcp", "ports": [443], "group_name": EFA, "rule_desc": "HTTPS"}],
    rules_egress=[],
)


def test_security_groups_as_written_are_unchanged():
    assert drift(groups(), "amazon.aws.ec2_security_group", **EFA_PARAMS) == []
    assert drift(groups(), "amazon.aws.ec2_security_group", **ENDPOINT_PARAMS) == [], "names another group by name"


def test_a_rule_added_by_hand_would_be_revoked():
    extra = groups()[0]["ip_permissions"] + [perm("tcp", (22, 22), ranges=[{"cidr_ip": "0.0.0.0/0"}])]
    assert drift(groups(ip_permissions=extra), "amazon.aws.ec2_security_group", **EFA_PARAMS) == [
        "ingress rule tcp (22, 22) ipv4 0.0.0.0/0: would be removed"
    ]
    assert (
        drift(groups(ip_permissions=extra), "amazon.aws.ec2_security_group", **changed(EFA_PARAMS, purge_rules=False))
        == []
    )


def test_a_missing_rule_and_a_changed_description_would_be_written():
    found = groups(ip_permissions=groups()[0]["ip_permissions"][:1])
    differences = drift(found, "amazon.aws.ec2_security_group", **EFA_PARAMS)
    assert "ingress rule tcp (5000, 5000) group sg-efa: would be added" in differences
    rules = copy.deepcopy(EFA_RULES)
    rules[1]["rule_desc"] = "MLflow tracking"
    differences = drift(groups(), "amazon.aws.ec2_security_group", **changed(EFA_PARAMS, rules=rules))
    assert len(differences) == 2, "the module re-describes the rule: the old description goes, the new one comes"


def test_the_endpoint_group_must_have_no_egress():
    found = groups()
    found[1]["ip_permissions_egress"] = [perm("-1", ranges=[{"cidr_ip": "0.0.0.0/0"}])]
    assert drift(found, "amazon.aws.ec2_security_group", **ENDPOINT_PARAMS) == [
        "egress rule -1 (None, None) ipv4 0.0.0.0/0: would be removed"
    ]


@pytest.mark.parametrize(
    ("found", "params", "difference"),
    [
        (groups()[1:], ENDPOINT_PARAMS, "ingress: security group demo-efa not found in the VPC"),
        (groups(description="other"), EFA_PARAMS, "description differs (EC2 cannot change it)"),
        (
            groups(),
            changed(EFA_PARAMS, rules=[{"proto": "tcp", "ports": [80], "cidr_ip": "10.0.5.7/24"}]),
            "ingress: cidr_ip 10.0.5.7/24 is not a network in its canonical form",
        ),
        (
            groups(),
            changed(EFA_PARAMS, rules=[{"proto": "tcp", "ports": [80], "group_id": "amazon-elb/amazon-elb-sg"}]),
            "ingress: group_id amazon-elb/amazon-elb-sg of another account: not judged here",
        ),
        (
            groups(),
            changed(EFA_PARAMS, rules=[{"proto": "tcp", "ports": [80], "cidr_ip": "10.0.0.0/8", "group_desc": "x"}]),
            "ingress: rule keys ['group_desc'] not judged here",
        ),
        ([], EFA_PARAMS, "security group demo-efa in vpc-0b28317aa3628187: none found"),
    ],
)
def test_security_group_differences_and_forms_not_judged(found, params, difference):
    assert difference in drift(found, "amazon.aws.ec2_security_group", **params)


def test_a_pair_of_another_account_is_not_judged():
    found = groups()
    found[0]["ip_permissions"][1]["user_id_group_pairs"][0]["user_id"] = "999999999999"
    assert drift(found, "amazon.aws.ec2_security_group", **EFA_PARAMS) == [
        "ingress rules of another account or peered VPC: not judged here"
    ]


def test_port_ranges_and_numeric_protocols_expand_as_the_module_expands_them():
    found = groups(
        ip_permissions=[
            perm("tcp", (8000, 8100), ranges=[{"cidr_ip": "10.0.0.0/8"}]),
            perm("50", ranges=[{"cidr_ip": "10.0.0.0/8"}]),
        ]
    )
    rules = [{"ports": ["8000-8100"], "cidr_ip": "10.0.0.0/8"}, {"proto": "50", "ports": [1], "cidr_ip": "10.0.0.0/8"}]
    assert drift(found, "amazon.aws.ec2_security_group", **changed(EFA_PARAMS, rules=rules)) == []


# --- VPC endpoint ----------------------------------------------------------------------------------


def endpoint(service, tables=(), state="available", name=None):
    return {
        "vpc_endpoint_id": f"vpce-{service}",
        "vpc_id": VPC,
        "service_name": f"com.amazonaws.us-east-1.{service}",
        "route_table_ids": list(tables),
        "state": state,
        "tags": [{"key": k, "value": v} for k, v in named(name or f"demo-{service}").items()],
    }


def endpoint_params(service, tables=None):
    return dict(
        vpc_id=VPC,
        service=f"com.amazonaws.us-east-1.{service}",
        route_table_ids=tables,
        tags=named(f"demo-{service}"),
        vpc_endpoint_type="Gateway" if service == "s3" else "Interface",
        vpc_endpoint_subnets=None if service == "s3" else ["subnet-1"],
        wait=True,
    )


def test_endpoints_matched_by_service_and_route_tables():
    found = [endpoint("ssm"), endpoint("s3", ["rtb-other"]), endpoint("s3", ["rtb-1"])]
    assert drift(found, "amazon.aws.ec2_vpc_endpoint", **endpoint_params("ssm")) == []
    assert drift(found, "amazon.aws.ec2_vpc_endpoint", **endpoint_params("s3", ["rtb-1"])) == []
    assert drift(found, "amazon.aws.ec2_vpc_endpoint", **endpoint_params("s3", ["rtb-2"])) == [
        f"VPC endpoint com.amazonaws.us-east-1.s3 in {VPC}: none found"
    ]


def test_an_endpoint_being_deleted_or_renamed_is_a_difference():
    params = endpoint_params("ssm")
    assert drift([endpoint("ssm", state="deleting")], "amazon.aws.ec2_vpc_endpoint", **params) == ["state deleting"]
    assert drift([endpoint("ssm", name="other")], "amazon.aws.ec2_vpc_endpoint", **params) == [
        "tags: Name='demo-ssm' (now 'other')"
    ]
    assert drift([endpoint("ssm", name="other")], "amazon.aws.ec2_vpc_endpoint", **changed(params, tags=None)) == []


# --- instances (exact_count) -----------------------------------------------------------------------


def test_instances_as_many_as_wanted_each_with_the_tags():
    nodes = [{"instance_id": f"i-{n}", "tags": dict(TAGS, **{"nixl-efa:node-index": str(n)})} for n in range(2)]
    params = dict(exact_count=2, tags=TAGS, purge_tags=False)
    assert drift(nodes, "amazon.aws.ec2_instance", **params) == []
    assert drift(nodes[:1], "amazon.aws.ec2_instance", **params) == ["1 instances, 2 wanted"]
    assert drift(nodes, "amazon.aws.ec2_instance", **changed(params, tags=dict(TAGS, extra="x"))) == [
        "i-0 tags: add extra='x'",
        "i-1 tags: add extra='x'",
    ]


# --- S3 ---------------------------------------------------------------------------------------------

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
BLOCK = dict.fromkeys(
    ["block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"], True
)


def bucket(**changes):
    found = {
        "name": "b",
        "exists": True,
        "tags": TAGS,
        "public_access_block": BLOCK,
        "object_ownership": "BucketOwnerEnforced",
        "encryption": {"sse_algorithm": "AES256", "kms_master_key_id": None, "bucket_key_enabled": False},
        "policy": POLICY,
        "lifecycle_rules": [],
    }
    found.update(changes)
    return found


BUCKET_PARAMS = dict(
    name="b",
    encryption="AES256",
    encryption_key_id=None,
    bucket_key_enabled=None,
    public_access=BLOCK,
    object_ownership="BucketOwnerEnforced",
    policy=json.dumps(POLICY),
    tags=TAGS,
    purge_tags=True,
)


def test_bucket_as_written_is_unchanged_whatever_the_policy_order():
    reordered = json.loads(json.dumps(POLICY))
    reordered["Statement"][0]["Resource"].reverse()
    assert drift(bucket(policy=reordered), "amazon.aws.s3_bucket", **BUCKET_PARAMS) == []


@pytest.mark.parametrize(
    ("found", "params", "difference"),
    [
        (bucket(exists=False), BUCKET_PARAMS, "bucket b: not found or not readable"),
        ({"name": "b", "exists": True, "error": "AccessDenied"}, BUCKET_PARAMS, "bucket b: not found or not readable"),
        (bucket(public_access_block=None), BUCKET_PARAMS, "public access block None"),
        (bucket(policy=None), BUCKET_PARAMS, "policy differs"),
        (bucket(), changed(BUCKET_PARAMS, policy="null"), "policy would be deleted"),
        (bucket(tags=dict(TAGS, **{"aws:x": "y"})), BUCKET_PARAMS, "tags: remove aws:x"),
        (bucket(encryption=None), BUCKET_PARAMS, "encryption None"),
        (bucket(), changed(BUCKET_PARAMS, encryption="aws:kms", encryption_key_id="arn:k"), "encryption AES256"),
        (bucket(object_ownership="ObjectWriter"), BUCKET_PARAMS, "object ownership ObjectWriter"),
    ],
)
def test_bucket_differences(found, params, difference):
    assert difference in drift(found, "amazon.aws.s3_bucket", **params)


def test_bucket_with_kms_and_a_bucket_key():
    kms = {"sse_algorithm": "aws:kms", "kms_master_key_id": "arn:k", "bucket_key_enabled": True}
    params = changed(BUCKET_PARAMS, encryption="aws:kms", encryption_key_id="arn:k", bucket_key_enabled=True)
    assert drift(bucket(encryption=kms), "amazon.aws.s3_bucket", **params) == []
    assert drift(bucket(encryption=dict(kms, bucket_key_enabled=False)), "amazon.aws.s3_bucket", **params) == [
        "bucket key False"
    ]
    assert drift(bucket(policy=None), "amazon.aws.s3_bucket", **changed(BUCKET_PARAMS, policy="null")) == []


EXPIRE = {"ID": "expire", "Filter": {"Prefix": "i-"}, "Status": "Enabled", "Expiration": {"Days": 1}}
ABORT = {
    "ID": "abort",
    "Filter": {"Prefix": ""},
    "Status": "Enabled",
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}


def test_lifecycle_rules_compared_whole_by_their_id():
    expire = dict(name="b", rule_id="expire", prefix="i-", expiration_days=1, status="enabled")
    abort = dict(name="b", rule_id="abort", abort_incomplete_multipart_upload_days=7, status="enabled")
    assert drift([EXPIRE, ABORT], "community.aws.s3_lifecycle", **expire) == []
    assert drift([EXPIRE, ABORT], "community.aws.s3_lifecycle", **abort) == []
    assert drift([EXPIRE], "community.aws.s3_lifecycle", **abort) == ["lifecycle rule abort: none found"]
    assert drift([dict(EXPIRE, Expiration={"Days": 2})], "community.aws.s3_lifecycle", **expire) == [
        "lifecycle rule expire differs"
    ]
    assert drift([dict(EXPIRE, Status="Disabled")], "community.aws.s3_lifecycle", **expire) == [
        "lifecycle rule expire differs"
    ]
    assert drift(None, "community.aws.s3_lifecycle", **expire) == ["lifecycle rules: not read"]


# --- IAM --------------------------------------------------------------------------------------------

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EC2AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def role(**changes):
    found = {
        "role_name": "demo-node",
        "arn": "arn:aws:iam::1:role/demo-node",
        "assume_role_policy_document": TRUST,
        "description": "nodes",
        "tags": TAGS,
        "instance_profiles": [{"instance_profile_name": "demo-node"}],
        "managed_policies": [{"policy_arn": SSM_CORE, "policy_name": "AmazonSSMManagedInstanceCore"}],
    }
    found.update(changes)
    return found


ROLE_PARAMS = dict(
    name="demo-node",
    description="nodes",
    assume_role_policy_document=json.dumps(TRUST),
    managed_policies=[SSM_CORE],
    purge_policies=True,
    tags=TAGS,
    purge_tags=True,
)


def test_role_as_written_is_unchanged():
    assert drift([role()], "amazon.aws.iam_role", **ROLE_PARAMS) == []


@pytest.mark.parametrize(
    ("found", "difference"),
    [
        ([], "IAM role demo-node: none found"),
        ([role(description="other")], "description differs"),
        ([role(assume_role_policy_document={"Version": "2012-10-17", "Statement": []})], "trust policy differs"),
        ([role(instance_profiles=[])], "no instance profile demo-node holds the role"),
        ([role(managed_policies=[])], f"attach {SSM_CORE}"),
        (
            [role(managed_policies=role()["managed_policies"] + [{"policy_arn": "arn:aws:iam::aws:policy/Admin"}])],
            "detach arn:aws:iam::aws:policy/Admin",
        ),
    ],
)
def test_role_differences(found, difference):
    assert difference in drift(found, "amazon.aws.iam_role", **ROLE_PARAMS)


def test_managed_policies_by_name_are_not_judged():
    params = changed(ROLE_PARAMS, managed_policies=["AmazonSSMManagedInstanceCore"])
    assert drift([role()], "amazon.aws.iam_role", **params) == ["managed policies given by name: not judged here"]


def test_instance_profile_holds_the_role_with_the_tags():
    found = [{"instance_profile_name": "demo-node", "roles": [{"role_name": "demo-node"}], "tags": TAGS}]
    params = dict(name="demo-node", role="demo-node", tags=TAGS, purge_tags=True)
    assert drift(found, "amazon.aws.iam_instance_profile", **params) == []
    assert drift([dict(found[0], roles=[])], "amazon.aws.iam_instance_profile", **params) == ["roles []"]
    assert drift([], "amazon.aws.iam_instance_profile", **params) == ["instance profile demo-node: none found"]


def test_inline_policy_compared_as_a_policy():
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
    }
    found = [
        {
            "policy_name": "access",
            "policy_document": dict(document, Statement=[dict(document["Statement"][0], Action="s3:GetObject")]),
        }
    ]
    params = dict(iam_type="role", iam_name="demo-node", policy_name="access", policy_json=json.dumps(document))
    assert drift(found, "amazon.aws.iam_policy", **params) == [], "a one-item list and its item are the same"
    other = changed(params, policy_json=json.dumps(dict(document, Statement=[])))
    assert drift(found, "amazon.aws.iam_policy", **other) == ["policy document differs"]
    assert drift([], "amazon.aws.iam_policy", **params) == ["inline policy access of demo-node: none found"]
