# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The EC2 side of efa_launch_template: the desired template data from what EC2 answers, the
ownership refusal, the template's own tags and the snake_case result.

The pure parts (layout, data, comparison) are module_utils/launch_template.py; these steps take the
module and its EC2 client.
"""

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import EfaLayoutError
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import efa_interface_layout
from ansible_collections.nixl_efa.cluster.plugins.module_utils.efa import summarize_instance_type
from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import build_launch_template_data
from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import describe_interfaces
from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import volume_size_warning
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import ownership_advice
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import ownership_problem


def template_result(template, data, tags):
    if not template:
        return {}
    volume = None
    for mapping in (data or {}).get("BlockDeviceMappings", []):
        volume = mapping.get("Ebs", {}).get("VolumeSize")
    return {
        "launch_template_id": template.get("LaunchTemplateId"),
        "launch_template_name": template.get("LaunchTemplateName"),
        "latest_version": template.get("LatestVersionNumber"),
        "default_version": template.get("DefaultVersionNumber"),
        "network_interfaces": describe_interfaces(data),
        "volume_size": volume,
        "tags": tags,
    }


def refuse_unowned(module, template):
    """Fail, changing nothing, when the existing template lacks one of owner_tags (or has another value)."""
    for key, value in sorted((module.params["owner_tags"] or {}).items()):
        problem = ownership_problem(
            "Launch template",
            template.get("Tags", []),
            key,
            str(value),
            name=template.get("LaunchTemplateName") or module.params["name"],
            resource_id=template.get("LaunchTemplateId"),
        )
        if problem:
            module.fail_json(
                msg=f"{problem} {ownership_advice(key, value, setting='cluster name (or template name)')}",
                template=template_result(template, {}, boto3_tag_list_to_ansible_dict(template.get("Tags", []))),
            )


def desired_template_data(module, client):
    params = module.params
    summary = params.get("instance_type_info")
    if summary:
        if summary.get("instance_type") != params["instance_type"]:
            module.fail_json(
                msg=f"instance_type_info describes {summary.get('instance_type')}, not {params['instance_type']}"
            )
    else:
        raw = ec2_api.describe_instance_types(client, [params["instance_type"]])
        if not raw:
            module.fail_json(
                msg=f"Unknown instance type {params['instance_type']}; EC2 in this region does not offer it"
            )
        summary = summarize_instance_type(raw[0])
    try:
        layout, notes = efa_interface_layout(summary, params["efa_interfaces"], params["efa_only_secondary"])
    except EfaLayoutError as e:
        module.fail_json(msg=str(e), instance_type_info=summary)
    for note in notes:
        module.warn(note)

    image = ec2_api.describe_image(client, params["image_id"])
    if not image:
        module.fail_json(
            msg=f"AMI {params['image_id']} was not found (or is not shared with this account) in this region"
        )

    volume_size = params["volume_size"] or summary["recommended_volume_size"]
    warning = volume_size_warning(params["instance_type"], volume_size, summary["recommended_volume_size"])
    if warning:
        module.warn(warning)

    try:
        data = build_launch_template_data(
            layout,
            instance_type=params["instance_type"],
            image_id=params["image_id"],
            subnet_id=params["subnet_id"],
            security_group_ids=params["security_group_ids"],
            root_device_name=image.get("RootDeviceName") or "/dev/sda1",
            volume_size=volume_size,
            volume_type=params["volume_type"],
            name=params["name"],
            placement_group=params["placement_group"],
            market_type=params["market_type"],
            capacity_reservation_id=params["capacity_reservation_id"],
            iam_instance_profile=params["iam_instance_profile"],
            user_data=params["user_data"],
            tags=params["tags"],
            metadata_hop_limit=params["metadata_hop_limit"],
            associate_public_ip_address=params["associate_public_ip_address"],
        )
    except ValueError as e:
        module.fail_json(msg=str(e))
    return summary, data


def ensure_tags(module, client, template):
    """Bring the template's own tags in line; returns (changed, tags)."""
    current = boto3_tag_list_to_ansible_dict(template.get("Tags", []))
    wanted = module.params["tags"]
    if wanted is None:
        return False, current
    to_set, to_unset = compare_aws_tags(current, wanted, module.params["purge_tags"])
    if not (to_set or to_unset):
        return False, current
    if not module.check_mode:
        if to_unset:
            ec2_api.delete_tags(client, template["LaunchTemplateId"], to_unset)
        if to_set:
            ec2_api.create_tags(client, template["LaunchTemplateId"], ansible_dict_to_boto3_tag_list(to_set))
    tags = {k: v for k, v in current.items() if k not in to_unset}
    tags.update(to_set)
    return True, tags
