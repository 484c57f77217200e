# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure logic for EFA launch templates: build LaunchTemplateData and compare it.

No AWS calls here; efa_launch_template feeds it what EC2 returned.
"""

import base64

# Resources launched from the template get the template's tags too.
TAGGED_RESOURCE_TYPES = ("instance", "volume", "network-interface")

# The seeds' rule: a volume under 80 % of the recommended size gets a warning.
VOLUME_WARNING_RATIO = 0.8


def _tag_list(tags):
    return [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]


def encode_user_data(user_data):
    """Launch templates take user data base64-encoded; encode the text (a script or cloud-config) given."""
    if user_data is None:
        return None
    return base64.b64encode(user_data.encode("utf-8")).decode("ascii")


def volume_size_warning(instance_type, volume_size, recommended):
    if volume_size < recommended * VOLUME_WARNING_RATIO:
        return (
            f"volume_size {volume_size} GB is below 80% of the {recommended} GB recommended for {instance_type}; "
            "model weights and caches may not fit"
        )
    return None


def build_launch_template_data(
    layout,
    instance_type,
    image_id,
    subnet_id,
    security_group_ids,
    root_device_name,
    volume_size,
    name=None,
    placement_group=None,
    market_type="on-demand",
    capacity_reservation_id=None,
    iam_instance_profile=None,
    user_data=None,
    tags=None,
    metadata_hop_limit=1,
    associate_public_ip_address=None,
    volume_type="gp3",
):
    """Return the LaunchTemplateData for an EFA cluster node."""
    if associate_public_ip_address is not None and len(layout) > 1:
        raise ValueError(
            "associate_public_ip_address can only be set with a single network interface; "
            f"this layout has {len(layout)} EFA interfaces (use a private subnet with SSM endpoints or a NAT gateway)"
        )
    if market_type == "capacity-block" and not capacity_reservation_id:
        raise ValueError("market_type capacity-block needs capacity_reservation_id (the capacity block's reservation)")

    interfaces = []
    for item in layout:
        interface = {
            "NetworkCardIndex": item["network_card_index"],
            "DeviceIndex": item["device_index"],
            "SubnetId": subnet_id,
            "Groups": sorted(security_group_ids),
            "DeleteOnTermination": True,
        }
        # A plain ENA interface is EC2's default type: left out, as EC2 describes it back.
        if item["interface_type"] != "interface":
            interface["InterfaceType"] = item["interface_type"]
        if name:
            interface["Description"] = f"{name} {item['interface_type']} card {item['network_card_index']}"
        if associate_public_ip_address is not None:
            interface["AssociatePublicIpAddress"] = associate_public_ip_address
        interfaces.append(interface)

    data = {
        "ImageId": image_id,
        "InstanceType": instance_type,
        "NetworkInterfaces": interfaces,
        "BlockDeviceMappings": [
            {
                "DeviceName": root_device_name,
                "Ebs": {
                    "VolumeSize": volume_size,
                    "VolumeType": volume_type,
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ],
        # IMDSv2 only.
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": metadata_hop_limit,
        },
    }
    if placement_group:
        data["Placement"] = {"GroupName": placement_group}
    if iam_instance_profile:
        key = "Arn" if iam_instance_profile.startswith("arn:") else "Name"
        data["IamInstanceProfile"] = {key: iam_instance_profile}
    if market_type == "capacity-block":
        data["InstanceMarketOptions"] = {"MarketType": "capacity-block"}
    if capacity_reservation_id:
        data["CapacityReservationSpecification"] = {
            "CapacityReservationTarget": {"CapacityReservationId": capacity_reservation_id}
        }
    if user_data is not None:
        data["UserData"] = encode_user_data(user_data)
    if tags:
        data["TagSpecifications"] = [{"ResourceType": rt, "Tags": _tag_list(tags)} for rt in TAGGED_RESOURCE_TYPES]
    return data


def normalize_template_data(data):
    """Order lists EC2 may return in another order, so equal data compares equal."""
    if not data:
        return {}
    result = dict(data)
    if "NetworkInterfaces" in result:
        nics = []
        for original in result["NetworkInterfaces"]:
            nic = dict(original)
            if "Groups" in nic:
                nic["Groups"] = sorted(nic["Groups"])
            nics.append(nic)
        result["NetworkInterfaces"] = sorted(
            nics, key=lambda n: (n.get("NetworkCardIndex", 0), n.get("DeviceIndex", 0))
        )
    if "TagSpecifications" in result:
        # Tags of the template itself are not template data; some EC2 implementations
        # (moto) echo them there, so they are left out of the comparison.
        specs = [
            {"ResourceType": s.get("ResourceType"), "Tags": sorted(s.get("Tags", []), key=lambda t: t["Key"])}
            for s in result["TagSpecifications"]
            if s.get("ResourceType") != "launch-template"
        ]
        result["TagSpecifications"] = sorted(specs, key=lambda s: s["ResourceType"] or "")
    if "BlockDeviceMappings" in result:
        result["BlockDeviceMappings"] = sorted(result["BlockDeviceMappings"], key=lambda b: b.get("DeviceName", ""))
    return result


def _differs(desired, current):
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            return True
        return any(_differs(value, current.get(key)) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(current, list) or len(desired) != len(current):
            return True
        return any(_differs(d, c) for d, c in zip(desired, current))
    return desired != current


def template_data_differs(desired, current):
    """True when a new template version is needed.

    Every value we set must be present and equal in the current version; a
    top-level setting present in the current version but no longer wanted (a
    placement group removed, say) is a difference too. Keys EC2 adds inside the
    structures we set (defaults it fills in) are not.
    """
    desired = normalize_template_data(desired)
    current = normalize_template_data(current)
    if set(current) - set(desired):
        return True
    return _differs(desired, current)


def describe_interfaces(data):
    """snake_case view of the template's network interfaces, in card order."""
    nics = normalize_template_data(data).get("NetworkInterfaces", [])
    return [
        {
            "network_card_index": nic.get("NetworkCardIndex", 0),
            "device_index": nic.get("DeviceIndex"),
            "interface_type": nic.get("InterfaceType", "interface"),
            "subnet_id": nic.get("SubnetId"),
            "groups": nic.get("Groups", []),
        }
        for nic in nics
    ]
