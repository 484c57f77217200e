# -*- coding: utf-8 -*-
"""Lab stand-ins for SSM APIs moto 5.2 lacks, and the public AMI parameters this collection reads.

Kept under lab/ and never shipped; moto_lab.py installs them before the server starts.

- DescribeInstanceInformation: moto has no SSM agent. The stand-in models the agent as AWS runs
  it: an EC2 instance of the same account and region is a managed node once it is running, has
  an IAM instance profile AND its agent has a way out to Systems Manager (lab_reachability.py:
  a public address behind an internet gateway, a NAT gateway, or the ssm, ssmmessages and
  ec2messages interface endpoints; each rule cites AWS's documentation there). Such a node is
  PingStatus Online. An instance that never had a way out is absent; one that was Online and
  lost it (its route or endpoint deleted, its instance profile removed) is listed ConnectionLost,
  as in AWS's InstanceInformation.PingStatus (Online | ConnectionLost | Inactive). When the lab
  runs node containers (lab_nodes.py, LAB_NODE_IMAGE), an instance is Online only once its
  container's systemd is up, as the agent registers after boot.
  Paging as AWS pages (API_DescribeInstanceInformation): MaxResults from 5 to 50, else a
  ValidationException; without it, 10 per page. Filtering by InstanceIds picks those nodes
  first; other filters (tags, PingStatus, ...) are applied to each page AFTER it was cut, so
  a page may hold fewer than MaxResults nodes, even none, and still carry a NextToken, as the
  AWS CLI's users observed (aws/aws-cli issue 2626): a caller must follow NextToken to the end.
- StartSession / TerminateSession: what the amazon.aws.aws_ssm connection calls before it runs
  its session plugin (see ../shared/NOTES.md). Only an Online managed node can be a target;
  any other instance is refused with TargetNotConnected, as AWS refuses it (API_StartSession,
  Errors: "The specified target managed node for the session isn't fully configured for use
  with Session Manager"), naming why it has no way out. The StreamUrl points back at the lab
  on loopback; nothing there speaks the data channel, the lab's session plugin stand-in does
  not use it.
- Public parameters (PUBLIC_AMI_PARAMETERS) under /aws/service/..., registered in a region the
  first time a parameter call there may read them. Each names an image moto ships in every
  region (moto's amis.json), found by image name, so the value is the same on every run.
"""

import datetime
import secrets
import threading

import lab_nodes
import lab_reachability
from lab_capacity import LabError
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ssm.models import Parameter
from moto.ssm.models import ParameterDict

# Public SSM parameters the collection resolves to AMI ids.
PUBLIC_AMI_PARAMETERS = (
    "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id",
    "/aws/service/neuron/dlami/multi-framework/ubuntu-22.04/latest/image_id",
    "/aws/service/neuron/dlami/multi-framework/ubuntu-24.04/latest/image_id",
)
# Image (by name, from moto's own x86_64 Ubuntu images present in every region) each one points to.
PUBLIC_AMI_IMAGE_NAMES = {
    PUBLIC_AMI_PARAMETERS[0]: "Deep Learning AMI Ubuntu Linux - 2.4_Oct2017",
    PUBLIC_AMI_PARAMETERS[1]: "Ubuntu CUDA9 DLAMI with MXNet/TF/Caffe2",
    PUBLIC_AMI_PARAMETERS[2]: "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20170721",
}
AGENT_VERSION = "3.3.2299.0"
PLATFORM = {"PlatformType": "Linux", "PlatformName": "Ubuntu", "PlatformVersion": "22.04"}

_sessions = {}
_ORIGINALS = {}


# Managed nodes ------------------------------------------------------------------


def _iam_role(response, profile_arn):
    from moto.iam.models import iam_backends  # noqa: PLC0415

    try:
        profile = iam_backends[response.current_account][response.partition].get_instance_profile_by_arn(profile_arn)
        return profile.roles[0].name if profile.roles else None
    except Exception:  # the profile was deleted since: no role to report
        return None


# Instances that have been Online once: they stay listed (ConnectionLost) after losing their way out.
_registered = set()
# Paging (API_DescribeInstanceInformation: MaxResults "Valid Range: Minimum value of 5. Maximum value of 50").
PAGE_DEFAULT = 10
PAGE_MIN = 5
PAGE_MAX = 50


