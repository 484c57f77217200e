# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a provisioned cluster is made of, read in one go and reduced to one digest (provision_state_info).

provision.yml's fast path: a converged re-run used to run some twenty read modules (the network's nine, the
bucket's, the role's, the nodes'...), each a second or so, to learn that nothing had to change. The same
resources read once here and reduced to a digest tell the same thing: when the digest equals the one read
at the end of the last run that converged, with the same inputs and the same collection, nothing has
changed since, so the roles would change nothing either. Anything else (a rule edited in the console, a
node stopped, a new AMI published, a reservation that turned active) changes the digest, and the run takes
the full path, which repairs it.

Every section is what a role manages or decides from, read in full; only fields that change without
anyone changing the resource are left out (VOLATILE_KEYS), and lists are sorted, so the digest follows the
resources and nothing else. A resource that is gone reads as {"missing": <error code>}: the digest then
differs, never fails.
"""

import datetime
import hashlib
import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.nixl_efa.cluster.plugins.module_utils import ownership
from ansible_collections.nixl_efa.cluster.plugins.module_utils.s3_bucket_settings import read_bucket
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ssm_nodes import describe_nodes

# Fields that move while the resource stays as it was: when an agent last pinged, when a role was last used,
# the API's own metadata.
VOLATILE_KEYS = frozenset(("ResponseMetadata", "LastPingDateTime", "RoleLastUsed", "NextToken"))
# What Session Manager says of a node that matters to a run: whether it is Online.
MANAGED_NODE_KEYS = ("InstanceId", "PingStatus", "ResourceType")
# Every instance of the cluster that is not gone: a node stopping or stopped changes the digest too.
INSTANCE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
# Errors that mean "not there (any more)", by service; the section then reads as missing.
NOT_FOUND = {
    "ec2": [
        "InvalidVpcID.NotFound",
        "InvalidPlacementGroup.Unknown",
        "InvalidLaunchTemplateId.NotFound",
        "InvalidLaunchTemplateId.Malformed",
        "InvalidCapacityReservationId.NotFound",
        "InvalidAllocationID.NotFound",
    ],
    "iam": ["NoSuchEntity"],
}
SECTIONS = (
    "vpc",
    "subnets",
    "security_groups",
    "route_tables",
    "internet_gateways",
    "nat_gateways",
    "addresses",
    "vpc_endpoints",
    "placement_group",
    "instances",
    "managed_nodes",
    "launch_template",
    "capacity_reservation",
    "role",
    "instance_profile",
    "bucket",
    "parameters",
)


def normalize(value):
    """The value with volatile keys dropped, dates as ISO 8601 text and every list in a stable order."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, (list, tuple)):
        items = [normalize(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def digest(state):
    """sha256 of the normalized state, as hex: equal digests, equal resources."""
    text = json.dumps(normalize(state), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Counted:
    """A boto3 client whose every request adds one to the reader's count."""

    def __init__(self, client, reader):
        self._client = client
        self._reader = reader

    def __getattr__(self, operation):
        method = getattr(self._client, operation)

        def counted(*args, **kwargs):
            self._reader.calls += 1
            return method(*args, **kwargs)

        return counted


class Reader:
    """Reads the sections of one cluster with the clients given; counts its API calls."""

    def __init__(self, clients):
        self.clients = {service: _Counted(client, self) for service, client in clients.items()}
        self.calls = 0

    def call(self, service, operation, **kwargs):
        return getattr(self.clients[service], operation)(aws_retry=True, **kwargs)

    def pages(self, service, operation, key, **kwargs):
        """Every page of a paginated describe, the items under `key` joined."""
        items = []
        while True:
            page = self.call(service, operation, **kwargs)
            items.extend(page.get(key) or [])
            token = page.get("NextToken")
            if not token:
                return items
            kwargs["NextToken"] = token

    def guarded(self, service, read):
        """read(), or {"missing": <code>} when the service answers that the resource does not exist."""
        try:
            return read()
        except is_boto3_error_code(NOT_FOUND[service]) as e:
            return {"missing": e.response["Error"]["Code"]}

    # EC2: the network role's resources, found in the cluster's VPC.
    def network(self, vpc_id, placement_group):
        ec2 = "ec2"
        state = {}

        def vpc():
            found = self.call(ec2, "describe_vpcs", VpcIds=[vpc_id])["Vpcs"]
            attributes = {
                name: self.call(ec2, "describe_vpc_attribute", VpcId=vpc_id, Attribute=name)
                for name in ("enableDnsSupport", "enableDnsHostnames")
            }
            return {"vpcs": found, "attributes": attributes}

        state["vpc"] = self.guarded(ec2, vpc)
        if "missing" in state["vpc"]:
            return state
        in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        state["subnets"] = self.pages(ec2, "describe_subnets", "Subnets", Filters=in_vpc)
        state["security_groups"] = self.pages(ec2, "describe_security_groups", "SecurityGroups", Filters=in_vpc)
        state["route_tables"] = self.pages(ec2, "describe_route_tables", "RouteTables", Filters=in_vpc)
        state["internet_gateways"] = self.pages(
            ec2,
            "describe_internet_gateways",
            "InternetGateways",
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}],
        )
        # DescribeNatGateways names its filter parameter Filter, not Filters.
        state["nat_gateways"] = self.pages(ec2, "describe_nat_gateways", "NatGateways", Filter=in_vpc)
        allocations = sorted(
            {
                address["AllocationId"]
                for gateway in state["nat_gateways"]
                for address in gateway.get("NatGatewayAddresses") or []
                if address.get("AllocationId")
            }
        )
        if allocations:
            state["addresses"] = self.guarded(
                ec2, lambda: self.call(ec2, "describe_addresses", AllocationIds=allocations)["Addresses"]
            )
        state["vpc_endpoints"] = self.pages(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=in_vpc)
        if placement_group:
            state["placement_group"] = self.guarded(
                ec2,
                lambda: self.call(ec2, "describe_placement_groups", GroupNames=[placement_group])["PlacementGroups"],
            )
        return state

    # EC2 and Session Manager: the instances role's nodes, template and reservation.
    def nodes(self, cluster_name, launch_template_id, capacity_reservation_id):
        ec2 = "ec2"
        state = {}
        filters = [
            {"Name": "tag:" + ownership.CLUSTER_TAG, "Values": [cluster_name]},
            {"Name": "instance-state-name", "Values": INSTANCE_STATES},
        ]
        reservations = self.pages(ec2, "describe_instances", "Reservations", Filters=filters)
        instances = [instance for reservation in reservations for instance in reservation.get("Instances") or []]
        state["instances"] = instances
        ids = sorted(instance["InstanceId"] for instance in instances)
        if ids:
            state["managed_nodes"] = [
                {k: node.get(k) for k in MANAGED_NODE_KEYS} for node in describe_nodes(self.clients["ssm"], ids)
            ]
        if launch_template_id:

            def template():
                templates = self.call(ec2, "describe_launch_templates", LaunchTemplateIds=[launch_template_id])
                versions = self.call(
                    ec2,
                    "describe_launch_template_versions",
                    LaunchTemplateId=launch_template_id,
                    Versions=["$Latest", "$Default"],
                )
                return {
                    "templates": templates["LaunchTemplates"],
                    "versions": versions["LaunchTemplateVersions"],
                }

            state["launch_template"] = self.guarded(ec2, template)
        if capacity_reservation_id:
            state["capacity_reservation"] = self.guarded(
                ec2,
                lambda: self.call(
                    ec2, "describe_capacity_reservations", CapacityReservationIds=[capacity_reservation_id]
                )["CapacityReservations"],
            )
        return state

    # IAM: the nodes' role, its policies and its instance profile.
    def identity(self, role_name, instance_profile_name):
        iam = "iam"
        state = {}
        if role_name:

            def role():
                found = self.call(iam, "get_role", RoleName=role_name)["Role"]
                names = self.call(iam, "list_role_policies", RoleName=role_name)["PolicyNames"]
                inline = {
                    name: self.call(iam, "get_role_policy", RoleName=role_name, PolicyName=name)["PolicyDocument"]
                    for name in names
                }
                attached = self.call(iam, "list_attached_role_policies", RoleName=role_name)["AttachedPolicies"]
                return {"role": found, "inline_policies": inline, "attached_policies": attached}

            state["role"] = self.guarded(iam, role)
        if instance_profile_name:
            state["instance_profile"] = self.guarded(
                iam,
                lambda: self.call(iam, "get_instance_profile", InstanceProfileName=instance_profile_name)[
                    "InstanceProfile"
                ],
            )
        return state

    # S3: the bucket's six settings, as s3_bucket_settings_info reads them (one request each; only the first
    # when the bucket is missing or not readable).
    def bucket(self, name):
        return {"bucket": read_bucket(self.clients["s3"], name)}

    # Parameter Store: the AMI's public parameter and the entries saved for the cluster.
    def parameters(self, names, paths):
        found = []
        if names:
            answer = self.call("ssm", "get_parameters", Names=list(names))
            found.extend({"Name": p["Name"], "Value": p["Value"]} for p in answer.get("Parameters") or [])
            invalid = answer.get("InvalidParameters") or []
            found.extend({"Name": name, "missing": "ParameterNotFound"} for name in invalid)
        for path in paths or []:
            entries = self.pages("ssm", "get_parameters_by_path", "Parameters", Path=path, Recursive=True)
            found.extend({"Name": p["Name"], "Value": p["Value"]} for p in entries)
        return {"parameters": found} if (names or paths) else {}


def read_state(clients, params):
    """Every section `params` asks for (the module's options), and the number of API calls it took."""
    reader = Reader(clients)
    state = {}
    if params.get("vpc_id"):
        state.update(reader.network(params["vpc_id"], params.get("placement_group")))
    state.update(
        reader.nodes(params["cluster_name"], params.get("launch_template_id"), params.get("capacity_reservation_id"))
    )
    state.update(reader.identity(params.get("role_name"), params.get("instance_profile_name")))
    if params.get("bucket"):
        state.update(reader.bucket(params["bucket"]))
    state.update(reader.parameters(params.get("parameter_names"), params.get("parameter_paths")))
    return state, reader.calls


def summary(state):
    """How many resources each section holds (1 for a single resource, 0 for a missing one)."""
    counts = {}
    for section in SECTIONS:
        if section not in state:
            continue
        value = state[section]
        if isinstance(value, dict):
            counts[section] = 0 if "missing" in value else 1
        else:
            counts[section] = len(value)
    return counts


def missing(state):
    """The sections whose resource is gone, and the parameters not found."""
    gone = sorted(section for section, value in state.items() if isinstance(value, dict) and "missing" in value)
    gone.extend("parameter " + entry["Name"] for entry in (state.get("parameters") or []) if "missing" in entry)
    return gone
