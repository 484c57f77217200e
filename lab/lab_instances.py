# -*- coding: utf-8 -*-
"""Lab stand-in for RunInstances as AWS runs it from launch templates, capacity blocks and reservations.

moto 5.2.5's RunInstances takes a launch template's image, type, key, groups, tags and block
devices, but not its network interfaces, placement group, instance profile, market options,
capacity reservation target or metadata options (IMDS), and it ignores InterfaceType and NetworkCardIndex everywhere.
Public addresses follow EC2's rule: AssociatePublicIpAddress with more than one network interface
is refused (InvalidParameterCombination), and a subnet that maps public addresses on launch gives
none to an instance launched with several interfaces (EC2 User Guide, "Public IPv4 addresses":
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html), where moto
would hand one out. The wrappers here STAND IN for what AWS does, in the lab's local AWS only (lab/, never
shipped): they work out the effective request (template version data overridden by the
request), refuse what AWS refuses before anything is launched, let moto launch the instances
with the network card 0 interfaces, then add the interfaces on the other network cards and
set on moto's objects what DescribeInstances reports: InterfaceType, NetworkCardIndex,
Placement.GroupName, the instance profile of every instance, InstanceLifecycle,
CapacityReservationId and CapacityReservationSpecification. TerminateInstances gives the
capacity back to the reservation, and answers an instance already terminated as AWS does
(moto would delete its interfaces a second time and fail).
"""

import copy

from lab_capacity import LabError
from lab_capacity import get_reservation
from lab_capacity import instance_type_info
from lab_capacity import state
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.utils import random_eni_attach_id

EFA_TYPES = ("efa", "efa-only")
INTERFACE_TYPES = ("interface",) + EFA_TYPES
# Request keys that are merged field by field with the template's, not replaced whole.
MERGED_KEYS = ("Placement", "InstanceMarketOptions", "CapacityReservationSpecification")

ORIGINALS = {}

# EC2's answer to AssociatePublicIpAddress with several interfaces (API_InstanceNetworkInterfaceSpecification,
# AssociatePublicIpAddress: "You cannot specify more than one network interface in the request").
PUBLIC_IP_REFUSED = (
    "The associatePublicIPAddress parameter cannot be specified when launching with multiple network interfaces."
)


def _given(value):
    return value not in (None, "", [], {})


def template_version(response, spec):
    """The launch template version a RunInstances LaunchTemplate names ($Default when no Version)."""
    backend = response.ec2_backend
    if spec.get("LaunchTemplateId"):
        template = backend.launch_templates.get(spec["LaunchTemplateId"])
        if template is None:
            raise LabError(
                "InvalidLaunchTemplateId.NotFound",
                f"The specified launch template, with template ID {spec['LaunchTemplateId']}, does not exist.",
            )
    else:
        name = spec.get("LaunchTemplateName")
        template_id = backend.launch_template_name_to_ids.get(name)
        if template_id is None:
            raise LabError(
                "InvalidLaunchTemplateName.NotFoundException",
                f"The specified launch template, with template name {name}, does not exist.",
            )
        template = backend.launch_templates[template_id]
    version = str(spec.get("Version") or "$Default")
    if version.lower() == "$latest":
        return template.latest_version()
    if version.lower() == "$default":
        return template.default_version()
    if not version.isdigit() or not 1 <= int(version) <= len(template.versions):
        raise LabError(
            "InvalidLaunchTemplateId.VersionNotFound",
            f"Could not find launch template version {version} for launch template {template.id}.",
        )
    return template.versions[int(version) - 1]


def effective_request(response):
    """(request, template version): the template version's data overridden by the request's own parameters."""
    params = response.params
    version = None
    request = {}
    if _given(params.get("LaunchTemplate")):
        version = template_version(response, params["LaunchTemplate"])
        request = copy.deepcopy(version.data)
    for key, value in params.items():
        if not _given(value) or key == "LaunchTemplate":
            continue
        if key in MERGED_KEYS and isinstance(value, dict) and isinstance(request.get(key), dict):
            request[key] = {**request[key], **value}
        else:
            request[key] = copy.deepcopy(value)
    request.setdefault("InstanceType", "m1.small")
    request["MinCount"] = int(params.get("MinCount") or 1)
    return request, version


# Checks made before anything is launched ------------------------------------


def _subnet(response, subnet_id):
    try:
        return response.ec2_backend.get_subnet(subnet_id)
    except Exception:  # moto's InvalidSubnetIdError
        raise LabError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist")