def node_status(response, instance):
    """(PingStatus or None when the instance is not a managed node, why it is not Online)."""
    if instance.state != "running":
        return None, f"{instance.id} is {instance.state}"
    if not instance.iam_instance_profile:
        status = "ConnectionLost" if instance.id in _registered else None
        return status, f"{instance.id} has no IAM instance profile, so its SSM Agent cannot register"
    if not lab_nodes.online(instance.id):
        return None, f"{instance.id} has not finished booting (its SSM Agent has not started)"
    backend = ec2_backends[response.current_account][response.region]
    reachable, how = lab_reachability.way_out(backend, instance)
    if not reachable:
        status = "ConnectionLost" if instance.id in _registered else None
        return status, f"{instance.id}'s SSM Agent has no way out to Systems Manager: {how}"
    _registered.add(instance.id)
    return "Online", how


def managed_nodes(response, instance_ids=None):
    """InstanceInformation of each managed node, of instance_ids only when given: Online, or ConnectionLost.

    Only the instances asked for are checked, so a lookup by id costs no container probe or route
    walk for the rest of the lab's instances.
    """
    backend = ec2_backends[response.current_account][response.region]
    now = datetime.datetime.now(datetime.timezone.utc)
    nodes = []
    for instance in backend.all_instances():
        if instance_ids is not None and instance.id not in instance_ids:
            continue
        status, _why = node_status(response, instance)
        if status is None:
            continue
        profile = instance.iam_instance_profile or {}
        node = {
            "InstanceId": instance.id,
            "PingStatus": status,
            "LastPingDateTime": now,
            "AgentVersion": AGENT_VERSION,
            "IsLatestVersion": True,
            **PLATFORM,
            "ResourceType": "EC2Instance",
            "IPAddress": instance.private_ip_address,
            "ComputerName": instance.private_dns_name,
            "SourceId": instance.id,
            "SourceType": "AWS::EC2::Instance",
            "tags": {t["key"]: t["value"] for t in instance.get_tags()},
        }
        role = _iam_role(response, profile.get("Arn")) if profile else None
        if role:
            node["IamRole"] = role
        nodes.append(node)
    return nodes


_FILTER_FIELDS = {
    "InstanceIds": "InstanceId",
    "PingStatus": "PingStatus",
    "PlatformTypes": "PlatformType",
    "ResourceType": "ResourceType",
    "AgentVersion": "AgentVersion",
    "IamRole": "IamRole",
}


def _node_filters(response):
    legacy = response._get_param("InstanceInformationFilterList") or []
    filters = [(f.get("key"), f.get("valueSet") or []) for f in legacy]
    filters += [(f.get("Key"), f.get("Values") or []) for f in response._get_param("Filters") or []]
    for key, _values in filters:
        if key not in _FILTER_FIELDS and not str(key).startswith("tag:"):
            raise LabError("InvalidInstanceInformationFilterValue", f"The filter key {key} is not supported.")
    return filters


def _node_matches(node, filters):
    for key, values in filters:
        value = node["tags"].get(key[4:]) if str(key).startswith("tag:") else node.get(_FILTER_FIELDS[key])
        if value not in values:
            return False
    return True


def _page_size(response):
    size = response._get_param("MaxResults")
    if size is None:
        return PAGE_DEFAULT
    size = int(size)
    if size < PAGE_MIN or size > PAGE_MAX:
        bound = f"greater than or equal to {PAGE_MIN}" if size < PAGE_MIN else f"less than or equal to {PAGE_MAX}"
        raise LabError(
            "ValidationException",
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value {bound}",
        )
    return size


def describe_instance_information(self):
    filters = _node_filters(self)
    size = _page_size(self)
    ids = [values for key, values in filters if key == "InstanceIds"]
    nodes = managed_nodes(self, set(ids[0]) if ids else None)  # a lookup by id: those nodes first, then the page
    others = [(key, values) for key, values in filters if key != "InstanceIds"]
    start = int(self._get_param("NextToken") or 0)
    page = [n for n in nodes[start : start + size] if _node_matches(n, others)]  # filtered after the cut
    result = {"InstanceInformationList": [{k: v for k, v in n.items() if k != "tags"} for n in page]}
    if start + size < len(nodes):
        result["NextToken"] = str(start + size)
    return ActionResult(result)