def _check_interfaces(response, request):
    """Validates the interfaces as EC2 does; returns their specs sorted by (network card, device)."""
    nics = request.get("NetworkInterfaces") or []
    if not nics:
        return []
    if _given(request.get("SubnetId")):
        raise LabError(
            "InvalidParameterCombination",
            "Network interfaces and an instance-level subnet ID may not be specified on the same request",
        )
    if _given(request.get("SecurityGroupIds")) or _given(request.get("SecurityGroups")):
        raise LabError(
            "InvalidParameterCombination",
            "Network interfaces and an instance-level security groups may not be specified on the same request",
        )
    backend = response.ec2_backend
    instance_type = request["InstanceType"]
    info = None
    seen = set()
    zones = set()
    efa_count = 0
    for nic in nics:
        card = int(nic.get("NetworkCardIndex") or 0)
        device = int(nic.get("DeviceIndex") if nic.get("DeviceIndex") is not None else -1)
        kind = nic.get("InterfaceType") or "interface"
        if device < 0:
            raise LabError("InvalidParameterValue", "Each network interface must have a device index.")
        if (card, device) in seen:
            raise LabError(
                "InvalidParameterValue",
                f"More than one network interface uses network card index {card} and device index {device}.",
            )
        seen.add((card, device))
        if kind not in INTERFACE_TYPES:
            raise LabError("InvalidParameterValue", f"Value ({kind}) for parameter InterfaceType is invalid.")
        if kind in EFA_TYPES or card:
            info = info or instance_type_info(response, instance_type).get("NetworkInfo", {})
            cards = {c.get("NetworkCardIndex"): c for c in info.get("NetworkCards") or []}
            if card >= (info.get("MaximumNetworkCards") or 1):
                raise LabError(
                    "InvalidParameterValue",
                    f"Network card index {card} is not valid for instance type {instance_type}: it has "
                    f"{info.get('MaximumNetworkCards') or 1} network card(s).",
                )
            if kind in EFA_TYPES:
                if not info.get("EfaSupported"):
                    raise LabError(
                        "InvalidParameterCombination",
                        f"Interface type {kind} is not supported for instance type {instance_type}: it does not "
                        "support Elastic Fabric Adapter (EFA).",
                    )
                allowed = (cards.get(card) or {}).get("InterfaceTypes")
                if allowed is not None and kind not in allowed:
                    raise LabError(
                        "InvalidParameterCombination",
                        f"Interface type {kind} is not supported on network card {card} of {instance_type}.",
                    )
                efa_count += 1
        if kind == "efa-only" and (card, device) == (0, 0):
            raise LabError(
                "InvalidParameterCombination", "The primary network interface (device index 0) cannot be efa-only."
            )
        if not nic.get("NetworkInterfaceId"):
            if not nic.get("SubnetId"):
                raise LabError("MissingParameter", "Each network interface must name a subnet (SubnetId).")
            zones.add(_subnet(response, nic["SubnetId"]).availability_zone)
        for group_id in nic.get("Groups") or []:
            if backend.get_security_group_from_id(group_id) is None:
                raise LabError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")
    if (0, 0) not in seen:
        raise LabError(
            "InvalidParameterValue", "A primary network interface (network card 0, device index 0) is required."
        )
    if info is not None and efa_count > ((info.get("EfaInfo") or {}).get("MaximumEfaInterfaces") or 0):
        raise LabError(
            "InvalidParameterValue",
            f"{efa_count} EFA interfaces requested; {instance_type} supports at most "
            f"{(info.get('EfaInfo') or {}).get('MaximumEfaInterfaces') or 0}.",
        )
    if len(zones) > 1:
        raise LabError(
            "InvalidParameterValue",
            f"The network interfaces' subnets are in different availability zones: {', '.join(sorted(zones))}.",
        )
    if len(nics) > 1 and any(nic.get("AssociatePublicIpAddress") is True for nic in nics):
        raise LabError("InvalidParameterCombination", PUBLIC_IP_REFUSED)
    return sorted(nics, key=lambda n: (int(n.get("NetworkCardIndex") or 0), int(n["DeviceIndex"])))


def _launch_zone(response, request, nics):
    for nic in nics:
        if nic.get("SubnetId"):
            return _subnet(response, nic["SubnetId"]).availability_zone
    if _given(request.get("SubnetId")):
        return _subnet(response, request["SubnetId"]).availability_zone
    return (request.get("Placement") or {}).get("AvailabilityZone") or response.region + "a"


def _check_placement_group(response, request):
    name = (request.get("Placement") or {}).get("GroupName")
    if name and name not in state(response)["placement_groups"]:
        raise LabError("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")
    return name


def _check_profile(response, request):
    profile = request.get("IamInstanceProfile") or {}
    if not (profile.get("Arn") or profile.get("Name")):
        return None
    from moto.ec2.utils import filter_iam_instance_profiles  # noqa: PLC0415 (moto's own lookup)

    try:
        filter_iam_instance_profiles(
            response.current_account,
            partition=response.partition,
            iam_instance_profile_arn=profile.get("Arn"),
            iam_instance_profile_name=profile.get("Name"),
        )
    except Exception:  # moto answers IAM's NoSuchEntity (404); EC2 answers this
        field, value = ("arn", profile["Arn"]) if profile.get("Arn") else ("name", profile["Name"])
        raise LabError(
            "InvalidParameterValue",
            f"Value ({value}) for parameter iamInstanceProfile.{field} is invalid. "
            f"Invalid IAM Instance Profile {field}",
        )
    return profile


def _check_capacity(response, request, zone):
    """The reservation an instance is launched into, or None; refuses what AWS refuses.

    Launching into a Capacity Block lowers its available capacity by the instances launched, whoever launches
    them, and a launch needs the block's zone and an active block (EC2 User Guide, "Launch instances using
    Capacity Blocks": https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-launch.html); a
    launch asking for more than is available is refused with ReservationCapacityExceeded, nothing launched. The
    lab gives a place back on TerminateInstances only: EC2 also gives it back once a stopped instance is cleaned
    up, which the lab does not model.
    """
    market = (request.get("InstanceMarketOptions") or {}).get("MarketType")
    spec = request.get("CapacityReservationSpecification") or {}
    target = (spec.get("CapacityReservationTarget") or {}).get("CapacityReservationId")
    if not target:
        if market == "capacity-block":
            raise LabError(
                "InvalidParameterCombination",
                "Market type capacity-block requires a capacity block: set "
                "CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId.",
            )
        return None
    reservation = get_reservation(response, target)
    is_block = reservation["ReservationType"] == "capacity-block"
    if market == "capacity-block" and not is_block:
        raise LabError(
            "InvalidParameterCombination",
            f"Market type capacity-block can only launch into a capacity block; {target} is a capacity "
            f"reservation of type {reservation['ReservationType']}.",
        )
    if is_block and market != "capacity-block":
        raise LabError(
            "InvalidParameterCombination",
            f"{target} is a capacity block: launch into it with InstanceMarketOptions.MarketType capacity-block.",
        )
    if reservation["State"] != "active":
        raise LabError(
            "InvalidParameterValue",
            f"The capacity reservation '{target}' is not active (its state is {reservation['State']}); "
            "instances can be launched into it only while it is active.",
        )
    if request["InstanceType"] != reservation["InstanceType"]:
        raise LabError(
            "InvalidParameterValue",
            f"The instance type {request['InstanceType']} does not match the instance type "
            f"{reservation['InstanceType']} of capacity reservation '{target}'.",
        )
    if zone != reservation["AvailabilityZone"]:
        raise LabError(
            "InvalidParameterValue",
            f"The instances would launch in availability zone {zone}, but capacity reservation '{target}' is in "
            f"{reservation['AvailabilityZone']}.",
        )
    if request["MinCount"] > reservation["AvailableInstanceCount"]:
        raise LabError(
            "ReservationCapacityExceeded",
            f"Capacity reservation '{target}' has {reservation['AvailableInstanceCount']} instance(s) available; "
            f"{request['MinCount']} requested.",
        )
    return reservation


# After moto launched: what DescribeInstances must report ----------------------


def _attach(instance, eni, card, device):
    """Instance.attach_eni keyed by (card, device): moto keys its interfaces by device index alone."""
    instance.nics[(card, device)] = eni
    eni.instance = instance
    eni.attachment_id = random_eni_attach_id()
    eni.attach_time = utcnow()
    eni.status = "in-use"
    eni.device_index = device


def _finish_interfaces(response, instance, nics):
    backend = response.ec2_backend
    for nic in nics:
        card = int(nic.get("NetworkCardIndex") or 0)
        device = int(nic["DeviceIndex"])
        if card == 0:
            eni = instance.nics[device]
        elif nic.get("NetworkInterfaceId"):
            eni = backend.get_network_interface(nic["NetworkInterfaceId"])
            _attach(instance, eni, card, device)
        else:
            eni = backend.create_network_interface(
                nic.get("SubnetId") or instance.subnet_id,
                nic.get("PrivateIpAddress"),
                group_ids=list(nic.get("Groups") or []),
                description=nic.get("Description"),
                delete_on_termination=nic.get("DeleteOnTermination") is True,
            )
            _attach(instance, eni, card, device)
        eni.interface_type = nic.get("InterfaceType") or "interface"
        eni.lab_network_card_index = card
    primary = nics[0]
    groups = [backend.get_security_group_from_id(g) for g in primary.get("Groups") or []]
    if groups:
        instance.security_groups = [g for g in groups if g is not None]