# Sessions -----------------------------------------------------------------------


def start_session(self):
    target = self._get_param("Target")
    backend = ec2_backends[self.current_account][self.region]
    instance = next((i for i in backend.all_instances() if i.id == target), None)
    if instance is None:
        raise LabError("TargetNotConnected", f"{target} is not connected.")
    status, why = node_status(self, instance)
    if status != "Online":
        raise LabError("TargetNotConnected", f"{target} is not connected: {why}.")
    session_id = f"lab-{secrets.token_hex(9)}"
    host = self.headers.get("Host") or "127.0.0.1"
    _sessions[session_id] = {"Target": target, "Status": "Connected"}
    return ActionResult(
        {
            "SessionId": session_id,
            "TokenValue": secrets.token_urlsafe(48),
            "StreamUrl": f"ws://{host}/lab/ssmmessages/v1/data-channel/{session_id}?role=publish_subscribe",
        }
    )


def terminate_session(self):
    session_id = self._get_param("SessionId")
    if session_id in _sessions:
        _sessions[session_id]["Status"] = "Terminated"
    return ActionResult({"SessionId": session_id})


# Public AMI parameters ----------------------------------------------------------


def _image_id(account_id, region, image_name):
    backend = ec2_backends[account_id][region]
    for image_id, image in sorted(backend.amis.items()):
        if image.name == image_name:
            return image_id
    return None


def _check_loading_status(self, key):
    """ParameterDict._check_loading_status, plus the lab's public AMI parameters on first use in a region."""
    _ORIGINALS["check_loading_status"](self, key)
    key = str(key or "")
    if getattr(self, "lab_public_amis_loaded", False) or not any(n.startswith(key) for n in PUBLIC_AMI_PARAMETERS):
        return
    self.lab_public_amis_loaded = True
    now = datetime.datetime.now(datetime.timezone.utc)
    for name in PUBLIC_AMI_PARAMETERS:
        image_id = _image_id(self.account_id, self.region_name, PUBLIC_AMI_IMAGE_NAMES[name])
        if image_id is None:  # moto's default images are switched off (MOTO_EC2_LOAD_DEFAULT_AMIS=false)
            continue
        if dict.get(self, name):
            continue
        super(ParameterDict, self).__getitem__(name).append(
            Parameter(
                account_id=self.account_id,
                name=name,
                value=image_id,
                parameter_type="String",
                description=None,
                allowed_pattern=None,
                keyid=None,
                last_modified_date=now,
                version=1,
                data_type="text",
            )
        )


STAND_INS = (describe_instance_information, start_session, terminate_session)

# PutParameter is atomic on AWS: of two concurrent creates of one name without Overwrite, one succeeds and
# the other gets ParameterAlreadyExists ("Parameter already exists" when Overwrite is false: SSM API
# Reference, PutParameter, Errors). moto's server answers requests on several threads and checks, then
# writes, with nothing between, so two concurrent creates could both succeed. A create-if-absent is what
# the capacity_block module's purchase intent rests on (one purchase per key even with two runs at once),
# so the lab serializes PutParameter, as AWS's answer is serialized per parameter.
_PUT_PARAMETER_LOCK = threading.Lock()


def _put_parameter(self, *args, **kwargs):
    with _PUT_PARAMETER_LOCK:
        return _ORIGINALS["put_parameter"](self, *args, **kwargs)


def install():
    """Adds the SSM stand-ins to moto's SSM responses and the public parameters to its store (idempotent)."""
    from moto.ssm.responses import SimpleSystemManagerResponse  # noqa: PLC0415

    for func in STAND_INS:
        setattr(SimpleSystemManagerResponse, func.__name__, func)
    _ORIGINALS.setdefault("check_loading_status", ParameterDict._check_loading_status)
    ParameterDict._check_loading_status = _check_loading_status
    from moto.ssm.models import SimpleSystemManagerBackend  # noqa: PLC0415

    _ORIGINALS.setdefault("put_parameter", SimpleSystemManagerBackend.put_parameter)
    SimpleSystemManagerBackend.put_parameter = _put_parameter