def run_instances(self):
    """RunInstances with the effective request: template data overridden by the request's own parameters."""
    request, version = effective_request(self)
    nics = _check_interfaces(self, request)
    zone = _launch_zone(self, request, nics)
    group_name = _check_placement_group(self, request)
    profile = _check_profile(self, request)
    reservation = _check_capacity(self, request, zone)
    market = (request.get("InstanceMarketOptions") or {}).get("MarketType")

    # What moto can do itself: launch with the network card 0 interfaces (its own keys are device
    # indexes), the template's image, type, key, groups, tags and block devices.
    params = self.params
    if version is not None:
        params["LaunchTemplate"] = {"LaunchTemplateId": version.template.id, "Version": str(version.number)}
    if nics:
        params["NetworkInterfaces"] = [copy.deepcopy(n) for n in nics if not int(n.get("NetworkCardIndex") or 0)]
        if len(nics) > 1:
            # EC2 gives no public address to an instance launched with several interfaces, whatever its
            # subnet's MapPublicIpOnLaunch says (EC2 User Guide, "Public IPv4 addresses"); moto would.
            for nic in params["NetworkInterfaces"]:
                nic["AssociatePublicIpAddress"] = False
    # moto reads MetadataOptions from the request only; AWS applies the template's (HttpTokens required).
    if request.get("MetadataOptions"):
        params["MetadataOptions"] = copy.deepcopy(request["MetadataOptions"])
    # Done below for every instance (moto gives the profile to the first only, and calls any market spot).
    params.pop("IamInstanceProfile", None)
    params.pop("InstanceMarketOptions", None)
    result = ORIGINALS["run_instances"](self)

    launched = result.result
    spec = request.get("CapacityReservationSpecification") or {}
    for instance in launched.instances:
        if nics:
            _finish_interfaces(self, instance, nics)
        if group_name:
            instance.placement.group_name = group_name
        if profile:
            self.ec2_backend.associate_iam_instance_profile(
                instance_id=instance.id,
                iam_instance_profile_name=profile.get("Name"),
                iam_instance_profile_arn=profile.get("Arn"),
            )
        instance.lifecycle = {"spot": "spot", "capacity-block": "capacity-block"}.get(market)
        if reservation is not None:
            instance.capacity_reservation_id = reservation["CapacityReservationId"]
            instance.capacity_reservation_specification = {
                key: value
                for key, value in {
                    "CapacityReservationPreference": spec.get("CapacityReservationPreference"),
                    "CapacityReservationTarget": {"CapacityReservationId": reservation["CapacityReservationId"]},
                }.items()
                if value
            }
            state(self)["instances"][instance.id] = reservation["CapacityReservationId"]
    if reservation is not None:
        reservation["AvailableInstanceCount"] -= len(launched.instances)
    return result


def terminate_instances(self):
    """TerminateInstances; an instance launched into a reservation gives its capacity back.

    An instance already terminated is answered terminated -> terminated, as AWS does (moto would
    delete its interfaces a second time and fail).
    """
    lab = state(self)
    ids = list(self._get_param("InstanceIds", []))
    instances = {i.id: i for i in self.ec2_backend.all_instances()}
    done = [i for i in ids if i in instances and instances[i].state == "terminated"]
    if done and len(done) == len(ids):
        self.error_on_dryrun()
        result = ActionResult({"TerminatingInstances": []})
    else:
        self.params["InstanceIds"] = [i for i in ids if i not in done]
        result = ORIGINALS["terminate_instances"](self)
    terminated = {"Code": 48, "Name": "terminated"}
    result.result["TerminatingInstances"] += [
        {"InstanceId": i, "CurrentState": terminated, "PreviousState": terminated} for i in done
    ]
    for instance_id in ids:
        reservation_id = lab["instances"].pop(instance_id, None)
        reservation = lab["reservations"].get(reservation_id)
        if reservation is not None:
            reservation["AvailableInstanceCount"] = min(
                reservation["TotalInstanceCount"], reservation["AvailableInstanceCount"] + 1
            )
    return result


def _attachment_init(self, eni):
    ORIGINALS["attachment_init"](self, eni)
    self.network_card_index = getattr(eni, "lab_network_card_index", 0)


def install(response_class):
    """Wraps moto's RunInstances/TerminateInstances and reports NetworkCardIndex on attachments (idempotent)."""
    from moto.ec2.models.elastic_network_interfaces import Attachment  # noqa: PLC0415

    for name in ("run_instances", "terminate_instances"):
        ORIGINALS.setdefault(name, getattr(response_class, name))
    ORIGINALS.setdefault("attachment_init", Attachment.__init__)
    response_class.run_instances = run_instances
    response_class.terminate_instances = terminate_instances
    Attachment.__init__ = _attachment_init
